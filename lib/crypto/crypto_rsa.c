/*
 * crypto_rsa.c: RSA private keys, RS256 signatures and secret text files
 * over OpenSSL 3 (crypto_rsa.h).
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>

#include "lib/ag.h"
#include "lib/crypto/crypto_rsa.h"
#include "lib/crypto/crypto_secret.h"

struct crypto_rsa {
	EVP_PKEY *pkey;
};

/* rsa_wrap(pkey, err): ${pkey} in a struct crypto_rsa, or NULL (freed). */
static struct crypto_rsa *
rsa_wrap(EVP_PKEY *pkey, struct ag_err *err)
{
	struct crypto_rsa *k;

	if (EVP_PKEY_get_base_id(pkey) != EVP_PKEY_RSA) {
		EVP_PKEY_free(pkey);
		ag_err_set(err, "the private key is not an RSA key");
		return NULL;
	}
	if ((k = calloc(1, sizeof(*k))) == NULL) {
		EVP_PKEY_free(pkey);
		ag_err_set(err, "out of memory");
		return NULL;
	}
	k->pkey = pkey;
	return k;
}

struct crypto_rsa *
crypto_rsa_from_pem(const char *pem, size_t len, struct ag_err *err)
{
	EVP_PKEY *pkey;
	BIO *bio;

	if (len > INT32_MAX ||
	    (bio = BIO_new_mem_buf(pem, (int)len)) == NULL) {
		ag_err_set(err, "cannot read the private key");
		return NULL;
	}
	pkey = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	BIO_free(bio);
	if (pkey == NULL) {
		ag_err_set(err,
		    "the private key is not an unencrypted PEM "
		    "private key");
		return NULL;
	}
	return rsa_wrap(pkey, err);
}

struct crypto_rsa *
crypto_rsa_from_parts(const struct crypto_rsa_parts *p, struct ag_err *err)
{
	const struct {
		const char *name;
		const uint8_t *v;
		size_t len;
	} f[] = {
		{ OSSL_PKEY_PARAM_RSA_N, p->n, p->nlen },
		{ OSSL_PKEY_PARAM_RSA_E, p->e, p->elen },
		{ OSSL_PKEY_PARAM_RSA_D, p->d, p->dlen },
		{ OSSL_PKEY_PARAM_RSA_FACTOR1, p->p, p->plen },
		{ OSSL_PKEY_PARAM_RSA_FACTOR2, p->q, p->qlen },
		{ OSSL_PKEY_PARAM_RSA_EXPONENT1, p->dp, p->dplen },
		{ OSSL_PKEY_PARAM_RSA_EXPONENT2, p->dq, p->dqlen },
		{ OSSL_PKEY_PARAM_RSA_COEFFICIENT1, p->qi, p->qilen },
	};
	BIGNUM *bn[sizeof(f) / sizeof(f[0])] = { NULL };
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pkey = NULL;
	size_t i;
	int ok = 0;

	if ((bld = OSSL_PARAM_BLD_new()) == NULL)
		goto out;
	for (i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		if (f[i].v == NULL || f[i].len == 0 || f[i].len > INT32_MAX)
			goto out;
		if ((bn[i] = BN_bin2bn(f[i].v, (int)f[i].len, NULL)) == NULL ||
		    !OSSL_PARAM_BLD_push_BN(bld, f[i].name, bn[i]))
			goto out;
	}
	if ((params = OSSL_PARAM_BLD_to_param(bld)) == NULL ||
	    (ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(ctx) <= 0 ||
	    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_KEYPAIR, params) <= 0)
		goto out;
	ok = 1;
out:
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	for (i = 0; i < sizeof(bn) / sizeof(bn[0]); i++)
		BN_clear_free(bn[i]);
	if (!ok) {
		EVP_PKEY_free(pkey);
		ag_err_set(err, "not a valid RSA private key");
		return NULL;
	}
	return rsa_wrap(pkey, err);
}

int
crypto_rsa_sign_sha256(const struct crypto_rsa *key, const void *msg,
    size_t len, uint8_t *sig, size_t cap, size_t *ret_siglen)
{
	EVP_MD_CTX *md;
	size_t slen = cap;
	int rc = -1;

	if ((size_t)EVP_PKEY_get_size(key->pkey) > cap)
		return -1;
	if ((md = EVP_MD_CTX_new()) == NULL)
		return -1;
	if (EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key->pkey) == 1 &&
	    EVP_DigestSign(md, sig, &slen, msg, len) == 1) {
		*ret_siglen = slen;
		rc = 0;
	}
	EVP_MD_CTX_free(md);
	return rc;
}

int
crypto_rsa_verify_sha256(const struct crypto_rsa *key, const void *msg,
    size_t len, const uint8_t *sig, size_t siglen)
{
	EVP_MD_CTX *md;
	int rc = -1;

	if ((md = EVP_MD_CTX_new()) == NULL)
		return -1;
	if (EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, key->pkey) ==
		1 &&
	    EVP_DigestVerify(md, sig, siglen, msg, len) == 1)
		rc = 0;
	EVP_MD_CTX_free(md);
	return rc;
}

void
crypto_rsa_free(struct crypto_rsa *key)
{
	if (key == NULL)
		return;
	EVP_PKEY_free(key->pkey);
	free(key);
}

int
crypto_secret_file_read(const char *path, const char *what, size_t max,
    char **ret_buf, size_t *ret_len, struct ag_err *err)
{
	char *buf;
	size_t len;

	if ((buf = malloc(max + 1)) == NULL)
		return ag_err_set(err, "out of memory");
	if (crypto_secret_read(path, what, (uint8_t *)buf, max, &len, err) ==
	    -1) {
		free(buf);
		return -1;
	}
	buf[len] = '\0';
	*ret_buf = buf;
	*ret_len = len;
	return 0;
}

void
crypto_secret_free(char *buf, size_t len)
{
	if (buf == NULL)
		return;
	OPENSSL_cleanse(buf, len);
	free(buf);
}
