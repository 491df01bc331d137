/*
 * sender.c: see sender.h.
 *
 * One thread delivers every notifier's queue side by side.  Each round it
 * takes, oldest first, the head of every queue that is due and has no
 * request in flight (spool_next_skip()).  A notifier without requests (log)
 * delivers it there and then; a notifier that speaks HTTP prepares the
 * request (notifier_prepare()), which joins a libcurl multi handle, reached
 * through plugin_module.h so that a vigild with only log notifiers never loads
 * libcurl.  Then the thread waits for the first of: network activity, the
 * next retry falling due, a wake-up (a new entry, a reload, stop).  An
 * answered request is judged by its notifier (notifier_finish()) and pops
 * that queue's head, or schedules its retry: the spool's backoff is per
 * entry, and only a queue's head is ever tried, so it is per notifier.
 * A queue so has at most one request in flight, its head: "recovered" never
 * overtakes "firing", and a hanging receiver delays only its own queue.  An
 * entry leaves the spool only after its receiver accepted it (at least
 * once; X-Vigil-Id lets the receiver drop a repeat).
 *
 * Reloads and deliveries meet here: a request in flight holds a reference
 * on the runconf whose notifier made it, so a SIGHUP can swap the
 * configuration in while a slow webhook is still in flight; the old
 * runconf is freed by whoever drops its last reference.
 *
 * Stop: every entry is made due and delivered for at most the flush time;
 * at that deadline the requests still in flight are cancelled and their
 * entries stay in the spool, so that stopping takes a bounded time whatever
 * the notifiers' timeouts.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/clock.h"
#include "lib/http/http.h"
#include "lib/log.h"

#include "agent/plugin_module.h"
#include "agent/runconf.h"
#include "agent/spool.h"

#include "agent/sender.h"

/* The longest the thread sleeps without a reason to wake. */
#define SENDER_IDLE_MS 60000

/* One settled notification, for sender_recent(). */
struct settled {
	char id[sizeof(((struct notification *)0)->id)];
	char rule[sizeof(((struct notification *)0)->rule)];
	char metric[METRIC_NAME_MAX];
	char notifier[sizeof(((struct spool_entry *)0)->notifier)];
	char error[AG_ERR_SIZE]; /* "" when delivered */
	enum alert_state state;
	int64_t time_ms;    /* when the notification was made */
	int64_t settled_ms; /* when its delivery ended */
	unsigned attempts;
	bool delivered;
};

/* A request in flight: the head of one notifier's queue. */
struct flight {
	struct spool_entry e;
	struct runconf *rc; /* a reference: keeps ${nf} alive */
	struct notifier *nf;
	struct notifier_call call;
	struct flight *next;
};

struct sender {
	struct spool *sp;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct runconf *cur;		   /* holds one reference */
	struct http_multi *multi;	   /* made on the first request */
	const struct plugin_module *heavy; /* set before ${multi} */
	bool wake;
	bool stopping;
	int64_t stop_by_ms; /* monotonic deadline of the final flush */
	uint64_t sent, failed;
	struct flight *flights; /* the sender thread's own */
	/* The last SENDER_RECENT settled, a ring under ${mu}. */
	struct settled *recent;
	size_t nrecent, recent_next;
	/* Per notifier name (under mu): its last delivery and failure. */
	struct nstate {
		char name[128];
		struct sender_nstate st;
	} * ns;
	size_t nns;
};

/* Keep entry ${e}'s outcome in the ring; called with ${s}->mu held. */
static void
remember(struct sender *s, const struct spool_entry *e, bool delivered,
    const char *error)
{
	struct settled *r;

	if (s->recent == NULL &&
	    (s->recent = calloc(SENDER_RECENT, sizeof(*s->recent))) == NULL)
		return;
	r = &s->recent[s->recent_next];
	s->recent_next = (s->recent_next + 1) % SENDER_RECENT;
	if (s->nrecent < SENDER_RECENT)
		s->nrecent++;
	snprintf(r->id, sizeof(r->id), "%s", e->n.id);
	snprintf(r->rule, sizeof(r->rule), "%s", e->n.rule);
	snprintf(r->metric, sizeof(r->metric), "%s", e->n.metric);
	snprintf(r->notifier, sizeof(r->notifier), "%s", e->notifier);
	snprintf(r->error, sizeof(r->error), "%s", error);
	r->state = e->n.state;
	r->time_ms = e->n.ts_ms;
	r->settled_ms = clock_wall_ms();
	r->attempts = e->attempts + 1;
	r->delivered = delivered;
}

/*
 * The state of notifier ${name} (mu held), made if new; NULL if out of
 * memory or the name does not fit.
 */
static struct sender_nstate *
nstate_get(struct sender *s, const char *name)
{
	struct nstate *v;

	for (size_t i = 0; i < s->nns; i++)
		if (strcmp(s->ns[i].name, name) == 0)
			return &s->ns[i].st;
	if (strlen(name) >= sizeof(s->ns[0].name) ||
	    (v = realloc(s->ns, (s->nns + 1) * sizeof(*v))) == NULL)
		return NULL;
	s->ns = v;
	memset(&v[s->nns], 0, sizeof(v[0]));
	memcpy(v[s->nns].name, name, strlen(name) + 1);
	return &v[s->nns++].st;
}

/*
 * Note the outcome ${rc} (${err}) of a delivery by ${notifier}; called
 * with ${s}->mu held.
 */
static void
note(struct sender *s, const char *notifier, int rc, const struct ag_err *err)
{
	struct sender_nstate *st;

	if ((st = nstate_get(s, notifier)) != NULL) {
		if (rc == 0) {
			st->last_ok_ms = clock_wall_ms();
		} else {
			st->last_err_ms = clock_wall_ms();
			/* As the log would write it: no secret, no query. */
			log_redact(err->msg[0] != '\0' ? err->msg : "failed",
			    st->last_err, sizeof(st->last_err));
		}
	}
}

/*
 * Entry ${e} was tried with outcome ${rc} (0, AG_RETRY or -1, with ${err}):
 * remove it, or schedule its retry, and say so.
 */
static void
settle(struct sender *s, const struct spool_entry *e, int rc,
    const struct ag_err *err)
{
	char summary[NOTIFICATION_SUMMARY_MAX];

	notification_summary(&e->n, summary, sizeof(summary));
	if (rc == 0) {
		if (e->attempts > 0)
			log_info("%s: delivered after %u retries: %s",
			    e->notifier, e->attempts, summary);
		/* Counted first: whoever sees it gone sees it settled. */
		pthread_mutex_lock(&s->mu);
		s->sent++;
		remember(s, e, true, "");
		note(s, e->notifier, rc, err);
		pthread_mutex_unlock(&s->mu);
		(void)spool_done(s->sp, e->seq);
	} else if (rc == AG_RETRY) {
		/* Log the first failure, then only every 8th, to stay quiet. */
		if (e->attempts % 8 == 0)
			log_warn("%s: delivery failed (%s), will retry: %s",
			    e->notifier, err->msg, summary);
		pthread_mutex_lock(&s->mu);
		note(s, e->notifier, rc, err);
		pthread_mutex_unlock(&s->mu);
		spool_retry(s->sp, e->seq, clock_mono_ms());
	} else {
		log_err("%s: delivery refused (%s), dropped: %s", e->notifier,
		    err->msg, summary);
		pthread_mutex_lock(&s->mu);
		s->failed++;
		remember(s, e, false, err->msg);
		note(s, e->notifier, rc, err);
		pthread_mutex_unlock(&s->mu);
		(void)spool_done(s->sp, e->seq);
	}
}

/* spool_next_skip()'s filter: has ${notifier} a request in flight? */
static bool
busy(void *cookie, const char *notifier)
{
	struct sender *s = cookie;

	for (struct flight *f = s->flights; f != NULL; f = f->next)
		if (strcmp(f->e.notifier, notifier) == 0)
			return true;
	return false;
}

/* The multi handle, made on first use.  NULL with ${err} set. */
static struct http_multi *
multi_get(struct sender *s, struct ag_err *err)
{
	const struct plugin_module *h;
	struct http_multi *m;

	if (s->multi != NULL)
		return s->multi;
	if ((h = plugin_module_get(err)) == NULL)
		return NULL;
	if ((m = h->http_multi_new()) == NULL) {
		(void)ag_err_set(err, "cannot initialise the HTTP client");
		return NULL;
	}
	/* sender_wake() reads both, under the lock. */
	pthread_mutex_lock(&s->mu);
	s->heavy = h;
	s->multi = m;
	pthread_mutex_unlock(&s->mu);
	return m;
}

/* Forget flight ${f}: unlink it, release its request, free it. */
static void
flight_free(struct sender *s, struct flight *f)
{
	struct flight **pp;

	for (pp = &s->flights; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == f) {
			*pp = f->next;
			break;
		}
	}
	notifier_release(f->nf, &f->call);
	runconf_free(f->rc);
	free(f);
}

/*
 * Deliver entry ${e} through the notifiers of ${rc}: at once if its
 * notifier sends no requests, else by starting its request.
 */
static void
start(struct sender *s, struct runconf *rc, const struct spool_entry *e)
{
	struct ag_err err = { "" };
	struct notifier *nf;
	struct flight *f;
	char summary[NOTIFICATION_SUMMARY_MAX];
	int r;

	if ((nf = runconf_notifier(rc, e->notifier)) == NULL) {
		notification_summary(&e->n, summary, sizeof(summary));
		log_warn("notifier %s no longer exists: kept aside \"%s\"",
		    e->notifier, summary);
		spool_orphan(s->sp, e->seq, clock_mono_ms());
		return;
	}
	if (!notifier_has_request(nf)) {
		settle(s, e, notifier_send(nf, &e->n, &err), &err);
		return;
	}
	if ((f = calloc(1, sizeof(*f))) == NULL) {
		(void)ag_err_set(&err, "out of memory");
		settle(s, e, AG_RETRY, &err);
		return;
	}
	f->e = *e;
	f->nf = nf;
	if ((r = notifier_prepare(nf, &e->n, &f->call, &err)) != 0) {
		free(f);
		settle(s, e, r, &err);
		return;
	}
	if (f->call.req.url == NULL) {
		/* Nothing to send for this one (filtered): accepted. */
		notifier_release(nf, &f->call);
		free(f);
		settle(s, e, 0, &err);
		return;
	}
	if (multi_get(s, &err) == NULL ||
	    s->heavy->http_multi_add(s->multi, &f->call.req, f, &err) != 0) {
		notifier_release(nf, &f->call);
		free(f);
		settle(s, e, AG_RETRY, &err);
		return;
	}
	f->rc = runconf_ref(rc);
	f->next = s->flights;
	s->flights = f;
}

/* Move the requests on and settle those that ended; return how many. */
static int
reap(struct sender *s)
{
	const struct plugin_module *h = s->heavy;
	struct http_resp resp;
	struct ag_err err;
	struct flight *f;
	void *cookie;
	int rc, n = 0;

	(void)h->http_multi_perform(s->multi);
	for (;;) {
		err.msg[0] = '\0';
		if (h->http_multi_done(s->multi, &cookie, &resp, &rc, &err) !=
		    1)
			break;
		f = cookie;
		if (rc == 0)
			rc = notifier_finish(f->nf, &f->call, resp.status,
			    resp.body, resp.body_len, &err);
		h->http_resp_free(&resp);
		settle(s, &f->e, rc, &err);
		flight_free(s, f);
		n++;
	}
	return n;
}

/* Cancel every request in flight; their entries stay queued. */
static void
cancel_all(struct sender *s)
{
	char summary[NOTIFICATION_SUMMARY_MAX];
	struct flight *f;

	while ((f = s->flights) != NULL) {
		s->heavy->http_multi_remove(s->multi, f);
		notification_summary(&f->e.n, summary, sizeof(summary));
		log_warn("%s: no answer before stopping: request cancelled, "
			 "the notification stays queued: %s",
		    f->e.notifier, summary);
		flight_free(s, f);
	}
}

/*
 * Wait at most ${wait_ms} for a wake-up, or with requests in flight for
 * network activity too, and settle the requests that ended.
 */
static void
wait_round(struct sender *s, int64_t wait_ms)
{
	struct timespec ts;
	bool woken;

	if (s->flights != NULL) {
		/* A queue whose request ended may have its next entry due. */
		if (reap(s) > 0)
			return;
		pthread_mutex_lock(&s->mu);
		woken = s->wake;
		pthread_mutex_unlock(&s->mu);
		/*
		 * A wake-up from now on interrupts the poll.  Should the poll
		 * fail, pause rather than spin.
		 */
		if (!woken &&
		    s->heavy->http_multi_poll(s->multi, (int)wait_ms) != 0)
			clock_sleep_ms(100);
		(void)reap(s);
		return;
	}
	pthread_mutex_lock(&s->mu);
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += wait_ms / 1000;
	ts.tv_nsec += (wait_ms % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	while (!s->wake && pthread_cond_timedwait(&s->cv, &s->mu, &ts) == 0)
		;
	pthread_mutex_unlock(&s->mu);
}

static void *
sender_main(void *arg)
{
	struct sender *s = arg;
	struct spool_entry e;

	for (;;) {
		int64_t now = clock_mono_ms(), wait_ms = -1, stop_by;
		struct runconf *rc;
		bool stopping;

		pthread_mutex_lock(&s->mu);
		stopping = s->stopping;
		stop_by = s->stop_by_ms;
		s->wake = false;
		rc = runconf_ref(s->cur);
		pthread_mutex_unlock(&s->mu);
		if (stopping && now >= stop_by) {
			runconf_free(rc);
			break;
		}

		while (spool_next_skip(s->sp, now, busy, s, &e, &wait_ms) == 1)
			start(s, rc, &e);
		runconf_free(rc);
		/* Nothing is due, nothing in flight: the flush is over. */
		if (stopping && s->flights == NULL)
			break;

		now = clock_mono_ms();
		if (wait_ms < 0 || wait_ms > SENDER_IDLE_MS)
			wait_ms = SENDER_IDLE_MS;
		if (stopping && wait_ms > stop_by - now)
			wait_ms = stop_by > now ? stop_by - now : 0;
		wait_round(s, wait_ms);
	}
	if (s->flights != NULL)
		cancel_all(s);
	if (s->multi != NULL) {
		pthread_mutex_lock(&s->mu);
		s->heavy->http_multi_free(s->multi);
		s->multi = NULL;
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

/* Wake the thread, from its sleep or its poll; called with ${s}->mu held. */
static void
wake_locked(struct sender *s)
{
	s->wake = true;
	pthread_cond_signal(&s->cv);
	if (s->multi != NULL)
		s->heavy->http_multi_wakeup(s->multi);
}

void
sender_swap(struct sender *s, struct runconf *rc)
{
	struct runconf *old;

	pthread_mutex_lock(&s->mu);
	old = s->cur;
	s->cur = rc;
	wake_locked(s);
	pthread_mutex_unlock(&s->mu);
	runconf_free(old);
}

void
sender_wake(struct sender *s)
{
	pthread_mutex_lock(&s->mu);
	wake_locked(s);
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

int
sender_notifier_state(struct sender *s, const char *name,
    struct sender_nstate *ret)
{
	int found = 0;

	memset(ret, 0, sizeof(*ret));
	pthread_mutex_lock(&s->mu);
	for (size_t i = 0; i < s->nns; i++)
		if (strcmp(s->ns[i].name, name) == 0) {
			*ret = s->ns[i].st;
			found = 1;
		}
	pthread_mutex_unlock(&s->mu);
	return found;
}

json_t *
sender_recent(struct sender *s)
{
	json_t *arr = json_array();

	pthread_mutex_lock(&s->mu);
	/* Newest first: back from the slot written last. */
	for (size_t k = 1; arr != NULL && k <= s->nrecent; k++) {
		const struct settled *r =
		    &s->recent[(s->recent_next + SENDER_RECENT - k) %
			SENDER_RECENT];
		char t[40], st[40];
		json_t *o;

		clock_rfc3339(r->time_ms, t, sizeof(t));
		clock_rfc3339(r->settled_ms, st, sizeof(st));
		o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:i}",
		    "id", r->id, "rule", r->rule, "metric", r->metric, "state",
		    alert_state_name(r->state), "time", t, "settled", st,
		    "notifier", r->notifier, "result",
		    r->delivered ? "delivered" : "dropped", "attempts",
		    (int)r->attempts);

		if (o != NULL && !r->delivered)
			(void)json_object_set_new(o, "error",
			    json_string(r->error));
		(void)json_array_append_new(arr, o);
	}
	pthread_mutex_unlock(&s->mu);
	return arr;
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
	wake_locked(s);
	pthread_mutex_unlock(&s->mu);
	pthread_join(s->thread, NULL);
	runconf_free(s->cur);
	pthread_cond_destroy(&s->cv);
	pthread_mutex_destroy(&s->mu);
	free(s->recent);
	free(s->ns);
	free(s);
}
