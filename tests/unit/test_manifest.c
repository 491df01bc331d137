/*
 * test_manifest.c: backup/manifest_write.c and manifest_read.c on their
 * own, without a backup run.
 *
 * A writer is fed by hand, as the stage callbacks feed it: three chunks of
 * 64 KiB slices and a file index of every entry type (a folder, a file, a
 * symlink, a hard link, a device, a FIFO, a piece of split command output
 * that spans chunks, a name that is not UTF-8), more warnings than are
 * kept.  Its JSON parses back to exactly what went in.  Then every check
 * manifest_parse() makes is crossed once, each by one change to that good
 * JSON, and must give its own message: types, ranges, the chunk table's
 * continuity, the file index's order and bounds, the separate index's
 * description.  The writer's own refusals (rows out of order, totals that
 * do not add up) and the lookups (find, select, chunk span) close it.
 * test_job.c covers the same code through real backups (a spilled index,
 * index.vgl, counts checked by verify, mangled copies); this file covers
 * each rule by name.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <sys/stat.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "lib/ag.h"
#include "backup/format.h"
#include "backup/manifest.h"
#include "backup/st_archive.h"
#include "backup/st_compress.h"
#include "backup/st_encrypt.h"
#include "tests/unit/fakes/testutil.h"

#define SLICE 65536
#define HDR 170	    /* data.vgl header bytes */
#define CHUNK 70000 /* data.vgl's chunk size C */
#define NCHUNKS 3
#define TAR (2 * SLICE + 5120)
#define PLAIN(i) (1000 + (i)) /* gzip member i */
#define SEALED(i) (PLAIN(i) + FORMAT_CHUNK_OVERHEAD)
#define DATA (HDR + SEALED(0) + SEALED(1) + SEALED(2))
#define ID "2026-11-22T030000Z-3f9a"
#define START_MS 1795316400123LL
#define END_MS 1795316460456LL
#define NWARN (MANIFEST_WARNINGS_MAX + 3)

/* The file index fed to the writer, in tar order. */
static const struct {
	const char *path, *link, *user, *group, *split_of;
	unsigned type, mode, piece;
	bool hardlink;
	uint64_t size, off, len;
	enum manifest_ftype want;
} entries[] = {
	{ "etc/", NULL, "root", "root", NULL, S_IFDIR, 0755, 0, false, 0, 0,
	    512, MANIFEST_DIR },
	{ "etc/hosts", NULL, "root", "wheel", NULL, S_IFREG, 0644, 0, false,
	    100, 512, 1024, MANIFEST_FILE },
	{ "etc/link", "hosts", NULL, NULL, NULL, S_IFLNK, 0777, 0, false, 0,
	    1536, 512, MANIFEST_SYMLINK },
	{ "etc/hard", "etc/hosts", "root", "root", NULL, S_IFREG, 0644, 0,
	    true, 0, 2048, 512, MANIFEST_HARDLINK },
	{ "dev/null", NULL, "root", "root", NULL, S_IFCHR, 0666, 0, false, 0,
	    2560, 512, MANIFEST_CHAR },
	{ "run/fifo", NULL, NULL, NULL, NULL, S_IFIFO, 04600, 0, false, 0,
	    3072, 512, MANIFEST_FIFO },
	{ "cmd/out.txt.1", NULL, NULL, NULL, "cmd/out.txt", S_IFREG, 0600, 1,
	    false, 130560, 3584, 131072, MANIFEST_FILE },
	{ "z/l\xffst", NULL, "r\xe9ot", NULL, NULL, S_IFREG, 0640, 0, false,
	    1000, 134656, 1536, MANIFEST_FILE },
};
#define NENTRIES (sizeof(entries) / sizeof(entries[0]))

static const char *const sources[] = { "/etc", "/sr\xffv", NULL };
static const char *const excludes[] = { "*.tmp", NULL };

/* ${expr} must return 0; else fail with the message in e. */
#define OK(expr) \
	do { \
		if ((expr) != 0) \
			fail_msg("%s: %s", #expr, e.msg); \
	} while (0)

static void
feed_chunks(struct manifest_writer *w)
{
	uint64_t off = HDR;

	for (uint64_t i = 0; i < NCHUNKS; i++) {
		struct st_compress_member mb = { .index = i,
			.tar_off = i * SLICE,
			.tar_len = i + 1 < NCHUNKS ? SLICE : TAR - i * SLICE };
		struct st_encrypt_chunk ch = { .index = i,
			.offset = off,
			.plain_len = PLAIN(i),
			.sealed_len = SEALED(i) };

		manifest_writer_member(w, &mb);
		manifest_writer_chunk(w, &ch);
		off += SEALED(i);
	}
}

static struct manifest_writer *
new_writer(void)
{
	struct manifest_head h = { .job = "nightly",
		.host = "web\"1",
		.backup_id = ID,
		.level = 0,
		.start_ms = START_MS,
		.sources = sources,
		.exclude = excludes,
		.compress_level = 9,
		.slice_size = SLICE,
		.spill_dir = tu_tmpdir() };
	struct manifest_writer *w;
	struct ag_err e;

	if ((w = manifest_writer_new(&h, &e)) == NULL)
		fail_msg("manifest_writer_new: %s", e.msg);
	return w;
}

static uint8_t header[HDR];
static uint8_t tar_sha[32];

static struct manifest_totals
totals(void)
{
	struct manifest_totals t = { .end_ms = END_MS,
		.files = 4,
		.dirs = 1,
		.symlinks = 1,
		.hardlinks = 1,
		.others = 2,
		.bytes_in = 131660,
		.tar_size = TAR,
		.data_size = DATA,
		.data_header = header,
		.data_header_len = HDR,
		.chunk_size = CHUNK };

	for (size_t i = 0; i < sizeof(header); i++)
		header[i] = (uint8_t)(i * 7 + 1);
	for (size_t i = 0; i < sizeof(tar_sha); i++)
		tar_sha[i] = (uint8_t)(0xf0 ^ i);
	memcpy(t.tar_sha256, tar_sha, sizeof(tar_sha));
	return t;
}

/* The good manifest's JSON (malloc'd) and bytes_stored. */
static char *
good_json(size_t *ret_len, uint64_t *ret_stored)
{
	struct manifest_writer *w = new_writer();
	struct manifest_totals t = totals();
	struct st_archive_entry en;
	struct ag_err e;
	char *json, warn[32];

	feed_chunks(w);
	for (size_t i = 0; i < NENTRIES; i++) {
		memset(&en, 0, sizeof(en));
		en.path = entries[i].path;
		en.link = entries[i].link;
		en.hardlink = entries[i].hardlink;
		en.type = entries[i].type;
		en.mode = entries[i].mode;
		en.size = entries[i].size;
		en.offset = entries[i].off;
		en.length = entries[i].len;
		en.mtime = 1763780000 + (int64_t)i;
		en.uid = (int64_t)i;
		en.gid = 1000 + (int64_t)i;
		en.piece = entries[i].piece;
		en.split_of = entries[i].split_of;
		manifest_writer_entry(w, &en, entries[i].user,
		    entries[i].group);
	}
	for (int i = 0; i < NWARN; i++) {
		snprintf(warn, sizeof(warn), "warning %d", i);
		manifest_writer_warning(w, warn);
	}
	assert_int_equal(manifest_writer_failed(w, &e), 0);
	OK(manifest_writer_finish(w, &t, &e));
	assert_false(manifest_writer_index_separate(w));
	OK(manifest_writer_json(w, HDR, &json, ret_len, ret_stored, &e));
	manifest_writer_free(w);
	return json;
}

/* --- Round trip ------------------------------------------------------- */

static void
test_roundtrip(void **state)
{
	struct manifest *m;
	struct ag_err e;
	uint64_t stored;
	size_t len;
	char *json, warn[32];

	(void)state;
	json = good_json(&len, &stored);
	assert_int_equal(strlen(json), len);
	assert_int_equal(stored, DATA + manifest_sealed_size(len, HDR));
	OK(manifest_parse(json, len, &m, &e));

	assert_int_equal(m->format, MANIFEST_FORMAT);
	assert_string_equal(m->job, "nightly");
	assert_string_equal(m->host, "web\"1");
	assert_string_equal(m->backup_id, ID);
	assert_int_equal(m->level, 0);
	/* Times are kept to the second... */
	assert_int_equal(m->start_ms, START_MS / 1000 * 1000);
	assert_int_equal(m->end_ms, END_MS / 1000 * 1000);
	/* ... sources lossy (U+FFFD), in order. */
	assert_int_equal(m->nsources, 2);
	assert_string_equal(m->sources[0], "/etc");
	assert_string_equal(m->sources[1], "/sr\xef\xbf\xbdv");
	assert_null(m->sources[2]);
	assert_int_equal(m->nexclude, 1);
	assert_string_equal(m->exclude[0], "*.tmp");
	assert_true(m->has_counts);
	assert_int_equal(m->counts.files, 4);
	assert_int_equal(m->counts.dirs, 1);
	assert_int_equal(m->counts.symlinks, 1);
	assert_int_equal(m->counts.hardlinks, 1);
	assert_int_equal(m->counts.other, 2);
	assert_int_equal(m->counts.bytes_in, 131660);
	assert_int_equal(m->counts.bytes_stored, stored);
	/* Every warning counted, the first MANIFEST_WARNINGS_MAX kept. */
	assert_int_equal(m->counts.warnings, NWARN);
	assert_int_equal(m->nwarnings, MANIFEST_WARNINGS_MAX);
	for (size_t i = 0; i < m->nwarnings; i++) {
		snprintf(warn, sizeof(warn), "warning %zu", i);
		assert_string_equal(m->warnings[i], warn);
	}
	assert_int_equal(m->tar_size, TAR);
	assert_memory_equal(m->tar_sha256, tar_sha, 32);
	assert_int_equal(m->compress_level, 9);
	assert_int_equal(m->slice_size, SLICE);
	assert_int_equal(m->data_size, DATA);
	assert_int_equal(m->data_header_len, HDR);
	assert_memory_equal(m->data_header, header, HDR);
	assert_int_equal(m->chunk_size, CHUNK);

	assert_int_equal(m->nchunks, NCHUNKS);
	for (size_t i = 0, off = HDR; i < NCHUNKS; off += SEALED(i), i++) {
		const struct manifest_chunk *c = &m->chunks[i];

		assert_int_equal(c->index, i);
		assert_int_equal(c->offset, off);
		assert_int_equal(c->plain_len, PLAIN(i));
		assert_int_equal(c->sealed_len, SEALED(i));
		assert_int_equal(c->tar_offset, i * SLICE);
		assert_int_equal(c->tar_len,
		    i + 1 < NCHUNKS ? SLICE : TAR - i * SLICE);
	}

	assert_true(m->index_inline);
	assert_false(m->index_omitted);
	assert_true(m->files_loaded);
	assert_int_equal(m->nfiles, NENTRIES);
	assert_int_equal(m->nsplit, 1);
	for (size_t i = 0; i < NENTRIES; i++) {
		const struct manifest_file *f = &m->files[i];
		char path[64];

		/* "etc/" is indexed as "etc"; raw bytes survive (_b64). */
		snprintf(path, sizeof(path), "%s", entries[i].path);
		if (path[strlen(path) - 1] == '/')
			path[strlen(path) - 1] = '\0';
		assert_string_equal(f->path, path);
		assert_int_equal(f->type, entries[i].want);
		assert_int_equal(f->mode, entries[i].mode);
		assert_int_equal(f->size, entries[i].size);
		assert_int_equal(f->mtime, 1763780000 + (int64_t)i);
		assert_int_equal(f->uid, i);
		assert_int_equal(f->gid, 1000 + i);
		assert_int_equal(f->tar_offset, entries[i].off);
		assert_int_equal(f->tar_len, entries[i].len);
		assert_int_equal(f->piece, entries[i].piece);
		if (entries[i].link == NULL)
			assert_null(f->target);
		else
			assert_string_equal(f->target, entries[i].link);
		if (entries[i].user == NULL)
			assert_null(f->user);
		else
			assert_string_equal(f->user, entries[i].user);
		if (entries[i].group == NULL)
			assert_null(f->group);
		else
			assert_string_equal(f->group, entries[i].group);
		if (entries[i].split_of == NULL)
			assert_null(f->split_of);
		else
			assert_string_equal(f->split_of, entries[i].split_of);
		assert_ptr_equal(manifest_find(m, path), f);
	}
	/* by_path is sorted by path. */
	for (size_t i = 1; i < m->nfiles; i++)
		assert_true(strcmp(m->by_path[i - 1]->path,
				m->by_path[i]->path) < 0);
	manifest_free(m);
	free(json);
}

/* --- Refusals --------------------------------------------------------- */

/*
 * The value at ${path} ("chunks.1.offset": member, index, member) in
 * ${root}, made the JSON ${value}, or removed when ${value} is NULL.
 */
static void
mutate(json_t *root, const char *path, const char *value)
{
	char buf[128], *tok, *next, *save = NULL;
	json_t *cur = root, *v = NULL;

	snprintf(buf, sizeof(buf), "%s", path);
	if (value != NULL &&
	    (v = json_loads(value, JSON_DECODE_ANY, NULL)) == NULL)
		fail_msg("bad test value %s", value);
	tok = strtok_r(buf, ".", &save);
	while ((next = strtok_r(NULL, ".", &save)) != NULL) {
		cur = json_is_array(cur) ?
		    json_array_get(cur, strtoul(tok, NULL, 10)) :
		    json_object_get(cur, tok);
		if (cur == NULL)
			fail_msg("%s: no %s", path, tok);
		tok = next;
	}
	if (json_is_array(cur))
		assert_int_equal(json_array_set_new(cur,
				     strtoul(tok, NULL, 10), v),
		    0);
	else if (v != NULL)
		assert_int_equal(json_object_set_new(cur, tok, v), 0);
	else
		assert_int_equal(json_object_del(cur, tok), 0);
}

struct refusal {
	const char *path, *value;   /* value NULL: remove the member */
	const char *path2, *value2; /* a second change, or NULL */
	const char *msg;	    /* the whole message */
};

/* Apply each of ${v} to a copy of ${json} alone: parse must refuse it. */
static void
check_refusals(const char *json, size_t len, const struct refusal *v, size_t n)
{
	struct manifest *m;
	struct ag_err e;
	json_t *root;
	char *bad;

	for (size_t i = 0; i < n; i++) {
		assert_non_null(root = json_loadb(json, len, 0, NULL));
		mutate(root, v[i].path, v[i].value);
		if (v[i].path2 != NULL)
			mutate(root, v[i].path2, v[i].value2);
		assert_non_null(bad = json_dumps(root, JSON_COMPACT));
		memset(&e, 0, sizeof(e));
		if (manifest_parse(bad, strlen(bad), &m, &e) == 0)
			fail_msg("%s = %s: accepted", v[i].path,
			    v[i].value != NULL ? v[i].value : "(removed)");
		if (strcmp(e.msg, v[i].msg) != 0)
			fail_msg("%s = %s:\n got: %s\nwant: %s", v[i].path,
			    v[i].value != NULL ? v[i].value : "(removed)",
			    e.msg, v[i].msg);
		free(bad);
		json_decref(root);
	}
}

#define NONNEG(w) "manifest: " w ": must be a non-negative integer"
#define BADTAR(o, l) \
	"manifest: chunks[" o "]: tar slice " l " does not fit slices of 65536"
#define BADRANGE(i, r) \
	"manifest: files[" i "]: tar range " r \
	" is out of order or outside the tar (136192 bytes)"
#define NOTREL(i, p) \
	"manifest: files[" i "]: path \"" p "\" is not a " \
	"relative path inside the archive"

/* The header, counts, tar, compression and data members. */
static const struct refusal head_refusals[] = {
	{ "format", "2", NULL, NULL,
	    "manifest: format 2 is not supported (this vigil reads format 1)" },
	{ "format", "\"1\"", NULL, NULL,
	    "manifest: format: must be an integer" },
	{ "format", NULL, NULL, NULL, "manifest: format: missing" },
	{ "job", "5", NULL, NULL, "manifest: job: must be a string" },
	{ "job", NULL, NULL, NULL, "manifest: job: missing" },
	{ "host", "[]", NULL, NULL, "manifest: host: must be a string" },
	{ "backup_id", "\"2026-11-22\"", NULL, NULL,
	    "manifest: backup_id: \"2026-11-22\" is not a backup id" },
	{ "backup_id", NULL, NULL, NULL, "manifest: backup_id: missing" },
	{ "level", "256", NULL, NULL, "manifest: level: out of range" },
	{ "level", "-1", NULL, NULL, "manifest: level: out of range" },
	{ "level", "0.5", NULL, NULL, "manifest: level: must be an integer" },
	{ "start", "\"yesterday\"", NULL, NULL,
	    "manifest: start: \"yesterday\" is not an RFC 3339 time" },
	{ "end", "\"2026-11-22T03:01:00+01:00\"", NULL, NULL,
	    "manifest: end: \"2026-11-22T03:01:00+01:00\" is not a UTC time" },
	{ "start", "1795316400", NULL, NULL,
	    "manifest: start: missing or not a string" },
	{ "end", NULL, NULL, NULL, "manifest: end: missing or not a string" },
	{ "sources", "\"/etc\"", NULL, NULL,
	    "manifest: sources: must be a list of strings" },
	{ "exclude", "[\"a\", 1]", NULL, NULL,
	    "manifest: exclude: entry 1 is not a string" },
	{ "warnings", "{}", NULL, NULL,
	    "manifest: warnings: must be a list of strings" },
	{ "counts", "[]", NULL, NULL, "manifest: counts: must be an object" },
	{ "counts.files", "-1", NULL, NULL, NONNEG("counts.files") },
	{ "counts.bytes_stored", "1.5", NULL, NULL,
	    NONNEG("counts.bytes_stored") },
	{ "counts.warnings", "\"3\"", NULL, NULL, NONNEG("counts.warnings") },
	{ "tar", NULL, NULL, NULL, "manifest: tar: missing" },
	{ "tar", "\"pax\"", NULL, NULL, "manifest: tar: must be an object" },
	{ "tar.size", "\"136192\"", NULL, NULL, NONNEG("tar.size") },
	{ "tar.sha256", "\"f0f1\"", NULL, NULL,
	    "manifest: tar.sha256: must be 64 hex digits" },
	{ "tar.sha256",
	    "\"g0f1f2f3f4f5f6f7f8f9fafbfcfdfeffe0e1e2e3e4e5e6e7e8"
	    "e9eaebecedeeef\"",
	    NULL, NULL, "manifest: tar.sha256: must be 64 hex digits" },
	{ "compression", NULL, NULL, NULL, "manifest: compression: missing" },
	{ "compression.slice_size", "65535", NULL, NULL,
	    "manifest: compression.slice_size: 65535 is out of range" },
	{ "compression.slice_size", "33554433", NULL, NULL,
	    "manifest: compression.slice_size: 33554433 is out of range" },
	{ "compression.level", "\"best\"", NULL, NULL,
	    "manifest: compression.level: must be an integer" },
	{ "data", "[]", NULL, NULL, "manifest: data: must be an object" },
	{ "data.size", "-3233", NULL, NULL, NONNEG("data.size") },
	{ "data.header_len", "169", NULL, NULL,
	    "manifest: data.header_len: 169 is out of range" },
	{ "data.header_len", "1025", NULL, NULL,
	    "manifest: data.header_len: 1025 is out of range" },
	{ "data.header", "\"AAAA\"", NULL, NULL,
	    "manifest: data.header: not the base64 of 170 bytes" },
	{ "data.header", "\"!!!!\"", NULL, NULL,
	    "manifest: data.header: not the base64 of 170 bytes" },
	{ "data.header", NULL, NULL, NULL, "manifest: data.header: missing" },
	{ "data.chunk_size", "0", NULL, NULL,
	    "manifest: data.chunk_size: out of range" },
	{ "data.chunk_size", "67108865", NULL, NULL,
	    "manifest: data.chunk_size: out of range" },
	{ "data.chunks", "0", NULL, NULL,
	    "manifest: data.chunks: out of range" },
	{ "data.chunks", "1500001", NULL, NULL,
	    "manifest: data.chunks: out of range" },
};

/* The chunk table: types, order, continuity, sums. */
static const struct refusal chunk_refusals[] = {
	{ "data.chunks", "2", NULL, NULL,
	    "manifest: chunks: 3 rows, but data.chunks is 2" },
	{ "chunks", "{}", NULL, NULL,
	    "manifest: chunks: missing or not a list" },
	{ "chunks", NULL, NULL, NULL,
	    "manifest: chunks: missing or not a list" },
	{ "chunks.1", "5", NULL, NULL,
	    "manifest: chunks[1]: must be an object" },
	{ "chunks.0.offset", NULL, NULL, NULL,
	    "manifest: chunks[0].offset: missing" },
	{ "chunks.2.tar_len", "-5120", NULL, NULL,
	    NONNEG("chunks[2].tar_len") },
	{ "chunks.1.index", "2", NULL, NULL,
	    "manifest: chunks[1]: index 2 out of order" },
	{ "chunks.0.offset", "0", NULL, NULL,
	    "manifest: chunks[0]: offset 0 does not follow the previous "
	    "chunk (expected 170)" },
	{ "chunks.1.offset", "1191", NULL, NULL,
	    "manifest: chunks[1]: offset 1191 does not follow the previous "
	    "chunk (expected 1190)" },
	{ "chunks.1.plain_len", "0", "chunks.1.sealed_len", "20",
	    "manifest: chunks[1]: lengths 0/20 do not fit the chunk size "
	    "70000" },
	{ "chunks.1.sealed_len", "1022", NULL, NULL,
	    "manifest: chunks[1]: lengths 1001/1022 do not fit the chunk "
	    "size 70000" },
	{ "chunks.1.plain_len", "70001", "chunks.1.sealed_len", "70021",
	    "manifest: chunks[1]: lengths 70001/70021 do not fit the chunk "
	    "size 70000" },
	{ "chunks.1.tar_offset", "65537", NULL, NULL,
	    BADTAR("1", "[65537, +65536)") },
	{ "chunks.0.tar_len", "65535", NULL, NULL,
	    BADTAR("0", "[0, +65535)") },
	{ "chunks.2.tar_len", "65537", NULL, NULL,
	    BADTAR("2", "[131072, +65537)") },
	{ "chunks.2.tar_len", "0", NULL, NULL, BADTAR("2", "[131072, +0)") },
	{ "data.size", "3234", NULL, NULL,
	    "manifest: chunks: sealed chunks end at 3233, but data.size is "
	    "3234" },
	{ "tar.size", "136193", NULL, NULL,
	    "manifest: chunks: tar slices add up to 136192, but tar.size is "
	    "136193" },
};

/* The inline file index: types, names, order and bounds. */
static const struct refusal file_refusals[] = {
	{ "index", NULL, NULL, NULL, "manifest: index: missing" },
	{ "index.inline", "\"yes\"", NULL, NULL,
	    "manifest: index.inline: missing or not a boolean" },
	{ "files", "{}", NULL, NULL,
	    "manifest: files: missing or not a list" },
	{ "files", NULL, NULL, NULL,
	    "manifest: files: missing or not a list" },
	{ "files.1", "[]", NULL, NULL,
	    "manifest: files[1]: must be an object" },
	{ "files.1.path", NULL, NULL, NULL,
	    "manifest: files[1].path: missing" },
	{ "files.1.path", "7", NULL, NULL,
	    "manifest: files[1].path: must be a string" },
	{ "files.1.path", "\"/etc/passwd\"", NULL, NULL,
	    NOTREL("1", "/etc/passwd") },
	{ "files.1.path", "\"etc/../../x\"", NULL, NULL,
	    NOTREL("1", "etc/../../x") },
	{ "files.1.path", "\"etc//x\"", NULL, NULL, NOTREL("1", "etc//x") },
	{ "files.1.path", "\"./etc\"", NULL, NULL, NOTREL("1", "./etc") },
	{ "files.1.path", "\"\"", NULL, NULL, NOTREL("1", "") },
	{ "files.7.path_b64", "\"!!!\"", NULL, NULL,
	    "manifest: files[7].path: bad path_b64" },
	{ "files.7.path_b64", "\"L2V0Yy9wYXNzd2Q=\"", NULL, NULL,
	    NOTREL("7", "/etc/passwd") },
	{ "files.1.type", "\"socket\"", NULL, NULL,
	    "manifest: files[1]: unknown type \"socket\"" },
	{ "files.1.type", NULL, NULL, NULL,
	    "manifest: files[1].type: missing" },
	{ "files.1.mode", "4096", NULL, NULL,
	    "manifest: files[1]: mode 4096 out of range" },
	{ "files.1.mode", "-1", NULL, NULL, NONNEG("files[1].mode") },
	{ "files.1.size", "-1", NULL, NULL, NONNEG("files[1].size") },
	{ "files.1.size", NULL, NULL, NULL,
	    "manifest: files[1].size: missing" },
	{ "files.1.mtime", "1.5", NULL, NULL,
	    "manifest: files[1].mtime: must be an integer" },
	{ "files.1.uid", "\"root\"", NULL, NULL,
	    "manifest: files[1].uid: must be an integer" },
	{ "files.1.user", "5", NULL, NULL,
	    "manifest: files[1].user: must be a string" },
	{ "files.2.target", NULL, NULL, NULL,
	    "manifest: files[2]: a link without a target" },
	{ "files.3.target", NULL, NULL, NULL,
	    "manifest: files[3]: a link without a target" },
	{ "files.1.piece", "1", NULL, NULL,
	    "manifest: files[1]: piece and split_of go together" },
	{ "files.6.piece", NULL, NULL, NULL,
	    "manifest: files[6]: piece and split_of go together" },
	{ "files.6.piece", "4294967296", NULL, NULL,
	    "manifest: files[6]: piece and split_of go together" },
	{ "files.1.tar_offset", NULL, NULL, NULL,
	    "manifest: files[1].tar_offset: missing" },
	/* Overlapping the entry before it, or before it. */
	{ "files.1.tar_offset", "256", NULL, NULL,
	    BADRANGE("1", "[256, +1024)") },
	{ "files.2.tar_offset", "1024", NULL, NULL,
	    BADRANGE("2", "[1024, +512)") },
	{ "files.1.tar_offset", "0", NULL, NULL, BADRANGE("1", "[0, +1024)") },
	/* Not whole blocks. */
	{ "files.1.tar_offset", "600", NULL, NULL,
	    BADRANGE("1", "[600, +1024)") },
	{ "files.1.tar_len", "1000", NULL, NULL,
	    BADRANGE("1", "[512, +1000)") },
	{ "files.1.tar_len", "0", NULL, NULL, BADRANGE("1", "[512, +0)") },
	/* Past the end of the tar. */
	{ "files.7.tar_len", "2048", NULL, NULL,
	    BADRANGE("7", "[134656, +2048)") },
	{ "files.7.tar_offset", "136192", NULL, NULL,
	    BADRANGE("7", "[136192, +1536)") },
	{ "files.7.tar_offset", "9223372036854775296", NULL, NULL,
	    BADRANGE("7", "[9223372036854775296, +1536)") },
};

/* A file index in index.vgl: its description in the manifest. */
static const struct refusal index_refusals[] = {
	{ "index.object", "\"data.vgl\"", NULL, NULL,
	    "manifest: index.object: must be \"index.vgl\"" },
	{ "index.object", NULL, NULL, NULL,
	    "manifest: index.object: missing" },
	{ "index.size", NULL, NULL, NULL, "manifest: index.size: missing" },
	{ "index.entries", "-8", NULL, NULL, NONNEG("index.entries") },
	{ "index.sha256", "5", NULL, NULL,
	    "manifest: index.sha256: must be 64 hex digits" },
	{ "index.json_size", "0", NULL, NULL,
	    "manifest: index.json_size: 0 is out of range" },
	{ "index.json_size", "268435457", NULL, NULL,
	    "manifest: index.json_size: 268435457 is out of range" },
	{ "index.encoding", "\"zstd\"", NULL, NULL,
	    "manifest: index.encoding: \"zstd\" is not supported (this vigil "
	    "reads \"gzip\")" },
	{ "index.encoding", "null", NULL, NULL,
	    "manifest: index.encoding: a non-string is not supported (this "
	    "vigil reads \"gzip\")" },
};

#define NREF(v) (sizeof(v) / sizeof((v)[0]))

static void
test_refusals(void **state)
{
	struct manifest *m;
	struct ag_err e;
	json_t *root, *ix;
	uint64_t stored;
	size_t len;
	char *json, *sep, *text, dup[64];

	(void)state;
	json = good_json(&len, &stored);
	check_refusals(json, len, head_refusals, NREF(head_refusals));
	check_refusals(json, len, chunk_refusals, NREF(chunk_refusals));
	check_refusals(json, len, file_refusals, NREF(file_refusals));

	/* The same manifest with its index in index.vgl parses ... */
	assert_non_null(root = json_loadb(json, len, 0, NULL));
	json_object_del(root, "files");
	mutate(root, "index",
	    "{\"inline\": false, \"object\": \"index.vgl\", "
	    "\"size\": 700, \"entries\": 8, \"encoding\": \"gzip\", "
	    "\"json_size\": 2000, \"sha256\": \"000102030405060708090a0b0c0d"
	    "0e0f101112131415161718191a1b1c1d1e1f\"}");
	assert_non_null(sep = json_dumps(root, JSON_COMPACT));
	OK(manifest_parse(sep, strlen(sep), &m, &e));
	assert_false(m->index_inline);
	assert_false(m->files_loaded);
	assert_int_equal(m->index_size, 700);
	assert_int_equal(m->index_entries, 8);
	assert_int_equal(m->index_json_size, 2000);
	assert_int_equal(m->index_encoding, MANIFEST_INDEX_GZIP);
	assert_int_equal(m->index_sha256[31], 0x1f);
	manifest_free(m);
	/* ... and each change to its description is refused. */
	check_refusals(sep, strlen(sep), index_refusals, NREF(index_refusals));
	/* Omitted (too large to keep): nothing else is needed. */
	ix = json_object();
	json_object_set_new(ix, "inline", json_false());
	json_object_set_new(ix, "omitted", json_true());
	json_object_set_new(ix, "entries", json_integer(9000000));
	json_object_set_new(root, "index", ix);
	free(sep);
	assert_non_null(sep = json_dumps(root, JSON_COMPACT));
	OK(manifest_parse(sep, strlen(sep), &m, &e));
	assert_true(m->index_omitted);
	assert_int_equal(m->index_entries, 9000000);
	assert_false(m->files_loaded);
	manifest_free(m);
	free(sep);
	json_decref(root);

	/* Lists and strings beyond their limits. */
	{
		char *big;
		json_t *a;

		assert_non_null(root = json_loadb(json, len, 0, NULL));
		a = json_object_get(root, "warnings");
		while (json_array_size(a) <= MANIFEST_WARNINGS_MAX)
			json_array_append_new(a, json_string("w"));
		assert_non_null(text = json_dumps(root, JSON_COMPACT));
		assert_int_equal(manifest_parse(text, strlen(text), &m, &e),
		    -1);
		assert_string_equal(e.msg,
		    "manifest: warnings: more than 100 "
		    "entries");
		free(text);
		json_decref(root);
		assert_non_null(root = json_loadb(json, len, 0, NULL));
		assert_non_null(big = malloc(MANIFEST_STR_MAX + 2));
		memset(big, 'a', MANIFEST_STR_MAX + 1);
		big[MANIFEST_STR_MAX + 1] = '\0';
		json_object_set_new(json_array_get(json_object_get(root,
						       "files"),
					1),
		    "path", json_string(big));
		free(big);
		assert_non_null(text = json_dumps(root, JSON_COMPACT));
		assert_int_equal(manifest_parse(text, strlen(text), &m, &e),
		    -1);
		assert_string_equal(e.msg,
		    "manifest: files[1].path: too long "
		    "or holds a NUL byte");
		free(text);
		json_decref(root);
	}

	/* Not JSON, not an object, a member twice, too large. */
	assert_int_equal(manifest_parse(json, len - 10, &m, &e), -1);
	assert_non_null(strstr(e.msg, "manifest: not valid JSON: line "));
	assert_int_equal(manifest_parse("[1,2]", 5, &m, &e), -1);
	assert_string_equal(e.msg, "manifest: not a JSON object");
	snprintf(dup, sizeof(dup), "{\"format\":1,");
	assert_int_equal(strncmp(json, dup, strlen(dup)), 0);
	assert_non_null(text = malloc(len + 16));
	snprintf(text, len + 16, "{\"format\":1,\"format\":1,%s",
	    json + strlen(dup));
	assert_int_equal(manifest_parse(text, strlen(text), &m, &e), -1);
	assert_non_null(strstr(e.msg, "duplicate object key"));
	free(text);
	/* The size is checked before anything is read. */
	assert_int_equal(manifest_parse(json, FORMAT_MANIFEST_MAX + 1, &m, &e),
	    -1);
	assert_string_equal(e.msg, "manifest: larger than 256 MiB");
	free(json);
}

/* --- The writer's own checks ------------------------------------------ */

static void
test_writer_refusals(void **state)
{
	struct manifest_writer *w;
	struct manifest_totals t = totals();
	struct st_compress_member mb = { .index = 1, .tar_len = SLICE };
	struct st_encrypt_chunk ch = { .index = 0,
		.offset = HDR,
		.plain_len = PLAIN(0),
		.sealed_len = SEALED(0) };
	struct st_archive_entry en = { .path = "s",
		.type = S_IFSOCK,
		.length = 512 };
	struct ag_err e;
	uint64_t stored;
	size_t len;
	char *json;

	(void)state;
	/* A member out of order: sticky, and finish says so too. */
	w = new_writer();
	manifest_writer_member(w, &mb);
	assert_int_equal(manifest_writer_failed(w, &e), 1);
	assert_string_equal(e.msg,
	    "manifest: member 1 out of order "
	    "(expected 0)");
	feed_chunks(w);
	assert_int_equal(manifest_writer_finish(w, &t, &e), -1);
	assert_string_equal(e.msg,
	    "manifest: member 1 out of order "
	    "(expected 0)");
	manifest_writer_free(w);

	/* A sealed chunk before its member. */
	w = new_writer();
	manifest_writer_chunk(w, &ch);
	assert_int_equal(manifest_writer_failed(w, &e), 1);
	assert_string_equal(e.msg,
	    "manifest: chunk 0 out of order or without "
	    "its member");
	manifest_writer_free(w);

	/* An entry of a type the index has no name for (a socket). */
	w = new_writer();
	manifest_writer_entry(w, &en, NULL, NULL);
	assert_int_equal(manifest_writer_failed(w, &e), 1);
	assert_non_null(strstr(e.msg, "manifest: entry of unknown type 0"));
	manifest_writer_free(w);

	/* Not finished: no JSON. */
	w = new_writer();
	feed_chunks(w);
	assert_int_equal(manifest_writer_json(w, HDR, &json, &len, &stored,
			     &e),
	    -1);
	assert_string_equal(e.msg, "manifest: not finished");
	/* Totals that the chunk table does not add up to. */
	t.data_header_len = HDR - 1;
	assert_int_equal(manifest_writer_finish(w, &t, &e), -1);
	assert_string_equal(e.msg, "manifest: bad data header length 169");
	t = totals();
	t.tar_size = TAR + 1;
	assert_int_equal(manifest_writer_finish(w, &t, &e), -1);
	assert_string_equal(e.msg,
	    "manifest: the chunks add up to 3233 sealed "
	    "and 136192 tar bytes, not 3233 and 136193");
	t = totals();
	t.data_size = DATA - 1;
	assert_int_equal(manifest_writer_finish(w, &t, &e), -1);
	assert_string_equal(e.msg,
	    "manifest: the chunks add up to 3233 sealed "
	    "and 136192 tar bytes, not 3232 and 136192");
	/* A chunk larger than the chunk size. */
	t = totals();
	t.chunk_size = PLAIN(2) - 1;
	assert_int_equal(manifest_writer_finish(w, &t, &e), -1);
	assert_string_equal(e.msg,
	    "manifest: chunk 2 does not follow the "
	    "previous one");
	manifest_writer_free(w);

	/* A member whose chunk never came. */
	w = new_writer();
	feed_chunks(w);
	mb.index = NCHUNKS;
	manifest_writer_member(w, &mb);
	t = totals();
	assert_int_equal(manifest_writer_finish(w, &t, &e), -1);
	assert_string_equal(e.msg, "manifest: 4 members but 3 sealed chunks");
	manifest_writer_free(w);

	/* A gap in the sealed object. */
	w = new_writer();
	mb = (struct st_compress_member){ .index = 0, .tar_len = TAR };
	ch.offset = HDR + 1;
	t = totals();
	t.tar_size = TAR;
	manifest_writer_member(w, &mb);
	manifest_writer_chunk(w, &ch);
	assert_int_equal(manifest_writer_finish(w, &t, &e), -1);
	assert_string_equal(e.msg,
	    "manifest: chunk 0 does not follow the "
	    "previous one");
	manifest_writer_free(w);
}

/* --- Lookups ---------------------------------------------------------- */

static void
test_lookups(void **state)
{
	const struct manifest_file **sel;
	struct manifest *m;
	struct ag_err e;
	uint64_t stored;
	size_t len, nsel, first, last;
	char *json;

	(void)state;
	json = good_json(&len, &stored);
	OK(manifest_parse(json, len, &m, &e));

	/* Leading and trailing slashes do not matter; prefixes are not hits. */
	assert_ptr_equal(manifest_find(m, "/etc/hosts/"), &m->files[1]);
	assert_ptr_equal(manifest_find(m, "etc"), &m->files[0]);
	assert_null(manifest_find(m, "etc/host"));
	assert_null(manifest_find(m, "etc/hosts/x"));
	assert_null(manifest_find(m, "cmd/out.txt"));

	/* A folder brings what is under it, in tar order ... */
	OK(manifest_select(m, "/etc", &sel, &nsel, &e));
	assert_int_equal(nsel, 4);
	for (size_t i = 0; i < nsel; i++)
		assert_ptr_equal(sel[i], &m->files[i]);
	free(sel);
	/* ... "et" is not "etc" ... */
	OK(manifest_select(m, "et", &sel, &nsel, &e));
	assert_int_equal(nsel, 0);
	free(sel);
	/* ... and split command output is found by its own name. */
	OK(manifest_select(m, "cmd/out.txt", &sel, &nsel, &e));
	assert_int_equal(nsel, 1);
	assert_ptr_equal(sel[0], &m->files[6]);
	free(sel);

	/* Chunk spans: inside one slice, across, the end, outside. */
	OK(manifest_chunk_span(m, 0, 1, &first, &last));
	assert_int_equal(first, 0);
	assert_int_equal(last, 0);
	OK(manifest_chunk_span(m, SLICE - 1, 2, &first, &last));
	assert_int_equal(first, 0);
	assert_int_equal(last, 1);
	OK(manifest_chunk_span(m, 3584, 131072, &first, &last));
	assert_int_equal(first, 0);
	assert_int_equal(last, 2);
	OK(manifest_chunk_span(m, TAR - 1, 1, &first, &last));
	assert_int_equal(first, 2);
	assert_int_equal(last, 2);
	assert_int_equal(manifest_chunk_span(m, TAR, 1, &first, &last), -1);
	assert_int_equal(manifest_chunk_span(m, 0, TAR + 1, &first, &last),
	    -1);
	assert_int_equal(manifest_chunk_span(m, UINT64_MAX - 1, 4, &first,
			     &last),
	    -1);
	manifest_free(m);
	free(json);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_writer_refusals),
		cmocka_unit_test(test_lookups),
	};

	return cmocka_run_group_tests(tests, tu_tmpdir_setup,
	    tu_tmpdir_teardown);
}
