/*
 * beneath.h: open, make and remove files named by a relative path below a
 * directory descriptor, never leaving that directory and never following a
 * symlink on the way (nor at the end of the path).
 *
 * Where the kernel has openat2() (Linux 5.6), one call resolves a path
 * with RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS; the
 * first call probes for it (glibc may lack the wrapper: the raw system
 * call is used).  Elsewhere the path is walked one component at a time,
 * each opened with O_NOFOLLOW | O_DIRECTORY.  Either way a path that
 * climbs ("..") or is absolute never reaches the kernel: beneath_clean()
 * refuses it, and every function here refuses a path it would change.
 *
 * A symlink on the way fails with ELOOP; a missing folder with ENOENT.
 * Descriptors are opened O_CLOEXEC.  Nothing here logs.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef VIGIL_BENEATH_H
#define VIGIL_BENEATH_H

#include <sys/types.h>

#include <stdbool.h>

/**
 * beneath_clean(path):
 * Normalise the relative ${path} in place: drop empty and "." components
 * and trailing slashes ("./a//b/." becomes "a/b").  Return 0, or -1 with
 * errno EINVAL if ${path} is absolute, has a ".." component, or names the
 * directory itself ("", ".", "./.", "a/../." are all refused).
 */
int beneath_clean(char *path);

/**
 * beneath_open(dirfd, path, flags, mode):
 * openat() the clean relative ${path} below ${dirfd} with ${flags}
 * (O_NOFOLLOW and O_CLOEXEC are added) and ${mode}, following no symlink
 * anywhere on the path.  Return the descriptor, or -1 with errno.
 */
int beneath_open(int dirfd, const char *path, int flags, mode_t mode);

/**
 * beneath_open_dir(dirfd, path, create, mode):
 * Open the folder ${path} (clean, relative) below ${dirfd} for use as a
 * directory descriptor.  With ${create}, folders missing on the way are
 * made with ${mode} (mkdir -p, never through a symlink).  Return the
 * descriptor, or -1 with errno.
 */
int beneath_open_dir(int dirfd, const char *path, bool create, mode_t mode);

/**
 * beneath_parent(dirfd, path, create, mode, ret_leaf):
 * Open the folder that holds the last component of the clean ${path}
 * below ${dirfd} (a new descriptor for ${dirfd} itself if ${path} has a
 * single component), making missing folders with ${mode} if ${create}.
 * Store a pointer to the last component (inside ${path}) in ${ret_leaf}.
 * The component is then safe to pass to the *at() calls with the
 * returned descriptor: it holds no '/' and is neither "." nor "..".
 * Return the descriptor, or -1 with errno.
 */
int beneath_parent(int dirfd, const char *path, bool create, mode_t mode,
    const char **ret_leaf);

/**
 * beneath_unlink(dirfd, path, flags):
 * unlinkat() the clean ${path} below ${dirfd} with ${flags} (0 or
 * AT_REMOVEDIR); a symlink at the end is removed, never followed.
 * Return 0, or -1 with errno.
 */
int beneath_unlink(int dirfd, const char *path, int flags);

/**
 * beneath_set_walk(on):
 * For tests: with ${on}, never use openat2() (the component walk does
 * everything), as on kernels that lack it.
 */
void beneath_set_walk(bool on);

#endif
