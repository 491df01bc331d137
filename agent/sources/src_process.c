/*
 * src_process.c: the "process" source: are the named programs running, and
 * how many copies?
 *
 * It walks the numeric directories of /proc (under the proc root).  A
 * process counts for a name if its /proc/PID/comm equals the name, or if
 * the last path component of its argv[0] (the first NUL-terminated field
 * of /proc/PID/cmdline) does.  comm alone would miss names longer than the
 * kernel's 15 characters ("systemd-journald" is "systemd-journal" there)
 * and programs started through an interpreter; argv[0] alone would miss
 * processes that rewrite their command line ("sshd: root@pts/0").  A
 * process that exits while we look is simply not counted.
 *
 * Settings: names (required, a list of program names).  Readings:
 * proc.<name>.count and proc.<name>.running (1 or 0).
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/ag.h"
#include "agent/source_backend.h"
#include "agent/sources/src.h"

/* Most names one instance watches. */
#define PROC_NAMES_MAX 64
/* Longest name: "proc.<name>.running" must fit METRIC_NAME_MAX. */
#define PROC_NAME_LEN 128
/* Bytes of /proc/PID/cmdline read: argv[0] is at the start. */
#define PROC_CMDLINE_MAX 4096

static const char *const proc_settings[] = { "names", NULL };

static const char *const proc_suffixes[] = { "count", "running", NULL };

struct proc_ctx {
	char **names;
	size_t n;
	unsigned long *counts;
	char **patterns;
};

static void
proc_free(void *ctx)
{
	struct proc_ctx *c = ctx;

	if (c == NULL)
		return;
	ag_strv_free(c->names);
	ag_strv_free(c->patterns);
	free(c->counts);
	free(c);
}

static int
proc_configure(void **ret_ctx, const conf_node *cs, struct conf_errs *errs)
{
	struct proc_ctx *c;
	int rc = 0;

	if (cs == NULL)
		return conf_error(errs, NULL,
		    "process source: names is "
		    "required");
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return conf_error(errs, cs, "out of memory");
	if (conf_get_strv(errs, cs, "names", true, &c->names, &c->n) != 1) {
		rc = -1;
		goto out;
	}
	if (c->n == 0 || c->n > PROC_NAMES_MAX) {
		rc = conf_error_at(errs, cs, "names",
		    "give between 1 and %d "
		    "program names",
		    PROC_NAMES_MAX);
		goto out;
	}
	for (size_t i = 0; i < c->n; i++) {
		const char *nm = c->names[i];

		if (nm[0] == '\0' || strlen(nm) >= PROC_NAME_LEN ||
		    strchr(nm, '/') != NULL)
			rc = conf_error_at(errs, cs, "names",
			    "\"%s\" is not "
			    "a program name (no path, at most %d characters)",
			    nm, PROC_NAME_LEN - 1);
		for (size_t j = 0; j < i; j++)
			if (strcmp(nm, c->names[j]) == 0)
				rc = conf_error_at(errs, cs, "names",
				    "\"%s\" "
				    "is listed twice",
				    nm);
	}
	if (rc == -1)
		goto out;
	if ((c->counts = calloc(c->n, sizeof(*c->counts))) == NULL ||
	    (c->patterns = src_patterns_new("proc", c->names,
		 proc_suffixes)) == NULL)
		rc = conf_error(errs, cs, "out of memory");

out:
	if (rc == -1) {
		proc_free(c);
		return -1;
	}
	*ret_ctx = c;
	return 0;
}

/* proc_look(c, pid): count process ${pid} for the names it matches. */
static void
proc_look(struct proc_ctx *c, const char *pid)
{
	char rel[NAME_MAX + 16];
	char comm[64], cmd[PROC_CMDLINE_MAX];
	const char *base;
	size_t len;

	(void)snprintf(rel, sizeof(rel), "%s/comm", pid);
	if (src_read(rel, comm, sizeof(comm), &len, NULL) == -1)
		return; /* gone already */
	if (len > 0 && comm[len - 1] == '\n')
		comm[len - 1] = '\0';
	(void)snprintf(rel, sizeof(rel), "%s/cmdline", pid);
	if (src_read(rel, cmd, sizeof(cmd), NULL, NULL) == -1)
		cmd[0] = '\0';
	/* cmd holds argv[0] up to its NUL; kernel threads have none. */
	base = strrchr(cmd, '/');
	base = base != NULL ? base + 1 : cmd;
	for (size_t i = 0; i < c->n; i++)
		if (strcmp(comm, c->names[i]) == 0 ||
		    (base[0] != '\0' && strcmp(base, c->names[i]) == 0))
			c->counts[i]++;
}

static int
proc_collect(void *ctx, struct metric_batch *out, struct ag_err *err)
{
	struct proc_ctx *c = ctx;
	char path[PATH_MAX];
	struct dirent *de;
	DIR *d;

	if (source_proc_path("", path, sizeof(path)) == NULL)
		return ag_err_set(err, "cannot read /proc: path too long");
	if ((d = opendir(path)) == NULL)
		return ag_err_set(err, "cannot read %s: %s", path,
		    strerror(errno));
	memset(c->counts, 0, c->n * sizeof(*c->counts));
	while ((de = readdir(d)) != NULL)
		if (src_all_digits(de->d_name))
			proc_look(c, de->d_name);
	(void)closedir(d);

	for (size_t i = 0; i < c->n; i++) {
		if (src_add(out, err, (double)c->counts[i], "proc.%s.count",
			c->names[i]) == -1 ||
		    src_add(out, err, c->counts[i] > 0 ? 1.0 : 0.0,
			"proc.%s.running", c->names[i]) == -1)
			return -1;
	}
	return 0;
}

static const char *const *
proc_patterns_fn(void *ctx)
{
	struct proc_ctx *c = ctx;

	return (const char *const *)c->patterns;
}

const struct source_ops src_process_ops = {
	.type = "process",
	.settings = proc_settings,
	.configure = proc_configure,
	.collect = proc_collect,
	.patterns = proc_patterns_fn,
	.free = proc_free,
};
