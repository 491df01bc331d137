/*
 * job.h: running one backup job, start to finish, and the state file the
 * daemon reads back for metrics and missed-run detection.
 *
 * job_run() does, in order:
 *
 *   a. take the job lock, <state_dir>/jobs/<job>.lock (flock, exclusive,
 *	non-blocking: "job nightly is already running"), so a job never runs
 *	twice at once, whether started by the daemon or the CLI;
 *   b. run pre_hook (/bin/sh -c, hook_timeout); a nonzero exit fails the
 *	backup with its status and the last lines of its standard error;
 *   c. load the key, draw a fresh data key and a backup id;
 *   d. open the storage; delete incomplete backups of this job older than
 *	this run (crashed or cancelled runs: we hold the lock, so none is
 *	being written) and stale unfinished uploads;
 *   e. archive -> tap (tar sha256, progress) -> compress -> encrypt ->
 *	upload data.vgl, building the manifest from the stages' callbacks;
 *   f. commit data.vgl, write index.vgl if the file index is large, and
 *	manifest.vgl last; on any failure or cancel abort and remove what
 *	was written, so no complete-looking backup is left;
 *   g. apply the retention policy (after a successful run only), deleting
 *	pruned backups manifest first;
 *   h. run post_hook (after success or failure) with VIGIL_JOB,
 *	VIGIL_BACKUP_ID, VIGIL_STATUS=ok|failed (and VIGIL_ERROR) in its
 *	environment; its failure is a warning;
 *   i. write <state_dir>/jobs/<job>.json atomically.
 *
 * Retention runs before post_hook so that a hook which unmounts or
 * detaches the storage comes last.  job_run() blocks for the whole backup
 * and logs its start, each warning (the first 20) and its outcome; callers
 * need not log the result again.  Key material is wiped after use.
 */
#ifndef VIGIL_BACKUP_JOB_H
#define VIGIL_BACKUP_JOB_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/ag.h"
#include "backup/format.h"

struct job_conf;
struct retention_policy;

/* Warnings copied into a job_result. */
#define JOB_RESULT_WARNINGS	5

/* Progress of a running backup. */
struct job_progress {
	uint64_t bytes_read;		/* file data read so far */
	uint64_t files;			/* entries archived */
	uint64_t tar_bytes;		/* tar stream produced */
	uint64_t bytes_stored;		/* data.vgl bytes written on */
	int64_t elapsed_ms;
	bool done;			/* the last call of this run */
};

struct job_run_opts {
	const char *host;		/* NULL: gethostname() */
	const char *state_dir;		/* lock, state file, index spill */
	/*
	 * Called on the running thread at most ~10 times a second while
	 * data flows, and once more at the end (done).
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
	char backup_id[FORMAT_BACKUP_ID_SIZE];	/* "" if none was made */
	bool ok;
	bool cancelled;			/* stopped by the cancel flag */
	bool timed_out;			/* stopped by the job's timeout */
	char error[AG_ERR_SIZE];	/* why it failed */
	int64_t start_ms, end_ms;	/* wall clock */
	uint64_t files, dirs, symlinks, hardlinks, others;
	uint64_t bytes_in;		/* file data read */
	uint64_t tar_bytes;
	uint64_t bytes_stored;		/* data + index + manifest objects */
	uint64_t warnings;
	char first_warnings[JOB_RESULT_WARNINGS][AG_ERR_SIZE];
	size_t nfirst_warnings;
	size_t cleaned;			/* stale incomplete backups removed */
	size_t pruned;			/* backups deleted by retention */
};

/**
 * job_run(jc, opts, ret):
 * Run the backup job ${jc} now (see above); fill ${ret} whatever happens.
 * Return 0 if a complete backup was written, else -1 (${ret}->error says
 * why: "job nightly is already running", "pre_hook failed: exit status
 * 3: ...", "local[here]: write nightly/.../data.vgl: No space left on
 * device", "cancelled", ...).  Blocks for the whole run.
 */
int job_run(const struct job_conf *jc, const struct job_run_opts *opts,
    struct job_result *ret);

/**
 * job_retention_policy(jc, ret):
 * The retention policy of ${jc} (keep_* settings, local calendar).
 */
void job_retention_policy(const struct job_conf *jc,
    struct retention_policy *ret);

/**
 * job_lock(state_dir, job, ret_fd, err):
 * Take the lock of ${job} (creating <state_dir>/jobs/ if needed) without
 * waiting; store the descriptor that holds it in ${ret_fd}.  For commands
 * that must not run beside the job, such as prune.  Return 0; 1 with "job
 * nightly is already running" if another process or thread holds it; -1
 * with a message.
 */
int job_lock(const char *state_dir, const char *job, int *ret_fd,
    struct ag_err *err);

/* job_unlock(fd): release a lock from job_lock(); -1 is a no-op. */
void job_unlock(int fd);

/* What <state_dir>/jobs/<job>.json says. */
struct job_state {
	bool has_run;			/* any run recorded */
	int64_t last_run_start_ms, last_run_end_ms;
	bool last_run_ok;
	char last_run_id[FORMAT_BACKUP_ID_SIZE];
	bool has_success;		/* last_success_* are valid */
	int64_t last_success_start_ms;
	int64_t last_success_end_ms;	/* "time" of the last success */
	int64_t last_success_duration_ms;
	char last_success_id[FORMAT_BACKUP_ID_SIZE];
	uint64_t last_success_bytes;	/* bytes_in */
	uint64_t last_success_stored;
	uint64_t last_success_files;
	uint64_t last_success_warnings;
	char last_error[AG_ERR_SIZE];	/* "" if the last run succeeded */
	bool failed;			/* the last run failed */
};

/**
 * job_state_load(state_dir, job, ret, err):
 * Read the state file of ${job} into ${ret}.  Return 0; 1 if there is none
 * yet (${ret} zeroed); -1 with a message if it cannot be read or parsed.
 */
int job_state_load(const char *state_dir, const char *job,
    struct job_state *ret, struct ag_err *err);

#endif
