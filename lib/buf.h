/*
 * buf.h: the one growable buffer of the tree, with a size cap given at
 * init (STYLE: "Every growable buffer gets a maximum at init; reaching it
 * is an error").  The contents stay NUL-terminated once there are any,
 * so a buffer of text is a C string.  A failed append is sticky: later
 * appends fail too, and the caller checks ${err} once at the end.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef VIGIL_BUF_H
#define VIGIL_BUF_H

#include <stddef.h>

struct buf {
	char *p;    /* the contents (NULL until the first byte) */
	size_t len; /* bytes held, without the NUL */
	size_t cap; /* bytes allocated */
	size_t max; /* most bytes it may hold, without the NUL */
	int err;    /* 0; E2BIG or ENOMEM once an append failed */
};

/**
 * buf_init(b, max):
 * Make ${b} an empty buffer that may hold up to ${max} bytes (at most
 * SIZE_MAX / 2).
 */
void buf_init(struct buf *b, size_t max);

/**
 * buf_reserve(b, n):
 * Make room for ${n} more bytes and a NUL after them (the caller may then
 * write to ${b}->p + ${b}->len and add what it wrote to ${b}->len).
 * Return 0, or -1 with ${b}->err set (E2BIG beyond the maximum, ENOMEM).
 */
int buf_reserve(struct buf *b, size_t n);

/**
 * buf_append(b, data, n):
 * Append ${n} bytes.  Return 0, or -1 if this or an earlier append failed
 * (then nothing is added).
 */
int buf_append(struct buf *b, const void *data, size_t n);

/* buf_puts(b, s): buf_append() of the string ${s}. */
int buf_puts(struct buf *b, const char *s);

/**
 * buf_reset(b):
 * Empty ${b} and forget an error; the memory and the maximum stay.
 */
void buf_reset(struct buf *b);

/**
 * buf_take(b):
 * Hand the contents over (NULL if nothing was ever added; the caller
 * frees them) and leave ${b} empty with its maximum.
 */
char *buf_take(struct buf *b);

/* buf_free(b): free the contents; ${b} is empty, with its maximum. */
void buf_free(struct buf *b);

#endif
