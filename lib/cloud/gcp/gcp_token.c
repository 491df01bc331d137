/*
 * gcp_token.c: OAuth2 access tokens from a service-account key or the
 * metadata server, cached until shortly before they expire (gcp_auth.h).
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "lib/cloud/gcp/gcp_auth.h"
#include "lib/crypto/crypto.h"
#include "lib/http/http.h"
#include "lib/jfield.h"
#include "lib/log.h"

#define SCOPE_DEFAULT "https://www.googleapis.com/auth/cloud-platform"

struct gcp_auth {
	pthread_mutex_t mu;
	struct gcp_sa *sa;  /* NULL: the metadata server */
	char *token_uri;    /* service account */
	char *metadata_url; /* metadata server */
	char *scope;
	char *describe;
	long timeout_ms;
	struct gcp_token tok; /* access_token "" : none cached */
	struct http_client *http;
};

int
gcp_token_parse(long status, const char *body, size_t len, int64_t now,
    const char *what, struct gcp_token *ret, struct ag_err *err)
{
	struct jfield_at at = { what, NULL, err };
	char type[32], code[128], desc[256];
	json_t *root = NULL;
	int64_t expires_in;
	int rc = -1;

	memset(ret, 0, sizeof(*ret));
	if (body != NULL && len > 0)
		root = json_loadb(body, len, 0, NULL);
	if (status != 200) {
		int cls = http_status_class(status);

		code[0] = desc[0] = '\0';
		if (json_is_object(root)) {
			/* OAuth2 errors are strings; tolerate other shapes. */
			jfield_str(root, "error", JF_TRUNCATE, code,
			    sizeof(code), NULL);
			jfield_str(root, "error_description", JF_TRUNCATE,
			    desc, sizeof(desc), NULL);
		}
		ag_err_set(err, "%s answered HTTP %ld%s%s%s%s%s", what, status,
		    code[0] != '\0' ? ": " : "", code,
		    desc[0] != '\0' ? " (" : "", desc,
		    desc[0] != '\0' ? ")" : "");
		if (cls != AG_RETRY &&
		    (strcmp(code, "invalid_grant") == 0 ||
			strcmp(code, "invalid_client") == 0 ||
			status == 401)) {
			char msg[AG_ERR_SIZE];

			snprintf(msg, sizeof(msg), "%s",
			    err != NULL ? err->msg : "");
			ag_err_set(err,
			    "%s: the credentials were refused; "
			    "check the service-account key (deleted or "
			    "disabled?) and the clock",
			    msg);
		}
		rc = cls == AG_RETRY ? AG_RETRY : -1;
		goto out;
	}
	if (!json_is_object(root)) {
		ag_err_set(err, "%s: the token answer is not a JSON object",
		    what);
		goto out;
	}
	if (jfield_str(root, "access_token", JF_REQUIRED, ret->access_token,
		sizeof(ret->access_token), &at) == -1 ||
	    jfield_i64(root, "expires_in", 0, &expires_in, &at) == -1 ||
	    jfield_str(root, "token_type", JF_TRUNCATE, type, sizeof(type),
		&at) == -1)
		goto out;
	/* Without expires_in: the hour Google's tokens last. */
	if (json_object_get(root, "expires_in") == NULL)
		expires_in = GCP_JWT_LIFETIME_S;
	if (ret->access_token[0] == '\0' || expires_in <= 0 ||
	    expires_in > 366 * 86400) {
		ag_err_set(err,
		    "%s: the token answer has no usable "
		    "access_token and expires_in",
		    what);
		goto out;
	}
	if (type[0] != '\0' && strcasecmp(type, "Bearer") != 0) {
		ag_err_set(err, "%s: token_type \"%s\" is not Bearer", what,
		    type);
		goto out;
	}
	ret->expires_at = now + expires_in;
	rc = 0;
out:
	if (rc != 0)
		crypto_wipe(ret, sizeof(*ret));
	json_decref(root);
	return rc;
}

/* auth_strdup(s, def): a copy of ${s}, or of ${def} if ${s} is NULL or "". */
static char *
auth_strdup(const char *s, const char *def)
{
	return strdup(s != NULL && s[0] != '\0' ? s : def);
}

int
gcp_auth_new(const struct gcp_auth_conf *conf, struct gcp_auth **ret,
    struct ag_err *err)
{
	const char *file = conf->credentials_file, *host;
	struct gcp_auth *a;
	int rc = -1;

	if ((a = calloc(1, sizeof(*a))) == NULL)
		return ag_err_set(err, "out of memory");
	pthread_mutex_init(&a->mu, NULL);
	a->timeout_ms = conf->timeout_ms;
	if ((a->scope = auth_strdup(conf->scope, SCOPE_DEFAULT)) == NULL)
		goto oom;
	if (file == NULL || file[0] == '\0')
		file = getenv("GOOGLE_APPLICATION_CREDENTIALS");
	if (file != NULL && file[0] != '\0') {
		if (gcp_sa_load(file, &a->sa, err) == -1)
			goto fail;
		a->token_uri = auth_strdup(conf->token_uri,
		    a->sa->token_uri != NULL ? a->sa->token_uri :
					       GCP_TOKEN_URI_DEFAULT);
		if (a->token_uri == NULL)
			goto oom;
		if (asprintf(&a->describe, "service account %s (%s)",
			a->sa->client_email, file) == -1) {
			a->describe = NULL;
			goto oom;
		}
	} else {
		host = conf->metadata_host;
		if (host == NULL || host[0] == '\0')
			host = getenv("GCE_METADATA_HOST");
		if (host == NULL || host[0] == '\0')
			host = GCP_METADATA_HOST_DEFAULT;
		if (asprintf(&a->describe, "the metadata server at %s",
			host) == -1) {
			a->describe = NULL;
			goto oom;
		}
		if (asprintf(&a->metadata_url, "http://%s%s", host,
			GCP_METADATA_TOKEN_PATH) == -1) {
			a->metadata_url = NULL;
			goto oom;
		}
	}
	if ((a->http = http_client_new()) == NULL)
		goto oom;
	*ret = a;
	return 0;
oom:
	ag_err_set(err, "out of memory");
fail:
	gcp_auth_free(a);
	return rc;
}

const char *
gcp_auth_describe(const struct gcp_auth *a)
{
	return a->describe;
}

/* auth_fetch(a, now, tok, err): one token from the source of ${a}. */
static int
auth_fetch(struct gcp_auth *a, int64_t now, struct gcp_token *tok,
    struct ag_err *err)
{
	const char *hdrs[3] = { NULL, NULL, NULL };
	struct http_resp resp = { 0 };
	struct http_req req = { 0 };
	char *jwt = NULL, *body = NULL, *url = NULL, *scope = NULL;
	const char *what;
	int rc = -1;

	req.timeout_ms = a->timeout_ms;
	req.headers = hdrs;
	if (a->sa != NULL) {
		what = "the token endpoint";
		if (gcp_sa_assertion(a->sa, a->scope, a->token_uri, now, &jwt,
			err) == -1)
			goto out;
		if ((body = gcp_token_request_body(jwt)) == NULL) {
			ag_err_set(err, "out of memory");
			goto out;
		}
		hdrs[0] = "Content-Type: application/x-www-form-urlencoded";
		hdrs[1] = "Accept: application/json";
		req.method = "POST";
		req.url = a->token_uri;
		req.body = body;
		req.body_len = strlen(body);
	} else {
		what = "the metadata server";
		if ((scope = http_urlencode(a->scope, strlen(a->scope))) ==
			NULL ||
		    asprintf(&url, "%s?scopes=%s", a->metadata_url, scope) ==
			-1) {
			url = NULL;
			ag_err_set(err, "out of memory");
			goto out;
		}
		hdrs[0] = "Metadata-Flavor: Google";
		req.method = "GET";
		req.url = url;
	}
	if ((rc = http_client_do(a->http, &req, &resp, err)) != 0) {
		char msg[AG_ERR_SIZE];

		snprintf(msg, sizeof(msg), "%s", err != NULL ? err->msg : "");
		ag_err_set(err, "cannot reach %s for a token (%s): %s", what,
		    a->describe, msg);
		goto out;
	}
	if (a->sa == NULL && resp.status == 200) {
		const char *flavor = http_resp_header(&resp,
		    "Metadata-Flavor");

		if (flavor == NULL || strcmp(flavor, "Google") != 0) {
			rc = ag_err_set(err,
			    "%s is not a Google metadata "
			    "server (no Metadata-Flavor: Google in its "
			    "answer)",
			    a->describe);
			goto out;
		}
	}
	rc = gcp_token_parse(resp.status, resp.body, resp.body_len, now, what,
	    tok, err);
out:
	if (jwt != NULL)
		crypto_wipe(jwt, strlen(jwt));
	if (body != NULL)
		crypto_wipe(body, strlen(body));
	if (resp.body != NULL)
		crypto_wipe(resp.body, resp.body_len);
	free(jwt);
	free(body);
	free(url);
	free(scope);
	http_resp_free(&resp);
	return rc;
}

/* auth_drop(a): forget the cached token of ${a} (mutex held). */
static void
auth_drop(struct gcp_auth *a)
{
	if (a->tok.access_token[0] != '\0')
		log_secret_remove(a->tok.access_token);
	crypto_wipe(&a->tok, sizeof(a->tok));
}

int
gcp_auth_header(struct gcp_auth *a, int64_t now, char *buf, size_t len,
    struct ag_err *err)
{
	struct gcp_token tok;
	int rc = 0, n;

	pthread_mutex_lock(&a->mu);
	if (a->tok.access_token[0] == '\0' ||
	    a->tok.expires_at - now < GCP_TOKEN_REFRESH_S) {
		if ((rc = auth_fetch(a, now, &tok, err)) != 0)
			goto out;
		auth_drop(a);
		a->tok = tok;
		crypto_wipe(&tok, sizeof(tok));
		log_secret_add(a->tok.access_token);
	}
	n = snprintf(buf, len, "Authorization: Bearer %s",
	    a->tok.access_token);
	if (n < 0 || (size_t)n >= len)
		rc = ag_err_set(err, "the access token is too long");
out:
	pthread_mutex_unlock(&a->mu);
	return rc;
}

void
gcp_auth_invalidate(struct gcp_auth *a)
{
	pthread_mutex_lock(&a->mu);
	auth_drop(a);
	pthread_mutex_unlock(&a->mu);
}

void
gcp_auth_free(struct gcp_auth *a)
{
	if (a == NULL)
		return;
	auth_drop(a);
	gcp_sa_free(a->sa);
	free(a->token_uri);
	free(a->metadata_url);
	free(a->scope);
	free(a->describe);
	http_client_free(a->http);
	pthread_mutex_destroy(&a->mu);
	free(a);
}
