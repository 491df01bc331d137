/*
 * crypto.h: the small verbs the rest of vigil uses; only lib/crypto/ includes
 * OpenSSL.  Backup encryption (AEAD, key wrapping, KDF) lives in
 * crypto_aead.h and crypto_keys.h beside this file.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef VIGIL_CRYPTO_H
#define VIGIL_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#define CRYPTO_SHA256_LEN 32

/**
 * crypto_hmac_sha256(key, keylen, msg, msglen, out):
 * HMAC-SHA256 of ${msg} under ${key} into ${out} (32 bytes).  Return 0 or -1.
 */
int crypto_hmac_sha256(const void *key, size_t keylen, const void *msg,
    size_t msglen, uint8_t out[CRYPTO_SHA256_LEN]);

/* crypto_sha256(msg, len, out): SHA-256.  Return 0 or -1. */
int crypto_sha256(const void *msg, size_t len, uint8_t out[CRYPTO_SHA256_LEN]);

#define CRYPTO_MD5_LEN 16

/*
 * crypto_md5(msg, len, out): MD5, for protocols that ask for it as a
 * transfer check (S3's Content-MD5), never for security.  Return 0 or -1.
 */
int crypto_md5(const void *msg, size_t len, uint8_t out[CRYPTO_MD5_LEN]);

/* crypto_random(buf, len): ${len} bytes from RAND_bytes().  Return 0 or -1. */
int crypto_random(void *buf, size_t len);

/* crypto_wipe(buf, len): OPENSSL_cleanse(); safe with NULL. */
void crypto_wipe(void *buf, size_t len);

/* crypto_memeq(a, b, len): constant-time comparison; 1 if equal. */
int crypto_memeq(const void *a, const void *b, size_t len);

/**
 * crypto_hex(in, len, out):
 * Lower-case hex of ${in} into ${out}, which holds 2 * ${len} + 1 bytes.
 */
void crypto_hex(const uint8_t *in, size_t len, char *out);

/* crypto_hexval(c): the value of hex digit ${c} (either case), or -1. */
int crypto_hexval(int c);

/**
 * crypto_base64(in, len, out, outlen):
 * Standard base64 with padding, NUL-terminated.  ${outlen} must be at least
 * 4 * ((${len} + 2) / 3) + 1.  Return the length written, or -1.
 */
int crypto_base64(const uint8_t *in, size_t len, char *out, size_t outlen);

/**
 * crypto_unbase64(in, out, outlen):
 * Decode standard base64 (padding optional).  Return the length or -1.
 */
int crypto_unbase64(const char *in, uint8_t *out, size_t outlen);

/**
 * crypto_base64url(in, len, out, outlen):
 * Base64url without padding (RFC 4648 section 5, as JWS uses it),
 * NUL-terminated.  ${outlen} must be at least 4 * ((${len} + 2) / 3) + 1.
 * Return the length written, or -1.
 */
int crypto_base64url(const uint8_t *in, size_t len, char *out, size_t outlen);

/**
 * crypto_unbase64url(in, out, outlen):
 * Decode base64url (padding optional).  Return the length or -1.
 */
int crypto_unbase64url(const char *in, uint8_t *out, size_t outlen);

/**
 * crypto_unbase64_32(b64, out):
 * Decode ${b64}, the base64 of exactly 32 bytes (44 characters; white
 * space around it ignored), into ${out}.  Return 0 or -1.
 */
int crypto_unbase64_32(const char *b64, uint8_t out[32]);

#endif
