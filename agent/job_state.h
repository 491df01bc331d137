/*
 * job_state.h: what the daemon and the CLI keep about a backup job between
 * runs, beside the engine (backup/job.h), which knows neither: the lock
 * that keeps two runs of a job apart and the state file that metrics and
 * missed-run detection read back.
 *
 *	<state_dir>/jobs/<job>.lock	flock()ed, exclusive, while a run or a
 *					prune of the job is under way;
 *	<state_dir>/jobs/<job>.json	the last run and the last success,
 *					written atomically (temporary file,
 *					fsync, rename, fsync of the folder).
 *
 * Core code: jansson and libc only.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef VIGIL_AGENT_JOB_STATE_H
#define VIGIL_AGENT_JOB_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/ag.h"
#include "lib/backup_id.h"

struct job_result;

/* What <state_dir>/jobs/<job>.json says. */
struct job_state {
	bool has_run; /* any run recorded */
	int64_t last_run_start_ms, last_run_end_ms;
	bool last_run_ok;
	char last_run_id[BACKUP_ID_SIZE];
	bool has_success; /* last_success_* are valid */
	int64_t last_success_start_ms;
	int64_t last_success_end_ms; /* "time" of the last success */
	int64_t last_success_duration_ms;
	char last_success_id[BACKUP_ID_SIZE];
	uint64_t last_success_bytes; /* bytes_in */
	uint64_t last_success_stored;
	uint64_t last_success_files;
	uint64_t last_success_warnings;
	char last_error[AG_ERR_SIZE]; /* "" if the last run succeeded */
	bool failed;		      /* the last run failed */
};

/**
 * job_state_load(state_dir, job, ret, err):
 * Read the state file of ${job} into ${ret}.  Return 0; 1 if there is none
 * yet (${ret} zeroed); -1 with a message if it cannot be read or parsed.
 */
int job_state_load(const char *state_dir, const char *job,
    struct job_state *ret, struct ag_err *err);

/**
 * job_state_record(state_dir, job, res):
 * Record the run ${res} of ${job} in its state file, keeping the last
 * success of earlier runs.  Failures are logged ("backup nightly: cannot
 * save the job state: ..."), not returned: the run itself is over.
 */
void job_state_record(const char *state_dir, const char *job,
    const struct job_result *res);

/**
 * job_lock(state_dir, job, ret_fd, err):
 * Take the lock of ${job} (creating <state_dir>/jobs/ if needed) without
 * waiting; store the descriptor that holds it in ${ret_fd}.  For runs and
 * for commands that must not run beside one, such as prune.  Return 0; 1
 * with "job nightly is already running" if another process or thread
 * holds it; -1 with a message.
 */
int job_lock(const char *state_dir, const char *job, int *ret_fd,
    struct ag_err *err);

/* job_unlock(fd): release a lock from job_lock(); -1 is a no-op. */
void job_unlock(int fd);

#endif
