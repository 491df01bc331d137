/*
 * azure_sas.c: service and account shared access signatures of Azure
 * Storage, signed version 2020-12-06 and later (see azure_auth.h).
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"
#include "lib/cloud/azure/azure_auth.h"
#include "lib/crypto/crypto.h"
#include "lib/http/http.h"

#define SAS_MAX (16 * 1024)

/* ${s}, or "" for NULL. */
static const char *
opt(const char *s)
{
	return s != NULL ? s : "";
}

/* Append the fields ${f} (${n} of them), each followed by a newline. */
static void
put_lines(struct buf *b, const char *const *f, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		buf_puts(b, opt(f[i]));
		buf_puts(b, "\n");
	}
}

/* The contents of ${b}, or NULL (and ${b} freed) after a failed append. */
static char *
finish(struct buf *b)
{
	if (b->err) {
		buf_free(b);
		return NULL;
	}
	return buf_take(b);
}

char *
azure_sas_service_sts(const char *account, const char *service,
    const char *path, const struct azure_sas *sas)
{
	struct buf b;
	const char *head[] = { sas->permissions, sas->start, sas->expiry };
	const char *tail[] = { sas->identifier, sas->ip, sas->protocol,
		sas->version, sas->resource, sas->snapshot,
		sas->encryption_scope, sas->cache_control,
		sas->content_disposition, sas->content_encoding,
		sas->content_language };

	buf_init(&b, SAS_MAX);
	put_lines(&b, head, sizeof(head) / sizeof(head[0]));
	buf_puts(&b, "/");
	buf_puts(&b, service);
	buf_puts(&b, "/");
	buf_puts(&b, account);
	buf_puts(&b, path);
	buf_puts(&b, "\n");
	put_lines(&b, tail, sizeof(tail) / sizeof(tail[0]));
	buf_puts(&b, opt(sas->content_type));
	return finish(&b);
}

char *
azure_sas_account_sts(const char *account, const struct azure_sas *sas)
{
	struct buf b;
	const char *f[] = { account, sas->permissions, sas->services,
		sas->resource_types, sas->start, sas->expiry, sas->ip,
		sas->protocol, sas->version, sas->encryption_scope };

	buf_init(&b, SAS_MAX);
	put_lines(&b, f, sizeof(f) / sizeof(f[0]));
	return finish(&b);
}

void
azure_form_add(struct buf *b, const char *name, const char *value)
{
	char *enc;

	if (value == NULL || *value == '\0')
		return;
	if ((enc = http_urlencode(value, strlen(value))) == NULL) {
		b->err = ENOMEM;
		return;
	}
	if (b->len > 0)
		buf_puts(b, "&");
	buf_puts(b, name);
	buf_puts(b, "=");
	buf_puts(b, enc);
	crypto_wipe(enc, strlen(enc));
	free(enc);
}

/*
 * The token of ${sas} signed over ${sts} (freed here) with ${key}: its
 * fields in the order Azure's SDKs write them, then "sig".
 */
static char *
token(char *sts, const uint8_t *key, size_t keylen,
    const struct azure_sas *sas, int account)
{
	char sig[AZURE_SIG_LEN];
	struct buf b;
	int rc;

	if (sts == NULL)
		return NULL;
	rc = azure_hmac_b64(key, keylen, sts, sig);
	free(sts);
	if (rc)
		return NULL;
	buf_init(&b, SAS_MAX);
	azure_form_add(&b, "sv", sas->version);
	if (account) {
		azure_form_add(&b, "ss", sas->services);
		azure_form_add(&b, "srt", sas->resource_types);
	}
	azure_form_add(&b, "st", sas->start);
	azure_form_add(&b, "se", sas->expiry);
	azure_form_add(&b, "sp", sas->permissions);
	azure_form_add(&b, "sip", sas->ip);
	azure_form_add(&b, "spr", sas->protocol);
	azure_form_add(&b, "ses", sas->encryption_scope);
	if (!account) {
		azure_form_add(&b, "sr", sas->resource);
		azure_form_add(&b, "si", sas->identifier);
		azure_form_add(&b, "rscc", sas->cache_control);
		azure_form_add(&b, "rscd", sas->content_disposition);
		azure_form_add(&b, "rsce", sas->content_encoding);
		azure_form_add(&b, "rscl", sas->content_language);
		azure_form_add(&b, "rsct", sas->content_type);
	}
	azure_form_add(&b, "sig", sig);
	return finish(&b);
}

char *
azure_sas_service_token(const char *account, const uint8_t *key, size_t keylen,
    const char *service, const char *path, const struct azure_sas *sas)
{
	return token(azure_sas_service_sts(account, service, path, sas), key,
	    keylen, sas, 0);
}

char *
azure_sas_account_token(const char *account, const uint8_t *key, size_t keylen,
    const struct azure_sas *sas)
{
	return token(azure_sas_account_sts(account, sas), key, keylen, sas, 1);
}
