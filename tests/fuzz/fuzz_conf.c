/*
 * fuzz_conf.c: fuzzing target for the configuration file.
 *
 * The input is a vigil.conf.  It is written to a file of mode 0600 (so that
 * inline secrets are allowed and their code runs too) and read twice:
 * conf_load() alone (libconfig and the agent section), then runconf_load(),
 * which builds every source, notifier, rule, storage target and backup job
 * it names and checks them against each other.  Whatever is accepted is
 * freed again; the sanitizers and LeakSanitizer do the checking, plus one
 * property: a config that runconf_load() accepts has no errors recorded,
 * and one it refuses has at least one (`vigil config check` prints them).
 *
 * Inputs may @include: the reader (conf/conf_src.c) checks every file it
 * opens, so "/dev/stdin", a folder or the input itself ("vigil.conf") give
 * an error instead of a hang or an exit; the seeds include_*.conf try
 * them.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/runconf.h"
#include "conf/conf.h"

#include "tests/fuzz/fuzz.h"

/* libconfig reads the whole file into a tree: keep inputs reasonable. */
#define CONF_INPUT_MAX (256u << 10)

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_quiet();
	(void)fuzz_tmpdir();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conf_errs errs = { 0 };
	struct runconf *rc = NULL;
	struct conf *c = NULL;
	char path[4096];
	int r;

	if (size > CONF_INPUT_MAX)
		return 0;
	snprintf(path, sizeof(path), "%s", fuzz_path("vigil.conf"));
	fuzz_write(path, data, size, 0600);

	r = conf_load(path, &c, &errs);
	if (r == 0)
		conf_free(c);
	else if (errs.n == 0)
		fuzz_fail("conf_load() failed without an error message");
	conf_errs_free(&errs);

	memset(&errs, 0, sizeof(errs));
	r = runconf_load(path, &rc, &errs);
	fuzz_note("runconf_load: %d, %zu errors%s%s", r, errs.n,
	    errs.n > 0 ? ": " : "", errs.n > 0 ? errs.msgs[0] : "");
	if (r == 0) {
		if (errs.n != 0)
			fuzz_fail("runconf_load() accepted a config with %zu "
				  "errors: %s",
			    errs.n, errs.msgs[0]);
		runconf_free(rc);
	} else if (errs.n == 0) {
		fuzz_fail("runconf_load() refused a config without saying "
			  "why");
	}
	conf_errs_free(&errs);
	return 0;
}
