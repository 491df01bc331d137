/*
 * test_extract.c: hostile archives against the extractor, through
 * restore_run() on real backups (hand-made tar streams sealed with the
 * real stages, tests/unit/fakes/tarseal.h).
 *
 * Each case restores its backup twice into a target folder that sits
 * beside a sentinel folder; the sentinel is listed (tu_tree_list: names,
 * modes, owners, sizes, times, content hashes, link targets) before and
 * after, and must not change; the target must still be a real folder of
 * mode 0700, holding what the archive could safely put there, and the
 * folder around both must hold nothing new.  The cases: entries named ".",
 * "./.", "a/../." (symlinks to the sentinel, a folder, a file);
 * pre-existing symlinks at every depth of the target (target/a, target/b/c,
 * target/d/e/f, and one in place of a file); split command output whose
 * pieces land in a symlinked folder (the second piece used to be appended
 * through it); pax "path" and "linkpath" overrides; names split across
 * records (ustar prefix + name, GNU long names and long links, two path
 * records, a global header, two extended headers in a row); hard links to
 * symlinks, with and without data.  The suite runs as root and, in a
 * forked child, as nobody:nogroup with the target, sentinel and store
 * made theirs (when the tests run as an ordinary user, in-process).
 *
 * Privileges: as root, owners, setuid bits and file capabilities
 * (security.capability) are restored and device nodes made when asked;
 * with no_privileges none of them; as an ordinary user none of them.
 * POSIX ACLs (pax SCHILY.acl.*) come back as the kernel's ACL xattrs.
 *
 * The tap (how a full restore hashes the tar stream beside the reader):
 * through a ring smaller than one file, pushed in odd-sized pieces, the
 * tap sees every byte pushed, in order, the padding after the
 * end-of-archive marker too, and the files are still extracted.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <sys/xattr.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <setjmp.h>
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
#include "lib/crypto/crypto_keys.h"
#include "providers/storage.h"
#include "backup/extract.h"
#include "backup/format.h"
#include "backup/restore.h"
#include "backup/st_archive.h"
#include "tests/unit/fakes/tarseal.h"
#include "tests/unit/fakes/testutil.h"

#define JOB "hostile"
#define SLICE ((size_t)64 << 10)
#define TAR_MAX ((size_t)64 << 10)
#define SPLIT_KEY "SCHILY.xattr." ST_ARCHIVE_SPLIT_XATTR
/* A version 2 capability set: cap_net_bind_service, effective. */
#define CAP_B64 "AQAAAgAEAAAAAAAAAAAAAAAAAAA="

static struct crypto_key *key;
static struct storage *st;
static char store[PATH_MAX];

static size_t
pax1(uint8_t *tar, size_t off, char type, const char *record)
{
	const char *r[2] = { record, NULL };

	return tu_tar_pax(tar, off, type, r);
}

/* An entry whose ustar prefix field is ${prefix}. */
static size_t
add_prefixed(uint8_t *tar, size_t off, const char *prefix, const char *name,
    const char *data)
{
	size_t end = tu_tar_add(tar, off, name, '0', data, NULL);

	memcpy(tar + off + 345, prefix, strlen(prefix));
	tu_tar_checksum(tar + off);
	return end;
}

/* --- The cases ---------------------------------------------------------- */

static size_t
build_dots(uint8_t *tar, const char *sent)
{
	char victim[PATH_MAX];
	size_t off = 0;

	tu_pathf(victim, "%s/victim", sent);
	off = tu_tar_add(tar, off, ".", '2', NULL, sent);
	off = tu_tar_add(tar, off, "./.", '2', NULL, sent);
	off = tu_tar_add(tar, off, "a/../.", '2', NULL, sent);
	off = tu_tar_add(tar, off, ".//./", '2', NULL, victim);
	off = tu_tar_add(tar, off, "./", '5', NULL, NULL);
	off = tu_tar_add(tar, off, ".", '0', "evil\n", NULL);
	off = tu_tar_add(tar, off, "ok.txt", '0', "fine\n", NULL);
	return off + 1024;
}

static void
setup_presym(const char *target, const char *sent)
{
	char p[PATH_MAX], q[PATH_MAX];

	tu_pathf(p, "%s/a", target);
	assert_int_equal(symlink(sent, p), 0);
	tu_pathf(p, "%s/b", target);
	assert_int_equal(mkdir(p, 0700), 0);
	tu_pathf(p, "%s/b/c", target);
	assert_int_equal(symlink(sent, p), 0);
	tu_pathf(p, "%s/d", target);
	assert_int_equal(mkdir(p, 0700), 0);
	tu_pathf(p, "%s/d/e", target);
	assert_int_equal(mkdir(p, 0700), 0);
	tu_pathf(p, "%s/d/e/f", target);
	tu_pathf(q, "%s/d", sent);
	assert_int_equal(symlink(q, p), 0);
	tu_pathf(p, "%s/g", target);
	tu_pathf(q, "%s/victim", sent);
	assert_int_equal(symlink(q, p), 0);
}

static size_t
build_presym(uint8_t *tar, const char *sent)
{
	size_t off = 0;

	(void)sent;
	off = tu_tar_add(tar, off, "ok.txt", '0', "fine\n", NULL);
	off = tu_tar_add(tar, off, "a/victim", '0', "evil\n", NULL);
	off = tu_tar_add(tar, off, "a/x", '0', "evil\n", NULL);
	off = tu_tar_add(tar, off, "a/d/x", '0', "evil\n", NULL);
	off = tu_tar_add(tar, off, "a/s", '2', NULL, "/");
	off = tu_tar_add(tar, off, "a/fifo", '6', NULL, NULL);
	off = tu_tar_add(tar, off, "a/dir/", '5', NULL, NULL);
	off = tu_tar_add(tar, off, "b/c/x", '0', "evil\n", NULL);
	off = tu_tar_add(tar, off, "b/c/newdir/", '5', NULL, NULL);
	off = tu_tar_add(tar, off, "b/c/h", '1', NULL, "ok.txt");
	off = tu_tar_add(tar, off, "d/e/f/x", '0', "evil\n", NULL);
	off = tu_tar_add(tar, off, "d/e/f/y/z", '0', "evil\n", NULL);
	/* In place of the symlink g: the link goes, the victim stays. */
	off = tu_tar_add(tar, off, "g", '0', "replaced\n", NULL);
	off = tu_tar_add(tar, off, "b/last.txt", '0', "fine\n", NULL);
	return off + 1024;
}

static void
setup_split(const char *target, const char *sent)
{
	char p[PATH_MAX];

	tu_pathf(p, "%s/etc", target);
	assert_int_equal(symlink(sent, p), 0);
}

static size_t
build_split(uint8_t *tar, const char *sent)
{
	size_t off = 0;

	(void)sent;
	off = pax1(tar, off, 'x', SPLIT_KEY "=1");
	off = tu_tar_add(tar, off, "etc/victim.000001", '0', "piece1\n", NULL);
	off = pax1(tar, off, 'x', SPLIT_KEY "=2");
	off = tu_tar_add(tar, off, "etc/victim.000002", '0', "piece2\n", NULL);
	off = pax1(tar, off, 'x', SPLIT_KEY "=3");
	off = tu_tar_add(tar, off, "etc/victim.000003", '0', "piece3\n", NULL);
	/* A split whose pieces are fine: joined inside the target. */
	off = pax1(tar, off, 'x', SPLIT_KEY "=1");
	off = tu_tar_add(tar, off, "db/dump.sql.000001", '0', "one\n", NULL);
	off = pax1(tar, off, 'x', SPLIT_KEY "=2");
	off = tu_tar_add(tar, off, "db/dump.sql.000002", '0', "two\n", NULL);
	off = tu_tar_add(tar, off, "ok.txt", '0', "fine\n", NULL);
	return off + 1024;
}

static size_t
build_paxpath(uint8_t *tar, const char *sent)
{
	char rec[PATH_MAX + 16];
	size_t off = 0;

	off = tu_tar_add(tar, off, "ok.txt", '0', "fine\n", NULL);
	off = pax1(tar, off, 'x', "path=../evil-pax");
	off = tu_tar_add(tar, off, "innocent1", '0', "evil\n", NULL);
	off = pax1(tar, off, 'x', "path=.");
	off = tu_tar_add(tar, off, "innocent2", '2', NULL, sent);
	tu_pathf(rec, "path=%s/abs-pax", sent);
	off = pax1(tar, off, 'x', rec);
	off = tu_tar_add(tar, off, "innocent3", '0', "evil\n", NULL);
	off = pax1(tar, off, 'x', "linkpath=../../etc/passwd");
	off = tu_tar_add(tar, off, "innocent4", '1', NULL, "ok.txt");
	off = pax1(tar, off, 'x', "path=ok/../../evil2");
	off = tu_tar_add(tar, off, "innocent5", '0', "evil\n", NULL);
	off = pax1(tar, off, 'x', "path=a");
	off = tu_tar_add(tar, off, "innocent6", '2', NULL, sent);
	off = pax1(tar, off, 'x', "path=a/through-link");
	off = tu_tar_add(tar, off, "innocent7", '0', "evil\n", NULL);
	tu_pathf(rec, "linkpath=%s/victim", sent);
	off = pax1(tar, off, 'x', rec);
	off = tu_tar_add(tar, off, "innocent8", '1', NULL, "ok.txt");
	off = tu_tar_add(tar, off, "last.txt", '0', "fine\n", NULL);
	return off + 1024;
}

static size_t
build_paxsplit(uint8_t *tar, const char *sent)
{
	static const char *const two[] = { "path=safe-first",
		"path=../evil-second", NULL };
	char rec[PATH_MAX + 16];
	size_t off = 0;

	off = tu_tar_add(tar, off, "ok.txt", '0', "fine\n", NULL);
	off = add_prefixed(tar, off, "..", "evil-prefix", "evil\n");
	off = add_prefixed(tar, off, "a/../..", "x", "evil\n");
	off = add_prefixed(tar, off, ".", ".", "evil\n");
	off = tu_tar_add(tar, off, "././@LongLink", 'L', "../evil-long", NULL);
	off = tu_tar_add(tar, off, "short", '0', "evil\n", NULL);
	off = tu_tar_add(tar, off, "././@LongLink", 'L', "./.", NULL);
	off = tu_tar_add(tar, off, "short2", '2', NULL, sent);
	off = tu_tar_add(tar, off, "././@LongLink", 'K', "../../evil-k", NULL);
	off = tu_tar_add(tar, off, "hk", '1', NULL, "ok.txt");
	off = tu_tar_pax(tar, off, 'x', two);
	off = tu_tar_add(tar, off, "n", '0', "evil\n", NULL);
	off = pax1(tar, off, 'g', "path=../evil-global");
	off = tu_tar_add(tar, off, "after-global", '0', "fine\n", NULL);
	off = pax1(tar, off, 'x', "path=.");
	tu_pathf(rec, "linkpath=%s", sent);
	off = pax1(tar, off, 'x', rec);
	off = tu_tar_add(tar, off, "z", '2', NULL, "elsewhere");
	off = tu_tar_add(tar, off, "last.txt", '0', "fine\n", NULL);
	return off + 1024;
}

static size_t
build_hlsym(uint8_t *tar, const char *sent)
{
	char victim[PATH_MAX];
	size_t off = 0;

	tu_pathf(victim, "%s/victim", sent);
	off = tu_tar_add(tar, off, "ok.txt", '0', "fine\n", NULL);
	off = tu_tar_add(tar, off, "s", '2', NULL, victim);
	/* ustar keeps no data for a hard link: a damaged archive. */
	off = tu_tar_add(tar, off, "h", '1', "EVIL\n", "s");
	/* pax does: the data must not go through the link. */
	off = pax1(tar, off, 'x', "comment=hard link with data");
	off = tu_tar_add(tar, off, "hp", '1', "EVIL\n", "s");
	off = tu_tar_add(tar, off, "h2", '1', NULL, "s");
	off = tu_tar_add(tar, off, "s2", '2', NULL, sent);
	off = tu_tar_add(tar, off, "hd", '1', NULL, "s2");
	off = tu_tar_add(tar, off, "hd/x", '0', "evil\n", NULL);
	off = tu_tar_add(tar, off, "h2", '0', "replaced\n", NULL);
	off = tu_tar_add(tar, off, "last.txt", '0', "fine\n", NULL);
	return off + 1024;
}

struct hcase {
	const char *name;
	size_t (*build)(uint8_t *tar, const char *sent);
	void (*setup)(const char *target, const char *sent);
	const char *inside; /* must be in the target after */
	const char *absent; /* must not be */
};

static const struct hcase cases[] = {
	{ "dots", build_dots, NULL, "ok.txt", NULL },
	{ "presym", build_presym, setup_presym, "b/last.txt", NULL },
	{ "split", build_split, setup_split, "db/dump.sql", NULL },
	{ "paxpath", build_paxpath, NULL, "last.txt", "innocent1" },
	{ "paxsplit", build_paxsplit, NULL, "last.txt", "short" },
	{ "hlsym", build_hlsym, NULL, "last.txt", NULL },
};
#define NCASES (sizeof(cases) / sizeof(cases[0]))

/* --- The runner ---------------------------------------------------------- */

struct run {
	char dir[PATH_MAX]; /* the cases' folders */
	char id[NCASES][FORMAT_BACKUP_ID_SIZE];
};

/*
 * Make ${dir}/<case>/{target,sentinel} for each case, with the case's
 * pre-existing entries, and seal each case's backup.
 */
static void
prepare(struct run *rn, const char *name)
{
	static uint8_t tar[TAR_MAX];
	char p[PATH_MAX], t[PATH_MAX], s[PATH_MAX];
	size_t len;

	tu_pathf(rn->dir, "%s/%s", tu_tmpdir(), name);
	assert_int_equal(mkdir(rn->dir, 0755), 0);
	for (size_t i = 0; i < NCASES; i++) {
		tu_pathf(p, "%s/%s", rn->dir, cases[i].name);
		tu_pathf(t, "%s/target", p);
		tu_pathf(s, "%s/sentinel", p);
		assert_int_equal(mkdir(p, 0755), 0);
		assert_int_equal(mkdir(t, 0700), 0);
		assert_int_equal(mkdir(s, 0755), 0);
		tu_pathf(p, "%s/victim", s);
		tu_write_file(p, "victim\n", 7, 0644);
		tu_pathf(p, "%s/d", s);
		assert_int_equal(mkdir(p, 0755), 0);
		tu_pathf(p, "%s/d/file", s);
		tu_write_file(p, "inner\n", 6, 0644);
		if (cases[i].setup != NULL)
			cases[i].setup(t, s);
		memset(tar, 0, sizeof(tar));
		len = cases[i].build(tar, s);
		assert_true(len <= sizeof(tar));
		tu_seal_tar(st, key, JOB, SLICE, tar, len, false, NULL, 0,
		    rn->id[i]);
	}
}

/*
 * Run every case of ${rn}; return 0, or the number of cases that broke
 * containment, each described on standard error.  Uses no cmocka
 * assertion of its own, so that a forked child can run it.
 */
static int
run_cases(const struct run *rn)
{
	struct restore_opts o;
	struct restore_result res;
	struct ag_err err;
	char p[PATH_MAX], t[PATH_MAX], s[PATH_MAX], q[PATH_MAX];
	char n0[256], n1[256];
	char *before, *after;
	struct stat sb;
	int bad = 0;

	for (size_t i = 0; i < NCASES; i++) {
		const struct hcase *c = &cases[i];
		const char *why = NULL;

		tu_pathf(p, "%s/%s", rn->dir, c->name);
		tu_pathf(t, "%s/target", p);
		tu_pathf(s, "%s/sentinel", p);
		tu_names(p, n0, sizeof(n0));
		before = tu_tree_list(s);
		/* Twice: the second restore goes where the first left. */
		for (int pass = 0; pass < 2; pass++) {
			o = (struct restore_opts){ .target = t, .workers = 1 };
			(void)restore_run(st, "", JOB, rn->id[i], key, &o,
			    &res, &err);
			if (res.entries == 0)
				why = err.msg;
		}
		after = tu_tree_list(s);
		tu_names(p, n1, sizeof(n1));
		if (why != NULL)
			;
		else if (strcmp(before, after) != 0)
			why = "the sentinel folder changed";
		else if (strcmp(n0, n1) != 0)
			why = "something appeared beside the target";
		else if (lstat(t, &sb) != 0 || !S_ISDIR(sb.st_mode) ||
		    (sb.st_mode & 07777) != 0700)
			why = "the target is no longer a folder of mode 0700";
		if (why == NULL && c->inside != NULL) {
			tu_pathf(q, "%s/%s", t, c->inside);
			if (lstat(q, &sb) != 0)
				why = "the safe entries were not restored";
		}
		if (why == NULL && c->absent != NULL) {
			tu_pathf(q, "%s/%s", t, c->absent);
			if (lstat(q, &sb) == 0)
				why = "a renamed entry kept its ustar name";
		}
		if (why != NULL) {
			fprintf(stderr,
			    "case %s (uid %d): %s\nbefore:\n%s"
			    "after:\n%s",
			    c->name, (int)geteuid(), why, before, after);
			bad++;
		}
		free(before);
		free(after);
	}
	return bad;
}

static void
test_hostile_root(void **state)
{
	struct run rn;

	(void)state;
	/* CI runs as root; test_hostile_user covers an ordinary user. */
	if (geteuid() != 0)
		fail_msg(
		    "test_hostile_root needs root (run the suite as root)");
	prepare(&rn, "as-root");
	assert_int_equal(run_cases(&rn), 0);
}

/*
 * The same as an ordinary user: as root, in a child that becomes
 * nobody:nogroup, with the cases' folders and the store made readable or
 * theirs; otherwise in-process, being one already.
 */
static void
test_hostile_user(void **state)
{
	struct run rn;
	struct passwd *pw;
	struct group *gr;
	char cmd[3 * PATH_MAX];
	int status;
	pid_t pid;

	(void)state;
	prepare(&rn, "as-user");
	if (geteuid() != 0) {
		assert_int_equal(run_cases(&rn), 0);
		return;
	}
	assert_non_null(pw = getpwnam("nobody"));
	assert_non_null(gr = getgrnam("nogroup"));
	snprintf(cmd, sizeof(cmd),
	    "chown -hR %u:%u '%s' && chmod -R a+rX "
	    "'%s' && chmod 755 '%s'",
	    (unsigned)pw->pw_uid, (unsigned)gr->gr_gid, rn.dir, store,
	    tu_tmpdir());
	assert_int_equal(system(cmd), 0);
	fflush(NULL);
	assert_true((pid = fork()) >= 0);
	if (pid == 0) {
		if (setgroups(0, NULL) != 0 ||
		    setresgid(gr->gr_gid, gr->gr_gid, gr->gr_gid) != 0 ||
		    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) != 0) {
			perror("dropping privileges");
			_exit(2);
		}
		_exit(run_cases(&rn) == 0 ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_int_equal(chmod(tu_tmpdir(), 0700), 0);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* --- Privileges ------------------------------------------------------ */

/* A 4755 file owned by 1234:1234 with a capability, and a device. */
static size_t
build_priv(uint8_t *tar)
{
	size_t off = 0, h;

	off = pax1(tar, off, 'x',
	    "LIBARCHIVE.xattr.security.capability=" CAP_B64);
	h = off;
	off = tu_tar_add(tar, off, "suid", '0', "#!/bin/sh\n", NULL);
	memcpy(tar + h + 100, "0004755", 7);
	memcpy(tar + h + 108, "0002322", 7);
	memcpy(tar + h + 116, "0002322", 7);
	tu_tar_checksum(tar + h);
	off = tu_tar_add(tar, off, "dev", '3', NULL, NULL);
	off = tu_tar_add(tar, off, "ok.txt", '0', "fine\n", NULL);
	return off + 1024;
}

static void
restore_priv(const char *id, const char *name, bool no_privileges,
    struct stat *ret_sb, ssize_t *ret_cap, bool *ret_dev)
{
	struct restore_opts o = { .workers = 1,
		.devices = true,
		.no_privileges = no_privileges };
	struct restore_result res;
	struct ag_err err;
	char t[PATH_MAX], p[PATH_MAX];
	uint8_t v[64];
	struct stat sb;

	tu_pathf(t, "%s/%s", tu_tmpdir(), name);
	o.target = t;
	(void)restore_run(st, "", JOB, id, key, &o, &res, &err);
	tu_pathf(p, "%s/suid", t);
	assert_int_equal(lstat(p, ret_sb), 0);
	*ret_cap = getxattr(p, "security.capability", v, sizeof(v));
	tu_pathf(p, "%s/dev", t);
	*ret_dev = lstat(p, &sb) == 0 && S_ISCHR(sb.st_mode) &&
	    sb.st_rdev == makedev(1, 3);
}

static void
test_privileges(void **state)
{
	static uint8_t tar[TAR_MAX];
	char id[FORMAT_BACKUP_ID_SIZE];
	struct stat sb;
	ssize_t cap;
	bool dev;

	(void)state;
	memset(tar, 0, sizeof(tar));
	tu_seal_tar(st, key, JOB, SLICE, tar, build_priv(tar), false, NULL, 0,
	    id);

	/* Without privileges (asked for, or not root): plain files. */
	restore_priv(id, "t-noprivs", true, &sb, &cap, &dev);
	assert_int_equal(sb.st_uid, geteuid());
	assert_int_equal(sb.st_gid, getegid());
	assert_int_equal(sb.st_mode & 07777, 0755);
	assert_int_equal(cap, -1);
	assert_false(dev);
	if (geteuid() != 0)
		return;

	/* As root: a system restore keeps what makes a system work. */
	restore_priv(id, "t-root", false, &sb, &cap, &dev);
	assert_int_equal(sb.st_uid, 1234);
	assert_int_equal(sb.st_gid, 1234);
	assert_int_equal(sb.st_mode & 07777, 04755);
	assert_true(dev);
	/* Where the file system keeps capabilities (not every tmpfs). */
	if (cap < 0 && errno != ENOTSUP && errno != EOPNOTSUPP)
		fail_msg("security.capability not restored: %s",
		    strerror(errno));
	if (cap >= 0)
		assert_int_equal(cap, 20);
}

/* --- ACLs -------------------------------------------------------------- */

/*
 * A read-only folder with an access and a default ACL, holding a file
 * with an access ACL: all come back as the kernel's ACL xattrs, the
 * folder's mask intact although its mode is set after its contents.
 */
static void
test_acls(void **state)
{
	static const char *const dacl[] = {
		"SCHILY.acl.access=user::r-x,user:65534:rwx,group::r-x,"
		"mask::rwx,other::r-x",
		"SCHILY.acl.default=user::rwx,user:65534:r-x,group::r-x,"
		"mask::r-x,other::r-x",
		NULL
	};
	static uint8_t tar[TAR_MAX];
	struct restore_opts o = { .workers = 1 };
	struct restore_result res;
	struct ag_err err;
	char id[FORMAT_BACKUP_ID_SIZE], t[PATH_MAX], p[PATH_MAX];
	uint8_t v[256];
	struct stat sb;
	size_t off = 0, h;
	ssize_t n;

	(void)state;
	memset(tar, 0, sizeof(tar));
	off = tu_tar_pax(tar, off, 'x', dacl);
	h = off;
	off = tu_tar_add(tar, off, "ro/", '5', NULL, NULL);
	memcpy(tar + h + 100, "0000555", 7);
	tu_tar_checksum(tar + h);
	off = pax1(tar, off, 'x',
	    "SCHILY.acl.access=user::rw-,"
	    "group:65534:rw-,group::r--,mask::rw-,other::r--");
	off = tu_tar_add(tar, off, "ro/f", '0', "acl\n", NULL);
	off += 1024;
	tu_seal_tar(st, key, JOB, SLICE, tar, off, false, NULL, 0, id);
	tu_pathf(t, "%s/t-acl", tu_tmpdir());
	o.target = t;
	if (restore_run(st, "", JOB, id, key, &o, &res, &err) != 0)
		fail_msg("restore: %s", err.msg);
	tu_pathf(p, "%s/ro", t);
	assert_int_equal(stat(p, &sb), 0);
	n = getxattr(p, "system.posix_acl_access", v, sizeof(v));
	if (n < 0 && (errno == ENOTSUP || errno == EOPNOTSUPP))
		fail_msg("%s: the test folder's file system has no POSIX ACLs",
		    p);
	/* Version 2, then user::, user:65534:, group::, mask, other. */
	assert_int_equal(n, 4 + 5 * 8);
	assert_int_equal(v[0], 2);
	assert_int_equal(v[4 + 8], 0x02);	/* ACL_USER */
	assert_int_equal(v[4 + 8 + 2], 07);	/* rwx */
	assert_int_equal(v[4 + 3 * 8], 0x10);	/* ACL_MASK */
	assert_int_equal(v[4 + 3 * 8 + 2], 07); /* not the mode's r-x */
	assert_int_equal(getxattr(p, "system.posix_acl_default", v, sizeof(v)),
	    4 + 5 * 8);
	tu_pathf(p, "%s/ro/f", t);
	assert_int_equal(getxattr(p, "system.posix_acl_access", v, sizeof(v)),
	    4 + 5 * 8);
	assert_int_equal(v[4 + 2 * 8], 0x08); /* ACL_GROUP */
	tu_pathf(p, "%s/ro", t);
	assert_int_equal(chmod(p, 0755), 0);
}

/* --- The tap ------------------------------------------------------------ */

struct tapped {
	uint8_t *buf;
	size_t len, cap;
	size_t calls;
};

static void
tap_collect(void *cookie, const uint8_t *buf, size_t len)
{
	struct tapped *t = cookie;

	t->calls++;
	if (len > t->cap - t->len) {
		t->len = t->cap + 1; /* more than was pushed */
		return;
	}
	memcpy(t->buf + t->len, buf, len);
	t->len += len;
}

static void
test_tap(void **state)
{
	static uint8_t tar[TAR_MAX];
	static char big[20000];
	struct extract_conf xc = { 0 };
	struct extract_stats xs;
	struct tapped t = { 0 };
	struct ag_err err = { "" };
	struct extract *x;
	char target[PATH_MAX], p[PATH_MAX];
	size_t len = 0, off, n, total;
	struct stat sb;

	(void)state;
	for (size_t i = 0; i + 1 < sizeof(big); i++)
		big[i] = (char)('a' + i % 23);
	memset(tar, 0, sizeof(tar));
	len = tu_tar_add(tar, len, "small", '0', "hello\n", NULL);
	len = tu_tar_add(tar, len, "d/", '5', NULL, NULL);
	len = tu_tar_add(tar, len, "d/big", '0', big, NULL);
	len += 1024; /* end-of-archive marker */
	/* Padding after the marker, longer than the ring, some non-zero. */
	total = len + 3 * 4096 + 100;
	assert_true(total <= sizeof(tar));
	for (off = len; off < total; off += 512)
		tar[off] = 0xa5;

	tu_pathf(target, "%s/tap", tu_tmpdir());
	t.cap = total;
	t.buf = malloc(t.cap);
	assert_non_null(t.buf);
	xc.target = target;
	xc.ring_size = 4096; /* smaller than d/big: it wraps */
	xc.writers = 2;
	xc.tap = tap_collect;
	xc.cookie = &t;
	x = extract_new(&xc, &err);
	assert_non_null(x);
	for (off = 0; off < total; off += n) {
		n = total - off < 777 ? total - off : 777;
		assert_int_equal(extract_write(x, tar + off, n), 0);
	}
	assert_int_equal(extract_finish(x, &xs, &err), 0);
	extract_free(x);

	assert_int_equal(t.len, total);
	assert_memory_equal(t.buf, tar, total);
	assert_true(t.calls > 1);
	assert_int_equal(xs.tar_bytes, total);
	assert_int_equal(xs.extracted, 3);
	tu_pathf(p, "%s/d/big", target);
	assert_int_equal(stat(p, &sb), 0);
	assert_int_equal(sb.st_size, strlen(big));
	tu_pathf(p, "%s/small", target);
	assert_int_equal(stat(p, &sb), 0);
	assert_int_equal(sb.st_size, 6);
	free(t.buf);
}

/* --- Setup ------------------------------------------------------------ */

static int
group_setup(void **state)
{
	struct storage_conf *sc;
	struct ag_err err = { "" };
	char keypath[PATH_MAX];

	umask(022);
	if (tu_tmpdir_setup(state) != 0)
		return -1;
	snprintf(keypath, sizeof(keypath), "%s/backup.key", tu_tmpdir());
	snprintf(store, sizeof(store), "%s/store", tu_tmpdir());
	if (crypto_keys_generate_keyfile(keypath, &err) != 0 ||
	    (key = crypto_keys_load_keyfile(keypath, &err)) == NULL ||
	    (sc = storage_conf_local("hostile", store)) == NULL) {
		fprintf(stderr, "setup: %s\n", err.msg);
		return -1;
	}
	if (storage_open(sc, &st, &err) != 0) {
		fprintf(stderr, "setup: %s\n", err.msg);
		storage_conf_free(sc);
		return -1;
	}
	storage_conf_free(sc);
	return 0;
}

static int
group_teardown(void **state)
{
	storage_close(st);
	crypto_keys_free(key);
	return tu_tmpdir_teardown(state);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hostile_root),
		cmocka_unit_test(test_hostile_user),
		cmocka_unit_test(test_privileges),
		cmocka_unit_test(test_acls),
		cmocka_unit_test(test_tap),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
