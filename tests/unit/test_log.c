/*
 * test_log.c: the logging module's redaction.  URL query values, URL
 * passwords, sensitive fields and registered secrets never reach a log
 * line or an error record; control characters are escaped; ordinary
 * messages pass unchanged; the snippet of an answer drops the values of a
 * header block and stays bounded.  Log lines are read back from stderr,
 * which the tests point at a file.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/ag.h"
#include "lib/log.h"
#include "tests/unit/fakes/testutil.h"

/* log_redact() of ${in}, in a static buffer. */
static const char *
redact(const char *in)
{
	static char out[1024];

	log_redact(in, out, sizeof(out));
	return out;
}

static void
test_query_values(void **state)
{
	(void)state;
	assert_string_equal(redact("POST http://h:1/x?token=SECRET1&b=2 "
				   "failed"),
	    "POST http://h:1/x?token=REDACTED&b=REDACTED failed");
	assert_string_equal(redact("GET /robot/send?access_token=0123abcd"
				   "#frag"),
	    "GET /robot/send?access_token=REDACTED#frag");
	assert_string_equal(
	    redact("\"url\":\"https://oapi.example.com/"
		   "send?access_token=XYZ&timestamp=1&sign=abc%2B\"}"),
	    "\"url\":\"https://oapi.example.com/send?access_token=REDACTED&"
	    "timestamp=REDACTED&sign=REDACTED\"}");
	/* A question is not a query. */
	assert_string_equal(redact("is it? a=b"), "is it? a=b");
	assert_string_equal(redact("x?"), "x?");
}

static void
test_userinfo(void **state)
{
	(void)state;
	assert_string_equal(redact("fetch https://bob:pa55w0rd@host:8443/p "
				   "failed"),
	    "fetch https://bob:REDACTED@host:8443/p failed");
	assert_string_equal(redact("https://bob@host/p"),
	    "https://bob@host/p");
	assert_string_equal(redact("http://host:80/a:b@c"),
	    "http://host:80/a:b@c");
}

static void
test_sensitive_fields(void **state)
{
	(void)state;
	assert_string_equal(redact("Authorization: Bearer abc.def"),
	    "Authorization: REDACTED");
	assert_string_equal(redact("{\"password\":\"x y\",\"user\":\"u\"}"),
	    "{\"password\":\"REDACTED\",\"user\":\"u\"}");
	assert_string_equal(redact("login token=abc123 rest"),
	    "login token=REDACTED rest");
	assert_string_equal(redact("x-api-key: k1"), "x-api-key: REDACTED");
	assert_string_equal(redact("{\"token\": \"abc\"}"),
	    "{\"token\": \"REDACTED\"}");
	/* The words alone, or starting a message, are not fields. */
	assert_string_equal(redact("cannot sign the body"),
	    "cannot sign the body");
	assert_string_equal(redact("b/1: signature: does not verify"),
	    "b/1: signature: does not verify");
	assert_string_equal(redact("secret: cannot read x"),
	    "secret: cannot read x");
	assert_string_equal(redact("webhook secret_file unreadable"),
	    "webhook secret_file unreadable");
}

static void
test_ordinary_text_unchanged(void **state)
{
	static const char *const lines[] = {
		"CRITICAL: cpu-high on web1: cpu.used_pct = 97.2 (> 95)",
		"webhook[hook]: POST http://127.0.0.1:9/alert (json, id "
		"1795316400123-ab-cd): HTTP 200",
		"vigil.conf:12: rules[1].crit: must be a number",
		"spool: /var/lib/vigil/spool/000000000000002a.json: moved",
		"tab\there",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
		assert_string_equal(redact(lines[i]), lines[i]);
}

static void
test_control_characters(void **state)
{
	(void)state;
	assert_string_equal(redact("a\nb\rc\x01"
				   "d\x7f"
				   "e"),
	    "a\\nb\\rc\\x01d\\x7fe");
}

static void
test_bounded(void **state)
{
	char out[8];

	(void)state;
	log_redact("0123456789", out, sizeof(out));
	assert_string_equal(out, "0123456");
	log_redact("?token=0123456789", out, sizeof(out));
	assert_int_equal(strlen(out), 7);
	assert_null(strstr(out, "0123"));
}

static void
test_registered_secrets(void **state)
{
	(void)state;
	assert_string_equal(redact("key hunter2-secret here"),
	    "key hunter2-secret here");
	assert_int_equal(log_secret_add("hunter2-secret"), 0);
	assert_int_equal(log_secret_add("hunter2-secret"), 0);
	assert_string_equal(redact("key hunter2-secret here, "
				   "hunter2-secrethunter2-secret"),
	    "key REDACTED here, REDACTEDREDACTED");
	/* A reload that keeps the secret keeps it redacted. */
	log_secret_remove("hunter2-secret");
	assert_string_equal(redact("key hunter2-secret"), "key REDACTED");
	log_secret_remove("hunter2-secret");
	assert_string_equal(redact("key hunter2-secret"),
	    "key hunter2-secret");
	/* Too short to be told from ordinary text. */
	assert_int_equal(log_secret_add("abc"), 0);
	assert_string_equal(redact("abc"), "abc");
	log_secret_remove("abc");
	log_secret_remove("never added");
}

static void
test_error_records(void **state)
{
	struct ag_err err;

	(void)state;
	assert_int_equal(log_secret_add("s3cr3t-value"), 0);
	assert_int_equal(ag_err_set(&err, "GET http://u:pw@h/?t=%s: %s", "tok",
			     "s3cr3t-value\n"),
	    -1);
	assert_string_equal(err.msg,
	    "GET http://u:REDACTED@h/?t=REDACTED: "
	    "REDACTED\\n");
	log_secret_remove("s3cr3t-value");
}

static void
test_snippet(void **state)
{
	const char echo[] =
	    "bad request: POST /h?token=SECRET9\n"
	    "Host: 127.0.0.1:9\nX-Custom: value-1\nUser-Agent: vigil/0.1.0\n"
	    "\nError: field x";
	char out[512], big[1000];

	(void)state;
	assert_string_equal(log_snippet(echo, strlen(echo), out, sizeof(out)),
	    "bad request: POST /h?token=REDACTED\\nHost: REDACTED\\n"
	    "X-Custom: REDACTED\\nUser-Agent: REDACTED\\n\\nError: field x");
	/* One "Name: value" line alone is a message, not headers. */
	assert_string_equal(log_snippet("Error: field x", 14, out,
				sizeof(out)),
	    "Error: field x");
	/* Bounded, and a NUL byte does not cut it short. */
	memset(big, 'b', sizeof(big));
	big[3] = '\0';
	log_snippet(big, sizeof(big), out, sizeof(out));
	assert_int_equal(strlen(out), LOG_SNIPPET_MAX);
	assert_int_equal(out[3], ' ');
}

static void
test_log_lines_are_redacted(void **state)
{
	char path[512], buf[4096];
	ssize_t n;
	int fd, saved;

	(void)state;
	snprintf(path, sizeof(path), "%s/log.txt", tu_tmpdir());
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	saved = dup(STDERR_FILENO);
	assert_true(saved >= 0);
	assert_int_equal(dup2(fd, STDERR_FILENO), STDERR_FILENO);
	assert_int_equal(log_secret_add("Bearer tok-42-xyz"), 0);
	log_warn("hook: delivery refused (HTTP 400: echo /h?token=SECRET7 "
		 "Authorization: Bearer tok-42-xyz\nforged line)");
	log_secret_remove("Bearer tok-42-xyz");
	assert_int_equal(dup2(saved, STDERR_FILENO), STDERR_FILENO);
	close(saved);
	n = pread(fd, buf, sizeof(buf) - 1, 0);
	close(fd);
	assert_true(n > 0);
	buf[n] = '\0';
	assert_null(strstr(buf, "SECRET7"));
	assert_null(strstr(buf, "tok-42-xyz"));
	assert_non_null(strstr(buf, "token=REDACTED"));
	/* One line: the newline inside the message is escaped. */
	assert_ptr_equal(strchr(buf, '\n'), buf + n - 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_query_values),
		cmocka_unit_test(test_userinfo),
		cmocka_unit_test(test_sensitive_fields),
		cmocka_unit_test(test_ordinary_text_unchanged),
		cmocka_unit_test(test_control_characters),
		cmocka_unit_test(test_bounded),
		cmocka_unit_test(test_registered_secrets),
		cmocka_unit_test(test_error_records),
		cmocka_unit_test(test_snippet),
		cmocka_unit_test(test_log_lines_are_redacted),
	};

	return cmocka_run_group_tests(tests, tu_tmpdir_setup,
	    tu_tmpdir_teardown);
}
