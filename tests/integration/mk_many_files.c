/*
 * mk_many_files.c: write a backup of N empty files straight into local
 * storage, for tests that need a huge file index fast.
 *
 *   mk_many_files STORE KEYFILE JOB N
 *
 * Backing up a million real files takes minutes (creating them, then
 * reading them through the archive stage); this makes the same backup in
 * seconds.  The tar stream is written here (one ustar header per file,
 * "d<NN>/f<NNNNNN>" with 100 files per folder, no folder entries), and
 * everything after it is vigil's own pipeline as the job runner uses it:
 * the compress, encrypt and upload stages for data.vgl, the manifest
 * writer fed from the stages' callbacks and with one index entry per file
 * (spilled to a temporary file), index.vgl cut into gzip members and
 * sealed, and the manifest sealed and stored last.  Prints the backup id.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/ag.h"
#include "lib/clock.h"
#include "lib/crypto/crypto.h"
#include "lib/crypto/crypto_hash.h"
#include "lib/crypto/crypto_keys.h"
#include "providers/storage.h"
#include "backup/format.h"
#include "backup/manifest.h"
#include "backup/stage.h"
#include "backup/st_archive.h"
#include "backup/st_compress.h"
#include "backup/st_encrypt.h"
#include "backup/st_upload.h"
#include "tests/unit/fakes/testutil.h"

#define SLICE ((size_t)4 << 20)
#define BATCH ((size_t)1 << 20) /* tar bytes per stage_write */

static struct manifest_writer *mw;

static void
on_member(void *cookie, const struct st_compress_member *m)
{
	(void)cookie;
	manifest_writer_member(mw, m);
}

static void
on_chunk(void *cookie, const struct st_encrypt_chunk *c)
{
	(void)cookie;
	manifest_writer_chunk(mw, c);
}

static int
die(const char *what, const struct ag_err *err)
{
	fprintf(stderr, "mk_many_files: %s: %s\n", what,
	    err != NULL ? err->msg : strerror(errno));
	exit(1);
}

/*
 * A chain compress -> encrypt -> upload into object ${okey} of kind
 * ${kind}, slices of ${slice}; the callbacks feed the manifest writer when
 * ${record}.  Store the encrypt stage in ${ret_enc}.
 */
static struct stage *
chain_new(struct storage *st, const struct crypto_key *key,
    const uint8_t dk[32], enum format_kind kind, const char *id,
    const char *okey, size_t slice, int record, struct stage **ret_enc,
    uint8_t *header, size_t *ret_hlen)
{
	struct st_upload_conf uc = { .part_size = (size_t)1 << 20 };
	struct st_encrypt_conf ec = { .on_chunk = on_chunk };
	struct st_compress_conf cc = { .slice_size = slice,
		.level = 1,
		.workers = 2,
		.on_member = record ? on_member : NULL };
	struct format_object *obj;
	struct stage *up, *enc, *top;
	struct ag_err err = { "" };
	const uint8_t *h;

	if ((up = st_upload_new(st, okey, &uc, &err)) == NULL)
		die("upload stage", &err);
	if ((obj = format_seal_new(key, dk, kind, id,
		 (uint32_t)st_compress_bound(slice), &err)) == NULL)
		die("seal", &err);
	if (header != NULL) {
		h = format_object_header(obj, ret_hlen);
		memcpy(header, h, *ret_hlen);
	}
	if ((enc = st_encrypt_new(up, obj, record ? &ec : NULL, &err)) == NULL)
		die("encrypt stage", &err);
	if ((top = st_compress_new(enc, &cc, &err)) == NULL)
		die("compress stage", &err);
	*ret_enc = enc;
	return top;
}

static int
index_piece(void *cookie, const uint8_t *buf, size_t len)
{
	return stage_write(cookie, buf, len);
}

int
main(int argc, char **argv)
{
	struct storage_conf *sc;
	struct storage *st;
	struct crypto_key *key;
	struct crypto_hash *hash;
	struct manifest_head mh = { 0 };
	struct manifest_totals t = { 0 };
	struct st_archive_entry e = { .type = S_IFREG,
		.mode = 0644,
		.mtime = 1700000000 };
	struct ag_err err = { "" };
	struct stage *top, *enc, *itop, *ienc;
	char id[FORMAT_BACKUP_ID_SIZE], name[32];
	char dkey[STORAGE_KEY_MAX], ikey[STORAGE_KEY_MAX];
	char mkey[STORAGE_KEY_MAX];
	uint8_t dk[32], header[FORMAT_HEADER_MAX], *buf, *sealed;
	const char *tmp = getenv("TMPDIR");
	size_t hlen = 0, fill = 0, jlen, slen;
	uint64_t n, off = 0, stored;
	char *json;

	if (argc != 5 || (n = strtoull(argv[4], NULL, 10)) == 0) {
		fprintf(stderr, "usage: mk_many_files STORE KEYFILE JOB N\n");
		return 2;
	}
	if ((sc = storage_conf_local("here", argv[1])) == NULL ||
	    storage_open(sc, &st, &err) != 0)
		die("storage", &err);
	storage_conf_free(sc);
	if ((key = crypto_keys_load_keyfile(argv[2], &err)) == NULL)
		die("key", &err);
	if (crypto_random(dk, sizeof(dk)) != 0 ||
	    format_backup_id_new(time(NULL) - 60, id) != 0 ||
	    format_object_name(NULL, argv[3], id, FORMAT_KIND_DATA, dkey,
		sizeof(dkey)) != 0 ||
	    format_object_name(NULL, argv[3], id, FORMAT_KIND_INDEX, ikey,
		sizeof(ikey)) != 0 ||
	    format_object_name(NULL, argv[3], id, FORMAT_KIND_MANIFEST, mkey,
		sizeof(mkey)) != 0)
		die("backup id", NULL);
	mh = (struct manifest_head){ .job = argv[3],
		.host = "mk",
		.backup_id = id,
		.start_ms = clock_wall_ms(),
		.compress_level = 1,
		.slice_size = SLICE,
		.spill_dir = tmp != NULL ? tmp : "/tmp" };
	if ((mw = manifest_writer_new(&mh, &err)) == NULL)
		die("manifest", &err);
	if ((hash = crypto_hash_sha256_new()) == NULL ||
	    (buf = calloc(1, BATCH + 1024)) == NULL)
		die("memory", NULL);

	top = chain_new(st, key, dk, FORMAT_KIND_DATA, id, dkey, SLICE, 1,
	    &enc, header, &hlen);
	for (uint64_t i = 0; i <= n; i++) {
		if (fill >= BATCH || i == n) {
			if (i == n) {
				/* The end of the archive: two zero blocks. */
				memset(buf + fill, 0, 1024);
				fill += 1024;
			}
			if (crypto_hash_update(hash, buf, fill) != 0 ||
			    stage_write(top, buf, fill) != 0)
				die("data", NULL);
			off += fill;
			fill = 0;
		}
		if (i == n)
			break;
		snprintf(name, sizeof(name), "d%02u/f%06u",
		    (unsigned)(i / 100 % 100), (unsigned)i);
		tu_tar_header(buf + fill, name, '0', 0, NULL);
		e.path = name;
		e.offset = off + fill;
		e.length = 512;
		manifest_writer_entry(mw, &e, "root", "root");
		fill += 512;
	}
	if (stage_close(top) != 0)
		die("data", NULL);
	t = (struct manifest_totals){ .end_ms = clock_wall_ms(),
		.files = n,
		.tar_size = off,
		.data_size = st_encrypt_size(enc),
		.data_header = header,
		.data_header_len = hlen,
		.chunk_size = (uint32_t)st_compress_bound(SLICE) };
	if (crypto_hash_final(hash, t.tar_sha256) != 0 ||
	    manifest_writer_finish(mw, &t, &err) != 0)
		die("manifest", &err);
	stage_free_chain(top);

	if (manifest_writer_index_separate(mw)) {
		itop = chain_new(st, key, dk, FORMAT_KIND_INDEX, id, ikey,
		    MANIFEST_INDEX_SLICE, 0, &ienc, NULL, NULL);
		if (manifest_writer_index_read(mw, index_piece, itop, &err) !=
			0 ||
		    stage_close(itop) != 0)
			die("index", &err);
		manifest_writer_set_index(mw, st_encrypt_size(ienc),
		    MANIFEST_INDEX_GZIP);
		stage_free_chain(itop);
	}
	if (manifest_writer_json(mw, hlen, &json, &jlen, &stored, &err) != 0 ||
	    format_manifest_seal(key, dk, id, json, jlen, &sealed, &slen,
		&err) != 0 ||
	    storage_put(st, mkey, sealed, slen, &err) != 0)
		die("manifest", &err);
	printf("%s\n", id);
	free(sealed);
	free(json);
	free(buf);
	crypto_hash_free(hash);
	manifest_writer_free(mw);
	crypto_keys_free(key);
	storage_close(st);
	return 0;
}
