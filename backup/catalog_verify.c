/*
 * catalog_verify.c: verifying a backup end to end (see catalog.h).
 *
 * Verification is a pipeline on the caller's thread: storage_get() pushes
 * data.vgl into the format reader, whose chunk callback checks the chunk
 * against the chunk table and hands the gzip member to the parallel
 * inflater (inflate.h); the inflater hands the tar stream back in order to
 * a checker that hashes it, checks each member's length and compares the
 * tar headers at the file index's offsets.  A separate index is streamed
 * by a thread of its own (catalog_stream_index() into a
 * manifest_index_reader) into a bounded queue (index_queue.h) from which
 * the checker takes one entry at a time.  Memory: one sealed chunk in the
 * reader, workers + 2 members in the inflater, one captured header; for
 * the index as much again (one chunk, its members of 1 MiB) and the queue.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/ag.h"
#include "lib/clock.h"
#include "lib/crypto/crypto.h"
#include "lib/crypto/crypto_hash.h"
#include "providers/storage.h"
#include "backup/format.h"
#include "backup/index_queue.h"
#include "backup/inflate.h"
#include "backup/manifest.h"
#include "backup/stage.h"
#include "backup/tar_header.h"

#include "backup/catalog.h"
#include "backup/catalog_internal.h"

#define PROGRESS_MS	100
/*
 * Inflate threads for data.vgl.  Its tar stream is hashed on one thread,
 * which 3 inflating threads keep busy; more would only hold more members
 * (a slice each) in memory.
 */
#define VERIFY_WORKERS_MAX	3

/* --- Verifying -------------------------------------------------------- */

/* Index entries queued between the index thread and the tar checker. */
#define IXQ_ENTRIES	1024
#define IXQ_BYTES	((size_t)1 << 20)

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
	uint64_t ntype[5];		/* entries by type (count_slot()) */
	int failed;			/* the sink failed: err says why */
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
	if ((x->rd = manifest_index_reader_new(x->m, ixf_file, x,
	    err)) == NULL)
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
 * The tar checker: follows the tar stream, and at each index entry's
 * offset captures its first header (and a pax extended header's records)
 * to compare the stored path and type with the index.  The entries come
 * from the manifest (an inline index) or one at a time from the index
 * thread's queue.
 */
struct tarchk {
	const struct manifest *m;
	struct index_queue *q;		/* NULL: the manifest's files[] */
	bool headers;			/* compare headers */
	const struct manifest_file *f;	/* entry ${next}, or NULL */
	struct manifest_file cur;	/* ... taken from ${q} */
	bool ended;			/* no more entries */
	size_t next;			/* entries done */
	uint64_t pos;			/* tar bytes seen */
	uint8_t *cap;			/* captured header bytes */
	size_t cap_len, need;
	bool capturing;
	uint64_t files, checked;
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
	tc->capturing = false;
	tc->files++;
	tc->next++;
}

/* The capture of entry tc->f is complete: compare. */
static int
tc_check(struct tarchk *tc, struct ag_err *err)
{
	const struct manifest_file *f = tc->f;
	struct tar_header th;

	if (tar_header_parse(tc->cap, tc->cap_len, &th) != 0)
		return ag_err_set(err, "file index: files[%zu] \"%.100s\": no "
		    "valid tar header at tar offset %" PRIu64, tc->next,
		    f->path, f->tar_offset);
	if (th.path_len != strlen(f->path) ||
	    memcmp(th.path, f->path, th.path_len) != 0)
		return ag_err_set(err, "file index: files[%zu] \"%.100s\" at "
		    "tar offset %" PRIu64 ": the tar header there is "
		    "\"%.*s\"", tc->next, f->path, f->tar_offset,
		    (int)(th.path_len > 100 ? 100 : th.path_len), th.path);
	if (th.typeflag != tar_header_typeflag(f->type))
		return ag_err_set(err, "file index: files[%zu] \"%.100s\": "
		    "type %s, but the tar header has type '%c'", tc->next,
		    f->path, manifest_ftype_name(f->type), th.typeflag);
	tc->checked++;
	return 0;
}

/* Feed tar bytes to the checker. */
static int
tc_feed(struct tarchk *tc, const uint8_t *buf, size_t len,
    struct ag_err *err)
{
	const struct manifest_file *f;
	uint64_t skip;
	size_t n, need;

	while (len > 0) {
		if (!tc->capturing) {
			if (tc_next(tc, err) != 0)
				return -1;
			if (tc->f == NULL) {
				tc->pos += len;
				return 0;
			}
			skip = tc->f->tar_offset - tc->pos;
			if (skip > 0) {
				n = skip < len ? (size_t)skip : len;
				tc->pos += n;
				buf += n;
				len -= n;
				continue;
			}
			if (!tc->headers) {
				tc_done(tc);
				continue;
			}
			tc->capturing = true;
			tc->cap_len = 0;
			tc->need = 512;
		}
		f = tc->f;
		n = tc->need - tc->cap_len < len ? tc->need - tc->cap_len : len;
		memcpy(tc->cap + tc->cap_len, buf, n);
		tc->cap_len += n;
		tc->pos += n;
		buf += n;
		len -= n;
		if (tc->cap_len < tc->need)
			continue;
		if (tc->need == 512) {
			/* A pax header: its records and the next header too. */
			if (tar_header_need(tc->cap, tc->cap_len, &need) != 0)
				return ag_err_set(err, "file index: files[%zu]: "
				    "pax header over %zu bytes", tc->next,
				    TAR_HEADER_PAX_MAX);
			tc->need = need;
		}
		if (tc->cap_len < tc->need) {
			if (tc->need > f->tar_len)
				return ag_err_set(err, "file index: files[%zu] "
				    "\"%.100s\": its headers exceed its tar "
				    "length %" PRIu64, tc->next, f->path,
				    f->tar_len);
			continue;
		}
		if (tc_check(tc, err) != 0)
			return -1;
		tc_done(tc);
	}
	return 0;
}

struct verify {
	struct storage *st;
	const struct manifest *m;
	const struct catalog_verify_opts *o;
	struct format_reader *rd;
	struct inflate *ifl;
	struct crypto_hash *hash;
	struct tarchk tc;
	struct ixfeed ix;		/* a separate index, read alongside */
	uint64_t fed;			/* data.vgl bytes fed to the reader */
	uint64_t chunks;		/* opened */
	uint64_t members_out;		/* members inflated so far */
	uint64_t tar_bytes;
	int64_t t0, last_progress;
	bool header_checked;
	bool cancelled;
	int failed;			/* a callback failed: err is set */
	struct ag_err err;
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
	p = (struct catalog_verify_progress){ .bytes_read = v->fed,
	    .bytes_total = v->m->data_size, .tar_bytes = v->tar_bytes,
	    .chunks_done = v->chunks, .chunks_total = v->m->nchunks,
	    .elapsed_ms = now - v->t0 };
	v->o->progress(v->o->cookie, &p);
}

/* The tar stream, one member at a time, in order. */
static int
tar_sink(void *cookie, const uint8_t *buf, size_t len)
{
	struct verify *v = cookie;
	const struct manifest_chunk *c;

	if (v->members_out >= v->m->nchunks) {
		v->failed = ag_err_set(&v->err, "data.vgl: more members than "
		    "the chunk table lists");
		return -1;
	}
	c = &v->m->chunks[v->members_out];
	if (len != c->tar_len) {
		v->failed = ag_err_set(&v->err, "member %" PRIu64 " inflates "
		    "to %zu bytes, the chunk table says %" PRIu64,
		    v->members_out, len, c->tar_len);
		return -1;
	}
	v->members_out++;
	v->tar_bytes += len;
	if (crypto_hash_update(v->hash, buf, len) != 0) {
		v->failed = ag_err_set(&v->err, "sha256 failed");
		return -1;
	}
	if (tc_feed(&v->tc, buf, len, &v->err) != 0) {
		v->failed = -1;
		return -1;
	}
	return 0;
}

/* An authenticated chunk of data.vgl. */
static int
chunk_cb(void *cookie, uint64_t index, const uint8_t *pt, size_t len,
    int final)
{
	struct verify *v = cookie;
	const struct format_object *obj;
	const struct manifest_chunk *c;
	const uint8_t *hdr;
	struct ag_err e;
	size_t hlen;

	if (v->o != NULL && v->o->cancel != NULL && *v->o->cancel) {
		v->failed = ag_err_set(&v->err, "cancelled");
		v->cancelled = true;
		return -1;
	}
	/* A failed index is the error: stop reading data.vgl. */
	if (v->tc.q != NULL && index_queue_failed(v->tc.q)) {
		v->failed = ag_err_set(&v->err, "file index: not read");
		return -1;
	}
	if (!v->header_checked) {
		/* The manifest's copy of the header must be this header. */
		obj = format_reader_object(v->rd);
		hdr = format_object_header(obj, &hlen);
		if (hlen != v->m->data_header_len ||
		    memcmp(hdr, v->m->data_header, hlen) != 0) {
			v->failed = ag_err_set(&v->err, "data.vgl: its header "
			    "differs from the manifest's copy");
			return -1;
		}
		if (strcmp(format_object_info(obj)->backup_id,
		    v->m->backup_id) != 0) {
			v->failed = ag_err_set(&v->err, "data.vgl: sealed for "
			    "backup %s", format_object_info(obj)->backup_id);
			return -1;
		}
		v->header_checked = true;
	}
	if (index >= v->m->nchunks) {
		v->failed = ag_err_set(&v->err, "data.vgl: chunk %" PRIu64
		    " is not in the chunk table (%zu chunks)", index,
		    v->m->nchunks);
		return -1;
	}
	c = &v->m->chunks[index];
	if (len != c->plain_len || (final != 0) != (index + 1 ==
	    v->m->nchunks)) {
		v->failed = ag_err_set(&v->err, "data.vgl: chunk %" PRIu64
		    " (%zu bytes%s) does not match the chunk table (%" PRIu64
		    " bytes%s)", index, len, final ? ", final" : "",
		    c->plain_len, index + 1 == v->m->nchunks ? ", final" : "");
		return -1;
	}
	if (inflate_member(v->ifl, pt, len, &e) != 0) {
		/* The sink's own message, if it was the sink that failed. */
		if (!v->failed)
			v->failed = ag_err_set(&v->err, "data.vgl: %s", e.msg);
		return -1;
	}
	v->chunks++;
	progress(v, false);
	return 0;
}

static int
data_sink(void *cookie, const uint8_t *buf, size_t len)
{
	struct verify *v = cookie;
	struct ag_err e;
	int rc;

	rc = format_reader_feed(v->rd, buf, len, &e);
	if (rc == -1 && !v->failed)
		v->failed = ag_err_set(&v->err, "data.vgl: %s", e.msg);
	if (rc != 0)
		return -1;
	v->fed += len;
	return 0;
}

/*
 * The manifest's counts must be those of its file index (when both are
 * there): ${n}, one per entry, by type (count_slot()).  Return 0 or -1
 * with a message.
 */
static int
check_counts(const struct manifest *m, const uint64_t n[5],
    struct ag_err *err)
{
	static const char *const names[] = { "files", "dirs", "symlinks",
		"hardlinks", "other" };
	const uint64_t said[5] = { m->counts.files, m->counts.dirs,
		m->counts.symlinks, m->counts.hardlinks, m->counts.other };

	for (size_t i = 0; i < 5; i++)
		if (n[i] != said[i])
			return ag_err_set(err, "manifest: counts.%s is %" PRIu64
			    ", but the file index has %" PRIu64 " such entries",
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
 * manifest", "member 3 inflates to 1000 bytes, the chunk table says
 * 65536", "file index: files[12] \"etc/x\" at tar offset 5120: the tar
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
	struct inflate_conf ic = { 0 };
	struct verify v = { 0 };
	struct manifest *m = NULL;
	struct ag_err e, ixe;
	char okey[STORAGE_KEY_MAX + 1];
	uint8_t sha[CRYPTO_SHA256_LEN];
	uint64_t nentries;
	int rc, ixrc;

	storage_stats(st, &s0);
	v.t0 = clock_mono_ms();
	v.o = opts;
	/* A separate index is read alongside data.vgl, never loaded. */
	if ((rc = catalog_load_manifest(st, prefix, job, id, key, false, &m,
	    err)) != 0) {
		if (ret != NULL)
			*ret = res;	/* all zero: nothing was checked */
		return rc;
	}
	v.m = m;
	v.st = st;
	if (catalog_object_key(prefix, job, id, FORMAT_KIND_DATA, okey,
	    sizeof(okey), err) != 0) {
		rc = -1;
		goto out;
	}
	v.tc.m = m;
	v.tc.headers = opts == NULL || !opts->skip_headers;
	ic.max_out = (size_t)m->slice_size;
	ic.workers = opts != NULL ? opts->workers : 0;
	if (ic.workers == 0)
		ic.workers = stage_online_cpus() < VERIFY_WORKERS_MAX ?
		    stage_online_cpus() : VERIFY_WORKERS_MAX;
	ic.sink = tar_sink;
	ic.cookie = &v;
	if ((v.tc.cap = malloc(TAR_HEADER_MAX)) == NULL ||
	    (v.hash = crypto_hash_sha256_new()) == NULL ||
	    (v.rd = format_reader_new(key, FORMAT_KIND_DATA, chunk_cb,
	    &v)) == NULL) {
		rc = ag_err_set(err, "verify: out of memory");
		goto out;
	}
	if ((v.ifl = inflate_new(&ic, err)) == NULL) {
		rc = -1;
		goto out;
	}
	nentries = m->nfiles;
	if (!m->index_inline && !m->index_omitted) {
		v.ix = (struct ixfeed){ .st = st, .prefix = prefix, .m = m,
		    .key = key, .cancel = opts != NULL ? opts->cancel : NULL };
		if ((rc = ixf_start(&v.ix, err)) != 0)
			goto out;
		v.tc.q = v.ix.q;
		nentries = m->index_entries;
	}

	/* Stream data.vgl; a transient failure resumes where it stopped. */
	rc = storage_get_retry(st, okey, 0, UINT64_MAX, data_sink, &v, &e);
	if (rc != 0 && !v.failed) {
		if (rc == STORAGE_ABSENT)
			(void)ag_err_set(&v.err, "backup %s/%s: %s is missing",
			    job, id, FORMAT_NAME_DATA);
		else
			(void)ag_err_set(&v.err, "%s", e.msg);
		v.failed = rc == AG_RETRY ? AG_RETRY : -1;
	}
	if (!v.failed && format_reader_end(v.rd, &e) != 0)
		v.failed = ag_err_set(&v.err, "data.vgl: %s", e.msg);
	if (!v.failed && inflate_finish(v.ifl, &e) != 0 && !v.failed)
		v.failed = ag_err_set(&v.err, "data.vgl: %s", e.msg);
	if (!v.failed)
		progress(&v, true);
	if (!v.failed && v.fed != m->data_size)
		v.failed = ag_err_set(&v.err, "data.vgl: %" PRIu64 " bytes, "
		    "the manifest says %" PRIu64, v.fed, m->data_size);
	if (!v.failed && (v.chunks != m->nchunks ||
	    v.members_out != m->nchunks || v.tar_bytes != m->tar_size))
		v.failed = ag_err_set(&v.err, "data.vgl: %" PRIu64 " chunks and "
		    "%" PRIu64 " tar bytes, the manifest says %zu and %" PRIu64,
		    v.chunks, v.tar_bytes, m->nchunks, m->tar_size);
	if (!v.failed && crypto_hash_final(v.hash, sha) != 0)
		v.failed = ag_err_set(&v.err, "sha256 failed");
	if (!v.failed && !crypto_memeq(sha, m->tar_sha256, sizeof(sha)))
		v.failed = ag_err_set(&v.err, "tar stream sha256 differs from "
		    "the manifest");
	/* Every entry must have been reached. */
	if (!v.failed && tc_next(&v.tc, &v.err) != 0)
		v.failed = -1;
	if (!v.failed && (v.tc.f != NULL || v.tc.capturing))
		v.failed = ag_err_set(&v.err, "file index: only %zu of %" PRIu64
		    " entries lie in the tar stream", v.tc.next, nentries);

	/*
	 * The index is read to its end (unless cancelled): a failure of the
	 * index (its sha256 above all) is the error, as when it was loaded
	 * before the data, even if the data side failed on what it said.
	 */
	if ((ixrc = ixf_join(&v.ix, v.cancelled, &ixe)) != 0 &&
	    !v.cancelled) {
		(void)ag_err_set(err, "%s", ixe.msg);
		rc = ixrc == AG_RETRY ? AG_RETRY : -1;
		goto out;
	}
	if (v.failed) {
		(void)ag_err_set(err, "%s", v.err.msg);
		rc = v.failed == AG_RETRY ? AG_RETRY : -1;
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
	res.chunks = v.chunks;
	res.tar_bytes = v.tar_bytes;
	res.files = v.tc.files;
	res.headers = v.tc.checked;
	res.bytes_read = s1.bytes_read - s0.bytes_read;
	res.data_size = m != NULL ? m->data_size : 0;
	res.elapsed_ms = clock_mono_ms() - v.t0;
	res.index_separate = m != NULL && !m->index_inline && !m->index_omitted;
	res.index_omitted = m != NULL && m->index_omitted;
	if (m != NULL && m->is_signed) {
		res.is_signed = true;
		memcpy(res.signer_id, m->signer_id, sizeof(res.signer_id));
		memcpy(res.signer_pub, m->signer_pub, sizeof(res.signer_pub));
	}
	if (ret != NULL)
		*ret = res;
	inflate_free(v.ifl);
	ixf_free(&v.ix);
	manifest_file_clear(&v.tc.cur);
	format_reader_free(v.rd);
	crypto_hash_free(v.hash);
	free(v.tc.cap);
	manifest_free(m);
	return rc == 0 ? 0 : (rc == AG_RETRY ? AG_RETRY : -1);
}
