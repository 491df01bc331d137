/*
 * fuzz_job.c: fuzzing target for the backup job state file
 * (<state_dir>/jobs/<job>.json), read at start-up and after every run.
 *
 * The input is that file for the job "nightly" of a fixed config.  It goes
 * through job_state_load() and then through what the daemon does with the
 * result: jobs_configure() (next and missed runs from the last run's
 * time), jobs_metrics() (the backup.* readings rules see) and
 * jobs_status() (`vigil status`).  Nothing is run: jobs_tick(), which
 * would start a backup, is not called.  Checked: the strings read are
 * terminated, the readings finite, and the status lists the job with its
 * last run and last success whenever the state has them.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "agent/job_state.h"
#include "agent/jobs.h"
#include "agent/metric.h"
#include "agent/runconf.h"
#include "backup/job.h"
#include "lib/ag.h"

#include "tests/fuzz/fuzz.h"

/* 2026-11-22T12:00:00Z */
#define JOB_NOW_MS 1795348800000LL

static struct runconf *job_rc;
static char state_dir[4096];
static char state_file[4096];

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct conf_errs errs = { 0 };
	char conf[4096], key[4096], text[4 * 4096 + 512];
	uint8_t raw[32];

	(void)argc;
	(void)argv;
	fuzz_quiet();
	setenv("TZ", "UTC", 1);
	tzset();
	snprintf(state_dir, sizeof(state_dir), "%s", fuzz_path("state"));
	snprintf(state_file, sizeof(state_file), "%s",
	    fuzz_path("state/jobs/nightly.json"));
	snprintf(key, sizeof(key), "%s", fuzz_path("backup.key"));
	for (int i = 0; i < 32; i++)
		raw[i] = (uint8_t)i;
	fuzz_write(key, raw, sizeof(raw), 0600);
	if ((size_t)snprintf(text, sizeof(text),
		"agent = { state_dir = \"%s\";\n"
		"    control_socket = \"%s/sock\"; };\n"
		"storage = { here = { type = \"local\";\n"
		"    path = \"%s/store\"; }; };\n"
		"backups = ( { name = \"nightly\"; paths = [ \"/etc\" ];\n"
		"    storage = \"here\"; key_file = \"%s\";\n"
		"    schedule = \"daily 03:00\"; splay = \"10m\";\n"
		"    keep_last = 3; } );\n",
		state_dir, fuzz_tmpdir(), fuzz_tmpdir(), key) >= sizeof(text))
		fuzz_fail("the temporary folder's name is too long");
	snprintf(conf, sizeof(conf), "%s", fuzz_path("vigil.conf"));
	fuzz_write(conf, text, strlen(text), 0600);
	if (runconf_load(conf, &job_rc, &errs) != 0 || job_rc->njobs != 1)
		fuzz_fail("the job config does not load: %s",
		    errs.n > 0 ? errs.msgs[0] : "?");
	conf_errs_free(&errs);
	return 0;
}

static void
check_terminated(const char *s, size_t size, const char *what)
{
	if (memchr(s, '\0', size) == NULL)
		fuzz_fail("job_state_load(): %s is not terminated", what);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct job_state st;
	struct ag_err err = { "" };
	struct metric_batch b;
	struct jobs *j;
	json_t *status, *o;
	char *text;
	int rc;

	fuzz_write(state_file, data, size, 0600);
	memset(&st, 0, sizeof(st));
	rc = job_state_load(state_dir, "nightly", &st, &err);
	fuzz_note("job_state_load: %d %s, run %d, success %d", rc, err.msg,
	    st.has_run, st.has_success);
	if (rc < 0 && err.msg[0] == '\0')
		fuzz_fail("job_state_load() failed without a message");
	if (rc == 0) {
		check_terminated(st.last_run_id, sizeof(st.last_run_id),
		    "last_run_id");
		check_terminated(st.last_success_id,
		    sizeof(st.last_success_id), "last_success_id");
		check_terminated(st.last_error, sizeof(st.last_error),
		    "last_error");
	}

	if ((j = jobs_new(state_dir, "fuzzhost")) == NULL)
		fuzz_fail("jobs_new() failed");
	jobs_configure(j, job_rc, JOB_NOW_MS);
	metric_batch_init(&b, 64);
	b.now_ms = JOB_NOW_MS;
	jobs_metrics(j, &b);
	for (size_t i = 0; i < b.n; i++)
		if (!isfinite(b.v[i].value))
			fuzz_fail("jobs_metrics(): %s is %f", b.v[i].name,
			    b.v[i].value);
	metric_batch_free(&b);

	if ((status = jobs_status(j, JOB_NOW_MS)) == NULL)
		fuzz_fail("jobs_status() failed");
	if (json_array_size(status) != 1)
		fuzz_fail("jobs_status(): %zu jobs listed, not 1 (state file "
			  "load %s)",
		    json_array_size(status), rc == 0 ? "ok" : "failed");
	o = json_array_get(status, 0);
	if (rc == 0 && st.has_run && json_object_get(o, "last_run") == NULL)
		fuzz_fail("jobs_status(): the last run is missing");
	if (rc == 0 && st.has_success &&
	    json_object_get(o, "last_success") == NULL)
		fuzz_fail("jobs_status(): the last success is missing");
	if ((text = json_dumps(status, JSON_COMPACT)) == NULL)
		fuzz_fail("jobs_status(): cannot be serialized");
	free(text);
	json_decref(status);
	jobs_free(j);
	return 0;
}
