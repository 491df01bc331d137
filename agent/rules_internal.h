/*
 * rules_internal.h: what the rule engine (rules.c), its settings
 * (rules_conf.c) and its saved states (rules_state.c) share and no other
 * file needs: the engine's structures and a few helpers.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef VIGIL_AGENT_RULES_INTERNAL_H
#define VIGIL_AGENT_RULES_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agent/rules.h"

#define NO_TIME INT64_MIN /* a timer not running */

struct series {
	char *metric;
	enum alert_state state;
	enum alert_state target; /* asked for by the last reading */
	int64_t since_ms;	 /* when ${state} began */
	int64_t warn_since;	 /* target not OK since, or NO_TIME */
	int64_t crit_since;	 /* target CRITICAL since, or NO_TIME */
	int64_t seen_ms;	 /* engine time of the last reading */
	int64_t notified_ms;	 /* last notification, for reminders */
	int64_t last_ts_ms;	 /* timestamp of the last reading */
	bool has_value;
	bool stale; /* no_data has been applied */
	double value;
};

struct rule {
	struct rule_conf *rc;
	struct series **series; /* sorted by metric name */
	size_t n, cap;
	int64_t first_ms;      /* first feed or tick, 0: none yet */
	bool full_warned;      /* SERIES_MAX reached, logged */
	bool unmatched_warned; /* "matched nothing" logged */
};

struct rules {
	char host[128];
	struct rule *v;
	size_t n, cap;
	int64_t no_data_ms;
	uint32_t seq; /* for notification ids */
};

/*
 * rule_op_crosses(op, v, level):
 * Does ${v} cross ${level} in the direction of ${op}?
 */
bool rule_op_crosses(enum rule_op op, double v, double level);

/*
 * rule_name_ok(s, max):
 * Is ${s} 1 to ${max} - 1 characters without control bytes?
 */
bool rule_name_ok(const char *s, size_t max);


/*
 * rule_conf_hash(rc):
 * A hash of every setting rule_conf_same() compares.
 */
uint64_t rule_conf_hash(const struct rule_conf *rc);

/*
 * rules_series_get(ru, metric, now):
 * Find the series ${metric} of ${ru}, creating it (state OK since ${now})
 * if new.  NULL on OOM or when the rule already has its most series.
 */
struct series *rules_series_get(struct rule *ru, const char *metric,
    int64_t now);

#endif
