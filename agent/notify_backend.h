/*
 * notify_backend.h: what a notifier type implements.  See notify.h.
 */
#ifndef VIGIL_NOTIFY_BACKEND_H
#define VIGIL_NOTIFY_BACKEND_H

#include "agent/notify.h"

struct notifier_ops {
	const char *type;			/* "log", "webhook", ... */
	const char *const *settings;		/* besides name and type */
	int (*configure)(void **ret_ctx, const conf_node *cs,
	    struct conf_errs *errs);
	/* 0 accepted, AG_RETRY keep queued, -1 drop; ${n} is read-only. */
	int (*send)(void *ctx, const struct notification *n,
	    struct ag_err *err);
	void (*free)(void *ctx);
};

extern const struct notifier_ops ntf_log_ops;
extern const struct notifier_ops ntf_webhook_ops;

#endif
