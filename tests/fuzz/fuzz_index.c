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
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

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
	if (manifest_parse(base_manifest, strlen(base_manifest), &m,
	    &err) != 0)
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

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct manifest *m = NULL;
	struct ag_err err = { "" };

	if (manifest_parse(base_manifest, strlen(base_manifest), &m,
	    &err) != 0)
		fuzz_fail("the base manifest does not parse: %s", err.msg);
	if (crypto_sha256(data, size, m->index_sha256) != 0)
		fuzz_fail("crypto_sha256() failed");
	m->index_json_size = size;
	m->index_entries = count_entries(data, size);
	if (manifest_load_index(m, (const char *)data, size, &err) == 0) {
		fuzz_note("manifest_load_index: ok, %zu files", m->nfiles);
		if (!m->files_loaded || m->nfiles != m->index_entries)
			fuzz_fail("manifest_load_index(): %zu entries loaded, "
			    "%s", m->nfiles, m->files_loaded ? "loaded" :
			    "not marked loaded");
		fuzz_check_manifest(m);
	} else if (fuzz_note("manifest_load_index: %s", err.msg),
	    err.msg[0] == '\0') {
		fuzz_fail("manifest_load_index() failed without a message");
	} else if (m->files_loaded) {
		fuzz_fail("manifest_load_index() failed (%s) but left an "
		    "index loaded", err.msg);
	}
	manifest_free(m);
	return 0;
}
