/*
 * ag.h: the few definitions every layer shares: the AG_RETRY outcome of
 * network-facing calls and the small error record they fill in.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef VIGIL_AG_H
#define VIGIL_AG_H

#include <sys/types.h>

#include <stddef.h>

/* A transient failure (timeout, 429, 5xx, reset): keep the work and retry. */
#define AG_RETRY 1

/* Printable details of a failure, filled in by the callee (never a secret). */
#define AG_ERR_SIZE 256
struct ag_err {
	char msg[AG_ERR_SIZE];
};

/**
 * ag_err_set(err, fmt, ...):
 * Format a message into ${err} (which may be NULL).  Returns -1 so that
 * callers can write "return ag_err_set(err, ...);".
 */
int ag_err_set(struct ag_err *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/**
 * ag_mkdir_p(path, mode, parent_mode):
 * Create the folder ${path} with ${mode} and any missing parents with
 * ${parent_mode} (mkdir -p); existing folders are fine and left as they
 * are; an existing ${path} that is no folder is ENOTDIR.  The one mkdir -p
 * of the tree (folders below a descriptor, never through a symlink:
 * beneath_open_dir()).  Return 0, or -1 with errno set.
 */
int ag_mkdir_p(const char *path, mode_t mode, mode_t parent_mode);

/**
 * ag_check_owned_dir(path, err):
 * Check that the folder ${path} (not a symbolic link) belongs to the
 * effective user or to root and that neither group nor others may write to
 * it, so that no other user can have made it, or can add files to it, to
 * plant state (keys, queued alerts) for us.  Return 0, or -1 with a
 * message in ${err}.
 */
int ag_check_owned_dir(const char *path, struct ag_err *err);

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/**
 * ag_strv_free(v):
 * Free the NULL-terminated vector ${v} and its strings; NULL is a no-op.
 */
void ag_strv_free(char **v);

#endif
