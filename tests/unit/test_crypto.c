/*
 * test_crypto.c: lib/crypto/crypto_aead.c and crypto_keys.c.  The
 * primitives are checked against the published known answers (the GCM
 * specification's test case 16, RFC 5869, RFC 7914, RFC 7748); the key
 * files against every refusal the header promises, and against keys that
 * the openssl command line wrote.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/ag.h"
#include "lib/crypto/crypto.h"
#include "lib/crypto/crypto_aead.h"
#include "lib/crypto/crypto_keys.h"
#include "lib/crypto/crypto_sign.h"
#include "tests/unit/fakes/testutil.h"

static void
unhex(const char *hex, uint8_t *out, size_t len)
{
	assert_int_equal(strlen(hex), 2 * len);
	for (size_t i = 0; i < len; i++) {
		unsigned v;

		assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
}

static void
assert_hex(const uint8_t *buf, size_t len, const char *hex)
{
	char got[1024];

	assert_true(2 * len < sizeof(got));
	crypto_hex(buf, len, got);
	assert_string_equal(got, hex);
}

/* Write ${len} bytes to tu_tmpdir()/${name} with ${mode}; its path. */
static const char *
put_file(const char *name, const void *data, size_t len, mode_t mode)
{
	static char path[256];

	snprintf(path, sizeof(path), "%s/%s", tu_tmpdir(), name);
	/* A new file: an earlier one may have a mode that refuses writes. */
	(void)unlink(path);
	tu_write_file(path, data, len, mode);
	return path;
}

/* ---- AES-256-GCM ---- */

/* The GCM specification (McGrew and Viega), test case 16. */
static const char gcm_k[] =
    "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308";
static const char gcm_iv[] = "cafebabefacedbaddecaf888";
static const char gcm_p[] =
    "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
    "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39";
static const char gcm_a[] = "feedfacedeadbeeffeedfacedeadbeefabaddad2";
static const char gcm_c[] =
    "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
    "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662";
static const char gcm_t[] = "76fc6ece0f4e1768cddf8853bb2d551b";

static void
test_gcm_known_answer(void **state)
{
	uint8_t k[32], iv[12], p[60], a[20], c[60], t[16], out[60];
	struct crypto_aead *ctx;

	(void)state;
	unhex(gcm_k, k, 32);
	unhex(gcm_iv, iv, 12);
	unhex(gcm_p, p, 60);
	unhex(gcm_a, a, 20);
	assert_non_null(ctx = crypto_aead_new(k));
	assert_int_equal(crypto_aead_seal(ctx, iv, a, 20, p, 60, c, t), 0);
	assert_hex(c, 60, gcm_c);
	assert_hex(t, 16, gcm_t);
	/* Same context, other direction, then sealing again. */
	assert_int_equal(crypto_aead_open(ctx, iv, a, 20, c, 60, out, t), 0);
	assert_memory_equal(out, p, 60);
	memset(c, 0, sizeof(c));
	assert_int_equal(crypto_aead_seal(ctx, iv, a, 20, p, 60, c, t), 0);
	assert_hex(c, 60, gcm_c);
	crypto_aead_free(ctx);
}

static void
test_gcm_in_place_and_tamper(void **state)
{
	uint8_t k[32], iv[12], p[60], a[20], buf[60], t[16], bad[16];
	struct crypto_aead *ctx;

	(void)state;
	unhex(gcm_k, k, 32);
	unhex(gcm_iv, iv, 12);
	unhex(gcm_p, p, 60);
	unhex(gcm_a, a, 20);
	assert_non_null(ctx = crypto_aead_new(k));
	memcpy(buf, p, 60);
	assert_int_equal(crypto_aead_seal(ctx, iv, a, 20, buf, 60, buf, t), 0);
	assert_hex(buf, 60, gcm_c);

	/* A flipped tag bit: fails and wipes the output. */
	memcpy(bad, t, 16);
	bad[15] ^= 1;
	{
		uint8_t out[60];

		memset(out, 0xaa, sizeof(out));
		assert_int_equal(crypto_aead_open(ctx, iv, a, 20, buf, 60, out,
				     bad),
		    -1);
		for (size_t i = 0; i < sizeof(out); i++)
			assert_int_equal(out[i], 0);
	}
	/* A flipped AAD bit and a flipped ciphertext bit. */
	{
		uint8_t out[60], a2[20], c2[60];

		memcpy(a2, a, 20);
		a2[0] ^= 0x80;
		assert_int_equal(crypto_aead_open(ctx, iv, a2, 20, buf, 60,
				     out, t),
		    -1);
		memcpy(c2, buf, 60);
		c2[30] ^= 4;
		assert_int_equal(crypto_aead_open(ctx, iv, a, 20, c2, 60, out,
				     t),
		    -1);
		/* Wrong nonce. */
		iv[11] ^= 1;
		assert_int_equal(crypto_aead_open(ctx, iv, a, 20, buf, 60, out,
				     t),
		    -1);
		iv[11] ^= 1;
	}
	/* In-place open restores the plaintext. */
	assert_int_equal(crypto_aead_open(ctx, iv, a, 20, buf, 60, buf, t), 0);
	assert_memory_equal(buf, p, 60);

	/* Rekeying: the old tag no longer verifies. */
	k[0] ^= 1;
	assert_int_equal(crypto_aead_seal(ctx, iv, NULL, 0, p, 60, buf, t), 0);
	assert_int_equal(crypto_aead_rekey(ctx, k), 0);
	assert_int_equal(crypto_aead_open(ctx, iv, NULL, 0, buf, 60, buf, t),
	    -1);
	/* ... and it now seals exactly as a fresh context with the new key. */
	{
		struct crypto_aead *fresh;
		uint8_t c1[60], c2[60], t1[16], t2[16];

		assert_non_null(fresh = crypto_aead_new(k));
		assert_int_equal(crypto_aead_seal(ctx, iv, a, 20, p, 60, c1,
				     t1),
		    0);
		assert_int_equal(crypto_aead_seal(fresh, iv, a, 20, p, 60, c2,
				     t2),
		    0);
		assert_memory_equal(c1, c2, 60);
		assert_memory_equal(t1, t2, 16);
		assert_int_equal(crypto_aead_open(fresh, iv, a, 20, c1, 60, c1,
				     t1),
		    0);
		assert_memory_equal(c1, p, 60);
		crypto_aead_free(fresh);
	}
	crypto_aead_free(ctx);
	crypto_aead_free(NULL);
}

static void
test_gcm_empty_and_large(void **state)
{
	uint8_t k[32] = { 1 }, iv[12] = { 2 }, t[16];
	struct crypto_aead *ctx;
	size_t n = (size_t)5 << 20;
	uint8_t *big;

	(void)state;
	assert_non_null(ctx = crypto_aead_new(k));
	/* An empty message still authenticates the AAD. */
	assert_int_equal(crypto_aead_seal(ctx, iv, (const uint8_t *)"x", 1,
			     NULL, 0, NULL, t),
	    0);
	assert_int_equal(crypto_aead_open(ctx, iv, (const uint8_t *)"x", 1,
			     NULL, 0, NULL, t),
	    0);
	assert_int_equal(crypto_aead_open(ctx, iv, (const uint8_t *)"y", 1,
			     NULL, 0, NULL, t),
	    -1);
	/* A 5 MiB buffer round trip. */
	assert_non_null(big = malloc(n));
	for (size_t i = 0; i < n; i++)
		big[i] = (uint8_t)(i * 31);
	assert_int_equal(crypto_aead_seal(ctx, iv, NULL, 0, big, n, big, t),
	    0);
	assert_int_not_equal(big[1], 31);
	assert_int_equal(crypto_aead_open(ctx, iv, NULL, 0, big, n, big, t),
	    0);
	for (size_t i = 0; i < n; i += 4099)
		assert_int_equal(big[i], (uint8_t)(i * 31));
	free(big);
	crypto_aead_free(ctx);
}

/* ---- KDFs ---- */

static void
test_hkdf_rfc5869(void **state)
{
	uint8_t ikm[22], salt[13], info[10], okm[42];

	(void)state;
	memset(ikm, 0x0b, sizeof(ikm));
	for (int i = 0; i < 13; i++)
		salt[i] = (uint8_t)i;
	for (int i = 0; i < 10; i++)
		info[i] = (uint8_t)(0xf0 + i);
	/* Test case 1. */
	assert_int_equal(crypto_hkdf_sha256(ikm, 22, salt, 13, info, 10, okm,
			     42),
	    0);
	assert_hex(okm, 42,
	    "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5d"
	    "b02d56ecc4c5bf34007208d5b887185865");
	/* Test case 3: no salt, no info. */
	assert_int_equal(crypto_hkdf_sha256(ikm, 22, NULL, 0, NULL, 0, okm,
			     42),
	    0);
	assert_hex(okm, 42,
	    "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3"
	    "454e5f3c738d2d9d201395faa4b61a96c8");
	/* Refusals. */
	assert_int_equal(crypto_hkdf_sha256(NULL, 0, NULL, 0, NULL, 0, okm,
			     42),
	    -1);
	assert_int_equal(crypto_hkdf_sha256(ikm, 22, NULL, 0, NULL, 0, okm, 0),
	    -1);
}

static void
test_scrypt_rfc7914(void **state)
{
	uint8_t out[64];

	(void)state;
	assert_int_equal(crypto_scrypt((const uint8_t *)"password", 8,
			     (const uint8_t *)"NaCl", 4, 1024, 8, 16, out, 64),
	    0);
	assert_hex(out, 64,
	    "fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e7"
	    "7376634b3731622eaf30d92e22a3886ff109279d9830dac727afb94a83ee6d83"
	    "60cbdfa2cc0640");
	/* The production default (N = 2^15, r = 8, p = 1) fits the cap. */
	assert_int_equal(crypto_scrypt((const uint8_t *)"p", 1,
			     (const uint8_t *)"s", 1, (uint64_t)1 << 15, 8, 1,
			     out, 32),
	    0);
	/* N not a power of two, p too large, memory over the cap. */
	assert_int_equal(crypto_scrypt((const uint8_t *)"p", 1,
			     (const uint8_t *)"s", 1, 1000, 8, 1, out, 32),
	    -1);
	assert_int_equal(crypto_scrypt((const uint8_t *)"p", 1,
			     (const uint8_t *)"s", 1, 1024, 8, 17, out, 32),
	    -1);
	assert_int_equal(crypto_scrypt((const uint8_t *)"p", 1,
			     (const uint8_t *)"s", 1, (uint64_t)1 << 21, 8, 1,
			     out, 32),
	    -1);
	assert_int_equal(crypto_scrypt((const uint8_t *)"p", 1,
			     (const uint8_t *)"s", 1, 1024, 0, 1, out, 32),
	    -1);
}

/* ---- X25519 ---- */

static const char x_apriv[] =
    "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a";
static const char x_apub[] =
    "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a";
static const char x_bpriv[] =
    "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb";
static const char x_bpub[] =
    "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f";
static const char x_shared[] =
    "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742";

static void
test_x25519_rfc7748(void **state)
{
	uint8_t a[32], b[32], pa[32], pb[32], s1[32], s2[32], zero[32] = { 0 };

	(void)state;
	unhex(x_apriv, a, 32);
	unhex(x_bpriv, b, 32);
	assert_int_equal(crypto_x25519_public(a, pa), 0);
	assert_hex(pa, 32, x_apub);
	assert_int_equal(crypto_x25519_public(b, pb), 0);
	assert_hex(pb, 32, x_bpub);
	assert_int_equal(crypto_x25519_derive(a, pb, s1), 0);
	assert_int_equal(crypto_x25519_derive(b, pa, s2), 0);
	assert_hex(s1, 32, x_shared);
	assert_hex(s2, 32, x_shared);
	/* A low-order point (zero) gives no secret and is refused. */
	assert_int_equal(crypto_x25519_derive(a, zero, s1), -1);

	/* Fresh pairs agree with each other. */
	assert_int_equal(crypto_x25519_keygen(a, pa), 0);
	assert_int_equal(crypto_x25519_keygen(b, pb), 0);
	assert_memory_not_equal(pa, pb, 32);
	assert_int_equal(crypto_x25519_public(a, s1), 0);
	assert_memory_equal(s1, pa, 32);
	assert_int_equal(crypto_x25519_derive(a, pb, s1), 0);
	assert_int_equal(crypto_x25519_derive(b, pa, s2), 0);
	assert_memory_equal(s1, s2, 32);
}

/* ---- key files ---- */

static void
test_keyfile_formats(void **state)
{
	struct ag_err err = { "" };
	struct crypto_key *k;
	uint8_t raw[32];
	const char *p;
	char hex[80];

	(void)state;
	for (int i = 0; i < 32; i++)
		raw[i] = (uint8_t)(0xa0 + i);
	/* Raw 32 bytes, even if the last byte is a newline. */
	raw[31] = '\n';
	p = put_file("raw.key", raw, 32, 0600);
	assert_non_null(k = crypto_keys_load_keyfile(p, &err));
	assert_int_equal(k->mode, CRYPTO_KEY_FILE);
	assert_memory_equal(k->secret, raw, 32);
	crypto_keys_free(k);

	/* Hex with a newline, hex without, upper case; mode 0400 is fine. */
	crypto_hex(raw, 32, hex);
	strcat(hex, "\n");
	p = put_file("hex.key", hex, 65, 0400);
	assert_non_null(k = crypto_keys_load_keyfile(p, &err));
	assert_memory_equal(k->secret, raw, 32);
	crypto_keys_free(k);
	p = put_file("hex2.key", hex, 64, 0600);
	assert_non_null(k = crypto_keys_load_keyfile(p, &err));
	assert_memory_equal(k->secret, raw, 32);
	crypto_keys_free(k);
	for (char *c = hex; *c != '\0'; c++)
		if (*c >= 'a' && *c <= 'f')
			*c = (char)(*c - 'a' + 'A');
	p = put_file("hex3.key", hex, 65, 0600);
	assert_non_null(k = crypto_keys_load_keyfile(p, &err));
	assert_memory_equal(k->secret, raw, 32);
	crypto_keys_free(k);

	/* Wrong lengths and contents. */
	p = put_file("short.key", raw, 31, 0600);
	assert_null(crypto_keys_load_keyfile(p, &err));
	assert_non_null(strstr(err.msg,
	    "short.key: not a key file: expected "
	    "32 raw bytes or 64 hex digits, found 31 bytes"));
	p = put_file("two-nl.key",
	    "0000000000000000000000000000000000000000"
	    "000000000000000000000000\n\n",
	    66, 0600);
	assert_null(crypto_keys_load_keyfile(p, &err));
	assert_non_null(strstr(err.msg, "found 66 bytes"));
	hex[5] = 'g';
	p = put_file("nothex.key", hex, 64, 0600);
	assert_null(crypto_keys_load_keyfile(p, &err));
	assert_non_null(strstr(err.msg, "not all hex digits"));
	p = put_file("empty.key", "", 0, 0600);
	assert_null(crypto_keys_load_keyfile(p, &err));
	assert_non_null(strstr(err.msg, "found 0 bytes"));
	{
		static uint8_t big[5000];

		p = put_file("big.key", big, sizeof(big), 0600);
		assert_null(crypto_keys_load_keyfile(p, &err));
		assert_non_null(strstr(err.msg,
		    "big.key: too large for a key "
		    "file"));
	}
}

static void
test_keyfile_permissions(void **state)
{
	struct ag_err err = { "" };
	uint8_t raw[32] = { 7 };
	const char *p;
	char path[256], want[700];

	(void)state;
	p = put_file("open.key", raw, 32, 0640);
	snprintf(path, sizeof(path), "%s", p);
	assert_null(crypto_keys_load_keyfile(path, &err));
	snprintf(want, sizeof(want),
	    "%s: mode 0640 is too open for a key file "
	    "(group or others may access it); chmod 600 %s",
	    path, path);
	assert_string_equal(err.msg, want);

	p = put_file("world.key", raw, 32, 0604);
	assert_null(crypto_keys_load_keyfile(p, &err));
	assert_non_null(strstr(err.msg, "mode 0604 is too open"));
	p = put_file("gw.key", raw, 32, 0620);
	assert_null(crypto_keys_load_keyfile(p, &err));
	assert_non_null(strstr(err.msg, "mode 0620 is too open"));
	p = put_file("pass-open.txt", "secret\n", 7, 0644);
	assert_null(crypto_keys_load_passphrase(p, &err));
	assert_non_null(strstr(err.msg,
	    "mode 0644 is too open for a "
	    "passphrase file"));

	/* Not a regular file; missing. */
	assert_null(crypto_keys_load_keyfile(tu_tmpdir(), &err));
	assert_non_null(strstr(err.msg, "is not a regular file"));
	snprintf(path, sizeof(path), "%s/missing.key", tu_tmpdir());
	assert_null(crypto_keys_load_keyfile(path, &err));
	assert_non_null(strstr(err.msg,
	    "missing.key: cannot open key file: "
	    "No such file or directory"));
}

static void
test_passphrase_file(void **state)
{
	struct ag_err err = { "" };
	struct crypto_key *k;
	const char *p;
	char big[1100];

	(void)state;
	p = put_file("p1", "correct horse\n", 14, 0600);
	assert_non_null(k = crypto_keys_load_passphrase(p, &err));
	assert_int_equal(k->mode, CRYPTO_KEY_PASSPHRASE);
	assert_string_equal(k->pass, "correct horse");
	assert_int_equal(k->passlen, 13);
	assert_int_equal(k->scrypt_log2n, 15);
	assert_int_equal(k->scrypt_r, 8);
	assert_int_equal(k->scrypt_p, 1);
	crypto_keys_free(k);
	/* CRLF; no newline; only one newline stripped; spaces kept. */
	p = put_file("p2", " pass \r\n", 8, 0600);
	assert_non_null(k = crypto_keys_load_passphrase(p, &err));
	assert_string_equal(k->pass, " pass ");
	crypto_keys_free(k);
	p = put_file("p3", "abc", 3, 0600);
	assert_non_null(k = crypto_keys_load_passphrase(p, &err));
	assert_string_equal(k->pass, "abc");
	crypto_keys_free(k);
	p = put_file("p4", "abc\n\n", 5, 0600);
	assert_non_null(k = crypto_keys_load_passphrase(p, &err));
	assert_string_equal(k->pass, "abc\n");
	crypto_keys_free(k);

	p = put_file("p5", "\n", 1, 0600);
	assert_null(crypto_keys_load_passphrase(p, &err));
	assert_non_null(strstr(err.msg, "p5: the passphrase is empty"));
	p = put_file("p6", "a\0b", 3, 0600);
	assert_null(crypto_keys_load_passphrase(p, &err));
	assert_non_null(strstr(err.msg, "contains a NUL byte"));
	memset(big, 'x', sizeof(big));
	p = put_file("p7", big, 1025, 0600);
	assert_null(crypto_keys_load_passphrase(p, &err));
	assert_non_null(strstr(err.msg, "longer than 1024 bytes"));
	p = put_file("p8", big, 1024, 0600);
	assert_non_null(k = crypto_keys_load_passphrase(p, &err));
	assert_int_equal(k->passlen, 1024);

	/* scrypt costs. */
	assert_int_equal(crypto_keys_set_scrypt(k, 10, 8, 1, &err), 0);
	assert_int_equal(k->scrypt_log2n, 10);
	assert_int_equal(crypto_keys_set_scrypt(k, 0, 8, 1, &err), -1);
	assert_int_equal(crypto_keys_set_scrypt(k, 21, 8, 1, &err), -1);
	assert_non_null(strstr(err.msg, "out of range"));
	assert_int_equal(crypto_keys_set_scrypt(k, 10, 8, 17, &err), -1);
	assert_int_equal(k->scrypt_log2n, 10);
	crypto_keys_free(k);
	crypto_keys_free(NULL);
}

/* Written by "openssl genpkey -algorithm X25519" and its public key. */
static const char openssl_x25519_pem[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MC4CAQAwBQYDK2VuBCIEIIDiYMhga0/LZbwptQjZe/ggkdcqxRDvB0xqjMA4wxVF\n"
    "-----END PRIVATE KEY-----\n";
static const char openssl_x25519_pub[] =
    "sc3rw2HCTNygCE32cGn9zWsQxLOkDuQhtRoRy3IvCWU=";
static const char openssl_ed25519_pem[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MC4CAQAwBQYDK2VwBCIEIHe+kse6PvMYh4JpeIqZbaMfuKp3TefX+slEW54PgwUB\n"
    "-----END PRIVATE KEY-----\n";
static const char openssl_encrypted_pem[] =
    "-----BEGIN ENCRYPTED PRIVATE KEY-----\n"
    "MIGbMFcGCSqGSIb3DQEFDTBKMCkGCSqGSIb3DQEFDDAcBAgrgxqyPen18wICCAAw\n"
    "DAYIKoZIhvcNAgkFADAdBglghkgBZQMEASoEEBQdAkfNlsomj+YQ/InXICgEQA5D\n"
    "ymCCYF9bxumazdnH49MydOoH7I6hQSrge6+V+H/+YLweYOKXU46uhVh9+dmQl6QL\n"
    "aHvjjR4Xnm1bnt6LXJU=\n"
    "-----END ENCRYPTED PRIVATE KEY-----\n";

static void
test_x25519_files(void **state)
{
	struct ag_err err = { "" };
	struct crypto_key *k, *pk;
	char pub[CRYPTO_PUBLIC_STR_SIZE], pub2[CRYPTO_PUBLIC_STR_SIZE];
	char path[256];
	struct stat st;
	const char *p;

	(void)state;
	/* A key the openssl command wrote. */
	p = put_file("ossl.pem", openssl_x25519_pem,
	    strlen(openssl_x25519_pem), 0600);
	assert_non_null(k = crypto_keys_load_x25519(p, &err));
	assert_int_equal(k->mode, CRYPTO_KEY_X25519);
	assert_true(k->has_secret);
	assert_int_equal(crypto_keys_public_string(k, pub, sizeof(pub)), 0);
	assert_string_equal(pub, openssl_x25519_pub);
	assert_int_equal(crypto_keys_public_string(k, pub, 44), -1);
	crypto_keys_free(k);

	p = put_file("ed.pem", openssl_ed25519_pem,
	    strlen(openssl_ed25519_pem), 0600);
	assert_null(crypto_keys_load_x25519(p, &err));
	assert_non_null(strstr(err.msg,
	    "ed.pem: not an X25519 key (found "
	    "ED25519)"));
	p = put_file("enc.pem", openssl_encrypted_pem,
	    strlen(openssl_encrypted_pem), 0600);
	assert_null(crypto_keys_load_x25519(p, &err));
	assert_non_null(strstr(err.msg,
	    "enc.pem: not an unencrypted PEM "
	    "private key"));
	p = put_file("garbage.pem", "hello\n", 6, 0600);
	assert_null(crypto_keys_load_x25519(p, &err));
	assert_non_null(strstr(err.msg, "not an unencrypted PEM private key"));
	p = put_file("open.pem", openssl_x25519_pem,
	    strlen(openssl_x25519_pem), 0644);
	assert_null(crypto_keys_load_x25519(p, &err));
	assert_non_null(strstr(err.msg,
	    "mode 0644 is too open for a private "
	    "key file"));

	/* Generate: 0600, loadable, public key agrees; never overwrites. */
	snprintf(path, sizeof(path), "%s/gen.pem", tu_tmpdir());
	assert_int_equal(crypto_keys_generate_x25519(path, pub, sizeof(pub),
			     &err),
	    0);
	assert_int_equal(strlen(pub), 44);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_non_null(k = crypto_keys_load_x25519(path, &err));
	assert_int_equal(crypto_keys_public_string(k, pub2, sizeof(pub2)), 0);
	assert_string_equal(pub, pub2);
	assert_int_equal(crypto_keys_generate_x25519(path, pub2, sizeof(pub2),
			     &err),
	    -1);
	assert_non_null(strstr(err.msg,
	    "gen.pem: already exists; refusing to "
	    "overwrite a key"));
	/* The file is untouched by the refusal. */
	{
		struct crypto_key *k2;

		assert_non_null(k2 = crypto_keys_load_x25519(path, &err));
		assert_memory_equal(k2->secret, k->secret, 32);
		crypto_keys_free(k2);
	}

	/* The public string gives a write-only key. */
	assert_non_null(pk = crypto_keys_from_public(pub, &err));
	assert_false(pk->has_secret);
	assert_memory_equal(pk->pub, k->pub, 32);
	crypto_keys_free(pk);
	{
		char padded[64];

		snprintf(padded, sizeof(padded), "  %s\n", pub);
		assert_non_null(pk = crypto_keys_from_public(padded, &err));
		crypto_keys_free(pk);
	}
	assert_null(crypto_keys_from_public("abc", &err));
	assert_non_null(strstr(err.msg,
	    "public_key: not an X25519 public "
	    "key"));
	assert_null(crypto_keys_from_public(
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", &err));
	assert_null(crypto_keys_from_public(
	    "sc3rw2HCTNygCE32cGn9zWsQxLOkDuQhtRoRy3IvCW!=", &err));
	crypto_keys_free(k);

	/* A directory that does not exist: error, nothing left behind. */
	snprintf(path, sizeof(path), "%s/nodir/gen.pem", tu_tmpdir());
	assert_int_equal(crypto_keys_generate_x25519(path, pub, sizeof(pub),
			     &err),
	    -1);
	assert_non_null(strstr(err.msg, "cannot create"));
}

static void
test_generate_keyfile_and_raw(void **state)
{
	struct ag_err err = { "" };
	struct crypto_key *k, *k2;
	uint8_t b[32];
	char path[256];
	struct stat st;

	(void)state;
	snprintf(path, sizeof(path), "%s/gen.key", tu_tmpdir());
	assert_int_equal(crypto_keys_generate_keyfile(path, &err), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(st.st_size, 65);
	assert_non_null(k = crypto_keys_load_keyfile(path, &err));
	assert_int_equal(crypto_keys_generate_keyfile(path, &err), -1);
	assert_non_null(strstr(err.msg, "already exists"));
	assert_non_null(k2 = crypto_keys_load_keyfile(path, &err));
	assert_memory_equal(k->secret, k2->secret, 32);
	crypto_keys_free(k2);

	assert_non_null(k2 = crypto_keys_from_raw(CRYPTO_KEY_FILE, k->secret,
			    32, &err));
	assert_memory_equal(k->secret, k2->secret, 32);
	crypto_keys_free(k2);
	crypto_keys_free(k);
	assert_null(crypto_keys_from_raw(CRYPTO_KEY_FILE, b, 31, &err));
	assert_non_null(strstr(err.msg, "must be 32 bytes"));

	unhex(x_bpriv, b, 32);
	assert_non_null(k = crypto_keys_from_raw(CRYPTO_KEY_X25519, b, 32,
			    &err));
	assert_hex(k->pub, 32, x_bpub);
	assert_true(k->has_secret);
	crypto_keys_free(k);
	assert_non_null(k = crypto_keys_from_raw(CRYPTO_KEY_PASSPHRASE,
			    (const uint8_t *)"pw", 2, &err));
	assert_string_equal(k->pass, "pw");
	assert_int_equal(crypto_keys_public_string(k, (char *)b, sizeof(b)),
	    -1);
	assert_int_equal(crypto_keys_set_scrypt(k, 10, 1, 1, &err), 0);
	crypto_keys_free(k);
	assert_null(crypto_keys_from_raw(CRYPTO_KEY_PASSPHRASE,
	    (const uint8_t *)"", 0, &err));
	assert_null(crypto_keys_from_raw((enum crypto_key_mode)9, b, 32,
	    &err));
}

/*
 * Processes racing to create and load one key file (two jobs sharing a
 * key, the daemon and the CLI): every loader gets the whole key, the same
 * one, and no temporary file is left behind.
 */
static void
test_generate_race(void **state)
{
	enum { ROUNDS = 40, PROCS = 4 };
	char path[256], probe[300];
	DIR *d;
	struct dirent *de;

	(void)state;
	snprintf(path, sizeof(path), "%s/race", tu_tmpdir());
	assert_int_equal(mkdir(path, 0700), 0);
	for (int round = 0; round < ROUNDS; round++) {
		pid_t pids[PROCS];

		snprintf(path, sizeof(path), "%s/race/k%d", tu_tmpdir(),
		    round);
		for (int i = 0; i < PROCS; i++) {
			assert_true((pids[i] = fork()) >= 0);
			if (pids[i] == 0) {
				struct ag_err err = { "" };
				struct crypto_key *k;

				(void)crypto_keys_generate_keyfile(path, &err);
				k = crypto_keys_load_keyfile(path, &err);
				if (k == NULL)
					fprintf(stderr, "load: %s\n", err.msg);
				_exit(k == NULL);
			}
		}
		for (int i = 0; i < PROCS; i++) {
			int st;

			assert_int_equal(waitpid(pids[i], &st, 0), pids[i]);
			assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
		}
	}
	snprintf(probe, sizeof(probe), "%s/race", tu_tmpdir());
	assert_non_null(d = opendir(probe));
	while ((de = readdir(d)) != NULL)
		assert_null(strstr(de->d_name, ".new-"));
	closedir(d);
	/* A symlink where the key goes is never followed or replaced. */
	snprintf(path, sizeof(path), "%s/race/link", tu_tmpdir());
	snprintf(probe, sizeof(probe), "%s/race/target", tu_tmpdir());
	assert_int_equal(symlink(probe, path), 0);
	{
		struct ag_err err = { "" };

		assert_int_equal(crypto_keys_generate_keyfile(path, &err), -1);
		assert_non_null(strstr(err.msg, "already exists"));
		assert_int_equal(access(probe, F_OK), -1);
	}
}

/* ---- Ed25519 ---- */

/* RFC 8032 section 7.1, test 3 (a two-byte message). */
static const char ed_priv[] =
    "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7";
static const char ed_pub[] =
    "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025";
static const char ed_msg[] = "af82";
static const char ed_sig[] =
    "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac"
    "18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a";

static void
test_ed25519_rfc8032(void **state)
{
	struct ag_err err = { "" };
	struct crypto_signer *s;
	uint8_t seed[32], pub[32], msg[2], sig[64], want[64];
	char str[CRYPTO_SIGN_PUBSTR_SIZE];

	(void)state;
	unhex(ed_priv, seed, 32);
	unhex(ed_pub, pub, 32);
	unhex(ed_msg, msg, 2);
	unhex(ed_sig, want, 64);
	assert_non_null(s = crypto_sign_from_seed(seed, &err));
	assert_hex(crypto_sign_public(s), 32, ed_pub);
	assert_int_equal(crypto_sign_sign(s, msg, 2, sig), 0);
	assert_memory_equal(sig, want, 64);
	assert_int_equal(crypto_sign_verify(pub, msg, 2, sig), 0);
	/* Any change is refused: message, signature, key. */
	msg[1] ^= 1;
	assert_int_equal(crypto_sign_verify(pub, msg, 2, sig), -1);
	msg[1] ^= 1;
	sig[63] ^= 0x40;
	assert_int_equal(crypto_sign_verify(pub, msg, 2, sig), -1);
	sig[63] ^= 0x40;
	pub[0] ^= 1;
	assert_int_equal(crypto_sign_verify(pub, msg, 2, sig), -1);
	pub[0] ^= 1;
	/* The base64 form round-trips. */
	assert_int_equal(crypto_sign_public_string(pub, str, sizeof(str)), 0);
	memset(pub, 0, 32);
	assert_int_equal(crypto_sign_parse_public(str, pub), 0);
	assert_hex(pub, 32, ed_pub);
	assert_int_equal(crypto_sign_parse_public("abc", pub), -1);
	crypto_sign_free(s);
}

static void
test_ed25519_files(void **state)
{
	struct ag_err err = { "" };
	struct crypto_signer *s, *s2;
	char pub[CRYPTO_SIGN_PUBSTR_SIZE], pub2[CRYPTO_SIGN_PUBSTR_SIZE];
	char path[256], want[1024];
	uint8_t sig[64];
	struct stat st;
	const char *p;

	(void)state;
	/* A key the openssl command wrote loads and signs. */
	p = put_file("sign.pem", openssl_ed25519_pem,
	    strlen(openssl_ed25519_pem), 0600);
	assert_non_null(s = crypto_sign_load(p, &err));
	assert_int_equal(crypto_sign_sign(s, (const uint8_t *)"m", 1, sig), 0);
	assert_int_equal(crypto_sign_verify(crypto_sign_public(s),
			     (const uint8_t *)"m", 1, sig),
	    0);
	crypto_sign_free(s);
	/* Mode 0644: refused like every secret file. */
	p = put_file("sign-open.pem", openssl_ed25519_pem,
	    strlen(openssl_ed25519_pem), 0644);
	assert_null(crypto_sign_load(p, &err));
	snprintf(want, sizeof(want),
	    "%s: mode 0644 is too open for a signing "
	    "key file (group or others may access it); chmod 600 %s",
	    p, p);
	assert_string_equal(err.msg, want);
	/* An X25519 key is not a signing key. */
	p = put_file("x.pem", openssl_x25519_pem, strlen(openssl_x25519_pem),
	    0600);
	assert_null(crypto_sign_load(p, &err));
	assert_non_null(strstr(err.msg,
	    "x.pem: not an ED25519 key (found "
	    "X25519)"));

	/* Generate: 0600, loadable, the public key agrees; no overwrite. */
	snprintf(path, sizeof(path), "%s/gen-sign.pem", tu_tmpdir());
	assert_int_equal(crypto_sign_generate(path, pub, sizeof(pub), &err),
	    0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_non_null(s = crypto_sign_load(path, &err));
	assert_int_equal(crypto_sign_public_string(crypto_sign_public(s), pub2,
			     sizeof(pub2)),
	    0);
	assert_string_equal(pub, pub2);
	assert_int_equal(crypto_sign_generate(path, pub2, sizeof(pub2), &err),
	    -1);
	assert_non_null(strstr(err.msg, "already exists"));
	assert_non_null(s2 = crypto_sign_load(path, &err));
	assert_memory_equal(crypto_sign_public(s2), crypto_sign_public(s), 32);
	crypto_sign_free(s2);
	crypto_sign_free(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gcm_known_answer),
		cmocka_unit_test(test_gcm_in_place_and_tamper),
		cmocka_unit_test(test_gcm_empty_and_large),
		cmocka_unit_test(test_hkdf_rfc5869),
		cmocka_unit_test(test_scrypt_rfc7914),
		cmocka_unit_test(test_x25519_rfc7748),
		cmocka_unit_test(test_keyfile_formats),
		cmocka_unit_test(test_keyfile_permissions),
		cmocka_unit_test(test_passphrase_file),
		cmocka_unit_test(test_x25519_files),
		cmocka_unit_test(test_generate_keyfile_and_raw),
		cmocka_unit_test(test_generate_race),
		cmocka_unit_test(test_ed25519_rfc8032),
		cmocka_unit_test(test_ed25519_files),
	};

	return cmocka_run_group_tests(tests, tu_tmpdir_setup,
	    tu_tmpdir_teardown);
}
