/*
 * test_buf.c: lib/buf.c, the one growable buffer (webhook bodies, the
 * manifest writer, control replies, storage_get_buf()).
 *
 * The maximum set at init holds exactly: ${max} bytes fit, one more is
 * E2BIG and nothing of it is added; a failed append is sticky until
 * buf_reset(); the contents stay NUL-terminated as the buffer grows past
 * its first allocation; buf_reserve() gives room to write in place;
 * buf_take() hands over the memory and leaves an empty buffer with its
 * maximum; an empty buffer takes as NULL.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/buf.h"

static void
test_cap(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 10);
	assert_int_equal(buf_puts(&b, "0123456"), 0);
	assert_int_equal(buf_append(&b, "789", 3), 0);
	assert_int_equal(b.len, 10);
	assert_string_equal(b.p, "0123456789");
	assert_true(b.cap <= 11);
	/* One byte more is an error, and nothing of it is added. */
	assert_int_equal(buf_append(&b, "x", 1), -1);
	assert_int_equal(b.err, E2BIG);
	assert_int_equal(b.len, 10);
	assert_string_equal(b.p, "0123456789");
	/* Sticky: even an append that would fit, even an empty one. */
	assert_int_equal(buf_append(&b, "", 0), -1);
	buf_reset(&b);
	assert_int_equal(b.err, 0);
	assert_int_equal(b.len, 0);
	assert_string_equal(b.p, "");
	assert_int_equal(buf_puts(&b, "abc"), 0);
	assert_string_equal(b.p, "abc");
	/* A single append larger than the room left fails whole. */
	assert_int_equal(buf_puts(&b, "defghijk"), -1);
	assert_string_equal(b.p, "abc");
	buf_free(&b);
	assert_null(b.p);
	assert_int_equal(b.max, 10);
}

static void
test_grow(void **state)
{
	static char big[100000];
	struct buf b;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(big); i++)
		big[i] = (char)('a' + i % 26);
	buf_init(&b, sizeof(big));
	for (i = 0; i < sizeof(big); i += 777)
		assert_int_equal(buf_append(&b, big + i,
				     sizeof(big) - i < 777 ? sizeof(big) - i :
							     777),
		    0);
	assert_int_equal(b.len, sizeof(big));
	assert_memory_equal(b.p, big, sizeof(big));
	assert_int_equal(b.p[b.len], '\0');
	assert_true(b.cap <= sizeof(big) + 1);
	assert_int_equal(buf_append(&b, "x", 1), -1);
	buf_free(&b);
}

static void
test_reserve_take(void **state)
{
	struct buf b;
	char *p;

	(void)state;
	buf_init(&b, 1 << 20);
	assert_null(buf_take(&b));
	assert_int_equal(buf_reserve(&b, 5000), 0);
	assert_true(b.cap >= 5001);
	memset(b.p, 'z', 5000);
	b.len = 5000;
	b.p[b.len] = '\0';
	assert_int_equal(buf_reserve(&b, (1 << 20) - 5000), 0);
	assert_int_equal(buf_reserve(&b, (1 << 20) - 4999), -1);
	assert_int_equal(b.err, E2BIG);
	p = buf_take(&b);
	assert_non_null(p);
	assert_int_equal(strlen(p), 5000);
	free(p);
	assert_null(b.p);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.err, 0);
	assert_int_equal(b.max, 1 << 20);
	/* The maximum is bounded so that its NUL always fits. */
	buf_init(&b, SIZE_MAX);
	assert_true(b.max == SIZE_MAX / 2);
	assert_int_equal(buf_reserve(&b, SIZE_MAX / 2 + 1), -1);
	assert_int_equal(b.err, E2BIG);
	buf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cap),
		cmocka_unit_test(test_grow),
		cmocka_unit_test(test_reserve_take),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
