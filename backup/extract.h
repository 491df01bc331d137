/*
 * extract.h: the restore end of the chain.  It reads a tar stream pushed
 * at it (by inflate's sink, in pieces of any size) and extracts it into a
 * target folder, or only lists it.
 *
 * libarchive's reader pulls, our pipeline pushes: the reader runs in its
 * own thread, fed through a bounded ring (extract_write() copies into it
 * and blocks while it is full), so memory stays bounded whatever the
 * archive holds.  libarchive only reads; our own writer (extract_disk.h)
 * creates the entries, every name resolved below the target folder's
 * descriptor without following any symlink (lib/beneath.h), small files
 * written on several threads.  Refused, with a warning and nothing
 * written: absolute paths, ".." anywhere, names that resolve to the
 * target folder itself (".", "./.", "a/.."), hard-link targets of those
 * kinds, anything reached through a symlink (one the archive made or one
 * that was in the target before), device nodes unless EXTRACT_DEVICES.
 * Owners, setuid/setgid bits of other users and file capabilities
 * (security.capability) are restored only when running as root, and
 * never with EXTRACT_NO_PRIVILEGES.  Split command output (st_archive.h)
 * is joined back into one file.
 *
 * A stream may also be several complete tar entries cut out of a backup
 * (single-file restore: the manifest gives each entry's offset and
 * length); the end-of-archive marker is then simply absent.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef VIGIL_BACKUP_EXTRACT_H
#define VIGIL_BACKUP_EXTRACT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/ag.h"

struct extract;

#define EXTRACT_LIST_ONLY 0x01	  /* read every entry, write nothing */
#define EXTRACT_DEVICES 0x02	  /* allow device nodes */
#define EXTRACT_NO_OWNER 0x04	  /* never restore owners, even as root */
#define EXTRACT_NO_OVERWRITE 0x08 /* leave existing files alone */
/* Files owned by the caller, no setuid/setgid, no capabilities or devices. */
#define EXTRACT_NO_PRIVILEGES 0x10

#define EXTRACT_RING_DEFAULT ((size_t)2 << 20)

/* One entry as read (and, unless refused or filtered, extracted). */
struct extract_entry {
	const char *path;    /* as stored (joined name for splits) */
	const char *stored;  /* as stored, also for split pieces */
	uint64_t tar_offset; /* of its first header in the stream */
	const char *link;    /* symlink/hard-link target or NULL */
	bool hardlink;
	unsigned type; /* S_IFREG, S_IFDIR, ... */
	unsigned mode; /* permission bits */
	uint64_t size;
	int64_t mtime;
	bool selected; /* passed the path filter */
};

struct extract_conf {
	const char *target; /* folder; created 0700 if missing */
	/* Extract only entries equal to or under these (NULL: all). */
	const char *const *paths;
	unsigned flags;	  /* EXTRACT_* */
	size_t ring_size; /* 0: EXTRACT_RING_DEFAULT */
	unsigned writers; /* file writer threads; 0: CPUs */
	void (*on_entry)(void *cookie, const struct extract_entry *e);
	/*
	 * The entry last passed to on_entry() is completely on disk, or its
	 * whole data is queued for a writer thread, which removes the file
	 * if it cannot write it (extract_stats.removed).
	 */
	void (*on_entry_done)(void *cookie);
	/* From the reader or a writer thread, one call at a time. */
	void (*on_warning)(void *cookie, const char *path, const char *reason);
	/*
	 * If not NULL: every byte pushed by extract_write(), in order (bytes
	 * after the end-of-archive marker too), on a thread of its own that
	 * reads the ring beside the reader (e.g. a digest of the stream off
	 * the caller's thread).  Done when extract_finish() returns.
	 */
	void (*tap)(void *cookie, const uint8_t *buf, size_t len);
	void *cookie;
};

struct extract_stats {
	uint64_t entries;   /* read */
	uint64_t extracted; /* written to disk */
	uint64_t refused;   /* unsafe, not written */
	uint64_t warnings;
	uint64_t bytes;	    /* file data written (listing: read) */
	uint64_t tar_bytes; /* stream bytes pushed */
	/* A file that could not be written whole and was removed, or "". */
	char removed[AG_ERR_SIZE];
};

/**
 * extract_new(conf, err):
 * Check the target (unless EXTRACT_LIST_ONLY), start the reader thread.
 * Return the extractor, or NULL with a message.
 */
struct extract *extract_new(const struct extract_conf *conf,
    struct ag_err *err);

/**
 * extract_write(x, buf, len):
 * Push the next ${len} bytes of the tar stream; blocks while the ring is
 * full.  Return 0, or -1 once the reader has failed (details from
 * extract_finish()).  Has the shape of an inflate sink (cookie = ${x}).
 */
int extract_write(void *x, const uint8_t *buf, size_t len);

/**
 * extract_finish(x, ret_stats, err):
 * End of stream: wait for the reader (and the tap, which has then seen
 * every byte written), finish directory times and modes.
 * Store the counters in ${ret_stats} (may be NULL).  Return 0, or -1 with
 * a message (a corrupt or truncated archive, a write error).
 */
int extract_finish(struct extract *x, struct extract_stats *ret_stats,
    struct ag_err *err);

/* extract_free(x): stop the reader if running, free; NULL is a no-op. */
void extract_free(struct extract *x);

#endif
