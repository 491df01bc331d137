/*
 * util_manifest.c: fuzz_check_manifest(), shared by the manifest and index
 * targets.
 *
 * manifest_parse() promises that a manifest it accepts is safe to use:
 * restore looks paths up, selects what a path needs and maps tar ranges to
 * chunks with manifest_chunk_span(), then reads chunks[first..last]
 * without checking again.  So an accepted manifest on which that mapping
 * points outside the chunk table, or at chunks that do not hold the bytes,
 * is a bug of the parser, caught here before it becomes a bad read in
 * restore.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "backup/format.h"
#include "backup/manifest.h"
#include "lib/ag.h"

#include "tests/fuzz/fuzz.h"

/* Lookups are O(log n) but select is O(n): look at this many entries. */
#define CHECK_FILES_MAX 64

/* Does chunk ${i} hold tar byte ${off}? */
static void
check_holds(const struct manifest *m, size_t i, uint64_t off, const char *what)
{
	const struct manifest_chunk *c;

	if (i >= m->nchunks)
		fuzz_fail("manifest_chunk_span(): %s chunk %zu of %zu", what,
		    i, m->nchunks);
	c = &m->chunks[i];
	if (off < c->tar_offset || off - c->tar_offset >= c->tar_len)
		fuzz_fail(
		    "manifest_chunk_span(): %s chunk %zu holds tar [%" PRIu64
		    ", +%" PRIu64 "), not byte %" PRIu64,
		    what, i, c->tar_offset, c->tar_len, off);
}

static void
check_file(const struct manifest *m, const struct manifest_file *f)
{
	const struct manifest_file **v = NULL;
	const struct manifest_file *g;
	struct ag_err err = { "" };
	size_t first, last, n = 0, k;

	if (strcmp(manifest_ftype_name(f->type), "?") == 0)
		fuzz_fail("manifest: accepted an entry of type %d", f->type);
	if ((g = manifest_find(m, f->path)) == NULL)
		fuzz_fail("manifest_find(\"%s\"): not found, but indexed",
		    f->path);
	if (strcmp(g->path, f->path) != 0)
		fuzz_fail("manifest_find(\"%s\") found \"%s\"", f->path,
		    g->path);
	if (manifest_select(m, f->path, &v, &n, &err) != 0)
		fuzz_fail("manifest_select(\"%s\"): %s", f->path, err.msg);
	for (k = 0; k < n && strcmp(v[k]->path, f->path) != 0; k++)
		;
	if (k == n)
		fuzz_fail("manifest_select(\"%s\"): %zu entries, not itself",
		    f->path, n);
	for (k = 1; k < n; k++)
		if (v[k - 1]->tar_offset > v[k]->tar_offset)
			fuzz_fail("manifest_select(\"%s\"): not in tar order",
			    f->path);
	free(v);
	/* parse_file() checked tar_len >= 512 and the range inside the tar. */
	if (manifest_chunk_span(m, f->tar_offset, f->tar_len, &first, &last) !=
	    0)
		fuzz_fail("manifest_chunk_span(): \"%s\" [%" PRIu64
			  ", +%" PRIu64 ") refused, tar is %" PRIu64,
		    f->path, f->tar_offset, f->tar_len, m->tar_size);
	if (first > last)
		fuzz_fail("manifest_chunk_span(): first %zu > last %zu", first,
		    last);
	check_holds(m, first, f->tar_offset, "first");
	check_holds(m, last, f->tar_offset + f->tar_len - 1, "last");
}

void
fuzz_check_manifest(const struct manifest *m)
{
	const struct manifest_file **v = NULL;
	struct format_info info;
	struct ag_err err = { "" };
	size_t n = 0, first, last;

	if (m->nchunks == 0 || m->chunks == NULL)
		fuzz_fail("manifest: accepted without a chunk table");
	/* Single-file restore opens chunks with this header copy. */
	if (m->data_header != NULL)
		(void)format_header_info(m->data_header, m->data_header_len,
		    &info, &err);
	/* The whole tar, byte 0 and the last byte. */
	if (m->tar_size > 0) {
		if (manifest_chunk_span(m, 0, m->tar_size, &first, &last) != 0)
			fuzz_fail(
			    "manifest_chunk_span(): the whole tar (%" PRIu64
			    " bytes) refused",
			    m->tar_size);
		check_holds(m, first, 0, "first");
		check_holds(m, last, m->tar_size - 1, "last");
	}
	if (!m->files_loaded)
		return;
	if (manifest_select(m, "", &v, &n, &err) != 0)
		fuzz_fail("manifest_select(\"\"): %s", err.msg);
	if (n != m->nfiles)
		fuzz_fail("manifest_select(\"\"): %zu of %zu entries", n,
		    m->nfiles);
	free(v);
	for (size_t i = 0; i < m->nfiles && i < CHECK_FILES_MAX; i++)
		check_file(m, &m->files[i]);
	(void)manifest_find(m, "/");
	(void)manifest_find(m, "does/not/exist");
}
