/*
 * history_internal.h: what history.c (the rings) and history_file.c
 * (history.bin) share; no other file includes it.
 *
 * A series is one allocation: struct series, then the slots of every tier
 * (floats, NaN for an empty slot; tier i starts at h->off[i]), then the
 * name.  Tier i's ring holds the slot numbers (wall time / step)
 * ring.last - nslots + 1 ... ring.last, slot k at position k % nslots, so
 * no time is stored per slot.  The newest slot (ring.last) also keeps the
 * sum and count of its readings; its float is their mean so far.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef VIGIL_AGENT_HISTORY_INTERNAL_H
#define VIGIL_AGENT_HISTORY_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agent/history.h"

/* Slots of the table that tells refused series apart (twice what it holds). */
#define REFUSED_TABLE 2048
#define RING_NONE (-1) /* ring.last of a ring that has no slot yet */
/* The most slots of one tier (a config with more is refused). */
#define HISTORY_SLOTS_MAX (1 << 20)

struct ring {
	int64_t last; /* the newest slot's number, or RING_NONE */
	double sum;   /* the readings in slot last ... */
	uint32_t n;   /* ... and how many */
};

struct series {
	uint32_t next; /* the hash chain: index in h->v plus 1, 0: the end */
	uint32_t name_len;
	uint64_t hash;
	struct ring ring[HISTORY_TIERS_MAX];
	float vals[]; /* h->total_slots, then the name and its NUL */
};

struct history {
	struct history_conf c;
	size_t nslots[HISTORY_TIERS_MAX];
	size_t off[HISTORY_TIERS_MAX];
	size_t total_slots;
	char *path; /* history.bin, or NULL */

	struct series **v; /* in the order they came */
	size_t n, cap;
	uint32_t *buckets; /* heads of the hash chains (index + 1) */
	size_t nbuckets;   /* a power of 2 */
	uint64_t seed;

	uint64_t *refused; /* hashes of the series refused, to count each once */
	size_t nrefused;

	size_t bytes; /* series, tables */
	uint64_t dropped;
	int64_t saved_ms, next_save_ms;
	char last_error[256];
};

/* series_name(h, s): the name of ${s}. */
static inline const char *
series_name(const struct history *h, const struct series *s)
{
	return (const char *)(s->vals + h->total_slots);
}

/* The ring position of slot ${k} in a ring of ${ns} slots. */
static inline size_t
ring_pos(int64_t k, size_t ns)
{
	int64_t p = k % (int64_t)ns;

	return (size_t)(p < 0 ? p + (int64_t)ns : p);
}

/**
 * history_name_ok(name, len):
 * Is ${name} (${len} bytes, NUL-terminated) fit to keep: 1 to
 * METRIC_NAME_MAX - 1 bytes of well-formed UTF-8 (JSON carries no other)?
 */
bool history_name_ok(const char *name, size_t len);

/**
 * history_series(h, name, len, create):
 * The series ${name} (${len} bytes, NUL-terminated), made (every slot
 * empty) if ${create}, the name is fit and it fits under the cap; NULL if
 * unknown, unfit, refused (counted in dropped) or out of memory.
 */
struct series *history_series(struct history *h, const char *name, size_t len,
    bool create);

/* history_clear(h): forget every series (the counters stay). */
void history_clear(struct history *h);

/**
 * history_load(h):
 * Read h->path into ${h}, which holds no series.  A missing file is no
 * error; a damaged one leaves ${h} empty, is renamed to PATH.bad and
 * logged once.  Return 0, or -1 if it was set aside.
 */
int history_load(struct history *h);

#endif /* !VIGIL_AGENT_HISTORY_INTERNAL_H */
