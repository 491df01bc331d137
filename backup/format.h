/*
 * format.h: the vigil backup object format (docs/BACKUP-FORMAT.md) as pure
 * functions over buffers: object names and backup ids, the object header
 * with its wrapped data key, sealing and opening chunks, a streaming reader
 * that checks a whole object fed in arbitrary pieces, and whole-buffer
 * seal/open for manifests and index objects.  No I/O, no logging; all
 * cryptography goes through lib/crypto/.
 *
 * Writing an object:
 *
 *	crypto_random(dk, 32);                     (one data key per backup)
 *	obj = format_seal_new(key, dk, FORMAT_KIND_DATA, id, chunk_max, err);
 *	upload format_object_header(obj, &hlen);
 *	for each chunk i: format_seal_chunk(obj, i, last, pt, n, out, &m);
 *	    upload out[0..m);
 *	format_object_free(obj);
 *
 * Reading: format_reader_* for a whole object in order, or
 * format_open_new() on the header plus format_open_chunk() on chunks
 * fetched at offsets from the manifest's chunk table (Range GETs).
 *
 * Errors come back in a struct ag_err, one clear sentence per failure:
 *	"not a vigil backup object"
 *	"unsupported format version 2.0 (this vigil reads version 1)"
 *	"corrupt header: ..."
 *	"wrong key: ..."
 *	"wrong object kind: expected manifest, found data"
 *	"chunk N: authentication failed (corrupt, reordered or tampered data)"
 *	"truncated: object ends inside the header"
 *	"truncated: object ends inside chunk N"
 *	"truncated: missing final chunk (object ends after chunk N)"
 *	"truncated: object has no chunks"
 *	"trailing data after final chunk N"
 *	"signature does not verify (forged or tampered manifest)"
 *	"not signed, but trusted_signers requires a signature (...)"
 *	"signed by 1f2e3d4c5b6a7988, which is not in trusted_signers"
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef VIGIL_BACKUP_FORMAT_H
#define VIGIL_BACKUP_FORMAT_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct ag_err;
struct crypto_key;

#define FORMAT_MAGIC "VIGIL\0BK" /* 8 bytes */
#define FORMAT_MAGIC_LEN 8
#define FORMAT_VERSION_MAJOR 1
/*
 * The newest minor version this vigil writes and knows.  A writer marks an
 * object with the lowest minor version whose features it uses: 1.0 unless
 * the header carries a 1.1 extension record (a signature).
 */
#define FORMAT_VERSION_MINOR 1

enum format_kind {
	FORMAT_KIND_DATA = 1,	  /* data.vgl: gzip members of the tar */
	FORMAT_KIND_MANIFEST = 2, /* manifest.vgl: JSON */
	FORMAT_KIND_INDEX = 3	  /* index.vgl: file index, gzip'd JSON */
};

/* Header sizes: fixed prefix read to learn the length; the whole at most. */
#define FORMAT_HEADER_PEEK 16
#define FORMAT_HEADER_MAX 1024

/* Chunk framing: u32 length word, ciphertext, 16-byte tag. */
#define FORMAT_CHUNK_PREFIX 4
#define FORMAT_CHUNK_TAG 16
#define FORMAT_CHUNK_OVERHEAD (FORMAT_CHUNK_PREFIX + FORMAT_CHUNK_TAG)
#define FORMAT_CHUNK_FINAL 0x80000000u /* length word: final flag */
/* Largest chunk size a header may declare (bounds reader memory). */
#define FORMAT_CHUNK_SIZE_MAX (64u << 20)
/* Sealed size of a chunk of ${n} plaintext bytes. */
#define FORMAT_SEALED_LEN(n) ((size_t)(n) + FORMAT_CHUNK_OVERHEAD)

/* Manifest and index objects: 1 MiB chunks, 256 MiB of JSON at most. */
#define FORMAT_MANIFEST_CHUNK (1u << 20)
#define FORMAT_MANIFEST_MAX ((size_t)256 << 20)

/* Backup id "2026-11-22T030000Z-3f9a": 23 characters; buffer with NUL. */
#define FORMAT_BACKUP_ID_LEN 23
#define FORMAT_BACKUP_ID_SIZE 24
/* The header's backup id field: the id, NUL-padded. */
#define FORMAT_BACKUP_ID_FIELD 32

/* Object names inside <prefix>/<job>/<backup-id>/. */
#define FORMAT_NAME_DATA "data.vgl"
#define FORMAT_NAME_MANIFEST "manifest.vgl"
#define FORMAT_NAME_INDEX "index.vgl"

/* The key id: 8 bytes, shown as 16 hex digits. */
#define FORMAT_KEY_ID_LEN 8

/*
 * Header extension records (1.1): u16 type, u16 length, value.  A
 * signature record holds the signer's Ed25519 public key and the signature
 * (docs/BACKUP-FORMAT.md 2.3).
 */
#define FORMAT_EXT_SIGNATURE 1
#define FORMAT_SIGNER_LEN 32
#define FORMAT_SIGNATURE_LEN 64
#define FORMAT_EXT_SIGNATURE_LEN (4 + FORMAT_SIGNER_LEN + FORMAT_SIGNATURE_LEN)

/**
 * format_backup_id_new(t, out):
 * Write the backup id of a backup started at ${t} (UTC) with 4 random hex
 * digits, "2026-11-22T030000Z-3f9a", into ${out} (FORMAT_BACKUP_ID_SIZE
 * bytes).  Return 0 or -1.
 */
int format_backup_id_new(time_t t, char out[FORMAT_BACKUP_ID_SIZE]);

/**
 * format_backup_id_parse(id, ret_t):
 * Check that ${id} is a well-formed backup id and store its start time in
 * ${ret_t} (may be NULL).  Ids sort by time as strings.  Return 0 or -1.
 */
int format_backup_id_parse(const char *id, time_t *ret_t);

/**
 * format_object_name(prefix, job, id, kind, out, outlen):
 * Write "<prefix>/<job>/<id>/data.vgl" (or manifest.vgl, index.vgl) into
 * ${out}; an empty or NULL ${prefix} gives "<job>/<id>/...".  ${job} must be
 * a non-empty name without '/'.  Return 0, or -1 if something is invalid or
 * ${outlen} is too small.
 */
int format_object_name(const char *prefix, const char *job, const char *id,
    enum format_kind kind, char *out, size_t outlen);

/* What a header says, readable without any key (list, inspect). */
struct format_info {
	unsigned major, minor;
	enum format_kind kind;
	unsigned wrap_mode;  /* enum crypto_key_mode */
	uint32_t chunk_size; /* plaintext bytes per chunk, at most */
	size_t header_len;
	uint8_t key_id[FORMAT_KEY_ID_LEN];
	char key_id_hex[2 * FORMAT_KEY_ID_LEN + 1];
	char backup_id[FORMAT_BACKUP_ID_SIZE];
	unsigned scrypt_log2n; /* wrap mode 2 only */
	uint32_t scrypt_r, scrypt_p;
	/* A signature record (not yet verified by format_header_info()). */
	int has_signature;
	uint8_t signer[FORMAT_SIGNER_LEN]; /* Ed25519 public key */
	uint8_t signature[FORMAT_SIGNATURE_LEN];
	char signer_id_hex[2 * FORMAT_KEY_ID_LEN + 1];
};

/**
 * format_header_peek(buf, len, ret_hdrlen, err):
 * From the first ${len} bytes of an object, learn the header length.
 * Return 0 and store it in ${ret_hdrlen}; 1 if fewer than
 * FORMAT_HEADER_PEEK bytes were given; -1 with "not a vigil backup object",
 * "unsupported format version ..." or "corrupt header: ..." in ${err}.
 */
int format_header_peek(const uint8_t *buf, size_t len, size_t *ret_hdrlen,
    struct ag_err *err);

/**
 * format_header_info(buf, len, ret, err):
 * Parse and check (magic, version, length, checksum, fields) the header at
 * the start of ${buf} (${len} >= header length) into ${ret}, without a key.
 * Return 0, or -1 with a message (a short ${len} is "truncated: object ends
 * inside the header").
 */
int format_header_info(const uint8_t *buf, size_t len, struct format_info *ret,
    struct ag_err *err);

/*
 * One object being sealed or opened: its header bytes and header hash, the
 * per-object chunk key and an AES-GCM context.  Not thread-safe; give each
 * worker thread its own with format_object_clone().
 */
struct format_object;

/**
 * format_seal_new(key, data_key, kind, backup_id, chunk_size, err):
 * Start a new object of ${kind} for backup ${backup_id}: wrap the 32-byte
 * ${data_key} (fresh per backup; the same for all objects of the backup)
 * for the long-term ${key} and build the header.  ${chunk_size} is the
 * largest plaintext a chunk of this object will hold (1 to
 * FORMAT_CHUNK_SIZE_MAX); for data objects, the compressor's bound for one
 * slice.  Salts, nonces and X25519 ephemeral keys come from RAND_bytes();
 * passphrase keys run scrypt (slow by design).  Return the object or NULL
 * with a message.
 */
struct format_object *format_seal_new(const struct crypto_key *key,
    const uint8_t data_key[32], enum format_kind kind, const char *backup_id,
    uint32_t chunk_size, struct ag_err *err);

/*
 * The values format_seal_new() draws at random; fixed only by known-answer
 * tests (tests/vectors/).  Never use fixed values in production: reusing
 * them reuses nonces.
 */
struct format_seal_fixed {
	uint8_t object_salt[16]; /* chunk-key HKDF salt */
	uint8_t wrap_nonce[12];	 /* nonce of the data-key wrap */
	uint8_t kdf_salt[32];	 /* scrypt salt or X25519 HKDF salt */
	uint8_t ephemeral[32];	 /* X25519 ephemeral private key */
};

/**
 * format_seal_new_fixed(key, data_key, kind, backup_id, chunk_size, fixed,
 *     err):
 * format_seal_new() with the random values taken from ${fixed}.  For
 * known-answer tests only.
 */
struct format_object *format_seal_new_fixed(const struct crypto_key *key,
    const uint8_t data_key[32], enum format_kind kind, const char *backup_id,
    uint32_t chunk_size, const struct format_seal_fixed *fixed,
    struct ag_err *err);

/**
 * format_object_clone(obj):
 * A second handle on ${obj} (same header and keys, its own cipher context)
 * for another thread.  Free it with format_object_free().  Return it, or
 * NULL on allocation failure.
 */
struct format_object *format_object_clone(const struct format_object *obj);

/**
 * format_object_header(obj, ret_len):
 * The header bytes of ${obj}; ${ret_len} gets their length.  They belong to
 * ${obj}.  When sealing, these are the first bytes of the object.
 */
const uint8_t *format_object_header(const struct format_object *obj,
    size_t *ret_len);

/* format_object_info(obj): the parsed header of ${obj}. */
const struct format_info *format_object_info(const struct format_object *obj);

/**
 * format_seal_chunk(obj, index, final, pt, len, out, ret_len):
 * Seal chunk number ${index} (0, 1, ... in object order) of ${len} <=
 * chunk_size plaintext bytes ${pt} into ${out}, which holds
 * FORMAT_SEALED_LEN(${len}) bytes; ${final} is nonzero for the object's last
 * chunk, which must be sealed exactly once, and then no more.  The caller
 * must never seal one index twice for the same object (nonce reuse): a retry
 * starts a new object.  ${out} may be ${pt} - FORMAT_CHUNK_PREFIX (sealing
 * in place, leaving 4 bytes headroom before the plaintext); no other
 * overlap.  Store the sealed length in ${ret_len}.  Allocation-free.
 * Return 0 or -1 (bad length, OpenSSL failure).
 */
int format_seal_chunk(struct format_object *obj, uint64_t index, int final,
    const uint8_t *pt, size_t len, uint8_t *out, size_t *ret_len);

/**
 * format_open_new(key, buf, len, expect_kind, err):
 * Parse the header at the start of ${buf} (${len} >= its length, see
 * format_header_peek()), check it, and unwrap the data key with ${key}.
 * ${expect_kind} is a format_kind, or 0 for any.  Return the object, or
 * NULL with one of: "not a vigil backup object", "unsupported format
 * version ...", "corrupt header: ...", "wrong object kind: ...", "wrong
 * key: ..." (mode differs, key id differs, or the data key fails to
 * unwrap), "truncated: object ends inside the header".  Passphrase keys run
 * scrypt with the header's costs.
 */
struct format_object *format_open_new(const struct crypto_key *key,
    const uint8_t *buf, size_t len, unsigned expect_kind, struct ag_err *err);

/**
 * format_open_chunk(obj, index, sealed, len, out, ret_len, ret_final, err):
 * Open the sealed chunk ${sealed} of exactly ${len} bytes, expected to be
 * chunk ${index} of ${obj} (read at the offset the chunk table gives).
 * ${out} holds chunk_size bytes (or ${len} - FORMAT_CHUNK_OVERHEAD); it may
 * be ${sealed} + FORMAT_CHUNK_PREFIX (in place).  Store the plaintext length
 * in ${ret_len} and the final flag in ${ret_final} (may be NULL).
 * Allocation-free.  Return 0, or -1 with "chunk N: ..." (length mismatch,
 * oversized, authentication failed).
 */
int format_open_chunk(struct format_object *obj, uint64_t index,
    const uint8_t *sealed, size_t len, uint8_t *out, size_t *ret_len,
    int *ret_final, struct ag_err *err);

/* format_object_free(obj): wipe and free; NULL is a no-op. */
void format_object_free(struct format_object *obj);

/*
 * A streaming reader: fed an object's bytes in order and in pieces of any
 * size, it checks the header, then opens each chunk in turn and hands the
 * plaintext to a callback.  It buffers at most the header and one sealed
 * chunk (chunk_size + 20 bytes, allocated once the header is known).
 */
struct format_reader;

/*
 * Called once per chunk, in order, with authenticated plaintext that is
 * valid only during the call.  Return 0 to go on; anything else stops the
 * reader, and format_reader_feed() returns that value.
 */
typedef int format_chunk_fn(void *cookie, uint64_t index, const uint8_t *pt,
    size_t len, int final);

/**
 * format_reader_new(key, expect_kind, cb, cookie):
 * A reader that opens objects of ${expect_kind} (0: any) with ${key} (kept
 * by reference: it must outlive the reader) and passes chunks to ${cb}
 * with ${cookie}.  Return it, or NULL on allocation failure.
 */
struct format_reader *format_reader_new(const struct crypto_key *key,
    unsigned expect_kind, format_chunk_fn *cb, void *cookie);

/**
 * format_reader_feed(rd, buf, len, err):
 * Feed the next ${len} bytes of the object.  Return 0; -1 with a message in
 * ${err} on a format or authentication error (sticky: later calls fail the
 * same way); or the callback's nonzero value, ${err} untouched.  The bytes
 * may come straight from a storage get() sink.
 */
int format_reader_feed(struct format_reader *rd, const uint8_t *buf,
    size_t len, struct ag_err *err);

/**
 * format_reader_end(rd, err):
 * The object has ended.  Return 0 if it ended right after its final chunk,
 * otherwise -1 with "truncated: ..." (or the earlier sticky error).
 */
int format_reader_end(struct format_reader *rd, struct ag_err *err);

/**
 * format_reader_object(rd):
 * The object whose header was read (for its info and header), or NULL
 * before that.  It belongs to ${rd}.
 */
const struct format_object *format_reader_object(const struct format_reader
	*rd);

/* format_reader_offset(rd): object bytes consumed so far. */
uint64_t format_reader_offset(const struct format_reader *rd);

/* format_reader_free(rd): wipe and free; NULL is a no-op. */
void format_reader_free(struct format_reader *rd);

/**
 * format_seal_buffer(key, data_key, kind, backup_id, buf, len, ret_out,
 *     ret_outlen, err):
 * Seal ${len} <= FORMAT_MANIFEST_MAX bytes of ${buf} (a manifest's or
 * index's JSON) as one whole object of ${kind} in FORMAT_MANIFEST_CHUNK
 * chunks; an empty ${buf} gives one empty final chunk.  A manifest sealed
 * with a key that has a signer (crypto_keys_set_signer()) is signed: its
 * header is FORMAT_EXT_SIGNATURE_LEN bytes longer, version 1.1 (see
 * format_header_len()).  Store a malloc'd
 * object in ${ret_out} (the caller frees it) and its length in
 * ${ret_outlen}.  Return 0 or -1.
 */
int format_seal_buffer(const struct crypto_key *key,
    const uint8_t data_key[32], enum format_kind kind, const char *backup_id,
    const uint8_t *buf, size_t len, uint8_t **ret_out, size_t *ret_outlen,
    struct ag_err *err);

/**
 * format_seal_buffer_fixed(key, data_key, kind, backup_id, buf, len, fixed,
 *     ret_out, ret_outlen, err):
 * format_seal_buffer() with the random values taken from ${fixed}.  For
 * known-answer tests only.
 */
int format_seal_buffer_fixed(const struct crypto_key *key,
    const uint8_t data_key[32], enum format_kind kind, const char *backup_id,
    const uint8_t *buf, size_t len, const struct format_seal_fixed *fixed,
    uint8_t **ret_out, size_t *ret_outlen, struct ag_err *err);

/**
 * format_header_len(key, kind):
 * The length of the header format_seal_buffer() writes for an object of
 * ${kind} sealed with ${key} (a signed manifest's is longer).
 */
size_t format_header_len(const struct crypto_key *key, enum format_kind kind);

/**
 * format_open_buffer(key, expect_kind, buf, len, ret_out, ret_outlen,
 *     ret_info, err):
 * Open a whole object held in ${buf}.  Store the malloc'd plaintext, with a
 * NUL appended (not counted), in ${ret_out} and its length in
 * ${ret_outlen}; if ${ret_info} is not NULL copy the header info there.
 * Plaintext over FORMAT_MANIFEST_MAX is refused.  This is where every
 * manifest is opened for reading, so it checks signatures (2.3): a
 * signature present must verify, "signature does not verify (forged or
 * tampered manifest)"; and when ${key} has trusted signers, a manifest
 * must be signed by one of them: "not signed, but trusted_signers
 * requires a signature (forged, or written by a host without a signing
 * key)", "signed by 1f2e3d4c5b6a7988, which is not in trusted_signers".
 * Return 0 or -1 with those messages and those of format_open_new() and
 * the reader.
 */
int format_open_buffer(const struct crypto_key *key, unsigned expect_kind,
    const uint8_t *buf, size_t len, char **ret_out, size_t *ret_outlen,
    struct format_info *ret_info, struct ag_err *err);

/* Manifest shorthands: the two above with FORMAT_KIND_MANIFEST. */
int format_manifest_seal(const struct crypto_key *key,
    const uint8_t data_key[32], const char *backup_id, const char *json,
    size_t len, uint8_t **ret_out, size_t *ret_outlen, struct ag_err *err);
int format_manifest_open(const struct crypto_key *key, const uint8_t *buf,
    size_t len, char **ret_json, size_t *ret_len, struct ag_err *err);

#endif
