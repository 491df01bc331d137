/*
 * test_restore.c: restore_run() end to end against backups written by the
 * real job runner (job_run) into local storage in a temp dir.
 *
 * A tree with every kind of entry (regular, empty, 1.5 MiB random, sparse,
 * symlinks, a hard link, a fifo, names over 100 bytes, UTF-8 and invalid
 * UTF-8 names, modes 4755/1777/0600/0750, a user.* xattr, fixed mtimes)
 * is backed up in 64 KiB slices and restored whole, then compared entry by
 * entry (lstat type, mode, size, mtime, owner, link targets, xattrs, bytes,
 * the hard link's shared inode).  Partial restores of a file, a folder and
 * a lone hard link; a missing path (with a suggestion) writes nothing.
 * The single-file cost is proved with storage_stats: restoring a 1 KiB
 * file out of 20 MiB of random data in 64 KiB slices reads exactly the
 * manifest plus the chunks that hold it.  Failures: a wrong key, a flipped
 * bit in data.vgl (the error names the chunk, the file being written is
 * removed, nothing lands outside the target), a truncated data.vgl,
 * cancelling, a file size limit (write errors), a tar stream whose sha256
 * differs from the manifest, and a crafted malicious backup sealed with the
 * real stages ("../evil", an absolute path, a symlink to outside followed
 * by a file through it) that is refused without writing outside.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/xattr.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/ag.h"
#include "lib/clock.h"
#include "lib/crypto/crypto.h"
#include "lib/crypto/crypto_keys.h"
#include "providers/storage.h"
#include "backup/catalog.h"
#include "backup/format.h"
#include "backup/job.h"
#include "backup/jobconf.h"
#include "backup/manifest.h"
#include "backup/stage.h"
#include "backup/st_archive.h"
#include "backup/st_compress.h"
#include "backup/st_encrypt.h"
#include "backup/st_upload.h"
#include "backup/restore.h"
#include "tests/unit/fakes/tarseal.h"
#include "tests/unit/fakes/testutil.h"

#define SLICE ((size_t)64 << 10)
#define JOB "nightly"
#define LONGDIR \
	"d-long-folder-name-padding-padding-padding-" \
	"padding-padding-padding-padding-padding-padding-" \
	"padding-pad"
#define LONGFILE \
	"f-long-file-name-padding-padding-padding-padding-" \
	"padding-padding-padding-padding-padding-padding-" \
	"padding-padding-padding-padding-padding-end.txt"
#define BADNAME "bad-\xff\xfe-name.txt"
#define UTFNAME "h\xc3\xa9llo-\xc3\xbc.txt"

static char src[PATH_MAX]; /* the tree backed up */
static char rel[PATH_MAX]; /* its archive path (no leading /) */
static char keypath[PATH_MAX];
static char state[PATH_MAX];
static struct crypto_key *key;
static bool have_xattr;

/* One backup in its own local storage folder. */
struct bk {
	char store[PATH_MAX];
	struct storage *st;
	char id[FORMAT_BACKUP_ID_SIZE];
};

static struct bk main_bk; /* of ${src}, 64 KiB slices */

#define pathf tu_pathf

static void
random_file(const char *path, size_t len)
{
	uint8_t *buf = malloc(len);

	assert_non_null(buf);
	assert_int_equal(crypto_random(buf, len), 0);
	tu_write_file(path, buf, len, 0644);
	free(buf);
}

static void
set_mtime(const char *path, time_t s, long ns)
{
	struct timespec ts[2] = { { s, ns }, { s, ns } };

	assert_int_equal(utimensat(AT_FDCWD, path, ts, AT_SYMLINK_NOFOLLOW),
	    0);
}

static void
build_tree(void)
{
	char p[PATH_MAX], q[PATH_MAX];
	char text[1200];
	int fd;

	assert_int_equal(mkdir(src, 0755), 0);
	for (size_t i = 0; i + 12 < sizeof(text); i += 12)
		memcpy(text + i, "hello world\n", 12);
	pathf(p, "%s/a.txt", src);
	tu_write_file(p, text, 1188, 0644);
	have_xattr = setxattr(p, "user.vigil-test", "xattr value", 11, 0) == 0;
	pathf(p, "%s/empty", src);
	tu_write_file(p, "", 0, 0644);
	pathf(p, "%s/big.bin", src);
	random_file(p, 1536 * 1024);
	/* 8 MiB, data at 4 MiB and at the end only. */
	pathf(p, "%s/sparse", src);
	assert_true((fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644)) >= 0);
	assert_int_equal(ftruncate(fd, 8 << 20), 0);
	assert_int_equal(pwrite(fd, "middle", 6, 4 << 20), 6);
	assert_int_equal(pwrite(fd, "end", 3, (8 << 20) - 3), 3);
	close(fd);
	pathf(p, "%s/link", src);
	assert_int_equal(symlink("a.txt", p), 0);
	pathf(p, "%s/dangling", src);
	assert_int_equal(symlink("/nonexistent/x", p), 0);
	pathf(p, "%s/a.txt", src);
	pathf(q, "%s/hard", src);
	assert_int_equal(link(p, q), 0);
	pathf(p, "%s/fifo", src);
	assert_int_equal(mkfifo(p, 0640), 0);
	pathf(p, "%s/" UTFNAME, src);
	tu_write_file(p, "utf-8\n", 6, 0644);
	pathf(p, "%s/" BADNAME, src);
	tu_write_file(p, "not utf-8\n", 10, 0644);
	pathf(p, "%s/" LONGDIR, src);
	assert_int_equal(mkdir(p, 0755), 0);
	pathf(p, "%s/" LONGDIR "/" LONGFILE, src);
	tu_write_file(p, "long\n", 5, 0644);
	pathf(p, "%s/suid", src);
	tu_write_file(p, "#!/bin/sh\n", 10, 04755);
	pathf(p, "%s/secret", src);
	tu_write_file(p, "secret\n", 7, 0600);
	pathf(p, "%s/sticky", src);
	assert_int_equal(mkdir(p, 0755), 0);
	assert_int_equal(chmod(p, 01777), 0);
	pathf(p, "%s/sticky/in", src);
	tu_write_file(p, "in\n", 3, 0644);
	pathf(p, "%s/sub", src);
	assert_int_equal(mkdir(p, 0750), 0);
	assert_int_equal(chmod(p, 0750), 0);
	pathf(p, "%s/sub/x.txt", src);
	tu_write_file(p, "x\n", 2, 0644);
	pathf(p, "%s/sub/deeper", src);
	assert_int_equal(mkdir(p, 0755), 0);
	pathf(p, "%s/sub/deeper/y.txt", src);
	tu_write_file(p, "y\n", 2, 0644);
	/* A hard link across folders (for the helper's folder cleanup). */
	pathf(p, "%s/other", src);
	assert_int_equal(mkdir(p, 0755), 0);
	pathf(p, "%s/links", src);
	assert_int_equal(mkdir(p, 0755), 0);
	pathf(p, "%s/links/deep", src);
	assert_int_equal(mkdir(p, 0755), 0);
	pathf(p, "%s/other/t2.txt", src);
	tu_write_file(p, "linked across folders\n", 22, 0644);
	pathf(q, "%s/links/deep/l2.txt", src);
	assert_int_equal(link(p, q), 0);

	/* Times last, folders after their contents. */
	{
		static const char *const files[] = { "a.txt", "empty",
			"big.bin", "sparse", "fifo", UTFNAME, BADNAME,
			LONGDIR "/" LONGFILE, "suid", "secret", "sticky/in",
			"sub/x.txt", "sub/deeper/y.txt", "link", "dangling",
			"sub/deeper", "sub", "sticky", LONGDIR, NULL };

		for (size_t i = 0; files[i] != NULL; i++) {
			pathf(p, "%s/%s", src, files[i]);
			set_mtime(p, 1700000000 + (time_t)i * 1000,
			    (long)i * 1000);
		}
	}
}

/* Back ${paths} up into a fresh local storage ${b}->store. */
static void
make_backup(struct bk *b, const char *store, char **paths, size_t slice)
{
	struct job_conf jc = { 0 };
	struct job_run_opts o = { .host = "testhost", .state_dir = state };
	struct job_result res;
	char *exclude[] = { NULL };
	struct ag_err err = { "" };
	size_t n = 0;

	while (paths[n] != NULL)
		n++;
	pathf(b->store, "%s", store);
	jc.name = (char *)JOB;
	jc.paths = paths;
	jc.npaths = n;
	jc.exclude = exclude;
	jc.storage = storage_conf_local("here", b->store);
	assert_non_null(jc.storage);
	jc.prefix = (char *)"";
	jc.key_mode = JOB_KEY_FILE;
	jc.key_path = keypath;
	jc.slice_size = slice;
	jc.level = 6;
	jc.threads = 2;
	jc.hook_timeout_ms = 10000;
	if (job_run(&jc, &o, &res) != 0)
		fail_msg("job_run: %s", res.error);
	snprintf(b->id, sizeof(b->id), "%s", res.backup_id);
	if (storage_open(jc.storage, &b->st, &err) != 0)
		fail_msg("storage_open: %s", err.msg);
	storage_conf_free(jc.storage);
}

static void
free_backup(struct bk *b)
{
	storage_close(b->st);
	b->st = NULL;
}

static struct manifest *
load_manifest(struct bk *b)
{
	struct manifest *m = NULL;
	struct ag_err err = { "" };

	if (catalog_load_manifest(b->st, "", JOB, b->id, key, true, &m,
		&err) != 0)
		fail_msg("manifest: %s", err.msg);
	return m;
}

/* Path of ${b}'s object ${name}. */
static void
object_path(const struct bk *b, const char *name, char *out)
{
	pathf(out, "%s/%s/%s/%s", b->store, JOB, b->id, name);
}

/* --- Comparing trees -------------------------------------------------- */

static void
cmp_xattrs(const char *a, const char *b)
{
	char la[4096], lb[4096], va[1024], vb[1024];
	ssize_t na, nb, xa, xb;

	na = llistxattr(a, la, sizeof(la));
	nb = llistxattr(b, lb, sizeof(lb));
	if (na < 0 && nb < 0)
		return;
	assert_true(na >= 0 && nb >= 0);
	for (char *n = la; n < la + na; n += strlen(n) + 1) {
		if (strncmp(n, "user.", 5) != 0)
			continue;
		xa = lgetxattr(a, n, va, sizeof(va));
		xb = lgetxattr(b, n, vb, sizeof(vb));
		if (xa != xb || xa < 0 || memcmp(va, vb, (size_t)xa) != 0)
			fail_msg("%s: xattr %s differs", b, n);
	}
}

static void
cmp_content(const char *a, const char *b)
{
	static uint8_t ba[1 << 16], bb[1 << 16];
	FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
	size_t na, nb;

	assert_non_null(fa);
	assert_non_null(fb);
	do {
		na = fread(ba, 1, sizeof(ba), fa);
		nb = fread(bb, 1, sizeof(bb), fb);
		if (na != nb || memcmp(ba, bb, na) != 0)
			fail_msg("%s: content differs from %s", b, a);
	} while (na > 0);
	fclose(fa);
	fclose(fb);
}

/* Compare the entry ${a} (source) with ${b} (restored), recursively. */
static void
cmp_tree(const char *a, const char *b, bool times)
{
	struct stat sa, sb;
	char ta[PATH_MAX], tb[PATH_MAX];
	ssize_t n, m;

	assert_int_equal(lstat(a, &sa), 0);
	if (lstat(b, &sb) != 0)
		fail_msg("%s: missing after restore", b);
	if ((sa.st_mode & S_IFMT) != (sb.st_mode & S_IFMT))
		fail_msg("%s: type %o, want %o", b, sb.st_mode & S_IFMT,
		    sa.st_mode & S_IFMT);
	if (!S_ISLNK(sa.st_mode) &&
	    (sa.st_mode & 07777) != (sb.st_mode & 07777))
		fail_msg("%s: mode %o, want %o", b, sb.st_mode & 07777,
		    sa.st_mode & 07777);
	if (sa.st_uid != sb.st_uid || sa.st_gid != sb.st_gid)
		fail_msg("%s: owner %d:%d, want %d:%d", b, (int)sb.st_uid,
		    (int)sb.st_gid, (int)sa.st_uid, (int)sa.st_gid);
	/*
	 * Seconds: the pax_restricted writer keeps nanoseconds only for
	 * entries that get an extended header anyway.
	 */
	if (times && !S_ISLNK(sa.st_mode) &&
	    sa.st_mtim.tv_sec != sb.st_mtim.tv_sec)
		fail_msg("%s: mtime %jd, want %jd", b,
		    (intmax_t)sb.st_mtim.tv_sec, (intmax_t)sa.st_mtim.tv_sec);
	if (S_ISLNK(sa.st_mode)) {
		n = readlink(a, ta, sizeof(ta));
		m = readlink(b, tb, sizeof(tb));
		assert_true(n > 0);
		if (n != m || memcmp(ta, tb, (size_t)n) != 0)
			fail_msg("%s: link target differs", b);
		return;
	}
	cmp_xattrs(a, b);
	if (S_ISREG(sa.st_mode)) {
		assert_int_equal(sa.st_size, sb.st_size);
		cmp_content(a, b);
	}
	if (S_ISDIR(sa.st_mode)) {
		DIR *d = opendir(a);
		struct dirent *de;
		size_t na = 0, nb = 0;

		assert_non_null(d);
		while ((de = readdir(d)) != NULL) {
			if (strcmp(de->d_name, ".") == 0 ||
			    strcmp(de->d_name, "..") == 0)
				continue;
			na++;
			pathf(ta, "%s/%s", a, de->d_name);
			pathf(tb, "%s/%s", b, de->d_name);
			cmp_tree(ta, tb, times);
		}
		closedir(d);
		assert_non_null(d = opendir(b));
		while ((de = readdir(d)) != NULL)
			if (strcmp(de->d_name, ".") != 0 &&
			    strcmp(de->d_name, "..") != 0)
				nb++;
		closedir(d);
		if (na != nb)
			fail_msg("%s: %zu entries, want %zu", b, nb, na);
	}
}

/*
 * After a failed restore: every regular file under ${b} that exists is
 * whole (equal to its source under ${a}); count them in ${ret_n}.
 */
static void
check_no_partial(const char *a, const char *b, size_t *ret_n)
{
	char ta[PATH_MAX], tb[PATH_MAX];
	struct dirent *de;
	struct stat sb;
	DIR *d;

	if ((d = opendir(b)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		pathf(ta, "%s/%s", a, de->d_name);
		pathf(tb, "%s/%s", b, de->d_name);
		assert_int_equal(lstat(tb, &sb), 0);
		if (S_ISDIR(sb.st_mode)) {
			check_no_partial(ta, tb, ret_n);
		} else if (S_ISREG(sb.st_mode)) {
			cmp_content(ta, tb);
			(*ret_n)++;
		}
	}
	closedir(d);
}

/* The names in ${dir}, sorted, as one string (to see strays). */
static void
list_dir(const char *dir, char *out, size_t outlen)
{
	tu_names(dir, out, outlen);
}

static bool
exists(const char *path)
{
	struct stat sb;

	return lstat(path, &sb) == 0;
}

/* --- Setup ------------------------------------------------------------ */

static int
group_setup(void **state_)
{
	struct ag_err err = { "" };
	char *paths[2];
	char store[PATH_MAX];

	umask(022);
	if (tu_tmpdir_setup(state_) != 0)
		return -1;
	pathf(src, "%s/src", tu_tmpdir());
	snprintf(rel, sizeof(rel), "%s", src + 1);
	pathf(keypath, "%s/backup.key", tu_tmpdir());
	pathf(state, "%s/state", tu_tmpdir());
	if (mkdir(state, 0700) != 0 ||
	    crypto_keys_generate_keyfile(keypath, &err) != 0 ||
	    (key = crypto_keys_load_keyfile(keypath, &err)) == NULL) {
		fprintf(stderr, "setup: %s\n", err.msg);
		return -1;
	}
	build_tree();
	paths[0] = src;
	paths[1] = NULL;
	pathf(store, "%s/store", tu_tmpdir());
	make_backup(&main_bk, store, paths, SLICE);
	return 0;
}

static int
group_teardown(void **state_)
{
	free_backup(&main_bk);
	crypto_keys_free(key);
	/* KEEP_TMP=1 keeps the folder for a look afterwards. */
	(void)tu_tmpdir_teardown(state_);
	return 0;
}

/* restore_run() on ${b} into ${target} with ${paths}. */
static int
restore(struct bk *b, const char *target, const char *const *paths,
    struct restore_opts *o, struct restore_result *res, struct ag_err *err)
{
	struct restore_opts def = { 0 };

	if (o == NULL)
		o = &def;
	o->target = target;
	o->paths = paths;
	if (o->workers == 0)
		o->workers = 2;
	return restore_run(b->st, "", JOB, b->id, key, o, res, err);
}

/* --- Tests ------------------------------------------------------------ */

struct prog {
	size_t calls;
	struct restore_progress last;
	volatile sig_atomic_t *cancel;
	uint64_t cancel_after;
};

static void
on_progress(void *cookie, const struct restore_progress *p)
{
	struct prog *pr = cookie;

	pr->calls++;
	assert_false(pr->last.done);
	assert_true(p->tar_bytes >= pr->last.tar_bytes);
	pr->last = *p;
	if (pr->cancel != NULL && p->tar_bytes >= pr->cancel_after)
		*pr->cancel = 1;
}

static void
test_full_roundtrip(void **state_)
{
	struct restore_result res;
	struct restore_opts o = { 0 };
	struct prog pr = { 0 };
	struct ag_err err = { "" };
	struct manifest *m = load_manifest(&main_bk);
	struct stat s1, s2;
	char target[PATH_MAX], p[PATH_MAX], q[PATH_MAX];

	(void)state_;
	pathf(target, "%s/t-full/not/yet", tu_tmpdir());
	o.progress = on_progress;
	o.cookie = &pr;
	if (restore(&main_bk, target, NULL, &o, &res, &err) != 0)
		fail_msg("restore: %s", err.msg);
	assert_true(res.ok);
	assert_false(res.partial);
	assert_int_equal(res.refused, 0);
	assert_int_equal(res.tar_bytes, m->tar_size);
	assert_int_equal(res.chunks, m->nchunks);
	assert_true(m->nchunks > 20);
	assert_int_equal(res.entries, m->nfiles);
	assert_int_equal(res.removed[0], '\0');
	/* Reads: the manifest and data.vgl, each once. */
	assert_true(res.bytes_read > m->data_size);
	assert_true(res.bytes_read < m->data_size + 65536);
	/* Progress: monotonic, ends with done and the totals. */
	assert_true(pr.calls >= 1);
	assert_true(pr.last.done);
	assert_int_equal(pr.last.tar_bytes, m->tar_size);
	assert_int_equal(pr.last.tar_total, m->tar_size);
	assert_int_equal(pr.last.files, m->nfiles);

	/* The target was made 0700; the tree is identical. */
	assert_int_equal(stat(target, &s1), 0);
	assert_int_equal(s1.st_mode & 07777, 0700);
	pathf(p, "%s/%s", target, rel);
	cmp_tree(src, p, true);
	pathf(p, "%s/%s/a.txt", target, rel);
	pathf(q, "%s/%s/hard", target, rel);
	assert_int_equal(stat(p, &s1), 0);
	assert_int_equal(stat(q, &s2), 0);
	assert_int_equal(s1.st_ino, s2.st_ino);
	if (have_xattr) {
		char v[64];

		assert_int_equal(lgetxattr(p, "user.vigil-test", v, sizeof(v)),
		    11);
	}

	/* Again into the same folder: existing files are replaced. */
	tu_write_file(p, "changed\n", 8, 0644);
	pathf(q, "%s/%s/stray", target, rel);
	tu_write_file(q, "mine\n", 5, 0644);
	if (restore(&main_bk, target, NULL, NULL, &res, &err) != 0)
		fail_msg("restore again: %s", err.msg);
	pathf(p, "%s/a.txt", src);
	pathf(q, "%s/%s/a.txt", target, rel);
	cmp_content(p, q);
	pathf(q, "%s/%s/stray", target, rel);
	assert_true(exists(q)); /* other files are left alone */

	/* no_overwrite keeps what is there. */
	pathf(q, "%s/%s/a.txt", target, rel);
	assert_int_equal(unlink(q), 0);
	tu_write_file(q, "changed\n", 8, 0644);
	o = (struct restore_opts){ .no_overwrite = true };
	(void)restore(&main_bk, target, NULL, &o, &res, &err);
	assert_int_equal(stat(q, &s1), 0);
	assert_int_equal(s1.st_size, 8);
	manifest_free(m);
}

static void
test_partial_file(void **state_)
{
	struct restore_result res;
	struct ag_err err = { "" };
	char target[PATH_MAX], want[PATH_MAX], p[PATH_MAX];
	const char *paths[2] = { want, NULL };
	size_t n = 0;

	(void)state_;
	pathf(target, "%s/t-file", tu_tmpdir());
	/* A leading '/' is taken as the archive root. */
	pathf(want, "/%s/" LONGDIR "/" LONGFILE, rel);
	if (restore(&main_bk, target, paths, NULL, &res, &err) != 0)
		fail_msg("restore: %s", err.msg);
	assert_true(res.ok);
	assert_true(res.partial);
	assert_int_equal(res.extracted, 1);
	assert_true(res.chunks <= 2);
	pathf(p, "%s/%s/" LONGDIR "/" LONGFILE, target, rel);
	cmp_tree(want, p, true);
	/* Nothing else: only the folders on the way. */
	pathf(p, "%s/%s", target, rel);
	check_no_partial(src, p, &n);
	assert_int_equal(n, 1);
	pathf(p, "%s/%s/a.txt", target, rel);
	assert_false(exists(p));

	/* The big file: many chunks, one ranged GET. */
	pathf(want, "%s/big.bin", rel);
	if (restore(&main_bk, target, paths, NULL, &res, &err) != 0)
		fail_msg("restore big.bin: %s", err.msg);
	assert_true(res.chunks >= 24);
	pathf(p, "%s/%s/big.bin", target, rel);
	pathf(want, "%s/big.bin", src);
	cmp_tree(want, p, true);
}

static void
test_partial_dir(void **state_)
{
	struct restore_result res;
	struct ag_err err = { "" };
	char target[PATH_MAX], w1[PATH_MAX], w2[PATH_MAX], w3[PATH_MAX];
	char p[PATH_MAX], q[PATH_MAX];
	const char *paths[4] = { w1, w2, w3, NULL };
	size_t n = 0;

	(void)state_;
	pathf(target, "%s/t-dir", tu_tmpdir());
	/* A folder, something inside it again, and a UTF-8 name. */
	pathf(w1, "%s/sub/", rel);
	pathf(w2, "%s/sub/deeper/y.txt", rel);
	pathf(w3, "%s/" BADNAME, rel);
	if (restore(&main_bk, target, paths, NULL, &res, &err) != 0)
		fail_msg("restore: %s", err.msg);
	assert_true(res.ok);
	assert_int_equal(res.extracted, 5); /* sub, x, deeper, y, bad */
	pathf(p, "%s/sub", src);
	pathf(q, "%s/%s/sub", target, rel);
	cmp_tree(p, q, true);
	pathf(p, "%s/" BADNAME, src);
	pathf(q, "%s/%s/" BADNAME, target, rel);
	cmp_tree(p, q, true);
	pathf(q, "%s/%s", target, rel);
	check_no_partial(src, q, &n);
	assert_int_equal(n, 3);
}

static void
test_partial_hardlink(void **state_)
{
	struct manifest *m = load_manifest(&main_bk);
	const struct manifest_file *f;
	struct restore_result res;
	struct ag_err err = { "" };
	char target[PATH_MAX], p[PATH_MAX], q[PATH_MAX], dir[PATH_MAX];
	const char *paths[2] = { NULL, NULL };
	struct stat sb;
	size_t links = 0, n;
	char *slash;

	(void)state_;
	/*
	 * Each hard-link entry alone (whichever name of a pair came second
	 * in the tar is the link): its name gets the data, the other name
	 * and the folders made only for it are gone.
	 */
	for (size_t i = 0; i < m->nfiles; i++) {
		f = &m->files[i];
		if (f->type != MANIFEST_HARDLINK)
			continue;
		paths[0] = f->path;
		pathf(target, "%s/t-hard-%zu", tu_tmpdir(), links++);
		if (restore(&main_bk, target, paths, NULL, &res, &err) != 0)
			fail_msg("restore %s: %s", f->path, err.msg);
		assert_true(res.ok);
		pathf(p, "/%s", f->path);
		pathf(q, "%s/%s", target, f->path);
		cmp_content(p, q);
		assert_int_equal(stat(q, &sb), 0);
		assert_int_equal(sb.st_nlink, 1);
		pathf(q, "%s/%s", target, f->target);
		assert_false(exists(q));
		/* The target's folder stays only if the link needs it. */
		pathf(dir, "%s", f->target);
		assert_non_null(slash = strrchr(dir, '/'));
		*slash = '\0';
		n = strlen(dir);
		pathf(q, "%s/%s", target, dir);
		if (strncmp(f->path, dir, n) == 0 && f->path[n] == '/')
			assert_true(exists(q));
		else
			assert_false(exists(q));
	}
	assert_int_equal(links, 2);
	manifest_free(m);
}

static void
test_partial_missing(void **state_)
{
	struct restore_result res;
	struct ag_err err = { "" };
	char target[PATH_MAX], want[PATH_MAX], msg[3 * PATH_MAX];
	const char *paths[2] = { want, NULL };

	(void)state_;
	pathf(target, "%s/t-missing", tu_tmpdir());
	pathf(want, "%s/a.tx", rel);
	assert_int_equal(restore(&main_bk, target, paths, NULL, &res, &err),
	    -1);
	snprintf(msg, sizeof(msg),
	    "%s/a.tx is not in backup " JOB "/%s; "
	    "did you mean %s/a.txt?",
	    rel, main_bk.id, rel);
	assert_string_equal(err.msg, msg);
	assert_false(exists(target));
	assert_false(res.written);

	/* From the wrong root: the suffix is found. */
	snprintf(want, sizeof(want), "src/sub/x.txt");
	assert_int_equal(restore(&main_bk, target, paths, NULL, &res, &err),
	    -1);
	snprintf(msg, sizeof(msg), "did you mean %s/sub/x.txt?", rel);
	assert_non_null(strstr(err.msg, msg));
	/* Nothing like it. */
	snprintf(want, sizeof(want), "no/such/thing/anywhere");
	assert_int_equal(restore(&main_bk, target, paths, NULL, &res, &err),
	    -1);
	snprintf(msg, sizeof(msg),
	    "no/such/thing/anywhere is not in backup " JOB "/%s", main_bk.id);
	assert_string_equal(err.msg, msg);
	assert_false(exists(target));
}

/* The size of ${b}'s manifest.vgl, as listed. */
static uint64_t
manifest_object_size(struct bk *b)
{
	struct catalog c = { 0 };
	struct ag_err err = { "" };
	uint64_t size = 0;

	assert_int_equal(catalog_list(b->st, "", JOB, &c, &err), 0);
	for (size_t i = 0; i < c.n; i++)
		if (strcmp(c.v[i].id, b->id) == 0)
			size = c.v[i].manifest_size;
	catalog_free(&c);
	assert_true(size > 0);
	return size;
}

/*
 * The sealed bytes of the chunks holding ${f} that ${seen} (NULL, or one
 * flag per chunk, set here) has not counted yet.
 */
static uint64_t
chunk_bytes(const struct manifest *m, const struct manifest_file *f,
    bool *seen)
{
	uint64_t n = 0;
	size_t a, z;

	assert_int_equal(manifest_chunk_span(m, f->tar_offset, f->tar_len, &a,
			     &z),
	    0);
	for (size_t i = a; i <= z; i++) {
		if (seen != NULL && seen[i])
			continue;
		if (seen != NULL)
			seen[i] = true;
		n += m->chunks[i].sealed_len;
	}
	return n;
}

/* The single-file proof: a 1 KiB file costs the manifest plus its chunks. */
static void
test_single_file_reads(void **state_)
{
	struct bk b = { 0 };
	struct manifest *m;
	const struct manifest_file *f;
	struct restore_result res;
	struct ag_err err = { "" };
	char dir[PATH_MAX], p[PATH_MAX], want[PATH_MAX], store[PATH_MAX];
	char target[PATH_MAX];
	char *paths[2] = { dir, NULL };
	const char *rpaths[2] = { want, NULL };
	uint8_t kib[1024];
	uint64_t manifest_size = 0, expect;
	size_t a, z;

	(void)state_;
	pathf(dir, "%s/big20", tu_tmpdir());
	assert_int_equal(mkdir(dir, 0755), 0);
	pathf(p, "%s/random.bin", dir);
	random_file(p, 20 << 20);
	pathf(p, "%s/small.txt", dir);
	assert_int_equal(crypto_random(kib, sizeof(kib)), 0);
	tu_write_file(p, kib, sizeof(kib), 0644);
	pathf(store, "%s/store20", tu_tmpdir());
	make_backup(&b, store, paths, SLICE);
	m = load_manifest(&b);
	manifest_size = manifest_object_size(&b);
	assert_true(m->data_size > (20u << 20));

	pathf(want, "%s/small.txt", dir + 1);
	assert_non_null(f = manifest_find(m, want));
	assert_int_equal(manifest_chunk_span(m, f->tar_offset, f->tar_len, &a,
			     &z),
	    0);
	expect = manifest_size + chunk_bytes(m, f, NULL);
	pathf(target, "%s/t-small", tu_tmpdir());
	if (restore(&b, target, rpaths, NULL, &res, &err) != 0)
		fail_msg("restore: %s", err.msg);
	pathf(p, "%s/%s", target, want);
	pathf(want, "%s/small.txt", dir);
	cmp_content(want, p);
	/* Exactly the manifest and the chunks holding the file... */
	assert_int_equal(res.bytes_read, expect);
	assert_true(res.chunks == z - a + 1 && res.chunks <= 2);
	/* ... which is less than two slices plus the manifest. */
	assert_true(res.bytes_read <
	    2 * (st_compress_bound(SLICE) + FORMAT_CHUNK_OVERHEAD) +
		manifest_size);
	assert_true(res.bytes_read < m->data_size / 50);
	manifest_free(m);
	free_backup(&b);
	(void)tu_rmtree(dir);
	(void)tu_rmtree(store);
}

static void
test_wrong_key(void **state_)
{
	struct crypto_key *k2;
	struct restore_opts o = { .workers = 1 };
	struct restore_result res;
	struct ag_err err = { "" };
	char target[PATH_MAX], kp[PATH_MAX];

	(void)state_;
	pathf(kp, "%s/other.key", tu_tmpdir());
	assert_int_equal(crypto_keys_generate_keyfile(kp, &err), 0);
	assert_non_null(k2 = crypto_keys_load_keyfile(kp, &err));
	pathf(target, "%s/t-wrongkey", tu_tmpdir());
	o.target = target;
	assert_int_equal(restore_run(main_bk.st, "", JOB, main_bk.id, k2, &o,
			     &res, &err),
	    -1);
	assert_int_equal(strncmp(err.msg, "manifest.vgl: wrong key: ", 25), 0);
	assert_false(exists(target));
	assert_false(res.ok);
	crypto_keys_free(k2);
	unlink(kp);
}

/* A fresh backup of ${src} in its own store, for tests that damage it. */
static void
scratch_backup(struct bk *b, const char *name)
{
	char store[PATH_MAX];
	char *paths[2] = { src, NULL };

	pathf(store, "%s/%s", tu_tmpdir(), name);
	make_backup(b, store, paths, SLICE);
}

/* The chunk in the middle of big.bin, and big.bin's archive path. */
static size_t
big_chunk(struct bk *b, uint64_t *ret_off, char *ret_path)
{
	struct manifest *m = load_manifest(b);
	const struct manifest_file *f;
	char want[PATH_MAX];
	size_t a, z, k;

	pathf(want, "%s/big.bin", rel);
	assert_non_null(f = manifest_find(m, want));
	assert_int_equal(manifest_chunk_span(m, f->tar_offset, f->tar_len, &a,
			     &z),
	    0);
	assert_true(z - a >= 10);
	k = (a + z) / 2;
	*ret_off = m->chunks[k].offset;
	pathf(ret_path, "%s", want);
	manifest_free(m);
	return k;
}

static void
test_tampered(void **state_)
{
	struct bk b = { 0 };
	struct restore_result res;
	struct ag_err err = { "" };
	char target[PATH_MAX], p[PATH_MAX], want[PATH_MAX], big[PATH_MAX];
	char before[8192], after[8192], msg[160], chunk[96], *s;
	const char *paths[2] = { want, NULL };
	uint64_t off;
	uint8_t byte;
	size_t k, n = 0;
	int fd;

	(void)state_;
	scratch_backup(&b, "store-tampered");
	k = big_chunk(&b, &off, big);
	object_path(&b, FORMAT_NAME_DATA, p);
	assert_true((fd = open(p, O_RDWR)) >= 0);
	assert_int_equal(pread(fd, &byte, 1, (off_t)off + 100), 1);
	byte ^= 0x10;
	assert_int_equal(pwrite(fd, &byte, 1, (off_t)off + 100), 1);
	close(fd);

	list_dir(tu_tmpdir(), before, sizeof(before));
	pathf(target, "%s/t-tampered", tu_tmpdir());
	assert_int_equal(restore(&b, target, NULL, NULL, &res, &err), -1);
	snprintf(chunk, sizeof(chunk),
	    "chunk %zu: authentication failed "
	    "(corrupt, reordered or tampered data)",
	    k);
	snprintf(msg, sizeof(msg),
	    "data.vgl: %s; restore incomplete: ", chunk);
	if (strncmp(err.msg, msg, strlen(msg)) != 0)
		fail_msg("got \"%s\"", err.msg);
	assert_false(res.ok);
	/* big.bin was being written: it is gone, not left cut short. */
	assert_string_equal(res.removed, big);
	pathf(p, "%s/%s", target, big);
	assert_false(exists(p));
	pathf(p, "%s/%s", target, rel);
	check_no_partial(src, p, &n);
	list_dir(tu_tmpdir(), after, sizeof(after));
	/* Only the target appeared. */
	assert_non_null(s = strstr(after, "t-tampered/"));
	memmove(s, s + 11, strlen(s + 11) + 1);
	assert_string_equal(after, before);

	/* A file in other chunks still restores; big.bin does not. */
	pathf(want, "%s/sub/x.txt", rel);
	pathf(target, "%s/t-tampered-x", tu_tmpdir());
	if (restore(&b, target, paths, NULL, &res, &err) != 0)
		fail_msg("restore x.txt: %s", err.msg);
	pathf(want, "%s", big);
	pathf(target, "%s/t-tampered-big", tu_tmpdir());
	assert_int_equal(restore(&b, target, paths, NULL, &res, &err), -1);
	assert_non_null(strstr(err.msg, chunk));
	pathf(p, "%s/%s", target, big);
	assert_false(exists(p));
	free_backup(&b);
}

static void
test_truncated(void **state_)
{
	struct bk b = { 0 };
	struct restore_result res;
	struct ag_err err = { "" };
	char target[PATH_MAX], p[PATH_MAX], big[PATH_MAX], want[PATH_MAX];
	char msg[128];
	const char *paths[2] = { want, NULL };
	uint64_t off;
	size_t k, n = 0;

	(void)state_;
	scratch_backup(&b, "store-truncated");
	k = big_chunk(&b, &off, big);
	object_path(&b, FORMAT_NAME_DATA, p);
	assert_int_equal(truncate(p, (off_t)off + 10), 0);
	pathf(target, "%s/t-truncated", tu_tmpdir());
	assert_int_equal(restore(&b, target, NULL, NULL, &res, &err), -1);
	snprintf(msg, sizeof(msg),
	    "data.vgl: truncated: object ends inside "
	    "chunk %zu",
	    k);
	if (strncmp(err.msg, msg, strlen(msg)) != 0)
		fail_msg("got \"%s\"", err.msg);
	assert_string_equal(res.removed, big);
	pathf(p, "%s/%s", target, rel);
	check_no_partial(src, p, &n);
	assert_true(n > 0);

	/* Ranged reads past the end fail too, naming data.vgl. */
	pathf(want, "%s", big);
	pathf(target, "%s/t-truncated-big", tu_tmpdir());
	assert_int_equal(restore(&b, target, paths, NULL, &res, &err), -1);
	assert_int_equal(strncmp(err.msg, "data.vgl: ", 10), 0);
	pathf(p, "%s/%s", target, big);
	assert_false(exists(p));

	/* data.vgl gone altogether. */
	object_path(&b, FORMAT_NAME_DATA, p);
	assert_int_equal(unlink(p), 0);
	pathf(target, "%s/t-truncated-gone", tu_tmpdir());
	assert_int_equal(restore(&b, target, NULL, NULL, &res, &err), -1);
	snprintf(msg, sizeof(msg), "backup " JOB "/%s: data.vgl is missing",
	    b.id);
	assert_string_equal(err.msg, msg);
	free_backup(&b);
}

static void
test_cancel(void **state_)
{
	volatile sig_atomic_t cancel = 0;
	/* Cancel at the first report (the first one is not held back). */
	struct prog pr = { .cancel = &cancel, .cancel_after = 0 };
	struct restore_opts o = { .progress = on_progress,
		.cookie = &pr,
		.cancel = &cancel,
		.workers = 1 };
	struct restore_result res;
	struct ag_err err = { "" };
	char target[PATH_MAX], p[PATH_MAX];
	size_t n = 0;

	(void)state_;
	pathf(target, "%s/t-cancel", tu_tmpdir());
	assert_int_equal(restore(&main_bk, target, NULL, &o, &res, &err), -1);
	assert_int_equal(strncmp(err.msg, "cancelled", 9), 0);
	assert_true(pr.last.done);
	assert_true(res.tar_bytes < res.tar_size);
	pathf(p, "%s/%s", target, rel);
	check_no_partial(src, p, &n);
}

static void
test_write_error(void **state_)
{
	struct restore_result res;
	struct ag_err err = { "" };
	struct rlimit old, lim;
	char target[PATH_MAX], p[PATH_MAX];
	void (*oldsig)(int);
	size_t n = 0;
	int rc;

	(void)state_;
	pathf(target, "%s/t-fsize", tu_tmpdir());
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	lim = old;
	lim.rlim_cur = 256 << 10;
	oldsig = signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	rc = restore(&main_bk, target, NULL, NULL, &res, &err);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, oldsig);
	assert_int_equal(rc, -1);
	assert_false(res.ok);
	/* The file that could not be written whole is not left behind. */
	assert_true(res.removed[0] != '\0');
	assert_non_null(strstr(err.msg, "restore incomplete"));
	pathf(p, "%s/%s", target, res.removed);
	assert_false(exists(p));
	pathf(p, "%s/%s", target, rel);
	check_no_partial(src, p, &n);
}

/* --- Crafted backups, sealed with the real stages ---------------------- */

static void
test_malicious(void **state_)
{
	static uint8_t tar[64 << 10];
	struct bk b = { 0 };
	struct storage_conf *sc;
	struct restore_result res;
	struct ag_err err = { "" };
	char target[PATH_MAX], outside[PATH_MAX], p[PATH_MAX];
	char abs[PATH_MAX], lf[PATH_MAX];
	size_t off = 0;

	(void)state_;
	pathf(outside, "%s/outside", tu_tmpdir());
	assert_int_equal(mkdir(outside, 0755), 0);
	pathf(abs, "%s/abs-evil", tu_tmpdir());
	off = tu_tar_add(tar, off, "ok.txt", '0', "fine\n", NULL);
	off = tu_tar_add(tar, off, "../evil", '0', "evil\n", NULL);
	off = tu_tar_add(tar, off, abs, '0', "evil\n", NULL);
	off = tu_tar_add(tar, off, "dir/../../evil2", '0', "evil\n", NULL);
	off = tu_tar_add(tar, off, "link", '2', NULL, outside);
	off = tu_tar_add(tar, off, "link/file", '0', "evil\n", NULL);
	off = tu_tar_add(tar, off, "hl", '1', NULL, "../evil");
	off = tu_tar_add(tar, off, "last.txt", '0', "last\n", NULL);
	off += 1024; /* end of archive */

	pathf(b.store, "%s/store-evil", tu_tmpdir());
	assert_non_null(sc = storage_conf_local("evil", b.store));
	assert_int_equal(storage_open(sc, &b.st, &err), 0);
	storage_conf_free(sc);
	tu_seal_tar(b.st, key, JOB, SLICE, tar, off, false, NULL, 0, b.id);

	pathf(target, "%s/t-evil", tu_tmpdir());
	assert_int_equal(restore(&b, target, NULL, NULL, &res, &err), -1);
	{
		static const char want[] = "5 of 8 entries were not restored "
					   "(first: ../evil: refused";

		if (strncmp(err.msg, want, strlen(want)) != 0)
			fail_msg("got \"%s\"", err.msg);
	}
	assert_int_equal(res.refused, 5);
	/* Nothing outside the target... */
	pathf(p, "%s/evil", tu_tmpdir());
	assert_false(exists(p));
	pathf(p, "%s/evil2", tu_tmpdir());
	assert_false(exists(p));
	assert_false(exists(abs));
	pathf(lf, "%s/file", outside);
	assert_false(exists(lf));
	pathf(p, "%s/evil", target);
	assert_false(exists(p));
	/* ... and the safe entries are there. */
	pathf(p, "%s/ok.txt", target);
	assert_true(exists(p));
	pathf(p, "%s/last.txt", target);
	assert_true(exists(p));

	/* A tar stream that differs from the manifest's sha256. */
	off = tu_tar_add(tar, 0, "ok.txt", '0', "fine\n", NULL) + 1024;
	memset(tar + off - 1024, 0, 1024);
	tu_seal_tar(b.st, key, JOB, SLICE, tar, off, true, NULL, 0, b.id);
	pathf(target, "%s/t-badsha", tu_tmpdir());
	assert_int_equal(restore(&b, target, NULL, NULL, &res, &err), -1);
	{
		static const char want[] =
		    "tar stream sha256 differs from "
		    "the manifest: the files restored into ";

		if (strncmp(err.msg, want, strlen(want)) != 0)
			fail_msg("got \"%s\"", err.msg);
	}
	free_backup(&b);
}

/*
 * A backup whose file index is its own object (index.vgl): a partial
 * restore streams it, keeping only what it selects.  One file, a folder,
 * a hard link whose target lies elsewhere (found by a second pass), the
 * "did you mean" hints (a neighbour, a suffix, none), and the cost: the
 * manifest, index.vgl once and the chunks that hold the file.
 */
static void
test_partial_index_object(void **state_)
{
	struct bk b = { 0 };
	struct manifest *m;
	const struct manifest_file *f;
	struct restore_result res;
	struct ag_err err = { "" };
	char dir[PATH_MAX], p[PATH_MAX], q[PATH_MAX], want[PATH_MAX];
	char store[PATH_MAX], target[PATH_MAX], msg[3 * PATH_MAX];
	char *paths[2] = { dir, NULL };
	const char *rpaths[2] = { want, NULL };
	uint64_t manifest_size, index_size, expect;
	bool seen[64] = { false };
	struct stat sb;
	char r[PATH_MAX];

	(void)state_;
	pathf(dir, "%s/many", tu_tmpdir());
	snprintf(r, sizeof(r), "%s", dir + 1);
	pathf(p, "%s/sub", dir);
	assert_int_equal(mkdir(dir, 0755), 0);
	assert_int_equal(mkdir(p, 0755), 0);
	pathf(p, "%s/zz", dir);
	assert_int_equal(mkdir(p, 0755), 0);
	/* 1,500 entries: more than MANIFEST_INLINE_MAX of index JSON. */
	for (int i = 0; i < 1500; i++) {
		pathf(p, "%s/sub/file-%04d.txt", dir, i);
		tu_write_file(p, p, strlen(p), 0644);
	}
	/* zz/link comes after sub/: its target is not below zz. */
	pathf(p, "%s/sub/file-0007.txt", dir);
	pathf(q, "%s/zz/link", dir);
	assert_int_equal(link(p, q), 0);
	pathf(store, "%s/store-many", tu_tmpdir());
	make_backup(&b, store, paths, SLICE);
	m = load_manifest(&b);
	assert_false(m->index_inline);
	assert_false(m->index_omitted);
	assert_int_equal(m->nfiles, 1504);
	assert_false(m->files_subset);
	manifest_size = manifest_object_size(&b);
	index_size = m->index_size;
	assert_true(index_size > 0);

	/* One file: the manifest, index.vgl once, its chunks. */
	pathf(want, "%s/sub/file-1234.txt", r);
	assert_non_null(f = manifest_find(m, want));
	expect = manifest_size + index_size + chunk_bytes(m, f, NULL);
	pathf(target, "%s/t-many", tu_tmpdir());
	if (restore(&b, target, rpaths, NULL, &res, &err) != 0)
		fail_msg("restore: %s", err.msg);
	assert_int_equal(res.extracted, 1);
	assert_int_equal(res.bytes_read, expect);
	pathf(p, "%s/sub/file-1234.txt", dir);
	pathf(q, "%s/%s", target, want);
	cmp_content(p, q);

	/* The hard link alone: its target's data, from a second pass. */
	pathf(want, "%s/zz/link", r);
	if (restore(&b, target, rpaths, NULL, &res, &err) != 0)
		fail_msg("restore link: %s", err.msg);
	assert_true(res.ok);
	/* index.vgl twice, and the chunks of the target and of the link. */
	assert_true(m->nchunks <= 64);
	pathf(q, "%s/sub/file-0007.txt", r);
	assert_non_null(f = manifest_find(m, q));
	expect = manifest_size + 2 * index_size + chunk_bytes(m, f, seen);
	assert_non_null(f = manifest_find(m, want));
	expect += chunk_bytes(m, f, seen);
	assert_int_equal(res.bytes_read, expect);
	pathf(p, "%s/sub/file-0007.txt", dir);
	pathf(q, "%s/%s", target, want);
	cmp_content(p, q);
	assert_int_equal(stat(q, &sb), 0);
	assert_int_equal(sb.st_nlink, 1);
	pathf(q, "%s/%s/sub/file-0007.txt", target, r);
	assert_false(exists(q));

	/* A folder. */
	pathf(want, "%s/sub", r);
	pathf(target, "%s/t-many-dir", tu_tmpdir());
	if (restore(&b, target, rpaths, NULL, &res, &err) != 0)
		fail_msg("restore folder: %s", err.msg);
	assert_int_equal(res.extracted, 1501);

	/* Hints, found while streaming: a neighbour, a suffix, none. */
	pathf(target, "%s/t-many-none", tu_tmpdir());
	pathf(want, "%s/sub/file-123.txt", r);
	assert_int_equal(restore(&b, target, rpaths, NULL, &res, &err), -1);
	snprintf(msg, sizeof(msg),
	    "%s/sub/file-123.txt is not in backup " JOB
	    "/%s; did you mean %s/sub/file-1230.txt?",
	    r, b.id, r);
	assert_string_equal(err.msg, msg);
	snprintf(want, sizeof(want), "many/sub/file-0042.txt");
	assert_int_equal(restore(&b, target, rpaths, NULL, &res, &err), -1);
	snprintf(msg, sizeof(msg), "did you mean %s/sub/file-0042.txt?", r);
	assert_non_null(strstr(err.msg, msg));
	snprintf(want, sizeof(want), "nothing/like/it/at/all");
	assert_int_equal(restore(&b, target, rpaths, NULL, &res, &err), -1);
	snprintf(msg, sizeof(msg),
	    "nothing/like/it/at/all is not in backup " JOB "/%s", b.id);
	assert_string_equal(err.msg, msg);
	assert_false(exists(target));

	manifest_free(m);
	free_backup(&b);
	(void)tu_rmtree(dir);
	(void)tu_rmtree(store);
}

/*
 * restore --path trusts nothing of the file index it can check: a backup
 * sealed consistently (the manifest's sha256s, sizes and counts all
 * right) whose index entry for b.txt points at a.txt's tar entry, and
 * whose entry for c calls the file c a folder, is refused with one
 * sentence before anything is written; the target keeps what it had.
 */
static void
test_partial_index_lies(void **state_)
{
	static uint8_t tar[16 << 10];
	struct bk b = { 0 };
	struct storage_conf *sc;
	struct restore_result res;
	struct ag_err err = { "" };
	char target[PATH_MAX], p[PATH_MAX], before[1024], after[1024];
	const char *paths[2] = { NULL, NULL };
	struct st_archive_entry e[3] = {
		{ .path = "b.txt", .type = S_IFREG, .mode = 0644, .size = 2 },
		{ .path = "a.txt", .type = S_IFREG, .mode = 0644, .size = 2 },
		{ .path = "c", .type = S_IFDIR, .mode = 0755 },
	};
	size_t off = 0;

	(void)state_;
	/* The tar: a.txt, b.txt, c (a file). */
	off = tu_tar_add(tar, off, "a.txt", '0', "A\n", NULL);
	off = tu_tar_add(tar, off, "b.txt", '0', "B\n", NULL);
	off = tu_tar_add(tar, off, "c", '0', "C\n", NULL);
	/* The index: the names of the first two swapped, c a folder. */
	for (size_t i = 0; i < 3; i++) {
		e[i].offset = (uint64_t)i * 1024;
		e[i].length = 1024;
	}
	off += 1024;

	pathf(b.store, "%s/store-lies", tu_tmpdir());
	assert_non_null(sc = storage_conf_local("lies", b.store));
	assert_int_equal(storage_open(sc, &b.st, &err), 0);
	storage_conf_free(sc);
	tu_seal_tar(b.st, key, JOB, SLICE, tar, off, false, e, 3, b.id);

	pathf(target, "%s/t-lies", tu_tmpdir());
	assert_int_equal(mkdir(target, 0700), 0);
	pathf(p, "%s/sentinel", target);
	tu_write_file(p, "s", 1, 0600);
	list_dir(target, before, sizeof(before));

	paths[0] = "b.txt";
	assert_int_equal(restore(&b, target, paths, NULL, &res, &err), -1);
	assert_string_equal(err.msg,
	    "file index does not match the data: "
	    "b.txt (file) at tar offset 0 is \"a.txt\" (type '0') in the tar "
	    "stream; restore refused");
	assert_int_equal(res.extracted, 0);
	assert_false(res.written);
	list_dir(target, after, sizeof(after));
	assert_string_equal(before, after);

	paths[0] = "c";
	assert_int_equal(restore(&b, target, paths, NULL, &res, &err), -1);
	assert_string_equal(err.msg,
	    "file index does not match the data: "
	    "c (dir) at tar offset 2048 is \"c\" (type '0') in the tar "
	    "stream; restore refused");
	assert_false(res.written);
	list_dir(target, after, sizeof(after));
	assert_string_equal(before, after);

	/* The whole backup needs no index: all three, as the tar has them. */
	assert_int_equal(restore(&b, target, NULL, NULL, &res, &err), 0);
	list_dir(target, after, sizeof(after));
	assert_string_equal(after, "./../a.txt/b.txt/c/sentinel/");
	free_backup(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full_roundtrip),
		cmocka_unit_test(test_partial_file),
		cmocka_unit_test(test_partial_dir),
		cmocka_unit_test(test_partial_hardlink),
		cmocka_unit_test(test_partial_missing),
		cmocka_unit_test(test_single_file_reads),
		cmocka_unit_test(test_wrong_key),
		cmocka_unit_test(test_tampered),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_cancel),
		cmocka_unit_test(test_write_error),
		cmocka_unit_test(test_malicious),
		cmocka_unit_test(test_partial_index_object),
		cmocka_unit_test(test_partial_index_lies),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
