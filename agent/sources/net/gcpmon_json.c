/*
 * gcpmon_json.c: Cloud Monitoring's projects.timeSeries.list answers
 * (gcpmon_internal.h), through jansson.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "lib/ag.h"
#include "lib/clock.h"
#include "agent/sources/net/gcpmon_internal.h"

/* Add the string members of ${o} to ${v} (at most ${max}). */
static void
add_labels(const json_t *o, struct metric_label *v, size_t *n, size_t max)
{
	const char *k;
	json_t *val;

	json_object_foreach((json_t *)o, k, val)
	{
		if (!json_is_string(val) || *n == max || k[0] == '\0')
			continue;
		v[*n].key = k;
		v[(*n)++].value = json_string_value(val);
	}
}

/* The value of a point: 0 with ${ret}, or -1 if it has none we read. */
static int
point_value(const json_t *value, double *ret)
{
	const json_t *v;

	if ((v = json_object_get(value, "doubleValue")) != NULL &&
	    json_is_number(v)) {
		*ret = json_number_value(v);
		return 0;
	}
	if ((v = json_object_get(value, "int64Value")) != NULL) {
		/* proto3 JSON: a string; some writers send a number. */
		if (json_is_number(v)) {
			*ret = json_number_value(v);
			return 0;
		}
		if (json_is_string(v)) {
			const char *s = json_string_value(v);
			char *end;
			long long n = strtoll(s, &end, 10);

			if (end != s && *end == '\0') {
				*ret = (double)n;
				return 0;
			}
		}
		return -1;
	}
	if ((v = json_object_get(value, "boolValue")) != NULL &&
	    json_is_boolean(v)) {
		*ret = json_is_true(v) ? 1 : 0;
		return 0;
	}
	if ((v = json_object_get(json_object_get(value, "distributionValue"),
		 "mean")) != NULL &&
	    json_is_number(v)) {
		*ret = json_number_value(v);
		return 0;
	}
	return -1;
}

int
gcpmon_parse(const char *body, size_t len, gcpmon_point_fn *fn, void *cookie,
    char **ret_next, struct ag_err *err)
{
	json_t *root, *series, *ts, *pt;
	const char *next;
	json_error_t je;
	size_t i, j;
	int rc = 0;

	*ret_next = NULL;
	if (body == NULL || (root = json_loadb(body, len, 0, &je)) == NULL)
		return ag_err_set(err, "the answer is not JSON");
	if (!json_is_object(root)) {
		json_decref(root);
		return ag_err_set(err, "the answer is not a JSON object");
	}
	/* No series at all: Cloud Monitoring leaves timeSeries out. */
	series = json_object_get(root, "timeSeries");
	if (series != NULL && !json_is_array(series)) {
		json_decref(root);
		return ag_err_set(err, "timeSeries is not an array");
	}
	json_array_foreach(series, i, ts)
	{
		struct metric_label lab[GCPMON_LABELS_MAX];
		struct metric_label user[GCPMON_LABELS_MAX];
		const json_t *metric = json_object_get(ts, "metric");
		const json_t *res = json_object_get(ts, "resource");
		const json_t *points = json_object_get(ts, "points");
		struct gcpmon_point p = { .labels = lab, .user = user };

		p.metric_type = json_string_value(json_object_get(metric,
		    "type"));
		p.resource_type = json_string_value(json_object_get(res,
		    "type"));
		if (p.metric_type == NULL) {
			rc = ag_err_set(err, "timeSeries[%zu]: no metric.type",
			    i);
			break;
		}
		if (p.resource_type == NULL)
			p.resource_type = "";
		add_labels(json_object_get(metric, "labels"), lab, &p.nlabels,
		    GCPMON_LABELS_MAX);
		add_labels(json_object_get(res, "labels"), lab, &p.nlabels,
		    GCPMON_LABELS_MAX);
		add_labels(json_object_get(json_object_get(ts, "metadata"),
			       "userLabels"),
		    user, &p.nuser, GCPMON_LABELS_MAX);
		if (json_array_size(points) == 0) {
			if (fn(cookie, &p) != 0) {
				rc = ag_err_set(err, "stopped");
				break;
			}
			continue;
		}
		json_array_foreach(points, j, pt)
		{
			const char *t = json_string_value(json_object_get(
			    json_object_get(pt, "interval"), "endTime"));

			if (t == NULL ||
			    clock_parse_rfc3339(t, &p.end_ms) != 0) {
				rc = ag_err_set(err,
				    "timeSeries[%zu].points[%zu]: no "
				    "interval.endTime",
				    i, j);
				break;
			}
			p.has = point_value(json_object_get(pt, "value"),
				    &p.v) == 0;
			if (!p.has)
				continue;
			if (fn(cookie, &p) != 0) {
				rc = ag_err_set(err, "stopped");
				break;
			}
		}
		if (rc != 0)
			break;
	}
	next = json_string_value(json_object_get(root, "nextPageToken"));
	if (rc == 0 && next != NULL && next[0] != '\0' &&
	    (*ret_next = strdup(next)) == NULL)
		rc = ag_err_set(err, "out of memory");
	json_decref(root);
	return rc;
}
