/*
 * src_diskio.c: the "diskio" source: block device throughput and busy time
 * from /proc/diskstats.
 *
 * Each line of /proc/diskstats holds, after major, minor and name, the
 * completed reads, merged reads, sectors read, ms reading, completed
 * writes, merged writes, sectors written, ms writing, I/Os in flight and
 * ms spent doing I/O ("io_ticks").  Rates come from the difference of two
 * samples over the monotonic time between them (out->mono_ms), so the
 * first collection only primes.  Sectors are always 512 bytes here,
 * whatever the device's own sector size.  util_pct is io_ticks per elapsed
 * ms, the %util of iostat(1).
 *
 * Which devices: with "devices" exactly those (one that is missing makes
 * collect() fail naming it; the others still report).  Otherwise whole
 * devices: loop* and ram* are skipped, and so is any partition of a listed
 * device: "sda1" of "sda", and, when the disk name ends in a digit,
 * "nvme0n1p1" of "nvme0n1" (the kernel's own naming rule), so "dm-10" is
 * not taken for a partition of "dm-1".
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/ag.h"
#include "agent/source_backend.h"
#include "agent/sources/src.h"

/* Most devices in one sample (partitions included). */
#define DISKIO_MAX 4096

/* Counters kept per device, in src_series.c[]. */
enum { C_READS, C_RSECT, C_WRITES, C_WSECT, C_TICKS };

static const char *const diskio_settings[] = { "devices", NULL };

static const char *const diskio_suffixes[] = { "util_pct", "read_bytes_per_s",
	"write_bytes_per_s", "reads_per_s", "writes_per_s", NULL };

static const char *const diskio_patterns_all[] = { "diskio.*.util_pct",
	"diskio.*.read_bytes_per_s", "diskio.*.write_bytes_per_s",
	"diskio.*.reads_per_s", "diskio.*.writes_per_s", NULL };

struct diskio_ctx {
	char **devices;	 /* chosen devices, or NULL: whole disks */
	char **patterns; /* exact names when devices is set */
	struct src_series_set prev, cur;
	bool primed;
};

static void
diskio_free(void *ctx)
{
	struct diskio_ctx *c = ctx;

	if (c == NULL)
		return;
	ag_strv_free(c->devices);
	ag_strv_free(c->patterns);
	src_series_free(&c->prev);
	src_series_free(&c->cur);
	free(c);
}

static int
diskio_configure(void **ret_ctx, const conf_node *cs, struct conf_errs *errs)
{
	struct diskio_ctx *c;
	size_t n;
	int rc = 0;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return conf_error(errs, cs, "out of memory");
	src_series_init(&c->prev, DISKIO_MAX);
	src_series_init(&c->cur, DISKIO_MAX);
	if (cs != NULL &&
	    conf_get_strv(errs, cs, "devices", false, &c->devices, &n) == 1) {
		if (n == 0)
			rc = conf_error_at(errs, cs, "devices",
			    "must not be "
			    "empty (leave it out to report every disk)");
		for (size_t i = 0; i < n; i++)
			if (c->devices[i][0] == '\0' ||
			    strlen(c->devices[i]) >= SRC_SERIES_NAME ||
			    strchr(c->devices[i], '/') != NULL)
				rc = conf_error_at(errs, cs, "devices",
				    "\"%s\" is not a device name as in "
				    "/proc/diskstats (e.g. \"sda\")",
				    c->devices[i]);
		if (rc == 0 &&
		    (c->patterns = src_patterns_new("diskio", c->devices,
			 diskio_suffixes)) == NULL)
			rc = conf_error(errs, cs, "out of memory");
	}
	if (rc == -1) {
		diskio_free(c);
		return -1;
	}
	*ret_ctx = c;
	return 0;
}

static int
diskio_line(void *cookie, char *line, struct ag_err *err)
{
	struct diskio_ctx *c = cookie;
	char name[SRC_SERIES_NAME];
	uint64_t v[10], ctr[SRC_SERIES_CTRS];
	unsigned major, minor;

	if (sscanf(line,
		"%u %u %63s %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64
		" %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64
		" %" SCNu64,
		&major, &minor, name, &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
		&v[6], &v[7], &v[8], &v[9]) != 13)
		return 0;
	if (c->devices != NULL ?
		!src_strv_has(c->devices, name) :
		strncmp(name, "loop", 4) == 0 || strncmp(name, "ram", 3) == 0)
		return 0;
	ctr[C_READS] = v[0];
	ctr[C_RSECT] = v[2];
	ctr[C_WRITES] = v[4];
	ctr[C_WSECT] = v[6];
	ctr[C_TICKS] = v[9];
	if (src_series_add(&c->cur, name, ctr, err) == -1)
		return -1;
	return 0;
}

/* diskio_is_partition(set, name): is ${name} a partition in ${set}? */
static bool
diskio_is_partition(const struct src_series_set *set, const char *name)
{
	const char *base, *rest;
	size_t len;

	for (size_t i = 0; i < set->n; i++) {
		base = set->v[i].name;
		len = strlen(base);
		if (len == 0 || strncmp(name, base, len) != 0)
			continue;
		rest = name + len;
		if (isdigit((unsigned char)base[len - 1])) {
			if (rest[0] == 'p' && src_all_digits(rest + 1))
				return true;
		} else if (src_all_digits(rest)) {
			return true;
		}
	}
	return false;
}

static int
diskio_report(const struct src_series *p, const struct src_series *s,
    int64_t dt, struct metric_batch *out, struct ag_err *err)
{
	double r;

	/* Each counter on its own: one that went backwards gives no rate. */
	if (s->c[C_TICKS] >= p->c[C_TICKS]) {
		r = 100.0 * (double)(s->c[C_TICKS] - p->c[C_TICKS]) /
		    (double)dt;
		if (src_add(out, err, r > 100.0 ? 100.0 : r,
			"diskio.%s.util_pct", s->name) == -1)
			return -1;
	}
	if (metric_rate(p->c[C_RSECT], s->c[C_RSECT], dt, &r) == 0 &&
	    src_add(out, err, r * 512.0, "diskio.%s.read_bytes_per_s",
		s->name) == -1)
		return -1;
	if (metric_rate(p->c[C_WSECT], s->c[C_WSECT], dt, &r) == 0 &&
	    src_add(out, err, r * 512.0, "diskio.%s.write_bytes_per_s",
		s->name) == -1)
		return -1;
	if (metric_rate(p->c[C_READS], s->c[C_READS], dt, &r) == 0 &&
	    src_add(out, err, r, "diskio.%s.reads_per_s", s->name) == -1)
		return -1;
	if (metric_rate(p->c[C_WRITES], s->c[C_WRITES], dt, &r) == 0 &&
	    src_add(out, err, r, "diskio.%s.writes_per_s", s->name) == -1)
		return -1;
	return 0;
}

static int
diskio_collect(void *ctx, struct metric_batch *out, struct ag_err *err)
{
	struct diskio_ctx *c = ctx;
	const struct src_series *s, *p;
	int64_t dt;
	int rc = 0;

	c->cur.n = 0;
	if (src_lines("diskstats", diskio_line, c, err) == -1)
		return -1;
	c->cur.mono_ms = out->mono_ms;
	for (size_t i = 0; c->devices != NULL && c->devices[i] != NULL; i++) {
		if (src_series_find(&c->cur, i, c->devices[i]) == NULL) {
			rc = ag_err_set(err, "no device %s in /proc/diskstats",
			    c->devices[i]);
			break;
		}
	}
	dt = c->cur.mono_ms - c->prev.mono_ms;
	if (!c->primed || dt <= 0)
		goto out;

	for (size_t i = 0; i < c->cur.n; i++) {
		s = &c->cur.v[i];
		if (c->devices == NULL &&
		    diskio_is_partition(&c->cur, s->name))
			continue;
		if ((p = src_series_find(&c->prev, i, s->name)) == NULL)
			continue; /* a new device: primed now */
		if (diskio_report(p, s, dt, out, err) == -1) {
			rc = -1;
			goto out;
		}
	}

out:
	src_series_swap(&c->prev, &c->cur);
	c->primed = true;
	return rc;
}

static const char *const *
diskio_patterns_fn(void *ctx)
{
	struct diskio_ctx *c = ctx;

	if (c->patterns != NULL)
		return (const char *const *)c->patterns;
	return diskio_patterns_all;
}

const struct source_ops src_diskio_ops = {
	.type = "diskio",
	.settings = diskio_settings,
	.configure = diskio_configure,
	.collect = diskio_collect,
	.patterns = diskio_patterns_fn,
	.free = diskio_free,
};
