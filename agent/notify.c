/*
 * notify.c: notifications and the registry of notifier types (see notify.h).
 *
 * Notifier types are compiled in and listed in a static table; the config
 * names one by "type".  Types that need the heavy libraries ("webhook")
 * live in the heavy module (heavy.h), loaded when such a notifier is
 * configured.  notifier_new() reads the settings every notifier has
 * (name, type), refuses settings the type does not know, and hands the group
 * to the type's configure hook, which copies whatever it keeps: a notifier
 * never points into the config, so it outlives a reload that frees it.
 *
 * A notification travels as JSON (docs/WEBHOOK.md): the webhook "json"
 * format sends it, and the spool stores it.  notification_from_json() is
 * strict about types, lengths and names, so a damaged spool file or a
 * hostile document is refused rather than half-read.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "lib/ag.h"
#include "lib/clock.h"
#include "lib/jfield.h"
#include "lib/parsenum.h"
#include "agent/heavy.h"
#include "agent/notify.h"
#include "agent/notify_backend.h"

/*
 * The registry.  A type's ops come from a function so that a type living in
 * the heavy module ("webhook": libcurl, OpenSSL) is loaded only when a
 * notifier of that type is configured; its ops then stay valid for good.
 */
struct notifier_type {
	const char *type;
	const struct notifier_ops *(*ops)(struct ag_err *err);
};

static const struct notifier_ops *
log_type_ops(struct ag_err *err)
{
	(void)err;
	return &ntf_log_ops;
}

static const struct notifier_ops *
webhook_type_ops(struct ag_err *err)
{
	const struct heavy_api *h = heavy_get(err);

	return h != NULL ? h->webhook : NULL;
}

static const struct notifier_type notifier_types[] = {
	{ "log", log_type_ops },
	{ "webhook", webhook_type_ops },
};

/* Longest notifier name: it must fit struct spool_entry.notifier. */
#define NOTIFIER_NAME_MAX 63

/* Largest JSON document notification_from_json() reads. */
#define NOTIFICATION_JSON_MAX (64 * 1024)

/* The version of the JSON schema this code writes and reads. */
#define NOTIFICATION_JSON_VERSION 1

static const char *const state_names[] = {
	[ST_OK] = "OK",
	[ST_WARNING] = "WARNING",
	[ST_CRITICAL] = "CRITICAL",
	[ST_UNKNOWN] = "UNKNOWN",
};

static const char *const kind_names[] = {
	[NK_CHANGE] = "change",
	[NK_REMINDER] = "reminder",
};

static const char *const op_names[] = { ">", ">=", "<", "<=", "==", "!=" };

const char *
alert_state_name(enum alert_state s)
{
	if ((unsigned)s >= ARRAY_SIZE(state_names))
		return "UNKNOWN";
	return state_names[s];
}

int
alert_state_parse(const char *s, enum alert_state *ret)
{
	for (size_t i = 0; i < ARRAY_SIZE(state_names); i++) {
		if (strcasecmp(s, state_names[i]) == 0) {
			*ret = (enum alert_state)i;
			return 0;
		}
	}
	return -1;
}

/* A number for people: "97.2", "123456789", "1.5e-07". */
static const char *
fmt_num(double v, char *buf, size_t len)
{
	snprintf(buf, len, "%.10g", v);
	return buf;
}

void
notification_summary(const struct notification *n, char *buf, size_t len)
{
	char head[64], val[32], thr[32], dur[32];
	size_t off;
	int k;

	if (len == 0)
		return;
	if (n->state == ST_OK && n->prev_state != ST_OK) {
		snprintf(head, sizeof(head), "RECOVERED");
	} else if (n->kind == NK_REMINDER) {
		format_duration(n->ts_ms - n->since_ms, dur, sizeof(dur));
		snprintf(head, sizeof(head), "%s (reminder, for %s)",
		    alert_state_name(n->state), dur);
	} else {
		snprintf(head, sizeof(head), "%s", alert_state_name(n->state));
	}
	k = snprintf(buf, len, "%s: %s on %s: %s", head, n->rule, n->host,
	    n->metric);
	if (k < 0 || (size_t)k >= len)
		return;
	off = (size_t)k;
	if (n->has_value)
		k = snprintf(buf + off, len - off, " = %s",
		    fmt_num(n->value, val, sizeof(val)));
	else
		k = snprintf(buf + off, len - off, ": no data");
	if (k < 0 || (size_t)k >= len - off)
		return;
	off += (size_t)k;
	if (n->state == ST_OK && n->prev_state != ST_OK)
		(void)snprintf(buf + off, len - off, " (was %s)",
		    alert_state_name(n->prev_state));
	else if (n->has_threshold && n->state != ST_OK)
		(void)snprintf(buf + off, len - off, " (%s %s)", n->op,
		    fmt_num(n->threshold, thr, sizeof(thr)));
}

/*
 * Copy ${s} into ${out} (${len} bytes) replacing every byte that is not part
 * of a well-formed UTF-8 sequence by '?', so that jansson accepts it.
 */
static void
utf8_clean(const char *s, char *out, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t o = 0;

	while (*p != '\0' && o + 1 < len) {
		size_t need, i;
		unsigned c = *p;
		uint32_t cp;

		if (c < 0x80) {
			out[o++] = (char)*p++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			need = 1, cp = c & 0x1f;
		else if (c >= 0xe0 && c <= 0xef)
			need = 2, cp = c & 0x0f;
		else if (c >= 0xf0 && c <= 0xf4)
			need = 3, cp = c & 0x07;
		else
			need = 0, cp = 0;
		for (i = 1; need > 0 && i <= need; i++) {
			if ((p[i] & 0xc0) != 0x80)
				break;
			cp = (cp << 6) | (p[i] & 0x3f);
		}
		if (need == 0 || i <= need ||
		    (need == 2 && (cp < 0x800 || (cp >= 0xd800 &&
		    cp <= 0xdfff))) || (need == 3 && (cp < 0x10000 ||
		    cp > 0x10ffff)) || o + need + 1 >= len) {
			out[o++] = '?';
			p++;
			continue;
		}
		memcpy(out + o, p, need + 1);
		o += need + 1;
		p += need + 1;
	}
	out[o] = '\0';
}

/* Add string member ${key} = ${s} (made valid UTF-8) to ${o}. */
static int
set_str(json_t *o, const char *key, const char *s)
{
	char clean[1024];

	utf8_clean(s, clean, sizeof(clean));
	return json_object_set_new(o, key, json_string(clean));
}

static int
set_num(json_t *o, const char *key, bool has, double v)
{
	if (!has || !isfinite(v))
		return json_object_set_new(o, key, json_null());
	return json_object_set_new(o, key, json_real(v));
}

static int
set_time(json_t *o, const char *key, int64_t ms)
{
	char buf[40];

	clock_rfc3339(ms, buf, sizeof(buf));
	return json_object_set_new(o, key, json_string(buf));
}

char *
notification_to_json(const struct notification *n)
{
	char summary[512];
	json_t *o;
	char *s;
	int bad = 0;

	if ((o = json_object()) == NULL)
		return NULL;
	notification_summary(n, summary, sizeof(summary));
	bad |= json_object_set_new(o, "version",
	    json_integer(NOTIFICATION_JSON_VERSION));
	bad |= set_str(o, "id", n->id);
	bad |= set_str(o, "host", n->host);
	bad |= set_str(o, "rule", n->rule);
	bad |= set_str(o, "metric", n->metric);
	bad |= set_str(o, "state", alert_state_name(n->state));
	bad |= set_str(o, "previous_state", alert_state_name(n->prev_state));
	bad |= set_str(o, "kind", (unsigned)n->kind < ARRAY_SIZE(kind_names) ?
	    kind_names[n->kind] : "change");
	bad |= set_num(o, "value", n->has_value, n->value);
	bad |= set_num(o, "threshold", n->has_threshold, n->threshold);
	bad |= set_str(o, "op", n->op);
	bad |= set_time(o, "timestamp", n->ts_ms);
	bad |= set_time(o, "since", n->since_ms);
	bad |= json_object_set_new(o, "repeat_ms", json_integer(n->repeat_ms));
	bad |= set_str(o, "summary", summary);
	s = bad ? NULL : json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(15));
	json_decref(o);
	return s;
}

/* Copy string member ${key} of ${o} into ${buf}; it must fit.  0 or -1. */
static int
get_str(json_t *o, const char *key, char *buf, size_t len)
{
	return jfield_str(o, key, JF_REQUIRED, buf, len, NULL);
}

static int
get_time(json_t *o, const char *key, int64_t *ret)
{
	char buf[64];

	int64_t ms;

	/* Notifications are made by a clock after 1970. */
	if (get_str(o, key, buf, sizeof(buf)) != 0 ||
	    clock_parse_rfc3339(buf, &ms) != 0 || ms < 0)
		return -1;
	*ret = ms;
	return 0;
}

int
notification_from_json(const char *s, struct notification *ret)
{
	struct notification n;
	char buf[32];
	json_t *o, *v;
	uint64_t u;
	size_t len;
	int found = 0;

	if (s == NULL || (len = strlen(s)) > NOTIFICATION_JSON_MAX)
		return -1;
	if ((o = json_loadb(s, len, JSON_REJECT_DUPLICATES, NULL)) == NULL)
		return -1;
	memset(&n, 0, sizeof(n));
	if (!json_is_object(o))
		goto bad;
	v = json_object_get(o, "version");
	if (!json_is_integer(v) ||
	    json_integer_value(v) != NOTIFICATION_JSON_VERSION)
		goto bad;
	if (get_str(o, "id", n.id, sizeof(n.id)) != 0 || n.id[0] == '\0' ||
	    get_str(o, "host", n.host, sizeof(n.host)) != 0 ||
	    get_str(o, "rule", n.rule, sizeof(n.rule)) != 0 ||
	    get_str(o, "metric", n.metric, sizeof(n.metric)) != 0)
		goto bad;
	if (get_str(o, "state", buf, sizeof(buf)) != 0 ||
	    alert_state_parse(buf, &n.state) != 0 ||
	    get_str(o, "previous_state", buf, sizeof(buf)) != 0 ||
	    alert_state_parse(buf, &n.prev_state) != 0)
		goto bad;
	if (get_str(o, "kind", buf, sizeof(buf)) != 0)
		goto bad;
	for (size_t i = 0; i < ARRAY_SIZE(kind_names); i++) {
		if (strcmp(buf, kind_names[i]) == 0) {
			n.kind = (enum notify_kind)i;
			found = 1;
		}
	}
	if (!found)
		goto bad;
	if (jfield_num(o, "value", JF_REQUIRED, &n.has_value, &n.value,
	    NULL) != 0 || jfield_num(o, "threshold", JF_REQUIRED,
	    &n.has_threshold, &n.threshold, NULL) != 0)
		goto bad;
	/* The operator is one of ours, or empty (no-data notifications). */
	if (get_str(o, "op", n.op, sizeof(n.op)) != 0)
		goto bad;
	found = n.op[0] == '\0';
	for (size_t i = 0; i < ARRAY_SIZE(op_names) && !found; i++)
		found = strcmp(n.op, op_names[i]) == 0;
	if (!found)
		goto bad;
	if (get_time(o, "timestamp", &n.ts_ms) != 0 ||
	    get_time(o, "since", &n.since_ms) != 0)
		goto bad;
	/* Optional, so that documents of other writers are read too. */
	if (jfield_u64(o, "repeat_ms", 0, &u, NULL) != 0)
		goto bad;
	n.repeat_ms = (int64_t)u;
	json_decref(o);
	*ret = n;
	return 0;
bad:
	json_decref(o);
	return -1;
}

static const struct notifier_type *
notifier_find_type(const char *type)
{
	for (size_t i = 0; i < ARRAY_SIZE(notifier_types); i++)
		if (strcmp(notifier_types[i].type, type) == 0)
			return &notifier_types[i];
	return NULL;
}

/* "log, webhook" for error messages. */
static const char *
notifier_type_list(char *buf, size_t len)
{
	size_t off = 0;
	int n;

	buf[0] = '\0';
	for (size_t i = 0; i < ARRAY_SIZE(notifier_types); i++) {
		n = snprintf(buf + off, len - off, "%s%s", i > 0 ? ", " : "",
		    notifier_types[i].type);
		if (n < 0 || (size_t)n >= len - off)
			break;
		off += (size_t)n;
	}
	return buf;
}

/* Names appear in logs, spool files and status: keep them plain. */
static int
valid_name(const char *s)
{
	if (s[0] == '\0' || strlen(s) > NOTIFIER_NAME_MAX)
		return 0;
	for (; *s != '\0'; s++) {
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || *s == '-' || *s == '_' ||
		    *s == '.'))
			return 0;
	}
	return 1;
}

struct notifier *
notifier_new(const conf_node *cs, struct conf_errs *errs)
{
	static const char *const common_keys[] = { "name", "type", NULL };
	const struct notifier_type *nt;
	const struct notifier_ops *ops;
	const char *type = NULL, *name = NULL;
	char types[256];
	struct notifier *nf;
	struct ag_err err = { "" };
	size_t nerr = errs->n;
	void *ctx = NULL;

	if (!conf_is_group(cs)) {
		(void)conf_error(errs, cs, "a notifier must be a group "
		    "{ name = ...; type = ...; }");
		return NULL;
	}
	if (conf_get_str(errs, cs, "name", true, &name) == 1 &&
	    !valid_name(name))
		(void)conf_error_at(errs, cs, "name", "must be 1 to %d "
		    "letters, digits, '-', '_' or '.'", NOTIFIER_NAME_MAX);
	if (conf_get_str(errs, cs, "type", true, &type) != 1)
		return NULL;
	if ((nt = notifier_find_type(type)) == NULL) {
		(void)conf_error_at(errs, cs, "type", "unknown notifier type "
		    "\"%s\" (known: %s)", type,
		    notifier_type_list(types, sizeof(types)));
		return NULL;
	}
	if ((ops = nt->ops(&err)) == NULL) {
		(void)conf_error_at(errs, cs, "type", "%s notifiers need %s",
		    type, err.msg);
		return NULL;
	}

	(void)conf_check_keys2(errs, cs, common_keys, ops->settings);

	if (ops->configure(&ctx, cs, errs) == -1 || errs->n > nerr ||
	    name == NULL)
		goto err0;

	if ((nf = calloc(1, sizeof(*nf))) == NULL)
		goto err1;
	if ((nf->name = strdup(name)) == NULL)
		goto err2;
	nf->ops = ops;
	nf->ctx = ctx;
	return nf;

err2:
	free(nf);
err1:
	(void)conf_error(errs, cs, "out of memory");
err0:
	if (ctx != NULL)
		ops->free(ctx);
	return NULL;
}

/* The outcome ${rc} of a delivery step, with a message if it failed. */
static int
notifier_outcome(struct notifier *nf, int rc, struct ag_err *err)
{
	if (rc == 0 || rc == AG_RETRY)
		return rc;
	if (err != NULL && err->msg[0] == '\0')
		(void)ag_err_set(err, "%s: failed", nf->ops->type);
	return -1;
}

int
notifier_send(struct notifier *nf, const struct notification *n,
    struct ag_err *err)
{
	int rc;

	if (err != NULL)
		err->msg[0] = '\0';
	/* The scheduler may hold entries for a notifier a reload removed. */
	if (nf == NULL)
		return ag_err_set(err, "no such notifier (removed from the "
		    "configuration?)");
	rc = nf->ops->send(nf->ctx, n, err);
	return notifier_outcome(nf, rc, err);
}

bool
notifier_has_request(const struct notifier *nf)
{
	return nf != NULL && nf->ops->prepare != NULL;
}

int
notifier_prepare(struct notifier *nf, const struct notification *n,
    struct notifier_call *call, struct ag_err *err)
{
	if (err != NULL)
		err->msg[0] = '\0';
	memset(call, 0, sizeof(*call));
	if (!notifier_has_request(nf))
		return ag_err_set(err, "this notifier sends no requests");
	return notifier_outcome(nf, nf->ops->prepare(nf->ctx, n, call, err),
	    err);
}

int
notifier_finish(struct notifier *nf, struct notifier_call *call,
    long status, const char *body, size_t len, struct ag_err *err)
{
	if (err != NULL)
		err->msg[0] = '\0';
	return notifier_outcome(nf, nf->ops->finish(nf->ctx, call, status,
	    body, len, err), err);
}

void
notifier_release(struct notifier *nf, struct notifier_call *call)
{
	if (nf->ops->release != NULL)
		nf->ops->release(nf->ctx, call);
	memset(call, 0, sizeof(*call));
}

void
notifier_free(struct notifier *nf)
{
	if (nf == NULL)
		return;
	if (nf->ctx != NULL)
		nf->ops->free(nf->ctx);
	free(nf->name);
	free(nf);
}
