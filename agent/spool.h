/*
 * spool.h: the durable notification queue in the state directory.
 *
 * An entry is one notification for one notifier.  spool_put() writes it to a
 * file, fsyncs file and directory, and only then returns, so an entry exists
 * on disk before the first send attempt; spool_done() removes it after the
 * receiver accepted it.  Entries survive kill -9 and restarts.
 *
 * When the file cannot be written (a full disk, an I/O error), the entry is
 * kept in memory all the same: it is delivered like any other, and every
 * spool_put() and spool_tick() tries again to write it, so it reaches the
 * disk once there is room.  spool_write_errors() says how the disk is.
 *
 * The spool holds at most ${max} entries, on disk or in memory; putting one
 * more drops the oldest.  Every drop is counted by rule and series and by
 * reason, shown in `vigil status`, and logged in one summary line a minute.
 *
 * Entries of a notifier the configuration no longer has (see
 * spool_set_notifiers()) are kept aside: never handed out, counted per
 * notifier, until `vigil queue retry --to` re-routes or `vigil queue drop`
 * discards them, or a reload brings their notifier back.
 *
 * Retry timing (capped exponential backoff with jitter) is kept per entry in
 * memory and restarts from zero after a restart.
 * Thread-safe: the scheduler puts, the sender thread takes.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef VIGIL_SPOOL_H
#define VIGIL_SPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/ag.h"
#include "agent/notify.h"

struct spool;

struct spool_entry {
	uint64_t seq; /* order of arrival; the entry's id */
	char notifier[64];
	struct notification n;
	unsigned attempts;
	int64_t next_ms; /* monotonic time of the next attempt */
};

/*
 * Sequence numbers are below SPOOL_SEQ_LIMIT (2^62), so a file name that
 * parses is never near the 64-bit wrap; spool_open() renumbers the entries
 * from 0, in order, once the highest reaches SPOOL_SEQ_RENUMBER (2^61).
 */
#define SPOOL_SEQ_LIMIT (UINT64_C(1) << 62)
#define SPOOL_SEQ_RENUMBER (UINT64_C(1) << 61)

/* How often a summary of drops may be logged. */
#define SPOOL_DROP_LOG_MS 60000

/**
 * spool_open(dir, max, ret):
 * Open (creating it 0700 if needed) the spool in ${dir} and load the entries
 * already there; unreadable ones, and files whose names are not valid entry
 * names, are moved aside to ${dir}/bad/ with a log line.  Return 0 with the
 * spool in ${ret}, or -1 (logged).
 */
int spool_open(const char *dir, size_t max, struct spool **ret);

/**
 * spool_put(sp, notifier, n):
 * Store ${n} for ${notifier}: on disk, or, if the file cannot be written,
 * in memory until it can.  Return 0, or -1 (logged and counted as a drop)
 * if it could not be queued at all.
 */
int spool_put(struct spool *sp, const char *notifier,
    const struct notification *n);

/**
 * spool_tick(sp, now_ms):
 * Periodic work at monotonic time ${now_ms}: write entries held in memory
 * to disk (at most once a second), and log the summary of drops when one
 * is due.  Call it from the main loop.  Return the monotonic time at which
 * it wants to be called again (INT64_MAX: only after the next put).
 */
int64_t spool_tick(struct spool *sp, int64_t now_ms);

/**
 * spool_set_notifiers(sp, nf, n):
 * The configuration has the ${n} notifiers ${nf}: entries of any other
 * notifier are kept aside from now on, entries of these are delivered
 * again.  Until the first call every notifier counts as configured.
 * Return 0, or -1 (out of memory, logged; the previous set stays).
 */
int spool_set_notifiers(struct spool *sp, struct notifier *const *nf,
    size_t n);

/**
 * spool_next(sp, now_ms, ret, ret_wait_ms):
 * Copy the oldest entry due at monotonic time ${now_ms} into ${ret} and
 * return 1; if none is due return 0 and store in ${ret_wait_ms} how long
 * until one is (-1: nothing to deliver).  Entries kept aside are skipped.
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

/**
 * spool_orphan(sp, seq, now_ms):
 * The sender found no notifier of entry ${seq}'s name (a reload removed
 * it): keep the entry aside if the spool's notifier set lacks it too,
 * else (a reload is under way) try again a second after ${now_ms}.
 */
void spool_orphan(struct spool *sp, uint64_t seq, int64_t now_ms);

/*
 * spool_retry_now(sp, notifier): make ${notifier}'s entries (NULL: all
 * entries) due at once.
 */
void spool_retry_now(struct spool *sp, const char *notifier);

size_t spool_depth(struct spool *sp);
/* spool_depth_for(sp, notifier): entries waiting for one notifier. */
size_t spool_depth_for(struct spool *sp, const char *notifier);
/* spool_oldest_ms(sp): when the oldest entry was made (wall ms); 0: none. */
int64_t spool_oldest_ms(struct spool *sp);
/* spool_dropped(sp): entries dropped, for any reason, since the open. */
uint64_t spool_dropped(struct spool *sp);
/*
 * spool_write_errors(sp): failed writes since the last one that worked
 * (0: the disk takes entries).  The scheduler publishes it as the reading
 * agent.spool_write_errors.
 */
uint64_t spool_write_errors(struct spool *sp);

/**
 * spool_status_json(sp):
 * The spool's part of `vigil status`: depth, entries held in memory only,
 * write errors, drops (total, by reason, by rule and series) and entries
 * kept aside per removed notifier, as a new jansson object (NULL: out of
 * memory).  The caller owns it.
 */
struct json_t;
struct json_t *spool_status_json(struct spool *sp);

/*
 * Inspecting and changing the queue (`vigil queue`).  A selection is one
 * entry (${seq}), the entries of one notifier, or all entries.
 */
struct spool_sel {
	bool all;
	const char *notifier; /* all entries of this notifier */
	uint64_t seq;	      /* else this entry */
};

enum spool_state {
	SPOOL_DUE = 0, /* waiting for the sender */
	SPOOL_BACKOFF, /* waiting for its next attempt */
	SPOOL_ASIDE,   /* its notifier was removed */
};

struct spool_info {
	struct spool_entry e;
	enum spool_state state;
	bool on_disk; /* false: held in memory, unwritten */
};

/**
 * spool_list(sp, notifier, now_ms, ret, ret_n):
 * Copy the entries (of ${notifier} only, unless NULL), oldest first, into a
 * malloc'd array in ${ret} of ${ret_n} elements.  Return 0 or -1 (out of
 * memory).
 */
int spool_list(struct spool *sp, const char *notifier, int64_t now_ms,
    struct spool_info **ret, size_t *ret_n);

/**
 * spool_reroute(sp, sel, to, ret_n, err):
 * Without ${to}: make the selected entries due now (entries kept aside
 * need ${to}).  With ${to}, a configured notifier: give the selected
 * entries to it (rewriting their files; order is kept) and make them due.
 * Store the number of entries changed in ${ret_n}.  Return 0, or -1 with
 * ${err} set (nothing matched, unknown notifier, entry kept aside).
 */
int spool_reroute(struct spool *sp, const struct spool_sel *sel,
    const char *to, size_t *ret_n, struct ag_err *err);

/**
 * spool_drop(sp, sel, ret_n, err):
 * Discard the selected entries, counted as dropped by the operator and
 * logged.  Store their number in ${ret_n}.  Return 0, or -1 with ${err}
 * set if nothing matched.
 */
int spool_drop(struct spool *sp, const struct spool_sel *sel, size_t *ret_n,
    struct ag_err *err);

/**
 * spool_ctl(sp, req, now_ms):
 * Answer one `vigil queue` request (the words after "queue ": "list
 * [NOTIFIER]", "retry ID|--all|--notifier N [--to NOTIFIER]", "drop
 * ID|--notifier N|--all") with a malloc'd JSON document: {"entries": [...]}
 * for list, {"ok": true, "count": N} after retry and drop, {"error": "..."}
 * when refused.  NULL when out of memory.  Used by vigild's control socket
 * and by `vigil queue` on the spool folder when no daemon runs.
 */
char *spool_ctl(struct spool *sp, const char *req, int64_t now_ms);

/*
 * spool_close(sp): a last attempt to write what is held in memory (what
 * still cannot be written is lost, logged and counted), then free ${sp}.
 */
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
