/*
 * fuzz_rules.c: fuzzing target for the rule state file
 * (<state_dir>/rules.json), which vigild reads at start-up so that a
 * restart neither re-fires nor forgets an alert.
 *
 * The input is a state file.  A fresh engine with the rules below loads it
 * (rules_load() restores only series of rules whose name and settings
 * hash match, so the seeds were written by this very rule set: see
 * VIGIL_FUZZ_RULES_SEED).  Checked:
 *
 *  - what it restored saves, and the saved file loads into another fresh
 *    engine and saves to the same bytes (a state the engine accepted
 *    survives the next restart unchanged);
 *  - the restored engine then runs: walk, ticks, a batch of readings; every
 *    notification it emits must survive the spool (fuzz_check_notification).
 *
 * With VIGIL_FUZZ_RULES_SEED=FILE in the environment the program instead
 * drives these rules through a few state changes, saves the state to FILE
 * and exits: that is how corpus/rules/ was made (tests/fuzz/make_corpus.sh).
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <stdio.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "agent/metric.h"
#include "agent/notify.h"
#include "agent/rules.h"
#include "conf/conf.h"

#include "tests/fuzz/fuzz.h"

/* 2026-11-22T03:00:00Z, the time of the seeds. */
#define RULES_T0 1795316400000LL

static const char rules_conf_text[] =
    "rules = (\n"
    "  { name = \"cpu-high\"; metric = \"cpu.used_pct\"; op = \">\";\n"
    "    warn = 80.0; crit = 95.0; for = \"2m\"; clear = 70.0;\n"
    "    repeat = \"1h\"; notify = [ \"log\" ]; },\n"
    "  { name = \"disk-full\"; metric = \"disk.*.used_pct\"; op = \">=\";\n"
    "    warn = 85.0; crit = 95.0; no_data = \"10m\";\n"
    "    no_data_state = \"critical\"; notify = [ \"log\", \"hook\" ]; },\n"
    "  { name = \"load-low\"; metric = \"load.*\"; op = \"<\"; warn = 0.5;\n"
    "    no_data_state = \"keep\"; },\n"
    "  { name = \"proc-gone\"; metric = \"proc.*.running\"; op = \"==\";\n"
    "    crit = 0.0; repeat = \"30m\"; no_data = \"1m\"; },\n"
    "  { name = \"net-quiet\"; metric = \"net.*.rx_bytes_per_s\";\n"
    "    op = \"<=\"; warn = 10.0; crit = 0.0; for = \"5m\"; clear = 100.0;\n"
    "    no_data_state = \"ok\"; }\n"
    ");\n";

static struct conf *rules_conf;

static struct rules *
engine_new(void)
{
	struct conf_errs errs = { 0 };
	struct rules *r = fuzz_oom(rules_new("fuzzhost"));

	for (size_t i = 0; i < conf_len(rules_conf->rules); i++) {
		struct rule_conf *rc;

		if (rule_conf_parse(conf_elem(rules_conf->rules, i), &rc,
			&errs) != 0 ||
		    rules_add(r, rc) != 0)
			fuzz_fail("rule %zu does not load: %s", i,
			    errs.n > 0 ? errs.msgs[0] : "?");
	}
	conf_errs_free(&errs);
	return r;
}

static void
on_emit(void *cookie, const struct notification *n, char *const *notify)
{
	(void)cookie;
	fuzz_note("rules: emitted %s %s", n->rule, n->metric);
	if (notify == NULL)
		fuzz_fail("rules: emitted with a NULL notifier list");
	fuzz_check_notification(n);
}

static void
on_walk(void *cookie, const struct rule_series_info *si)
{
	(void)cookie;
	if (si->rule == NULL || si->metric == NULL)
		fuzz_fail("rules_walk(): a series without names");
	if ((unsigned)si->state > ST_UNKNOWN)
		fuzz_fail("rules_walk(): %s/%s in state %d", si->rule,
		    si->metric, (int)si->state);
}

static void
feed(struct rules *r, int64_t now_ms, double cpu, double disk_a, double disk_b,
    double load, double running)
{
	struct metric_batch b;

	metric_batch_init(&b, 64);
	b.now_ms = now_ms;
	b.mono_ms = now_ms;
	(void)metric_add(&b, cpu, "cpu.used_pct");
	(void)metric_add(&b, disk_a, "disk./.used_pct");
	(void)metric_add(&b, disk_b, "disk./var.used_pct");
	(void)metric_add(&b, load, "load.1");
	(void)metric_add(&b, running, "proc.sshd.running");
	(void)metric_add(&b, 5.0, "net.eth0.rx_bytes_per_s");
	rules_feed(r, &b, on_emit, NULL);
	metric_batch_free(&b);
}

/* VIGIL_FUZZ_RULES_SEED: a state with series in every state. */
static void
write_seed(const char *path)
{
	struct rules *r = engine_new();
	int64_t t = RULES_T0;

	feed(r, t, 50, 90, 10, 0.2, 1);
	feed(r, t + 60000, 97, 96, 10, 0.2, 0);
	feed(r, t + 180000, 98, 96, 10, 0.2, 0);
	rules_tick(r, t + 4 * 3600000LL, on_emit, NULL);
	if (rules_save(r, path) != 0)
		fuzz_fail("cannot save the seed to %s", path);
	rules_free(r);
	exit(0);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct conf_errs errs = { 0 };
	char path[4096];
	const char *seed;

	(void)argc;
	(void)argv;
	fuzz_quiet();
	snprintf(path, sizeof(path), "%s", fuzz_path("rules.conf"));
	fuzz_write(path, rules_conf_text, strlen(rules_conf_text), 0600);
	if (conf_load(path, &rules_conf, &errs) != 0 || errs.n != 0)
		fuzz_fail("the rules config does not load: %s",
		    errs.n > 0 ? errs.msgs[0] : "?");
	conf_errs_free(&errs);
	if ((seed = getenv("VIGIL_FUZZ_RULES_SEED")) != NULL && *seed != '\0')
		write_seed(seed);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char in[4096], a[4096], b[4096];
	char *text_a, *text_b;
	size_t len_a, len_b;
	struct rules *r1, *r2;

	snprintf(in, sizeof(in), "%s", fuzz_path("rules.json"));
	snprintf(a, sizeof(a), "%s", fuzz_path("rules-a.json"));
	snprintf(b, sizeof(b), "%s", fuzz_path("rules-b.json"));
	fuzz_write(in, data, size, 0600);

	r1 = engine_new();
	(void)rules_load(r1, in);
	if (rules_save(r1, a) != 0)
		fuzz_fail("rules_save() failed after a load");
	r2 = engine_new();
	if (rules_load(r2, a) != 0)
		fuzz_fail("rules_load() refuses the file rules_save() wrote");
	if (rules_save(r2, b) != 0)
		fuzz_fail("rules_save() failed on the second engine");
	text_a = fuzz_read(a, &len_a);
	text_b = fuzz_read(b, &len_b);
	if (text_a == NULL || text_b == NULL)
		fuzz_fail("a saved state file is missing");
	if (len_a != len_b || memcmp(text_a, text_b, len_a) != 0)
		fuzz_fail("the rule state changes on a save/load/save round "
			  "trip:\n  %s\n  %s",
		    text_a, text_b);
	free(text_a);
	free(text_b);
	rules_free(r2);

	fuzz_note("rules: saved %zu bytes", len_a);
	/* Run the restored engine as the daemon would. */
	rules_walk(r1, on_walk, NULL);
	rules_tick(r1, RULES_T0, on_emit, NULL);
	feed(r1, RULES_T0 + 1000, 96, 80, 99, 1.0, 1);
	rules_tick(r1, RULES_T0 + 2 * 3600000LL, on_emit, NULL);
	rules_tick(r1, RULES_T0 + 30LL * 86400000, on_emit, NULL);
	rules_walk(r1, on_walk, NULL);
	rules_free(r1);
	return 0;
}
