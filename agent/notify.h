/*
 * notify.h: notifications and notifiers, for callers.
 *
 * The rules engine produces a struct notification on a change of state or a
 * reminder.  The scheduler writes it to the durable spool once per notifier
 * named by the rule; the sender thread hands spooled entries to
 * notifier_send() and removes them once a receiver accepted them.
 * A notifier type ("log", "webhook", later "sns") is a const ops table in
 * agent/notifiers/ntf_<name>.c (agent/notifiers/net/ if it speaks HTTP),
 * one line of the plug-in table, agent/plugins.c.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef VIGIL_NOTIFY_H
#define VIGIL_NOTIFY_H

#include <stdbool.h>
#include <stdint.h>

#include "agent/metric.h"
#include "conf/conf.h"
#include "lib/ag.h"
#include "lib/http/http.h"

enum alert_state {
	ST_OK = 0,
	ST_WARNING,
	ST_CRITICAL,
	ST_UNKNOWN,
};

enum notify_kind {
	NK_CHANGE = 0, /* the state changed (firing or recovered) */
	NK_REMINDER,   /* still not OK after "repeat" */
};

struct notification {
	char id[40]; /* unique: "<ms>-<rule hash>-<rand>" */
	char host[128];
	char rule[128];
	char metric[METRIC_NAME_MAX];
	char op[4]; /* ">", ">=", "<", "<=", "==", "!=" */
	enum alert_state state, prev_state;
	enum notify_kind kind;
	bool has_value;
	double value; /* last reading */
	bool has_threshold;
	double threshold;  /* the level crossed (or cleared) */
	int64_t ts_ms;	   /* when this notification was made */
	int64_t since_ms;  /* when the current state began */
	int64_t repeat_ms; /* the rule's reminder interval, 0: none */
};

/* Room for notification_summary(), the longest metric name included. */
#define NOTIFICATION_SUMMARY_MAX (METRIC_NAME_MAX + 512)

const char *alert_state_name(enum alert_state s); /* "OK", ... */
/* alert_state_parse(s, ret): inverse of alert_state_name, any case. */
int alert_state_parse(const char *s, enum alert_state *ret);

/**
 * notification_summary(n, buf, len):
 * One line for people: "CRITICAL: cpu-high on web1: cpu.used_pct = 97.2
 * (> 95)" or "RECOVERED: ...".
 */
void notification_summary(const struct notification *n, char *buf, size_t len);

/*
 * notification_to_json(n) / notification_from_json(s, ret):
 * The documented JSON schema (docs/WEBHOOK.md), used for the webhook "json"
 * format and the spool.  to_json returns a malloc'd string or NULL; from_json
 * returns 0 or -1.
 */
char *notification_to_json(const struct notification *n);
int notification_from_json(const char *s, struct notification *ret);

struct notifier_ops;

struct notifier {
	const struct notifier_ops *ops;
	void *ctx;
	char *name;
};

/**
 * notifier_new(cs, errs):
 * Create the notifier described by ${cs} ("name", "type" and the type's
 * settings).  Errors go to ${errs}; return NULL if any.
 */
struct notifier *notifier_new(const conf_node *cs, struct conf_errs *errs);

/**
 * notifier_send(nf, n, err):
 * Deliver ${n}.  Blocks for at most the notifier's timeout.  Return 0 when
 * the receiver accepted it, AG_RETRY to keep it queued, -1 to drop it (with
 * ${err} set).
 */
int notifier_send(struct notifier *nf, const struct notification *n,
    struct ag_err *err);

/*
 * One delivery of a notifier that speaks HTTP, split so that the sender can
 * perform the request itself (see notifier_prepare()).
 */
struct notifier_call {
	struct http_req req; /* what to send */
	void *priv;	     /* the notifier's, until release */
};

/**
 * notifier_has_request(nf):
 * Whether ${nf} delivers by an HTTP request that notifier_prepare() can
 * hand out; if not, notifier_send() delivers.
 */
bool notifier_has_request(const struct notifier *nf);

/**
 * notifier_prepare(nf, n, call, err):
 * Fill in ${call}->req, the request that delivers ${n}, for the caller to
 * perform.  Does not block.  Return 0, then the caller ends the call with
 * notifier_finish() if an answer came, and with notifier_release() in
 * every case; or AG_RETRY / -1 (with ${err} set) as notifier_send().
 */
int notifier_prepare(struct notifier *nf, const struct notification *n,
    struct notifier_call *call, struct ag_err *err);

/**
 * notifier_finish(nf, call, status, body, len, err):
 * The receiver answered the request of ${call} with HTTP ${status} and
 * ${body} (${len} bytes, NULL if none).  Return 0 if it accepted the
 * notification, AG_RETRY to keep it queued, -1 to drop it (with ${err}
 * set), as notifier_send().
 */
int notifier_finish(struct notifier *nf, struct notifier_call *call,
    long status, const char *body, size_t len, struct ag_err *err);

/* notifier_release(nf, call): free what notifier_prepare() put in ${call}. */
void notifier_release(struct notifier *nf, struct notifier_call *call);

void notifier_free(struct notifier *nf);

#endif
