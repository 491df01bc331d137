/*
 * test_sender.c: the sender thread over a real spool and real notifiers,
 * with two receivers on 127.0.0.1 (fakes/fake_httpd.c): one that reads a
 * request and never answers ("hang"), one that answers 200 ("ok").  The
 * healthy notifier gets every alert while the other's request hangs, in
 * order, and so does the log notifier; the hanging notifier's entries stay
 * queued; stopping cancels the hanging request within the flush time,
 * keeps its entry, and the next sender delivers it once the receiver
 * answers.  sender_recent() keeps what was delivered and what was refused
 * for good (dropped, with the reason); sender_notifier_state() each
 * notifier's last failure (its message) and last delivery, which `vigil
 * status` shows.  Deadlines below are bounds on delivery under a hung
 * peer (a blocking sender takes the 60 s timeout), not speed
 * measurements.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/clock.h"
#include "agent/runconf.h"
#include "agent/sender.h"
#include "agent/spool.h"
#include "tests/unit/fakes/fake_httpd.h"
#include "tests/unit/fakes/testutil.h"

/* 2026-11-22T03:00:00.123Z */
#define T0 1795316400123LL

/* The bound on delivery to the healthy receiver while the other hangs. */
#define HEALTHY_DEADLINE_MS 2000

static struct fake_httpd HANG, OK;

static int
setup(void **state)
{
	if (tu_tmpdir_setup(state) != 0)
		return -1;
	if (fake_httpd_start(&HANG) != 0 || fake_httpd_start(&OK) != 0)
		return -1;
	HANG.silent = 1;
	return 0;
}

static int
teardown(void **state)
{
	fake_httpd_stop(&HANG);
	fake_httpd_stop(&OK);
	return tu_tmpdir_teardown(state);
}

/* The runconf: "hang" (timeout 60 s), "ok" and a log notifier "note". */
static struct runconf *
load_runconf(void)
{
	struct conf_errs e = { 0 };
	struct runconf *rc = NULL;
	char text[1024];
	const char *path;

	snprintf(text, sizeof(text),
	    "agent = { state_dir = \"%s/state\"; };\n"
	    "notifiers = (\n"
	    "  { name = \"hang\"; type = \"webhook\"; "
	    "url = \"http://127.0.0.1:%d/h\"; timeout = \"60s\"; },\n"
	    "  { name = \"ok\"; type = \"webhook\"; "
	    "url = \"http://127.0.0.1:%d/o\"; timeout = \"60s\"; },\n"
	    "  { name = \"note\"; type = \"log\"; }\n"
	    ");\n",
	    tu_tmpdir(), HANG.port, OK.port);
	path = tu_write_conf("sender.conf", text, 0600);
	if (runconf_load(path, &rc, &e) != 0) {
		for (size_t i = 0; i < e.n; i++)
			fprintf(stderr, "%s\n", e.msgs[i]);
		fail_msg("runconf_load failed");
	}
	conf_errs_free(&e);
	return rc;
}

/* Notification number ${i}, with an id of its own. */
static struct notification
nth(int i)
{
	struct notification n = tu_notification_firing(T0 + i);

	snprintf(n.id, sizeof(n.id), "test-%d", i);
	return n;
}

/* Poll until ${cond}(${arg}) or ${ms} passed; return whether it held. */
static int
wait_until(int (*cond)(void *), void *arg, int64_t ms)
{
	int64_t end = clock_mono_ms() + ms;

	while (!cond(arg)) {
		if (clock_mono_ms() >= end)
			return 0;
		clock_sleep_ms(10);
	}
	return 1;
}

struct want {
	struct spool *sp;
	const char *notifier;
	size_t depth;
};

static int
depth_is(void *arg)
{
	struct want *w = arg;

	return spool_depth_for(w->sp, w->notifier) == w->depth;
}

static int
hang_got_one(void *arg)
{
	(void)arg;
	return HANG.nreq >= 1;
}

static void
test_hanging_receiver_delays_only_its_queue(void **state)
{
	char dir[512];
	struct notification n;
	struct spool *sp;
	struct sender *s;
	struct want ok_empty, note_empty;
	int64_t t;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/spool1", tu_tmpdir());
	assert_int_equal(spool_open(dir, 1000, &sp), 0);

	/* The hanging notifier's entry is the oldest of all. */
	n = nth(0);
	assert_int_equal(spool_put(sp, "hang", &n), 0);
	for (int i = 1; i <= 5; i++) {
		n = nth(i);
		assert_int_equal(spool_put(sp, "ok", &n), 0);
		assert_int_equal(spool_put(sp, "note", &n), 0);
	}
	assert_non_null(s = sender_start(sp, load_runconf()));
	sender_wake(s);

	ok_empty = (struct want){ sp, "ok", 0 };
	note_empty = (struct want){ sp, "note", 0 };
	assert_true(wait_until(hang_got_one, NULL, HEALTHY_DEADLINE_MS));
	assert_true(wait_until(depth_is, &ok_empty, HEALTHY_DEADLINE_MS));
	assert_true(wait_until(depth_is, &note_empty, HEALTHY_DEADLINE_MS));
	assert_int_equal(OK.nreq, 5);
	/* In order: the last one the receiver got is the newest. */
	assert_string_equal(fake_httpd_req_header(&OK, "X-Vigil-Id"),
	    "test-5");

	/* New alerts, while the request to "hang" is still in flight. */
	t = clock_mono_ms();
	for (int i = 6; i <= 8; i++) {
		n = nth(i);
		assert_int_equal(spool_put(sp, "ok", &n), 0);
		assert_int_equal(spool_put(sp, "hang", &n), 0);
	}
	sender_wake(s);
	assert_true(wait_until(depth_is, &ok_empty, HEALTHY_DEADLINE_MS));
	assert_true(clock_mono_ms() - t < HEALTHY_DEADLINE_MS);
	assert_int_equal(OK.nreq, 8);
	assert_string_equal(fake_httpd_req_header(&OK, "X-Vigil-Id"),
	    "test-8");

	/* "hang" had one request, its head; all four entries wait. */
	assert_int_equal(HANG.nreq, 1);
	assert_string_equal(fake_httpd_req_header(&HANG, "X-Vigil-Id"),
	    "test-0");
	assert_int_equal(spool_depth_for(sp, "hang"), 4);

	/* Stop: the hanging request is cancelled within the flush time. */
	t = clock_mono_ms();
	sender_stop(s, 500);
	assert_true(clock_mono_ms() - t < 10000);
	assert_int_equal(spool_depth_for(sp, "hang"), 4);
	spool_close(sp);
}

static int
hang_got(void *arg)
{
	return HANG.nreq >= *(int *)arg;
}

static void
test_stop_keeps_what_hangs(void **state)
{
	char dir[512];
	struct notification n = nth(100);
	struct spool *sp;
	struct sender *s;
	struct want hang_empty;
	int64_t t;
	int before, want;

	(void)state;
	HANG.silent = 1;
	before = HANG.nreq;
	snprintf(dir, sizeof(dir), "%s/spool2", tu_tmpdir());
	assert_int_equal(spool_open(dir, 1000, &sp), 0);
	assert_int_equal(spool_put(sp, "hang", &n), 0);
	assert_non_null(s = sender_start(sp, load_runconf()));
	sender_wake(s);
	want = before + 1;
	assert_true(wait_until(hang_got, &want, HEALTHY_DEADLINE_MS));

	/* The notifier's timeout is 60 s; stopping does not wait for it. */
	t = clock_mono_ms();
	sender_stop(s, 1000);
	assert_true(clock_mono_ms() - t < 10000);
	spool_close(sp);

	/* After a restart it is still there, and goes once the peer answers. */
	HANG.silent = 0;
	HANG.status = 200;
	assert_int_equal(spool_open(dir, 1000, &sp), 0);
	assert_int_equal(spool_depth_for(sp, "hang"), 1);
	assert_non_null(s = sender_start(sp, load_runconf()));
	sender_wake(s);
	hang_empty = (struct want){ sp, "hang", 0 };
	assert_true(wait_until(depth_is, &hang_empty, 10000));
	assert_int_equal(HANG.nreq, before + 2);
	assert_string_equal(fake_httpd_req_header(&HANG, "X-Vigil-Id"),
	    "test-100");
	sender_stop(s, 1000);
	spool_close(sp);
	HANG.silent = 1;
}

static int
state_has(void *arg)
{
	struct sender_nstate ns;
	struct sender *s = ((void **)arg)[0];
	const int *which = ((void **)arg)[1];

	(void)sender_notifier_state(s, "ok", &ns);
	return *which == 0 ? ns.last_err_ms > 0 : ns.last_ok_ms > 0;
}

static void
test_notifier_state(void **state)
{
	char dir[512];
	struct notification n = nth(300);
	struct sender_nstate ns;
	struct spool *sp;
	struct sender *s;
	int which = 0;
	void *arg[2];

	(void)state;
	snprintf(dir, sizeof(dir), "%s/spool4", tu_tmpdir());
	assert_int_equal(spool_open(dir, 1000, &sp), 0);
	assert_int_equal(spool_put(sp, "ok", &n), 0);
	OK.status = 500;
	assert_non_null(s = sender_start(sp, load_runconf()));
	arg[0] = s;
	arg[1] = &which;
	assert_int_equal(sender_notifier_state(s, "ok", &ns), 0);
	assert_int_equal(ns.last_err_ms, 0);
	sender_wake(s);
	assert_true(wait_until(state_has, arg, HEALTHY_DEADLINE_MS));
	assert_int_equal(sender_notifier_state(s, "ok", &ns), 1);
	assert_int_equal(ns.last_ok_ms, 0);
	assert_true(ns.last_err_ms >= clock_wall_ms() - 10000);
	assert_non_null(strstr(ns.last_err, "HTTP 500"));
	assert_int_equal(spool_depth_for(sp, "ok"), 1);

	/* The receiver is back: delivered, the failure kept, older. */
	OK.status = 200;
	spool_retry_now(sp, NULL);
	sender_wake(s);
	which = 1;
	assert_true(wait_until(state_has, arg, 10000));
	assert_int_equal(sender_notifier_state(s, "ok", &ns), 1);
	assert_true(ns.last_ok_ms >= ns.last_err_ms);
	assert_non_null(strstr(ns.last_err, "HTTP 500"));
	assert_int_equal(sender_notifier_state(s, "hang", &ns), 0);
	sender_stop(s, 1000);
	spool_close(sp);
}

/* The settled entry of ${arr} for ${notifier}, which must be there. */
static json_t *
settled_for(json_t *arr, const char *notifier)
{
	for (size_t i = 0; i < json_array_size(arr); i++) {
		json_t *o = json_array_get(arr, i);

		if (strcmp(json_string_value(json_object_get(o, "notifier")),
			notifier) == 0)
			return o;
	}
	fail_msg("nothing settled for %s", notifier);
	return NULL;
}

/*
 * sender_recent(): what was delivered and what was refused for good (a
 * 400: dropped, with the reason), not what waits for a retry.
 */
static void
test_recent(void **state)
{
	char dir[512];
	struct notification a = nth(200), b = nth(201);
	struct spool *sp;
	struct sender *s;
	struct want ok_empty, note_empty;
	json_t *arr, *o;

	(void)state;
	OK.status = 400;
	snprintf(dir, sizeof(dir), "%s/spool3", tu_tmpdir());
	assert_int_equal(spool_open(dir, 1000, &sp), 0);
	assert_non_null(s = sender_start(sp, load_runconf()));
	arr = sender_recent(s);
	assert_int_equal(json_array_size(arr), 0);
	json_decref(arr);
	assert_int_equal(spool_put(sp, "note", &a), 0);
	assert_int_equal(spool_put(sp, "ok", &b), 0);
	sender_wake(s);
	ok_empty = (struct want){ sp, "ok", 0 };
	note_empty = (struct want){ sp, "note", 0 };
	assert_true(wait_until(depth_is, &ok_empty, 10000));
	assert_true(wait_until(depth_is, &note_empty, 10000));

	arr = sender_recent(s);
	assert_int_equal(json_array_size(arr), 2);
	o = settled_for(arr, "note");
	assert_string_equal(json_string_value(json_object_get(o, "result")),
	    "delivered");
	assert_string_equal(json_string_value(json_object_get(o, "id")),
	    "test-200");
	assert_null(json_object_get(o, "error"));
	assert_string_equal(json_string_value(json_object_get(o, "time")),
	    "2026-11-22T03:00:00.323Z");
	o = settled_for(arr, "ok");
	assert_string_equal(json_string_value(json_object_get(o, "result")),
	    "dropped");
	assert_string_equal(json_string_value(json_object_get(o, "id")),
	    "test-201");
	assert_non_null(strstr(json_string_value(json_object_get(o, "error")),
	    "400"));
	assert_int_equal(json_integer_value(json_object_get(o, "attempts")),
	    1);
	json_decref(arr);
	sender_stop(s, 1000);
	spool_close(sp);
	OK.status = 200;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hanging_receiver_delays_only_its_queue),
		cmocka_unit_test(test_stop_keeps_what_hangs),
		cmocka_unit_test(test_notifier_state),
		cmocka_unit_test(test_recent),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
