/*
 * webhook_format.h: what the "webhook" notifier puts on the wire, as pure
 * functions: the body of each format (rendered from a table of JSON
 * templates), the signatures, and how a receiver's answer is classified.
 * ntf_webhook.c does the configuration and the sending; the tests call these
 * directly.  See docs/WEBHOOK.md.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef VIGIL_WEBHOOK_FORMAT_H
#define VIGIL_WEBHOOK_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#include "lib/ag.h"
#include "agent/notify.h"

/* Largest body a format may render. */
#define WEBHOOK_BODY_MAX (64 * 1024)

/* "sha256=" and 64 hex digits and a NUL. */
#define WEBHOOK_SIG_LEN (7 + 64 + 1)

/* How a request is signed when a secret is configured. */
enum webhook_sign {
	WS_HMAC_HEADER = 0, /* X-Vigil-Signature: sha256=<hex> */
	WS_DINGTALK_URL,    /* &timestamp=..&sign=.. on the URL */
};

/* How a receiver's answer is read. */
enum webhook_result {
	WR_HTTP = 0, /* the HTTP status says it all */
	WR_ERRCODE,  /* 200 with {"errcode":N,"errmsg":...} */
};

/* The body is a JSON array of alerts (Alertmanager's /api/v2/alerts). */
#define WF_ALERT_ARRAY 0x1

struct webhook_format {
	const char *name; /* the "format" setting */
	const char *tmpl; /* JSON with ${var} placeholders */
	enum webhook_sign sign;
	enum webhook_result result;
	const long *retry_errcodes; /* WR_ERRCODE: transient codes */
	size_t nretry_errcodes;
	unsigned flags; /* WF_* */
};

/* webhook_format_find(name): the format called ${name}, or NULL. */
const struct webhook_format *webhook_format_find(const char *name);

/* webhook_format_list(buf, len): "json, slack, ..." for messages. */
const char *webhook_format_list(char *buf, size_t len);

/**
 * webhook_render_fmt(f, n):
 * The request body of format ${f} for ${n}.  Return a malloc'd string, or
 * NULL on OOM, a body over WEBHOOK_BODY_MAX or a broken template.
 */
char *webhook_render_fmt(const struct webhook_format *f,
    const struct notification *n);

/* webhook_render(format, n): the same by name; NULL if it is unknown. */
char *webhook_render(const char *format, const struct notification *n);

/**
 * webhook_signature(secret, body, len, out):
 * "sha256=" and the hex HMAC-SHA256 of ${body} under ${secret} into ${out}
 * (WEBHOOK_SIG_LEN bytes).  Return 0 or -1.
 */
int webhook_signature(const char *secret, const void *body, size_t len,
    char out[WEBHOOK_SIG_LEN]);

/**
 * webhook_dingtalk_sign_url(url, secret, ts_ms, ret):
 * DingTalk's signed URL: ${url} plus "timestamp=${ts_ms}&sign=S" where S is
 * urlencode(base64(HMAC-SHA256(key ${secret}, "${ts_ms}\n${secret}"))),
 * joined with '&' if ${url} has a query and '?' if not.  Store a malloc'd
 * string in ${ret}; return 0 or -1.
 */
int webhook_dingtalk_sign_url(const char *url, const char *secret,
    int64_t ts_ms, char **ret);

/**
 * webhook_classify(f, status, body, len, err):
 * What an answer with HTTP ${status} and ${body} means for format ${f}:
 * 0 accepted, AG_RETRY (408, 425, 429, 5xx, or a rate-limit errcode) or -1
 * (other statuses and errcodes), with ${err} set to "HTTP 400: <start of
 * the body>" or "errcode N: <errmsg>".
 */
int webhook_classify(const struct webhook_format *f, long status,
    const char *body, size_t len, struct ag_err *err);

#endif
