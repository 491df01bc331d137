/*
 * sender.c: see sender.h.
 *
 * Reloads and deliveries meet here: a delivery holds a reference on the
 * runconf whose notifier it uses (runconf_ref()), so a SIGHUP can swap the
 * configuration in while a slow webhook is still in flight; the old runconf
 * is freed by whoever drops its last reference.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

#include "lib/clock.h"
#include "lib/log.h"

#include "agent/runconf.h"
#include "agent/spool.h"

#include "agent/sender.h"

struct sender {
	struct spool *sp;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct runconf *cur;		/* holds one reference */
	bool wake;
	bool stopping;
	int64_t stop_by_ms;	/* monotonic deadline of the final flush */
	uint64_t sent, failed;
};

static void
deliver(struct sender *s, struct spool_entry *e)
{
	struct runconf *rc;
	struct notifier *nf;
	struct ag_err err = { "" };
	char summary[512];
	int sent;

	pthread_mutex_lock(&s->mu);
	rc = runconf_ref(s->cur);
	pthread_mutex_unlock(&s->mu);

	notification_summary(&e->n, summary, sizeof(summary));
	if ((nf = runconf_notifier(rc, e->notifier)) == NULL) {
		log_warn("notifier %s no longer exists: kept aside \"%s\"",
		    e->notifier, summary);
		spool_orphan(s->sp, e->seq, clock_mono_ms());
		goto out;
	}
	sent = notifier_send(nf, &e->n, &err);
	if (sent == 0) {
		if (e->attempts > 0)
			log_info("%s: delivered after %u retries: %s",
			    e->notifier, e->attempts, summary);
		(void)spool_done(s->sp, e->seq);
		s->sent++;
	} else if (sent == AG_RETRY) {
		/* Log the first failure, then only every 8th, to stay quiet. */
		if (e->attempts % 8 == 0)
			log_warn("%s: delivery failed (%s), will retry: %s",
			    e->notifier, err.msg, summary);
		spool_retry(s->sp, e->seq, clock_mono_ms());
	} else {
		log_err("%s: delivery refused (%s), dropped: %s",
		    e->notifier, err.msg, summary);
		(void)spool_done(s->sp, e->seq);
		s->failed++;
	}
out:
	runconf_free(rc);
}

static void *
sender_main(void *arg)
{
	struct sender *s = arg;
	struct spool_entry e;

	for (;;) {
		int64_t now = clock_mono_ms(), wait_ms = -1;
		struct timespec ts;

		pthread_mutex_lock(&s->mu);
		if (s->stopping && now >= s->stop_by_ms) {
			pthread_mutex_unlock(&s->mu);
			break;
		}
		s->wake = false;
		pthread_mutex_unlock(&s->mu);

		if (spool_next(s->sp, now, &e, &wait_ms) == 1) {
			deliver(s, &e);
			continue;
		}

		pthread_mutex_lock(&s->mu);
		if (s->stopping) {
			/* Nothing more is due: the flush is over. */
			pthread_mutex_unlock(&s->mu);
			break;
		}
		if (wait_ms < 0 || wait_ms > 60000)
			wait_ms = 60000;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += wait_ms / 1000;
		ts.tv_nsec += (wait_ms % 1000) * 1000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		while (!s->wake && !s->stopping &&
		    pthread_cond_timedwait(&s->cv, &s->mu, &ts) == 0)
			;
		pthread_mutex_unlock(&s->mu);
	}
	return NULL;
}

struct sender *
sender_start(struct spool *sp, struct runconf *rc)
{
	struct sender *s;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		goto err0;
	s->cur = rc;
	s->sp = sp;
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	if (pthread_create(&s->thread, NULL, sender_main, s) != 0) {
		log_err("cannot start the sender thread");
		goto err2;
	}
	return s;
err2:
	pthread_cond_destroy(&s->cv);
	pthread_mutex_destroy(&s->mu);
	free(s);
err0:
	runconf_free(rc);
	return NULL;
}

void
sender_swap(struct sender *s, struct runconf *rc)
{
	struct runconf *old;

	pthread_mutex_lock(&s->mu);
	old = s->cur;
	s->cur = rc;
	s->wake = true;
	pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->mu);
	runconf_free(old);
}

void
sender_wake(struct sender *s)
{
	pthread_mutex_lock(&s->mu);
	s->wake = true;
	pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->mu);
}

void
sender_stats(struct sender *s, uint64_t *ret_sent, uint64_t *ret_failed)
{
	pthread_mutex_lock(&s->mu);
	*ret_sent = s->sent;
	*ret_failed = s->failed;
	pthread_mutex_unlock(&s->mu);
}

void
sender_stop(struct sender *s, int64_t flush_ms)
{
	if (s == NULL)
		return;
	spool_retry_now(s->sp, NULL);
	pthread_mutex_lock(&s->mu);
	s->stopping = true;
	s->stop_by_ms = clock_mono_ms() + flush_ms;
	pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->mu);
	pthread_join(s->thread, NULL);
	runconf_free(s->cur);
	pthread_cond_destroy(&s->cv);
	pthread_mutex_destroy(&s->mu);
	free(s);
}
