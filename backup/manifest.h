/*
 * manifest.h: the manifest of a backup (docs/BACKUP-FORMAT.md, section 6),
 * built while the backup runs and parsed again by list, verify and
 * restore.
 *
 * Writing: the job runner feeds a manifest_writer from the stage callbacks
 * (st_compress on_member and st_encrypt on_chunk give the two halves of a
 * chunk-table row, joined by index; st_archive on_entry gives a file-index
 * row; on_warning a warning), then finishes it with the totals and asks
 * for the JSON text.  The file index is kept as JSON text, not as a tree:
 * in memory up to MANIFEST_INLINE_MAX bytes, beyond that spilled to an
 * unlinked temporary file, and then written as its own object, index.vgl
 * (section 6.4): manifest_writer_index_read() produces the JSON, which the
 * job runner compresses into one gzip member per MANIFEST_INDEX_SLICE
 * bytes before sealing it.  Memory is bounded by the chunk table
 * (MANIFEST_CHUNKS_MAX rows of 40 bytes) and the inline index.
 * The writer's callbacks cannot fail: an error (out of memory, a limit, a
 * row out of order) is sticky and reported by manifest_writer_failed(),
 * which the runner polls to stop the archive.
 *
 * Strings are written as JSON strings.  File names need not be UTF-8:
 * a path, link target, user or group that is not valid UTF-8 is written
 * with U+FFFD in place of each bad byte and, beside it, the exact bytes in
 * base64 as "path_b64" (or "target_b64", ...); readers prefer the _b64 form
 * (an addition a format-1 reader may ignore).  Warnings and sources are
 * written lossy only.
 *
 * Reading: manifest_parse() turns the JSON (as opened by
 * format_manifest_open()) into a struct manifest with the chunk table and
 * the file index, checking everything it relies on: types, ranges, the
 * chunk table's continuity (offsets, tar slices, sizes adding up to the
 * object and tar sizes) and the file index's order and bounds.  A
 * malformed manifest is one clear error, never a crash.  When the index is
 * a separate object, manifest_load_index() adds it from its JSON (its
 * sha256 is checked against the manifest); the caller inflates index.vgl
 * first when index_encoding says gzip.  A reader that needs only a few
 * entries streams the index instead: manifest_index_reader parses the
 * JSON as it arrives (index_stream.h), hands each entry to a callback and
 * keeps nothing; manifest_add_files() then installs the entries kept.
 *
 * No I/O except the writer's spill file; no logging.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef VIGIL_BACKUP_MANIFEST_H
#define VIGIL_BACKUP_MANIFEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/ag.h"
#include "backup/format.h"

struct st_archive_entry;
struct st_compress_member;
struct st_encrypt_chunk;

#define MANIFEST_FORMAT 1
/* Warnings kept in the manifest; counts.warnings has the true count. */
#define MANIFEST_WARNINGS_MAX 100
/*
 * A serialized "files" array larger than this (about 1,200 entries) goes
 * to index.vgl, where it is compressed; the manifest, which listing reads
 * for every backup, stays small.
 */
#define MANIFEST_INLINE_MAX ((size_t)256 << 10)
/*
 * index.vgl holds one gzip member per slice of this many bytes of index
 * JSON, each member one chunk: the most one member inflates to.
 */
#define MANIFEST_INDEX_SLICE ((size_t)1 << 20)
/* Chunk-table rows, at most (6 TiB of tar with 4 MiB slices). */
#define MANIFEST_CHUNKS_MAX ((size_t)1500000)
/* Longest string kept from a manifest (paths, names, warnings). */
#define MANIFEST_STR_MAX 65536

/* What index.vgl's plaintext is (the manifest's index.encoding). */
enum manifest_index_encoding {
	MANIFEST_INDEX_JSON = 0, /* no "encoding": the JSON itself */
	MANIFEST_INDEX_GZIP	 /* "gzip": a gzip member per chunk */
};

enum manifest_ftype {
	MANIFEST_FILE = 1,
	MANIFEST_DIR,
	MANIFEST_SYMLINK,
	MANIFEST_HARDLINK,
	MANIFEST_CHAR,
	MANIFEST_BLOCK,
	MANIFEST_FIFO
};

/* "file", "dir", ... for ${t}; "?" if unknown. */
const char *manifest_ftype_name(enum manifest_ftype t);

/* --- Writing ---------------------------------------------------------- */

struct manifest_writer;

/* What is known when a backup starts. */
struct manifest_head {
	const char *job;
	const char *host;
	const char *backup_id;
	int level;		    /* 0: full */
	int64_t start_ms;	    /* wall clock */
	const char *const *sources; /* NULL-terminated, or NULL */
	const char *const *exclude; /* NULL-terminated, or NULL */
	int compress_level;
	size_t slice_size;
	/* Folder for the spilled file index; NULL: $TMPDIR or /tmp. */
	const char *spill_dir;
};

/* What is known when the data object is committed. */
struct manifest_totals {
	int64_t end_ms;
	uint64_t files, dirs, symlinks, hardlinks, others;
	uint64_t bytes_in; /* file data read */
	uint64_t tar_size;
	uint8_t tar_sha256[32];
	uint64_t data_size;	    /* data.vgl bytes */
	const uint8_t *data_header; /* data.vgl's header */
	size_t data_header_len;
	uint32_t chunk_size; /* data.vgl's C */
};

/**
 * manifest_writer_new(head, err):
 * Start the manifest of a backup described by ${head} (copied).  Return the
 * writer, or NULL with a message.
 */
struct manifest_writer *manifest_writer_new(const struct manifest_head *head,
    struct ag_err *err);

/**
 * manifest_writer_member(w, m):
 * Record gzip member ${m} (st_compress's on_member): the tar slice of chunk
 * ${m}->index.  Members must come in index order.
 */
void manifest_writer_member(struct manifest_writer *w,
    const struct st_compress_member *m);

/**
 * manifest_writer_chunk(w, c):
 * Record sealed chunk ${c} (st_encrypt's on_chunk), whose member must have
 * been recorded already.  Chunks must come in index order.
 */
void manifest_writer_chunk(struct manifest_writer *w,
    const struct st_encrypt_chunk *c);

/**
 * manifest_writer_entry(w, e, user, group):
 * Record the archived entry ${e} (st_archive's on_entry) with its owner
 * names ${user} and ${group} (NULL or "" if unknown) in the file index.
 */
void manifest_writer_entry(struct manifest_writer *w,
    const struct st_archive_entry *e, const char *user, const char *group);

/**
 * manifest_writer_warning(w, msg):
 * Count a warning and keep ${msg} if fewer than MANIFEST_WARNINGS_MAX are
 * kept.
 */
void manifest_writer_warning(struct manifest_writer *w, const char *msg);

/**
 * manifest_writer_failed(w, err):
 * Return 1 and copy the message into ${err} (may be NULL) if a callback
 * failed (out of memory, a limit, rows out of order, the spill file), else
 * 0.
 */
int manifest_writer_failed(const struct manifest_writer *w,
    struct ag_err *err);

/**
 * manifest_writer_finish(w, t, err):
 * Record the totals ${t} and check the chunk table against them (one row
 * per chunk, complete, contiguous, adding up to the tar and object sizes).
 * Return 0 or -1 with a message.
 */
int manifest_writer_finish(struct manifest_writer *w,
    const struct manifest_totals *t, struct ag_err *err);

/**
 * manifest_writer_index_separate(w):
 * Whether the file index goes to index.vgl (it exceeded
 * MANIFEST_INLINE_MAX).  Valid after manifest_writer_finish().
 */
bool manifest_writer_index_separate(const struct manifest_writer *w);

/**
 * manifest_writer_index_read(w, fn, cookie, err):
 * Produce the JSON text of index.vgl, {"format": 1, "backup_id": ...,
 * "files": [...]}, passing it to ${fn} in pieces of at most 1 MiB, and
 * remember its length and sha256 for the manifest.  ${fn} returns 0 to go
 * on.  Return 0, or -1 with a message (${fn} failed: "index: stopped by
 * writer").
 */
int manifest_writer_index_read(struct manifest_writer *w,
    int (*fn)(void *cookie, const uint8_t *buf, size_t len), void *cookie,
    struct ag_err *err);

/**
 * manifest_writer_set_index(w, object_size, encoding):
 * index.vgl was stored with ${object_size} bytes, its plaintext being the
 * JSON of manifest_writer_index_read() in ${encoding}.
 */
void manifest_writer_set_index(struct manifest_writer *w, uint64_t object_size,
    enum manifest_index_encoding encoding);

/**
 * manifest_sealed_size(len, header_len):
 * The size of a manifest or index object sealed with format_seal_buffer()
 * from ${len} bytes of JSON, whose header has ${header_len} bytes.
 */
uint64_t manifest_sealed_size(size_t len, size_t header_len);

/**
 * manifest_writer_json(w, header_len, ret_json, ret_len, ret_stored, err):
 * Serialize the manifest into a malloc'd, NUL-terminated string stored in
 * ${ret_json} (length in ${ret_len}).  counts.bytes_stored is the sum of
 * data.vgl, index.vgl and of the manifest object itself once sealed with a
 * header of ${header_len} bytes (format_header_len() of the manifest); it
 * is also stored in ${ret_stored}.  Return 0 or -1 with a
 * message (the manifest would exceed FORMAT_MANIFEST_MAX).
 */
int manifest_writer_json(struct manifest_writer *w, size_t header_len,
    char **ret_json, size_t *ret_len, uint64_t *ret_stored,
    struct ag_err *err);

/* manifest_writer_free(w): free ${w} (and its spill file); NULL: no-op. */
void manifest_writer_free(struct manifest_writer *w);

/* --- Reading ---------------------------------------------------------- */

/* One row of the chunk table (section 6.3). */
struct manifest_chunk {
	uint64_t index;
	uint64_t offset; /* of the sealed chunk in data.vgl */
	uint64_t sealed_len;
	uint64_t plain_len;  /* the gzip member */
	uint64_t tar_offset; /* the tar slice it inflates to */
	uint64_t tar_len;
};

/* One entry of the file index (section 6.2). */
struct manifest_file {
	char *path;	    /* as in the tar: raw bytes */
	char *target;	    /* symlink/hard link target, or NULL */
	char *user, *group; /* NULL if absent */
	char *split_of;	    /* a piece of command output: its name */
	unsigned piece;	    /* 1, 2, ... with split_of; else 0 */
	enum manifest_ftype type;
	unsigned mode; /* permission bits */
	uint64_t size;
	int64_t mtime;
	int64_t uid, gid;
	uint64_t tar_offset; /* of its first header block */
	uint64_t tar_len;    /* headers + data + padding */
};

/* A parsed manifest.  Read the fields; change nothing. */
struct manifest {
	int format;
	char *job;
	char *host;
	char backup_id[FORMAT_BACKUP_ID_SIZE];
	int level;
	int64_t start_ms, end_ms;
	char **sources; /* NULL-terminated */
	size_t nsources;
	char **exclude;
	size_t nexclude;
	bool has_counts; /* "counts" was present */
	struct {
		uint64_t files, dirs, symlinks, hardlinks, other;
		uint64_t bytes_in, bytes_stored, warnings;
	} counts;
	char **warnings; /* at most MANIFEST_WARNINGS_MAX */
	size_t nwarnings;
	uint64_t tar_size;
	uint8_t tar_sha256[32];
	int compress_level;
	uint64_t slice_size;
	uint64_t data_size; /* data.vgl bytes */
	size_t data_header_len;
	uint8_t *data_header; /* a copy of data.vgl's header */
	uint32_t chunk_size;
	struct manifest_chunk *chunks;
	size_t nchunks;
	/* The file index: inline, in index.vgl, or omitted (too large). */
	bool index_inline;
	bool index_omitted;
	uint64_t index_size; /* index.vgl bytes */
	uint64_t index_entries;
	uint8_t index_sha256[32]; /* of the index JSON */
	enum manifest_index_encoding index_encoding;
	uint64_t index_json_size; /* JSON bytes; 0: not stated */
	bool files_loaded;	  /* files[] is valid */
	/* files[] holds only some entries (manifest_add_files()). */
	bool files_subset;
	struct manifest_file *files; /* in tar order */
	size_t nfiles;
	const struct manifest_file **by_path; /* sorted by path */
	size_t nsplit;			      /* entries with split_of */
	/* Who signed manifest.vgl (set by catalog_load_manifest()). */
	bool is_signed;
	char signer_id[2 * FORMAT_KEY_ID_LEN + 1]; /* hex */
	char signer_pub[48]; /* base64 Ed25519 public key */
};

/**
 * manifest_parse(json, len, ret, err):
 * Parse and check the manifest JSON ${json} of ${len} bytes (at most
 * FORMAT_MANIFEST_MAX).  Return 0 with a new manifest in ${ret} (free with
 * manifest_free()), or -1 with a message such as "manifest: chunks[3]:
 * offset 1234 does not follow chunk 2 (expected 1200)".  If the index is
 * inline it is loaded (files_loaded); otherwise see manifest_load_index().
 */
int manifest_parse(const char *json, size_t len, struct manifest **ret,
    struct ag_err *err);

/**
 * manifest_load_index(m, json, len, err):
 * Load the file index of ${m} from the JSON of its index.vgl (${len}
 * bytes; inflated first if ${m}->index_encoding is gzip), checking its
 * length, sha256 and entry count against the manifest and its backup id.
 * Return 0 or -1 with a message.
 */
int manifest_load_index(struct manifest *m, const char *json, size_t len,
    struct ag_err *err);

struct manifest_index_reader;

/**
 * manifest_index_reader_new(m, on_file, cookie, err):
 * A reader of the file index of ${m} (in index.vgl) that calls
 * ${on_file}(${cookie}, f, i) for each entry ${f}, the ${i}th, in tar
 * order, parsed and checked as manifest_load_index() does.  ${on_file} may
 * move strings out of ${f} (leaving NULL); the rest is freed after it
 * returns.  It returns 0 to go on.  Return the reader, or NULL with a
 * message.  Memory: one entry of the JSON at a time.
 */
struct manifest_index_reader *manifest_index_reader_new(const struct manifest
							    *m,
    int (*on_file)(void *cookie, struct manifest_file *f, uint64_t i),
    void *cookie, struct ag_err *err);

/**
 * manifest_index_reader_feed(rd, buf, len, err):
 * Feed the next ${len} bytes of the index JSON (pieces of any size).
 * Return 0, or -1 with a message if the JSON exceeds its stated length or
 * ${on_file} failed (the caller's message).  Malformed JSON is reported by
 * manifest_index_reader_end(), after the hash.
 */
int manifest_index_reader_feed(struct manifest_index_reader *rd,
    const uint8_t *buf, size_t len, struct ag_err *err);

/**
 * manifest_index_reader_end(rd, err):
 * The JSON ended: check its length and sha256 against the manifest, then
 * that it was whole and well formed, named the manifest's backup and held
 * as many entries as the manifest says.  The entries handed on are to be
 * trusted only after this returned 0.  Return 0 or -1 with a message.
 */
int manifest_index_reader_end(struct manifest_index_reader *rd,
    struct ag_err *err);

/* manifest_index_reader_free(rd): free ${rd}; NULL is a no-op. */
void manifest_index_reader_free(struct manifest_index_reader *rd);

/**
 * manifest_add_files(m, files, n, err):
 * Add the ${n} entries ${files} (in tar order, as the index has them) to
 * the entries of ${m} if it holds a subset already (else they replace
 * its index), merged in tar order,
 * taking ownership of the array and its strings, also on failure; then
 * ${m} has its files loaded, with files_subset set.  Return 0 or -1 (out
 * of memory: ${m} then has no files loaded).
 */
int manifest_add_files(struct manifest *m, struct manifest_file *files,
    size_t n, struct ag_err *err);

/**
 * manifest_files_grow(v, n, cap):
 * Make room for one more entry after the ${n} in the array ${*v} of
 * ${*cap}, doubling it.  Return 0 or -1 (out of memory; unchanged).
 */
int manifest_files_grow(struct manifest_file **v, size_t n, size_t *cap);

/**
 * manifest_file_dup(dst, src):
 * Copy ${src} into ${dst} with strings of its own.  Return 0 or -1 (out of
 * memory; ${dst} is then cleared).
 */
int manifest_file_dup(struct manifest_file *dst,
    const struct manifest_file *src);

/**
 * manifest_file_clear(f):
 * Free the strings of ${f} and zero it.
 */
void manifest_file_clear(struct manifest_file *f);

/**
 * manifest_find(m, path):
 * The index entry whose path is ${path} (leading and trailing '/'
 * ignored), or NULL.  The index must be loaded.
 */
const struct manifest_file *manifest_find(const struct manifest *m,
    const char *path);

/**
 * manifest_select(m, path, ret_v, ret_n, err):
 * Every index entry that restoring ${path} needs: the entry ${path} itself,
 * everything under it if it is a folder, and the pieces of a split command
 * output named ${path}; in tar order.  Store a malloc'd array of pointers
 * into ${m} in ${ret_v} (the caller frees the array only) and its length
 * in ${ret_n}.  Return 0 (also when nothing matches: ${ret_n} is 0) or -1
 * (index not loaded, out of memory).
 */
int manifest_select(const struct manifest *m, const char *path,
    const struct manifest_file ***ret_v, size_t *ret_n, struct ag_err *err);

/**
 * manifest_chunk_span(m, tar_offset, len, ret_first, ret_last):
 * The chunks whose tar slices hold tar bytes [${tar_offset},
 * ${tar_offset} + ${len}) (${len} >= 1): store the first and last chunk's
 * position in ${ret_first} and ${ret_last}.  Return 0, or -1 if the range
 * is outside the tar.
 */
int manifest_chunk_span(const struct manifest *m, uint64_t tar_offset,
    uint64_t len, size_t *ret_first, size_t *ret_last);

/* manifest_free(m): free ${m}; NULL is a no-op. */
void manifest_free(struct manifest *m);

#endif
