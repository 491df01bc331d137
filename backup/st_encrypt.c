/*
 * st_encrypt.c: see st_encrypt.h.
 *
 * The pending chunk lives in a buffer with FORMAT_CHUNK_PREFIX bytes of
 * headroom, so format_seal_chunk() seals it in place: no second copy of the
 * data on the hot path.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <stdlib.h>
#include <string.h>

#include "backup/format.h"
#include "backup/stage.h"

#include "backup/st_encrypt.h"

struct enc {
	struct stage *st;
	struct format_object *obj;
	struct st_encrypt_conf conf;
	uint8_t *buf;	/* headroom + pending chunk + tag */
	size_t cap;	/* chunk size */
	size_t pending; /* bytes of the held-back chunk */
	int have_pending;
	int header_done;
	uint64_t index;	  /* of the pending chunk */
	uint64_t out_off; /* bytes written on */
};

static int
put_header(struct enc *e)
{
	size_t hlen;
	const uint8_t *h = format_object_header(e->obj, &hlen);

	if (stage_write(e->st->next, h, hlen) != 0)
		return -1;
	e->out_off = hlen;
	e->header_done = 1;
	return 0;
}

/* Seal the held-back chunk and write it on. */
static int
flush_pending(struct enc *e, int final)
{
	struct st_encrypt_chunk c;
	size_t sealed;

	if (format_seal_chunk(e->obj, e->index, final,
		e->buf + FORMAT_CHUNK_PREFIX, e->pending, e->buf,
		&sealed) != 0)
		return stage_fail(e->st, -1, "encrypt: cannot seal chunk %llu",
		    (unsigned long long)e->index);
	if (stage_write(e->st->next, e->buf, sealed) != 0)
		return -1;
	c = (struct st_encrypt_chunk){ .index = e->index,
		.offset = e->out_off,
		.sealed_len = sealed,
		.plain_len = e->pending };
	e->out_off += sealed;
	if (e->conf.on_chunk != NULL)
		e->conf.on_chunk(e->conf.cookie, &c);
	e->index++;
	e->have_pending = 0;
	e->pending = 0;
	return 0;
}

static int
enc_write(struct stage *st, const uint8_t *buf, size_t len)
{
	struct enc *e = st->ctx;

	if (len > e->cap)
		return stage_fail(st, -1,
		    "encrypt: a chunk of %zu bytes "
		    "exceeds the chunk size %zu",
		    len, e->cap);
	if (!e->header_done && put_header(e) != 0)
		return -1;
	if (e->have_pending && flush_pending(e, 0) != 0)
		return -1;
	memcpy(e->buf + FORMAT_CHUNK_PREFIX, buf, len);
	e->pending = len;
	e->have_pending = 1;
	return 0;
}

static int
enc_close(struct stage *st)
{
	struct enc *e = st->ctx;

	if (!e->header_done && put_header(e) != 0)
		return -1;
	/* An empty stream is one empty final chunk. */
	return flush_pending(e, 1);
}

static void
enc_free(void *ctx)
{
	struct enc *e = ctx;

	if (e == NULL)
		return;
	format_object_free(e->obj);
	free(e->buf);
	free(e);
}

static const struct stage_ops enc_ops = {
	.name = "encrypt",
	.write = enc_write,
	.close = enc_close,
	.free = enc_free,
};

struct stage *
st_encrypt_new(struct stage *next, struct format_object *obj,
    const struct st_encrypt_conf *conf, struct ag_err *err)
{
	struct enc *e;
	struct stage *st;

	if ((e = calloc(1, sizeof(*e))) == NULL) {
		format_object_free(obj);
		ag_err_set(err, "encrypt: out of memory");
		return NULL;
	}
	e->obj = obj;
	e->cap = format_object_info(obj)->chunk_size;
	if (conf != NULL)
		e->conf = *conf;
	if ((e->buf = malloc(FORMAT_SEALED_LEN(e->cap))) == NULL) {
		enc_free(e);
		ag_err_set(err, "encrypt: out of memory");
		return NULL;
	}
	if ((st = stage_new(&enc_ops, e, next)) == NULL) {
		ag_err_set(err, "encrypt: out of memory");
		return NULL;
	}
	e->st = st;
	return st;
}

uint64_t
st_encrypt_size(const struct stage *stage)
{
	const struct enc *e = stage->ctx;

	return e->out_off;
}
