/*
 * aws_query.c: see aws_query.h.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/ag.h"
#include "lib/buf.h"
#include "lib/cloud/aws/aws_creds.h"
#include "lib/cloud/aws/sigv4.h"
#include "lib/cloud/cloud_xml.h"
#include "lib/http/http.h"
#include "lib/log.h"

#include "lib/cloud/aws/aws_query.h"

#define QUERY_TIMEOUT_MS 30000
#define QUERY_RESP_MAX (16 * 1024 * 1024)

int
aws_query_error(const char *body, size_t len, char *code, size_t codelen,
    char *msg, size_t msglen)
{
	char *c, *m;

	if (codelen > 0)
		code[0] = '\0';
	if (msglen > 0)
		msg[0] = '\0';
	if (body == NULL || len == 0 ||
	    (c = cloud_xml_text(body, len, "Code")) == NULL)
		return 0;
	snprintf(code, codelen, "%s", c);
	free(c);
	if ((m = cloud_xml_text(body, len, "Message")) != NULL) {
		snprintf(msg, msglen, "%s", m);
		free(m);
	}
	return code[0] != '\0';
}

int
aws_query_throttled(long status, const char *code)
{
	static const char *const codes[] = { "Throttling",
		"ThrottlingException", "ThrottledException",
		"RequestLimitExceeded", "TooManyRequestsException",
		"RequestThrottled", "RequestThrottledException", "SlowDown",
		"LimitExceededException", NULL };

	if (status == 429 || status == 503)
		return 1;
	for (size_t i = 0; code != NULL && codes[i] != NULL; i++)
		if (strcmp(code, codes[i]) == 0)
			return 1;
	return 0;
}

void
aws_query_form_add(struct buf *b, const char *key, const char *value)
{
	if (b->len > 0)
		(void)buf_puts(b, "&");
	(void)buf_puts(b, key);
	(void)buf_puts(b, "=");
	(void)sigv4_uri_encode(b, value, strlen(value), 0);
}

/* Judge a refusal: set ${err}, return AG_RETRY or -1. */
static int
refusal(const struct aws_query *q, const char *what, const struct http_resp *r,
    bool *throttled, struct ag_err *err)
{
	char code[128], codes[128], raw[512], msg[256];

	(void)aws_query_error(r->body, r->body_len, code, sizeof(code), raw,
	    sizeof(raw));
	/* The server's words go into messages as snippets, redacted. */
	(void)log_snippet(raw, strlen(raw), msg, sizeof(msg));
	(void)log_snippet(code, strlen(code), codes, sizeof(codes));
	if (aws_query_throttled(r->status, code)) {
		*throttled = true;
		(void)ag_err_set(err, "%s: %s: throttled (HTTP %ld%s%s)",
		    q->name, what, r->status, codes[0] ? " " : "", codes);
		return AG_RETRY;
	}
	if ((strcmp(code, "ExpiredToken") == 0 ||
		strcmp(code, "ExpiredTokenException") == 0) &&
	    aws_creds_refused(q->creds)) {
		(void)ag_err_set(err,
		    "%s: %s: the session token expired; new credentials are "
		    "fetched for the next call",
		    q->name, what);
		return AG_RETRY;
	}
	if (strcmp(code, "RequestTimeTooSkewed") == 0 ||
	    strcmp(code, "SignatureDoesNotMatch") == 0 ||
	    strcmp(code, "InvalidSignatureException") == 0)
		return ag_err_set(err, "%s: %s: %s: %s%s", q->name, what,
		    codes, msg,
		    code[0] == 'R' ? " (is this host's clock right?)" : "");
	(void)ag_err_set(err, "%s: %s: HTTP %ld %s%s%s", q->name, what,
	    r->status, codes, msg[0] ? ": " : "", msg);
	return r->status >= 500 ? AG_RETRY : -1;
}

int
aws_query_call(const struct aws_query *q, const char *what, const char *body,
    size_t len, struct http_resp *resp, bool *throttled, struct ag_err *err)
{
	static const char ctype[] =
	    "application/x-www-form-urlencoded; charset=utf-8";
	struct sigv4_header sh[2] = { { "Host", q->host },
		{ "Content-Type", ctype } };
	struct sigv4_params p = { .region = q->region,
		.service = q->service,
		.when = time(NULL),
		.normalize_path = 1 };
	const char *hdrs[SIGV4_MAX_EXTRA + 4];
	char hash[65], hhost[300], hct[100];
	struct sigv4_out out = { 0 };
	struct sigv4_creds cr;
	struct sigv4_request rq;
	struct aws_cred ac;
	struct ag_err e;
	char *url = NULL;
	size_t nx = 0;
	int rc;

	memset(resp, 0, sizeof(*resp));
	if ((rc = aws_creds_get(q->creds, p.when, &ac, &e)) != 0) {
		(void)ag_err_set(err, "%s: %s", q->name, e.msg);
		return rc;
	}
	cr = (struct sigv4_creds){ ac.access_key_id, ac.secret_access_key,
		ac.session_token };
	rq = (struct sigv4_request){ .method = "POST",
		.path = "/",
		.query = NULL,
		.headers = sh,
		.nheaders = 2,
		.payload_hash = hash };
	if (sigv4_payload_hash(body, len, hash) != 0 ||
	    sigv4_sign_headers(&rq, &cr, &p, &out) != 0 ||
	    asprintf(&url, "%s/", q->endpoint) < 0) {
		url = NULL;
		rc = ag_err_set(err, "%s: out of memory", q->name);
		goto out;
	}
	snprintf(hhost, sizeof(hhost), "Host: %s", q->host);
	snprintf(hct, sizeof(hct), "Content-Type: %s", ctype);
	hdrs[nx++] = hhost;
	hdrs[nx++] = hct;
	for (size_t i = 0; out.extra[i] != NULL; i++)
		hdrs[nx++] = out.extra[i];
	hdrs[nx] = NULL;
	{
		struct http_req req = { .method = "POST",
			.url = url,
			.headers = hdrs,
			.body = body,
			.body_len = len,
			.timeout_ms = q->timeout_ms > 0 ? q->timeout_ms :
							  QUERY_TIMEOUT_MS,
			.max_response = q->max_response > 0 ? q->max_response :
							      QUERY_RESP_MAX };

		rc = http_client_do(q->http, &req, resp, &e);
	}
	if (rc != 0) {
		(void)ag_err_set(err, "%s: %s: %s", q->name, what, e.msg);
		http_resp_free(resp);
		goto out;
	}
	if (resp->status >= 200 && resp->status < 300)
		goto out;
	rc = refusal(q, what, resp, throttled, err);
	http_resp_free(resp);
out:
	sigv4_out_free(&out);
	aws_cred_clear(&ac);
	free(url);
	return rc;
}
