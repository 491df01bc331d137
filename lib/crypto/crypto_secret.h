/*
 * crypto_secret.h: secret files, shared inside lib/crypto/ only (the
 * backup keys of crypto_keys.c and the signing keys of crypto_sign.c obey
 * one set of rules: see crypto_keys.h).  Nobody outside lib/crypto/
 * includes this header.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef VIGIL_CRYPTO_SECRET_H
#define VIGIL_CRYPTO_SECRET_H

#include <stddef.h>
#include <stdint.h>

struct ag_err;

/**
 * crypto_secret_read(path, what, buf, cap, ret_len, err):
 * Read the secret file ${path} (a ${what}, for messages) into ${buf}
 * (${cap} bytes) and store its length in ${ret_len}.  The file must be a
 * regular file with no permission bits for group or others.  Return 0 or
 * -1 with a message; ${buf} is wiped on failure.
 */
int crypto_secret_read(const char *path, const char *what, uint8_t *buf,
    size_t cap, size_t *ret_len, struct ag_err *err);

/**
 * crypto_secret_write_new(path, buf, len, err):
 * Create ${path} (0600) holding the ${len} bytes of ${buf}, synced to disk
 * and linked into place whole, never replacing a file.  On failure remove
 * what was created.  Return 0 or -1.
 */
int crypto_secret_write_new(const char *path, const void *buf, size_t len,
    struct ag_err *err);

/**
 * crypto_secret_pem_load(path, what, type, ret_raw, err):
 * Read the unencrypted PKCS#8 PEM private key of OpenSSL key type ${type}
 * ("X25519", "ED25519") from the secret file ${path} and store its 32 raw
 * bytes in ${ret_raw}.  Return 0 or -1 with a message.
 */
int crypto_secret_pem_load(const char *path, const char *what,
    const char *type, uint8_t ret_raw[32], struct ag_err *err);

/**
 * crypto_secret_pem_write_new(path, type, raw, err):
 * Write the 32-byte private key ${raw} of OpenSSL key type ${type} as
 * PKCS#8 PEM to the new secret file ${path}.  Return 0 or -1.
 */
int crypto_secret_pem_write_new(const char *path, const char *type,
    const uint8_t raw[32], struct ag_err *err);

#endif
