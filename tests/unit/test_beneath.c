/*
 * test_beneath.c: lib/beneath.c, with openat2() and with the component
 * walk (beneath_set_walk), which must behave alike.
 *
 * Names: beneath_clean() normalises "./a//b/." and refuses absolute
 * names, "..", and every spelling of the folder itself.  Containment: a
 * symlink at any depth of a path (to a folder outside, to a file outside,
 * to ".."), and at its end, is never followed by beneath_open(),
 * beneath_open_dir() (also when it makes folders) or beneath_parent();
 * beneath_unlink() removes a symlink, not what it points to.  A sentinel
 * folder beside the root is listed before and after: nothing in it
 * changes.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
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

#include "lib/beneath.h"
#include "tests/unit/fakes/testutil.h"

static char root[PATH_MAX], sent[PATH_MAX];

static void
test_clean(void **state)
{
	static const struct {
		const char *in, *out; /* out NULL: refused */
	} cases[] = {
		{ "a", "a" },
		{ "a/b", "a/b" },
		{ "./a//b/.", "a/b" },
		{ "a/./b/", "a/b" },
		{ "././x", "x" },
		{ ".a/..b", ".a/..b" },
		{ ".", NULL },
		{ "./.", NULL },
		{ "", NULL },
		{ "/", NULL },
		{ "//a", NULL },
		{ "/etc/passwd", NULL },
		{ "..", NULL },
		{ "../x", NULL },
		{ "a/..", NULL },
		{ "a/../.", NULL },
		{ "a/../b", NULL },
		{ "./", NULL },
		{ ".//./", NULL },
	};
	char buf[64];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(buf, sizeof(buf), "%s", cases[i].in);
		if (cases[i].out == NULL) {
			if (beneath_clean(buf) != -1 || errno != EINVAL)
				fail_msg("\"%s\" was not refused",
				    cases[i].in);
		} else {
			if (beneath_clean(buf) != 0)
				fail_msg("\"%s\" was refused", cases[i].in);
			assert_string_equal(buf, cases[i].out);
		}
	}
	/* A name that was not cleaned is refused, not reinterpreted. */
	assert_int_equal(beneath_open(AT_FDCWD, "a/../b", O_RDONLY, 0), -1);
	assert_int_equal(beneath_open(AT_FDCWD, "/etc/passwd", O_RDONLY, 0),
	    -1);
}

/*
 * A root folder with symlinks at every depth: l1 -> sentinel, d/l2 ->
 * sentinel, d/e/l3 -> sentinel, d/e/up -> .., d/e/f -> the sentinel's
 * file, and real files d/e/real, d/e/sub/.
 */
static void
make_tree(void)
{
	char p[PATH_MAX], q[PATH_MAX];

	assert_int_equal(tu_rmtree(root), 0);
	assert_int_equal(tu_rmtree(sent), 0);
	assert_int_equal(mkdir(root, 0700), 0);
	assert_int_equal(mkdir(sent, 0700), 0);
	tu_pathf(p, "%s/victim", sent);
	tu_write_file(p, "victim\n", 7, 0644);
	tu_pathf(p, "%s/d", root);
	assert_int_equal(mkdir(p, 0700), 0);
	tu_pathf(p, "%s/d/e", root);
	assert_int_equal(mkdir(p, 0700), 0);
	tu_pathf(p, "%s/d/e/sub", root);
	assert_int_equal(mkdir(p, 0700), 0);
	tu_pathf(p, "%s/d/e/real", root);
	tu_write_file(p, "real\n", 5, 0644);
	tu_pathf(p, "%s/l1", root);
	assert_int_equal(symlink(sent, p), 0);
	tu_pathf(p, "%s/d/l2", root);
	assert_int_equal(symlink(sent, p), 0);
	tu_pathf(p, "%s/d/e/l3", root);
	assert_int_equal(symlink(sent, p), 0);
	tu_pathf(p, "%s/d/e/up", root);
	assert_int_equal(symlink("..", p), 0);
	tu_pathf(p, "%s/d/e/f", root);
	tu_pathf(q, "%s/victim", sent);
	assert_int_equal(symlink(q, p), 0);
}

static void
containment(bool walk)
{
	static const char *const through[] = {
		"l1/victim",
		"l1/new",
		"d/l2/victim",
		"d/l2/new",
		"d/e/l3/victim",
		"d/e/l3/new",
		"d/e/up/e/real",
		"d/e/up/l2/x",
	};
	static const char *const at_end[] = { "l1", "d/l2", "d/e/l3",
		"d/e/f" };
	const char *leaf;
	char *before, *after, p[PATH_MAX];
	struct stat sb;
	int rootfd, fd;

	beneath_set_walk(walk);
	make_tree();
	before = tu_tree_list(sent);
	assert_true((rootfd = open(root, O_RDONLY | O_DIRECTORY)) >= 0);

	/* Plain use works. */
	assert_true((fd = beneath_open(rootfd, "d/e/real", O_RDONLY, 0)) >= 0);
	close(fd);
	assert_true((fd = beneath_open(rootfd, "d/e/new",
			 O_WRONLY | O_CREAT | O_EXCL, 0600)) >= 0);
	assert_int_equal(write(fd, "x", 1), 1);
	close(fd);
	assert_true((fd = beneath_open_dir(rootfd, "n1/n2/n3", true, 0755)) >=
	    0);
	close(fd);
	tu_pathf(p, "%s/n1/n2/n3", root);
	assert_int_equal(lstat(p, &sb), 0);
	assert_true(S_ISDIR(sb.st_mode));
	assert_true((fd = beneath_parent(rootfd, "d/e/real", false, 0,
			 &leaf)) >= 0);
	assert_string_equal(leaf, "real");
	assert_int_equal(fstatat(fd, leaf, &sb, AT_SYMLINK_NOFOLLOW), 0);
	close(fd);
	assert_true((fd = beneath_parent(rootfd, "top", false, 0, &leaf)) >=
	    0);
	assert_string_equal(leaf, "top");
	close(fd);

	/* A symlink on the way: every call fails, nothing is made. */
	for (size_t i = 0; i < sizeof(through) / sizeof(through[0]); i++) {
		errno = 0;
		if (beneath_open(rootfd, through[i],
			O_WRONLY | O_CREAT | O_APPEND, 0644) >= 0)
			fail_msg("%s: opened through a symlink (walk %d)",
			    through[i], walk);
		assert_true(errno == ELOOP || errno == EXDEV ||
		    errno == ENOTDIR);
		assert_int_equal(beneath_open_dir(rootfd, through[i], true,
				     0755),
		    -1);
		assert_int_equal(beneath_parent(rootfd, through[i], true, 0755,
				     &leaf),
		    -1);
		assert_int_equal(beneath_unlink(rootfd, through[i], 0), -1);
	}
	/* A symlink at the end is not followed either... */
	for (size_t i = 0; i < sizeof(at_end) / sizeof(at_end[0]); i++) {
		assert_int_equal(beneath_open(rootfd, at_end[i],
				     O_WRONLY | O_APPEND, 0),
		    -1);
		assert_int_equal(beneath_open_dir(rootfd, at_end[i], false, 0),
		    -1);
	}
	/* ... and unlinking removes the link itself. */
	assert_int_equal(beneath_unlink(rootfd, "d/e/f", 0), 0);
	tu_pathf(p, "%s/d/e/f", root);
	assert_int_not_equal(lstat(p, &sb), 0);
	assert_int_equal(beneath_unlink(rootfd, "l1", 0), 0);

	after = tu_tree_list(sent);
	assert_string_equal(before, after);
	free(before);
	free(after);
	close(rootfd);
	beneath_set_walk(false);
}

static void
test_containment_openat2(void **state)
{
	(void)state;
	containment(false);
}

static void
test_containment_walk(void **state)
{
	(void)state;
	containment(true);
}

static int
setup(void **state)
{
	if (tu_tmpdir_setup(state) != 0)
		return -1;
	tu_pathf(root, "%s/root", tu_tmpdir());
	tu_pathf(sent, "%s/sentinel", tu_tmpdir());
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_clean),
		cmocka_unit_test(test_containment_openat2),
		cmocka_unit_test(test_containment_walk),
	};

	return cmocka_run_group_tests(tests, setup, tu_tmpdir_teardown);
}
