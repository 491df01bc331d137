/*
 * archive.h: the metric archive (the optional top-level "archive" section;
 * docs/ARCHIVE.md).  Every reading the scheduler sees also goes, batched,
 * into hourly files of NDJSON, one object per reading:
 *
 *	{"t":1796083200123,"name":"cpu.user","value":1.5,"labels":{"k":"v"}}
 *
 * The scheduler thread only formats lines into memory (archive_add()); a
 * thread of its own (the archive thread) appends them to
 * <state_dir>/archive/YYYYMMDDHH.ndjson (the UTC hour of each reading),
 * fdatasync()s after each batch, and once an hour is complete plus the
 * grace period seals it (gzip, and the backup format's encryption with
 * key_file) into YYYYMMDDHH.ndjson.gz[.vgl] and uploads it to
 * <prefix>/metrics/<host>/YYYY/MM/DD/HH.ndjson.gz[.vgl].  Sealing and
 * uploading need the heavy module (agent/plugin_module.h: archive_seal,
 * archive_put), which the archive thread loads at the first sealing; a
 * failed upload is retried with lib/backoff.h while the sealed file waits
 * on disk.  The folder is bounded by spool_max: past it, the oldest sealed
 * hours are dropped and counted (archive.dropped_bytes).
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef VIGIL_ARCHIVE_H
#define VIGIL_ARCHIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf/conf.h"

struct archive;
struct metric_batch;
struct runconf;

/* The archive section's settings. */
struct archive_conf {
	const char *storage;  /* a target of the storage section */
	const char *prefix;   /* before "metrics/"; "" for none */
	const char *key_file; /* or NULL: not encrypted */
	uint64_t spool_max;   /* bytes under <state_dir>/archive */
	int64_t grace_ms;     /* wait after the hour ends */
};

#define ARCHIVE_SPOOL_MAX_DEFAULT ((uint64_t)256 << 20)
#define ARCHIVE_GRACE_DEFAULT_MS (5 * 60 * 1000)

/* Memory for lines not yet written (past it a batch is dropped). */
#define ARCHIVE_PENDING_MAX ((size_t)16 << 20)

/**
 * archive_conf_parse(node, ret, errs):
 * Read the archive group ${node}; ${storage_section} is the config's
 * storage section, where the named target must be.  Strings point into
 * the configuration.  Return 0, or -1 with errors in ${errs}.
 */
int archive_conf_parse(const conf_node *node, const conf_node *storage_section,
    struct archive_conf *ret, struct conf_errs *errs);

/*
 * Hours are named by their start: hour = floor(ms / 3600000).
 * archive_hour_stem(hour, buf): "YYYYMMDDHH" (buf of 11 bytes or more).
 * archive_hour_key(prefix, host, hour, encrypted, buf, len): the object key
 * "<prefix>/metrics/<host>/YYYY/MM/DD/HH.ndjson.gz[.vgl]" (no prefix: from
 * "metrics/"); -1 if it does not fit.
 * archive_parse_stem(s, ret_hour): the inverse of archive_hour_stem()
 * (the first 10 characters of ${s}); 0 or -1.
 */
#define ARCHIVE_HOUR_MS 3600000LL
void archive_hour_stem(int64_t hour, char buf[11]);
int archive_hour_key(const char *prefix, const char *host, int64_t hour,
    bool encrypted, char *buf, size_t len);
int archive_parse_stem(const char *s, int64_t *ret_hour);

/**
 * archive_format_line(b, m, now_ms, out):
 * Append the NDJSON line of reading ${m} (its time, or ${now_ms} when it
 * has none) to ${out} (a struct buf).  The name is split into its base and
 * labels ("disk.used{mount=/}" -> "name":"disk.used",
 * "labels":{"mount":"/"}); a value that is not finite is null.  Return 0,
 * or -1 if the buffer is full or the labels are malformed.
 */
struct buf;
struct metric;
int archive_format_line(struct buf *out, const struct metric *m,
    int64_t now_ms);

/**
 * archive_recover_file(path, ret_size, err):
 * Cut a partly written last line off the hour file ${path} (a crash in the
 * middle of an append); store the size kept in ${ret_size}.  0 or -1.
 */
struct ag_err;
int archive_recover_file(const char *path, uint64_t *ret_size,
    struct ag_err *err);

/* What vigil status shows (archive_stats()). */
struct archive_stats {
	uint64_t spool_bytes;	  /* files under <state_dir>/archive */
	uint64_t hours_waiting;	  /* sealed, not yet uploaded */
	uint64_t uploaded;	  /* objects uploaded since the start */
	uint64_t uploaded_bytes;  /* their bytes */
	uint64_t dropped_bytes;	  /* sealed hours dropped past spool_max */
	uint64_t dropped_hours;	  /* how many */
	uint64_t dropped_late;	  /* readings of an hour already sealed */
	uint64_t dropped_pending; /* readings dropped: ARCHIVE_PENDING_MAX */
	uint64_t failures;	  /* failed uploads in a row */
	int64_t last_upload_ms;	  /* wall time, 0 if none */
	char last_error[256];
};

/**
 * archive_start(rc, state_dir, host, err):
 * Start the archive of ${rc}'s archive section (which must be there):
 * make <state_dir>/archive, recover what a crash left there and start the
 * archive thread, which holds a reference on ${rc}.  Return the archive,
 * or NULL with a message.
 */
struct archive *archive_start(struct runconf *rc, const char *state_dir,
    const char *host, struct ag_err *err);

/*
 * archive_reconfigure(a, rc): take the archive settings of ${rc} (a reload);
 * pending work carries on with them.
 */
void archive_reconfigure(struct archive *a, struct runconf *rc);

/**
 * archive_add(a, b):
 * Queue the readings of ${b} (scheduler thread; never blocks on disk or
 * storage).  Readings of an hour whose grace period is over are dropped
 * and counted.
 */
void archive_add(struct archive *a, const struct metric_batch *b);

/*
 * archive_flush(a): have the archive thread write and sync what is queued
 * and run one round of sealing and uploading; wait for it (tests).
 */
void archive_flush(struct archive *a);

/* archive_stats(a, ret): a snapshot of the counters. */
void archive_stats(struct archive *a, struct archive_stats *ret);

/*
 * archive_metrics(a, b): add the archive's readings to ${b}:
 * archive.dropped_bytes, archive.spool_bytes, archive.hours_waiting,
 * archive.upload_failures.
 */
void archive_metrics(struct archive *a, struct metric_batch *b);

/*
 * archive_stop(a): write what is queued, stop and join the thread, free
 * ${a}.  Hours not yet uploaded stay on disk for the next start.  NULL
 * does nothing.
 */
void archive_stop(struct archive *a);

#endif
