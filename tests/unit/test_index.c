/*
 * test_index.c: the streaming pieces behind restore --path: the JSON
 * splitter (index_stream.c) and the selection (index_select.c).
 *
 * The splitter must hand on the same pieces however the text is cut
 * (every piece size from 1 byte), bound each piece (an element over
 * element_max is refused, so a hostile index cannot make it buffer
 * without end), and refuse what is not one root object with the array:
 * trailing text, a duplicate key, a missing array, text that ends early.
 * The selection keeps what a path selects (itself, what is below it, the
 * pieces of a split output, and with INDEX_SELECT_LAST the last entry of
 * exactly that path) and bounded hint candidates.  The queue that hands
 * entries from verify's index thread to its tar checker (index_queue.c)
 * keeps them in order and within its bounds (entries and string bytes),
 * passes on the producer's failure, and lets the consumer stop or drain
 * the producer.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/ag.h"
#include "backup/index_queue.h"
#include "backup/index_select.h"
#include "backup/index_stream.h"
#include "backup/manifest.h"

/* What the splitter handed on, as "m:key=text|e:text|...". */
struct got {
	char s[4096];
};

static int
on_member(void *cookie, const char *key, const char *text, size_t len)
{
	struct got *g = cookie;
	size_t n = strlen(g->s);

	snprintf(g->s + n, sizeof(g->s) - n, "m:%s=%.*s|", key, (int)len,
	    text);
	return 0;
}

static int
on_element(void *cookie, const char *text, size_t len)
{
	struct got *g = cookie;
	size_t n = strlen(g->s);

	snprintf(g->s + n, sizeof(g->s) - n, "e:%.*s|", (int)len, text);
	return 0;
}

/* Split ${json} in pieces of ${piece} bytes; 0 or -1 with ${err}. */
static int
split(const char *json, size_t piece, size_t element_max, struct got *g,
    struct ag_err *err)
{
	struct index_stream_conf c = { .array_key = "files",
		.element_max = element_max,
		.member_max = 64,
		.on_member = on_member,
		.on_element = on_element,
		.cookie = g };
	struct index_stream *s;
	size_t len = strlen(json), n;
	int rc = 0;

	g->s[0] = '\0';
	assert_non_null(s = index_stream_new(&c));
	for (size_t off = 0; rc == 0 && off < len; off += n) {
		n = len - off < piece ? len - off : piece;
		rc = index_stream_feed(s, (const uint8_t *)json + off, n, err);
	}
	if (rc == 0)
		rc = index_stream_end(s, err);
	index_stream_free(s);
	return rc;
}

static void
test_stream_pieces(void **state)
{
	static const char json[] =
	    " {\"format\": 1, \"k\\u0021\": {\"a\": [\"]\", \"}\\\"\"]},\n"
	    "\"files\": [ {\"p\": \"x]}\"}, [1,2] ,\"s\", 17, true ],"
	    " \"n\": -2.5e3 } \n";
	static const char want[] =
	    "m:format=1|m:k!={\"a\": [\"]\", \"}\\\"\"]}|e:{\"p\": \"x]}\"}|"
	    "e:[1,2]|e:\"s\"|e:17|e:true|m:n=-2.5e3|";
	struct got g;
	struct ag_err err = { "" };

	(void)state;
	for (size_t piece = 1; piece <= sizeof(json); piece++) {
		if (split(json, piece, 64, &g, &err) != 0)
			fail_msg("pieces of %zu: %s", piece, err.msg);
		assert_string_equal(g.s, want);
	}
}

static void
test_stream_refuses(void **state)
{
	static const struct {
		const char *json, *msg;
	} bad[] = {
		{ "{\"files\": []} x", "text after the end of the object" },
		{ "{\"files\": [], \"files\": []}",
		    "duplicate key \"files\"" },
		{ "{\"format\": 1}", "no \"files\" list" },
		{ "{\"files\": [{}]", "the text ends inside the object" },
		{ "{\"files\": {}}", "\"files\" is not a list" },
		{ "[]", "the index is not a JSON object" },
		{ "{\"files\": [1 2]}", "',' or ']' expected" },
		{ "{1: 2}", "a key must be a string" },
		/* 65 bytes: one more than element_max. */
		{ "{\"files\": [\""
		  "0123456789012345678901234567890123456789"
		  "01234567890123456789012\"]}",
		    "an array element of more "
		    "than 64 bytes" },
	};
	struct got g;
	struct ag_err err = { "" };

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		for (size_t piece = 1; piece <= 7; piece += 6) {
			err.msg[0] = '\0';
			assert_int_equal(split(bad[i].json, piece, 64, &g,
					     &err),
			    -1);
			if (strstr(err.msg, bad[i].msg) == NULL)
				fail_msg("%s: got \"%s\", want \"%s\"",
				    bad[i].json, err.msg, bad[i].msg);
		}
	}
}

static void
test_select(void **state)
{
	static const char *const files[] = {
		"etc",
		"etc/hosts",
		"etc/hostsx",
		"etc/nginx",
		"etc/nginx/a",
		"srv/out.1",
		"srv/out.2",
		"etc/hosts",
		"zz/hosts",
	};
	const char *paths[] = { "etc/nginx", "etc/hosts", "srv/out",
		"etc/host", "nginx/a", "nothing/at/all/here" };
	const char *last[] = { "etc/hosts" };
	struct index_select *s;
	struct manifest_file f, *v;
	struct ag_err err = { "" };
	size_t n;

	(void)state;
	assert_non_null(s = index_select_new(paths, 6, 0, &err));
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		f = (struct manifest_file){ .path = (char *)files[i],
			.type = MANIFEST_FILE,
			.tar_offset = i * 512,
			.tar_len = 512 };
		if (strncmp(files[i], "srv/out.", 8) == 0) {
			f.split_of = (char *)"srv/out";
			f.piece = (unsigned)(files[i][8] - '0');
		}
		assert_int_equal(index_select_file(s, &f, i), 0);
	}
	assert_int_equal(index_select_count(s, 0), 2); /* nginx, nginx/a */
	assert_int_equal(index_select_count(s, 1), 2); /* hosts twice */
	assert_int_equal(index_select_count(s, 2), 2); /* the pieces */
	assert_int_equal(index_select_count(s, 3), 0);
	assert_int_equal(index_select_count(s, 4), 0);
	assert_null(index_select_hint(s, 0));
	/* A neighbour; a path given from the wrong root; nothing close. */
	assert_string_equal(index_select_hint(s, 3), "etc/hosts");
	assert_string_equal(index_select_hint(s, 4), "etc/nginx/a");
	assert_null(index_select_hint(s, 5));
	index_select_take(s, &v, &n);
	assert_int_equal(n, 6);
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			assert_true(v[i].tar_offset > v[i - 1].tar_offset);
		manifest_file_clear(&v[i]);
	}
	free(v);
	index_select_free(s);

	/* The last entry of exactly that path: a hard link's target. */
	assert_non_null(s = index_select_new(last, 1, INDEX_SELECT_LAST,
			    &err));
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		f = (struct manifest_file){ .path = (char *)files[i],
			.type = MANIFEST_FILE,
			.tar_offset = i * 512,
			.tar_len = 512 };
		assert_int_equal(index_select_file(s, &f, i), 0);
	}
	index_select_take(s, &v, &n);
	assert_int_equal(n, 1);
	assert_int_equal(v[0].tar_offset, 7 * 512);
	manifest_file_clear(&v[0]);
	free(v);
	index_select_free(s);
}

/* The queue's producer: ${QN} entries of ~1000-byte paths, then close. */
#define QN 5000
#define QCAP 16
#define QBYTES 4096

struct qprod {
	struct index_queue *q;
	atomic_size_t put; /* puts returned */
	int rc;		   /* of the last put */
};

static void *
qprod_main(void *cookie)
{
	struct qprod *p = cookie;
	struct manifest_file f;

	for (size_t i = 0; i < QN; i++) {
		memset(&f, 0, sizeof(f));
		assert_non_null(f.path = malloc(1000));
		snprintf(f.path, 1000, "%0990zu", i);
		f.tar_offset = i * 512;
		p->rc = index_queue_put(p->q, &f);
		assert_null(f.path);
		atomic_fetch_add(&p->put, 1);
		if (p->rc != 0)
			break;
	}
	index_queue_close(p->q, 0, NULL);
	return NULL;
}

/* Take one entry, then drain (or ${stop}) the queue: the producer ends. */
static void
queue_cut(bool stop)
{
	struct qprod p = { 0 };
	struct manifest_file f = { 0 };
	pthread_t t;

	assert_non_null(p.q = index_queue_new(QCAP, QBYTES));
	assert_int_equal(pthread_create(&t, NULL, qprod_main, &p), 0);
	assert_int_equal(index_queue_get(p.q, &f), 1);
	manifest_file_clear(&f);
	if (stop)
		index_queue_stop(p.q);
	else
		index_queue_drain(p.q);
	pthread_join(t, NULL);
	if (stop) {
		assert_true(atomic_load(&p.put) < QN);
		assert_int_equal(p.rc, -1);
	} else {
		assert_int_equal(atomic_load(&p.put), QN);
		assert_int_equal(p.rc, 0);
	}
	index_queue_free(p.q);
}

static void
test_queue(void **state)
{
	struct qprod p = { 0 };
	struct manifest_file f = { 0 };
	struct ag_err e;
	pthread_t t;
	char want[1000];

	(void)state;
	/* In order, never more than 4 entries of 1000 bytes (+ one). */
	assert_non_null(p.q = index_queue_new(QCAP, QBYTES));
	assert_int_equal(pthread_create(&t, NULL, qprod_main, &p), 0);
	for (size_t i = 0; i < QN; i++) {
		assert_int_equal(index_queue_get(p.q, &f), 1);
		snprintf(want, sizeof(want), "%0990zu", i);
		assert_string_equal(f.path, want);
		assert_int_equal(f.tar_offset, i * 512);
		assert_true(atomic_load(&p.put) <= i + 1 + QBYTES / 1000 + 1);
		manifest_file_clear(&f);
	}
	assert_int_equal(index_queue_get(p.q, &f), 0);
	pthread_join(t, NULL);
	assert_int_equal(index_queue_result(p.q, &e), 0);
	index_queue_free(p.q);

	/* Drained: the producer goes on to its end, nothing kept. */
	queue_cut(false);
	/* Stopped: the next put fails, the producer stops. */
	queue_cut(true);

	/* A failed producer: entries queued are not handed on. */
	assert_non_null(p.q = index_queue_new(QCAP, QBYTES));
	assert_non_null(f.path = strdup("a"));
	assert_int_equal(index_queue_put(p.q, &f), 0);
	assert_false(index_queue_failed(p.q));
	index_queue_close(p.q, -1, "index: sha256 differs");
	assert_true(index_queue_failed(p.q));
	assert_int_equal(index_queue_get(p.q, &f), -1);
	assert_int_equal(index_queue_result(p.q, &e), -1);
	assert_string_equal(e.msg, "index: sha256 differs");
	index_queue_free(p.q);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stream_pieces),
		cmocka_unit_test(test_stream_refuses),
		cmocka_unit_test(test_select),
		cmocka_unit_test(test_queue),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
