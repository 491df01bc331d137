/*
 * catalog.c: listing, resolving, pruning and loading backups (see
 * catalog.h; verifying is in catalog_verify.c).
 *
 * A listing of "<prefix>/<job>/" is grouped by the id segment of each key;
 * keys that do not look like "<id>/<name>" are ignored, so stray objects
 * never become backups.  Loading a manifest opens manifest.vgl and, when
 * the file index is separate, streams index.vgl through the format reader
 * and the parallel inflater (inflate.h) into a manifest_index_reader or a
 * buffer.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/ag.h"
#include "lib/buf.h"
#include "lib/crypto/crypto.h"
#include "lib/crypto/crypto_sign.h"
#include "providers/storage.h"
#include "backup/format.h"
#include "backup/inflate.h"
#include "backup/manifest.h"
#include "backup/retention.h"

#include "backup/catalog.h"

/*
 * Inflate threads for an index.  Its JSON is parsed on one thread far
 * slower than one thread inflates it; more would only hold more members
 * (1 MiB each) in memory.
 */
#define INDEX_WORKERS 2

/* "<prefix>/<job>/" into ${out}. */
static int
job_dir(const char *prefix, const char *job, char *out, size_t outlen)
{
	const char *sep = "/";
	int n;

	if (prefix == NULL || *prefix == '\0')
		prefix = sep = "";
	else if (prefix[strlen(prefix) - 1] == '/')
		sep = "";
	n = snprintf(out, outlen, "%s%s%s/", prefix, sep, job);
	return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

static int
job_name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > CATALOG_JOB_MAX || strcmp(s, ".") == 0 ||
	    strcmp(s, "..") == 0)
		return 0;
	return strspn(s,
		   "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		   "0123456789._-") == n;
}

/* --- Listing ---------------------------------------------------------- */

static int
backup_cmp(const void *a, const void *b)
{
	const struct catalog_backup *x = a, *y = b;

	if (x->time_s != y->time_s)
		return x->time_s < y->time_s ? -1 : 1;
	return strcmp(x->id, y->id);
}

/* Add the objects of ${b} to ${a} (the same backup). */
static void
merge(struct catalog_backup *a, const struct catalog_backup *b)
{
	a->size += b->size;
	a->nobjects += b->nobjects;
	if (b->has_data) {
		a->has_data = true;
		a->data_size = b->data_size;
	}
	if (b->has_index) {
		a->has_index = true;
		a->index_size = b->index_size;
	}
	if (b->has_manifest) {
		a->has_manifest = true;
		a->manifest_size = b->manifest_size;
	}
}

/**
 * catalog_list(st, prefix, job, ret, err):
 * List the backups of ${job} under the storage ${prefix} ("" or NULL for
 * none) into ${ret} (free with catalog_free()), complete and incomplete,
 * sorted by time then id.  Objects that are not "<id>/<name>" below the
 * job are ignored.  Return 0, or -1 / AG_RETRY with the storage's message.
 */
int
catalog_list(struct storage *st, const char *prefix, const char *job,
    struct catalog *ret, struct ag_err *err)
{
	char dir[STORAGE_KEY_MAX + 1], id[FORMAT_BACKUP_ID_SIZE];
	struct objlist ol = { 0 };
	struct catalog c = { 0 };
	struct catalog_backup *b;
	size_t dlen, i, j;
	const char *rest, *name;
	time_t t;
	int rc;

	if (!job_name_ok(job))
		return ag_err_set(err, "\"%.80s\" is not a job name", job);
	if (job_dir(prefix, job, dir, sizeof(dir)) != 0)
		return ag_err_set(err, "storage prefix too long");
	dlen = strlen(dir);
	if ((rc = storage_list(st, dir, 0, &ol, err)) != 0)
		return rc;
	/* At most one backup per object; sorted keys group each backup. */
	if ((c.v = calloc(ol.n > 0 ? ol.n : 1, sizeof(*c.v))) == NULL) {
		objlist_free(&ol);
		return ag_err_set(err, "listing %s: out of memory", dir);
	}
	for (i = 0; i < ol.n; i++) {
		rest = ol.v[i].name + dlen;
		if (strlen(rest) < FORMAT_BACKUP_ID_LEN + 2 ||
		    rest[FORMAT_BACKUP_ID_LEN] != '/')
			continue;
		memcpy(id, rest, FORMAT_BACKUP_ID_LEN);
		id[FORMAT_BACKUP_ID_LEN] = '\0';
		name = rest + FORMAT_BACKUP_ID_LEN + 1;
		if (format_backup_id_parse(id, &t) != 0 ||
		    strchr(name, '/') != NULL)
			continue;
		/* Keys come sorted, so a backup's objects are adjacent. */
		b = c.n > 0 && strcmp(c.v[c.n - 1].id, id) == 0 ?
		    &c.v[c.n - 1] :
		    NULL;
		if (b == NULL) {
			b = &c.v[c.n++];
			memcpy(b->id, id, FORMAT_BACKUP_ID_SIZE);
			b->time_s = (int64_t)t;
		}
		b->size += ol.v[i].size;
		b->nobjects++;
		if (strcmp(name, FORMAT_NAME_DATA) == 0) {
			b->has_data = true;
			b->data_size = ol.v[i].size;
		} else if (strcmp(name, FORMAT_NAME_INDEX) == 0) {
			b->has_index = true;
			b->index_size = ol.v[i].size;
		} else if (strcmp(name, FORMAT_NAME_MANIFEST) == 0) {
			b->has_manifest = true;
			b->manifest_size = ol.v[i].size;
		}
	}
	objlist_free(&ol);
	/*
	 * Should a backend list out of order, one backup would appear
	 * more than once: sort (by time, then id) and merge neighbours.
	 */
	qsort(c.v, c.n, sizeof(*c.v), backup_cmp);
	for (i = 0, j = 0; i < c.n; i++) {
		if (j > 0 && strcmp(c.v[j - 1].id, c.v[i].id) == 0) {
			merge(&c.v[j - 1], &c.v[i]);
			continue;
		}
		c.v[j++] = c.v[i];
	}
	c.n = j;
	for (i = 0; i < c.n; i++) {
		b = &c.v[i];
		b->complete = b->has_manifest &&
		    b->manifest_size >= CATALOG_MANIFEST_MIN;
		c.ncomplete += b->complete;
	}
	*ret = c;
	return 0;
}

/* catalog_free(c): free what ${c} holds and zero it; NULL is a no-op. */
void
catalog_free(struct catalog *c)
{
	if (c == NULL)
		return;
	free(c->v);
	memset(c, 0, sizeof(*c));
}

/**
 * catalog_find(c, job, which, ret_idx, err):
 * In the listing ${c} of ${job}, find the complete backup named by
 * ${which}: "latest", a full id, or an id without its suffix
 * ("2026-11-22T030000Z") or any other prefix of one, if only one complete
 * backup matches.  Store its position in ${ret_idx}.  Return 0, or -1
 * with "no complete backup of job nightly", "no backup nightly/X",
 * "backup nightly/X is incomplete (interrupted run)" or "nightly/X is
 * ambiguous: 2 backups match (A, B)".
 */
int
catalog_find(const struct catalog *c, const char *job, const char *which,
    size_t *ret_idx, struct ag_err *err)
{
	size_t i, n, found = 0, nmatch = 0, nincomplete = 0;
	char list[160] = "";

	if (strcmp(which, "latest") == 0) {
		for (i = c->n; i > 0; i--)
			if (c->v[i - 1].complete) {
				*ret_idx = i - 1;
				return 0;
			}
		return ag_err_set(err, "no complete backup of job %s%s", job,
		    c->n > 0 ? " (only incomplete ones)" : "");
	}
	n = strlen(which);
	if (n == 0 || n > FORMAT_BACKUP_ID_LEN)
		return ag_err_set(err, "no backup %s/%.40s", job, which);
	for (i = 0; i < c->n; i++) {
		if (strncmp(c->v[i].id, which, n) != 0)
			continue;
		if (!c->v[i].complete) {
			nincomplete++;
			continue;
		}
		if (nmatch < 3) {
			size_t l = strlen(list);

			snprintf(list + l, sizeof(list) - l, "%s%s",
			    nmatch > 0 ? ", " : "", c->v[i].id);
		}
		nmatch++;
		found = i;
	}
	if (nmatch == 1) {
		*ret_idx = found;
		return 0;
	}
	if (nmatch > 1)
		return ag_err_set(err,
		    "%s/%s is ambiguous: %zu backups match "
		    "(%s%s)",
		    job, which, nmatch, list, nmatch > 3 ? ", ..." : "");
	if (nincomplete > 0)
		return ag_err_set(err,
		    "backup %s/%s is incomplete (interrupted "
		    "run)",
		    job, which);
	return ag_err_set(err, "no backup %s/%s", job, which);
}

/**
 * catalog_resolve(st, prefix, spec, ret_job, ret_id, err):
 * Resolve ${spec}, "job/latest", "job/<id>" or "job/<id prefix>", to a
 * complete backup: store the job name in ${ret_job} (CATALOG_JOB_MAX + 1
 * bytes) and the id in ${ret_id}.  Return 0, AG_RETRY, or -1 with a
 * message (see catalog_find(), and "give JOB/latest, JOB/ID or
 * JOB/ID-prefix" for a malformed ${spec}).
 */
int
catalog_resolve(struct storage *st, const char *prefix, const char *spec,
    char ret_job[CATALOG_JOB_MAX + 1], char ret_id[FORMAT_BACKUP_ID_SIZE],
    struct ag_err *err)
{
	char job[CATALOG_JOB_MAX + 1];
	const char *slash = strchr(spec, '/');
	struct catalog c;
	size_t jl, idx;
	int rc;

	if (slash == NULL || (jl = (size_t)(slash - spec)) == 0 ||
	    jl > CATALOG_JOB_MAX || slash[1] == '\0' ||
	    strchr(slash + 1, '/') != NULL)
		return ag_err_set(err,
		    "\"%.80s\": give JOB/latest, JOB/ID or "
		    "JOB/ID-prefix",
		    spec);
	memcpy(job, spec, jl);
	job[jl] = '\0';
	if (!job_name_ok(job))
		return ag_err_set(err, "\"%s\" is not a job name", job);
	if ((rc = catalog_list(st, prefix, job, &c, err)) != 0)
		return rc;
	if (catalog_find(&c, job, slash + 1, &idx, err) != 0) {
		catalog_free(&c);
		return -1;
	}
	memcpy(ret_job, job, jl + 1);
	memcpy(ret_id, c.v[idx].id, FORMAT_BACKUP_ID_SIZE);
	catalog_free(&c);
	return 0;
}

/* --- Deleting and pruning --------------------------------------------- */

/* Delete order: manifest, index, data, then the rest. */
static int
delete_rank(const char *key)
{
	const char *name = strrchr(key, '/');

	name = name != NULL ? name + 1 : key;
	if (strcmp(name, FORMAT_NAME_MANIFEST) == 0)
		return 0;
	if (strcmp(name, FORMAT_NAME_INDEX) == 0)
		return 1;
	if (strcmp(name, FORMAT_NAME_DATA) == 0)
		return 2;
	return 3;
}

/* Objects in delete order: the manifest first, then by name. */
static int
delete_cmp(const void *a, const void *b)
{
	const struct objent *x = a, *y = b;
	int rx = delete_rank(x->name), ry = delete_rank(y->name);

	if (rx != ry)
		return rx < ry ? -1 : 1;
	return strcmp(x->name, y->name);
}

/*
 * backup_objects(st, dir, b, out, err): the objects of the backup whose
 * folder is ${dir} into ${out}, in delete order.  With ${b} (its entry in
 * a listing just made) and nothing but the known objects in it, the names
 * come from ${b} without asking the storage again.  Return 0, AG_RETRY or
 * -1.
 */
static int
backup_objects(struct storage *st, const char *dir,
    const struct catalog_backup *b, struct objlist *out, struct ag_err *err)
{
	static const char *const names[] = { FORMAT_NAME_MANIFEST,
		FORMAT_NAME_INDEX, FORMAT_NAME_DATA };
	char key[STORAGE_KEY_MAX + 1];
	int rc;

	if (b != NULL &&
	    b->nobjects ==
		(size_t)b->has_manifest + b->has_index + b->has_data) {
		const bool has[] = { b->has_manifest, b->has_index,
			b->has_data };

		for (size_t i = 0; i < 3; i++) {
			if (!has[i])
				continue;
			if (snprintf(key, sizeof(key), "%s%s", dir,
				names[i]) >= (int)sizeof(key))
				return ag_err_set(err,
				    "storage prefix too long");
			if (objlist_add(out, key, 0, 0, NULL) != 0) {
				objlist_free(out);
				return ag_err_set(err,
				    "delete: out of memory");
			}
		}
		return 0;
	}
	if ((rc = storage_list(st, dir, 0, out, err)) != 0)
		return rc;
	if (out->n > 1)
		qsort(out->v, out->n, sizeof(*out->v), delete_cmp);
	return 0;
}

/*
 * locked(st, ol, now, err): whether an object lock keeps the objects
 * ${ol} (in delete order) at ${now}: the manifest's lock if it is there
 * (written last, it is locked longest), else each object's.  Return 0,
 * CATALOG_RETAINED with the lock's name and date in ${err}, AG_RETRY or
 * -1.
 */
static int
locked(struct storage *st, const struct objlist *ol, int64_t now,
    struct ag_err *err)
{
	const char *lock = storage_lock_name(st);
	time_t until, last = 0;
	struct tm tm;
	char when[32];
	int rc;

	if (lock == NULL)
		return 0;
	for (size_t i = 0; i < ol->n; i++) {
		rc = storage_retention(st, ol->v[i].name, &until, err);
		if (rc != 0 && rc != STORAGE_ABSENT)
			return rc;
		if (rc == 0 && until > last)
			last = until;
		if (i == 0 && delete_rank(ol->v[0].name) == 0)
			break;
	}
	if ((int64_t)last <= now)
		return 0;
	(void)gmtime_r(&last, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	(void)ag_err_set(err, "%s retains it until %s", lock, when);
	return CATALOG_RETAINED;
}

/*
 * delete_backup(st, prefix, job, id, b, now, dry_run, err):
 * catalog_delete(), with the listing's entry ${b} of the backup when the
 * caller has one (may be NULL), locks judged at ${now}; a dry run stops
 * before deleting.
 */
static int
delete_backup(struct storage *st, const char *prefix, const char *job,
    const char *id, const struct catalog_backup *b, int64_t now, bool dry_run,
    struct ag_err *err)
{
	char dir[STORAGE_KEY_MAX + 1];
	struct objlist ol = { 0 };
	const char **keys = NULL;
	int rc;

	if (!job_name_ok(job) || format_backup_id_parse(id, NULL) != 0)
		return ag_err_set(err, "delete: bad job or backup id");
	if (job_dir(prefix, job, dir, sizeof(dir)) != 0 ||
	    strlen(dir) + FORMAT_BACKUP_ID_LEN + 2 > sizeof(dir))
		return ag_err_set(err, "storage prefix too long");
	strcat(dir, id);
	strcat(dir, "/");
	if ((rc = backup_objects(st, dir, b, &ol, err)) != 0)
		return rc;
	if ((rc = locked(st, &ol, now, err)) != 0 || dry_run) {
		objlist_free(&ol);
		return rc;
	}
	if ((keys = calloc(ol.n + 1, sizeof(*keys))) == NULL) {
		objlist_free(&ol);
		return ag_err_set(err, "delete: out of memory");
	}
	for (size_t i = 0; i < ol.n; i++)
		keys[i] = ol.v[i].name;
	/*
	 * The manifest first, on its own: once it is gone the backup is
	 * incomplete, whatever happens to the rest.  A batch has no order
	 * (S3's DeleteObjects), so the rest go in a second one.
	 */
	rc = ol.n > 0 ? storage_remove_many(st, keys, 1, err) : 0;
	if (rc == 0 && ol.n > 1)
		rc = storage_remove_many(st, keys + 1, ol.n - 1, err);
	free(keys);
	objlist_free(&ol);
	return rc;
}

/**
 * catalog_delete(st, prefix, job, id, err):
 * Delete every object of backup ${job}/${id}: manifest.vgl, then the rest
 * in one storage_remove_many(), unless an object lock still holds it (see
 * catalog.h).  Return 0, CATALOG_RETAINED, AG_RETRY or -1 with a message.
 */
int
catalog_delete(struct storage *st, const char *prefix, const char *job,
    const char *id, struct ag_err *err)
{

	return delete_backup(st, prefix, job, id, NULL, (int64_t)time(NULL),
	    false, err);
}

/**
 * catalog_action_name(a):
 * "keep", "delete", "incomplete", "delete incomplete", "keep (locked)".
 */
const char *
catalog_action_name(enum catalog_action a)
{
	switch (a) {
	case CATALOG_KEEP:
		return "keep";
	case CATALOG_DELETE:
		return "delete";
	case CATALOG_INCOMPLETE:
		return "incomplete";
	case CATALOG_DELETE_INCOMPLETE:
		return "delete incomplete";
	case CATALOG_KEEP_LOCKED:
		return "keep (locked)";
	}
	return "?";
}

/**
 * catalog_prune(st, prefix, job, opts, ret, err):
 * Apply the retention policy to the complete backups of ${job} and delete
 * those it does not keep (unless dry_run), then the stale incomplete ones
 * as ${opts} says.  The newest complete backup is always kept and an
 * all-zero policy keeps everything (retention.h); one an object lock holds
 * is kept too (CATALOG_KEEP_LOCKED, no failure).  Counters go to ${ret}
 * (may be NULL).  Return 0; AG_RETRY or -1 if the listing failed (nothing
 * deleted); -1 if a delete failed (the others were still tried; ${err}
 * has the first failure).
 */
int
catalog_prune(struct storage *st, const char *prefix, const char *job,
    const struct catalog_prune_opts *opts, struct catalog_prune_result *ret,
    struct ag_err *err)
{
	struct catalog_prune_result res = { 0 };
	struct retention_result *verdicts = NULL;
	struct backup_ref *refs = NULL;
	struct catalog c;
	struct ag_err derr;
	char lockmsg[AG_ERR_SIZE];
	bool *stale = NULL;
	int64_t now = opts->now_s != 0 ? opts->now_s : (int64_t)time(NULL);
	size_t i;
	int rc, failed = 0;

	if ((rc = catalog_list(st, prefix, job, &c, err)) != 0)
		return rc;
	if ((refs = calloc(c.n + 1, sizeof(*refs))) == NULL ||
	    (verdicts = calloc(c.n + 1, sizeof(*verdicts))) == NULL ||
	    (stale = calloc(c.n + 1, sizeof(*stale))) == NULL) {
		rc = ag_err_set(err, "prune: out of memory");
		goto out;
	}
	for (i = 0; i < c.n; i++)
		refs[i] = (struct backup_ref){ .id = c.v[i].id,
			.time_s = c.v[i].time_s,
			.complete = c.v[i].complete };
	/* A policy that cannot be applied deletes nothing. */
	if (retention_apply(&opts->policy, refs, c.n, verdicts, err) != 0) {
		rc = -1;
		goto out;
	}
	if (opts->stale_grace_s >= 0)
		retention_stale_incomplete(refs, c.n, opts->running_id, now,
		    opts->stale_grace_s, stale);

	for (i = 0; i < c.n; i++) {
		const struct catalog_backup *b = &c.v[i];
		enum catalog_action a;
		const char *reason = verdicts[i].reason;
		int drc = 0;

		derr.msg[0] = '\0';
		if (!b->complete)
			a = stale[i] ? CATALOG_DELETE_INCOMPLETE :
				       CATALOG_INCOMPLETE;
		else if (verdicts[i].verdict == RETENTION_KEEP)
			a = CATALOG_KEEP;
		else
			a = CATALOG_DELETE;
		if (opts->running_id != NULL &&
		    strcmp(b->id, opts->running_id) == 0) {
			a = b->complete ? CATALOG_KEEP : CATALOG_INCOMPLETE;
			reason = "running";
		}
		if (a == CATALOG_DELETE_INCOMPLETE)
			reason = "incomplete, stale";
		/* A dry run deletes nothing, but asks for locks. */
		if ((a == CATALOG_DELETE || a == CATALOG_DELETE_INCOMPLETE) &&
		    (!opts->dry_run || storage_lock_name(st) != NULL)) {
			drc = delete_backup(st, prefix, job, b->id, b, now,
			    opts->dry_run, &derr);
			if (drc == CATALOG_RETAINED) {
				a = CATALOG_KEEP_LOCKED;
				snprintf(lockmsg, sizeof(lockmsg), "%s",
				    derr.msg);
				reason = lockmsg;
				derr.msg[0] = '\0';
				drc = 0;
			} else if (drc != 0) {
				drc = -1;
				if (!failed)
					(void)ag_err_set(err,
					    "delete %s/%s: %s", job, b->id,
					    derr.msg);
				failed = 1;
				res.failed++;
			}
		}
		switch (a) {
		case CATALOG_KEEP:
			res.kept++;
			break;
		case CATALOG_DELETE:
			if (drc == 0)
				res.deleted++;
			break;
		case CATALOG_INCOMPLETE:
			res.incomplete++;
			break;
		case CATALOG_DELETE_INCOMPLETE:
			if (drc == 0)
				res.deleted_incomplete++;
			break;
		case CATALOG_KEEP_LOCKED:
			res.locked++;
			break;
		}
		if ((a == CATALOG_DELETE || a == CATALOG_DELETE_INCOMPLETE) &&
		    drc == 0)
			res.bytes_freed += b->size;
		if (opts->cb != NULL)
			opts->cb(opts->cookie, b, a, reason, drc,
			    drc != 0 ? derr.msg : NULL);
	}
	rc = failed ? -1 : 0;
	if (ret != NULL)
		*ret = res;
out:
	free(refs);
	free(verdicts);
	free(stale);
	catalog_free(&c);
	return rc;
}

/* --- Loading a manifest ----------------------------------------------- */

/* Get a whole object, retrying transient failures. */
static int
get_buf(struct storage *st, const char *key, size_t max, uint8_t **ret,
    size_t *ret_len, struct ag_err *err)
{
	unsigned attempt = 0;
	int rc;

	while ((rc = storage_get_buf(st, key, max, ret, ret_len, err)) ==
		AG_RETRY &&
	    backoff_retry(&storage_retry, &attempt))
		;
	return rc;
}

/*
 * The storage key of the ${kind} object of backup ${id} of ${job} under
 * ${prefix}, into ${out}; 0, or -1 with a message if ${job} or ${id} is
 * not valid.
 */
static int
catalog_object_key(const char *prefix, const char *job, const char *id,
    enum format_kind kind, char *out, size_t outlen, struct ag_err *err)
{
	if (format_object_name(prefix, job, id, kind, out, outlen) != 0)
		return ag_err_set(err,
		    "bad job \"%.64s\" or backup id "
		    "\"%.40s\"",
		    job, id);
	return 0;
}

/*
 * Loading index.vgl: storage_get() pushes the object into the format
 * reader; each chunk's plaintext is a gzip member, inflated in parallel
 * (inflate.h) and appended in order, or, in backups written before the
 * index was compressed, the JSON itself.  Memory: one sealed chunk, the
 * inflater's members of at most MANIFEST_INDEX_SLICE, and the JSON (at
 * most the manifest's json_size, else FORMAT_MANIFEST_MAX).
 */
struct ixload {
	const struct manifest *m;
	struct format_reader *rd;
	struct inflate *ifl;			      /* NULL: plain JSON */
	int (*sink)(void *, const uint8_t *, size_t); /* gets the JSON */
	void *cookie;
	struct buf json; /* ix_append(): the whole JSON */
	uint64_t fed;	 /* object bytes */
	int failed;
	struct ag_err err;
};

/* Append ${len} bytes of index JSON. */
static int
ix_append(void *cookie, const uint8_t *buf, size_t len)
{
	struct ixload *x = cookie;

	if (buf_append(&x->json, buf, len) == 0)
		return 0;
	if (x->failed)
		return -1;
	if (x->json.err == E2BIG)
		x->failed = ag_err_set(&x->err,
		    "%s: the index JSON exceeds "
		    "%zu bytes%s",
		    FORMAT_NAME_INDEX, x->json.max,
		    x->m->index_json_size != 0 ? " (the manifest's "
						 "json_size)" :
						 "");
	else
		x->failed = ag_err_set(&x->err, "%s: out of memory",
		    FORMAT_NAME_INDEX);
	return -1;
}

static int
ix_chunk(void *cookie, uint64_t index, const uint8_t *pt, size_t len,
    int final)
{
	struct ixload *x = cookie;
	const struct format_info *info;
	struct ag_err e;

	(void) final;
	if (index == 0) {
		info = format_object_info(format_reader_object(x->rd));
		if (strcmp(info->backup_id, x->m->backup_id) != 0) {
			x->failed = ag_err_set(&x->err,
			    "%s: sealed for backup "
			    "%s, not %s",
			    FORMAT_NAME_INDEX, info->backup_id,
			    x->m->backup_id);
			return -1;
		}
	}
	if (x->ifl == NULL)
		return x->sink(x->cookie, pt, len);
	/* Every chunk is one whole member; a chunk cut elsewhere fails. */
	if (len < 18 || pt[0] != 0x1f || pt[1] != 0x8b || pt[2] != 8) {
		x->failed = ag_err_set(&x->err,
		    "%s: chunk %" PRIu64 ": not "
		    "a gzip member (corrupt)",
		    FORMAT_NAME_INDEX, index);
		return -1;
	}
	if (inflate_member(x->ifl, pt, len, &e) != 0) {
		if (!x->failed)
			x->failed = ag_err_set(&x->err,
			    "%s: chunk %" PRIu64 ": %s", FORMAT_NAME_INDEX,
			    index, e.msg);
		return -1;
	}
	return 0;
}

static int
ix_sink(void *cookie, const uint8_t *buf, size_t len)
{
	struct ixload *x = cookie;
	struct ag_err e;
	int rc;

	if (len > x->m->index_size - x->fed) {
		x->failed = ag_err_set(&x->err,
		    "%s: larger than the %" PRIu64 " bytes the manifest says",
		    FORMAT_NAME_INDEX, x->m->index_size);
		return -1;
	}
	rc = format_reader_feed(x->rd, buf, len, &e);
	if (rc == -1 && !x->failed)
		x->failed = ag_err_set(&x->err, "%s: %s", FORMAT_NAME_INDEX,
		    e.msg);
	if (rc != 0)
		return -1;
	x->fed += len;
	return 0;
}

/*
 * Fetch index.vgl (key ${okey}) of the manifest ${m}, open it with ${key},
 * inflate it if it is gzip, and pass its JSON to ${x}->sink in order.
 * Return 0, AG_RETRY or -1 with a message.
 */
static int
fetch_index(struct storage *st, const char *okey, const struct crypto_key *key,
    struct ixload *x, struct ag_err *err)
{
	const struct manifest *m = x->m;
	struct inflate_conf ic = { .max_out = MANIFEST_INDEX_SLICE,
		.workers = INDEX_WORKERS,
		.sink = x->sink,
		.cookie = x->cookie };
	struct ag_err e;
	int rc;

	if ((x->rd = format_reader_new(key, FORMAT_KIND_INDEX, ix_chunk, x)) ==
	    NULL) {
		rc = ag_err_set(err, "%s: out of memory", FORMAT_NAME_INDEX);
		goto out;
	}
	if (m->index_encoding == MANIFEST_INDEX_GZIP &&
	    (x->ifl = inflate_new(&ic, &e)) == NULL) {
		rc = ag_err_set(err, "%s: %s", FORMAT_NAME_INDEX, e.msg);
		goto out;
	}
	/* A transient failure resumes where it stopped. */
	rc = storage_get_retry(st, okey, 0, UINT64_MAX, ix_sink, x, &e);
	if (rc != 0 && !x->failed) {
		if (rc == STORAGE_ABSENT)
			rc = ag_err_set(err, "backup %s/%s: %s is missing",
			    m->job, m->backup_id, FORMAT_NAME_INDEX);
		else
			(void)ag_err_set(err, "%s", e.msg);
		goto out;
	}
	if (!x->failed && format_reader_end(x->rd, &e) != 0)
		x->failed = ag_err_set(&x->err, "%s: %s", FORMAT_NAME_INDEX,
		    e.msg);
	if (!x->failed && x->ifl != NULL && inflate_finish(x->ifl, &e) != 0 &&
	    !x->failed)
		x->failed = ag_err_set(&x->err, "%s: %s", FORMAT_NAME_INDEX,
		    e.msg);
	if (!x->failed && x->fed != m->index_size)
		x->failed = ag_err_set(&x->err,
		    "%s: %" PRIu64 " bytes, the "
		    "manifest says %" PRIu64,
		    FORMAT_NAME_INDEX, x->fed, m->index_size);
	if (x->failed)
		rc = ag_err_set(err, "%s", x->err.msg);
out:
	inflate_free(x->ifl);
	x->ifl = NULL;
	format_reader_free(x->rd);
	x->rd = NULL;
	return rc == 0 ? 0 : (rc == AG_RETRY ? AG_RETRY : -1);
}

/* Fetch index.vgl as fetch_index() does and load it into ${m}. */
static int
load_index(struct storage *st, const char *okey, const struct crypto_key *key,
    struct manifest *m, struct ag_err *err)
{
	struct ixload x = { .m = m, .sink = ix_append };
	int rc;

	x.cookie = &x;
	buf_init(&x.json,
	    m->index_json_size != 0 ? (size_t)m->index_json_size :
				      FORMAT_MANIFEST_MAX);
	if ((rc = fetch_index(st, okey, key, &x, err)) == 0)
		rc = manifest_load_index(m, x.json.p != NULL ? x.json.p : "",
		    x.json.len, err);
	if (x.json.p != NULL)
		crypto_wipe(x.json.p, x.json.len);
	buf_free(&x.json);
	return rc;
}

/**
 * catalog_stream_index(st, prefix, m, key, sink, cookie, err):
 * Fetch index.vgl of the backup that ${m} describes (its index must be
 * separate), open it with ${key}, inflate it one chunk at a time if it is
 * gzip, and pass its JSON to ${sink}(${cookie}, buf, len) in order; a
 * nonzero return stops.  Nothing of the index is kept.  Return 0,
 * AG_RETRY or -1 with a message (when ${sink} stopped it, a generic one:
 * the sink keeps its own).
 */
int
catalog_stream_index(struct storage *st, const char *prefix,
    const struct manifest *m, const struct crypto_key *key,
    int (*sink)(void *, const uint8_t *, size_t), void *cookie,
    struct ag_err *err)
{
	char okey[STORAGE_KEY_MAX + 1];
	struct ixload x = { .m = m, .sink = sink, .cookie = cookie };

	if (m->index_inline || m->index_omitted)
		return ag_err_set(err, "backup %s/%s has no index object",
		    m->job, m->backup_id);
	if (catalog_object_key(prefix, m->job, m->backup_id, FORMAT_KIND_INDEX,
		okey, sizeof(okey), err) != 0)
		return -1;
	return fetch_index(st, okey, key, &x, err);
}

/**
 * catalog_load_manifest(st, prefix, job, id, key, with_index, ret, err):
 * Fetch manifest.vgl of ${job}/${id}, open it with ${key}, parse it and
 * check that it names this job and id; with ${with_index}, also fetch,
 * inflate (streamed: one chunk at a time) and load index.vgl if the file
 * index is kept there.  Store the manifest in
 * ${ret} (free with manifest_free()).  This is where restore, verify and
 * list open a manifest, so it is where signatures are checked (by
 * format_open_buffer(), with the trusted signers ${key} carries).  Return
 * 0, AG_RETRY, or -1 with a message: "backup nightly/X has no manifest
 * (incomplete or deleted)", "manifest.vgl: wrong key: ...",
 * "manifest.vgl: chunk 0: authentication failed ...", "manifest.vgl: not
 * signed, but trusted_signers requires a signature ...", "manifest.vgl:
 * signed by 1f2e3d4c5b6a7988, which is not in trusted_signers",
 * "manifest.vgl: signature does not verify ...", "manifest: ..."
 * (malformed).
 */
int
catalog_load_manifest(struct storage *st, const char *prefix, const char *job,
    const char *id, const struct crypto_key *key, bool with_index,
    struct manifest **ret, struct ag_err *err)
{
	char okey[STORAGE_KEY_MAX + 1];
	struct format_info info;
	struct manifest *m = NULL;
	struct ag_err e;
	uint8_t *buf = NULL;
	char *json = NULL;
	size_t len, jlen;
	/* Sealed size of the largest JSON a reader accepts. */
	size_t max = (size_t)manifest_sealed_size(FORMAT_MANIFEST_MAX,
	    FORMAT_HEADER_MAX);
	int rc;

	if (catalog_object_key(prefix, job, id, FORMAT_KIND_MANIFEST, okey,
		sizeof(okey), err) != 0)
		return -1;
	rc = get_buf(st, okey, max, &buf, &len, &e);
	if (rc == STORAGE_ABSENT)
		return ag_err_set(err,
		    "backup %s/%s has no manifest "
		    "(incomplete or deleted)",
		    job, id);
	if (rc != 0) {
		(void)ag_err_set(err, "%s", e.msg);
		return rc == AG_RETRY ? AG_RETRY : -1;
	}
	rc = format_open_buffer(key, FORMAT_KIND_MANIFEST, buf, len, &json,
	    &jlen, &info, &e);
	free(buf);
	buf = NULL;
	if (rc != 0)
		return ag_err_set(err, "%s: %s", FORMAT_NAME_MANIFEST, e.msg);
	if (strcmp(info.backup_id, id) != 0) {
		rc = ag_err_set(err, "%s: sealed for backup %s, not %s",
		    FORMAT_NAME_MANIFEST, info.backup_id, id);
		goto out;
	}
	if ((rc = manifest_parse(json, jlen, &m, err)) != 0)
		goto out;
	m->is_signed = info.has_signature;
	if (m->is_signed) {
		memcpy(m->signer_id, info.signer_id_hex, sizeof(m->signer_id));
		(void)crypto_sign_public_string(info.signer, m->signer_pub,
		    sizeof(m->signer_pub));
	}
	if (strcmp(m->job, job) != 0 || strcmp(m->backup_id, id) != 0) {
		rc = ag_err_set(err, "manifest: describes %.64s/%s, not %s/%s",
		    m->job, m->backup_id, job, id);
		goto out;
	}
	free(json);
	json = NULL;
	if (with_index && !m->index_inline && !m->index_omitted) {
		if ((rc = catalog_object_key(prefix, job, id,
			 FORMAT_KIND_INDEX, okey, sizeof(okey), err)) != 0 ||
		    (rc = load_index(st, okey, key, m, err)) != 0)
			goto out;
	}
	*ret = m;
	m = NULL;
	rc = 0;
out:
	free(buf);
	if (json != NULL) {
		crypto_wipe(json, jlen);
		free(json);
	}
	manifest_free(m);
	return rc;
}
