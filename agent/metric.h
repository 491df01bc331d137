/*
 * metric.h: readings and the batch a source appends them to.
 *
 * A reading is a name ("cpu.used_pct", "disk./var.used_pct",
 * "net.eth0.rx_bytes_per_s"), a value and a timestamp in milliseconds since
 * the epoch.  A batch grows up to a fixed maximum; reaching it is an error.
 *
 * Cloud sources name a reading with labels, the resource it is about:
 * "<source>.<metric>{Key=value,...}" ("ec2.CPUUtilization{InstanceId=i-1}"),
 * the labels sorted by key, and '\\', ',', '}' and '=' in keys and values
 * escaped with a backslash.  The part before the '{' is the base name.
 * metric_name_format() makes such a name, metric_label_get() and
 * metric_label_next() read it back.  A source whose resource went away
 * (a terminated instance) hands in a retirement (metric_retire()): the
 * rules forget that series without a notification.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef VIGIL_METRIC_H
#define VIGIL_METRIC_H

#include <stddef.h>
#include <stdint.h>

/*
 * Room for a cloud resource's labels: an Auto Scaling group name alone may
 * have 255 characters, an Azure resource id about as many.
 */
#define METRIC_NAME_MAX 512

/* metric.flags: the series of this name is gone; value means nothing. */
#define METRIC_RETIRED 0x1
/*
 * metric.flags: a point of a time series stamped by its source (a cloud
 * bucket): a rule takes each time once, so the same point handed in again
 * (after a reload or a restart of the source) is ignored.
 */
#define METRIC_POINT 0x2

struct metric {
	char name[METRIC_NAME_MAX];
	double value;
	int64_t ts_ms;
	unsigned flags;
};

/* One label of a reading's name. */
struct metric_label {
	const char *key;
	const char *value;
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
 * metric_retire(b, name):
 * Append a retirement of the series ${name}: rules forget it silently.
 * Return 0 or -1, as metric_add_ts().
 */
int metric_retire(struct metric_batch *b, const char *name);

/**
 * metric_name_format(buf, len, base, labels, n):
 * "${base}{K1=v1,K2=v2}" into ${buf}: the ${n} labels sorted by key
 * (${labels} itself is left alone), '\\', ',', '}' and '=' in keys and
 * values escaped with a backslash; just ${base} when ${n} is 0.  Return
 * the length, or -1 if it does not fit in ${len} bytes, a key is empty,
 * two keys are equal, ${n} is over METRIC_LABELS_MAX or ${base} has a '{'.
 */
#define METRIC_LABELS_MAX 32
int metric_name_format(char *buf, size_t len, const char *base,
    const struct metric_label *labels, size_t n);

/**
 * metric_base_len(name):
 * The length of the base of ${name}: up to its first '{', else all of it.
 */
size_t metric_base_len(const char *name);

/**
 * metric_label_next(cursor, key, klen, val, vlen):
 * Iterate over the labels of a name: start with *${cursor} = the name;
 * each call unescapes the next label into ${key} and ${val} (buffers of
 * ${klen} and ${vlen} bytes) and moves *${cursor} on.  Return 1 with a
 * label, 0 when there is none left (or the name has no labels), -1 if the
 * labels are malformed or do not fit.
 */
int metric_label_next(const char **cursor, char *key, size_t klen, char *val,
    size_t vlen);

/**
 * metric_label_get(name, key, val, vlen):
 * The value of label ${key} of ${name} into ${val}.  Return 1 if found, 0
 * if not, -1 if the labels are malformed or the value does not fit.
 */
int metric_label_get(const char *name, const char *key, char *val,
    size_t vlen);

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
