/*
 * crypto_sign.h: Ed25519 signatures (RFC 8032, pure Ed25519), for signing
 * backup manifests so that a reader can tell who wrote a backup
 * (docs/BACKUP-FORMAT.md, section 3.5).
 *
 * A signing key is an Ed25519 private key kept in an unencrypted PKCS#8 PEM
 * file (what "openssl genpkey -algorithm ed25519" writes), a secret file
 * under the same rules as the backup keys: a regular file with no
 * permission bits for group or others.  A public key is written as the
 * base64 of its 32 raw bytes, like an X25519 public_key.  Ed25519 is
 * deterministic: one key and one message always give the same signature.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef VIGIL_CRYPTO_SIGN_H
#define VIGIL_CRYPTO_SIGN_H

#include <stddef.h>
#include <stdint.h>

struct ag_err;

#define CRYPTO_SIGN_PUBLEN 32  /* raw Ed25519 public key */
#define CRYPTO_SIGN_SEEDLEN 32 /* raw Ed25519 private key */
#define CRYPTO_SIGN_LEN 64     /* signature */
/* Base64 of a public key: 44 characters and a NUL. */
#define CRYPTO_SIGN_PUBSTR_SIZE 45

/* An Ed25519 private key; wiped when freed. */
struct crypto_signer;

/**
 * crypto_sign_load(path, err):
 * Load the Ed25519 signing key from the PEM file ${path}, refusing a file
 * that is not regular or that group or others may access.  Return the key
 * or NULL with a message naming ${path} (never the key).
 */
struct crypto_signer *crypto_sign_load(const char *path, struct ag_err *err);

/**
 * crypto_sign_from_seed(seed, err):
 * The signing key whose 32-byte private key is ${seed}.  For known-answer
 * tests.  Return the key or NULL.
 */
struct crypto_signer *crypto_sign_from_seed(
    const uint8_t seed[CRYPTO_SIGN_SEEDLEN], struct ag_err *err);

/**
 * crypto_sign_generate(path, ret_pub, publen, err):
 * Generate an Ed25519 key, write it as PKCS#8 PEM to a new file ${path}
 * (mode 0600, fsync'd, linked in whole: never overwritten) and store the
 * base64 public key in ${ret_pub} (${publen} >= CRYPTO_SIGN_PUBSTR_SIZE).
 * Return 0 or -1; on failure no file is left.
 */
int crypto_sign_generate(const char *path, char *ret_pub, size_t publen,
    struct ag_err *err);

/* crypto_sign_public(s): the 32-byte public key of ${s}; it belongs to ${s}. */
const uint8_t *crypto_sign_public(const struct crypto_signer *s);

/**
 * crypto_sign_sign(s, msg, len, sig):
 * Sign the ${len} bytes of ${msg} with ${s} into ${sig} (64 bytes).
 * Return 0 or -1.
 */
int crypto_sign_sign(const struct crypto_signer *s, const uint8_t *msg,
    size_t len, uint8_t sig[CRYPTO_SIGN_LEN]);

/**
 * crypto_sign_verify(pub, msg, len, sig):
 * Return 0 if ${sig} is a valid signature of ${msg} under the public key
 * ${pub}, else -1 (also for a malformed public key).
 */
int crypto_sign_verify(const uint8_t pub[CRYPTO_SIGN_PUBLEN],
    const uint8_t *msg, size_t len, const uint8_t sig[CRYPTO_SIGN_LEN]);

/**
 * crypto_sign_parse_public(b64, pub):
 * Decode the base64 public key ${b64} (44 characters; surrounding white
 * space ignored) into ${pub}.  Return 0, or -1 if it is not the base64 of
 * 32 bytes.
 */
int crypto_sign_parse_public(const char *b64, uint8_t pub[CRYPTO_SIGN_PUBLEN]);

/**
 * crypto_sign_public_string(pub, out, outlen):
 * The base64 of ${pub} into ${out} (>= CRYPTO_SIGN_PUBSTR_SIZE bytes).
 * Return 0 or -1.
 */
int crypto_sign_public_string(const uint8_t pub[CRYPTO_SIGN_PUBLEN], char *out,
    size_t outlen);

/* crypto_sign_free(s): wipe and free ${s}; NULL is a no-op. */
void crypto_sign_free(struct crypto_signer *s);

#endif
