/*
 * backup_id.h: backup ids, "2026-11-22T030000Z-3f9a": the UTC start time of
 * the backup (strftime "%Y-%m-%dT%H%M%SZ"), a dash and 4 random lower-case
 * hex digits that separate two backups started in the same second.  Always
 * 23 characters, so ids sort by start time as plain strings
 * (docs/BACKUP-FORMAT.md, 1.1).  Pure functions; no logging.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef VIGIL_LIB_BACKUP_ID_H
#define VIGIL_LIB_BACKUP_ID_H

#include <stdint.h>

#define BACKUP_ID_LEN 23  /* characters, without the NUL */
#define BACKUP_ID_SIZE 32 /* buffer size callers pass */

/* Start times an id can carry: 1970-01-01 to 9999-12-31 (UTC). */
#define BACKUP_ID_TIME_MAX 253402300799LL

/**
 * backup_id_make(start_s, out):
 * Write the id of a backup started at ${start_s} (Unix seconds) with a
 * random suffix from getrandom(2) into ${out}.  Return 0, or -1 if
 * ${start_s} is outside 1970-9999 or the random source fails (${out} is
 * then an empty string).
 */
int backup_id_make(int64_t start_s, char out[BACKUP_ID_SIZE]);

/**
 * backup_id_format(start_s, suffix, out):
 * backup_id_make() with the 16-bit suffix given (tests, known names).
 * Return 0 or -1.
 */
int backup_id_format(int64_t start_s, unsigned suffix,
    char out[BACKUP_ID_SIZE]);

/**
 * backup_id_parse(id, ret_time_s):
 * Check strictly that ${id} is a backup id (exact length, digits, a real
 * calendar date and time, 'T', 'Z', '-', 4 lower-case hex digits) and
 * store its start time in ${ret_time_s} (may be NULL).  Return 0 or -1;
 * ${ret_time_s} is untouched on failure.
 */
int backup_id_parse(const char *id, int64_t *ret_time_s);

#endif
