/*
 * gcp_signurl.c: GCS V4 signed URLs (gcp_signurl.h).
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "lib/cloud/gcp/gcp_signurl.h"
#include "lib/crypto/crypto.h"
#include "lib/crypto/crypto_rsa.h"
#include "lib/http/http.h"

#define ALGORITHM "GOOG4-RSA-SHA256"
#define SCOPE_TAIL "auto/storage/goog4_request"
#define MAX_EXPIRES 604800 /* seven days */
#define MAX_PAIRS 64

/* A header or query parameter in canonical form. */
struct pair {
	char *name;
	char *value;
};

/* pair_cmp(a, b): by name, then value, byte for byte. */
static int
pair_cmp(const void *a, const void *b)
{
	const struct pair *x = a, *y = b;
	int c;

	if ((c = strcmp(x->name, y->name)) != 0)
		return c;
	return strcmp(x->value, y->value);
}

/* pairs_free(p, n): free the strings of ${n} pairs. */
static void
pairs_free(struct pair *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(p[i].name);
		free(p[i].value);
	}
}

/*
 * header_value(v): ${v} with leading and trailing white space removed and
 * each inner run of white space made one space, as a new string.
 */
static char *
header_value(const char *v)
{
	char *out, *o;
	int space = 0;

	if ((out = malloc(strlen(v) + 1)) == NULL)
		return NULL;
	o = out;
	for (; *v != '\0'; v++) {
		if (*v == ' ' || *v == '\t') {
			space = o != out;
			continue;
		}
		if (space)
			*o++ = ' ';
		space = 0;
		*o++ = *v;
	}
	*o = '\0';
	return out;
}

/* lower(s): a lower-case copy of ${s}, or NULL. */
static char *
lower(const char *s)
{
	char *l, *p;

	if ((l = strdup(s)) == NULL)
		return NULL;
	for (p = l; *p != '\0'; p++)
		*p = (char)tolower((unsigned char)*p);
	return l;
}

/*
 * path_encode(f, path): ${path} percent-encoded as RFC 3986 wants it, but
 * with its slashes kept.
 */
static void
path_encode(FILE *f, const char *path)
{
	const unsigned char *p;

	for (p = (const unsigned char *)path; *p != '\0'; p++) {
		if (isalnum(*p) || *p == '-' || *p == '.' || *p == '_' ||
		    *p == '~' || *p == '/')
			fputc(*p, f);
		else
			fprintf(f, "%%%02X", *p);
	}
}

/* query_add(q, n, name, value): one encoded pair at ${q}[*${n}]. */
static int
query_add(struct pair *q, size_t *n, const char *name, const char *value)
{
	if (*n == MAX_PAIRS)
		return -1;
	q[*n].name = http_urlencode(name, strlen(name));
	q[*n].value = http_urlencode(value, strlen(value));
	(*n)++;
	return q[*n - 1].name != NULL && q[*n - 1].value != NULL ? 0 : -1;
}

/*
 * canon_headers(req, host, h, ret_n, ret_payload): the canonical headers
 * of ${req} (Host added), sorted, into ${h}; the payload hash to sign in
 * ${ret_payload} (points into ${req} or is "UNSIGNED-PAYLOAD").
 */
static int
canon_headers(const struct gcp_signurl_req *req, const char *host,
    struct pair *h, size_t *ret_n, const char **ret_payload)
{
	size_t i, n = 0;

	*ret_payload = "UNSIGNED-PAYLOAD";
	if (req->nheaders + 1 > MAX_PAIRS)
		return -1;
	h[n].name = strdup("host");
	h[n].value = strdup(host);
	n++;
	if (h[0].name == NULL || h[0].value == NULL)
		goto fail;
	for (i = 0; i < req->nheaders; i++) {
		if (strcasecmp(req->headers[i].name, "host") == 0)
			continue;
		if (strcasecmp(req->headers[i].name,
			"x-goog-content-sha256") == 0)
			*ret_payload = req->headers[i].value;
		h[n].name = lower(req->headers[i].name);
		h[n].value = header_value(req->headers[i].value);
		n++;
		if (h[n - 1].name == NULL || h[n - 1].value == NULL)
			goto fail;
	}
	qsort(h, n, sizeof(h[0]), pair_cmp);
	*ret_n = n;
	return 0;
fail:
	pairs_free(h, n);
	return -1;
}

/* stamp(t, date, datetime): YYYYMMDD and YYYYMMDDTHHMMSSZ of ${t}. */
static int
stamp(int64_t t, char date[9], char datetime[17])
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL)
		return -1;
	strftime(date, 9, "%Y%m%d", &tm);
	strftime(datetime, 17, "%Y%m%dT%H%M%SZ", &tm);
	return 0;
}

/* memstream_close(f, ret): close ${f}; -1 (freeing *${ret}) on error. */
static int
memstream_close(FILE *f, char **ret)
{
	int bad = ferror(f);

	if (fclose(f) != 0 || bad) {
		free(*ret);
		*ret = NULL;
		return -1;
	}
	return 0;
}

int
gcp_signurl(const struct gcp_signurl_req *req, struct gcp_signurl *ret,
    struct ag_err *err)
{
	struct pair h[MAX_PAIRS], q[MAX_PAIRS];
	uint8_t digest[CRYPTO_SHA256_LEN], sig[CRYPTO_RSA_SIG_MAX];
	char hex[2 * CRYPTO_SHA256_LEN + 1], date[9], datetime[17];
	char expires[24], *host = NULL, *signed_hdrs = NULL, *cred = NULL;
	char *query = NULL, *sighex = NULL, *colon;
	const char *payload;
	size_t nh = 0, nq = 0, i, len, siglen;
	FILE *f;
	int rc = -1;

	memset(ret, 0, sizeof(*ret));
	if (req->expires < 1 || req->expires > MAX_EXPIRES)
		return ag_err_set(err,
		    "a signed URL expires after 1 to %d "
		    "seconds, not %lld",
		    MAX_EXPIRES, (long long)req->expires);
	if (req->nquery + 5 > MAX_PAIRS)
		return ag_err_set(err, "too many query parameters to sign");
	if (stamp(req->timestamp, date, datetime) == -1)
		return ag_err_set(err, "bad time stamp");
	/* The Host header is the authority without a port. */
	if ((host = strdup(req->authority)) == NULL)
		goto oom;
	if ((colon = strrchr(host, ':')) != NULL && strchr(host, ']') == NULL)
		*colon = '\0';
	if (canon_headers(req, host, h, &nh, &payload) == -1)
		goto oom;

	/* Signed headers "a;b;host", credential "EMAIL/DATE/SCOPE". */
	if ((f = open_memstream(&signed_hdrs, &len)) == NULL)
		goto oom;
	for (i = 0; i < nh; i++)
		fprintf(f, "%s%s", i > 0 ? ";" : "", h[i].name);
	if (memstream_close(f, &signed_hdrs) == -1)
		goto oom;
	if (asprintf(&cred, "%s/%s/%s", req->client_email, date, SCOPE_TAIL) ==
	    -1) {
		cred = NULL;
		goto oom;
	}
	snprintf(expires, sizeof(expires), "%lld", (long long)req->expires);
	if (query_add(q, &nq, "X-Goog-Algorithm", ALGORITHM) == -1 ||
	    query_add(q, &nq, "X-Goog-Credential", cred) == -1 ||
	    query_add(q, &nq, "X-Goog-Date", datetime) == -1 ||
	    query_add(q, &nq, "X-Goog-Expires", expires) == -1 ||
	    query_add(q, &nq, "X-Goog-SignedHeaders", signed_hdrs) == -1)
		goto oom;
	for (i = 0; i < req->nquery; i++)
		if (query_add(q, &nq, req->query[i].name,
			req->query[i].value) == -1)
			goto oom;
	qsort(q, nq, sizeof(q[0]), pair_cmp);
	if ((f = open_memstream(&query, &len)) == NULL)
		goto oom;
	for (i = 0; i < nq; i++)
		fprintf(f, "%s%s=%s", i > 0 ? "&" : "", q[i].name, q[i].value);
	if (memstream_close(f, &query) == -1)
		goto oom;

	/* The canonical request. */
	if ((f = open_memstream(&ret->canonical_request, &len)) == NULL)
		goto oom;
	fprintf(f, "%s\n", req->method);
	path_encode(f, req->path);
	fprintf(f, "\n%s\n", query);
	for (i = 0; i < nh; i++)
		fprintf(f, "%s:%s\n", h[i].name, h[i].value);
	fprintf(f, "\n%s\n%s", signed_hdrs, payload);
	if (memstream_close(f, &ret->canonical_request) == -1)
		goto oom;

	/* The string to sign and its signature. */
	if (crypto_sha256(ret->canonical_request,
		strlen(ret->canonical_request), digest) == -1)
		goto oom;
	crypto_hex(digest, sizeof(digest), hex);
	if (asprintf(&ret->string_to_sign, "%s\n%s\n%s/%s\n%s", ALGORITHM,
		datetime, date, SCOPE_TAIL, hex) == -1) {
		ret->string_to_sign = NULL;
		goto oom;
	}
	if (crypto_rsa_sign_sha256(req->key, ret->string_to_sign,
		strlen(ret->string_to_sign), sig, sizeof(sig),
		&siglen) == -1) {
		ag_err_set(err, "cannot sign the URL with the key");
		goto fail;
	}
	if ((sighex = malloc(2 * siglen + 1)) == NULL)
		goto oom;
	crypto_hex(sig, siglen, sighex);

	if ((f = open_memstream(&ret->url, &len)) == NULL)
		goto oom;
	fprintf(f, "%s://%s", req->scheme != NULL ? req->scheme : "https",
	    req->authority);
	path_encode(f, req->path);
	fprintf(f, "?%s&X-Goog-Signature=%s", query, sighex);
	if (memstream_close(f, &ret->url) == -1)
		goto oom;
	rc = 0;
	goto out;
oom:
	ag_err_set(err, "out of memory");
fail:
	gcp_signurl_free(ret);
out:
	pairs_free(h, nh);
	pairs_free(q, nq);
	free(host);
	free(signed_hdrs);
	free(cred);
	free(query);
	free(sighex);
	return rc;
}

void
gcp_signurl_free(struct gcp_signurl *s)
{
	free(s->url);
	free(s->canonical_request);
	free(s->string_to_sign);
	memset(s, 0, sizeof(*s));
}
