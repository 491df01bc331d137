/*
 * index_select.h: pick the file index entries a partial restore needs
 * while the index streams past (manifest_index_reader), keeping only
 * those and what a "did you mean" hint needs.
 *
 * Each wanted path selects the entry with that path, every entry below
 * it (a folder brings its contents) and the pieces of a split command
 * output of that name, as manifest_select() does on a loaded index.  With
 * INDEX_SELECT_LAST a wanted path selects only the last entry with exactly
 * that path (a hard link's target, which manifest_find() would return).
 * For a path that selects nothing, bounded candidates are kept as the
 * entries go by: the first path ending in "/path" (a path given from the
 * wrong root), the SUGGEST_AROUND paths just below and just above it in
 * sorted order, and the first SUGGEST_SAME with the same file name; at the
 * end the closest (edit distance) is the hint, if close enough.
 * Memory: the kept entries plus, per wanted path, at most
 * 2 * SUGGEST_AROUND + SUGGEST_SAME + 1 paths of at most SUGGEST_LEN_MAX
 * bytes.
 *
 * No I/O, no logging.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef VIGIL_BACKUP_INDEX_SELECT_H
#define VIGIL_BACKUP_INDEX_SELECT_H

#include <stddef.h>
#include <stdint.h>

#include "lib/ag.h"

struct manifest_file;
struct index_select;

/* Exact paths only, the last entry of each. */
#define INDEX_SELECT_LAST 1u

/**
 * index_select_new(paths, n, flags, err):
 * A selection of the ${n} archive paths ${paths} (normalized: no leading
 * or trailing '/'; copied), with ${flags} (INDEX_SELECT_*).  Return it, or
 * NULL with a message.
 */
struct index_select *index_select_new(const char *const *paths, size_t n,
    unsigned flags, struct ag_err *err);

/**
 * index_select_file(cookie, f, i):
 * Look at the index entry ${f}, the ${i}th in tar order (entries must come
 * in that order), with the selection ${cookie}: keep a copy if selected.
 * The shape of manifest_index_reader's on_file.  Return 0, or -1 (out of
 * memory; sticky).
 */
int index_select_file(void *cookie, struct manifest_file *f, uint64_t i);

/**
 * index_select_count(s, k):
 * The number of entries the ${k}th wanted path selected.
 */
uint64_t index_select_count(const struct index_select *s, size_t k);

/**
 * index_select_hint(s, k):
 * For the ${k}th wanted path, if it selected nothing, a path the user may
 * have meant, or NULL.  Valid until index_select_free().
 */
const char *index_select_hint(struct index_select *s, size_t k);

/**
 * index_select_take(s, ret_v, ret_n):
 * Move the kept entries, in tar order, into a malloc'd array stored in
 * ${ret_v} (the caller owns it and the strings) with its length in
 * ${ret_n}; ${s} keeps none.
 */
void index_select_take(struct index_select *s, struct manifest_file **ret_v,
    size_t *ret_n);

/* index_select_free(s): free ${s}; NULL is a no-op. */
void index_select_free(struct index_select *s);

#endif
