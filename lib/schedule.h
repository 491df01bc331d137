/*
 * schedule.h: when a backup job runs.  A job's `schedule` string is parsed
 * once into a struct schedule; schedule_next() then answers "when is the
 * next run after time T" in local time (TZ, /etc/localtime), correct across
 * daylight-saving changes.  Pure functions: no I/O except reading the time
 * zone through localtime_r(), no logging.
 *
 * Accepted forms (docs/SCHEDULE.md has the details):
 *
 *	"m h dom mon dow"	five-field cron: *, lists, ranges, steps
 *				(*\/15, 1-5/2), names jan-dec and sun-sat,
 *				7 = sunday; when both dom and dow are
 *				restricted, a day matching either runs
 *	"@hourly" "@daily" "@midnight" "@weekly" "@monthly" "@yearly"
 *	"@annually"		cron's shorthands
 *	"hourly"		minute 0 of every hour
 *	"daily HH:MM"		every day
 *	"weekly DOW HH:MM"	e.g. "weekly sun 04:00"
 *	"monthly D HH:MM"	D is 1-28 (a day every month has)
 *	"every 6h", "every 30m"	a fixed interval, aligned to multiples
 *				of the interval since 1970-01-01 00:00
 *				UTC, so that a restart never shifts it
 *
 * Daylight saving: a wall-clock time that does not exist (spring forward)
 * runs once at the first valid time after the gap; a wall-clock time that
 * occurs twice (fall back) runs once, at its first occurrence.  Schedules
 * whose hour field is every hour ("*", "hourly", "*\/15 * * * *") instead
 * follow real time: they skip wall-clock times that do not exist and do run
 * in both copies of a repeated hour, as cron does.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef VIGIL_SCHEDULE_H
#define VIGIL_SCHEDULE_H

#include <stdbool.h>
#include <stdint.h>

struct ag_err;
struct schedule;

/* Longest schedule string accepted. */
#define SCHEDULE_TEXT_MAX 256

/* Interval bounds for "every": one minute to 366 days. */
#define SCHEDULE_EVERY_MIN_S 60
#define SCHEDULE_EVERY_MAX_S (366 * 86400LL)

/**
 * schedule_parse(s, ret, err):
 * Parse the schedule string ${s}.  On success store a new schedule in
 * ${ret}, which the caller frees with schedule_free(), and return 0.  On
 * failure return -1 with one precise sentence in ${err} (may be NULL), e.g.
 * "field 2 (hour): 25 is out of range 0-23"; ${ret} is untouched.
 */
int schedule_parse(const char *s, struct schedule **ret, struct ag_err *err);

/* schedule_free(s): free ${s}; NULL is a no-op. */
void schedule_free(struct schedule *s);

/**
 * schedule_next(s, after_s):
 * The first run time of ${s} strictly after ${after_s} (Unix seconds),
 * in Unix seconds, or -1 if there is none before the year 10000 or
 * ${after_s} is before 1970.  Cron-like forms are evaluated in local time
 * (the caller runs tzset() after changing TZ; this function calls it too).
 * Does not block.
 */
int64_t schedule_next(const struct schedule *s, int64_t after_s);

/**
 * schedule_missed(s, last_run_s, now_s):
 * Whether a run time of ${s} fell in (${last_run_s}, ${now_s}], i.e. the
 * host was off or the daemon down when the job should have run.  The runner
 * then runs the job once at start-up (not once per missed time).  With a
 * splay, pass both times minus the job's splay.  A job that never ran has no
 * missed runs: the runner passes its first start time as ${last_run_s}.
 */
bool schedule_missed(const struct schedule *s, int64_t last_run_s,
    int64_t now_s);

/**
 * schedule_splay(job, splay_s):
 * A deterministic offset in [0, ${splay_s}) for job ${job} on this host:
 * FNV-1a 64 (lib/fnv.h) of the host name, a NUL byte and the job name,
 * reduced modulo ${splay_s}.  The runner starts the job that many seconds after each
 * scheduled time, so that a fleet with the same schedule does not hit the
 * storage at once, while each host keeps the same time from run to run.
 * Return 0 if ${splay_s} <= 0.
 */
int64_t schedule_splay(const char *job, int64_t splay_s);

/**
 * schedule_splay_host(host, job, splay_s):
 * schedule_splay() with the host name given (for tests and for showing
 * another host's offset).
 */
int64_t schedule_splay_host(const char *host, const char *job,
    int64_t splay_s);

/**
 * schedule_text(s):
 * The schedule as it was written, whitespace trimmed (for status output).
 * Valid as long as ${s}.
 */
const char *schedule_text(const struct schedule *s);

/**
 * schedule_interval(s):
 * For an "every" schedule its interval in seconds; 0 for calendar
 * schedules.
 */
int64_t schedule_interval(const struct schedule *s);

#endif
