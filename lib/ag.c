/*
 * ag.c: the error record shared by network-facing calls, mkdir -p, and the
 * check that a folder of ours is ours.  The error record's text reaches
 * logs, `vigil status` and the CLI, so it is redacted like a log line.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <sys/stat.h>

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/ag.h"

int
ag_err_set(struct ag_err *err, const char *fmt, ...)
{
	va_list ap;
	char msg[AG_ERR_SIZE];

	if (err == NULL)
		return -1;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_redact(msg, err->msg, sizeof(err->msg));
	return -1;
}

int
ag_mkdir_p(const char *path, mode_t mode, mode_t parent_mode)
{
	char buf[PATH_MAX];

	if (*path == '\0') {
		errno = ENOENT;
		return -1;
	}
	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	for (char *p = buf + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, parent_mode) != 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(buf, mode) != 0) {
		struct stat sb;

		if (errno != EEXIST)
			return -1;
		if (stat(buf, &sb) != 0)
			return -1;
		if (!S_ISDIR(sb.st_mode)) {
			errno = ENOTDIR;
			return -1;
		}
	}
	return 0;
}

int
ag_check_owned_dir(const char *path, struct ag_err *err)
{
	struct stat st;

	if (lstat(path, &st) != 0)
		return ag_err_set(err, "cannot check %s: %s", path,
		    strerror(errno));
	if (S_ISLNK(st.st_mode))
		return ag_err_set(err, "%s is a symbolic link: refusing it",
		    path);
	if (!S_ISDIR(st.st_mode))
		return ag_err_set(err, "%s is not a folder", path);
	if (st.st_uid != geteuid() && st.st_uid != 0)
		return ag_err_set(err,
		    "%s belongs to uid %u, not to uid %u: "
		    "refusing it, as another user may have made it (remove "
		    "it, or set agent.state_dir)",
		    path, (unsigned)st.st_uid, (unsigned)geteuid());
	if ((st.st_mode & 022) != 0)
		return ag_err_set(err,
		    "%s is writable by group or others "
		    "(mode %04o): refusing it (chmod 700 %s)",
		    path, (unsigned)(st.st_mode & 07777), path);
	return 0;
}

void
ag_strv_free(char **v)
{
	if (v == NULL)
		return;
	for (size_t i = 0; v[i] != NULL; i++)
		free(v[i]);
	free(v);
}
