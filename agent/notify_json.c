/*
 * notify_json.c: a notification as JSON (docs/WEBHOOK.md; see notify.h).
 *
 * The webhook "json" format sends it, and the spool stores it.
 * notification_from_json() is strict about types, lengths and names, so a
 * damaged spool file or a hostile document is refused rather than
 * half-read.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <jansson.h>

#include "lib/ag.h"
#include "lib/clock.h"
#include "lib/jfield.h"
#include "lib/utf8.h"
#include "agent/notify.h"

/* Largest JSON document notification_from_json() reads. */
#define NOTIFICATION_JSON_MAX (64 * 1024)

/* The version of the JSON schema this code writes and reads. */
#define NOTIFICATION_JSON_VERSION 1

static const char *const kind_names[] = {
	[NK_CHANGE] = "change",
	[NK_REMINDER] = "reminder",
};

static const char *const op_names[] = { ">", ">=", "<", "<=", "==", "!=" };

/*
 * Copy ${s} into ${out} (${len} bytes) replacing every byte that is not part
 * of a well-formed UTF-8 sequence by '?', so that jansson accepts it.
 */
static void
utf8_clean(const char *s, char *out, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t o = 0, k;

	while (*p != '\0' && o + 1 < len) {
		if ((k = utf8_seq(p, NULL)) == 0 || o + k >= len) {
			out[o++] = '?';
			p++;
			continue;
		}
		memcpy(out + o, p, k);
		o += k;
		p += k;
	}
	out[o] = '\0';
}

/* Add string member ${key} = ${s} (made valid UTF-8) to ${o}. */
static int
set_str(json_t *o, const char *key, const char *s)
{
	char clean[NOTIFICATION_SUMMARY_MAX];

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

/*
 * The labels of the series (the resource a cloud reading is about) as an
 * object; {} for a name without labels or whose braces are not labels (a
 * mount point may have a '{'), and then the member is left out.
 */
static json_t *
labels_json(const char *metric)
{
	char k[METRIC_NAME_MAX], v[METRIC_NAME_MAX];
	const char *cur = metric;
	json_t *o = json_object();
	int rc = 0;

	while (o != NULL &&
	    (rc = metric_label_next(&cur, k, sizeof(k), v, sizeof(v))) == 1)
		(void)set_str(o, k, v);
	if (o != NULL && rc != 0)
		(void)json_object_clear(o);
	return o;
}

char *
notification_to_json(const struct notification *n)
{
	char summary[NOTIFICATION_SUMMARY_MAX];
	json_t *o, *lab;
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
	if ((lab = labels_json(n->metric)) != NULL &&
	    json_object_size(lab) > 0)
		bad |= json_object_set_new(o, "labels", lab);
	else
		json_decref(lab);
	bad |= set_str(o, "state", alert_state_name(n->state));
	bad |= set_str(o, "previous_state", alert_state_name(n->prev_state));
	bad |= set_str(o, "kind",
	    (unsigned)n->kind < ARRAY_SIZE(kind_names) ? kind_names[n->kind] :
							 "change");
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
		goto fail;
	v = json_object_get(o, "version");
	if (!json_is_integer(v) ||
	    json_integer_value(v) != NOTIFICATION_JSON_VERSION)
		goto fail;
	if (get_str(o, "id", n.id, sizeof(n.id)) != 0 || n.id[0] == '\0' ||
	    get_str(o, "host", n.host, sizeof(n.host)) != 0 ||
	    get_str(o, "rule", n.rule, sizeof(n.rule)) != 0 ||
	    get_str(o, "metric", n.metric, sizeof(n.metric)) != 0)
		goto fail;
	if (get_str(o, "state", buf, sizeof(buf)) != 0 ||
	    alert_state_parse(buf, &n.state) != 0 ||
	    get_str(o, "previous_state", buf, sizeof(buf)) != 0 ||
	    alert_state_parse(buf, &n.prev_state) != 0)
		goto fail;
	if (get_str(o, "kind", buf, sizeof(buf)) != 0)
		goto fail;
	for (size_t i = 0; i < ARRAY_SIZE(kind_names); i++) {
		if (strcmp(buf, kind_names[i]) == 0) {
			n.kind = (enum notify_kind)i;
			found = 1;
		}
	}
	if (!found)
		goto fail;
	if (jfield_num(o, "value", JF_REQUIRED, &n.has_value, &n.value,
		NULL) != 0 ||
	    jfield_num(o, "threshold", JF_REQUIRED, &n.has_threshold,
		&n.threshold, NULL) != 0)
		goto fail;
	/* The operator is one of ours, or empty (no-data notifications). */
	if (get_str(o, "op", n.op, sizeof(n.op)) != 0)
		goto fail;
	found = n.op[0] == '\0';
	for (size_t i = 0; i < ARRAY_SIZE(op_names) && !found; i++)
		found = strcmp(n.op, op_names[i]) == 0;
	if (!found)
		goto fail;
	if (get_time(o, "timestamp", &n.ts_ms) != 0 ||
	    get_time(o, "since", &n.since_ms) != 0)
		goto fail;
	/* Optional, so that documents of other writers are read too. */
	if (jfield_u64(o, "repeat_ms", 0, &u, NULL) != 0)
		goto fail;
	n.repeat_ms = (int64_t)u;
	json_decref(o);
	*ret = n;
	return 0;
fail:
	json_decref(o);
	return -1;
}
