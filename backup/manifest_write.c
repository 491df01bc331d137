/*
 * manifest_write.c: building backup manifests and file indexes (see
 * manifest.h; parsing is in manifest_read.c).
 *
 * Writing is done with a small bounded text builder rather than a JSON
 * tree: the file index can hold millions of entries, which as text cost
 * about 200 bytes each and can be spilled to a file, while a tree would
 * cost several times that and could not.  Every string goes through one
 * escaper that also validates UTF-8 (see the header for what happens to
 * names that are not).
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/ag.h"
#include "lib/buf.h"
#include "lib/crypto/crypto.h"
#include "lib/crypto/crypto_hash.h"
#include "backup/format.h"
#include "backup/st_archive.h"
#include "backup/st_compress.h"
#include "backup/st_encrypt.h"

#include "backup/manifest.h"
#include "backup/manifest_internal.h"

#define SPILL_FLUSH ((size_t)1 << 20) /* staging before a spill write */
#define PIECE ((size_t)1 << 20)	      /* index_read() pieces */
/* Room kept for the index object's JSON around its files array. */
#define INDEX_WRAP 256

/* --- Text into a bounded buffer (lib/buf.h) ---------------------------- */

static void jb_printf(struct buf *, const char *, ...)
    __attribute__((format(printf, 2, 3)));

static void
jb_printf(struct buf *b, const char *fmt, ...)
{
	char tmp[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(tmp)) {
		b->err = 1;
		return;
	}
	buf_append(b, tmp, (size_t)n);
}

/*
 * Length of the valid UTF-8 sequence at ${s} (${n} bytes left), or 0 if
 * the bytes there are not one (overlong forms, surrogates and code points
 * over U+10FFFF are invalid, as in RFC 3629 and jansson).
 */
static size_t
utf8_seq(const unsigned char *s, size_t n)
{
	unsigned c = s[0];
	size_t len, i;
	uint32_t cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		cp = c & 0x07;
	} else {
		return 0;
	}
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return len;
}

/*
 * Append ${s} as a JSON string.  Bytes that are not valid UTF-8 become
 * U+FFFD; return 1 if that happened, else 0.
 */
static int
jb_str(struct buf *b, const char *str)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t n = strlen(str), i = 0, k, run;
	int lossy = 0;

	buf_append(b, "\"", 1);
	while (i < n) {
		/* Copy runs of plain characters at once. */
		for (run = i; run < n && s[run] >= 0x20 && s[run] < 0x80 &&
		     s[run] != '"' && s[run] != '\\';
		     run++)
			;
		buf_append(b, s + i, run - i);
		i = run;
		if (i >= n)
			break;
		if (s[i] == '"' || s[i] == '\\') {
			buf_append(b, s[i] == '"' ? "\\\"" : "\\\\", 2);
			i++;
		} else if (s[i] < 0x20) {
			switch (s[i]) {
			case '\n':
				buf_append(b, "\\n", 2);
				break;
			case '\t':
				buf_append(b, "\\t", 2);
				break;
			case '\r':
				buf_append(b, "\\r", 2);
				break;
			default:
				jb_printf(b, "\\u%04x", s[i]);
			}
			i++;
		} else if ((k = utf8_seq(s + i, n - i)) > 0) {
			buf_append(b, s + i, k);
			i += k;
		} else {
			buf_append(b, "\xef\xbf\xbd", 3);
			lossy = 1;
			i++;
		}
	}
	buf_append(b, "\"", 1);
	return lossy;
}

/*
 * ,"name":"value" (without the comma if ${first}), plus "name_b64":"..."
 * when the value is not UTF-8.
 */
static void
jb_member_bytes(struct buf *b, const char *name, const char *val, int first)
{
	char *b64;
	size_t n = strlen(val), blen = 4 * ((n + 2) / 3) + 1;

	jb_printf(b, "%s\"%s\":", first ? "" : ",", name);
	if (jb_str(b, val) == 0)
		return;
	if ((b64 = malloc(blen)) == NULL) {
		b->err = 1;
		return;
	}
	if (crypto_base64((const uint8_t *)val, n, b64, blen) < 0) {
		b->err = 1;
	} else {
		jb_printf(b, ",\"%s_b64\":\"", name);
		buf_puts(b, b64);
		buf_append(b, "\"", 1);
	}
	free(b64);
}

static void
jb_strv(struct buf *b, const char *const *v, size_t n)
{
	buf_append(b, "[", 1);
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			buf_append(b, ",", 1);
		(void)jb_str(b, v[i]);
	}
	buf_append(b, "]", 1);
}

/* RFC 3339 UTC, whole seconds: "2026-11-22T03:00:00Z". */
static void
fmt_time(int64_t ms, char *out, size_t len)
{
	struct tm tm;
	time_t t = (time_t)(ms / 1000);

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, len, "1970-01-01T00:00:00Z");
}

/* --- The writer ------------------------------------------------------- */

/* A chunk-table row: tar slice from on_member, sealed chunk from on_chunk. */
struct row {
	uint64_t tar_off;
	uint64_t offset;
	uint32_t tar_len;
	uint32_t plain_len;
	uint32_t sealed_len;
};

struct manifest_writer {
	char *job, *host, *spill_dir;
	char backup_id[FORMAT_BACKUP_ID_SIZE];
	int level, compress_level;
	int64_t start_ms;
	size_t slice_size;
	char **sources, **exclude;
	size_t nsources, nexclude;

	struct row *rows;
	size_t rows_cap;
	size_t nmembers, nchunks;

	/*
	 * The file index: entries separated by ",\n", without brackets.  In
	 * ${files} while it fits inline; after that ${files} stages text for
	 * the spill file, which holds the first ${spilled} bytes.
	 */
	struct buf files;
	struct buf entry; /* scratch for one entry */
	int spill_fd;
	uint64_t spilled;
	uint64_t nentries;
	bool omitted; /* index over the limit: dropped */

	char **warnings;
	size_t nwarnings;
	uint64_t warning_count;

	struct manifest_totals t;
	uint8_t *header; /* copy of t.data_header */
	bool finished;
	bool index_done;
	uint64_t index_json_len;
	uint8_t index_sha[CRYPTO_SHA256_LEN];
	uint64_t index_size;
	enum manifest_index_encoding index_encoding;

	int failed;
	struct ag_err err;
};

static void wfail(struct manifest_writer *, const char *, ...)
    __attribute__((format(printf, 2, 3)));

/* A sticky failure of a callback. */
static void
wfail(struct manifest_writer *w, const char *fmt, ...)
{
	va_list ap;

	if (w->failed)
		return;
	w->failed = 1;
	va_start(ap, fmt);
	vsnprintf(w->err.msg, sizeof(w->err.msg), fmt, ap);
	va_end(ap);
}

static char **
strv_dup(const char *const *v, size_t *ret_n)
{
	size_t n = 0;
	char **r;

	while (v != NULL && v[n] != NULL)
		n++;
	if ((r = calloc(n + 1, sizeof(*r))) == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if ((r[i] = strdup(v[i])) == NULL) {
			ag_strv_free(r);
			return NULL;
		}
	*ret_n = n;
	return r;
}

/**
 * manifest_writer_new(head, err):
 * Start the manifest of a backup described by ${head} (copied).  Return the
 * writer, or NULL with a message.
 */
struct manifest_writer *
manifest_writer_new(const struct manifest_head *head, struct ag_err *err)
{
	struct manifest_writer *w;

	if (head->job == NULL || head->backup_id == NULL ||
	    strlen(head->backup_id) != FORMAT_BACKUP_ID_LEN) {
		(void)ag_err_set(err, "manifest: job and backup id required");
		return NULL;
	}
	if ((w = calloc(1, sizeof(*w))) == NULL)
		goto oom;
	w->spill_fd = -1;
	memcpy(w->backup_id, head->backup_id, FORMAT_BACKUP_ID_SIZE);
	w->level = head->level;
	w->compress_level = head->compress_level;
	w->start_ms = head->start_ms;
	w->slice_size = head->slice_size;
	w->files.max = MANIFEST_INLINE_MAX;
	w->entry.max = ENTRY_MAX;
	if ((w->job = strdup(head->job)) == NULL ||
	    (w->host = strdup(head->host != NULL ? head->host : "")) == NULL ||
	    (head->spill_dir != NULL &&
		(w->spill_dir = strdup(head->spill_dir)) == NULL) ||
	    (w->sources = strv_dup(head->sources, &w->nsources)) == NULL ||
	    (w->exclude = strv_dup(head->exclude, &w->nexclude)) == NULL ||
	    (w->warnings = calloc(MANIFEST_WARNINGS_MAX + 1,
		 sizeof(*w->warnings))) == NULL)
		goto oom1;
	return w;

oom1:
	manifest_writer_free(w);
oom:
	(void)ag_err_set(err, "manifest: out of memory");
	return NULL;
}

static struct row *
row_get(struct manifest_writer *w, size_t i)
{
	struct row *nr;
	size_t ncap;

	if (i < w->rows_cap)
		return &w->rows[i];
	if (i >= MANIFEST_CHUNKS_MAX) {
		wfail(w, "manifest: more than %zu chunks (raise slice_size)",
		    MANIFEST_CHUNKS_MAX);
		return NULL;
	}
	ncap = w->rows_cap == 0 ? 256 : w->rows_cap * 2;
	if (ncap > MANIFEST_CHUNKS_MAX)
		ncap = MANIFEST_CHUNKS_MAX;
	if ((nr = realloc(w->rows, ncap * sizeof(*nr))) == NULL) {
		wfail(w, "manifest: out of memory");
		return NULL;
	}
	memset(nr + w->rows_cap, 0, (ncap - w->rows_cap) * sizeof(*nr));
	w->rows = nr;
	w->rows_cap = ncap;
	return &w->rows[i];
}

/**
 * manifest_writer_member(w, m):
 * Record gzip member ${m} (st_compress's on_member): the tar slice of chunk
 * ${m}->index.  Members must come in index order.
 */
void
manifest_writer_member(struct manifest_writer *w,
    const struct st_compress_member *m)
{
	struct row *r;

	if (w->failed)
		return;
	if (m->index != w->nmembers) {
		wfail(w,
		    "manifest: member %" PRIu64 " out of order "
		    "(expected %zu)",
		    m->index, w->nmembers);
		return;
	}
	if (m->tar_len > UINT32_MAX) {
		wfail(w, "manifest: member %" PRIu64 " too large", m->index);
		return;
	}
	if ((r = row_get(w, w->nmembers)) == NULL)
		return;
	r->tar_off = m->tar_off;
	r->tar_len = (uint32_t)m->tar_len;
	w->nmembers++;
}

/**
 * manifest_writer_chunk(w, c):
 * Record sealed chunk ${c} (st_encrypt's on_chunk), whose member must have
 * been recorded already.  Chunks must come in index order.
 */
void
manifest_writer_chunk(struct manifest_writer *w,
    const struct st_encrypt_chunk *c)
{
	struct row *r;

	if (w->failed)
		return;
	if (c->index != w->nchunks || c->index >= w->nmembers) {
		wfail(w,
		    "manifest: chunk %" PRIu64 " out of order or without "
		    "its member",
		    c->index);
		return;
	}
	if (c->sealed_len > UINT32_MAX || c->plain_len > UINT32_MAX) {
		wfail(w, "manifest: chunk %" PRIu64 " too large", c->index);
		return;
	}
	r = &w->rows[w->nchunks];
	r->offset = c->offset;
	r->plain_len = (uint32_t)c->plain_len;
	r->sealed_len = (uint32_t)c->sealed_len;
	w->nchunks++;
}

static const char *
entry_type(const struct st_archive_entry *e)
{
	if (e->hardlink)
		return "hardlink";
	switch (e->type & S_IFMT) {
	case S_IFREG:
		return "file";
	case S_IFDIR:
		return "dir";
	case S_IFLNK:
		return "symlink";
	case S_IFCHR:
		return "char";
	case S_IFBLK:
		return "block";
	case S_IFIFO:
		return "fifo";
	}
	return NULL;
}

/* Open the spill file and move the inline entries into it. */
static int
spill_open(struct manifest_writer *w)
{
	const char *dir = w->spill_dir;
	char path[4096];
	int fd;

	if (dir == NULL && (dir = getenv("TMPDIR")) == NULL)
		dir = "/tmp";
	fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0) {
		/* No O_TMPFILE here: a named file, unlinked at once. */
		if ((size_t)snprintf(path, sizeof(path),
			"%s/.vigil-index-"
			"XXXXXX",
			dir) >= sizeof(path)) {
			wfail(w, "manifest: spill folder name too long");
			return -1;
		}
		if ((fd = mkostemp(path, O_CLOEXEC)) < 0) {
			wfail(w, "manifest: file index spill file in %s: %s",
			    dir, strerror(errno));
			return -1;
		}
		(void)unlink(path);
	}
	w->spill_fd = fd;
	w->files.max = SIZE_MAX / 2;
	return 0;
}

static int
spill_flush(struct manifest_writer *w)
{
	size_t off = 0;
	ssize_t n;

	while (off < w->files.len) {
		n = write(w->spill_fd, w->files.p + off, w->files.len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			wfail(w,
			    "manifest: writing the file index spill "
			    "file: %s",
			    strerror(errno));
			return -1;
		}
		off += (size_t)n;
	}
	w->spilled += w->files.len;
	w->files.len = 0;
	return 0;
}

/* Drop an index too large for any reader. */
static void
omit_index(struct manifest_writer *w)
{
	char msg[160];

	w->omitted = true;
	if (w->spill_fd >= 0)
		close(w->spill_fd);
	w->spill_fd = -1;
	buf_free(&w->files);
	snprintf(msg, sizeof(msg),
	    "file index larger than %zu MiB: not "
	    "stored; the backup can only be restored whole",
	    FORMAT_MANIFEST_MAX >> 20);
	manifest_writer_warning(w, msg);
}

/**
 * manifest_writer_entry(w, e, user, group):
 * Record the archived entry ${e} (st_archive's on_entry) with its owner
 * names ${user} and ${group} (NULL or "" if unknown) in the file index.
 */
void
manifest_writer_entry(struct manifest_writer *w,
    const struct st_archive_entry *e, const char *user, const char *group)
{
	struct buf *b = &w->entry;
	const char *type;
	uint64_t total;
	size_t sep, plen;
	char *path;

	if (w->failed)
		return;
	w->nentries++;
	if (w->omitted)
		return;
	if ((type = entry_type(e)) == NULL || e->path == NULL) {
		wfail(w, "manifest: entry of unknown type 0%o", e->type);
		return;
	}
	/* Folders are "etc/", as in the tar: the index has "etc". */
	plen = strlen(e->path);
	while (plen > 1 && e->path[plen - 1] == '/')
		plen--;
	if ((path = strndup(e->path, plen)) == NULL) {
		wfail(w, "manifest: out of memory");
		return;
	}
	b->len = 0;
	b->err = 0;
	buf_append(b, "{", 1);
	jb_member_bytes(b, "path", path, 1);
	free(path);
	jb_printf(b,
	    ",\"type\":\"%s\",\"size\":%" PRIu64 ",\"mode\":%u,"
	    "\"mtime\":%" PRId64 ",\"uid\":%" PRId64 ",\"gid\":%" PRId64,
	    type, e->size, e->mode & 07777, e->mtime, e->uid, e->gid);
	if (user != NULL && *user != '\0')
		jb_member_bytes(b, "user", user, 0);
	if (group != NULL && *group != '\0')
		jb_member_bytes(b, "group", group, 0);
	if (e->link != NULL)
		jb_member_bytes(b, "target", e->link, 0);
	if (e->piece > 0 && e->split_of != NULL) {
		jb_member_bytes(b, "split_of", e->split_of, 0);
		jb_printf(b, ",\"piece\":%u", e->piece);
	}
	jb_printf(b, ",\"tar_offset\":%" PRIu64 ",\"tar_len\":%" PRIu64 "}",
	    e->offset, e->length);
	if (b->err) {
		wfail(w,
		    "manifest: index entry for a path of %zu bytes: too "
		    "long or out of memory",
		    strlen(e->path));
		return;
	}

	sep = w->nentries > 1 ? 2 : 0;
	total = w->spilled + w->files.len + sep + b->len;
	if (total + INDEX_WRAP > FORMAT_MANIFEST_MAX) {
		omit_index(w);
		return;
	}
	if (w->spill_fd < 0 && total + 2 > MANIFEST_INLINE_MAX &&
	    spill_open(w) != 0)
		return;
	if (sep > 0)
		buf_append(&w->files, ",\n", 2);
	buf_append(&w->files, b->p, b->len);
	if (w->files.err) {
		wfail(w, "manifest: file index: out of memory");
		return;
	}
	if (w->spill_fd >= 0 && w->files.len >= SPILL_FLUSH)
		(void)spill_flush(w);
}

/**
 * manifest_writer_warning(w, msg):
 * Count a warning and keep ${msg} if fewer than MANIFEST_WARNINGS_MAX are
 * kept.
 */
void
manifest_writer_warning(struct manifest_writer *w, const char *msg)
{
	w->warning_count++;
	if (w->nwarnings >= MANIFEST_WARNINGS_MAX)
		return;
	/* Out of memory here only loses the text; the count stays. */
	if ((w->warnings[w->nwarnings] = strndup(msg, 1024)) != NULL)
		w->nwarnings++;
}

/**
 * manifest_writer_failed(w, err):
 * Return 1 and copy the message into ${err} (may be NULL) if a callback
 * failed (out of memory, a limit, rows out of order, the spill file), else
 * 0.
 */
int
manifest_writer_failed(const struct manifest_writer *w, struct ag_err *err)
{
	if (!w->failed)
		return 0;
	(void)ag_err_set(err, "%s", w->err.msg);
	return 1;
}

/**
 * manifest_writer_finish(w, t, err):
 * Record the totals ${t} and check the chunk table against them (one row
 * per chunk, complete, contiguous, adding up to the tar and object sizes).
 * Return 0 or -1 with a message.
 */
int
manifest_writer_finish(struct manifest_writer *w,
    const struct manifest_totals *t, struct ag_err *err)
{
	uint64_t off, tar = 0;
	size_t i;

	if (w->failed)
		return ag_err_set(err, "%s", w->err.msg);
	if (t->data_header_len < HEADER_MIN ||
	    t->data_header_len > FORMAT_HEADER_MAX || t->data_header == NULL)
		return ag_err_set(err, "manifest: bad data header length %zu",
		    t->data_header_len);
	if (w->nchunks == 0 || w->nchunks != w->nmembers)
		return ag_err_set(err,
		    "manifest: %zu members but %zu sealed "
		    "chunks",
		    w->nmembers, w->nchunks);
	off = t->data_header_len;
	for (i = 0; i < w->nchunks; i++) {
		const struct row *r = &w->rows[i];

		if (r->offset != off || r->tar_off != tar ||
		    r->sealed_len !=
			(uint64_t)r->plain_len + FORMAT_CHUNK_OVERHEAD ||
		    r->plain_len > t->chunk_size || r->tar_len == 0 ||
		    r->tar_len > w->slice_size ||
		    (i + 1 < w->nchunks && r->tar_len != w->slice_size))
			return ag_err_set(err,
			    "manifest: chunk %zu does not "
			    "follow the previous one",
			    i);
		off += r->sealed_len;
		tar += r->tar_len;
	}
	if (off != t->data_size || tar != t->tar_size)
		return ag_err_set(err,
		    "manifest: the chunks add up to %" PRIu64
		    " sealed and %" PRIu64 " tar bytes, not %" PRIu64
		    " and %" PRIu64,
		    off, tar, t->data_size, t->tar_size);
	free(w->header);
	if ((w->header = malloc(t->data_header_len)) == NULL)
		return ag_err_set(err, "manifest: out of memory");
	memcpy(w->header, t->data_header, t->data_header_len);
	w->t = *t;
	w->t.data_header = w->header;
	w->finished = true;
	return 0;
}

/**
 * manifest_writer_index_separate(w):
 * Whether the file index goes to index.vgl (it exceeded
 * MANIFEST_INLINE_MAX).  Valid after manifest_writer_finish().
 */
bool
manifest_writer_index_separate(const struct manifest_writer *w)
{
	return !w->omitted && w->spill_fd >= 0;
}

struct ixout {
	int (*fn)(void *, const uint8_t *, size_t);
	void *cookie;
	struct crypto_hash *h;
	uint64_t len;
};

static int
ix_emit(struct ixout *o, const void *buf, size_t len)
{
	if (len == 0)
		return 0;
	if (crypto_hash_update(o->h, buf, len) != 0)
		return -1;
	o->len += len;
	return o->fn(o->cookie, buf, len);
}

/**
 * manifest_writer_index_read(w, fn, cookie, err):
 * Produce the JSON text of index.vgl, {"format": 1, "backup_id": ...,
 * "files": [...]}, passing it to ${fn} in pieces of at most 1 MiB, and
 * remember its length and sha256 for the manifest.  ${fn} returns 0 to go
 * on.  Return 0, or -1 with a message (${fn} failed: "index: stopped by
 * writer").
 */
int
manifest_writer_index_read(struct manifest_writer *w,
    int (*fn)(void *cookie, const uint8_t *buf, size_t len), void *cookie,
    struct ag_err *err)
{
	struct ixout o = { .fn = fn, .cookie = cookie };
	char head[128];
	uint8_t *buf = NULL;
	uint64_t off = 0;
	ssize_t n;
	int rc = -1;

	if (!w->finished || !manifest_writer_index_separate(w))
		return ag_err_set(err, "manifest: no separate index to write");
	if ((o.h = crypto_hash_sha256_new()) == NULL ||
	    (buf = malloc(PIECE)) == NULL) {
		(void)ag_err_set(err, "manifest: out of memory");
		goto out;
	}
	snprintf(head, sizeof(head),
	    "{\"format\":%d,\"backup_id\":\"%s\","
	    "\"files\":[\n",
	    MANIFEST_FORMAT, w->backup_id);
	if (ix_emit(&o, head, strlen(head)) != 0)
		goto stopped;
	while (off < w->spilled) {
		size_t want = w->spilled - off < PIECE ?
		    (size_t)(w->spilled - off) :
		    PIECE;

		n = pread(w->spill_fd, buf, want, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			(void)ag_err_set(err,
			    "manifest: reading the file index "
			    "spill file: %s",
			    n < 0 ? strerror(errno) : "unexpected end");
			goto out;
		}
		if (ix_emit(&o, buf, (size_t)n) != 0)
			goto stopped;
		off += (uint64_t)n;
	}
	for (size_t k = 0; k < w->files.len; k += PIECE)
		if (ix_emit(&o, w->files.p + k,
			w->files.len - k < PIECE ? w->files.len - k : PIECE) !=
		    0)
			goto stopped;
	if (ix_emit(&o, "\n]}\n", 4) != 0)
		goto stopped;
	if (crypto_hash_final(o.h, w->index_sha) != 0) {
		(void)ag_err_set(err, "manifest: sha256 failed");
		goto out;
	}
	w->index_json_len = o.len;
	w->index_done = true;
	rc = 0;
	goto out;

stopped:
	(void)ag_err_set(err, "index: stopped by writer");
out:
	crypto_hash_free(o.h);
	free(buf);
	return rc;
}

/**
 * manifest_writer_set_index(w, object_size, encoding):
 * index.vgl was stored with ${object_size} bytes, its plaintext being the
 * JSON of manifest_writer_index_read() in ${encoding}.
 */
void
manifest_writer_set_index(struct manifest_writer *w, uint64_t object_size,
    enum manifest_index_encoding encoding)
{
	w->index_size = object_size;
	w->index_encoding = encoding;
}

/**
 * manifest_sealed_size(len, header_len):
 * The size of a manifest or index object sealed with format_seal_buffer()
 * from ${len} bytes of JSON, whose header has ${header_len} bytes.
 */
uint64_t
manifest_sealed_size(size_t len, size_t header_len)
{
	uint64_t chunks = len == 0 ?
	    1 :
	    ((uint64_t)len + FORMAT_MANIFEST_CHUNK - 1) /
		FORMAT_MANIFEST_CHUNK;

	return (uint64_t)header_len + len + chunks * FORMAT_CHUNK_OVERHEAD;
}

/* Render the manifest with counts.bytes_stored = ${stored}. */
static int
render(struct manifest_writer *w, uint64_t stored, struct buf *b)
{
	const struct manifest_totals *t = &w->t;
	char ts[32], te[32], sha[2 * CRYPTO_SHA256_LEN + 1];
	char *hdr64;
	size_t hlen = 4 * ((t->data_header_len + 2) / 3) + 1;

	if ((hdr64 = malloc(hlen)) == NULL)
		return -1;
	if (crypto_base64(t->data_header, t->data_header_len, hdr64, hlen) <
	    0) {
		free(hdr64);
		return -1;
	}
	fmt_time(w->start_ms, ts, sizeof(ts));
	fmt_time(t->end_ms, te, sizeof(te));
	b->len = 0;
	b->err = 0;
	jb_printf(b, "{\"format\":%d,\n\"job\":", MANIFEST_FORMAT);
	(void)jb_str(b, w->job);
	buf_puts(b, ",\n\"host\":");
	(void)jb_str(b, w->host);
	jb_printf(b,
	    ",\n\"backup_id\":\"%s\",\n\"level\":%d,\n"
	    "\"start\":\"%s\",\n\"end\":\"%s\",\n\"sources\":",
	    w->backup_id, w->level, ts, te);
	jb_strv(b, (const char *const *)w->sources, w->nsources);
	buf_puts(b, ",\n\"exclude\":");
	jb_strv(b, (const char *const *)w->exclude, w->nexclude);
	jb_printf(b,
	    ",\n\"counts\":{\"files\":%" PRIu64 ",\"dirs\":%" PRIu64
	    ",\"symlinks\":%" PRIu64 ",\"hardlinks\":%" PRIu64
	    ",\"other\":%" PRIu64 ",",
	    t->files, t->dirs, t->symlinks, t->hardlinks, t->others);
	jb_printf(b,
	    "\"bytes_in\":%" PRIu64 ",\"bytes_stored\":%" PRIu64
	    ",\"warnings\":%" PRIu64 "},\n\"warnings\":",
	    t->bytes_in, stored, w->warning_count);
	jb_strv(b, (const char *const *)w->warnings, w->nwarnings);
	crypto_hex(t->tar_sha256, sizeof(t->tar_sha256), sha);
	jb_printf(b,
	    ",\n\"tar\":{\"format\":\"pax\",\"size\":%" PRIu64
	    ",\"sha256\":\"%s\"},\n",
	    t->tar_size, sha);
	jb_printf(b,
	    "\"compression\":{\"algorithm\":\"gzip\",\"level\":%d,"
	    "\"slice_size\":%zu},\n",
	    w->compress_level, w->slice_size);
	jb_printf(b,
	    "\"data\":{\"object\":\"%s\",\"size\":%" PRIu64 ","
	    "\"header_len\":%zu,\"header\":\"",
	    FORMAT_NAME_DATA, t->data_size, t->data_header_len);
	buf_puts(b, hdr64);
	jb_printf(b,
	    "\",\"chunk_size\":%" PRIu32 ",\"chunks\":%zu},\n"
	    "\"chunks\":[\n",
	    t->chunk_size, w->nchunks);
	free(hdr64);
	for (size_t i = 0; i < w->nchunks && !b->err; i++) {
		const struct row *r = &w->rows[i];

		jb_printf(b,
		    "%s{\"index\":%zu,\"offset\":%" PRIu64 ","
		    "\"sealed_len\":%" PRIu32 ",\"plain_len\":%" PRIu32 ","
		    "\"tar_offset\":%" PRIu64 ",\"tar_len\":%" PRIu32 "}",
		    i > 0 ? ",\n" : "", i, r->offset, r->sealed_len,
		    r->plain_len, r->tar_off, r->tar_len);
	}
	buf_puts(b, "\n],\n\"index\":");
	if (w->omitted) {
		jb_printf(b,
		    "{\"inline\":false,\"omitted\":true,\"entries\":%" PRIu64
		    "}\n}\n",
		    w->nentries);
	} else if (manifest_writer_index_separate(w)) {
		crypto_hex(w->index_sha, sizeof(w->index_sha), sha);
		jb_printf(b,
		    "{\"inline\":false,\"object\":\"%s\",\"size\":%" PRIu64
		    ",\"entries\":%" PRIu64 ",",
		    FORMAT_NAME_INDEX, w->index_size, w->nentries);
		if (w->index_encoding == MANIFEST_INDEX_GZIP)
			jb_printf(b, "\"encoding\":\"gzip\",");
		jb_printf(b,
		    "\"json_size\":%" PRIu64 ",\"sha256\":\"%s\"}"
		    "\n}\n",
		    w->index_json_len, sha);
	} else {
		buf_puts(b, "{\"inline\":true},\n\"files\":[\n");
		buf_append(b, w->files.p, w->files.len);
		buf_puts(b, "\n]}\n");
	}
	return b->err ? -1 : 0;
}

/**
 * manifest_writer_json(w, header_len, ret_json, ret_len, ret_stored, err):
 * Serialize the manifest into a malloc'd, NUL-terminated string stored in
 * ${ret_json} (length in ${ret_len}).  counts.bytes_stored is the sum of
 * data.vgl, index.vgl and of the manifest object itself once sealed with a
 * header of ${header_len} bytes (format_header_len() of the manifest); it
 * is also stored in ${ret_stored}.  Return 0 or -1 with a
 * message (the manifest would exceed FORMAT_MANIFEST_MAX).
 */
int
manifest_writer_json(struct manifest_writer *w, size_t header_len,
    char **ret_json, size_t *ret_len, uint64_t *ret_stored, struct ag_err *err)
{
	struct buf b = { .max = FORMAT_MANIFEST_MAX };
	uint64_t other, stored, next;
	int i;

	if (w->failed)
		return ag_err_set(err, "%s", w->err.msg);
	if (!w->finished)
		return ag_err_set(err, "manifest: not finished");
	if (manifest_writer_index_separate(w) && !w->index_done)
		return ag_err_set(err,
		    "manifest: the index object was not "
		    "written");
	other = w->t.data_size +
	    (manifest_writer_index_separate(w) ? w->index_size : 0);
	/*
	 * The manifest counts its own sealed size, which depends on the
	 * digits of that count: iterate to the fixed point (two or three
	 * rounds; the sequence only grows).
	 */
	stored = other;
	for (i = 0; i < 8; i++) {
		if (render(w, stored, &b) != 0) {
			buf_free(&b);
			return ag_err_set(err,
			    "manifest: larger than %zu MiB or "
			    "out of memory",
			    FORMAT_MANIFEST_MAX >> 20);
		}
		next = other + manifest_sealed_size(b.len, header_len);
		if (next == stored)
			break;
		stored = next;
	}
	*ret_json = b.p;
	*ret_len = b.len;
	*ret_stored = stored;
	return 0;
}

/* manifest_writer_free(w): free ${w} (and its spill file); NULL: no-op. */
void
manifest_writer_free(struct manifest_writer *w)
{
	if (w == NULL)
		return;
	if (w->spill_fd >= 0)
		close(w->spill_fd);
	free(w->job);
	free(w->host);
	free(w->spill_dir);
	ag_strv_free(w->sources);
	ag_strv_free(w->exclude);
	ag_strv_free(w->warnings);
	free(w->rows);
	buf_free(&w->files);
	buf_free(&w->entry);
	free(w->header);
	free(w);
}
