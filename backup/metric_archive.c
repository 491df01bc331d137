/*
 * metric_archive.c: see metric_archive.h.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libdeflate.h>

#include "backup/format.h"
#include "backup/jobconf.h"
#include "backup/metric_archive.h"
#include "lib/ag.h"
#include "lib/crypto/crypto.h"
#include "lib/crypto/crypto_keys.h"
#include "providers/storage.h"

/* Read all of ${path} (at most ${max} bytes) into a malloc'd buffer. */
static int
read_file(const char *path, size_t max, uint8_t **ret, size_t *ret_len,
    struct ag_err *err)
{
	struct stat sb;
	uint8_t *p = NULL;
	size_t n = 0;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 || fstat(fd, &sb) != 0)
		goto fail;
	if ((uint64_t)sb.st_size > max) {
		close(fd);
		return ag_err_set(err, "%s: larger than %zu bytes", path, max);
	}
	if ((p = malloc((size_t)sb.st_size + 1)) == NULL)
		goto fail;
	while (n < (size_t)sb.st_size) {
		ssize_t r = read(fd, p + n, (size_t)sb.st_size - n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			if (r == 0)
				errno = EIO;
			goto fail;
		}
		n += (size_t)r;
	}
	close(fd);
	*ret = p;
	*ret_len = n;
	return 0;
fail:
	ag_err_set(err, "%s: %s", path, strerror(errno));
	if (fd >= 0)
		close(fd);
	free(p);
	return -1;
}

static int
write_file(const char *path, const uint8_t *p, size_t len, struct ag_err *err)
{
	char tmp[4096];
	int fd;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return ag_err_set(err, "%s: name too long", path);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) <
	    0)
		return ag_err_set(err, "%s: %s", tmp, strerror(errno));
	while (len > 0) {
		ssize_t w = write(fd, p, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			goto fail;
		p += w;
		len -= (size_t)w;
	}
	if (fsync(fd) != 0)
		goto fail;
	close(fd);
	if (rename(tmp, path) != 0) {
		ag_err_set(err, "%s: %s", path, strerror(errno));
		(void)unlink(tmp);
		return -1;
	}
	return 0;
fail:
	ag_err_set(err, "%s: %s", tmp, strerror(errno ? errno : EIO));
	close(fd);
	(void)unlink(tmp);
	return -1;
}

int
archive_seal(const char *plain, const char *out, const char *key_file,
    int64_t hour, struct ag_err *err)
{
	struct libdeflate_compressor *c = NULL;
	struct crypto_key *key = NULL;
	uint8_t *in = NULL, *gz = NULL, *sealed = NULL;
	size_t inlen, gzlen = 0, cap, sealed_len, nmem;
	int rc = -1;

	if (read_file(plain, ARCHIVE_HOUR_MAX, &in, &inlen, err) != 0)
		return -1;
	/* Whole lines only. */
	while (inlen > 0 && in[inlen - 1] != '\n')
		inlen--;
	nmem = inlen == 0 ?
	    1 :
	    (inlen + ARCHIVE_MEMBER_MAX - 1) / ARCHIVE_MEMBER_MAX;
	if ((c = libdeflate_alloc_compressor(6)) == NULL) {
		ag_err_set(err, "out of memory");
		goto out;
	}
	cap = nmem * libdeflate_gzip_compress_bound(c, ARCHIVE_MEMBER_MAX);
	if ((gz = malloc(cap)) == NULL) {
		ag_err_set(err, "out of memory");
		goto out;
	}
	for (size_t off = 0, i = 0; i < nmem; i++) {
		size_t n = inlen - off < ARCHIVE_MEMBER_MAX ?
		    inlen - off :
		    ARCHIVE_MEMBER_MAX;
		size_t z = libdeflate_gzip_compress(c, in + off, n, gz + gzlen,
		    cap - gzlen);

		if (z == 0) {
			ag_err_set(err, "%s: compression failed", plain);
			goto out;
		}
		gzlen += z;
		off += n;
	}
	if (key_file == NULL) {
		rc = write_file(out, gz, gzlen, err);
		goto out;
	}
	{
		char id[FORMAT_BACKUP_ID_SIZE];
		uint8_t dk[32];

		if ((key = jobconf_load_key_path(key_file, err)) == NULL)
			goto out;
		if (format_backup_id_new((time_t)(hour * 3600), id) != 0 ||
		    crypto_random(dk, sizeof(dk)) != 0) {
			ag_err_set(err, "no randomness");
			goto out;
		}
		if (format_seal_buffer(key, dk, FORMAT_KIND_DATA, id, gz,
			gzlen, &sealed, &sealed_len, err) != 0) {
			crypto_wipe(dk, sizeof(dk));
			goto out;
		}
		crypto_wipe(dk, sizeof(dk));
		rc = write_file(out, sealed, sealed_len, err);
	}
out:
	libdeflate_free_compressor(c);
	crypto_keys_free(key);
	free(in);
	free(gz);
	free(sealed);
	return rc;
}

int
archive_put(const struct conf *conf, const char *storage, const char *key,
    const char *path, struct ag_err *err)
{
	struct conf_errs errs = { 0 };
	struct storage_conf *sc = NULL;
	struct storage *st = NULL;
	uint8_t *p = NULL;
	size_t len;
	int rc;

	if (storage_conf_find(conf->storage, storage, &sc, &errs) != 0) {
		ag_err_set(err, "archive: %s",
		    errs.n > 0 ? errs.msgs[0] : "bad storage target");
		conf_errs_free(&errs);
		return -1;
	}
	conf_errs_free(&errs);
	if ((rc = read_file(path, ARCHIVE_HOUR_MAX, &p, &len, err)) != 0)
		goto out;
	if ((rc = storage_open(sc, &st, err)) != 0)
		goto out;
	if (storage_part_max(st) == 0 || len <= storage_part_max(st)) {
		rc = storage_put(st, key, p, len, err);
	} else {
		struct storage_upload *up;
		size_t part = storage_part_size(st, 8u << 20);

		if ((rc = storage_put_begin(st, key, &up, err)) != 0)
			goto out;
		for (size_t off = 0; off < len; off += part) {
			size_t n = len - off < part ? len - off : part;

			if ((rc = storage_put_part(up, p + off, n, err)) !=
			    0) {
				storage_put_abort(up);
				goto out;
			}
		}
		rc = storage_put_commit(up, err);
		if (rc == AG_RETRY)
			storage_put_abort(up);
	}
out:
	storage_close(st);
	storage_conf_free(sc);
	free(p);
	return rc;
}

int
archive_decrypt(const char *key_file, const uint8_t *buf, size_t len,
    uint8_t **ret, size_t *ret_len, struct ag_err *err)
{
	struct crypto_key *key;
	char *out = NULL;
	int rc;

	if ((key = jobconf_load_key_path(key_file, err)) == NULL)
		return -1;
	rc = format_open_buffer(key, FORMAT_KIND_DATA, buf, len, &out, ret_len,
	    NULL, err);
	crypto_keys_free(key);
	*ret = (uint8_t *)out;
	return rc;
}
