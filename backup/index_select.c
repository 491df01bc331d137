/*
 * index_select.c: selecting index entries as they stream past (see
 * index_select.h).
 *
 * Kept entries are copies (manifest_file_dup()): the reader frees its own
 * after each callback, and a loaded inline index stays whole.  The "did you
 * mean" candidates reproduce what a search of the loaded, sorted index
 * would find: its neighbours are the SUGGEST_AROUND largest paths below
 * the wanted one and the SUGGEST_AROUND smallest at or above it, ties
 * broken by tar order as the sorted index breaks them; paths longer than
 * SUGGEST_LEN_MAX are never candidates and take no place among them.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/ag.h"
#include "backup/manifest.h"
#include "backup/index_select.h"

#define SUGGEST_AROUND 6    /* sorted neighbours compared */
#define SUGGEST_SAME 32	    /* same-name entries compared */
#define SUGGEST_LEN_MAX 512 /* longer: not compared */

/* A neighbour: its path and place in tar order. */
struct cand {
	char *path;
	uint64_t seq;
};

struct want {
	char *p;
	size_t n;
	const char *base; /* its file name, inside p */
	uint64_t count;	  /* entries selected */
	size_t slot;	  /* INDEX_SELECT_LAST: kept[slot] */
	char *suffix;	  /* first path ending in "/p" */
	struct cand below[SUGGEST_AROUND], above[SUGGEST_AROUND];
	size_t nbelow, nabove;
	char *same[SUGGEST_SAME];
	size_t nsame;
};

struct index_select {
	struct want *w;
	size_t nw;
	unsigned flags;
	struct manifest_file *kept;
	size_t nkept, cap;
	bool failed;
};

static const char *
base_name(const char *p)
{
	const char *s = strrchr(p, '/');

	return s != NULL ? s + 1 : p;
}

/**
 * index_select_new(paths, n, flags, err):
 * A selection of the ${n} archive paths ${paths} (normalized; copied),
 * with ${flags}.  Return it, or NULL with a message.
 */
struct index_select *
index_select_new(const char *const *paths, size_t n, unsigned flags,
    struct ag_err *err)
{
	struct index_select *s;

	if ((s = calloc(1, sizeof(*s))) == NULL ||
	    (s->w = calloc(n > 0 ? n : 1, sizeof(*s->w))) == NULL)
		goto oom;
	s->flags = flags;
	for (; s->nw < n; s->nw++) {
		struct want *w = &s->w[s->nw];

		if ((w->p = strdup(paths[s->nw])) == NULL)
			goto oom;
		w->n = strlen(w->p);
		w->base = base_name(w->p);
		w->slot = SIZE_MAX;
	}
	return s;
oom:
	index_select_free(s);
	(void)ag_err_set(err, "out of memory");
	return NULL;
}

/* Compare candidates: by path, then by tar order. */
static int
cand_cmp(const char *path, uint64_t seq, const struct cand *c)
{
	int r = strcmp(path, c->path);

	if (r != 0)
		return r;
	return seq < c->seq ? -1 : seq > c->seq;
}

/*
 * Insert (${path}, ${seq}) into the sorted ${v} of ${*n} (at most
 * SUGGEST_AROUND); when full, drop the first (${drop_low}) or the last
 * entry, unless the new one would be the one dropped.  Return -1 if out
 * of memory.
 */
static int
cand_insert(struct cand *v, size_t *n, bool drop_low, const char *path,
    uint64_t seq)
{
	size_t k;
	char *copy;

	if (*n == SUGGEST_AROUND) {
		if (drop_low ? cand_cmp(path, seq, &v[0]) < 0 :
			       cand_cmp(path, seq, &v[*n - 1]) > 0)
			return 0;
		if (drop_low) {
			free(v[0].path);
			memmove(v, v + 1, (*n - 1) * sizeof(*v));
		} else {
			free(v[*n - 1].path);
		}
		(*n)--;
	}
	if ((copy = strdup(path)) == NULL)
		return -1;
	for (k = *n; k > 0 && cand_cmp(path, seq, &v[k - 1]) < 0; k--)
		v[k] = v[k - 1];
	v[k] = (struct cand){ copy, seq };
	(*n)++;
	return 0;
}

/* Candidates for a hint to ${w}, which has selected nothing so far. */
static int
candidates(struct want *w, const char *path, uint64_t seq)
{
	size_t fl = strlen(path);

	if (w->suffix == NULL && fl > w->n && path[fl - w->n - 1] == '/' &&
	    strcmp(path + fl - w->n, w->p) == 0 &&
	    (w->suffix = strdup(path)) == NULL)
		return -1;
	if (fl > SUGGEST_LEN_MAX)
		return 0;
	if (strcmp(path, w->p) < 0) {
		if (cand_insert(w->below, &w->nbelow, true, path, seq) != 0)
			return -1;
	} else if (cand_insert(w->above, &w->nabove, false, path, seq) != 0)
		return -1;
	if (w->nsame < SUGGEST_SAME &&
	    strcasecmp(base_name(path), w->base) == 0) {
		if ((w->same[w->nsame] = strdup(path)) == NULL)
			return -1;
		w->nsame++;
	}
	return 0;
}

/* Keep a copy of ${f}; in kept[${slot}] if ${slot} < nkept. */
static int
keep(struct index_select *s, const struct manifest_file *f, size_t slot)
{
	if (slot < s->nkept) {
		manifest_file_clear(&s->kept[slot]);
		return manifest_file_dup(&s->kept[slot], f);
	}
	if (manifest_files_grow(&s->kept, s->nkept, &s->cap) != 0 ||
	    manifest_file_dup(&s->kept[s->nkept], f) != 0)
		return -1;
	s->nkept++;
	return 0;
}

static bool
selects(const struct want *w, const struct manifest_file *f)
{
	if (strncmp(f->path, w->p, w->n) == 0 &&
	    (f->path[w->n] == '\0' || f->path[w->n] == '/'))
		return true;
	return f->split_of != NULL && strcmp(f->split_of, w->p) == 0;
}

/**
 * index_select_file(cookie, f, i):
 * Look at the index entry ${f}, the ${i}th in tar order, with the
 * selection ${cookie}: keep a copy if selected.  Return 0, or -1 (out of
 * memory; sticky).
 */
int
index_select_file(void *cookie, struct manifest_file *f, uint64_t i)
{
	struct index_select *s = cookie;
	bool kept = false;
	struct want *w;

	if (s->failed)
		return -1;
	for (size_t k = 0; k < s->nw; k++) {
		w = &s->w[k];
		if (s->flags & INDEX_SELECT_LAST) {
			if (strcmp(f->path, w->p) != 0)
				continue;
			/* The later entry of a path replaces the earlier. */
			if (w->slot == SIZE_MAX)
				w->slot = s->nkept;
			w->count++;
			if (keep(s, f, w->slot) != 0)
				goto oom;
			return 0;
		}
		if (selects(w, f)) {
			w->count++;
			if (!kept && keep(s, f, SIZE_MAX) != 0)
				goto oom;
			kept = true;
		} else if (w->count == 0 && w->n <= SUGGEST_LEN_MAX &&
		    w->n > 0 && candidates(w, f->path, i) != 0)
			goto oom;
	}
	return 0;
oom:
	s->failed = true;
	return -1;
}

/**
 * index_select_count(s, k):
 * The number of entries the ${k}th wanted path selected.
 */
uint64_t
index_select_count(const struct index_select *s, size_t k)
{
	return s->w[k].count;
}

/* Levenshtein distance of ${a} and ${b} (both at most SUGGEST_LEN_MAX). */
static size_t
edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i, j, prev, cur, t;
	size_t row[SUGGEST_LEN_MAX + 1];

	for (j = 0; j <= lb; j++)
		row[j] = j;
	for (i = 1; i <= la; i++) {
		prev = row[0];
		row[0] = i;
		for (j = 1; j <= lb; j++) {
			cur = row[j];
			t = prev + (a[i - 1] != b[j - 1]);
			if (row[j] + 1 < t)
				t = row[j] + 1;
			if (row[j - 1] + 1 < t)
				t = row[j - 1] + 1;
			row[j] = t;
			prev = cur;
		}
	}
	return row[lb];
}

/* ${path} is closer to ${w} than ${*bestd}: make it the best. */
static void
closer(const struct want *w, const char *path, const char **best,
    size_t *bestd)
{
	size_t d = edit_distance(w->p, path);

	if (d < *bestd) {
		*bestd = d;
		*best = path;
	}
}

/**
 * index_select_hint(s, k):
 * For the ${k}th wanted path, if it selected nothing, a path the user may
 * have meant, or NULL.  Valid until index_select_free().
 */
const char *
index_select_hint(struct index_select *s, size_t k)
{
	const struct want *w = &s->w[k];
	const char *best = NULL;
	size_t bestd = SIZE_MAX, i, limit;

	if (w->count > 0 || w->n == 0 || w->n > SUGGEST_LEN_MAX)
		return NULL;
	if (w->suffix != NULL)
		return w->suffix;
	for (i = 0; i < w->nbelow; i++)
		closer(w, w->below[i].path, &best, &bestd);
	for (i = 0; i < w->nabove; i++)
		closer(w, w->above[i].path, &best, &bestd);
	for (i = 0; i < w->nsame; i++)
		closer(w, w->same[i], &best, &bestd);
	limit = w->n / 3 > 2 ? w->n / 3 : 2;
	return best != NULL && bestd <= limit ? best : NULL;
}

static int
tar_order_cmp(const void *a, const void *b)
{
	const struct manifest_file *x = a, *y = b;

	return x->tar_offset < y->tar_offset ? -1 :
					       x->tar_offset > y->tar_offset;
}

/**
 * index_select_take(s, ret_v, ret_n):
 * Move the kept entries, in tar order, into a malloc'd array stored in
 * ${ret_v} with its length in ${ret_n}; ${s} keeps none.
 */
void
index_select_take(struct index_select *s, struct manifest_file **ret_v,
    size_t *ret_n)
{
	/* INDEX_SELECT_LAST replaces entries in place: order them again. */
	if (s->nkept > 1)
		qsort(s->kept, s->nkept, sizeof(*s->kept), tar_order_cmp);
	*ret_v = s->kept;
	*ret_n = s->nkept;
	s->kept = NULL;
	s->nkept = s->cap = 0;
	for (size_t k = 0; k < s->nw; k++)
		s->w[k].slot = SIZE_MAX;
}

/* index_select_free(s): free ${s}; NULL is a no-op. */
void
index_select_free(struct index_select *s)
{
	struct want *w;

	if (s == NULL)
		return;
	for (size_t k = 0; k < s->nw; k++) {
		w = &s->w[k];
		free(w->p);
		free(w->suffix);
		for (size_t i = 0; i < w->nbelow; i++)
			free(w->below[i].path);
		for (size_t i = 0; i < w->nabove; i++)
			free(w->above[i].path);
		for (size_t i = 0; i < w->nsame; i++)
			free(w->same[i]);
	}
	for (size_t i = 0; i < s->nkept; i++)
		manifest_file_clear(&s->kept[i]);
	free(s->kept);
	free(s->w);
	free(s);
}
