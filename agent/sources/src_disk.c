/*
 * src_disk.c: the "disk" source: space and inode use of mounted file
 * systems, from the mount table and statvfs(3).
 *
 * The mount table is /proc/self/mounts (our own mount namespace), or
 * /proc/mounts on systems without it, read under the proc root.  The mount
 * points themselves are then asked with statvfs() at their real paths.
 * Mount points are octal-escaped in the table ("/mnt/my\040disk") and are
 * decoded.  A mount point listed more than once (bind mounts, a file system
 * mounted over another) is reported once, for the last entry: that is the
 * one statvfs() sees.
 *
 * Which mounts: with "mounts" exactly those, whatever their type, and one
 * that is not mounted makes collect() fail naming it while the others still
 * report.  Otherwise every mount whose type is in "fs_types" (if given) and
 * not in "ignore_fs" (default: the virtual and in-memory file systems
 * below; when fs_types is given the default does not apply); discovered
 * mounts that report no blocks or whose statvfs() fails (an unreachable
 * network mount, a FUSE mount root cannot enter) are left out quietly.
 *
 * Readings, like df(1): used_pct = used / (used + available to non-root),
 * free_bytes = available to non-root, total_bytes = size, inodes_used_pct
 * when the file system has inodes at all.
 *
 * statvfs() of a hung network mount blocks for as long as the server is
 * away, so it runs in a helper thread and the collector waits at most
 * DISK_TIMEOUT_MS for it.  A mount that did not answer in time is an error
 * of that mount only, the others are read on; while its call still hangs
 * the mount is not asked again (an error at once), so a mount that stays
 * hung holds one thread, not one per collection.  One helper thread waits
 * for requests; when it is stuck in a hung call the next request starts
 * another, at most DISK_HUNG_MAX hung ones in all, and a helper whose hung
 * call returns goes back to waiting, or ends if another already waits.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <time.h>

#include "lib/ag.h"
#include "agent/source_backend.h"
#include "agent/sources/src.h"
#include "agent/sources/src_disk.h"

/* Most file systems reported by one instance. */
#define DISK_MAX 512
/* How long a collection waits for one statvfs(). */
#define DISK_TIMEOUT_MS 2000
/* Most statvfs() calls left hanging at once (one thread each). */
#define DISK_HUNG_MAX 8

static const char *const disk_settings[] = { "mounts", "fs_types", "ignore_fs",
	NULL };

static const char *const disk_suffixes[] = { "used_pct", "free_bytes",
	"total_bytes", "inodes_used_pct", NULL };

static const char *const disk_patterns_all[] = { "disk.*.used_pct",
	"disk.*.free_bytes", "disk.*.total_bytes", "disk.*.inodes_used_pct",
	NULL };

static char *const disk_ignore_default[] = { "tmpfs", "devtmpfs", "overlay",
	"squashfs", "proc", "sysfs", "cgroup", "cgroup2", "devpts", "mqueue",
	"debugfs", "tracefs", "securityfs", "pstore", "bpf", "autofs",
	"configfs", "fusectl", "hugetlbfs", "nsfs", "ramfs", "rpc_pipefs",
	"binfmt_misc", "efivarfs", NULL };

/* statvfs() in helper threads; all of it under sv.mu. */
struct sv_req {
	char path[PATH_MAX];
	struct statvfs st;
	int rc, err;
	bool taken; /* a helper is on it */
	bool done;
	bool abandoned; /* timed out: the helper frees it */
};

static struct {
	pthread_once_t once;
	pthread_mutex_t mu;
	pthread_cond_t cv; /* monotonic; broadcast on every change */
	src_disk_statvfs_fn *fn;
	int timeout_ms;
	struct sv_req *pending; /* waiting for a helper */
	struct sv_req *hung[DISK_HUNG_MAX];
	size_t nhung;
	size_t nidle; /* helpers waiting for a request */
} sv = {
	.once = PTHREAD_ONCE_INIT,
	.mu = PTHREAD_MUTEX_INITIALIZER,
	.fn = statvfs,
	.timeout_ms = DISK_TIMEOUT_MS,
};

struct disk_ctx {
	char **mounts;	     /* chosen mount points, or NULL: discover */
	char **fs_types;     /* include only these types, or NULL */
	char **ignore_fs;    /* the ignore_fs setting, or NULL */
	char *const *ignore; /* exclude these types: ignore_fs or default */
	char **patterns;     /* exact names when mounts is set */
};

/* One scan of the mount table. */
struct disk_scan {
	struct disk_ctx *c;
	char *mp[DISK_MAX];
	size_t n;
	bool overflow;
	bool oom;
};

void
src_disk_set_statvfs(src_disk_statvfs_fn *fn)
{
	pthread_mutex_lock(&sv.mu);
	sv.fn = fn != NULL ? fn : statvfs;
	pthread_mutex_unlock(&sv.mu);
}

void
src_disk_set_timeout(int ms)
{
	pthread_mutex_lock(&sv.mu);
	sv.timeout_ms = ms > 0 ? ms : DISK_TIMEOUT_MS;
	pthread_mutex_unlock(&sv.mu);
}

static void
sv_init(void)
{
	pthread_condattr_t ca;

	(void)pthread_condattr_init(&ca);
	(void)pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	(void)pthread_cond_init(&sv.cv, &ca);
	(void)pthread_condattr_destroy(&ca);
}

/* A helper: take requests one at a time; end when another one waits too. */
static void *
sv_helper(void *arg)
{
	src_disk_statvfs_fn *fn;
	struct statvfs st = { 0 };
	struct sv_req *r;
	int rc, e;

	(void)arg;
	pthread_mutex_lock(&sv.mu);
	for (;;) {
		/* One waiting helper is enough: a spare one ends. */
		while (sv.pending == NULL && sv.nidle <= 1)
			pthread_cond_wait(&sv.cv, &sv.mu);
		if (sv.pending == NULL)
			break;
		r = sv.pending;
		sv.pending = NULL;
		r->taken = true;
		sv.nidle--;
		fn = sv.fn;
		pthread_mutex_unlock(&sv.mu);
		rc = fn(r->path, &st);
		e = errno;
		pthread_mutex_lock(&sv.mu);
		if (r->abandoned) {
			/* Back from a hang: the mount may be asked again. */
			for (size_t i = 0; i < sv.nhung; i++)
				if (sv.hung[i] == r)
					sv.hung[i] = sv.hung[--sv.nhung];
			free(r);
		} else {
			r->st = st;
			r->rc = rc;
			r->err = e;
			r->done = true;
		}
		sv.nidle++;
		pthread_cond_broadcast(&sv.cv);
	}
	sv.nidle--;
	pthread_mutex_unlock(&sv.mu);
	return NULL;
}

/* Start a helper (sv.mu held).  Return 0 or -1. */
static int
sv_spawn(void)
{
	pthread_attr_t at;
	pthread_t th;
	int rc;

	if (pthread_attr_init(&at) != 0)
		return -1;
	(void)pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	/* statvfs() needs little stack. */
	(void)pthread_attr_setstacksize(&at, 64 * 1024);
	rc = pthread_create(&th, &at, sv_helper, NULL);
	(void)pthread_attr_destroy(&at);
	if (rc != 0)
		return -1;
	sv.nidle++;
	return 0;
}

/*
 * disk_statvfs(path, st, err): statvfs(${path}) in a helper thread, waiting
 * at most sv.timeout_ms.  Return 0, or -1 with the reason in ${err}.
 */
static int
disk_statvfs(const char *path, struct statvfs *st, struct ag_err *err)
{
	struct timespec until;
	struct sv_req *r;
	int rc = -1;

	(void)pthread_once(&sv.once, sv_init);
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return ag_err_set(err, "out of memory");
	if (snprintf(r->path, sizeof(r->path), "%s", path) >=
	    (int)sizeof(r->path)) {
		free(r);
		return ag_err_set(err, "cannot statvfs %s: %s", path,
		    strerror(ENAMETOOLONG));
	}
	pthread_mutex_lock(&sv.mu);
	for (size_t i = 0; i < sv.nhung; i++) {
		if (strcmp(sv.hung[i]->path, path) == 0) {
			ag_err_set(err, "statvfs %s still hangs; skipped",
			    path);
			goto out;
		}
	}
	if (sv.nidle == 0 && sv.nhung >= DISK_HUNG_MAX) {
		ag_err_set(err, "statvfs %s skipped: %d mounts hang already",
		    path, DISK_HUNG_MAX);
		goto out;
	}
	if (sv.nidle == 0 && sv_spawn() != 0) {
		ag_err_set(err, "statvfs %s: cannot start a thread", path);
		goto out;
	}
	/* Only when two collectors ask at once is the slot taken. */
	while (sv.pending != NULL)
		pthread_cond_wait(&sv.cv, &sv.mu);
	sv.pending = r;
	pthread_cond_broadcast(&sv.cv);
	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += sv.timeout_ms / 1000;
	until.tv_nsec += (long)(sv.timeout_ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	while (!r->done &&
	    pthread_cond_timedwait(&sv.cv, &sv.mu, &until) != ETIMEDOUT)
		;
	if (r->done) {
		if ((rc = r->rc) == 0)
			*st = r->st;
		else
			ag_err_set(err, "cannot statvfs %s: %s", path,
			    strerror(r->err));
		goto out;
	}
	if (!r->taken) {
		/* No helper got to it (a loaded machine): nothing hangs. */
		sv.pending = NULL;
	} else {
		r->abandoned = true;
		sv.hung[sv.nhung++] = r;
		r = NULL;
	}
	ag_err_set(err,
	    "statvfs %s did not answer within %d ms (a hung "
	    "network mount?)",
	    path, sv.timeout_ms);
out:
	pthread_mutex_unlock(&sv.mu);
	free(r);
	return rc;
}


static void
disk_free(void *ctx)
{
	struct disk_ctx *c = ctx;

	if (c == NULL)
		return;
	ag_strv_free(c->mounts);
	ag_strv_free(c->fs_types);
	ag_strv_free(c->ignore_fs);
	ag_strv_free(c->patterns);
	free(c);
}

/*
 * disk_check_mounts(c, cs, errs): mount points must be absolute; a trailing
 * slash is dropped ("/var/" is "/var") and a point may appear once.
 */
static int
disk_check_mounts(struct disk_ctx *c, const conf_node *cs,
    struct conf_errs *errs)
{
	char **m = c->mounts;
	size_t len;
	int rc = 0;

	for (size_t i = 0; m[i] != NULL; i++) {
		if (m[i][0] != '/') {
			rc = conf_error_at(errs, cs, "mounts",
			    "\"%s\" is not "
			    "an absolute path",
			    m[i]);
			continue;
		}
		len = strlen(m[i]);
		while (len > 1 && m[i][len - 1] == '/')
			m[i][--len] = '\0';
		for (size_t j = 0; j < i; j++)
			if (strcmp(m[i], m[j]) == 0)
				rc = conf_error_at(errs, cs, "mounts",
				    "\"%s\" "
				    "is listed twice",
				    m[i]);
	}
	return rc;
}

static int
disk_configure(void **ret_ctx, const conf_node *cs, struct conf_errs *errs)
{
	struct disk_ctx *c;
	size_t n;
	int rc = 0;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return conf_error(errs, cs, "out of memory");
	if (cs != NULL) {
		if (conf_get_strv(errs, cs, "mounts", false, &c->mounts, &n) ==
			1 &&
		    n == 0) {
			ag_strv_free(c->mounts);
			c->mounts = NULL;
			rc = conf_error_at(errs, cs, "mounts",
			    "must not be "
			    "empty (leave it out to report every mount)");
		}
		if (conf_get_strv(errs, cs, "fs_types", false, &c->fs_types,
			&n) == -1)
			rc = -1;
		if (conf_get_strv(errs, cs, "ignore_fs", false, &c->ignore_fs,
			&n) == -1)
			rc = -1;
	}
	if (c->mounts != NULL && disk_check_mounts(c, cs, errs) == -1)
		rc = -1;
	if (c->mounts != NULL && (c->fs_types != NULL || c->ignore_fs != NULL))
		rc = conf_error_at(errs, cs, "mounts",
		    "mounts chooses the "
		    "file systems; fs_types and ignore_fs cannot be used "
		    "with it");
	if (c->ignore_fs != NULL)
		c->ignore = c->ignore_fs;
	else if (c->fs_types == NULL)
		c->ignore = disk_ignore_default;
	if (rc == 0 && c->mounts != NULL &&
	    (c->patterns = src_patterns_new("disk", c->mounts,
		 disk_suffixes)) == NULL)
		rc = conf_error(errs, cs, "out of memory");
	if (rc == -1) {
		disk_free(c);
		return -1;
	}
	*ret_ctx = c;
	return 0;
}

/* disk_unescape(s): decode the octal escapes of a mount table field. */
static void
disk_unescape(char *s)
{
	char *w = s;

	for (; *s != '\0'; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' &&
		    s[2] >= '0' && s[2] <= '7' && s[3] >= '0' && s[3] <= '7') {
			*w++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 +
			    (s[3] - '0'));
			s += 3;
		} else {
			*w++ = *s;
		}
	}
	*w = '\0';
}

static bool
disk_wanted(const struct disk_ctx *c, const char *mp, const char *type)
{
	if (c->mounts != NULL)
		return src_strv_has(c->mounts, mp);
	if (c->fs_types != NULL && !src_strv_has(c->fs_types, type))
		return false;
	return !src_strv_has(c->ignore, type);
}

static int
disk_line(void *cookie, char *line, struct ag_err *err)
{
	struct disk_scan *sc = cookie;
	char *save, *mp, *type;
	size_t i;

	/* "device mountpoint type options dump pass" */
	if (strtok_r(line, " \t", &save) == NULL ||
	    (mp = strtok_r(NULL, " \t", &save)) == NULL ||
	    (type = strtok_r(NULL, " \t", &save)) == NULL)
		return 0;
	disk_unescape(mp);
	disk_unescape(type);

	/*
	 * A later mount on the same point hides the earlier one: it keeps
	 * the point's place in the list if its type is wanted too, and
	 * removes it otherwise.
	 */
	for (i = 0; i < sc->n; i++)
		if (strcmp(sc->mp[i], mp) == 0)
			break;
	if (disk_wanted(sc->c, mp, type)) {
		if (i < sc->n)
			return 0;
	} else {
		if (i < sc->n) {
			free(sc->mp[i]);
			memmove(&sc->mp[i], &sc->mp[i + 1],
			    (sc->n - i - 1) * sizeof(sc->mp[0]));
			sc->n--;
		}
		return 0;
	}
	if (sc->n == DISK_MAX) {
		sc->overflow = true;
		return 0;
	}
	if ((sc->mp[sc->n] = strdup(mp)) == NULL) {
		sc->oom = true;
		return 1;
	}
	sc->n++;
	return 0;
}

static void
disk_scan_clear(struct disk_scan *sc)
{
	for (size_t i = 0; i < sc->n; i++)
		free(sc->mp[i]);
	sc->n = 0;
	sc->overflow = sc->oom = false;
}

/* disk_err_append(err, fmt, ...): add "; problem" to ${err}'s message. */
static void __attribute__((format(printf, 2, 3)))
disk_err_append(struct ag_err *err, const char *fmt, ...)
{
	size_t off;
	va_list ap;

	if (err == NULL)
		return;
	off = strlen(err->msg);
	if (off > 0 && off + 2 < sizeof(err->msg)) {
		memcpy(err->msg + off, "; ", 3);
		off += 2;
	}
	if (off + 1 >= sizeof(err->msg))
		return;
	va_start(ap, fmt);
	vsnprintf(err->msg + off, sizeof(err->msg) - off, fmt, ap);
	va_end(ap);
}

/*
 * disk_report(c, mp, out, err): the readings of one mount point.  Return 1
 * if reported, 0 if left out, -1 on error (added to ${err}).
 */
static int
disk_report(struct disk_ctx *c, const char *mp, struct metric_batch *out,
    struct ag_err *err)
{
	struct statvfs st = { 0 };
	struct ag_err aerr = { "" };
	uint64_t frsize, used, avail;
	double pct;

	if (disk_statvfs(mp, &st, &aerr) == -1) {
		/* Discovered mounts that fail are left out, unless hung. */
		if (c->mounts == NULL && strncmp(aerr.msg, "cannot ", 7) == 0)
			return 0;
		disk_err_append(err, "%s", aerr.msg);
		return -1;
	}
	if (st.f_blocks == 0 && c->mounts == NULL)
		return 0;
	frsize = st.f_frsize != 0 ? st.f_frsize : st.f_bsize;
	used = st.f_blocks >= st.f_bfree ? st.f_blocks - st.f_bfree : 0;
	avail = st.f_bavail;
	pct = used + avail == 0 ?
	    0.0 :
	    100.0 * (double)used / (double)(used + avail);
	aerr.msg[0] = '\0';
	if (src_add(out, &aerr, pct, "disk.%s.used_pct", mp) == -1 ||
	    src_add(out, &aerr, (double)avail * (double)frsize,
		"disk.%s.free_bytes", mp) == -1 ||
	    src_add(out, &aerr, (double)st.f_blocks * (double)frsize,
		"disk.%s.total_bytes", mp) == -1)
		goto err0;
	if (st.f_files > 0) {
		used = st.f_files >= st.f_ffree ? st.f_files - st.f_ffree : 0;
		if (src_add(out, &aerr,
			100.0 * (double)used / (double)st.f_files,
			"disk.%s.inodes_used_pct", mp) == -1)
			goto err0;
	}
	return 1;

err0:
	disk_err_append(err, "%s", aerr.msg);
	return -1;
}

static int
disk_collect(void *ctx, struct metric_batch *out, struct ag_err *err)
{
	struct disk_ctx *c = ctx;
	struct disk_scan *sc;
	struct ag_err ferr;
	int rc = 0;

	/* Up to DISK_MAX pointers: too many for a small daemon stack. */
	if ((sc = calloc(1, sizeof(*sc))) == NULL)
		return ag_err_set(err, "out of memory");
	sc->c = c;
	if (src_lines("self/mounts", disk_line, sc, &ferr) == -1) {
		disk_scan_clear(sc);
		if (src_lines("mounts", disk_line, sc, NULL) == -1) {
			rc = ag_err_set(err, "%s", ferr.msg);
			goto out;
		}
	}
	if (sc->oom) {
		rc = ag_err_set(err, "out of memory");
		goto out;
	}

	if (err != NULL)
		err->msg[0] = '\0';
	for (size_t i = 0; i < sc->n; i++)
		if (disk_report(c, sc->mp[i], out, err) == -1)
			rc = -1;
	for (size_t i = 0; c->mounts != NULL && c->mounts[i] != NULL; i++) {
		size_t j;

		for (j = 0; j < sc->n; j++)
			if (strcmp(sc->mp[j], c->mounts[i]) == 0)
				break;
		if (j == sc->n) {
			disk_err_append(err, "%s is not mounted",
			    c->mounts[i]);
			rc = -1;
		}
	}
	if (sc->overflow) {
		disk_err_append(err,
		    "more than %d file systems; choose some "
		    "with mounts or fs_types",
		    DISK_MAX);
		rc = -1;
	}

out:
	disk_scan_clear(sc);
	free(sc);
	return rc;
}

static const char *const *
disk_patterns_fn(void *ctx)
{
	struct disk_ctx *c = ctx;

	if (c->patterns != NULL)
		return (const char *const *)c->patterns;
	return disk_patterns_all;
}

const struct source_ops src_disk_ops = {
	.type = "disk",
	.settings = disk_settings,
	.configure = disk_configure,
	.collect = disk_collect,
	.patterns = disk_patterns_fn,
	.free = disk_free,
};
