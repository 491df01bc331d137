/*
 * test_ag.c: lib/ag.c, the one mkdir -p of the tree (ag_mkdir_p()).
 *
 * The folder gets its mode and missing parents theirs, whatever was
 * passed (the spool, the local backend, restore's target and the job
 * state use 0700 for both, the control socket's parent 0755); folders
 * that exist are left as they are; doubled and trailing slashes are
 * fine; a file in the way (also as the last name), an empty name and a
 * name longer than PATH_MAX fail with errno.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/ag.h"
#include "tests/unit/fakes/testutil.h"

static mode_t
mode_of(const char *path)
{
	struct stat sb;

	assert_int_equal(lstat(path, &sb), 0);
	assert_true(S_ISDIR(sb.st_mode));
	return sb.st_mode & 07777;
}

static void
test_mkdir_p_modes(void **state)
{
	char top[PATH_MAX], leaf[PATH_MAX], mid[PATH_MAX];
	mode_t old = umask(0);

	(void)state;
	snprintf(top, sizeof(top), "%s/modes", tu_tmpdir());
	snprintf(mid, sizeof(mid), "%s/modes/a/b", tu_tmpdir());
	snprintf(leaf, sizeof(leaf), "%s/modes/a/b/c", tu_tmpdir());
	assert_int_equal(ag_mkdir_p(leaf, 0700, 0750), 0);
	assert_int_equal(mode_of(leaf), 0700);
	assert_int_equal(mode_of(mid), 0750);
	assert_int_equal(mode_of(top), 0750);

	/* Existing folders stay as they are; a new leaf below gets its mode. */
	snprintf(leaf, sizeof(leaf), "%s/modes/a/b/c/d", tu_tmpdir());
	assert_int_equal(ag_mkdir_p(leaf, 0755, 0700), 0);
	assert_int_equal(mode_of(leaf), 0755);
	assert_int_equal(mode_of(mid), 0750);
	assert_int_equal(ag_mkdir_p(leaf, 0700, 0700), 0);
	assert_int_equal(mode_of(leaf), 0755);
	umask(old);
}

static void
test_mkdir_p_slashes(void **state)
{
	char path[PATH_MAX], want[PATH_MAX];

	(void)state;
	snprintf(path, sizeof(path), "%s/sl//x///y/", tu_tmpdir());
	snprintf(want, sizeof(want), "%s/sl/x/y", tu_tmpdir());
	assert_int_equal(ag_mkdir_p(path, 0700, 0700), 0);
	(void)mode_of(want);
}

static void
test_mkdir_p_errors(void **state)
{
	char path[PATH_MAX], file[PATH_MAX];
	char *longname;

	(void)state;
	snprintf(file, sizeof(file), "%s/file", tu_tmpdir());
	tu_write_file(file, "x", 1, 0600);
	snprintf(path, sizeof(path), "%s/file/below", tu_tmpdir());
	errno = 0;
	assert_int_equal(ag_mkdir_p(path, 0700, 0700), -1);
	assert_int_equal(errno, ENOTDIR);
	/* Nor is the file itself a folder. */
	errno = 0;
	assert_int_equal(ag_mkdir_p(file, 0700, 0700), -1);
	assert_int_equal(errno, ENOTDIR);
	errno = 0;
	assert_int_equal(ag_mkdir_p("", 0700, 0700), -1);
	assert_int_equal(errno, ENOENT);
	longname = malloc(PATH_MAX + 10);
	assert_non_null(longname);
	memset(longname, 'a', PATH_MAX + 9);
	longname[0] = '/';
	longname[PATH_MAX + 9] = '\0';
	errno = 0;
	assert_int_equal(ag_mkdir_p(longname, 0700, 0700), -1);
	assert_int_equal(errno, ENAMETOOLONG);
	free(longname);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mkdir_p_modes),
		cmocka_unit_test(test_mkdir_p_slashes),
		cmocka_unit_test(test_mkdir_p_errors),
	};

	return cmocka_run_group_tests(tests, tu_tmpdir_setup,
	    tu_tmpdir_teardown);
}
