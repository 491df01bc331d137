/*
 * cloudwatch_internal.h: what the CloudWatch source (src_cloudwatch.c) and
 * its answers' readers (cw_xml.c, cw_json.c) share, and what their unit
 * test drives: the readers of GetMetricData, ListMetrics (query protocol,
 * XML, and CloudWatch's JSON protocol, awsJson1_0), DescribeInstances and
 * AWS errors in both, the form encoding of a request, and the window
 * arithmetic.
 * No other file includes it.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef VIGIL_AGENT_SOURCES_NET_CLOUDWATCH_INTERNAL_H
#define VIGIL_AGENT_SOURCES_NET_CLOUDWATCH_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/ag.h"
#include "lib/buf.h"

/* GetMetricData takes at most this many queries per call. */
#define CW_QUERIES_PER_CALL 500
/* Most points one result may carry (GetMetricData: 100,800 per call). */
#define CW_POINTS_MAX 100800
/* Most tags an EC2 instance (or dimensions a metric) may have. */
#define CW_TAGS_MAX 50

/*
 * cw_result_fn: one MetricDataResult: the query's ${id}, ${n} points
 * (${ts_ms} and ${values}, in the answer's order) and its StatusCode
 * ("Complete", "PartialData", ...).  Return 0, or -1 to stop.
 */
typedef int cw_result_fn(void *cookie, const char *id, const int64_t *ts_ms,
    const double *values, size_t n, const char *status);

/**
 * cw_parse_gmd(body, len, fn, cookie, next, nextlen, err):
 * Read a GetMetricData answer (query protocol, XML): ${fn} for each
 * MetricDataResult, the NextToken into ${next} ("" if none).  Return the
 * number of results, or -1 with ${err} set (not XML, not this answer, a
 * timestamp or value that does not parse, Timestamps and Values of
 * different lengths, a token too long for ${nextlen}).
 */
int cw_parse_gmd(const char *body, size_t len, cw_result_fn *fn, void *cookie,
    char *next, size_t nextlen, struct ag_err *err);

/*
 * cw_instance_fn: one instance of a DescribeInstances answer: its id, its
 * state name ("running", ...) and its tags (${ntags} keys and values).
 * Return 0, or -1 to stop.
 */
typedef int cw_instance_fn(void *cookie, const char *id, const char *state,
    const char *const *keys, const char *const *values, size_t ntags);

/**
 * cw_parse_instances(body, len, fn, cookie, next, nextlen, err):
 * Read a DescribeInstances answer (EC2 query protocol): ${fn} for every
 * instance of every reservation, the nextToken into ${next}.  Return the
 * number of instances, or -1 with ${err} set.
 */
int cw_parse_instances(const char *body, size_t len, cw_instance_fn *fn,
    void *cookie, char *next, size_t nextlen, struct ag_err *err);

/*
 * cw_metric_fn: one metric of a ListMetrics answer: its namespace, name and
 * ${n} dimensions (${names}, ${values}).  Return 0, or -1 to stop.
 */
typedef int cw_metric_fn(void *cookie, const char *ns, const char *name,
    const char *const *names, const char *const *values, size_t n);

/**
 * cw_parse_list_metrics(body, len, fn, cookie, next, nextlen, err):
 * Read a ListMetrics answer (query protocol): ${fn} for every metric, the
 * NextToken into ${next}.  Return the number of metrics, or -1 with ${err}
 * set.
 */
int cw_parse_list_metrics(const char *body, size_t len, cw_metric_fn *fn,
    void *cookie, char *next, size_t nextlen, struct ag_err *err);

/**
 * cw_parse_error(body, len, code, codelen, msg, msglen):
 * The Code and Message of an AWS query-protocol error (<ErrorResponse>, or
 * EC2's <Response><Errors>).  Return 1 if there was a Code, else 0.
 */
int cw_parse_error(const char *body, size_t len, char *code, size_t codelen,
    char *msg, size_t msglen);

/**
 * cw_result_alloc(id, nts, nv, ret_ts, ret_v, err):
 * What both readers check of one MetricDataResult before its points: an
 * Id, as many Timestamps (${nts}) as Values (${nv}), at most
 * CW_POINTS_MAX; then room for them in *${ret_ts} and *${ret_v} (NULL
 * when there are none; the caller frees them).  Return 0, or -1 with
 * ${err} set and nothing to free.
 */
int cw_result_alloc(const char *id, size_t nts, size_t nv, int64_t **ret_ts,
    double **ret_v, struct ag_err *err);

/**
 * cw_json_gmd(body, len, fn, cookie, next, nextlen, err):
 * cw_parse_gmd() for an answer of the JSON protocol (awsJson1_0,
 * X-Amz-Target GraniteServiceVersion20100801.GetMetricData): Timestamps
 * as epoch seconds (the protocol's form) or RFC 3339 strings.
 */
int cw_json_gmd(const char *body, size_t len, cw_result_fn *fn, void *cookie,
    char *next, size_t nextlen, struct ag_err *err);

/**
 * cw_json_list_metrics(body, len, fn, cookie, next, nextlen, err):
 * cw_parse_list_metrics() for an answer of the JSON protocol.
 */
int cw_json_list_metrics(const char *body, size_t len, cw_metric_fn *fn,
    void *cookie, char *next, size_t nextlen, struct ag_err *err);

/**
 * cw_json_error(body, len, query_error, error_type, code, codelen, msg,
 * msglen):
 * The code and message of a JSON-protocol error: the code from the
 * x-amzn-query-error header ${query_error} ("Code;Sender": CloudWatch is
 * query-compatible, so the codes are the query protocol's), else the
 * X-Amzn-ErrorType header ${error_type}, else the body's "__type" or
 * "code", each cut to the shape name ("ns#Name:uri" -> "Name"); the
 * message from "message" or "Message".  Return 1 if there was a code.
 */
int cw_json_error(const char *body, size_t len, const char *query_error,
    const char *error_type, char *code, size_t codelen, char *msg,
    size_t msglen);

/* cw_throttled(status, code): is this answer a request to slow down? */
int cw_throttled(long status, const char *code);

/**
 * cw_form_add(b, key, value):
 * Append "&key=value" ("key=value" to an empty buffer) with the value
 * percent-encoded for a query-protocol form body.
 */
void cw_form_add(struct buf *b, const char *key, const char *value);

/**
 * cw_window_end(now_s, period_s, delay_s):
 * The end of the newest complete window: (now - delay) aligned down to the
 * period, in seconds since the epoch.
 */
int64_t cw_window_end(int64_t now_s, int64_t period_s, int64_t delay_s);

/* What a series remembers between polls (cw_settle()). */
struct cw_track {
	int64_t last_fed_s; /* newest bucket fed; INT64_MIN: none */
	bool has_prov;	    /* the newest bucket of the last window */
	int64_t prov_ts;    /* its start, seconds */
	double prov_v;	    /* and the newest value read for it */
};

typedef void cw_emit_fn(void *cookie, int64_t ts_s, double v);

/**
 * cw_settle(t, ts, v, n, end, p, emit, cookie):
 * A poll of window [.., ${end}) (period ${p}) read the ${n} points ${ts}
 * (bucket starts, seconds, in the order read) and ${v}.  Call ${emit} in
 * time order for each settled bucket not fed before, once, with the
 * newest value read for it (a later read of a time beats an earlier one;
 * the provisional bucket of ${t} counts as read before these); keep the
 * newest bucket of the window (start >= ${end} - ${p}) in ${t} as
 * provisional instead of feeding it.  Return 0, or -1 if out of memory
 * (nothing fed, ${t} unchanged).
 */
int cw_settle(struct cw_track *t, const int64_t *ts, const double *v, size_t n,
    int64_t end, int64_t p, cw_emit_fn *emit, void *cookie);

/**
 * cw_stat_valid(s):
 * Is ${s} a statistic GetMetricData knows: SampleCount, Average, Sum,
 * Minimum, Maximum, or an extended one (p99, p99.9, tm90, tc90, ts90, wm90,
 * IQM, TM(10%:90%), PR(:300) ...)?
 */
int cw_stat_valid(const char *s);

#endif
