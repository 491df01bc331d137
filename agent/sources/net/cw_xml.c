/*
 * cw_xml.c: the answers the CloudWatch source reads (see
 * cloudwatch_internal.h): GetMetricData and EC2's DescribeInstances in the
 * query protocol's XML, and their errors, through lib/cloud/cloud_xml.h;
 * plus the form encoding of the requests and the window arithmetic, which
 * need no network either, and cw_settle(), which decides which bucket is
 * fed when.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/clock.h"
#include "lib/cloud/aws/aws_query.h"
#include "lib/cloud/cloud_xml.h"
#include "agent/sources/net/cloudwatch_internal.h"

/* Count the element children of ${n} called ${name}. */
static size_t
count_children(xmlNodePtr n, const char *name)
{
	size_t k = 0;

	for (xmlNodePtr c = n != NULL ? n->children : NULL; c != NULL;
	     c = c->next)
		if (cloud_xml_is(c, name))
			k++;
	return k;
}

/* Parse the text of ${n} as a number; 0 or -1. */
static int
node_double(xmlNodePtr n, double *ret)
{
	char buf[64], *end;

	cloud_xml_copy(buf, sizeof(buf), n);
	errno = 0;
	*ret = strtod(buf, &end);
	if (buf[0] == '\0' || *end != '\0' || errno != 0 || !isfinite(*ret))
		return -1;
	return 0;
}

int
cw_result_alloc(const char *id, size_t nts, size_t nv, int64_t **ret_ts,
    double **ret_v, struct ag_err *err)
{
	*ret_ts = NULL;
	*ret_v = NULL;
	if (id[0] == '\0')
		return ag_err_set(err,
		    "GetMetricData: a result without an Id");
	if (nts != nv || nts > CW_POINTS_MAX)
		return ag_err_set(err,
		    "GetMetricData: result %s has %zu timestamps and %zu values",
		    id, nts, nv);
	if (nts > 0 &&
	    ((*ret_ts = calloc(nts, sizeof(**ret_ts))) == NULL ||
		(*ret_v = calloc(nv, sizeof(**ret_v))) == NULL)) {
		free(*ret_ts);
		*ret_ts = NULL;
		return ag_err_set(err, "GetMetricData: out of memory");
	}
	return 0;
}

/* Read one <member> of MetricDataResults and hand it to ${fn}. */
static int
one_result(xmlNodePtr m, cw_result_fn *fn, void *cookie, struct ag_err *err)
{
	xmlNodePtr tsn = cloud_xml_child(m, "Timestamps");
	xmlNodePtr vn = cloud_xml_child(m, "Values");
	char id[256], status[64], buf[64];
	size_t nts = count_children(tsn, "member");
	size_t nv = count_children(vn, "member"), i = 0;
	int64_t *ts = NULL;
	double *v = NULL;
	int rc = -1;

	cloud_xml_copy(id, sizeof(id), cloud_xml_child(m, "Id"));
	cloud_xml_copy(status, sizeof(status),
	    cloud_xml_child(m, "StatusCode"));
	if (cw_result_alloc(id, nts, nv, &ts, &v, err) != 0)
		return -1;
	for (xmlNodePtr c = tsn != NULL ? tsn->children : NULL; c != NULL;
	     c = c->next) {
		if (!cloud_xml_is(c, "member"))
			continue;
		cloud_xml_copy(buf, sizeof(buf), c);
		if (clock_parse_rfc3339(buf, &ts[i]) != 0) {
			(void)ag_err_set(err,
			    "GetMetricData: result %s: bad timestamp \"%.40s\"",
			    id, buf);
			goto out;
		}
		i++;
	}
	i = 0;
	for (xmlNodePtr c = vn != NULL ? vn->children : NULL; c != NULL;
	     c = c->next) {
		if (!cloud_xml_is(c, "member"))
			continue;
		if (node_double(c, &v[i]) != 0) {
			(void)ag_err_set(err,
			    "GetMetricData: result %s: a value is not a number",
			    id);
			goto out;
		}
		i++;
	}
	rc = fn(cookie, id, ts, v, nts, status);
out:
	free(ts);
	free(v);
	return rc;
}

/*
 * Parse ${body} as the answer ${root} of action ${what}: the document in
 * *${ret_doc} (xmlFreeDoc()) and its element ${result} (the root itself if
 * NULL), with the text of its child ${token} copied into ${next} ("" if
 * none).  NULL with ${err} set if it is not XML, not that answer, or the
 * token does not fit.
 */
static xmlNodePtr
answer_open(const char *body, size_t len, const char *what, const char *root,
    const char *result, const char *token, char *next, size_t nextlen,
    xmlDocPtr *ret_doc, struct ag_err *err)
{
	xmlDocPtr doc;
	xmlNodePtr r, res, tok;

	if (nextlen > 0)
		next[0] = '\0';
	if ((doc = cloud_xml_parse(body, len)) == NULL) {
		(void)ag_err_set(err, "%s: the answer is not XML", what);
		return NULL;
	}
	r = xmlDocGetRootElement(doc);
	res = result != NULL ? cloud_xml_child(r, result) : r;
	if (!cloud_xml_is(r, root) || res == NULL) {
		(void)ag_err_set(err, "%s: the answer is not a %s", what,
		    root);
		goto fail;
	}
	if ((tok = cloud_xml_child(res, token)) != NULL) {
		char *t = cloud_xml_node_text(tok);

		if (t == NULL || strlen(t) >= nextlen) {
			free(t);
			(void)ag_err_set(err, "%s: %s too long", what, token);
			goto fail;
		}
		memcpy(next, t, strlen(t) + 1);
		free(t);
	}
	*ret_doc = doc;
	return res;
fail:
	xmlFreeDoc(doc);
	return NULL;
}

int
cw_parse_gmd(const char *body, size_t len, cw_result_fn *fn, void *cookie,
    char *next, size_t nextlen, struct ag_err *err)
{
	xmlDocPtr doc;
	xmlNodePtr res, list;
	int n = 0;

	if ((res = answer_open(body, len, "GetMetricData",
		 "GetMetricDataResponse", "GetMetricDataResult", "NextToken",
		 next, nextlen, &doc, err)) == NULL)
		return -1;
	list = cloud_xml_child(res, "MetricDataResults");
	for (xmlNodePtr m = list != NULL ? list->children : NULL; m != NULL;
	     m = m->next) {
		if (!cloud_xml_is(m, "member"))
			continue;
		if (one_result(m, fn, cookie, err) != 0) {
			xmlFreeDoc(doc);
			return -1;
		}
		n++;
	}
	xmlFreeDoc(doc);
	return n;
}

/* Read one instance <item> and hand it to ${fn}. */
static int
one_instance(xmlNodePtr it, cw_instance_fn *fn, void *cookie,
    struct ag_err *err)
{
	char id[64], state[32];
	char *keys[CW_TAGS_MAX], *vals[CW_TAGS_MAX];
	size_t nt = 0;
	int rc = -1;

	cloud_xml_copy(id, sizeof(id), cloud_xml_child(it, "instanceId"));
	cloud_xml_copy(state, sizeof(state),
	    cloud_xml_child(cloud_xml_child(it, "instanceState"), "name"));
	if (id[0] == '\0')
		return ag_err_set(err,
		    "DescribeInstances: an instance without an instanceId");
	for (xmlNodePtr t = cloud_xml_child(it, "tagSet") != NULL ?
		 cloud_xml_child(it, "tagSet")->children :
		 NULL;
	     t != NULL; t = t->next) {
		if (!cloud_xml_is(t, "item"))
			continue;
		if (nt == CW_TAGS_MAX) {
			(void)ag_err_set(err,
			    "DescribeInstances: %s has more than %d tags", id,
			    CW_TAGS_MAX);
			goto out;
		}
		keys[nt] = cloud_xml_node_text(cloud_xml_child(t, "key"));
		vals[nt] = cloud_xml_node_text(cloud_xml_child(t, "value"));
		if (keys[nt] == NULL)
			keys[nt] = strdup("");
		if (vals[nt] == NULL)
			vals[nt] = strdup("");
		nt++;
		if (keys[nt - 1] == NULL || vals[nt - 1] == NULL) {
			(void)ag_err_set(err,
			    "DescribeInstances: out of memory");
			goto out;
		}
	}
	rc = fn(cookie, id, state, (const char *const *)keys,
	    (const char *const *)vals, nt);
out:
	for (size_t i = 0; i < nt; i++) {
		free(keys[i]);
		free(vals[i]);
	}
	return rc;
}

int
cw_parse_instances(const char *body, size_t len, cw_instance_fn *fn,
    void *cookie, char *next, size_t nextlen, struct ag_err *err)
{
	xmlDocPtr doc;
	xmlNodePtr root, rs;
	int n = 0;

	if ((root = answer_open(body, len, "DescribeInstances",
		 "DescribeInstancesResponse", NULL, "nextToken", next, nextlen,
		 &doc, err)) == NULL)
		return -1;
	rs = cloud_xml_child(root, "reservationSet");
	for (xmlNodePtr r = rs != NULL ? rs->children : NULL; r != NULL;
	     r = r->next) {
		xmlNodePtr is;

		if (!cloud_xml_is(r, "item"))
			continue;
		is = cloud_xml_child(r, "instancesSet");
		for (xmlNodePtr i = is != NULL ? is->children : NULL;
		     i != NULL; i = i->next) {
			if (!cloud_xml_is(i, "item"))
				continue;
			if (one_instance(i, fn, cookie, err) != 0) {
				xmlFreeDoc(doc);
				return -1;
			}
			n++;
		}
	}
	xmlFreeDoc(doc);
	return n;
}

/* Read one <member> of Metrics and hand it to ${fn}. */
static int
one_metric(xmlNodePtr m, cw_metric_fn *fn, void *cookie, struct ag_err *err)
{
	char *names[CW_TAGS_MAX], *vals[CW_TAGS_MAX];
	char ns[256], name[256];
	xmlNodePtr dims = cloud_xml_child(m, "Dimensions");
	size_t n = 0;
	int rc = -1;

	cloud_xml_copy(ns, sizeof(ns), cloud_xml_child(m, "Namespace"));
	cloud_xml_copy(name, sizeof(name), cloud_xml_child(m, "MetricName"));
	if (ns[0] == '\0' || name[0] == '\0')
		return ag_err_set(err,
		    "ListMetrics: a metric without a namespace or name");
	for (xmlNodePtr d = dims != NULL ? dims->children : NULL; d != NULL;
	     d = d->next) {
		if (!cloud_xml_is(d, "member"))
			continue;
		if (n == CW_TAGS_MAX) {
			(void)ag_err_set(err,
			    "ListMetrics: %s has more than %d dimensions",
			    name, CW_TAGS_MAX);
			goto out;
		}
		names[n] = cloud_xml_node_text(cloud_xml_child(d, "Name"));
		vals[n] = cloud_xml_node_text(cloud_xml_child(d, "Value"));
		n++;
		if (names[n - 1] == NULL || vals[n - 1] == NULL) {
			(void)ag_err_set(err,
			    "ListMetrics: %s: a dimension without a name or "
			    "value",
			    name);
			goto out;
		}
	}
	rc = fn(cookie, ns, name, (const char *const *)names,
	    (const char *const *)vals, n);
out:
	for (size_t i = 0; i < n; i++) {
		free(names[i]);
		free(vals[i]);
	}
	return rc;
}

int
cw_parse_list_metrics(const char *body, size_t len, cw_metric_fn *fn,
    void *cookie, char *next, size_t nextlen, struct ag_err *err)
{
	xmlDocPtr doc;
	xmlNodePtr res, list;
	int n = 0;

	if ((res = answer_open(body, len, "ListMetrics", "ListMetricsResponse",
		 "ListMetricsResult", "NextToken", next, nextlen, &doc,
		 err)) == NULL)
		return -1;
	list = cloud_xml_child(res, "Metrics");
	for (xmlNodePtr m = list != NULL ? list->children : NULL; m != NULL;
	     m = m->next) {
		if (!cloud_xml_is(m, "member"))
			continue;
		if (one_metric(m, fn, cookie, err) != 0) {
			xmlFreeDoc(doc);
			return -1;
		}
		n++;
	}
	xmlFreeDoc(doc);
	return n;
}

/* The query protocol's errors, throttling and form: aws_query.h's. */
int
cw_parse_error(const char *body, size_t len, char *code, size_t codelen,
    char *msg, size_t msglen)
{
	return aws_query_error(body, len, code, codelen, msg, msglen);
}

int
cw_throttled(long status, const char *code)
{
	return aws_query_throttled(status, code);
}

void
cw_form_add(struct buf *b, const char *key, const char *value)
{
	aws_query_form_add(b, key, value);
}

int64_t
cw_window_end(int64_t now_s, int64_t period_s, int64_t delay_s)
{
	int64_t t = now_s - delay_s;

	if (period_s <= 0)
		return t;
	/* Floor division: times before 1970 do not occur, but be exact. */
	return (t >= 0 ? t / period_s : (t - period_s + 1) / period_s) *
	    period_s;
}

/* Is ${s} all digits and at most one '.', non-empty, within (0, 100]? */
static int
pct_ok(const char *s)
{
	char *end;
	double v;

	if (*s == '\0' || strspn(s, "0123456789.") != strlen(s))
		return 0;
	errno = 0;
	v = strtod(s, &end);
	return *end == '\0' && errno == 0 && v > 0 && v <= 100;
}

int
cw_stat_valid(const char *s)
{
	static const char *const plain[] = { "SampleCount", "Average", "Sum",
		"Minimum", "Maximum", "IQM", NULL };
	static const char *const ext[] = { "p", "tm", "tc", "ts", "wm", NULL };
	static const char *const range[] = { "TM(", "TC(", "TS(", "WM(", "PR(",
		NULL };
	size_t n = strlen(s);

	for (size_t i = 0; plain[i] != NULL; i++)
		if (strcmp(s, plain[i]) == 0)
			return 1;
	for (size_t i = 0; ext[i] != NULL; i++) {
		size_t k = strlen(ext[i]);

		if (strncmp(s, ext[i], k) == 0 && pct_ok(s + k))
			return 1;
	}
	/* Ranges: TM(10%:90%), PR(:300); checked loosely, AWS judges. */
	for (size_t i = 0; range[i] != NULL; i++)
		if (strncmp(s, range[i], 3) == 0 && n > 4 && s[n - 1] == ')' &&
		    strchr(s, ':') != NULL && n < 64)
			return 1;
	return 0;
}

/* A point read: its bucket, value and the order it was read in. */
struct cw_point {
	int64_t ts;
	double v;
	size_t seq;
};

static int
cmp_point(const void *a, const void *b)
{
	const struct cw_point *x = a, *y = b;

	if (x->ts != y->ts)
		return x->ts < y->ts ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

int
cw_settle(struct cw_track *t, const int64_t *ts, const double *v, size_t n,
    int64_t end, int64_t p, cw_emit_fn *emit, void *cookie)
{
	struct cw_point *pt;
	size_t k = 0;

	if ((pt = calloc(n + 1, sizeof(*pt))) == NULL)
		return -1;
	if (t->has_prov)
		pt[k++] = (struct cw_point){ t->prov_ts, t->prov_v, 0 };
	for (size_t i = 0; i < n; i++)
		pt[k++] = (struct cw_point){ ts[i], v[i], i + 1 };
	qsort(pt, k, sizeof(*pt), cmp_point);
	t->has_prov = false;
	for (size_t i = 0; i < k; i++) {
		/* Of several reads of one bucket, the last is the newest. */
		if (i + 1 < k && pt[i + 1].ts == pt[i].ts)
			continue;
		if (pt[i].ts <= t->last_fed_s)
			continue; /* never the same point twice */
		if (pt[i].ts >= end - p) {
			t->has_prov = true;
			t->prov_ts = pt[i].ts;
			t->prov_v = pt[i].v;
			continue;
		}
		emit(cookie, pt[i].ts, pt[i].v);
		t->last_fed_s = pt[i].ts;
	}
	free(pt);
	return 0;
}
