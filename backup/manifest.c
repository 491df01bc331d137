/*
 * manifest.c: building and parsing backup manifests (see manifest.h).
 *
 * Writing is done with a small bounded text builder rather than a JSON
 * tree: the file index can hold millions of entries, which as text cost
 * about 200 bytes each and can be spilled to a file, while a tree would
 * cost several times that and could not.  Every string goes through one
 * escaper that also validates UTF-8 (see the header for what happens to
 * names that are not).  Parsing uses jansson; the parsed entries are
 * copied into flat structs and the tree is freed at once.
 */
#include <sys/stat.h>
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

#include <jansson.h>

#include "lib/ag.h"
#include "lib/buf.h"
#include "lib/jfield.h"
#include "lib/crypto/crypto.h"
#include "lib/crypto/crypto_hash.h"
#include "backup/format.h"
#include "backup/index_stream.h"
#include "backup/st_archive.h"
#include "backup/st_compress.h"
#include "backup/st_encrypt.h"

#include "backup/manifest.h"

#define ENTRY_MAX	((size_t)1 << 20)	/* one rendered index entry */
#define SPILL_FLUSH	((size_t)1 << 20)	/* staging before a spill write */
#define PIECE		((size_t)1 << 20)	/* index_read() pieces */
/* Room kept for the index object's JSON around its files array. */
#define INDEX_WRAP	256
#define HEADER_MIN	170			/* smallest object header */

static const char *const ftype_names[] = {
	[MANIFEST_FILE] = "file", [MANIFEST_DIR] = "dir",
	[MANIFEST_SYMLINK] = "symlink", [MANIFEST_HARDLINK] = "hardlink",
	[MANIFEST_CHAR] = "char", [MANIFEST_BLOCK] = "block",
	[MANIFEST_FIFO] = "fifo",
};

/**
 * manifest_ftype_name(t):
 * "file", "dir", ... for ${t}; "?" if unknown.
 */
const char *
manifest_ftype_name(enum manifest_ftype t)
{
	if ((unsigned)t >= ARRAY_SIZE(ftype_names) || ftype_names[t] == NULL)
		return "?";
	return ftype_names[t];
}

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
		    s[run] != '"' && s[run] != '\\'; run++)
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
	struct buf entry;		/* scratch for one entry */
	int spill_fd;
	uint64_t spilled;
	uint64_t nentries;
	bool omitted;			/* index over the limit: dropped */

	char **warnings;
	size_t nwarnings;
	uint64_t warning_count;

	struct manifest_totals t;
	uint8_t *header;		/* copy of t.data_header */
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

static void
strv_free(char **v)
{
	if (v == NULL)
		return;
	for (char **p = v; *p != NULL; p++)
		free(*p);
	free(v);
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
			strv_free(r);
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
		wfail(w, "manifest: member %" PRIu64 " out of order "
		    "(expected %zu)", m->index, w->nmembers);
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
		wfail(w, "manifest: chunk %" PRIu64 " out of order or without "
		    "its member", c->index);
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
		if ((size_t)snprintf(path, sizeof(path), "%s/.vigil-index-"
		    "XXXXXX", dir) >= sizeof(path)) {
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
			wfail(w, "manifest: writing the file index spill "
			    "file: %s", strerror(errno));
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
	snprintf(msg, sizeof(msg), "file index larger than %zu MiB: not "
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
	jb_printf(b, ",\"type\":\"%s\",\"size\":%" PRIu64 ",\"mode\":%u,"
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
		wfail(w, "manifest: index entry for a path of %zu bytes: too "
		    "long or out of memory", strlen(e->path));
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
		return ag_err_set(err, "manifest: %zu members but %zu sealed "
		    "chunks", w->nmembers, w->nchunks);
	off = t->data_header_len;
	for (i = 0; i < w->nchunks; i++) {
		const struct row *r = &w->rows[i];

		if (r->offset != off || r->tar_off != tar ||
		    r->sealed_len != (uint64_t)r->plain_len +
		    FORMAT_CHUNK_OVERHEAD || r->plain_len > t->chunk_size ||
		    r->tar_len == 0 || r->tar_len > w->slice_size ||
		    (i + 1 < w->nchunks && r->tar_len != w->slice_size))
			return ag_err_set(err, "manifest: chunk %zu does not "
			    "follow the previous one", i);
		off += r->sealed_len;
		tar += r->tar_len;
	}
	if (off != t->data_size || tar != t->tar_size)
		return ag_err_set(err, "manifest: the chunks add up to %" PRIu64
		    " sealed and %" PRIu64 " tar bytes, not %" PRIu64 " and %"
		    PRIu64, off, tar, t->data_size, t->tar_size);
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
	snprintf(head, sizeof(head), "{\"format\":%d,\"backup_id\":\"%s\","
	    "\"files\":[\n", MANIFEST_FORMAT, w->backup_id);
	if (ix_emit(&o, head, strlen(head)) != 0)
		goto stopped;
	while (off < w->spilled) {
		size_t want = w->spilled - off < PIECE ?
		    (size_t)(w->spilled - off) : PIECE;

		n = pread(w->spill_fd, buf, want, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			(void)ag_err_set(err, "manifest: reading the file index "
			    "spill file: %s", n < 0 ? strerror(errno) :
			    "unexpected end");
			goto out;
		}
		if (ix_emit(&o, buf, (size_t)n) != 0)
			goto stopped;
		off += (uint64_t)n;
	}
	for (size_t k = 0; k < w->files.len; k += PIECE)
		if (ix_emit(&o, w->files.p + k, w->files.len - k < PIECE ?
		    w->files.len - k : PIECE) != 0)
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
	uint64_t chunks = len == 0 ? 1 :
	    ((uint64_t)len + FORMAT_MANIFEST_CHUNK - 1) / FORMAT_MANIFEST_CHUNK;

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
	if (crypto_base64(t->data_header, t->data_header_len, hdr64,
	    hlen) < 0) {
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
	jb_printf(b, ",\n\"backup_id\":\"%s\",\n\"level\":%d,\n"
	    "\"start\":\"%s\",\n\"end\":\"%s\",\n\"sources\":", w->backup_id,
	    w->level, ts, te);
	jb_strv(b, (const char *const *)w->sources, w->nsources);
	buf_puts(b, ",\n\"exclude\":");
	jb_strv(b, (const char *const *)w->exclude, w->nexclude);
	jb_printf(b, ",\n\"counts\":{\"files\":%" PRIu64 ",\"dirs\":%" PRIu64
	    ",\"symlinks\":%" PRIu64 ",\"hardlinks\":%" PRIu64 ",\"other\":%"
	    PRIu64 ",", t->files, t->dirs, t->symlinks, t->hardlinks,
	    t->others);
	jb_printf(b, "\"bytes_in\":%" PRIu64 ",\"bytes_stored\":%" PRIu64
	    ",\"warnings\":%" PRIu64 "},\n\"warnings\":", t->bytes_in, stored,
	    w->warning_count);
	jb_strv(b, (const char *const *)w->warnings, w->nwarnings);
	crypto_hex(t->tar_sha256, sizeof(t->tar_sha256), sha);
	jb_printf(b, ",\n\"tar\":{\"format\":\"pax\",\"size\":%" PRIu64
	    ",\"sha256\":\"%s\"},\n", t->tar_size, sha);
	jb_printf(b, "\"compression\":{\"algorithm\":\"gzip\",\"level\":%d,"
	    "\"slice_size\":%zu},\n", w->compress_level, w->slice_size);
	jb_printf(b, "\"data\":{\"object\":\"%s\",\"size\":%" PRIu64 ","
	    "\"header_len\":%zu,\"header\":\"", FORMAT_NAME_DATA, t->data_size,
	    t->data_header_len);
	buf_puts(b, hdr64);
	jb_printf(b, "\",\"chunk_size\":%" PRIu32 ",\"chunks\":%zu},\n"
	    "\"chunks\":[\n", t->chunk_size, w->nchunks);
	free(hdr64);
	for (size_t i = 0; i < w->nchunks && !b->err; i++) {
		const struct row *r = &w->rows[i];

		jb_printf(b, "%s{\"index\":%zu,\"offset\":%" PRIu64 ","
		    "\"sealed_len\":%" PRIu32 ",\"plain_len\":%" PRIu32 ","
		    "\"tar_offset\":%" PRIu64 ",\"tar_len\":%" PRIu32 "}",
		    i > 0 ? ",\n" : "", i, r->offset, r->sealed_len,
		    r->plain_len, r->tar_off, r->tar_len);
	}
	buf_puts(b, "\n],\n\"index\":");
	if (w->omitted) {
		jb_printf(b, "{\"inline\":false,\"omitted\":true,\"entries\":%"
		    PRIu64 "}\n}\n", w->nentries);
	} else if (manifest_writer_index_separate(w)) {
		crypto_hex(w->index_sha, sizeof(w->index_sha), sha);
		jb_printf(b, "{\"inline\":false,\"object\":\"%s\",\"size\":%"
		    PRIu64 ",\"entries\":%" PRIu64 ",", FORMAT_NAME_INDEX,
		    w->index_size, w->nentries);
		if (w->index_encoding == MANIFEST_INDEX_GZIP)
			jb_printf(b, "\"encoding\":\"gzip\",");
		jb_printf(b, "\"json_size\":%" PRIu64 ",\"sha256\":\"%s\"}"
		    "\n}\n", w->index_json_len, sha);
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
    char **ret_json, size_t *ret_len, uint64_t *ret_stored,
    struct ag_err *err)
{
	struct buf b = { .max = FORMAT_MANIFEST_MAX };
	uint64_t other, stored, next;
	int i;

	if (w->failed)
		return ag_err_set(err, "%s", w->err.msg);
	if (!w->finished)
		return ag_err_set(err, "manifest: not finished");
	if (manifest_writer_index_separate(w) && !w->index_done)
		return ag_err_set(err, "manifest: the index object was not "
		    "written");
	other = w->t.data_size + (manifest_writer_index_separate(w) ?
	    w->index_size : 0);
	/*
	 * The manifest counts its own sealed size, which depends on the
	 * digits of that count: iterate to the fixed point (two or three
	 * rounds; the sequence only grows).
	 */
	stored = other;
	for (i = 0; i < 8; i++) {
		if (render(w, stored, &b) != 0) {
			buf_free(&b);
			return ag_err_set(err, "manifest: larger than %zu MiB or "
			    "out of memory", FORMAT_MANIFEST_MAX >> 20);
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
	strv_free(w->sources);
	strv_free(w->exclude);
	strv_free(w->warnings);
	free(w->rows);
	buf_free(&w->files);
	buf_free(&w->entry);
	free(w->header);
	free(w);
}

/* --- Parsing ---------------------------------------------------------- */

/* A parse error: "manifest: <where>: <what>". */
static int perr(struct ag_err *, const char *, const char *, ...)
    __attribute__((format(printf, 3, 4)));

static int
perr(struct ag_err *err, const char *where, const char *fmt, ...)
{
	char what[200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return ag_err_set(err, "manifest: %s: %s", where, what);
}

/* Member ${key} of ${where}: "manifest: <where>.<key>: <what>". */
#define MF_AT(where, err) \
	(&(const struct jfield_at){ .doc = "manifest", .path = (where), \
	    .err = (err) })
#define MF_REQ(required) ((required) ? JF_REQUIRED : 0)

static int
get_u64(const json_t *o, const char *key, bool required, uint64_t *ret,
    const char *where, struct ag_err *err)
{
	return jfield_u64(o, key, MF_REQ(required), ret, MF_AT(where, err));
}

static int
get_i64(const json_t *o, const char *key, bool required, int64_t *ret,
    const char *where, struct ag_err *err)
{
	return jfield_i64(o, key, MF_REQ(required), ret, MF_AT(where, err));
}

/*
 * A string member: NULL in ${ret} if absent and not required.  With
 * ${b64ok}, a member "<key>_b64" (exact bytes, base64) is preferred.
 */
static int
get_str(const json_t *o, const char *key, bool required, bool b64ok,
    char **ret, const char *where, struct ag_err *err)
{
	char k64[64], bad[80];
	json_t *v;
	size_t n;
	char *r;
	int dn;

	*ret = NULL;
	/* No printf here: the file index parses millions of members. */
	if (b64ok && (n = strlen(key)) + 5 <= sizeof(k64)) {
		memcpy(k64, key, n);
		memcpy(k64 + n, "_b64", 5);
	} else
		k64[0] = '\0';
	if (k64[0] != '\0' && (v = json_object_get(o, k64)) != NULL) {
		snprintf(bad, sizeof(bad), "bad %s", k64);
		if (!json_is_string(v) ||
		    (n = json_string_length(v)) > 2 * MANIFEST_STR_MAX)
			return jfield_err(MF_AT(where, err), key, bad);
		if ((r = malloc(n + 4)) == NULL)
			return jfield_err(MF_AT(where, err), key,
			    "out of memory");
		dn = crypto_unbase64(json_string_value(v), (uint8_t *)r, n + 3);
		if (dn <= 0 || (size_t)dn > MANIFEST_STR_MAX ||
		    memchr(r, '\0', (size_t)dn) != NULL) {
			free(r);
			return jfield_err(MF_AT(where, err), key, bad);
		}
		r[dn] = '\0';
		*ret = r;
		return 0;
	}
	return jfield_strdup(o, key, MF_REQ(required), MANIFEST_STR_MAX, ret,
	    MF_AT(where, err));
}

static int
get_obj(const json_t *o, const char *key, json_t **ret, struct ag_err *err)
{
	return jfield_obj(o, key, JF_REQUIRED, ret, MF_AT("", err));
}

static int
get_strv(const json_t *o, const char *key, size_t max, char ***ret,
    size_t *ret_n, struct ag_err *err)
{
	json_t *a = json_object_get(o, key), *v;
	size_t i, n;
	char **r;

	*ret = NULL;
	*ret_n = 0;
	if (a == NULL)
		n = 0;
	else if (!json_is_array(a))
		return perr(err, key, "must be a list of strings");
	else if ((n = json_array_size(a)) > max)
		return perr(err, key, "more than %zu entries", max);
	if ((r = calloc(n + 1, sizeof(*r))) == NULL)
		return perr(err, key, "out of memory");
	for (i = 0; i < n; i++) {
		v = json_array_get(a, i);
		if (!json_is_string(v) ||
		    json_string_length(v) > MANIFEST_STR_MAX) {
			strv_free(r);
			return perr(err, key, "entry %zu is not a string", i);
		}
		if ((r[i] = strdup(json_string_value(v))) == NULL) {
			strv_free(r);
			return perr(err, key, "out of memory");
		}
	}
	*ret = r;
	*ret_n = n;
	return 0;
}

static int
parse_time(const json_t *o, const char *key, int64_t *ret,
    struct ag_err *err)
{
	json_t *v = json_object_get(o, key);
	struct tm tm;
	const char *s, *p;

	if (v == NULL || !json_is_string(v))
		return perr(err, key, "missing or not a string");
	s = json_string_value(v);
	memset(&tm, 0, sizeof(tm));
	if ((p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm)) == NULL)
		return perr(err, key, "\"%.40s\" is not an RFC 3339 time", s);
	if (*p == '.')
		for (p++; *p >= '0' && *p <= '9'; p++)
			;
	if (strcmp(p, "Z") != 0)
		return perr(err, key, "\"%.40s\" is not a UTC time", s);
	*ret = (int64_t)timegm(&tm) * 1000;
	return 0;
}

static int
parse_hex32(const json_t *o, const char *key, uint8_t out[32],
    const char *where, struct ag_err *err)
{
	json_t *v = json_object_get(o, key);
	const char *s;
	char w[96];

	snprintf(w, sizeof(w), "%s.%s", where, key);
	if (v == NULL || !json_is_string(v) || json_string_length(v) != 64)
		return perr(err, w, "must be 64 hex digits");
	s = json_string_value(v);
	for (int i = 0; i < 32; i++) {
		unsigned hi, lo;
		char c1 = s[2 * i], c2 = s[2 * i + 1];

#define HEXV(c) ((c) >= '0' && (c) <= '9' ? (unsigned)((c) - '0') : \
	(c) >= 'a' && (c) <= 'f' ? (unsigned)((c) - 'a' + 10) : \
	(c) >= 'A' && (c) <= 'F' ? (unsigned)((c) - 'A' + 10) : 16u)
		hi = HEXV(c1);
		lo = HEXV(c2);
#undef HEXV
		if (hi > 15 || lo > 15)
			return perr(err, w, "must be 64 hex digits");
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

/* A stored path: relative, no empty, "." or ".." segment. */
static int
path_valid(const char *p)
{
	const char *s;
	size_t n;

	if (*p == '\0' || *p == '/')
		return 0;
	for (s = p;; s += n + 1) {
		n = strcspn(s, "/");
		if (n == 0 || (n == 1 && s[0] == '.') ||
		    (n == 2 && s[0] == '.' && s[1] == '.'))
			return 0;
		if (s[n] == '\0')
			return 1;
	}
}

/**
 * manifest_file_clear(f):
 * Free the strings of ${f} and zero it.
 */
void
manifest_file_clear(struct manifest_file *f)
{
	free(f->path);
	free(f->target);
	free(f->user);
	free(f->group);
	free(f->split_of);
	memset(f, 0, sizeof(*f));
}

static void
files_free(struct manifest *m)
{
	for (size_t i = 0; i < m->nfiles; i++)
		manifest_file_clear(&m->files[i]);
	free(m->files);
	free(m->by_path);
	m->files = NULL;
	m->by_path = NULL;
	m->nfiles = 0;
	m->nsplit = 0;
	m->files_loaded = false;
	m->files_subset = false;
}

static int
parse_file(const json_t *o, size_t i, uint64_t tar_size, uint64_t prev_end,
    struct manifest_file *f, struct ag_err *err)
{
	char where[48];
	char *type = NULL;
	uint64_t v;
	size_t n;
	int rc = -1;

	snprintf(where, sizeof(where), "files[%zu]", i);
	if (!json_is_object(o))
		return perr(err, where, "must be an object");
	if (get_str(o, "path", true, true, &f->path, where, err) != 0 ||
	    get_str(o, "type", true, false, &type, where, err) != 0 ||
	    get_str(o, "target", false, true, &f->target, where, err) != 0 ||
	    get_str(o, "user", false, true, &f->user, where, err) != 0 ||
	    get_str(o, "group", false, true, &f->group, where, err) != 0 ||
	    get_str(o, "split_of", false, true, &f->split_of, where,
	    err) != 0 ||
	    get_u64(o, "size", true, &f->size, where, err) != 0 ||
	    get_u64(o, "mode", true, &v, where, err) != 0)
		goto out;
	if (v > 07777) {
		perr(err, where, "mode %" PRIu64 " out of range", v);
		goto out;
	}
	f->mode = (unsigned)v;
	if (get_i64(o, "mtime", false, &f->mtime, where, err) != 0 ||
	    get_i64(o, "uid", false, &f->uid, where, err) != 0 ||
	    get_i64(o, "gid", false, &f->gid, where, err) != 0 ||
	    get_u64(o, "tar_offset", true, &f->tar_offset, where, err) != 0 ||
	    get_u64(o, "tar_len", true, &f->tar_len, where, err) != 0 ||
	    get_u64(o, "piece", false, &v, where, err) != 0)
		goto out;
	if (v > UINT32_MAX || (v > 0) != (f->split_of != NULL)) {
		perr(err, where, "piece and split_of go together");
		goto out;
	}
	f->piece = (unsigned)v;
	/* A folder may be written "etc/", as tar does. */
	for (n = strlen(f->path); n > 1 && f->path[n - 1] == '/'; n--)
		f->path[n - 1] = '\0';
	f->type = 0;
	for (unsigned t = MANIFEST_FILE; t <= MANIFEST_FIFO; t++)
		if (strcmp(type, ftype_names[t]) == 0)
			f->type = (enum manifest_ftype)t;
	if (f->type == 0) {
		perr(err, where, "unknown type \"%.20s\"", type);
		goto out;
	}
	if (!path_valid(f->path)) {
		perr(err, where, "path \"%.100s\" is not a relative path "
		    "inside the archive", f->path);
		goto out;
	}
	if ((f->type == MANIFEST_SYMLINK || f->type == MANIFEST_HARDLINK) &&
	    f->target == NULL) {
		perr(err, where, "a link without a target");
		goto out;
	}
	if (f->tar_len < 512 || f->tar_len % 512 != 0 ||
	    f->tar_offset % 512 != 0 || f->tar_offset < prev_end ||
	    f->tar_offset > tar_size || f->tar_len > tar_size - f->tar_offset) {
		perr(err, where, "tar range [%" PRIu64 ", +%" PRIu64 ") is "
		    "out of order or outside the tar (%" PRIu64 " bytes)",
		    f->tar_offset, f->tar_len, tar_size);
		goto out;
	}
	/* size may exceed tar_len: sparse files store only their data. */
	rc = 0;
out:
	free(type);
	return rc;
}

static int
by_path_cmp(const void *a, const void *b)
{
	const struct manifest_file *x = *(const struct manifest_file *const *)a;
	const struct manifest_file *y = *(const struct manifest_file *const *)b;
	int c = strcmp(x->path, y->path);

	if (c != 0)
		return c;
	return x->tar_offset < y->tar_offset ? -1 :
	    x->tar_offset > y->tar_offset;
}

/* Load a "files" array into ${m}. */
static int
parse_files(struct manifest *m, const json_t *a, struct ag_err *err)
{
	uint64_t prev_end = 0;
	size_t i, n;

	if (a == NULL || !json_is_array(a))
		return perr(err, "files", "missing or not a list");
	n = json_array_size(a);
	if ((m->files = calloc(n > 0 ? n : 1, sizeof(*m->files))) == NULL ||
	    (m->by_path = calloc(n > 0 ? n : 1, sizeof(*m->by_path))) == NULL)
		goto oom;
	for (i = 0; i < n; i++) {
		struct manifest_file *f = &m->files[i];

		if (parse_file(json_array_get(a, i), i, m->tar_size, prev_end,
		    f, err) != 0) {
			m->nfiles = i + 1;
			goto fail;
		}
		m->nfiles = i + 1;
		prev_end = f->tar_offset + f->tar_len;
		m->by_path[i] = f;
		if (f->split_of != NULL)
			m->nsplit++;
	}
	qsort(m->by_path, n, sizeof(*m->by_path), by_path_cmp);
	m->files_loaded = true;
	return 0;

oom:
	(void)perr(err, "files", "out of memory");
fail:
	files_free(m);
	return -1;
}

static int
parse_chunks(struct manifest *m, const json_t *a, struct ag_err *err)
{
	char where[48];
	uint64_t off, tar = 0, idx;
	size_t i, n;

	if (a == NULL || !json_is_array(a))
		return perr(err, "chunks", "missing or not a list");
	n = json_array_size(a);
	if (n == 0 || n != m->nchunks || n > MANIFEST_CHUNKS_MAX)
		return perr(err, "chunks", "%zu rows, but data.chunks is %zu",
		    n, m->nchunks);
	if ((m->chunks = calloc(n, sizeof(*m->chunks))) == NULL)
		return perr(err, "chunks", "out of memory");
	off = m->data_header_len;
	for (i = 0; i < n; i++) {
		struct manifest_chunk *c = &m->chunks[i];
		json_t *o = json_array_get(a, i);

		snprintf(where, sizeof(where), "chunks[%zu]", i);
		if (!json_is_object(o))
			return perr(err, where, "must be an object");
		if (get_u64(o, "index", true, &idx, where, err) != 0 ||
		    get_u64(o, "offset", true, &c->offset, where, err) != 0 ||
		    get_u64(o, "sealed_len", true, &c->sealed_len, where,
		    err) != 0 ||
		    get_u64(o, "plain_len", true, &c->plain_len, where,
		    err) != 0 ||
		    get_u64(o, "tar_offset", true, &c->tar_offset, where,
		    err) != 0 ||
		    get_u64(o, "tar_len", true, &c->tar_len, where, err) != 0)
			return -1;
		c->index = idx;
		if (idx != i)
			return perr(err, where, "index %" PRIu64 " out of order",
			    idx);
		if (c->offset != off)
			return perr(err, where, "offset %" PRIu64 " does not "
			    "follow the previous chunk (expected %" PRIu64 ")",
			    c->offset, off);
		if (c->plain_len == 0 || c->plain_len > m->chunk_size ||
		    c->sealed_len != c->plain_len + FORMAT_CHUNK_OVERHEAD)
			return perr(err, where, "lengths %" PRIu64 "/%" PRIu64
			    " do not fit the chunk size %" PRIu32,
			    c->plain_len, c->sealed_len, m->chunk_size);
		if (c->tar_offset != tar || c->tar_len == 0 ||
		    c->tar_len > m->slice_size ||
		    (i + 1 < n && c->tar_len != m->slice_size))
			return perr(err, where, "tar slice [%" PRIu64 ", +%"
			    PRIu64 ") does not fit slices of %" PRIu64,
			    c->tar_offset, c->tar_len, m->slice_size);
		off += c->sealed_len;
		tar += c->tar_len;
	}
	if (off != m->data_size)
		return perr(err, "chunks", "sealed chunks end at %" PRIu64
		    ", but data.size is %" PRIu64, off, m->data_size);
	if (tar != m->tar_size)
		return perr(err, "chunks", "tar slices add up to %" PRIu64
		    ", but tar.size is %" PRIu64, tar, m->tar_size);
	return 0;
}

static int
parse_index(struct manifest *m, const json_t *root, struct ag_err *err)
{
	json_t *ix, *v;
	char *obj = NULL;

	if (get_obj(root, "index", &ix, err) != 0)
		return -1;
	v = json_object_get(ix, "inline");
	if (!json_is_boolean(v))
		return perr(err, "index.inline", "missing or not a boolean");
	m->index_inline = json_is_true(v);
	if (m->index_inline)
		return parse_files(m, json_object_get(root, "files"), err);
	if (json_is_true(json_object_get(ix, "omitted"))) {
		m->index_omitted = true;
		return get_u64(ix, "entries", false, &m->index_entries, "index",
		    err);
	}
	if (get_str(ix, "object", true, false, &obj, "index", err) != 0)
		return -1;
	if (strcmp(obj, FORMAT_NAME_INDEX) != 0) {
		free(obj);
		return perr(err, "index.object", "must be \"%s\"",
		    FORMAT_NAME_INDEX);
	}
	free(obj);
	if (get_u64(ix, "size", true, &m->index_size, "index", err) != 0 ||
	    get_u64(ix, "entries", true, &m->index_entries, "index",
	    err) != 0 ||
	    get_u64(ix, "json_size", false, &m->index_json_size, "index",
	    err) != 0 ||
	    parse_hex32(ix, "sha256", m->index_sha256, "index", err) != 0)
		return -1;
	if (json_object_get(ix, "json_size") != NULL &&
	    (m->index_json_size == 0 ||
	    m->index_json_size > FORMAT_MANIFEST_MAX))
		return perr(err, "index.json_size", "%" PRIu64 " is out of "
		    "range", m->index_json_size);
	/* No encoding: the plain JSON of backups written before gzip. */
	if ((v = json_object_get(ix, "encoding")) == NULL)
		m->index_encoding = MANIFEST_INDEX_JSON;
	else if (json_is_string(v) &&
	    strcmp(json_string_value(v), "gzip") == 0)
		m->index_encoding = MANIFEST_INDEX_GZIP;
	else
		return perr(err, "index.encoding", "%s%.20s%s is not supported "
		    "(this vigil reads \"gzip\")", json_is_string(v) ? "\"" :
		    "", json_is_string(v) ? json_string_value(v) :
		    "a non-string", json_is_string(v) ? "\"" : "");
	return 0;
}

static int
parse_root(struct manifest *m, const json_t *root, struct ag_err *err)
{
	json_t *counts, *tar, *comp, *data;
	char *s = NULL;
	uint64_t v;
	int64_t iv;
	int dn;

	if (!json_is_object(root))
		return ag_err_set(err, "manifest: not a JSON object");
	if (get_i64(root, "format", true, &iv, "", err) != 0)
		return -1;
	if (iv != MANIFEST_FORMAT)
		return ag_err_set(err, "manifest: format %" PRId64 " is not "
		    "supported (this vigil reads format %d)", iv,
		    MANIFEST_FORMAT);
	m->format = (int)iv;
	if (get_str(root, "job", true, false, &m->job, "", err) != 0 ||
	    get_str(root, "host", false, false, &m->host, "", err) != 0 ||
	    get_str(root, "backup_id", true, false, &s, "", err) != 0)
		goto fail;
	if (format_backup_id_parse(s, NULL) != 0) {
		perr(err, "backup_id", "\"%.40s\" is not a backup id", s);
		goto fail;
	}
	memcpy(m->backup_id, s, FORMAT_BACKUP_ID_SIZE);
	free(s);
	s = NULL;
	if (get_i64(root, "level", false, &iv, "", err) != 0)
		return -1;
	if (iv < 0 || iv > 255)
		return perr(err, "level", "out of range");
	m->level = (int)iv;
	if (parse_time(root, "start", &m->start_ms, err) != 0 ||
	    parse_time(root, "end", &m->end_ms, err) != 0 ||
	    get_strv(root, "sources", 100000, &m->sources, &m->nsources,
	    err) != 0 ||
	    get_strv(root, "exclude", 100000, &m->exclude, &m->nexclude,
	    err) != 0 ||
	    get_strv(root, "warnings", MANIFEST_WARNINGS_MAX, &m->warnings,
	    &m->nwarnings, err) != 0)
		return -1;
	if ((counts = json_object_get(root, "counts")) != NULL) {
		if (!json_is_object(counts))
			return perr(err, "counts", "must be an object");
		m->has_counts = true;
		if (get_u64(counts, "files", false, &m->counts.files, "counts",
		    err) != 0 ||
		    get_u64(counts, "dirs", false, &m->counts.dirs, "counts",
		    err) != 0 ||
		    get_u64(counts, "symlinks", false, &m->counts.symlinks,
		    "counts", err) != 0 ||
		    get_u64(counts, "hardlinks", false, &m->counts.hardlinks,
		    "counts", err) != 0 ||
		    get_u64(counts, "other", false, &m->counts.other, "counts",
		    err) != 0 ||
		    get_u64(counts, "bytes_in", false, &m->counts.bytes_in,
		    "counts", err) != 0 ||
		    get_u64(counts, "bytes_stored", false,
		    &m->counts.bytes_stored, "counts", err) != 0 ||
		    get_u64(counts, "warnings", false, &m->counts.warnings,
		    "counts", err) != 0)
			return -1;
	}
	if (get_obj(root, "tar", &tar, err) != 0 ||
	    get_u64(tar, "size", true, &m->tar_size, "tar", err) != 0 ||
	    parse_hex32(tar, "sha256", m->tar_sha256, "tar", err) != 0 ||
	    get_obj(root, "compression", &comp, err) != 0 ||
	    get_u64(comp, "slice_size", true, &m->slice_size, "compression",
	    err) != 0 ||
	    get_i64(comp, "level", false, &iv, "compression", err) != 0)
		return -1;
	m->compress_level = (int)(iv >= 0 && iv <= 12 ? iv : 0);
	if (m->slice_size < ST_COMPRESS_SLICE_MIN ||
	    m->slice_size > ST_COMPRESS_SLICE_MAX)
		return perr(err, "compression.slice_size", "%" PRIu64 " is out "
		    "of range", m->slice_size);
	if (get_obj(root, "data", &data, err) != 0 ||
	    get_u64(data, "size", true, &m->data_size, "data", err) != 0 ||
	    get_u64(data, "header_len", true, &v, "data", err) != 0)
		return -1;
	if (v < HEADER_MIN || v > FORMAT_HEADER_MAX)
		return perr(err, "data.header_len", "%" PRIu64 " is out of "
		    "range", v);
	m->data_header_len = (size_t)v;
	if (get_str(data, "header", true, false, &s, "data", err) != 0)
		return -1;
	if ((m->data_header = malloc(FORMAT_HEADER_MAX + 4)) == NULL) {
		perr(err, "data.header", "out of memory");
		goto fail;
	}
	if (strlen(s) > 4 * (FORMAT_HEADER_MAX / 3 + 1) ||
	    (dn = crypto_unbase64(s, m->data_header, FORMAT_HEADER_MAX + 4)) <
	    0 || (size_t)dn != m->data_header_len) {
		perr(err, "data.header", "not the base64 of %zu bytes",
		    m->data_header_len);
		goto fail;
	}
	free(s);
	s = NULL;
	if (get_u64(data, "chunk_size", true, &v, "data", err) != 0)
		return -1;
	if (v == 0 || v > FORMAT_CHUNK_SIZE_MAX)
		return perr(err, "data.chunk_size", "out of range");
	m->chunk_size = (uint32_t)v;
	if (get_u64(data, "chunks", true, &v, "data", err) != 0)
		return -1;
	if (v == 0 || v > MANIFEST_CHUNKS_MAX)
		return perr(err, "data.chunks", "out of range");
	m->nchunks = (size_t)v;
	if (parse_chunks(m, json_object_get(root, "chunks"), err) != 0)
		return -1;
	return parse_index(m, root, err);

fail:
	free(s);
	return -1;
}

/**
 * manifest_parse(json, len, ret, err):
 * Parse and check the manifest JSON ${json} of ${len} bytes (at most
 * FORMAT_MANIFEST_MAX).  Return 0 with a new manifest in ${ret} (free with
 * manifest_free()), or -1 with a message such as "manifest: chunks[3]:
 * offset 1234 does not follow chunk 2 (expected 1200)".  If the index is
 * inline it is loaded (files_loaded); otherwise see manifest_load_index().
 */
int
manifest_parse(const char *json, size_t len, struct manifest **ret,
    struct ag_err *err)
{
	struct manifest *m;
	json_error_t jerr;
	json_t *root;

	if (len > FORMAT_MANIFEST_MAX)
		return ag_err_set(err, "manifest: larger than %zu MiB",
		    FORMAT_MANIFEST_MAX >> 20);
	root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL)
		return ag_err_set(err, "manifest: not valid JSON: line %d: %s",
		    jerr.line, jerr.text);
	if ((m = calloc(1, sizeof(*m))) == NULL) {
		json_decref(root);
		return ag_err_set(err, "manifest: out of memory");
	}
	if (parse_root(m, root, err) != 0) {
		json_decref(root);
		manifest_free(m);
		return -1;
	}
	json_decref(root);
	*ret = m;
	return 0;
}

/* --- The file index, streamed ----------------------------------------- */

/*
 * index.vgl's JSON goes through index_stream.c, which hands over the text
 * of each entry (at most ENTRY_MAX bytes, the writer's own bound) and of
 * the other root members; each entry is parsed alone with jansson and
 * checked by parse_file().  The whole text is hashed on the way.  A
 * malformed entry or structure stops the parsing but not the hashing:
 * the hash is compared first at the end, so that a tampered or foreign
 * index says so rather than where it stopped parsing.
 */
struct manifest_index_reader {
	const struct manifest *m;
	struct index_stream *js;
	struct crypto_hash *hash;
	int (*on_file)(void *, struct manifest_file *, uint64_t);
	void *cookie;
	uint64_t len;			/* JSON bytes fed */
	uint64_t max;			/* ... at most */
	uint64_t n;			/* entries parsed */
	uint64_t prev_end;		/* tar end of the last entry */
	bool id_seen;
	bool bad;			/* malformed: err says why */
	bool hard;			/* a callback failed: err says why */
	struct ag_err err;
};

static int
ir_member(void *cookie, const char *key, const char *text, size_t len)
{
	struct manifest_index_reader *rd = cookie;
	json_error_t jerr;
	json_t *v;
	int rc = 0;

	v = json_loadb(text, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES,
	    &jerr);
	if (v == NULL)
		return ag_err_set(&rd->err, "index: \"%.40s\": not valid "
		    "JSON: %s", key, jerr.text);
	if (strcmp(key, "backup_id") == 0) {
		if (!json_is_string(v) ||
		    strcmp(json_string_value(v), rd->m->backup_id) != 0)
			rc = ag_err_set(&rd->err, "index: not the index of "
			    "backup %s", rd->m->backup_id);
		rd->id_seen = true;
	}
	json_decref(v);
	return rc;
}

static int
ir_element(void *cookie, const char *text, size_t len)
{
	struct manifest_index_reader *rd = cookie;
	struct manifest_file f = { 0 };
	json_error_t jerr;
	json_t *o;
	int rc;

	if ((o = json_loadb(text, len, JSON_REJECT_DUPLICATES,
	    &jerr)) == NULL)
		return ag_err_set(&rd->err, "index: files[%" PRIu64 "]: not "
		    "valid JSON: %s", rd->n, jerr.text);
	rc = parse_file(o, (size_t)rd->n, rd->m->tar_size, rd->prev_end, &f,
	    &rd->err);
	json_decref(o);
	if (rc != 0) {
		manifest_file_clear(&f);
		return -1;
	}
	rd->prev_end = f.tar_offset + f.tar_len;
	rd->n++;
	rc = rd->on_file(rd->cookie, &f, rd->n - 1);
	manifest_file_clear(&f);
	if (rc != 0) {
		rd->hard = true;
		return -1;
	}
	return 0;
}

/**
 * manifest_index_reader_new(m, on_file, cookie, err):
 * A reader of the file index of ${m} (in index.vgl) that calls
 * ${on_file}(${cookie}, f, i) for each entry in tar order.  Return it, or
 * NULL with a message.
 */
struct manifest_index_reader *
manifest_index_reader_new(const struct manifest *m,
    int (*on_file)(void *cookie, struct manifest_file *f, uint64_t i),
    void *cookie, struct ag_err *err)
{
	struct manifest_index_reader *rd;
	struct index_stream_conf c = { .array_key = "files",
	    .element_max = ENTRY_MAX, .member_max = MANIFEST_STR_MAX,
	    .on_member = ir_member, .on_element = ir_element };

	if (m->index_inline || m->index_omitted) {
		(void)ag_err_set(err, "index: this backup has no index object");
		return NULL;
	}
	if ((rd = calloc(1, sizeof(*rd))) == NULL)
		goto oom;
	c.cookie = rd;
	rd->m = m;
	rd->on_file = on_file;
	rd->cookie = cookie;
	rd->max = m->index_json_size != 0 ? m->index_json_size :
	    FORMAT_MANIFEST_MAX;
	if ((rd->js = index_stream_new(&c)) == NULL ||
	    (rd->hash = crypto_hash_sha256_new()) == NULL)
		goto oom;
	return rd;
oom:
	manifest_index_reader_free(rd);
	(void)ag_err_set(err, "index: out of memory");
	return NULL;
}

/**
 * manifest_index_reader_feed(rd, buf, len, err):
 * Feed the next ${len} bytes of the index JSON.  Return 0, or -1 with a
 * message if the JSON exceeds its stated length or ${on_file} failed (its
 * message is the caller's).  Malformed JSON is reported by _end().
 */
int
manifest_index_reader_feed(struct manifest_index_reader *rd,
    const uint8_t *buf, size_t len, struct ag_err *err)
{
	struct ag_err e = { "" };

	if (rd->hard)
		return ag_err_set(err, "%s", rd->err.msg);
	if (len > rd->max - rd->len)
		return ag_err_set(err, "index: more than %" PRIu64 " bytes of "
		    "JSON%s", rd->max, rd->m->index_json_size != 0 ?
		    " (the manifest's json_size)" : "");
	if (crypto_hash_update(rd->hash, buf, len) != 0)
		return ag_err_set(err, "index: sha256 failed");
	rd->len += len;
	if (rd->bad)
		return 0;
	if (index_stream_feed(rd->js, buf, len, &e) != 0) {
		if (rd->hard)
			return ag_err_set(err, "%s", rd->err.msg);
		rd->bad = true;
		/* The callbacks wrote their own message. */
		if (rd->err.msg[0] == '\0')
			(void)ag_err_set(&rd->err, "index: %s", e.msg);
	}
	return 0;
}

/**
 * manifest_index_reader_end(rd, err):
 * The JSON ended: check its length and sha256 against the manifest, then
 * that it was whole and well formed, named the manifest's backup and held
 * as many entries as the manifest says.  Return 0 or -1 with a message.
 */
int
manifest_index_reader_end(struct manifest_index_reader *rd,
    struct ag_err *err)
{
	const struct manifest *m = rd->m;
	uint8_t sha[CRYPTO_SHA256_LEN];
	struct ag_err e = { "" };

	if (rd->hard)
		return ag_err_set(err, "%s", rd->err.msg);
	if (m->index_json_size != 0 && rd->len != m->index_json_size)
		return ag_err_set(err, "index: %" PRIu64 " bytes of JSON, the "
		    "manifest says %" PRIu64, rd->len, m->index_json_size);
	if (crypto_hash_final(rd->hash, sha) != 0)
		return ag_err_set(err, "index: sha256 failed");
	if (!crypto_memeq(sha, m->index_sha256, sizeof(sha)))
		return ag_err_set(err, "index: sha256 differs from the "
		    "manifest's (not the index of this backup)");
	if (rd->bad)
		return ag_err_set(err, "%s", rd->err.msg);
	if (index_stream_end(rd->js, &e) != 0)
		return ag_err_set(err, "index: %s", e.msg);
	if (!rd->id_seen)
		return ag_err_set(err, "index: not the index of backup %s",
		    m->backup_id);
	if (rd->n != m->index_entries)
		return ag_err_set(err, "index: %" PRIu64 " entries, the "
		    "manifest says %" PRIu64, rd->n, m->index_entries);
	return 0;
}

/* manifest_index_reader_free(rd): free ${rd}; NULL is a no-op. */
void
manifest_index_reader_free(struct manifest_index_reader *rd)
{
	if (rd == NULL)
		return;
	index_stream_free(rd->js);
	crypto_hash_free(rd->hash);
	free(rd);
}

/* manifest_load_index(): every entry, moved into a growing array. */
struct collect {
	struct manifest_file *v;
	size_t n, cap;
};

/**
 * manifest_files_grow(v, n, cap):
 * Make room for one more entry after the ${n} in the array ${*v} of
 * ${*cap}, doubling it.  Return 0 or -1 (out of memory; unchanged).
 */
int
manifest_files_grow(struct manifest_file **v, size_t n, size_t *cap)
{
	struct manifest_file *nv;
	size_t ncap;

	if (n < *cap)
		return 0;
	ncap = *cap < 16 ? 16 : *cap * 2;
	if ((nv = realloc(*v, ncap * sizeof(*nv))) == NULL)
		return -1;
	*v = nv;
	*cap = ncap;
	return 0;
}

static int
collect_file(void *cookie, struct manifest_file *f, uint64_t i)
{
	struct collect *c = cookie;

	(void)i;
	if (manifest_files_grow(&c->v, c->n, &c->cap) != 0)
		return -1;
	c->v[c->n++] = *f;
	memset(f, 0, sizeof(*f));
	return 0;
}

/**
 * manifest_load_index(m, json, len, err):
 * Load the file index of ${m} from the JSON of its index.vgl (${len}
 * bytes), checking its sha256 and entry count against the manifest and its
 * backup id.  Return 0 or -1 with a message.
 */
int
manifest_load_index(struct manifest *m, const char *json, size_t len,
    struct ag_err *err)
{
	struct manifest_index_reader *rd;
	struct collect c = { 0 };
	int rc = -1;

	if ((rd = manifest_index_reader_new(m, collect_file, &c, err)) == NULL)
		return -1;
	if (manifest_index_reader_feed(rd, (const uint8_t *)json, len,
	    err) != 0) {
		if (rd->hard)
			(void)ag_err_set(err, "index: out of memory");
		goto out;
	}
	if (manifest_index_reader_end(rd, err) != 0)
		goto out;
	files_free(m);
	rc = manifest_add_files(m, c.v, c.n, err);
	c.v = NULL;
	c.n = 0;
	if (rc == 0)
		m->files_subset = false;
out:
	for (size_t i = 0; i < c.n; i++)
		manifest_file_clear(&c.v[i]);
	free(c.v);
	manifest_index_reader_free(rd);
	return rc;
}

/**
 * manifest_add_files(m, files, n, err):
 * Add the ${n} entries ${files} (in tar order, as the index has them) to
 * the entries of ${m} if it holds a subset already (else they replace
 * its index), merged in tar order,
 * taking ownership of the array and its strings, also on failure; then
 * ${m} has its files loaded, with files_subset set.  Return 0 or -1 (out
 * of memory: ${m} then has no files loaded).
 */
int
manifest_add_files(struct manifest *m, struct manifest_file *files,
    size_t n, struct ag_err *err)
{
	struct manifest_file *v;
	size_t i = 0, j = 0, k = 0, total;

	if (!m->files_loaded || !m->files_subset)
		files_free(m);
	total = m->nfiles + n;
	free(m->by_path);
	m->by_path = NULL;
	if ((v = calloc(total > 0 ? total : 1, sizeof(*v))) == NULL ||
	    (m->by_path = calloc(total > 0 ? total : 1,
	    sizeof(*m->by_path))) == NULL) {
		free(v);
		for (i = 0; i < n; i++)
			manifest_file_clear(&files[i]);
		free(files);
		files_free(m);
		return ag_err_set(err, "index: out of memory");
	}
	/* The entries move: strings and all. */
	while (i < m->nfiles || j < n) {
		if (j >= n || (i < m->nfiles &&
		    m->files[i].tar_offset < files[j].tar_offset))
			v[k++] = m->files[i++];
		else
			v[k++] = files[j++];
	}
	free(m->files);
	free(files);
	m->files = v;
	m->nfiles = total;
	m->nsplit = 0;
	for (i = 0; i < total; i++) {
		m->by_path[i] = &v[i];
		if (v[i].split_of != NULL)
			m->nsplit++;
	}
	qsort(m->by_path, total, sizeof(*m->by_path), by_path_cmp);
	m->files_loaded = true;
	m->files_subset = true;
	return 0;
}

/**
 * manifest_file_dup(dst, src):
 * Copy ${src} into ${dst} with strings of its own.  Return 0 or -1 (out of
 * memory; ${dst} is then cleared).
 */
int
manifest_file_dup(struct manifest_file *dst, const struct manifest_file *src)
{
	*dst = *src;
	dst->path = dst->target = dst->user = dst->group = NULL;
	dst->split_of = NULL;
	if ((dst->path = strdup(src->path)) == NULL ||
	    (src->target != NULL &&
	    (dst->target = strdup(src->target)) == NULL) ||
	    (src->user != NULL && (dst->user = strdup(src->user)) == NULL) ||
	    (src->group != NULL &&
	    (dst->group = strdup(src->group)) == NULL) ||
	    (src->split_of != NULL &&
	    (dst->split_of = strdup(src->split_of)) == NULL)) {
		manifest_file_clear(dst);
		return -1;
	}
	return 0;
}

/* ${path} without leading and trailing '/': its start, length in ret_n. */
static const char *
norm_path(const char *path, size_t *ret_n)
{
	size_t n;

	while (*path == '/')
		path++;
	n = strlen(path);
	while (n > 0 && path[n - 1] == '/')
		n--;
	*ret_n = n;
	return path;
}

/* First position in by_path whose path is >= the ${n} bytes at ${p}. */
static size_t
lower_bound(const struct manifest *m, const char *p, size_t n)
{
	size_t lo = 0, hi = m->nfiles, mid;
	int c;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		c = strncmp(m->by_path[mid]->path, p, n);
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/**
 * manifest_find(m, path):
 * The index entry whose path is ${path} (leading and trailing '/'
 * ignored), or NULL.  The index must be loaded.
 */
const struct manifest_file *
manifest_find(const struct manifest *m, const char *path)
{
	const struct manifest_file *found = NULL;
	const char *p;
	size_t n, i;

	if (!m->files_loaded)
		return NULL;
	p = norm_path(path, &n);
	/* The last of equal paths is the one a tar extraction leaves. */
	for (i = lower_bound(m, p, n); i < m->nfiles &&
	    strncmp(m->by_path[i]->path, p, n) == 0; i++)
		if (m->by_path[i]->path[n] == '\0')
			found = m->by_path[i];
	return found;
}

static int
tar_order_cmp(const void *a, const void *b)
{
	const struct manifest_file *x = *(const struct manifest_file *const *)a;
	const struct manifest_file *y = *(const struct manifest_file *const *)b;

	return x->tar_offset < y->tar_offset ? -1 :
	    x->tar_offset > y->tar_offset;
}

/**
 * manifest_select(m, path, ret_v, ret_n, err):
 * Every index entry that restoring ${path} needs: the entry ${path} itself,
 * everything under it if it is a folder, and the pieces of a split command
 * output named ${path}; in tar order.  Store a malloc'd array of pointers
 * into ${m} in ${ret_v} (the caller frees the array only) and its length
 * in ${ret_n}.  Return 0 (also when nothing matches: ${ret_n} is 0) or -1
 * (index not loaded, out of memory).
 */
int
manifest_select(const struct manifest *m, const char *path,
    const struct manifest_file ***ret_v, size_t *ret_n, struct ag_err *err)
{
	const struct manifest_file **v;
	const char *p;
	size_t n, i, k = 0;

	if (!m->files_loaded)
		return ag_err_set(err, m->index_omitted ? "backup %s has no "
		    "file index (too many files); restore it whole" :
		    "backup %s: the file index is not loaded", m->backup_id);
	if ((v = calloc(m->nfiles > 0 ? m->nfiles : 1, sizeof(*v))) == NULL)
		return ag_err_set(err, "out of memory");
	p = norm_path(path, &n);
	if (n == 0) {
		for (i = 0; i < m->nfiles; i++)
			v[k++] = &m->files[i];
	} else {
		/* Paths with prefix p are contiguous in by_path. */
		for (i = lower_bound(m, p, n); i < m->nfiles &&
		    strncmp(m->by_path[i]->path, p, n) == 0; i++) {
			char c = m->by_path[i]->path[n];

			if (c == '\0' || c == '/')
				v[k++] = m->by_path[i];
		}
		for (i = 0; m->nsplit > 0 && i < m->nfiles; i++)
			if (m->files[i].split_of != NULL &&
			    strncmp(m->files[i].split_of, p, n) == 0 &&
			    m->files[i].split_of[n] == '\0')
				v[k++] = &m->files[i];
		qsort(v, k, sizeof(*v), tar_order_cmp);
	}
	*ret_v = v;
	*ret_n = k;
	return 0;
}

/**
 * manifest_chunk_span(m, tar_offset, len, ret_first, ret_last):
 * The chunks whose tar slices hold tar bytes [${tar_offset},
 * ${tar_offset} + ${len}) (${len} >= 1): store the first and last chunk's
 * position in ${ret_first} and ${ret_last}.  Return 0, or -1 if the range
 * is outside the tar.
 */
int
manifest_chunk_span(const struct manifest *m, uint64_t tar_offset,
    uint64_t len, size_t *ret_first, size_t *ret_last)
{
	/* parse_chunks() checked that chunk i holds [i * S, (i + 1) * S). */
	if (len == 0 || tar_offset >= m->tar_size ||
	    len > m->tar_size - tar_offset || m->slice_size == 0)
		return -1;
	*ret_first = (size_t)(tar_offset / m->slice_size);
	*ret_last = (size_t)((tar_offset + len - 1) / m->slice_size);
	return 0;
}

/* manifest_free(m): free ${m}; NULL is a no-op. */
void
manifest_free(struct manifest *m)
{
	if (m == NULL)
		return;
	files_free(m);
	free(m->job);
	free(m->host);
	strv_free(m->sources);
	strv_free(m->exclude);
	strv_free(m->warnings);
	free(m->data_header);
	free(m->chunks);
	free(m);
}
