/*
 * fuzz_manifest.c: fuzzing target for the manifest parser.
 *
 * The input is the JSON of a manifest.vgl (what `vigil decrypt --key K <
 * manifest.vgl` prints).  A manifest is authenticated, but a reader must
 * still survive one written by a buggy or newer vigil, so manifest_parse()
 * checks everything it relies on; fuzz_check_manifest() then uses the
 * result the way list and restore do.  Separate index objects go through
 * fuzz_index.c.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <stdint.h>

#include "backup/manifest.h"
#include "lib/ag.h"

#include "tests/fuzz/fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct manifest *m = NULL;
	struct ag_err err = { "" };

	if (manifest_parse((const char *)data, size, &m, &err) != 0) {
		fuzz_note("manifest_parse: %s", err.msg);
		if (err.msg[0] == '\0')
			fuzz_fail("manifest_parse() failed without a message");
		return 0;
	}
	fuzz_note("manifest_parse: ok, %zu chunks, %zu files%s", m->nchunks,
	    m->nfiles, m->files_loaded ? "" : " (index not inline)");
	fuzz_check_manifest(m);
	manifest_free(m);
	return 0;
}
