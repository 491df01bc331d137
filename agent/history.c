/*
 * history.c: see history.h.  The rings, queries and settings; the file is
 * history_file.c (the layout of a series is in history_internal.h).
 *
 * A reading goes into the slot of its own time (its ts_ms; the batch's
 * wall time when it has none or is in the future), in every tier.  A
 * reading for the newest slot of a ring is averaged in; one for an older
 * slot still in the ring (a cloud point that came late) fills it only if
 * it is empty, as an older slot keeps no count; one older than the whole
 * ring is dropped, unless it is the present (the wall clock went back):
 * then the ring starts again there.
 *
 * Values are kept as floats (about 7 significant digits: enough for a
 * chart) and answered rounded to 7 digits.  Lookups go through a hash
 * table of FNV-1a 64 seeded per process; the memory cap also bounds the
 * number of series, so even names made to collide cost a bounded walk.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "lib/clock.h"
#include "lib/fnv.h"
#include "lib/parsenum.h"
#include "lib/utf8.h"

#include "agent/metric.h"

#include "agent/history.h"
#include "agent/history_internal.h"

#define POINTS_MAX 2000
/* A reading stamped further ahead of the wall time is taken as now. */
#define FUTURE_MS (60 * 1000)
/*
 * Refused series told apart, to count each once: a table twice as big,
 * whose room the cap keeps from the first series on.
 */
#define REFUSED_MAX (REFUSED_TABLE / 2)
#define REFUSED_BYTES (REFUSED_TABLE * sizeof(uint64_t))
#define MEMORY_MIN (64 * 1024)
#define SAVE_MIN_MS (10 * 1000)

static const struct history_tier default_tiers[] = {
	{ 10 * 1000, 3 * 3600 * 1000LL },
	{ 60 * 1000, 2 * 86400 * 1000LL },
	{ 600 * 1000, 30 * 86400 * 1000LL },
};

static size_t
series_size(const struct history *h, size_t name_len)
{
	return sizeof(struct series) + h->total_slots * sizeof(float) +
	    name_len + 1;
}

/* The bytes one series of ${c} takes, name aside. */
static size_t
conf_series_bytes(const struct history_conf *c)
{
	size_t slots = 0;

	for (size_t i = 0; i < c->ntiers; i++)
		slots += (size_t)(c->tiers[i].span_ms / c->tiers[i].step_ms);
	return sizeof(struct series) + slots * sizeof(float);
}

/* The least memory_max that holds one series of ${c}, tables included. */
static size_t
conf_min_bytes(const struct history_conf *c)
{
	return conf_series_bytes(c) + METRIC_NAME_MAX + REFUSED_BYTES +
	    64 * sizeof(uint32_t) + 16 * sizeof(void *);
}

/* Check one tier against the one before it; a message in ${what}. */
static int
tier_check(const struct history_tier *t, const struct history_tier *prev,
    char *what, size_t len)
{
	if (t->step_ms < 1000)
		snprintf(what, len, "the step must be at least 1s");
	else if (t->span_ms < t->step_ms || t->span_ms % t->step_ms != 0)
		snprintf(what, len,
		    "the span must be a whole number of steps");
	else if (t->span_ms / t->step_ms > HISTORY_SLOTS_MAX)
		snprintf(what, len, "%lld slots, more than %d",
		    (long long)(t->span_ms / t->step_ms), HISTORY_SLOTS_MAX);
	else if (prev != NULL &&
	    (t->step_ms <= prev->step_ms || t->step_ms % prev->step_ms != 0))
		snprintf(what, len,
		    "the step must be a multiple of the tier before's (%lld "
		    "ms)",
		    (long long)prev->step_ms);
	else if (prev != NULL && t->span_ms <= prev->span_ms)
		snprintf(what, len,
		    "the span must be longer than the tier before's");
	else
		return 0;
	return -1;
}

static int
parse_tiers(const conf_node *group, struct history_conf *c,
    struct conf_errs *errs)
{
	const conf_node *node = conf_member(group, "tiers");
	struct history_tier tv[HISTORY_TIERS_MAX];
	const struct history_tier *prev = NULL;
	char **v = NULL, what[160];
	size_t n = 0;
	int rc = 0;

	if (conf_get_strv(errs, group, "tiers", false, &v, &n) <= 0)
		return node == NULL ? 0 : -1;
	if (n == 0 || n > HISTORY_TIERS_MAX) {
		ag_strv_free(v);
		return conf_error(errs, node, "give 1 to %d tiers, not %zu",
		    HISTORY_TIERS_MAX, n);
	}
	for (size_t i = 0; i < n; i++) {
		const conf_node *el = conf_is_list(node) ? conf_elem(node, i) :
							   node;
		struct history_tier t = { 0, 0 };
		char *colon = strchr(v[i], ':');

		if (colon == NULL) {
			rc = conf_error(errs, el,
			    "\"%s\" is not STEP:SPAN (such as \"10s:3h\")",
			    v[i]);
			continue;
		}
		*colon = '\0';
		if (parse_duration_ms(v[i], &t.step_ms) != 0 ||
		    parse_duration_ms(colon + 1, &t.span_ms) != 0) {
			*colon = ':';
			rc = conf_error(errs, el,
			    "\"%s\" is not STEP:SPAN of two durations (such "
			    "as \"10s:3h\")",
			    v[i]);
			continue;
		}
		*colon = ':';
		if (tier_check(&t, prev, what, sizeof(what)) != 0)
			rc = conf_error(errs, el, "\"%s\": %s", v[i], what);
		tv[i] = t;
		prev = &tv[i];
	}
	ag_strv_free(v);
	if (rc == 0) {
		memcpy(c->tiers, tv, n * sizeof(*tv));
		c->ntiers = n;
	}
	return rc;
}

int
history_conf_parse(const conf_node *group, struct history_conf *c,
    struct conf_errs *errs)
{
	static const char *const keys[] = { "tiers", "memory_max",
		"save_interval", NULL };
	size_t before = errs->total;
	uint64_t max;
	int64_t ms;

	memset(c, 0, sizeof(*c));
	memcpy(c->tiers, default_tiers, sizeof(default_tiers));
	c->ntiers = ARRAY_SIZE(default_tiers);
	c->memory_max = 64 * 1024 * 1024;
	c->save_interval_ms = 5 * 60 * 1000;
	if (group == NULL)
		return 0;
	if (!conf_is_group(group))
		return conf_error(errs, group,
		    "must be a group { tiers = [...]; ... }");
	(void)conf_check_keys(errs, group, keys);
	(void)parse_tiers(group, c, errs);
	if (conf_get_size(errs, group, "memory_max", false, &max) == 1) {
		if (max < MEMORY_MIN || max > SIZE_MAX / 2)
			(void)conf_error_at(errs, group, "memory_max",
			    "must be at least 64KiB");
		else
			c->memory_max = (size_t)max;
	}
	if (conf_get_dur(errs, group, "save_interval", false, 0, &ms) == 1) {
		if (ms != 0 && ms < SAVE_MIN_MS)
			(void)conf_error_at(errs, group, "save_interval",
			    "must be at least 10s, or \"0s\" to save only at "
			    "shutdown");
		else
			c->save_interval_ms = ms;
	}
	if (errs->total == before && conf_min_bytes(c) > c->memory_max)
		(void)conf_error_at(errs, group, "memory_max",
		    "%zu bytes hold not one series of these tiers (%zu bytes "
		    "each)",
		    c->memory_max, conf_series_bytes(c));
	return errs->total == before ? 0 : -1;
}

struct history *
history_new(const struct history_conf *c, const char *path, struct ag_err *err)
{
	struct history *h;
	size_t off = 0;
	char what[160];

	if (c->ntiers == 0 || c->ntiers > HISTORY_TIERS_MAX) {
		ag_err_set(err, "history: %zu tiers", c->ntiers);
		return NULL;
	}
	for (size_t i = 0; i < c->ntiers; i++)
		if (tier_check(&c->tiers[i], i > 0 ? &c->tiers[i - 1] : NULL,
			what, sizeof(what)) != 0) {
			ag_err_set(err, "history: tier %zu: %s", i + 1, what);
			return NULL;
		}
	if ((h = calloc(1, sizeof(*h))) == NULL) {
		ag_err_set(err, "history: out of memory");
		return NULL;
	}
	h->c = *c;
	for (size_t i = 0; i < c->ntiers; i++) {
		h->nslots[i] = (size_t)(c->tiers[i].span_ms /
		    c->tiers[i].step_ms);
		h->off[i] = off;
		off += h->nslots[i];
	}
	h->total_slots = off;
	if (getrandom(&h->seed, sizeof(h->seed), GRND_NONBLOCK) !=
	    (ssize_t)sizeof(h->seed))
		h->seed = (uint64_t)clock_mono_ms() ^ (uint64_t)(uintptr_t)h;
	h->nbuckets = 64;
	if ((h->buckets = calloc(h->nbuckets, sizeof(*h->buckets))) == NULL ||
	    (path != NULL && (h->path = strdup(path)) == NULL)) {
		history_free(h);
		ag_err_set(err, "history: out of memory");
		return NULL;
	}
	h->bytes = h->nbuckets * sizeof(*h->buckets);
	h->next_save_ms = clock_wall_ms() + c->save_interval_ms;
	if (h->path != NULL)
		(void)history_load(h); /* logs */
	return h;
}

void
history_clear(struct history *h)
{
	for (size_t i = 0; i < h->n; i++) {
		h->bytes -= series_size(h, h->v[i]->name_len);
		free(h->v[i]);
	}
	h->n = 0;
	memset(h->buckets, 0, h->nbuckets * sizeof(*h->buckets));
}

void
history_free(struct history *h)
{
	if (h == NULL)
		return;
	for (size_t i = 0; i < h->n; i++)
		free(h->v[i]);
	free(h->v);
	free(h->buckets);
	free(h->refused);
	free(h->path);
	free(h);
}

static uint64_t
name_hash(const struct history *h, const char *name, size_t len)
{
	return fnv1a64(FNV1A64_INIT ^ h->seed, name, len);
}

/* Count a refused series, each name once while the table has room. */
static void
refuse(struct history *h, uint64_t hash)
{
	size_t mask = REFUSED_TABLE - 1, i;

	hash = hash == 0 ? 1 : hash;
	/* Its room was kept under the cap (history_series()). */
	if (h->refused == NULL &&
	    (h->refused = calloc(REFUSED_TABLE, sizeof(hash))) != NULL)
		h->bytes += REFUSED_BYTES;
	if (h->refused == NULL || h->nrefused >= REFUSED_MAX) {
		h->dropped++; /* no room to tell them apart: every time */
		return;
	}
	for (i = hash & mask; h->refused[i] != 0; i = (i + 1) & mask)
		if (h->refused[i] == hash)
			return;
	h->refused[i] = hash;
	h->nrefused++;
	h->dropped++;
}

/* Double the hash table. */
static int
rehash(struct history *h)
{
	size_t nb = h->nbuckets * 2;
	uint32_t *b = calloc(nb, sizeof(*b));

	if (b == NULL)
		return -1;
	for (size_t i = 0; i < h->n; i++) {
		struct series *s = h->v[i];
		size_t k = s->hash & (nb - 1);

		s->next = b[k];
		b[k] = (uint32_t)(i + 1);
	}
	free(h->buckets);
	h->buckets = b;
	h->bytes += (nb - h->nbuckets) * sizeof(*b);
	h->nbuckets = nb;
	return 0;
}

bool
history_name_ok(const char *name, size_t len)
{
	size_t off = 0, k;

	if (len == 0 || len >= METRIC_NAME_MAX)
		return false;
	while (off < len) {
		if ((k = utf8_seq((const unsigned char *)name + off, NULL)) ==
		    0)
			return false;
		off += k;
	}
	return off == len;
}

struct series *
history_series(struct history *h, const char *name, size_t len, bool create)
{
	uint64_t hash = name_hash(h, name, len);
	size_t need, grow = 0;
	struct series *s;

	for (uint32_t i = h->buckets[hash & (h->nbuckets - 1)]; i != 0;
	     i = s->next) {
		s = h->v[i - 1];
		if (s->hash == hash && s->name_len == len &&
		    memcmp(series_name(h, s), name, len) == 0)
			return s;
	}
	if (!create || !history_name_ok(name, len) || h->n >= UINT32_MAX - 1)
		return NULL;
	/* Everything this series would add, tables included, under the cap. */
	need = series_size(h, len);
	if (h->n == h->cap)
		grow += (h->cap == 0 ? 16 : h->cap) * sizeof(*h->v);
	if (h->n + 1 > h->nbuckets)
		grow += h->nbuckets * sizeof(*h->buckets);
	if (h->refused == NULL)
		grow += REFUSED_BYTES;
	if (h->bytes + need + grow > h->c.memory_max) {
		refuse(h, hash);
		return NULL;
	}
	if (h->n == h->cap) {
		size_t ncap = h->cap == 0 ? 16 : 2 * h->cap;
		struct series **nv = realloc(h->v, ncap * sizeof(*nv));

		if (nv == NULL)
			return NULL;
		h->v = nv;
		h->bytes += (ncap - h->cap) * sizeof(*nv);
		h->cap = ncap;
	}
	if (h->n + 1 > h->nbuckets && rehash(h) != 0)
		return NULL;
	if ((s = malloc(need)) == NULL)
		return NULL;
	memset(s, 0, sizeof(*s));
	s->hash = hash;
	s->name_len = (uint32_t)len;
	for (size_t i = 0; i < HISTORY_TIERS_MAX; i++)
		s->ring[i].last = RING_NONE;
	for (size_t i = 0; i < h->total_slots; i++)
		s->vals[i] = NAN;
	memcpy((char *)series_name(h, s), name, len);
	((char *)series_name(h, s))[len] = '\0';
	s->next = h->buckets[hash & (h->nbuckets - 1)];
	h->v[h->n++] = s;
	h->buckets[hash & (h->nbuckets - 1)] = (uint32_t)h->n;
	h->bytes += need;
	return s;
}

static float
to_float(double v)
{
	if (v > FLT_MAX)
		return FLT_MAX;
	if (v < -FLT_MAX)
		return -FLT_MAX;
	return (float)v;
}

/*
 * Put ${v} into slot ${k} of tier ${i} of ${s}; ${now}: the reading is of
 * the present, not a late point.
 */
static void
ring_put(struct history *h, struct series *s, size_t i, int64_t k, double v,
    bool now)
{
	struct ring *r = &s->ring[i];
	float *vals = s->vals + h->off[i];
	size_t ns = h->nslots[i];

	if (r->last != RING_NONE && k <= r->last - (int64_t)ns) {
		if (!now)
			return; /* older than the ring */
		/* The wall clock went back: start again from here. */
		r->last = RING_NONE;
	}
	if (r->last == RING_NONE || k > r->last) {
		int64_t from = r->last == RING_NONE ||
			k - r->last >= (int64_t)ns ?
		    k - (int64_t)ns + 1 :
		    r->last + 1;

		for (int64_t j = from; j < k; j++)
			vals[ring_pos(j, ns)] = NAN;
		r->last = k;
		r->sum = v;
		r->n = 1;
		vals[ring_pos(k, ns)] = to_float(v);
	} else if (k == r->last) {
		if (r->n == UINT32_MAX)
			return;
		r->sum += v;
		r->n++;
		vals[ring_pos(k, ns)] = to_float(r->sum / r->n);
	} else if (isnan(vals[ring_pos(k, ns)])) {
		vals[ring_pos(k, ns)] = to_float(v);
	}
}

void
history_add(struct history *h, const struct metric_batch *batch,
    int64_t wall_ms)
{
	for (size_t m = 0; m < batch->n; m++) {
		const struct metric *r = &batch->v[m];
		int64_t t = r->ts_ms;
		struct series *s;

		if ((r->flags & METRIC_RETIRED) || !isfinite(r->value))
			continue;
		if (t <= 0 || t > wall_ms + FUTURE_MS)
			t = wall_ms;
		if (t < 0 ||
		    (s = history_series(h, r->name,
			 strnlen(r->name, METRIC_NAME_MAX - 1), true)) == NULL)
			continue;
		for (size_t i = 0; i < h->c.ntiers; i++) {
			int64_t step = h->c.tiers[i].step_ms;

			ring_put(h, s, i, t / step, r->value,
			    wall_ms - t < step);
		}
	}
}

/* ${v} to 7 significant digits, as much as a float holds. */
static double
round7(double v)
{
	char buf[40];

	snprintf(buf, sizeof(buf), "%.7g", v);
	return strtod(buf, NULL);
}

static int
add_point(json_t *points, int64_t t, double sum, size_t n)
{
	json_t *p = json_pack("[I, f]", (json_int_t)t, round7(sum / n));

	return p == NULL ? -1 : json_array_append_new(points, p);
}

json_t *
history_query(struct history *h, const char *series, int64_t from_ms,
    int64_t to_ms, int64_t step_ms)
{
	struct series *s = history_series(h, series, strlen(series), false);
	json_t *root, *points;
	int64_t tstep, step, lo, hi, bucket = INT64_MIN;
	size_t i, ns, n = 0;
	double sum = 0;
	const float *vals;

	if (s == NULL)
		return NULL;
	if (step_ms > INT64_MAX / 4)
		step_ms = INT64_MAX / 4;
	/* Times outside [0, 2^62] mean nothing here and could overflow. */
	from_ms = from_ms < 0	    ? 0 :
	    from_ms > INT64_MAX / 2 ? INT64_MAX / 2 :
				      from_ms;
	to_ms = to_ms < from_ms	  ? from_ms :
	    to_ms > INT64_MAX / 2 ? INT64_MAX / 2 :
				    to_ms;
	/* The finest tier whose ring reaches back to from_ms. */
	for (i = 0; i < h->c.ntiers; i++) {
		const struct ring *r = &s->ring[i];

		if (r->last != RING_NONE &&
		    from_ms >= (r->last - (int64_t)h->nslots[i] + 1) *
			    h->c.tiers[i].step_ms)
			break;
	}
	if (i == h->c.ntiers) /* none: the coarsest that has any */
		for (i = h->c.ntiers - 1;
		     i > 0 && s->ring[i].last == RING_NONE; i--)
			;
	tstep = h->c.tiers[i].step_ms;
	step = step_ms <= tstep ?
	    tstep :
	    (step_ms / tstep + (step_ms % tstep != 0)) * tstep;
	/* At most POINTS_MAX buckets of [from, to], aligned to the step. */
	if (to_ms / step - from_ms / step + 1 > POINTS_MAX) {
		step = ((to_ms - from_ms) / (POINTS_MAX - 1) / tstep + 1) *
		    tstep;
		if (to_ms / step - from_ms / step + 1 > POINTS_MAX)
			step += tstep;
	}
	root = json_pack("{s:s, s:I, s:[]}", "series", series, "step_ms",
	    (json_int_t)step, "points");
	if (root == NULL)
		return NULL;
	points = json_object_get(root, "points");
	if (s->ring[i].last == RING_NONE)
		return root;
	ns = h->nslots[i];
	vals = s->vals + h->off[i];
	lo = from_ms / tstep;
	if (lo < s->ring[i].last - (int64_t)ns + 1)
		lo = s->ring[i].last - (int64_t)ns + 1;
	hi = to_ms / tstep;
	if (hi > s->ring[i].last)
		hi = s->ring[i].last;
	for (int64_t k = lo; k <= hi; k++) {
		float v = vals[ring_pos(k, ns)];
		int64_t b = k * tstep / step;

		if (isnan(v))
			continue;
		if (b != bucket && n > 0) {
			if (add_point(points, bucket * step, sum, n) != 0)
				goto err;
			n = 0;
			sum = 0;
		}
		bucket = b;
		sum += v;
		n++;
	}
	if (n > 0 && add_point(points, bucket * step, sum, n) != 0)
		goto err;
	return root;
err:
	json_decref(root);
	return NULL;
}

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

json_t *
history_names(struct history *h, const char *pattern)
{
	const char **names;
	size_t n = 0;
	json_t *arr;

	if ((arr = json_array()) == NULL)
		return NULL;
	if (h->n == 0)
		return arr;
	if ((names = malloc(h->n * sizeof(*names))) == NULL) {
		json_decref(arr);
		return NULL;
	}
	for (size_t i = 0; i < h->n; i++) {
		const char *name = series_name(h, h->v[i]);

		if (pattern == NULL || metric_glob_match(pattern, name))
			names[n++] = name;
	}
	qsort(names, n, sizeof(*names), cmp_names);
	for (size_t i = 0; i < n; i++)
		if (json_array_append_new(arr, json_string(names[i])) != 0) {
			json_decref(arr);
			arr = NULL;
			break;
		}
	free(names);
	return arr;
}

void
history_stats(const struct history *h, struct history_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->series = h->n;
	st->bytes = h->bytes;
	st->bytes_max = h->c.memory_max;
	st->dropped = h->dropped;
	st->saved_ms = h->saved_ms;
	snprintf(st->last_error, sizeof(st->last_error), "%s", h->last_error);
}

int64_t
history_save_due(const struct history *h)
{
	if (h->path == NULL || h->c.save_interval_ms == 0)
		return INT64_MAX;
	return h->next_save_ms;
}
