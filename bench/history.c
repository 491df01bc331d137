/*
 * history.c (bench_history): what the metric history costs, for
 * bench/history.sh.
 *
 * Fills a history of the default tiers (10 s for 3 h, 1 min for 2 days,
 * 10 min for 30 days) with SERIES series (default 500) over 30 days, so
 * that every slot of every tier is full: a reading a minute for the first
 * 30 days less 3 hours, then one every 10 s.  Beside it, in the same run,
 * the peer: the same slots kept as naive (t, v) points of 16 bytes, one
 * ring per series and tier.  Printed: bytes per series of each (as the
 * history counts them and as the heap grew, mallinfo2()), the ratio, the
 * 16-byte points of every reading for 30 days (computed), the median and
 * 90th percentile time to add one batch of SERIES readings to the full
 * history, and the time to save and load history.bin and its size.
 *
 *   bench_history [SERIES [DIR]]     (DIR: where history.bin goes, /tmp)
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "agent/history.h"
#include "agent/metric.h"
#include "conf/conf.h"
#include "lib/log.h"

#define DAY (86400 * 1000LL)
#define T0 1795316400000LL /* 2026-11-22T03:00:00Z */
#define ADD_ROUNDS 2000

struct point {
	int64_t t;
	double v;
};

/* The peer: per series and tier a ring of (t, v) points. */
struct naive {
	struct point *ring[HISTORY_TIERS_MAX];
};

static size_t
heap_used(void)
{
	struct mallinfo2 mi = mallinfo2();

	return mi.uordblks + mi.hblkhd;
}

static int64_t
ns_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int
cmp64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

static double
value(size_t i, int64_t t)
{
	return (double)((t / 1000 + (int64_t)i * 37) % 1000) / 10.0;
}

static void
make_batch(struct metric_batch *b, size_t n, int64_t t)
{
	metric_batch_reset(b);
	b->now_ms = t;
	for (size_t i = 0; i < n; i++)
		if (metric_add(b, value(i, t), "bench.series_%04zu{Host=h%zu}",
			i, i % 7) != 0) {
			fprintf(stderr, "bench_history: batch full\n");
			exit(1);
		}
}

static void
naive_put(struct naive *nv, const struct history_conf *c, int64_t t, double v)
{
	for (size_t k = 0; k < c->ntiers; k++) {
		int64_t step = c->tiers[k].step_ms;
		size_t ns = (size_t)(c->tiers[k].span_ms / step);
		struct point *p = &nv->ring[k][(size_t)(t / step) % ns];

		/* The same slot means, kept the naive way: no count. */
		if (p->t == t / step * step)
			p->v = (p->v + v) / 2;
		else
			*p = (struct point){ t / step * step, v };
	}
}

int
main(int argc, char **argv)
{
	size_t nseries = argc > 1 ? (size_t)strtoul(argv[1], NULL, 10) : 500;
	const char *dir = argc > 2 ? argv[2] : "/tmp";
	struct conf_errs errs = { 0 };
	struct history_conf c;
	struct history_stats st;
	struct metric_batch b;
	struct ag_err err = { "" };
	struct history *h;
	struct naive *nv;
	size_t slots = 0, h0, h_hist, h_naive;
	int64_t start = T0 - 30 * DAY, fine = T0 - 3 * 3600 * 1000LL, t;
	int64_t times[ADD_ROUNDS], t_save, t_load;
	char path[4096];
	struct stat sb;

	log_set_level(LOG_LVL_WARN);
	if (nseries == 0 || nseries > 100000 ||
	    history_conf_parse(NULL, &c, &errs) != 0)
		return 2;
	c.memory_max = (size_t)1 << 30;
	for (size_t k = 0; k < c.ntiers; k++)
		slots += (size_t)(c.tiers[k].span_ms / c.tiers[k].step_ms);
	metric_batch_init(&b, nseries);

	h0 = heap_used();
	snprintf(path, sizeof(path), "%s/bench-history.%d.bin", dir,
	    (int)getpid());
	if ((h = history_new(&c, path, &err)) == NULL) {
		fprintf(stderr, "bench_history: %s\n", err.msg);
		return 1;
	}
	for (t = start; t < T0; t += t < fine ? 60000 : 10000) {
		make_batch(&b, nseries, t);
		history_add(h, &b, t);
	}
	h_hist = heap_used() - h0;
	history_stats(h, &st);

	h0 = heap_used();
	if ((nv = calloc(nseries, sizeof(*nv))) == NULL)
		return 1;
	for (size_t i = 0; i < nseries; i++)
		for (size_t k = 0; k < c.ntiers; k++)
			if ((nv[i].ring[k] =
				    calloc((size_t)(c.tiers[k].span_ms /
					       c.tiers[k].step_ms),
					sizeof(struct point))) == NULL)
				return 1;
	for (t = start; t < T0; t += t < fine ? 60000 : 10000)
		for (size_t i = 0; i < nseries; i++)
			naive_put(&nv[i], &c, t, value(i, t));
	h_naive = heap_used() - h0;

	/* One batch at a time into the full history, 10 s apart. */
	for (int r = 0; r < ADD_ROUNDS; r++) {
		int64_t t1;

		make_batch(&b, nseries, T0 + r * 10000LL);
		t1 = ns_now();
		history_add(h, &b, T0 + r * 10000LL);
		times[r] = ns_now() - t1;
	}
	qsort(times, ADD_ROUNDS, sizeof(times[0]), cmp64);

	t_save = ns_now();
	if (history_save(h, &err) != 0) {
		fprintf(stderr, "bench_history: %s\n", err.msg);
		return 1;
	}
	t_save = ns_now() - t_save;
	history_free(h);
	t_load = ns_now();
	h = history_new(&c, path, &err);
	t_load = ns_now() - t_load;
	if (h == NULL || stat(path, &sb) != 0)
		return 1;
	{
		struct history_stats st2;

		history_stats(h, &st2);
		if (st2.series != nseries) {
			fprintf(stderr,
			    "bench_history: %zu series read back\n",
			    st2.series);
			return 1;
		}
	}

	printf("history: %zu series x 30 days, tiers 10s:3h 1m:2d 10m:30d "
	       "(%zu slots a series, every one full)\n",
	    nseries, slots);
	printf("  ours, as counted (history_stats):  %10zu bytes = %6zu "
	       "bytes a series\n",
	    st.bytes, st.bytes / nseries);
	printf("  ours, heap growth (mallinfo2):     %10zu bytes = %6zu "
	       "bytes a series\n",
	    h_hist, h_hist / nseries);
	printf("  peer, (t, v) 16-byte points, heap: %10zu bytes = %6zu "
	       "bytes a series\n",
	    h_naive, h_naive / nseries);
	printf("  ratio peer / ours (heap):          %.2f\n",
	    (double)h_naive / (double)h_hist);
	printf("  every reading for 30 days as 16-byte points (computed): "
	       "%lld bytes a series (%.0f x ours)\n",
	    30 * DAY / 10000 * 16LL,
	    (double)(30 * DAY / 10000 * 16) / ((double)h_hist / nseries));
	printf("  add one batch of %zu readings: median %.1f us (%.0f ns a "
	       "reading), p90 %.1f us\n",
	    nseries, times[ADD_ROUNDS / 2] / 1000.0,
	    (double)times[ADD_ROUNDS / 2] / nseries,
	    times[ADD_ROUNDS * 9 / 10] / 1000.0);
	printf("  history.bin: %lld bytes, saved in %.1f ms, read back in "
	       "%.1f ms\n",
	    (long long)sb.st_size, t_save / 1e6, t_load / 1e6);
	history_free(h);
	(void)unlink(path);
	for (size_t i = 0; i < nseries; i++)
		for (size_t k = 0; k < c.ntiers; k++)
			free(nv[i].ring[k]);
	free(nv);
	metric_batch_free(&b);
	return 0;
}
