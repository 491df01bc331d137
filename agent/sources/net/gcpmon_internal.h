/*
 * gcpmon_internal.h: the pure parts of the "gcp_monitoring" source
 * (src_gcpmon.c), shared with tests/unit/test_gcpmon.c: the answer of
 * Cloud Monitoring's projects.timeSeries.list.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef VIGIL_GCPMON_INTERNAL_H
#define VIGIL_GCPMON_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "lib/ag.h"
#include "agent/metric.h"

/* Most labels of one series kept (metric and resource labels together). */
#define GCPMON_LABELS_MAX 32

/* One point of one time series. */
struct gcpmon_point {
	const char *metric_type;   /* "compute.googleapis.com/instance/..." */
	const char *resource_type; /* "gce_instance" */
	const struct metric_label *labels; /* metric.labels, resource.labels */
	size_t nlabels;
	const struct metric_label *user; /* metadata.userLabels */
	size_t nuser;
	int64_t end_ms; /* interval.endTime; 0 for a series without points */
	double v;	/* double, int64 (string or number), bool, or the
			 * mean of a distribution */
	int has;	/* 1: a point with a value; 0: a series without one */
};

/* Return 0 to go on, -1 to stop the parse. */
typedef int gcpmon_point_fn(void *cookie, const struct gcpmon_point *p);

/**
 * gcpmon_parse(body, len, fn, cookie, ret_next, err):
 * Walk a page of projects.timeSeries.list: ${fn} for every point of every
 * series (once with has 0 for a series without points); its nextPageToken
 * as a new string in ${ret_next} (NULL on the last page).  Return 0, or -1
 * with ${err}.
 */
int gcpmon_parse(const char *body, size_t len, gcpmon_point_fn *fn,
    void *cookie, char **ret_next, struct ag_err *err);

#endif
