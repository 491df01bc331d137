/*
 * fuzz_notify.c: fuzzing target for the notification JSON
 * (docs/WEBHOOK.md) and the spool files that hold it, which vigild reads
 * back from disk after a restart.
 *
 * The input is read two ways:
 *
 *  - as a notification document, passed as a C string (cut at a NUL):
 *    notification_from_json() must refuse it, leaving its output alone,
 *    or return a notification that fuzz_check_notification() can write
 *    and read back unchanged;
 *  - as a spool entry file, {"notifier": ..., "notification": {...}}, the
 *    only file of a spool directory: spool_open() must load it or move it
 *    aside to bad/, never fail; a loaded entry must come out of
 *    spool_next() with a notifier name and pass the same check.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/notify.h"
#include "agent/spool.h"

#include "tests/fuzz/fuzz.h"

/* A day after boot, as a monotonic time: every entry is due. */
#define SPOOL_NOW_MS 86400000LL

static char spool_dir[4096];
static char spool_file[4096];

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_quiet();
	snprintf(spool_dir, sizeof(spool_dir), "%s", fuzz_path("spool"));
	snprintf(spool_file, sizeof(spool_file), "%s",
	    fuzz_path("spool/000000000000002a.json"));
	return 0;
}

static void
as_notification(const uint8_t *data, size_t size)
{
	struct notification n, canary;
	char *s = fuzz_strndup(data, size);

	memset(&canary, 0x5a, sizeof(canary));
	n = canary;
	if (notification_from_json(s, &n) == 0) {
		fuzz_note("notification_from_json: ok");
		fuzz_check_notification(&n);
	} else if (memcmp(&n, &canary, sizeof(n)) != 0)
		fuzz_fail("notification_from_json() failed but changed its "
			  "output");
	free(s);
}

static void
as_spool_file(const uint8_t *data, size_t size)
{
	struct spool_entry e;
	struct spool *sp;
	int64_t wait = 0;
	size_t depth;

	fuzz_rmtree(spool_dir);
	fuzz_write(spool_file, data, size, 0600);
	if (spool_open(spool_dir, 100, &sp) != 0)
		fuzz_fail("spool_open() failed on a spool of one file");
	if ((depth = spool_depth(sp)) > 1)
		fuzz_fail("spool_open(): %zu entries from one file", depth);
	memset(&e, 0, sizeof(e));
	fuzz_note("spool: %zu entries", depth);
	switch (spool_next(sp, SPOOL_NOW_MS, &e, &wait)) {
	case 1:
		if (depth != 1)
			fuzz_fail("spool_next(): an entry from an empty spool");
		if (e.notifier[0] == '\0' ||
		    memchr(e.notifier, '\0', sizeof(e.notifier)) == NULL)
			fuzz_fail("spool_next(): a bad notifier name");
		fuzz_check_notification(&e.n);
		break;
	case 0:
		if (depth != 0)
			fuzz_fail("spool_next(): the loaded entry is not due");
		break;
	default:
		fuzz_fail("spool_next() failed");
	}
	spool_close(sp);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	as_notification(data, size);
	as_spool_file(data, size);
	return 0;
}
