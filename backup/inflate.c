/*
 * inflate.c: parallel gzip-member inflation, built on the ordered worker
 * pool of stage.c.
 *
 * The caller fills a job's input with one member (directly, by decrypting
 * into inflate_buf(), or by copy); a worker reads ISIZE from the member's
 * trailer, checks it against the slice bound, sizes the output exactly and
 * runs libdeflate_gzip_decompress_ex(), which also verifies the CRC32.
 * The member must be consumed exactly: trailing bytes are an error, as is
 * an output size other than ISIZE.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <stdlib.h>
#include <string.h>

#include <libdeflate.h>

#include "lib/ag.h"
#include "backup/stage.h"
#include "backup/st_compress.h"
#include "backup/inflate.h"

#define GZIP_MIN_MEMBER 18 /* 10 header + 0 data + 8 trailer */

struct inflate {
	struct stage_pool *pool;
	struct stage_job *cur;
	size_t max_out;
	size_t max_in;
	uint64_t bytes_out;
	int (*sink)(void *, const uint8_t *, size_t);
	void *cookie;
};

static int
if_worker_new(void *cookie, void **ret_wctx)
{
	struct libdeflate_decompressor *d;

	(void)cookie;
	if ((d = libdeflate_alloc_decompressor()) == NULL)
		return (-1);
	*ret_wctx = d;
	return (0);
}

static void
if_worker_free(void *wctx)
{

	libdeflate_free_decompressor(wctx);
}

static int
if_work(void *wctx, void *cookie, struct stage_job *job)
{
	struct inflate *ifl = cookie;
	enum libdeflate_result r;
	const uint8_t *t;
	size_t isize, ain, aout;

	if (job->in_len < GZIP_MIN_MEMBER)
		return (ag_err_set(&job->err,
		    "member %ju: corrupt gzip data "
		    "(%zu bytes)",
		    (uintmax_t)job->seq, job->in_len));
	t = job->in + job->in_len - 4;
	isize = (size_t)t[0] | (size_t)t[1] << 8 | (size_t)t[2] << 16 |
	    (size_t)t[3] << 24;
	if (isize > ifl->max_out)
		return (ag_err_set(&job->err,
		    "member %ju: inflated size %zu "
		    "exceeds the slice size %zu",
		    (uintmax_t)job->seq, isize, ifl->max_out));
	if (stage_job_reserve(&job->out, &job->out_cap, isize > 0 ? isize : 1,
		ifl->max_out > 0 ? ifl->max_out : 1) != 0)
		return (ag_err_set(&job->err, "out of memory"));
	r = libdeflate_gzip_decompress_ex(wctx, job->in, job->in_len, job->out,
	    isize, &ain, &aout);
	if (r != LIBDEFLATE_SUCCESS || aout != isize)
		return (ag_err_set(&job->err, "member %ju: corrupt gzip data",
		    (uintmax_t)job->seq));
	if (ain != job->in_len)
		return (ag_err_set(&job->err,
		    "member %ju: %zu bytes of "
		    "trailing data",
		    (uintmax_t)job->seq, job->in_len - ain));
	job->out_len = aout;
	return (0);
}

static int
if_emit(void *cookie, struct stage_job *job, struct ag_err *err)
{
	struct inflate *ifl = cookie;

	if (job->out_len > 0 &&
	    ifl->sink(ifl->cookie, job->out, job->out_len) != 0)
		return (ag_err_set(err, "output stopped by reader"));
	ifl->bytes_out += job->out_len;
	return (0);
}

static const struct stage_pool_ops if_pool_ops = {
	.worker_new = if_worker_new,
	.worker_free = if_worker_free,
	.work = if_work,
	.emit = if_emit,
};

/**
 * inflate_new(conf, err):
 * Start the workers.  Return the context, or NULL with a message.
 */
struct inflate *
inflate_new(const struct inflate_conf *conf, struct ag_err *err)
{
	struct inflate *ifl;
	unsigned workers;

	if ((ifl = calloc(1, sizeof(*ifl))) == NULL) {
		(void)ag_err_set(err, "out of memory");
		return (NULL);
	}
	ifl->max_out = conf->max_out != 0 ? conf->max_out :
					    ST_COMPRESS_SLICE_MAX;
	ifl->max_in = st_compress_bound(ifl->max_out);
	ifl->sink = conf->sink;
	ifl->cookie = conf->cookie;
	workers = conf->workers != 0 ? conf->workers : stage_online_cpus();
	if (workers > 64)
		workers = 64;
	ifl->pool = stage_pool_new(&if_pool_ops, ifl, workers, workers + 2,
	    err);
	if (ifl->pool == NULL) {
		free(ifl);
		return (NULL);
	}
	return (ifl);
}

/**
 * inflate_buf(ifl, len, err):
 * A buffer of ${len} bytes (at most the gzip bound of max_out) for the
 * caller to fill with exactly one gzip member, e.g. by decrypting into it;
 * then call inflate_submit().  May deliver earlier members to the sink and
 * block.  Return it, or NULL with the (sticky) error.
 */
uint8_t *
inflate_buf(struct inflate *ifl, size_t len, struct ag_err *err)
{

	if (len > ifl->max_in) {
		(void)ag_err_set(err,
		    "gzip member of %zu bytes exceeds the "
		    "bound %zu",
		    len, ifl->max_in);
		return (NULL);
	}
	if (ifl->cur == NULL &&
	    (ifl->cur = stage_pool_get(ifl->pool, err)) == NULL)
		return (NULL);
	if (stage_job_reserve(&ifl->cur->in, &ifl->cur->in_cap,
		len > 0 ? len : 1, ifl->max_in) != 0) {
		(void)ag_err_set(err, "out of memory");
		return (NULL);
	}
	ifl->cur->in_len = len;
	return (ifl->cur->in);
}

/**
 * inflate_submit(ifl, err):
 * Queue the member written into the last inflate_buf().  Return 0 or -1.
 */
int
inflate_submit(struct inflate *ifl, struct ag_err *err)
{
	struct stage_job *job = ifl->cur;

	if (job == NULL)
		return (ag_err_set(err, "inflate_submit() without a buffer"));
	ifl->cur = NULL;
	return (stage_pool_submit(ifl->pool, job, err));
}

/**
 * inflate_member(ifl, gz, len, err):
 * Copy the member ${gz} of ${len} bytes and queue it (inflate_buf() plus
 * inflate_submit()).  Return 0 or -1.
 */
int
inflate_member(struct inflate *ifl, const uint8_t *gz, size_t len,
    struct ag_err *err)
{
	uint8_t *b;

	if ((b = inflate_buf(ifl, len, err)) == NULL)
		return (-1);
	memcpy(b, gz, len);
	return (inflate_submit(ifl, err));
}

/**
 * inflate_finish(ifl, err):
 * Wait for every queued member and deliver it.  Return 0, or -1 with the
 * first error: "member N: corrupt gzip data", "member N: ... exceeds the
 * slice size", or "output stopped by reader" when the sink refused.
 */
int
inflate_finish(struct inflate *ifl, struct ag_err *err)
{

	if (ifl->cur != NULL)
		return (ag_err_set(err, "inflate_buf() without a submit"));
	return (stage_pool_drain(ifl->pool, err));
}

/* inflate_bytes_out(ifl): tar bytes delivered to the sink so far. */
uint64_t
inflate_bytes_out(const struct inflate *ifl)
{

	return (ifl->bytes_out);
}

/* inflate_free(ifl): stop the workers and free; NULL is a no-op. */
void
inflate_free(struct inflate *ifl)
{

	if (ifl == NULL)
		return;
	stage_pool_free(ifl->pool);
	free(ifl);
}
