/*
 * test_sigv4.c: lib/cloud/aws/sigv4.c against every case of the two AWS
 * SigV4 suites in ../shared/conformance/aws-sigv4/, read from the files:
 *
 *  - the classic suite (aws-sig-v4-test-suite: .req, .creq, .sts, .authz),
 *    with the credentials and time of aws-sig-v4-test-suite.CONTEXT.json;
 *    header signing, paths normalised (the suite is for services other
 *    than S3);
 *  - the aws-c-auth v4 suite (aws-signing-test-suite-v4: context.json,
 *    request.txt and the header- and query- outputs), normalize true and
 *    false, sign_body, a session token signed or added after signing.
 *
 * Each case compares the canonical request, the string to sign and the
 * signature byte for byte, then the Authorization header (header form)
 * or the parameters of the presigned query (query form, as a set: the
 * suite's signed request lists them in another order than the canonical
 * one).  The number of cases found is checked, so a missing folder fails.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <jansson.h>

#include "lib/cloud/aws/sigv4.h"

#define MAXH 32

/* A parsed request file. */
struct req {
	char *text; /* the file, cut up in place */
	char method[16];
	char *path;
	char *query;
	struct sigv4_header h[MAXH];
	char *hbuf[MAXH]; /* folded values, owned */
	size_t nh;
	const char *body;
	size_t bodylen;
};

static char shared[1024];
static int nclassic, nv4;

/* pathf(out, size, fmt, ...): snprintf() that fails the test when cut. */
static void
pathf(char *out, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(out, size, fmt, ap);
	va_end(ap);
	assert_true(n >= 0 && (size_t)n < size);
}

/* slurp(path): the file's contents, NUL-terminated, or NULL. */
static char *
slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *p;
	long n;

	if (f == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	p = malloc((size_t)n + 1);
	assert_non_null(p);
	assert_int_equal(fread(p, 1, (size_t)n, f), (size_t)n);
	p[n] = '\0';
	fclose(f);
	return p;
}

/* must(path): slurp() that fails the test when the file is missing. */
static char *
must(const char *path)
{
	char *p = slurp(path);

	if (p == NULL)
		fail_msg("cannot read %s", path);
	return p;
}

/*
 * parse_req(r, text): the request line, the headers (a line starting
 * with white space continues the last value), and the body after a blank
 * line (none if the file ends first).
 */
static void
parse_req(struct req *r, char *text)
{
	char *line, *next, *sp, *v;

	memset(r, 0, sizeof(*r));
	r->text = text;
	next = strchr(text, '\n');
	assert_non_null(next);
	*next++ = '\0';
	sp = strchr(text, ' ');
	assert_non_null(sp);
	assert_true((size_t)(sp - text) < sizeof(r->method));
	memcpy(r->method, text, (size_t)(sp - text));
	r->path = sp + 1;
	/* The path may hold spaces; " HTTP/1.1" ends the line. */
	assert_non_null(sp = strstr(r->path, " HTTP/1.1"));
	*sp = '\0';
	if ((sp = strchr(r->path, '?')) != NULL) {
		*sp = '\0';
		r->query = sp + 1;
	}
	r->body = "";
	for (line = next; line != NULL && *line != '\0'; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		if (*line == '\0') {
			r->body = next != NULL ? next : "";
			break;
		}
		if (*line == ' ' || *line == '\t') {
			size_t k = r->nh - 1;
			char *m;

			assert_true(r->nh > 0);
			assert_true(asprintf(&m, "%s %s", r->h[k].value,
					line) > 0);
			free(r->hbuf[k]);
			r->hbuf[k] = m;
			r->h[k].value = m;
			continue;
		}
		assert_non_null(v = strchr(line, ':'));
		*v++ = '\0';
		assert_true(r->nh < MAXH);
		r->h[r->nh].name = line;
		r->h[r->nh++].value = v;
	}
	r->bodylen = strlen(r->body);
}

/* drop_header(r, name): remove ${name}; return its value or NULL. */
static const char *
drop_header(struct req *r, const char *name)
{
	for (size_t i = 0; i < r->nh; i++) {
		if (strcasecmp(r->h[i].name, name) != 0)
			continue;
		const char *v = r->h[i].value;

		memmove(&r->h[i], &r->h[i + 1],
		    (r->nh - i - 1) * sizeof(r->h[0]));
		memmove(&r->hbuf[i], &r->hbuf[i + 1],
		    (r->nh - i - 1) * sizeof(r->hbuf[0]));
		r->hbuf[--r->nh] = NULL;
		return v;
	}
	return NULL;
}

static void
free_req(struct req *r)
{
	for (size_t i = 0; i < MAXH; i++)
		free(r->hbuf[i]);
	free(r->text);
}

/* header_of(text, name): a copy of header ${name}'s value in ${text}. */
static char *
header_of(const char *text, const char *name)
{
	size_t n = strlen(name);

	for (const char *l = text; l != NULL;
	     l = strchr(l, '\n'), l = l ? l + 1 : NULL) {
		if (strncasecmp(l, name, n) == 0 && l[n] == ':') {
			const char *v = l + n + 1, *e = strchr(v, '\n');

			while (*v == ' ')
				v++;
			return strndup(v,
			    e != NULL ? (size_t)(e - v) : strlen(v));
		}
	}
	return NULL;
}

/* cmp_file(dir, name, got): ${got} equals the file ${dir}/${name}. */
static void
cmp_file(const char *dir, const char *name, const char *got)
{
	char path[4096];
	char *want;

	pathf(path, sizeof(path), "%s/%s", dir, name);
	want = must(path);
	if (strcmp(want, got) != 0)
		fail_msg("%s: got\n%s\nwant\n%s", path, got, want);
	free(want);
}

/* strcmp_ptr(a, b): strcmp() of two (char *) array elements. */
static int
strcmp_ptr(const void *a, const void *b)
{

	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * canon_param(t): the parameter "k=v" with both halves decoded and encoded
 * again the SigV4 way: the suite's signed request line carries raw UTF-8
 * where a client sends %XX.
 */
static char *
canon_param(const char *t)
{
	struct buf b;
	char *raw = malloc(strlen(t) + 1), *o = raw;

	assert_non_null(raw);
	for (; *t != '\0'; t++) {
		unsigned int c;

		if (*t == '%' && sscanf(t + 1, "%2x", &c) == 1) {
			*o++ = (char)c;
			t += 2;
		} else
			*o++ = *t;
	}
	*o = '\0';
	buf_init(&b, 1 << 16);
	o = strchr(raw, '=');
	assert_non_null(o);
	sigv4_uri_encode(&b, raw, (size_t)(o - raw), 0);
	buf_puts(&b, "=");
	sigv4_uri_encode(&b, o + 1, strlen(o + 1), 0);
	assert_int_equal(b.err, 0);
	free(raw);
	return buf_take(&b);
}

/* sorted_params(q): the parameters of ${q}, canonical, sorted, joined. */
static char *
sorted_params(const char *q)
{
	char *c = strdup(q), *save = NULL, *p[64];
	struct buf r;
	size_t n = 0;

	assert_non_null(c);
	for (char *t = strtok_r(c, "&", &save); t != NULL;
	     t = strtok_r(NULL, "&", &save)) {
		assert_true(n < 64);
		p[n++] = canon_param(t);
	}
	qsort(p, n, sizeof(p[0]), strcmp_ptr);
	buf_init(&r, 1 << 16);
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			buf_puts(&r, "&");
		buf_puts(&r, p[i]);
		free(p[i]);
	}
	assert_int_equal(r.err, 0);
	free(c);
	return buf_take(&r);
}

static const struct sigv4_creds classic_cr = {
	.access_key_id = "AKIDEXAMPLE",
	.secret_access_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
};

/*
 * classic_case(dir, name): one case of the classic suite.  The .req holds
 * X-Amz-Date, which the signer adds itself, and for the token cases the
 * X-Amz-Security-Token; both are taken out and given as the time and the
 * credentials.  get-vanilla-with-session-token's token is in its .sreq
 * only; post-sts-header-after adds the token after signing (its readme).
 */
static void
classic_case(const char *dir, const char *name)
{
	struct sigv4_creds cr = classic_cr;
	struct sigv4_params p = { .region = "us-east-1",
		.service = "service",
		.normalize_path = 1 };
	struct sigv4_request sr;
	struct sigv4_out out;
	struct req r;
	struct tm tm = { .tm_year = 115,
		.tm_mon = 7,
		.tm_mday = 30,
		.tm_hour = 12,
		.tm_min = 36 };
	char path[4096], ph[65], *sreq, *token = NULL;
	const char *d, *t;

	pathf(path, sizeof(path), "%s/%s.req", dir, name);
	parse_req(&r, must(path));
	d = drop_header(&r, "X-Amz-Date");
	assert_non_null(d);
	assert_string_equal(d, "20150830T123600Z");
	if ((t = drop_header(&r, "X-Amz-Security-Token")) != NULL)
		token = strdup(t);
	pathf(path, sizeof(path), "%s/%s.sreq", dir, name);
	sreq = must(path);
	if (token == NULL)
		token = header_of(sreq, "X-Amz-Security-Token");
	free(sreq);
	cr.session_token = token;
	p.omit_token = strcmp(name, "post-sts-header-after") == 0;
	p.when = timegm(&tm);
	assert_int_equal(sigv4_payload_hash(r.body, r.bodylen, ph), 0);
	sr = (struct sigv4_request){ .method = r.method,
		.path = r.path,
		.query = r.query,
		.headers = r.h,
		.nheaders = r.nh,
		.payload_hash = ph };
	assert_int_equal(sigv4_sign_headers(&sr, &cr, &p, &out), 0);
	pathf(path, sizeof(path), "%s.creq", name);
	cmp_file(dir, path, out.canonical_request);
	pathf(path, sizeof(path), "%s.sts", name);
	cmp_file(dir, path, out.string_to_sign);
	pathf(path, sizeof(path), "%s.authz", name);
	cmp_file(dir, path, out.authorization);
	assert_string_equal(out.amz_date, "20150830T123600Z");
	sigv4_out_free(&out);
	free(token);
	free_req(&r);
	nclassic++;
}

/* walk_classic(dir): every case folder below ${dir}. */
static void
walk_classic(const char *dir)
{
	DIR *dp = opendir(dir);
	struct dirent *e;
	char path[4096];

	assert_non_null(dp);
	while ((e = readdir(dp)) != NULL) {
		FILE *f;

		if (e->d_name[0] == '.')
			continue;
		pathf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (e->d_type != DT_DIR)
			continue;
		pathf(path, sizeof(path), "%s/%s/%s.req", dir, e->d_name,
		    e->d_name);
		if ((f = fopen(path, "r")) != NULL) {
			fclose(f);
			pathf(path, sizeof(path), "%s/%s", dir, e->d_name);
			classic_case(path, e->d_name);
		} else {
			pathf(path, sizeof(path), "%s/%s", dir, e->d_name);
			walk_classic(path);
		}
	}
	closedir(dp);
}

static void
test_classic(void **state)
{
	char dir[2048];

	(void)state;
	pathf(dir, sizeof(dir),
	    "%s/conformance/aws-sigv4/"
	    "aws-sig-v4-test-suite",
	    shared);
	walk_classic(dir);
	/* SOURCES.md: 34 cases. */
	assert_int_equal(nclassic, 34);
}

/*
 * v4_case(dir): one case of the aws-c-auth suite, in both forms.
 */
static void
v4_case(const char *dir)
{
	json_t *ctx, *c;
	struct sigv4_creds cr;
	struct sigv4_params p = { 0 };
	struct sigv4_request sr;
	struct sigv4_out out;
	struct req r;
	struct tm tm = { 0 };
	char path[4096], ph[65], *signed_req, *got, *want, *a, *q, *e;
	const char *ts;

	pathf(path, sizeof(path), "%s/context.json", dir);
	ctx = json_load_file(path, 0, NULL);
	assert_non_null(ctx);
	c = json_object_get(ctx, "credentials");
	cr = (struct sigv4_creds){
		.access_key_id = json_string_value(json_object_get(c,
		    "access_key_id")),
		.secret_access_key = json_string_value(json_object_get(c,
		    "secret_access_key")),
		.session_token = json_string_value(json_object_get(c, "token"))
	};
	assert_non_null(cr.access_key_id);
	assert_non_null(cr.secret_access_key);
	p.region = json_string_value(json_object_get(ctx, "region"));
	p.service = json_string_value(json_object_get(ctx, "service"));
	p.normalize_path = json_is_true(json_object_get(ctx, "normalize"));
	p.omit_token = json_is_true(json_object_get(ctx,
	    "omit_session_token"));
	p.content_sha256 = json_is_true(json_object_get(ctx, "sign_body"));
	p.expires = (unsigned)json_integer_value(json_object_get(ctx,
	    "expiration_in_seconds"));
	ts = json_string_value(json_object_get(ctx, "timestamp"));
	assert_non_null(ts);
	assert_non_null(strptime(ts, "%Y-%m-%dT%H:%M:%SZ", &tm));
	p.when = timegm(&tm);

	pathf(path, sizeof(path), "%s/request.txt", dir);
	parse_req(&r, must(path));
	assert_int_equal(sigv4_payload_hash(r.body, r.bodylen, ph), 0);
	sr = (struct sigv4_request){ .method = r.method,
		.path = r.path,
		.query = r.query,
		.headers = r.h,
		.nheaders = r.nh,
		.payload_hash = ph };

	/* Header form. */
	assert_int_equal(sigv4_sign_headers(&sr, &cr, &p, &out), 0);
	cmp_file(dir, "header-canonical-request.txt", out.canonical_request);
	cmp_file(dir, "header-string-to-sign.txt", out.string_to_sign);
	cmp_file(dir, "header-signature.txt", out.signature);
	pathf(path, sizeof(path), "%s/header-signed-request.txt", dir);
	signed_req = must(path);
	a = header_of(signed_req, "Authorization");
	assert_non_null(a);
	assert_string_equal(out.authorization, a);
	free(a);
	free(signed_req);
	sigv4_out_free(&out);

	/* Query form: the parameters of the presigned request line. */
	assert_int_equal(sigv4_presign(&sr, &cr, &p, &out), 0);
	cmp_file(dir, "query-canonical-request.txt", out.canonical_request);
	cmp_file(dir, "query-string-to-sign.txt", out.string_to_sign);
	cmp_file(dir, "query-signature.txt", out.signature);
	pathf(path, sizeof(path), "%s/query-signed-request.txt", dir);
	signed_req = must(path);
	assert_non_null(q = strchr(signed_req, '?'));
	assert_non_null(e = strstr(q, " HTTP/1.1"));
	*e = '\0';
	want = sorted_params(q + 1);
	got = sorted_params(out.query);
	assert_string_equal(got, want);
	free(got);
	free(want);
	free(signed_req);
	sigv4_out_free(&out);

	free_req(&r);
	json_decref(ctx);
	nv4++;
}

static void
test_v4(void **state)
{
	char dir[2048], path[4096];
	struct dirent *e;
	DIR *dp;

	(void)state;
	pathf(dir, sizeof(dir),
	    "%s/conformance/aws-sigv4/"
	    "aws-signing-test-suite-v4",
	    shared);
	assert_non_null(dp = opendir(dir));
	while ((e = readdir(dp)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		pathf(path, sizeof(path), "%s/%s", dir, e->d_name);
		v4_case(path);
	}
	closedir(dp);
	/* SOURCES.md: 38 cases, 76 header/query pairs. */
	assert_int_equal(nv4, 38);
}

/*
 * test_s3_style: what S3 sends, which the suites do not cover: a key with
 * characters to encode and no normalisation (".." and "//" kept), a query
 * without values ("uploads"), UNSIGNED-PAYLOAD and the content header.
 */
static void
test_s3_style(void **state)
{
	struct sigv4_header h[] = { { "Host", "b.s3.amazonaws.com" } };
	struct sigv4_request sr = { .method = "POST",
		.path = "/a b//../+c",
		.query = "uploads",
		.headers = h,
		.nheaders = 1,
		.payload_hash = SIGV4_UNSIGNED_PAYLOAD };
	struct sigv4_params p = { .region = "eu-west-1",
		.service = "s3",
		.when = 1440938160,
		.content_sha256 = 1 };
	struct sigv4_out out;
	const char *want =
	    "Authorization: AWS4-HMAC-SHA256 "
	    "Credential=AKIDEXAMPLE/20150830/eu-west-1/s3/aws4_request, "
	    "SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=";

	(void)state;
	assert_int_equal(sigv4_sign_headers(&sr, &classic_cr, &p, &out), 0);
	assert_string_equal(out.canonical_request,
	    "POST\n/a%20b//../%2Bc\nuploads=\n"
	    "host:b.s3.amazonaws.com\n"
	    "x-amz-content-sha256:UNSIGNED-PAYLOAD\n"
	    "x-amz-date:20150830T123600Z\n\n"
	    "host;x-amz-content-sha256;x-amz-date\nUNSIGNED-PAYLOAD");
	assert_string_equal(out.extra[0], "X-Amz-Date: 20150830T123600Z");
	assert_string_equal(out.extra[1],
	    "x-amz-content-sha256: UNSIGNED-PAYLOAD");
	assert_non_null(out.extra[2]);
	assert_int_equal(strncmp(out.extra[2], want, strlen(want)), 0);
	assert_string_equal(out.extra[2] + strlen(want), out.signature);
	assert_null(out.extra[3]);
	sigv4_out_free(&out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_classic),
		cmocka_unit_test(test_v4),
		cmocka_unit_test(test_s3_style),
	};
	const char *s = getenv("VIGIL_SHARED");

	snprintf(shared, sizeof(shared), "%s", s != NULL ? s : "../../shared");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
