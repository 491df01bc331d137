/*
 * manifest_read.c: parsing backup manifests and streaming their file
 * indexes, then finding files and chunk ranges in them (see manifest.h;
 * the writer is manifest_write.c).
 *
 * Parsing uses jansson; the parsed entries are copied into flat structs
 * and the tree is freed at once.  The file index (index.vgl) is streamed
 * entry by entry, never held as one tree.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <sys/types.h>

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "lib/ag.h"
#include "lib/jfield.h"
#include "lib/crypto/crypto.h"
#include "lib/crypto/crypto_hash.h"
#include "backup/format.h"
#include "backup/index_stream.h"
#include "backup/st_compress.h"

#include "backup/manifest.h"
#include "backup/manifest_internal.h"

static const char *const ftype_names[] = {
	[MANIFEST_FILE] = "file",
	[MANIFEST_DIR] = "dir",
	[MANIFEST_SYMLINK] = "symlink",
	[MANIFEST_HARDLINK] = "hardlink",
	[MANIFEST_CHAR] = "char",
	[MANIFEST_BLOCK] = "block",
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
	(&(const struct jfield_at){ .doc = "manifest", \
	    .path = (where), \
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
		dn = crypto_unbase64(json_string_value(v), (uint8_t *)r,
		    n + 3);
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
			ag_strv_free(r);
			return perr(err, key, "entry %zu is not a string", i);
		}
		if ((r[i] = strdup(json_string_value(v))) == NULL) {
			ag_strv_free(r);
			return perr(err, key, "out of memory");
		}
	}
	*ret = r;
	*ret_n = n;
	return 0;
}

static int
parse_time(const json_t *o, const char *key, int64_t *ret, struct ag_err *err)
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

#define HEXV(c) \
	((c) >= '0' && (c) <= '9'	 ? (unsigned)((c) - '0') : \
		(c) >= 'a' && (c) <= 'f' ? (unsigned)((c) - 'a' + 10) : \
		(c) >= 'A' && (c) <= 'F' ? (unsigned)((c) - 'A' + 10) : \
					   16u)
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
	    get_str(o, "split_of", false, true, &f->split_of, where, err) !=
		0 ||
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
		perr(err, where,
		    "path \"%.100s\" is not a relative path "
		    "inside the archive",
		    f->path);
		goto out;
	}
	if ((f->type == MANIFEST_SYMLINK || f->type == MANIFEST_HARDLINK) &&
	    f->target == NULL) {
		perr(err, where, "a link without a target");
		goto out;
	}
	if (f->tar_len < 512 || f->tar_len % 512 != 0 ||
	    f->tar_offset % 512 != 0 || f->tar_offset < prev_end ||
	    f->tar_offset > tar_size ||
	    f->tar_len > tar_size - f->tar_offset) {
		perr(err, where,
		    "tar range [%" PRIu64 ", +%" PRIu64 ") is "
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
		    get_u64(o, "plain_len", true, &c->plain_len, where, err) !=
			0 ||
		    get_u64(o, "tar_offset", true, &c->tar_offset, where,
			err) != 0 ||
		    get_u64(o, "tar_len", true, &c->tar_len, where, err) != 0)
			return -1;
		c->index = idx;
		if (idx != i)
			return perr(err, where,
			    "index %" PRIu64 " out of order", idx);
		if (c->offset != off)
			return perr(err, where,
			    "offset %" PRIu64 " does not "
			    "follow the previous chunk (expected %" PRIu64 ")",
			    c->offset, off);
		if (c->plain_len == 0 || c->plain_len > m->chunk_size ||
		    c->sealed_len != c->plain_len + FORMAT_CHUNK_OVERHEAD)
			return perr(err, where,
			    "lengths %" PRIu64 "/%" PRIu64
			    " do not fit the chunk size %" PRIu32,
			    c->plain_len, c->sealed_len, m->chunk_size);
		if (c->tar_offset != tar || c->tar_len == 0 ||
		    c->tar_len > m->slice_size ||
		    (i + 1 < n && c->tar_len != m->slice_size))
			return perr(err, where,
			    "tar slice [%" PRIu64 ", +%" PRIu64
			    ") does not fit slices of %" PRIu64,
			    c->tar_offset, c->tar_len, m->slice_size);
		off += c->sealed_len;
		tar += c->tar_len;
	}
	if (off != m->data_size)
		return perr(err, "chunks",
		    "sealed chunks end at %" PRIu64
		    ", but data.size is %" PRIu64,
		    off, m->data_size);
	if (tar != m->tar_size)
		return perr(err, "chunks",
		    "tar slices add up to %" PRIu64
		    ", but tar.size is %" PRIu64,
		    tar, m->tar_size);
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
		return get_u64(ix, "entries", false, &m->index_entries,
		    "index", err);
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
	    get_u64(ix, "entries", true, &m->index_entries, "index", err) !=
		0 ||
	    get_u64(ix, "json_size", false, &m->index_json_size, "index",
		err) != 0 ||
	    parse_hex32(ix, "sha256", m->index_sha256, "index", err) != 0)
		return -1;
	if (json_object_get(ix, "json_size") != NULL &&
	    (m->index_json_size == 0 ||
		m->index_json_size > FORMAT_MANIFEST_MAX))
		return perr(err, "index.json_size",
		    "%" PRIu64 " is out of "
		    "range",
		    m->index_json_size);
	/* No encoding: the plain JSON of backups written before gzip. */
	if ((v = json_object_get(ix, "encoding")) == NULL)
		m->index_encoding = MANIFEST_INDEX_JSON;
	else if (json_is_string(v) &&
	    strcmp(json_string_value(v), "gzip") == 0)
		m->index_encoding = MANIFEST_INDEX_GZIP;
	else
		return perr(err, "index.encoding",
		    "%s%.20s%s is not supported "
		    "(this vigil reads \"gzip\")",
		    json_is_string(v) ? "\"" : "",
		    json_is_string(v) ? json_string_value(v) : "a non-string",
		    json_is_string(v) ? "\"" : "");
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
		return ag_err_set(err,
		    "manifest: format %" PRId64 " is not "
		    "supported (this vigil reads format %d)",
		    iv, MANIFEST_FORMAT);
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
		return perr(err, "compression.slice_size",
		    "%" PRIu64 " is out "
		    "of range",
		    m->slice_size);
	if (get_obj(root, "data", &data, err) != 0 ||
	    get_u64(data, "size", true, &m->data_size, "data", err) != 0 ||
	    get_u64(data, "header_len", true, &v, "data", err) != 0)
		return -1;
	if (v < HEADER_MIN || v > FORMAT_HEADER_MAX)
		return perr(err, "data.header_len",
		    "%" PRIu64 " is out of "
		    "range",
		    v);
	m->data_header_len = (size_t)v;
	if (get_str(data, "header", true, false, &s, "data", err) != 0)
		return -1;
	if ((m->data_header = malloc(FORMAT_HEADER_MAX + 4)) == NULL) {
		perr(err, "data.header", "out of memory");
		goto fail;
	}
	if (strlen(s) > 4 * (FORMAT_HEADER_MAX / 3 + 1) ||
	    (dn = crypto_unbase64(s, m->data_header, FORMAT_HEADER_MAX + 4)) <
		0 ||
	    (size_t)dn != m->data_header_len) {
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
	uint64_t len;	   /* JSON bytes fed */
	uint64_t max;	   /* ... at most */
	uint64_t n;	   /* entries parsed */
	uint64_t prev_end; /* tar end of the last entry */
	bool id_seen;
	bool bad;  /* malformed: err says why */
	bool hard; /* a callback failed: err says why */
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
		return ag_err_set(&rd->err,
		    "index: \"%.40s\": not valid "
		    "JSON: %s",
		    key, jerr.text);
	if (strcmp(key, "backup_id") == 0) {
		if (!json_is_string(v) ||
		    strcmp(json_string_value(v), rd->m->backup_id) != 0)
			rc = ag_err_set(&rd->err,
			    "index: not the index of "
			    "backup %s",
			    rd->m->backup_id);
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

	if ((o = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr)) == NULL)
		return ag_err_set(&rd->err,
		    "index: files[%" PRIu64 "]: not "
		    "valid JSON: %s",
		    rd->n, jerr.text);
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
		.element_max = ENTRY_MAX,
		.member_max = MANIFEST_STR_MAX,
		.on_member = ir_member,
		.on_element = ir_element };

	if (m->index_inline || m->index_omitted) {
		(void)ag_err_set(err,
		    "index: this backup has no index object");
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
		return ag_err_set(err,
		    "index: more than %" PRIu64 " bytes of "
		    "JSON%s",
		    rd->max,
		    rd->m->index_json_size != 0 ?
			" (the manifest's json_size)" :
			"");
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
manifest_index_reader_end(struct manifest_index_reader *rd, struct ag_err *err)
{
	const struct manifest *m = rd->m;
	uint8_t sha[CRYPTO_SHA256_LEN];
	struct ag_err e = { "" };

	if (rd->hard)
		return ag_err_set(err, "%s", rd->err.msg);
	if (m->index_json_size != 0 && rd->len != m->index_json_size)
		return ag_err_set(err,
		    "index: %" PRIu64 " bytes of JSON, the "
		    "manifest says %" PRIu64,
		    rd->len, m->index_json_size);
	if (crypto_hash_final(rd->hash, sha) != 0)
		return ag_err_set(err, "index: sha256 failed");
	if (!crypto_memeq(sha, m->index_sha256, sizeof(sha)))
		return ag_err_set(err,
		    "index: sha256 differs from the "
		    "manifest's (not the index of this backup)");
	if (rd->bad)
		return ag_err_set(err, "%s", rd->err.msg);
	if (index_stream_end(rd->js, &e) != 0)
		return ag_err_set(err, "index: %s", e.msg);
	if (!rd->id_seen)
		return ag_err_set(err, "index: not the index of backup %s",
		    m->backup_id);
	if (rd->n != m->index_entries)
		return ag_err_set(err,
		    "index: %" PRIu64 " entries, the "
		    "manifest says %" PRIu64,
		    rd->n, m->index_entries);
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
	if (manifest_index_reader_feed(rd, (const uint8_t *)json, len, err) !=
	    0) {
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
manifest_add_files(struct manifest *m, struct manifest_file *files, size_t n,
    struct ag_err *err)
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
		if (j >= n ||
		    (i < m->nfiles &&
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
	for (i = lower_bound(m, p, n);
	     i < m->nfiles && strncmp(m->by_path[i]->path, p, n) == 0; i++)
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
		return ag_err_set(err,
		    m->index_omitted ?
			"backup %s has no "
			"file index (too many files); restore it whole" :
			"backup %s: the file index is not loaded",
		    m->backup_id);
	if ((v = calloc(m->nfiles > 0 ? m->nfiles : 1, sizeof(*v))) == NULL)
		return ag_err_set(err, "out of memory");
	p = norm_path(path, &n);
	if (n == 0) {
		for (i = 0; i < m->nfiles; i++)
			v[k++] = &m->files[i];
	} else {
		/* Paths with prefix p are contiguous in by_path. */
		for (i = lower_bound(m, p, n);
		     i < m->nfiles && strncmp(m->by_path[i]->path, p, n) == 0;
		     i++) {
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
	ag_strv_free(m->sources);
	ag_strv_free(m->exclude);
	ag_strv_free(m->warnings);
	free(m->data_header);
	free(m->chunks);
	free(m);
}
