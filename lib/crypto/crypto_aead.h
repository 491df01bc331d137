/*
 * crypto_aead.h: the symmetric and key-agreement primitives of the backup
 * format (docs/BACKUP-FORMAT.md): AES-256-GCM with a reusable context,
 * HKDF-SHA256, scrypt and X25519.  Only lib/crypto/ sees OpenSSL; callers
 * pass plain byte arrays.
 *
 * Every function returns 0 on success and -1 on failure (bad parameters,
 * OpenSSL failure, or for crypto_aead_open() an authentication failure) and
 * wipes the key material it derived internally.  None of them logs.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef VIGIL_CRYPTO_AEAD_H
#define VIGIL_CRYPTO_AEAD_H

#include <stddef.h>
#include <stdint.h>

#define CRYPTO_AEAD_KEYLEN 32	/* AES-256 */
#define CRYPTO_AEAD_NONCELEN 12 /* 96-bit GCM nonce */
#define CRYPTO_AEAD_TAGLEN 16	/* full 128-bit tag */
#define CRYPTO_X25519_LEN 32	/* raw public, private, shared keys */

/* An AES-256-GCM key schedule plus cipher context; one per thread. */
struct crypto_aead;

/**
 * crypto_aead_new(key):
 * Return a context holding the AES-256-GCM key ${key} (32 bytes), or NULL
 * on allocation or OpenSSL failure.  The cipher is fetched once here, so
 * seal and open cost no per-call lookup.  A context is not thread-safe: use
 * one per worker.  The caller may wipe ${key} afterwards.
 */
struct crypto_aead *crypto_aead_new(const uint8_t key[CRYPTO_AEAD_KEYLEN]);

/**
 * crypto_aead_rekey(ctx, key):
 * Replace the key of ${ctx} by ${key}.  Return 0 or -1.
 */
int crypto_aead_rekey(struct crypto_aead *ctx,
    const uint8_t key[CRYPTO_AEAD_KEYLEN]);

/**
 * crypto_aead_seal(ctx, nonce, aad, aadlen, in, len, out, tag):
 * Encrypt ${len} bytes of ${in} into ${out} (also ${len} bytes) under the
 * key of ${ctx} and the 12-byte ${nonce}, authenticating ${aad} (${aadlen}
 * bytes, may be NULL if 0) as well; write the 16-byte tag into ${tag}.
 * ${out} may equal ${in} (in place); no other overlap is allowed.  The
 * caller guarantees that a (key, nonce) pair is never used twice.
 * Allocation-free.  Return 0 or -1.
 */
int crypto_aead_seal(struct crypto_aead *ctx,
    const uint8_t nonce[CRYPTO_AEAD_NONCELEN], const uint8_t *aad,
    size_t aadlen, const uint8_t *in, size_t len, uint8_t *out,
    uint8_t tag[CRYPTO_AEAD_TAGLEN]);

/**
 * crypto_aead_open(ctx, nonce, aad, aadlen, in, len, out, tag):
 * Decrypt and verify what crypto_aead_seal() produced.  ${out} may equal
 * ${in}.  Return 0 if the tag verifies (GCM's own constant-time check);
 * otherwise -1, and the ${len} bytes of ${out} are wiped so that no
 * unauthenticated plaintext escapes.  Allocation-free.
 */
int crypto_aead_open(struct crypto_aead *ctx,
    const uint8_t nonce[CRYPTO_AEAD_NONCELEN], const uint8_t *aad,
    size_t aadlen, const uint8_t *in, size_t len, uint8_t *out,
    const uint8_t tag[CRYPTO_AEAD_TAGLEN]);

/* crypto_aead_free(ctx): wipe and free ${ctx}; NULL is a no-op. */
void crypto_aead_free(struct crypto_aead *ctx);

/**
 * crypto_hkdf_sha256(ikm, ikmlen, salt, saltlen, info, infolen, out, outlen):
 * HKDF-SHA256 (RFC 5869, extract then expand) of ${ikm} with ${salt}
 * (may be NULL/0, meaning the RFC's zero salt) and ${info} (may be NULL/0)
 * into ${outlen} bytes of ${out} (at most 255 * 32).  Return 0 or -1.
 */
int crypto_hkdf_sha256(const uint8_t *ikm, size_t ikmlen, const uint8_t *salt,
    size_t saltlen, const uint8_t *info, size_t infolen, uint8_t *out,
    size_t outlen);

/* Largest scrypt cost accepted: 128 * r * N bytes of memory at most. */
#define CRYPTO_SCRYPT_MAXMEM ((uint64_t)1 << 30)

/**
 * crypto_scrypt(pass, passlen, salt, saltlen, n, r, p, out, outlen):
 * scrypt (RFC 7914) of the passphrase ${pass} with ${salt} and costs ${n}
 * (a power of two > 1), ${r}, ${p} into ${outlen} bytes of ${out}.  Refuses
 * costs needing more than CRYPTO_SCRYPT_MAXMEM of memory, or p > 16.  May
 * take a second and that memory.  Return 0 or -1.
 */
int crypto_scrypt(const uint8_t *pass, size_t passlen, const uint8_t *salt,
    size_t saltlen, uint64_t n, uint32_t r, uint32_t p, uint8_t *out,
    size_t outlen);

/**
 * crypto_x25519_keygen(priv, pub):
 * Generate an X25519 key pair from RAND_bytes(); raw 32-byte encodings
 * (RFC 7748).  Return 0 or -1.
 */
int crypto_x25519_keygen(uint8_t priv[CRYPTO_X25519_LEN],
    uint8_t pub[CRYPTO_X25519_LEN]);

/**
 * crypto_x25519_public(priv, pub):
 * The public key of the raw private key ${priv}.  Return 0 or -1.
 */
int crypto_x25519_public(const uint8_t priv[CRYPTO_X25519_LEN],
    uint8_t pub[CRYPTO_X25519_LEN]);

/**
 * crypto_x25519_derive(priv, peer, shared):
 * X25519 Diffie-Hellman of our ${priv} and the ${peer} public key into
 * ${shared}.  Fails (-1) on an all-zero result (a low-order ${peer}).
 */
int crypto_x25519_derive(const uint8_t priv[CRYPTO_X25519_LEN],
    const uint8_t peer[CRYPTO_X25519_LEN], uint8_t shared[CRYPTO_X25519_LEN]);

#endif
