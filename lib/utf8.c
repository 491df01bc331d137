/*
 * utf8.c: see utf8.h.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "lib/utf8.h"

size_t
utf8_seq(const unsigned char *p, uint32_t *cp)
{
	size_t need, i;
	uint32_t c;

	if (p[0] < 0x80) {
		c = p[0];
		need = 0;
	} else if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		need = 1, c = p[0] & 0x1f;
	} else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		need = 2, c = p[0] & 0x0f;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		need = 3, c = p[0] & 0x07;
	} else {
		return 0;
	}
	for (i = 1; i <= need; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (p[i] & 0x3f);
	}
	if ((need == 2 && (c < 0x800 || (c >= 0xd800 && c <= 0xdfff))) ||
	    (need == 3 && (c < 0x10000 || c > 0x10ffff)))
		return 0;
	if (cp != NULL)
		*cp = c;
	return need + 1;
}
