/*
 * test_history.c: the metric history (agent/history.c, history_file.c):
 * slot means, late points, ring wraparound and gaps, the tier a query
 * takes, merging to a step, the 2,000-point cap, the memory cap refusing
 * and counting series, names by glob (names JSON cannot carry are not
 * kept), the http.history settings, and
 * history.bin: the round trip, changed tiers, and truncated, corrupted
 * and hostile files set aside.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "agent/history.h"
#include "agent/metric.h"
#include "conf/conf.h"
#include "lib/fnv.h"
#include "tests/unit/fakes/testutil.h"

/* 2026-11-22T03:00:00Z: a multiple of 10 minutes. */
#define T0 1795316400000LL
#define S 1000LL
#define M (60 * S)

/* Two small tiers: 10 s for a minute (6 slots), 1 min for 10 (10 slots). */
static const struct history_conf small = {
	.tiers = { { 10 * S, 60 * S }, { 60 * S, 600 * S } },
	.ntiers = 2,
	.memory_max = 1 << 20,
};

static struct metric_batch batch;

static int
setup(void **state)
{
	metric_batch_init(&batch, 100000);
	return tu_tmpdir_setup(state);
}

static int
teardown(void **state)
{
	metric_batch_free(&batch);
	return tu_tmpdir_teardown(state);
}

/* Add the reading ${name} = ${v} stamped ${t}, taken at wall time ${wall}. */
static void
add_at(struct history *h, const char *name, int64_t t, double v, int64_t wall)
{
	metric_batch_reset(&batch);
	assert_int_equal(metric_add_ts(&batch, t, v, name), 0);
	history_add(h, &batch, wall);
}

static void
add(struct history *h, const char *name, int64_t t, double v)
{
	add_at(h, name, t, v, t);
}

static struct history *
hist_new(const struct history_conf *c, const char *path)
{
	struct ag_err err = { "" };
	struct history *h = history_new(c, path, &err);

	if (h == NULL)
		fail_msg("history_new: %s", err.msg);
	return h;
}

/*
 * The points of a query as "t:v t:v ..." (t in seconds after T0) and the
 * step in ${ret_step}.
 */
static char *
pts(struct history *h, const char *name, int64_t from, int64_t to,
    int64_t step, int64_t *ret_step)
{
	static char out[65536];
	json_t *q = history_query(h, name, from, to, step), *p;
	size_t len = 0, i;

	assert_non_null(q);
	assert_string_equal(json_string_value(json_object_get(q, "series")),
	    name);
	if (ret_step != NULL)
		*ret_step = json_integer_value(json_object_get(q, "step_ms"));
	out[0] = '\0';
	json_array_foreach(json_object_get(q, "points"), i, p)
	{
		int64_t t = json_integer_value(json_array_get(p, 0));

		len += (size_t)snprintf(out + len, sizeof(out) - len,
		    "%s%lld:%g", len > 0 ? " " : "", (long long)((t - T0) / S),
		    json_real_value(json_array_get(p, 1)));
		assert_true(len < sizeof(out));
	}
	json_decref(q);
	return out;
}

static size_t
npoints(struct history *h, const char *name, int64_t from, int64_t to,
    int64_t step, int64_t *ret_step)
{
	json_t *q = history_query(h, name, from, to, step);
	size_t n;

	assert_non_null(q);
	n = json_array_size(json_object_get(q, "points"));
	if (ret_step != NULL)
		*ret_step = json_integer_value(json_object_get(q, "step_ms"));
	json_decref(q);
	return n;
}

/*
 * A slot is the mean of its readings, in every tier; a late point fills
 * an empty older slot but leaves a full one alone; retired series and
 * non-finite values are not kept.
 */
static void
test_slot_means(void **state)
{
	struct history *h = hist_new(&small, NULL);
	int64_t step;

	(void)state;
	add(h, "cpu.busy_pct", T0 + 1 * S, 1.0);
	add(h, "cpu.busy_pct", T0 + 5 * S, 3.0);
	add(h, "cpu.busy_pct", T0 + 12 * S, 10.0);
	add(h, "cpu.busy_pct", T0 + 19 * S, 20.0);
	add(h, "cpu.busy_pct", T0 + 31 * S, 0.5);
	assert_string_equal(pts(h, "cpu.busy_pct", T0, T0 + 59 * S, 0, &step),
	    "0:2 10:15 30:0.5");
	assert_int_equal(step, 10 * S);
	/* The minute tier: from before the 10 s tier's reach. */
	assert_string_equal(pts(h, "cpu.busy_pct", T0 - 5 * M, T0 + 59 * S, 0,
				&step),
	    "0:6.9");
	assert_int_equal(step, 60 * S);

	/* Late: into the empty slot 20, not into the full slot 0. */
	add_at(h, "cpu.busy_pct", T0 + 21 * S, 7.0, T0 + 32 * S);
	add_at(h, "cpu.busy_pct", T0 + 2 * S, 100.0, T0 + 32 * S);
	assert_string_equal(pts(h, "cpu.busy_pct", T0, T0 + 59 * S, 0, NULL),
	    "0:2 10:15 20:7 30:0.5");
	/* Readings of the future are taken as now. */
	add_at(h, "cpu.busy_pct", T0 + 3600 * S, 1.5, T0 + 33 * S);
	assert_string_equal(pts(h, "cpu.busy_pct", T0, T0 + 59 * S, 0, NULL),
	    "0:2 10:15 20:7 30:1");

	metric_batch_reset(&batch);
	assert_int_equal(metric_add_ts(&batch, T0 + 40 * S, NAN, "nan"), 0);
	assert_int_equal(metric_add_ts(&batch, T0 + 40 * S, INFINITY, "inf"),
	    0);
	assert_int_equal(metric_retire(&batch, "gone{Id=i-1}"), 0);
	history_add(h, &batch, T0 + 40 * S);
	assert_null(history_query(h, "nan", T0, T0 + M, 0));
	assert_null(history_query(h, "inf", T0, T0 + M, 0));
	assert_null(history_query(h, "gone{Id=i-1}", T0, T0 + M, 0));
	assert_null(history_query(h, "never", T0, T0 + M, 0));
	history_free(h);
}

/*
 * A ring keeps its last span: after it wraps the old slots are gone, a
 * gap leaves empty slots (not what the position held a lap before), a
 * gap longer than the span empties it, and a wall clock that went back
 * starts it again.
 */
static void
test_wraparound(void **state)
{
	struct history *h = hist_new(&small, NULL);

	(void)state;
	for (int i = 0; i < 12; i++) /* two laps of the 6-slot ring */
		add(h, "m", T0 + i * 10 * S, i);
	assert_string_equal(pts(h, "m", T0 + 60 * S, T0 + 119 * S, 0, NULL),
	    "60:6 70:7 80:8 90:9 100:10 110:11");
	/* Slots 12, 13 skipped: their positions held 6 and 7. */
	add(h, "m", T0 + 140 * S, 14);
	assert_string_equal(pts(h, "m", T0 + 90 * S, T0 + 149 * S, 0, NULL),
	    "90:9 100:10 110:11 140:14");
	/* Longer than the span: only the new slot. */
	add(h, "m", T0 + 300 * S, 30);
	assert_string_equal(pts(h, "m", T0 + 250 * S, T0 + 309 * S, 0, NULL),
	    "300:30");
	/* The clock went back 20 minutes: the ring starts there. */
	add(h, "m", T0 - 20 * M, 5);
	assert_string_equal(pts(h, "m", T0 - 20 * M, T0 - 20 * M + 50 * S, 0,
				NULL),
	    "-1200:5");
	/* A late point that old is dropped, the clock being right. */
	add_at(h, "m", T0 - 40 * M, 99, T0 - 20 * M + 1);
	assert_string_equal(pts(h, "m", T0 - 41 * M, T0 - 19 * M, 0, NULL),
	    "-1200:5");
	history_free(h);
}

/* The finest tier that reaches back to `from` answers. */
static void
test_tier_choice(void **state)
{
	struct history_conf c;
	struct conf_errs errs = { 0 };
	struct history *h;
	int64_t step, now = T0 + 5 * 3600 * S;

	(void)state;
	assert_int_equal(history_conf_parse(NULL, &c, &errs), 0);
	h = hist_new(&c, NULL);
	for (int64_t t = T0; t <= now; t += 10 * S)
		add(h, "load.1", t, (double)((t - T0) / S));
	npoints(h, "load.1", now - 3600 * S, now, 0, &step);
	assert_int_equal(step, 10 * S);
	npoints(h, "load.1", now - 3 * 3600 * S + 10 * S, now, 0, &step);
	assert_int_equal(step, 10 * S);
	npoints(h, "load.1", now - 4 * 3600 * S, now, 0, &step);
	assert_int_equal(step, 60 * S);
	npoints(h, "load.1", now - 10LL * 86400 * S, now, 0, &step);
	assert_int_equal(step, 600 * S);
	/* 40 days of 10 min slots are 5,760: merged to 30 min. */
	npoints(h, "load.1", now - 40LL * 86400 * S, now, 0, &step);
	assert_int_equal(step, 1800 * S);
	/* 5 hours of 10 min slots: 31 points, the means of their minutes. */
	assert_int_equal(npoints(h, "load.1", now - 10LL * 86400 * S, now, 0,
			     NULL),
	    31);
	assert_string_equal(pts(h, "load.1", T0, T0 + 599 * S, 600 * S, NULL),
	    "0:295");
	history_free(h);
}

/* A step is a whole number of slots, each point the mean of its slots. */
static void
test_step_merge(void **state)
{
	struct history *h = hist_new(&small, NULL);
	int64_t step;

	(void)state;
	for (int i = 0; i < 6; i++)
		add(h, "m", T0 + i * 10 * S, i * 2);
	assert_string_equal(pts(h, "m", T0, T0 + 59 * S, 30 * S, &step),
	    "0:2 30:8");
	assert_int_equal(step, 30 * S);
	/* 25 s is rounded up to 30 s, 5 s to the slot, 10 s. */
	assert_string_equal(pts(h, "m", T0, T0 + 59 * S, 25 * S, &step),
	    "0:2 30:8");
	assert_int_equal(step, 30 * S);
	assert_int_equal(npoints(h, "m", T0, T0 + 59 * S, 5 * S, &step), 6);
	assert_int_equal(step, 10 * S);
	/* Empty slots do not count in the mean, nor make points. */
	add(h, "gap", T0, 1);
	add(h, "gap", T0 + 50 * S, 5);
	assert_string_equal(pts(h, "gap", T0, T0 + 59 * S, 60 * S, NULL),
	    "0:3");
	assert_string_equal(pts(h, "gap", T0, T0 + 59 * S, 20 * S, NULL),
	    "0:1 40:5");
	/* A window outside what is kept, or turned around: no points. */
	assert_string_equal(pts(h, "gap", T0 + M, T0 + 2 * M, 0, NULL), "");
	assert_string_equal(pts(h, "gap", T0 + 50 * S, T0, 0, NULL), "50:5");
	history_free(h);
}

/* However long the window and small the step: at most 2,000 points. */
static void
test_points_cap(void **state)
{
	static const struct history_conf c = {
		.tiers = { { 1 * S, 3600 * S } },
		.ntiers = 1,
		.memory_max = 1 << 20,
	};
	struct history *h = hist_new(&c, NULL);
	int64_t step;
	size_t n;

	(void)state;
	metric_batch_reset(&batch);
	for (int64_t t = T0; t < T0 + 3600 * S; t += S) {
		add(h, "every.second", t, 1.0);
	}
	n = npoints(h, "every.second", T0, T0 + 3600 * S, 0, &step);
	assert_true(n <= 2000);
	assert_true(n >= 1000);
	assert_int_equal(step, 2 * S);
	n = npoints(h, "every.second", T0, T0 + 3600 * S, 1, &step);
	assert_true(n <= 2000 && n >= 1000);
	/* 2,000 one-second slots fit as they are. */
	assert_int_equal(npoints(h, "every.second", T0, T0 + 1999 * S, 0,
			     &step),
	    2000);
	assert_int_equal(step, S);
	/* Absurd windows stay bounded too. */
	assert_true(npoints(h, "every.second", INT64_MIN, INT64_MAX, 0,
			&step) <= 2000);
	assert_true(npoints(h, "every.second", 0, INT64_MAX, INT64_MAX,
			NULL) <= 2000);
	history_free(h);
}

/*
 * The cap refuses a new series that would pass it and counts each refused
 * series once; the series kept go on; bytes stay under the cap.
 */
static void
test_memory_cap(void **state)
{
	struct history_conf c = small;
	struct history_stats st;
	struct history *h;
	size_t kept;

	(void)state;
	c.memory_max = 64 * 1024; /* 16 slots of 4 bytes: ~150 bytes each */
	h = hist_new(&c, NULL);
	metric_batch_reset(&batch);
	for (int i = 0; i < 1000; i++) {
		char name[32];

		snprintf(name, sizeof(name), "s.%04d", i);
		assert_int_equal(metric_add_ts(&batch, T0, i, name), 0);
	}
	history_add(h, &batch, T0);
	history_stats(h, &st);
	assert_true(st.series > 100 && st.series < 1000);
	assert_true(st.bytes <= c.memory_max);
	assert_int_equal(st.bytes_max, c.memory_max);
	assert_int_equal(st.dropped, 1000 - st.series);
	kept = st.series;
	for (size_t i = 0; i < batch.n; i++)
		batch.v[i].ts_ms = T0 + 10 * S;
	/* The same series again: not counted twice. */
	history_add(h, &batch, T0 + 10 * S);
	history_stats(h, &st);
	assert_int_equal(st.series, kept);
	assert_int_equal(st.dropped, 1000 - kept);
	/* The first ones were kept and still take readings. */
	assert_string_equal(pts(h, "s.0003", T0, T0 + 20 * S, 0, NULL),
	    "0:3 10:3");
	assert_null(history_query(h, "s.0999", T0, T0 + M, 0));
	history_free(h);
}

static char *
names(struct history *h, const char *pattern)
{
	static char out[4096];
	json_t *a = history_names(h, pattern), *v;
	size_t i, len = 0;

	assert_non_null(a);
	out[0] = '\0';
	json_array_foreach(a, i, v)
	    len += (size_t)snprintf(out + len, sizeof(out) - len, "%s%s",
		len > 0 ? " " : "", json_string_value(v));
	json_decref(a);
	return out;
}

/* Names sorted, by the glob rules use ('*' crosses dots and labels). */
static void
test_names(void **state)
{
	struct history *h = hist_new(&small, NULL);

	(void)state;
	assert_string_equal(names(h, NULL), "");
	add(h, "mem.used_pct", T0, 1);
	add(h, "ec2.CPU{InstanceId=i-2}", T0, 1);
	add(h, "cpu.busy_pct", T0, 1);
	add(h, "disk./var.used_pct", T0, 1);
	add(h, "ec2.CPU{InstanceId=i-1}", T0, 1);
	assert_string_equal(names(h, NULL),
	    "cpu.busy_pct disk./var.used_pct ec2.CPU{InstanceId=i-1} "
	    "ec2.CPU{InstanceId=i-2} mem.used_pct");
	assert_string_equal(names(h, "*.used_pct"),
	    "disk./var.used_pct mem.used_pct");
	assert_string_equal(names(h, "ec2.*"),
	    "ec2.CPU{InstanceId=i-1} ec2.CPU{InstanceId=i-2}");
	assert_string_equal(names(h, "ec2.CPU{InstanceId=i-?}"),
	    "ec2.CPU{InstanceId=i-1} ec2.CPU{InstanceId=i-2}");
	assert_string_equal(names(h, "cpu"), "");
	/* A name JSON cannot carry is not kept. */
	add(h, "bad.\xff", T0, 1);
	add(h, "cut.\xc3", T0, 1);
	assert_null(history_query(h, "bad.\xff", T0, T0 + M, 0));
	assert_string_equal(names(h, "*"),
	    "cpu.busy_pct disk./var.used_pct ec2.CPU{InstanceId=i-1} "
	    "ec2.CPU{InstanceId=i-2} mem.used_pct");
	history_free(h);
}

/* http.history: the defaults, settings, and errors at their lines. */
static void
test_conf(void **state)
{
	struct conf_errs lerrs = { 0 }, errs = { 0 };
	struct history_conf c;
	const conf_node *hist;
	struct conf *cf;

	(void)state;
	assert_int_equal(history_conf_parse(NULL, &c, &errs), 0);
	assert_int_equal(c.ntiers, 3);
	assert_int_equal(c.tiers[0].step_ms, 10 * S);
	assert_int_equal(c.tiers[0].span_ms, 3 * 3600 * S);
	assert_int_equal(c.tiers[1].step_ms, 60 * S);
	assert_int_equal(c.tiers[1].span_ms, 2 * 86400 * S);
	assert_int_equal(c.tiers[2].step_ms, 600 * S);
	assert_int_equal(c.tiers[2].span_ms, 30 * 86400 * S);
	assert_int_equal(c.memory_max, 64 << 20);
	assert_int_equal(c.save_interval_ms, 5 * M);

	cf = tu_conf_load(
	    "sources = ( { type = \"load\"; } );\n"
	    "good = { tiers = [ \"5s:1h\", \"1m:1d\" ]; memory_max = \"8MiB\";\n"
	    "  save_interval = \"0s\"; };\n"
	    "bad = { tiers = [ \"10s:3h\",\n"
	    "    \"15s:1d\",\n"
	    "    \"1m\",\n"
	    "    \"1m:90s\" ];\n"
	    "  memory_max = \"1K\";\n"
	    "  save_interval = \"5s\"; colour = 1; };\n"
	    "many = { tiers = [ \"1s:1m\", \"2s:2m\", \"4s:4m\", \"8s:8m\",\n"
	    "  \"16s:16m\" ]; };\n"
	    "small = { tiers = [ \"1s:1w\" ]; memory_max = \"64KiB\"; };\n"
	    "slots = { tiers = [ \"1s:30d\" ]; };\n"
	    "xy = { tiers = \"x:y\"; };\n",
	    &lerrs);
	conf_errs_free(&lerrs);
	hist = conf_member(conf_parent(cf->sources), "good");
	assert_int_equal(history_conf_parse(hist, &c, &errs), 0);
	assert_int_equal(errs.total, 0);
	assert_int_equal(c.ntiers, 2);
	assert_int_equal(c.tiers[0].step_ms, 5 * S);
	assert_int_equal(c.tiers[1].span_ms, 86400 * S);
	assert_int_equal(c.memory_max, 8 << 20);
	assert_int_equal(c.save_interval_ms, 0);

	hist = conf_member(conf_parent(cf->sources), "bad");
	assert_int_equal(history_conf_parse(hist, &c, &errs), -1);
	assert_true(tu_has_error(&errs,
	    "vigil.conf:5: bad.tiers[1]: "
	    "\"15s:1d\": the step must be a "
	    "multiple of the tier before's"));
	assert_true(tu_has_error(&errs,
	    "vigil.conf:6: bad.tiers[2]: \"1m\" "
	    "is not STEP:SPAN"));
	assert_true(tu_has_error(&errs,
	    "vigil.conf:7: bad.tiers[3]: "
	    "\"1m:90s\": the span must be a whole "
	    "number of steps"));
	assert_true(tu_has_error(&errs,
	    "vigil.conf:8: bad.memory_max: must "
	    "be at least 64KiB"));
	assert_true(tu_has_error(&errs,
	    "vigil.conf:9: bad.save_interval: "
	    "must be at least 10s"));
	assert_true(tu_has_error(&errs, "colour"));
	conf_errs_free(&errs);

	hist = conf_member(conf_parent(cf->sources), "many");
	assert_int_equal(history_conf_parse(hist, &c, &errs), -1);
	assert_true(tu_has_error(&errs, "give 1 to 4 tiers, not 5"));
	conf_errs_free(&errs);
	hist = conf_member(conf_parent(cf->sources), "small");
	assert_int_equal(history_conf_parse(hist, &c, &errs), -1);
	assert_true(tu_has_error(&errs, "hold not one series"));
	conf_errs_free(&errs);
	hist = conf_member(conf_parent(cf->sources), "xy");
	assert_int_equal(history_conf_parse(hist, &c, &errs), -1);
	assert_true(tu_has_error(&errs,
	    "vigil.conf:14: xy.tiers: \"x:y\" is "
	    "not STEP:SPAN of two durations"));
	conf_errs_free(&errs);
	hist = conf_member(conf_parent(cf->sources), "slots");
	assert_int_equal(history_conf_parse(hist, &c, &errs), -1);
	assert_true(tu_has_error(&errs, "2592000 slots, more than 1048576"));
	conf_errs_free(&errs);
	conf_free(cf);
}

static const char *
hist_path(const char *name)
{
	static char path[4096];

	tu_pathf(path, "%s/%s", tu_tmpdir(), name);
	return path;
}

/* A few series in both tiers of ${h}, up to T0 + 10 min. */
static void
fill(struct history *h)
{
	for (int64_t t = T0 - 10 * M; t < T0; t += 10 * S) {
		metric_batch_reset(&batch);
		assert_int_equal(metric_add_ts(&batch, t, (double)(t - T0) / S,
				     "cpu.busy_pct"),
		    0);
		assert_int_equal(metric_add_ts(&batch, t, 0.1 * (t % 7000),
				     "ec2.CPU{InstanceId=i-1}"),
		    0);
		assert_int_equal(metric_add_ts(&batch, t, 1e12 + 4096.0 * t,
				     "net.eth0.rx_bytes"),
		    0);
		history_add(h, &batch, t);
	}
	/* A slot half full: its sum and count go into the file too. */
	add(h, "cpu.busy_pct", T0 - 9 * S, 4);
}

/* Every query of both tiers of ${a} and ${b} answers the same. */
static void
same_history(struct history *a, struct history *b)
{
	json_t *na = history_names(a, NULL), *nb = history_names(b, NULL), *v;
	size_t i;

	assert_true(json_equal(na, nb));
	json_array_foreach(na, i, v)
	{
		const char *name = json_string_value(v);
		int64_t from[] = { T0 - 50 * S, T0 - 20 * M };

		for (size_t k = 0; k < 2; k++) {
			json_t *qa = history_query(a, name, from[k], T0, 0);
			json_t *qb = history_query(b, name, from[k], T0, 0);

			assert_true(json_array_size(json_object_get(qa,
					"points")) > 0);
			if (!json_equal(qa, qb)) {
				char *ta = json_dumps(qa, 0);
				char *tb = json_dumps(qb, 0);

				fail_msg("%s\n%s", ta, tb);
			}
			json_decref(qa);
			json_decref(qb);
		}
	}
	json_decref(na);
	json_decref(nb);
}

/* What was saved is read back, and the slot half full goes on. */
static void
test_save_load(void **state)
{
	struct history_conf c = small;
	const char *path = hist_path("rt.bin");
	struct history_stats st;
	struct ag_err err = { "" };
	struct history *a, *b;
	char bad[4200];
	int64_t t0;

	(void)state;
	c.save_interval_ms = 5 * M;
	a = hist_new(&c, path);
	t0 = history_save_due(a);
	fill(a);
	history_stats(a, &st);
	assert_int_equal(st.saved_ms, 0);
	assert_int_equal(history_save(a, &err), 0);
	history_stats(a, &st);
	assert_true(st.saved_ms > 0);
	assert_string_equal(st.last_error, "");
	assert_true(history_save_due(a) >= t0);
	assert_true(history_save_due(a) >= st.saved_ms + 5 * M);

	b = hist_new(&c, path);
	same_history(a, b);
	add(a, "cpu.busy_pct", T0 - 8 * S, 10);
	add(b, "cpu.busy_pct", T0 - 8 * S, 10);
	same_history(a, b);
	history_stats(b, &st);
	assert_int_equal(st.series, 3);
	snprintf(bad, sizeof(bad), "%s.bad", path);
	assert_int_equal(access(bad, F_OK), -1);
	history_free(b);

	/* A folder that is gone: the error is kept for status. */
	{
		struct history *g = hist_new(&c, hist_path("no/such/h.bin"));

		assert_int_equal(history_save(g, &err), -1);
		history_stats(g, &st);
		assert_non_null(strstr(st.last_error, "No such file"));
		history_free(g);
	}
	/* No path or no interval: never due. */
	c.save_interval_ms = 0;
	b = hist_new(&c, path);
	assert_int_equal(history_save_due(b), INT64_MAX);
	history_free(b);
	c.save_interval_ms = 5 * M;
	b = hist_new(&c, NULL);
	assert_int_equal(history_save_due(b), INT64_MAX);
	history_free(b);
	history_free(a);
}

/*
 * Other tiers: the same step keeps the newest slots that fit, a step no
 * longer configured is dropped, a new one starts empty.
 */
static void
test_changed_tiers(void **state)
{
	const char *path = hist_path("tiers.bin");
	struct history_conf c2 = small;
	struct ag_err err = { "" };
	struct history *a, *b;
	char bad[4200];

	(void)state;
	a = hist_new(&small, path);
	fill(a);
	assert_int_equal(history_save(a, &err), 0);
	/* 10 s for 30 s (3 slots), 5 min for an hour: 1 min is gone. */
	c2.tiers[0].span_ms = 30 * S;
	c2.tiers[1] = (struct history_tier){ 5 * M, 60 * M };
	b = hist_new(&c2, path);
	assert_string_equal(pts(b, "cpu.busy_pct", T0 - 30 * S, T0, 0, NULL),
	    "-30:-30 -20:-20 -10:-3");
	assert_string_equal(pts(a, "cpu.busy_pct", T0 - 30 * S, T0, 0, NULL),
	    "-30:-30 -20:-20 -10:-3");
	/* Not as far back as asked: the 10 s tier, what it has. */
	assert_string_equal(pts(b, "cpu.busy_pct", T0 - 40 * M, T0, 0, NULL),
	    "-30:-30 -20:-20 -10:-3");
	/* The new tier fills from now on. */
	add(b, "cpu.busy_pct", T0 + S, 2);
	assert_string_equal(pts(b, "cpu.busy_pct", T0 - 40 * M, T0 + S, 0,
				NULL),
	    "0:2");
	history_free(b);
	snprintf(bad, sizeof(bad), "%s.bad", path);
	assert_int_equal(access(bad, F_OK), -1);
	assert_int_equal(access(path, F_OK), 0);
	history_free(a);
}

/* Load ${path}: it must be set aside, the history empty. */
static void
set_aside(const struct history_conf *c, const char *path)
{
	struct history_stats st;
	struct history *h;
	char bad[4200];

	snprintf(bad, sizeof(bad), "%s.bad", path);
	(void)unlink(bad);
	h = hist_new(c, path);
	history_stats(h, &st);
	assert_int_equal(st.series, 0);
	assert_int_equal(st.dropped, 0);
	history_free(h);
	if (access(path, F_OK) == 0 || access(bad, F_OK) != 0)
		fail_msg("%s was not set aside", path);
}

/* Every truncation and every flipped byte of a saved file is caught. */
static void
test_damaged(void **state)
{
	const char *path = hist_path("damaged.bin");
	char copy[4200];
	struct ag_err err = { "" };
	struct history *a;
	uint8_t *good;
	size_t len;

	(void)state;
	a = hist_new(&small, path);
	add(a, "cpu.busy_pct", T0, 1);
	add(a, "cpu.busy_pct", T0 + 10 * S, 2);
	add(a, "m", T0 + 10 * S, 3);
	assert_int_equal(history_save(a, &err), 0);
	history_free(a);
	good = tu_read_file(path, &len);
	snprintf(copy, sizeof(copy), "%s", path);
	for (size_t cut = 0; cut < len; cut++) {
		tu_write_file(copy, good, cut, 0600);
		set_aside(&small, copy);
	}
	for (size_t off = 0; off < len; off++) {
		tu_write_file(copy, good, len, 0600);
		tu_flip_byte(copy, (off_t)off);
		set_aside(&small, copy);
	}
	/* A byte too many. */
	{
		uint8_t *more = malloc(len + 1);

		assert_non_null(more);
		memcpy(more, good, len);
		more[len] = 0;
		tu_write_file(copy, more, len + 1, 0600);
		set_aside(&small, copy);
		free(more);
	}
	/* The good file still loads. */
	tu_write_file(copy, good, len, 0600);
	a = hist_new(&small, copy);
	assert_string_equal(pts(a, "cpu.busy_pct", T0, T0 + 20 * S, 0, NULL),
	    "0:1 10:2");
	history_free(a);
	free(good);
}

/* Little-endian writer for hand-made files, with the check at the end. */
struct hw {
	uint8_t b[4096];
	size_t n;
};

static void
hw_u(struct hw *w, uint64_t v, size_t size)
{
	for (size_t i = 0; i < size; i++)
		w->b[w->n++] = (uint8_t)(v >> (8 * i));
}

static void
hw_write(struct hw *w, const char *path)
{
	hw_u(w, fnv1a64(FNV1A64_INIT, w->b, w->n), 8);
	tu_write_file(path, w->b, w->n, 0600);
}

static void
hw_head(struct hw *w, uint64_t nseries)
{
	w->n = 0;
	memcpy(w->b, "VIGILHIS", 8);
	w->n = 8;
	hw_u(w, 1, 4);
	hw_u(w, 1, 4);
	hw_u(w, 10 * S, 8);
	hw_u(w, 60 * S, 8);
	hw_u(w, (uint64_t)T0, 8);
	hw_u(w, nseries, 8);
}

/*
 * Files with a good check that lie: counts past the end, slots more than
 * the tier has, a name too long or twice, a version or tiers unknown.
 * Each is set aside; nothing large is allocated (ASan would say).
 */
static void
test_hostile(void **state)
{
	const char *path = hist_path("hostile.bin");
	struct hw w;

	(void)state;
	hw_head(&w, UINT64_MAX); /* series that are not there */
	hw_write(&w, path);
	set_aside(&small, path);

	hw_head(&w, 1);
	hw_u(&w, 60000, 2); /* a name of 60,000 bytes */
	hw_write(&w, path);
	set_aside(&small, path);

	hw_head(&w, 1); /* more slots than the tier's 6 */
	hw_u(&w, 1, 2);
	w.b[w.n++] = 'x';
	hw_u(&w, (uint64_t)(T0 / (10 * S)), 8);
	hw_u(&w, 1, 4);
	hw_u(&w, 0x3ff0000000000000ULL, 8); /* 1.0 */
	hw_u(&w, 0xffffffff, 4);
	hw_write(&w, path);
	set_aside(&small, path);

	hw_head(&w, 2); /* the same series twice */
	for (int i = 0; i < 2; i++) {
		hw_u(&w, 1, 2);
		w.b[w.n++] = 'x';
		hw_u(&w, UINT64_MAX, 8); /* no slot */
		hw_u(&w, 0, 4);
		hw_u(&w, 0, 8);
		hw_u(&w, 0, 4);
	}
	hw_write(&w, path);
	set_aside(&small, path);

	hw_head(&w, 0); /* version 2 */
	w.b[8] = 2;
	hw_write(&w, path);
	set_aside(&small, path);

	hw_head(&w, 0); /* a step of 0 */
	memset(w.b + 16, 0, 8);
	hw_write(&w, path);
	set_aside(&small, path);

	/* Good: one series with one slot. */
	hw_head(&w, 1);
	hw_u(&w, 1, 2);
	w.b[w.n++] = 'x';
	hw_u(&w, (uint64_t)(T0 / (10 * S)), 8);
	hw_u(&w, 1, 4);
	hw_u(&w, 0x3ff0000000000000ULL, 8);
	hw_u(&w, 1, 4);
	hw_u(&w, 0x3f800000, 4); /* 1.0f */
	hw_write(&w, path);
	{
		struct history *h = hist_new(&small, path);

		assert_string_equal(pts(h, "x", T0, T0 + M, 0, NULL), "0:1");
		history_free(h);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_slot_means),
		cmocka_unit_test(test_wraparound),
		cmocka_unit_test(test_tier_choice),
		cmocka_unit_test(test_step_merge),
		cmocka_unit_test(test_points_cap),
		cmocka_unit_test(test_memory_cap),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_conf),
		cmocka_unit_test(test_save_load),
		cmocka_unit_test(test_changed_tiers),
		cmocka_unit_test(test_damaged),
		cmocka_unit_test(test_hostile),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
