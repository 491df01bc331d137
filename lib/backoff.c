/*
 * backoff.c: see backoff.h.  The jitter comes from getrandom(2), not
 * crypto_random(): the light core needs no OpenSSL, and a pause needs no
 * cryptographic randomness.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <sys/random.h>

#include <limits.h>

#include "lib/backoff.h"
#include "lib/clock.h"

int64_t
backoff_delay_ms(const struct backoff *b, unsigned attempt)
{
	int64_t base = b->base_ms, cap = b->cap_ms, d, j;
	uint32_t r = UINT32_MAX / 2;

	for (unsigned i = 1; i < attempt && base < cap; i++)
		base = base > cap / 2 ? cap : base * 2;
	if (base > cap)
		base = cap;
	if (base < 0)
		base = 0;
	(void)getrandom(&r, sizeof(r), GRND_NONBLOCK);
	/* base * 0.8 rounded down, without overflow. */
	d = base / 100 * (100 - BACKOFF_JITTER_PCT) +
	    base % 100 * (100 - BACKOFF_JITTER_PCT) / 100;
	j = (int64_t)((double)base * (2 * BACKOFF_JITTER_PCT / 100.0) *
	    ((double)r / (double)UINT32_MAX));
	return d > cap - j ? cap : d + j;
}

bool
backoff_retry(const struct backoff *b, unsigned *attempt)
{
	int64_t d;

	if (*attempt >= b->retries)
		return false;
	(*attempt)++;
	d = backoff_delay_ms(b, *attempt);
	clock_sleep_ms(d > UINT_MAX ? UINT_MAX : (unsigned)d);
	return true;
}
