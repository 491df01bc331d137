/*
 * source.h: metric sources, for callers (the scheduler).
 *
 * A source type ("cpu", "disk", "cloudwatch", ...) is a const ops table in
 * agent/sources/src_<name>.c (agent/sources/net/ if it needs the network
 * libraries), one line of the plug-in table, agent/plugins.c.  The config
 * creates instances by type; each has its own interval.  collect()
 * appends readings and sends nothing; the scheduler owns time, backs off a
 * failing source and warns when a collection outlasts its interval.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef VIGIL_SOURCE_H
#define VIGIL_SOURCE_H

#include <stdbool.h>
#include <stdint.h>

#include "agent/metric.h"
#include "conf/conf.h"
#include "lib/ag.h"

struct source_ops;

struct source {
	const struct source_ops *ops;
	void *ctx;
	char *name; /* instance name: "name" setting, else the type */
	int64_t interval_ms;
	/* Scheduler state. */
	int64_t next_ms;	 /* monotonic time of the next collection */
	int64_t cur_interval_ms; /* grows while failing */
	int64_t last_ok_ms;	 /* wall time of the last good collection */
	int64_t last_dur_ms;
	unsigned failures; /* consecutive */
	char last_err[256];
	size_t last_count; /* readings in the last collection */
};

#define SOURCE_DEFAULT_INTERVAL_MS 10000

/**
 * source_new(cs, errs):
 * Create the source described by the config group ${cs} ("type", optional
 * "name" and "interval", and the type's own settings).  Errors go to ${errs};
 * return NULL if any.
 */
struct source *source_new(const conf_node *cs, struct conf_errs *errs);

/**
 * source_collect(s, out, err):
 * Append ${s}'s readings to ${out}.  Return 0, AG_RETRY or -1 (with ${err}).
 */
int source_collect(struct source *s, struct metric_batch *out,
    struct ag_err *err);

/**
 * source_patterns(s):
 * NULL-terminated globs of the metric names ${s} can produce, e.g.
 * "disk.*.used_pct", for checking rules against sources.
 */
const char *const *source_patterns(const struct source *s);

/**
 * source_cost(s, buf, len):
 * One line saying what ${s} will ask of a paid API (CloudWatch: metrics
 * requested a month) into ${buf}.  Return 1, or 0 if the type has nothing
 * to say.
 */
int source_cost(const struct source *s, char *buf, size_t len);

/**
 * source_cadence_ms(s):
 * The longest time between two readings of one series of ${s}: its
 * interval, or longer if the type says so (a cloud metric's period).
 */
int64_t source_cadence_ms(const struct source *s);

/**
 * source_next_interval(s, cur_ms, ok):
 * The wait before the next collection of ${s} after one that succeeded
 * (${ok}: its interval) or failed while the wait was ${cur_ms} (twice that,
 * at most 16 times its interval or 10 minutes, whichever is less, never
 * below its interval).
 */
int64_t source_next_interval(const struct source *s, int64_t cur_ms, bool ok);

/* source_type(s): the type name, "cpu", "disk", ... */
const char *source_type(const struct source *s);

/**
 * source_json(s):
 * What `vigil status` and /api/v1/sources say of every source: name, type,
 * interval_ms, last_ok_ms, last_duration_ms, failures and last_error, as
 * a new JSON object (NULL if out of memory).
 */
struct json_t *source_json(const struct source *s);

/* source_free(s): free ${s}; NULL does nothing. */
void source_free(struct source *s);

/* source_set_proc_root(root): read /proc and mounts under ${root} (tests). */
void source_set_proc_root(const char *root);
/* source_proc_path(rel, buf, len): the path of /proc/${rel} under the root. */
const char *source_proc_path(const char *rel, char *buf, size_t len);

#endif
