/*
 * crypto_hash.c: streaming SHA-256 over OpenSSL's EVP digest interface (see
 * crypto_hash.h).  A failure is sticky: once an update failed, the digest
 * of that context is never produced.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <stdlib.h>

#include <openssl/evp.h>

#include "lib/crypto/crypto_hash.h"

struct crypto_hash {
	EVP_MD_CTX *ctx;
	int failed; /* an update or the final failed */
	int done;   /* final called */
};

/**
 * crypto_hash_sha256_new():
 * A new SHA-256 context.  Return it, or NULL on allocation failure.
 */
struct crypto_hash *
crypto_hash_sha256_new(void)
{
	struct crypto_hash *h;

	if ((h = calloc(1, sizeof(*h))) == NULL)
		return NULL;
	if ((h->ctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(h->ctx, EVP_sha256(), NULL) != 1) {
		EVP_MD_CTX_free(h->ctx);
		free(h);
		return NULL;
	}
	return h;
}

/**
 * crypto_hash_update(h, buf, len):
 * Hash ${len} more bytes of ${buf}.  Return 0 or -1 (OpenSSL failure;
 * later calls then fail too).
 */
int
crypto_hash_update(struct crypto_hash *h, const void *buf, size_t len)
{
	if (h->failed || h->done)
		return -1;
	if (len == 0)
		return 0;
	if (EVP_DigestUpdate(h->ctx, buf, len) != 1) {
		h->failed = 1;
		return -1;
	}
	return 0;
}

/**
 * crypto_hash_final(h, out):
 * Store the digest of everything hashed into ${out} (32 bytes).  The
 * context cannot be updated afterwards.  Return 0 or -1.
 */
int
crypto_hash_final(struct crypto_hash *h, uint8_t out[CRYPTO_SHA256_LEN])
{
	unsigned int len = CRYPTO_SHA256_LEN;

	if (h->failed || h->done)
		return -1;
	h->done = 1;
	if (EVP_DigestFinal_ex(h->ctx, out, &len) != 1 ||
	    len != CRYPTO_SHA256_LEN) {
		h->failed = 1;
		return -1;
	}
	return 0;
}

/* crypto_hash_free(h): free ${h}; NULL is a no-op. */
void
crypto_hash_free(struct crypto_hash *h)
{
	if (h == NULL)
		return;
	EVP_MD_CTX_free(h->ctx);
	free(h);
}
