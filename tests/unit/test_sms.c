/*
 * test_sms.c: the "sms" notifier (agent/notifiers/net/ntf_sms.c): the
 * GSM-7 alphabet; one segment (160 septets, extension characters counting
 * two; 70 UCS-2 units when a character is not GSM-7, a character beyond
 * the BMP counting two and never split; the cut ends in "..." or U+2026
 * within the limit); the rate's syntax and its per-number history; which
 * notifications are sent; Twilio's answers; the settings.  Deliveries are
 * in it_sms.sh.
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
#include "lib/utf8.h"
#include "agent/notify.h"
#include "agent/notifiers/net/ntf_sms_internal.h"
#include "tests/unit/fakes/testutil.h"

/* Septets (gsm7) or UTF-16 units of the UTF-8 ${s}. */
static size_t
units(const char *s, bool gsm7)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = 0, k;
	uint32_t cp;

	while (*p != '\0') {
		k = utf8_seq(p, &cp);
		assert_true(k > 0); /* whole characters only */
		n += gsm7 ? (size_t)sms_gsm7_cost(cp) :
			    (cp >= 0x10000 ? 2 : 1);
		p += k;
	}
	return n;
}

static void
test_gsm7(void **state)
{
	(void)state;
	assert_int_equal(sms_gsm7_cost('A'), 1);
	assert_int_equal(sms_gsm7_cost('@'), 1);
	assert_int_equal(sms_gsm7_cost('_'), 1);
	assert_int_equal(sms_gsm7_cost('$'), 1);
	assert_int_equal(sms_gsm7_cost(0xe9), 1);  /* é */
	assert_int_equal(sms_gsm7_cost(0x394), 1); /* Δ */
	assert_int_equal(sms_gsm7_cost('{'), 2);
	assert_int_equal(sms_gsm7_cost('|'), 2);
	assert_int_equal(sms_gsm7_cost('\\'), 2);
	assert_int_equal(sms_gsm7_cost(0x20ac), 2); /* € */
	assert_int_equal(sms_gsm7_cost('`'), 0);
	assert_int_equal(sms_gsm7_cost(0xe1), 0);   /* á */
	assert_int_equal(sms_gsm7_cost(0x2713), 0); /* ✓ */
}

static void
test_segment(void **state)
{
	char in[1024], out[1024];
	bool gsm7;

	(void)state;
	/* Short GSM-7: as is. */
	sms_segment("CRITICAL: cpu-high on web1", out, sizeof(out), &gsm7);
	assert_true(gsm7);
	assert_string_equal(out, "CRITICAL: cpu-high on web1");
	/* Exactly 160: as is. */
	memset(in, 'a', 160);
	in[160] = '\0';
	sms_segment(in, out, sizeof(out), &gsm7);
	assert_string_equal(out, in);
	/* 161: cut to 157 and "...". */
	memset(in, 'a', 161);
	in[161] = '\0';
	sms_segment(in, out, sizeof(out), &gsm7);
	assert_true(gsm7);
	assert_int_equal(strlen(out), 160);
	assert_string_equal(out + 157, "...");
	/* Extension characters count two: 80 braces fill the segment. */
	memset(in, '{', 80);
	in[80] = '\0';
	sms_segment(in, out, sizeof(out), &gsm7);
	assert_string_equal(out, in);
	memset(in, '{', 81);
	in[81] = '\0';
	sms_segment(in, out, sizeof(out), &gsm7);
	assert_true(units(out, true) <= 160);
	assert_string_equal(out + strlen(out) - 3, "...");
	assert_int_equal(strlen(out), 78 + 3);
	/* One non-GSM character: UCS-2, 70 units, U+2026 at the end. */
	snprintf(in, sizeof(in), "%s \xe2\x9c\x93", "disk full on db1");
	sms_segment(in, out, sizeof(out), &gsm7);
	assert_false(gsm7);
	assert_string_equal(out, in);
	memset(in, 'b', 100);
	memcpy(in + 100, "\xc3\xa1", 3); /* á */
	sms_segment(in, out, sizeof(out), &gsm7);
	assert_false(gsm7);
	assert_int_equal(units(out, false), 70);
	assert_string_equal(out + strlen(out) - 3, "\xe2\x80\xa6");
	/* Beyond the BMP: two units each, never split. */
	in[0] = '\0';
	for (int i = 0; i < 40; i++)
		strcat(in, "\xf0\x9f\x94\xa5");
	sms_segment(in, out, sizeof(out), &gsm7);
	assert_false(gsm7);
	assert_true(units(out, false) <= 70);
	assert_int_equal(units(out, false), 68 + 1);
	/* Controls become blanks, broken UTF-8 '?'. */
	sms_segment("a\tb\x01"
		    "c\xff"
		    "d",
	    out, sizeof(out), &gsm7);
	assert_string_equal(out, "a b c?d");
	/* A small buffer is never overrun and stays a string. */
	sms_segment("hello world", out, 6, &gsm7);
	assert_true(strlen(out) < 6);
}

static void
test_rate(void **state)
{
	unsigned n;
	int64_t p;
	uint64_t dropped;

	(void)state;
	assert_int_equal(sms_rate_parse("5/h", &n, &p), 0);
	assert_int_equal(n, 5);
	assert_int_equal(p, 3600000);
	assert_int_equal(sms_rate_parse("1/s", &n, &p), 0);
	assert_int_equal(p, 1000);
	assert_int_equal(sms_rate_parse("100/d", &n, &p), 0);
	assert_int_equal(sms_rate_parse("0/h", &n, &p), -1);
	assert_int_equal(sms_rate_parse("101/h", &n, &p), -1);
	assert_int_equal(sms_rate_parse("5/w", &n, &p), -1);
	assert_int_equal(sms_rate_parse("5", &n, &p), -1);
	assert_int_equal(sms_rate_parse("/h", &n, &p), -1);
	assert_int_equal(sms_rate_parse("-5/h", &n, &p), -1);
	assert_int_equal(sms_rate_parse("5/hh", &n, &p), -1);

	/* 3 a minute for one number; another number is apart. */
	assert_int_equal(sms_rate_take("+100", 3, 60000, 1000, &dropped), 1);
	assert_int_equal(sms_rate_take("+100", 3, 60000, 2000, &dropped), 1);
	assert_int_equal(sms_rate_take("+100", 3, 60000, 3000, &dropped), 1);
	assert_int_equal(sms_rate_take("+100", 3, 60000, 4000, &dropped), 0);
	assert_int_equal(dropped, 1);
	assert_int_equal(sms_rate_take("+200", 3, 60000, 4000, &dropped), 1);
	assert_int_equal(dropped, 0);
	/* A message not accepted is given back. */
	assert_int_equal(sms_rate_take("+200", 3, 60000, 5000, &dropped), 1);
	sms_rate_give_back("+200", 5000);
	assert_int_equal(sms_rate_take("+200", 3, 60000, 6000, &dropped), 1);
	assert_int_equal(sms_rate_take("+200", 3, 60000, 7000, &dropped), 1);
	assert_int_equal(sms_rate_take("+200", 3, 60000, 8000, &dropped), 0);
	/* The window slides: a minute after the first, one more. */
	assert_int_equal(sms_rate_take("+100", 3, 60000, 60999, &dropped), 0);
	assert_int_equal(dropped, 2);
	assert_int_equal(sms_rate_take("+100", 3, 60000, 61000, &dropped), 1);
	assert_int_equal(sms_rate_take("+100", 3, 60000, 61500, &dropped), 0);
}

static void
test_wanted(void **state)
{
	struct notification n = tu_notification_firing(1000);
	unsigned crit = 1u << ST_CRITICAL;

	(void)state;
	assert_true(sms_wanted(&n, crit, false)); /* OK -> CRITICAL */
	n.state = ST_OK;
	n.prev_state = ST_CRITICAL;
	assert_true(sms_wanted(&n, crit, false)); /* recovery */
	n.state = ST_WARNING;
	assert_true(sms_wanted(&n, crit, false)); /* out of CRITICAL */
	n.prev_state = ST_OK;
	assert_false(sms_wanted(&n, crit, false)); /* OK -> WARNING */
	assert_true(sms_wanted(&n, crit | 1u << ST_WARNING, false));
	n.state = ST_OK;
	n.prev_state = ST_WARNING;
	assert_false(sms_wanted(&n, crit, false)); /* WARNING -> OK */
	n.state = ST_CRITICAL;
	n.prev_state = ST_CRITICAL;
	n.kind = NK_REMINDER;
	assert_false(sms_wanted(&n, crit, false));
	assert_true(sms_wanted(&n, crit, true));
}

static void
test_classify(void **state)
{
	struct ag_err err = { "" };
	const char *auth =
	    "{\"code\": 20003, \"message\": \"Authenticate\", "
	    "\"more_info\": \"https://www.twilio.com/docs/errors/"
	    "20003\", \"status\": 401}";
	const char *bad = "{\"code\": 21211, \"message\": \"The 'To' number "
			  "+1555 is not a valid phone number.\", \"status\": "
			  "400}";

	(void)state;
	assert_int_equal(sms_classify(201, "{}", 2, &err), 0);
	assert_int_equal(sms_classify(401, auth, strlen(auth), &err), -1);
	assert_non_null(strstr(err.msg, "authentication failed"));
	assert_non_null(strstr(err.msg, "Twilio error 20003: Authenticate"));
	assert_int_equal(sms_classify(400, bad, strlen(bad), &err), -1);
	assert_non_null(strstr(err.msg,
	    "HTTP 400: Twilio error 21211: The "
	    "'To' number +1555 is not a valid"));
	assert_int_equal(sms_classify(429, "{}", 2, &err), AG_RETRY);
	assert_int_equal(sms_classify(503, "oops\n", 5, &err), AG_RETRY);
	assert_string_equal(err.msg, "HTTP 503: oops ");
	assert_int_equal(sms_classify(404, NULL, 0, &err), -1);
}

static struct notifier *
make(const char *settings, struct conf **ret_c, struct conf_errs *e)
{
	char text[2048];

	snprintf(text, sizeof(text),
	    "notifiers = ( { name = \"phone\"; type = \"sms\"; %s } );\n",
	    settings);
	*ret_c = tu_conf_load(text, e);
	return notifier_new(conf_elem((*ret_c)->notifiers, 0), e);
}

#define SID "AC0123456789abcdef0123456789abcdef"
#define BASE \
	"account_sid = \"" SID "\"; auth_token_env = \"HOME\"; " \
	"to = \"+15551234567\"; "

static void
test_settings(void **state)
{
	static const struct {
		const char *settings, *error;
	} t[] = {
		{ "", "account_sid: missing" },
		{ "account_sid = \"AC12\"; auth_token_env = \"HOME\"; "
		  "to = \"+15551234567\"; from = \"+15005550006\";",
		    "account_sid: must be AC and 32 hexadecimal digits" },
		{ BASE, "exactly one of from and messaging_service_sid" },
		{ BASE "from = \"+15005550006\"; messaging_service_sid = "
		       "\"MG0123456789abcdef0123456789abcdef\";",
		    "exactly one of from and messaging_service_sid" },
		{ BASE "from = \"15005550006\";", "is not an E.164 number" },
		{ "account_sid = \"" SID "\"; auth_token_env = \"HOME\"; "
		  "to = [ \"+15551234567\", \"+15551234568\" ]; "
		  "from = \"+15005550006\";",
		    "to" },
		{ BASE "from = \"+15005550006\"; rate = \"lots\";",
		    "rate: must be N/s" },
		{ BASE "from = \"+15005550006\"; states = [ \"OK\" ];",
		    "states: \"OK\": not WARNING, CRITICAL or UNKNOWN" },
		{ BASE "from = \"+15005550006\"; url = \"http://h/x\";",
		    "url: must be http://host[:port]" },
		{ "account_sid = \"" SID "\"; to = \"+15551234567\"; "
		  "from = \"+15005550006\";",
		    "auth_token" },
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
	nf = make(BASE
	    "messaging_service_sid = "
	    "\"MG0123456789abcdef0123456789abcdef\"; rate = \"2/m\"; "
	    "states = [ \"WARNING\", \"CRITICAL\" ]; reminders = true;",
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
		cmocka_unit_test(test_gsm7),
		cmocka_unit_test(test_segment),
		cmocka_unit_test(test_rate),
		cmocka_unit_test(test_wanted),
		cmocka_unit_test(test_classify),
		cmocka_unit_test(test_settings),
		cmocka_unit_test(test_settings_ok),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
