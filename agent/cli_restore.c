/*
 * cli_restore.c: `vigil restore JOB/ID --to DIR [--path P ...] [--key FILE]
 * [--storage NAME] [--workers N] [--no-privileges]`.
 *
 * Works without the daemon: it loads the configuration for the job's
 * storage target, prefix and key, resolves ID ("latest", a full id or a
 * unique prefix) from the object names in storage, and runs restore_run()
 * in this process.  As root, owners, setuid/setgid bits and file
 * capabilities are restored (a system restore needs them); with
 * --no-privileges files belong to the caller and none of those, nor
 * device nodes, are restored.  Other users get that without asking,
 * except that a setuid/setgid bit stays on a file that was theirs.  On a
 * terminal, standard error shows a progress line (bytes of the tar
 * stream against the backup's tar size, files, rate, ETA), redrawn at
 * most ten times a second; warnings go above it.  At the end one summary
 * line goes to standard output, or with --json an object describing the
 * result.  SIGINT and SIGTERM stop the restore cleanly (the
 * file being written is removed).  Exit status: 0 if everything asked for
 * was restored, 1 otherwise with "vigil: <message>", 2 for usage errors.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/crypto/crypto_keys.h"
#include "lib/parsenum.h"
#include "providers/storage.h"
#include "backup/catalog.h"
#include "backup/format.h"
#include "backup/jobconf.h"
#include "backup/restore.h"

#include "agent/cli.h"
#include "agent/plugin_module.h"
#include "agent/runconf.h"

/* Warnings printed one by one; the rest are counted. */
#define WARNINGS_SHOWN 20
/* --path options, at most. */
#define PATHS_MAX 1024

static volatile sig_atomic_t got_signal;

static void
on_signal(int sig)
{
	(void)sig;
	got_signal = 1;
}

/* The terminal: progress line and warnings share standard error. */
struct ui {
	pthread_mutex_t mtx;
	bool tty;
	bool drawn; /* a progress line is showing */
	uint64_t warnings;
};

static int
usage_restore(void)
{
	fprintf(stderr,
	    "usage: vigil restore JOB/ID --to DIR [--path P ...] [--key FILE]\n"
	    "                     [--storage NAME] [--workers N] "
	    "[--no-privileges]\n"
	    "  ID is a backup id, a unique prefix of one, or \"latest\".\n"
	    "  --to DIR      restore into DIR (created 0700 if missing); "
	    "existing\n"
	    "                files are replaced, nothing is written outside "
	    "DIR\n"
	    "  --path P      restore only P (a file, or a folder and all "
	    "below it),\n"
	    "                as stored: etc/nginx/nginx.conf; may be given "
	    "again\n"
	    "  --key FILE    key file, passphrase file or X25519 private key "
	    "(else\n"
	    "                the job's key; write-only jobs need "
	    "private_key_file)\n"
	    "  --storage NAME  read from this storage target instead of the "
	    "job's\n"
	    "  --workers N   inflate threads (default: all cores)\n"
	    "  --no-privileges  files owned by you; no setuid/setgid bits, "
	    "file\n"
	    "                capabilities or device nodes (as root; other "
	    "users\n"
	    "                never restore owners, capabilities or devices)\n");
	return CLI_USAGE;
}

/* "1m20s"-style durations via format_duration(). */
static void
draw(struct ui *ui, const struct restore_progress *p)
{
	char b[32], t[32], eta[48] = "", pct[16] = "";
	double rate;

	rate = p->elapsed_ms > 0 ?
	    (double)p->tar_bytes / 1e6 / ((double)p->elapsed_ms / 1000.0) :
	    0;
	cli_bytes((double)p->tar_bytes, b, sizeof(b));
	cli_bytes((double)p->tar_total, t, sizeof(t));
	if (p->tar_total > 0)
		snprintf(pct, sizeof(pct), "  %3.0f%%",
		    100.0 * (double)p->tar_bytes / (double)p->tar_total);
	if (p->tar_total > p->tar_bytes && rate > 0) {
		char d[24];

		format_duration((int64_t)((double)(p->tar_total -
					      p->tar_bytes) /
				    1e6 / rate * 1000),
		    d, sizeof(d));
		snprintf(eta, sizeof(eta), "  ETA %s", d);
	}
	fprintf(stderr, "\r\033[K  %s / %s%s  %" PRIu64 " files  %.1f MB/s%s",
	    b, t, pct, p->files, rate, eta);
	fflush(stderr);
	ui->drawn = true;
}

static void
on_progress(void *cookie, const struct restore_progress *p)
{
	struct ui *ui = cookie;

	if (!ui->tty)
		return;
	pthread_mutex_lock(&ui->mtx);
	if (p->done) {
		if (ui->drawn)
			fprintf(stderr, "\r\033[K");
		ui->drawn = false;
	} else {
		draw(ui, p);
	}
	pthread_mutex_unlock(&ui->mtx);
}

/* Called from the extractor's thread: the mutex keeps lines whole. */
static void
on_warning(void *cookie, const char *path, const char *reason)
{
	struct ui *ui = cookie;

	pthread_mutex_lock(&ui->mtx);
	if (++ui->warnings <= WARNINGS_SHOWN) {
		if (ui->drawn)
			fprintf(stderr, "\r\033[K");
		fprintf(stderr, "vigil: warning: %s: %s\n", path, reason);
		ui->drawn = false;
	}
	pthread_mutex_unlock(&ui->mtx);
}

static void
print_json(const char *job, const char *id, const char *target,
    const struct restore_result *res, const char *error)
{
	json_t *o, *w;
	char *text;

	if ((w = json_array()) == NULL)
		return;
	for (size_t i = 0; i < res->nfirst_warnings; i++)
		json_array_append_new(w, json_string(res->first_warnings[i]));
	o = json_pack("{s:s, s:s, s:s, s:b, s:b, s:I, s:I, s:I, s:I, s:I, s:I, "
		      "s:I, s:I, s:I, s:I, s:o, s:o, s:o}",
	    "job", job, "backup_id", id, "target", target, "ok", res->ok,
	    "partial", res->partial, "entries", (json_int_t)res->entries,
	    "extracted", (json_int_t)res->extracted, "refused",
	    (json_int_t)res->refused, "warnings", (json_int_t)res->warnings,
	    "bytes", (json_int_t)res->bytes, "tar_bytes",
	    (json_int_t)res->tar_bytes, "tar_size", (json_int_t)res->tar_size,
	    "bytes_read", (json_int_t)res->bytes_read, "chunks",
	    (json_int_t)res->chunks, "elapsed_ms", (json_int_t)res->elapsed_ms,
	    "removed",
	    res->removed[0] != '\0' ? json_string(res->removed) : json_null(),
	    "error", error != NULL ? json_string(error) : json_null(),
	    "first_warnings", w);
	if (o == NULL)
		return;
	if ((text = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER)) !=
	    NULL) {
		printf("%s\n", text);
		free(text);
	}
	json_decref(o);
}

static void
summary(const char *job, const char *id, const char *target,
    const struct restore_result *res)
{
	char b[32];
	double s = (double)res->elapsed_ms / 1000.0;

	cli_bytes((double)res->bytes, b, sizeof(b));
	printf("restored %s/%s into %s: %" PRIu64 " entr%s, %s, %" PRIu64
	       " warning%s, %.1f s, %.1f MB/s\n",
	    job, id, target, res->extracted, res->extracted == 1 ? "y" : "ies",
	    b, res->warnings, res->warnings == 1 ? "" : "s", s,
	    s > 0 ? (double)res->tar_bytes / 1e6 / s : 0.0);
}

int
cli_restore(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "to", required_argument, NULL, 't' },
		{ "path", required_argument, NULL, 'p' },
		{ "key", required_argument, NULL, 'k' },
		{ "storage", required_argument, NULL, 'S' },
		{ "workers", required_argument, NULL, 'w' },
		{ "no-privileges", no_argument, NULL, 'P' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *to = NULL, *keyfile = NULL, *stname = NULL, *spec;
	const char **paths = NULL;
	size_t npaths = 0;
	int64_t workers = 0;
	bool no_privileges = false;
	struct runconf *rcf = NULL;
	struct job_conf *jc;
	struct storage_conf *sc = NULL;
	struct storage *st = NULL;
	struct crypto_key *key = NULL;
	struct restore_opts ro = { 0 };
	struct restore_result res = { 0 };
	struct ag_err err = { "" };
	struct ui ui = { .tty = false };
	struct sigaction sa = { .sa_handler = on_signal };
	char job[CATALOG_JOB_MAX + 1], id[FORMAT_BACKUP_ID_SIZE];
	char jobname[CATALOG_JOB_MAX + 1];
	const char *slash;
	int opt, rc = CLI_FAIL, r;

	if ((paths = calloc(PATHS_MAX + 1, sizeof(*paths))) == NULL) {
		fprintf(stderr, "vigil: out of memory\n");
		return CLI_FAIL;
	}
	optind = 1;
	while ((opt = getopt_long(argc, argv, "t:p:k:w:h", opts, NULL)) !=
	    -1) {
		switch (opt) {
		case 't':
			to = optarg;
			break;
		case 'p':
			if (npaths == PATHS_MAX) {
				fprintf(stderr,
				    "vigil: more than %d --path "
				    "options\n",
				    PATHS_MAX);
				free(paths);
				return CLI_USAGE;
			}
			paths[npaths++] = optarg;
			break;
		case 'k':
			keyfile = optarg;
			break;
		case 'S':
			stname = optarg;
			break;
		case 'P':
			no_privileges = true;
			break;
		case 'w':
			if (parse_int64(optarg, &workers) != 0 ||
			    workers < 1 || workers > 256) {
				fprintf(stderr,
				    "vigil: --workers: \"%s\" is "
				    "not a number from 1 to 256\n",
				    optarg);
				free(paths);
				return CLI_USAGE;
			}
			break;
		default:
			free(paths);
			return usage_restore();
		}
	}
	if (optind + 1 != argc || to == NULL || *to == '\0') {
		free(paths);
		return usage_restore();
	}
	spec = argv[optind];
	if ((slash = strchr(spec, '/')) == NULL || slash == spec ||
	    (size_t)(slash - spec) > CATALOG_JOB_MAX || slash[1] == '\0') {
		fprintf(stderr,
		    "vigil: \"%s\": give JOB/latest, JOB/ID or "
		    "JOB/ID-prefix\n",
		    spec);
		free(paths);
		return CLI_USAGE;
	}
	memcpy(jobname, spec, (size_t)(slash - spec));
	jobname[slash - spec] = '\0';

	if (cli_load(&rcf) != 0)
		goto out;
	if ((jc = runconf_job(rcf, jobname)) == NULL) {
		fprintf(stderr, "vigil: no backup job named \"%s\" in %s\n",
		    jobname, rcf->conf->path);
		goto out;
	}
	if (stname != NULL) {
		struct conf_errs errs = { 0 };

		if (rcf->conf->storage == NULL ||
		    storage_conf_find(rcf->conf->storage, stname, &sc,
			&errs) != 0) {
			if (errs.n == 0)
				fprintf(stderr,
				    "vigil: no storage target "
				    "named \"%s\"\n",
				    stname);
			for (size_t i = 0; i < errs.n; i++)
				fprintf(stderr, "vigil: %s\n", errs.msgs[i]);
			conf_errs_free(&errs);
			goto out;
		}
		conf_errs_free(&errs);
	}
	if (sc == NULL && jc->storage == NULL) {
		fprintf(stderr,
		    "vigil: job %s has no storage (it only takes RDS "
		    "snapshots)\n",
		    jc->name);
		goto out;
	}
	if (storage_open(sc != NULL ? sc : jc->storage, &st, &err) != 0) {
		fprintf(stderr, "vigil: %s\n", err.msg);
		goto out;
	}
	/* Which backup: from object names alone, no key needed yet. */
	if ((r = rcf->heavy->catalog_resolve(st, jc->prefix, spec, job, id,
		 &err)) != 0) {
		fprintf(stderr, "vigil: %s\n", err.msg);
		goto out;
	}
	key = jobconf_open_key(jc, keyfile, &err);
	if (key == NULL) {
		fprintf(stderr, "vigil: %s\n", err.msg);
		goto out;
	}

	ui.tty = cli_tty() && !cli_json;
	pthread_mutex_init(&ui.mtx, NULL);
	ro.target = to;
	ro.paths = npaths > 0 ? paths : NULL;
	ro.workers = (unsigned)workers;
	ro.no_privileges = no_privileges;
	ro.progress = on_progress;
	ro.on_warning = on_warning;
	ro.cookie = &ui;
	ro.cancel = &got_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	r = rcf->heavy->restore_run(st, jc->prefix, job, id, key, &ro, &res,
	    &err);

	pthread_mutex_lock(&ui.mtx);
	if (ui.drawn)
		fprintf(stderr, "\r\033[K");
	if (ui.warnings > WARNINGS_SHOWN)
		fprintf(stderr, "vigil: %" PRIu64 " more warnings\n",
		    ui.warnings - WARNINGS_SHOWN);
	pthread_mutex_unlock(&ui.mtx);
	pthread_mutex_destroy(&ui.mtx);
	if (cli_json)
		print_json(job, id, to, &res, r != 0 ? err.msg : NULL);
	if (r != 0) {
		/* One line, saying also which cut-short file was removed. */
		if (res.removed[0] != '\0')
			fprintf(stderr,
			    "vigil: %s (removed %s, which was cut "
			    "short)\n",
			    err.msg, res.removed);
		else
			fprintf(stderr, "vigil: %s\n", err.msg);
		goto out;
	}
	if (!cli_json)
		summary(job, id, to, &res);
	rc = CLI_OK;
out:
	crypto_keys_free(key);
	storage_close(st);
	storage_conf_free(sc);
	runconf_free(rcf);
	free(paths);
	return rc;
}
