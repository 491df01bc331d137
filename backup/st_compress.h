/*
 * st_compress.h: the compress stage.  It cuts the tar stream into fixed
 * slices and compresses each into an independent gzip member (libdeflate)
 * in worker threads; the members go downstream in order, so their
 * concatenation is one valid .tar.gz, and each member can later be
 * inflated alone (single-file restore) or in parallel (inflate.h).
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef VIGIL_BACKUP_ST_COMPRESS_H
#define VIGIL_BACKUP_ST_COMPRESS_H

#include <stddef.h>
#include <stdint.h>

#include "lib/ag.h"

struct stage;

#define ST_COMPRESS_SLICE_DEFAULT ((size_t)4 << 20)
#define ST_COMPRESS_SLICE_MIN ((size_t)64 << 10)
#define ST_COMPRESS_SLICE_MAX ((size_t)32 << 20)
#define ST_COMPRESS_LEVEL_DEFAULT 6

/* One gzip member as written, for the manifest's chunk table. */
struct st_compress_member {
	uint64_t index;	  /* 0, 1, ...: also the chunk index */
	uint64_t tar_off; /* offset of the slice in the tar */
	size_t tar_len;	  /* slice length (last: shorter) */
	uint64_t gz_off;  /* member offset in the .tar.gz */
	size_t gz_len;	  /* member length */
};

struct st_compress_conf {
	size_t slice_size; /* 0: ST_COMPRESS_SLICE_DEFAULT */
	int level;	   /* 1..12; 0: the default 6 */
	unsigned workers;  /* 0: online CPUs */
	/* Called once per member, in order, before it is written on. */
	void (*on_member)(void *cookie, const struct st_compress_member *m);
	void *cookie;
};

/**
 * st_compress_bound(slice_size):
 * The largest gzip member a slice of ${slice_size} bytes can become (the
 * chunk size to give the encryption stage).
 */
size_t st_compress_bound(size_t slice_size);

/**
 * st_compress_new(next, conf, err):
 * A compress stage writing to ${next}.  It holds at most workers + 1
 * slices (input and output) in memory; a write blocks while all are in
 * flight.  Return it, or NULL with a message (bad settings, out of memory,
 * threads).
 */
struct stage *st_compress_new(struct stage *next,
    const struct st_compress_conf *conf, struct ag_err *err);

#endif
