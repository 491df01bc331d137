/*
 * fuzz_index.c: fuzzing target for the separate file index (index.vgl,
 * docs/BACKUP-FORMAT.md 6.4), as manifest_load_index() reads it.
 *
 * The input is the index JSON, {"format": 1, "backup_id": ..., "files":
 * [...]}.  manifest_load_index() first checks its SHA-256 against the
 * manifest, which no mutation would pass; so each input is loaded into a
 * fresh copy of the fixed manifest below whose recorded hash, length and
 * entry count are set to the input's (the fields are the parser's own
 * output; the harness plays the part of a manifest that names this very
 * index).  The parser behind the hash is then fuzzed, and an index it
 * accepts is used the way restore does (fuzz_check_manifest()).
 *
 * The same input is streamed too, as a partial restore reads index.vgl:
 * fed to a manifest_index_reader in pieces of 1 to 256 bytes (cut where
 * the input's own bytes say), with index_select choosing the first
 * entry's path and another.  Streamed or loaded whole, the index must be
 * accepted or refused alike, with as many entries, and each path must
 * select as many entries as manifest_select() finds in the loaded index;
 * asking for hints must be safe.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "backup/index_select.h"
#include "backup/manifest.h"
#include "lib/ag.h"
#include "lib/crypto/crypto.h"

#include "tests/fuzz/fuzz.h"

/*
 * A manifest whose index lives in index.vgl: 256 KiB of tar in four 64 KiB
 * slices, so that entries of the seeds (corpus/index/) fit inside it.
 */
static const char base_manifest[] =
    "{\"format\": 1, \"job\": \"rich\", \"host\": \"fuzzhost\",\n"
    " \"backup_id\": \"2026-11-22T030000Z-3f9a\", \"level\": 0,\n"
    " \"start\": \"2026-11-22T03:00:00Z\", \"end\": \"2026-11-22T03:00:01Z\",\n"
    " \"sources\": [\"/srv\"], \"exclude\": [], \"warnings\": [],\n"
    " \"counts\": {\"files\": 7, \"dirs\": 2, \"symlinks\": 1,\n"
    "   \"hardlinks\": 1, \"other\": 1, \"bytes_in\": 200018,\n"
    "   \"bytes_stored\": 8346, \"warnings\": 0},\n"
    " \"tar\": {\"format\": \"pax\", \"size\": 262144, \"sha256\":\n"
    "   \"9f8ffb6e4468a77a02729fab0d73170e"
    "05859586481177af4922c78f2c3fff2c\"},\n"
    " \"compression\": {\"algorithm\": \"gzip\", \"level\": 6,\n"
    "   \"slice_size\": 65536},\n"
    " \"data\": {\"object\": \"data.vgl\", \"size\": 4250,\n"
    "   \"header_len\": 170,\n"
    "   \"header\": \"VklHSUwAQksBAKoAAQEAACAAAABthSD/jbJYtMDBwsPExcbHyMnKy8zN"
    "zs8yMDI2LTExLTIyVDAzMDAwMFotM2Y5YQAAAAAAAAAAAAAA0NHS09TV1tfY2drbdOoFN"
    "hpmMjMKz6QZMzI7t9sypjEJHona9DDydTEVq6ALQ+mWNThEx+tSyGBr0blVpEq5LaENKz"
    "YwyU64KlKDrV9M0VPnOUnAP5r7UPUKDb8=\",\n"
    "   \"chunk_size\": 65633, \"chunks\": 4},\n"
    " \"chunks\": [\n"
    "  {\"index\": 0, \"offset\": 170, \"sealed_len\": 1020,"
    " \"plain_len\": 1000, \"tar_offset\": 0, \"tar_len\": 65536},\n"
    "  {\"index\": 1, \"offset\": 1190, \"sealed_len\": 1020,"
    " \"plain_len\": 1000, \"tar_offset\": 65536, \"tar_len\": 65536},\n"
    "  {\"index\": 2, \"offset\": 2210, \"sealed_len\": 1020,"
    " \"plain_len\": 1000, \"tar_offset\": 131072, \"tar_len\": 65536},\n"
    "  {\"index\": 3, \"offset\": 3230, \"sealed_len\": 1020,"
    " \"plain_len\": 1000, \"tar_offset\": 196608, \"tar_len\": 65536}],\n"
    " \"index\": {\"inline\": false, \"object\": \"index.vgl\",\n"
    "   \"size\": 4096,\n"
    "   \"entries\": 0, \"encoding\": \"gzip\", \"sha256\":\n"
    "   \"00000000000000000000000000000000"
    "00000000000000000000000000000000\"}}\n";

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct manifest *m = NULL;
	struct ag_err err = { "" };

	(void)argc;
	(void)argv;
	fuzz_quiet();
	if (manifest_parse(base_manifest, strlen(base_manifest), &m, &err) !=
	    0)
		fuzz_fail("the base manifest does not parse: %s", err.msg);
	manifest_free(m);
	return 0;
}

/* The number of entries the input claims, as the manifest would say. */
static uint64_t
count_entries(const uint8_t *data, size_t size)
{
	json_t *root, *files;
	uint64_t n = 0;

	if ((root = json_loadb((const char *)data, size, 0, NULL)) == NULL)
		return 0;
	files = json_object_get(root, "files");
	if (json_is_array(files))
		n = json_array_size(files);
	json_decref(root);
	return n;
}

/* The selection, and the entries it saw, for stream_check(). */
struct seen {
	struct index_select *sel;
	uint64_t n;
};

static int
on_file(void *cookie, struct manifest_file *f, uint64_t i)
{
	struct seen *s = cookie;

	if (i != s->n)
		fuzz_fail("index reader: entry %" PRIu64 " after %" PRIu64, i,
		    s->n);
	s->n++;
	return index_select_file(s->sel, f, i);
}

/*
 * Stream ${data} through a reader of ${m} in pieces whose sizes the data
 * picks; ${ok} and ${nfiles}: what manifest_load_index() made of it, and
 * ${first} the path of its first entry (or NULL).
 */
static void
stream_check(const struct manifest *m, const uint8_t *data, size_t size,
    bool ok, size_t nfiles, const char *first)
{
	const char *paths[2] = { first != NULL ? first : "x", "no/such/path" };
	struct manifest_index_reader *rd;
	struct manifest_file *v = NULL;
	struct seen s = { 0 };
	struct ag_err err = { "" };
	size_t off = 0, piece, nv = 0;
	int rc = 0;

	if ((s.sel = index_select_new(paths, 2, 0, &err)) == NULL ||
	    (rd = manifest_index_reader_new(m, on_file, &s, &err)) == NULL)
		fuzz_fail("index reader: %s", err.msg);
	while (rc == 0 && off < size) {
		/* 1 to 256 bytes, as the byte there says. */
		piece = (size_t)data[off] + 1;
		if (piece > size - off)
			piece = size - off;
		rc = manifest_index_reader_feed(rd, data + off, piece, &err);
		off += piece;
	}
	if (rc == 0)
		rc = manifest_index_reader_end(rd, &err);
	if ((rc == 0) != ok)
		fuzz_fail("index streamed: %s, loaded whole: %s",
		    rc == 0 ? "accepted" : err.msg,
		    ok ? "accepted" : "refused");
	if (ok) {
		if (s.n != nfiles)
			fuzz_fail("index streamed: %" PRIu64
				  " entries, loaded "
				  "whole: %zu",
			    s.n, nfiles);
		for (size_t k = 0; k < 2; k++) {
			const struct manifest_file **sel = NULL;
			size_t nsel = 0, ndistinct = 0;

			if (manifest_select(m, paths[k], &sel, &nsel, &err) !=
			    0)
				fuzz_fail("manifest_select(): %s", err.msg);
			/* An entry selected by path and split_of: once. */
			for (size_t i = 0; i < nsel; i++)
				if (i == 0 || sel[i] != sel[i - 1])
					ndistinct++;
			free(sel);
			if (index_select_count(s.sel, k) != ndistinct)
				fuzz_fail(
				    "index streamed: \"%s\" selected %" PRIu64
				    " entries, the loaded index %zu",
				    paths[k], index_select_count(s.sel, k),
				    ndistinct);
		}
	}
	(void)index_select_hint(s.sel, 0);
	(void)index_select_hint(s.sel, 1);
	index_select_take(s.sel, &v, &nv);
	for (size_t i = 1; i < nv; i++)
		if (v[i].tar_offset <= v[i - 1].tar_offset)
			fuzz_fail("index_select_take(): not in tar order");
	for (size_t i = 0; i < nv; i++)
		manifest_file_clear(&v[i]);
	free(v);
	manifest_index_reader_free(rd);
	index_select_free(s.sel);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct manifest *m = NULL;
	struct ag_err err = { "" };

	if (manifest_parse(base_manifest, strlen(base_manifest), &m, &err) !=
	    0)
		fuzz_fail("the base manifest does not parse: %s", err.msg);
	if (crypto_sha256(data, size, m->index_sha256) != 0)
		fuzz_fail("crypto_sha256() failed");
	m->index_json_size = size;
	m->index_entries = count_entries(data, size);
	if (manifest_load_index(m, (const char *)data, size, &err) == 0) {
		fuzz_note("manifest_load_index: ok, %zu files", m->nfiles);
		if (!m->files_loaded || m->nfiles != m->index_entries)
			fuzz_fail("manifest_load_index(): %zu entries loaded, "
				  "%s",
			    m->nfiles,
			    m->files_loaded ? "loaded" : "not marked loaded");
		fuzz_check_manifest(m);
		stream_check(m, data, size, true, m->nfiles,
		    m->nfiles > 0 ? m->files[0].path : NULL);
	} else {
		fuzz_note("manifest_load_index: %s", err.msg);
		if (err.msg[0] == '\0')
			fuzz_fail("manifest_load_index() failed without a "
				  "message");
		if (m->files_loaded)
			fuzz_fail("manifest_load_index() failed (%s) but left "
				  "an index loaded",
			    err.msg);
		stream_check(m, data, size, false, 0, NULL);
	}
	manifest_free(m);
	return 0;
}
