/*
 * job.c: the backup engine: one job's backup, start to finish (see job.h).
 *
 * The chain is built bottom-up (upload, encrypt, compress, tap) and the
 * archive writes into the top.  The stages' callbacks feed the manifest
 * writer on this thread; the archive's cancelled() callback, polled
 * between entries and data blocks, is where the cancel flag, the job's
 * timeout and a failed manifest writer stop the run, and where progress
 * is reported.  Freeing an unclosed chain aborts the upload, so every
 * failure path ends in the same cleanup: free the chain, remove whatever
 * objects were already committed, and never write the manifest.
 *
 * What only the daemon and the CLI need (the job lock, the hooks, the
 * state file, logging the outcome) is above this, in agent/job_runner.c.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <sys/types.h>

#include <errno.h>
#include <grp.h>
#include <inttypes.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/ag.h"
#include "lib/clock.h"
#include "lib/log.h"
#include "lib/crypto/crypto.h"
#include "lib/crypto/crypto_hash.h"
#include "lib/crypto/crypto_keys.h"
#include "providers/storage.h"
#include "backup/catalog.h"
#include "backup/format.h"
#include "backup/jobconf.h"
#include "backup/manifest.h"
#include "backup/rds.h"
#include "backup/retention.h"
#include "backup/stage.h"
#include "backup/st_archive.h"
#include "backup/st_compress.h"
#include "backup/st_encrypt.h"
#include "backup/st_upload.h"

#include "backup/job.h"

#define PROGRESS_MS 100 /* at most 10 progress calls a second */
#define NAME_CACHE 16

/* A small uid/gid -> name cache: archives repeat few owners. */
struct name_cache {
	struct {
		int64_t id;
		char name[64]; /* "" if none */
	} v[NAME_CACHE];
	size_t n, next;
};

struct run {
	const struct job_conf *jc;
	const struct job_run_opts *o;
	struct job_result *res;
	char host[256];
	char id[FORMAT_BACKUP_ID_SIZE];
	int64_t start_s;
	int64_t t0;	      /* monotonic start */
	struct job_stop stop; /* cancel flag, deadline */
	int64_t last_progress;
	struct manifest_writer *mw;
	struct st_archive *ar;
	struct stage *enc; /* data.vgl's encrypt stage */
	struct crypto_hash *tar_hash;
	uint64_t tar_bytes;
	bool hash_failed;
	struct name_cache users, groups;
	const char *spool_dir; /* <state_dir>/jobs, for big upload parts */
};

/* --- Small helpers ---------------------------------------------------- */

/**
 * job_retention_policy(jc, ret):
 * The retention policy of ${jc} (keep_* settings, UTC calendar).
 */
void
job_retention_policy(const struct job_conf *jc, struct retention_policy *ret)
{
	/* UTC calendar days, as docs/BACKUP-FORMAT.md 1.2 says. */
	*ret = (struct retention_policy){ .keep_last = jc->keep_last,
		.keep_daily = jc->keep_daily,
		.keep_weekly = jc->keep_weekly,
		.keep_monthly = jc->keep_monthly,
		.utc = false };
}

static void add_warning(struct run *, const char *, ...)
    __attribute__((format(printf, 2, 3)));

/* A warning: counted, kept in the manifest and result, logged. */
static void
add_warning(struct run *r, const char *fmt, ...)
{
	char msg[AG_ERR_SIZE * 2];
	struct job_result *res = r->res;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	res->warnings++;
	if (r->mw != NULL)
		manifest_writer_warning(r->mw, msg);
	if (res->nfirst_warnings < JOB_RESULT_WARNINGS)
		snprintf(res->first_warnings[res->nfirst_warnings++],
		    AG_ERR_SIZE, "%.255s", msg);
	if (res->warnings <= JOB_LOG_WARNINGS)
		log_warn("backup %s: %s", r->jc->name, msg);
}

static void
report(struct run *r)
{
	struct st_archive_stats s = { 0 };
	struct job_progress p;
	int64_t now;

	if (r->o->progress == NULL)
		return;
	now = clock_mono_ms();
	if (now - r->last_progress < PROGRESS_MS)
		return;
	r->last_progress = now;
	if (r->ar != NULL)
		st_archive_stats(r->ar, &s);
	p = (struct job_progress){ .bytes_read = s.data_bytes,
		.files = s.entries,
		.tar_bytes = r->tar_bytes,
		.bytes_stored = r->enc != NULL ? st_encrypt_size(r->enc) : 0,
		.elapsed_ms = now - r->t0 };
	r->o->progress(r->o->cookie, &p);
}

/* Should the run stop?  Records why in r->stop. */
static bool
should_stop(struct run *r)
{
	return job_stop_check(&r->stop);
}

/* The message of a stopped run. */
static int
stop_error(struct run *r, struct ag_err *err)
{
	return job_stop_error(&r->stop, r->jc->timeout_ms, err);
}

/* --- Stage callbacks -------------------------------------------------- */

static const char *
cached_name(struct name_cache *c, int64_t id, bool user)
{
	char buf[4096];
	struct passwd pw, *pwp = NULL;
	struct group gr, *grp = NULL;
	size_t i, slot;

	for (i = 0; i < c->n; i++)
		if (c->v[i].id == id)
			return c->v[i].name;
	slot = c->n < NAME_CACHE ? c->n++ : c->next++ % NAME_CACHE;
	c->v[slot].id = id;
	c->v[slot].name[0] = '\0';
	if (user) {
		if (getpwuid_r((uid_t)id, &pw, buf, sizeof(buf), &pwp) == 0 &&
		    pwp != NULL)
			snprintf(c->v[slot].name, sizeof(c->v[slot].name),
			    "%s", pwp->pw_name);
	} else {
		if (getgrgid_r((gid_t)id, &gr, buf, sizeof(buf), &grp) == 0 &&
		    grp != NULL)
			snprintf(c->v[slot].name, sizeof(c->v[slot].name),
			    "%s", grp->gr_name);
	}
	return c->v[slot].name;
}

static void
on_entry(void *cookie, const struct st_archive_entry *e)
{
	struct run *r = cookie;

	manifest_writer_entry(r->mw, e, cached_name(&r->users, e->uid, true),
	    cached_name(&r->groups, e->gid, false));
}

static void
on_warning(void *cookie, const char *path, const char *reason)
{
	add_warning(cookie, "%s: %s", path, reason);
}

static bool
ar_cancelled(void *cookie)
{
	struct run *r = cookie;

	report(r);
	return should_stop(r) || manifest_writer_failed(r->mw, NULL);
}

static void
on_member(void *cookie, const struct st_compress_member *m)
{
	struct run *r = cookie;

	manifest_writer_member(r->mw, m);
}

static void
on_chunk(void *cookie, const struct st_encrypt_chunk *c)
{
	struct run *r = cookie;

	manifest_writer_chunk(r->mw, c);
}

/* The tap between archive and compress: tar sha256 and progress. */
static int
tap_fn(void *cookie, const uint8_t *buf, size_t len)
{
	struct run *r = cookie;

	if (crypto_hash_update(r->tar_hash, buf, len) != 0) {
		r->hash_failed = true;
		return -1;
	}
	r->tar_bytes += len;
	report(r);
	return 0;
}

/* --- Storage steps ---------------------------------------------------- */

/* Remove incomplete backups and unfinished uploads of crashed runs. */
static void
clean_stale(struct run *r, struct storage *st)
{
	const struct job_conf *jc = r->jc;
	char dir[STORAGE_KEY_MAX + 1];
	struct objlist ol = { 0 };
	struct catalog c;
	struct ag_err e;
	const char *sep;
	size_t i;

	if (catalog_list(st, jc->prefix, jc->name, &c, &e) != 0) {
		add_warning(r, "listing old backups: %s", e.msg);
		return;
	}
	for (i = 0; i < c.n; i++) {
		const struct catalog_backup *b = &c.v[i];

		/* We hold the lock: no other run of this job is writing. */
		if (b->complete || b->time_s > r->start_s ||
		    strcmp(b->id, r->id) == 0)
			continue;
		switch (catalog_delete(st, jc->prefix, jc->name, b->id, &e)) {
		case 0:
			break;
		case CATALOG_RETAINED:
			/* Locked: no failure, the lock ends on its own. */
			log_info("backup %s: incomplete backup %s kept: %s",
			    jc->name, b->id, e.msg);
			continue;
		default:
			add_warning(r, "removing incomplete backup %s: %s",
			    b->id, e.msg);
			continue;
		}
		log_info("backup %s: removed incomplete backup %s (an "
			 "interrupted run)",
		    jc->name, b->id);
		r->res->cleaned++;
	}
	catalog_free(&c);

	if ((storage_caps(st) & STORAGE_CAP_INCOMPLETE) == 0)
		return;
	sep = jc->prefix == NULL || *jc->prefix == '\0' ||
		jc->prefix[strlen(jc->prefix) - 1] == '/' ?
	    "" :
	    "/";
	snprintf(dir, sizeof(dir), "%s%s%s/",
	    jc->prefix != NULL ? jc->prefix : "", sep, jc->name);
	if (storage_list(st, dir, STORAGE_LIST_INCOMPLETE, &ol, &e) != 0) {
		add_warning(r, "listing unfinished uploads: %s", e.msg);
		return;
	}
	for (i = 0; i < ol.n; i++)
		if (storage_abort_incomplete(st, &ol.v[i], &e) != 0)
			add_warning(r, "dropping unfinished upload %s: %s",
			    ol.v[i].name, e.msg);
		else
			log_info("backup %s: dropped unfinished upload %s",
			    jc->name, ol.v[i].name);
	objlist_free(&ol);
}

static int
put_retry(struct storage *st, const char *key, const uint8_t *buf, size_t len,
    struct ag_err *err)
{
	unsigned attempt = 0;
	int rc;

	while ((rc = storage_put(st, key, buf, len, err)) == AG_RETRY &&
	    backoff_retry(&storage_retry, &attempt))
		;
	return rc == 0 ? 0 : -1;
}

struct ixwrite {
	struct stage *top;
};

static int
index_piece(void *cookie, const uint8_t *buf, size_t len)
{
	struct ixwrite *x = cookie;

	return stage_write(x->top, buf, len);
}

/*
 * Write index.vgl: the index JSON cut into MANIFEST_INDEX_SLICE slices,
 * each compressed into one gzip member by the compress stage and sealed as
 * one chunk, streamed to storage (docs/BACKUP-FORMAT.md, section 6.4).
 * Store its size in ${ret_size}.
 */
static int
write_index(struct run *r, struct storage *st, const struct crypto_key *key,
    const uint8_t dk[32], const char *okey, uint64_t *ret_size,
    struct ag_err *err)
{
	const struct job_conf *jc = r->jc;
	struct st_upload_conf uc = { .spool_dir = r->spool_dir };
	struct st_compress_conf cc = { .slice_size = MANIFEST_INDEX_SLICE,
		.level = jc->level,
		.workers = jc->threads };
	struct format_object *obj;
	struct ixwrite x = { 0 };
	struct stage *top, *enc;
	int rc = -1;

	if ((top = st_upload_new(st, okey, &uc, err)) == NULL)
		return -1;
	if ((obj = format_seal_new(key, dk, FORMAT_KIND_INDEX, r->id,
		 (uint32_t)st_compress_bound(MANIFEST_INDEX_SLICE), err)) ==
	    NULL)
		goto out;
	if ((enc = st_encrypt_new(top, obj, NULL, err)) == NULL)
		goto out;
	top = enc;
	if ((x.top = st_compress_new(enc, &cc, err)) == NULL)
		goto out;
	top = x.top;
	if (manifest_writer_index_read(r->mw, index_piece, &x, err) != 0) {
		if (top->err != 0)
			(void)stage_error(top, err);
		goto out;
	}
	if (stage_close(top) != 0) {
		(void)stage_error(top, err);
		goto out;
	}
	*ret_size = st_encrypt_size(enc);
	rc = 0;
out:
	/* Frees an unclosed chain: the upload is aborted. */
	stage_free_chain(top);
	return rc;
}

/*
 * Steps e and f: the data, the index and the manifest.  On failure
 * nothing that was committed is left behind (best effort: what cannot be
 * removed is an incomplete backup, which the next run removes).
 */
static int
write_backup(struct run *r, struct storage *st, const struct crypto_key *key,
    const uint8_t dk[32], struct ag_err *err)
{
	const struct job_conf *jc = r->jc;
	struct job_result *res = r->res;
	char dkey[STORAGE_KEY_MAX + 1], ikey[STORAGE_KEY_MAX + 1];
	char mkey[STORAGE_KEY_MAX + 1], spill[PATH_MAX];
	/*
	 * Small parts keep memory down; st_upload raises them to what the
	 * backend needs (S3: 5 MiB) and grows them for huge objects.
	 */
	struct st_upload_conf uc = { .part_size = (size_t)1 << 20 };
	struct st_encrypt_conf ec = { .on_chunk = on_chunk, .cookie = r };
	struct st_compress_conf cc = { 0 };
	struct st_archive_conf ac = { 0 };
	struct st_archive_stats as;
	struct manifest_totals t = { 0 };
	struct manifest_head mh = { 0 };
	struct format_object *obj;
	struct ag_err rerr;
	struct stage *top = NULL, *s;
	uint8_t header[FORMAT_HEADER_MAX];
	const uint8_t *h;
	size_t hlen, jlen = 0, slen = 0, slice;
	uint64_t index_size = 0, stored = 0;
	uint8_t *sealed = NULL;
	char *json = NULL;
	bool data_done = false, index_done = false;
	int rc = -1;

	if (format_object_name(jc->prefix, jc->name, r->id, FORMAT_KIND_DATA,
		dkey, sizeof(dkey)) != 0 ||
	    format_object_name(jc->prefix, jc->name, r->id, FORMAT_KIND_INDEX,
		ikey, sizeof(ikey)) != 0 ||
	    format_object_name(jc->prefix, jc->name, r->id,
		FORMAT_KIND_MANIFEST, mkey, sizeof(mkey)) != 0)
		return ag_err_set(err,
		    "job %s: object names too long or "
		    "invalid (prefix \"%s\")",
		    jc->name, jc->prefix);
	slice = jc->slice_size != 0 ? (size_t)jc->slice_size :
				      ST_COMPRESS_SLICE_DEFAULT;

	/* Large file indexes spill to <state_dir>/jobs while they grow. */
	if (r->o->state_dir == NULL || *r->o->state_dir == '\0')
		return ag_err_set(err, "no state folder given");
	if ((size_t)snprintf(spill, sizeof(spill), "%s/jobs",
		r->o->state_dir) >= sizeof(spill))
		return ag_err_set(err, "state folder name too long");
	if (ag_mkdir_p(spill, 0700, 0700) != 0)
		return ag_err_set(err, "%s: %s", spill, strerror(errno));
	/* Upload parts too big for memory are spooled there too. */
	uc.spool_dir = r->spool_dir = spill;
	mh = (struct manifest_head){ .job = jc->name,
		.host = r->host,
		.backup_id = r->id,
		.level = 0,
		.start_ms = res->start_ms,
		.sources = (const char *const *)jc->paths,
		.exclude = (const char *const *)jc->exclude,
		.compress_level = jc->level != 0 ? jc->level :
						   ST_COMPRESS_LEVEL_DEFAULT,
		.slice_size = slice,
		.spill_dir = spill };
	if ((r->mw = manifest_writer_new(&mh, err)) == NULL)
		return -1;
	if ((r->tar_hash = crypto_hash_sha256_new()) == NULL)
		return ag_err_set(err, "out of memory");

	/* The chain, bottom-up. */
	if ((top = st_upload_new(st, dkey, &uc, err)) == NULL)
		return -1;
	if ((obj = format_seal_new(key, dk, FORMAT_KIND_DATA, r->id,
		 (uint32_t)st_compress_bound(slice), err)) == NULL)
		goto fail;
	h = format_object_header(obj, &hlen);
	memcpy(header, h, hlen);
	if ((s = st_encrypt_new(top, obj, &ec, err)) == NULL)
		goto fail;
	top = r->enc = s;
	cc = (struct st_compress_conf){ .slice_size = slice,
		.level = jc->level,
		.workers = jc->threads,
		.on_member = on_member,
		.cookie = r };
	if ((s = st_compress_new(top, &cc, err)) == NULL)
		goto fail;
	top = s;
	if ((s = stage_tap_new(top, tap_fn, r)) == NULL) {
		(void)ag_err_set(err, "out of memory");
		goto fail;
	}
	top = s;
	ac = (struct st_archive_conf){
		.exclude = (const char *const *)jc->exclude,
		.one_file_system = jc->one_file_system,
		.exclude_caches = jc->exclude_caches,
		.strict = jc->strict,
		.cancelled = ar_cancelled,
		.on_entry = on_entry,
		.on_warning = on_warning,
		.cookie = r
	};
	if ((r->ar = st_archive_new(top, &ac, err)) == NULL)
		goto fail;

	for (size_t i = 0; i < jc->npaths; i++)
		if (st_archive_add_path(r->ar, jc->paths[i], err) != 0)
			goto fail_archive;
	for (size_t i = 0; i < jc->ncommands; i++)
		if (st_archive_add_command(r->ar, jc->commands[i].path,
			jc->commands[i].run, err) != 0)
			goto fail_archive;
	if (should_stop(r))
		goto fail_archive;
	if (st_archive_finish(r->ar, err) != 0)
		goto fail_archive;
	st_archive_stats(r->ar, &as);
	res->files = as.files;
	res->dirs = as.dirs;
	res->symlinks = as.symlinks;
	res->hardlinks = as.hardlinks;
	res->others = as.others;
	res->bytes_in = as.data_bytes;
	res->tar_bytes = r->tar_bytes;
	if (stage_close(top) != 0) {
		(void)stage_error(top, err);
		goto fail;
	}
	data_done = true;
	report(r);

	t = (struct manifest_totals){ .end_ms = clock_wall_ms(),
		.files = as.files,
		.dirs = as.dirs,
		.symlinks = as.symlinks,
		.hardlinks = as.hardlinks,
		.others = as.others,
		.bytes_in = as.data_bytes,
		.tar_size = r->tar_bytes,
		.data_size = st_encrypt_size(r->enc),
		.data_header = header,
		.data_header_len = hlen,
		.chunk_size = (uint32_t)st_compress_bound(slice) };
	if (crypto_hash_final(r->tar_hash, t.tar_sha256) != 0) {
		(void)ag_err_set(err, "sha256 of the tar stream failed");
		goto fail;
	}
	if (manifest_writer_finish(r->mw, &t, err) != 0)
		goto fail;
	if (manifest_writer_index_separate(r->mw)) {
		if (write_index(r, st, key, dk, ikey, &index_size, err) != 0)
			goto fail;
		index_done = true;
		manifest_writer_set_index(r->mw, index_size,
		    MANIFEST_INDEX_GZIP);
	}
	if (manifest_writer_json(r->mw,
		format_header_len(key, FORMAT_KIND_MANIFEST), &json, &jlen,
		&stored, err) != 0)
		goto fail;
	if (format_manifest_seal(key, dk, r->id, json, jlen, &sealed, &slen,
		err) != 0)
		goto fail;
	if (t.data_size + index_size + slen != stored)
		log_debug("backup %s: manifest size %zu differs from the "
			  "predicted one",
		    jc->name, slen);
	if (should_stop(r)) {
		(void)stop_error(r, err);
		goto fail;
	}
	/* The manifest last: from now on the backup is complete. */
	if (put_retry(st, mkey, sealed, slen, err) != 0)
		goto fail;
	res->bytes_stored = t.data_size + index_size + slen;
	rc = 0;
	goto out;

fail_archive:
	/* Prefer the real reason over the archive's "cancelled". */
	if (should_stop(r))
		(void)stop_error(r, err);
	else if (manifest_writer_failed(r->mw, err))
		;
	else if (r->hash_failed)
		(void)ag_err_set(err, "sha256 of the tar stream failed");
fail:
	/* What is left here is removed by the next run. */
	if (data_done)
		(void)storage_remove(st, dkey, &rerr);
	if (index_done)
		(void)storage_remove(st, ikey, &rerr);
out:
	st_archive_free(r->ar);
	r->ar = NULL;
	/* Frees an unclosed chain: the upload is aborted. */
	stage_free_chain(top);
	r->enc = NULL;
	if (json != NULL) {
		crypto_wipe(json, jlen);
		free(json);
	}
	free(sealed);
	return rc;
}

/* --- The run ---------------------------------------------------------- */

/* A backup that an object lock keeps: one line in the log. */
static void
prune_note(void *cookie, const struct catalog_backup *b,
    enum catalog_action action, const char *reason, int rc, const char *error)
{
	(void)rc;
	(void)error;
	if (action == CATALOG_KEEP_LOCKED)
		log_info("prune: %s/%s kept: %s", (const char *)cookie, b->id,
		    reason);
}

static void
apply_retention(struct run *r, struct storage *st)
{
	struct catalog_prune_opts po = { .stale_grace_s = -1,
		.running_id = r->id,
		.cb = prune_note,
		.cookie = (void *)r->jc->name };
	struct catalog_prune_result pr = { 0 };
	struct ag_err e;

	job_retention_policy(r->jc, &po.policy);
	if (po.policy.keep_last == 0 && po.policy.keep_daily == 0 &&
	    po.policy.keep_weekly == 0 && po.policy.keep_monthly == 0)
		return;
	if (catalog_prune(st, r->jc->prefix, r->jc->name, &po, &pr, &e) != 0)
		add_warning(r, "retention: %s", e.msg);
	r->res->pruned = pr.deleted;
	if (pr.deleted > 0)
		log_info("backup %s: retention deleted %zu old backup%s, kept "
			 "%zu",
		    r->jc->name, pr.deleted, pr.deleted == 1 ? "" : "s",
		    pr.kept);
}

/**
 * job_run(jc, opts, ret):
 * Write one backup of ${jc} and apply its retention (see job.h); fill
 * ${ret} whatever happens.  Return 0 if a complete backup was written,
 * else -1.  Blocks for the whole run.
 */
int
job_run(const struct job_conf *jc, const struct job_run_opts *opts,
    struct job_result *ret)
{
	struct run r = { .jc = jc, .o = opts, .res = ret };
	struct crypto_key *key = NULL;
	struct storage *st = NULL;
	struct ag_err e = { "" };
	uint8_t dk[32];

	memset(ret, 0, sizeof(*ret));
	ret->start_ms = clock_wall_ms();
	r.t0 = clock_mono_ms();
	r.start_s = ret->start_ms / 1000;
	r.stop.cancel = opts->cancel;
	if (opts->deadline_ms > 0)
		r.stop.deadline_ms = opts->deadline_ms;
	else if (jc->timeout_ms > 0)
		r.stop.deadline_ms = r.t0 + jc->timeout_ms;
	if (opts->host != NULL)
		snprintf(r.host, sizeof(r.host), "%s", opts->host);
	else if (gethostname(r.host, sizeof(r.host) - 1) != 0)
		snprintf(r.host, sizeof(r.host), "localhost");
	if (opts->backup_id != NULL && opts->backup_id[0] != '\0') {
		if (strlen(opts->backup_id) >= sizeof(r.id)) {
			(void)ag_err_set(&e, "backup id too long");
			goto out;
		}
		memcpy(r.id, opts->backup_id, strlen(opts->backup_id) + 1);
	} else if (format_backup_id_new((time_t)r.start_s, r.id) != 0) {
		(void)ag_err_set(&e, "cannot make a backup id");
		r.id[0] = '\0';
		goto out;
	}
	memcpy(ret->backup_id, r.id, sizeof(r.id));
	if (should_stop(&r)) {
		(void)stop_error(&r, &e);
		goto out;
	}

	/* RDS snapshots alone (backup/rds.h). */
	if (jc->npaths == 0 && jc->ncommands == 0)
		goto snapshots;
	/* Keys. */
	if ((key = jobconf_load_key(jc, false, &e)) == NULL)
		goto out;
	if (crypto_random(dk, sizeof(dk)) != 0) {
		(void)ag_err_set(&e, "no random data key");
		goto out;
	}
	/* Storage, and the leftovers of crashed runs. */
	if (jc->storage == NULL) {
		(void)ag_err_set(&e, "job %s has no storage", jc->name);
		goto out;
	}
	if (storage_open(jc->storage, &st, &e) != 0)
		goto out;
	clean_stale(&r, st);
	/* The data, the index and the manifest. */
	if (write_backup(&r, st, key, dk, &e) != 0)
		goto out;
	apply_retention(&r, st);
snapshots:
	/* And the job's RDS snapshots, if any, after its files. */
	if (jc->rds != NULL &&
	    rds_run(jc, r.host, r.id, &r.stop, ret, &e) != 0)
		goto out;
	ret->ok = true;

out:
	crypto_wipe(dk, sizeof(dk));
	crypto_keys_free(key);
	key = NULL;
	ret->cancelled = r.stop.cancelled;
	ret->timed_out = r.stop.timed_out;
	if (!ret->ok)
		snprintf(ret->error, sizeof(ret->error), "%s",
		    e.msg[0] != '\0' ? e.msg : "failed");
	storage_close(st);
	manifest_writer_free(r.mw);
	r.mw = NULL;
	crypto_hash_free(r.tar_hash);
	ret->end_ms = clock_wall_ms();
	return ret->ok ? 0 : -1;
}
