/*
 * test_backoff.c: lib/backoff.c, the one retry policy.
 *
 * Each pause lies within +-20% of base * 2^(attempt-1), the nominal pause
 * is capped and so is the jittered one; attempt 0 counts as 1; pauses
 * differ (jitter); a cap near INT64_MAX does not overflow; the retry
 * budget allows exactly ${retries} retries, each sleeping its pause, and
 * none with a budget of 0.  The callers' policies keep their numbers: the
 * spool's 1 s to 5 min, storage calls' 500 ms, 5 retries.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "lib/backoff.h"
#include "lib/clock.h"
#include "agent/spool.h"
#include "providers/storage.h"

static void
test_delay_range(void **state)
{
	const struct backoff b = { .base_ms = 500, .cap_ms = 30000 };
	int64_t nominal[] = { 500, 500, 1000, 2000, 4000, 8000, 16000, 30000,
		30000 };

	(void)state;
	for (unsigned a = 0; a < sizeof(nominal) / sizeof(nominal[0]); a++) {
		int64_t lo = nominal[a] * 8 / 10, hi = nominal[a] * 12 / 10;

		if (hi > b.cap_ms)
			hi = b.cap_ms;
		for (int k = 0; k < 100; k++) {
			int64_t d = backoff_delay_ms(&b, a);

			assert_true(d >= lo);
			assert_true(d <= hi);
		}
	}
	for (int k = 0; k < 100; k++)
		assert_true(backoff_delay_ms(&b, UINT_MAX) <= 30000);
}

static void
test_jitter(void **state)
{
	const struct backoff b = { .base_ms = 10000, .cap_ms = 20000 };
	int64_t first = backoff_delay_ms(&b, 1), lo = first, hi = first;
	int distinct = 0;

	(void)state;
	for (int k = 0; k < 200; k++) {
		int64_t d = backoff_delay_ms(&b, 1);

		distinct += d != first;
		lo = d < lo ? d : lo;
		hi = d > hi ? d : hi;
	}
	assert_true(distinct > 150);
	/* Both sides of the nominal pause are reached, and no further. */
	assert_true(lo < 9500);
	assert_true(hi > 10500);
	assert_true(lo >= 8000);
	assert_true(hi <= 12000);
}

static void
test_no_overflow(void **state)
{
	const struct backoff b = { .base_ms = INT64_MAX / 3,
		.cap_ms = INT64_MAX };

	(void)state;
	for (unsigned a = 1; a < 70; a++) {
		int64_t d = backoff_delay_ms(&b, a);

		assert_true(d >= INT64_MAX / 3 / 10 * 8);
		assert_true(d <= INT64_MAX);
	}
}

static void
test_budget(void **state)
{
	const struct backoff b = { .base_ms = 5, .cap_ms = 20, .retries = 3 };
	const struct backoff none = { .base_ms = 5, .cap_ms = 20 };
	unsigned attempt = 0;
	int n = 0;
	int64_t t0;

	(void)state;
	t0 = clock_mono_ms();
	while (backoff_retry(&b, &attempt))
		n++;
	assert_int_equal(n, 3);
	assert_int_equal(attempt, 3);
	/* Slept 5, 10, 20 ms, each at least 80% of it. */
	assert_true(clock_mono_ms() - t0 >= 4 + 8 + 16);
	assert_false(backoff_retry(&b, &attempt));
	attempt = 0;
	assert_false(backoff_retry(&none, &attempt));
	assert_int_equal(attempt, 0);
}

static void
test_callers(void **state)
{
	(void)state;
	assert_int_equal(storage_retry.base_ms, 500);
	assert_int_equal(storage_retry.retries, 5);
	for (int k = 0; k < 50; k++) {
		int64_t d = spool_backoff_ms(1);

		assert_true(d >= SPOOL_BACKOFF_MIN_MS * 8 / 10);
		assert_true(d <= SPOOL_BACKOFF_MIN_MS * 12 / 10);
		assert_true(spool_backoff_ms(100) <= SPOOL_BACKOFF_MAX_MS);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_delay_range),
		cmocka_unit_test(test_jitter),
		cmocka_unit_test(test_no_overflow),
		cmocka_unit_test(test_budget),
		cmocka_unit_test(test_callers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
