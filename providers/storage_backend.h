/*
 * storage_backend.h: what a storage backend implements.  See storage.h.
 *
 * A backend is a const ops table in providers/<name>/, one line of the
 * plug-in table (agent/plugins.c).  The wrappers in storage.c validate
 * keys and prefixes, count bytes and keep the upload bookkeeping, so a
 * backend sees only well-formed keys.  Error
 * messages a backend writes into ${err} start with its instance,
 * "local[here]: ", "s3[main]: ".  Backends never log above debug; the
 * caller that knows what the user wanted logs once.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef VIGIL_STORAGE_BACKEND_H
#define VIGIL_STORAGE_BACKEND_H

#include <stdbool.h>
#include <stdint.h>

#include "providers/storage.h"

struct storage_ops {
	const char *name; /* "local", "s3", ... */
	unsigned caps;	  /* STORAGE_CAP_* */
	/* Part sizes: every part but the last >= part_min, a multiple of
	 * part_align (1: any), at most part_max (0: no limit); at most
	 * max_parts parts (0: no limit). */
	size_t part_min;
	size_t part_align;
	size_t part_max;
	unsigned max_parts;
	/* Settings of the type besides "type", NULL-terminated. */
	const char *const *settings;
	/*
	 * Read the type's settings from ${group} into a new ${ret_tconf};
	 * record problems in ${errs}.  ${name} is the instance name.
	 * Return 0 or -1.
	 */
	int (*conf_parse)(const conf_node *group, const char *name,
	    void **ret_tconf, struct conf_errs *errs);
	void (*conf_free)(void *tconf);
	/* Make an instance; 0, AG_RETRY or -1. */
	int (*open)(void **ret_ctx, const struct storage_conf *conf,
	    struct ag_err *err);
	/* Start an upload of ${key}; the handle goes to ${ret_up}. */
	int (*put_begin)(void *ctx, const char *key, void **ret_up,
	    struct ag_err *err);
	/*
	 * Store part ${idx} (0, 1, ...); AG_RETRY means "not stored, send
	 * it again".  With STORAGE_CAP_PARALLEL, called from several
	 * threads at once for different parts, in any order; otherwise in
	 * order, one at a time.
	 */
	int (*put_part)(void *up, uint64_t idx, const uint8_t *buf, size_t len,
	    struct ag_err *err);
	/* Publish the object; frees ${up} unless AG_RETRY is returned. */
	int (*put_commit)(void *up, struct ag_err *err);
	/* Drop the upload and free ${up}. */
	void (*put_abort)(void *up);
	/* Store a whole object in one request; may be NULL (then begin,
	 * one part, commit). */
	int (*put)(void *ctx, const char *key, const uint8_t *buf, size_t len,
	    struct ag_err *err);
	/*
	 * Bytes [off, off + len) of key; len = UINT64_MAX reads to the end
	 * (a Range GET).  Delivered in order to ${sink}; a nonzero return of
	 * the sink stops the read with -1.  STORAGE_ABSENT if no object.
	 */
	int (*get)(void *ctx, const char *key, uint64_t off, uint64_t len,
	    storage_sink_fn *sink, void *cookie, struct ag_err *err);
	/* Objects under ${prefix} (name, size, time) appended to ${out}. */
	int (*list)(void *ctx, const char *prefix, unsigned flags,
	    struct objlist *out, struct ag_err *err);
	/* Delete ${key}; an absent key is success. */
	int (*remove)(void *ctx, const char *key, struct ag_err *err);
	/*
	 * Delete ${n} keys, in as few requests as the backend can (see
	 * storage_remove_many()); may be NULL: one remove() per key.
	 */
	int (*remove_many)(void *ctx, const char *const *keys, size_t n,
	    struct ag_err *err);
	/*
	 * What locks objects written through this instance ("S3 Object
	 * Lock"), or NULL; and the retain-until time of ${key} (0: none).
	 * May be NULL: no locks.
	 */
	const char *(*lock_name)(void *ctx);
	int (*retention)(void *ctx, const char *key, time_t *ret_until,
	    struct ag_err *err);
	/* Drop an unfinished upload (STORAGE_CAP_INCOMPLETE); may be NULL. */
	int (*abort_incomplete)(void *ctx, const struct objent *ent,
	    struct ag_err *err);
	void (*close)(void *ctx);
};

/*
 * What a backend's get() hands lib/http as its body sink: the caller's
 * sink, and whether it stopped the read (so that the backend says "stopped
 * by reader" rather than blaming the transfer).  Set .sink and .cookie;
 * pass storage_get_sink() with a pointer to it.
 */
struct storage_get_sink {
	storage_sink_fn *sink;
	void *cookie;
	bool stopped;
};

/* storage_get_sink(cookie, buf, len): see struct storage_get_sink. */
int storage_get_sink(void *cookie, const uint8_t *buf, size_t len);

/*
 * The range header of a get() of [${off}, ${off} + ${len}) ("len"
 * UINT64_MAX: to the end): "${name}: bytes=A-B" or "${name}: bytes=A-"
 * written into ${buf} (64 bytes hold any), or NULL when the whole object
 * is wanted.  ${name}: "Range" (S3, GCS), "x-ms-range" (Azure).
 */
#define STORAGE_RANGE_HDR_MAX 64
const char *storage_range_header(char *buf, size_t size, const char *name,
    uint64_t off, uint64_t len);

extern const struct storage_ops storage_local_ops;

/* The local backend's settings, for storage_conf_local(). */
struct storage_local_conf {
	char *path; /* absolute folder */
};

#endif
