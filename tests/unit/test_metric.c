/*
 * test_metric.c: the reading batch (growth, maximum, name limits), glob
 * matching and overlap (hand-picked edge cases plus a brute-force check
 * against enumerated strings), and counter rates.
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

#include <cmocka.h>

#include "agent/metric.h"

static void
test_batch_limits(void **state)
{
	struct metric_batch b;

	(void)state;
	metric_batch_init(&b, 20);
	b.now_ms = 1234;
	for (int i = 0; i < 20; i++)
		assert_int_equal(metric_add(&b, i * 1.5, "m.%d", i), 0);
	/* Grown 16 -> 20, never past the maximum. */
	assert_int_equal(b.n, 20);
	assert_int_equal(b.cap, 20);
	assert_int_equal(metric_add(&b, 1.0, "one.too.many"), -1);
	assert_int_equal(metric_add_ts(&b, 1, 1.0, "x"), -1);
	assert_int_equal(b.n, 20);
	assert_string_equal(b.v[7].name, "m.7");
	assert_true(b.v[7].value == 10.5);
	assert_int_equal(b.v[7].ts_ms, 1234);

	/* Reset keeps the memory; readings start over. */
	metric_batch_reset(&b);
	assert_int_equal(b.n, 0);
	assert_int_equal(b.cap, 20);
	assert_int_equal(metric_add_ts(&b, 99, 2.0, "later"), 0);
	assert_int_equal(b.v[0].ts_ms, 99);
	metric_batch_free(&b);
	assert_null(b.v);
	assert_int_equal(b.n, 0);
	metric_batch_free(&b); /* twice is harmless */

	metric_batch_init(&b, 0);
	assert_int_equal(metric_add(&b, 1.0, "x"), -1);
	metric_batch_free(&b);
}

static void
test_batch_names(void **state)
{
	struct metric_batch b;
	char name[METRIC_NAME_MAX + 1];

	(void)state;
	metric_batch_init(&b, 10);
	/* METRIC_NAME_MAX - 1 characters fit, one more does not. */
	memset(name, 'a', sizeof(name));
	name[METRIC_NAME_MAX - 1] = '\0';
	assert_int_equal(metric_add_ts(&b, 0, 1.0, name), 0);
	assert_int_equal(strlen(b.v[0].name), METRIC_NAME_MAX - 1);
	name[METRIC_NAME_MAX - 1] = 'a';
	name[METRIC_NAME_MAX] = '\0';
	assert_int_equal(metric_add_ts(&b, 0, 1.0, name), -1);
	assert_int_equal(metric_add(&b, 1.0, "%s", name), -1);
	assert_int_equal(metric_add(&b, 1.0, "%s", ""), -1);
	assert_int_equal(b.n, 1);
	assert_int_equal(metric_add(&b, 3.0, "disk.%s.used_pct", "/var"), 0);
	assert_string_equal(b.v[1].name, "disk./var.used_pct");
	metric_batch_free(&b);
}

static void
test_glob_match(void **state)
{
	static const struct {
		const char *pat, *name;
		int want;
	} t[] = {
		{ "cpu.used_pct", "cpu.used_pct", 1 },
		{ "cpu.used_pct", "cpu.used_pc", 0 },
		{ "cpu.used_pct", "cpu.used_pctx", 0 },
		{ "disk.*.used_pct", "disk./var.used_pct", 1 },
		{ "disk.*.used_pct", "disk./.used_pct", 1 },
		{ "disk.*.used_pct", "disk./a.b/c.used_pct", 1 },
		{ "disk.*.used_pct", "disk.used_pct", 0 },
		{ "disk.*.used_pct", "disk..used_pct", 1 },
		{ "disk.*.used_pct", "disk./var.free_bytes", 0 },
		{ "*", "", 1 },
		{ "*", "anything.at/all", 1 },
		{ "**", "", 1 },
		{ "", "", 1 },
		{ "", "a", 0 },
		{ "a", "", 0 },
		{ "?", "", 0 },
		{ "?", "x", 1 },
		{ "?", "xy", 0 },
		{ "??*", "x", 0 },
		{ "??*", "xy", 1 },
		{ "cpu.?.used_pct", "cpu.3.used_pct", 1 },
		{ "cpu.?.used_pct", "cpu.12.used_pct", 0 },
		{ "*aab", "aaab", 1 }, /* needs backtracking */
		{ "*aab", "aaba", 0 },
		{ "a*b*c", "abc", 1 },
		{ "a*b*c", "axxbyyc", 1 },
		{ "a*b*c", "axxbyy", 0 },
		{ "a*b*c", "acb", 0 },
		{ "*.rx_bytes_per_s", "net.eth0.100.rx_bytes_per_s", 1 },
		{ "net.*", "net", 0 },
		{ "abc**", "abc", 1 },
		{ "*x*", "yyy", 0 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		if (metric_glob_match(t[i].pat, t[i].name) != t[i].want)
			fail_msg("match(\"%s\", \"%s\") != %d", t[i].pat,
			    t[i].name, t[i].want);
	}
}

static void
test_glob_overlap_cases(void **state)
{
	static const struct {
		const char *a, *b;
		int want;
	} t[] = {
		{ "disk.*.used_pct", "disk./var.used_pct", 1 },
		{ "disk.*.used_pct", "disk.*.free_bytes", 0 },
		{ "disk.*.used_pct", "*.used_pct", 1 },
		{ "cpu.*", "*.used_pct", 1 },
		{ "cpu.*.used_pct", "cpu.used_pct", 0 },
		{ "a*", "*b", 1 },
		{ "a*", "b*", 0 },
		{ "*a", "*b", 0 },
		{ "*", "", 1 },
		{ "", "", 1 },
		{ "?", "", 0 },
		{ "?", "*", 1 },
		{ "a?c", "?b?", 1 },
		{ "a?c", "?b", 0 },
		{ "ab*", "a*c", 1 },
		{ "a*b", "a*c", 0 },
		{ "*x*", "*y*", 1 },
		{ "???", "*", 1 },
		{ "??", "a", 0 },
		{ "a*", "a", 1 },
		{ "mem.used_pct", "mem.used_pct", 1 },
		{ "mem.used_pct", "mem.used_pcx", 0 },
		{ "*.1", "load.?", 1 },
		{ "*.15", "load.?", 0 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		if (metric_glob_overlap(t[i].a, t[i].b) != t[i].want)
			fail_msg("overlap(\"%s\", \"%s\") != %d", t[i].a,
			    t[i].b, t[i].want);
		if (metric_glob_overlap(t[i].b, t[i].a) != t[i].want)
			fail_msg("overlap(\"%s\", \"%s\") != %d", t[i].b,
			    t[i].a, t[i].want);
	}
}

/*
 * Brute force: a shortest string matching two globs has at most as many
 * characters as the two have non-'*' positions together (a character that
 * both match with a '*' can be dropped), so enumerating every string up to
 * that length over {a, b, c} ("c" stands for any other character) decides
 * overlap.  Random patterns over {a, b, *, ?} of length 0..4 need strings of
 * at most 8 characters.
 */
static int
brute_overlap(const char *a, const char *b)
{
	char s[9];
	size_t max = 0;

	for (const char *p = a; *p != '\0'; p++)
		max += *p != '*';
	for (const char *p = b; *p != '\0'; p++)
		max += *p != '*';
	for (size_t len = 0; len <= max; len++) {
		size_t total = 1;

		for (size_t i = 0; i < len; i++)
			total *= 3;
		for (size_t k = 0; k < total; k++) {
			size_t x = k;

			for (size_t i = 0; i < len; i++, x /= 3)
				s[i] = "abc"[x % 3];
			s[len] = '\0';
			if (metric_glob_match(a, s) && metric_glob_match(b, s))
				return 1;
		}
	}
	return 0;
}

static void
random_glob(char *buf, unsigned *seed)
{
	size_t len = (size_t)(rand_r(seed) % 5);

	for (size_t i = 0; i < len; i++)
		buf[i] = "ab*?"[rand_r(seed) % 4];
	buf[len] = '\0';
}

static void
test_glob_overlap_brute(void **state)
{
	unsigned seed = 20261122;
	char a[8], b[8];
	int yes = 0, no = 0, got, want;

	(void)state;
	for (int i = 0; i < 3000; i++) {
		random_glob(a, &seed);
		random_glob(b, &seed);
		got = metric_glob_overlap(a, b);
		want = brute_overlap(a, b);
		if (got != want)
			fail_msg("overlap(\"%s\", \"%s\") = %d, brute force %d",
			    a, b, got, want);
		if (want)
			yes++;
		else
			no++;
	}
	/* The sample exercises both answers. */
	assert_true(yes > 100);
	assert_true(no > 100);
}

static void
test_rate(void **state)
{
	double r = -7.0;

	(void)state;
	assert_int_equal(metric_rate(100, 300, 2000, &r), 0);
	assert_true(r == 100.0);
	assert_int_equal(metric_rate(100, 100, 1000, &r), 0);
	assert_true(r == 0.0);
	assert_int_equal(metric_rate(0, 1, 250, &r), 0);
	assert_true(r == 4.0);
	/* Near the top of the range, still exact. */
	assert_int_equal(metric_rate(UINT64_MAX - 10, UINT64_MAX, 1000, &r),
	    0);
	assert_true(r == 10.0);

	/* Backwards (a wrap or a reset) and bad intervals give no rate. */
	r = -7.0;
	assert_int_equal(metric_rate(UINT64_MAX - 5, 5, 1000, &r), -1);
	assert_int_equal(metric_rate(4294967000u, 1000, 1000, &r), -1);
	assert_int_equal(metric_rate(300, 100, 1000, &r), -1);
	assert_int_equal(metric_rate(100, 300, 0, &r), -1);
	assert_int_equal(metric_rate(100, 300, -1000, &r), -1);
	assert_true(r == -7.0); /* untouched on failure */
}

static void
test_labels(void **state)
{
	struct metric_label l[] = { { "Zone", "eu-west-1a" },
		{ "InstanceId", "i-0abc" }, { "Odd", "a\\b,c}d=e{f" } };
	struct metric_label dup[] = { { "K", "1" }, { "K", "2" } };
	struct metric_label empty[] = { { "", "1" } };
	char buf[METRIC_NAME_MAX], k[64], v[64], small[4];
	const char *cur;
	struct metric_batch b;
	int n;

	(void)state;
	n = metric_name_format(buf, sizeof(buf), "ec2.CPUUtilization", l, 3);
	assert_string_equal(buf,
	    "ec2.CPUUtilization{InstanceId=i-0abc,Odd=a\\\\b\\,c\\}d\\=e{f,"
	    "Zone=eu-west-1a}");
	assert_int_equal(n, (int)strlen(buf));
	/* The caller's array is not reordered. */
	assert_string_equal(l[0].key, "Zone");
	assert_int_equal(metric_base_len(buf), strlen("ec2.CPUUtilization"));
	assert_int_equal(metric_base_len("cpu.used_pct"), 12);

	/* Lookup and iteration give back the unescaped values, in order. */
	assert_int_equal(metric_label_get(buf, "Odd", v, sizeof(v)), 1);
	assert_string_equal(v, "a\\b,c}d=e{f");
	assert_int_equal(metric_label_get(buf, "Zone", v, sizeof(v)), 1);
	assert_string_equal(v, "eu-west-1a");
	assert_int_equal(metric_label_get(buf, "Nope", v, sizeof(v)), 0);
	assert_int_equal(metric_label_get(buf, "Odd", small, sizeof(small)),
	    -1);
	cur = buf;
	assert_int_equal(metric_label_next(&cur, k, sizeof(k), v, sizeof(v)),
	    1);
	assert_string_equal(k, "InstanceId");
	assert_string_equal(v, "i-0abc");
	assert_int_equal(metric_label_next(&cur, k, sizeof(k), v, sizeof(v)),
	    1);
	assert_string_equal(k, "Odd");
	assert_int_equal(metric_label_next(&cur, k, sizeof(k), v, sizeof(v)),
	    1);
	assert_string_equal(k, "Zone");
	assert_int_equal(metric_label_next(&cur, k, sizeof(k), v, sizeof(v)),
	    0);

	/* No labels: the base alone; local names have none. */
	assert_int_equal(metric_name_format(buf, sizeof(buf), "a.b", l, 0), 3);
	assert_string_equal(buf, "a.b");
	assert_int_equal(metric_label_get("disk./var.used_pct", "K", v,
			     sizeof(v)),
	    0);
	cur = "cpu.used_pct";
	assert_int_equal(metric_label_next(&cur, k, sizeof(k), v, sizeof(v)),
	    0);

	/* Refused: duplicate or empty keys, a '{' in the base, no room. */
	assert_int_equal(metric_name_format(buf, sizeof(buf), "a", dup, 2),
	    -1);
	assert_int_equal(metric_name_format(buf, sizeof(buf), "a", empty, 1),
	    -1);
	assert_int_equal(metric_name_format(buf, sizeof(buf), "a{", l, 1), -1);
	assert_int_equal(metric_name_format(buf, 10, "ec2.CPU", l, 1), -1);
	assert_int_equal(metric_name_format(buf, 20, "a", &l[1], 1), -1);
	assert_int_equal(metric_name_format(buf, 21, "a", &l[1], 1), 20);

	/* Malformed label parts. */
	assert_int_equal(metric_label_get("a{K}", "K", v, sizeof(v)), -1);
	assert_int_equal(metric_label_get("a{K=1", "K", v, sizeof(v)), -1);
	assert_int_equal(metric_label_get("a{=1}", "K", v, sizeof(v)), -1);
	assert_int_equal(metric_label_get("a{K=1=2}", "K", v, sizeof(v)), -1);
	assert_int_equal(metric_label_get("a{K=1}x", "K", v, sizeof(v)), -1);
	assert_int_equal(metric_label_get("a{K=1\\", "K", v, sizeof(v)), -1);
	assert_int_equal(metric_label_get("a{K=}", "K", v, sizeof(v)), 1);
	assert_string_equal(v, "");

	/* A long cloud name fits a reading. */
	memset(v, 'x', sizeof(v) - 1);
	v[sizeof(v) - 1] = '\0';
	{
		char big[300];
		struct metric_label one = { "AutoScalingGroupName", big };

		memset(big, 'g', 255);
		big[255] = '\0';
		assert_true(metric_name_format(buf, sizeof(buf),
				"ec2.CPUUtilization", &one, 1) > 255);
		metric_batch_init(&b, 4);
		assert_int_equal(metric_add_ts(&b, 1, 2.0, buf), 0);
		assert_int_equal(metric_retire(&b, buf), 0);
		assert_int_equal(b.v[0].flags, 0);
		assert_int_equal(b.v[1].flags, METRIC_RETIRED);
		metric_batch_free(&b);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_batch_limits),
		cmocka_unit_test(test_batch_names),
		cmocka_unit_test(test_glob_match),
		cmocka_unit_test(test_glob_overlap_cases),
		cmocka_unit_test(test_glob_overlap_brute),
		cmocka_unit_test(test_rate),
		cmocka_unit_test(test_labels),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
