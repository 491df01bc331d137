/*
 * standalone.c: a main() for the fuzzing targets where libFuzzer is not
 * available (gcc, or a clang without its runtime).
 *
 *	fuzz_<name> FILE|DIR ...
 *
 * Every FILE, and every file in every DIR (not recursively, in name order,
 * hidden files skipped), is read and passed once to
 * LLVMFuzzerTestOneInput(), after LLVMFuzzerInitialize() if the target has
 * one.  That is what CTest runs over tests/fuzz/corpus/<name>/: no fuzzing,
 * but every seed and every saved crash input goes through the target under
 * the sanitizers of the build.  A crash aborts the program; it exits 1 if
 * an input could not be read or nothing was given, else 0.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/fuzz/fuzz.h"

/* Seeds are small; a larger file is a mistake, not an input. */
#define STANDALONE_INPUT_MAX (64u << 20)

/* Optional in a target: a weak reference is NULL when it has none. */
extern int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

static int
run_file(const char *path)
{
	struct stat st;
	uint8_t *buf;
	size_t len = 0;
	FILE *f;

	if ((f = fopen(path, "rbe")) == NULL || fstat(fileno(f), &st) != 0) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		if (f != NULL)
			fclose(f);
		return -1;
	}
	if (st.st_size > (off_t)STANDALONE_INPUT_MAX) {
		fprintf(stderr, "%s: larger than %u bytes\n", path,
		    STANDALONE_INPUT_MAX);
		fclose(f);
		return -1;
	}
	/* One byte more, so that an empty file still has a buffer. */
	buf = fuzz_oom(malloc((size_t)st.st_size + 1));
	len = fread(buf, 1, (size_t)st.st_size, f);
	if (ferror(f)) {
		fprintf(stderr, "%s: read error\n", path);
		fclose(f);
		free(buf);
		return -1;
	}
	fclose(f);
	fprintf(stderr, "Running: %s (%zu bytes)\n", path, len);
	(void)LLVMFuzzerTestOneInput(buf, len);
	free(buf);
	return 0;
}

static int
visible(const struct dirent *de)
{
	return de->d_name[0] != '.';
}

/* Run every regular file in ${dir}; add to ${n}.  Return 0 or -1. */
static int
run_dir(const char *dir, size_t *n)
{
	struct dirent **v;
	char path[4096];
	struct stat st;
	int k, rc = 0;

	if ((k = scandir(dir, &v, visible, alphasort)) < 0) {
		fprintf(stderr, "%s: %s\n", dir, strerror(errno));
		return -1;
	}
	for (int i = 0; i < k; i++) {
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir,
			v[i]->d_name) < sizeof(path) &&
		    stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
			if (run_file(path) != 0)
				rc = -1;
			else
				(*n)++;
		}
		free(v[i]);
	}
	free(v);
	return rc;
}

int
main(int argc, char **argv)
{
	struct stat st;
	size_t n = 0;
	int rc = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: %s FILE|DIR ...\n", argv[0]);
		return 1;
	}
	if (LLVMFuzzerInitialize != NULL)
		(void)LLVMFuzzerInitialize(&argc, &argv);
	for (int i = 1; i < argc; i++) {
		if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode)) {
			if (run_dir(argv[i], &n) != 0)
				rc = 1;
		} else if (run_file(argv[i]) != 0) {
			rc = 1;
		} else {
			n++;
		}
	}
	fprintf(stderr, "%s: %zu inputs run\n", argv[0], n);
	return n == 0 ? 1 : rc;
}
