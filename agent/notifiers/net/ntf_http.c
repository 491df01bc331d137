/*
 * ntf_http.c: see ntf_http.h.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/notifiers/net/ntf_http.h"

int
ntf_http_configure(struct ntf_http *h, const conf_node *cs,
    struct conf_errs *errs, int64_t timeout_ms, int64_t connect_timeout_ms)
{
	const char *ca = NULL;
	int bad = 0;

	h->timeout_ms = timeout_ms;
	h->connect_timeout_ms = connect_timeout_ms;
	h->tls_verify = true;
	if (conf_get_dur(errs, cs, "timeout", false, NTF_HTTP_TIMEOUT_MIN_MS,
		&h->timeout_ms) == -1)
		bad = -1;
	else if (h->timeout_ms > NTF_HTTP_TIMEOUT_MAX_MS)
		bad = conf_error_at(errs, cs, "timeout", "at most 5m");
	if (conf_get_dur(errs, cs, "connect_timeout", false,
		NTF_HTTP_TIMEOUT_MIN_MS, &h->connect_timeout_ms) == -1)
		bad = -1;
	else if (h->connect_timeout_ms > NTF_HTTP_TIMEOUT_MAX_MS)
		bad = conf_error_at(errs, cs, "connect_timeout", "at most 5m");
	if (conf_get_bool(errs, cs, "tls_verify", false, &h->tls_verify) == -1)
		bad = -1;
	if (conf_get_str(errs, cs, "ca_file", false, &ca) == 1) {
		if (access(ca, R_OK) != 0)
			bad = conf_error_at(errs, cs, "ca_file",
			    "cannot read \"%s\"", ca);
		else if ((h->ca_file = strdup(ca)) == NULL)
			bad = conf_error(errs, cs, "out of memory");
	}
	return bad;
}

void
ntf_http_apply(const struct ntf_http *h, struct http_req *req)
{
	req->connect_timeout_ms = (long)h->connect_timeout_ms;
	req->timeout_ms = (long)h->timeout_ms;
	req->insecure = !h->tls_verify;
	req->ca_file = h->ca_file;
}

void
ntf_http_post(struct notifier_call *call, const struct ntf_http *h,
    const char *url, const char *const *hdrs, const char *body,
    size_t max_response)
{
	memset(&call->req, 0, sizeof(call->req));
	call->req.method = "POST";
	call->req.url = url;
	call->req.headers = hdrs;
	call->req.body = body;
	call->req.body_len = strlen(body);
	call->req.max_response = max_response;
	ntf_http_apply(h, &call->req);
}

int
ntf_http_send(const struct notifier_ops *ops, void *ctx, struct ntf_http *h,
    const struct notification *n, struct ag_err *err)
{
	struct notifier_call call = { .priv = NULL };
	struct http_resp resp;
	int rc;

	if (h->client == NULL && (h->client = http_client_new()) == NULL)
		return ag_err_set(err, "cannot initialise the HTTP client");
	if ((rc = ops->prepare(ctx, n, &call, err)) != 0)
		return rc;
	if (call.req.url == NULL) {
		ops->release(ctx, &call);
		return 0;
	}
	rc = http_client_do(h->client, &call.req, &resp, err);
	if (rc == 0)
		rc = ops->finish(ctx, &call, resp.status, resp.body,
		    resp.body_len, err);
	http_resp_free(&resp);
	ops->release(ctx, &call);
	return rc;
}

void
ntf_http_free(struct ntf_http *h)
{
	http_client_free(h->client);
	h->client = NULL;
	free(h->ca_file);
	h->ca_file = NULL;
}
