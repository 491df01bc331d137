/*
 * manifest_internal.h: what manifest_write.c and manifest_read.c share and
 * no other file needs: the writer's bounds that the reader checks against,
 * and one string-vector helper.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef VIGIL_BACKUP_MANIFEST_INTERNAL_H
#define VIGIL_BACKUP_MANIFEST_INTERNAL_H

#include <stddef.h>

#define ENTRY_MAX ((size_t)1 << 20) /* one rendered index entry */
#define HEADER_MIN 170		    /* smallest object header */

#endif
