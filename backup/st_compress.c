/*
 * st_compress.c: the compress stage.
 *
 * The writer copies the incoming tar stream into the input buffer of the
 * current pool job (one slice); a full slice is submitted, and a worker
 * compresses it with its own libdeflate compressor into one complete gzip
 * member (header, deflate stream, CRC32 and ISIZE trailer).  The pool
 * (stage.c) hands members back in slice order on the writer's thread,
 * where they are reported to on_member() and written downstream.  This is
 * the only copy of the data in the stage; the slice boundaries are fixed
 * (every slice but the last is exactly slice_size), so the tar offset of
 * member i is i * slice_size.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <stdlib.h>
#include <string.h>

#include <libdeflate.h>

#include "lib/ag.h"
#include "backup/stage.h"
#include "backup/st_compress.h"

struct compress {
	struct stage *st; /* ourselves, for next and errors */
	struct stage_pool *pool;
	struct stage_job *cur; /* slice being filled, or NULL */
	size_t slice;
	size_t bound;
	int level;
	uint64_t gz_off;
	void (*on_member)(void *, const struct st_compress_member *);
	void *cookie;
};

/**
 * st_compress_bound(slice_size):
 * The largest gzip member a slice of ${slice_size} bytes can become (the
 * chunk size to give the encryption stage).
 */
size_t
st_compress_bound(size_t slice_size)
{

	return (libdeflate_gzip_compress_bound(NULL, slice_size));
}

static int
cz_worker_new(void *cookie, void **ret_wctx)
{
	struct compress *cz = cookie;
	struct libdeflate_compressor *c;

	if ((c = libdeflate_alloc_compressor(cz->level)) == NULL)
		return (-1);
	*ret_wctx = c;
	return (0);
}

static void
cz_worker_free(void *wctx)
{

	libdeflate_free_compressor(wctx);
}

static int
cz_work(void *wctx, void *cookie, struct stage_job *job)
{
	struct compress *cz = cookie;
	size_t n;

	if (stage_job_reserve(&job->out, &job->out_cap, cz->bound,
		cz->bound) != 0)
		return (ag_err_set(&job->err, "compress: out of memory"));
	n = libdeflate_gzip_compress(wctx, job->in, job->in_len, job->out,
	    job->out_cap);
	if (n == 0)
		return (ag_err_set(&job->err,
		    "compress: slice %ju did not "
		    "fit its bound",
		    (uintmax_t)job->seq));
	job->out_len = n;
	return (0);
}

static int
cz_emit(void *cookie, struct stage_job *job, struct ag_err *err)
{
	struct compress *cz = cookie;
	struct st_compress_member m = {
		.index = job->seq,
		.tar_off = job->aux,
		.tar_len = job->in_len,
		.gz_off = cz->gz_off,
		.gz_len = job->out_len,
	};

	if (cz->on_member != NULL)
		cz->on_member(cz->cookie, &m);
	if (stage_write(cz->st->next, job->out, job->out_len) != 0)
		return (ag_err_set(err, "downstream failed"));
	cz->gz_off += job->out_len;
	return (0);
}

static const struct stage_pool_ops cz_pool_ops = {
	.worker_new = cz_worker_new,
	.worker_free = cz_worker_free,
	.work = cz_work,
	.emit = cz_emit,
};

/* A pool failure: downstream's own error, or ours with the pool's text. */
static int
cz_fail(struct stage *st, const struct ag_err *perr)
{

	if (st->next != NULL && st->next->err != 0)
		return (st->next->err);
	return (stage_fail(st, -1, "compress: %s", perr->msg));
}

static int
cz_submit(struct stage *st, struct compress *cz)
{
	struct ag_err perr;

	if (stage_pool_submit(cz->pool, cz->cur, &perr) != 0) {
		cz->cur = NULL;
		return (cz_fail(st, &perr));
	}
	cz->cur = NULL;
	return (0);
}

static int
cz_write(struct stage *st, const uint8_t *buf, size_t len)
{
	struct compress *cz = st->ctx;
	struct ag_err perr;
	size_t n;

	while (len > 0) {
		if (cz->cur == NULL) {
			if ((cz->cur = stage_pool_get(cz->pool, &perr)) ==
			    NULL)
				return (cz_fail(st, &perr));
			if (stage_job_reserve(&cz->cur->in, &cz->cur->in_cap,
				cz->slice, cz->slice) != 0)
				return (stage_fail(st, -1,
				    "compress: out of memory"));
			cz->cur->aux = cz->cur->seq * (uint64_t)cz->slice;
		}
		n = cz->slice - cz->cur->in_len;
		if (n > len)
			n = len;
		memcpy(cz->cur->in + cz->cur->in_len, buf, n);
		cz->cur->in_len += n;
		buf += n;
		len -= n;
		if (cz->cur->in_len == cz->slice && cz_submit(st, cz) != 0)
			return (-1);
	}
	return (0);
}

static int
cz_close(struct stage *st)
{
	struct compress *cz = st->ctx;
	struct ag_err perr;

	if (cz->cur != NULL && cz->cur->in_len > 0 && cz_submit(st, cz) != 0)
		return (-1);
	if (stage_pool_drain(cz->pool, &perr) != 0)
		return (cz_fail(st, &perr));
	return (0);
}

static void
cz_free(void *ctx)
{
	struct compress *cz = ctx;

	if (cz == NULL)
		return;
	stage_pool_free(cz->pool);
	free(cz);
}

static const struct stage_ops compress_ops = {
	.name = "compress",
	.write = cz_write,
	.close = cz_close,
	.free = cz_free,
};

/**
 * st_compress_new(next, conf, err):
 * A compress stage writing to ${next}.  It holds at most workers + 1
 * slices (input and output) in memory; a write blocks while all are in
 * flight.  Return it, or NULL with a message (bad settings, out of memory,
 * threads).
 */
struct stage *
st_compress_new(struct stage *next, const struct st_compress_conf *conf,
    struct ag_err *err)
{
	struct compress *cz;
	struct stage *st;
	unsigned workers;

	if ((cz = calloc(1, sizeof(*cz))) == NULL) {
		(void)ag_err_set(err, "compress: out of memory");
		return (NULL);
	}
	cz->slice = conf->slice_size != 0 ? conf->slice_size :
					    ST_COMPRESS_SLICE_DEFAULT;
	cz->level = conf->level != 0 ? conf->level : ST_COMPRESS_LEVEL_DEFAULT;
	cz->on_member = conf->on_member;
	cz->cookie = conf->cookie;
	if (cz->slice < ST_COMPRESS_SLICE_MIN ||
	    cz->slice > ST_COMPRESS_SLICE_MAX) {
		(void)ag_err_set(err,
		    "compress: slice size %zu is outside "
		    "[%zu, %zu]",
		    cz->slice, ST_COMPRESS_SLICE_MIN, ST_COMPRESS_SLICE_MAX);
		goto fail;
	}
	if (cz->level < 1 || cz->level > 12) {
		(void)ag_err_set(err, "compress: level %d is outside [1, 12]",
		    cz->level);
		goto fail;
	}
	cz->bound = st_compress_bound(cz->slice);
	workers = conf->workers != 0 ? conf->workers : stage_online_cpus();
	if (workers > 64)
		workers = 64;
	cz->pool = stage_pool_new(&cz_pool_ops, cz, workers, workers + 1, err);
	if (cz->pool == NULL)
		goto fail;
	if ((st = stage_new(&compress_ops, cz, next)) == NULL) {
		(void)ag_err_set(err, "compress: out of memory");
		return (NULL);
	}
	cz->st = st;
	return (st);

fail:
	free(cz);
	return (NULL);
}
