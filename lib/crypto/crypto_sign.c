/*
 * crypto_sign.c: Ed25519 signing keys and signatures over OpenSSL (see
 * crypto_sign.h).  The private key is kept as its 32 raw bytes and turned
 * into an EVP_PKEY only for the moment of signing; key files go through
 * the secret-file rules of crypto_secret.h.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "lib/ag.h"
#include "lib/crypto/crypto.h"
#include "lib/crypto/crypto_secret.h"
#include "lib/crypto/crypto_sign.h"

#define ED25519 "ED25519"

struct crypto_signer {
	uint8_t seed[CRYPTO_SIGN_SEEDLEN];
	uint8_t pub[CRYPTO_SIGN_PUBLEN];
};

/* Derive the public key of ${s}->seed.  Return 0 or -1. */
static int
signer_public(struct crypto_signer *s)
{
	EVP_PKEY *pk;
	size_t len = CRYPTO_SIGN_PUBLEN;
	int rc = -1;

	if ((pk = EVP_PKEY_new_raw_private_key_ex(NULL, ED25519, NULL, s->seed,
		 CRYPTO_SIGN_SEEDLEN)) == NULL)
		return -1;
	if (EVP_PKEY_get_raw_public_key(pk, s->pub, &len) == 1 &&
	    len == CRYPTO_SIGN_PUBLEN)
		rc = 0;
	EVP_PKEY_free(pk);
	return rc;
}

struct crypto_signer *
crypto_sign_from_seed(const uint8_t seed[CRYPTO_SIGN_SEEDLEN],
    struct ag_err *err)
{
	struct crypto_signer *s;

	if ((s = calloc(1, sizeof(*s))) == NULL) {
		ag_err_set(err, "out of memory");
		return NULL;
	}
	memcpy(s->seed, seed, CRYPTO_SIGN_SEEDLEN);
	if (signer_public(s) != 0) {
		ag_err_set(err, "cannot use the Ed25519 private key");
		crypto_sign_free(s);
		return NULL;
	}
	return s;
}

struct crypto_signer *
crypto_sign_load(const char *path, struct ag_err *err)
{
	struct crypto_signer *s;

	if ((s = calloc(1, sizeof(*s))) == NULL) {
		ag_err_set(err, "out of memory");
		return NULL;
	}
	if (crypto_secret_pem_load(path, "signing key file", ED25519, s->seed,
		err) != 0)
		goto fail;
	if (signer_public(s) != 0) {
		ag_err_set(err, "%s: cannot read the Ed25519 key", path);
		goto fail;
	}
	return s;

fail:
	crypto_sign_free(s);
	return NULL;
}

int
crypto_sign_generate(const char *path, char *ret_pub, size_t publen,
    struct ag_err *err)
{
	struct crypto_signer s;
	char pubstr[CRYPTO_SIGN_PUBSTR_SIZE];
	int rc = -1;

	if (publen < CRYPTO_SIGN_PUBSTR_SIZE)
		return ag_err_set(err, "public key buffer too small");
	if (crypto_random(s.seed, sizeof(s.seed)) != 0 ||
	    signer_public(&s) != 0) {
		ag_err_set(err, "cannot generate an Ed25519 key");
		goto out;
	}
	if (crypto_sign_public_string(s.pub, pubstr, sizeof(pubstr)) != 0) {
		ag_err_set(err, "cannot encode the public key");
		goto out;
	}
	if (crypto_secret_pem_write_new(path, ED25519, s.seed, err) != 0)
		goto out;
	memcpy(ret_pub, pubstr, sizeof(pubstr));
	rc = 0;
out:
	OPENSSL_cleanse(&s, sizeof(s));
	return rc;
}

const uint8_t *
crypto_sign_public(const struct crypto_signer *s)
{
	return s->pub;
}

int
crypto_sign_sign(const struct crypto_signer *s, const uint8_t *msg, size_t len,
    uint8_t sig[CRYPTO_SIGN_LEN])
{
	EVP_MD_CTX *md = NULL;
	EVP_PKEY *pk;
	size_t slen = CRYPTO_SIGN_LEN;
	int rc = -1;

	if ((pk = EVP_PKEY_new_raw_private_key_ex(NULL, ED25519, NULL, s->seed,
		 CRYPTO_SIGN_SEEDLEN)) == NULL)
		return -1;
	/* Pure Ed25519: no digest, the message is signed in one call. */
	if ((md = EVP_MD_CTX_new()) != NULL &&
	    EVP_DigestSignInit(md, NULL, NULL, NULL, pk) == 1 &&
	    EVP_DigestSign(md, sig, &slen, msg, len) == 1 &&
	    slen == CRYPTO_SIGN_LEN)
		rc = 0;
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(pk);
	return rc;
}

int
crypto_sign_verify(const uint8_t pub[CRYPTO_SIGN_PUBLEN], const uint8_t *msg,
    size_t len, const uint8_t sig[CRYPTO_SIGN_LEN])
{
	EVP_MD_CTX *md = NULL;
	EVP_PKEY *pk;
	int rc = -1;

	if ((pk = EVP_PKEY_new_raw_public_key_ex(NULL, ED25519, NULL, pub,
		 CRYPTO_SIGN_PUBLEN)) == NULL)
		return -1;
	if ((md = EVP_MD_CTX_new()) != NULL &&
	    EVP_DigestVerifyInit(md, NULL, NULL, NULL, pk) == 1 &&
	    EVP_DigestVerify(md, sig, CRYPTO_SIGN_LEN, msg, len) == 1)
		rc = 0;
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(pk);
	return rc;
}

int
crypto_sign_parse_public(const char *b64, uint8_t pub[CRYPTO_SIGN_PUBLEN])
{
	return crypto_unbase64_32(b64, pub);
}

int
crypto_sign_public_string(const uint8_t pub[CRYPTO_SIGN_PUBLEN], char *out,
    size_t outlen)
{
	if (outlen < CRYPTO_SIGN_PUBSTR_SIZE)
		return -1;
	return crypto_base64(pub, CRYPTO_SIGN_PUBLEN, out, outlen) == 44 ? 0 :
									   -1;
}

void
crypto_sign_free(struct crypto_signer *s)
{
	if (s == NULL)
		return;
	OPENSSL_cleanse(s, sizeof(*s));
	free(s);
}
