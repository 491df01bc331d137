/*
 * extract_disk.c: the extractor's disk writer (see extract_disk.h).
 *
 * The folder cache: a few slots, each a folder path relative to the
 * target and its open descriptor, resolved with beneath_open_dir() (one
 * openat2() call where the kernel has it; missing folders are made on the
 * way).  Entries of a tar stream come folder by folder, so nearly every
 * entry finds its folder in the cache and costs one *at() call on its
 * last component.  When this writer removes a folder (a folder in the way
 * of another entry), the slots for it and below it are closed.  A slot
 * holds a descriptor, not a path: once resolved, a folder that something
 * else renames or replaces by a symlink is still the folder that was
 * checked.
 *
 * The writer threads take whole small files from a FIFO bounded in bytes;
 * each file is already created and named, so the order in which the
 * threads finish does not matter.  A thread that fails to write a file
 * removes it (by its path, below the target, never through a symlink),
 * records the first error, and the caller's thread sees it at the next
 * call.  Files already queued are still written.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/xattr.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/fs.h>

#include "lib/ag.h"
#include "lib/beneath.h"
#include "backup/extract_disk.h"

#define DIR_SLOTS 8	  /* folder descriptors kept open */
#define IMPLIED_MODE 0755 /* folders made for a deeper entry */
#define REASON_MAX 512
#define ACL_DEFAULT_XATTR "system.posix_acl_default"
#define WAKE_PIECES 16		       /* pieces handed over together */
#define WAKE_BYTES ((size_t)256 << 10) /* ... or this much data */
#define POP_PIECES 4		       /* taken by a writer at once */

/* What to set on a file once its data is written. */
struct meta {
	mode_t mode;
	bool chmod; /* else made with its mode already */
	bool chown;
	uid_t uid;
	gid_t gid;
	struct timespec ts[2];
	unsigned long fset, fclr;
	struct extract_disk_xattr *xattrs; /* copies, in one block */
	size_t nxattrs;
};

/*
 * A regular file being written.  Its data goes to the writer threads in
 * pieces; whoever drops the last reference (the caller's thread at
 * extract_disk_end(), or the thread that wrote the last piece) finishes
 * it: file size, metadata, close, or removal after a failed write.
 */
struct xfile {
	int fd;
	char *path;
	uint64_t size;
	uint64_t end; /* highest byte queued + 1 */
	atomic_uint refs;
	atomic_bool failed; /* a piece could not be written */
	bool append;	    /* a split piece: written in order */
	bool dropped;	    /* left by a failure: only closed */
	bool counted;	    /* in busy (a piece was queued) */
	struct meta meta;
};

/*
 * A contiguous run of one file's data, waiting for a writer thread; its
 * ${cap} bytes of data follow it in the same allocation.
 */
struct piece {
	struct piece *next;
	struct xfile *f;
	uint64_t off;
	size_t len, cap;
	uint8_t *data;
};

/* A folder whose owner, mode, attributes and times are set at the end. */
struct fixup {
	char *path;
	struct meta meta;
};

struct slot {
	char *path;
	size_t len, cap;
	int fd;	      /* -1: empty */
	gid_t newgid; /* of files made in it */
	bool dacl;    /* a default ACL: the umask is not it */
	uint64_t used;
};

struct extract_disk {
	struct extract_disk_conf conf;
	int root;
	gid_t root_gid; /* of files made in the target */
	bool root_dacl;
	uid_t euid;
	gid_t egid;
	mode_t umask;
	bool umask_known;
	struct slot slots[DIR_SLOTS];
	uint64_t tick;
	struct xfile *cur; /* caller's thread */
	struct piece *pc;  /* ... and the piece it is filling */
	struct fixup *fix;
	size_t nfix, fixcap;

	/* Shared with the writer threads. */
	pthread_mutex_t mtx;
	pthread_cond_t work_cv, room_cv;
	struct piece *bhead, *btail; /* a batch being collected (caller) */
	size_t bn, bbytes, bfiles;
	struct piece *head, *tail;
	size_t queued_bytes; /* queued or being written */
	size_t queued;	     /* pieces waiting */
	size_t busy;	     /* files begun, not finished */
	unsigned idle;	     /* writer threads waiting */
	bool stop;
	pthread_t threads[EXTRACT_DISK_WRITERS];
	unsigned nthreads;
	atomic_bool failed;
	struct ag_err err; /* first write error */
	char removed[AG_ERR_SIZE];
	pthread_mutex_t warn_mtx;
};

static void dwarn(struct extract_disk *xd, const char *path, const char *fmt,
    ...) __attribute__((format(printf, 3, 4)));

static void
dwarn(struct extract_disk *xd, const char *path, const char *fmt, ...)
{
	char reason[REASON_MAX];
	va_list ap;

	if (xd->conf.warn == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&xd->warn_mtx);
	xd->conf.warn(xd->conf.cookie, path, reason);
	pthread_mutex_unlock(&xd->warn_mtx);
}

/* Record the first write error; return -1. */
static int
dfail(struct extract_disk *xd, const char *path, int e)
{
	pthread_mutex_lock(&xd->mtx);
	if (!atomic_load(&xd->failed)) {
		(void)ag_err_set(&xd->err, "writing %.100s/%.100s: %s",
		    xd->conf.target, path, strerror(e));
		atomic_store(&xd->failed, true);
	}
	pthread_mutex_unlock(&xd->mtx);
	return -1;
}

static int refuse(char *reason, size_t rlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
refuse(char *reason, size_t rlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, rlen, fmt, ap);
	va_end(ap);
	return EXTRACT_DISK_REFUSED;
}

/* Why a folder on the way could not be used, for a reason. */
static const char *
way_error(int e)
{
	if (e == ELOOP)
		return "a symlink is in the way (never followed)";
	if (e == ENOTDIR)
		return "something that is not a folder is in the way";
	if (e == EXDEV)
		return "the path leaves the target";
	return strerror(e);
}

/* --- Folder descriptors ----------------------------------------------- */

/* Close the slots of ${dir} (length ${n}) and of everything below it. */
static void
slots_drop(struct extract_disk *xd, const char *dir, size_t n)
{
	struct slot *s;

	for (size_t i = 0; i < DIR_SLOTS; i++) {
		s = &xd->slots[i];
		if (s->fd < 0 || s->len < n || memcmp(s->path, dir, n) != 0 ||
		    (s->len > n && s->path[n] != '/'))
			continue;
		close(s->fd);
		s->fd = -1;
		s->len = 0;
	}
}

/*
 * What a file made in the folder ${fd} gets: its group (of a setgid
 * folder), whether a default ACL rather than the umask decides its mode.
 */
static gid_t
new_gid(struct extract_disk *xd, int fd, bool *ret_dacl)
{
	struct stat sb;

	*ret_dacl = fgetxattr(fd, ACL_DEFAULT_XATTR, NULL, 0) > 0;
	if (fstat(fd, &sb) == 0 && (sb.st_mode & S_ISGID))
		return sb.st_gid;
	return xd->egid;
}

/*
 * The folder holding ${path}'s last component: a cached descriptor (the
 * caller does not close it) or the target's.  Store the last component in
 * ${ret_leaf} and, if ${ret_gid} is not NULL, the group of a file made
 * there.  Return the descriptor, or -1 with errno.
 */
static int
folder_of(struct extract_disk *xd, const char *path, bool create,
    const char **ret_leaf, gid_t *ret_gid, bool *ret_dacl)
{
	const char *slash = strrchr(path, '/');
	struct slot *s, *lru = &xd->slots[0];
	size_t n;
	char *nb;
	int fd;

	if (slash == NULL) {
		*ret_leaf = path;
		if (ret_gid != NULL) {
			*ret_gid = xd->root_gid;
			*ret_dacl = xd->root_dacl;
		}
		return xd->root;
	}
	n = (size_t)(slash - path);
	for (size_t i = 0; i < DIR_SLOTS; i++) {
		s = &xd->slots[i];
		if (s->fd >= 0 && s->len == n &&
		    memcmp(s->path, path, n) == 0) {
			s->used = ++xd->tick;
			*ret_leaf = slash + 1;
			if (ret_gid != NULL) {
				*ret_gid = s->newgid;
				*ret_dacl = s->dacl;
			}
			return s->fd;
		}
		if (s->fd < 0 || s->used < lru->used)
			lru = s;
	}
	s = lru;
	if (n + 1 > s->cap) {
		if ((nb = realloc(s->path, n + 1)) == NULL)
			return -1;
		s->path = nb;
		s->cap = n + 1;
	}
	memcpy(s->path, path, n);
	s->path[n] = '\0';
	fd = beneath_open_dir(xd->root, s->path, create, IMPLIED_MODE);
	if (fd < 0)
		return -1;
	if (s->fd >= 0)
		close(s->fd);
	s->fd = fd;
	s->len = n;
	s->used = ++xd->tick;
	s->newgid = new_gid(xd, fd, &s->dacl);
	*ret_leaf = slash + 1;
	if (ret_gid != NULL) {
		*ret_gid = s->newgid;
		*ret_dacl = s->dacl;
	}
	return fd;
}

/*
 * ${leaf} in ${pfd} (the entry ${path}) exists where a new entry is to
 * go.  A folder stays if a folder is wanted (return 1); otherwise it is
 * removed (a folder only if empty) so the entry can be made (return 0),
 * or the entry is refused.
 */
static int
make_room(struct extract_disk *xd, int pfd, const char *leaf, const char *path,
    bool want_dir, char *reason, size_t rlen)
{
	struct stat sb;

	if (fstatat(pfd, leaf, &sb, AT_SYMLINK_NOFOLLOW) != 0)
		return errno == ENOENT ?
		    0 :
		    refuse(reason, rlen, "%s", strerror(errno));
	if (want_dir && S_ISDIR(sb.st_mode))
		return 1;
	if (xd->conf.no_overwrite)
		return refuse(reason, rlen, "already exists (not replaced)");
	if (S_ISDIR(sb.st_mode)) {
		if (unlinkat(pfd, leaf, AT_REMOVEDIR) != 0)
			return refuse(reason, rlen,
			    "a folder that is not "
			    "empty is in the way");
		slots_drop(xd, path, strlen(path));
		return 0;
	}
	if (unlinkat(pfd, leaf, 0) != 0 && errno != ENOENT)
		return refuse(reason, rlen, "cannot replace: %s",
		    strerror(errno));
	return 0;
}

/* --- Metadata --------------------------------------------------------- */

static void
fflags_fd(struct extract_disk *xd, int fd, const char *path,
    const struct meta *m)
{
	int f;

	if (m->fset == 0 && m->fclr == 0)
		return;
	if (ioctl(fd, FS_IOC_GETFLAGS, &f) == 0) {
		f = (int)(((unsigned long)f | m->fset) & ~m->fclr);
		if (ioctl(fd, FS_IOC_SETFLAGS, &f) == 0)
			return;
	}
	dwarn(xd, path, "cannot set file flags: %s", strerror(errno));
}

/*
 * Owner first (chown clears setuid bits and file capabilities), then the
 * mode, extended attributes (ACLs are among them), times, file flags
 * (immutable last of all).
 */
static void
meta_fd(struct extract_disk *xd, int fd, const char *path,
    const struct meta *m)
{
	const struct extract_disk_xattr *x;

	if (m->chown && fchown(fd, m->uid, m->gid) != 0)
		dwarn(xd, path, "cannot set owner %u:%u: %s", (unsigned)m->uid,
		    (unsigned)m->gid, strerror(errno));
	if (m->chmod && fchmod(fd, m->mode) != 0)
		dwarn(xd, path, "cannot set mode %o: %s", (unsigned)m->mode,
		    strerror(errno));
	for (size_t i = 0; i < m->nxattrs; i++) {
		x = &m->xattrs[i];
		if (fsetxattr(fd, x->name, x->value, x->len, 0) != 0)
			dwarn(xd, path,
			    "cannot set extended attribute %s: "
			    "%s",
			    x->name, strerror(errno));
	}
	if (futimens(fd, m->ts) != 0)
		dwarn(xd, path, "cannot set times: %s", strerror(errno));
	fflags_fd(xd, fd, path, m);
}

/* ${m} from ${e}; with ${xattrs}, extended attributes copied in one block. */
static int
meta_from(struct meta *m, const struct extract_disk_entry *e, bool xattrs)
{
	const struct extract_disk_xattr *x;
	size_t need = 0;
	char *p;

	memset(m, 0, sizeof(*m));
	m->mode = e->mode & 07777;
	m->chmod = true;
	m->chown = e->chown;
	m->uid = e->uid;
	m->gid = e->gid;
	m->ts[0] = e->atime;
	m->ts[1] = e->mtime;
	m->fset = e->fflags_set;
	m->fclr = e->fflags_clear;
	if (!xattrs || e->nxattrs == 0)
		return 0;
	for (size_t i = 0; i < e->nxattrs; i++)
		need += sizeof(*x) + strlen(e->xattrs[i].name) + 1 +
		    e->xattrs[i].len;
	if ((m->xattrs = malloc(need)) == NULL)
		return -1;
	p = (char *)(m->xattrs + e->nxattrs);
	for (size_t i = 0; i < e->nxattrs; i++) {
		x = &e->xattrs[i];
		m->xattrs[i].name = strcpy(p, x->name);
		p += strlen(x->name) + 1;
		memcpy(p, x->value, x->len);
		m->xattrs[i].value = p;
		m->xattrs[i].len = x->len;
		p += x->len;
	}
	m->nxattrs = e->nxattrs;
	return 0;
}

/* A file for ${fd}, its path ${path} copied into the same allocation. */
static struct xfile *
xfile_new(const char *path, int fd)
{
	size_t n = strlen(path) + 1;
	struct xfile *f;

	if ((f = calloc(1, sizeof(*f) + n)) == NULL)
		return NULL;
	f->path = memcpy(f + 1, path, n);
	f->fd = fd;
	return f;
}

static void
xfile_free(struct xfile *f)
{
	if (f == NULL)
		return;
	if (f->fd >= 0)
		close(f->fd);
	free(f->meta.xattrs);
	free(f);
}

static void
piece_free(struct piece *pc)
{
	free(pc);
}

/* --- Writer threads --------------------------------------------------- */

static int
write_all(int fd, const uint8_t *buf, size_t len)
{
	ssize_t n;

	while (len > 0) {
		if ((n = write(fd, buf, len)) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

static int
pwrite_all(int fd, const uint8_t *buf, size_t len, uint64_t off)
{
	ssize_t n;

	while (len > 0) {
		if ((n = pwrite(fd, buf, len, (off_t)off)) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		buf += n;
		off += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * The last reference to ${f} is gone: give it its size (a hole at the
 * end) and metadata and close it, or, if a piece failed, remove it.
 */
static void
file_done(struct extract_disk *xd, struct xfile *f)
{
	if (f->dropped) {
		xfile_free(f);
		return;
	}
	if (!f->failed && !f->append && f->end < f->size &&
	    ftruncate(f->fd, (off_t)f->size) != 0) {
		f->failed = true;
		(void)dfail(xd, f->path, errno);
	}
	if (f->failed) {
		close(f->fd);
		f->fd = -1;
		if (beneath_unlink(xd->root, f->path, 0) == 0) {
			pthread_mutex_lock(&xd->mtx);
			if (xd->removed[0] == '\0')
				snprintf(xd->removed, sizeof(xd->removed),
				    "%s", f->path);
			pthread_mutex_unlock(&xd->mtx);
		}
	} else if (f->append) {
		if (futimens(f->fd, f->meta.ts) != 0)
			dwarn(xd, f->path, "cannot set times: %s",
			    strerror(errno));
	} else {
		meta_fd(xd, f->fd, f->path, &f->meta);
	}
	xfile_free(f);
}

/*
 * Drop a reference to ${f}; if it was the last, finish the file.  Return
 * 1 if that took a file off busy (the caller subtracts it, under mtx),
 * else 0.
 */
static size_t
file_unref(struct extract_disk *xd, struct xfile *f)
{
	bool counted;

	if (atomic_fetch_sub(&f->refs, 1) != 1)
		return 0;
	counted = f->counted;
	file_done(xd, f);
	return counted ? 1 : 0;
}

/* Files finished: wake whoever waits for the end. */
static void
files_done(struct extract_disk *xd, size_t n)
{
	pthread_mutex_lock(&xd->mtx);
	xd->busy -= n;
	pthread_cond_broadcast(&xd->room_cv);
	pthread_mutex_unlock(&xd->mtx);
}

static void
write_piece(struct extract_disk *xd, struct piece *pc)
{
	struct xfile *f = pc->f;

	if (!f->failed && pwrite_all(f->fd, pc->data, pc->len, pc->off) != 0) {
		(void)dfail(xd, f->path, errno);
		f->failed = true; /* only its own writers read it */
	}
}

static void *
writer(void *arg)
{
	struct extract_disk *xd = arg;
	struct piece *pc, *list, *next;
	size_t bytes, done, n;

	pthread_mutex_lock(&xd->mtx);
	for (;;) {
		while (xd->head == NULL && !xd->stop) {
			xd->idle++;
			pthread_cond_wait(&xd->work_cv, &xd->mtx);
			xd->idle--;
		}
		if (xd->head == NULL)
			break;
		/* A few pieces at a time: fewer trips through the lock. */
		list = xd->head;
		for (pc = list, n = 1; n < POP_PIECES && pc->next != NULL; n++)
			pc = pc->next;
		if ((xd->head = pc->next) == NULL)
			xd->tail = NULL;
		pc->next = NULL;
		xd->queued -= n;
		pthread_mutex_unlock(&xd->mtx);
		bytes = done = 0;
		for (pc = list; pc != NULL; pc = next) {
			next = pc->next;
			write_piece(xd, pc);
			done += file_unref(xd, pc->f);
			bytes += pc->cap;
			piece_free(pc);
		}
		pthread_mutex_lock(&xd->mtx);
		xd->busy -= done;
		xd->queued_bytes -= bytes;
		pthread_cond_broadcast(&xd->room_cv);
	}
	pthread_mutex_unlock(&xd->mtx);
	return NULL;
}

/* Wake idle writer threads for what is queued (mtx held). */
static void
kick_locked(struct extract_disk *xd)
{
	if (xd->queued > 0 && xd->idle > 0)
		pthread_cond_broadcast(&xd->work_cv);
}

/*
 * Hand the pieces collected on the caller's thread to the writers, and
 * wake idle ones; waits while too much is in flight.
 */
static void
push_batch(struct extract_disk *xd)
{
	if (xd->bhead == NULL)
		return;
	pthread_mutex_lock(&xd->mtx);
	while (xd->queued_bytes > 0 &&
	    xd->queued_bytes + xd->bbytes > EXTRACT_DISK_QUEUE_MAX) {
		kick_locked(xd);
		pthread_cond_wait(&xd->room_cv, &xd->mtx);
	}
	if (xd->tail != NULL)
		xd->tail->next = xd->bhead;
	else
		xd->head = xd->bhead;
	xd->tail = xd->btail;
	xd->queued += xd->bn;
	xd->queued_bytes += xd->bbytes;
	xd->busy += xd->bfiles;
	kick_locked(xd);
	pthread_mutex_unlock(&xd->mtx);
	xd->bhead = xd->btail = NULL;
	xd->bn = xd->bbytes = xd->bfiles = 0;
}

/*
 * Hand ${pc} to the writers: collected into a batch that goes to them
 * whole (one trip through the lock for several small files).
 */
static void
enqueue(struct extract_disk *xd, struct piece *pc)
{
	if (xd->nthreads == 0) {
		write_piece(xd, pc);
		(void)file_unref(xd, pc->f);
		piece_free(pc);
		return;
	}
	pc->next = NULL;
	if (xd->btail != NULL)
		xd->btail->next = pc;
	else
		xd->bhead = pc;
	xd->btail = pc;
	if (!pc->f->counted) {
		pc->f->counted = true;
		xd->bfiles++;
	}
	xd->bn++;
	xd->bbytes += pc->cap;
	if (xd->bn >= WAKE_PIECES || xd->bbytes >= WAKE_BYTES)
		push_batch(xd);
}

/* Wait until every file handed over is finished. */
static void
drain(struct extract_disk *xd)
{
	push_batch(xd);
	pthread_mutex_lock(&xd->mtx);
	while (xd->busy > 0) {
		kick_locked(xd);
		pthread_cond_wait(&xd->room_cv, &xd->mtx);
	}
	pthread_mutex_unlock(&xd->mtx);
}

/**
 * extract_disk_kick(xd):
 * Hand the writer threads the pieces collected so far and wake them (the
 * caller is about to wait for more input).  NULL is a no-op.
 */
void
extract_disk_kick(struct extract_disk *xd)
{
	if (xd != NULL)
		push_batch(xd);
}

/* --- Entries ---------------------------------------------------------- */

static int
begin_file(struct extract_disk *xd, const struct extract_disk_entry *e,
    int pfd, const char *leaf, gid_t gid, bool dacl, char *reason, size_t rlen)
{
	struct xfile *f;
	mode_t mode = 0600;
	bool same_owner, made_so;
	int fd, r;

	/*
	 * A file that gets the owner it would have anyway and a mode the
	 * umask leaves alone (no setuid, setgid or sticky bit) is made with
	 * that mode: no fchown() or fchmod() afterwards.
	 */
	same_owner = !e->chown || (e->uid == xd->euid && e->gid == gid);
	made_so = same_owner && xd->umask_known && !dacl &&
	    (e->mode & (07000 | xd->umask)) == 0;
	if (made_so)
		mode = e->mode & 0777;
	while ((fd = openat(pfd, leaf,
		    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		    mode)) < 0) {
		if (errno != EEXIST)
			return refuse(reason, rlen, "%s", strerror(errno));
		if ((r = make_room(xd, pfd, leaf, e->path, false, reason,
			 rlen)) != 0)
			return r;
	}
	if ((f = xfile_new(e->path, fd)) == NULL) {
		close(fd);
		return dfail(xd, e->path, ENOMEM);
	}
	if (meta_from(&f->meta, e, true) != 0) {
		xfile_free(f);
		return dfail(xd, e->path, ENOMEM);
	}
	f->size = e->size;
	f->meta.chown = !same_owner;
	f->meta.chmod = !made_so;
	atomic_init(&f->refs, 1); /* the caller's, until _end() */
	xd->cur = f;
	return 0;
}

static int
begin_dir(struct extract_disk *xd, const struct extract_disk_entry *e, int pfd,
    const char *leaf, char *reason, size_t rlen)
{
	struct fixup *nf;
	int r;

	while (mkdirat(pfd, leaf, 0700) != 0) {
		if (errno != EEXIST)
			return refuse(reason, rlen, "%s", strerror(errno));
		if ((r = make_room(xd, pfd, leaf, e->path, true, reason,
			 rlen)) == 1) {
			if (xd->conf.no_overwrite)
				return 0; /* an existing folder stays */
			break;
		}
		if (r != 0)
			return r;
	}
	if (xd->nfix == xd->fixcap) {
		size_t ncap = xd->fixcap > 0 ? xd->fixcap * 2 : 256;

		if ((nf = realloc(xd->fix, ncap * sizeof(*nf))) == NULL)
			return dfail(xd, e->path, ENOMEM);
		xd->fix = nf;
		xd->fixcap = ncap;
	}
	nf = &xd->fix[xd->nfix];
	if ((nf->path = strdup(e->path)) == NULL)
		return dfail(xd, e->path, ENOMEM);
	/* Extended attributes too: a chmod() would change an ACL's mask. */
	if (meta_from(&nf->meta, e, true) != 0) {
		free(nf->path);
		return dfail(xd, e->path, ENOMEM);
	}
	xd->nfix++;
	return 0;
}

/* Symlinks, hard links, fifos and devices: made and done at once. */
static int
begin_other(struct extract_disk *xd, const struct extract_disk_entry *e,
    int pfd, const char *leaf, char *reason, size_t rlen)
{
	const char *tleaf = NULL;
	int tfd = -1, rc, r;

	if (e->hardlink) {
		tfd = folder_of(xd, e->link, false, &tleaf, NULL, NULL);
		if (tfd < 0)
			return refuse(reason, rlen, "hard link to %.200s: %s",
			    e->link, way_error(errno));
		/* Its folder may have taken ${pfd}'s slot: look again. */
		if ((pfd = folder_of(xd, e->path, true, &leaf, NULL, NULL)) <
		    0)
			return refuse(reason, rlen, "%s", way_error(errno));
	}
	for (;;) {
		if (e->hardlink)
			rc = linkat(tfd, tleaf, pfd, leaf, 0);
		else if (e->type == S_IFLNK)
			rc = symlinkat(e->link, pfd, leaf);
		else
			rc = mknodat(pfd, leaf, (mode_t)e->type | 0600,
			    e->type == S_IFIFO ? 0 : e->rdev);
		if (rc == 0)
			break;
		if (errno != EEXIST)
			return refuse(reason, rlen, "%s%.200s: %s",
			    e->hardlink ? "hard link to " : "",
			    e->hardlink ? e->link : "", strerror(errno));
		if ((r = make_room(xd, pfd, leaf, e->path, false, reason,
			 rlen)) != 0)
			return r;
	}
	if (e->hardlink)
		return 0; /* the target's inode and metadata */
	if (e->chown &&
	    fchownat(pfd, leaf, e->uid, e->gid, AT_SYMLINK_NOFOLLOW) != 0)
		dwarn(xd, e->path, "cannot set owner %u:%u: %s",
		    (unsigned)e->uid, (unsigned)e->gid, strerror(errno));
	if (e->type != S_IFLNK &&
	    fchmodat(pfd, leaf, e->mode & 07777, AT_SYMLINK_NOFOLLOW) != 0)
		dwarn(xd, e->path, "cannot set mode: %s", strerror(errno));
	{
		struct timespec ts[2] = { e->atime, e->mtime };

		if (utimensat(pfd, leaf, ts, AT_SYMLINK_NOFOLLOW) != 0)
			dwarn(xd, e->path, "cannot set times: %s",
			    strerror(errno));
	}
	return 0;
}

/**
 * extract_disk_begin(xd, e, reason, rlen):
 * Make the entry ${e}.  A regular file is created empty; its data follows
 * through extract_disk_data() and it ends with extract_disk_end().  Return
 * 0, EXTRACT_DISK_REFUSED with a reason in ${reason} (nothing written),
 * or -1 once the writer has failed (extract_disk_finish() says why).
 */
int
extract_disk_begin(struct extract_disk *xd, const struct extract_disk_entry *e,
    char *reason, size_t rlen)
{
	const char *leaf;
	gid_t gid;
	bool dacl;
	int pfd;

	if (atomic_load(&xd->failed))
		return -1;
	if (xd->cur != NULL && extract_disk_end(xd) != 0)
		return -1;
	if ((pfd = folder_of(xd, e->path, true, &leaf, &gid, &dacl)) < 0)
		return refuse(reason, rlen, "%s", way_error(errno));
	switch (e->type) {
	case S_IFREG:
		if (!e->hardlink)
			return begin_file(xd, e, pfd, leaf, gid, dacl, reason,
			    rlen);
		break;
	case S_IFDIR:
		return begin_dir(xd, e, pfd, leaf, reason, rlen);
	case S_IFLNK:
	case S_IFIFO:
	case S_IFCHR:
	case S_IFBLK:
		break;
	default:
		if (!e->hardlink)
			return refuse(reason, rlen, "unsupported type %o",
			    e->type);
	}
	return begin_other(xd, e, pfd, leaf, reason, rlen);
}

/**
 * extract_disk_append(xd, path, mtime, reason, rlen):
 * Reopen the regular file ${path} (made earlier by this writer) to append
 * data through extract_disk_data() (offsets ignored) up to
 * extract_disk_end(), which sets its mtime to ${mtime}.  Return as
 * extract_disk_begin().
 */
int
extract_disk_append(struct extract_disk *xd, const char *path,
    const struct timespec *mtime, char *reason, size_t rlen)
{
	struct xfile *f;
	const char *leaf;
	int pfd, fd;

	if (atomic_load(&xd->failed))
		return -1;
	if (xd->cur != NULL && extract_disk_end(xd) != 0)
		return -1;
	drain(xd); /* the first piece may be queued */
	if ((pfd = folder_of(xd, path, false, &leaf, NULL, NULL)) < 0)
		return refuse(reason, rlen, "cannot append split piece: %s",
		    way_error(errno));
	fd = openat(pfd, leaf, O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return refuse(reason, rlen, "cannot append split piece: %s",
		    strerror(errno));
	if ((f = xfile_new(path, fd)) == NULL) {
		close(fd);
		return dfail(xd, path, ENOMEM);
	}
	f->append = true;
	atomic_init(&f->refs, 1);
	f->meta.ts[0].tv_nsec = UTIME_OMIT;
	f->meta.ts[1] = *mtime;
	xd->cur = f;
	return 0;
}

/* Queue the piece being filled, if any. */
static void
flush_piece(struct extract_disk *xd)
{
	struct piece *pc = xd->pc;

	if (pc == NULL)
		return;
	xd->pc = NULL;
	if (pc->len == 0) {
		piece_free(pc);
		return;
	}
	atomic_fetch_add(&pc->f->refs, 1);
	if (pc->off + pc->len > pc->f->end)
		pc->f->end = pc->off + pc->len;
	enqueue(xd, pc);
}

/**
 * extract_disk_data(xd, buf, len, off):
 * Data of the current file at offset ${off}.  Return 0, or -1 (a write
 * error, or data beyond the entry's size).
 */
int
extract_disk_data(struct extract_disk *xd, const void *buf, size_t len,
    uint64_t off)
{
	struct xfile *f = xd->cur;
	const uint8_t *p = buf;
	struct piece *pc;
	size_t n;

	if (f == NULL || len == 0)
		return 0;
	if (f->append) {
		if (write_all(f->fd, buf, len) == 0)
			return 0;
		f->failed = true;
		return dfail(xd, f->path, errno);
	}
	if (off > f->size || len > f->size - off)
		return dfail(xd, f->path, EFBIG);
	while (len > 0) {
		pc = xd->pc;
		/* A hole or a full piece: start the next one. */
		if (pc != NULL &&
		    (off != pc->off + pc->len || pc->len == pc->cap)) {
			flush_piece(xd);
			pc = NULL;
		}
		if (pc == NULL) {
			n = f->size - off < EXTRACT_DISK_PIECE_MAX ?
			    (size_t)(f->size - off) :
			    EXTRACT_DISK_PIECE_MAX;
			if ((pc = malloc(sizeof(*pc) + n)) == NULL)
				return dfail(xd, f->path, ENOMEM);
			pc->next = NULL;
			pc->f = f;
			pc->off = off;
			pc->len = 0;
			pc->cap = n;
			pc->data = (uint8_t *)(pc + 1);
			xd->pc = pc;
		}
		n = pc->cap - pc->len < len ? pc->cap - pc->len : len;
		memcpy(pc->data + pc->len, p, n);
		pc->len += n;
		p += n;
		off += n;
		len -= n;
	}
	return atomic_load(&xd->failed) ? -1 : 0;
}

/**
 * extract_disk_end(xd):
 * The current file's data is complete: queue it for the writer threads
 * (finished by the one that writes its last piece), or finish it here.
 * Blocks while too much is queued.  Return 0, or -1 once the writer has
 * failed.
 */
int
extract_disk_end(struct extract_disk *xd)
{
	struct xfile *f = xd->cur;

	if (f == NULL)
		return 0;
	flush_piece(xd);
	xd->cur = NULL;
	if (file_unref(xd, f) > 0)
		files_done(xd, 1);
	return atomic_load(&xd->failed) ? -1 : 0;
}

/* Deepest first: a path sorts after the folders above it. */
static int
fixup_cmp(const void *a, const void *b)
{
	return strcmp(((const struct fixup *)b)->path,
	    ((const struct fixup *)a)->path);
}

static void
fixups(struct extract_disk *xd)
{
	struct fixup *f;
	int fd;

	if (xd->nfix == 0)
		return;
	qsort(xd->fix, xd->nfix, sizeof(*xd->fix), fixup_cmp);
	for (size_t i = 0; i < xd->nfix; i++) {
		f = &xd->fix[i];
		fd = beneath_open(xd->root, f->path, O_RDONLY | O_DIRECTORY,
		    0);
		if (fd < 0) {
			dwarn(xd, f->path, "cannot set mode and times: %s",
			    way_error(errno));
			continue;
		}
		meta_fd(xd, fd, f->path, &f->meta);
		close(fd);
	}
}

/* A failure left a file open on the caller's thread: let it go as it is. */
static void
drop_current(struct extract_disk *xd)
{
	struct xfile *f = xd->cur;

	piece_free(xd->pc);
	xd->pc = NULL;
	if (f == NULL)
		return;
	xd->cur = NULL;
	f->dropped = true; /* pieces may be queued: only close */
	if (file_unref(xd, f) > 0)
		files_done(xd, 1);
}

/**
 * extract_disk_finish(xd, ret_removed, rlen, err):
 * Wait for the writer threads, drop a file left open by a failure (it is
 * not removed: the caller knows whether it was cut short), then set the
 * folders' modes, owners and times.  A file a writer thread could not
 * write whole was removed; its path goes to ${ret_removed} ("" if none).
 * Return 0, or -1 with the first write error.
 */
int
extract_disk_finish(struct extract_disk *xd, char *ret_removed, size_t rlen,
    struct ag_err *err)
{
	drop_current(xd);
	drain(xd);
	fixups(xd);
	if (ret_removed != NULL)
		snprintf(ret_removed, rlen, "%s", xd->removed);
	if (atomic_load(&xd->failed))
		return ag_err_set(err, "%s", xd->err.msg);
	return 0;
}

/*
 * The process's umask, from /proc (umask() would change it for every
 * thread while it is read).  Return 0, or -1 if it cannot be known.
 */
static int
read_umask(mode_t *ret)
{
	char line[128];
	unsigned long m;
	FILE *f;
	int rc = -1;

	if ((f = fopen("/proc/self/status", "re")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "Umask: %lo", &m) == 1) {
			*ret = (mode_t)m;
			rc = 0;
			break;
		}
	fclose(f);
	return rc;
}

/**
 * extract_disk_new(conf, err):
 * Open ${conf}->target and start the writer threads.  Return the writer,
 * or NULL with a message.
 */
struct extract_disk *
extract_disk_new(const struct extract_disk_conf *conf, struct ag_err *err)
{
	struct extract_disk *xd;
	long ncpu;
	unsigned n;

	if ((xd = calloc(1, sizeof(*xd))) == NULL) {
		(void)ag_err_set(err, "out of memory");
		return NULL;
	}
	xd->conf = *conf;
	xd->root = -1;
	for (size_t i = 0; i < DIR_SLOTS; i++)
		xd->slots[i].fd = -1;
	pthread_mutex_init(&xd->mtx, NULL);
	pthread_mutex_init(&xd->warn_mtx, NULL);
	pthread_cond_init(&xd->work_cv, NULL);
	pthread_cond_init(&xd->room_cv, NULL);
	if ((xd->root = open(conf->target,
		 O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		(void)ag_err_set(err, "%s: %s", conf->target, strerror(errno));
		extract_disk_free(xd);
		return NULL;
	}
	xd->euid = geteuid();
	xd->egid = getegid();
	xd->root_gid = new_gid(xd, xd->root, &xd->root_dacl);
	xd->umask_known = read_umask(&xd->umask) == 0;
	n = conf->writers;
	if (n == 0) {
		ncpu = sysconf(_SC_NPROCESSORS_ONLN);
		n = ncpu > 0 ? (unsigned)ncpu : 1;
	}
	if (n > EXTRACT_DISK_WRITERS)
		n = EXTRACT_DISK_WRITERS;
	while (xd->nthreads < n &&
	    pthread_create(&xd->threads[xd->nthreads], NULL, writer, xd) == 0)
		xd->nthreads++;
	return xd;
}

/**
 * extract_disk_free(xd):
 * Stop the writer threads (queued files are still written) and free;
 * NULL is a no-op.
 */
void
extract_disk_free(struct extract_disk *xd)
{
	if (xd == NULL)
		return;
	push_batch(xd);
	pthread_mutex_lock(&xd->mtx);
	xd->stop = true;
	pthread_cond_broadcast(&xd->work_cv);
	pthread_mutex_unlock(&xd->mtx);
	for (unsigned i = 0; i < xd->nthreads; i++)
		pthread_join(xd->threads[i], NULL);
	drop_current(xd);
	for (size_t i = 0; i < DIR_SLOTS; i++) {
		if (xd->slots[i].fd >= 0)
			close(xd->slots[i].fd);
		free(xd->slots[i].path);
	}
	for (size_t i = 0; i < xd->nfix; i++) {
		free(xd->fix[i].path);
		free(xd->fix[i].meta.xattrs);
	}
	free(xd->fix);
	if (xd->root >= 0)
		close(xd->root);
	pthread_cond_destroy(&xd->room_cv);
	pthread_cond_destroy(&xd->work_cv);
	pthread_mutex_destroy(&xd->warn_mtx);
	pthread_mutex_destroy(&xd->mtx);
	free(xd);
}
