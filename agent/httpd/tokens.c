/*
 * tokens.c: API tokens kept hashed in a file (agent/httpd/tokens.h).
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/httpd/tokens.h"
#include "lib/crypto/crypto.h"
#include "lib/log.h"

#define TOKENS_FILE_MAX (1024 * 1024)

const char *
tokens_role_name(enum web_role role)
{
	return role == WEB_ROLE_ADMIN ? "admin" :
	    role == WEB_ROLE_READ     ? "read" :
					"none";
}

static bool
name_ok(const char *s, size_t n)
{
	if (n == 0 || n > TOKEN_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
			(s[i] >= 'A' && s[i] <= 'Z') ||
			(s[i] >= '0' && s[i] <= '9') || s[i] == '.' ||
			s[i] == '_' || s[i] == '-'))
			return false;
	return true;
}

/* The next space-separated word of [*p, end) on this line. */
static size_t
word(const char **p, const char *end, const char **ret)
{
	const char *s = *p;

	while (s < end && (*s == ' ' || *s == '\t'))
		s++;
	*ret = s;
	while (s < end && *s != ' ' && *s != '\t')
		s++;
	*p = s;
	return (size_t)(s - *ret);
}

static int
parse_line(const char *s, const char *end, struct token_entry *t)
{
	const char *w;
	size_t n;

	memset(t, 0, sizeof(*t));
	n = word(&s, end, &w);
	if (!name_ok(w, n))
		return -1;
	memcpy(t->name, w, n);
	n = word(&s, end, &w);
	if (n == 4 && memcmp(w, "read", 4) == 0)
		t->role = WEB_ROLE_READ;
	else if (n == 5 && memcmp(w, "admin", 5) == 0)
		t->role = WEB_ROLE_ADMIN;
	else
		return -1;
	n = word(&s, end, &w);
	if (n != 7 + 64 || memcmp(w, "sha256:", 7) != 0)
		return -1;
	for (size_t i = 0; i < 32; i++) {
		int hi = crypto_hexval(w[7 + 2 * i]);
		int lo = crypto_hexval(w[8 + 2 * i]);

		if (hi < 0 || lo < 0)
			return -1;
		t->hash[i] = (uint8_t)(hi << 4 | lo);
	}
	n = word(&s, end, &w);
	return n == 0 ? 0 : -1;
}

int
tokens_parse(const char *text, size_t len, struct token_entry **ret,
    size_t *ret_n, struct ag_err *err)
{
	const char *p = text, *end = text + len;
	struct token_entry *v = NULL;
	size_t n = 0, cap = 0;
	int line = 0;

	*ret = NULL;
	*ret_n = 0;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl != NULL ? nl : end, *q = p;
		struct token_entry t;

		line++;
		while (q < le && (*q == ' ' || *q == '\t'))
			q++;
		if (q == le || *q == '#')
			goto next;
		if (parse_line(q, le, &t) != 0) {
			ag_err_set(err,
			    "line %d: not NAME read|admin sha256:HEX", line);
			goto fail;
		}
		for (size_t i = 0; i < n; i++)
			if (strcmp(v[i].name, t.name) == 0) {
				ag_err_set(err, "line %d: %s is there twice",
				    line, t.name);
				goto fail;
			}
		if (n == TOKENS_MAX) {
			ag_err_set(err, "more than %d tokens", TOKENS_MAX);
			goto fail;
		}
		if (n == cap) {
			size_t nc = cap != 0 ? cap * 2 : 8;
			struct token_entry *nv = realloc(v, nc * sizeof(*v));

			if (nv == NULL) {
				ag_err_set(err, "out of memory");
				goto fail;
			}
			v = nv;
			cap = nc;
		}
		v[n++] = t;
next:
		p = nl != NULL ? nl + 1 : end;
	}
	*ret = v;
	*ret_n = n;
	return 0;
fail:
	free(v);
	return -1;
}

/* Open ${path} for reading and check who may change it; -1: err set. */
static int
open_checked(const char *path, struct stat *st, struct ag_err *err)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);

	if (fd == -1) {
		if (errno == ENOENT)
			return -2;
		return ag_err_set(err, "%s: %s", path,
		    errno == ELOOP ? "is a symlink" : strerror(errno));
	}
	if (fstat(fd, st) != 0 || !S_ISREG(st->st_mode)) {
		(void)close(fd);
		return ag_err_set(err, "%s: not a regular file", path);
	}
	if ((st->st_uid != geteuid() && st->st_uid != 0) ||
	    (st->st_mode & 022) != 0) {
		(void)close(fd);
		return ag_err_set(err,
		    "%s: others may change it (owner %u, mode %04o): whoever "
		    "writes it can make themselves admin; chmod go-w",
		    path, (unsigned)st->st_uid,
		    (unsigned)(st->st_mode & 07777));
	}
	if (st->st_size > TOKENS_FILE_MAX) {
		(void)close(fd);
		return ag_err_set(err, "%s: larger than 1 MiB", path);
	}
	return fd;
}

static int
read_fd(int fd, const char *path, struct token_entry **ret, size_t *ret_n,
    struct ag_err *err)
{
	char *text = malloc(TOKENS_FILE_MAX + 1);
	size_t len = 0;
	ssize_t r;
	int rc;

	if (text == NULL)
		return ag_err_set(err, "out of memory");
	while (len < TOKENS_FILE_MAX &&
	    (r = read(fd, text + len, TOKENS_FILE_MAX - len)) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			free(text);
			return ag_err_set(err, "%s: %s", path,
			    strerror(errno));
		}
		len += (size_t)r;
	}
	rc = tokens_parse(text, len, ret, ret_n, err);
	if (rc != 0) {
		struct ag_err e2 = *err;

		ag_err_set(err, "%s: %s", path, e2.msg);
	}
	free(text);
	return rc;
}

int
tokens_read(const char *path, struct token_entry **ret, size_t *ret_n,
    struct ag_err *err)
{
	struct stat st;
	int fd = open_checked(path, &st, err), rc;

	*ret = NULL;
	*ret_n = 0;
	if (fd == -2)
		return 0;
	if (fd < 0)
		return -1;
	rc = read_fd(fd, path, ret, ret_n, err);
	(void)close(fd);
	return rc;
}

static int
write_all(const char *path, const struct token_entry *v, size_t n,
    struct ag_err *err)
{
	char tmp[4096], hex[65];
	FILE *f;
	int fd;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid()) >=
	    (int)sizeof(tmp))
		return ag_err_set(err, "%s: path too long", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	if (fd == -1)
		return ag_err_set(err, "%s: %s", tmp, strerror(errno));
	if ((f = fdopen(fd, "w")) == NULL) {
		(void)close(fd);
		(void)unlink(tmp);
		return ag_err_set(err, "%s: %s", tmp, strerror(errno));
	}
	(void)fprintf(f,
	    "# vigil API tokens (SHA-256 of each): vigil token add|remove\n");
	for (size_t i = 0; i < n; i++) {
		crypto_hex(v[i].hash, sizeof(v[i].hash), hex);
		(void)fprintf(f, "%s %s sha256:%s\n", v[i].name,
		    tokens_role_name(v[i].role), hex);
	}
	if (fflush(f) != 0 || fsync(fileno(f)) != 0 || ferror(f)) {
		(void)ag_err_set(err, "%s: %s", tmp, strerror(errno));
		(void)fclose(f);
		(void)unlink(tmp);
		return -1;
	}
	if (fclose(f) != 0 || rename(tmp, path) != 0) {
		(void)ag_err_set(err, "%s: %s", path, strerror(errno));
		(void)unlink(tmp);
		return -1;
	}
	return 0;
}

int
tokens_add(const char *path, const char *name, enum web_role role, char *token,
    struct ag_err *err)
{
	struct token_entry *v, *nv;
	uint8_t raw[32];
	char b64[48];
	size_t n;
	int rc;

	if (!name_ok(name, strlen(name)))
		return ag_err_set(err,
		    "token name \"%s\": 1-64 letters, digits, '.', '_', '-'",
		    name);
	if (role != WEB_ROLE_READ && role != WEB_ROLE_ADMIN)
		return ag_err_set(err, "role: read or admin");
	if (tokens_read(path, &v, &n, err) != 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i].name, name) == 0) {
			free(v);
			return ag_err_set(err,
			    "%s: a token named %s exists (vigil token remove "
			    "%s first)",
			    path, name, name);
		}
	if ((nv = realloc(v, (n + 1) * sizeof(*v))) == NULL) {
		free(v);
		return ag_err_set(err, "out of memory");
	}
	v = nv;
	memset(&v[n], 0, sizeof(v[n]));
	(void)snprintf(v[n].name, sizeof(v[n].name), "%s", name);
	v[n].role = role;
	if (crypto_random(raw, sizeof(raw)) != 0 ||
	    crypto_base64url(raw, sizeof(raw), b64, sizeof(b64)) != 43 ||
	    snprintf(token, TOKEN_LEN + 1, "%s%s", TOKEN_PREFIX, b64) !=
		(int)TOKEN_LEN ||
	    crypto_sha256(token, TOKEN_LEN, v[n].hash) != 0) {
		crypto_wipe(raw, sizeof(raw));
		crypto_wipe(b64, sizeof(b64));
		free(v);
		return ag_err_set(err, "cannot make a token");
	}
	crypto_wipe(b64, sizeof(b64));
	crypto_wipe(raw, sizeof(raw));
	rc = write_all(path, v, n + 1, err);
	free(v);
	if (rc != 0)
		crypto_wipe(token, TOKEN_LEN);
	return rc;
}

int
tokens_remove(const char *path, const char *name, struct ag_err *err)
{
	struct token_entry *v;
	size_t n, k = 0;
	int rc;

	if (tokens_read(path, &v, &n, err) != 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i].name, name) != 0)
			v[k++] = v[i];
	if (k == n) {
		free(v);
		return ag_err_set(err, "%s: no token named %s", path, name);
	}
	rc = write_all(path, v, k, err);
	free(v);
	return rc;
}

struct tokens {
	char *path;
	pthread_mutex_t mu;
	struct token_entry *v;
	size_t n;
	/* What was read: a change of any of these reads the file again. */
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime, ctime; /* ctime: a chmod or chown too */
	bool seen, failed;
};

struct tokens *
tokens_open(const char *path)
{
	struct tokens *t = calloc(1, sizeof(*t));

	if (t == NULL || (t->path = strdup(path)) == NULL) {
		free(t);
		return NULL;
	}
	(void)pthread_mutex_init(&t->mu, NULL);
	return t;
}

void
tokens_close(struct tokens *t)
{
	if (t == NULL)
		return;
	free(t->v);
	free(t->path);
	(void)pthread_mutex_destroy(&t->mu);
	free(t);
}

/* Read the file again if it changed; called with the lock held. */
static void
refresh(struct tokens *t)
{
	struct ag_err err = { "" };
	struct token_entry *v;
	struct stat st;
	size_t n;
	int fd;

	if (lstat(t->path, &st) == 0 && t->seen && st.st_dev == t->dev &&
	    st.st_ino == t->ino && st.st_size == t->size &&
	    st.st_mtim.tv_sec == t->mtime.tv_sec &&
	    st.st_mtim.tv_nsec == t->mtime.tv_nsec &&
	    st.st_ctim.tv_sec == t->ctime.tv_sec &&
	    st.st_ctim.tv_nsec == t->ctime.tv_nsec)
		return;
	fd = open_checked(t->path, &st, &err);
	if (fd == -2) {
		(void)ag_err_set(&err, "%s: no such file (vigil token add)",
		    t->path);
		memset(&st, 0, sizeof(st));
	}
	if (fd >= 0) {
		int rc = read_fd(fd, t->path, &v, &n, &err);

		(void)close(fd);
		if (rc == 0) {
			free(t->v);
			t->v = v;
			t->n = n;
			t->failed = false;
			log_msg(LOG_LVL_INFO, "http: %zu token%s from %s", n,
			    n == 1 ? "" : "s", t->path);
			goto seen;
		}
	}
	/* No tokens while the file is bad: refuse rather than guess. */
	free(t->v);
	t->v = NULL;
	t->n = 0;
	if (!t->failed)
		log_msg(LOG_LVL_ERR, "http: tokens: %s", err.msg);
	t->failed = true;
seen:
	t->seen = true;
	t->dev = st.st_dev;
	t->ino = st.st_ino;
	t->size = st.st_size;
	t->mtime = st.st_mtim;
	t->ctime = st.st_ctim;
}

enum web_role
tokens_check(struct tokens *t, const char *token, char *name, size_t namelen)
{
	uint8_t h[32];
	enum web_role role = WEB_ROLE_NONE;

	if (namelen > 0)
		name[0] = '\0';
	if (strlen(token) != TOKEN_LEN ||
	    strncmp(token, TOKEN_PREFIX, sizeof(TOKEN_PREFIX) - 1) != 0 ||
	    crypto_sha256(token, TOKEN_LEN, h) != 0)
		return WEB_ROLE_NONE;
	(void)pthread_mutex_lock(&t->mu);
	refresh(t);
	/* Every entry is compared, so the time says nothing of which. */
	for (size_t i = 0; i < t->n; i++)
		if (crypto_memeq(h, t->v[i].hash, sizeof(h))) {
			role = t->v[i].role;
			(void)snprintf(name, namelen, "%s", t->v[i].name);
		}
	(void)pthread_mutex_unlock(&t->mu);
	return role;
}
