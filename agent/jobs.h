/*
 * jobs.h: backup jobs inside the daemon.
 *
 * The scheduler thread asks jobs_tick() to start every job that is due (by
 * its schedule, plus its splay, or once at start-up when a scheduled run was
 * missed while the host was off) and jobs_start() for `vigil backup run`.
 * Each run gets a worker thread holding a reference on the runconf it was
 * started from, so a reload never pulls its configuration away; a job that
 * is still running is not started again.  A finished worker wakes the
 * scheduler through a pipe (jobs_fd()); jobs_reap() joins it.  Every job
 * publishes readings that rules alert on: backup.<job>.last_success_age_s,
 * .last_duration_s, .last_bytes, .last_stored_bytes, .last_files, .failed
 * (1 after a failed run until the next success), .warnings and .running.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef VIGIL_JOBS_H
#define VIGIL_JOBS_H

#include <jansson.h>
#include <stdint.h>

#include "agent/metric.h"
#include "lib/ag.h"

struct runconf;
struct jobs;

/**
 * jobs_new(state_dir, host):
 * The daemon's job runner.  Return NULL on failure (logged).
 */
struct jobs *jobs_new(const char *state_dir, const char *host);

/**
 * jobs_configure(j, rc, now_ms):
 * Use the jobs of ${rc} (a reference is taken) from now on: compute each
 * one's next run, and mark as due at once those whose scheduled run was
 * missed.  Called at start-up and after every reload.
 */
void jobs_configure(struct jobs *j, struct runconf *rc, int64_t now_ms);

/* jobs_fd(j): the descriptor that becomes readable when a run ended. */
int jobs_fd(const struct jobs *j);

/* jobs_reap(j): join finished runs and read their results. */
void jobs_reap(struct jobs *j);

/**
 * jobs_tick(j, now_ms):
 * Start the jobs that are due.  Return the wall time of the next start.
 */
int64_t jobs_tick(struct jobs *j, int64_t now_ms);

/**
 * jobs_start(j, name, err):
 * Start ${name} now.  Return 0; 1 with a message if it is running already;
 * -1 with a message if there is no such job or no thread.
 */
int jobs_start(struct jobs *j, const char *name, struct ag_err *err);

/*
 * The metric names a job publishes, after "backup.<job>.", NULL-terminated:
 * rule checks use them without loading the backup code.
 */
extern const char *const jobs_metric_suffixes[];

/* jobs_metrics(j, b): append every job's readings to ${b}. */
void jobs_metrics(struct jobs *j, struct metric_batch *b);

/* jobs_status(j, now_ms): a new JSON array describing every job. */
json_t *jobs_status(struct jobs *j, int64_t now_ms);

/**
 * jobs_free(j):
 * Cancel running backups (they leave incomplete backups that the next run
 * removes, and count as missed, so they run again after a restart), join
 * the workers and free ${j}.
 */
void jobs_free(struct jobs *j);

#endif
