/*
 * testutil.c: small helpers shared by the unit tests (see testutil.h).
 *
 * The temporary folder is one per program, kept in a static buffer: the
 * test programs are single-threaded where they touch it, and cmocka runs
 * group setup and teardown once.  Removal walks the tree with *at() calls
 * rather than running rm -rf through a shell.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/fnv.h"
#include "tests/unit/fakes/testutil.h"

static char tmpdir[256];

/**
 * tu_tmpdir_setup(state):
 * A cmocka group setup: make a fresh folder /tmp/vigil-<program>.XXXXXX
 * that tu_tmpdir() names from then on.  Return 0, or -1 if it cannot be
 * made.
 */
int
tu_tmpdir_setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/vigil-%s.XXXXXX",
	    program_invocation_short_name);
	if (mkdtemp(tmpdir) == NULL) {
		tmpdir[0] = '\0';
		return -1;
	}
	return 0;
}

/**
 * tu_tmpdir_teardown(state):
 * A cmocka group teardown: remove the folder of tu_tmpdir_setup() and all
 * in it, even subfolders a test made unreadable.  With VIGIL_TEST_KEEP or
 * KEEP_TMP set in the environment the folder stays and its name is printed
 * instead.  Return 0, or -1 if it could not be removed.
 */
int
tu_tmpdir_teardown(void **state)
{
	int rc;

	(void)state;
	if (tmpdir[0] == '\0')
		return 0;
	if (getenv("VIGIL_TEST_KEEP") != NULL || getenv("KEEP_TMP") != NULL) {
		fprintf(stderr, "kept %s\n", tmpdir);
		return 0;
	}
	rc = tu_rmtree(tmpdir);
	tmpdir[0] = '\0';
	return rc;
}

/**
 * tu_tmpdir():
 * The folder made by tu_tmpdir_setup(), or "" before it ran.
 */
const char *
tu_tmpdir(void)
{
	return tmpdir;
}

/* Remove ${name} in the folder ${dfd}, and all below it. */
static int
rmtree_at(int dfd, const char *name)
{
	struct dirent *de;
	struct stat sb;
	int fd, rc = 0, removed;
	DIR *d;

	if (fstatat(dfd, name, &sb, AT_SYMLINK_NOFOLLOW) != 0)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISDIR(sb.st_mode))
		return unlinkat(dfd, name, 0) == 0 || errno == ENOENT ? 0 : -1;
	/* A test may have taken our permissions away (chmod -R u+rwx). */
	if ((sb.st_mode & S_IRWXU) != S_IRWXU)
		(void)fchmodat(dfd, name, (sb.st_mode & 07777) | S_IRWXU, 0);
	if ((fd = openat(dfd, name,
		 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return -1;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return -1;
	}
	/*
	 * Removing entries while reading the folder may hide some from this
	 * pass: read it again until a pass finds nothing left to remove.
	 */
	do {
		removed = 0;
		rewinddir(d);
		while ((de = readdir(d)) != NULL) {
			if (strcmp(de->d_name, ".") == 0 ||
			    strcmp(de->d_name, "..") == 0)
				continue;
			if (rmtree_at(dirfd(d), de->d_name) == 0)
				removed = 1;
			else
				rc = -1;
		}
	} while (removed && rc == 0);
	closedir(d);
	if (unlinkat(dfd, name, AT_REMOVEDIR) != 0)
		rc = -1;
	return rc;
}

/**
 * tu_rmtree(path):
 * Remove ${path} and, if it is a folder, everything below it (rm -rf):
 * folders without permissions are opened up first.  A missing ${path} is
 * not an error.  Return 0 or -1.
 */
int
tu_rmtree(const char *path)
{
	return rmtree_at(AT_FDCWD, path);
}

/**
 * tu_write_file(path, data, len, mode):
 * Create or truncate ${path}, write the ${len} bytes at ${data} and set
 * its mode to exactly ${mode} (the umask does not apply).
 */
void
tu_write_file(const char *path, const void *data, size_t len, mode_t mode)
{
	int fd;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		fail_msg("%s: %s", path, strerror(errno));
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	assert_int_equal(fchmod(fd, mode), 0);
	assert_int_equal(close(fd), 0);
}

/**
 * tu_read_file(path, ret_len):
 * The whole file ${path}, malloc'd with a NUL after its bytes; their
 * number goes to ${ret_len}.  The caller frees it.
 */
uint8_t *
tu_read_file(const char *path, size_t *ret_len)
{
	struct stat sb;
	uint8_t *buf;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		fail_msg("%s: %s", path, strerror(errno));
	assert_int_equal(fstat(fd, &sb), 0);
	assert_non_null(buf = malloc((size_t)sb.st_size + 1));
	assert_int_equal(read(fd, buf, (size_t)sb.st_size),
	    (ssize_t)sb.st_size);
	assert_int_equal(close(fd), 0);
	buf[sb.st_size] = '\0';
	*ret_len = (size_t)sb.st_size;
	return buf;
}

/**
 * tu_data_path(rel):
 * The path of ${rel} under tests/data ($VIGIL_TEST_DATA, or "data" from
 * tests/ when unset), in a static buffer that the next call overwrites.
 */
const char *
tu_data_path(const char *rel)
{
	static char path[1024];
	const char *d = getenv("VIGIL_TEST_DATA");
	int n;

	n = snprintf(path, sizeof(path), "%s/%s", d != NULL ? d : "data", rel);
	assert_true(n > 0 && (size_t)n < sizeof(path));
	return path;
}

/**
 * tu_write_conf(name, text, mode):
 * Write the string ${text} to ${name} inside tu_tmpdir() with ${mode}.
 * Return its path, in a static buffer that the next call overwrites.
 */
const char *
tu_write_conf(const char *name, const char *text, mode_t mode)
{
	static char path[512];
	int n;

	n = snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	assert_true(n > 0 && (size_t)n < sizeof(path));
	tu_write_file(path, text, strlen(text), mode);
	return path;
}

/**
 * tu_conf_load(text, errs):
 * Write ${text} as the private (0600) file vigil.conf in tu_tmpdir() and
 * conf_load() it, which must succeed; the errors it finds go to ${errs}.
 * Return the config, which the caller frees with conf_free().
 */
struct conf *
tu_conf_load(const char *text, struct conf_errs *errs)
{
	struct conf *c = NULL;

	assert_int_equal(conf_load(tu_write_conf("vigil.conf", text, 0600), &c,
			     errs),
	    0);
	return c;
}

/**
 * tu_has_error(errs, needle):
 * Return 1 if one of the messages in ${errs} contains ${needle}.  Else
 * print them all and ${needle} to stderr, to show why, and return 0.
 */
int
tu_has_error(const struct conf_errs *errs, const char *needle)
{
	for (size_t i = 0; i < errs->n; i++)
		if (strstr(errs->msgs[i], needle) != NULL)
			return 1;
	for (size_t i = 0; i < errs->n; i++)
		fprintf(stderr, "  have: %s\n", errs->msgs[i]);
	fprintf(stderr, "  want: %s\n", needle);
	return 0;
}

/**
 * tu_set_tz(tz):
 * Make ${tz} ("UTC", "Europe/Berlin", ...) the local time zone.
 */
void
tu_set_tz(const char *tz)
{
	assert_int_equal(setenv("TZ", tz, 1), 0);
	tzset();
}

/**
 * tu_utc(y, mo, d, h, mi, s):
 * Unix seconds of that UTC date and time (month and day from 1).
 */
int64_t
tu_utc(int y, int mo, int d, int h, int mi, int s)
{
	struct tm tm = { .tm_year = y - 1900,
		.tm_mon = mo - 1,
		.tm_mday = d,
		.tm_hour = h,
		.tm_min = mi,
		.tm_sec = s };

	return (int64_t)timegm(&tm);
}

/**
 * tu_notification_firing(t0):
 * The rule "cpu-high" on host "web1" gone from OK to CRITICAL at ${t0} (ms):
 * cpu.used_pct = 97.2 > 95, critical since two minutes before, reminders
 * every hour.
 */
struct notification
tu_notification_firing(int64_t t0)
{
	struct notification n;

	memset(&n, 0, sizeof(n));
	snprintf(n.id, sizeof(n.id), "%lld-cafe-0001", (long long)t0);
	snprintf(n.host, sizeof(n.host), "web1");
	snprintf(n.rule, sizeof(n.rule), "cpu-high");
	snprintf(n.metric, sizeof(n.metric), "cpu.used_pct");
	snprintf(n.op, sizeof(n.op), ">");
	n.state = ST_CRITICAL;
	n.prev_state = ST_OK;
	n.kind = NK_CHANGE;
	n.has_value = true;
	n.value = 97.2;
	n.has_threshold = true;
	n.threshold = 95;
	n.ts_ms = t0;
	n.since_ms = t0 - 120000;
	n.repeat_ms = 3600000;
	return n;
}

/**
 * tu_tar_header(h, name, type, size, link):
 * Fill the TU_TAR_BLOCK bytes at ${h} with a ustar header for ${name}
 * (shorter than 100 bytes) of ustar ${type} ('0' file, '1' hard link, '2'
 * symlink, '3' character device 1,3, ...), ${size} bytes of data, ${link}
 * (NULL for none) as the link target, mode 0644, owner 0:0, mtime
 * 1700000000, and a valid checksum.
 */
void
tu_tar_header(uint8_t *h, const char *name, char type, size_t size,
    const char *link)
{
	/* ustar name and linkname fields hold 100 bytes; we keep a NUL. */
	assert_true(strlen(name) < 100);
	assert_true(link == NULL || strlen(link) < 100);
	memset(h, 0, TU_TAR_BLOCK);
	memcpy(h, name, strlen(name));
	memcpy(h + 100, "0000644", 7); /* mode */
	memcpy(h + 108, "0000000", 7); /* uid */
	memcpy(h + 116, "0000000", 7); /* gid */
	snprintf((char *)h + 124, 12, "%011o", (unsigned)size & 07777777);
	snprintf((char *)h + 136, 12, "%011o", 1700000000); /* mtime */
	h[156] = (uint8_t)type;
	if (link != NULL)
		memcpy(h + 157, link, strlen(link));
	memcpy(h + 257, "ustar", 6); /* magic, NUL */
	memcpy(h + 263, "00", 2);    /* version */
	if (type == '3') {
		memcpy(h + 329, "0000001", 7); /* devmajor */
		memcpy(h + 337, "0000003", 7); /* devminor */
	}
	tu_tar_checksum(h);
}

/**
 * tu_tar_checksum(h):
 * Recompute the checksum of the ustar header at ${h} (after changing a
 * field of it).
 */
void
tu_tar_checksum(uint8_t *h)
{
	unsigned sum = 0;

	/* The checksum counts its own field as spaces: 6 digits, NUL, ' '. */
	memset(h + 148, ' ', 8);
	for (size_t i = 0; i < TU_TAR_BLOCK; i++)
		sum += h[i];
	snprintf((char *)h + 148, 8, "%06o", sum);
}

/**
 * tu_tar_pax(buf, off, type, records):
 * Append at ${off} in ${buf} a pax extended header of ${type} ('x' for the
 * next entry, 'g' global) holding the NULL-terminated "key=value" strings
 * ${records}, each as a "<length> key=value\n" record.  Return the offset
 * after it.
 */
size_t
tu_tar_pax(uint8_t *buf, size_t off, char type, const char *const *records)
{
	char data[4096], rec[1024];
	size_t n = 0, len, digits;

	for (; *records != NULL; records++) {
		/* The length counts itself (and ' ', '\n'): a fixed point. */
		len = strlen(*records) + 2;
		for (digits = 1;; digits++) {
			size_t total = len + digits;

			if (snprintf(rec, sizeof(rec), "%zu", total) ==
			    (int)digits)
				break;
		}
		len += digits;
		assert_true(len < sizeof(rec));
		snprintf(rec, sizeof(rec), "%zu %s\n", len, *records);
		assert_true(n + len < sizeof(data));
		memcpy(data + n, rec, len);
		n += len;
	}
	data[n] = '\0';
	return tu_tar_add(buf, off, "PaxHeader/entry", type, data, NULL);
}

/**
 * tu_flip_byte(path, off):
 * Flip a bit of the byte at ${off} in the file ${path} (a second call puts
 * it back); the test fails if that cannot be done.
 */
void
tu_flip_byte(const char *path, off_t off)
{
	uint8_t b;
	int fd;

	assert_true((fd = open(path, O_RDWR)) >= 0);
	assert_int_equal(pread(fd, &b, 1, off), 1);
	b ^= 0x40;
	assert_int_equal(pwrite(fd, &b, 1, off), 1);
	close(fd);
}

/**
 * tu_pathf(out, fmt, ...):
 * Format a path into ${out} (PATH_MAX bytes); the test fails if it does
 * not fit.
 */
void
tu_pathf(char *out, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(out, PATH_MAX, fmt, ap);
	va_end(ap);
	assert_true(n > 0 && n < PATH_MAX);
}

/**
 * tu_names(dir, out, outlen):
 * The names in ${dir} ("." and ".." too), sorted, each followed by '/',
 * as one string in ${out}: a folder's listing to compare.
 */
void
tu_names(const char *dir, char *out, size_t outlen)
{
	struct dirent **v;
	int n = scandir(dir, &v, NULL, alphasort);
	size_t o = 0;

	assert_true(n >= 0);
	out[0] = '\0';
	for (int i = 0; i < n; i++) {
		if (o < outlen)
			o += (size_t)snprintf(out + o, outlen - o, "%s/",
			    v[i]->d_name);
		free(v[i]);
	}
	free(v);
}

/* Append one line about ${path} (relative name ${rel}) to ${out}. */
static void
tree_line(const char *path, const char *rel, char **out, size_t *len)
{
	struct stat sb;
	char line[PATH_MAX + 512], link[PATH_MAX];
	uint64_t h = FNV1A64_INIT;
	ssize_t n;
	int fd;
	uint8_t b[8192];
	char *nb;
	size_t ll;

	assert_int_equal(lstat(path, &sb), 0);
	link[0] = '\0';
	if (S_ISLNK(sb.st_mode)) {
		n = readlink(path, link, sizeof(link) - 1);
		assert_true(n >= 0);
		link[n] = '\0';
	} else if (S_ISREG(sb.st_mode)) {
		assert_true((fd = open(path, O_RDONLY | O_NOFOLLOW)) >= 0);
		while ((n = read(fd, b, sizeof(b))) > 0)
			h = fnv1a64(h, b, (size_t)n);
		close(fd);
	}
	ll = (size_t)snprintf(line, sizeof(line),
	    "%s %o %u:%u %jd %jd.%09ld "
	    "%016jx %s\n",
	    rel, (unsigned)sb.st_mode, (unsigned)sb.st_uid,
	    (unsigned)sb.st_gid, (intmax_t)sb.st_size,
	    (intmax_t)sb.st_mtim.tv_sec, sb.st_mtim.tv_nsec, (uintmax_t)h,
	    link);
	assert_non_null(nb = realloc(*out, *len + ll + 1));
	memcpy(nb + *len, line, ll + 1);
	*out = nb;
	*len += ll;
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
tree_walk(const char *path, const char *rel, char **out, size_t *len)
{
	struct stat sb;
	struct dirent *de;
	char **names = NULL, p[PATH_MAX], r[PATH_MAX];
	size_t n = 0;
	DIR *d;

	tree_line(path, rel, out, len);
	if (lstat(path, &sb) != 0 || !S_ISDIR(sb.st_mode))
		return;
	assert_non_null(d = opendir(path));
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		assert_non_null(names = realloc(names,
				    (n + 1) * sizeof(*names)));
		assert_non_null(names[n++] = strdup(de->d_name));
	}
	closedir(d);
	if (n > 0)
		qsort(names, n, sizeof(*names), name_cmp);
	for (size_t i = 0; i < n; i++) {
		snprintf(p, sizeof(p), "%s/%s", path, names[i]);
		snprintf(r, sizeof(r), "%s/%s", rel, names[i]);
		tree_walk(p, r, out, len);
		free(names[i]);
	}
	free(names);
}

/**
 * tu_tree_list(root):
 * Every entry at and below ${root} (never following a symlink), one line
 * each in name order: relative path, mode, owner, size, mtime, a hash of
 * a regular file's bytes, a symlink's target.  Two listings are equal
 * only if nothing in the tree changed.  The caller frees the string.
 */
char *
tu_tree_list(const char *root)
{
	char *out = NULL;
	size_t len = 0;

	assert_non_null(out = strdup(""));
	tree_walk(root, ".", &out, &len);
	return out;
}

/**
 * tu_tar_add(buf, off, name, type, data, link):
 * Append at ${off} in ${buf} an entry as tu_tar_header() makes it, followed
 * by the string ${data} (NULL for none) padded to whole blocks.  Return the
 * offset after it.  The caller sizes ${buf}.
 */
size_t
tu_tar_add(uint8_t *buf, size_t off, const char *name, char type,
    const char *data, const char *link)
{
	size_t len = data != NULL ? strlen(data) : 0;

	tu_tar_header(buf + off, name, type, len, link);
	off += TU_TAR_BLOCK;
	if (len > 0) {
		memcpy(buf + off, data, len);
		off += (len + TU_TAR_BLOCK - 1) / TU_TAR_BLOCK * TU_TAR_BLOCK;
	}
	return off;
}
