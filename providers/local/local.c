/*
 * local.c: the local-folder storage backend ("type = local").
 *
 * Objects are files under the configured folder: key "a/b/data.vgl" is
 * "<path>/a/b/data.vgl".  An upload writes "<key>.part" (parent folders
 * created 0700), locked with flock() so two writers cannot share it; commit
 * fsyncs it, renames it over the final name and fsyncs the folder, so an
 * object is either absent or whole, even across a crash.  Leftover ".part"
 * files are what STORAGE_LIST_INCOMPLETE lists and what
 * storage_abort_incomplete() removes.
 *
 * Every path is walked one segment at a time with openat(O_NOFOLLOW) from
 * a descriptor of the folder, so neither a key (already checked by
 * storage.c) nor a symlink planted inside the folder can lead outside it.
 * Keys whose last segment ends in ".part" are refused: they would collide
 * with uploads in progress.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf/conf.h"
#include "lib/ag.h"
#include "providers/storage_backend.h"

#define PART_SUFFIX ".part"
#define PART_SUFFIX_LEN 5
#define GET_BUF (1u << 20) /* get(): bytes per sink call */
#define DEPTH_MAX 64	   /* folders in a key, at most */

struct local {
	char *name;
	char *root;
	int rootfd;
};

struct local_up {
	struct local *l;
	char *key;
	char *leaf; /* last segment of the key */
	char *part; /* leaf + ".part" */
	int dirfd;
	int fd;
};

/* A key split into segments, with a descriptor for each folder. */
struct kpath {
	char buf[STORAGE_KEY_MAX + 1];
	char *seg[DEPTH_MAX + 1];
	int fds[DEPTH_MAX + 1]; /* fds[i]: folder holding seg[i] */
	int n;			/* segments */
	int nfds;		/* descriptors opened (fds[0] dup'd) */
};

static const char *const local_settings[] = { "path", NULL };

static int
lerr(struct local *l, struct ag_err *err, const char *what, const char *key,
    int e)
{

	return (ag_err_set(err, "local[%s]: %s %s: %s", l->name, what, key,
	    strerror(e)));
}

static int
local_conf_parse(const conf_node *group, const char *name, void **ret_tconf,
    struct conf_errs *errs)
{
	struct storage_local_conf *lc;
	const char *path = NULL;

	(void)name;
	if (conf_get_str(errs, group, "path", true, &path) != 1)
		return (-1);
	if (path[0] != '/')
		return (conf_error_at(errs, group, "path",
		    "must be an absolute path"));
	if (strstr(path, "/../") != NULL ||
	    (strlen(path) >= 3 && strcmp(path + strlen(path) - 3, "/..") == 0))
		return (conf_error_at(errs, group, "path",
		    "must not contain \"..\""));
	if ((lc = calloc(1, sizeof(*lc))) == NULL ||
	    (lc->path = strdup(path)) == NULL) {
		free(lc);
		return (conf_error(errs, group, "out of memory"));
	}
	*ret_tconf = lc;
	return (0);
}

static void
local_conf_free(void *tconf)
{
	struct storage_local_conf *lc = tconf;

	if (lc == NULL)
		return;
	free(lc->path);
	free(lc);
}

static int
local_open(void **ret_ctx, const struct storage_conf *conf, struct ag_err *err)
{
	const struct storage_local_conf *lc = conf->tconf;
	struct local *l;
	struct stat sb;

	if ((l = calloc(1, sizeof(*l))) == NULL)
		goto oom0;
	if ((l->name = strdup(conf->name)) == NULL ||
	    (l->root = strdup(lc->path)) == NULL)
		goto oom1;
	if (ag_mkdir_p(l->root, 0700, 0700) != 0) {
		(void)lerr(l, err, "create folder", l->root, errno);
		goto err1;
	}
	l->rootfd = open(l->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (l->rootfd < 0) {
		(void)lerr(l, err, "open folder", l->root, errno);
		goto err1;
	}
	if (fstat(l->rootfd, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
		(void)lerr(l, err, "open folder", l->root, ENOTDIR);
		goto err2;
	}
	*ret_ctx = l;
	return (0);

err2:
	close(l->rootfd);
err1:
	free(l->root);
	free(l->name);
	free(l);
	return (-1);
oom1:
	free(l->root);
	free(l->name);
	free(l);
oom0:
	return (ag_err_set(err, "local[%s]: out of memory", conf->name));
}

static void
local_close(void *ctx)
{
	struct local *l = ctx;

	if (l == NULL)
		return;
	close(l->rootfd);
	free(l->root);
	free(l->name);
	free(l);
}

static void
kpath_close(struct kpath *kp)
{
	int i;

	for (i = 0; i < kp->nfds; i++)
		close(kp->fds[i]);
	kp->nfds = 0;
}

/*
 * Split ${key} into ${kp} and open every folder on the way, creating
 * missing ones (0700, parent fsynced) if ${create}.  Return 0; -1 with
 * errno (ENOENT when a folder is missing, ENOTDIR or ELOOP when a segment
 * is not a folder).
 */
static int
kpath_open(struct local *l, const char *key, int create, struct kpath *kp)
{
	char *p;
	int fd, i;

	kp->n = kp->nfds = 0;
	if (strlen(key) > STORAGE_KEY_MAX) {
		errno = ENAMETOOLONG;
		return (-1);
	}
	strcpy(kp->buf, key);
	for (p = kp->buf;;) {
		if (kp->n > DEPTH_MAX) {
			errno = ENAMETOOLONG;
			return (-1);
		}
		kp->seg[kp->n++] = p;
		if ((p = strchr(p, '/')) == NULL)
			break;
		*p++ = '\0';
	}
	if ((kp->fds[0] = fcntl(l->rootfd, F_DUPFD_CLOEXEC, 0)) < 0)
		return (-1);
	kp->nfds = 1;
	for (i = 0; i < kp->n - 1; i++) {
		fd = openat(kp->fds[i], kp->seg[i],
		    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 && errno == ENOENT && create) {
			if (mkdirat(kp->fds[i], kp->seg[i], 0700) != 0 &&
			    errno != EEXIST)
				goto fail;
			if (fsync(kp->fds[i]) != 0)
				goto fail;
			fd = openat(kp->fds[i], kp->seg[i],
			    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		}
		if (fd < 0)
			goto fail;
		kp->fds[kp->nfds++] = fd;
	}
	return (0);

fail:
	i = errno;
	kpath_close(kp);
	errno = i;
	return (-1);
}

/* The folder holding the last segment, and that segment. */
#define KP_DIR(kp) ((kp)->fds[(kp)->nfds - 1])
#define KP_LEAF(kp) ((kp)->seg[(kp)->n - 1])

/* Remove the now possibly empty folders of ${kp}, deepest first. */
static void
kpath_prune(struct kpath *kp)
{
	int i;

	for (i = kp->nfds - 1; i >= 1; i--)
		if (unlinkat(kp->fds[i - 1], kp->seg[i - 1], AT_REMOVEDIR) !=
		    0)
			break;
}

static int
has_part_suffix(const char *s)
{
	size_t len = strlen(s);

	return (len >= PART_SUFFIX_LEN &&
	    strcmp(s + len - PART_SUFFIX_LEN, PART_SUFFIX) == 0);
}

static int
local_put_begin(void *ctx, const char *key, void **ret_up, struct ag_err *err)
{
	struct local *l = ctx;
	struct local_up *up;
	struct kpath kp;
	size_t n;

	if (has_part_suffix(key))
		return (ag_err_set(err,
		    "local[%s]: put %s: keys ending in "
		    "\"%s\" are reserved",
		    l->name, key, PART_SUFFIX));
	if ((up = calloc(1, sizeof(*up))) == NULL)
		goto oom0;
	up->l = l;
	up->fd = up->dirfd = -1;
	if ((up->key = strdup(key)) == NULL)
		goto oom1;
	if (kpath_open(l, key, 1, &kp) != 0) {
		(void)lerr(l, err, "create folder for", key, errno);
		goto err1;
	}
	/* Keep only the parent folder's descriptor. */
	up->dirfd = fcntl(KP_DIR(&kp), F_DUPFD_CLOEXEC, 0);
	n = strlen(KP_LEAF(&kp));
	if ((up->leaf = strdup(KP_LEAF(&kp))) == NULL ||
	    (up->part = malloc(n + PART_SUFFIX_LEN + 1)) == NULL) {
		kpath_close(&kp);
		goto oom1;
	}
	kpath_close(&kp);
	if (up->dirfd < 0) {
		(void)lerr(l, err, "put", key, errno);
		goto err1;
	}
	memcpy(up->part, up->leaf, n);
	memcpy(up->part + n, PART_SUFFIX, PART_SUFFIX_LEN + 1);

	up->fd = openat(up->dirfd, up->part,
	    O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (up->fd < 0) {
		(void)lerr(l, err, "create", key, errno);
		goto err1;
	}
	if (flock(up->fd, LOCK_EX | LOCK_NB) != 0) {
		if (errno == EWOULDBLOCK)
			(void)ag_err_set(err,
			    "local[%s]: put %s: an upload of "
			    "this object is already in progress",
			    l->name, key);
		else
			(void)lerr(l, err, "lock", key, errno);
		close(up->fd);
		up->fd = -1;
		goto err1;
	}
	/* A stale .part of a crashed run is started afresh. */
	if (ftruncate(up->fd, 0) != 0) {
		(void)lerr(l, err, "write", key, errno);
		goto err2;
	}
	*ret_up = up;
	return (0);

err2:
	(void)unlinkat(up->dirfd, up->part, 0);
	close(up->fd);
err1:
	if (up->dirfd >= 0)
		close(up->dirfd);
	free(up->part);
	free(up->leaf);
	free(up->key);
	free(up);
	return (-1);
oom1:
	if (up->dirfd >= 0)
		close(up->dirfd);
	free(up->part);
	free(up->leaf);
	free(up->key);
	free(up);
oom0:
	return (ag_err_set(err, "local[%s]: out of memory", l->name));
}

static int
local_put_part(void *upp, uint64_t idx, const uint8_t *buf, size_t len,
    struct ag_err *err)
{
	struct local_up *up = upp;
	ssize_t n;

	(void)idx; /* parts come in order here */
	while (len > 0) {
		n = write(up->fd, buf, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return (lerr(up->l, err, "write", up->key, errno));
		}
		buf += n;
		len -= (size_t)n;
	}
	return (0);
}

static void
up_free(struct local_up *up)
{

	if (up->fd >= 0)
		close(up->fd);
	close(up->dirfd);
	free(up->part);
	free(up->leaf);
	free(up->key);
	free(up);
}

static void
local_put_abort(void *upp)
{
	struct local_up *up = upp;
	struct kpath kp;

	if (up == NULL)
		return;
	(void)unlinkat(up->dirfd, up->part, 0);
	/* Remove the folders this upload created, if now empty. */
	if (kpath_open(up->l, up->key, 0, &kp) == 0) {
		kpath_prune(&kp);
		kpath_close(&kp);
	}
	up_free(up);
}

static int
local_put_commit(void *upp, struct ag_err *err)
{
	struct local_up *up = upp;
	int fd = up->fd;

	/* Data on disk before the name points at it. */
	up->fd = -1;
	if (fsync(fd) != 0) {
		(void)lerr(up->l, err, "write", up->key, errno);
		close(fd);
		goto fail;
	}
	if (close(fd) != 0) {
		(void)lerr(up->l, err, "write", up->key, errno);
		goto fail;
	}
	if (renameat(up->dirfd, up->part, up->dirfd, up->leaf) != 0) {
		(void)lerr(up->l, err, "rename", up->key, errno);
		goto fail;
	}
	if (fsync(up->dirfd) != 0) {
		(void)lerr(up->l, err, "sync folder of", up->key, errno);
		up_free(up);
		return (-1);
	}
	up_free(up);
	return (0);

fail:
	local_put_abort(up);
	return (-1);
}

static int
local_get(void *ctx, const char *key, uint64_t off, uint64_t len,
    storage_sink_fn *sink, void *cookie, struct ag_err *err)
{
	struct local *l = ctx;
	struct kpath kp;
	struct stat sb;
	uint8_t *buf;
	uint64_t size, left;
	ssize_t n;
	size_t want;
	int fd, rc = -1;

	if (kpath_open(l, key, 0, &kp) != 0) {
		if (errno == ENOENT)
			return (STORAGE_ABSENT);
		return (lerr(l, err, "read", key, errno));
	}
	fd = openat(KP_DIR(&kp), KP_LEAF(&kp),
	    O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	kpath_close(&kp);
	if (fd < 0) {
		if (errno == ENOENT)
			return (STORAGE_ABSENT);
		return (lerr(l, err, "read", key, errno));
	}
	if (fstat(fd, &sb) != 0) {
		(void)lerr(l, err, "read", key, errno);
		goto err0;
	}
	if (!S_ISREG(sb.st_mode)) {
		(void)ag_err_set(err, "local[%s]: read %s: not a regular file",
		    l->name, key);
		goto err0;
	}
	size = (uint64_t)sb.st_size;
	if (off > size || (len != UINT64_MAX && len > size - off)) {
		(void)ag_err_set(err,
		    "local[%s]: read %s: range %ju+%ju "
		    "is outside the object (%ju bytes)",
		    l->name, key, (uintmax_t)off, (uintmax_t)len,
		    (uintmax_t)size);
		goto err0;
	}
	left = len == UINT64_MAX ? size - off : len;
	want = left < GET_BUF ? (size_t)left : GET_BUF;
	if ((buf = malloc(want > 0 ? want : 1)) == NULL) {
		(void)ag_err_set(err, "local[%s]: out of memory", l->name);
		goto err0;
	}
	while (left > 0) {
		want = left < GET_BUF ? (size_t)left : GET_BUF;
		n = pread(fd, buf, want, (off_t)off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			(void)lerr(l, err, "read", key, errno);
			goto err1;
		}
		if (n == 0) {
			(void)ag_err_set(err,
			    "local[%s]: read %s: object "
			    "shrank while read",
			    l->name, key);
			goto err1;
		}
		if (sink(cookie, buf, (size_t)n) != 0) {
			(void)ag_err_set(err,
			    "local[%s]: read %s: stopped by "
			    "reader",
			    l->name, key);
			goto err1;
		}
		off += (uint64_t)n;
		left -= (uint64_t)n;
	}
	rc = 0;

err1:
	free(buf);
err0:
	close(fd);
	return (rc);
}

struct walk {
	struct local *l;
	const char *prefix;
	size_t plen;
	int incomplete;
	struct objlist *out;
	struct ag_err *err;
	char key[STORAGE_KEY_MAX + PART_SUFFIX_LEN + 2];
};

/*
 * List folder ${dfd} (which it closes), whose key prefix ("a/b/") has
 * ${klen} bytes in w->key.  Return 0 or -1.
 */
static int
walk_dir(struct walk *w, int dfd, size_t klen, int depth)
{
	struct dirent *de;
	struct stat sb;
	DIR *d;
	size_t nlen, cmp;
	int sub, rc = -1;

	if ((d = fdopendir(dfd)) == NULL) {
		close(dfd);
		return (lerr(w->l, w->err, "list", w->prefix, errno));
	}
	for (;;) {
		errno = 0;
		if ((de = readdir(d)) == NULL) {
			if (errno != 0) {
				(void)lerr(w->l, w->err, "list", w->prefix,
				    errno);
				goto out;
			}
			break;
		}
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		nlen = strlen(de->d_name);
		if (klen + nlen + 1 >= sizeof(w->key))
			continue; /* not addressable by a key */
		memcpy(w->key + klen, de->d_name, nlen + 1);
		if (fstatat(dirfd(d), de->d_name, &sb, AT_SYMLINK_NOFOLLOW) !=
		    0) {
			if (errno == ENOENT)
				continue; /* removed meanwhile */
			(void)lerr(w->l, w->err, "list", w->key, errno);
			goto out;
		}
		if (S_ISDIR(sb.st_mode)) {
			/* Descend only where the prefix may still match. */
			w->key[klen + nlen] = '/';
			w->key[klen + nlen + 1] = '\0';
			cmp = klen + nlen + 1 < w->plen ? klen + nlen + 1 :
							  w->plen;
			if (strncmp(w->key, w->prefix, cmp) != 0)
				continue;
			if (depth >= DEPTH_MAX)
				continue;
			sub = openat(dirfd(d), de->d_name,
			    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sub < 0) {
				if (errno == ENOENT)
					continue;
				(void)lerr(w->l, w->err, "list", w->key,
				    errno);
				goto out;
			}
			if (walk_dir(w, sub, klen + nlen + 1, depth + 1) != 0)
				goto out;
			continue;
		}
		if (!S_ISREG(sb.st_mode))
			continue;
		if (has_part_suffix(w->key) != w->incomplete)
			continue;
		if (w->incomplete)
			w->key[klen + nlen - PART_SUFFIX_LEN] = '\0';
		if (strncmp(w->key, w->prefix, w->plen) != 0 ||
		    !storage_key_valid(w->key))
			continue;
		if (objlist_add(w->out, w->key, (uint64_t)sb.st_size,
			sb.st_mtime, w->incomplete ? "part" : NULL) != 0) {
			(void)lerr(w->l, w->err, "list", w->prefix, errno);
			goto out;
		}
	}
	rc = 0;
out:
	closedir(d);
	return (rc);
}

static int
local_list(void *ctx, const char *prefix, unsigned flags, struct objlist *out,
    struct ag_err *err)
{
	struct local *l = ctx;
	struct walk w = { .l = l,
		.prefix = prefix,
		.plen = strlen(prefix),
		.out = out,
		.err = err,
		.incomplete = (flags & STORAGE_LIST_INCOMPLETE) != 0 };
	struct kpath kp;
	const char *slash;
	size_t dlen;
	int dfd;

	/* Start in the folder named by the prefix up to its last '/'. */
	slash = strrchr(prefix, '/');
	dlen = slash == NULL ? 0 : (size_t)(slash - prefix);
	if (dlen == 0) {
		/* A new open file: a dup would share the read position. */
		dfd = openat(l->rootfd, ".",
		    O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd < 0)
			return (lerr(l, err, "list", prefix, errno));
	} else {
		/* "a/b/" opens a/b: walk "a/b/x" and take its folder. */
		memcpy(w.key, prefix, dlen);
		memcpy(w.key + dlen, "/x", 3);
		if (kpath_open(l, w.key, 0, &kp) != 0) {
			if (errno == ENOENT || errno == ENOTDIR ||
			    errno == ELOOP)
				return (0);
			return (lerr(l, err, "list", prefix, errno));
		}
		dfd = openat(KP_DIR(&kp), ".",
		    O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		kpath_close(&kp);
		if (dfd < 0)
			return (lerr(l, err, "list", prefix, errno));
		dlen++;
	}
	w.key[dlen] = '\0';
	return (walk_dir(&w, dfd, dlen, 0));
}

static int
local_remove(void *ctx, const char *key, struct ag_err *err)
{
	struct local *l = ctx;
	struct kpath kp;

	if (has_part_suffix(key))
		return (ag_err_set(err,
		    "local[%s]: remove %s: keys ending "
		    "in \"%s\" are reserved",
		    l->name, key, PART_SUFFIX));
	if (kpath_open(l, key, 0, &kp) != 0) {
		if (errno == ENOENT)
			return (0);
		return (lerr(l, err, "remove", key, errno));
	}
	if (unlinkat(KP_DIR(&kp), KP_LEAF(&kp), 0) != 0 && errno != ENOENT) {
		(void)lerr(l, err, "remove", key, errno);
		kpath_close(&kp);
		return (-1);
	}
	kpath_prune(&kp);
	kpath_close(&kp);
	return (0);
}

static int
local_abort_incomplete(void *ctx, const struct objent *ent, struct ag_err *err)
{
	struct local *l = ctx;
	char part[STORAGE_KEY_MAX + PART_SUFFIX_LEN + 1];
	struct kpath kp;
	int fd;

	if (kpath_open(l, ent->name, 0, &kp) != 0) {
		if (errno == ENOENT)
			return (0);
		return (lerr(l, err, "abort upload of", ent->name, errno));
	}
	snprintf(part, sizeof(part), "%s%s", KP_LEAF(&kp), PART_SUFFIX);
	fd = openat(KP_DIR(&kp), part, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		kpath_close(&kp);
		if (errno == ENOENT)
			return (0);
		return (lerr(l, err, "abort upload of", ent->name, errno));
	}
	/* An upload still running holds the lock: leave it alone. */
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		close(fd);
		kpath_close(&kp);
		return (ag_err_set(err,
		    "local[%s]: abort upload of %s: "
		    "the upload is still in progress",
		    l->name, ent->name));
	}
	if (unlinkat(KP_DIR(&kp), part, 0) != 0 && errno != ENOENT) {
		(void)lerr(l, err, "abort upload of", ent->name, errno);
		close(fd);
		kpath_close(&kp);
		return (-1);
	}
	close(fd);
	kpath_prune(&kp);
	kpath_close(&kp);
	return (0);
}

const struct storage_ops storage_local_ops = {
	.name = "local",
	.caps = STORAGE_CAP_MULTIPART | STORAGE_CAP_RANGE |
	    STORAGE_CAP_ATOMIC | STORAGE_CAP_INCOMPLETE,
	.part_min = 0,
	.part_align = 1,
	.max_parts = 0,
	.settings = local_settings,
	.conf_parse = local_conf_parse,
	.conf_free = local_conf_free,
	.open = local_open,
	.put_begin = local_put_begin,
	.put_part = local_put_part,
	.put_commit = local_put_commit,
	.put_abort = local_put_abort,
	.get = local_get,
	.list = local_list,
	.remove = local_remove,
	.abort_incomplete = local_abort_incomplete,
	.close = local_close,
};
