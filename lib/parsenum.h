/*
 * parsenum.h: strict parsing of the numbers people write in configs and on
 * command lines.  Every function rejects trailing garbage, empty strings and
 * out-of-range values, and leaves ${ret} untouched on failure.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef VIGIL_PARSENUM_H
#define VIGIL_PARSENUM_H

#include <stddef.h>
#include <stdint.h>

/**
 * parse_duration_ms(s, ret_ms):
 * Parse "250ms", "90s", "5m", "2h", "1d", "1w" or a combination such as
 * "1h30m"; a bare number means seconds.  Return 0 or -1.
 */
int parse_duration_ms(const char *s, int64_t *ret_ms);

/**
 * parse_size(s, ret):
 * Parse a byte size: "4096", "64k", "4MiB", "1G" (powers of 1024).
 * Return 0 or -1.
 */
int parse_size(const char *s, uint64_t *ret);

/* parse_double(s, ret): a finite number.  Return 0 or -1. */
int parse_double(const char *s, double *ret);

/* parse_int64(s, ret): a base-10 integer.  Return 0 or -1. */
int parse_int64(const char *s, int64_t *ret);

/**
 * format_duration(ms, buf, len):
 * Write ${ms} as a short human duration ("2h5m", "45s") into ${buf}.
 */
void format_duration(int64_t ms, char *buf, unsigned len);

/**
 * format_duration_ms(ms, buf, len):
 * Write ${ms} as "300 ms" (under 10 s) or "90 s" into ${buf}, the form of
 * backup timeouts in error messages; return ${buf}.
 */
const char *format_duration_ms(int64_t ms, char *buf, size_t len);

#endif
