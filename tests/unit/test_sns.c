/*
 * test_sns.c: the "sns" notifier (agent/notifiers/net/ntf_sns.c).  Topic
 * ARNs; the Subject (at most 100 characters, cut on a character boundary,
 * control characters and broken UTF-8 made harmless); the Publish body
 * byte for byte against what botocore's serializer makes of the same
 * message (tests/data/sns/, made by mk_bodies.py from the recorded Publish
 * model), with attributes, the resource of a cloud metric and the FIFO ids;
 * MessageStructure=json; every recorded SNS answer of
 * ../shared/conformance/aws-responses/botocore/ (Publish, the
 * <ErrorResponse> of SNS and of the query-protocol suite) parsed and
 * compared with its recorded parsed value; how answers are judged; the
 * settings; and real deliveries to the tiny server of fakes/fake_httpd.c
 * (signed headers, the same deduplication id on a retry, the secret in no
 * header, body or message).
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
#include "agent/notify.h"
#include "agent/notifiers/net/ntf_sns_internal.h"
#include "tests/unit/fakes/fake_httpd.h"
#include "tests/unit/fakes/testutil.h"

/* 2026-11-22T03:00:00.123Z */
#define T0 1795316400123LL
#define AKID "AKIDEXAMPLE"
#define SECRET "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
#define ARN "arn:aws:sns:eu-west-1:123456789012:oncall"

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

/* A file under ../shared/conformance/aws-responses/botocore/, NUL-ended. */
static char *
recorded(const char *rel, size_t *ret_len)
{
	const char *shared = getenv("VIGIL_SHARED");
	char path[1024];
	char *b;

	snprintf(path, sizeof(path),
	    "%s/conformance/aws-responses/botocore/%s",
	    shared ? shared : "../../shared", rel);
	b = (char *)tu_read_file(path, ret_len);
	if (b == NULL)
		fail_msg("%s: cannot read (is ../shared beside the "
			 "repository?)",
		    path);
	return b;
}

static json_t *
recorded_json(const char *rel)
{
	size_t len;
	char *s = recorded(rel, &len);
	json_t *j = json_loadb(s, len, 0, NULL);

	free(s);
	assert_non_null(j);
	return j;
}

/* ---- topics ---- */

static void
test_topic_arn(void **state)
{
	static const char *const bad[] = {
		"",
		"arn:aws:sns:eu-west-1:123456789012",
		"arn:aws:sqs:eu-west-1:123456789012:q",
		"arn:aws:sns::123456789012:t",
		"arn:aws:sns:eu-west-1:12345678901:t",
		"arn:aws:sns:eu-west-1:12345678901x:t",
		"arn:aws:sns:eu-west-1:123456789012:",
		"arn:aws:sns:eu-west-1:123456789012:.fifo",
		"arn:aws:sns:eu-west-1:123456789012:a b",
		"arn:aws:sns:eu-west-1:123456789012:a:b",
		"arn:aws:sns:EU-WEST-1:123456789012:t",
		"arn:AWS:sns:eu-west-1:123456789012:t",
		"urn:aws:sns:eu-west-1:123456789012:t",
	};
	struct sns_topic t;
	char longname[300];

	(void)state;
	assert_int_equal(sns_topic_parse(ARN, &t), 0);
	assert_string_equal(t.region, "eu-west-1");
	assert_string_equal(t.partition, "aws");
	assert_false(t.fifo);
	assert_int_equal(sns_topic_parse("arn:aws-cn:sns:cn-north-1:"
					 "123456789012:My_Topic-1.fifo",
			     &t),
	    0);
	assert_string_equal(t.region, "cn-north-1");
	assert_string_equal(t.partition, "aws-cn");
	assert_true(t.fifo);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (sns_topic_parse(bad[i], &t) == 0)
			fail_msg("accepted \"%s\"", bad[i]);
	/* 256 characters of name, then one too many. */
	snprintf(longname, sizeof(longname),
	    "arn:aws:sns:us-east-1:"
	    "123456789012:");
	memset(longname + strlen(longname), 'n', 256);
	longname[35 + 256] = '\0';
	assert_int_equal(sns_topic_parse(longname, &t), 0);
	strcat(longname, "n");
	assert_int_equal(sns_topic_parse(longname, &t), -1);
}

/* ---- text ---- */

/* The number of UTF-8 characters in ${s}, which must be well-formed. */
static size_t
u8_chars(const char *s)
{
	size_t n = 0;

	for (const unsigned char *p = (const unsigned char *)s; *p != '\0';
	     p++) {
		n += (*p & 0xc0) != 0x80;
	}
	return n;
}

/* Is ${s} well-formed UTF-8 without control characters? */
static int
clean_utf8(const char *s)
{
	json_t *j = json_string(s); /* jansson checks UTF-8 */
	int ok = j != NULL;

	json_decref(j);
	for (; ok && *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			ok = 0;
	return ok;
}

static void
test_subject(void **state)
{
	struct notification n = tu_notification_firing(T0);
	char subj[4 * SNS_SUBJECT_MAX + 1], want[600];

	(void)state;
	/* Short: the summary itself. */
	sns_subject(&n, subj, sizeof(subj));
	assert_string_equal(subj,
	    "CRITICAL: cpu-high on web1: cpu.used_pct = 97.2 (> 95)");

	/* Exactly 100 characters: kept whole. */
	n.metric[0] = '\0';
	notification_summary(&n, want, sizeof(want));
	memset(n.metric, 'm', 100 - strlen(want));
	n.metric[100 - strlen(want)] = '\0';
	notification_summary(&n, want, sizeof(want));
	assert_int_equal(strlen(want), 100);
	sns_subject(&n, subj, sizeof(subj));
	assert_string_equal(subj, want);
	/* One more: 99 of them and an ellipsis. */
	strcat(n.metric, "m");
	notification_summary(&n, want, sizeof(want));
	sns_subject(&n, subj, sizeof(subj));
	assert_int_equal(u8_chars(subj), 100);
	assert_memory_equal(subj, want, 99);
	assert_string_equal(subj + 99, "\xe2\x80\xa6");

	/* Three-byte characters: the cut never splits one. */
	n = tu_notification_firing(T0);
	n.host[0] = n.metric[0] = '\0';
	for (int i = 0; i < 30; i++) {
		strcat(n.host, "\xe7\x9b\xa3"); /* U+76E3 */
		strcat(n.metric, "\xe8\xa6\x96\xe7\x9b\xa3");
	}
	for (int pad = 0; pad < 4; pad++) {
		/* Move the cut across the bytes of a character. */
		snprintf(n.rule, sizeof(n.rule), "cpu-high%.*s", pad, "xxx");
		sns_subject(&n, subj, sizeof(subj));
		assert_true(clean_utf8(subj));
		assert_int_equal(u8_chars(subj), 100);
		assert_true(strlen(subj) > 100);
	}

	/* Line breaks, tabs, DEL and C1 controls become spaces; broken UTF-8
	   becomes '?'. */
	n = tu_notification_firing(T0);
	snprintf(n.host, sizeof(n.host),
	    "a\nb\r\tc\x7f"
	    "d\xc2\x85"
	    "e\xff\xc3(f");
	sns_subject(&n, subj, sizeof(subj));
	assert_true(clean_utf8(subj));
	assert_string_equal(subj,
	    "CRITICAL: cpu-high on a b  c d e?"
	    "?(f: "
	    "cpu.used_pct = 97.2 (> 95)");
}

static void
test_text_and_resource(void **state)
{
	struct notification n = tu_notification_firing(T0);
	char res[METRIC_NAME_MAX], *t;

	(void)state;
	sns_resource(&n, res, sizeof(res));
	assert_string_equal(res, "");
	snprintf(n.metric, sizeof(n.metric),
	    "aws.EC2.CPUUtilization{AutoScalingGroupName=web,"
	    "InstanceId=i-0abc}");
	sns_resource(&n, res, sizeof(res));
	assert_string_equal(res, "AutoScalingGroupName=web,InstanceId=i-0abc");
	snprintf(n.metric, sizeof(n.metric), "odd{}");
	sns_resource(&n, res, sizeof(res));
	assert_string_equal(res, "");

	/* A reminder without a value; a line break in a name stays inside
	   its line. */
	n = tu_notification_firing(T0);
	n.kind = NK_REMINDER;
	n.prev_state = ST_CRITICAL;
	n.has_value = false;
	snprintf(n.host, sizeof(n.host), "web1\nRule: forged");
	assert_non_null(t = sns_text(&n));
	assert_non_null(strstr(t,
	    "\n\nState: CRITICAL\nKind: reminder (still "
	    "not OK)\nRule: cpu-high\nHost: web1 Rule: "
	    "forged\nMetric: cpu.used_pct\nValue: no "
	    "data\nThreshold: > 95\nSince: "
	    "2026-11-22T02:58:00.123Z\nTime: "
	    "2026-11-22T03:00:00.123Z\nId: "
	    "1795316400123-cafe-0001\n"));
	free(t);
}

static void
test_fifo_id(void **state)
{
	char id[SNS_FIFO_ID_MAX + 1], s[200];

	(void)state;
	sns_fifo_id("1795316400123-cafe-0001", id);
	assert_string_equal(id, "1795316400123-cafe-0001");
	sns_fifo_id("a!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~z", id);
	assert_string_equal(id, "a!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~z");
	/* 128 allowed characters stay; 129 are hashed. */
	memset(s, 'k', 128);
	s[128] = '\0';
	sns_fifo_id(s, id);
	assert_string_equal(id, s);
	strcat(s, "k");
	sns_fifo_id(s, id);
	assert_int_equal(strlen(id), 64);
	assert_string_not_equal(id, s);
	/* A space or a non-ASCII byte: hashed, the same each time. */
	sns_fifo_id("a b", id);
	/* printf 'a b' | sha256sum */
	assert_string_equal(id,
	    "c8687a08aa5d6ed2044328fa6a697ab8e96dc34291e8c2"
	    "034ae8c38e6fcc6d65");
	sns_fifo_id("", id);
	assert_int_equal(strlen(id), 64);
}

/* ---- the body ---- */

static void
body_equals_file(const char *got, const char *file)
{
	size_t len;
	char *want = (char *)tu_read_file(tu_data_path(file), &len);

	assert_non_null(want);
	if (strlen(got) != len || memcmp(got, want, len) != 0)
		fail_msg("body differs from %s:\n got: %s\nwant: %s", file,
		    got, want);
	free(want);
}

/* The cases of tests/data/sns/mk_bodies.py, byte for byte. */
static void
test_body_botocore(void **state)
{
	struct sns_publish p = { .topic_arn = ARN };
	struct notification n = tu_notification_firing(T0);
	char *b;

	(void)state;
	snprintf(n.metric, sizeof(n.metric),
	    "aws.EC2.CPUUtilization{InstanceId=i-0abc123}");
	assert_non_null(b = sns_publish_body(&p, &n));
	body_equals_file(b, "sns/publish-plain.txt");
	free(b);

	n = tu_notification_firing(T0);
	snprintf(n.id, sizeof(n.id), "%lld-beef-0002", (long long)T0);
	snprintf(n.rule, sizeof(n.rule),
	    "disk-space-on-the-archive-volume-of-the-primary-database-"
	    "cluster");
	snprintf(n.host, sizeof(n.host),
	    "w\xc3\xa9"
	    "b-\xc3\xa4"
	    "01");
	snprintf(n.metric, sizeof(n.metric), "disk./srv.used_pct");
	n.state = ST_OK;
	n.prev_state = ST_WARNING;
	n.value = 41.5;
	n.threshold = 90;
	n.since_ms = T0;
	p.topic_arn = ARN ".fifo";
	p.fifo = true;
	assert_non_null(b = sns_publish_body(&p, &n));
	body_equals_file(b, "sns/publish-fifo.txt");
	free(b);
}

/* Decode form value ${v} (up to '&' or the end) into a malloc'd string. */
static char *
form_value(const char *body, const char *key)
{
	char pat[128], *out, *o;
	const char *v;

	snprintf(pat, sizeof(pat), "&%s=", key);
	if ((v = strstr(body, pat)) == NULL)
		return NULL;
	v += strlen(pat);
	o = out = malloc(strlen(v) + 1);
	assert_non_null(out);
	for (; *v != '\0' && *v != '&'; v++) {
		if (*v == '+') {
			*o++ = ' ';
		} else if (*v == '%') {
			unsigned x;

			assert_int_equal(sscanf(v + 1, "%2x", &x), 1);
			*o++ = (char)x;
			v += 2;
		} else {
			*o++ = *v;
		}
	}
	*o = '\0';
	return out;
}

static void
test_body_json_structure(void **state)
{
	static const char *const keys[] = { "default", "email", "sqs",
		"lambda", "http", "https" };
	struct sns_publish p = { .topic_arn = ARN, .json_structure = true };
	struct notification n = tu_notification_firing(T0);
	char *b, *msg, *text, *js;
	json_t *o;

	(void)state;
	n.host[0] = '\0'; /* no host attribute: entries stay numbered */
	assert_non_null(b = sns_publish_body(&p, &n));
	assert_non_null(strstr(b, "&MessageStructure=json&"));
	assert_non_null(strstr(b,
	    "&MessageAttributes.entry.2.Name=rule&"
	    "MessageAttributes.entry.2.Value.DataType=String&"
	    "MessageAttributes.entry.2.Value.StringValue=cpu-high"));
	assert_null(strstr(b, "entry.3"));
	assert_null(strstr(b, "MessageGroupId"));
	assert_null(strstr(b, "MessageDeduplicationId"));
	assert_non_null(msg = form_value(b, "Message"));
	assert_non_null(o = json_loads(msg, JSON_REJECT_DUPLICATES, NULL));
	assert_int_equal(json_object_size(o), 6);
	text = sns_text(&n);
	js = notification_to_json(&n);
	for (size_t i = 0; i < 6; i++) {
		const char *v = json_string_value(json_object_get(o, keys[i]));

		assert_non_null(v);
		assert_string_equal(v, i < 2 ? text : js);
	}
	json_decref(o);
	free(js);
	free(text);
	free(msg);
	free(b);
}

/* ---- answers ---- */

/* Every recorded Publish answer: the MessageId of its parsed form. */
static void
test_recorded_publish(void **state)
{
	json_t *want = recorded_json("response_parsing/xml/responses/"
				     "sns-publish.json");
	size_t len;
	char *xml = recorded("response_parsing/xml/responses/sns-publish.xml",
	    &len);
	char id[128];

	(void)state;
	assert_int_equal(sns_message_id(xml, len, id, sizeof(id)), 0);
	assert_string_equal(id,
	    json_string_value(json_object_get(want, "MessageId")));
	/* Not a Publish answer: no id. */
	assert_int_equal(sns_message_id("<x/>", 4, id, sizeof(id)), -1);
	assert_int_equal(sns_message_id(NULL, 0, id, sizeof(id)), -1);
	free(xml);
	json_decref(want);
}

/* SNS's recorded <ErrorResponse>: Code and Message of its parsed form. */
static void
test_recorded_sns_error(void **state)
{
	json_t *want = recorded_json("response_parsing/xml/errors/"
				     "sns-delete-topic.json");
	json_t *e = json_object_get(want, "Error");
	size_t len;
	char *xml = recorded("response_parsing/xml/errors/"
			     "sns-delete-topic.xml",
	    &len);
	char code[64], msg[200];
	struct ag_err err;

	(void)state;
	assert_int_equal(sns_error_parse(xml, len, code, sizeof(code), msg,
			     sizeof(msg)),
	    1);
	assert_string_equal(code,
	    json_string_value(json_object_get(e, "Code")));
	assert_string_equal(msg,
	    json_string_value(json_object_get(e, "Message")));
	/* InvalidParameter is the sender's fault: dropped, and said. */
	assert_int_equal(sns_classify("sns[p]: Publish to t", 400, xml, len,
			     &err),
	    -1);
	assert_string_equal(err.msg,
	    "sns[p]: Publish to t: HTTP 400 InvalidParameter: TopicArn");
	free(xml);
	json_decref(want);
}

/*
 * The query protocol's recorded error answers (protocols/output/query.json):
 * every case with an errorCode, against its errorCode and errorMessage.
 */
static void
test_recorded_query_errors(void **state)
{
	json_t *suites = recorded_json("protocols/output/query.json");
	size_t i, k, ncases = 0;
	json_t *suite, *c;

	(void)state;
	json_array_foreach(suites, i, suite)
	{
		json_array_foreach(json_object_get(suite, "cases"), k, c)
		{
			const char *wcode =
			    json_string_value(json_object_get(c, "errorCode"));
			const char *wmsg = json_string_value(json_object_get(c,
			    "errorMessage"));
			json_t *resp = json_object_get(c, "response");
			const char *body =
			    json_string_value(json_object_get(resp, "body"));
			long status = (long)
			    json_integer_value(json_object_get(resp,
				"status_code"));
			char code[64], msg[200];
			struct ag_err err;

			if (wcode == NULL)
				continue;
			ncases++;
			assert_int_equal(sns_error_parse(body, strlen(body),
					     code, sizeof(code), msg,
					     sizeof(msg)),
			    1);
			assert_string_equal(code, wcode);
			assert_string_equal(msg, wmsg != NULL ? wmsg : "");
			/* 4xx of a sender's fault: dropped with the code. */
			assert_int_equal(sns_classify("w", status, body,
					     strlen(body), &err),
			    -1);
			assert_non_null(strstr(err.msg, wcode));
		}
	}
	assert_int_equal(ncases, 3);
	json_decref(suites);
}

static void
test_classify(void **state)
{
	static const char tmpl[] =
	    "<ErrorResponse xmlns=\"http://sns.amazonaws.com/doc/2010-03-31/\">"
	    "<Error><Type>Sender</Type><Code>%s</Code><Message>%s</Message>"
	    "</Error><RequestId>r</RequestId></ErrorResponse>";
	/* moto's form. */
	static const char moto[] =
	    "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<ErrorResponse>"
	    "<Errors><Error><Code>SignatureDoesNotMatch</Code><Message>The "
	    "request signature we calculated does not match the signature "
	    "you provided.</Message></Error></Errors><RequestId>x"
	    "</RequestId></ErrorResponse>";
	static const struct {
		long status;
		const char *code;
		int want;
		const char *needle;
	} t[] = {
		{ 400, "InvalidParameter", -1,
		    "HTTP 400 InvalidParameter: m" },
		{ 400, "ParameterValueInvalid", -1, "ParameterValueInvalid" },
		{ 404, "NotFound", -1, "No such topic: fix topic_arn" },
		{ 400, "Throttling", AG_RETRY, "Throttling" },
		{ 400, "KMSThrottling", AG_RETRY, "KMSThrottling" },
		{ 429, "TooManyRequests", AG_RETRY, "HTTP 429" },
		{ 500, "InternalError", AG_RETRY, "InternalError" },
		{ 503, "ServiceUnavailable", AG_RETRY, "HTTP 503" },
		{ 403, "SignatureDoesNotMatch", AG_RETRY,
		    "fix secret_access_key" },
		{ 403, "InvalidClientTokenId", AG_RETRY, "fix access_key_id" },
		{ 403, "AuthorizationError", AG_RETRY, "allow sns:Publish" },
		{ 400, "RequestTimeTooSkewed", AG_RETRY, "clock" },
		{ 403, "ExpiredToken", AG_RETRY, "session token expired" },
		{ 400, "KMSAccessDenied", AG_RETRY, "kms:GenerateDataKey" },
	};
	struct ag_err err;
	char body[1024];

	(void)state;
	assert_int_equal(sns_classify("w", 200, NULL, 0, &err), 0);
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		snprintf(body, sizeof(body), tmpl, t[i].code, "m");
		assert_int_equal(sns_classify("sns[p]: Publish to t",
				     t[i].status, body, strlen(body), &err),
		    t[i].want);
		if (strstr(err.msg, t[i].needle) == NULL)
			fail_msg("%s: \"%s\" lacks \"%s\"", t[i].code, err.msg,
			    t[i].needle);
		assert_true(strncmp(err.msg, "sns[p]: Publish to t: HTTP ",
				27) == 0);
	}
	assert_int_equal(sns_classify("w", 403, moto, strlen(moto), &err),
	    AG_RETRY);
	assert_string_equal(err.msg,
	    "w: HTTP 403 SignatureDoesNotMatch: The secret access key does not "
	    "match the key id: fix secret_access_key (or the credentials the "
	    "chain found). SNS says: The request signature we calculated "
	    "does not match the signature you provided.");
	/* Not XML: the start of the body, on one line. */
	assert_int_equal(sns_classify("w", 502, "Bad\ngateway", 11, &err),
	    AG_RETRY);
	assert_string_equal(err.msg, "w: HTTP 502: Bad gateway");
	assert_int_equal(sns_classify("w", 400, NULL, 0, &err), -1);
	assert_string_equal(err.msg, "w: HTTP 400");
	/* A refusal of who we are, without a code: kept for a fix. */
	assert_int_equal(sns_classify("w", 403, NULL, 0, &err), AG_RETRY);
	assert_int_equal(sns_classify("w", 401, "denied", 6, &err), AG_RETRY);
}

/* ---- settings and deliveries ---- */

static struct notifier *
make(const char *settings, struct conf **ret_c, struct conf_errs *e)
{
	char text[2048];

	snprintf(text, sizeof(text),
	    "notifiers = ( { name = \"pager\"; type = \"sns\"; %s } );\n",
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
		{ "", "topic_arn: missing" },
		{ "topic_arn = \"arn:aws:sns:x:1:t\";",
		    "topic_arn: must be an SNS topic ARN" },
		{ "topic_arn = \"" ARN "\"; endpoint = \"ftp://h\";",
		    "endpoint: must be http://host[:port]" },
		{ "topic_arn = \"" ARN "\"; endpoint = \"http://h/p\";",
		    "endpoint: must be http://host[:port]" },
		{ "topic_arn = \"" ARN "\"; message_structure = \"xml\";",
		    "message_structure" },
		{ "topic_arn = \"" ARN "\"; access_key_id = \"" AKID "\";",
		    "access_key_id and secret_access_key go together" },
		{ "topic_arn = \"" ARN "\"; timeout = \"10m\";",
		    "timeout: at most 5m" },
		{ "topic_arn = \"" ARN "\"; url = \"http://x\";", "url" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct conf_errs e = { 0 };
		struct conf *c;
		struct notifier *nf = make(t[i].settings, &c, &e);

		assert_null(nf);
		assert_true(tu_has_error(&e, t[i].error));
		conf_errs_free(&e);
		conf_free(c);
	}
}

/* A notifier of ${extra} settings delivering to the fake server. */
static struct notifier *
make_local(const char *arn, const char *extra, struct conf **c,
    struct conf_errs *e)
{
	char settings[1024];
	struct notifier *nf;

	snprintf(settings, sizeof(settings),
	    "topic_arn = \"%s\"; endpoint = \"http://127.0.0.1:%d/\"; "
	    "access_key_id = \"" AKID "\"; secret_access_key = \"" SECRET
	    "\"; timeout = \"2s\"; %s",
	    arn, S.port, extra);
	nf = make(settings, c, e);
	if (nf == NULL)
		for (size_t i = 0; i < e->n; i++)
			print_error("%s\n", e->msgs[i]);
	assert_non_null(nf);
	return nf;
}

static void
test_send(void **state)
{
	size_t len;
	char *ok = recorded("response_parsing/xml/responses/sns-publish.xml",
	    &len);
	char *err_xml = recorded("response_parsing/xml/errors/"
				 "sns-delete-topic.xml",
	    &len);
	struct notification n = tu_notification_firing(T0);
	struct conf_errs e = { 0 };
	struct ag_err err = { { 0 } };
	struct conf *c;
	struct notifier *nf = make_local(ARN, "", &c, &e);
	const char *h;
	char *want, hostport[64];

	(void)state;
	S.status = 200;
	S.body = ok;
	assert_int_equal(notifier_send(nf, &n, &err), 0);
	assert_string_equal(S.method, "POST");
	assert_string_equal(S.path, "/");
	want = sns_publish_body(&(struct sns_publish){ .topic_arn = ARN }, &n);
	assert_string_equal(S.req_body, want);
	free(want);
	h = fake_httpd_req_header(&S, "Content-Type");
	assert_string_equal(h,
	    "application/x-www-form-urlencoded; charset=utf-8");
	snprintf(hostport, sizeof(hostport), "127.0.0.1:%d", S.port);
	assert_string_equal(fake_httpd_req_header(&S, "Host"), hostport);
	assert_non_null(fake_httpd_req_header(&S, "X-Amz-Date"));
	h = fake_httpd_req_header(&S, "Authorization");
	assert_non_null(h);
	assert_true(strncmp(h, "AWS4-HMAC-SHA256 Credential=" AKID "/",
			strlen("AWS4-HMAC-SHA256 Credential=" AKID "/")) == 0);
	/* The region of the ARN, the service sns. */
	assert_non_null(strstr(h,
	    "/eu-west-1/sns/aws4_request, "
	    "SignedHeaders=content-type;host;x-amz-date, "
	    "Signature="));
	assert_null(strstr(S.head, SECRET));
	assert_null(strstr(S.req_body, SECRET));

	/* A refusal: dropped, with SNS's code and message. */
	S.status = 400;
	S.body = err_xml;
	assert_int_equal(notifier_send(nf, &n, &err), -1);
	assert_string_equal(err.msg,
	    "sns[pager]: Publish to oncall: HTTP 400 "
	    "InvalidParameter: TopicArn");
	/* Throttled: kept. */
	S.status = 503;
	S.body = NULL;
	assert_int_equal(notifier_send(nf, &n, &err), AG_RETRY);
	assert_string_equal(err.msg,
	    "sns[pager]: Publish to oncall: HTTP 503");
	notifier_free(nf);
	conf_errs_free(&e);
	conf_free(c);

	/* Nobody listening: kept, and the URL said without a secret. */
	{
		char settings[512];
		int port = fake_httpd_free_port();

		snprintf(settings, sizeof(settings),
		    "topic_arn = \"" ARN "\"; endpoint = "
		    "\"http://127.0.0.1:%d\"; access_key_id = \"" AKID "\"; "
		    "secret_access_key = \"" SECRET "\"; timeout = \"1s\";",
		    port);
		nf = make(settings, &c, &e);
		assert_non_null(nf);
		assert_int_equal(notifier_send(nf, &n, &err), AG_RETRY);
		assert_true(strncmp(err.msg,
				"sns[pager]: Publish to oncall: ", 31) == 0);
		assert_null(strstr(err.msg, SECRET));
		notifier_free(nf);
		conf_errs_free(&e);
		conf_free(c);
	}
	free(ok);
	free(err_xml);
}

/*
 * A FIFO topic through prepare/finish, as the sender does it: the request
 * carries the group and deduplication ids, and preparing the same
 * notification again (a retry after a lost answer) gives the same
 * deduplication id, so SNS delivers it once.
 */
static void
test_fifo_retry_same_id(void **state)
{
	struct notification n = tu_notification_firing(T0);
	struct conf_errs e = { 0 };
	struct ag_err err = { { 0 } };
	struct notifier_call call1 = { .priv = NULL },
			     call2 = { .priv = NULL };
	struct conf *c;
	struct notifier *nf = make_local(ARN ".fifo",
	    "message_structure = \"json\";", &c, &e);
	char *d1, *d2, *g;

	(void)state;
	assert_true(notifier_has_request(nf));
	assert_int_equal(notifier_prepare(nf, &n, &call1, &err), 0);
	assert_int_equal(notifier_prepare(nf, &n, &call2, &err), 0);
	assert_string_equal(call1.req.method, "POST");
	assert_non_null(d1 = form_value(call1.req.body,
			    "MessageDeduplicationId"));
	assert_non_null(d2 = form_value(call2.req.body,
			    "MessageDeduplicationId"));
	assert_string_equal(d1, n.id);
	assert_string_equal(d2, d1);
	assert_non_null(g = form_value(call1.req.body, "MessageGroupId"));
	assert_string_equal(g, "cpu-high");
	assert_non_null(strstr(call1.req.body, "&MessageStructure=json&"));
	assert_int_equal(notifier_finish(nf, &call1, 200, NULL, 0, &err), 0);
	notifier_release(nf, &call1);
	notifier_release(nf, &call2);
	free(d1);
	free(d2);
	free(g);
	notifier_free(nf);
	conf_errs_free(&e);
	conf_free(c);
}

/* No credentials anywhere: kept queued, with what was tried. */
static void
test_no_credentials(void **state)
{
	static const char *const vars[] = { "AWS_ACCESS_KEY_ID",
		"AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
		"AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE",
		"AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN",
		"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
		"AWS_CONTAINER_CREDENTIALS_FULL_URI" };
	struct notification n = tu_notification_firing(T0);
	struct conf_errs e = { 0 };
	struct ag_err err = { { 0 } };
	struct notifier_call call = { .priv = NULL };
	struct conf *c;
	struct notifier *nf;
	char settings[256];

	(void)state;
	for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
		unsetenv(vars[i]);
	setenv("HOME", tu_tmpdir(), 1);
	setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
	snprintf(settings, sizeof(settings),
	    "topic_arn = \"" ARN "\"; endpoint = \"http://127.0.0.1:%d\";",
	    S.port);
	assert_non_null(nf = make(settings, &c, &e));
	assert_int_equal(notifier_prepare(nf, &n, &call, &err), AG_RETRY);
	assert_null(call.priv);
	assert_true(strncmp(err.msg, "sns[pager]: ", 12) == 0);
	notifier_free(nf);
	conf_errs_free(&e);
	conf_free(c);
}

/*
 * credentials = "NAME": the keys of a group of the credentials section sign
 * the Publish (the topic's region, not the group's); a name not defined,
 * or a name beside keys of its own, is refused.
 */
static void
test_named_credentials(void **state)
{
	static const char *const bad[][2] = {
		{ "credentials = \"nope\";",
		    "\"nope\" is not defined in the credentials section" },
		{ "credentials = \"ops\"; access_key_id = \"" AKID "\"; "
		  "secret_access_key = \"" SECRET "\";",
		    "not both" },
	};
	size_t len;
	char *ok = recorded("response_parsing/xml/responses/sns-publish.xml",
	    &len);
	struct notification n = tu_notification_firing(T0);
	struct conf_errs e = { 0 };
	struct ag_err err = { { 0 } };
	struct notifier *nf;
	struct conf *c;
	char text[1024];
	const char *h;

	(void)state;
	for (size_t i = 0; i < 3; i++) {
		snprintf(text, sizeof(text),
		    "credentials = { ops = { type = \"aws\"; "
		    "region = \"us-west-2\"; access_key_id = \"AKIDNAMED\"; "
		    "secret_access_key = \"" SECRET "\"; }; };\n"
		    "notifiers = ( { name = \"pager\"; type = \"sns\"; "
		    "topic_arn = \"" ARN "\"; "
		    "endpoint = \"http://127.0.0.1:%d\"; %s } );\n",
		    S.port, i < 2 ? bad[i][0] : "credentials = \"ops\";");
		c = tu_conf_load(text, &e);
		nf = notifier_new(conf_elem(c->notifiers, 0), &e);
		if (i < 2) {
			assert_null(nf);
			assert_true(tu_has_error(&e, bad[i][1]));
			conf_errs_free(&e);
			conf_free(c);
			continue;
		}
		assert_non_null(nf);
	}
	S.status = 200;
	S.body = ok;
	assert_int_equal(notifier_send(nf, &n, &err), 0);
	h = fake_httpd_req_header(&S, "Authorization");
	assert_non_null(h);
	assert_true(strncmp(h, "AWS4-HMAC-SHA256 Credential=AKIDNAMED/",
			strlen("AWS4-HMAC-SHA256 Credential=AKIDNAMED/")) ==
	    0);
	assert_non_null(strstr(h, "/eu-west-1/sns/aws4_request"));
	notifier_free(nf);
	conf_errs_free(&e);
	conf_free(c);
	free(ok);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_topic_arn),
		cmocka_unit_test(test_subject),
		cmocka_unit_test(test_text_and_resource),
		cmocka_unit_test(test_fifo_id),
		cmocka_unit_test(test_body_botocore),
		cmocka_unit_test(test_body_json_structure),
		cmocka_unit_test(test_recorded_publish),
		cmocka_unit_test(test_recorded_sns_error),
		cmocka_unit_test(test_recorded_query_errors),
		cmocka_unit_test(test_classify),
		cmocka_unit_test(test_settings),
		cmocka_unit_test(test_send),
		cmocka_unit_test(test_fifo_retry_same_id),
		cmocka_unit_test(test_no_credentials),
		cmocka_unit_test(test_named_credentials),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
