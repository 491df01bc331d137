/*
 * azmon_json.c: the answers of Azure Monitor and Azure Resource Manager
 * that the "azure_monitor" source reads (azmonitor_internal.h): metrics,
 * batches of metrics, resources lists and errors, through jansson.  The
 * shapes are those of the 2023-10-01 metrics API
 * (../shared/conformance/azure/monitor-metrics/).
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "lib/ag.h"
#include "lib/clock.h"
#include "agent/sources/net/azmonitor_internal.h"

const char *const azmon_agg_names[] = { "average", "minimum", "maximum",
	"total", "count", NULL };

/* Member ${key} of ${o} if it is a string, else "". */
static const char *
str_or_empty(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s != NULL ? s : "";
}

/* The data points of one time series of metric ${m}. */
static int
walk_series(const json_t *ts, struct azmon_point *p, azmon_point_fn *fn,
    void *cookie, struct ag_err *err)
{
	struct metric_label dims[AZMON_DIMS_MAX];
	const json_t *md, *data, *e;
	size_t i, n = 0;

	md = json_object_get(ts, "metadatavalues");
	json_array_foreach(md, i, e)
	{
		const char *k = json_string_value(
		    json_object_get(json_object_get(e, "name"), "value"));
		const char *v = json_string_value(json_object_get(e, "value"));

		if (k == NULL || v == NULL || k[0] == '\0' ||
		    n == AZMON_DIMS_MAX)
			continue;
		dims[n].key = k;
		dims[n++].value = v;
	}
	p->dims = dims;
	p->ndims = n;
	if ((data = json_object_get(ts, "data")) != NULL &&
	    !json_is_array(data))
		return ag_err_set(err, "metric \"%s\": data is not an array",
		    p->metric);
	json_array_foreach(data, i, e)
	{
		const char *t = json_string_value(json_object_get(e,
		    "timeStamp"));

		if (t == NULL || clock_parse_rfc3339(t, &p->ts_ms) != 0)
			return ag_err_set(err,
			    "metric \"%s\": data[%zu]: no "
			    "timeStamp",
			    p->metric, i);
		p->has = 0;
		for (int a = 0; a < AZMON_AGG_N; a++) {
			const json_t *v = json_object_get(e,
			    azmon_agg_names[a]);

			if (json_is_number(v)) {
				p->v[a] = json_number_value(v);
				p->has |= 1u << a;
			} else
				p->v[a] = 0;
		}
		if (fn(cookie, p) != 0)
			return ag_err_set(err, "stopped");
	}
	return 0;
}

/* The metrics of ${value} (an array of Metric objects). */
static int
walk_metrics(const json_t *value, const char *resource, azmon_point_fn *fn,
    void *cookie, struct ag_err *err)
{
	const json_t *m, *ts, *series;
	size_t i, j;

	if (!json_is_array(value))
		return ag_err_set(err, "\"value\" is not an array");
	json_array_foreach(value, i, m)
	{
		struct azmon_point p = { .resource = resource };
		const char *code = str_or_empty(m, "errorCode");

		p.metric = json_string_value(json_object_get(json_object_get(m,
								 "name"),
		    "value"));
		if (p.metric == NULL)
			return ag_err_set(err, "value[%zu]: no name.value", i);
		if (code[0] != '\0' && strcmp(code, "Success") != 0) {
			p.error_code = code;
			p.error_message = str_or_empty(m, "errorMessage");
			if (fn(cookie, &p) != 0)
				return ag_err_set(err, "stopped");
			continue;
		}
		series = json_object_get(m, "timeseries");
		json_array_foreach(series, j, ts)
		{
			if (walk_series(ts, &p, fn, cookie, err) != 0)
				return -1;
		}
	}
	return 0;
}

int
azmon_parse_metrics(const char *body, size_t len, bool batch,
    azmon_point_fn *fn, void *cookie, struct ag_err *err)
{
	json_t *root, *values, *e;
	json_error_t je;
	size_t i;
	int rc = 0;

	if (body == NULL ||
	    (root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je)) ==
		NULL)
		return ag_err_set(err, "the answer is not JSON");
	if (!json_is_object(root)) {
		json_decref(root);
		return ag_err_set(err, "the answer is not a JSON object");
	}
	if (!batch) {
		rc = walk_metrics(json_object_get(root, "value"), NULL, fn,
		    cookie, err);
		json_decref(root);
		return rc;
	}
	if (!json_is_array(values = json_object_get(root, "values"))) {
		json_decref(root);
		return ag_err_set(err, "\"values\" is not an array");
	}
	json_array_foreach(values, i, e)
	{
		const char *id = json_string_value(json_object_get(e,
		    "resourceid"));

		if (id == NULL)
			id = json_string_value(json_object_get(e,
			    "resourceId"));
		if (id == NULL) {
			rc = ag_err_set(err, "values[%zu]: no resourceid", i);
			break;
		}
		if ((rc = walk_metrics(json_object_get(e, "value"), id, fn,
			 cookie, err)) != 0)
			break;
	}
	json_decref(root);
	return rc;
}

int
azmon_parse_resources(const char *body, size_t len, azmon_resource_fn *fn,
    void *cookie, char **ret_next, struct ag_err *err)
{
	struct metric_label tags[AZMON_TAGS_MAX];
	json_t *root, *value, *e, *tv;
	const char *next, *k;
	json_error_t je;
	size_t i;
	int rc = 0;

	*ret_next = NULL;
	if (body == NULL || (root = json_loadb(body, len, 0, &je)) == NULL)
		return ag_err_set(err, "the resources list is not JSON");
	if (!json_is_array(value = json_object_get(root, "value"))) {
		json_decref(root);
		return ag_err_set(err, "the resources list has no \"value\"");
	}
	json_array_foreach(value, i, e)
	{
		struct azmon_resource r = { .id = str_or_empty(e, "id"),
			.name = str_or_empty(e, "name"),
			.type = str_or_empty(e, "type"),
			.location = str_or_empty(e, "location"),
			.tags = tags };

		if (r.id[0] == '\0')
			continue;
		json_object_foreach(json_object_get(e, "tags"), k, tv)
		{
			if (!json_is_string(tv) || r.ntags == AZMON_TAGS_MAX)
				continue;
			tags[r.ntags].key = k;
			tags[r.ntags++].value = json_string_value(tv);
		}
		if (fn(cookie, &r) != 0) {
			rc = ag_err_set(err, "stopped");
			break;
		}
	}
	next = json_string_value(json_object_get(root, "nextLink"));
	if (rc == 0 && next != NULL && next[0] != '\0' &&
	    (*ret_next = strdup(next)) == NULL)
		rc = ag_err_set(err, "out of memory");
	json_decref(root);
	return rc;
}

int
azmon_parse_error(const char *body, size_t len, char *code, size_t clen,
    char *msg, size_t mlen)
{
	json_t *root, *e;
	const char *c, *m;
	json_error_t je;

	code[0] = '\0';
	msg[0] = '\0';
	if (body == NULL || (root = json_loadb(body, len, 0, &je)) == NULL)
		return -1;
	e = json_object_get(root, "error");
	if (!json_is_object(e))
		e = root;
	c = json_string_value(json_object_get(e, "code"));
	m = json_string_value(json_object_get(e, "message"));
	if (c == NULL) {
		json_decref(root);
		return -1;
	}
	snprintf(code, clen, "%s", c);
	if (m != NULL)
		snprintf(msg, mlen, "%.*s", (int)strcspn(m, "\r\n"), m);
	json_decref(root);
	return 0;
}

/* Read the digits at *${s} into ${ret}; 0 or -1 if none or too large. */
static int
digits(const char **s, int64_t *ret)
{
	int64_t v = 0;
	int n = 0;

	while (**s >= '0' && **s <= '9') {
		if (++n > 9)
			return -1;
		v = v * 10 + (**s - '0');
		(*s)++;
	}
	*ret = v;
	return n > 0 ? 0 : -1;
}

int
azmon_grain_parse(const char *s, int64_t *ret_s)
{
	static const char date_units[] = "D";
	static const char time_units[] = "HMS";
	static const int64_t date_mul[] = { 86400 };
	static const int64_t time_mul[] = { 3600, 60, 1 };
	int64_t total = 0, v;
	size_t last = 0;
	const char *u;
	bool any = false;

	if (s == NULL || *s++ != 'P')
		return -1;
	while (*s != '\0' && *s != 'T') {
		if (digits(&s, &v) != 0 || *s == '\0' ||
		    (u = strchr(date_units, *s)) == NULL)
			return -1;
		total += v * date_mul[u - date_units];
		any = true;
		s++;
	}
	if (*s == 'T') {
		s++;
		if (*s == '\0')
			return -1;
		while (*s != '\0') {
			size_t idx;

			if (digits(&s, &v) != 0 || *s == '\0' ||
			    (u = strchr(time_units, *s)) == NULL)
				return -1;
			idx = (size_t)(u - time_units) + 1;
			if (idx <= last) /* H, M, S in order, once each */
				return -1;
			last = idx;
			total += v * time_mul[idx - 1];
			any = true;
			s++;
		}
	}
	if (!any || total <= 0)
		return -1;
	*ret_s = total;
	return 0;
}
