/*
 * job_runner.c: a run of a backup job around the engine (see
 * job_runner.h).
 *
 * The runner owns what the engine must not know: the lock, the hooks,
 * the state file, the log lines that open and close a run.  The job's
 * timeout starts here, so that a slow pre_hook counts against it; the
 * engine gets the same deadline (monotonic milliseconds, which a child
 * process shares with us) and the backup id named here, which the
 * pre_hook has already been told.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "lib/ag.h"
#include "lib/backup_id.h"
#include "lib/clock.h"
#include "lib/log.h"
#include "backup/jobconf.h"
#include "agent/plugin_module.h"
#include "agent/job_hooks.h"
#include "agent/job_state.h"

#include "agent/job_runner.h"

/* For job_hook_run(): a cancel or the job's timeout stops pre_hook. */
static bool
should_stop(void *cookie)
{
	return job_stop_check(cookie);
}

/* The engine in this process, through the heavy table. */
static int
engine_here(void *cookie, const struct job_conf *jc,
    const struct job_run_opts *opts, struct job_result *ret)
{
	const struct plugin_module *h;
	struct ag_err err = { "" };

	(void)cookie;
	if ((h = plugin_module_get(&err)) == NULL) {
		memset(ret, 0, sizeof(*ret));
		snprintf(ret->error, sizeof(ret->error),
		    "backup jobs need %.200s", err.msg);
		return -1;
	}
	return h->job_run(jc, opts, ret);
}

/* A warning of the runner's own (post_hook): counted, kept, logged. */
static void
add_warning(const struct job_conf *jc, struct job_result *res, const char *msg)
{
	res->warnings++;
	if (res->nfirst_warnings < JOB_RESULT_WARNINGS)
		snprintf(res->first_warnings[res->nfirst_warnings++],
		    AG_ERR_SIZE, "%.255s", msg);
	if (res->warnings <= JOB_LOG_WARNINGS)
		log_warn("backup %s: %s", jc->name, msg);
}

static void
post_hook(const struct job_conf *jc, struct job_result *res)
{
	char ej[128], eb[64], es[32], ee[AG_ERR_SIZE + 16];
	const char *extra[5];
	struct ag_err e;
	size_t k = 0;

	snprintf(ej, sizeof(ej), "VIGIL_JOB=%s", jc->name);
	snprintf(eb, sizeof(eb), "VIGIL_BACKUP_ID=%s", res->backup_id);
	snprintf(es, sizeof(es), "VIGIL_STATUS=%s", res->ok ? "ok" : "failed");
	extra[k++] = ej;
	extra[k++] = eb;
	extra[k++] = es;
	if (!res->ok) {
		snprintf(ee, sizeof(ee), "VIGIL_ERROR=%s", res->error);
		extra[k++] = ee;
	}
	extra[k] = NULL;
	/* A cancelled run still runs its post_hook, to clean up. */
	if (job_hook_run("post_hook", jc->post_hook, extra,
		jc->hook_timeout_ms, NULL, NULL, &e) != 0)
		add_warning(jc, res, e.msg);
}

/* The last progress report: the run's totals. */
static void
report_done(const struct job_run_opts *o, const struct job_result *res,
    int64_t t0)
{
	struct job_progress p;

	if (o->progress == NULL)
		return;
	p = (struct job_progress){ .bytes_read = res->bytes_in,
		.files = res->files + res->dirs + res->symlinks +
		    res->hardlinks + res->others,
		.tar_bytes = res->tar_bytes,
		.bytes_stored = res->bytes_stored,
		.elapsed_ms = clock_mono_ms() - t0,
		.done = true };
	o->progress(o->cookie, &p);
}

int
job_runner_run(const struct job_conf *jc, const struct job_run_opts *opts,
    job_engine_fn *engine, void *cookie, struct job_result *ret)
{
	struct job_stop stop = { .cancel = opts->cancel };
	struct job_run_opts eo;
	struct ag_err e = { "" };
	char id[BACKUP_ID_SIZE] = "", ej[128], eb[64];
	const char *extra[3];
	int64_t start_ms, t0;
	int lockfd = -1, rc;

	memset(ret, 0, sizeof(*ret));
	start_ms = ret->start_ms = clock_wall_ms();
	t0 = clock_mono_ms();
	if (jc->timeout_ms > 0)
		stop.deadline_ms = t0 + jc->timeout_ms;

	/* a. One run of a job at a time. */
	if (job_lock(opts->state_dir, jc->name, &lockfd, &e) != 0) {
		snprintf(ret->error, sizeof(ret->error), "%s", e.msg);
		ret->end_ms = clock_wall_ms();
		log_err("backup %s: %s", jc->name, e.msg);
		return -1;
	}
	/* b. */
	if (backup_id_make(start_ms / 1000, id) != 0) {
		(void)ag_err_set(&e, "cannot make a backup id");
		goto fail;
	}
	snprintf(ret->backup_id, sizeof(ret->backup_id), "%.23s", id);
	log_info("backup %s/%s: started", jc->name, id);

	/* c. The pre_hook may refuse the run. */
	if (jc->pre_hook != NULL) {
		snprintf(ej, sizeof(ej), "VIGIL_JOB=%s", jc->name);
		snprintf(eb, sizeof(eb), "VIGIL_BACKUP_ID=%s", id);
		extra[0] = ej;
		extra[1] = eb;
		extra[2] = NULL;
		rc = job_hook_run("pre_hook", jc->pre_hook, extra,
		    jc->hook_timeout_ms, should_stop, &stop, &e);
		if (rc == 1)
			(void)job_stop_error(&stop, jc->timeout_ms, &e);
		if (rc != 0)
			goto fail;
	}

	/* d. */
	eo = *opts;
	eo.backup_id = id;
	eo.deadline_ms = stop.deadline_ms;
	(void)(engine != NULL ? engine : engine_here)(cookie, jc, &eo, ret);
	/* The run started at a, not when the engine did. */
	ret->start_ms = start_ms;
	snprintf(ret->backup_id, sizeof(ret->backup_id), "%.23s", id);
	goto out;

fail:
	ret->cancelled = stop.cancelled;
	ret->timed_out = stop.timed_out;
	snprintf(ret->error, sizeof(ret->error), "%s",
	    e.msg[0] != '\0' ? e.msg : "failed");
out:
	/* e. */
	if (jc->post_hook != NULL)
		post_hook(jc, ret);
	/* f. */
	ret->end_ms = clock_wall_ms();
	report_done(opts, ret, t0);
	if (ret->warnings > JOB_LOG_WARNINGS)
		log_warn("backup %s: %" PRIu64 " warnings in all (%d shown)",
		    jc->name, ret->warnings, JOB_LOG_WARNINGS);
	if (ret->ok)
		log_info("backup %s/%s: done in %.1f s: %" PRIu64
			 " files, %" PRIu64 " bytes read, %" PRIu64
			 " stored, %" PRIu64 " warnings",
		    jc->name, id,
		    (double)(ret->end_ms - ret->start_ms) / 1000.0, ret->files,
		    ret->bytes_in, ret->bytes_stored, ret->warnings);
	else
		log_err("backup %s%s%s: failed: %s", jc->name,
		    id[0] ? "/" : "", id, ret->error);
	job_state_record(opts->state_dir, jc->name, ret);
	job_unlock(lockfd);
	return ret->ok ? 0 : -1;
}
