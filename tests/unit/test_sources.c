/*
 * test_sources.c: the source registry (source_new() and its config
 * checks) and every local source, fed with recorded /proc samples from
 * tests/data/proc/<scenario>/proc/.  Rate sources get two samples by moving
 * the proc root between collections and setting the batch's monotonic
 * time; expected values are worked out by hand in the comments.  The disk
 * source's statvfs() is replaced by a table of made-up file systems.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/ag.h"
#include "agent/metric.h"
#include "agent/source.h"
#include "agent/source_backend.h"
#include "agent/sources/src.h"
#include "agent/sources/src_disk.h"
#include "conf/conf.h"

/* Point the sources at tests/data/proc/${scenario}. */
static void
use(const char *scenario)
{
	const char *data = getenv("VIGIL_TEST_DATA");
	char root[4096];

	(void)snprintf(root, sizeof(root), "%s/proc/%s",
	    data != NULL ? data : "data", scenario);
	source_set_proc_root(root);
}

/* The loaded config of the last mk(), kept until the test ends. */
static struct conf *cur_conf;
static struct conf_errs cur_errs;

static void
conf_drop(void)
{
	conf_free(cur_conf);
	cur_conf = NULL;
	conf_errs_free(&cur_errs);
	memset(&cur_errs, 0, sizeof(cur_errs));
}

/* The group { ${body} } as the only element of "sources". */
static const conf_node *
group_of(const char *body)
{
	char path[] = "/tmp/test_sources_XXXXXX";
	FILE *f;
	int fd;

	conf_drop();
	assert_true((fd = mkstemp(path)) != -1);
	assert_non_null(f = fdopen(fd, "w"));
	fprintf(f, "sources = ( { %s } );\n", body);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(conf_load(path, &cur_conf, &cur_errs), 0);
	(void)unlink(path);
	if (cur_errs.n != 0)
		fail_msg("config: %s", cur_errs.msgs[0]);
	assert_int_equal(conf_len(cur_conf->sources), 1);
	return conf_elem(cur_conf->sources, 0);
}

/* source_new() from ${body}; NULL if it refused (errors in cur_errs). */
static struct source *
mk(const char *body)
{
	return source_new(group_of(body), &cur_errs);
}

/* Does some recorded error contain ${s}? */
static bool
errs_have(const char *s)
{
	for (size_t i = 0; i < cur_errs.n; i++)
		if (strstr(cur_errs.msgs[i], s) != NULL)
			return true;
	return false;
}

static const struct metric *
find(const struct metric_batch *b, const char *name)
{
	for (size_t i = 0; i < b->n; i++)
		if (strcmp(b->v[i].name, name) == 0)
			return &b->v[i];
	return NULL;
}

/* The value of reading ${name}; fails the test if there is none. */
static double
val(const struct metric_batch *b, const char *name)
{
	const struct metric *m = find(b, name);

	if (m == NULL)
		fail_msg("no reading %s", name);
	return m->value;
}

#define assert_near(got, want) \
	do { \
		double g_ = (got), w_ = (want); \
		if (!(fabs(g_ - w_) <= 1e-9 * (fabs(w_) > 1 ? fabs(w_) : 1))) \
			fail_msg("%s = %.12g, want %.12g", #got, g_, w_); \
	} while (0)

/* Every reading in ${b} must match one of ${s}'s patterns. */
static void
assert_patterns_cover(const struct source *s, const struct metric_batch *b)
{
	const char *const *p = source_patterns(s);

	for (size_t i = 0; i < b->n; i++) {
		bool ok = false;

		for (size_t k = 0; p[k] != NULL && !ok; k++)
			ok = metric_glob_match(p[k], b->v[i].name);
		if (!ok)
			fail_msg("%s matches no pattern of %s", b->v[i].name,
			    s->name);
	}
}

/* Collect ${s} into a fresh ${b} at monotonic time ${mono}. */
static int
collect(struct source *s, struct metric_batch *b, int64_t mono,
    struct ag_err *err)
{
	metric_batch_reset(b);
	b->mono_ms = mono;
	b->now_ms = 1795316863000;
	memset(err, 0, sizeof(*err));
	return source_collect(s, b, err);
}

static int
teardown(void **state)
{
	(void)state;
	conf_drop();
	source_set_proc_root(NULL);
	src_disk_set_statvfs(NULL);
	return 0;
}

/* --- registry and source_new() ----------------------------------------- */

static void
test_new_settings(void **state)
{
	struct source *s;
	const char *const *p;
	bool per_cpu_glob = false;

	(void)state;
	s = mk("type = \"cpu\"; name = \"cores\"; interval = \"5s\"; "
	       "per_cpu = true;");
	assert_non_null(s);
	assert_string_equal(s->name, "cores");
	assert_int_equal(s->interval_ms, 5000);
	assert_int_equal(s->cur_interval_ms, 5000);
	for (p = source_patterns(s); *p != NULL; p++)
		per_cpu_glob |= strcmp(*p, "cpu.*.used_pct") == 0;
	assert_true(per_cpu_glob);
	source_free(s);

	/* Defaults: the type names the instance, every 10 s. */
	assert_non_null(s = mk("type = \"memory\";"));
	assert_string_equal(s->name, "memory");
	assert_int_equal(s->interval_ms, SOURCE_DEFAULT_INTERVAL_MS);
	source_free(s);

	assert_non_null(s = mk("type = \"process\"; names = \"sshd\";"));
	assert_string_equal(s->name, "process");
	p = source_patterns(s);
	assert_string_equal(p[0], "proc.sshd.count");
	assert_string_equal(p[1], "proc.sshd.running");
	assert_null(p[2]);
	source_free(s);
	source_free(NULL);
}

static void
test_new_errors(void **state)
{
	(void)state;
	assert_null(mk("type = \"gpu\";"));
	assert_true(errs_have("unknown source type \"gpu\" (known: cpu, "
			      "memory, load, disk, diskio, network, process, "
			      "cloudwatch, azure_monitor, gcp_monitoring)"));

	assert_null(mk("name = \"x\";"));
	assert_true(errs_have("type: missing (required)"));

	assert_null(mk("type = 7;"));
	assert_true(errs_have("type: must be a string"));

	assert_null(mk("type = \"cpu\"; interval = \"500ms\";"));
	assert_true(errs_have("interval"));

	assert_null(mk("type = \"cpu\"; name = \"\";"));
	assert_true(errs_have("name: must not be empty"));

	/* A setting of another type is unknown here. */
	assert_null(mk("type = \"memory\"; per_cpu = true;"));
	assert_true(errs_have("per_cpu: unknown setting"));
	assert_null(mk("type = \"cpu\"; per_cpu = \"yes\";"));
	assert_true(errs_have("per_cpu"));

	assert_null(mk("type = \"process\";"));
	assert_true(errs_have("names: missing (required)"));
	assert_null(mk("type = \"process\"; names = [];"));
	assert_true(errs_have("give between 1 and"));
	assert_null(mk("type = \"process\"; names = [\"/usr/sbin/sshd\"];"));
	assert_true(errs_have("is not a program name"));
	assert_null(mk("type = \"process\"; names = [\"a\", \"a\"];"));
	assert_true(errs_have("\"a\" is listed twice"));

	assert_null(mk("type = \"disk\"; mounts = [\"var\"];"));
	assert_true(errs_have("\"var\" is not an absolute path"));
	assert_null(mk("type = \"disk\"; mounts = [\"/var\", \"/var/\"];"));
	assert_true(errs_have("\"/var\" is listed twice"));
	assert_null(mk("type = \"disk\"; mounts = [\"/\"]; "
		       "fs_types = [\"ext4\"];"));
	assert_true(errs_have("cannot be used with it"));
	assert_null(mk("type = \"disk\"; mounts = [];"));
	assert_true(errs_have("must not be empty"));

	assert_null(mk("type = \"diskio\"; devices = [\"/dev/sda\"];"));
	assert_true(errs_have("is not a device name"));
	assert_null(mk("type = \"network\"; interfaces = [\"eth0:1\"];"));
	assert_true(errs_have("is not an interface name"));
	assert_null(mk("type = \"network\"; interfaces = 3;"));
	assert_true(errs_have("interfaces"));
}

static void
test_proc_path(void **state)
{
	char buf[64];

	(void)state;
	source_set_proc_root(NULL);
	assert_string_equal(source_proc_path("stat", buf, sizeof(buf)),
	    "/proc/stat");
	source_set_proc_root("/x/y//");
	assert_string_equal(source_proc_path("self/mounts", buf, sizeof(buf)),
	    "/x/y/proc/self/mounts");
	assert_null(source_proc_path("a-name-that-does-not-fit-in-the-"
				     "buffer-of-sixty-four-bytes",
	    buf, sizeof(buf)));
	source_set_proc_root("");
	assert_string_equal(source_proc_path("net/dev", buf, sizeof(buf)),
	    "/proc/net/dev");
}

/* --- cpu ---------------------------------------------------------------- */

static void
test_cpu(void **state)
{
	struct metric_batch b;
	struct source *s;
	struct ag_err err;

	(void)state;
	metric_batch_init(&b, 100);
	assert_non_null(s = mk("type = \"cpu\"; per_cpu = true;"));

	/* The first sample only primes. */
	use("real-t0");
	assert_int_equal(collect(s, &b, 1000, &err), 0);
	assert_int_equal(b.n, 0);
	assert_int_equal(s->last_count, 0);

	/*
	 * real-t0 -> real-t1, "cpu" line:
	 *   user 2573->2893 (+320) nice 0 system 2198->2214 (+16)
	 *   idle 133179->133510 (+331) iowait 343->347 (+4) irq 0
	 *   softirq 37->38 (+1) steal 12->12
	 *   total 672; used = 320+16+1 = 337; user 320; system 16+1 = 17.
	 * cpu0: +3 user, +3 system, +329 idle: 6/335.
	 * cpu1: +317 user, +13 system, +2 idle, +4 iowait, +1 softirq:
	 *   331/337.
	 */
	use("real-t1");
	assert_int_equal(collect(s, &b, 5000, &err), 0);
	assert_near(val(&b, "cpu.used_pct"), 100.0 * 337 / 672);
	assert_near(val(&b, "cpu.iowait_pct"), 100.0 * 4 / 672);
	assert_near(val(&b, "cpu.steal_pct"), 0.0);
	assert_near(val(&b, "cpu.user_pct"), 100.0 * 320 / 672);
	assert_near(val(&b, "cpu.system_pct"), 100.0 * 17 / 672);
	assert_near(val(&b, "cpu.0.used_pct"), 100.0 * 6 / 335);
	assert_near(val(&b, "cpu.1.used_pct"), 100.0 * 331 / 337);
	assert_int_equal(b.n, 7);
	assert_int_equal(s->last_count, 7);
	assert_int_equal(b.v[0].ts_ms, 1795316863000);
	assert_patterns_cover(s, &b);

	/* Counters went backwards (a restored VM): re-prime, report nothing. */
	use("cpu-reset");
	assert_int_equal(collect(s, &b, 9000, &err), 0);
	assert_int_equal(b.n, 0);

	/*
	 * cpu-reset -> cpu-after-reset, "cpu": user +60 nice +20 system +30
	 * idle +200 iowait +20 irq +5 softirq 0 steal +30 = 365;
	 * used = 60+20+30+5 = 115, user 80, system 35.
	 * cpu0: +50 user +15 system +60 idle +20 iowait +5 irq +20 steal
	 *   = 170, used 70.  cpu1: +10 user +20 nice +15 system +140 idle
	 *   +10 steal = 195, used 45.
	 */
	use("cpu-after-reset");
	assert_int_equal(collect(s, &b, 13000, &err), 0);
	assert_near(val(&b, "cpu.used_pct"), 100.0 * 115 / 365);
	assert_near(val(&b, "cpu.iowait_pct"), 100.0 * 20 / 365);
	assert_near(val(&b, "cpu.steal_pct"), 100.0 * 30 / 365);
	assert_near(val(&b, "cpu.user_pct"), 100.0 * 80 / 365);
	assert_near(val(&b, "cpu.system_pct"), 100.0 * 35 / 365);
	assert_near(val(&b, "cpu.0.used_pct"), 100.0 * 70 / 170);
	assert_near(val(&b, "cpu.1.used_pct"), 100.0 * 45 / 195);
	assert_int_equal(b.n, 7);

	/* cpu1 went offline: cpu0 +100 user +20 system +80 idle = 60%. */
	use("cpu-offline");
	assert_int_equal(collect(s, &b, 17000, &err), 0);
	assert_near(val(&b, "cpu.used_pct"), 60.0);
	assert_near(val(&b, "cpu.0.used_pct"), 60.0);
	assert_null(find(&b, "cpu.1.used_pct"));
	assert_int_equal(b.n, 6);

	/* The same sample again: no tick passed, no readings. */
	assert_int_equal(collect(s, &b, 21000, &err), 0);
	assert_int_equal(b.n, 0);

	use("no-such-scenario");
	assert_int_equal(collect(s, &b, 25000, &err), -1);
	assert_non_null(strstr(err.msg,
	    "no-such-scenario/proc/stat: No such "
	    "file or directory"));
	assert_true(strncmp(err.msg, "cannot read ", 12) == 0);
	source_free(s);
	metric_batch_free(&b);
}

static void
test_cpu_defaults(void **state)
{
	struct metric_batch b;
	struct ag_err err;
	const char *const *p;
	void *ctx = NULL;

	(void)state;
	/* A NULL group means the defaults (no per-CPU readings). */
	assert_int_equal(src_cpu_ops.configure(&ctx, NULL, NULL), 0);
	metric_batch_init(&b, 100);
	use("real-t0");
	assert_int_equal(src_cpu_ops.collect(ctx, &b, &err), 0);
	use("real-t1");
	assert_int_equal(src_cpu_ops.collect(ctx, &b, &err), 0);
	assert_int_equal(b.n, 5);
	assert_null(find(&b, "cpu.0.used_pct"));
	p = src_cpu_ops.patterns(ctx);
	for (size_t i = 0; p[i] != NULL; i++)
		assert_null(strstr(p[i], "*"));
	src_cpu_ops.free(ctx);
	metric_batch_free(&b);
}

/* --- memory and load ---------------------------------------------------- */

static void
test_memory(void **state)
{
	struct metric_batch b;
	struct source *s;
	struct ag_err err;

	(void)state;
	metric_batch_init(&b, 100);
	assert_non_null(s = mk("type = \"memory\";"));

	/* Recorded: MemTotal 24684092 kB, MemAvailable 24350704, no swap. */
	use("real-t0");
	assert_int_equal(collect(s, &b, 0, &err), 0);
	assert_int_equal(b.n, 5);
	assert_near(val(&b, "mem.used_pct"),
	    100.0 * (24684092 - 24350704) / 24684092);
	assert_near(val(&b, "mem.available_bytes"), 24350704.0 * 1024);
	assert_near(val(&b, "mem.total_bytes"), 24684092.0 * 1024);
	assert_near(val(&b, "swap.used_pct"), 0.0);
	assert_near(val(&b, "swap.used_bytes"), 0.0);
	assert_patterns_cover(s, &b);

	/* 8000000 total, 2000000 available; swap 4000000, 3000000 free. */
	use("mem-swap");
	assert_int_equal(collect(s, &b, 0, &err), 0);
	assert_near(val(&b, "mem.used_pct"), 75.0);
	assert_near(val(&b, "mem.available_bytes"), 2048000000.0);
	assert_near(val(&b, "mem.total_bytes"), 8192000000.0);
	assert_near(val(&b, "swap.used_pct"), 25.0);
	assert_near(val(&b, "swap.used_bytes"), 1024000000.0);

	/*
	 * No MemAvailable (kernel < 3.14): free 100000 + buffers 50000 +
	 * cached 200000 + SReclaimable 50000 = 400000 of 1000000; no swap
	 * lines at all.
	 */
	use("mem-old");
	assert_int_equal(collect(s, &b, 0, &err), 0);
	assert_near(val(&b, "mem.used_pct"), 60.0);
	assert_near(val(&b, "mem.available_bytes"), 409600000.0);
	assert_near(val(&b, "swap.used_pct"), 0.0);

	use("mem-bad");
	assert_int_equal(collect(s, &b, 0, &err), -1);
	assert_string_equal(err.msg, "no MemTotal in /proc/meminfo");
	use("no-such-scenario");
	assert_int_equal(collect(s, &b, 0, &err), -1);
	assert_non_null(strstr(err.msg, "proc/meminfo: No such file"));
	source_free(s);
	metric_batch_free(&b);
}

static void
test_load(void **state)
{
	struct metric_batch b;
	struct source *s;
	struct ag_err err;

	(void)state;
	metric_batch_init(&b, 100);
	assert_non_null(s = mk("type = \"load\";"));

	/* Recorded "0.16 0.08 0.02" on a host with cpu0 and cpu1. */
	use("real-t1");
	assert_int_equal(collect(s, &b, 0, &err), 0);
	assert_int_equal(b.n, 6);
	assert_near(val(&b, "load.1"), 0.16);
	assert_near(val(&b, "load.5"), 0.08);
	assert_near(val(&b, "load.15"), 0.02);
	assert_near(val(&b, "load.1_per_core"), 0.08);
	assert_near(val(&b, "load.5_per_core"), 0.04);
	assert_near(val(&b, "load.15_per_core"), 0.01);
	assert_patterns_cover(s, &b);

	/* "3.00 2.00 1.00" on four CPUs. */
	use("load-4cpu");
	assert_int_equal(collect(s, &b, 0, &err), 0);
	assert_near(val(&b, "load.1_per_core"), 0.75);
	assert_near(val(&b, "load.5_per_core"), 0.5);
	assert_near(val(&b, "load.15_per_core"), 0.25);

	use("load-bad");
	assert_int_equal(collect(s, &b, 0, &err), -1);
	assert_non_null(strstr(err.msg, "bad /proc/loadavg"));
	use("no-such-scenario");
	assert_int_equal(collect(s, &b, 0, &err), -1);
	assert_non_null(strstr(err.msg, "proc/loadavg: No such file"));
	source_free(s);
	metric_batch_free(&b);
}

/* --- disk --------------------------------------------------------------- */

/* Made-up file systems for the "mounts" scenario. */
static const struct fake_fs {
	const char *mp;
	unsigned long frsize, bsize;
	fsblkcnt_t blocks, bfree, bavail;
	fsfilcnt_t files, ffree;
	int err;
} fake_fs[] = {
	{ "/", 4096, 4096, 1000, 400, 300, 100, 25, 0 },
	{ "/boot/efi", 512, 512, 100000, 90000, 90000, 0, 0, 0 },
	{ "/var", 4096, 4096, 2000, 1000, 1000, 1000, 1000, 0 },
	{ "/mnt/my disk", 1024, 4096, 100, 0, 0, 10, 0, 0 },
	{ "/long", 0, 2048, 10, 10, 5, 4, 3, 0 },
	{ "/run", 4096, 4096, 100, 100, 100, 50, 40, 0 },
	{ "/data", 4096, 4096, 10, 5, 5, 0, 0, 0 },
	{ "/zero", 4096, 4096, 0, 0, 0, 0, 0, 0 },
	{ "/srv", 0, 0, 0, 0, 0, 0, 0, EACCES },
};

static char fake_calls[1024];

/* The made-up answer for ${path}. */
static int
fake_fill(const char *path, struct statvfs *st)
{
	for (size_t i = 0; i < sizeof(fake_fs) / sizeof(fake_fs[0]); i++) {
		const struct fake_fs *f = &fake_fs[i];

		if (strcmp(f->mp, path) != 0)
			continue;
		if (f->err != 0) {
			errno = f->err;
			return -1;
		}
		memset(st, 0, sizeof(*st));
		st->f_frsize = f->frsize;
		st->f_bsize = f->bsize;
		st->f_blocks = f->blocks;
		st->f_bfree = f->bfree;
		st->f_bavail = f->bavail;
		st->f_files = f->files;
		st->f_ffree = f->ffree;
		return 0;
	}
	errno = ENOENT;
	return -1;
}

/* fake_fill(), noting the call in fake_calls. */
static int
fake_statvfs(const char *path, struct statvfs *st)
{
	size_t off = strlen(fake_calls);

	(void)snprintf(fake_calls + off, sizeof(fake_calls) - off, "%s|",
	    path);
	return fake_fill(path, st);
}

/*
 * A statvfs() that hangs on /var, as on a network mount whose server went
 * away, until the test writes to hang_pipe (after 30 s it gives up with
 * EIO, which the test would see as a failure).
 */
static int hang_pipe[2] = { -1, -1 };
static int hang_calls;

static int
hanging_statvfs(const char *path, struct statvfs *st)
{
	struct pollfd p = { .fd = hang_pipe[0], .events = POLLIN };

	if (strcmp(path, "/var") == 0) {
		__atomic_add_fetch(&hang_calls, 1, __ATOMIC_SEQ_CST);
		if (poll(&p, 1, 30000) != 1) {
			errno = EIO;
			return -1;
		}
	}
	return fake_fill(path, st);
}

/* How many threads this process has. */
static int
count_threads(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL)
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

static void
test_disk_discover(void **state)
{
	struct metric_batch b;
	struct source *s;
	struct ag_err err;

	(void)state;
	metric_batch_init(&b, 100);
	src_disk_set_statvfs(fake_statvfs);
	fake_calls[0] = '\0';
	assert_non_null(s = mk("type = \"disk\";"));
	use("mounts");
	assert_int_equal(collect(s, &b, 0, &err), 0);

	/*
	 * "/" (listed twice, reported once): used 1000-400 = 600, avail
	 * 300: 600/900; free 300*4096; total 1000*4096; inodes 75 of 100.
	 */
	assert_near(val(&b, "disk./.used_pct"), 100.0 * 600 / 900);
	assert_near(val(&b, "disk./.free_bytes"), 300.0 * 4096);
	assert_near(val(&b, "disk./.total_bytes"), 1000.0 * 4096);
	assert_near(val(&b, "disk./.inodes_used_pct"), 75.0);
	/* vfat: 10000 used of 100000 blocks of 512; no inodes reported. */
	assert_near(val(&b, "disk./boot/efi.used_pct"), 10.0);
	assert_near(val(&b, "disk./boot/efi.free_bytes"), 90000.0 * 512);
	assert_near(val(&b, "disk./boot/efi.total_bytes"), 100000.0 * 512);
	assert_null(find(&b, "disk./boot/efi.inodes_used_pct"));
	assert_near(val(&b, "disk./var.used_pct"), 50.0);
	assert_near(val(&b, "disk./var.inodes_used_pct"), 0.0);
	/* "\040" decoded; full file system, blocks of f_frsize 1024. */
	assert_near(val(&b, "disk./mnt/my disk.used_pct"), 100.0);
	assert_near(val(&b, "disk./mnt/my disk.free_bytes"), 0.0);
	assert_near(val(&b, "disk./mnt/my disk.total_bytes"), 102400.0);
	assert_near(val(&b, "disk./mnt/my disk.inodes_used_pct"), 100.0);
	/*
	 * "/long" sits on a 10 KB line cut by the line buffer; f_frsize 0
	 * falls back to f_bsize 2048; used 0, avail 5: 0%; inodes 1 of 4.
	 */
	assert_near(val(&b, "disk./long.used_pct"), 0.0);
	assert_near(val(&b, "disk./long.free_bytes"), 5.0 * 2048);
	assert_near(val(&b, "disk./long.total_bytes"), 10.0 * 2048);
	assert_near(val(&b, "disk./long.inodes_used_pct"), 25.0);
	assert_int_equal(b.n, 4 + 3 + 4 + 4 + 4);
	assert_patterns_cover(s, &b);

	/*
	 * Virtual file systems are never asked; /data is hidden by a tmpfs
	 * mounted over it; /srv (EACCES) and /zero (no blocks) are left out
	 * quietly.
	 */
	assert_string_equal(fake_calls,
	    "/|/boot/efi|/var|/mnt/my disk|/srv|/long|/zero|");
	source_free(s);

	/* The mount table of older systems, /proc/mounts. */
	assert_non_null(s = mk("type = \"disk\";"));
	use("mounts-fallback");
	assert_int_equal(collect(s, &b, 0, &err), 0);
	assert_int_equal(b.n, 4);
	assert_near(val(&b, "disk./.used_pct"), 100.0 * 600 / 900);
	use("no-such-scenario");
	assert_int_equal(collect(s, &b, 0, &err), -1);
	assert_non_null(strstr(err.msg,
	    "no-such-scenario/proc/self/mounts: "
	    "No such file or directory"));
	source_free(s);
	metric_batch_free(&b);
}

static void
test_disk_filters(void **state)
{
	struct metric_batch b;
	struct source *s;
	struct ag_err err;
	const char *const *p;

	(void)state;
	metric_batch_init(&b, 100);
	src_disk_set_statvfs(fake_statvfs);
	use("mounts");

	/*
	 * Chosen mounts report whatever their type (/run is tmpfs); one that
	 * cannot be asked and one that is not mounted make collect() fail
	 * naming them, and the others still report.
	 */
	assert_non_null(s = mk("type = \"disk\"; mounts = [\"/\", \"/run/\", "
			       "\"/srv\", \"/nothere\"];"));
	p = source_patterns(s);
	assert_string_equal(p[0], "disk./.used_pct");
	assert_string_equal(p[4], "disk./run.used_pct");
	assert_int_equal(collect(s, &b, 0, &err), -1);
	assert_non_null(strstr(err.msg,
	    "cannot statvfs /srv: Permission "
	    "denied"));
	assert_non_null(strstr(err.msg, "/nothere is not mounted"));
	assert_near(val(&b, "disk./.used_pct"), 100.0 * 600 / 900);
	assert_near(val(&b, "disk./run.used_pct"), 0.0);
	assert_near(val(&b, "disk./run.inodes_used_pct"), 20.0);
	assert_int_equal(b.n, 8);
	assert_int_equal(s->last_count, 8);
	assert_patterns_cover(s, &b);
	source_free(s);

	/* Only these types (the default exclusions do not apply). */
	assert_non_null(s = mk("type = \"disk\"; fs_types = [\"vfat\", "
			       "\"tmpfs\"];"));
	assert_int_equal(collect(s, &b, 0, &err), 0);
	assert_non_null(find(&b, "disk./boot/efi.used_pct"));
	assert_non_null(find(&b, "disk./run.used_pct"));
	assert_near(val(&b, "disk./data.used_pct"), 50.0); /* tmpfs now */
	assert_null(find(&b, "disk./.used_pct"));
	assert_int_equal(b.n, 3 + 4 + 3);
	source_free(s);

	/* An own exclusion list replaces the default one. */
	assert_non_null(s = mk("type = \"disk\"; ignore_fs = [\"ext4\", "
			       "\"xfs\", \"vfat\"];"));
	assert_int_equal(collect(s, &b, 0, &err), 0);
	assert_non_null(find(&b, "disk./run.used_pct"));
	assert_non_null(find(&b, "disk./data.used_pct"));
	assert_null(find(&b, "disk./var.used_pct"));
	assert_null(find(&b, "disk./boot/efi.used_pct"));
	assert_int_equal(b.n, 4 + 3);
	source_free(s);

	/* A batch too small for the readings is an error, not a crash. */
	metric_batch_free(&b);
	metric_batch_init(&b, 3);
	assert_non_null(s = mk("type = \"disk\"; mounts = [\"/\"];"));
	assert_int_equal(collect(s, &b, 0, &err), -1);
	assert_non_null(strstr(err.msg, "batch full"));
	assert_int_equal(b.n, 3);
	source_free(s);
	metric_batch_free(&b);
}

static void
test_disk_hung_mount(void **state)
{
	struct metric_batch b;
	struct source *s;
	struct ag_err err;
	int threads, rc = -1;

	(void)state;
	metric_batch_init(&b, 100);
	assert_int_equal(pipe(hang_pipe), 0);
	hang_calls = 0;
	src_disk_set_statvfs(hanging_statvfs);
	src_disk_set_timeout(300);
	use("mounts");
	assert_non_null(s = mk("type = \"disk\"; mounts = [\"/\", \"/var\", "
			       "\"/boot/efi\"];"));

	/* /var hangs: an error naming it, and the others are read. */
	assert_int_equal(collect(s, &b, 0, &err), -1);
	assert_non_null(strstr(err.msg,
	    "statvfs /var did not answer within "
	    "300 ms"));
	assert_near(val(&b, "disk./.used_pct"), 100.0 * 600 / 900);
	assert_near(val(&b, "disk./boot/efi.used_pct"), 10.0);
	assert_null(find(&b, "disk./var.used_pct"));

	/*
	 * While it still hangs, /var is skipped at once and not asked again:
	 * the other mounts get a second helper, and no more threads come
	 * however often the source is collected.
	 */
	threads = 0;
	for (int i = 0; i < 5; i++) {
		assert_int_equal(collect(s, &b, 0, &err), -1);
		assert_non_null(strstr(err.msg, "statvfs /var still hangs"));
		assert_near(val(&b, "disk./.used_pct"), 100.0 * 600 / 900);
		assert_near(val(&b, "disk./boot/efi.used_pct"), 10.0);
		assert_null(find(&b, "disk./var.used_pct"));
		if (threads == 0)
			threads = count_threads();
		assert_int_equal(count_threads(), threads);
	}
	assert_int_equal(__atomic_load_n(&hang_calls, __ATOMIC_SEQ_CST), 1);

	/* The server is back: /var reads again, and the spare thread ends. */
	assert_int_equal(write(hang_pipe[1], "x", 1), 1);
	for (int i = 0; i < 200 && rc != 0; i++) {
		if ((rc = collect(s, &b, 0, &err)) != 0)
			usleep(20000);
	}
	assert_int_equal(rc, 0);
	assert_near(val(&b, "disk./var.used_pct"), 50.0);
	for (int i = 0; i < 200 && count_threads() != threads - 1; i++)
		usleep(20000);
	assert_int_equal(count_threads(), threads - 1);

	src_disk_set_timeout(0);
	source_free(s);
	close(hang_pipe[0]);
	close(hang_pipe[1]);
	metric_batch_free(&b);
}

static void
test_disk_real_statvfs(void **state)
{
	struct metric_batch b;
	struct source *s;
	struct ag_err err;
	double pct;

	(void)state;
	/* The recorded table lists "/" as ext4; ask the real "/". */
	metric_batch_init(&b, 100);
	assert_non_null(s = mk("type = \"disk\"; mounts = [\"/\"];"));
	use("real-t0");
	assert_int_equal(collect(s, &b, 0, &err), 0);
	pct = val(&b, "disk./.used_pct");
	assert_true(pct >= 0.0 && pct <= 100.0);
	assert_true(val(&b, "disk./.total_bytes") > 0.0);
	assert_true(val(&b, "disk./.free_bytes") <=
	    val(&b, "disk./.total_bytes"));
	source_free(s);
	metric_batch_free(&b);
}

/* --- diskio ------------------------------------------------------------- */

static void
test_diskio(void **state)
{
	struct metric_batch b;
	struct source *s;
	struct ag_err err;

	(void)state;
	metric_batch_init(&b, 100);
	assert_non_null(s = mk("type = \"diskio\";"));
	use("disks-t0");
	assert_int_equal(collect(s, &b, 1000, &err), 0);
	assert_int_equal(b.n, 0);

	/*
	 * 2000 ms later.  sda: reads 1000->1400 = 200/s; sectors read
	 * 20000->28000 = 8000 * 512 / 2 s; writes 500->700 = 100/s; sectors
	 * written 10000->14000; io_ticks 1000->1500 = 500 of 2000 ms.
	 */
	use("disks-t1");
	assert_int_equal(collect(s, &b, 3000, &err), 0);
	assert_near(val(&b, "diskio.sda.util_pct"), 25.0);
	assert_near(val(&b, "diskio.sda.read_bytes_per_s"), 8000.0 * 512 / 2);
	assert_near(val(&b, "diskio.sda.write_bytes_per_s"), 4000.0 * 512 / 2);
	assert_near(val(&b, "diskio.sda.reads_per_s"), 200.0);
	assert_near(val(&b, "diskio.sda.writes_per_s"), 100.0);
	/* nvme0n1: io_ticks +2200 in 2000 ms is capped at 100%. */
	assert_near(val(&b, "diskio.nvme0n1.util_pct"), 100.0);
	assert_near(val(&b, "diskio.nvme0n1.read_bytes_per_s"),
	    2000.0 * 512 / 2);
	assert_near(val(&b, "diskio.nvme0n1.reads_per_s"), 100.0);
	assert_near(val(&b, "diskio.nvme0n1.writes_per_s"), 0.0);
	/* dm-10 is not a partition of dm-1. */
	assert_near(val(&b, "diskio.dm-1.util_pct"), 20.0);
	assert_near(val(&b, "diskio.dm-1.read_bytes_per_s"), 200.0 * 512 / 2);
	assert_near(val(&b, "diskio.dm-10.util_pct"), 0.0);
	assert_near(val(&b, "diskio.dm-10.writes_per_s"), 10.0);
	assert_near(val(&b, "diskio.dm-10.write_bytes_per_s"),
	    400.0 * 512 / 2);
	assert_near(val(&b, "diskio.mmcblk0.util_pct"), 0.0);
	assert_near(val(&b, "diskio.sr0.reads_per_s"), 0.0);
	/*
	 * Partitions, loop and ram devices are skipped; sdb's counters went
	 * back (re-attached), so it reports nothing this time; sdc is new.
	 */
	assert_null(find(&b, "diskio.sda1.util_pct"));
	assert_null(find(&b, "diskio.nvme0n1p1.util_pct"));
	assert_null(find(&b, "diskio.mmcblk0p1.util_pct"));
	assert_null(find(&b, "diskio.loop0.util_pct"));
	assert_null(find(&b, "diskio.ram0.util_pct"));
	assert_null(find(&b, "diskio.sdb.reads_per_s"));
	assert_null(find(&b, "diskio.sdb.util_pct"));
	assert_null(find(&b, "diskio.sdc.util_pct"));
	/* sda, nvme0n1, dm-1, dm-10, mmcblk0, sr0: five readings each. */
	assert_int_equal(b.n, 30);
	assert_patterns_cover(s, &b);

	/* The same sample at the same time: no interval, no readings. */
	assert_int_equal(collect(s, &b, 3000, &err), 0);
	assert_int_equal(b.n, 0);
	source_free(s);

	/* Chosen devices, partitions included; a missing one is named. */
	assert_non_null(s = mk("type = \"diskio\"; devices = [\"sda1\", "
			       "\"sdz\"];"));
	use("disks-t0");
	assert_int_equal(collect(s, &b, 1000, &err), -1);
	assert_string_equal(err.msg, "no device sdz in /proc/diskstats");
	use("disks-t1");
	assert_int_equal(collect(s, &b, 5000, &err), -1);
	/* sda1: io_ticks 950->1450 over 4000 ms; reads +400 in 4 s. */
	assert_near(val(&b, "diskio.sda1.util_pct"), 12.5);
	assert_near(val(&b, "diskio.sda1.reads_per_s"), 100.0);
	assert_int_equal(b.n, 5);
	assert_patterns_cover(s, &b);
	source_free(s);

	/*
	 * Recorded on this machine, about 4 s apart (taken as 4000 ms):
	 * vda reads 33604->33644, sectors read 3456074->3559106, writes
	 * 4829->4886, sectors written 609064->712704, io_ticks 4784->4876.
	 * zram0 stayed idle; loop devices are skipped.
	 */
	assert_non_null(s = mk("type = \"diskio\";"));
	use("real-t0");
	assert_int_equal(collect(s, &b, 10000, &err), 0);
	use("real-t1");
	assert_int_equal(collect(s, &b, 14000, &err), 0);
	assert_near(val(&b, "diskio.vda.reads_per_s"), 10.0);
	assert_near(val(&b, "diskio.vda.read_bytes_per_s"),
	    103032.0 * 512 / 4);
	assert_near(val(&b, "diskio.vda.writes_per_s"), 14.25);
	assert_near(val(&b, "diskio.vda.write_bytes_per_s"),
	    103640.0 * 512 / 4);
	assert_near(val(&b, "diskio.vda.util_pct"), 2.3);
	assert_near(val(&b, "diskio.zram0.util_pct"), 0.0);
	assert_int_equal(b.n, 10);
	source_free(s);
	metric_batch_free(&b);
}

/* --- network ------------------------------------------------------------ */

static void
test_network(void **state)
{
	struct metric_batch b;
	struct source *s;
	struct ag_err err;

	(void)state;
	metric_batch_init(&b, 100);
	assert_non_null(s = mk("type = \"network\";"));
	use("net-t0");
	assert_int_equal(collect(s, &b, 5000, &err), 0);
	assert_int_equal(b.n, 0);

	/*
	 * 10 s later.  eth0: rx 1000000->2000000, tx 500000->600000, rx errs
	 * 0->10, tx errs 5->5, rx drop 3->23.
	 */
	use("net-t1");
	assert_int_equal(collect(s, &b, 15000, &err), 0);
	assert_near(val(&b, "net.eth0.rx_bytes_per_s"), 100000.0);
	assert_near(val(&b, "net.eth0.tx_bytes_per_s"), 10000.0);
	assert_near(val(&b, "net.eth0.rx_errors_per_s"), 1.0);
	assert_near(val(&b, "net.eth0.tx_errors_per_s"), 0.0);
	assert_near(val(&b, "net.eth0.rx_drops_per_s"), 2.0);
	/*
	 * wlan0: rx bytes wrapped at 32 bits (4294967000 -> 1000) and rx
	 * errs were reset (7 -> 0): no rate for those; tx 100 -> 1100.
	 */
	assert_null(find(&b, "net.wlan0.rx_bytes_per_s"));
	assert_null(find(&b, "net.wlan0.rx_errors_per_s"));
	assert_near(val(&b, "net.wlan0.tx_bytes_per_s"), 100.0);
	assert_near(val(&b, "net.wlan0.rx_drops_per_s"), 0.0);
	/* eth1 in the old "eth1:123456" layout: rx +1000000, tx +10000. */
	assert_near(val(&b, "net.eth1.rx_bytes_per_s"), 100000.0);
	assert_near(val(&b, "net.eth1.tx_bytes_per_s"), 1000.0);
	/* lo is left out by default; veth1 is new and only primed. */
	assert_null(find(&b, "net.lo.rx_bytes_per_s"));
	assert_null(find(&b, "net.veth1.rx_bytes_per_s"));
	assert_int_equal(b.n, 5 + 3 + 5);
	assert_patterns_cover(s, &b);

	use("net-bad");
	assert_int_equal(collect(s, &b, 25000, &err), -1);
	assert_string_equal(err.msg, "bad /proc/net/dev line for eth0");
	source_free(s);

	/* Chosen interfaces; lo on request; a missing one is named. */
	assert_non_null(s = mk("type = \"network\"; interfaces = [\"lo\", "
			       "\"eth9\"];"));
	use("net-t0");
	assert_int_equal(collect(s, &b, 0, &err), -1);
	assert_string_equal(err.msg, "no interface eth9 in /proc/net/dev");
	use("net-t1");
	assert_int_equal(collect(s, &b, 2000, &err), -1);
	/* lo: 3267 -> 9267 bytes each way in 2 s. */
	assert_near(val(&b, "net.lo.rx_bytes_per_s"), 3000.0);
	assert_near(val(&b, "net.lo.tx_bytes_per_s"), 3000.0);
	assert_int_equal(b.n, 5);
	assert_patterns_cover(s, &b);
	assert_string_equal(source_patterns(s)[0], "net.lo.rx_bytes_per_s");
	source_free(s);
	metric_batch_free(&b);
}

/* --- process ------------------------------------------------------------ */

static void
test_process(void **state)
{
	struct metric_batch b;
	struct source *s;
	struct ag_err err;
	void *ctx = NULL;

	(void)state;
	metric_batch_init(&b, 100);
	assert_non_null(
	    s = mk("type = \"process\"; names = [\"sshd\", "
		   "\"cron\", \"systemd-journald\", \"nginx\", \"bash\"];"));
	use("procs");
	assert_int_equal(collect(s, &b, 0, &err), 0);
	/*
	 * sshd: 100 (comm and argv[0]) and 101 (comm; argv[0] rewritten to
	 * "sshd: root@pts/0"); not 600, where sshd is argv[1] of python3,
	 * nor "self".  cron: 301, not "crond".  systemd-journald: comm is
	 * cut to "systemd-journal", argv[0] matches.  bash: comm "bash"
	 * (argv[0] is "-bash").  500 has vanished (no comm).
	 */
	assert_near(val(&b, "proc.sshd.count"), 2.0);
	assert_near(val(&b, "proc.sshd.running"), 1.0);
	assert_near(val(&b, "proc.cron.count"), 1.0);
	assert_near(val(&b, "proc.systemd-journald.count"), 1.0);
	assert_near(val(&b, "proc.nginx.count"), 0.0);
	assert_near(val(&b, "proc.nginx.running"), 0.0);
	assert_near(val(&b, "proc.bash.count"), 1.0);
	assert_int_equal(b.n, 10);
	assert_patterns_cover(s, &b);

	/* Counts start over at every collection. */
	assert_int_equal(collect(s, &b, 0, &err), 0);
	assert_near(val(&b, "proc.sshd.count"), 2.0);

	use("no-such-scenario");
	assert_int_equal(collect(s, &b, 0, &err), -1);
	assert_non_null(strstr(err.msg,
	    "no-such-scenario/proc/: No such "
	    "file or directory"));
	source_free(s);

	/* There is no default list of programs. */
	assert_int_equal(src_process_ops.configure(&ctx, NULL, &cur_errs), -1);
	assert_null(ctx);
	assert_true(errs_have("names is required"));
	metric_batch_free(&b);
}

/* Every type works from a NULL group (the defaults), except process. */
static void
test_null_defaults(void **state)
{
	const struct source_ops *ops[] = { &src_cpu_ops, &src_memory_ops,
		&src_load_ops, &src_disk_ops, &src_diskio_ops,
		&src_network_ops };

	(void)state;
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		void *ctx = NULL;

		assert_int_equal(ops[i]->configure(&ctx, NULL, &cur_errs), 0);
		assert_non_null(ctx);
		assert_non_null(ops[i]->patterns(ctx)[0]);
		ops[i]->free(ctx);
	}
	assert_int_equal(cur_errs.n, 0);
}

/* --- the real /proc ---------------------------------------------------- */

/* Real monotonic milliseconds, so that rates are over the true interval. */
static int64_t
mono_ms(void)
{
	struct timespec ts;

	assert_int_equal(clock_gettime(CLOCK_MONOTONIC, &ts), 0);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Every reading of ${b} is finite and within the range of the first row of
 * live_ranges its name matches; a reading no row knows fails the test.
 */
static void
assert_live_ranges(const struct metric_batch *b)
{
	static const struct {
		const char *glob;
		double lo, hi;
	} live_ranges[] = {
		{ "*_pct", 0, 100 },
		{ "*_per_s", 0, HUGE_VAL },
		{ "*_bytes", 0, HUGE_VAL },
		{ "load.*", 0, HUGE_VAL },
	};
	size_t k, n = sizeof(live_ranges) / sizeof(live_ranges[0]);

	for (size_t i = 0; i < b->n; i++) {
		double v = b->v[i].value;

		for (k = 0; k < n; k++)
			if (metric_glob_match(live_ranges[k].glob,
				b->v[i].name))
				break;
		if (k == n)
			fail_msg("live %s = %g: no range known", b->v[i].name,
			    v);
		if (!isfinite(v) || v < live_ranges[k].lo ||
		    v > live_ranges[k].hi)
			fail_msg("live %s = %.12g, outside [%g, %g]",
			    b->v[i].name, v, live_ranges[k].lo,
			    live_ranges[k].hi);
	}
}

/* How many readings of ${b} match ${glob}. */
static size_t
count_matching(const struct metric_batch *b, const char *glob)
{
	size_t n = 0;

	for (size_t i = 0; i < b->n; i++)
		n += metric_glob_match(glob, b->v[i].name);
	return n;
}

/*
 * Collect the source ${body} from the real /proc into ${b}: once to prime
 * it, then again (up to 5 s, 20 ms apart) until a reading matching ${want}
 * appears.  Fail if a collection fails or ${want} never comes.  The source
 * is freed; every reading is checked against its patterns and ranges.
 */
static void
collect_live(const char *body, const char *want, struct metric_batch *b)
{
	struct source *s;
	struct ag_err err;

	assert_non_null(s = mk(body));
	if (collect(s, b, mono_ms(), &err) != 0)
		fail_msg("%s: %s", body, err.msg);
	for (int tries = 0; tries < 250; tries++) {
		(void)poll(NULL, 0, 20);
		if (collect(s, b, mono_ms(), &err) != 0)
			fail_msg("%s: %s", body, err.msg);
		if (count_matching(b, want) != 0)
			break;
	}
	if (count_matching(b, want) == 0)
		fail_msg("%s: no reading %s from the real /proc", body, want);
	assert_patterns_cover(s, b);
	assert_live_ranges(b);
	source_free(s);
}

/*
 * The local sources on this machine's own /proc.  The files they read exist
 * on every Linux system, so one that cannot be read fails the test: a
 * sandbox that hides them is not a place to run the suite.  Beyond the
 * names, the values must make sense: percentages in [0, 100] that add up,
 * used memory within total, loads and rates not negative, disk space
 * within the file system's size.
 */
static void
test_live_proc(void **state)
{
	struct metric_batch b;
	static const char *const files[] = { "/proc/stat", "/proc/meminfo",
		"/proc/loadavg", "/proc/self/mounts", "/proc/diskstats",
		"/proc/net/dev" };
	double tot, part;

	(void)state;
	source_set_proc_root(NULL);
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		if (access(files[i], R_OK) != 0)
			fail_msg("%s: %s (every Linux system has it)",
			    files[i], strerror(errno));
	metric_batch_init(&b, 1000);

	/* The parts of the CPU time add up: user + system = used. */
	collect_live("type = \"cpu\"; per_cpu = true;", "cpu.used_pct", &b);
	assert_near(val(&b, "cpu.user_pct") + val(&b, "cpu.system_pct"),
	    val(&b, "cpu.used_pct"));
	part = val(&b, "cpu.used_pct") + val(&b, "cpu.iowait_pct") +
	    val(&b, "cpu.steal_pct");
	if (part > 100 + 1e-9)
		fail_msg("used + iowait + steal = %.12g > 100", part);

	/* Available within total; used_pct is what is not available. */
	collect_live("type = \"memory\";", "mem.total_bytes", &b);
	tot = val(&b, "mem.total_bytes");
	assert_true(tot > 0);
	assert_true(val(&b, "mem.available_bytes") <= tot);
	assert_near(val(&b, "mem.used_pct"),
	    100.0 * (tot - val(&b, "mem.available_bytes")) / tot);
	assert_true(val(&b, "swap.used_bytes") == 0 ||
	    val(&b, "swap.used_pct") > 0);

	/* Per core is the load shared by at least one core. */
	collect_live("type = \"load\";", "load.15_per_core", &b);
	assert_true(val(&b, "load.1_per_core") <= val(&b, "load.1"));
	assert_true(val(&b, "load.15_per_core") <= val(&b, "load.15"));
	assert_int_equal(val(&b, "load.5_per_core") > 0,
	    val(&b, "load.5") > 0);

	/* Some file system with blocks is mounted; free within its size. */
	collect_live("type = \"disk\";", "disk.*.total_bytes", &b);
	for (size_t i = 0; i < b.n; i++) {
		char name[METRIC_NAME_MAX];
		size_t len = strlen(b.v[i].name);

		if (!metric_glob_match("disk.*.free_bytes", b.v[i].name))
			continue;
		(void)snprintf(name, sizeof(name), "%.*stotal_bytes",
		    (int)(len - strlen("free_bytes")), b.v[i].name);
		assert_true(val(&b, name) > 0);
		assert_true(b.v[i].value <= val(&b, name));
	}

	/* Rates from two samples are never negative (ranges above). */
	collect_live("type = \"diskio\";", "*", &b);

	/* The loopback interface, always there, named on purpose. */
	collect_live("type = \"network\"; interfaces = [ \"lo\" ];",
	    "net.lo.rx_bytes_per_s", &b);
	assert_int_equal(count_matching(&b, "net.lo.*"), 5);
	metric_batch_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_new_settings, teardown),
		cmocka_unit_test_teardown(test_new_errors, teardown),
		cmocka_unit_test_teardown(test_proc_path, teardown),
		cmocka_unit_test_teardown(test_cpu, teardown),
		cmocka_unit_test_teardown(test_cpu_defaults, teardown),
		cmocka_unit_test_teardown(test_memory, teardown),
		cmocka_unit_test_teardown(test_load, teardown),
		cmocka_unit_test_teardown(test_disk_discover, teardown),
		cmocka_unit_test_teardown(test_disk_filters, teardown),
		cmocka_unit_test_teardown(test_disk_hung_mount, teardown),
		cmocka_unit_test_teardown(test_disk_real_statvfs, teardown),
		cmocka_unit_test_teardown(test_diskio, teardown),
		cmocka_unit_test_teardown(test_network, teardown),
		cmocka_unit_test_teardown(test_process, teardown),
		cmocka_unit_test_teardown(test_null_defaults, teardown),
		cmocka_unit_test_teardown(test_live_proc, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
