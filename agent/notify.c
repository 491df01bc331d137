/*
 * notify.c: notifications and notifier instances (see notify.h; the JSON
 * form of a notification is in notify_json.c).
 *
 * Notifier types are lines of the plug-in table (agent/plugins.c); the config
 * names one by "type".  Types that need the heavy libraries ("webhook") live in
 * the heavy module, loaded when such a notifier is configured (plugin_find());
 * in vigild such a notifier is checked in a child and made here at its first
 * delivery (notify_lazy.c), so that the module loads then, in the sender
 * thread.  notifier_new_here() reads the setting every notifier has (name)
 * and leaves the rest to plugin_instance_new(), the constructor sources
 * share: the type, the settings it does not know, its configure hook, which
 * copies whatever it keeps: a notifier never points into the config, so it
 * outlives a reload that frees it.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/ag.h"
#include "lib/parsenum.h"
#include "agent/child.h"
#include "agent/notify.h"
#include "agent/notify_backend.h"
#include "agent/plugin.h"

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

/* The settings every notifier has besides "type": its name. */
static void
notifier_read_common(const conf_node *cs, struct conf_errs *errs, void *arg)
{
	const char **name = arg;

	if (conf_get_str(errs, cs, "name", true, name) == 1 &&
	    !valid_name(*name))
		(void)conf_error_at(errs, cs, "name",
		    "must be 1 to %d "
		    "letters, digits, '-', '_' or '.'",
		    NOTIFIER_NAME_MAX);
}

static const char *const notifier_common_keys[] = { "name", "type", NULL };

static const struct plugin_class notifier_class = {
	.kind = PLUGIN_NOTIFIER,
	.not_group = "a notifier must be a group { name = ...; type = ...; }",
	.common = notifier_common_keys,
	.read_common = notifier_read_common,
};

/* Is ${cs} a notifier of a type in the heavy module?  (Quiet.) */
static bool
heavy_type(const conf_node *cs)
{
	struct conf_errs quiet = { 0 };
	const char *type;
	bool heavy;

	heavy = conf_is_group(cs) &&
	    conf_get_str(&quiet, cs, "type", false, &type) == 1 &&
	    plugin_in_module(PLUGIN_NOTIFIER, type);
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
	const struct plugin_ops *ops;
	const char *name = NULL;
	struct notifier *nf;
	void *ctx;

	/* A missing name is an error, so success means ${name} is set. */
	if (plugin_instance_new(&notifier_class, cs, &name, &ops, &ctx,
		errs) != 0)
		return NULL;
	if ((nf = calloc(1, sizeof(*nf))) == NULL)
		goto err0;
	if ((nf->name = strdup(name)) == NULL)
		goto err1;
	/* ${ops} is the base of the type's struct notifier_ops. */
	nf->ops = (const struct notifier_ops *)ops;
	nf->ctx = ctx;
	return nf;

err1:
	free(nf);
err0:
	(void)conf_error(errs, cs, "out of memory");
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
		return ag_err_set(err,
		    "no such notifier (removed from the "
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
notifier_finish(struct notifier *nf, struct notifier_call *call, long status,
    const char *body, size_t len, struct ag_err *err)
{
	if (err != NULL)
		err->msg[0] = '\0';
	return notifier_outcome(nf,
	    nf->ops->finish(nf->ctx, call, status, body, len, err), err);
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
