/*
 * retention.c: the GFS retention policy (see retention.h).
 *
 * The complete backups are sorted newest first.  Each rule then walks that
 * order with its own counter and the bucket ("2026-11-21", "2026-W47",
 * "2026-11") of the last backup it kept: a backup whose bucket differs is
 * the newest of a new bucket, so the rule keeps it and counts one, until
 * the counter runs out.  This is restic's algorithm, and why keep_daily 7
 * means "the 7 most recent days that have a backup", not "the last 7
 * calendar days".
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/ag.h"

#include "lib/backup_id.h"

#include "backup/retention.h"

/* One complete backup, with its calendar buckets. */
struct entry {
	size_t idx; /* into the caller's arrays */
	int64_t time_s;
	const char *id;
	int day;   /* yyyymmdd */
	int week;  /* iso year * 100 + iso week */
	int month; /* yyyymm */
};

static int
entry_cmp(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;
	int c;

	/* Newest first; equal times by id, larger first; then stable. */
	if (x->time_s != y->time_s)
		return x->time_s < y->time_s ? 1 : -1;
	if ((c = strcmp(x->id, y->id)) != 0)
		return c < 0 ? 1 : -1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* Number of ISO weeks (52 or 53) in year ${y}. */
static int
iso_weeks_in_year(int y)
{
	/* p(y): weekday of December 31 of y, 0 = sunday. */
#define P(y) (((y) + (y) / 4 - (y) / 100 + (y) / 400) % 7)
	/* 53 weeks if the year ends on a thursday or began on one. */
	return P(y) == 4 || P(y - 1) == 3 ? 53 : 52;
#undef P
}

/* ISO 8601 week of a broken-down date: iso year * 100 + week. */
static int
iso_week(const struct tm *tm)
{
	int year = tm->tm_year + 1900;
	int wday = (tm->tm_wday + 6) % 7; /* monday = 0 */
	/* ordinal day (1-based) - iso weekday (1-7) + 10, over 7 */
	int week = (tm->tm_yday - wday + 10) / 7;

	if (week < 1)
		return (year - 1) * 100 + iso_weeks_in_year(year - 1);
	if (week > iso_weeks_in_year(year))
		return (year + 1) * 100 + 1;
	return year * 100 + week;
}

/* Append ", what" (or "what" first) to ${r}. */
static void
reason_add(struct retention_result *r, const char *what)
{
	size_t len = strlen(r->reason);

	snprintf(r->reason + len, sizeof(r->reason) - len, "%s%s",
	    len > 0 ? ", " : "", what);
}

int
retention_apply(const struct retention_policy *p, const struct backup_ref *v,
    size_t n, struct retention_result *ret, struct ag_err *err)
{
	struct entry *e;
	size_t i, ne = 0;
	int left_last, left_day, left_week, left_month;
	int last_day = -1, last_week = -1, last_month = -1;
	bool all_zero;
	char buf[40];

	if (p == NULL || (n > 0 && (v == NULL || ret == NULL)))
		return ag_err_set(err, "retention: no policy or no list");
	if (p->keep_last < 0 || p->keep_daily < 0 || p->keep_weekly < 0 ||
	    p->keep_monthly < 0)
		return ag_err_set(err,
		    "retention: keep_* values must be 0 or "
		    "more");
	if (n > RETENTION_MAX_BACKUPS)
		return ag_err_set(err,
		    "retention: %zu backups, more than the "
		    "%d this version handles",
		    n, RETENTION_MAX_BACKUPS);
	for (i = 0; i < n; i++) {
		if (v[i].id == NULL)
			return ag_err_set(err,
			    "retention: backup %zu has no "
			    "id",
			    i);
		if (v[i].time_s < 0 || v[i].time_s > BACKUP_ID_TIME_MAX)
			return ag_err_set(err,
			    "retention: backup %s: time "
			    "%lld is out of range",
			    v[i].id, (long long)v[i].time_s);
	}
	if (n == 0)
		return 0;
	if ((e = calloc(n, sizeof(*e))) == NULL)
		return ag_err_set(err, "retention: out of memory");

	if (!p->utc)
		tzset();
	for (i = 0; i < n; i++) {
		struct tm tm;
		time_t t = (time_t)v[i].time_s;

		ret[i].reason[0] = '\0';
		if (!v[i].complete) {
			ret[i].verdict = RETENTION_INCOMPLETE;
			reason_add(&ret[i], "incomplete");
			continue;
		}
		ret[i].verdict = RETENTION_DELETE;
		if ((p->utc ? gmtime_r(&t, &tm) : localtime_r(&t, &tm)) ==
		    NULL) {
			free(e);
			return ag_err_set(err,
			    "retention: backup %s: cannot "
			    "convert time %lld",
			    v[i].id, (long long)v[i].time_s);
		}
		e[ne].idx = i;
		e[ne].time_s = v[i].time_s;
		e[ne].id = v[i].id;
		e[ne].day = (tm.tm_year + 1900) * 10000 +
		    (tm.tm_mon + 1) * 100 + tm.tm_mday;
		e[ne].week = iso_week(&tm);
		e[ne].month = (tm.tm_year + 1900) * 100 + tm.tm_mon + 1;
		ne++;
	}
	qsort(e, ne, sizeof(*e), entry_cmp);

	all_zero = p->keep_last == 0 && p->keep_daily == 0 &&
	    p->keep_weekly == 0 && p->keep_monthly == 0;
	left_last = p->keep_last;
	left_day = p->keep_daily;
	left_week = p->keep_weekly;
	left_month = p->keep_monthly;
	for (i = 0; i < ne; i++) {
		struct retention_result *r = &ret[e[i].idx];

		if (i == 0)
			reason_add(r, "newest");
		if (all_zero)
			reason_add(r, "no policy");
		if (left_last > 0) {
			snprintf(buf, sizeof(buf), "last %zu", i + 1);
			reason_add(r, buf);
			left_last--;
		}
		if (left_day > 0 && e[i].day != last_day) {
			snprintf(buf, sizeof(buf), "daily %04d-%02d-%02d",
			    e[i].day / 10000, e[i].day / 100 % 100,
			    e[i].day % 100);
			reason_add(r, buf);
			last_day = e[i].day;
			left_day--;
		}
		if (left_week > 0 && e[i].week != last_week) {
			snprintf(buf, sizeof(buf), "weekly %04d-W%02d",
			    e[i].week / 100, e[i].week % 100);
			reason_add(r, buf);
			last_week = e[i].week;
			left_week--;
		}
		if (left_month > 0 && e[i].month != last_month) {
			snprintf(buf, sizeof(buf), "monthly %04d-%02d",
			    e[i].month / 100, e[i].month % 100);
			reason_add(r, buf);
			last_month = e[i].month;
			left_month--;
		}
		if (r->reason[0] != '\0')
			r->verdict = RETENTION_KEEP;
	}
	free(e);
	return 0;
}

void
retention_stale_incomplete(const struct backup_ref *v, size_t n,
    const char *running_id, int64_t now_s, int64_t grace_s, bool *ret_stale)
{
	size_t i;

	if (grace_s < 0)
		grace_s = 0;
	for (i = 0; i < n; i++) {
		ret_stale[i] = false;
		if (v[i].complete || v[i].id == NULL)
			continue;
		if (running_id != NULL && strcmp(v[i].id, running_id) == 0)
			continue;
		/* Compare without overflow: time + grace < now. */
		if (v[i].time_s < now_s && now_s - v[i].time_s > grace_s)
			ret_stale[i] = true;
	}
}
