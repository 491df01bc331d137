/*
 * jobs.c: see jobs.h.
 *
 * A slot per configured job, found by name, survives reloads so that a
 * running backup and the job's "first seen" time carry over.  The worker
 * thread owns nothing of the slot but its result and progress, which it
 * writes under the mutex; the scheduler thread does everything else.
 * A run is job_runner_run() on the worker thread (lock, hooks, state
 * file: core code) with the engine in a child process (job_child.h),
 * forked by start() on the scheduler thread: the daemon itself never maps
 * the backup code.  Schedules and the splay are the core's
 * (lib/schedule.h), called directly.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backup/job.h"
#include "backup/jobconf.h"
#include "lib/clock.h"
#include "lib/log.h"
#include "lib/schedule.h"

#include "agent/job_child.h"
#include "agent/job_runner.h"
#include "agent/job_state.h"
#include "agent/runconf.h"

#include "agent/jobs.h"

#define NEVER INT64_MAX

struct slot {
	struct jobs *j;
	char name[80];
	const struct job_conf *jc; /* in j->rc; NULL: removed */
	int64_t next_ms;	   /* wall time of the next run */
	bool due_now;
	int64_t first_seen_ms;
	struct job_state state;
	/* A run in progress. */
	bool running, finished;
	pthread_t thread;
	struct runconf *run_rc;	       /* reference held by the run */
	const struct job_conf *run_jc; /* in run_rc */
	struct job_child *child;       /* the engine's process */
	volatile sig_atomic_t cancel;
	struct job_progress prog; /* under j->mu */
	struct job_result res;
};

struct jobs {
	char *state_dir;
	char *host;
	struct runconf *rc;
	struct slot **v;
	size_t n;
	pthread_mutex_t mu;
	int pipe[2];
};

struct jobs *
jobs_new(const char *state_dir, const char *host)
{
	struct jobs *j;

	if ((j = calloc(1, sizeof(*j))) == NULL)
		return NULL;
	j->pipe[0] = j->pipe[1] = -1;
	if ((j->state_dir = strdup(state_dir)) == NULL ||
	    (j->host = strdup(host)) == NULL ||
	    pipe2(j->pipe, O_CLOEXEC | O_NONBLOCK) != 0) {
		log_err("backup jobs: %s", strerror(errno));
		jobs_free(j);
		return NULL;
	}
	pthread_mutex_init(&j->mu, NULL);
	return j;
}

int
jobs_fd(const struct jobs *j)
{
	return j->pipe[0];
}

/* Wall time of the next scheduled run of ${jc} after ${now_ms}. */
static int64_t
next_run(const struct jobs *j, const struct job_conf *jc, int64_t now_ms)
{
	int64_t splay, t;

	if (jc->schedule == NULL)
		return NEVER;
	splay = schedule_splay_host(j->host, jc->name, jc->splay_s);
	t = schedule_next(jc->schedule, now_ms / 1000 - splay);
	return t < 0 ? NEVER : (t + splay) * 1000;
}

/*
 * Was a scheduled run missed?  A run that did not succeed (failed, or cut
 * off by a shutdown) leaves its own slot missed, so it is tried again once
 * at start-up.
 */
static bool
missed(const struct jobs *j, const struct slot *sl, int64_t now_ms)
{
	const struct job_conf *jc = sl->jc;
	int64_t splay, ref;

	if (jc->schedule == NULL || !sl->state.has_run)
		return false;
	splay = schedule_splay_host(j->host, jc->name, jc->splay_s);
	ref = sl->state.last_run_start_ms / 1000;
	if (!sl->state.last_run_ok)
		ref--;
	return schedule_missed(jc->schedule, ref - splay,
	    now_ms / 1000 - splay);
}

static void
load_state(struct jobs *j, struct slot *sl)
{
	struct ag_err err = { "" };

	if (job_state_load(j->state_dir, sl->name, &sl->state, &err) < 0) {
		log_warn("backup %s: %s", sl->name, err.msg);
		memset(&sl->state, 0, sizeof(sl->state));
	}
}

static struct slot *
find(struct jobs *j, const char *name)
{
	for (size_t i = 0; i < j->n; i++)
		if (strcmp(j->v[i]->name, name) == 0)
			return j->v[i];
	return NULL;
}

static void
drop_slot(struct jobs *j, size_t i)
{
	free(j->v[i]);
	j->v[i] = j->v[--j->n];
}

void
jobs_configure(struct jobs *j, struct runconf *rc, int64_t now_ms)
{
	struct runconf *old = j->rc;
	struct slot **nv;

	j->rc = runconf_ref(rc);
	for (size_t i = 0; i < j->n; i++)
		j->v[i]->jc = NULL;
	nv = realloc(j->v, (j->n + rc->njobs + 1) * sizeof(*nv));
	if (nv == NULL) {
		log_err("backup jobs: out of memory");
		runconf_free(old);
		return;
	}
	j->v = nv;
	for (size_t k = 0; k < rc->njobs; k++) {
		const struct job_conf *jc = rc->jobs[k];
		struct slot *sl = find(j, jc->name);

		if (sl == NULL) {
			if ((sl = calloc(1, sizeof(*sl))) == NULL)
				continue;
			sl->j = j;
			snprintf(sl->name, sizeof(sl->name), "%s", jc->name);
			sl->first_seen_ms = now_ms;
			load_state(j, sl);
			j->v[j->n++] = sl;
		}
		sl->jc = jc;
		sl->next_ms = next_run(j, jc, now_ms);
		if (!sl->running && missed(j, sl, now_ms)) {
			log_info("backup %s: a scheduled run was missed; "
				 "running it now",
			    sl->name);
			sl->due_now = true;
		}
	}
	/* Jobs gone from the config go once they are not running. */
	for (size_t i = 0; i < j->n;)
		if (j->v[i]->jc == NULL && !j->v[i]->running)
			drop_slot(j, i);
		else
			i++;
	runconf_free(old);
}

static void
on_progress(void *cookie, const struct job_progress *p)
{
	struct slot *sl = cookie;

	pthread_mutex_lock(&sl->j->mu);
	sl->prog = *p;
	pthread_mutex_unlock(&sl->j->mu);
}

static void *
worker(void *arg)
{
	struct slot *sl = arg;
	struct jobs *j = sl->j;
	struct job_run_opts o = {
		.host = j->host,
		.state_dir = j->state_dir,
		.progress = on_progress,
		.cookie = sl,
		.cancel = &sl->cancel,
	};
	struct job_result res;

	/* The runner logs the outcome. */
	(void)job_runner_run(sl->run_jc, &o, job_child_run, sl->child, &res);
	job_child_free(sl->child);
	sl->child = NULL;
	pthread_mutex_lock(&j->mu);
	sl->res = res;
	sl->finished = true;
	pthread_mutex_unlock(&j->mu);
	(void)!write(j->pipe[1], "", 1);
	return NULL;
}

static int
start(struct jobs *j, struct slot *sl, struct ag_err *err)
{
	struct ag_err cerr;
	sigset_t all, old;
	int rc;

	if (sl->running) {
		ag_err_set(err, "backup %s is running already", sl->name);
		return 1;
	}
	sl->run_rc = runconf_ref(j->rc);
	sl->run_jc = sl->jc;
	/* Forked here, on the scheduler thread: see job_child.c. */
	if ((sl->child = job_child_new(sl->run_rc->heavy == NULL ?
		     sl->run_rc->conf :
		     NULL,
		 sl->run_jc, &cerr)) == NULL) {
		runconf_free(sl->run_rc);
		sl->run_rc = NULL;
		return ag_err_set(err, "backup %s: %s", sl->name, cerr.msg);
	}
	sl->cancel = 0;
	sl->finished = false;
	memset(&sl->prog, 0, sizeof(sl->prog));
	/* Signals belong to the scheduler thread: block them in workers. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	rc = pthread_create(&sl->thread, NULL, worker, sl);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		job_child_free(sl->child);
		sl->child = NULL;
		runconf_free(sl->run_rc);
		sl->run_rc = NULL;
		return ag_err_set(err,
		    "cannot start a thread for backup %s: "
		    "%s",
		    sl->name, strerror(rc));
	}
	sl->running = true;
	return 0;
}

int
jobs_start(struct jobs *j, const char *name, struct ag_err *err)
{
	struct slot *sl = find(j, name);

	if (sl == NULL || sl->jc == NULL)
		return ag_err_set(err, "no backup job named \"%s\"", name);
	return start(j, sl, err);
}

int64_t
jobs_tick(struct jobs *j, int64_t now_ms)
{
	int64_t next = NEVER;

	for (size_t i = 0; i < j->n; i++) {
		struct slot *sl = j->v[i];
		struct ag_err err = { "" };

		if (sl->jc == NULL)
			continue;
		if (sl->due_now || now_ms >= sl->next_ms) {
			if (sl->running)
				log_warn(
				    "backup %s: still running at its "
				    "next scheduled time; skipping that run",
				    sl->name);
			else if (start(j, sl, &err) != 0)
				log_err("%s", err.msg);
			sl->due_now = false;
			sl->next_ms = next_run(j, sl->jc, now_ms);
		}
		if (sl->next_ms < next)
			next = sl->next_ms;
	}
	return next;
}

void
jobs_reap(struct jobs *j)
{
	char buf[64];

	while (read(j->pipe[0], buf, sizeof(buf)) > 0)
		;
	for (size_t i = 0; i < j->n;) {
		struct slot *sl = j->v[i];
		bool done;

		pthread_mutex_lock(&j->mu);
		done = sl->running && sl->finished;
		pthread_mutex_unlock(&j->mu);
		if (done) {
			pthread_join(sl->thread, NULL);
			sl->running = false;
			load_state(j, sl);
			runconf_free(sl->run_rc);
			sl->run_rc = NULL;
			sl->run_jc = NULL;
		}
		if (sl->jc == NULL && !sl->running)
			drop_slot(j, i);
		else
			i++;
	}
}

const char *const jobs_metric_suffixes[] = { "last_success_age_s",
	"last_duration_s", "last_bytes", "last_stored_bytes", "last_files",
	"failed", "warnings", "running", NULL };

void
jobs_metrics(struct jobs *j, struct metric_batch *b)
{
	for (size_t i = 0; i < j->n; i++) {
		const struct slot *sl = j->v[i];
		const struct job_state *st = &sl->state;
		const char *n = sl->name;
		int64_t since;

		if (sl->jc == NULL)
			continue;
		/* Never succeeded: the age counts from when we first saw it. */
		since = st->has_success ? st->last_success_end_ms :
					  sl->first_seen_ms;
		(void)metric_add(b, (double)(b->now_ms - since) / 1000.0,
		    "backup.%s.last_success_age_s", n);
		(void)metric_add(b, st->failed ? 1 : 0, "backup.%s.failed", n);
		(void)metric_add(b, sl->running ? 1 : 0, "backup.%s.running",
		    n);
		if (!st->has_success)
			continue;
		(void)metric_add(b,
		    (double)st->last_success_duration_ms / 1000.0,
		    "backup.%s.last_duration_s", n);
		(void)metric_add(b, (double)st->last_success_bytes,
		    "backup.%s.last_bytes", n);
		(void)metric_add(b, (double)st->last_success_stored,
		    "backup.%s.last_stored_bytes", n);
		(void)metric_add(b, (double)st->last_success_files,
		    "backup.%s.last_files", n);
		(void)metric_add(b, (double)st->last_success_warnings,
		    "backup.%s.warnings", n);
	}
}

static json_t *
time_or_null(int64_t ms)
{
	char buf[40];

	if (ms <= 0 || ms == NEVER)
		return json_null();
	clock_rfc3339(ms, buf, sizeof(buf));
	return json_string(buf);
}

json_t *
jobs_status(struct jobs *j, int64_t now_ms)
{
	json_t *arr = json_array();

	(void)now_ms;
	for (size_t i = 0; arr != NULL && i < j->n; i++) {
		const struct slot *sl = j->v[i];
		const struct job_state *st = &sl->state;
		struct job_progress p;
		json_t *o;

		if (sl->jc == NULL)
			continue;
		pthread_mutex_lock(&j->mu);
		p = sl->prog;
		pthread_mutex_unlock(&j->mu);
		o = json_pack("{s:s, s:s?, s:o, s:b}", "name", sl->name,
		    "schedule",
		    sl->jc->schedule != NULL ?
			schedule_text(sl->jc->schedule) :
			NULL,
		    "next_run", time_or_null(sl->next_ms), "running",
		    sl->running);
		if (o == NULL)
			continue;
		if (sl->running)
			(void)json_object_set_new(o, "progress",
			    json_pack("{s:I, s:I, s:I, s:I, s:I}",
				"bytes_read", (json_int_t)p.bytes_read,
				"files", (json_int_t)p.files, "tar_bytes",
				(json_int_t)p.tar_bytes, "bytes_stored",
				(json_int_t)p.bytes_stored, "elapsed_ms",
				(json_int_t)p.elapsed_ms));
		if (st->has_run)
			(void)json_object_set_new(o, "last_run",
			    json_pack("{s:s, s:b, s:o, s:o, s:s}", "id",
				st->last_run_id, "ok", st->last_run_ok,
				"start", time_or_null(st->last_run_start_ms),
				"end", time_or_null(st->last_run_end_ms),
				"error", st->last_error));
		if (st->has_success)
			(void)json_object_set_new(o, "last_success",
			    json_pack("{s:s, s:o, s:I, s:I, s:I, s:I, s:I}",
				"id", st->last_success_id, "end",
				time_or_null(st->last_success_end_ms),
				"duration_ms",
				(json_int_t)st->last_success_duration_ms,
				"bytes", (json_int_t)st->last_success_bytes,
				"stored", (json_int_t)st->last_success_stored,
				"files", (json_int_t)st->last_success_files,
				"warnings",
				(json_int_t)st->last_success_warnings));
		(void)json_array_append_new(arr, o);
	}
	return arr;
}

void
jobs_free(struct jobs *j)
{
	if (j == NULL)
		return;
	for (size_t i = 0; i < j->n; i++) {
		struct slot *sl = j->v[i];

		if (!sl->running)
			continue;
		log_info("backup %s: interrupted by shutdown; it runs again at "
			 "the next start",
		    sl->name);
		sl->cancel = 1;
		pthread_join(sl->thread, NULL);
		runconf_free(sl->run_rc);
	}
	for (size_t i = 0; i < j->n; i++)
		free(j->v[i]);
	free(j->v);
	runconf_free(j->rc);
	if (j->pipe[0] >= 0) {
		close(j->pipe[0]);
		close(j->pipe[1]);
		pthread_mutex_destroy(&j->mu);
	}
	free(j->state_dir);
	free(j->host);
	free(j);
}
