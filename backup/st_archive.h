/*
 * st_archive.h: the archive producer at the top of a backup chain.  It
 * walks the source paths and runs the command sources, and writes a pax
 * tar stream of them (libarchive) into the next stage.  While writing it
 * reports every entry with its offset in the tar stream (for the
 * manifest's file index) and every per-file problem (a warning, counted;
 * fatal only in strict mode).
 *
 * Paths are stored relative: "/etc/hosts" becomes "etc/hosts".  Symlinks
 * are stored, never followed (except a source path that is itself a
 * symlink, as tar -H does); hard links are stored once plus link
 * entries; xattrs, ACLs and file flags are kept unless switched off;
 * sparse files are stored sparse.  A file that shrinks while being read
 * is padded with zeros so the tar stays valid (and a warning says so).
 *
 * Command sources ({ path = "db/app.sql"; run = "pg_dump app"; }) run
 * under /bin/sh -c; their standard output is streamed into the archive
 * without touching the disk.  A tar header needs the size before the
 * data, so the output is read in pieces of cmd_piece bytes (8 MiB by
 * default) held in memory: output that ends within the first piece
 * becomes one entry "db/app.sql"; longer output becomes consecutive
 * entries "db/app.sql.000001", "db/app.sql.000002", ... of one piece each
 * (the last may be shorter), each marked with the pax xattr
 * "user.vigil.split" = piece number.  extract.c joins them back into
 * "db/app.sql"; with plain tar, "cat db/app.sql.0* > db/app.sql" does.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef VIGIL_BACKUP_ST_ARCHIVE_H
#define VIGIL_BACKUP_ST_ARCHIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/ag.h"

struct stage;
struct st_archive;

#define ST_ARCHIVE_CMD_PIECE_DEFAULT ((size_t)8 << 20)
#define ST_ARCHIVE_CMD_PIECE_MAX ((size_t)256 << 20)
#define ST_ARCHIVE_SPLIT_XATTR "user.vigil.split"

/* One archived entry, for the manifest's file index. */
struct st_archive_entry {
	const char *path; /* as stored: "etc/hosts" */
	const char *link; /* symlink/hard-link target or NULL */
	bool hardlink;	  /* ${link} names an earlier entry */
	uint64_t offset;  /* of its first header in the tar */
	uint64_t length;  /* headers + data + padding */
	uint64_t size;	  /* data bytes (0 for links, dirs) */
	unsigned type;	  /* S_IFREG, S_IFDIR, S_IFLNK, ... */
	unsigned mode;	  /* permissions, suid/sgid/sticky */
	int64_t mtime;	  /* seconds */
	long mtime_nsec;
	int64_t uid, gid;
	unsigned piece;	      /* split output: 1, 2, ...; else 0 */
	const char *split_of; /* with ${piece}: the logical path */
};

struct st_archive_conf {
	const char *const *exclude; /* NULL-terminated globs, or NULL */
	bool one_file_system;	    /* do not descend into other mounts */
	bool exclude_caches;	    /* CACHEDIR.TAG folders: tag only */
	bool honor_nodump;	    /* skip files with the nodump flag */
	bool no_xattrs;
	bool no_acls;
	bool strict;	  /* a per-file problem is fatal */
	size_t cmd_piece; /* 0: ST_ARCHIVE_CMD_PIECE_DEFAULT */
	/* Polled between entries and data blocks; true stops the archive. */
	bool (*cancelled)(void *cookie);
	void (*on_entry)(void *cookie, const struct st_archive_entry *e);
	void (*on_warning)(void *cookie, const char *path, const char *reason);
	void *cookie;
};

struct st_archive_stats {
	uint64_t entries; /* tar entries written */
	uint64_t files, dirs, symlinks, hardlinks, others;
	uint64_t data_bytes; /* file contents stored */
	uint64_t tar_bytes;  /* the tar stream */
	uint64_t warnings;
};

/**
 * st_archive_new(next, conf, err):
 * Start a pax tar stream written into the stage ${next} (which the caller
 * keeps owning and closes after st_archive_finish()).  ${conf} is copied;
 * the exclude list is kept by reference.  Return it or NULL with a message.
 */
struct st_archive *st_archive_new(struct stage *next,
    const struct st_archive_conf *conf, struct ag_err *err);

/**
 * st_archive_add_path(a, path, err):
 * Archive the absolute ${path} and, for a folder, everything below it.
 * Per-file problems (permission denied, vanished, changed while read) go
 * to on_warning() and the walk goes on.  Return 0, or -1 with a message
 * if the archive cannot go on (the next stage failed, cancelled, strict).
 */
int st_archive_add_path(struct st_archive *a, const char *path,
    struct ag_err *err);

/**
 * st_archive_add_command(a, path, cmd, err):
 * Run ${cmd} with /bin/sh -c (standard input /dev/null, standard error
 * inherited) and store its standard output as ${path} (relative; pieces if
 * long, see above).  A nonzero exit status is a warning.  Return 0 or -1.
 */
int st_archive_add_command(struct st_archive *a, const char *path,
    const char *cmd, struct ag_err *err);

/**
 * st_archive_finish(a, err):
 * Write the end of the archive.  The caller then closes the next stage.
 * Return 0 or -1.
 */
int st_archive_finish(struct st_archive *a, struct ag_err *err);

/* st_archive_stats(a, ret): counters so far. */
void st_archive_stats(const struct st_archive *a,
    struct st_archive_stats *ret);

/* st_archive_free(a): free ${a}; NULL is a no-op. */
void st_archive_free(struct st_archive *a);

#endif
