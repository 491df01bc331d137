/*
 * cloudsrc.h: what the cloud metric sources of this folder share: their
 * own counters as readings, the pause after throttling, query pieces and
 * RFC 3339 times for their URLs.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef VIGIL_CLOUDSRC_H
#define VIGIL_CLOUDSRC_H

#include <stddef.h>
#include <stdint.h>

#include "lib/backoff.h"
#include "lib/buf.h"
#include "agent/metric.h"

/*
 * A cloud source's counts.  They are readings of the source itself,
 * "<source>.api_calls" and so on, first in each batch (vigil status shows
 * a source's first readings).
 */
struct cloudsrc_counts {
	uint64_t api_calls;	    /* HTTP requests made */
	uint64_t metrics_requested; /* metrics (or series) asked for */
	uint64_t datapoints;	    /* readings fed */
	uint64_t errors;	    /* failed calls and metric errors */
	int64_t resources;	    /* resources watched; < 0: no such count */
};

/**
 * cloudsrc_counters(source, k, out, at):
 * Append the counts ${k} of source ${source} to ${out} when ${at} is
 * SIZE_MAX, else write their values over the ones appended at ${at}
 * (after the poll).  Return where they are.
 */
size_t cloudsrc_counters(const char *source, const struct cloudsrc_counts *k,
    struct metric_batch *out, size_t at);

/* The pause of a source that was throttled. */
struct cloudsrc_throttle {
	struct backoff bo;
	unsigned attempt;
	int64_t until_ms; /* monotonic; no calls before */
};

/* cloudsrc_throttle_init(t): 1 s doubling up to 5 min. */
void cloudsrc_throttle_init(struct cloudsrc_throttle *t);

/* cloudsrc_throttled(t): is ${t} pausing now? */
bool cloudsrc_throttled(const struct cloudsrc_throttle *t);

/**
 * cloudsrc_throttle_hit(t, source, retry_after_ms):
 * Throttled again: pause for the longer of the next backoff and
 * ${retry_after_ms} (the server's Retry-After, 0 if none), logged.
 */
void cloudsrc_throttle_hit(struct cloudsrc_throttle *t, const char *source,
    int64_t retry_after_ms);

/* cloudsrc_throttle_ok(t): a poll went through: the backoff starts over. */
void cloudsrc_throttle_ok(struct cloudsrc_throttle *t);

struct http_resp;

/*
 * cloudsrc_retry_after_ms(resp): the Retry-After of ${resp} in seconds (the
 * form the clouds send), as milliseconds; 0 if none or not a number.
 */
int64_t cloudsrc_retry_after_ms(const struct http_resp *resp);

/* cloudsrc_put_enc(b, s): append ${s} percent-encoded (RFC 3986). */
void cloudsrc_put_enc(struct buf *b, const char *s);

/* cloudsrc_time(s, buf): "2026-12-03T09:00:00Z" for ${s} seconds. */
void cloudsrc_time(int64_t s, char buf[32]);

#endif
