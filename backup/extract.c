/*
 * extract.c: reading and extracting a pushed tar stream (see extract.h).
 *
 * The ring: extract_write() copies into the free part of a fixed buffer
 * (outside the lock: only the one writer touches free space); the reader
 * thread's libarchive read callback hands out the longest contiguous
 * filled run and keeps it "held" until its next call (libarchive may use a
 * block until then), when the run is released.  With a tap, a second
 * thread reads the same bytes behind its own position; space is free once
 * both have passed it.  Positions count bytes since the start, so the
 * filled part is [min(reader, tap), written).  The writer only ever fills
 * free space, so a held run is never overwritten.  Once the reader has
 * seen the end of the archive, later bytes are for the tap alone.
 *
 * libarchive only reads here.  Every name is checked and normalised first
 * (beneath_clean(): relative, no "..", not the target itself), then the
 * entry is translated (owner names looked up, permission bits reduced to
 * what the caller may set, extended attributes and ACLs as the xattrs
 * Linux stores them in, file flags) and handed to the disk writer
 * (extract_disk.h), which resolves every name below the target's
 * descriptor without following a symlink and writes small files on
 * several threads.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pthread.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "lib/ag.h"
#include "lib/beneath.h"
#include "backup/extract_disk.h"
#include "backup/st_archive.h"
#include "backup/extract.h"

#define NAME_CACHE 8 /* owner names looked up, kept */
#define ACL_MAX 64   /* entries per ACL */
#define XATTR_CAP "security.capability"
#define ACL_ACCESS "system.posix_acl_access"
#define ACL_DEFAULT "system.posix_acl_default"

/* An owner name and the id it has on this system. */
struct idname {
	char name[64];
	unsigned id;
};

struct extract {
	struct extract_conf conf;
	char *target;  /* realpath, or NULL when listing */
	char **filter; /* normalized copies, NULL-terminated */
	/* The ring. */
	pthread_mutex_t mtx;
	pthread_cond_t data_cv, space_cv, tap_cv;
	uint8_t *ring;
	size_t cap, held;
	uint64_t wpos; /* bytes written */
	uint64_t rpos; /* ... released by the reader */
	uint64_t tpos; /* ... passed to the tap */
	int eof;       /* writer has finished */
	int abort;     /* extract_free() before finish */
	int done;      /* reader thread has ended */
	int failed;    /* ... with an error */
	pthread_t thread, tap_thread;
	int started, tap_started;
	pthread_mutex_t warn_mtx; /* warnings come from several threads */
	/* Reader state (reader thread only, until joined). */
	struct archive *r;
	struct extract_disk *xd;
	bool owner;	 /* set owners (root) */
	bool privileged; /* capabilities, setuid of others */
	uid_t euid;
	gid_t egid;
	struct idname users[NAME_CACHE], groups[NAME_CACHE];
	size_t nusers, ngroups;
	struct extract_disk_xattr *xattrs;
	size_t xattr_cap;
	uint8_t acl[2][4 + ACL_MAX * 8];
	bool disk_failed; /* the writer has the message */
	char *split_name; /* logical path of an open split */
	unsigned split_next;
	struct extract_stats stats;
	struct ag_err err;
};

#define WARN_MAX 512

static void xwarn(struct extract *x, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
xwarn(struct extract *x, const char *path, const char *fmt, ...)
{
	char reason[WARN_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&x->warn_mtx);
	x->stats.warnings++;
	if (x->conf.on_warning != NULL)
		x->conf.on_warning(x->conf.cookie, path, reason);
	pthread_mutex_unlock(&x->warn_mtx);
}

/* The disk writer's warnings, from any of its threads. */
static void
disk_warn(void *cookie, const char *path, const char *reason)
{
	xwarn(cookie, path, "%s", reason);
}

static la_ssize_t
ring_read(struct archive *r, void *cookie, const void **ret_buf)
{
	struct extract *x = cookie;
	size_t n, off;

	extract_disk_kick(x->xd); /* files collected so far: go */
	pthread_mutex_lock(&x->mtx);
	if (x->held > 0) {
		x->rpos += x->held;
		x->held = 0;
		pthread_cond_signal(&x->space_cv);
	}
	while (x->wpos == x->rpos && !x->eof && !x->abort)
		pthread_cond_wait(&x->data_cv, &x->mtx);
	if (x->abort) {
		pthread_mutex_unlock(&x->mtx);
		archive_set_error(r, ECANCELED, "extraction stopped");
		return (-1);
	}
	off = (size_t)(x->rpos % x->cap);
	n = (size_t)(x->wpos - x->rpos);
	if (n > x->cap - off)
		n = x->cap - off;
	x->held = n;
	*ret_buf = x->ring + off;
	pthread_mutex_unlock(&x->mtx);
	return ((la_ssize_t)n);
}

/* The tap's thread: every byte written, in order, behind its position. */
static void *
tap_main(void *arg)
{
	struct extract *x = arg;
	size_t n, off;

	pthread_mutex_lock(&x->mtx);
	for (;;) {
		while (x->wpos == x->tpos && !x->eof && !x->abort)
			pthread_cond_wait(&x->tap_cv, &x->mtx);
		if (x->abort || x->wpos == x->tpos)
			break;
		off = (size_t)(x->tpos % x->cap);
		n = (size_t)(x->wpos - x->tpos);
		if (n > x->cap - off)
			n = x->cap - off;
		pthread_mutex_unlock(&x->mtx);
		x->conf.tap(x->conf.cookie, x->ring + off, n);
		pthread_mutex_lock(&x->mtx);
		x->tpos += n;
		pthread_cond_signal(&x->space_cv);
	}
	pthread_mutex_unlock(&x->mtx);
	return (NULL);
}

/* Bytes of the ring no consumer still needs (mtx held). */
static size_t
ring_free(const struct extract *x)
{
	uint64_t low = x->rpos;

	if (x->conf.tap != NULL && x->tpos < low)
		low = x->tpos;
	return (x->cap - (size_t)(x->wpos - low));
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
		while (ring_free(x) == 0 && !x->done)
			pthread_cond_wait(&x->space_cv, &x->mtx);
		if (x->done && (x->failed || x->conf.tap == NULL)) {
			/* Bytes after the end-of-archive marker are padding. */
			int rc = x->failed ? -1 : 0;

			pthread_mutex_unlock(&x->mtx);
			return (rc);
		}
		if (x->done) {
			/* The reader has finished: the rest is the tap's. */
			x->rpos = x->wpos;
			x->held = 0;
			while (ring_free(x) == 0)
				pthread_cond_wait(&x->space_cv, &x->mtx);
		}
		tail = (size_t)(x->wpos % x->cap);
		n = ring_free(x);
		if (n > x->cap - tail)
			n = x->cap - tail;
		if (n > len)
			n = len;
		/* Free space is the writer's alone: copy unlocked. */
		pthread_mutex_unlock(&x->mtx);
		memcpy(x->ring + tail, buf, n);
		pthread_mutex_lock(&x->mtx);
		x->wpos += n;
		buf += n;
		len -= n;
		pthread_cond_signal(&x->data_cv);
		if (x->conf.tap != NULL)
			pthread_cond_signal(&x->tap_cv);
	}
	pthread_mutex_unlock(&x->mtx);
	return (0);
}

/*
 * Normalise the stored name ${p} in place (beneath_clean()).  Return 0, or
 * -1 with the reason it is refused in ${ret_why}.
 */
static int
name_check(char *p, const char **ret_why)
{
	size_t n;
	const char *s;

	if (*p == '/')
		goto climbs;
	for (s = p;; s += n + 1) {
		n = strcspn(s, "/");
		if (n == 2 && s[0] == '.' && s[1] == '.')
			goto climbs;
		if (s[n] == '\0')
			break;
	}
	if (beneath_clean(p) == 0)
		return (0);
	*ret_why = "names the target folder itself";
	return (-1);
climbs:
	*ret_why = "absolute path or \"..\"";
	return (-1);
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


/* The split-piece number of ${e} (its marker xattr), 0 if none. */
static unsigned
split_piece(struct archive_entry *e)
{
	const char *name;
	const void *val;
	size_t len;
	unsigned piece = 0;
	char num[16];

	if (archive_entry_xattr_reset(e) == 0)
		return (0);
	while (archive_entry_xattr_next(e, &name, &val, &len) == ARCHIVE_OK) {
		if (strcmp(name, ST_ARCHIVE_SPLIT_XATTR) == 0 && len > 0 &&
		    len < sizeof(num)) {
			memcpy(num, val, len);
			num[len] = '\0';
			piece = (unsigned)strtoul(num, NULL, 10);
		}
	}
	return (piece);
}

/*
 * The logical name of piece ${piece} "<name>.%06u" (clean), or NULL if
 * not one.
 */
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
	if (beneath_clean(s) != 0) {
		free(s);
		return (NULL);
	}
	return (s);
}

/*
 * The id of the user (${user}) or group named ${name} here, as the
 * standard lookup of libarchive's disk writer gives it: the name's id if
 * the name exists, else ${id} from the archive.
 */
static unsigned
owner_id(struct extract *x, bool user, const char *name, unsigned id)
{
	struct idname *c = user ? x->users : x->groups;
	size_t *n = user ? &x->nusers : &x->ngroups, i;
	char buf[4096];
	struct passwd pw, *pwp = NULL;
	struct group gr, *grp = NULL;
	unsigned found = id;

	if (name == NULL || *name == '\0' || strlen(name) >= sizeof(c->name))
		return (id);
	for (i = 0; i < *n; i++)
		if (strcmp(c[i].name, name) == 0)
			return (c[i].id);
	if (user && getpwnam_r(name, &pw, buf, sizeof(buf), &pwp) == 0 &&
	    pwp != NULL)
		found = (unsigned)pwp->pw_uid;
	if (!user && getgrnam_r(name, &gr, buf, sizeof(buf), &grp) == 0 &&
	    grp != NULL)
		found = (unsigned)grp->gr_gid;
	i = *n < NAME_CACHE ? (*n)++ : (size_t)(found % NAME_CACHE);
	snprintf(c[i].name, sizeof(c[i].name), "%s", name);
	c[i].id = found;
	return (found);
}

/* Sort key of a Linux ACL entry: tag, then id. */
static int
acl_cmp(const void *a, const void *b)
{
	const uint8_t *p = a, *q = b;
	unsigned ta = (unsigned)p[0] | (unsigned)p[1] << 8;
	unsigned tb = (unsigned)q[0] | (unsigned)q[1] << 8;
	uint32_t ia = (uint32_t)p[4] | (uint32_t)p[5] << 8 |
	    (uint32_t)p[6] << 16 | (uint32_t)p[7] << 24;
	uint32_t ib = (uint32_t)q[4] | (uint32_t)q[5] << 8 |
	    (uint32_t)q[6] << 16 | (uint32_t)q[7] << 24;

	if (ta != tb)
		return (ta < tb ? -1 : 1);
	return (ia < ib ? -1 : ia > ib);
}

/*
 * The POSIX ACL of ${e} of ${type} (ARCHIVE_ENTRY_ACL_TYPE_ACCESS or
 * _DEFAULT) in the xattr form Linux stores it in (version 2, then tag,
 * permissions, id per entry, little-endian), into x->acl[${slot}].
 * Return its length, 0 if the entry has none (or too many).
 */
static size_t
acl_xattr(struct extract *x, struct archive_entry *e, int type, int slot)
{
	uint8_t *b = x->acl[slot], *p;
	int t, perm, tag, qual;
	const char *name;
	unsigned ltag, id;
	size_t n = 0;

	if (archive_entry_acl_reset(e, type) <= 0)
		return (0);
	b[0] = 2;
	b[1] = b[2] = b[3] = 0;
	while (archive_entry_acl_next(e, type, &t, &perm, &tag, &qual,
		   &name) == ARCHIVE_OK) {
		id = 0xffffffffu;
		switch (tag) {
		case ARCHIVE_ENTRY_ACL_USER_OBJ:
			ltag = 0x01;
			break;
		case ARCHIVE_ENTRY_ACL_USER:
			ltag = 0x02;
			id = owner_id(x, true, name, (unsigned)qual);
			break;
		case ARCHIVE_ENTRY_ACL_GROUP_OBJ:
			ltag = 0x04;
			break;
		case ARCHIVE_ENTRY_ACL_GROUP:
			ltag = 0x08;
			id = owner_id(x, false, name, (unsigned)qual);
			break;
		case ARCHIVE_ENTRY_ACL_MASK:
			ltag = 0x10;
			break;
		case ARCHIVE_ENTRY_ACL_OTHER:
			ltag = 0x20;
			break;
		default:
			return (0); /* NFSv4: not on Linux */
		}
		if (n == ACL_MAX)
			return (0);
		p = b + 4 + n++ * 8;
		p[0] = (uint8_t)ltag;
		p[1] = 0;
		p[2] = (uint8_t)(perm & 07);
		p[3] = 0;
		p[4] = (uint8_t)id;
		p[5] = (uint8_t)(id >> 8);
		p[6] = (uint8_t)(id >> 16);
		p[7] = (uint8_t)(id >> 24);
	}
	qsort(b + 4, n, 8, acl_cmp);
	return (n > 0 ? 4 + n * 8 : 0);
}

/* Add one attribute to x->xattrs[*${n}]; -1 if out of memory. */
static int
xattr_add(struct extract *x, size_t *n, const char *name, const void *val,
    size_t len)
{
	struct extract_disk_xattr *nv;

	if (*n == x->xattr_cap) {
		size_t ncap = x->xattr_cap > 0 ? x->xattr_cap * 2 : 8;

		if ((nv = realloc(x->xattrs, ncap * sizeof(*nv))) == NULL)
			return (-1);
		x->xattrs = nv;
		x->xattr_cap = ncap;
	}
	x->xattrs[(*n)++] = (struct extract_disk_xattr){ name, val, len };
	return (0);
}

/*
 * ${d} from ${e} for the clean name ${path}: owners (when restored),
 * permission bits the caller may set, extended attributes without our
 * split marker (and without file capabilities unless privileged), ACLs,
 * times, file flags.  Return 0, or -1 if out of memory.
 */
static int
disk_entry(struct extract *x, struct archive_entry *e, const char *path,
    struct extract_disk_entry *d)
{
	const char *name;
	const void *val;
	size_t len, n = 0, al;
	unsigned long fset, fclr;
	mode_t mode = archive_entry_perm(e) & 07777;

	memset(d, 0, sizeof(*d));
	d->path = path;
	d->type = archive_entry_filetype(e);
	d->uid = (uid_t)owner_id(x, true, archive_entry_uname(e),
	    (unsigned)archive_entry_uid(e));
	d->gid = (gid_t)owner_id(x, false, archive_entry_gname(e),
	    (unsigned)archive_entry_gid(e));
	d->chown = x->owner;
	/*
	 * setuid and setgid only as root restoring owners, or for a file
	 * that ends up with the owner it had; never without privileges.
	 */
	if (!x->privileged)
		mode &= ~(mode_t)(S_ISUID | S_ISGID);
	else if (!x->owner) {
		if (d->uid != x->euid)
			mode &= ~(mode_t)S_ISUID;
		if (d->gid != x->egid)
			mode &= ~(mode_t)S_ISGID;
	}
	d->mode = mode;
	d->atime.tv_nsec = d->mtime.tv_nsec = UTIME_NOW;
	if (archive_entry_atime_is_set(e)) {
		d->atime.tv_sec = archive_entry_atime(e);
		d->atime.tv_nsec = archive_entry_atime_nsec(e);
	}
	if (archive_entry_mtime_is_set(e)) {
		d->mtime.tv_sec = archive_entry_mtime(e);
		d->mtime.tv_nsec = archive_entry_mtime_nsec(e);
	}
	d->rdev = archive_entry_rdev(e);
	d->size = archive_entry_size(e) > 0 ? (uint64_t)archive_entry_size(e) :
					      0;
	archive_entry_fflags(e, &fset, &fclr);
	d->fflags_set = fset;
	d->fflags_clear = fclr;
	if (archive_entry_xattr_reset(e) > 0)
		while (archive_entry_xattr_next(e, &name, &val, &len) ==
		    ARCHIVE_OK) {
			if (strcmp(name, ST_ARCHIVE_SPLIT_XATTR) == 0 ||
			    (strcmp(name, XATTR_CAP) == 0 &&
				!(x->privileged && x->euid == 0)))
				continue;
			if (xattr_add(x, &n, name, val, len) != 0)
				return (-1);
		}
	if ((al = acl_xattr(x, e, ARCHIVE_ENTRY_ACL_TYPE_ACCESS, 0)) > 0 &&
	    xattr_add(x, &n, ACL_ACCESS, x->acl[0], al) != 0)
		return (-1);
	if (d->type == AE_IFDIR &&
	    (al = acl_xattr(x, e, ARCHIVE_ENTRY_ACL_TYPE_DEFAULT, 1)) > 0 &&
	    xattr_add(x, &n, ACL_DEFAULT, x->acl[1], al) != 0)
		return (-1);
	d->xattrs = x->xattrs;
	d->nxattrs = n;
	return (0);
}

/* Copy the current entry's data to disk (through the writer). */
static int
copy_entry(struct extract *x)
{
	const void *buf;
	size_t size;
	la_int64_t off;
	int r;

	while ((r = archive_read_data_block(x->r, &buf, &size, &off)) ==
	    ARCHIVE_OK) {
		if (extract_disk_data(x->xd, buf, size, (uint64_t)off) != 0) {
			x->disk_failed = true;
			return (-1);
		}
		x->stats.bytes += size;
	}
	if (r != ARCHIVE_EOF)
		return (-1);
	if (extract_disk_end(x->xd) != 0) {
		x->disk_failed = true;
		return (-1);
	}
	return (0);
}

/* Append the data of the current entry to the joined file ${name}. */
static int
append_piece(struct extract *x, struct archive_entry *e, const char *name)
{
	struct timespec mt;
	char reason[WARN_MAX];
	int r;

	mt.tv_sec = archive_entry_mtime(e);
	mt.tv_nsec = archive_entry_mtime_nsec(e);
	r = extract_disk_append(x->xd, name, &mt, reason, sizeof(reason));
	if (r == EXTRACT_DISK_REFUSED) {
		xwarn(x, name, "%s", reason);
		return (archive_read_data_skip(x->r) == ARCHIVE_OK ? 0 : -1);
	}
	if (r != 0) {
		x->disk_failed = true;
		return (-1);
	}
	return (copy_entry(x));
}

/* Handle one entry; -1 only for a fatal (stream or disk) error. */
static int
do_entry(struct extract *x, struct archive_entry *e)
{
	struct extract_entry info;
	struct extract_disk_entry de;
	const char *path, *hl, *sl, *stored, *why = NULL;
	char *copy = NULL, *logical = NULL, *hlcopy = NULL;
	char reason[WARN_MAX];
	unsigned piece;
	mode_t type;
	int r, rc = 0, bad;

	x->stats.entries++;
	if ((stored = archive_entry_pathname(e)) == NULL)
		stored = "";
	if ((copy = strdup(stored)) == NULL)
		return (-1);
	path = copy;
	bad = name_check(copy, &why);
	if (bad)
		path = stored; /* as it came, for messages */
	hl = archive_entry_hardlink(e);
	sl = archive_entry_symlink(e);
	type = archive_entry_filetype(e);

	piece = bad ? 0 : split_piece(e);
	if (piece > 0 && (logical = split_logical(path, piece)) == NULL)
		piece = 0; /* not one of ours: a plain file */

	memset(&info, 0, sizeof(info));
	info.path = logical != NULL ? logical : path;
	info.stored = stored;
	info.tar_offset = (uint64_t)archive_read_header_position(x->r);
	info.hardlink = hl != NULL;
	info.link = hl != NULL ? hl : sl;
	info.type = (unsigned)type;
	info.mode = (unsigned)(archive_entry_perm(e) & 07777);
	info.size = (uint64_t)archive_entry_size(e);
	info.mtime = (int64_t)archive_entry_mtime(e);
	info.selected = selected(x, info.path) != 0;
	if (x->conf.on_entry != NULL)
		x->conf.on_entry(x->conf.cookie, &info);

	if (bad) {
		x->stats.refused++;
		xwarn(x, path, "refused: %s", why);
		goto skip;
	}
	if (hl != NULL) {
		if ((hlcopy = strdup(hl)) == NULL) {
			rc = -1;
			goto out;
		}
		if (name_check(hlcopy, &why) != 0) {
			x->stats.refused++;
			xwarn(x, path, "refused: hard link to \"%s\"", hl);
			goto skip;
		}
		hl = hlcopy;
	}
	if ((type == AE_IFCHR || type == AE_IFBLK) &&
	    (!(x->conf.flags & EXTRACT_DEVICES) ||
		(x->conf.flags & EXTRACT_NO_PRIVILEGES))) {
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
		xwarn(x, path,
		    "split piece %u out of sequence; extracted "
		    "under its own name",
		    piece);
		free(logical);
		logical = NULL;
	}
	if (piece == 1) {
		free(x->split_name);
		x->split_name = logical;
		logical = NULL;
		x->split_next = 2;
		path = x->split_name;
	}

	if (disk_entry(x, e, path, &de) != 0) {
		rc = -1;
		goto out;
	}
	if (hl != NULL) {
		de.link = hl;
		de.hardlink = true;
	} else if (type == AE_IFLNK) {
		de.link = sl != NULL ? sl : "";
	}
	r = extract_disk_begin(x->xd, &de, reason, sizeof(reason));
	if (r == EXTRACT_DISK_REFUSED) {
		x->stats.refused++;
		xwarn(x, path, "refused: %s", reason);
		goto skip;
	}
	if (r != 0) {
		x->disk_failed = true;
		rc = -1;
		goto out;
	}
	x->stats.extracted++;
	if (type == AE_IFREG && hl == NULL) {
		if ((rc = copy_entry(x)) != 0)
			goto out;
	} else if (archive_read_data_skip(x->r) != ARCHIVE_OK) {
		rc = -1;
		goto out;
	}
	if (x->conf.on_entry_done != NULL)
		x->conf.on_entry_done(x->conf.cookie);
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
			(void)ag_err_set(&x->err,
			    "corrupt or truncated "
			    "archive: %s",
			    archive_error_string(x->r));
			failed = 1;
			break;
		}
		if (r < ARCHIVE_WARN || r == ARCHIVE_RETRY) {
			/* No entry to handle ("Damaged tar archive"). */
			xwarn(x, "(archive)", "%s",
			    archive_error_string(x->r));
			continue;
		}
		if (r == ARCHIVE_WARN)
			xwarn(x,
			    archive_entry_pathname(e) != NULL ?
				archive_entry_pathname(e) :
				"(archive)",
			    "%s", archive_error_string(x->r));
		if (do_entry(x, e) != 0) {
			if (x->err.msg[0] == '\0' && !x->disk_failed)
				(void)ag_err_set(&x->err,
				    "corrupt or "
				    "truncated archive: %s",
				    archive_error_string(x->r) != NULL ?
					archive_error_string(x->r) :
					"out of memory");
			failed = 1;
			break;
		}
	}
	/* Queued files written, then folder times and modes. */
	if (x->xd != NULL) {
		struct ag_err de = { "" };

		if (extract_disk_finish(x->xd, x->stats.removed,
			sizeof(x->stats.removed), &de) != 0 &&
		    (!failed || x->disk_failed)) {
			(void)ag_err_set(&x->err, "%s", de.msg);
			failed = 1;
		}
	}
	pthread_mutex_lock(&x->mtx);
	x->done = 1;
	x->failed = failed;
	pthread_cond_broadcast(&x->space_cv);
	pthread_mutex_unlock(&x->mtx);
	return (NULL);
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
	struct extract_disk_conf dc = { 0 };
	size_t i, n = 0;

	if ((x = calloc(1, sizeof(*x))) == NULL)
		goto oom;
	x->conf = *conf;
	pthread_mutex_init(&x->mtx, NULL);
	pthread_mutex_init(&x->warn_mtx, NULL);
	pthread_cond_init(&x->data_cv, NULL);
	pthread_cond_init(&x->space_cv, NULL);
	pthread_cond_init(&x->tap_cv, NULL);
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
			(void)beneath_clean(c); /* else matches nothing */
		}
	}

	if (!(conf->flags & EXTRACT_LIST_ONLY)) {
		if (conf->target == NULL || conf->target[0] == '\0') {
			(void)ag_err_set(err, "no target folder");
			goto err1;
		}
		if (ag_mkdir_p(conf->target, 0700, 0700) != 0) {
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
		x->euid = geteuid();
		x->egid = getegid();
		x->privileged = !(conf->flags & EXTRACT_NO_PRIVILEGES);
		x->owner = x->euid == 0 && x->privileged &&
		    !(conf->flags & EXTRACT_NO_OWNER);
		dc.target = x->target;
		dc.no_overwrite = (conf->flags & EXTRACT_NO_OVERWRITE) != 0;
		dc.writers = conf->writers;
		dc.warn = disk_warn;
		dc.cookie = x;
		if ((x->xd = extract_disk_new(&dc, err)) == NULL)
			goto err1;
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
	if (conf->tap != NULL) {
		if (pthread_create(&x->tap_thread, NULL, tap_main, x) != 0) {
			(void)ag_err_set(err, "cannot start the tap thread");
			goto err1;
		}
		x->tap_started = 1;
	}
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
 * End of stream: wait for the reader (and the tap, which has then seen
 * every byte written), finish directory times and modes.
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
		pthread_cond_signal(&x->tap_cv);
		pthread_mutex_unlock(&x->mtx);
		pthread_join(x->thread, NULL);
		x->started = 0;
	}
	if (x->tap_started) {
		/* Every byte written has reached the tap. */
		pthread_join(x->tap_thread, NULL);
		x->tap_started = 0;
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
	pthread_mutex_lock(&x->mtx);
	x->abort = 1;
	pthread_cond_broadcast(&x->data_cv);
	pthread_cond_broadcast(&x->tap_cv);
	pthread_mutex_unlock(&x->mtx);
	if (x->started)
		pthread_join(x->thread, NULL);
	if (x->tap_started)
		pthread_join(x->tap_thread, NULL);
	if (x->r != NULL)
		archive_read_free(x->r);
	extract_disk_free(x->xd);
	for (i = 0; x->filter != NULL && x->filter[i] != NULL; i++)
		free(x->filter[i]);
	free(x->filter);
	free(x->split_name);
	free(x->xattrs);
	free(x->target);
	free(x->ring);
	pthread_cond_destroy(&x->tap_cv);
	pthread_cond_destroy(&x->space_cv);
	pthread_cond_destroy(&x->data_cv);
	pthread_mutex_destroy(&x->warn_mtx);
	pthread_mutex_destroy(&x->mtx);
	free(x);
}
