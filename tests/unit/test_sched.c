/*
 * test_sched.c: the daemon's loop (agent/sched.c) through the steps of
 * sched_internal.h, on real modules: a configuration file in a temporary
 * folder, a "load" source reading a /proc/loadavg the test writes or
 * removes, the spool, the sender and the control socket.  Checked: when
 * the loop wakes next (each input to sched_next_wake() in turn, and the
 * 60 s bound), the doubling interval of a failing source and its caps,
 * a reload that keeps the running configuration when the new one is bad
 * and carries rule states over when it is good, the fields of `vigil
 * status`, the control requests, a signal that lands before poll() (the
 * wake pipe), and a whole vigild loop in a child process that reloads on
 * request and on SIGHUP and stops on SIGTERM at once, although the signal
 * reaches a thread other than the one asleep in poll().  A network source
 * (cloudwatch, against tests/unit/fakes/fake_httpd.c) collects on its own
 * thread: a call that never gets an answer holds up neither a local
 * source nor `status`, stopping cuts it, and a failing one reaches the
 * status and backs off on the thread's own schedule.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <limits.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/clock.h"
#include "agent/ctl.h"
#include "agent/history.h"
#include "agent/runconf.h"
#include "agent/sched.h"
#include "agent/sched_internal.h"
#include "agent/sender.h"
#include "paths.h"
#include "tests/unit/fakes/fake_httpd.h"
#include "tests/unit/fakes/testutil.h"

/* An arbitrary monotonic and wall time for sched_next_wake(). */
#define NOW 1000000000LL
#define WALL 1795316400000LL

/* Two load sources: "fast" every second, "slow" every minute. */
static const char FAST_SLOW[] =
    "sources = ( { type = \"load\"; name = \"fast\"; interval = \"1s\"; },\n"
    "  { type = \"load\"; name = \"slow\"; interval = \"60s\"; } );\n";

static char loadavg[PATH_MAX];	 /* the sources' /proc/loadavg */
static char conf_path[PATH_MAX]; /* vigil.conf in the folder */
static char sock_path[PATH_MAX]; /* its control socket */
static unsigned nconf;		 /* state folders made so far */
static pid_t daemon_pid = -1;	 /* test_run_signals' child */

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

/* Make /proc/loadavg say ${l1} for the last minute, or remove it (NULL). */
static void
set_load(const char *l1)
{
	char text[128];

	if (l1 == NULL) {
		assert_true(unlink(loadavg) == 0 || errno == ENOENT);
		return;
	}
	snprintf(text, sizeof(text), "%s 0.50 0.25 1/123 4567\n", l1);
	tu_write_file(loadavg, text, strlen(text), 0644);
}

/*
 * Write vigil.conf: an agent block with a fresh state folder and control
 * socket (so that no test sees another's spool, rule states or daemon),
 * then ${body}.
 */
static void
write_conf(const char *body)
{
	char text[2 * PATH_MAX + 4096];
	int n;

	tu_pathf(sock_path, "%s/s%u.sock", tu_tmpdir(), nconf);
	n = snprintf(text, sizeof(text),
	    "agent = { state_dir = \"%s/state%u\"; control_socket = \"%s\";\n"
	    "  hostname = \"sched-host\"; log_level = \"error\"; };\n%s",
	    tu_tmpdir(), nconf++, sock_path, body);
	assert_true(n > 0 && (size_t)n < sizeof(text));
	tu_write_file(conf_path, text, strlen(text), 0600);
}

/* Replace vigil.conf with ${body} under the same agent block. */
static void
rewrite_conf(const char *body)
{
	nconf--;
	write_conf(body);
}

/* What sched_run() does before its loop, on the config in vigil.conf. */
static void
sched_open(struct sched *s)
{
	struct runconf *rc = NULL;

	assert_int_equal(runconf_load_stderr(conf_path, &rc, false), 0);
	*s = (struct sched){ .conf_path = conf_path,
		.rc = rc,
		.wake = { -1, -1 } };
	s->started_ms = clock_wall_ms();
	assert_int_equal(sched_setup(s), 0);
	assert_non_null(s->sender = sender_start(s->spool, runconf_ref(rc)));
}

static void
sched_close(struct sched *s)
{
	sched_teardown(s, sock_path);
	assert_int_equal(access(sock_path, F_OK), -1);
}

/* The source called ${name} in the running configuration. */
static struct source *
source_named(struct sched *s, const char *name)
{
	for (size_t i = 0; i < s->rc->nsources; i++)
		if (strcmp(s->rc->sources[i]->name, name) == 0)
			return s->rc->sources[i];
	fail_msg("no source %s", name);
	return NULL;
}

static size_t
source_index(struct sched *s, const char *name)
{
	struct source *src = source_named(s, name);

	for (size_t i = 0; i < s->rc->nsources; i++)
		if (s->rc->sources[i] == src)
			return i;
	return 0;
}

/* Put every source's next collection ${after} ms past NOW. */
static void
sources_due_in(struct sched *s, int64_t after)
{
	for (size_t i = 0; i < s->rc->nsources; i++)
		s->rc->sources[i]->next_ms = NOW + after;
}

/* `vigil status` of ${s}, parsed. */
static json_t *
status_of(struct sched *s)
{
	json_error_t jerr;
	char *text = sched_status_json(s);
	json_t *root;

	assert_non_null(text);
	root = json_loads(text, 0, &jerr);
	if (root == NULL)
		fail_msg("status is not JSON (%s): %s", jerr.text, text);
	free(text);
	return root;
}

/* The member ${key} of ${o}, which must be there. */
static json_t *
member(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	if (v == NULL)
		fail_msg("no \"%s\" in the status", key);
	return v;
}

/*
 * Every input of sched_next_wake() moves the next wake-up, the earliest
 * wins, and with nothing to do the loop still wakes within 60 s.
 */
static void
test_next_wake(void **state)
{
	struct sched s;
	int sv[2];

	(void)state;
	set_load("1.00");
	write_conf(FAST_SLOW);
	sched_open(&s);

	/* Nothing due for longer than the longest sleep: 60 s. */
	sources_due_in(&s, 3600 * 1000);
	assert_int_equal(sched_next_wake(&s, NOW, WALL, INT64_MAX),
	    NOW + 60 * 1000);
	/* A backup start an hour away is also capped to 60 s. */
	assert_int_equal(sched_next_wake(&s, NOW, WALL, WALL + 3600 * 1000),
	    NOW + 60 * 1000);

	/* The earliest source, whichever it is. */
	source_named(&s, "fast")->next_ms = NOW + 1234;
	assert_int_equal(sched_next_wake(&s, NOW, WALL, INT64_MAX),
	    NOW + 1234);
	source_named(&s, "slow")->next_ms = NOW + 500;
	assert_int_equal(sched_next_wake(&s, NOW, WALL, INT64_MAX), NOW + 500);

	/* The next backup start, a wall time, converted to monotonic. */
	assert_int_equal(sched_next_wake(&s, NOW, WALL, WALL + 300),
	    NOW + 300);
	assert_int_equal(sched_next_wake(&s, NOW, WALL, WALL - 5000), NOW);

	/* No jobs: the backup readings' timer does not count. */
	s.next_job_metrics_ms = NOW + 20;
	assert_int_equal(sched_next_wake(&s, NOW, WALL, INT64_MAX), NOW + 500);

	/* A control client's deadline. */
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
			     sv),
	    0);
	assert_int_equal(ctl_add(s.ctl, sv[1],
			     NOW - CTL_REQUEST_TIMEOUT_MS + 200),
	    0);
	assert_int_equal(sched_next_wake(&s, NOW, WALL, INT64_MAX), NOW + 200);
	sched_close(&s);
	close(sv[0]);
}

/*
 * The rules' next deadline counts, and a rule that is due at once (never
 * ticked) gives a 1 s sleep, not a busy loop.  With a backup job, the
 * readings' timer counts too.
 */
static void
test_next_wake_rules_jobs(void **state)
{
	struct sched s;
	char key[PATH_MAX], body[4 * PATH_MAX];
	uint8_t k[32];

	(void)state;
	set_load("1.00");
	snprintf(key, sizeof(key), "%s/backup.key", tu_tmpdir());
	memset(k, 7, sizeof(k));
	tu_write_file(key, k, sizeof(k), 0600);
	snprintf(body, sizeof(body),
	    "sources = ( { type = \"load\"; interval = \"60s\"; } );\n"
	    "rules = ( { name = \"quiet\"; metric = \"load.1\"; crit = 5.0;\n"
	    "  no_data = \"5s\"; } );\n"
	    "storage = { here = { type = \"local\"; path = \"%s/store\"; }; };\n"
	    "backups = ( { name = \"b\"; paths = [ \"%s\" ]; "
	    "storage = \"here\";\n"
	    "  key_file = \"%s\"; schedule = \"daily 03:00\"; } );\n",
	    tu_tmpdir(), tu_tmpdir(), key);
	write_conf(body);
	sched_open(&s);
	assert_int_equal(s.rc->njobs, 1);
	sources_due_in(&s, 3600 * 1000);
	s.next_job_metrics_ms = NOW + 3600 * 1000;

	/* Never ticked: due now, which is taken as 1 s from now. */
	assert_int_equal(rules_next_due(s.rc->rules, WALL), WALL);
	assert_int_equal(sched_next_wake(&s, NOW, WALL, INT64_MAX),
	    NOW + 1000);

	/* Ticked, no reading yet: due when no_data runs out. */
	rules_tick(s.rc->rules, WALL, NULL, NULL);
	assert_int_equal(rules_next_due(s.rc->rules, WALL), WALL + 5000);
	assert_int_equal(sched_next_wake(&s, NOW, WALL, INT64_MAX),
	    NOW + 5000);

	/* The backup readings, now that there is a job. */
	s.next_job_metrics_ms = NOW + 70;
	assert_int_equal(sched_next_wake(&s, NOW, WALL, INT64_MAX), NOW + 70);
	sched_close(&s);
}

/* Collect source ${idx} at NOW and check its state after it. */
static void
collect_expect(struct sched *s, size_t idx, unsigned failures,
    int64_t interval)
{
	struct source *src = s->rc->sources[idx];

	sched_collect_one(s, idx, NOW);
	assert_int_equal(src->failures, failures);
	assert_int_equal(src->cur_interval_ms, interval);
	assert_int_equal(src->next_ms, NOW + interval);
}

/*
 * A failing source is retried at a doubling interval, capped at 16 times
 * its own or at 10 minutes; its error shows in status; one success
 * restores the interval.
 */
static void
test_backoff(void **state)
{
	static const int64_t fast[] = { 2000, 4000, 8000, 16000, 16000 };
	static const int64_t slow[] = { 120000, 240000, 480000, 600000,
		600000 };
	struct sched s;
	struct source *src;
	size_t f, sl;
	json_t *st, *o;

	(void)state;
	set_load("1.00");
	write_conf(FAST_SLOW);
	sched_open(&s);
	f = source_index(&s, "fast");
	sl = source_index(&s, "slow");
	collect_expect(&s, f, 0, 1000);
	assert_true(s.rc->sources[f]->last_ok_ms > 0);

	set_load(NULL);
	for (unsigned i = 0; i < 5; i++) {
		collect_expect(&s, f, i + 1, fast[i]);
		collect_expect(&s, sl, i + 1, slow[i]);
	}
	src = s.rc->sources[f];
	assert_non_null(strstr(src->last_err, "loadavg"));

	st = status_of(&s);
	o = json_array_get(member(st, "sources"), f);
	assert_int_equal(json_integer_value(member(o, "failures")), 5);
	assert_string_equal(json_string_value(member(o, "last_error")),
	    src->last_err);
	json_decref(st);

	set_load("1.00");
	collect_expect(&s, f, 0, 1000);
	assert_string_equal(src->last_err, "");
	collect_expect(&s, sl, 0, 60000);
	sched_close(&s);
}

/*
 * A reload with errors keeps the running configuration and counts a
 * failure; a good one swaps it in, resets the sources' schedule, and
 * carries the rules' states over.
 */
static void
test_reload(void **state)
{
	static const char good[] =
	    "sources = ( { type = \"load\"; interval = \"60s\"; } );\n"
	    "rules = ( { name = \"busy\"; metric = \"load.1\"; crit = 5.0; "
	    "} );\n";
	struct sched s;
	struct runconf *old;
	struct source *src;
	int64_t before;
	json_t *st, *series;

	(void)state;
	set_load("9.00");
	write_conf(good);
	sched_open(&s);
	old = s.rc;
	sched_collect_one(&s, 0, clock_mono_ms());
	src = s.rc->sources[0];
	src->next_ms = NOW;
	src->failures = 3;

	/* An unknown source type: nothing changes but the counter. */
	rewrite_conf("sources = ( { type = \"gpu\"; } );\n");
	sched_reload(&s);
	assert_ptr_equal(s.rc, old);
	assert_ptr_equal(s.rc->sources[0], src);
	assert_int_equal(src->next_ms, NOW);
	assert_int_equal(src->failures, 3);
	assert_int_equal(s.reloads, 0);
	assert_int_equal(s.reload_failures, 1);

	/* A good one, with one more source. */
	rewrite_conf(
	    "sources = ( { type = \"load\"; interval = \"60s\"; },\n"
	    "  { type = \"load\"; name = \"two\"; interval = \"5s\"; } );\n"
	    "rules = ( { name = \"busy\"; metric = \"load.1\"; crit = 5.0; "
	    "} );\n");
	before = clock_mono_ms();
	sched_reload(&s);
	assert_ptr_not_equal(s.rc, old);
	assert_int_equal(s.rc->nsources, 2);
	assert_int_equal(s.reloads, 1);
	assert_int_equal(s.reload_failures, 1);
	for (size_t i = 0; i < s.rc->nsources; i++) {
		assert_true(s.rc->sources[i]->next_ms >= before);
		assert_true(s.rc->sources[i]->next_ms <= clock_mono_ms());
		assert_int_equal(s.rc->sources[i]->cur_interval_ms,
		    s.rc->sources[i]->interval_ms);
	}
	/* The rule fired before the reload and still is CRITICAL. */
	st = status_of(&s);
	assert_int_equal(json_integer_value(member(st, "reloads")), 1);
	assert_int_equal(json_integer_value(member(st, "reload_failures")), 1);
	assert_int_equal(json_array_size(member(st, "sources")), 2);
	series = json_array_get(member(st, "rules"), 0);
	assert_non_null(series);
	assert_string_equal(json_string_value(member(series, "rule")), "busy");
	assert_string_equal(json_string_value(member(series, "state")),
	    "CRITICAL");
	json_decref(st);
	sched_close(&s);
}

/* Every field `vigil status` shows, after one collection. */
static void
test_status(void **state)
{
	struct sched s;
	json_t *st, *src, *rd, *series, *queue;

	(void)state;
	set_load("2.00");
	write_conf(
	    "sources = ( { type = \"load\"; name = \"ld\"; "
	    "interval = \"30s\"; } );\n"
	    "rules = ( { name = \"busy\"; metric = \"load.1\"; warn = 1.5;\n"
	    "  crit = 5.0; notify = [ \"log\" ]; } );\n");
	sched_open(&s);
	sched_collect_one(&s, 0, clock_mono_ms());
	sched_poll_once(&s, 0);
	sched_poll_once(&s, 0);

	st = status_of(&s);
	assert_string_equal(json_string_value(member(st, "host")),
	    "sched-host");
	assert_string_equal(json_string_value(member(st, "version")),
	    VIGIL_VERSION);
	assert_int_equal(json_integer_value(member(st, "pid")), getpid());
	assert_string_equal(json_string_value(member(st, "config")),
	    conf_path);
	assert_int_equal(json_integer_value(member(st, "started_ms")),
	    s.started_ms);
	assert_int_equal(json_integer_value(member(st, "reloads")), 0);
	assert_int_equal(json_integer_value(member(st, "reload_failures")), 0);
	assert_int_equal(json_integer_value(member(st, "loop_wakeups")), 2);

	assert_int_equal(json_array_size(member(st, "sources")), 1);
	src = json_array_get(member(st, "sources"), 0);
	assert_string_equal(json_string_value(member(src, "name")), "ld");
	assert_string_equal(json_string_value(member(src, "type")), "load");
	assert_int_equal(json_integer_value(member(src, "interval_ms")),
	    30000);
	assert_int_equal(json_integer_value(member(src, "last_ok_ms")),
	    s.rc->sources[0]->last_ok_ms);
	assert_true(json_integer_value(member(src, "last_ok_ms")) >=
	    s.started_ms);
	assert_true(json_is_integer(member(src, "last_duration_ms")));
	assert_int_equal(json_integer_value(member(src, "failures")), 0);
	assert_string_equal(json_string_value(member(src, "last_error")), "");
	rd = member(src, "readings");
	assert_int_equal(json_object_size(rd), 6);
	assert_true(json_real_value(member(rd, "load.1")) == 2.0);
	assert_true(json_real_value(member(rd, "load.5")) == 0.5);
	assert_true(json_real_value(member(rd, "load.15")) == 0.25);

	assert_int_equal(json_array_size(member(st, "rules")), 1);
	series = json_array_get(member(st, "rules"), 0);
	assert_string_equal(json_string_value(member(series, "rule")), "busy");
	assert_string_equal(json_string_value(member(series, "metric")),
	    "load.1");
	assert_string_equal(json_string_value(member(series, "state")),
	    "WARNING");
	assert_true(json_real_value(member(series, "value")) == 2.0);
	assert_true(json_is_string(member(series, "since")));

	assert_true(json_is_array(member(st, "jobs")));
	queue = member(st, "queue");
	assert_true(json_is_integer(member(queue, "depth")));
	assert_true(json_is_integer(member(queue, "sent")));
	assert_true(json_is_integer(member(queue, "failed")));
	assert_true(json_is_integer(member(member(queue, "per_notifier"),
	    "log")));
	{
		json_t *nf = member(member(queue, "notifiers"), "log");

		assert_true(json_is_integer(member(nf, "queued")));
		assert_int_equal(json_integer_value(member(nf,
				     "last_error_ms")),
		    0);
		assert_string_equal(json_string_value(member(nf,
					"last_error")),
		    "");
	}
	json_decref(st);
	sched_close(&s);
}

static char *ask(struct sched *s, const char *req);

/* A TCP port on 127.0.0.1 that is free now. */
static int
free_port(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), port;

	assert_true(fd >= 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	port = ntohs(sa.sin_port);
	close(fd);
	return port;
}

/* The names of the series in ${s}'s history, as one string. */
static char *
history_list(struct sched *s)
{
	static char out[256];
	json_t *a = history_names(s->hist, NULL);
	char *text = json_dumps(a, JSON_COMPACT);

	snprintf(out, sizeof(out), "%s", text);
	free(text);
	json_decref(a);
	return out;
}

/*
 * With http.listen the loop keeps a history as http.history says:
 * collected readings and the backup readings go in, `vigil status`
 * reports it, its save is one of the wake-ups and happens when due and at
 * the end, and the next start reads it back.  Without http.listen there is
 * none; a bad http.history is a configuration error.
 */
static void
test_history(void **state)
{
	static const char ld[] =
	    "sources = ( { type = \"load\"; name = \"ld\"; "
	    "interval = \"30s\"; } );\n";
	struct conf_errs errs = { 0 };
	struct runconf *rc = NULL;
	struct sched s;
	char path[PATH_MAX], body[1024];
	json_t *st, *h;
	int64_t due;

	(void)state;
	set_load("2.50");
	write_conf(ld);
	sched_open(&s);
	assert_null(s.hist);
	st = status_of(&s);
	assert_null(json_object_get(st, "history"));
	json_decref(st);
	sched_close(&s);

	snprintf(body, sizeof(body),
	    "%shttp = { listen = \"127.0.0.1:%d\"; metrics_public = true;\n"
	    "  history = { tiers = [ \"10s\" ]; }; };\n",
	    ld, free_port());
	rewrite_conf(body);
	assert_int_equal(runconf_load(conf_path, &rc, &errs), -1);
	assert_true(tu_has_error(&errs,
	    "http.history.tiers[0]: \"10s\" is "
	    "not STEP:SPAN"));
	conf_errs_free(&errs);

	snprintf(body, sizeof(body),
	    "%shttp = { listen = \"127.0.0.1:%d\"; metrics_public = true;\n"
	    "  history = { tiers = [ \"10s:1h\", \"5m:1d\" ];\n"
	    "    memory_max = \"1MiB\"; save_interval = \"1m\"; }; };\n",
	    ld, free_port());
	rewrite_conf(body);
	sched_open(&s);
	assert_non_null(s.hist);
	assert_string_equal(history_list(&s), "[]");
	sched_collect_one(&s, 0, NOW);
	assert_string_equal(history_list(&s),
	    "[\"load.1\",\"load.15\",\"load.15_per_core\","
	    "\"load.1_per_core\",\"load.5\",\"load.5_per_core\"]");
	/* The backup and spool readings too. */
	free(ask(&s, "backup-run nosuch"));
	h = history_query(s.hist, "agent.spool_write_errors", 0, INT64_MAX, 0);
	assert_non_null(h);
	json_decref(h);

	st = status_of(&s);
	h = member(st, "history");
	assert_int_equal(json_integer_value(member(h, "series")), 7);
	/* 360 + 288 slots of 4 bytes a series. */
	assert_true(json_integer_value(member(h, "bytes")) > 7 * 648 * 4);
	assert_true(json_integer_value(member(h, "bytes")) <
	    7 * 648 * 4 + 32768);
	assert_int_equal(json_integer_value(member(h, "bytes_max")), 1 << 20);
	assert_int_equal(json_integer_value(member(h, "dropped")), 0);
	assert_int_equal(json_integer_value(member(h, "saved_ms")), 0);
	assert_true(json_is_null(member(h, "last_error")));
	json_decref(st);

	/* The next save (a minute after the start) wakes the loop. */
	sources_due_in(&s, 3600 * 1000);
	due = history_save_due(s.hist);
	assert_true(due > clock_wall_ms() + 50 * 1000);
	assert_true(due <= clock_wall_ms() + 60 * 1000);
	assert_int_equal(sched_next_wake(&s, NOW, due - 1234, INT64_MAX),
	    NOW + 1234);
	tu_pathf(path, "%s/state%u/history.bin", tu_tmpdir(), nconf - 1);
	sched_history_tick(&s, due - 1);
	assert_int_equal(access(path, F_OK), -1);
	sched_history_tick(&s, due);
	assert_int_equal(access(path, F_OK), 0);
	assert_true(history_save_due(s.hist) > due);
	st = status_of(&s);
	assert_true(json_integer_value(member(member(st, "history"),
			"saved_ms")) > 0);
	json_decref(st);
	assert_int_equal(unlink(path), 0);

	/* Saved at the end, read back at the next start. */
	sched_close(&s);
	assert_int_equal(access(path, F_OK), 0);
	sched_open(&s);
	assert_non_null(strstr(history_list(&s), "\"load.5_per_core\""));
	sched_close(&s);
}

/*
 * Send ${req} as a control client and return the answer (malloc'd, the
 * caller frees it), served by one sched_poll_once().
 */
static char *
ask(struct sched *s, const char *req)
{
	char *buf;
	size_t len = 0, cap = 1 << 20;
	ssize_t n;
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
			     sv),
	    0);
	assert_int_equal(ctl_add(s->ctl, sv[1], clock_mono_ms()), 0);
	assert_int_equal(write(sv[0], req, strlen(req)), (ssize_t)strlen(req));
	assert_int_equal(write(sv[0], "\n", 1), 1);
	sched_poll_once(s, 2000);
	assert_non_null(buf = malloc(cap));
	while ((n = read(sv[0], buf + len, cap - 1 - len)) > 0)
		len += (size_t)n;
	assert_true(n == 0);
	buf[len] = '\0';
	close(sv[0]);
	return buf;
}

/* Each control request gets its answer through the loop's poll. */
static void
test_requests(void **state)
{
	struct sched s;
	json_t *o;
	char *r;

	(void)state;
	set_load("1.00");
	write_conf("sources = ( { type = \"load\"; interval = \"60s\"; } );\n");
	sched_open(&s);

	r = ask(&s, "status");
	assert_non_null(o = json_loads(r, 0, NULL));
	assert_string_equal(json_string_value(member(o, "host")),
	    "sched-host");
	assert_int_equal(json_array_size(member(o, "sources")), 1);
	json_decref(o);
	free(r);

	r = ask(&s, "backup-run nightly");
	assert_non_null(o = json_loads(r, 0, NULL));
	assert_non_null(strstr(json_string_value(member(o, "error")),
	    "nightly"));
	assert_true(json_is_false(member(o, "running")));
	json_decref(o);
	free(r);

	r = ask(&s, "queue list");
	assert_non_null(o = json_loads(r, 0, NULL));
	assert_true(json_is_array(member(o, "entries")));
	json_decref(o);
	free(r);

	r = ask(&s, "reload");
	assert_string_equal(r, "{\"ok\":true}\n");
	free(r);

	r = ask(&s, "frobnicate");
	assert_string_equal(r, "{\"error\":\"unknown request\"}\n");
	free(r);
	sched_close(&s);
}

/*
 * A signal that arrives before the loop sleeps (between its look at the
 * flags and poll()) ends the next sleep at once through the wake pipe,
 * which is drained so that the sleep after is whole.
 */
static void
test_wake_pipe(void **state)
{
	struct sched s;
	int64_t t0;

	(void)state;
	set_load("1.00");
	write_conf("sources = ( { type = \"load\"; interval = \"60s\"; } );\n");
	sched_open(&s);
	assert_int_equal(raise(SIGHUP), 0); /* its flag is not read here */
	t0 = clock_mono_ms();
	sched_poll_once(&s, 10000);
	assert_true(clock_mono_ms() - t0 < 2000);
	t0 = clock_mono_ms();
	sched_poll_once(&s, 300);
	assert_true(clock_mono_ms() - t0 >= 250);
	assert_int_equal(s.wakeups, 2);
	sched_close(&s);
}

/* A thread that only exists to receive the daemon's signals. */
static void *
catcher(void *arg)
{
	(void)arg;
	for (;;)
		pause();
	return NULL;
}

/*
 * vigild's loop in this child: signals reach the catcher thread only, so
 * only the wake pipe can end the loop's sleep.
 */
static void
child(void)
{
	struct runconf *rc = NULL;
	pthread_t t;
	sigset_t set;

	if (pthread_create(&t, NULL, catcher, NULL) != 0)
		_exit(101);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0)
		_exit(102);
	if (runconf_load_stderr(conf_path, &rc, false) != 0)
		_exit(103);
	_exit(sched_run(conf_path, rc));
}

/* Wait until the daemon ${pid} at sock_path has reloaded ${n} times. */
static void
wait_reloads(pid_t pid, json_int_t n)
{
	int st;

	for (int i = 0; i < 300; i++) {
		struct ag_err err = { "" };
		json_int_t got = -1;
		char *reply = NULL;
		json_t *o;

		if (ctl_request(sock_path, "status", &reply, &err) == 0 &&
		    (o = json_loads(reply, 0, NULL)) != NULL) {
			got = json_integer_value(json_object_get(o,
			    "reloads"));
			json_decref(o);
		}
		free(reply);
		if (got == n)
			return;
		assert_true(got < n);
		if (waitpid(pid, &st, WNOHANG) == pid)
			fail_msg("vigild ended, status %d", st);
		usleep(20 * 1000);
	}
	fail_msg("vigild did not reach %d reloads", (int)n);
}

/*
 * The whole loop: it answers `status`, reloads on the "reload" request
 * and on SIGHUP, and stops on SIGTERM within seconds, with status 0, the
 * control socket removed and the rule states saved, while its sleep would
 * otherwise last 60 s.
 */
static void
test_run_signals(void **state)
{
	char rules_state[PATH_MAX];
	int64_t t0;
	pid_t pid;
	int st = -1;

	(void)state;
	set_load("1.00");
	write_conf(
	    "sources = ( { type = \"load\"; interval = \"60s\"; } );\n"
	    "rules = ( { name = \"busy\"; metric = \"load.1\"; crit = 5.0; "
	    "} );\n");
	snprintf(rules_state, sizeof(rules_state), "%s/state%u/rules.state",
	    tu_tmpdir(), nconf - 1);
	assert_true((pid = fork()) >= 0);
	if (pid == 0)
		child();
	daemon_pid = pid;
	wait_reloads(pid, 0);
	{
		struct ag_err err = { "" };
		char *reply = NULL;

		assert_int_equal(ctl_request(sock_path, "reload", &reply,
				     &err),
		    0);
		free(reply);
	}
	wait_reloads(pid, 1);
	assert_int_equal(kill(pid, SIGHUP), 0);
	wait_reloads(pid, 2);

	/* Let it fall asleep: the rules were ticked, nothing is due. */
	usleep(1500 * 1000);
	t0 = clock_mono_ms();
	assert_int_equal(kill(pid, SIGTERM), 0);
	while (waitpid(pid, &st, WNOHANG) == 0 && clock_mono_ms() - t0 < 30000)
		usleep(10 * 1000);
	if (clock_mono_ms() - t0 >= 30000) {
		fail_msg("vigild did not stop on SIGTERM");
	}
	daemon_pid = -1;
	/* Its sleep had about 60 s to run; stopping takes milliseconds. */
	assert_true(clock_mono_ms() - t0 < 5000);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	assert_int_equal(access(sock_path, F_OK), -1);
	assert_int_equal(access(rules_state, F_OK), 0);
}

/*
 * A load source "fast" every second beside a cloudwatch source "cw" whose
 * endpoint is ${h}.
 */
static void
write_net_conf(const struct fake_httpd *h)
{
	char body[2048];

	snprintf(body, sizeof(body),
	    "sources = ( { type = \"load\"; name = \"fast\"; "
	    "interval = \"1s\"; },\n"
	    "  { type = \"cloudwatch\"; name = \"cw\"; interval = \"1s\";\n"
	    "    region = \"us-east-1\"; "
	    "endpoint = \"http://127.0.0.1:%d\";\n"
	    "    access_key_id = \"AKIDTEST\"; "
	    "secret_access_key = \"secret\"; delay = \"0s\";\n"
	    "    metrics = ( { namespace = \"AWS/EC2\"; "
	    "metric = \"CPUUtilization\";\n"
	    "      period = \"1s\"; dimensions = { InstanceId = \"i-1\"; "
	    "}; } ); } );\n",
	    h->port);
	write_conf(body);
}

/*
 * vigild's loop (sched_run()) for ${ms} without the rules and jobs: the
 * due sources, the network threads' batches, the sleep.  Return how many
 * times the source "fast" was collected.
 */
static unsigned
run_loop_for(struct sched *s, int64_t ms)
{
	struct source *fast = source_named(s, "fast");
	int64_t end = clock_mono_ms() + ms, now, next;
	unsigned n = 0;

	while ((now = clock_mono_ms()) < end) {
		for (size_t i = 0; i < s->rc->nsources; i++)
			if (s->rc->sources[i]->next_ms <= now) {
				n += s->rc->sources[i] == fast;
				sched_collect_one(s, i, now);
			}
		sched_take_collected(s);
		next = sched_next_wake(s, now, clock_wall_ms(), INT64_MAX);
		if (next > end)
			next = end;
		now = clock_mono_ms();
		sched_poll_once(s, next > now ? (int)(next - now) : 0);
	}
	return n;
}

/*
 * A cloud endpoint that reads the request and never answers: the call
 * waits on the source's thread (CloudWatch's timeout is 30 s) while the
 * local source is collected every second and `status` answers at once;
 * stopping the scheduler cuts the call within about a second.  On the
 * scheduler thread, as before, the first collection of "cw" would hold
 * the loop for 30 s.
 */
static void
test_net_thread_slow(void **state)
{
	struct fake_httpd h;
	struct sched s;
	json_t *st, *o;
	int64_t t0;
	unsigned n;

	(void)state;
	set_load("1.00");
	assert_int_equal(fake_httpd_start(&h), 0);
	h.silent = 1;
	write_net_conf(&h);
	sched_open(&s);
	assert_non_null(s.coll);
	t0 = clock_mono_ms();
	n = run_loop_for(&s, 3200);
	assert_true(clock_mono_ms() - t0 < 4500);
	/* At 0, 1, 2 and 3 s. */
	assert_true(n >= 3);
	assert_true(h.nreq >= 1); /* the call in flight */
	st = status_of(&s);
	o = json_array_get(member(st, "sources"), source_index(&s, "cw"));
	assert_int_equal(json_integer_value(member(o, "last_ok_ms")), 0);
	assert_int_equal(json_integer_value(member(o, "failures")), 0);
	o = json_array_get(member(st, "sources"), source_index(&s, "fast"));
	assert_true(json_integer_value(member(o, "last_ok_ms")) > 0);
	json_decref(st);

	t0 = clock_mono_ms();
	sched_close(&s);
	assert_true(clock_mono_ms() - t0 < 2500);
	fake_httpd_stop(&h);
}

/*
 * An endpoint that refuses every call: the failures reach the source's
 * status through the scheduler, and the thread backs off (tries at 0, 2,
 * 6 s: two in 4 s, not four).
 */
static void
test_net_thread_failing(void **state)
{
	struct fake_httpd h;
	struct sched s;
	json_t *st, *o;
	unsigned n;

	(void)state;
	set_load("1.00");
	assert_int_equal(fake_httpd_start(&h), 0);
	h.status = 403;
	h.body = "<ErrorResponse><Error><Type>Sender</Type>"
		 "<Code>AccessDenied</Code><Message>no</Message></Error>"
		 "</ErrorResponse>";
	write_net_conf(&h);
	sched_open(&s);
	n = run_loop_for(&s, 4000);
	assert_true(n >= 3);
	st = status_of(&s);
	o = json_array_get(member(st, "sources"), source_index(&s, "cw"));
	assert_int_equal(json_integer_value(member(o, "failures")), 2);
	assert_non_null(strstr(json_string_value(member(o, "last_error")),
	    "AccessDenied"));
	assert_int_equal(source_named(&s, "cw")->cur_interval_ms, 4000);
	json_decref(st);
	sched_close(&s);
	fake_httpd_stop(&h);
}

/* Remove the folder, and a child a failed test_run_signals left. */
static int
teardown(void **state)
{
	if (daemon_pid > 0) {
		(void)kill(daemon_pid, SIGKILL);
		(void)waitpid(daemon_pid, NULL, 0);
	}
	return tu_tmpdir_teardown(state);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_next_wake),
		cmocka_unit_test(test_next_wake_rules_jobs),
		cmocka_unit_test(test_backoff),
		cmocka_unit_test(test_reload),
		cmocka_unit_test(test_status),
		cmocka_unit_test(test_history),
		cmocka_unit_test(test_requests),
		cmocka_unit_test(test_wake_pipe),
		cmocka_unit_test(test_run_signals),
		cmocka_unit_test(test_net_thread_slow),
		cmocka_unit_test(test_net_thread_failing),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
