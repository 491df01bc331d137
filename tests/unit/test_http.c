/*
 * test_http.c: the HTTP client against a tiny HTTP/1.1 server running in a
 * thread on 127.0.0.1 (fakes/fake_httpd.c): statuses, bodies, headers,
 * connection reuse, refused connections, a server that never answers, the
 * response cap, the body sink, that error messages never show a URL's
 * query, and the multi interface (concurrent requests, wake-up, cancel).
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
#include <strings.h>
#include <time.h>

#include "lib/ag.h"
#include "lib/http/http.h"
#include "tests/unit/fakes/fake_httpd.h"

/* The test server, one for all tests. */
static struct fake_httpd S;

static int
srv_start(void **state)
{
	(void)state;
	if (fake_httpd_start(&S) != 0)
		return -1;
	/* Every answer carries these, for http_resp_header(). */
	S.headers = "X-Test: yes\r\nX-Multi: 1\r\nX-Multi: 2\r\n";
	return 0;
}

static int
srv_stop(void **state)
{
	(void)state;
	fake_httpd_stop(&S);
	return 0;
}

static char *
url(const char *path)
{
	static char buf[256];

	snprintf(buf, sizeof(buf), "http://127.0.0.1:%d%s", S.port, path);
	return buf;
}

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
test_post_200(void **state)
{
	const char *hdrs[] = { "X-Custom: hello", "Content-Type: text/plain",
		NULL };
	struct http_req req = { .url = url("/in?a=1"),
		.headers = hdrs,
		.body = "ping",
		.body_len = 4 };
	struct http_resp r;
	struct ag_err err = { { 0 } };

	(void)state;
	S.status = 200;
	S.body = "pong";
	assert_int_equal(http_do(&req, &r, &err), 0);
	assert_int_equal(r.status, 200);
	assert_int_equal(http_status_class(r.status), 0);
	assert_int_equal(r.body_len, 4);
	assert_string_equal(r.body, "pong");
	assert_false(r.truncated);
	assert_string_equal(http_resp_header(&r, "x-test"), "yes");
	assert_string_equal(http_resp_header(&r, "X-Multi"), "2");
	assert_null(http_resp_header(&r, "X-Absent"));
	assert_string_equal(S.method, "POST");
	assert_string_equal(S.path, "/in?a=1");
	assert_int_equal(S.req_body_len, 4);
	assert_memory_equal(S.req_body, "ping", 4);
	assert_non_null(strcasestr(S.head, "\r\nX-Custom: hello\r\n"));
	assert_non_null(strcasestr(S.head,
	    "\r\nContent-Type: text/plain\r\n"));
	assert_non_null(strcasestr(S.head, "\r\nUser-Agent: vigil/"));
	assert_null(strcasestr(S.head, "Expect:"));
	http_resp_free(&r);
}

static void
test_methods(void **state)
{
	struct http_req req = { 0 };
	struct http_resp r;
	struct ag_err err;

	(void)state;
	S.status = 200;
	S.body = "data";
	req.url = url("/get");
	assert_int_equal(http_do(&req, &r, &err), 0);
	assert_string_equal(S.method, "GET");
	assert_int_equal(S.req_body_len, 0);
	http_resp_free(&r);

	/* An empty PUT still says Content-Length: 0, with no form type. */
	req.method = "PUT";
	req.url = url("/put");
	assert_int_equal(http_do(&req, &r, &err), 0);
	assert_string_equal(S.method, "PUT");
	assert_non_null(strcasestr(S.head, "Content-Length: 0"));
	assert_null(strcasestr(S.head, "x-www-form-urlencoded"));
	http_resp_free(&r);

	req.method = "DELETE";
	assert_int_equal(http_do(&req, &r, &err), 0);
	assert_string_equal(S.method, "DELETE");
	http_resp_free(&r);

	req.method = "HEAD";
	assert_int_equal(http_do(&req, &r, &err), 0);
	assert_string_equal(S.method, "HEAD");
	assert_int_equal(r.status, 200);
	assert_int_equal(r.body_len, 0);
	assert_string_equal(http_resp_header(&r, "Content-Length"), "4");
	http_resp_free(&r);

	req.method = "get me";
	assert_int_equal(http_do(&req, &r, &err), -1);
	http_resp_free(&r);
}

static void
test_503_is_status(void **state)
{
	struct http_req req = { .url = url("/x") };
	struct http_resp r;
	struct ag_err err;

	(void)state;
	S.status = 503;
	S.body = "busy";
	assert_int_equal(http_do(&req, &r, &err), 0);
	assert_int_equal(r.status, 503);
	assert_string_equal(r.body, "busy");
	assert_int_equal(http_status_class(r.status), AG_RETRY);
	http_resp_free(&r);
	S.status = 404;
	assert_int_equal(http_do(&req, &r, &err), 0);
	assert_int_equal(r.status, 404);
	assert_int_equal(http_status_class(r.status), -1);
	http_resp_free(&r);
}

static void
test_status_class(void **state)
{
	(void)state;
	assert_int_equal(http_status_class(200), 0);
	assert_int_equal(http_status_class(204), 0);
	assert_int_equal(http_status_class(299), 0);
	assert_int_equal(http_status_class(408), AG_RETRY);
	assert_int_equal(http_status_class(425), AG_RETRY);
	assert_int_equal(http_status_class(429), AG_RETRY);
	assert_int_equal(http_status_class(500), AG_RETRY);
	assert_int_equal(http_status_class(599), AG_RETRY);
	assert_int_equal(http_status_class(301), -1);
	assert_int_equal(http_status_class(400), -1);
	assert_int_equal(http_status_class(403), -1);
	assert_int_equal(http_status_class(0), -1);
	assert_int_equal(http_status_class(600), -1);
}

static void
test_refused_is_retry(void **state)
{
	struct http_req req = { 0 };
	struct http_resp r;
	struct ag_err err = { { 0 } };
	char u[256];
	int port;

	(void)state;
	/* A port that was just free: nothing listens there. */
	assert_true((port = fake_httpd_free_port()) > 0);
	snprintf(u, sizeof(u),
	    "http://user:hunter2@127.0.0.1:%d/p/q"
	    "?X-Amz-Signature=SECRETSIG#frag",
	    port);
	req.url = u;
	assert_int_equal(http_do(&req, &r, &err), AG_RETRY);
	assert_non_null(strstr(err.msg, "127.0.0.1"));
	assert_non_null(strstr(err.msg, "/p/q"));
	assert_null(strstr(err.msg, "SECRETSIG"));
	assert_null(strstr(err.msg, "hunter2"));
	assert_null(strstr(err.msg, "?"));
	http_resp_free(&r);
}

static void
test_silent_server_times_out(void **state)
{
	struct http_req req = { .url = url("/slow?token=abc"),
		.timeout_ms = 300 };
	struct http_resp r;
	struct ag_err err = { { 0 } };
	int64_t t0 = now_ms(), dt;

	(void)state;
	S.silent = 1;
	assert_int_equal(http_do(&req, &r, &err), AG_RETRY);
	dt = now_ms() - t0;
	S.silent = 0;
	assert_true(dt >= 250);
	assert_true(dt < 3000);
	assert_null(strstr(err.msg, "token=abc"));
	http_resp_free(&r);
}

static void
test_response_cap(void **state)
{
	struct http_req req = { .url = url("/big"), .max_response = 1000 };
	struct http_resp r;
	struct ag_err err;

	(void)state;
	S.status = 200;
	S.big = 100000;
	assert_int_equal(http_do(&req, &r, &err), 0);
	assert_int_equal(r.status, 200);
	assert_true(r.truncated);
	assert_int_equal(r.body_len, 1000);
	assert_int_equal(strlen(r.body), 1000);
	http_resp_free(&r);

	/* Exactly at the cap is not truncated. */
	S.big = 1000;
	assert_int_equal(http_do(&req, &r, &err), 0);
	assert_false(r.truncated);
	assert_int_equal(r.body_len, 1000);
	http_resp_free(&r);
	S.big = 0;
}

struct sink_state {
	size_t got;
	int fail;
};

static int
sink(void *cookie, const uint8_t *buf, size_t len)
{
	struct sink_state *s = cookie;

	(void)buf;
	s->got += len;
	return s->fail;
}

static void
test_sink(void **state)
{
	struct sink_state ss = { 0 };
	struct http_req req = { .url = url("/obj"),
		.sink = sink,
		.sink_cookie = &ss,
		.max_response = 10 };
	struct http_resp r;
	struct ag_err err;

	(void)state;
	/* 2xx bodies go to the sink, whatever max_response says. */
	S.status = 200;
	S.big = 50000;
	assert_int_equal(http_do(&req, &r, &err), 0);
	assert_int_equal(ss.got, 50000);
	assert_int_equal(r.body_len, 0);
	http_resp_free(&r);

	/* Error bodies stay readable. */
	ss.got = 0;
	S.status = 404;
	S.big = 0;
	S.body = "NoSuchKey";
	assert_int_equal(http_do(&req, &r, &err), 0);
	assert_int_equal(ss.got, 0);
	assert_string_equal(r.body, "NoSuchKey");
	http_resp_free(&r);

	/* A sink that gives up aborts with its verdict. */
	S.status = 200;
	S.big = 50000;
	ss.fail = AG_RETRY;
	assert_int_equal(http_do(&req, &r, &err), AG_RETRY);
	http_resp_free(&r);
	S.big = 0;
}

static void
test_connection_reuse(void **state)
{
	struct http_client *c = http_client_new();
	struct http_req req = { .url = url("/a") };
	struct http_resp r;
	struct ag_err err;
	int before;

	(void)state;
	assert_non_null(c);
	S.status = 200;
	S.body = "ok";
	before = S.nconn;
	for (int i = 0; i < 3; i++) {
		assert_int_equal(http_client_do(c, &req, &r, &err), 0);
		assert_int_equal(r.status, 200);
		http_resp_free(&r);
	}
	assert_int_equal(S.nconn - before, 1);
	http_client_free(c);
	http_client_free(NULL);
}

static void
test_permanent_errors(void **state)
{
	const char *bad_hdr[] = { "X-A: b\r\nX-Injected: 1", NULL };
	struct http_req req = { 0 };
	struct http_resp r;
	struct ag_err err;

	(void)state;
	req.url = "ftp://127.0.0.1/file";
	assert_int_equal(http_do(&req, &r, &err), -1);
	http_resp_free(&r);
	req.url = "not a url";
	assert_int_equal(http_do(&req, &r, &err), -1);
	http_resp_free(&r);
	req.url = url("/h");
	req.headers = bad_hdr;
	assert_int_equal(http_do(&req, &r, &err), -1);
	http_resp_free(&r);
	req.headers = NULL;
	req.url = NULL;
	assert_int_equal(http_do(&req, &r, &err), -1);
	http_resp_free(&r);
}

static void
test_redact(void **state)
{
	char b[128];

	(void)state;
	http_url_redact("https://u:p@host.example:8443/a/b?sig=1#f", b,
	    sizeof(b));
	assert_string_equal(b, "https://host.example:8443/a/b");
	http_url_redact("http://h/x?y", b, sizeof(b));
	assert_string_equal(b, "http://h/x");
	http_url_redact("http://h", b, sizeof(b));
	assert_string_equal(b, "http://h");
	http_url_redact("http://h?q=@x/", b, sizeof(b));
	assert_string_equal(b, "http://h");
	http_url_redact("https://host/path", b, 10);
	assert_string_equal(b, "https://h");
	http_url_redact("garbage?x", b, sizeof(b));
	assert_string_equal(b, "garbage");

	/* Endpoint settings: scheme and host[:port], nothing else. */
	assert_string_equal(http_endpoint_host("http://127.0.0.1:4566"),
	    "127.0.0.1:4566");
	assert_string_equal(http_endpoint_host("https://monitoring.eu-west-1."
					       "amazonaws.com"),
	    "monitoring.eu-west-1.amazonaws.com");
	assert_null(http_endpoint_host("ftp://h"));
	assert_null(http_endpoint_host("https://"));
	assert_null(http_endpoint_host("http://h/path"));
	assert_null(http_endpoint_host("http://u@h"));
	assert_null(http_endpoint_host("http://h?x"));
	assert_null(http_endpoint_host("h:80"));
}

static void
test_endpoint_valid(void **state)
{
	static const char *const bad[] = { "", "http://", "https://",
		"ftp://h", "h:80", "http://h/", "http://h/p", "http://h?x",
		"http://h#f", "http://u@h", "http://h x", "http://h\tx",
		"HTTP://h" };

	(void)state;
	assert_true(http_endpoint_valid("http://127.0.0.1:4566"));
	assert_true(http_endpoint_valid("https://sns.eu-west-1.amazonaws.com"));
	assert_true(http_endpoint_valid("http://[::1]:9000"));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (http_endpoint_valid(bad[i]))
			fail_msg("accepted \"%s\"", bad[i]);
}

static void
test_urlencode(void **state)
{
	char *s;

	(void)state;
	s = http_urlencode("a b+c/=~-._\xc3\xa9", 13);
	assert_string_equal(s, "a%20b%2Bc%2F%3D~-._%C3%A9");
	free(s);
	s = http_urlencode("", 0);
	assert_string_equal(s, "");
	free(s);
}

/*
 * Drive ${m} until a request ends (or ${ms} pass); return http_multi_done()'s
 * answer.
 */
static int
multi_wait_done(struct http_multi *m, int64_t ms, void **ret_cookie,
    struct http_resp *ret_resp, int *ret_rc, struct ag_err *err)
{
	int64_t end = now_ms() + ms;

	while (now_ms() < end) {
		assert_true(http_multi_perform(m) >= 0);
		if (http_multi_done(m, ret_cookie, ret_resp, ret_rc, err) == 1)
			return 1;
		assert_int_equal(http_multi_poll(m, 100), 0);
	}
	return 0;
}

/*
 * The multi interface: a request is answered and reported with its cookie,
 * a refused connection is AG_RETRY with a message, a wake-up ends a poll,
 * and a request that hangs can be removed without being reported.
 */
static void
test_multi(void **state)
{
	struct http_req req = { .url = url("/m?k=v"),
		.body = "ping",
		.body_len = 4 };
	struct http_req refused = { 0 };
	struct http_multi *m;
	struct http_resp r;
	struct ag_err err = { { 0 } };
	void *cookie = NULL;
	int a, b, rc = -1, nreq, port;
	char u[256];
	int64_t t0;

	(void)state;
	assert_non_null(m = http_multi_new());
	S.status = 201;
	S.body = "pong";
	assert_int_equal(http_multi_add(m, &req, &a, &err), 0);
	assert_int_equal(multi_wait_done(m, 10000, &cookie, &r, &rc, &err), 1);
	assert_ptr_equal(cookie, &a);
	assert_int_equal(rc, 0);
	assert_int_equal(r.status, 201);
	assert_string_equal(r.body, "pong");
	assert_string_equal(S.path, "/m?k=v");
	assert_string_equal(S.req_body, "ping");
	http_resp_free(&r);

	assert_true((port = fake_httpd_free_port()) > 0);
	snprintf(u, sizeof(u), "http://127.0.0.1:%d/r?token=SECRET", port);
	refused.url = u;
	assert_int_equal(http_multi_add(m, &refused, &b, &err), 0);
	assert_int_equal(multi_wait_done(m, 10000, &cookie, &r, &rc, &err), 1);
	assert_ptr_equal(cookie, &b);
	assert_int_equal(rc, AG_RETRY);
	assert_non_null(strstr(err.msg, "/r"));
	assert_null(strstr(err.msg, "SECRET"));
	http_resp_free(&r);

	/* A wake-up, even one given before the poll, ends it. */
	t0 = now_ms();
	http_multi_wakeup(m);
	assert_int_equal(http_multi_poll(m, 30000), 0);
	assert_true(now_ms() - t0 < 10000);

	/* Removed while the server holds it: never reported. */
	S.silent = 1;
	nreq = S.nreq;
	assert_int_equal(http_multi_add(m, &req, &a, &err), 0);
	t0 = now_ms();
	while (S.nreq == nreq && now_ms() - t0 < 10000) {
		assert_true(http_multi_perform(m) >= 0);
		(void)http_multi_poll(m, 50);
	}
	assert_int_equal(S.nreq, nreq + 1);
	http_multi_remove(m, &a);
	assert_int_equal(http_multi_perform(m), 0);
	assert_int_equal(http_multi_done(m, &cookie, &r, &rc, &err), 0);
	S.silent = 0;
	S.status = 200;
	http_multi_free(m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_post_200),
		cmocka_unit_test(test_methods),
		cmocka_unit_test(test_503_is_status),
		cmocka_unit_test(test_status_class),
		cmocka_unit_test(test_refused_is_retry),
		cmocka_unit_test(test_silent_server_times_out),
		cmocka_unit_test(test_response_cap),
		cmocka_unit_test(test_sink),
		cmocka_unit_test(test_connection_reuse),
		cmocka_unit_test(test_permanent_errors),
		cmocka_unit_test(test_redact),
		cmocka_unit_test(test_endpoint_valid),
		cmocka_unit_test(test_urlencode),
		cmocka_unit_test(test_multi),
	};

	/* The proxy variables are unset by fake_httpd_start(). */
	assert_int_equal(http_global_init(), 0);
	return cmocka_run_group_tests(tests, srv_start, srv_stop);
}
