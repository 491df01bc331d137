/*
 * util.c: the helpers of fuzz.h.
 *
 * The temporary folder lives under $VIGIL_FUZZ_TMP (tests/fuzz/run.sh sets
 * it, so that it can sweep what crashed processes leave behind), else
 * /dev/shm (a parser that reads a file then costs no disk I/O, and
 * rules_save()'s fsync() nothing), else $TMPDIR or /tmp.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/notify.h"
#include "lib/log.h"

#include "tests/fuzz/fuzz.h"

static char tmpdir[PATH_MAX];
static char pathbuf[PATH_MAX];

static void tmpdir_remove(void);

void
fuzz_fail(const char *fmt, ...)
{
	va_list ap;

	fputs("fuzz: property violated: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	/* abort() skips atexit(): remove the folder unless asked to keep it. */
	if (getenv("VIGIL_FUZZ_KEEP") == NULL)
		tmpdir_remove();
	else if (tmpdir[0] != '\0')
		fprintf(stderr, "fuzz: kept %s\n", tmpdir);
	abort();
}

void
fuzz_note(const char *fmt, ...)
{
	static int verbose = -1;
	va_list ap;

	if (verbose < 0)
		verbose = getenv("VIGIL_FUZZ_VERBOSE") != NULL;
	if (!verbose)
		return;
	fputs("  ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void *
fuzz_oom(void *p)
{
	if (p == NULL) {
		fputs("fuzz: the harness ran out of memory\n", stderr);
		abort();
	}
	return p;
}

void
fuzz_quiet(void)
{
	log_set_level(LOG_LVL_ERR);
}

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	/* Best effort: what cannot go stays, the exit goes on. */
	if (flag == FTW_DP)
		(void)rmdir(path);
	else
		(void)unlink(path);
	return 0;
}

void
fuzz_rmtree(const char *path)
{
	(void)nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void
tmpdir_remove(void)
{
	if (tmpdir[0] != '\0')
		fuzz_rmtree(tmpdir);
}

const char *
fuzz_tmpdir(void)
{
	const char *base;
	struct stat st;

	if (tmpdir[0] != '\0')
		return tmpdir;
	if ((base = getenv("VIGIL_FUZZ_TMP")) == NULL || base[0] == '\0') {
		if (stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) &&
		    access("/dev/shm", W_OK) == 0)
			base = "/dev/shm";
		else if ((base = getenv("TMPDIR")) == NULL || base[0] == '\0')
			base = "/tmp";
	}
	if ((size_t)snprintf(tmpdir, sizeof(tmpdir), "%s/vigil-fuzz.XXXXXX",
		base) >= sizeof(tmpdir) ||
	    mkdtemp(tmpdir) == NULL) {
		fprintf(stderr, "fuzz: cannot make a folder in %s: %s\n", base,
		    strerror(errno));
		abort();
	}
	atexit(tmpdir_remove);
	return tmpdir;
}

const char *
fuzz_path(const char *rel)
{
	if ((size_t)snprintf(pathbuf, sizeof(pathbuf), "%s/%s", fuzz_tmpdir(),
		rel) >= sizeof(pathbuf)) {
		fputs("fuzz: path too long\n", stderr);
		abort();
	}
	return pathbuf;
}

/* mkdir -p of the folders of ${path} below the temporary folder. */
static void
make_parents(const char *path)
{
	char buf[PATH_MAX];
	size_t skip = strlen(fuzz_tmpdir());
	char *p;

	snprintf(buf, sizeof(buf), "%s", path);
	if (strncmp(buf, tmpdir, skip) != 0)
		return;
	for (p = buf + skip + 1; (p = strchr(p, '/')) != NULL; p++) {
		*p = '\0';
		if (mkdir(buf, 0700) != 0 && errno != EEXIST) {
			fprintf(stderr, "fuzz: mkdir %s: %s\n", buf,
			    strerror(errno));
			abort();
		}
		*p = '/';
	}
}

void
fuzz_write(const char *path, const void *data, size_t len, unsigned mode)
{
	const char *p = data;
	ssize_t n;
	int fd;

	make_parents(path);
	(void)unlink(path);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
		 (mode_t)mode)) < 0) {
		fprintf(stderr, "fuzz: cannot write %s: %s\n", path,
		    strerror(errno));
		abort();
	}
	while (len > 0) {
		if ((n = write(fd, p, len)) < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "fuzz: writing %s: %s\n", path,
			    strerror(errno));
			abort();
		}
		p += n;
		len -= (size_t)n;
	}
	(void)fchmod(fd, (mode_t)mode);
	close(fd);
}

char *
fuzz_read(const char *path, size_t *ret_len)
{
	struct stat st;
	char *buf;
	size_t len = 0;
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return NULL;
	if (fstat(fd, &st) != 0) {
		close(fd);
		return NULL;
	}
	buf = fuzz_oom(malloc((size_t)st.st_size + 1));
	while (len < (size_t)st.st_size &&
	    (n = read(fd, buf + len, (size_t)st.st_size - len)) > 0)
		len += (size_t)n;
	close(fd);
	buf[len] = '\0';
	*ret_len = len;
	return buf;
}

char *
fuzz_strndup(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, '\0', size);
	size_t n = nul != NULL ? (size_t)(nul - data) : size;
	char *s = fuzz_oom(malloc(n + 1));

	/* Not strndup(): ASan's strict_string_checks reads past ${size}. */
	memcpy(s, data, n);
	s[n] = '\0';
	return s;
}

void
fuzz_check_notification(const struct notification *n)
{
	struct notification back;
	char *s1, *s2, sum[512];
	static const size_t sizes[] = { 1, 7, 40, sizeof(sum) };

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		memset(sum, 'x', sizeof(sum));
		notification_summary(n, sum, sizes[i]);
		if (memchr(sum, '\0', sizes[i]) == NULL)
			fuzz_fail("notification_summary(): no NUL within %zu "
				  "bytes",
			    sizes[i]);
	}
	if ((s1 = notification_to_json(n)) == NULL)
		fuzz_fail("notification_to_json() failed (rule \"%s\", "
			  "metric \"%s\", host \"%s\"): the notification cannot "
			  "be spooled",
		    n->rule, n->metric, n->host);
	memset(&back, 0, sizeof(back));
	if (notification_from_json(s1, &back) != 0)
		fuzz_fail("notification_from_json() refuses what "
			  "notification_to_json() wrote: %s",
		    s1);
	if ((s2 = notification_to_json(&back)) == NULL)
		fuzz_fail("notification_to_json() failed on what was read "
			  "back: %s",
		    s1);
	if (strcmp(s1, s2) != 0)
		fuzz_fail("notification JSON changes on a round trip:\n"
			  "  %s\n  %s",
		    s1, s2);
	free(s1);
	free(s2);
}
