/*
 * st_upload.c: the upload stage.
 *
 * Writes are gathered into one part buffer; a full part goes to
 * storage_put_part().  A write that starts on a part boundary with at
 * least a whole part is sent straight from the caller's buffer (no copy).
 * Transient failures (AG_RETRY) of a part or of the commit are retried
 * here with the storage retry policy (lib/backoff.h): the stage still holds
 * the part, which nobody upstream could resend.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <stdlib.h>
#include <string.h>

#include "lib/ag.h"
#include "lib/backoff.h"
#include "providers/storage.h"
#include "backup/stage.h"
#include "backup/st_upload.h"

struct upload {
	struct storage *st;
	struct storage_upload *up; /* NULL once committed or dead */
	char *key;
	uint8_t *buf;
	size_t fill;
	size_t part; /* current part size */
	size_t buf_cap;
	uint64_t parts;
	unsigned max_parts;
	struct backoff retry; /* of a part or the commit */
};

static int
send_part(struct stage *stg, struct upload *u, const uint8_t *buf, size_t len)
{
	struct ag_err err;
	unsigned attempt = 0;
	int rc;

	while ((rc = storage_put_part(u->up, buf, len, &err)) != 0)
		if (rc != AG_RETRY || !backoff_retry(&u->retry, &attempt))
			return (stage_fail(stg, -1, "%s", err.msg));
	u->parts++;
	/* Grow parts so that a part-count limit cannot end a large upload. */
	if (u->max_parts >= 8 && u->parts % (u->max_parts / 8) == 0 &&
	    u->part < ST_UPLOAD_PART_MAX)
		u->part = u->part * 2 > ST_UPLOAD_PART_MAX ?
		    ST_UPLOAD_PART_MAX :
		    u->part * 2;
	return (0);
}

static int
up_write(struct stage *stg, const uint8_t *buf, size_t len)
{
	struct upload *u = stg->ctx;
	uint8_t *nb;
	size_t n;

	while (len > 0) {
		if (u->fill == 0 && len >= u->part) {
			if (send_part(stg, u, buf, u->part) != 0)
				return (-1);
			buf += u->part;
			len -= u->part;
			continue;
		}
		if (u->buf_cap < u->part) {
			/* Empty here: parts grow only between parts. */
			if ((nb = realloc(u->buf, u->part)) == NULL)
				return (stage_fail(stg, -1,
				    "upload: out of memory"));
			u->buf = nb;
			u->buf_cap = u->part;
		}
		n = u->part - u->fill;
		if (n > len)
			n = len;
		memcpy(u->buf + u->fill, buf, n);
		u->fill += n;
		buf += n;
		len -= n;
		if (u->fill == u->part) {
			u->fill = 0;
			if (send_part(stg, u, u->buf, u->part) != 0)
				return (-1);
		}
	}
	return (0);
}

static int
up_close(struct stage *stg)
{
	struct upload *u = stg->ctx;
	struct ag_err err;
	unsigned attempt = 0;
	int rc;

	if (u->fill > 0) {
		if (send_part(stg, u, u->buf, u->fill) != 0)
			return (-1);
		u->fill = 0;
	}
	while ((rc = storage_put_commit(u->up, &err)) != 0) {
		if (rc != AG_RETRY) {
			u->up = NULL; /* freed by the commit */
			return (stage_fail(stg, -1, "%s", err.msg));
		}
		if (!backoff_retry(&u->retry, &attempt))
			return (stage_fail(stg, -1, "%s", err.msg));
	}
	u->up = NULL;
	free(u->buf);
	u->buf = NULL;
	u->buf_cap = 0;
	return (0);
}

static void
up_free(void *ctx)
{
	struct upload *u = ctx;

	if (u == NULL)
		return;
	storage_put_abort(u->up);
	free(u->buf);
	free(u->key);
	free(u);
}

static const struct stage_ops upload_ops = {
	.name = "upload",
	.write = up_write,
	.close = up_close,
	.free = up_free,
};

/**
 * st_upload_new(st, key, conf, err):
 * Start uploading ${key} to ${st} and return the stage, or NULL with the
 * storage's message.  The part size is raised to the backend's minimum;
 * on backends with a part-count limit it doubles (up to
 * ST_UPLOAD_PART_MAX) each time an eighth of the limit is used, so large
 * streams fit.  Memory: one part buffer.
 */
struct stage *
st_upload_new(struct storage *st, const char *key,
    const struct st_upload_conf *conf, struct ag_err *err)
{
	struct upload *u;
	struct stage *stg;
	size_t part;

	part = conf->part_size != 0 ? conf->part_size : ST_UPLOAD_PART_DEFAULT;
	if (part > ST_UPLOAD_PART_MAX) {
		(void)ag_err_set(err, "upload: part size %zu is over %zu",
		    part, ST_UPLOAD_PART_MAX);
		return (NULL);
	}
	if ((u = calloc(1, sizeof(*u))) == NULL ||
	    (u->key = strdup(key)) == NULL) {
		free(u);
		(void)ag_err_set(err, "upload: out of memory");
		return (NULL);
	}
	u->st = st;
	u->part = storage_part_size(st, part);
	u->max_parts = storage_max_parts(st);
	u->retry = storage_retry;
	if (conf->retries != 0)
		u->retry.retries = conf->retries;
	if (conf->retry_ms != 0)
		u->retry.base_ms = conf->retry_ms;
	if (storage_put_begin(st, key, &u->up, err) != 0) {
		free(u->key);
		free(u);
		return (NULL);
	}
	if ((stg = stage_new(&upload_ops, u, NULL)) == NULL)
		(void)ag_err_set(err, "upload: out of memory");
	return (stg);
}

/* st_upload_parts(stage): parts sent so far. */
uint64_t
st_upload_parts(const struct stage *stage)
{
	const struct upload *u = stage->ctx;

	return (u->parts);
}
