/*
 * ntf_http.h: what the notifiers that speak HTTP share: their transport
 * settings (timeout, connect_timeout, tls_verify, ca_file), the POST their
 * prepare() hands the sender, and the blocking send() made of their own
 * prepare(), finish() and release().  Used by ntf_pubsub.c and
 * ntf_notifhubs.c.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef VIGIL_NTF_HTTP_H
#define VIGIL_NTF_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf/conf.h"
#include "lib/ag.h"
#include "lib/http/http.h"
#include "agent/notify.h"

struct notifier_ops;

/* A notifier's transport settings. */
struct ntf_http_conf {
	int64_t timeout_ms;	    /* default 10s, 100ms to 5m */
	int64_t connect_timeout_ms; /* default 5s, 100ms to 5m */
	bool tls_verify;	    /* default true */
	char *ca_file;		    /* NULL: the system's bundle */
};

/**
 * ntf_http_conf_read(errs, cs, ret):
 * Read timeout, connect_timeout, tls_verify and ca_file (readable) of
 * ${cs} into ${ret}, defaults for those absent.  Return 0, or -1 with the
 * errors recorded (${ret} freed).
 */
int ntf_http_conf_read(struct conf_errs *errs, const conf_node *cs,
    struct ntf_http_conf *ret);

/* ntf_http_conf_free(c): free what ${c} holds. */
void ntf_http_conf_free(struct ntf_http_conf *c);

/**
 * ntf_http_post(call, c, url, hdrs, body, max_response):
 * ${call}->req: a POST of ${body} with ${hdrs} to ${url} under ${c}'s
 * settings, an answer of at most ${max_response} bytes kept.
 */
void ntf_http_post(struct notifier_call *call, const struct ntf_http_conf *c,
    const char *url, const char *const *hdrs, const char *body,
    size_t max_response);

/**
 * ntf_http_send(ops, ctx, http, n, what, err):
 * The blocking delivery of ${n}: ${ops}' prepare(), the request on the
 * client *${http} (made on first use), finish() and release().  ${what}
 * starts the message of a transport failure.  Return as send().
 */
int ntf_http_send(const struct notifier_ops *ops, void *ctx,
    struct http_client **http, const struct notification *n, const char *what,
    struct ag_err *err);

#endif
