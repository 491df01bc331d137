/*
 * ntf_pubsub.c: the "pubsub" notifier publishes each notification to a
 * Google Cloud Pub/Sub topic (projects.topics.publish):
 *
 *	notifiers = ( { name = "pipeline"; type = "pubsub";
 *	    topic = "projects/my-project/topics/alerts"; ordering = true; } );
 *
 * Settings: topic (required: "projects/P/topics/T", or "T" with project),
 * project, ordering (default false), endpoint (default
 * https://pubsub.googleapis.com; http[s]://host[:port] only: a regional
 * endpoint, the emulator, a test fake), auth ("google", the default, or
 * "none": no token, for the Pub/Sub emulator; without an endpoint it is
 * then http://$PUBSUB_EMULATOR_HOST, as Google's client libraries do),
 * credentials_file, token_uri, metadata_host (the credential chain of
 * lib/cloud/gcp/gcp_auth.h: a service-account key file, else
 * $GOOGLE_APPLICATION_CREDENTIALS, else the metadata server; scope
 * https://www.googleapis.com/auth/pubsub), timeout (default 10s),
 * connect_timeout (default 5s), tls_verify (default true), ca_file.
 *
 * A message's data is the base64 of the notification's JSON
 * (docs/WEBHOOK.md), its attributes severity (the state), rule, host,
 * metric, resource (the labels of a cloud metric, when it has some) and id,
 * which subscription filters can select on; with ordering = true its
 * orderingKey is "<rule>/<series>", so that a subscription with message
 * ordering hands "recovered" over after "firing" of the same series.
 *
 * The request is built in prepare(), performed by the sender beside other
 * notifiers' requests, and judged in finish() by pubsub_classify(): 2xx
 * accepted; 401 drops the cached token (the next try fetches a new one);
 * 408, 429, 5xx, UNAVAILABLE and the like, and 403 (the identity lacks
 * pubsub.topics.publish: an IAM fix delivers it) are retried; other
 * refusals (no such topic, a bad request) drop the notification with
 * Google's own message.  The token is cached by gcp_auth_header(): a
 * prepare() that finds none fetches one first (at most the notifier's
 * timeout, 10 s at most, about once an hour), the one time prepare() waits
 * on the network; the token is registered with log_secret_add() and never
 * appears in a message.  send() does all three with a client of its own.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "paths.h"
#include "lib/ag.h"
#include "lib/cloud/gcp/gcp_api.h"
#include "lib/cloud/gcp/gcp_auth.h"
#include "lib/crypto/crypto.h"
#include "lib/http/http.h"
#include "lib/log.h"
#include "lib/utf8.h"
#include "agent/notify.h"
#include "agent/notify_backend.h"
#include "agent/notifiers/net/ntf_http.h"
#include "agent/notifiers/net/ntf_pubsub_internal.h"

#define PUBSUB_ENDPOINT_DEFAULT "https://pubsub.googleapis.com"
#define PUBSUB_SCOPE "https://www.googleapis.com/auth/pubsub"
/* A token request waits at most this long (it happens in prepare()). */
#define PUBSUB_TOKEN_TIMEOUT_MAX_MS 10000
#define PUBSUB_RESPONSE_MAX (64 * 1024)
#define PUBSUB_ENDPOINT_MAX 512

extern const struct notifier_ops ntf_pubsub_ops;

struct ntf_pubsub {
	char *name;
	struct pubsub_topic topic;
	char *url; /* endpoint + /v1/projects/P/topics/T:publish */
	bool ordering;
	struct ntf_http hc; /* timeout, connect_timeout, tls_verify, ca_file */
	struct gcp_auth *auth; /* NULL: auth = "none" */
};

static const char *const ntf_pubsub_settings[] = { "topic", "project",
	"ordering", "endpoint", "auth", "credentials_file", "token_uri",
	"metadata_host", "timeout", "connect_timeout", "tls_verify", "ca_file",
	NULL };

static const char *const auths[] = { "google", "none", NULL };

/* ---- names ---- */

static bool
lower_or_digit(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* A project id: 6 to 30 of a-z 0-9 '-', a letter first, no '-' last;
   a domain-scoped one is "domain:id". */
static bool
project_valid(const char *s)
{
	const char *id = strrchr(s, ':');
	size_t n;

	if (id != NULL) {
		size_t dn = (size_t)(id - s);

		if (dn == 0 ||
		    strspn(s,
			"abcdefghijklmnopqrstuvwxyz"
			"0123456789-.") != dn)
			return false;
		id++;
	} else {
		id = s;
	}
	n = strlen(id);
	if (n < 6 || n > 30 || !(id[0] >= 'a' && id[0] <= 'z') ||
	    id[n - 1] == '-')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!lower_or_digit(id[i]) && id[i] != '-')
			return false;
	return strlen(s) <= PUBSUB_PROJECT_MAX;
}

/* A topic id: 3 to 255 of A-Z a-z 0-9 - _ . ~ + %, a letter first. */
static bool
topic_valid(const char *s)
{
	size_t n = strlen(s);

	if (n < 3 || n > PUBSUB_TOPIC_MAX ||
	    !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z')) ||
	    strncmp(s, "goog", 4) == 0)
		return false;
	return strspn(s,
		   "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		   "0123456789-_.~+%") == n;
}

int
pubsub_topic_parse(const char *topic, const char *project,
    struct pubsub_topic *ret, char *why, size_t whylen)
{
	static const char pre[] = "projects/", mid[] = "/topics/";
	const char *p, *t;

	memset(ret, 0, sizeof(*ret));
	if (strncmp(topic, pre, sizeof(pre) - 1) == 0) {
		p = topic + sizeof(pre) - 1;
		if ((t = strstr(p, mid)) == NULL) {
			snprintf(why, whylen,
			    "must be \"projects/PROJECT/topics/TOPIC\"");
			return -1;
		}
		if ((size_t)(t - p) > PUBSUB_PROJECT_MAX) {
			snprintf(why, whylen, "the project id is too long");
			return -1;
		}
		memcpy(ret->project, p, (size_t)(t - p));
		t += sizeof(mid) - 1;
		if (project != NULL && strcmp(project, ret->project) != 0) {
			snprintf(why, whylen,
			    "names project \"%s\", the setting project "
			    "\"%s\"",
			    ret->project, project);
			return -1;
		}
	} else {
		if (project == NULL) {
			snprintf(why, whylen,
			    "must be \"projects/PROJECT/topics/TOPIC\", or "
			    "the topic id with the setting project");
			return -1;
		}
		if (strlen(project) > PUBSUB_PROJECT_MAX) {
			snprintf(why, whylen, "the project id is too long");
			return -1;
		}
		snprintf(ret->project, sizeof(ret->project), "%s", project);
		t = topic;
	}
	if (!project_valid(ret->project)) {
		snprintf(why, whylen,
		    "\"%s\" is not a project id (6 to 30 of a-z, 0-9 and "
		    "'-', a letter first)",
		    ret->project);
		return -1;
	}
	if (!topic_valid(t)) {
		snprintf(why, whylen,
		    "\"%.*s\" is not a topic id (3 to 255 of letters, digits "
		    "and - _ . ~ + %%, a letter first, not \"goog...\")",
		    60, t);
		return -1;
	}
	snprintf(ret->topic, sizeof(ret->topic), "%s", t);
	return 0;
}

/* ---- the message ---- */

/*
 * ${s} as valid UTF-8 (a byte that starts no well-formed sequence becomes
 * '?'), at most ${max} bytes, cut on a character boundary, into a new
 * JSON string.
 */
static json_t *
clean_string(const char *s, size_t max)
{
	char out[METRIC_NAME_MAX * 2 + 1];
	const unsigned char *p = (const unsigned char *)s;
	size_t k = 0, n;
	uint32_t cp;

	if (max > sizeof(out) - 1)
		max = sizeof(out) - 1;
	while (*p != '\0') {
		if ((n = utf8_seq(p, &cp)) == 0) {
			if (k + 1 > max)
				break;
			out[k++] = '?';
			p++;
			continue;
		}
		if (k + n > max)
			break;
		memcpy(out + k, p, n);
		k += n;
		p += n;
	}
	out[k] = '\0';
	return json_string(out);
}

/* The labels of a cloud metric ("cw.cpu{InstanceId=i-1}"): "InstanceId=i-1". */
static void
resource_of(const struct notification *n, char *out, size_t len)
{
	size_t base = metric_base_len(n->metric), all = strlen(n->metric);

	if (n->metric[base] == '{' && all > base + 2 &&
	    n->metric[all - 1] == '}')
		snprintf(out, len, "%.*s", (int)(all - base - 2),
		    n->metric + base + 1);
	else
		snprintf(out, len, "%s", "");
}

/* The longest rule and series fit in an ordering key. */
_Static_assert(sizeof(((struct notification *)0)->rule) +
	    sizeof(((struct notification *)0)->metric) <=
	PUBSUB_ORDERING_KEY_MAX,
    "an ordering key may not fit");

void
pubsub_ordering_key(const struct notification *n,
    char out[PUBSUB_ORDERING_KEY_MAX + 1])
{
	snprintf(out, PUBSUB_ORDERING_KEY_MAX + 1, "%s/%s", n->rule,
	    n->metric);
}

char *
pubsub_publish_body(const struct notification *n, bool ordering)
{
	char resource[METRIC_NAME_MAX], key[PUBSUB_ORDERING_KEY_MAX + 1];
	char *js = notification_to_json(n), *b64 = NULL, *s = NULL;
	json_t *root = NULL, *msg, *attrs, *msgs;
	size_t len, b64len;
	int bad = 0;

	if (js == NULL)
		return NULL;
	len = strlen(js);
	b64len = 4 * ((len + 2) / 3) + 1;
	if ((b64 = malloc(b64len)) == NULL ||
	    crypto_base64((const uint8_t *)js, len, b64, b64len) < 0)
		goto out;
	root = json_object();
	msgs = json_array();
	msg = json_object();
	attrs = json_object();
	bad |= json_object_set_new(root, "messages", msgs);
	bad |= json_array_append_new(msgs, msg);
	bad |= json_object_set_new(msg, "data", json_string(b64));
	bad |= json_object_set_new(msg, "attributes", attrs);
	bad |= json_object_set_new(attrs, "severity",
	    json_string(alert_state_name(n->state)));
	bad |= json_object_set_new(attrs, "rule",
	    clean_string(n->rule, PUBSUB_ATTR_VALUE_MAX));
	if (n->host[0] != '\0')
		bad |= json_object_set_new(attrs, "host",
		    clean_string(n->host, PUBSUB_ATTR_VALUE_MAX));
	bad |= json_object_set_new(attrs, "metric",
	    clean_string(n->metric, PUBSUB_ATTR_VALUE_MAX));
	resource_of(n, resource, sizeof(resource));
	if (resource[0] != '\0')
		bad |= json_object_set_new(attrs, "resource",
		    clean_string(resource, PUBSUB_ATTR_VALUE_MAX));
	bad |= json_object_set_new(attrs, "id", json_string(n->id));
	if (ordering) {
		pubsub_ordering_key(n, key);
		bad |= json_object_set_new(msg, "orderingKey",
		    clean_string(key, PUBSUB_ORDERING_KEY_MAX));
	}
	if (bad == 0)
		s = json_dumps(root, JSON_COMPACT);
out:
	json_decref(root);
	free(b64);
	free(js);
	return s;
}

/* ---- answers ---- */

int
pubsub_message_id(const char *body, size_t len, char *out, size_t size)
{
	json_t *root, *id;
	int rc = -1;

	if (body == NULL || (root = json_loadb(body, len, 0, NULL)) == NULL)
		return -1;
	id = json_array_get(json_object_get(root, "messageIds"), 0);
	if (json_is_string(id)) {
		snprintf(out, size, "%s", json_string_value(id));
		rc = 0;
	}
	json_decref(root);
	return rc;
}

/* gRPC statuses that pass by themselves. */
static const char *const transient[] = { "UNAVAILABLE", "RESOURCE_EXHAUSTED",
	"ABORTED", "DEADLINE_EXCEEDED", "INTERNAL", "rateLimitExceeded",
	"backendError", NULL };

int
pubsub_classify(const char *what, long status, const char *body, size_t len,
    struct ag_err *err)
{
	struct gcp_api_error ge;
	const char *fix = NULL;
	int retry, found;

	if (status >= 200 && status < 300)
		return 0;
	found = gcp_api_error_parse(status, body, len, &ge) == 0;
	retry = http_status_class(status) == AG_RETRY;
	for (size_t i = 0; transient[i] != NULL; i++)
		if (strcmp(ge.reason, transient[i]) == 0)
			retry = 1;
	if (status == 401) {
		fix = "the token was refused: a new one is fetched";
		retry = 1;
	} else if (status == 403) {
		fix = "the identity may not publish to the topic: grant it "
		      "roles/pubsub.publisher on the topic or project";
		retry = 1;
	} else if (status == 404) {
		fix = "no such topic: fix topic (and project)";
	}
	if (!found && body != NULL && len > 0) {
		/* Not Google's JSON: the start of whatever came, on one line. */
		size_t k = 0;

		for (size_t i = 0; i < len && k + 1 < 80; i++)
			ge.message[k++] = (unsigned char)body[i] < 0x20 ?
			    ' ' :
			    body[i];
		ge.message[k] = '\0';
	}
	(void)ag_err_set(err, "%s: HTTP %ld%s%s%s%s%s%s", what, status,
	    ge.reason[0] != '\0' ? " " : "", ge.reason,
	    fix != NULL ? ": " : "", fix != NULL ? fix : "",
	    ge.message[0] == '\0' ? "" :
		fix != NULL	  ? ". Pub/Sub says: " :
				    ": ",
	    ge.message);
	return retry ? AG_RETRY : -1;
}

/* ---- configuration ---- */

static void
ntf_pubsub_free(void *ctx)
{
	struct ntf_pubsub *s = ctx;

	if (s == NULL)
		return;
	gcp_auth_free(s->auth);
	free(s->name);
	free(s->url);
	ntf_http_free(&s->hc);
	free(s);
}

/* The endpoint of ${ep} (NULL: of auth none's PUBSUB_EMULATOR_HOST) into
   a new string without trailing '/'; NULL with an error recorded. */
static char *
endpoint_of(const char *ep, bool none, const conf_node *cs,
    struct conf_errs *errs)
{
	const char *emu = getenv("PUBSUB_EMULATOR_HOST");
	char *e = NULL;
	size_t len;

	if (ep == NULL && none) {
		if (emu == NULL || emu[0] == '\0') {
			(void)conf_error_at(errs, cs, "auth",
			    "\"none\" (the emulator) needs an endpoint, or "
			    "PUBSUB_EMULATOR_HOST in the environment");
			return NULL;
		}
		if (asprintf(&e, "http://%s", emu) < 0) {
			(void)conf_error(errs, cs, "out of memory");
			return NULL;
		}
		if (!http_endpoint_valid(e)) {
			(void)conf_error_at(errs, cs, "auth",
			    "PUBSUB_EMULATOR_HOST must be host:port");
			free(e);
			return NULL;
		}
		return e;
	}
	if (ep == NULL)
		ep = PUBSUB_ENDPOINT_DEFAULT;
	len = strlen(ep);
	while (len > 0 && ep[len - 1] == '/')
		len--;
	if ((e = strndup(ep, len)) == NULL) {
		(void)conf_error(errs, cs, "out of memory");
		return NULL;
	}
	if (len > PUBSUB_ENDPOINT_MAX || !http_endpoint_valid(e)) {
		(void)conf_error_at(errs, cs, "endpoint",
		    "must be http://host[:port] or https://host[:port]");
		free(e);
		return NULL;
	}
	return e;
}

static int
ntf_pubsub_configure(void **ret_ctx, const conf_node *cs,
    struct conf_errs *errs)
{
	struct conf_errs scratch = { 0 };
	struct ntf_pubsub *s;
	const char *topic = NULL, *project = NULL, *ep = NULL;
	const char *cred = NULL, *turi = NULL, *meta = NULL, *name = NULL;
	char why[256], *endpoint = NULL, *tenc = NULL;
	size_t nerr = errs->n;
	int bad = 0, ix = 0;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return conf_error(errs, cs, "out of memory");
	/* notifier_new() has reported a bad name already. */
	(void)conf_get_str(&scratch, cs, "name", false, &name);
	conf_errs_free(&scratch);
	if ((s->name = strdup(name != NULL ? name : "pubsub")) == NULL)
		goto oom;

	if (conf_get_str(errs, cs, "topic", true, &topic) != 1 ||
	    conf_get_str(errs, cs, "project", false, &project) == -1)
		bad = -1;
	else if (pubsub_topic_parse(topic, project, &s->topic, why,
		     sizeof(why)) != 0)
		bad = conf_error_at(errs, cs, "topic", "%s", why);
	if (conf_get_bool(errs, cs, "ordering", false, &s->ordering) == -1 ||
	    conf_get_enum(errs, cs, "auth", false, auths, &ix) == -1 ||
	    conf_get_str(errs, cs, "endpoint", false, &ep) == -1 ||
	    conf_get_str(errs, cs, "credentials_file", false, &cred) == -1 ||
	    conf_get_str(errs, cs, "token_uri", false, &turi) == -1 ||
	    conf_get_str(errs, cs, "metadata_host", false, &meta) == -1)
		bad = -1;
	else if ((endpoint = endpoint_of(ep, ix == 1, cs, errs)) == NULL)
		bad = -1;
	if (ix == 1 && (cred != NULL || turi != NULL || meta != NULL))
		bad = conf_error_at(errs, cs, "auth",
		    "\"none\" takes no credentials_file, token_uri or "
		    "metadata_host");
	if (ntf_http_configure(&s->hc, cs, errs, 10000, 5000) != 0)
		bad = -1;
	if (bad != 0 || errs->n > nerr) {
		free(endpoint);
		ntf_pubsub_free(s);
		return -1;
	}
	if ((tenc = http_urlencode(s->topic.topic, strlen(s->topic.topic))) ==
		NULL ||
	    asprintf(&s->url, "%s/v1/projects/%s/topics/%s:publish", endpoint,
		s->topic.project, tenc) < 0) {
		s->url = NULL;
		goto oom;
	}
	free(tenc);
	tenc = NULL;
	free(endpoint);
	endpoint = NULL;
	if (ix == 0) {
		struct gcp_auth_conf ac = { .credentials_file = cred,
			.token_uri = turi,
			.metadata_host = meta,
			.scope = PUBSUB_SCOPE,
			.timeout_ms = s->hc.timeout_ms <
				PUBSUB_TOKEN_TIMEOUT_MAX_MS ?
			    (long)s->hc.timeout_ms :
			    PUBSUB_TOKEN_TIMEOUT_MAX_MS };
		struct ag_err e;

		if (gcp_auth_new(&ac, &s->auth, &e) != 0) {
			(void)conf_error(errs, cs, "%s", e.msg);
			ntf_pubsub_free(s);
			return -1;
		}
	}
	*ret_ctx = s;
	return 0;
oom:
	free(tenc);
	free(endpoint);
	ntf_pubsub_free(s);
	return conf_error(errs, cs, "out of memory");
}

/* ---- delivery ---- */

/* What one request points to, from prepare to release. */
struct pubsub_call {
	const char *hdrs[5];
	char auth[GCP_TOKEN_MAX + 32];
	char id[sizeof(((struct notification *)0)->id)];
	char *body;
};

static void
ntf_pubsub_release(void *ctx, struct notifier_call *call)
{
	struct pubsub_call *pc = call->priv;

	(void)ctx;
	if (pc == NULL)
		return;
	crypto_wipe(pc->auth, sizeof(pc->auth));
	free(pc->body);
	free(pc);
	call->priv = NULL;
}

static int
ntf_pubsub_prepare(void *ctx, const struct notification *n,
    struct notifier_call *call, struct ag_err *err)
{
	struct ntf_pubsub *s = ctx;
	struct pubsub_call *pc;
	struct ag_err e;
	size_t k = 0;

	if ((pc = calloc(1, sizeof(*pc))) == NULL)
		return ag_err_set(err, "pubsub[%s]: out of memory", s->name);
	call->priv = pc;
	snprintf(pc->id, sizeof(pc->id), "%s", n->id);
	/* No token: kept queued, as a refused one, until it comes. */
	if (s->auth != NULL &&
	    gcp_auth_header(s->auth, time(NULL), pc->auth, sizeof(pc->auth),
		&e) != 0) {
		ntf_pubsub_release(s, call);
		(void)ag_err_set(err, "pubsub[%s]: no token: %s", s->name,
		    e.msg);
		return AG_RETRY;
	}
	if ((pc->body = pubsub_publish_body(n, s->ordering)) == NULL) {
		ntf_pubsub_release(s, call);
		return ag_err_set(err, "pubsub[%s]: cannot build the message",
		    s->name);
	}
	if (s->auth != NULL)
		pc->hdrs[k++] = pc->auth;
	pc->hdrs[k++] = "Content-Type: application/json";
	pc->hdrs[k++] = "Accept: application/json";
	pc->hdrs[k++] = "User-Agent: vigil/" VIGIL_VERSION;
	pc->hdrs[k] = NULL;

	ntf_http_post(call, &s->hc, s->url, pc->hdrs, pc->body,
	    PUBSUB_RESPONSE_MAX);
	return 0;
}

static int
ntf_pubsub_finish(void *ctx, struct notifier_call *call, long status,
    const char *body, size_t len, struct ag_err *err)
{
	struct ntf_pubsub *s = ctx;
	struct pubsub_call *pc = call->priv;
	char what[PUBSUB_TOPIC_MAX + 64], mid[128];

	if (status >= 200 && status < 300) {
		if (pubsub_message_id(body, len, mid, sizeof(mid)) != 0)
			snprintf(mid, sizeof(mid), "(no message id)");
		log_debug("pubsub[%s]: published %s to %s as %s", s->name,
		    pc != NULL ? pc->id : "?", s->topic.topic, mid);
		return 0;
	}
	if (status == 401 && s->auth != NULL)
		gcp_auth_invalidate(s->auth);
	snprintf(what, sizeof(what), "pubsub[%s]: publish to %s", s->name,
	    s->topic.topic);
	return pubsub_classify(what, status, body, len, err);
}

/* The blocking delivery: the same request, performed here. */
static int
ntf_pubsub_send(void *ctx, const struct notification *n, struct ag_err *err)
{
	struct ntf_pubsub *s = ctx;

	return ntf_http_send(&ntf_pubsub_ops, s, &s->hc, n, err);
}

const struct notifier_ops ntf_pubsub_ops = {
	.type = "pubsub",
	.settings = ntf_pubsub_settings,
	.configure = ntf_pubsub_configure,
	.send = ntf_pubsub_send,
	.prepare = ntf_pubsub_prepare,
	.finish = ntf_pubsub_finish,
	.release = ntf_pubsub_release,
	.free = ntf_pubsub_free,
};
