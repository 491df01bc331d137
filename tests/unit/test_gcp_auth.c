/*
 * test_gcp_auth.c: Google Cloud credentials (lib/cloud/gcp/) against the
 * files of ../shared/conformance/gcp/, read directly: RS256 over the JOSE
 * cookbook key (RFC 7520 4.1), the service-account assertions and token
 * request bodies derived with the conformance dummy key, the OAuth2 and
 * metadata-server answers of Google's documentation and of a recorded
 * session, all 29 GCS V4 signed URLs of googleapis/conformance-tests; then
 * the token source against a loopback server (fakes/fake_httpd.c): the
 * request it makes, its cache and refresh, the metadata server, key files
 * with loose modes refused.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "lib/ag.h"
#include "lib/clock.h"
#include "lib/cloud/gcp/gcp_api.h"
#include "lib/cloud/gcp/gcp_auth.h"
#include "lib/cloud/gcp/gcp_signurl.h"
#include "lib/crypto/crypto.h"
#include "lib/crypto/crypto_rsa.h"
#include "lib/log.h"
#include "tests/unit/fakes/fake_httpd.h"
#include "tests/unit/fakes/testutil.h"

#define SA_FILE \
	"gcp/gcs/conformance-tests-storage-v1/" \
	"test_service_account.not-a-test.json"

/* shared(rel): the path of ${rel} under ../shared/conformance. */
static const char *
shared(const char *rel)
{
	static char buf[1024];
	const char *base = getenv("VIGIL_SHARED");

	snprintf(buf, sizeof(buf), "%s/conformance/%s",
	    base != NULL ? base : "../../shared", rel);
	return buf;
}

/* load(rel): the JSON file ${rel} under ../shared/conformance. */
static json_t *
load(const char *rel)
{
	json_error_t jerr;
	json_t *j;

	j = json_load_file(shared(rel), 0, &jerr);
	if (j == NULL)
		fail_msg("%s: %s", shared(rel), jerr.text);
	return j;
}

/* str(o, key): member ${key} of ${o}, a string that must be there. */
static const char *
str(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	if (s == NULL)
		fail_msg("no string member %s", key);
	return s;
}

/* sa_conformance(): the conformance dummy service account, parsed. */
static struct gcp_sa *
sa_conformance(void)
{
	struct gcp_sa *sa = NULL;
	struct ag_err err = { "" };
	size_t len;
	uint8_t *buf;

	buf = tu_read_file(shared(SA_FILE), &len);
	assert_non_null(buf);
	if (gcp_sa_parse((const char *)buf, len, SA_FILE, &sa, &err) != 0)
		fail_msg("%s", err.msg);
	free(buf);
	assert_string_equal(sa->client_email,
	    "test-iam-credentials@dummy-project-id.iam.gserviceaccount.com");
	assert_string_equal(sa->private_key_id,
	    "ffffffffffffffffffffffffffffffffffffffff");
	assert_string_equal(sa->token_uri, GCP_TOKEN_URI_DEFAULT);
	return sa;
}

/* b64u(o, key, out, cap): member ${key} of ${o} base64url-decoded. */
static size_t
b64u(const json_t *o, const char *key, uint8_t *out, size_t cap)
{
	int n = crypto_unbase64url(str(o, key), out, cap);

	assert_true(n > 0);
	return (size_t)n;
}

/*
 * The JOSE cookbook's RS256 example (RFC 7520 4.1): the key from its JWK,
 * the signature of its signing input, and the whole compact JWS from its
 * protected header and payload, byte for byte.
 */
static void
test_jose_cookbook_rs256(void **state)
{
	static uint8_t n[512], e[8], d[512], p[256], q[256], dp[256], dq[256],
	    qi[256], hdr[256], payload[1024], sig[CRYPTO_RSA_SIG_MAX];
	struct crypto_rsa_parts parts;
	struct crypto_rsa *key;
	struct ag_err err = { "" };
	json_t *j, *jwk, *signing, *output;
	char b64[1024], *jws;
	size_t siglen, hlen, plen;

	(void)state;
	j = load("gcp/jwt-rs256/jose-cookbook/jws-4_1.rsa_v15_signature.json");
	jwk = json_object_get(json_object_get(j, "input"), "key");
	signing = json_object_get(j, "signing");
	output = json_object_get(j, "output");
	assert_string_equal(str(jwk, "kty"), "RSA");
	parts.nlen = b64u(jwk, "n", n, sizeof(n));
	parts.elen = b64u(jwk, "e", e, sizeof(e));
	parts.dlen = b64u(jwk, "d", d, sizeof(d));
	parts.plen = b64u(jwk, "p", p, sizeof(p));
	parts.qlen = b64u(jwk, "q", q, sizeof(q));
	parts.dplen = b64u(jwk, "dp", dp, sizeof(dp));
	parts.dqlen = b64u(jwk, "dq", dq, sizeof(dq));
	parts.qilen = b64u(jwk, "qi", qi, sizeof(qi));
	parts.n = n;
	parts.e = e;
	parts.d = d;
	parts.p = p;
	parts.q = q;
	parts.dp = dp;
	parts.dq = dq;
	parts.qi = qi;
	key = crypto_rsa_from_parts(&parts, &err);
	if (key == NULL)
		fail_msg("%s", err.msg);

	/* The signature of the signing input. */
	assert_int_equal(crypto_rsa_sign_sha256(key, str(signing, "sig-input"),
			     strlen(str(signing, "sig-input")), sig,
			     sizeof(sig), &siglen),
	    0);
	assert_true(crypto_base64url(sig, siglen, b64, sizeof(b64)) > 0);
	assert_string_equal(b64, str(signing, "sig"));
	assert_int_equal(crypto_rsa_verify_sha256(key,
			     str(signing, "sig-input"),
			     strlen(str(signing, "sig-input")), sig, siglen),
	    0);
	sig[7] ^= 1;
	assert_int_equal(crypto_rsa_verify_sha256(key,
			     str(signing, "sig-input"),
			     strlen(str(signing, "sig-input")), sig, siglen),
	    -1);

	/* The compact serialisation, made from its decoded parts. */
	hlen = b64u(signing, "protected_b64u", hdr, sizeof(hdr) - 1);
	hdr[hlen] = '\0';
	plen = b64u(json_object_get(output, "json"), "payload", payload,
	    sizeof(payload) - 1);
	payload[plen] = '\0';
	assert_string_equal((char *)payload,
	    str(json_object_get(j, "input"), "payload"));
	assert_int_equal(gcp_jwt_sign(key, (char *)hdr, (char *)payload, &jws,
			     &err),
	    0);
	assert_string_equal(jws, str(output, "compact"));
	free(jws);
	crypto_rsa_free(key);
	json_decref(j);
}

/*
 * The derived service-account vectors: header and claims made by
 * gcp_jwt_header() and gcp_jwt_claims() equal the stated JSON strings, the
 * assertion and the token request body equal the stated ones.
 */
static void
test_sa_jwt_vectors(void **state)
{
	struct gcp_sa *sa = sa_conformance();
	struct ag_err err = { "" };
	json_t *j, *c, *claims;
	char *hdr, *cl, *jwt, *body;
	size_t i;

	(void)state;
	j = load("gcp/jwt-rs256/derived/google-sa-jwt-bearer-vectors.json");
	assert_true(json_array_size(json_object_get(j, "cases")) >= 2);
	json_array_foreach(json_object_get(j, "cases"), i, c)
	{
		json_t *h = json_loads(str(c, "header_json"), 0, NULL);
		const char *kid = json_string_value(json_object_get(h, "kid"));

		claims = json_loads(str(c, "claims_json"), 0, NULL);
		assert_non_null(claims);
		hdr = gcp_jwt_header(kid);
		assert_string_equal(hdr, str(c, "header_json"));
		cl = gcp_jwt_claims(str(claims, "iss"), str(claims, "scope"),
		    str(claims, "aud"),
		    json_integer_value(json_object_get(claims, "iat")),
		    json_integer_value(json_object_get(claims, "exp")));
		assert_string_equal(cl, str(c, "claims_json"));
		assert_int_equal(gcp_jwt_sign(sa->key, hdr, cl, &jwt, &err),
		    0);
		assert_string_equal(jwt, str(c, "jwt"));
		assert_memory_equal(jwt, str(c, "signing_input"),
		    strlen(str(c, "signing_input")));
		body = gcp_token_request_body(jwt);
		assert_string_equal(body, str(c, "token_request_body"));
		/* The key file's own kid and email give the second case. */
		if (kid != NULL) {
			char *a;

			assert_int_equal(
			    gcp_sa_assertion(sa, str(claims, "scope"),
				str(claims, "aud"),
				json_integer_value(json_object_get(claims,
				    "iat")),
				&a, &err),
			    0);
			assert_string_equal(a, str(c, "jwt"));
			free(a);
		}
		free(hdr);
		free(cl);
		free(jwt);
		free(body);
		json_decref(claims);
		json_decref(h);
	}
	json_decref(j);
	gcp_sa_free(sa);
}

/*
 * Google's documented examples: the claim set's order, the token request
 * form, the token and metadata-server answers; a recorded token answer
 * without expires_in; and errors.
 */
static void
test_oauth2_doc_examples(void **state)
{
	struct ag_err err = { "" };
	struct gcp_token tok;
	json_t *j, *c, *req, *meta;
	char *s, *body, *tmpl, *cut;
	size_t len;
	uint8_t *raw;

	(void)state;
	j = load("gcp/oauth2/google-service-account-oauth2-doc-examples.json");
	c = json_object_get(j, "jwt_claim_set_example");
	s = gcp_jwt_claims(str(c, "iss"), str(c, "scope"), str(c, "aud"),
	    json_integer_value(json_object_get(c, "iat")),
	    json_integer_value(json_object_get(c, "exp")));
	body = json_dumps(c, JSON_COMPACT | JSON_PRESERVE_ORDER);
	assert_string_equal(s, body);
	free(s);
	free(body);
	s = gcp_jwt_header(NULL);
	body = json_dumps(json_object_get(j, "jwt_header"),
	    JSON_COMPACT | JSON_PRESERVE_ORDER);
	assert_string_equal(s, body);
	free(s);
	free(body);

	/* The request form: the template with the JWT in place. */
	req = json_object_get(j, "token_request");
	assert_string_equal(str(req, "url"), GCP_TOKEN_URI_DEFAULT);
	tmpl = strdup(str(req, "body_template"));
	assert_non_null(cut = strstr(tmpl, "<JWT>"));
	*cut = '\0';
	body = gcp_token_request_body("a.b.c");
	assert_non_null(body);
	assert_memory_equal(body, tmpl, strlen(tmpl));
	assert_string_equal(body + strlen(tmpl), "a.b.c");
	free(body);
	free(tmpl);

	/* The answers. */
	s = json_dumps(json_object_get(j, "token_response_example"), 0);
	assert_int_equal(gcp_token_parse(200, s, strlen(s), 1000, "t", &tok,
			     &err),
	    0);
	assert_string_equal(tok.access_token,
	    "1/8xbJqaOZXSUZbHLl5EOtu1pxz3fmmetKx9W8CV4t79M");
	assert_int_equal(tok.expires_at, 1000 + 3600);
	free(s);
	meta = json_object_get(json_object_get(j, "gce_metadata_server_token"),
	    "response_example");
	s = json_dumps(meta, 0);
	assert_int_equal(gcp_token_parse(200, s, strlen(s), 50, "m", &tok,
			     &err),
	    0);
	assert_string_equal(tok.access_token, str(meta, "access_token"));
	assert_int_equal(tok.expires_at, 50 + 3599);
	free(s);
	json_decref(j);

	/* A recorded (sanitised) answer has no expires_in: one hour. */
	raw = tu_read_file(shared("gcp/gcs/gcsfs-vcr-recordings/"
				  "extracted-json/test_info.00.POST.200.json"),
	    &len);
	assert_non_null(raw);
	assert_int_equal(gcp_token_parse(200, (char *)raw, len, 7, "t", &tok,
			     &err),
	    0);
	assert_string_equal(tok.access_token, "xxx");
	assert_int_equal(tok.expires_at, 7 + GCP_JWT_LIFETIME_S);
	free(raw);

	/* Errors: OAuth2's own code and description, once. */
	s = "{\"error\":\"invalid_grant\",\"error_description\":"
	    "\"Invalid JWT Signature.\"}";
	assert_int_equal(gcp_token_parse(400, s, strlen(s), 0,
			     "the token "
			     "endpoint",
			     &tok, &err),
	    -1);
	assert_non_null(strstr(err.msg,
	    "the token endpoint answered HTTP 400: "
	    "invalid_grant (Invalid JWT Signature.)"));
	assert_non_null(strstr(err.msg, "credentials were refused"));
	assert_int_equal(gcp_token_parse(503, "busy", 4, 0, "t", &tok, &err),
	    AG_RETRY);
	assert_int_equal(gcp_token_parse(429, NULL, 0, 0, "t", &tok, &err),
	    AG_RETRY);
	s = "{\"token_type\":\"Bearer\",\"expires_in\":3600}";
	assert_int_equal(gcp_token_parse(200, s, strlen(s), 0, "t", &tok,
			     &err),
	    -1);
	assert_non_null(strstr(err.msg, "access_token"));
	s = "{\"access_token\":\"x\",\"token_type\":\"MAC\"}";
	assert_int_equal(gcp_token_parse(200, s, strlen(s), 0, "t", &tok,
			     &err),
	    -1);
	assert_int_equal(gcp_token_parse(200, "<html>", 6, 0, "t", &tok, &err),
	    -1);
}

/* strip_scheme(s): ${s} without a leading "http://" or "https://". */
static const char *
strip_scheme(const char *s, const char **ret_scheme)
{
	if (strncmp(s, "https://", 8) == 0) {
		*ret_scheme = "https";
		return s + 8;
	}
	if (strncmp(s, "http://", 7) == 0) {
		*ret_scheme = "http";
		return s + 7;
	}
	return s;
}

/*
 * canon_consistent(c): whether the expected canonical request of case ${c}
 * hashes to the digest that ends its expected string to sign.
 */
static int
canon_consistent(const json_t *c)
{
	uint8_t d[CRYPTO_SHA256_LEN];
	char hex[2 * CRYPTO_SHA256_LEN + 1];
	const char *cr = str(c, "expectedCanonicalRequest");
	const char *sts = str(c, "expectedStringToSign");

	assert_int_equal(crypto_sha256(cr, strlen(cr), d), 0);
	crypto_hex(d, sizeof(d), hex);
	return strlen(sts) > strlen(hex) &&
	    strcmp(sts + strlen(sts) - strlen(hex), hex) == 0;
}

/*
 * Every case of v4_signatures.json: the canonical request, the string to
 * sign and the URL, signed with the dummy key.  The case's host options are
 * resolved as the Google clients do: hostname, then the client's endpoint,
 * then the emulator, then storage.<universe domain>; a bucket-bound host
 * name or a virtual-hosted bucket moves the bucket from the path to the
 * host.
 */
static void
test_v4_signatures(void **state)
{
	struct gcp_sa *sa = sa_conformance();
	struct gcp_kv hdrs[16], qs[16];
	struct ag_err err = { "" };
	json_t *j, *c, *v;
	const char *k;
	size_t i, passed = 0, nskew = 0;

	(void)state;
	j = load("gcp/gcs/conformance-tests-storage-v1/v4_signatures.json");
	json_array_foreach(json_object_get(j, "signingV4Tests"), i, c)
	{
		struct gcp_signurl_req r = { 0 };
		struct gcp_signurl out;
		const char *style, *scheme = "https", *host, *obj, *bucket;
		char authority[256], path[512];
		int64_t ms;

		r.method = str(c, "method");
		bucket = str(c, "bucket");
		obj = json_string_value(json_object_get(c, "object"));
		style = json_string_value(json_object_get(c, "urlStyle"));
		if ((v = json_object_get(c, "hostname")) != NULL)
			host = strip_scheme(json_string_value(v), &scheme);
		else if ((v = json_object_get(c, "clientEndpoint")) != NULL)
			host = strip_scheme(json_string_value(v), &scheme);
		else if ((v = json_object_get(c, "emulatorHostname")) != NULL)
			host = strip_scheme(json_string_value(v), &scheme);
		else
			host = NULL;
		if (json_object_get(c, "scheme") != NULL)
			scheme = str(c, "scheme");
		if (host != NULL)
			snprintf(authority, sizeof(authority), "%s", host);
		else if ((v = json_object_get(c, "universeDomain")) != NULL)
			snprintf(authority, sizeof(authority), "storage.%s",
			    json_string_value(v));
		else
			snprintf(authority, sizeof(authority),
			    "storage.googleapis.com");
		snprintf(path, sizeof(path), "/%s%s%s", bucket,
		    obj != NULL ? "/" : "", obj != NULL ? obj : "");
		if (style != NULL &&
		    strcmp(style, "BUCKET_BOUND_HOSTNAME") == 0) {
			snprintf(authority, sizeof(authority), "%s",
			    str(c, "bucketBoundHostname"));
			snprintf(path, sizeof(path), "/%s", obj);
		} else if (style != NULL &&
		    strcmp(style, "VIRTUAL_HOSTED_STYLE") == 0) {
			char h[600];

			snprintf(h, sizeof(h), "%s.%s", bucket, authority);
			snprintf(authority, sizeof(authority), "%.255s", h);
			snprintf(path, sizeof(path), "/%s", obj);
		}
		r.scheme = scheme;
		r.authority = authority;
		r.path = path;
		r.nheaders = 0;
		json_object_foreach(json_object_get(c, "headers"), k, v)
		{
			assert_true(r.nheaders < 16);
			hdrs[r.nheaders].name = k;
			hdrs[r.nheaders++].value = json_string_value(v);
		}
		r.headers = hdrs;
		r.nquery = 0;
		json_object_foreach(json_object_get(c, "queryParameters"), k,
		    v)
		{
			assert_true(r.nquery < 16);
			qs[r.nquery].name = k;
			qs[r.nquery++].value = json_string_value(v);
		}
		r.query = qs;
		assert_int_equal(clock_parse_rfc3339(str(c, "timestamp"), &ms),
		    0);
		r.timestamp = ms / 1000;
		r.expires = json_integer_value(json_object_get(c,
		    "expiration"));
		r.client_email = sa->client_email;
		r.key = sa->key;
		if (gcp_signurl(&r, &out, &err) != 0)
			fail_msg("%s: %s", str(c, "description"), err.msg);
		/*
		 * One upstream case ("Universe domain with virtual hosted
		 * style") states a canonical request whose hash is not the one
		 * in its own string to sign: its URL and signature were made
		 * over the virtual-hosted path, as in "Virtual Hosted Style".
		 * Its canonical request is compared only if self-consistent;
		 * its string to sign and URL always are.
		 */
		if (!canon_consistent(c)) {
			nskew++;
		} else if (strcmp(out.canonical_request,
			       str(c, "expectedCanonicalRequest")) != 0)
			fail_msg("%s:\n%s\n--- want\n%s",
			    str(c, "description"), out.canonical_request,
			    str(c, "expectedCanonicalRequest"));
		if (strcmp(out.string_to_sign,
			str(c, "expectedStringToSign")) != 0 ||
		    strcmp(out.url, str(c, "expectedUrl")) != 0)
			fail_msg("%s:\n%s\n--- want\n%s\n%s\n--- want\n%s",
			    str(c, "description"), out.canonical_request,
			    str(c, "expectedCanonicalRequest"), out.url,
			    str(c, "expectedUrl"));
		gcp_signurl_free(&out);
		passed++;
	}
	assert_int_equal(passed, 29);
	assert_true(nskew <= 1);
	json_decref(j);
	gcp_sa_free(sa);
}

/*
 * The recorded GCS error answers (gcsfs VCR recordings): code, message and
 * reason; a body that is not a Google error keeps the HTTP status only.
 */
static void
test_api_errors(void **state)
{
	static const struct {
		const char *file;
		long status;
		const char *message;
		const char *reason;
	} cases[] = {
		{ "test_errors.04.GET.404.json", 404,
		    "No such object: gcsfs-testing/tmp/test/shfoshf",
		    "notFound" },
		{ "test_errors.09.DELETE.403.json", 403,
		    "user@example.com does "
		    "not have storage.buckets.delete access to the Google Cloud "
		    "project.",
		    "forbidden" },
		{ "test_info.03.POST.409.json", 409,
		    "You already own this "
		    "bucket. Please select another name.",
		    "conflict" },
	};
	struct gcp_api_error e;
	const char *p;
	char rel[256];
	size_t i, len;
	uint8_t *buf;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(rel, sizeof(rel),
		    "gcp/gcs/gcsfs-vcr-recordings/"
		    "extracted-json/%s",
		    cases[i].file);
		buf = tu_read_file(shared(rel), &len);
		assert_non_null(buf);
		assert_int_equal(gcp_api_error_parse(cases[i].status,
				     (char *)buf, len, &e),
		    0);
		assert_int_equal(e.code, cases[i].status);
		assert_string_equal(e.message, cases[i].message);
		assert_string_equal(e.reason, cases[i].reason);
		free(buf);
	}
	assert_int_equal(gcp_api_error_parse(502, "<html>bad gateway</html>",
			     24, &e),
	    -1);
	assert_int_equal(e.code, 502);
	assert_string_equal(e.message, "");
	/* Cloud Monitoring and Pub/Sub put the reason in "status". */
	p = "{\"error\":{\"code\":400,\"message\":\"m\",\"status\":"
	    "\"INVALID_ARGUMENT\"}}";
	assert_int_equal(gcp_api_error_parse(400, p, strlen(p), &e), 0);
	assert_string_equal(e.reason, "INVALID_ARGUMENT");
}

/* The loopback server of the token-source tests. */
static struct fake_httpd S;

/* sa_copy(mode): the dummy key file copied into the test folder. */
static const char *
sa_copy(mode_t mode)
{
	static char path[1024];
	size_t len;
	uint8_t *buf;

	buf = tu_read_file(shared(SA_FILE), &len);
	assert_non_null(buf);
	snprintf(path, sizeof(path), "%s/sa.json", tu_tmpdir());
	tu_write_file(path, buf, len, mode);
	free(buf);
	return path;
}

/* A key file that group or others may read is refused, naming its mode. */
static void
test_sa_loose_mode(void **state)
{
	struct gcp_auth_conf conf = { 0 };
	struct gcp_auth *a = NULL;
	struct gcp_sa *sa = NULL;
	struct ag_err err = { "" };

	(void)state;
	/* The conformance copy itself is 0444. */
	assert_int_equal(gcp_sa_load(shared(SA_FILE), &sa, &err), -1);
	assert_non_null(strstr(err.msg, "too open"));
	conf.credentials_file = sa_copy(0640);
	assert_int_equal(gcp_auth_new(&conf, &a, &err), -1);
	assert_non_null(strstr(err.msg,
	    "mode 0640 is too open for a "
	    "service-account key file"));
	assert_null(strstr(err.msg, "PRIVATE"));
	conf.credentials_file = sa_copy(0600);
	assert_int_equal(gcp_auth_new(&conf, &a, &err), 0);
	gcp_auth_free(a);
}

/* assert_assertion(jwt, aud, iat): ${jwt} is signed by the dummy key. */
static void
assert_assertion(const char *jwt, const char *aud, int64_t iat)
{
	struct gcp_sa *sa = sa_conformance();
	static uint8_t sig[1024], claims[2048];
	char *copy = strdup(jwt), *dot1, *dot2;
	json_t *c;
	int n;

	assert_non_null(dot1 = strchr(copy, '.'));
	assert_non_null(dot2 = strchr(dot1 + 1, '.'));
	*dot2 = '\0';
	n = crypto_unbase64url(dot2 + 1, sig, sizeof(sig));
	assert_true(n > 0);
	assert_int_equal(crypto_rsa_verify_sha256(sa->key, copy, strlen(copy),
			     sig, (size_t)n),
	    0);
	*dot1 = '\0';
	n = crypto_unbase64url(dot1 + 1, claims, sizeof(claims) - 1);
	assert_true(n > 0);
	claims[n] = '\0';
	c = json_loads((char *)claims, 0, NULL);
	assert_non_null(c);
	assert_string_equal(str(c, "aud"), aud);
	assert_string_equal(str(c, "iss"), sa->client_email);
	assert_int_equal(json_integer_value(json_object_get(c, "iat")), iat);
	assert_int_equal(json_integer_value(json_object_get(c, "exp")),
	    iat + GCP_JWT_LIFETIME_S);
	json_decref(c);
	free(copy);
	gcp_sa_free(sa);
}

/*
 * The service-account link: the token request (form, assertion signed by
 * the key, audience the configured token_uri), the cache, the refresh
 * GCP_TOKEN_REFRESH_S before expiry, invalidation, and errors.
 */
static void
test_auth_service_account(void **state)
{
	struct gcp_auth_conf conf = { 0 };
	struct gcp_auth *a;
	struct ag_err err = { "" };
	char uri[128], hdr[GCP_TOKEN_MAX + 64], *body, *p;
	char logged[256];

	(void)state;
	assert_int_equal(fake_httpd_start(&S), 0);
	snprintf(uri, sizeof(uri), "http://127.0.0.1:%d/token", S.port);
	conf.credentials_file = sa_copy(0600);
	conf.token_uri = uri;
	conf.scope = "https://www.googleapis.com/auth/devstorage.read_write";
	assert_int_equal(gcp_auth_new(&conf, &a, &err), 0);
	assert_non_null(strstr(gcp_auth_describe(a),
	    "service account "
	    "test-iam-credentials@dummy-project-id.iam.gserviceaccount.com"));
	assert_int_equal(S.nreq, 0);

	S.body = "{\"access_token\":\"tok-one\",\"expires_in\":3600,"
		 "\"token_type\":\"Bearer\"}";
	assert_int_equal(gcp_auth_header(a, 1000, hdr, sizeof(hdr), &err), 0);
	assert_string_equal(hdr, "Authorization: Bearer tok-one");
	assert_int_equal(S.nreq, 1);
	assert_string_equal(S.method, "POST");
	assert_string_equal(S.path, "/token");
	assert_string_equal(fake_httpd_req_header(&S, "Content-Type"),
	    "application/x-www-form-urlencoded");
	body = S.req_body;
	p = "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer"
	    "&assertion=";
	assert_memory_equal(body, p, strlen(p));
	assert_assertion(body + strlen(p), uri, 1000);
	/* The token is a secret for the log. */
	log_redact("got tok-one", logged, sizeof(logged));
	assert_null(strstr(logged, "tok-one"));

	/* Cached until GCP_TOKEN_REFRESH_S before expiry. */
	S.body = "{\"access_token\":\"tok-two\",\"expires_in\":3600}";
	assert_int_equal(gcp_auth_header(a, 1000 + 3600 - GCP_TOKEN_REFRESH_S,
			     hdr, sizeof(hdr), &err),
	    0);
	assert_string_equal(hdr, "Authorization: Bearer tok-one");
	assert_int_equal(S.nreq, 1);
	assert_int_equal(gcp_auth_header(a, 1001 + 3600 - GCP_TOKEN_REFRESH_S,
			     hdr, sizeof(hdr), &err),
	    0);
	assert_string_equal(hdr, "Authorization: Bearer tok-two");
	assert_int_equal(S.nreq, 2);
	assert_assertion(S.req_body + strlen(p), uri,
	    1001 + 3600 - GCP_TOKEN_REFRESH_S);
	/* The old token is no longer redacted, the new one is. */
	log_redact("got tok-two", logged, sizeof(logged));
	assert_null(strstr(logged, "tok-two"));

	/* Invalidated after a 401: fetched again. */
	S.body = "{\"access_token\":\"tok-three\",\"expires_in\":3600}";
	gcp_auth_invalidate(a);
	assert_int_equal(gcp_auth_header(a, 5000, hdr, sizeof(hdr), &err), 0);
	assert_string_equal(hdr, "Authorization: Bearer tok-three");
	assert_int_equal(S.nreq, 3);

	/* Refused credentials: the endpoint's words, no assertion. */
	gcp_auth_invalidate(a);
	S.status = 400;
	S.body = "{\"error\":\"invalid_grant\",\"error_description\":"
		 "\"Invalid JWT Signature.\"}";
	assert_int_equal(gcp_auth_header(a, 6000, hdr, sizeof(hdr), &err), -1);
	assert_non_null(strstr(err.msg,
	    "invalid_grant (Invalid JWT "
	    "Signature.)"));
	assert_null(strstr(err.msg, "eyJ"));
	S.status = 503;
	S.body = NULL;
	assert_int_equal(gcp_auth_header(a, 6000, hdr, sizeof(hdr), &err),
	    AG_RETRY);
	gcp_auth_free(a);
	fake_httpd_stop(&S);

	/* Nobody listening: AG_RETRY, the source named. */
	snprintf(uri, sizeof(uri), "http://127.0.0.1:%d/token",
	    fake_httpd_free_port());
	assert_int_equal(gcp_auth_new(&conf, &a, &err), 0);
	assert_int_equal(gcp_auth_header(a, 1, hdr, sizeof(hdr), &err),
	    AG_RETRY);
	assert_non_null(strstr(err.msg, "cannot reach the token endpoint"));
	gcp_auth_free(a);
}

/*
 * The chain: GOOGLE_APPLICATION_CREDENTIALS when no file is configured,
 * else the metadata server (configured host), asked with
 * Metadata-Flavor: Google and believed only if it answers with it.
 */
static void
test_auth_chain_metadata(void **state)
{
	struct gcp_auth_conf conf = { 0 };
	struct gcp_auth *a;
	struct ag_err err = { "" };
	char host[64], hdr[GCP_TOKEN_MAX + 64], want[512];
	const char *meta;

	(void)state;
	setenv("GOOGLE_APPLICATION_CREDENTIALS", sa_copy(0600), 1);
	assert_int_equal(gcp_auth_new(&conf, &a, &err), 0);
	assert_non_null(strstr(gcp_auth_describe(a), "service account"));
	gcp_auth_free(a);
	unsetenv("GOOGLE_APPLICATION_CREDENTIALS");

	assert_int_equal(fake_httpd_start(&S), 0);
	snprintf(host, sizeof(host), "127.0.0.1:%d", S.port);
	conf.metadata_host = host;
	assert_int_equal(gcp_auth_new(&conf, &a, &err), 0);
	snprintf(want, sizeof(want), "the metadata server at %s", host);
	assert_string_equal(gcp_auth_describe(a), want);
	S.headers = "Metadata-Flavor: Google\r\n";
	S.body = "{\"access_token\":\"ya29.meta\",\"expires_in\":3599,"
		 "\"token_type\":\"Bearer\"}";
	assert_int_equal(gcp_auth_header(a, 100, hdr, sizeof(hdr), &err), 0);
	assert_string_equal(hdr, "Authorization: Bearer ya29.meta");
	assert_string_equal(S.method, "GET");
	snprintf(want, sizeof(want),
	    "%s?scopes=https%%3A%%2F%%2Fwww."
	    "googleapis.com%%2Fauth%%2Fcloud-platform",
	    GCP_METADATA_TOKEN_PATH);
	assert_string_equal(S.path, want);
	meta = fake_httpd_req_header(&S, "Metadata-Flavor");
	assert_non_null(meta);
	assert_string_equal(meta, "Google");

	/* Something else on that address is not believed. */
	gcp_auth_invalidate(a);
	S.headers = NULL;
	assert_int_equal(gcp_auth_header(a, 100, hdr, sizeof(hdr), &err), -1);
	assert_non_null(strstr(err.msg, "not a Google metadata server"));
	gcp_auth_free(a);
	fake_httpd_stop(&S);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_jose_cookbook_rs256),
		cmocka_unit_test(test_sa_jwt_vectors),
		cmocka_unit_test(test_oauth2_doc_examples),
		cmocka_unit_test(test_v4_signatures),
		cmocka_unit_test(test_api_errors),
		cmocka_unit_test(test_sa_loose_mode),
		cmocka_unit_test(test_auth_service_account),
		cmocka_unit_test(test_auth_chain_metadata),
	};

	unsetenv("GOOGLE_APPLICATION_CREDENTIALS");
	unsetenv("GCE_METADATA_HOST");
	return cmocka_run_group_tests(tests, tu_tmpdir_setup,
	    tu_tmpdir_teardown);
}
