/*
 * test_azure_token.c: Entra ID tokens (lib/cloud/azure/azure_token.h).
 * The request builders and the answer parser against the documented
 * requests and answers of ../shared/conformance/azure/aad/ (read from the
 * files); then the credential chain against the tiny server of
 * fakes/fake_httpd.c standing in for the authority and for IMDS: one test
 * per link (configuration, environment, workload identity, managed
 * identity), each proving which link won by what the server received;
 * the cache and the refresh before expiry, or once after a service
 * refused a token (azure_cred_refused()); refusals reported once, with
 * Entra's code and first line, and never the secret.
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

#include "lib/ag.h"
#include "lib/cloud/azure/azure_token.h"
#include "tests/unit/fakes/fake_httpd.h"
#include "tests/unit/fakes/testutil.h"

#define SCOPE "https://storage.azure.com/.default"

static struct fake_httpd S;
static char *v2_response; /* the documented v2 answer */

/* A file of conformance/azure/aad/, NUL-terminated. */
static char *
aad(const char *name)
{
	const char *shared = getenv("VIGIL_SHARED");
	char path[1024];
	size_t len;
	uint8_t *b;

	snprintf(path, sizeof(path), "%s/conformance/azure/aad/%s",
	    shared ? shared : "../../shared", name);
	if ((b = tu_read_file(path, &len)) == NULL)
		fail_msg("%s: cannot read (is ../shared beside the "
			 "repository?)",
		    path);
	return (char *)b;
}

/* Percent-decode ${s} in place. */
static void
unpct(char *s)
{
	char *o = s;
	unsigned v;

	for (; *s != '\0'; s++) {
		if (*s == '%' && sscanf(s + 1, "%2x", &v) == 1) {
			*o++ = (char)v;
			s += 2;
		} else
			*o++ = *s;
	}
	*o = '\0';
}

/* The documented client-credentials request: URL and body. */
static void
test_secret_request(void **state)
{
	char *doc = aad("v2-client-credentials-token-request.http");
	char body[1024] = "", *p, *line, *url, *got;

	(void)state;
	/* "POST /{tenant}/oauth2/v2.0/token HTTP/1.1 //Line breaks..." */
	assert_int_equal(strncmp(doc, "POST /{tenant}/oauth2/v2.0/token ", 33),
	    0);
	assert_non_null(strstr(doc, "Host: login.microsoftonline.com:443"));
	url = azure_token_url(AZURE_AUTHORITY_DEFAULT "/", "{tenant}");
	assert_string_equal(url,
	    "https://login.microsoftonline.com/{tenant}"
	    "/oauth2/v2.0/token");
	free(url);
	/* The body: the lines after the blank one, joined. */
	p = strstr(doc, "\n\n");
	assert_non_null(p);
	for (line = strtok(p + 2, "\n"); line != NULL;
	     line = strtok(NULL, "\n"))
		strncat(body, line, sizeof(body) - strlen(body) - 1);
	got = azure_token_body_secret("535fb089-9ff3-47b6-9bfb-4f1264799865",
	    "sampleCredentials", "https://graph.microsoft.com/.default");
	assert_string_equal(got, body);
	free(got);
	free(doc);
}

/* The documented IMDS request (the doc leaves the resource unencoded). */
static void
test_imds_request(void **state)
{
	char *doc = aad("imds-managed-identity-token-request.http");
	char *want, *got, *end;

	(void)state;
	want = strchr(doc, '\'') + 1;
	end = strchr(want, '\'');
	*end = '\0';
	assert_non_null(strstr(end + 1, "Metadata: true"));
	got = azure_imds_url(AZURE_IMDS_DEFAULT,
	    "https://management.azure.com/", NULL);
	assert_string_equal(got,
	    "http://169.254.169.254/metadata/identity/"
	    "oauth2/token?api-version=2018-02-01&resource=https%3A%2F%2F"
	    "management.azure.com%2F");
	unpct(got);
	assert_string_equal(got, want);
	free(got);
	free(doc);
}

/* The documented answers: v2 (a number), IMDS (strings), an error. */
static void
test_parse(void **state)
{
	char *imds = aad("imds-managed-identity-token-response.http");
	char *error = aad("v2-token-error-response.json");
	struct azure_token t;
	struct ag_err err = { "" };

	(void)state;
	assert_int_equal(azure_token_parse(200, v2_response,
			     strlen(v2_response), 1000, &t, &err),
	    0);
	assert_string_equal(t.access,
	    "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiIs"
	    "Ing1dCI6Ik1uQ19WWmNBVGZNNXBP...");
	assert_int_equal(t.expires_on, 1000 + 3599);
	azure_token_clear(&t);

	assert_int_equal(strncmp(imds, "HTTP/1.1 200 OK", 15), 0);
	assert_int_equal(azure_token_parse(200, strchr(imds, '{'),
			     strlen(strchr(imds, '{')), 1000, &t, &err),
	    0);
	assert_string_equal(t.access, "eyJ0eXAi...");
	assert_int_equal(t.expires_on, 1000 + 3599);
	azure_token_clear(&t);

	assert_int_equal(azure_token_parse(400, error, strlen(error), 1000, &t,
			     &err),
	    -1);
	assert_null(t.access);
	assert_string_equal(err.msg,
	    "HTTP 400 invalid_scope: AADSTS70011: "
	    "The provided value for the input parameter 'scope' is not "
	    "valid. The scope https://foo.microsoft.com/.default is not "
	    "valid.");
	assert_int_equal(azure_token_parse(503, "busy", 4, 1000, &t, &err),
	    AG_RETRY);
	assert_int_equal(azure_token_parse(429, NULL, 0, 1000, &t, &err),
	    AG_RETRY);
	assert_int_equal(azure_token_parse(200, "{\"token_type\":\"Bearer\"}",
			     23, 1000, &t, &err),
	    -1);
	assert_non_null(strstr(err.msg, "no access_token"));
	assert_int_equal(azure_token_parse(200, "{\"access_token\":\"x\"}", 20,
			     1000, &t, &err),
	    -1);
	assert_non_null(strstr(err.msg, "no expires_in"));
	free(imds);
	free(error);
}

/* Clear the chain's environment; point the authority at the server. */
static void
env_reset(void)
{
	char host[64];

	unsetenv("AZURE_CLIENT_SECRET");
	unsetenv("AZURE_FEDERATED_TOKEN_FILE");
	unsetenv("AZURE_TENANT_ID");
	unsetenv("AZURE_CLIENT_ID");
	snprintf(host, sizeof(host), "http://127.0.0.1:%d", S.port);
	setenv("AZURE_AUTHORITY_HOST", host, 1);
	S.status = 200;
	S.body = v2_response;
}

/* A credential for ${conf} (its scope and name filled in). */
static struct azure_cred *
cred(struct azure_cred_conf *conf, enum azure_cred_kind want)
{
	struct azure_cred *c = NULL;
	struct ag_err err = { "" };

	conf->scope = SCOPE;
	conf->name = "azure[t]";
	if (azure_cred_new(conf, &c, &err) != 0)
		fail_msg("azure_cred_new: %s", err.msg);
	assert_int_equal(azure_cred_kind(c), want);
	return c;
}

/* Get a header from ${c}; it must be the documented token's. */
static void
bearer(struct azure_cred *c)
{
	struct ag_err err = { "" };
	char *h = NULL;

	if (azure_cred_header(c, &h, &err) != 0)
		fail_msg("azure_cred_header: %s", err.msg);
	assert_string_equal(h,
	    "Authorization: Bearer eyJ0eXAiOiJKV1QiLCJhbG"
	    "ciOiJSUzI1NiIsIng1dCI6Ik1uQ19WWmNBVGZNNXBP...");
	free(h);
}

/* Link 1: the configuration's client secret wins over the environment. */
static void
test_chain_config(void **state)
{
	struct azure_cred_conf conf = { .tenant_id = "tenant1",
		.client_id = "client1",
		.client_secret = "conf-secret-1" };
	struct azure_cred *c;
	int n;

	(void)state;
	env_reset();
	setenv("AZURE_CLIENT_SECRET", "env-secret-2", 1);
	setenv("AZURE_TENANT_ID", "tenant2", 1);
	setenv("AZURE_CLIENT_ID", "client2", 1);
	c = cred(&conf, AZURE_CRED_CONFIG);
	bearer(c);
	assert_string_equal(S.method, "POST");
	assert_string_equal(S.path, "/tenant1/oauth2/v2.0/token");
	assert_string_equal(S.req_body,
	    "client_id=client1&scope=https%3A%2F"
	    "%2Fstorage.azure.com%2F.default&client_secret=conf-secret-1"
	    "&grant_type=client_credentials");
	assert_string_equal(fake_httpd_req_header(&S, "Content-Type"),
	    "application/x-www-form-urlencoded");
	/* Cached: the next header costs no request. */
	n = S.nreq;
	bearer(c);
	assert_int_equal(S.nreq, n);
	azure_cred_free(c);
}

/*
 * A token a service refused (expired before its time): fetched again once;
 * a fresh token refused too is not fetched again (not expiry).
 */
static void
test_service_refusal(void **state)
{
	struct azure_cred_conf conf = { .tenant_id = "t",
		.client_id = "c",
		.client_secret = "conf-secret-1" };
	struct azure_cred *c;
	int n;

	(void)state;
	env_reset();
	c = cred(&conf, AZURE_CRED_CONFIG);
	bearer(c);
	n = S.nreq;
	assert_true(azure_cred_refused(c));
	bearer(c);
	assert_int_equal(S.nreq, n + 1);
	/* Cached again. */
	bearer(c);
	assert_int_equal(S.nreq, n + 1);
	/* The new one refused too: no point in another. */
	assert_false(azure_cred_refused(c));
	bearer(c);
	assert_int_equal(S.nreq, n + 1);
	azure_cred_free(c);
}

/* Link 2: AZURE_CLIENT_SECRET with AZURE_TENANT_ID and AZURE_CLIENT_ID. */
static void
test_chain_env(void **state)
{
	struct azure_cred_conf conf = { 0 };
	struct azure_cred *c;
	struct ag_err err = { "" };

	(void)state;
	env_reset();
	setenv("AZURE_CLIENT_SECRET", "env-secret-2", 1);
	assert_int_equal(azure_cred_new(&conf, &c, &err), -1);
	assert_non_null(strstr(err.msg, "AZURE_TENANT_ID or AZURE_CLIENT_ID"));
	setenv("AZURE_TENANT_ID", "tenant2", 1);
	setenv("AZURE_CLIENT_ID", "client2", 1);
	/* Set too, but the secret comes first. */
	setenv("AZURE_FEDERATED_TOKEN_FILE", "/nonexistent", 1);
	c = cred(&conf, AZURE_CRED_ENV);
	bearer(c);
	assert_string_equal(S.path, "/tenant2/oauth2/v2.0/token");
	assert_non_null(strstr(S.req_body, "client_secret=env-secret-2"));
	azure_cred_free(c);
}

/* Link 3: workload identity, the token file read for each request. */
static void
test_chain_workload(void **state)
{
	struct azure_cred_conf conf = { 0 };
	struct azure_cred *c;
	struct ag_err err = { "" };
	char path[512], *h = NULL;

	(void)state;
	env_reset();
	tu_pathf(path, "%s/federated-token", tu_tmpdir());
	tu_write_file(path, "fed.jwt.one\n", 12, 0600);
	setenv("AZURE_FEDERATED_TOKEN_FILE", path, 1);
	setenv("AZURE_TENANT_ID", "tenant3", 1);
	setenv("AZURE_CLIENT_ID", "client3", 1);
	c = cred(&conf, AZURE_CRED_WORKLOAD);
	bearer(c);
	assert_string_equal(S.path, "/tenant3/oauth2/v2.0/token");
	assert_string_equal(S.req_body,
	    "client_id=client3&scope=https%3A%2F"
	    "%2Fstorage.azure.com%2F.default&client_assertion_type=urn%3A"
	    "ietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer"
	    "&client_assertion=fed.jwt.one&grant_type=client_credentials");
	azure_cred_free(c);
	/* A missing file is one clear error. */
	setenv("AZURE_FEDERATED_TOKEN_FILE", "/nonexistent/token", 1);
	c = cred(&conf, AZURE_CRED_WORKLOAD);
	assert_int_equal(azure_cred_header(c, &h, &err), -1);
	assert_non_null(strstr(err.msg,
	    "workload identity: cannot read "
	    "AZURE_FEDERATED_TOKEN_FILE /nonexistent/token"));
	azure_cred_free(c);
}

/* Link 4: the managed identity, from IMDS. */
static void
test_chain_managed(void **state)
{
	struct azure_cred_conf conf = { 0 };
	struct azure_cred *c;
	char imds[128], *imds_body;

	(void)state;
	env_reset();
	imds_body = aad("imds-managed-identity-token-response.http");
	snprintf(imds, sizeof(imds),
	    "http://127.0.0.1:%d/metadata/identity/"
	    "oauth2/token",
	    S.port);
	conf.imds_endpoint = imds;
	c = cred(&conf, AZURE_CRED_MANAGED);
	S.body = strchr(imds_body, '{');
	struct ag_err err = { "" };
	char *h = NULL;
	assert_int_equal(azure_cred_header(c, &h, &err), 0);
	assert_string_equal(h, "Authorization: Bearer eyJ0eXAi...");
	free(h);
	assert_string_equal(S.method, "GET");
	assert_string_equal(S.path,
	    "/metadata/identity/oauth2/token?"
	    "api-version=2018-02-01&resource=https%3A%2F%2Fstorage.azure.com"
	    "%2F");
	assert_string_equal(fake_httpd_req_header(&S, "Metadata"), "true");
	azure_cred_free(c);
	/* A user-assigned identity is named by AZURE_CLIENT_ID. */
	setenv("AZURE_CLIENT_ID", "mi-client", 1);
	c = cred(&conf, AZURE_CRED_MANAGED);
	assert_int_equal(azure_cred_header(c, &h, &err), 0);
	free(h);
	assert_non_null(strstr(S.path, "&client_id=mi-client"));
	azure_cred_free(c);
	S.body = NULL;
	free(imds_body);
}

/* A token about to expire is fetched again; refusals are clear. */
static void
test_refresh_and_refusal(void **state)
{
	struct azure_cred_conf conf = { .tenant_id = "t",
		.client_id = "c",
		.client_secret = "very-secret-value" };
	struct azure_cred *c;
	struct ag_err err = { "" };
	char *h = NULL, *error;
	int n;

	(void)state;
	env_reset();
	S.body = "{\"token_type\":\"Bearer\",\"expires_in\":60,"
		 "\"access_token\":\"short-lived\"}";
	c = cred(&conf, AZURE_CRED_CONFIG);
	assert_int_equal(azure_cred_header(c, &h, &err), 0);
	free(h);
	n = S.nreq;
	/* 60 s left is inside the five minutes: fetched again. */
	assert_int_equal(azure_cred_header(c, &h, &err), 0);
	free(h);
	assert_int_equal(S.nreq, n + 1);
	/* A failed refresh while the old token still works: it is used. */
	S.status = 503;
	assert_int_equal(azure_cred_header(c, &h, &err), 0);
	assert_string_equal(h, "Authorization: Bearer short-lived");
	free(h);
	azure_cred_free(c);

	c = cred(&conf, AZURE_CRED_CONFIG);
	assert_int_equal(azure_cred_header(c, &h, &err), AG_RETRY);
	error = aad("v2-token-error-response.json");
	S.status = 401;
	S.body = error;
	assert_int_equal(azure_cred_header(c, &h, &err), -1);
	assert_non_null(strstr(err.msg,
	    "azure[t]: Entra ID refused the "
	    "configuration credential for client c: HTTP 401 invalid_scope: "
	    "AADSTS70011"));
	assert_null(strstr(err.msg, "very-secret-value"));
	azure_cred_free(c);
	free(error);
	S.body = NULL;
	S.status = 200;

	/* Half-configured: a secret without tenant and client. */
	conf.tenant_id = NULL;
	assert_int_equal(azure_cred_new(&conf, &c, &err), -1);
	assert_non_null(strstr(err.msg, "needs tenant_id and client_id"));
}

static int
setup(void **state)
{
	if (tu_tmpdir_setup(state) != 0 || fake_httpd_start(&S) != 0)
		return -1;
	v2_response = aad("v2-client-credentials-token-response.json");
	return 0;
}

static int
teardown(void **state)
{
	fake_httpd_stop(&S);
	free(v2_response);
	return tu_tmpdir_teardown(state);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_secret_request),
		cmocka_unit_test(test_imds_request),
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_chain_config),
		cmocka_unit_test(test_service_refusal),
		cmocka_unit_test(test_chain_env),
		cmocka_unit_test(test_chain_workload),
		cmocka_unit_test(test_chain_managed),
		cmocka_unit_test(test_refresh_and_refusal),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
