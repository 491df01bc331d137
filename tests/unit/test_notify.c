/*
 * test_notify.c: notifications (state names, summaries, the JSON schema and
 * its strict reader) and the notifier registry (config checking, the log
 * notifier, a notifier removed by a reload).
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

#include "agent/notify.h"
#include "conf/conf.h"
#include "tests/unit/fakes/testutil.h"

/* 2026-11-22T03:00:00.123Z */
#define T0 1795316400123LL

static struct notification
firing(void)
{
	return tu_notification_firing(T0);
}

static void
test_state_names(void **state)
{
	enum alert_state s;

	(void)state;
	assert_string_equal(alert_state_name(ST_OK), "OK");
	assert_string_equal(alert_state_name(ST_WARNING), "WARNING");
	assert_string_equal(alert_state_name(ST_CRITICAL), "CRITICAL");
	assert_string_equal(alert_state_name(ST_UNKNOWN), "UNKNOWN");
	assert_string_equal(alert_state_name((enum alert_state)42), "UNKNOWN");
	assert_int_equal(alert_state_parse("critical", &s), 0);
	assert_int_equal(s, ST_CRITICAL);
	assert_int_equal(alert_state_parse("Warning", &s), 0);
	assert_int_equal(s, ST_WARNING);
	assert_int_equal(alert_state_parse("OK", &s), 0);
	assert_int_equal(s, ST_OK);
	s = ST_UNKNOWN;
	assert_int_equal(alert_state_parse("bad", &s), -1);
	assert_int_equal(alert_state_parse("", &s), -1);
	assert_int_equal(s, ST_UNKNOWN);
}

static void
test_summary(void **state)
{
	struct notification n = firing();
	char buf[512], small[16];

	(void)state;
	notification_summary(&n, buf, sizeof(buf));
	assert_string_equal(buf,
	    "CRITICAL: cpu-high on web1: cpu.used_pct = 97.2 (> 95)");

	n.state = ST_OK;
	n.prev_state = ST_CRITICAL;
	n.value = 65;
	notification_summary(&n, buf, sizeof(buf));
	assert_string_equal(buf,
	    "RECOVERED: cpu-high on web1: cpu.used_pct = 65 (was CRITICAL)");

	n = firing();
	n.kind = NK_REMINDER;
	n.since_ms = n.ts_ms - 7200000;
	notification_summary(&n, buf, sizeof(buf));
	assert_string_equal(buf,
	    "CRITICAL (reminder, for 2h0m): cpu-high "
	    "on web1: cpu.used_pct = 97.2 (> 95)");

	n = firing();
	n.state = ST_UNKNOWN;
	n.has_value = false;
	n.has_threshold = false;
	notification_summary(&n, buf, sizeof(buf));
	assert_string_equal(buf,
	    "UNKNOWN: cpu-high on web1: cpu.used_pct: "
	    "no data");

	n = firing();
	n.value = 123456789;
	notification_summary(&n, buf, sizeof(buf));
	assert_string_equal(buf,
	    "CRITICAL: cpu-high on web1: cpu.used_pct = 123456789 (> 95)");

	/* Cut, never overrun. */
	memset(small, 'Z', sizeof(small));
	notification_summary(&n, small, 10);
	assert_int_equal(strlen(small), 9);
	assert_int_equal(small[10], 'Z');
}

static void
test_to_json(void **state)
{
	struct notification n = firing();
	json_t *o;
	char *s;

	(void)state;
	s = notification_to_json(&n);
	assert_non_null(s);
	o = json_loads(s, 0, NULL);
	assert_non_null(o);
	assert_int_equal(json_integer_value(json_object_get(o, "version")), 1);
	assert_string_equal(json_string_value(json_object_get(o, "id")), n.id);
	assert_string_equal(json_string_value(json_object_get(o, "host")),
	    "web1");
	assert_string_equal(json_string_value(json_object_get(o, "rule")),
	    "cpu-high");
	assert_string_equal(json_string_value(json_object_get(o, "metric")),
	    "cpu.used_pct");
	assert_string_equal(json_string_value(json_object_get(o, "state")),
	    "CRITICAL");
	assert_string_equal(json_string_value(json_object_get(o,
				"previous_state")),
	    "OK");
	assert_string_equal(json_string_value(json_object_get(o, "kind")),
	    "change");
	assert_true(json_number_value(json_object_get(o, "value")) == 97.2);
	assert_true(json_number_value(json_object_get(o, "threshold")) == 95);
	assert_string_equal(json_string_value(json_object_get(o, "op")), ">");
	assert_string_equal(json_string_value(json_object_get(o, "timestamp")),
	    "2026-11-22T03:00:00.123Z");
	assert_string_equal(json_string_value(json_object_get(o, "since")),
	    "2026-11-22T02:58:00.123Z");
	assert_int_equal(json_integer_value(json_object_get(o, "repeat_ms")),
	    3600000);
	assert_string_equal(json_string_value(json_object_get(o, "summary")),
	    "CRITICAL: cpu-high on web1: cpu.used_pct = 97.2 (> 95)");
	/* Compact and readable numbers. */
	assert_non_null(strstr(s, "\"value\":97.2,"));
	assert_null(json_object_get(o, "labels"));
	json_decref(o);
	free(s);

	/* A cloud series names its resource: the labels, unescaped. */
	snprintf(n.metric, sizeof(n.metric),
	    "ec2.CPUUtilization{InstanceId=i-0abc,Role=web\\,x}");
	s = notification_to_json(&n);
	assert_non_null(s);
	o = json_loads(s, 0, NULL);
	assert_non_null(o);
	assert_string_equal(json_string_value(json_object_get(
				json_object_get(o, "labels"), "InstanceId")),
	    "i-0abc");
	assert_string_equal(json_string_value(json_object_get(
				json_object_get(o, "labels"), "Role")),
	    "web,x");
	assert_non_null(strstr(json_string_value(json_object_get(o, "summary")),
	    "ec2.CPUUtilization{InstanceId=i-0abc,Role=web\\,x} = 97.2"));
	json_decref(o);
	free(s);
	/* Braces that are not labels: no labels, still a notification. */
	snprintf(n.metric, sizeof(n.metric), "disk./mnt/{x.used_pct");
	s = notification_to_json(&n);
	assert_non_null(s);
	o = json_loads(s, 0, NULL);
	assert_non_null(o);
	assert_null(json_object_get(o, "labels"));
	json_decref(o);
	free(s);
	snprintf(n.metric, sizeof(n.metric), "cpu.used_pct");

	/* Missing numbers are null; odd strings stay valid JSON. */
	n.has_value = false;
	n.has_threshold = true;
	n.threshold = NAN;
	snprintf(n.host, sizeof(n.host), "we\"b\n1\xff\xfe");
	s = notification_to_json(&n);
	assert_non_null(s);
	o = json_loads(s, 0, NULL);
	assert_non_null(o);
	assert_true(json_is_null(json_object_get(o, "value")));
	assert_true(json_is_null(json_object_get(o, "threshold")));
	assert_string_equal(json_string_value(json_object_get(o, "host")),
	    "we\"b\n1??");
	json_decref(o);
	free(s);
}

static void
assert_same(const struct notification *a, const struct notification *b)
{
	assert_string_equal(a->id, b->id);
	assert_string_equal(a->host, b->host);
	assert_string_equal(a->rule, b->rule);
	assert_string_equal(a->metric, b->metric);
	assert_string_equal(a->op, b->op);
	assert_int_equal(a->state, b->state);
	assert_int_equal(a->prev_state, b->prev_state);
	assert_int_equal(a->kind, b->kind);
	assert_int_equal(a->has_value, b->has_value);
	assert_int_equal(a->has_threshold, b->has_threshold);
	if (a->has_value)
		assert_true(fabs(a->value - b->value) <=
		    1e-12 * fabs(a->value));
	if (a->has_threshold)
		assert_true(a->threshold == b->threshold);
	assert_int_equal(a->ts_ms, b->ts_ms);
	assert_int_equal(a->since_ms, b->since_ms);
	assert_int_equal(a->repeat_ms, b->repeat_ms);
}

static void
test_round_trip(void **state)
{
	struct notification n = firing(), m;
	char *s;

	(void)state;
	s = notification_to_json(&n);
	assert_int_equal(notification_from_json(s, &m), 0);
	assert_same(&n, &m);
	free(s);

	n.state = ST_OK;
	n.prev_state = ST_WARNING;
	n.kind = NK_REMINDER;
	n.has_value = false;
	n.has_threshold = false;
	n.value = 1.0 / 3;
	n.op[0] = '\0';
	n.repeat_ms = 0;
	snprintf(n.metric, sizeof(n.metric),
	    "aws.EC2.CPUUtilization"
	    "{InstanceId=i-0abc} \xc3\xa9\xe2\x82\xac \"q\" \\ \t");
	s = notification_to_json(&n);
	assert_int_equal(notification_from_json(s, &m), 0);
	assert_same(&n, &m);
	free(s);

	n.has_value = true;
	n.value = -1.0 / 3;
	snprintf(n.op, sizeof(n.op), "!=");
	s = notification_to_json(&n);
	assert_int_equal(notification_from_json(s, &m), 0);
	assert_same(&n, &m);
	free(s);

	/* repeat_ms is optional on input. */
	assert_int_equal(
	    notification_from_json(
		"{\"version\":1,\"id\":\"x\","
		"\"host\":\"h\",\"rule\":\"r\",\"metric\":\"m\",\"state\":"
		"\"WARNING\",\"previous_state\":\"OK\",\"kind\":\"change\","
		"\"value\":1,\"threshold\":null,\"op\":\">=\",\"timestamp\":"
		"\"2026-01-01T00:00:00Z\",\"since\":\"2026-01-01T00:00:00.5Z\"}",
		&m),
	    0);
	assert_int_equal(m.repeat_ms, 0);
	assert_int_equal(m.state, ST_WARNING);
	assert_true(m.has_value && m.value == 1);
	assert_false(m.has_threshold);
	assert_int_equal(m.since_ms - m.ts_ms, 500);
}

/* Replace the first ${from} in ${s} with ${to}; the result is static. */
static const char *
edit(const char *s, const char *from, const char *to)
{
	static char buf[4096];
	const char *p = strstr(s, from);

	assert_non_null(p);
	snprintf(buf, sizeof(buf), "%.*s%s%s", (int)(p - s), s, to,
	    p + strlen(from));
	return buf;
}

static void
test_from_json_rejects(void **state)
{
	struct notification n = firing(), m;
	char *s = notification_to_json(&n), *t;
	char longid[64];
	const char *garbage[] = {
		"",
		"{",
		"[]",
		"null",
		"{}",
		"42",
		"\"str\"",
		"{\"version\":1}",
		"{\"version\":1,\"id\":",
		"\xff\xfe",
	};
	unsigned seed = 7;
	size_t len = strlen(s);

	(void)state;
	for (size_t i = 0; i < sizeof(garbage) / sizeof(garbage[0]); i++)
		assert_int_equal(notification_from_json(garbage[i], &m), -1);
	assert_int_equal(notification_from_json(NULL, &m), -1);

	memset(longid, 'a', sizeof(longid) - 1);
	longid[sizeof(longid) - 1] = '\0';
	assert_int_equal(notification_from_json(edit(s, "\"version\":1",
						    "\"version\":2"),
			     &m),
	    -1);
	assert_int_equal(notification_from_json(edit(s, "\"version\":1",
						    "\"version\":\"1\""),
			     &m),
	    -1);
	assert_int_equal(notification_from_json(edit(s, n.id, longid), &m),
	    -1);
	assert_int_equal(notification_from_json(edit(s, "\"CRITICAL\"",
						    "\"FIRE\""),
			     &m),
	    -1);
	assert_int_equal(notification_from_json(edit(s, "\"change\"",
						    "\"once\""),
			     &m),
	    -1);
	assert_int_equal(notification_from_json(edit(s, "97.2", "\"97\""), &m),
	    -1);
	assert_int_equal(notification_from_json(edit(s, "\"op\":\">\"",
						    "\"op\":\"=>\""),
			     &m),
	    -1);
	assert_int_equal(notification_from_json(edit(s, "\"op\":\">\"",
						    "\"op\":\">>>>\""),
			     &m),
	    -1);
	assert_int_equal(notification_from_json(edit(s,
						    "2026-11-22T03:00:00.123Z",
						    "yesterday"),
			     &m),
	    -1);
	assert_int_equal(notification_from_json(edit(s, "\"host\":\"web1\"",
						    "\"host\":\"we\\u0000b\""),
			     &m),
	    -1);
	assert_int_equal(
	    notification_from_json(edit(s, "\"host\":\"web1\"",
				       "\"host\":\"a\",\"host\":\"b\""),
		&m),
	    -1);
	assert_int_equal(notification_from_json(edit(s,
						    "\"repeat_ms\":3600000",
						    "\"repeat_ms\":-5"),
			     &m),
	    -1);
	assert_int_equal(notification_from_json(edit(s,
						    "\"rule\":\"cpu-high\",",
						    ""),
			     &m),
	    -1);

	/* Every truncation fails; no mutation crashes. */
	for (size_t k = 0; k < len; k++) {
		t = strndup(s, k);
		assert_int_equal(notification_from_json(t, &m), -1);
		free(t);
	}
	t = strdup(s);
	for (int round = 0; round < 3000; round++) {
		memcpy(t, s, len + 1);
		for (int k = 0; k < 1 + round % 4; k++)
			t[rand_r(&seed) % len] = (char)(1 +
			    rand_r(&seed) % 255);
		if (notification_from_json(t, &m) == 0) {
			assert_true((unsigned)m.state <= ST_UNKNOWN);
			assert_true((unsigned)m.prev_state <= ST_UNKNOWN);
			assert_true(strlen(m.host) < sizeof(m.host));
		}
	}
	free(t);
	free(s);
}

static void
test_notifier_new(void **state)
{
	struct conf_errs e = { 0 };
	struct notification n = firing();
	struct notifier *nf;
	struct ag_err err;
	struct conf *c;

	(void)state;
	c = tu_conf_load(
	    "notifiers = (\n"
	    "  { name = \"logs\"; type = \"log\"; },\n"
	    "  { name = \"loud\"; type = \"log\"; level = \"error\"; },\n"
	    "  { name = \"p\"; type = \"pager\"; },\n"
	    "  { type = \"log\"; },\n"
	    "  { name = \"x\"; type = \"log\"; colour = \"red\"; },\n"
	    "  { name = \"a b\"; type = \"log\"; },\n"
	    "  { name = \"w\"; type = \"webhook\"; },\n"
	    "  { name = \"l\"; type = \"log\"; level = \"loud\"; },\n"
	    "  \"just a string\"\n"
	    ");\n",
	    &e);
	assert_int_equal(e.n, 0);

	nf = notifier_new(conf_elem(c->notifiers, 0), &e);
	assert_non_null(nf);
	assert_int_equal(e.n, 0);
	assert_string_equal(nf->name, "logs");
	assert_int_equal(notifier_send(nf, &n, &err), 0);
	n.state = ST_OK;
	n.prev_state = ST_CRITICAL;
	assert_int_equal(notifier_send(nf, &n, &err), 0);
	notifier_free(nf);

	nf = notifier_new(conf_elem(c->notifiers, 1), &e);
	assert_non_null(nf);
	assert_int_equal(notifier_send(nf, &n, &err), 0);
	notifier_free(nf);
	assert_int_equal(e.n, 0);

	assert_null(notifier_new(conf_elem(c->notifiers, 2), &e));
	assert_true(tu_has_error(&e,
	    ":4: notifiers[2].type: unknown notifier "
	    "type \"pager\" (known: log, webhook, sns, "));
	assert_null(notifier_new(conf_elem(c->notifiers, 3), &e));
	assert_true(tu_has_error(&e, ":5: notifiers[3].name: missing"));
	assert_null(notifier_new(conf_elem(c->notifiers, 4), &e));
	assert_true(tu_has_error(&e,
	    ":6: notifiers[4].colour: unknown "
	    "setting"));
	assert_null(notifier_new(conf_elem(c->notifiers, 5), &e));
	assert_true(tu_has_error(&e, ":7: notifiers[5].name: must be"));
	assert_null(notifier_new(conf_elem(c->notifiers, 6), &e));
	assert_true(tu_has_error(&e, ":8: notifiers[6].url: missing"));
	assert_null(notifier_new(conf_elem(c->notifiers, 7), &e));
	assert_true(tu_has_error(&e, "notifiers[7].level"));
	assert_null(notifier_new(conf_elem(c->notifiers, 8), &e));
	assert_true(tu_has_error(&e, "must be a group"));
	conf_errs_free(&e);
	conf_free(c);
}

static void
test_removed_notifier(void **state)
{
	struct notification n = firing();
	struct ag_err err = { { 0 } };

	(void)state;
	/* The scheduler finds no notifier of that name after a reload. */
	assert_int_equal(notifier_send(NULL, &n, &err), -1);
	assert_non_null(strstr(err.msg, "no such notifier"));
	assert_int_equal(notifier_send(NULL, &n, NULL), -1);
	notifier_free(NULL);
}

/* A notifier outlives the config it was built from (reloads free it). */
static void
test_outlives_config(void **state)
{
	struct conf_errs e = { 0 };
	struct notification n = firing();
	struct notifier *nf;
	struct ag_err err;
	struct conf *c;

	(void)state;
	c = tu_conf_load("notifiers = ( { name = \"keep\"; type = \"log\"; "
			 "} );\n",
	    &e);
	nf = notifier_new(conf_elem(c->notifiers, 0), &e);
	assert_non_null(nf);
	conf_free(c);
	assert_int_equal(notifier_send(nf, &n, &err), 0);
	assert_string_equal(nf->name, "keep");
	notifier_free(nf);
	conf_errs_free(&e);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_state_names),
		cmocka_unit_test(test_summary),
		cmocka_unit_test(test_to_json),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_from_json_rejects),
		cmocka_unit_test(test_notifier_new),
		cmocka_unit_test(test_removed_notifier),
		cmocka_unit_test(test_outlives_config),
	};

	return cmocka_run_group_tests(tests, tu_tmpdir_setup,
	    tu_tmpdir_teardown);
}
