/*
 * retention.h: which backups of a job to keep (grandfather-father-son), and
 * which incomplete backups are stale.  Pure functions over a list of
 * (id, start time, complete) records, which come from object names alone
 * (docs/BACKUP-FORMAT.md, 1.2); no I/O, no logging.
 *
 * The rules follow restic's `forget --keep-*`.  Complete backups are taken
 * newest first (by time, then by id):
 *
 *	keep_last N	the N newest backups;
 *	keep_daily N	for the N most recent days that have a backup, the
 *			newest backup of each day;
 *	keep_weekly N	the same per ISO 8601 week (monday to sunday);
 *	keep_monthly N	the same per calendar month.
 *
 * Days, weeks and months are those of the local time zone (the one the
 * schedule runs in) unless the policy asks for UTC.  A backup kept by any
 * rule is kept; each rule counts on its own.  Two safety rules come first:
 * if every keep_* is 0 nothing is deleted, and the newest complete backup is
 * always kept.  Incomplete backups are never kept, counted or deleted by the
 * policy: they are reported as RETENTION_INCOMPLETE, and
 * retention_stale_incomplete() says which of them the runner may delete.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef VIGIL_BACKUP_RETENTION_H
#define VIGIL_BACKUP_RETENTION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ag_err;

struct retention_policy {
	int keep_last; /* each 0 = rule not used */
	int keep_daily;
	int keep_weekly;
	int keep_monthly;
	bool utc; /* UTC calendar, not local */
};

struct backup_ref {
	const char *id; /* "2026-11-22T030000Z-3f9a" */
	int64_t time_s; /* start, Unix seconds */
	bool complete;	/* its manifest exists */
};

enum retention_verdict {
	RETENTION_DELETE = 0, /* complete, no rule keeps it */
	RETENTION_KEEP,	      /* complete, kept: see reason */
	RETENTION_INCOMPLETE  /* ignored by the policy */
};

/* Enough for every reason at once, e.g. "newest, last 1, daily
 * 2026-11-21, weekly 2026-W47, monthly 2026-11". */
#define RETENTION_REASON_SIZE 96

struct retention_result {
	enum retention_verdict verdict;
	/*
	 * Why a backup is kept, the rules joined by ", ": "newest" (the
	 * newest complete backup), "no policy" (every keep_* is 0),
	 * "last N" (the N-th newest), "daily 2026-11-21",
	 * "weekly 2026-W47", "monthly 2026-10".  "incomplete" for
	 * incomplete backups; empty for deleted ones.
	 */
	char reason[RETENTION_REASON_SIZE];
};

/* Largest number of backups retention_apply() takes at once. */
#define RETENTION_MAX_BACKUPS 1000000

/**
 * retention_apply(policy, v, n, ret, err):
 * Apply ${policy} to the ${n} backups ${v} (any order; times 1970-9999) and
 * store a verdict and reason for each in ${ret}[i], which has ${n}
 * elements and matches ${v} index by index.  Return 0, or -1 with a
 * message in ${err} for a negative keep_* value, a NULL id, a time out of
 * range, more than RETENTION_MAX_BACKUPS backups, or an allocation failure
 * (${ret} is then unspecified: delete nothing).
 */
int retention_apply(const struct retention_policy *policy,
    const struct backup_ref *v, size_t n, struct retention_result *ret,
    struct ag_err *err);

/**
 * retention_stale_incomplete(v, n, running_id, now_s, grace_s, ret_stale):
 * Set ${ret_stale}[i] for each incomplete backup the runner may delete: not
 * the backup being written now (${running_id}, may be NULL) and started
 * more than ${grace_s} seconds before ${now_s}.  The job runner, holding the
 * job lock, passes its own id and start time with a grace of 0 (every
 * older incomplete backup is a crashed run); a prune without the lock (the
 * CLI while the daemon may be writing) passes the current time and a grace
 * longer than any backup takes, e.g. 24 hours.  Complete backups are never
 * stale.
 */
void retention_stale_incomplete(const struct backup_ref *v, size_t n,
    const char *running_id, int64_t now_s, int64_t grace_s, bool *ret_stale);

#endif
