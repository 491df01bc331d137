/*
 * test_cloudwatch.c: what the CloudWatch source reads and decides without
 * a network (agent/sources/net/cloudwatch_internal.h): GetMetricData
 * answers (the recorded outputs of aws-cli's get-metric-data examples in
 * ../shared/conformance/aws-responses/aws-cli-examples/, put on the wire
 * as the query protocol writes them, and the shape moto 5.2.1 answers),
 * the same outputs and aws-cli's list-metrics example and botocore's
 * recorded ListMetrics answer read as CloudWatch's JSON protocol sends
 * them (cw_json.c), every JSON error case of the awsJson1_0 and
 * query-compatible protocol tests in ../shared/conformance/aws-responses/
 * botocore/protocols/output/, DescribeInstances answers, errors and
 * throttling, the form encoding, the
 * window arithmetic, the statistics accepted, and cw_settle(): late data
 * corrected before it is fed, each bucket fed once, never a partial one.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "lib/buf.h"
#include "lib/clock.h"
#include "agent/runconf.h"
#include "agent/source.h"
#include "agent/sources/net/cloudwatch_internal.h"
#include "tests/unit/fakes/testutil.h"

/* What the callbacks saw. */
struct seen {
	size_t n;
	char id[8][64];
	char status[8][32];
	size_t npts[8];
	int64_t ts[8][8];
	double v[8][8];
};

static int
on_result(void *cookie, const char *id, const int64_t *ts, const double *v,
    size_t n, const char *status)
{
	struct seen *s = cookie;

	assert_true(s->n < 8 && n <= 8);
	snprintf(s->id[s->n], sizeof(s->id[0]), "%s", id);
	snprintf(s->status[s->n], sizeof(s->status[0]), "%s", status);
	s->npts[s->n] = n;
	for (size_t i = 0; i < n; i++) {
		s->ts[s->n][i] = ts[i];
		s->v[s->n][i] = v[i];
	}
	s->n++;
	return 0;
}

/* The JSON blocks after each "Output::" of an aws-cli example file. */
static size_t
rst_outputs(const char *text, json_t **ret, size_t max)
{
	const char *p = text;
	size_t n = 0;

	while (n < max && (p = strstr(p, "Output::")) != NULL) {
		struct buf b;
		const char *line = strchr(p, '\n');

		buf_init(&b, 1 << 20);
		/* The indented lines that follow, up to the next prose. */
		for (line = line ? line + 1 : NULL; line != NULL && *line;) {
			const char *eol = strchr(line, '\n');
			size_t len = eol ? (size_t)(eol - line) : strlen(line);

			if (len > 0 && line[0] != ' ')
				break;
			buf_append(&b, line, len);
			buf_puts(&b, "\n");
			line = eol ? eol + 1 : NULL;
		}
		assert_int_equal(b.err, 0);
		ret[n] = json_loads(b.p, 0, NULL);
		assert_non_null(ret[n]);
		n++;
		buf_free(&b);
		p += 8;
	}
	return n;
}

/* ${o} (a parsed GetMetricData output) written as the query protocol. */
static char *
to_query_xml(json_t *o)
{
	struct buf b;
	json_t *r, *x;
	size_t i, j;

	buf_init(&b, 1 << 20);
	buf_puts(&b,
	    "<GetMetricDataResponse xmlns=\"http://monitoring."
	    "amazonaws.com/doc/2010-08-01/\"><GetMetricDataResult>"
	    "<MetricDataResults>");
	json_array_foreach(json_object_get(o, "MetricDataResults"), i, r)
	{
		char num[64];

		buf_puts(&b, "<member><Id>");
		buf_puts(&b, json_string_value(json_object_get(r, "Id")));
		buf_puts(&b, "</Id><Label>");
		buf_puts(&b, json_string_value(json_object_get(r, "Label")));
		buf_puts(&b, "</Label><Timestamps>");
		json_array_foreach(json_object_get(r, "Timestamps"), j, x)
		{
			buf_puts(&b, "<member>");
			buf_puts(&b, json_string_value(x));
			buf_puts(&b, "</member>");
		}
		buf_puts(&b, "</Timestamps><Values>");
		json_array_foreach(json_object_get(r, "Values"), j, x)
		{
			snprintf(num, sizeof(num), "%.17g",
			    json_number_value(x));
			buf_puts(&b, "<member>");
			buf_puts(&b, num);
			buf_puts(&b, "</member>");
		}
		buf_puts(&b, "</Values><StatusCode>");
		buf_puts(&b,
		    json_string_value(json_object_get(r, "StatusCode")));
		buf_puts(&b, "</StatusCode></member>");
	}
	buf_puts(&b,
	    "</MetricDataResults><Messages/></GetMetricDataResult>"
	    "<ResponseMetadata><RequestId>x</RequestId>"
	    "</ResponseMetadata></GetMetricDataResponse>");
	assert_int_equal(b.err, 0);
	return buf_take(&b);
}

static void
test_gmd_recorded(void **state)
{
	const char *shared = getenv("VIGIL_SHARED");
	char path[1024], next[64];
	struct ag_err err;
	json_t *out[8];
	uint8_t *text;
	size_t len, n;

	(void)state;
	snprintf(path, sizeof(path),
	    "%s/conformance/aws-responses/aws-cli-examples/cloudwatch/"
	    "get-metric-data.rst",
	    shared ? shared : "../../shared");
	text = tu_read_file(path, &len);
	assert_non_null(text);
	n = rst_outputs((const char *)text, out, 8);
	assert_int_equal(n, 2); /* the file's two examples */
	for (size_t k = 0; k < n; k++) {
		json_t *results = json_object_get(out[k], "MetricDataResults");
		char *xml = to_query_xml(out[k]);
		struct seen s = { 0 };
		json_t *r;
		size_t i;

		assert_int_equal(cw_parse_gmd(xml, strlen(xml), on_result, &s,
				     next, sizeof(next), &err),
		    (int)json_array_size(results));
		assert_string_equal(next, "");
		json_array_foreach(results, i, r)
		{
			json_t *tsv = json_object_get(r, "Timestamps");
			json_t *vv = json_object_get(r, "Values");

			assert_string_equal(s.id[i],
			    json_string_value(json_object_get(r, "Id")));
			assert_string_equal(s.status[i],
			    json_string_value(json_object_get(r,
				"StatusCode")));
			assert_int_equal(s.npts[i], json_array_size(tsv));
			for (size_t j = 0; j < s.npts[i]; j++) {
				int64_t want;

				assert_int_equal(
				    clock_parse_rfc3339(
					json_string_value(json_array_get(tsv,
					    j)),
					&want),
				    0);
				assert_int_equal(s.ts[i][j], want);
				assert_true(s.v[i][j] ==
				    json_number_value(json_array_get(vv, j)));
			}
		}
		free(xml);
		json_decref(out[k]);
	}
	/* The values of the file, so a reader that read nothing fails. */
	free(text);
}

static void
test_gmd_moto_shape(void **state)
{
	/* As moto 5.2.1 answers, paged, with a second result. */
	static const char body[] =
	    "<GetMetricDataResponse xmlns=\"http://monitoring.amazonaws.com/"
	    "doc/2010-08-01/\"><GetMetricDataResult><MetricDataResults>"
	    "<member><Id>q0</Id><Label>Load Average</Label><Timestamps>"
	    "<member>2026-12-03T08:50:30Z</member><member>2026-12-03T08:50:40Z"
	    "</member></Timestamps><Values><member>42.0</member><member>"
	    "-1.5e3</member></Values><StatusCode>Complete</StatusCode>"
	    "</member><member><Id>q1</Id><Timestamps/><Values/><StatusCode>"
	    "PartialData</StatusCode></member></MetricDataResults>"
	    "<NextToken>tok/en+=</NextToken></GetMetricDataResult>"
	    "<ResponseMetadata><RequestId>6Zda</RequestId></ResponseMetadata>"
	    "</GetMetricDataResponse>";
	struct seen s = { 0 };
	struct ag_err err;
	char next[64], small[4];
	int64_t t;

	(void)state;
	assert_int_equal(cw_parse_gmd(body, strlen(body), on_result, &s, next,
			     sizeof(next), &err),
	    2);
	assert_string_equal(next, "tok/en+=");
	assert_string_equal(s.id[0], "q0");
	assert_int_equal(s.npts[0], 2);
	assert_int_equal(clock_parse_rfc3339("2026-12-03T08:50:40Z", &t), 0);
	assert_int_equal(s.ts[0][1], t);
	assert_true(s.v[0][0] == 42.0 && s.v[0][1] == -1500.0);
	assert_string_equal(s.status[1], "PartialData");
	assert_int_equal(s.npts[1], 0);
	/* A token that does not fit is an error, not a cut token. */
	assert_int_equal(cw_parse_gmd(body, strlen(body), on_result, &s, small,
			     sizeof(small), &err),
	    -1);
}

static void
test_gmd_bad(void **state)
{
	static const char *const bad[] = {
		"not xml",
		"<ListMetricsResponse><ListMetricsResult/></ListMetricsResponse>",
		"<GetMetricDataResponse><GetMetricDataResult><MetricDataResults>"
		"<member><Id>q0</Id><Timestamps><member>2026-12-03T08:50:30Z"
		"</member></Timestamps><Values/></member></MetricDataResults>"
		"</GetMetricDataResult></GetMetricDataResponse>",
		"<GetMetricDataResponse><GetMetricDataResult><MetricDataResults>"
		"<member><Id>q0</Id><Timestamps><member>yesterday</member>"
		"</Timestamps><Values><member>1</member></Values></member>"
		"</MetricDataResults></GetMetricDataResult>"
		"</GetMetricDataResponse>",
		"<GetMetricDataResponse><GetMetricDataResult><MetricDataResults>"
		"<member><Id>q0</Id><Timestamps><member>2026-12-03T08:50:30Z"
		"</member></Timestamps><Values><member>1x</member></Values>"
		"</member></MetricDataResults></GetMetricDataResult>"
		"</GetMetricDataResponse>",
		"<GetMetricDataResponse><GetMetricDataResult><MetricDataResults>"
		"<member><Timestamps/><Values/></member></MetricDataResults>"
		"</GetMetricDataResult></GetMetricDataResponse>",
	};
	struct seen s = { 0 };
	struct ag_err err;
	char next[64];

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		err.msg[0] = '\0';
		assert_int_equal(cw_parse_gmd(bad[i], strlen(bad[i]),
				     on_result, &s, next, sizeof(next), &err),
		    -1);
		assert_true(err.msg[0] != '\0');
	}
	assert_int_equal(s.n, 0);
}

/* The recorded ListMetrics answer and error, against their parsed JSON. */
struct lm {
	json_t *got;
};

static int
on_metric(void *cookie, const char *ns, const char *name,
    const char *const *names, const char *const *values, size_t n)
{
	struct lm *l = cookie;
	json_t *dims = json_array(), *m;

	for (size_t i = 0; i < n; i++)
		json_array_append_new(dims,
		    json_pack("{s:s, s:s}", "Name", names[i], "Value",
			values[i]));
	m = json_pack("{s:s, s:s, s:o}", "Namespace", ns, "MetricName", name,
	    "Dimensions", dims);
	json_array_append_new(l->got, m);
	return 0;
}

static char *
shared_path(const char *rel)
{
	const char *shared = getenv("VIGIL_SHARED");
	static char path[1024];

	snprintf(path, sizeof(path),
	    "%s/conformance/aws-responses/botocore/response_parsing/xml/%s",
	    shared ? shared : "../../shared", rel);
	return path;
}

static void
test_list_metrics_recorded(void **state)
{
	struct lm l = { json_array() };
	struct ag_err err;
	char next[64], code[64], msg[128];
	uint8_t *xml;
	json_t *want, *werr;
	size_t len;

	(void)state;
	xml = tu_read_file(shared_path("responses/cloudwatch-list-metrics.xml"),
	    &len);
	want = json_load_file(
	    shared_path("responses/cloudwatch-list-metrics.json"), 0, NULL);
	assert_non_null(xml);
	assert_non_null(want);
	assert_int_equal(cw_parse_list_metrics((const char *)xml, len,
			     on_metric, &l, next, sizeof(next), &err),
	    (int)json_array_size(json_object_get(want, "Metrics")));
	assert_true(json_array_size(l.got) > 0);
	assert_true(json_equal(l.got, json_object_get(want, "Metrics")));
	assert_string_equal(next, "");
	free(xml);
	json_decref(want);
	json_decref(l.got);

	/* The recorded CloudWatch error. */
	xml = tu_read_file(
	    shared_path("errors/cloudwatch-describe-alarm-history.xml"), &len);
	werr = json_load_file(
	    shared_path("errors/cloudwatch-describe-alarm-history.json"), 0,
	    NULL);
	assert_non_null(xml);
	assert_non_null(werr);
	assert_int_equal(cw_parse_error((const char *)xml, len, code,
			     sizeof(code), msg, sizeof(msg)),
	    1);
	assert_string_equal(code,
	    json_string_value(json_object_get(json_object_get(werr, "Error"),
		"Code")));
	assert_string_equal(msg,
	    json_string_value(json_object_get(json_object_get(werr, "Error"),
		"Message")));
	assert_false(cw_throttled(400, code));
	free(xml);
	json_decref(werr);
}

/* The shared file ${rel} below conformance/aws-responses/. */
static char *
aws_path(const char *rel)
{
	const char *shared = getenv("VIGIL_SHARED");
	static char path[1024];

	snprintf(path, sizeof(path), "%s/conformance/aws-responses/%s",
	    shared ? shared : "../../shared", rel);
	return path;
}

/*
 * Check what cw_json_gmd() read from ${body} against the parsed output
 * ${want} (MetricDataResults with RFC 3339 Timestamps).
 */
static void
check_gmd_json(const char *body, json_t *want)
{
	json_t *results = json_object_get(want, "MetricDataResults"), *r;
	struct seen s = { 0 };
	struct ag_err err = { "" };
	char next[64];
	size_t i;

	assert_int_equal(cw_json_gmd(body, strlen(body), on_result, &s, next,
			     sizeof(next), &err),
	    (int)json_array_size(results));
	assert_true(json_array_size(results) > 0);
	assert_string_equal(next, "");
	json_array_foreach(results, i, r)
	{
		json_t *tsv = json_object_get(r, "Timestamps");
		json_t *vv = json_object_get(r, "Values");

		assert_string_equal(s.id[i],
		    json_string_value(json_object_get(r, "Id")));
		assert_string_equal(s.status[i],
		    json_string_value(json_object_get(r, "StatusCode")));
		assert_int_equal(s.npts[i], json_array_size(tsv));
		assert_true(s.npts[i] > 0);
		for (size_t j = 0; j < s.npts[i]; j++) {
			int64_t want_ts;

			assert_int_equal(
			    clock_parse_rfc3339(
				json_string_value(json_array_get(tsv, j)),
				&want_ts),
			    0);
			assert_int_equal(s.ts[i][j], want_ts);
			assert_true(s.v[i][j] ==
			    json_number_value(json_array_get(vv, j)));
		}
	}
}

/*
 * The JSON protocol: aws-cli's get-metric-data outputs as they are (RFC
 * 3339 timestamps) and as awsJson1_0 puts them on the wire (epoch
 * seconds); the list-metrics output and botocore's recorded ListMetrics
 * (also read from its XML: the same metrics); moto's shape, paged.
 */
static void
test_json_recorded(void **state)
{
	json_t *out[8], *r, *t;
	struct ag_err err = { "" };
	char next[64];
	uint8_t *text;
	size_t len, n, i, j;

	(void)state;
	text = tu_read_file(
	    aws_path("aws-cli-examples/cloudwatch/get-metric-data.rst"), &len);
	assert_non_null(text);
	n = rst_outputs((const char *)text, out, 8);
	assert_int_equal(n, 2);
	for (size_t k = 0; k < n; k++) {
		json_t *wire = json_deep_copy(out[k]);
		char *body = json_dumps(out[k], 0), *wbody;

		check_gmd_json(body, out[k]);
		json_array_foreach(json_object_get(wire, "MetricDataResults"),
		    i, r)
		{
			json_array_foreach(json_object_get(r, "Timestamps"), j,
			    t)
			{
				int64_t ms;

				assert_int_equal(
				    clock_parse_rfc3339(json_string_value(t),
					&ms),
				    0);
				json_array_set_new(json_object_get(r,
						       "Timestamps"),
				    j, json_integer(ms / 1000));
			}
		}
		wbody = json_dumps(wire, JSON_COMPACT);
		assert_null(strstr(wbody, "+00:00"));
		check_gmd_json(wbody, out[k]);
		free(body);
		free(wbody);
		json_decref(wire);
		json_decref(out[k]);
	}
	free(text);

	text = tu_read_file(
	    aws_path("aws-cli-examples/cloudwatch/list-metrics.rst"), &len);
	assert_non_null(text);
	assert_int_equal(rst_outputs((const char *)text, out, 8), 1);
	{
		struct lm l = { json_array() };
		char *body = json_dumps(out[0], 0);

		assert_int_equal(cw_json_list_metrics(body, strlen(body),
				     on_metric, &l, next, sizeof(next), &err),
		    (int)json_array_size(json_object_get(out[0], "Metrics")));
		assert_true(json_array_size(l.got) >= 3);
		assert_true(json_equal(l.got,
		    json_object_get(out[0], "Metrics")));
		free(body);
		json_decref(l.got);
		json_decref(out[0]);
	}
	free(text);

	{
		struct lm lj = { json_array() }, lx = { json_array() };
		char *body;
		uint8_t *xml;
		json_t *want;

		text = tu_read_file(aws_path("botocore/response_parsing/xml/"
					     "responses/"
					     "cloudwatch-list-metrics.json"),
		    &len);
		xml = tu_read_file(aws_path("botocore/response_parsing/xml/"
					    "responses/"
					    "cloudwatch-list-metrics.xml"),
		    &n);
		assert_non_null(text);
		assert_non_null(xml);
		want = json_loadb((const char *)text, len, 0, NULL);
		assert_non_null(want);
		body = json_dumps(want, 0);
		assert_int_equal(cw_json_list_metrics(body, strlen(body),
				     on_metric, &lj, next, sizeof(next), &err),
		    (int)json_array_size(json_object_get(want, "Metrics")));
		assert_true(json_equal(lj.got,
		    json_object_get(want, "Metrics")));
		assert_true(cw_parse_list_metrics((const char *)xml, n,
				on_metric, &lx, next, sizeof(next), &err) > 0);
		assert_true(json_equal(lj.got, lx.got));
		free(body);
		free(xml);
		free(text);
		json_decref(want);
		json_decref(lj.got);
		json_decref(lx.got);
	}

	{
		/* As moto 5.2.1 answers the JSON protocol, with a page. */
		static const char body[] =
		    "{\"MetricDataResults\": [{\"Id\": \"q0\", \"Label\": "
		    "\"M Maximum\", \"Timestamps\": [1796303632, 1796303692.5],"
		    " \"Values\": [42.5, -1.5e3], \"StatusCode\": "
		    "\"Complete\"}, {\"Id\": \"q1\", \"Timestamps\": [], "
		    "\"Values\": [], \"StatusCode\": \"PartialData\"}], "
		    "\"NextToken\": \"tok/en+=\", \"Messages\": []}";
		struct seen s = { 0 };

		assert_int_equal(cw_json_gmd(body, strlen(body), on_result, &s,
				     next, sizeof(next), &err),
		    2);
		assert_string_equal(next, "tok/en+=");
		assert_int_equal(s.npts[0], 2);
		assert_int_equal(s.ts[0][0], 1796303632000LL);
		assert_int_equal(s.ts[0][1], 1796303692500LL);
		assert_true(s.v[0][0] == 42.5 && s.v[0][1] == -1500.0);
		assert_string_equal(s.status[1], "PartialData");
	}
}

/* Malformed JSON answers: an error each, nothing handed on. */
static void
test_json_bad(void **state)
{
	static const char *const bad[] = {
		"not json",
		"[1, 2]",
		"{\"MetricDataResults\": {}}",
		"{\"MetricDataResults\": [{\"Timestamps\": [], \"Values\": "
		"[]}]}",
		"{\"MetricDataResults\": [{\"Id\": \"q0\", \"Timestamps\": "
		"[1], \"Values\": []}]}",
		"{\"MetricDataResults\": [{\"Id\": \"q0\", \"Timestamps\": "
		"[\"yesterday\"], \"Values\": [1]}]}",
		"{\"MetricDataResults\": [{\"Id\": \"q0\", \"Timestamps\": "
		"[1], \"Values\": [\"1\"]}]}",
		"{\"MetricDataResults\": [{\"Id\": \"q0\", \"Timestamps\": "
		"1, \"Values\": 1}]}",
		"{\"MetricDataResults\": [], \"NextToken\": 7}",
		"{\"MetricDataResults\": [], \"NextToken\": "
		"\"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abc"
		"def\"}",
	};
	static const char *const badlm[] = {
		"{\"Metrics\": [{\"Namespace\": \"A\"}]}",
		"{\"Metrics\": [{\"Namespace\": \"A\", \"MetricName\": "
		"\"B\", \"Dimensions\": [{\"Name\": \"X\"}]}]}",
		"{\"Metrics\": 3}",
	};
	struct seen s = { 0 };
	struct lm l = { json_array() };
	struct ag_err err;
	char next[64];

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		err.msg[0] = '\0';
		assert_int_equal(cw_json_gmd(bad[i], strlen(bad[i]), on_result,
				     &s, next, sizeof(next), &err),
		    -1);
		assert_true(err.msg[0] != '\0');
	}
	assert_int_equal(s.n, 0);
	for (size_t i = 0; i < ARRAY_SIZE(badlm); i++) {
		err.msg[0] = '\0';
		assert_int_equal(cw_json_list_metrics(badlm[i],
				     strlen(badlm[i]), on_metric, &l, next,
				     sizeof(next), &err),
		    -1);
		assert_true(err.msg[0] != '\0');
	}
	assert_int_equal(json_array_size(l.got), 0);
	json_decref(l.got);
}

/*
 * Every error case of the awsJson1_0 and query-compatible protocol tests:
 * the code (x-amzn-query-error, X-Amzn-Errortype, __type or code, cut to
 * the shape name) and the message they expect.
 */
static void
test_json_errors(void **state)
{
	static const char *const files[] = {
		"botocore/protocols/output/json_1_0.json",
		"botocore/protocols/output/json_1_0-query-compatible.json",
	};
	size_t ncases = 0;

	(void)state;
	for (size_t f = 0; f < ARRAY_SIZE(files); f++) {
		json_t *suites = json_load_file(aws_path(files[f]), 0, NULL);
		json_t *suite, *c;
		size_t i, j;

		assert_non_null(suites);
		json_array_foreach(suites, i, suite)
		{
			json_array_foreach(json_object_get(suite, "cases"), j,
			    c)
			{
				json_t *resp = json_object_get(c, "response");
				json_t *h = json_object_get(resp, "headers");
				const char *want =
				    json_string_value(json_object_get(c,
					"errorCode"));
				const char *wmsg =
				    json_string_value(json_object_get(c,
					"errorMessage"));
				const char *body =
				    json_string_value(json_object_get(resp,
					"body"));
				const char *qe = NULL, *et = NULL, *k;
				char code[64], msg[128];
				json_t *v;

				if (want == NULL)
					continue;
				json_object_foreach(h, k, v)
				{
					if (strcasecmp(k,
						"x-amzn-query-error") == 0)
						qe = json_string_value(v);
					else if (strcasecmp(k,
						     "x-amzn-errortype") == 0)
						et = json_string_value(v);
				}
				assert_int_equal(cw_json_error(body,
						     body ? strlen(body) : 0,
						     qe, et, code,
						     sizeof(code), msg,
						     sizeof(msg)),
				    1);
				assert_string_equal(code, want);
				if (wmsg != NULL)
					assert_string_equal(msg, wmsg);
				ncases++;
			}
		}
		json_decref(suites);
	}
	/* 12 in json_1_0.json, 2 query-compatible. */
	assert_int_equal(ncases, 14);
	{
		/* CloudWatch's throttling, as its JSON protocol sends it. */
		static const char body[] =
		    "{\"__type\": \"com.amazonaws.cloudwatch#"
		    "ThrottlingException\", \"message\": \"Rate exceeded\"}";
		char code[64], msg[64];

		assert_int_equal(cw_json_error(body, strlen(body),
				     "Throttling;Sender", NULL, code,
				     sizeof(code), msg, sizeof(msg)),
		    1);
		assert_string_equal(code, "Throttling");
		assert_string_equal(msg, "Rate exceeded");
		assert_true(cw_throttled(400, code));
		assert_int_equal(cw_json_error("<html>", 6, NULL, NULL, code,
				     sizeof(code), msg, sizeof(msg)),
		    0);
	}
}

struct inst {
	size_t n;
	char id[4][32];
	char state[4][16];
	size_t ntags[4];
	char tag0[4][64];
};

static int
on_inst(void *cookie, const char *id, const char *state, const char *const *k,
    const char *const *v, size_t nt)
{
	struct inst *in = cookie;

	assert_true(in->n < 4);
	snprintf(in->id[in->n], sizeof(in->id[0]), "%s", id);
	snprintf(in->state[in->n], sizeof(in->state[0]), "%s", state);
	in->ntags[in->n] = nt;
	if (nt > 0)
		snprintf(in->tag0[in->n], sizeof(in->tag0[0]), "%s=%s", k[0],
		    v[0]);
	in->n++;
	return 0;
}

static void
test_describe_instances(void **state)
{
	/* EC2's shape (moto 5.2.1 answers so), two reservations, paged. */
	static const char body[] =
	    "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
	    "<DescribeInstancesResponse xmlns=\"http://ec2.amazonaws.com/doc/"
	    "2016-11-15\"><requestId>r</requestId><reservationSet><item>"
	    "<reservationId>r-1</reservationId><instancesSet><item>"
	    "<instanceId>i-aaa</instanceId><instanceState><code>16</code>"
	    "<name>running</name></instanceState><networkInterfaceSet><item>"
	    "<instanceId>i-decoy</instanceId></item></networkInterfaceSet>"
	    "<tagSet><item><key>Role</key><value>web</value></item><item>"
	    "<key>Name</key><value>a</value></item></tagSet></item><item>"
	    "<instanceId>i-bbb</instanceId><instanceState><code>48</code>"
	    "<name>terminated</name></instanceState></item></instancesSet>"
	    "</item><item><instancesSet><item><instanceId>i-ccc</instanceId>"
	    "<instanceState><name>running</name></instanceState><tagSet>"
	    "<item><key>Role</key><value/></item></tagSet></item>"
	    "</instancesSet></item></reservationSet><nextToken>n2</nextToken>"
	    "</DescribeInstancesResponse>";
	struct inst in = { 0 };
	struct ag_err err;
	char next[16];

	(void)state;
	assert_int_equal(cw_parse_instances(body, strlen(body), on_inst, &in,
			     next, sizeof(next), &err),
	    3);
	assert_string_equal(next, "n2");
	assert_string_equal(in.id[0], "i-aaa");
	assert_string_equal(in.state[0], "running");
	assert_int_equal(in.ntags[0], 2);
	assert_string_equal(in.tag0[0], "Role=web");
	assert_string_equal(in.id[1], "i-bbb");
	assert_string_equal(in.state[1], "terminated");
	assert_int_equal(in.ntags[1], 0);
	assert_string_equal(in.id[2], "i-ccc");
	assert_string_equal(in.tag0[2], "Role=");
	assert_int_equal(cw_parse_instances("<x/>", 4, on_inst, &in, next,
			     sizeof(next), &err),
	    -1);
}

static void
test_errors(void **state)
{
	static const char query_err[] =
	    "<ErrorResponse xmlns=\"http://monitoring.amazonaws.com/doc/"
	    "2010-08-01/\"><Error><Type>Sender</Type><Code>Throttling</Code>"
	    "<Message>Rate exceeded</Message></Error><RequestId>x</RequestId>"
	    "</ErrorResponse>";
	static const char ec2_err[] =
	    "<Response><Errors><Error><Code>RequestLimitExceeded</Code>"
	    "<Message>Request limit exceeded.</Message></Error></Errors>"
	    "<RequestID>y</RequestID></Response>";
	char code[64], msg[64];

	(void)state;
	assert_int_equal(cw_parse_error(query_err, strlen(query_err), code,
			     sizeof(code), msg, sizeof(msg)),
	    1);
	assert_string_equal(code, "Throttling");
	assert_string_equal(msg, "Rate exceeded");
	assert_true(cw_throttled(400, code));
	assert_int_equal(cw_parse_error(ec2_err, strlen(ec2_err), code,
			     sizeof(code), msg, sizeof(msg)),
	    1);
	assert_string_equal(code, "RequestLimitExceeded");
	assert_true(cw_throttled(503, ""));
	assert_true(cw_throttled(429, NULL));
	assert_false(cw_throttled(400, "InvalidParameterValue"));
	assert_false(cw_throttled(403, "SignatureDoesNotMatch"));
	assert_int_equal(cw_parse_error("", 0, code, sizeof(code), msg,
			     sizeof(msg)),
	    0);
	assert_string_equal(code, "");
}

static void
test_form_window_stats(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 1024);
	cw_form_add(&b, "Action", "GetMetricData");
	cw_form_add(&b,
	    "MetricDataQueries.member.1.MetricStat.Metric.Namespace",
	    "AWS/EC2 x&y=z");
	assert_string_equal(b.p,
	    "Action=GetMetricData&MetricDataQueries.member.1.MetricStat."
	    "Metric.Namespace=AWS%2FEC2%20x%26y%3Dz");
	buf_free(&b);

	/* 10:07:13, period 5m, delay 5m: the window ends at 10:00. */
	assert_int_equal(cw_window_end(36433, 300, 300), 36000);
	assert_int_equal(cw_window_end(36000 + 300, 300, 300), 36000);
	assert_int_equal(cw_window_end(36599, 300, 0), 36300);
	assert_int_equal(cw_window_end(125, 10, 0), 120);

	assert_true(cw_stat_valid("Average"));
	assert_true(cw_stat_valid("SampleCount"));
	assert_true(cw_stat_valid("p99"));
	assert_true(cw_stat_valid("p99.9"));
	assert_true(cw_stat_valid("tm90"));
	assert_true(cw_stat_valid("TM(10%:90%)"));
	assert_true(cw_stat_valid("PR(:300)"));
	assert_true(cw_stat_valid("IQM"));
	assert_false(cw_stat_valid("average"));
	assert_false(cw_stat_valid("p"));
	assert_false(cw_stat_valid("p101"));
	assert_false(cw_stat_valid("p9x"));
	assert_false(cw_stat_valid(""));
}

/* What cw_settle() fed. */
struct fed {
	size_t n;
	int64_t ts[16];
	double v[16];
};

static void
on_fed(void *cookie, int64_t ts, double v)
{
	struct fed *f = cookie;

	assert_true(f->n < 16);
	f->ts[f->n] = ts;
	f->v[f->n++] = v;
}

static void
test_settle(void **state)
{
	struct cw_track t = { .last_fed_s = INT64_MIN };
	struct fed f = { 0 };
	int64_t ts[4];
	double v[4];

	(void)state;
	/*
	 * Poll 1, window [970, 1000) of period 10: 970 and 980 are settled
	 * and fed; 990, the newest bucket, is partial (5) and held back.
	 */
	ts[0] = 970, v[0] = 1;
	ts[1] = 980, v[1] = 2;
	ts[2] = 990, v[2] = 5;
	assert_int_equal(cw_settle(&t, ts, v, 3, 1000, 10, on_fed, &f), 0);
	assert_int_equal(f.n, 2);
	assert_true(f.ts[0] == 970 && f.v[0] == 1);
	assert_true(f.ts[1] == 980 && f.v[1] == 2);
	assert_true(t.has_prov && t.prov_ts == 990);

	/*
	 * Poll 2, window [980, 1010): 980 again (never twice), 990
	 * corrected to 9 (fed once, corrected), 1000 provisional.
	 */
	ts[0] = 980, v[0] = 2;
	ts[1] = 990, v[1] = 9;
	ts[2] = 1000, v[2] = 3;
	assert_int_equal(cw_settle(&t, ts, v, 3, 1010, 10, on_fed, &f), 0);
	assert_int_equal(f.n, 3);
	assert_true(f.ts[2] == 990 && f.v[2] == 9);
	assert_true(t.has_prov && t.prov_ts == 1000 && t.prov_v == 3);

	/*
	 * Poll 3 after a pause (throttled), window [1000, 1040), and the
	 * answer lacks 1000 this time: the value read before is fed; 1010
	 * and 1020 catch up, in time order though read out of order; 1030 is
	 * held.  A bucket read twice in one poll: the later read wins.
	 */
	ts[0] = 1020, v[0] = 7;
	ts[1] = 1010, v[1] = 6;
	ts[2] = 1030, v[2] = 1;
	ts[3] = 1030, v[3] = 4;
	assert_int_equal(cw_settle(&t, ts, v, 4, 1040, 10, on_fed, &f), 0);
	assert_int_equal(f.n, 6);
	assert_true(f.ts[3] == 1000 && f.v[3] == 3);
	assert_true(f.ts[4] == 1010 && f.v[4] == 6);
	assert_true(f.ts[5] == 1020 && f.v[5] == 7);
	assert_true(t.has_prov && t.prov_ts == 1030 && t.prov_v == 4);
	assert_int_equal(t.last_fed_s, 1020);

	/* No data at all: nothing fed, the held bucket settles. */
	assert_int_equal(cw_settle(&t, NULL, NULL, 0, 1050, 10, on_fed, &f),
	    0);
	assert_int_equal(f.n, 7);
	assert_true(f.ts[6] == 1030 && f.v[6] == 4);
	assert_false(t.has_prov);
}

/* source_new() of "sources = ( { ${body} } );"; errors into ${errs}. */
static struct source *
mk_source(const char *body, struct conf **conf, struct conf_errs *errs)
{
	char text[4096];

	snprintf(text, sizeof(text), "sources = ( { %s } );\n", body);
	*conf = tu_conf_load(text, errs);
	assert_non_null(*conf);
	assert_int_equal(errs->n, 0);
	return source_new(conf_elem((*conf)->sources, 0), errs);
}

static bool
errs_have(const struct conf_errs *e, const char *a)
{
	for (size_t i = 0; i < e->n; i++)
		if (strstr(e->msgs[i], a) != NULL)
			return true;
	return false;
}

static void
test_config(void **state)
{
	struct conf_errs errs = { 0 };
	struct conf *conf;
	struct source *src;
	const char *const *pat;
	char line[512];

	(void)state;
	/* Two fixed metrics of 5m and 1m, one discovered, interval 1m. */
	src = mk_source(
	    "type = \"cloudwatch\"; name = \"ec2\"; "
	    "interval = \"1m\"; access_key_id = \"AKIDEXAMPLE\"; "
	    "secret_access_key_env = \"NO_SUCH_VAR_HERE\"; "
	    "metrics = ( { namespace = \"AWS/EC2\"; metric = "
	    "\"CPUUtilization\"; dimensions = { InstanceId = "
	    "\"i-1\"; }; }, { namespace = \"AWS/EC2\"; metric = "
	    "\"CPUUtilization\"; stat = \"p99\"; name = \"cpu99\"; "
	    "period = \"1m\"; dimensions = { InstanceId = \"i-1\"; "
	    "}; }, { namespace = \"AWS/EC2\"; metric = \"NetworkIn\"; "
	    "discover = { tags = { Role = \"web\"; }; }; } );",
	    &conf, &errs);
	/* The secret's variable is missing: refused, said so. */
	assert_null(src);
	assert_true(errs_have(&errs, "NO_SUCH_VAR_HERE"));
	conf_free(conf);
	conf_errs_free(&errs);
	memset(&errs, 0, sizeof(errs));

	setenv("VIGIL_TEST_CW_SECRET", "wJalrXUtnFEMI/K7MDENG", 1);
	src = mk_source(
	    "type = \"cloudwatch\"; name = \"ec2\"; "
	    "interval = \"1m\"; access_key_id = \"AKIDEXAMPLE\"; "
	    "secret_access_key_env = \"VIGIL_TEST_CW_SECRET\"; "
	    "metrics = ( { namespace = \"AWS/EC2\"; metric = "
	    "\"CPUUtilization\"; dimensions = { InstanceId = "
	    "\"i-1\"; }; }, { namespace = \"AWS/EC2\"; metric = "
	    "\"CPUUtilization\"; stat = \"p99\"; name = \"cpu99\"; "
	    "period = \"1m\"; dimensions = { InstanceId = \"i-1\"; "
	    "}; }, { namespace = \"AWS/EC2\"; metric = \"NetworkIn\"; "
	    "discover = { tags = { Role = \"web\"; }; }; } );",
	    &conf, &errs);
	if (src == NULL)
		fail_msg("%s", errs.msgs[0]);
	pat = source_patterns(src);
	assert_string_equal(pat[0], "ec2.*");
	assert_null(pat[1]);
	/*
	 * A month of 30 days: 8,640 polls of the 5m metric, 43,200 of the
	 * 1m one; the discovered 5m metric 8,640 per instance.
	 */
	assert_int_equal(source_cost(src, line, sizeof(line)), 1);
	assert_non_null(strstr(line,
	    "ec2: 2 metrics and 1 per discovered "
	    "instance, about 51840 metrics requested "
	    "a month from CloudWatch plus 8640 per "
	    "instance"));
	source_free(src);
	conf_free(conf);
	conf_errs_free(&errs);
	memset(&errs, 0, sizeof(errs));

	/* An interval longer than the period: polled every interval. */
	src = mk_source("type = \"cloudwatch\"; name = \"b\"; "
			"interval = \"10m\"; metrics = ( { namespace = \"N\"; "
			"metric = \"M\"; period = \"1m\"; } );",
	    &conf, &errs);
	assert_non_null(src);
	assert_int_equal(source_cost(src, line, sizeof(line)), 1);
	assert_non_null(strstr(line, "b: 1 metrics, about 4320 metrics"));
	source_free(src);
	conf_free(conf);
	conf_errs_free(&errs);
	memset(&errs, 0, sizeof(errs));

	/* Mistakes, all reported. */
	src = mk_source(
	    "type = \"cloudwatch\"; endpoint = \"ftp://x\"; "
	    "access_key_id = \"A\"; delay = \"soon\"; "
	    "metrics = ( { namespace = \"N\"; stat = \"avg\"; "
	    "period = \"45s\"; bogus = 1; }, { namespace = \"N\"; "
	    "metric = \"M\"; discover = { tags = { }; }; "
	    "dimensions = { InstanceId = \"i-1\"; }; }, "
	    "{ namespace = \"N\"; metric = \"D\"; }, "
	    "{ namespace = \"N\"; metric = \"D\"; stat = \"Sum\"; } );",
	    &conf, &errs);
	assert_null(src);
	assert_true(errs_have(&errs, "endpoint: must be http"));
	assert_true(errs_have(&errs, "go together"));
	assert_true(errs_have(&errs, "delay"));
	assert_true(errs_have(&errs, "metrics[0].metric"));
	assert_true(errs_have(&errs, "\"avg\" is not a statistic"));
	assert_true(errs_have(&errs, "period: must be 1s, 5s"));
	assert_true(errs_have(&errs, "bogus"));
	assert_true(errs_have(&errs, "needs at least one tag"));
	assert_true(errs_have(&errs, "InstanceId comes from discover"));
	conf_free(conf);
	conf_errs_free(&errs);
	memset(&errs, 0, sizeof(errs));

	/* Named credentials: their region is the source's default. */
	{
		static const char text[] =
		    "credentials = { prod = { type = \"aws\"; region = "
		    "\"eu-west-1\"; profile = \"ops\"; },\n"
		    "  keys = { type = \"aws\"; access_key_id = \"AKID\"; "
		    "secret_access_key_env = \"VIGIL_TEST_CW_SECRET\"; },\n"
		    "  az = { type = \"azure\"; } };\n"
		    "sources = ( { type = \"cloudwatch\"; credentials = "
		    "\"prod\"; metrics = ( { namespace = \"N\"; metric = "
		    "\"M\"; } ); },\n"
		    "  { type = \"cloudwatch\"; name = \"b\"; credentials = "
		    "\"keys\"; region = \"ap-south-1\"; metrics = ( { "
		    "namespace = \"N\"; metric = \"M\"; } ); },\n"
		    "  { type = \"cloudwatch\"; name = \"c\"; credentials = "
		    "\"nope\"; metrics = ( { namespace = \"N\"; metric = "
		    "\"M\"; } ); },\n"
		    "  { type = \"cloudwatch\"; name = \"d\"; credentials = "
		    "\"az\"; metrics = ( { namespace = \"N\"; metric = "
		    "\"M\"; } ); },\n"
		    "  { type = \"cloudwatch\"; name = \"e\"; credentials = "
		    "\"keys\"; access_key_id = \"X\"; metrics = ( { "
		    "namespace = \"N\"; metric = \"M\"; } ); } );\n";
		struct source *v[5];

		conf = tu_conf_load(text, &errs);
		assert_non_null(conf);
		assert_int_equal(errs.n, 0);
		for (size_t i = 0; i < 5; i++)
			v[i] = source_new(conf_elem(conf->sources, i), &errs);
		assert_non_null(v[0]);
		assert_non_null(v[1]);
		assert_null(v[2]);
		assert_null(v[3]);
		assert_null(v[4]);
		assert_true(errs_have(&errs, "\"nope\" is not defined"));
		assert_true(errs_have(&errs, "\"az\" is of type \"azure\""));
		assert_true(errs_have(&errs, "not both"));
		assert_int_equal(errs.n, 3);
		source_free(v[0]);
		source_free(v[1]);
		conf_free(conf);
		conf_errs_free(&errs);
		memset(&errs, 0, sizeof(errs));
	}

	/* A dimension "*" (ListMetrics): not with discover; recently_active. */
	src =
	    mk_source("type = \"cloudwatch\"; metrics = ( "
		      "{ namespace = \"N\"; metric = \"A\"; dimensions = { "
		      "Q = \"*\"; }; discover = { tags = { R = \"w\"; }; }; }, "
		      "{ namespace = \"N\"; metric = \"B\"; "
		      "recently_active = true; } );",
		&conf, &errs);
	assert_null(src);
	assert_true(errs_have(&errs, "do not go together"));
	assert_true(errs_have(&errs, "recently_active: applies to"));
	conf_free(conf);
	conf_errs_free(&errs);
	memset(&errs, 0, sizeof(errs));
	src = mk_source("type = \"cloudwatch\"; name = \"q\"; metrics = ( "
			"{ namespace = \"N\"; metric = \"A\"; dimensions = { "
			"Q = \"*\"; }; recently_active = true; } );",
	    &conf, &errs);
	assert_non_null(src);
	assert_int_equal(source_cost(src, line, sizeof(line)), 1);
	assert_non_null(strstr(line, "q: 0 metrics and 1 per discovered"));
	source_free(src);
	conf_free(conf);
	conf_errs_free(&errs);
	memset(&errs, 0, sizeof(errs));

	/* Two metrics making one reading: say which, ask for a name. */
	src = mk_source(
	    "type = \"cloudwatch\"; metrics = ( "
	    "{ namespace = \"N\"; metric = \"D\"; }, "
	    "{ namespace = \"N\"; metric = \"D\"; stat = \"Sum\"; } );",
	    &conf, &errs);
	assert_null(src);
	assert_true(errs_have(&errs, "cloudwatch.D: give one a \"name\""));
	conf_free(conf);
	conf_errs_free(&errs);
}

static void
count_emit(void *cookie, const struct notification *n, char *const *notify)
{
	(void)n;
	(void)notify;
	(*(int *)cookie)++;
}

/*
 * A series of a cloud metric reads once a period, whatever the interval:
 * the rules' default no_data is three of the slowest source's periods, so
 * a 10m metric polled every minute does not go UNKNOWN between readings.
 */
static void
test_default_no_data(void **state)
{
	char path[] = "/tmp/test_cloudwatch_XXXXXX";
	struct conf_errs e = { 0 };
	struct runconf *rc = NULL;
	struct metric_batch b;
	const int64_t t0 = 1700000000000LL, min = 60000;
	int n = 0, fd;
	FILE *f;

	(void)state;
	assert_true((fd = mkstemp(path)) != -1);
	assert_non_null(f = fdopen(fd, "w"));
	fprintf(f,
	    "sources = ( { type = \"cloudwatch\"; name = \"cw\"; "
	    "interval = \"1m\"; metrics = ( { namespace = \"N\"; "
	    "metric = \"M\"; period = \"10m\"; } ); } );\n"
	    "rules = ( { name = \"r\"; metric = \"cw.M\"; warn = 1.0; } "
	    ");\n");
	assert_int_equal(fclose(f), 0);
	if (runconf_load(path, &rc, &e) != 0)
		fail_msg("%s", e.n > 0 ? e.msgs[0] : "?");
	(void)unlink(path);
	assert_int_equal(source_cadence_ms(rc->sources[0]), 10 * min);

	metric_batch_init(&b, 4);
	b.now_ms = t0;
	assert_int_equal(metric_add_ts(&b, t0, 0.5, "cw.M"), 0);
	rules_feed(rc->rules, &b, count_emit, &n);
	metric_batch_free(&b);
	rules_tick(rc->rules, t0 + 29 * min, count_emit, &n);
	assert_int_equal(n, 0); /* 29 minutes: still OK */
	rules_tick(rc->rules, t0 + 30 * min, count_emit, &n);
	assert_int_equal(n, 1); /* three periods: UNKNOWN */
	runconf_free(rc);
	conf_errs_free(&e);
}

/*
 * runconf_warnings() (vigil config check): a rule whose no_data is shorter
 * than the period of the cloud source it reads is named, with its line;
 * one as long, one on another source, and one without no_data are not.
 */
static void
test_no_data_warning(void **state)
{
	char path[] = "/tmp/test_cloudwatch_XXXXXX";
	struct conf_errs e = { 0 }, w = { 0 };
	struct runconf *rc = NULL;
	int fd;
	FILE *f;

	(void)state;
	assert_true((fd = mkstemp(path)) != -1);
	assert_non_null(f = fdopen(fd, "w"));
	fprintf(f,
	    "sources = ( { type = \"cloudwatch\"; name = \"cw\"; "
	    "interval = \"1m\"; metrics = ( { namespace = \"N\"; "
	    "metric = \"M\"; period = \"10m\"; } ); },\n"
	    "  { type = \"load\"; interval = \"10s\"; } );\n"
	    "rules = ( { name = \"ok-default\"; metric = \"cw.M\"; "
	    "warn = 1.0; },\n"
	    "  { name = \"ok-long\"; metric = \"cw.*\"; warn = 1.0; "
	    "no_data = \"10m\"; },\n"
	    "  { name = \"ok-local\"; metric = \"load.1\"; warn = 1.0; "
	    "no_data = \"1m\"; },\n"
	    "  { name = \"short\"; metric = \"cw.M\"; warn = 1.0;\n"
	    "    no_data = \"2m\"; } );\n");
	assert_int_equal(fclose(f), 0);
	if (runconf_load(path, &rc, &e) != 0)
		fail_msg("%s", e.n > 0 ? e.msgs[0] : "?");
	(void)unlink(path);
	assert_int_equal(runconf_warnings(rc, &w), 1);
	assert_non_null(strstr(w.msgs[0],
	    ":7: rules[3].no_data: 2m0s is shorter than the 10m0s between two "
	    "readings of source \"cw\" (cloudwatch)"));
	runconf_free(rc);
	conf_errs_free(&e);
	conf_errs_free(&w);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gmd_recorded),
		cmocka_unit_test(test_gmd_moto_shape),
		cmocka_unit_test(test_gmd_bad),
		cmocka_unit_test(test_describe_instances),
		cmocka_unit_test(test_list_metrics_recorded),
		cmocka_unit_test(test_json_recorded),
		cmocka_unit_test(test_json_bad),
		cmocka_unit_test(test_json_errors),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_form_window_stats),
		cmocka_unit_test(test_settle),
		cmocka_unit_test(test_config),
		cmocka_unit_test(test_default_no_data),
		cmocka_unit_test(test_no_data_warning),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
