/*
 * clock.h: the two clocks, in milliseconds.  Wall time stamps readings and
 * notifications; monotonic time schedules work and measures rates.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef VIGIL_CLOCK_H
#define VIGIL_CLOCK_H

#include <stddef.h>
#include <stdint.h>

int64_t clock_wall_ms(void);
int64_t clock_mono_ms(void);

/*
 * The test clock.  clock_wall_ms() normally reads CLOCK_REALTIME.  For
 * tests, wall time may run from ${start_ms} at ${speed} times the pace of
 * the monotonic clock (1: real pace; 3600: an hour a second), from the
 * moment of the call.  clock_test_set(0, 0) goes back to the real clock.
 * A program also takes it from the environment at the first
 * clock_wall_ms(): VIGIL_TEST_CLOCK="START_MS:SPEED" (e.g.
 * "1796083200000:3600"; SPEED defaults to 1).  Never set in production:
 * it exists so that tests/integration/it_archive.sh can run a day of
 * readings in seconds (docs/ARCHIVE.md); unit tests move time at will
 * (a tiny speed holds it nearly still).
 */
void clock_test_set(int64_t start_ms, double speed);

/* clock_sleep_ms(ms): sleep ${ms} milliseconds, through signals. */
void clock_sleep_ms(unsigned ms);

/**
 * clock_rfc3339(ms, buf, len):
 * Format wall time ${ms} as "2026-11-22T03:00:00.123Z" into ${buf} (at least
 * 25 bytes).
 */
void clock_rfc3339(int64_t ms, char *buf, size_t len);

/*
 * clock_parse_rfc3339(s, ret_ms): the inverse, for UTC times only ("Z" or
 * "+00:00"; any fraction, milliseconds kept), as the clouds write them.
 * 0 or -1.
 */
int clock_parse_rfc3339(const char *s, int64_t *ret_ms);

#endif
