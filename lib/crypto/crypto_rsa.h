/*
 * crypto_rsa.h: RSA private keys and RSASSA-PKCS1-v1_5 signatures with
 * SHA-256 (RS256 of RFC 7518, GOOG4-RSA-SHA256 of GCS signed URLs), for the
 * clouds whose credentials are RSA keys (lib/cloud/gcp/).  The key lives
 * in OpenSSL's memory and is freed with it; it never leaves this module.
 * PKCS#1 v1.5 signing is deterministic: one key and one message give one
 * signature, which is what the known-answer tests rely on.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef VIGIL_CRYPTO_RSA_H
#define VIGIL_CRYPTO_RSA_H

#include <stddef.h>
#include <stdint.h>

struct ag_err;

/* The largest signature made: a 8192-bit key. */
#define CRYPTO_RSA_SIG_MAX 1024

struct crypto_rsa;

/* The components of an RSA private key, big-endian bytes (a JWK's). */
struct crypto_rsa_parts {
	const uint8_t *n, *e, *d, *p, *q, *dp, *dq, *qi;
	size_t nlen, elen, dlen, plen, qlen, dplen, dqlen, qilen;
};

/**
 * crypto_rsa_from_pem(pem, len, err):
 * The RSA private key of the unencrypted PEM text ${pem} (${len} bytes;
 * PKCS#8 "PRIVATE KEY" or PKCS#1 "RSA PRIVATE KEY").  Return it, or NULL
 * with a message that does not quote the text.
 */
struct crypto_rsa *crypto_rsa_from_pem(const char *pem, size_t len,
    struct ag_err *err);

/**
 * crypto_rsa_from_parts(parts, err):
 * The RSA private key made of ${parts} (all eight present).  Return it or
 * NULL with a message.
 */
struct crypto_rsa *crypto_rsa_from_parts(const struct crypto_rsa_parts *parts,
    struct ag_err *err);

/**
 * crypto_rsa_sign_sha256(key, msg, len, sig, cap, ret_siglen):
 * Sign the ${len} bytes of ${msg} with ${key}, RSASSA-PKCS1-v1_5 over
 * SHA-256, into ${sig} (${cap} bytes, at least the key's size) and store
 * the signature's length in ${ret_siglen}.  Return 0 or -1.
 */
int crypto_rsa_sign_sha256(const struct crypto_rsa *key, const void *msg,
    size_t len, uint8_t *sig, size_t cap, size_t *ret_siglen);

/**
 * crypto_rsa_verify_sha256(key, msg, len, sig, siglen):
 * Return 0 if ${sig} is the RS256 signature of ${msg} under ${key}'s
 * public half, else -1.
 */
int crypto_rsa_verify_sha256(const struct crypto_rsa *key, const void *msg,
    size_t len, const uint8_t *sig, size_t siglen);

/* crypto_rsa_free(key): free ${key}; NULL is a no-op. */
void crypto_rsa_free(struct crypto_rsa *key);

/**
 * crypto_secret_file_read(path, what, max, ret_buf, ret_len, err):
 * Read the secret file ${path} (a ${what}, for messages) of at most ${max}
 * bytes into a new NUL-terminated buffer in ${ret_buf}, its length in
 * ${ret_len}; free it with crypto_secret_free().  The file obeys the rules
 * of the backup keys (crypto_keys.h): a regular file with no permission
 * bits for group or others, else refused naming the file and its mode.
 * Return 0 or -1 with a message.
 */
int crypto_secret_file_read(const char *path, const char *what, size_t max,
    char **ret_buf, size_t *ret_len, struct ag_err *err);

/* crypto_secret_free(buf, len): wipe and free what the above returned. */
void crypto_secret_free(char *buf, size_t len);

#endif
