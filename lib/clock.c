/*
 * clock.c: see clock.h.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/civil.h"
#include "lib/clock.h"

static int64_t
ts_ms(clockid_t id)
{
	struct timespec ts;

	(void)clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The test clock (clock_test_set()); speed 0: the real clock. */
static _Atomic int64_t test_start_ms, test_mono0_ms;
static _Atomic double test_speed;
static pthread_once_t test_once = PTHREAD_ONCE_INIT;

void
clock_test_set(int64_t start_ms, double speed)
{
	test_start_ms = start_ms;
	test_mono0_ms = ts_ms(CLOCK_MONOTONIC);
	test_speed = speed > 0 ? speed : 0;
}

static void
test_from_env(void)
{
	const char *v = getenv("VIGIL_TEST_CLOCK");
	long long start;
	double speed = 1;

	if (v == NULL || sscanf(v, "%lld:%lf", &start, &speed) < 1 ||
	    start <= 0 || speed <= 0)
		return;
	clock_test_set((int64_t)start, speed);
}

int64_t
clock_wall_ms(void)
{
	double speed;

	(void)pthread_once(&test_once, test_from_env);
	if ((speed = test_speed) > 0)
		return test_start_ms +
		    (int64_t)((double)(ts_ms(CLOCK_MONOTONIC) -
				  test_mono0_ms) *
			speed);
	return ts_ms(CLOCK_REALTIME);
}

int64_t
clock_mono_ms(void)
{
	return ts_ms(CLOCK_MONOTONIC);
}

void
clock_sleep_ms(unsigned ms)
{
	struct timespec ts = { .tv_sec = ms / 1000,
		.tv_nsec = (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

void
clock_rfc3339(int64_t ms, char *buf, size_t len)
{
	int64_t sec = ms / 1000, frac = ms % 1000;
	time_t t;
	struct tm tm;
	char base[32];

	/* Round toward minus infinity, so times before 1970 read right. */
	if (frac < 0) {
		frac += 1000;
		sec--;
	}
	t = (time_t)sec;
	gmtime_r(&t, &tm);
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, len, "%s.%03dZ", base, (int)frac);
}

int
clock_parse_rfc3339(const char *s, int64_t *ret_ms)
{
	struct tm tm;
	const char *p;
	int64_t frac = 0;
	int digits = 0;

	memset(&tm, 0, sizeof(tm));
	if ((p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm)) == NULL)
		return -1;
	if (*p == '.') {
		for (p++; *p >= '0' && *p <= '9'; p++, digits++)
			if (digits < 3)
				frac = frac * 10 + (*p - '0');
		for (; digits < 3; digits++)
			frac *= 10;
	}
	if (strcmp(p, "Z") != 0 && strcmp(p, "+00:00") != 0)
		return -1;
	/* strptime() takes February 31st; timegm() would move it. */
	if (tm.tm_mday > civil_days_in_month(tm.tm_year + 1900, tm.tm_mon + 1))
		return -1;
	*ret_ms = (int64_t)timegm(&tm) * 1000 + frac;
	return 0;
}
