/*
 * rules.h: threshold rules and their state machine (DESIGN.md section 3).
 *
 * A rule has a metric selector (a glob: "disk.*.used_pct"), an operator,
 * optional warn and crit levels, "for" (how long a level must hold before
 * the state changes), "clear" (the hysteresis level a firing rule must cross
 * back over to recover), "repeat" (reminder interval while not OK) and
 * "no_data" (how long without readings before the rule goes UNKNOWN, and to
 * which state).  A selector with wildcards keeps one state per matching
 * series.  The engine is pure: time is passed in, notifications come out
 * through a callback, nothing is sent from here.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef VIGIL_RULES_H
#define VIGIL_RULES_H

#include <stdbool.h>
#include <stdint.h>

#include "agent/metric.h"
#include "agent/notify.h"
#include "conf/conf.h"

enum rule_op { OP_GT = 0, OP_GE, OP_LT, OP_LE, OP_EQ, OP_NE };

/* One condition of "where": label ${key} has a value matching ${glob}. */
struct rule_where {
	char *key;
	char *glob;
};

struct rule_conf {
	char *name;
	char *selector;
	/*
	 * With conditions on labels, the selector matches a reading's base
	 * name (before the '{'); without, the whole name.
	 */
	struct rule_where *where; /* sorted by key */
	size_t nwhere;
	enum rule_op op;
	bool has_warn, has_crit, has_clear;
	double warn, crit, clear;
	int64_t for_ms;			/* 0: at once */
	int64_t repeat_ms;		/* 0: no reminders */
	int64_t no_data_ms;		/* 0: the engine default, else this */
	enum alert_state no_data_state; /* default ST_UNKNOWN */
	char **notify;			/* NULL-terminated notifier names */
	size_t nnotify;
	bool no_data_keep; /* no_data_state = "keep": keep the state */
};

/**
 * rule_conf_parse(cs, ret, errs):
 * Read one element of the "rules" list.  Return 0 with a malloc'd rule in
 * ${ret}, or -1 with errors in ${errs}.
 */
int rule_conf_parse(const conf_node *cs, struct rule_conf **ret,
    struct conf_errs *errs);
void rule_conf_free(struct rule_conf *rc);
/* rule_conf_same(a, b): do two rules have identical settings? */
bool rule_conf_same(const struct rule_conf *a, const struct rule_conf *b);

const char *rule_op_name(enum rule_op op);

/**
 * rule_conf_matches(rc, name):
 * Does the reading ${name} belong to rule ${rc}: its selector matches the
 * name (the base name when the rule has "where"), and every "where" label
 * is present with a matching value?
 */
bool rule_conf_matches(const struct rule_conf *rc, const char *name);

struct rules;

/*
 * rules_emit_fn: called for each notification; ${notify} lists the rule's
 * notifier names (never NULL; empty when the rule notifies nobody).  The
 * notification is only valid during the call.
 */
typedef void rules_emit_fn(void *cookie, const struct notification *n,
    char *const *notify);

/**
 * rules_new(host):
 * An empty engine for host name ${host}.  Return NULL on OOM.
 */
struct rules *rules_new(const char *host);

/* The most rules one configuration may have. */
#define RULES_MAX 10000

/**
 * rules_add(r, rc):
 * Add rule ${rc}; the engine takes ownership.  Return 0 or -1 (out of
 * memory, too many rules or a duplicate name; then ${rc} stays the
 * caller's).
 */
int rules_add(struct rules *r, struct rule_conf *rc);

/**
 * rules_adopt(r, old):
 * After a reload: copy the series states of every rule in ${old} whose name
 * and settings are unchanged in ${r}, so a reload neither re-fires nor
 * forgets an alert.
 */
void rules_adopt(struct rules *r, const struct rules *old);

/**
 * rules_feed(r, b, emit, cookie):
 * Evaluate every reading of ${b} against the matching rules at time
 * ${b}->now_ms, calling ${emit} for each notification.  A retirement
 * (METRIC_RETIRED) removes the series of that name from every rule,
 * without a notification.
 */
void rules_feed(struct rules *r, const struct metric_batch *b,
    rules_emit_fn *emit, void *cookie);

/**
 * rules_tick(r, now_ms, emit, cookie):
 * Time-driven work: "for" timers that expired without a new reading, no_data
 * staleness, reminders.  Call it by rules_next_due() at the latest.
 */
void rules_tick(struct rules *r, int64_t now_ms, rules_emit_fn *emit,
    void *cookie);

/**
 * rules_next_due(r, now_ms):
 * The earliest wall time after ${now_ms} at which rules_tick() has work
 * without any new reading (a "for" timer running out, a series going stale
 * or being forgotten, a reminder, the "matched nothing" warning): the time
 * to call it next.  INT64_MAX if there is none; ${now_ms} or earlier if
 * something is due already (series loaded from disk before the first tick).
 */
int64_t rules_next_due(const struct rules *r, int64_t now_ms);

/* rules_set_default_no_data(r, ms): staleness when a rule sets none. */
void rules_set_default_no_data(struct rules *r, int64_t ms);

/*
 * Walking the state, for status and persistence.  rules_walk() reports every
 * series of every rule, in rule order and by metric name; a rule that has no
 * series yet (its selector matched nothing so far) is reported once with
 * metric "", state ST_UNKNOWN and has_value false.
 */
struct rule_series_info {
	const char *rule;
	const char *metric;
	enum alert_state state;
	int64_t since_ms;
	bool has_value;
	double value;
	int64_t last_ts_ms;
};
typedef void rules_walk_fn(void *cookie, const struct rule_series_info *si);
void rules_walk(const struct rules *r, rules_walk_fn *fn, void *cookie);
size_t rules_count(const struct rules *r);
/* rules_rule(r, i): the i-th rule's conf (for status when no series yet). */
const struct rule_conf *rules_rule(const struct rules *r, size_t i);

/*
 * rules_save(r, path) / rules_load(r, path):
 * Persist series states atomically (JSON) so a restart neither re-fires nor
 * forgets an alert; load restores those of rules that still exist and skips
 * the rest.  Return 0 or -1 (load: a missing file is 0).
 */
int rules_save(const struct rules *r, const char *path);
int rules_load(struct rules *r, const char *path);

void rules_free(struct rules *r);

#endif
