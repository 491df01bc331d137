/*
 * reader.h: the one read path of a backup's data (docs/BACKUP-FORMAT.md;
 * docs/ARCHITECTURE.md, section 6).  Restore and verify are this reader
 * with different sinks: "restore is the chain reversed".
 *
 * Given a manifest that catalog_load_manifest() opened (its signature and
 * chunk table checked), the reader reads data.vgl from storage, whole and
 * in order or only the chunks of a plan (ascending chunk-table positions,
 * one ranged GET per run of consecutive chunks), and a transient storage
 * failure resumes where it stopped (storage_get_retry(): the one backoff
 * policy, storage_retry).  It checks data.vgl's header against the
 * manifest's copy and the backup id, authenticates every chunk (the format
 * reader for a whole object, format_open_chunk() by index for a plan),
 * checks each chunk and each inflated member against the chunk table, and
 * inflates the gzip members in parallel (inflate.h).  The sink gets the
 * tar stream one member at a time, in order, on the caller's thread;
 * nothing reaches it before its chunk was authenticated.  Memory: one
 * sealed chunk and workers + 2 members, whatever the backup's size.
 *
 * A whole read also checks that data.vgl ends right after its final chunk
 * and that its size, chunk count and tar size are the manifest's.
 *
 * The reader does not log; messages come back in ${err}, naming the
 * object: "data.vgl: chunk 7: authentication failed (corrupt, reordered or
 * tampered data)", "backup nightly/X: data.vgl is missing", "data.vgl:
 * member 3 inflates to 1000 bytes, the chunk table says 65536", ...
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef VIGIL_BACKUP_READER_H
#define VIGIL_BACKUP_READER_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/ag.h"

struct crypto_key;
struct manifest;
struct manifest_chunk;
struct storage;

/*
 * reader_run() returns this when a callback stopped it (see there); not
 * AG_RETRY (1) nor STORAGE_ABSENT (2).
 */
#define READER_STOPPED 3

/* How far a read got. */
struct reader_stats {
	uint64_t fed;	    /* data.vgl bytes received */
	uint64_t chunks;    /* chunks authenticated and queued */
	uint64_t members;   /* members handed to the sink */
	uint64_t tar_bytes; /* ... their tar bytes */
};

struct reader_conf {
	struct storage *st;
	const char *prefix; /* "" or NULL for none */
	const char *job, *id;
	const struct manifest *m; /* from catalog_load_manifest() */
	const struct crypto_key *key;
	/*
	 * The chunks to read: ${nplan} ascending positions in the chunk
	 * table.  NULL: all of data.vgl, in order, to its end.
	 */
	const size_t *plan;
	size_t nplan;
	unsigned workers; /* inflate threads; 0: online CPUs */
	/*
	 * The tar stream: each member inflated from chunk ${c}, in order
	 * (${c}->tar_offset is the tar offset of ${buf}).  Nonzero stops.
	 */
	int (*sink)(void *cookie, const struct manifest_chunk *c,
	    const uint8_t *buf, size_t len);
	/*
	 * May be NULL: called before each chunk is opened, with what was
	 * done so far (progress, a reason of the caller's to stop: nonzero
	 * stops).
	 */
	int (*on_chunk)(void *cookie, const struct reader_stats *s);
	void *cookie;
	volatile sig_atomic_t *cancel; /* nonzero: stop ("cancelled") */
};

/**
 * reader_run(conf, ret_stats, err):
 * Read the data of the backup ${conf}->m describes, as described above,
 * into ${conf}->sink.  Blocks until done.  Store how far it got in
 * ${ret_stats} (may be NULL) whatever happens.  Return 0 when everything
 * asked for reached the sink; READER_STOPPED if the sink or on_chunk
 * returned nonzero (${err} untouched: the caller keeps its own reason);
 * otherwise -1, or AG_RETRY if storage kept failing transiently, with a
 * message.
 */
int reader_run(const struct reader_conf *conf, struct reader_stats *ret_stats,
    struct ag_err *err);

#endif
