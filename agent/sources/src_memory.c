/*
 * src_memory.c: the "memory" source: RAM and swap use from /proc/meminfo.
 *
 * Used memory is what the kernel cannot hand out without swapping:
 * MemTotal - MemAvailable, the figure free(1) shows as "used" plus the
 * unreclaimable caches.  Kernels before 3.14 have no MemAvailable; then
 * MemFree + Buffers + Cached + SReclaimable stands in for it.  Swap use is
 * SwapTotal - SwapFree, and 0% on a host without swap.  No settings.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "lib/ag.h"
#include "agent/source_backend.h"
#include "agent/sources/src.h"

enum {
	M_TOTAL,
	M_AVAIL,
	M_FREE,
	M_BUFFERS,
	M_CACHED,
	M_SRECLAIM,
	M_SWTOTAL,
	M_SWFREE,
	M_N
};

static const char *const mem_keys[M_N] = { "MemTotal", "MemAvailable",
	"MemFree", "Buffers", "Cached", "SReclaimable", "SwapTotal",
	"SwapFree" };

struct mem_sample {
	uint64_t kb[M_N];
	bool have[M_N];
};

static const char *const mem_settings[] = { NULL };

static const char *const mem_patterns[] = { "mem.used_pct",
	"mem.available_bytes", "mem.total_bytes", "swap.used_pct",
	"swap.used_bytes", NULL };

/* No settings; the context only marks that the source exists. */
struct mem_ctx {
	int unused;
};

static int
mem_configure(void **ret_ctx, const conf_node *cs, struct conf_errs *errs)
{
	struct mem_ctx *c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return conf_error(errs, cs, "out of memory");
	*ret_ctx = c;
	return 0;
}

/* A line is "Key:   12345 kB" (a few, such as HugePages_Total, lack kB). */
static int
mem_line(void *cookie, char *line, struct ag_err *err)
{
	struct mem_sample *m = cookie;
	char *colon, *end;
	uint64_t v;

	if ((colon = strchr(line, ':')) == NULL)
		return 0;
	*colon = '\0';
	for (int i = 0; i < M_N; i++) {
		if (strcmp(line, mem_keys[i]) != 0)
			continue;
		errno = 0;
		v = strtoull(colon + 1, &end, 10);
		if (errno != 0 || end == colon + 1)
			return ag_err_set(err,
			    "bad /proc/meminfo value for %s", mem_keys[i]);
		m->kb[i] = v;
		m->have[i] = true;
		break;
	}
	return 0;
}

static int
mem_collect(void *ctx, struct metric_batch *out, struct ag_err *err)
{
	struct mem_sample m;
	uint64_t total, avail, swused;
	double used_pct, swap_pct;

	memset(&m, 0, sizeof(m));
	if (src_lines("meminfo", mem_line, &m, err) == -1)
		return -1;
	if (!m.have[M_TOTAL] || m.kb[M_TOTAL] == 0)
		return ag_err_set(err, "no MemTotal in /proc/meminfo");
	total = m.kb[M_TOTAL];
	if (m.have[M_AVAIL])
		avail = m.kb[M_AVAIL];
	else
		avail = m.kb[M_FREE] + m.kb[M_BUFFERS] + m.kb[M_CACHED] +
		    m.kb[M_SRECLAIM];
	if (avail > total)
		avail = total;
	swused = m.kb[M_SWFREE] < m.kb[M_SWTOTAL] ?
	    m.kb[M_SWTOTAL] - m.kb[M_SWFREE] :
	    0;

	used_pct = 100.0 * (double)(total - avail) / (double)total;
	swap_pct = m.kb[M_SWTOTAL] == 0 ?
	    0.0 :
	    100.0 * (double)swused / (double)m.kb[M_SWTOTAL];
	if (src_add(out, err, used_pct, "mem.used_pct") == -1 ||
	    src_add(out, err, avail * 1024.0, "mem.available_bytes") == -1 ||
	    src_add(out, err, total * 1024.0, "mem.total_bytes") == -1 ||
	    src_add(out, err, swap_pct, "swap.used_pct") == -1 ||
	    src_add(out, err, swused * 1024.0, "swap.used_bytes") == -1)
		return -1;
	return 0;
}

static const char *const *
mem_patterns_fn(void *ctx)
{
	return mem_patterns;
}

static void
mem_free(void *ctx)
{
	free(ctx);
}

const struct source_ops src_memory_ops = {
	.type = "memory",
	.settings = mem_settings,
	.configure = mem_configure,
	.collect = mem_collect,
	.patterns = mem_patterns_fn,
	.free = mem_free,
};
