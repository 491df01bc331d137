/*
 * buf.c: see buf.h.  The allocation doubles from BUF_START and never
 * exceeds the maximum (and its NUL).
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"

#define BUF_START 1024

void
buf_init(struct buf *b, size_t max)
{
	memset(b, 0, sizeof(*b));
	b->max = max > SIZE_MAX / 2 ? SIZE_MAX / 2 : max;
}

int
buf_reserve(struct buf *b, size_t n)
{
	size_t ncap;
	char *np;

	if (b->err != 0)
		return -1;
	if (b->len > b->max || n > b->max - b->len) {
		b->err = E2BIG;
		return -1;
	}
	if (b->len + n + 1 <= b->cap)
		return 0;
	ncap = b->cap < BUF_START ? BUF_START : b->cap;
	while (ncap < b->len + n + 1)
		ncap *= 2;
	if (ncap > b->max + 1)
		ncap = b->max + 1;
	if ((np = realloc(b->p, ncap)) == NULL) {
		b->err = ENOMEM;
		return -1;
	}
	b->p = np;
	b->cap = ncap;
	return 0;
}

int
buf_append(struct buf *b, const void *data, size_t n)
{
	if (n == 0)
		return b->err != 0 ? -1 : 0;
	if (buf_reserve(b, n) != 0)
		return -1;
	memcpy(b->p + b->len, data, n);
	b->len += n;
	b->p[b->len] = '\0';
	return 0;
}

int
buf_puts(struct buf *b, const char *s)
{
	return buf_append(b, s, strlen(s));
}

void
buf_reset(struct buf *b)
{
	b->len = 0;
	b->err = 0;
	if (b->p != NULL)
		b->p[0] = '\0';
}

char *
buf_take(struct buf *b)
{
	char *p = b->p;

	buf_init(b, b->max);
	return p;
}

void
buf_free(struct buf *b)
{
	free(buf_take(b));
}
