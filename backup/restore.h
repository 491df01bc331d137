/*
 * restore.h: restoring a backup, whole or in part, into a folder
 * (docs/BACKUP-FORMAT.md, section 7; DESIGN.md section 4).
 *
 * A full restore loads the manifest, then streams data.vgl from storage
 * through the format reader (every chunk authenticated before its bytes go
 * further), inflates the gzip members in parallel and in order, and hands
 * the tar stream to the extractor (extract.h), hashing it on the way; the
 * tar stream's sha256 and sizes are checked against the manifest at the
 * end.  A partial restore (restore_opts.paths) looks the paths up while
 * the file index streams past (memory: the entries selected, not the
 * index), works out which chunks hold their tar entries, fetches only
 * those byte ranges of data.vgl (ranged GETs; the data header comes from
 * the manifest's copy), opens each chunk by its index, inflates it, and
 * hands the extractor exactly the tar bytes of the wanted entries, each
 * only after its tar headers were found to name the entry the index says
 * (else "file index does not match the data: ..."; restore refused).  A
 * path that is not in the backup is an error before anything is written.
 *
 * What lands where:
 *   - Everything is written below the target folder, created 0700 if it
 *     does not exist.  A target that is itself a symlink is resolved once;
 *     below it no symlink is ever followed, whether the archive made it
 *     or it was there before (extract.h refuses absolute names, "..",
 *     names that resolve to the target itself, and anything reached
 *     through a symlink; device nodes only with ${devices}; owners,
 *     setuid/setgid bits and file capabilities only when running as root
 *     and not ${no_privileges}).
 *   - Existing files are replaced (unlinked and made again, never written
 *     through), restoring into a non-empty folder is allowed;
 *     ${no_overwrite} leaves existing files alone instead.
 *   - A hard link whose target is not among the restored paths gets the
 *     target's data: the target entry is extracted too, then its name is
 *     removed again (with the folders created only for it), leaving the
 *     data under the link's name.
 *   - When a restore fails part-way (a chunk fails authentication, the
 *     storage or the disk fails, cancelled), every byte that reached the
 *     disk was authenticated, but the entry being written when it stopped
 *     is cut short; it could be left at full size with its
 *     mtime, looking complete, so restore_run() removes that file (never
 *     following a symlink) and says so in ${ret}->removed.  Entries before
 *     it are complete; the error message says that the restore is
 *     incomplete.
 *   - A target file system left without a free block fails the restore
 *     ("writing into DIR: No space left on device"): libarchive does not
 *     report every failed write, so a full disk is checked for at the end.
 *
 * restore_run() does not log; messages come back in ${err}, warnings
 * through the on_warning callback.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef VIGIL_BACKUP_RESTORE_H
#define VIGIL_BACKUP_RESTORE_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/ag.h"

struct crypto_key;
struct storage;

/* Warnings copied into a restore_result. */
#define RESTORE_WARNINGS 5

/* Progress of a running restore. */
struct restore_progress {
	uint64_t tar_bytes;   /* tar stream handed on so far */
	uint64_t tar_total;   /* ... in all, when done */
	uint64_t files;	      /* tar entries read so far */
	uint64_t files_total; /* entries expected; 0: unknown */
	uint64_t bytes_read;  /* fetched from storage so far */
	int64_t elapsed_ms;
	bool done; /* the last call of this run */
};

struct restore_opts {
	const char *target; /* folder; created 0700 if missing */
	/*
	 * Archive paths to restore ("etc/nginx", a leading '/' is ignored),
	 * NULL-terminated; a folder brings everything below it.  NULL or
	 * empty: the whole backup.
	 */
	const char *const *paths;
	bool no_overwrite; /* leave existing files alone */
	bool devices;	   /* allow device nodes */
	bool no_owner;	   /* never restore owners (root) */
	/*
	 * Files owned by the caller, no setuid/setgid bits, no file
	 * capabilities, no device nodes (what a non-root restore gets).
	 */
	bool no_privileges;
	unsigned workers; /* inflate threads; 0: online CPUs */
	/*
	 * Called on the calling thread at most ~10 times a second while
	 * data flows, and once at the end (done).
	 */
	void (*progress)(void *cookie, const struct restore_progress *p);
	/*
	 * Called for each entry that was refused or had a problem; may be
	 * called from the extractor's thread, one call at a time.
	 */
	void (*on_warning)(void *cookie, const char *path, const char *reason);
	void *cookie;
	volatile sig_atomic_t *cancel; /* nonzero: stop ("cancelled") */
};

struct restore_result {
	bool ok;	     /* everything asked for was restored */
	bool partial;	     /* only some paths asked for */
	bool written;	     /* the target was touched */
	uint64_t entries;    /* tar entries read */
	uint64_t extracted;  /* written to the target */
	uint64_t refused;    /* not written: unsafe or failed */
	uint64_t warnings;   /* refusals and other problems */
	uint64_t bytes;	     /* file data written */
	uint64_t tar_bytes;  /* tar stream handed on */
	uint64_t tar_size;   /* the backup's whole tar stream */
	uint64_t bytes_read; /* from storage, with manifest */
	uint64_t data_size;  /* data.vgl's size */
	uint64_t chunks;     /* data chunks fetched and opened */
	int64_t elapsed_ms;
	/* A partial file removed after a failure (archive path), or "". */
	char removed[AG_ERR_SIZE];
	char first_warnings[RESTORE_WARNINGS][AG_ERR_SIZE];
	size_t nfirst_warnings;
};

/**
 * restore_run(st, prefix, job, id, key, opts, ret, err):
 * Restore backup ${job}/${id} (a complete one; see catalog_resolve()) from
 * the storage ${st} under ${prefix} ("" or NULL for none) with ${key} into
 * ${opts}->target, as described above.  Blocks until done.  Fill ${ret}
 * (may be NULL) whatever happens.  Return 0 if everything asked for was
 * restored; otherwise -1 (AG_RETRY if storage kept failing transiently)
 * with one message, such as "manifest.vgl: wrong key: ...", "data.vgl:
 * chunk 7: authentication failed (corrupt, reordered or tampered data);
 * restore incomplete: 12 entries written to /srv/restore", "etc/x is not
 * in backup nightly/2026-11-22T030000Z-3f9a; did you mean etc/x.d?",
 * "writing /srv/restore/big: File too large", "2 of 9 entries were not
 * restored (first: ../evil: refused: absolute path or \"..\")", "tar
 * stream sha256 differs from the manifest: the files restored into
 * /srv/restore cannot be trusted".
 */
int restore_run(struct storage *st, const char *prefix, const char *job,
    const char *id, const struct crypto_key *key,
    const struct restore_opts *opts, struct restore_result *ret,
    struct ag_err *err);

#endif
