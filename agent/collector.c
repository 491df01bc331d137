/*
 * collector.c: see collector.h.
 *
 * One mutex guards the queue and each thread's "batch not yet taken"; one
 * condition variable (on the monotonic clock) wakes a thread when its
 * batch was taken, when its turn comes or when it must stop.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/cancel.h"
#include "lib/clock.h"
#include "lib/log.h"
#include "agent/plugin.h"
#include "agent/runconf.h"
#include "agent/source.h"

#include "agent/collector.h"

struct cworker {
	struct collector *c;
	struct source *src;
	size_t idx;
	pthread_t th;
	bool running; /* th was made */
	bool pending; /* its last batch is queued, not taken */
};

struct qitem {
	struct collector_batch b;
	struct cworker *w;
	struct qitem *next;
};

struct collector {
	struct runconf *rc; /* a reference */
	int wake_fd;
	size_t batch_max;
	atomic_bool stop; /* every thread's cancel flag */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct qitem *head, **tail; /* finished, oldest first */
	struct cworker *w;
	size_t nw;
};

/* Wait on ${c}->cv (mu held) until monotonic ${until_ms}. */
static void
wait_until(struct collector *c, int64_t until_ms)
{
	struct timespec ts = { .tv_sec = until_ms / 1000,
		.tv_nsec = (long)(until_ms % 1000) * 1000000 };

	(void)pthread_cond_timedwait(&c->cv, &c->mu, &ts);
}

static void *
worker(void *arg)
{
	struct cworker *w = arg;
	struct collector *c = w->c;
	int64_t next = clock_mono_ms(), cur = w->src->interval_ms;
	struct qitem *q;

	cancel_bind(&c->stop);
	pthread_mutex_lock(&c->mu);
	for (;;) {
		int64_t now = clock_mono_ms();

		if (atomic_load(&c->stop))
			break;
		if (w->pending || now < next) {
			if (w->pending)
				pthread_cond_wait(&c->cv, &c->mu);
			else
				wait_until(c, next);
			continue;
		}
		pthread_mutex_unlock(&c->mu);
		if ((q = calloc(1, sizeof(*q))) == NULL) {
			log_err("source %s: out of memory", w->src->name);
			next = now + w->src->interval_ms;
			pthread_mutex_lock(&c->mu);
			continue;
		}
		q->w = w;
		q->b.idx = w->idx;
		metric_batch_init(&q->b.batch, c->batch_max);
		q->b.batch.now_ms = clock_wall_ms();
		q->b.batch.mono_ms = q->b.started_mono = now;
		q->b.rc = source_collect(w->src, &q->b.batch, &q->b.err);
		q->b.took_ms = clock_mono_ms() - now;
		cur = source_next_interval(w->src, cur, q->b.rc == 0);
		next = now + cur;
		pthread_mutex_lock(&c->mu);
		if (atomic_load(&c->stop)) {
			/* Cut short: what it read may be partial. */
			collector_batch_free(&q->b);
			break;
		}
		w->pending = true;
		*c->tail = q;
		c->tail = &q->next;
		/* Full pipe: a wake-up is pending already. */
		(void)!write(c->wake_fd, "", 1);
	}
	pthread_mutex_unlock(&c->mu);
	cancel_bind(NULL);
	return NULL;
}

struct collector *
collector_start(struct runconf *rc, int wake_fd, size_t batch_max)
{
	struct collector *c;
	pthread_condattr_t ca;
	sigset_t all, old;
	size_t n = 0;

	for (size_t i = 0; i < rc->nsources; i++)
		if (plugin_in_module(PLUGIN_SOURCE,
			source_type(rc->sources[i])))
			n++;
	if (n == 0)
		return NULL;
	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (c->w = calloc(n, sizeof(*c->w))) == NULL) {
		free(c);
		log_err("no memory for the network sources' threads: the "
			"scheduler collects them");
		return NULL;
	}
	c->wake_fd = wake_fd;
	c->batch_max = batch_max;
	c->tail = &c->head;
	atomic_init(&c->stop, false);
	(void)pthread_mutex_init(&c->mu, NULL);
	(void)pthread_condattr_init(&ca);
	(void)pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	(void)pthread_cond_init(&c->cv, &ca);
	(void)pthread_condattr_destroy(&ca);
	c->rc = runconf_ref(rc);
	/* Signals belong to the scheduler thread: block them in ours. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	for (size_t i = 0; i < rc->nsources; i++) {
		struct source *src = rc->sources[i];
		struct cworker *w = &c->w[c->nw];
		int e;

		if (!plugin_in_module(PLUGIN_SOURCE, source_type(src)))
			continue;
		w->c = c;
		w->src = src;
		w->idx = i;
		if ((e = pthread_create(&w->th, NULL, worker, w)) != 0) {
			log_err("source %s: cannot start its thread (%s): the "
				"scheduler collects it",
			    src->name, strerror(e));
			continue;
		}
		w->running = true;
		src->next_ms = INT64_MAX;
		c->nw++;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return c;
}

struct collector_batch *
collector_take(struct collector *c)
{
	struct qitem *q;

	if (c == NULL)
		return NULL;
	pthread_mutex_lock(&c->mu);
	if ((q = c->head) != NULL) {
		if ((c->head = q->next) == NULL)
			c->tail = &c->head;
		q->w->pending = false;
		pthread_cond_broadcast(&c->cv);
	}
	pthread_mutex_unlock(&c->mu);
	/* b is the first member: the caller frees it as a qitem. */
	return q != NULL ? &q->b : NULL;
}

void
collector_batch_free(struct collector_batch *b)
{
	if (b == NULL)
		return;
	metric_batch_free(&b->batch);
	free(b); /* the struct qitem it begins */
}

void
collector_stop(struct collector *c)
{
	struct qitem *q;

	if (c == NULL)
		return;
	pthread_mutex_lock(&c->mu);
	atomic_store(&c->stop, true);
	pthread_cond_broadcast(&c->cv);
	pthread_mutex_unlock(&c->mu);
	for (size_t i = 0; i < c->nw; i++)
		if (c->w[i].running)
			(void)pthread_join(c->w[i].th, NULL);
	while ((q = c->head) != NULL) {
		c->head = q->next;
		collector_batch_free(&q->b);
	}
	pthread_cond_destroy(&c->cv);
	pthread_mutex_destroy(&c->mu);
	runconf_free(c->rc);
	free(c->w);
	free(c);
}
