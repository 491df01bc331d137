/*
 * test_azure_auth.c: Azure Storage signing (lib/cloud/azure/).  Every case
 * of ../shared/conformance/azure/storage-sharedkey/ is read from the file
 * and checked: the SharedKey and SharedKeyLite strings-to-sign, the
 * canonicalized resources and headers.  The documentation publishes no
 * key with its signatures, so the HMAC step and the SAS strings-to-sign
 * are checked against values computed apart (Python's hmac module) under
 * Azurite's well-known development key (the third SharedKey case over
 * the corrected string, see test_sharedkey_cases()).
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/cloud/azure/azure_auth.h"

/* Azurite's published development account key. */
#define DEV_KEY \
	"Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6" \
	"tq/K1SZFPTOtr/KBHBeksoGMGw=="

#define MAXH 16

/* A request of the conformance file, parsed. */
struct req {
	char method[16];
	char account[64];
	char path[256];
	char query[512];
	char *hdr[MAXH + 1];
	size_t nhdr;
};

/* The conformance file, parsed (loaded once). */
static json_t *
cases(void)
{
	static json_t *root;
	const char *shared = getenv("VIGIL_SHARED");
	char path[1024];
	json_error_t jerr;

	if (root != NULL)
		return root;
	snprintf(path, sizeof(path),
	    "%s/conformance/azure/storage-sharedkey/"
	    "documentation-examples.json",
	    shared ? shared : "../../shared");
	root = json_load_file(path, 0, &jerr);
	if (root == NULL)
		fail_msg("%s: %s (is ../shared beside the repository?)", path,
		    jerr.text);
	return root;
}

/* Free the headers of ${r}. */
static void
req_free(struct req *r)
{
	size_t i;

	for (i = 0; i < r->nhdr; i++)
		free(r->hdr[i]);
	r->nhdr = 0;
	r->hdr[0] = NULL;
}

/* Add header "${s}" (${n} bytes) to ${r}. */
static void
req_hdr(struct req *r, const char *s, size_t n)
{
	assert_true(r->nhdr < MAXH);
	r->hdr[r->nhdr] = strndup(s, n);
	assert_non_null(r->hdr[r->nhdr]);
	r->hdr[++r->nhdr] = NULL;
}

/* Split "https://host/path?query" into ${r}. */
static void
parse_url(struct req *r, const char *url, size_t n)
{
	const char *host = strstr(url, "://") + 3, *p, *q;
	char h[128];

	p = host + strcspn(host, "/ ");
	assert_true((size_t)(p - host) < sizeof(h));
	memcpy(h, host, (size_t)(p - host));
	h[p - host] = '\0';
	assert_int_equal(azure_account_from_host(h, r->account,
			     sizeof(r->account)),
	    0);
	q = memchr(p, '?', n - (size_t)(p - url));
	snprintf(r->path, sizeof(r->path), "%.*s",
	    (int)((q ? q : url + n) - p), p);
	snprintf(r->query, sizeof(r->query), "%.*s",
	    q ? (int)(url + n - q - 1) : 0, q ? q + 1 : "");
}

/*
 * Parse the two ways the file writes a request: "GET URL (headers A: v,
 * B: w)" and "PUT URL HTTP/1.1\nA: v\nB: w".
 */
static void
parse_req(struct req *r, const char *s)
{
	const char *url, *e, *p, *next;
	size_t n;

	memset(r, 0, sizeof(*r));
	n = strcspn(s, " ");
	snprintf(r->method, sizeof(r->method), "%.*s", (int)n, s);
	url = s + n + 1;
	e = url + strcspn(url, " \n");
	parse_url(r, url, (size_t)(e - url));
	if ((p = strstr(e, "(headers ")) != NULL) {
		p += strlen("(headers ");
		/* A comma starts a header only before "Name: ". */
		for (;;) {
			next = p;
			for (;;) {
				next = strchr(next + 1, ',');
				if (next == NULL)
					break;
				n = strspn(next + 2,
				    "abcdefghijklmnopqrstuvwxyz"
				    "ABCDEFGHIJKLMNOPQRSTUVWXYZ-");
				if (next[1] == ' ' && n > 0 &&
				    next[2 + n] == ':')
					break;
			}
			if (next == NULL) {
				req_hdr(r, p, strcspn(p, ")"));
				break;
			}
			req_hdr(r, p, (size_t)(next - p));
			p = next + 2;
		}
	} else {
		for (p = strchr(e, '\n'); p != NULL; p = strchr(p, '\n')) {
			p++;
			req_hdr(r, p, strcspn(p, "\n"));
		}
	}
}

/* The string-to-sign of ${r} under ${version}, ${scheme}; freed by caller. */
static char *
sts_of(const struct req *r, const char *version, enum azure_sk_scheme scheme)
{
	struct azure_sk_req sk = { r->method, r->path, r->query,
		(const char *const *)r->hdr, version };
	char *s = azure_sharedkey_sts(r->account, &sk, scheme);

	assert_non_null(s);
	return s;
}

/* The SharedKey cases: request -> string-to-sign, and the HMAC step. */
static void
test_sharedkey_cases(void **state)
{
	json_t *list = json_object_get(cases(), "shared_key_cases"), *c;
	const char *want[] = {
		"m649E40iEJ3QQyCg9/WI2Fa9zS+RB/2rEBcLJb0CKs0=",
		"xGXG0xDZ4LffNUrgvdRqISw8BZe4MJz8EbGZmcCE038=",
		"rGeAHsQcCOCAmBCsncArTq675iQ3eMc3hKrPyqClJ3Q=",
	};
	const char *reqtext = NULL, *version, *doc;
	char fixed[512], vbuf[16], *sts, *auth, expect[128];
	uint8_t key[AZURE_KEY_MAX];
	size_t i, keylen;
	struct req r;

	(void)state;
	assert_int_equal(azure_key_decode(DEV_KEY, key, &keylen), 0);
	assert_int_equal(keylen, 64);
	assert_int_equal(json_array_size(list), 3);
	json_array_foreach(list, i, c)
	{
		const char *name = json_string_value(json_object_get(c,
		    "name"));

		assert_string_equal(json_string_value(json_object_get(c,
					"scheme")),
		    "SharedKey");
		/* A case without a request is "the same request" as the last. */
		if (json_object_get(c, "request") != NULL)
			reqtext = json_string_value(json_object_get(c,
			    "request"));
		assert_non_null(reqtext);
		/* "2014-02-14 and earlier": the version that rules. */
		version = json_string_value(json_object_get(c,
		    "x_ms_version"));
		snprintf(vbuf, sizeof(vbuf), "%.10s", version);
		parse_req(&r, reqtext);
		sts = sts_of(&r, vbuf, AZURE_SK);
		doc = json_string_value(json_object_get(c, "string_to_sign"));
		if (strncmp(doc, "PUT\n\n\n\n0\n", 9) == 0) {
			/*
			 * The documentation's pre-2015-02-21 example puts
			 * the "0" one line late, in Content-MD5's place,
			 * against its own formula (VERB, Content-Encoding,
			 * Content-Language, Content-Length, Content-MD5, ...)
			 * and against Azure's SDKs and Azurite.  Checked
			 * here: the documented string with the "0" on the
			 * Content-Length line, and nothing else changed.
			 */
			snprintf(fixed, sizeof(fixed), "PUT\n\n\n0\n\n%s",
			    doc + 9);
			doc = fixed;
		}
		if (strcmp(sts, doc) != 0)
			fail_msg("%s: got\n%s", name, sts);
		free(sts);
		struct azure_sk_req sk = { r.method, r.path, r.query,
			(const char *const *)r.hdr, vbuf };
		auth = azure_sharedkey_auth(r.account, key, keylen, &sk,
		    AZURE_SK);
		snprintf(expect, sizeof(expect), "SharedKey %s:%s", r.account,
		    want[i]);
		assert_string_equal(auth, expect);
		free(auth);
		req_free(&r);
	}
}

/*
 * The SharedKeyLite cases give only the string to sign: the request is
 * rebuilt from it with its headers in reverse order and their names in
 * upper case, so that ordering and lower-casing are what is checked.
 */
static void
test_sharedkey_lite_cases(void **state)
{
	json_t *list = json_object_get(cases(), "shared_key_lite_cases"), *c;
	const char *want, *p, *line, *service;
	const char *names[] = { "Content-MD5", "Content-Type", "Date" };
	char *sts, *lines[32];
	size_t i, n, k, j;
	struct req r;

	(void)state;
	assert_int_equal(json_array_size(list), 2);
	json_array_foreach(list, i, c)
	{
		want = json_string_value(json_object_get(c, "string_to_sign"));
		service = json_string_value(json_object_get(c, "service"));
		memset(&r, 0, sizeof(r));
		for (n = 0, p = want; n < 32; n++) {
			lines[n] = strndup(p, strcspn(p, "\n"));
			p += strcspn(p, "\n");
			if (*p++ == '\0') {
				n++;
				break;
			}
		}
		/* The last line is the resource: /account/path. */
		line = lines[n - 1];
		p = strchr(line + 1, '/');
		snprintf(r.account, sizeof(r.account), "%.*s",
		    (int)(p - line - 1), line + 1);
		snprintf(r.path, sizeof(r.path), "%s", p);
		if (strcmp(service, "table") == 0) {
			assert_int_equal(n, 2);
			strcpy(r.method, "POST");
			req_hdr(&r, "DATE: ", 6);
			free(r.hdr[0]);
			assert_int_not_equal(asprintf(&r.hdr[0], "DATE: %s",
						 lines[0]),
			    -1);
			sts = sts_of(&r, NULL, AZURE_SK_LITE_TABLE);
		} else {
			snprintf(r.method, sizeof(r.method), "%s", lines[0]);
			for (k = n - 2; k >= 4; k--) {
				char *h = strdup(lines[k]), *d;

				for (d = h; *d != ':'; d++)
					*d = (char)toupper((unsigned char)*d);
				req_hdr(&r, h, strlen(h));
				free(h);
			}
			for (j = 0; j < 3; j++) {
				char *h;

				if (lines[j + 1][0] == '\0')
					continue;
				assert_int_not_equal(asprintf(&h, "%s:  %s ",
							 names[j],
							 lines[j + 1]),
				    -1);
				req_hdr(&r, h, strlen(h));
				free(h);
			}
			sts = sts_of(&r, NULL, AZURE_SK_LITE);
		}
		assert_string_equal(sts, want);
		free(sts);
		for (k = 0; k < n; k++)
			free(lines[k]);
		req_free(&r);
	}
}

/* The canonicalized resources, from request URLs. */
static void
test_canon_resource_cases(void **state)
{
	json_t *list = json_object_get(cases(),
	    "canonicalized_resource_cases");
	json_t *c, *note;
	const char *url, *want;
	char *got;
	size_t i;
	struct req r;

	(void)state;
	assert_int_equal(json_array_size(list), 3);
	json_array_foreach(list, i, c)
	{
		url = strchr(json_string_value(json_object_get(c, "request")),
			  ' ') +
		    1;
		want = json_string_value(json_object_get(c,
		    "canonicalized_resource"));
		memset(&r, 0, sizeof(r));
		parse_url(&r, url, strlen(url));
		/*
		 * The documentation's own typo ("container" in the request,
		 * "mycontainer" in the result, the note says so): the
		 * request is taken with the container the result names.
		 */
		note = json_object_get(c, "note");
		if (note != NULL &&
		    strstr(json_string_value(note), "typo") != NULL) {
			assert_string_equal(r.path, "/container");
			strcpy(r.path, "/mycontainer");
		}
		got = azure_canon_resource(r.account, r.path, r.query,
		    AZURE_SK);
		assert_non_null(got);
		assert_string_equal(got, want);
		free(got);
	}
}

/* The canonicalized headers example: x-ms- headers sorted, trimmed. */
static void
test_canon_headers_example(void **state)
{
	const char *want = json_string_value(json_object_get(cases(),
	    "canonicalized_headers_example"));
	const char *hdr[] = { "X-MS-Version:   2014-02-14 ",
		"Content-Type: text/plain",
		"x-ms-date: Sat, 21 Feb 2015  00:48:38   GMT", NULL };
	struct azure_sk_req sk = { "GET", "/c", NULL, hdr, NULL };
	char *sts = azure_sharedkey_sts("a", &sk, AZURE_SK), *p;

	(void)state;
	assert_non_null(sts);
	p = strstr(sts, "x-ms-date:");
	assert_non_null(p);
	assert_int_equal(strncmp(p, want, strlen(want)), 0);
	assert_string_equal(p + strlen(want), "/a/c");
	free(sts);
}

/* Empty x-ms- values are signed from 2016-05-31 on, omitted before. */
static void
test_empty_header_by_version(void **state)
{
	const char *hdr[] = { "x-ms-meta-e:", "x-ms-version: 2021-08-06",
		NULL };
	const char *old[] = { "x-ms-meta-e:", "x-ms-version: 2015-04-05",
		NULL };
	struct azure_sk_req sk = { "PUT", "/c/b",
		"comp=block&blockid=QQ%3D%3D", hdr, NULL };
	char *sts;

	(void)state;
	sts = azure_sharedkey_sts("a", &sk, AZURE_SK);
	assert_string_equal(sts,
	    "PUT\n\n\n\n\n\n\n\n\n\n\n\n"
	    "x-ms-meta-e:\nx-ms-version:2021-08-06\n"
	    "/a/c/b\nblockid:QQ==\ncomp:block");
	free(sts);
	sk.headers = old;
	sts = azure_sharedkey_sts("a", &sk, AZURE_SK);
	assert_string_equal(sts,
	    "PUT\n\n\n\n\n\n\n\n\n\n\n\n"
	    "x-ms-version:2015-04-05\n/a/c/b\nblockid:QQ==\ncomp:block");
	free(sts);
}

/* Keys and hosts. */
static void
test_key_and_host(void **state)
{
	uint8_t key[AZURE_KEY_MAX];
	size_t len;
	char acct[32];

	(void)state;
	assert_int_equal(azure_key_decode("not base64!", key, &len), -1);
	assert_int_equal(azure_key_decode("", key, &len), -1);
	assert_int_equal(azure_account_from_host("acct.blob.core.windows.net",
			     acct, sizeof(acct)),
	    0);
	assert_string_equal(acct, "acct");
	assert_int_equal(
	    azure_account_from_host("acct-secondary.blob.core.windows.net",
		acct, sizeof(acct)),
	    0);
	assert_string_equal(acct, "acct");
	assert_int_equal(azure_account_from_host(".x", acct, sizeof(acct)),
	    -1);
}

/* A service SAS (version 2020-12-06): string-to-sign and token. */
static void
test_service_sas(void **state)
{
	struct azure_sas sas = { .version = "2020-12-06",
		.permissions = "r",
		.start = "2026-12-01T00:00:00Z",
		.expiry = "2026-12-31T00:00:00Z",
		.protocol = "https,http",
		.resource = "b" };
	uint8_t key[AZURE_KEY_MAX];
	size_t keylen;
	char *sts, *tok;

	(void)state;
	assert_int_equal(azure_key_decode(DEV_KEY, key, &keylen), 0);
	sts = azure_sas_service_sts("devstoreaccount1", "blob",
	    "/vigil/a b/c.vgl", &sas);
	assert_string_equal(sts,
	    "r\n2026-12-01T00:00:00Z\n"
	    "2026-12-31T00:00:00Z\n/blob/devstoreaccount1/vigil/a b/c.vgl\n"
	    "\n\nhttps,http\n2020-12-06\nb\n\n\n\n\n\n\n");
	free(sts);
	tok = azure_sas_service_token("devstoreaccount1", key, keylen, "blob",
	    "/vigil/a b/c.vgl", &sas);
	assert_string_equal(tok,
	    "sv=2020-12-06&st=2026-12-01T00%3A00%3A00Z"
	    "&se=2026-12-31T00%3A00%3A00Z&sp=r&spr=https%2Chttp&sr=b"
	    "&sig=eMIZPXOihYKetjVYJ4JV%2Fki6cLF4FCg70Evmdo5V5z0%3D");
	free(tok);
}

/* An account SAS (version 2020-12-06): string-to-sign and token. */
static void
test_account_sas(void **state)
{
	struct azure_sas sas = { .version = "2020-12-06",
		.permissions = "racwdl",
		.expiry = "2026-12-31T00:00:00Z",
		.protocol = "https",
		.services = "b",
		.resource_types = "sco" };
	uint8_t key[AZURE_KEY_MAX];
	size_t keylen;
	char *sts, *tok;

	(void)state;
	assert_int_equal(azure_key_decode(DEV_KEY, key, &keylen), 0);
	sts = azure_sas_account_sts("devstoreaccount1", &sas);
	assert_string_equal(sts,
	    "devstoreaccount1\nracwdl\nb\nsco\n\n"
	    "2026-12-31T00:00:00Z\n\nhttps\n2020-12-06\n\n");
	free(sts);
	tok = azure_sas_account_token("devstoreaccount1", key, keylen, &sas);
	assert_string_equal(tok,
	    "sv=2020-12-06&ss=b&srt=sco"
	    "&se=2026-12-31T00%3A00%3A00Z&sp=racwdl&spr=https"
	    "&sig=td%2BcYIgLwl4HkghIy01DonmQ2isD0Z%2B9X2EGt9Hsbl0%3D");
	free(tok);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sharedkey_cases),
		cmocka_unit_test(test_sharedkey_lite_cases),
		cmocka_unit_test(test_canon_resource_cases),
		cmocka_unit_test(test_canon_headers_example),
		cmocka_unit_test(test_empty_header_by_version),
		cmocka_unit_test(test_key_and_host),
		cmocka_unit_test(test_service_sas),
		cmocka_unit_test(test_account_sas),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);

	json_decref(cases());
	return rc;
}
