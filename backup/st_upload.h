/*
 * st_upload.h: the upload stage, the bottom of a backup chain.  It gathers
 * the stream into parts of a fixed size and sends them to a storage upload
 * (providers/storage.h); closing it sends the last part and commits the
 * object, freeing it unclosed aborts the upload.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef VIGIL_BACKUP_ST_UPLOAD_H
#define VIGIL_BACKUP_ST_UPLOAD_H

#include <stddef.h>
#include <stdint.h>

#include "lib/ag.h"

struct stage;
struct storage;

#define ST_UPLOAD_PART_DEFAULT ((size_t)8 << 20)
#define ST_UPLOAD_PART_MAX ((size_t)512 << 20)

struct st_upload_conf {
	size_t part_size; /* 0: ST_UPLOAD_PART_DEFAULT */
	/*
	 * A part or commit that fails with AG_RETRY is tried again up to
	 * ${retries} times (0: 5), after retry_ms (0: 500), doubling up to
	 * 30 s, each wait jittered by +-20% (storage_retry).
	 */
	unsigned retries;
	unsigned retry_ms;
};

/**
 * st_upload_new(st, key, conf, err):
 * Start uploading ${key} to ${st} and return the stage, or NULL with the
 * storage's message.  The part size is raised to the backend's minimum;
 * on backends with a part-count limit it doubles (up to
 * ST_UPLOAD_PART_MAX) each time an eighth of the limit is used, so large
 * streams fit.  Memory: one part buffer.
 */
struct stage *st_upload_new(struct storage *st, const char *key,
    const struct st_upload_conf *conf, struct ag_err *err);

/* st_upload_parts(stage): parts sent so far. */
uint64_t st_upload_parts(const struct stage *stage);

#endif
