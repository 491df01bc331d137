/*
 * crypto_hash.h: streaming SHA-256, for hashes of data that never sits in
 * memory whole (the tar stream of a backup, a file index spilled to disk).
 * crypto_sha256() in crypto.h is the one-shot form.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef VIGIL_CRYPTO_HASH_H
#define VIGIL_CRYPTO_HASH_H

#include <stddef.h>
#include <stdint.h>

#include "lib/crypto/crypto.h"

struct crypto_hash;

/**
 * crypto_hash_sha256_new():
 * A new SHA-256 context.  Return it, or NULL on allocation failure.
 */
struct crypto_hash *crypto_hash_sha256_new(void);

/**
 * crypto_hash_update(h, buf, len):
 * Hash ${len} more bytes of ${buf}.  Return 0 or -1 (OpenSSL failure;
 * later calls then fail too).
 */
int crypto_hash_update(struct crypto_hash *h, const void *buf, size_t len);

/**
 * crypto_hash_final(h, out):
 * Store the digest of everything hashed into ${out} (32 bytes).  The
 * context cannot be updated afterwards.  Return 0 or -1.
 */
int crypto_hash_final(struct crypto_hash *h, uint8_t out[CRYPTO_SHA256_LEN]);

/* crypto_hash_free(h): free ${h}; NULL is a no-op. */
void crypto_hash_free(struct crypto_hash *h);

#endif
