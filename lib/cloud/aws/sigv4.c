/*
 * sigv4.c: see sigv4.h.  The steps are AWS's: canonical request (method,
 * canonical URI, canonical query, canonical headers, signed header list,
 * payload hash), its SHA-256 in the string to sign, and an HMAC chain
 * (date, region, service, "aws4_request") for the signing key.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/cloud/aws/sigv4.h"
#include "lib/crypto/crypto.h"

#define SIGV4_ALGO "AWS4-HMAC-SHA256"
#define SIGV4_BUFMAX (1024 * 1024) /* a canonical request's ceiling */

/* A query parameter or header, encoded or lower-cased, for sorting. */
struct kv {
	char *k;
	char *v;
	size_t order;
};

/* unreserved(c): whether SigV4 leaves ${c} as it is. */
static int
unreserved(unsigned char c)
{
	return isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

int
sigv4_uri_encode(struct buf *b, const char *s, size_t len, int keep_slash)
{
	static const char hex[] = "0123456789ABCDEF";
	char e[3];

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x80 && (unreserved(c) || (keep_slash && c == '/'))) {
			buf_append(b, &s[i], 1);
			continue;
		}
		e[0] = '%';
		e[1] = hex[c >> 4];
		e[2] = hex[c & 15];
		buf_append(b, e, 3);
	}
	return b->err ? -1 : 0;
}

int
sigv4_payload_hash(const void *data, size_t len, char out[65])
{
	uint8_t h[CRYPTO_SHA256_LEN];

	if (crypto_sha256(data, len, h) != 0)
		return -1;
	crypto_hex(h, sizeof(h), out);
	return 0;
}

/*
 * reencode(s, len): ${len} bytes of percent-encoded ${s} decoded and
 * encoded again the SigV4 way, so "%e1%88%b4", raw UTF-8 and "%E1%88%B4"
 * all come out as the last.  A '%' that starts no escape stands for
 * itself.  Return a new string or NULL.
 */
static char *
reencode(const char *s, size_t len)
{
	struct buf raw, enc;
	char *r;

	buf_init(&raw, SIGV4_BUFMAX);
	buf_init(&enc, SIGV4_BUFMAX);
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		int hi = i + 2 < len ? crypto_hexval(s[i + 1]) : -1;
		int lo = i + 2 < len ? crypto_hexval(s[i + 2]) : -1;

		if (c == '%' && hi >= 0 && lo >= 0) {
			c = (char)(hi << 4 | lo);
			i += 2;
		}
		buf_append(&raw, &c, 1);
	}
	if (raw.err == 0)
		sigv4_uri_encode(&enc, raw.p != NULL ? raw.p : "", raw.len, 0);
	buf_free(&raw);
	if (enc.err != 0) {
		buf_free(&enc);
		return NULL;
	}
	r = buf_take(&enc);
	return r != NULL ? r : strdup("");
}

/* kv_cmp(a, b): by key, then value, then the order given. */
static int
kv_cmp(const void *a, const void *b)
{
	const struct kv *x = a, *y = b;
	int c;

	if ((c = strcmp(x->k, y->k)) != 0)
		return c;
	if ((c = strcmp(x->v, y->v)) != 0)
		return c;
	return x->order < y->order ? -1 : x->order > y->order;
}

/* kv_cmp_name(a, b): by key, then the order given (headers). */
static int
kv_cmp_name(const void *a, const void *b)
{
	const struct kv *x = a, *y = b;
	int c;

	if ((c = strcmp(x->k, y->k)) != 0)
		return c;
	return x->order < y->order ? -1 : x->order > y->order;
}

/* kv_free_tail(v, from, n): free the strings of pairs ${from} to ${n}. */
static void
kv_free_tail(struct kv *v, size_t from, size_t n)
{
	for (size_t i = from; i < n; i++) {
		free(v[i].k);
		free(v[i].v);
	}
}

/* kv_free(v, n): free ${n} pairs and the array. */
static void
kv_free(struct kv *v, size_t n)
{

	kv_free_tail(v, 0, n);
	free(v);
}

/* kv_add(v, n, k, v): append a pair it owns.  Return 0 or -1 (freed). */
static int
kv_add(struct kv **vp, size_t *np, char *k, char *v)
{
	struct kv *nv;

	if (k == NULL || v == NULL ||
	    (nv = realloc(*vp, (*np + 1) * sizeof(**vp))) == NULL) {
		free(k);
		free(v);
		return -1;
	}
	nv[*np] = (struct kv){ .k = k, .v = v, .order = *np };
	*vp = nv;
	(*np)++;
	return 0;
}

/*
 * query_params(q, vp, np): the parameters of the query ${q} (may be NULL),
 * each name and value re-encoded; "a" is "a=".  Return 0 or -1.
 */
static int
query_params(const char *q, struct kv **vp, size_t *np)
{
	const char *p = q, *amp, *eq;

	while (p != NULL && *p != '\0') {
		size_t len;

		amp = strchr(p, '&');
		len = amp != NULL ? (size_t)(amp - p) : strlen(p);
		if (len > 0) {
			eq = memchr(p, '=', len);
			if (eq == NULL) {
				if (kv_add(vp, np, reencode(p, len),
					strdup("")) != 0)
					return -1;
			} else if (kv_add(vp, np,
				       reencode(p, (size_t)(eq - p)),
				       reencode(eq + 1,
					   len - (size_t)(eq - p) - 1)) != 0)
				return -1;
		}
		p = amp != NULL ? amp + 1 : NULL;
	}
	return 0;
}

/* add_param(vp, np, k, v): a parameter with a raw value to encode. */
static int
add_param(struct kv **vp, size_t *np, const char *k, const char *v)
{
	struct buf b;

	buf_init(&b, SIGV4_BUFMAX);
	sigv4_uri_encode(&b, v, strlen(v), 0);
	if (b.err != 0) {
		buf_free(&b);
		return -1;
	}
	return kv_add(vp, np, strdup(k),
	    b.p != NULL ? buf_take(&b) : strdup(""));
}

/*
 * canon_value(v): ${v} with white space at both ends dropped and each run
 * inside (folded lines included) made one space.
 */
static char *
canon_value(const char *v)
{
	char *r = malloc(strlen(v) + 1), *o = r;
	int sp = 0;

	if (r == NULL)
		return NULL;
	for (; *v != '\0'; v++) {
		if (isspace((unsigned char)*v)) {
			sp = o != r;
			continue;
		}
		if (sp)
			*o++ = ' ';
		sp = 0;
		*o++ = *v;
	}
	*o = '\0';
	return r;
}

/* lower(s): a lower-case copy of ${s}. */
static char *
lower(const char *s)
{
	char *r = strdup(s);

	for (char *p = r; p != NULL && *p != '\0'; p++)
		*p = (char)tolower((unsigned char)*p);
	return r;
}

/*
 * canon_path(b, path, normalize): the canonical URI of ${path}.  With
 * ${normalize}, empty, "." and ".." segments go (RFC 3986 5.2.4), and a
 * trailing slash stays.
 */
static void
canon_path(struct buf *b, const char *path, int normalize)
{
	const char **seg;
	size_t nseg = 0, n = strlen(path);
	const char *p, *e;
	int trailing;

	if (n == 0) {
		buf_puts(b, "/");
		return;
	}
	if (!normalize) {
		sigv4_uri_encode(b, path, n, 1);
		return;
	}
	if ((seg = calloc(n + 1, sizeof(*seg))) == NULL) {
		b->err = ENOMEM;
		return;
	}
	trailing = path[n - 1] == '/' ||
	    (n >= 2 && strcmp(path + n - 2, "/.") == 0) ||
	    (n >= 3 && strcmp(path + n - 3, "/..") == 0);
	for (p = path; *p != '\0'; p = *e != '\0' ? e + 1 : e) {
		e = strchr(p, '/');
		if (e == NULL)
			e = p + strlen(p);
		if (e == p || (e - p == 1 && p[0] == '.'))
			continue;
		if (e - p == 2 && p[0] == '.' && p[1] == '.') {
			if (nseg > 0)
				nseg--;
			continue;
		}
		seg[nseg++] = p;
	}
	buf_puts(b, "/");
	for (size_t i = 0; i < nseg; i++) {
		e = strchr(seg[i], '/');
		sigv4_uri_encode(b, seg[i],
		    e != NULL ? (size_t)(e - seg[i]) : strlen(seg[i]), 0);
		if (i + 1 < nseg || trailing)
			buf_puts(b, "/");
	}
	free(seg);
}

/*
 * headers(req, extra, nextra, vp, np): the request's headers and the
 * signer's own, lower-cased, trimmed, sorted, duplicates merged with ','.
 */
static int
headers(const struct sigv4_request *req, const struct sigv4_header *extra,
    size_t nextra, struct kv **vp, size_t *np)
{
	struct kv *v;
	size_t n = 0;

	for (size_t i = 0; i < req->nheaders + nextra; i++) {
		const struct sigv4_header *h = i < req->nheaders ?
		    &req->headers[i] :
		    &extra[i - req->nheaders];

		if (kv_add(vp, np, lower(h->name), canon_value(h->value)) != 0)
			return -1;
	}
	v = *vp;
	qsort(v, *np, sizeof(*v), kv_cmp_name);
	for (size_t i = 0; i < *np; i++) {
		if (n > 0 && strcmp(v[n - 1].k, v[i].k) == 0) {
			size_t a = strlen(v[n - 1].v), c = strlen(v[i].v);
			char *m = realloc(v[n - 1].v, a + c + 2);

			if (m == NULL) {
				/* v[n..i-1] were moved down or merged. */
				kv_free_tail(v, i, *np);
				*np = n;
				return -1;
			}
			m[a] = ',';
			memcpy(m + a + 1, v[i].v, c + 1);
			v[n - 1].v = m;
			free(v[i].k);
			free(v[i].v);
			continue;
		}
		v[n++] = v[i];
	}
	*np = n;
	return 0;
}

/* join(b, v, n, sep, values): "k=v" (or "k" without ${values}) joined. */
static void
join(struct buf *b, const struct kv *v, size_t n, const char *sep, int values)
{
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			buf_puts(b, sep);
		buf_puts(b, v[i].k);
		if (values) {
			buf_puts(b, "=");
			buf_puts(b, v[i].v);
		}
	}
}

/*
 * signature(cr, date, p, sts, out): the HMAC chain of the signing key over
 * ${sts}, in hex.  The keys are wiped.  Return 0 or -1.
 */
static int
signature(const struct sigv4_creds *cr, const char *date,
    const struct sigv4_params *p, const char *sts, char out[65])
{
	uint8_t k[CRYPTO_SHA256_LEN], sig[CRYPTO_SHA256_LEN];
	char *secret = NULL;
	int rc = -1;

	if (asprintf(&secret, "AWS4%s", cr->secret_access_key) < 0)
		return -1;
	if (crypto_hmac_sha256(secret, strlen(secret), date, strlen(date),
		k) == 0 &&
	    crypto_hmac_sha256(k, sizeof(k), p->region, strlen(p->region),
		k) == 0 &&
	    crypto_hmac_sha256(k, sizeof(k), p->service, strlen(p->service),
		k) == 0 &&
	    crypto_hmac_sha256(k, sizeof(k), "aws4_request", 12, k) == 0 &&
	    crypto_hmac_sha256(k, sizeof(k), sts, strlen(sts), sig) == 0) {
		crypto_hex(sig, sizeof(sig), out);
		rc = 0;
	}
	crypto_wipe(k, sizeof(k));
	crypto_wipe(secret, strlen(secret));
	free(secret);
	return rc;
}

/* extra_line(out, name, value): one more "Name: value" for the caller. */
static int
extra_line(struct sigv4_out *out, const char *name, const char *value)
{
	size_t i = 0;

	while (out->extra[i] != NULL)
		i++;
	if (i + 1 >= SIGV4_MAX_EXTRA ||
	    asprintf(&out->extra[i], "%s: %s", name, value) < 0) {
		out->extra[i] = NULL;
		return -1;
	}
	return 0;
}

/*
 * sign(req, cr, p, presign, out): both forms; they differ in where the
 * date, credential and token go (headers or query) and in what is output.
 */
static int
sign(const struct sigv4_request *req, const struct sigv4_creds *cr,
    const struct sigv4_params *p, int presign, struct sigv4_out *out)
{
	struct sigv4_header ex[3];
	struct kv *q = NULL, *h = NULL;
	size_t nq = 0, nh = 0, nex = 0;
	struct buf creq, sts, sh, qs;
	uint8_t hash[CRYPTO_SHA256_LEN];
	char date[9], hex[65], expires[16], *scope = NULL, *cred = NULL;
	int token = cr->session_token != NULL && cr->session_token[0] != '\0';
	struct tm tm;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	buf_init(&creq, SIGV4_BUFMAX);
	buf_init(&sts, SIGV4_BUFMAX);
	buf_init(&sh, SIGV4_BUFMAX);
	buf_init(&qs, SIGV4_BUFMAX);
	if (gmtime_r(&p->when, &tm) == NULL ||
	    strftime(out->amz_date, sizeof(out->amz_date), "%Y%m%dT%H%M%SZ",
		&tm) != 16)
		goto out;
	memcpy(date, out->amz_date, 8);
	date[8] = '\0';
	if (asprintf(&scope, "%s/%s/%s/aws4_request", date, p->region,
		p->service) < 0) {
		scope = NULL;
		goto out;
	}
	if (asprintf(&cred, "%s/%s", cr->access_key_id, scope) < 0) {
		cred = NULL;
		goto out;
	}
	if (!presign) {
		ex[nex++] = (struct sigv4_header){ "X-Amz-Date",
			out->amz_date };
		if (p->content_sha256)
			ex[nex++] = (struct sigv4_header){
				"x-amz-content-sha256", req->payload_hash
			};
		if (token && !p->omit_token)
			ex[nex++] = (struct sigv4_header){
				"X-Amz-Security-Token", cr->session_token
			};
	}
	if (headers(req, ex, nex, &h, &nh) != 0)
		goto out;
	join(&sh, h, nh, ";", 0);
	if (sh.err != 0 || query_params(req->query, &q, &nq) != 0)
		goto out;
	if (presign) {
		snprintf(expires, sizeof(expires), "%u", p->expires);
		if (add_param(&q, &nq, "X-Amz-Algorithm", SIGV4_ALGO) != 0 ||
		    add_param(&q, &nq, "X-Amz-Credential", cred) != 0 ||
		    add_param(&q, &nq, "X-Amz-Date", out->amz_date) != 0 ||
		    add_param(&q, &nq, "X-Amz-Expires", expires) != 0 ||
		    add_param(&q, &nq, "X-Amz-SignedHeaders", sh.p) != 0 ||
		    (token && !p->omit_token &&
			add_param(&q, &nq, "X-Amz-Security-Token",
			    cr->session_token) != 0))
			goto out;
	}
	if (nq > 0)
		qsort(q, nq, sizeof(*q), kv_cmp);
	join(&qs, q, nq, "&", 1);

	buf_puts(&creq, req->method);
	buf_puts(&creq, "\n");
	canon_path(&creq, req->path, p->normalize_path);
	buf_puts(&creq, "\n");
	buf_puts(&creq, qs.p != NULL ? qs.p : "");
	buf_puts(&creq, "\n");
	for (size_t i = 0; i < nh; i++) {
		buf_puts(&creq, h[i].k);
		buf_puts(&creq, ":");
		buf_puts(&creq, h[i].v);
		buf_puts(&creq, "\n");
	}
	buf_puts(&creq, "\n");
	buf_puts(&creq, sh.p);
	buf_puts(&creq, "\n");
	buf_puts(&creq, req->payload_hash);
	if (creq.err != 0 || qs.err != 0 ||
	    crypto_sha256(creq.p, creq.len, hash) != 0)
		goto out;
	crypto_hex(hash, sizeof(hash), hex);
	buf_puts(&sts, SIGV4_ALGO "\n");
	buf_puts(&sts, out->amz_date);
	buf_puts(&sts, "\n");
	buf_puts(&sts, scope);
	buf_puts(&sts, "\n");
	buf_puts(&sts, hex);
	if (sts.err != 0 || signature(cr, date, p, sts.p, out->signature) != 0)
		goto out;

	if (presign) {
		if (qs.len > 0)
			buf_puts(&qs, "&");
		buf_puts(&qs, "X-Amz-Signature=");
		buf_puts(&qs, out->signature);
		if (token && p->omit_token) {
			buf_puts(&qs, "&X-Amz-Security-Token=");
			sigv4_uri_encode(&qs, cr->session_token,
			    strlen(cr->session_token), 0);
		}
		if (qs.err != 0)
			goto out;
		out->query = buf_take(&qs);
	} else {
		if (asprintf(&out->authorization,
			SIGV4_ALGO " Credential=%s, "
				   "SignedHeaders=%s, Signature=%s",
			cred, sh.p, out->signature) < 0) {
			out->authorization = NULL;
			goto out;
		}
		if (extra_line(out, "X-Amz-Date", out->amz_date) != 0 ||
		    (p->content_sha256 &&
			extra_line(out, "x-amz-content-sha256",
			    req->payload_hash) != 0) ||
		    (token &&
			extra_line(out, "X-Amz-Security-Token",
			    cr->session_token) != 0) ||
		    extra_line(out, "Authorization", out->authorization) != 0)
			goto out;
	}
	out->canonical_request = buf_take(&creq);
	out->string_to_sign = buf_take(&sts);
	rc = 0;
out:
	kv_free(q, nq);
	kv_free(h, nh);
	buf_free(&creq);
	buf_free(&sts);
	buf_free(&sh);
	buf_free(&qs);
	free(scope);
	free(cred);
	return rc;
}

int
sigv4_sign_headers(const struct sigv4_request *req,
    const struct sigv4_creds *cr, const struct sigv4_params *p,
    struct sigv4_out *out)
{

	return sign(req, cr, p, 0, out);
}

int
sigv4_presign(const struct sigv4_request *req, const struct sigv4_creds *cr,
    const struct sigv4_params *p, struct sigv4_out *out)
{

	return sign(req, cr, p, 1, out);
}

void
sigv4_out_free(struct sigv4_out *out)
{

	free(out->canonical_request);
	free(out->string_to_sign);
	free(out->authorization);
	free(out->query);
	for (size_t i = 0; i < SIGV4_MAX_EXTRA; i++)
		free(out->extra[i]);
	memset(out, 0, sizeof(*out));
}
