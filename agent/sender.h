/*
 * sender.h: the thread that delivers spooled notifications.
 *
 * The scheduler never sends: it puts notifications in the spool and wakes
 * the sender.  The sender delivers each notifier's queue on its own, oldest
 * entry first, with at most one request in flight per notifier (the HTTP
 * requests of all notifiers run side by side), and removes an entry when
 * its receiver accepted it or it is hopeless, or schedules a retry.  A slow
 * or dead receiver so delays only its own queue, never the other notifiers,
 * collection or rule evaluation.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef VIGIL_SENDER_H
#define VIGIL_SENDER_H

#include <stdint.h>

#include <jansson.h>

/*
 * How long a stopping daemon tries to deliver what is queued (sender_stop())
 * before it cancels what is still in flight: well inside systemd's stop
 * timeout, whatever the notifiers' timeouts.
 */
#define SENDER_FLUSH_MS 5000

struct runconf;
struct spool;
struct sender;

/**
 * sender_start(sp, rc):
 * Start the thread over spool ${sp}, delivering through the notifiers of
 * ${rc}; the sender takes over the caller's reference to it (and drops it
 * on failure).  Return NULL on failure (logged).
 */
struct sender *sender_start(struct spool *sp, struct runconf *rc);

/**
 * sender_swap(s, rc):
 * Deliver through ${rc} after a reload, taking over the caller's reference;
 * the sender drops its reference to the previous one.
 */
void sender_swap(struct sender *s, struct runconf *rc);

/* sender_wake(s): new entries are in the spool. */
void sender_wake(struct sender *s);

/* sender_stats(s, ret_sent, ret_failed): totals since start. */
void sender_stats(struct sender *s, uint64_t *ret_sent, uint64_t *ret_failed);

/* What the sender last saw of one notifier (wall times; 0: never). */
struct sender_nstate {
	int64_t last_ok_ms;  /* a delivery accepted */
	int64_t last_err_ms; /* a delivery failed (retried or dropped) */
	char last_err[256];  /* its message, redacted as the log writes it */
};

/**
 * sender_notifier_state(s, name, ret):
 * The last outcomes of the deliveries by notifier ${name} since start
 * (kept across reloads, by name) into ${ret}.  Return 1, or 0 (all zero)
 * if it delivered nothing yet.
 */
int sender_notifier_state(struct sender *s, const char *name,
    struct sender_nstate *ret);

/* How many settled notifications sender_recent() remembers. */
#define SENDER_RECENT 100

/**
 * sender_recent(s):
 * The last SENDER_RECENT notifications whose delivery ended (accepted by
 * the receiver, or refused and dropped), newest first, as a new JSON
 * array of {id, rule, metric, state, time, settled, notifier, result:
 * "delivered"|"dropped", attempts, error (dropped only)}, the times in
 * RFC 3339.  Retries are not settled: the queue shows them.
 */
json_t *sender_recent(struct sender *s);

/**
 * sender_stop(s, flush_ms):
 * Make every spooled entry due, try to deliver them for at most ${flush_ms},
 * then cancel the requests still in flight, stop the thread and free ${s},
 * dropping its runconf reference.  Returns within about ${flush_ms}
 * whatever the notifiers' timeouts.  NULL does nothing.  What was not
 * delivered (accepted by its receiver) stays in the spool for the next
 * start.
 */
void sender_stop(struct sender *s, int64_t flush_ms);

#endif
