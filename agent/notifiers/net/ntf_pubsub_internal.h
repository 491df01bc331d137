/*
 * ntf_pubsub_internal.h: what the "pubsub" notifier (ntf_pubsub.c) puts
 * on the wire and how it reads Pub/Sub's answers, as pure functions, for
 * ntf_pubsub.c and tests/unit/test_pubsub.c only.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef VIGIL_NTF_PUBSUB_INTERNAL_H
#define VIGIL_NTF_PUBSUB_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/ag.h"
#include "agent/notify.h"

/* Pub/Sub's limits: attribute values and ordering keys, in bytes. */
#define PUBSUB_ATTR_VALUE_MAX 1024
#define PUBSUB_ORDERING_KEY_MAX 1024
/* A project id and a topic id, in bytes. */
#define PUBSUB_PROJECT_MAX 100
#define PUBSUB_TOPIC_MAX 255

/* A topic, taken apart. */
struct pubsub_topic {
	char project[PUBSUB_PROJECT_MAX + 1];
	char topic[PUBSUB_TOPIC_MAX + 1];
};

/**
 * pubsub_topic_parse(topic, project, ret):
 * Read the topic "projects/P/topics/T", or "T" with ${project} = "P"
 * (NULL if not given), into ${ret}.  A project id is 6 to 30 of a-z, 0-9
 * and '-' (a letter first), domain-scoped ones ("example.com:p") too; a
 * topic id 3 to 255 of letters, digits and - _ . ~ + % (a letter first,
 * not "goog...").  Return 0, or -1 with the reason in ${why}.
 */
int pubsub_topic_parse(const char *topic, const char *project,
    struct pubsub_topic *ret, char *why, size_t whylen);

/**
 * pubsub_ordering_key(n, out):
 * The ordering key of ${n}: "<rule>/<metric>" (the series, its labels
 * included); it always fits Pub/Sub's PUBSUB_ORDERING_KEY_MAX.
 */
void pubsub_ordering_key(const struct notification *n,
    char out[PUBSUB_ORDERING_KEY_MAX + 1]);

/**
 * pubsub_publish_body(n, ordering):
 * The JSON body of topics.publish for ${n}: one message whose data is the
 * base64 of the notification's JSON (docs/WEBHOOK.md), with the String
 * attributes severity (the state), rule, host, metric, resource (the
 * labels of a cloud metric, when it has some) and id, and with ${ordering}
 * the orderingKey of pubsub_ordering_key().  A new string, or NULL.
 */
char *pubsub_publish_body(const struct notification *n, bool ordering);

/**
 * pubsub_message_id(body, len, out, size):
 * The first of the messageIds of a publish answer.  Return 0 or -1.
 */
int pubsub_message_id(const char *body, size_t len, char *out, size_t size);

/**
 * pubsub_classify(what, status, body, len, err):
 * Judge a publish answer: 0 for 2xx; AG_RETRY for 408, 429, 5xx, the
 * statuses UNAVAILABLE, RESOURCE_EXHAUSTED, ABORTED, DEADLINE_EXCEEDED,
 * INTERNAL, for 401 (the token was refused: the caller drops it) and 403
 * (the identity may not publish: fixed in IAM, the notification
 * delivers); -1 for other refusals (a missing topic, a bad request).
 * ${err} gets "${what}: HTTP 404 NOT_FOUND: what to fix. Pub/Sub says:
 * Resource not found (resource=alerts)."
 */
int pubsub_classify(const char *what, long status, const char *body,
    size_t len, struct ag_err *err);

#endif
