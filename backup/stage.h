/*
 * stage.h: stream stages, the links of a backup chain
 * (archive -> compress -> encrypt -> upload), and the ordered worker pool
 * that parallel stages (compress, restore's inflate) are built on.
 *
 * A job builds the chain from the bottom: each stage is created with its
 * downstream stage as ${next}; the job then writes into the top.  A stage
 * transforms what it gets and calls stage_write(st->next, ...).
 * stage_close() flushes a stage and then closes the next one, so closing
 * the top finishes the whole chain; the bottom (upload) stage commits its
 * object only there.  Errors are sticky: the first one is kept in ${err}
 * (and its message in the stage that failed), every later write returns
 * it at once, and nothing downstream is committed.  stage_free_chain()
 * frees a chain in any state; a stage that was not closed successfully
 * discards its output (the upload is aborted).
 *
 * Stages are not thread-safe: one thread writes into the top, and every
 * stage below runs on that thread (a parallel stage hands finished work
 * downstream from the writing thread, in order).
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef VIGIL_BACKUP_STAGE_H
#define VIGIL_BACKUP_STAGE_H

#include <stddef.h>
#include <stdint.h>

#include "lib/ag.h"

struct stage;

struct stage_ops {
	const char *name; /* "compress", "upload", ... */
	/* Consume ${len} bytes; return 0 or -1 (use stage_fail()). */
	int (*write)(struct stage *st, const uint8_t *buf, size_t len);
	/* Flush everything held downstream (not closing next); 0 or -1. */
	int (*close)(struct stage *st);
	/* Free ${ctx}; discard uncommitted output. */
	void (*free)(void *ctx);
};

struct stage {
	const struct stage_ops *ops;
	struct stage *next; /* downstream; NULL: bottom */
	void *ctx;
	uint64_t bytes_in; /* bytes written into it */
	int err;	   /* sticky first error */
	int closed;	   /* close succeeded */
	struct ag_err msg; /* by the stage that failed */
};

/**
 * stage_new(ops, ctx, next):
 * A stage running ${ops} on ${ctx} in front of ${next} (NULL for the
 * bottom).  Takes ownership of ${ctx}: on failure (NULL, out of memory)
 * ${ctx} is freed with ${ops}->free.
 */
struct stage *stage_new(const struct stage_ops *ops, void *ctx,
    struct stage *next);

/**
 * stage_write(st, buf, len):
 * Write ${len} bytes into ${st}.  Return 0, or the sticky error (-1).
 * Blocks while the chain below works.
 */
int stage_write(struct stage *st, const void *buf, size_t len);

/**
 * stage_close(st):
 * Flush ${st}, then close the stages below it.  Return 0 if the whole
 * chain from ${st} down finished (the object is committed), else the
 * sticky error.  Closing twice returns the first result.
 */
int stage_close(struct stage *st);

/**
 * stage_fail(st, rc, fmt, ...):
 * Record the failure ${rc} (nonzero) of ${st} with a message, unless an
 * error is already recorded.  Return ${rc}.
 */
int stage_fail(struct stage *st, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/**
 * stage_error(top, err):
 * Copy into ${err} the message of the first failure in the chain from
 * ${top} down ("<stage>: failed" if none was recorded).  Return -1.
 */
int stage_error(const struct stage *top, struct ag_err *err);

/* stage_free_chain(top): free ${top} and every stage below; NULL is a no-op. */
void stage_free_chain(struct stage *top);

/**
 * stage_tap_new(next, fn, cookie):
 * A pass-through stage that shows every buffer to ${fn} (hashing, progress)
 * before writing it to ${next}; a nonzero return of ${fn} fails the chain.
 */
struct stage *stage_tap_new(struct stage *next,
    int (*fn)(void *cookie, const uint8_t *buf, size_t len), void *cookie);

/*
 * The ordered worker pool.  A producer takes a job (stage_pool_get()),
 * fills its input, submits it; worker threads transform jobs in any
 * order; finished jobs are handed to emit() strictly in submission order,
 * on the producer's thread, inside stage_pool_get(), _submit() and
 * _drain().  At most ${slots} jobs exist, so memory is bounded by
 * ${slots} x (input + output capacity); the producer blocks when all are
 * in flight.  Errors (work, emit) are sticky.
 */
struct stage_pool;

struct stage_job {
	uint64_t seq; /* 0, 1, ... in submit order */
	uint8_t *in;  /* input: in_len of in_cap */
	size_t in_len, in_cap;
	uint8_t *out; /* output, set by work() */
	size_t out_len, out_cap;
	uint64_t aux; /* the producer's, kept */
	int rc;
	struct ag_err err; /* message when work() fails */
	int state;	   /* the pool's */
};

struct stage_pool_ops {
	/* Per-thread state for work(); 0 or -1. */
	int (*worker_new)(void *cookie, void **ret_wctx);
	void (*worker_free)(void *wctx);
	/* Transform job->in into job->out; 0, or -1 with job->err set. */
	int (*work)(void *wctx, void *cookie, struct stage_job *job);
	/* Hand a finished job on, in order; 0, or -1 with ${err} set. */
	int (*emit)(void *cookie, struct stage_job *job, struct ag_err *err);
};

/**
 * stage_pool_new(ops, cookie, workers, slots, err):
 * Start ${workers} threads (at least 1) with ${slots} (> workers) jobs.
 * Job buffers are grown with stage_job_reserve(), whose bound the user
 * gives.  Return the pool or NULL with a message.
 */
struct stage_pool *stage_pool_new(const struct stage_pool_ops *ops,
    void *cookie, unsigned workers, unsigned slots, struct ag_err *err);

/**
 * stage_pool_get(p, err):
 * A free job for the producer to fill (in_len = 0); emits finished jobs,
 * waiting for the oldest if all slots are busy.  Return it, or NULL with the
 * sticky error.  Submit it before the next get.
 */
struct stage_job *stage_pool_get(struct stage_pool *p, struct ag_err *err);

/**
 * stage_pool_submit(p, job, err):
 * Queue ${job} for the workers and emit jobs already finished.  Return 0
 * or -1 (sticky).
 */
int stage_pool_submit(struct stage_pool *p, struct stage_job *job,
    struct ag_err *err);

/**
 * stage_pool_drain(p, err):
 * Wait for every submitted job and emit it.  Return 0 or -1 (sticky).
 */
int stage_pool_drain(struct stage_pool *p, struct ag_err *err);

/* stage_pool_free(p): stop and join the workers, free; NULL is a no-op. */
void stage_pool_free(struct stage_pool *p);

/**
 * stage_job_reserve(buf, cap, need, max):
 * Grow the buffer ${*buf} of capacity ${*cap} to hold ${need} bytes, at
 * most ${max}.  Return 0, or -1 if too large or out of memory.
 */
int stage_job_reserve(uint8_t **buf, size_t *cap, size_t need, size_t max);

/* stage_online_cpus(): online CPUs, at least 1 (the default worker count). */
unsigned stage_online_cpus(void);

#endif
