/*
 * fnv.h: FNV-1a, 64 bits: a fast non-cryptographic hash for spreading
 * and fingerprinting (the backup splay, lib/schedule.c).  Never for
 * anything an adversary may choose to collide.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef VIGIL_FNV_H
#define VIGIL_FNV_H

#include <stddef.h>
#include <stdint.h>

/* The FNV-1a 64 offset basis: the hash of no bytes. */
#define FNV1A64_INIT 0xcbf29ce484222325ULL

/**
 * fnv1a64(h, p, len):
 * Continue the FNV-1a 64 hash ${h} (FNV1A64_INIT to start) over the
 * ${len} bytes at ${p}, and return it.  Feeding a message in pieces gives
 * the hash of the whole.
 */
uint64_t fnv1a64(uint64_t h, const void *p, size_t len);

#endif
