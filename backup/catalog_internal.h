/*
 * catalog_internal.h: what catalog.c and catalog_verify.c share and no
 * other file needs.
 */
#ifndef VIGIL_BACKUP_CATALOG_INTERNAL_H
#define VIGIL_BACKUP_CATALOG_INTERNAL_H

#include <stddef.h>

#include "lib/ag.h"
#include "backup/format.h"

/*
 * catalog_object_key(prefix, job, id, kind, out, outlen, err):
 * The storage key of the ${kind} object of backup ${id} of ${job} under
 * ${prefix}, into ${out}; 0, or -1 with a message if ${job} or ${id} is
 * not valid.
 */
int catalog_object_key(const char *prefix, const char *job, const char *id,
    enum format_kind kind, char *out, size_t outlen, struct ag_err *err);

#endif
