/*
 * job_runner.h: one run of a backup job as the daemon and `vigil backup
 * run` do it, around the engine (backup/job.h), which knows no daemon:
 *
 *   a. take the job lock (job_state.h), so a job never runs twice at once,
 *	whether started by the daemon or the CLI: "job nightly is already
 *	running";
 *   b. name the backup (lib/backup_id.h) and log "backup nightly/<id>:
 *	started";
 *   c. run pre_hook with VIGIL_JOB and VIGIL_BACKUP_ID; a nonzero exit
 *	fails the backup with its status and the last lines of its standard
 *	error; a cancel or the job's timeout stops it;
 *   d. run the engine, in this process (job_run() through plugin_module_get()) or
 *	wherever ${engine} says (the daemon: a child process, job_child.h),
 *	with the job's timeout counted from step a;
 *   e. run post_hook (after success or failure) with VIGIL_JOB,
 *	VIGIL_BACKUP_ID, VIGIL_STATUS=ok|failed (and VIGIL_ERROR); its
 *	failure is a warning;
 *   f. log the outcome, report the last progress (done), write the state
 *	file and release the lock.
 *
 * Retention (in the engine) runs before post_hook so that a hook which
 * unmounts or detaches the storage comes last.  Callers need not log the
 * result again.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef VIGIL_AGENT_JOB_RUNNER_H
#define VIGIL_AGENT_JOB_RUNNER_H

#include "backup/job.h"

struct job_conf;

/*
 * Where the engine runs: job_run()'s arguments plus ${cookie}; return what
 * job_run() returns, with ${ret} filled whatever happens.
 */
typedef int job_engine_fn(void *cookie, const struct job_conf *jc,
    const struct job_run_opts *opts, struct job_result *ret);

/**
 * job_runner_run(jc, opts, engine, cookie, ret):
 * Run the backup job ${jc} now (steps a to f above) with ${opts} (its
 * backup_id and deadline_ms are the runner's to set), the engine being
 * ${engine}(${cookie}, ...), or job_run() in this process if ${engine} is
 * NULL.  Fill ${ret} whatever happens.  Return 0 if a complete backup was
 * written, else -1 (${ret}->error says why: "job nightly is already
 * running", "pre_hook failed: exit status 3: ...", "cancelled", ...).
 * Blocks for the whole run.
 */
int job_runner_run(const struct job_conf *jc, const struct job_run_opts *opts,
    job_engine_fn *engine, void *cookie, struct job_result *ret);

#endif
