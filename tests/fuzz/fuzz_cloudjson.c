/*
 * fuzz_cloudjson.c: fuzzing target for the cloud metric sources' JSON
 * answers: Azure Monitor metrics (one resource and getBatch), Azure
 * Resource Manager's resources list and errors, ISO 8601 grains
 * (agent/sources/net/azmonitor_internal.h), Cloud Monitoring's
 * timeSeries.list (gcpmon_internal.h), and CloudWatch's JSON protocol:
 * GetMetricData, ListMetrics and errors (cloudwatch_internal.h).
 *
 * The first byte of the input picks the parser (0xf0 and up: CloudWatch),
 * the rest is the answer.
 * Checked:
 *
 *  - every point handed over has a metric name, at most AZMON_DIMS_MAX
 *    dimensions with non-NULL keys and values, aggregation bits only for
 *    the five aggregations, and an error code only with a message;
 *  - a batch point names its resource, a single-resource one does not;
 *  - a resource has non-NULL id, name, type and location and at most
 *    AZMON_TAGS_MAX tags; a next link or page token is a non-empty string;
 *  - an accepted grain is positive; an error parse gives NUL-terminated
 *    code and message, both empty when refused;
 *  - a time series point has a metric type and at most GCPMON_LABELS_MAX
 *    labels and user labels;
 *  - a CloudWatch result has an Id and at most CW_POINTS_MAX points, a
 *    metric a namespace, a name and at most CW_TAGS_MAX dimensions with
 *    non-NULL names and values; NextToken and error texts are terminated.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "lib/ag.h"
#include "agent/sources/net/azmonitor_internal.h"
#include "agent/sources/net/cloudwatch_internal.h"
#include "agent/sources/net/gcpmon_internal.h"

#include "tests/fuzz/fuzz.h"

static bool batch_mode;

static void
labels_ok(const struct metric_label *v, size_t n, size_t max)
{
	if (n > max)
		fuzz_fail("%zu labels, more than %zu", n, max);
	for (size_t i = 0; i < n; i++)
		if (v[i].key == NULL || v[i].value == NULL)
			fuzz_fail("label %zu without key or value", i);
}

static int
on_point(void *cookie, const struct azmon_point *p)
{
	(void)cookie;
	if (p->metric == NULL)
		fuzz_fail("a point without a metric name");
	if ((p->resource != NULL) != batch_mode)
		fuzz_fail("resource %s in %s mode",
		    p->resource ? p->resource : "(none)",
		    batch_mode ? "batch" : "single");
	if (p->error_code != NULL) {
		if (p->error_message == NULL)
			fuzz_fail("an error code without a message");
		return 0;
	}
	labels_ok(p->dims, p->ndims, AZMON_DIMS_MAX);
	if (p->has >> AZMON_AGG_N)
		fuzz_fail("aggregation bits %#x", p->has);
	return 0;
}

static int
on_resource(void *cookie, const struct azmon_resource *r)
{
	(void)cookie;
	if (r->id == NULL || r->name == NULL || r->type == NULL ||
	    r->location == NULL || r->id[0] == '\0')
		fuzz_fail("a resource with a NULL or empty member");
	labels_ok(r->tags, r->ntags, AZMON_TAGS_MAX);
	return 0;
}

static int
on_series(void *cookie, const struct gcpmon_point *p)
{
	(void)cookie;
	if (p->metric_type == NULL || p->resource_type == NULL)
		fuzz_fail("a series without its types");
	labels_ok(p->labels, p->nlabels, GCPMON_LABELS_MAX);
	labels_ok(p->user, p->nuser, GCPMON_LABELS_MAX);
	return 0;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_quiet();
	return 0;
}

static int
on_cw_result(void *cookie, const char *id, const int64_t *ts, const double *v,
    size_t n, const char *status)
{
	(void)cookie;
	if (id == NULL || id[0] == '\0' || status == NULL)
		fuzz_fail("a result without an Id or status");
	if (n > CW_POINTS_MAX || (n > 0 && (ts == NULL || v == NULL)))
		fuzz_fail("%zu points", n);
	return 0;
}

static int
on_cw_metric(void *cookie, const char *ns, const char *name,
    const char *const *names, const char *const *values, size_t n)
{
	(void)cookie;
	if (ns[0] == '\0' || name[0] == '\0' || n > CW_TAGS_MAX)
		fuzz_fail("a metric without a namespace or name, or %zu "
			  "dimensions",
		    n);
	for (size_t i = 0; i < n; i++)
		if (names[i] == NULL || values[i] == NULL)
			fuzz_fail("dimension %zu without name or value", i);
	return 0;
}

/* CloudWatch's JSON protocol, picked by ${sel}. */
static void
cw_json(unsigned sel, const char *body, size_t len)
{
	struct ag_err err;
	char next[64] = "", code[64], msg[128];

	if (sel % 3 == 0)
		(void)cw_json_gmd(body, len, on_cw_result, NULL, next,
		    sizeof(next), &err);
	else if (sel % 3 == 1)
		(void)cw_json_list_metrics(body, len, on_cw_metric, NULL, next,
		    sizeof(next), &err);
	else if (cw_json_error(body, len, NULL, NULL, code, sizeof(code), msg,
		     sizeof(msg)) == 0 &&
	    code[0] != '\0')
		fuzz_fail("no code, yet code text");
	if (strnlen(next, sizeof(next)) >= sizeof(next))
		fuzz_fail("NextToken not terminated");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ag_err err;
	char code[64], msg[128], *next = NULL, *s;
	const char *body;
	size_t len;
	int64_t g;

	if (size < 1)
		return 0;
	body = (const char *)data + 1;
	len = size - 1;
	if (data[0] >= 0xf0) {
		cw_json(data[0] - 0xf0, body, len);
		return 0;
	}
	switch (data[0] % 5) {
	case 0:
	case 1:
		batch_mode = data[0] % 5 == 1;
		(void)azmon_parse_metrics(body, len, batch_mode, on_point,
		    NULL, &err);
		break;
	case 2:
		if (azmon_parse_resources(body, len, on_resource, NULL, &next,
			&err) == 0 &&
		    next != NULL && next[0] == '\0')
			fuzz_fail("an empty nextLink");
		free(next);
		break;
	case 3:
		if (azmon_parse_error(body, len, code, sizeof(code), msg,
			sizeof(msg)) != 0 &&
		    (code[0] != '\0' || msg[0] != '\0'))
			fuzz_fail("a refused error body left text behind");
		if (strlen(code) >= sizeof(code) || strlen(msg) >= sizeof(msg))
			fuzz_fail("error text not terminated");
		s = fuzz_strndup(data + 1, size - 1);
		if (azmon_grain_parse(s, &g) == 0 && g <= 0)
			fuzz_fail("grain \"%s\" of %lld s", s, (long long)g);
		free(s);
		break;
	default:
		if (gcpmon_parse(body, len, on_series, NULL, &next, &err) ==
			0 &&
		    next != NULL && next[0] == '\0')
			fuzz_fail("an empty page token");
		free(next);
		break;
	}
	return 0;
}
