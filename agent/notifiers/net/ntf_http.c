/*
 * ntf_http.c: see ntf_http.h.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/notifiers/net/ntf_http.h"
#include "agent/notify_backend.h"

#define NTF_TIMEOUT_DEFAULT_MS 10000
#define NTF_CONNECT_TIMEOUT_DEFAULT_MS 5000
#define NTF_TIMEOUT_MIN_MS 100
#define NTF_TIMEOUT_MAX_MS (5 * 60 * 1000)

int
ntf_http_conf_read(struct conf_errs *errs, const conf_node *cs,
    struct ntf_http_conf *ret)
{
	const char *ca = NULL;
	int bad = 0;

	memset(ret, 0, sizeof(*ret));
	ret->timeout_ms = NTF_TIMEOUT_DEFAULT_MS;
	ret->connect_timeout_ms = NTF_CONNECT_TIMEOUT_DEFAULT_MS;
	ret->tls_verify = true;
	if (conf_get_dur(errs, cs, "timeout", false, NTF_TIMEOUT_MIN_MS,
		&ret->timeout_ms) == -1)
		bad = -1;
	else if (ret->timeout_ms > NTF_TIMEOUT_MAX_MS)
		bad = conf_error_at(errs, cs, "timeout", "at most 5m");
	if (conf_get_dur(errs, cs, "connect_timeout", false,
		NTF_TIMEOUT_MIN_MS, &ret->connect_timeout_ms) == -1)
		bad = -1;
	else if (ret->connect_timeout_ms > NTF_TIMEOUT_MAX_MS)
		bad = conf_error_at(errs, cs, "connect_timeout", "at most 5m");
	if (conf_get_bool(errs, cs, "tls_verify", false, &ret->tls_verify) ==
	    -1)
		bad = -1;
	if (conf_get_str(errs, cs, "ca_file", false, &ca) == -1) {
		bad = -1;
	} else if (ca != NULL) {
		if (access(ca, R_OK) != 0)
			bad = conf_error_at(errs, cs, "ca_file",
			    "cannot read \"%s\"", ca);
		else if ((ret->ca_file = strdup(ca)) == NULL)
			bad = conf_error(errs, cs, "out of memory");
	}
	if (bad != 0)
		ntf_http_conf_free(ret);
	return bad != 0 ? -1 : 0;
}

void
ntf_http_conf_free(struct ntf_http_conf *c)
{
	free(c->ca_file);
	c->ca_file = NULL;
}

void
ntf_http_post(struct notifier_call *call, const struct ntf_http_conf *c,
    const char *url, const char *const *hdrs, const char *body,
    size_t max_response)
{
	memset(&call->req, 0, sizeof(call->req));
	call->req.method = "POST";
	call->req.url = url;
	call->req.headers = hdrs;
	call->req.body = body;
	call->req.body_len = strlen(body);
	call->req.connect_timeout_ms = (long)c->connect_timeout_ms;
	call->req.timeout_ms = (long)c->timeout_ms;
	call->req.insecure = !c->tls_verify;
	call->req.ca_file = c->ca_file;
	call->req.max_response = max_response;
}

int
ntf_http_send(const struct notifier_ops *ops, void *ctx,
    struct http_client **http, const struct notification *n, const char *what,
    struct ag_err *err)
{
	struct notifier_call call = { .priv = NULL };
	struct http_resp resp;
	struct ag_err e;
	int rc;

	if (*http == NULL && (*http = http_client_new()) == NULL)
		return ag_err_set(err, "cannot initialise the HTTP client");
	if ((rc = ops->prepare(ctx, n, &call, err)) != 0)
		return rc;
	rc = http_client_do(*http, &call.req, &resp, &e);
	if (rc == 0)
		rc = ops->finish(ctx, &call, resp.status, resp.body,
		    resp.body_len, err);
	else
		(void)ag_err_set(err, "%s: %s", what, e.msg);
	http_resp_free(&resp);
	ops->release(ctx, &call);
	return rc;
}
