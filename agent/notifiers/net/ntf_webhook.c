/*
 * ntf_webhook.c: the "webhook" notifier POSTs each notification as JSON to a
 * URL, in one of the formats of webhook_format.c (json, slack,
 * alertmanager, dingtalk, wecom), optionally signed with a shared secret.
 *
 * Settings: url (required, http:// or https://), format (default "json"),
 * secret / secret_file / secret_env, headers (a group { Name = "value"; }
 * or a list of "Name: value" strings), timeout (default 10s),
 * connect_timeout (default 5s), tls_verify (default true), ca_file.
 *
 * Every request carries Content-Type: application/json, User-Agent
 * vigil/<version> and X-Vigil-Id: <notification id>, so a receiver can drop
 * the duplicates that at-least-once delivery implies.  A delivery is split
 * in prepare (render, sign, build the request), which the sender performs
 * side by side with other notifiers' requests, and finish (judge the
 * answer); send does both around a blocking request of its own HTTP
 * client (created on first use, so `vigil config check` never touches the
 * network code).  The answer is classified by webhook_classify(): 2xx
 * accepted, 408/425/429/5xx and transport failures retried, the rest
 * dropped with the status and the start of the answer.  The URL's query
 * (DingTalk and WeCom put their access token there) and the secret never
 * reach a message; the secret, header values and the URL's credentials
 * (query values, password, token-like path segments) are registered with
 * the log module (log_secret_add()) for as long as the notifier lives, so
 * that an answer echoing them is redacted too.  See docs/WEBHOOK.md.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "paths.h"
#include "lib/ag.h"
#include "lib/clock.h"
#include "lib/crypto/crypto.h"
#include "lib/http/http.h"
#include "lib/log.h"
#include "agent/notify.h"
#include "agent/notify_backend.h"
#include "agent/notifiers/net/ntf_http.h"
#include "agent/notifiers/net/webhook_format.h"

#define WEBHOOK_TIMEOUT_DEFAULT_MS 10000
#define WEBHOOK_CONNECT_TIMEOUT_DEFAULT_MS 5000
/* Custom headers, and how long a header line may be. */
#define WEBHOOK_HEADERS_MAX 32
#define WEBHOOK_HEADER_LEN_MAX 4096
/* The answer is only read for errors and errcodes. */
#define WEBHOOK_RESPONSE_MAX (64 * 1024)
#define WEBHOOK_URL_MAX 4096
/* Ours: Content-Type, User-Agent, the X-Vigil-* three, and the NULL. */
#define WEBHOOK_OWN_HEADERS 6
/* Secrets kept out of logs: the secret, header values, URL parts. */
#define WEBHOOK_REDACT_MAX (WEBHOOK_HEADERS_MAX + 34)
/* A URL path segment this long, of letters and digits, is a token. */
#define WEBHOOK_PATH_TOKEN_MIN 16
/*
 * Query values this long are registered as secrets (shorter ones, such as
 * "format=json", would redact common words; the query's shape is redacted
 * anyway).
 */
#define WEBHOOK_QUERY_TOKEN_MIN 8

struct ntf_webhook {
	char *name;
	char *url;
	const struct webhook_format *fmt;
	char *secret;	/* NULL: unsigned; wiped on free */
	char **headers; /* "Name: value", then NULL */
	size_t nheaders;
	struct ntf_http net; /* timeouts, TLS, send()'s client */
	/* What we registered with log_secret_add(), removed on free. */
	char *redact[WEBHOOK_REDACT_MAX];
	size_t nredact;
};

static const char *const ntf_webhook_settings[] = { "url", "format", "secret",
	"secret_file", "secret_env", "headers", "timeout", "connect_timeout",
	"tls_verify", "ca_file", NULL };

/* Headers we set ourselves, which the configuration may not override. */
static const char *const reserved_headers[] = {
	"Content-Type",
	"Content-Length",
	"Host",
	"Transfer-Encoding",
	"User-Agent",
	"X-Vigil-Id",
	"X-Vigil-Signature",
	"X-Vigil-Timestamp",
	"Expect",
};

static void
ntf_webhook_free(void *ctx)
{
	struct ntf_webhook *w = ctx;

	if (w == NULL)
		return;
	for (size_t i = 0; i < w->nredact; i++) {
		log_secret_remove(w->redact[i]);
		crypto_wipe(w->redact[i], strlen(w->redact[i]));
		free(w->redact[i]);
	}
	ntf_http_free(&w->net);
	conf_secret_free(w->secret);
	/* Custom headers may carry tokens (Authorization). */
	for (size_t i = 0; i < w->nheaders; i++) {
		crypto_wipe(w->headers[i], strlen(w->headers[i]));
		free(w->headers[i]);
	}
	free(w->headers);
	if (w->url != NULL) {
		crypto_wipe(w->url, strlen(w->url));
		free(w->url);
	}
	free(w->name);
	free(w);
}

static int
valid_url(const char *u)
{
	const char *host;

	if (strncasecmp(u, "https://", 8) == 0)
		host = u + 8;
	else if (strncasecmp(u, "http://", 7) == 0)
		host = u + 7;
	else
		return 0;
	if (*host == '\0' || *host == '/' || *host == '?' || *host == '#')
		return 0;
	for (; *u != '\0'; u++) {
		if ((unsigned char)*u <= 0x20 || *u == 0x7f)
			return 0;
	}
	return 1;
}

/*
 * Keep ${len} bytes at ${s} out of every log line and error record for as
 * long as ${w} lives.  Return 0 or -1 (out of memory).
 */
static int
keep_secret(struct ntf_webhook *w, const char *s, size_t len)
{
	char *copy;

	if (len < LOG_SECRET_MIN)
		return 0;
	if (w->nredact >= WEBHOOK_REDACT_MAX)
		return 0; /* the shape rules still hide query values */
	if ((copy = strndup(s, len)) == NULL)
		return -1;
	if (log_secret_add(copy) != 0) {
		free(copy);
		return -1;
	}
	w->redact[w->nredact++] = copy;
	return 0;
}

/* Is the path segment of ${len} bytes at ${s} a token (Slack, Discord)? */
static int
token_segment(const char *s, size_t len)
{
	int alpha = 0, digit = 0;

	if (len < WEBHOOK_PATH_TOKEN_MIN)
		return 0;
	for (size_t i = 0; i < len; i++) {
		if (isalpha((unsigned char)s[i]))
			alpha = 1;
		else if (isdigit((unsigned char)s[i]))
			digit = 1;
		else if (s[i] != '-' && s[i] != '_')
			return 0;
	}
	return alpha && digit;
}

/*
 * The parts of URL ${u} that are credentials: the user information's
 * password, query values of WEBHOOK_QUERY_TOKEN_MIN bytes or more
 * (DingTalk's and WeCom's access tokens), and path segments that look like
 * tokens (Slack's and Discord's webhook URLs).
 * Return 0 or -1 (out of memory).
 */
static int
keep_url_secrets(struct ntf_webhook *w, const char *u)
{
	const char *auth = strstr(u, "://") + 3, *end, *at, *colon, *p, *q;
	size_t n;

	end = auth + strcspn(auth, "/?#");
	for (at = end; at > auth && at[-1] != '@'; at--)
		;
	if (at > auth &&
	    (colon = memchr(auth, ':', (size_t)(at - 1 - auth))) != NULL &&
	    keep_secret(w, colon + 1, (size_t)(at - 2 - colon)) != 0)
		return -1;
	for (p = end; *p == '/'; p += n) {
		p++;
		n = strcspn(p, "/?#");
		if (token_segment(p, n) && keep_secret(w, p, n) != 0)
			return -1;
	}
	if ((q = strchr(end, '?')) == NULL)
		return 0;
	for (p = q + 1; *p != '\0' && *p != '#'; p += n + (p[n] == '&')) {
		n = strcspn(p, "&#");
		if ((q = memchr(p, '=', n)) != NULL &&
		    (size_t)(p + n - q - 1) >= WEBHOOK_QUERY_TOKEN_MIN &&
		    keep_secret(w, q + 1, (size_t)(p + n - q - 1)) != 0)
			return -1;
	}
	return 0;
}

/* An RFC 9110 token character. */
static int
tchar(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/*
 * Check header ${name} = ${value} and store "Name: value" in ${w}.  Errors
 * name the header but never show its value, which may be a token.
 */
static int
add_header(struct ntf_webhook *w, struct conf_errs *errs, const conf_node *at,
    const char *name, const char *value)
{
	char *line;
	size_t i;

	if (name[0] == '\0')
		return conf_error(errs, at, "a header needs a name");
	for (i = 0; name[i] != '\0'; i++)
		if (!tchar(name[i]))
			return conf_error(errs, at,
			    "header \"%.64s\": invalid "
			    "character in the name",
			    name);
	for (i = 0; value[i] != '\0'; i++) {
		unsigned char c = (unsigned char)value[i];

		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return conf_error(errs, at,
			    "header \"%.64s\": control "
			    "characters (CR, LF, ...) are not allowed in the "
			    "value",
			    name);
	}
	for (i = 0; i < ARRAY_SIZE(reserved_headers); i++)
		if (strcasecmp(name, reserved_headers[i]) == 0)
			return conf_error(errs, at,
			    "header \"%s\" is set by "
			    "vigil and cannot be configured",
			    name);
	if (strlen(name) + strlen(value) + 3 > WEBHOOK_HEADER_LEN_MAX)
		return conf_error(errs, at, "header \"%.64s\" is too long",
		    name);
	if (w->nheaders >= WEBHOOK_HEADERS_MAX)
		return conf_error(errs, at, "at most %d headers",
		    WEBHOOK_HEADERS_MAX);
	if (asprintf(&line, "%s: %s", name, value) < 0 ||
	    keep_secret(w, value, strlen(value)) != 0)
		return conf_error(errs, at, "out of memory");
	w->headers[w->nheaders++] = line;
	return 0;
}

/* "headers": a group { Name = "value"; } or a list [ "Name: value" ]. */
static int
read_headers(struct ntf_webhook *w, const conf_node *cs,
    struct conf_errs *errs)
{
	const conf_node *m = conf_member(cs, "headers");
	char **v = NULL, *colon, *value;
	size_t n = 0;
	int bad = 0;

	if ((w->headers = calloc(WEBHOOK_HEADERS_MAX + 1,
		 sizeof(*w->headers))) == NULL)
		return conf_error(errs, cs, "out of memory");
	if (m == NULL)
		return 0;
	if (conf_is_group(m)) {
		for (size_t i = 0; i < conf_len(m); i++) {
			const conf_node *el = conf_elem(m, i);
			const char *name = conf_name(el), *val = NULL;

			if (conf_get_str(errs, m, name, true, &val) != 1 ||
			    add_header(w, errs, el, name, val) != 0)
				bad = 1;
		}
		return bad ? -1 : 0;
	}
	if (conf_get_strv(errs, cs, "headers", false, &v, &n) != 1)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if ((colon = strchr(v[i], ':')) == NULL) {
			bad = conf_error(errs, m,
			    "header %zu: must be "
			    "\"Name: value\"",
			    i + 1);
			continue;
		}
		*colon = '\0';
		for (value = colon + 1; *value == ' ' || *value == '\t';
		     value++)
			;
		if (add_header(w, errs, m, v[i], value) != 0)
			bad = 1;
	}
	for (size_t i = 0; i < n; i++)
		crypto_wipe(v[i], strlen(v[i]));
	ag_strv_free(v);
	return bad ? -1 : 0;
}

static int
ntf_webhook_configure(void **ret_ctx, const conf_node *cs,
    struct conf_errs *errs)
{
	struct conf_errs scratch = { 0 };
	struct ntf_webhook *w;
	const char *url = NULL, *format = "json", *name = NULL;
	char list[128];
	size_t nerr = errs->n;
	int bad = 0;

	if ((w = calloc(1, sizeof(*w))) == NULL)
		return conf_error(errs, cs, "out of memory");

	/* notifier_new() has reported a bad name already. */
	(void)conf_get_str(&scratch, cs, "name", false, &name);
	conf_errs_free(&scratch);
	if ((w->name = strdup(name != NULL ? name : "webhook")) == NULL)
		goto oom;

	if (conf_get_str(errs, cs, "url", true, &url) == 1) {
		if (!valid_url(url))
			bad = conf_error_at(errs, cs, "url",
			    "must be an "
			    "http:// or https:// URL without spaces");
		else if (strlen(url) > WEBHOOK_URL_MAX)
			bad = conf_error_at(errs, cs, "url",
			    "longer than %d "
			    "bytes",
			    WEBHOOK_URL_MAX);
		else if ((w->url = strdup(url)) == NULL ||
		    keep_url_secrets(w, w->url) != 0)
			goto oom;
	} else {
		bad = -1;
	}
	if (conf_get_str(errs, cs, "format", false, &format) == -1)
		bad = -1;
	else if ((w->fmt = webhook_format_find(format)) == NULL)
		bad = conf_error_at(errs, cs, "format",
		    "unknown format "
		    "\"%s\" (known: %s)",
		    format, webhook_format_list(list, sizeof(list)));
	if (conf_get_secret(errs, cs, "secret", false, &w->secret) == -1)
		bad = -1;
	else if (w->secret != NULL &&
	    keep_secret(w, w->secret, strlen(w->secret)) != 0)
		goto oom;
	if (read_headers(w, cs, errs) != 0)
		bad = -1;
	if (ntf_http_configure(&w->net, cs, errs, WEBHOOK_TIMEOUT_DEFAULT_MS,
		WEBHOOK_CONNECT_TIMEOUT_DEFAULT_MS) != 0)
		bad = -1;
	if (bad != 0 || errs->n > nerr) {
		ntf_webhook_free(w);
		return -1;
	}
	*ret_ctx = w;
	return 0;
oom:
	ntf_webhook_free(w);
	return conf_error(errs, cs, "out of memory");
}

/* X-Vigil-Id: the id, with anything that could split a header replaced. */
static void
id_header(const char *id, char *buf, size_t len)
{
	size_t n = (size_t)snprintf(buf, len, "X-Vigil-Id: ");

	for (; *id != '\0' && n + 1 < len; id++) {
		unsigned char c = (unsigned char)*id;

		buf[n++] = c < 0x20 || c >= 0x7f ? '_' : (char)c;
	}
	buf[n] = '\0';
}

/* What one request points to, from prepare to release. */
struct webhook_call {
	const char *hdrs[WEBHOOK_HEADERS_MAX + WEBHOOK_OWN_HEADERS];
	char idh[80], sigh[32 + WEBHOOK_SIG_LEN], tsh[48];
	char id[sizeof(((struct notification *)0)->id)];
	char *body;
	char *signed_url; /* DingTalk: wiped on release */
};

static void
ntf_webhook_release(void *ctx, struct notifier_call *call)
{
	struct webhook_call *wc = call->priv;

	(void)ctx;
	if (wc == NULL)
		return;
	if (wc->signed_url != NULL) {
		crypto_wipe(wc->signed_url, strlen(wc->signed_url));
		free(wc->signed_url);
	}
	free(wc->body);
	free(wc);
	call->priv = NULL;
}

static int
ntf_webhook_prepare(void *ctx, const struct notification *n,
    struct notifier_call *call, struct ag_err *err)
{
	struct ntf_webhook *w = ctx;
	struct webhook_call *wc;
	struct http_req *req = &call->req;
	size_t k = 0;

	if ((wc = calloc(1, sizeof(*wc))) == NULL)
		return ag_err_set(err, "out of memory");
	call->priv = wc;
	snprintf(wc->id, sizeof(wc->id), "%s", n->id);
	if ((wc->body = webhook_render_fmt(w->fmt, n)) == NULL) {
		ntf_webhook_release(w, call);
		return ag_err_set(err, "cannot render the %s body",
		    w->fmt->name);
	}
	wc->hdrs[k++] = "Content-Type: application/json";
	wc->hdrs[k++] = "User-Agent: vigil/" VIGIL_VERSION;
	id_header(n->id, wc->idh, sizeof(wc->idh));
	wc->hdrs[k++] = wc->idh;
	if (w->secret != NULL && w->fmt->sign == WS_HMAC_HEADER) {
		memcpy(wc->sigh, "X-Vigil-Signature: ", 19);
		if (webhook_signature(w->secret, wc->body, strlen(wc->body),
			wc->sigh + 19) != 0) {
			ntf_webhook_release(w, call);
			return ag_err_set(err, "cannot sign the body");
		}
		snprintf(wc->tsh, sizeof(wc->tsh), "X-Vigil-Timestamp: %lld",
		    (long long)(clock_wall_ms() / 1000));
		wc->hdrs[k++] = wc->sigh;
		wc->hdrs[k++] = wc->tsh;
	} else if (w->secret != NULL && w->fmt->sign == WS_DINGTALK_URL) {
		if (webhook_dingtalk_sign_url(w->url, w->secret,
			clock_wall_ms(), &wc->signed_url) != 0) {
			ntf_webhook_release(w, call);
			return ag_err_set(err, "cannot sign the URL");
		}
	}
	for (size_t i = 0; i < w->nheaders; i++)
		wc->hdrs[k++] = w->headers[i];
	wc->hdrs[k] = NULL;

	memset(req, 0, sizeof(*req));
	req->method = "POST";
	req->url = wc->signed_url != NULL ? wc->signed_url : w->url;
	req->headers = wc->hdrs;
	req->body = wc->body;
	req->body_len = strlen(wc->body);
	ntf_http_apply(&w->net, req);
	req->max_response = WEBHOOK_RESPONSE_MAX;
	return 0;
}

static int
ntf_webhook_finish(void *ctx, struct notifier_call *call, long status,
    const char *body, size_t len, struct ag_err *err)
{
	struct ntf_webhook *w = ctx;
	struct webhook_call *wc = call->priv;
	char where[300];

	http_url_redact(w->url, where, sizeof(where));
	log_debug("webhook[%s]: POST %s (%s, id %s): HTTP %ld", w->name, where,
	    w->fmt->name, wc->id, status);
	return webhook_classify(w->fmt, status, body, len, err);
}

extern const struct notifier_ops ntf_webhook_ops;

/* The blocking delivery: the same request, performed here. */
static int
ntf_webhook_send(void *ctx, const struct notification *n, struct ag_err *err)
{
	struct ntf_webhook *w = ctx;

	return ntf_http_send(&ntf_webhook_ops, w, &w->net, n, err);
}

const struct notifier_ops ntf_webhook_ops = {
	.type = "webhook",
	.settings = ntf_webhook_settings,
	.configure = ntf_webhook_configure,
	.send = ntf_webhook_send,
	.prepare = ntf_webhook_prepare,
	.finish = ntf_webhook_finish,
	.release = ntf_webhook_release,
	.free = ntf_webhook_free,
};
