/*
 * fuzz.h: what the fuzzing targets in tests/fuzz/ share.
 *
 * Each fuzz_<name>.c is one libFuzzer target: LLVMFuzzerTestOneInput()
 * takes one input, runs a parser of outside input on it and then checks
 * what the parser accepted (round trips, properties a caller relies on).
 * A broken property calls fuzz_fail(), which aborts, so that libFuzzer and
 * the sanitizers report it like a crash.  Built with clang and libFuzzer
 * (tests/fuzz/run.sh) the targets fuzz; otherwise standalone.c gives them
 * a main() that runs each seed of tests/fuzz/corpus/<name>/ once (a CTest
 * test).
 *
 * The helpers keep one private temporary folder per process, for parsers
 * that read files; it is removed at exit.  They abort when the machine does
 * not cooperate (no space, ...): that is no finding, but it must not pass
 * silently either.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef VIGIL_FUZZ_H
#define VIGIL_FUZZ_H

#include <stddef.h>
#include <stdint.h>

/* The libFuzzer entry points (the second is optional in a target). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/**
 * fuzz_quiet():
 * Drop vigil's log lines below errors: millions of warnings about bad
 * input slow fuzzing down and say nothing.
 */
void fuzz_quiet(void);

/**
 * fuzz_tmpdir():
 * This process's temporary folder (made on first use under /dev/shm if it
 * exists, else $TMPDIR or /tmp; removed at exit).
 */
const char *fuzz_tmpdir(void);

/**
 * fuzz_path(rel):
 * "<tmpdir>/${rel}" in a static buffer (valid until the next call).
 */
const char *fuzz_path(const char *rel);

/**
 * fuzz_write(path, data, len, mode):
 * Replace the file ${path} with ${len} bytes of ${data} and mode ${mode},
 * making missing parent folders inside the temporary folder.
 */
void fuzz_write(const char *path, const void *data, size_t len, unsigned mode);

/* fuzz_rmtree(path): remove ${path} and all below it (best effort). */
void fuzz_rmtree(const char *path);

/**
 * fuzz_read(path, ret_len):
 * The whole file ${path}, malloc'd and NUL-terminated, its length in
 * ${ret_len}; NULL if it does not exist.
 */
char *fuzz_read(const char *path, size_t *ret_len);

/**
 * fuzz_strndup(data, size):
 * The input as a C string (cut at its first NUL), malloc'd.
 */
char *fuzz_strndup(const uint8_t *data, size_t size);

/**
 * fuzz_fail(fmt, ...):
 * A property of the code under test does not hold: print why, remove the
 * temporary folder (kept and named with VIGIL_FUZZ_KEEP in the
 * environment) and abort.
 */
void fuzz_fail(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));

/**
 * fuzz_note(fmt, ...):
 * With VIGIL_FUZZ_VERBOSE set in the environment, print one line about
 * what the input did (to check that the seeds reach what they should);
 * otherwise nothing.
 */
void fuzz_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* fuzz_oom(p): abort if an allocation of the harness itself failed. */
void *fuzz_oom(void *p);

struct notification;

/**
 * fuzz_check_notification(n):
 * A notification the agent made or accepted must survive the spool:
 * notification_to_json() succeeds, notification_from_json() reads it back,
 * and writing that again gives the same text.  Abort if not.  Also renders
 * the summary into buffers of several sizes.
 */
void fuzz_check_notification(const struct notification *n);

struct manifest;

/**
 * fuzz_check_manifest(m):
 * Use a manifest that manifest_parse() (and manifest_load_index()) accepted
 * the way list and restore do, and abort if what they rely on does not
 * hold: every indexed path is found and selected, every entry's tar range
 * maps to chunks that hold it, the data header copy parses.
 * (util_manifest.c)
 */
void fuzz_check_manifest(const struct manifest *m);

#endif
