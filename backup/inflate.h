/*
 * inflate.h: parallel gzip-member inflation for restore.
 *
 * A backup's data is a sequence of independent gzip members (st_compress.h),
 * one per chunk.  The restore pipeline hands each decrypted member here
 * whole; worker threads inflate members in parallel with libdeflate (the
 * gzip trailer's ISIZE gives the exact output size, bounded by the slice
 * size) and the plaintext tar stream goes to a sink strictly in member
 * order, on the caller's thread.  At most workers + 2 members are in
 * flight; a call blocks while all are busy.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef VIGIL_BACKUP_INFLATE_H
#define VIGIL_BACKUP_INFLATE_H

#include <stddef.h>
#include <stdint.h>

#include "lib/ag.h"

struct inflate;

struct inflate_conf {
	/* The largest inflated member (the backup's slice size); 0: 32 MiB. */
	size_t max_out;
	unsigned workers; /* 0: online CPUs */
	/* Gets the tar stream in order; a nonzero return stops inflating. */
	int (*sink)(void *cookie, const uint8_t *buf, size_t len);
	void *cookie;
};

/**
 * inflate_new(conf, err):
 * Start the workers.  Return the context, or NULL with a message.
 */
struct inflate *inflate_new(const struct inflate_conf *conf,
    struct ag_err *err);

/**
 * inflate_buf(ifl, len, err):
 * A buffer of ${len} bytes (at most the gzip bound of max_out) for the
 * caller to fill with exactly one gzip member, e.g. by decrypting into it;
 * then call inflate_submit().  May deliver earlier members to the sink and
 * block.  Return it, or NULL with the (sticky) error.
 */
uint8_t *inflate_buf(struct inflate *ifl, size_t len, struct ag_err *err);

/**
 * inflate_submit(ifl, err):
 * Queue the member written into the last inflate_buf().  Return 0 or -1.
 */
int inflate_submit(struct inflate *ifl, struct ag_err *err);

/**
 * inflate_member(ifl, gz, len, err):
 * Copy the member ${gz} of ${len} bytes and queue it (inflate_buf() plus
 * inflate_submit()).  Return 0 or -1.
 */
int inflate_member(struct inflate *ifl, const uint8_t *gz, size_t len,
    struct ag_err *err);

/**
 * inflate_finish(ifl, err):
 * Wait for every queued member and deliver it.  Return 0, or -1 with the
 * first error: "member N: corrupt gzip data", "member N: ... exceeds the
 * slice size", or "output stopped by reader" when the sink refused.
 */
int inflate_finish(struct inflate *ifl, struct ag_err *err);

/* inflate_bytes_out(ifl): tar bytes delivered to the sink so far. */
uint64_t inflate_bytes_out(const struct inflate *ifl);

/* inflate_free(ifl): stop the workers and free; NULL is a no-op. */
void inflate_free(struct inflate *ifl);

#endif
