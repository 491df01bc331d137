/*
 * httpd.h: the HTTP server of vigild (docs/API.md), in the heavy module.
 *
 * libmicrohttpd, one thread per connection (at most max_connections,
 * each dropped after the timeout), bodies capped at max_body.  Each
 * request's bearer token is checked against the tokens file (failures
 * rate-limited per client address and logged); then the page's assets
 * and the backup routes (agent/httpd/api_backup.c) are answered on the
 * connection's thread, everything else by the scheduler through
 * web_call() (agent/web.h).
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef VIGIL_HTTPD_H
#define VIGIL_HTTPD_H

#include "agent/web.h"
#include "conf/conf.h"
#include "lib/ag.h"

struct httpd;

/**
 * httpd_start(c, w, err):
 * Listen as ${c} says and answer through the mailbox ${w} (which must
 * outlive the server).  Return the server, or NULL with ${err} set
 * ("127.0.0.1:9717: Address already in use", a bad certificate, ...).
 */
struct httpd *httpd_start(const struct http_conf *c, struct web *w,
    struct ag_err *err);

/* httpd_stop(h): close the listener, end the connections, free ${h}. */
void httpd_stop(struct httpd *h);

/**
 * httpd_parse_target(target, rq, buf, buflen):
 * Split a request target ("/api/v1/history?series=cpu.busy_pct&step=1m")
 * into ${rq}->path and ${rq}->params, percent-decoding into ${buf}.
 * Refuse (return -1) a target that is not absolute, holds a NUL, a "."
 * or ".." segment, more than WEB_PARAMS_MAX parameters or does not fit.
 * For the fuzz target and the server alike.
 */
int httpd_parse_target(const char *target, struct web_req *rq, char *buf,
    size_t buflen);

#endif /* !VIGIL_HTTPD_H */
