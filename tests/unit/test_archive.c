/*
 * test_archive.c: the metric archive (agent/archive.c, backup/
 * metric_archive.c): hour names and object keys, the NDJSON line (labels,
 * escapes, exact values, null), a torn last line cut after a crash, and
 * with a local target and the test clock (lib/clock.h): an hour written,
 * sealed and uploaded once its grace is over, late readings dropped, an
 * hour file left by a crash resumed, the bounded folder dropping the
 * oldest sealed hours while the target is down, and encrypted hours
 * opened with the key only; the section's settings refused where wrong.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <math.h>

#include "agent/archive.h"
#include "agent/metric.h"
#include "agent/runconf.h"
#include "backup/metric_archive.h"
#include "lib/buf.h"
#include "lib/clock.h"
#include "tests/unit/fakes/testutil.h"

/* 2026-12-01T00:00:00Z */
#define T0 1796083200000LL
#define H ARCHIVE_HOUR_MS
#define STILL 1e-9 /* the test clock held (nearly) still */

static void
test_hour_names(void **state)
{
	char stem[11], key[256];
	int64_t h0 = T0 / H, back;

	(void)state;
	archive_hour_stem(h0 + 13, stem);
	assert_string_equal(stem, "2026120113");
	assert_int_equal(archive_parse_stem("2026120113.ndjson", &back), 0);
	assert_int_equal(back, h0 + 13);
	/* 2028-02-29T23: a leap day, then the next day's first hour. */
	assert_int_equal(archive_parse_stem("2028022923", &back), 0);
	archive_hour_stem(back + 1, stem);
	assert_string_equal(stem, "2028030100");
	assert_int_equal(archive_parse_stem("2027022900", &back), -1);
	assert_int_equal(archive_parse_stem("2026120124", &back), -1);
	assert_int_equal(archive_parse_stem("20261201x3", &back), -1);
	assert_int_equal(archive_hour_key("", "h1", h0 + 5, false, key,
			     sizeof(key)),
	    0);
	assert_string_equal(key, "metrics/h1/2026/12/01/05.ndjson.gz");
	assert_int_equal(archive_hour_key("fleet/eu", "h1", h0 - 1, true, key,
			     sizeof(key)),
	    0);
	assert_string_equal(key,
	    "fleet/eu/metrics/h1/2026/11/30/23.ndjson.gz.vgl");
	assert_int_equal(archive_hour_key("p", "h1", h0, false, key, 20), -1);
}

static json_t *
line_of(const char *name, double v, int64_t ts)
{
	struct metric m = { 0 };
	struct buf b;
	json_t *j;

	snprintf(m.name, sizeof(m.name), "%s", name);
	m.value = v;
	m.ts_ms = ts;
	buf_init(&b, 1 << 16);
	assert_int_equal(archive_format_line(&b, &m, T0 + 7), 0);
	assert_int_equal(b.p[b.len - 1], '\n');
	assert_null(memchr(b.p, '\n', b.len - 1));
	j = json_loads(b.p, 0, NULL);
	assert_non_null(j);
	buf_free(&b);
	return j;
}

static void
test_line_format(void **state)
{
	json_t *j, *l;
	struct metric m = { 0 };
	struct buf b;

	(void)state;
	j = line_of("cpu.user", 0.1, 0);
	assert_int_equal(json_integer_value(json_object_get(j, "t")), T0 + 7);
	assert_string_equal(json_string_value(json_object_get(j, "name")),
	    "cpu.user");
	assert_true(json_real_value(json_object_get(j, "value")) == 0.1);
	assert_null(json_object_get(j, "labels"));
	json_decref(j);
	j = line_of("aws.cpu{InstanceId=i-1,Name=a\\,b \"q\"\\}}", 1e300 / 7,
	    T0 + 99);
	assert_int_equal(json_integer_value(json_object_get(j, "t")), T0 + 99);
	assert_string_equal(json_string_value(json_object_get(j, "name")),
	    "aws.cpu");
	assert_true(json_number_value(json_object_get(j, "value")) ==
	    1e300 / 7);
	l = json_object_get(j, "labels");
	assert_int_equal(json_object_size(l), 2);
	assert_string_equal(json_string_value(json_object_get(l,
				"InstanceId")),
	    "i-1");
	assert_string_equal(json_string_value(json_object_get(l, "Name")),
	    "a,b \"q\"}");
	json_decref(j);
	j = line_of("caf\xc3\xa9.\xff", 1, 0);
	assert_string_equal(json_string_value(json_object_get(j, "name")),
	    "caf\xc3\xa9.\xef\xbf\xbd");
	json_decref(j);
	j = line_of("x\ty", NAN, 0);
	assert_string_equal(json_string_value(json_object_get(j, "name")),
	    "x\ty");
	assert_true(json_is_null(json_object_get(j, "value")));
	json_decref(j);
	/* Malformed labels: nothing is appended. */
	snprintf(m.name, sizeof(m.name), "a{b}");
	buf_init(&b, 1 << 16);
	assert_int_equal(archive_format_line(&b, &m, T0), -1);
	assert_int_equal(b.len, 0);
	buf_free(&b);
}

static void
test_recover(void **state)
{
	char path[4096];
	const char *text = "{\"a\":1}\n{\"a\":2}\n{\"a\":";
	uint64_t size;
	struct ag_err err = { "" };
	size_t n;
	uint8_t *p;

	(void)state;
	snprintf(path, sizeof(path), "%s/torn.ndjson", tu_tmpdir());
	tu_write_file(path, text, strlen(text), 0600);
	assert_int_equal(archive_recover_file(path, &size, &err), 0);
	assert_int_equal(size, 16);
	p = tu_read_file(path, &n);
	assert_int_equal(n, 16);
	assert_memory_equal(p, text, 16);
	free(p);
	/* Whole lines stay; a file of one torn line becomes empty. */
	assert_int_equal(archive_recover_file(path, &size, &err), 0);
	assert_int_equal(size, 16);
	tu_write_file(path, "{\"a", 3, 0600);
	assert_int_equal(archive_recover_file(path, &size, &err), 0);
	assert_int_equal(size, 0);
}

static unsigned nconf;
static char store[4096], state_dir[4096];

/* A runconf with an archive section to a local target; ${extra} in it. */
static struct runconf *
load(const char *extra)
{
	char path[4096], text[16384];
	struct conf_errs errs = { 0 };
	struct runconf *rc = NULL;

	snprintf(state_dir, sizeof(state_dir), "%s/state%u", tu_tmpdir(),
	    nconf);
	snprintf(store, sizeof(store), "%s/store%u", tu_tmpdir(), nconf);
	snprintf(path, sizeof(path), "%s/v%u.conf", tu_tmpdir(), nconf++);
	snprintf(text, sizeof(text),
	    "agent = { state_dir = \"%s\"; control_socket = \"%s/s.sock\";\n"
	    "  hostname = \"h1\"; log_level = \"error\"; };\n"
	    "storage = { here = { type = \"local\"; path = \"%s\"; }; };\n"
	    "archive = { storage = \"here\"; prefix = \"p\"; %s%s };\n",
	    state_dir, tu_tmpdir(), store,
	    strstr(extra, "grace") != NULL ? "" : "grace = \"2m\"; ", extra);
	tu_write_file(path, text, strlen(text), 0600);
	if (runconf_load(path, &rc, &errs) != 0) {
		for (size_t i = 0; i < errs.n; i++)
			fprintf(stderr, "%s\n", errs.msgs[i]);
		fail();
	}
	conf_errs_free(&errs);
	return rc;
}

static void
add(struct archive *a, const char *name, double v, int64_t t)
{
	struct metric_batch b;

	metric_batch_init(&b, 16);
	b.now_ms = t;
	assert_int_equal(metric_add(&b, v, "%s", name), 0);
	archive_add(a, &b);
	metric_batch_free(&b);
}

/* The lines of a gzip file, through zcat. */
static size_t
zlines(const char *path, char *out, size_t len)
{
	char cmd[8192];
	FILE *f;
	size_t n;

	snprintf(cmd, sizeof(cmd), "zcat '%s'", path);
	assert_non_null(f = popen(cmd, "r"));
	n = fread(out, 1, len - 1, f);
	out[n] = '\0';
	assert_int_equal(pclose(f), 0);
	return n;
}

static bool
exists(const char *fmt, const char *a, const char *b)
{
	char path[8192];

	snprintf(path, sizeof(path), fmt, a, b);
	return access(path, F_OK) == 0;
}

static void
test_hour_sealed_and_uploaded(void **state)
{
	struct runconf *rc = load("");
	struct ag_err err = { "" };
	struct archive_stats st;
	struct archive *a;
	char obj[8192], text[65536];

	(void)state;
	clock_test_set(T0 + 10 * 60000, STILL);
	assert_non_null(a = archive_start(rc, state_dir, "h1", &err));
	add(a, "cpu.user", 1.5, T0 + 10 * 60000);
	add(a, "cpu.user", 2.5, T0 + 20 * 60000);
	add(a, "cpu.user", 3.5, T0 + H + 60000); /* the next hour */
	archive_flush(a);
	assert_true(exists("%s/archive/%s", state_dir, "2026120100.ndjson"));
	assert_true(exists("%s/archive/%s", state_dir, "2026120101.ndjson"));
	/* Over, but within its grace: still open, late points go in. */
	clock_test_set(T0 + H + 60000, STILL);
	add(a, "cpu.user", 4.5, T0 + 59 * 60000);
	archive_flush(a);
	assert_false(exists("%s/%s", store,
	    "p/metrics/h1/2026/12/01/00."
	    "ndjson.gz"));
	/* Grace over: sealed and uploaded; hour 01 stays. */
	clock_test_set(T0 + H + 2 * 60000, STILL);
	archive_flush(a);
	snprintf(obj, sizeof(obj), "%s/p/metrics/h1/2026/12/01/00.ndjson.gz",
	    store);
	assert_int_equal(access(obj, F_OK), 0);
	zlines(obj, text, sizeof(text));
	assert_string_equal(text,
	    "{\"t\":1796083800000,\"name\":\"cpu.user\",\"value\":1.5}\n"
	    "{\"t\":1796084400000,\"name\":\"cpu.user\",\"value\":2.5}\n"
	    "{\"t\":1796086740000,\"name\":\"cpu.user\",\"value\":4.5}\n");
	assert_false(exists("%s/archive/%s", state_dir, "2026120100.ndjson"));
	assert_false(exists("%s/archive/%s", state_dir,
	    "2026120100.ndjson.gz"));
	assert_true(exists("%s/archive/%s", state_dir, "2026120101.ndjson"));
	/* A reading of the sealed hour is dropped and counted. */
	add(a, "cpu.user", 5.5, T0 + 30 * 60000);
	archive_flush(a);
	archive_stats(a, &st);
	assert_int_equal(st.dropped_late, 1);
	assert_int_equal(st.uploaded, 1);
	assert_int_equal(st.hours_waiting, 0);
	assert_int_equal(st.failures, 0);
	archive_stop(a);
	runconf_free(rc);
	clock_test_set(0, 0);
}

static void
test_crash_resumed(void **state)
{
	struct runconf *rc = load("");
	struct ag_err err = { "" };
	struct archive *a;
	char path[8192], text[65536];
	const char *left = "{\"t\":1796083200001,\"name\":\"a\",\"value\":1}\n"
			   "{\"t\":17960832";

	(void)state;
	/* What a kill -9 in the middle of an append leaves. */
	snprintf(path, sizeof(path), "%s/archive", state_dir);
	assert_int_equal(ag_mkdir_p(path, 0700, 0700), 0);
	snprintf(path, sizeof(path), "%s/archive/2026120100.ndjson",
	    state_dir);
	tu_write_file(path, left, strlen(left), 0600);
	clock_test_set(T0 + 30 * 60000, STILL);
	assert_non_null(a = archive_start(rc, state_dir, "h1", &err));
	add(a, "b", 2, T0 + 40 * 60000);
	clock_test_set(T0 + 2 * H, STILL);
	archive_flush(a);
	archive_stop(a);
	snprintf(path, sizeof(path), "%s/p/metrics/h1/2026/12/01/00.ndjson.gz",
	    store);
	zlines(path, text, sizeof(text));
	assert_string_equal(text,
	    "{\"t\":1796083200001,\"name\":\"a\",\"value\":1}\n"
	    "{\"t\":1796085600000,\"name\":\"b\",\"value\":2}\n");
	runconf_free(rc);
	clock_test_set(0, 0);
}

static void
test_bounded_spool(void **state)
{
	struct runconf *rc = load("spool_max = \"1MiB\";");
	struct ag_err err = { "" };
	struct archive_stats st;
	struct archive *a;
	char path[8192];
	static uint8_t blob[400 << 10];

	(void)state;
	/* The target cannot be made: its folder's parent is a file. */
	tu_write_file(store, "x", 1, 0600);
	snprintf(path, sizeof(path), "%s/archive", state_dir);
	assert_int_equal(ag_mkdir_p(path, 0700, 0700), 0);
	for (int h = 0; h < 4; h++) {
		snprintf(path, sizeof(path),
		    "%s/archive/202612010%d.ndjson.gz", state_dir, h);
		tu_write_file(path, blob, sizeof(blob), 0600);
	}
	clock_test_set(T0 + 5 * H, STILL);
	assert_non_null(a = archive_start(rc, state_dir, "h1", &err));
	add(a, "b", 2, T0 + 5 * H);
	archive_flush(a);
	archive_stats(a, &st);
	/* 1.6 MiB and a line: the two oldest go, the two newest wait. */
	assert_int_equal(st.dropped_hours, 2);
	assert_int_equal(st.dropped_bytes, 2 * sizeof(blob));
	assert_int_equal(st.hours_waiting, 2);
	assert_true(st.spool_bytes <= (1 << 20));
	assert_true(st.failures >= 1);
	assert_true(st.last_error[0] != '\0');
	assert_false(exists("%s/archive/%s", state_dir,
	    "2026120100.ndjson.gz"));
	assert_false(exists("%s/archive/%s", state_dir,
	    "2026120101.ndjson.gz"));
	assert_true(exists("%s/archive/%s", state_dir,
	    "2026120102.ndjson.gz"));
	assert_true(exists("%s/archive/%s", state_dir,
	    "2026120103.ndjson.gz"));
	archive_stop(a);
	runconf_free(rc);
	clock_test_set(0, 0);
}

static void
test_encrypted(void **state)
{
	char extra[8192], key[4096], other[4096], obj[8192], text[4096];
	struct runconf *rc;
	struct ag_err err = { "" };
	struct archive *a;
	uint8_t raw[32], *p, *gz;
	size_t n, gzlen;

	(void)state;
	snprintf(key, sizeof(key), "%s/arch.key", tu_tmpdir());
	snprintf(other, sizeof(other), "%s/other.key", tu_tmpdir());
	memset(raw, 7, sizeof(raw));
	tu_write_file(key, raw, sizeof(raw), 0600);
	memset(raw, 8, sizeof(raw));
	tu_write_file(other, raw, sizeof(raw), 0600);
	snprintf(extra, sizeof(extra), "key_file = \"%s\";", key);
	rc = load(extra);
	clock_test_set(T0, STILL);
	assert_non_null(a = archive_start(rc, state_dir, "h1", &err));
	add(a, "secret.reading", 42, T0 + 1000);
	clock_test_set(T0 + 2 * H, STILL);
	archive_flush(a);
	archive_stop(a);
	snprintf(obj, sizeof(obj),
	    "%s/p/metrics/h1/2026/12/01/00.ndjson.gz.vgl", store);
	assert_non_null(p = tu_read_file(obj, &n));
	assert_null(memmem(p, n, "secret", 6));
	assert_int_equal(archive_decrypt(other, p, n, &gz, &gzlen, &err), -1);
	assert_int_equal(archive_decrypt(key, p, n, &gz, &gzlen, &err), 0);
	snprintf(obj, sizeof(obj), "%s/opened.gz", tu_tmpdir());
	tu_write_file(obj, gz, gzlen, 0600);
	zlines(obj, text, sizeof(text));
	assert_string_equal(text,
	    "{\"t\":1796083201000,\"name\":\"secret."
	    "reading\",\"value\":42}\n");
	free(gz);
	free(p);
	runconf_free(rc);
	clock_test_set(0, 0);
}

/* A reload's settings (another target) take the hours still waiting. */
static void
test_reconfigure(void **state)
{
	struct runconf *rc = load(""), *rc2;
	struct ag_err err = { "" };
	struct archive *a;
	char first[4096], dir[4096];

	(void)state;
	snprintf(first, sizeof(first), "%s", store);
	snprintf(dir, sizeof(dir), "%s", state_dir);
	clock_test_set(T0, STILL);
	assert_non_null(a = archive_start(rc, dir, "h1", &err));
	add(a, "r", 1, T0 + 1000);
	archive_flush(a);
	rc2 = load("grace = \"1h\";");
	archive_reconfigure(a, rc2);
	runconf_free(rc);
	/* The new grace holds the hour open; then the new target has it. */
	clock_test_set(T0 + H + 30 * 60000, STILL);
	archive_flush(a);
	assert_false(exists("%s/%s", store,
	    "p/metrics/h1/2026/12/01/00."
	    "ndjson.gz"));
	clock_test_set(T0 + 2 * H, STILL);
	archive_flush(a);
	assert_true(exists("%s/%s", store,
	    "p/metrics/h1/2026/12/01/00."
	    "ndjson.gz"));
	assert_false(exists("%s/%s", first,
	    "p/metrics/h1/2026/12/01/00."
	    "ndjson.gz"));
	archive_stop(a);
	runconf_free(rc2);
	clock_test_set(0, 0);
}

/* ${archive}: the section; the error must mention ${want}. */
static void
conf_refused(const char *archive, const char *want)
{
	char path[4096], text[8192];
	struct conf_errs errs = { 0 };
	struct runconf *rc = NULL;
	bool found = false;

	snprintf(path, sizeof(path), "%s/bad%u.conf", tu_tmpdir(), nconf++);
	snprintf(text, sizeof(text),
	    "agent = { state_dir = \"%s/bs\"; control_socket = \"%s/b.sock\"; "
	    "};\nstorage = { here = { type = \"local\"; path = \"%s/bst\"; "
	    "}; };\narchive = %s;\n",
	    tu_tmpdir(), tu_tmpdir(), tu_tmpdir(), archive);
	tu_write_file(path, text, strlen(text), 0600);
	assert_int_equal(runconf_load(path, &rc, &errs), -1);
	for (size_t i = 0; i < errs.n; i++)
		if (strstr(errs.msgs[i], want) != NULL)
			found = true;
	if (!found) {
		for (size_t i = 0; i < errs.n; i++)
			fprintf(stderr, "%s\n", errs.msgs[i]);
		fail_msg("no error with \"%s\"", want);
	}
	conf_errs_free(&errs);
}

static void
test_conf(void **state)
{
	(void)state;
	conf_refused("{ prefix = \"x\"; }", "storage");
	conf_refused("{ storage = \"there\"; }",
	    "no storage target named \"there\"");
	conf_refused("{ storage = \"here\"; prefix = \"/x\"; }", "'/'");
	conf_refused("{ storage = \"here\"; key_file = \"k\"; }", "absolute");
	conf_refused("{ storage = \"here\"; spool_max = \"1KiB\"; }", "1MiB");
	conf_refused("{ storage = \"here\"; grace = \"25h\"; }", "24h");
	conf_refused("{ storage = \"here\"; colour = 1; }", "colour");
	conf_refused("( 1 )", "group");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hour_names),
		cmocka_unit_test(test_line_format),
		cmocka_unit_test(test_recover),
		cmocka_unit_test(test_hour_sealed_and_uploaded),
		cmocka_unit_test(test_crash_resumed),
		cmocka_unit_test(test_bounded_spool),
		cmocka_unit_test(test_encrypted),
		cmocka_unit_test(test_reconfigure),
		cmocka_unit_test(test_conf),
	};

	return cmocka_run_group_tests(tests, tu_tmpdir_setup,
	    tu_tmpdir_teardown);
}
