/*
 * job.c: the backup job runner and its state file (see job.h).
 *
 * The chain is built bottom-up (upload, encrypt, compress, tap) and the
 * archive writes into the top.  The stages' callbacks feed the manifest
 * writer on this thread; the archive's cancelled() callback, polled
 * between entries and data blocks, is where the cancel flag, the job's
 * timeout and a failed manifest writer stop the run, and where progress
 * is reported.  Freeing an unclosed chain aborts the upload, so every
 * failure path ends in the same cleanup: free the chain, remove whatever
 * objects were already committed, and never write the manifest.
 *
 * Hooks run under /bin/sh -c in their own process group (so a timeout
 * can kill the whole group), with standard input and output on
 * /dev/null and standard error captured: its last lines go into the
 * error message when the hook fails.
 */
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "lib/ag.h"
#include "lib/clock.h"
#include "lib/jfield.h"
#include "lib/log.h"
#include "lib/crypto/crypto.h"
#include "lib/crypto/crypto_hash.h"
#include "lib/crypto/crypto_keys.h"
#include "providers/storage.h"
#include "backup/catalog.h"
#include "backup/format.h"
#include "backup/jobconf.h"
#include "backup/manifest.h"
#include "backup/retention.h"
#include "backup/stage.h"
#include "backup/st_archive.h"
#include "backup/st_compress.h"
#include "backup/st_encrypt.h"
#include "backup/st_upload.h"

#include "backup/job.h"

extern char **environ;

#define PROGRESS_MS	100		/* at most 10 progress calls a second */
#define LOG_WARNINGS	20		/* warnings logged one by one */
#define HOOK_TAIL	2048		/* hook stderr kept */
#define HOOK_KILL_MS	2000		/* SIGTERM to SIGKILL */
#define NAME_CACHE	16
#define STATE_MAX	((size_t)1 << 20)

/* A small uid/gid -> name cache: archives repeat few owners. */
struct name_cache {
	struct {
		int64_t id;
		char name[64];		/* "" if none */
	} v[NAME_CACHE];
	size_t n, next;
};

struct run {
	const struct job_conf *jc;
	const struct job_run_opts *o;
	struct job_result *res;
	char host[256];
	char id[FORMAT_BACKUP_ID_SIZE];
	int64_t start_s;
	int64_t t0;			/* monotonic start */
	int64_t deadline;		/* monotonic; 0: none */
	int64_t last_progress;
	struct manifest_writer *mw;
	struct st_archive *ar;
	struct stage *enc;		/* data.vgl's encrypt stage */
	struct crypto_hash *tar_hash;
	uint64_t tar_bytes;
	bool cancelled, timed_out, hash_failed;
	struct name_cache users, groups;
};

/* --- Small helpers ---------------------------------------------------- */

/* "<state_dir>/jobs/<job><suffix>" into ${out}; create the folders. */
static int
state_path(const char *state_dir, const char *job, const char *suffix,
    char *out, size_t outlen, struct ag_err *err)
{
	if (state_dir == NULL || *state_dir == '\0')
		return ag_err_set(err, "no state folder given");
	/* The job name becomes a file name: no '/', no "..". */
	if (*job == '\0' || strcmp(job, ".") == 0 || strcmp(job, "..") == 0 ||
	    strspn(job, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789._-") != strlen(job) || strlen(job) > 64)
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
			(void)ag_err_set(err, "job %s is already running", job);
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

/**
 * job_retention_policy(jc, ret):
 * The retention policy of ${jc} (keep_* settings, UTC calendar).
 */
void
job_retention_policy(const struct job_conf *jc, struct retention_policy *ret)
{
	/* UTC calendar days, as docs/BACKUP-FORMAT.md 1.2 says. */
	*ret = (struct retention_policy){ .keep_last = jc->keep_last,
	    .keep_daily = jc->keep_daily, .keep_weekly = jc->keep_weekly,
	    .keep_monthly = jc->keep_monthly, .utc = false };
}

static void add_warning(struct run *, const char *, ...)
    __attribute__((format(printf, 2, 3)));

/* A warning: counted, kept in the manifest and result, logged. */
static void
add_warning(struct run *r, const char *fmt, ...)
{
	char msg[AG_ERR_SIZE * 2];
	struct job_result *res = r->res;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	res->warnings++;
	if (r->mw != NULL)
		manifest_writer_warning(r->mw, msg);
	if (res->nfirst_warnings < JOB_RESULT_WARNINGS)
		snprintf(res->first_warnings[res->nfirst_warnings++],
		    AG_ERR_SIZE, "%.255s", msg);
	if (res->warnings <= LOG_WARNINGS)
		log_warn("backup %s: %s", r->jc->name, msg);
}

static void
report(struct run *r, bool done)
{
	struct st_archive_stats s = { 0 };
	struct job_progress p;
	int64_t now;

	if (r->o->progress == NULL)
		return;
	now = clock_mono_ms();
	if (!done && now - r->last_progress < PROGRESS_MS)
		return;
	r->last_progress = now;
	if (r->ar != NULL)
		st_archive_stats(r->ar, &s);
	p = (struct job_progress){ .bytes_read = s.data_bytes,
	    .files = s.entries, .tar_bytes = r->tar_bytes,
	    .bytes_stored = r->enc != NULL ? st_encrypt_size(r->enc) : 0,
	    .elapsed_ms = now - r->t0, .done = done };
	if (done) {
		p.bytes_read = r->res->bytes_in;
		p.files = r->res->files + r->res->dirs + r->res->symlinks +
		    r->res->hardlinks + r->res->others;
		p.bytes_stored = r->res->bytes_stored;
	}
	r->o->progress(r->o->cookie, &p);
}

/* Should the run stop?  Sets cancelled / timed_out. */
static bool
should_stop(struct run *r)
{
	if (r->o->cancel != NULL && *r->o->cancel)
		r->cancelled = true;
	if (r->deadline != 0 && clock_mono_ms() >= r->deadline)
		r->timed_out = true;
	return r->cancelled || r->timed_out;
}

/* "300 ms", "90 s" */
static const char *
fmt_dur(int64_t ms, char *buf, size_t len)
{
	if (ms < 10000)
		snprintf(buf, len, "%" PRId64 " ms", ms);
	else
		snprintf(buf, len, "%" PRId64 " s", ms / 1000);
	return buf;
}

/* The message of a stopped run. */
static int
stop_error(struct run *r, struct ag_err *err)
{
	char d[32];

	if (r->timed_out)
		return ag_err_set(err, "timed out after %s (the job's "
		    "timeout)", fmt_dur(r->jc->timeout_ms, d, sizeof(d)));
	return ag_err_set(err, "cancelled");
}

/* --- Stage callbacks -------------------------------------------------- */

static const char *
cached_name(struct name_cache *c, int64_t id, bool user)
{
	char buf[4096];
	struct passwd pw, *pwp = NULL;
	struct group gr, *grp = NULL;
	size_t i, slot;

	for (i = 0; i < c->n; i++)
		if (c->v[i].id == id)
			return c->v[i].name;
	slot = c->n < NAME_CACHE ? c->n++ : c->next++ % NAME_CACHE;
	c->v[slot].id = id;
	c->v[slot].name[0] = '\0';
	if (user) {
		if (getpwuid_r((uid_t)id, &pw, buf, sizeof(buf), &pwp) == 0 &&
		    pwp != NULL)
			snprintf(c->v[slot].name, sizeof(c->v[slot].name), "%s",
			    pwp->pw_name);
	} else {
		if (getgrgid_r((gid_t)id, &gr, buf, sizeof(buf), &grp) == 0 &&
		    grp != NULL)
			snprintf(c->v[slot].name, sizeof(c->v[slot].name), "%s",
			    grp->gr_name);
	}
	return c->v[slot].name;
}

static void
on_entry(void *cookie, const struct st_archive_entry *e)
{
	struct run *r = cookie;

	manifest_writer_entry(r->mw, e, cached_name(&r->users, e->uid, true),
	    cached_name(&r->groups, e->gid, false));
}

static void
on_warning(void *cookie, const char *path, const char *reason)
{
	add_warning(cookie, "%s: %s", path, reason);
}

static bool
ar_cancelled(void *cookie)
{
	struct run *r = cookie;

	report(r, false);
	return should_stop(r) || manifest_writer_failed(r->mw, NULL);
}

static void
on_member(void *cookie, const struct st_compress_member *m)
{
	struct run *r = cookie;

	manifest_writer_member(r->mw, m);
}

static void
on_chunk(void *cookie, const struct st_encrypt_chunk *c)
{
	struct run *r = cookie;

	manifest_writer_chunk(r->mw, c);
}

/* The tap between archive and compress: tar sha256 and progress. */
static int
tap_fn(void *cookie, const uint8_t *buf, size_t len)
{
	struct run *r = cookie;

	if (crypto_hash_update(r->tar_hash, buf, len) != 0) {
		r->hash_failed = true;
		return -1;
	}
	r->tar_bytes += len;
	report(r, false);
	return 0;
}

/* --- Hooks ------------------------------------------------------------ */

/* The last lines of ${tail}, on one line: "a; b; c". */
static void
tail_lines(const char *tail, size_t len, char *out, size_t outlen)
{
	size_t start, i, o = 0;
	int lines = 0;

	while (len > 0 && (tail[len - 1] == '\n' || tail[len - 1] == ' ' ||
	    tail[len - 1] == '\r' || tail[len - 1] == '\t'))
		len--;
	/* Back up over at most 3 lines and 160 bytes. */
	for (start = len; start > 0 && len - start < 160; start--)
		if (tail[start - 1] == '\n' && ++lines == 3)
			break;
	while (start < len && (tail[start] == '\n' || tail[start] == '\r'))
		start++;
	for (i = start; i < len && o + 3 < outlen; i++) {
		unsigned char c = (unsigned char)tail[i];

		if (c == '\n') {
			out[o++] = ';';
			out[o++] = ' ';
		} else if (c == '\r') {
			continue;
		} else {
			out[o++] = c < 0x20 ? ' ' : (char)c;
		}
	}
	out[o] = '\0';
}

static char **
hook_env(const char *const *extra)
{
	size_t n = 0, k = 0, i, j;
	char **env;

	while (environ != NULL && environ[n] != NULL)
		n++;
	for (j = 0; extra[j] != NULL; j++)
		;
	if ((env = calloc(n + j + 1, sizeof(*env))) == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		/* Ours replace inherited ones of the same name. */
		if (strncmp(environ[i], "VIGIL_JOB=", 10) == 0 ||
		    strncmp(environ[i], "VIGIL_BACKUP_ID=", 16) == 0 ||
		    strncmp(environ[i], "VIGIL_STATUS=", 13) == 0 ||
		    strncmp(environ[i], "VIGIL_ERROR=", 12) == 0)
			continue;
		env[k++] = environ[i];
	}
	for (j = 0; extra[j] != NULL; j++)
		env[k++] = (char *)extra[j];
	env[k] = NULL;
	return env;
}

/*
 * Run hook ${what} (${cmd}) with the environment additions ${extra}; if
 * ${stoppable}, a cancel stops it too (not only its timeout).  Return 0
 * if it exited with status 0, else -1 with a message.
 */
static int
run_hook(struct run *r, const char *what, const char *cmd,
    const char *const *extra, bool stoppable, struct ag_err *err)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	char *argv[] = { "/bin/sh", "-c", (char *)cmd, NULL };
	char tail[HOOK_TAIL], buf[512], lines[200], dur[32];
	char **env = NULL;
	size_t tlen = 0;
	sigset_t none, def;
	struct pollfd pfd;
	int64_t start, deadline, kill_at = 0, now;
	pid_t pid, w;
	int p[2] = { -1, -1 }, status = 0, rc = -1, exited = 0, spawned;
	int why = 0;			/* 1 timeout, 2 cancelled */
	ssize_t n;

	if ((env = hook_env(extra)) == NULL)
		return ag_err_set(err, "%s: out of memory", what);
	if (pipe2(p, O_CLOEXEC) != 0) {
		(void)ag_err_set(err, "%s: pipe: %s", what, strerror(errno));
		goto out0;
	}
	sigemptyset(&none);
	sigemptyset(&def);
	sigaddset(&def, SIGPIPE);
	sigaddset(&def, SIGINT);
	sigaddset(&def, SIGTERM);
	sigaddset(&def, SIGHUP);
	sigaddset(&def, SIGQUIT);
	sigaddset(&def, SIGCHLD);
	if (posix_spawn_file_actions_init(&fa) != 0) {
		(void)ag_err_set(err, "%s: out of memory", what);
		goto out1;
	}
	if (posix_spawnattr_init(&attr) != 0) {
		posix_spawn_file_actions_destroy(&fa);
		(void)ag_err_set(err, "%s: out of memory", what);
		goto out1;
	}
	spawned = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null",
	    O_RDONLY, 0) == 0 &&
	    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY,
	    0) == 0 &&
	    posix_spawn_file_actions_adddup2(&fa, p[1], 2) == 0 &&
	    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP |
	    POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF) == 0 &&
	    posix_spawnattr_setpgroup(&attr, 0) == 0 &&
	    posix_spawnattr_setsigmask(&attr, &none) == 0 &&
	    posix_spawnattr_setsigdefault(&attr, &def) == 0;
	errno = spawned ? posix_spawn(&pid, "/bin/sh", &fa, &attr, argv, env) :
	    ENOMEM;
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	if (errno != 0) {
		(void)ag_err_set(err, "%s: cannot run /bin/sh: %s", what,
		    strerror(errno));
		goto out1;
	}
	close(p[1]);
	p[1] = -1;

	start = clock_mono_ms();
	deadline = start + (r->jc->hook_timeout_ms > 0 ?
	    r->jc->hook_timeout_ms : 3600 * 1000);
	for (;;) {
		if (!exited) {
			w = waitpid(pid, &status, WNOHANG);
			if (w == pid || (w < 0 && errno != EINTR))
				exited = 1;
		}
		if (exited && p[0] < 0)
			break;
		now = clock_mono_ms();
		if (!exited && why == 0) {
			if (now >= deadline)
				why = 1;
			else if (stoppable && should_stop(r))
				why = 2;
			if (why != 0) {
				(void)kill(-pid, SIGTERM);
				kill_at = now + HOOK_KILL_MS;
			}
		}
		if (!exited && kill_at != 0 && now >= kill_at) {
			(void)kill(-pid, SIGKILL);
			kill_at = now + 3600 * 1000;
		}
		if (p[0] < 0) {
			clock_sleep_ms(20);
			continue;
		}
		pfd = (struct pollfd){ .fd = p[0], .events = POLLIN };
		/* After the exit, only drain what is there already. */
		if (poll(&pfd, 1, exited ? 0 : 50) <= 0) {
			if (exited) {
				close(p[0]);
				p[0] = -1;
			}
			continue;
		}
		n = read(p[0], buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			close(p[0]);
			p[0] = -1;
			continue;
		}
		/* Keep the last HOOK_TAIL bytes (buf is smaller). */
		if (tlen + (size_t)n > sizeof(tail)) {
			size_t drop = tlen + (size_t)n - sizeof(tail);

			memmove(tail, tail + drop, tlen - drop);
			tlen -= drop;
		}
		memcpy(tail + tlen, buf, (size_t)n);
		tlen += (size_t)n;
	}
	tail_lines(tail, tlen, lines, sizeof(lines));
	if (why == 1)
		(void)ag_err_set(err, "%s timed out after %s%s%s", what,
		    fmt_dur(deadline - start, dur, sizeof(dur)),
		    lines[0] ? ": " : "", lines);
	else if (why == 2)
		(void)stop_error(r, err);
	else if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		rc = 0;
	else if (WIFEXITED(status))
		(void)ag_err_set(err, "%s failed: exit status %d%s%s", what,
		    WEXITSTATUS(status), lines[0] ? ": " : "", lines);
	else if (WIFSIGNALED(status))
		(void)ag_err_set(err, "%s failed: killed by signal %d%s%s",
		    what, WTERMSIG(status), lines[0] ? ": " : "", lines);
	else
		(void)ag_err_set(err, "%s failed", what);
out1:
	if (p[0] >= 0)
		close(p[0]);
	if (p[1] >= 0)
		close(p[1]);
out0:
	free(env);
	return rc;
}

/* --- Storage steps ---------------------------------------------------- */

/* Remove incomplete backups and unfinished uploads of crashed runs. */
static void
clean_stale(struct run *r, struct storage *st)
{
	const struct job_conf *jc = r->jc;
	char dir[STORAGE_KEY_MAX + 1];
	struct objlist ol = { 0 };
	struct catalog c;
	struct ag_err e;
	const char *sep;
	size_t i;

	if (catalog_list(st, jc->prefix, jc->name, &c, &e) != 0) {
		add_warning(r, "listing old backups: %s", e.msg);
		return;
	}
	for (i = 0; i < c.n; i++) {
		const struct catalog_backup *b = &c.v[i];

		/* We hold the lock: no other run of this job is writing. */
		if (b->complete || b->time_s > r->start_s ||
		    strcmp(b->id, r->id) == 0)
			continue;
		if (catalog_delete(st, jc->prefix, jc->name, b->id, &e) != 0) {
			add_warning(r, "removing incomplete backup %s: %s",
			    b->id, e.msg);
			continue;
		}
		log_info("backup %s: removed incomplete backup %s (an "
		    "interrupted run)", jc->name, b->id);
		r->res->cleaned++;
	}
	catalog_free(&c);

	if ((storage_caps(st) & STORAGE_CAP_INCOMPLETE) == 0)
		return;
	sep = jc->prefix == NULL || *jc->prefix == '\0' ||
	    jc->prefix[strlen(jc->prefix) - 1] == '/' ? "" : "/";
	snprintf(dir, sizeof(dir), "%s%s%s/", jc->prefix != NULL ?
	    jc->prefix : "", sep, jc->name);
	if (storage_list(st, dir, STORAGE_LIST_INCOMPLETE, &ol, &e) != 0) {
		add_warning(r, "listing unfinished uploads: %s", e.msg);
		return;
	}
	for (i = 0; i < ol.n; i++)
		if (storage_abort_incomplete(st, &ol.v[i], &e) != 0)
			add_warning(r, "dropping unfinished upload %s: %s",
			    ol.v[i].name, e.msg);
		else
			log_info("backup %s: dropped unfinished upload %s",
			    jc->name, ol.v[i].name);
	objlist_free(&ol);
}

static int
put_retry(struct storage *st, const char *key, const uint8_t *buf,
    size_t len, struct ag_err *err)
{
	unsigned attempt = 0;
	int rc;

	while ((rc = storage_put(st, key, buf, len, err)) == AG_RETRY &&
	    backoff_retry(&storage_retry, &attempt))
		;
	return rc == 0 ? 0 : -1;
}

struct ixwrite {
	struct stage *top;
};

static int
index_piece(void *cookie, const uint8_t *buf, size_t len)
{
	struct ixwrite *x = cookie;

	return stage_write(x->top, buf, len);
}

/*
 * Write index.vgl: the index JSON cut into MANIFEST_INDEX_SLICE slices,
 * each compressed into one gzip member by the compress stage and sealed as
 * one chunk, streamed to storage (docs/BACKUP-FORMAT.md, section 6.4).
 * Store its size in ${ret_size}.
 */
static int
write_index(struct run *r, struct storage *st, const struct crypto_key *key,
    const uint8_t dk[32], const char *okey, uint64_t *ret_size,
    struct ag_err *err)
{
	const struct job_conf *jc = r->jc;
	struct st_upload_conf uc = { 0 };
	struct st_compress_conf cc = { .slice_size = MANIFEST_INDEX_SLICE,
	    .level = jc->level, .workers = jc->threads };
	struct format_object *obj;
	struct ixwrite x = { 0 };
	struct stage *top, *enc;
	int rc = -1;

	if ((top = st_upload_new(st, okey, &uc, err)) == NULL)
		return -1;
	if ((obj = format_seal_new(key, dk, FORMAT_KIND_INDEX, r->id,
	    (uint32_t)st_compress_bound(MANIFEST_INDEX_SLICE), err)) == NULL)
		goto out;
	if ((enc = st_encrypt_new(top, obj, NULL, err)) == NULL)
		goto out;
	top = enc;
	if ((x.top = st_compress_new(enc, &cc, err)) == NULL)
		goto out;
	top = x.top;
	if (manifest_writer_index_read(r->mw, index_piece, &x, err) != 0) {
		if (top->err != 0)
			(void)stage_error(top, err);
		goto out;
	}
	if (stage_close(top) != 0) {
		(void)stage_error(top, err);
		goto out;
	}
	*ret_size = st_encrypt_size(enc);
	rc = 0;
out:
	/* Frees an unclosed chain: the upload is aborted. */
	stage_free_chain(top);
	return rc;
}

/*
 * Steps e and f: the data, the index and the manifest.  On failure
 * nothing that was committed is left behind (best effort: what cannot be
 * removed is an incomplete backup, which the next run removes).
 */
static int
write_backup(struct run *r, struct storage *st, const struct crypto_key *key,
    const uint8_t dk[32], struct ag_err *err)
{
	const struct job_conf *jc = r->jc;
	struct job_result *res = r->res;
	char dkey[STORAGE_KEY_MAX + 1], ikey[STORAGE_KEY_MAX + 1];
	char mkey[STORAGE_KEY_MAX + 1], spill[PATH_MAX];
	/*
	 * Small parts keep memory down; st_upload raises them to what the
	 * backend needs (S3: 5 MiB) and grows them for huge objects.
	 */
	struct st_upload_conf uc = { .part_size = (size_t)1 << 20 };
	struct st_encrypt_conf ec = { .on_chunk = on_chunk, .cookie = r };
	struct st_compress_conf cc = { 0 };
	struct st_archive_conf ac = { 0 };
	struct st_archive_stats as;
	struct manifest_totals t = { 0 };
	struct manifest_head mh = { 0 };
	struct format_object *obj;
	struct ag_err rerr;
	struct stage *top = NULL, *s;
	uint8_t header[FORMAT_HEADER_MAX];
	const uint8_t *h;
	size_t hlen, jlen = 0, slen = 0, slice;
	uint64_t index_size = 0, stored = 0;
	uint8_t *sealed = NULL;
	char *json = NULL;
	bool data_done = false, index_done = false;
	int rc = -1;

	if (format_object_name(jc->prefix, jc->name, r->id, FORMAT_KIND_DATA,
	    dkey, sizeof(dkey)) != 0 ||
	    format_object_name(jc->prefix, jc->name, r->id, FORMAT_KIND_INDEX,
	    ikey, sizeof(ikey)) != 0 ||
	    format_object_name(jc->prefix, jc->name, r->id,
	    FORMAT_KIND_MANIFEST, mkey, sizeof(mkey)) != 0)
		return ag_err_set(err, "job %s: object names too long or "
		    "invalid (prefix \"%s\")", jc->name, jc->prefix);
	slice = jc->slice_size != 0 ? (size_t)jc->slice_size :
	    ST_COMPRESS_SLICE_DEFAULT;

	if (state_path(r->o->state_dir, jc->name, "", spill, sizeof(spill),
	    err) != 0)
		return -1;
	*strrchr(spill, '/') = '\0';
	mh = (struct manifest_head){ .job = jc->name, .host = r->host,
	    .backup_id = r->id, .level = 0, .start_ms = res->start_ms,
	    .sources = (const char *const *)jc->paths,
	    .exclude = (const char *const *)jc->exclude,
	    .compress_level = jc->level != 0 ? jc->level :
	    ST_COMPRESS_LEVEL_DEFAULT, .slice_size = slice,
	    .spill_dir = spill };
	if ((r->mw = manifest_writer_new(&mh, err)) == NULL)
		return -1;
	if ((r->tar_hash = crypto_hash_sha256_new()) == NULL)
		return ag_err_set(err, "out of memory");

	/* The chain, bottom-up. */
	if ((top = st_upload_new(st, dkey, &uc, err)) == NULL)
		return -1;
	if ((obj = format_seal_new(key, dk, FORMAT_KIND_DATA, r->id,
	    (uint32_t)st_compress_bound(slice), err)) == NULL)
		goto fail;
	h = format_object_header(obj, &hlen);
	memcpy(header, h, hlen);
	if ((s = st_encrypt_new(top, obj, &ec, err)) == NULL)
		goto fail;
	top = r->enc = s;
	cc = (struct st_compress_conf){ .slice_size = slice,
	    .level = jc->level, .workers = jc->threads,
	    .on_member = on_member, .cookie = r };
	if ((s = st_compress_new(top, &cc, err)) == NULL)
		goto fail;
	top = s;
	if ((s = stage_tap_new(top, tap_fn, r)) == NULL) {
		(void)ag_err_set(err, "out of memory");
		goto fail;
	}
	top = s;
	ac = (struct st_archive_conf){
	    .exclude = (const char *const *)jc->exclude,
	    .one_file_system = jc->one_file_system,
	    .exclude_caches = jc->exclude_caches, .strict = jc->strict,
	    .cancelled = ar_cancelled, .on_entry = on_entry,
	    .on_warning = on_warning, .cookie = r };
	if ((r->ar = st_archive_new(top, &ac, err)) == NULL)
		goto fail;

	for (size_t i = 0; i < jc->npaths; i++)
		if (st_archive_add_path(r->ar, jc->paths[i], err) != 0)
			goto fail_archive;
	for (size_t i = 0; i < jc->ncommands; i++)
		if (st_archive_add_command(r->ar, jc->commands[i].path,
		    jc->commands[i].run, err) != 0)
			goto fail_archive;
	if (should_stop(r))
		goto fail_archive;
	if (st_archive_finish(r->ar, err) != 0)
		goto fail_archive;
	st_archive_stats(r->ar, &as);
	res->files = as.files;
	res->dirs = as.dirs;
	res->symlinks = as.symlinks;
	res->hardlinks = as.hardlinks;
	res->others = as.others;
	res->bytes_in = as.data_bytes;
	res->tar_bytes = r->tar_bytes;
	if (stage_close(top) != 0) {
		(void)stage_error(top, err);
		goto fail;
	}
	data_done = true;
	report(r, false);

	t = (struct manifest_totals){ .end_ms = clock_wall_ms(),
	    .files = as.files, .dirs = as.dirs, .symlinks = as.symlinks,
	    .hardlinks = as.hardlinks, .others = as.others,
	    .bytes_in = as.data_bytes, .tar_size = r->tar_bytes,
	    .data_size = st_encrypt_size(r->enc), .data_header = header,
	    .data_header_len = hlen,
	    .chunk_size = (uint32_t)st_compress_bound(slice) };
	if (crypto_hash_final(r->tar_hash, t.tar_sha256) != 0) {
		(void)ag_err_set(err, "sha256 of the tar stream failed");
		goto fail;
	}
	if (manifest_writer_finish(r->mw, &t, err) != 0)
		goto fail;
	if (manifest_writer_index_separate(r->mw)) {
		if (write_index(r, st, key, dk, ikey, &index_size, err) != 0)
			goto fail;
		index_done = true;
		manifest_writer_set_index(r->mw, index_size,
		    MANIFEST_INDEX_GZIP);
	}
	if (manifest_writer_json(r->mw, format_header_len(key,
	    FORMAT_KIND_MANIFEST), &json, &jlen, &stored,
	    err) != 0)
		goto fail;
	if (format_manifest_seal(key, dk, r->id, json, jlen, &sealed, &slen,
	    err) != 0)
		goto fail;
	if (t.data_size + index_size + slen != stored)
		log_debug("backup %s: manifest size %zu differs from the "
		    "predicted one", jc->name, slen);
	if (should_stop(r)) {
		(void)stop_error(r, err);
		goto fail;
	}
	/* The manifest last: from now on the backup is complete. */
	if (put_retry(st, mkey, sealed, slen, err) != 0)
		goto fail;
	res->bytes_stored = t.data_size + index_size + slen;
	rc = 0;
	goto out;

fail_archive:
	/* Prefer the real reason over the archive's "cancelled". */
	if (should_stop(r))
		(void)stop_error(r, err);
	else if (manifest_writer_failed(r->mw, err))
		;
	else if (r->hash_failed)
		(void)ag_err_set(err, "sha256 of the tar stream failed");
fail:
	/* What is left here is removed by the next run. */
	if (data_done)
		(void)storage_remove(st, dkey, &rerr);
	if (index_done)
		(void)storage_remove(st, ikey, &rerr);
out:
	st_archive_free(r->ar);
	r->ar = NULL;
	/* Frees an unclosed chain: the upload is aborted. */
	stage_free_chain(top);
	r->enc = NULL;
	if (json != NULL) {
		crypto_wipe(json, jlen);
		free(json);
	}
	free(sealed);
	return rc;
}

/* --- The state file --------------------------------------------------- */

static json_t *
str_or_null(const char *s)
{
	return s != NULL && *s != '\0' ? json_string(s) : json_null();
}

static int
write_state(const char *state_dir, const char *job,
    const struct job_state *s, struct ag_err *err)
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
	root = json_pack("{s:s, s:b, s:o, s:o}", "job", job,
	    "failed", s->failed, "last_error", str_or_null(s->last_error),
	    "last_run", json_pack("{s:I, s:I, s:b, s:o}",
	    "start_ms", (json_int_t)s->last_run_start_ms,
	    "end_ms", (json_int_t)s->last_run_end_ms,
	    "ok", s->last_run_ok,
	    "backup_id", str_or_null(s->last_run_id)));
	if (root != NULL && s->has_success &&
	    json_object_set_new(root, "last_success", json_pack("{s:I, s:I, "
	    "s:I, s:s, s:I, s:I, s:I, s:I}",
	    "time_ms", (json_int_t)s->last_success_end_ms,
	    "start_ms", (json_int_t)s->last_success_start_ms,
	    "duration_ms", (json_int_t)s->last_success_duration_ms,
	    "backup_id", s->last_success_id,
	    "bytes", (json_int_t)s->last_success_bytes,
	    "stored", (json_int_t)s->last_success_stored,
	    "files", (json_int_t)s->last_success_files,
	    "warnings", (json_int_t)s->last_success_warnings)) != 0) {
		json_decref(root);
		root = NULL;
	}
	if (root == NULL || (text = json_dumps(root, JSON_INDENT(2) |
	    JSON_PRESERVE_ORDER)) == NULL) {
		json_decref(root);
		return ag_err_set(err, "state %s: out of memory", path);
	}
	json_decref(root);
	len = strlen(text);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC |
	    O_NOFOLLOW, 0600)) < 0) {
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
job_state_load(const char *state_dir, const char *job,
    struct job_state *ret, struct ag_err *err)
{
	struct job_state s = { 0 };
	char path[PATH_MAX];
	json_error_t jerr;
	json_t *root, *o;
	struct stat sb;

	if (state_dir == NULL || (size_t)snprintf(path, sizeof(path),
	    "%s/jobs/%s.json", state_dir, job) >= sizeof(path))
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
	if ((root = json_load_file(path, JSON_REJECT_DUPLICATES,
	    &jerr)) == NULL)
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

/* Step i: record this run, keeping the last success of earlier ones. */
static void
save_state(struct run *r)
{
	const struct job_result *res = r->res;
	struct job_state s;
	struct ag_err e;

	if (job_state_load(r->o->state_dir, r->jc->name, &s, &e) < 0) {
		log_warn("backup %s: previous state unreadable, starting "
		    "afresh: %s", r->jc->name, e.msg);
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
	if (write_state(r->o->state_dir, r->jc->name, &s, &e) != 0)
		log_err("backup %s: cannot save the job state: %s",
		    r->jc->name, e.msg);
}

/* --- The run ---------------------------------------------------------- */

static void
apply_retention(struct run *r, struct storage *st)
{
	struct catalog_prune_opts po = { .stale_grace_s = -1,
	    .running_id = r->id };
	struct catalog_prune_result pr = { 0 };
	struct ag_err e;

	job_retention_policy(r->jc, &po.policy);
	if (po.policy.keep_last == 0 && po.policy.keep_daily == 0 &&
	    po.policy.keep_weekly == 0 && po.policy.keep_monthly == 0)
		return;
	if (catalog_prune(st, r->jc->prefix, r->jc->name, &po, &pr, &e) != 0)
		add_warning(r, "retention: %s", e.msg);
	r->res->pruned = pr.deleted;
	if (pr.deleted > 0)
		log_info("backup %s: retention deleted %zu old backup%s, kept "
		    "%zu", r->jc->name, pr.deleted, pr.deleted == 1 ? "" : "s",
		    pr.kept);
}

static void
post_hook(struct run *r)
{
	char ej[128], eb[64], es[32], ee[AG_ERR_SIZE + 16];
	const char *extra[5];
	struct ag_err e;
	size_t k = 0;

	snprintf(ej, sizeof(ej), "VIGIL_JOB=%s", r->jc->name);
	snprintf(eb, sizeof(eb), "VIGIL_BACKUP_ID=%s", r->id);
	snprintf(es, sizeof(es), "VIGIL_STATUS=%s", r->res->ok ? "ok" :
	    "failed");
	extra[k++] = ej;
	extra[k++] = eb;
	extra[k++] = es;
	if (!r->res->ok) {
		snprintf(ee, sizeof(ee), "VIGIL_ERROR=%s", r->res->error);
		extra[k++] = ee;
	}
	extra[k] = NULL;
	/* A cancelled run still runs its post_hook, to clean up. */
	if (run_hook(r, "post_hook", r->jc->post_hook, extra, false,
	    &e) != 0)
		add_warning(r, "%s", e.msg);
}

/**
 * job_run(jc, opts, ret):
 * Run the backup job ${jc} now (see above); fill ${ret} whatever happens.
 * Return 0 if a complete backup was written, else -1 (${ret}->error says
 * why: "job nightly is already running", "pre_hook failed: exit status
 * 3: ...", "local[here]: write nightly/.../data.vgl: No space left on
 * device", "cancelled", ...).  Blocks for the whole run.
 */
int
job_run(const struct job_conf *jc, const struct job_run_opts *opts,
    struct job_result *ret)
{
	struct run r = { .jc = jc, .o = opts, .res = ret };
	struct crypto_key *key = NULL;
	struct storage *st = NULL;
	struct ag_err e = { "" };
	uint8_t dk[32];
	const char *extra[3];
	char ej[128], eb[64];
	int lockfd = -1;

	memset(ret, 0, sizeof(*ret));
	ret->start_ms = clock_wall_ms();
	r.t0 = clock_mono_ms();
	r.start_s = ret->start_ms / 1000;
	if (jc->timeout_ms > 0)
		r.deadline = r.t0 + jc->timeout_ms;

	/* a. One run of a job at a time. */
	if (job_lock(opts->state_dir, jc->name, &lockfd, &e) != 0) {
		snprintf(ret->error, sizeof(ret->error), "%s", e.msg);
		ret->end_ms = clock_wall_ms();
		log_err("backup %s: %s", jc->name, e.msg);
		return -1;
	}
	if (opts->host != NULL)
		snprintf(r.host, sizeof(r.host), "%s", opts->host);
	else if (gethostname(r.host, sizeof(r.host) - 1) != 0)
		snprintf(r.host, sizeof(r.host), "localhost");
	if (format_backup_id_new((time_t)r.start_s, r.id) != 0) {
		(void)ag_err_set(&e, "cannot make a backup id");
		r.id[0] = '\0';
		goto done;
	}
	memcpy(ret->backup_id, r.id, sizeof(r.id));
	log_info("backup %s/%s: started", jc->name, r.id);

	/* b. The pre_hook may refuse the run. */
	if (jc->pre_hook != NULL) {
		snprintf(ej, sizeof(ej), "VIGIL_JOB=%s", jc->name);
		snprintf(eb, sizeof(eb), "VIGIL_BACKUP_ID=%s", r.id);
		extra[0] = ej;
		extra[1] = eb;
		extra[2] = NULL;
		if (run_hook(&r, "pre_hook", jc->pre_hook, extra, true,
		    &e) != 0)
			goto done;
	}
	/* c. Keys. */
	if ((key = jobconf_load_key(jc, false, &e)) == NULL)
		goto done;
	if (crypto_random(dk, sizeof(dk)) != 0) {
		(void)ag_err_set(&e, "no random data key");
		goto done;
	}
	/* d. Storage, and the leftovers of crashed runs. */
	if (jc->storage == NULL) {
		(void)ag_err_set(&e, "job %s has no storage", jc->name);
		goto done;
	}
	if (storage_open(jc->storage, &st, &e) != 0)
		goto done;
	clean_stale(&r, st);
	/* e, f. */
	if (write_backup(&r, st, key, dk, &e) != 0)
		goto done;
	ret->ok = true;
	/* g. */
	apply_retention(&r, st);

done:
	crypto_wipe(dk, sizeof(dk));
	crypto_keys_free(key);
	key = NULL;
	ret->cancelled = r.cancelled;
	ret->timed_out = r.timed_out;
	if (!ret->ok)
		snprintf(ret->error, sizeof(ret->error), "%s", e.msg[0] != '\0' ?
		    e.msg : "failed");
	/* h. */
	if (jc->post_hook != NULL)
		post_hook(&r);
	storage_close(st);
	manifest_writer_free(r.mw);
	r.mw = NULL;
	crypto_hash_free(r.tar_hash);
	ret->end_ms = clock_wall_ms();
	report(&r, true);
	if (ret->warnings > LOG_WARNINGS)
		log_warn("backup %s: %" PRIu64 " warnings in all (%d shown)",
		    jc->name, ret->warnings, LOG_WARNINGS);
	if (ret->ok)
		log_info("backup %s/%s: done in %.1f s: %" PRIu64 " files, %"
		    PRIu64 " bytes read, %" PRIu64 " stored, %" PRIu64
		    " warnings", jc->name, r.id,
		    (double)(ret->end_ms - ret->start_ms) / 1000.0,
		    ret->files, ret->bytes_in, ret->bytes_stored,
		    ret->warnings);
	else
		log_err("backup %s%s%s: failed: %s", jc->name,
		    r.id[0] ? "/" : "", r.id, ret->error);
	/* i. */
	save_state(&r);
	job_unlock(lockfd);
	return ret->ok ? 0 : -1;
}
