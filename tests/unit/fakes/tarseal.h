/*
 * tarseal.h: a hand-made tar stream turned into a real backup, for tests
 * of what restore does with archives our own writer would never make.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef VIGIL_TARSEAL_H
#define VIGIL_TARSEAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "backup/format.h"

struct crypto_key;
struct st_archive_entry;
struct storage;

/**
 * tu_seal_tar(st, key, job, slice, tar, len, bad_sha, ents, nents, ret_id):
 * Seal the ${len} bytes of tar stream at ${tar} as a new backup of ${job}
 * in ${st} with ${key} and store its id in ${ret_id}: data.vgl through the
 * real compress (${slice}-byte slices), encrypt and upload stages, the
 * manifest last, with the ${nents} file index entries ${ents} exactly as
 * given (none: no file index).  With ${bad_sha}, the manifest records a
 * wrong tar sha256.  Fails the running test if anything fails.
 */
void tu_seal_tar(struct storage *st, const struct crypto_key *key,
    const char *job, size_t slice, const uint8_t *tar, size_t len,
    bool bad_sha, const struct st_archive_entry *ents, size_t nents,
    char ret_id[FORMAT_BACKUP_ID_SIZE]);

#endif
