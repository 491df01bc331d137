/*
 * crypto_keys.c: loading, generating and wiping the long-term backup keys
 * (see crypto_keys.h and docs/BACKUP-FORMAT.md section 3).
 *
 * Every secret file goes through crypto_secret_read(): open, fstat the open
 * file (so a swapped path cannot slip past the check), refuse anything but a
 * regular file with no group/other permission bits, and read at most a
 * small bounded size into a buffer that is wiped afterwards.  New secret
 * files are written whole to a temporary file (mode 0600), fsync'd and
 * linked into place, never replacing an existing file.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "lib/ag.h"
#include "lib/crypto/crypto.h"
#include "lib/crypto/crypto_aead.h"
#include "lib/crypto/crypto_keys.h"
#include "lib/crypto/crypto_secret.h"
#include "lib/crypto/crypto_sign.h"

/* The largest secret file read: a PEM key is about 120 bytes. */
#define SECRET_FILE_MAX 4096

/*
 * crypto_secret_read(path, what, buf, cap, ret_len, err):
 * Read the secret file ${path} (a ${what}, for messages) into ${buf}
 * (${cap} bytes) and store its length in ${ret_len}.  Return 0 or -1 with
 * a message.
 */
int
crypto_secret_read(const char *path, const char *what, uint8_t *buf,
    size_t cap, size_t *ret_len, struct ag_err *err)
{
	struct stat st;
	size_t len = 0;
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1)
		return ag_err_set(err, "%s: cannot open %s: %s", path, what,
		    strerror(errno));
	if (fstat(fd, &st) == -1) {
		ag_err_set(err, "%s: %s", path, strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		ag_err_set(err, "%s: %s is not a regular file", path, what);
		goto fail;
	}
	if ((st.st_mode & 077) != 0) {
		ag_err_set(err,
		    "%s: mode %04o is too open for a %s (group or "
		    "others may access it); chmod 600 %s",
		    path, (unsigned)(st.st_mode & 07777), what, path);
		goto fail;
	}
	/* Read one byte more than allowed to tell "too large" apart. */
	for (;;) {
		if (len == cap) {
			uint8_t extra;

			do {
				n = read(fd, &extra, 1);
			} while (n == -1 && errno == EINTR);
			if (n > 0) {
				ag_err_set(err, "%s: too large for a %s", path,
				    what);
				goto fail;
			}
			break;
		}
		n = read(fd, buf + len, cap - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			ag_err_set(err, "%s: read: %s", path, strerror(errno));
			goto fail;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	*ret_len = len;
	return 0;

fail:
	close(fd);
	OPENSSL_cleanse(buf, cap);
	return -1;
}

static struct crypto_key *
key_alloc(enum crypto_key_mode mode, struct ag_err *err)
{
	struct crypto_key *k;

	if ((k = calloc(1, sizeof(*k))) == NULL) {
		ag_err_set(err, "out of memory");
		return NULL;
	}
	k->mode = mode;
	k->scrypt_log2n = CRYPTO_SCRYPT_LOG2N_DEFAULT;
	k->scrypt_r = CRYPTO_SCRYPT_R_DEFAULT;
	k->scrypt_p = CRYPTO_SCRYPT_P_DEFAULT;
	return k;
}

/* Decode 64 hex digits into 32 bytes.  Return 0 or -1. */
static int
unhex32(const uint8_t *in, uint8_t out[CRYPTO_KEY_LEN])
{
	for (size_t i = 0; i < CRYPTO_KEY_LEN; i++) {
		int hi = crypto_hexval(in[2 * i]);
		int lo = crypto_hexval(in[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

struct crypto_key *
crypto_keys_load_keyfile(const char *path, struct ag_err *err)
{
	uint8_t buf[SECRET_FILE_MAX];
	struct crypto_key *k;
	size_t len;

	if (crypto_secret_read(path, "key file", buf, sizeof(buf), &len,
		err) != 0)
		return NULL;
	if ((k = key_alloc(CRYPTO_KEY_FILE, err)) == NULL)
		goto fail;
	k->has_secret = 1;
	if (len == CRYPTO_KEY_LEN) {
		memcpy(k->secret, buf, CRYPTO_KEY_LEN);
	} else {
		/* 64 hex digits and at most one newline. */
		if (len == 2 * CRYPTO_KEY_LEN + 1 && buf[len - 1] == '\n')
			len--;
		if (len != 2 * CRYPTO_KEY_LEN) {
			ag_err_set(err,
			    "%s: not a key file: expected 32 raw "
			    "bytes or 64 hex digits, found %zu bytes",
			    path, len);
			goto fail;
		}
		if (unhex32(buf, k->secret) != 0) {
			ag_err_set(err,
			    "%s: not a key file: 64 characters "
			    "but not all hex digits",
			    path);
			goto fail;
		}
	}
	OPENSSL_cleanse(buf, sizeof(buf));
	return k;

fail:
	crypto_keys_free(k);
	OPENSSL_cleanse(buf, sizeof(buf));
	return NULL;
}

/* Check a passphrase and store it in ${k}.  Return 0 or -1. */
static int
set_pass(struct crypto_key *k, const uint8_t *p, size_t len, const char *where,
    struct ag_err *err)
{
	if (len == 0)
		return ag_err_set(err, "%s: the passphrase is empty", where);
	if (len > CRYPTO_PASSPHRASE_MAX)
		return ag_err_set(err,
		    "%s: the passphrase is longer than %d "
		    "bytes",
		    where, CRYPTO_PASSPHRASE_MAX);
	if (memchr(p, '\0', len) != NULL)
		return ag_err_set(err,
		    "%s: the passphrase contains a NUL "
		    "byte",
		    where);
	memcpy(k->pass, p, len);
	k->pass[len] = '\0';
	k->passlen = len;
	k->has_secret = 1;
	return 0;
}

struct crypto_key *
crypto_keys_load_passphrase(const char *path, struct ag_err *err)
{
	uint8_t buf[CRYPTO_PASSPHRASE_MAX + 2];
	struct crypto_key *k = NULL;
	size_t len;

	if (crypto_secret_read(path, "passphrase file", buf, sizeof(buf), &len,
		err) != 0)
		return NULL;
	/* Strip one line ending: "\n" or "\r\n". */
	if (len > 0 && buf[len - 1] == '\n') {
		len--;
		if (len > 0 && buf[len - 1] == '\r')
			len--;
	}
	if ((k = key_alloc(CRYPTO_KEY_PASSPHRASE, err)) == NULL)
		goto fail;
	if (set_pass(k, buf, len, path, err) != 0)
		goto fail;
	OPENSSL_cleanse(buf, sizeof(buf));
	return k;

fail:
	crypto_keys_free(k);
	OPENSSL_cleanse(buf, sizeof(buf));
	return NULL;
}

/* Never prompt on a terminal for an encrypted PEM key: refuse it. */
static int
no_password(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return 0;
}

/*
 * crypto_secret_pem_load(path, what, type, ret_raw, err):
 * Read the unencrypted PKCS#8 PEM private key of OpenSSL key type ${type}
 * ("X25519", "ED25519") from the secret file ${path} (a ${what}, for
 * messages) and store its 32 raw bytes in ${ret_raw}.  Return 0 or -1
 * with a message; ${ret_raw} is wiped on failure.
 */
int
crypto_secret_pem_load(const char *path, const char *what, const char *type,
    uint8_t ret_raw[32], struct ag_err *err)
{
	uint8_t buf[SECRET_FILE_MAX];
	EVP_PKEY *pk = NULL;
	BIO *bio;
	size_t len, plen = 32;
	int rc = -1;

	if (crypto_secret_read(path, what, buf, sizeof(buf), &len, err) != 0)
		return -1;
	if ((bio = BIO_new_mem_buf(buf, (int)len)) == NULL) {
		ag_err_set(err, "out of memory");
		goto out;
	}
	pk = PEM_read_bio_PrivateKey(bio, NULL, no_password, NULL);
	BIO_free(bio);
	if (pk == NULL) {
		/* Leave no stale entries in this thread's error queue. */
		ERR_clear_error();
		ag_err_set(err, "%s: not an unencrypted PEM private key",
		    path);
		goto out;
	}
	if (!EVP_PKEY_is_a(pk, type)) {
		ag_err_set(err, "%s: not an %s key (found %s)", path, type,
		    EVP_PKEY_get0_type_name(pk) != NULL ?
			EVP_PKEY_get0_type_name(pk) :
			"another type");
		goto out;
	}
	if (EVP_PKEY_get_raw_private_key(pk, ret_raw, &plen) != 1 ||
	    plen != 32) {
		ag_err_set(err, "%s: cannot read the %s key", path, type);
		goto out;
	}
	rc = 0;
out:
	if (rc != 0)
		OPENSSL_cleanse(ret_raw, 32);
	EVP_PKEY_free(pk);
	OPENSSL_cleanse(buf, sizeof(buf));
	return rc;
}

struct crypto_key *
crypto_keys_load_x25519(const char *path, struct ag_err *err)
{
	struct crypto_key *k;

	if ((k = key_alloc(CRYPTO_KEY_X25519, err)) == NULL)
		return NULL;
	if (crypto_secret_pem_load(path, "private key file", "X25519",
		k->secret, err) != 0)
		goto fail;
	if (crypto_x25519_public(k->secret, k->pub) != 0) {
		ag_err_set(err, "%s: cannot read the X25519 key", path);
		goto fail;
	}
	k->has_secret = 1;
	return k;

fail:
	crypto_keys_free(k);
	return NULL;
}

struct crypto_key *
crypto_keys_from_public(const char *b64, struct ag_err *err)
{
	static const uint8_t zero[CRYPTO_KEY_LEN];
	struct crypto_key *k;
	uint8_t raw[CRYPTO_KEY_LEN];

	if (crypto_unbase64_32(b64, raw) != 0 ||
	    crypto_memeq(raw, zero, CRYPTO_KEY_LEN))
		goto fail;
	if ((k = key_alloc(CRYPTO_KEY_X25519, err)) == NULL)
		return NULL;
	memcpy(k->pub, raw, CRYPTO_KEY_LEN);
	return k;

fail:
	ag_err_set(err,
	    "public_key: not an X25519 public key (expected the "
	    "base64 of 32 bytes, 44 characters)");
	return NULL;
}

struct crypto_key *
crypto_keys_from_raw(enum crypto_key_mode mode, const uint8_t *buf, size_t len,
    struct ag_err *err)
{
	struct crypto_key *k;

	if (mode != CRYPTO_KEY_FILE && mode != CRYPTO_KEY_PASSPHRASE &&
	    mode != CRYPTO_KEY_X25519) {
		ag_err_set(err, "unknown key mode %d", (int)mode);
		return NULL;
	}
	if (mode != CRYPTO_KEY_PASSPHRASE && len != CRYPTO_KEY_LEN) {
		ag_err_set(err, "a key must be %d bytes, not %zu",
		    CRYPTO_KEY_LEN, len);
		return NULL;
	}
	if ((k = key_alloc(mode, err)) == NULL)
		return NULL;
	switch (mode) {
	case CRYPTO_KEY_PASSPHRASE:
		if (set_pass(k, buf, len, "passphrase", err) != 0)
			goto fail;
		break;
	case CRYPTO_KEY_X25519:
		memcpy(k->secret, buf, CRYPTO_KEY_LEN);
		if (crypto_x25519_public(k->secret, k->pub) != 0) {
			ag_err_set(err, "cannot use the X25519 private key");
			goto fail;
		}
		k->has_secret = 1;
		break;
	default:
		memcpy(k->secret, buf, CRYPTO_KEY_LEN);
		k->has_secret = 1;
		break;
	}
	return k;

fail:
	crypto_keys_free(k);
	return NULL;
}

int
crypto_keys_set_scrypt(struct crypto_key *key, unsigned log2n, uint32_t r,
    uint32_t p, struct ag_err *err)
{
	if (key->mode != CRYPTO_KEY_PASSPHRASE)
		return ag_err_set(err,
		    "scrypt costs apply to passphrases "
		    "only");
	if (log2n < 1 || log2n > 30 || r < 1 || p < 1 || p > 16 ||
	    (uint64_t)r >
		CRYPTO_SCRYPT_MAXMEM / (128 * ((uint64_t)1 << log2n)))
		return ag_err_set(err,
		    "scrypt costs N=2^%u r=%u p=%u out of "
		    "range (p <= 16, 128*r*N <= 1 GiB)",
		    log2n, (unsigned)r, (unsigned)p);
	key->scrypt_log2n = log2n;
	key->scrypt_r = r;
	key->scrypt_p = p;
	return 0;
}

int
crypto_keys_public_string(const struct crypto_key *key, char *out,
    size_t outlen)
{
	if (key->mode != CRYPTO_KEY_X25519 || outlen < CRYPTO_PUBLIC_STR_SIZE)
		return -1;
	return crypto_base64(key->pub, CRYPTO_KEY_LEN, out, outlen) == 44 ? 0 :
									    -1;
}

/*
 * crypto_secret_write_new(path, buf, len, err):
 * Create ${path} (0600, never replacing a file) holding the ${len} bytes of
 * ${buf}, synced to disk.  The key is written to a temporary file beside
 * ${path} and linked into place only when whole, so that a process racing
 * to load a key being generated (two jobs sharing a key file, the daemon
 * and the CLI) sees either no file or the whole key, never half of it.
 * Return 0 or -1; on failure nothing is left behind.
 */
int
crypto_secret_write_new(const char *path, const void *buf, size_t len,
    struct ag_err *err)
{
	const uint8_t *p = buf;
	char *tmp;
	ssize_t n;
	int fd, rc = -1;

	if (asprintf(&tmp, "%s.new-XXXXXX", path) < 0)
		return ag_err_set(err, "%s: out of memory", path);
	if ((fd = mkostemp(tmp, O_CLOEXEC)) == -1) {
		ag_err_set(err, "%s: cannot create: %s", path,
		    strerror(errno));
		free(tmp);
		return -1;
	}
	/* mkostemp() makes it 0600; the umask can only remove bits. */
	if (fchmod(fd, 0600) == -1)
		goto fail;
	while (len > 0) {
		n = write(fd, p, len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			goto fail;
		p += n;
		len -= (size_t)n;
	}
	if (fsync(fd) == -1)
		goto fail;
	/* link() never replaces: the first of two racing writers wins. */
	if (link(tmp, path) == -1) {
		if (errno == EEXIST)
			ag_err_set(err,
			    "%s: already exists; refusing to "
			    "overwrite a key",
			    path);
		else
			ag_err_set(err, "%s: cannot create: %s", path,
			    strerror(errno));
		goto out;
	}
	rc = 0;
	goto out;

fail:
	ag_err_set(err, "%s: cannot write: %s", path, strerror(errno));
out:
	close(fd);
	(void)unlink(tmp);
	free(tmp);
	return rc;
}

/*
 * crypto_secret_pem_write_new(path, type, raw, err):
 * Write the 32-byte private key ${raw} of OpenSSL key type ${type} as
 * PKCS#8 PEM to the new secret file ${path} (crypto_secret_write_new()).
 * Return 0 or -1 with a message.
 */
int
crypto_secret_pem_write_new(const char *path, const char *type,
    const uint8_t raw[32], struct ag_err *err)
{
	EVP_PKEY *pk;
	BIO *bio = NULL;
	char *pem;
	long pemlen;
	int rc = -1;

	if ((pk = EVP_PKEY_new_raw_private_key_ex(NULL, type, NULL, raw,
		 32)) == NULL)
		return ag_err_set(err, "cannot make an %s key", type);
	/* A secure-heap memory BIO: the PEM text is wiped when freed. */
	if ((bio = BIO_new(BIO_s_secmem())) == NULL ||
	    PEM_write_bio_PrivateKey(bio, pk, NULL, NULL, 0, NULL, NULL) !=
		1 ||
	    (pemlen = BIO_get_mem_data(bio, &pem)) <= 0) {
		ag_err_set(err, "cannot encode the %s key", type);
		goto out;
	}
	rc = crypto_secret_write_new(path, pem, (size_t)pemlen, err);
out:
	BIO_free(bio);
	EVP_PKEY_free(pk);
	return rc;
}

int
crypto_keys_generate_x25519(const char *path, char *ret_pub, size_t publen,
    struct ag_err *err)
{
	uint8_t priv[CRYPTO_X25519_LEN], pub[CRYPTO_X25519_LEN];
	char pubstr[CRYPTO_PUBLIC_STR_SIZE];
	int rc = -1;

	if (publen < CRYPTO_PUBLIC_STR_SIZE)
		return ag_err_set(err, "public key buffer too small");
	if (crypto_x25519_keygen(priv, pub) != 0) {
		ag_err_set(err, "cannot generate an X25519 key");
		goto out;
	}
	if (crypto_base64(pub, sizeof(pub), pubstr, sizeof(pubstr)) != 44) {
		ag_err_set(err, "cannot encode the public key");
		goto out;
	}
	if (crypto_secret_pem_write_new(path, "X25519", priv, err) != 0)
		goto out;
	memcpy(ret_pub, pubstr, sizeof(pubstr));
	rc = 0;
out:
	OPENSSL_cleanse(priv, sizeof(priv));
	return rc;
}

int
crypto_keys_generate_keyfile(const char *path, struct ag_err *err)
{
	uint8_t key[CRYPTO_KEY_LEN];
	char hex[2 * CRYPTO_KEY_LEN + 2];
	int rc;

	if (crypto_random(key, sizeof(key)) != 0)
		return ag_err_set(err, "cannot draw random bytes");
	crypto_hex(key, sizeof(key), hex);
	hex[2 * CRYPTO_KEY_LEN] = '\n';
	hex[2 * CRYPTO_KEY_LEN + 1] = '\0';
	rc = crypto_secret_write_new(path, hex, 2 * CRYPTO_KEY_LEN + 1, err);
	OPENSSL_cleanse(key, sizeof(key));
	OPENSSL_cleanse(hex, sizeof(hex));
	return rc;
}

void
crypto_keys_set_signer(struct crypto_key *key, struct crypto_signer *signer)
{
	crypto_sign_free(key->signer);
	key->signer = signer;
}

int
crypto_keys_add_trusted(struct crypto_key *key,
    const uint8_t pub[CRYPTO_SIGN_PUBLEN], struct ag_err *err)
{
	for (size_t i = 0; i < key->ntrusted; i++)
		if (memcmp(key->trusted[i], pub, CRYPTO_SIGN_PUBLEN) == 0)
			return 0;
	if (key->ntrusted == CRYPTO_TRUSTED_MAX)
		return ag_err_set(err, "more than %d trusted signers",
		    CRYPTO_TRUSTED_MAX);
	memcpy(key->trusted[key->ntrusted++], pub, CRYPTO_SIGN_PUBLEN);
	return 0;
}

void
crypto_keys_free(struct crypto_key *key)
{
	if (key == NULL)
		return;
	crypto_sign_free(key->signer);
	OPENSSL_cleanse(key, sizeof(*key));
	free(key);
}
