/*
 * test_schedule.c: backup schedules: cron expressions and the friendly
 * forms with known next times in UTC, daylight-saving transitions in
 * Europe/Berlin and Australia/Lord_Howe (a 30-minute shift), a brute-force
 * cross-check against a minute-by-minute scan, every error message,
 * "every" alignment, missed runs and the splay.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "lib/ag.h"
#include "lib/fnv.h"
#include "lib/schedule.h"
#include "tests/unit/fakes/testutil.h"

static struct schedule *
parse_ok(const char *text)
{
	struct schedule *s = NULL;
	struct ag_err err = { "" };

	if (schedule_parse(text, &s, &err) != 0)
		fail_msg("schedule_parse(\"%s\"): %s", text, err.msg);
	assert_non_null(s);
	return s;
}

static void
fmt(int64_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (t < 0 || gmtime_r(&tt, &tm) == NULL)
		snprintf(buf, len, "%lld", (long long)t);
	else
		strftime(buf, len, "%Y-%m-%d %H:%M:%SZ", &tm);
}

/* Check that schedule_next(text, after) == want, printing both if not. */
static void
check_next_line(const char *text, int64_t after, int64_t want, int line)
{
	struct schedule *s = parse_ok(text);
	int64_t got = schedule_next(s, after);
	char a[40], g[40], w[40];

	schedule_free(s);
	if (got != want) {
		fmt(after, a, sizeof(a));
		fmt(got, g, sizeof(g));
		fmt(want, w, sizeof(w));
		fail_msg("line %d: \"%s\" after %s: got %s, want %s", line,
		    text, a, g, w);
	}
}
#define check_next(text, after, want) \
	check_next_line(text, after, want, __LINE__)

/* The run times of ${text} in (from, to], at most ${max}. */
static size_t
runs(const char *text, int64_t from, int64_t to, int64_t *out, size_t max)
{
	struct schedule *s = parse_ok(text);
	int64_t t = from;
	size_t n = 0;

	for (;;) {
		t = schedule_next(s, t);
		assert_true(t > 0);
		if (t > to)
			break;
		assert_true(n < max);
		out[n++] = t;
	}
	schedule_free(s);
	return n;
}

static void
test_cron_utc(void **state)
{
	int64_t sun = tu_utc(2026, 11, 22, 3, 7, 0); /* a sunday */

	(void)state;
	tu_set_tz("UTC");
	check_next("*/15 * * * *", sun, tu_utc(2026, 11, 22, 3, 15, 0));
	check_next("*/15 * * * *", tu_utc(2026, 11, 22, 3, 14, 59),
	    tu_utc(2026, 11, 22, 3, 15, 0));
	check_next("*/15 * * * *", tu_utc(2026, 11, 22, 3, 15, 0),
	    tu_utc(2026, 11, 22, 3, 30, 0));
	check_next("*/15 * * * *", tu_utc(2026, 11, 22, 23, 59, 0),
	    tu_utc(2026, 11, 23, 0, 0, 0));
	check_next("* * * * *", tu_utc(2026, 11, 22, 3, 7, 30),
	    tu_utc(2026, 11, 22, 3, 8, 0));
	/* Strictly after: a run time equal to ${after} is not next. */
	check_next("0 3 * * *", tu_utc(2026, 11, 22, 3, 0, 0),
	    tu_utc(2026, 11, 23, 3, 0, 0));
	check_next("0 3 * * *", tu_utc(2026, 11, 22, 2, 59, 59),
	    tu_utc(2026, 11, 22, 3, 0, 0));
	check_next("30 4 1 * *", sun, tu_utc(2026, 12, 1, 4, 30, 0));
	check_next("0 0 1 1 *", sun, tu_utc(2027, 1, 1, 0, 0, 0));
	check_next("5 4 * jan,jul *", sun, tu_utc(2027, 1, 1, 4, 5, 0));
	check_next("5 4 * JUL-aug *", sun, tu_utc(2027, 7, 1, 4, 5, 0));
	check_next("0 12 * * mon-fri", tu_utc(2026, 11, 21, 13, 0, 0),
	    tu_utc(2026, 11, 23, 12, 0, 0));
	check_next("0 12 * * 1-5", tu_utc(2026, 11, 27, 12, 0, 0),
	    tu_utc(2026, 11, 30, 12, 0, 0));
	/* 7 and 0 are both sunday; 5-7 is fri, sat, sun. */
	check_next("0 0 * * 7", tu_utc(2026, 11, 17, 0, 0, 0),
	    tu_utc(2026, 11, 22, 0, 0, 0));
	check_next("0 0 * * 0", tu_utc(2026, 11, 17, 0, 0, 0),
	    tu_utc(2026, 11, 22, 0, 0, 0));
	check_next("0 0 * * 5-7", tu_utc(2026, 11, 21, 0, 0, 0),
	    tu_utc(2026, 11, 22, 0, 0, 0));
	check_next("0 0 * * 5-7", tu_utc(2026, 11, 22, 0, 0, 0),
	    tu_utc(2026, 11, 27, 0, 0, 0));
	check_next("0 0 * * sun-sat/3", tu_utc(2026, 11, 22, 0, 0, 0),
	    tu_utc(2026, 11, 25, 0, 0, 0));
	/* dom and dow both restricted: either matches (13th or friday). */
	check_next("0 0 13 * fri", tu_utc(2026, 11, 1, 0, 0, 0),
	    tu_utc(2026, 11, 6, 0, 0, 0));
	check_next("0 0 13 * fri", tu_utc(2026, 11, 6, 0, 0, 0),
	    tu_utc(2026, 11, 13, 0, 0, 0));
	check_next("0 0 13 * fri", tu_utc(2026, 11, 13, 0, 0, 0),
	    tu_utc(2026, 11, 20, 0, 0, 0));
	check_next("0 0 1 * mon", tu_utc(2026, 11, 24, 0, 0, 0),
	    tu_utc(2026, 11, 30, 0, 0, 0));
	check_next("0 0 1 * mon", tu_utc(2026, 11, 30, 0, 0, 0),
	    tu_utc(2026, 12, 1, 0, 0, 0));
	/* A dom field starting with '*' counts as unrestricted: both. */
	check_next("0 0 */2 * mon", tu_utc(2026, 11, 23, 0, 0, 0),
	    tu_utc(2026, 12, 7, 0, 0, 0));
	check_next("0 0 * * mon", tu_utc(2026, 11, 22, 0, 0, 0),
	    tu_utc(2026, 11, 23, 0, 0, 0));
	check_next("0 0 */10 * *", sun, tu_utc(2026, 12, 1, 0, 0, 0));
	check_next("0 0 */10 * *", tu_utc(2026, 12, 21, 0, 0, 0),
	    tu_utc(2026, 12, 31, 0, 0, 0));
	check_next("0 0 31 * *", tu_utc(2026, 11, 1, 0, 0, 0),
	    tu_utc(2026, 12, 31, 0, 0, 0));
	check_next("0 0 29 2 *", tu_utc(2026, 3, 1, 0, 0, 0),
	    tu_utc(2028, 2, 29, 0, 0, 0));
	check_next("0 0 29 2 *", tu_utc(2096, 3, 1, 0, 0, 0),
	    tu_utc(2104, 2, 29, 0, 0, 0));
	check_next("0 9-17/4 * * *", tu_utc(2026, 11, 22, 13, 0, 0),
	    tu_utc(2026, 11, 22, 17, 0, 0));
	check_next("0 9-17/4 * * *", tu_utc(2026, 11, 22, 17, 0, 0),
	    tu_utc(2026, 11, 23, 9, 0, 0));
	check_next("10,20-22,50 * * * *", tu_utc(2026, 11, 22, 3, 20, 0),
	    tu_utc(2026, 11, 22, 3, 21, 0));
	check_next("10,20-22,50 * * * *", tu_utc(2026, 11, 22, 3, 22, 0),
	    tu_utc(2026, 11, 22, 3, 50, 0));
	check_next("10,20-22,50 * * * *", tu_utc(2026, 11, 22, 3, 50, 0),
	    tu_utc(2026, 11, 22, 4, 10, 0));
	check_next("  0   3  *  *  *  ", sun, tu_utc(2026, 11, 23, 3, 0, 0));
	check_next("59 23 31 12 *", sun, tu_utc(2026, 12, 31, 23, 59, 0));
	check_next("59 23 31 12 *", tu_utc(2026, 12, 31, 23, 59, 0),
	    tu_utc(2027, 12, 31, 23, 59, 0));
}

static void
test_friendly_forms(void **state)
{
	int64_t sun = tu_utc(2026, 11, 22, 3, 7, 0);

	(void)state;
	tu_set_tz("UTC");
	check_next("@hourly", sun, tu_utc(2026, 11, 22, 4, 0, 0));
	check_next("hourly", sun, tu_utc(2026, 11, 22, 4, 0, 0));
	check_next("HOURLY", sun, tu_utc(2026, 11, 22, 4, 0, 0));
	check_next("@daily", sun, tu_utc(2026, 11, 23, 0, 0, 0));
	check_next("@midnight", sun, tu_utc(2026, 11, 23, 0, 0, 0));
	check_next("@weekly", tu_utc(2026, 11, 22, 0, 0, 0),
	    tu_utc(2026, 11, 29, 0, 0, 0));
	check_next("@weekly", tu_utc(2026, 11, 21, 23, 0, 0),
	    tu_utc(2026, 11, 22, 0, 0, 0));
	check_next("@monthly", sun, tu_utc(2026, 12, 1, 0, 0, 0));
	check_next("@yearly", sun, tu_utc(2027, 1, 1, 0, 0, 0));
	check_next("@annually", sun, tu_utc(2027, 1, 1, 0, 0, 0));
	check_next("daily 03:00", sun, tu_utc(2026, 11, 23, 3, 0, 0));
	check_next("daily 03:00", tu_utc(2026, 11, 22, 2, 0, 0),
	    tu_utc(2026, 11, 22, 3, 0, 0));
	check_next("daily 3:30", sun, tu_utc(2026, 11, 22, 3, 30, 0));
	check_next("daily 23:59", sun, tu_utc(2026, 11, 22, 23, 59, 0));
	check_next("daily 00:00", sun, tu_utc(2026, 11, 23, 0, 0, 0));
	check_next("weekly sun 04:00", sun, tu_utc(2026, 11, 22, 4, 0, 0));
	check_next("weekly sun 04:00", tu_utc(2026, 11, 22, 4, 0, 0),
	    tu_utc(2026, 11, 29, 4, 0, 0));
	check_next("weekly Sunday 04:00", tu_utc(2026, 11, 22, 4, 0, 0),
	    tu_utc(2026, 11, 29, 4, 0, 0));
	check_next("weekly 7 04:00", sun, tu_utc(2026, 11, 22, 4, 0, 0));
	check_next("weekly wed 01:15", sun, tu_utc(2026, 11, 25, 1, 15, 0));
	check_next("monthly 1 04:00", sun, tu_utc(2026, 12, 1, 4, 0, 0));
	check_next("monthly 22 04:00", sun, tu_utc(2026, 11, 22, 4, 0, 0));
	check_next("monthly 28 23:00", tu_utc(2027, 2, 1, 0, 0, 0),
	    tu_utc(2027, 2, 28, 23, 0, 0));
}

static void
test_every(void **state)
{
	struct schedule *s;

	(void)state;
	tu_set_tz("UTC");
	check_next("every 6h", tu_utc(2026, 11, 22, 5, 59, 59),
	    tu_utc(2026, 11, 22, 6, 0, 0));
	check_next("every 6h", tu_utc(2026, 11, 22, 6, 0, 0),
	    tu_utc(2026, 11, 22, 12, 0, 0));
	check_next("every 6h", tu_utc(2026, 11, 22, 18, 0, 1),
	    tu_utc(2026, 11, 23, 0, 0, 0));
	check_next("every 30m", tu_utc(2026, 11, 22, 5, 1, 0),
	    tu_utc(2026, 11, 22, 5, 30, 0));
	check_next("every 1h30m", tu_utc(2026, 11, 22, 0, 0, 0),
	    tu_utc(2026, 11, 22, 1, 30, 0));
	check_next("every 90s", 1000, 1080);
	check_next("every 1d", tu_utc(2026, 11, 22, 5, 0, 0),
	    tu_utc(2026, 11, 23, 0, 0, 0));
	/* 45 minutes: multiples of 2700 s since the epoch. */
	check_next("every 45m", tu_utc(2026, 11, 22, 5, 0, 0),
	    (tu_utc(2026, 11, 22, 5, 0, 0) / 2700 + 1) * 2700);
	/* 7 days since 1970-01-01, a thursday: thursdays 00:00 UTC. */
	check_next("every 7d", tu_utc(2026, 11, 22, 0, 0, 0),
	    tu_utc(2026, 11, 26, 0, 0, 0));

	/* Aligned to UTC, not to local time and not across DST. */
	tu_set_tz("Europe/Berlin");
	check_next("every 6h", tu_utc(2026, 11, 22, 5, 0, 0),
	    tu_utc(2026, 11, 22, 6, 0, 0));
	check_next("every 1h", tu_utc(2026, 3, 29, 0, 30, 0),
	    tu_utc(2026, 3, 29, 1, 0, 0));
	check_next("every 1h", tu_utc(2026, 10, 25, 0, 30, 0),
	    tu_utc(2026, 10, 25, 1, 0, 0));
	check_next("every 1d", tu_utc(2026, 11, 22, 5, 0, 0),
	    tu_utc(2026, 11, 23, 0, 0, 0));

	s = parse_ok("every 6h");
	assert_int_equal(schedule_interval(s), 6 * 3600);
	assert_string_equal(schedule_text(s), "every 6h");
	schedule_free(s);
	s = parse_ok("  daily 03:00 ");
	assert_int_equal(schedule_interval(s), 0);
	assert_string_equal(schedule_text(s), "daily 03:00");
	schedule_free(s);
	tu_set_tz("UTC");
}

static void
test_dst_berlin_spring(void **state)
{
	int64_t v[64];
	size_t n;

	(void)state;
	tu_set_tz("Europe/Berlin");
	/*
	 * 2026-03-29 02:00 CET -> 03:00 CEST (01:00 UTC).  A daily 02:30
	 * runs once at 03:00 CEST, the first valid time after it.
	 */
	check_next("30 2 * * *", tu_utc(2026, 3, 28, 12, 0, 0),
	    tu_utc(2026, 3, 29, 1, 0, 0));
	check_next("daily 02:30", tu_utc(2026, 3, 28, 12, 0, 0),
	    tu_utc(2026, 3, 29, 1, 0, 0));
	check_next("daily 02:30", tu_utc(2026, 3, 29, 1, 0, 0),
	    tu_utc(2026, 3, 30, 0, 30, 0));
	check_next("daily 02:00", tu_utc(2026, 3, 28, 12, 0, 0),
	    tu_utc(2026, 3, 29, 1, 0, 0));
	check_next("daily 02:30", tu_utc(2026, 3, 28, 0, 0, 0),
	    tu_utc(2026, 3, 28, 1, 30, 0));
	n = runs("daily 02:30", tu_utc(2026, 3, 27, 0, 0, 0),
	    tu_utc(2026, 3, 31, 0, 0, 0), v, 64);
	assert_int_equal(n, 4);
	assert_int_equal(v[0], tu_utc(2026, 3, 27, 1, 30, 0));
	assert_int_equal(v[1], tu_utc(2026, 3, 28, 1, 30, 0));
	assert_int_equal(v[2], tu_utc(2026, 3, 29, 1, 0, 0));
	assert_int_equal(v[3], tu_utc(2026, 3, 30, 0, 30, 0));
	/* 03:00 exists (CEST) and is the same instant as the gap's end. */
	check_next("daily 03:00", tu_utc(2026, 3, 28, 12, 0, 0),
	    tu_utc(2026, 3, 29, 1, 0, 0));
	check_next("daily 01:59", tu_utc(2026, 3, 28, 12, 0, 0),
	    tu_utc(2026, 3, 29, 0, 59, 0));

	/* Every-hour schedules follow real time and skip the gap. */
	n = runs("0 * * * *", tu_utc(2026, 3, 28, 23, 30, 0),
	    tu_utc(2026, 3, 29, 2, 0, 0), v, 64);
	assert_int_equal(n, 3);
	assert_int_equal(v[0], tu_utc(2026, 3, 29, 0, 0, 0)); /* 01 CET */
	assert_int_equal(v[1], tu_utc(2026, 3, 29, 1, 0, 0)); /* 03 CEST */
	assert_int_equal(v[2], tu_utc(2026, 3, 29, 2, 0, 0)); /* 04 CEST */
	n = runs("30 * * * *", tu_utc(2026, 3, 29, 0, 0, 0),
	    tu_utc(2026, 3, 29, 2, 0, 0), v, 64);
	assert_int_equal(n, 2);
	assert_int_equal(v[0], tu_utc(2026, 3, 29, 0, 30, 0)); /* CET */
	assert_int_equal(v[1], tu_utc(2026, 3, 29, 1, 30, 0)); /* CEST */
	n = runs("*/15 * * * *", tu_utc(2026, 3, 28, 23, 59, 59),
	    tu_utc(2026, 3, 29, 1, 59, 59), v, 64);
	assert_int_equal(n, 8);
	assert_int_equal(v[4], tu_utc(2026, 3, 29, 1, 0, 0));
	/* The weekly job on the short sunday. */
	check_next("weekly sun 02:15", tu_utc(2026, 3, 28, 0, 0, 0),
	    tu_utc(2026, 3, 29, 1, 0, 0));
	tu_set_tz("UTC");
}

static void
test_dst_berlin_autumn(void **state)
{
	int64_t v[64];
	size_t n;

	(void)state;
	tu_set_tz("Europe/Berlin");
	/*
	 * 2026-10-25 03:00 CEST -> 02:00 CET (01:00 UTC): 02:00-02:59 comes
	 * twice.  A daily 02:30 runs once, at the first 02:30 (CEST).
	 */
	check_next("30 2 * * *", tu_utc(2026, 10, 24, 12, 0, 0),
	    tu_utc(2026, 10, 25, 0, 30, 0));
	check_next("daily 02:30", tu_utc(2026, 10, 25, 0, 30, 0),
	    tu_utc(2026, 10, 26, 1, 30, 0));
	/* From inside either copy of the hour: tomorrow. */
	check_next("daily 02:30", tu_utc(2026, 10, 25, 0, 45, 0),
	    tu_utc(2026, 10, 26, 1, 30, 0));
	check_next("daily 02:30", tu_utc(2026, 10, 25, 1, 10, 0),
	    tu_utc(2026, 10, 26, 1, 30, 0));
	check_next("daily 02:00", tu_utc(2026, 10, 25, 0, 10, 0),
	    tu_utc(2026, 10, 26, 1, 0, 0));
	n = runs("daily 02:30", tu_utc(2026, 10, 23, 12, 0, 0),
	    tu_utc(2026, 10, 27, 0, 0, 0), v, 64);
	assert_int_equal(n, 3);
	assert_int_equal(v[0], tu_utc(2026, 10, 24, 0, 30, 0));
	assert_int_equal(v[1], tu_utc(2026, 10, 25, 0, 30, 0));
	assert_int_equal(v[2], tu_utc(2026, 10, 26, 1, 30, 0));
	check_next("daily 03:00", tu_utc(2026, 10, 24, 12, 0, 0),
	    tu_utc(2026, 10, 25, 2, 0, 0));
	check_next("daily 01:59", tu_utc(2026, 10, 24, 12, 0, 0),
	    tu_utc(2026, 10, 24, 23, 59, 0));

	/* Every-hour schedules run in both copies of the hour. */
	n = runs("0 * * * *", tu_utc(2026, 10, 24, 22, 30, 0),
	    tu_utc(2026, 10, 25, 2, 0, 0), v, 64);
	assert_int_equal(n, 4);
	assert_int_equal(v[0], tu_utc(2026, 10, 24, 23, 0, 0)); /* 01 */
	assert_int_equal(v[1], tu_utc(2026, 10, 25, 0, 0, 0));	/* 02 CEST */
	assert_int_equal(v[2], tu_utc(2026, 10, 25, 1, 0, 0));	/* 02 CET */
	assert_int_equal(v[3], tu_utc(2026, 10, 25, 2, 0, 0));	/* 03 CET */
	/* Starting inside the first copy, the second copy is next. */
	check_next("0 * * * *", tu_utc(2026, 10, 25, 0, 10, 0),
	    tu_utc(2026, 10, 25, 1, 0, 0));
	check_next("*/15 * * * *", tu_utc(2026, 10, 25, 0, 50, 0),
	    tu_utc(2026, 10, 25, 1, 0, 0));
	n = runs("*/15 * * * *", tu_utc(2026, 10, 24, 22, 59, 59),
	    tu_utc(2026, 10, 25, 2, 59, 59), v, 64);
	assert_int_equal(n, 16);
	/* A fixed hour other than the repeated one is unaffected. */
	check_next("0 */2 * * *", tu_utc(2026, 10, 25, 0, 10, 0),
	    tu_utc(2026, 10, 25, 3, 0, 0)); /* 04 CET */
	tu_set_tz("UTC");
}

static void
test_dst_lord_howe(void **state)
{
	(void)state;
	/* Lord Howe Island shifts by 30 minutes (+11 <-> +10:30). */
	tu_set_tz("Australia/Lord_Howe");
	/* 2026-04-05 02:00 +11 -> 01:30 +10:30: 01:30-01:59 twice. */
	check_next("45 1 * * *", tu_utc(2026, 4, 4, 0, 0, 0),
	    tu_utc(2026, 4, 4, 14, 45, 0));
	check_next("45 1 * * *", tu_utc(2026, 4, 4, 14, 45, 0),
	    tu_utc(2026, 4, 5, 15, 15, 0));
	/* 2026-10-04 02:00 +10:30 -> 02:30 +11: 02:15 runs at 02:30. */
	check_next("15 2 * * *", tu_utc(2026, 10, 3, 0, 0, 0),
	    tu_utc(2026, 10, 3, 15, 30, 0));
	check_next("15 2 * * *", tu_utc(2026, 10, 3, 15, 30, 0),
	    tu_utc(2026, 10, 4, 15, 15, 0));
	tu_set_tz("UTC");
}

/* A field of a reference cron matcher, written independently. */
static int
ref_field(const char *f, int v, int min, int max)
{
	char buf[64], *save = NULL, *item;
	int found = 0;

	snprintf(buf, sizeof(buf), "%s", f);
	for (item = strtok_r(buf, ",", &save); item != NULL;
	     item = strtok_r(NULL, ",", &save)) {
		int lo, hi, step = 1;
		char *slash = strchr(item, '/');

		if (slash != NULL)
			step = atoi(slash + 1);
		if (item[0] == '*') {
			lo = min;
			hi = max;
		} else if (strchr(item, '-') != NULL)
			sscanf(item, "%d-%d", &lo, &hi);
		else
			lo = hi = atoi(item);
		if (v >= lo && v <= hi && (v - lo) % step == 0)
			found = 1;
	}
	return found;
}

/* Minute-by-minute reference (UTC, numeric fields only). */
static int64_t
ref_next(char f[5][16], int64_t after)
{
	int64_t t = (after / 60 + 1) * 60;
	int64_t end = after + 6 * 366 * 86400LL;

	for (; t < end; t += 60) {
		time_t tt = (time_t)t;
		struct tm tm;
		int dom, dow;

		gmtime_r(&tt, &tm);
		if (!ref_field(f[0], tm.tm_min, 0, 59) ||
		    !ref_field(f[1], tm.tm_hour, 0, 23) ||
		    !ref_field(f[3], tm.tm_mon + 1, 1, 12))
			continue;
		dom = ref_field(f[2], tm.tm_mday, 1, 31);
		dow = ref_field(f[4], tm.tm_wday, 0, 6) ||
		    (tm.tm_wday == 0 && ref_field(f[4], 7, 0, 7));
		if (f[2][0] == '*' || f[4][0] == '*' ? dom && dow : dom || dow)
			return t;
	}
	return -1;
}

static void
test_bruteforce_utc(void **state)
{
	static const char *const exprs[] = {
		"* * * * *",
		"*/7 * * * *",
		"0 * * * *",
		"15 3 * * *",
		"0 0 1 * *",
		"0 0 * * 0",
		"0 0 * * 7",
		"30 12 15 * 5",
		"0 6-18/3 * * 1-5",
		"5,35 1,13 * 2,6,11 *",
		"0 0 31 * *",
		"0 12 29 2 *",
		"10 10 */5 * *",
		"0 0 1-7 * 1",
		"0 0 */2 * 3",
		"59 23 * * 6",
		"0 4 13 * 5",
		"45 2 28-31 * *",
	};
	char f[5][16];
	uint64_t seed = 12345;
	size_t i, k;

	(void)state;
	tu_set_tz("UTC");
	for (i = 0; i < ARRAY_SIZE(exprs); i++) {
		struct schedule *s = parse_ok(exprs[i]);

		assert_int_equal(sscanf(exprs[i], "%15s %15s %15s %15s %15s",
				     f[0], f[1], f[2], f[3], f[4]),
		    5);
		for (k = 0; k < 6; k++) {
			int64_t after, want, got;

			/* 2024..2032, any second. */
			seed = seed * 6364136223846793005ULL +
			    1442695040888963407ULL;
			after = tu_utc(2024, 1, 1, 0, 0, 0) +
			    (int64_t)((seed >> 11) % (8 * 365 * 86400ULL));
			want = ref_next(f, after);
			got = schedule_next(s, after);
			if (got != want) {
				char a[40], g[40], w[40];

				fmt(after, a, sizeof(a));
				fmt(got, g, sizeof(g));
				fmt(want, w, sizeof(w));
				fail_msg("\"%s\" after %s: got %s, want %s",
				    exprs[i], a, g, w);
			}
		}
		schedule_free(s);
	}
}

static void
check_err_line(const char *text, const char *want, int line)
{
	struct schedule *s = (struct schedule *)0x1;
	struct ag_err err = { "" };

	if (schedule_parse(text, &s, &err) != -1)
		fail_msg("line %d: \"%s\" parsed", line, text);
	assert_ptr_equal(s, (struct schedule *)0x1); /* untouched */
	if (strcmp(err.msg, want) != 0)
		fail_msg("line %d: \"%s\":\n got: %s\nwant: %s", line, text,
		    err.msg, want);
}
#define check_err(text, want) check_err_line(text, want, __LINE__)

static void
test_errors(void **state)
{
	char longs[400];

	(void)state;
	check_err("0 25 * * *", "field 2 (hour): 25 is out of range 0-23");
	check_err("60 * * * *", "field 1 (minute): 60 is out of range 0-59");
	check_err("0 0 0 * *",
	    "field 3 (day of month): 0 is out of range 1-31");
	check_err("0 0 1-32 * *",
	    "field 3 (day of month): 32 is out of range 1-31");
	check_err("0 0 * 13 *", "field 4 (month): 13 is out of range 1-12");
	check_err("0 0 * * 8", "field 5 (day of week): 8 is out of range 0-7");
	check_err("0 0 * * 99999999999",
	    "field 5 (day of week): 99999999999 is out of range 0-7");
	check_err("0 0 * foo *",
	    "field 4 (month): unknown name \"foo\" (use jan-dec)");
	check_err("0 0 * jan-foo *",
	    "field 4 (month): unknown name \"foo\" (use jan-dec)");
	check_err("0 0 * * sunday",
	    "field 5 (day of week): unknown name \"sunday\" (use sun-sat)");
	check_err("0 0 * * 5-1",
	    "field 5 (day of week): range 5-1 is reversed");
	check_err("0 0 * * fri-mon",
	    "field 5 (day of week): range fri-mon is reversed");
	check_err("*/0 * * * *",
	    "field 1 (minute): step 0 is out of range 1-59");
	check_err("0 */24 * * *",
	    "field 2 (hour): step 24 is out of range 1-23");
	check_err("5/15 * * * *",
	    "field 1 (minute): a step needs a range "
	    "or *: \"5\" (write 5-59/...)");
	check_err("*/ * * * *",
	    "field 1 (minute): a step must be a number: \"*/\"");
	check_err("1,,2 * * * *",
	    "field 1 (minute): empty item in list \"1,,2\"");
	check_err("1, * * * *", "field 1 (minute): empty item in list \"1,\"");
	check_err("1- * * * *", "field 1 (minute): a value is missing");
	check_err("a * * * *", "field 1 (minute): \"a\" is not a number");
	check_err("5x * * * *", "field 1 (minute): \"5x\" is not a number");
	check_err("1-5x * * * *", "field 1 (minute): \"5x\" is not a number");
	check_err("*x * * * *",
	    "field 1 (minute): unexpected \"x\" in \"*x\"");
	check_err("1.5 * * * *",
	    "field 1 (minute): unexpected \".\" in \"1.5\"");
	check_err("0 0 30 2 *",
	    "the schedule never runs: no selected month has day 30");
	check_err("0 0 31 apr,jun,sep,nov *",
	    "the schedule never runs: no selected month has day 31");
	check_err("0 0 * * * *",
	    "a cron expression has 5 fields "
	    "(m h dom mon dow), \"0 0 * * * *\" has more");
	check_err("0 0 *",
	    "a cron expression has 5 fields "
	    "(m h dom mon dow), \"0 0 *\" has 3");
	check_err("", "schedule is empty");
	check_err("   ", "schedule is empty");
	check_err(NULL, "schedule is missing");
	check_err("daily",
	    "\"daily\" needs a time: \"daily HH:MM\", "
	    "e.g. \"daily 03:00\"");
	check_err("daily 24:00", "time 24:00: hour 24 is out of range 0-23");
	check_err("daily 3:60", "time 3:60: minute 60 is out of range 0-59");
	check_err("daily 0300", "\"0300\" is not a time of day HH:MM");
	check_err("daily 3:0", "\"3:0\" is not a time of day HH:MM");
	check_err("daily 003:00", "\"003:00\" is not a time of day HH:MM");
	check_err("daily 03:00 extra",
	    "\"daily\" needs a time: "
	    "\"daily HH:MM\", e.g. \"daily 03:00\"");
	check_err("weekly 04:00",
	    "\"weekly\" needs a day and a time: "
	    "\"weekly DOW HH:MM\", e.g. \"weekly sun 04:00\"");
	check_err("weekly funday 04:00",
	    "weekly: \"funday\" is not a day of the week (sun-sat or 0-7)");
	check_err("weekly 8 04:00",
	    "weekly: \"8\" is not a day of the week (sun-sat or 0-7)");
	check_err("monthly 31 04:00",
	    "monthly: day \"31\" is out of range "
	    "1-28 (every month has these; for later days use a cron "
	    "expression)");
	check_err("monthly 0 04:00",
	    "monthly: day \"0\" is out of range "
	    "1-28 (every month has these; for later days use a cron "
	    "expression)");
	check_err("monthly x 04:00",
	    "monthly: day \"x\" is out of range "
	    "1-28 (every month has these; for later days use a cron "
	    "expression)");
	check_err("hourly 5",
	    "\"hourly\" takes nothing after it (it runs "
	    "at minute 0; use \"M * * * *\" for another minute)");
	check_err("every 30s", "every: 30s is out of range 1m-366d");
	check_err("every 400d", "every: 400d is out of range 1m-366d");
	check_err("every 0m", "every: 0m is out of range 1m-366d");
	check_err("every fast",
	    "every: \"fast\" is not a duration (e.g. 30m, 6h, 1d)");
	check_err("every 90500ms",
	    "every: 90500ms is not a whole number of seconds");
	check_err("every",
	    "\"every\" takes one duration, e.g. "
	    "\"every 6h\" or \"every 30m\"");
	check_err("@reboot",
	    "@reboot is not supported: a backup schedule needs times");
	check_err("@often",
	    "unknown shorthand \"@often\" (use @hourly, "
	    "@daily, @weekly, @monthly or @yearly)");
	check_err("@daily 03:00", "@daily takes nothing after it");
	check_err("sometimes",
	    "unknown schedule \"sometimes\": expected 5 "
	    "cron fields (\"m h dom mon dow\"), @daily, \"hourly\", "
	    "\"daily HH:MM\", \"weekly DOW HH:MM\", \"monthly D HH:MM\" or "
	    "\"every 6h\"");
	memset(longs, 'x', sizeof(longs) - 1);
	longs[sizeof(longs) - 1] = '\0';
	check_err(longs, "schedule is longer than 256 characters");
}

static void
test_missed(void **state)
{
	struct schedule *s;
	int64_t last = tu_utc(2026, 11, 20, 3, 0, 5);

	(void)state;
	tu_set_tz("UTC");
	s = parse_ok("daily 03:00");
	assert_true(schedule_missed(s, last, tu_utc(2026, 11, 22, 10, 0, 0)));
	assert_false(schedule_missed(s, last,
	    tu_utc(2026, 11, 21, 2, 59, 59)));
	assert_true(schedule_missed(s, last, tu_utc(2026, 11, 21, 3, 0, 0)));
	assert_false(schedule_missed(s, last, last));
	assert_false(schedule_missed(s, last, last - 86400));
	schedule_free(s);

	s = parse_ok("every 6h");
	assert_false(schedule_missed(s, tu_utc(2026, 11, 22, 6, 0, 0),
	    tu_utc(2026, 11, 22, 11, 59, 59)));
	assert_true(schedule_missed(s, tu_utc(2026, 11, 22, 6, 0, 0),
	    tu_utc(2026, 11, 22, 12, 0, 0)));
	schedule_free(s);

	/* The off-time spans a whole month: still missed (once). */
	s = parse_ok("@monthly");
	assert_true(schedule_missed(s, tu_utc(2026, 9, 30, 0, 0, 0),
	    tu_utc(2026, 11, 22, 0, 0, 0)));
	assert_false(schedule_missed(s, tu_utc(2026, 11, 1, 0, 0, 0),
	    tu_utc(2026, 11, 22, 0, 0, 0)));
	schedule_free(s);
}

static void
test_splay(void **state)
{
	int64_t a, b;
	int differ = 0;
	char job[32];
	int i;

	(void)state;
	/* The published FNV-1a 64 test vectors. */
	assert_true(fnv1a64(FNV1A64_INIT, "", 0) == 0xcbf29ce484222325ULL);
	assert_true(fnv1a64(FNV1A64_INIT, "a", 1) == 0xaf63dc4c8601ec8cULL);
	assert_true(fnv1a64(FNV1A64_INIT, "foobar", 6) ==
	    0x85944171f73967e8ULL);
	assert_true(fnv1a64(fnv1a64(FNV1A64_INIT, "foo", 3), "bar", 3) ==
	    0x85944171f73967e8ULL);
	/* Known answers: FNV-1a 64 of host, NUL, job (docs/SCHEDULE.md). */
	assert_int_equal(schedule_splay_host("web1", "nightly", 3600), 1141);
	assert_int_equal(schedule_splay_host("web2", "nightly", 3600), 2668);
	assert_int_equal(schedule_splay_host("web1", "hourly", 3600), 2085);
	assert_int_equal(schedule_splay_host("web1", "nightly", 0), 0);
	assert_int_equal(schedule_splay_host("web1", "nightly", -5), 0);
	assert_int_equal(schedule_splay_host("web1", "nightly", 1), 0);
	/* Deterministic on this host, and in range. */
	a = schedule_splay("nightly", 900);
	b = schedule_splay("nightly", 900);
	assert_int_equal(a, b);
	assert_true(a >= 0 && a < 900);
	for (i = 0; i < 50; i++) {
		snprintf(job, sizeof(job), "job%d", i);
		a = schedule_splay_host("h", job, 600);
		assert_true(a >= 0 && a < 600);
		if (a != schedule_splay_host("h", "job0", 600))
			differ++;
	}
	assert_true(differ > 40);
}

static void
test_limits(void **state)
{
	struct schedule *s;

	(void)state;
	tu_set_tz("UTC");
	s = parse_ok("0 0 * * *");
	assert_int_equal(schedule_next(s, -1), -1);
	assert_int_equal(schedule_next(s, 253402300799LL), -1);
	assert_int_equal(schedule_next(s, tu_utc(9999, 12, 31, 0, 0, 0)), -1);
	assert_int_equal(schedule_next(s, tu_utc(9999, 12, 30, 12, 0, 0)),
	    tu_utc(9999, 12, 31, 0, 0, 0));
	assert_int_equal(schedule_next(NULL, 0), -1);
	assert_int_equal(schedule_next(s, 0), 86400);
	schedule_free(s);
	schedule_free(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cron_utc),
		cmocka_unit_test(test_friendly_forms),
		cmocka_unit_test(test_every),
		cmocka_unit_test(test_dst_berlin_spring),
		cmocka_unit_test(test_dst_berlin_autumn),
		cmocka_unit_test(test_dst_lord_howe),
		cmocka_unit_test(test_bruteforce_utc),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_missed),
		cmocka_unit_test(test_splay),
		cmocka_unit_test(test_limits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
