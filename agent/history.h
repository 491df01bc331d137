/*
 * history.h: the metric history behind the charts of the web page and
 * /api/v1/history.
 *
 * Each series (a reading's full name, labels included) keeps one ring per
 * tier, at falling resolution: by default 10 s for 3 h, 1 min for 2 days,
 * 10 min for 30 days (http.history.tiers).  A reading goes into the
 * current slot of every tier; a slot keeps the mean of what fell in it.
 * Memory has a hard cap (http.history.memory_max): a series that would
 * pass it is not kept and counted as dropped.  The history is written to
 * <state_dir>/history.bin every save_interval and at shutdown, and read
 * back at start, so charts survive a restart.
 *
 * One thread owns a history (the scheduler's): no function locks.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef VIGIL_AGENT_HISTORY_H
#define VIGIL_AGENT_HISTORY_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "conf/conf.h"
#include "lib/ag.h"

struct metric_batch;

#define HISTORY_TIERS_MAX 4

struct history_tier {
	int64_t step_ms; /* one slot */
	int64_t span_ms; /* slots = span / step */
};

struct history_conf {
	struct history_tier tiers[HISTORY_TIERS_MAX]; /* finest first */
	size_t ntiers;
	size_t memory_max;	  /* bytes, the hard cap */
	int64_t save_interval_ms; /* 0: only at shutdown */
};

struct history_stats {
	size_t series;
	size_t bytes;	  /* in use now */
	size_t bytes_max; /* the cap */
	uint64_t dropped; /* series refused by the cap (each name once) */
	int64_t saved_ms; /* wall time of the last good save, 0: never */
	char last_error[256];
};

/**
 * history_conf_parse(group, c, errs):
 * Read http.history (${group}; NULL: the defaults) into ${c}: `tiers` as
 * a list of "STEP:SPAN" strings ("10s:3h"), finest first, each step a
 * multiple of the one before; `memory_max` (size); `save_interval`
 * (duration).  Errors go to ${errs} (FILE:LINE: setting: what).  Return 0
 * or -1.
 */
int history_conf_parse(const conf_node *group, struct history_conf *c,
    struct conf_errs *errs);

/**
 * history_new(c, path, err):
 * A history as ${c} says, saved to ${path} (NULL: never saved), with what
 * ${path} holds read back (tiers that changed since are dropped, not
 * misread; a damaged file is set aside with one warning).  NULL on error.
 */
struct history *history_new(const struct history_conf *c, const char *path,
    struct ag_err *err);

/* history_free(h): free ${h} (it does not save; call history_save()). */
void history_free(struct history *h);

/**
 * history_add(h, batch, wall_ms):
 * Add every reading of ${batch} (but retirements, values that are not
 * finite and names that are not UTF-8) at its own time, its ts_ms, or
 * ${wall_ms}, the wall time now, when it has none or is more than a minute
 * ahead.  A reading later than its ring's newest slot fills an empty
 * older slot only; one older than the ring is dropped unless it is of the
 * present (the clock went back: the ring starts again).
 */
void history_add(struct history *h, const struct metric_batch *batch,
    int64_t wall_ms);

/**
 * history_query(h, series, from_ms, to_ms, step_ms):
 * The points of ${series} between wall times ${from_ms} and ${to_ms}, from
 * the finest tier that covers ${from_ms}, merged to ${step_ms} (0: the
 * tier's step) and at most 2,000 points:
 * {"series": NAME, "step_ms": N, "points": [[t_ms, value], ...]}, empty
 * slots left out.  NULL if the series is unknown.
 */
json_t *history_query(struct history *h, const char *series, int64_t from_ms,
    int64_t to_ms, int64_t step_ms);

/**
 * history_names(h, pattern):
 * The names of the series kept that match the glob ${pattern} (NULL:
 * all; the rules' glob, metric_glob_match(): '*' crosses dots and
 * labels), sorted, as a JSON array of strings.
 */
json_t *history_names(struct history *h, const char *pattern);

/* history_stats(h, st): what ${h} holds and costs. */
void history_stats(const struct history *h, struct history_stats *st);

/**
 * history_save(h, err):
 * Write ${h} to its file (a temporary file, fsync, rename).  Return 0 or
 * -1 (err set, also kept for history_stats()).
 */
int history_save(struct history *h, struct ag_err *err);

/* history_save_due(h): the wall time the next save is due (INT64_MAX: none). */
int64_t history_save_due(const struct history *h);

#endif /* !VIGIL_AGENT_HISTORY_H */
