/*
 * tar_header.h: reading the headers of one entry of a backup's tar stream
 * (pax as libarchive writes it: an optional pax extended header 'x' with
 * its records, then the entry's ustar header), to compare the name and
 * type stored there with the file index.  Used by verify, which checks
 * every entry, and by a partial restore, which checks each entry it
 * extracts before handing on any of its bytes.
 *
 * No I/O, no allocation, no logging.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef VIGIL_BACKUP_TAR_HEADER_H
#define VIGIL_BACKUP_TAR_HEADER_H

#include <stddef.h>
#include <stdint.h>

#include "backup/manifest.h"

/* The largest pax extended header read. */
#define TAR_HEADER_PAX_MAX ((size_t)1 << 20)
/* The most bytes an entry's headers take: pax header, records, ustar. */
#define TAR_HEADER_MAX (TAR_HEADER_PAX_MAX + 1536)
/* Room for a ustar name: prefix "/" name, NUL. */
#define TAR_HEADER_NAME_SIZE (155 + 1 + 100 + 1)

/**
 * tar_header_need(h, len, ret_need):
 * ${h} holds the first ${len} >= 512 bytes of an entry's headers.  Store
 * in ${ret_need} how many bytes its headers take (512, or a pax header, its
 * records and the ustar header after them); they are all there when
 * ${len} >= ${ret_need}.  Return 0, or -1 if the pax header exceeds
 * TAR_HEADER_PAX_MAX.
 */
int tar_header_need(const uint8_t *h, size_t len, size_t *ret_need);

/* The entry an entry's headers describe. */
struct tar_header {
	const char *path;		 /* not NUL-terminated */
	size_t path_len;		 /* without trailing '/' */
	char typeflag;			 /* '0' for a regular file */
	char name[TAR_HEADER_NAME_SIZE]; /* path may point here */
};

/**
 * tar_header_parse(h, len, ret):
 * Parse the ${len} bytes of headers ${h} (as tar_header_need() measured)
 * into ${ret}, whose path points into ${h} or into ${ret}->name.  The path
 * is a pax "GNU.sparse.name" or "path" record, else the ustar name.
 * Return 0, or -1 if there is no valid ustar header there.
 */
int tar_header_parse(const uint8_t *h, size_t len, struct tar_header *ret);

/**
 * tar_header_typeflag(t):
 * The ustar typeflag of the index type ${t} ('0', '5', ...), or 0.
 */
char tar_header_typeflag(enum manifest_ftype t);

#endif
