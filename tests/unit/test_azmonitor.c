/*
 * test_azmonitor.c: the pure parts of the "azure_monitor" source
 * (agent/sources/net/azmonitor_internal.h) against the recorded answers
 * of ../shared/conformance/azure/monitor-metrics/ (the 2023-10-01 and
 * 2018-01-01 examples of Azure's REST API specs): every data point, its
 * dimensions and aggregations, the per-metric error; the batch shape
 * built from the same recorded metrics; resources lists, errors, grains.
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

#include <jansson.h>

#include "conf/conf.h"
#include "lib/ag.h"
#include "lib/clock.h"
#include "agent/source.h"
#include "agent/sources/net/azmonitor_internal.h"
#include "agent/sources/net/cloudsrc.h"
#include "tests/unit/fakes/testutil.h"

/* The "body" of the 200 answer of a recorded example, as JSON text. */
static char *
recorded_body(const char *rel)
{
	const char *shared = getenv("VIGIL_SHARED");
	char path[1024];
	json_t *j, *b;
	size_t len;
	char *s, *out;

	snprintf(path, sizeof(path), "%s/conformance/azure/monitor-metrics/%s",
	    shared ? shared : "../../shared", rel);
	s = (char *)tu_read_file(path, &len);
	if (s == NULL)
		fail_msg("%s: cannot read (is ../shared beside the "
			 "repository?)",
		    path);
	j = json_loadb(s, len, 0, NULL);
	free(s);
	assert_non_null(j);
	b = json_object_get(json_object_get(json_object_get(j, "responses"),
				"200"),
	    "body");
	assert_non_null(b);
	out = json_dumps(b, JSON_COMPACT);
	json_decref(j);
	assert_non_null(out);
	return out;
}

/* What a walk saw. */
struct seen {
	size_t points, errors;
	double sum[AZMON_AGG_N];
	size_t n[AZMON_AGG_N];
	char first_err[64];
	char last_resource[256];
	/* One point asked for by metric, dimension value and time. */
	const char *want_metric, *want_dim;
	int64_t want_ts;
	double want_v[AZMON_AGG_N];
	unsigned want_has;
	bool found;
};

static int
on_point(void *cookie, const struct azmon_point *p)
{
	struct seen *s = cookie;

	if (p->resource != NULL)
		snprintf(s->last_resource, sizeof(s->last_resource), "%s",
		    p->resource);
	if (p->error_code != NULL) {
		s->errors++;
		snprintf(s->first_err, sizeof(s->first_err), "%s:%s",
		    p->metric, p->error_code);
		assert_non_null(strstr(p->error_message, "Sampling type"));
		return 0;
	}
	s->points++;
	for (int a = 0; a < AZMON_AGG_N; a++)
		if (p->has & (1u << a)) {
			s->sum[a] += p->v[a];
			s->n[a]++;
		}
	if (s->want_metric != NULL && strcmp(p->metric, s->want_metric) == 0 &&
	    p->ts_ms == s->want_ts && p->ndims == 1 &&
	    strcmp(p->dims[0].value, s->want_dim) == 0) {
		s->found = true;
		memcpy(s->want_v, p->v, sizeof(s->want_v));
		s->want_has = p->has;
	}
	return 0;
}

/* 2023-10-01 GetMetric: BlobCount and BlobCapacity by tier, 5 hours. */
static void
test_getmetric_2023(void **state)
{
	char *b = recorded_body("2023-10-01/GetMetric.json");
	struct seen s = { .want_metric = "BlobCapacity", .want_dim = "Hot" };
	struct ag_err err;

	(void)state;
	assert_int_equal(clock_parse_rfc3339("2021-04-20T12:00:00Z",
			     &s.want_ts),
	    0);
	assert_int_equal(azmon_parse_metrics(b, strlen(b), false, on_point, &s,
			     &err),
	    0);
	/* Counted from the file: 2 metrics x 5 tiers x 5 hours. */
	assert_int_equal(s.points, 50);
	assert_int_equal(s.errors, 0);
	assert_int_equal(s.n[AZMON_AVERAGE], 50);
	assert_int_equal(s.n[AZMON_MINIMUM], 50);
	assert_int_equal(s.n[AZMON_MAXIMUM], 50);
	assert_int_equal(s.n[AZMON_TOTAL], 0);
	assert_int_equal(s.n[AZMON_COUNT], 0);
	assert_true(fabs(s.sum[AZMON_AVERAGE] - 3131170.0) < 1e-6);
	assert_true(s.found);
	assert_true(s.want_v[AZMON_AVERAGE] == 4733.0);
	assert_true(s.want_v[AZMON_MAXIMUM] == 4733.0);
	assert_int_equal(s.want_has,
	    (1u << AZMON_AVERAGE) | (1u << AZMON_MINIMUM) |
		(1u << AZMON_MAXIMUM));
	free(b);
}

/* 2018-01-01 GetMetric: counts everywhere, an average in two points. */
static void
test_getmetric_2018(void **state)
{
	char *b = recorded_body("2018-01-01/GetMetric.json");
	struct seen s = { .want_metric = "BlobCapacity",
		.want_dim = "PageBlob" };
	struct ag_err err;

	(void)state;
	assert_int_equal(clock_parse_rfc3339("2017-04-14T02:23:00Z",
			     &s.want_ts),
	    0);
	assert_int_equal(azmon_parse_metrics(b, strlen(b), false, on_point, &s,
			     &err),
	    0);
	assert_int_equal(s.points, 8);
	assert_int_equal(s.n[AZMON_COUNT], 8);
	assert_int_equal(s.n[AZMON_AVERAGE], 2);
	assert_true(fabs(s.sum[AZMON_COUNT] - 2.0) < 1e-9);
	assert_true(fabs(s.sum[AZMON_AVERAGE] - 245.0) < 1e-9);
	assert_true(s.found);
	assert_true(s.want_v[AZMON_COUNT] == 1.0);
	assert_true(s.want_v[AZMON_AVERAGE] == 0.0);
	assert_int_equal(s.want_has,
	    (1u << AZMON_COUNT) | (1u << AZMON_AVERAGE));
	free(b);
}

/* GetMetricError (both versions): one metric failed, the other has data. */
static void
test_getmetric_error(void **state)
{
	static const char *const files[] = { "2023-10-01/GetMetricError.json",
		"2018-01-01/GetMetricError.json" };
	struct ag_err err;

	(void)state;
	for (size_t i = 0; i < 2; i++) {
		char *b = recorded_body(files[i]);
		struct seen s = { 0 };

		assert_int_equal(azmon_parse_metrics(b, strlen(b), false,
				     on_point, &s, &err),
		    0);
		assert_int_equal(s.errors, 1);
		assert_string_equal(s.first_err,
		    "MongoRequestsCount:InvalidSamplingType");
		assert_int_equal(s.points, 1);
		assert_int_equal(s.n[AZMON_AVERAGE], 1);
		assert_true(s.sum[AZMON_AVERAGE] == 0.0);
		free(b);
	}
}

/*
 * The batch answer wraps the same Metric objects per resource: the
 * recorded metrics of 2023-10-01 under two resource ids.
 */
static void
test_batch(void **state)
{
	char *b = recorded_body("2023-10-01/GetMetric.json");
	json_t *one = json_loads(b, 0, NULL), *doc;
	struct seen s = { 0 };
	struct ag_err err;
	char *text;

	(void)state;
	assert_non_null(one);
	doc = json_pack("{s:[{s:s,s:s,s:O},{s:s,s:O}]}", "values",
	    "resourceid", "/subscriptions/s/rg/a", "interval", "PT1H", "value",
	    json_object_get(one, "value"), "resourceid",
	    "/subscriptions/s/rg/b", "value", json_object_get(one, "value"));
	assert_non_null(doc);
	text = json_dumps(doc, JSON_COMPACT);
	assert_int_equal(azmon_parse_metrics(text, strlen(text), true,
			     on_point, &s, &err),
	    0);
	assert_int_equal(s.points, 100);
	assert_string_equal(s.last_resource, "/subscriptions/s/rg/b");
	/* The single-resource shape is not a batch. */
	assert_int_equal(azmon_parse_metrics(b, strlen(b), true, on_point, &s,
			     &err),
	    -1);
	assert_non_null(strstr(err.msg, "values"));
	assert_int_equal(azmon_parse_metrics("[1]", 3, false, on_point, &s,
			     &err),
	    -1);
	assert_int_equal(azmon_parse_metrics("{\"value\":[{\"x\":1}]}", 19,
			     false, on_point, &s, &err),
	    -1);
	free(text);
	json_decref(doc);
	json_decref(one);
	free(b);
}

struct rseen {
	size_t n;
	char ids[4][128];
	char tag[64];
};

static int
on_res(void *cookie, const struct azmon_resource *r)
{
	struct rseen *s = cookie;

	if (s->n < 4)
		snprintf(s->ids[s->n], sizeof(s->ids[0]), "%s|%s|%s", r->id,
		    r->type, r->location);
	for (size_t i = 0; i < r->ntags; i++)
		if (strcmp(r->tags[i].key, "Role") == 0)
			snprintf(s->tag, sizeof(s->tag), "%s",
			    r->tags[i].value);
	s->n++;
	return 0;
}

/* ARM's resources list (GenericResourceExpanded) and its nextLink. */
static void
test_resources(void **state)
{
	static const char page[] =
	    "{\"value\":[{\"id\":\"/subscriptions/s/resourceGroups/g/"
	    "providers/Microsoft.Compute/virtualMachines/vm1\",\"name\":"
	    "\"vm1\",\"type\":\"Microsoft.Compute/virtualMachines\","
	    "\"location\":\"westeurope\",\"tags\":{\"Role\":\"web\"}},"
	    "{\"name\":\"no id\"},{\"id\":\"/subscriptions/s/x\"}],"
	    "\"nextLink\":\"https://management.azure.com/subscriptions/s/"
	    "resources?%24skiptoken=abc&api-version=2021-04-01\"}";
	struct rseen s = { 0 };
	struct ag_err err;
	char *next;

	(void)state;
	assert_int_equal(azmon_parse_resources(page, strlen(page), on_res, &s,
			     &next, &err),
	    0);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.ids[0],
	    "/subscriptions/s/resourceGroups/g/providers/"
	    "Microsoft.Compute/virtualMachines/vm1|"
	    "Microsoft.Compute/virtualMachines|westeurope");
	assert_string_equal(s.ids[1], "/subscriptions/s/x||");
	assert_string_equal(s.tag, "web");
	assert_non_null(next);
	assert_non_null(strstr(next, "skiptoken=abc"));
	free(next);
	assert_int_equal(azmon_parse_resources("{\"value\":[]}", 12, on_res,
			     &s, &next, &err),
	    0);
	assert_null(next);
	assert_int_equal(azmon_parse_resources("{}", 2, on_res, &s, &next,
			     &err),
	    -1);
}

/* ARM errors (common-types ErrorResponse) and the OData form. */
static void
test_error(void **state)
{
	static const char e1[] =
	    "{\"error\":{\"code\":\"ResourceNotFound\",\"message\":\"The "
	    "Resource 'x' was not found.\\nMore text\"}}";
	static const char e2[] =
	    "{\"code\":\"BadRequest\",\"message\":\"Invalid interval\"}";
	char code[32], msg[64];

	(void)state;
	assert_int_equal(azmon_parse_error(e1, strlen(e1), code, sizeof(code),
			     msg, sizeof(msg)),
	    0);
	assert_string_equal(code, "ResourceNotFound");
	assert_string_equal(msg, "The Resource 'x' was not found.");
	assert_int_equal(azmon_parse_error(e2, strlen(e2), code, sizeof(code),
			     msg, sizeof(msg)),
	    0);
	assert_string_equal(code, "BadRequest");
	assert_int_equal(azmon_parse_error("nope", 4, code, sizeof(code), msg,
			     sizeof(msg)),
	    -1);
	assert_string_equal(code, "");
}

static void
test_grain(void **state)
{
	static const struct {
		const char *s;
		int64_t v;
	} ok[] = { { "PT1M", 60 }, { "PT5M", 300 }, { "PT1H", 3600 },
		{ "PT6H", 21600 }, { "P1D", 86400 }, { "PT30S", 30 },
		{ "PT1H30M", 5400 }, { "P1DT1H", 90000 } };
	static const char *const bad[] = { "", "P", "PT", "1M", "PT1", "PTM",
		"PT0M", "PT1M1H", "PT1X", "FULL", "P1M", "PT1234567890S" };
	int64_t v;

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		assert_int_equal(azmon_grain_parse(ok[i].s, &v), 0);
		assert_int_equal(v, ok[i].v);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (azmon_grain_parse(bad[i], &v) == 0)
			fail_msg("\"%s\" taken as a grain", bad[i]);
}

static void
test_time(void **state)
{
	char buf[32];

	(void)state;
	cloudsrc_time(1618909200, buf);
	assert_string_equal(buf, "2021-04-20T09:00:00Z");
}

/*
 * source_new() of the source { ${body} }: NULL and an error containing
 * ${want}, or (${want} NULL) a source, freed here.
 */
static void
check_conf(const char *body, const char *want)
{
	struct conf_errs e = { 0 };
	struct conf *c;
	struct source *src;
	char text[4096];

	snprintf(text, sizeof(text),
	    "sources = ( { type = \"azure_monitor\"; name = \"az\"; "
	    "tenant_id = \"t\"; client_id = \"c\"; "
	    "client_secret_env = \"VIGIL_TEST_AZ_SECRET\"; %s } );\n",
	    body);
	c = tu_conf_load(text, &e);
	assert_int_equal(e.n, 0);
	src = source_new(conf_elem(c->sources, 0), &e);
	if (want == NULL) {
		if (src == NULL)
			fail_msg("refused: %s: %s", body,
			    e.n ? e.msgs[0] : "?");
		assert_string_equal(source_type(src), "azure_monitor");
		assert_string_equal(source_patterns(src)[0], "az.*");
	} else {
		assert_null(src);
		assert_true(tu_has_error(&e, want));
	}
	source_free(src);
	conf_errs_free(&e);
	conf_free(c);
}

#define VM \
	"\"/subscriptions/s1/resourceGroups/g/providers/" \
	"Microsoft.Compute/virtualMachines/vm1\""

static void
test_conf(void **state)
{
	(void)state;
	setenv("VIGIL_TEST_AZ_SECRET", "s3cret", 1);
	check_conf("resources = [ " VM " ]; metrics = [ \"Percentage CPU\" ];",
	    NULL);
	check_conf("discover = { subscription = \"s1\"; resource_type = "
		   "\"Microsoft.Compute/virtualMachines\"; tags = { Role = "
		   "\"web\"; }; ttl = \"1m\"; }; metrics = [ \"m\" ]; "
		   "batch = true; grain = \"PT5M\"; aggregation = "
		   "\"maximum\"; delay = \"2m\";",
	    NULL);
	check_conf("metrics = [ \"m\" ];", "name resources");
	check_conf("resources = [ " VM " ];", "metrics");
	check_conf("resources = [ " VM " ]; metrics = [ ];", "at least one");
	check_conf("resources = [ \"vm1\" ]; metrics = [ \"m\" ];",
	    "not a resource id");
	check_conf("resources = [ " VM " ]; metrics = [ \"a,b\" ];",
	    "not a metric name");
	check_conf("resources = [ " VM " ]; metrics = [ \"m\" ]; grain = "
		   "\"1m\";",
	    "ISO 8601");
	check_conf("resources = [ " VM " ]; metrics = [ \"m\" ]; aggregation "
		   "= \"p99\";",
	    "aggregation");
	check_conf("resources = [ " VM " ]; metrics = [ \"m\" ]; batch = "
		   "true; namespace = \"Microsoft.Compute/virtualMachines\";",
	    "batch needs the region");
	check_conf("resources = [ " VM " ]; metrics = [ \"m\" ]; batch = "
		   "true; region = \"westeurope\";",
	    "batch needs the metric namespace");
	check_conf("resources = [ " VM " ]; metrics = [ \"m\" ]; endpoint = "
		   "\"https://x/path\";",
	    "nothing after");
	check_conf("discover = { subscription = \"s1\"; }; metrics = [ "
		   "\"m\" ];",
	    "resource_type");
	check_conf("discover = { subscription = \"s1\"; resource_type = "
		   "\"T\"; tags = { resource = \"x\"; }; }; metrics = [ "
		   "\"m\" ];",
	    "label of the resource id");
	unsetenv("VIGIL_TEST_AZ_SECRET");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_getmetric_2023),
		cmocka_unit_test(test_getmetric_2018),
		cmocka_unit_test(test_getmetric_error),
		cmocka_unit_test(test_batch),
		cmocka_unit_test(test_resources),
		cmocka_unit_test(test_error),
		cmocka_unit_test(test_grain),
		cmocka_unit_test(test_time),
		cmocka_unit_test_setup_teardown(test_conf, tu_tmpdir_setup,
		    tu_tmpdir_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
