/*
 * test_rules.c: the rules engine: transitions, hysteresis, "for", reminders,
 * no_data, wildcard series, operators, reload, persistence and parsing.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "agent/rules.h"
#include "tests/unit/fakes/testutil.h"

#define SEC 1000LL
#define MIN (60 * SEC)
#define HOUR (60 * MIN)
#define T0 1700000000000LL /* a plausible wall clock */

/* Every notification the engine emitted, in order. */
#define CAP_MAX 64
struct cap {
	struct notification n[CAP_MAX];
	size_t count; /* all, even past CAP_MAX */
	size_t nnotify[CAP_MAX];
	char notify0[CAP_MAX][32];
};

static void
on_emit(void *cookie, const struct notification *n, char *const *notify)
{
	struct cap *c = cookie;
	size_t k = 0;

	assert_non_null(notify);
	if (c->count < CAP_MAX) {
		c->n[c->count] = *n;
		while (notify[k] != NULL)
			k++;
		c->nnotify[c->count] = k;
		snprintf(c->notify0[c->count], sizeof(c->notify0[0]), "%s",
		    k > 0 ? notify[0] : "");
	}
	c->count++;
}

static struct rule_conf *
mk(const char *name, const char *sel, enum rule_op op)
{
	struct rule_conf *rc = calloc(1, sizeof(*rc));

	assert_non_null(rc);
	rc->name = strdup(name);
	rc->selector = strdup(sel);
	assert_non_null(rc->name);
	assert_non_null(rc->selector);
	rc->op = op;
	rc->no_data_state = ST_UNKNOWN;
	return rc;
}

static void
set_warn(struct rule_conf *rc, double w)
{
	rc->has_warn = true;
	rc->warn = w;
}

static void
set_crit(struct rule_conf *rc, double c)
{
	rc->has_crit = true;
	rc->crit = c;
}

static void
set_clear(struct rule_conf *rc, double c)
{
	rc->has_clear = true;
	rc->clear = c;
}

static struct rules *
engine1(struct rule_conf *rc)
{
	struct rules *r = rules_new("web1");

	assert_non_null(r);
	assert_int_equal(rules_add(r, rc), 0);
	return r;
}

static void
feed(struct rules *r, const char *name, double v, int64_t now, struct cap *c)
{
	struct metric_batch b;

	metric_batch_init(&b, 8);
	b.now_ms = now;
	assert_int_equal(metric_add_ts(&b, now, v, name), 0);
	rules_feed(r, &b, on_emit, c);
	metric_batch_free(&b);
}

static const struct notification *
last(const struct cap *c)
{
	assert_true(c->count > 0 && c->count <= CAP_MAX);
	return &c->n[c->count - 1];
}

/* Check the last notification's kind, states and (if any) threshold. */
static void
expect_change(const struct cap *c, size_t count, enum alert_state prev,
    enum alert_state st)
{
	const struct notification *n;

	assert_int_equal(c->count, count);
	n = last(c);
	assert_int_equal(n->kind, NK_CHANGE);
	assert_int_equal(n->prev_state, prev);
	assert_int_equal(n->state, st);
}

struct walked {
	size_t n;
	char rule[8][64];
	char metric[8][64];
	enum alert_state state[8];
	bool has_value[8];
	double value[8];
};

static void
on_walk(void *cookie, const struct rule_series_info *si)
{
	struct walked *w = cookie;

	if (w->n < 8) {
		snprintf(w->rule[w->n], sizeof(w->rule[0]), "%s", si->rule);
		snprintf(w->metric[w->n], sizeof(w->metric[0]), "%s",
		    si->metric);
		w->state[w->n] = si->state;
		w->has_value[w->n] = si->has_value;
		w->value[w->n] = si->value;
	}
	w->n++;
}

static void
test_transitions_gt(void **state)
{
	struct rule_conf *rc = mk("cpu-high", "cpu.used_pct", OP_GT);
	struct rules *r;
	struct cap c = { 0 };
	const struct notification *n;

	(void)state;
	set_warn(rc, 80);
	set_crit(rc, 95);
	r = engine1(rc);

	/* A new series that starts OK says nothing. */
	feed(r, "cpu.used_pct", 50, T0, &c);
	assert_int_equal(c.count, 0);
	feed(r, "cpu.used_pct", 85, T0 + 10 * SEC, &c);
	expect_change(&c, 1, ST_OK, ST_WARNING);
	n = last(&c);
	assert_string_equal(n->host, "web1");
	assert_string_equal(n->rule, "cpu-high");
	assert_string_equal(n->metric, "cpu.used_pct");
	assert_string_equal(n->op, ">");
	assert_true(n->has_value);
	assert_true(n->value == 85);
	assert_true(n->has_threshold);
	assert_true(n->threshold == 80);
	assert_int_equal(n->since_ms, T0 + 10 * SEC);
	assert_int_equal(n->ts_ms, T0 + 10 * SEC);
	assert_int_equal(c.nnotify[0], 0); /* notifies nobody */

	/* Samples that change nothing say nothing. */
	feed(r, "cpu.used_pct", 86, T0 + 20 * SEC, &c);
	feed(r, "cpu.used_pct", 90, T0 + 30 * SEC, &c);
	assert_int_equal(c.count, 1);

	feed(r, "cpu.used_pct", 97, T0 + 40 * SEC, &c);
	expect_change(&c, 2, ST_WARNING, ST_CRITICAL);
	assert_true(last(&c)->threshold == 95);
	/* Exactly at the level is not above it. */
	feed(r, "cpu.used_pct", 95, T0 + 50 * SEC, &c);
	expect_change(&c, 3, ST_CRITICAL, ST_WARNING);
	feed(r, "cpu.used_pct", 80, T0 + 60 * SEC, &c);
	expect_change(&c, 4, ST_WARNING, ST_OK);
	n = last(&c);
	assert_true(n->has_threshold && n->threshold == 80);
	assert_true(n->value == 80);

	/* CRITICAL straight to OK. */
	feed(r, "cpu.used_pct", 99, T0 + 70 * SEC, &c);
	expect_change(&c, 5, ST_OK, ST_CRITICAL);
	feed(r, "cpu.used_pct", 10, T0 + 80 * SEC, &c);
	expect_change(&c, 6, ST_CRITICAL, ST_OK);
	rules_free(r);
}

static void
test_first_reading_firing(void **state)
{
	struct rule_conf *rc = mk("load", "load.1", OP_GT);
	struct rules *r;
	struct cap c = { 0 };

	(void)state;
	set_crit(rc, 4);
	rc->notify = calloc(3, sizeof(char *));
	assert_non_null(rc->notify);
	rc->notify[0] = strdup("oncall");
	rc->notify[1] = strdup("pager");
	rc->nnotify = 2;
	r = engine1(rc);
	feed(r, "load.1", 9, T0, &c);
	expect_change(&c, 1, ST_OK, ST_CRITICAL);
	assert_int_equal(c.nnotify[0], 2);
	assert_string_equal(c.notify0[0], "oncall");
	for (int i = 1; i < 100; i++)
		feed(r, "load.1", 9 + i % 3, T0 + i * 10 * SEC, &c);
	assert_int_equal(c.count, 1);
	rules_free(r);
}

static void
test_flapping_clear(void **state)
{
	struct rule_conf *rc = mk("cpu", "cpu.used_pct", OP_GT);
	struct rules *r;
	struct cap c = { 0 };

	(void)state;
	set_warn(rc, 80);
	set_clear(rc, 70);
	r = engine1(rc);
	for (int i = 0; i < 1000; i++)
		feed(r, "cpu.used_pct", i % 2 == 0 ? 79 : 81,
		    T0 + i * 10 * SEC, &c);
	expect_change(&c, 1, ST_OK, ST_WARNING);
	/* In the band it stays WARNING; past clear it recovers. */
	feed(r, "cpu.used_pct", 70.5, T0 + 10000 * SEC, &c);
	assert_int_equal(c.count, 1);
	feed(r, "cpu.used_pct", 70, T0 + 10010 * SEC, &c);
	expect_change(&c, 2, ST_WARNING, ST_OK);
	assert_true(last(&c)->has_threshold);
	assert_true(last(&c)->threshold == 70);
	/* Once OK, the band is OK again: 79 does not fire. */
	feed(r, "cpu.used_pct", 79, T0 + 10020 * SEC, &c);
	assert_int_equal(c.count, 2);
	rules_free(r);
}

static void
test_flapping_no_clear(void **state)
{
	struct rule_conf *rc;
	struct rules *r;
	struct cap c = { 0 };

	(void)state;
	/* Without clear or for every crossing is a change... */
	rc = mk("cpu", "cpu.used_pct", OP_GT);
	set_warn(rc, 80);
	r = engine1(rc);
	for (int i = 0; i < 1000; i++)
		feed(r, "cpu.used_pct", i % 2 == 0 ? 79 : 81,
		    T0 + i * 10 * SEC, &c);
	assert_int_equal(c.count, 999);
	rules_free(r);

	/* ... and "for" suppresses the storm. */
	memset(&c, 0, sizeof(c));
	rc = mk("cpu", "cpu.used_pct", OP_GT);
	set_warn(rc, 80);
	rc->for_ms = 2 * MIN;
	r = engine1(rc);
	for (int i = 0; i < 1000; i++) {
		feed(r, "cpu.used_pct", i % 2 == 0 ? 79 : 81,
		    T0 + i * 10 * SEC, &c);
		rules_tick(r, T0 + i * 10 * SEC + 5 * SEC, on_emit, &c);
	}
	assert_int_equal(c.count, 0);
	rules_free(r);
}

static void
test_for(void **state)
{
	struct rule_conf *rc = mk("cpu", "cpu.used_pct", OP_GT);
	struct rules *r;
	struct cap c = { 0 };
	int64_t t;

	(void)state;
	set_warn(rc, 80);
	rc->for_ms = 2 * MIN;
	r = engine1(rc);
	/* Crossing from T0, a sample every 10 s: fires at T0 + 2m exactly. */
	for (t = T0; t < T0 + 2 * MIN; t += 10 * SEC) {
		feed(r, "cpu.used_pct", 90, t, &c);
		rules_tick(r, t + SEC, on_emit, &c);
	}
	assert_int_equal(c.count, 0);
	feed(r, "cpu.used_pct", 90, T0 + 2 * MIN, &c);
	expect_change(&c, 1, ST_OK, ST_WARNING);
	assert_int_equal(last(&c)->since_ms, T0 + 2 * MIN);
	/* Recovery is immediate. */
	feed(r, "cpu.used_pct", 50, T0 + 2 * MIN + 10 * SEC, &c);
	expect_change(&c, 2, ST_WARNING, ST_OK);

	/* A reading that falls back resets the pending timer. */
	t = T0 + HOUR;
	for (int i = 0; i < 6; i++)
		feed(r, "cpu.used_pct", 90, t + i * 10 * SEC, &c);
	feed(r, "cpu.used_pct", 60, t + 60 * SEC, &c);
	for (int i = 7; i < 19; i++)
		feed(r, "cpu.used_pct", 90, t + i * 10 * SEC, &c);
	assert_int_equal(c.count, 2); /* 70s..180s: not yet 2m */
	feed(r, "cpu.used_pct", 90, t + 190 * SEC, &c);
	expect_change(&c, 3, ST_OK, ST_WARNING);
	rules_free(r);
}

static void
test_for_escalation(void **state)
{
	struct rule_conf *rc = mk("cpu", "cpu.used_pct", OP_GT);
	struct rules *r;
	struct cap c = { 0 };

	(void)state;
	set_warn(rc, 80);
	set_crit(rc, 95);
	rc->for_ms = MIN;
	r = engine1(rc);
	/* CRITICAL for the whole minute: straight to CRITICAL. */
	for (int i = 0; i <= 6; i++)
		feed(r, "cpu.used_pct", 97, T0 + i * 10 * SEC, &c);
	expect_change(&c, 1, ST_OK, ST_CRITICAL);
	feed(r, "cpu.used_pct", 1, T0 + 70 * SEC, &c);
	expect_change(&c, 2, ST_CRITICAL, ST_OK);

	/*
	 * WARNING from 100s, CRITICAL from 130s: the CRITICAL readings count
	 * for the WARNING timer, so WARNING at 160s, CRITICAL at 190s.
	 */
	for (int i = 10; i <= 19; i++) {
		feed(r, "cpu.used_pct", i < 13 ? 85 : 97, T0 + i * 10 * SEC,
		    &c);
		if (i == 15)
			assert_int_equal(c.count, 2);
		if (i == 16)
			expect_change(&c, 3, ST_OK, ST_WARNING);
		if (i == 18)
			assert_int_equal(c.count, 3);
	}
	expect_change(&c, 4, ST_WARNING, ST_CRITICAL);
	/* De-escalation is immediate. */
	feed(r, "cpu.used_pct", 85, T0 + 200 * SEC, &c);
	expect_change(&c, 5, ST_CRITICAL, ST_WARNING);
	rules_free(r);
}

static void
test_tick_fires_pending(void **state)
{
	struct rule_conf *rc = mk("cw", "ec2.CPUUtilization*", OP_GE);
	struct rules *r;
	struct cap c = { 0 };

	(void)state;
	set_warn(rc, 80);
	rc->for_ms = MIN;
	rc->no_data_ms = 10 * MIN;
	r = engine1(rc);
	feed(r, "ec2.CPUUtilization{InstanceId=i-1}", 80, T0, &c);
	rules_tick(r, T0 + 30 * SEC, on_emit, &c);
	rules_tick(r, T0 + 59 * SEC, on_emit, &c);
	assert_int_equal(c.count, 0);
	rules_tick(r, T0 + 60 * SEC, on_emit, &c);
	expect_change(&c, 1, ST_OK, ST_WARNING);
	assert_true(last(&c)->has_value && last(&c)->value == 80);
	assert_string_equal(last(&c)->op, ">=");
	rules_tick(r, T0 + 61 * SEC, on_emit, &c);
	assert_int_equal(c.count, 1);
	rules_free(r);
}

static void
test_reminders(void **state)
{
	struct rule_conf *rc = mk("disk", "disk./.used_pct", OP_GT);
	struct rules *r;
	struct cap c = { 0 };
	const struct notification *n;
	int64_t t;

	(void)state;
	set_crit(rc, 90);
	rc->repeat_ms = HOUR;
	rc->no_data_ms = 24 * HOUR;
	r = engine1(rc);
	feed(r, "disk./.used_pct", 95, T0, &c);
	expect_change(&c, 1, ST_OK, ST_CRITICAL);
	for (t = T0 + SEC; t <= T0 + 3 * HOUR + 30 * MIN; t += SEC) {
		if ((t - T0) % MIN == 0)
			feed(r, "disk./.used_pct", 95, t, &c);
		rules_tick(r, t, on_emit, &c);
	}
	assert_int_equal(c.count, 4);
	for (size_t i = 1; i < 4; i++) {
		n = &c.n[i];
		assert_int_equal(n->kind, NK_REMINDER);
		assert_int_equal(n->state, ST_CRITICAL);
		assert_int_equal(n->prev_state, ST_CRITICAL);
		assert_int_equal(n->ts_ms, T0 + (int64_t)i * HOUR);
		assert_int_equal(n->since_ms, T0);
		assert_int_equal(n->repeat_ms, HOUR);
		assert_true(n->has_value && n->value == 95);
		assert_string_not_equal(n->id, c.n[i - 1].id);
	}
	/* Coarse ticks stay on the hourly grid and never burst. */
	rules_tick(r, T0 + 5 * HOUR + 17 * SEC, on_emit, &c);
	assert_int_equal(c.count, 5);
	rules_tick(r, T0 + 5 * HOUR + 18 * SEC, on_emit, &c);
	assert_int_equal(c.count, 5);
	rules_tick(r, T0 + 6 * HOUR - SEC, on_emit, &c);
	assert_int_equal(c.count, 5);
	rules_tick(r, T0 + 6 * HOUR, on_emit, &c);
	assert_int_equal(c.count, 6);

	/* After recovery: no more reminders. */
	feed(r, "disk./.used_pct", 50, T0 + 6 * HOUR + SEC, &c);
	expect_change(&c, 7, ST_CRITICAL, ST_OK);
	for (t = T0 + 6 * HOUR; t <= T0 + 10 * HOUR; t += MIN) {
		feed(r, "disk./.used_pct", 50, t + 2 * SEC, &c);
		rules_tick(r, t + 3 * SEC, on_emit, &c);
	}
	assert_int_equal(c.count, 7);
	rules_free(r);
}

static void
test_no_data(void **state)
{
	struct rule_conf *rc = mk("mem", "mem.used_pct", OP_GT);
	struct rules *r;
	struct cap c = { 0 };
	const struct notification *n;

	(void)state;
	set_warn(rc, 80);
	rc->no_data_ms = MIN;
	r = engine1(rc);
	feed(r, "mem.used_pct", 50, T0, &c);
	rules_tick(r, T0 + 59 * SEC, on_emit, &c);
	assert_int_equal(c.count, 0);
	rules_tick(r, T0 + 60 * SEC, on_emit, &c);
	expect_change(&c, 1, ST_OK, ST_UNKNOWN);
	n = last(&c);
	assert_false(n->has_value);
	assert_false(n->has_threshold);
	rules_tick(r, T0 + 61 * SEC, on_emit, &c);
	rules_tick(r, T0 + 10 * MIN, on_emit, &c);
	assert_int_equal(c.count, 1);
	/* A reading brings it back. */
	feed(r, "mem.used_pct", 50, T0 + 11 * MIN, &c);
	expect_change(&c, 2, ST_UNKNOWN, ST_OK);
	assert_true(last(&c)->has_value);
	/* Stale from WARNING, then back still high: WARNING again. */
	feed(r, "mem.used_pct", 90, T0 + 12 * MIN, &c);
	expect_change(&c, 3, ST_OK, ST_WARNING);
	rules_tick(r, T0 + 13 * MIN, on_emit, &c);
	expect_change(&c, 4, ST_WARNING, ST_UNKNOWN);
	feed(r, "mem.used_pct", 90, T0 + 14 * MIN, &c);
	expect_change(&c, 5, ST_UNKNOWN, ST_WARNING);
	/* A series silent for a week is forgotten, without a word. */
	rules_tick(r, T0 + 14 * MIN + 7 * 24 * HOUR, on_emit, &c);
	expect_change(&c, 6, ST_WARNING, ST_UNKNOWN);
	rules_tick(r, T0 + 14 * MIN + 7 * 24 * HOUR + SEC, on_emit, &c);
	assert_int_equal(c.count, 6);
	{
		struct walked w = { 0 };

		rules_walk(r, on_walk, &w);
		assert_int_equal(w.n, 1);
		assert_string_equal(w.metric[0], "");
	}
	rules_free(r);

	/* The engine default applies when the rule sets none. */
	memset(&c, 0, sizeof(c));
	rc = mk("mem", "mem.used_pct", OP_GT);
	set_warn(rc, 80);
	r = engine1(rc);
	rules_set_default_no_data(r, 30 * SEC);
	feed(r, "mem.used_pct", 50, T0, &c);
	rules_tick(r, T0 + 29 * SEC, on_emit, &c);
	assert_int_equal(c.count, 0);
	rules_tick(r, T0 + 30 * SEC, on_emit, &c);
	expect_change(&c, 1, ST_OK, ST_UNKNOWN);
	rules_free(r);

	/* Without rules_set_default_no_data: five minutes. */
	memset(&c, 0, sizeof(c));
	rc = mk("mem", "mem.used_pct", OP_GT);
	set_warn(rc, 80);
	r = engine1(rc);
	feed(r, "mem.used_pct", 50, T0, &c);
	rules_tick(r, T0 + 5 * MIN - 1, on_emit, &c);
	assert_int_equal(c.count, 0);
	rules_tick(r, T0 + 5 * MIN, on_emit, &c);
	assert_int_equal(c.count, 1);
	rules_free(r);
}

static void
test_no_data_states(void **state)
{
	struct rule_conf *rc;
	struct rules *r;
	struct cap c = { 0 };

	(void)state;
	/* "critical": a heartbeat that stops is an alert. */
	rc = mk("hb", "app.heartbeat", OP_LT);
	set_crit(rc, 1);
	rc->no_data_ms = MIN;
	rc->no_data_state = ST_CRITICAL;
	r = engine1(rc);
	feed(r, "app.heartbeat", 1, T0, &c);
	rules_tick(r, T0 + MIN, on_emit, &c);
	expect_change(&c, 1, ST_OK, ST_CRITICAL);
	assert_false(last(&c)->has_value);
	assert_false(last(&c)->has_threshold);
	feed(r, "app.heartbeat", 1, T0 + 2 * MIN, &c);
	expect_change(&c, 2, ST_CRITICAL, ST_OK);
	rules_free(r);

	/*
	 * With "for", a series that no_data made CRITICAL still drops to
	 * WARNING and to OK at once: only escalation waits.
	 */
	memset(&c, 0, sizeof(c));
	rc = mk("cpu", "cpu.used_pct", OP_GT);
	set_warn(rc, 80);
	set_crit(rc, 90);
	rc->for_ms = 5 * MIN;
	rc->no_data_ms = MIN;
	rc->no_data_state = ST_CRITICAL;
	r = engine1(rc);
	feed(r, "cpu.used_pct", 10, T0, &c);
	rules_tick(r, T0 + MIN, on_emit, &c);
	expect_change(&c, 1, ST_OK, ST_CRITICAL);
	feed(r, "cpu.used_pct", 95, T0 + 2 * MIN, &c);
	assert_int_equal(c.count, 1);
	feed(r, "cpu.used_pct", 85, T0 + 2 * MIN + 10 * SEC, &c);
	expect_change(&c, 2, ST_CRITICAL, ST_WARNING);
	feed(r, "cpu.used_pct", 50, T0 + 2 * MIN + 20 * SEC, &c);
	expect_change(&c, 3, ST_WARNING, ST_OK);
	rules_free(r);

	/* "ok": a silent OK series stays silent. */
	memset(&c, 0, sizeof(c));
	rc = mk("x", "x", OP_GT);
	set_warn(rc, 1);
	rc->no_data_ms = MIN;
	rc->no_data_state = ST_OK;
	r = engine1(rc);
	feed(r, "x", 0, T0, &c);
	rules_tick(r, T0 + 2 * MIN, on_emit, &c);
	assert_int_equal(c.count, 0);
	rules_free(r);

	/* "keep": a firing series keeps firing and reminding. */
	memset(&c, 0, sizeof(c));
	rc = mk("x", "x", OP_GT);
	set_warn(rc, 1);
	set_clear(rc, 0);
	rc->no_data_ms = MIN;
	rc->no_data_keep = true;
	rc->repeat_ms = 10 * MIN;
	r = engine1(rc);
	feed(r, "x", 5, T0, &c);
	expect_change(&c, 1, ST_OK, ST_WARNING);
	rules_tick(r, T0 + 2 * MIN, on_emit, &c);
	assert_int_equal(c.count, 1);
	rules_tick(r, T0 + 10 * MIN, on_emit, &c);
	assert_int_equal(c.count, 2);
	assert_int_equal(last(&c)->kind, NK_REMINDER);
	assert_false(last(&c)->has_value);
	/* Back in the hysteresis band: still WARNING. */
	feed(r, "x", 0.5, T0 + 11 * MIN, &c);
	assert_int_equal(c.count, 2);
	feed(r, "x", 0, T0 + 12 * MIN, &c);
	expect_change(&c, 3, ST_WARNING, ST_OK);
	rules_free(r);
}

static void
test_wildcard(void **state)
{
	struct rule_conf *rc = mk("disk", "disk.*.used_pct", OP_GT);
	struct rules *r;
	struct cap c = { 0 };
	struct walked w = { 0 };
	struct metric_batch b;

	(void)state;
	set_warn(rc, 80);
	set_crit(rc, 90);
	r = engine1(rc);
	metric_batch_init(&b, 16);
	b.now_ms = T0;
	assert_int_equal(metric_add(&b, 95, "disk./.used_pct"), 0);
	assert_int_equal(metric_add(&b, 50, "disk./var.used_pct"), 0);
	assert_int_equal(metric_add(&b, 99, "disk./var.free_bytes"), 0);
	assert_int_equal(metric_add(&b, 99, "cpu.used_pct"), 0);
	rules_feed(r, &b, on_emit, &c);
	expect_change(&c, 1, ST_OK, ST_CRITICAL);
	assert_string_equal(last(&c)->metric, "disk./.used_pct");

	metric_batch_reset(&b);
	b.now_ms = T0 + 10 * SEC;
	assert_int_equal(metric_add(&b, 95, "disk./.used_pct"), 0);
	assert_int_equal(metric_add(&b, 85, "disk./var.used_pct"), 0);
	rules_feed(r, &b, on_emit, &c);
	expect_change(&c, 2, ST_OK, ST_WARNING);
	assert_string_equal(last(&c)->metric, "disk./var.used_pct");
	/* Two series, two distinct ids. */
	assert_string_not_equal(c.n[0].id, c.n[1].id);

	metric_batch_reset(&b);
	b.now_ms = T0 + 20 * SEC;
	assert_int_equal(metric_add(&b, 10, "disk./.used_pct"), 0);
	assert_int_equal(metric_add(&b, 85, "disk./var.used_pct"), 0);
	rules_feed(r, &b, on_emit, &c);
	expect_change(&c, 3, ST_CRITICAL, ST_OK);
	assert_string_equal(last(&c)->metric, "disk./.used_pct");
	metric_batch_free(&b);

	rules_walk(r, on_walk, &w);
	assert_int_equal(w.n, 2);
	assert_string_equal(w.metric[0], "disk./.used_pct");
	assert_int_equal(w.state[0], ST_OK);
	assert_string_equal(w.metric[1], "disk./var.used_pct");
	assert_int_equal(w.state[1], ST_WARNING);
	assert_true(w.has_value[1] && w.value[1] == 85);
	rules_free(r);
}

/* Feed ${v} and return the series' state as rules_walk() sees it. */
static enum alert_state
state_after(struct rules *r, const char *name, double v, int64_t t)
{
	struct cap c = { 0 };
	struct walked w = { 0 };

	feed(r, name, v, t, &c);
	rules_walk(r, on_walk, &w);
	assert_int_equal(w.n, 1);
	return w.state[0];
}

static void
test_operators(void **state)
{
	struct rule_conf *rc;
	struct rules *r;
	int64_t t = T0;
	const char *m = "mem.available_bytes";

	(void)state;
	/* "<": low memory is bad; hysteresis upwards. */
	rc = mk("mem-low", m, OP_LT);
	set_warn(rc, 1e9);
	set_crit(rc, 1e8);
	set_clear(rc, 1.5e9);
	r = engine1(rc);
	assert_int_equal(state_after(r, m, 2e9, t += SEC), ST_OK);
	assert_int_equal(state_after(r, m, 1e9, t += SEC), ST_OK);
	assert_int_equal(state_after(r, m, 5e8, t += SEC), ST_WARNING);
	assert_int_equal(state_after(r, m, 5e7, t += SEC), ST_CRITICAL);
	assert_int_equal(state_after(r, m, 1.2e9, t += SEC), ST_WARNING);
	assert_int_equal(state_after(r, m, 1.49e9, t += SEC), ST_WARNING);
	assert_int_equal(state_after(r, m, 1.5e9, t += SEC), ST_OK);
	rules_free(r);

	rc = mk("le", m, OP_LE);
	set_warn(rc, 10);
	r = engine1(rc);
	assert_int_equal(state_after(r, m, 10.5, t += SEC), ST_OK);
	assert_int_equal(state_after(r, m, 10, t += SEC), ST_WARNING);
	rules_free(r);

	rc = mk("ge", m, OP_GE);
	set_warn(rc, 80);
	r = engine1(rc);
	assert_int_equal(state_after(r, m, 79.9, t += SEC), ST_OK);
	assert_int_equal(state_after(r, m, 80, t += SEC), ST_WARNING);
	rules_free(r);

	rc = mk("gt", m, OP_GT);
	set_warn(rc, 80);
	r = engine1(rc);
	assert_int_equal(state_after(r, m, 80, t += SEC), ST_OK);
	assert_int_equal(state_after(r, m, 80.1, t += SEC), ST_WARNING);
	rules_free(r);

	/* "==": a service that reports 0 is down. */
	rc = mk("down", "svc.up", OP_EQ);
	set_crit(rc, 0);
	r = engine1(rc);
	assert_int_equal(state_after(r, "svc.up", 1, t += SEC), ST_OK);
	assert_int_equal(state_after(r, "svc.up", 0, t += SEC), ST_CRITICAL);
	assert_int_equal(state_after(r, "svc.up", 1, t += SEC), ST_OK);
	rules_free(r);

	/* "!=": anything but 0 is degraded. */
	rc = mk("raid", "raid.md0.state", OP_NE);
	set_warn(rc, 0);
	r = engine1(rc);
	assert_int_equal(state_after(r, "raid.md0.state", 0, t += SEC), ST_OK);
	assert_int_equal(state_after(r, "raid.md0.state", 2, t += SEC),
	    ST_WARNING);
	assert_int_equal(state_after(r, "raid.md0.state", 0, t += SEC), ST_OK);
	rules_free(r);

	assert_string_equal(rule_op_name(OP_GT), ">");
	assert_string_equal(rule_op_name(OP_GE), ">=");
	assert_string_equal(rule_op_name(OP_LT), "<");
	assert_string_equal(rule_op_name(OP_LE), "<=");
	assert_string_equal(rule_op_name(OP_EQ), "==");
	assert_string_equal(rule_op_name(OP_NE), "!=");
}

/* A crit-only rule with clear holds CRITICAL in the band. */
static void
test_crit_only_clear(void **state)
{
	struct rule_conf *rc = mk("c", "c", OP_GT);
	struct rules *r;
	struct cap c = { 0 };

	(void)state;
	set_crit(rc, 90);
	set_clear(rc, 80);
	r = engine1(rc);
	feed(r, "c", 91, T0, &c);
	expect_change(&c, 1, ST_OK, ST_CRITICAL);
	feed(r, "c", 85, T0 + SEC, &c);
	assert_int_equal(c.count, 1);
	feed(r, "c", 80, T0 + 2 * SEC, &c);
	expect_change(&c, 2, ST_CRITICAL, ST_OK);
	assert_true(last(&c)->threshold == 80);
	rules_free(r);
}

static void
test_out_of_order_and_bad_values(void **state)
{
	struct rule_conf *rc = mk("x", "x", OP_GT);
	struct rules *r;
	struct cap c = { 0 };
	struct metric_batch b;

	(void)state;
	set_warn(rc, 10);
	r = engine1(rc);
	feed(r, "x", 20, T0 + MIN, &c);
	assert_int_equal(c.count, 1);
	/* A reading older than the last one is ignored. */
	metric_batch_init(&b, 4);
	b.now_ms = T0 + 2 * MIN;
	assert_int_equal(metric_add_ts(&b, T0, 0, "x"), 0);
	assert_int_equal(metric_add_ts(&b, T0 + MIN, INFINITY, "x"), 0);
	rules_feed(r, &b, on_emit, &c);
	assert_int_equal(c.count, 1);
	metric_batch_free(&b);
	rules_free(r);
}

static void
test_unmatched_rule(void **state)
{
	struct rule_conf *rc = mk("typo", "cpu.usd_pct", OP_GT);
	struct rules *r;
	struct cap c = { 0 };
	struct walked w = { 0 };

	(void)state;
	set_warn(rc, 1);
	r = engine1(rc);
	feed(r, "cpu.used_pct", 99, T0, &c);
	rules_tick(r, T0 + HOUR, on_emit, &c);
	assert_int_equal(c.count, 0);
	rules_walk(r, on_walk, &w);
	assert_int_equal(w.n, 1);
	assert_string_equal(w.rule[0], "typo");
	assert_string_equal(w.metric[0], "");
	assert_int_equal(w.state[0], ST_UNKNOWN);
	assert_false(w.has_value[0]);
	assert_int_equal(rules_count(r), 1);
	assert_string_equal(rules_rule(r, 0)->selector, "cpu.usd_pct");
	assert_null(rules_rule(r, 1));
	rules_free(r);
}

static void
test_add_duplicate(void **state)
{
	struct rules *r = rules_new("h");
	struct rule_conf *a = mk("a", "x", OP_GT), *b = mk("a", "y", OP_GT);

	(void)state;
	set_warn(a, 1);
	set_warn(b, 1);
	assert_int_equal(rules_add(r, a), 0);
	assert_int_equal(rules_add(r, b), -1);
	rule_conf_free(b);
	rules_free(r);
	rules_free(NULL);
	rule_conf_free(NULL);
}

static void
test_series_cap(void **state)
{
	struct rule_conf *rc = mk("net", "net.*", OP_GT);
	struct rules *r;
	struct cap c = { 0 };
	struct walked w = { 0 };
	struct metric_batch b;

	(void)state;
	set_warn(rc, 1e18);
	r = engine1(rc);
	metric_batch_init(&b, 10005);
	b.now_ms = T0;
	for (int i = 0; i < 10005; i++)
		assert_int_equal(metric_add(&b, i, "net.veth%05d", i), 0);
	rules_feed(r, &b, on_emit, &c);
	metric_batch_free(&b);
	rules_walk(r, on_walk, &w);
	assert_int_equal(w.n, 10000);
	rules_free(r);
}

/* Two engines with the given rules, the old one with firing series. */
static struct rule_conf *
cpu_rule(double warn)
{
	struct rule_conf *rc = mk("cpu", "cpu.used_pct", OP_GT);

	set_warn(rc, warn);
	rc->repeat_ms = HOUR;
	return rc;
}

static struct rule_conf *
disk_rule(double crit)
{
	struct rule_conf *rc = mk("disk", "disk.*.used_pct", OP_GT);

	set_crit(rc, crit);
	return rc;
}

static void
test_adopt(void **state)
{
	struct rules *old = rules_new("h"), *r = rules_new("h");
	struct cap c = { 0 };
	struct walked w = { 0 };

	(void)state;
	assert_int_equal(rules_add(old, cpu_rule(80)), 0);
	assert_int_equal(rules_add(old, disk_rule(90)), 0);
	feed(old, "cpu.used_pct", 85, T0, &c);
	feed(old, "disk./.used_pct", 95, T0, &c);
	assert_int_equal(c.count, 2);

	/* cpu unchanged, disk changed. */
	assert_int_equal(rules_add(r, cpu_rule(80)), 0);
	assert_int_equal(rules_add(r, disk_rule(92)), 0);
	assert_true(rule_conf_same(rules_rule(r, 0), rules_rule(old, 0)));
	assert_false(rule_conf_same(rules_rule(r, 1), rules_rule(old, 1)));
	rules_adopt(r, old);
	rules_free(old);
	rules_set_default_no_data(r, 2 * HOUR);

	rules_walk(r, on_walk, &w);
	assert_int_equal(w.n, 2);
	assert_string_equal(w.metric[0], "cpu.used_pct");
	assert_int_equal(w.state[0], ST_WARNING);
	assert_string_equal(w.metric[1], ""); /* disk: fresh */

	memset(&c, 0, sizeof(c));
	feed(r, "cpu.used_pct", 85, T0 + 10 * SEC, &c);
	assert_int_equal(c.count, 0); /* no re-fire */
	feed(r, "disk./.used_pct", 95, T0 + 10 * SEC, &c);
	expect_change(&c, 1, ST_OK, ST_CRITICAL);
	/* The kept series keeps its reminder schedule. */
	rules_tick(r, T0 + HOUR, on_emit, &c);
	assert_int_equal(c.count, 2);
	assert_int_equal(last(&c)->kind, NK_REMINDER);
	assert_string_equal(last(&c)->rule, "cpu");
	assert_int_equal(last(&c)->since_ms, T0);
	rules_free(r);
}

static void
write_file(const char *path, const char *text)
{
	tu_write_file(path, text, strlen(text), 0644);
}

static void
test_save_load(void **state)
{
	struct rules *r = rules_new("h"), *r2;
	struct cap c = { 0 };
	struct walked w = { 0 };
	struct stat st;
	char path[128], tmp[160];

	(void)state;
	snprintf(path, sizeof(path), "%s/rules.state", tu_tmpdir());
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	assert_int_equal(rules_add(r, cpu_rule(80)), 0);
	assert_int_equal(rules_add(r, disk_rule(90)), 0);
	feed(r, "cpu.used_pct", 85.5, T0, &c);
	feed(r, "disk./.used_pct", 95, T0, &c);
	feed(r, "disk./var.used_pct", 10, T0 + MIN, &c);
	feed(r, "cpu.used_pct", 85.5, T0 + MIN, &c);
	rules_set_default_no_data(r, 5 * MIN);
	rules_tick(r, T0 + 5 * MIN + SEC, on_emit, &c); /* "/" stale */
	assert_int_equal(c.count, 3);
	assert_int_equal(last(&c)->state, ST_UNKNOWN);
	assert_int_equal(rules_save(r, path), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_not_equal(stat(tmp, &st), 0);
	rules_free(r);

	/* Same rules plus a new one: states come back. */
	r2 = rules_new("h");
	assert_int_equal(rules_add(r2, cpu_rule(80)), 0);
	assert_int_equal(rules_add(r2, disk_rule(90)), 0);
	assert_int_equal(rules_load(r2, path), 0);
	rules_walk(r2, on_walk, &w);
	assert_int_equal(w.n, 3);
	assert_string_equal(w.metric[0], "cpu.used_pct");
	assert_int_equal(w.state[0], ST_WARNING);
	assert_true(w.has_value[0] && w.value[0] == 85.5);
	assert_string_equal(w.metric[1], "disk./.used_pct");
	assert_int_equal(w.state[1], ST_UNKNOWN);
	assert_string_equal(w.metric[2], "disk./var.used_pct");
	assert_int_equal(w.state[2], ST_OK);

	/* A restart is not missing data: the first tick does nothing. */
	memset(&c, 0, sizeof(c));
	rules_tick(r2, T0 + 3 * HOUR, on_emit, &c);
	assert_int_equal(c.count, 1); /* only cpu's reminder */
	assert_int_equal(last(&c)->kind, NK_REMINDER);
	feed(r2, "cpu.used_pct", 85, T0 + 3 * HOUR + SEC, &c);
	assert_int_equal(c.count, 1); /* no re-fire */
	feed(r2, "disk./.used_pct", 95, T0 + 3 * HOUR + SEC, &c);
	expect_change(&c, 2, ST_UNKNOWN, ST_CRITICAL);
	/* var's staleness clock started at the first tick after load. */
	rules_tick(r2, T0 + 3 * HOUR + 5 * MIN - 1, on_emit, &c);
	assert_int_equal(c.count, 2);
	rules_tick(r2, T0 + 3 * HOUR + 5 * MIN, on_emit, &c);
	expect_change(&c, 3, ST_OK, ST_UNKNOWN);
	assert_string_equal(last(&c)->metric, "disk./var.used_pct");
	rules_free(r2);

	/* A changed rule and a renamed one start afresh. */
	memset(&w, 0, sizeof(w));
	r2 = rules_new("h");
	assert_int_equal(rules_add(r2, cpu_rule(81)), 0);
	assert_int_equal(rules_add(r2, mk("other", "x", OP_GT)), 0);
	assert_int_equal(rules_load(r2, path), 0);
	rules_walk(r2, on_walk, &w);
	assert_int_equal(w.n, 2);
	assert_string_equal(w.metric[0], "");
	assert_string_equal(w.metric[1], "");
	rules_free(r2);
}

static void
test_load_bad_files(void **state)
{
	struct rules *r = rules_new("h");
	struct walked w = { 0 };
	char path[128];

	(void)state;
	snprintf(path, sizeof(path), "%s/bad.state", tu_tmpdir());
	assert_int_equal(rules_add(r, cpu_rule(80)), 0);

	assert_int_equal(rules_load(r, "/nonexistent/vigil/rules.state"), 0);
	write_file(path, "\x01\x02garbage{{{");
	assert_int_equal(rules_load(r, path), -1);
	write_file(path, "{\"version\": 1, \"rules\": {\"cpu\": ");
	assert_int_equal(rules_load(r, path), -1);
	write_file(path, "");
	assert_int_equal(rules_load(r, path), -1);
	write_file(path, "[1, 2, 3]");
	assert_int_equal(rules_load(r, path), -1);
	write_file(path, "{\"version\": 2, \"rules\": {}}");
	assert_int_equal(rules_load(r, path), -1);
	write_file(path, "{\"version\": 1, \"rules\": []}");
	assert_int_equal(rules_load(r, path), -1);
	/* Well-formed but odd entries are skipped one by one. */
	write_file(path,
	    "{\"version\": 1, \"rules\": {"
	    "\"gone\": {\"conf\": \"0\", \"series\": []},"
	    "\"cpu\": 7 }}");
	assert_int_equal(rules_load(r, path), 0);
	rules_walk(r, on_walk, &w);
	assert_int_equal(w.n, 1);
	assert_string_equal(w.metric[0], "");
	rules_free(r);
}

/* Bad saved series under a matching settings stamp: skipped, no crash. */
static void
test_load_bad_series(void **state)
{
	struct rules *r = rules_new("h"), *r2;
	struct cap c = { 0 };
	struct walked w = { 0 };
	const char *junk1 =
	    "7, \"x\", {\"metric\": \"cpu.used_pct\"}, "
	    "{\"metric\": \"mem.used_pct\", \"state\": \"OK\", "
	    "\"since_ms\": 1, \"notified_ms\": 1, \"last_ts_ms\": 1},";
	const char *junk2 =
	    ",{\"metric\": \"cpu.used_pct\", "
	    "\"state\": \"OK\", \"since_ms\": -9223372036854775807, "
	    "\"notified_ms\": 1, \"last_ts_ms\": 1}";
	char path[128], *text, *p;
	FILE *f;
	long len;

	(void)state;
	snprintf(path, sizeof(path), "%s/series.state", tu_tmpdir());
	assert_int_equal(rules_add(r, cpu_rule(80)), 0);
	feed(r, "cpu.used_pct", 90, T0, &c);
	assert_int_equal(rules_save(r, path), 0);
	rules_free(r);

	/* Splice junk entries in front of the good one. */
	f = fopen(path, "r");
	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	len = ftell(f);
	rewind(f);
	text = calloc(1, (size_t)len + 1024);
	assert_non_null(text);
	assert_int_equal(fread(text, 1, (size_t)len, f), (size_t)len);
	fclose(f);
	p = strstr(text, "\"series\":[");
	assert_non_null(p);
	p += strlen("\"series\":[");
	memmove(p + 200, p, strlen(p) + 1);
	memset(p, ' ', 200);
	memcpy(p, junk1, strlen(junk1));
	/* And one with an absurd time at the end, where it would win. */
	p = strstr(text, "]}}}");
	assert_non_null(p);
	memmove(p + 200, p, strlen(p) + 1);
	memset(p, ' ', 200);
	memcpy(p, junk2, strlen(junk2));
	write_file(path, text);
	free(text);

	r2 = rules_new("h");
	assert_int_equal(rules_add(r2, cpu_rule(80)), 0);
	assert_int_equal(rules_load(r2, path), 0);
	rules_walk(r2, on_walk, &w);
	assert_int_equal(w.n, 1);
	assert_string_equal(w.metric[0], "cpu.used_pct");
	assert_int_equal(w.state[0], ST_WARNING);
	rules_tick(r2, T0 + HOUR, on_emit, &c);
	rules_free(r2);
}

static void
test_save_unwritable(void **state)
{
	struct rules *r = rules_new("h");

	(void)state;
	assert_int_equal(rules_save(r, "/nonexistent/dir/rules.state"), -1);
	rules_free(r);
}

/* Parsing.  Each case is the text of the rules list. */

struct parsed {
	struct conf *conf;
	struct conf_errs errs;
	struct rule_conf *rc[8];
	int ret[8];
	size_t n;
};

static void
parse_text(struct parsed *p, const char *rules_text)
{
	char text[8192];
	int n;

	memset(p, 0, sizeof(*p));
	n = snprintf(text, sizeof(text), "rules = (\n%s\n);\n", rules_text);
	assert_true(n > 0 && (size_t)n < sizeof(text));
	p->conf = tu_conf_load(text, &p->errs);
	assert_int_equal(p->errs.n, 0);
	p->n = conf_len(p->conf->rules);
	assert_true(p->n <= 8);
	for (size_t i = 0; i < p->n; i++)
		p->ret[i] = rule_conf_parse(conf_elem(p->conf->rules, i),
		    &p->rc[i], &p->errs);
}

static void
parsed_free(struct parsed *p)
{
	for (size_t i = 0; i < p->n; i++)
		if (p->ret[i] == 0)
			rule_conf_free(p->rc[i]);
	conf_free(p->conf);
	conf_errs_free(&p->errs);
}

/* Is there an error message that contains both ${a} and ${b}? */
static bool
has_err(const struct parsed *p, const char *a, const char *b)
{
	for (size_t i = 0; i < p->errs.n; i++)
		if (strstr(p->errs.msgs[i], a) != NULL &&
		    (b == NULL || strstr(p->errs.msgs[i], b) != NULL))
			return true;
	return false;
}

static void
print_errs(const struct parsed *p)
{
	for (size_t i = 0; i < p->errs.n; i++)
		fprintf(stderr, "  %s\n", p->errs.msgs[i]);
}

static void
test_parse_ok(void **state)
{
	struct parsed p;
	const struct rule_conf *rc;

	(void)state;
	parse_text(&p,
	    "{ name = \"cpu-high\"; metric = \"cpu.used_pct\"; op = \">\";\n"
	    "  warn = 80.0; crit = 95; for = \"2m\"; clear = 70.0;\n"
	    "  repeat = \"1h\"; no_data = \"10m\"; no_data_state = \"keep\";\n"
	    "  notify = [ \"oncall\", \"pager\" ]; },\n"
	    "{ name = \"mem-low\"; metric = \"mem.available_bytes\";\n"
	    "  op = \"<\"; crit = 100000000; notify = \"oncall\"; },\n"
	    "{ name = \"x\"; metric = \"disk.*.used_pct\"; warn = -5;\n"
	    "  repeat = \"0\"; no_data_state = \"critical\"; }");
	print_errs(&p);
	assert_int_equal(p.errs.n, 0);
	assert_int_equal(p.ret[0], 0);
	assert_int_equal(p.ret[1], 0);
	assert_int_equal(p.ret[2], 0);

	rc = p.rc[0];
	assert_string_equal(rc->name, "cpu-high");
	assert_string_equal(rc->selector, "cpu.used_pct");
	assert_int_equal(rc->op, OP_GT);
	assert_true(rc->has_warn && rc->warn == 80);
	assert_true(rc->has_crit && rc->crit == 95);
	assert_true(rc->has_clear && rc->clear == 70);
	assert_int_equal(rc->for_ms, 2 * MIN);
	assert_int_equal(rc->repeat_ms, HOUR);
	assert_int_equal(rc->no_data_ms, 10 * MIN);
	assert_true(rc->no_data_keep);
	assert_int_equal(rc->nnotify, 2);
	assert_string_equal(rc->notify[0], "oncall");
	assert_string_equal(rc->notify[1], "pager");
	assert_null(rc->notify[2]);

	rc = p.rc[1];
	assert_int_equal(rc->op, OP_LT);
	assert_false(rc->has_warn);
	assert_true(rc->has_crit && rc->crit == 1e8);
	assert_false(rc->has_clear);
	assert_int_equal(rc->nnotify, 1);
	assert_string_equal(rc->notify[0], "oncall");

	/* Defaults. */
	rc = p.rc[2];
	assert_int_equal(rc->op, OP_GT);
	assert_true(rc->warn == -5);
	assert_int_equal(rc->for_ms, 0);
	assert_int_equal(rc->repeat_ms, 0);
	assert_int_equal(rc->no_data_ms, 0);
	assert_int_equal(rc->no_data_state, ST_CRITICAL);
	assert_false(rc->no_data_keep);
	assert_int_equal(rc->nnotify, 0);

	assert_true(rule_conf_same(p.rc[0], p.rc[0]));
	assert_false(rule_conf_same(p.rc[0], p.rc[1]));
	parsed_free(&p);
}

static void
test_parse_same(void **state)
{
	const char *a = "{ name = \"a\"; metric = \"m\"; warn = 1; "
			"notify = [\"x\"]; }";
	const char *variants[] = {
		"{ name = \"a\"; metric = \"m\"; warn = 2; notify = [\"x\"]; }",
		"{ name = \"a\"; metric = \"n\"; warn = 1; notify = [\"x\"]; }",
		"{ name = \"a\"; metric = \"m\"; warn = 1; notify = [\"y\"]; }",
		"{ name = \"a\"; metric = \"m\"; warn = 1; }",
		"{ name = \"a\"; metric = \"m\"; warn = 1; for = \"1m\"; "
		"notify = [\"x\"]; }",
		"{ name = \"a\"; metric = \"m\"; crit = 1; notify = [\"x\"]; }",
		"{ name = \"a\"; metric = \"m\"; warn = 1; op = \">=\"; "
		"notify = [\"x\"]; }",
	};
	char text[512];
	struct parsed p;

	(void)state;
	snprintf(text, sizeof(text), "%s,\n%s", a, a);
	parse_text(&p, text);
	assert_int_equal(p.ret[0], 0);
	assert_int_equal(p.ret[1], 0);
	assert_true(rule_conf_same(p.rc[0], p.rc[1]));
	parsed_free(&p);
	for (size_t i = 0; i < ARRAY_SIZE(variants); i++) {
		snprintf(text, sizeof(text), "%s,\n%s", a, variants[i]);
		parse_text(&p, text);
		assert_int_equal(p.ret[0], 0);
		assert_int_equal(p.ret[1], 0);
		assert_false(rule_conf_same(p.rc[0], p.rc[1]));
		parsed_free(&p);
	}
}

static void
test_parse_errors(void **state)
{
	struct parsed p;

	(void)state;
	/* Everything wrong at once: every problem is reported. */
	parse_text(&p,
	    "{ op = \"=>\"; for = 5; repeat = \"30s\"; bogus = 1;\n"
	    "  no_data_state = \"maybe\"; notify = [ \"a\", \"a\" ]; }");
	assert_int_equal(p.ret[0], -1);
	assert_true(has_err(&p, "rules[0].name", "missing"));
	assert_true(has_err(&p, "rules[0].metric", "missing"));
	assert_true(has_err(&p, "warn, crit or both", NULL));
	assert_true(has_err(&p, ".op", "=>"));
	assert_true(has_err(&p, ".for", "duration"));
	assert_true(has_err(&p, ".repeat", "1m"));
	assert_true(has_err(&p, ".bogus", "unknown"));
	assert_true(has_err(&p, ".no_data_state", "maybe"));
	assert_true(has_err(&p, ".notify", "twice"));
	assert_true(has_err(&p, "vigil.conf:2:", NULL));
	parsed_free(&p);

	/* Level order for each direction, clear on the wrong side. */
	parse_text(&p,
	    "{ name = \"a\"; metric = \"m\"; warn = 90; crit = 80; },\n"
	    "{ name = \"b\"; metric = \"m\"; op = \"<\"; warn = 10; "
	    "crit = 20; },\n"
	    "{ name = \"c\"; metric = \"m\"; warn = 80; clear = 85; },\n"
	    "{ name = \"d\"; metric = \"m\"; op = \"<=\"; warn = 10; "
	    "clear = 5; },\n"
	    "{ name = \"e\"; metric = \"m\"; op = \"==\"; crit = 0; "
	    "clear = 1; },\n"
	    "{ name = \"f\"; metric = \"m\"; crit = 90; clear = 95; },\n"
	    "{ name = \"g\"; metric = \"m\"; warn = \"high\"; "
	    "no_data = \"10ms\"; },\n"
	    "{ name = \"\"; metric = \"m\"; warn = 1; }");
	for (size_t i = 0; i < p.n; i++)
		assert_int_equal(p.ret[i], -1);
	assert_true(has_err(&p, "rules[0].crit", "must be >= warn"));
	assert_true(has_err(&p, "rules[1].crit", "must be <= warn"));
	assert_true(has_err(&p, "rules[2].clear", "must be <= warn"));
	assert_true(has_err(&p, "rules[3].clear", "must be >= warn"));
	assert_true(has_err(&p, "rules[4].clear", "not allowed"));
	assert_true(has_err(&p, "rules[5].clear", "must be <= crit"));
	assert_true(has_err(&p, "rules[6].warn", "number"));
	assert_true(has_err(&p, "rules[6].no_data", "1s"));
	assert_true(has_err(&p, "rules[7].name", "printable"));
	parsed_free(&p);

	/* Edge values that are fine. */
	parse_text(&p,
	    "{ name = \"a\"; metric = \"m\"; warn = 80; crit = 80; "
	    "clear = 80; },\n"
	    "{ name = \"b\"; metric = \"m\"; op = \"!=\"; warn = 0; "
	    "crit = 0; },\n"
	    "{ name = \"c\"; metric = \"m\"; op = \">=\"; crit = 1; "
	    "repeat = \"1m\"; no_data = \"1s\"; }");
	print_errs(&p);
	assert_int_equal(p.errs.n, 0);
	parsed_free(&p);

	/* A rule that is not a group. */
	parse_text(&p, "\"cpu > 80\"");
	assert_int_equal(p.ret[0], -1);
	assert_true(has_err(&p, "must be a group", NULL));
	parsed_free(&p);
}

/*
 * rules_next_due(): an engine ticked only when it says reaches the same
 * notifications at the same times as one ticked every second, through
 * "for" timers that run out between readings, escalation, no_data,
 * reminders and a series coming back; and right after a tick nothing is
 * due (the daemon would spin otherwise).
 */
static void
test_next_due(void **state)
{
	static const struct {
		int64_t at;
		double v;
	} feeds[] = {
		{ 0, 85 },
		{ 20 * SEC, 95 },
		{ 50 * SEC, 85 },
		{ 5 * MIN, 95 },
		{ 30 * MIN, 50 },
		{ 40 * MIN, 95 },
		{ 3 * HOUR, 85 },
	};
	struct rules *ra = NULL, *rb = NULL;
	struct cap ca = { 0 }, cb = { 0 };
	int64_t end = T0 + 6 * HOUR, t, due;
	size_t fa = 0, fb = 0, ticks = 0;

	(void)state;
	for (int k = 0; k < 2; k++) {
		struct rule_conf *rc = mk("cpu", "cpu.used_pct", OP_GT);

		set_warn(rc, 80);
		set_crit(rc, 90);
		rc->for_ms = MIN;
		rc->repeat_ms = HOUR;
		rc->no_data_ms = 10 * MIN;
		if (k == 0)
			ra = engine1(rc);
		else
			rb = engine1(rc);
	}
	/* A: every second. */
	for (t = T0; t <= end; t += SEC) {
		if (fa < ARRAY_SIZE(feeds) && T0 + feeds[fa].at == t)
			feed(ra, "cpu.used_pct", feeds[fa++].v, t, &ca);
		rules_tick(ra, t, on_emit, &ca);
	}
	/* B: at the next reading or when the engine says, no sooner. */
	for (t = T0; t <= end; ticks++) {
		if (fb < ARRAY_SIZE(feeds) && T0 + feeds[fb].at == t)
			feed(rb, "cpu.used_pct", feeds[fb++].v, t, &cb);
		rules_tick(rb, t, on_emit, &cb);
		due = rules_next_due(rb, t);
		assert_true(due > t);
		if (fb < ARRAY_SIZE(feeds) && T0 + feeds[fb].at < due)
			due = T0 + feeds[fb].at;
		t = due;
	}
	assert_true(ca.count >= 8);
	assert_int_equal(cb.count, ca.count);
	for (size_t i = 0; i < ca.count && i < CAP_MAX; i++) {
		assert_int_equal(cb.n[i].kind, ca.n[i].kind);
		assert_int_equal(cb.n[i].state, ca.n[i].state);
		assert_int_equal(cb.n[i].prev_state, ca.n[i].prev_state);
		assert_int_equal(cb.n[i].ts_ms, ca.n[i].ts_ms);
	}
	/* 6 hours in a few dozen wake-ups instead of 21,600. */
	assert_true(ticks < 40);
	rules_free(ra);
	rules_free(rb);
}

/* "where": label conditions, the selector on the base name, retirement. */
static void
test_where(void **state)
{
	struct parsed p;
	struct rules *r;
	struct cap c = { 0 };
	struct walked w = { 0 };
	struct metric_batch b;

	(void)state;
	parse_text(&p,
	    "{ name = \"web-cpu\"; metric = \"ec2.CPUUtilization\";\n"
	    "  where = { Role = \"web*\"; InstanceId = \"i-*\"; };\n"
	    "  warn = 80; },\n"
	    "{ name = \"local\"; metric = \"cpu.used_pct\"; warn = 80; },\n"
	    "{ name = \"all\"; metric = \"ec2.*\"; warn = 80; }");
	print_errs(&p);
	assert_int_equal(p.errs.n, 0);
	assert_int_equal(p.rc[0]->nwhere, 2);
	/* Sorted by key. */
	assert_string_equal(p.rc[0]->where[0].key, "InstanceId");
	assert_string_equal(p.rc[0]->where[1].glob, "web*");

	assert_true(rule_conf_matches(p.rc[0],
	    "ec2.CPUUtilization{InstanceId=i-1,Role=web-a}"));
	assert_false(rule_conf_matches(p.rc[0],
	    "ec2.CPUUtilization{InstanceId=i-1,Role=db}"));
	assert_false(rule_conf_matches(p.rc[0],
	    "ec2.CPUUtilization{InstanceId=i-1}"));
	assert_false(rule_conf_matches(p.rc[0],
	    "ec2.NetworkIn{InstanceId=i-1,Role=web}"));
	assert_false(rule_conf_matches(p.rc[0],
	    "ec2.CPUUtilization{InstanceId=i-1,Role=web\\}"));
	assert_true(rule_conf_matches(p.rc[0],
	    "ec2.CPUUtilization{InstanceId=i-1,Role=web\\,x}"));
	/* Without where, the whole name as before. */
	assert_true(rule_conf_matches(p.rc[1], "cpu.used_pct"));
	assert_false(rule_conf_matches(p.rc[1], "cpu.used_pct{A=b}"));
	assert_true(rule_conf_matches(p.rc[2],
	    "ec2.CPUUtilization{InstanceId=i-1}"));
	assert_false(rule_conf_same(p.rc[0], p.rc[2]));

	/* Two instances fire; one is retired: no notification, no series. */
	r = rules_new("h");
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(rules_add(r, p.rc[i]), 0);
		p.ret[i] = -1; /* owned by the engine now */
	}
	feed(r, "ec2.CPUUtilization{InstanceId=i-1,Role=web}", 90, T0, &c);
	feed(r, "ec2.CPUUtilization{InstanceId=i-2,Role=web}", 90, T0, &c);
	assert_int_equal(c.count, 4); /* web-cpu and all, twice */
	assert_string_equal(c.n[0].metric,
	    "ec2.CPUUtilization{InstanceId=i-1,Role=web}");
	metric_batch_init(&b, 4);
	b.now_ms = T0 + MIN;
	assert_int_equal(metric_retire(&b,
			     "ec2.CPUUtilization{InstanceId=i-1,Role=web}"),
	    0);
	rules_feed(r, &b, on_emit, &c);
	metric_batch_free(&b);
	rules_tick(r, T0 + HOUR, on_emit, &c);
	/* Only i-2 goes stale (2 rules); i-1 is gone without a word. */
	assert_int_equal(c.count, 6);
	assert_string_equal(c.n[5].metric,
	    "ec2.CPUUtilization{InstanceId=i-2,Role=web}");
	rules_walk(r, on_walk, &w);
	assert_int_equal(w.n, 3);

	/*
	 * A point stamped by its source is taken once: handed in again
	 * (a reloaded source re-reading its window) it changes nothing.
	 */
	metric_batch_init(&b, 4);
	b.now_ms = T0 + HOUR + MIN;
	assert_int_equal(metric_add_ts(&b, T0 + HOUR, 20,
			     "ec2.CPUUtilization{InstanceId=i-3,Role=web}"),
	    0);
	b.v[0].flags = METRIC_POINT;
	rules_feed(r, &b, on_emit, &c);
	assert_int_equal(c.count, 6);
	b.v[0].value = 99;
	rules_feed(r, &b, on_emit, &c);
	assert_int_equal(c.count, 6); /* the same point: ignored */
	b.v[0].ts_ms++;
	rules_feed(r, &b, on_emit, &c);
	assert_int_equal(c.count, 8); /* a new point over the level */
	metric_batch_free(&b);
	rules_free(r);
	parsed_free(&p);

	/* Errors. */
	parse_text(&p,
	    "{ name = \"a\"; metric = \"m{x=1}\"; where = { K = \"v\"; }; "
	    "warn = 1; },\n"
	    "{ name = \"b\"; metric = \"m\"; where = { }; warn = 1; },\n"
	    "{ name = \"c\"; metric = \"m\"; where = { K = 3; }; warn = 1; },\n"
	    "{ name = \"d\"; metric = \"m\"; where = \"K=v\"; warn = 1; }");
	assert_int_equal(p.ret[0], -1);
	assert_int_equal(p.ret[1], -1);
	assert_int_equal(p.ret[2], -1);
	assert_int_equal(p.ret[3], -1);
	assert_true(has_err(&p, "rules[0].metric", "'{'"));
	assert_true(has_err(&p, "rules[1].where", "label conditions"));
	assert_true(has_err(&p, "rules[2].where.K", NULL));
	assert_true(has_err(&p, "rules[3].where", "label conditions"));
	parsed_free(&p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_transitions_gt),
		cmocka_unit_test(test_first_reading_firing),
		cmocka_unit_test(test_flapping_clear),
		cmocka_unit_test(test_flapping_no_clear),
		cmocka_unit_test(test_for),
		cmocka_unit_test(test_for_escalation),
		cmocka_unit_test(test_tick_fires_pending),
		cmocka_unit_test(test_reminders),
		cmocka_unit_test(test_next_due),
		cmocka_unit_test(test_no_data),
		cmocka_unit_test(test_no_data_states),
		cmocka_unit_test(test_wildcard),
		cmocka_unit_test(test_operators),
		cmocka_unit_test(test_crit_only_clear),
		cmocka_unit_test(test_out_of_order_and_bad_values),
		cmocka_unit_test(test_unmatched_rule),
		cmocka_unit_test(test_add_duplicate),
		cmocka_unit_test(test_series_cap),
		cmocka_unit_test(test_adopt),
		cmocka_unit_test(test_save_load),
		cmocka_unit_test(test_load_bad_files),
		cmocka_unit_test(test_load_bad_series),
		cmocka_unit_test(test_save_unwritable),
		cmocka_unit_test(test_parse_ok),
		cmocka_unit_test(test_where),
		cmocka_unit_test(test_parse_same),
		cmocka_unit_test(test_parse_errors),
	};

	return cmocka_run_group_tests(tests, tu_tmpdir_setup,
	    tu_tmpdir_teardown);
}
