/*
 * fuzz_schedule.c: fuzzing target for backup schedules (the `schedule`
 * setting of a job, docs/SCHEDULE.md).
 *
 * The input is a schedule string (cut at a NUL).  schedule_parse() must
 * refuse it with a message, leaving its output alone, or accept it; an
 * accepted schedule is asked for its next run after a few fixed times
 * (around both daylight-saving changes, near the end of the range) and one
 * taken from the input, in a time zone with daylight saving and in UTC.
 * Checked, for every answer r after t:
 *
 *  - r is -1 or later than t, and the run after r is later than r;
 *  - r is also the next run after any time in [t, r): no run is skipped
 *    or invented depending on where the search starts;
 *  - schedule_missed() agrees: a run fell in (t, r], none in (t, r - 1];
 *  - an "every" schedule runs on multiples of its interval;
 *  - the splay of the input as host and job name is in [0, 600).
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/ag.h"
#include "lib/fnv.h"
#include "lib/schedule.h"

#include "tests/fuzz/fuzz.h"

/* POSIX rules need no tzdata: Central Europe and New Zealand. */
static const char *const zones[] = {
	"CET-1CEST,M3.5.0,M10.5.0/3",
	"NZST-12NZDT,M9.5.0,M4.1.0/3",
	"UTC0",
};

static const int64_t times[] = {
	0, 86399, 1774745999, /* 2026-03-29T00:59:59Z: CET springs */
	1792888200,	      /* 2026-10-25T00:30:00Z: CEST falls */
	1795316400,	      /* 2026-11-22T03:00:00Z */
	253402300000LL,	      /* the last minutes of 9999 */
};

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_quiet();
	return 0;
}

static void
check_after(const struct schedule *s, const char *text, int64_t t)
{
	int64_t r, r2, every = schedule_interval(s);

	r = schedule_next(s, t);
	if (r == -1)
		return;
	if (r <= t)
		fuzz_fail("schedule_next(\"%s\", %" PRId64 ") = %" PRId64,
		    text, t, r);
	if (every > 0 && r % every != 0)
		fuzz_fail("schedule_next(\"%s\", %" PRId64 ") = %" PRId64
			  " is not a multiple of %" PRId64,
		    text, t, r, every);
	if (!schedule_missed(s, t, r))
		fuzz_fail("schedule_missed(\"%s\", %" PRId64 ", %" PRId64
			  ") is false, but that is its next run",
		    text, t, r);
	if (r - 1 > t && schedule_missed(s, t, r - 1))
		fuzz_fail("schedule_missed(\"%s\", %" PRId64 ", %" PRId64
			  ") is true, but the next run is %" PRId64,
		    text, t, r - 1, r);
	/* "The first run after t": so also the first after t..r-1. */
	if ((r2 = schedule_next(s, t + (r - t) / 2)) != r ||
	    (r2 = schedule_next(s, r - 1)) != r)
		fuzz_fail("schedule_next(\"%s\"): after %" PRId64
			  " comes %" PRId64
			  ", but after a later time before it comes %" PRId64,
		    text, t, r, r2);
	r2 = schedule_next(s, r);
	if (r2 != -1 && r2 <= r)
		fuzz_fail("schedule_next(\"%s\", %" PRId64 ") = %" PRId64
			  " after a run at %" PRId64,
		    text, r, r2, r);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct schedule *s, *canary = (struct schedule *)&canary;
	struct ag_err err = { "" };
	uint64_t h = fnv1a64(FNV1A64_INIT, data, size);
	int64_t splay;
	const char *text;
	char *str;

	if (size > 2 * SCHEDULE_TEXT_MAX)
		return 0;
	str = fuzz_strndup(data, size);
	s = canary;
	if (schedule_parse(str, &s, &err) != 0) {
		fuzz_note("schedule_parse: %s", err.msg);
		if (s != canary)
			fuzz_fail("schedule_parse() failed but set its output");
		if (err.msg[0] == '\0')
			fuzz_fail("schedule_parse(\"%s\") failed without a "
				  "message",
			    str);
		free(str);
		return 0;
	}
	fuzz_note("schedule \"%s\": next %" PRId64, str,
	    schedule_next(s, times[4]));
	text = schedule_text(s);
	if (text == NULL || strlen(text) > SCHEDULE_TEXT_MAX)
		fuzz_fail("schedule_text(): %s",
		    text == NULL ? "NULL" : "too long");
	for (size_t z = 0; z < sizeof(zones) / sizeof(zones[0]); z++) {
		setenv("TZ", zones[z], 1);
		tzset();
		for (size_t i = 0; i < sizeof(times) / sizeof(times[0]); i++)
			check_after(s, str, times[i]);
		/* Somewhere in 1970 .. 2514. */
		check_after(s, str, (int64_t)(h >> 30));
	}
	if ((splay = schedule_splay_host(str, str, 600)) < 0 || splay >= 600)
		fuzz_fail("schedule_splay_host(\"%s\") = %" PRId64 ", not in "
			  "[0, 600)",
		    str, splay);
	schedule_free(s);
	free(str);
	return 0;
}
