/*
 * crypto_keys.h: the long-term backup keys, loaded from files and kept in
 * one struct that is wiped when freed.  Three kinds (docs/BACKUP-FORMAT.md,
 * "Key files"):
 *
 *  - a key file: 32 random bytes, stored raw (exactly 32 bytes) or as 64 hex
 *    digits with an optional trailing newline;
 *  - a passphrase file: its text, one trailing newline ("\n" or "\r\n")
 *    stripped, 1 to CRYPTO_PASSPHRASE_MAX bytes;
 *  - an X25519 key pair: the private key as an unencrypted PKCS#8 PEM file
 *    (what "openssl genpkey -algorithm X25519" writes), the public key as
 *    the base64 of its 32 raw bytes (the config's public_key = "...").
 *
 * Secret files must be regular files with no permission bits for group or
 * others (mode 0600 or 0400); anything else is refused, naming the file and
 * its mode.  Secrets never appear in error messages.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef VIGIL_CRYPTO_KEYS_H
#define VIGIL_CRYPTO_KEYS_H

#include <stddef.h>
#include <stdint.h>

#include "lib/crypto/crypto_sign.h"

struct ag_err;

enum crypto_key_mode {
	CRYPTO_KEY_FILE = 1,	   /* 32-byte symmetric key file */
	CRYPTO_KEY_PASSPHRASE = 2, /* passphrase, stretched with scrypt */
	CRYPTO_KEY_X25519 = 3	   /* X25519 public (and private) key */
};

#define CRYPTO_KEY_LEN 32
#define CRYPTO_PASSPHRASE_MAX 1024
/* Base64 of a 32-byte public key: 44 characters and a NUL. */
#define CRYPTO_PUBLIC_STR_SIZE 45

/* Trusted manifest signers a key can carry, at most. */
#define CRYPTO_TRUSTED_MAX 32

/* scrypt costs written into new passphrase-sealed objects. */
#define CRYPTO_SCRYPT_LOG2N_DEFAULT 15 /* N = 32768 */
#define CRYPTO_SCRYPT_R_DEFAULT 8
#define CRYPTO_SCRYPT_P_DEFAULT 1

/*
 * The long-term key of a backup job.  Create it only with the
 * crypto_keys_* constructors and release it with crypto_keys_free(), which
 * wipes it.  backup/format.c reads the fields; nobody else should.
 */
struct crypto_key {
	enum crypto_key_mode mode;
	/*
	 * CRYPTO_KEY_FILE: the key (always present).  CRYPTO_KEY_X25519: the
	 * private key if has_secret, else zero (write-only host).
	 */
	int has_secret;
	uint8_t secret[CRYPTO_KEY_LEN];
	uint8_t pub[CRYPTO_KEY_LEN];	      /* X25519 public key */
	char pass[CRYPTO_PASSPHRASE_MAX + 1]; /* PASSPHRASE, NUL-ended */
	size_t passlen;
	/* scrypt costs for sealing (PASSPHRASE); opening reads the header's. */
	unsigned scrypt_log2n;
	uint32_t scrypt_r;
	uint32_t scrypt_p;
	/*
	 * Who signs and whom to trust (docs/BACKUP-FORMAT.md 3.5): manifests
	 * sealed with this key are signed by ${signer} (owned; NULL:
	 * unsigned); manifests opened with it must be signed by one of the
	 * ${ntrusted} public keys in ${trusted} (0: no signature required,
	 * but one that is present must still be valid).
	 */
	struct crypto_signer *signer;
	uint8_t trusted[CRYPTO_TRUSTED_MAX][CRYPTO_SIGN_PUBLEN];
	size_t ntrusted;
};

/**
 * crypto_keys_load_keyfile(path, err):
 * Load a symmetric key file (raw 32 bytes, or 64 hex digits and an optional
 * newline).  Return the key, or NULL with a message in ${err}: the file
 * cannot be opened, is not a regular file, is accessible by group or others,
 * or has the wrong length or contents.
 */
struct crypto_key *crypto_keys_load_keyfile(const char *path,
    struct ag_err *err);

/**
 * crypto_keys_load_passphrase(path, err):
 * Load a passphrase file (one trailing newline stripped; empty refused).
 * The key uses the default scrypt costs.  Return the key or NULL.
 */
struct crypto_key *crypto_keys_load_passphrase(const char *path,
    struct ag_err *err);

/**
 * crypto_keys_load_x25519(path, err):
 * Load an X25519 private key from a PKCS#8 PEM file; the public key is
 * derived from it.  This is the key restore needs.  Return the key or NULL.
 */
struct crypto_key *crypto_keys_load_x25519(const char *path,
    struct ag_err *err);

/**
 * crypto_keys_from_public(b64, err):
 * A write-only key from the base64 public key string ${b64} (44 characters,
 * surrounding whitespace ignored).  It can seal backups, never open them.
 * Return the key or NULL.
 */
struct crypto_key *crypto_keys_from_public(const char *b64,
    struct ag_err *err);

/**
 * crypto_keys_from_raw(mode, buf, len, err):
 * A key from bytes in memory: CRYPTO_KEY_FILE takes the 32-byte key,
 * CRYPTO_KEY_PASSPHRASE the passphrase (1 to CRYPTO_PASSPHRASE_MAX bytes,
 * no NUL), CRYPTO_KEY_X25519 the raw 32-byte private key.  For environment
 * variables and tests.  Return the key or NULL.
 */
struct crypto_key *crypto_keys_from_raw(enum crypto_key_mode mode,
    const uint8_t *buf, size_t len, struct ag_err *err);

/**
 * crypto_keys_set_scrypt(key, log2n, r, p, err):
 * Set the scrypt costs that sealing with the passphrase ${key} uses
 * (N = 2^${log2n}, 1 <= log2n <= 30; r >= 1; 1 <= p <= 16; at most
 * CRYPTO_SCRYPT_MAXMEM of memory).  Tests use small values.  Return 0 or -1.
 */
int crypto_keys_set_scrypt(struct crypto_key *key, unsigned log2n, uint32_t r,
    uint32_t p, struct ag_err *err);

/**
 * crypto_keys_public_string(key, out, outlen):
 * The base64 public key of the X25519 ${key} into ${out} (at least
 * CRYPTO_PUBLIC_STR_SIZE bytes).  Return 0, or -1 if ${key} is not X25519.
 */
int crypto_keys_public_string(const struct crypto_key *key, char *out,
    size_t outlen);

/**
 * crypto_keys_generate_x25519(path, ret_pub, publen, err):
 * Generate an X25519 key pair, write the private key as PKCS#8 PEM to a new
 * file ${path} (mode 0600, fsync'd, linked in whole: an existing file is
 * never overwritten) and store the base64 public key in ${ret_pub}
 * (${publen} >= CRYPTO_PUBLIC_STR_SIZE).  Return 0 or -1; on failure no
 * file is left.
 */
int crypto_keys_generate_x25519(const char *path, char *ret_pub, size_t publen,
    struct ag_err *err);

/**
 * crypto_keys_generate_keyfile(path, err):
 * Write 32 random bytes, as 64 hex digits and a newline, to a new file
 * ${path} (mode 0600, never overwritten, fsync'd).  Return 0 or -1; on
 * failure no file is left.
 */
int crypto_keys_generate_keyfile(const char *path, struct ag_err *err);

/**
 * crypto_keys_set_signer(key, signer):
 * Sign the manifests sealed with ${key} with ${signer}, of which ${key}
 * takes ownership (NULL: stop signing).
 */
void crypto_keys_set_signer(struct crypto_key *key,
    struct crypto_signer *signer);

/**
 * crypto_keys_add_trusted(key, pub, err):
 * Require manifests opened with ${key} to be signed by the Ed25519 public
 * key ${pub} or another trusted one.  Return 0, or -1 if more than
 * CRYPTO_TRUSTED_MAX are given.
 */
int crypto_keys_add_trusted(struct crypto_key *key,
    const uint8_t pub[CRYPTO_SIGN_PUBLEN], struct ag_err *err);

/* crypto_keys_free(key): wipe and free ${key} (and its signer); NULL: no-op. */
void crypto_keys_free(struct crypto_key *key);

#endif
