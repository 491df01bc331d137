/*
 * testutil.h: small helpers shared by the unit tests.
 *
 * One temporary folder per test program (made by a cmocka group setup,
 * removed by the group teardown), files written with an exact mode, a
 * config text loaded from that folder, a search through the errors a
 * config produced, fixed time zones and UTC times, the "firing"
 * notification several tests start from, raw ustar entries and pax
 * headers for crafted archives, and a listing of a tree that shows any
 * change in it.  Everything here fails the running test through
 * cmocka when the machine does not cooperate (a file cannot be written,
 * ...), so callers need not check.  The helpers are linked into every
 * unit test program; all names start with tu_.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef VIGIL_TESTUTIL_H
#define VIGIL_TESTUTIL_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

#include "agent/notify.h"
#include "conf/conf.h"

/* The ustar block size: headers and padded data come in these. */
#define TU_TAR_BLOCK 512

/**
 * tu_tmpdir_setup(state):
 * A cmocka group setup: make a fresh folder /tmp/vigil-<program>.XXXXXX
 * that tu_tmpdir() names from then on.  Return 0, or -1 if it cannot be
 * made.
 */
int tu_tmpdir_setup(void **state);

/**
 * tu_tmpdir_teardown(state):
 * A cmocka group teardown: remove the folder of tu_tmpdir_setup() and all
 * in it, even subfolders a test made unreadable.  With VIGIL_TEST_KEEP or
 * KEEP_TMP set in the environment the folder stays and its name is printed
 * instead.  Return 0, or -1 if it could not be removed.
 */
int tu_tmpdir_teardown(void **state);

/**
 * tu_tmpdir():
 * The folder made by tu_tmpdir_setup(), or "" before it ran.
 */
const char *tu_tmpdir(void);

/**
 * tu_rmtree(path):
 * Remove ${path} and, if it is a folder, everything below it (rm -rf):
 * folders without permissions are opened up first.  A missing ${path} is
 * not an error.  Return 0 or -1.
 */
int tu_rmtree(const char *path);

/**
 * tu_write_file(path, data, len, mode):
 * Create or truncate ${path}, write the ${len} bytes at ${data} and set
 * its mode to exactly ${mode} (the umask does not apply).
 */
void tu_write_file(const char *path, const void *data, size_t len,
    mode_t mode);

/**
 * tu_read_file(path, ret_len):
 * The whole file ${path}, malloc'd with a NUL after its bytes; their
 * number goes to ${ret_len}.  The caller frees it.
 */
uint8_t *tu_read_file(const char *path, size_t *ret_len);

/**
 * tu_data_path(rel):
 * The path of ${rel} under tests/data ($VIGIL_TEST_DATA, or "data" from
 * tests/ when unset), in a static buffer that the next call overwrites.
 */
const char *tu_data_path(const char *rel);

/**
 * tu_write_conf(name, text, mode):
 * Write the string ${text} to ${name} inside tu_tmpdir() with ${mode}.
 * Return its path, in a static buffer that the next call overwrites.
 */
const char *tu_write_conf(const char *name, const char *text, mode_t mode);

/**
 * tu_conf_load(text, errs):
 * Write ${text} as the private (0600) file vigil.conf in tu_tmpdir() and
 * conf_load() it, which must succeed; the errors it finds go to ${errs}.
 * Return the config, which the caller frees with conf_free().
 */
struct conf *tu_conf_load(const char *text, struct conf_errs *errs);

/**
 * tu_has_error(errs, needle):
 * Return 1 if one of the messages in ${errs} contains ${needle}.  Else
 * print them all and ${needle} to stderr, to show why, and return 0.
 */
int tu_has_error(const struct conf_errs *errs, const char *needle);

/**
 * tu_set_tz(tz):
 * Make ${tz} ("UTC", "Europe/Berlin", ...) the local time zone.
 */
void tu_set_tz(const char *tz);

/**
 * tu_utc(y, mo, d, h, mi, s):
 * Unix seconds of that UTC date and time (month and day from 1).
 */
int64_t tu_utc(int y, int mo, int d, int h, int mi, int s);

/**
 * tu_notification_firing(t0):
 * The rule "cpu-high" on host "web1" gone from OK to CRITICAL at ${t0} (ms):
 * cpu.used_pct = 97.2 > 95, critical since two minutes before, reminders
 * every hour.
 */
struct notification tu_notification_firing(int64_t t0);

/**
 * tu_tar_header(h, name, type, size, link):
 * Fill the TU_TAR_BLOCK bytes at ${h} with a ustar header for ${name}
 * (shorter than 100 bytes) of ustar ${type} ('0' file, '1' hard link, '2'
 * symlink, '3' character device 1,3, ...), ${size} bytes of data, ${link}
 * (NULL for none) as the link target, mode 0644, owner 0:0, mtime
 * 1700000000, and a valid checksum.
 */
void tu_tar_header(uint8_t *h, const char *name, char type, size_t size,
    const char *link);

/**
 * tu_tar_add(buf, off, name, type, data, link):
 * Append at ${off} in ${buf} an entry as tu_tar_header() makes it, followed
 * by the string ${data} (NULL for none) padded to whole blocks.  Return the
 * offset after it.  The caller sizes ${buf}.
 */
size_t tu_tar_add(uint8_t *buf, size_t off, const char *name, char type,
    const char *data, const char *link);

/**
 * tu_tar_checksum(h):
 * Recompute the checksum of the ustar header at ${h} (after changing a
 * field of it).
 */
void tu_tar_checksum(uint8_t *h);

/**
 * tu_tar_pax(buf, off, type, records):
 * Append at ${off} in ${buf} a pax extended header of ${type} ('x' for the
 * next entry, 'g' global) holding the NULL-terminated "key=value" strings
 * ${records}, each as a "<length> key=value\n" record.  Return the offset
 * after it.
 */
size_t tu_tar_pax(uint8_t *buf, size_t off, char type,
    const char *const *records);

/**
 * tu_flip_byte(path, off):
 * Flip a bit of the byte at ${off} in the file ${path} (a second call puts
 * it back); the test fails if that cannot be done.
 */
void tu_flip_byte(const char *path, off_t off);

/**
 * tu_pathf(out, fmt, ...):
 * Format a path into ${out} (PATH_MAX bytes); the test fails if it does
 * not fit.
 */
void tu_pathf(char *out, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/**
 * tu_names(dir, out, outlen):
 * The names in ${dir} ("." and ".." too), sorted, each followed by '/',
 * as one string in ${out}: a folder's listing to compare.
 */
void tu_names(const char *dir, char *out, size_t outlen);

/**
 * tu_tree_list(root):
 * Every entry at and below ${root} (never following a symlink), one line
 * each in name order: relative path, mode, owner, size, mtime, a hash of
 * a regular file's bytes, a symlink's target.  Two listings are equal
 * only if nothing in the tree changed.  The caller frees the string.
 */
char *tu_tree_list(const char *root);

#endif /* !VIGIL_TESTUTIL_H */
