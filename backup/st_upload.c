/*
 * st_upload.c: the upload stage (see st_upload.h).
 *
 * The writing thread fills one slot (a part) at a time; a full slot goes
 * to a queue that sender threads drain with storage_put_part_at(), each
 * part by its index, so parts may complete in any order.  Slots are the
 * memory bound: st_upload_bufs() of them in memory, or two spooled to
 * unlinked files for parts over half the budget; the writer waits for a
 * free one.  The upload is begun (storage_put_begin()) only when a second
 * part's bytes arrive: a stream of one part is one storage_put().
 *
 * Transient failures (AG_RETRY) of a part, the begin or the commit are
 * retried here with the storage retry policy (lib/backoff.h): the stage
 * holds the part, which nobody upstream could resend.  The first failure
 * is sticky: queued parts are dropped, the writer's next wait or the close
 * reports it once, and the upload is aborted when the stage is freed.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <sys/mman.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/ag.h"
#include "lib/backoff.h"
#include "providers/storage.h"
#include "backup/stage.h"
#include "backup/st_upload.h"

/* One part: in memory (buf) or spooled to an unlinked file (fd). */
struct slot {
	struct slot *next; /* in the queue or the idle list */
	uint64_t idx;
	size_t want; /* its length when full */
	size_t len;
	uint8_t *buf; /* memory: cap bytes */
	size_t cap;
	int fd; /* spooled: the file, else -1 */
};

struct upload {
	struct storage *st;
	char *key;
	char *spool_dir;
	size_t base, part_max, memory;
	unsigned max_parts, nsend;
	struct backoff retry;

	/* The writing thread's. */
	struct slot *cur;  /* being filled */
	uint64_t next_idx; /* of the next slot */
	bool begun;	   /* upload begun, senders running */

	_Atomic uint64_t parts; /* stored */
	pthread_mutex_t mu;	/* everything below */
	pthread_cond_t cv;	/* any change */
	struct storage_upload *up;
	struct slot *queue, **queue_tail;
	struct slot *idle; /* memory slots kept for reuse */
	unsigned mem_used, mem_alloc, spool_used;
	unsigned busy; /* queued or being sent */
	bool stop, failed;
	struct ag_err ferr; /* the first failure */
	pthread_t th[STORAGE_PARALLEL_MAX];
	unsigned nth;
};

/**
 * st_upload_part_len(base, part_max, max_parts, idx):
 * The length of part ${idx} (0, 1, ...) of an upload whose parts start at
 * ${base} bytes, to a backend taking at most ${max_parts} parts (0: no
 * limit, all parts ${base}) of at most ${part_max} bytes.
 */
size_t
st_upload_part_len(size_t base, size_t part_max, unsigned max_parts,
    uint64_t idx)
{
	uint64_t flat, step, k;
	size_t len = base;

	if (max_parts == 0)
		return (base);
	flat = (uint64_t)max_parts * 2 / 5;
	if ((step = (uint64_t)max_parts * 3 / 50) == 0)
		step = 1;
	if (idx < flat)
		return (base);
	for (k = (idx - flat) / step + 1; k > 0 && len < part_max; k--)
		len = len > part_max / 2 ? part_max : len * 2;
	return (len);
}

/**
 * st_upload_bufs(part, memory, parallel):
 * How many part buffers of ${part} bytes a budget of ${memory} bytes
 * allows with ${parallel} senders: one per sender plus the one being
 * filled, as many as fit, and never fewer than two.
 */
unsigned
st_upload_bufs(size_t part, size_t memory, unsigned parallel)
{
	size_t n = part > 0 ? memory / part : 2;

	if (n > (size_t)parallel + 1)
		n = (size_t)parallel + 1;
	return (n < 2 ? 2 : (unsigned)n);
}

static bool
spooled(const struct upload *u, size_t want)
{

	return (u->spool_dir != NULL && want > u->memory / 2);
}

/* Give ${s} back (memory kept for reuse while the budget allows). */
static void
release_locked(struct upload *u, struct slot *s)
{

	if (s->fd >= 0) {
		(void)close(s->fd);
		free(s);
		u->spool_used--;
	} else {
		u->mem_used--;
		if (u->mem_alloc >
		    st_upload_bufs(s->cap, u->memory, u->nsend)) {
			free(s->buf);
			free(s);
			u->mem_alloc--;
		} else {
			s->next = u->idle;
			u->idle = s;
		}
	}
	pthread_cond_broadcast(&u->cv);
}

static void
release(struct upload *u, struct slot *s)
{

	pthread_mutex_lock(&u->mu);
	release_locked(u, s);
	pthread_mutex_unlock(&u->mu);
}

/* The failure to report: the first one recorded. */
static int
fail_locked(struct upload *u, const struct ag_err *err)
{

	if (!u->failed) {
		u->failed = true;
		u->ferr = *err;
	}
	pthread_cond_broadcast(&u->cv);
	return (-1);
}

/*
 * Take a slot for the next part, waiting while the budget is used up.
 * Return 0 with u->cur set, or -1 with the failure in the stage.
 */
static int
take_slot(struct stage *stg, struct upload *u)
{
	size_t want = st_upload_part_len(u->base, u->part_max, u->max_parts,
	    u->next_idx);
	bool spool = spooled(u, want);
	struct slot *s = NULL;
	struct ag_err err;
	uint8_t *nb;

	pthread_mutex_lock(&u->mu);
	for (;;) {
		if (u->failed) {
			err = u->ferr;
			pthread_mutex_unlock(&u->mu);
			return (stage_fail(stg, -1, "%s", err.msg));
		}
		if (spool ? u->spool_used < 2 :
			    u->mem_used <
			    st_upload_bufs(want, u->memory, u->nsend))
			break;
		pthread_cond_wait(&u->cv, &u->mu);
	}
	if (spool)
		u->spool_used++;
	else {
		u->mem_used++;
		if ((s = u->idle) != NULL)
			u->idle = s->next;
		else
			u->mem_alloc++;
	}
	pthread_mutex_unlock(&u->mu);

	if (s == NULL && (s = calloc(1, sizeof(*s))) == NULL)
		goto oom;
	s->fd = -1;
	if (spool) {
		s->fd = open(u->spool_dir, O_TMPFILE | O_RDWR | O_CLOEXEC,
		    0600);
		if (s->fd < 0) {
			(void)ag_err_set(&err,
			    "upload: cannot spool a part in %s: %s",
			    u->spool_dir, strerror(errno));
			goto fail;
		}
	} else if (s->cap < want) {
		if ((nb = realloc(s->buf, want)) == NULL)
			goto oom;
		s->buf = nb;
		s->cap = want;
	}
	s->idx = u->next_idx++;
	s->want = want;
	s->len = 0;
	s->next = NULL;
	u->cur = s;
	return (0);

oom:
	(void)ag_err_set(&err, "upload: out of memory");
fail:
	pthread_mutex_lock(&u->mu);
	if (spool) {
		free(s);
		u->spool_used--;
		pthread_cond_broadcast(&u->cv);
	} else if (s != NULL)
		release_locked(u, s);
	else {
		u->mem_used--;
		u->mem_alloc--;
	}
	pthread_mutex_unlock(&u->mu);
	return (stage_fail(stg, -1, "%s", err.msg));
}

/* The bytes of ${s} (mapped if spooled); NULL with ${err} set. */
static const uint8_t *
slot_map(const struct upload *u, const struct slot *s, struct ag_err *err)
{
	void *p;

	if (s->fd < 0 || s->len == 0)
		return (s->buf != NULL ? s->buf : (const uint8_t *)"");
	p = mmap(NULL, s->len, PROT_READ, MAP_SHARED, s->fd, 0);
	if (p == MAP_FAILED) {
		(void)ag_err_set(err,
		    "upload: cannot map a part spooled in %s: %s",
		    u->spool_dir, strerror(errno));
		return (NULL);
	}
	return (p);
}

static void
slot_unmap(const struct slot *s, const uint8_t *p)
{

	if (s->fd >= 0 && s->len > 0)
		(void)munmap((void *)(uintptr_t)p, s->len);
}

/* Store ${s} as its part, retrying transient failures. */
static int
send_slot(struct upload *u, struct slot *s, struct ag_err *err)
{
	const uint8_t *p;
	unsigned attempt = 0;
	int rc;

	if ((p = slot_map(u, s, err)) == NULL)
		return (-1);
	while ((rc = storage_put_part_at(u->up, s->idx, p, s->len, err)) !=
		0 &&
	    rc == AG_RETRY && backoff_retry(&u->retry, &attempt))
		;
	slot_unmap(s, p);
	return (rc);
}

static void *
sender(void *arg)
{
	struct upload *u = arg;
	struct slot *s;
	struct ag_err err;
	int rc;

	pthread_mutex_lock(&u->mu);
	for (;;) {
		while (u->queue == NULL && !u->stop)
			pthread_cond_wait(&u->cv, &u->mu);
		if ((s = u->queue) == NULL)
			break;
		if ((u->queue = s->next) == NULL)
			u->queue_tail = &u->queue;
		if (!u->failed) {
			pthread_mutex_unlock(&u->mu);
			rc = send_slot(u, s, &err);
			pthread_mutex_lock(&u->mu);
			if (rc == 0)
				atomic_fetch_add(&u->parts, 1);
			else
				(void)fail_locked(u, &err);
		}
		release_locked(u, s);
		u->busy--;
	}
	pthread_mutex_unlock(&u->mu);
	return (NULL);
}

/* Begin the upload and start the senders (the second part is coming). */
static int
begin(struct stage *stg, struct upload *u)
{
	struct storage_upload *up;
	struct ag_err err;
	unsigned attempt = 0;
	int rc;

	while ((rc = storage_put_begin(u->st, u->key, &up, &err)) != 0)
		if (rc != AG_RETRY || !backoff_retry(&u->retry, &attempt))
			return (stage_fail(stg, -1, "%s", err.msg));
	u->up = up;
	for (u->nth = 0; u->nth < u->nsend; u->nth++)
		if (pthread_create(&u->th[u->nth], NULL, sender, u) != 0)
			break;
	if (u->nth == 0)
		return (stage_fail(stg, -1, "upload: cannot start a thread"));
	u->begun = true;
	return (0);
}

/* Queue the current slot for the senders. */
static int
push(struct stage *stg, struct upload *u)
{
	struct slot *s = u->cur;

	if (!u->begun && begin(stg, u) != 0)
		return (-1);
	u->cur = NULL;
	pthread_mutex_lock(&u->mu);
	*u->queue_tail = s;
	u->queue_tail = &s->next;
	u->busy++;
	pthread_cond_broadcast(&u->cv);
	pthread_mutex_unlock(&u->mu);
	return (0);
}

/* Append to the current slot. */
static int
fill(struct stage *stg, struct upload *u, const uint8_t *buf, size_t n)
{
	struct slot *s = u->cur;
	ssize_t w;

	if (s->fd < 0) {
		memcpy(s->buf + s->len, buf, n);
		s->len += n;
		return (0);
	}
	while (n > 0) {
		if ((w = pwrite(s->fd, buf, n, (off_t)s->len)) < 0) {
			if (errno == EINTR)
				continue;
			return (stage_fail(stg, -1,
			    "upload: cannot spool a part in %s: %s",
			    u->spool_dir, strerror(errno)));
		}
		buf += w;
		n -= (size_t)w;
		s->len += (size_t)w;
	}
	return (0);
}

static int
up_write(struct stage *stg, const uint8_t *buf, size_t len)
{
	struct upload *u = stg->ctx;
	size_t n;

	while (len > 0) {
		if (u->cur != NULL && u->cur->len == u->cur->want &&
		    push(stg, u) != 0)
			return (-1);
		if (u->cur == NULL && take_slot(stg, u) != 0)
			return (-1);
		n = u->cur->want - u->cur->len;
		if (n > len)
			n = len;
		if (fill(stg, u, buf, n) != 0)
			return (-1);
		buf += n;
		len -= n;
	}
	return (0);
}

/* Stop the senders and wait for them. */
static void
join(struct upload *u, bool drop)
{

	pthread_mutex_lock(&u->mu);
	u->stop = true;
	if (drop)
		u->failed = true;
	pthread_cond_broadcast(&u->cv);
	pthread_mutex_unlock(&u->mu);
	for (unsigned i = 0; i < u->nth; i++)
		pthread_join(u->th[i], NULL);
	u->nth = 0;
}

/* The whole stream in one request: storage_put(). */
static int
put_one(struct stage *stg, struct upload *u)
{
	struct slot *s = u->cur;
	const uint8_t *p = (const uint8_t *)"";
	struct ag_err err;
	unsigned attempt = 0;
	int rc = 0;

	if (s != NULL && (p = slot_map(u, s, &err)) == NULL)
		return (stage_fail(stg, -1, "%s", err.msg));
	while ((rc = storage_put(u->st, u->key, p, s != NULL ? s->len : 0,
		    &err)) != 0)
		if (rc != AG_RETRY || !backoff_retry(&u->retry, &attempt))
			break;
	if (s != NULL) {
		slot_unmap(s, p);
		u->cur = NULL;
		release(u, s);
	}
	if (rc != 0)
		return (stage_fail(stg, -1, "%s", err.msg));
	atomic_fetch_add(&u->parts, 1);
	return (0);
}

static int
up_close(struct stage *stg)
{
	struct upload *u = stg->ctx;
	struct ag_err err;
	unsigned attempt = 0;
	int rc;

	if (!u->begun)
		return (put_one(stg, u));
	if (u->cur != NULL && u->cur->len > 0 && push(stg, u) != 0)
		return (-1);
	pthread_mutex_lock(&u->mu);
	while (u->busy > 0 && !u->failed)
		pthread_cond_wait(&u->cv, &u->mu);
	pthread_mutex_unlock(&u->mu);
	join(u, false);
	if (u->failed)
		return (stage_fail(stg, -1, "%s", u->ferr.msg));
	while ((rc = storage_put_commit(u->up, &err)) != 0) {
		if (rc != AG_RETRY) {
			u->up = NULL; /* freed by the commit */
			return (stage_fail(stg, -1, "%s", err.msg));
		}
		if (!backoff_retry(&u->retry, &attempt))
			return (stage_fail(stg, -1, "%s", err.msg));
	}
	u->up = NULL;
	return (0);
}

static void
up_free(void *ctx)
{
	struct upload *u = ctx;
	struct slot *s;

	if (u == NULL)
		return;
	join(u, true);
	storage_put_abort(u->up);
	if (u->cur != NULL)
		release(u, u->cur);
	while ((s = u->idle) != NULL) {
		u->idle = s->next;
		free(s->buf);
		free(s);
	}
	pthread_cond_destroy(&u->cv);
	pthread_mutex_destroy(&u->mu);
	free(u->spool_dir);
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
 * A stage uploading ${key} to ${st}; NULL with a message on failure.
 * Nothing is sent before a second part's bytes arrive.
 */
struct stage *
st_upload_new(struct storage *st, const char *key,
    const struct st_upload_conf *conf, struct ag_err *err)
{
	struct upload *u;
	struct stage *stg;
	size_t part;

	part = conf->part_size != 0 ? conf->part_size : ST_UPLOAD_PART_DEFAULT;
	if ((u = calloc(1, sizeof(*u))) == NULL)
		goto oom;
	if ((u->key = strdup(key)) == NULL ||
	    (conf->spool_dir != NULL &&
		(u->spool_dir = strdup(conf->spool_dir)) == NULL)) {
		free(u->key);
		free(u);
		goto oom;
	}
	u->st = st;
	u->base = storage_part_size(st, part);
	u->part_max = storage_part_max(st) != 0 ? storage_part_max(st) :
						  ST_UPLOAD_PART_MAX;
	if (u->base > u->part_max)
		u->base = u->part_max;
	u->max_parts = storage_max_parts(st);
	u->nsend = conf->parallel != 0 ? conf->parallel :
					 storage_upload_parallel(st);
	if (u->nsend == 0)
		u->nsend = storage_caps(st) & STORAGE_CAP_PARALLEL ?
		    ST_UPLOAD_PARALLEL_DEFAULT :
		    1;
	if (!(storage_caps(st) & STORAGE_CAP_PARALLEL))
		u->nsend = 1;
	if (u->nsend > STORAGE_PARALLEL_MAX)
		u->nsend = STORAGE_PARALLEL_MAX;
	u->memory = conf->memory != 0 ? conf->memory :
					storage_upload_memory(st);
	if (u->memory == 0)
		u->memory = ST_UPLOAD_MEMORY_DEFAULT;
	u->retry = storage_retry;
	if (conf->retries != 0)
		u->retry.retries = conf->retries;
	if (conf->retry_ms != 0)
		u->retry.base_ms = conf->retry_ms;
	u->queue_tail = &u->queue;
	if (pthread_mutex_init(&u->mu, NULL) != 0) {
		free(u->spool_dir);
		free(u->key);
		free(u);
		goto oom;
	}
	if (pthread_cond_init(&u->cv, NULL) != 0) {
		pthread_mutex_destroy(&u->mu);
		free(u->spool_dir);
		free(u->key);
		free(u);
		goto oom;
	}
	if ((stg = stage_new(&upload_ops, u, NULL)) == NULL)
		goto oom;
	return (stg);
oom:
	(void)ag_err_set(err, "upload: out of memory");
	return (NULL);
}

/* st_upload_parts(stage): parts stored so far (1 for a single request). */
uint64_t
st_upload_parts(const struct stage *stage)
{
	struct upload *u = stage->ctx;

	return (atomic_load(&u->parts));
}
