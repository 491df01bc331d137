/*
 * tarseal.c: see tarseal.h.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "lib/ag.h"
#include "lib/clock.h"
#include "lib/crypto/crypto.h"
#include "providers/storage.h"
#include "backup/format.h"
#include "backup/manifest.h"
#include "backup/stage.h"
#include "backup/st_archive.h"
#include "backup/st_compress.h"
#include "backup/st_encrypt.h"
#include "backup/st_upload.h"
#include "tests/unit/fakes/testutil.h"
#include "tests/unit/fakes/tarseal.h"

struct crafted {
	struct manifest_writer *mw;
};

static void
cr_member(void *cookie, const struct st_compress_member *m)
{
	manifest_writer_member(((struct crafted *)cookie)->mw, m);
}

static void
cr_chunk(void *cookie, const struct st_encrypt_chunk *c)
{
	manifest_writer_chunk(((struct crafted *)cookie)->mw, c);
}

/**
 * tu_seal_tar(st, key, job, slice, tar, len, bad_sha, ents, nents, ret_id):
 * Seal the ${len} bytes of tar stream at ${tar} as a new backup of ${job}
 * in ${st} with ${key} and store its id in ${ret_id}: data.vgl through the
 * real compress (${slice}-byte slices), encrypt and upload stages, the
 * manifest last, with the ${nents} file index entries ${ents} exactly as
 * given (none: no file index).  With ${bad_sha}, the manifest records a
 * wrong tar sha256.
 */
void
tu_seal_tar(struct storage *st, const struct crypto_key *key, const char *job,
    size_t slice, const uint8_t *tar, size_t len, bool bad_sha,
    const struct st_archive_entry *ents, size_t nents,
    char ret_id[FORMAT_BACKUP_ID_SIZE])
{
	struct crafted cr = { 0 };
	struct manifest_head mh = { 0 };
	struct manifest_totals t = { 0 };
	struct st_upload_conf uc = { 0 };
	struct st_encrypt_conf ec = { .on_chunk = cr_chunk, .cookie = &cr };
	struct st_compress_conf cc = { .slice_size = slice,
		.level = 6,
		.workers = 1,
		.on_member = cr_member,
		.cookie = &cr };
	struct format_object *obj;
	struct stage *up, *enc, *top;
	struct ag_err err = { "" };
	char dkey[STORAGE_KEY_MAX], mkey[STORAGE_KEY_MAX];
	uint8_t dk[32], header[FORMAT_HEADER_MAX], *sealed;
	const uint8_t *h;
	size_t hlen, jlen = 0, slen;
	uint64_t stored;
	char *json = NULL;

	assert_int_equal(crypto_random(dk, sizeof(dk)), 0);
	assert_int_equal(format_backup_id_new(time(NULL) - 3600, ret_id), 0);
	assert_int_equal(format_object_name(NULL, job, ret_id,
			     FORMAT_KIND_DATA, dkey, sizeof(dkey)),
	    0);
	assert_int_equal(format_object_name(NULL, job, ret_id,
			     FORMAT_KIND_MANIFEST, mkey, sizeof(mkey)),
	    0);
	mh = (struct manifest_head){ .job = job,
		.host = "crafted",
		.backup_id = ret_id,
		.start_ms = clock_wall_ms(),
		.compress_level = 6,
		.slice_size = slice,
		.spill_dir = tu_tmpdir() };
	assert_non_null(cr.mw = manifest_writer_new(&mh, &err));
	assert_non_null(up = st_upload_new(st, dkey, &uc, &err));
	assert_non_null(obj = format_seal_new(key, dk, FORMAT_KIND_DATA,
			    ret_id, (uint32_t)st_compress_bound(slice), &err));
	h = format_object_header(obj, &hlen);
	memcpy(header, h, hlen);
	assert_non_null(enc = st_encrypt_new(up, obj, &ec, &err));
	assert_non_null(top = st_compress_new(enc, &cc, &err));
	assert_int_equal(stage_write(top, tar, len), 0);
	assert_int_equal(stage_close(top), 0);
	for (size_t i = 0; i < nents; i++)
		manifest_writer_entry(cr.mw, &ents[i], "root", "root");
	t = (struct manifest_totals){ .end_ms = clock_wall_ms(),
		.tar_size = len,
		.data_size = st_encrypt_size(enc),
		.data_header = header,
		.data_header_len = hlen,
		.chunk_size = (uint32_t)st_compress_bound(slice) };
	assert_int_equal(crypto_sha256(tar, len, t.tar_sha256), 0);
	if (bad_sha)
		t.tar_sha256[0] ^= 1;
	if (manifest_writer_finish(cr.mw, &t, &err) != 0 ||
	    manifest_writer_json(cr.mw, hlen, &json, &jlen, &stored, &err) !=
		0)
		fail_msg("manifest: %s", err.msg);
	assert_int_equal(format_manifest_seal(key, dk, ret_id, json, jlen,
			     &sealed, &slen, &err),
	    0);
	assert_int_equal(storage_put(st, mkey, sealed, slen, &err), 0);
	free(sealed);
	free(json);
	stage_free_chain(top);
	manifest_writer_free(cr.mw);
}
