/*
 * backoff.h: the one retry policy of the tree: exponential backoff with
 * jitter and a retry budget.  Each caller keeps its own numbers (the
 * spool's deliveries, storage calls, the upload stage's parts).
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef VIGIL_BACKOFF_H
#define VIGIL_BACKOFF_H

#include <stdbool.h>
#include <stdint.h>

/* Each pause lies within +-BACKOFF_JITTER_PCT % of its nominal length. */
#define BACKOFF_JITTER_PCT 20

struct backoff {
	int64_t base_ms;  /* the first pause */
	int64_t cap_ms;	  /* no pause is longer */
	unsigned retries; /* backoff_retry()'s budget */
};

/**
 * backoff_delay_ms(b, attempt):
 * The pause before retry ${attempt} (1 for the first; 0 counts as 1):
 * ${b}->base_ms doubled for each retry after the first, at most
 * ${b}->cap_ms, then moved uniformly within +-20% and again capped.
 * Without randomness (getrandom(2) fails) the pause is the nominal one.
 */
int64_t backoff_delay_ms(const struct backoff *b, unsigned attempt);

/**
 * backoff_retry(b, attempt):
 * Call after a transient failure, with ${attempt} (0 before the first
 * retry) kept across the calls of one operation.  If fewer than
 * ${b}->retries retries were made, count this one in ${attempt}, sleep
 * its backoff_delay_ms() and return true; else return false (the budget
 * is spent).
 */
bool backoff_retry(const struct backoff *b, unsigned *attempt);

#endif
