/*
 * cw_json.c: CloudWatch's answers in its JSON protocol (awsJson1_0, the
 * "json" protocol of the service model, query-compatible): GetMetricData,
 * ListMetrics and errors.  See cloudwatch_internal.h.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "lib/clock.h"
#include "agent/sources/net/cloudwatch_internal.h"

/*
 * Parse ${body} as the JSON object answering ${what}, with its string
 * member "NextToken" copied into ${next} ("" if none).  NULL with ${err}
 * set if it is not a JSON object or the token is not a string or too long.
 */
static json_t *
answer_open(const char *body, size_t len, const char *what, char *next,
    size_t nextlen, struct ag_err *err)
{
	json_t *root, *tok;
	json_error_t je;

	if (nextlen > 0)
		next[0] = '\0';
	if (body == NULL ||
	    (root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je)) ==
		NULL) {
		(void)ag_err_set(err, "%s: the answer is not JSON", what);
		return NULL;
	}
	if (!json_is_object(root)) {
		(void)ag_err_set(err, "%s: the answer is not a JSON object",
		    what);
		goto fail;
	}
	if ((tok = json_object_get(root, "NextToken")) != NULL &&
	    !json_is_null(tok)) {
		if (!json_is_string(tok) ||
		    json_string_length(tok) >= nextlen) {
			(void)ag_err_set(err, "%s: NextToken %s", what,
			    json_is_string(tok) ? "too long" : "not a string");
			goto fail;
		}
		memcpy(next, json_string_value(tok),
		    json_string_length(tok) + 1);
	}
	return root;
fail:
	json_decref(root);
	return NULL;
}

/* The string member ${key} of ${o} into ${buf}; "" if absent or not one. */
static void
copy_str(const json_t *o, const char *key, char *buf, size_t len)
{
	const char *s = json_string_value(json_object_get(o, key));

	snprintf(buf, len, "%s", s != NULL ? s : "");
}

/* A timestamp: epoch seconds (number) or RFC 3339; milliseconds. */
static int
json_ts(const json_t *t, int64_t *ret)
{
	double d;

	if (json_is_string(t))
		return clock_parse_rfc3339(json_string_value(t), ret);
	if (!json_is_number(t))
		return -1;
	d = json_number_value(t);
	if (!isfinite(d) || fabs(d) > 1e14)
		return -1;
	*ret = (int64_t)llround(d * 1000);
	return 0;
}

/* One member of MetricDataResults, handed to ${fn}. */
static int
one_result(const json_t *r, cw_result_fn *fn, void *cookie, struct ag_err *err)
{
	const json_t *tsa = json_object_get(r, "Timestamps");
	const json_t *va = json_object_get(r, "Values");
	char id[256], status[64];
	size_t nts, nv;
	int64_t *ts = NULL;
	double *v = NULL;
	int rc = -1;

	if (!json_is_object(r))
		return ag_err_set(err,
		    "GetMetricData: a result is not an object");
	copy_str(r, "Id", id, sizeof(id));
	copy_str(r, "StatusCode", status, sizeof(status));
	if ((tsa != NULL && !json_is_array(tsa)) ||
	    (va != NULL && !json_is_array(va)))
		return ag_err_set(err,
		    "GetMetricData: result %s: Timestamps or Values is not a "
		    "list",
		    id);
	nts = json_array_size(tsa);
	nv = json_array_size(va);
	if (cw_result_alloc(id, nts, nv, &ts, &v, err) != 0)
		return -1;
	for (size_t i = 0; i < nts; i++) {
		const json_t *x = json_array_get(va, i);

		if (json_ts(json_array_get(tsa, i), &ts[i]) != 0) {
			(void)ag_err_set(err,
			    "GetMetricData: result %s: bad timestamp %zu", id,
			    i);
			goto out;
		}
		if (!json_is_number(x) || !isfinite(json_number_value(x))) {
			(void)ag_err_set(err,
			    "GetMetricData: result %s: a value is not a number",
			    id);
			goto out;
		}
		v[i] = json_number_value(x);
	}
	rc = fn(cookie, id, ts, v, nts, status);
out:
	free(ts);
	free(v);
	return rc;
}

int
cw_json_gmd(const char *body, size_t len, cw_result_fn *fn, void *cookie,
    char *next, size_t nextlen, struct ag_err *err)
{
	json_t *root, *list, *r;
	size_t i;
	int n = 0;

	if ((root = answer_open(body, len, "GetMetricData", next, nextlen,
		 err)) == NULL)
		return -1;
	list = json_object_get(root, "MetricDataResults");
	if (list != NULL && !json_is_array(list)) {
		json_decref(root);
		return ag_err_set(err,
		    "GetMetricData: MetricDataResults is not a list");
	}
	json_array_foreach(list, i, r)
	{
		if (one_result(r, fn, cookie, err) != 0) {
			json_decref(root);
			return -1;
		}
		n++;
	}
	json_decref(root);
	return n;
}

/* One member of Metrics, handed to ${fn}. */
static int
one_metric(const json_t *m, cw_metric_fn *fn, void *cookie, struct ag_err *err)
{
	const char *names[CW_TAGS_MAX], *vals[CW_TAGS_MAX];
	const json_t *dims = json_object_get(m, "Dimensions"), *d;
	char ns[256], name[256];
	size_t i, n = 0;

	copy_str(m, "Namespace", ns, sizeof(ns));
	copy_str(m, "MetricName", name, sizeof(name));
	if (ns[0] == '\0' || name[0] == '\0')
		return ag_err_set(err,
		    "ListMetrics: a metric without a namespace or name");
	if (dims != NULL && !json_is_array(dims))
		return ag_err_set(err,
		    "ListMetrics: %s: Dimensions is not a "
		    "list",
		    name);
	json_array_foreach(dims, i, d)
	{
		if (n == CW_TAGS_MAX)
			return ag_err_set(err,
			    "ListMetrics: %s has more than %d dimensions",
			    name, CW_TAGS_MAX);
		names[n] = json_string_value(json_object_get(d, "Name"));
		vals[n] = json_string_value(json_object_get(d, "Value"));
		if (names[n] == NULL || vals[n] == NULL)
			return ag_err_set(err,
			    "ListMetrics: %s: a dimension without a name or "
			    "value",
			    name);
		n++;
	}
	return fn(cookie, ns, name, names, vals, n);
}

int
cw_json_list_metrics(const char *body, size_t len, cw_metric_fn *fn,
    void *cookie, char *next, size_t nextlen, struct ag_err *err)
{
	json_t *root, *list, *m;
	size_t i;
	int n = 0;

	if ((root = answer_open(body, len, "ListMetrics", next, nextlen,
		 err)) == NULL)
		return -1;
	list = json_object_get(root, "Metrics");
	if (list != NULL && !json_is_array(list)) {
		json_decref(root);
		return ag_err_set(err, "ListMetrics: Metrics is not a list");
	}
	json_array_foreach(list, i, m)
	{
		if (one_metric(m, fn, cookie, err) != 0) {
			json_decref(root);
			return -1;
		}
		n++;
	}
	json_decref(root);
	return n;
}

/*
 * ${s} cut to its shape name into ${code}: before the first ':' (a URI
 * follows) or ';' (x-amzn-query-error's fault), after the last '#' there.
 */
static void
shape_name(const char *s, char *code, size_t codelen)
{
	size_t n = strcspn(s, ":;");

	for (size_t i = n; i > 0; i--)
		if (s[i - 1] == '#') {
			s += i;
			n -= i;
			break;
		}
	snprintf(code, codelen, "%.*s", (int)n, s);
}

int
cw_json_error(const char *body, size_t len, const char *query_error,
    const char *error_type, char *code, size_t codelen, char *msg,
    size_t msglen)
{
	json_t *root = NULL;
	const char *c = NULL, *m = NULL;

	if (codelen > 0)
		code[0] = '\0';
	if (msglen > 0)
		msg[0] = '\0';
	if (body != NULL && len > 0)
		root = json_loadb(body, len, 0, NULL);
	if (root != NULL && json_is_object(root)) {
		if ((c = json_string_value(json_object_get(root, "__type"))) ==
		    NULL)
			c = json_string_value(json_object_get(root, "code"));
		if ((m = json_string_value(json_object_get(root,
			 "message"))) == NULL)
			m = json_string_value(json_object_get(root,
			    "Message"));
	}
	if (query_error != NULL && query_error[0] != '\0')
		c = query_error;
	else if (error_type != NULL && error_type[0] != '\0')
		c = error_type;
	if (c != NULL && codelen > 0)
		shape_name(c, code, codelen);
	if (m != NULL)
		snprintf(msg, msglen, "%s", m);
	json_decref(root);
	return codelen > 0 && code[0] != '\0';
}
