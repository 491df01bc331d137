/*
 * collector.h: network sources collected on threads of their own.
 *
 * A source of a type in the heavy module (a cloud API: plugin_in_module())
 * may wait up to its HTTP timeout for an answer; on the scheduler thread
 * that would hold up the local sources, the rules and the control socket.
 * collector_start() gives each such source of a runconf a thread that
 * collects it on its own schedule: first at once, then every interval; a
 * failure doubles the wait up to source_next_interval()'s cap, a success
 * restores it.  Each finished collection (readings, outcome, error,
 * duration) is queued under the collector's mutex and announced by one
 * byte written to the scheduler's wake pipe; the scheduler takes it with
 * collector_take(), feeds the rules and keeps the readings for status, as
 * for a source it collected itself.  A thread collects again only once its
 * last batch was taken, so nothing is dropped and nothing piles up.
 *
 * collector_stop() (reload, shutdown) sets a flag bound to each thread as
 * its cancel flag (lib/cancel.h): a thread waiting for its next turn wakes
 * at once, an HTTP call in flight is aborted within about a second, later
 * calls of that collection are refused, and what a cut collection read is
 * dropped.  Then the threads are joined.
 *
 * The source structs stay the scheduler's: a thread calls only
 * source_collect() (the type's ctx is the thread's alone) and reads the
 * source's interval; the scheduler updates failures, errors and times when
 * it takes a batch.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef VIGIL_AGENT_COLLECTOR_H
#define VIGIL_AGENT_COLLECTOR_H

#include <stddef.h>
#include <stdint.h>

#include "agent/metric.h"
#include "lib/ag.h"

struct runconf;
struct collector;

/* One finished collection, handed to the scheduler. */
struct collector_batch {
	size_t idx;	      /* the source's index in the runconf */
	int rc;		      /* source_collect()'s: 0, AG_RETRY or -1 */
	struct ag_err err;    /* when rc != 0 */
	int64_t started_mono; /* monotonic start of the collection */
	int64_t took_ms;
	struct metric_batch batch; /* readings; now_ms, mono_ms set */
};

/**
 * collector_start(rc, wake_fd, batch_max):
 * Start one thread for each source of ${rc} of a heavy-module type, each
 * collecting into batches of at most ${batch_max} readings and writing a
 * byte to ${wake_fd} (non-blocking) when one is ready.  The sources it
 * took have next_ms INT64_MAX, so the scheduler's own schedule never has
 * them due; a source whose thread could not be made keeps its next_ms (the
 * scheduler collects it, logged).  Holds a reference on ${rc}.  Return
 * NULL if there is no such source (or no memory: then the scheduler
 * collects them all).
 */
struct collector *collector_start(struct runconf *rc, int wake_fd,
    size_t batch_max);

/**
 * collector_take(c):
 * The oldest finished collection of ${c}, now the caller's (free it with
 * collector_batch_free()); that source's thread may collect again.  NULL
 * if none is waiting (or ${c} is NULL).
 */
struct collector_batch *collector_take(struct collector *c);

/* collector_batch_free(b): free ${b}; NULL does nothing. */
void collector_batch_free(struct collector_batch *b);

/**
 * collector_stop(c):
 * Stop the threads of ${c} (cutting calls in flight), join them, drop the
 * batches not taken and the runconf reference, and free ${c}.  NULL does
 * nothing.
 */
void collector_stop(struct collector *c);

#endif /* !VIGIL_AGENT_COLLECTOR_H */
