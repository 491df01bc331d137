/*
 * test_stages.c: the stream stages end to end.  A generated tree (regular,
 * empty, 5 MiB random, sparse, symlink, hard link, long and non-UTF-8
 * names, setuid, xattr, a cache folder, an excluded file) and command
 * output are archived and compressed into memory; the result is checked by
 * the real gzip and tar, the reported tar offsets are checked against the
 * stream, and it is inflated in parallel and extracted to an identical
 * tree.  Also: path-filtered and list-only extraction, crafted malicious
 * archives, a file shrinking while read, corrupt members, and the upload
 * stage into local storage (commit and abort).
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <sys/xattr.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/ag.h"
#include "providers/storage.h"
#include "providers/storage_backend.h"
#include "backup/stage.h"
#include "backup/st_archive.h"
#include "backup/st_compress.h"
#include "backup/st_upload.h"
#include "backup/inflate.h"
#include "backup/extract.h"
#include "tests/unit/fakes/testutil.h"

static char tree[512];

#define MEM_MAX ((size_t)64 << 20)
#define MAX_REC 256

/* A memory sink stage. */
struct mem {
	uint8_t *buf;
	size_t len, cap;
	int closed;
};

static int
mem_write(struct stage *st, const uint8_t *buf, size_t len)
{
	struct mem *m = st->ctx;
	uint8_t *nb;

	if (len > MEM_MAX - m->len)
		return (stage_fail(st, -1, "mem: full"));
	if (m->len + len > m->cap) {
		size_t ncap = m->cap == 0 ? 65536 : m->cap;

		while (ncap < m->len + len)
			ncap *= 2;
		if ((nb = realloc(m->buf, ncap)) == NULL)
			return (stage_fail(st, -1, "mem: out of memory"));
		m->buf = nb;
		m->cap = ncap;
	}
	memcpy(m->buf + m->len, buf, len);
	m->len += len;
	return (0);
}

static int
mem_close(struct stage *st)
{
	struct mem *m = st->ctx;

	m->closed = 1;
	return (0);
}

static void
mem_free(void *ctx)
{
	(void)ctx; /* owned by the test */
}

static const struct stage_ops mem_ops = {
	.name = "mem",
	.write = mem_write,
	.close = mem_close,
	.free = mem_free,
};

/* What the callbacks saw. */
struct rec {
	struct {
		char path[600];
		uint64_t off, len, size;
		unsigned type, piece;
	} e[MAX_REC];
	size_t ne;
	struct st_compress_member m[4096];
	size_t nm;
	char warn[32][600];
	size_t nw;
	int shrink_after; /* cancelled() calls, then shrink */
	char shrink_path[600];
};

static void
on_entry(void *cookie, const struct st_archive_entry *e)
{
	struct rec *r = cookie;

	if (r->ne >= MAX_REC)
		return;
	snprintf(r->e[r->ne].path, sizeof(r->e[0].path), "%s", e->path);
	r->e[r->ne].off = e->offset;
	r->e[r->ne].len = e->length;
	r->e[r->ne].size = e->size;
	r->e[r->ne].type = e->type;
	r->e[r->ne].piece = e->piece;
	r->ne++;
}

static void
on_member(void *cookie, const struct st_compress_member *m)
{
	struct rec *r = cookie;

	assert_true(r->nm < ARRAY_SIZE(r->m));
	assert_int_equal(m->index, r->nm);
	r->m[r->nm++] = *m;
}

static void
on_warning(void *cookie, const char *path, const char *reason)
{
	struct rec *r = cookie;

	if (r->nw < ARRAY_SIZE(r->warn))
		snprintf(r->warn[r->nw++], sizeof(r->warn[0]), "%s: %s", path,
		    reason);
}

static bool
cancelled(void *cookie)
{
	struct rec *r = cookie;

	/* Used to shrink a file while it is being read. */
	if (r->shrink_after > 0 && --r->shrink_after == 0)
		assert_int_equal(truncate(r->shrink_path, 1536 * 1024), 0);
	return (false);
}

static int
has_warning(struct rec *r, const char *s)
{
	size_t i;

	for (i = 0; i < r->nw; i++)
		if (strstr(r->warn[i], s) != NULL)
			return (1);
	return (0);
}

static void
put_file(const char *rel, const void *data, size_t len, mode_t mode)
{
	char p[1024];

	snprintf(p, sizeof(p), "%s/%s", tree, rel);
	tu_write_file(p, data, len, mode);
}

static void
set_mtime(const char *rel, time_t t)
{
	struct timespec ts[2] = { { t, 0 }, { t, 0 } };
	char p[1024];

	snprintf(p, sizeof(p), "%s/%s", tree, rel);
	assert_int_equal(utimensat(AT_FDCWD, p, ts, AT_SYMLINK_NOFOLLOW), 0);
}

static const char longname[] =
    "a-name-that-is-much-longer-than-the-"
    "one-hundred-bytes-a-plain-ustar-header-can-hold-so-pax-must-carry-it-"
    "0123456789.txt";
static const char badutf8[] = "bad-\xff\xfe-name.txt";
static const char utf8[] = "h\xc3\xa9llo-\xc3\xbc.txt";

static int
setup(void **state)
{
	uint8_t *big;
	char p[1024];
	size_t i;
	int fd;

	if (tu_tmpdir_setup(state) != 0)
		return (-1);
	snprintf(tree, sizeof(tree), "%s/tree", tu_tmpdir());
	if (mkdir(tree, 0755) != 0)
		return (-1);
	put_file("a.txt", "hello, world\n", 13, 0644);
	snprintf(p, sizeof(p), "%s/a.txt", tree);
	if (setxattr(p, "user.test", "xattr-value", 11, 0) != 0)
		return (-1);
	put_file("empty", "", 0, 0600);
	if ((big = malloc(5 << 20)) == NULL)
		return (-1);
	fd = open("/dev/urandom", O_RDONLY);
	if (fd < 0 || read(fd, big, 5 << 20) != 5 << 20)
		return (-1);
	close(fd);
	put_file("big.bin", big, 5 << 20, 0640);
	free(big);
	put_file("suid", "#!/bin/sh\n", 10, 04755);
	put_file(longname, "long\n", 5, 0644);
	put_file(badutf8, "bad\n", 4, 0644);
	put_file(utf8, "utf8\n", 5, 0644);
	put_file("skip.tmp", "excluded\n", 9, 0644);
	snprintf(p, sizeof(p), "%s/link", tree);
	if (symlink("a.txt", p) != 0)
		return (-1);
	snprintf(p, sizeof(p), "%s/hard", tree);
	{
		char a[1024];

		snprintf(a, sizeof(a), "%s/a.txt", tree);
		if (link(a, p) != 0)
			return (-1);
	}
	/* A sparse file: 1 MiB hole, 4 KiB of data, 1 MiB hole. */
	snprintf(p, sizeof(p), "%s/sparse", tree);
	fd = open(p, O_WRONLY | O_CREAT, 0644);
	if (fd < 0 || pwrite(fd, "data", 4, 1 << 20) != 4 ||
	    ftruncate(fd, 2 << 20) != 0)
		return (-1);
	close(fd);
	snprintf(p, sizeof(p), "%s/sub", tree);
	if (mkdir(p, 0750) != 0)
		return (-1);
	put_file("sub/inner.txt", "inner\n", 6, 0600);
	snprintf(p, sizeof(p), "%s/sub/deeper", tree);
	if (mkdir(p, 0700) != 0)
		return (-1);
	put_file("sub/deeper/x", "x", 1, 0644);
	/* A cache folder: only its tag is archived. */
	snprintf(p, sizeof(p), "%s/cache", tree);
	if (mkdir(p, 0755) != 0)
		return (-1);
	put_file("cache/CACHEDIR.TAG",
	    "Signature: "
	    "8a477f597d28d172789f06886806bc55\n# a cache\n",
	    55, 0644);
	put_file("cache/junk", "junk", 4, 0644);

	/* Fixed times everywhere, folders last. */
	for (i = 0; i < 2; i++) {
		const char *files[] = { "a.txt", "empty", "big.bin", "suid",
			longname, badutf8, utf8, "sparse", "sub/inner.txt",
			"sub/deeper/x", "link", "sub/deeper", "sub" };
		size_t j;

		for (j = 0; j < ARRAY_SIZE(files); j++)
			set_mtime(files[j], 1700000000 + (time_t)j * 61);
	}
	return (0);
}

static const char *const excludes[] = { "*.tmp", NULL };

/*
 * Archive ${tree} (plus command sources) through compress into ${m}.
 * Return the archive's return code.
 */
static int
make_archive(struct mem *m, struct rec *r, size_t slice, unsigned workers,
    bool with_commands)
{
	struct st_archive_conf ac = {
		.exclude = excludes,
		.exclude_caches = true,
		.cmd_piece = 128 << 10,
		.cancelled = cancelled,
		.on_entry = on_entry,
		.on_warning = on_warning,
		.cookie = r,
	};
	struct st_compress_conf cc = {
		.slice_size = slice,
		.workers = workers,
		.on_member = on_member,
		.cookie = r,
	};
	struct stage *sink, *cz;
	struct st_archive *a;
	struct st_archive_stats as;
	struct ag_err err;
	int rc;

	memset(m, 0, sizeof(*m));
	sink = stage_new(&mem_ops, m, NULL);
	assert_non_null(sink);
	cz = st_compress_new(sink, &cc, &err);
	if (cz == NULL)
		fail_msg("compress: %s", err.msg);
	a = st_archive_new(cz, &ac, &err);
	if (a == NULL)
		fail_msg("archive: %s", err.msg);
	rc = st_archive_add_path(a, tree, &err);
	if (rc == 0 && with_commands) {
		rc = st_archive_add_command(a, "db/small.sql", "echo hello",
		    &err);
		if (rc == 0)
			rc = st_archive_add_command(a, "/db/app.sql",
			    "seq 1 100000", &err);
		if (rc == 0)
			rc = st_archive_add_command(a, "db/fail.sql",
			    "echo partial; exit 3", &err);
	}
	if (rc == 0)
		rc = st_archive_finish(a, &err);
	if (rc == 0)
		rc = stage_close(cz);
	if (rc != 0)
		print_message("archive failed: %s\n", err.msg);
	st_archive_stats(a, &as);
	assert_int_equal(as.tar_bytes, cz->bytes_in);
	st_archive_free(a);
	stage_free_chain(cz);
	return (rc);
}

static void
save(const struct mem *m, const char *name, char *path, size_t len)
{
	snprintf(path, len, "%s/%s", tu_tmpdir(), name);
	tu_write_file(path, m->buf, m->len, 0644);
}

static int run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int
run(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	st = system(cmd);
	return (WIFEXITED(st) ? WEXITSTATUS(st) : -1);
}

/* The sink that gathers inflated tar bytes. */
static int
tar_sink(void *cookie, const uint8_t *buf, size_t len)
{
	struct mem *t = cookie;
	struct stage st = { .ctx = t, .ops = &mem_ops };

	return (mem_write(&st, buf, len));
}

/* Inflate the members of ${m} (boundaries from ${r}) into ${sink}. */
static int
inflate_all(const struct mem *m, const struct rec *r, size_t slice,
    int (*sink)(void *, const uint8_t *, size_t), void *cookie,
    struct ag_err *err)
{
	struct inflate_conf ic = {
		.max_out = slice,
		.workers = 2,
		.sink = sink,
		.cookie = cookie,
	};
	struct inflate *ifl;
	size_t i;
	int rc = 0;

	ifl = inflate_new(&ic, err);
	assert_non_null(ifl);
	for (i = 0; i < r->nm && rc == 0; i++)
		rc = inflate_member(ifl, m->buf + r->m[i].gz_off,
		    r->m[i].gz_len, err);
	if (rc == 0)
		rc = inflate_finish(ifl, err);
	inflate_free(ifl);
	return (rc);
}

static void
cmp_file(const char *a, const char *b)
{
	char cmd[2200];

	snprintf(cmd, sizeof(cmd), "cmp -s '%s' '%s'", a, b);
	if (system(cmd) != 0)
		fail_msg("differ: %s %s", a, b);
}

/* Compare the tree under ${src} with its copy under ${dst}, recursively. */
static void
cmp_tree(const char *src, const char *dst)
{
	struct stat s, d;
	char sp[2048], dp[2048], sl[1024], dl[1024], xa[64];
	struct dirent *de;
	ssize_t n, m;
	DIR *dir;

	assert_int_equal(lstat(src, &s), 0);
	if (lstat(dst, &d) != 0)
		fail_msg("missing: %s", dst);
	assert_int_equal(s.st_mode, d.st_mode);
	if (!S_ISLNK(s.st_mode))
		assert_int_equal(s.st_mtime, d.st_mtime);
	if (S_ISLNK(s.st_mode)) {
		n = readlink(src, sl, sizeof(sl));
		m = readlink(dst, dl, sizeof(dl));
		assert_int_equal(n, m);
		assert_memory_equal(sl, dl, (size_t)n);
	} else if (S_ISREG(s.st_mode)) {
		assert_int_equal(s.st_size, d.st_size);
		cmp_file(src, dst);
		n = getxattr(src, "user.test", xa, sizeof(xa));
		if (n > 0) {
			char xb[64];

			m = getxattr(dst, "user.test", xb, sizeof(xb));
			assert_int_equal(n, m);
			assert_memory_equal(xa, xb, (size_t)n);
		}
	} else if (S_ISDIR(s.st_mode)) {
		dir = opendir(src);
		assert_non_null(dir);
		while ((de = readdir(dir)) != NULL) {
			if (strcmp(de->d_name, ".") == 0 ||
			    strcmp(de->d_name, "..") == 0 ||
			    strcmp(de->d_name, "skip.tmp") == 0 ||
			    strcmp(de->d_name, "cache") == 0)
				continue;
			snprintf(sp, sizeof(sp), "%s/%s", src, de->d_name);
			snprintf(dp, sizeof(dp), "%s/%s", dst, de->d_name);
			cmp_tree(sp, dp);
		}
		closedir(dir);
	}
}

static struct rec *
rec_new(void)
{
	struct rec *r = calloc(1, sizeof(*r));

	assert_non_null(r);
	return (r);
}

static size_t
find_entry(const struct rec *r, const char *suffix)
{
	size_t i, n = strlen(suffix), l;

	for (i = 0; i < r->ne; i++) {
		l = strlen(r->e[i].path);
		if (l >= n && strcmp(r->e[i].path + l - n, suffix) == 0)
			return (i);
	}
	fail_msg("no entry %s", suffix);
	return (0);
}

static void
test_roundtrip(void **state)
{
	struct rec *r = rec_new();
	struct mem m, tar = { 0 };
	struct ag_err err;
	struct extract_conf xc = { 0 };
	struct extract_stats xs;
	struct extract *x;
	char out[600], dst[600], srcpath[1200], p[1400], list[700];
	const size_t slice = 64 << 10;
	struct stat a1, a2;
	size_t i;
	FILE *f;
	char line[1024];
	int found_long = 0, found_cmd = 0, found_junk = 0, found_tag = 0;

	(void)state;
	assert_int_equal(make_archive(&m, r, slice, 2, true), 0);
	assert_true(r->nm > 80); /* 5 MiB in 64 KiB slices */
	/* The command that failed is a warning, not an error. */
	assert_true(has_warning(r, "exited with status 3"));

	/* The real tools accept it. */
	save(&m, "out.tar.gz", out, sizeof(out));
	assert_int_equal(run("gzip -t '%s'", out), 0);
	snprintf(list, sizeof(list), "%s/list.txt", tu_tmpdir());
	assert_int_equal(run("tar -tzf '%s' > '%s' 2>/dev/null", out, list),
	    0);
	f = fopen(list, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strstr(line, longname) != NULL)
			found_long = 1;
		if (strstr(line, "db/app.sql.000002") != NULL)
			found_cmd = 1;
		if (strstr(line, "cache/junk") != NULL)
			found_junk = 1;
		if (strstr(line, "cache/CACHEDIR.TAG") != NULL)
			found_tag = 1;
		assert_null(strstr(line, "skip.tmp"));
		assert_true(line[0] != '/');
	}
	fclose(f);
	assert_true(found_long && found_cmd && found_tag);
	assert_false(found_junk);

	/* Members: contiguous, slices of the tar, in order. */
	for (i = 0; i < r->nm; i++) {
		assert_int_equal(r->m[i].tar_off, i * slice);
		if (i + 1 < r->nm) {
			assert_int_equal(r->m[i].tar_len, slice);
			assert_int_equal(r->m[i].gz_off + r->m[i].gz_len,
			    r->m[i + 1].gz_off);
		}
	}
	assert_int_equal(r->m[r->nm - 1].gz_off + r->m[r->nm - 1].gz_len,
	    m.len);

	/* Inflate in parallel; check entry offsets against the tar. */
	assert_int_equal(inflate_all(&m, r, slice, tar_sink, &tar, &err), 0);
	for (i = 0; i < r->ne; i++) {
		const uint8_t *h = tar.buf + r->e[i].off;

		assert_true(r->e[i].off + r->e[i].len <= tar.len);
		assert_int_equal(r->e[i].len % 512, 0);
		if (i + 1 < r->ne)
			assert_int_equal(r->e[i].off + r->e[i].len,
			    r->e[i + 1].off);
		/* A ustar header, or a pax 'x' header before one. */
		assert_memory_equal(h + 257, "ustar", 5);
		if (h[156] != 'x')
			assert_memory_equal(h, r->e[i].path,
			    strlen(r->e[i].path) < 100 ? strlen(r->e[i].path) :
							 100);
	}
	i = find_entry(r, "/big.bin");
	assert_int_equal(r->e[i].size, 5 << 20);
	i = find_entry(r, "db/app.sql.000001");
	assert_int_equal(r->e[i].piece, 1);
	assert_int_equal(r->e[i].size, 128 << 10);

	/* Extract, pushing in odd-sized pieces through a small ring. */
	snprintf(dst, sizeof(dst), "%s/restore", tu_tmpdir());
	xc.target = dst;
	xc.ring_size = 10000;
	xc.on_warning = on_warning;
	xc.cookie = r;
	x = extract_new(&xc, &err);
	if (x == NULL)
		fail_msg("extract: %s", err.msg);
	for (i = 0; i < tar.len; i += 7777)
		assert_int_equal(extract_write(x, tar.buf + i,
				     tar.len - i < 7777 ? tar.len - i : 7777),
		    0);
	if (extract_finish(x, &xs, &err) != 0)
		fail_msg("extract: %s", err.msg);
	extract_free(x);
	for (i = 0; i < r->nw; i++)
		print_message("warning: %s\n", r->warn[i]);
	assert_int_equal(xs.refused, 0);
	assert_true(xs.extracted > 15);

	snprintf(srcpath, sizeof(srcpath), "%s%s", dst, tree);
	cmp_tree(tree, srcpath);
	/* The hard link is one inode again. */
	snprintf(p, sizeof(p), "%s/a.txt", srcpath);
	assert_int_equal(stat(p, &a1), 0);
	snprintf(p, sizeof(p), "%s/hard", srcpath);
	assert_int_equal(stat(p, &a2), 0);
	assert_int_equal(a1.st_ino, a2.st_ino);
	/* The split command output is one file again. */
	snprintf(p, sizeof(p), "%s/seq.txt", tu_tmpdir());
	assert_int_equal(run("seq 1 100000 > '%s'", p), 0);
	{
		char j[1200];

		snprintf(j, sizeof(j), "%s/db/app.sql", dst);
		cmp_file(p, j);
		snprintf(j, sizeof(j), "%s/db/app.sql.000002", dst);
		assert_int_not_equal(access(j, F_OK), 0);
		snprintf(j, sizeof(j), "%s/db/small.sql", dst);
		assert_int_equal(stat(j, &a1), 0);
		assert_int_equal(a1.st_size, 6);
		assert_int_equal(getxattr(j, "user.vigil.split", line, 10),
		    -1);
	}
	free(tar.buf);
	free(m.buf);
	free(r);
}

static void
test_filter_and_list(void **state)
{
	struct rec *r = rec_new();
	struct mem m, tar = { 0 };
	struct ag_err err;
	struct extract_stats xs;
	struct extract *x;
	char dst[600], sub[1200], p[1400];
	const char *paths[2];
	size_t i;

	(void)state;
	assert_int_equal(make_archive(&m, r, 1 << 20, 1, false), 0);
	assert_int_equal(inflate_all(&m, r, 1 << 20, tar_sink, &tar, &err), 0);

	/* Only tree/sub (given with a leading '/'), nothing else. */
	snprintf(sub, sizeof(sub), "%s/sub/", tree);
	paths[0] = sub;
	paths[1] = NULL;
	snprintf(dst, sizeof(dst), "%s/filtered", tu_tmpdir());
	{
		struct extract_conf xc = {
			.target = dst,
			.paths = paths,
		};

		x = extract_new(&xc, &err);
		assert_non_null(x);
	}
	assert_int_equal(extract_write(x, tar.buf, tar.len), 0);
	assert_int_equal(extract_finish(x, &xs, &err), 0);
	extract_free(x);
	assert_int_equal(xs.extracted, 4); /* sub, inner, deeper, x */
	snprintf(p, sizeof(p), "%s%s/sub/deeper/x", dst, tree);
	assert_int_equal(access(p, F_OK), 0);
	snprintf(p, sizeof(p), "%s%s/a.txt", dst, tree);
	assert_int_not_equal(access(p, F_OK), 0);
	/* "sub" does not select "subway". */
	snprintf(p, sizeof(p), "%s%s/sub", dst, tree);
	cmp_tree(sub, p);

	/* List only: every entry read, nothing written. */
	{
		struct extract_conf xc = { .flags = EXTRACT_LIST_ONLY };

		x = extract_new(&xc, &err);
		assert_non_null(x);
	}
	for (i = 0; i < tar.len; i += 100000)
		assert_int_equal(extract_write(x, tar.buf + i,
				     tar.len - i < 100000 ? tar.len - i :
							    100000),
		    0);
	assert_int_equal(extract_finish(x, &xs, &err), 0);
	extract_free(x);
	assert_int_equal(xs.extracted, 0);
	assert_int_equal(xs.entries, r->ne);
	assert_true(xs.bytes >= (5 << 20));

	/* A truncated stream is an error, not a silent success. */
	{
		struct extract_conf xc = { .flags = EXTRACT_LIST_ONLY };

		x = extract_new(&xc, &err);
		assert_non_null(x);
		(void)extract_write(x, tar.buf, (3 << 20) + 100);
		assert_int_equal(extract_finish(x, &xs, &err), -1);
		assert_non_null(strstr(err.msg, "truncated"));
		extract_free(x);
	}
	free(tar.buf);
	free(m.buf);
	free(r);
}

static void
test_malicious(void **state)
{
	struct rec *r = rec_new();
	static uint8_t buf[32 * 512];
	char outside[600], dst[600], abs[700], p[1200];
	struct extract_conf xc = { 0 };
	struct extract_stats xs;
	struct extract *x;
	struct ag_err err;
	struct dirent *de;
	size_t off = 0;
	DIR *d;
	int n = 0;

	(void)state;
	snprintf(outside, sizeof(outside), "%s/outside", tu_tmpdir());
	assert_int_equal(mkdir(outside, 0755), 0);
	snprintf(abs, sizeof(abs), "%s/abs-evil", outside);
	snprintf(dst, sizeof(dst), "%s/mal", tu_tmpdir());

	memset(buf, 0, sizeof(buf));
	off = tu_tar_add(buf, off, abs, '0', "evil", NULL);
	off = tu_tar_add(buf, off, "../evil", '0', "evil", NULL);
	off = tu_tar_add(buf, off, "a/../../evil2", '0', "evil", NULL);
	off = tu_tar_add(buf, off, "lnk", '2', NULL, outside);
	off = tu_tar_add(buf, off, "lnk/evil3", '0', "evil", NULL);
	off = tu_tar_add(buf, off, "hl", '1', NULL, "../../etc/passwd");
	off = tu_tar_add(buf, off, "dev", '3', NULL, NULL);
	off = tu_tar_add(buf, off, "ok.txt", '0', "fine", NULL);
	off += 1024;

	xc.target = dst;
	xc.on_warning = on_warning;
	xc.cookie = r;
	x = extract_new(&xc, &err);
	assert_non_null(x);
	assert_int_equal(extract_write(x, buf, off), 0);
	assert_int_equal(extract_finish(x, &xs, &err), 0);
	extract_free(x);
	assert_int_equal(xs.refused, 6);
	/* Nothing outside the target. */
	d = opendir(outside);
	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	assert_int_equal(n, 0);
	snprintf(p, sizeof(p), "%s/evil", tu_tmpdir());
	assert_int_not_equal(access(p, F_OK), 0);
	snprintf(p, sizeof(p), "%s/ok.txt", dst);
	assert_int_equal(access(p, F_OK), 0);
	snprintf(p, sizeof(p), "%s/dev", dst);
	assert_int_not_equal(access(p, F_OK), 0);
	free(r);
}

static void
test_shrink_while_read(void **state)
{
	struct rec *r = rec_new();
	struct mem m;
	char out[600], p[700];
	static uint8_t data[3 << 20];
	int fd, rc;

	(void)state;
	/* A tree of its own: one 3 MiB file that shrinks mid-read. */
	snprintf(p, sizeof(p), "%s/shrink", tu_tmpdir());
	assert_int_equal(mkdir(p, 0755), 0);
	memset(data, 'z', sizeof(data));
	snprintf(r->shrink_path, sizeof(r->shrink_path), "%s/shrink/f",
	    tu_tmpdir());
	fd = open(r->shrink_path, O_WRONLY | O_CREAT, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, sizeof(data)), (ssize_t)sizeof(data));
	close(fd);
	/* cancelled() runs before each entry and each 1 MiB read. */
	r->shrink_after = 4;
	{
		char saved[512];

		memcpy(saved, tree, sizeof(tree));
		snprintf(tree, sizeof(tree), "%s/shrink", tu_tmpdir());
		rc = make_archive(&m, r, 1 << 20, 2, false);
		memcpy(tree, saved, sizeof(tree));
	}
	assert_int_equal(rc, 0);
	assert_true(has_warning(r, "shrank while read"));
	save(&m, "shrink.tar.gz", out, sizeof(out));
	assert_int_equal(run("gzip -t '%s'", out), 0);
	assert_int_equal(run("tar -tzf '%s' > /dev/null 2>&1", out), 0);
	snprintf(p, sizeof(p), "%s/shrink-x", tu_tmpdir());
	assert_int_equal(mkdir(p, 0755), 0);
	assert_int_equal(run("tar -xzf '%s' -C '%s' 2>/dev/null", out, p), 0);
	free(m.buf);
	free(r);
}

static void
test_strict_and_errors(void **state)
{
	struct rec *r = rec_new();
	struct mem m, tar = { 0 };
	struct ag_err err;
	struct stage *sink, *cz;
	struct st_archive *a;
	struct st_archive_conf ac = { .strict = true,
		.on_warning = on_warning,
		.cookie = r };
	struct st_compress_conf cc = { 0 };
	char p[700];

	(void)state;
	/* Strict: a missing source fails the archive. */
	memset(&m, 0, sizeof(m));
	sink = stage_new(&mem_ops, &m, NULL);
	cz = st_compress_new(sink, &cc, &err);
	assert_non_null(cz);
	a = st_archive_new(cz, &ac, &err);
	assert_non_null(a);
	snprintf(p, sizeof(p), "%s/does-not-exist", tu_tmpdir());
	assert_int_equal(st_archive_add_path(a, p, &err), -1);
	assert_non_null(strstr(err.msg, "No such file"));
	assert_int_equal(st_archive_add_path(a, tree, &err), -1);
	assert_int_equal(st_archive_add_command(a, "../x", "true", &err), -1);
	st_archive_free(a);
	stage_free_chain(cz);
	free(m.buf);

	/* Bad settings. */
	cc.slice_size = 100;
	assert_null(st_compress_new(NULL, &cc, &err));
	assert_non_null(strstr(err.msg, "slice size"));
	cc.slice_size = 0;
	cc.level = 13;
	assert_null(st_compress_new(NULL, &cc, &err));

	/* A corrupt member fails inflate with its number. */
	r->nm = 0;
	r->ne = 0;
	assert_int_equal(make_archive(&m, r, 1 << 20, 2, false), 0);
	m.buf[r->m[2].gz_off + 100] ^= 0x55;
	assert_int_equal(inflate_all(&m, r, 1 << 20, tar_sink, &tar, &err),
	    -1);
	assert_non_null(strstr(err.msg, "member 2: corrupt"));
	/* Too small a slice bound is refused, not overflowed. */
	m.buf[r->m[2].gz_off + 100] ^= 0x55;
	tar.len = 0;
	assert_int_equal(inflate_all(&m, r, 512 << 10, tar_sink, &tar, &err),
	    -1);
	assert_non_null(strstr(err.msg, "exceeds"));
	free(tar.buf);
	free(m.buf);
	free(r);
}

/* A downstream failure stops the archive with the sink's own message. */
static int
fail_write(struct stage *st, const uint8_t *buf, size_t len)
{
	struct mem *m = st->ctx;

	(void)buf;
	m->len += len;
	if (m->len > (2 << 20))
		return (stage_fail(st, -1, "sink: disk on fire"));
	return (0);
}

static const struct stage_ops fail_ops = {
	.name = "fail",
	.write = fail_write,
	.close = mem_close,
	.free = mem_free,
};

static void
test_downstream_failure(void **state)
{
	struct mem m = { 0 };
	struct ag_err err;
	struct stage *sink, *cz;
	struct st_archive *a;
	struct st_archive_conf ac = { 0 };
	struct st_compress_conf cc = { .slice_size = 256 << 10, .level = 1 };
	int rc;

	(void)state;
	sink = stage_new(&fail_ops, &m, NULL);
	cz = st_compress_new(sink, &cc, &err);
	assert_non_null(cz);
	a = st_archive_new(cz, &ac, &err);
	assert_non_null(a);
	rc = st_archive_add_path(a, tree, &err);
	if (rc == 0)
		rc = st_archive_finish(a, &err);
	if (rc == 0)
		rc = stage_close(cz);
	assert_int_not_equal(rc, 0);
	assert_false(m.closed);
	assert_int_equal(stage_error(cz, &err), -1);
	assert_string_equal(err.msg, "sink: disk on fire");
	st_archive_free(a);
	stage_free_chain(cz);
}

static void
test_upload(void **state)
{
	struct storage_conf *sc;
	struct storage *st;
	struct stage *up, *cz;
	struct st_archive *a;
	struct st_archive_conf ac = { 0 };
	struct st_compress_conf cc = { .slice_size = 1 << 20 };
	struct st_upload_conf uc = { .part_size = 1 << 20 };
	struct objlist l = { 0 };
	struct ag_err err;
	char root[600], obj[900];

	(void)state;
	snprintf(root, sizeof(root), "%s/store", tu_tmpdir());
	sc = storage_conf_local("here", root);
	assert_non_null(sc);
	assert_int_equal(storage_open(sc, &st, &err), 0);
	storage_conf_free(sc);

	up = st_upload_new(st, "h/nightly/b1/data.vgl", &uc, &err);
	assert_non_null(up);
	cz = st_compress_new(up, &cc, &err);
	assert_non_null(cz);
	a = st_archive_new(cz, &ac, &err);
	assert_non_null(a);
	assert_int_equal(st_archive_add_path(a, tree, &err), 0);
	assert_int_equal(st_archive_finish(a, &err), 0);
	/* Not there until the chain is closed. */
	assert_int_equal(storage_list(st, "h/", 0, &l, &err), 0);
	assert_int_equal(l.n, 0);
	assert_int_equal(stage_close(cz), 0);
	assert_true(st_upload_parts(up) >= 5);
	st_archive_free(a);
	stage_free_chain(cz);
	assert_int_equal(storage_list(st, "h/", 0, &l, &err), 0);
	assert_int_equal(l.n, 1);
	objlist_free(&l);
	snprintf(obj, sizeof(obj), "%s/h/nightly/b1/data.vgl", root);
	assert_int_equal(run("gzip -t '%s'", obj), 0);

	/* Freed without closing: the upload is aborted, nothing remains. */
	up = st_upload_new(st, "h/nightly/b2/data.vgl", &uc, &err);
	assert_non_null(up);
	assert_int_equal(stage_write(up, "partial", 7), 0);
	stage_free_chain(up);
	assert_int_equal(storage_list(st, "h/nightly/b2", 0, &l, &err), 0);
	assert_int_equal(l.n, 0);
	assert_int_equal(storage_list(st, "", STORAGE_LIST_INCOMPLETE, &l,
			     &err),
	    0);
	assert_int_equal(l.n, 0);
	storage_close(st);
}

/*
 * A fake backend: flaky parts, a part-count limit, recorded part sizes and
 * contents by index, and the most parts seen in flight at once.
 */
static struct {
	pthread_mutex_t mu;
	int fail_next;	   /* AG_RETRY this many more times */
	int fail_hard;	   /* -1 on the part of this index + 1 */
	unsigned delay_us; /* each part takes this long */
	size_t sizes[64];
	uint8_t first[64]; /* each part's first byte */
	size_t nparts, puts;
	unsigned inflight, most;
	int committed, aborted, begun;
} fk = { .mu = PTHREAD_MUTEX_INITIALIZER };

static void
fk_reset(void)
{
	pthread_mutex_lock(&fk.mu);
	fk.fail_next = fk.fail_hard = 0;
	fk.delay_us = 0;
	memset(fk.sizes, 0, sizeof(fk.sizes));
	memset(fk.first, 0, sizeof(fk.first));
	fk.nparts = fk.puts = 0;
	fk.inflight = fk.most = 0;
	fk.committed = fk.aborted = fk.begun = 0;
	pthread_mutex_unlock(&fk.mu);
}

static int
fk_open(void **ret_ctx, const struct storage_conf *c, struct ag_err *err)
{
	(void)c;
	(void)err;
	*ret_ctx = &fk;
	return (0);
}

static int
fk_begin(void *ctx, const char *key, void **ret_up, struct ag_err *err)
{
	(void)key;
	(void)err;
	pthread_mutex_lock(&fk.mu);
	fk.begun++;
	pthread_mutex_unlock(&fk.mu);
	*ret_up = ctx;
	return (0);
}

static int
fk_part(void *up, uint64_t idx, const uint8_t *buf, size_t len,
    struct ag_err *err)
{
	int rc = 0;

	(void)up;
	pthread_mutex_lock(&fk.mu);
	if (++fk.inflight > fk.most)
		fk.most = fk.inflight;
	if (fk.fail_hard != 0 && idx + 1 == (uint64_t)fk.fail_hard)
		rc = ag_err_set(err, "fake: HTTP 403 on part %ju",
		    (uintmax_t)idx + 1);
	else if (fk.fail_next > 0) {
		fk.fail_next--;
		rc = (ag_err_set(err, "fake: HTTP 503"), AG_RETRY);
	}
	pthread_mutex_unlock(&fk.mu);
	if (rc == 0 && fk.delay_us != 0)
		usleep(fk.delay_us);
	pthread_mutex_lock(&fk.mu);
	fk.inflight--;
	if (rc == 0) {
		if (idx < ARRAY_SIZE(fk.sizes)) {
			fk.sizes[idx] = len;
			fk.first[idx] = buf[0];
		}
		fk.nparts++;
	}
	pthread_mutex_unlock(&fk.mu);
	return (rc);
}

static int
fk_put(void *ctx, const char *key, const uint8_t *buf, size_t len,
    struct ag_err *err)
{
	(void)ctx;
	(void)key;
	(void)buf;
	(void)err;
	fk.sizes[0] = len;
	fk.puts++;
	return (0);
}

static int
fk_commit(void *up, struct ag_err *err)
{
	(void)up;
	(void)err;
	fk.committed++;
	return (0);
}

static void
fk_abort(void *up)
{
	(void)up;
	fk.aborted++;
}

static void
fk_close(void *ctx)
{
	(void)ctx;
}

static const struct storage_ops fake_ops = {
	.name = "fake",
	.part_min = 4096,
	.part_align = 4096,
	.part_max = 65536,
	.max_parts = 32,
	.open = fk_open,
	.put_begin = fk_begin,
	.put_part = fk_part,
	.put_commit = fk_commit,
	.put_abort = fk_abort,
	.close = fk_close,
};

/* The same backend taking parts in parallel, with a single-request put. */
static const struct storage_ops fake_par_ops = {
	.name = "fakepar",
	.caps = STORAGE_CAP_PARALLEL,
	.part_min = 4096,
	.part_align = 4096,
	.max_parts = 32,
	.open = fk_open,
	.put_begin = fk_begin,
	.put_part = fk_part,
	.put_commit = fk_commit,
	.put_abort = fk_abort,
	.put = fk_put,
	.close = fk_close,
};

/* Write ${len} bytes of ${data} into ${up} in pieces of 999 bytes. */
static int
write_pieces(struct stage *up, const uint8_t *data, size_t len)
{
	for (size_t i = 0; i < len; i += 999)
		if (stage_write(up, data + i, len - i < 999 ? len - i : 999) !=
		    0)
			return (-1);
	return (0);
}

static void
test_upload_retry_and_growth(void **state)
{
	struct storage_conf sc = { .name = "f",
		.type = "fake",
		.ops = &fake_ops };
	struct st_upload_conf uc = { .part_size = 5000, .retry_ms = 1 };
	static uint8_t data[400000];
	struct storage *st;
	struct stage *up;
	struct ag_err err;
	size_t i, total = 0;

	(void)state;
	fk_reset();
	for (i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i / 4096);
	assert_int_equal(storage_open(&sc, &st, &err), 0);
	/* 5000 is rounded up to the alignment. */
	assert_int_equal(storage_part_size(st, 5000), 8192);
	up = st_upload_new(st, "k", &uc, &err);
	assert_non_null(up);
	fk.fail_next = 2; /* two 503s, then success */
	assert_int_equal(write_pieces(up, data, sizeof(data)), 0);
	assert_int_equal(stage_close(up), 0);
	assert_int_equal(fk.committed, 1);
	/* Not parallel: one at a time, in order. */
	assert_int_equal(fk.most, 1);
	/* 32 parts: 12 flat, then doubling every part up to 65536. */
	assert_int_equal(fk.sizes[0], 8192);
	assert_int_equal(fk.sizes[11], 8192);
	assert_int_equal(fk.sizes[12], 16384);
	assert_int_equal(fk.sizes[13], 32768);
	assert_int_equal(fk.sizes[14], 65536);
	assert_int_equal(fk.sizes[15], 65536);
	for (i = 0; i < fk.nparts; i++) {
		total += fk.sizes[i];
		if (i + 1 < fk.nparts)
			assert_int_equal(fk.sizes[i],
			    st_upload_part_len(8192, 65536, 32, i));
	}
	assert_int_equal(total, sizeof(data));
	assert_int_equal(st_upload_parts(up), fk.nparts);
	stage_free_chain(up);
	assert_int_equal(fk.aborted, 0);

	/* Retries run out: the stage fails with the backend's message. */
	up = st_upload_new(st, "k", &uc, &err);
	assert_non_null(up);
	fk.fail_next = 100;
	(void)write_pieces(up, data, 8192 * 3);
	assert_int_equal(stage_close(up), -1);
	assert_int_equal(stage_error(up, &err), -1);
	assert_string_equal(err.msg, "fake: HTTP 503");
	stage_free_chain(up);
	assert_int_equal(fk.committed, 1);
	assert_int_equal(fk.aborted, 1);
	storage_close(st);
}

static void
test_upload_part_schedule(void **state)
{
	const size_t mib = (size_t)1 << 20;
	uint64_t total = 0;
	size_t len, last = 0;

	(void)state;
	/* S3: 10,000 parts of 5 MiB .. 5 GiB. */
	for (uint64_t i = 0; i < 10000; i++) {
		len = st_upload_part_len(5 * mib, (size_t)5 << 30, 10000, i);
		assert_true(len >= last);
		assert_true(len <= (size_t)5 << 30);
		if (i < 4000)
			assert_int_equal(len, 5 * mib);
		total += len;
		last = len;
	}
	/* S3's 5 TiB object limit fits; 4,000 small parts first. */
	assert_true(total >= (uint64_t)5 << 40);
	assert_int_equal(st_upload_part_len(5 * mib, (size_t)5 << 30, 10000,
			     4000),
	    10 * mib);
	assert_int_equal(st_upload_part_len(5 * mib, (size_t)5 << 30, 10000,
			     4600),
	    20 * mib);
	/* No part-count limit: always the base. */
	assert_int_equal(st_upload_part_len(mib, 0, 0, 1000000), mib);
	/* Buffers: one per sender plus one, within memory, at least 2. */
	assert_int_equal(st_upload_bufs(8 * mib, 32 * mib, 4), 4);
	assert_int_equal(st_upload_bufs(mib, 32 * mib, 4), 5);
	assert_int_equal(st_upload_bufs(64 * mib, 32 * mib, 4), 2);
	assert_int_equal(st_upload_bufs(mib, 32 * mib, 1), 2);
}

static void
test_upload_parallel(void **state)
{
	struct storage_conf sc = { .name = "p",
		.type = "fakepar",
		.ops = &fake_par_ops };
	struct st_upload_conf uc = { .part_size = 8192,
		.retry_ms = 1,
		.parallel = 4,
		.memory = 1 << 20 };
	static uint8_t data[12 * 8192 + 100];
	struct storage *st;
	struct stage *up;
	struct ag_err err;
	size_t i;

	(void)state;
	fk_reset();
	for (i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i / 8192 + 1);
	assert_int_equal(storage_open(&sc, &st, &err), 0);

	/* One part or less: one request, no multipart upload. */
	up = st_upload_new(st, "k", &uc, &err);
	assert_non_null(up);
	assert_int_equal(write_pieces(up, data, 8192), 0);
	assert_int_equal(stage_close(up), 0);
	assert_int_equal(fk.puts, 1);
	assert_int_equal(fk.begun, 0);
	assert_int_equal(fk.sizes[0], 8192);
	assert_int_equal(st_upload_parts(up), 1);
	stage_free_chain(up);

	/* Several parts: four in flight at once, each by its index. */
	fk_reset();
	fk.delay_us = 20000;
	up = st_upload_new(st, "k", &uc, &err);
	assert_non_null(up);
	assert_int_equal(write_pieces(up, data, sizeof(data)), 0);
	assert_int_equal(stage_close(up), 0);
	assert_int_equal(fk.begun, 1);
	assert_int_equal(fk.committed, 1);
	assert_int_equal(fk.nparts, 13);
	assert_int_equal(fk.most, 4);
	for (i = 0; i < 13; i++)
		assert_int_equal(fk.first[i], i + 1);
	assert_int_equal(fk.sizes[12], 100);
	stage_free_chain(up);

	/* Memory for two buffers only: two parts in flight, not four. */
	fk_reset();
	fk.delay_us = 5000;
	uc.memory = 2 * 8192;
	up = st_upload_new(st, "k", &uc, &err);
	assert_non_null(up);
	assert_int_equal(write_pieces(up, data, sizeof(data)), 0);
	assert_int_equal(stage_close(up), 0);
	assert_int_equal(fk.most, 2);
	stage_free_chain(up);

	/* A part refused for good: one message, the rest dropped, aborted. */
	fk_reset();
	fk.delay_us = 5000;
	fk.fail_hard = 3;
	uc.memory = 1 << 20;
	up = st_upload_new(st, "k", &uc, &err);
	assert_non_null(up);
	(void)write_pieces(up, data, sizeof(data));
	assert_int_equal(stage_close(up), -1);
	assert_int_equal(stage_error(up, &err), -1);
	assert_string_equal(err.msg, "fake: HTTP 403 on part 3");
	assert_true(fk.nparts < 13);
	stage_free_chain(up);
	assert_int_equal(fk.committed, 0);
	assert_int_equal(fk.aborted, 1);

	/* Freed while parts are in flight: joined and aborted. */
	fk_reset();
	fk.delay_us = 20000;
	up = st_upload_new(st, "k", &uc, &err);
	assert_non_null(up);
	assert_int_equal(write_pieces(up, data, sizeof(data)), 0);
	stage_free_chain(up);
	assert_int_equal(fk.committed, 0);
	assert_int_equal(fk.aborted, 1);
	storage_close(st);
}

static void
test_put_part_at(void **state)
{
	struct storage_conf sc = { .name = "p",
		.type = "fakepar",
		.ops = &fake_par_ops };
	struct storage_conf ss = { .name = "f",
		.type = "fake",
		.ops = &fake_ops };
	static uint8_t data[70000];
	struct storage_upload *up;
	struct storage *st;
	struct ag_err err;

	(void)state;
	fk_reset();
	assert_int_equal(storage_open(&sc, &st, &err), 0);
	/* Out of order is fine; a missing part fails the commit. */
	assert_int_equal(storage_put_begin(st, "k", &up, &err), 0);
	assert_int_equal(storage_put_part_at(up, 2, data, 100, &err), 0);
	assert_int_equal(storage_put_part_at(up, 0, data, 8192, &err), 0);
	assert_int_equal(storage_put_commit(up, &err), -1);
	assert_string_equal(err.msg,
	    "fakepar[p]: put k: 2 of 3 parts arrived");
	assert_int_equal(fk.committed, 0);
	assert_int_equal(fk.aborted, 1);
	/* Only the last part may be short. */
	assert_int_equal(storage_put_begin(st, "k", &up, &err), 0);
	assert_int_equal(storage_put_part_at(up, 1, data, 8192, &err), 0);
	assert_int_equal(storage_put_part_at(up, 0, data, 100, &err), 0);
	assert_int_equal(storage_put_commit(up, &err), -1);
	assert_string_equal(err.msg,
	    "fakepar[p]: put k: part 1 has 100 bytes, less than the minimum "
	    "4096");
	/* Within the part-count limit. */
	assert_int_equal(storage_put_begin(st, "k", &up, &err), 0);
	assert_int_equal(storage_put_part_at(up, 32, data, 8192, &err), -1);
	assert_string_equal(err.msg, "fakepar[p]: put k: more than 32 parts");
	storage_put_abort(up);
	storage_close(st);

	/* A backend without STORAGE_CAP_PARALLEL takes parts in order. */
	assert_int_equal(storage_open(&ss, &st, &err), 0);
	assert_int_equal(storage_put_begin(st, "k", &up, &err), 0);
	assert_int_equal(storage_put_part_at(up, 1, data, 8192, &err), -1);
	assert_string_equal(err.msg,
	    "fake[f]: put k: part 2 sent before part 1");
	assert_int_equal(storage_put_part_at(up, 0, data, 8192, &err), 0);
	/* And no part over the backend's largest. */
	assert_int_equal(storage_put_part_at(up, 1, data, 70000, &err), -1);
	assert_string_equal(err.msg,
	    "fake[f]: put k: part 2 has 70000 bytes, more than the maximum "
	    "65536");
	storage_put_abort(up);
	storage_close(st);
}

/* Whether this process maps a file under ${dir} (deleted or not). */
static int
maps_under(const char *dir)
{
	char line[1024];
	FILE *f;
	int found = 0;

	assert_non_null(f = fopen("/proc/self/maps", "r"));
	while (fgets(line, sizeof(line), f) != NULL)
		if (strstr(line, dir) != NULL)
			found = 1;
	fclose(f);
	return (found);
}

/* A fake part that checks where its bytes live. */
static char spool_seen[600];
static int spool_mapped;

static int
fk_part_spool(void *up, uint64_t idx, const uint8_t *buf, size_t len,
    struct ag_err *err)
{
	if (spool_seen[0] != '\0' && maps_under(spool_seen))
		spool_mapped++;
	return (fk_part(up, idx, buf, len, err));
}

static const struct storage_ops fake_spool_ops = {
	.name = "fakespool",
	.caps = STORAGE_CAP_PARALLEL,
	.part_min = 4096,
	.part_align = 4096,
	.max_parts = 32,
	.open = fk_open,
	.put_begin = fk_begin,
	.put_part = fk_part_spool,
	.put_commit = fk_commit,
	.put_abort = fk_abort,
	.close = fk_close,
};

static void
test_upload_spool(void **state)
{
	struct storage_conf sc = { .name = "s",
		.type = "fakespool",
		.ops = &fake_spool_ops };
	/* Parts of 64 KiB over a 64 KiB budget: spooled to files. */
	struct st_upload_conf uc = { .part_size = 65536,
		.retry_ms = 1,
		.retries = 1,
		.parallel = 4,
		.memory = 65536,
		.spool_dir = spool_seen };
	static uint8_t data[6 * 65536 + 7];
	struct rlimit rl, old;
	struct storage *st;
	struct stage *up;
	struct ag_err err;
	char missing[700];
	size_t i;

	(void)state;
	fk_reset();
	snprintf(spool_seen, sizeof(spool_seen), "%s/spool", tu_tmpdir());
	assert_int_equal(mkdir(spool_seen, 0700), 0);
	for (i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i / 65536 + 1);
	assert_int_equal(storage_open(&sc, &st, &err), 0);
	spool_mapped = 0;
	up = st_upload_new(st, "k", &uc, &err);
	assert_non_null(up);
	assert_int_equal(write_pieces(up, data, sizeof(data)), 0);
	assert_int_equal(stage_close(up), 0);
	assert_int_equal(fk.nparts, 7);
	/* Two spooled parts at most, however many senders. */
	assert_true(fk.most <= 2);
	for (i = 0; i < 7; i++)
		assert_int_equal(fk.first[i], i + 1);
	assert_int_equal(fk.sizes[6], 7);
	/* Every part was sent from a mapping of a file in the folder. */
	assert_int_equal(spool_mapped, 7);
	stage_free_chain(up);
	assert_false(maps_under(spool_seen));

	/* A spool that cannot grow (a full disk): one clear message. */
	fk_reset();
	signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	rl = old;
	rl.rlim_cur = 1000;
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &rl), 0);
	up = st_upload_new(st, "k", &uc, &err);
	assert_non_null(up);
	assert_int_equal(write_pieces(up, data, sizeof(data)), -1);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	assert_int_equal(stage_error(up, &err), -1);
	assert_non_null(strstr(err.msg, "upload: cannot spool a part in "));
	assert_non_null(strstr(err.msg, "File too large"));
	stage_free_chain(up);
	assert_int_equal(fk.committed, 0);

	/* No such folder: the message names it. */
	snprintf(missing, sizeof(missing), "%s/nowhere", tu_tmpdir());
	uc.spool_dir = missing;
	up = st_upload_new(st, "k", &uc, &err);
	assert_non_null(up);
	assert_int_equal(write_pieces(up, data, sizeof(data)), -1);
	assert_int_equal(stage_error(up, &err), -1);
	assert_non_null(strstr(err.msg, missing));
	stage_free_chain(up);
	storage_close(st);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_filter_and_list),
		cmocka_unit_test(test_malicious),
		cmocka_unit_test(test_shrink_while_read),
		cmocka_unit_test(test_strict_and_errors),
		cmocka_unit_test(test_downstream_failure),
		cmocka_unit_test(test_upload),
		cmocka_unit_test(test_upload_retry_and_growth),
		cmocka_unit_test(test_upload_part_schedule),
		cmocka_unit_test(test_upload_parallel),
		cmocka_unit_test(test_put_part_at),
		cmocka_unit_test(test_upload_spool),
	};

	return (cmocka_run_group_tests(tests, setup, tu_tmpdir_teardown));
}
