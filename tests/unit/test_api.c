/*
 * test_api.c: the scheduler's side of the JSON API (agent/api.c) driven
 * through api_handle() on a real scheduler, set up as test_sched.c does
 * (a configuration file, a "load" source reading a /proc/loadavg the test
 * writes, rules, the log notifier, a backup job to local storage, the
 * spool and the sender).  Checked: every route's fields and values, labels
 * split out of reading names, firing rules first, the ring of settled
 * notifications (newest first, the last 100), a job run now (admin only,
 * 409 while it runs, 404 for no such job), and strict input: unknown
 * paths 404, wrong methods 405, unknown, repeated or bad parameters 400,
 * each with a JSON error body.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/stat.h>

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/clock.h"
#include "agent/api.h"
#include "agent/history.h"
#include "agent/jobs.h"
#include "agent/runconf.h"
#include "agent/sched_internal.h"
#include "agent/sender.h"
#include "agent/source.h"
#include "agent/spool.h"
#include "agent/web.h"
#include "paths.h"
#include "tests/unit/fakes/testutil.h"

static char loadavg[PATH_MAX];
static char conf_path[PATH_MAX];
static char sock_path[PATH_MAX];
static unsigned nconf;

static int
setup(void **state)
{
	char root[256], proc[300];

	if (tu_tmpdir_setup(state) != 0)
		return -1;
	snprintf(root, sizeof(root), "%s/root", tu_tmpdir());
	snprintf(proc, sizeof(proc), "%s/proc", root);
	snprintf(loadavg, sizeof(loadavg), "%s/loadavg", proc);
	if (mkdir(root, 0700) != 0 || mkdir(proc, 0700) != 0)
		return -1;
	snprintf(conf_path, sizeof(conf_path), "%s/vigil.conf", tu_tmpdir());
	source_set_proc_root(root);
	return 0;
}

static void
set_load(const char *l1)
{
	char text[128];

	snprintf(text, sizeof(text), "%s 0.50 0.25 1/123 4567\n", l1);
	tu_write_file(loadavg, text, strlen(text), 0644);
}

/*
 * The configuration: a load source, two rules ("calm" first, never
 * firing; "busy" firing on a load over 1.5), the log notifier and a
 * backup job "j" whose pre_hook keeps a run going for a second.
 */
static void
write_conf(void)
{
	const char *t = tu_tmpdir();
	char text[4 * PATH_MAX + 2048];
	int n;

	tu_pathf(sock_path, "%s/s%u.sock", t, nconf);
	n = snprintf(text, sizeof(text),
	    "agent = { state_dir = \"%s/state%u\"; control_socket = \"%s\";\n"
	    "  hostname = \"api-host\"; log_level = \"error\"; };\n"
	    "sources = ( { type = \"load\"; name = \"ld\"; "
	    "interval = \"30s\"; } );\n"
	    "rules = ( { name = \"calm\"; metric = \"load.1\"; warn = 100.0;\n"
	    "  notify = [ \"log\" ]; },\n"
	    "  { name = \"busy\"; metric = \"load.1\"; warn = 1.5;\n"
	    "  crit = 5.0; notify = [ \"log\" ]; } );\n"
	    "storage = { here = { type = \"local\"; path = \"%s/store\"; }; "
	    "};\n"
	    "backups = ( { name = \"j\"; paths = [ \"%s/root\" ];\n"
	    "  storage = \"here\"; key_file = \"%s/k\"; create_key = true;\n"
	    "  pre_hook = \"sleep 1\"; } );\n",
	    t, nconf, sock_path, t, t, t);
	nconf++;
	assert_true(n > 0 && (size_t)n < sizeof(text));
	tu_write_file(conf_path, text, strlen(text), 0600);
}

static void
sched_open(struct sched *s)
{
	struct runconf *rc = NULL;

	write_conf();
	assert_int_equal(runconf_load_stderr(conf_path, &rc, false), 0);
	*s = (struct sched){ .conf_path = conf_path,
		.rc = rc,
		.wake = { -1, -1 } };
	s->started_ms = clock_wall_ms() - 5000;
	assert_int_equal(sched_setup(s), 0);
	assert_non_null(s->sender = sender_start(s->spool, runconf_ref(rc)));
}

/*
 * Call ${method} ${path} with role ${role} and the query parameters in
 * ${q} ("k=v&k2=v2", no escapes; NULL: none); return the answer parsed
 * (the caller frees it) and its status in *${ret_status}.
 */
static json_t *
call(struct sched *s, const char *method, const char *path, enum web_role role,
    const char *q, int *ret_status)
{
	struct web_req rq = { .method = method,
		.path = path,
		.role = role,
		.client = "127.0.0.1:1" };
	struct web_resp rs = { 0 };
	char buf[1024], *save = NULL, *kv;
	json_error_t jerr;
	json_t *o;

	if (q != NULL) {
		snprintf(buf, sizeof(buf), "%s", q);
		for (kv = strtok_r(buf, "&", &save); kv != NULL;
		     kv = strtok_r(NULL, "&", &save)) {
			char *eq = strchr(kv, '=');

			assert_non_null(eq);
			*eq = '\0';
			assert_true(rq.nparams < WEB_PARAMS_MAX);
			rq.params[rq.nparams++] = (struct web_param){ kv,
				eq + 1 };
		}
	}
	api_handle(s, &rq, &rs);
	assert_non_null(rs.body);
	assert_null(rs.ctype); /* JSON */
	assert_int_equal(strlen(rs.body), rs.len);
	if ((o = json_loadb(rs.body, rs.len, 0, &jerr)) == NULL)
		fail_msg("%s %s: not JSON (%s): %s", method, path, jerr.text,
		    rs.body);
	*ret_status = rs.status;
	web_resp_free(&rs);
	return o;
}

/* GET ${path} as a read token, which must answer 200. */
static json_t *
get_ok(struct sched *s, const char *path, const char *q)
{
	int st;
	json_t *o = call(s, "GET", path, WEB_ROLE_READ, q, &st);

	if (st != 200)
		fail_msg("GET %s?%s: %d %s", path, q ? q : "", st,
		    json_string_value(json_object_get(o, "error")));
	return o;
}

/* ${method} ${path} must fail with ${status} and an error containing ${msg}. */
static void
expect_error(struct sched *s, const char *method, const char *path,
    enum web_role role, const char *q, int status, const char *msg)
{
	int st;
	json_t *o = call(s, method, path, role, q, &st);
	const char *e = json_string_value(json_object_get(o, "error"));

	if (st != status || e == NULL || strstr(e, msg) == NULL)
		fail_msg("%s %s?%s: want %d \"%s\", got %d %s", method, path,
		    q ? q : "", status, msg, st, e ? e : "(no error)");
	assert_int_equal(json_object_size(o), 1);
	json_decref(o);
}

static json_t *
member(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	if (v == NULL)
		fail_msg("no \"%s\"", key);
	return v;
}

static void
wait_job(struct sched *s)
{
	struct pollfd p = { .fd = jobs_fd(s->jobs), .events = POLLIN };

	assert_int_equal(poll(&p, 1, 30000), 1);
	jobs_reap(s->jobs);
}

static void
test_status_sources_readings(void **state)
{
	struct sched s;
	json_t *o, *q, *arr, *r;
	int seen = 0;

	(void)state;
	set_load("2.00");
	sched_open(&s);
	sched_collect_one(&s, 0, clock_mono_ms());
	/* A cloud source's labelled readings, as keep_last() keeps them. */
	assert_int_equal(metric_add_ts(&s.last[0], 1000, 7.5,
			     "ec2.CPU{InstanceId=i-1,Zone=eu\\,1}"),
	    0);
	assert_int_equal(metric_add_ts(&s.last[0], 1000, 1.0, "ld.api_calls"),
	    0);
	assert_int_equal(metric_add_ts(&s.last[0], 1000, 1.0, "bad{x}"), 0);

	o = get_ok(&s, "/api/v1/status", NULL);
	assert_string_equal(json_string_value(member(o, "host")), "api-host");
	assert_string_equal(json_string_value(member(o, "version")),
	    VIGIL_VERSION);
	assert_int_equal(json_integer_value(member(o, "pid")), getpid());
	assert_int_equal(json_integer_value(member(o, "started_ms")),
	    s.started_ms);
	assert_true(json_integer_value(member(o, "uptime_s")) >= 5);
	assert_string_equal(json_string_value(member(o, "config")), conf_path);
	assert_int_equal(json_integer_value(member(o, "reloads")), 0);
	assert_int_equal(json_integer_value(member(o, "sources")), 1);
	assert_int_equal(json_integer_value(member(o, "rules")), 2);
	assert_int_equal(json_integer_value(member(o, "jobs")), 1);
	assert_true(json_is_null(member(o, "history")));
	/* No http.restore_roots here (it_web_page.sh: the page shows them). */
	assert_true(json_is_array(member(o, "restore_roots")));
	assert_int_equal(json_array_size(member(o, "restore_roots")), 0);
	q = member(o, "queue");
	assert_true(json_is_integer(member(q, "depth")));
	assert_true(json_is_integer(member(q, "sent")));
	assert_true(json_is_integer(member(member(q, "per_notifier"), "log")));
	/* Each notifier's last delivery and last error, as vigil status. */
	assert_true(json_is_string(member(member(member(q, "notifiers"), "log"),
	    "last_error")));
	assert_true(json_is_integer(member(member(member(q, "notifiers"),
					       "log"),
	    "last_ok_ms")));
	assert_true(json_is_null(member(q, "oldest_age_s")) ||
	    json_is_integer(member(q, "oldest_age_s")));
	json_decref(o);

	o = get_ok(&s, "/api/v1/sources", NULL);
	arr = member(o, "sources");
	assert_int_equal(json_array_size(arr), 1);
	r = json_array_get(arr, 0);
	assert_string_equal(json_string_value(member(r, "name")), "ld");
	assert_string_equal(json_string_value(member(r, "type")), "load");
	assert_int_equal(json_integer_value(member(r, "interval_ms")), 30000);
	assert_true(json_integer_value(member(r, "last_ok_ms")) > 0);
	assert_int_equal(json_integer_value(member(r, "failures")), 0);
	assert_string_equal(json_string_value(member(r, "last_error")), "");
	assert_true(json_real_value(member(r, "api_calls")) == 1.0);
	/* The load source's 6 and the 3 added. */
	assert_int_equal(json_integer_value(member(r, "readings")), 9);
	json_decref(o);

	/* All readings; the malformed one left out. */
	o = get_ok(&s, "/api/v1/readings", NULL);
	arr = member(o, "readings");
	assert_int_equal(json_array_size(arr), 8);
	for (size_t i = 0; i < json_array_size(arr); i++) {
		r = json_array_get(arr, i);
		assert_string_equal(json_string_value(member(r, "source")),
		    "ld");
		assert_true(json_is_object(member(r, "labels")));
		assert_true(json_is_integer(member(r, "time_ms")));
		if (strcmp(json_string_value(member(r, "name")), "load.1") ==
		    0) {
			assert_true(json_real_value(member(r, "value")) ==
			    2.0);
			assert_int_equal(json_object_size(member(r, "labels")),
			    0);
			seen++;
		}
	}
	assert_int_equal(seen, 1);
	json_decref(o);

	/* The labels split out of the name, unescaped. */
	o = get_ok(&s, "/api/v1/readings", "source=ld&match=ec2.*");
	arr = member(o, "readings");
	assert_int_equal(json_array_size(arr), 1);
	r = json_array_get(arr, 0);
	assert_string_equal(json_string_value(member(r, "name")), "ec2.CPU");
	assert_true(json_real_value(member(r, "value")) == 7.5);
	assert_int_equal(json_integer_value(member(r, "time_ms")), 1000);
	assert_int_equal(json_object_size(member(r, "labels")), 2);
	assert_string_equal(json_string_value(member(member(r, "labels"),
				"InstanceId")),
	    "i-1");
	assert_string_equal(json_string_value(member(member(r, "labels"),
				"Zone")),
	    "eu,1");
	json_decref(o);

	/* The glob is on the base name: "*}" matches none. */
	o = get_ok(&s, "/api/v1/readings", "match=*}");
	assert_int_equal(json_array_size(member(o, "readings")), 0);
	json_decref(o);
	o = get_ok(&s, "/api/v1/readings", "match=load.1?");
	assert_int_equal(json_array_size(member(o, "readings")), 1);
	json_decref(o);

	expect_error(&s, "GET", "/api/v1/readings", WEB_ROLE_READ,
	    "source=nope", 404, "no source \"nope\"");
	expect_error(&s, "GET", "/api/v1/readings", WEB_ROLE_READ,
	    "match=", 400, "match");
	expect_error(&s, "GET", "/api/v1/readings", WEB_ROLE_READ,
	    "source=ld&source=ld", 400, "given twice");
	expect_error(&s, "GET", "/api/v1/readings", WEB_ROLE_READ, "sauce=ld",
	    400, "unknown parameter \"sauce\"");
	expect_error(&s, "GET", "/api/v1/status", WEB_ROLE_READ, "x=1", 400,
	    "unknown parameter");
	sched_teardown(&s, sock_path);
}

static void
test_rules_notifications(void **state)
{
	struct sched s;
	json_t *o, *arr, *r;
	uint64_t sent = 0, failed = 0;
	const int changes = 105;

	(void)state;
	set_load("2.00");
	sched_open(&s);
	sched_collect_one(&s, 0, clock_mono_ms());

	/* busy fires, and comes first although calm is the first rule. */
	o = get_ok(&s, "/api/v1/rules", NULL);
	arr = member(o, "rules");
	assert_int_equal(json_array_size(arr), 2);
	r = json_array_get(arr, 0);
	assert_string_equal(json_string_value(member(r, "rule")), "busy");
	assert_string_equal(json_string_value(member(r, "metric")), "load.1");
	assert_string_equal(json_string_value(member(r, "state")), "WARNING");
	assert_true(json_is_true(member(r, "firing")));
	assert_true(json_real_value(member(r, "value")) == 2.0);
	assert_string_equal(json_string_value(member(r, "severity")),
	    "critical");
	assert_true(json_is_string(member(r, "since")));
	r = json_array_get(arr, 1);
	assert_string_equal(json_string_value(member(r, "rule")), "calm");
	assert_string_equal(json_string_value(member(r, "state")), "OK");
	assert_true(json_is_false(member(r, "firing")));
	assert_string_equal(json_string_value(member(r, "severity")),
	    "warning");
	json_decref(o);

	/*
	 * busy goes OK and WARNING in turn: one notification per change (the
	 * first one above), delivered by the log notifier.
	 */
	for (int i = 1; i < changes; i++) {
		set_load(i % 2 ? "0.10" : "2.00");
		sched_collect_one(&s, 0, clock_mono_ms());
	}
	for (int i = 0;
	     i < 500 && (sent < (uint64_t)changes || spool_depth(s.spool) > 0);
	     i++) {
		usleep(10 * 1000);
		sender_stats(s.sender, &sent, &failed);
	}
	assert_int_equal(sent, changes);

	o = get_ok(&s, "/api/v1/notifications", NULL);
	arr = member(o, "recent");
	assert_int_equal(json_array_size(arr), SENDER_RECENT);
	/* Newest first: the last change (i = 104, even) made it WARNING. */
	r = json_array_get(arr, 0);
	assert_string_equal(json_string_value(member(r, "rule")), "busy");
	assert_string_equal(json_string_value(member(r, "metric")), "load.1");
	assert_string_equal(json_string_value(member(r, "state")), "WARNING");
	assert_string_equal(json_string_value(member(r, "notifier")), "log");
	assert_string_equal(json_string_value(member(r, "result")),
	    "delivered");
	assert_int_equal(json_integer_value(member(r, "attempts")), 1);
	assert_true(json_is_string(member(r, "id")));
	assert_true(json_is_string(member(r, "time")));
	assert_string_equal(json_string_value(member(json_array_get(arr, 1),
				"state")),
	    "OK");
	/* Each id once: a ring, not the same slot again. */
	for (size_t i = 1; i < json_array_size(arr); i++)
		assert_string_not_equal(json_string_value(member(
					    json_array_get(arr, i - 1), "id")),
		    json_string_value(member(json_array_get(arr, i), "id")));
	assert_int_equal(json_integer_value(member(member(o, "queue"),
			     "depth")),
	    0);
	assert_int_equal(json_integer_value(member(member(o, "queue"),
			     "sent")),
	    changes);
	json_decref(o);
	sched_teardown(&s, sock_path);
}

static void
test_jobs(void **state)
{
	struct sched s;
	json_t *o, *arr, *r;
	int st;

	(void)state;
	set_load("1.00");
	sched_open(&s);

	o = get_ok(&s, "/api/v1/jobs", NULL);
	arr = member(o, "jobs");
	assert_int_equal(json_array_size(arr), 1);
	r = json_array_get(arr, 0);
	assert_string_equal(json_string_value(member(r, "name")), "j");
	assert_true(json_is_false(member(r, "running")));
	assert_true(json_is_null(member(r, "next_run"))); /* no schedule */
	json_decref(o);

	expect_error(&s, "POST", "/api/v1/jobs/j/run", WEB_ROLE_READ, NULL,
	    403, "admin");
	expect_error(&s, "POST", "/api/v1/jobs/nope/run", WEB_ROLE_ADMIN, NULL,
	    404, "no backup job \"nope\"");
	expect_error(&s, "GET", "/api/v1/jobs/j/run", WEB_ROLE_ADMIN, NULL,
	    405, "POST");
	o = call(&s, "POST", "/api/v1/jobs/j/run", WEB_ROLE_ADMIN, NULL, &st);
	assert_int_equal(st, 202);
	assert_true(json_is_true(member(o, "ok")));
	json_decref(o);
	expect_error(&s, "POST", "/api/v1/jobs/j/run", WEB_ROLE_ADMIN, NULL,
	    409, "running already");
	o = get_ok(&s, "/api/v1/jobs", NULL);
	r = json_array_get(member(o, "jobs"), 0);
	assert_true(json_is_true(member(r, "running")));
	assert_true(json_is_object(member(r, "progress")));
	json_decref(o);
	wait_job(&s);
	o = get_ok(&s, "/api/v1/jobs", NULL);
	r = json_array_get(member(o, "jobs"), 0);
	assert_true(json_is_false(member(r, "running")));
	assert_true(json_is_true(member(member(r, "last_run"), "ok")));
	assert_true(json_is_object(member(r, "last_success")));
	json_decref(o);
	sched_teardown(&s, sock_path);
}

static void
test_strict(void **state)
{
	static const char *const gets[] = { "status", "sources", "readings",
		"rules", "notifications", "jobs" };
	struct sched s;
	char path[128];

	(void)state;
	set_load("1.00");
	sched_open(&s);
	for (size_t i = 0; i < sizeof(gets) / sizeof(gets[0]); i++) {
		snprintf(path, sizeof(path), "/api/v1/%s", gets[i]);
		expect_error(&s, "POST", path, WEB_ROLE_ADMIN, NULL, 405,
		    "needs GET");
		expect_error(&s, "DELETE", path, WEB_ROLE_ADMIN, NULL, 405,
		    "needs GET");
		snprintf(path, sizeof(path), "/api/v1/%s/", gets[i]);
		expect_error(&s, "GET", path, WEB_ROLE_READ, NULL, 404,
		    "no such path");
	}
	expect_error(&s, "GET", "/api/v1/nope", WEB_ROLE_READ, NULL, 404,
	    "no such path");
	expect_error(&s, "GET", "/api/v2/status", WEB_ROLE_READ, NULL, 404,
	    "no such path");
	expect_error(&s, "GET", "/api/v1/", WEB_ROLE_READ, NULL, 404,
	    "no such path");
	expect_error(&s, "GET", "/", WEB_ROLE_READ, NULL, 404, "no such path");
	expect_error(&s, "POST", "/api/v1/jobs//run", WEB_ROLE_ADMIN, NULL,
	    404, "no such path");
	expect_error(&s, "POST", "/api/v1/jobs/j/run/", WEB_ROLE_ADMIN, NULL,
	    404, "no such path");
	expect_error(&s, "POST", "/api/v1/jobs/j/x/run", WEB_ROLE_ADMIN, NULL,
	    404, "no such path");
	/* A name longer than any job's. */
	memset(path, 'a', sizeof(path));
	memcpy(path, "/api/v1/jobs/", 13);
	strcpy(path + sizeof(path) - 5, "/run");
	expect_error(&s, "POST", path, WEB_ROLE_ADMIN, NULL, 404,
	    "no backup job");
	expect_error(&s, "POST", "/api/v1/jobs/j/run", WEB_ROLE_ADMIN, "now=1",
	    400, "unknown parameter");
	/* No history in this build of the scheduler's state. */
	expect_error(&s, "GET", "/api/v1/series", WEB_ROLE_READ, NULL, 404,
	    "history is off");
	expect_error(&s, "GET", "/api/v1/history", WEB_ROLE_READ,
	    "series=load.1", 404, "history is off");
	sched_teardown(&s, sock_path);
}

/*
 * With a history: status says what it holds; series lists the names by a
 * glob; history gives a series' points for from/to/step in each form,
 * and refuses what does not parse.
 */
static void
test_history(void **state)
{
	struct sched s;
	struct history_conf hc;
	struct conf_errs errs = { 0 };
	struct ag_err err = { "" };
	struct metric_batch b;
	int64_t now = clock_wall_ms(), t0;
	char q[256], when[40];
	json_t *o, *pts;

	(void)state;
	set_load("2.00");
	sched_open(&s);
	assert_int_equal(history_conf_parse(NULL, &hc, &errs), 0);
	assert_non_null(s.hist = history_new(&hc, NULL, &err));
	sched_collect_one(&s, 0, clock_mono_ms());
	/* x.temp every 10 minutes, 50 to 10 minutes ago: 5, 6, ... 9. */
	metric_batch_init(&b, 10);
	t0 = (now / 600000) * 600000 - 3000000;
	for (int i = 0; i < 5; i++) {
		metric_batch_reset(&b);
		b.now_ms = t0 + i * 600000;
		assert_int_equal(metric_add(&b, 5.0 + i, "x.temp"), 0);
		history_add(s.hist, &b, b.now_ms);
	}
	metric_batch_free(&b);

	o = get_ok(&s, "/api/v1/status", NULL);
	assert_int_equal(json_integer_value(member(member(o, "history"),
			     "series")),
	    7);
	assert_true(json_integer_value(member(member(o, "history"), "bytes")) >
	    0);
	assert_true(json_is_null(member(member(o, "history"), "last_error")));
	json_decref(o);

	o = get_ok(&s, "/api/v1/series", "match=x.*");
	assert_int_equal(json_array_size(member(o, "series")), 1);
	assert_string_equal(json_string_value(json_array_get(member(o,
								 "series"),
				0)),
	    "x.temp");
	json_decref(o);
	o = get_ok(&s, "/api/v1/series", NULL);
	assert_int_equal(json_array_size(member(o, "series")), 7);
	assert_string_equal(json_string_value(json_array_get(member(o,
								 "series"),
				0)),
	    "load.1");
	json_decref(o);

	o = get_ok(&s, "/api/v1/history", "series=x.temp&from=-1h&step=10m");
	assert_string_equal(json_string_value(member(o, "series")), "x.temp");
	assert_int_equal(json_integer_value(member(o, "step_ms")), 600000);
	pts = member(o, "points");
	assert_int_equal(json_array_size(pts), 5);
	for (size_t i = 0; i < 5; i++) {
		json_t *p = json_array_get(pts, i);

		assert_int_equal(json_integer_value(json_array_get(p, 0)),
		    t0 + (int64_t)i * 600000);
		assert_true(json_real_value(json_array_get(p, 1)) ==
		    5.0 + (double)i);
	}
	json_decref(o);
	/* from and to as ms and as RFC 3339: the middle three. */
	clock_rfc3339(t0 + 3 * 600000, when, sizeof(when));
	snprintf(q, sizeof(q), "series=x.temp&from=%lld&to=%s&step=10m",
	    (long long)(t0 + 600000), when);
	o = get_ok(&s, "/api/v1/history", q);
	assert_int_equal(json_array_size(member(o, "points")), 3);
	json_decref(o);
	/* The defaults: the last hour at the finest step. */
	o = get_ok(&s, "/api/v1/history", "series=x.temp");
	assert_int_equal(json_array_size(member(o, "points")), 5);
	json_decref(o);

	expect_error(&s, "GET", "/api/v1/history", WEB_ROLE_READ, NULL, 400,
	    "series");
	expect_error(&s, "GET", "/api/v1/history", WEB_ROLE_READ,
	    "series=", 400, "series");
	expect_error(&s, "GET", "/api/v1/history", WEB_ROLE_READ,
	    "series=nope", 404, "no history of \"nope\"");
	expect_error(&s, "GET", "/api/v1/history", WEB_ROLE_READ,
	    "series=x.temp&from=yesterday", 400, "from, to");
	expect_error(&s, "GET", "/api/v1/history", WEB_ROLE_READ,
	    "series=x.temp&from=-1x", 400, "from, to");
	expect_error(&s, "GET", "/api/v1/history", WEB_ROLE_READ,
	    "series=x.temp&to=-2h", 400, "before");
	expect_error(&s, "GET", "/api/v1/history", WEB_ROLE_READ,
	    "series=x.temp&from=now", 400, "before");
	expect_error(&s, "GET", "/api/v1/history", WEB_ROLE_READ,
	    "series=x.temp&step=0", 400, "step");
	expect_error(&s, "GET", "/api/v1/history", WEB_ROLE_READ,
	    "series=x.temp&step=soon", 400, "step");
	expect_error(&s, "GET", "/api/v1/history", WEB_ROLE_READ,
	    "series=x.temp&steps=1m", 400, "unknown parameter");
	expect_error(&s, "GET", "/api/v1/series", WEB_ROLE_READ, "match=", 400,
	    "match");
	sched_teardown(&s, sock_path);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_status_sources_readings),
		cmocka_unit_test(test_rules_notifications),
		cmocka_unit_test(test_jobs),
		cmocka_unit_test(test_strict),
		cmocka_unit_test(test_history),
	};

	return cmocka_run_group_tests(tests, setup, tu_tmpdir_teardown);
}
