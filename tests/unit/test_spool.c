/*
 * test_spool.c: the durable notification queue: order, per-notifier FIFO
 * with independent backoff, persistence across close/open and across a
 * killed process, damaged files moved aside, the size cap, the backoff
 * bounds and jitter.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent/notify.h"
#include "agent/spool.h"
#include "tests/unit/fakes/testutil.h"

static char dir[128];
static int ndir;

/* A fresh spool directory per test. */
static int
fresh(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "%s/s%d/spool", tu_tmpdir(), ndir++);
	return 0;
}

static struct notification
notif(const char *rule, int k)
{
	struct notification n;

	memset(&n, 0, sizeof(n));
	snprintf(n.id, sizeof(n.id), "id-%s-%d", rule, k);
	snprintf(n.host, sizeof(n.host), "web1");
	snprintf(n.rule, sizeof(n.rule), "%s", rule);
	snprintf(n.metric, sizeof(n.metric), "disk./var.used_pct");
	snprintf(n.op, sizeof(n.op), ">=");
	n.state = ST_WARNING;
	n.prev_state = ST_OK;
	n.has_value = true;
	n.value = 80.5 + k;
	n.has_threshold = true;
	n.threshold = 80;
	n.ts_ms = 1795316400123LL + k;
	n.since_ms = 1795316400000LL;
	n.repeat_ms = 60000;
	return n;
}

static void
put(struct spool *sp, const char *notifier, const char *rule, int k)
{
	struct notification n = notif(rule, k);

	assert_int_equal(spool_put(sp, notifier, &n), 0);
}

/* spool_next() must return an entry for ${notifier} with id ${id}. */
static uint64_t
expect_next(struct spool *sp, int64_t now, const char *notifier,
    const char *id)
{
	struct spool_entry e;
	int64_t wait = 12345;

	assert_int_equal(spool_next(sp, now, &e, &wait), 1);
	assert_string_equal(e.notifier, notifier);
	assert_string_equal(e.n.id, id);
	return e.seq;
}

static int64_t
expect_none(struct spool *sp, int64_t now)
{
	struct spool_entry e;
	int64_t wait = 12345;

	assert_int_equal(spool_next(sp, now, &e, &wait), 0);
	return wait;
}

static size_t
count_files(const char *d, const char *suffix)
{
	struct dirent *de;
	size_t n = 0;
	DIR *dp;

	if ((dp = opendir(d)) == NULL)
		return 0;
	while ((de = readdir(dp)) != NULL) {
		size_t l = strlen(de->d_name), sl = strlen(suffix);

		if (l > sl && strcmp(de->d_name + l - sl, suffix) == 0)
			n++;
	}
	closedir(dp);
	return n;
}

static void
test_order(void **state)
{
	struct spool *sp;
	struct stat st;
	uint64_t s;

	(void)state;
	assert_int_equal(spool_open(dir, 100, &sp), 0);
	assert_int_equal(stat(dir, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	assert_int_equal(expect_none(sp, 0), -1);

	put(sp, "a", "r", 1);
	put(sp, "b", "r", 2);
	put(sp, "a", "r", 3);
	assert_int_equal(spool_depth(sp), 3);
	assert_int_equal(spool_depth_for(sp, "a"), 2);
	assert_int_equal(spool_depth_for(sp, "b"), 1);
	assert_int_equal(spool_depth_for(sp, "c"), 0);
	assert_int_equal(count_files(dir, ".json"), 3);

	/* Until done, the same entry comes back. */
	s = expect_next(sp, 0, "a", "id-r-1");
	assert_int_equal(expect_next(sp, 0, "a", "id-r-1"), s);
	assert_int_equal(spool_done(sp, s), 0);
	assert_int_equal(spool_done(sp, s), -1);
	s = expect_next(sp, 0, "b", "id-r-2");
	assert_int_equal(spool_done(sp, s), 0);
	s = expect_next(sp, 0, "a", "id-r-3");
	assert_int_equal(spool_done(sp, s), 0);
	assert_int_equal(expect_none(sp, 0), -1);
	assert_int_equal(spool_depth(sp), 0);
	assert_int_equal(count_files(dir, ".json"), 0);

	/* Names no entry can carry. */
	{
		struct notification n = notif("r", 0);
		char longname[100];

		memset(longname, 'x', sizeof(longname) - 1);
		longname[sizeof(longname) - 1] = '\0';
		assert_int_equal(spool_put(sp, longname, &n), -1);
		assert_int_equal(spool_put(sp, "", &n), -1);
	}
	spool_close(sp);
	spool_close(NULL);
}

static void
test_retry_blocks_only_its_notifier(void **state)
{
	struct spool *sp;
	struct spool_entry e;
	uint64_t a1, b1;
	int64_t w, now = 1000000;

	(void)state;
	assert_int_equal(spool_open(dir, 100, &sp), 0);
	put(sp, "a", "r", 1);
	put(sp, "a", "r", 2);
	put(sp, "b", "r", 3);

	a1 = expect_next(sp, now, "a", "id-r-1");
	spool_retry(sp, a1, now);
	/* a's second entry waits behind its first; b goes ahead. */
	b1 = expect_next(sp, now, "b", "id-r-3");
	assert_int_equal(spool_done(sp, b1), 0);
	w = expect_none(sp, now);
	assert_true(w >= 800 && w <= 1200);
	assert_int_equal(expect_next(sp, now + 1300, "a", "id-r-1"), a1);
	assert_int_equal(spool_next(sp, now + 1300, &e, &w), 1);
	assert_int_equal(e.attempts, 1);

	/* Growing delays. */
	spool_retry(sp, a1, now);
	spool_retry(sp, a1, now);
	w = expect_none(sp, now);
	assert_true(w >= 3200 && w <= 4800);

	/* A new entry for b is not held up by a. */
	put(sp, "b", "r", 4);
	b1 = expect_next(sp, now, "b", "id-r-4");
	assert_int_equal(spool_done(sp, b1), 0);

	spool_retry_now(sp, "b");
	(void)expect_none(sp, now);
	spool_retry_now(sp, "a");
	assert_int_equal(expect_next(sp, now, "a", "id-r-1"), a1);
	spool_retry(sp, a1, now);
	(void)expect_none(sp, now);
	spool_retry_now(sp, NULL);
	assert_int_equal(expect_next(sp, now, "a", "id-r-1"), a1);
	spool_retry(sp, 999999, now);	/* unknown: ignored */
	spool_close(sp);
}

static void
test_persistence(void **state)
{
	struct notification want = notif("disk", 7);
	struct spool_entry e;
	struct spool *sp, *sp2;
	uint64_t last;
	int64_t w;

	(void)state;
	assert_int_equal(spool_open(dir, 100, &sp), 0);
	put(sp, "oncall", "disk", 7);
	put(sp, "pager", "cpu", 8);
	put(sp, "oncall", "mem", 9);
	/* A second daemon cannot share the spool. */
	assert_int_equal(spool_open(dir, 100, &sp2), -1);
	/* Taken but never done: a crash before delivery. */
	(void)expect_next(sp, 0, "oncall", "id-disk-7");
	spool_close(sp);

	assert_int_equal(spool_open(dir, 100, &sp), 0);
	assert_int_equal(spool_depth(sp), 3);
	assert_int_equal(spool_next(sp, 0, &e, &w), 1);
	assert_string_equal(e.notifier, "oncall");
	assert_int_equal(e.attempts, 0);
	assert_string_equal(e.n.id, want.id);
	assert_string_equal(e.n.host, want.host);
	assert_string_equal(e.n.rule, want.rule);
	assert_string_equal(e.n.metric, want.metric);
	assert_string_equal(e.n.op, want.op);
	assert_int_equal(e.n.state, want.state);
	assert_int_equal(e.n.prev_state, want.prev_state);
	assert_true(e.n.value == want.value);
	assert_true(e.n.threshold == want.threshold);
	assert_int_equal(e.n.ts_ms, want.ts_ms);
	assert_int_equal(e.n.since_ms, want.since_ms);
	assert_int_equal(e.n.repeat_ms, want.repeat_ms);
	assert_int_equal(spool_done(sp, e.seq), 0);
	last = expect_next(sp, 0, "pager", "id-cpu-8");
	assert_int_equal(spool_done(sp, last), 0);
	last = expect_next(sp, 0, "oncall", "id-mem-9");

	/* Numbering goes on after the highest entry found. */
	put(sp, "pager", "x", 10);
	assert_int_equal(spool_done(sp, last), 0);
	assert_true(expect_next(sp, 0, "pager", "id-x-10") > last);
	spool_close(sp);
}

static void
write_file(const char *name, const char *text)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	tu_write_file(path, text, strlen(text), 0644);
}

static void
test_corrupt_moved_aside(void **state)
{
	struct spool *sp;
	char bad[256], path[256];
	struct stat st;

	(void)state;
	assert_int_equal(spool_open(dir, 100, &sp), 0);
	put(sp, "a", "r", 1);		/* seq 0 */
	put(sp, "a", "r", 2);		/* seq 1 */
	spool_close(sp);
	write_file("0000000000000002.json", "garbage{");
	write_file("0000000000000003.json", "{\"notifier\":\"a\","
	    "\"notification\":{\"version\":1}}");
	write_file("0000000000000004.json", "");
	write_file("0000000000000005.json.tmp", "{half");
	write_file("README", "not ours");
	snprintf(path, sizeof(path), "%s/0000000000000001.json", dir);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);

	assert_int_equal(spool_open(dir, 100, &sp), 0);
	assert_int_equal(spool_depth(sp), 2);
	snprintf(bad, sizeof(bad), "%s/bad", dir);
	assert_int_equal(count_files(bad, ".json"), 3);
	assert_int_equal(count_files(dir, ".tmp"), 0);
	snprintf(path, sizeof(path), "%s/README", dir);
	assert_int_equal(access(path, F_OK), 0);
	/* The damaged files' numbers are not reused. */
	put(sp, "a", "r", 3);
	snprintf(path, sizeof(path), "%s/0000000000000005.json", dir);
	assert_int_equal(access(path, F_OK), 0);
	spool_close(sp);
}

static void
test_full_drops_oldest(void **state)
{
	struct spool *sp;
	uint64_t s;

	(void)state;
	assert_int_equal(spool_open(dir, 3, &sp), 0);
	for (int k = 1; k <= 5; k++)
		put(sp, k % 2 ? "a" : "b", "r", k);
	assert_int_equal(spool_depth(sp), 3);
	assert_int_equal(spool_dropped(sp), 2);
	assert_int_equal(count_files(dir, ".json"), 3);
	s = expect_next(sp, 0, "a", "id-r-3");
	assert_int_equal(spool_done(sp, s), 0);
	s = expect_next(sp, 0, "b", "id-r-4");
	assert_int_equal(spool_done(sp, s), 0);
	s = expect_next(sp, 0, "a", "id-r-5");
	spool_close(sp);

	/* A smaller maximum on open keeps the newest. */
	assert_int_equal(spool_open(dir, 1, &sp), 0);
	assert_int_equal(spool_depth(sp), 1);
	spool_close(sp);
	assert_int_equal(spool_open(dir, 0, &sp), -1);
}

static void
test_backoff(void **state)
{
	int64_t lo, hi, d, first = -1;
	int distinct = 0;

	(void)state;
	for (unsigned a = 0; a <= 40; a++) {
		int64_t base = SPOOL_BACKOFF_MIN_MS;

		for (unsigned i = 1; i < a && base < SPOOL_BACKOFF_MAX_MS; i++)
			base *= 2;
		if (base > SPOOL_BACKOFF_MAX_MS)
			base = SPOOL_BACKOFF_MAX_MS;
		lo = base * 8 / 10;
		hi = base * 12 / 10;
		if (hi > SPOOL_BACKOFF_MAX_MS)
			hi = SPOOL_BACKOFF_MAX_MS;
		for (int k = 0; k < 50; k++) {
			d = spool_backoff_ms(a);
			assert_true(d >= lo && d <= hi);
		}
	}
	/* Capped: never more than 5 min, at least 4 min at the cap. */
	for (int k = 0; k < 200; k++) {
		d = spool_backoff_ms(1000000);
		assert_true(d >= SPOOL_BACKOFF_MAX_MS * 8 / 10);
		assert_true(d <= SPOOL_BACKOFF_MAX_MS);
	}
	/* Jitter: delays differ. */
	for (int k = 0; k < 50; k++) {
		d = spool_backoff_ms(4);
		if (first < 0)
			first = d;
		else if (d != first)
			distinct++;
	}
	assert_true(distinct > 10);
	/* Grows: the lowest of attempt n+1 beats the highest of n-1. */
	assert_true(spool_backoff_ms(3) * 10 / 12 > spool_backoff_ms(1));
}

static void
test_killed_writer(void **state)
{
	struct spool *sp;
	char bad[256];
	int pfd[2], st, acks = 0;
	pid_t pid;
	char c;

	(void)state;
	/* A child that puts entries and exits without closing anything. */
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (spool_open(dir, 1000, &sp) != 0)
			_exit(1);
		for (int k = 0; k < 5; k++) {
			struct notification n = notif("child", k);

			if (spool_put(sp, "a", &n) != 0)
				_exit(2);
		}
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	assert_int_equal(spool_open(dir, 1000, &sp), 0);
	assert_int_equal(spool_depth(sp), 5);
	spool_close(sp);

	/* A child killed -9 in the middle of writing. */
	assert_int_equal(pipe(pfd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(pfd[0]);
		if (spool_open(dir, 100000, &sp) != 0)
			_exit(1);
		for (int k = 0;; k++) {
			struct notification n = notif("kill", k);

			if (spool_put(sp, k % 3 ? "a" : "b", &n) != 0)
				_exit(2);
			if (write(pfd[1], "x", 1) != 1)
				_exit(3);
		}
	}
	close(pfd[1]);
	while (acks < 20 && read(pfd[0], &c, 1) == 1)
		acks++;
	assert_int_equal(kill(pid, SIGKILL), 0);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	close(pfd[0]);
	assert_int_equal(acks, 20);

	/* Every acknowledged put is there, nothing is damaged. */
	assert_int_equal(spool_open(dir, 100000, &sp), 0);
	assert_true(spool_depth(sp) >= 5 + 20);
	snprintf(bad, sizeof(bad), "%s/bad", dir);
	assert_int_equal(count_files(bad, ".json"), 0);
	assert_int_equal(count_files(dir, ".tmp"), 0);
	for (int k = 0; k < 5; k++) {
		char id[40];

		snprintf(id, sizeof(id), "id-child-%d", k);
		assert_int_equal(spool_done(sp, expect_next(sp, 0, "a", id)),
		    0);
	}
	(void)expect_next(sp, 0, "b", "id-kill-0");
	spool_close(sp);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_order, fresh),
		cmocka_unit_test_setup(test_retry_blocks_only_its_notifier,
		    fresh),
		cmocka_unit_test_setup(test_persistence, fresh),
		cmocka_unit_test_setup(test_corrupt_moved_aside, fresh),
		cmocka_unit_test_setup(test_full_drops_oldest, fresh),
		cmocka_unit_test(test_backoff),
		cmocka_unit_test_setup(test_killed_writer, fresh),
	};

	return cmocka_run_group_tests(tests, tu_tmpdir_setup,
	    tu_tmpdir_teardown);
}
