/*
 * azure_sharedkey.c: the SharedKey and SharedKeyLite strings-to-sign and
 * Authorization headers of Azure Storage (see azure_auth.h).
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/buf.h"
#include "lib/cloud/azure/azure_auth.h"
#include "lib/crypto/crypto.h"

/* Most bytes of a string-to-sign or canonical resource. */
#define STS_MAX (64 * 1024)

/* A query parameter or a header, decoded, for sorting. */
struct kv {
	char *name;
	char *value;
};

int
azure_key_decode(const char *b64, uint8_t out[AZURE_KEY_MAX], size_t *ret_len)
{
	uint8_t tmp[AZURE_KEY_MAX + 3];
	int n;

	if (b64 == NULL || strlen(b64) > 4 * (AZURE_KEY_MAX / 3 + 1))
		return -1;
	n = crypto_unbase64(b64, tmp, sizeof(tmp));
	if (n <= 0 || n > AZURE_KEY_MAX) {
		crypto_wipe(tmp, sizeof(tmp));
		return -1;
	}
	memcpy(out, tmp, (size_t)n);
	crypto_wipe(tmp, sizeof(tmp));
	*ret_len = (size_t)n;
	return 0;
}

int
azure_hmac_b64(const uint8_t *key, size_t keylen, const char *msg,
    char out[AZURE_SIG_LEN])
{
	uint8_t mac[CRYPTO_SHA256_LEN];
	int rc;

	if (crypto_hmac_sha256(key, keylen, msg, strlen(msg), mac))
		return -1;
	rc = crypto_base64(mac, sizeof(mac), out, AZURE_SIG_LEN);
	crypto_wipe(mac, sizeof(mac));
	return rc < 0 ? -1 : 0;
}

int
azure_account_from_host(const char *host, char *out, size_t len)
{
	size_t n = strcspn(host, ".:");
	static const char sec[] = "-secondary";

	if (n > sizeof(sec) - 1 &&
	    strncmp(host + n - (sizeof(sec) - 1), sec, sizeof(sec) - 1) == 0)
		n -= sizeof(sec) - 1;
	if (n == 0 || n >= len)
		return -1;
	memcpy(out, host, n);
	out[n] = '\0';
	return 0;
}

/* Value of hex digit ${c}, or -1. */
static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower((unsigned char)c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* The ${n} bytes at ${s} with %XX decoded, malloc'd. */
static char *
pct_decode(const char *s, size_t n)
{
	char *out, *o;
	size_t i;
	int hi, lo;

	if ((out = o = malloc(n + 1)) == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		if (s[i] == '%' && i + 2 < n && (hi = hexval(s[i + 1])) >= 0 &&
		    (lo = hexval(s[i + 2])) >= 0) {
			*o++ = (char)(hi << 4 | lo);
			i += 2;
		} else
			*o++ = s[i];
	}
	*o = '\0';
	return out;
}

/* Free the ${n} entries of ${v} and ${v}. */
static void
kv_free(struct kv *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(v[i].name);
		free(v[i].value);
	}
	free(v);
}

/* qsort() order: by name, then by value, bytewise. */
static int
kv_cmp(const void *a, const void *b)
{
	const struct kv *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	return c ? c : strcmp(x->value, y->value);
}

/*
 * Split ${query} into decoded parameters, names lower-cased, sorted into
 * ${ret_v} (${ret_n} entries).  Return 0 or -1.
 */
static int
query_parse(const char *query, struct kv **ret_v, size_t *ret_n)
{
	struct kv *v = NULL;
	size_t n = 0, cap = 0, len;
	const char *p = query, *eq, *end;
	char *c;

	*ret_v = NULL;
	*ret_n = 0;
	while (p != NULL && *p != '\0') {
		end = p + strcspn(p, "&");
		if (end > p) {
			if (n == cap) {
				struct kv *nv;

				cap = cap ? 2 * cap : 8;
				if ((nv = realloc(v, cap * sizeof(*v))) ==
				    NULL)
					goto fail;
				v = nv;
			}
			eq = memchr(p, '=', (size_t)(end - p));
			len = (size_t)((eq ? eq : end) - p);
			v[n].name = pct_decode(p, len);
			v[n].value = eq ?
			    pct_decode(eq + 1, (size_t)(end - eq - 1)) :
			    strdup("");
			n++;
			if (v[n - 1].name == NULL || v[n - 1].value == NULL)
				goto fail;
			for (c = v[n - 1].name; *c; c++)
				*c = (char)tolower((unsigned char)*c);
		}
		p = *end ? end + 1 : end;
	}
	if (n > 0)
		qsort(v, n, sizeof(*v), kv_cmp);
	*ret_v = v;
	*ret_n = n;
	return 0;
fail:
	kv_free(v, n);
	return -1;
}

char *
azure_canon_resource(const char *account, const char *path, const char *query,
    enum azure_sk_scheme scheme)
{
	struct buf b;
	struct kv *v;
	size_t n, i;

	if (query_parse(query, &v, &n))
		return NULL;
	buf_init(&b, STS_MAX);
	buf_puts(&b, "/");
	buf_puts(&b, account);
	buf_puts(&b, path != NULL && *path != '\0' ? path : "/");
	for (i = 0; i < n; i++) {
		if (scheme != AZURE_SK) {
			/* Lite: "?comp=..." only. */
			if (strcmp(v[i].name, "comp") == 0) {
				buf_puts(&b, "?comp=");
				buf_puts(&b, v[i].value);
				break;
			}
			continue;
		}
		if (i == 0 || strcmp(v[i].name, v[i - 1].name) != 0) {
			buf_puts(&b, "\n");
			buf_puts(&b, v[i].name);
			buf_puts(&b, ":");
		} else
			buf_puts(&b, ",");
		buf_puts(&b, v[i].value);
	}
	kv_free(v, n);
	if (b.err) {
		buf_free(&b);
		return NULL;
	}
	return buf_take(&b);
}

/*
 * The value of header ${name} in ${headers} (the last one given), its
 * length in ${ret_len}, white space around it dropped; NULL if absent.
 */
static const char *
hdr_get(const char *const *headers, const char *name, size_t *ret_len)
{
	const char *found = NULL, *v;
	size_t nlen = strlen(name), i, len = 0;

	for (i = 0; headers != NULL && headers[i] != NULL; i++) {
		if (strncasecmp(headers[i], name, nlen) != 0 ||
		    headers[i][nlen] != ':')
			continue;
		for (v = headers[i] + nlen + 1; *v == ' ' || *v == '\t'; v++)
			;
		len = strlen(v);
		while (len > 0 && isspace((unsigned char)v[len - 1]))
			len--;
		found = v;
	}
	*ret_len = len;
	return found;
}

/* Append header ${name}'s value (or nothing) and a newline to ${b}. */
static void
put_std(struct buf *b, const char *const *headers, const char *name)
{
	size_t len;
	const char *v = hdr_get(headers, name, &len);

	if (v != NULL)
		buf_append(b, v, len);
	buf_puts(b, "\n");
}

/*
 * Append the CanonicalizedHeaders of ${headers} to ${b}: every x-ms-
 * header, name lower-cased, value with runs of white space made one
 * space, sorted by name, "name:value\n" each; an empty value is kept from
 * version 2016-05-31 on (${keep_empty}).  Return 0 or -1.
 */
static int
put_canon_headers(struct buf *b, const char *const *headers, bool keep_empty)
{
	struct kv *v;
	size_t n = 0, i, j, k;
	const char *h, *colon, *s;
	char *d;

	for (i = 0; headers != NULL && headers[i] != NULL; i++)
		n++;
	if ((v = calloc(n + 1, sizeof(*v))) == NULL)
		return -1;
	for (i = 0, k = 0; i < n; i++) {
		h = headers[i];
		if (strncasecmp(h, "x-ms-", 5) != 0 ||
		    (colon = strchr(h, ':')) == NULL)
			continue;
		v[k].name = strndup(h, (size_t)(colon - h));
		v[k].value = d = malloc(strlen(colon));
		if (v[k].name == NULL || d == NULL) {
			k++;
			kv_free(v, k);
			return -1;
		}
		for (d = v[k].name; *d; d++)
			*d = (char)tolower((unsigned char)*d);
		/* Trim, and fold runs of white space into one space. */
		d = v[k].value;
		for (s = colon + 1; *s != '\0'; s++) {
			if (isspace((unsigned char)*s)) {
				if (d > v[k].value && d[-1] != ' ')
					*d++ = ' ';
			} else
				*d++ = *s;
		}
		if (d > v[k].value && d[-1] == ' ')
			d--;
		*d = '\0';
		k++;
	}
	/* Stable for equal names: their values join in the order sent. */
	for (i = 1; i < k; i++)
		for (j = i; j > 0 && strcmp(v[j - 1].name, v[j].name) > 0;
		     j--) {
			struct kv t = v[j];

			v[j] = v[j - 1];
			v[j - 1] = t;
		}
	for (i = 0; i < k; i++) {
		if (v[i].value[0] == '\0' && !keep_empty)
			continue;
		if (i > 0 && strcmp(v[i].name, v[i - 1].name) == 0) {
			b->len--; /* the newline: join with a comma */
			buf_puts(b, ",");
		} else {
			buf_puts(b, v[i].name);
			buf_puts(b, ":");
		}
		buf_puts(b, v[i].value);
		buf_puts(b, "\n");
	}
	kv_free(v, k);
	return b->err ? -1 : 0;
}

char *
azure_sharedkey_sts(const char *account, const struct azure_sk_req *req,
    enum azure_sk_scheme scheme)
{
	static const char *const std[] = { "Content-Encoding",
		"Content-Language", "Content-Length", "Content-MD5",
		"Content-Type", "Date", "If-Modified-Since", "If-Match",
		"If-None-Match", "If-Unmodified-Since", "Range", NULL };
	struct buf b;
	const char *version = req->version, *v;
	char *res;
	size_t len, i;

	if (version == NULL &&
	    (v = hdr_get(req->headers, "x-ms-version", &len)) != NULL)
		version = v; /* compared as a prefix: YYYY-MM-DD */
	if ((res = azure_canon_resource(account, req->path, req->query,
		 scheme)) == NULL)
		return NULL;
	buf_init(&b, STS_MAX);
	if (scheme == AZURE_SK_LITE_TABLE) {
		/* Date (x-ms-date wins), then the resource. */
		if ((v = hdr_get(req->headers, "x-ms-date", &len)) == NULL)
			v = hdr_get(req->headers, "Date", &len);
		if (v != NULL)
			buf_append(&b, v, len);
		buf_puts(&b, "\n");
	} else if (scheme == AZURE_SK_LITE) {
		buf_puts(&b, req->method);
		buf_puts(&b, "\n");
		put_std(&b, req->headers, "Content-MD5");
		put_std(&b, req->headers, "Content-Type");
		put_std(&b, req->headers, "Date");
		put_canon_headers(&b, req->headers,
		    version == NULL ||
			strncmp(version, "2016-05-31", 10) >= 0);
	} else {
		buf_puts(&b, req->method);
		buf_puts(&b, "\n");
		for (i = 0; std[i] != NULL; i++) {
			v = hdr_get(req->headers, std[i], &len);
			/* From 2015-02-21 a zero length is an empty line. */
			if (strcmp(std[i], "Content-Length") == 0 &&
			    v != NULL && len == 1 && v[0] == '0' &&
			    (version == NULL ||
				strncmp(version, "2015-02-21", 10) >= 0))
				v = NULL;
			if (v != NULL)
				buf_append(&b, v, len);
			buf_puts(&b, "\n");
		}
		put_canon_headers(&b, req->headers,
		    version == NULL ||
			strncmp(version, "2016-05-31", 10) >= 0);
	}
	buf_puts(&b, res);
	free(res);
	if (b.err) {
		buf_free(&b);
		return NULL;
	}
	return buf_take(&b);
}

char *
azure_sharedkey_auth(const char *account, const uint8_t *key, size_t keylen,
    const struct azure_sk_req *req, enum azure_sk_scheme scheme)
{
	char sig[AZURE_SIG_LEN];
	struct buf b;
	char *sts;
	int rc;

	if ((sts = azure_sharedkey_sts(account, req, scheme)) == NULL)
		return NULL;
	rc = azure_hmac_b64(key, keylen, sts, sig);
	free(sts);
	if (rc)
		return NULL;
	buf_init(&b, 1024);
	buf_puts(&b, scheme == AZURE_SK ? "SharedKey " : "SharedKeyLite ");
	buf_puts(&b, account);
	buf_puts(&b, ":");
	buf_puts(&b, sig);
	if (b.err) {
		buf_free(&b);
		return NULL;
	}
	return buf_take(&b);
}
