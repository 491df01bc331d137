/*
 * job_state.c: the state file and the lock of a backup job (see
 * job_state.h).
 *
 * The state file is small JSON, read with lib/jfield.h so that damage (a
 * negative time, a string where a number was) reads as zero or empty
 * rather than failing the daemon; a file that is not JSON at all is an
 * error, and the next run writes it afresh.  The lock is flock() on a file
 * of its own: it belongs to the open file, so it keeps threads apart as
 * well as processes, and it dies with the process that holds it.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "lib/ag.h"
#include "lib/jfield.h"
#include "lib/log.h"
#include "backup/job.h"

#include "agent/job_state.h"

#define STATE_MAX ((size_t)1 << 20)

/* "<state_dir>/jobs/<job><suffix>" into ${out}; create the folders. */
static int
state_path(const char *state_dir, const char *job, const char *suffix,
    char *out, size_t outlen, struct ag_err *err)
{
	if (state_dir == NULL || *state_dir == '\0')
		return ag_err_set(err, "no state folder given");
	/* The job name becomes a file name: no '/', no "..". */
	if (*job == '\0' || strcmp(job, ".") == 0 || strcmp(job, "..") == 0 ||
	    strspn(job,
		"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		"0123456789._-") != strlen(job) ||
	    strlen(job) > 64)
		return ag_err_set(err, "\"%.80s\" is not a job name", job);
	if ((size_t)snprintf(out, outlen, "%s/jobs", state_dir) >= outlen)
		return ag_err_set(err, "state folder name too long");
	if (ag_mkdir_p(out, 0700, 0700) != 0)
		return ag_err_set(err, "%s: %s", out, strerror(errno));
	if ((size_t)snprintf(out, outlen, "%s/jobs/%s%s", state_dir, job,
		suffix) >= outlen)
		return ag_err_set(err, "state folder name too long");
	return 0;
}

/**
 * job_lock(state_dir, job, ret_fd, err):
 * Take the lock of ${job} (creating <state_dir>/jobs/ if needed) without
 * waiting; store the descriptor that holds it in ${ret_fd}.  For commands
 * that must not run beside the job, such as prune.  Return 0; 1 with "job
 * nightly is already running" if another process or thread holds it; -1
 * with a message.
 */
int
job_lock(const char *state_dir, const char *job, int *ret_fd,
    struct ag_err *err)
{
	char path[PATH_MAX];
	int fd;

	if (state_path(state_dir, job, ".lock", path, sizeof(path), err) != 0)
		return -1;
	/* O_CLOEXEC: hooks and commands must not inherit the lock. */
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
		 0600)) < 0)
		return ag_err_set(err, "lock %s: %s", path, strerror(errno));
	/* flock() locks belong to the open file: threads exclude too. */
	while (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		if (errno == EINTR)
			continue;
		close(fd);
		if (errno == EWOULDBLOCK) {
			(void)ag_err_set(err, "job %s is already running",
			    job);
			return 1;
		}
		return ag_err_set(err, "lock %s: %s", path, strerror(errno));
	}
	*ret_fd = fd;
	return 0;
}

/* job_unlock(fd): release a lock from job_lock(); -1 is a no-op. */
void
job_unlock(int fd)
{
	if (fd >= 0)
		close(fd);
}

static json_t *
str_or_null(const char *s)
{
	return s != NULL && *s != '\0' ? json_string(s) : json_null();
}

static int
write_state(const char *state_dir, const char *job, const struct job_state *s,
    struct ag_err *err)
{
	char path[PATH_MAX], tmp[PATH_MAX + 8];
	json_t *root;
	char *text = NULL, *dir;
	size_t len, off = 0;
	ssize_t n;
	int fd, dfd, rc = -1;

	if (state_path(state_dir, job, ".json", path, sizeof(path), err) != 0)
		return -1;
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	root = json_pack("{s:s, s:b, s:o, s:o}", "job", job, "failed",
	    s->failed, "last_error", str_or_null(s->last_error), "last_run",
	    json_pack("{s:I, s:I, s:b, s:o}", "start_ms",
		(json_int_t)s->last_run_start_ms, "end_ms",
		(json_int_t)s->last_run_end_ms, "ok", s->last_run_ok,
		"backup_id", str_or_null(s->last_run_id)));
	if (root != NULL && s->has_success &&
	    json_object_set_new(root, "last_success",
		json_pack("{s:I, s:I, "
			  "s:I, s:s, s:I, s:I, s:I, s:I}",
		    "time_ms", (json_int_t)s->last_success_end_ms, "start_ms",
		    (json_int_t)s->last_success_start_ms, "duration_ms",
		    (json_int_t)s->last_success_duration_ms, "backup_id",
		    s->last_success_id, "bytes",
		    (json_int_t)s->last_success_bytes, "stored",
		    (json_int_t)s->last_success_stored, "files",
		    (json_int_t)s->last_success_files, "warnings",
		    (json_int_t)s->last_success_warnings)) != 0) {
		json_decref(root);
		root = NULL;
	}
	if (root == NULL ||
	    (text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER)) ==
		NULL) {
		json_decref(root);
		return ag_err_set(err, "state %s: out of memory", path);
	}
	json_decref(root);
	len = strlen(text);
	if ((fd = open(tmp,
		 O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
		 0600)) < 0) {
		(void)ag_err_set(err, "state %s: %s", tmp, strerror(errno));
		goto out;
	}
	while (off < len) {
		n = write(fd, text + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		off += (size_t)n;
	}
	if (off < len || write(fd, "\n", 1) != 1 || fsync(fd) != 0) {
		(void)ag_err_set(err, "state %s: %s", tmp, strerror(errno));
		close(fd);
		(void)unlink(tmp);
		goto out;
	}
	close(fd);
	if (rename(tmp, path) != 0) {
		(void)ag_err_set(err, "state %s: %s", path, strerror(errno));
		(void)unlink(tmp);
		goto out;
	}
	/* The rename itself must survive a crash. */
	dir = strrchr(path, '/');
	*dir = '\0';
	if ((dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		(void)fsync(dfd);
		close(dfd);
	}
	rc = 0;
out:
	free(text);
	return rc;
}

/* Times, durations and counts: damage (a negative one too) reads as 0. */
static int64_t
jint(const json_t *o, const char *key)
{
	uint64_t v;

	(void)jfield_u64(o, key, 0, &v, NULL);
	return (int64_t)v;
}

/* A string, cut to fit; damage reads as "". */
static void
jstr(const json_t *o, const char *key, char *out, size_t outlen)
{
	(void)jfield_str(o, key, JF_TRUNCATE, out, outlen, NULL);
}

/**
 * job_state_load(state_dir, job, ret, err):
 * Read the state file of ${job} into ${ret}.  Return 0; 1 if there is none
 * yet (${ret} zeroed); -1 with a message if it cannot be read or parsed.
 */
int
job_state_load(const char *state_dir, const char *job, struct job_state *ret,
    struct ag_err *err)
{
	struct job_state s = { 0 };
	char path[PATH_MAX];
	json_error_t jerr;
	json_t *root, *o;
	struct stat sb;

	if (state_dir == NULL ||
	    (size_t)snprintf(path, sizeof(path), "%s/jobs/%s.json", state_dir,
		job) >= sizeof(path))
		return ag_err_set(err, "state folder name too long");
	if (stat(path, &sb) != 0) {
		if (errno == ENOENT) {
			*ret = s;
			return 1;
		}
		return ag_err_set(err, "%s: %s", path, strerror(errno));
	}
	if (sb.st_size > (off_t)STATE_MAX)
		return ag_err_set(err, "%s: too large", path);
	if ((root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr)) ==
	    NULL)
		return ag_err_set(err, "%s: line %d: %s", path, jerr.line,
		    jerr.text);
	if (!json_is_object(root)) {
		json_decref(root);
		return ag_err_set(err, "%s: not a JSON object", path);
	}
	s.failed = json_is_true(json_object_get(root, "failed"));
	jstr(root, "last_error", s.last_error, sizeof(s.last_error));
	if (json_is_object(o = json_object_get(root, "last_run"))) {
		s.has_run = true;
		s.last_run_start_ms = jint(o, "start_ms");
		s.last_run_end_ms = jint(o, "end_ms");
		s.last_run_ok = json_is_true(json_object_get(o, "ok"));
		jstr(o, "backup_id", s.last_run_id, sizeof(s.last_run_id));
	}
	if (json_is_object(o = json_object_get(root, "last_success"))) {
		s.has_success = true;
		s.last_success_end_ms = jint(o, "time_ms");
		s.last_success_start_ms = jint(o, "start_ms");
		s.last_success_duration_ms = jint(o, "duration_ms");
		jstr(o, "backup_id", s.last_success_id,
		    sizeof(s.last_success_id));
		s.last_success_bytes = (uint64_t)jint(o, "bytes");
		s.last_success_stored = (uint64_t)jint(o, "stored");
		s.last_success_files = (uint64_t)jint(o, "files");
		s.last_success_warnings = (uint64_t)jint(o, "warnings");
	}
	json_decref(root);
	*ret = s;
	return 0;
}

/**
 * job_state_record(state_dir, job, res):
 * Record the run ${res} of ${job} in its state file, keeping the last
 * success of earlier runs.  Failures are logged, not returned.
 */
void
job_state_record(const char *state_dir, const char *job,
    const struct job_result *res)
{
	struct job_state s;
	struct ag_err e;

	if (job_state_load(state_dir, job, &s, &e) < 0) {
		log_warn("backup %s: previous state unreadable, starting "
			 "afresh: %s",
		    job, e.msg);
		memset(&s, 0, sizeof(s));
	}
	s.has_run = true;
	s.last_run_start_ms = res->start_ms;
	s.last_run_end_ms = res->end_ms;
	s.last_run_ok = res->ok;
	snprintf(s.last_run_id, sizeof(s.last_run_id), "%s", res->backup_id);
	s.failed = !res->ok;
	snprintf(s.last_error, sizeof(s.last_error), "%s",
	    res->ok ? "" : res->error);
	if (res->ok) {
		s.has_success = true;
		s.last_success_start_ms = res->start_ms;
		s.last_success_end_ms = res->end_ms;
		s.last_success_duration_ms = res->end_ms - res->start_ms;
		snprintf(s.last_success_id, sizeof(s.last_success_id), "%s",
		    res->backup_id);
		s.last_success_bytes = res->bytes_in;
		s.last_success_stored = res->bytes_stored;
		s.last_success_files = res->files;
		s.last_success_warnings = res->warnings;
	}
	if (write_state(state_dir, job, &s, &e) != 0)
		log_err("backup %s: cannot save the job state: %s", job,
		    e.msg);
}
