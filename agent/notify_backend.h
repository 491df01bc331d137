/*
 * notify_backend.h: what a notifier type implements.  See notify.h.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef VIGIL_NOTIFY_BACKEND_H
#define VIGIL_NOTIFY_BACKEND_H

#include "agent/notify.h"
#include "agent/plugin.h"

struct notifier_ops {
	/*
	 * type ("log", "webhook", ...), settings (besides name and type),
	 * configure() and free(): see agent/plugin.h.
	 */
	PLUGIN_OPS_HEAD;
	/*
	 * Deliver ${n} at once (blocking for at most the notifier's
	 * timeout): 0 accepted, AG_RETRY keep queued, -1 drop; ${n} is
	 * read-only.
	 */
	int (*send)(void *ctx, const struct notification *n,
	    struct ag_err *err);
	/*
	 * Notifiers that speak HTTP also split a delivery in two, so that
	 * the sender runs the requests of all notifiers side by side and a
	 * hanging receiver holds up only its own queue.  prepare() fills in
	 * ${call}->req for ${n} (and keeps what the request points to in
	 * ${call}->priv): 0, or AG_RETRY / -1 with ${err} as send(); 0
	 * with ${call}->req.url NULL when there is nothing to send for
	 * ${n} (a notifier that filters): accepted at once.  The
	 * sender performs the request; finish() judges the answer (HTTP
	 * ${status} and ${body} of ${len} bytes, NULL if empty) and returns
	 * what send() would.  release() frees what prepare() kept; it is
	 * called once after every successful prepare(), whether the request
	 * was answered, failed or cancelled.  NULL for notifiers without
	 * requests (log): the sender calls send() for those.
	 */
	int (*prepare)(void *ctx, const struct notification *n,
	    struct notifier_call *call, struct ag_err *err);
	int (*finish)(void *ctx, struct notifier_call *call, long status,
	    const char *body, size_t len, struct ag_err *err);
	void (*release)(void *ctx, struct notifier_call *call);
};

/**
 * notifier_new_here(cs, errs):
 * notifier_new() in this process whatever its type: what a checking child
 * and a lazy notifier's first delivery call (notify_lazy.c).
 */
struct notifier *notifier_new_here(const conf_node *cs,
    struct conf_errs *errs);

/**
 * notifier_lazy_new(cs, errs):
 * A notifier of a heavy type (webhook) for vigild: ${cs} is checked in a
 * child, with the messages notifier_new() would record; the notifier is
 * made with notifier_new_here() at its first delivery, loading the heavy
 * module then.  ${cs} must live as long as the notifier (the runconf's
 * config does).  Return it, or NULL.
 */
struct notifier *notifier_lazy_new(const conf_node *cs,
    struct conf_errs *errs);

extern const struct notifier_ops ntf_log_ops;
extern const struct notifier_ops ntf_webhook_ops;

#endif
