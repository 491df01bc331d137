/*
 * tar_header.c: an entry's pax and ustar headers (see tar_header.h).
 *
 * Only what the comparison with the file index needs: the header checksum
 * and "ustar" magic, the size of a pax extended header, its "path" (or
 * "GNU.sparse.name", where libarchive hides a sparse file's real name)
 * record, the ustar prefix and name, and the typeflag.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <stdint.h>
#include <string.h>

#include "backup/manifest.h"
#include "backup/tar_header.h"

static uint64_t
octal(const uint8_t *p, size_t n)
{
	uint64_t v = 0;
	size_t i = 0;

	/* GNU base-256 for large values: first byte 0x80. */
	if (n > 0 && (p[0] & 0x80) != 0) {
		for (i = 1; i < n; i++)
			v = v << 8 | p[i];
		return v;
	}
	while (i < n && p[i] == ' ')
		i++;
	for (; i < n && p[i] >= '0' && p[i] <= '7'; i++)
		v = v * 8 + (uint64_t)(p[i] - '0');
	return v;
}

static int
ustar_ok(const uint8_t *h)
{
	uint64_t sum = 0, want = octal(h + 148, 8);

	for (size_t i = 0; i < 512; i++)
		sum += (i >= 148 && i < 156) ? ' ' : h[i];
	return sum == want && memcmp(h + 257, "ustar", 5) == 0;
}

/*
 * Find the record ${key} in the pax records ${p}[0..n) ("len key=value\n"
 * each); return its value and store its length in ${ret_len}, or NULL.
 */
static const char *
pax_find(const uint8_t *p, size_t n, const char *key, size_t *ret_len)
{
	const char *found = NULL;
	size_t off = 0, rlen, i, klen = strlen(key);

	while (off < n) {
		rlen = 0;
		for (i = off; i < n && p[i] >= '0' && p[i] <= '9' && rlen <= n;
		     i++)
			rlen = rlen * 10 + (size_t)(p[i] - '0');
		if (i >= n || p[i] != ' ' || rlen == 0 || rlen > n - off ||
		    p[off + rlen - 1] != '\n')
			return found;
		i++;
		/* The value ends before the record's '\n'. */
		if (i + klen < off + rlen - 1 &&
		    memcmp(p + i, key, klen) == 0 && p[i + klen] == '=') {
			found = (const char *)p + i + klen + 1;
			*ret_len = off + rlen - 1 - (i + klen + 1);
		}
		off += rlen;
	}
	return found;
}

/**
 * tar_header_need(h, len, ret_need):
 * ${h} holds the first ${len} >= 512 bytes of an entry's headers.  Store
 * in ${ret_need} how many bytes its headers take.  Return 0, or -1 if the
 * pax header exceeds TAR_HEADER_PAX_MAX.
 */
int
tar_header_need(const uint8_t *h, size_t len, size_t *ret_need)
{
	uint64_t psize;

	(void)len;
	if (h[156] != 'x' || !ustar_ok(h)) {
		*ret_need = 512;
		return 0;
	}
	/* A pax header: its records and the next header too. */
	psize = octal(h + 124, 12);
	if (psize > TAR_HEADER_PAX_MAX)
		return -1;
	*ret_need = 512 + ((size_t)psize + 511) / 512 * 512 + 512;
	return 0;
}

/**
 * tar_header_parse(h, len, ret):
 * Parse the ${len} bytes of headers ${h} into ${ret}.  Return 0, or -1 if
 * there is no valid ustar header there.
 */
int
tar_header_parse(const uint8_t *h, size_t len, struct tar_header *ret)
{
	const uint8_t *ph = NULL, *uh = h;
	const char *path = NULL;
	size_t plen = 0, n = 0, need;

	if (len < 512 || !ustar_ok(h) || tar_header_need(h, len, &need) != 0 ||
	    len < need)
		return -1;
	if (need > 512) {
		/* The pax records, then the entry's own ustar header. */
		ph = h + 512;
		n = (size_t)octal(h + 124, 12);
		uh = h + need - 512;
		if (!ustar_ok(uh))
			return -1;
		/* A sparse file's real name hides in GNU.sparse.name. */
		if ((path = pax_find(ph, n, "GNU.sparse.name", &plen)) == NULL)
			path = pax_find(ph, n, "path", &plen);
	}
	if (path == NULL) {
		/* ustar: prefix "/" name, each NUL-padded. */
		size_t pl = strnlen((const char *)uh + 345, 155);
		size_t nl = strnlen((const char *)uh, 100);

		n = 0;
		if (pl > 0) {
			memcpy(ret->name, uh + 345, pl);
			ret->name[pl] = '/';
			n = pl + 1;
		}
		memcpy(ret->name + n, uh, nl);
		n += nl;
		ret->name[n] = '\0';
		path = ret->name;
		plen = n;
	}
	/* Folders carry a trailing '/' in the tar, not in the index. */
	while (plen > 1 && path[plen - 1] == '/')
		plen--;
	ret->path = path;
	ret->path_len = plen;
	ret->typeflag = (char)uh[156];
	if (ret->typeflag == '\0' || ret->typeflag == '7')
		ret->typeflag = '0';
	return 0;
}

/**
 * tar_header_typeflag(t):
 * The ustar typeflag of the index type ${t} ('0', '5', ...), or 0.
 */
char
tar_header_typeflag(enum manifest_ftype t)
{
	static const char flags[] = {
		[MANIFEST_FILE] = '0',
		[MANIFEST_DIR] = '5',
		[MANIFEST_SYMLINK] = '2',
		[MANIFEST_HARDLINK] = '1',
		[MANIFEST_CHAR] = '3',
		[MANIFEST_BLOCK] = '4',
		[MANIFEST_FIFO] = '6',
	};

	return (unsigned)t < sizeof(flags) ? flags[t] : 0;
}
