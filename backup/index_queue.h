/*
 * index_queue.h: a bounded queue of file index entries between two
 * threads, so that a reader can walk a file index of any size while it
 * streams in, one entry at a time.
 *
 * `vigil backup verify` reads index.vgl on a thread of its own (a
 * manifest_index_reader fed by catalog_stream_index()) and puts each
 * entry here; the tar checker, which follows data.vgl, takes them one by
 * one as the tar stream reaches their offsets.  The queue holds at most
 * ${max_entries} entries and, beyond its first entry, at most ${max_bytes}
 * bytes of their strings: the producer waits while it is full, the
 * consumer while it is empty.  The producer ends it with
 * index_queue_close(), giving its outcome; the consumer ends its part
 * with index_queue_drain() (the producer goes on to the end of the index,
 * entries are discarded, so that its outcome is known) or
 * index_queue_stop() (the producer is told to stop).
 *
 * No I/O, no logging.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef VIGIL_BACKUP_INDEX_QUEUE_H
#define VIGIL_BACKUP_INDEX_QUEUE_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/ag.h"

struct index_queue;
struct manifest_file;

/**
 * index_queue_new(max_entries, max_bytes):
 * An empty queue of at most ${max_entries} (>= 1) entries holding at most
 * ${max_bytes} bytes of strings.  Return it, or NULL (out of memory).
 */
struct index_queue *index_queue_new(size_t max_entries, size_t max_bytes);

/**
 * index_queue_put(q, f):
 * Producer: append the entry ${f}, taking its strings (${f} is zeroed),
 * after waiting for room.  After index_queue_drain() the entry is freed
 * at once.  Return 0, or -1 after index_queue_stop() (${f} is then
 * cleared too).
 */
int index_queue_put(struct index_queue *q, struct manifest_file *f);

/**
 * index_queue_close(q, rc, msg):
 * Producer: no more entries.  ${rc} is 0 if the whole index was read and
 * checked, else AG_RETRY or -1 with the message ${msg}.
 */
void index_queue_close(struct index_queue *q, int rc, const char *msg);

/**
 * index_queue_get(q, ret):
 * Consumer: move the oldest entry into ${ret} (free its strings with
 * manifest_file_clear()), after waiting for one.  Return 1, 0 if the
 * producer closed the queue with success and it is empty, or -1 if the
 * producer failed (index_queue_result() says why; entries still queued
 * are not handed on).
 */
int index_queue_get(struct index_queue *q, struct manifest_file *ret);

/**
 * index_queue_failed(q):
 * Whether the producer has closed the queue with a failure (no waiting).
 */
bool index_queue_failed(struct index_queue *q);

/* index_queue_drain(q): consumer: take no more; let the producer finish. */
void index_queue_drain(struct index_queue *q);

/* index_queue_stop(q): consumer: take no more; the producer should stop. */
void index_queue_stop(struct index_queue *q);

/**
 * index_queue_result(q, err):
 * After index_queue_close(): the producer's ${rc}, with its message in
 * ${err} if nonzero.
 */
int index_queue_result(struct index_queue *q, struct ag_err *err);

/* index_queue_free(q): free ${q} and the entries left; NULL is a no-op. */
void index_queue_free(struct index_queue *q);

#endif
