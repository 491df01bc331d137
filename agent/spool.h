/*
 * spool.h: the durable notification queue in the state directory.
 *
 * An entry is one notification for one notifier.  spool_put() writes it to a
 * file, fsyncs file and directory, and only then returns, so an entry exists
 * on disk before the first send attempt; spool_done() removes it after the
 * receiver accepted it.  Entries survive kill -9 and restarts.  The spool
 * holds at most ${max} entries; putting one more drops the oldest, with a
 * log line.  Retry timing (capped exponential backoff with jitter) is kept
 * per entry in memory and restarts from zero after a restart.
 * Thread-safe: the scheduler puts, the sender thread takes.
 */
#ifndef VIGIL_SPOOL_H
#define VIGIL_SPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agent/notify.h"

struct spool;

struct spool_entry {
	uint64_t seq;			/* order of arrival */
	char notifier[64];
	struct notification n;
	unsigned attempts;
	int64_t next_ms;		/* monotonic time of the next attempt */
};

/**
 * spool_open(dir, max, ret):
 * Open (creating it 0700 if needed) the spool in ${dir} and load the entries
 * already there; unreadable ones are moved aside to ${dir}/bad/ with a log
 * line.  Return 0 with the spool in ${ret}, or -1 (logged).
 */
int spool_open(const char *dir, size_t max, struct spool **ret);

/**
 * spool_put(sp, notifier, n):
 * Store ${n} for ${notifier} durably.  Return 0, or -1 (logged) if it could
 * not be written.
 */
int spool_put(struct spool *sp, const char *notifier,
    const struct notification *n);

/**
 * spool_next(sp, now_ms, ret, ret_wait_ms):
 * Copy the oldest entry due at monotonic time ${now_ms} into ${ret} and
 * return 1; if none is due return 0 and store in ${ret_wait_ms} how long
 * until one is (-1: the spool is empty).
 */
int spool_next(struct spool *sp, int64_t now_ms, struct spool_entry *ret,
    int64_t *ret_wait_ms);

/**
 * spool_next_skip(sp, now_ms, skip, cookie, ret, ret_wait_ms):
 * Like spool_next(), passing over the whole queue of every notifier for
 * which ${skip}(${cookie}, notifier) is true (the sender: a request of that
 * notifier is in flight); their entries count neither as due nor in
 * ${ret_wait_ms}.  ${skip} is called with the spool locked.
 */
int spool_next_skip(struct spool *sp, int64_t now_ms,
    bool (*skip)(void *cookie, const char *notifier), void *cookie,
    struct spool_entry *ret, int64_t *ret_wait_ms);

/* spool_done(sp, seq): the entry was delivered (or dropped): remove it. */
int spool_done(struct spool *sp, uint64_t seq);

/**
 * spool_retry(sp, seq, now_ms):
 * Delivery failed transiently: schedule the next attempt after a capped
 * exponential backoff with jitter (1 s doubling to 5 min).
 */
void spool_retry(struct spool *sp, uint64_t seq, int64_t now_ms);

/*
 * spool_retry_now(sp, notifier): make ${notifier}'s entries (NULL: all
 * entries) due at once.
 */
void spool_retry_now(struct spool *sp, const char *notifier);

size_t spool_depth(struct spool *sp);
/* spool_depth_for(sp, notifier): entries waiting for one notifier. */
size_t spool_depth_for(struct spool *sp, const char *notifier);
/* spool_dropped(sp): entries dropped because the spool was full. */
uint64_t spool_dropped(struct spool *sp);

void spool_close(struct spool *sp);

/* Backoff bounds, exposed for tests. */
#define SPOOL_BACKOFF_MIN_MS 1000
#define SPOOL_BACKOFF_MAX_MS 300000

/**
 * spool_backoff_ms(attempts):
 * The delay before the next try after ${attempts} failed ones: 1 s doubled
 * per attempt up to 5 min, then +-20% random jitter, never over the cap.
 */
int64_t spool_backoff_ms(unsigned attempts);

#endif
