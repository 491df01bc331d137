/*
 * index_stream.h: split a JSON object holding one large array into pieces
 * small enough for jansson, while the text arrives in pieces of any size.
 *
 * The file index of a backup (index.vgl, docs/BACKUP-FORMAT.md section
 * 6.4) is one JSON object, {"format": 1, "backup_id": ..., "files": [...]},
 * whose "files" array may hold millions of entries: far too much to load
 * as one tree.  jansson cannot parse an array piece by piece, so this
 * small tokenizer follows the structure of exactly this shape (a root
 * object; one member, named by the caller, that is an array) and hands on
 * the text of each array element and of each other root member's value,
 * each bounded in size; the caller parses those with json_loadb().  It
 * checks the structure it walks (braces, brackets, commas, colons, keys
 * that are strings, nothing after the root object, no duplicate root key)
 * and leaves everything inside a piece to jansson, which sees the whole
 * piece.
 *
 * No I/O, no logging, no threads.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef VIGIL_BACKUP_INDEX_STREAM_H
#define VIGIL_BACKUP_INDEX_STREAM_H

#include <stddef.h>
#include <stdint.h>

#include "lib/ag.h"

struct index_stream;

struct index_stream_conf {
	const char *array_key; /* the root member that is the array */
	size_t element_max;    /* longest element text */
	size_t member_max;     /* longest value of another member */
	/*
	 * The JSON text of the root member ${key} (decoded) other than the
	 * array, ${len} bytes, not NUL-terminated.  Return 0 to go on.
	 */
	int (*on_member)(void *cookie, const char *key, const char *text,
	    size_t len);
	/* The JSON text of one element of the array; return 0 to go on. */
	int (*on_element)(void *cookie, const char *text, size_t len);
	void *cookie;
};

/**
 * index_stream_new(conf):
 * A splitter with the settings ${conf} (copied; array_key must outlive
 * it).  Return it, or NULL (out of memory).
 */
struct index_stream *index_stream_new(const struct index_stream_conf *conf);

/**
 * index_stream_feed(s, buf, len, err):
 * Feed the next ${len} bytes of JSON; the callbacks run from here.  Return
 * 0, or -1 with a message ("not valid JSON at byte 1234: ...", "an array
 * element of more than N bytes at byte ...") or when a callback returned
 * nonzero (its message is the caller's).  A failure is sticky.
 */
int index_stream_feed(struct index_stream *s, const uint8_t *buf, size_t len,
    struct ag_err *err);

/**
 * index_stream_end(s, err):
 * The text ended: return 0 if it held one whole root object with the
 * array, else -1 with a message.
 */
int index_stream_end(struct index_stream *s, struct ag_err *err);

/* index_stream_free(s): free ${s}; NULL is a no-op. */
void index_stream_free(struct index_stream *s);

#endif
