/*
 * storage.h: named backup targets (a local folder now; S3, Azure Blob and
 * GCS later), for callers (backup jobs, restore, prune).
 *
 * A storage instance comes from a group in the config's "storage" section:
 *
 *	storage = { here = { type = "local"; path = "/var/backups/vigil"; }; };
 *
 * storage_conf_parse() reads the group (the type's own settings are parsed
 * by the backend, see storage_backend.h); storage_open() makes an instance.
 * Objects are named by keys such as "hosts/nightly/2026-11-22T030000Z-3f9a/
 * data.vgl": '/'-separated, no leading or trailing '/', no empty, "." or
 * ".." segment, at most STORAGE_KEY_MAX bytes.  Every call goes through the
 * wrappers below (never through the ops table), which check keys, count
 * bytes and prefix error messages with the instance, e.g.
 * "local[here]: write backups/x/data.vgl: No space left on device".
 *
 * An upload is streamed: storage_put_begin(), any number of
 * storage_put_part() calls, then storage_put_commit() (the object appears
 * whole, atomically) or storage_put_abort() (nothing appears).  On a
 * backend with STORAGE_CAP_PARALLEL, storage_put_part_at() sends numbered
 * parts from several threads at once.  Reads are ranged and pushed to a
 * sink callback in pieces.
 *
 * Return values: 0 success, -1 permanent failure, AG_RETRY (lib/ag.h) for a
 * transient one (the caller owns the retry policy), STORAGE_ABSENT where a
 * missing object is an ordinary outcome.  Failures fill ${err}.
 *
 * An instance may be used from several threads at once (the counters are
 * atomic; backends are written for it); one upload handle belongs to one
 * thread at a time, except for storage_put_part_at() on a backend with
 * STORAGE_CAP_PARALLEL.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef VIGIL_STORAGE_H
#define VIGIL_STORAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "conf/conf.h"
#include "lib/ag.h"
#include "lib/backoff.h"

struct storage;
struct storage_upload;
struct storage_ops;

/* The object a get() or remove() named does not exist. */
#define STORAGE_ABSENT 2

/* The longest key accepted (S3's limit). */
#define STORAGE_KEY_MAX 1024

/* Capability bits of a backend (storage_caps()). */
#define STORAGE_CAP_MULTIPART 0x01  /* put_part streams, many parts */
#define STORAGE_CAP_RANGE 0x02	    /* get() with an offset is cheap */
#define STORAGE_CAP_ATOMIC 0x04	    /* nothing visible before commit */
#define STORAGE_CAP_INCOMPLETE 0x08 /* lists and aborts stale uploads */
#define STORAGE_CAP_PARALLEL 0x10   /* parts sent at once, any order */

/* A storage target as configured. */
struct storage_conf {
	char *name;		       /* the group's name: "here" */
	char *type;		       /* "local", "s3", ... */
	const struct storage_ops *ops; /* the backend of ${type} */
	void *tconf;		       /* the type's settings, backend-owned */
	/* Common settings of uploads (0: the uploader's default). */
	unsigned upload_parallel; /* parts in flight, 1..16 */
	size_t upload_memory;	  /* part buffers in memory, bytes */
};

/* One object of a listing. */
struct objent {
	char *name;	 /* the key */
	uint64_t size;	 /* bytes (so far, for an upload) */
	time_t mtime;	 /* last modified (upload: started) */
	char *upload_id; /* incomplete uploads: backend token */
};

/* A listing; storage_list() fills it, objlist_free() empties it. */
struct objlist {
	struct objent *v;
	size_t n;
	size_t cap;
};

/* The most parts of one upload in flight at once (upload_parallel). */
#define STORAGE_PARALLEL_MAX 16

/* The range of upload_memory. */
#define STORAGE_MEMORY_MIN ((size_t)1 << 20)
#define STORAGE_MEMORY_MAX ((size_t)4 << 30)

/* At most this many objects in one listing. */
#define STORAGE_LIST_MAX 1000000

/* Flags of storage_list(). */
#define STORAGE_LIST_INCOMPLETE 0x01 /* list unfinished uploads instead */

/* Byte counters of one instance, since storage_open(). */
struct storage_stats {
	uint64_t bytes_read;	/* delivered to get() sinks */
	uint64_t bytes_written; /* accepted by put_part() */
	uint64_t gets, puts;	/* get() calls, committed uploads */
};

/**
 * storage_conf_parse(group, ret, errs):
 * Read the storage target ${group} (a member of the "storage" section; its
 * name is the target's name): "type" and the type's settings.  Unknown
 * settings and bad values are recorded in ${errs}.  Return 0 with a new
 * conf in ${ret}, or -1.
 */
int storage_conf_parse(const conf_node *group, struct storage_conf **ret,
    struct conf_errs *errs);

/**
 * storage_conf_find(section, name, ret, errs):
 * Parse the target called ${name} in the "storage" ${section}.  Return 0
 * with the conf in ${ret}; -1 with an error in ${errs} if absent or bad.
 */
int storage_conf_find(const conf_node *section, const char *name,
    struct storage_conf **ret, struct conf_errs *errs);

/**
 * storage_conf_local(name, path):
 * A local-folder target without a config file (tests, "vigil restore
 * --from DIR").  Return it, or NULL if out of memory or ${path} is not
 * absolute.
 */
struct storage_conf *storage_conf_local(const char *name, const char *path);

/* storage_conf_free(c): free ${c}; NULL does nothing. */
void storage_conf_free(struct storage_conf *c);

/**
 * storage_open(conf, ret, err):
 * Open an instance of ${conf} (which may be freed afterwards): for local,
 * check or create the folder.  Return 0 with the instance in ${ret}, or -1
 * (AG_RETRY for a transient failure) with a message.
 */
int storage_open(const struct storage_conf *conf, struct storage **ret,
    struct ag_err *err);

/* storage_close(st): close ${st}; NULL does nothing. */
void storage_close(struct storage *st);

/* storage_name(st): the instance's name. */
const char *storage_name(const struct storage *st);

/* storage_caps(st): STORAGE_CAP_* bits of the backend. */
unsigned storage_caps(const struct storage *st);

/**
 * storage_part_size(st, want):
 * The part size to use for uploads to ${st}, given the caller's wish
 * ${want}: raised to the backend's minimum and rounded up to its alignment.
 */
size_t storage_part_size(const struct storage *st, size_t want);

/* storage_max_parts(st): the most parts an upload may have, 0 if no limit. */
unsigned storage_max_parts(const struct storage *st);

/* storage_part_max(st): the largest part a backend takes, 0 if no limit. */
size_t storage_part_max(const struct storage *st);

/*
 * storage_upload_parallel(st), storage_upload_memory(st): the target's
 * upload_parallel and upload_memory settings, 0 where not set.
 */
unsigned storage_upload_parallel(const struct storage *st);
size_t storage_upload_memory(const struct storage *st);

/* storage_stats(st, ret): a snapshot of the counters of ${st}. */
void storage_stats(const struct storage *st, struct storage_stats *ret);

/**
 * storage_key_valid(key):
 * 1 if ${key} is a valid object key (see above), else 0.
 */
int storage_key_valid(const char *key);

/**
 * storage_put_begin(st, key, ret_up, err):
 * Start uploading ${key}.  On success store a handle in ${ret_up}, which the
 * caller ends with storage_put_commit() or storage_put_abort().  An existing
 * object ${key} stays visible, unchanged, until the commit replaces it.
 * Return 0, AG_RETRY, or -1.
 */
int storage_put_begin(struct storage *st, const char *key,
    struct storage_upload **ret_up, struct ag_err *err);

/**
 * storage_put_part(up, buf, len, err):
 * Append ${len} bytes of ${buf} to the upload.  Every part but the last
 * must be at least the backend's minimum (use storage_part_size()).  On
 * AG_RETRY the part was not stored and may be sent again; on -1 the upload
 * is dead and must be aborted.  Blocks while the data is written.
 */
int storage_put_part(struct storage_upload *up, const uint8_t *buf, size_t len,
    struct ag_err *err);

/**
 * storage_put_part_at(up, idx, buf, len, err):
 * Store ${buf} as part ${idx} (0, 1, ...) of the upload.  On a backend with
 * STORAGE_CAP_PARALLEL, several threads may call this at once for
 * different parts, in any order; elsewhere parts go in order, one at a
 * time.  The commit checks that parts 0 to the highest all arrived and
 * that only the highest is short of the minimum.  Returns as
 * storage_put_part().  Do not mix with storage_put_part().
 */
int storage_put_part_at(struct storage_upload *up, uint64_t idx,
    const uint8_t *buf, size_t len, struct ag_err *err);

/**
 * storage_put_commit(up, err):
 * Make the uploaded object visible, durably.  On 0 and -1 the handle is
 * freed; on AG_RETRY it is kept and the commit may be tried again (or the
 * upload aborted).
 */
int storage_put_commit(struct storage_upload *up, struct ag_err *err);

/* storage_put_abort(up): drop the upload and free it; NULL does nothing. */
void storage_put_abort(struct storage_upload *up);

/**
 * storage_put(st, key, buf, len, err):
 * Upload a whole object, in one request where the backend can (the object
 * must fit in one part: storage_part_max()).  Return 0, AG_RETRY or -1.
 */
int storage_put(struct storage *st, const char *key, const uint8_t *buf,
    size_t len, struct ag_err *err);

/* A get() sink: consume ${len} bytes; return 0, or nonzero to stop. */
typedef int storage_sink_fn(void *cookie, const uint8_t *buf, size_t len);

/**
 * storage_get(st, key, off, len, sink, cookie, err):
 * Read bytes [${off}, ${off} + ${len}) of ${key} and pass them in order to
 * ${sink} in pieces of at most 1 MiB; ${len} = UINT64_MAX reads to the end.
 * The range must lie inside the object.  Return 0 when all of it was
 * delivered; STORAGE_ABSENT if there is no such object; -1 if the range is
 * outside the object, on a read error or when the sink returned nonzero
 * (${err} then says "stopped by reader"); AG_RETRY if transient (the sink
 * may have seen part of the range: the caller restarts where it stopped).
 */
int storage_get(struct storage *st, const char *key, uint64_t off,
    uint64_t len, storage_sink_fn *sink, void *cookie, struct ag_err *err);

/* How often storage_get_retry() tries again after a transient failure. */
#define STORAGE_GET_RETRIES 5

/*
 * How a storage call is tried again after a transient failure (AG_RETRY):
 * STORAGE_GET_RETRIES times, after pauses doubling from 500 ms up to 30 s,
 * each +-20% (lib/backoff.h).
 */
extern const struct backoff storage_retry;

/**
 * storage_get_retry(st, key, off, len, sink, cookie, err):
 * storage_get() that tries a transient failure (AG_RETRY) again as
 * storage_retry says (5 times after pauses doubling from 500 ms), resuming
 * after the bytes ${sink} already took.  A sink that stops the transfer
 * ends it at once (-1).  Returns as storage_get(); AG_RETRY only when the
 * retries ran out.  Blocks for the pauses.
 */
int storage_get_retry(struct storage *st, const char *key, uint64_t off,
    uint64_t len, storage_sink_fn *sink, void *cookie, struct ag_err *err);

/**
 * storage_get_buf(st, key, max, ret_buf, ret_len, err):
 * Read all of ${key}, at most ${max} bytes, into a malloc'd buffer stored
 * in ${ret_buf} (the caller frees it) with its length in ${ret_len}.
 * Return 0, STORAGE_ABSENT, AG_RETRY or -1 (also if larger than ${max}).
 */
int storage_get_buf(struct storage *st, const char *key, size_t max,
    uint8_t **ret_buf, size_t *ret_len, struct ag_err *err);

/**
 * storage_list(st, prefix, flags, out, err):
 * Append to ${out} every object whose key starts with ${prefix} (a string
 * prefix, as in S3: "a/b" matches "a/b/c" and "a/bc"; "" lists all), sorted
 * by key.  With STORAGE_LIST_INCOMPLETE, list unfinished uploads instead
 * (needs STORAGE_CAP_INCOMPLETE; none otherwise).  ${out} must have been
 * zeroed or emptied.  Return 0, AG_RETRY or -1 (on failure ${out} is
 * emptied).
 */
int storage_list(struct storage *st, const char *prefix, unsigned flags,
    struct objlist *out, struct ag_err *err);

/* objlist_free(l): free the entries of ${l} and zero it (not ${l} itself). */
void objlist_free(struct objlist *l);

/**
 * objlist_add(l, name, size, mtime, upload_id):
 * Append a copy of an entry to ${l} (for backends).  Return 0, or -1 if out
 * of memory or over STORAGE_LIST_MAX.
 */
int objlist_add(struct objlist *l, const char *name, uint64_t size,
    time_t mtime, const char *upload_id);

/**
 * storage_remove(st, key, err):
 * Delete ${key}.  Return 0 (also if it did not exist), AG_RETRY or -1.
 */
int storage_remove(struct storage *st, const char *key, struct ag_err *err);

/**
 * storage_remove_many(st, keys, n, err):
 * Delete the ${n} objects ${keys}, absent ones being success.  A backend
 * with a batch delete (S3's DeleteObjects) sends them in as few requests as
 * it can, in the order given (the server may process a batch in any
 * order); the others delete one key at a time, in order, stopping at the
 * first failure.  Return 0 when every key is gone, AG_RETRY or -1 with a
 * message naming the first key that failed (and how many more did).
 */
int storage_remove_many(struct storage *st, const char *const *keys, size_t n,
    struct ag_err *err);

/**
 * storage_lock_name(st):
 * What keeps objects of ${st} from being deleted ("S3 Object Lock"), or
 * NULL if the target writes no object under a lock.
 */
const char *storage_lock_name(const struct storage *st);

/**
 * storage_retention(st, key, ret_until, err):
 * Until when an object lock keeps ${key} from being deleted: the time in
 * ${ret_until}, 0 if no lock holds it (always 0 if storage_lock_name() is
 * NULL; no request is made then).  Return 0, STORAGE_ABSENT, AG_RETRY or
 * -1.
 */
int storage_retention(struct storage *st, const char *key, time_t *ret_until,
    struct ag_err *err);

/**
 * storage_abort_incomplete(st, ent, err):
 * Drop the unfinished upload ${ent} from a STORAGE_LIST_INCOMPLETE listing
 * (a crashed run's leftovers).  Return 0, AG_RETRY or -1.
 */
int storage_abort_incomplete(struct storage *st, const struct objent *ent,
    struct ag_err *err);

#endif
