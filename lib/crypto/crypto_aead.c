/*
 * crypto_aead.c: AES-256-GCM, HKDF-SHA256, scrypt and X25519 over the
 * OpenSSL 3 EVP interfaces.
 *
 * The AEAD context fetches the cipher and expands the key once; seal and
 * open only set the nonce (EVP_CipherInit_ex2 with a NULL cipher and key
 * keeps both) and run update/final, so the encrypt stage pays no per-chunk
 * lookup or allocation.  GCM verifies its own tag in constant time in
 * EVP_CipherFinal_ex().  Derived secrets on the stack are wiped before
 * returning; OpenSSL wipes its own contexts when they are freed.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include "lib/crypto/crypto_aead.h"

struct crypto_aead {
	EVP_CIPHER *cipher;
	EVP_CIPHER_CTX *ctx;
};

/* OpenSSL's update functions take int lengths: feed at most this much. */
#define UPDATE_MAX ((size_t)1 << 30)

struct crypto_aead *
crypto_aead_new(const uint8_t key[CRYPTO_AEAD_KEYLEN])
{
	struct crypto_aead *a;

	if ((a = calloc(1, sizeof(*a))) == NULL)
		goto err0;
	if ((a->cipher = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL)) == NULL)
		goto err1;
	if ((a->ctx = EVP_CIPHER_CTX_new()) == NULL)
		goto err2;
	if (EVP_CipherInit_ex2(a->ctx, a->cipher, key, NULL, 1, NULL) != 1)
		goto err3;
	return a;

err3:
	EVP_CIPHER_CTX_free(a->ctx);
err2:
	EVP_CIPHER_free(a->cipher);
err1:
	free(a);
err0:
	return NULL;
}

int
crypto_aead_rekey(struct crypto_aead *a, const uint8_t key[CRYPTO_AEAD_KEYLEN])
{
	return EVP_CipherInit_ex2(a->ctx, NULL, key, NULL, 1, NULL) == 1 ? 0 :
									   -1;
}

/* Feed ${len} bytes of ${in} to the cipher, in pieces OpenSSL accepts. */
static int
update(EVP_CIPHER_CTX *ctx, const uint8_t *in, size_t len, uint8_t *out)
{
	int outl;

	while (len > 0) {
		size_t n = len < UPDATE_MAX ? len : UPDATE_MAX;

		if (EVP_CipherUpdate(ctx, out, &outl, in, (int)n) != 1 ||
		    (out != NULL && (size_t)outl != n))
			return -1;
		in += n;
		if (out != NULL)
			out += n;
		len -= n;
	}
	return 0;
}

int
crypto_aead_seal(struct crypto_aead *a,
    const uint8_t nonce[CRYPTO_AEAD_NONCELEN], const uint8_t *aad,
    size_t aadlen, const uint8_t *in, size_t len, uint8_t *out,
    uint8_t tag[CRYPTO_AEAD_TAGLEN])
{
	uint8_t dummy[16];
	int outl;

	if (EVP_CipherInit_ex2(a->ctx, NULL, NULL, nonce, 1, NULL) != 1)
		return -1;
	if (aadlen > 0 && update(a->ctx, aad, aadlen, NULL) != 0)
		return -1;
	if (len > 0 && update(a->ctx, in, len, out) != 0)
		return -1;
	/* GCM is a stream mode: final produces no bytes. */
	if (EVP_CipherFinal_ex(a->ctx, dummy, &outl) != 1 || outl != 0)
		return -1;
	if (EVP_CIPHER_CTX_ctrl(a->ctx, EVP_CTRL_AEAD_GET_TAG,
		CRYPTO_AEAD_TAGLEN, tag) != 1)
		return -1;
	return 0;
}

int
crypto_aead_open(struct crypto_aead *a,
    const uint8_t nonce[CRYPTO_AEAD_NONCELEN], const uint8_t *aad,
    size_t aadlen, const uint8_t *in, size_t len, uint8_t *out,
    const uint8_t tag[CRYPTO_AEAD_TAGLEN])
{
	uint8_t dummy[16];
	uint8_t t[CRYPTO_AEAD_TAGLEN];
	int outl;

	/* The ctrl takes a non-const pointer; give it a copy. */
	memcpy(t, tag, sizeof(t));
	if (EVP_CipherInit_ex2(a->ctx, NULL, NULL, nonce, 0, NULL) != 1)
		goto fail;
	if (aadlen > 0 && update(a->ctx, aad, aadlen, NULL) != 0)
		goto fail;
	if (len > 0 && update(a->ctx, in, len, out) != 0)
		goto fail;
	if (EVP_CIPHER_CTX_ctrl(a->ctx, EVP_CTRL_AEAD_SET_TAG,
		CRYPTO_AEAD_TAGLEN, t) != 1)
		goto fail;
	if (EVP_CipherFinal_ex(a->ctx, dummy, &outl) != 1)
		goto fail;
	return 0;

fail:
	/* Never let unauthenticated plaintext out. */
	if (len > 0)
		OPENSSL_cleanse(out, len);
	return -1;
}

void
crypto_aead_free(struct crypto_aead *a)
{
	if (a == NULL)
		return;
	/* EVP_CIPHER_CTX_free() cleanses the key schedule. */
	EVP_CIPHER_CTX_free(a->ctx);
	EVP_CIPHER_free(a->cipher);
	free(a);
}

/* Run the KDF ${name} with ${params} into ${out}. */
static int
kdf_derive(const char *name, const OSSL_PARAM params[], uint8_t *out,
    size_t outlen)
{
	EVP_KDF *kdf;
	EVP_KDF_CTX *kctx;
	int rc = -1;

	if ((kdf = EVP_KDF_fetch(NULL, name, NULL)) == NULL)
		goto err0;
	if ((kctx = EVP_KDF_CTX_new(kdf)) == NULL)
		goto err1;
	if (EVP_KDF_derive(kctx, out, outlen, params) == 1)
		rc = 0;
	EVP_KDF_CTX_free(kctx);
err1:
	EVP_KDF_free(kdf);
err0:
	return rc;
}

int
crypto_hkdf_sha256(const uint8_t *ikm, size_t ikmlen, const uint8_t *salt,
    size_t saltlen, const uint8_t *info, size_t infolen, uint8_t *out,
    size_t outlen)
{
	OSSL_PARAM params[5], *p = params;

	if (ikm == NULL || ikmlen == 0 || outlen == 0 || outlen > 255 * 32)
		return -1;
	*p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
	    (char *)"SHA256", 0);
	*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
	    (void *)ikm, ikmlen);
	if (salt != NULL && saltlen > 0)
		*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT,
		    (void *)salt, saltlen);
	if (info != NULL && infolen > 0)
		*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO,
		    (void *)info, infolen);
	*p = OSSL_PARAM_construct_end();
	return kdf_derive("HKDF", params, out, outlen);
}

int
crypto_scrypt(const uint8_t *pass, size_t passlen, const uint8_t *salt,
    size_t saltlen, uint64_t n, uint32_t r, uint32_t p, uint8_t *out,
    size_t outlen)
{
	OSSL_PARAM params[7], *pp = params;
	uint64_t maxmem;

	/* N a power of two above 1; memory 128 * r * N within the cap. */
	if (n < 2 || (n & (n - 1)) != 0 || r == 0 || p == 0 || p > 16)
		return -1;
	if (n > CRYPTO_SCRYPT_MAXMEM / 128 ||
	    (uint64_t)r > CRYPTO_SCRYPT_MAXMEM / (128 * n))
		return -1;
	if (outlen == 0 || (salt == NULL && saltlen > 0))
		return -1;
	/* Let OpenSSL use V (128 r N) plus B (128 r p) and some slack. */
	maxmem = 128 * (uint64_t)r * (n + 2) + 128 * (uint64_t)r * p + 4096;
	*pp++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PASSWORD,
	    (void *)pass, passlen);
	*pp++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT,
	    (void *)salt, saltlen);
	*pp++ = OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_N, &n);
	*pp++ = OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_R, &r);
	*pp++ = OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_P, &p);
	*pp++ = OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_MAXMEM,
	    &maxmem);
	*pp = OSSL_PARAM_construct_end();
	return kdf_derive("SCRYPT", params, out, outlen);
}

int
crypto_x25519_keygen(uint8_t priv[CRYPTO_X25519_LEN],
    uint8_t pub[CRYPTO_X25519_LEN])
{
	EVP_PKEY *pk;
	size_t len;
	int rc = -1;

	if ((pk = EVP_PKEY_Q_keygen(NULL, NULL, "X25519")) == NULL)
		return -1;
	len = CRYPTO_X25519_LEN;
	if (EVP_PKEY_get_raw_private_key(pk, priv, &len) != 1 ||
	    len != CRYPTO_X25519_LEN)
		goto out;
	len = CRYPTO_X25519_LEN;
	if (EVP_PKEY_get_raw_public_key(pk, pub, &len) != 1 ||
	    len != CRYPTO_X25519_LEN)
		goto out;
	rc = 0;
out:
	if (rc != 0)
		OPENSSL_cleanse(priv, CRYPTO_X25519_LEN);
	EVP_PKEY_free(pk);
	return rc;
}

int
crypto_x25519_public(const uint8_t priv[CRYPTO_X25519_LEN],
    uint8_t pub[CRYPTO_X25519_LEN])
{
	EVP_PKEY *pk;
	size_t len = CRYPTO_X25519_LEN;
	int rc = -1;

	if ((pk = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, priv,
		 CRYPTO_X25519_LEN)) == NULL)
		return -1;
	if (EVP_PKEY_get_raw_public_key(pk, pub, &len) == 1 &&
	    len == CRYPTO_X25519_LEN)
		rc = 0;
	EVP_PKEY_free(pk);
	return rc;
}

int
crypto_x25519_derive(const uint8_t priv[CRYPTO_X25519_LEN],
    const uint8_t peer[CRYPTO_X25519_LEN], uint8_t shared[CRYPTO_X25519_LEN])
{
	static const uint8_t zero[CRYPTO_X25519_LEN];
	EVP_PKEY *pk, *peerk;
	EVP_PKEY_CTX *pctx;
	size_t len = CRYPTO_X25519_LEN;
	int rc = -1;

	if ((pk = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, priv,
		 CRYPTO_X25519_LEN)) == NULL)
		goto err0;
	if ((peerk = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, NULL, peer,
		 CRYPTO_X25519_LEN)) == NULL)
		goto err1;
	if ((pctx = EVP_PKEY_CTX_new_from_pkey(NULL, pk, NULL)) == NULL)
		goto err2;
	if (EVP_PKEY_derive_init(pctx) != 1 ||
	    EVP_PKEY_derive_set_peer(pctx, peerk) != 1 ||
	    EVP_PKEY_derive(pctx, shared, &len) != 1 ||
	    len != CRYPTO_X25519_LEN)
		goto err3;
	/* A low-order peer point yields zero: no secret at all. */
	if (CRYPTO_memcmp(shared, zero, sizeof(zero)) == 0)
		goto err3;
	rc = 0;

err3:
	if (rc != 0)
		OPENSSL_cleanse(shared, CRYPTO_X25519_LEN);
	EVP_PKEY_CTX_free(pctx);
err2:
	EVP_PKEY_free(peerk);
err1:
	EVP_PKEY_free(pk);
err0:
	return rc;
}
