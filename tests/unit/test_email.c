/*
 * test_email.c: the "email" notifier's message builder and settings
 * (agent/notifiers/net/ntf_email.c): the RFC 5322 Date; addresses; the
 * message's headers (Date of the notification, From, To folded, Subject
 * saying state, rule, host and value, RFC 2047 encoded when not ASCII,
 * Message-ID "<id@host>" the same for a retry, MIME headers); CRLF line
 * ends only, no line over 998 bytes, header lines folded to 78 where they
 * can be; lines beginning with a dot left to libcurl to escape; the
 * settings and their errors.  Deliveries are in it_email.sh.
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

#include "conf/conf.h"
#include "lib/ag.h"
#include "lib/crypto/crypto.h"
#include "agent/notify.h"
#include "agent/notifiers/net/ntf_email_internal.h"
#include "agent/notifiers/net/ntf_sns_internal.h"
#include "tests/unit/fakes/testutil.h"

/* 2026-11-22T03:00:00.123Z, a Sunday */
#define T0 1795316400123LL

static const char *const TO[] = { "ops@example.com", "oncall@example.org",
	NULL };

static void
test_date(void **state)
{
	char b[64];

	(void)state;
	email_date(T0, b, sizeof(b));
	assert_string_equal(b, "Sun, 22 Nov 2026 03:00:00 +0000");
	email_date(0, b, sizeof(b));
	assert_string_equal(b, "Thu, 01 Jan 1970 00:00:00 +0000");
	/* 2024-02-29T23:59:59Z, a leap day. */
	email_date(1709251199000LL, b, sizeof(b));
	assert_string_equal(b, "Thu, 29 Feb 2024 23:59:59 +0000");
}

static void
test_address(void **state)
{
	(void)state;
	assert_true(email_valid_address("a@b"));
	assert_true(email_valid_address("vigil+alerts@mail.example.com"));
	assert_false(email_valid_address("a"));
	assert_false(email_valid_address("@b"));
	assert_false(email_valid_address("a@"));
	assert_false(email_valid_address("a b@c"));
	assert_false(email_valid_address("<a@b>"));
	assert_false(email_valid_address("a@b, c@d"));
	assert_false(email_valid_address("a@b\r\nBcc: x@y"));
	assert_false(email_valid_address(".a@b"));
	assert_false(email_valid_address("a..b@c"));
}

/* Every line of ${m} ends in CRLF, and none is over 998 bytes. */
static void
check_lines(const char *m, size_t len)
{
	const char *p = m, *nl;

	assert_int_equal(strlen(m), len);
	while (*p != '\0') {
		nl = strchr(p, '\n');
		assert_non_null(nl);
		assert_true(nl > p || p == m);
		assert_int_equal(nl[-1], '\r');
		assert_null(memchr(p, '\r', (size_t)(nl - 1 - p)));
		assert_true(nl - 1 - p <= EMAIL_LINE_MAX);
		p = nl + 1;
	}
}

/* The header block of ${m}, unfolded, into ${out}. */
static void
unfolded_headers(const char *m, char *out, size_t len)
{
	const char *end = strstr(m, "\r\n\r\n");
	size_t k = 0;

	assert_non_null(end);
	for (const char *p = m; p < end + 2 && k + 1 < len; p++) {
		if (p[0] == '\r' && p[1] == '\n' &&
		    (p[2] == ' ' || p[2] == '\t')) {
			p++;
			continue;
		}
		out[k++] = *p;
	}
	out[k] = '\0';
}

/* The value of header ${name} in unfolded ${h}, into ${out}. */
static int
header(const char *h, const char *name, char *out, size_t len)
{
	char needle[64];
	const char *p;

	snprintf(needle, sizeof(needle), "\r\n%s: ", name);
	if (strncmp(h, needle + 2, strlen(needle) - 2) == 0)
		p = h + strlen(needle) - 2;
	else if ((p = strstr(h, needle)) != NULL)
		p += strlen(needle);
	else
		return 0;
	snprintf(out, len, "%.*s", (int)strcspn(p, "\r"), p);
	return 1;
}

static void
test_message(void **state)
{
	struct notification n = tu_notification_firing(T0);
	char h[8192], v[1024], *m, *again;
	size_t len, len2;

	(void)state;
	m = email_message("vigil@example.com", TO, &n, &len);
	assert_non_null(m);
	check_lines(m, len);
	unfolded_headers(m, h, sizeof(h));
	assert_true(header(h, "Date", v, sizeof(v)));
	assert_string_equal(v, "Sun, 22 Nov 2026 03:00:00 +0000");
	assert_true(header(h, "From", v, sizeof(v)));
	assert_string_equal(v, "vigil@example.com");
	assert_true(header(h, "To", v, sizeof(v)));
	assert_string_equal(v, "ops@example.com, oncall@example.org");
	assert_true(header(h, "Subject", v, sizeof(v)));
	assert_string_equal(v,
	    "CRITICAL: cpu-high on web1: cpu.used_pct = 97.2 (> 95)");
	assert_true(header(h, "Message-ID", v, sizeof(v)));
	assert_string_equal(v, "<1795316400123-cafe-0001@web1>");
	assert_true(header(h, "MIME-Version", v, sizeof(v)));
	assert_string_equal(v, "1.0");
	assert_true(header(h, "Content-Type", v, sizeof(v)));
	assert_string_equal(v, "text/plain; charset=utf-8");
	assert_true(header(h, "X-Vigil-Id", v, sizeof(v)));
	assert_string_equal(v, n.id);
	/* The body: what, where, value, threshold, since. */
	assert_non_null(strstr(m, "\r\n\r\nCRITICAL: cpu-high on web1"));
	assert_non_null(strstr(m, "\r\nRule: cpu-high\r\n"));
	assert_non_null(strstr(m, "\r\nHost: web1\r\n"));
	assert_non_null(strstr(m, "\r\nValue: 97.2\r\n"));
	assert_non_null(strstr(m, "\r\nThreshold: > 95\r\n"));
	assert_non_null(strstr(m, "\r\nSince: 2026-11-22T02:58:00"));
	/* A retry is the same message, Message-ID and Date included. */
	again = email_message("vigil@example.com", TO, &n, &len2);
	assert_non_null(again);
	assert_int_equal(len, len2);
	assert_memory_equal(m, again, len);
	free(again);
	free(m);
}

/* Decode the RFC 2047 words of ${v} (B, UTF-8) into ${out}. */
static void
decode_words(const char *v, char *out, size_t len)
{
	const char *p = v, *e;
	char b64[128];
	size_t k = 0;
	int n;

	while ((p = strstr(p, "=?UTF-8?B?")) != NULL) {
		p += 10;
		e = strstr(p, "?=");
		assert_non_null(e);
		/* An encoded word is at most 75 characters. */
		assert_true(e - p + 12 <= 75);
		snprintf(b64, sizeof(b64), "%.*s", (int)(e - p), p);
		n = crypto_unbase64(b64, (uint8_t *)out + k, len - k - 1);
		assert_true(n > 0);
		k += (size_t)n;
		p = e + 2;
	}
	out[k] = '\0';
}

static void
test_subject_utf8(void **state)
{
	struct notification n = tu_notification_firing(T0);
	char h[8192], v[2048], want[512], got[512], *m, *line;
	size_t len;

	(void)state;
	snprintf(n.rule, sizeof(n.rule),
	    "Plattenplatz-\xc3\x9c"
	    "berlauf \xe2\x9a\xa0 \xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e "
	    "\xf0\x9f\x94\xa5\xf0\x9f\x94\xa5\xf0\x9f\x94\xa5");
	m = email_message("vigil@example.com", TO, &n, &len);
	assert_non_null(m);
	check_lines(m, len);
	/* No 8-bit byte in the headers. */
	for (const char *p = m; p < strstr(m, "\r\n\r\n"); p++)
		assert_true((unsigned char)*p < 0x80);
	/* Each folded header line at most 78. */
	for (line = m; line < strstr(m, "\r\n\r\n");
	     line = strstr(line, "\r\n") + 2)
		assert_true(strstr(line, "\r\n") - line <= EMAIL_LINE_SOFT);
	unfolded_headers(m, h, sizeof(h));
	assert_true(header(h, "Subject", v, sizeof(v)));
	decode_words(v, got, sizeof(got));
	sns_subject(&n, want, sizeof(want));
	assert_string_equal(got, want);
	/* Each word holds whole characters: each decodes on its own. */
	assert_non_null(strstr(got, "\xf0\x9f\x94\xa5"));
	/* The body keeps the UTF-8 as is (8bit). */
	assert_non_null(strstr(m, "\r\nRule: Plattenplatz-\xc3\x9c"));
	free(m);
}

static void
test_long_lines(void **state)
{
	struct notification n = tu_notification_firing(T0);
	char h[16384], v[2048], want[512], got[512], *m, *line;
	const char *to[20];
	char addrs[19][40];
	size_t len, i;

	(void)state;
	/* A cloud metric with long labels: a body line over 998 bytes. */
	memset(n.metric, 'x', sizeof(n.metric) - 1);
	memcpy(n.metric, "ec2.cpu{Name=", 13);
	n.metric[sizeof(n.metric) - 2] = '}';
	n.metric[sizeof(n.metric) - 1] = '\0';
	snprintf(n.rule, sizeof(n.rule),
	    "a rule with a long name that does not fit on one line of "
	    "seventy-eight characters at all");
	for (i = 0; i < 19; i++) {
		snprintf(addrs[i], sizeof(addrs[i]), "person%zu@example.com",
		    i);
		to[i] = addrs[i];
	}
	to[19] = NULL;
	m = email_message("vigil@example.com", to, &n, &len);
	assert_non_null(m);
	check_lines(m, len);
	for (line = m; line < strstr(m, "\r\n\r\n");
	     line = strstr(line, "\r\n") + 2)
		assert_true(strstr(line, "\r\n") - line <= EMAIL_LINE_SOFT);
	unfolded_headers(m, h, sizeof(h));
	/* Cut to 100 characters with an ellipsis: not ASCII any more. */
	assert_true(header(h, "Subject", v, sizeof(v)));
	decode_words(v, got, sizeof(got));
	sns_subject(&n, want, sizeof(want));
	assert_string_equal(got, want);
	assert_non_null(strstr(got, "CRITICAL: a rule with a long name"));
	assert_true(header(h, "To", v, sizeof(v)));
	assert_non_null(strstr(v, "person0@example.com, person1@example.com"));
	assert_non_null(strstr(v, "person18@example.com"));
	free(m);

	/* An ASCII subject of 90 characters: folded at a blank, as is. */
	snprintf(n.rule, sizeof(n.rule), "backup-volume-free-space");
	snprintf(n.metric, sizeof(n.metric),
	    "disk.free_pct{mount=/srv/backup}");
	m = email_message("vigil@example.com", to, &n, &len);
	assert_non_null(m);
	check_lines(m, len);
	assert_null(strstr(m, "=?UTF-8?"));
	for (line = m; line < strstr(m, "\r\n\r\n");
	     line = strstr(line, "\r\n") + 2)
		assert_true(strstr(line, "\r\n") - line <= EMAIL_LINE_SOFT);
	unfolded_headers(m, h, sizeof(h));
	assert_true(header(h, "Subject", v, sizeof(v)));
	notification_summary(&n, want, sizeof(want));
	assert_true(strlen(want) > EMAIL_LINE_SOFT);
	assert_string_equal(v, want);
	free(m);
}

static struct notifier *
make(const char *settings, struct conf **ret_c, struct conf_errs *e)
{
	char text[2048];

	snprintf(text, sizeof(text),
	    "notifiers = ( { name = \"mail\"; type = \"email\"; %s } );\n",
	    settings);
	*ret_c = tu_conf_load(text, e);
	return notifier_new(conf_elem((*ret_c)->notifiers, 0), e);
}

#define OK_BASE "url = \"smtp://127.0.0.1:2525\"; from = \"v@example.com\"; "

static void
test_settings(void **state)
{
	static const struct {
		const char *settings, *error;
	} t[] = {
		{ "", "url: missing" },
		{ "url = \"http://h\"; from = \"a@b\"; to = \"c@d\";",
		    "url: must be smtp://host[:port]" },
		{ "url = \"smtp://h/x\"; from = \"a@b\"; to = \"c@d\";",
		    "url: must be smtp://host[:port]" },
		{ "url = \"smtp://u:p@h\"; from = \"a@b\"; to = \"c@d\";",
		    "url: must be smtp://host[:port]" },
		{ OK_BASE "to = [ ];", "to: between 1 and" },
		{ OK_BASE "to = [ \"x@y\", \"Bob <b@c>\" ];",
		    "to: \"Bob <b@c>\" is not a plain address" },
		{ "url = \"smtp://h\"; from = \"nobody\"; to = \"c@d\";",
		    "from: \"nobody\" is not a plain address" },
		{ OK_BASE "to = \"c@d\"; username = \"u\";",
		    "username: needs password" },
		{ OK_BASE "to = \"c@d\"; password_env = \"HOME\";",
		    "password: needs a username" },
		{ OK_BASE "to = \"c@d\"; starttls = \"maybe\";", "starttls" },
		{ OK_BASE "to = \"c@d\"; timeout = \"10m\";",
		    "timeout: at most 5m" },
		{ OK_BASE "to = \"c@d\"; bcc = \"x@y\";", "bcc" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct conf_errs e = { 0 };
		struct conf *c;
		struct notifier *nf = make(t[i].settings, &c, &e);

		assert_null(nf);
		if (!tu_has_error(&e, t[i].error)) {
			for (size_t k = 0; k < e.n; k++)
				print_error("%zu: %s\n", i, e.msgs[k]);
			fail_msg("case %zu: no \"%s\"", i, t[i].error);
		}
		conf_errs_free(&e);
		conf_free(c);
	}
}

static void
test_settings_ok(void **state)
{
	struct conf_errs e = { 0 };
	struct conf *c;
	struct notifier *nf;

	(void)state;
	setenv("VIGIL_TEST_SMTP_PW", "s3cret-pw", 1);
	nf = make(OK_BASE "to = [ \"a@b\", \"c@d\" ]; username = \"u\"; "
			  "password_env = \"VIGIL_TEST_SMTP_PW\"; "
			  "starttls = false; timeout = \"5s\";",
	    &c, &e);
	for (size_t k = 0; k < e.n; k++)
		print_error("%s\n", e.msgs[k]);
	assert_non_null(nf);
	assert_true(notifier_has_request(nf));
	notifier_free(nf);
	conf_errs_free(&e);
	conf_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_date),
		cmocka_unit_test(test_address),
		cmocka_unit_test(test_message),
		cmocka_unit_test(test_subject_utf8),
		cmocka_unit_test(test_long_lines),
		cmocka_unit_test(test_settings),
		cmocka_unit_test(test_settings_ok),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
