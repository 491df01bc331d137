/*
 * test_storage.c: the storage wrappers and the local-folder backend:
 * streamed uploads with atomic visibility, abort, ranged reads, listing,
 * removal, refused keys, config parsing, and the disk-full message.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "conf/conf.h"
#include "lib/ag.h"
#include "providers/storage.h"
#include "providers/storage_backend.h"
#include "tests/unit/fakes/testutil.h"

static struct storage *
open_local(const char *sub)
{
	struct storage_conf *c;
	struct storage *st = NULL;
	struct ag_err err;
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", tu_tmpdir(), sub);
	c = storage_conf_local("here", path);
	assert_non_null(c);
	if (storage_open(c, &st, &err) != 0)
		fail_msg("open: %s", err.msg);
	storage_conf_free(c);
	return (st);
}

static int
exists(const char *sub, const char *rel)
{
	char p[1024];
	struct stat sb;

	snprintf(p, sizeof(p), "%s/%s/%s", tu_tmpdir(), sub, rel);
	return (lstat(p, &sb) == 0);
}

struct sinkbuf {
	uint8_t buf[1 << 16];
	size_t len;
	int stop_after; /* calls before refusing, 0: never */
	int calls;
};

static int
sink(void *cookie, const uint8_t *b, size_t n)
{
	struct sinkbuf *s = cookie;

	if (s->stop_after != 0 && ++s->calls > s->stop_after)
		return (-1);
	if (n > sizeof(s->buf) - s->len)
		return (-1);
	memcpy(s->buf + s->len, b, n);
	s->len += n;
	return (0);
}

static void
test_open_creates(void **state)
{
	struct storage *st;
	struct stat sb;
	char p[512];

	(void)state;
	st = open_local("new/deeper");
	snprintf(p, sizeof(p), "%s/new/deeper", tu_tmpdir());
	assert_int_equal(stat(p, &sb), 0);
	assert_true(S_ISDIR(sb.st_mode));
	assert_int_equal(sb.st_mode & 0777, 0700);
	assert_string_equal(storage_name(st), "here");
	assert_true(storage_caps(st) & STORAGE_CAP_ATOMIC);
	storage_close(st);
}

static void
test_put_atomic(void **state)
{
	struct storage *st = open_local("atomic");
	struct storage_upload *up;
	struct storage_stats ss;
	struct objlist l = { 0 };
	struct sinkbuf sb = { .len = 0 };
	struct ag_err err;
	uint8_t data[3000];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7);
	assert_int_equal(storage_put_begin(st, "b/j/id/data.vgl", &up, &err),
	    0);
	assert_int_equal(storage_put_part(up, data, 1000, &err), 0);
	assert_int_equal(storage_put_part(up, data + 1000, 1000, &err), 0);
	/* Not visible before the commit, to get() or list(). */
	assert_int_equal(storage_get(st, "b/j/id/data.vgl", 0, UINT64_MAX,
			     sink, &sb, &err),
	    STORAGE_ABSENT);
	assert_int_equal(storage_list(st, "b/", 0, &l, &err), 0);
	assert_int_equal(l.n, 0);
	/* But listed as an unfinished upload. */
	assert_int_equal(storage_list(st, "b/", STORAGE_LIST_INCOMPLETE, &l,
			     &err),
	    0);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.v[0].name, "b/j/id/data.vgl");
	assert_int_equal(l.v[0].size, 2000);
	objlist_free(&l);
	/* A second writer of the same key is refused. */
	{
		struct storage_upload *up2;

		assert_int_equal(storage_put_begin(st, "b/j/id/data.vgl", &up2,
				     &err),
		    -1);
		assert_non_null(strstr(err.msg, "already in progress"));
	}
	assert_int_equal(storage_put_part(up, data + 2000, 1000, &err), 0);
	assert_int_equal(storage_put_commit(up, &err), 0);
	assert_false(exists("atomic", "b/j/id/data.vgl.part"));

	assert_int_equal(storage_get(st, "b/j/id/data.vgl", 0, UINT64_MAX,
			     sink, &sb, &err),
	    0);
	assert_int_equal(sb.len, sizeof(data));
	assert_memory_equal(sb.buf, data, sizeof(data));
	storage_stats(st, &ss);
	assert_int_equal(ss.bytes_written, 3000);
	assert_int_equal(ss.bytes_read, 3000);
	assert_int_equal(ss.puts, 1);

	/* Replacing keeps the old object until the new commit. */
	assert_int_equal(storage_put_begin(st, "b/j/id/data.vgl", &up, &err),
	    0);
	assert_int_equal(storage_put_part(up, (const uint8_t *)"new", 3, &err),
	    0);
	sb.len = 0;
	assert_int_equal(storage_get(st, "b/j/id/data.vgl", 0, UINT64_MAX,
			     sink, &sb, &err),
	    0);
	assert_int_equal(sb.len, 3000);
	assert_int_equal(storage_put_commit(up, &err), 0);
	sb.len = 0;
	assert_int_equal(storage_get(st, "b/j/id/data.vgl", 0, UINT64_MAX,
			     sink, &sb, &err),
	    0);
	assert_int_equal(sb.len, 3);
	storage_close(st);
}

static void
test_abort(void **state)
{
	struct storage *st = open_local("abort");
	struct storage_upload *up;
	struct objlist l = { 0 };
	struct ag_err err;

	(void)state;
	assert_int_equal(storage_put_begin(st, "x/y/z/obj", &up, &err), 0);
	assert_int_equal(storage_put_part(up, (const uint8_t *)"abc", 3, &err),
	    0);
	assert_true(exists("abort", "x/y/z/obj.part"));
	storage_put_abort(up);
	assert_false(exists("abort", "x/y/z/obj.part"));
	assert_false(exists("abort", "x")); /* empty folders pruned */
	assert_int_equal(storage_list(st, "", STORAGE_LIST_INCOMPLETE, &l,
			     &err),
	    0);
	assert_int_equal(l.n, 0);

	/* A crashed run's leftover is listed and can be cleaned. */
	assert_int_equal(storage_put_begin(st, "x/stale", &up, &err), 0);
	assert_int_equal(storage_put_part(up, (const uint8_t *)"abc", 3, &err),
	    0);
	/* While the upload runs it is locked. */
	assert_int_equal(storage_list(st, "x", STORAGE_LIST_INCOMPLETE, &l,
			     &err),
	    0);
	assert_int_equal(l.n, 1);
	assert_int_equal(storage_abort_incomplete(st, &l.v[0], &err), -1);
	assert_non_null(strstr(err.msg, "in progress"));
	/* Simulate the crash: drop the handle without unlinking. */
	storage_put_abort(up);
	assert_false(exists("abort", "x/stale.part"));
	{
		char p[512];
		int fd;

		snprintf(p, sizeof(p), "%s/abort/x", tu_tmpdir());
		assert_int_equal(mkdir(p, 0700), 0);
		snprintf(p, sizeof(p), "%s/abort/x/stale.part", tu_tmpdir());
		fd = open(p, O_WRONLY | O_CREAT, 0600);
		assert_true(fd >= 0);
		close(fd);
	}
	assert_int_equal(storage_abort_incomplete(st, &l.v[0], &err), 0);
	assert_false(exists("abort", "x/stale.part"));
	objlist_free(&l);
	storage_close(st);
}

static void
test_ranged_get(void **state)
{
	struct storage *st = open_local("range");
	struct sinkbuf sb = { .len = 0 };
	struct ag_err err;
	uint8_t data[5000];
	uint8_t *all;
	size_t i, n;

	(void)state;
	for (i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i ^ (i >> 8));
	assert_int_equal(storage_put(st, "r/obj", data, sizeof(data), &err),
	    0);
	assert_int_equal(storage_get(st, "r/obj", 100, 200, sink, &sb, &err),
	    0);
	assert_int_equal(sb.len, 200);
	assert_memory_equal(sb.buf, data + 100, 200);
	sb.len = 0;
	assert_int_equal(storage_get(st, "r/obj", 4990, UINT64_MAX, sink, &sb,
			     &err),
	    0);
	assert_int_equal(sb.len, 10);
	assert_memory_equal(sb.buf, data + 4990, 10);
	sb.len = 0;
	assert_int_equal(storage_get(st, "r/obj", 5000, 0, sink, &sb, &err),
	    0);
	assert_int_equal(sb.len, 0);
	/* Outside the object. */
	assert_int_equal(storage_get(st, "r/obj", 4990, 11, sink, &sb, &err),
	    -1);
	assert_non_null(strstr(err.msg, "outside the object"));
	assert_int_equal(storage_get(st, "r/obj", 5001, UINT64_MAX, sink, &sb,
			     &err),
	    -1);
	assert_int_equal(storage_get(st, "r/none", 0, 1, sink, &sb, &err),
	    STORAGE_ABSENT);
	assert_int_equal(storage_get(st, "nodir/none", 0, 1, sink, &sb, &err),
	    STORAGE_ABSENT);
	/* A sink that stops. */
	{
		struct sinkbuf s2 = { .stop_after = 1 };
		uint8_t *big = calloc(1, 3 << 20);

		assert_non_null(big);
		assert_int_equal(storage_put(st, "r/big", big, 3 << 20, &err),
		    0);
		free(big);
		assert_int_equal(storage_get(st, "r/big", 0, UINT64_MAX, sink,
				     &s2, &err),
		    -1);
		assert_non_null(strstr(err.msg, "stopped by reader"));
	}
	assert_int_equal(storage_get_buf(st, "r/obj", 1 << 20, &all, &n, &err),
	    0);
	assert_int_equal(n, sizeof(data));
	assert_memory_equal(all, data, n);
	free(all);
	assert_int_equal(storage_get_buf(st, "r/obj", 4999, &all, &n, &err),
	    -1);
	assert_non_null(strstr(err.msg, "larger than"));
	storage_close(st);
}

static void
test_list_remove(void **state)
{
	struct storage *st = open_local("list");
	struct objlist l = { 0 };
	struct ag_err err;
	const char *keys[] = { "h/nightly/2026-b/data.vgl",
		"h/nightly/2026-a/manifest.vgl", "h/nightly/2026-a/data.vgl",
		"h/weekly/2026-a/data.vgl", "h/nightlyx/z", "top" };
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(keys); i++)
		assert_int_equal(storage_put(st, keys[i],
				     (const uint8_t *)keys[i], i % 3 + 1,
				     &err),
		    0);
	assert_int_equal(storage_list(st, "h/nightly/", 0, &l, &err), 0);
	assert_int_equal(l.n, 3);
	assert_string_equal(l.v[0].name, "h/nightly/2026-a/data.vgl");
	assert_string_equal(l.v[1].name, "h/nightly/2026-a/manifest.vgl");
	assert_string_equal(l.v[2].name, "h/nightly/2026-b/data.vgl");
	assert_int_equal(l.v[2].size, 1);
	assert_true(l.v[0].mtime > 0);
	objlist_free(&l);
	/* A string prefix, as in S3. */
	assert_int_equal(storage_list(st, "h/nightly", 0, &l, &err), 0);
	assert_int_equal(l.n, 4);
	objlist_free(&l);
	assert_int_equal(storage_list(st, "", 0, &l, &err), 0);
	assert_int_equal(l.n, ARRAY_SIZE(keys));
	objlist_free(&l);
	assert_int_equal(storage_list(st, "nothing/", 0, &l, &err), 0);
	assert_int_equal(l.n, 0);
	assert_int_equal(storage_list(st, "../", 0, &l, &err), -1);

	assert_int_equal(storage_remove(st, "h/weekly/2026-a/data.vgl", &err),
	    0);
	assert_false(exists("list", "h/weekly")); /* pruned */
	assert_true(exists("list", "h/nightly"));
	assert_int_equal(storage_remove(st, "h/weekly/2026-a/data.vgl", &err),
	    0); /* absent is fine */

	/* Several at once: one remove per key for a backend without
	   batches; absent keys are fine, a bad key stops before any. */
	{
		const char *many[] = { "h/nightly/2026-a/manifest.vgl",
			"h/nightly/2026-a/data.vgl", "h/nightly/2026-a/gone" };
		const char *bad[] = { "h/nightly/2026-b/data.vgl", "../x" };

		assert_int_equal(storage_remove_many(st, bad, 2, &err), -1);
		assert_non_null(strstr(err.msg, "invalid object key"));
		assert_true(exists("list", "h/nightly/2026-b/data.vgl"));
		assert_int_equal(storage_remove_many(st, many, 3, &err), 0);
		assert_false(exists("list", "h/nightly/2026-a"));
		assert_true(exists("list", "h/nightly/2026-b/data.vgl"));
		assert_int_equal(storage_remove_many(st, many, 0, &err), 0);
	}
	storage_close(st);
}

static void
test_bad_keys(void **state)
{
	struct storage *st = open_local("keys");
	struct storage_upload *up;
	struct sinkbuf sb = { .len = 0 };
	struct ag_err err;
	const char *bad[] = { "", "/abs", "a//b", "a/../b", "..", "../x",
		"a/./b", "a/", ".", "a/b/..", "x\ny" };
	char longkey[STORAGE_KEY_MAX + 2];
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		assert_false(storage_key_valid(bad[i]));
		assert_int_equal(storage_put_begin(st, bad[i], &up, &err), -1);
		assert_non_null(strstr(err.msg, "invalid object key"));
		assert_int_equal(storage_get(st, bad[i], 0, 1, sink, &sb,
				     &err),
		    -1);
		assert_int_equal(storage_remove(st, bad[i], &err), -1);
	}
	memset(longkey, 'a', sizeof(longkey) - 1);
	longkey[sizeof(longkey) - 1] = '\0';
	assert_false(storage_key_valid(longkey));
	assert_true(storage_key_valid("a/b..c/.d"));
	/* The local backend keeps ".part" for itself. */
	assert_int_equal(storage_put_begin(st, "a/b.part", &up, &err), -1);
	assert_non_null(strstr(err.msg, "reserved"));
	storage_close(st);
}

static void
test_no_escape(void **state)
{
	struct storage *st = open_local("esc");
	struct storage_upload *up;
	struct ag_err err;
	char root[512], outside[512], link[600];

	(void)state;
	snprintf(root, sizeof(root), "%s/esc", tu_tmpdir());
	snprintf(outside, sizeof(outside), "%s/outside", tu_tmpdir());
	assert_int_equal(mkdir(outside, 0700), 0);
	snprintf(link, sizeof(link), "%s/link", root);
	assert_int_equal(symlink(outside, link), 0);
	/* A symlink planted inside the folder is not followed. */
	assert_int_equal(storage_put_begin(st, "link/x", &up, &err), -1);
	assert_non_null(strstr(err.msg, "local[here]: "));
	assert_false(exists("outside", "x.part"));
	/* A file where a folder should be. */
	assert_int_equal(storage_put(st, "f", (const uint8_t *)"1", 1, &err),
	    0);
	assert_int_equal(storage_put_begin(st, "f/x", &up, &err), -1);
	assert_non_null(strstr(err.msg, "Not a directory"));
	storage_close(st);
}

static void
test_open_errors(void **state)
{
	struct storage_conf *c;
	struct storage *st;
	struct ag_err err;
	char p[512];
	int fd;

	(void)state;
	assert_null(storage_conf_local("here", "relative/path"));
	assert_null(storage_conf_local("bad name", "/tmp"));
	snprintf(p, sizeof(p), "%s/afile", tu_tmpdir());
	fd = open(p, O_WRONLY | O_CREAT, 0600);
	assert_true(fd >= 0);
	close(fd);
	c = storage_conf_local("here", p);
	assert_int_equal(storage_open(c, &st, &err), -1);
	assert_non_null(strstr(err.msg, "local[here]: "));
	storage_conf_free(c);
}

/* Write the string ${text} to the /proc file ${path}; 0 or -1 (printed). */
static int
proc_write(const char *path, const char *text)
{
	int fd, rc = -1;

	if ((fd = open(path, O_WRONLY | O_CLOEXEC)) >= 0 &&
	    write(fd, text, strlen(text)) == (ssize_t)strlen(text))
		rc = 0;
	if (rc != 0)
		fprintf(stderr, "test_enospc: write %s: %s\n", path,
		    strerror(errno));
	if (fd >= 0)
		(void)close(fd);
	return (rc);
}

/*
 * Enter a mount namespace of our own: as root directly, otherwise inside a
 * user namespace that maps us to root (unshare -rm).  Print why and return
 * -1 when neither is allowed.
 */
static int
enter_mount_ns(void)
{
	char map[64];
	uid_t uid = geteuid();
	gid_t gid = getegid();

	if (uid == 0) {
		if (unshare(CLONE_NEWNS) != 0) {
			fprintf(stderr, "test_enospc: root, but unshare: %s\n",
			    strerror(errno));
			return (-1);
		}
		return (0);
	}
	if (unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0) {
		fprintf(stderr,
		    "test_enospc: not root and no user namespace "
		    "(unshare: %s): run as root, as CI does\n",
		    strerror(errno));
		return (-1);
	}
	if (proc_write("/proc/self/setgroups", "deny") != 0)
		return (-1);
	snprintf(map, sizeof(map), "0 %lu 1", (unsigned long)uid);
	if (proc_write("/proc/self/uid_map", map) != 0)
		return (-1);
	snprintf(map, sizeof(map), "0 %lu 1", (unsigned long)gid);
	return (proc_write("/proc/self/gid_map", map));
}

/*
 * The folder on a 64 KiB tmpfs, in a private mount namespace.  This must
 * run wherever the suite runs: a machine that refuses the mount fails the
 * test and says why, it is never skipped.
 */
static void
test_enospc(void **state)
{
	pid_t pid;
	int status;

	(void)state;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct storage_conf *c;
		struct storage *st;
		struct storage_upload *up;
		struct ag_err err;
		static uint8_t big[1 << 20];
		char p[512];

		if (enter_mount_ns() != 0)
			_exit(10);
		if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) {
			fprintf(stderr, "test_enospc: make / private: %s\n",
			    strerror(errno));
			_exit(11);
		}
		snprintf(p, sizeof(p), "%s/full", tu_tmpdir());
		if (mkdir(p, 0700) != 0 ||
		    mount("tmpfs", p, "tmpfs", 0, "size=64k") != 0) {
			fprintf(stderr,
			    "test_enospc: mount a 64 KiB tmpfs on "
			    "%s: %s\n",
			    p, strerror(errno));
			_exit(12);
		}
		if ((c = storage_conf_local("here", p)) == NULL ||
		    storage_open(c, &st, &err) != 0)
			_exit(2);
		if (storage_put_begin(st, "backups/x/data.vgl", &up, &err) !=
		    0)
			_exit(3);
		if (storage_put_part(up, big, sizeof(big), &err) != -1)
			_exit(4);
		if (strcmp(err.msg,
			"local[here]: write backups/x/data.vgl: "
			"No space left on device") != 0) {
			fprintf(stderr, "message: %s\n", err.msg);
			_exit(5);
		}
		storage_put_abort(up);
		storage_close(st);
		storage_conf_free(c);
		(void)umount(p);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status) >= 10)
		fail_msg("test_enospc could not mount its tmpfs (see above); "
			 "the test needs root or user namespaces");
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void
test_range_header(void **state)
{
	char b[STORAGE_RANGE_HDR_MAX];

	(void)state;
	assert_null(storage_range_header(b, sizeof(b), "Range", 0,
	    UINT64_MAX));
	assert_string_equal(storage_range_header(b, sizeof(b), "Range", 0, 1),
	    "Range: bytes=0-0");
	assert_string_equal(storage_range_header(b, sizeof(b), "x-ms-range", 7,
				UINT64_MAX),
	    "x-ms-range: bytes=7-");
	assert_string_equal(storage_range_header(b, sizeof(b), "x-ms-range",
				UINT64_MAX - 1, 1),
	    "x-ms-range: bytes=18446744073709551614-18446744073709551614");
}

static void
test_conf(void **state)
{
	struct conf *cf = NULL;
	struct conf_errs errs = { 0 };
	struct storage_conf *sc = NULL;
	struct storage *st;
	struct ag_err err;
	char text[1024];
	size_t i;

	(void)state;
	snprintf(text, sizeof(text),
	    "storage = {\n"
	    "  here = { type = \"local\"; path = \"%s/confstore\"; };\n"
	    "  bad1 = { type = \"local\"; path = \"rel\"; };\n"
	    "  bad2 = { type = \"local\"; pth = \"/x\"; };\n"
	    "  bad3 = { type = \"ftp\"; };\n"
	    "  bad4 = { type = \"local\"; };\n"
	    "  up = { type = \"local\"; path = \"%s/confstore\";\n"
	    "         upload_parallel = 1; upload_memory = \"8MiB\"; };\n"
	    "  bad5 = { type = \"local\"; path = \"/x\"; upload_parallel = 2; };\n"
	    "  bad6 = { type = \"local\"; path = \"/x\"; upload_parallel = 17; };\n"
	    "  bad7 = { type = \"local\"; path = \"/x\"; upload_memory = \"512KiB\"; };\n"
	    "};\n",
	    tu_tmpdir(), tu_tmpdir());
	cf = tu_conf_load(text, &errs);
	for (i = 0; i < errs.n; i++)
		print_message("conf: %s\n", errs.msgs[i]);
	assert_int_equal(errs.n, 0);
	assert_non_null(cf->storage);

	assert_int_equal(storage_conf_find(cf->storage, "here", &sc, &errs),
	    0);
	assert_string_equal(sc->name, "here");
	assert_string_equal(sc->type, "local");
	assert_int_equal(storage_open(sc, &st, &err), 0);
	storage_close(st);
	storage_conf_free(sc);
	assert_int_equal(errs.n, 0);

	assert_int_equal(storage_conf_find(cf->storage, "bad1", &sc, &errs),
	    -1);
	assert_int_equal(errs.n, 1);
	assert_non_null(strstr(errs.msgs[0], "absolute"));
	assert_int_equal(storage_conf_find(cf->storage, "bad2", &sc, &errs),
	    -1);
	assert_true(errs.n >= 2);
	assert_non_null(strstr(errs.msgs[1], "pth"));
	assert_int_equal(storage_conf_find(cf->storage, "bad3", &sc, &errs),
	    -1);
	assert_non_null(strstr(errs.msgs[errs.n - 1], "unknown storage type"));
	i = errs.n;
	assert_int_equal(storage_conf_find(cf->storage, "bad4", &sc, &errs),
	    -1);
	assert_true(errs.n > i);
	assert_non_null(strstr(errs.msgs[errs.n - 1], "path"));
	i = errs.n;
	assert_int_equal(storage_conf_find(cf->storage, "nope", &sc, &errs),
	    -1);
	assert_non_null(strstr(errs.msgs[i], "not defined"));

	/* The common upload settings. */
	assert_int_equal(storage_conf_find(cf->storage, "up", &sc, &errs), 0);
	assert_int_equal(storage_open(sc, &st, &err), 0);
	assert_int_equal(storage_upload_parallel(st), 1);
	assert_int_equal(storage_upload_memory(st), 8 << 20);
	storage_close(st);
	storage_conf_free(sc);
	i = errs.n;
	assert_int_equal(storage_conf_find(cf->storage, "bad5", &sc, &errs),
	    -1);
	assert_non_null(strstr(errs.msgs[i], "upload_parallel"));
	assert_non_null(strstr(errs.msgs[i], "one at a time"));
	i = errs.n;
	assert_int_equal(storage_conf_find(cf->storage, "bad6", &sc, &errs),
	    -1);
	assert_non_null(strstr(errs.msgs[i], "upload_parallel"));
	i = errs.n;
	assert_int_equal(storage_conf_find(cf->storage, "bad7", &sc, &errs),
	    -1);
	assert_non_null(strstr(errs.msgs[i], "upload_memory"));
	assert_non_null(strstr(errs.msgs[i], "between 1MiB and 4GiB"));
	conf_errs_free(&errs);
	conf_free(cf);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_open_creates),
		cmocka_unit_test(test_range_header),
		cmocka_unit_test(test_put_atomic),
		cmocka_unit_test(test_abort),
		cmocka_unit_test(test_ranged_get),
		cmocka_unit_test(test_list_remove),
		cmocka_unit_test(test_bad_keys),
		cmocka_unit_test(test_no_escape),
		cmocka_unit_test(test_open_errors),
		cmocka_unit_test(test_enospc),
		cmocka_unit_test(test_conf),
	};

	return (cmocka_run_group_tests(tests, tu_tmpdir_setup,
	    tu_tmpdir_teardown));
}
