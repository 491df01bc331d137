/*
 * beneath.c: paths below a directory descriptor (see beneath.h).
 *
 * Two ways to resolve, chosen once per process: openat2() with
 * RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS, which the
 * kernel checks in the one call that opens the file, or (kernels before
 * 5.6, or a seccomp filter that refuses the call) a walk that opens each
 * folder on the way with O_NOFOLLOW | O_DIRECTORY relative to the one
 * before.  Making folders (beneath_open_dir() with create) always walks,
 * from the deepest folder that exists: mkdirat() a single component into
 * a descriptor cannot go anywhere else.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/beneath.h"

#define RESOLVE_FLAGS \
	(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS)
#define EAGAIN_TRIES 8 /* openat2 after a concurrent rename */

static pthread_once_t probe_once = PTHREAD_ONCE_INIT;
static atomic_bool have_openat2;
static atomic_bool force_walk;

static long
sys_openat2(int dirfd, const char *path, int flags, mode_t mode)
{
	struct open_how how = { 0 };

	how.flags = (unsigned)(flags | O_NOFOLLOW | O_CLOEXEC);
	how.mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0;
	how.resolve = RESOLVE_FLAGS;
	return syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
}

static void
probe(void)
{
	long fd = sys_openat2(AT_FDCWD, ".", O_PATH | O_DIRECTORY, 0);

	if (fd >= 0) {
		close((int)fd);
		atomic_store(&have_openat2, true);
	}
}

static bool
use_openat2(void)
{
	if (atomic_load(&force_walk))
		return false;
	(void)pthread_once(&probe_once, probe);
	return atomic_load(&have_openat2);
}

/**
 * beneath_set_walk(on):
 * For tests: with ${on}, never use openat2() (the component walk does
 * everything), as on kernels that lack it.
 */
void
beneath_set_walk(bool on)
{
	atomic_store(&force_walk, on);
}

/* The component "." or "..", or empty, of length ${n} at ${s}? */
static bool
dot_or_empty(const char *s, size_t n)
{
	return n == 0 || (n == 1 && s[0] == '.') ||
	    (n == 2 && s[0] == '.' && s[1] == '.');
}

/* Is ${path} relative, non-empty, without "", "." or ".." components? */
static bool
is_clean(const char *path)
{
	size_t n;

	if (path == NULL || *path == '/' || *path == '\0')
		return false;
	for (;; path += n + 1) {
		n = strcspn(path, "/");
		if (dot_or_empty(path, n))
			return false;
		if (path[n] == '\0')
			return true;
	}
}

/**
 * beneath_clean(path):
 * Normalise the relative ${path} in place: drop empty and "." components
 * and trailing slashes ("./a//b/." becomes "a/b").  Return 0, or -1 with
 * errno EINVAL if ${path} is absolute, has a ".." component, or names the
 * directory itself ("", ".", "./.", "a/../." are all refused).
 */
int
beneath_clean(char *path)
{
	char *r, *w;
	size_t n;

	if (path == NULL || *path == '/')
		goto inval;
	for (r = w = path;; r += n + 1) {
		n = strcspn(r, "/");
		if (n == 2 && r[0] == '.' && r[1] == '.')
			goto inval;
		if (!dot_or_empty(r, n)) {
			if (w != path)
				*w++ = '/';
			memmove(w, r, n);
			w += n;
		}
		if (r[n] == '\0')
			break;
	}
	*w = '\0';
	if (w == path)
		goto inval;
	return 0;
inval:
	errno = EINVAL;
	return -1;
}

/*
 * Walk the first ${len} bytes of the clean ${path} from ${dirfd}, one
 * folder at a time, never through a symlink; with ${create}, make missing
 * folders (${mode}).  Return a new descriptor of the last folder, or -1.
 */
static int
walk(int dirfd, const char *path, size_t len, bool create, mode_t mode)
{
	char comp[NAME_MAX + 1];
	size_t n, off = 0;
	int fd, nfd, e;

	if ((fd = fcntl(dirfd, F_DUPFD_CLOEXEC, 0)) < 0)
		return -1;
	while (off < len) {
		n = strcspn(path + off, "/");
		if (n > len - off)
			n = len - off;
		if (n > NAME_MAX) {
			errno = ENAMETOOLONG;
			goto fail;
		}
		memcpy(comp, path + off, n);
		comp[n] = '\0';
		nfd = openat(fd, comp,
		    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (nfd < 0 && errno == ENOENT && create) {
			if (mkdirat(fd, comp, mode) != 0 && errno != EEXIST)
				goto fail;
			nfd = openat(fd, comp,
			    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		}
		if (nfd < 0)
			goto fail;
		close(fd);
		fd = nfd;
		off += n + 1;
	}
	return fd;
fail:
	e = errno;
	close(fd);
	errno = e;
	return -1;
}

/* openat2() beneath, retried when a concurrent rename made it EAGAIN. */
static int
open2(int dirfd, const char *path, int flags, mode_t mode)
{
	long fd = -1;

	for (int i = 0; i < EAGAIN_TRIES; i++) {
		fd = sys_openat2(dirfd, path, flags, mode);
		if (fd >= 0 || errno != EAGAIN)
			break;
	}
	return (int)fd;
}

/**
 * beneath_open(dirfd, path, flags, mode):
 * openat() the clean relative ${path} below ${dirfd} with ${flags}
 * (O_NOFOLLOW and O_CLOEXEC are added) and ${mode}, following no symlink
 * anywhere on the path.  Return the descriptor, or -1 with errno.
 */
int
beneath_open(int dirfd, const char *path, int flags, mode_t mode)
{
	const char *leaf;
	int pfd, fd, e;

	if (!is_clean(path)) {
		errno = EINVAL;
		return -1;
	}
	if (use_openat2())
		return open2(dirfd, path, flags, mode);
	if ((pfd = beneath_parent(dirfd, path, false, 0, &leaf)) < 0)
		return -1;
	fd = openat(pfd, leaf, flags | O_NOFOLLOW | O_CLOEXEC, mode);
	e = errno;
	close(pfd);
	errno = e;
	return fd;
}

/**
 * beneath_open_dir(dirfd, path, create, mode):
 * Open the folder ${path} (clean, relative) below ${dirfd} for use as a
 * directory descriptor.  With ${create}, folders missing on the way are
 * made with ${mode} (mkdir -p, never through a symlink).  Return the
 * descriptor, or -1 with errno.
 */
int
beneath_open_dir(int dirfd, const char *path, bool create, mode_t mode)
{
	int fd;

	if (!is_clean(path)) {
		errno = EINVAL;
		return -1;
	}
	if (use_openat2()) {
		fd = open2(dirfd, path, O_RDONLY | O_DIRECTORY, 0);
		if (fd >= 0 || errno != ENOENT || !create)
			return fd;
	}
	return walk(dirfd, path, strlen(path), create, mode);
}

/**
 * beneath_parent(dirfd, path, create, mode, ret_leaf):
 * Open the folder that holds the last component of the clean ${path}
 * below ${dirfd} (a new descriptor for ${dirfd} itself if ${path} has a
 * single component), making missing folders with ${mode} if ${create}.
 * Store a pointer to the last component (inside ${path}) in ${ret_leaf}.
 * Return the descriptor, or -1 with errno.
 */
int
beneath_parent(int dirfd, const char *path, bool create, mode_t mode,
    const char **ret_leaf)
{
	const char *slash;
	char *dir;
	int fd, e;

	if (!is_clean(path)) {
		errno = EINVAL;
		return -1;
	}
	if ((slash = strrchr(path, '/')) == NULL) {
		fd = fcntl(dirfd, F_DUPFD_CLOEXEC, 0);
	} else if (!use_openat2()) {
		fd = walk(dirfd, path, (size_t)(slash - path), create, mode);
	} else {
		if ((dir = strndup(path, (size_t)(slash - path))) == NULL)
			return -1;
		fd = beneath_open_dir(dirfd, dir, create, mode);
		e = errno;
		free(dir);
		errno = e;
	}
	if (fd >= 0)
		*ret_leaf = slash != NULL ? slash + 1 : path;
	return fd;
}

/**
 * beneath_unlink(dirfd, path, flags):
 * unlinkat() the clean ${path} below ${dirfd} with ${flags} (0 or
 * AT_REMOVEDIR); a symlink at the end is removed, never followed.
 * Return 0, or -1 with errno.
 */
int
beneath_unlink(int dirfd, const char *path, int flags)
{
	const char *leaf;
	int pfd, rc, e;

	if ((pfd = beneath_parent(dirfd, path, false, 0, &leaf)) < 0)
		return -1;
	rc = unlinkat(pfd, leaf, flags);
	e = errno;
	close(pfd);
	errno = e;
	return rc;
}
