/*
 * restore.c: restoring a backup into a folder (see restore.h).
 *
 * Both kinds of restore are the backup reader (reader.h: data.vgl read,
 * authenticated, checked against the chunk table and inflated, bounded in
 * memory whatever the backup's size) with the extractor as its sink:
 *
 *   full:    reader (all of data.vgl) -> tar_sink() -> extract (ring),
 *	      whose tap thread hashes the tar stream (sha256) beside the
 *	      libarchive reader
 *   partial: reader (the planned chunks) -> tar_sink() (cuts out the
 *	      wanted entries' bytes, part_hand()) -> extract
 *
 * Nothing reaches the extractor before its chunk was authenticated.  The tar sink records the tar offset just past the last
 * byte handed over (the "cut"); when the pipeline stops early the
 * extractor is still drained (extract_finish()), so every entry before the
 * cut is written whole and the entry that straddles the cut is the only
 * one cut short.  The file index says which entry that is; if the
 * extractor had reached it (its on_entry callback saw it), its file is
 * removed, its path resolved below the target without following any
 * symlink (lib/beneath.h) so that a symlink in the restored tree can
 * never redirect the unlink.
 *
 * Partial restores plan before they write: the file index streams past
 * (index_select.h keeps the entries the paths select, and what a "did
 * you mean" needs; a second pass finds the targets of selected hard links
 * that were not selected) and the manifest keeps only those entries; then
 * the entries to extract (marked, so overlapping paths count once), the
 * tar ranges they cover (adjacent entries merged), and the chunks holding
 * those ranges (each chunk once, in order); runs of consecutive chunks are
 * fetched with one ranged GET each.  While the data streams, the headers
 * of each entry are held back until they are complete and name the entry
 * the index says (part_hand()): a lying index writes nothing it names.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "lib/ag.h"
#include "lib/beneath.h"
#include "lib/clock.h"
#include "lib/crypto/crypto.h"
#include "lib/crypto/crypto_hash.h"
#include "providers/storage.h"
#include "backup/catalog.h"
#include "backup/extract.h"
#include "backup/format.h"
#include "backup/index_select.h"
#include "backup/manifest.h"
#include "backup/reader.h"
#include "backup/tar_header.h"

#include "backup/restore.h"

#define PROGRESS_MS 100

/* A range of the tar stream, [start, end). */
struct range {
	uint64_t start, end;
};

/* A file extracted only to give a hard link its data. */
struct helper {
	const struct manifest_file *f;
	size_t depth_existing; /* leading folders that existed */
	size_t depth;	       /* folders in its path */
	bool existed;	       /* the file itself existed */
};

struct restore {
	struct storage *st;
	const char *job, *id;
	const struct restore_opts *o;
	const struct manifest *m;
	char okey[STORAGE_KEY_MAX + 1];
	char *target; /* realpath, for messages */
	int dirfd;    /* the target, for cleanups */
	struct extract *x;

	/* Full restore. */
	struct crypto_hash *hash; /* the extractor's tap thread's */
	atomic_bool hash_failed;

	/* Partial restore. */
	uint8_t *mark; /* per file index entry: wanted */
	struct range *want;
	size_t nwant, want_pos;
	size_t *plan; /* chunk positions, ascending */
	size_t nplan;
	struct helper *helpers;
	size_t nhelpers;
	/* The headers of entry files[chk], held back until checked. */
	size_t chk;
	uint8_t *hbuf; /* TAR_HEADER_MAX bytes */
	size_t hlen, hneed;
	bool hcapturing;

	/* Both. */
	size_t members_out; /* members handed on by the reader */
	uint64_t chunks;    /* opened */
	uint64_t tar_fed;   /* handed to the extractor */
	uint64_t cut;	    /* tar offset after the last one */
	uint64_t tar_total;
	uint64_t files_total;
	uint64_t read0; /* storage bytes_read at start */
	int64_t t0, last_progress;
	bool x_failed; /* the extractor stopped itself */
	int failed;    /* our own failure: err is set */
	int failed_rc; /* -1 or AG_RETRY */
	struct ag_err err;

	/* Shared with the extractor's thread. */
	pthread_mutex_t mtx;
	char *last_path; /* the entry being extracted */
	unsigned last_type;
	bool last_existed; /* no_overwrite: it was there */
	char first_refusal[AG_ERR_SIZE];
	atomic_uint_fast64_t files;
	struct restore_result *res;
};

static int rfail(struct restore *, const char *, ...)
    __attribute__((format(printf, 2, 3)));

/* Record the first failure of the pipeline; return -1. */
static int
rfail(struct restore *r, const char *fmt, ...)
{
	va_list ap;

	if (r->failed)
		return -1;
	va_start(ap, fmt);
	vsnprintf(r->err.msg, sizeof(r->err.msg), fmt, ap);
	va_end(ap);
	r->failed = -1;
	r->failed_rc = -1;
	return -1;
}

static void
progress(struct restore *r, bool force, bool done)
{
	struct restore_progress p;
	struct storage_stats s;
	int64_t now;

	if (r->o->progress == NULL)
		return;
	now = clock_mono_ms();
	if (!force && now - r->last_progress < PROGRESS_MS)
		return;
	r->last_progress = now;
	storage_stats(r->st, &s);
	p = (struct restore_progress){ .tar_bytes = r->tar_fed,
		.tar_total = r->tar_total,
		.files = atomic_load(&r->files),
		.files_total = r->files_total,
		.bytes_read = s.bytes_read - r->read0,
		.elapsed_ms = now - r->t0,
		.done = done };
	r->o->progress(r->o->cookie, &p);
}

static bool
cancelled(struct restore *r)
{
	if (r->o->cancel == NULL || *r->o->cancel == 0)
		return false;
	(void)rfail(r, "cancelled");
	return true;
}

/* --- Paths below the target, never through a symlink ------------------ */

/*
 * Copy the archive path ${path} into ${buf} in the form the extractor
 * wrote it (beneath_clean()).  Return 0, or -1 if it is not a name below
 * the target.
 */
static int
clean_copy(const char *path, char *buf, size_t buflen)
{
	if (strlen(path) >= buflen)
		return -1;
	strcpy(buf, path);
	return beneath_clean(buf);
}

/* Does ${path} exist below the target (not following symlinks)? */
static bool
exists_below(int dirfd, const char *path)
{
	char buf[PATH_MAX];
	const char *name;
	struct stat sb;
	bool rc;
	int fd;

	if (clean_copy(path, buf, sizeof(buf)) != 0 ||
	    (fd = beneath_parent(dirfd, buf, false, 0, &name)) < 0)
		return false;
	rc = fstatat(fd, name, &sb, AT_SYMLINK_NOFOLLOW) == 0;
	close(fd);
	return rc;
}

/* Remove the regular file ${path} below the target.  Return 0 if done. */
static int
remove_below(int dirfd, const char *path)
{
	char buf[PATH_MAX];
	const char *name;
	struct stat sb;
	int fd, rc = -1;

	if (clean_copy(path, buf, sizeof(buf)) != 0 ||
	    (fd = beneath_parent(dirfd, buf, false, 0, &name)) < 0)
		return -1;
	if (fstatat(fd, name, &sb, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISREG(sb.st_mode) && unlinkat(fd, name, 0) == 0)
		rc = 0;
	close(fd);
	return rc;
}

/* The number of folders in the relative ${path} ("a/b/c": 2). */
static size_t
path_depth(const char *path)
{
	size_t n = 0;

	for (; *path != '\0'; path++)
		if (*path == '/')
			n++;
	return n;
}

/* --- The extractor's callbacks (its thread) --------------------------- */

static void
x_entry(void *cookie, const struct extract_entry *e)
{
	struct restore *r = cookie;
	bool existed = false;
	char *p;

	if (r->o->no_overwrite && r->dirfd >= 0)
		existed = exists_below(r->dirfd, e->path);
	p = strdup(e->path);
	pthread_mutex_lock(&r->mtx);
	free(r->last_path);
	r->last_path = p; /* NULL if out of memory: no cleanup */
	r->last_type = e->type;
	r->last_existed = existed;
	pthread_mutex_unlock(&r->mtx);
	atomic_fetch_add(&r->files, 1);
}

/* The entry is whole on disk: a failure from here on must not remove it. */
static void
x_entry_done(void *cookie)
{
	struct restore *r = cookie;

	pthread_mutex_lock(&r->mtx);
	free(r->last_path);
	r->last_path = NULL;
	pthread_mutex_unlock(&r->mtx);
}

static void
x_warning(void *cookie, const char *path, const char *reason)
{
	struct restore *r = cookie;
	struct restore_result *res = r->res;

	pthread_mutex_lock(&r->mtx);
	res->warnings++;
	if (res->nfirst_warnings < RESTORE_WARNINGS)
		snprintf(res->first_warnings[res->nfirst_warnings++],
		    sizeof(res->first_warnings[0]), "%s: %s", path, reason);
	/* extract.c words every entry it did not write like this. */
	if (r->first_refusal[0] == '\0' &&
	    (strncmp(reason, "refused", 7) == 0 ||
		strncmp(reason, "not extracted", 13) == 0))
		snprintf(r->first_refusal, sizeof(r->first_refusal), "%s: %s",
		    path, reason);
	if (r->o->on_warning != NULL)
		r->o->on_warning(r->o->cookie, path, reason);
	pthread_mutex_unlock(&r->mtx);
}

/* --- Handing tar bytes to the extractor ------------------------------- */

static int
hand_over(struct restore *r, uint64_t tar_off, const uint8_t *buf, size_t len)
{
	if (len == 0)
		return 0;
	if (extract_write(r->x, buf, len) != 0) {
		r->x_failed = true;
		return -1;
	}
	r->tar_fed += len;
	r->cut = tar_off + len;
	return 0;
}

/*
 * Full restore: every tar byte the extractor gets, in order, on its tap
 * thread (off the thread that decrypts and hands over); check_end()
 * compares the digest once the extractor has finished.
 */
static void
full_hash(void *cookie, const uint8_t *buf, size_t len)
{
	struct restore *r = cookie;

	if (crypto_hash_update(r->hash, buf, len) != 0)
		atomic_store(&r->hash_failed, true);
}

/* The first entry to extract from files[${i}] on: its position, or nfiles. */
static size_t
next_marked(const struct restore *r, size_t i)
{
	while (i < r->m->nfiles && r->mark[i] == 0)
		i++;
	return i;
}

/*
 * The headers of ${f} are all in hbuf: do they name the entry the file
 * index says?  The index picked what to fetch; the tar stream decides what
 * is written, so an index that points at another entry must stop here.
 */
static int
part_check(struct restore *r, const struct manifest_file *f)
{
	struct tar_header th;

	if (tar_header_parse(r->hbuf, r->hlen, &th) != 0)
		return rfail(r,
		    "file index does not match the data: no tar "
		    "header for %.100s at tar offset %" PRIu64 "; restore "
		    "refused",
		    f->path, f->tar_offset);
	if (th.path_len != strlen(f->path) ||
	    memcmp(th.path, f->path, th.path_len) != 0 ||
	    th.typeflag != tar_header_typeflag(f->type))
		return rfail(r,
		    "file index does not match the data: %.100s "
		    "(%s) at tar offset %" PRIu64 " is \"%.*s\" (type '%c') "
		    "in the tar stream; restore refused",
		    f->path, manifest_ftype_name(f->type), f->tar_offset,
		    (int)(th.path_len > 100 ? 100 : th.path_len), th.path,
		    th.typeflag >= 0x20 && th.typeflag < 0x7f ? th.typeflag :
								'?');
	return 0;
}

/*
 * Hand tar bytes [${off}, ${off} + ${len}) of the wanted ranges to the
 * extractor, holding back the headers of each entry until they are all
 * there and part_check() found them right: no byte of an entry reaches
 * the extractor before its headers were checked.
 */
static int
part_hand(struct restore *r, const uint64_t off0, const uint8_t *buf,
    size_t len)
{
	const struct manifest_file *f;
	uint64_t off = off0, start;
	size_t n, need;

	while (len > 0) {
		if (!r->hcapturing) {
			start = r->chk < r->m->nfiles ?
			    r->m->files[r->chk].tar_offset :
			    UINT64_MAX;
			if (start < off)
				return rfail(r,
				    "data.vgl: the headers of %.100s "
				    "were not fetched",
				    r->m->files[r->chk].path);
			if (start - off >= len)
				return hand_over(r, off, buf, len);
			n = (size_t)(start - off);
			if (hand_over(r, off, buf, n) != 0)
				return -1;
			off += n;
			buf += n;
			len -= n;
			r->hcapturing = true;
			r->hlen = 0;
			r->hneed = 512;
			continue;
		}
		f = &r->m->files[r->chk];
		n = r->hneed - r->hlen < len ? r->hneed - r->hlen : len;
		memcpy(r->hbuf + r->hlen, buf, n);
		r->hlen += n;
		off += n;
		buf += n;
		len -= n;
		if (r->hlen < r->hneed)
			continue;
		if (r->hneed == 512) {
			if (tar_header_need(r->hbuf, r->hlen, &need) != 0 ||
			    need > f->tar_len)
				return rfail(r,
				    "file index does not match the "
				    "data: the tar headers at tar offset %" PRIu64
				    " exceed %.100s; restore refused",
				    f->tar_offset, f->path);
			r->hneed = need;
			if (r->hlen < r->hneed)
				continue;
		}
		if (part_check(r, f) != 0 ||
		    hand_over(r, f->tar_offset, r->hbuf, r->hlen) != 0)
			return -1;
		r->hcapturing = false;
		r->chk = next_marked(r, r->chk + 1);
	}
	return 0;
}

/*
 * The reader's sink: the members of the whole tar stream (full restore),
 * or of the planned chunks, of which only the wanted ranges go on.
 */
static int
tar_sink(void *cookie, const struct manifest_chunk *c, const uint8_t *buf,
    size_t len)
{
	struct restore *r = cookie;
	const struct range *w;
	uint64_t start, end, s, e;

	if (r->failed || r->x_failed)
		return -1;
	start = c->tar_offset;
	end = start + len;
	if (r->plan == NULL) {
		if (hand_over(r, start, buf, len) != 0)
			return -1;
	}
	while (r->plan != NULL && r->want_pos < r->nwant) {
		w = &r->want[r->want_pos];
		if (w->start >= end)
			break;
		s = w->start > start ? w->start : start;
		e = w->end < end ? w->end : end;
		if (s < e &&
		    part_hand(r, s, buf + (s - start), (size_t)(e - s)) != 0)
			return -1;
		if (w->end > end)
			break;
		r->want_pos++;
	}
	r->members_out++;
	progress(r, false, false);
	return 0;
}

/* Before the reader opens a chunk: progress, and cancellation. */
static int
on_chunk(void *cookie, const struct reader_stats *s)
{
	struct restore *r = cookie;

	r->chunks = s->chunks;
	if (cancelled(r))
		return -1;
	progress(r, false, false);
	return 0;
}

/* --- Partial restore: planning ---------------------------------------- */

/* ${path} without leading "/" or "./" and trailing '/': start and length. */
static const char *
norm_path(const char *path, size_t *ret_n)
{
	size_t n;

	for (;;) {
		if (path[0] == '/')
			path++;
		else if (path[0] == '.' && path[1] == '/')
			path += 2;
		else
			break;
	}
	n = strlen(path);
	while (n > 0 && path[n - 1] == '/')
		n--;
	if (n == 1 && path[0] == '.')
		n = 0;
	*ret_n = n;
	return path;
}

/*
 * Hard links whose target is not restored: restore the target as a
 * helper (removed again after the link was made), or drop the link with a
 * warning when the backup does not hold the target's data before it.
 */
static int
plan_hardlinks(struct restore *r)
{
	const struct manifest *m = r->m;
	const struct manifest_file *f, *t;
	size_t i, nh = 0;
	char reason[AG_ERR_SIZE];

	for (i = 0; i < m->nfiles; i++)
		if (r->mark[i] == 1 && m->files[i].type == MANIFEST_HARDLINK)
			nh++;
	if (nh == 0)
		return 0;
	if ((r->helpers = calloc(nh, sizeof(*r->helpers))) == NULL)
		return rfail(r, "out of memory");
	for (i = 0; i < m->nfiles; i++) {
		f = &m->files[i];
		if (r->mark[i] != 1 || f->type != MANIFEST_HARDLINK)
			continue;
		t = manifest_find(m, f->target);
		if (t != NULL && t->tar_offset < f->tar_offset &&
		    r->mark[t - m->files] != 0)
			continue; /* restored anyway */
		if (t == NULL || t->tar_offset >= f->tar_offset ||
		    t->type != MANIFEST_FILE) {
			r->mark[i] = 0;
			snprintf(reason, sizeof(reason),
			    "hard link to %.100s, "
			    "whose data is not in the backup: not restored",
			    f->target);
			x_warning(r, f->path, reason);
			continue;
		}
		r->mark[t - m->files] = 2; /* a helper */
		r->helpers[r->nhelpers++].f = t;
	}
	return 0;
}

/* Tar ranges and chunks of the marked entries. */
static int
plan_ranges(struct restore *r)
{
	const struct manifest *m = r->m;
	const struct manifest_file *f;
	size_t i, a, b, k, n = 0;
	bool any = false;
	size_t last = 0;

	for (i = 0; i < m->nfiles; i++)
		if (r->mark[i] != 0)
			n++;
	r->files_total = n;
	if ((r->want = calloc(n > 0 ? n : 1, sizeof(*r->want))) == NULL ||
	    (r->plan = calloc(m->nchunks, sizeof(*r->plan))) == NULL)
		return rfail(r, "out of memory");
	for (i = 0; i < m->nfiles; i++) {
		if (r->mark[i] == 0)
			continue;
		f = &m->files[i];
		r->tar_total += f->tar_len;
		if (r->nwant > 0 && r->want[r->nwant - 1].end == f->tar_offset)
			r->want[r->nwant - 1].end += f->tar_len;
		else
			r->want[r->nwant++] = (struct range){ f->tar_offset,
				f->tar_offset + f->tar_len };
	}
	for (i = 0; i < r->nwant; i++) {
		if (manifest_chunk_span(m, r->want[i].start,
			r->want[i].end - r->want[i].start, &a, &b) != 0)
			return rfail(r,
			    "file index: tar range [%" PRIu64 ", %" PRIu64
			    ") is outside the tar stream",
			    r->want[i].start, r->want[i].end);
		for (k = a; k <= b; k++) {
			if (any && k <= last)
				continue;
			r->plan[r->nplan++] = k;
			last = k;
			any = true;
		}
	}
	return 0;
}

/* Streaming index.vgl into a manifest_index_reader. */
struct ixfeed {
	struct manifest_index_reader *rd;
	struct ag_err err;
	bool failed;
};

static int
ix_feed(void *cookie, const uint8_t *buf, size_t len)
{
	struct ixfeed *f = cookie;

	if (manifest_index_reader_feed(f->rd, buf, len, &f->err) != 0) {
		f->failed = true;
		return -1;
	}
	return 0;
}

/*
 * Show every entry of the file index of ${m} to the selection ${sel}:
 * the inline index, or index.vgl streamed (nothing of it is kept but what
 * ${sel} keeps; its sha256 is checked at the end).  Return 0, AG_RETRY or
 * -1 with a message.
 */
static int
read_index(struct restore *r, const struct manifest *m, const char *prefix,
    const struct crypto_key *key, struct index_select *sel, struct ag_err *err)
{
	struct ixfeed f = { .err = { "" } };
	struct ag_err e = { "" };
	int rc;

	if (m->index_omitted)
		return ag_err_set(err,
		    "backup %s has no file index (too many "
		    "files); restore it whole",
		    m->backup_id);
	if (m->index_inline) {
		for (size_t i = 0; i < m->nfiles; i++)
			if (index_select_file(sel, &m->files[i], i) != 0)
				return ag_err_set(err, "out of memory");
		return 0;
	}
	if ((f.rd = manifest_index_reader_new(m, index_select_file, sel,
		 err)) == NULL)
		return -1;
	rc = catalog_stream_index(r->st, prefix, m, key, ix_feed, &f, &e);
	if (rc != 0)
		(void)ag_err_set(err, "%s",
		    f.failed ?
			(f.err.msg[0] != '\0' ? f.err.msg : "out of memory") :
			e.msg);
	else if (manifest_index_reader_end(f.rd, err) != 0)
		rc = -1;
	manifest_index_reader_free(f.rd);
	return rc == 0 ? 0 : (rc == AG_RETRY ? AG_RETRY : -1);
}

static int
path_ptr_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int
u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * The targets of the hard links among the ${n} selected entries ${v}
 * that are not selected themselves, normalized, into ${ret} (malloc'd
 * strings), their number in ${ret_n}.  Return 0 or -1 (out of memory).
 */
static int
link_targets(const struct manifest_file *v, size_t n, char ***ret,
    size_t *ret_n)
{
	const char **paths;
	const char *t, *key;
	char **out = NULL;
	size_t i, k = 0, tn;

	*ret = NULL;
	*ret_n = 0;
	for (i = 0; i < n; i++)
		if (v[i].type == MANIFEST_HARDLINK)
			break;
	if (i == n)
		return 0;
	if ((paths = calloc(n, sizeof(*paths))) == NULL ||
	    (out = calloc(n, sizeof(*out))) == NULL) {
		free(paths);
		return -1;
	}
	for (i = 0; i < n; i++)
		paths[i] = v[i].path;
	qsort(paths, n, sizeof(*paths), path_ptr_cmp);
	for (i = 0; i < n; i++) {
		if (v[i].type != MANIFEST_HARDLINK)
			continue;
		t = norm_path(v[i].target, &tn);
		if ((out[k] = strndup(t, tn)) == NULL)
			goto oom;
		key = out[k];
		if (bsearch(&key, paths, n, sizeof(*paths), path_ptr_cmp) !=
		    NULL)
			free(out[k]);
		else
			k++;
	}
	free(paths);
	*ret = out;
	*ret_n = k;
	return 0;
oom:
	for (i = 0; i < k; i++)
		free(out[i]);
	free(out);
	free(paths);
	return -1;
}

static void
strv_free_n(char **v, size_t n)
{
	for (size_t i = 0; v != NULL && i < n; i++)
		free(v[i]);
	free(v);
}

/*
 * Select what the paths of ${r}->o need while the file index of ${m}
 * streams past, and keep only that in ${m} (manifest_add_files()): the
 * selected entries and, found in a second pass if not among them, the
 * targets of selected hard links.  A path that is not in the backup fails
 * here, before anything is written.  Return 0, AG_RETRY or -1 with a
 * message.
 */
static int
plan_partial(struct restore *r, struct manifest *m, const char *prefix,
    const struct crypto_key *key, struct ag_err *err)
{
	struct index_select *sel = NULL, *sel2 = NULL;
	struct manifest_file *v = NULL, *v2 = NULL;
	char **norm = NULL, **targets = NULL;
	uint64_t *helper_offs = NULL;
	const char *path, *hint;
	size_t np = 0, nt = 0, nv = 0, nv2 = 0, n, i;
	int rc = -1;

	while (r->o->paths[np] != NULL)
		np++;
	if ((norm = calloc(np, sizeof(*norm))) == NULL)
		goto oom;
	for (i = 0; i < np; i++) {
		path = norm_path(r->o->paths[i], &n);
		if (n >= PATH_MAX) {
			(void)ag_err_set(err, "path too long: %.80s...", path);
			goto out;
		}
		if ((norm[i] = strndup(path, n)) == NULL)
			goto oom;
	}
	if ((sel = index_select_new((const char *const *)norm, np, 0, err)) ==
	    NULL)
		goto out;
	if ((rc = read_index(r, m, prefix, key, sel, err)) != 0)
		goto out;
	rc = -1;
	for (i = 0; i < np; i++) {
		if (index_select_count(sel, i) > 0)
			continue;
		if ((hint = index_select_hint(sel, i)) != NULL)
			(void)ag_err_set(err,
			    "%.100s is not in backup %s/%s; "
			    "did you mean %.100s?",
			    norm[i], r->job, r->id, hint);
		else
			(void)ag_err_set(err, "%.100s is not in backup %s/%s",
			    norm[i], r->job, r->id);
		goto out;
	}
	index_select_take(sel, &v, &nv);

	/* Hard links need their target's data: a second pass finds it. */
	if (link_targets(v, nv, &targets, &nt) != 0)
		goto oom;
	if (nt > 0) {
		if ((sel2 = index_select_new((const char *const *)targets, nt,
			 INDEX_SELECT_LAST, err)) == NULL)
			goto out;
		if ((rc = read_index(r, m, prefix, key, sel2, err)) != 0)
			goto out;
		rc = -1;
		index_select_take(sel2, &v2, &nv2);
		if ((helper_offs = calloc(nv2 > 0 ? nv2 : 1,
			 sizeof(*helper_offs))) == NULL)
			goto oom;
		for (i = 0; i < nv2; i++)
			helper_offs[i] = v2[i].tar_offset;
	}
	/* manifest_add_files() takes the arrays, also when it fails. */
	rc = manifest_add_files(m, v, nv, err);
	v = NULL;
	if (rc == 0 && v2 != NULL) {
		rc = manifest_add_files(m, v2, nv2, err);
		v2 = NULL;
	}
	if (rc != 0)
		goto out;
	rc = -1;

	/* The entries asked for are marked 1; link targets only found: 0. */
	if ((r->mark = calloc(m->nfiles > 0 ? m->nfiles : 1, 1)) == NULL)
		goto oom;
	for (i = 0; i < m->nfiles; i++)
		r->mark[i] = nv2 == 0 ||
		    bsearch(&m->files[i].tar_offset, helper_offs, nv2,
			sizeof(*helper_offs), u64_cmp) == NULL;
	if (plan_hardlinks(r) != 0 || plan_ranges(r) != 0) {
		(void)ag_err_set(err, "%s", r->err.msg);
		goto out;
	}
	r->chk = next_marked(r, 0);
	if ((r->hbuf = malloc(TAR_HEADER_MAX)) == NULL)
		goto oom;
	rc = 0;
	goto out;
oom:
	rc = ag_err_set(err, "out of memory");
out:
	index_select_free(sel);
	index_select_free(sel2);
	for (i = 0; v != NULL && i < nv; i++)
		manifest_file_clear(&v[i]);
	free(v);
	for (i = 0; v2 != NULL && i < nv2; i++)
		manifest_file_clear(&v2[i]);
	free(v2);
	strv_free_n(norm, np);
	strv_free_n(targets, nt);
	free(helper_offs);
	return rc;
}

/* The first ${d} components of the clean ${path}, into ${buf}. */
static void
leading(const char *path, size_t d, char *buf, size_t buflen)
{
	const char *s = path;

	for (size_t k = 0; k < d && (s = strchr(s, '/')) != NULL; k++)
		if (k + 1 < d)
			s++;
	snprintf(buf, buflen, "%.*s",
	    s != NULL ? (int)(s - path) : (int)strlen(path), path);
}

/* Before extracting: what of each helper's path exists already. */
static void
helpers_before(struct restore *r)
{
	char path[PATH_MAX], dir[PATH_MAX];
	struct helper *h;
	int fd;

	for (size_t i = 0; i < r->nhelpers; i++) {
		h = &r->helpers[i];
		if (clean_copy(h->f->path, path, sizeof(path)) != 0)
			continue;
		h->depth = path_depth(path);
		for (h->depth_existing = 0; h->depth_existing < h->depth;
		     h->depth_existing++) {
			leading(path, h->depth_existing + 1, dir, sizeof(dir));
			if ((fd = beneath_open_dir(r->dirfd, dir, false, 0)) <
			    0)
				break;
			close(fd);
		}
		h->existed = exists_below(r->dirfd, path);
	}
}

/*
 * After extracting: remove each helper file (its data lives on under the
 * hard link's name) and the folders that were made only for it.
 */
static void
helpers_after(struct restore *r)
{
	char path[PATH_MAX], dir[PATH_MAX];
	struct helper *h;

	for (size_t i = 0; i < r->nhelpers; i++) {
		h = &r->helpers[i];
		if (h->existed ||
		    clean_copy(h->f->path, path, sizeof(path)) != 0 ||
		    remove_below(r->dirfd, path) != 0)
			continue;
		/* Deepest first; a folder that is not empty stays. */
		for (size_t d = h->depth; d > h->depth_existing; d--) {
			leading(path, d, dir, sizeof(dir));
			if (beneath_unlink(r->dirfd, dir, AT_REMOVEDIR) != 0)
				break;
		}
	}
}

/* --- After a failure -------------------------------------------------- */

/* The index entry holding tar offset ${off} strictly inside, or NULL. */
static const struct manifest_file *
entry_at(const struct manifest *m, uint64_t off)
{
	size_t lo = 0, hi = m->nfiles, mid;
	const struct manifest_file *f;

	if (!m->files_loaded || m->nfiles == 0)
		return NULL;
	/* The last entry starting before ${off}. */
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (m->files[mid].tar_offset < off)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return NULL;
	f = &m->files[lo - 1];
	return off < f->tar_offset + f->tar_len ? f : NULL;
}

/*
 * The pipeline stopped early: remove the file of the entry it cut short
 * (see the top of this file), and say which in ${res}->removed.
 */
static void
remove_cut_entry(struct restore *r, struct restore_result *res)
{
	const struct manifest_file *f = NULL;
	const char *want = NULL;

	if (r->dirfd < 0 || r->last_path == NULL ||
	    r->last_type != (unsigned)S_IFREG || r->last_existed)
		return;
	if (r->x_failed || !r->m->files_loaded) {
		/* The extractor stopped in its last entry. */
		want = r->last_path;
	} else if ((f = entry_at(r->m, r->cut)) != NULL) {
		want = f->split_of != NULL ? f->split_of : f->path;
		if (strcmp(want, r->last_path) != 0)
			return; /* not reached: nothing written */
	}
	if (want != NULL && remove_below(r->dirfd, want) == 0)
		snprintf(res->removed, sizeof(res->removed), "%s", want);
}

/*
 * The file system filled up.  libarchive does not report every failed
 * write, and a full disk can leave a file at its full size with a hole
 * where data should be; a target with no free block left means the
 * restore cannot be trusted.
 */
static int
target_full(const struct restore *r)
{
	struct statvfs sv;

	if (r->dirfd < 0 || fstatvfs(r->dirfd, &sv) != 0 || sv.f_blocks == 0)
		return 0;
	return sv.f_bavail == 0 && (geteuid() != 0 || sv.f_bfree == 0);
}

/* --- The run ---------------------------------------------------------- */

static bool
whole_backup(const char *const *paths)
{
	size_t n;

	if (paths == NULL || paths[0] == NULL)
		return true;
	for (; *paths != NULL; paths++) {
		(void)norm_path(*paths, &n);
		if (n == 0)
			return true;
	}
	return false;
}

static int
setup(struct restore *r, bool partial, struct ag_err *err)
{
	const struct manifest *m = r->m;
	struct extract_conf xc = { 0 };

	if (!partial) {
		r->tar_total = m->tar_size;
		r->files_total = m->files_loaded ? m->nfiles : 0;
		if ((r->hash = crypto_hash_sha256_new()) == NULL)
			return ag_err_set(err, "out of memory");
	}
	xc.target = r->o->target;
	xc.flags = (r->o->no_overwrite ? EXTRACT_NO_OVERWRITE : 0) |
	    (r->o->devices ? EXTRACT_DEVICES : 0) |
	    (r->o->no_owner ? EXTRACT_NO_OWNER : 0) |
	    (r->o->no_privileges ? EXTRACT_NO_PRIVILEGES : 0);
	xc.on_entry = x_entry;
	xc.on_entry_done = x_entry_done;
	xc.on_warning = x_warning;
	xc.tap = partial ? NULL : full_hash;
	xc.cookie = r;
	if ((r->x = extract_new(&xc, err)) == NULL)
		return -1;
	/* extract_new() made the target; resolve it the same way, once. */
	if ((r->target = realpath(r->o->target, NULL)) == NULL ||
	    (r->dirfd = open(r->target, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) <
		0)
		return ag_err_set(err, "%s: %s", r->o->target,
		    strerror(errno));
	helpers_before(r);
	return 0;
}

/* Checks once everything was handed over and extracted. */
static int
check_end(struct restore *r, bool partial, struct ag_err *err)
{
	const struct manifest *m = r->m;
	uint8_t sha[CRYPTO_SHA256_LEN];

	if (partial) {
		if (r->members_out != r->nplan || r->want_pos != r->nwant ||
		    r->tar_fed != r->tar_total)
			return ag_err_set(err,
			    "data.vgl: %zu of %zu planned "
			    "chunks and %" PRIu64 " of %" PRIu64 " tar bytes "
			    "arrived",
			    r->members_out, r->nplan, r->tar_fed,
			    r->tar_total);
		return 0;
	}
	/* The reader checked sizes and counts against the manifest. */
	if (atomic_load(&r->hash_failed) ||
	    crypto_hash_final(r->hash, sha) != 0)
		return ag_err_set(err, "sha256 failed");
	if (!crypto_memeq(sha, m->tar_sha256, sizeof(sha)))
		return ag_err_set(err,
		    "tar stream sha256 differs from the "
		    "manifest: the files restored into %.100s cannot be "
		    "trusted",
		    r->target);
	return 0;
}

/**
 * restore_run(st, prefix, job, id, key, opts, ret, err):
 * Restore backup ${job}/${id} (a complete one; see catalog_resolve()) from
 * the storage ${st} under ${prefix} ("" or NULL for none) with ${key} into
 * ${opts}->target, as described in restore.h.  Blocks until done.  Fill
 * ${ret} (may be NULL) whatever happens.  Return 0 if everything asked for
 * was restored; otherwise -1 (AG_RETRY if storage kept failing
 * transiently) with one message.
 */
int
restore_run(struct storage *st, const char *prefix, const char *job,
    const char *id, const struct crypto_key *key,
    const struct restore_opts *opts, struct restore_result *ret,
    struct ag_err *err)
{
	struct restore_result res = { 0 };
	struct restore r = { 0 };
	struct extract_stats xs = { 0 };
	struct storage_stats s0, s1;
	struct manifest *m = NULL;
	struct ag_err xe = { "" }, re = { "" };
	struct reader_stats rs = { 0 };
	uint64_t written;
	bool partial;
	int rc = -1, xrc;

	r.st = st;
	r.job = job;
	r.id = id;
	r.o = opts;
	r.dirfd = -1;
	r.res = &res;
	r.t0 = clock_mono_ms();
	r.last_progress = r.t0 - PROGRESS_MS; /* report the first call */
	atomic_init(&r.files, 0);
	atomic_init(&r.hash_failed, false);
	pthread_mutex_init(&r.mtx, NULL);
	storage_stats(st, &s0);
	r.read0 = s0.bytes_read;
	partial = opts != NULL && !whole_backup(opts->paths);
	res.partial = partial;

	if (opts == NULL || opts->target == NULL || *opts->target == '\0') {
		(void)ag_err_set(err, "restore: no target folder");
		goto out;
	}
	if (format_object_name(prefix, job, id, FORMAT_KIND_DATA, r.okey,
		sizeof(r.okey)) != 0) {
		(void)ag_err_set(err,
		    "bad job \"%.64s\" or backup id "
		    "\"%.40s\"",
		    job, id);
		goto out;
	}
	/* The manifest: wrong keys fail here. */
	/*
	 * A full restore needs no file index (memory stays bounded however
	 * many files there are); a partial one looks its paths up while the
	 * index streams past, keeping only the entries it needs.
	 */
	if ((rc = catalog_load_manifest(st, prefix, job, id, key, false, &m,
		 err)) != 0)
		goto out;
	r.m = m;
	res.tar_size = m->tar_size;
	res.data_size = m->data_size;
	if (partial && (rc = plan_partial(&r, m, prefix, key, err)) != 0)
		goto out;
	rc = -1;
	if (setup(&r, partial, err) != 0)
		goto out;

	/*
	 * From here on the target may be written to.  When the read stops
	 * early, what was handed over is still drained (extract_finish()).
	 */
	rc = reader_run(&(struct reader_conf){ .st = st,
			    .prefix = prefix,
			    .job = job,
			    .id = id,
			    .m = m,
			    .key = key,
			    .plan = r.plan,
			    .nplan = r.nplan,
			    .workers = opts->workers,
			    .sink = tar_sink,
			    .on_chunk = on_chunk,
			    .cookie = &r,
			    .cancel = opts->cancel },
	    &rs, &re);
	r.chunks = rs.chunks;
	if (rc != 0 && rc != READER_STOPPED && !r.failed && !r.x_failed) {
		(void)rfail(&r, "%s", re.msg);
		r.failed_rc = rc;
	}
	rc = -1;
	xrc = extract_finish(r.x, &xs, &xe);
	if (xrc != 0 && !r.failed)
		r.x_failed = true;
	helpers_after(&r);
	res.entries = xs.entries;
	res.extracted = xs.extracted;
	res.refused = xs.refused;
	res.bytes = xs.bytes;
	res.written = r.tar_fed > 0;

	if (r.failed || r.x_failed) {
		remove_cut_entry(&r, &res);
		/* A writer thread removed what it could not write whole. */
		if (xs.removed[0] != '\0')
			snprintf(res.removed, sizeof(res.removed), "%s",
			    xs.removed);
		if (r.failed)
			(void)ag_err_set(err, "%s", r.err.msg);
		else
			(void)ag_err_set(err, "%s", xe.msg);
		/* Entries on disk: extracted, less a removed partial one. */
		written = res.extracted -
		    (res.removed[0] != '\0' && res.extracted > 0 ? 1 : 0);
		if (written > 0) {
			size_t n = strlen(err->msg);

			snprintf(err->msg + n, sizeof(err->msg) - n,
			    "; restore incomplete: %" PRIu64 " entr%s written "
			    "to %s",
			    written, written == 1 ? "y" : "ies", r.target);
		}
		rc = r.failed ? r.failed_rc : -1;
		goto out;
	}
	if (check_end(&r, partial, err) != 0)
		goto out;
	if (target_full(&r)) {
		(void)ag_err_set(err,
		    "writing into %.100s: %s (files restored "
		    "may be incomplete)",
		    r.target, strerror(ENOSPC));
		goto out;
	}
	if (res.refused > 0) {
		(void)ag_err_set(err,
		    "%" PRIu64 " of %" PRIu64 " entries were "
		    "not restored (first: %s)",
		    res.refused, res.entries,
		    res.nfirst_warnings > 0 ? res.first_warnings[0] : "?");
		goto out;
	}
	res.ok = true;
	rc = 0;
out:
	if (opts != NULL)
		progress(&r, true, true);
	storage_stats(st, &s1);
	res.tar_bytes = r.tar_fed;
	res.chunks = r.chunks;
	res.bytes_read = s1.bytes_read - s0.bytes_read;
	res.elapsed_ms = clock_mono_ms() - r.t0;
	extract_free(r.x);
	crypto_hash_free(r.hash);
	if (r.dirfd >= 0)
		close(r.dirfd);
	free(r.target);
	free(r.last_path);
	free(r.mark);
	free(r.want);
	free(r.plan);
	free(r.helpers);
	free(r.hbuf);
	manifest_free(m);
	pthread_mutex_destroy(&r.mtx);
	if (ret != NULL)
		*ret = res;
	return rc == 0 ? 0 : (rc == AG_RETRY ? AG_RETRY : -1);
}
