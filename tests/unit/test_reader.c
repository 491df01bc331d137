/*
 * test_reader.c: the one read path (backup/reader.h) on its own, with a
 * sink that records what it gets.
 *
 * A hand-made tar stream of about 365 KiB is sealed into a real backup in
 * 64 KiB slices (tests/unit/fakes/tarseal.h), so data.vgl holds 6 chunks.
 * It is read through a storage backend that is the local one with a get()
 * that can break off mid-range (AG_RETRY after a given number of bytes,
 * as a reset connection does) and logs every GET of data.vgl.  Checked:
 * a whole read hands the sink the tar stream exactly, in order, one
 * member per chunk at its tar offset; a plan of chunks is read with one
 * ranged GET per run of consecutive chunks; a GET broken off in the middle
 * of a chunk resumes at the byte where it stopped (whole and planned) and
 * the sink still sees every byte once; a flipped byte in a chunk fails
 * with "data.vgl: chunk N: authentication failed" and the sink never sees
 * that chunk or any after it; a sink that stops the read gets
 * READER_STOPPED with the error left alone; cancelling says "cancelled".
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <sys/stat.h>

#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/ag.h"
#include "lib/crypto/crypto.h"
#include "lib/crypto/crypto_keys.h"
#include "providers/storage.h"
#include "providers/storage_backend.h"
#include "backup/catalog.h"
#include "backup/format.h"
#include "backup/manifest.h"
#include "backup/reader.h"
#include "tests/unit/fakes/tarseal.h"
#include "tests/unit/fakes/testutil.h"

#define SLICE ((size_t)64 << 10)
#define JOB "nightly"
#define TAR_MAX ((size_t)512 << 10)
#define NGETS 64

static struct crypto_key *key;
static char store[PATH_MAX];
static char id[FORMAT_BACKUP_ID_SIZE];
static uint8_t *tar; /* the tar stream sealed */
static size_t tar_len;
static struct storage *st; /* local, with fl_get() */
static struct manifest *m;
static struct storage_conf *lc; /* the local target */

/* --- A local backend whose GETs can break off ---------------------------- */

static struct storage_ops flaky_ops;
static struct {
	uint64_t cut_after; /* data.vgl bytes per GET, then reset */
	int cuts;	    /* ... this many more times */
	struct {
		uint64_t off, len;
	} gets[NGETS]; /* GETs of data.vgl */
	size_t ngets;
} fl;

/* Pass bytes on until the GET's budget is spent, then break off. */
struct fl_pass {
	storage_sink_fn *sink;
	void *cookie;
	uint64_t left; /* UINT64_MAX: no limit */
	bool cut;
};

static int
fl_sink(void *cookie, const uint8_t *buf, size_t len)
{
	struct fl_pass *p = cookie;

	if (p->left != UINT64_MAX && len >= p->left) {
		if (p->left > 0 &&
		    p->sink(p->cookie, buf, (size_t)p->left) != 0)
			return -1;
		p->cut = true;
		return -1;
	}
	if (p->left != UINT64_MAX)
		p->left -= len;
	return p->sink(p->cookie, buf, len);
}

static int
fl_get(void *ctx, const char *k, uint64_t off, uint64_t len,
    storage_sink_fn *sink, void *cookie, struct ag_err *err)
{
	struct fl_pass p = { .sink = sink,
		.cookie = cookie,
		.left = UINT64_MAX };
	bool data = strstr(k, FORMAT_NAME_DATA) != NULL;
	int rc;

	if (data) {
		assert_true(fl.ngets < NGETS);
		fl.gets[fl.ngets].off = off;
		fl.gets[fl.ngets++].len = len;
		if (fl.cuts > 0)
			p.left = fl.cut_after;
	}
	rc = storage_local_ops.get(ctx, k, off, len, fl_sink, &p, err);
	if (p.cut) {
		fl.cuts--;
		return (ag_err_set(err, "fake: connection reset"), AG_RETRY);
	}
	return rc;
}

/* --- What the sink saw ---------------------------------------------------- */

struct seen {
	uint8_t *buf;	    /* tar bytes, at their tar offsets */
	uint64_t chunk[16]; /* chunk index of each member */
	size_t nmembers;
	uint64_t next_off; /* whole reads: the next tar offset */
	bool in_order;
	int stop_at; /* return nonzero at this member; -1 */
};

static int
sink(void *cookie, const struct manifest_chunk *c, const uint8_t *buf,
    size_t len)
{
	struct seen *s = cookie;

	if (s->stop_at >= 0 && (size_t)s->stop_at == s->nmembers)
		return 1;
	assert_true(s->nmembers < 16);
	assert_true(c->tar_offset + len <= tar_len);
	assert_int_equal(len, c->tar_len);
	if (c->tar_offset < s->next_off)
		s->in_order = false;
	s->next_off = c->tar_offset + len;
	memcpy(s->buf + c->tar_offset, buf, len);
	s->chunk[s->nmembers++] = c->index;
	return 0;
}

static void
seen_init(struct seen *s)
{
	memset(s, 0, sizeof(*s));
	assert_non_null(s->buf = calloc(1, tar_len));
	s->in_order = true;
	s->stop_at = -1;
}

static int
run(const size_t *plan, size_t nplan, struct seen *s,
    volatile sig_atomic_t *cancel, struct reader_stats *rs, struct ag_err *err)
{
	struct reader_conf rc = { .st = st,
		.prefix = "",
		.job = JOB,
		.id = id,
		.m = m,
		.key = key,
		.plan = plan,
		.nplan = nplan,
		.workers = 2,
		.sink = sink,
		.cookie = s,
		.cancel = cancel };

	fl.ngets = 0;
	return reader_run(&rc, rs, err);
}

static void
data_path(char *out)
{
	char k[STORAGE_KEY_MAX];

	assert_int_equal(format_object_name(NULL, JOB, id, FORMAT_KIND_DATA, k,
			     sizeof(k)),
	    0);
	tu_pathf(out, "%s/%s", store, k);
}

/* --- Tests ------------------------------------------------------------ */

static void
test_whole_in_order(void **state_)
{
	struct reader_stats rs;
	struct ag_err err = { "" };
	struct seen s;

	(void)state_;
	seen_init(&s);
	if (run(NULL, 0, &s, NULL, &rs, &err) != 0)
		fail_msg("%s", err.msg);
	assert_true(s.in_order);
	assert_int_equal(s.nmembers, m->nchunks);
	for (size_t i = 0; i < s.nmembers; i++)
		assert_int_equal(s.chunk[i], i);
	assert_memory_equal(s.buf, tar, tar_len);
	assert_int_equal(rs.fed, m->data_size);
	assert_int_equal(rs.chunks, m->nchunks);
	assert_int_equal(rs.members, m->nchunks);
	assert_int_equal(rs.tar_bytes, tar_len);
	/* One GET of all of data.vgl. */
	assert_int_equal(fl.ngets, 1);
	assert_int_equal(fl.gets[0].off, 0);
	free(s.buf);
}

static void
test_plan_ranges(void **state_)
{
	static const size_t plan[] = { 1, 2, 4 };
	const struct manifest_chunk *c;
	struct reader_stats rs;
	struct ag_err err = { "" };
	struct seen s;

	(void)state_;
	seen_init(&s);
	if (run(plan, 3, &s, NULL, &rs, &err) != 0)
		fail_msg("%s", err.msg);
	assert_int_equal(s.nmembers, 3);
	for (size_t i = 0; i < 3; i++) {
		c = &m->chunks[plan[i]];
		assert_int_equal(s.chunk[i], plan[i]);
		assert_memory_equal(s.buf + c->tar_offset, tar + c->tar_offset,
		    c->tar_len);
	}
	/* Chunks 1 and 2 in one GET, 4 in another; nothing else. */
	assert_int_equal(fl.ngets, 2);
	assert_int_equal(fl.gets[0].off, m->chunks[1].offset);
	assert_int_equal(fl.gets[0].len,
	    m->chunks[2].offset + m->chunks[2].sealed_len -
		m->chunks[1].offset);
	assert_int_equal(fl.gets[1].off, m->chunks[4].offset);
	assert_int_equal(fl.gets[1].len, m->chunks[4].sealed_len);
	assert_int_equal(rs.fed, fl.gets[0].len + fl.gets[1].len);
	free(s.buf);
}

static void
test_resume_mid_range(void **state_)
{
	static const size_t plan[] = { 1, 2, 4 };
	struct reader_stats rs;
	struct ag_err err = { "" };
	struct seen s;
	uint64_t cut, want;

	(void)state_;

	/* Whole: broken off twice, in the middle of chunks 1 and 3. */
	cut = m->chunks[1].offset + m->chunks[1].sealed_len / 2;
	seen_init(&s);
	fl.cut_after = cut;
	fl.cuts = 1;
	if (run(NULL, 0, &s, NULL, &rs, &err) != 0)
		fail_msg("%s", err.msg);
	assert_int_equal(fl.cuts, 0);
	assert_int_equal(fl.ngets, 2);
	assert_int_equal(fl.gets[1].off, cut);
	assert_memory_equal(s.buf, tar, tar_len);
	assert_true(s.in_order);
	assert_int_equal(s.nmembers, m->nchunks);
	assert_int_equal(rs.fed, m->data_size);
	free(s.buf);

	/* The second GET breaks off too, ${cut} bytes after it began. */
	seen_init(&s);
	fl.cut_after = cut;
	fl.cuts = 2;
	if (run(NULL, 0, &s, NULL, &rs, &err) != 0)
		fail_msg("%s", err.msg);
	assert_int_equal(fl.ngets, 3);
	assert_int_equal(fl.gets[1].off, cut);
	assert_int_equal(fl.gets[2].off, 2 * cut);
	assert_memory_equal(s.buf, tar, tar_len);
	free(s.buf);

	/* A plan: the GET of chunks 1..2 breaks off inside chunk 2. */
	seen_init(&s);
	cut = m->chunks[1].sealed_len + 7;
	fl.cut_after = cut;
	fl.cuts = 1;
	if (run(plan, 3, &s, NULL, &rs, &err) != 0)
		fail_msg("%s", err.msg);
	want = m->chunks[2].offset + m->chunks[2].sealed_len -
	    m->chunks[1].offset;
	assert_int_equal(fl.ngets, 3);
	assert_int_equal(fl.gets[0].off, m->chunks[1].offset);
	assert_int_equal(fl.gets[0].len, want);
	assert_int_equal(fl.gets[1].off, m->chunks[1].offset + cut);
	assert_int_equal(fl.gets[1].len, want - cut);
	assert_int_equal(fl.gets[2].off, m->chunks[4].offset);
	assert_int_equal(s.nmembers, 3);
	for (size_t i = 0; i < 3; i++) {
		const struct manifest_chunk *c = &m->chunks[plan[i]];

		assert_int_equal(s.chunk[i], plan[i]);
		assert_memory_equal(s.buf + c->tar_offset, tar + c->tar_offset,
		    c->tar_len);
	}
	free(s.buf);
	fl.cuts = 0;
}

static void
test_tampered_chunk(void **state_)
{
	static const size_t plan[] = { 0, 3 };
	struct reader_stats rs;
	struct ag_err err = { "" };
	char path[PATH_MAX];
	off_t at;
	struct seen s;

	(void)state_;
	data_path(path);
	at = (off_t)(m->chunks[3].offset + FORMAT_CHUNK_PREFIX + 50);
	tu_flip_byte(path, at);

	/* Whole: the chunk is named; the sink never saw it or later ones. */
	seen_init(&s);
	assert_int_equal(run(NULL, 0, &s, NULL, &rs, &err), -1);
	if (strncmp(err.msg, "data.vgl: chunk 3: authentication failed", 40) !=
	    0)
		fail_msg("got \"%s\"", err.msg);
	assert_true(s.nmembers <= 3);
	for (size_t i = 0; i < s.nmembers; i++)
		assert_true(s.chunk[i] < 3);
	assert_int_equal(rs.chunks, 3);
	free(s.buf);

	/* A plan through it: the same, by index. */
	seen_init(&s);
	assert_int_equal(run(plan, 2, &s, NULL, &rs, &err), -1);
	if (strncmp(err.msg, "data.vgl: chunk 3: authentication failed", 40) !=
	    0)
		fail_msg("got \"%s\"", err.msg);
	for (size_t i = 0; i < s.nmembers; i++)
		assert_int_equal(s.chunk[i], 0);
	free(s.buf);

	tu_flip_byte(path, at);
	seen_init(&s);
	if (run(plan, 2, &s, NULL, &rs, &err) != 0)
		fail_msg("%s", err.msg);
	assert_int_equal(s.nmembers, 2);
	free(s.buf);
}

static void
test_stopped_and_cancelled(void **state_)
{
	volatile sig_atomic_t cancel = 0;
	struct reader_stats rs;
	struct ag_err err = { "" };
	struct seen s;

	(void)state_;
	/* The sink stops: READER_STOPPED, the caller's reason untouched. */
	seen_init(&s);
	s.stop_at = 2;
	snprintf(err.msg, sizeof(err.msg), "mine");
	assert_int_equal(run(NULL, 0, &s, NULL, &rs, &err), READER_STOPPED);
	assert_string_equal(err.msg, "mine");
	assert_int_equal(s.nmembers, 2);
	assert_int_equal(rs.members, 2);
	free(s.buf);

	/* Cancelled: nothing is opened. */
	seen_init(&s);
	cancel = 1;
	assert_int_equal(run(NULL, 0, &s, &cancel, &rs, &err), -1);
	assert_string_equal(err.msg, "cancelled");
	assert_int_equal(s.nmembers, 0);
	assert_int_equal(rs.chunks, 0);
	free(s.buf);
}

/* --- Setup ------------------------------------------------------------ */

static int
group_setup(void **state_)
{
	struct storage_conf fc;
	struct ag_err err = { "" };
	char keypath[PATH_MAX], name[64], *data;
	size_t i, k, n;

	if (tu_tmpdir_setup(state_) != 0)
		return -1;
	tu_pathf(keypath, "%s/backup.key", tu_tmpdir());
	tu_pathf(store, "%s/store", tu_tmpdir());
	if (crypto_keys_generate_keyfile(keypath, &err) != 0 ||
	    (key = crypto_keys_load_keyfile(keypath, &err)) == NULL) {
		fprintf(stderr, "setup: %s\n", err.msg);
		return -1;
	}
	/* Six files of 60 KiB of random letters: six 64 KiB slices. */
	if ((tar = calloc(1, TAR_MAX)) == NULL ||
	    (data = malloc(60 << 10)) == NULL)
		return -1;
	for (k = 0, n = 0; k < 6; k++) {
		if (crypto_random(data, (60 << 10) - 1) != 0)
			return -1;
		for (i = 0; i < (60 << 10) - 1; i++)
			data[i] = (char)('a' + (uint8_t)data[i] % 26);
		data[(60 << 10) - 1] = '\0';
		snprintf(name, sizeof(name), "dir/file-%zu.txt", k);
		n = tu_tar_add(tar, n, name, '0', data, NULL);
	}
	tar_len = n + 1024; /* end of archive */
	free(data);

	/* Sealed through the local backend ... */
	if ((lc = storage_conf_local("here", store)) == NULL ||
	    storage_open(lc, &st, &err) != 0)
		return -1;
	tu_seal_tar(st, key, JOB, SLICE, tar, tar_len, false, NULL, 0, id);
	storage_close(st);
	/* ... and read through the flaky one. */
	flaky_ops = storage_local_ops;
	flaky_ops.name = "flaky";
	flaky_ops.get = fl_get;
	fc = *lc;
	fc.ops = &flaky_ops;
	if (storage_open(&fc, &st, &err) != 0) {
		fprintf(stderr, "setup: %s\n", err.msg);
		return -1;
	}
	if (catalog_load_manifest(st, "", JOB, id, key, false, &m, &err) !=
	    0) {
		fprintf(stderr, "setup: %s\n", err.msg);
		return -1;
	}
	if (m->nchunks != 6) {
		fprintf(stderr, "setup: %zu chunks, not 6\n", m->nchunks);
		return -1;
	}
	return 0;
}

static int
group_teardown(void **state_)
{
	manifest_free(m);
	storage_close(st);
	storage_conf_free(lc);
	crypto_keys_free(key);
	free(tar);
	return tu_tmpdir_teardown(state_);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_whole_in_order),
		cmocka_unit_test(test_plan_ranges),
		cmocka_unit_test(test_resume_mid_range),
		cmocka_unit_test(test_tampered_chunk),
		cmocka_unit_test(test_stopped_and_cancelled),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
