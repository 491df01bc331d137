/*
 * fuzz_proc.c: fuzzing target for the /proc parsers of the local sources.
 *
 * The sources read /proc under a root that tests can move
 * (source_set_proc_root()); here it is the fuzzer's temporary folder.  An
 * input is
 *
 *	byte 0		which source, modulo 7:
 *			0 cpu      proc/stat
 *			1 memory   proc/meminfo
 *			2 load     proc/loadavg (A) and proc/stat (B)
 *			3 network  proc/net/dev
 *			4 diskio   proc/diskstats
 *			5 disk     proc/self/mounts (and statvfs() of its
 *			           mount points)
 *			6 process  proc/1/comm (A) and proc/1/cmdline (B)
 *	the rest	A, then optionally the line "--8<--" and B
 *
 * One source instance collects twice, ten seconds apart on the batch's
 * monotonic clock, so the rate sources compare two samples: the first
 * collection reads A and the second B (where a source reads two files,
 * both collections read A and B).  Without B the same text is read twice.
 * Checked: every reading is finite and matches one of the source's
 * patterns (which is how the config check knows what rules can see), and
 * goes through a rule that fires on any value: each notification must
 * survive the spool (fuzz_check_notification()), since metric names carry
 * interface names, mount points and device names from these files.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/metric.h"
#include "agent/notify.h"
#include "agent/rules.h"
#include "agent/source.h"
#include "conf/conf.h"
#include "lib/ag.h"

#include "tests/fuzz/fuzz.h"

#define PROC_SEP "\n--8<--\n"
#define PROC_NSRC 7

/* One source per selector, in the order above. */
static const char proc_conf_text[] =
    "sources = (\n"
    "  { type = \"cpu\"; per_cpu = true; },\n"
    "  { type = \"memory\"; },\n"
    "  { type = \"load\"; },\n"
    "  { type = \"network\"; },\n"
    "  { type = \"diskio\"; },\n"
    "  { type = \"disk\"; },\n"
    "  { type = \"process\"; names = [ \"sshd\", \"cron\", \"nginx\","
    " \"python3\" ]; }\n"
    ");\n"
    "rules = ( { name = \"all\"; metric = \"*\"; op = \">=\";"
    " crit = -1.0e300; } );\n";

/* The files each selector's A and B go to (B NULL: A's file again). */
static const char *const proc_files[PROC_NSRC][2] = {
	{ "proc/stat", NULL },
	{ "proc/meminfo", NULL },
	{ "proc/loadavg", "proc/stat" },
	{ "proc/net/dev", NULL },
	{ "proc/diskstats", NULL },
	{ "proc/self/mounts", NULL },
	{ "proc/1/comm", "proc/1/cmdline" },
};

static struct conf *proc_conf;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct conf_errs errs = { 0 };
	char path[4096];

	(void)argc;
	(void)argv;
	fuzz_quiet();
	snprintf(path, sizeof(path), "%s", fuzz_path("sources.conf"));
	fuzz_write(path, proc_conf_text, strlen(proc_conf_text), 0600);
	if (conf_load(path, &proc_conf, &errs) != 0 || errs.n != 0 ||
	    conf_len(proc_conf->sources) != PROC_NSRC)
		fuzz_fail("the sources config does not load: %s",
		    errs.n > 0 ? errs.msgs[0] : "?");
	conf_errs_free(&errs);
	source_set_proc_root(fuzz_tmpdir());
	return 0;
}

static void
on_emit(void *cookie, const struct notification *n, char *const *notify)
{
	(void)cookie;
	(void)notify;
	fuzz_note("rules: emitted %s", n->metric);
	fuzz_check_notification(n);
}

static struct rules *
engine_new(void)
{
	struct conf_errs errs = { 0 };
	struct rules *r = fuzz_oom(rules_new("fuzzhost"));
	struct rule_conf *rc;

	if (rule_conf_parse(conf_elem(proc_conf->rules, 0), &rc, &errs) != 0 ||
	    rules_add(r, rc) != 0)
		fuzz_fail("the catch-all rule does not load: %s",
		    errs.n > 0 ? errs.msgs[0] : "?");
	conf_errs_free(&errs);
	return r;
}

static void
check_batch(const struct source *s, const struct metric_batch *b)
{
	const char *const *pat = source_patterns(s);

	for (size_t i = 0; i < b->n; i++) {
		const struct metric *m = &b->v[i];
		size_t k;

		if (!isfinite(m->value))
			fuzz_fail("%s: reading %s is %f", source_type(s),
			    m->name, m->value);
		for (k = 0; pat != NULL && pat[k] != NULL; k++)
			if (metric_glob_match(pat[k], m->name))
				break;
		if (pat == NULL || pat[k] == NULL)
			fuzz_fail("%s: reading \"%s\" matches none of the "
				  "source's patterns",
			    source_type(s), m->name);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conf_errs errs = { 0 };
	struct metric_batch b;
	struct ag_err err;
	struct source *s;
	struct rules *r;
	const uint8_t *a, *bb, *sep;
	size_t alen, blen;
	unsigned sel;
	int pass, rc;

	if (size < 1)
		return 0;
	sel = data[0] % PROC_NSRC;
	a = data + 1;
	alen = size - 1;
	bb = a;
	blen = alen;
	if ((sep = memmem(a, alen, PROC_SEP, strlen(PROC_SEP))) != NULL) {
		alen = (size_t)(sep - a) + 1; /* keep A's newline */
		bb = sep + strlen(PROC_SEP);
		blen = size - (size_t)(bb - data);
	}
	s = source_new(conf_elem(proc_conf->sources, sel), &errs);
	if (s == NULL)
		fuzz_fail("source %u: %s", sel,
		    errs.n > 0 ? errs.msgs[0] : "?");
	conf_errs_free(&errs);
	r = engine_new();
	metric_batch_init(&b, 4096);
	for (pass = 0; pass < 2; pass++) {
		const char *fa = proc_files[sel][0], *fb = proc_files[sel][1];

		if (fb != NULL) {
			fuzz_write(fuzz_path(fa), a, alen, 0644);
			fuzz_write(fuzz_path(fb), bb, blen, 0644);
		} else if (pass == 0) {
			fuzz_write(fuzz_path(fa), a, alen, 0644);
		} else {
			fuzz_write(fuzz_path(fa), bb, blen, 0644);
		}
		metric_batch_reset(&b);
		b.now_ms = 1795316400000 + pass * 10000;
		b.mono_ms = 1000000 + pass * 10000;
		err.msg[0] = '\0';
		rc = source_collect(s, &b, &err);
		fuzz_note("%s pass %d: %d %s, %zu readings", source_type(s),
		    pass, rc, err.msg, b.n);
		check_batch(s, &b);
		rules_feed(r, &b, on_emit, NULL);
	}
	metric_batch_free(&b);
	rules_free(r);
	source_free(s);
	return 0;
}
