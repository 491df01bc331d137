/*
 * test_spool.c: the durable notification queue: order, per-notifier FIFO
 * with independent backoff, persistence across close/open and across a
 * killed process, damaged files moved aside, the size cap, the backoff
 * bounds and jitter; strict entry names and no sequence wrap; entries held
 * in memory while the disk refuses writes (RLIMIT_FSIZE makes every write
 * fail with EFBIG, as a full disk fails with ENOSPC); drops counted by rule
 * and series and logged once a minute; entries of removed notifiers kept
 * aside, listed, re-routed and dropped (`vigil queue`).
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/resource.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/clock.h"
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
	spool_retry(sp, 999999, now); /* unknown: ignored */
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
	put(sp, "a", "r", 1); /* seq 0 */
	put(sp, "a", "r", 2); /* seq 1 */
	spool_close(sp);
	write_file("0000000000000002.json", "garbage{");
	write_file("0000000000000003.json",
	    "{\"notifier\":\"a\","
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


/*
 * Write a valid entry for ${notifier} (made by a spool in a folder beside)
 * into the spool folder under the name ${to}.
 */
static void
entry_as(const char *notifier, const char *rule, int k, const char *to)
{
	char stage[160], a[256], b[256];
	struct spool *sp;

	snprintf(stage, sizeof(stage), "%s.stage", dir);
	assert_int_equal(spool_open(stage, 100, &sp), 0);
	put(sp, notifier, rule, k);
	spool_close(sp);
	assert_true(mkdir(dir, 0700) == 0 || errno == EEXIST);
	snprintf(a, sizeof(a), "%s/0000000000000000.json", stage);
	snprintf(b, sizeof(b), "%s/%s", dir, to);
	assert_int_equal(rename(a, b), 0);
}

/*
 * A file named ffffffffffffffff.json once made the next number wrap to 0:
 * new entries sorted after it, the head was not found, and one entry was
 * resent forever.  Names out of range, or not exactly 16 lowercase hex
 * digits, are moved aside; new entries come out in order.
 */
static void
test_names_strict_no_wrap(void **state)
{
	static const char *const bad_names[] = {
		"ffffffffffffffff.json",
		"4000000000000000.json",
		"000000000000000A.json",
		"+000000000000001.json",
		"-000000000000001.json",
		" 000000000000001.json",
		"00000000000000001.json",
		"1.json",
		"x.json",
	};
	char bad[256];
	struct spool *sp;
	uint64_t s1, s2;

	(void)state;
	for (size_t i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++)
		entry_as("a", "old", (int)i, bad_names[i]);
	write_file("README.txt", "not ours");
	assert_int_equal(spool_open(dir, 100, &sp), 0);
	assert_int_equal(spool_depth(sp), 0);
	snprintf(bad, sizeof(bad), "%s/bad", dir);
	assert_int_equal(count_files(bad, ".json"),
	    sizeof(bad_names) / sizeof(bad_names[0]));
	assert_int_equal(count_files(dir, ".json"), 0);
	assert_int_equal(count_files(dir, ".txt"), 1);

	put(sp, "a", "new", 1);
	put(sp, "a", "new", 2);
	s1 = expect_next(sp, 0, "a", "id-new-1");
	assert_int_equal(spool_done(sp, s1), 0);
	s2 = expect_next(sp, 0, "a", "id-new-2");
	assert_true(s2 > s1);
	assert_int_equal(spool_done(sp, s2), 0);
	assert_int_equal(expect_none(sp, 0), -1);
	assert_int_equal(count_files(dir, ".json"), 0);
	spool_close(sp);
}

/* Entries numbered high up are renumbered from 0 on open, in order. */
static void
test_renumber_high(void **state)
{
	struct spool *sp;
	char path[256];

	(void)state;
	entry_as("a", "r", 1, "1ffffffffffffffe.json");
	entry_as("a", "r", 2, "2000000000000000.json");
	entry_as("a", "r", 3, "3fffffffffffffff.json");
	assert_int_equal(spool_open(dir, 100, &sp), 0);
	assert_int_equal(spool_depth(sp), 3);
	snprintf(path, sizeof(path), "%s/0000000000000002.json", dir);
	assert_int_equal(access(path, F_OK), 0);
	put(sp, "a", "r", 4);
	snprintf(path, sizeof(path), "%s/0000000000000003.json", dir);
	assert_int_equal(access(path, F_OK), 0);
	for (int k = 1; k <= 4; k++) {
		char id[40];

		snprintf(id, sizeof(id), "id-r-%d", k);
		assert_int_equal(spool_done(sp, expect_next(sp, 0, "a", id)),
		    0);
	}
	assert_int_equal(count_files(dir, ".json"), 0);
	spool_close(sp);
}

/* Make every file write of this process fail (EFBIG), or work again. */
static void
disk_fails(int on)
{
	struct rlimit rl;

	signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &rl), 0);
	rl.rlim_cur = on ? 0 : rl.rlim_max;
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &rl), 0);
}

static json_int_t
status_int(struct spool *sp, const char *key)
{
	json_t *o = spool_status_json(sp);
	json_int_t v;

	assert_non_null(o);
	assert_non_null(json_object_get(o, key));
	v = json_integer_value(json_object_get(o, key));
	json_decref(o);
	return v;
}

/*
 * The disk refuses writes: entries are kept in memory and delivered in
 * order meanwhile, the write errors show, and once the disk takes writes
 * again the entries still queued are written, and survive a restart.
 */
static void
test_write_failure_kept_in_memory(void **state)
{
	struct spool *sp;
	uint64_t s;
	int64_t t;

	(void)state;
	assert_int_equal(spool_open(dir, 100, &sp), 0);
	put(sp, "a", "r", 1); /* on disk */
	disk_fails(1);
	put(sp, "a", "r", 2);
	put(sp, "b", "r", 3);
	put(sp, "a", "r", 4);
	assert_int_equal(spool_depth(sp), 4);
	assert_int_equal(count_files(dir, ".json"), 1);
	assert_int_equal(count_files(dir, ".tmp"), 0);
	assert_true(spool_write_errors(sp) >= 3);
	assert_int_equal(status_int(sp, "unspooled"), 3);
	assert_int_equal(status_int(sp, "dropped"), 0);
	/* Still failing: the tick asks to come back in a second. */
	t = clock_mono_ms() + 5000;
	assert_int_equal(spool_tick(sp, t), t + 1000);
	assert_int_equal(status_int(sp, "unspooled"), 3);

	/* Delivered meanwhile, in order, from disk and from memory. */
	s = expect_next(sp, 0, "a", "id-r-1");
	assert_int_equal(spool_done(sp, s), 0);
	s = expect_next(sp, 0, "a", "id-r-2");
	assert_int_equal(spool_done(sp, s), 0);
	assert_int_equal(count_files(dir, ".json"), 0);

	/* Room again: the tick writes what is left. */
	disk_fails(0);
	assert_int_equal(spool_tick(sp, clock_mono_ms() + 10000), INT64_MAX);
	assert_int_equal(spool_write_errors(sp), 0);
	assert_int_equal(status_int(sp, "unspooled"), 0);
	assert_int_equal(count_files(dir, ".json"), 2);
	spool_close(sp);

	assert_int_equal(spool_open(dir, 100, &sp), 0);
	assert_int_equal(spool_depth(sp), 2);
	s = expect_next(sp, 0, "b", "id-r-3");
	assert_int_equal(spool_done(sp, s), 0);
	s = expect_next(sp, 0, "a", "id-r-4");
	assert_int_equal(spool_done(sp, s), 0);

	/* A put writes older entries first; the error reading clears. */
	disk_fails(1);
	put(sp, "a", "r", 5);
	assert_true(spool_write_errors(sp) > 0);
	disk_fails(0);
	put(sp, "a", "r", 6);
	assert_int_equal(spool_write_errors(sp), 0);
	assert_int_equal(count_files(dir, ".json"), 2);

	/* Nothing held, but the last write failed: a probe clears it. */
	s = expect_next(sp, 0, "a", "id-r-5");
	assert_int_equal(spool_done(sp, s), 0);
	disk_fails(1);
	s = expect_next(sp, 0, "a", "id-r-6");
	assert_int_equal(spool_done(sp, s), 0);
	put(sp, "a", "r", 7);
	s = expect_next(sp, 0, "a", "id-r-7");
	assert_int_equal(spool_done(sp, s), 0);
	assert_true(spool_write_errors(sp) > 0);
	disk_fails(0);
	spool_tick(sp, clock_mono_ms() + 20000);
	assert_int_equal(spool_write_errors(sp), 0);
	assert_int_equal(count_files(dir, ".tmp"), 0);
	spool_close(sp);
}

/* Count the lines of ${path} that contain ${needle}. */
static int
count_lines(const char *path, const char *needle)
{
	char line[4096];
	FILE *f = fopen(path, "r");
	int n = 0;

	assert_non_null(f);
	while (fgets(line, sizeof(line), f) != NULL)
		n += strstr(line, needle) != NULL;
	fclose(f);
	return n;
}

/* Send stderr to ${path} (${path} NULL: back to where it was). */
static void
capture_stderr(const char *path)
{
	static int saved = -1;
	int fd;

	fflush(stderr);
	if (path != NULL) {
		saved = dup(STDERR_FILENO);
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
		    0600);
		assert_true(fd >= 0 && saved >= 0);
		assert_int_equal(dup2(fd, STDERR_FILENO), STDERR_FILENO);
		close(fd);
	} else {
		assert_int_equal(dup2(saved, STDERR_FILENO), STDERR_FILENO);
		close(saved);
	}
}

/*
 * A full spool, also while the disk fails: drops are counted by rule and
 * series, and logged in one summary line a minute, not one per entry.
 */
static void
test_full_counts_and_logs_once_a_minute(void **state)
{
	char logpath[256];
	struct spool *sp;
	json_t *o, *d, *v;
	json_int_t cpu = 0, disk = 0;
	int64_t t;
	size_t i;

	(void)state;
	snprintf(logpath, sizeof(logpath), "%s/full.log", tu_tmpdir());
	capture_stderr(logpath);
	assert_int_equal(spool_open(dir, 3, &sp), 0);
	for (int k = 0; k < 40; k++) {
		struct notification n = notif(k % 4 ? "cpu" : "disk", k);

		if (k == 20)
			disk_fails(1);
		snprintf(n.metric, sizeof(n.metric), "%s.used_pct", n.rule);
		assert_int_equal(spool_put(sp, "a", &n), 0);
	}
	disk_fails(0);
	capture_stderr(NULL);
	assert_int_equal(count_lines(logpath, "dropped"), 1);
	assert_int_equal(spool_depth(sp), 3);
	assert_int_equal(spool_dropped(sp), 37);

	o = spool_status_json(sp);
	assert_int_equal(json_integer_value(json_object_get(o, "dropped")),
	    37);
	assert_int_equal(json_integer_value(json_object_get(
			     json_object_get(o, "dropped_by_reason"),
			     "spool_full")),
	    37);
	d = json_object_get(o, "drops");
	json_array_foreach(d, i, v)
	{
		const char *rule = json_string_value(json_object_get(v,
		    "rule"));
		const char *series = json_string_value(json_object_get(v,
		    "series"));
		json_int_t c = json_integer_value(json_object_get(v, "count"));

		if (strcmp(rule, "cpu") == 0) {
			assert_string_equal(series, "cpu.used_pct");
			cpu = c;
		} else {
			assert_string_equal(rule, "disk");
			assert_string_equal(series, "disk.used_pct");
			disk = c;
		}
	}
	/* Entries 0..36 went: 10 of them (k % 4 == 0) were disk's. */
	assert_int_equal(disk, 10);
	assert_int_equal(cpu, 27);
	json_decref(o);

	/* A minute later, one line for the other 36; then none. */
	capture_stderr(logpath);
	t = spool_tick(sp, clock_mono_ms() + 1000);
	assert_true(t > clock_mono_ms() &&
	    t <= clock_mono_ms() + SPOOL_DROP_LOG_MS);
	spool_tick(sp, clock_mono_ms() + SPOOL_DROP_LOG_MS + 1000);
	spool_tick(sp, clock_mono_ms() + SPOOL_DROP_LOG_MS + 2000);
	capture_stderr(NULL);
	assert_int_equal(count_lines(logpath, "dropped 36 notifications"), 1);
	assert_int_equal(count_lines(logpath, "dropped"), 1);
	spool_close(sp);
}

static struct notifier *
nf_named(struct notifier *nf, const char *name)
{
	memset(nf, 0, sizeof(*nf));
	nf->name = (char *)name;
	return nf;
}

/* Ask spool_ctl(); return its JSON answer, parsed. */
static json_t *
ctl(struct spool *sp, const char *req)
{
	char *text = spool_ctl(sp, req, 0);
	json_t *o;

	assert_non_null(text);
	o = json_loads(text, 0, NULL);
	assert_non_null(o);
	free(text);
	return o;
}

static void
expect_ctl_error(struct spool *sp, const char *req, const char *needle)
{
	json_t *o = ctl(sp, req);
	const char *msg = json_string_value(json_object_get(o, "error"));

	if (msg == NULL || strstr(msg, needle) == NULL)
		fail_msg("%s: want an error with \"%s\", got %s", req, needle,
		    msg != NULL ? msg : "none");
	json_decref(o);
}

static json_int_t
expect_ctl_count(struct spool *sp, const char *req)
{
	json_t *o = ctl(sp, req);
	json_int_t n;

	if (!json_is_true(json_object_get(o, "ok")))
		fail_msg("%s: %s", req,
		    json_string_value(json_object_get(o, "error")));
	n = json_integer_value(json_object_get(o, "count"));
	json_decref(o);
	return n;
}

/*
 * A reload removes notifier "old": its entries are kept aside (not sent,
 * not dropped, shown), can be listed, re-routed to another notifier (which
 * rewrites their files) and dropped (counted); a reload that brings the
 * notifier back releases them.
 */
static void
test_removed_notifier_kept_aside(void **state)
{
	struct notifier nfs[2], *only_new[1], *both[2];
	struct spool *sp;
	json_t *o, *e;
	uint64_t s;

	(void)state;
	only_new[0] = nf_named(&nfs[0], "new");
	both[0] = nf_named(&nfs[0], "new");
	both[1] = nf_named(&nfs[1], "old");
	assert_int_equal(spool_open(dir, 100, &sp), 0);
	assert_int_equal(spool_set_notifiers(sp, both, 2), 0);
	put(sp, "old", "r", 1); /* seq 0 */
	put(sp, "new", "r", 2); /* seq 1 */
	put(sp, "old", "r", 3); /* seq 2 */
	put(sp, "old", "r", 4); /* seq 3 */
	assert_int_equal(spool_set_notifiers(sp, only_new, 1), 0);

	/* Only "new" is delivered; "old" waits aside, counted. */
	s = expect_next(sp, 0, "new", "id-r-2");
	assert_int_equal(spool_done(sp, s), 0);
	assert_int_equal(expect_none(sp, 0), -1);
	assert_int_equal(spool_depth(sp), 3);
	assert_int_equal(spool_dropped(sp), 0);
	o = spool_status_json(sp);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(o,
								"aside"),
			     "old")),
	    3);
	json_decref(o);

	/* The sender met an entry of a vanished notifier: aside, too. */
	put(sp, "gone", "r", 5); /* seq 4 */
	spool_orphan(sp, 4, 0);
	assert_int_equal(expect_none(sp, 0), -1);

	o = ctl(sp, "list old");
	e = json_object_get(o, "entries");
	assert_int_equal(json_array_size(e), 3);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(e,
								0),
			     "id")),
	    0);
	assert_string_equal(json_string_value(json_object_get(json_array_get(e,
								  0),
				"state")),
	    "aside");
	assert_string_equal(json_string_value(json_object_get(json_array_get(e,
								  0),
				"rule")),
	    "r");
	assert_string_equal(json_string_value(json_object_get(json_array_get(e,
								  0),
				"series")),
	    "disk./var.used_pct");
	assert_true(json_is_true(json_object_get(json_array_get(e, 0),
	    "on_disk")));
	json_decref(o);

	/* Bad requests are refused with a reason. */
	expect_ctl_error(sp, "retry 0", "kept aside");
	expect_ctl_error(sp, "retry 0 --to nowhere", "no notifier");
	expect_ctl_error(sp, "retry 99 --to new", "matches");
	expect_ctl_error(sp, "retry -1", "usage");
	expect_ctl_error(sp, "retry 0x1", "usage");
	expect_ctl_error(sp, "retry", "usage");
	expect_ctl_error(sp, "drop", "usage");
	expect_ctl_error(sp, "drop 0 --to new", "unexpected");
	expect_ctl_error(sp, "flush", "usage");

	/* Re-route one, then the rest of "old"; order is kept. */
	assert_int_equal(expect_ctl_count(sp, "retry 0 --to new"), 1);
	s = expect_next(sp, 0, "new", "id-r-1");
	assert_int_equal(s, 0);
	assert_int_equal(expect_ctl_count(sp,
			     "retry --notifier old --to "
			     "new"),
	    2);
	spool_close(sp);

	/* The re-routed files name their new notifier. */
	assert_int_equal(spool_open(dir, 100, &sp), 0);
	assert_int_equal(spool_set_notifiers(sp, only_new, 1), 0);
	assert_int_equal(spool_depth_for(sp, "new"), 3);
	s = expect_next(sp, 0, "new", "id-r-1");
	spool_retry(sp, s, 0);
	(void)expect_none(sp, 0);
	/* retry ID (no --to): due now, not waiting for its backoff. */
	assert_int_equal(expect_ctl_count(sp, "retry 0"), 1);
	assert_int_equal(expect_next(sp, 0, "new", "id-r-1"), 0);
	assert_int_equal(expect_ctl_count(sp, "retry --all"), 3);

	/* drop: counted by reason, rule and series. */
	assert_int_equal(expect_ctl_count(sp, "drop 0"), 1);
	assert_int_equal(expect_ctl_count(sp, "drop --notifier gone"), 1);
	o = spool_status_json(sp);
	assert_int_equal(json_integer_value(json_object_get(o, "dropped")), 2);
	assert_int_equal(json_integer_value(json_object_get(
			     json_object_get(o, "dropped_by_reason"),
			     "operator")),
	    2);
	assert_int_equal(json_integer_value(json_object_get(
			     json_array_get(json_object_get(o, "drops"), 0),
			     "count")),
	    2);
	assert_int_equal(json_object_size(json_object_get(o, "aside")), 0);
	json_decref(o);
	assert_int_equal(expect_ctl_count(sp, "drop --all"), 2);
	assert_int_equal(spool_depth(sp), 0);
	assert_int_equal(count_files(dir, ".json"), 0);
	expect_ctl_error(sp, "drop --all", "matches");

	/* A reload that brings the notifier back releases its entries. */
	put(sp, "old", "r", 6);
	assert_int_equal(expect_none(sp, 0), -1);
	assert_int_equal(spool_set_notifiers(sp, both, 2), 0);
	s = expect_next(sp, 0, "old", "id-r-6");
	/* The sender still had the old configuration: not kept aside. */
	spool_orphan(sp, s, 0);
	assert_true(expect_none(sp, 0) > 0);
	assert_int_equal(expect_next(sp, 5000, "old", "id-r-6"), s);
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
		cmocka_unit_test_setup(test_names_strict_no_wrap, fresh),
		cmocka_unit_test_setup(test_renumber_high, fresh),
		cmocka_unit_test_setup(test_write_failure_kept_in_memory,
		    fresh),
		cmocka_unit_test_setup(test_full_counts_and_logs_once_a_minute,
		    fresh),
		cmocka_unit_test_setup(test_removed_notifier_kept_aside,
		    fresh),
	};

	return cmocka_run_group_tests(tests, tu_tmpdir_setup,
	    tu_tmpdir_teardown);
}
