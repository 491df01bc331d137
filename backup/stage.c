/*
 * stage.c: the stage chain (write, close, sticky errors), the tap stage,
 * and the ordered worker pool behind the parallel stages.
 *
 * The pool keeps ${slots} jobs in a ring indexed by sequence number.  A job
 * goes FREE -> FILLING (producer) -> QUEUED -> BUSY (a worker) -> DONE ->
 * emitted in order -> FREE.  Workers take queued jobs in sequence order;
 * the producer thread emits the oldest job once it is DONE, so output
 * order equals input order and everything downstream runs on the
 * producer's thread.  One mutex guards the states; the work itself runs
 * unlocked.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/ag.h"
#include "backup/stage.h"

/**
 * stage_new(ops, ctx, next):
 * A stage running ${ops} on ${ctx} in front of ${next} (NULL for the
 * bottom).  Takes ownership of ${ctx}: on failure (NULL, out of memory)
 * ${ctx} is freed with ${ops}->free.
 */
struct stage *
stage_new(const struct stage_ops *ops, void *ctx, struct stage *next)
{
	struct stage *st;

	if ((st = calloc(1, sizeof(*st))) == NULL) {
		ops->free(ctx);
		return (NULL);
	}
	st->ops = ops;
	st->ctx = ctx;
	st->next = next;
	return (st);
}

/**
 * stage_write(st, buf, len):
 * Write ${len} bytes into ${st}.  Return 0, or the sticky error (-1).
 * Blocks while the chain below works.
 */
int
stage_write(struct stage *st, const void *buf, size_t len)
{
	int rc;

	if (st->err != 0)
		return (st->err);
	if (st->closed)
		return (stage_fail(st, -1, "%s: write after close",
		    st->ops->name));
	if (len == 0)
		return (0);
	st->bytes_in += len;
	if ((rc = st->ops->write(st, buf, len)) != 0 && st->err == 0)
		st->err = rc;
	return (rc);
}

/**
 * stage_close(st):
 * Flush ${st}, then close the stages below it.  Return 0 if the whole
 * chain from ${st} down finished (the object is committed), else the
 * sticky error.  Closing twice returns the first result.
 */
int
stage_close(struct stage *st)
{
	int rc;

	if (st->err != 0)
		return (st->err);
	if (st->closed)
		return (0);
	if (st->ops->close != NULL && (rc = st->ops->close(st)) != 0) {
		if (st->err == 0)
			st->err = rc;
		return (rc);
	}
	if (st->next != NULL && (rc = stage_close(st->next)) != 0) {
		st->err = rc;
		return (rc);
	}
	st->closed = 1;
	return (0);
}

/**
 * stage_fail(st, rc, fmt, ...):
 * Record the failure ${rc} (nonzero) of ${st} with a message, unless an
 * error is already recorded.  Return ${rc}.
 */
int
stage_fail(struct stage *st, int rc, const char *fmt, ...)
{
	va_list ap;

	if (st->err != 0)
		return (rc);
	st->err = rc;
	va_start(ap, fmt);
	vsnprintf(st->msg.msg, sizeof(st->msg.msg), fmt, ap);
	va_end(ap);
	return (rc);
}

/**
 * stage_error(top, err):
 * Copy into ${err} the message of the first failure in the chain from
 * ${top} down ("<stage>: failed" if none was recorded).  Return -1.
 */
int
stage_error(const struct stage *top, struct ag_err *err)
{
	const struct stage *st, *failed = NULL;

	for (st = top; st != NULL; st = st->next) {
		if (st->msg.msg[0] != '\0')
			return (ag_err_set(err, "%s", st->msg.msg));
		if (st->err != 0 && failed == NULL)
			failed = st;
	}
	return (ag_err_set(err, "%s: failed",
	    failed != NULL ? failed->ops->name : "stage"));
}

/* stage_free_chain(top): free ${top} and every stage below; NULL is a no-op. */
void
stage_free_chain(struct stage *top)
{
	struct stage *next;

	for (; top != NULL; top = next) {
		next = top->next;
		top->ops->free(top->ctx);
		free(top);
	}
}

/* The tap stage. */
struct tap {
	int (*fn)(void *, const uint8_t *, size_t);
	void *cookie;
};

static int
tap_write(struct stage *st, const uint8_t *buf, size_t len)
{
	struct tap *t = st->ctx;

	if (t->fn(t->cookie, buf, len) != 0)
		return (stage_fail(st, -1, "tap: stopped by callback"));
	return (stage_write(st->next, buf, len));
}

static void
tap_free(void *ctx)
{

	free(ctx);
}

static const struct stage_ops tap_ops = {
	.name = "tap",
	.write = tap_write,
	.close = NULL,
	.free = tap_free,
};

/**
 * stage_tap_new(next, fn, cookie):
 * A pass-through stage that shows every buffer to ${fn} (hashing, progress)
 * before writing it to ${next}; a nonzero return of ${fn} fails the chain.
 */
struct stage *
stage_tap_new(struct stage *next,
    int (*fn)(void *cookie, const uint8_t *buf, size_t len), void *cookie)
{
	struct tap *t;

	if ((t = calloc(1, sizeof(*t))) == NULL)
		return (NULL);
	t->fn = fn;
	t->cookie = cookie;
	return (stage_new(&tap_ops, t, next));
}

/* stage_online_cpus(): online CPUs, at least 1 (the default worker count). */
unsigned
stage_online_cpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	if (n < 1)
		return (1);
	if (n > 256)
		return (256);
	return ((unsigned)n);
}

/**
 * stage_job_reserve(buf, cap, need, max):
 * Grow the buffer ${*buf} of capacity ${*cap} to hold ${need} bytes, at
 * most ${max}.  Return 0, or -1 if too large or out of memory.
 */
int
stage_job_reserve(uint8_t **buf, size_t *cap, size_t need, size_t max)
{
	uint8_t *nb;

	if (need <= *cap)
		return (0);
	if (need > max)
		return (-1);
	/* Exact sizes: jobs are reused for equal-sized slices. */
	if ((nb = realloc(*buf, need)) == NULL)
		return (-1);
	*buf = nb;
	*cap = need;
	return (0);
}

enum { JOB_FREE, JOB_FILLING, JOB_QUEUED, JOB_BUSY, JOB_DONE };

struct stage_pool {
	const struct stage_pool_ops *ops;
	void *cookie;
	pthread_mutex_t mtx;
	pthread_cond_t work_cv; /* a job was queued, or stop */
	pthread_cond_t done_cv; /* a job is done */
	struct stage_job *jobs;
	unsigned slots;
	pthread_t *threads;
	void **wctx;
	unsigned workers;   /* threads running */
	unsigned nwctx;	    /* worker contexts made */
	uint64_t head;	    /* oldest job not yet emitted */
	uint64_t next_seq;  /* next job handed to the producer */
	uint64_t next_work; /* next job a worker takes */
	int stop;
	int failed; /* sticky */
	struct ag_err err;
};

struct worker_arg {
	struct stage_pool *p;
	void *wctx;
};

static void *
pool_worker(void *arg)
{
	struct worker_arg *wa = arg;
	struct stage_pool *p = wa->p;
	struct stage_job *job;
	int rc, failed;

	pthread_mutex_lock(&p->mtx);
	for (;;) {
		job = &p->jobs[p->next_work % p->slots];
		while (!p->stop &&
		    !(job->state == JOB_QUEUED && job->seq == p->next_work)) {
			pthread_cond_wait(&p->work_cv, &p->mtx);
			job = &p->jobs[p->next_work % p->slots];
		}
		if (p->stop)
			break;
		job->state = JOB_BUSY;
		p->next_work++;
		failed = p->failed;
		pthread_mutex_unlock(&p->mtx);

		/* After a failure the result is never used: skip the work. */
		if (failed) {
			rc = -1;
		} else {
			job->err.msg[0] = '\0';
			rc = p->ops->work(wa->wctx, p->cookie, job);
		}

		pthread_mutex_lock(&p->mtx);
		job->rc = rc;
		job->state = JOB_DONE;
		pthread_cond_broadcast(&p->done_cv);
		/* Another queued job may be waiting for a free worker. */
		pthread_cond_signal(&p->work_cv);
	}
	pthread_mutex_unlock(&p->mtx);
	free(wa);
	return (NULL);
}

static int
pool_err(struct stage_pool *p, struct ag_err *err)
{

	return (ag_err_set(err, "%s", p->err.msg));
}

/*
 * Emit the oldest job if it is done; with ${wait}, wait for it.  Return 0
 * when one was emitted, 1 if none is ready (or none is in flight), -1 on
 * failure (sticky).
 */
static int
pool_emit_head(struct stage_pool *p, int wait)
{
	struct stage_job *job;
	int rc;

	if (p->failed)
		return (-1);
	if (p->head == p->next_seq)
		return (1);
	job = &p->jobs[p->head % p->slots];
	pthread_mutex_lock(&p->mtx);
	if (job->state == JOB_FILLING) {
		pthread_mutex_unlock(&p->mtx);
		return (1);
	}
	while (job->state != JOB_DONE) {
		if (!wait) {
			pthread_mutex_unlock(&p->mtx);
			return (1);
		}
		pthread_cond_wait(&p->done_cv, &p->mtx);
	}
	pthread_mutex_unlock(&p->mtx);

	if (job->rc != 0) {
		if (job->err.msg[0] != '\0')
			snprintf(p->err.msg, sizeof(p->err.msg), "%s",
			    job->err.msg);
		else
			snprintf(p->err.msg, sizeof(p->err.msg),
			    "worker failed on block %ju", (uintmax_t)job->seq);
		goto fail;
	}
	if ((rc = p->ops->emit(p->cookie, job, &p->err)) != 0)
		goto fail;
	pthread_mutex_lock(&p->mtx);
	job->state = JOB_FREE;
	p->head++;
	pthread_mutex_unlock(&p->mtx);
	return (0);

fail:
	pthread_mutex_lock(&p->mtx);
	p->failed = 1;
	pthread_mutex_unlock(&p->mtx);
	return (-1);
}

/**
 * stage_pool_new(ops, cookie, workers, slots, err):
 * Start ${workers} threads (at least 1) with ${slots} (> workers) jobs.
 * Job buffers are grown with stage_job_reserve(), whose bound the user
 * gives.  Return the pool or NULL with a message.
 */
struct stage_pool *
stage_pool_new(const struct stage_pool_ops *ops, void *cookie,
    unsigned workers, unsigned slots, struct ag_err *err)
{
	struct stage_pool *p;
	struct worker_arg *wa;
	unsigned i;

	if (workers < 1)
		workers = 1;
	if (slots <= workers)
		slots = workers + 1;
	if ((p = calloc(1, sizeof(*p))) == NULL)
		goto oom;
	p->ops = ops;
	p->cookie = cookie;
	p->slots = slots;
	pthread_mutex_init(&p->mtx, NULL);
	pthread_cond_init(&p->work_cv, NULL);
	pthread_cond_init(&p->done_cv, NULL);
	if ((p->jobs = calloc(slots, sizeof(*p->jobs))) == NULL ||
	    (p->threads = calloc(workers, sizeof(*p->threads))) == NULL ||
	    (p->wctx = calloc(workers, sizeof(*p->wctx))) == NULL)
		goto oom1;
	for (i = 0; i < workers; i++) {
		if (ops->worker_new != NULL &&
		    ops->worker_new(cookie, &p->wctx[i]) != 0) {
			(void)ag_err_set(err, "cannot set up worker %u", i);
			goto err1;
		}
		p->nwctx++;
	}
	for (i = 0; i < workers; i++) {
		if ((wa = malloc(sizeof(*wa))) == NULL)
			goto oom1;
		wa->p = p;
		wa->wctx = p->wctx[i];
		if (pthread_create(&p->threads[i], NULL, pool_worker, wa) !=
		    0) {
			free(wa);
			(void)ag_err_set(err, "cannot start worker thread");
			goto err1;
		}
		p->workers++;
	}
	return (p);

oom1:
	(void)ag_err_set(err, "out of memory");
err1:
	stage_pool_free(p);
	return (NULL);
oom:
	(void)ag_err_set(err, "out of memory");
	return (NULL);
}

static int
job_is_free(struct stage_pool *p, struct stage_job *job)
{
	int r;

	pthread_mutex_lock(&p->mtx);
	r = job->state == JOB_FREE;
	pthread_mutex_unlock(&p->mtx);
	return (r);
}

/**
 * stage_pool_get(p, err):
 * A free job for the producer to fill (in_len = 0); emits finished jobs,
 * waiting for the oldest if all slots are busy.  Return it, or NULL with the
 * sticky error.  Submit it before the next get.
 */
struct stage_job *
stage_pool_get(struct stage_pool *p, struct ag_err *err)
{
	struct stage_job *job;

	job = &p->jobs[p->next_seq % p->slots];
	/* The slot holds job next_seq - slots until that one is emitted. */
	while (!job_is_free(p, job)) {
		if (pool_emit_head(p, 1) < 0) {
			(void)pool_err(p, err);
			return (NULL);
		}
	}
	if (p->failed) {
		(void)pool_err(p, err);
		return (NULL);
	}
	pthread_mutex_lock(&p->mtx);
	job->state = JOB_FILLING;
	job->seq = p->next_seq++;
	pthread_mutex_unlock(&p->mtx);
	job->in_len = 0;
	job->out_len = 0;
	job->aux = 0;
	job->rc = 0;
	return (job);
}

/**
 * stage_pool_submit(p, job, err):
 * Queue ${job} for the workers and emit jobs already finished.  Return 0
 * or -1 (sticky).
 */
int
stage_pool_submit(struct stage_pool *p, struct stage_job *job,
    struct ag_err *err)
{
	int rc;

	pthread_mutex_lock(&p->mtx);
	job->state = JOB_QUEUED;
	pthread_cond_signal(&p->work_cv);
	pthread_mutex_unlock(&p->mtx);
	while ((rc = pool_emit_head(p, 0)) == 0)
		;
	if (rc < 0)
		return (pool_err(p, err));
	return (0);
}

/**
 * stage_pool_drain(p, err):
 * Wait for every submitted job and emit it.  Return 0 or -1 (sticky).
 */
int
stage_pool_drain(struct stage_pool *p, struct ag_err *err)
{
	int rc;

	while ((rc = pool_emit_head(p, 1)) == 0)
		;
	if (rc < 0)
		return (pool_err(p, err));
	return (0);
}

/* stage_pool_free(p): stop and join the workers, free; NULL is a no-op. */
void
stage_pool_free(struct stage_pool *p)
{
	unsigned i;

	if (p == NULL)
		return;
	pthread_mutex_lock(&p->mtx);
	p->stop = 1;
	pthread_cond_broadcast(&p->work_cv);
	pthread_mutex_unlock(&p->mtx);
	for (i = 0; i < p->workers; i++)
		pthread_join(p->threads[i], NULL);
	for (i = 0; i < p->nwctx; i++)
		if (p->ops->worker_free != NULL)
			p->ops->worker_free(p->wctx[i]);
	for (i = 0; p->jobs != NULL && i < p->slots; i++) {
		free(p->jobs[i].in);
		free(p->jobs[i].out);
	}
	pthread_cond_destroy(&p->done_cv);
	pthread_cond_destroy(&p->work_cv);
	pthread_mutex_destroy(&p->mtx);
	free(p->wctx);
	free(p->threads);
	free(p->jobs);
	free(p);
}
