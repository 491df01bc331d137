/*
 * history_file.c: <state_dir>/history.bin, the history kept across
 * restarts (history_save(), history_load()).
 *
 * The format, every number little-endian (version 1):
 *
 *   "VIGILHIS"                      8 bytes, the magic
 *   u32 version                     1
 *   u32 ntiers                      1 .. HISTORY_TIERS_MAX
 *   ntiers x { i64 step_ms, i64 span_ms }   finest first
 *   i64 saved_ms                    wall time of the save
 *   u64 nseries
 *   nseries x {
 *     u16 name_len, name            1 .. METRIC_NAME_MAX - 1 bytes, no NUL
 *     ntiers x {
 *       i64 last                    the newest slot's number (wall time /
 *                                   step), -1: none
 *       u32 n, f64 sum              the readings in that slot so far
 *       u32 count                   slots that follow, at most span / step
 *       count x f32                 slots last - count + 1 ... last, oldest
 *                                   first; NaN: empty
 *     }
 *   }
 *   u64 check                       FNV-1a 64 of every byte before it
 *
 * A tier of the file whose step no configured tier has is skipped (a tier
 * with the same step and another span keeps the newest slots that fit).
 * A file that is not exactly this (short, long, a bad check, a value out
 * of range) is renamed to history.bin.bad and the history starts empty.
 * Reading streams the file and every series goes through the memory cap,
 * so no input makes a large allocation.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/clock.h"
#include "lib/fnv.h"
#include "lib/log.h"

#include "agent/metric.h"

#include "agent/history.h"
#include "agent/history_internal.h"

#define MAGIC "VIGILHIS"
#define VERSION 1
#define WBUF 65536

struct wr {
	int fd;
	size_t len;
	uint64_t check;
	int err; /* errno of the first failed write */
	uint8_t buf[WBUF];
};

static void
wr_flush(struct wr *w)
{
	size_t off = 0;

	while (w->err == 0 && off < w->len) {
		ssize_t n = write(w->fd, w->buf + off, w->len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			w->err = errno;
		else
			off += (size_t)n;
	}
	w->len = 0;
}

static void
wr_bytes(struct wr *w, const void *p, size_t n)
{
	w->check = fnv1a64(w->check, p, n);
	while (n > 0) {
		size_t k = WBUF - w->len < n ? WBUF - w->len : n;

		memcpy(w->buf + w->len, p, k);
		w->len += k;
		p = (const uint8_t *)p + k;
		n -= k;
		if (w->len == WBUF)
			wr_flush(w);
	}
}

static void
wr_u64(struct wr *w, uint64_t v, size_t size)
{
	uint8_t b[8];

	for (size_t i = 0; i < size; i++)
		b[i] = (uint8_t)(v >> (8 * i));
	wr_bytes(w, b, size);
}

static void
wr_f64(struct wr *w, double v)
{
	uint64_t u;

	memcpy(&u, &v, sizeof(u));
	wr_u64(w, u, 8);
}

static void
wr_f32(struct wr *w, float v)
{
	uint32_t u;

	memcpy(&u, &v, sizeof(u));
	wr_u64(w, u, 4);
}

/* Slots of tier ${i} of ${s} worth writing: from the oldest not empty. */
static size_t
slots_kept(const struct history *h, const struct series *s, size_t i)
{
	const float *vals = s->vals + h->off[i];
	size_t ns = h->nslots[i];
	int64_t last = s->ring[i].last;

	if (last == RING_NONE)
		return 0;
	for (size_t c = ns; c > 0; c--)
		if (!isnan(vals[ring_pos(last - (int64_t)c + 1, ns)]))
			return c;
	return 0;
}

static void
write_all(struct history *h, struct wr *w, int64_t now)
{
	wr_bytes(w, MAGIC, 8);
	wr_u64(w, VERSION, 4);
	wr_u64(w, h->c.ntiers, 4);
	for (size_t i = 0; i < h->c.ntiers; i++) {
		wr_u64(w, (uint64_t)h->c.tiers[i].step_ms, 8);
		wr_u64(w, (uint64_t)h->c.tiers[i].span_ms, 8);
	}
	wr_u64(w, (uint64_t)now, 8);
	wr_u64(w, h->n, 8);
	for (size_t k = 0; k < h->n && w->err == 0; k++) {
		const struct series *s = h->v[k];

		wr_u64(w, s->name_len, 2);
		wr_bytes(w, series_name(h, s), s->name_len);
		for (size_t i = 0; i < h->c.ntiers; i++) {
			const struct ring *r = &s->ring[i];
			const float *vals = s->vals + h->off[i];
			size_t ns = h->nslots[i], c = slots_kept(h, s, i);

			wr_u64(w, (uint64_t)r->last, 8);
			wr_u64(w, r->n, 4);
			wr_f64(w, r->sum);
			wr_u64(w, c, 4);
			for (int64_t j = r->last - (int64_t)c + 1;
			     j <= r->last; j++)
				wr_f32(w, vals[ring_pos(j, ns)]);
		}
	}
	wr_u64(w, w->check, 8);
	wr_flush(w);
}

int
history_save(struct history *h, struct ag_err *err)
{
	char tmp[4096], dir[4096], *slash;
	int64_t now = clock_wall_ms();
	struct wr *w;
	int e = 0, dfd;

	h->next_save_ms = now + h->c.save_interval_ms;
	if (h->path == NULL)
		return 0;
	if (snprintf(tmp, sizeof(tmp), "%s.tmp", h->path) >= (int)sizeof(tmp))
		e = ENAMETOOLONG;
	else if ((w = malloc(sizeof(*w))) == NULL)
		e = ENOMEM;
	if (e != 0)
		goto err;
	w->len = 0;
	w->err = 0;
	w->check = FNV1A64_INIT;
	if ((w->fd = open(tmp,
		 O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
		 0600)) < 0) {
		e = errno;
		free(w);
		goto err;
	}
	write_all(h, w, now);
	if ((e = w->err) == 0 && fsync(w->fd) != 0)
		e = errno;
	if (close(w->fd) != 0 && e == 0)
		e = errno;
	free(w);
	if (e == 0 && rename(tmp, h->path) != 0)
		e = errno;
	if (e != 0) {
		(void)unlink(tmp);
		goto err;
	}
	/* The rename itself must survive a crash. */
	snprintf(dir, sizeof(dir), "%s", h->path);
	if ((slash = strrchr(dir, '/')) != NULL)
		*(slash == dir ? slash + 1 : slash) = '\0';
	else
		snprintf(dir, sizeof(dir), ".");
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		(void)fsync(dfd);
		close(dfd);
	}
	h->saved_ms = now;
	h->last_error[0] = '\0';
	return 0;
err:
	snprintf(h->last_error, sizeof(h->last_error), "saving %s: %s",
	    h->path, strerror(e));
	ag_err_set(err, "history: %s", h->last_error);
	return -1;
}

/* Reading: every byte through the check; ${bad} says why it stopped. */
struct rd {
	FILE *f;
	uint64_t check;
	const char *bad; /* NULL while the file is good */
};

static int
rd_bytes(struct rd *r, void *p, size_t n)
{
	if (r->bad != NULL)
		return -1;
	if (fread(p, 1, n, r->f) != n) {
		r->bad = ferror(r->f) ? "read error" : "truncated";
		return -1;
	}
	r->check = fnv1a64(r->check, p, n);
	return 0;
}

static uint64_t
rd_u64(struct rd *r, size_t size)
{
	uint8_t b[8];
	uint64_t v = 0;

	if (rd_bytes(r, b, size) != 0)
		return 0;
	for (size_t i = 0; i < size; i++)
		v |= (uint64_t)b[i] << (8 * i);
	return v;
}

static int
rd_fail(struct rd *r, const char *why)
{
	if (r->bad == NULL)
		r->bad = why;
	return -1;
}

/* The configured tier of step ${step}, or -1. */
static int
tier_of(const struct history *h, int64_t step)
{
	for (size_t i = 0; i < h->c.ntiers; i++)
		if (h->c.tiers[i].step_ms == step)
			return (int)i;
	return -1;
}

/*
 * One tier of one series: into tier ${ti} of ${s} (-1 or ${s} NULL: read
 * and dropped).  The file's tier has ${fslots} slots of ${step} ms.
 */
static int
read_tier(struct history *h, struct rd *r, struct series *s, int ti,
    uint64_t fslots, int64_t step)
{
	int64_t last = (int64_t)rd_u64(r, 8);
	uint32_t n = (uint32_t)rd_u64(r, 4), count;
	uint64_t u = rd_u64(r, 8);
	double sum;
	size_t ns = ti >= 0 ? h->nslots[ti] : 0;

	memcpy(&sum, &u, sizeof(sum));
	count = (uint32_t)rd_u64(r, 4);
	if (r->bad != NULL)
		return -1;
	if (last < RING_NONE || last > INT64_MAX / step ||
	    (last == RING_NONE && (count != 0 || n != 0)) || count > fslots ||
	    (uint64_t)count > (uint64_t)last + 1 || !isfinite(sum) ||
	    (n == 0 && sum != 0))
		return rd_fail(r, "a slot out of range");
	if (s != NULL && ti >= 0) {
		s->ring[ti].last = last;
		s->ring[ti].n = n;
		s->ring[ti].sum = sum;
	}
	for (int64_t j = last - (int64_t)count + 1; j <= last; j++) {
		uint32_t b = (uint32_t)rd_u64(r, 4);
		float v;

		memcpy(&v, &b, sizeof(v));
		if (r->bad != NULL)
			return -1;
		if (isinf(v))
			return rd_fail(r, "a value out of range");
		if (s != NULL && ti >= 0 && j > last - (int64_t)ns)
			s->vals[h->off[ti] + ring_pos(j, ns)] = v;
	}
	return 0;
}

static int
read_all(struct history *h, struct rd *r, char *dropped, size_t len)
{
	int64_t step[HISTORY_TIERS_MAX], span[HISTORY_TIERS_MAX];
	int map[HISTORY_TIERS_MAX];
	char magic[8], name[METRIC_NAME_MAX];
	uint32_t version, ntiers;
	uint64_t nseries, check;
	size_t dl = 0;

	if (rd_bytes(r, magic, 8) != 0 || memcmp(magic, MAGIC, 8) != 0)
		return rd_fail(r, "not a history file");
	version = (uint32_t)rd_u64(r, 4);
	ntiers = (uint32_t)rd_u64(r, 4);
	if (r->bad != NULL)
		return -1;
	if (version != VERSION)
		return rd_fail(r, "an unknown version");
	if (ntiers == 0 || ntiers > HISTORY_TIERS_MAX)
		return rd_fail(r, "a bad number of tiers");
	dropped[0] = '\0';
	for (uint32_t i = 0; i < ntiers; i++) {
		step[i] = (int64_t)rd_u64(r, 8);
		span[i] = (int64_t)rd_u64(r, 8);
		if (r->bad != NULL)
			return -1;
		if (step[i] <= 0 || span[i] < step[i] ||
		    span[i] % step[i] != 0 ||
		    span[i] / step[i] > HISTORY_SLOTS_MAX ||
		    (i > 0 && step[i] <= step[i - 1]))
			return rd_fail(r, "a bad tier");
		if ((map[i] = tier_of(h, step[i])) < 0 && dl < len)
			dl += (size_t)snprintf(dropped + dl, len - dl,
			    "%s%llds:%llds", dl > 0 ? ", " : "",
			    (long long)step[i] / 1000,
			    (long long)span[i] / 1000);
	}
	(void)rd_u64(r, 8); /* saved_ms */
	nseries = rd_u64(r, 8);
	for (uint64_t k = 0; k < nseries && r->bad == NULL; k++) {
		size_t nl = (size_t)rd_u64(r, 2);
		struct series *s;

		if (r->bad != NULL)
			return -1;
		if (nl == 0 || nl >= METRIC_NAME_MAX)
			return rd_fail(r, "a bad series name");
		if (rd_bytes(r, name, nl) != 0)
			return -1;
		name[nl] = '\0';
		if (memchr(name, '\0', nl) != NULL ||
		    !history_name_ok(name, nl))
			return rd_fail(r, "a bad series name");
		if (history_series(h, name, nl, false) != NULL)
			return rd_fail(r, "a series twice");
		s = history_series(h, name, nl, true); /* NULL: over the cap */
		for (uint32_t i = 0; i < ntiers; i++)
			if (read_tier(h, r, s, map[i],
				(uint64_t)(span[i] / step[i]), step[i]) != 0)
				return -1;
	}
	check = r->check;
	if (rd_u64(r, 8) != check)
		return rd_fail(r, "a bad check sum");
	if (fgetc(r->f) != EOF)
		return rd_fail(r, "bytes after the end");
	return r->bad == NULL ? 0 : -1;
}

int
history_load(struct history *h)
{
	struct rd r = { NULL, FNV1A64_INIT, NULL };
	char dropped[256], bad[4200];
	struct stat st;
	int fd;

	if ((fd = open(h->path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0) {
		if (errno != ENOENT)
			log_warn("history: cannot read %s: %s", h->path,
			    strerror(errno));
		return 0;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		r.bad = "not a regular file";
		close(fd);
	} else if ((r.f = fdopen(fd, "rb")) == NULL) {
		log_warn("history: cannot read %s: %s", h->path,
		    strerror(errno));
		close(fd);
		return 0;
	} else {
		(void)read_all(h, &r, dropped, sizeof(dropped));
		fclose(r.f);
	}
	if (r.bad == NULL) {
		if (dropped[0] != '\0')
			log_info("history: %s: tiers no longer configured "
				 "dropped (%s)",
			    h->path, dropped);
		log_debug("history: %zu series read from %s", h->n, h->path);
		return 0;
	}
	history_clear(h);
	h->dropped = 0;
	if (h->refused != NULL)
		memset(h->refused, 0, REFUSED_TABLE * sizeof(*h->refused));
	h->nrefused = 0;
	snprintf(bad, sizeof(bad), "%s.bad", h->path);
	if (rename(h->path, bad) == 0)
		log_warn("history: %s is damaged (%s): set aside as %s, the "
			 "history starts empty",
		    h->path, r.bad, bad);
	else
		log_warn("history: %s is damaged (%s) and cannot be set aside "
			 "(%s): the history starts empty",
		    h->path, r.bad, strerror(errno));
	return -1;
}
