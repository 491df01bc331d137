/*
 * api_backup.c: see api_backup.h.
 *
 * Each request takes the configuration the scheduler published
 * (web_runconf()), parses its backup jobs (the module has the backup code
 * linked in) and opens the job's storage; nothing is cached between
 * requests, so a reload is seen at the next one.
 *
 * Files: the file index is read in tar order, from the manifest when it
 * is inline, else streamed out of index.vgl one entry at a time
 * (catalog_stream_index() into a manifest_index_reader); only the page
 * asked for is kept, and the stream stops once the page is full and the
 * first entry of the next page is known: its position is the cursor.  In
 * tar order a folder's entries follow it, so the children of a folder
 * come out in runs: a child seen again right away is the same child.
 *
 * Restores: one at a time, each on a thread of its own that holds what it
 * needs (a runconf reference, its jobs, storage and key); the last
 * API_RESTORES_KEPT are remembered for GET.  The target must lie below one
 * of http.restore_roots: no ".." anywhere, and the folders below the root
 * are opened (and made, 0700) with beneath_open_dir(), which follows no
 * symlink, so a symlink in a root that points out is refused (403).  The
 * root itself is the administrator's and is resolved once.  Restored files
 * never get owners, setuid/setgid bits, capabilities or device nodes
 * (no_privileges), and existing files are left alone unless "overwrite".
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
/* strcasestr(): _GNU_SOURCE, as the build defines it. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "lib/beneath.h"
#include "lib/clock.h"
#include "lib/crypto/crypto_keys.h"
#include "lib/log.h"
#include "lib/parsenum.h"
#include "providers/storage.h"
#include "backup/catalog.h"
#include "backup/jobconf.h"
#include "backup/manifest.h"
#include "backup/restore.h"

#include "agent/runconf.h"

#include "agent/httpd/api_backup.h"

#define JOBS_PREFIX "/api/v1/jobs/"
#define RESTORES "/api/v1/restores"
#define FILES_LIMIT 200	     /* entries a page, by default */
#define FILES_LIMIT_MAX 1000 /* ... at most */
#define Q_MAX 256	     /* bytes of a search */

/* --- What every route needs: the job, its storage -------------------- */

struct ctx {
	struct runconf *rc; /* a reference */
	struct job_conf **jobs;
	size_t njobs;
	struct job_conf *jc;
	struct storage *st;
};

static void
ctx_free(struct ctx *c)
{
	storage_close(c->st);
	jobconf_free_all(c->jobs, c->njobs);
	runconf_free(c->rc);
	*c = (struct ctx){ 0 };
}

/*
 * Fill ${c} for job ${job} (${len} bytes): the configuration, its jobs,
 * the storage opened.  Return 0, or -1 with the error answered in ${rs}.
 */
static int
ctx_open(struct ctx *c, struct web *w, const char *job, size_t len,
    struct web_resp *rs)
{
	struct conf_errs errs = { 0 };
	struct ag_err err = { "" };

	*c = (struct ctx){ 0 };
	if ((c->rc = web_runconf(w)) == NULL) {
		web_error(rs, 503, "the agent is starting; try again");
		return -1;
	}
	if (jobconf_parse_all(c->rc->conf, &c->jobs, &c->njobs, &errs) != 0) {
		web_error(rs, 500, "the backup jobs do not parse: %s",
		    errs.n > 0 ? errs.msgs[0] : "error");
		conf_errs_free(&errs);
		ctx_free(c);
		return -1;
	}
	conf_errs_free(&errs);
	for (size_t i = 0; i < c->njobs; i++)
		if (strlen(c->jobs[i]->name) == len &&
		    memcmp(c->jobs[i]->name, job, len) == 0)
			c->jc = c->jobs[i];
	if (c->jc == NULL) {
		web_error(rs, 404, "no backup job \"%.*s\"",
		    (int)(len < 64 ? len : 64), job);
		ctx_free(c);
		return -1;
	}
	if (c->jc->storage == NULL) {
		web_error(rs, 404,
		    "backup job %s has no storage (it only "
		    "takes RDS snapshots)",
		    c->jc->name);
		ctx_free(c);
		return -1;
	}
	if (storage_open(c->jc->storage, &c->st, &err) != 0) {
		web_error(rs, 502, "storage: %s", err.msg);
		ctx_free(c);
		return -1;
	}
	return 0;
}

/* A storage or catalog failure: 503 if transient, else 502. */
static void
storage_error(struct web_resp *rs, int rc, const char *msg)
{
	web_error(rs, rc == AG_RETRY ? 503 : 502, "storage: %s", msg);
}

static json_t *
time_json(int64_t ms)
{
	char buf[40];

	clock_rfc3339(ms, buf, sizeof(buf));
	return json_string(buf);
}

/*
 * Find the complete backup ${which} ("latest", an id or a unique prefix of
 * one) of ${c}'s job into ${id}.  Return 0, or -1 with the error answered.
 */
static int
find_backup(struct ctx *c, const char *which, char id[FORMAT_BACKUP_ID_SIZE],
    struct web_resp *rs)
{
	struct catalog cat = { 0 };
	struct ag_err err = { "" };
	size_t idx;
	int rc;

	if ((rc = catalog_list(c->st, c->jc->prefix, c->jc->name, &cat,
		 &err)) != 0) {
		storage_error(rs, rc, err.msg);
		return -1;
	}
	if (catalog_find(&cat, c->jc->name, which, &idx, &err) != 0) {
		web_error(rs,
		    strstr(err.msg, "incomplete") != NULL    ? 409 :
			strstr(err.msg, "ambiguous") != NULL ? 400 :
							       404,
		    "%s", err.msg);
		catalog_free(&cat);
		return -1;
	}
	memcpy(id, cat.v[idx].id, FORMAT_BACKUP_ID_SIZE);
	catalog_free(&cat);
	return 0;
}

/* --- GET /api/v1/jobs/{job}/backups ----------------------------------- */

static void
get_backups(struct web *w, const struct web_req *rq, struct web_resp *rs,
    const char *job, size_t len)
{
	struct catalog cat = { 0 };
	struct ag_err err = { "" };
	struct ctx c;
	json_t *arr;
	int rc;

	if (rq->nparams > 0) {
		web_error(rs, 400, "unknown parameter \"%.64s\"",
		    rq->params[0].key);
		return;
	}
	if (ctx_open(&c, w, job, len, rs) != 0)
		return;
	if ((rc = catalog_list(c.st, c.jc->prefix, c.jc->name, &cat, &err)) !=
	    0) {
		storage_error(rs, rc, err.msg);
		ctx_free(&c);
		return;
	}
	arr = json_array();
	for (size_t i = cat.n; arr != NULL && i-- > 0;) {
		const struct catalog_backup *b = &cat.v[i];

		if (json_array_append_new(arr,
			json_pack("{s:s, s:o, s:b, s:I, s:b}", "id", b->id,
			    "time", time_json(b->time_s * 1000), "complete",
			    b->complete, "bytes", (json_int_t)b->size,
			    "index_separate", b->has_index)) != 0) {
			json_decref(arr);
			arr = NULL;
		}
	}
	web_json(rs, 200,
	    arr != NULL ?
		json_pack("{s:s, s:o}", "job", c.jc->name, "backups", arr) :
		NULL);
	catalog_free(&cat);
	ctx_free(&c);
}

/* --- GET /api/v1/jobs/{job}/backups/{id}/files ------------------------ */

/*
 * A relative path made clean in place: leading and trailing '/' and "."
 * components dropped.  Return 0, or -1 if it has a ".." component.
 */
static int
rel_clean(char *p)
{
	char *r = p, *o = p;

	while (*r != '\0') {
		const char *c;
		size_t n;

		while (*r == '/')
			r++;
		c = r;
		while (*r != '\0' && *r != '/')
			r++;
		n = (size_t)(r - c);
		if (n == 0 || (n == 1 && c[0] == '.'))
			continue;
		if (n == 2 && c[0] == '.' && c[1] == '.')
			return -1;
		if (o != p)
			*o++ = '/';
		memmove(o, c, n);
		o += n;
	}
	*o = '\0';
	return 0;
}

struct lister {
	const char *dir; /* clean; "" the top */
	size_t dirlen;
	const char *q; /* or NULL */
	uint64_t cursor;
	size_t limit;
	json_t *entries;
	size_t n;
	char last[PATH_MAX]; /* the last child listed (dir mode) */
	bool dir_seen;	     /* ${dir} is in the backup */
	bool full;	     /* the page is full: ${next} is the cursor */
	uint64_t next;
	bool oom;
};

static const char *
ftype(enum manifest_ftype t)
{
	switch (t) {
	case MANIFEST_FILE:
		return "file";
	case MANIFEST_DIR:
		return "dir";
	case MANIFEST_SYMLINK:
	case MANIFEST_HARDLINK:
		return "link";
	default:
		return "other";
	}
}

/*
 * Add ${path} (the entry ${f}, or NULL for a folder only implied by the
 * paths below it) to the page; entry ${i} starts the next page when this
 * one is full.  Return 1 to stop.
 */
static int
list_add(struct lister *l, const char *path, const struct manifest_file *f,
    uint64_t i)
{
	json_t *o;

	if (l->n == l->limit) {
		l->full = true;
		l->next = i;
		return 1;
	}
	o = json_pack("{s:s, s:s, s:I, s:o}", "path", path, "type",
	    f != NULL ? ftype(f->type) : "dir", "size",
	    (json_int_t)(f != NULL ? f->size : 0), "mtime",
	    f != NULL ? time_json(f->mtime * 1000) : json_null());
	if (o == NULL || json_array_append_new(l->entries, o) != 0) {
		l->oom = true;
		return 1;
	}
	if (f != NULL && f->target != NULL)
		(void)json_object_set_new(o, "target", json_string(f->target));
	l->n++;
	return 0;
}

/* manifest_index_reader's on_file, and the inline index's loop. */
static int
list_file(void *cookie, struct manifest_file *f, uint64_t i)
{
	struct lister *l = cookie;
	char path[PATH_MAX], child[PATH_MAX];
	const char *rest, *slash;
	size_t clen;

	if (strlen(f->path) >= sizeof(path))
		return 0; /* cannot be named in a request either */
	memcpy(path, f->path, strlen(f->path) + 1);
	if (rel_clean(path) != 0 || path[0] == '\0')
		return 0;
	if (l->dirlen == 0) {
		rest = path;
	} else if (strncmp(path, l->dir, l->dirlen) == 0 &&
	    (path[l->dirlen] == '/' || path[l->dirlen] == '\0')) {
		l->dir_seen = true;
		if (path[l->dirlen] == '\0')
			return 0; /* the folder itself */
		rest = path + l->dirlen + 1;
	} else {
		return 0;
	}
	if (i < l->cursor)
		return 0;
	if (l->q != NULL)
		return strcasestr(rest, l->q) != NULL ?
		    list_add(l, path, f, i) :
		    0;
	/* The child of ${dir} that ${path} is, or is below. */
	slash = strchr(rest, '/');
	clen = (size_t)(rest - path) +
	    (slash != NULL ? (size_t)(slash - rest) : strlen(rest));
	memcpy(child, path, clen);
	child[clen] = '\0';
	if (strcmp(child, l->last) == 0)
		return 0;
	memcpy(l->last, child, clen + 1);
	return list_add(l, child, slash == NULL ? f : NULL, i);
}

struct ixfeed {
	struct manifest_index_reader *rd;
	struct lister *l;
	struct ag_err err;
	bool failed;
};

static int
ix_feed(void *cookie, const uint8_t *buf, size_t len)
{
	struct ixfeed *x = cookie;

	if (manifest_index_reader_feed(x->rd, buf, len, &x->err) != 0) {
		x->failed = true;
		return -1;
	}
	return 0;
}

/*
 * Parse the files route's parameters into ${l} (${dir} and ${q} are
 * buffers of PATH_MAX and Q_MAX + 1 bytes).  Return 0, or -1 answered.
 */
static int
files_params(const struct web_req *rq, struct web_resp *rs, struct lister *l,
    char *dir, char *q)
{
	int64_t v;

	l->limit = FILES_LIMIT;
	for (size_t i = 0; i < rq->nparams; i++) {
		const char *k = rq->params[i].key, *val = rq->params[i].value;

		for (size_t j = 0; j < i; j++)
			if (strcmp(rq->params[j].key, k) == 0) {
				web_error(rs, 400,
				    "parameter \"%s\" given twice", k);
				return -1;
			}
		if (strcmp(k, "dir") == 0) {
			if (strlen(val) >= PATH_MAX) {
				web_error(rs, 400, "dir: too long");
				return -1;
			}
			memcpy(dir, val, strlen(val) + 1);
			if (rel_clean(dir) != 0) {
				web_error(rs, 400,
				    "dir: \"..\" is not allowed");
				return -1;
			}
		} else if (strcmp(k, "q") == 0) {
			if (*val == '\0' || strlen(val) > Q_MAX) {
				web_error(rs, 400, "q: give 1 to %d bytes",
				    Q_MAX);
				return -1;
			}
			memcpy(q, val, strlen(val) + 1);
			l->q = q;
		} else if (strcmp(k, "cursor") == 0) {
			if (parse_int64(val, &v) != 0 || v < 0) {
				web_error(rs, 400,
				    "cursor: give the \"next\" of the page "
				    "before");
				return -1;
			}
			l->cursor = (uint64_t)v;
		} else if (strcmp(k, "limit") == 0) {
			if (parse_int64(val, &v) != 0 || v < 1 ||
			    v > FILES_LIMIT_MAX) {
				web_error(rs, 400, "limit: give 1 to %d",
				    FILES_LIMIT_MAX);
				return -1;
			}
			l->limit = (size_t)v;
		} else {
			web_error(rs, 400, "unknown parameter \"%.64s\"", k);
			return -1;
		}
	}
	l->dir = dir;
	l->dirlen = strlen(dir);
	return 0;
}

static void
get_files(struct web *w, const struct web_req *rq, struct web_resp *rs,
    const char *job, size_t len, const char *which)
{
	struct lister l = { 0 };
	struct ctx c;
	struct crypto_key *key = NULL;
	struct manifest *m = NULL;
	struct ag_err err = { "" };
	char id[FORMAT_BACKUP_ID_SIZE], dir[PATH_MAX] = "", q[Q_MAX + 1];
	char next[24];
	json_t *o;
	int rc;

	if (files_params(rq, rs, &l, dir, q) != 0 ||
	    ctx_open(&c, w, job, len, rs) != 0)
		return;
	if (find_backup(&c, which, id, rs) != 0)
		goto out;
	if ((key = jobconf_open_key(c.jc, NULL, &err)) == NULL) {
		web_error(rs, 500, "key: %s", err.msg);
		goto out;
	}
	if ((rc = catalog_load_manifest(c.st, c.jc->prefix, c.jc->name, id,
		 key, false, &m, &err)) != 0) {
		storage_error(rs, rc, err.msg);
		goto out;
	}
	if (m->index_omitted) {
		web_error(rs, 409,
		    "backup %s has no file index (too many files)", id);
		goto out;
	}
	if ((l.entries = json_array()) == NULL) {
		web_json(rs, 500, NULL);
		goto out;
	}
	if (m->index_inline) {
		for (size_t i = 0; i < m->nfiles; i++)
			if (list_file(&l, &m->files[i], i) != 0)
				break;
	} else {
		struct ixfeed x = { .l = &l, .err = { "" } };
		struct ag_err e = { "" };

		if ((x.rd = manifest_index_reader_new(m, list_file, &l,
			 &err)) == NULL) {
			web_error(rs, 500, "index: %s", err.msg);
			goto out;
		}
		rc = catalog_stream_index(c.st, c.jc->prefix, m, key, ix_feed,
		    &x, &e);
		/* A full page stops the stream: no failure. */
		if (rc != 0 && !(x.failed && (l.full || l.oom))) {
			if (x.failed)
				web_error(rs, 502, "index: %s",
				    x.err.msg[0] ? x.err.msg : "unreadable");
			else
				storage_error(rs, rc, e.msg);
			manifest_index_reader_free(x.rd);
			goto out;
		}
		if (rc == 0 && manifest_index_reader_end(x.rd, &err) != 0) {
			web_error(rs, 502, "index: %s", err.msg);
			manifest_index_reader_free(x.rd);
			goto out;
		}
		manifest_index_reader_free(x.rd);
	}
	if (l.oom) {
		web_json(rs, 500, NULL);
		goto out;
	}
	if (l.dirlen > 0 && !l.dir_seen && l.cursor == 0) {
		web_error(rs, 404, "no folder \"%.256s\" in backup %s", dir,
		    id);
		goto out;
	}
	snprintf(next, sizeof(next), "%" PRIu64, l.next);
	o = json_pack("{s:s, s:s, s:o, s:o}", "backup", id, "dir", dir,
	    "entries", l.entries, "next",
	    l.full ? json_string(next) : json_null());
	l.entries = NULL;
	web_json(rs, 200, o);
out:
	json_decref(l.entries);
	manifest_free(m);
	crypto_keys_free(key);
	ctx_free(&c);
}

/* --- Restores ---------------------------------------------------------- */

enum rstate { R_RUNNING, R_DONE, R_FAILED };

struct rinfo {
	char rid[32];
	enum rstate state;
	char job[CATALOG_JOB_MAX + 1];
	char id[FORMAT_BACKUP_ID_SIZE];
	char target[PATH_MAX];
	uint64_t files, bytes, bytes_total, written, warnings, kept;
	int64_t started_ms, ended_ms;
	char error[AG_ERR_SIZE];
};

/* What a restore's thread owns. */
struct rwork {
	struct ctx c;
	struct crypto_key *key;
	char **paths; /* NULL-terminated, or NULL: everything */
	bool overwrite;
	size_t slot; /* in R.kept */
	char who[128];
	uint64_t exists; /* files left alone: they exist (no overwrite) */
};

static struct {
	pthread_mutex_t mu;
	struct rinfo kept[API_RESTORES_KEPT];
	size_t nkept, next; /* a ring */
	bool busy;	    /* a restore runs */
	bool joinable;	    /* ${thread} is to be joined */
	pthread_t thread;
	uint64_t seq;
	volatile sig_atomic_t cancel;
} R = { .mu = PTHREAD_MUTEX_INITIALIZER };

static json_t *
rinfo_json(const struct rinfo *r)
{
	static const char *const names[] = { "running", "done", "failed" };

	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:I, "
			 "s:I, s:o, s:o, s:o}",
	    "restore", r->rid, "state", names[r->state], "job", r->job, "id",
	    r->id, "target", r->target, "files", (json_int_t)r->files, "bytes",
	    (json_int_t)r->bytes, "bytes_total", (json_int_t)r->bytes_total,
	    "written", (json_int_t)r->written, "warnings",
	    (json_int_t)r->warnings, "kept", (json_int_t)r->kept, "started",
	    time_json(r->started_ms), "ended",
	    r->ended_ms > 0 ? time_json(r->ended_ms) : json_null(), "error",
	    r->error[0] != '\0' ? json_string(r->error) : json_null());
}

static void
on_progress(void *cookie, const struct restore_progress *p)
{
	struct rwork *wk = cookie;

	pthread_mutex_lock(&R.mu);
	R.kept[wk->slot].files = p->files;
	R.kept[wk->slot].bytes = p->tar_bytes;
	R.kept[wk->slot].bytes_total = p->tar_total;
	pthread_mutex_unlock(&R.mu);
}

static void
on_warning(void *cookie, const char *path, const char *reason)
{
	struct rwork *wk = cookie;

	/* One call at a time (restore.h). */
	if (strstr(reason, "already exists") != NULL)
		wk->exists++;
	else
		log_warn("web restore %s: %s: %s", R.kept[wk->slot].rid, path,
		    reason);
}

static void *
restore_thread(void *arg)
{
	struct rwork *wk = arg;
	struct rinfo *ri = &R.kept[wk->slot];
	struct restore_opts ro = { 0 };
	struct restore_result res = { 0 };
	struct ag_err err = { "" };
	char target[PATH_MAX], job[CATALOG_JOB_MAX + 1];
	char id[FORMAT_BACKUP_ID_SIZE];
	int rc;

	/* Fixed while it runs: read without the lock. */
	memcpy(target, ri->target, sizeof(target));
	memcpy(job, ri->job, sizeof(job));
	memcpy(id, ri->id, sizeof(id));
	ro.target = target;
	ro.paths = (const char *const *)wk->paths;
	ro.no_overwrite = !wk->overwrite;
	ro.no_privileges = true;
	ro.progress = on_progress;
	ro.on_warning = on_warning;
	ro.cookie = wk;
	ro.cancel = &R.cancel;
	rc = restore_run(wk->c.st, wk->c.jc->prefix, job, id, wk->key, &ro,
	    &res, &err);
	/*
	 * The refusals come last (restore.h): when every one was a file
	 * left alone as asked, the rest was restored.
	 */
	if (rc != 0 && !wk->overwrite && res.refused > 0 &&
	    res.refused == wk->exists && res.removed[0] == '\0' &&
	    strstr(err.msg, "were not restored") != NULL)
		rc = 0;
	pthread_mutex_lock(&R.mu);
	ri->kept = wk->exists;
	ri->state = rc == 0 ? R_DONE : R_FAILED;
	ri->files = res.extracted;
	ri->bytes = res.tar_bytes;
	/* Done: all that was to come came (a part of the tar, if paths). */
	if (rc == 0)
		ri->bytes_total = res.tar_bytes;
	ri->written = res.bytes;
	ri->warnings = res.warnings;
	ri->ended_ms = clock_wall_ms();
	if (rc != 0)
		snprintf(ri->error, sizeof(ri->error), "%s", err.msg);
	R.busy = false;
	pthread_mutex_unlock(&R.mu);
	if (rc == 0)
		log_info("web restore %s of %s/%s into %s by %s: %" PRIu64
			 " entries, %" PRIu64 " bytes",
		    ri->rid, job, id, target, wk->who, res.extracted,
		    res.bytes);
	else
		log_warn("web restore %s of %s/%s into %s by %s failed: %s",
		    ri->rid, job, id, target, wk->who, err.msg);
	crypto_keys_free(wk->key);
	ag_strv_free(wk->paths);
	ctx_free(&wk->c);
	free(wk);
	return NULL;
}

/*
 * Why the folder ${rel} below ${rfd} could not be opened with ENOTDIR (as
 * O_NOFOLLOW | O_DIRECTORY says of a symlink, too): ELOOP if the first
 * component on the way that is no folder is a symlink, else ENOTDIR.
 */
static int
on_the_way(int rfd, const char *rel)
{
	char p[PATH_MAX];
	struct stat sb;

	for (size_t n = 0;; n++) {
		if (rel[n] != '/' && rel[n] != '\0')
			continue;
		memcpy(p, rel, n);
		p[n] = '\0';
		/* Every component before this one is a folder. */
		if (fstatat(rfd, p, &sb, AT_SYMLINK_NOFOLLOW) != 0)
			return ENOTDIR;
		if (S_ISLNK(sb.st_mode))
			return ELOOP;
		if (!S_ISDIR(sb.st_mode) || rel[n] == '\0')
			return ENOTDIR;
	}
}

/*
 * Check ${target} against the restore roots of ${h}, make the folders
 * below the root that are missing (0700, never through a symlink) and
 * store the path to restore into, the root resolved, in ${out}.  Return
 * 0, or an HTTP status with the message in ${err}.
 */
static int
target_check(const struct http_conf *h, const char *target, char *out,
    struct ag_err *err)
{
	char rel[PATH_MAX], *rroot;
	const char *root = NULL;
	size_t rl = 0;
	int rfd, fd;

	if (h->nrestore_roots == 0) {
		(void)ag_err_set(err,
		    "restore from the web is off (no http.restore_roots)");
		return 403;
	}
	if (target[0] != '/' || strlen(target) >= PATH_MAX - 1) {
		(void)ag_err_set(err,
		    "target: give an absolute path, shorter than %d bytes",
		    PATH_MAX - 1);
		return 400;
	}
	memcpy(rel, target, strlen(target) + 1);
	if (rel_clean(rel) != 0) {
		(void)ag_err_set(err, "target: \"..\" is not allowed");
		return 400;
	}
	/* The longest root that holds ${rel} ("/" was refused by conf). */
	for (size_t i = 0; i < h->nrestore_roots; i++) {
		const char *r = h->restore_roots[i];
		size_t n;

		while (*r == '/')
			r++;
		n = strlen(r);
		while (n > 0 && r[n - 1] == '/')
			n--;
		if (n > 0 && n > rl && strncmp(rel, r, n) == 0 &&
		    (rel[n] == '/' || rel[n] == '\0')) {
			root = h->restore_roots[i];
			rl = n;
		}
	}
	if (root == NULL) {
		(void)ag_err_set(err,
		    "target: %s is not below a restore root (http."
		    "restore_roots)",
		    target);
		return 403;
	}
	if ((rfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		(void)ag_err_set(err, "restore root %s: %s", root,
		    strerror(errno));
		return 500;
	}
	memmove(rel, rel + rl + (rel[rl] == '/'), strlen(rel + rl) + 1);
	fd = rel[0] == '\0' ? dup(rfd) :
			      beneath_open_dir(rfd, rel, true, 0700);
	if (fd < 0) {
		int e = errno == ENOTDIR ? on_the_way(rfd, rel) : errno;

		(void)close(rfd);
		(void)ag_err_set(err, "target: %s: %s", target,
		    e == ELOOP ? "a symlink on the way (never followed)" :
			e == ENOTDIR ? "not a folder on the way" :
				       strerror(e));
		return e == ELOOP ? 403 : e == ENOTDIR ? 400 : 500;
	}
	(void)close(fd);
	(void)close(rfd);
	if ((rroot = realpath(root, NULL)) == NULL) {
		(void)ag_err_set(err, "restore root %s: %s", root,
		    strerror(errno));
		return 500;
	}
	if ((size_t)snprintf(out, PATH_MAX, "%s%s%s", rroot,
		rel[0] != '\0' && strcmp(rroot, "/") != 0 ? "/" : "",
		rel) >= PATH_MAX) {
		free(rroot);
		(void)ag_err_set(err, "target: too long");
		return 400;
	}
	free(rroot);
	return 0;
}

/*
 * The "paths" of a restore request into ${ret} (NULL-terminated copies;
 * NULL for none: the whole backup).  Return 0, or -1 with ${err}.
 */
static int
paths_parse(json_t *a, char ***ret, struct ag_err *err)
{
	char **v;
	size_t n;

	*ret = NULL;
	if (a == NULL)
		return 0;
	if (!json_is_array(a))
		return ag_err_set(err, "paths: give a list of strings");
	if ((n = json_array_size(a)) == 0)
		return 0;
	if (n > API_RESTORE_PATHS_MAX)
		return ag_err_set(err, "paths: more than %d",
		    API_RESTORE_PATHS_MAX);
	if ((v = calloc(n + 1, sizeof(*v))) == NULL)
		return ag_err_set(err, "out of memory");
	for (size_t i = 0; i < n; i++) {
		const char *s = json_string_value(json_array_get(a, i));
		char buf[PATH_MAX];

		if (s == NULL || *s == '\0' || strlen(s) >= sizeof(buf)) {
			ag_strv_free(v);
			return ag_err_set(err,
			    "paths[%zu]: give a path of 1 to %d bytes", i,
			    PATH_MAX - 1);
		}
		memcpy(buf, s, strlen(s) + 1);
		if (rel_clean(buf) != 0 || buf[0] == '\0') {
			ag_strv_free(v);
			return ag_err_set(err,
			    "paths[%zu]: \"..\" and empty paths are not "
			    "allowed",
			    i);
		}
		if ((v[i] = strdup(s)) == NULL) {
			ag_strv_free(v);
			return ag_err_set(err, "out of memory");
		}
	}
	*ret = v;
	return 0;
}

static void
post_restore(struct web *w, const struct web_req *rq, struct web_resp *rs)
{
	static const char *const keys[] = { "job", "id", "paths", "target",
		"overwrite", NULL };
	struct rwork *wk = NULL;
	struct rinfo ri = { 0 };
	struct ag_err err = { "" };
	json_error_t jerr;
	json_t *body, *v;
	const char *job, *which, *target, *k;
	char real[PATH_MAX];
	size_t slot;
	int st;

	if (rq->role < WEB_ROLE_ADMIN) {
		web_error(rs, 403, "a restore needs an admin token");
		return;
	}
	if (rq->nparams > 0) {
		web_error(rs, 400, "unknown parameter \"%.64s\"",
		    rq->params[0].key);
		return;
	}
	if ((body = json_loadb(rq->body != NULL ? rq->body : "", rq->body_len,
		 JSON_REJECT_DUPLICATES, &jerr)) == NULL) {
		web_error(rs, 400, "body: not JSON: %s (line %d)", jerr.text,
		    jerr.line);
		return;
	}
	if (!json_is_object(body)) {
		web_error(rs, 400, "body: give a JSON object");
		goto out;
	}
	json_object_foreach(body, k, v)
	{
		size_t i = 0;

		while (keys[i] != NULL && strcmp(keys[i], k) != 0)
			i++;
		if (keys[i] == NULL) {
			web_error(rs, 400, "body: unknown member \"%.64s\"",
			    k);
			goto out;
		}
	}
	job = json_string_value(json_object_get(body, "job"));
	which = json_string_value(json_object_get(body, "id"));
	target = json_string_value(json_object_get(body, "target"));
	v = json_object_get(body, "overwrite");
	if (job == NULL || *job == '\0' || which == NULL || *which == '\0' ||
	    target == NULL || (v != NULL && !json_is_boolean(v))) {
		web_error(rs, 400,
		    "body: give \"job\", \"id\" and \"target\" as strings, "
		    "\"paths\" as a list and \"overwrite\" as true or false");
		goto out;
	}
	if ((wk = calloc(1, sizeof(*wk))) == NULL) {
		web_json(rs, 500, NULL);
		goto out;
	}
	wk->overwrite = json_is_true(v);
	snprintf(wk->who, sizeof(wk->who), "%s from %s",
	    rq->token_name != NULL ? rq->token_name : "?",
	    rq->client != NULL ? rq->client : "?");
	if (paths_parse(json_object_get(body, "paths"), &wk->paths, &err) !=
	    0) {
		web_error(rs, 400, "body: %s", err.msg);
		goto out;
	}
	if (strlen(job) > CATALOG_JOB_MAX) {
		web_error(rs, 404, "no backup job of that name");
		goto out;
	}
	pthread_mutex_lock(&R.mu);
	st = R.busy;
	pthread_mutex_unlock(&R.mu);
	if (st) {
		web_error(rs, 409, "a restore runs already; one at a time");
		goto out;
	}
	if (ctx_open(&wk->c, w, job, strlen(job), rs) != 0 ||
	    find_backup(&wk->c, which, ri.id, rs) != 0)
		goto out;
	if ((wk->key = jobconf_open_key(wk->c.jc, NULL, &err)) == NULL) {
		web_error(rs, 500, "key: %s", err.msg);
		goto out;
	}
	/* Last: it makes the target's folders. */
	if ((st = target_check(&wk->c.rc->conf->http, target, real, &err)) !=
	    0) {
		web_error(rs, st, "%s", err.msg);
		goto out;
	}
	snprintf(ri.job, sizeof(ri.job), "%s", wk->c.jc->name);
	memcpy(ri.target, real, sizeof(ri.target));
	ri.state = R_RUNNING;
	ri.started_ms = clock_wall_ms();

	pthread_mutex_lock(&R.mu);
	if (R.busy) {
		pthread_mutex_unlock(&R.mu);
		web_error(rs, 409, "a restore runs already; one at a time");
		goto out;
	}
	if (R.joinable) {
		/* It ended (not busy): joining does not wait. */
		(void)pthread_join(R.thread, NULL);
		R.joinable = false;
	}
	slot = wk->slot = R.next;
	snprintf(ri.rid, sizeof(ri.rid), "%" PRId64 "-%" PRIu64, ri.started_ms,
	    ++R.seq);
	R.kept[slot] = ri;
	R.cancel = 0;
	if (pthread_create(&R.thread, NULL, restore_thread, wk) != 0) {
		pthread_mutex_unlock(&R.mu);
		web_error(rs, 500, "cannot start a thread");
		goto out;
	}
	R.next = (R.next + 1) % API_RESTORES_KEPT;
	if (R.nkept < API_RESTORES_KEPT)
		R.nkept++;
	R.busy = R.joinable = true;
	pthread_mutex_unlock(&R.mu);
	log_info("web restore %s of %s/%s into %s by %s started", ri.rid,
	    ri.job, ri.id, ri.target, wk->who);
	wk = NULL; /* the thread's now */
	web_json(rs, 202, json_pack("{s:s}", "restore", ri.rid));
out:
	if (wk != NULL) {
		crypto_keys_free(wk->key);
		ag_strv_free(wk->paths);
		ctx_free(&wk->c);
		free(wk);
	}
	json_decref(body);
}

static void
get_restore(const struct web_req *rq, struct web_resp *rs, const char *rid)
{
	json_t *o = NULL;
	bool found = false;

	if (rq->nparams > 0) {
		web_error(rs, 400, "unknown parameter \"%.64s\"",
		    rq->params[0].key);
		return;
	}
	pthread_mutex_lock(&R.mu);
	for (size_t i = 0; i < R.nkept; i++)
		if (strcmp(R.kept[i].rid, rid) == 0) {
			o = rinfo_json(&R.kept[i]);
			found = true;
			break;
		}
	pthread_mutex_unlock(&R.mu);
	if (!found)
		web_error(rs, 404, "no restore \"%.32s\"", rid);
	else
		web_json(rs, 200, o);
}

void
api_backup_stop(void)
{
	bool join;

	pthread_mutex_lock(&R.mu);
	R.cancel = 1;
	join = R.joinable;
	R.joinable = false;
	pthread_mutex_unlock(&R.mu);
	if (join)
		(void)pthread_join(R.thread, NULL);
}

/* --- Routing ----------------------------------------------------------- */

static bool
is(const struct web_req *rq, const char *method, struct web_resp *rs)
{
	if (strcmp(rq->method, method) == 0)
		return true;
	web_error(rs, 405, "%s needs %s", rq->path, method);
	return false;
}

int
api_backup_route(struct web *w, const struct web_req *rq, struct web_resp *rs)
{
	const char *p = rq->path, *job, *s, *id;
	size_t jlen;

	if (strncmp(p, RESTORES, strlen(RESTORES)) == 0 &&
	    (p[strlen(RESTORES)] == '\0' || p[strlen(RESTORES)] == '/')) {
		p += strlen(RESTORES);
		if (rq->role < WEB_ROLE_READ)
			web_error(rs, 401, "a token is needed");
		else if (*p == '\0') {
			if (is(rq, "POST", rs))
				post_restore(w, rq, rs);
		} else if (p[1] != '\0' && strchr(p + 1, '/') == NULL) {
			if (is(rq, "GET", rs))
				get_restore(rq, rs, p + 1);
		} else {
			web_error(rs, 404, "no such path");
		}
		return 1;
	}
	if (strncmp(p, JOBS_PREFIX, strlen(JOBS_PREFIX)) != 0)
		return 0;
	job = p + strlen(JOBS_PREFIX);
	if ((s = strchr(job, '/')) == NULL || strncmp(s, "/backups", 8) != 0 ||
	    (s[8] != '\0' && s[8] != '/'))
		return 0; /* the scheduler's: jobs/{job}/run, 404s */
	jlen = (size_t)(s - job);
	s += 8;
	if (rq->role < WEB_ROLE_READ) {
		web_error(rs, 401, "a token is needed");
		return 1;
	}
	if (jlen == 0 || jlen > CATALOG_JOB_MAX) {
		web_error(rs, 404, "no backup job of that name");
		return 1;
	}
	if (*s == '\0') {
		if (is(rq, "GET", rs))
			get_backups(w, rq, rs, job, jlen);
		return 1;
	}
	/* /backups/{id}/files */
	id = s + 1;
	s = strchr(id, '/');
	if (s != NULL && s > id && strcmp(s, "/files") == 0 &&
	    (size_t)(s - id) < 64) {
		char which[64];

		memcpy(which, id, (size_t)(s - id));
		which[s - id] = '\0';
		if (is(rq, "GET", rs))
			get_files(w, rq, rs, job, jlen, which);
		return 1;
	}
	web_error(rs, 404, "no such path");
	return 1;
}
