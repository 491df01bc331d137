/*
 * index_queue.c: the bounded queue of index entries (see index_queue.h).
 *
 * A ring of entries under one mutex, with one condition for each side.
 * Entries are moved in and out whole (their strings change owner, nothing
 * is copied), so a put or a get is a struct copy and two counters.  A
 * side that waits is woken for a batch (half a queue to take, three
 * quarters to fill), not for each entry, and each side wakes the other
 * before it waits itself, so neither can wait for the other for ever.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "lib/ag.h"
#include "backup/manifest.h"
#include "backup/index_queue.h"

enum consumer {
	C_TAKING = 0,
	C_DRAINING, /* entries are discarded */
	C_STOPPED   /* the producer should stop */
};

struct index_queue {
	pthread_mutex_t mtx;
	pthread_cond_t data_cv, space_cv;
	struct manifest_file *ring;
	size_t cap, head, n;
	size_t bytes, max_bytes; /* strings of the entries queued */
	enum consumer consumer;
	bool p_waiting, c_waiting; /* in pthread_cond_wait() */
	bool closed;
	int rc;
	struct ag_err err;
};

/**
 * index_queue_new(max_entries, max_bytes):
 * An empty queue of at most ${max_entries} entries holding at most
 * ${max_bytes} bytes of strings.  Return it, or NULL (out of memory).
 */
struct index_queue *
index_queue_new(size_t max_entries, size_t max_bytes)
{
	struct index_queue *q;

	if ((q = calloc(1, sizeof(*q))) == NULL)
		return NULL;
	q->cap = max_entries > 0 ? max_entries : 1;
	q->max_bytes = max_bytes;
	if ((q->ring = calloc(q->cap, sizeof(*q->ring))) == NULL) {
		free(q);
		return NULL;
	}
	pthread_mutex_init(&q->mtx, NULL);
	pthread_cond_init(&q->data_cv, NULL);
	pthread_cond_init(&q->space_cv, NULL);
	return q;
}

static size_t
str_bytes(const char *s)
{
	return s != NULL ? strlen(s) + 1 : 0;
}

/* The bytes of ${f}'s strings, as the queue counts them. */
static size_t
file_bytes(const struct manifest_file *f)
{
	return str_bytes(f->path) + str_bytes(f->target) + str_bytes(f->user) +
	    str_bytes(f->group) + str_bytes(f->split_of);
}

/**
 * index_queue_put(q, f):
 * Append the entry ${f}, taking its strings, after waiting for room.
 * Return 0, or -1 after index_queue_stop().
 */
int
index_queue_put(struct index_queue *q, struct manifest_file *f)
{
	size_t b = file_bytes(f);
	int rc = 0;

	pthread_mutex_lock(&q->mtx);
	/* One entry always fits, whatever its size. */
	while (q->consumer == C_TAKING &&
	    (q->n == q->cap || (q->n > 0 && q->bytes + b > q->max_bytes))) {
		if (q->c_waiting)
			pthread_cond_signal(&q->data_cv);
		q->p_waiting = true;
		pthread_cond_wait(&q->space_cv, &q->mtx);
		q->p_waiting = false;
	}
	if (q->consumer == C_TAKING) {
		q->ring[(q->head + q->n) % q->cap] = *f;
		memset(f, 0, sizeof(*f));
		q->n++;
		q->bytes += b;
		/* Wake the consumer for a batch, not for each entry. */
		if (q->c_waiting &&
		    (q->n >= q->cap / 2 || q->bytes >= q->max_bytes / 2))
			pthread_cond_signal(&q->data_cv);
	} else if (q->consumer == C_STOPPED)
		rc = -1;
	pthread_mutex_unlock(&q->mtx);
	manifest_file_clear(f);
	return rc;
}

/**
 * index_queue_close(q, rc, msg):
 * No more entries; ${rc} is the producer's outcome, ${msg} its message.
 */
void
index_queue_close(struct index_queue *q, int rc, const char *msg)
{
	pthread_mutex_lock(&q->mtx);
	q->closed = true;
	q->rc = rc;
	if (rc != 0)
		(void)ag_err_set(&q->err, "%s", msg != NULL ? msg : "");
	pthread_cond_broadcast(&q->data_cv);
	pthread_mutex_unlock(&q->mtx);
}

/**
 * index_queue_get(q, ret):
 * Move the oldest entry into ${ret}, after waiting for one.  Return 1, 0
 * at the end, or -1 if the producer failed.
 */
int
index_queue_get(struct index_queue *q, struct manifest_file *ret)
{
	int rc;

	pthread_mutex_lock(&q->mtx);
	while (q->n == 0 && !q->closed) {
		if (q->p_waiting)
			pthread_cond_signal(&q->space_cv);
		q->c_waiting = true;
		pthread_cond_wait(&q->data_cv, &q->mtx);
		q->c_waiting = false;
	}
	if (q->closed && q->rc != 0) {
		rc = -1;
	} else if (q->n == 0) {
		rc = 0;
	} else {
		*ret = q->ring[q->head];
		memset(&q->ring[q->head], 0, sizeof(q->ring[q->head]));
		q->head = (q->head + 1) % q->cap;
		q->n--;
		q->bytes -= file_bytes(ret);
		/* Wake the producer when there is room for a batch. */
		if (q->p_waiting && q->n <= q->cap / 4 &&
		    q->bytes <= q->max_bytes / 4)
			pthread_cond_signal(&q->space_cv);
		rc = 1;
	}
	pthread_mutex_unlock(&q->mtx);
	return rc;
}

/* index_queue_failed(q): whether the producer closed it with a failure. */
bool
index_queue_failed(struct index_queue *q)
{
	bool failed;

	pthread_mutex_lock(&q->mtx);
	failed = q->closed && q->rc != 0;
	pthread_mutex_unlock(&q->mtx);
	return failed;
}

/* The consumer is done: free what is queued and wake the producer. */
static void
consumer_done(struct index_queue *q, enum consumer how)
{
	pthread_mutex_lock(&q->mtx);
	if (q->consumer != C_STOPPED)
		q->consumer = how;
	for (; q->n > 0; q->n--) {
		manifest_file_clear(&q->ring[q->head]);
		q->head = (q->head + 1) % q->cap;
	}
	q->bytes = 0;
	pthread_cond_broadcast(&q->space_cv);
	pthread_mutex_unlock(&q->mtx);
}

/* index_queue_drain(q): take no more; let the producer finish. */
void
index_queue_drain(struct index_queue *q)
{
	consumer_done(q, C_DRAINING);
}

/* index_queue_stop(q): take no more; the producer should stop. */
void
index_queue_stop(struct index_queue *q)
{
	consumer_done(q, C_STOPPED);
}

/**
 * index_queue_result(q, err):
 * The producer's outcome, with its message in ${err} if nonzero.
 */
int
index_queue_result(struct index_queue *q, struct ag_err *err)
{
	int rc;

	pthread_mutex_lock(&q->mtx);
	rc = q->rc;
	if (rc != 0)
		(void)ag_err_set(err, "%s", q->err.msg);
	pthread_mutex_unlock(&q->mtx);
	return rc;
}

/* index_queue_free(q): free ${q} and the entries left; NULL is a no-op. */
void
index_queue_free(struct index_queue *q)
{
	if (q == NULL)
		return;
	for (; q->n > 0; q->n--) {
		manifest_file_clear(&q->ring[q->head]);
		q->head = (q->head + 1) % q->cap;
	}
	free(q->ring);
	pthread_cond_destroy(&q->data_cv);
	pthread_cond_destroy(&q->space_cv);
	pthread_mutex_destroy(&q->mtx);
	free(q);
}
