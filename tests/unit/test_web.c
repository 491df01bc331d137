/*
 * test_web.c: the mailbox between the HTTP server's threads and the
 * scheduler (agent/web.c), the request target parser and the tokens file
 * (agent/httpd/), and Prometheus names (agent/prom.c).
 *
 * The mailbox: a call is answered by web_serve() on another thread, in
 * order; a call nobody serves is withdrawn after its timeout with a 503
 * and never answered later (the serving side sees nothing); web_close()
 * answers waiting calls 503 and refuses new ones at once; the runconf
 * published is the one a server thread gets.  The target parser decodes
 * path and parameters and refuses dot segments (also encoded), empty
 * segments, bad escapes, NULs and too many parameters.  The tokens file:
 * parsed, refused with the line number, hashes compared, the file's
 * permissions checked, add/remove round trip.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "agent/httpd/httpd.h"
#include "agent/httpd/tokens.h"
#include "agent/prom.h"
#include "agent/web.h"

struct caller {
	struct web *w;
	struct web_req rq;
	struct web_resp rs;
	int timeout_ms, rc;
	pthread_t t;
};

static void *
call_main(void *arg)
{
	struct caller *c = arg;

	c->rc = web_call(c->w, &c->rq, &c->rs, c->timeout_ms);
	return NULL;
}

static void
start_call(struct caller *c, struct web *w, const char *path, int timeout)
{
	memset(c, 0, sizeof(*c));
	c->w = w;
	c->rq.method = "GET";
	c->rq.path = path;
	c->timeout_ms = timeout;
	assert_int_equal(pthread_create(&c->t, NULL, call_main, c), 0);
}

static int served;

static void
echo(void *cookie, const struct web_req *rq, struct web_resp *rs)
{
	(void)cookie;
	served++;
	web_json(rs, 200, json_pack("{s:s}", "path", rq->path));
}

/* Wait until ${n} calls are queued (the pipe has n bytes). */
static void
wait_queued(struct web *w, int n)
{
	for (int i = 0; i < 2000; i++) {
		int avail = 0;

		if (ioctl(web_fd(w), FIONREAD, &avail) == 0 && avail >= n)
			return;
		usleep(1000);
	}
	fail_msg("calls were not queued");
}

static void
test_call_served(void **state)
{
	struct web *w = web_new();
	struct caller a, b;

	(void)state;
	assert_non_null(w);
	served = 0;
	start_call(&a, w, "/one", 10000);
	wait_queued(w, 1);
	start_call(&b, w, "/two", 10000);
	wait_queued(w, 2);
	web_serve(w, echo, NULL);
	assert_int_equal(pthread_join(a.t, NULL), 0);
	assert_int_equal(pthread_join(b.t, NULL), 0);
	assert_int_equal(served, 2);
	assert_int_equal(a.rc, 0);
	assert_int_equal(a.rs.status, 200);
	assert_string_equal(a.rs.body, "{\"path\":\"/one\"}");
	assert_string_equal(b.rs.body, "{\"path\":\"/two\"}");
	web_resp_free(&a.rs);
	web_resp_free(&b.rs);
	web_free(w);
}

static void
test_call_timeout(void **state)
{
	struct web *w = web_new();
	struct caller a;

	(void)state;
	served = 0;
	start_call(&a, w, "/slow", 100);
	assert_int_equal(pthread_join(a.t, NULL), 0);
	assert_int_equal(a.rc, -1);
	assert_int_equal(a.rs.status, 503);
	assert_non_null(strstr(a.rs.body, "busy"));
	/* Withdrawn: the scheduler never sees it. */
	web_serve(w, echo, NULL);
	assert_int_equal(served, 0);
	web_resp_free(&a.rs);
	web_free(w);
}

static void
test_close(void **state)
{
	struct web *w = web_new();
	struct caller a;
	struct web_resp rs;

	(void)state;
	served = 0;
	start_call(&a, w, "/waiting", 10000);
	wait_queued(w, 1);
	web_close(w);
	assert_int_equal(pthread_join(a.t, NULL), 0);
	assert_int_equal(a.rs.status, 503);
	assert_int_equal(web_call(w, &a.rq, &rs, 10000), -1);
	assert_int_equal(rs.status, 503);
	assert_non_null(strstr(rs.body, "stopping"));
	web_serve(w, echo, NULL);
	assert_int_equal(served, 0);
	web_resp_free(&a.rs);
	web_resp_free(&rs);
	web_free(w);
}

static void
test_error_body(void **state)
{
	struct web_resp rs = { 0 };

	(void)state;
	web_error(&rs, 404, "no job \"%s\"", "a\"b");
	assert_int_equal(rs.status, 404);
	assert_string_equal(rs.body, "{\"error\":\"no job \\\"a\\\"b\\\"\"}");
	assert_int_equal(rs.len, strlen(rs.body));
	web_json(&rs, 200, NULL);
	assert_int_equal(rs.status, 500);
	web_resp_free(&rs);
}

static void
test_parse_target(void **state)
{
	struct web_req rq;
	char buf[512], many[1024];

	(void)state;
	assert_int_equal(
	    httpd_parse_target("/api/v1/history?series=disk.%2Fvar.used_pct&"
			       "from=-3h&q=a+b&&empty=",
		&rq, buf, sizeof(buf)),
	    0);
	assert_string_equal(rq.path, "/api/v1/history");
	assert_int_equal(rq.nparams, 4);
	assert_string_equal(web_param(&rq, "series"), "disk./var.used_pct");
	assert_string_equal(web_param(&rq, "from"), "-3h");
	assert_string_equal(web_param(&rq, "q"), "a b");
	assert_string_equal(web_param(&rq, "empty"), "");
	assert_null(web_param(&rq, "to"));
	assert_int_equal(httpd_parse_target("/", &rq, buf, sizeof(buf)), 0);
	assert_int_equal(httpd_parse_target("/assets/", &rq, buf, sizeof(buf)),
	    0);

	static const char *const bad[] = { "api/v1", "/a/../b", "/a/..", "/..",
		"/a/./b", "/a/%2e%2E/b", "/a/%2e", "/a//b", "/a%00b",
		"/a?x=%0", "/a?x=%zz", "/a?=v", "/a?k=%00", "" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (httpd_parse_target(bad[i], &rq, buf, sizeof(buf)) == 0)
			fail_msg("accepted \"%s\"", bad[i]);
	/* Too many parameters; a target that does not fit. */
	strcpy(many, "/x?");
	for (int i = 0; i <= WEB_PARAMS_MAX; i++)
		sprintf(many + strlen(many), "k%d=v&", i);
	assert_int_equal(httpd_parse_target(many, &rq, buf, sizeof(buf)), -1);
	assert_int_equal(httpd_parse_target("/abcdef", &rq, buf, 4), -1);
}

static const char hash_a[] =
    "0000000000000000000000000000000000000000000000000000000000000000";

static void
test_tokens_parse(void **state)
{
	struct token_entry *v;
	struct ag_err err = { "" };
	char text[1024];
	size_t n;

	(void)state;
	snprintf(text, sizeof(text),
	    "# comment\n\n  ops admin sha256:%s\nweb.ro read sha256:%s\n",
	    hash_a, hash_a);
	assert_int_equal(tokens_parse(text, strlen(text), &v, &n, &err), 0);
	assert_int_equal(n, 2);
	assert_string_equal(v[0].name, "ops");
	assert_int_equal(v[0].role, WEB_ROLE_ADMIN);
	assert_int_equal(v[1].role, WEB_ROLE_READ);
	free(v);

	static const char *const bad[] = { "ops root sha256:%s\n",
		"ops admin md5:%s\n", "ops admin sha256:%s extra\n",
		"o/ps admin sha256:%s\n", "ops admin sha256:%.60s\n",
		"x read sha256:%s\nx admin sha256:%s\n" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), bad[i], hash_a, hash_a);
		err.msg[0] = '\0';
		if (tokens_parse(text, strlen(text), &v, &n, &err) == 0)
			fail_msg("accepted %s", text);
		assert_non_null(strstr(err.msg, "line "));
	}
}

static void
test_tokens_file(void **state)
{
	char dir[] = "/tmp/test_web.XXXXXX", path[256], tok[TOKEN_LEN + 1],
	     tok2[TOKEN_LEN + 1], name[TOKEN_NAME_MAX + 1];
	struct ag_err err = { "" };
	struct tokens *t;
	struct stat st;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/tokens", dir);
	assert_int_equal(tokens_add(path, "ops", WEB_ROLE_ADMIN, tok, &err),
	    0);
	assert_int_equal(tokens_add(path, "ro", WEB_ROLE_READ, tok2, &err), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(tokens_add(path, "ops", WEB_ROLE_READ, tok2, &err),
	    -1);
	t = tokens_open(path);
	assert_int_equal(tokens_check(t, tok, name, sizeof(name)),
	    WEB_ROLE_ADMIN);
	assert_string_equal(name, "ops");
	assert_int_equal(tokens_check(t, tok2, name, sizeof(name)),
	    WEB_ROLE_READ);
	/* One character off; the token without its prefix; too long. */
	tok[10] = tok[10] == 'A' ? 'B' : 'A';
	assert_int_equal(tokens_check(t, tok, name, sizeof(name)),
	    WEB_ROLE_NONE);
	assert_int_equal(tokens_check(t, tok2 + 6, name, sizeof(name)),
	    WEB_ROLE_NONE);
	assert_int_equal(tokens_remove(path, "ro", &err), 0);
	assert_int_equal(tokens_check(t, tok2, name, sizeof(name)),
	    WEB_ROLE_NONE);
	assert_int_equal(tokens_remove(path, "ro", &err), -1);
	/* Writable by others: not one token is trusted. */
	assert_int_equal(tokens_add(path, "ro", WEB_ROLE_READ, tok2, &err), 0);
	assert_int_equal(chmod(path, 0620), 0);
	assert_int_equal(tokens_check(t, tok2, name, sizeof(name)),
	    WEB_ROLE_NONE);
	assert_int_equal(tokens_add(path, "x", WEB_ROLE_READ, tok, &err), -1);
	assert_non_null(strstr(err.msg, "others may change it"));
	tokens_close(t);
	(void)unlink(path);
	(void)rmdir(dir);
}

static void
test_prom_name(void **state)
{
	char f[200];
	const char *key;
	size_t off, len;

	(void)state;
	prom_name("disk./var/lib.used_pct", "disk", "disk", f, sizeof(f), &key,
	    &off, &len);
	assert_string_equal(f, "vigil_disk_used_percent");
	assert_string_equal(key, "mountpoint");
	assert_int_equal(len, strlen("/var/lib"));
	prom_name("net.eth0.rx_bytes_per_s", "network", "network", f,
	    sizeof(f), &key, &off, &len);
	assert_string_equal(f, "vigil_net_rx_bytes_per_second");
	assert_string_equal(key, "interface");
	prom_name("backup.web-etc.last_duration_s", NULL, NULL, f, sizeof(f),
	    &key, &off, &len);
	assert_string_equal(f, "vigil_backup_last_duration_seconds");
	assert_string_equal(key, "job");
	assert_int_equal(len, strlen("web-etc"));
	prom_name("cpu.used_pct", "cpu", "cpu", f, sizeof(f), &key, &off,
	    &len);
	assert_string_equal(f, "vigil_cpu_used_percent");
	assert_null(key);
	prom_name("ec2.AWS/EC2.CPUUtilization{InstanceId=i-1}", "ec2",
	    "cloudwatch", f, sizeof(f), &key, &off, &len);
	assert_string_equal(f, "vigil_cloudwatch_AWS_EC2_CPUUtilization");
	assert_null(key);
	prom_name("ec2.api_calls", "ec2", "cloudwatch", f, sizeof(f), &key,
	    &off, &len);
	assert_string_equal(f, "vigil_cloudwatch_api_calls");
	/* A local source with a name of its own keeps its readings' names. */
	prom_name("cpu.used_pct", "mycpu", "cpu", f, sizeof(f), &key, &off,
	    &len);
	assert_string_equal(f, "vigil_cpu_used_percent");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_call_served),
		cmocka_unit_test(test_call_timeout),
		cmocka_unit_test(test_close),
		cmocka_unit_test(test_error_body),
		cmocka_unit_test(test_parse_target),
		cmocka_unit_test(test_tokens_parse),
		cmocka_unit_test(test_tokens_file),
		cmocka_unit_test(test_prom_name),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
