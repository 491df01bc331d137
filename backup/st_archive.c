/*
 * st_archive.c: the archive producer (see st_archive.h); with extract.c
 * the only files that include <archive.h>.
 *
 * The tree walk is ours, not archive_read_disk's: libarchive's walker
 * fchdir()s into the folders it visits, which would move the working
 * folder of the whole (threaded) daemon.  We walk with openat(O_NOFOLLOW)
 * from a descriptor per level and let archive_read_disk_entry_from_file()
 * fill each entry from the open descriptor (stat, owner names, xattrs,
 * ACLs, file flags, sparse map), then read the data from that same
 * descriptor: one open per file, and a file that cannot be opened is
 * skipped with a warning before its header is written.
 *
 * The writer is a pax tar ("pax restricted": plain ustar headers unless an
 * entry needs pax records, only keywords GNU tar knows for ordinary names,
 * see plain_pax(); a name that is not UTF-8 is stored as raw bytes with
 * hdrcharset=BINARY, so any file name survives)
 * with libarchive's blocking off,
 * so every byte reaches our write callback at once: the byte count there is
 * exactly the tar offset, which is what on_entry() reports.  Holes of
 * sparse files are fed as zeros and dropped by the pax writer, which is how
 * libarchive's own bsdtar feeds it.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <locale.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <linux/fs.h>

#include <archive.h>
#include <archive_entry.h>

#include "lib/ag.h"
#include "backup/stage.h"
#include "backup/st_archive.h"

extern char **environ;

#define READ_BUF ((size_t)1 << 20) /* file data per read */
#define PATH_BUF 65536		   /* longest path walked */
#define DEPTH_MAX 512		   /* folder nesting walked */
#define CACHEDIR_SIG "Signature: 8a477f597d28d172789f06886806bc55"

struct st_archive {
	struct stage *next;
	struct st_archive_conf conf;
	struct archive *w;
	struct archive *rd; /* for entry_from_file() only */
	struct archive_entry_linkresolver *lr;
	uint64_t off; /* tar bytes written so far */
	int dead;     /* writer failed or finished */
	int aborting; /* drop writes (freeing unfinished) */
	uint8_t *buf; /* READ_BUF */
	char *path;   /* PATH_BUF: the path being visited */
	dev_t root_dev;
	struct st_archive_stats stats;
	struct ag_err err; /* the fatal message */
};

static const uint8_t zeros[65536];

static la_ssize_t
ar_write_cb(struct archive *w, void *cookie, const void *buf, size_t len)
{
	struct st_archive *a = cookie;

	if (a->aborting) {
		archive_set_error(w, ECANCELED, "archive abandoned");
		return (-1);
	}
	if (stage_write(a->next, buf, len) != 0) {
		archive_set_error(w, EIO, "the next stage failed");
		return (-1);
	}
	a->off += len;
	return ((la_ssize_t)len);
}

/* A fatal error: keep the first message, return -1. */
static int fatal(struct st_archive *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
fatal(struct st_archive *a, const char *fmt, ...)
{
	va_list ap;

	if (a->err.msg[0] == '\0') {
		va_start(ap, fmt);
		vsnprintf(a->err.msg, sizeof(a->err.msg), fmt, ap);
		va_end(ap);
	}
	a->dead = 1;
	return (-1);
}

/* The writer failed: say why, preferring the next stage's own message. */
static int
writer_failed(struct st_archive *a)
{
	struct ag_err e;

	if (a->next->err != 0) {
		(void)stage_error(a->next, &e);
		return (fatal(a, "%s", e.msg));
	}
	return (fatal(a, "archive: %s",
	    archive_error_string(a->w) != NULL ? archive_error_string(a->w) :
						 "write failed"));
}

/* A per-file problem: report, count; fatal in strict mode. */
static int warn(struct st_archive *a, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
warn(struct st_archive *a, const char *path, const char *fmt, ...)
{
	char reason[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	a->stats.warnings++;
	if (a->conf.on_warning != NULL)
		a->conf.on_warning(a->conf.cookie, path, reason);
	if (a->conf.strict)
		return (fatal(a, "%s: %s", path, reason));
	return (0);
}

static int
cancelled(struct st_archive *a)
{

	if (a->conf.cancelled != NULL && a->conf.cancelled(a->conf.cookie))
		return (fatal(a, "cancelled"));
	return (0);
}

/*
 * Make the pax headers ones that GNU tar reads without a warning for
 * ordinary names (tests/integration/it_tar.sh):
 *
 *  - extended attributes only as SCHILY.xattr.* records, which GNU tar,
 *    star and libarchive all read, not also as LIBARCHIVE.xattr.*, which
 *    only libarchive knows ("Ignoring unknown extended header keyword");
 *  - names converted to UTF-8 from UTF-8: the process runs in the "C"
 *    locale, from which libarchive cannot convert a byte above 127, so it
 *    stored every non-ASCII name raw with hdrcharset=BINARY, a keyword GNU
 *    tar does not know.  libarchive takes the source charset from the
 *    thread's locale when the conversion is made, which the hdrcharset
 *    option does at once: so switch this thread to C.UTF-8 for that one
 *    call only.  A name that is not valid UTF-8 still falls back to raw
 *    bytes with hdrcharset=BINARY (write_entry()), and restores exactly.
 *
 * Without a C.UTF-8 locale (glibc before 2.35 may lack it) the names stay
 * as before.  Return 0 or -1 (archive error set).
 */
static int
plain_pax(struct archive *w)
{
	locale_t utf8, old;
	int r;

	if (archive_write_set_format_option(w, "pax", "xattrheader",
		"SCHILY") != ARCHIVE_OK)
		return (-1);
	if ((utf8 = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0)) ==
	    (locale_t)0)
		return (0);
	old = uselocale(utf8);
	r = archive_write_set_format_option(w, "pax", "hdrcharset", "UTF-8");
	(void)uselocale(old);
	freelocale(utf8);
	return (r == ARCHIVE_OK ? 0 : -1);
}

/**
 * st_archive_new(next, conf, err):
 * Start a pax tar stream written into the stage ${next} (which the caller
 * keeps owning and closes after st_archive_finish()).  ${conf} is copied;
 * the exclude list is kept by reference.  Return it or NULL with a message.
 */
struct st_archive *
st_archive_new(struct stage *next, const struct st_archive_conf *conf,
    struct ag_err *err)
{
	struct st_archive *a;
	int flags = 0;

	if ((a = calloc(1, sizeof(*a))) == NULL)
		goto oom;
	a->next = next;
	a->conf = *conf;
	if (a->conf.cmd_piece == 0)
		a->conf.cmd_piece = ST_ARCHIVE_CMD_PIECE_DEFAULT;
	if (a->conf.cmd_piece > ST_ARCHIVE_CMD_PIECE_MAX) {
		(void)ag_err_set(err,
		    "archive: command piece size %zu is "
		    "over %zu",
		    a->conf.cmd_piece, ST_ARCHIVE_CMD_PIECE_MAX);
		free(a);
		return (NULL);
	}
	if ((a->buf = malloc(READ_BUF)) == NULL ||
	    (a->path = malloc(PATH_BUF)) == NULL)
		goto oom1;
	if ((a->lr = archive_entry_linkresolver_new()) == NULL)
		goto oom1;
	archive_entry_linkresolver_set_strategy(a->lr,
	    ARCHIVE_FORMAT_TAR_PAX_RESTRICTED);

	if ((a->rd = archive_read_disk_new()) == NULL)
		goto oom1;
	if (archive_read_disk_set_standard_lookup(a->rd) != ARCHIVE_OK)
		goto lib1;
	if (conf->no_xattrs)
		flags |= ARCHIVE_READDISK_NO_XATTR;
	if (conf->no_acls)
		flags |= ARCHIVE_READDISK_NO_ACL;
	if (archive_read_disk_set_behavior(a->rd, flags) != ARCHIVE_OK)
		goto lib1;

	if ((a->w = archive_write_new()) == NULL)
		goto oom1;
	if (archive_write_set_format_pax_restricted(a->w) != ARCHIVE_OK ||
	    archive_write_set_bytes_per_block(a->w, 0) != ARCHIVE_OK ||
	    archive_write_set_bytes_in_last_block(a->w, 1) != ARCHIVE_OK ||
	    plain_pax(a->w) != 0)
		goto lib2;
	if (archive_write_open2(a->w, a, NULL, ar_write_cb, NULL, NULL) !=
	    ARCHIVE_OK)
		goto lib2;
	return (a);

lib2:
	(void)ag_err_set(err, "archive: %s", archive_error_string(a->w));
	st_archive_free(a);
	return (NULL);
lib1:
	(void)ag_err_set(err, "archive: %s", archive_error_string(a->rd));
	st_archive_free(a);
	return (NULL);
oom1:
	st_archive_free(a);
oom:
	(void)ag_err_set(err, "archive: out of memory");
	return (NULL);
}

static int
excluded(struct st_archive *a, const char *path)
{
	const char *const *p;
	const char *base, *rel;

	if (a->conf.exclude == NULL)
		return (0);
	base = strrchr(path, '/');
	base = base != NULL && base[1] != '\0' ? base + 1 : path;
	for (rel = path; *rel == '/'; rel++)
		;
	for (p = a->conf.exclude; *p != NULL; p++)
		if (fnmatch(*p, path, 0) == 0 || fnmatch(*p, rel, 0) == 0 ||
		    fnmatch(*p, base, 0) == 0)
			return (1);
	return (0);
}

/* Feed ${n} zero bytes of a hole (or padding) to the writer. */
static int
write_zeros(struct st_archive *a, uint64_t n)
{
	size_t k;

	while (n > 0) {
		k = n < sizeof(zeros) ? (size_t)n : sizeof(zeros);
		if (archive_write_data(a->w, zeros, k) < 0)
			return (writer_failed(a));
		n -= k;
	}
	return (0);
}

/*
 * Copy the data of the regular file ${fd} (${size} bytes when its header
 * was made) following the entry's sparse map.  Set ${*short_read} if the
 * file ended early; the writer pads the rest with zeros.
 */
static int
copy_data(struct st_archive *a, struct archive_entry *e, int fd, uint64_t size,
    int *short_read)
{
	la_int64_t soff, slen;
	uint64_t pos = 0, end, want;
	ssize_t n;
	int nsparse, i;

	*short_read = 0;
	nsparse = archive_entry_sparse_reset(e);
	for (i = 0; i < (nsparse > 0 ? nsparse : 1); i++) {
		if (nsparse > 0) {
			if (archive_entry_sparse_next(e, &soff, &slen) !=
			    ARCHIVE_OK)
				break;
		} else {
			soff = 0;
			slen = (la_int64_t)size;
		}
		if (soff < 0 || slen < 0 || (uint64_t)soff < pos ||
		    (uint64_t)soff > size)
			break;
		if (write_zeros(a, (uint64_t)soff - pos) != 0)
			return (-1);
		pos = (uint64_t)soff;
		end = pos + (uint64_t)slen > size ? size :
						    pos + (uint64_t)slen;
		while (pos < end) {
			if (cancelled(a) != 0)
				return (-1);
			want = end - pos < READ_BUF ? end - pos : READ_BUF;
			n = pread(fd, a->buf, (size_t)want, (off_t)pos);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				*short_read = n < 0 ? errno : -1;
				return (0);
			}
			if (archive_write_data(a->w, a->buf, (size_t)n) < 0)
				return (writer_failed(a));
			pos += (uint64_t)n;
			a->stats.data_bytes += (uint64_t)n;
		}
	}
	/* A trailing hole. */
	if (pos < size && write_zeros(a, size - pos) != 0)
		return (-1);
	return (0);
}

static void
report_entry(struct st_archive *a, struct archive_entry *e, uint64_t off,
    unsigned piece, const char *split_of)
{
	struct st_archive_entry info;
	const char *hl = archive_entry_hardlink(e);
	mode_t type = archive_entry_filetype(e);

	a->stats.entries++;
	if (hl != NULL)
		a->stats.hardlinks++;
	else if (type == AE_IFREG)
		a->stats.files++;
	else if (type == AE_IFDIR)
		a->stats.dirs++;
	else if (type == AE_IFLNK)
		a->stats.symlinks++;
	else
		a->stats.others++;
	if (a->conf.on_entry == NULL)
		return;
	memset(&info, 0, sizeof(info));
	info.path = archive_entry_pathname(e);
	info.hardlink = hl != NULL;
	info.link = hl != NULL ? hl : archive_entry_symlink(e);
	info.offset = off;
	info.length = a->off - off;
	info.size = (uint64_t)archive_entry_size(e);
	info.type = (unsigned)type;
	info.mode = (unsigned)(archive_entry_perm(e) & 07777);
	info.mtime = (int64_t)archive_entry_mtime(e);
	info.mtime_nsec = archive_entry_mtime_nsec(e);
	info.uid = (int64_t)archive_entry_uid(e);
	info.gid = (int64_t)archive_entry_gid(e);
	info.piece = piece;
	info.split_of = split_of;
	a->conf.on_entry(a->conf.cookie, &info);
}

/*
 * Write entry ${e} (its pathname already relative) and, for a regular
 * file, its data from ${fd} or from ${mem}.  ${fspath} names it in
 * warnings.  Consumes ${e}.  Return 0 or -1 (fatal).
 */
static int
write_entry(struct st_archive *a, struct archive_entry *e, const char *fspath,
    int fd, const uint8_t *mem, unsigned piece, const char *split_of)
{
	struct archive_entry *spare = NULL;
	struct stat after;
	uint64_t off, size;
	int r, short_read = 0, rc = 0;
	time_t mt;
	long mtn;

	mt = archive_entry_mtime(e);
	mtn = archive_entry_mtime_nsec(e);
	archive_entry_linkify(a->lr, &e, &spare);
	if (e == NULL)
		goto out; /* deferred (not for tar) */
	off = a->off;
	r = archive_write_header(a->w, e);
	if (r == ARCHIVE_FATAL || a->next->err != 0) {
		rc = writer_failed(a);
		goto out;
	}
	if (r == ARCHIVE_FAILED) {
		rc = warn(a, fspath, "not archived: %s",
		    archive_error_string(a->w));
		goto out;
	}
	/*
	 * A name that the locale cannot convert to UTF-8 is stored as raw
	 * bytes (hdrcharset=BINARY) and restores exactly: not a problem.
	 */
	if (r == ARCHIVE_WARN && archive_error_string(a->w) != NULL &&
	    strncmp(archive_error_string(a->w), "Can't translate", 15) != 0 &&
	    (rc = warn(a, fspath, "%s", archive_error_string(a->w))) != 0)
		goto out;

	size = (uint64_t)archive_entry_size(e);
	if (size > 0 && archive_entry_hardlink(e) == NULL &&
	    archive_entry_filetype(e) == AE_IFREG) {
		if (mem != NULL) {
			if (archive_write_data(a->w, mem, (size_t)size) < 0) {
				rc = writer_failed(a);
				goto out;
			}
			a->stats.data_bytes += size;
		} else if ((rc = copy_data(a, e, fd, size, &short_read)) !=
		    0) {
			goto out;
		}
	}
	if (archive_write_finish_entry(a->w) < ARCHIVE_WARN) {
		rc = writer_failed(a);
		goto out;
	}
	report_entry(a, e, off, piece, split_of);

	if (short_read > 0) {
		rc = warn(a, fspath,
		    "read error: %s; the rest is stored as "
		    "zeros",
		    strerror(short_read));
	} else if (short_read < 0) {
		rc = warn(a, fspath,
		    "file shrank while read; padded with "
		    "zeros");
	} else if (fd >= 0 && mem == NULL && size > 0 &&
	    archive_entry_hardlink(e) == NULL) {
		if (fstat(fd, &after) == 0 &&
		    ((uint64_t)after.st_size != size ||
			after.st_mtim.tv_sec != mt ||
			after.st_mtim.tv_nsec != mtn))
			rc = warn(a, fspath, "file changed while read");
	}
out:
	archive_entry_free(e);
	archive_entry_free(spare);
	return (rc);
}

/* Does folder ${dfd} hold a valid CACHEDIR.TAG? */
static int
is_cachedir(int dfd)
{
	char sig[sizeof(CACHEDIR_SIG) - 1];
	ssize_t n;
	int fd;

	fd = openat(dfd, "CACHEDIR.TAG",
	    O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return (0);
	n = read(fd, sig, sizeof(sig));
	close(fd);
	return (n == (ssize_t)sizeof(sig) &&
	    memcmp(sig, CACHEDIR_SIG, sizeof(sig)) == 0);
}

static int visit(struct st_archive *, int, const char *, size_t, int, int);

/* Walk the folder ${dfd} (consumed) whose path has ${plen} bytes. */
static int
walk_dir(struct st_archive *a, int dfd, size_t plen, int depth)
{
	struct dirent *de;
	size_t nlen, base;
	DIR *d;
	int rc = 0;

	if ((d = fdopendir(dfd)) == NULL) {
		close(dfd);
		return (warn(a, a->path, "cannot read folder: %s",
		    strerror(errno)));
	}
	/* Children are "<path>/<name>"; the root "/" already ends in '/'. */
	base = plen > 0 && a->path[plen - 1] == '/' ? plen : plen + 1;
	for (;;) {
		errno = 0;
		if ((de = readdir(d)) == NULL) {
			if (errno != 0) {
				a->path[plen] = '\0';
				rc = warn(a, a->path, "cannot read folder: %s",
				    strerror(errno));
			}
			break;
		}
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		nlen = strlen(de->d_name);
		if (base + nlen + 1 > PATH_BUF) {
			a->path[plen] = '\0';
			if ((rc = warn(a, a->path,
				 "name too long, skipped: "
				 "%.64s...",
				 de->d_name)) != 0)
				break;
			continue;
		}
		a->path[base - 1] = '/';
		memcpy(a->path + base, de->d_name, nlen + 1);
		if ((rc = visit(a, dirfd(d), de->d_name, base + nlen, depth,
			 0)) != 0)
			break;
	}
	a->path[plen] = '\0';
	closedir(d);
	return (rc);
}

/*
 * Visit ${name} in folder ${pfd}; a->path holds its full path (${plen}
 * bytes).  ${top} for a source path itself.
 */
static int
visit(struct st_archive *a, int pfd, const char *name, size_t plen, int depth,
    int top)
{
	struct archive_entry *e;
	struct stat st;
	unsigned long fset, fclr;
	const char *rel;
	int fd = -1, r, rc, descend = 0, tagged = 0, flags;

	if ((rc = cancelled(a)) != 0)
		return (rc);
	/* A source path that is a symlink is followed (tar -H); no other. */
	if (fstatat(pfd, name, &st, top ? 0 : AT_SYMLINK_NOFOLLOW) != 0) {
		if (errno == ENOENT && !top)
			return (warn(a, a->path,
			    "vanished before it was read"));
		return (warn(a, a->path, "%s", strerror(errno)));
	}
	if (excluded(a, a->path))
		return (0);
	if (S_ISSOCK(st.st_mode))
		return (0); /* tar cannot hold sockets */
	if (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)) {
		flags = O_RDONLY | O_CLOEXEC | O_NOATIME |
		    (top ? 0 : O_NOFOLLOW) |
		    (S_ISDIR(st.st_mode) ? O_DIRECTORY : 0);
		fd = openat(pfd, name, flags);
		if (fd < 0 && errno == EPERM) /* O_NOATIME: not the owner */
			fd = openat(pfd, name, flags & ~O_NOATIME);
		if (fd < 0) {
			if (errno == ENOENT)
				return (warn(a, a->path,
				    "vanished before it "
				    "was read"));
			return (warn(a, a->path, "%s", strerror(errno)));
		}
		/* What we opened is what we store. */
		if (fstat(fd, &st) != 0) {
			rc = warn(a, a->path, "%s", strerror(errno));
			close(fd);
			return (rc);
		}
	}

	if ((e = archive_entry_new()) == NULL) {
		if (fd >= 0)
			close(fd);
		return (fatal(a, "archive: out of memory"));
	}
	archive_entry_copy_pathname(e, a->path);
	archive_entry_copy_sourcepath(e, a->path);
	r = archive_read_disk_entry_from_file(a->rd, e, fd, &st);
	if (r < ARCHIVE_WARN) {
		rc = warn(a, a->path, "%s", archive_error_string(a->rd));
		goto out;
	}
	if (r == ARCHIVE_WARN &&
	    (rc = warn(a, a->path, "%s", archive_error_string(a->rd))) != 0)
		goto out;
	if (a->conf.honor_nodump) {
		archive_entry_fflags(e, &fset, &fclr);
		if (fset & FS_NODUMP_FL) {
			rc = 0;
			goto out;
		}
	}

	if (top)
		a->root_dev = st.st_dev;
	if (S_ISDIR(st.st_mode)) {
		descend = 1;
		if (a->conf.one_file_system && st.st_dev != a->root_dev)
			descend = 0;
		if (depth >= DEPTH_MAX) {
			descend = 0;
			if ((rc = warn(a, a->path,
				 "nested more than %d "
				 "folders deep; contents skipped",
				 DEPTH_MAX)) != 0)
				goto out;
		}
		if (descend && a->conf.exclude_caches && is_cachedir(fd))
			tagged = 1;
	}

	for (rel = a->path; *rel == '/'; rel++)
		;
	if (*rel != '\0') {
		archive_entry_copy_pathname(e, rel);
		rc = write_entry(a, e, a->path, fd, NULL, 0, NULL);
		e = NULL;
		if (rc != 0)
			goto out;
	}
	if (tagged) {
		size_t n = plen;

		if (n + sizeof("/CACHEDIR.TAG") <= PATH_BUF) {
			if (n > 0 && a->path[n - 1] == '/')
				n--;
			memcpy(a->path + n, "/CACHEDIR.TAG",
			    sizeof("/CACHEDIR.TAG"));
			rc = visit(a, fd, "CACHEDIR.TAG", n + 13, depth + 1,
			    0);
			a->path[plen] = '\0';
		}
		goto out;
	}
	if (descend) {
		rc = walk_dir(a, fd, plen, depth + 1);
		fd = -1;
		a->path[plen] = '\0';
	}
out:
	archive_entry_free(e);
	if (fd >= 0)
		close(fd);
	return (rc);
}

/**
 * st_archive_add_path(a, path, err):
 * Archive the absolute ${path} and, for a folder, everything below it.
 * Per-file problems (permission denied, vanished, changed while read) go
 * to on_warning() and the walk goes on.  Return 0, or -1 with a message
 * if the archive cannot go on (the next stage failed, cancelled, strict).
 */
int
st_archive_add_path(struct st_archive *a, const char *path, struct ag_err *err)
{
	size_t len;
	int rc;

	if (a->dead)
		return (ag_err_set(err, "%s",
		    a->err.msg[0] != '\0' ? a->err.msg :
					    "archive: already finished"));
	len = strlen(path);
	if (path[0] != '/' || len + 1 > PATH_BUF)
		return (ag_err_set(err, "archive: %s: not an absolute path",
		    path));
	/* "/srv/" and "/srv" are the same source. */
	while (len > 1 && path[len - 1] == '/')
		len--;
	memcpy(a->path, path, len);
	a->path[len] = '\0';
	rc = visit(a, AT_FDCWD, a->path, len, 0, 1);
	if (rc != 0)
		return (ag_err_set(err, "%s", a->err.msg));
	return (0);
}

/* A stored path must be relative and stay inside the archive root. */
static int
relpath_valid(const char *p)
{
	const char *s;
	size_t n;

	if (*p == '\0' || *p == '/')
		return (0);
	for (s = p;; s += n + 1) {
		n = strcspn(s, "/");
		if (n == 0 || (n == 1 && s[0] == '.') ||
		    (n == 2 && s[0] == '.' && s[1] == '.'))
			return (0);
		if (s[n] == '\0')
			return (1);
	}
}

/* Read up to ${len} bytes from ${fd}; return the count (short at EOF). */
static ssize_t
read_full(int fd, uint8_t *buf, size_t len)
{
	size_t got = 0;
	ssize_t n;

	while (got < len) {
		n = read(fd, buf + got, len - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return (-1);
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return ((ssize_t)got);
}

static int
write_piece(struct st_archive *a, const char *name, const uint8_t *data,
    size_t len, time_t t, unsigned piece, const char *split_of)
{
	struct archive_entry *e;
	char num[16];

	if ((e = archive_entry_new()) == NULL)
		return (fatal(a, "archive: out of memory"));
	archive_entry_copy_pathname(e, name);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0600);
	archive_entry_set_size(e, (la_int64_t)len);
	archive_entry_set_mtime(e, t, 0);
	archive_entry_set_uid(e, geteuid());
	archive_entry_set_gid(e, getegid());
	archive_entry_set_nlink(e, 1); /* never a hard link */
	if (piece > 0) {
		snprintf(num, sizeof(num), "%u", piece);
		archive_entry_xattr_add_entry(e, ST_ARCHIVE_SPLIT_XATTR, num,
		    strlen(num));
	}
	return (write_entry(a, e, split_of != NULL ? split_of : name, -1, data,
	    piece, split_of));
}

/**
 * st_archive_add_command(a, path, cmd, err):
 * Run ${cmd} with /bin/sh -c (standard input /dev/null, standard error
 * inherited) and store its standard output as ${path} (relative; pieces if
 * long, see above).  A nonzero exit status is a warning.  Return 0 or -1.
 */
int
st_archive_add_command(struct st_archive *a, const char *path, const char *cmd,
    struct ag_err *err)
{
	posix_spawn_file_actions_t fa;
	char *argv[] = { "/bin/sh", "-c", (char *)cmd, NULL };
	char *name = NULL;
	uint8_t *piece = NULL;
	unsigned npiece = 0;
	size_t nlen;
	ssize_t n;
	time_t t = time(NULL);
	pid_t pid;
	int p[2], status, rc = -1, killed = 0;

	if (a->dead)
		return (ag_err_set(err, "%s",
		    a->err.msg[0] != '\0' ? a->err.msg :
					    "archive: already finished"));
	while (*path == '/')
		path++;
	if (!relpath_valid(path))
		return (ag_err_set(err,
		    "archive: invalid path \"%s\" for "
		    "command output",
		    path));
	nlen = strlen(path) + 8;
	if ((name = malloc(nlen)) == NULL ||
	    (piece = malloc(a->conf.cmd_piece)) == NULL) {
		free(name);
		return (ag_err_set(err, "archive: out of memory"));
	}
	if (pipe2(p, O_CLOEXEC) != 0) {
		(void)ag_err_set(err, "archive: %s: pipe: %s", path,
		    strerror(errno));
		goto out0;
	}
	if (posix_spawn_file_actions_init(&fa) != 0 ||
	    posix_spawn_file_actions_adddup2(&fa, p[1], 1) != 0 ||
	    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY,
		0) != 0) {
		(void)ag_err_set(err, "archive: %s: out of memory", path);
		goto out1;
	}
	errno = posix_spawn(&pid, "/bin/sh", &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (errno != 0) {
		(void)ag_err_set(err, "archive: %s: cannot run /bin/sh: %s",
		    path, strerror(errno));
		goto out1;
	}
	close(p[1]);
	p[1] = -1;

	rc = 0;
	for (;;) {
		if ((rc = cancelled(a)) != 0)
			break;
		n = read_full(p[0], piece, a->conf.cmd_piece);
		if (n < 0) {
			rc = warn(a, path, "reading command output: %s",
			    strerror(errno));
			break;
		}
		if (npiece == 0 && (size_t)n < a->conf.cmd_piece) {
			/* It all fitted: one entry of the real name. */
			rc = write_piece(a, path, piece, (size_t)n, t, 0,
			    NULL);
			break;
		}
		if (n == 0)
			break;
		snprintf(name, nlen, "%s.%06u", path, ++npiece);
		if ((rc = write_piece(a, name, piece, (size_t)n, t, npiece,
			 path)) != 0)
			break;
		if ((size_t)n < a->conf.cmd_piece)
			break;
	}
	close(p[0]);
	p[0] = -1;
	if (rc != 0) {
		(void)kill(pid, SIGTERM);
		killed = 1;
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			status = 0;
			break;
		}
	if (rc == 0 && WIFEXITED(status) && WEXITSTATUS(status) != 0)
		rc = warn(a, path, "command exited with status %d",
		    WEXITSTATUS(status));
	else if (rc == 0 && WIFSIGNALED(status) && !killed)
		rc = warn(a, path, "command killed by signal %d",
		    WTERMSIG(status));
	if (rc != 0)
		(void)ag_err_set(err, "%s", a->err.msg);
	goto out0;

out1:
	close(p[0]);
	if (p[1] >= 0)
		close(p[1]);
out0:
	free(piece);
	free(name);
	return (rc);
}

/**
 * st_archive_finish(a, err):
 * Write the end of the archive.  The caller then closes the next stage.
 * Return 0 or -1.
 */
int
st_archive_finish(struct st_archive *a, struct ag_err *err)
{
	struct archive_entry *e = NULL, *spare = NULL;

	if (a->dead)
		return (ag_err_set(err, "%s",
		    a->err.msg[0] != '\0' ? a->err.msg :
					    "archive: already finished"));
	/* Entries a link strategy deferred (none for tar). */
	archive_entry_linkify(a->lr, &e, &spare);
	archive_entry_free(e);
	archive_entry_free(spare);
	if (archive_write_close(a->w) != ARCHIVE_OK) {
		(void)writer_failed(a);
		return (ag_err_set(err, "%s", a->err.msg));
	}
	a->dead = 1;
	a->stats.tar_bytes = a->off;
	return (0);
}

/* st_archive_stats(a, ret): counters so far. */
void
st_archive_stats(const struct st_archive *a, struct st_archive_stats *ret)
{

	*ret = a->stats;
	ret->tar_bytes = a->off;
}

/* st_archive_free(a): free ${a}; NULL is a no-op. */
void
st_archive_free(struct st_archive *a)
{

	if (a == NULL)
		return;
	/* Unfinished: archive_write_free() must not write the trailer. */
	a->aborting = 1;
	if (a->w != NULL)
		archive_write_free(a->w);
	if (a->rd != NULL)
		archive_read_free(a->rd);
	if (a->lr != NULL)
		archive_entry_linkresolver_free(a->lr);
	free(a->path);
	free(a->buf);
	free(a);
}
