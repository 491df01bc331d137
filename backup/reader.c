/*
 * reader.c: the one read path of a backup's data (see reader.h).
 *
 *   whole:  storage_get_retry(data.vgl) -> format reader (one sealed
 *	     chunk buffered) -> chunk_ok() -> inflate -> member_out() ->
 *	     the sink
 *   plan:   storage_get_retry(one run of consecutive chunks) -> sealed-
 *	     chunk buffer -> format_open_chunk(index) -> chunk_ok() ->
 *	     inflate -> member_out() -> the sink
 *
 * Everything runs on the caller's thread but the inflate workers; the
 * sink is called from inside inflate_member() and inflate_finish().  The
 * first failure is kept in the reader (rfail()); a callback that stopped
 * the read keeps its own reason (READER_STOPPED), and the failures it
 * causes further down (a stopped storage transfer, a stopped inflater)
 * are not ours to report.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/ag.h"
#include "lib/crypto/crypto.h"
#include "providers/storage.h"
#include "backup/format.h"
#include "backup/inflate.h"
#include "backup/manifest.h"

#include "backup/reader.h"

struct reader {
	const struct reader_conf *c;
	const struct manifest *m;
	char okey[STORAGE_KEY_MAX + 1];
	struct inflate *ifl;
	struct reader_stats s;
	size_t nmembers; /* members the read yields */

	/* Whole. */
	struct format_reader *rd;
	bool header_checked;

	/* Plan. */
	struct format_object *obj;
	uint8_t *sbuf; /* one sealed chunk */
	size_t sbuf_len, sbuf_cap;
	size_t fetch_pos; /* plan[] chunk being received */

	int failed; /* 0, -1, AG_RETRY or READER_STOPPED */
	struct ag_err err;
};

/* Record the first failure of the read (printf-style); -1. */
#define rfail(r, ...) \
	((r)->failed != 0 ? \
		-1 : \
		((r)->failed = ag_err_set(&(r)->err, __VA_ARGS__)))

/* A callback of the caller stopped the read; return -1. */
static int
stopped(struct reader *r)
{
	if (!r->failed)
		r->failed = READER_STOPPED;
	return -1;
}

/* The chunk-table position of member ${i}. */
static size_t
member_chunk(const struct reader *r, size_t i)
{
	return r->c->plan != NULL ? r->c->plan[i] : i;
}

/* The inflater's sink: one member, in order; check it, pass it on. */
static int
member_out(void *cookie, const uint8_t *buf, size_t len)
{
	struct reader *r = cookie;
	const struct manifest_chunk *c;

	if (r->s.members >= r->nmembers)
		return rfail(r, "data.vgl: more members than %s",
		    r->c->plan != NULL ? "planned" : "the chunk table lists");
	c = &r->m->chunks[member_chunk(r, (size_t)r->s.members)];
	if (len != c->tar_len)
		return rfail(r,
		    "data.vgl: member %" PRIu64 " inflates to %zu "
		    "bytes, the chunk table says %" PRIu64,
		    c->index, len, c->tar_len);
	if (r->c->sink(r->c->cookie, c, buf, len) != 0)
		return stopped(r);
	r->s.members++;
	r->s.tar_bytes += len;
	return 0;
}

/* Before chunk ${index} is opened: the caller's hook, cancellation. */
static int
before_chunk(struct reader *r)
{
	if (r->c->on_chunk != NULL && r->c->on_chunk(r->c->cookie, &r->s) != 0)
		return stopped(r);
	if (r->c->cancel != NULL && *r->c->cancel != 0)
		return rfail(r, "cancelled");
	return 0;
}

/*
 * Authenticated chunk ${index}: the chunk table must list it with this
 * length and final flag; then inflate it.
 */
static int
chunk_ok(struct reader *r, uint64_t index, const uint8_t *pt, size_t len,
    int final)
{
	const struct manifest *m = r->m;
	const struct manifest_chunk *c;
	struct ag_err e = { "" };

	if (index >= m->nchunks)
		return rfail(r,
		    "data.vgl: chunk %" PRIu64 " is not in the "
		    "chunk table (%zu chunks)",
		    index, m->nchunks);
	c = &m->chunks[index];
	if (len != c->plain_len || (final != 0) != (index + 1 == m->nchunks))
		return rfail(r,
		    "data.vgl: chunk %" PRIu64 " (%zu bytes%s) "
		    "does not match the chunk table (%" PRIu64 " bytes%s)",
		    index, len, final ? ", final" : "", c->plain_len,
		    index + 1 == m->nchunks ? ", final" : "");
	if (inflate_member(r->ifl, pt, len, &e) != 0)
		/* The sink's own failure is recorded already. */
		return rfail(r, "data.vgl: %s", e.msg);
	r->s.chunks++;
	return 0;
}

/* data.vgl's header: the manifest's copy, sealed for this backup. */
static int
header_ok(struct reader *r, const struct format_object *obj)
{
	const uint8_t *hdr;
	size_t hlen;

	hdr = format_object_header(obj, &hlen);
	if (hlen != r->m->data_header_len ||
	    memcmp(hdr, r->m->data_header, hlen) != 0)
		return rfail(r,
		    "data.vgl: its header differs from the "
		    "manifest's copy");
	if (strcmp(format_object_info(obj)->backup_id, r->c->id) != 0)
		return rfail(r, "data.vgl: sealed for backup %s, not %s",
		    format_object_info(obj)->backup_id, r->c->id);
	return 0;
}

/*
 * Bytes [${off}, ${off} + ${len}) of data.vgl into ${sink}; a transient
 * failure resumes where it stopped.  A storage error is "data.vgl: ..."
 * with ${name}, as the storage said without.  Return 0 or -1.
 */
static int
get_range(struct reader *r, uint64_t off, uint64_t len, storage_sink_fn *sink,
    bool name)
{
	struct ag_err e = { "" };
	int rc;

	rc = storage_get_retry(r->c->st, r->okey, off, len, sink, r, &e);
	if (r->failed)
		return -1;
	if (rc == STORAGE_ABSENT)
		return rfail(r, "backup %s/%s: %s is missing", r->c->job,
		    r->c->id, FORMAT_NAME_DATA);
	if (rc != 0) {
		(void)rfail(r, "%s%s", name ? "data.vgl: " : "", e.msg);
		r->failed = rc == AG_RETRY ? AG_RETRY : -1;
		return -1;
	}
	return 0;
}

/* --- Whole: data.vgl in order ----------------------------------------- */

static int
whole_chunk(void *cookie, uint64_t index, const uint8_t *pt, size_t len,
    int final)
{
	struct reader *r = cookie;

	if (before_chunk(r) != 0)
		return -1;
	if (!r->header_checked) {
		if (header_ok(r, format_reader_object(r->rd)) != 0)
			return -1;
		r->header_checked = true;
	}
	return chunk_ok(r, index, pt, len, final);
}

static int
whole_sink(void *cookie, const uint8_t *buf, size_t len)
{
	struct reader *r = cookie;
	struct ag_err e = { "" };
	int rc;

	if (r->failed)
		return -1;
	rc = format_reader_feed(r->rd, buf, len, &e);
	/* A failure of our own chunk callback is recorded already. */
	if (rc == -1)
		(void)rfail(r, "data.vgl: %s", e.msg);
	if (rc != 0)
		return -1;
	r->s.fed += len;
	return 0;
}

static int
whole_read(struct reader *r)
{
	const struct manifest *m = r->m;
	struct ag_err e = { "" };

	if ((r->rd = format_reader_new(r->c->key, FORMAT_KIND_DATA,
		 whole_chunk, r)) == NULL)
		return rfail(r, "out of memory");
	if (get_range(r, 0, UINT64_MAX, whole_sink, false) != 0)
		return -1;
	if (format_reader_end(r->rd, &e) != 0)
		return rfail(r, "data.vgl: %s", e.msg);
	if (inflate_finish(r->ifl, &e) != 0)
		return rfail(r, "data.vgl: %s", e.msg);
	if (r->s.fed != m->data_size)
		return rfail(r,
		    "data.vgl: %" PRIu64 " bytes, the manifest "
		    "says %" PRIu64,
		    r->s.fed, m->data_size);
	if (r->s.chunks != m->nchunks || r->s.members != m->nchunks ||
	    r->s.tar_bytes != m->tar_size)
		return rfail(r,
		    "data.vgl: %" PRIu64 " chunks and %" PRIu64
		    " tar bytes, the manifest says %zu and %" PRIu64,
		    r->s.chunks, r->s.tar_bytes, m->nchunks, m->tar_size);
	return 0;
}

/* --- Plan: the chunks asked for, by ranged GETs ----------------------- */

/* The sealed chunk in sbuf is complete: open it and queue its member. */
static int
plan_open(struct reader *r, const struct manifest_chunk *c)
{
	struct ag_err e = { "" };
	size_t plen;
	int final;

	if (before_chunk(r) != 0)
		return -1;
	if (format_open_chunk(r->obj, c->index, r->sbuf, (size_t)c->sealed_len,
		r->sbuf + FORMAT_CHUNK_PREFIX, &plen, &final, &e) != 0)
		return rfail(r, "data.vgl: %s", e.msg);
	return chunk_ok(r, c->index, r->sbuf + FORMAT_CHUNK_PREFIX, plen,
	    final);
}

static int
plan_sink(void *cookie, const uint8_t *buf, size_t len)
{
	struct reader *r = cookie;
	const struct manifest_chunk *c;
	size_t n;

	while (len > 0) {
		if (r->failed)
			return -1;
		if (r->fetch_pos >= r->c->nplan)
			return rfail(r, "data.vgl: more data than asked for");
		c = &r->m->chunks[r->c->plan[r->fetch_pos]];
		n = (size_t)c->sealed_len - r->sbuf_len;
		if (n > len)
			n = len;
		memcpy(r->sbuf + r->sbuf_len, buf, n);
		r->sbuf_len += n;
		r->s.fed += n;
		buf += n;
		len -= n;
		if (r->sbuf_len == c->sealed_len) {
			r->sbuf_len = 0;
			r->fetch_pos++;
			if (plan_open(r, c) != 0)
				return -1;
		}
	}
	return 0;
}

static int
plan_read(struct reader *r)
{
	const struct manifest *m = r->m;
	const size_t *plan = r->c->plan;
	const struct manifest_chunk *ca, *cb;
	struct ag_err e = { "" };
	uint64_t maxsealed = 0;
	size_t i, j;

	for (i = 0; i < r->c->nplan; i++) {
		if (plan[i] >= m->nchunks || (i > 0 && plan[i] <= plan[i - 1]))
			return rfail(r,
			    "data.vgl: chunk %zu: not in the chunk "
			    "table, or out of order",
			    plan[i]);
		if (m->chunks[plan[i]].sealed_len > maxsealed)
			maxsealed = m->chunks[plan[i]].sealed_len;
	}
	if (maxsealed > FORMAT_SEALED_LEN(FORMAT_CHUNK_SIZE_MAX))
		return rfail(r, "manifest: chunk of %" PRIu64 " bytes",
		    maxsealed);
	r->sbuf_cap = maxsealed > 0 ? (size_t)maxsealed : 1;
	if ((r->sbuf = malloc(r->sbuf_cap)) == NULL)
		return rfail(r, "out of memory");
	/* The manifest's copy of data.vgl's header: no GET for it. */
	if ((r->obj = format_open_new(r->c->key, m->data_header,
		 m->data_header_len, FORMAT_KIND_DATA, &e)) == NULL)
		return rfail(r, "data.vgl: %s", e.msg);
	if (header_ok(r, r->obj) != 0)
		return -1;

	for (i = 0; i < r->c->nplan; i = j + 1) {
		/* One GET per run of consecutive chunks. */
		for (j = i; j + 1 < r->c->nplan && plan[j + 1] == plan[j] + 1;
		     j++)
			;
		ca = &m->chunks[plan[i]];
		cb = &m->chunks[plan[j]];
		if (get_range(r, ca->offset,
			cb->offset + cb->sealed_len - ca->offset, plan_sink,
			true) != 0)
			return -1;
	}
	if (inflate_finish(r->ifl, &e) != 0)
		return rfail(r, "data.vgl: %s", e.msg);
	if (r->fetch_pos != r->c->nplan || r->s.members != r->c->nplan)
		return rfail(r,
		    "data.vgl: %" PRIu64 " of %zu planned chunks "
		    "arrived",
		    r->s.members, r->c->nplan);
	return 0;
}

/**
 * reader_run(conf, ret_stats, err):
 * Read the data of the backup ${conf}->m describes into ${conf}->sink (see
 * reader.h).  Blocks until done.  Store how far it got in ${ret_stats}
 * (may be NULL).  Return 0, READER_STOPPED (a callback stopped it; ${err}
 * untouched), -1 or AG_RETRY with a message.
 */
int
reader_run(const struct reader_conf *conf, struct reader_stats *ret_stats,
    struct ag_err *err)
{
	struct inflate_conf ic = { 0 };
	struct reader r = { .c = conf, .m = conf->m };
	struct ag_err e = { "" };

	r.nmembers = conf->plan != NULL ? conf->nplan : conf->m->nchunks;
	if (format_object_name(conf->prefix, conf->job, conf->id,
		FORMAT_KIND_DATA, r.okey, sizeof(r.okey)) != 0) {
		(void)rfail(&r, "bad job \"%.64s\" or backup id \"%.40s\"",
		    conf->job, conf->id);
		goto out;
	}
	ic.max_out = (size_t)conf->m->slice_size;
	ic.workers = conf->workers;
	ic.sink = member_out;
	ic.cookie = &r;
	if ((r.ifl = inflate_new(&ic, &e)) == NULL) {
		(void)rfail(&r, "%s", e.msg);
		goto out;
	}
	if (conf->plan != NULL)
		(void)plan_read(&r);
	else
		(void)whole_read(&r);
out:
	/* Members in flight are dropped. */
	inflate_free(r.ifl);
	format_reader_free(r.rd);
	format_object_free(r.obj);
	if (r.sbuf != NULL) {
		crypto_wipe(r.sbuf, r.sbuf_cap);
		free(r.sbuf);
	}
	if (ret_stats != NULL)
		*ret_stats = r.s;
	if (r.failed == READER_STOPPED)
		return READER_STOPPED;
	if (r.failed != 0) {
		(void)ag_err_set(err, "%s", r.err.msg);
		return r.failed == AG_RETRY ? AG_RETRY : -1;
	}
	return 0;
}
