/*
 * metric_archive.h: the heavy half of the metric archive (agent/archive.h,
 * docs/ARCHIVE.md): sealing an hour file (gzip, optionally the backup
 * format's encryption), uploading it, and opening a sealed object again.
 * Reached by vigild through the module's entry points (archive_seal,
 * archive_put in agent/plugin_module.h), by `vigil archive` directly.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef VIGIL_METRIC_ARCHIVE_H
#define VIGIL_METRIC_ARCHIVE_H

#include <stddef.h>
#include <stdint.h>

#include "conf/conf.h"

struct ag_err;

/* Each gzip member holds at most this much of the NDJSON. */
#define ARCHIVE_MEMBER_MAX ((size_t)1 << 20)

/* The largest hour file sealed (the format's whole-buffer limit). */
#define ARCHIVE_HOUR_MAX ((size_t)256 << 20)

/**
 * archive_seal(plain, out, key_file, hour, err):
 * Compress the NDJSON file ${plain} (whole lines only: a torn last line is
 * left out) into ${out} as gzip members of ARCHIVE_MEMBER_MAX bytes of
 * input each (one valid gzip stream); with ${key_file} (not NULL) the gzip
 * bytes are then sealed as one object of the backup format (kind data,
 * docs/BACKUP-FORMAT.md; `vigil decrypt --key` opens it), its backup id
 * made from ${hour} (hours since the epoch).  Written to "${out}.tmp",
 * fsync'd and renamed.  Return 0 or -1.
 */
int archive_seal(const char *plain, const char *out, const char *key_file,
    int64_t hour, struct ag_err *err);

/**
 * archive_put(conf, storage, key, path, err):
 * Upload the file ${path} as object ${key} of the target ${storage} of
 * ${conf}'s storage section.  Return 0, AG_RETRY (transient) or -1.
 */
int archive_put(const struct conf *conf, const char *storage, const char *key,
    const char *path, struct ag_err *err);

/**
 * archive_decrypt(key_file, buf, len, ret, ret_len, err):
 * Open a sealed hour (".ndjson.gz.vgl") held in ${buf}: the gzip bytes in a
 * malloc'd ${ret} (format_open_buffer()).  Return 0 or -1 (wrong key,
 * damaged object).
 */
int archive_decrypt(const char *key_file, const uint8_t *buf, size_t len,
    uint8_t **ret, size_t *ret_len, struct ag_err *err);

#endif
