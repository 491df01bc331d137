/*
 * ntf_http.h: what the notifiers that deliver by request share: the
 * settings timeout, connect_timeout, tls_verify and ca_file, applied to
 * each request, and the blocking send() made of prepare(), a request of
 * the notifier's own client, finish() and release().
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef VIGIL_NTF_HTTP_H
#define VIGIL_NTF_HTTP_H

#include <stdbool.h>
#include <stdint.h>

#include "conf/conf.h"
#include "lib/ag.h"
#include "lib/http/http.h"
#include "agent/notify_backend.h"

#define NTF_HTTP_TIMEOUT_MIN_MS 100
#define NTF_HTTP_TIMEOUT_MAX_MS (5 * 60 * 1000)

struct ntf_http {
	int64_t timeout_ms;
	int64_t connect_timeout_ms;
	bool tls_verify;
	char *ca_file;
	struct http_client *client; /* send(): made on first use */
};

/**
 * ntf_http_configure(h, cs, errs, timeout_ms, connect_timeout_ms):
 * Read timeout and connect_timeout (at least 100 ms, at most 5m; defaults
 * ${timeout_ms} and ${connect_timeout_ms}), tls_verify (default true) and
 * ca_file (readable) of ${cs} into ${h}, errors to ${errs}.  Return 0 or
 * -1; free ${h} with ntf_http_free() in both cases.
 */
int ntf_http_configure(struct ntf_http *h, const conf_node *cs,
    struct conf_errs *errs, int64_t timeout_ms, int64_t connect_timeout_ms);

/* ntf_http_apply(h, req): the timeouts and TLS settings of ${h} on ${req}. */
void ntf_http_apply(const struct ntf_http *h, struct http_req *req);

/**
 * ntf_http_post(call, h, url, hdrs, body, max_response):
 * ${call}->req: a POST of ${body} with ${hdrs} to ${url} under ${h}'s
 * settings, an answer of at most ${max_response} bytes kept.
 */
void ntf_http_post(struct notifier_call *call, const struct ntf_http *h,
    const char *url, const char *const *hdrs, const char *body,
    size_t max_response);

/**
 * ntf_http_send(ops, ctx, h, n, err):
 * The blocking delivery of ${n} by notifier ${ctx} of ${ops}: prepare(),
 * the request with the client of ${h}, finish(), release(); a prepare()
 * that leaves no URL is accepted at once.  Returns what send() returns.
 */
int ntf_http_send(const struct notifier_ops *ops, void *ctx,
    struct ntf_http *h, const struct notification *n, struct ag_err *err);

/* ntf_http_free(h): free what ${h} holds (not ${h}). */
void ntf_http_free(struct ntf_http *h);

#endif
