/*
 * test_retention.c: the GFS retention policy (table-driven keep/delete
 * outcomes and reasons, incomplete backups, the safety rules, local versus
 * UTC days, ISO weeks across year ends checked against strftime %G-W%V),
 * stale incomplete backups, and backup ids.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "lib/ag.h"

#include "lib/backup_id.h"
#include "backup/retention.h"
#include "tests/unit/fakes/testutil.h"

#define DAY 86400LL

/* A list of backups with ids made from their times. */
#define LIST_MAX 5000
struct list {
	struct backup_ref v[LIST_MAX];
	char ids[LIST_MAX][BACKUP_ID_SIZE];
	struct retention_result r[LIST_MAX];
	size_t n;
};

static struct list *
list_new(void)
{
	struct list *l = calloc(1, sizeof(*l));

	assert_non_null(l);
	return l;
}

static size_t
add(struct list *l, int64_t t, bool complete)
{
	size_t i = l->n++;

	assert_true(i < LIST_MAX);
	assert_int_equal(backup_id_format(t, (unsigned)i & 0xffff, l->ids[i]),
	    0);
	l->v[i].id = l->ids[i];
	l->v[i].time_s = t;
	l->v[i].complete = complete;
	return i;
}

static void
apply(struct list *l, int last, int daily, int weekly, int monthly, bool u)
{
	struct retention_policy p = { .keep_last = last,
		.keep_daily = daily,
		.keep_weekly = weekly,
		.keep_monthly = monthly,
		.utc = u };
	struct ag_err err = { "" };

	if (retention_apply(&p, l->v, l->n, l->r, &err) != 0)
		fail_msg("retention_apply: %s", err.msg);
}

static size_t
count(const struct list *l, enum retention_verdict v)
{
	size_t i, k = 0;

	for (i = 0; i < l->n; i++)
		k += l->r[i].verdict == v;
	return k;
}

/* The backup at time ${t} is kept with exactly ${reason}. */
static void
check_kept_line(const struct list *l, int64_t t, const char *reason, int line)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		if (l->v[i].time_s != t)
			continue;
		if (l->r[i].verdict != RETENTION_KEEP)
			fail_msg("line %d: %s is not kept", line, l->v[i].id);
		if (strcmp(l->r[i].reason, reason) != 0)
			fail_msg("line %d: %s: reason \"%s\", want \"%s\"",
			    line, l->v[i].id, l->r[i].reason, reason);
		return;
	}
	fail_msg("line %d: no backup at %lld", line, (long long)t);
}
#define check_kept(l, t, reason) check_kept_line(l, t, reason, __LINE__)

static void
test_gfs_60_days(void **state)
{
	struct list *l = list_new();
	int64_t last = tu_utc(2026, 11, 22, 3, 0, 0); /* a sunday */
	int k;

	(void)state;
	tu_set_tz("UTC");
	/* Sep 24 .. Nov 22, 03:00, one a day; added oldest first. */
	for (k = 59; k >= 0; k--)
		add(l, last - k * DAY, true);
	apply(l, 0, 7, 4, 6, false);

	check_kept(l, last,
	    "newest, daily 2026-11-22, weekly 2026-W47, "
	    "monthly 2026-11");
	check_kept(l, tu_utc(2026, 11, 21, 3, 0, 0), "daily 2026-11-21");
	check_kept(l, tu_utc(2026, 11, 16, 3, 0, 0), "daily 2026-11-16");
	check_kept(l, tu_utc(2026, 11, 15, 3, 0, 0), "weekly 2026-W46");
	check_kept(l, tu_utc(2026, 11, 8, 3, 0, 0), "weekly 2026-W45");
	check_kept(l, tu_utc(2026, 11, 1, 3, 0, 0), "weekly 2026-W44");
	check_kept(l, tu_utc(2026, 10, 31, 3, 0, 0), "monthly 2026-10");
	check_kept(l, tu_utc(2026, 9, 30, 3, 0, 0), "monthly 2026-09");
	/* 7 daily + 3 more weekly + 2 more monthly; the rest goes. */
	assert_int_equal(count(l, RETENTION_KEEP), 12);
	assert_int_equal(count(l, RETENTION_DELETE), 48);
	for (k = 0; k < 60; k++)
		if (l->r[k].verdict == RETENTION_DELETE)
			assert_string_equal(l->r[k].reason, "");
	free(l);
}

static void
test_keep_last_and_order(void **state)
{
	struct list *l = list_new();
	int64_t t0 = tu_utc(2026, 11, 22, 3, 0, 0);
	size_t a, b, c, d, e;

	(void)state;
	tu_set_tz("UTC");
	/* Any input order. */
	c = add(l, t0 - 2 * 3600, true);
	a = add(l, t0, true);
	e = add(l, t0 - 4 * 3600, true);
	b = add(l, t0 - 1 * 3600, true);
	d = add(l, t0 - 3 * 3600, true);
	apply(l, 3, 0, 0, 0, false);
	assert_int_equal(l->r[a].verdict, RETENTION_KEEP);
	assert_string_equal(l->r[a].reason, "newest, last 1");
	assert_string_equal(l->r[b].reason, "last 2");
	assert_string_equal(l->r[c].reason, "last 3");
	assert_int_equal(l->r[d].verdict, RETENTION_DELETE);
	assert_int_equal(l->r[e].verdict, RETENTION_DELETE);

	/*
	 * keep_last 1 plus daily 2: a..d fall on the 22nd, e (23:00) on the
	 * 21st, so the second day reaches back to e.
	 */
	apply(l, 1, 2, 0, 0, false);
	assert_string_equal(l->r[a].reason,
	    "newest, last 1, "
	    "daily 2026-11-22");
	assert_string_equal(l->r[e].reason, "daily 2026-11-21");
	assert_int_equal(l->r[b].verdict, RETENTION_DELETE);
	assert_int_equal(count(l, RETENTION_KEEP), 2);

	/* More backups than keep_last: all kept when it is larger. */
	apply(l, 10, 0, 0, 0, false);
	assert_int_equal(count(l, RETENTION_KEEP), 5);
	assert_string_equal(l->r[e].reason, "last 5");
	free(l);
}

static void
test_several_per_day(void **state)
{
	struct list *l = list_new();
	size_t a1, a2, a3, b1, b2, c1;

	(void)state;
	tu_set_tz("UTC");
	a1 = add(l, tu_utc(2026, 11, 20, 1, 0, 0), true);
	a2 = add(l, tu_utc(2026, 11, 20, 13, 0, 0), true);
	a3 = add(l, tu_utc(2026, 11, 20, 23, 59, 59), true);
	b1 = add(l, tu_utc(2026, 11, 21, 0, 0, 0), true);
	b2 = add(l, tu_utc(2026, 11, 21, 12, 0, 0), true);
	c1 = add(l, tu_utc(2026, 11, 22, 3, 0, 0), true);
	apply(l, 0, 2, 0, 0, false);
	assert_string_equal(l->r[c1].reason, "newest, daily 2026-11-22");
	assert_string_equal(l->r[b2].reason, "daily 2026-11-21");
	assert_int_equal(l->r[b1].verdict, RETENTION_DELETE);
	assert_int_equal(l->r[a1].verdict, RETENTION_DELETE);
	assert_int_equal(l->r[a2].verdict, RETENTION_DELETE);
	assert_int_equal(l->r[a3].verdict, RETENTION_DELETE);
	/* Three days: the last second of the 20th is its newest. */
	apply(l, 0, 3, 0, 0, false);
	assert_string_equal(l->r[a3].reason, "daily 2026-11-20");
	assert_int_equal(count(l, RETENTION_KEEP), 3);
	/* Days without a backup do not count: keep_daily is per day seen. */
	free(l);

	l = list_new();
	c1 = add(l, tu_utc(2026, 11, 22, 3, 0, 0), true);
	b1 = add(l, tu_utc(2026, 10, 1, 3, 0, 0), true);
	a1 = add(l, tu_utc(2026, 1, 1, 3, 0, 0), true);
	apply(l, 0, 3, 0, 0, false);
	assert_int_equal(count(l, RETENTION_KEEP), 3);
	assert_string_equal(l->r[a1].reason, "daily 2026-01-01");
	free(l);
}

static void
test_equal_times(void **state)
{
	int64_t t = tu_utc(2026, 11, 22, 3, 0, 0);
	struct backup_ref v[2];
	struct retention_result r[2];
	struct retention_policy p = { .keep_last = 1 };

	(void)state;
	tu_set_tz("UTC");
	/* Same second: the larger id (suffix) counts as newer. */
	v[0].id = "2026-11-22T030000Z-00aa";
	v[0].time_s = t;
	v[0].complete = true;
	v[1].id = "2026-11-22T030000Z-ff00";
	v[1].time_s = t;
	v[1].complete = true;
	assert_int_equal(retention_apply(&p, v, 2, r, NULL), 0);
	assert_int_equal(r[0].verdict, RETENTION_DELETE);
	assert_string_equal(r[1].reason, "newest, last 1");
}

static void
test_incomplete(void **state)
{
	struct list *l = list_new();
	size_t inc_new, inc_old, d21, d20, d19, d18;

	(void)state;
	tu_set_tz("UTC");
	inc_new = add(l, tu_utc(2026, 11, 22, 3, 0, 0), false);
	d21 = add(l, tu_utc(2026, 11, 21, 3, 0, 0), true);
	inc_old = add(l, tu_utc(2026, 11, 20, 4, 0, 0), false);
	d20 = add(l, tu_utc(2026, 11, 20, 3, 0, 0), true);
	d19 = add(l, tu_utc(2026, 11, 19, 3, 0, 0), true);
	d18 = add(l, tu_utc(2026, 11, 18, 3, 0, 0), true);
	apply(l, 1, 2, 0, 0, false);
	/* Incomplete ones neither kept nor counted nor deleted here. */
	assert_int_equal(l->r[inc_new].verdict, RETENTION_INCOMPLETE);
	assert_string_equal(l->r[inc_new].reason, "incomplete");
	assert_int_equal(l->r[inc_old].verdict, RETENTION_INCOMPLETE);
	assert_string_equal(l->r[d21].reason,
	    "newest, last 1, daily 2026-11-21");
	assert_string_equal(l->r[d20].reason, "daily 2026-11-20");
	assert_int_equal(l->r[d19].verdict, RETENTION_DELETE);
	assert_int_equal(l->r[d18].verdict, RETENTION_DELETE);

	/* Only incomplete backups: nothing kept, nothing deleted. */
	free(l);
	l = list_new();
	add(l, tu_utc(2026, 11, 22, 3, 0, 0), false);
	add(l, tu_utc(2026, 11, 21, 3, 0, 0), false);
	apply(l, 3, 7, 4, 6, false);
	assert_int_equal(count(l, RETENTION_INCOMPLETE), 2);
	free(l);
}

static void
test_safety_rules(void **state)
{
	struct list *l = list_new();
	size_t i, inc;

	(void)state;
	tu_set_tz("UTC");
	for (i = 0; i < 30; i++)
		add(l, tu_utc(2026, 11, 22, 3, 0, 0) - (int64_t)i * 7 * DAY,
		    true);
	inc = add(l, tu_utc(2026, 11, 23, 3, 0, 0), false);

	/* All zero: nothing at all is deleted. */
	apply(l, 0, 0, 0, 0, false);
	assert_int_equal(count(l, RETENTION_DELETE), 0);
	assert_int_equal(count(l, RETENTION_KEEP), 30);
	assert_int_equal(l->r[inc].verdict, RETENTION_INCOMPLETE);
	assert_string_equal(l->r[0].reason, "newest, no policy");
	assert_string_equal(l->r[29].reason, "no policy");

	/* The newest complete backup is kept and says why. */
	apply(l, 0, 0, 0, 1, false);
	assert_string_equal(l->r[0].reason, "newest, monthly 2026-11");
	assert_int_equal(count(l, RETENTION_KEEP), 1);
	apply(l, 0, 0, 2, 0, false);
	assert_string_equal(l->r[0].reason, "newest, weekly 2026-W47");
	assert_string_equal(l->r[1].reason, "weekly 2026-W46");
	assert_int_equal(count(l, RETENTION_KEEP), 2);
	free(l);
}

static void
test_local_days(void **state)
{
	struct list *l = list_new();
	size_t late, early, prev;

	(void)state;
	/* 00:30 CET on the 22nd is 23:30 UTC on the 21st. */
	late = add(l, tu_utc(2026, 11, 21, 23, 30, 0), true);
	early = add(l, tu_utc(2026, 11, 21, 22, 30, 0), true);
	prev = add(l, tu_utc(2026, 11, 20, 12, 0, 0), true);

	tu_set_tz("Europe/Berlin");
	apply(l, 0, 2, 0, 0, false);
	assert_string_equal(l->r[late].reason, "newest, daily 2026-11-22");
	assert_string_equal(l->r[early].reason, "daily 2026-11-21");
	assert_int_equal(l->r[prev].verdict, RETENTION_DELETE);

	/* The same list by UTC days. */
	apply(l, 0, 2, 0, 0, true);
	assert_string_equal(l->r[late].reason, "newest, daily 2026-11-21");
	assert_int_equal(l->r[early].verdict, RETENTION_DELETE);
	assert_string_equal(l->r[prev].reason, "daily 2026-11-20");

	/* TZ=UTC gives the UTC answer. */
	tu_set_tz("UTC");
	apply(l, 0, 2, 0, 0, false);
	assert_int_equal(l->r[early].verdict, RETENTION_DELETE);
	free(l);
}

static void
test_dst_days(void **state)
{
	struct list *l = list_new();
	int64_t t;
	size_t i;

	(void)state;
	/* Hourly backups across the Berlin spring-forward day. */
	for (t = tu_utc(2026, 3, 27, 0, 0, 0);
	     t < tu_utc(2026, 3, 31, 0, 0, 0); t += 3600)
		add(l, t, true);

	/* UTC days are 24 backups each, DST or not. */
	tu_set_tz("Europe/Berlin");
	apply(l, 0, 3, 0, 0, true);
	check_kept(l, tu_utc(2026, 3, 30, 23, 0, 0),
	    "newest, daily 2026-03-30");
	check_kept(l, tu_utc(2026, 3, 29, 23, 0, 0), "daily 2026-03-29");
	check_kept(l, tu_utc(2026, 3, 28, 23, 0, 0), "daily 2026-03-28");
	assert_int_equal(count(l, RETENTION_KEEP), 3);

	/*
	 * Local days: the newest of the 29th (a 23-hour day, ending at
	 * 21:59 UTC), of the 30th (ending 21:59 UTC) and the 31st.
	 */
	apply(l, 0, 3, 0, 0, false);
	check_kept(l, tu_utc(2026, 3, 30, 23, 0, 0),
	    "newest, daily 2026-03-31");
	check_kept(l, tu_utc(2026, 3, 30, 21, 0, 0), "daily 2026-03-30");
	check_kept(l, tu_utc(2026, 3, 29, 21, 0, 0), "daily 2026-03-29");
	assert_int_equal(count(l, RETENTION_KEEP), 3);
	for (i = 0; i < l->n; i++)
		if (l->v[i].time_s == tu_utc(2026, 3, 28, 22, 0, 0))
			assert_int_equal(l->r[i].verdict, RETENTION_DELETE);
	tu_set_tz("UTC");
	free(l);
}

static void
test_iso_weeks(void **state)
{
	struct list *l = list_new();
	int64_t t, first = tu_utc(2019, 12, 1, 12, 0, 0);
	size_t i, kept = 0;
	char want[40];

	(void)state;
	tu_set_tz("UTC");
	/*
	 * One backup a day for 13 years (2020 and 2032: leap years that
	 * begin on a wednesday and a thursday); keep every week.
	 */
	for (t = first; t < tu_utc(2033, 2, 15, 0, 0, 0); t += DAY)
		add(l, t, true);
	apply(l, 0, 0, 100000, 0, false);
	for (i = 0; i < l->n; i++) {
		time_t tt = (time_t)l->v[i].time_s;
		struct tm tm;
		bool newest = i == l->n - 1;

		gmtime_r(&tt, &tm);
		/* The newest of an ISO week is its sunday. */
		if (tm.tm_wday != 0 && !newest) {
			if (l->r[i].verdict != RETENTION_DELETE)
				fail_msg("%s kept: %s", l->v[i].id,
				    l->r[i].reason);
			continue;
		}
		strftime(want, sizeof(want), "weekly %G-W%V", &tm);
		if (newest) {
			char w2[48];

			snprintf(w2, sizeof(w2), "newest, %s", want);
			assert_string_equal(l->r[i].reason, w2);
		} else if (strcmp(l->r[i].reason, want) != 0)
			fail_msg("%s: \"%s\", want \"%s\"", l->v[i].id,
			    l->r[i].reason, want);
		kept++;
	}
	assert_int_equal(count(l, RETENTION_KEEP), kept);
	free(l);

	/* Year ends: 2026 has 53 weeks; 2024-12-30 is in 2025-W01. */
	l = list_new();
	add(l, tu_utc(2027, 1, 4, 3, 0, 0), true);
	add(l, tu_utc(2027, 1, 1, 3, 0, 0), true);
	add(l, tu_utc(2026, 12, 31, 3, 0, 0), true);
	add(l, tu_utc(2024, 12, 30, 3, 0, 0), true);
	add(l, tu_utc(2024, 12, 29, 3, 0, 0), true);
	apply(l, 0, 0, 10, 10, false);
	assert_string_equal(l->r[0].reason,
	    "newest, weekly 2027-W01, "
	    "monthly 2027-01");
	assert_string_equal(l->r[1].reason, "weekly 2026-W53");
	assert_string_equal(l->r[2].reason, "monthly 2026-12");
	assert_string_equal(l->r[3].reason,
	    "weekly 2025-W01, "
	    "monthly 2024-12");
	assert_string_equal(l->r[4].reason, "weekly 2024-W52");
	free(l);
}

static void
test_errors(void **state)
{
	struct backup_ref v[1] = { { "2026-11-22T030000Z-3f9a", 0, true } };
	struct retention_result r[1];
	struct retention_policy p = { .keep_last = 1 };
	struct ag_err err = { "" };

	(void)state;
	assert_int_equal(retention_apply(&p, NULL, 0, NULL, &err), 0);
	p.keep_daily = -1;
	assert_int_equal(retention_apply(&p, v, 1, r, &err), -1);
	assert_string_equal(err.msg,
	    "retention: keep_* values must be 0 or more");
	p.keep_daily = 0;
	v[0].time_s = -5;
	assert_int_equal(retention_apply(&p, v, 1, r, &err), -1);
	assert_string_equal(err.msg,
	    "retention: backup "
	    "2026-11-22T030000Z-3f9a: time -5 is out of range");
	v[0].time_s = 0;
	v[0].id = NULL;
	assert_int_equal(retention_apply(&p, v, 1, r, &err), -1);
	assert_string_equal(err.msg, "retention: backup 0 has no id");
	assert_int_equal(retention_apply(NULL, v, 1, r, NULL), -1);
	assert_int_equal(retention_apply(&p, v, RETENTION_MAX_BACKUPS + 1, r,
			     &err),
	    -1);
}

static void
test_stale_incomplete(void **state)
{
	struct backup_ref v[5];
	bool stale[5];
	int64_t now = tu_utc(2026, 11, 22, 3, 0, 0);

	(void)state;
	v[0] = (struct backup_ref){ "2026-11-22T030000Z-aaaa", now, false };
	v[1] = (struct backup_ref){ "2026-11-21T030000Z-bbbb", now - DAY,
		false };
	v[2] = (struct backup_ref){ "2026-11-21T030000Z-cccc", now - DAY,
		true };
	v[3] = (struct backup_ref){ "2026-11-22T020000Z-dddd", now - 3600,
		false };
	v[4] = (struct backup_ref){ "2026-11-20T030000Z-eeee", now - 2 * DAY,
		false };

	/* The runner under the job lock: everything older than itself. */
	retention_stale_incomplete(v, 5, v[0].id, now, 0, stale);
	assert_false(stale[0]);
	assert_true(stale[1]);
	assert_false(stale[2]);
	assert_true(stale[3]);
	assert_true(stale[4]);

	/* Without the lock: a grace of 24 h spares recent ones. */
	retention_stale_incomplete(v, 5, NULL, now, DAY, stale);
	assert_false(stale[0]);
	assert_false(stale[1]); /* exactly 24 h: not more */
	assert_false(stale[2]);
	assert_false(stale[3]);
	assert_true(stale[4]);
	retention_stale_incomplete(v, 5, NULL, now + 1, DAY, stale);
	assert_true(stale[1]);
	/* The running backup is spared whatever its age. */
	retention_stale_incomplete(v, 5, v[4].id, now, 0, stale);
	assert_false(stale[4]);
	assert_true(stale[1]);
}

static void
test_backup_id(void **state)
{
	char id[BACKUP_ID_SIZE], id2[BACKUP_ID_SIZE];
	int64_t t, got;
	int i, differ = 0;

	(void)state;
	t = tu_utc(2026, 11, 22, 3, 0, 0);
	assert_int_equal(backup_id_format(t, 0x3f9a, id), 0);
	assert_string_equal(id, "2026-11-22T030000Z-3f9a");
	assert_int_equal(backup_id_parse(id, &got), 0);
	assert_int_equal(got, t);
	assert_int_equal(backup_id_format(0, 0, id), 0);
	assert_string_equal(id, "1970-01-01T000000Z-0000");
	assert_int_equal(backup_id_format(BACKUP_ID_TIME_MAX, 0xffff, id), 0);
	assert_string_equal(id, "9999-12-31T235959Z-ffff");
	assert_int_equal(backup_id_parse(id, &got), 0);
	assert_int_equal(got, BACKUP_ID_TIME_MAX);
	assert_int_equal(backup_id_format(-1, 0, id), -1);
	assert_string_equal(id, "");
	assert_int_equal(backup_id_format(BACKUP_ID_TIME_MAX + 1, 0, id), -1);
	assert_int_equal(backup_id_format(t, 0x10000, id), -1);
	assert_int_equal(backup_id_format(tu_utc(2024, 2, 29, 23, 59, 58),
			     0xab, id),
	    0);
	assert_string_equal(id, "2024-02-29T235958Z-00ab");

	/* Random suffixes; the time part parses back. */
	assert_int_equal(backup_id_make(t, id2), 0);
	for (i = 0; i < 20; i++) {
		assert_int_equal(backup_id_make(t + 59, id), 0);
		assert_int_equal(strlen(id), BACKUP_ID_LEN);
		assert_memory_equal(id, "2026-11-22T030059Z-", 19);
		assert_int_equal(backup_id_parse(id, &got), 0);
		assert_int_equal(got, t + 59);
		differ += strcmp(id + 19, id2 + 19) != 0;
	}
	assert_true(differ > 0);
	assert_int_equal(backup_id_make(-1, id), -1);

	/* Ids sort by time as strings. */
	assert_int_equal(backup_id_format(tu_utc(2026, 9, 1, 0, 0, 0), 0xffff,
			     id),
	    0);
	assert_int_equal(backup_id_format(tu_utc(2026, 10, 1, 0, 0, 0), 0,
			     id2),
	    0);
	assert_true(strcmp(id, id2) < 0);

	/* Every second of a few days round-trips. */
	for (t = tu_utc(2027, 2, 27, 0, 0, 0); t < tu_utc(2027, 3, 2, 0, 0, 0);
	     t += 7) {
		assert_int_equal(backup_id_format(t, 0x1234, id), 0);
		assert_int_equal(backup_id_parse(id, &got), 0);
		assert_int_equal(got, t);
	}
}

static void
test_backup_id_strict(void **state)
{
	static const char *const bad[] = {
		"",
		"2026-11-22T030000Z",
		"2026-11-22T030000Z-3f9",
		"2026-11-22T030000Z-3f9a0",
		"2026-11-22T030000Z-3F9A",
		"2026-11-22T030000Z-3f9g",
		"2026-11-22t030000Z-3f9a",
		"2026-11-22T030000z-3f9a",
		"2026-11-22T030000Z_3f9a",
		"2026/11/22T030000Z-3f9a",
		"2026-11-22T03:00:0Z-3f9a",
		"2026-13-22T030000Z-3f9a",
		"2026-00-22T030000Z-3f9a",
		"2026-11-00T030000Z-3f9a",
		"2026-11-31T030000Z-3f9a",
		"2026-02-29T030000Z-3f9a",
		"2100-02-29T030000Z-3f9a",
		"2026-11-22T240000Z-3f9a",
		"2026-11-22T036000Z-3f9a",
		"2026-11-22T030060Z-3f9a",
		"1969-12-31T235959Z-3f9a",
		"2026-11-22T 30000Z-3f9a",
		"+026-11-22T030000Z-3f9a",
		" 2026-11-22T030000Z-3f9",
		"2026-11-22T030000Z-3f9a\n",
	};
	int64_t got = 42;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		if (backup_id_parse(bad[i], &got) != -1)
			fail_msg("\"%s\" parsed", bad[i]);
		assert_int_equal(got, 42);
	}
	assert_int_equal(backup_id_parse(NULL, &got), -1);
	assert_int_equal(backup_id_parse("2024-02-29T030000Z-3f9a", NULL), 0);
	assert_int_equal(backup_id_parse("2000-02-29T030000Z-0000", &got), 0);
	assert_int_equal(got, tu_utc(2000, 2, 29, 3, 0, 0));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gfs_60_days),
		cmocka_unit_test(test_keep_last_and_order),
		cmocka_unit_test(test_several_per_day),
		cmocka_unit_test(test_equal_times),
		cmocka_unit_test(test_incomplete),
		cmocka_unit_test(test_safety_rules),
		cmocka_unit_test(test_local_days),
		cmocka_unit_test(test_dst_days),
		cmocka_unit_test(test_iso_weeks),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_stale_incomplete),
		cmocka_unit_test(test_backup_id),
		cmocka_unit_test(test_backup_id_strict),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
