/*
 * fnv.c: see fnv.h.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "lib/fnv.h"

/* The FNV 64-bit prime, 2^40 + 2^8 + 0xb3. */
#define FNV1A64_PRIME 0x100000001b3ULL

uint64_t
fnv1a64(uint64_t h, const void *p, size_t len)
{
	const unsigned char *c = p;

	for (size_t i = 0; i < len; i++)
		h = (h ^ c[i]) * FNV1A64_PRIME;
	return h;
}
