/*
 * test_jobs.c: backup jobs inside the daemon (agent/jobs.c): a scheduled
 * run missed while the host was off runs once at start-up, a running job is
 * not started twice, and every job publishes the readings rules alert on.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/jobs.h"
#include "agent/runconf.h"
#include "lib/clock.h"

#include "fakes/testutil.h"

static struct runconf *
load(const char *settings)
{
	struct conf_errs e = { 0 };
	struct runconf *rc = NULL;
	const char *t = tu_tmpdir(), *path;
	char text[1024];

	snprintf(text, sizeof(text),
	    "agent = { state_dir = \"%s/state\"; hostname = \"h\"; };\n"
	    "storage = { here = { type = \"local\"; path = \"%s/store\"; }; "
	    "};\n"
	    "backups = ( { name = \"j\"; paths = [ \"%s/src\" ];\n"
	    "  storage = \"here\"; key_file = \"%s/k\"; create_key = true;\n"
	    "  %s } );\n",
	    t, t, t, t, settings);
	path = tu_write_conf("vigil.conf", text, 0600);
	if (runconf_load(path, &rc, &e) != 0) {
		for (size_t i = 0; i < e.n; i++)
			fprintf(stderr, "%s\n", e.msgs[i]);
		fail_msg("config rejected");
	}
	return rc;
}

/* Wait until a run ends and reap it. */
static void
wait_run(struct jobs *j)
{
	struct pollfd p = { .fd = jobs_fd(j), .events = POLLIN };

	assert_int_equal(poll(&p, 1, 30000), 1);
	jobs_reap(j);
}

static double
reading(const struct metric_batch *b, const char *name, int *found)
{
	for (size_t i = 0; i < b->n; i++) {
		if (strcmp(b->v[i].name, name) == 0) {
			*found = 1;
			return b->v[i].value;
		}
	}
	*found = 0;
	return -1;
}

static int
is_running(struct jobs *j)
{
	json_t *st = jobs_status(j, clock_wall_ms());
	int r = json_is_true(json_object_get(json_array_get(st, 0),
	    "running"));

	json_decref(st);
	return r;
}

static void
test_manual_run_and_metrics(void **state)
{
	/* The hook keeps the run going long enough to start it again. */
	struct runconf *rc = load("pre_hook = \"sleep 1\";");
	struct jobs *j;
	struct metric_batch b;
	struct ag_err err = { "" };
	int found;
	char path[128];

	(void)state;
	snprintf(path, sizeof(path), "%s/state", tu_tmpdir());
	assert_non_null(j = jobs_new(path, "h"));
	jobs_configure(j, rc, clock_wall_ms());
	/* No schedule: never due by itself. */
	assert_int_equal(jobs_tick(j, clock_wall_ms()), INT64_MAX);
	assert_int_equal(jobs_start(j, "nope", &err), -1);
	assert_non_null(strstr(err.msg, "no backup job named \"nope\""));

	metric_batch_init(&b, 100);
	b.now_ms = clock_wall_ms();
	jobs_metrics(j, &b);
	assert_true(reading(&b, "backup.j.failed", &found) == 0 && found);
	assert_true(reading(&b, "backup.j.running", &found) == 0 && found);
	(void)reading(&b, "backup.j.last_bytes", &found);
	assert_false(found); /* no success yet */

	assert_int_equal(jobs_start(j, "j", &err), 0);
	/* Started again while it runs: refused, not queued twice. */
	assert_true(is_running(j));
	assert_int_equal(jobs_start(j, "j", &err), 1);
	assert_non_null(strstr(err.msg, "running already"));
	wait_run(j);
	assert_false(is_running(j));

	metric_batch_reset(&b);
	b.now_ms = clock_wall_ms();
	jobs_metrics(j, &b);
	assert_true(reading(&b, "backup.j.failed", &found) == 0 && found);
	assert_true(reading(&b, "backup.j.last_bytes", &found) == 6 && found);
	assert_true(reading(&b, "backup.j.last_files", &found) == 1 && found);
	assert_true(reading(&b, "backup.j.last_success_age_s", &found) < 60 &&
	    found);
	metric_batch_free(&b);
	jobs_free(j);
	runconf_free(rc);
}

static void
test_missed_run_at_startup(void **state)
{
	struct runconf *rc = load("schedule = \"every 1h\";");
	struct jobs *j;
	json_t *st;
	char path[128];
	int64_t now = clock_wall_ms();
	const char *id1, *id2;
	char first[64];

	(void)state;
	snprintf(path, sizeof(path), "%s/state", tu_tmpdir());
	/* The last run is the one of the test before, just now. */
	assert_non_null(j = jobs_new(path, "h"));
	jobs_configure(j, rc, now);
	st = jobs_status(j, now);
	id1 = json_string_value(json_object_get(
	    json_object_get(json_array_get(st, 0), "last_run"), "id"));
	assert_non_null(id1);
	snprintf(first, sizeof(first), "%s", id1);
	json_decref(st);
	/* Nothing was missed: the next run is in the future. */
	assert_true(jobs_tick(j, now) > now);
	assert_false(is_running(j));
	jobs_free(j);

	/* The host was off for two hours: one catch-up run at start-up. */
	assert_non_null(j = jobs_new(path, "h"));
	jobs_configure(j, rc, now + 2 * 3600 * 1000);
	(void)jobs_tick(j, now + 2 * 3600 * 1000);
	wait_run(j);
	st = jobs_status(j, now);
	id2 = json_string_value(json_object_get(
	    json_object_get(json_array_get(st, 0), "last_run"), "id"));
	assert_non_null(id2);
	assert_string_not_equal(first, id2);
	assert_true(json_is_true(json_object_get(
	    json_object_get(json_array_get(st, 0), "last_run"), "ok")));
	json_decref(st);
	/* Once only: the next tick at the same time starts nothing. */
	(void)jobs_tick(j, now + 2 * 3600 * 1000);
	assert_false(is_running(j));
	jobs_free(j);
	runconf_free(rc);
}

static int
setup(void **state)
{
	char path[128];

	if (tu_tmpdir_setup(state) != 0)
		return -1;
	snprintf(path, sizeof(path), "%s/src", tu_tmpdir());
	if (mkdir(path, 0700) != 0)
		return -1;
	snprintf(path, sizeof(path), "%s/src/hello", tu_tmpdir());
	tu_write_file(path, "hello\n", 6, 0644);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_manual_run_and_metrics),
		cmocka_unit_test(test_missed_run_at_startup),
	};

	return cmocka_run_group_tests(tests, setup, tu_tmpdir_teardown);
}
