/*
 * src.c: helpers shared by the local sources; see src.h.
 *
 * Files under /proc are read through a fixed line buffer or into a caller's
 * buffer, never into memory sized by the file, so a huge /proc/stat "intr"
 * line or a host with thousands of mounts costs time, not memory.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/ag.h"
#include "agent/source.h"
#include "agent/sources/src.h"

int
src_read(const char *rel, char *buf, size_t size, size_t *ret_len,
    struct ag_err *err)
{
	char path[PATH_MAX];
	size_t len = 0;
	ssize_t r;
	int fd, saved;

	if (source_proc_path(rel, path, sizeof(path)) == NULL)
		return ag_err_set(err, "cannot read /proc/%s: path too long",
		    rel);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return ag_err_set(err, "cannot read %s: %s", path,
		    strerror(errno));
	while (len + 1 < size) {
		r = read(fd, buf + len, size - 1 - len);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			saved = errno;
			(void)close(fd);
			return ag_err_set(err, "cannot read %s: %s", path,
			    strerror(saved));
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	(void)close(fd);
	if (size > 0)
		buf[len] = '\0';
	if (ret_len != NULL)
		*ret_len = len;
	return 0;
}

int
src_lines(const char *rel, src_line_fn *fn, void *cookie, struct ag_err *err)
{
	char path[PATH_MAX];
	char line[SRC_LINE_MAX];
	size_t total = 0, len;
	FILE *f;
	int c, rc = 0;

	if (source_proc_path(rel, path, sizeof(path)) == NULL)
		return ag_err_set(err, "cannot read /proc/%s: path too long",
		    rel);
	if ((f = fopen(path, "re")) == NULL)
		return ag_err_set(err, "cannot read %s: %s", path,
		    strerror(errno));
	while (fgets(line, sizeof(line), f) != NULL) {
		len = strlen(line);
		total += len;
		if (len > 0 && line[len - 1] == '\n') {
			line[--len] = '\0';
		} else if (len == sizeof(line) - 1) {
			/* Cut a long line: skip to its end. */
			while ((c = getc(f)) != EOF && c != '\n')
				total++;
		}
		if (total > SRC_FILE_MAX) {
			rc = ag_err_set(err,
			    "cannot read %s: larger than %u "
			    "bytes",
			    path, SRC_FILE_MAX);
			break;
		}
		if ((rc = fn(cookie, line, err)) != 0)
			break;
	}
	if (rc == 0 && ferror(f))
		rc = ag_err_set(err, "cannot read %s: %s", path,
		    strerror(errno));
	(void)fclose(f);
	return rc < 0 ? -1 : 0;
}

int
src_add(struct metric_batch *b, struct ag_err *err, double value,
    const char *fmt, ...)
{
	char name[METRIC_NAME_MAX + 32];
	va_list ap;
	int len;

	va_start(ap, fmt);
	len = vsnprintf(name, sizeof(name), fmt, ap);
	va_end(ap);
	if (len < 0 || (size_t)len >= METRIC_NAME_MAX)
		return ag_err_set(err,
		    "cannot add %.*s...: name longer than "
		    "%d bytes",
		    60, name, METRIC_NAME_MAX - 1);
	if (metric_add_ts(b, b->now_ms, value, name) == -1)
		return ag_err_set(err,
		    "cannot add %s: batch full (%zu "
		    "readings)",
		    name, b->max);
	return 0;
}

char **
src_patterns_new(const char *prefix, char *const *items,
    const char *const *suffixes)
{
	size_t ni = 0, ns = 0, k = 0;
	char **v;
	int len;

	while (items[ni] != NULL)
		ni++;
	while (suffixes[ns] != NULL)
		ns++;
	if ((v = calloc(ni * ns + 1, sizeof(*v))) == NULL)
		return NULL;
	for (size_t i = 0; i < ni; i++) {
		for (size_t j = 0; j < ns; j++) {
			len = snprintf(NULL, 0, "%s.%s.%s", prefix, items[i],
			    suffixes[j]);
			if (len < 0 ||
			    (v[k] = malloc((size_t)len + 1)) == NULL)
				goto err0;
			(void)snprintf(v[k], (size_t)len + 1, "%s.%s.%s",
			    prefix, items[i], suffixes[j]);
			k++;
		}
	}
	return v;

err0:
	ag_strv_free(v);
	return NULL;
}

bool
src_all_digits(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++)
		if (!isdigit((unsigned char)*s))
			return false;
	return true;
}

bool
src_strv_has(char *const *v, const char *s)
{
	if (v == NULL)
		return false;
	for (size_t i = 0; v[i] != NULL; i++)
		if (strcmp(v[i], s) == 0)
			return true;
	return false;
}

void
src_series_init(struct src_series_set *s, size_t max)
{
	memset(s, 0, sizeof(*s));
	s->max = max;
}

void
src_series_free(struct src_series_set *s)
{
	free(s->v);
	s->v = NULL;
	s->n = s->cap = 0;
}

int
src_series_add(struct src_series_set *s, const char *name,
    const uint64_t c[SRC_SERIES_CTRS], struct ag_err *err)
{
	struct src_series *nv;
	size_t ncap;

	if (strlen(name) >= SRC_SERIES_NAME)
		return ag_err_set(err, "name too long: %.40s...", name);
	if (s->n >= s->max)
		return ag_err_set(err, "more than %zu series", s->max);
	if (s->n == s->cap) {
		ncap = s->cap == 0 ? 8 : s->cap * 2;
		if (ncap > s->max)
			ncap = s->max;
		if ((nv = realloc(s->v, ncap * sizeof(*nv))) == NULL)
			return ag_err_set(err, "out of memory");
		s->v = nv;
		s->cap = ncap;
	}
	(void)snprintf(s->v[s->n].name, SRC_SERIES_NAME, "%s", name);
	memcpy(s->v[s->n].c, c, sizeof(s->v[s->n].c));
	s->n++;
	return 0;
}

const struct src_series *
src_series_find(const struct src_series_set *s, size_t hint, const char *name)
{
	if (hint < s->n && strcmp(s->v[hint].name, name) == 0)
		return &s->v[hint];
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->v[i].name, name) == 0)
			return &s->v[i];
	return NULL;
}

void
src_series_swap(struct src_series_set *a, struct src_series_set *b)
{
	struct src_series_set t;

	t = *a;
	*a = *b;
	*b = t;
}
