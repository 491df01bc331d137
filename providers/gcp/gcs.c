/*
 * gcs.c: the Google Cloud Storage backend ("type = gcs"), over the JSON
 * API.
 *
 *	storage = { cloud = { type = "gcs"; bucket = "acme-backups";
 *	    credentials_file = "/etc/vigil/gcs-sa.json"; }; };
 *
 * Settings: bucket (required); endpoint (default
 * https://storage.googleapis.com; an emulator or a test server);
 * credentials_file (a service-account key file; without it
 * GOOGLE_APPLICATION_CREDENTIALS, then the metadata server, as
 * lib/cloud/gcp/gcp_auth.h resolves them); token_uri and metadata_host (to
 * point those endpoints elsewhere); timeout (per request, default 60s).
 *
 * An upload is a resumable upload session: put_begin() opens it (POST
 * .../upload/storage/v1/b/BUCKET/o?uploadType=resumable&name=KEY), each
 * part is one chunk (a PUT to the session, Content-Range "bytes A-B" of an
 * unknown total; 308 answers that it was stored), and the commit sends the
 * last part, or an empty request, with the total size; only then does the
 * object exist.
 * Every part but the last is a multiple of 256 KiB (part_align), as GCS
 * requires.  After a chunk failed, the session is asked where it stands
 * (a PUT with Content-Range "bytes *" of an unknown total) before anything more is sent, and the
 * upload goes on from there: what GCS kept is not sent again.  Reads are
 * media downloads (alt=media) with a Range header; listings follow
 * nextPageToken; removes are DELETEs.
 *
 * Errors: 408, 429 and 5xx, timeouts and resets are AG_RETRY (the one
 * backoff policy of the callers); 401 drops the cached token and is
 * AG_RETRY, so an expired token costs one retry; any other answer is
 * reported once with GCS's own code, reason and message.  A missing bucket
 * and refused credentials each get a sentence saying what to fix.  Tokens
 * and session URIs are registered with log_secret_add().
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "conf/conf.h"
#include "lib/ag.h"
#include "lib/clock.h"
#include "lib/cloud/gcp/gcp_api.h"
#include "lib/cloud/gcp/gcp_auth.h"
#include "lib/crypto/crypto.h"
#include "lib/http/http.h"
#include "lib/jfield.h"
#include "lib/log.h"
#include "providers/storage_backend.h"

#define ENDPOINT_DEFAULT "https://storage.googleapis.com"
#define SCOPE "https://www.googleapis.com/auth/devstorage.read_write"
#define CHUNK_ALIGN (256 * 1024)
#define LIST_MAX_BODY (16 * 1024 * 1024)
#define URL_MAX (8192 + 3 * STORAGE_KEY_MAX)

struct gcs_conf {
	char *bucket;
	char *endpoint;
	char *credentials_file;
	char *token_uri;
	char *metadata_host;
	int64_t timeout_ms;
};

struct gcs {
	char *name;
	char *bucket;
	char *ebucket;	/* URL-encoded */
	char *endpoint; /* without a trailing '/' */
	long timeout_ms;
	struct gcp_auth *auth;
	pthread_mutex_t mu; /* of ${http} */
	struct http_client *http;
};

struct gcs_up {
	struct gcs *g;
	char *key;
	char *session; /* the session URI */
	struct http_client *http;
	uint64_t off;	/* bytes GCS holds (as far as known) */
	uint64_t acked; /* bytes of the parts accepted */
	bool ask;	/* a chunk failed: ask before sending */
	uint8_t *tail;	/* a last part shorter than aligned */
	size_t tail_len;
	bool has_tail;
};

static const char *const gcs_settings[] = { "bucket", "endpoint",
	"credentials_file", "token_uri", "metadata_host", "timeout", NULL };

static void
gcs_conf_free(void *tconf)
{
	struct gcs_conf *c = tconf;

	if (c == NULL)
		return;
	free(c->bucket);
	free(c->endpoint);
	free(c->credentials_file);
	free(c->token_uri);
	free(c->metadata_host);
	free(c);
}

/* url_setting(errs, group, name, s): ${s} is an http(s) URL, else -1. */
static int
url_setting(struct conf_errs *errs, const conf_node *group, const char *name,
    const char *s)
{
	if (strncmp(s, "https://", 8) != 0 && strncmp(s, "http://", 7) != 0)
		return conf_error_at(errs, group, name,
		    "\"%s\" is not an "
		    "http:// or https:// URL",
		    s);
	return 0;
}

static int
gcs_conf_parse(const conf_node *group, const char *name, void **ret_tconf,
    struct conf_errs *errs)
{
	const char *bucket = NULL, *endpoint = ENDPOINT_DEFAULT, *cred = NULL;
	const char *token_uri = NULL, *meta = NULL;
	struct gcs_conf *c;
	int64_t timeout_ms = 0;
	const char *p;
	int bad = 0;

	(void)name;
	if (conf_get_str(errs, group, "bucket", true, &bucket) != 1)
		bad = 1;
	else {
		/* GCS bucket names: 3 to 222 of [a-z0-9._-]. */
		for (p = bucket; *p != '\0'; p++)
			if (!((*p >= 'a' && *p <= 'z') ||
				(*p >= '0' && *p <= '9') || *p == '.' ||
				*p == '_' || *p == '-'))
				break;
		if (*p != '\0' || strlen(bucket) < 3 || strlen(bucket) > 222)
			bad =
			    conf_error_at(errs, group, "bucket",
				"\"%s\" is "
				"not a bucket name (3 to 222 of a-z 0-9 . _ -)",
				bucket) != 0;
	}
	if (conf_get_str(errs, group, "endpoint", false, &endpoint) == -1 ||
	    url_setting(errs, group, "endpoint", endpoint) == -1)
		bad = 1;
	if (conf_get_str(errs, group, "credentials_file", false, &cred) == -1)
		bad = 1;
	if (cred != NULL && cred[0] != '/')
		bad = conf_error_at(errs, group, "credentials_file",
			  "must be an absolute path") != 0;
	if (conf_get_str(errs, group, "token_uri", false, &token_uri) == -1 ||
	    (token_uri != NULL &&
		url_setting(errs, group, "token_uri", token_uri) == -1))
		bad = 1;
	if (conf_get_str(errs, group, "metadata_host", false, &meta) == -1)
		bad = 1;
	if (conf_get_dur(errs, group, "timeout", false, 1000, &timeout_ms) ==
	    -1)
		bad = 1;
	if (bad)
		return -1;
	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (c->bucket = strdup(bucket)) == NULL ||
	    (c->endpoint = strdup(endpoint)) == NULL ||
	    (cred != NULL && (c->credentials_file = strdup(cred)) == NULL) ||
	    (token_uri != NULL &&
		(c->token_uri = strdup(token_uri)) == NULL) ||
	    (meta != NULL && (c->metadata_host = strdup(meta)) == NULL)) {
		gcs_conf_free(c);
		return conf_error(errs, group, "out of memory");
	}
	c->timeout_ms = timeout_ms;
	*ret_tconf = c;
	return 0;
}

static void
gcs_close(void *ctx)
{
	struct gcs *g = ctx;

	if (g == NULL)
		return;
	gcp_auth_free(g->auth);
	http_client_free(g->http);
	pthread_mutex_destroy(&g->mu);
	free(g->name);
	free(g->bucket);
	free(g->ebucket);
	free(g->endpoint);
	free(g);
}

static int
gcs_open(void **ret_ctx, const struct storage_conf *conf, struct ag_err *err)
{
	const struct gcs_conf *c = conf->tconf;
	struct gcp_auth_conf ac = {
		.credentials_file = c->credentials_file,
		.token_uri = c->token_uri,
		.metadata_host = c->metadata_host,
		.scope = SCOPE,
		.timeout_ms = (long)c->timeout_ms,
	};
	struct ag_err aerr;
	struct gcs *g;
	size_t n;

	if ((g = calloc(1, sizeof(*g))) == NULL)
		return ag_err_set(err, "gcs[%s]: out of memory", conf->name);
	pthread_mutex_init(&g->mu, NULL);
	g->timeout_ms = (long)c->timeout_ms;
	if ((g->name = strdup(conf->name)) == NULL ||
	    (g->bucket = strdup(c->bucket)) == NULL ||
	    (g->ebucket = http_urlencode(c->bucket, strlen(c->bucket))) ==
		NULL ||
	    (g->endpoint = strdup(c->endpoint)) == NULL ||
	    (g->http = http_client_new()) == NULL) {
		ag_err_set(err, "gcs[%s]: out of memory", conf->name);
		goto fail;
	}
	n = strlen(g->endpoint);
	while (n > 0 && g->endpoint[n - 1] == '/')
		g->endpoint[--n] = '\0';
	if (gcp_auth_new(&ac, &g->auth, &aerr) != 0) {
		ag_err_set(err, "gcs[%s]: credentials: %s", conf->name,
		    aerr.msg);
		goto fail;
	}
	*ret_ctx = g;
	return 0;
fail:
	gcs_close(g);
	return -1;
}

/*
 * gcs_do(g, c, req, hdrs, resp, what, key, err):
 * Perform ${req} with client ${c} (NULL: the instance's, or a new one if
 * it is busy), the bearer token and the NULL-terminated extra ${hdrs}
 * added.  Return 0 with an answer in ${resp}, or AG_RETRY or -1 with
 * "gcs[NAME]: WHAT KEY: ..." in ${err}.
 */
static int
gcs_do(struct gcs *g, struct http_client *c, struct http_req *req,
    const char *const *hdrs, struct http_resp *resp, const char *what,
    const char *key, struct ag_err *err)
{
	char auth[GCP_TOKEN_MAX + 64];
	const char *h[8];
	struct ag_err e;
	size_t n = 0;
	int rc, locked = 0;

	memset(resp, 0, sizeof(*resp));
	if ((rc = gcp_auth_header(g->auth, (int64_t)time(NULL), auth,
		 sizeof(auth), &e)) != 0) {
		ag_err_set(err, "gcs[%s]: %s %s: credentials: %s", g->name,
		    what, key, e.msg);
		return rc;
	}
	h[n++] = auth;
	while (hdrs != NULL && *hdrs != NULL && n < 7)
		h[n++] = *hdrs++;
	h[n] = NULL;
	req->headers = h;
	req->timeout_ms = g->timeout_ms;
	if (c == NULL && pthread_mutex_trylock(&g->mu) == 0) {
		locked = 1;
		c = g->http;
	}
	if (c != NULL)
		rc = http_client_do(c, req, resp, &e);
	else
		rc = http_do(req, resp, &e);
	if (locked)
		pthread_mutex_unlock(&g->mu);
	crypto_wipe(auth, sizeof(auth));
	if (rc != 0)
		ag_err_set(err, "gcs[%s]: %s %s: %s", g->name, what, key,
		    e.msg);
	return rc;
}

/* no_bucket(resp): whether ${resp} is GCS's 404 for a missing bucket. */
static bool
no_bucket(const struct http_resp *resp)
{
	struct gcp_api_error e;

	return resp->status == 404 &&
	    gcp_api_error_parse(resp->status, resp->body, resp->body_len,
		&e) == 0 &&
	    strstr(e.message, "bucket does not exist") != NULL;
}

/*
 * gcs_fail(g, resp, what, key, err):
 * Judge an answer that was not what ${what} wanted: AG_RETRY for 401
 * (the token is dropped), 408, 429 and 5xx; -1 otherwise.  The message
 * has GCS's code, reason and message, or a sentence for a missing bucket.
 */
static int
gcs_fail(struct gcs *g, const struct http_resp *resp, const char *what,
    const char *key, struct ag_err *err)
{
	struct gcp_api_error e;
	int rc = http_status_class(resp->status) == AG_RETRY ? AG_RETRY : -1;

	gcp_api_error_parse(resp->status, resp->body, resp->body_len, &e);
	if (resp->status == 401) {
		gcp_auth_invalidate(g->auth);
		ag_err_set(err,
		    "gcs[%s]: %s %s: HTTP 401: the token of %s was "
		    "refused%s%s",
		    g->name, what, key, gcp_auth_describe(g->auth),
		    e.message[0] != '\0' ? ": " : "", e.message);
		return AG_RETRY;
	}
	if (no_bucket(resp))
		return ag_err_set(err,
		    "gcs[%s]: bucket \"%s\" does not exist "
		    "(HTTP 404): create it, or correct \"bucket\" in the "
		    "configuration",
		    g->name, g->bucket);
	if (resp->status == 403)
		return ag_err_set(err,
		    "gcs[%s]: %s %s: HTTP 403 (%s): %s: give "
		    "%s the missing permission on bucket \"%s\"",
		    g->name, what, key,
		    e.reason[0] != '\0' ? e.reason : "forbidden",
		    e.message[0] != '\0' ? e.message : "access denied",
		    gcp_auth_describe(g->auth), g->bucket);
	ag_err_set(err, "gcs[%s]: %s %s: HTTP %ld%s%s%s%s", g->name, what, key,
	    resp->status, e.reason[0] != '\0' ? " (" : "", e.reason,
	    e.reason[0] != '\0' ? ")" : "", e.message[0] != '\0' ? ": " : "");
	if (e.message[0] != '\0' && err != NULL) {
		size_t n = strlen(err->msg);

		snprintf(err->msg + n, sizeof(err->msg) - n, "%s", e.message);
	}
	return rc;
}

/* obj_url(g, key, tail): ENDPOINT/storage/v1/b/BUCKET/o/KEY + ${tail}. */
static char *
obj_url(const struct gcs *g, const char *key, const char *tail)
{
	char *ekey, *url;

	if ((ekey = http_urlencode(key, strlen(key))) == NULL)
		return NULL;
	if (asprintf(&url, "%s/storage/v1/b/%s/o/%s%s", g->endpoint,
		g->ebucket, ekey, tail) == -1)
		url = NULL;
	free(ekey);
	return url;
}

static void
up_free(struct gcs_up *u)
{
	if (u == NULL)
		return;
	if (u->session != NULL) {
		log_secret_remove(u->session);
		free(u->session);
	}
	http_client_free(u->http);
	free(u->tail);
	free(u->key);
	free(u);
}

static int
gcs_put_begin(void *ctx, const char *key, void **ret_up, struct ag_err *err)
{
	static const char *const hdrs[] = {
		"X-Upload-Content-Type: application/octet-stream",
		"Content-Type: application/json; charset=UTF-8", NULL
	};
	struct gcs *g = ctx;
	struct http_resp resp;
	struct http_req req = { 0 };
	struct gcs_up *u;
	const char *loc;
	char *ekey = NULL, *url = NULL;
	int rc = -1;

	if ((u = calloc(1, sizeof(*u))) == NULL ||
	    (u->key = strdup(key)) == NULL ||
	    (u->http = http_client_new()) == NULL ||
	    (ekey = http_urlencode(key, strlen(key))) == NULL ||
	    asprintf(&url,
		"%s/upload/storage/v1/b/%s/o?uploadType=resumable"
		"&name=%s",
		g->endpoint, g->ebucket, ekey) == -1) {
		url = NULL;
		ag_err_set(err, "gcs[%s]: put %s: out of memory", g->name,
		    key);
		goto out;
	}
	u->g = g;
	req.method = "POST";
	req.url = url;
	req.body = "{}";
	req.body_len = 2;
	if ((rc = gcs_do(g, u->http, &req, hdrs, &resp, "put", key, err)) != 0)
		goto out;
	if (resp.status != 200 && resp.status != 201) {
		rc = gcs_fail(g, &resp, "put", key, err);
	} else if ((loc = http_resp_header(&resp, "Location")) == NULL ||
	    (strncmp(loc, "https://", 8) != 0 &&
		strncmp(loc, "http://", 7) != 0)) {
		rc = ag_err_set(err,
		    "gcs[%s]: put %s: the upload session was "
		    "opened without a Location",
		    g->name, key);
	} else if ((u->session = strdup(loc)) == NULL) {
		rc = ag_err_set(err, "gcs[%s]: put %s: out of memory", g->name,
		    key);
	} else {
		log_secret_add(u->session);
		*ret_up = u;
		u = NULL;
		rc = 0;
	}
	http_resp_free(&resp);
out:
	free(ekey);
	free(url);
	up_free(u);
	return rc;
}

/*
 * persisted(resp, ret): from a 308 answer's Range header ("bytes=0-N"),
 * the number of bytes the session holds (0 without one).  -1 if malformed.
 */
static int
persisted(const struct http_resp *resp, uint64_t *ret)
{
	const char *r = http_resp_header(resp, "Range");
	unsigned long long lo, hi;
	int n = 0;

	*ret = 0;
	if (r == NULL)
		return 0;
	if (sscanf(r, "bytes=%llu-%llu%n", &lo, &hi, &n) != 2 ||
	    r[n] != '\0' || lo != 0 || hi == UINT64_MAX)
		return -1;
	*ret = (uint64_t)hi + 1;
	return 0;
}

/*
 * up_ask(u, err): ask the session of ${u} how much it holds (the answer to
 * a status query, PUT with "Content-Range: bytes * / *"), into ${u}->off.
 * Return 0, 1 if the upload is already complete, AG_RETRY or -1.
 */
static int
up_ask(struct gcs_up *u, struct ag_err *err)
{
	static const char *const hdrs[] = { "Content-Range: bytes */*", NULL };
	struct http_resp resp;
	struct http_req req = { 0 };
	uint64_t held;
	int rc;

	req.method = "PUT";
	req.url = u->session;
	if ((rc = gcs_do(u->g, u->http, &req, hdrs, &resp, "put", u->key,
		 err)) != 0)
		return rc;
	if (resp.status == 200 || resp.status == 201) {
		rc = 1;
	} else if (resp.status != 308) {
		rc = gcs_fail(u->g, &resp, "resume upload of", u->key, err);
		if (resp.status == 404 || resp.status == 410)
			ag_err_set(err,
			    "gcs[%s]: put %s: the upload session "
			    "has expired or was cancelled (HTTP %ld)",
			    u->g->name, u->key, resp.status);
	} else if (persisted(&resp, &held) == -1) {
		rc = ag_err_set(err,
		    "gcs[%s]: put %s: bad Range in the "
		    "session's answer",
		    u->g->name, u->key);
	} else {
		u->off = held;
		u->ask = false;
	}
	http_resp_free(&resp);
	return rc;
}

/*
 * up_send(u, buf, len, final, err):
 * Send the ${len} bytes at ${buf} as bytes [off, off + ${len}) of the
 * object, off being what the session of ${u} holds; with ${final}, they
 * end the object (${len} may then be 0).  Return 0, AG_RETRY (${u} then
 * asks before the next send) or -1.  GCS keeps what it keeps of a chunk in
 * whole 256 KiB units, so what is sent again stays aligned.
 */
static int
up_send(struct gcs_up *u, const uint8_t *buf, size_t len, bool final,
    struct ag_err *err)
{
	struct http_resp resp;
	struct http_req req = { 0 };
	char range[96];
	const char *hdrs[3] = { range,
		"Content-Type: application/octet-stream", NULL };
	uint64_t end = u->off + len, held;
	int rc;

	if (len == 0 && final)
		snprintf(range, sizeof(range), "Content-Range: bytes */%ju",
		    (uintmax_t)end);
	else
		snprintf(range, sizeof(range),
		    "Content-Range: bytes %ju-%ju/"
		    "%s",
		    (uintmax_t)u->off, (uintmax_t)(end - 1), final ? "" : "*");
	if (final && len > 0) {
		size_t n = strlen(range);

		snprintf(range + n, sizeof(range) - n, "%ju", (uintmax_t)end);
	}
	req.method = "PUT";
	req.url = u->session;
	req.body = buf;
	req.body_len = len;
	if ((rc = gcs_do(u->g, u->http, &req, hdrs, &resp, "put", u->key,
		 err)) != 0) {
		u->ask = true;
		return rc;
	}
	if (!final && resp.status == 308) {
		if (persisted(&resp, &held) == -1 || held != end) {
			/* Part of it was kept: ask, then send the rest. */
			u->ask = true;
			ag_err_set(err,
			    "gcs[%s]: put %s: the session kept "
			    "only part of the chunk",
			    u->g->name, u->key);
			rc = AG_RETRY;
		} else
			u->off = end;
	} else if (final && (resp.status == 200 || resp.status == 201)) {
		u->off = end;
	} else {
		rc = gcs_fail(u->g, &resp, "put", u->key, err);
		if (rc == AG_RETRY)
			u->ask = true;
	}
	http_resp_free(&resp);
	return rc;
}

/*
 * up_chunk(u, start, buf, len, final, err):
 * Make sure bytes [${start}, ${start} + ${len}) (at ${buf}) are stored:
 * after a failure, ask the session first and send only what it lacks.
 */
static int
up_chunk(struct gcs_up *u, uint64_t start, const uint8_t *buf, size_t len,
    bool final, struct ag_err *err)
{
	int rc;

	if (u->ask) {
		if ((rc = up_ask(u, err)) == 1)
			return final ? 0 :
				       ag_err_set(err,
					   "gcs[%s]: put %s: "
					   "the upload ended early",
					   u->g->name, u->key);
		if (rc != 0)
			return rc;
	}
	if (u->off < start || u->off > start + len)
		return ag_err_set(err,
		    "gcs[%s]: put %s: the session holds "
		    "%ju bytes, expected %ju to %ju",
		    u->g->name, u->key, (uintmax_t)u->off, (uintmax_t)start,
		    (uintmax_t)(start + len));
	if (u->off == start + len && !final)
		return 0;
	return up_send(u, buf + (u->off - start),
	    (size_t)(start + len - u->off), final, err);
}

static int
gcs_put_part(void *up, uint64_t idx, const uint8_t *buf, size_t len,
    struct ag_err *err)
{
	struct gcs_up *u = up;
	int rc;

	(void)idx; /* parts come in order here */
	if (u->has_tail)
		return ag_err_set(err,
		    "gcs[%s]: put %s: a part after one of "
		    "%zu bytes, not a multiple of 256 KiB",
		    u->g->name, u->key, u->tail_len);
	if (len % CHUNK_ALIGN != 0 || len == 0) {
		/* The last part: sent with the commit, which knows the size. */
		if (len > 0 && (u->tail = malloc(len)) == NULL)
			return ag_err_set(err,
			    "gcs[%s]: put %s: out of memory", u->g->name,
			    u->key);
		if (len > 0)
			memcpy(u->tail, buf, len);
		u->tail_len = len;
		u->has_tail = true;
		return 0;
	}
	/* A part resent after AG_RETRY starts where the last one ended. */
	if ((rc = up_chunk(u, u->acked, buf, len, false, err)) == 0)
		u->acked += len;
	return rc;
}

/* up_cancel(u): end the session of ${u} (DELETE; GCS answers 499). */
static void
up_cancel(struct gcs_up *u)
{
	struct http_resp resp;
	struct http_req req = { 0 };
	struct ag_err err;

	req.method = "DELETE";
	req.url = u->session;
	if (gcs_do(u->g, u->http, &req, NULL, &resp, "abort", u->key, &err) ==
	    0)
		http_resp_free(&resp);
}

static int
gcs_put_commit(void *up, struct ag_err *err)
{
	struct gcs_up *u = up;
	int rc;

	rc = up_chunk(u, u->acked, u->tail, u->tail_len, true, err);
	if (rc == AG_RETRY)
		return rc;
	if (rc != 0)
		up_cancel(u);
	up_free(u);
	return rc;
}

static void
gcs_put_abort(void *up)
{
	struct gcs_up *u = up;

	up_cancel(u);
	up_free(u);
}

static int
gcs_get(void *ctx, const char *key, uint64_t off, uint64_t len,
    storage_sink_fn *sink, void *cookie, struct ag_err *err)
{
	struct gcs *g = ctx;
	struct storage_get_sink gs = { sink, cookie, false };
	struct http_resp resp;
	struct http_req req = { 0 };
	char range[STORAGE_RANGE_HDR_MAX];
	const char *hdrs[2] = { NULL, NULL };
	char *url;
	int rc;

	if (len == 0)
		return 0;
	if ((url = obj_url(g, key, "?alt=media")) == NULL)
		return ag_err_set(err, "gcs[%s]: get %s: out of memory",
		    g->name, key);
	hdrs[0] = storage_range_header(range, sizeof(range), "Range", off,
	    len);
	req.method = "GET";
	req.url = url;
	req.sink = storage_get_sink;
	req.sink_cookie = &gs;
	rc = gcs_do(g, NULL, &req, hdrs, &resp, "get", key, err);
	free(url);
	if (gs.stopped)
		rc = ag_err_set(err, "gcs[%s]: get %s: stopped by reader",
		    g->name, key);
	else if (rc == 0 && resp.status == 404 && !no_bucket(&resp))
		rc = STORAGE_ABSENT;
	else if (rc == 0 && resp.status == 416)
		rc = ag_err_set(err,
		    "gcs[%s]: get %s: bytes %ju- are past "
		    "the end of the object",
		    g->name, key, (uintmax_t)off);
	else if (rc == 0 && resp.status != 200 && resp.status != 206)
		rc = gcs_fail(g, &resp, "get", key, err);
	else if (rc == 0 && resp.status == 200 && off > 0)
		rc = ag_err_set(err,
		    "gcs[%s]: get %s: the server ignored the "
		    "Range header",
		    g->name, key);
	http_resp_free(&resp);
	return rc;
}

/*
 * list_page(g, body, len, out, ret_token, err): the items of one page of
 * a listing appended to ${out}; its nextPageToken (or NULL) in ${ret_token}.
 */
static int
list_page(struct gcs *g, const char *prefix, const char *body, size_t len,
    struct objlist *out, char **ret_token, struct ag_err *err)
{
	struct jfield_at at = { "gcs listing", NULL, err };
	json_t *root, *items, *it;
	char name[STORAGE_KEY_MAX + 1], size[32], upd[64], *end;
	unsigned long long sz;
	int64_t ms;
	size_t i;
	int rc = -1;

	*ret_token = NULL;
	if ((root = json_loadb(body, len, 0, NULL)) == NULL ||
	    !json_is_object(root)) {
		ag_err_set(err, "gcs[%s]: list %s: the answer is not JSON",
		    g->name, prefix);
		goto out;
	}
	if (jfield_strdup(root, "nextPageToken", 0, 4096, ret_token, &at) ==
	    -1)
		goto out;
	items = json_object_get(root, "items");
	json_array_foreach(items, i, it)
	{
		if (jfield_str(it, "name", JF_REQUIRED, name, sizeof(name),
			&at) == -1 ||
		    jfield_str(it, "size", JF_REQUIRED, size, sizeof(size),
			&at) == -1 ||
		    jfield_str(it, "updated", JF_TRUNCATE, upd, sizeof(upd),
			&at) == -1)
			goto out;
		sz = strtoull(size, &end, 10);
		if (*end != '\0' || size[0] == '\0') {
			ag_err_set(err, "gcs[%s]: list %s: bad size \"%s\"",
			    g->name, prefix, size);
			goto out;
		}
		/* Names vigil could not have written are not its objects. */
		if (!storage_key_valid(name))
			continue;
		/* An unreadable time lists as 0, unknown. */
		if (clock_parse_rfc3339(upd, &ms) != 0)
			ms = 0;
		if (objlist_add(out, name, (uint64_t)sz, (time_t)(ms / 1000),
			NULL) != 0) {
			ag_err_set(err,
			    "gcs[%s]: list %s: too many objects or "
			    "out of memory",
			    g->name, prefix);
			goto out;
		}
	}
	rc = 0;
out:
	if (rc != 0) {
		free(*ret_token);
		*ret_token = NULL;
	}
	json_decref(root);
	return rc;
}

static int
gcs_list(void *ctx, const char *prefix, unsigned flags, struct objlist *out,
    struct ag_err *err)
{
	struct gcs *g = ctx;
	struct http_resp resp;
	struct http_req req = { 0 };
	char *token = NULL, *etok = NULL, *epre, *url = NULL;
	int rc;

	/* Sessions of unfinished uploads are not listable; they expire. */
	if (flags & STORAGE_LIST_INCOMPLETE)
		return 0;
	if ((epre = http_urlencode(prefix, strlen(prefix))) == NULL)
		return ag_err_set(err, "gcs[%s]: list: out of memory",
		    g->name);
	do {
		free(url);
		if (asprintf(&url,
			"%s/storage/v1/b/%s/o?prefix=%s&fields="
			"items(name,size,updated),nextPageToken%s%s",
			g->endpoint, g->ebucket, epre,
			etok != NULL ? "&pageToken=" : "",
			etok != NULL ? etok : "") == -1) {
			url = NULL;
			rc = ag_err_set(err, "gcs[%s]: list: out of memory",
			    g->name);
			break;
		}
		req.method = "GET";
		req.url = url;
		req.max_response = LIST_MAX_BODY;
		if ((rc = gcs_do(g, NULL, &req, NULL, &resp, "list", prefix,
			 err)) != 0)
			break;
		free(token);
		free(etok);
		token = etok = NULL;
		if (resp.status != 200)
			rc = gcs_fail(g, &resp, "list", prefix, err);
		else if (resp.truncated)
			rc = ag_err_set(err,
			    "gcs[%s]: list %s: page too large", g->name,
			    prefix);
		else if ((rc = list_page(g, prefix, resp.body, resp.body_len,
			      out, &token, err)) == 0 &&
		    token != NULL &&
		    (etok = http_urlencode(token, strlen(token))) == NULL)
			rc = ag_err_set(err, "gcs[%s]: list: out of memory",
			    g->name);
		http_resp_free(&resp);
	} while (rc == 0 && etok != NULL);
	free(token);
	free(etok);
	free(epre);
	free(url);
	return rc;
}

static int
gcs_remove(void *ctx, const char *key, struct ag_err *err)
{
	struct gcs *g = ctx;
	struct http_resp resp;
	struct http_req req = { 0 };
	char *url;
	int rc;

	if ((url = obj_url(g, key, "")) == NULL)
		return ag_err_set(err, "gcs[%s]: remove %s: out of memory",
		    g->name, key);
	req.method = "DELETE";
	req.url = url;
	rc = gcs_do(g, NULL, &req, NULL, &resp, "remove", key, err);
	free(url);
	if (rc != 0)
		return rc;
	/* An absent object is success; a missing bucket is not. */
	if (resp.status != 204 && resp.status != 200 &&
	    (resp.status != 404 || no_bucket(&resp)))
		rc = gcs_fail(g, &resp, "remove", key, err);
	http_resp_free(&resp);
	return rc;
}

const struct storage_ops storage_gcs_ops = {
	.name = "gcs",
	.caps = STORAGE_CAP_MULTIPART | STORAGE_CAP_RANGE | STORAGE_CAP_ATOMIC,
	.part_min = CHUNK_ALIGN,
	.part_align = CHUNK_ALIGN,
	.max_parts = 0,
	.settings = gcs_settings,
	.conf_parse = gcs_conf_parse,
	.conf_free = gcs_conf_free,
	.open = gcs_open,
	.put_begin = gcs_put_begin,
	.put_part = gcs_put_part,
	.put_commit = gcs_put_commit,
	.put_abort = gcs_put_abort,
	.get = gcs_get,
	.list = gcs_list,
	.remove = gcs_remove,
	.abort_incomplete = NULL,
	.close = gcs_close,
};
