/*
 * test_http.c: the HTTP client against a tiny HTTP/1.1 server running in a
 * thread on 127.0.0.1: statuses, bodies, headers, connection reuse,
 * refused connections, a server that never answers, the response cap, the
 * body sink, and that error messages never show a URL's query.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "lib/ag.h"
#include "lib/http.h"

/* The test server: one connection at a time, keep-alive. */
enum srv_mode { SRV_ANSWER = 0, SRV_SILENT };

struct srv {
	int lfd;
	int port;
	pthread_t th;
	pthread_mutex_t mu;
	volatile int stop;
	enum srv_mode mode;
	int status;
	const char *body;		/* answer body */
	size_t big;			/* or this many 'x' */
	/* The last request. */
	char method[16];
	char path[1024];
	char head[8192];		/* raw header block */
	char req_body[65536];
	size_t req_body_len;
	int nreq;
	int nconn;
};

static struct srv S;

static int
wait_readable(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, ms);
}

/* Read one request from ${fd}.  1 read, 0 closed, -1 stop. */
static int
read_request(int fd)
{
	char buf[sizeof(S.head) + sizeof(S.req_body)];
	size_t len = 0, hlen, clen = 0;
	char *end, *cl;
	ssize_t k;

	for (;;) {
		int r;

		if (S.stop)
			return -1;
		if ((r = wait_readable(fd, 50)) == 0)
			continue;
		if (r < 0 || (k = read(fd, buf + len, sizeof(buf) - 1 -
		    len)) <= 0)
			return 0;
		len += (size_t)k;
		buf[len] = '\0';
		if ((end = strstr(buf, "\r\n\r\n")) != NULL)
			break;
		if (len >= sizeof(buf) - 1)
			return 0;
	}
	hlen = (size_t)(end - buf) + 4;
	if ((cl = strcasestr(buf, "\r\nContent-Length:")) != NULL &&
	    cl < end)
		clen = strtoul(cl + 17, NULL, 10);
	while (len < hlen + clen && len < sizeof(buf) - 1) {
		if ((k = read(fd, buf + len, sizeof(buf) - 1 - len)) <= 0)
			return 0;
		len += (size_t)k;
	}
	pthread_mutex_lock(&S.mu);
	sscanf(buf, "%15s %1023s", S.method, S.path);
	snprintf(S.head, sizeof(S.head), "%.*s", (int)hlen, buf);
	S.req_body_len = clen < sizeof(S.req_body) ? clen : 0;
	memcpy(S.req_body, buf + hlen, S.req_body_len);
	S.nreq++;
	pthread_mutex_unlock(&S.mu);
	return 1;
}

static void
answer(int fd)
{
	char head[256];
	const char *body = S.body != NULL ? S.body : "";
	size_t blen = S.big > 0 ? S.big : strlen(body);
	char *big = NULL;
	ssize_t k;

	if (S.big > 0) {
		big = malloc(S.big);
		memset(big, 'x', S.big);
		body = big;
	}
	snprintf(head, sizeof(head), "HTTP/1.1 %d Test\r\nContent-Length: "
	    "%zu\r\nX-Test: yes\r\nX-Multi: 1\r\nX-Multi: 2\r\n\r\n",
	    S.status, blen);
	k = write(fd, head, strlen(head));
	if (strcmp(S.method, "HEAD") != 0)
		for (size_t off = 0; k >= 0 && off < blen; off += (size_t)k)
			k = write(fd, body + off, blen - off);
	free(big);
}

static void *
srv_main(void *arg)
{
	(void)arg;
	while (!S.stop) {
		int fd, r;

		if (wait_readable(S.lfd, 50) <= 0)
			continue;
		if ((fd = accept(S.lfd, NULL, NULL)) < 0)
			continue;
		S.nconn++;
		while ((r = read_request(fd)) == 1) {
			if (S.mode == SRV_SILENT) {
				/* Hold the connection until the client goes. */
				char c;

				while (!S.stop && (wait_readable(fd, 50) == 0 ||
				    read(fd, &c, 1) > 0))
					;
				break;
			}
			answer(fd);
		}
		close(fd);
	}
	return NULL;
}

static int
srv_start(void **state)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t alen = sizeof(a);
	int one = 1;

	(void)state;
	memset(&S, 0, sizeof(S));
	S.status = 200;
	pthread_mutex_init(&S.mu, NULL);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	S.lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(S.lfd >= 0);
	setsockopt(S.lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	assert_int_equal(bind(S.lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(S.lfd, 8), 0);
	assert_int_equal(getsockname(S.lfd, (struct sockaddr *)&a, &alen), 0);
	S.port = ntohs(a.sin_port);
	assert_int_equal(pthread_create(&S.th, NULL, srv_main, NULL), 0);
	return 0;
}

static int
srv_stop(void **state)
{
	(void)state;
	S.stop = 1;
	pthread_join(S.th, NULL);
	close(S.lfd);
	pthread_mutex_destroy(&S.mu);
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
	struct http_req req = { .url = url("/in?a=1"), .headers = hdrs,
		.body = "ping", .body_len = 4 };
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
	assert_non_null(strcasestr(S.head, "\r\nContent-Type: text/plain\r\n"));
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
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t alen = sizeof(a);
	struct http_req req = { 0 };
	struct http_resp r;
	struct ag_err err = { { 0 } };
	char u[256];
	int fd;

	(void)state;
	/* A port that was just free: nothing listens there. */
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
	close(fd);
	snprintf(u, sizeof(u), "http://user:hunter2@127.0.0.1:%d/p/q"
	    "?X-Amz-Signature=SECRETSIG#frag", ntohs(a.sin_port));
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
	S.mode = SRV_SILENT;
	assert_int_equal(http_do(&req, &r, &err), AG_RETRY);
	dt = now_ms() - t0;
	S.mode = SRV_ANSWER;
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
	struct http_req req = { .url = url("/obj"), .sink = sink,
		.sink_cookie = &ss, .max_response = 10 };
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
		cmocka_unit_test(test_urlencode),
	};

	/* The loopback server must not be reached through a proxy. */
	unsetenv("http_proxy");
	unsetenv("HTTP_PROXY");
	unsetenv("https_proxy");
	unsetenv("HTTPS_PROXY");
	unsetenv("all_proxy");
	unsetenv("ALL_PROXY");
	assert_int_equal(http_global_init(), 0);
	return cmocka_run_group_tests(tests, srv_start, srv_stop);
}
