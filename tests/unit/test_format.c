/*
 * test_format.c: backup/format.c, the backup object format.
 *
 * Known answers: objects built from the fixed inputs below must equal the
 * files in tests/vectors/ byte for byte and open to the known plaintext,
 * so no change can silently make old backups unreadable.  (Run with
 * VIGIL_REGEN_VECTORS=1 to rewrite the files after a deliberate format
 * change; then also bump the format version.)  Then tampering: every way of
 * damaging an object must fail with its one documented message, whether
 * the reader is fed the object whole, byte by byte or in odd pieces.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "lib/ag.h"
#include "lib/crypto/crypto.h"
#include "lib/crypto/crypto_aead.h"
#include "lib/crypto/crypto_keys.h"
#include "lib/crypto/crypto_sign.h"

#include "backup/format.h"

/* ---- fixed inputs of the known-answer vectors (tests/vectors/README) ---- */

static const char vec_id[] = "2026-11-22T030000Z-3f9a";
static const char vec_pt[] =
    "vigil backup format 1.0 known-answer object, three chunks of 32 bytes!";
static const char vec_manifest[] = "{\"format\":1,\"job\":\"nightly\","
				   "\"backup_id\":\"2026-11-22T030000Z-3f9a\"}";
static const char vec_pass[] = "correct horse battery staple";
/* RFC 7748 section 6.1: Bob is the recipient, Alice the ephemeral key. */
static const char vec_x25519_priv[] =
    "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb";
static const char vec_x25519_eph[] =
    "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a";
/* RFC 8032 section 7.1, tests 1 and 2: the signer and another one. */
static const char vec_signer[] =
    "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
static const char vec_signer_pub[] =
    "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
static const char vec_other_signer[] =
    "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb";
#define VEC_CHUNK 32

static const char *mode_file[] = { NULL, "keyfile", "passphrase", "x25519" };

static void
seq(uint8_t *p, size_t len, uint8_t start)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(start + i);
}

static void
unhex(const char *hex, uint8_t *out, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned v;

		assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
}

static void
vec_data_key(uint8_t dk[32])
{
	seq(dk, 32, 0xa0);
}

static void
vec_fixed(struct format_seal_fixed *fx)
{
	seq(fx->object_salt, sizeof(fx->object_salt), 0xc0);
	seq(fx->wrap_nonce, sizeof(fx->wrap_nonce), 0xd0);
	seq(fx->kdf_salt, sizeof(fx->kdf_salt), 0xe0);
	unhex(vec_x25519_eph, fx->ephemeral, 32);
}

/* The fixed long-term key of ${mode}. */
static struct crypto_key *
vec_key(unsigned mode)
{
	struct ag_err err = { "" };
	struct crypto_key *k = NULL;
	uint8_t b[32];

	switch (mode) {
	case CRYPTO_KEY_FILE:
		seq(b, 32, 0x00);
		k = crypto_keys_from_raw(CRYPTO_KEY_FILE, b, 32, &err);
		break;
	case CRYPTO_KEY_PASSPHRASE:
		k = crypto_keys_from_raw(CRYPTO_KEY_PASSPHRASE,
		    (const uint8_t *)vec_pass, strlen(vec_pass), &err);
		assert_non_null(k);
		assert_int_equal(crypto_keys_set_scrypt(k, 10, 8, 1, &err), 0);
		break;
	case CRYPTO_KEY_X25519:
		unhex(vec_x25519_priv, b, 32);
		k = crypto_keys_from_raw(CRYPTO_KEY_X25519, b, 32, &err);
		break;
	}
	assert_non_null(k);
	return k;
}

/* A different key of the same mode. */
static struct crypto_key *
other_key(unsigned mode)
{
	struct ag_err err = { "" };
	struct crypto_key *k = NULL;
	uint8_t b[32];

	seq(b, 32, 0x55);
	if (mode == CRYPTO_KEY_PASSPHRASE) {
		k = crypto_keys_from_raw(mode, (const uint8_t *)"Tr0ub4dor&3",
		    11, &err);
		assert_non_null(k);
		assert_int_equal(crypto_keys_set_scrypt(k, 10, 8, 1, &err), 0);
	} else
		k = crypto_keys_from_raw(mode, b, 32, &err);
	assert_non_null(k);
	return k;
}

/* ---- file helpers ---- */

static const char *
vec_path(const char *name)
{
	static char path[512];
	const char *d = getenv("VIGIL_TEST_DATA");

	if (d != NULL)
		snprintf(path, sizeof(path), "%s/../vectors/%s", d, name);
	else
		snprintf(path, sizeof(path), "vectors/%s", name);
	return path;
}

static uint8_t *
slurp(const char *path, size_t *ret_len)
{
	FILE *f;
	uint8_t *buf;
	long n;

	if ((f = fopen(path, "rb")) == NULL)
		fail_msg("cannot open %s (run the tests from tests/ or set "
			 "VIGIL_TEST_DATA)",
		    path);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n >= 0);
	rewind(f);
	assert_non_null(buf = malloc((size_t)n + 1));
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*ret_len = (size_t)n;
	return buf;
}

/* Compare ${buf} with the vector ${name}, or write it when regenerating. */
static void
check_vector(const char *name, const uint8_t *buf, size_t len)
{
	uint8_t *want;
	size_t wlen;

	if (getenv("VIGIL_REGEN_VECTORS") != NULL) {
		FILE *f = fopen(vec_path(name), "wb");

		assert_non_null(f);
		assert_int_equal(fwrite(buf, 1, len, f), len);
		assert_int_equal(fclose(f), 0);
	}
	want = slurp(vec_path(name), &wlen);
	if (wlen != len || memcmp(want, buf, len) != 0)
		fail_msg("%s: the format changed: rebuilding from the fixed "
			 "inputs no longer gives the stored bytes",
		    name);
	free(want);
}

/* ---- building objects ---- */

struct obj {
	uint8_t *buf;
	size_t len;
	size_t hlen;
	size_t off[64];	 /* chunk offsets */
	size_t slen[64]; /* sealed lengths */
	unsigned nchunks;
};

/*
 * Seal ${pt} into an object of ${kind} in ${chunk}-byte chunks; with ${fx}
 * use the fixed values, else random ones.
 */
static void
build(struct obj *o, const struct crypto_key *key, const uint8_t dk[32],
    enum format_kind kind, uint32_t chunk, const struct format_seal_fixed *fx,
    const void *pt, size_t len)
{
	struct ag_err err = { "" };
	struct format_object *w;
	const uint8_t *h;
	size_t pos, off = 0, n, sl;
	unsigned i;

	if (fx != NULL)
		w = format_seal_new_fixed(key, dk, kind, vec_id, chunk, fx,
		    &err);
	else
		w = format_seal_new(key, dk, kind, vec_id, chunk, &err);
	if (w == NULL)
		fail_msg("seal_new: %s", err.msg);
	h = format_object_header(w, &o->hlen);
	o->nchunks = len == 0 ? 1 : (unsigned)((len + chunk - 1) / chunk);
	assert_true(o->nchunks <= 64);
	o->len = o->hlen + len + o->nchunks * FORMAT_CHUNK_OVERHEAD;
	assert_non_null(o->buf = malloc(o->len));
	memcpy(o->buf, h, o->hlen);
	pos = o->hlen;
	for (i = 0; i < o->nchunks; i++) {
		n = len - off < chunk ? len - off : chunk;
		assert_int_equal(format_seal_chunk(w, i, i + 1 == o->nchunks,
				     (const uint8_t *)pt + off, n,
				     o->buf + pos, &sl),
		    0);
		assert_int_equal(sl, n + FORMAT_CHUNK_OVERHEAD);
		o->off[i] = pos;
		o->slen[i] = sl;
		off += n;
		pos += sl;
	}
	assert_int_equal(pos, o->len);
	format_object_free(w);
}

/* ---- reading objects ---- */

struct sink {
	uint8_t *buf;
	size_t len, cap;
	uint64_t next;
	int finals;
	int stop_at; /* return 7 at this chunk, or -1 */
};

static int
sink_chunk(void *cookie, uint64_t index, const uint8_t *pt, size_t len,
    int final)
{
	struct sink *s = cookie;

	assert_int_equal(index, s->next);
	s->next++;
	if ((int)index == s->stop_at)
		return 7;
	assert_true(len <= s->cap - s->len);
	memcpy(s->buf + s->len, pt, len);
	s->len += len;
	s->finals += final;
	return 0;
}

/*
 * Read ${buf} with a reader fed in pieces of ${piece} bytes (0: whole; -1:
 * random sizes).  Return the result and the plaintext in ${s}.
 */
static int
read_obj(const struct crypto_key *key, unsigned kind, const uint8_t *buf,
    size_t len, int piece, struct sink *s, struct ag_err *err)
{
	struct format_reader *rd;
	size_t off = 0;
	int rc = 0;

	s->len = 0;
	s->next = 0;
	s->finals = 0;
	assert_non_null(rd = format_reader_new(key, kind, sink_chunk, s));
	assert_null(format_reader_object(rd));
	while (off < len && rc == 0) {
		size_t n = len - off;

		if (piece > 0 && (size_t)piece < n)
			n = (size_t)piece;
		else if (piece < 0 && n > 1)
			n = 1 + (size_t)rand() % (n < 300 ? n : 300);
		rc = format_reader_feed(rd, buf + off, n, err);
		off += n;
	}
	if (rc == 0) {
		rc = format_reader_end(rd, err);
		if (rc == 0)
			assert_int_equal(format_reader_offset(rd), len);
	}
	format_reader_free(rd);
	return rc;
}

/*
 * Opening ${buf} with ${key} must fail with exactly ${msg}, however the
 * bytes are fed.
 */
static void
expect_fail(const struct crypto_key *key, unsigned kind, const uint8_t *buf,
    size_t len, const char *msg)
{
	static const int pieces[] = { 0, 1, 7, -1 };
	uint8_t out[4096];
	struct sink s = { out, 0, sizeof(out), 0, 0, -1 };
	struct ag_err err;

	for (size_t i = 0; i < sizeof(pieces) / sizeof(pieces[0]); i++) {
		memset(&err, 0, sizeof(err));
		assert_int_equal(read_obj(key, kind, buf, len, pieces[i], &s,
				     &err),
		    -1);
		if (strcmp(err.msg, msg) != 0)
			fail_msg("feeding by %d: got \"%s\", want \"%s\"",
			    pieces[i], err.msg, msg);
	}
	/* format_open_buffer() says the same. */
	{
		char *pt = NULL;
		size_t ptlen;

		memset(&err, 0, sizeof(err));
		assert_int_equal(format_open_buffer(key, kind, buf, len, &pt,
				     &ptlen, NULL, &err),
		    -1);
		assert_null(pt);
		assert_string_equal(err.msg, msg);
	}
}

/* Like expect_fail() but only the beginning of the message is fixed. */
static void
expect_fail_prefix(const struct crypto_key *key, unsigned kind,
    const uint8_t *buf, size_t len, const char *prefix)
{
	uint8_t out[4096];
	struct sink s = { out, 0, sizeof(out), 0, 0, -1 };
	struct ag_err err = { "" };

	assert_int_equal(read_obj(key, kind, buf, len, 0, &s, &err), -1);
	if (strncmp(err.msg, prefix, strlen(prefix)) != 0)
		fail_msg("got \"%s\", want \"%s...\"", err.msg, prefix);
	memset(&err, 0, sizeof(err));
	assert_int_equal(read_obj(key, kind, buf, len, 1, &s, &err), -1);
	assert_true(strncmp(err.msg, prefix, strlen(prefix)) == 0);
}

static void
expect_ok(const struct crypto_key *key, unsigned kind, const uint8_t *buf,
    size_t len, const void *pt, size_t ptlen)
{
	static const int pieces[] = { 0, 1, 5, 53, -1 };
	struct sink s = { NULL, 0, ptlen + 1, 0, 0, -1 };
	struct ag_err err = { "" };

	assert_non_null(s.buf = malloc(ptlen + 1));
	for (size_t i = 0; i < sizeof(pieces) / sizeof(pieces[0]); i++) {
		if (read_obj(key, kind, buf, len, pieces[i], &s, &err) != 0)
			fail_msg("feeding by %d: %s", pieces[i], err.msg);
		assert_int_equal(s.len, ptlen);
		assert_memory_equal(s.buf, pt, ptlen);
		assert_int_equal(s.finals, 1);
	}
	free(s.buf);
}

/* Recompute the header hash after editing header bytes. */
static void
rehash(uint8_t *buf, size_t hlen)
{
	assert_int_equal(crypto_sha256(buf, hlen - 32, buf + hlen - 32), 0);
}

/* ---- tests ---- */

static void
test_backup_ids_and_names(void **state)
{
	char id[FORMAT_BACKUP_ID_SIZE], name[256];
	time_t t = 1795316400, got; /* 2026-11-22 03:00:00 UTC */
	static const char *bad[] = {
		"2026-02-30T000000Z-0000",
		"2026-11-22T030000Z-3F9A",
		"2026-11-22T030000Z-3f9",
		"2026-11-22T240000Z-3f9a",
		"2026-13-01T000000Z-0000",
		"2026-11-22T030000Z_3f9a",
		"2026-11-22 030000Z-3f9a",
		"2026-11-22T030060Z-3f9a",
		"2026-11-22T030000Z-3f9a0",
		"",
		"latest",
	};

	(void)state;
	assert_int_equal(format_backup_id_new(t, id), 0);
	assert_int_equal(strlen(id), FORMAT_BACKUP_ID_LEN);
	assert_int_equal(strncmp(id, "2026-11-22T030000Z-", 19), 0);
	assert_int_equal(format_backup_id_parse(id, &got), 0);
	assert_int_equal(got, t);
	assert_int_equal(format_backup_id_parse("2024-02-29T235959Z-00ff",
			     &got),
	    0);
	assert_int_equal(got, 1709251199);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (format_backup_id_parse(bad[i], &got) == 0)
			fail_msg("accepted \"%s\"", bad[i]);
	/* Two ids of one second differ in the suffix (almost always). */
	{
		char id2[FORMAT_BACKUP_ID_SIZE];
		int differ = 0;

		for (int i = 0; i < 4 && !differ; i++) {
			assert_int_equal(format_backup_id_new(t, id2), 0);
			differ = strcmp(id, id2) != 0;
		}
		assert_true(differ);
	}

	assert_int_equal(format_object_name("hosts", "nightly", vec_id,
			     FORMAT_KIND_DATA, name, sizeof(name)),
	    0);
	assert_string_equal(name,
	    "hosts/nightly/2026-11-22T030000Z-3f9a/"
	    "data.vgl");
	assert_int_equal(format_object_name("hosts/", "nightly", vec_id,
			     FORMAT_KIND_MANIFEST, name, sizeof(name)),
	    0);
	assert_string_equal(name,
	    "hosts/nightly/2026-11-22T030000Z-3f9a/"
	    "manifest.vgl");
	assert_int_equal(format_object_name("", "db-1.x_y", vec_id,
			     FORMAT_KIND_INDEX, name, sizeof(name)),
	    0);
	assert_string_equal(name,
	    "db-1.x_y/2026-11-22T030000Z-3f9a/index.vgl");
	assert_int_equal(format_object_name(NULL, "a/b", vec_id,
			     FORMAT_KIND_DATA, name, sizeof(name)),
	    -1);
	assert_int_equal(format_object_name(NULL, "..", vec_id,
			     FORMAT_KIND_DATA, name, sizeof(name)),
	    -1);
	assert_int_equal(format_object_name(NULL, "", vec_id, FORMAT_KIND_DATA,
			     name, sizeof(name)),
	    -1);
	assert_int_equal(format_object_name(NULL, "j", "latest",
			     FORMAT_KIND_DATA, name, sizeof(name)),
	    -1);
	assert_int_equal(format_object_name("p", "j", vec_id,
			     (enum format_kind)4, name, sizeof(name)),
	    -1);
	/* "p/j/<23>/data.vgl" is 36 characters: 36 bytes is one short. */
	assert_int_equal(format_object_name("p", "j", vec_id, FORMAT_KIND_DATA,
			     name, 36),
	    -1);
	assert_int_equal(format_object_name("p", "j", vec_id, FORMAT_KIND_DATA,
			     name, 37),
	    0);
}

/* The known-answer files: rebuilt byte for byte and opened. */
static void
test_vectors(void **state)
{
	static const size_t hlens[] = { 0, 170, 211, 234 };
	struct format_seal_fixed fx;
	uint8_t dk[32];
	char name[64];

	(void)state;
	vec_data_key(dk);
	vec_fixed(&fx);
	assert_int_equal(strlen(vec_pt), 70);
	for (unsigned mode = 1; mode <= 3; mode++) {
		struct crypto_key *key = vec_key(mode);
		struct format_info info;
		struct ag_err err = { "" };
		struct obj o;
		uint8_t *file;
		size_t flen;

		build(&o, key, dk, FORMAT_KIND_DATA, VEC_CHUNK, &fx, vec_pt,
		    strlen(vec_pt));
		assert_int_equal(o.nchunks, 3);
		assert_int_equal(o.hlen, hlens[mode]);
		snprintf(name, sizeof(name), "header-%s.bin", mode_file[mode]);
		check_vector(name, o.buf, o.hlen);
		snprintf(name, sizeof(name), "object-%s.vgl", mode_file[mode]);
		check_vector(name, o.buf, o.len);
		if (mode == CRYPTO_KEY_FILE)
			check_vector("chunk-keyfile-1.bin", o.buf + o.off[1],
			    o.slen[1]);

		/* The stored file opens to the known plaintext. */
		file = slurp(vec_path(name), &flen);
		expect_ok(key, FORMAT_KIND_DATA, file, flen, vec_pt,
		    strlen(vec_pt));
		assert_int_equal(format_header_info(file, flen, &info, &err),
		    0);
		assert_int_equal(info.major, 1);
		assert_int_equal(info.minor, 0);
		assert_int_equal(info.kind, FORMAT_KIND_DATA);
		assert_int_equal(info.wrap_mode, mode);
		assert_int_equal(info.chunk_size, VEC_CHUNK);
		assert_int_equal(info.header_len, hlens[mode]);
		assert_string_equal(info.backup_id, vec_id);
		if (mode == CRYPTO_KEY_PASSPHRASE) {
			assert_int_equal(info.scrypt_log2n, 10);
			assert_int_equal(info.scrypt_r, 8);
			assert_int_equal(info.scrypt_p, 1);
		}
		free(file);
		free(o.buf);
		crypto_keys_free(key);
	}
	/* X25519 key ids name the public key: fixed, whatever the salt. */
	{
		uint8_t *file;
		size_t flen;
		struct format_info info;
		struct ag_err err = { "" };

		file = slurp(vec_path("header-x25519.bin"), &flen);
		assert_int_equal(format_header_info(file, flen, &info, &err),
		    0);
		free(file);
		{
			struct crypto_key *k = vec_key(CRYPTO_KEY_X25519);
			struct obj o;

			build(&o, k, dk, FORMAT_KIND_INDEX, 100, NULL, "x", 1);
			assert_memory_equal(o.buf + 20, info.key_id, 8);
			free(o.buf);
			crypto_keys_free(k);
		}
	}
	/* The sealed chunk vector opens at its offset as chunk 1. */
	{
		struct crypto_key *key = vec_key(CRYPTO_KEY_FILE);
		struct format_object *obj;
		struct ag_err err = { "" };
		uint8_t *hdr, *chunk, out[VEC_CHUNK];
		size_t hl, cl, n;
		int final;

		hdr = slurp(vec_path("header-keyfile.bin"), &hl);
		chunk = slurp(vec_path("chunk-keyfile-1.bin"), &cl);
		assert_non_null(obj = format_open_new(key, hdr, hl,
				    FORMAT_KIND_DATA, &err));
		assert_int_equal(format_open_chunk(obj, 1, chunk, cl, out, &n,
				     &final, &err),
		    0);
		assert_int_equal(n, VEC_CHUNK);
		assert_false(final);
		assert_memory_equal(out, vec_pt + VEC_CHUNK, VEC_CHUNK);
		format_object_free(obj);
		free(hdr);
		free(chunk);
		crypto_keys_free(key);
	}
	/* A manifest object. */
	{
		struct crypto_key *key = vec_key(CRYPTO_KEY_FILE);
		struct obj o;
		uint8_t *file;
		size_t flen, jlen;
		char *json;
		struct ag_err err = { "" };

		build(&o, key, dk, FORMAT_KIND_MANIFEST, FORMAT_MANIFEST_CHUNK,
		    &fx, vec_manifest, strlen(vec_manifest));
		check_vector("manifest-keyfile.vgl", o.buf, o.len);
		free(o.buf);
		file = slurp(vec_path("manifest-keyfile.vgl"), &flen);
		assert_int_equal(format_manifest_open(key, file, flen, &json,
				     &jlen, &err),
		    0);
		assert_string_equal(json, vec_manifest);
		assert_int_equal(jlen, strlen(vec_manifest));
		free(json);
		free(file);
		crypto_keys_free(key);
	}
}

/*
 * Rebuild the key-file vector by hand from the primitives, following
 * docs/BACKUP-FORMAT.md rather than format.c: an independent check of the
 * specification.  With ${minor} and ${ext} extension bytes it makes what a
 * later 1.x writer would, which this reader must accept.
 */
static size_t
handmade(uint8_t *out, unsigned minor, size_t ext, uint16_t flags)
{
	struct format_seal_fixed fx;
	struct crypto_aead *a;
	uint8_t k[32], dk[32], kek[32], ck[32], info[19], nonce[12], aad[41];
	size_t hlen = 170 + ext, pos, n, off = 0;
	size_t len = strlen(vec_pt);

	vec_fixed(&fx);
	vec_data_key(dk);
	seq(k, 32, 0x00);
	memset(out, 0, hlen);
	memcpy(out, "VIGIL\0BK", 8);
	out[8] = 1;
	out[9] = (uint8_t)minor;
	out[10] = (uint8_t)hlen;
	out[11] = (uint8_t)(hlen >> 8);
	out[12] = 1; /* data */
	out[13] = 1; /* key file */
	out[14] = (uint8_t)flags;
	out[15] = (uint8_t)(flags >> 8);
	out[16] = VEC_CHUNK; /* u32 LE */
	assert_int_equal(crypto_hkdf_sha256(k, 32, NULL, 0,
			     (const uint8_t *)"vigil-v1 key id", 15, out + 20,
			     8),
	    0);
	memcpy(out + 28, fx.object_salt, 16);
	memcpy(out + 44, vec_id, 23);
	/* L = 0 at 76; the wrap nonce at 78. */
	memcpy(out + 78, fx.wrap_nonce, 12);
	assert_int_equal(crypto_hkdf_sha256(k, 32, NULL, 0,
			     (const uint8_t *)"vigil-v1 key wrap", 17, kek,
			     32),
	    0);
	assert_non_null(a = crypto_aead_new(kek));
	assert_int_equal(crypto_aead_seal(a, out + 78, out, 78, dk, 32,
			     out + 90, out + 122),
	    0);
	crypto_aead_free(a);
	/*
	 * Extension bytes (if any) between the wrap tag and the hash: from
	 * 1.1 on, records; here one of a type this reader does not know.
	 */
	for (size_t i = 0; i < ext; i++)
		out[138 + i] = (uint8_t)(0x5a ^ i);
	if (ext >= 4) {
		out[138] = out[139] = 0x5a;    /* type 0x5a5a */
		out[140] = (uint8_t)(ext - 4); /* u16 LE length */
		out[141] = (uint8_t)((ext - 4) >> 8);
	}
	assert_int_equal(crypto_sha256(out, hlen - 32, out + hlen - 32), 0);

	memcpy(info, "vigil-v1 chunk key", 18);
	info[18] = 1;
	assert_int_equal(crypto_hkdf_sha256(dk, 32, fx.object_salt, 16, info,
			     19, ck, 32),
	    0);
	assert_non_null(a = crypto_aead_new(ck));
	pos = hlen;
	for (uint64_t i = 0; off < len; i++) {
		int final;

		n = len - off < VEC_CHUNK ? len - off : VEC_CHUNK;
		final = off + n == len;
		memset(nonce, 0, 12);
		nonce[11] = (uint8_t)i; /* BE counter */
		memcpy(aad, out + hlen - 32, 32);
		memset(aad + 32, 0, 9);
		aad[32] = (uint8_t)i; /* LE index */
		aad[40] = (uint8_t) final;
		out[pos] = (uint8_t)n;
		out[pos + 1] = out[pos + 2] = 0;
		out[pos + 3] = final ? 0x80 : 0;
		assert_int_equal(crypto_aead_seal(a, nonce, aad, 41,
				     (const uint8_t *)vec_pt + off, n,
				     out + pos + 4, out + pos + 4 + n),
		    0);
		pos += n + 20;
		off += n;
	}
	crypto_aead_free(a);
	return pos;
}

static void
test_spec_by_hand(void **state)
{
	struct crypto_key *key = vec_key(CRYPTO_KEY_FILE);
	uint8_t buf[1024], *file;
	size_t len, flen;

	(void)state;
	/* Version 1.0 by hand is the vector, byte for byte. */
	len = handmade(buf, 0, 0, 0);
	file = slurp(vec_path("object-keyfile.vgl"), &flen);
	assert_int_equal(len, flen);
	assert_memory_equal(buf, file, flen);
	free(file);

	/* A 1.3 object with 24 extension bytes: readable. */
	len = handmade(buf, 3, 24, 0);
	expect_ok(key, FORMAT_KIND_DATA, buf, len, vec_pt, strlen(vec_pt));

	/* An unknown flag: refused as a newer feature. */
	len = handmade(buf, 0, 0, 4);
	expect_fail(key, 0, buf, len,
	    "unsupported format features (header "
	    "flags 0x0004): written by a newer vigil");
	crypto_keys_free(key);
}

static void
test_round_trip_all_modes(void **state)
{
	size_t len = 100000;
	uint8_t *pt, dk[32];

	(void)state;
	srand(12345);
	assert_non_null(pt = malloc(len));
	assert_int_equal(crypto_random(pt, len), 0);
	assert_int_equal(crypto_random(dk, 32), 0);
	for (unsigned mode = 1; mode <= 3; mode++) {
		struct crypto_key *key = vec_key(mode);
		struct obj o1, o2;

		build(&o1, key, dk, FORMAT_KIND_DATA, 4096, NULL, pt, len);
		assert_int_equal(o1.nchunks, 25);
		expect_ok(key, FORMAT_KIND_DATA, o1.buf, o1.len, pt, len);
		/* Random salts: a second object differs everywhere. */
		build(&o2, key, dk, FORMAT_KIND_DATA, 4096, NULL, pt, len);
		assert_int_equal(o1.len, o2.len);
		assert_memory_not_equal(o1.buf + 28, o2.buf + 28, 16);
		assert_memory_not_equal(o1.buf + o1.hlen + 4,
		    o2.buf + o2.hlen + 4, 64);
		expect_ok(key, 0, o2.buf, o2.len, pt, len);
		free(o1.buf);
		free(o2.buf);
		crypto_keys_free(key);
	}
	/* An X25519 write-only key seals what the private key opens. */
	{
		struct crypto_key *priv = vec_key(CRYPTO_KEY_X25519), *pub;
		struct ag_err err = { "" };
		char s[CRYPTO_PUBLIC_STR_SIZE];
		struct obj o;

		assert_int_equal(crypto_keys_public_string(priv, s, sizeof(s)),
		    0);
		assert_non_null(pub = crypto_keys_from_public(s, &err));
		build(&o, pub, dk, FORMAT_KIND_DATA, 1000, NULL, pt, 5000);
		expect_ok(priv, FORMAT_KIND_DATA, o.buf, o.len, pt, 5000);
		expect_fail(pub, FORMAT_KIND_DATA, o.buf, o.len,
		    "wrong key: "
		    "only the X25519 public key is configured; opening needs "
		    "the private key");
		free(o.buf);
		crypto_keys_free(pub);
		crypto_keys_free(priv);
	}
	free(pt);
}

/* Data-sized chunks fed as a storage backend would (64 KiB pieces). */
static void
test_large_chunks(void **state)
{
	struct crypto_key *key = vec_key(CRYPTO_KEY_FILE);
	size_t len = (9u << 20) + 12345;
	uint32_t chunk = (4u << 20) + 1024;
	struct sink s = { NULL, 0, 0, 0, 0, -1 };
	struct ag_err err = { "" };
	uint8_t *pt, dk[32];
	struct obj o;

	(void)state;
	assert_non_null(pt = malloc(len));
	for (size_t i = 0; i < len; i++)
		pt[i] = (uint8_t)(i * 7 + (i >> 13));
	assert_int_equal(crypto_random(dk, 32), 0);
	build(&o, key, dk, FORMAT_KIND_DATA, chunk, NULL, pt, len);
	assert_int_equal(o.nchunks, 3);
	s.cap = len;
	assert_non_null(s.buf = malloc(len));
	assert_int_equal(read_obj(key, FORMAT_KIND_DATA, o.buf, o.len, 65536,
			     &s, &err),
	    0);
	assert_int_equal(s.len, len);
	assert_memory_equal(s.buf, pt, len);
	assert_int_equal(read_obj(key, FORMAT_KIND_DATA, o.buf, o.len, 0, &s,
			     &err),
	    0);
	assert_memory_equal(s.buf, pt, len);
	free(s.buf);
	free(o.buf);
	free(pt);
	crypto_keys_free(key);
}

/* Chunks opened alone at their offsets, as after a Range GET. */
static void
test_range_reads(void **state)
{
	struct crypto_key *key = vec_key(CRYPTO_KEY_FILE);
	struct format_object *obj;
	struct ag_err err = { "" };
	uint8_t dk[32], buf[2048], out[600];
	size_t n, hl;
	char pt[1500];
	int final;
	struct obj o;

	(void)state;
	for (size_t i = 0; i < sizeof(pt); i++)
		pt[i] = (char)('a' + i % 26);
	assert_int_equal(crypto_random(dk, 32), 0);
	build(&o, key, dk, FORMAT_KIND_DATA, 500, NULL, pt, sizeof(pt));
	assert_int_equal(o.nchunks, 3);

	assert_int_equal(format_header_peek(o.buf, 15, &hl, &err), 1);
	assert_int_equal(format_header_peek(o.buf, 16, &hl, &err), 0);
	assert_int_equal(hl, o.hlen);
	assert_non_null(obj = format_open_new(key, o.buf, hl, FORMAT_KIND_DATA,
			    &err));
	assert_int_equal(format_object_info(obj)->chunk_size, 500);
	for (unsigned i = 0; i < 3; i++) {
		assert_int_equal(format_open_chunk(obj, i, o.buf + o.off[i],
				     o.slen[i], out, &n, &final, &err),
		    0);
		assert_int_equal(n, 500);
		assert_int_equal(final, i == 2);
		assert_memory_equal(out, pt + 500 * i, 500);
	}
	/* In place. */
	memcpy(buf, o.buf + o.off[1], o.slen[1]);
	assert_int_equal(format_open_chunk(obj, 1, buf, o.slen[1], buf + 4, &n,
			     NULL, &err),
	    0);
	assert_memory_equal(buf + 4, pt + 500, 500);
	/* Under the wrong index: authentication fails. */
	assert_int_equal(format_open_chunk(obj, 2, o.buf + o.off[1], o.slen[1],
			     out, &n, &final, &err),
	    -1);
	assert_string_equal(err.msg,
	    "chunk 2: authentication failed (corrupt, "
	    "reordered or tampered data)");
	/* A short or long range. */
	assert_int_equal(format_open_chunk(obj, 1, o.buf + o.off[1],
			     o.slen[1] - 1, out, &n, &final, &err),
	    -1);
	assert_string_equal(err.msg,
	    "chunk 1: 519 bytes, but its length word "
	    "says 520 (corrupt)");
	assert_int_equal(format_open_chunk(obj, 1, o.buf + o.off[1], 10, out,
			     &n, &final, &err),
	    -1);
	assert_string_equal(err.msg,
	    "chunk 1: 10 bytes is too short "
	    "(corrupt)");
	format_object_free(obj);
	/* The header alone, too short. */
	assert_null(format_open_new(key, o.buf, hl - 1, 0, &err));
	assert_string_equal(err.msg,
	    "truncated: object ends inside the "
	    "header");
	free(o.buf);
	crypto_keys_free(key);
}

static void
test_seal_in_place_and_clone(void **state)
{
	struct crypto_key *key = vec_key(CRYPTO_KEY_FILE);
	struct format_object *w, *c;
	struct ag_err err = { "" };
	uint8_t dk[32], pt[100], a[200], b[200], big[40];
	size_t la, lb;

	(void)state;
	seq(pt, sizeof(pt), 1);
	assert_int_equal(crypto_random(dk, 32), 0);
	assert_non_null(w = format_seal_new(key, dk, FORMAT_KIND_DATA, vec_id,
			    100, &err));
	assert_non_null(c = format_object_clone(w));
	assert_int_equal(format_seal_chunk(w, 5, 0, pt, 100, a, &la), 0);
	/* In place: the plaintext 4 bytes into the output buffer. */
	memcpy(b + 4, pt, 100);
	assert_int_equal(format_seal_chunk(c, 5, 0, b + 4, 100, b, &lb), 0);
	assert_int_equal(la, 120);
	assert_int_equal(lb, 120);
	assert_memory_equal(a, b, 120);
	{
		size_t hl1, hl2;
		const uint8_t *h1 = format_object_header(w, &hl1);
		const uint8_t *h2 = format_object_header(c, &hl2);

		assert_int_equal(hl1, hl2);
		assert_memory_equal(h1, h2, hl1);
	}
	/* Refusals: too long, empty but not final. */
	assert_int_equal(format_seal_chunk(w, 0, 0, pt, 101, a, &la), -1);
	assert_int_equal(format_seal_chunk(w, 0, 0, pt, 0, a, &la), -1);
	assert_int_equal(format_seal_chunk(w, 0, 1, pt, 0, big, &la), 0);
	assert_int_equal(la, 20);
	format_object_free(c);
	format_object_free(w);
	format_object_free(NULL);

	/* Bad arguments to seal_new. */
	assert_null(format_seal_new(key, dk, FORMAT_KIND_DATA, "nope", 100,
	    &err));
	assert_string_equal(err.msg, "invalid backup id");
	assert_null(format_seal_new(key, dk, FORMAT_KIND_DATA, vec_id, 0,
	    &err));
	assert_null(format_seal_new(key, dk, FORMAT_KIND_DATA, vec_id,
	    FORMAT_CHUNK_SIZE_MAX + 1, &err));
	assert_non_null(strstr(err.msg, "chunk size"));
	assert_null(format_seal_new(key, dk, (enum format_kind)0, vec_id, 100,
	    &err));
	crypto_keys_free(key);
}

/* Every damage to an object, each with its one message. */
static void
test_tamper(void **state)
{
	struct crypto_key *key = vec_key(CRYPTO_KEY_FILE);
	uint8_t dk[32], dk2[32], *t;
	struct obj o, other, again;
	const size_t tsize = 4096;
	size_t hl, n;

	(void)state;
	assert_int_equal(crypto_random(dk, 32), 0);
	assert_int_equal(crypto_random(dk2, 32), 0);
	build(&o, key, dk, FORMAT_KIND_DATA, VEC_CHUNK, NULL, vec_pt,
	    strlen(vec_pt));
	hl = o.hlen;
	assert_non_null(t = malloc(tsize));
	expect_ok(key, FORMAT_KIND_DATA, o.buf, o.len, vec_pt, strlen(vec_pt));

#define RESET() memcpy(t, o.buf, o.len)

	/* A flipped bit in a chunk's ciphertext, and in its tag. */
	RESET();
	t[o.off[1] + 4 + 3] ^= 0x10;
	expect_fail(key, FORMAT_KIND_DATA, t, o.len,
	    "chunk 1: authentication "
	    "failed (corrupt, reordered or tampered data)");
	RESET();
	t[o.off[0] + o.slen[0] - 1] ^= 0x01;
	expect_fail(key, FORMAT_KIND_DATA, t, o.len,
	    "chunk 0: authentication "
	    "failed (corrupt, reordered or tampered data)");
	/* The final flag set on a middle chunk, cleared on the last. */
	RESET();
	t[o.off[1] + 3] ^= 0x80;
	expect_fail(key, FORMAT_KIND_DATA, t, o.len,
	    "chunk 1: authentication "
	    "failed (corrupt, reordered or tampered data)");
	RESET();
	t[o.off[2] + 3] ^= 0x80;
	expect_fail(key, FORMAT_KIND_DATA, t, o.len,
	    "chunk 2: authentication "
	    "failed (corrupt, reordered or tampered data)");
	/* Length words: oversized; zero in a non-final chunk. */
	RESET();
	t[o.off[1]] = VEC_CHUNK + 1;
	expect_fail(key, FORMAT_KIND_DATA, t, o.len,
	    "chunk 1: length 33 "
	    "exceeds the chunk size 32 (corrupt)");
	RESET();
	t[o.off[0]] = 0;
	expect_fail(key, FORMAT_KIND_DATA, t, o.len,
	    "chunk 0: empty non-final "
	    "chunk (corrupt)");

	/* A flipped bit in the header: the checksum says so. */
	for (size_t i = 12; i < hl; i += 13) {
		RESET();
		t[i] ^= 0x04;
		expect_fail(key, FORMAT_KIND_DATA, t, o.len,
		    "corrupt header: checksum mismatch");
	}
	/*
	 * The header altered and its checksum recomputed (deliberate
	 * tampering): the wrap's AAD catches every field.
	 */
	{
		static const size_t at[] = { 16, 30, 48, 80, 100, 130 };

		for (size_t i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
			char want[160];
			struct format_info info;
			struct ag_err err = { "" };

			RESET();
			assert_int_equal(format_header_info(t, o.len, &info,
					     &err),
			    0);
			t[at[i]] ^= 0x01;
			rehash(t, hl);
			snprintf(want, sizeof(want),
			    "wrong key: the data key "
			    "does not unwrap (key id %s matches; header "
			    "altered?)",
			    info.key_id_hex);
			if (at[i] == 48) /* '-' in the backup id */
				expect_fail(key, FORMAT_KIND_DATA, t, o.len,
				    "corrupt header: bad backup id");
			else
				expect_fail(key, FORMAT_KIND_DATA, t, o.len,
				    want);
		}
	}

	/* Swapped chunks; a dropped middle chunk. */
	RESET();
	memcpy(t + o.off[0], o.buf + o.off[1], o.slen[1]);
	memcpy(t + o.off[1], o.buf + o.off[0], o.slen[0]);
	expect_fail(key, FORMAT_KIND_DATA, t, o.len,
	    "chunk 0: authentication "
	    "failed (corrupt, reordered or tampered data)");
	RESET();
	memmove(t + o.off[1], o.buf + o.off[2], o.slen[2]);
	expect_fail(key, FORMAT_KIND_DATA, t, o.len - o.slen[1],
	    "chunk 1: "
	    "authentication failed (corrupt, reordered or tampered data)");

	/* Truncation everywhere. */
	RESET();
	expect_fail(key, FORMAT_KIND_DATA, t, o.off[2],
	    "truncated: missing "
	    "final chunk (object ends after chunk 1)");
	expect_fail(key, FORMAT_KIND_DATA, t, o.off[1],
	    "truncated: missing "
	    "final chunk (object ends after chunk 0)");
	expect_fail(key, FORMAT_KIND_DATA, t, o.len - 1,
	    "truncated: object "
	    "ends inside chunk 2");
	expect_fail(key, FORMAT_KIND_DATA, t, o.off[2] + 2,
	    "truncated: object "
	    "ends inside chunk 2");
	expect_fail(key, FORMAT_KIND_DATA, t, o.off[1] + 10,
	    "truncated: "
	    "object ends inside chunk 1");
	expect_fail(key, FORMAT_KIND_DATA, t, hl,
	    "truncated: object has no "
	    "chunks");
	expect_fail(key, FORMAT_KIND_DATA, t, hl - 1,
	    "truncated: object ends "
	    "inside the header");
	expect_fail(key, FORMAT_KIND_DATA, t, 10,
	    "truncated: object ends "
	    "inside the header");
	expect_fail(key, FORMAT_KIND_DATA, t, 0,
	    "truncated: object ends "
	    "inside the header");

	/* Trailing garbage; a whole extra chunk after the final one. */
	RESET();
	t[o.len] = 0;
	expect_fail(key, FORMAT_KIND_DATA, t, o.len + 1,
	    "trailing data after "
	    "final chunk 2");
	memcpy(t + o.len, o.buf + o.off[0], o.slen[0]);
	expect_fail(key, FORMAT_KIND_DATA, t, o.len + o.slen[0],
	    "trailing "
	    "data after final chunk 2");

	/* The header of another backup (same key, other data key). */
	build(&other, key, dk2, FORMAT_KIND_DATA, VEC_CHUNK, NULL, vec_pt,
	    strlen(vec_pt));
	assert_int_equal(other.hlen, hl);
	RESET();
	memcpy(t, other.buf, hl);
	expect_fail(key, FORMAT_KIND_DATA, t, o.len,
	    "chunk 0: authentication "
	    "failed (corrupt, reordered or tampered data)");
	/* A chunk of the other backup spliced in. */
	RESET();
	memcpy(t + o.off[1], other.buf + other.off[1], o.slen[1]);
	expect_fail(key, FORMAT_KIND_DATA, t, o.len,
	    "chunk 1: authentication "
	    "failed (corrupt, reordered or tampered data)");
	/* The same backup written again (a retry, same data key). */
	build(&again, key, dk, FORMAT_KIND_DATA, VEC_CHUNK, NULL, vec_pt,
	    strlen(vec_pt));
	RESET();
	memcpy(t, again.buf, hl);
	expect_fail(key, FORMAT_KIND_DATA, t, o.len,
	    "chunk 0: authentication "
	    "failed (corrupt, reordered or tampered data)");
	/* A manifest header (same data key) on data chunks. */
	free(other.buf);
	build(&other, key, dk, FORMAT_KIND_MANIFEST, VEC_CHUNK, NULL, vec_pt,
	    strlen(vec_pt));
	RESET();
	memcpy(t, other.buf, hl);
	expect_fail(key, 0, t, o.len,
	    "chunk 0: authentication failed "
	    "(corrupt, reordered or tampered data)");
	expect_fail(key, FORMAT_KIND_DATA, t, o.len,
	    "wrong object kind: "
	    "expected data, found manifest");
	expect_fail(key, FORMAT_KIND_MANIFEST, o.buf, o.len,
	    "wrong object "
	    "kind: expected manifest, found data");

	/* Not ours at all; a future major version. */
	RESET();
	memcpy(t, "PK\3\4", 4);
	expect_fail(key, 0, t, o.len, "not a vigil backup object");
	expect_fail(key, 0,
	    (const uint8_t *)"\x1f\x8b\x08\x00\x00\x00\x00\x00"
			     "\x00\x03\x00\x00\x00\x00\x00\x00\x00",
	    17, "not a vigil backup object");
	RESET();
	t[8] = 2;
	expect_fail(key, 0, t, o.len,
	    "unsupported format version 2.0 (this "
	    "vigil reads version 1)");
	/* A header length out of range. */
	RESET();
	t[10] = 0xff;
	t[11] = 0x7f;
	expect_fail(key, 0, t, o.len,
	    "corrupt header: header length 32767 out "
	    "of range");

	/* The reader stops when the consumer says so. */
	{
		uint8_t out[256];
		struct sink s = { out, 0, sizeof(out), 0, 0, 1 };
		struct format_reader *rd;
		struct ag_err err = { "" };

		assert_non_null(rd = format_reader_new(key, 0, sink_chunk,
				    &s));
		assert_int_equal(format_reader_feed(rd, o.buf, o.len, &err),
		    7);
		assert_string_equal(err.msg, "");
		assert_int_equal(format_reader_feed(rd, o.buf, 1, &err), -1);
		assert_string_equal(err.msg,
		    "chunk 1: reading stopped by the "
		    "consumer");
		assert_int_equal(format_reader_end(rd, &err), -1);
		assert_non_null(format_reader_object(rd));
		assert_int_equal(format_object_info(format_reader_object(rd))
				     ->kind,
		    FORMAT_KIND_DATA);
		format_reader_free(rd);
	}
	/* Errors are sticky. */
	{
		uint8_t out[256];
		struct sink s = { out, 0, sizeof(out), 0, 0, -1 };
		struct format_reader *rd;
		struct ag_err err = { "" };

		RESET();
		t[o.off[0] + 5] ^= 1;
		assert_non_null(rd = format_reader_new(key, 0, sink_chunk,
				    &s));
		assert_int_equal(format_reader_feed(rd, t, o.len, &err), -1);
		memset(&err, 0, sizeof(err));
		assert_int_equal(format_reader_feed(rd, t, 0, &err), -1);
		assert_string_equal(err.msg,
		    "chunk 0: authentication failed "
		    "(corrupt, reordered or tampered data)");
		memset(&err, 0, sizeof(err));
		assert_int_equal(format_reader_end(rd, &err), -1);
		assert_string_equal(err.msg,
		    "chunk 0: authentication failed "
		    "(corrupt, reordered or tampered data)");
		format_reader_free(rd);
		format_reader_free(NULL);
	}
	(void)n;
#undef RESET
	free(again.buf);
	free(other.buf);
	free(o.buf);
	free(t);
	crypto_keys_free(key);
}

/* The wrong key, for each mode, and a key of the wrong mode. */
static void
test_wrong_keys(void **state)
{
	struct format_seal_fixed fx;
	uint8_t dk[32];
	char want[200];

	(void)state;
	vec_data_key(dk);
	vec_fixed(&fx);
	for (unsigned mode = 1; mode <= 3; mode++) {
		struct crypto_key *key = vec_key(mode), *bad = other_key(mode);
		struct format_object *obj;
		struct format_info info;
		struct ag_err err = { "" };
		struct obj o;

		build(&o, key, dk, FORMAT_KIND_DATA, VEC_CHUNK, &fx, vec_pt,
		    strlen(vec_pt));
		assert_int_equal(format_header_info(o.buf, o.len, &info, &err),
		    0);
		if (mode == CRYPTO_KEY_PASSPHRASE) {
			expect_fail_prefix(bad, 0, o.buf, o.len,
			    "wrong key: "
			    "the passphrase does not match (check value ");
		} else {
			/* The other key's id, from an object it sealed. */
			struct obj ob;
			struct format_info binfo;

			build(&ob, bad, dk, FORMAT_KIND_DATA, VEC_CHUNK, &fx,
			    "x", 1);
			assert_int_equal(format_header_info(ob.buf, ob.len,
					     &binfo, &err),
			    0);
			snprintf(want, sizeof(want),
			    "wrong key: object was "
			    "sealed for key id %s, this key has id %s",
			    info.key_id_hex, binfo.key_id_hex);
			expect_fail(bad, 0, o.buf, o.len, want);
			free(ob.buf);
		}
		assert_null(obj = format_open_new(bad, o.buf, o.len, 0, &err));
		assert_int_equal(strncmp(err.msg, "wrong key: ", 11), 0);
		/* Every key of another mode. */
		for (unsigned m2 = 1; m2 <= 3; m2++) {
			struct crypto_key *k2;
			static const char *names[] = { NULL, "a key file",
				"a passphrase", "an X25519 key" };

			if (m2 == mode)
				continue;
			k2 = vec_key(m2);
			snprintf(want, sizeof(want),
			    "wrong key: object is "
			    "sealed with %s, but %s was given",
			    names[mode], names[m2]);
			expect_fail(k2, 0, o.buf, o.len, want);
			crypto_keys_free(k2);
		}
		/* X25519: a low-order ephemeral key (checksum made to fit). */
		if (mode == CRYPTO_KEY_X25519) {
			memset(o.buf + 78, 0, 32);
			rehash(o.buf, o.hlen);
			expect_fail(key, 0, o.buf, o.len,
			    "corrupt header: "
			    "invalid X25519 ephemeral public key");
		}
		free(o.buf);
		crypto_keys_free(bad);
		crypto_keys_free(key);
	}
}

static void
test_manifest(void **state)
{
	struct crypto_key *key = vec_key(CRYPTO_KEY_FILE);
	struct ag_err err = { "" };
	struct format_info info;
	uint8_t dk[32], *obj;
	size_t olen, jlen, big = (5u << 19) + 17; /* 2.5 MiB + 17 */
	char *json, *pt;

	(void)state;
	assert_int_equal(crypto_random(dk, 32), 0);
	assert_int_equal(format_manifest_seal(key, dk, vec_id, "{}", 2, &obj,
			     &olen, &err),
	    0);
	assert_int_equal(olen, 170 + 2 + 20);
	assert_int_equal(format_manifest_open(key, obj, olen, &json, &jlen,
			     &err),
	    0);
	assert_string_equal(json, "{}");
	free(json);
	/* As the wrong kind. */
	assert_int_equal(format_open_buffer(key, FORMAT_KIND_INDEX, obj, olen,
			     &json, &jlen, NULL, &err),
	    -1);
	assert_string_equal(err.msg,
	    "wrong object kind: expected index, found "
	    "manifest");
	free(obj);

	/* Empty: one empty final chunk. */
	assert_int_equal(format_seal_buffer(key, dk, FORMAT_KIND_INDEX, vec_id,
			     NULL, 0, &obj, &olen, &err),
	    0);
	assert_int_equal(olen, 170 + 20);
	assert_int_equal(format_open_buffer(key, 0, obj, olen, &json, &jlen,
			     &info, &err),
	    0);
	assert_int_equal(jlen, 0);
	assert_string_equal(json, "");
	assert_int_equal(info.kind, FORMAT_KIND_INDEX);
	assert_int_equal(info.chunk_size, FORMAT_MANIFEST_CHUNK);
	free(json);
	free(obj);

	/* Several 1 MiB chunks. */
	assert_non_null(pt = malloc(big));
	for (size_t i = 0; i < big; i++)
		pt[i] = (char)(' ' + i % 90);
	assert_int_equal(format_manifest_seal(key, dk, vec_id, pt, big, &obj,
			     &olen, &err),
	    0);
	assert_int_equal(olen, 170 + big + 3 * 20);
	assert_int_equal(format_manifest_open(key, obj, olen, &json, &jlen,
			     &err),
	    0);
	assert_int_equal(jlen, big);
	assert_memory_equal(json, pt, big);
	assert_int_equal(json[big], '\0');
	free(json);
	/* Cut short. */
	json = NULL;
	assert_int_equal(format_manifest_open(key, obj, olen - 100, &json,
			     &jlen, &err),
	    -1);
	assert_string_equal(err.msg, "truncated: object ends inside chunk 2");
	assert_null(json);
	free(obj);
	free(pt);
	crypto_keys_free(key);
}

/* ---- signed manifests (docs/BACKUP-FORMAT.md 2.3) ---- */

/* The signer of the vectors (${hex}: a 32-byte Ed25519 private key). */
static struct crypto_signer *
vec_signer_new(const char *hex)
{
	struct ag_err err = { "" };
	struct crypto_signer *s;
	uint8_t seed[32];

	unhex(hex, seed, 32);
	assert_non_null(s = crypto_sign_from_seed(seed, &err));
	return s;
}

/* ${key} trusts the signer whose private key is ${hex}. */
static void
trust(struct crypto_key *key, const char *hex)
{
	struct crypto_signer *s = vec_signer_new(hex);
	struct ag_err err = { "" };

	assert_int_equal(crypto_keys_add_trusted(key, crypto_sign_public(s),
			     &err),
	    0);
	crypto_sign_free(s);
}

/*
 * What someone who knows the data key could do (the forger of a write-only
 * backup knows it: he made it): after changing header bytes, recompute the
 * header hash and seal the one chunk of ${pt} again, so that the object is
 * well-formed and only the signature can tell.
 */
static void
reseal(uint8_t *obj, size_t hlen, unsigned kind, const char *pt)
{
	struct crypto_aead *a;
	uint8_t dk[32], ck[32], info[19], nonce[12] = { 0 }, aad[41];
	size_t n = strlen(pt);

	vec_data_key(dk);
	assert_int_equal(crypto_sha256(obj, hlen - 32, obj + hlen - 32), 0);
	memcpy(info, "vigil-v1 chunk key", 18);
	info[18] = (uint8_t)kind;
	assert_int_equal(crypto_hkdf_sha256(dk, 32, obj + 28, 16, info, 19, ck,
			     32),
	    0);
	memcpy(aad, obj + hlen - 32, 32);
	memset(aad + 32, 0, 9);
	aad[40] = 1;
	assert_non_null(a = crypto_aead_new(ck));
	assert_int_equal(crypto_aead_seal(a, nonce, aad, 41,
			     (const uint8_t *)pt, n, obj + hlen + 4,
			     obj + hlen + 4 + n),
	    0);
	crypto_aead_free(a);
}

/* Open ${obj} as a manifest with ${key}: 0, or -1 with ${want} exactly. */
static void
open_manifest(const struct crypto_key *key, const uint8_t *obj, size_t len,
    const char *want)
{
	struct ag_err err = { "" };
	char *json = NULL;
	size_t jlen;
	int rc;

	rc = format_manifest_open(key, obj, len, &json, &jlen, &err);
	if (want == NULL) {
		if (rc != 0)
			fail_msg("manifest refused: %s", err.msg);
		assert_string_equal(json, vec_manifest);
		free(json);
		return;
	}
	assert_int_equal(rc, -1);
	assert_null(json);
	assert_string_equal(err.msg, want);
}

/*
 * The signed manifest vectors: rebuilt byte for byte (Ed25519 is
 * deterministic), opened, and refused when trust says so.
 */
static void
test_signed_vectors(void **state)
{
	static const struct {
		unsigned mode;
		const char *name;
		size_t hlen;
	} v[] = {
		{ CRYPTO_KEY_FILE, "manifest-keyfile-signed.vgl", 270 },
		{ CRYPTO_KEY_X25519, "manifest-x25519-signed.vgl", 334 },
	};
	struct format_seal_fixed fx;
	uint8_t dk[32], pub[32], copy[1024];
	char want[128], forged[sizeof(vec_manifest)], *json = NULL;
	size_t jlen;

	(void)state;
	vec_data_key(dk);
	vec_fixed(&fx);
	unhex(vec_signer_pub, pub, 32);
	memcpy(forged, vec_manifest, sizeof(forged));
	forged[20] ^= 1; /* "nightly" -> "nighvly" */
	for (size_t i = 0; i < 2; i++) {
		struct crypto_key *key = vec_key(v[i].mode);
		struct ag_err err = { "" };
		struct format_info info;
		uint8_t *obj, *file;
		size_t olen, flen;

		crypto_keys_set_signer(key, vec_signer_new(vec_signer));
		assert_int_equal(format_header_len(key, FORMAT_KIND_MANIFEST),
		    v[i].hlen);
		assert_int_equal(format_header_len(key, FORMAT_KIND_DATA),
		    v[i].hlen - FORMAT_EXT_SIGNATURE_LEN);
		assert_int_equal(format_seal_buffer_fixed(key, dk,
				     FORMAT_KIND_MANIFEST, vec_id,
				     (const uint8_t *)vec_manifest,
				     strlen(vec_manifest), &fx, &obj, &olen,
				     &err),
		    0);
		check_vector(v[i].name, obj, olen);
		free(obj);
		crypto_keys_set_signer(key, NULL);

		file = slurp(vec_path(v[i].name), &flen);
		assert_int_equal(format_header_info(file, flen, &info, &err),
		    0);
		assert_int_equal(info.major, 1);
		assert_int_equal(info.minor, 1);
		assert_int_equal(info.header_len, v[i].hlen);
		assert_true(info.has_signature);
		assert_memory_equal(info.signer, pub, 32);
		/* The signer id is the key id of its public key (3.4). */
		{
			uint8_t id[8];
			char hex[17];

			assert_int_equal(crypto_hkdf_sha256(pub, 32, NULL, 0,
					     (const uint8_t *)"vigil-v1 key id",
					     15, id, 8),
			    0);
			crypto_hex(id, 8, hex);
			assert_string_equal(info.signer_id_hex, hex);
		}
		/* Without trusted signers: opens (the signature is checked). */
		open_manifest(key, file, flen, NULL);
		/* Trusting another signer only: refused, naming the signer. */
		trust(key, vec_other_signer);
		snprintf(want, sizeof(want),
		    "signed by %s, which is not in "
		    "trusted_signers",
		    info.signer_id_hex);
		open_manifest(key, file, flen, want);
		/* Trusting its signer too: opens. */
		trust(key, vec_signer);
		open_manifest(key, file, flen, NULL);

		/* A flipped signature bit, the object otherwise consistent. */
		memcpy(copy, file, flen);
		copy[v[i].hlen - 32 - 64 + 5] ^= 0x10;
		reseal(copy, v[i].hlen, FORMAT_KIND_MANIFEST, vec_manifest);
		open_manifest(key, copy, flen,
		    "signature does not verify "
		    "(forged or tampered manifest)");
		/* The signature record copied onto other contents. */
		memcpy(copy, file, flen);
		reseal(copy, v[i].hlen, FORMAT_KIND_MANIFEST, forged);
		{
			struct crypto_key *k0 = vec_key(v[i].mode);

			/* Refused with or without trusted signers. */
			assert_int_equal(format_manifest_open(k0, copy, flen,
					     &json, &jlen, &err),
			    -1);
			assert_string_equal(err.msg,
			    "signature does not "
			    "verify (forged or tampered manifest)");
			crypto_keys_free(k0);
		}
		free(file);
		crypto_keys_free(key);
	}
	/* An unsigned manifest (the 1.0 vector): refused under trust. */
	{
		struct crypto_key *key = vec_key(CRYPTO_KEY_FILE);
		uint8_t *file;
		size_t flen;

		file = slurp(vec_path("manifest-keyfile.vgl"), &flen);
		open_manifest(key, file, flen, NULL);
		trust(key, vec_signer);
		open_manifest(key, file, flen,
		    "not signed, but trusted_signers "
		    "requires a signature (forged, or written by a host "
		    "without a signing key)");
		free(file);
		crypto_keys_free(key);
	}
	/* Only manifests are signed; data objects stay 1.0. */
	{
		struct crypto_key *key = vec_key(CRYPTO_KEY_FILE);
		struct format_info info;
		struct ag_err err = { "" };
		uint8_t *obj;
		size_t olen;
		char *pt;

		crypto_keys_set_signer(key, vec_signer_new(vec_signer));
		assert_int_equal(format_seal_buffer(key, dk, FORMAT_KIND_INDEX,
				     vec_id, (const uint8_t *)"x", 1, &obj,
				     &olen, &err),
		    0);
		assert_int_equal(olen, 170 + 1 + 20);
		trust(key, vec_other_signer);
		assert_int_equal(format_open_buffer(key, FORMAT_KIND_INDEX,
				     obj, olen, &pt, &olen, &info, &err),
		    0);
		assert_int_equal(info.minor, 0);
		assert_false(info.has_signature);
		free(pt);
		free(obj);
		crypto_keys_free(key);
	}
}
int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_backup_ids_and_names),
		cmocka_unit_test(test_vectors),
		cmocka_unit_test(test_spec_by_hand),
		cmocka_unit_test(test_round_trip_all_modes),
		cmocka_unit_test(test_large_chunks),
		cmocka_unit_test(test_range_reads),
		cmocka_unit_test(test_seal_in_place_and_clone),
		cmocka_unit_test(test_tamper),
		cmocka_unit_test(test_wrong_keys),
		cmocka_unit_test(test_manifest),
		cmocka_unit_test(test_signed_vectors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
