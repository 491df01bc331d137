/*
 * src.h: helpers shared by the local sources (agent/sources/src_*.c): bounded
 * reads of files under the proc root (see source_proc_path()), a reading
 * appender that explains its failures, glob lists built from settings, and
 * a small table of named counters for the sources that report rates.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef VIGIL_SRC_H
#define VIGIL_SRC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agent/metric.h"
#include "lib/ag.h"

/* Longest line src_lines() hands over; longer lines are cut to this. */
#define SRC_LINE_MAX 8192

/* Most bytes src_lines() reads from one file before giving up. */
#define SRC_FILE_MAX (64u * 1024 * 1024)

/**
 * src_read(rel, buf, size, ret_len, err):
 * Read at most ${size} - 1 bytes of /proc/${rel} (under the proc root) into
 * ${buf} and NUL-terminate it; a longer file is cut short.  Store the length
 * in ${ret_len} (may be NULL).  Return 0, or -1 with "cannot read PATH:
 * reason" in ${err}.
 */
int src_read(const char *rel, char *buf, size_t size, size_t *ret_len,
    struct ag_err *err);

/*
 * A line callback: ${line} has its newline removed and may be modified.
 * Return 0 to go on, 1 to stop reading, -1 to fail (with ${err} set).
 */
typedef int src_line_fn(void *cookie, char *line, struct ag_err *err);

/**
 * src_lines(rel, fn, cookie, err):
 * Call ${fn} for each line of /proc/${rel} under the proc root, through a
 * fixed buffer (lines longer than SRC_LINE_MAX - 1 bytes are cut).  Return
 * 0, or -1 if the file cannot be read (${err} says why), is larger than
 * SRC_FILE_MAX, or ${fn} failed.
 */
int src_lines(const char *rel, src_line_fn *fn, void *cookie,
    struct ag_err *err);

/**
 * src_add(b, err, value, fmt, ...):
 * metric_add(), but on failure write "cannot add NAME: batch full or name
 * too long" into ${err}.  Return 0 or -1.
 */
int src_add(struct metric_batch *b, struct ag_err *err, double value,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/**
 * src_patterns_new(prefix, items, suffixes):
 * The NULL-terminated vector "PREFIX.ITEM.SUFFIX" for every item of the
 * NULL-terminated ${items} and every suffix, for patterns() of a source
 * whose settings name exactly what it reports.  Return NULL on OOM.  Free
 * with ag_strv_free().
 */
char **src_patterns_new(const char *prefix, char *const *items,
    const char *const *suffixes);

/* src_all_digits(s): is ${s} one or more decimal digits and nothing else? */
bool src_all_digits(const char *s);

/* src_strv_has(v, s): is ${s} an element of the vector ${v} (may be NULL)? */
bool src_strv_has(char *const *v, const char *s);

/* How many counters one series of a src_series_set keeps. */
#define SRC_SERIES_CTRS 5
/* Longest series name (an interface or a block device) plus one. */
#define SRC_SERIES_NAME 64

struct src_series {
	char name[SRC_SERIES_NAME];
	uint64_t c[SRC_SERIES_CTRS];
};

/*
 * A bounded set of named counter samples.  A rate source parses each
 * sample into a fresh set, compares it with the previous one and keeps it.
 */
struct src_series_set {
	struct src_series *v;
	size_t n, cap, max;
	int64_t mono_ms; /* when the sample was taken */
};

/* src_series_init(s, max): an empty set of at most ${max} series. */
void src_series_init(struct src_series_set *s, size_t max);
void src_series_free(struct src_series_set *s);

/**
 * src_series_add(s, name, c, err):
 * Append series ${name} with counters ${c}.  Return 0, or -1 with ${err}
 * if the set is full or memory ran out.
 */
int src_series_add(struct src_series_set *s, const char *name,
    const uint64_t c[SRC_SERIES_CTRS], struct ag_err *err);

/**
 * src_series_find(s, hint, name):
 * The series called ${name}, or NULL.  Index ${hint} is tried first: from
 * one sample to the next the order rarely changes.
 */
const struct src_series *src_series_find(const struct src_series_set *s,
    size_t hint, const char *name);

/* src_series_swap(a, b): exchange the contents of two sets. */
void src_series_swap(struct src_series_set *a, struct src_series_set *b);

#endif
