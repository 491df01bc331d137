/*
 * job.h: the backup engine: one run of a backup job, start to finish.
 *
 * job_run() does, in order:
 *
 *   a. load the key, draw a fresh data key, take the backup id given (or
 *	make one);
 *   b. open the storage; delete incomplete backups of this job older than
 *	this run (crashed or cancelled runs: the caller holds the job lock,
 *	so none is being written) and stale unfinished uploads;
 *   c. archive -> tap (tar sha256, progress) -> compress -> encrypt ->
 *	upload data.vgl, building the manifest from the stages' callbacks;
 *   d. commit data.vgl, write index.vgl if the file index is large, and
 *	manifest.vgl last; on any failure or cancel abort and remove what
 *	was written, so no complete-looking backup is left;
 *   e. apply the retention policy (after a successful run only), deleting
 *	pruned backups manifest first;
 *   f. with an `rds` group, take the job's RDS snapshots and prune them
 *	(backup/rds.h); a job with only `rds` skips a to e;
 *
 * and returns a struct job_result.  The engine knows no daemon: the job
 * lock, pre_hook and post_hook, the state file and the log lines that
 * start and end a run are the caller's (agent/job_runner.h, which the
 * daemon and `vigil backup run` share).  job_run() logs each warning (the
 * first 20) and what retention deleted.  Key material is wiped after use.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef VIGIL_BACKUP_JOB_H
#define VIGIL_BACKUP_JOB_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/ag.h"
#include "lib/clock.h"
#include "lib/parsenum.h"
#include "backup/format.h"

struct job_conf;
struct retention_policy;

/* Warnings copied into a job_result. */
#define JOB_RESULT_WARNINGS 5

/* Warnings of a run logged one by one; the rest are counted. */
#define JOB_LOG_WARNINGS 20

/* Progress of a running backup. */
struct job_progress {
	uint64_t bytes_read;   /* file data read so far */
	uint64_t files;	       /* entries archived */
	uint64_t tar_bytes;    /* tar stream produced */
	uint64_t bytes_stored; /* data.vgl bytes written on */
	int64_t elapsed_ms;
	bool done; /* the last call of this run (the
					   caller of job_run() makes it) */
};

struct job_run_opts {
	const char *host;      /* NULL: gethostname() */
	const char *state_dir; /* index spill: <state_dir>/jobs */
	const char *backup_id; /* NULL or "": make one */
	int64_t deadline_ms;   /* monotonic end of the job's
					   timeout; 0: jc->timeout_ms from
					   now (if any) */
	/*
	 * Called on the running thread at most ~10 times a second while
	 * data flows (never with done).
	 */
	void (*progress)(void *cookie, const struct job_progress *p);
	void *cookie;
	/*
	 * Nonzero stops the run (checked between files and data blocks);
	 * the upload is aborted and no complete backup is left.
	 */
	volatile sig_atomic_t *cancel;
};

struct job_result {
	char backup_id[FORMAT_BACKUP_ID_SIZE]; /* "" if none was made */
	bool ok;
	bool cancelled;		  /* stopped by the cancel flag */
	bool timed_out;		  /* stopped by the job's timeout */
	char error[AG_ERR_SIZE];  /* why it failed */
	int64_t start_ms, end_ms; /* wall clock */
	uint64_t files, dirs, symlinks, hardlinks, others;
	uint64_t bytes_in; /* file data read */
	uint64_t tar_bytes;
	uint64_t bytes_stored; /* data + index + manifest objects */
	uint64_t warnings;
	char first_warnings[JOB_RESULT_WARNINGS][AG_ERR_SIZE];
	size_t nfirst_warnings;
	size_t cleaned; /* stale incomplete backups removed */
	size_t pruned;	/* backups deleted by retention */
};

/*
 * What stops a run: the cancel flag and the job's deadline.  Inline, so
 * that the engine and its callers (agent/job_runner.c, for pre_hook) share
 * it without the core linking the engine.
 */
struct job_stop {
	volatile sig_atomic_t *cancel; /* NULL: none */
	int64_t deadline_ms;	       /* monotonic; 0: none */
	bool cancelled, timed_out;     /* what stopped it */
};

/* job_stop_check(s): should the run stop?  Records why in ${s}. */
static inline bool
job_stop_check(struct job_stop *s)
{
	if (s->cancel != NULL && *s->cancel)
		s->cancelled = true;
	if (s->deadline_ms != 0 && clock_mono_ms() >= s->deadline_ms)
		s->timed_out = true;
	return s->cancelled || s->timed_out;
}

/**
 * job_stop_error(s, timeout_ms, err):
 * The message of a run stopped by ${s}: "timed out after 90 s (the job's
 * timeout)" (${timeout_ms}) or "cancelled".  Return -1.
 */
static inline int
job_stop_error(const struct job_stop *s, int64_t timeout_ms,
    struct ag_err *err)
{
	char d[32];

	if (s->timed_out)
		return ag_err_set(err,
		    "timed out after %s (the job's "
		    "timeout)",
		    format_duration_ms(timeout_ms, d, sizeof(d)));
	return ag_err_set(err, "cancelled");
}

/**
 * job_run(jc, opts, ret):
 * Write one backup of ${jc} now and apply its retention (see above); fill
 * ${ret} whatever happens.  Return 0 if a complete backup was written,
 * else -1 (${ret}->error says why: "local[here]: write nightly/.../
 * data.vgl: No space left on device", "cancelled", "timed out after 90 s
 * (the job's timeout)", ...).  Blocks for the whole run.
 */
int job_run(const struct job_conf *jc, const struct job_run_opts *opts,
    struct job_result *ret);

/**
 * job_retention_policy(jc, ret):
 * The retention policy of ${jc} (keep_* settings, local calendar).
 */
void job_retention_policy(const struct job_conf *jc,
    struct retention_policy *ret);

#endif
