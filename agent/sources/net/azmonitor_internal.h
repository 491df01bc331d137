/*
 * azmonitor_internal.h: the pure parts of the "azure_monitor" source
 * (src_azmonitor.c), shared with tests/unit/test_azmonitor.c: the
 * answers of Azure Monitor's metrics API (one resource, and the metrics
 * batch endpoint), of Azure Resource Manager's resources list and of its
 * errors, and ISO 8601 time grains.  Only src_azmonitor.c, azmon_json.c
 * and the test include it.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef VIGIL_AZMONITOR_INTERNAL_H
#define VIGIL_AZMONITOR_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/ag.h"
#include "agent/metric.h"

/* The aggregations of a data point, in the order of azmon_agg_names[]. */
enum azmon_agg {
	AZMON_AVERAGE,
	AZMON_MINIMUM,
	AZMON_MAXIMUM,
	AZMON_TOTAL,
	AZMON_COUNT,
	AZMON_AGG_N
};

/* "average", "minimum", "maximum", "total", "count", NULL. */
extern const char *const azmon_agg_names[];

/* Most dimensions (metadatavalues) of one time series kept. */
#define AZMON_DIMS_MAX 16

/* One data point of one time series, or one metric's error. */
struct azmon_point {
	const char *resource; /* batch: the entry's resourceid; else NULL */
	const char *metric;   /* name.value: "Percentage CPU" */
	const struct metric_label *dims; /* metadatavalues: name.value=value */
	size_t ndims;
	int64_t ts_ms; /* timeStamp: the grain's start */
	double v[AZMON_AGG_N];
	unsigned has; /* bit (1 << agg) for each value present */
	/* Not NULL: the metric failed ("errorCode" other than Success). */
	const char *error_code;
	const char *error_message; /* "" if none */
};

/* Return 0 to go on, -1 to stop the parse (with the parser returning -1). */
typedef int azmon_point_fn(void *cookie, const struct azmon_point *p);

/**
 * azmon_parse_metrics(body, len, batch, fn, cookie, err):
 * Walk an answer of the metrics API: with ${batch} false the Response of
 * GET {resource}/providers/Microsoft.Insights/metrics ({"value": [metric,
 * ...]}), with ${batch} true that of metrics:getBatch ({"values":
 * [{"resourceid": ..., "value": [metric, ...]}, ...]}).  ${fn} is called
 * for every data point of every time series, and once for a metric that
 * carries an error code.  Return 0, or -1 with ${err} if the body is not
 * such an answer or ${fn} stopped.
 */
int azmon_parse_metrics(const char *body, size_t len, bool batch,
    azmon_point_fn *fn, void *cookie, struct ag_err *err);

/* Most tags of one resource kept. */
#define AZMON_TAGS_MAX 32

/* One entry of an Azure Resource Manager resources list. */
struct azmon_resource {
	const char *id, *name, *type, *location; /* "" if absent */
	const struct metric_label *tags;
	size_t ntags;
};

typedef int azmon_resource_fn(void *cookie, const struct azmon_resource *r);

/**
 * azmon_parse_resources(body, len, fn, cookie, ret_next, err):
 * Walk a page of GET /subscriptions/{sub}/resources: ${fn} for each entry
 * of "value"; its "nextLink" as a new string in ${ret_next} (NULL on the
 * last page).  Return 0, or -1 with ${err}.
 */
int azmon_parse_resources(const char *body, size_t len, azmon_resource_fn *fn,
    void *cookie, char **ret_next, struct ag_err *err);

/**
 * azmon_parse_error(body, len, code, clen, msg, mlen):
 * The code and message of an ARM error answer {"error": {"code", "message"}}
 * (also the OData form {"code", "message"}), cut to fit; the first line of
 * the message only.  Return 0, or -1 (both "") if the body is not one.
 */
int azmon_parse_error(const char *body, size_t len, char *code, size_t clen,
    char *msg, size_t mlen);

/**
 * azmon_grain_parse(s, ret_s):
 * An ISO 8601 duration P[nD][T[nH][nM][nS]] ("PT1M", "PT1H", "P1D") in
 * seconds.  Return 0, or -1 if it is not one or is zero.
 */
int azmon_grain_parse(const char *s, int64_t *ret_s);

#endif
