/*
 * st_upload.h: the upload stage, the bottom of a backup chain.  It cuts
 * the stream into parts and hands them to sender threads that store them
 * in a storage upload (providers/storage.h), several at once where the
 * backend allows it (STORAGE_CAP_PARALLEL), in bounded memory.  Closing it
 * sends the last part and commits the object; freeing it unclosed aborts
 * the upload.  A stream that fits in one part is stored with one request
 * (storage_put()).
 *
 * Part sizes: the first 2/5 of the backend's part-count limit are
 * part_size; after that they double every 3/50 of the limit, up to the
 * backend's largest part.  On S3 (10,000 parts, 5 MiB to 5 GiB) with
 * 5 MiB parts an object of 19.5 GiB goes in parts of 5 MiB and the
 * 5 TiB limit fits.  Parts larger than half of the memory budget are
 * spooled to an unlinked file in spool_dir (two at most) and sent from a
 * mapping, so memory stays bounded whatever the part size.
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
/* The largest part where the backend sets no limit. */
#define ST_UPLOAD_PART_MAX ((size_t)5 << 30)
/* Parts in flight on a backend with STORAGE_CAP_PARALLEL by default. */
#define ST_UPLOAD_PARALLEL_DEFAULT 4
/* The part buffers' memory budget by default. */
#define ST_UPLOAD_MEMORY_DEFAULT ((size_t)16 << 20)

struct st_upload_conf {
	size_t part_size; /* 0: ST_UPLOAD_PART_DEFAULT */
	/*
	 * A part or commit that fails with AG_RETRY is tried again up to
	 * ${retries} times (0: 5), after retry_ms (0: 500), doubling up to
	 * 30 s, each wait jittered by +-20% (storage_retry).
	 */
	unsigned retries;
	unsigned retry_ms;
	/* Parts in flight (0: the storage's upload_parallel, else 4 where
	 * the backend takes parts in parallel, else 1). */
	unsigned parallel;
	/* Part buffers in memory (0: the storage's upload_memory, else
	 * ST_UPLOAD_MEMORY_DEFAULT). */
	size_t memory;
	/* Folder for parts over memory / 2; NULL: keep them in memory. */
	const char *spool_dir;
};

/**
 * st_upload_new(st, key, conf, err):
 * A stage uploading ${key} to ${st}; NULL with a message on failure.
 * Nothing is sent before a second part's bytes arrive.
 */
struct stage *st_upload_new(struct storage *st, const char *key,
    const struct st_upload_conf *conf, struct ag_err *err);

/* st_upload_parts(stage): parts stored so far (1 for a single request). */
uint64_t st_upload_parts(const struct stage *stage);

/**
 * st_upload_part_len(base, part_max, max_parts, idx):
 * The length of part ${idx} (0, 1, ...) of an upload whose parts start at
 * ${base} bytes, to a backend taking at most ${max_parts} parts (0: no
 * limit, all parts ${base}) of at most ${part_max} bytes.
 */
size_t st_upload_part_len(size_t base, size_t part_max, unsigned max_parts,
    uint64_t idx);

/**
 * st_upload_bufs(part, memory, parallel):
 * How many part buffers of ${part} bytes a budget of ${memory} bytes
 * allows with ${parallel} senders: one per sender plus the one being
 * filled, as many as fit, and never fewer than two.
 */
unsigned st_upload_bufs(size_t part, size_t memory, unsigned parallel);

#endif
