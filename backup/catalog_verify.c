/*
 * catalog_verify.c: verifying a backup end to end (see catalog.h).
 *
 * Verification is the backup reader (reader.h: data.vgl read, every chunk
 * authenticated and checked against the chunk table, the members inflated
 * in parallel and checked too) with a sink that checks.  The sink pushes
 * the tar stream into the extractor in listing mode (extract.h), so the
 * tar stream is walked by libarchive as on restore: its tap thread hashes
 * the stream, and each entry it reads is held against the file index (the
 * tar checker below).  A separate index is streamed by a thread of its own
 * (catalog_stream_index() into a manifest_index_reader) into a bounded
 * queue (index_queue.h) from which the checker takes one entry at a time.
 * Memory: what the reader holds (one sealed chunk, workers + 2 members),
 * the extractor's ring; for the index as much again (one chunk, its
 * members of 1 MiB) and the queue.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <sys/stat.h>

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/ag.h"
#include "lib/clock.h"
#include "lib/crypto/crypto.h"
#include "lib/crypto/crypto_hash.h"
#include "providers/storage.h"
#include "backup/extract.h"
#include "backup/format.h"
#include "backup/index_queue.h"
#include "backup/manifest.h"
#include "backup/reader.h"
#include "backup/stage.h"
#include "backup/tar_header.h"

#include "backup/catalog.h"

#define PROGRESS_MS 100
/*
 * Inflate threads for data.vgl.  Its tar stream is hashed on one thread,
 * which 3 inflating threads keep busy; more would only hold more members
 * (a slice each) in memory.
 */
#define VERIFY_WORKERS_MAX 3

/* --- Verifying -------------------------------------------------------- */

/* Index entries queued between the index thread and the tar checker. */
#define IXQ_ENTRIES 1024
#define IXQ_BYTES ((size_t)1 << 20)

/*
 * The index thread: streams index.vgl (catalog_stream_index()) through a
 * manifest_index_reader, counts the entries by type and queues them for
 * the tar checker.  Its outcome (the index's sha256, structure and entry
 * count checked at the end) comes back through the queue.
 */
struct ixfeed {
	struct storage *st;
	const char *prefix;
	const struct manifest *m;
	const struct crypto_key *key;
	volatile sig_atomic_t *cancel;
	struct index_queue *q;
	struct manifest_index_reader *rd;
	pthread_t thread;
	bool started;
	uint64_t ntype[5]; /* entries by type (count_slot()) */
	int failed;	   /* the sink failed: err says why */
	struct ag_err err;
};

/* The position of type ${t} in the manifest's counts. */
static size_t
count_slot(enum manifest_ftype t)
{
	switch (t) {
	case MANIFEST_FILE:
		return 0;
	case MANIFEST_DIR:
		return 1;
	case MANIFEST_SYMLINK:
		return 2;
	case MANIFEST_HARDLINK:
		return 3;
	default:
		return 4;
	}
}

static int
ixf_file(void *cookie, struct manifest_file *f, uint64_t i)
{
	struct ixfeed *x = cookie;

	(void)i;
	x->ntype[count_slot(f->type)]++;
	return index_queue_put(x->q, f);
}

static int
ixf_sink(void *cookie, const uint8_t *buf, size_t len)
{
	struct ixfeed *x = cookie;

	if (x->cancel != NULL && *x->cancel) {
		x->failed = ag_err_set(&x->err, "cancelled");
		return -1;
	}
	if (manifest_index_reader_feed(x->rd, buf, len, &x->err) != 0) {
		x->failed = -1;
		return -1;
	}
	return 0;
}

static void *
ixf_main(void *cookie)
{
	struct ixfeed *x = cookie;
	struct ag_err e = { "" };
	int rc;

	rc = catalog_stream_index(x->st, x->prefix, x->m, x->key, ixf_sink, x,
	    &e);
	if (rc != 0 && x->failed)
		e = x->err;
	if (rc == 0 && manifest_index_reader_end(x->rd, &e) != 0)
		rc = -1;
	index_queue_close(x->q, rc, e.msg);
	return NULL;
}

/* Start the index thread of ${x}, filled but for q and rd. */
static int
ixf_start(struct ixfeed *x, struct ag_err *err)
{
	int e;

	if ((x->q = index_queue_new(IXQ_ENTRIES, IXQ_BYTES)) == NULL)
		return ag_err_set(err, "verify: out of memory");
	if ((x->rd = manifest_index_reader_new(x->m, ixf_file, x, err)) ==
	    NULL)
		return -1;
	if ((e = pthread_create(&x->thread, NULL, ixf_main, x)) != 0)
		return ag_err_set(err, "verify: cannot start a thread: %s",
		    strerror(e));
	x->started = true;
	return 0;
}

/*
 * Wait for the index thread: ${stop} tells it to stop, else it reads the
 * index to its end.  Return its outcome, with its message in ${err}.
 */
static int
ixf_join(struct ixfeed *x, bool stop, struct ag_err *err)
{
	if (!x->started)
		return 0;
	if (stop)
		index_queue_stop(x->q);
	else
		index_queue_drain(x->q);
	pthread_join(x->thread, NULL);
	x->started = false;
	return index_queue_result(x->q, err);
}

static void
ixf_free(struct ixfeed *x)
{
	struct ag_err e;

	(void)ixf_join(x, true, &e);
	manifest_index_reader_free(x->rd);
	index_queue_free(x->q);
}

/*
 * The tar checker, on the extractor's thread: libarchive walks the tar
 * stream (extract.h, listing only), and each entry it reads is held
 * against the index entries at or before its offset: an index entry must
 * start where a tar entry starts, and that entry's stored path and type
 * must be the index's.  The index entries come from the manifest (an
 * inline index) or one at a time from the index thread's queue.  The
 * first failure stops the check; the data side sees it (tc_failed()) and
 * stops reading.
 */
struct tarchk {
	const struct manifest *m;
	struct index_queue *q;	       /* NULL: the manifest's files[] */
	bool headers;		       /* compare headers */
	const struct manifest_file *f; /* entry ${next}, or NULL */
	struct manifest_file cur;      /* ... taken from ${q} */
	bool ended;		       /* no more entries */
	size_t next;		       /* entries done */
	uint64_t files, checked;
	atomic_bool failed; /* err is set */
	struct ag_err err;
};

/*
 * Make tc->f the next entry, or NULL if there is none.  Return 0, or -1
 * if the index thread failed (its message comes later).
 */
static int
tc_next(struct tarchk *tc, struct ag_err *err)
{
	const struct manifest *m = tc->m;
	int rc;

	if (tc->f != NULL || tc->ended)
		return 0;
	if (tc->q == NULL) {
		if (m->files_loaded && tc->next < m->nfiles)
			tc->f = &m->files[tc->next];
		else
			tc->ended = true;
		return 0;
	}
	manifest_file_clear(&tc->cur);
	if ((rc = index_queue_get(tc->q, &tc->cur)) < 0)
		return ag_err_set(err, "file index: not read");
	if (rc == 0)
		tc->ended = true;
	else
		tc->f = &tc->cur;
	return 0;
}

/* Entry tc->f is done. */
static void
tc_done(struct tarchk *tc)
{
	tc->f = NULL;
	tc->files++;
	tc->next++;
}

/* The ustar typeflag of what libarchive read as ${e}. */
static char
tc_typeflag(const struct extract_entry *e)
{
	if (e->hardlink)
		return '1';
	switch (e->type) {
	case S_IFREG:
		return '0';
	case S_IFDIR:
		return '5';
	case S_IFLNK:
		return '2';
	case S_IFCHR:
		return '3';
	case S_IFBLK:
		return '4';
	case S_IFIFO:
		return '6';
	default:
		return '?';
	}
}

/* Index entry tc->f lies at the tar entry ${e}: compare. */
static int
tc_check(struct tarchk *tc, const struct extract_entry *e, struct ag_err *err)
{
	const struct manifest_file *f = tc->f;
	size_t plen = strlen(e->stored);
	char tf = tc_typeflag(e);

	/* libarchive ends the name of a folder with a '/'. */
	if (tf == '5' && plen > 1 && e->stored[plen - 1] == '/')
		plen--;
	if (plen != strlen(f->path) || memcmp(e->stored, f->path, plen) != 0)
		return ag_err_set(err,
		    "file index: files[%zu] \"%.100s\" at "
		    "tar offset %" PRIu64 ": the tar header there is "
		    "\"%.*s\"",
		    tc->next, f->path, f->tar_offset,
		    (int)(plen > 100 ? 100 : plen), e->stored);
	if (tf != tar_header_typeflag(f->type))
		return ag_err_set(err,
		    "file index: files[%zu] \"%.100s\": "
		    "type %s, but the tar header has type '%c'",
		    tc->next, f->path, manifest_ftype_name(f->type), tf);
	tc->checked++;
	return 0;
}

/* An index entry at ${off}, where no tar entry starts. */
static int
tc_no_header(struct tarchk *tc, struct ag_err *err)
{
	if (!tc->headers) {
		/* Without the header checks, the offsets alone. */
		tc_done(tc);
		return 0;
	}
	return ag_err_set(err,
	    "file index: files[%zu] \"%.100s\": no valid "
	    "tar header at tar offset %" PRIu64,
	    tc->next, tc->f->path, tc->f->tar_offset);
}

/* The extractor read the tar entry ${e} (its thread). */
static void
tc_entry(void *cookie, const struct extract_entry *e)
{
	struct tarchk *tc = cookie;

	if (atomic_load(&tc->failed))
		return;
	for (;;) {
		if (tc_next(tc, &tc->err) != 0)
			goto fail;
		if (tc->f == NULL || tc->f->tar_offset > e->tar_offset)
			return; /* an entry the index does not list */
		if (tc->f->tar_offset < e->tar_offset) {
			if (tc_no_header(tc, &tc->err) != 0)
				goto fail;
			continue;
		}
		if (tc->headers && tc_check(tc, e, &tc->err) != 0)
			goto fail;
		tc_done(tc);
		return;
	}
fail:
	atomic_store(&tc->failed, true);
}

/*
 * The tar stream of ${tar_size} bytes was read whole: every index entry
 * must have been reached.  Return 0 or -1 with a message.
 */
static int
tc_end(struct tarchk *tc, uint64_t tar_size, uint64_t nentries,
    struct ag_err *err)
{
	for (;;) {
		if (tc_next(tc, err) != 0)
			return -1;
		if (tc->f == NULL || tc->f->tar_offset >= tar_size)
			break;
		if (tc_no_header(tc, err) != 0)
			return -1;
	}
	if (tc->f != NULL)
		return ag_err_set(err,
		    "file index: only %zu of %" PRIu64
		    " entries lie in the tar stream",
		    tc->next, nentries);
	return 0;
}

/*
 * Verification is the backup reader (reader.h) with a sink that checks:
 * the extractor, listing only, with a tap that hashes the tar stream and
 * the tar checker on its entries.
 */
struct verify {
	const struct manifest *m;
	const struct catalog_verify_opts *o;
	struct extract *x;
	struct crypto_hash *hash; /* the extractor's tap thread's */
	atomic_bool hash_failed;
	struct tarchk tc;
	struct ixfeed ix;	/* a separate index, read alongside */
	struct reader_stats rs; /* as far as the reader got */
	int64_t t0, last_progress;
	bool x_failed;	   /* the extractor stopped */
	bool index_failed; /* the index thread failed */
};

static void
progress(struct verify *v, bool force)
{
	struct catalog_verify_progress p;
	int64_t now;

	if (v->o == NULL || v->o->progress == NULL)
		return;
	now = clock_mono_ms();
	if (!force && now - v->last_progress < PROGRESS_MS)
		return;
	v->last_progress = now;
	p = (struct catalog_verify_progress){ .bytes_read = v->rs.fed,
		.bytes_total = v->m->data_size,
		.tar_bytes = v->rs.tar_bytes,
		.chunks_done = v->rs.chunks,
		.chunks_total = v->m->nchunks,
		.elapsed_ms = now - v->t0 };
	v->o->progress(v->o->cookie, &p);
}

/* The tap: every tar byte, in order, on a thread of its own. */
static void
hash_tap(void *cookie, const uint8_t *buf, size_t len)
{
	struct verify *v = cookie;

	if (crypto_hash_update(v->hash, buf, len) != 0)
		atomic_store(&v->hash_failed, true);
}

static void
x_entry(void *cookie, const struct extract_entry *e)
{
	struct verify *v = cookie;

	tc_entry(&v->tc, e);
}

/* The reader's sink: the tar stream, one member at a time, in order. */
static int
tar_sink(void *cookie, const struct manifest_chunk *c, const uint8_t *buf,
    size_t len)
{
	struct verify *v = cookie;

	(void)c;
	if (atomic_load(&v->tc.failed))
		return -1;
	if (extract_write(v->x, buf, len) != 0) {
		v->x_failed = true;
		return -1;
	}
	return 0;
}

/* Before each chunk: progress; a failed index stops reading data.vgl. */
static int
on_chunk(void *cookie, const struct reader_stats *s)
{
	struct verify *v = cookie;

	v->rs = *s;
	if (v->tc.q != NULL && index_queue_failed(v->tc.q)) {
		v->index_failed = true;
		return -1;
	}
	progress(v, false);
	return 0;
}

/*
 * The manifest's counts must be those of its file index (when both are
 * there): ${n}, one per entry, by type (count_slot()).  Return 0 or -1
 * with a message.
 */
static int
check_counts(const struct manifest *m, const uint64_t n[5], struct ag_err *err)
{
	static const char *const names[] = { "files", "dirs", "symlinks",
		"hardlinks", "other" };
	const uint64_t said[5] = { m->counts.files, m->counts.dirs,
		m->counts.symlinks, m->counts.hardlinks, m->counts.other };

	for (size_t i = 0; i < 5; i++)
		if (n[i] != said[i])
			return ag_err_set(err,
			    "manifest: counts.%s is %" PRIu64
			    ", but the file index has %" PRIu64
			    " such entries",
			    names[i], said[i], n[i]);
	return 0;
}

/**
 * catalog_verify(st, prefix, job, id, key, opts, ret, err):
 * Verify backup ${job}/${id} with ${key} (see above); ${opts} may be NULL.
 * Blocks for as long as reading the whole backup takes.  Fill ${ret} (ok
 * is true only if every check passed) and return 0, or -1 with the first
 * failure, naming the object: "data.vgl: chunk 7: authentication failed
 * (corrupt, reordered or tampered data)", "data.vgl: truncated: ...",
 * "manifest.vgl: wrong key: ...", "tar stream sha256 differs from the
 * manifest", "data.vgl: member 3 inflates to 1000 bytes, the chunk table
 * says 65536", "file index: files[12] \"etc/x\" at tar offset 5120: the tar
 * header there is \"etc/y\"".  A failure of the file index itself comes
 * first, even if the data side failed too.  AG_RETRY if storage kept
 * failing transiently.
 */
int
catalog_verify(struct storage *st, const char *prefix, const char *job,
    const char *id, const struct crypto_key *key,
    const struct catalog_verify_opts *opts, struct catalog_verify_result *ret,
    struct ag_err *err)
{
	struct catalog_verify_result res = { 0 };
	struct storage_stats s0, s1;
	struct extract_conf xc = { 0 };
	struct reader_conf rc0 = { 0 };
	struct verify v = { 0 };
	struct manifest *m = NULL;
	struct ag_err e = { "" }, xe = { "" }, ixe, verr = { "" };
	uint8_t sha[CRYPTO_SHA256_LEN];
	uint64_t nentries;
	bool cancelled = false;
	int rc, xrc, ixrc, failed = 0;

	storage_stats(st, &s0);
	v.t0 = clock_mono_ms();
	v.last_progress = v.t0 - PROGRESS_MS;
	v.o = opts;
	atomic_init(&v.hash_failed, false);
	atomic_init(&v.tc.failed, false);
	/* A separate index is read alongside data.vgl, never loaded. */
	if ((rc = catalog_load_manifest(st, prefix, job, id, key, false, &m,
		 err)) != 0) {
		if (ret != NULL)
			*ret = res; /* all zero: nothing was checked */
		return rc;
	}
	v.m = m;
	v.tc.m = m;
	v.tc.headers = opts == NULL || !opts->skip_headers;
	if ((v.hash = crypto_hash_sha256_new()) == NULL) {
		rc = ag_err_set(err, "verify: out of memory");
		goto out;
	}
	nentries = m->nfiles;
	if (!m->index_inline && !m->index_omitted) {
		v.ix = (struct ixfeed){ .st = st,
			.prefix = prefix,
			.m = m,
			.key = key,
			.cancel = opts != NULL ? opts->cancel : NULL };
		if ((rc = ixf_start(&v.ix, err)) != 0)
			goto out;
		v.tc.q = v.ix.q;
		nentries = m->index_entries;
	}
	xc.flags = EXTRACT_LIST_ONLY;
	xc.writers = 1;
	xc.on_entry = x_entry;
	xc.tap = hash_tap;
	xc.cookie = &v;
	if ((v.x = extract_new(&xc, err)) == NULL) {
		rc = -1;
		goto out;
	}

	rc0 = (struct reader_conf){ .st = st,
		.prefix = prefix,
		.job = job,
		.id = id,
		.m = m,
		.key = key,
		.sink = tar_sink,
		.on_chunk = on_chunk,
		.cookie = &v,
		.cancel = opts != NULL ? opts->cancel : NULL };
	rc0.workers = opts != NULL ? opts->workers : 0;
	if (rc0.workers == 0)
		rc0.workers = stage_online_cpus() < VERIFY_WORKERS_MAX ?
		    stage_online_cpus() :
		    VERIFY_WORKERS_MAX;
	rc = reader_run(&rc0, &v.rs, &e);
	cancelled = rc != 0 && opts != NULL && opts->cancel != NULL &&
	    *opts->cancel != 0;
	/* The extractor sees what was handed over, and the tap hashes it. */
	xrc = extract_finish(v.x, NULL, &xe);

	/*
	 * The first failure in stream order: the checker's is about bytes
	 * before anything the reader failed on.
	 */
	if (atomic_load(&v.tc.failed))
		failed = ag_err_set(&verr, "%s", v.tc.err.msg);
	else if (rc == READER_STOPPED && v.index_failed)
		failed = ag_err_set(&verr, "file index: not read");
	else if (rc == READER_STOPPED)
		failed = ag_err_set(&verr, "tar stream: %s", xe.msg);
	else if (rc != 0) {
		(void)ag_err_set(&verr, "%s", e.msg);
		failed = rc == AG_RETRY ? AG_RETRY : -1;
	} else {
		progress(&v, true);
		if (atomic_load(&v.hash_failed) ||
		    crypto_hash_final(v.hash, sha) != 0)
			failed = ag_err_set(&verr, "sha256 failed");
		else if (!crypto_memeq(sha, m->tar_sha256, sizeof(sha)))
			failed = ag_err_set(&verr,
			    "tar stream sha256 differs "
			    "from the manifest");
		else if (xrc != 0)
			failed = ag_err_set(&verr, "tar stream: %s", xe.msg);
		else if (tc_end(&v.tc, m->tar_size, nentries, &verr) != 0)
			failed = -1;
	}

	/*
	 * The index is read to its end (unless cancelled): a failure of the
	 * index (its sha256 above all) is the error, as when it was loaded
	 * before the data, even if the data side failed on what it said.
	 */
	if ((ixrc = ixf_join(&v.ix, cancelled, &ixe)) != 0 && !cancelled) {
		(void)ag_err_set(err, "%s", ixe.msg);
		rc = ixrc == AG_RETRY ? AG_RETRY : -1;
		goto out;
	}
	if (failed) {
		(void)ag_err_set(err, "%s", verr.msg);
		rc = failed == AG_RETRY ? AG_RETRY : -1;
		goto out;
	}
	if (m->has_counts && (m->files_loaded || v.tc.q != NULL)) {
		if (v.tc.q == NULL) {
			for (size_t i = 0; i < m->nfiles; i++)
				v.ix.ntype[count_slot(m->files[i].type)]++;
		}
		if (check_counts(m, v.ix.ntype, err) != 0) {
			rc = -1;
			goto out;
		}
	}
	res.ok = true;
	rc = 0;
out:
	storage_stats(st, &s1);
	res.chunks = v.rs.chunks;
	res.tar_bytes = v.rs.tar_bytes;
	res.files = v.tc.files;
	res.headers = v.tc.checked;
	res.bytes_read = s1.bytes_read - s0.bytes_read;
	res.data_size = m != NULL ? m->data_size : 0;
	res.elapsed_ms = clock_mono_ms() - v.t0;
	res.index_separate = m != NULL && !m->index_inline &&
	    !m->index_omitted;
	res.index_omitted = m != NULL && m->index_omitted;
	if (m != NULL && m->is_signed) {
		res.is_signed = true;
		memcpy(res.signer_id, m->signer_id, sizeof(res.signer_id));
		memcpy(res.signer_pub, m->signer_pub, sizeof(res.signer_pub));
	}
	if (ret != NULL)
		*ret = res;
	extract_free(v.x);
	ixf_free(&v.ix);
	manifest_file_clear(&v.tc.cur);
	crypto_hash_free(v.hash);
	manifest_free(m);
	return rc == 0 ? 0 : (rc == AG_RETRY ? AG_RETRY : -1);
}
