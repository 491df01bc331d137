/*
 * test_notifhubs.c: the "notification_hubs" notifier
 * (agent/notifiers/net/ntf_notifhubs.c) and the Service Bus SAS of
 * lib/cloud/azure/azure_sb.c.  The SAS token against a vector computed
 * apart, with Python's hmac module as Microsoft's samples make it:
 *
 *	sr = urllib.parse.quote(uri.lower(), safe="").lower()
 *	sig = base64(hmac.new(key.encode(), (sr + "\n" + se).encode(),
 *	    hashlib.sha256).digest())
 *
 * connection strings, good and bad (no part of a key in a message); each
 * payload format, as JSON, for a firing and a recovered notification, and a
 * payload of one's own; tag expressions; how answers are judged; the
 * settings; and real sends to fakes/fake_httpd.c (the headers, a refused
 * token kept, the key in no header, body or message).
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
#include "lib/cloud/azure/azure_auth.h"
#include "agent/notify.h"
#include "agent/notifiers/net/ntf_notifhubs_internal.h"
#include "tests/unit/fakes/fake_httpd.h"
#include "tests/unit/fakes/testutil.h"

/* 2026-11-22T03:00:00.123Z */
#define T0 1795316400123LL
#define KEY "JZ7g2m9Yc3q0Xv+Jp0cG9bKkQnV2s1oS2Rl3uG8y0/E="
#define KEYNAME "DefaultFullSharedAccessSignature"
#define CONN \
	"Endpoint=sb://vigil-it.servicebus.windows.net/;SharedAccessKeyName=" KEYNAME \
	";SharedAccessKey=" KEY

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
test_sas_vector(void **state)
{
	char *t;

	(void)state;
	t = azure_sb_sas_token("https://vigil-it.servicebus.windows.net/OnCall",
	    KEYNAME, KEY, 1795320000);
	assert_non_null(t);
	assert_string_equal(t,
	    "SharedAccessSignature "
	    "sr=https%3a%2f%2fvigil-it.servicebus.windows.net%2foncall&"
	    "sig=nA8Oreiijl%2FFYeLBfZsKV%2FhevqinWlJAuXP7XbICFBA%3D&"
	    "se=1795320000&skn=" KEYNAME);
	free(t);
	/* Another expiry, another signature. */
	t = azure_sb_sas_token("https://vigil-it.servicebus.windows.net/OnCall",
	    KEYNAME, KEY, 1795320001);
	assert_null(strstr(t, "nA8Oreiijl"));
	free(t);
}

static void
test_conn_parse(void **state)
{
	static const struct {
		const char *s, *why;
	} bad[] = {
		{ "SharedAccessKeyName=a;SharedAccessKey=" KEY,
		    "no Endpoint" },
		{ "Endpoint=https://x.servicebus.windows.net/;"
		  "SharedAccessKeyName=a;SharedAccessKey=" KEY,
		    "Endpoint must be sb://" },
		{ "Endpoint=sb://x.servicebus.windows.net/;SharedAccessKey=" KEY,
		    "no SharedAccessKeyName" },
		{ "Endpoint=sb://x.servicebus.windows.net/;"
		  "SharedAccessKeyName=a",
		    "no SharedAccessKey" },
		{ "Endpoint=sb://x y/;SharedAccessKeyName=a;SharedAccessKey=" KEY,
		    "not a name" },
		{ "Endpoint=sb://x/;junk;SharedAccessKey=" KEY,
		    "without '='" },
	};
	struct azure_sb_conn c;
	char why[200];

	(void)state;
	assert_int_equal(azure_sb_conn_parse(CONN, &c, why, sizeof(why)), 0);
	assert_string_equal(c.host, "vigil-it.servicebus.windows.net");
	assert_string_equal(c.key_name, KEYNAME);
	assert_string_equal(c.key, KEY);
	assert_null(c.entity);
	azure_sb_conn_free(&c);
	/* Any order and case, a final ';', an EntityPath. */
	assert_int_equal(azure_sb_conn_parse("sharedaccesskey=" KEY
					     ";ENDPOINT=sb://ns.servicebus."
					     "windows.net;EntityPath=hub;"
					     "SharedAccessKeyName=send;",
			     &c, why, sizeof(why)),
	    0);
	assert_string_equal(c.host, "ns.servicebus.windows.net");
	assert_string_equal(c.key_name, "send");
	assert_string_equal(c.entity, "hub");
	azure_sb_conn_free(&c);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(azure_sb_conn_parse(bad[i].s, &c, why,
				     sizeof(why)),
		    -1);
		if (strstr(why, bad[i].why) == NULL)
			fail_msg("%s: \"%s\" lacks \"%s\"", bad[i].s, why,
			    bad[i].why);
		assert_null(strstr(why, "JZ7g"));
		assert_null(c.key);
	}
}

/* ${s} parsed; fails the test if it is not JSON. */
static json_t *
parse(const char *s)
{
	json_error_t je;
	json_t *j;

	assert_non_null(s);
	if ((j = json_loads(s, 0, &je)) == NULL)
		fail_msg("not JSON (%s): %s", je.text, s);
	return j;
}

static const char *
str_at(json_t *o, const char *a, const char *b, const char *c)
{
	json_t *v = json_object_get(o, a);

	if (b != NULL)
		v = json_object_get(v, b);
	if (c != NULL)
		v = json_object_get(v, c);
	if (!json_is_string(v))
		fail_msg("%s.%s.%s is not a string", a, b ? b : "",
		    c ? c : "");
	return json_string_value(v);
}

/* The properties every format carries, in ${o}. */
static void
check_props(json_t *o, const char *state, const char *prev)
{
	assert_string_equal(str_at(o, "state", NULL, NULL), state);
	assert_string_equal(str_at(o, "previous_state", NULL, NULL), prev);
	assert_string_equal(str_at(o, "rule", NULL, NULL), "cpu-high");
	assert_string_equal(str_at(o, "host", NULL, NULL), "web1");
	assert_string_equal(str_at(o, "metric", NULL, NULL), "cpu.used_pct");
	assert_string_equal(str_at(o, "value", NULL, NULL), "97.2");
	assert_string_equal(str_at(o, "threshold", NULL, NULL), "> 95");
	assert_string_equal(str_at(o, "id", NULL, NULL),
	    "1795316400123-cafe-0001");
	assert_string_equal(str_at(o, "timestamp", NULL, NULL),
	    "2026-11-22T03:00:00.123Z");
}

static void
test_payloads(void **state)
{
	struct notification n = tu_notification_firing(T0);
	const char *key, *title = "CRITICAL: cpu-high on web1";
	const char *body = "CRITICAL: cpu-high on web1: cpu.used_pct = 97.2 "
			   "(> 95)";
	json_t *j, *v;
	char *s;

	(void)state;
	/* template: flat, every value a string. */
	j = parse(s = nh_payload(NH_TEMPLATE, NULL, &n));
	assert_string_equal(str_at(j, "title", NULL, NULL), title);
	assert_string_equal(str_at(j, "body", NULL, NULL), body);
	assert_string_equal(str_at(j, "severity", NULL, NULL), "critical");
	check_props(j, "CRITICAL", "OK");
	json_object_foreach(j, key, v)
	{
		if (!json_is_string(v))
			fail_msg("template property %s is not a string", key);
	}
	assert_int_equal(json_object_size(j), 12);
	json_decref(j);
	free(s);
	/* fcmv1: message.notification, android priority, data. */
	j = parse(s = nh_payload(NH_FCMV1, NULL, &n));
	assert_string_equal(str_at(j, "message", "notification", "title"),
	    title);
	assert_string_equal(str_at(j, "message", "notification", "body"),
	    body);
	assert_string_equal(str_at(j, "message", "android", "priority"),
	    "HIGH");
	check_props(json_object_get(json_object_get(j, "message"), "data"),
	    "CRITICAL", "OK");
	json_decref(j);
	free(s);
	/* gcm: notification, priority, data. */
	j = parse(s = nh_payload(NH_GCM, NULL, &n));
	assert_string_equal(str_at(j, "notification", "title", NULL), title);
	assert_string_equal(str_at(j, "priority", NULL, NULL), "high");
	check_props(json_object_get(j, "data"), "CRITICAL", "OK");
	json_decref(j);
	free(s);
	/* apple: aps.alert, the properties beside aps. */
	n.state = ST_OK;
	n.prev_state = ST_CRITICAL;
	j = parse(s = nh_payload(NH_APPLE, NULL, &n));
	assert_string_equal(str_at(j, "aps", "alert", "title"),
	    "RECOVERED: cpu-high on web1");
	assert_string_equal(str_at(j, "aps", "sound", NULL), "default");
	check_props(json_object_get(j, "vigil"), "OK", "CRITICAL");
	json_decref(j);
	free(s);
	/* One's own, with placeholders; an unknown one is refused. */
	j = parse(s = nh_payload(NH_APPLE,
		      "{\"aps\":{\"alert\":\"${summary}\"},\"v\":${value}}",
		      &n));
	assert_string_equal(str_at(j, "aps", "alert", NULL),
	    "RECOVERED: cpu-high on web1: cpu.used_pct = 97.2 (was "
	    "CRITICAL)");
	assert_true(json_real_value(json_object_get(j, "v")) == 97.2);
	json_decref(j);
	free(s);
	assert_null(nh_payload(NH_TEMPLATE, "{\"a\":\"${nope}\"}", &n));
	/* Quotes and line breaks in names stay JSON. */
	snprintf(n.rule, sizeof(n.rule), "say \"hi\"\n");
	j = parse(s = nh_payload(NH_TEMPLATE, NULL, &n));
	assert_string_equal(str_at(j, "rule", NULL, NULL), "say \"hi\"\n");
	json_decref(j);
	free(s);
}

static void
test_tags(void **state)
{
	struct notification n = tu_notification_firing(T0);
	char out[NH_TAGS_MAX + 1], tiny[16];

	(void)state;
	assert_int_equal(nh_tags("oncall && rule:${rule}", &n, out,
			     sizeof(out)),
	    0);
	assert_string_equal(out, "oncall && rule:cpu-high");
	assert_int_equal(nh_tags("host:${host} || sev:${severity} || "
				 "${state} || m:${metric}",
			     &n, out, sizeof(out)),
	    0);
	assert_string_equal(out,
	    "host:web1 || sev:critical || CRITICAL || m:cpu.used_pct");
	/* A recovery keeps the severity it fired with. */
	n.state = ST_OK;
	n.prev_state = ST_CRITICAL;
	assert_int_equal(nh_tags("sev:${severity} ${state}", &n, out,
			     sizeof(out)),
	    0);
	assert_string_equal(out, "sev:critical OK");
	n.state = ST_UNKNOWN;
	assert_int_equal(nh_tags("sev:${severity}", &n, out, sizeof(out)), 0);
	assert_string_equal(out, "sev:warning");
	/* What a tag may not hold becomes '_'; operators are left alone. */
	snprintf(n.rule, sizeof(n.rule), "disk full (/var)!");
	snprintf(n.metric, sizeof(n.metric), "cw.cpu{InstanceId=i-1}");
	assert_int_equal(nh_tags("!(r:${rule}) && m:${metric}", &n, out,
			     sizeof(out)),
	    0);
	assert_string_equal(out,
	    "!(r:disk_full___var__) && m:cw.cpu_InstanceId_i-1_");
	assert_int_equal(nh_tags("x:${nope}", &n, out, sizeof(out)), -1);
	assert_int_equal(nh_tags("rule:${rule}", &n, tiny, sizeof(tiny)), -1);
	assert_int_equal(nh_tags("a literal ${ without end", &n, out,
			     sizeof(out)),
	    0);
	assert_string_equal(out, "a literal ${ without end");
}

static void
test_classify(void **state)
{
	static const char e401[] =
	    "<Error><Code>401</Code><Detail>InvalidSignature: The token has "
	    "an invalid signature..TrackingId:1</Detail></Error>";
	static const char quota[] =
	    "<Error><Code>403</Code><Detail>QuotaExceeded: the daily "
	    "push quota is used up</Detail></Error>";
	static const char big[] = "<Error><Code>403</Code><Detail>The "
				  "message is too large</Detail></Error>";
	static const char e404[] = "<Error><Code>404</Code><Detail>No message "
				   "branch</Detail></Error>";
	struct ag_err err;

	(void)state;
	assert_int_equal(nh_classify("w", 201, NULL, 0, &err), 0);
	assert_int_equal(nh_classify("w", 401, e401, strlen(e401), &err),
	    AG_RETRY);
	assert_string_equal(err.msg,
	    "w: HTTP 401: the SAS token was refused: fix the connection "
	    "string (key name, key, a policy with Send) or the clock. The hub "
	    "says: InvalidSignature: The token has an invalid "
	    "signature..TrackingId:1");
	assert_int_equal(nh_classify("w", 403, quota, strlen(quota), &err),
	    AG_RETRY);
	assert_non_null(strstr(err.msg, "quota of pushes is used up"));
	assert_int_equal(nh_classify("w", 403, big, strlen(big), &err), -1);
	assert_string_equal(err.msg, "w: HTTP 403: The message is too large");
	assert_int_equal(nh_classify("w", 404, e404, strlen(e404), &err), -1);
	assert_non_null(strstr(err.msg, "no such hub"));
	assert_int_equal(nh_classify("w", 413, NULL, 0, &err), -1);
	assert_int_equal(nh_classify("w", 429, NULL, 0, &err), AG_RETRY);
	assert_int_equal(nh_classify("w", 503, "down\n", 5, &err), AG_RETRY);
	assert_string_equal(err.msg, "w: HTTP 503: down ");
	assert_int_equal(nh_classify("w", 400, NULL, 0, &err), -1);
}

/* A notifier of the settings ${settings}, its conf in *${ret_c}. */
static struct notifier *
make(const char *settings, struct conf **ret_c, struct conf_errs *e)
{
	char text[4096];

	snprintf(text, sizeof(text),
	    "notifiers = ( { name = \"phones\"; type = \"notification_hubs\"; "
	    "%s } );\n",
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
		{ "connection_string = \"" CONN "\";", "hub: missing" },
		{ "hub = \"h\";", "connection_string: missing" },
		{ "hub = \"a b\"; connection_string = \"" CONN "\";",
		    "hub: must be the hub's name" },
		{ "hub = \"h\"; connection_string = \"Endpoint=x\";",
		    "connection_string: is not a Notification Hubs connection "
		    "string: Endpoint must be sb://" },
		{ "hub = \"h\"; connection_string = \"" CONN
		  "\"; format = \"wns\";",
		    "format" },
		{ "hub = \"h\"; connection_string = \"" CONN
		  "\"; payload = \"{\\\"a\\\": ${nope}}\";",
		    "payload: must be JSON" },
		{ "hub = \"h\"; connection_string = \"" CONN
		  "\"; payload = \"not json ${rule}\";",
		    "payload: must be JSON" },
		{ "hub = \"h\"; connection_string = \"" CONN
		  "\"; tags = \"a:${who}\";",
		    "tags: must be a tag expression" },
		{ "hub = \"h\"; connection_string = \"" CONN
		  "\"; endpoint = \"http://h/p\";",
		    "endpoint: must be http://host[:port]" },
		{ "hub = \"h\"; connection_string = \"" CONN
		  "\"; timeout = \"10m\";",
		    "timeout: at most 5m" },
		{ "hub = \"h\"; connection_string = \"" CONN
		  "\"; url = \"x\";",
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
		for (size_t k = 0; k < e.n; k++)
			assert_null(strstr(e.msgs[k], "JZ7g"));
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
	char settings[1024], *want;
	const char *h;
	time_t before = time(NULL);
	long se;

	(void)state;
	snprintf(settings, sizeof(settings),
	    "hub = \"OnCall\"; connection_string = \"" CONN "\"; "
	    "endpoint = \"http://127.0.0.1:%d/\"; format = \"fcmv1\"; "
	    "tags = \"oncall && rule:${rule}\"; timeout = \"2s\";",
	    S.port);
	nf = make(settings, &c, &e);
	if (nf == NULL)
		for (size_t i = 0; i < e.n; i++)
			print_error("%s\n", e.msgs[i]);
	assert_non_null(nf);
	S.status = 201;
	S.body = NULL;
	assert_int_equal(notifier_send(nf, &n, &err), 0);
	assert_string_equal(S.method, "POST");
	assert_string_equal(S.path, "/OnCall/messages/?api-version=2015-01");
	want = nh_payload(NH_FCMV1, NULL, &n);
	assert_string_equal(S.req_body, want);
	free(want);
	assert_string_equal(fake_httpd_req_header(&S, "Content-Type"),
	    "application/json;charset=utf-8");
	assert_string_equal(fake_httpd_req_header(&S,
				"ServiceBusNotification-Format"),
	    "FcmV1");
	assert_string_equal(fake_httpd_req_header(&S,
				"ServiceBusNotification-Tags"),
	    "oncall && rule:cpu-high");
	assert_null(fake_httpd_req_header(&S, "apns-push-type"));
	/* Signed for the hub's URI at the namespace, not the endpoint. */
	h = fake_httpd_req_header(&S, "Authorization");
	assert_non_null(h);
	assert_true(strncmp(h,
			"SharedAccessSignature sr=https%3a%2f%2fvigil-it."
			"servicebus.windows.net%2foncall&sig=",
			strlen("SharedAccessSignature sr=https%3a%2f%2fvigil-"
			       "it.servicebus.windows.net%2foncall&sig=")) ==
	    0);
	assert_non_null(strstr(h, "&skn=" KEYNAME));
	assert_int_equal(sscanf(strstr(h, "&se=") + 4, "%ld", &se), 1);
	assert_true(se >= before + 3600 && se <= time(NULL) + 3600);
	assert_null(strstr(S.head, KEY));
	assert_null(strstr(S.req_body, KEY));

	/* A refused token: kept queued, said clearly. */
	S.status = 401;
	S.body = "<Error><Code>401</Code><Detail>InvalidSignature: The token "
		 "has an invalid signature.</Detail></Error>";
	assert_int_equal(notifier_send(nf, &n, &err), AG_RETRY);
	assert_non_null(strstr(err.msg,
	    "notification_hubs[phones]: send to OnCall: HTTP 401: the SAS "
	    "token was refused: fix the connection string"));
	assert_null(strstr(err.msg, KEY));
	/* No such hub: dropped. */
	S.status = 404;
	S.body = NULL;
	assert_int_equal(notifier_send(nf, &n, &err), -1);
	notifier_free(nf);
	conf_free(c);

	/* apple: its APNs headers; no tags, no tags header. */
	snprintf(settings, sizeof(settings),
	    "hub = \"h\"; connection_string = \"" CONN "\"; "
	    "endpoint = \"http://127.0.0.1:%d\"; format = \"apple\";",
	    S.port);
	nf = make(settings, &c, &e);
	assert_non_null(nf);
	S.status = 201;
	assert_int_equal(notifier_send(nf, &n, &err), 0);
	assert_string_equal(fake_httpd_req_header(&S,
				"ServiceBusNotification-Format"),
	    "apple");
	assert_string_equal(fake_httpd_req_header(&S, "apns-push-type"),
	    "alert");
	assert_string_equal(fake_httpd_req_header(&S, "apns-priority"), "10");
	assert_null(fake_httpd_req_header(&S, "ServiceBusNotification-Tags"));
	notifier_free(nf);
	conf_free(c);
	conf_errs_free(&e);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sas_vector),
		cmocka_unit_test(test_conn_parse),
		cmocka_unit_test(test_payloads),
		cmocka_unit_test(test_tags),
		cmocka_unit_test(test_classify),
		cmocka_unit_test(test_settings),
		cmocka_unit_test(test_send),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
