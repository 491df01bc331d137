/*
 * rules_conf.c: the settings of a threshold rule (see rules.h and
 * docs/RULES.md): parsing and checking a rule group of vigil.conf, and
 * comparing and hashing the settings of two rules, which decides whether a
 * rule keeps its states across a reload or a restart.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/fnv.h"
#include "agent/rules.h"
#include "agent/rules_internal.h"

#define REPEAT_MIN_MS (60 * 1000)
#define RULE_NAME_MAX sizeof(((struct notification *)0)->rule)

static const char *const op_names[] = { ">", ">=", "<",
	"<=", "==", "!=", NULL };

/* Order of the "no_data_state" choices; "keep" is the last. */
static const char *const no_data_names[] = { "unknown", "ok", "warning",
	"critical", "keep", NULL };
static const enum alert_state no_data_states[] = { ST_UNKNOWN, ST_OK,
	ST_WARNING, ST_CRITICAL };

static const char *const rule_keys[] = { "name", "metric", "where", "op",
	"warn", "crit", "for", "clear", "repeat", "no_data", "no_data_state",
	"notify", NULL };

const char *
rule_op_name(enum rule_op op)
{
	if ((unsigned)op >= ARRAY_SIZE(op_names) - 1)
		return "?";
	return op_names[op];
}

/* Does ${v} cross ${level} in the direction of ${op}? */
bool
rule_op_crosses(enum rule_op op, double v, double level)
{
	switch (op) {
	case OP_GT:
		return v > level;
	case OP_GE:
		return v >= level;
	case OP_LT:
		return v < level;
	case OP_LE:
		return v <= level;
	case OP_EQ:
		return v == level;
	case OP_NE:
		return v != level;
	}
	return false;
}

/* Is ${op} one of the "greater" operators (a high value is bad)? */
static bool
op_up(enum rule_op op)
{
	return op == OP_GT || op == OP_GE;
}

/* Configuration. */

void
rule_conf_free(struct rule_conf *rc)
{
	if (rc == NULL)
		return;
	free(rc->name);
	free(rc->selector);
	for (size_t i = 0; i < rc->nwhere; i++) {
		free(rc->where[i].key);
		free(rc->where[i].glob);
	}
	free(rc->where);
	ag_strv_free(rc->notify);
	free(rc);
}

/* Check that a name is 1 to ${max} - 1 characters without control bytes. */
bool
rule_name_ok(const char *s, size_t max)
{
	size_t len = strlen(s);

	if (len == 0 || len >= max)
		return false;
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

/*
 * Check the levels against the operator: for ">" and ">=" crit must not be
 * below warn and clear not above the lowest level, for "<" and "<=" the
 * reverse; "==" and "!=" have no order, so clear means nothing there.
 */
static bool
levels_ok(const conf_node *cs, const struct rule_conf *rc,
    struct conf_errs *errs)
{
	const char *op = rule_op_name(rc->op);
	double low = rc->has_warn ? rc->warn : rc->crit;
	bool ok = true;

	if (rc->has_warn && rc->has_crit && rc->op != OP_EQ &&
	    rc->op != OP_NE &&
	    (op_up(rc->op) ? rc->crit < rc->warn : rc->crit > rc->warn)) {
		conf_error_at(errs, cs, "crit",
		    "%g must be %s warn (%g) for "
		    "op \"%s\"",
		    rc->crit, op_up(rc->op) ? ">=" : "<=", rc->warn, op);
		ok = false;
	}
	if (!rc->has_clear || (!rc->has_warn && !rc->has_crit))
		return ok;
	if (rc->op == OP_EQ || rc->op == OP_NE) {
		conf_error_at(errs, cs, "clear",
		    "is not allowed with op "
		    "\"%s\"",
		    op);
		return false;
	}
	if (op_up(rc->op) ? rc->clear > low : rc->clear < low) {
		conf_error_at(errs, cs, "clear",
		    "%g must be %s %s (%g) for "
		    "op \"%s\": a firing rule recovers when the value "
		    "crosses back past it",
		    rc->clear, op_up(rc->op) ? "<=" : ">=",
		    rc->has_warn ? "warn" : "crit", low, op);
		ok = false;
	}
	return ok;
}

static int
where_cmp(const void *a, const void *b)
{
	return strcmp(((const struct rule_where *)a)->key,
	    ((const struct rule_where *)b)->key);
}

/*
 * Read "where = { Key = "glob"; ... }" into ${rc}: label conditions.
 * Return 0, or -1 with errors recorded.
 */
static int
where_parse(const conf_node *cs, struct rule_conf *rc, struct conf_errs *errs)
{
	const conf_node *w = conf_member(cs, "where");
	size_t n;
	int bad = 0;

	if (w == NULL)
		return 0;
	if (!conf_is_group(w) || (n = conf_len(w)) == 0)
		return conf_error(errs, w,
		    "must be a group of label conditions: "
		    "{ InstanceId = \"i-*\"; }");
	if (n > METRIC_LABELS_MAX)
		return conf_error(errs, w, "more than %d conditions",
		    METRIC_LABELS_MAX);
	if ((rc->where = calloc(n, sizeof(*rc->where))) == NULL)
		return conf_error(errs, w, "out of memory");
	for (size_t i = 0; i < n; i++) {
		const char *key = conf_name(conf_elem(w, i)), *glob;

		if (key == NULL ||
		    conf_get_str(errs, w, key, true, &glob) != 1) {
			bad = -1;
			continue;
		}
		if (!rule_name_ok(glob, METRIC_NAME_MAX) && glob[0] != '\0') {
			bad = conf_error_at(errs, w, key,
			    "must be a label value or glob of printable "
			    "characters");
			continue;
		}
		if ((rc->where[rc->nwhere].key = strdup(key)) == NULL ||
		    (rc->where[rc->nwhere].glob = strdup(glob)) == NULL) {
			free(rc->where[rc->nwhere].key);
			return conf_error(errs, w, "out of memory");
		}
		rc->nwhere++;
	}
	qsort(rc->where, rc->nwhere, sizeof(*rc->where), where_cmp);
	if (rc->selector != NULL && rc->nwhere > 0 &&
	    strchr(rc->selector, '{') != NULL)
		bad = conf_error_at(errs, cs, "metric",
		    "with \"where\", names the metric without its labels "
		    "(no '{')");
	return bad;
}

bool
rule_conf_matches(const struct rule_conf *rc, const char *name)
{
	char base[METRIC_NAME_MAX], val[METRIC_NAME_MAX];
	size_t bl;

	if (rc->nwhere == 0)
		return metric_glob_match(rc->selector, name);
	bl = metric_base_len(name);
	if (bl >= sizeof(base))
		return false;
	memcpy(base, name, bl);
	base[bl] = '\0';
	if (!metric_glob_match(rc->selector, base))
		return false;
	for (size_t i = 0; i < rc->nwhere; i++)
		if (metric_label_get(name, rc->where[i].key, val,
			sizeof(val)) != 1 ||
		    !metric_glob_match(rc->where[i].glob, val))
			return false;
	return true;
}

int
rule_conf_parse(const conf_node *cs, struct rule_conf **ret,
    struct conf_errs *errs)
{
	struct rule_conf *rc;
	const char *s;
	int op = OP_GT, nd = 0, gw, gc, gop;
	bool bad = false;

	if (!conf_is_group(cs))
		return conf_error(errs, cs,
		    "a rule must be a group: { name = "
		    "\"...\"; metric = \"...\"; warn = ...; }");
	if ((rc = calloc(1, sizeof(*rc))) == NULL)
		return conf_error(errs, cs, "out of memory");
	if (conf_check_keys(errs, cs, rule_keys) > 0)
		bad = true;

	if (conf_get_str(errs, cs, "name", true, &s) != 1) {
		bad = true;
	} else if (!rule_name_ok(s, RULE_NAME_MAX)) {
		conf_error_at(errs, cs, "name",
		    "must be 1 to %zu printable "
		    "characters",
		    RULE_NAME_MAX - 1);
		bad = true;
	} else if ((rc->name = strdup(s)) == NULL) {
		goto oom;
	}
	if (conf_get_str(errs, cs, "metric", true, &s) != 1) {
		bad = true;
	} else if (!rule_name_ok(s, METRIC_NAME_MAX)) {
		conf_error_at(errs, cs, "metric",
		    "must be a metric name or "
		    "glob of 1 to %d printable characters",
		    METRIC_NAME_MAX - 1);
		bad = true;
	} else if ((rc->selector = strdup(s)) == NULL) {
		goto oom;
	}
	if (where_parse(cs, rc, errs) != 0)
		bad = true;
	if ((gop = conf_get_enum(errs, cs, "op", false, op_names, &op)) < 0)
		bad = true;
	rc->op = (enum rule_op)op;

	gw = conf_get_num(errs, cs, "warn", false, -DBL_MAX, DBL_MAX,
	    &rc->warn);
	gc = conf_get_num(errs, cs, "crit", false, -DBL_MAX, DBL_MAX,
	    &rc->crit);
	rc->has_warn = gw == 1;
	rc->has_crit = gc == 1;
	if (gw < 0 || gc < 0)
		bad = true;
	if (gw == 0 && gc == 0) {
		conf_error(errs, cs, "a rule needs warn, crit or both");
		bad = true;
	}
	switch (conf_get_num(errs, cs, "clear", false, -DBL_MAX, DBL_MAX,
	    &rc->clear)) {
	case 1:
		rc->has_clear = true;
		break;
	case -1:
		bad = true;
		break;
	}
	/* Only compare levels that were read, under the operator given. */
	if (gop >= 0 && gw >= 0 && gc >= 0 && !levels_ok(cs, rc, errs))
		bad = true;

	if (conf_get_dur(errs, cs, "for", false, 0, &rc->for_ms) < 0)
		bad = true;
	if (conf_get_dur(errs, cs, "repeat", false, 0, &rc->repeat_ms) < 0) {
		bad = true;
	} else if (rc->repeat_ms != 0 && rc->repeat_ms < REPEAT_MIN_MS) {
		conf_error_at(errs, cs, "repeat",
		    "must be \"0\" (no "
		    "reminders) or at least \"1m\"");
		bad = true;
	}
	if (conf_get_dur(errs, cs, "no_data", false, 0, &rc->no_data_ms) < 0) {
		bad = true;
	} else if (rc->no_data_ms != 0 && rc->no_data_ms < 1000) {
		conf_error_at(errs, cs, "no_data", "must be at least \"1s\"");
		bad = true;
	}
	if (conf_get_enum(errs, cs, "no_data_state", false, no_data_names,
		&nd) < 0)
		bad = true;
	if ((size_t)nd < ARRAY_SIZE(no_data_states))
		rc->no_data_state = no_data_states[nd];
	else
		rc->no_data_keep = true;

	if (conf_get_strv(errs, cs, "notify", false, &rc->notify,
		&rc->nnotify) < 0)
		bad = true;
	for (size_t i = 0; i < rc->nnotify; i++) {
		if (rc->notify[i][0] == '\0') {
			conf_error_at(errs, cs, "notify",
			    "empty notifier "
			    "name");
			bad = true;
		}
		for (size_t j = 0; j < i; j++) {
			if (strcmp(rc->notify[i], rc->notify[j]) == 0) {
				conf_error_at(errs, cs, "notify",
				    "\"%s\" is "
				    "listed twice",
				    rc->notify[i]);
				bad = true;
				break;
			}
		}
	}

	if (bad) {
		rule_conf_free(rc);
		return -1;
	}
	*ret = rc;
	return 0;

oom:
	rule_conf_free(rc);
	return conf_error(errs, cs, "out of memory");
}

bool
rule_conf_same(const struct rule_conf *a, const struct rule_conf *b)
{
	if (strcmp(a->name, b->name) != 0 ||
	    strcmp(a->selector, b->selector) != 0 || a->op != b->op ||
	    a->has_warn != b->has_warn || a->has_crit != b->has_crit ||
	    a->has_clear != b->has_clear ||
	    (a->has_warn && a->warn != b->warn) ||
	    (a->has_crit && a->crit != b->crit) ||
	    (a->has_clear && a->clear != b->clear) || a->for_ms != b->for_ms ||
	    a->repeat_ms != b->repeat_ms || a->no_data_ms != b->no_data_ms ||
	    a->no_data_keep != b->no_data_keep ||
	    (!a->no_data_keep && a->no_data_state != b->no_data_state) ||
	    a->nnotify != b->nnotify || a->nwhere != b->nwhere)
		return false;
	for (size_t i = 0; i < a->nwhere; i++)
		if (strcmp(a->where[i].key, b->where[i].key) != 0 ||
		    strcmp(a->where[i].glob, b->where[i].glob) != 0)
			return false;
	for (size_t i = 0; i < a->nnotify; i++)
		if (strcmp(a->notify[i], b->notify[i]) != 0)
			return false;
	return true;
}

/* A hash of every setting rule_conf_same() compares. */
uint64_t
rule_conf_hash(const struct rule_conf *rc)
{
	int64_t iv[6] = { rc->op, rc->for_ms, rc->repeat_ms, rc->no_data_ms,
		rc->no_data_keep ? -1 : (int64_t)rc->no_data_state,
		(int64_t)rc->nnotify };
	double lv[3] = { rc->has_warn ? rc->warn : NAN,
		rc->has_crit ? rc->crit : NAN,
		rc->has_clear ? rc->clear : NAN };
	uint64_t h = FNV1A64_INIT;

	h = fnv1a64(h, rc->name, strlen(rc->name) + 1);
	h = fnv1a64(h, rc->selector, strlen(rc->selector) + 1);
	h = fnv1a64(h, iv, sizeof(iv));
	for (size_t i = 0; i < 3; i++) {
		/* Levels that are not set hash as one fixed marker. */
		if (isnan(lv[i]))
			h = fnv1a64(h, "-", 1);
		else
			h = fnv1a64(h, &lv[i], sizeof(lv[i]));
	}
	for (size_t i = 0; i < rc->nnotify; i++)
		h = fnv1a64(h, rc->notify[i], strlen(rc->notify[i]) + 1);
	for (size_t i = 0; i < rc->nwhere; i++) {
		h = fnv1a64(h, rc->where[i].key, strlen(rc->where[i].key) + 1);
		h = fnv1a64(h, rc->where[i].glob,
		    strlen(rc->where[i].glob) + 1);
	}
	return h;
}
