/*
 * cli_backup.c: `vigil backup run|list|verify|prune`.
 *
 * `run` goes through vigild when it is running (so the daemon's job lock,
 * state and metrics see it) and follows its progress over the control
 * socket; without a daemon it runs the job in this process
 * (job_runner_run(), the daemon's runner, with the engine called here).  The others
 * work on the storage directly and need no daemon.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <getopt.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "backup/catalog.h"
#include "backup/job.h"
#include "backup/jobconf.h"
#include "backup/manifest.h"
#include "lib/clock.h"
#include "lib/crypto/crypto_keys.h"
#include "lib/parsenum.h"
#include "providers/storage.h"

#include "agent/cli.h"
#include "agent/plugin_module.h"
#include "agent/job_runner.h"
#include "agent/job_state.h"
#include "agent/runconf.h"

static volatile sig_atomic_t got_int;

static void
on_int(int sig)
{
	(void)sig;
	got_int = 1;
}

static void
catch_int(void)
{
	struct sigaction sa = { .sa_handler = on_int };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

static int
usage_backup(void)
{
	fprintf(stderr,
	    "usage: vigil backup run JOB\n"
	    "       vigil backup list [JOB]\n"
	    "       vigil backup verify JOB/ID [--key FILE]\n"
	    "       vigil backup prune JOB [--dry-run]\n"
	    "ID is a backup id, a prefix of one, or \"latest\".\n");
	return CLI_USAGE;
}

/* Progress line: "  1.2 GiB read  3400 files  45.1 MB/s  ETA 1m20s". */
static void
draw(uint64_t bytes, uint64_t files, int64_t elapsed_ms, uint64_t total,
    const char *what)
{
	static int64_t last;
	int64_t now = clock_mono_ms();
	char b[32], eta[32] = "";
	double rate;

	if (!cli_tty() || now - last < 100)
		return;
	last = now;
	cli_bytes((double)bytes, b, sizeof(b));
	rate = elapsed_ms > 0 ?
	    (double)bytes / 1e6 / ((double)elapsed_ms / 1000.0) :
	    0;
	if (total > bytes && rate > 0) {
		char d[24];

		format_duration((int64_t)((double)(total - bytes) / 1e6 /
				    rate * 1000),
		    d, sizeof(d));
		snprintf(eta, sizeof(eta), "  ETA %s", d);
	}
	fprintf(stderr, "\r\033[K  %s %s  %llu files  %.1f MB/s%s", b, what,
	    (unsigned long long)files, rate, eta);
}

static void
end_draw(void)
{
	if (cli_tty())
		fprintf(stderr, "\r\033[K");
}

static void
summary(const char *job, const char *id, uint64_t files, uint64_t in,
    uint64_t stored, uint64_t warnings, int64_t ms)
{
	char bi[32], bs[32];

	cli_bytes((double)in, bi, sizeof(bi));
	cli_bytes((double)stored, bs, sizeof(bs));
	printf("backup %s/%s: %llu files, %s in, %s stored (%.0f%%), "
	       "%llu warnings, %.1f s, %.1f MB/s\n",
	    job, id, (unsigned long long)files, bi, bs,
	    in > 0 ? 100.0 * (double)stored / (double)in : 0.0,
	    (unsigned long long)warnings, (double)ms / 1000.0,
	    ms > 0 ? (double)in / 1e6 / ((double)ms / 1000.0) : 0.0);
}

struct run_ctx {
	uint64_t total; /* estimate: the last success's bytes */
};

static void
run_progress(void *cookie, const struct job_progress *p)
{
	struct run_ctx *rc = cookie;

	if (p->done)
		end_draw();
	else
		draw(p->bytes_read, p->files, p->elapsed_ms, rc->total,
		    "read");
}

static int
run_here(const struct runconf *rcf, const struct job_conf *jc)
{
	struct run_ctx ctx = { 0 };
	struct job_state st;
	struct job_result res;
	struct job_run_opts o = {
		.host = rcf->conf->agent.hostname,
		.state_dir = rcf->conf->agent.state_dir,
		.progress = run_progress,
		.cookie = &ctx,
		.cancel = &got_int,
	};

	if (job_state_load(o.state_dir, jc->name, &st, NULL) == 0 &&
	    st.has_success)
		ctx.total = st.last_success_bytes;
	catch_int();
	/* The engine in this process: vigil links it. */
	if (job_runner_run(jc, &o, NULL, NULL, &res) != 0) {
		/* The runner logged the failure ("backup J/ID: failed: ..."):
		   once is enough. */
		end_draw();
		return CLI_FAIL;
	}
	for (size_t i = 0; i < res.nfirst_warnings; i++)
		fprintf(stderr, "warning: %s\n", res.first_warnings[i]);
	summary(jc->name, res.backup_id, res.files, res.bytes_in,
	    res.bytes_stored, res.warnings, res.end_ms - res.start_ms);
	return CLI_OK;
}

static json_t *
find_job(json_t *status, const char *name)
{
	size_t i;
	json_t *v;

	json_array_foreach(json_object_get(status, "jobs"), i,
	    v) if (strcmp(json_string_value(json_object_get(v, "name")),
		       name) == 0) return v;
	return NULL;
}

/* Follow a run that vigild started until it ends. */
static int
follow(const char *name, int64_t t0)
{
	char t0s[40];

	clock_rfc3339(t0 - 1000, t0s, sizeof(t0s));
	for (;;) {
		char *reply;
		json_t *st, *job, *last;
		int rc;

		if (got_int) {
			end_draw();
			fprintf(stderr,
			    "vigil: stopped following; the backup "
			    "goes on in vigild\n");
			return CLI_FAIL;
		}
		if ((rc = cli_ask("status", &reply, false)) != CLI_OK)
			return rc;
		st = json_loads(reply, 0, NULL);
		free(reply);
		if ((job = find_job(st, name)) == NULL) {
			json_decref(st);
			fprintf(stderr,
			    "vigil: vigild no longer knows job "
			    "%s\n",
			    name);
			return CLI_FAIL;
		}
		last = json_object_get(job, "last_run");
		if (json_is_true(json_object_get(job, "running"))) {
			json_t *p = json_object_get(job, "progress");

			draw(json_integer_value(json_object_get(p,
				 "bytes_read")),
			    json_integer_value(json_object_get(p, "files")),
			    json_integer_value(json_object_get(p,
				"elapsed_ms")),
			    0, "read");
		} else if (last != NULL &&
		    json_string_value(json_object_get(last, "start")) !=
			NULL &&
		    strcmp(json_string_value(json_object_get(last, "start")),
			t0s) >= 0) {
			json_t *ls = json_object_get(job, "last_success");
			const char *id =
			    json_string_value(json_object_get(last, "id"));

			end_draw();
			if (!json_is_true(json_object_get(last, "ok"))) {
				fprintf(stderr,
				    "vigil: backup %s failed: %s\n", name,
				    json_string_value(json_object_get(last,
					"error")));
				json_decref(st);
				return CLI_FAIL;
			}
			summary(name, id != NULL ? id : "?",
			    json_integer_value(json_object_get(ls, "files")),
			    json_integer_value(json_object_get(ls, "bytes")),
			    json_integer_value(json_object_get(ls, "stored")),
			    json_integer_value(json_object_get(ls,
				"warnings")),
			    json_integer_value(json_object_get(ls,
				"duration_ms")));
			json_decref(st);
			return CLI_OK;
		}
		json_decref(st);
		usleep(250000);
	}
}

static int
cmd_run(struct runconf *rcf, const char *name)
{
	struct job_conf *jc = runconf_job(rcf, name);
	char req[128], *reply = NULL;
	json_t *o;
	int64_t t0 = clock_wall_ms();
	int rc;

	if (jc == NULL) {
		fprintf(stderr, "vigil: no backup job named \"%s\" in %s\n",
		    name, rcf->conf->path);
		return CLI_FAIL;
	}
	snprintf(req, sizeof(req), "backup-run %s", name);
	rc = cli_ask(req, &reply, true);
	if (rc == CLI_NODAEMON)
		return run_here(rcf, jc);
	if (rc != CLI_OK)
		return rc;
	o = json_loads(reply, 0, NULL);
	free(reply);
	if (json_string_value(json_object_get(o, "error")) != NULL) {
		fprintf(stderr, "vigil: %s\n",
		    json_string_value(json_object_get(o, "error")));
		json_decref(o);
		return CLI_FAIL;
	}
	json_decref(o);
	if (cli_tty())
		fprintf(stderr, "backup %s started by vigild\n", name);
	catch_int();
	return follow(name, t0);
}

static int
open_storage(const struct job_conf *jc, struct storage **ret)
{
	struct ag_err err = { "" };

	if (jc->storage == NULL) {
		fprintf(stderr,
		    "vigil: job %s has no storage (it only takes RDS "
		    "snapshots)\n",
		    jc->name);
		return -1;
	}
	if (storage_open(jc->storage, ret, &err) != 0) {
		fprintf(stderr, "vigil: storage %s: %s\n", jc->storage->name,
		    err.msg);
		return -1;
	}
	return 0;
}

static int
list_job(const struct runconf *rcf, const struct job_conf *jc, json_t *out)
{
	struct storage *st;
	struct catalog cat = { 0 };
	struct crypto_key *key = NULL;
	struct ag_err err = { "" };

	if (open_storage(jc, &st) != 0)
		return -1;
	if (rcf->heavy->catalog_list(st, jc->prefix, jc->name, &cat, &err) !=
	    0) {
		fprintf(stderr, "vigil: %s: %s\n", jc->name, err.msg);
		storage_close(st);
		return -1;
	}
	/* File counts need the manifest: only where this host can read. */
	if (jc->key_mode != JOB_KEY_PUBLIC || jc->private_key_file != NULL)
		key = jobconf_load_key(jc, true, &err);
	for (size_t i = 0; i < cat.n; i++) {
		const struct catalog_backup *b = &cat.v[i];
		struct manifest *m = NULL;
		char when[32], size[32], files[32] = "-";
		struct tm tm;
		time_t t = (time_t)b->time_s;

		if (b->complete && key != NULL &&
		    catalog_load_manifest(st, jc->prefix, jc->name, b->id, key,
			false, &m, &err) == 0)
			snprintf(files, sizeof(files), "%llu",
			    (unsigned long long)m->counts.files);
		localtime_r(&t, &tm);
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
		cli_bytes((double)b->size, size, sizeof(size));
		if (out != NULL)
			(void)json_array_append_new(out,
			    json_pack("{s:s, s:s, s:I, s:I, s:o, s:b}", "job",
				jc->name, "id", b->id, "time",
				(json_int_t)b->time_s, "size",
				(json_int_t)b->size, "files",
				m != NULL ?
				    json_integer((json_int_t)m->counts.files) :
				    json_null(),
				"complete", b->complete));
		else
			printf("%s/%-24s %s %10s %8s  %s\n", jc->name, b->id,
			    when, size, files,
			    b->complete ?
				"complete" :
				"INCOMPLETE (interrupted; removed by the next run)");
		manifest_free(m);
	}
	if (cat.n == 0 && out == NULL)
		printf("%s: no backups\n", jc->name);
	crypto_keys_free(key);
	catalog_free(&cat);
	storage_close(st);
	return 0;
}

static int
cmd_list(struct runconf *rcf, const char *name)
{
	json_t *out = cli_json ? json_array() : NULL;
	int rc = CLI_OK;

	if (name != NULL && runconf_job(rcf, name) == NULL) {
		fprintf(stderr, "vigil: no backup job named \"%s\"\n", name);
		return CLI_FAIL;
	}
	if (rcf->njobs == 0)
		fprintf(stderr, "vigil: %s defines no backup jobs\n",
		    rcf->conf->path);
	if (out == NULL && isatty(STDOUT_FILENO))
		printf("%-43s %-19s %10s %8s  %s\n", "BACKUP", "TIME", "SIZE",
		    "FILES", "STATE");
	for (size_t i = 0; i < rcf->njobs; i++)
		if ((name == NULL || strcmp(rcf->jobs[i]->name, name) == 0) &&
		    list_job(rcf, rcf->jobs[i], out) != 0)
			rc = CLI_FAIL;
	if (out != NULL) {
		char *s = json_dumps(out, JSON_INDENT(1));

		if (s != NULL)
			puts(s);
		free(s);
		json_decref(out);
	}
	return rc;
}

/* "JOB/ID" -> the job's conf; print why not. */
static struct job_conf *
spec_job(struct runconf *rcf, const char *spec)
{
	char name[CATALOG_JOB_MAX + 1];
	const char *slash = strchr(spec, '/');
	struct job_conf *jc;

	if (slash == NULL || (size_t)(slash - spec) > CATALOG_JOB_MAX) {
		fprintf(stderr,
		    "vigil: give JOB/latest, JOB/ID or "
		    "JOB/ID-prefix, not \"%s\"\n",
		    spec);
		return NULL;
	}
	memcpy(name, spec, (size_t)(slash - spec));
	name[slash - spec] = '\0';
	if ((jc = runconf_job(rcf, name)) == NULL)
		fprintf(stderr, "vigil: no backup job named \"%s\"\n", name);
	return jc;
}

static void
verify_progress(void *cookie, const struct catalog_verify_progress *p)
{
	(void)cookie;
	draw(p->bytes_read, p->chunks_done, p->elapsed_ms, p->bytes_total,
	    "checked");
}

static int
cmd_verify(struct runconf *rcf, const char *spec, const char *keyfile)
{
	struct job_conf *jc = spec_job(rcf, spec);
	struct catalog_verify_opts o = { .progress = verify_progress,
		.cancel = &got_int };
	struct catalog_verify_result res = { 0 };
	struct crypto_key *key;
	struct storage *st;
	struct ag_err err = { "" };
	char job[CATALOG_JOB_MAX + 1], id[FORMAT_BACKUP_ID_SIZE];
	int rc = CLI_FAIL;

	if (jc == NULL)
		return CLI_FAIL;
	key = jobconf_open_key(jc, keyfile, &err);
	if (key == NULL) {
		fprintf(stderr, "vigil: %s\n", err.msg);
		return CLI_FAIL;
	}
	if (open_storage(jc, &st) != 0)
		goto out0;
	if (rcf->heavy->catalog_resolve(st, jc->prefix, spec, job, id, &err) !=
	    0) {
		fprintf(stderr, "vigil: %s\n", err.msg);
		goto out1;
	}
	catch_int();
	if (rcf->heavy->catalog_verify(st, jc->prefix, job, id, key, &o, &res,
		&err) != 0 ||
	    !res.ok) {
		end_draw();
		fprintf(stderr, "vigil: backup %s/%s is damaged: %s\n", job,
		    id, err.msg);
		goto out1;
	}
	end_draw();
	printf("backup %s/%s is intact: %llu chunks authenticated, %llu "
	       "bytes of tar match the manifest's sha256, %llu index entries "
	       "checked\n",
	    job, id, (unsigned long long)res.chunks,
	    (unsigned long long)res.tar_bytes, (unsigned long long)res.files);
	if (res.is_signed)
		printf("signed by %s (public key %s)\n", res.signer_id,
		    res.signer_pub);
	else
		printf("unsigned: nothing proves which host wrote it\n");
	rc = CLI_OK;
out1:
	storage_close(st);
out0:
	crypto_keys_free(key);
	return rc;
}

static void
prune_cb(void *cookie, const struct catalog_backup *b,
    enum catalog_action action, const char *reason, int rc, const char *error)
{
	const char *job = cookie;
	char size[32];

	cli_bytes((double)b->size, size, sizeof(size));
	printf("%-18s %s/%s %10s  %s%s%s\n", catalog_action_name(action), job,
	    b->id, size, reason != NULL ? reason : "",
	    rc != 0 ? "  FAILED: " : "",
	    rc != 0 && error != NULL ? error : "");
}

static int
cmd_prune(struct runconf *rcf, const char *name, bool dry_run)
{
	struct job_conf *jc = runconf_job(rcf, name);
	struct catalog_prune_opts o = { .dry_run = dry_run, .cb = prune_cb };
	struct catalog_prune_result res = { 0 };
	struct storage *st;
	struct ag_err err = { "" };
	char freed[32], locked[64];
	int lock = -1, rc = CLI_FAIL;

	if (jc == NULL) {
		fprintf(stderr, "vigil: no backup job named \"%s\"\n", name);
		return CLI_FAIL;
	}
	o.cookie = jc->name;
	job_retention_policy(jc, &o.policy);
	/*
	 * With the job lock, no run is writing: stale incomplete backups can
	 * go.  Without it (a dry run, or a run in progress), leave them.
	 */
	o.stale_grace_s = -1;
	if (!dry_run) {
		int l = job_lock(rcf->conf->agent.state_dir, jc->name, &lock,
		    &err);

		if (l < 0) {
			fprintf(stderr, "vigil: %s\n", err.msg);
			return CLI_FAIL;
		}
		if (l == 0)
			o.stale_grace_s = 0;
		else
			fprintf(stderr,
			    "vigil: %s: incomplete backups are left "
			    "alone\n",
			    err.msg);
	}
	if (open_storage(jc, &st) != 0)
		goto out;
	if (rcf->heavy->catalog_prune(st, jc->prefix, jc->name, &o, &res,
		&err) != 0) {
		fprintf(stderr, "vigil: prune %s: %s\n", jc->name, err.msg);
	} else {
		cli_bytes((double)res.bytes_freed, freed, sizeof(freed));
		locked[0] = '\0';
		if (res.locked > 0)
			snprintf(locked, sizeof(locked),
			    ", %zu more kept by an object lock", res.locked);
		printf("%s%s: kept %zu, %s %zu (%s)%s%s\n",
		    dry_run ? "dry run: " : "", jc->name, res.kept,
		    dry_run ? "would delete" : "deleted",
		    res.deleted + res.deleted_incomplete, freed, locked,
		    res.failed > 0 ? ", some deletes failed" : "");
		rc = res.failed > 0 ? CLI_FAIL : CLI_OK;
	}
	storage_close(st);
out:
	job_unlock(lock);
	return rc;
}

int
cli_backup(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dry-run", no_argument, NULL, 'n' },
		{ "key", required_argument, NULL, 'k' },
		{ NULL, 0, NULL, 0 },
	};
	const char *sub, *keyfile = NULL;
	bool dry_run = false;
	struct runconf *rcf;
	char *args[4];
	int nargs = 0, opt, rc;

	if (argc < 2)
		return usage_backup();
	sub = argv[1];
	optind = 2;
	while ((opt = getopt_long(argc, argv, "nk:", opts, NULL)) != -1) {
		if (opt == 'n')
			dry_run = true;
		else if (opt == 'k')
			keyfile = optarg;
		else
			return usage_backup();
	}
	while (optind < argc && nargs < 4)
		args[nargs++] = argv[optind++];
	if (optind < argc)
		return usage_backup();
	if (cli_load(&rcf) != 0)
		return CLI_FAIL;
	if (strcmp(sub, "run") == 0 && nargs == 1)
		rc = cmd_run(rcf, args[0]);
	else if (strcmp(sub, "list") == 0 && nargs <= 1)
		rc = cmd_list(rcf, nargs == 1 ? args[0] : NULL);
	else if (strcmp(sub, "verify") == 0 && nargs == 1)
		rc = cmd_verify(rcf, args[0], keyfile);
	else if (strcmp(sub, "prune") == 0 && nargs == 1)
		rc = cmd_prune(rcf, args[0], dry_run);
	else
		rc = usage_backup();
	runconf_free(rcf);
	return rc;
}
