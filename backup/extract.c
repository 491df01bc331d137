/*
 * extract.c: reading and extracting a pushed tar stream (see extract.h).
 *
 * The ring: extract_write() copies into the free part of a fixed buffer;
 * the reader thread's libarchive read callback hands out the longest
 * contiguous filled run and keeps it "held" until its next call (libarchive
 * may use a block until then), when the run is released.  The writer only
 * ever fills free space, so a held run is never overwritten.
 *
 * Safety does not rest on libarchive alone: every name is checked here
 * first (relative, no "..", not empty), then prefixed with the target's
 * realpath() (so the only symlinks on the way are ones the archive made,
 * which ARCHIVE_EXTRACT_SECURE_SYMLINKS refuses to cross) and handed to
 * archive_write_disk with SECURE_NODOTDOT as well.
 * ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS cannot be used because the
 * rewritten names are absolute; the check above takes its place.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "lib/ag.h"
#include "backup/st_archive.h"
#include "backup/extract.h"

struct extract {
	struct extract_conf conf;
	char *target;			/* realpath, or NULL when listing */
	char **filter;			/* normalized copies, NULL-terminated */
	/* The ring. */
	pthread_mutex_t mtx;
	pthread_cond_t data_cv, space_cv;
	uint8_t *ring;
	size_t cap, head, len, held;
	int eof;			/* writer has finished */
	int abort;			/* extract_free() before finish */
	int done;			/* reader thread has ended */
	int failed;			/* ... with an error */
	pthread_t thread;
	int started;
	/* Reader state (reader thread only, until joined). */
	struct archive *r, *wd;
	char *full;			/* target + "/" + name */
	size_t full_cap;
	char *split_name;		/* logical path of an open split */
	unsigned split_next;
	struct extract_stats stats;
	struct ag_err err;
};

#define WARN_MAX	512

static void
xwarn(struct extract *x, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
xwarn(struct extract *x, const char *path, const char *fmt, ...)
{
	char reason[WARN_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	x->stats.warnings++;
	if (x->conf.on_warning != NULL)
		x->conf.on_warning(x->conf.cookie, path, reason);
}

static la_ssize_t
ring_read(struct archive *r, void *cookie, const void **ret_buf)
{
	struct extract *x = cookie;
	size_t n;

	pthread_mutex_lock(&x->mtx);
	if (x->held > 0) {
		x->head = (x->head + x->held) % x->cap;
		x->len -= x->held;
		x->held = 0;
		pthread_cond_signal(&x->space_cv);
	}
	while (x->len == 0 && !x->eof && !x->abort)
		pthread_cond_wait(&x->data_cv, &x->mtx);
	if (x->abort) {
		pthread_mutex_unlock(&x->mtx);
		archive_set_error(r, ECANCELED, "extraction stopped");
		return (-1);
	}
	n = x->len;
	if (n > x->cap - x->head)
		n = x->cap - x->head;
	x->held = n;
	*ret_buf = x->ring + x->head;
	pthread_mutex_unlock(&x->mtx);
	return ((la_ssize_t)n);
}

/**
 * extract_write(x, buf, len):
 * Push the next ${len} bytes of the tar stream; blocks while the ring is
 * full.  Return 0, or -1 once the reader has failed (details from
 * extract_finish()).  Has the shape of an inflate sink (cookie = ${x}).
 */
int
extract_write(void *cookie, const uint8_t *buf, size_t len)
{
	struct extract *x = cookie;
	size_t tail, n;

	pthread_mutex_lock(&x->mtx);
	x->stats.tar_bytes += len;
	while (len > 0) {
		while (x->len == x->cap && !x->done)
			pthread_cond_wait(&x->space_cv, &x->mtx);
		if (x->done) {
			/* Bytes after the end-of-archive marker are padding. */
			int rc = x->failed ? -1 : 0;

			pthread_mutex_unlock(&x->mtx);
			return (rc);
		}
		tail = (x->head + x->len) % x->cap;
		n = x->cap - x->len;
		if (n > x->cap - tail)
			n = x->cap - tail;
		if (n > len)
			n = len;
		memcpy(x->ring + tail, buf, n);
		x->len += n;
		buf += n;
		len -= n;
		pthread_cond_signal(&x->data_cv);
	}
	pthread_mutex_unlock(&x->mtx);
	return (0);
}

/* A stored name must be relative and never climb: "a/b", not "/a", "a/../b". */
static int
name_safe(const char *p)
{
	const char *s;
	size_t n;

	if (p == NULL || *p == '\0' || *p == '/')
		return (0);
	for (s = p;; s += n + 1) {
		n = strcspn(s, "/");
		if (n == 2 && s[0] == '.' && s[1] == '.')
			return (0);
		if (s[n] == '\0')
			return (1);
	}
}

/* Strip "./" prefixes and trailing '/' in place (archives from other tars). */
static const char *
name_clean(char *p)
{
	size_t n;

	while (p[0] == '.' && p[1] == '/')
		for (p += 2; *p == '/'; p++)
			;
	n = strlen(p);
	while (n > 1 && p[n - 1] == '/')
		p[--n] = '\0';
	return (p);
}

static int
selected(struct extract *x, const char *path)
{
	char **f;
	size_t n;

	if (x->filter == NULL)
		return (1);
	for (f = x->filter; *f != NULL; f++) {
		n = strlen(*f);
		if (strncmp(path, *f, n) == 0 &&
		    (path[n] == '\0' || path[n] == '/'))
			return (1);
	}
	return (0);
}

/* x->full = target "/" ${name}.  Return it, or NULL if out of memory. */
static const char *
full_path(struct extract *x, const char *name)
{
	size_t need = strlen(x->target) + 1 + strlen(name) + 1;
	char *nb;

	if (need > x->full_cap) {
		if ((nb = realloc(x->full, need)) == NULL)
			return (NULL);
		x->full = nb;
		x->full_cap = need;
	}
	snprintf(x->full, x->full_cap, "%s/%s", x->target, name);
	return (x->full);
}

/*
 * The split-piece number of ${e} (its marker xattr), 0 if none.  With
 * ${strip}, remove the marker from the entry's xattrs.
 */
static unsigned
split_piece(struct archive_entry *e, int strip)
{
	struct xa { char *name; void *val; size_t len; } *v = NULL;
	const char *name;
	const void *val;
	size_t len, n = 0, i;
	unsigned piece = 0;
	char num[16];

	if (archive_entry_xattr_reset(e) == 0)
		return (0);
	while (archive_entry_xattr_next(e, &name, &val, &len) == ARCHIVE_OK) {
		if (strcmp(name, ST_ARCHIVE_SPLIT_XATTR) == 0 &&
		    len > 0 && len < sizeof(num)) {
			memcpy(num, val, len);
			num[len] = '\0';
			piece = (unsigned)strtoul(num, NULL, 10);
		}
	}
	if (!strip || piece == 0)
		return (piece);
	/* Rebuild the list without the marker. */
	n = (size_t)archive_entry_xattr_count(e);
	if ((v = calloc(n, sizeof(*v))) == NULL)
		return (piece);
	archive_entry_xattr_reset(e);
	for (i = 0; i < n && archive_entry_xattr_next(e, &name, &val,
	    &len) == ARCHIVE_OK; i++) {
		v[i].name = strdup(name);
		v[i].val = malloc(len > 0 ? len : 1);
		if (v[i].val != NULL)
			memcpy(v[i].val, val, len);
		v[i].len = len;
	}
	archive_entry_xattr_clear(e);
	for (i = 0; i < n; i++) {
		if (v[i].name != NULL && v[i].val != NULL &&
		    strcmp(v[i].name, ST_ARCHIVE_SPLIT_XATTR) != 0)
			archive_entry_xattr_add_entry(e, v[i].name, v[i].val,
			    v[i].len);
		free(v[i].name);
		free(v[i].val);
	}
	free(v);
	return (piece);
}

/* The logical name of piece ${piece} "<name>.%06u", or NULL if not one. */
static char *
split_logical(const char *path, unsigned piece)
{
	char suffix[16];
	size_t n = strlen(path), k;
	char *s;

	k = (size_t)snprintf(suffix, sizeof(suffix), ".%06u", piece);
	if (n <= k || strcmp(path + n - k, suffix) != 0)
		return (NULL);
	if ((s = strndup(path, n - k)) == NULL)
		return (NULL);
	return (s);
}

/* Append the data of the current entry to the joined file. */
static int
append_piece(struct extract *x, struct archive_entry *e, const char *name)
{
	const void *buf;
	size_t size;
	la_int64_t off;
	struct timespec ts[2];
	ssize_t n;
	int fd, r;

	if (full_path(x, name) == NULL)
		return (-1);
	fd = open(x->full, O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		xwarn(x, name, "cannot append split piece: %s",
		    strerror(errno));
		return (0);
	}
	while ((r = archive_read_data_block(x->r, &buf, &size, &off)) ==
	    ARCHIVE_OK) {
		while (size > 0) {
			n = write(fd, buf, size);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0) {
				xwarn(x, name, "write: %s", strerror(errno));
				close(fd);
				return (0);
			}
			buf = (const uint8_t *)buf + n;
			size -= (size_t)n;
			x->stats.bytes += (uint64_t)n;
		}
	}
	ts[0].tv_sec = ts[1].tv_sec = archive_entry_mtime(e);
	ts[0].tv_nsec = ts[1].tv_nsec = archive_entry_mtime_nsec(e);
	(void)futimens(fd, ts);
	close(fd);
	if (r != ARCHIVE_EOF)
		return (-1);
	return (0);
}

/* Copy the current entry's data to disk. */
static int
copy_entry(struct extract *x, const char *name)
{
	const void *buf;
	size_t size;
	la_int64_t off;
	int r;

	while ((r = archive_read_data_block(x->r, &buf, &size, &off)) ==
	    ARCHIVE_OK) {
		/*
		 * libarchive reports a failed write(2) (ENOSPC, EDQUOT, EIO)
		 * as ARCHIVE_WARN; a short file must never look restored, so
		 * any failure to write data stops the restore.
		 */
		if (archive_write_data_block(x->wd, buf, size, off) <
		    ARCHIVE_OK) {
			int e = archive_errno(x->wd);

			(void)ag_err_set(&x->err, "writing %s/%s: %s",
			    x->target, name, e != 0 ? strerror(e) :
			    archive_error_string(x->wd));
			return (-1);
		}
		x->stats.bytes += size;
	}
	if (r != ARCHIVE_EOF)
		return (-1);
	return (0);
}

/* Handle one entry; -1 only for a fatal (stream) error. */
static int
do_entry(struct extract *x, struct archive_entry *e)
{
	struct extract_entry info;
	const char *path, *hl, *sl, *p;
	char *copy = NULL, *logical = NULL, *hlcopy = NULL;
	unsigned piece;
	mode_t type;
	int r, rc = 0;

	x->stats.entries++;
	if ((copy = strdup(archive_entry_pathname(e) != NULL ?
	    archive_entry_pathname(e) : "")) == NULL)
		return (-1);
	path = name_clean(copy);
	hl = archive_entry_hardlink(e);
	sl = archive_entry_symlink(e);
	type = archive_entry_filetype(e);

	piece = split_piece(e, 0);
	if (piece > 0 && (logical = split_logical(path, piece)) == NULL)
		piece = 0;		/* not one of ours: a plain file */

	memset(&info, 0, sizeof(info));
	info.path = logical != NULL ? logical : path;
	info.hardlink = hl != NULL;
	info.link = hl != NULL ? hl : sl;
	info.type = (unsigned)type;
	info.mode = (unsigned)(archive_entry_perm(e) & 07777);
	info.size = (uint64_t)archive_entry_size(e);
	info.mtime = (int64_t)archive_entry_mtime(e);
	info.selected = selected(x, info.path) != 0;
	if (x->conf.on_entry != NULL)
		x->conf.on_entry(x->conf.cookie, &info);

	if (!name_safe(path) || (logical != NULL && !name_safe(logical))) {
		x->stats.refused++;
		xwarn(x, path, "refused: absolute path or \"..\"");
		goto skip;
	}
	if (hl != NULL) {
		if ((hlcopy = strdup(hl)) == NULL) {
			rc = -1;
			goto out;
		}
		hl = name_clean(hlcopy);
		if (!name_safe(hl)) {
			x->stats.refused++;
			xwarn(x, path, "refused: hard link to \"%s\"", hl);
			goto skip;
		}
	}
	if ((type == AE_IFCHR || type == AE_IFBLK) &&
	    !(x->conf.flags & EXTRACT_DEVICES)) {
		x->stats.refused++;
		xwarn(x, path, "refused: device node");
		goto skip;
	}
	if ((x->conf.flags & EXTRACT_LIST_ONLY) || !info.selected)
		goto skip;

	/* Later pieces of a split are appended to the joined file. */
	if (piece > 1) {
		if (x->split_name != NULL && x->split_next == piece &&
		    strcmp(x->split_name, logical) == 0) {
			x->split_next++;
			rc = append_piece(x, e, logical);
			goto out;
		}
		xwarn(x, path, "split piece %u out of sequence; extracted "
		    "under its own name", piece);
		(void)split_piece(e, 1);
		free(logical);
		logical = NULL;
	}
	if (piece == 1) {
		(void)split_piece(e, 1);
		free(x->split_name);
		x->split_name = logical;
		logical = NULL;
		x->split_next = 2;
		path = x->split_name;
	}

	if ((p = full_path(x, path)) == NULL) {
		rc = -1;
		goto out;
	}
	archive_entry_copy_pathname(e, p);
	if (hl != NULL) {
		const char *fp = full_path(x, hl);
		char *t = fp != NULL ? strdup(fp) : NULL;

		if (t == NULL) {
			rc = -1;
			goto out;
		}
		archive_entry_copy_hardlink(e, t);
		free(t);
	}
	r = archive_write_header(x->wd, e);
	if (r == ARCHIVE_FATAL) {
		(void)ag_err_set(&x->err, "%s: %s", path,
		    archive_error_string(x->wd));
		rc = -1;
		goto out;
	}
	if (r < ARCHIVE_WARN) {
		x->stats.refused++;
		xwarn(x, path, "not extracted: %s",
		    archive_error_string(x->wd));
		goto skip;
	}
	if (r == ARCHIVE_WARN)
		xwarn(x, path, "%s", archive_error_string(x->wd));
	x->stats.extracted++;
	if (archive_entry_size(e) > 0 && (rc = copy_entry(x, path)) != 0)
		goto out;
	r = archive_write_finish_entry(x->wd);
	if (r == ARCHIVE_FATAL) {
		(void)ag_err_set(&x->err, "%s: %s", path,
		    archive_error_string(x->wd));
		rc = -1;
	} else {
		if (r < ARCHIVE_OK)
			xwarn(x, path, "%s", archive_error_string(x->wd));
		if (x->conf.on_entry_done != NULL)
			x->conf.on_entry_done(x->conf.cookie);
	}
	goto out;

skip:
	if (x->conf.flags & EXTRACT_LIST_ONLY) {
		/* Read the data through: it is part of checking the stream. */
		const void *buf;
		size_t size;
		la_int64_t off;

		while ((r = archive_read_data_block(x->r, &buf, &size,
		    &off)) == ARCHIVE_OK)
			x->stats.bytes += size;
		if (r != ARCHIVE_EOF)
			rc = -1;
	} else if (archive_read_data_skip(x->r) != ARCHIVE_OK) {
		rc = -1;
	}
out:
	free(hlcopy);
	free(logical);
	free(copy);
	return (rc);
}

static void *
reader(void *arg)
{
	struct extract *x = arg;
	struct archive_entry *e;
	int r, failed = 0;

	/* Opening reads the first block already: on this thread. */
	if (archive_read_open(x->r, x, NULL, ring_read, NULL) != ARCHIVE_OK) {
		(void)ag_err_set(&x->err, "not a tar stream: %s",
		    archive_error_string(x->r));
		failed = 1;
	}
	while (!failed) {
		r = archive_read_next_header(x->r, &e);
		if (r == ARCHIVE_EOF)
			break;
		if (r == ARCHIVE_FATAL) {
			(void)ag_err_set(&x->err, "corrupt or truncated "
			    "archive: %s", archive_error_string(x->r));
			failed = 1;
			break;
		}
		if (r < ARCHIVE_WARN) {
			xwarn(x, "(archive)", "%s", archive_error_string(x->r));
			continue;
		}
		if (r == ARCHIVE_WARN)
			xwarn(x, archive_entry_pathname(e) != NULL ?
			    archive_entry_pathname(e) : "(archive)", "%s",
			    archive_error_string(x->r));
		if (do_entry(x, e) != 0) {
			if (x->err.msg[0] == '\0')
				(void)ag_err_set(&x->err, "corrupt or "
				    "truncated archive: %s",
				    archive_error_string(x->r) != NULL ?
				    archive_error_string(x->r) :
				    "out of memory");
			failed = 1;
			break;
		}
	}
	/* Folder times and modes are set last, by close. */
	if (x->wd != NULL && archive_write_close(x->wd) != ARCHIVE_OK &&
	    !failed) {
		(void)ag_err_set(&x->err, "%s", archive_error_string(x->wd));
		failed = 1;
	}
	pthread_mutex_lock(&x->mtx);
	x->done = 1;
	x->failed = failed;
	pthread_cond_broadcast(&x->space_cv);
	pthread_mutex_unlock(&x->mtx);
	return (NULL);
}

/* mkdir -p ${path} (new folders 0700). */
static int
mkdir_p(const char *path)
{
	char buf[PATH_MAX];
	char *p;

	if (strlen(path) >= sizeof(buf)) {
		errno = ENAMETOOLONG;
		return (-1);
	}
	strcpy(buf, path);
	for (p = buf + 1;; p++) {
		if (*p == '/' || *p == '\0') {
			char c = *p;

			*p = '\0';
			if (mkdir(buf, 0700) != 0 && errno != EEXIST)
				return (-1);
			*p = c;
			if (c == '\0')
				return (0);
		}
	}
}

/**
 * extract_new(conf, err):
 * Check the target (unless EXTRACT_LIST_ONLY), start the reader thread.
 * Return the extractor, or NULL with a message.
 */
struct extract *
extract_new(const struct extract_conf *conf, struct ag_err *err)
{
	struct extract *x;
	size_t i, n = 0;
	int flags;

	if ((x = calloc(1, sizeof(*x))) == NULL)
		goto oom;
	x->conf = *conf;
	pthread_mutex_init(&x->mtx, NULL);
	pthread_cond_init(&x->data_cv, NULL);
	pthread_cond_init(&x->space_cv, NULL);
	x->cap = conf->ring_size != 0 ? conf->ring_size : EXTRACT_RING_DEFAULT;
	if ((x->ring = malloc(x->cap)) == NULL)
		goto oom1;

	if (conf->paths != NULL) {
		while (conf->paths[n] != NULL)
			n++;
		if ((x->filter = calloc(n + 1, sizeof(*x->filter))) == NULL)
			goto oom1;
		for (i = 0; i < n; i++) {
			const char *s = conf->paths[i];
			char *c;

			while (*s == '/')
				s++;
			if ((c = strdup(s)) == NULL)
				goto oom1;
			x->filter[i] = c;
			s = name_clean(c);
			memmove(c, s, strlen(s) + 1);
		}
	}

	if (!(conf->flags & EXTRACT_LIST_ONLY)) {
		if (conf->target == NULL || conf->target[0] == '\0') {
			(void)ag_err_set(err, "no target folder");
			goto err1;
		}
		if (mkdir_p(conf->target) != 0) {
			(void)ag_err_set(err, "%s: %s", conf->target,
			    strerror(errno));
			goto err1;
		}
		/* The target's own symlinks resolved once, here. */
		if ((x->target = realpath(conf->target, NULL)) == NULL) {
			(void)ag_err_set(err, "%s: %s", conf->target,
			    strerror(errno));
			goto err1;
		}
		if (strcmp(x->target, "/") == 0)
			x->target[0] = '\0';	/* "" + "/" + name */
		if ((x->wd = archive_write_disk_new()) == NULL)
			goto oom1;
		flags = ARCHIVE_EXTRACT_SECURE_NODOTDOT |
		    ARCHIVE_EXTRACT_SECURE_SYMLINKS | ARCHIVE_EXTRACT_TIME |
		    ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_ACL |
		    ARCHIVE_EXTRACT_XATTR | ARCHIVE_EXTRACT_FFLAGS;
		if (geteuid() == 0 && !(conf->flags & EXTRACT_NO_OWNER))
			flags |= ARCHIVE_EXTRACT_OWNER;
		if (conf->flags & EXTRACT_NO_OVERWRITE)
			flags |= ARCHIVE_EXTRACT_NO_OVERWRITE;
		if (archive_write_disk_set_options(x->wd, flags) !=
		    ARCHIVE_OK ||
		    archive_write_disk_set_standard_lookup(x->wd) !=
		    ARCHIVE_OK) {
			(void)ag_err_set(err, "%s",
			    archive_error_string(x->wd));
			goto err1;
		}
	}

	if ((x->r = archive_read_new()) == NULL)
		goto oom1;
	if (archive_read_support_format_tar(x->r) != ARCHIVE_OK) {
		(void)ag_err_set(err, "%s", archive_error_string(x->r));
		goto err1;
	}
	if (pthread_create(&x->thread, NULL, reader, x) != 0) {
		(void)ag_err_set(err, "cannot start the extract thread");
		goto err1;
	}
	x->started = 1;
	return (x);

oom1:
	(void)ag_err_set(err, "out of memory");
err1:
	extract_free(x);
	return (NULL);
oom:
	(void)ag_err_set(err, "out of memory");
	return (NULL);
}

/**
 * extract_finish(x, ret_stats, err):
 * End of stream: wait for the reader, finish directory times and modes.
 * Store the counters in ${ret_stats} (may be NULL).  Return 0, or -1 with
 * a message (a corrupt or truncated archive, a write error).
 */
int
extract_finish(struct extract *x, struct extract_stats *ret_stats,
    struct ag_err *err)
{

	if (x->started) {
		pthread_mutex_lock(&x->mtx);
		x->eof = 1;
		pthread_cond_signal(&x->data_cv);
		pthread_mutex_unlock(&x->mtx);
		pthread_join(x->thread, NULL);
		x->started = 0;
	}
	if (ret_stats != NULL)
		*ret_stats = x->stats;
	if (x->failed)
		return (ag_err_set(err, "%s", x->err.msg));
	return (0);
}

/* extract_free(x): stop the reader if running, free; NULL is a no-op. */
void
extract_free(struct extract *x)
{
	size_t i;

	if (x == NULL)
		return;
	if (x->started) {
		pthread_mutex_lock(&x->mtx);
		x->abort = 1;
		pthread_cond_broadcast(&x->data_cv);
		pthread_mutex_unlock(&x->mtx);
		pthread_join(x->thread, NULL);
	}
	if (x->r != NULL)
		archive_read_free(x->r);
	if (x->wd != NULL)
		archive_write_free(x->wd);
	for (i = 0; x->filter != NULL && x->filter[i] != NULL; i++)
		free(x->filter[i]);
	free(x->filter);
	free(x->split_name);
	free(x->full);
	free(x->target);
	free(x->ring);
	pthread_cond_destroy(&x->space_cv);
	pthread_cond_destroy(&x->data_cv);
	pthread_mutex_destroy(&x->mtx);
	free(x);
}
