/*
 * job_child.h: the daemon runs each backup's engine in a child process, so
 * that the heavy module (plugin_module.h) and everything a backup allocates live
 * and die there: after a run the daemon is as small as before it, and a
 * crash of the backup code is a failed run, not a dead daemon.
 *
 * job_child_new() forks at once, from the thread that starts the job (the
 * scheduler), and the child waits.  The job's worker thread takes the lock
 * and runs pre_hook in the daemon (job_runner.h), then job_child_run(), the
 * runner's engine, tells the child to go: the child loads the module, runs
 * job_run() on the job's configuration it inherited, and sends progress
 * and its struct job_result back through a pipe.  Cancelling (shutdown)
 * sends the child SIGTERM, which it turns into the engine's cancel flag,
 * then SIGKILL if it has not ended JOB_CHILD_KILL_MS later.  The child gets
 * SIGTERM too if the daemon dies.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef VIGIL_AGENT_JOB_CHILD_H
#define VIGIL_AGENT_JOB_CHILD_H

#include "lib/ag.h"
#include "agent/job_runner.h"

/* From SIGTERM to SIGKILL when a run is cancelled. */
#define JOB_CHILD_KILL_MS 30000

struct job_child;

struct conf;

/**
 * job_child_new(conf, jc, err):
 * Fork the process that will run the engine on ${jc}, which it inherits
 * (it must stay valid here until job_child_free()).  If ${conf} is not
 * NULL, ${jc} only has what the daemon needs (child.h: a job checked in a
 * child) and the child parses the job named so from ${conf} again.
 * Return it, or NULL with a message ("cannot fork: ...").
 */
struct job_child *job_child_new(const struct conf *conf,
    const struct job_conf *jc, struct ag_err *err);

/**
 * job_child_run(cookie, jc, opts, ret):
 * A job_engine_fn: start the child ${cookie} (a struct job_child) with
 * ${opts}'s backup id and deadline, relay its progress to
 * ${opts}->progress, send it SIGTERM when *${opts}->cancel becomes
 * nonzero, and fill ${ret} with its result.  A child that ends without
 * one is a failed run: "the backup process crashed: killed by signal 11
 * (Segmentation fault)".  Return 0 if a complete backup was written, else
 * -1.  Blocks until the child has ended.  At most once per child.
 */
int job_child_run(void *cookie, const struct job_conf *jc,
    const struct job_run_opts *opts, struct job_result *ret);

/**
 * job_child_free(c):
 * Release ${c}: a child that was never run exits without loading
 * anything; wait for it.  NULL does nothing.
 */
void job_child_free(struct job_child *c);

#endif
