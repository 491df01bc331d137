/*
 * ntf_notifhubs.c: the "notification_hubs" notifier sends each
 * notification through an Azure Notification Hub to the devices
 * registered with it (POST https://NS.servicebus.windows.net/HUB/messages/
 * ?api-version=2015-01):
 *
 *	notifiers = ( { name = "phones"; type = "notification_hubs";
 *	    hub = "oncall"; connection_string_file = "/etc/vigil/nh.conn";
 *	    format = "template"; tags = "oncall && rule:${rule}"; } );
 *
 * Settings: hub (required), connection_string / connection_string_file /
 * connection_string_env (required: the hub's "Endpoint=sb://NS.servicebus.
 * windows.net/;SharedAccessKeyName=...;SharedAccessKey=..." of a policy
 * with the Send claim), format ("template", the default, "fcmv1", "gcm" or
 * "apple"), payload (a JSON body of one's own, with the ${var}
 * placeholders of the webhook templates, docs/WEBHOOK.md), tags (a tag
 * expression, ServiceBusNotification-Tags, with ${rule}, ${host},
 * ${state}, ${severity} and ${metric} replaced; none: every registration),
 * endpoint (default https://NS.servicebus.windows.net from the connection
 * string; http[s]://host[:port], for tests), timeout (default 10s),
 * connect_timeout (default 5s), tls_verify (default true), ca_file.
 *
 * The payloads (nh_payload()): "template" sends the properties title,
 * body, state, previous_state, severity, rule, host, metric, value,
 * threshold, id and timestamp, all strings, for the registrations'
 * templates to place; "fcmv1", "gcm" and "apple" a native notification
 * with a title (state, rule, host) and a body (the one-line summary),
 * plus the same properties as data.  Each request carries a SAS token
 * made from the connection string's key for the hub's URI, good for an
 * hour (azure_sb_sas_token(), lib/cloud/azure/).
 *
 * The request is built in prepare(), performed by the sender beside other
 * notifiers' requests, and judged in finish() by nh_classify(): 201
 * accepted; 401 (a wrong key or key name, a policy without Send, a wrong
 * clock) kept queued, with what to fix, so that a fixed configuration
 * delivers it; a used-up quota, 408, 429 and 5xx retried; other
 * refusals (no such hub, a payload too large) dropped with the hub's own
 * words.  The key is registered with log_secret_add() while the notifier
 * lives and never appears in a message.  send() does all three with a
 * client of its own.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "paths.h"
#include "lib/ag.h"
#include "lib/buf.h"
#include "lib/cloud/azure/azure_auth.h"
#include "lib/cloud/cloud_xml.h"
#include "lib/crypto/crypto.h"
#include "lib/http/http.h"
#include "lib/log.h"
#include "agent/notify.h"
#include "agent/notify_backend.h"
#include "agent/notifiers/net/ntf_http.h"
#include "agent/notifiers/net/ntf_notifhubs_internal.h"
#include "agent/notifiers/net/webhook_format.h"

#define NH_API_VERSION "2015-01"
/* A SAS token is good for this long after it is made. */
#define NH_SAS_TTL_S 3600
#define NH_RESPONSE_MAX (64 * 1024)
#define NH_ENDPOINT_MAX 512
#define NH_HUB_MAX 260
/* Authorization, Content-Type, Format, Tags, User-Agent, 2 APNs, NULL. */
#define NH_HDRS 8

extern const struct notifier_ops ntf_notifhubs_ops;

struct ntf_nh {
	char *name;
	char *hub;
	char *url;	/* endpoint/HUB/messages/?api-version=... */
	char *resource; /* https://NS.servicebus.windows.net/HUB, signed */
	char *key_name;
	char *key; /* registered with log_secret_add() */
	enum nh_format format;
	char *payload;	    /* the configured body, or NULL */
	char *tags;	    /* the configured expression, or NULL */
	struct ntf_http hc; /* timeout, connect_timeout, tls_verify, ca_file */
};

static const char *const ntf_notifhubs_settings[] = { "hub",
	"connection_string", "connection_string_file", "connection_string_env",
	"format", "payload", "tags", "endpoint", "timeout", "connect_timeout",
	"tls_verify", "ca_file", NULL };

const char *const nh_format_names[] = { "template", "fcmv1", "gcm", "apple",
	NULL };

/* ---- payloads ---- */

/* The properties every format carries, all strings. */
#define NH_PROPS \
	"\"state\":\"${state}\",\"previous_state\":\"${previous_state}\"," \
	"\"severity\":\"${severity}\",\"rule\":\"${rule}\"," \
	"\"host\":\"${host}\",\"metric\":\"${metric}\"," \
	"\"value\":\"${value}\",\"threshold\":\"${op} ${threshold}\"," \
	"\"id\":\"${id}\",\"timestamp\":\"${timestamp}\""

static const char *const payloads[NH_NFORMATS] = {
	[NH_TEMPLATE] =
	    "{\"title\":\"${title}\",\"body\":\"${summary}\"," NH_PROPS "}",
	[NH_FCMV1] = "{\"message\":{\"notification\":{\"title\":\"${title}\","
		     "\"body\":\"${summary}\"},\"android\":{\"priority\":"
		     "\"HIGH\"},\"data\":{" NH_PROPS "}}}",
	[NH_GCM] = "{\"notification\":{\"title\":\"${title}\",\"body\":"
		   "\"${summary}\"},\"priority\":\"high\",\"data\":{" NH_PROPS
		   "}}",
	[NH_APPLE] =
	    "{\"aps\":{\"alert\":{\"title\":\"${title}\",\"body\":"
	    "\"${summary}\"},\"sound\":\"default\"},\"vigil\":{" NH_PROPS "}}",
};

char *
nh_payload(enum nh_format f, const char *custom, const struct notification *n)
{
	struct webhook_format wf = { .name = NULL };

	if ((unsigned)f >= NH_NFORMATS)
		return NULL;
	wf.name = nh_format_names[f];
	wf.tmpl = custom != NULL ? custom : payloads[f];
	return webhook_render_fmt(&wf, n);
}

/* ---- tags ---- */

static bool
tag_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || strchr("_@#.:-", c) != NULL;
}

/*
 * The severity as the webhook templates say it: "critical", "warning"
 * (WARNING, UNKNOWN) or "none"; a recovery keeps the one it fired with, so
 * that it reaches those who were paged.
 */
static const char *
severity_of(const struct notification *n)
{
	enum alert_state st = n->state == ST_OK ? n->prev_state : n->state;

	return st == ST_CRITICAL		 ? "critical" :
	    st == ST_WARNING || st == ST_UNKNOWN ? "warning" :
						   "none";
}

/* The value of placeholder ${name} (${len} bytes) of ${n}, or NULL. */
static const char *
tag_var(const char *name, size_t len, const struct notification *n)
{
#define IS(s) (len == sizeof(s) - 1 && memcmp(name, s, len) == 0)
	if (IS("rule"))
		return n->rule;
	if (IS("host"))
		return n->host;
	if (IS("metric"))
		return n->metric;
	if (IS("state"))
		return alert_state_name(n->state);
	if (IS("severity"))
		return severity_of(n);
#undef IS
	return NULL;
}

int
nh_tags(const char *expr, const struct notification *n, char *out, size_t len)
{
	size_t k = 0;

	for (const char *p = expr; *p != '\0';) {
		const char *v, *close;

		if (p[0] == '$' && p[1] == '{' &&
		    (close = strchr(p + 2, '}')) != NULL) {
			if ((v = tag_var(p + 2, (size_t)(close - p - 2), n)) ==
			    NULL)
				return -1;
			for (; *v != '\0'; v++) {
				if (k + 1 >= len)
					return -1;
				out[k++] = tag_char(*v) ? *v : '_';
			}
			p = close + 1;
			continue;
		}
		if (k + 1 >= len)
			return -1;
		out[k++] = *p++;
	}
	out[k] = '\0';
	return 0;
}

/* ---- answers ---- */

/* The <Detail> of an <Error> answer into ${out}, or the start of ${body}. */
static void
detail_of(const char *body, size_t len, char *out, size_t size)
{
	xmlDocPtr doc;
	xmlNodePtr root;
	size_t k = 0;

	out[0] = '\0';
	if (body == NULL || len == 0)
		return;
	if ((doc = cloud_xml_parse(body, len)) != NULL) {
		root = xmlDocGetRootElement(doc);
		if (root != NULL && cloud_xml_is(root, "Error"))
			cloud_xml_copy(out, size,
			    cloud_xml_child(root, "Detail"));
		xmlFreeDoc(doc);
		if (out[0] != '\0')
			return;
	}
	for (size_t i = 0; i < len && k + 1 < size && k < 120; i++)
		out[k++] = (unsigned char)body[i] < 0x20 ? ' ' : body[i];
	out[k] = '\0';
}

int
nh_classify(const char *what, long status, const char *body, size_t len,
    struct ag_err *err)
{
	char detail[300];
	const char *fix = NULL;
	int retry;

	if (status >= 200 && status < 300)
		return 0;
	detail_of(body, len, detail, sizeof(detail));
	retry = http_status_class(status) == AG_RETRY;
	switch (status) {
	case 401:
		fix = "the SAS token was refused: fix the connection string "
		      "(key name, key, a policy with Send) or the clock";
		retry = 1;
		break;
	case 403:
		if (strcasestr(detail, "quota") != NULL) {
			fix = "the namespace's quota of pushes is used up";
			retry = 1;
		}
		break;
	case 404:
		fix = "no such hub: fix hub (and the namespace of the "
		      "connection string)";
		break;
	case 413:
		fix = "the payload is over the hub's limit";
		break;
	}
	(void)ag_err_set(err, "%s: HTTP %ld%s%s%s%s", what, status,
	    fix != NULL ? ": " : "", fix != NULL ? fix : "",
	    detail[0] == '\0' ? "" :
		fix != NULL   ? ". The hub says: " :
				": ",
	    detail);
	return retry ? AG_RETRY : -1;
}

/* ---- configuration ---- */

static void
ntf_nh_free(void *ctx)
{
	struct ntf_nh *s = ctx;

	if (s == NULL)
		return;
	if (s->key != NULL) {
		log_secret_remove(s->key);
		crypto_wipe(s->key, strlen(s->key));
	}
	free(s->key);
	free(s->key_name);
	free(s->name);
	free(s->hub);
	free(s->url);
	free(s->resource);
	free(s->payload);
	free(s->tags);
	ntf_http_free(&s->hc);
	free(s);
}

/* A notification to try the configured payload and tags on. */
static void
sample(struct notification *n)
{
	memset(n, 0, sizeof(*n));
	snprintf(n->id, sizeof(n->id), "1795316400123-3f9a1c-7b2e");
	snprintf(n->host, sizeof(n->host), "web1");
	snprintf(n->rule, sizeof(n->rule), "cpu-high");
	snprintf(n->metric, sizeof(n->metric), "cpu.used_pct");
	snprintf(n->op, sizeof(n->op), ">");
	n->state = ST_CRITICAL;
	n->prev_state = ST_OK;
	n->has_value = n->has_threshold = true;
	n->value = 97.2;
	n->threshold = 95;
	n->ts_ms = n->since_ms = 1795316400123LL;
}

/* A hub path: letters, digits and . - _ / (Azure's rule), at most 260. */
static bool
hub_valid(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && n <= NH_HUB_MAX && s[0] != '/' &&
	    strspn(s,
		"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		"0123456789.-_/") == n;
}

static int
ntf_nh_configure(void **ret_ctx, const conf_node *cs, struct conf_errs *errs)
{
	struct conf_errs scratch = { 0 };
	struct azure_sb_conn conn = { 0 };
	struct notification n;
	struct ntf_nh *s;
	const char *hub = NULL, *ep = NULL, *name = NULL;
	const char *payload = NULL, *tags = NULL;
	char why[200], tagbuf[NH_TAGS_MAX + 1], *cstr = NULL, *endpoint = NULL;
	char *probe;
	size_t nerr = errs->n;
	int bad = 0, ix = 0, r;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return conf_error(errs, cs, "out of memory");
	/* notifier_new() has reported a bad name already. */
	(void)conf_get_str(&scratch, cs, "name", false, &name);
	conf_errs_free(&scratch);
	if ((s->name = strdup(name != NULL ? name : "notification_hubs")) ==
	    NULL)
		goto oom;

	if (conf_get_str(errs, cs, "hub", true, &hub) != 1)
		bad = -1;
	else if (!hub_valid(hub))
		bad = conf_error_at(errs, cs, "hub",
		    "must be the hub's name: letters, digits and . - _ /");
	else if ((s->hub = strdup(hub)) == NULL)
		goto oom;
	if (conf_get_secret(errs, cs, "connection_string", true, &cstr) != 1)
		bad = -1;
	else if (azure_sb_conn_parse(cstr, &conn, why, sizeof(why)) != 0)
		bad = conf_error_at(errs, cs, "connection_string",
		    "is not a Notification Hubs connection string: %s", why);
	if (conf_get_enum(errs, cs, "format", false, nh_format_names, &ix) ==
	    -1)
		bad = -1;
	s->format = (enum nh_format)ix;
	sample(&n);
	if (conf_get_str(errs, cs, "payload", false, &payload) == -1) {
		bad = -1;
	} else if (payload != NULL) {
		json_t *j = NULL;

		if ((probe = nh_payload(s->format, payload, &n)) == NULL ||
		    (j = json_loads(probe, 0, NULL)) == NULL)
			bad = conf_error_at(errs, cs, "payload",
			    "must be JSON with the ${var} placeholders of "
			    "the webhook templates (docs/WEBHOOK.md)");
		json_decref(j);
		free(probe);
		if ((s->payload = strdup(payload)) == NULL)
			goto oom;
	}
	if (conf_get_str(errs, cs, "tags", false, &tags) == -1) {
		bad = -1;
	} else if (tags != NULL) {
		if (strpbrk(tags, "\r\n") != NULL || tags[0] == '\0' ||
		    nh_tags(tags, &n, tagbuf, sizeof(tagbuf)) != 0)
			bad = conf_error_at(errs, cs, "tags",
			    "must be a tag expression on one line, with "
			    "${rule}, ${host}, ${state}, ${severity} or "
			    "${metric} as placeholders");
		if ((s->tags = strdup(tags)) == NULL)
			goto oom;
	}
	if (conf_get_str(errs, cs, "endpoint", false, &ep) == -1) {
		bad = -1;
	} else if (ep != NULL) {
		size_t len = strlen(ep);

		while (len > 0 && ep[len - 1] == '/')
			len--;
		if ((endpoint = strndup(ep, len)) == NULL)
			goto oom;
		if (len > NH_ENDPOINT_MAX || !http_endpoint_valid(endpoint))
			bad = conf_error_at(errs, cs, "endpoint",
			    "must be "
			    "http://host[:port] or https://host[:port]");
	}
	if (ntf_http_configure(&s->hc, cs, errs, 10000, 5000) != 0)
		bad = -1;
	conf_secret_free(cstr);
	cstr = NULL;
	if (bad != 0 || errs->n > nerr)
		goto fail;
	if (endpoint == NULL)
		r = asprintf(&s->url,
		    "https://%s/%s/messages/?api-version=" NH_API_VERSION,
		    conn.host, s->hub);
	else
		r = asprintf(&s->url,
		    "%s/%s/messages/?api-version=" NH_API_VERSION, endpoint,
		    s->hub);
	if (r < 0) {
		s->url = NULL;
		goto oom;
	}
	if (asprintf(&s->resource, "https://%s/%s", conn.host, s->hub) < 0) {
		s->resource = NULL;
		goto oom;
	}
	s->key_name = conn.key_name;
	s->key = conn.key;
	conn.key_name = conn.key = NULL;
	if (log_secret_add(s->key) != 0) {
		crypto_wipe(s->key, strlen(s->key));
		free(s->key);
		s->key = NULL;
		goto oom;
	}
	azure_sb_conn_free(&conn);
	free(endpoint);
	*ret_ctx = s;
	return 0;
oom:
	(void)conf_error(errs, cs, "out of memory");
fail:
	conf_secret_free(cstr);
	azure_sb_conn_free(&conn);
	free(endpoint);
	ntf_nh_free(s);
	return -1;
}

/* ---- delivery ---- */

/* What one request points to, from prepare to release. */
struct nh_call {
	const char *hdrs[NH_HDRS];
	char *auth;
	char *tags;
	char id[sizeof(((struct notification *)0)->id)];
	char *body;
};

static void
ntf_nh_release(void *ctx, struct notifier_call *call)
{
	struct nh_call *nc = call->priv;

	(void)ctx;
	if (nc == NULL)
		return;
	if (nc->auth != NULL)
		crypto_wipe(nc->auth, strlen(nc->auth));
	free(nc->auth);
	free(nc->tags);
	free(nc->body);
	free(nc);
	call->priv = NULL;
}

static int
ntf_nh_prepare(void *ctx, const struct notification *n,
    struct notifier_call *call, struct ag_err *err)
{
	static const char *const fmt_hdr[NH_NFORMATS] = {
		[NH_TEMPLATE] = "ServiceBusNotification-Format: template",
		[NH_FCMV1] = "ServiceBusNotification-Format: FcmV1",
		[NH_GCM] = "ServiceBusNotification-Format: gcm",
		[NH_APPLE] = "ServiceBusNotification-Format: apple",
	};
	struct ntf_nh *s = ctx;
	struct nh_call *nc;
	char tags[NH_TAGS_MAX + 1];
	char *tok;
	size_t k = 0;

	if ((nc = calloc(1, sizeof(*nc))) == NULL)
		return ag_err_set(err, "notification_hubs[%s]: out of memory",
		    s->name);
	call->priv = nc;
	snprintf(nc->id, sizeof(nc->id), "%s", n->id);
	if (s->tags != NULL && nh_tags(s->tags, n, tags, sizeof(tags)) != 0) {
		ntf_nh_release(s, call);
		return ag_err_set(err,
		    "notification_hubs[%s]: the tag expression is too long "
		    "for this notification",
		    s->name);
	}
	tok = azure_sb_sas_token(s->resource, s->key_name, s->key,
	    (int64_t)time(NULL) + NH_SAS_TTL_S);
	if (tok == NULL || asprintf(&nc->auth, "Authorization: %s", tok) < 0 ||
	    (s->tags != NULL &&
		asprintf(&nc->tags, "ServiceBusNotification-Tags: %s", tags) <
		    0) ||
	    (nc->body = nh_payload(s->format, s->payload, n)) == NULL) {
		if (tok != NULL)
			crypto_wipe(tok, strlen(tok));
		free(tok);
		ntf_nh_release(s, call);
		return ag_err_set(err,
		    "notification_hubs[%s]: cannot build the request",
		    s->name);
	}
	crypto_wipe(tok, strlen(tok));
	free(tok);
	nc->hdrs[k++] = nc->auth;
	nc->hdrs[k++] = "Content-Type: application/json;charset=utf-8";
	nc->hdrs[k++] = fmt_hdr[s->format];
	if (nc->tags != NULL)
		nc->hdrs[k++] = nc->tags;
	if (s->format == NH_APPLE) {
		nc->hdrs[k++] = "apns-push-type: alert";
		nc->hdrs[k++] = "apns-priority: 10";
	}
	nc->hdrs[k++] = "User-Agent: vigil/" VIGIL_VERSION;
	nc->hdrs[k] = NULL;

	ntf_http_post(call, &s->hc, s->url, nc->hdrs, nc->body,
	    NH_RESPONSE_MAX);
	return 0;
}

static int
ntf_nh_finish(void *ctx, struct notifier_call *call, long status,
    const char *body, size_t len, struct ag_err *err)
{
	struct ntf_nh *s = ctx;
	struct nh_call *nc = call->priv;
	char what[NH_HUB_MAX + 80];

	if (status >= 200 && status < 300) {
		log_debug("notification_hubs[%s]: sent %s through %s", s->name,
		    nc != NULL ? nc->id : "?", s->hub);
		return 0;
	}
	snprintf(what, sizeof(what), "notification_hubs[%s]: send to %s",
	    s->name, s->hub);
	return nh_classify(what, status, body, len, err);
}

/* The blocking delivery: the same request, performed here. */
static int
ntf_nh_send(void *ctx, const struct notification *n, struct ag_err *err)
{
	struct ntf_nh *s = ctx;

	return ntf_http_send(&ntf_notifhubs_ops, s, &s->hc, n, err);
}

const struct notifier_ops ntf_notifhubs_ops = {
	.type = "notification_hubs",
	.settings = ntf_notifhubs_settings,
	.configure = ntf_nh_configure,
	.send = ntf_nh_send,
	.prepare = ntf_nh_prepare,
	.finish = ntf_nh_finish,
	.release = ntf_nh_release,
	.free = ntf_nh_free,
};
