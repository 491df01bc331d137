/*
 * ntf_notifhubs_internal.h: what the "notification_hubs" notifier
 * (ntf_notifhubs.c) puts on the wire and how it reads the hub's answers,
 * as pure functions, for ntf_notifhubs.c and tests/unit/test_notifhubs.c
 * only.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef VIGIL_NTF_NOTIFHUBS_INTERNAL_H
#define VIGIL_NTF_NOTIFHUBS_INTERNAL_H

#include <stddef.h>

#include "lib/ag.h"
#include "agent/notify.h"

/* The longest tag expression we send. */
#define NH_TAGS_MAX 1024

/* The payload formats: ServiceBusNotification-Format. */
enum nh_format {
	NH_TEMPLATE = 0, /* "template": the properties of templates */
	NH_FCMV1,	 /* "fcmv1": Firebase Cloud Messaging v1 */
	NH_GCM,		 /* "gcm": legacy FCM */
	NH_APPLE,	 /* "apple": APNs */
	NH_NFORMATS
};

/* The format names, NULL-terminated, in the order of enum nh_format. */
extern const char *const nh_format_names[];

/**
 * nh_payload(f, custom, n):
 * The body for ${n} in format ${f}: ${custom} (a JSON text with the
 * ${var} placeholders of docs/WEBHOOK.md's templates) if not NULL, else
 * the format's own (docs: vigil.conf(5)).  A new string, or NULL if a
 * placeholder is unknown or out of memory.
 */
char *nh_payload(enum nh_format f, const char *custom,
    const struct notification *n);

/**
 * nh_tags(expr, n, out, len):
 * The tag expression ${expr} with ${rule}, ${host}, ${state}, ${severity}
 * and ${metric} replaced by those of ${n}, each character that a tag may
 * not hold (other than A-Z a-z 0-9 _ @ # . : -) made '_', into ${out}.
 * ${severity} is the webhook templates' (critical, warning or none; a
 * recovery keeps the one it fired with, to reach those who were paged).
 * Return 0, or -1 for an unknown placeholder or a result that does not fit.
 */
int nh_tags(const char *expr, const struct notification *n, char *out,
    size_t len);

/**
 * nh_classify(what, status, body, len, err):
 * Judge a send answer: 0 for 2xx (201 Created); AG_RETRY for 401 (the SAS
 * token was refused: a fixed connection string delivers), 403 with a quota
 * used up, 408, 429 and 5xx; -1 for other refusals (no such hub, a payload
 * too large or malformed), with the hub's <Detail> in ${err}.
 */
int nh_classify(const char *what, long status, const char *body, size_t len,
    struct ag_err *err);

#endif
