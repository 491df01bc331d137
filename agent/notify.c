/*
 * notify.c: notifications and the registry of notifier types (see notify.h;
 * the JSON form of a notification is in notify_json.c).
 *
 * Notifier types are compiled in and listed in a static table; the config
 * names one by "type".  Types that need the heavy libraries ("webhook")
 * live in the heavy module (heavy.h), loaded when such a notifier is
 * configured; in vigild such a notifier is checked in a child and made
 * here at its first delivery (notify_lazy.c), so that the module loads
 * then, in the sender thread.  notifier_new() reads the settings every notifier has
 * (name, type), refuses settings the type does not know, and hands the group
 * to the type's configure hook, which copies whatever it keeps: a notifier
 * never points into the config, so it outlives a reload that frees it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/ag.h"
#include "lib/parsenum.h"
#include "agent/child.h"
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
	bool heavy;			/* lives in the heavy module */
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
	{ "log", log_type_ops, false },
	{ "webhook", webhook_type_ops, true },
};

/* Longest notifier name: it must fit struct spool_entry.notifier. */
#define NOTIFIER_NAME_MAX 63

static const char *const state_names[] = {
	[ST_OK] = "OK",
	[ST_WARNING] = "WARNING",
	[ST_CRITICAL] = "CRITICAL",
	[ST_UNKNOWN] = "UNKNOWN",
};

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

/* Is ${cs} a notifier of a type in the heavy module?  (Quiet.) */
static bool
heavy_type(const conf_node *cs)
{
	struct conf_errs quiet = { 0 };
	const struct notifier_type *nt;
	const char *type;
	bool heavy;

	heavy = conf_is_group(cs) && conf_get_str(&quiet, cs, "type", false,
	    &type) == 1 && (nt = notifier_find_type(type)) != NULL &&
	    nt->heavy;
	conf_errs_free(&quiet);
	return heavy;
}

struct notifier *
notifier_new(const conf_node *cs, struct conf_errs *errs)
{
	if (child_isolate() && heavy_type(cs))
		return notifier_lazy_new(cs, errs);
	return notifier_new_here(cs, errs);
}

struct notifier *
notifier_new_here(const conf_node *cs, struct conf_errs *errs)
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
