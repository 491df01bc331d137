/*
 * metric.h: readings and the batch a source appends them to.
 *
 * A reading is a name ("cpu.used_pct", "disk./var.used_pct",
 * "net.eth0.rx_bytes_per_s"), a value and a timestamp in milliseconds since
 * the epoch.  A batch grows up to a fixed maximum; reaching it is an error.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef VIGIL_METRIC_H
#define VIGIL_METRIC_H

#include <stddef.h>
#include <stdint.h>

#define METRIC_NAME_MAX 200

struct metric {
	char name[METRIC_NAME_MAX];
	double value;
	int64_t ts_ms;
};

struct metric_batch {
	struct metric *v;
	size_t n, cap, max;
	int64_t now_ms;	 /* collection time; readings default to it */
	int64_t mono_ms; /* monotonic clock, for rates */
};

/* metric_batch_init(b, max): an empty batch of at most ${max} readings. */
void metric_batch_init(struct metric_batch *b, size_t max);
void metric_batch_reset(struct metric_batch *b);
void metric_batch_free(struct metric_batch *b);

/**
 * metric_add(b, value, fmt, ...):
 * Append a reading named by ${fmt} with the batch's time.  Names longer than
 * METRIC_NAME_MAX - 1 are refused.  Return 0, or -1 if full or too long.
 */
int metric_add(struct metric_batch *b, double value, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* metric_add_ts(b, ts_ms, value, name): append with an explicit time. */
int metric_add_ts(struct metric_batch *b, int64_t ts_ms, double value,
    const char *name);

/**
 * metric_glob_match(pattern, name):
 * Does ${name} match ${pattern}, where '*' matches any run of characters
 * (including dots and slashes) and '?' one character?  Return 1 or 0.
 */
int metric_glob_match(const char *pattern, const char *name);

/**
 * metric_glob_overlap(a, b):
 * Can some name match both globs ${a} and ${b}?  Used to check that a rule's
 * selector can match what a source produces.  Return 1 or 0.
 */
int metric_glob_overlap(const char *a, const char *b);

/**
 * metric_rate(prev, cur, dt_ms, ret):
 * The per-second rate of a monotonic counter that went from ${prev} to ${cur}
 * in ${dt_ms}.  A counter that went backwards (wrapped or reset) yields no
 * rate.  Return 0 with ${ret} set, or -1.
 */
int metric_rate(uint64_t prev, uint64_t cur, int64_t dt_ms, double *ret);

#endif
