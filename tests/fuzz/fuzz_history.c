/*
 * fuzz_history.c: fuzzing target for the metric history's file
 * (<state_dir>/history.bin, agent/history_file.c), which vigild reads at
 * start-up.
 *
 * The input is a history file.  A history with the tiers below (10 s for
 * a minute, 1 min for 10, a cap of 256 KiB) reads it.  Checked:
 *
 *  - the history stays under its cap, and one that was set aside is
 *    empty and its file renamed to .bad;
 *  - what it read saves, the saved file loads into another history (not
 *    set aside) and saves to the same bytes, but for the time of the save
 *    and the check (what was accepted survives the next restart);
 *  - names, queries over every tier and a batch of readings run on it.
 *
 * With VIGIL_FUZZ_HISTORY_SEED=DIR in the environment the program instead
 * writes seeds into DIR (a history with these tiers, one with other tiers,
 * an empty one) and exits: that is how corpus/history/ was made
 * (tests/fuzz/make_corpus.sh).
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/history.h"
#include "agent/metric.h"

#include "tests/fuzz/fuzz.h"

/* 2026-11-22T03:00:00Z, the time of the seeds. */
#define T0 1795316400000LL

static const struct history_conf fconf = {
	.tiers = { { 10000, 60000 }, { 60000, 600000 } },
	.ntiers = 2,
	.memory_max = 256 * 1024,
	.save_interval_ms = 300000,
};

static struct metric_batch batch;

static struct history *
hist_new(const struct history_conf *c, const char *path)
{
	struct ag_err err = { "" };
	struct history *h = history_new(c, path, &err);

	if (h == NULL)
		fuzz_fail("history_new: %s", err.msg);
	return h;
}

static void
save(struct history *h)
{
	struct ag_err err = { "" };

	if (history_save(h, &err) != 0)
		fuzz_fail("history_save: %s", err.msg);
}

/* Ten minutes of readings of a few series, up to ${t_end}. */
static void
fill(struct history *h, int64_t t_end)
{
	for (int64_t t = t_end - 600000; t < t_end; t += 10000) {
		metric_batch_reset(&batch);
		(void)metric_add_ts(&batch, t, (double)(t % 9973) / 7,
		    "cpu.busy_pct");
		(void)metric_add_ts(&batch, t, 1e9 + (double)t,
		    "net.eth0.rx_bytes_per_s");
		(void)metric_add_ts(&batch, t, -2.5,
		    "ec2.CPUUtilization{InstanceId=i-0abc}");
		if (t % 30000 == 0)
			(void)metric_add_ts(&batch, t, 1, "sparse");
		history_add(h, &batch, t);
	}
}

static void
write_seeds(const char *dir)
{
	struct history_conf other = fconf;
	struct history *h;
	char path[4096];

	snprintf(path, sizeof(path), "%s/full.bin", dir);
	(void)unlink(path);
	h = hist_new(&fconf, path);
	fill(h, T0);
	save(h);
	history_free(h);

	other.tiers[0].span_ms = 30000;
	other.tiers[1] = (struct history_tier){ 300000, 3600000 };
	snprintf(path, sizeof(path), "%s/other-tiers.bin", dir);
	(void)unlink(path);
	h = hist_new(&other, path);
	fill(h, T0);
	save(h);
	history_free(h);

	snprintf(path, sizeof(path), "%s/empty.bin", dir);
	(void)unlink(path);
	h = hist_new(&fconf, path);
	save(h);
	history_free(h);
	exit(0);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *seed;

	(void)argc;
	(void)argv;
	fuzz_quiet();
	metric_batch_init(&batch, 1000);
	if ((seed = getenv("VIGIL_FUZZ_HISTORY_SEED")) != NULL &&
	    *seed != '\0')
		write_seeds(seed);
	return 0;
}

/* The file ${path} without the time of its save and its check. */
static char *
read_masked(const char *path, size_t *ret_len)
{
	char *text = fuzz_read(path, ret_len);
	size_t at;

	if (text == NULL)
		fuzz_fail("%s is missing after a save", path);
	/* magic, version, ntiers, the tiers, then saved_ms */
	at = 16 + 16 * fconf.ntiers;
	if (*ret_len < at + 8 + 8)
		fuzz_fail("a saved file of %zu bytes", *ret_len);
	memset(text + at, 0, 8);
	memset(text + *ret_len - 8, 0, 8);
	return text;
}

static void
use(struct history *h)
{
	json_t *names = history_names(h, NULL), *v, *q;
	int64_t from[] = { 0, T0 - 50000, T0 - 500000, T0 + 3600000 };
	int64_t steps[] = { 0, 1, 25000, 3600000, INT64_MAX };
	size_t i;

	if (names == NULL)
		fuzz_fail("history_names() failed");
	json_array_foreach(names, i, v)
	{
		for (size_t f = 0; f < 4; f++)
			for (size_t k = 0; k < 5; k++) {
				q = history_query(h, json_string_value(v),
				    from[f], T0 + 60000, steps[k]);
				if (q == NULL)
					fuzz_fail("no query of a series named");
				if (json_array_size(json_object_get(q,
					"points")) > 2000)
					fuzz_fail("more than 2,000 points");
				json_decref(q);
			}
	}
	json_decref(names);
	names = history_names(h, "*.*{*}");
	json_decref(names);
	fill(h, T0 + 120000);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char in[4096], bad[4200], b[4096];
	char *text_a, *text_b;
	size_t len_a, len_b;
	struct history_stats st;
	struct history *h1, *h2;

	snprintf(in, sizeof(in), "%s", fuzz_path("history.bin"));
	snprintf(bad, sizeof(bad), "%s.bad", in);
	snprintf(b, sizeof(b), "%s", fuzz_path("history-b.bin"));
	(void)unlink(bad);
	fuzz_write(in, data, size, 0600);

	h1 = hist_new(&fconf, in);
	history_stats(h1, &st);
	if (st.bytes > st.bytes_max)
		fuzz_fail("%zu bytes, over the cap of %zu", st.bytes,
		    st.bytes_max);
	if (access(bad, F_OK) == 0) {
		if (st.series != 0 || access(in, F_OK) == 0)
			fuzz_fail("set aside, but %zu series kept", st.series);
		fuzz_note("history: set aside");
		history_free(h1);
		return 0;
	}
	fuzz_note("history: %zu series read", st.series);
	save(h1);
	(void)unlink(b);
	if (rename(in, b) != 0)
		fuzz_fail("rename");
	h2 = hist_new(&fconf, b);
	snprintf(bad, sizeof(bad), "%s.bad", b);
	if (access(bad, F_OK) == 0)
		fuzz_fail("the file history_save() wrote was set aside");
	text_a = read_masked(b, &len_a);
	save(h2);
	text_b = read_masked(b, &len_b);
	if (len_a != len_b || memcmp(text_a, text_b, len_a) != 0)
		fuzz_fail("the history changes on a save/load/save round trip "
			  "(%zu and %zu bytes)",
		    len_a, len_b);
	free(text_a);
	free(text_b);
	history_free(h2);
	use(h1);
	history_stats(h1, &st);
	if (st.bytes > st.bytes_max)
		fuzz_fail("%zu bytes after readings, over the cap", st.bytes);
	history_free(h1);
	return 0;
}
