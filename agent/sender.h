/*
 * sender.h: the thread that delivers spooled notifications.
 *
 * The scheduler never sends: it puts notifications in the spool and wakes
 * the sender.  The sender takes the oldest due entry, hands it to its
 * notifier (which blocks at most for its timeout), and removes it when it was
 * accepted or is hopeless, or schedules a retry.  A slow or dead receiver so
 * delays only the sender, never collection or rule evaluation.
 */
#ifndef VIGIL_SENDER_H
#define VIGIL_SENDER_H

#include <stdint.h>

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

/**
 * sender_stop(s, flush_ms):
 * Make every spooled entry due, try to deliver them for at most ${flush_ms},
 * then stop the thread and free ${s}, dropping its runconf reference.
 * NULL does nothing.  What was not
 * delivered stays in the spool for the next start.
 */
void sender_stop(struct sender *s, int64_t flush_ms);

#endif
