/*
 * test_pubsub.c: the "pubsub" notifier (agent/notifiers/net/ntf_pubsub.c).
 * Topic names, good and bad; the publish body (data the base64 of the
 * notification's JSON, the attributes, the ordering key, broken UTF-8
 * made valid); the message id of an answer; how
 * answers are judged (Google's JSON errors); the settings; and real
 * deliveries to fakes/fake_httpd.c with auth = "none" and
 * PUBSUB_EMULATOR_HOST (no Authorization header).  Tokens, and their
 * renewal after a 401, are it_pubsub.sh's: fake_httpd serves one
 * connection at a time, and the token client keeps its own open.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "conf/conf.h"
#include "lib/ag.h"
#include "lib/crypto/crypto.h"
#include "agent/notify.h"
#include "agent/notifiers/net/ntf_pubsub_internal.h"
#include "tests/unit/fakes/fake_httpd.h"
#include "tests/unit/fakes/testutil.h"

/* 2026-11-22T03:00:00.123Z */
#define T0 1795316400123LL

static struct fake_httpd S;

static int
setup(void **state)
{
	if (tu_tmpdir_setup(state) != 0)
		return -1;
	if (fake_httpd_start(&S) != 0) {
		(void)tu_tmpdir_teardown(state);
		return -1;
	}
	return 0;
}

static int
teardown(void **state)
{
	fake_httpd_stop(&S);
	return tu_tmpdir_teardown(state);
}

static void
test_topic_parse(void **state)
{
	static const struct {
		const char *topic, *project, *why;
	} bad[] = {
		{ "projects/my-proj/alerts", NULL, "must be \"projects/" },
		{ "alerts", NULL, "the topic id with the setting project" },
		{ "projects/my-proj/topics/alerts", "other-proj",
		    "names project \"my-proj\"" },
		{ "projects/MyProj1/topics/alerts", NULL,
		    "is not a project id" },
		{ "projects/abc/topics/alerts", NULL, "is not a project id" },
		{ "projects/my-proj-/topics/alerts", NULL,
		    "is not a project id" },
		{ "projects/my-proj/topics/al", NULL, "is not a topic id" },
		{ "projects/my-proj/topics/1alerts", NULL,
		    "is not a topic id" },
		{ "projects/my-proj/topics/googalerts", NULL,
		    "is not a topic id" },
		{ "projects/my-proj/topics/a/b", NULL, "is not a topic id" },
		{ "a b c", "my-proj", "is not a topic id" },
	};
	struct pubsub_topic t;
	char why[256];

	(void)state;
	assert_int_equal(pubsub_topic_parse("projects/my-proj/topics/alerts",
			     NULL, &t, why, sizeof(why)),
	    0);
	assert_string_equal(t.project, "my-proj");
	assert_string_equal(t.topic, "alerts");
	assert_int_equal(pubsub_topic_parse("Alerts-1_a.b~c+d%e", "my-proj",
			     &t, why, sizeof(why)),
	    0);
	assert_string_equal(t.topic, "Alerts-1_a.b~c+d%e");
	assert_int_equal(
	    pubsub_topic_parse("projects/example.com:my-proj/topics/alerts",
		"example.com:my-proj", &t, why, sizeof(why)),
	    0);
	assert_string_equal(t.project, "example.com:my-proj");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(pubsub_topic_parse(bad[i].topic,
				     bad[i].project, &t, why, sizeof(why)),
		    -1);
		if (strstr(why, bad[i].why) == NULL)
			fail_msg("%s: \"%s\" lacks \"%s\"", bad[i].topic, why,
			    bad[i].why);
	}
}

/* The one message of publish body ${s}, its data decoded into *${data}. */
static json_t *
message(const char *s, json_t **data)
{
	json_t *root, *msg;
	uint8_t raw[16384];
	int n;

	assert_non_null(s);
	root = json_loads(s, 0, NULL);
	assert_non_null(root);
	assert_int_equal(json_object_size(root), 1);
	assert_int_equal(json_array_size(json_object_get(root, "messages")),
	    1);
	msg = json_incref(json_array_get(json_object_get(root, "messages"),
	    0));
	json_decref(root);
	n = crypto_unbase64(json_string_value(json_object_get(msg, "data")),
	    raw, sizeof(raw));
	assert_true(n > 0);
	*data = json_loadb((const char *)raw, (size_t)n, 0, NULL);
	assert_non_null(*data);
	return msg;
}

static const char *
attr(json_t *msg, const char *name)
{
	json_t *v = json_object_get(json_object_get(msg, "attributes"), name);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

static void
test_body(void **state)
{
	struct notification n = tu_notification_firing(T0);
	json_t *msg, *data;
	char *s, *js, key[PUBSUB_ORDERING_KEY_MAX + 1];

	(void)state;
	/* The data is the notification's JSON, as the webhook sends it. */
	msg = message(s = pubsub_publish_body(&n, false), &data);
	js = notification_to_json(&n);
	{
		json_t *w = json_loads(js, 0, NULL);

		assert_true(json_equal(w, data));
		json_decref(w);
	}
	free(js);
	assert_string_equal(attr(msg, "severity"), "CRITICAL");
	assert_string_equal(attr(msg, "rule"), "cpu-high");
	assert_string_equal(attr(msg, "host"), "web1");
	assert_string_equal(attr(msg, "metric"), "cpu.used_pct");
	assert_string_equal(attr(msg, "id"), n.id);
	assert_null(attr(msg, "resource"));
	assert_int_equal(json_object_size(json_object_get(msg, "attributes")),
	    5);
	assert_null(json_object_get(msg, "orderingKey"));
	json_decref(msg);
	json_decref(data);
	free(s);

	/* A cloud metric: its labels as resource; ordering by series. */
	snprintf(n.metric, sizeof(n.metric), "cw.cpu{InstanceId=i-1}");
	n.state = ST_OK;
	n.prev_state = ST_CRITICAL;
	msg = message(s = pubsub_publish_body(&n, true), &data);
	assert_string_equal(attr(msg, "severity"), "OK");
	assert_string_equal(attr(msg, "resource"), "InstanceId=i-1");
	assert_string_equal(json_string_value(json_object_get(msg,
				"orderingKey")),
	    "cpu-high/cw.cpu{InstanceId=i-1}");
	assert_string_equal(json_string_value(json_object_get(data,
				"previous_state")),
	    "CRITICAL");
	json_decref(msg);
	json_decref(data);
	free(s);

	/* Broken UTF-8 made valid; no host, no attribute. */
	snprintf(n.rule, sizeof(n.rule), "r\xff\xfe-1");
	n.host[0] = '\0';
	msg = message(s = pubsub_publish_body(&n, false), &data);
	assert_string_equal(attr(msg, "rule"),
	    "r?"
	    "?-1");
	assert_null(attr(msg, "host"));
	json_decref(msg);
	json_decref(data);
	free(s);

	/* The longest rule and series: a key within Pub/Sub's limit. */
	memset(n.metric, 'm', sizeof(n.metric) - 1);
	n.metric[sizeof(n.metric) - 1] = '\0';
	snprintf(n.rule, sizeof(n.rule), "%0127d", 7);
	pubsub_ordering_key(&n, key);
	assert_int_equal(strlen(key), 127 + 1 + 511);
	snprintf(n.rule, sizeof(n.rule), "r");
	snprintf(n.metric, sizeof(n.metric), "m");
	pubsub_ordering_key(&n, key);
	assert_string_equal(key, "r/m");
}

static void
test_answers(void **state)
{
	static const char ok[] = "{\"messageIds\": [\"4242\"]}";
	static const char e404[] =
	    "{\"error\": {\"code\": 404, \"message\": \"Resource not found "
	    "(resource=alerts).\", \"status\": \"NOT_FOUND\"}}";
	static const char e400[] =
	    "{\"error\": {\"code\": 400, \"message\": \"Invalid data\", "
	    "\"status\": \"INVALID_ARGUMENT\"}}";
	static const char e429[] =
	    "{\"error\": {\"code\": 429, \"message\": \"Quota\", "
	    "\"status\": \"RESOURCE_EXHAUSTED\"}}";
	static const char unav[] =
	    "{\"error\": {\"code\": 409, \"message\": \"x\", "
	    "\"status\": \"ABORTED\"}}";
	struct ag_err err;
	char id[32];

	(void)state;
	assert_int_equal(pubsub_message_id(ok, strlen(ok), id, sizeof(id)), 0);
	assert_string_equal(id, "4242");
	assert_int_equal(pubsub_message_id("{}", 2, id, sizeof(id)), -1);
	assert_int_equal(pubsub_message_id("x", 1, id, sizeof(id)), -1);

	assert_int_equal(pubsub_classify("w", 200, ok, strlen(ok), &err), 0);
	assert_int_equal(pubsub_classify("w", 404, e404, strlen(e404), &err),
	    -1);
	assert_string_equal(err.msg,
	    "w: HTTP 404 NOT_FOUND: no such topic: fix topic (and project). "
	    "Pub/Sub says: Resource not found (resource=alerts).");
	assert_int_equal(pubsub_classify("w", 400, e400, strlen(e400), &err),
	    -1);
	assert_string_equal(err.msg,
	    "w: HTTP 400 INVALID_ARGUMENT: Invalid "
	    "data");
	assert_int_equal(pubsub_classify("w", 429, e429, strlen(e429), &err),
	    AG_RETRY);
	assert_int_equal(pubsub_classify("w", 409, unav, strlen(unav), &err),
	    AG_RETRY);
	assert_int_equal(pubsub_classify("w", 401, NULL, 0, &err), AG_RETRY);
	assert_string_equal(err.msg,
	    "w: HTTP 401: the token was refused: a new one is fetched");
	assert_int_equal(pubsub_classify("w", 403, NULL, 0, &err), AG_RETRY);
	assert_non_null(strstr(err.msg, "roles/pubsub.publisher"));
	assert_int_equal(pubsub_classify("w", 502, "<html>bad\ngw", 12, &err),
	    AG_RETRY);
	assert_string_equal(err.msg, "w: HTTP 502: <html>bad gw");
}

static struct notifier *
make(const char *settings, struct conf **ret_c, struct conf_errs *e)
{
	char text[2048];

	snprintf(text, sizeof(text),
	    "notifiers = ( { name = \"pipe\"; type = \"pubsub\"; %s } );\n",
	    settings);
	*ret_c = tu_conf_load(text, e);
	return notifier_new(conf_elem((*ret_c)->notifiers, 0), e);
}

static void
test_settings(void **state)
{
	static const struct {
		const char *settings, *error;
	} t[] = {
		{ "", "topic: missing" },
		{ "topic = \"alerts\";",
		    "topic: must be \"projects/PROJECT/topics/TOPIC\", or the "
		    "topic id with the setting project" },
		{ "topic = \"projects/my-proj/topics/alerts\"; "
		  "endpoint = \"http://h/p\";",
		    "endpoint: must be http://host[:port]" },
		{ "topic = \"projects/my-proj/topics/alerts\"; auth = \"key\";",
		    "auth" },
		{ "topic = \"projects/my-proj/topics/alerts\"; auth = \"none\"; "
		  "endpoint = \"http://h:1\"; credentials_file = \"/x\";",
		    "auth: \"none\" takes no credentials_file" },
		{ "topic = \"projects/my-proj/topics/alerts\"; "
		  "credentials_file = \"/nonexistent/sa.json\";",
		    "/nonexistent/sa.json" },
		{ "topic = \"projects/my-proj/topics/alerts\"; "
		  "timeout = \"10m\";",
		    "timeout: at most 5m" },
		{ "topic = \"projects/my-proj/topics/alerts\"; ordering = 1;",
		    "ordering" },
		{ "topic = \"projects/my-proj/topics/alerts\"; url = \"x\";",
		    "url" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct conf_errs e = { 0 };
		struct conf *c;
		struct notifier *nf = make(t[i].settings, &c, &e);

		assert_null(nf);
		if (!tu_has_error(&e, t[i].error)) {
			for (size_t k = 0; k < e.n; k++)
				print_error("%s\n", e.msgs[k]);
			fail_msg("case %zu: no \"%s\"", i, t[i].error);
		}
		conf_errs_free(&e);
		conf_free(c);
	}
	/* auth none without an endpoint takes PUBSUB_EMULATOR_HOST. */
	{
		struct conf_errs e = { 0 };
		struct conf *c;
		struct notifier *nf;

		unsetenv("PUBSUB_EMULATOR_HOST");
		nf = make("topic = \"projects/my-proj/topics/alerts\"; "
			  "auth = \"none\";",
		    &c, &e);
		assert_null(nf);
		assert_true(tu_has_error(&e, "PUBSUB_EMULATOR_HOST"));
		conf_errs_free(&e);
		conf_free(c);
	}
}

static void
test_send(void **state)
{
	struct notification n = tu_notification_firing(T0);
	struct conf_errs e = { 0 };
	struct ag_err err = { { 0 } };
	struct conf *c;
	struct notifier *nf;
	char emu[64], *want;

	(void)state;
	/* The emulator's way: PUBSUB_EMULATOR_HOST, no token. */
	snprintf(emu, sizeof(emu), "127.0.0.1:%d", S.port);
	setenv("PUBSUB_EMULATOR_HOST", emu, 1);
	nf = make("topic = \"alerts\"; project = \"my-proj\"; auth = \"none\"; "
		  "ordering = true; timeout = \"2s\";",
	    &c, &e);
	unsetenv("PUBSUB_EMULATOR_HOST");
	assert_non_null(nf);
	S.status = 200;
	S.body = "{\"messageIds\": [\"1\"]}";
	assert_int_equal(notifier_send(nf, &n, &err), 0);
	assert_string_equal(S.method, "POST");
	assert_string_equal(S.path,
	    "/v1/projects/my-proj/topics/alerts:publish");
	want = pubsub_publish_body(&n, true);
	assert_string_equal(S.req_body, want);
	free(want);
	assert_string_equal(fake_httpd_req_header(&S, "Content-Type"),
	    "application/json");
	assert_null(fake_httpd_req_header(&S, "Authorization"));
	S.status = 404;
	S.body = "{\"error\": {\"code\": 404, \"message\": \"Resource not "
		 "found (resource=alerts).\", \"status\": \"NOT_FOUND\"}}";
	assert_int_equal(notifier_send(nf, &n, &err), -1);
	assert_string_equal(err.msg,
	    "pubsub[pipe]: publish to alerts: HTTP 404 NOT_FOUND: no such "
	    "topic: fix topic (and project). Pub/Sub says: Resource not found "
	    "(resource=alerts).");
	notifier_free(nf);
	conf_free(c);

	conf_errs_free(&e);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_topic_parse),
		cmocka_unit_test(test_body),
		cmocka_unit_test(test_answers),
		cmocka_unit_test(test_settings),
		cmocka_unit_test(test_send),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
