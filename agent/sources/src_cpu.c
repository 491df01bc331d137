/*
 * src_cpu.c: the "cpu" source: CPU time shares from /proc/stat.
 *
 * /proc/stat counts, per CPU and in sum, the clock ticks spent in user,
 * nice, system, idle, iowait, irq, softirq and steal time (guest time is
 * already inside user and nice).  Shares come from the difference of two
 * samples, so the first collection only primes the counters.  The split
 * follows vmstat(8): user = user + nice, system = system + irq + softirq,
 * and used = user + system; idle, iowait and steal are not "used".  A
 * counter that went backwards (a CPU hot-plugged, a restored VM) re-primes
 * instead of reporting a bogus share.
 *
 * Settings: per_cpu (bool, default false) adds cpu.<N>.used_pct.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "lib/ag.h"
#include "agent/source_backend.h"
#include "agent/sources/src.h"

/* Highest CPU number + 1 that per_cpu follows. */
#define CPU_MAX 8192

enum {
	T_USER,
	T_NICE,
	T_SYSTEM,
	T_IDLE,
	T_IOWAIT,
	T_IRQ,
	T_SOFTIRQ,
	T_STEAL,
	T_N
};

struct cpu_times {
	uint64_t t[T_N];
	bool valid;
};

struct cpu_ctx {
	bool per_cpu;
	bool primed;
	struct cpu_times all, all_cur;
	struct cpu_times *prev, *cur; /* per CPU, indexed by number */
	size_t ncpu;		      /* slots in prev and cur */
};

static const char *const cpu_settings[] = { "per_cpu", NULL };

static const char *const cpu_patterns[] = { "cpu.used_pct", "cpu.iowait_pct",
	"cpu.steal_pct", "cpu.user_pct", "cpu.system_pct", NULL };
static const char *const cpu_patterns_per_cpu[] = { "cpu.used_pct",
	"cpu.iowait_pct", "cpu.steal_pct", "cpu.user_pct", "cpu.system_pct",
	"cpu.*.used_pct", NULL };

static int
cpu_configure(void **ret_ctx, const conf_node *cs, struct conf_errs *errs)
{
	struct cpu_ctx *c;
	bool per_cpu = false;

	if (cs != NULL &&
	    conf_get_bool(errs, cs, "per_cpu", false, &per_cpu) == -1)
		return -1;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return conf_error(errs, cs, "out of memory");
	c->per_cpu = per_cpu;
	*ret_ctx = c;
	return 0;
}

/* cpu_grow(c, n): make room for CPU numbers below ${n}. */
static int
cpu_grow(struct cpu_ctx *c, size_t n)
{
	struct cpu_times *np, *nc;
	size_t ncap;

	if (n <= c->ncpu)
		return 0;
	ncap = c->ncpu == 0 ? 16 : c->ncpu;
	while (ncap < n)
		ncap *= 2;
	if (ncap > CPU_MAX)
		ncap = CPU_MAX;
	if ((np = realloc(c->prev, ncap * sizeof(*np))) == NULL)
		return -1;
	c->prev = np;
	memset(np + c->ncpu, 0, (ncap - c->ncpu) * sizeof(*np));
	if ((nc = realloc(c->cur, ncap * sizeof(*nc))) == NULL)
		return -1;
	c->cur = nc;
	memset(nc + c->ncpu, 0, (ncap - c->ncpu) * sizeof(*nc));
	c->ncpu = ncap;
	return 0;
}

/*
 * cpu_parse_times(s, t): read the tick counters after a "cpuN" label; old
 * kernels have fewer columns, which count as zero.  Return 0 or -1.
 */
static int
cpu_parse_times(const char *s, struct cpu_times *t)
{
	char *end;
	int n;

	memset(t, 0, sizeof(*t));
	for (n = 0; n < T_N; n++) {
		while (*s == ' ' || *s == '\t')
			s++;
		if (!isdigit((unsigned char)*s))
			break;
		errno = 0;
		t->t[n] = strtoull(s, &end, 10);
		if (errno != 0)
			return -1;
		s = end;
	}
	if (n < T_IDLE + 1)
		return -1;
	t->valid = true;
	return 0;
}

static int
cpu_line(void *cookie, char *line, struct ag_err *err)
{
	struct cpu_ctx *c = cookie;
	struct cpu_times t;
	unsigned long num;
	char *end;

	/* The cpu lines come first; stop before the long "intr" line. */
	if (strncmp(line, "cpu", 3) != 0)
		return 1;
	if (line[3] == ' ') {
		if (cpu_parse_times(line + 3, &c->all_cur) == -1)
			return ag_err_set(err, "bad /proc/stat line: %.60s",
			    line);
		return 0;
	}
	if (!c->per_cpu)
		return 0;
	if (!isdigit((unsigned char)line[3]))
		return 0;
	errno = 0;
	num = strtoul(line + 3, &end, 10);
	if (errno != 0 || (*end != ' ' && *end != '\t') || num >= CPU_MAX)
		return 0;
	if (cpu_parse_times(end, &t) == -1)
		return ag_err_set(err, "bad /proc/stat line: %.60s", line);
	if (cpu_grow(c, num + 1) == -1)
		return ag_err_set(err, "out of memory");
	c->cur[num] = t;
	return 0;
}

/*
 * cpu_delta(prev, cur, d): the tick differences; return their sum, or 0 if
 * either sample is missing or a counter went backwards.
 */
static uint64_t
cpu_delta(const struct cpu_times *prev, const struct cpu_times *cur,
    uint64_t d[T_N])
{
	uint64_t sum = 0;

	if (!prev->valid || !cur->valid)
		return 0;
	for (int i = 0; i < T_N; i++) {
		if (cur->t[i] < prev->t[i])
			return 0;
		d[i] = cur->t[i] - prev->t[i];
		sum += d[i];
	}
	return sum;
}

static int
cpu_collect(void *ctx, struct metric_batch *out, struct ag_err *err)
{
	struct cpu_ctx *c = ctx;
	uint64_t d[T_N], sum, used;
	double tot;
	int rc = 0;

	memset(&c->all_cur, 0, sizeof(c->all_cur));
	for (size_t i = 0; i < c->ncpu; i++)
		c->cur[i].valid = false;
	if (src_lines("stat", cpu_line, c, err) == -1)
		return -1;
	if (!c->all_cur.valid)
		return ag_err_set(err, "no cpu line in /proc/stat");

	/* Not primed, or the sum went backwards, or no tick passed. */
	sum = cpu_delta(&c->all, &c->all_cur, d);
	if (!c->primed || sum == 0)
		goto out;

	tot = (double)sum;
	used = d[T_USER] + d[T_NICE] + d[T_SYSTEM] + d[T_IRQ] + d[T_SOFTIRQ];
	if (src_add(out, err, 100.0 * (double)used / tot, "cpu.used_pct") ||
	    src_add(out, err, 100.0 * (double)d[T_IOWAIT] / tot,
		"cpu.iowait_pct") ||
	    src_add(out, err, 100.0 * (double)d[T_STEAL] / tot,
		"cpu.steal_pct") ||
	    src_add(out, err, 100.0 * (double)(d[T_USER] + d[T_NICE]) / tot,
		"cpu.user_pct") ||
	    src_add(out, err,
		100.0 * (double)(d[T_SYSTEM] + d[T_IRQ] + d[T_SOFTIRQ]) / tot,
		"cpu.system_pct")) {
		rc = -1;
		goto out;
	}
	for (size_t i = 0; c->per_cpu && i < c->ncpu; i++) {
		if ((sum = cpu_delta(&c->prev[i], &c->cur[i], d)) == 0)
			continue;
		used = d[T_USER] + d[T_NICE] + d[T_SYSTEM] + d[T_IRQ] +
		    d[T_SOFTIRQ];
		if (src_add(out, err, 100.0 * (double)used / (double)sum,
			"cpu.%zu.used_pct", i) == -1) {
			rc = -1;
			break;
		}
	}

out:
	c->all = c->all_cur;
	for (size_t i = 0; i < c->ncpu; i++)
		c->prev[i] = c->cur[i];
	c->primed = true;
	return rc;
}

static const char *const *
cpu_patterns_fn(void *ctx)
{
	struct cpu_ctx *c = ctx;

	return c->per_cpu ? cpu_patterns_per_cpu : cpu_patterns;
}

static void
cpu_free(void *ctx)
{
	struct cpu_ctx *c = ctx;

	if (c == NULL)
		return;
	free(c->prev);
	free(c->cur);
	free(c);
}

const struct source_ops src_cpu_ops = {
	.type = "cpu",
	.settings = cpu_settings,
	.configure = cpu_configure,
	.collect = cpu_collect,
	.patterns = cpu_patterns_fn,
	.free = cpu_free,
};
