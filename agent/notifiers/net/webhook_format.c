/*
 * webhook_format.c: the bodies, signatures and answer classification of the
 * "webhook" notifier (see webhook_format.h and docs/WEBHOOK.md).
 *
 * Formats are data: one row of formats[] per format, holding a JSON
 * template, the signing style and how answers are read.  A template is JSON
 * text with ${var} placeholders.  The renderer walks it and knows whether a
 * placeholder sits inside a JSON string literal or stands as a value:
 *
 *   inside a string   the variable's text, JSON-escaped ("a \"b\"\n");
 *                     a number as "97.2", a missing number as "n/a";
 *   as a value        a string in quotes, a number, or null.
 *
 * So "text":"${state}: ${summary}" and "value":${value} both do the right
 * thing, and adding a format is adding a row.  Variables are rows of vars[].
 * Every string is made valid UTF-8 (bad bytes become U+FFFD) and escaped,
 * so a host or rule name with quotes, newlines or odd bytes cannot break
 * the JSON.  The body is capped at WEBHOOK_BODY_MAX.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "lib/ag.h"
#include "lib/buf.h"
#include "lib/clock.h"
#include "lib/crypto/crypto.h"
#include "lib/http/http.h"
#include "lib/log.h"
#include "lib/parsenum.h"
#include "lib/utf8.h"
#include "agent/notify.h"
#include "agent/notifiers/net/webhook_format.h"

/*
 * Alertmanager forgets ("resolves") an alert whose endsAt has passed, so a
 * firing alert is sent with endsAt in the future: two reminder intervals
 * (one lost reminder does not resolve it), or a day when the rule sends no
 * reminders.
 */
#define WEBHOOK_ENDS_AT_DEFAULT_MS (24 * 3600 * 1000LL)

/* DingTalk: 130101 "sending too fast"; both: -1 "system busy". */
static const long dingtalk_retry[] = { 130101, -1 };
/* WeCom: 45009 "API freq out of limit", 45033 concurrency; -1 busy. */
static const long wecom_retry[] = { 45009, 45033, -1 };

static const struct webhook_format formats[] = {
	{
	    .name = "json",
	    .tmpl = "${notification}",
	    .sign = WS_HMAC_HEADER,
	    .result = WR_HTTP,
	},
	{
	    .name = "slack",
	    .tmpl = "{\"text\":\"${emoji} ${summary}\","
		    "\"attachments\":[{\"color\":\"${color}\","
		    "\"title\":\"${title}\","
		    "\"fields\":["
		    "{\"title\":\"Metric\",\"value\":\"${metric}\","
		    "\"short\":true},"
		    "{\"title\":\"Value\",\"value\":\"${value}\","
		    "\"short\":true},"
		    "{\"title\":\"Threshold\",\"value\":\"${op} ${threshold}\","
		    "\"short\":true},"
		    "{\"title\":\"Since\",\"value\":\"${since}\","
		    "\"short\":true}],"
		    "\"footer\":\"vigil on ${host}\",\"ts\":${ts_s}}]}",
	    .sign = WS_HMAC_HEADER,
	    .result = WR_HTTP,
	},
	{
	    .name = "alertmanager",
	    .tmpl = "{\"labels\":{\"alertname\":\"${rule}\","
		    "\"instance\":\"${host}\",\"severity\":\"${severity}\","
		    "\"metric\":\"${metric}\",\"source\":\"vigil\"},"
		    "\"annotations\":{\"summary\":\"${summary}\","
		    "\"value\":\"${value}\",\"state\":\"${state}\"},"
		    "\"startsAt\":\"${starts_at}\",\"endsAt\":\"${ends_at}\"}",
	    .sign = WS_HMAC_HEADER,
	    .result = WR_HTTP,
	    .flags = WF_ALERT_ARRAY,
	},
	{
	    .name = "dingtalk",
	    .tmpl = "{\"msgtype\":\"markdown\",\"markdown\":{"
		    "\"title\":\"${title}\","
		    "\"text\":\"### ${emoji} ${title}\\n\\n"
		    "- **Metric**: ${metric}\\n"
		    "- **Value**: ${value}\\n"
		    "- **Threshold**: ${op} ${threshold}\\n"
		    "- **Host**: ${host}\\n"
		    "- **Since**: ${since}\\n"
		    "- **Time**: ${timestamp}\\n\\n"
		    "${summary}\"}}",
	    .sign = WS_DINGTALK_URL,
	    .result = WR_ERRCODE,
	    .retry_errcodes = dingtalk_retry,
	    .nretry_errcodes = ARRAY_SIZE(dingtalk_retry),
	},
	{
	    .name = "wecom",
	    .tmpl = "{\"msgtype\":\"markdown\",\"markdown\":{"
		    "\"content\":\"### ${emoji} ${title}\\n"
		    "> Metric: ${metric}\\n"
		    "> Value: ${value}\\n"
		    "> Threshold: ${op} ${threshold}\\n"
		    "> Host: ${host}\\n"
		    "> Since: ${since}\\n\\n"
		    "${summary}\"}}",
	    .sign = WS_HMAC_HEADER,
	    .result = WR_ERRCODE,
	    .retry_errcodes = wecom_retry,
	    .nretry_errcodes = ARRAY_SIZE(wecom_retry),
	},
};

const struct webhook_format *
webhook_format_find(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(formats); i++)
		if (strcmp(formats[i].name, name) == 0)
			return &formats[i];
	return NULL;
}

const char *
webhook_format_list(char *buf, size_t len)
{
	size_t off = 0;
	int k;

	buf[0] = '\0';
	for (size_t i = 0; i < ARRAY_SIZE(formats); i++) {
		k = snprintf(buf + off, len - off, "%s%s", i > 0 ? ", " : "",
		    formats[i].name);
		if (k < 0 || (size_t)k >= len - off)
			break;
		off += (size_t)k;
	}
	return buf;
}

/* Append ${s} escaped for the inside of a JSON string. */
static void
sb_esc(struct buf *b, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	char u[8];
	size_t k;

	while (*p != '\0') {
		switch (*p) {
		case '"':
			buf_append(b, "\\\"", 2);
			p++;
			continue;
		case '\\':
			buf_append(b, "\\\\", 2);
			p++;
			continue;
		case '\n':
			buf_append(b, "\\n", 2);
			p++;
			continue;
		case '\r':
			buf_append(b, "\\r", 2);
			p++;
			continue;
		case '\t':
			buf_append(b, "\\t", 2);
			p++;
			continue;
		default:
			break;
		}
		if (*p < 0x20 || *p == 0x7f) {
			snprintf(u, sizeof(u), "\\u%04x", *p);
			buf_append(b, u, 6);
			p++;
		} else if ((k = utf8_seq(p, NULL)) == 0) {
			buf_append(b, "\xef\xbf\xbd", 3); /* U+FFFD */
			p++;
		} else {
			buf_append(b, (const char *)p, k);
			p += k;
		}
	}
}

/* The value of one variable. */
enum vtype { V_STR, V_NUM, V_NULL, V_JSON };
struct val {
	enum vtype t;
	const char *s;
	double d;
	char buf[600];
	char *heap; /* freed after use */
};

static const char *
severity_of(enum alert_state s)
{
	switch (s) {
	case ST_CRITICAL:
		return "critical";
	case ST_WARNING:
	case ST_UNKNOWN:
		return "warning";
	default:
		return "none";
	}
}

static bool
is_resolved(const struct notification *n)
{
	return n->state == ST_OK && n->prev_state != ST_OK;
}

static void
v_str(struct val *v, const char *s)
{
	v->t = V_STR;
	v->s = s;
}

static void
v_time(struct val *v, int64_t ms)
{
	clock_rfc3339(ms, v->buf, sizeof(v->buf));
	v_str(v, v->buf);
}

static void
v_lower(struct val *v, const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0' && i + 1 < sizeof(v->buf); i++)
		v->buf[i] = (char)(s[i] >= 'A' && s[i] <= 'Z' ? s[i] + 32 :
								s[i]);
	v->buf[i] = '\0';
	v_str(v, v->buf);
}

static void
v_num(struct val *v, bool has, double d)
{
	v->t = has && isfinite(d) ? V_NUM : V_NULL;
	v->d = d;
}

typedef void var_fn(const struct notification *n, struct val *v);

static void
var_id(const struct notification *n, struct val *v)
{
	v_str(v, n->id);
}

static void
var_host(const struct notification *n, struct val *v)
{
	v_str(v, n->host);
}

static void
var_rule(const struct notification *n, struct val *v)
{
	v_str(v, n->rule);
}

static void
var_metric(const struct notification *n, struct val *v)
{
	v_str(v, n->metric);
}

static void
var_state(const struct notification *n, struct val *v)
{
	v_str(v, alert_state_name(n->state));
}

static void
var_prev_state(const struct notification *n, struct val *v)
{
	v_str(v, alert_state_name(n->prev_state));
}

static void
var_state_lower(const struct notification *n, struct val *v)
{
	v_lower(v, alert_state_name(n->state));
}

static void
var_kind(const struct notification *n, struct val *v)
{
	v_str(v, n->kind == NK_REMINDER ? "reminder" : "change");
}

static void
var_status(const struct notification *n, struct val *v)
{
	v_str(v, n->state == ST_OK ? "resolved" : "firing");
}

static void
var_value(const struct notification *n, struct val *v)
{
	v_num(v, n->has_value, n->value);
}

static void
var_threshold(const struct notification *n, struct val *v)
{
	v_num(v, n->has_threshold, n->threshold);
}

static void
var_op(const struct notification *n, struct val *v)
{
	v_str(v, n->op);
}

static void
var_timestamp(const struct notification *n, struct val *v)
{
	v_time(v, n->ts_ms);
}

static void
var_ts_s(const struct notification *n, struct val *v)
{
	v_num(v, true, (double)(n->ts_ms / 1000));
}

static void
var_since(const struct notification *n, struct val *v)
{
	v_time(v, n->since_ms);
}

/* Alertmanager refuses startsAt after endsAt. */
static void
var_starts_at(const struct notification *n, struct val *v)
{
	v_time(v,
	    is_resolved(n) && n->since_ms > n->ts_ms ? n->ts_ms : n->since_ms);
}

static void
var_ends_at(const struct notification *n, struct val *v)
{
	int64_t ms = n->ts_ms;

	if (n->state != ST_OK)
		ms += n->repeat_ms > 0 ? 2 * n->repeat_ms :
					 WEBHOOK_ENDS_AT_DEFAULT_MS;
	v_time(v, ms);
}

static void
var_duration(const struct notification *n, struct val *v)
{
	format_duration(n->ts_ms - n->since_ms, v->buf, sizeof(v->buf));
	v_str(v, v->buf);
}

static void
var_summary(const struct notification *n, struct val *v)
{
	notification_summary(n, v->buf, sizeof(v->buf));
	v_str(v, v->buf);
}

static void
var_title(const struct notification *n, struct val *v)
{
	if (is_resolved(n))
		snprintf(v->buf, sizeof(v->buf), "RECOVERED: %s on %s",
		    n->rule, n->host);
	else
		snprintf(v->buf, sizeof(v->buf), "%s%s: %s on %s",
		    alert_state_name(n->state),
		    n->kind == NK_REMINDER ? " (reminder)" : "", n->rule,
		    n->host);
	v_str(v, v->buf);
}

/* A resolved alert keeps the severity it fired with (Alertmanager labels). */
static void
var_severity(const struct notification *n, struct val *v)
{
	v_str(v, severity_of(n->state == ST_OK ? n->prev_state : n->state));
}

static void
var_color(const struct notification *n, struct val *v)
{
	static const char *const colors[] = {
		[ST_OK] = "#2eb886",
		[ST_WARNING] = "#daa038",
		[ST_CRITICAL] = "#d00000",
		[ST_UNKNOWN] = "#808080",
	};

	v_str(v,
	    (unsigned)n->state < ARRAY_SIZE(colors) ? colors[n->state] :
						      "#808080");
}

static void
var_emoji(const struct notification *n, struct val *v)
{
	static const char *const emoji[] = {
		[ST_OK] = "\xe2\x9c\x85",	    /* U+2705 check mark */
		[ST_WARNING] = "\xf0\x9f\x9f\xa0",  /* U+1F7E0 orange */
		[ST_CRITICAL] = "\xf0\x9f\x94\xb4", /* U+1F534 red */
		[ST_UNKNOWN] = "\xe2\x9a\xaa",	    /* U+26AA white */
	};

	v_str(v,
	    (unsigned)n->state < ARRAY_SIZE(emoji) ? emoji[n->state] : "");
}

/* The whole notification in the documented schema (bare context only). */
static void
var_notification(const struct notification *n, struct val *v)
{
	v->heap = notification_to_json(n);
	v->t = V_JSON;
	v->s = v->heap;
}

static const struct {
	const char *name;
	var_fn *fn;
} vars[] = {
	{ "id", var_id },
	{ "host", var_host },
	{ "rule", var_rule },
	{ "metric", var_metric },
	{ "state", var_state },
	{ "previous_state", var_prev_state },
	{ "state_lower", var_state_lower },
	{ "kind", var_kind },
	{ "status", var_status },
	{ "value", var_value },
	{ "threshold", var_threshold },
	{ "op", var_op },
	{ "timestamp", var_timestamp },
	{ "ts_s", var_ts_s },
	{ "since", var_since },
	{ "starts_at", var_starts_at },
	{ "ends_at", var_ends_at },
	{ "duration", var_duration },
	{ "summary", var_summary },
	{ "title", var_title },
	{ "severity", var_severity },
	{ "color", var_color },
	{ "emoji", var_emoji },
	{ "notification", var_notification },
};

/* Append variable ${name} (${len} bytes) for ${n}.  0, or -1 if unknown. */
static int
emit_var(struct buf *b, const char *name, size_t len,
    const struct notification *n, bool in_string)
{
	struct val v;
	char num[64];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(vars); i++)
		if (strlen(vars[i].name) == len &&
		    memcmp(vars[i].name, name, len) == 0)
			break;
	if (i == ARRAY_SIZE(vars))
		return -1;
	memset(&v, 0, sizeof(v));
	vars[i].fn(n, &v);
	switch (v.t) {
	case V_STR:
		if (!in_string)
			buf_append(b, "\"", 1);
		sb_esc(b, v.s);
		if (!in_string)
			buf_append(b, "\"", 1);
		break;
	case V_NUM:
		snprintf(num, sizeof(num), in_string ? "%.10g" : "%.15g", v.d);
		buf_puts(b, num);
		break;
	case V_NULL:
		buf_puts(b, in_string ? "n/a" : "null");
		break;
	case V_JSON:
		if (v.s == NULL)
			b->err = 1;
		else if (in_string)
			sb_esc(b, v.s);
		else
			buf_puts(b, v.s);
		break;
	}
	free(v.heap);
	return 0;
}

/* Append template ${t} rendered for ${n}.  0, or -1 if it is broken. */
static int
render_tmpl(struct buf *b, const char *t, const struct notification *n)
{
	bool in_string = false;
	const char *p = t, *end;

	while (*p != '\0') {
		if (p[0] == '$' && p[1] == '{') {
			if ((end = strchr(p + 2, '}')) == NULL ||
			    emit_var(b, p + 2, (size_t)(end - p - 2), n,
				in_string) != 0)
				return -1;
			p = end + 1;
			continue;
		}
		if (in_string && *p == '\\' && p[1] != '\0') {
			buf_append(b, p, 2);
			p += 2;
			continue;
		}
		if (*p == '"')
			in_string = !in_string;
		buf_append(b, p, 1);
		p++;
	}
	return in_string ? -1 : 0;
}

char *
webhook_render_fmt(const struct webhook_format *f,
    const struct notification *n)
{
	struct buf b;
	int rc;

	buf_init(&b, WEBHOOK_BODY_MAX - 1);
	if ((f->flags & WF_ALERT_ARRAY) == 0) {
		rc = render_tmpl(&b, f->tmpl, n);
	} else {
		buf_append(&b, "[", 1);
		rc = render_tmpl(&b, f->tmpl, n);
		/*
		 * Alertmanager tells alerts apart by their labels, which
		 * include the severity: when a firing alert changes severity
		 * (WARNING to CRITICAL), also resolve the one sent before,
		 * or it would linger until its endsAt.
		 */
		if (rc == 0 && n->state != ST_OK && n->prev_state != ST_OK &&
		    strcmp(severity_of(n->state),
			severity_of(n->prev_state)) != 0) {
			struct notification old = *n;

			old.state = ST_OK;
			old.kind = NK_CHANGE;
			buf_append(&b, ",", 1);
			rc = render_tmpl(&b, f->tmpl, &old);
		}
		buf_append(&b, "]", 1);
	}
	if (rc != 0 || b.err) {
		buf_free(&b);
		return NULL;
	}
	return buf_take(&b);
}

char *
webhook_render(const char *format, const struct notification *n)
{
	const struct webhook_format *f = webhook_format_find(format);

	return f != NULL ? webhook_render_fmt(f, n) : NULL;
}

int
webhook_signature(const char *secret, const void *body, size_t len,
    char out[WEBHOOK_SIG_LEN])
{
	uint8_t mac[CRYPTO_SHA256_LEN];

	if (crypto_hmac_sha256(secret, strlen(secret), body, len, mac) != 0)
		return -1;
	memcpy(out, "sha256=", 7);
	crypto_hex(mac, sizeof(mac), out + 7);
	crypto_wipe(mac, sizeof(mac));
	return 0;
}

int
webhook_dingtalk_sign_url(const char *url, const char *secret, int64_t ts_ms,
    char **ret)
{
	uint8_t mac[CRYPTO_SHA256_LEN];
	char ts[24], b64[48], *msg = NULL, *sign = NULL, *out;
	size_t ulen = strlen(url);
	const char *sep;
	int rc = -1;

	snprintf(ts, sizeof(ts), "%lld", (long long)ts_ms);
	if (asprintf(&msg, "%s\n%s", ts, secret) < 0) {
		msg = NULL;
		goto out;
	}
	if (crypto_hmac_sha256(secret, strlen(secret), msg, strlen(msg),
		mac) != 0 ||
	    crypto_base64(mac, sizeof(mac), b64, sizeof(b64)) < 0)
		goto out;
	if ((sign = http_urlencode(b64, strlen(b64))) == NULL)
		goto out;
	if (ulen > 0 && (url[ulen - 1] == '?' || url[ulen - 1] == '&'))
		sep = "";
	else
		sep = strchr(url, '?') != NULL ? "&" : "?";
	if (asprintf(&out, "%s%stimestamp=%s&sign=%s", url, sep, ts, sign) < 0)
		goto out;
	*ret = out;
	rc = 0;
out:
	if (msg != NULL) {
		crypto_wipe(msg, strlen(msg));
		free(msg);
	}
	crypto_wipe(mac, sizeof(mac));
	free(sign);
	return rc;
}

/*
 * The start of an answer, for an error message: bounded, control characters
 * escaped, header values, URL queries and secrets redacted (log_snippet()).
 */
static const char *
snippet(const char *body, size_t len, char *buf, size_t size)
{
	if (body == NULL || len == 0)
		return "(empty body)";
	return log_snippet(body, len, buf, size);
}

int
webhook_classify(const struct webhook_format *f, long status, const char *body,
    size_t len, struct ag_err *err)
{
	char snip[224];
	json_t *o = NULL, *code, *msg;
	json_int_t ec;
	int cls = http_status_class(status);

	if (cls != 0) {
		(void)ag_err_set(err, "HTTP %ld: %s%s", status,
		    snippet(body, len, snip, sizeof(snip)),
		    status >= 300 && status <= 399 ?
			" (redirects are not followed)" :
			"");
		return cls;
	}
	if (f->result == WR_HTTP)
		return 0;
	/* DingTalk and WeCom answer 200 and put the outcome in the body. */
	if (body != NULL && len > 0)
		o = json_loadb(body, len, 0, NULL);
	code = json_object_get(o, "errcode");
	if (!json_is_integer(code)) {
		json_decref(o);
		return ag_err_set(err, "HTTP %ld without an errcode: %s",
		    status, snippet(body, len, snip, sizeof(snip)));
	}
	ec = json_integer_value(code);
	if (ec == 0) {
		json_decref(o);
		return 0;
	}
	msg = json_object_get(o, "errmsg");
	(void)ag_err_set(err, "errcode %lld: %s", (long long)ec,
	    json_is_string(msg) ?
		snippet(json_string_value(msg), json_string_length(msg), snip,
		    sizeof(snip)) :
		"(no errmsg)");
	json_decref(o);
	for (size_t i = 0; i < f->nretry_errcodes; i++)
		if (f->retry_errcodes[i] == ec)
			return AG_RETRY;
	return -1;
}
