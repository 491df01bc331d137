/*
 * format.c: the vigil backup object format, version 1.1, as specified in
 * docs/BACKUP-FORMAT.md (the section numbers below refer to it).
 *
 * An object is a header (magic, version, fields, the wrapped data key,
 * extension records such as a manifest's Ed25519 signature (1.1), a
 * SHA-256 header hash) followed by sealed chunks (u32 length word with the
 * final flag in bit 31, AES-256-GCM ciphertext, 16-byte tag).  Each object
 * gets its own chunk key, HKDF of the per-backup data key with a random
 * per-object salt, so the counter nonces 0, 1, 2, ... never repeat under a
 * key.  A chunk's AAD binds the header hash, its index and the final flag.
 *
 * Everything here works on caller buffers; the only allocations are the
 * object and reader structs (the reader's one-chunk buffer is made once the
 * header gives the chunk size) and the whole-buffer helpers' output.
 * Sealing and opening a chunk allocate nothing.  All cryptography goes
 * through lib/crypto/.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/ag.h"
#include "lib/crypto/crypto.h"
#include "lib/crypto/crypto_aead.h"
#include "lib/crypto/crypto_keys.h"
#include "lib/crypto/crypto_sign.h"

#include "backup/format.h"

/* Header field offsets (section 2.1). */
#define OFF_MAJOR 8
#define OFF_MINOR 9
#define OFF_HLEN 10
#define OFF_KIND 12
#define OFF_MODE 13
#define OFF_FLAGS 14
#define OFF_CHUNK 16
#define OFF_KEYID 20
#define OFF_SALT 28
#define OFF_BID 44
#define OFF_PLEN 76
#define OFF_PARAMS 78

#define SALT_LEN 16
#define WRAP_NONCE_LEN CRYPTO_AEAD_NONCELEN
#define WRAP_CT_LEN 32
#define WRAP_TAG_LEN CRYPTO_AEAD_TAGLEN
#define HASH_LEN CRYPTO_SHA256_LEN
/* Everything but the wrap parameters: 78 + 12 + 32 + 16 + 32. */
#define HDR_FIXED \
	(OFF_PARAMS + WRAP_NONCE_LEN + WRAP_CT_LEN + WRAP_TAG_LEN + HASH_LEN)

/* Wrap parameter sizes per mode (sections 3.1 to 3.3). */
#define PARAMS_KEYFILE 0
#define PARAMS_SCRYPT 41
#define PARAMS_X25519 64

/* Chunk AAD: header hash, u64 LE index, u8 final. */
#define AAD_LEN (HASH_LEN + 8 + 1)

#define DATA_KEY_LEN 32

/* The labels of section 3 and 4 (no NUL). */
#define LABEL_WRAP "vigil-v1 key wrap"
#define LABEL_KEYID "vigil-v1 key id"
#define LABEL_X25519 "vigil-v1 x25519"
#define LABEL_CHUNK "vigil-v1 chunk key"
#define LABEL_SIGN "vigil-v1 signature"

/* The signed prefix of a header: everything before the extension area. */
#define SIGNED_PREFIX(plen) \
	(OFF_PARAMS + (plen) + WRAP_NONCE_LEN + WRAP_CT_LEN + WRAP_TAG_LEN)

struct format_object {
	struct format_info info;
	uint8_t header[FORMAT_HEADER_MAX];
	uint8_t hash[HASH_LEN];
	uint8_t chunk_key[DATA_KEY_LEN];
	struct crypto_aead *aead;
};

static void
put_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void
put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void
put_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint16_t
get_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t
get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

static const char *
kind_name(unsigned kind)
{
	switch (kind) {
	case FORMAT_KIND_DATA:
		return "data";
	case FORMAT_KIND_MANIFEST:
		return "manifest";
	case FORMAT_KIND_INDEX:
		return "index";
	default:
		return "unknown";
	}
}

static const char *
mode_name(unsigned mode)
{
	switch (mode) {
	case CRYPTO_KEY_FILE:
		return "a key file";
	case CRYPTO_KEY_PASSPHRASE:
		return "a passphrase";
	case CRYPTO_KEY_X25519:
		return "an X25519 key";
	default:
		return "an unknown key type";
	}
}

static size_t
params_len(unsigned mode)
{
	switch (mode) {
	case CRYPTO_KEY_FILE:
		return PARAMS_KEYFILE;
	case CRYPTO_KEY_PASSPHRASE:
		return PARAMS_SCRYPT;
	default:
		return PARAMS_X25519;
	}
}

/* ---- backup ids and object names (section 1) ---- */

int
format_backup_id_new(time_t t, char out[FORMAT_BACKUP_ID_SIZE])
{
	struct tm tm;
	uint8_t r[2];

	if (gmtime_r(&t, &tm) == NULL || tm.tm_year + 1900 < 1000 ||
	    tm.tm_year + 1900 > 9999)
		return -1;
	if (crypto_random(r, sizeof(r)) != 0)
		return -1;
	if (strftime(out, FORMAT_BACKUP_ID_SIZE, "%Y-%m-%dT%H%M%SZ", &tm) !=
	    18)
		return -1;
	snprintf(out + 18, FORMAT_BACKUP_ID_SIZE - 18, "-%02x%02x", r[0],
	    r[1]);
	return 0;
}

/* Two decimal digits at ${s}. */
static int
dig2(const char *s)
{
	return (s[0] - '0') * 10 + (s[1] - '0');
}

int
format_backup_id_parse(const char *id, time_t *ret_t)
{
	/* "2026-11-22T030000Z-3f9a": D digit, x lower-case hex. */
	static const char pat[] = "DDDD-DD-DDTDDDDDDZ-xxxx";
	struct tm tm, chk;
	time_t t;

	if (strlen(id) != FORMAT_BACKUP_ID_LEN)
		return -1;
	for (size_t i = 0; i < FORMAT_BACKUP_ID_LEN; i++) {
		char c = id[i];

		if (pat[i] == 'D') {
			if (c < '0' || c > '9')
				return -1;
		} else if (pat[i] == 'x') {
			if (!((c >= '0' && c <= '9') ||
				(c >= 'a' && c <= 'f')))
				return -1;
		} else if (c != pat[i])
			return -1;
	}
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = dig2(id) * 100 + dig2(id + 2) - 1900;
	tm.tm_mon = dig2(id + 5) - 1;
	tm.tm_mday = dig2(id + 8);
	tm.tm_hour = dig2(id + 11);
	tm.tm_min = dig2(id + 13);
	tm.tm_sec = dig2(id + 15);
	if (tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_hour > 23 ||
	    tm.tm_min > 59 || tm.tm_sec > 59)
		return -1;
	/* Round-trip to refuse days that do not exist (Feb 30). */
	chk = tm;
	t = timegm(&chk);
	if (t == (time_t)-1 || gmtime_r(&t, &chk) == NULL ||
	    chk.tm_mday != tm.tm_mday || chk.tm_mon != tm.tm_mon)
		return -1;
	if (ret_t != NULL)
		*ret_t = t;
	return 0;
}

static int
job_name_ok(const char *job)
{
	if (job == NULL || *job == '\0' || strcmp(job, ".") == 0 ||
	    strcmp(job, "..") == 0)
		return 0;
	for (const char *p = job; *p != '\0'; p++)
		if (!isalnum((unsigned char)*p) && *p != '.' && *p != '_' &&
		    *p != '-')
			return 0;
	return 1;
}

int
format_object_name(const char *prefix, const char *job, const char *id,
    enum format_kind kind, char *out, size_t outlen)
{
	const char *name, *sep = "/";
	int n;

	switch (kind) {
	case FORMAT_KIND_DATA:
		name = FORMAT_NAME_DATA;
		break;
	case FORMAT_KIND_MANIFEST:
		name = FORMAT_NAME_MANIFEST;
		break;
	case FORMAT_KIND_INDEX:
		name = FORMAT_NAME_INDEX;
		break;
	default:
		return -1;
	}
	if (!job_name_ok(job) || format_backup_id_parse(id, NULL) != 0)
		return -1;
	if (prefix == NULL || *prefix == '\0')
		prefix = sep = "";
	else if (prefix[strlen(prefix) - 1] == '/')
		sep = "";
	n = snprintf(out, outlen, "%s%s%s/%s/%s", prefix, sep, job, id, name);
	if (n < 0 || (size_t)n >= outlen)
		return -1;
	return 0;
}

/* ---- header parsing (section 2.1) ---- */

int
format_header_peek(const uint8_t *buf, size_t len, size_t *ret_hdrlen,
    struct ag_err *err)
{
	size_t hlen = 0;

	if (len < FORMAT_HEADER_PEEK)
		return 1;
	if (memcmp(buf, FORMAT_MAGIC, FORMAT_MAGIC_LEN) != 0)
		return ag_err_set(err, "not a vigil backup object");
	if (buf[OFF_MAJOR] != FORMAT_VERSION_MAJOR)
		return ag_err_set(err,
		    "unsupported format version %u.%u "
		    "(this vigil reads version %d)",
		    buf[OFF_MAJOR], buf[OFF_MINOR], FORMAT_VERSION_MAJOR);
	hlen = get_le16(buf + OFF_HLEN);
	if (hlen < HDR_FIXED || hlen > FORMAT_HEADER_MAX)
		return ag_err_set(err,
		    "corrupt header: header length %zu "
		    "out of range",
		    hlen);
	*ret_hdrlen = hlen;
	return 0;
}

/* Check the backup id field: a valid id, then NUL padding. */
static int
bid_field_ok(const uint8_t *f, char out[FORMAT_BACKUP_ID_SIZE])
{
	memcpy(out, f, FORMAT_BACKUP_ID_LEN);
	out[FORMAT_BACKUP_ID_LEN] = '\0';
	for (size_t i = FORMAT_BACKUP_ID_LEN; i < FORMAT_BACKUP_ID_FIELD; i++)
		if (f[i] != 0)
			return 0;
	return format_backup_id_parse(out, NULL) == 0;
}

/*
 * The key id of a public key ${pub}: HKDF(pub, -, "vigil-v1 key id", 8),
 * as hex into ${hex}.  Return 0 or -1.
 */
static int
public_key_id(const uint8_t pub[32], char hex[2 * FORMAT_KEY_ID_LEN + 1])
{
	uint8_t id[FORMAT_KEY_ID_LEN];

	if (crypto_hkdf_sha256(pub, 32, NULL, 0, (const uint8_t *)LABEL_KEYID,
		sizeof(LABEL_KEYID) - 1, id, sizeof(id)) != 0)
		return -1;
	crypto_hex(id, sizeof(id), hex);
	return 0;
}

/*
 * Parse the extension area ${ext} of ${len} bytes (section 2.3): records
 * of u16 type, u16 length and value, filling it exactly.  Unknown types
 * are skipped; a signature record fills ${in}.  Return 0 or -1.
 */
static int
parse_ext(const uint8_t *ext, size_t len, struct format_info *in,
    struct ag_err *err)
{
	size_t off = 0, rlen;
	unsigned type;

	while (off < len) {
		if (len - off < 4)
			return ag_err_set(err,
			    "corrupt header: extension "
			    "record cut short");
		type = get_le16(ext + off);
		rlen = get_le16(ext + off + 2);
		if (rlen > len - off - 4)
			return ag_err_set(err,
			    "corrupt header: extension "
			    "record of %zu bytes overruns the header",
			    rlen);
		if (type == FORMAT_EXT_SIGNATURE) {
			if (rlen != FORMAT_SIGNER_LEN + FORMAT_SIGNATURE_LEN ||
			    in->has_signature)
				return ag_err_set(err,
				    "corrupt header: bad "
				    "signature record");
			in->has_signature = 1;
			memcpy(in->signer, ext + off + 4, FORMAT_SIGNER_LEN);
			memcpy(in->signature,
			    ext + off + 4 + FORMAT_SIGNER_LEN,
			    FORMAT_SIGNATURE_LEN);
			if (public_key_id(in->signer, in->signer_id_hex) != 0)
				return ag_err_set(err, "HKDF failed");
		}
		off += 4 + rlen;
	}
	return 0;
}

int
format_header_info(const uint8_t *buf, size_t len, struct format_info *ret,
    struct ag_err *err)
{
	struct format_info in;
	uint8_t hash[HASH_LEN];
	const uint8_t *pp;
	size_t hlen = 0, plen;
	unsigned flags;
	int rc;

	if ((rc = format_header_peek(buf, len, &hlen, err)) != 0 || len < hlen)
		return rc < 0 ? -1 :
				ag_err_set(err,
				    "truncated: object ends "
				    "inside the header");
	if (crypto_sha256(buf, hlen - HASH_LEN, hash) != 0)
		return ag_err_set(err, "cannot compute SHA-256");
	if (!crypto_memeq(hash, buf + hlen - HASH_LEN, HASH_LEN))
		return ag_err_set(err, "corrupt header: checksum mismatch");

	memset(&in, 0, sizeof(in));
	in.major = buf[OFF_MAJOR];
	in.minor = buf[OFF_MINOR];
	in.header_len = hlen;
	in.kind = buf[OFF_KIND];
	in.wrap_mode = buf[OFF_MODE];
	in.chunk_size = get_le32(buf + OFF_CHUNK);
	if (in.kind < FORMAT_KIND_DATA || in.kind > FORMAT_KIND_INDEX)
		return ag_err_set(err,
		    "corrupt header: unknown object kind %u",
		    (unsigned)in.kind);
	if (in.wrap_mode < CRYPTO_KEY_FILE || in.wrap_mode > CRYPTO_KEY_X25519)
		return ag_err_set(err,
		    "corrupt header: unknown key-wrap mode "
		    "%u",
		    in.wrap_mode);
	if ((flags = get_le16(buf + OFF_FLAGS)) != 0)
		return ag_err_set(err,
		    "unsupported format features (header "
		    "flags 0x%04x): written by a newer vigil",
		    flags);
	if (in.chunk_size < 1 || in.chunk_size > FORMAT_CHUNK_SIZE_MAX)
		return ag_err_set(err,
		    "corrupt header: chunk size %u out of "
		    "range",
		    (unsigned)in.chunk_size);
	memcpy(in.key_id, buf + OFF_KEYID, FORMAT_KEY_ID_LEN);
	crypto_hex(in.key_id, FORMAT_KEY_ID_LEN, in.key_id_hex);
	if (!bid_field_ok(buf + OFF_BID, in.backup_id))
		return ag_err_set(err, "corrupt header: bad backup id");
	plen = get_le16(buf + OFF_PLEN);
	if (plen != params_len(in.wrap_mode) || HDR_FIXED + plen > hlen)
		return ag_err_set(err,
		    "corrupt header: wrap parameters of %zu "
		    "bytes do not fit key-wrap mode %u",
		    plen, in.wrap_mode);
	if (parse_ext(buf + SIGNED_PREFIX(plen), hlen - HDR_FIXED - plen, &in,
		err) != 0)
		return -1;
	pp = buf + OFF_PARAMS;
	if (in.wrap_mode == CRYPTO_KEY_PASSPHRASE) {
		in.scrypt_log2n = pp[0];
		in.scrypt_r = get_le32(pp + 1);
		in.scrypt_p = get_le32(pp + 5);
		if (in.scrypt_log2n < 1 || in.scrypt_log2n > 30 ||
		    in.scrypt_r < 1 || in.scrypt_p < 1 || in.scrypt_p > 16 ||
		    (uint64_t)in.scrypt_r > CRYPTO_SCRYPT_MAXMEM /
			    (128 * ((uint64_t)1 << in.scrypt_log2n)))
			return ag_err_set(err,
			    "corrupt header: scrypt "
			    "parameters out of range");
	}
	*ret = in;
	return 0;
}

/* ---- keys (sections 3 and 4) ---- */

/*
 * Derive the 32-byte secret M for ${key} with the wrap parameters ${pp} of
 * a header, and the key id.  For X25519 ${eph} is the ephemeral private key
 * when sealing and NULL when opening.  Return 0 or -1 with a message.
 */
static int
derive_master(const struct crypto_key *key, const uint8_t *pp,
    const uint8_t *eph, uint8_t m[32], uint8_t keyid[FORMAT_KEY_ID_LEN],
    struct ag_err *err)
{
	uint8_t shared[CRYPTO_X25519_LEN];
	uint8_t info[sizeof(LABEL_X25519) - 1 + 2 * CRYPTO_X25519_LEN];
	size_t ll = sizeof(LABEL_X25519) - 1;
	int rc = -1;

	switch (key->mode) {
	case CRYPTO_KEY_FILE:
		memcpy(m, key->secret, 32);
		break;
	case CRYPTO_KEY_PASSPHRASE:
		if (crypto_scrypt((const uint8_t *)key->pass, key->passlen,
			pp + 9, 32, (uint64_t)1 << pp[0], get_le32(pp + 1),
			get_le32(pp + 5), m, 32) != 0)
			return ag_err_set(err,
			    "scrypt failed (out of "
			    "memory?)");
		break;
	case CRYPTO_KEY_X25519:
		/* Params: E (32) || salt (32); info binds E and R. */
		if (eph != NULL)
			rc = crypto_x25519_derive(eph, key->pub, shared);
		else
			rc = crypto_x25519_derive(key->secret, pp, shared);
		if (rc != 0 && eph == NULL)
			return ag_err_set(err,
			    "corrupt header: invalid X25519 "
			    "ephemeral public key");
		if (rc != 0)
			return ag_err_set(err, "X25519 key agreement failed");
		memcpy(info, LABEL_X25519, ll);
		memcpy(info + ll, pp, CRYPTO_X25519_LEN);
		memcpy(info + ll + CRYPTO_X25519_LEN, key->pub,
		    CRYPTO_X25519_LEN);
		rc = crypto_hkdf_sha256(shared, sizeof(shared), pp + 32, 32,
		    info, sizeof(info), m, 32);
		crypto_wipe(shared, sizeof(shared));
		if (rc != 0)
			return ag_err_set(err, "HKDF failed");
		break;
	}
	/* X25519 ids name the public key; the others derive from M. */
	if (crypto_hkdf_sha256(key->mode == CRYPTO_KEY_X25519 ? key->pub : m,
		32, NULL, 0, (const uint8_t *)LABEL_KEYID,
		sizeof(LABEL_KEYID) - 1, keyid, FORMAT_KEY_ID_LEN) != 0) {
		crypto_wipe(m, 32);
		return ag_err_set(err, "HKDF failed");
	}
	return 0;
}

/* Set up the chunk key and cipher of ${obj} from the data key. */
static int
object_keys(struct format_object *obj, const uint8_t dk[DATA_KEY_LEN],
    struct ag_err *err)
{
	uint8_t info[sizeof(LABEL_CHUNK)];

	memcpy(info, LABEL_CHUNK, sizeof(LABEL_CHUNK) - 1);
	info[sizeof(LABEL_CHUNK) - 1] = (uint8_t)obj->info.kind;
	if (crypto_hkdf_sha256(dk, DATA_KEY_LEN, obj->header + OFF_SALT,
		SALT_LEN, info, sizeof(info), obj->chunk_key,
		DATA_KEY_LEN) != 0)
		return ag_err_set(err, "HKDF failed");
	memcpy(obj->hash, obj->header + obj->info.header_len - HASH_LEN,
	    HASH_LEN);
	if ((obj->aead = crypto_aead_new(obj->chunk_key)) == NULL)
		return ag_err_set(err, "cannot set up AES-256-GCM");
	return 0;
}

/*
 * Wrap (${seal}) or unwrap the data key ${dk} with M: the GCM key is
 * HKDF(M, "vigil-v1 key wrap") and the AAD the header up to the nonce.
 */
static int
wrap_key(uint8_t *hdr, size_t plen, const uint8_t m[32], uint8_t *dk, int seal)
{
	struct crypto_aead *a;
	uint8_t kek[32];
	uint8_t *nonce = hdr + OFF_PARAMS + plen;
	uint8_t *ct = nonce + WRAP_NONCE_LEN, *tag = ct + WRAP_CT_LEN;
	int rc = -1;

	if (crypto_hkdf_sha256(m, 32, NULL, 0, (const uint8_t *)LABEL_WRAP,
		sizeof(LABEL_WRAP) - 1, kek, sizeof(kek)) != 0)
		return -1;
	if ((a = crypto_aead_new(kek)) != NULL) {
		if (seal)
			rc = crypto_aead_seal(a, nonce, hdr, OFF_PARAMS + plen,
			    dk, DATA_KEY_LEN, ct, tag);
		else
			rc = crypto_aead_open(a, nonce, hdr, OFF_PARAMS + plen,
			    ct, DATA_KEY_LEN, dk, tag);
		crypto_aead_free(a);
	}
	crypto_wipe(kek, sizeof(kek));
	return rc;
}

static void
object_free(struct format_object *obj)
{
	crypto_aead_free(obj->aead);
	crypto_wipe(obj, sizeof(*obj));
	free(obj);
}

void
format_object_free(struct format_object *obj)
{
	if (obj != NULL)
		object_free(obj);
}

/* ---- sealing ---- */

/*
 * The message a signature signs (section 2.3): the label, the header's
 * signed prefix (the ${prefix} bytes before the extension area) and the
 * SHA-256 of the plaintext, ${pt_sha256}.  Store it in ${msg} and return
 * its length.
 */
#define SIGN_MSG_MAX (sizeof(LABEL_SIGN) - 1 + FORMAT_HEADER_MAX + HASH_LEN)
static size_t
sign_message(const uint8_t *hdr, size_t prefix,
    const uint8_t pt_sha256[HASH_LEN], uint8_t msg[SIGN_MSG_MAX])
{
	size_t ll = sizeof(LABEL_SIGN) - 1;

	memcpy(msg, LABEL_SIGN, ll);
	memcpy(msg + ll, hdr, prefix);
	memcpy(msg + ll + prefix, pt_sha256, HASH_LEN);
	return ll + prefix + HASH_LEN;
}

/*
 * Build the header of a new object.  With ${pt_sha256} (the SHA-256 of the
 * whole plaintext, known before sealing) and a key that has a signer, the
 * header carries a signature record and says version 1.1.
 */
static struct format_object *
seal_new(const struct crypto_key *key, const uint8_t data_key[32],
    enum format_kind kind, const char *backup_id, uint32_t chunk_size,
    const struct format_seal_fixed *fx, const uint8_t *pt_sha256,
    struct ag_err *err)
{
	struct format_object *obj;
	uint8_t m[32], dk[DATA_KEY_LEN], epub[CRYPTO_X25519_LEN];
	uint8_t msg[SIGN_MSG_MAX];
	uint8_t *h, *pp;
	size_t plen, hlen, ext = 0;

	if (kind < FORMAT_KIND_DATA || kind > FORMAT_KIND_INDEX) {
		ag_err_set(err, "unknown object kind %d", (int)kind);
		return NULL;
	}
	if (chunk_size < 1 || chunk_size > FORMAT_CHUNK_SIZE_MAX) {
		ag_err_set(err, "chunk size %u out of range (1 to %u)",
		    (unsigned)chunk_size, FORMAT_CHUNK_SIZE_MAX);
		return NULL;
	}
	if (format_backup_id_parse(backup_id, NULL) != 0) {
		ag_err_set(err, "invalid backup id");
		return NULL;
	}
	if ((key->mode == CRYPTO_KEY_FILE && !key->has_secret) ||
	    (key->mode == CRYPTO_KEY_PASSPHRASE && key->passlen == 0) ||
	    key->mode < CRYPTO_KEY_FILE || key->mode > CRYPTO_KEY_X25519) {
		ag_err_set(err, "no usable key");
		return NULL;
	}
	if ((obj = calloc(1, sizeof(*obj))) == NULL) {
		ag_err_set(err, "out of memory");
		return NULL;
	}
	if (pt_sha256 != NULL && key->signer != NULL)
		ext = FORMAT_EXT_SIGNATURE_LEN;
	plen = params_len(key->mode);
	hlen = HDR_FIXED + plen + ext;
	h = obj->header;
	pp = h + OFF_PARAMS;
	memcpy(h, FORMAT_MAGIC, FORMAT_MAGIC_LEN);
	h[OFF_MAJOR] = FORMAT_VERSION_MAJOR;
	/* The lowest minor version that describes the object. */
	h[OFF_MINOR] = ext > 0 ? 1 : 0;
	put_le16(h + OFF_HLEN, (uint16_t)hlen);
	h[OFF_KIND] = (uint8_t)kind;
	h[OFF_MODE] = (uint8_t)key->mode;
	put_le16(h + OFF_FLAGS, 0);
	put_le32(h + OFF_CHUNK, chunk_size);
	memcpy(h + OFF_BID, backup_id, FORMAT_BACKUP_ID_LEN);
	put_le16(h + OFF_PLEN, (uint16_t)plen);

	/* The random values (or the test's fixed ones). */
	if (fx != NULL) {
		memcpy(h + OFF_SALT, fx->object_salt, SALT_LEN);
		memcpy(pp + plen, fx->wrap_nonce, WRAP_NONCE_LEN);
	} else if (crypto_random(h + OFF_SALT, SALT_LEN) != 0 ||
	    crypto_random(pp + plen, WRAP_NONCE_LEN) != 0)
		goto rnd;
	if (key->mode == CRYPTO_KEY_PASSPHRASE) {
		pp[0] = (uint8_t)key->scrypt_log2n;
		put_le32(pp + 1, key->scrypt_r);
		put_le32(pp + 5, key->scrypt_p);
		if (fx != NULL)
			memcpy(pp + 9, fx->kdf_salt, 32);
		else if (crypto_random(pp + 9, 32) != 0)
			goto rnd;
	} else if (key->mode == CRYPTO_KEY_X25519) {
		uint8_t eph[CRYPTO_X25519_LEN];
		int rc;

		if (fx != NULL) {
			memcpy(eph, fx->ephemeral, sizeof(eph));
			memcpy(pp + 32, fx->kdf_salt, 32);
			rc = crypto_x25519_public(eph, epub);
		} else {
			rc = crypto_x25519_keygen(eph, epub);
			if (rc == 0)
				rc = crypto_random(pp + 32, 32);
		}
		memcpy(pp, epub, CRYPTO_X25519_LEN);
		if (rc == 0)
			rc = derive_master(key, pp, eph, m, h + OFF_KEYID,
			    err);
		crypto_wipe(eph, sizeof(eph));
		if (rc != 0)
			goto fail;
	}
	if (key->mode != CRYPTO_KEY_X25519 &&
	    derive_master(key, pp, NULL, m, h + OFF_KEYID, err) != 0)
		goto fail;

	memcpy(dk, data_key, DATA_KEY_LEN);
	if (wrap_key(h, plen, m, dk, 1) != 0) {
		ag_err_set(err, "cannot wrap the data key");
		goto fail_m;
	}
	if (ext > 0) {
		/* Sign the finished prefix; the hash then covers the record. */
		uint8_t *rec = h + SIGNED_PREFIX(plen);

		put_le16(rec, FORMAT_EXT_SIGNATURE);
		put_le16(rec + 2, FORMAT_SIGNER_LEN + FORMAT_SIGNATURE_LEN);
		memcpy(rec + 4, crypto_sign_public(key->signer),
		    FORMAT_SIGNER_LEN);
		if (crypto_sign_sign(key->signer, msg,
			sign_message(h, SIGNED_PREFIX(plen), pt_sha256, msg),
			rec + 4 + FORMAT_SIGNER_LEN) != 0) {
			ag_err_set(err, "cannot sign the %s", kind_name(kind));
			goto fail_m;
		}
	}
	if (crypto_sha256(h, hlen - HASH_LEN, h + hlen - HASH_LEN) != 0) {
		ag_err_set(err, "cannot compute SHA-256");
		goto fail_m;
	}
	/* Parse what we built: fills the info and checks ourselves. */
	if (format_header_info(h, hlen, &obj->info, err) != 0)
		goto fail_m;
	if (object_keys(obj, dk, err) != 0)
		goto fail_m;
	crypto_wipe(m, sizeof(m));
	crypto_wipe(dk, sizeof(dk));
	return obj;

rnd:
	ag_err_set(err, "cannot draw random bytes");
	goto fail;
fail_m:
	crypto_wipe(m, sizeof(m));
	crypto_wipe(dk, sizeof(dk));
fail:
	object_free(obj);
	return NULL;
}

struct format_object *
format_seal_new(const struct crypto_key *key, const uint8_t data_key[32],
    enum format_kind kind, const char *backup_id, uint32_t chunk_size,
    struct ag_err *err)
{
	return seal_new(key, data_key, kind, backup_id, chunk_size, NULL, NULL,
	    err);
}

struct format_object *
format_seal_new_fixed(const struct crypto_key *key, const uint8_t data_key[32],
    enum format_kind kind, const char *backup_id, uint32_t chunk_size,
    const struct format_seal_fixed *fixed, struct ag_err *err)
{
	return seal_new(key, data_key, kind, backup_id, chunk_size, fixed,
	    NULL, err);
}

struct format_object *
format_object_clone(const struct format_object *obj)
{
	struct format_object *c;

	if ((c = malloc(sizeof(*c))) == NULL)
		return NULL;
	memcpy(c, obj, sizeof(*c));
	if ((c->aead = crypto_aead_new(c->chunk_key)) == NULL) {
		crypto_wipe(c, sizeof(*c));
		free(c);
		return NULL;
	}
	return c;
}

const uint8_t *
format_object_header(const struct format_object *obj, size_t *ret_len)
{
	*ret_len = obj->info.header_len;
	return obj->header;
}

const struct format_info *
format_object_info(const struct format_object *obj)
{
	return &obj->info;
}

/* Nonce and AAD of chunk ${index} (section 2.2). */
static void
chunk_iv(const struct format_object *obj, uint64_t index, int final,
    uint8_t nonce[CRYPTO_AEAD_NONCELEN], uint8_t aad[AAD_LEN])
{
	memset(nonce, 0, 4);
	for (int i = 0; i < 8; i++)
		nonce[4 + i] = (uint8_t)(index >> (56 - 8 * i));
	memcpy(aad, obj->hash, HASH_LEN);
	put_le64(aad + HASH_LEN, index);
	aad[HASH_LEN + 8] = final ? 1 : 0;
}

int
format_seal_chunk(struct format_object *obj, uint64_t index, int final,
    const uint8_t *pt, size_t len, uint8_t *out, size_t *ret_len)
{
	uint8_t nonce[CRYPTO_AEAD_NONCELEN], aad[AAD_LEN];

	if (len > obj->info.chunk_size || (len == 0 && !final))
		return -1;
	chunk_iv(obj, index, final, nonce, aad);
	if (crypto_aead_seal(obj->aead, nonce, aad, sizeof(aad), pt, len,
		out + FORMAT_CHUNK_PREFIX,
		out + FORMAT_CHUNK_PREFIX + len) != 0)
		return -1;
	/* Written last: with in-place sealing, out[0..4) precedes ${pt}. */
	put_le32(out, (uint32_t)len | (final ? FORMAT_CHUNK_FINAL : 0));
	*ret_len = FORMAT_SEALED_LEN(len);
	return 0;
}

/* ---- opening ---- */

struct format_object *
format_open_new(const struct crypto_key *key, const uint8_t *buf, size_t len,
    unsigned expect_kind, struct ag_err *err)
{
	struct format_object *obj;
	struct format_info in;
	uint8_t m[32], dk[DATA_KEY_LEN], keyid[FORMAT_KEY_ID_LEN];
	char hex[2 * FORMAT_KEY_ID_LEN + 1];
	const uint8_t *pp;
	size_t plen;

	if (format_header_info(buf, len, &in, err) != 0)
		return NULL;
	if (expect_kind != 0 && in.kind != expect_kind) {
		ag_err_set(err, "wrong object kind: expected %s, found %s",
		    kind_name(expect_kind), kind_name(in.kind));
		return NULL;
	}
	if ((unsigned)key->mode != in.wrap_mode) {
		ag_err_set(err,
		    "wrong key: object is sealed with %s, but %s "
		    "was given",
		    mode_name(in.wrap_mode), mode_name(key->mode));
		return NULL;
	}
	if (key->mode == CRYPTO_KEY_X25519 && !key->has_secret) {
		ag_err_set(err,
		    "wrong key: only the X25519 public key is "
		    "configured; opening needs the private key");
		return NULL;
	}
	plen = params_len(in.wrap_mode);
	pp = buf + OFF_PARAMS;
	if (derive_master(key, pp, NULL, m, keyid, err) != 0)
		return NULL;
	if (!crypto_memeq(keyid, in.key_id, FORMAT_KEY_ID_LEN)) {
		crypto_wipe(m, sizeof(m));
		crypto_hex(keyid, FORMAT_KEY_ID_LEN, hex);
		if (key->mode == CRYPTO_KEY_PASSPHRASE)
			ag_err_set(err,
			    "wrong key: the passphrase does not "
			    "match (check value %s, expected %s)",
			    hex, in.key_id_hex);
		else
			ag_err_set(err,
			    "wrong key: object was sealed for key "
			    "id %s, this key has id %s",
			    in.key_id_hex, hex);
		return NULL;
	}
	if ((obj = calloc(1, sizeof(*obj))) == NULL) {
		crypto_wipe(m, sizeof(m));
		ag_err_set(err, "out of memory");
		return NULL;
	}
	memcpy(obj->header, buf, in.header_len);
	obj->info = in;
	if (wrap_key(obj->header, plen, m, dk, 0) != 0) {
		ag_err_set(err,
		    "wrong key: the data key does not unwrap "
		    "(key id %s matches; header altered?)",
		    in.key_id_hex);
		goto fail;
	}
	if (object_keys(obj, dk, err) != 0)
		goto fail;
	crypto_wipe(m, sizeof(m));
	crypto_wipe(dk, sizeof(dk));
	return obj;

fail:
	crypto_wipe(m, sizeof(m));
	crypto_wipe(dk, sizeof(dk));
	object_free(obj);
	return NULL;
}

/*
 * Check the length word ${w} of chunk ${index}; store the plaintext length
 * in ${ret_n}.  Return 0 or -1 with a message.
 */
static int
check_word(const struct format_object *obj, uint64_t index, uint32_t w,
    uint32_t *ret_n, struct ag_err *err)
{
	uint32_t n = w & ~FORMAT_CHUNK_FINAL;

	if (n > obj->info.chunk_size)
		return ag_err_set(err,
		    "chunk %llu: length %u exceeds the "
		    "chunk size %u (corrupt)",
		    (unsigned long long)index, (unsigned)n,
		    (unsigned)obj->info.chunk_size);
	if (n == 0 && (w & FORMAT_CHUNK_FINAL) == 0)
		return ag_err_set(err,
		    "chunk %llu: empty non-final chunk "
		    "(corrupt)",
		    (unsigned long long)index);
	*ret_n = n;
	return 0;
}

int
format_open_chunk(struct format_object *obj, uint64_t index,
    const uint8_t *sealed, size_t len, uint8_t *out, size_t *ret_len,
    int *ret_final, struct ag_err *err)
{
	uint8_t nonce[CRYPTO_AEAD_NONCELEN], aad[AAD_LEN];
	uint32_t w, n = 0;
	int final;

	if (len < FORMAT_CHUNK_OVERHEAD)
		return ag_err_set(err,
		    "chunk %llu: %zu bytes is too short "
		    "(corrupt)",
		    (unsigned long long)index, len);
	w = get_le32(sealed);
	if (check_word(obj, index, w, &n, err) != 0)
		return -1;
	if (len != FORMAT_SEALED_LEN(n))
		return ag_err_set(err,
		    "chunk %llu: %zu bytes, but its length "
		    "word says %zu (corrupt)",
		    (unsigned long long)index, len, FORMAT_SEALED_LEN(n));
	final = (w & FORMAT_CHUNK_FINAL) != 0;
	chunk_iv(obj, index, final, nonce, aad);
	if (crypto_aead_open(obj->aead, nonce, aad, sizeof(aad),
		sealed + FORMAT_CHUNK_PREFIX, n, out,
		sealed + FORMAT_CHUNK_PREFIX + n) != 0)
		return ag_err_set(err,
		    "chunk %llu: authentication failed "
		    "(corrupt, reordered or tampered data)",
		    (unsigned long long)index);
	*ret_len = n;
	if (ret_final != NULL)
		*ret_final = final;
	return 0;
}

/* ---- the streaming reader ---- */

enum rd_state { RD_HEADER, RD_WORD, RD_BODY, RD_DONE, RD_ERROR };

struct format_reader {
	const struct crypto_key *key;
	unsigned expect;
	format_chunk_fn *cb;
	void *cookie;
	enum rd_state state;
	uint8_t hdr[FORMAT_HEADER_MAX];
	size_t hhave, hneed;
	struct format_object *obj;
	uint8_t *buf;	   /* one sealed chunk */
	size_t have, need; /* bytes in buf; sealed chunk size */
	uint64_t index;	   /* the chunk being read */
	uint64_t offset;
	struct ag_err sticky;
};

struct format_reader *
format_reader_new(const struct crypto_key *key, unsigned expect_kind,
    format_chunk_fn *cb, void *cookie)
{
	struct format_reader *rd;

	if ((rd = calloc(1, sizeof(*rd))) == NULL)
		return NULL;
	rd->key = key;
	rd->expect = expect_kind;
	rd->cb = cb;
	rd->cookie = cookie;
	rd->state = RD_HEADER;
	return rd;
}

/* Enter the error state with the message now in rd->sticky. */
static int
rd_fail(struct format_reader *rd, struct ag_err *err)
{
	rd->state = RD_ERROR;
	if (err != NULL)
		*err = rd->sticky;
	return -1;
}

/*
 * Open the chunk ${sealed} (${len} bytes, whole) into rd->buf and pass it
 * to the callback.  Return 0, -1 (error set), or the callback's value.
 */
static int
rd_chunk(struct format_reader *rd, const uint8_t *sealed, size_t len,
    struct ag_err *err)
{
	size_t n;
	int final, rc;

	if (format_open_chunk(rd->obj, rd->index, sealed, len,
		rd->buf + FORMAT_CHUNK_PREFIX, &n, &final, &rd->sticky) != 0)
		return rd_fail(rd, err);
	rc = rd->cb(rd->cookie, rd->index, rd->buf + FORMAT_CHUNK_PREFIX, n,
	    final);
	crypto_wipe(rd->buf + FORMAT_CHUNK_PREFIX, n);
	if (rc != 0) {
		ag_err_set(&rd->sticky,
		    "chunk %llu: reading stopped by the "
		    "consumer",
		    (unsigned long long)rd->index);
		rd->state = RD_ERROR;
		return rc;
	}
	rd->index++;
	rd->have = 0;
	rd->state = final ? RD_DONE : RD_WORD;
	return 0;
}

int
format_reader_feed(struct format_reader *rd, const uint8_t *buf, size_t len,
    struct ag_err *err)
{
	size_t take;
	uint32_t n = 0;
	int rc;

	while (len > 0 || rd->state == RD_ERROR) {
		switch (rd->state) {
		case RD_ERROR:
			if (err != NULL)
				*err = rd->sticky;
			return -1;
		case RD_DONE:
			ag_err_set(&rd->sticky,
			    "trailing data after final "
			    "chunk %llu",
			    (unsigned long long)(rd->index - 1));
			return rd_fail(rd, err);
		case RD_HEADER:
			/* First the peek prefix, then the rest of it. */
			if (rd->hneed == 0) {
				take = FORMAT_HEADER_PEEK - rd->hhave;
			} else
				take = rd->hneed - rd->hhave;
			if (take > len)
				take = len;
			memcpy(rd->hdr + rd->hhave, buf, take);
			rd->hhave += take;
			buf += take;
			len -= take;
			rd->offset += take;
			if (rd->hneed == 0) {
				rc = format_header_peek(rd->hdr, rd->hhave,
				    &rd->hneed, &rd->sticky);
				if (rc < 0)
					return rd_fail(rd, err);
				break;
			}
			if (rd->hhave < rd->hneed)
				break;
			if ((rd->obj = format_open_new(rd->key, rd->hdr,
				 rd->hhave, rd->expect, &rd->sticky)) == NULL)
				return rd_fail(rd, err);
			if ((rd->buf = malloc(FORMAT_SEALED_LEN(
				 rd->obj->info.chunk_size))) == NULL) {
				ag_err_set(&rd->sticky, "out of memory");
				return rd_fail(rd, err);
			}
			rd->state = RD_WORD;
			break;
		case RD_WORD:
			take = FORMAT_CHUNK_PREFIX - rd->have;
			if (rd->have == 0 && len >= FORMAT_CHUNK_PREFIX) {
				/* Whole chunk in the input: open it there. */
				if (check_word(rd->obj, rd->index,
					get_le32(buf), &n, &rd->sticky) != 0)
					return rd_fail(rd, err);
				if (len >= FORMAT_SEALED_LEN(n)) {
					take = FORMAT_SEALED_LEN(n);
					if ((rc = rd_chunk(rd, buf, take,
						 err)) != 0)
						return rc;
					buf += take;
					len -= take;
					rd->offset += take;
					break;
				}
			}
			if (take > len)
				take = len;
			memcpy(rd->buf + rd->have, buf, take);
			rd->have += take;
			buf += take;
			len -= take;
			rd->offset += take;
			if (rd->have < FORMAT_CHUNK_PREFIX)
				break;
			if (check_word(rd->obj, rd->index, get_le32(rd->buf),
				&n, &rd->sticky) != 0)
				return rd_fail(rd, err);
			rd->need = FORMAT_SEALED_LEN(n);
			rd->state = RD_BODY;
			break;
		case RD_BODY:
			take = rd->need - rd->have;
			if (take > len)
				take = len;
			memcpy(rd->buf + rd->have, buf, take);
			rd->have += take;
			buf += take;
			len -= take;
			rd->offset += take;
			if (rd->have < rd->need)
				break;
			/* In place: the plaintext lands at buf + 4. */
			if ((rc = rd_chunk(rd, rd->buf, rd->need, err)) != 0)
				return rc;
			break;
		}
	}
	return 0;
}

int
format_reader_end(struct format_reader *rd, struct ag_err *err)
{
	switch (rd->state) {
	case RD_DONE:
		return 0;
	case RD_ERROR:
		break;
	case RD_HEADER:
		ag_err_set(&rd->sticky,
		    "truncated: object ends inside the "
		    "header");
		break;
	case RD_WORD:
		if (rd->have > 0)
			ag_err_set(&rd->sticky,
			    "truncated: object ends inside "
			    "chunk %llu",
			    (unsigned long long)rd->index);
		else if (rd->index == 0)
			ag_err_set(&rd->sticky,
			    "truncated: object has no "
			    "chunks");
		else
			ag_err_set(&rd->sticky,
			    "truncated: missing final "
			    "chunk (object ends after chunk %llu)",
			    (unsigned long long)(rd->index - 1));
		break;
	case RD_BODY:
		ag_err_set(&rd->sticky,
		    "truncated: object ends inside chunk "
		    "%llu",
		    (unsigned long long)rd->index);
		break;
	}
	return rd_fail(rd, err);
}

const struct format_object *
format_reader_object(const struct format_reader *rd)
{
	return rd->obj;
}

uint64_t
format_reader_offset(const struct format_reader *rd)
{
	return rd->offset;
}

void
format_reader_free(struct format_reader *rd)
{
	if (rd == NULL)
		return;
	format_object_free(rd->obj);
	free(rd->buf);
	crypto_wipe(rd, sizeof(*rd));
	free(rd);
}

/* ---- whole objects in memory (manifest, index) ---- */

/* Only manifests are signed (section 2.3). */
static int
signs(const struct crypto_key *key, enum format_kind kind)
{
	return key->signer != NULL && kind == FORMAT_KIND_MANIFEST;
}

size_t
format_header_len(const struct crypto_key *key, enum format_kind kind)
{
	return HDR_FIXED + params_len(key->mode) +
	    (signs(key, kind) ? FORMAT_EXT_SIGNATURE_LEN : 0);
}

static int
seal_buffer(const struct crypto_key *key, const uint8_t data_key[32],
    enum format_kind kind, const char *backup_id, const uint8_t *buf,
    size_t len, const struct format_seal_fixed *fx, uint8_t **ret_out,
    size_t *ret_outlen, struct ag_err *err)
{
	struct format_object *obj;
	const uint8_t *hdr;
	uint8_t *out, sha[HASH_LEN];
	size_t hlen, nchunks, total, pos, off = 0, n, sl;
	uint64_t i;

	if (len > FORMAT_MANIFEST_MAX)
		return ag_err_set(err,
		    "%s of %zu bytes is larger than %zu "
		    "bytes",
		    kind_name(kind), len, FORMAT_MANIFEST_MAX);
	if (signs(key, kind) && crypto_sha256(buf, len, sha) != 0)
		return ag_err_set(err, "cannot compute SHA-256");
	if ((obj = seal_new(key, data_key, kind, backup_id,
		 FORMAT_MANIFEST_CHUNK, fx, signs(key, kind) ? sha : NULL,
		 err)) == NULL)
		return -1;
	hdr = format_object_header(obj, &hlen);
	nchunks = len == 0 ?
	    1 :
	    (len + FORMAT_MANIFEST_CHUNK - 1) / FORMAT_MANIFEST_CHUNK;
	total = hlen + len + nchunks * FORMAT_CHUNK_OVERHEAD;
	if ((out = malloc(total)) == NULL) {
		format_object_free(obj);
		return ag_err_set(err, "out of memory");
	}
	memcpy(out, hdr, hlen);
	pos = hlen;
	for (i = 0; i < nchunks; i++) {
		n = len - off < FORMAT_MANIFEST_CHUNK ? len - off :
							FORMAT_MANIFEST_CHUNK;
		if (format_seal_chunk(obj, i, i + 1 == nchunks, buf + off, n,
			out + pos, &sl) != 0) {
			free(out);
			format_object_free(obj);
			return ag_err_set(err, "cannot seal the %s",
			    kind_name(kind));
		}
		off += n;
		pos += sl;
	}
	format_object_free(obj);
	*ret_out = out;
	*ret_outlen = pos;
	return 0;
}

int
format_seal_buffer(const struct crypto_key *key, const uint8_t data_key[32],
    enum format_kind kind, const char *backup_id, const uint8_t *buf,
    size_t len, uint8_t **ret_out, size_t *ret_outlen, struct ag_err *err)
{
	return seal_buffer(key, data_key, kind, backup_id, buf, len, NULL,
	    ret_out, ret_outlen, err);
}

int
format_seal_buffer_fixed(const struct crypto_key *key,
    const uint8_t data_key[32], enum format_kind kind, const char *backup_id,
    const uint8_t *buf, size_t len, const struct format_seal_fixed *fixed,
    uint8_t **ret_out, size_t *ret_outlen, struct ag_err *err)
{
	return seal_buffer(key, data_key, kind, backup_id, buf, len, fixed,
	    ret_out, ret_outlen, err);
}

/*
 * Check the signature of the object whose header is ${hdr} (parsed into
 * ${in}) and plaintext ${pt}, and, for manifests, that ${key} trusts its
 * signer (section 2.3).  Return 0 or -1 with a message.
 */
static int
check_signature(const struct crypto_key *key, const uint8_t *hdr,
    const struct format_info *in, const char *pt, size_t len,
    struct ag_err *err)
{
	uint8_t sha[HASH_LEN], msg[SIGN_MSG_MAX];
	size_t mlen;

	if (in->has_signature) {
		if (crypto_sha256(pt, len, sha) != 0)
			return ag_err_set(err, "cannot compute SHA-256");
		mlen = sign_message(hdr,
		    SIGNED_PREFIX(params_len(in->wrap_mode)), sha, msg);
		if (crypto_sign_verify(in->signer, msg, mlen, in->signature) !=
		    0)
			return ag_err_set(err,
			    "signature does not verify "
			    "(forged or tampered manifest)");
	}
	if (in->kind != FORMAT_KIND_MANIFEST || key->ntrusted == 0)
		return 0;
	if (!in->has_signature)
		return ag_err_set(err,
		    "not signed, but trusted_signers "
		    "requires a signature (forged, or written by a host "
		    "without a signing key)");
	for (size_t i = 0; i < key->ntrusted; i++)
		if (crypto_memeq(key->trusted[i], in->signer,
			FORMAT_SIGNER_LEN))
			return 0;
	return ag_err_set(err,
	    "signed by %s, which is not in "
	    "trusted_signers",
	    in->signer_id_hex);
}

struct collect {
	char *out;
	size_t len, cap;
};

static int
collect_chunk(void *cookie, uint64_t index, const uint8_t *pt, size_t len,
    int final)
{
	struct collect *c = cookie;

	(void)index;
	(void) final;
	/* Cannot happen (plaintext < input), but stay inside the buffer. */
	if (len > c->cap - c->len)
		return -1;
	memcpy(c->out + c->len, pt, len);
	c->len += len;
	return 0;
}

int
format_open_buffer(const struct crypto_key *key, unsigned expect_kind,
    const uint8_t *buf, size_t len, char **ret_out, size_t *ret_outlen,
    struct format_info *ret_info, struct ag_err *err)
{
	struct format_reader *rd;
	struct collect c;

	/* The plaintext is shorter than the object, which bounds it. */
	if (len > FORMAT_MANIFEST_MAX + FORMAT_HEADER_MAX +
		(FORMAT_MANIFEST_MAX / FORMAT_MANIFEST_CHUNK + 1) *
		    FORMAT_CHUNK_OVERHEAD)
		return ag_err_set(err,
		    "object of %zu bytes is too large to "
		    "open in memory",
		    len);
	c.len = 0;
	c.cap = len;
	if ((c.out = malloc(len + 1)) == NULL)
		return ag_err_set(err, "out of memory");
	if ((rd = format_reader_new(key, expect_kind, collect_chunk, &c)) ==
	    NULL) {
		free(c.out);
		return ag_err_set(err, "out of memory");
	}
	if (format_reader_feed(rd, buf, len, err) != 0 ||
	    format_reader_end(rd, err) != 0)
		goto fail;
	if (c.len > FORMAT_MANIFEST_MAX) {
		ag_err_set(err,
		    "plaintext of %zu bytes is larger than %zu "
		    "bytes",
		    c.len, FORMAT_MANIFEST_MAX);
		goto fail;
	}
	if (check_signature(key, rd->obj->header, &rd->obj->info, c.out, c.len,
		err) != 0)
		goto fail;
	if (ret_info != NULL)
		*ret_info = rd->obj->info;
	format_reader_free(rd);
	c.out[c.len] = '\0';
	*ret_out = c.out;
	*ret_outlen = c.len;
	return 0;

fail:
	format_reader_free(rd);
	crypto_wipe(c.out, len + 1);
	free(c.out);
	return -1;
}

int
format_manifest_seal(const struct crypto_key *key, const uint8_t data_key[32],
    const char *backup_id, const char *json, size_t len, uint8_t **ret_out,
    size_t *ret_outlen, struct ag_err *err)
{
	return format_seal_buffer(key, data_key, FORMAT_KIND_MANIFEST,
	    backup_id, (const uint8_t *)json, len, ret_out, ret_outlen, err);
}

int
format_manifest_open(const struct crypto_key *key, const uint8_t *buf,
    size_t len, char **ret_json, size_t *ret_len, struct ag_err *err)
{
	return format_open_buffer(key, FORMAT_KIND_MANIFEST, buf, len,
	    ret_json, ret_len, NULL, err);
}
