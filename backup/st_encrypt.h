/*
 * st_encrypt.h: the encrypt stage.  Every write is one plaintext chunk (the
 * compress stage writes one gzip member per write); it is sealed with
 * AES-256-GCM as chunk i of a sealed object (backup/format.h) and written
 * on.  The header goes first.  The stage holds back one chunk, because
 * only at close does it know which chunk is the last and must carry the
 * final flag.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef VIGIL_BACKUP_ST_ENCRYPT_H
#define VIGIL_BACKUP_ST_ENCRYPT_H

#include <stddef.h>
#include <stdint.h>

#include "lib/ag.h"

struct stage;
struct format_object;

/* One sealed chunk as written, for the manifest's chunk table. */
struct st_encrypt_chunk {
	uint64_t index;
	uint64_t offset; /* of the sealed chunk in the object */
	size_t sealed_len;
	size_t plain_len;
};

struct st_encrypt_conf {
	/* Called once per chunk, in order, after it was written on. */
	void (*on_chunk)(void *cookie, const struct st_encrypt_chunk *c);
	void *cookie;
};

/**
 * st_encrypt_new(next, obj, conf, err):
 * An encrypt stage sealing chunks of ${obj} (made by format_seal_new(); the
 * stage takes ownership) into ${next}.  Memory: one chunk of the object's
 * chunk size.  Return it, or NULL with a message.
 */
struct stage *st_encrypt_new(struct stage *next, struct format_object *obj,
    const struct st_encrypt_conf *conf, struct ag_err *err);

/* st_encrypt_size(stage): bytes written on so far (header included). */
uint64_t st_encrypt_size(const struct stage *stage);

#endif
