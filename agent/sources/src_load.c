/*
 * src_load.c: the "load" source: load averages from /proc/loadavg.
 *
 * Besides the 1, 5 and 15 minute averages it reports each divided by the
 * number of online CPUs, which lets one rule ("load.5_per_core > 2") serve
 * hosts of every size.  The CPUs are counted from the "cpuN" lines of
 * /proc/stat (under the same root, so tests control it); if that file
 * cannot be read, sysconf(_SC_NPROCESSORS_ONLN) is asked.  No settings.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/ag.h"
#include "agent/source_backend.h"
#include "agent/sources/src.h"

static const char *const load_settings[] = { NULL };

static const char *const load_patterns[] = { "load.1", "load.5", "load.15",
	"load.1_per_core", "load.5_per_core", "load.15_per_core", NULL };

struct load_ctx {
	int unused;
};

static int
load_configure(void **ret_ctx, const conf_node *cs, struct conf_errs *errs)
{
	struct load_ctx *c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return conf_error(errs, cs, "out of memory");
	*ret_ctx = c;
	return 0;
}

static int
load_count_cpu(void *cookie, char *line, struct ag_err *err)
{
	long *n = cookie;

	if (strncmp(line, "cpu", 3) != 0)
		return 1; /* past the cpu lines */
	if (line[3] >= '0' && line[3] <= '9')
		(*n)++;
	return 0;
}

/* load_cores(): online CPUs, at least 1. */
static long
load_cores(void)
{
	struct ag_err ignored;
	long n = 0;

	if (src_lines("stat", load_count_cpu, &n, &ignored) == -1 || n <= 0)
		n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? n : 1;
}

static int
load_collect(void *ctx, struct metric_batch *out, struct ag_err *err)
{
	char buf[256];
	double l1, l5, l15, cores;

	if (src_read("loadavg", buf, sizeof(buf), NULL, err) == -1)
		return -1;
	if (sscanf(buf, "%lf %lf %lf", &l1, &l5, &l15) != 3 || l1 < 0 ||
	    l5 < 0 || l15 < 0)
		return ag_err_set(err, "bad /proc/loadavg: %.60s", buf);
	cores = (double)load_cores();
	if (src_add(out, err, l1, "load.1") == -1 ||
	    src_add(out, err, l5, "load.5") == -1 ||
	    src_add(out, err, l15, "load.15") == -1 ||
	    src_add(out, err, l1 / cores, "load.1_per_core") == -1 ||
	    src_add(out, err, l5 / cores, "load.5_per_core") == -1 ||
	    src_add(out, err, l15 / cores, "load.15_per_core") == -1)
		return -1;
	return 0;
}

static const char *const *
load_patterns_fn(void *ctx)
{
	return load_patterns;
}

static void
load_free(void *ctx)
{
	free(ctx);
}

const struct source_ops src_load_ops = {
	.type = "load",
	.settings = load_settings,
	.configure = load_configure,
	.collect = load_collect,
	.patterns = load_patterns_fn,
	.free = load_free,
};
