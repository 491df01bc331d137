/*
 * fuzz_format.c: fuzzing target for sealed objects (data.vgl,
 * manifest.vgl, index.vgl): the header parser and the chunk readers.
 *
 * The input is an object.  It is opened with the known-answer keys of
 * tests/vectors/ (key file 00..1f; X25519 private key RFC 7748 "Bob"; the
 * passphrase "correct horse battery staple" when the header's scrypt costs
 * are small), so the vectors and backups made with that key file are seeds
 * that open completely, and mutations explore every later check.  Every
 * path that reads objects runs on it, and they must agree:
 *
 *  - format_header_peek() and format_header_info();
 *  - a format_reader fed the whole input at once, and a second one fed
 *    the same bytes in pieces of pseudo-random sizes: same outcome, same
 *    message, same plaintext (the reader buffers across pieces);
 *  - format_open_buffer() (manifests): succeeds exactly when the reader
 *    does, with the same plaintext;
 *  - format_open_new() and format_open_chunk() at the offsets the length
 *    words give (single-file restore's Range GETs): opens exactly the
 *    chunks the reader delivered, with the same plaintext.
 *
 * Most mutations of a header only break its SHA-256 checksum, so every
 * input whose header length is plausible runs a second time with the
 * checksum recomputed: that reaches the field checks and the key unwrap.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "lib/backup_id.h"
#include "backup/format.h"
#include "lib/ag.h"
#include "lib/crypto/crypto.h"
#include "lib/crypto/crypto_keys.h"

#include "tests/fuzz/fuzz.h"

/* Inputs larger than this only slow the fuzzer down. */
#define FORMAT_INPUT_MAX (1u << 20)
/* Chunks whose plaintext hashes are kept for comparison. */
#define FORMAT_CHUNKS_KEPT 1024
/* scrypt N * r * p above this is too slow to run per input. */
#define FORMAT_SCRYPT_WORK_MAX 8192

static const uint8_t x25519_bob[32] = { 0x5d, 0xab, 0x08, 0x7e, 0x62, 0x4a,
	0x8a, 0x4b, 0x79, 0xe1, 0x7f, 0x8b, 0x83, 0x80, 0x0e, 0xe6, 0x6f, 0x3b,
	0xb1, 0x29, 0x26, 0x18, 0xb6, 0xfd, 0x1c, 0x2f, 0x8b, 0x27, 0xff, 0x88,
	0xe0, 0xeb };
static const char passphrase[] = "correct horse battery staple";

static struct crypto_key *key_file, *key_pass, *key_x25519;

/* What one way of reading an object produced. */
struct outcome {
	int rc; /* 0: the object read whole */
	char msg[AG_ERR_SIZE];
	uint64_t nchunks; /* delivered by the callback */
	uint64_t hash;	  /* of all plaintext, in order */
	uint64_t total;	  /* plaintext bytes */
	bool final_seen;
	uint32_t chunk_size;
	uint64_t chunk_hash[FORMAT_CHUNKS_KEPT];
};

static uint64_t
fnv(uint64_t h, const uint8_t *p, size_t n)
{
	if (h == 0)
		h = 0xcbf29ce484222325ULL;
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 0x100000001b3ULL;
	return h;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct ag_err err = { "" };
	uint8_t raw[32];

	(void)argc;
	(void)argv;
	fuzz_quiet();
	for (int i = 0; i < 32; i++)
		raw[i] = (uint8_t)i;
	key_file = crypto_keys_from_raw(CRYPTO_KEY_FILE, raw, 32, &err);
	key_x25519 = crypto_keys_from_raw(CRYPTO_KEY_X25519, x25519_bob, 32,
	    &err);
	key_pass = crypto_keys_from_raw(CRYPTO_KEY_PASSPHRASE,
	    (const uint8_t *)passphrase, strlen(passphrase), &err);
	if (key_file == NULL || key_x25519 == NULL || key_pass == NULL)
		fuzz_fail("cannot make the test keys: %s", err.msg);
	return 0;
}

/* The format_reader callback: check the order, hash the plaintext. */
static int
on_chunk(void *cookie, uint64_t index, const uint8_t *pt, size_t len,
    int final)
{
	struct outcome *o = cookie;

	if (o->final_seen)
		fuzz_fail("format_reader: chunk %" PRIu64 " after the final "
			  "one",
		    index);
	if (index != o->nchunks)
		fuzz_fail("format_reader: chunk %" PRIu64 " where %" PRIu64
			  " was due",
		    index, o->nchunks);
	if (len > o->chunk_size)
		fuzz_fail("format_reader: chunk %" PRIu64 " has %zu bytes, "
			  "more than the chunk size %" PRIu32,
		    index, len, o->chunk_size);
	if (len == 0 && !final)
		fuzz_fail("format_reader: empty chunk %" PRIu64 " not final",
		    index);
	if (index < FORMAT_CHUNKS_KEPT)
		o->chunk_hash[index] = fnv(0, pt, len);
	o->hash = fnv(o->hash, pt, len);
	o->total += len;
	o->final_seen = final != 0;
	o->nchunks++;
	return 0;
}

/* Pick the key that can open a header of ${info} (NULL: skip). */
static const struct crypto_key *
pick_key(const struct format_info *info, bool info_ok)
{
	uint64_t work;

	if (!info_ok)
		return key_file;
	switch (info->wrap_mode) {
	case CRYPTO_KEY_PASSPHRASE:
		work = ((uint64_t)1 << info->scrypt_log2n) *
		    (uint64_t)info->scrypt_r * info->scrypt_p;
		/* The key file is refused at once: wrong mode. */
		return work <= FORMAT_SCRYPT_WORK_MAX ? key_pass : key_file;
	case CRYPTO_KEY_X25519:
		return key_x25519;
	default:
		return key_file;
	}
}

static void
read_whole(const struct crypto_key *key, const uint8_t *data, size_t size,
    struct outcome *o)
{
	struct format_reader *rd;
	struct ag_err err = { "" };

	if ((rd = format_reader_new(key, 0, on_chunk, o)) == NULL)
		fuzz_fail("format_reader_new() failed");
	o->rc = format_reader_feed(rd, data, size, &err);
	if (o->rc == 0)
		o->rc = format_reader_end(rd, &err);
	snprintf(o->msg, sizeof(o->msg), "%s", err.msg);
	if (format_reader_offset(rd) > size)
		fuzz_fail("format_reader_offset() %" PRIu64 " beyond the %zu "
			  "bytes fed",
		    format_reader_offset(rd), size);
	format_reader_free(rd);
}

static void
read_pieces(const struct crypto_key *key, const uint8_t *data, size_t size,
    struct outcome *o)
{
	struct format_reader *rd;
	struct ag_err err = { "" };
	uint64_t x = 0x9e3779b97f4a7c15ULL ^ size;
	size_t off = 0, n;

	if ((rd = format_reader_new(key, 0, on_chunk, o)) == NULL)
		fuzz_fail("format_reader_new() failed");
	o->rc = 0;
	while (o->rc == 0 && off < size) {
		/* xorshift64: mostly small pieces, now and then a big one. */
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		n = (x & 7) == 0 ? (size_t)(x >> 8) % 4096 :
				   (size_t)(x >> 8) % 23;
		if (n > size - off)
			n = size - off;
		/* Empty pieces are legal and must change nothing. */
		o->rc = format_reader_feed(rd, data + off, n, &err);
		off += n;
	}
	if (o->rc == 0)
		o->rc = format_reader_end(rd, &err);
	snprintf(o->msg, sizeof(o->msg), "%s", err.msg);
	format_reader_free(rd);
}

static uint32_t
le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

/* Random access: open chunk after chunk where the length words say. */
static void
walk_chunks(const struct crypto_key *key, const uint8_t *data, size_t size,
    const struct outcome *whole)
{
	struct format_object *obj;
	struct ag_err err = { "" };
	const struct format_info *info;
	uint64_t i = 0;
	size_t off;

	if ((obj = format_open_new(key, data, size, 0, &err)) == NULL)
		return;
	info = format_object_info(obj);
	off = info->header_len;
	while (size - off >= FORMAT_CHUNK_OVERHEAD) {
		uint32_t w = le32(data + off);
		size_t n = w & ~FORMAT_CHUNK_FINAL, len, sealed;
		uint8_t *out;
		int final = 0;

		sealed = n + FORMAT_CHUNK_OVERHEAD;
		if (sealed > size - off)
			break;
		out = fuzz_oom(malloc(n > 0 ? n : 1));
		if (format_open_chunk(obj, i, data + off, sealed, out, &len,
			&final, &err) != 0) {
			free(out);
			break;
		}
		if (len != n ||
		    (final != 0) != ((w & FORMAT_CHUNK_FINAL) != 0))
			fuzz_fail("format_open_chunk(%" PRIu64 "): %zu bytes, "
				  "final %d, but the length word is 0x%08x",
			    i, len, final, (unsigned)w);
		if (i >= whole->nchunks)
			fuzz_fail("format_open_chunk() opened chunk %" PRIu64
				  " that the reader did not deliver (%s)",
			    i, whole->msg);
		if (i < FORMAT_CHUNKS_KEPT &&
		    fnv(0, out, len) != whole->chunk_hash[i])
			fuzz_fail("format_open_chunk(%" PRIu64 ") and the "
				  "reader disagree on the plaintext",
			    i);
		free(out);
		off += sealed;
		i++;
		if (final)
			break;
	}
	/* The reader stops at the first bad chunk; so does this walk. */
	if (i < whole->nchunks)
		fuzz_fail("format_open_chunk() failed at chunk %" PRIu64 " of "
			  "%" PRIu64 " the reader delivered: %s",
		    i, whole->nchunks, err.msg);
	format_object_free(obj);
}

static void
run_object(const uint8_t *data, size_t size)
{
	struct outcome *a, *b;
	struct format_info info;
	struct ag_err err = { "" };
	const struct crypto_key *key;
	size_t hlen = 0, outlen = 0;
	char *out = NULL;
	bool info_ok;
	int rc;

	rc = format_header_peek(data, size, &hlen, &err);
	if (rc == 0 && (hlen < FORMAT_HEADER_PEEK || hlen > FORMAT_HEADER_MAX))
		fuzz_fail("format_header_peek(): header length %zu", hlen);
	info_ok = format_header_info(data, size, &info, &err) == 0;
	if (info_ok &&
	    (info.header_len > size || info.chunk_size == 0 ||
		info.chunk_size > FORMAT_CHUNK_SIZE_MAX))
		fuzz_fail("format_header_info(): header %zu of %zu bytes, "
			  "chunk size %" PRIu32,
		    info.header_len, size, info.chunk_size);
	key = pick_key(&info, info_ok);

	a = fuzz_oom(calloc(1, sizeof(*a)));
	b = fuzz_oom(calloc(1, sizeof(*b)));
	a->chunk_size = b->chunk_size = info_ok ? info.chunk_size :
						  FORMAT_CHUNK_SIZE_MAX;
	read_whole(key, data, size, a);
	read_pieces(key, data, size, b);
	fuzz_note("format: header %s; reader %d %s, %" PRIu64
		  " chunks, %" PRIu64 " bytes",
	    info_ok ? "ok" : err.msg, a->rc, a->rc == 0 ? "ok" : a->msg,
	    a->nchunks, a->total);
	if (a->rc != b->rc || strcmp(a->msg, b->msg) != 0 ||
	    a->nchunks != b->nchunks || a->hash != b->hash)
		fuzz_fail("format_reader: whole input gave %d \"%s\" (%" PRIu64
			  " chunks), pieces gave %d \"%s\" (%" PRIu64
			  " chunks)",
		    a->rc, a->msg, a->nchunks, b->rc, b->msg, b->nchunks);
	if (a->rc == 0 && !a->final_seen)
		fuzz_fail("format_reader: object ended without a final chunk");

	rc = format_open_buffer(key, 0, data, size, &out, &outlen, NULL, &err);
	if ((rc == 0) != (a->rc == 0))
		fuzz_fail("format_open_buffer() says %d \"%s\", the reader %d "
			  "\"%s\"",
		    rc, rc == 0 ? "" : err.msg, a->rc, a->msg);
	if (rc == 0) {
		if (outlen != a->total ||
		    fnv(0, (const uint8_t *)out, outlen) != a->hash)
			fuzz_fail("format_open_buffer() and the reader "
				  "disagree on the plaintext");
		if (out[outlen] != '\0')
			fuzz_fail("format_open_buffer(): no NUL after the "
				  "plaintext");
	}
	free(out);

	walk_chunks(key, data, size, a);
	free(a);
	free(b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ag_err err = { "" };
	size_t hlen = 0;
	uint8_t *fixed;
	char id[64];

	if (size > FORMAT_INPUT_MAX)
		return 0;
	run_object(data, size);

	/* The same bytes as a backup id (object names come from listings). */
	snprintf(id, sizeof(id), "%.*s", (int)(size < 40 ? size : 40),
	    (const char *)data);
	(void)format_backup_id_parse(id, NULL);
	(void)backup_id_parse(id, NULL);

	/* Again with a valid header checksum, to get past it. */
	if (format_header_peek(data, size, &hlen, &err) != 0 || hlen > size ||
	    hlen < FORMAT_HEADER_PEEK + CRYPTO_SHA256_LEN)
		return 0;
	fixed = fuzz_oom(malloc(size));
	memcpy(fixed, data, size);
	if (crypto_sha256(fixed, hlen - CRYPTO_SHA256_LEN,
		fixed + hlen - CRYPTO_SHA256_LEN) != 0)
		fuzz_fail("crypto_sha256() failed");
	if (memcmp(fixed, data, hlen) != 0)
		run_object(fixed, size);
	free(fixed);
	return 0;
}
