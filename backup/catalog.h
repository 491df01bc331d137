/*
 * catalog.h: the backups of a job as they lie in storage: listing them,
 * resolving "job/latest" and "job/<id>", pruning by the retention policy,
 * loading a manifest, and verifying a backup end to end.
 *
 * Listing, resolving and pruning work from object names and sizes alone
 * (one storage_list() of "<prefix>/<job>/"), so they work on a write-only
 * host that cannot decrypt its own manifests (docs/BACKUP-FORMAT.md,
 * 1.2): a backup is complete iff its manifest.vgl exists with a plausible
 * size.  Verifying needs the key: it opens the manifest and reads data.vgl
 * with the backup reader that restore uses (reader.h: every chunk
 * authenticated, in order, nothing missing or appended, every member
 * inflated and checked against the chunk table), checks the whole tar
 * stream against the manifest's sha256, walks it with libarchive and
 * checks the file index against the tar entries at the offsets it gives
 * (a separate index.vgl is read alongside data.vgl, one entry at a time,
 * so memory does not grow with the number of files).  Nothing is written
 * to disk.
 *
 * These functions do not log; messages come back in ${err}.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef VIGIL_BACKUP_CATALOG_H
#define VIGIL_BACKUP_CATALOG_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/ag.h"
#include "backup/format.h"
#include "backup/retention.h"

struct crypto_key;
struct manifest;
struct storage;

/* The smallest manifest.vgl: a 1.0 header and one empty sealed chunk. */
#define CATALOG_MANIFEST_MIN (170 + FORMAT_CHUNK_OVERHEAD)
/* Longest job name (as jobconf accepts). */
#define CATALOG_JOB_MAX 64

/* One backup found in storage. */
struct catalog_backup {
	char id[FORMAT_BACKUP_ID_SIZE];
	int64_t time_s; /* start, from the id */
	uint64_t size;	/* all its objects */
	uint64_t data_size, index_size, manifest_size;
	bool has_data, has_index, has_manifest;
	bool complete; /* manifest.vgl present, plausible */
	size_t nobjects;
};

/* The backups of one job, oldest first. */
struct catalog {
	struct catalog_backup *v;
	size_t n;
	size_t ncomplete;
};

/**
 * catalog_list(st, prefix, job, ret, err):
 * List the backups of ${job} under the storage ${prefix} ("" or NULL for
 * none) into ${ret} (free with catalog_free()), complete and incomplete,
 * sorted by time then id.  Objects that are not "<id>/<name>" below the
 * job are ignored.  Return 0, or -1 / AG_RETRY with the storage's message.
 */
int catalog_list(struct storage *st, const char *prefix, const char *job,
    struct catalog *ret, struct ag_err *err);

/* catalog_free(c): free what ${c} holds and zero it; NULL is a no-op. */
void catalog_free(struct catalog *c);

/**
 * catalog_find(c, job, which, ret_idx, err):
 * In the listing ${c} of ${job}, find the complete backup named by
 * ${which}: "latest", a full id, or an id without its suffix
 * ("2026-11-22T030000Z") or any other prefix of one, if only one complete
 * backup matches.  Store its position in ${ret_idx}.  Return 0, or -1
 * with "no complete backup of job nightly", "no backup nightly/X",
 * "backup nightly/X is incomplete (interrupted run)" or "nightly/X is
 * ambiguous: 2 backups match (A, B)".
 */
int catalog_find(const struct catalog *c, const char *job, const char *which,
    size_t *ret_idx, struct ag_err *err);

/**
 * catalog_resolve(st, prefix, spec, ret_job, ret_id, err):
 * Resolve ${spec}, "job/latest", "job/<id>" or "job/<id prefix>", to a
 * complete backup: store the job name in ${ret_job} (CATALOG_JOB_MAX + 1
 * bytes) and the id in ${ret_id}.  Return 0, AG_RETRY, or -1 with a
 * message (see catalog_find(), and "give JOB/latest, JOB/ID or
 * JOB/ID-prefix" for a malformed ${spec}).
 */
int catalog_resolve(struct storage *st, const char *prefix, const char *spec,
    char ret_job[CATALOG_JOB_MAX + 1], char ret_id[FORMAT_BACKUP_ID_SIZE],
    struct ag_err *err);

/* catalog_delete(): an object lock keeps the backup (${err} says why). */
#define CATALOG_RETAINED 3

/**
 * catalog_delete(st, prefix, job, id, err):
 * Delete every object of backup ${job}/${id}: manifest.vgl first (so an
 * interrupted delete leaves an incomplete backup, never a complete-looking
 * broken one), then index.vgl, data.vgl and anything else there, in one
 * storage_remove_many().  Where the storage locks objects, nothing is
 * deleted while the lock holds: the manifest's (written last, so locked
 * longest), or each object's if there is no manifest.  Return 0,
 * CATALOG_RETAINED with "S3 Object Lock retains it until
 * 2026-12-10T03:00:00Z" in ${err}, AG_RETRY or -1 with a message.
 */
int catalog_delete(struct storage *st, const char *prefix, const char *job,
    const char *id, struct ag_err *err);

/* What catalog_prune() does with a backup. */
enum catalog_action {
	CATALOG_KEEP = 0,	   /* complete, kept by the policy */
	CATALOG_DELETE,		   /* complete, not kept: deleted */
	CATALOG_INCOMPLETE,	   /* incomplete, left alone */
	CATALOG_DELETE_INCOMPLETE, /* incomplete and stale: deleted */
	CATALOG_KEEP_LOCKED	   /* to delete, but an object lock holds */
};

/*
 * "keep", "delete", "incomplete", "delete incomplete", "keep (locked)".
 */
const char *catalog_action_name(enum catalog_action a);

struct catalog_prune_opts {
	struct retention_policy policy;
	bool dry_run; /* decide and report, delete nothing */
	/*
	 * Incomplete backups started more than ${stale_grace_s} seconds
	 * before ${now_s} are deleted too; < 0 leaves them all alone.  A
	 * prune without the job lock passes a day or more, so a backup
	 * being written is never touched.
	 */
	int64_t stale_grace_s;
	int64_t now_s;		/* 0: now */
	const char *running_id; /* never deleted; may be NULL */
	/*
	 * Called once per backup, oldest first, after acting on it: ${rc}
	 * is 0, or -1 if the delete failed (${error} says why).  A backup
	 * to delete that an object lock still holds comes as
	 * CATALOG_KEEP_LOCKED, the lock and its date in ${reason}.
	 */
	void (*cb)(void *cookie, const struct catalog_backup *b,
	    enum catalog_action action, const char *reason, int rc,
	    const char *error);
	void *cookie;
};

/* Counts; in a dry run, deleted and bytes_freed say what would be. */
struct catalog_prune_result {
	size_t kept, deleted, incomplete, deleted_incomplete, failed;
	size_t locked; /* to delete, kept by an object lock */
	uint64_t bytes_freed;
};

/**
 * catalog_prune(st, prefix, job, opts, ret, err):
 * Apply the retention policy to the complete backups of ${job} and delete
 * those it does not keep (unless dry_run), then the stale incomplete ones
 * as ${opts} says.  The newest complete backup is always kept and an
 * all-zero policy keeps everything (retention.h).  A backup that an
 * object lock still holds is kept (CATALOG_KEEP_LOCKED), which is no
 * failure; a dry run asks for the locks too.  Counters go to ${ret}
 * (may be NULL).  Return 0; AG_RETRY or -1 if the listing failed (nothing
 * deleted); -1 if a delete failed (the others were still tried; ${err}
 * has the first failure).
 */
int catalog_prune(struct storage *st, const char *prefix, const char *job,
    const struct catalog_prune_opts *opts, struct catalog_prune_result *ret,
    struct ag_err *err);

/**
 * catalog_load_manifest(st, prefix, job, id, key, with_index, ret, err):
 * Fetch manifest.vgl of ${job}/${id}, open it with ${key}, parse it and
 * check that it names this job and id; with ${with_index}, also fetch,
 * inflate (streamed: one chunk at a time) and load index.vgl if the file
 * index is kept there.  Store the manifest in
 * ${ret} (free with manifest_free()).  This is where restore, verify and
 * list open a manifest, so it is where signatures are checked (by
 * format_open_buffer(), with the trusted signers ${key} carries).  Return
 * 0, AG_RETRY, or -1 with a message: "backup nightly/X has no manifest
 * (incomplete or deleted)", "manifest.vgl: wrong key: ...",
 * "manifest.vgl: chunk 0: authentication failed ...", "manifest.vgl: not
 * signed, but trusted_signers requires a signature ...", "manifest.vgl:
 * signed by 1f2e3d4c5b6a7988, which is not in trusted_signers",
 * "manifest.vgl: signature does not verify ...", "manifest: ..."
 * (malformed).
 */
int catalog_load_manifest(struct storage *st, const char *prefix,
    const char *job, const char *id, const struct crypto_key *key,
    bool with_index, struct manifest **ret, struct ag_err *err);

/**
 * catalog_stream_index(st, prefix, m, key, sink, cookie, err):
 * Fetch index.vgl of the backup that ${m} describes (its index must be
 * separate), open it with ${key}, inflate it one chunk at a time if it is
 * gzip, and pass its JSON to ${sink}(${cookie}, buf, len) in order; a
 * nonzero return stops.  Nothing of the index is kept.  Return 0,
 * AG_RETRY or -1 with a message (when ${sink} stopped it, a generic one:
 * the sink keeps its own).
 */
int catalog_stream_index(struct storage *st, const char *prefix,
    const struct manifest *m, const struct crypto_key *key,
    int (*sink)(void *, const uint8_t *, size_t), void *cookie,
    struct ag_err *err);

struct catalog_verify_progress {
	uint64_t bytes_read;  /* of data.vgl so far */
	uint64_t bytes_total; /* data.vgl's size */
	uint64_t tar_bytes;   /* inflated and hashed */
	uint64_t chunks_done, chunks_total;
	int64_t elapsed_ms;
};

struct catalog_verify_opts {
	unsigned workers;  /* inflate threads; 0: CPUs, <= 3 */
	bool skip_headers; /* do not check tar headers */
	/* Called at most ~10 times a second, and once at the end. */
	void (*progress)(void *cookie,
	    const struct catalog_verify_progress *p);
	void *cookie;
	volatile sig_atomic_t *cancel; /* nonzero: stop ("cancelled") */
};

struct catalog_verify_result {
	bool ok;
	uint64_t chunks; /* opened and inflated */
	uint64_t tar_bytes;
	uint64_t files;	     /* index entries checked */
	uint64_t headers;    /* tar headers compared */
	uint64_t bytes_read; /* from storage (storage_stats) */
	uint64_t data_size;
	int64_t elapsed_ms;
	bool index_separate;
	bool index_omitted;
	bool is_signed; /* manifest.vgl carries a signature */
	char signer_id[2 * FORMAT_KEY_ID_LEN + 1]; /* its signer, hex */
	char signer_pub[48]; /* ... as a base64 public key */
};

/**
 * catalog_verify(st, prefix, job, id, key, opts, ret, err):
 * Verify backup ${job}/${id} with ${key} (see above); ${opts} may be NULL.
 * Blocks for as long as reading the whole backup takes.  Fill ${ret} (ok
 * is true only if every check passed) and return 0, or -1 with the first
 * failure, naming the object: "data.vgl: chunk 7: authentication failed
 * (corrupt, reordered or tampered data)", "data.vgl: truncated: ...",
 * "manifest.vgl: wrong key: ...", "tar stream sha256 differs from the
 * manifest", "data.vgl: member 3 inflates to 1000 bytes, the chunk table
 * says 65536", "file index: files[12] \"etc/x\" at tar offset 5120: the
 * tar header there is \"etc/y\"", "tar stream: corrupt or truncated
 * archive: ..." (libarchive cannot read it).  A failure of the file index itself
 * ("index: sha256 differs from the manifest's ...", "index.vgl: chunk
 * 2: ...") comes first, even if the data side failed too.  AG_RETRY if
 * storage kept failing transiently.
 */
int catalog_verify(struct storage *st, const char *prefix, const char *job,
    const char *id, const struct crypto_key *key,
    const struct catalog_verify_opts *opts, struct catalog_verify_result *ret,
    struct ag_err *err);

#endif
