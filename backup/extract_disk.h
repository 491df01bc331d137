/*
 * extract_disk.h: the extractor's disk writer (extract.h reads the tar
 * stream, this writes what it read).
 *
 * Every name is resolved below the target's descriptor through
 * lib/beneath.h, so nothing is ever opened, made, linked, changed or
 * removed through a symlink or outside the target.  The folder that holds
 * an entry is resolved once and kept open (a small cache of folder
 * descriptors, most recently used first); the entry itself is then one
 * *at() call on a single name in that folder.
 *
 * Names are bound in archive order, on the caller's thread: every file,
 * folder, symlink, hard link and fifo is created there, so a folder exists
 * before its children and a hard link's target before the link.  The data
 * of regular files is collected in pieces of up to EXTRACT_DISK_PIECE_MAX
 * bytes and handed, with the open descriptor, to a few writer threads;
 * the thread that writes a file's last piece sets its owner, mode,
 * extended attributes and times and closes it.  At most
 * EXTRACT_DISK_QUEUE_MAX bytes are in flight.  Folder modes, owners
 * and times are set at the end, deepest first, so a read-only folder can
 * still be filled.
 *
 * Existing entries are replaced (unlinked and made again, never truncated
 * or written through), unless no_overwrite; a folder in the way is removed
 * only if empty.  Nothing here logs: problems with one entry come back as
 * a reason (the entry is refused) or through the warn callback, a failed
 * write stops the extraction.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef VIGIL_BACKUP_EXTRACT_DISK_H
#define VIGIL_BACKUP_EXTRACT_DISK_H

#include <sys/types.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "lib/ag.h"

struct extract_disk;

#define EXTRACT_DISK_PIECE_MAX ((size_t)256 << 10)
#define EXTRACT_DISK_QUEUE_MAX ((size_t)4 << 20)
#define EXTRACT_DISK_WRITERS 4 /* at most */

/* extract_disk_begin(): the entry was not written; the reason says why. */
#define EXTRACT_DISK_REFUSED 1

struct extract_disk_xattr {
	const char *name;
	const void *value;
	size_t len;
};

/* One entry, as it should end up on disk. */
struct extract_disk_entry {
	const char *path; /* clean (beneath_clean), relative */
	unsigned type;	  /* S_IFREG, S_IFDIR, S_IFLNK, ... */
	const char *link; /* symlink target; hard link: clean path */
	bool hardlink;
	mode_t mode; /* permission bits to set (07777) */
	bool chown;  /* set uid and gid */
	uid_t uid;
	gid_t gid;
	struct timespec atime, mtime; /* tv_nsec UTIME_NOW: now */
	dev_t rdev;		      /* devices */
	uint64_t size;		      /* data that follows (regular files) */
	const struct extract_disk_xattr *xattrs; /* set in this order */
	size_t nxattrs;
	unsigned long fflags_set; /* FS_IOC_SETFLAGS bits */
	unsigned long fflags_clear;
};

struct extract_disk_conf {
	const char *target; /* an existing folder, resolved */
	bool no_overwrite;  /* leave existing entries alone */
	unsigned writers;   /* threads; 0: online CPUs */
	/* Problems that did not stop the entry; from any thread, serialised. */
	void (*warn)(void *cookie, const char *path, const char *reason);
	void *cookie;
};

/**
 * extract_disk_new(conf, err):
 * Open ${conf}->target and start the writer threads.  Return the writer,
 * or NULL with a message.
 */
struct extract_disk *extract_disk_new(const struct extract_disk_conf *conf,
    struct ag_err *err);

/**
 * extract_disk_begin(xd, e, reason, rlen):
 * Make the entry ${e}.  A regular file is created empty; its data follows
 * through extract_disk_data() and it ends with extract_disk_end().  Return
 * 0, EXTRACT_DISK_REFUSED with a reason in ${reason} (nothing written),
 * or -1 once the writer has failed (extract_disk_finish() says why).
 */
int extract_disk_begin(struct extract_disk *xd,
    const struct extract_disk_entry *e, char *reason, size_t rlen);

/**
 * extract_disk_append(xd, path, mtime, reason, rlen):
 * Reopen the regular file ${path} (made earlier by this writer) to append
 * data through extract_disk_data() (offsets ignored) up to
 * extract_disk_end(), which sets its mtime to ${mtime}.  Return as
 * extract_disk_begin().
 */
int extract_disk_append(struct extract_disk *xd, const char *path,
    const struct timespec *mtime, char *reason, size_t rlen);

/**
 * extract_disk_data(xd, buf, len, off):
 * Data of the current file at offset ${off}.  Return 0, or -1 (a write
 * error, or data beyond the entry's size).
 */
int extract_disk_data(struct extract_disk *xd, const void *buf, size_t len,
    uint64_t off);

/**
 * extract_disk_end(xd):
 * The current file's data is complete: queue it for a writer thread, or
 * finish it here.  Blocks while the queue is full.  Return 0 or -1.
 */
int extract_disk_end(struct extract_disk *xd);

/**
 * extract_disk_kick(xd):
 * Hand the writer threads the pieces collected so far and wake them (the
 * caller is about to wait for more input).  NULL is a no-op.
 */
void extract_disk_kick(struct extract_disk *xd);

/**
 * extract_disk_finish(xd, ret_removed, rlen, err):
 * Wait for the writer threads, drop a file left open by a failure (it is
 * not removed: the caller knows whether it was cut short), then set the
 * folders' modes, owners and times.  A file a writer thread could not
 * write whole was removed; its path goes to ${ret_removed} ("" if none).
 * Return 0, or -1 with the first write error.
 */
int extract_disk_finish(struct extract_disk *xd, char *ret_removed,
    size_t rlen, struct ag_err *err);

/**
 * extract_disk_free(xd):
 * Stop the writer threads (queued files are still written) and free;
 * NULL is a no-op.
 */
void extract_disk_free(struct extract_disk *xd);

#endif
