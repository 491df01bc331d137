/*
 * metric.c: the reading batch, metric-name globs and counter rates.
 *
 * A batch is an array that doubles from 16 slots up to the maximum given at
 * init; a full batch refuses further readings.  Globs know two wildcards,
 * '*' (any run of characters, dots and slashes included) and '?' (exactly
 * one character); there is no escape character, because metric names never
 * contain either.
 *
 * metric_glob_overlap() answers "is there a string both globs match?" by a
 * reachability walk over pairs of pattern positions (i, j): a character of
 * the common string is consumed in each pattern either by a literal or '?'
 * (the position advances) or by a '*' (it stays), and a '*' may also match
 * the empty string (it is skipped).  Every move advances i or j, so one pass
 * over the (i, j) grid in increasing order, keeping two rows, settles it.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/metric.h"

/* The first allocation of a batch; later ones double it. */
#define BATCH_FIRST_CAP 16

void
metric_batch_init(struct metric_batch *b, size_t max)
{
	memset(b, 0, sizeof(*b));
	b->max = max;
}

void
metric_batch_reset(struct metric_batch *b)
{
	b->n = 0;
}

void
metric_batch_free(struct metric_batch *b)
{
	if (b == NULL)
		return;
	free(b->v);
	b->v = NULL;
	b->n = b->cap = 0;
}

/*
 * batch_slot(b):
 * Make room for one more reading and return its slot (not yet counted in
 * ${b}->n), or NULL if the batch is at its maximum or memory ran out.
 */
static struct metric *
batch_slot(struct metric_batch *b)
{
	struct metric *nv;
	size_t ncap;

	if (b->n >= b->max)
		return NULL;
	if (b->n == b->cap) {
		ncap = b->cap == 0 ? BATCH_FIRST_CAP : b->cap * 2;
		if (ncap > b->max || ncap < b->cap)
			ncap = b->max;
		nv = realloc(b->v, ncap * sizeof(*nv));
		if (nv == NULL)
			return NULL;
		b->v = nv;
		b->cap = ncap;
	}
	return &b->v[b->n];
}

int
metric_add(struct metric_batch *b, double value, const char *fmt, ...)
{
	char name[METRIC_NAME_MAX];
	va_list ap;
	int len;

	va_start(ap, fmt);
	len = vsnprintf(name, sizeof(name), fmt, ap);
	va_end(ap);
	if (len < 0 || (size_t)len >= sizeof(name))
		return -1;
	return metric_add_ts(b, b->now_ms, value, name);
}

int
metric_add_ts(struct metric_batch *b, int64_t ts_ms, double value,
    const char *name)
{
	struct metric *m;
	size_t len;

	len = strlen(name);
	if (len == 0 || len >= METRIC_NAME_MAX)
		return -1;
	if ((m = batch_slot(b)) == NULL)
		return -1;
	memcpy(m->name, name, len + 1);
	m->value = value;
	m->ts_ms = ts_ms;
	m->flags = 0;
	b->n++;
	return 0;
}

int
metric_retire(struct metric_batch *b, const char *name)
{
	if (metric_add_ts(b, b->now_ms, 0, name) != 0)
		return -1;
	b->v[b->n - 1].flags = METRIC_RETIRED;
	return 0;
}

/* Labels. */

static int
label_cmp(const void *a, const void *b)
{
	const struct metric_label *const *x = a, *const *y = b;

	return strcmp((*x)->key, (*y)->key);
}

/* Append ${s} escaped to ${buf} at *${o}; false if it does not fit. */
static bool
put_escaped(char *buf, size_t len, size_t *o, const char *s)
{
	for (; *s != '\0'; s++) {
		if (strchr("\\,}=", *s) != NULL) {
			if (*o + 1 >= len)
				return false;
			buf[(*o)++] = '\\';
		}
		if (*o + 1 >= len)
			return false;
		buf[(*o)++] = *s;
	}
	return true;
}

int
metric_name_format(char *buf, size_t len, const char *base,
    const struct metric_label *labels, size_t n)
{
	const struct metric_label *sorted[METRIC_LABELS_MAX];
	size_t o, bl = strlen(base);

	if (len == 0 || n > METRIC_LABELS_MAX || strchr(base, '{') != NULL ||
	    bl >= len)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (labels[i].key[0] == '\0')
			return -1;
		sorted[i] = &labels[i];
	}
	qsort(sorted, n, sizeof(sorted[0]), label_cmp);
	memcpy(buf, base, bl);
	o = bl;
	for (size_t i = 0; i < n; i++) {
		if (i > 0 && strcmp(sorted[i - 1]->key, sorted[i]->key) == 0)
			return -1;
		if (o + 1 >= len)
			return -1;
		buf[o++] = i == 0 ? '{' : ',';
		if (!put_escaped(buf, len, &o, sorted[i]->key) || o + 1 >= len)
			return -1;
		buf[o++] = '=';
		if (!put_escaped(buf, len, &o, sorted[i]->value))
			return -1;
	}
	if (n > 0) {
		if (o + 1 >= len)
			return -1;
		buf[o++] = '}';
	}
	buf[o] = '\0';
	return (int)o;
}

size_t
metric_base_len(const char *name)
{
	return strcspn(name, "{");
}

/*
 * Unescape from *${p} into ${out} (${len} bytes) up to an unescaped
 * character of ${stops}, which is left at *${p}.  False if it does not fit
 * or the text ends first.
 */
static bool
take_escaped(const char **p, const char *stops, char *out, size_t len)
{
	const char *s = *p;
	size_t o = 0;

	while (*s != '\0' && strchr(stops, *s) == NULL) {
		if (*s == '\\' && *++s == '\0')
			return false;
		if (o + 1 >= len)
			return false;
		out[o++] = *s++;
	}
	if (*s == '\0' || len == 0)
		return false;
	out[o] = '\0';
	*p = s;
	return true;
}

int
metric_label_next(const char **cursor, char *key, size_t klen, char *val,
    size_t vlen)
{
	const char *p = *cursor;

	if (p == NULL)
		return 0;
	/* At the start: skip the base name; none if no labels. */
	if (*p != '\0' && *p != ',' && *p != '}' && *p != '{') {
		p += metric_base_len(p);
		if (*p == '\0') {
			*cursor = p;
			return 0;
		}
	}
	if (*p == '}' && p[1] == '\0')
		return 0;
	if (*p == '\0') {
		return 0;
	}
	if (*p != '{' && *p != ',')
		return -1;
	p++;
	if (!take_escaped(&p, "=,}", key, klen) || *p != '=' || key[0] == '\0')
		return -1;
	p++;
	if (!take_escaped(&p, ",}=", val, vlen) || *p == '=')
		return -1;
	if (*p == '}' && p[1] != '\0')
		return -1;
	*cursor = p;
	return 1;
}

int
metric_label_get(const char *name, const char *key, char *val, size_t vlen)
{
	char k[METRIC_NAME_MAX];
	const char *cur = name;
	int rc;

	while ((rc = metric_label_next(&cur, k, sizeof(k), val, vlen)) == 1)
		if (strcmp(k, key) == 0)
			return 1;
	return rc;
}

int
metric_glob_match(const char *pattern, const char *name)
{
	const char *p = pattern, *n = name;
	const char *star_p = NULL, *star_n = NULL;

	/*
	 * The classic greedy walk: on a mismatch, go back to the last '*'
	 * and let it swallow one more character.  Only the last star needs
	 * remembering, so this is linear in practice and never recursive.
	 */
	while (*n != '\0') {
		if (*p == '*') {
			star_p = ++p;
			star_n = n;
		} else if (*p != '\0' && (*p == '?' || *p == *n)) {
			p++;
			n++;
		} else if (star_p != NULL) {
			p = star_p;
			n = ++star_n;
		} else {
			return 0;
		}
	}
	while (*p == '*')
		p++;
	return *p == '\0';
}

int
metric_glob_overlap(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	bool *row, *cur, *next, *tmp;
	int found;

	/* Two rows of the (i, j) grid: row i and row i + 1. */
	if ((row = calloc(2 * (lb + 1), sizeof(*row))) == NULL)
		return 1; /* cannot tell: do not claim a mismatch */
	cur = row;
	next = row + lb + 1;
	cur[0] = true;
	for (size_t i = 0; i <= la; i++) {
		memset(next, 0, (lb + 1) * sizeof(*next));
		for (size_t j = 0; j <= lb; j++) {
			if (!cur[j])
				continue;
			/* A '*' matching the empty string is skipped. */
			if (i < la && a[i] == '*')
				next[j] = true;
			if (j < lb && b[j] == '*')
				cur[j + 1] = true;
			if (i == la || j == lb)
				continue;
			if (a[i] == '*' && b[j] != '*') {
				/* a's star eats the character of b[j]. */
				cur[j + 1] = true;
			} else if (b[j] == '*' && a[i] != '*') {
				next[j] = true;
			} else if (a[i] != '*' &&
			    (a[i] == '?' || b[j] == '?' || a[i] == b[j])) {
				/* One character both positions accept. */
				next[j + 1] = true;
			}
		}
		if (i == la)
			break;
		tmp = cur;
		cur = next;
		next = tmp;
	}
	found = cur[lb];
	free(row);
	return found;
}

int
metric_rate(uint64_t prev, uint64_t cur, int64_t dt_ms, double *ret)
{
	/*
	 * A counter that went backwards was reset (reboot, driver reload,
	 * interface re-created) or wrapped at 32 or 64 bits; which one cannot
	 * be told from two samples, and guessing a wrap after a reset would
	 * report an absurd rate, so no rate is better than a wrong one.
	 */
	if (dt_ms <= 0 || cur < prev)
		return -1;
	*ret = (double)(cur - prev) * 1000.0 / (double)dt_ms;
	return 0;
}
