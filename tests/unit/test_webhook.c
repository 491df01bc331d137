/*
 * test_webhook.c: the webhook notifier.  Every format renders valid JSON
 * with the expected fields for firing, resolved and escalated alerts (the
 * "json" format byte for byte as frozen in tests/data/webhook/), odd
 * strings are escaped, signatures match answers computed with openssl and
 * python, answers are classified (HTTP status, DingTalk/WeCom errcodes),
 * the config is checked, and real sends reach a tiny HTTP server on
 * 127.0.0.1 (fakes/fake_httpd.c) with the right headers and body.
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
#include <time.h>

#include <jansson.h>

#include "paths.h"
#include "lib/log.h"
#include "agent/notify.h"
#include "agent/notifiers/net/webhook_format.h"
#include "conf/conf.h"
#include "tests/unit/fakes/fake_httpd.h"
#include "tests/unit/fakes/testutil.h"

/* 2026-11-22T03:00:00.123Z */
#define T0 1795316400123LL

/* The receiver, one for all tests. */
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

static struct notification
firing(void)
{
	return tu_notification_firing(T0);
}

/* The value of request header ${name}, in a static buffer. */
static const char *
req_header(const char *name)
{
	return fake_httpd_req_header(&S, name);
}

static struct notification
resolved(void)
{
	struct notification n = firing();

	n.state = ST_OK;
	n.prev_state = ST_CRITICAL;
	n.value = 60;
	n.threshold = 70;
	n.since_ms = T0;
	return n;
}

/* Render ${format} for ${n} and parse it; the JSON must be valid. */
static json_t *
render(const char *format, const struct notification *n)
{
	json_error_t je;
	char *s = webhook_render(format, n);
	json_t *o;

	assert_non_null(s);
	o = json_loads(s, 0, &je);
	if (o == NULL)
		fprintf(stderr, "%s: %s\n%s\n", format, je.text, s);
	assert_non_null(o);
	free(s);
	return o;
}

static const char *
str(json_t *o, const char *path)
{
	char buf[128], *tok, *save = NULL;
	json_t *cur = o;

	snprintf(buf, sizeof(buf), "%s", path);
	for (tok = strtok_r(buf, ".", &save); tok != NULL;
	     tok = strtok_r(NULL, ".", &save)) {
		if (json_is_array(cur))
			cur = json_array_get(cur, strtoul(tok, NULL, 10));
		else
			cur = json_object_get(cur, tok);
	}
	if (!json_is_string(cur))
		fail_msg("%s is not a string", path);
	return json_string_value(cur);
}

static void
test_formats_listed(void **state)
{
	char buf[128];

	(void)state;
	assert_string_equal(webhook_format_list(buf, sizeof(buf)),
	    "json, slack, alertmanager, dingtalk, wecom");
	assert_null(webhook_format_find("xml"));
	assert_null(webhook_render("xml", NULL));
}

/*
 * The "json" payload of ${n} must be, byte for byte, the frozen file
 * tests/data/webhook/${name}: the documented schema (docs/WEBHOOK.md) as
 * receivers in the field parse it, written down once and not re-derived
 * from the code under test.
 */
static void
assert_golden_json(const char *name, const struct notification *n)
{
	char rel[128], *got;
	uint8_t *want;
	size_t len;

	snprintf(rel, sizeof(rel), "webhook/%s", name);
	want = tu_read_file(tu_data_path(rel), &len);
	assert_non_null(got = webhook_render("json", n));
	if (strlen(got) != len || memcmp(got, want, len) != 0)
		fail_msg("%s: the json payload changed\n got: %s\nwant: %s",
		    name, got, (const char *)want);
	free(got);
	free(want);
}

static void
test_render_json(void **state)
{
	struct notification n = firing(), r = resolved();
	char *a = webhook_render("json", &n), *b = notification_to_json(&n);

	(void)state;
	assert_golden_json("json-firing.json", &n);
	assert_golden_json("json-recovered.json", &r);
	/* A reminder of missing data: nulls, no operator, the duration. */
	n.state = ST_UNKNOWN;
	n.prev_state = ST_WARNING;
	n.kind = NK_REMINDER;
	n.has_value = false;
	n.has_threshold = false;
	n.op[0] = '\0';
	assert_golden_json("json-nodata-reminder.json", &n);
	/* The spool stores the same object. */
	assert_string_equal(a, b);
	free(a);
	free(b);
}

static void
test_render_slack(void **state)
{
	struct notification n = firing(), r = resolved();
	json_t *o;

	(void)state;
	o = render("slack", &n);
	assert_non_null(strstr(str(o, "text"),
	    "CRITICAL: cpu-high on web1: cpu.used_pct = 97.2 (> 95)"));
	assert_string_equal(str(o, "attachments.0.color"), "#d00000");
	assert_string_equal(str(o, "attachments.0.title"),
	    "CRITICAL: cpu-high on web1");
	assert_string_equal(str(o, "attachments.0.fields.0.value"),
	    "cpu.used_pct");
	assert_string_equal(str(o, "attachments.0.fields.1.value"), "97.2");
	assert_string_equal(str(o, "attachments.0.fields.2.value"), "> 95");
	assert_int_equal(json_integer_value(json_object_get(
			     json_array_get(json_object_get(o, "attachments"),
				 0),
			     "ts")),
	    T0 / 1000);
	json_decref(o);

	o = render("slack", &r);
	assert_string_equal(str(o, "attachments.0.color"), "#2eb886");
	assert_string_equal(str(o, "attachments.0.title"),
	    "RECOVERED: cpu-high on web1");
	json_decref(o);
}

static void
test_render_alertmanager(void **state)
{
	struct notification n = firing(), r = resolved();
	json_t *o, *a;

	(void)state;
	o = render("alertmanager", &n);
	assert_true(json_is_array(o));
	assert_int_equal(json_array_size(o), 1);
	assert_string_equal(str(o, "0.labels.alertname"), "cpu-high");
	assert_string_equal(str(o, "0.labels.instance"), "web1");
	assert_string_equal(str(o, "0.labels.severity"), "critical");
	assert_string_equal(str(o, "0.labels.metric"), "cpu.used_pct");
	assert_string_equal(str(o, "0.labels.source"), "vigil");
	assert_string_equal(str(o, "0.annotations.summary"),
	    "CRITICAL: cpu-high on web1: cpu.used_pct = 97.2 (> 95)");
	assert_string_equal(str(o, "0.annotations.value"), "97.2");
	assert_string_equal(str(o, "0.startsAt"), "2026-11-22T02:58:00.123Z");
	/* Firing: two reminder intervals ahead. */
	assert_string_equal(str(o, "0.endsAt"), "2026-11-22T05:00:00.123Z");
	json_decref(o);

	/* Without reminders: a day ahead. */
	n.repeat_ms = 0;
	o = render("alertmanager", &n);
	assert_string_equal(str(o, "0.endsAt"), "2026-11-23T03:00:00.123Z");
	json_decref(o);

	/* Resolved: same labels (severity it fired with), endsAt now. */
	o = render("alertmanager", &r);
	assert_int_equal(json_array_size(o), 1);
	assert_string_equal(str(o, "0.labels.severity"), "critical");
	assert_string_equal(str(o, "0.endsAt"), "2026-11-22T03:00:00.123Z");
	assert_string_equal(str(o, "0.startsAt"), "2026-11-22T03:00:00.123Z");
	json_decref(o);

	/* Escalation also resolves the alert of the old severity. */
	n = firing();
	n.prev_state = ST_WARNING;
	o = render("alertmanager", &n);
	assert_int_equal(json_array_size(o), 2);
	assert_string_equal(str(o, "0.labels.severity"), "critical");
	assert_string_equal(str(o, "0.endsAt"), "2026-11-22T05:00:00.123Z");
	assert_string_equal(str(o, "1.labels.severity"), "warning");
	assert_string_equal(str(o, "1.endsAt"), "2026-11-22T03:00:00.123Z");
	a = json_array_get(o, 1);
	assert_string_equal(json_string_value(json_object_get(
				json_object_get(a, "labels"), "alertname")),
	    "cpu-high");
	json_decref(o);

	/* UNKNOWN after WARNING is the same alert: no second element. */
	n.state = ST_UNKNOWN;
	n.has_value = false;
	o = render("alertmanager", &n);
	assert_int_equal(json_array_size(o), 1);
	assert_string_equal(str(o, "0.annotations.value"), "n/a");
	json_decref(o);
}

static void
test_render_dingtalk_wecom(void **state)
{
	struct notification n = firing(), r = resolved();
	json_t *o;

	(void)state;
	o = render("dingtalk", &n);
	assert_string_equal(str(o, "msgtype"), "markdown");
	assert_string_equal(str(o, "markdown.title"),
	    "CRITICAL: cpu-high on web1");
	assert_non_null(strstr(str(o, "markdown.text"),
	    "\n- **Value**: 97.2\n"));
	assert_non_null(strstr(str(o, "markdown.text"),
	    "- **Threshold**: > 95\n"));
	assert_non_null(strstr(str(o, "markdown.text"),
	    "- **Time**: 2026-11-22T03:00:00.123Z\n"));
	json_decref(o);
	o = render("dingtalk", &r);
	assert_string_equal(str(o, "markdown.title"),
	    "RECOVERED: cpu-high on web1");
	json_decref(o);

	o = render("wecom", &n);
	assert_string_equal(str(o, "msgtype"), "markdown");
	assert_non_null(strstr(str(o, "markdown.content"),
	    "CRITICAL: cpu-high on web1\n> Metric: cpu.used_pct\n"
	    "> Value: 97.2\n"));
	json_decref(o);
	o = render("wecom", &r);
	assert_non_null(strstr(str(o, "markdown.content"), "RECOVERED"));
	json_decref(o);

	n.kind = NK_REMINDER;
	o = render("dingtalk", &n);
	assert_string_equal(str(o, "markdown.title"),
	    "CRITICAL (reminder): cpu-high on web1");
	json_decref(o);
}

static void
test_render_escaping(void **state)
{
	static const char *const formats[] = { "json", "slack", "alertmanager",
		"dingtalk", "wecom" };
	struct notification n = firing();
	json_t *o;

	(void)state;
	snprintf(n.host, sizeof(n.host),
	    "we\"b\\1\n\t\x01 \xc3\xa9\xe2\x82"
	    "\xac\xf0\x9f\x94\xa5 ${host}");
	snprintf(n.rule, sizeof(n.rule), "bad\xff\xc3utf8\xed\xa0\x80");
	n.has_value = false;
	n.has_threshold = false;
	for (size_t f = 0; f < sizeof(formats) / sizeof(formats[0]); f++) {
		o = render(formats[f], &n);
		json_decref(o);
		o = render(formats[f], &(struct notification){ 0 });
		json_decref(o);
	}
	o = render("alertmanager", &n);
	assert_string_equal(str(o, "0.labels.instance"),
	    "we\"b\\1\n\t\x01 "
	    "\xc3\xa9\xe2\x82\xac\xf0\x9f\x94\xa5 ${host}");
	/* Each bad byte becomes U+FFFD. */
	assert_string_equal(str(o, "0.labels.alertname"),
	    "bad\xef\xbf\xbd"
	    "\xef\xbf\xbdutf8\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
	assert_string_equal(str(o, "0.annotations.value"), "n/a");
	json_decref(o);
	o = render("json", &n);
	assert_true(json_is_null(json_object_get(o, "value")));
	json_decref(o);
	o = render("slack", &n);
	assert_non_null(strstr(str(o, "attachments.0.footer"), "we\"b\\1\n"));
	json_decref(o);
}

static void
test_signature_known_answer(void **state)
{
	const char *body = "{\"id\":\"x\",\"state\":\"CRITICAL\"}";
	char sig[WEBHOOK_SIG_LEN];

	(void)state;
	/* printf '%s' BODY | openssl dgst -sha256 -hmac hunter2 */
	assert_int_equal(webhook_signature("hunter2", body, strlen(body), sig),
	    0);
	assert_string_equal(sig,
	    "sha256=0fcc5879212bba6aaba40c51fe70f54e6c1e"
	    "4d2c609e48e7c40596f86dfc3e3e");
}

static void
test_dingtalk_sign(void **state)
{
	char *u;

	(void)state;
	/*
	 * python3: base64(hmac.new(secret, "1700000000000\n" + secret,
	 * sha256)), then urllib.parse.quote_plus; openssl agrees.
	 */
	assert_int_equal(
	    webhook_dingtalk_sign_url("https://oapi.dingtalk.com/"
				      "robot/send?access_token=abc",
		"SECexample0123456789", 1700000000000LL, &u),
	    0);
	assert_string_equal(u,
	    "https://oapi.dingtalk.com/robot/send?"
	    "access_token=abc&timestamp=1700000000000&sign="
	    "figG6qqCA%2FlRh0hsGCW2zNtNV5znkAFut5BI0zKhqnQ%3D");
	free(u);
	assert_int_equal(webhook_dingtalk_sign_url("http://h/x",
			     "SECexample0123456789", 1700000000000LL, &u),
	    0);
	assert_string_equal(u,
	    "http://h/x?timestamp=1700000000000&sign="
	    "figG6qqCA%2FlRh0hsGCW2zNtNV5znkAFut5BI0zKhqnQ%3D");
	free(u);
}

/* webhook_classify() on a NUL-terminated body. */
static int
classify(const struct webhook_format *f, long status, const char *body,
    struct ag_err *err)
{
	return webhook_classify(f, status, body, strlen(body), err);
}

static void
test_classify(void **state)
{
	const struct webhook_format *js = webhook_format_find("json");
	const struct webhook_format *dt = webhook_format_find("dingtalk");
	const struct webhook_format *wc = webhook_format_find("wecom");
	struct ag_err err = { { 0 } };
	char big[1000];

	(void)state;
	assert_int_equal(classify(js, 200, "", &err), 0);
	assert_int_equal(webhook_classify(js, 202, NULL, 0, &err), 0);
	assert_int_equal(classify(js, 429, "slow", &err), AG_RETRY);
	assert_string_equal(err.msg, "HTTP 429: slow");
	assert_int_equal(classify(js, 408, "", &err), AG_RETRY);
	assert_int_equal(classify(js, 500, "", &err), AG_RETRY);
	assert_int_equal(classify(js, 503, "", &err), AG_RETRY);
	assert_int_equal(classify(js, 400, "bad\nthing", &err), -1);
	/* Control characters are escaped: one message, one line. */
	assert_string_equal(err.msg, "HTTP 400: bad\\nthing");
	assert_int_equal(classify(js, 404, "", &err), -1);
	assert_string_equal(err.msg, "HTTP 404: (empty body)");
	assert_int_equal(classify(js, 301, "", &err), -1);
	assert_non_null(strstr(err.msg, "redirects"));
	memset(big, 'b', sizeof(big));
	assert_int_equal(webhook_classify(js, 400, big, sizeof(big), &err),
	    -1);
	assert_int_equal(strlen(err.msg), strlen("HTTP 400: ") + 200);

	assert_int_equal(classify(dt, 200,
			     "{\"errcode\":0,\"errmsg\":"
			     "\"ok\"}",
			     &err),
	    0);
	assert_int_equal(classify(dt, 200,
			     "{\"errcode\":130101,"
			     "\"errmsg\":\"send too fast\"}",
			     &err),
	    AG_RETRY);
	assert_string_equal(err.msg, "errcode 130101: send too fast");
	assert_int_equal(classify(dt, 200,
			     "{\"errcode\":310000,"
			     "\"errmsg\":\"keywords not in content\"}",
			     &err),
	    -1);
	assert_string_equal(err.msg,
	    "errcode 310000: keywords not in content");
	assert_int_equal(classify(dt, 200, "<html>", &err), -1);
	assert_non_null(strstr(err.msg, "without an errcode"));
	assert_int_equal(classify(dt, 200, "", &err), -1);
	assert_int_equal(classify(dt, 502, "", &err), AG_RETRY);
	assert_int_equal(classify(wc, 200, "{\"errcode\":45009}", &err),
	    AG_RETRY);
	assert_int_equal(classify(wc, 200, "{\"errcode\":93000}", &err), -1);
	assert_int_equal(classify(wc, 200, "{\"errcode\":0}", &err), 0);
	/* 45009 means nothing to DingTalk. */
	assert_int_equal(classify(dt, 200, "{\"errcode\":45009}", &err), -1);
}

/* Build the notifier from one element of a config's notifiers list. */
static struct notifier *
make(const char *settings, struct conf **ret_c, struct conf_errs *e)
{
	char text[2048];

	snprintf(text, sizeof(text),
	    "notifiers = ( { name = \"hook\"; "
	    "type = \"webhook\"; %s } );\n",
	    settings);
	*ret_c = tu_conf_load(text, e);
	return notifier_new(conf_elem((*ret_c)->notifiers, 0), e);
}

static void
test_send_json(void **state)
{
	struct conf_errs e = { 0 };
	struct notification n = firing();
	char settings[512], sig[WEBHOOK_SIG_LEN], *want;
	struct ag_err err = { { 0 } };
	struct notifier *nf;
	struct conf *c;
	long ts;

	(void)state;
	snprintf(settings, sizeof(settings),
	    "url = \"http://127.0.0.1:%d/hook"
	    "?k=v\"; secret = \"s3cret\"; headers = { X-Api-Key = \"k1\"; "
	    "Authorization = \"Bearer t0k\"; };",
	    S.port);
	nf = make(settings, &c, &e);
	assert_int_equal(e.n, 0);
	assert_non_null(nf);
	conf_free(c); /* a reload frees the config */

	S.status = 200;
	S.body = "ok";
	assert_int_equal(notifier_send(nf, &n, &err), 0);
	assert_string_equal(S.method, "POST");
	assert_string_equal(S.path, "/hook?k=v");
	want = notification_to_json(&n);
	assert_string_equal(S.req_body, want);
	free(want);
	assert_string_equal(req_header("Content-Type"), "application/json");
	assert_string_equal(req_header("User-Agent"), "vigil/" VIGIL_VERSION);
	assert_string_equal(req_header("X-Vigil-Id"), n.id);
	assert_string_equal(req_header("X-Api-Key"), "k1");
	assert_string_equal(req_header("Authorization"), "Bearer t0k");
	assert_int_equal(webhook_signature("s3cret", S.req_body,
			     S.req_body_len, sig),
	    0);
	assert_string_equal(req_header("X-Vigil-Signature"), sig);
	ts = strtol(req_header("X-Vigil-Timestamp"), NULL, 10);
	assert_true(labs(ts - (long)time(NULL)) < 10);

	S.status = 429;
	assert_int_equal(notifier_send(nf, &n, &err), AG_RETRY);
	S.status = 500;
	assert_int_equal(notifier_send(nf, &n, &err), AG_RETRY);
	S.status = 400;
	S.body = "nope: bad payload";
	assert_int_equal(notifier_send(nf, &n, &err), -1);
	assert_string_equal(err.msg, "HTTP 400: nope: bad payload");
	S.status = 204;
	S.body = "";
	assert_int_equal(notifier_send(nf, &n, &err), 0);
	notifier_free(nf);
	conf_errs_free(&e);
}

static void
test_send_unsigned_list_headers(void **state)
{
	struct conf_errs e = { 0 };
	struct notification n = resolved();
	char settings[512];
	struct ag_err err;
	struct notifier *nf;
	struct conf *c;

	(void)state;
	snprintf(settings, sizeof(settings),
	    "url = \"http://127.0.0.1:%d/am\";"
	    " format = \"alertmanager\"; headers = [ \"X-Scope-OrgID: "
	    "team-a\", \"X-Two:two\" ]; timeout = \"2s\"; "
	    "connect_timeout = \"1s\"; tls_verify = false;",
	    S.port);
	nf = make(settings, &c, &e);
	assert_int_equal(e.n, 0);
	assert_non_null(nf);
	S.status = 200;
	S.body = "";
	assert_int_equal(notifier_send(nf, &n, &err), 0);
	assert_null(req_header("X-Vigil-Signature"));
	assert_string_equal(req_header("X-Scope-OrgID"), "team-a");
	assert_string_equal(req_header("X-Two"), "two");
	assert_true(S.req_body[0] == '[');
	notifier_free(nf);
	conf_free(c);
	conf_errs_free(&e);
}

static void
test_send_dingtalk(void **state)
{
	struct conf_errs e = { 0 };
	struct notification n = firing();
	char settings[512], base[256], *want;
	const char *ts;
	struct ag_err err = { { 0 } };
	struct notifier *nf;
	struct conf *c;

	(void)state;
	snprintf(base, sizeof(base),
	    "http://127.0.0.1:%d/robot/send?"
	    "access_token=tok",
	    S.port);
	snprintf(settings, sizeof(settings),
	    "url = \"%s\"; format = "
	    "\"dingtalk\"; secret = \"SECabc\";",
	    base);
	nf = make(settings, &c, &e);
	assert_int_equal(e.n, 0);
	assert_non_null(nf);

	S.status = 200;
	S.body = "{\"errcode\":0,\"errmsg\":\"ok\"}";
	assert_int_equal(notifier_send(nf, &n, &err), 0);
	/* Signed on the URL, not in a header. */
	assert_null(req_header("X-Vigil-Signature"));
	assert_non_null(strstr(S.path,
	    "/robot/send?access_token=tok"
	    "&timestamp="));
	ts = strstr(S.path, "timestamp=") + 10;
	assert_int_equal(webhook_dingtalk_sign_url(base, "SECabc",
			     strtoll(ts, NULL, 10), &want),
	    0);
	assert_string_equal(strstr(want, "/robot"), S.path);
	free(want);

	S.body = "{\"errcode\":130101,\"errmsg\":\"send too fast\"}";
	assert_int_equal(notifier_send(nf, &n, &err), AG_RETRY);
	S.body = "{\"errcode\":310000,\"errmsg\":\"sign not match\"}";
	assert_int_equal(notifier_send(nf, &n, &err), -1);
	assert_string_equal(err.msg, "errcode 310000: sign not match");
	assert_null(strstr(err.msg, "tok"));
	notifier_free(nf);
	conf_free(c);
	conf_errs_free(&e);
}

static void
test_send_transport_failures(void **state)
{
	struct conf_errs e = { 0 };
	struct notification n = firing();
	char settings[512];
	struct ag_err err = { { 0 } };
	struct notifier *nf;
	struct conf *c;
	int port;

	(void)state;
	/* Nobody listens: retry later. */
	assert_true((port = fake_httpd_free_port()) > 0);
	snprintf(settings, sizeof(settings),
	    "url = \"http://127.0.0.1:%d/x?"
	    "token=SECRET\";",
	    port);
	nf = make(settings, &c, &e);
	assert_non_null(nf);
	assert_int_equal(notifier_send(nf, &n, &err), AG_RETRY);
	assert_null(strstr(err.msg, "SECRET"));
	notifier_free(nf);
	conf_free(c);

	/* A receiver that never answers: the timeout holds. */
	snprintf(settings, sizeof(settings),
	    "url = \"http://127.0.0.1:%d/x\";"
	    " timeout = \"300ms\";",
	    S.port);
	nf = make(settings, &c, &e);
	assert_non_null(nf);
	S.silent = 1;
	assert_int_equal(notifier_send(nf, &n, &err), AG_RETRY);
	S.silent = 0;
	notifier_free(nf);
	conf_free(c);
	conf_errs_free(&e);
}

static void
test_config_errors(void **state)
{
	static const struct {
		const char *settings;
		const char *error;
	} cases[] = {
		{ "url = \"ftp://h/x\";",
		    "url: must be an http:// or https://" },
		{ "url = \"http://h/a b\";", "url: must be" },
		{ "url = \"http:///x\";", "url: must be" },
		{ "url = 5;", "url: must be a string" },
		{ "url = \"http://h/\"; format = \"xml\";",
		    "format: unknown "
		    "format \"xml\" (known: json, slack, alertmanager, "
		    "dingtalk, wecom)" },
		{ "url = \"http://h/\"; headers = { Content-Type = \"x\"; };",
		    "header \"Content-Type\" is set by vigil" },
		{ "url = \"http://h/\"; headers = [ \"X-A: a\\r\\nX-B: b\" ];",
		    "control characters" },
		{ "url = \"http://h/\"; headers = [ \"no colon\" ];",
		    "must be \"Name: value\"" },
		{ "url = \"http://h/\"; headers = [ \"Bad Name: v\" ];",
		    "invalid character in the name" },
		{ "url = \"http://h/\"; headers = { X-A = 5; };",
		    "must be a string" },
		{ "url = \"http://h/\"; timeout = \"10m\";",
		    "timeout: at most" },
		{ "url = \"http://h/\"; timeout = \"1ms\";", "timeout" },
		{ "url = \"http://h/\"; tls_verify = \"no\";", "tls_verify" },
		{ "url = \"http://h/\"; ca_file = \"/nonexistent/ca.pem\";",
		    "ca_file: cannot read" },
		{ "url = \"http://h/\"; secret_env = \"VIGIL_TEST_NO_SUCH\";",
		    "VIGIL_TEST_NO_SUCH is not set" },
		{ "url = \"http://h/\"; secret = \"a\"; secret_env = \"B\";",
		    "give only one" },
		{ "url = \"http://h/\"; method = \"GET\";",
		    "unknown setting" },
	};
	struct conf_errs e = { 0 };
	struct conf *c;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_null(make(cases[i].settings, &c, &e));
		if (!tu_has_error(&e, cases[i].error))
			fail_msg("case %zu: no \"%s\"", i, cases[i].error);
		/* Header values never appear in errors. */
		for (size_t k = 0; k < e.n; k++)
			assert_null(strstr(e.msgs[k], "X-B: b"));
		conf_free(c);
		conf_errs_free(&e);
		memset(&e, 0, sizeof(e));
	}
}

static void
test_config_ok(void **state)
{
	struct conf_errs e = { 0 };
	char settings[512];
	struct notifier *nf;
	struct conf *c;

	(void)state;
	setenv("VIGIL_TEST_HOOK_SECRET", "from-env", 1);
	snprintf(settings, sizeof(settings),
	    "url = \"HTTPS://hooks.example."
	    "com/x\"; format = \"wecom\"; secret_env = "
	    "\"VIGIL_TEST_HOOK_SECRET\"; ca_file = \"%s/vigil.conf\"; "
	    "tls_verify = true;",
	    tu_tmpdir());
	nf = make(settings, &c, &e);
	assert_int_equal(e.n, 0);
	assert_non_null(nf);
	notifier_free(nf);
	conf_free(c);
	conf_errs_free(&e);
}

/*
 * A receiver that answers 400 echoing its URL (with the token) and our
 * headers: the error record holds neither the token, nor the secret, nor a
 * header value; the notifier's secrets are forgotten when it is freed.
 */
static void
test_refusal_echo_is_redacted(void **state)
{
	static const char *const secrets[] = { "tok-SECRET-1234",
		"hdr-secret-99", "key-secret-77", "sig-secret-55",
		"T0123ABCDEF4567XYZ" };
	struct conf_errs e = { 0 };
	struct notification n = firing();
	char settings[512], echo[1024], red[256];
	struct ag_err err = { { 0 } };
	struct notifier *nf;
	struct conf *c;

	(void)state;
	snprintf(settings, sizeof(settings),
	    "url = \"http://127.0.0.1:%d/"
	    "services/T0123ABCDEF4567XYZ?token=tok-SECRET-1234\"; "
	    "secret = \"sig-secret-55\"; headers = { Authorization = "
	    "\"Bearer hdr-secret-99\"; X-Key = \"key-secret-77\"; };",
	    S.port);
	nf = make(settings, &c, &e);
	assert_int_equal(e.n, 0);
	assert_non_null(nf);
	conf_free(c);

	snprintf(echo, sizeof(echo),
	    "bad request: POST /services/"
	    "T0123ABCDEF4567XYZ?token=tok-SECRET-1234 (secret "
	    "sig-secret-55)\nAuthorization: Bearer hdr-secret-99\n"
	    "X-Key: key-secret-77\nUser-Agent: vigil/0\n");
	S.status = 400;
	S.body = echo;
	assert_int_equal(notifier_send(nf, &n, &err), -1);
	assert_non_null(strstr(err.msg, "HTTP 400: bad request: POST "));
	for (size_t i = 0; i < sizeof(secrets) / sizeof(secrets[0]); i++)
		assert_null(strstr(err.msg, secrets[i]));
	assert_null(strchr(err.msg, '\n'));
	log_redact("key-secret-77", red, sizeof(red));
	assert_string_equal(red, LOG_REDACTED);

	/* Freed (a reload removed it): its secrets are no longer sought. */
	notifier_free(nf);
	log_redact("key-secret-77", red, sizeof(red));
	assert_string_equal(red, "key-secret-77");
	S.status = 200;
	S.body = NULL;
	conf_errs_free(&e);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_formats_listed),
		cmocka_unit_test(test_render_json),
		cmocka_unit_test(test_render_slack),
		cmocka_unit_test(test_render_alertmanager),
		cmocka_unit_test(test_render_dingtalk_wecom),
		cmocka_unit_test(test_render_escaping),
		cmocka_unit_test(test_signature_known_answer),
		cmocka_unit_test(test_dingtalk_sign),
		cmocka_unit_test(test_classify),
		cmocka_unit_test(test_send_json),
		cmocka_unit_test(test_send_unsigned_list_headers),
		cmocka_unit_test(test_send_dingtalk),
		cmocka_unit_test(test_send_transport_failures),
		cmocka_unit_test(test_refusal_echo_is_redacted),
		cmocka_unit_test(test_config_errors),
		cmocka_unit_test(test_config_ok),
	};

	/* The proxy variables are unset by fake_httpd_start(). */
	return cmocka_run_group_tests(tests, setup, teardown);
}
