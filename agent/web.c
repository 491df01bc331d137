/*
 * web.c: the mailbox between the HTTP server's threads and the scheduler
 * thread (agent/web.h), and the JSON answers both sides write.
 *
 * A call lives on its caller's stack: web_call() links it into the list,
 * writes one byte into the pipe the scheduler polls and waits on the
 * call's condition variable.  web_serve() takes the list's calls one at a
 * time, answers each outside the lock and marks it done.  A caller that
 * gives up unlinks its call under the lock unless the scheduler has taken
 * it, in which case it waits for the answer: the scheduler only builds an
 * answer, so that wait is short.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent/runconf.h"
#include "agent/web.h"

enum call_state { CALL_QUEUED, CALL_TAKEN, CALL_DONE };

struct call {
	struct call *next;
	const struct web_req *rq;
	struct web_resp *rs;
	enum call_state state;
	pthread_cond_t done;
};

struct web {
	pthread_mutex_t mu;
	struct call *head, **tail;
	int pipe[2];
	struct runconf *rc;
	bool closed;
};

const char *
web_param(const struct web_req *rq, const char *key)
{
	for (size_t i = 0; i < rq->nparams; i++)
		if (strcmp(rq->params[i].key, key) == 0)
			return rq->params[i].value;
	return NULL;
}

static void
set_body(struct web_resp *rs, int status, char *body)
{
	static const char oom[] = "{\"error\":\"out of memory\"}";

	free(rs->body);
	rs->ctype = NULL;
	if (body == NULL) {
		rs->status = 500;
		rs->body = strdup(oom);
		rs->len = rs->body != NULL ? sizeof(oom) - 1 : 0;
		return;
	}
	rs->status = status;
	rs->body = body;
	rs->len = strlen(body);
}

void
web_json(struct web_resp *rs, int status, json_t *o)
{
	set_body(rs, status,
	    o != NULL ? json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII) :
			NULL);
	json_decref(o);
}

void
web_error(struct web_resp *rs, int status, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	web_json(rs, status, json_pack("{s:s}", "error", msg));
}

void
web_resp_free(struct web_resp *rs)
{
	free(rs->body);
	rs->body = NULL;
	rs->len = 0;
}

struct web *
web_new(void)
{
	struct web *w = calloc(1, sizeof(*w));

	if (w == NULL)
		return NULL;
	if (pipe2(w->pipe, O_CLOEXEC | O_NONBLOCK) == -1) {
		free(w);
		return NULL;
	}
	(void)pthread_mutex_init(&w->mu, NULL);
	w->tail = &w->head;
	return w;
}

static void
drain(struct web *w)
{
	char buf[64];

	while (read(w->pipe[0], buf, sizeof(buf)) > 0)
		;
}

/* Take the first queued call, or NULL; called with the lock held. */
static struct call *
take(struct web *w)
{
	struct call *c = w->head;

	if (c == NULL)
		return NULL;
	w->head = c->next;
	if (w->head == NULL)
		w->tail = &w->head;
	c->next = NULL;
	c->state = CALL_TAKEN;
	return c;
}

void
web_close(struct web *w)
{
	struct call *c;

	(void)pthread_mutex_lock(&w->mu);
	w->closed = true;
	while ((c = take(w)) != NULL) {
		web_error(c->rs, 503, "vigild is stopping");
		c->state = CALL_DONE;
		(void)pthread_cond_signal(&c->done);
	}
	(void)pthread_mutex_unlock(&w->mu);
}

void
web_free(struct web *w)
{
	if (w == NULL)
		return;
	web_close(w);
	runconf_free(w->rc);
	(void)close(w->pipe[0]);
	(void)close(w->pipe[1]);
	(void)pthread_mutex_destroy(&w->mu);
	free(w);
}

int
web_fd(const struct web *w)
{
	return w->pipe[0];
}

int
web_call(struct web *w, const struct web_req *rq, struct web_resp *rs,
    int timeout_ms)
{
	struct call c = { .rq = rq, .rs = rs, .state = CALL_QUEUED };
	pthread_condattr_t ca;
	struct timespec dl;
	int rc = 0;

	*rs = (struct web_resp){ 0 };
	(void)pthread_condattr_init(&ca);
	(void)pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	(void)pthread_cond_init(&c.done, &ca);
	(void)pthread_condattr_destroy(&ca);
	(void)clock_gettime(CLOCK_MONOTONIC, &dl);
	dl.tv_sec += timeout_ms / 1000;
	dl.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (dl.tv_nsec >= 1000000000L) {
		dl.tv_sec++;
		dl.tv_nsec -= 1000000000L;
	}

	(void)pthread_mutex_lock(&w->mu);
	if (w->closed) {
		(void)pthread_mutex_unlock(&w->mu);
		(void)pthread_cond_destroy(&c.done);
		web_error(rs, 503, "vigild is stopping");
		return -1;
	}
	*w->tail = &c;
	w->tail = &c.next;
	/* A full pipe already says that calls wait. */
	(void)!write(w->pipe[1], "", 1);
	while (c.state == CALL_QUEUED &&
	    pthread_cond_timedwait(&c.done, &w->mu, &dl) != ETIMEDOUT)
		;
	if (c.state == CALL_QUEUED) {
		/* Withdraw it: the scheduler has not seen it. */
		struct call **pp = &w->head;

		while (*pp != &c)
			pp = &(*pp)->next;
		*pp = c.next;
		if (*pp == NULL)
			w->tail = pp;
		rc = -1;
	}
	/* Taken: the answer is being built; it will not take long. */
	while (c.state == CALL_TAKEN)
		(void)pthread_cond_wait(&c.done, &w->mu);
	(void)pthread_mutex_unlock(&w->mu);
	(void)pthread_cond_destroy(&c.done);
	if (rc == -1)
		web_error(rs, 503, "vigild is busy; try again");
	return rc;
}

void
web_serve(struct web *w, web_handler_fn *fn, void *cookie)
{
	struct call *c;

	drain(w);
	for (;;) {
		(void)pthread_mutex_lock(&w->mu);
		c = take(w);
		(void)pthread_mutex_unlock(&w->mu);
		if (c == NULL)
			return;
		*c->rs = (struct web_resp){ 0 };
		fn(cookie, c->rq, c->rs);
		if (c->rs->body == NULL && c->rs->status == 0)
			web_error(c->rs, 500, "no answer");
		(void)pthread_mutex_lock(&w->mu);
		c->state = CALL_DONE;
		(void)pthread_cond_signal(&c->done);
		(void)pthread_mutex_unlock(&w->mu);
	}
}

void
web_set_runconf(struct web *w, struct runconf *rc)
{
	struct runconf *old;

	if (rc != NULL)
		(void)runconf_ref(rc);
	(void)pthread_mutex_lock(&w->mu);
	old = w->rc;
	w->rc = rc;
	(void)pthread_mutex_unlock(&w->mu);
	runconf_free(old);
}

struct runconf *
web_runconf(struct web *w)
{
	struct runconf *rc;

	(void)pthread_mutex_lock(&w->mu);
	rc = w->rc != NULL ? runconf_ref(w->rc) : NULL;
	(void)pthread_mutex_unlock(&w->mu);
	return rc;
}
