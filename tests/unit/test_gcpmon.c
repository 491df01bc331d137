/*
 * test_gcpmon.c: Cloud Monitoring's projects.timeSeries.list answers
 * (agent/sources/net/gcpmon_internal.h) against the recorded bodies of
 * ../shared/conformance/gcp/monitoring/grafana-stackdriver-test-data/:
 * every point, value, end time and label; series without points and
 * their metadata.userLabels; value types; page tokens; broken answers.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf.h"
#include "lib/ag.h"
#include "lib/clock.h"
#include "agent/source.h"
#include "agent/sources/net/gcpmon_internal.h"
#include "tests/unit/fakes/testutil.h"

static char *
recorded(const char *name, size_t *ret_len)
{
	const char *shared = getenv("VIGIL_SHARED");
	char path[1024];
	char *b;

	snprintf(path, sizeof(path),
	    "%s/conformance/gcp/monitoring/grafana-stackdriver-test-data/%s",
	    shared ? shared : "../../shared", name);
	if ((b = (char *)tu_read_file(path, ret_len)) == NULL)
		fail_msg("%s: cannot read (is ../shared beside the "
			 "repository?)",
		    path);
	return b;
}

struct seen {
	size_t points, empty;
	double sum;
	char labels[8][256];
	size_t nl;
	char user[4][128];
	size_t nu;
	int64_t first_end;
	double first_v;
	char metric[128], rtype[32];
};

/* "k=v,k=v" of ${v}[0, ${n}) into ${out}. */
static void
join(const struct metric_label *v, size_t n, char *out, size_t len)
{
	out[0] = '\0';
	for (size_t i = 0; i < n; i++)
		snprintf(out + strlen(out), len - strlen(out), "%s%s=%s",
		    i ? "," : "", v[i].key, v[i].value);
}

static int
on_point(void *cookie, const struct gcpmon_point *p)
{
	struct seen *s = cookie;

	snprintf(s->metric, sizeof(s->metric), "%s", p->metric_type);
	snprintf(s->rtype, sizeof(s->rtype), "%s", p->resource_type);
	if (!p->has) {
		s->empty++;
		if (s->nl < 8)
			join(p->labels, p->nlabels, s->labels[s->nl++], 256);
		if (s->nu < 4)
			join(p->user, p->nuser, s->user[s->nu++], 128);
		return 0;
	}
	if (s->points == 0) {
		s->first_end = p->end_ms;
		s->first_v = p->v;
	}
	if (s->points % 3 == 0 && s->nl < 8)
		join(p->labels, p->nlabels, s->labels[s->nl++], 256);
	s->points++;
	s->sum += p->v;
	return 0;
}

/* Three GCE instances, three DELTA points each, with escaped solidus. */
static void
test_no_agg(void **state)
{
	size_t len;
	char *b = recorded("2-series-response-no-agg.json", &len), *next;
	struct seen s = { 0 };
	struct ag_err err;
	int64_t want;

	(void)state;
	assert_int_equal(gcpmon_parse(b, len, on_point, &s, &next, &err), 0);
	assert_null(next);
	assert_int_equal(s.points, 9);
	assert_int_equal(s.empty, 0);
	assert_true(fabs(s.sum - 148.7171994920349) < 1e-9);
	assert_string_equal(s.metric,
	    "compute.googleapis.com/instance/cpu/usage_time");
	assert_string_equal(s.rtype, "gce_instance");
	assert_int_equal(clock_parse_rfc3339("2018-09-11T12:31:00Z", &want),
	    0);
	assert_int_equal(s.first_end, want);
	assert_true(s.first_v == 9.7730520330369);
	assert_int_equal(s.nl, 3);
	assert_string_equal(s.labels[0],
	    "instance_name=collector-asia-east-1,"
	    "instance_id=1119268429530133111,zone=asia-east1-a,"
	    "project_id=grafana-prod");
	assert_string_equal(s.labels[2],
	    "instance_name=collector-us-east-1,"
	    "instance_id=3332264424035095333,zone=us-east1-b,"
	    "project_id=grafana-prod");
	free(b);
}

/* Series with metadata and no points: user labels, no reading. */
static void
test_meta_data(void **state)
{
	size_t len;
	char *b = recorded("5-series-response-meta-data.json", &len), *next;
	struct seen s = { 0 };
	struct ag_err err;

	(void)state;
	assert_int_equal(gcpmon_parse(b, len, on_point, &s, &next, &err), 0);
	assert_int_equal(s.points, 0);
	assert_int_equal(s.empty, 3);
	assert_string_equal(s.labels[0],
	    "instance_id=114250375703598695,project_id=raintank-dev");
	assert_string_equal(s.user[0], "name=name1,region=region1");
	assert_string_equal(s.user[1], "");
	assert_string_equal(s.user[2], "name=name3,region=region3");
	free(b);
}

static void
test_values_and_pages(void **state)
{
	static const char page[] =
	    "{\"timeSeries\":[{\"metric\":{\"type\":\"custom.googleapis.com/"
	    "q\"},\"resource\":{\"type\":\"global\"},\"points\":["
	    "{\"interval\":{\"endTime\":\"2026-01-01T00:02:00Z\"},"
	    "\"value\":{\"int64Value\":\"42\"}},"
	    "{\"interval\":{\"endTime\":\"2026-01-01T00:01:00Z\"},"
	    "\"value\":{\"boolValue\":true}},"
	    "{\"interval\":{\"endTime\":\"2026-01-01T00:00:00Z\"},"
	    "\"value\":{\"distributionValue\":{\"count\":\"2\",\"mean\":2.5}}},"
	    "{\"interval\":{\"endTime\":\"2026-01-01T00:00:00Z\"},"
	    "\"value\":{\"stringValue\":\"x\"}}]}],"
	    "\"nextPageToken\":\"tok-2\"}";
	struct seen s = { 0 };
	struct ag_err err;
	char *next;

	(void)state;
	assert_int_equal(gcpmon_parse(page, strlen(page), on_point, &s, &next,
			     &err),
	    0);
	assert_int_equal(s.points, 3); /* the string value is no reading */
	assert_true(s.sum == 42 + 1 + 2.5);
	assert_string_equal(next, "tok-2");
	free(next);
	/* No series: timeSeries left out. */
	assert_int_equal(gcpmon_parse("{}", 2, on_point, &s, &next, &err), 0);
	assert_null(next);
	assert_int_equal(gcpmon_parse("[]", 2, on_point, &s, &next, &err), -1);
	assert_int_equal(gcpmon_parse("{\"timeSeries\":[{}]}", 19, on_point,
			     &s, &next, &err),
	    -1);
	assert_non_null(strstr(err.msg, "metric.type"));
}

/* source_new() of { ${body} }: a source (${want} NULL) or ${want}. */
static void
check_conf(const char *body, const char *want)
{
	struct conf_errs e = { 0 };
	struct conf *c;
	struct source *src;
	char text[4096];

	snprintf(text, sizeof(text),
	    "sources = ( { type = \"gcp_monitoring\"; name = \"gce\"; "
	    "metadata_host = \"127.0.0.1:9\"; %s } );\n",
	    body);
	c = tu_conf_load(text, &e);
	assert_int_equal(e.n, 0);
	src = source_new(conf_elem(c->sources, 0), &e);
	if (want == NULL) {
		if (src == NULL)
			fail_msg("refused: %s: %s", body,
			    e.n ? e.msgs[0] : "?");
		assert_string_equal(source_patterns(src)[0], "gce.*");
	} else {
		assert_null(src);
		assert_true(tu_has_error(&e, want));
	}
	source_free(src);
	conf_errs_free(&e);
	conf_free(c);
}

#define F "filter = \"metric.type = \\\"x\\\"\"; "

static void
test_conf(void **state)
{
	(void)state;
	unsetenv("GOOGLE_APPLICATION_CREDENTIALS");
	check_conf("project = \"p-1\"; " F, NULL);
	check_conf("project = \"p-1\"; " F "alignment_period = \"5m\"; "
		   "per_series_aligner = \"ALIGN_RATE\"; "
		   "cross_series_reducer = \"REDUCE_SUM\"; group_by = [ "
		   "\"resource.labels.zone\" ]; user_labels = { env = "
		   "\"prod\"; };",
	    NULL);
	check_conf(F, "project");
	check_conf("project = \"p-1\";", "filter");
	check_conf("project = \"P 1\"; " F, "not a project id");
	check_conf("project = \"p\"; " F "per_series_aligner = \"MEAN\";",
	    "per_series_aligner");
	check_conf("project = \"p\"; " F "group_by = [ \"zone\" ];",
	    "needs cross_series_reducer");
	check_conf("project = \"p\"; " F "alignment_period = \"1500ms\";",
	    "alignment_period");
	check_conf("project = \"p\"; " F
		   "user_labels = { env = \"a\\\"b\"; };",
	    "user label");
	check_conf("project = \"p\"; " F "endpoint = \"ftp://x\";",
	    "nothing after");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_agg),
		cmocka_unit_test(test_meta_data),
		cmocka_unit_test(test_values_and_pages),
		cmocka_unit_test_setup_teardown(test_conf, tu_tmpdir_setup,
		    tu_tmpdir_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
