/*
 * crypto_util.c: hashes, HMAC, randomness and encodings over OpenSSL.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "lib/crypto/crypto.h"

int
crypto_hmac_sha256(const void *key, size_t keylen, const void *msg,
    size_t msglen, uint8_t out[CRYPTO_SHA256_LEN])
{
	unsigned int len = CRYPTO_SHA256_LEN;

	if (HMAC(EVP_sha256(), key, (int)keylen, msg, msglen, out, &len) ==
	    NULL)
		return -1;
	return 0;
}

int
crypto_sha256(const void *msg, size_t len, uint8_t out[CRYPTO_SHA256_LEN])
{
	unsigned int olen = CRYPTO_SHA256_LEN;

	return EVP_Digest(msg, len, out, &olen, EVP_sha256(), NULL) == 1 ? 0 :
									   -1;
}

int
crypto_md5(const void *msg, size_t len, uint8_t out[CRYPTO_MD5_LEN])
{
	unsigned int olen = CRYPTO_MD5_LEN;

	return EVP_Digest(msg, len, out, &olen, EVP_md5(), NULL) == 1 ? 0 : -1;
}

int
crypto_random(void *buf, size_t len)
{
	return RAND_bytes(buf, (int)len) == 1 ? 0 : -1;
}

void
crypto_wipe(void *buf, size_t len)
{
	if (buf != NULL)
		OPENSSL_cleanse(buf, len);
}

int
crypto_memeq(const void *a, const void *b, size_t len)
{
	return CRYPTO_memcmp(a, b, len) == 0;
}

void
crypto_hex(const uint8_t *in, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * len] = '\0';
}

int
crypto_base64(const uint8_t *in, size_t len, char *out, size_t outlen)
{
	if (outlen < 4 * ((len + 2) / 3) + 1)
		return -1;
	return EVP_EncodeBlock((unsigned char *)out, in, (int)len);
}

int
crypto_unbase64(const char *in, uint8_t *out, size_t outlen)
{
	EVP_ENCODE_CTX *ctx;
	int n1 = 0, n2 = 0;
	size_t inlen = strlen(in);

	if (outlen < 3 * ((inlen + 3) / 4))
		return -1;
	if ((ctx = EVP_ENCODE_CTX_new()) == NULL)
		return -1;
	EVP_DecodeInit(ctx);
	if (EVP_DecodeUpdate(ctx, out, &n1, (const unsigned char *)in,
		(int)inlen) < 0 ||
	    EVP_DecodeFinal(ctx, out + n1, &n2) < 0) {
		EVP_ENCODE_CTX_free(ctx);
		return -1;
	}
	EVP_ENCODE_CTX_free(ctx);
	return n1 + n2;
}

int
crypto_base64url(const uint8_t *in, size_t len, char *out, size_t outlen)
{
	int n, i;

	if ((n = crypto_base64(in, len, out, outlen)) < 0)
		return -1;
	while (n > 0 && out[n - 1] == '=')
		out[--n] = '\0';
	for (i = 0; i < n; i++) {
		if (out[i] == '+')
			out[i] = '-';
		else if (out[i] == '/')
			out[i] = '_';
	}
	return n;
}

int
crypto_unbase64url(const char *in, uint8_t *out, size_t outlen)
{
	size_t len = strlen(in), i;
	char *tmp;
	int n;

	if ((tmp = malloc(len + 4)) == NULL)
		return -1;
	for (i = 0; i < len; i++) {
		if (in[i] == '+' || in[i] == '/' || in[i] == '=') {
			free(tmp);
			return -1;
		}
		tmp[i] = in[i] == '-' ? '+' : in[i] == '_' ? '/' : in[i];
	}
	while (i % 4 != 0)
		tmp[i++] = '=';
	tmp[i] = '\0';
	n = crypto_unbase64(tmp, out, outlen);
	free(tmp);
	return n;
}

int
crypto_unbase64_32(const char *b64, uint8_t out[32])
{
	uint8_t raw[48];
	char tmp[48];
	size_t len;

	while (isspace((unsigned char)*b64))
		b64++;
	len = strlen(b64);
	while (len > 0 && isspace((unsigned char)b64[len - 1]))
		len--;
	if (len != 44)
		return -1;
	memcpy(tmp, b64, len);
	tmp[len] = '\0';
	if (crypto_unbase64(tmp, raw, sizeof(raw)) != 32)
		return -1;
	memcpy(out, raw, 32);
	return 0;
}

int
crypto_hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}
