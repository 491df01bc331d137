/*
 * test_job.c: the backup job runner, the manifest and the catalog, end to
 * end against local storage in a temporary folder.
 *
 * A generated tree (regular files, a 3 MiB random file, an empty file, a
 * symlink, a hard link, nested folders, an unreadable file when not root)
 * and a command source are backed up with 64 KiB slices, so every path
 * crosses many chunks.  The result is checked from the outside: the
 * objects exist, data.vgl decrypts to a .tar.gz that gzip and tar accept
 * and list, the catalog lists the backup as complete and verify passes.
 * Then the failures: a flipped byte, a truncated object, a wrong key, a
 * failing pre_hook, a cancelled run (and the cleanup of leftovers by the
 * next run), two concurrent runs, retention, strict mode, a large file
 * index in its own compressed object (and one stored the old way, as
 * plain JSON), and malformed manifests.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "lib/ag.h"
#include "lib/clock.h"
#include "lib/log.h"
#include "lib/crypto/crypto.h"
#include "lib/crypto/crypto_keys.h"
#include "providers/storage.h"
#include "backup/catalog.h"
#include "backup/format.h"
#include "backup/job.h"
#include "backup/jobconf.h"
#include "backup/manifest.h"
#include "backup/restore.h"
#include "backup/st_archive.h"
#include "backup/st_compress.h"
#include "backup/st_encrypt.h"
#include "agent/job_runner.h"
#include "agent/job_state.h"
#include "tests/unit/fakes/testutil.h"

static char src[512], store[512], state[512], keyfile[512], key2file[512];
static char *paths[3];
static char missing[512];
static char *no_exclude[1];
static struct job_command cmds[1];
static struct crypto_key *key, *key2;
static struct storage_conf *sconf;
static struct storage *st;
static bool is_root;

/* --- Helpers ---------------------------------------------------------- */

/* ${expr} must return 0; else fail with the message in e. */
#define OK(expr) \
	do { \
		if ((expr) != 0) \
			fail_msg("%s: %s", #expr, e.msg); \
	} while (0)

/* run_job() must succeed; else fail with its error. */
#define RUN_OK(jc, pg, res) \
	do { \
		if (run_job(jc, pg, res) != 0) \
			fail_msg("job_run: %s", (res)->error); \
	} while (0)

static void
put_file(const char *rel, const void *data, size_t len, mode_t mode)
{
	char path[1024];

	snprintf(path, sizeof(path), "%s/%s", src, rel);
	tu_write_file(path, data, len, mode);
}

static void
mkdirf(const char *fmt, ...)
{
	char path[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	assert_true(mkdir(path, 0755) == 0 || errno == EEXIST);
}

static void
job_init(struct job_conf *jc, const char *name)
{
	memset(jc, 0, sizeof(*jc));
	jc->name = (char *)name;
	jc->paths = paths;
	jc->npaths = 2;
	jc->exclude = no_exclude;
	jc->nexclude = 0;
	jc->commands = cmds;
	jc->ncommands = 1;
	jc->storage = sconf;
	jc->prefix = (char *)"";
	jc->key_mode = JOB_KEY_FILE;
	jc->key_path = keyfile;
	jc->level = 6;
	jc->threads = 2;
	jc->slice_size = 64 << 10;
	jc->hook_timeout_ms = 10000;
}

struct prog {
	int calls, done_calls;
	int64_t first_ms, last_ms;
	int cancel_after; /* set the flag at this call; 0 never */
	volatile sig_atomic_t flag;
	/* Concurrency test: pause in the first call. */
	bool block;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool started, release;
};

static void
progress_cb(void *cookie, const struct job_progress *p)
{
	struct prog *pg = cookie;

	if (pg->calls == 0)
		pg->first_ms = clock_mono_ms();
	pg->last_ms = clock_mono_ms();
	pg->calls++;
	if (p->done)
		pg->done_calls++;
	if (pg->cancel_after > 0 && pg->calls >= pg->cancel_after)
		pg->flag = 1;
	if (pg->block && !p->done) {
		pthread_mutex_lock(&pg->mu);
		pg->started = true;
		pthread_cond_broadcast(&pg->cv);
		while (!pg->release)
			pthread_cond_wait(&pg->cv, &pg->mu);
		pthread_mutex_unlock(&pg->mu);
		pg->block = false;
	}
}

static int
run_job(const struct job_conf *jc, struct prog *pg, struct job_result *res)
{
	struct job_run_opts o = { .host = "testhost",
		.state_dir = state,
		.progress = progress_cb,
		.cookie = pg,
		.cancel = &pg->flag };

	return job_runner_run(jc, &o, NULL, NULL, res);
}

static void
obj_path(const char *job, const char *id, const char *name, char *out,
    size_t len)
{
	snprintf(out, len, "%s/%s/%s/%s", store, job, id, name);
}

static bool
exists(const char *path)
{
	struct stat sb;

	return stat(path, &sb) == 0;
}

static size_t
count_complete(const char *job)
{
	struct catalog c;
	struct ag_err e;
	size_t n;

	OK(catalog_list(st, "", job, &c, &e));
	n = c.ncomplete;
	catalog_free(&c);
	return n;
}

struct dec {
	FILE *f;
};

static int
dec_cb(void *cookie, uint64_t index, const uint8_t *pt, size_t len, int final)
{
	struct dec *d = cookie;

	(void)index;
	(void) final;
	return fwrite(pt, 1, len, d->f) == len ? 0 : -1;
}

/* Decrypt the object at ${in} into the file ${out}; 0 or -1 (${err}). */
static int
decrypt_file(const char *in, const char *out, struct ag_err *err)
{
	struct format_reader *rd;
	struct dec d;
	uint8_t buf[65536];
	size_t n;
	FILE *f;
	int rc = 0;

	assert_non_null(f = fopen(in, "rb"));
	assert_non_null(d.f = fopen(out, "wb"));
	assert_non_null(rd = format_reader_new(key, 0, dec_cb, &d));
	while (rc == 0 && (n = fread(buf, 1, sizeof(buf), f)) > 0)
		rc = format_reader_feed(rd, buf, n, err);
	if (rc == 0)
		rc = format_reader_end(rd, err);
	format_reader_free(rd);
	fclose(f);
	fclose(d.f);
	return rc;
}

/* Run ${cmd}; return its output (static buffer) and exit status. */
static const char *
run_cmd(const char *cmd, int *ret_status)
{
	static char out[1 << 16];
	size_t n = 0, k;
	FILE *p;

	assert_non_null(p = popen(cmd, "r"));
	while ((k = fread(out + n, 1, sizeof(out) - 1 - n, p)) > 0)
		n += k;
	out[n] = '\0';
	*ret_status = pclose(p);
	return out;
}

/* The tar path of ${rel} inside the source tree ("tmp/.../src/rel"). */
static const char *
tar_path(const char *rel)
{
	static char buf[1024];

	snprintf(buf, sizeof(buf), "%s/%s", src + 1, rel);
	return buf;
}

/* --- Setup ------------------------------------------------------------ */

static int
setup(void **state_)
{
	struct ag_err e;
	char path[1024];
	uint8_t *big;
	int fd;

	log_set_level(LOG_LVL_ERR);
	is_root = geteuid() == 0;
	if (tu_tmpdir_setup(state_) != 0)
		return -1;
	snprintf(src, sizeof(src), "%s/src", tu_tmpdir());
	snprintf(store, sizeof(store), "%s/store", tu_tmpdir());
	snprintf(state, sizeof(state), "%s/state", tu_tmpdir());
	snprintf(keyfile, sizeof(keyfile), "%s/backup.key", tu_tmpdir());
	snprintf(key2file, sizeof(key2file), "%s/other.key", tu_tmpdir());
	if (mkdir(src, 0755) != 0 || mkdir(store, 0700) != 0)
		return -1;
	if (crypto_keys_generate_keyfile(keyfile, &e) != 0 ||
	    crypto_keys_generate_keyfile(key2file, &e) != 0)
		return -1;
	if ((key = crypto_keys_load_keyfile(keyfile, &e)) == NULL ||
	    (key2 = crypto_keys_load_keyfile(key2file, &e)) == NULL)
		return -1;

	/* The tree. */
	put_file("a.txt", "hello\n", 6, 0644);
	put_file("empty", "", 0, 0644);
	mkdirf("%s/sub", src);
	mkdirf("%s/sub/deep", src);
	put_file("sub/deep/nested.txt", "nested\n", 7, 0600);
	if ((big = malloc(3 << 20)) == NULL ||
	    crypto_random(big, 3 << 20) != 0)
		return -1;
	put_file("big.bin", big, 3 << 20, 0644);
	free(big);
	/* A sparse file: 8 MiB, one block of data in the middle. */
	snprintf(path, sizeof(path), "%s/sparse.bin", src);
	if ((fd = open(path, O_WRONLY | O_CREAT, 0644)) < 0 ||
	    ftruncate(fd, 8 << 20) != 0 ||
	    pwrite(fd, "middle", 6, 4 << 20) != 6)
		return -1;
	close(fd);
	snprintf(path, sizeof(path), "%s/link", src);
	if (symlink("a.txt", path) != 0)
		return -1;
	snprintf(path, sizeof(path), "%s/hard", src);
	{
		char a[1024];

		snprintf(a, sizeof(a), "%s/a.txt", src);
		if (link(a, path) != 0)
			return -1;
	}
	/* Unreadable by us (root reads anything: then it is just a file). */
	snprintf(path, sizeof(path), "%s/secret", src);
	if ((fd = open(path, O_WRONLY | O_CREAT, 0600)) < 0)
		return -1;
	(void)write(fd, "s\n", 2);
	fchmod(fd, 0);
	close(fd);

	/* A source that does not exist: a warning even for root. */
	snprintf(missing, sizeof(missing), "%s/missing", tu_tmpdir());
	paths[0] = src;
	paths[1] = missing;
	paths[2] = NULL;
	no_exclude[0] = NULL;
	cmds[0].path = (char *)"cmd/out.txt";
	cmds[0].run = (char *)"printf 'hello from cmd\\n'";
	if ((sconf = storage_conf_local("here", store)) == NULL)
		return -1;
	if (storage_open(sconf, &st, &e) != 0)
		return -1;
	return 0;
}

static int
teardown(void **state_)
{
	storage_close(st);
	storage_conf_free(sconf);
	crypto_keys_free(key);
	crypto_keys_free(key2);
	/* VIGIL_TEST_KEEP=1 keeps the folder for a look afterwards. */
	(void)tu_tmpdir_teardown(state_);
	return 0;
}

/* --- Tests ------------------------------------------------------------ */

static void
test_backup_roundtrip(void **state_)
{
	struct job_conf jc;
	struct job_result res;
	struct prog pg = { 0 };
	struct catalog c;
	struct catalog_verify_result vr;
	struct manifest *m;
	const struct manifest_file *f, **sel;
	struct job_state js;
	struct ag_err e;
	char path[1024], gz[1024], cmd[4096], job[CATALOG_JOB_MAX + 1];
	char id[FORMAT_BACKUP_ID_SIZE];
	const char *out;
	size_t nsel;
	int status;

	(void)state_;
	job_init(&jc, "nightly");
	RUN_OK(&jc, &pg, &res);
	assert_true(res.ok);
	assert_string_equal(res.error, "");
	assert_int_equal(format_backup_id_parse(res.backup_id, NULL), 0);
	/* a.txt, empty, nested.txt, big.bin, (secret), cmd/out.txt. */
	assert_true(res.files >= 5);
	assert_true(res.dirs >= 3);
	assert_int_equal(res.symlinks, 1);
	assert_int_equal(res.hardlinks, 1);
	assert_true(res.bytes_in >= (3u << 20));
	assert_true(res.tar_bytes > res.bytes_in);
	/* Random data does not compress: stored about as much as read. */
	assert_true(res.bytes_stored > (3u << 20));
	/* Per-file problems are warnings: "path: reason". */
	assert_int_equal(res.warnings, is_root ? 1 : 2);
	assert_int_equal(res.nfirst_warnings, res.warnings);
	assert_non_null(strstr(res.first_warnings[res.warnings - 1],
	    "/missing: No such file or directory"));
	if (!is_root)
		assert_non_null(strstr(res.first_warnings[0],
		    "/secret: Permission denied"));
	/* Progress: at most ~10 a second, and one final call. */
	assert_int_equal(pg.done_calls, 1);
	assert_true(pg.calls <= 3 + (pg.last_ms - pg.first_ms) / 100 + 1);

	/* The objects. */
	obj_path("nightly", res.backup_id, "data.vgl", path, sizeof(path));
	assert_true(exists(path));
	obj_path("nightly", res.backup_id, "index.vgl", cmd, sizeof(cmd));
	assert_false(exists(cmd));
	obj_path("nightly", res.backup_id, "manifest.vgl", cmd, sizeof(cmd));
	assert_true(exists(cmd));

	/* Decrypted, it is a plain .tar.gz for gzip and tar. */
	snprintf(gz, sizeof(gz), "%s/data.tar.gz", tu_tmpdir());
	assert_int_equal(decrypt_file(path, gz, &e), 0);
	snprintf(cmd, sizeof(cmd), "gzip -t %s 2>&1", gz);
	(void)run_cmd(cmd, &status);
	assert_int_equal(status, 0);
	snprintf(cmd, sizeof(cmd), "tar -tzf %s 2>&1", gz);
	out = run_cmd(cmd, &status);
	assert_int_equal(status, 0);
	assert_non_null(strstr(out, tar_path("a.txt\n")));
	assert_non_null(strstr(out, tar_path("empty\n")));
	assert_non_null(strstr(out, tar_path("big.bin\n")));
	assert_non_null(strstr(out, tar_path("sparse.bin\n")));
	assert_non_null(strstr(out, tar_path("link\n")));
	assert_non_null(strstr(out, tar_path("hard\n")));
	assert_non_null(strstr(out, tar_path("sub/deep/nested.txt\n")));
	assert_non_null(strstr(out, "cmd/out.txt\n"));
	if (!is_root)
		assert_null(strstr(out, tar_path("secret")));
	snprintf(cmd, sizeof(cmd), "tar -xzOf %s cmd/out.txt", gz);
	out = run_cmd(cmd, &status);
	assert_int_equal(status, 0);
	assert_string_equal(out, "hello from cmd\n");
	snprintf(cmd, sizeof(cmd), "tar -xzOf %s %s | cmp - %s/big.bin", gz,
	    tar_path("big.bin"), src);
	(void)run_cmd(cmd, &status);
	assert_int_equal(status, 0);
	unlink(gz);

	/* The catalog sees it complete, and resolves it. */
	OK(catalog_list(st, "", "nightly", &c, &e));
	assert_int_equal(c.n, 1);
	assert_int_equal(c.ncomplete, 1);
	assert_true(c.v[0].complete && c.v[0].has_data);
	assert_string_equal(c.v[0].id, res.backup_id);
	assert_int_equal(c.v[0].size, res.bytes_stored);
	catalog_free(&c);
	OK(catalog_resolve(st, "", "nightly/latest", job, id, &e));
	assert_string_equal(job, "nightly");
	assert_string_equal(id, res.backup_id);
	snprintf(cmd, sizeof(cmd), "nightly/%.18s", res.backup_id);
	OK(catalog_resolve(st, "", cmd, job, id, &e));
	assert_string_equal(id, res.backup_id);
	assert_int_not_equal(catalog_resolve(st, "", "nightly/2001-01-01", job,
				 id, &e),
	    0);
	assert_non_null(strstr(e.msg, "no backup nightly/2001-01-01"));
	assert_int_not_equal(catalog_resolve(st, "", "nosuch/latest", job, id,
				 &e),
	    0);
	assert_non_null(strstr(e.msg, "no complete backup of job nosuch"));
	assert_int_not_equal(catalog_resolve(st, "", "nightly", job, id, &e),
	    0);
	assert_non_null(strstr(e.msg, "JOB/latest"));

	/* Verify passes, reading the whole object. */
	OK(catalog_verify(st, "", "nightly", res.backup_id, key, NULL, &vr,
	    &e));
	assert_true(vr.ok);
	assert_true(vr.chunks >= 48); /* 3 MiB in 64 KiB slices */
	assert_int_equal(vr.tar_bytes, res.tar_bytes);
	assert_true(vr.headers >= 8);
	assert_int_equal(vr.headers, vr.files);
	assert_true(vr.bytes_read >= vr.data_size);

	/* The manifest: the index finds files and folders. */
	OK(catalog_load_manifest(st, "", "nightly", res.backup_id, key, true,
	    &m, &e));
	assert_string_equal(m->job, "nightly");
	assert_string_equal(m->host, "testhost");
	assert_true(m->index_inline && m->files_loaded);
	assert_int_equal(m->counts.bytes_stored, res.bytes_stored);
	assert_int_equal(m->counts.warnings, res.warnings);
	assert_int_equal(m->slice_size, 64 << 10);
	assert_non_null(f = manifest_find(m, tar_path("big.bin")));
	assert_int_equal(f->type, MANIFEST_FILE);
	assert_int_equal(f->size, 3 << 20);
	assert_int_equal(f->mode, 0644);
	assert_non_null(f = manifest_find(m, tar_path("link")));
	assert_int_equal(f->type, MANIFEST_SYMLINK);
	assert_string_equal(f->target, "a.txt");
	/* Whichever name came first holds the data; the other links it. */
	assert_non_null(f = manifest_find(m, tar_path("hard")));
	if (f->type != MANIFEST_HARDLINK)
		assert_non_null(f = manifest_find(m, tar_path("a.txt")));
	assert_int_equal(f->type, MANIFEST_HARDLINK);
	assert_non_null(strstr(f->target, "src/"));
	assert_non_null(f->user);
	assert_non_null(f = manifest_find(m, "/cmd/out.txt"));
	assert_int_equal(f->size, 15);
	OK(manifest_select(m, tar_path("sub"), &sel, &nsel, &e));
	assert_int_equal(nsel, 3); /* sub, sub/deep, nested.txt */
	assert_true(sel[0]->tar_offset < sel[1]->tar_offset);
	free(sel);
	{
		size_t a, b;

		f = manifest_find(m, tar_path("big.bin"));
		assert_int_equal(manifest_chunk_span(m, f->tar_offset,
				     f->tar_len, &a, &b),
		    0);
		assert_true(b - a >= 47);
	}
	manifest_free(m);

	/* The job state file. */
	OK(job_state_load(state, "nightly", &js, &e));
	assert_true(js.has_run && js.has_success && !js.failed);
	assert_string_equal(js.last_success_id, res.backup_id);
	assert_int_equal(js.last_success_stored, res.bytes_stored);
	assert_int_equal(js.last_success_bytes, res.bytes_in);
	assert_int_equal(js.last_success_files, res.files);
	assert_int_equal(js.last_success_warnings, res.warnings);
	assert_int_equal(js.last_success_end_ms, res.end_ms);
	assert_int_equal(job_state_load(state, "never", &js, &e), 1);
}

static void
test_verify_failures(void **state_)
{
	struct job_conf jc;
	struct job_result res;
	struct prog pg = { 0 };
	struct catalog_verify_result vr;
	struct manifest *m;
	struct ag_err e;
	struct stat sb;
	char path[1024], mpath[1024], copy[2200];
	off_t mid;
	int status;

	(void)state_;
	job_init(&jc, "tamper");
	RUN_OK(&jc, &pg, &res);
	obj_path("tamper", res.backup_id, "data.vgl", path, sizeof(path));
	obj_path("tamper", res.backup_id, "manifest.vgl", mpath,
	    sizeof(mpath));
	assert_int_equal(stat(path, &sb), 0);
	snprintf(copy, sizeof(copy), "cp -p %s %s.orig", path, path);
	(void)run_cmd(copy, &status);
	assert_int_equal(status, 0);

	/* A flipped byte in the middle of the middle chunk. */
	OK(catalog_load_manifest(st, "", "tamper", res.backup_id, key, false,
	    &m, &e));
	mid = (off_t)(m->chunks[m->nchunks / 2].offset + 4 + 100);
	manifest_free(m);
	tu_flip_byte(path, mid);
	assert_int_equal(catalog_verify(st, "", "tamper", res.backup_id, key,
			     NULL, &vr, &e),
	    -1);
	assert_false(vr.ok);
	assert_non_null(strstr(e.msg, "data.vgl: chunk "));
	assert_non_null(strstr(e.msg, "authentication failed"));
	tu_flip_byte(path, mid);
	OK(catalog_verify(st, "", "tamper", res.backup_id, key, NULL, &vr,
	    &e));

	/* Truncated: the final chunk is missing, or cut in the middle. */
	assert_int_equal(truncate(path, sb.st_size - 100), 0);
	assert_int_equal(catalog_verify(st, "", "tamper", res.backup_id, key,
			     NULL, &vr, &e),
	    -1);
	assert_non_null(strstr(e.msg, "truncated"));
	snprintf(copy, sizeof(copy), "cp -p %s.orig %s", path, path);
	(void)run_cmd(copy, &status);

	/* Something appended after the final chunk. */
	{
		FILE *f = fopen(path, "ab");

		assert_non_null(f);
		fputs("junk", f);
		fclose(f);
	}
	assert_int_equal(catalog_verify(st, "", "tamper", res.backup_id, key,
			     NULL, &vr, &e),
	    -1);
	assert_non_null(strstr(e.msg, "trailing data"));
	(void)run_cmd(copy, &status);

	/* Another key. */
	assert_int_equal(catalog_verify(st, "", "tamper", res.backup_id, key2,
			     NULL, &vr, &e),
	    -1);
	assert_non_null(strstr(e.msg, "manifest.vgl: wrong key"));
	assert_int_equal(catalog_load_manifest(st, "", "tamper", res.backup_id,
			     key2, false, &m, &e),
	    -1);
	assert_non_null(strstr(e.msg, "wrong key"));

	/* A tampered manifest. */
	assert_int_equal(stat(mpath, &sb), 0);
	tu_flip_byte(mpath, sb.st_size - 30);
	assert_int_equal(catalog_verify(st, "", "tamper", res.backup_id, key,
			     NULL, &vr, &e),
	    -1);
	assert_non_null(strstr(e.msg,
	    "manifest.vgl: chunk 0: authentication "
	    "failed"));
	tu_flip_byte(mpath, sb.st_size - 30);

	/* Without its manifest the backup is incomplete. */
	snprintf(copy, sizeof(copy), "mv %s %s.x", mpath, mpath);
	(void)run_cmd(copy, &status);
	assert_int_equal(count_complete("tamper"), 0);
	assert_int_equal(catalog_verify(st, "", "tamper", res.backup_id, key,
			     NULL, &vr, &e),
	    -1);
	assert_non_null(strstr(e.msg, "has no manifest"));
	{
		char job[CATALOG_JOB_MAX + 1], id[FORMAT_BACKUP_ID_SIZE];
		char spec[64];

		snprintf(spec, sizeof(spec), "tamper/%s", res.backup_id);
		assert_int_equal(catalog_resolve(st, "", spec, job, id, &e),
		    -1);
		assert_non_null(strstr(e.msg,
		    "is incomplete (interrupted "
		    "run)"));
	}
	snprintf(copy, sizeof(copy), "mv %s.x %s", mpath, mpath);
	(void)run_cmd(copy, &status);
	assert_int_equal(count_complete("tamper"), 1);
	snprintf(copy, sizeof(copy), "%s.orig", path);
	unlink(copy);
}

static void
test_hooks(void **state_)
{
	struct job_conf jc;
	struct job_result res;
	struct prog pg = { 0 };
	struct job_state js;
	struct ag_err e;
	char post[1200], out[1024], cmdbuf[1200];
	const char *txt;
	int status;

	(void)state_;
	snprintf(out, sizeof(out), "%s/post.out", tu_tmpdir());
	snprintf(post, sizeof(post),
	    "echo \"$VIGIL_JOB $VIGIL_BACKUP_ID "
	    "$VIGIL_STATUS\" > %s",
	    out);

	/* A failing pre_hook fails the backup; post_hook still runs. */
	job_init(&jc, "hooked");
	jc.pre_hook = (char *)"echo first >&2; echo 'disk not mounted' >&2; "
			      "exit 3";
	jc.post_hook = post;
	assert_int_equal(run_job(&jc, &pg, &res), -1);
	assert_false(res.ok);
	assert_non_null(strstr(res.error, "pre_hook failed: exit status 3"));
	assert_non_null(strstr(res.error, "disk not mounted"));
	assert_int_equal(count_complete("hooked"), 0);
	snprintf(cmdbuf, sizeof(cmdbuf), "cat %s", out);
	txt = run_cmd(cmdbuf, &status);
	assert_non_null(strstr(txt, "hooked "));
	assert_non_null(strstr(txt, res.backup_id));
	assert_non_null(strstr(txt, " failed"));
	OK(job_state_load(state, "hooked", &js, &e));
	assert_true(js.failed && js.has_run && !js.has_success);
	assert_non_null(strstr(js.last_error, "pre_hook failed"));

	/* A good pre_hook; a failing post_hook is only a warning. */
	jc.pre_hook = (char *)"test -n \"$VIGIL_BACKUP_ID\"";
	jc.post_hook = (char *)"exit 4";
	RUN_OK(&jc, &pg, &res);
	assert_true(res.ok);
	assert_true(res.warnings >= 1);
	assert_non_null(strstr(res.first_warnings[res.nfirst_warnings - 1],
	    "post_hook failed: exit status 4"));
	assert_int_equal(count_complete("hooked"), 1);
	OK(job_state_load(state, "hooked", &js, &e));
	assert_true(!js.failed && js.has_success);
	assert_string_equal(js.last_error, "");

	/* The post_hook sees ok; a hook that hangs is timed out. */
	jc.post_hook = post;
	jc.pre_hook = NULL;
	RUN_OK(&jc, &pg, &res);
	txt = run_cmd(cmdbuf, &status);
	assert_non_null(strstr(txt, " ok"));
	jc.pre_hook = (char *)"sleep 30";
	jc.hook_timeout_ms = 300;
	assert_int_equal(run_job(&jc, &pg, &res), -1);
	assert_non_null(strstr(res.error, "pre_hook timed out"));
	assert_true(res.end_ms - res.start_ms < 5000);
}

static void
test_cancel_and_cleanup(void **state_)
{
	struct job_conf jc;
	struct job_result res;
	struct prog pg = { .cancel_after = 1 };
	struct catalog c;
	struct ag_err e;
	char old[FORMAT_BACKUP_ID_SIZE], key_[1024], path[1024], hook[1200];
	int fd;

	(void)state_;
	job_init(&jc, "cancel");
	/* The post_hook of a cancelled run still runs, told it failed. */
	snprintf(path, sizeof(path), "%s/cancel.out", tu_tmpdir());
	snprintf(hook, sizeof(hook),
	    "echo \"$VIGIL_STATUS $VIGIL_ERROR\" > "
	    "%s",
	    path);
	jc.post_hook = hook;
	assert_int_equal(run_job(&jc, &pg, &res), -1);
	assert_true(res.cancelled);
	assert_string_equal(res.error, "cancelled");
	assert_int_equal(count_complete("cancel"), 0);
	{
		char buf[64] = "";
		FILE *f = fopen(path, "r");

		assert_non_null(f);
		assert_non_null(fgets(buf, sizeof(buf), f));
		fclose(f);
		assert_string_equal(buf, "failed cancelled\n");
	}
	jc.post_hook = NULL;

	/*
	 * Leftovers of a crashed run an hour ago: a data.vgl without a
	 * manifest, and an unfinished upload.
	 */
	assert_int_equal(format_backup_id_new(time(NULL) - 3600, old), 0);
	snprintf(key_, sizeof(key_), "cancel/%s/data.vgl", old);
	assert_int_equal(storage_put(st, key_, (const uint8_t *)"partial", 7,
			     &e),
	    0);
	snprintf(path, sizeof(path), "%s/cancel/%s/index.vgl.part", store,
	    old);
	assert_true((fd = open(path, O_WRONLY | O_CREAT, 0600)) >= 0);
	close(fd);
	OK(catalog_list(st, "", "cancel", &c, &e));
	assert_true(c.n >= 1);
	assert_int_equal(c.ncomplete, 0);
	assert_false(c.v[0].complete);
	catalog_free(&c);

	/* The next run removes them. */
	pg = (struct prog){ 0 };
	RUN_OK(&jc, &pg, &res);
	assert_int_equal(res.cleaned, 1);
	snprintf(path, sizeof(path), "%s/cancel/%s/data.vgl", store, old);
	assert_false(exists(path));
	snprintf(path, sizeof(path), "%s/cancel/%s/index.vgl.part", store,
	    old);
	assert_false(exists(path));
	OK(catalog_list(st, "", "cancel", &c, &e));
	assert_int_equal(c.n, 1);
	assert_int_equal(c.ncomplete, 1);
	assert_string_equal(c.v[0].id, res.backup_id);
	catalog_free(&c);

	/* The job's own timeout stops it the same way. */
	job_init(&jc, "slow");
	jc.timeout_ms = 1;
	pg = (struct prog){ 0 };
	assert_int_equal(run_job(&jc, &pg, &res), -1);
	assert_true(res.timed_out);
	assert_false(res.cancelled);
	assert_non_null(strstr(res.error, "timed out after 1 ms"));
	assert_int_equal(count_complete("slow"), 0);
}

struct conc {
	struct job_conf jc;
	struct prog pg;
	struct job_result res;
	int rc;
};

static void *
conc_thread(void *arg)
{
	struct conc *c = arg;

	c->rc = run_job(&c->jc, &c->pg, &c->res);
	return NULL;
}

static void
test_concurrent(void **state_)
{
	struct conc a;
	struct job_result res;
	struct prog pg = { 0 };
	struct job_state js;
	struct ag_err e;
	pthread_t th;
	int fd;

	(void)state_;
	memset(&a, 0, sizeof(a));
	job_init(&a.jc, "conc");
	a.pg.block = true;
	pthread_mutex_init(&a.pg.mu, NULL);
	pthread_cond_init(&a.pg.cv, NULL);
	assert_int_equal(pthread_create(&th, NULL, conc_thread, &a), 0);
	pthread_mutex_lock(&a.pg.mu);
	while (!a.pg.started)
		pthread_cond_wait(&a.pg.cv, &a.pg.mu);
	pthread_mutex_unlock(&a.pg.mu);

	/* The first run is inside its backup: a second one is refused. */
	assert_int_equal(run_job(&a.jc, &pg, &res), -1);
	assert_string_equal(res.error, "job conc is already running");
	assert_int_equal(job_lock(state, "conc", &fd, &e), 1);
	assert_non_null(strstr(e.msg, "already running"));

	pthread_mutex_lock(&a.pg.mu);
	a.pg.release = true;
	pthread_cond_broadcast(&a.pg.cv);
	pthread_mutex_unlock(&a.pg.mu);
	pthread_join(th, NULL);
	assert_int_equal(a.rc, 0);
	assert_true(a.res.ok);
	/* The refused run did not overwrite the state. */
	OK(job_state_load(state, "conc", &js, &e));
	assert_true(js.last_run_ok);
	assert_string_equal(js.last_run_id, a.res.backup_id);
	assert_int_equal(job_lock(state, "conc", &fd, &e), 0);
	job_unlock(fd);
	pthread_mutex_destroy(&a.pg.mu);
	pthread_cond_destroy(&a.pg.cv);
}

struct prune_seen {
	int keep, del;
	char last_keep_reason[RETENTION_REASON_SIZE];
};

static void
prune_cb(void *cookie, const struct catalog_backup *b, enum catalog_action a,
    const char *reason, int rc, const char *error)
{
	struct prune_seen *s = cookie;

	(void)b;
	(void)error;
	assert_int_equal(rc, 0);
	if (a == CATALOG_KEEP) {
		s->keep++;
		snprintf(s->last_keep_reason, sizeof(s->last_keep_reason),
		    "%s", reason);
	} else if (a == CATALOG_DELETE) {
		s->del++;
	}
}

static void
test_retention(void **state_)
{
	struct job_conf jc;
	struct job_result res;
	struct prog pg = { 0 };
	struct catalog c;
	struct catalog_prune_opts po = { 0 };
	struct catalog_prune_result pr;
	struct prune_seen seen = { 0 };
	struct ag_err e;
	char ids[4][FORMAT_BACKUP_ID_SIZE];

	(void)state_;
	job_init(&jc, "keep");
	/* Small: only the command output, so four runs are quick. */
	jc.npaths = 0;
	jc.paths = no_exclude;
	for (int i = 0; i < 4; i++) {
		/* Ids order by second: keep the runs in distinct seconds. */
		if (i > 0) {
			int64_t next = (clock_wall_ms() / 1000 + 1) * 1000;

			while (clock_wall_ms() < next)
				usleep(20000);
		}
		jc.keep_last = i < 3 ? 0 : 2;
		RUN_OK(&jc, &pg, &res);
		memcpy(ids[i], res.backup_id, sizeof(ids[i]));
	}
	assert_int_equal(res.pruned, 2);
	OK(catalog_list(st, "", "keep", &c, &e));
	assert_int_equal(c.n, 2);
	assert_int_equal(c.ncomplete, 2);
	assert_string_equal(c.v[0].id, ids[2]);
	assert_string_equal(c.v[1].id, ids[3]);
	catalog_free(&c);

	/* A dry run with keep_last 1 would delete one and delete nothing. */
	job_retention_policy(&jc, &po.policy);
	po.policy.keep_last = 1;
	po.dry_run = true;
	po.stale_grace_s = -1;
	po.cb = prune_cb;
	po.cookie = &seen;
	OK(catalog_prune(st, "", "keep", &po, &pr, &e));
	assert_int_equal(pr.kept, 1);
	assert_int_equal(pr.deleted, 1); /* would be */
	assert_int_equal(seen.keep, 1);
	assert_int_equal(seen.del, 1);
	assert_non_null(strstr(seen.last_keep_reason, "newest"));
	assert_int_equal(count_complete("keep"), 2);
	/* For real. */
	po.dry_run = false;
	OK(catalog_prune(st, "", "keep", &po, &pr, &e));
	assert_int_equal(pr.deleted, 1);
	assert_int_equal(count_complete("keep"), 1);
	OK(catalog_list(st, "", "keep", &c, &e));
	assert_int_equal(c.n, 1);
	assert_string_equal(c.v[0].id, ids[3]);
	catalog_free(&c);
}

static void
test_strict(void **state_)
{
	struct job_conf jc;
	struct job_result res;
	struct prog pg = { 0 };

	(void)state_;
	job_init(&jc, "strict");
	jc.strict = true;
	assert_int_equal(run_job(&jc, &pg, &res), -1);
	/* Root reads the unreadable file; the missing source fails. */
	if (is_root)
		assert_non_null(strstr(res.error,
		    "/missing: No such file or "
		    "directory"));
	else
		assert_non_null(strstr(res.error,
		    "/secret: Permission "
		    "denied"));
	assert_int_equal(count_complete("strict"), 0);
	/* The aborted upload left nothing behind. */
	{
		struct catalog c;
		struct ag_err e;

		OK(catalog_list(st, "", "strict", &c, &e));
		assert_int_equal(c.n, 0);
		catalog_free(&c);
	}
}

/* The whole file at ${path}, malloc'd and NUL-terminated; length. */
static char *
slurp(const char *path, size_t *ret_len)
{
	struct stat sb;
	char *p;
	FILE *f;

	assert_int_equal(stat(path, &sb), 0);
	assert_non_null(p = malloc((size_t)sb.st_size + 1));
	assert_non_null(f = fopen(path, "rb"));
	assert_int_equal(fread(p, 1, (size_t)sb.st_size, f),
	    (size_t)sb.st_size);
	fclose(f);
	p[sb.st_size] = '\0';
	*ret_len = (size_t)sb.st_size;
	return p;
}

static void
spit(const char *path, const void *buf, size_t len)
{
	FILE *f;

	assert_non_null(f = fopen(path, "wb"));
	assert_int_equal(fwrite(buf, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

/* Chunk ${want} of an object, as a decrypting callback keeps it. */
struct onechunk {
	uint64_t want;
	FILE *f;
	uint64_t nchunks;
};

static int
onechunk_cb(void *cookie, uint64_t index, const uint8_t *pt, size_t len,
    int final)
{
	struct onechunk *o = cookie;

	(void) final;
	o->nchunks++;
	if (index == o->want)
		return fwrite(pt, 1, len, o->f) == len ? 0 : -1;
	return 0;
}

/* Restore the archive path ${path} of many/${id} into ${dir}. */
static void
restore_one(const char *id, const char *path, const char *dir)
{
	const char *paths1[2] = { path, NULL };
	struct restore_opts o = { .target = dir,
		.paths = paths1,
		.no_owner = true,
		.workers = 2 };
	struct restore_result rr;
	struct ag_err e;

	OK(restore_run(st, "", "many", id, key, &o, &rr, &e));
	assert_true(rr.ok && rr.partial);
	assert_int_equal(rr.extracted, 1);
}

/*
 * Make the tree ${dir}/a.../b.../c.../ (three folders of 240-byte names)
 * holding ${n} empty files "<NNNN>f...", but for file 1234 (1 byte): a
 * file index of about 1 KiB per entry.  Store the deepest folder in
 * ${deep} and the files' common name suffix in ${name} (256 bytes).
 */
static void
many_tree(const char *dir, int n, char *deep, size_t deeplen, char *name)
{
	char path[2400];
	int fd;

	mkdirf("%s", dir);
	memset(name, 'n', 256);
	name[240] = '\0';
	snprintf(deep, deeplen, "%s", dir);
	for (int d = 0; d < 3; d++) {
		name[0] = (char)('a' + d);
		snprintf(deep + strlen(deep), deeplen - strlen(deep), "/%s",
		    name);
		mkdirf("%s", deep);
	}
	name[0] = 'f';
	for (int i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%04d%s", deep, i, name);
		assert_true((fd = open(path, O_WRONLY | O_CREAT, 0644)) >= 0);
		if (i == 1234)
			assert_int_equal(write(fd, "x", 1), 1);
		close(fd);
	}
}

/* Back up the tree ${dir} alone as job ${job}, into ${res}. */
static void
run_tree(const char *job, char *dir, struct job_result *res)
{
	struct job_conf jc;
	struct prog pg = { 0 };
	char *lpaths[2] = { dir, NULL };

	job_init(&jc, job);
	jc.paths = lpaths;
	jc.npaths = 1;
	jc.ncommands = 0;
	RUN_OK(&jc, &pg, res);
}

/*
 * A tree whose file index is over MANIFEST_INLINE_MAX: it goes to
 * index.vgl, compressed.  Long names make the index large with few files
 * (creating files is slow).  Then the same backup with its index stored
 * the way backups were written before compression (plain JSON, no
 * "encoding" in the manifest) must still load, verify and restore.
 */
static void
test_large_index(void **state_)
{
	struct job_result res;
	struct catalog_verify_result vr;
	struct manifest *m;
	const struct manifest_file *f, **sel;
	struct onechunk oc = { .want = 1 };
	struct format_reader *rd;
	struct ag_err e;
	struct stat sb;
	json_t *root, *ix;
	char dir[1024], deep[2048], name[256];
	char ipath[2400], mpath[2400], cpath[2400], jpath[2400], cmd[8000];
	char rdir[1100], fpath[2400], rpath[3600];
	char *json, *chunk, *mjson, *djson, *raw;
	uint8_t dk[32], *sealed;
	size_t nsel, jlen, clen, mlen, slen, rawlen;
	uint64_t index_size;
	int status;

	(void)state_;
	snprintf(dir, sizeof(dir), "%s/many", tu_tmpdir());
	many_tree(dir, 4000, deep, sizeof(deep), name);
	run_tree("many", dir, &res);
	assert_int_equal(res.files, 4000);
	obj_path("many", res.backup_id, "index.vgl", ipath, sizeof(ipath));
	obj_path("many", res.backup_id, "manifest.vgl", mpath, sizeof(mpath));
	assert_true(exists(ipath));
	assert_int_equal(stat(ipath, &sb), 0);
	index_size = (uint64_t)sb.st_size;

	OK(catalog_verify(st, "", "many", res.backup_id, key, NULL, &vr, &e));
	assert_true(vr.index_separate);
	assert_int_equal(vr.headers, 4004);
	OK(catalog_load_manifest(st, "", "many", res.backup_id, key, false, &m,
	    &e));
	assert_false(m->index_inline);
	assert_false(m->files_loaded);
	assert_int_equal(m->index_entries, 4004);
	assert_int_equal(m->index_encoding, MANIFEST_INDEX_GZIP);
	assert_int_equal(m->index_size, index_size);
	/* Compressed: far smaller than its JSON (about 4 MiB here). */
	assert_true(m->index_json_size > 3 * MANIFEST_INDEX_SLICE);
	assert_true(index_size < m->index_json_size / 4);
	/* The manifest stays small for listing. */
	assert_int_equal(stat(mpath, &sb), 0);
	assert_true(sb.st_size < 20000);
	manifest_free(m);
	OK(catalog_load_manifest(st, "", "many", res.backup_id, key, true, &m,
	    &e));
	assert_true(m->files_loaded);
	assert_int_equal(m->nfiles, 4004);
	snprintf(fpath, sizeof(fpath), "%s/1234%s", deep + 1, name);
	assert_non_null(f = manifest_find(m, fpath));
	assert_int_equal(f->type, MANIFEST_FILE);
	assert_int_equal(f->size, 1);
	OK(manifest_select(m, dir + 1, &sel, &nsel, &e));
	assert_int_equal(nsel, 4004);
	free(sel);

	/*
	 * From the outside: the plaintext is a gzip stream of the JSON, and
	 * chunk 1 alone inflates to JSON bytes [1 MiB, 2 MiB).
	 */
	snprintf(cpath, sizeof(cpath), "%s/index.gz", tu_tmpdir());
	snprintf(jpath, sizeof(jpath), "%s/index.json", tu_tmpdir());
	OK(decrypt_file(ipath, cpath, &e));
	snprintf(cmd, sizeof(cmd), "gzip -dc < '%s' > '%s'", cpath, jpath);
	(void)run_cmd(cmd, &status);
	assert_int_equal(status, 0);
	json = slurp(jpath, &jlen);
	assert_int_equal(jlen, m->index_json_size);
	assert_non_null(strstr(json, "\"backup_id\""));
	assert_non_null(oc.f = fopen(cpath, "wb"));
	assert_non_null(rd = format_reader_new(key, FORMAT_KIND_INDEX,
			    onechunk_cb, &oc));
	raw = slurp(ipath, &rawlen);
	OK(format_reader_feed(rd, (const uint8_t *)raw, rawlen, &e));
	OK(format_reader_end(rd, &e));
	assert_int_equal(format_object_info(format_reader_object(rd))
			     ->chunk_size,
	    st_compress_bound(MANIFEST_INDEX_SLICE));
	format_reader_free(rd);
	fclose(oc.f);
	assert_int_equal(oc.nchunks,
	    (jlen + MANIFEST_INDEX_SLICE - 1) / MANIFEST_INDEX_SLICE);
	snprintf(cmd, sizeof(cmd), "gzip -dc < '%s' > '%s.1'", cpath, jpath);
	(void)run_cmd(cmd, &status);
	assert_int_equal(status, 0);
	snprintf(cmd, sizeof(cmd), "%s.1", jpath);
	chunk = slurp(cmd, &clen);
	assert_int_equal(clen, MANIFEST_INDEX_SLICE);
	assert_memory_equal(chunk, json + MANIFEST_INDEX_SLICE, clen);
	free(chunk);
	manifest_free(m);

	/* Single-file restore reads the compressed index. */
	snprintf(rdir, sizeof(rdir), "%s/restore-many", tu_tmpdir());
	restore_one(res.backup_id, fpath, rdir);
	snprintf(rpath, sizeof(rpath), "%s/%s", rdir, fpath);
	assert_int_equal(stat(rpath, &sb), 0);
	assert_int_equal(sb.st_size, 1);

	/*
	 * The old way: index.vgl sealed from the plain JSON, the manifest
	 * without "encoding" and "json_size".
	 */
	assert_int_equal(crypto_random(dk, sizeof(dk)), 0);
	OK(format_seal_buffer(key, dk, FORMAT_KIND_INDEX, res.backup_id,
	    (const uint8_t *)json, jlen, &sealed, &slen, &e));
	spit(ipath, sealed, slen);
	free(sealed);
	free(raw);
	raw = slurp(mpath, &rawlen);
	OK(format_manifest_open(key, (const uint8_t *)raw, rawlen, &mjson,
	    &mlen, &e));
	assert_non_null(strstr(mjson, "\"encoding\":\"gzip\""));
	assert_non_null(root = json_loadb(mjson, mlen, 0, NULL));
	free(mjson);
	assert_non_null(ix = json_object_get(root, "index"));
	assert_int_equal(json_object_del(ix, "encoding"), 0);
	assert_int_equal(json_object_del(ix, "json_size"), 0);
	json_object_set_new(ix, "size", json_integer((json_int_t)slen));
	assert_non_null(djson = json_dumps(root, JSON_COMPACT));
	OK(format_manifest_seal(key, dk, res.backup_id, djson, strlen(djson),
	    &sealed, &slen, &e));
	spit(mpath, sealed, slen);
	free(sealed);
	free(djson);
	OK(catalog_load_manifest(st, "", "many", res.backup_id, key, true, &m,
	    &e));
	assert_int_equal(m->index_encoding, MANIFEST_INDEX_JSON);
	assert_int_equal(m->index_json_size, 0);
	assert_int_equal(m->nfiles, 4004);
	assert_non_null(f = manifest_find(m, fpath));
	assert_int_equal(f->size, 1);
	manifest_free(m);
	OK(catalog_verify(st, "", "many", res.backup_id, key, NULL, &vr, &e));
	assert_int_equal(vr.headers, 4004);
	assert_int_equal(unlink(rpath), 0);
	restore_one(res.backup_id, fpath, rdir);
	assert_int_equal(stat(rpath, &sb), 0);

	/* A manifest that says gzip over a plain index: a clear error. */
	json_object_set_new(ix, "encoding", json_string("gzip"));
	assert_non_null(djson = json_dumps(root, JSON_COMPACT));
	OK(format_manifest_seal(key, dk, res.backup_id, djson, strlen(djson),
	    &sealed, &slen, &e));
	spit(mpath, sealed, slen);
	free(sealed);
	free(djson);
	assert_int_equal(catalog_load_manifest(st, "", "many", res.backup_id,
			     key, true, &m, &e),
	    -1);
	assert_non_null(strstr(e.msg,
	    "index.vgl: chunk 0: not a gzip "
	    "member"));
	/* ... and an encoding this vigil does not know. */
	json_object_set_new(ix, "encoding", json_string("zstd"));
	assert_non_null(djson = json_dumps(root, JSON_COMPACT));
	OK(format_manifest_seal(key, dk, res.backup_id, djson, strlen(djson),
	    &sealed, &slen, &e));
	spit(mpath, sealed, slen);
	free(sealed);
	free(djson);
	assert_int_equal(catalog_load_manifest(st, "", "many", res.backup_id,
			     key, false, &m, &e),
	    -1);
	assert_non_null(strstr(e.msg,
	    "index.encoding: \"zstd\" is not "
	    "supported"));
	json_decref(root);
	free(raw);
	free(json);
}

/* Seal the manifest JSON ${root} of backup ${id} with ${dk} over ${mpath}. */
static void
put_manifest(const json_t *root, const uint8_t dk[32], const char *id,
    const char *mpath)
{
	struct ag_err e;
	uint8_t *sealed;
	size_t slen;
	char *djson;

	assert_non_null(djson = json_dumps(root, JSON_COMPACT));
	OK(format_manifest_seal(key, dk, id, djson, strlen(djson), &sealed,
	    &slen, &e));
	spit(mpath, sealed, slen);
	free(sealed);
	free(djson);
}

/*
 * verify checks the manifest's counts against its file index: a manifest
 * whose counts lie, sealed again so that everything else is consistent,
 * fails, naming the count.
 */
static void
test_verify_counts(void **state_)
{
	static const char *const names[] = { "files", "dirs", "symlinks",
		"hardlinks", "other" };
	struct job_conf jc;
	struct job_result res;
	struct prog pg = { 0 };
	struct catalog_verify_result vr;
	struct ag_err e;
	char mpath[1024], want[256], *raw, *mjson;
	uint8_t dk[32];
	size_t rawlen, mlen;
	json_t *root, *counts;

	(void)state_;
	job_init(&jc, "counts");
	RUN_OK(&jc, &pg, &res);
	obj_path("counts", res.backup_id, "manifest.vgl", mpath,
	    sizeof(mpath));
	raw = slurp(mpath, &rawlen);
	OK(format_manifest_open(key, (const uint8_t *)raw, rawlen, &mjson,
	    &mlen, &e));
	assert_non_null(root = json_loadb(mjson, mlen, 0, NULL));
	free(mjson);
	assert_non_null(counts = json_object_get(root, "counts"));
	assert_int_equal(crypto_random(dk, sizeof(dk)), 0);
	for (size_t i = 0; i < 5; i++) {
		json_int_t n = json_integer_value(json_object_get(counts,
		    names[i]));

		json_object_set_new(counts, names[i], json_integer(n + 1));
		put_manifest(root, dk, res.backup_id, mpath);
		assert_int_equal(catalog_verify(st, "", "counts",
				     res.backup_id, key, NULL, &vr, &e),
		    -1);
		assert_false(vr.ok);
		snprintf(want, sizeof(want),
		    "manifest: counts.%s is %lld, but "
		    "the file index has %lld such entries",
		    names[i], (long long)n + 1, (long long)n);
		assert_string_equal(e.msg, want);
		json_object_set_new(counts, names[i], json_integer(n));
	}
	/* The true counts, sealed the same way: intact. */
	put_manifest(root, dk, res.backup_id, mpath);
	OK(catalog_verify(st, "", "counts", res.backup_id, key, NULL, &vr,
	    &e));
	assert_true(vr.ok);
	assert_false(vr.is_signed);
	json_decref(root);
	free(raw);
}

/*
 * The "lies" backup: store ${json} (${len} bytes) as its index.vgl, sealed
 * as plain JSON the way backups were written before compression, and
 * the manifest ${root} saying so, with the sha256 of ${sha_of} (the index
 * the manifest vouches for; ${json} itself to make the lie consistent).
 */
static void
put_index(const char *json, size_t len, const char *sha_of, json_t *root,
    const uint8_t dk[32], const char *id, const char *ipath, const char *mpath)
{
	struct ag_err e;
	json_t *mi = json_object_get(root, "index");
	uint8_t sha[32], *sealed;
	char hex[65];
	size_t slen;

	OK(format_seal_buffer(key, dk, FORMAT_KIND_INDEX, id,
	    (const uint8_t *)json, len, &sealed, &slen, &e));
	spit(ipath, sealed, slen);
	free(sealed);
	assert_int_equal(crypto_sha256(sha_of, strlen(sha_of), sha), 0);
	crypto_hex(sha, sizeof(sha), hex);
	(void)json_object_del(mi, "encoding");
	(void)json_object_del(mi, "json_size");
	json_object_set_new(mi, "size", json_integer((json_int_t)slen));
	json_object_set_new(mi, "sha256", json_string(hex));
	put_manifest(root, dk, id, mpath);
}

/* verify of lies/${id} must fail with ${want} (exact, or a part of it). */
static void
verify_fails(const char *id, const char *want, bool exact)
{
	struct catalog_verify_result vr = { 0 };
	struct ag_err e;

	if (catalog_verify(st, "", "lies", id, key, NULL, &vr, &e) == 0)
		fail_msg("verify passed, not %.200s", want);
	assert_false(vr.ok);
	if (exact)
		assert_string_equal(e.msg, want);
	else if (strstr(e.msg, want) == NULL)
		fail_msg("verify said \"%s\", not \"%s\"", e.msg, want);
}

/*
 * verify reads a separate file index alongside data.vgl, one entry at a
 * time (bounded memory: it_restore_million.sh measures it), and keeps
 * every check it made when it loaded the index first: each entry's tar
 * header, the counts, the index's sha256, structure and entry count.  An
 * index that is not the manifest's says so (its sha256), whatever the
 * data side found first; an index the manifest vouches for that lies
 * about the tar is caught at the entry that lies.  2000 entries of about
 * 1 KiB: the queue between the two threads fills up many times.
 */
static void
test_verify_streamed_index(void **state_)
{
	static volatile sig_atomic_t cancel = 1;
	struct catalog_verify_opts vo = { 0 };
	struct job_result res;
	struct catalog_verify_result vr;
	struct manifest *m;
	struct ag_err e;
	json_t *root, *ix, *files, *f, *counts;
	char dir[1024], deep[2048], name[256];
	char ipath[2400], mpath[2400], dpath[2400], cpath[2400], jpath[2400];
	char cmd[8000], want[1024], orig[2048], renamed[2100];
	char *truejson, *json, *raw;
	char *mjson, *dump;
	uint8_t dk[32];
	size_t jlen, rawlen, mlen, k;
	const char *id;
	off_t mid;
	int status;

	(void)state_;
	snprintf(dir, sizeof(dir), "%s/lies", tu_tmpdir());
	many_tree(dir, 2000, deep, sizeof(deep), name);
	run_tree("lies", dir, &res);
	id = res.backup_id;
	obj_path("lies", id, "index.vgl", ipath, sizeof(ipath));
	obj_path("lies", id, "manifest.vgl", mpath, sizeof(mpath));
	obj_path("lies", id, "data.vgl", dpath, sizeof(dpath));
	assert_true(exists(ipath));

	/* Intact; without the header checks, the offsets alone. */
	OK(catalog_verify(st, "", "lies", id, key, NULL, &vr, &e));
	assert_true(vr.ok);
	assert_true(vr.index_separate);
	assert_int_equal(vr.files, 2004);
	assert_int_equal(vr.headers, 2004);
	vo.skip_headers = true;
	OK(catalog_verify(st, "", "lies", id, key, &vo, &vr, &e));
	assert_int_equal(vr.files, 2004);
	assert_int_equal(vr.headers, 0);
	/* Cancelled: both sides stop. */
	vo.cancel = &cancel;
	assert_int_equal(catalog_verify(st, "", "lies", id, key, &vo, &vr, &e),
	    -1);
	assert_string_equal(e.msg, "cancelled");

	/* The index's JSON, and the manifest's. */
	snprintf(cpath, sizeof(cpath), "%s/lies.gz", tu_tmpdir());
	snprintf(jpath, sizeof(jpath), "%s/lies.json", tu_tmpdir());
	OK(decrypt_file(ipath, cpath, &e));
	snprintf(cmd, sizeof(cmd), "gzip -dc < '%s' > '%s'", cpath, jpath);
	(void)run_cmd(cmd, &status);
	assert_int_equal(status, 0);
	truejson = slurp(jpath, &jlen);
	assert_non_null(ix = json_loadb(truejson, jlen, 0, NULL));
	assert_non_null(files = json_object_get(ix, "files"));
	assert_int_equal(json_array_size(files), 2004);
	raw = slurp(mpath, &rawlen);
	OK(format_manifest_open(key, (const uint8_t *)raw, rawlen, &mjson,
	    &mlen, &e));
	assert_non_null(root = json_loadb(mjson, mlen, 0, NULL));
	free(mjson);
	assert_int_equal(crypto_random(dk, sizeof(dk)), 0);

	/* The same index as plain JSON: intact. */
	put_index(truejson, jlen, truejson, root, dk, id, ipath, mpath);
	OK(catalog_verify(st, "", "lies", id, key, NULL, &vr, &e));
	assert_int_equal(vr.headers, 2004);

	/* An entry renamed: not the manifest's index, then a lying one. */
	for (k = 4; k < 2004; k++)
		if (strcmp(json_string_value(json_object_get(
			       json_array_get(files, k), "type")),
			"file") == 0)
			break;
	k += 700;
	assert_non_null(f = json_array_get(files, k));
	snprintf(orig, sizeof(orig), "%s",
	    json_string_value(json_object_get(f, "path")));
	snprintf(renamed, sizeof(renamed), "%sX", orig);
	json_object_set_new(f, "path", json_string(renamed));
	assert_non_null(json = json_dumps(ix, JSON_COMPACT));
	put_index(json, strlen(json), truejson, root, dk, id, ipath, mpath);
	verify_fails(id,
	    "index: sha256 differs from the manifest's (not the "
	    "index of this backup)",
	    true);
	/* ... also when data.vgl is damaged too: the index is named. */
	assert_int_equal(catalog_load_manifest(st, "", "lies", id, key, false,
			     &m, &e),
	    0);
	mid = (off_t)(m->chunks[m->nchunks / 2].offset + 4 + 100);
	manifest_free(m);
	snprintf(cmd, sizeof(cmd), "cp -p '%s' '%s.orig'", dpath, dpath);
	(void)run_cmd(cmd, &status);
	assert_int_equal(status, 0);
	tu_flip_byte(dpath, mid);
	verify_fails(id,
	    "index: sha256 differs from the manifest's (not the "
	    "index of this backup)",
	    true);
	put_index(truejson, jlen, truejson, root, dk, id, ipath, mpath);
	verify_fails(id, "authentication failed", false);
	verify_fails(id, "data.vgl: chunk ", false);
	snprintf(cmd, sizeof(cmd), "mv '%s.orig' '%s'", dpath, dpath);
	(void)run_cmd(cmd, &status);
	assert_int_equal(status, 0);
	OK(catalog_verify(st, "", "lies", id, key, NULL, &vr, &e));
	/* The renamed entry, vouched for by the manifest. */
	put_index(json, strlen(json), json, root, dk, id, ipath, mpath);
	snprintf(want, sizeof(want),
	    "file index: files[%zu] \"%.100s\" at "
	    "tar offset %lld: the tar header there is \"%.100s\"",
	    k, renamed,
	    (long long)json_integer_value(json_object_get(f, "tar_offset")),
	    orig);
	want[AG_ERR_SIZE - 1] = '\0'; /* as much as a message holds */
	verify_fails(id, want, true);
	free(json);

	/* Its type changed. */
	json_object_set_new(f, "path", json_string(orig));
	json_object_set_new(f, "type", json_string("dir"));
	assert_non_null(json = json_dumps(ix, JSON_COMPACT));
	put_index(json, strlen(json), json, root, dk, id, ipath, mpath);
	snprintf(want, sizeof(want),
	    "file index: files[%zu] \"%.100s\": "
	    "type dir, but the tar header has type '0'",
	    k, orig);
	verify_fails(id, want, true);
	free(json);
	json_object_set_new(f, "type", json_string("file"));

	/* Outside the tar, or out of order. */
	json_object_set_new(f, "tar_offset",
	    json_integer(json_integer_value(
		json_object_get(json_object_get(root, "tar"), "size"))));
	assert_non_null(json = json_dumps(ix, JSON_COMPACT));
	put_index(json, strlen(json), json, root, dk, id, ipath, mpath);
	snprintf(want, sizeof(want), "manifest: files[%zu]: tar range [", k);
	verify_fails(id, want, false);
	verify_fails(id, "is out of order or outside the tar", false);
	free(json);

	/* One entry fewer than the manifest says. */
	dump = json_dumps(f, JSON_COMPACT);
	assert_int_equal(json_array_remove(files, k), 0);
	assert_non_null(json = json_dumps(ix, JSON_COMPACT));
	put_index(json, strlen(json), json, root, dk, id, ipath, mpath);
	verify_fails(id, "index: 2003 entries, the manifest says 2004", true);
	free(json);
	json_array_insert_new(files, k, json_loads(dump, 0, NULL));
	free(dump);

	/* Not whole: cut before its last '}', vouched for. */
	{
		char *cut = strndup(truejson,
		    (size_t)(strrchr(truejson, '}') - truejson));

		put_index(cut, strlen(cut), cut, root, dk, id, ipath, mpath);
		free(cut);
	}
	verify_fails(id, "index: not valid JSON at byte ", false);
	verify_fails(id, "the text ends inside the object", false);

	/* Counts that lie about a separate index. */
	put_index(truejson, jlen, truejson, root, dk, id, ipath, mpath);
	assert_non_null(counts = json_object_get(root, "counts"));
	json_object_set_new(counts, "files",
	    json_integer(json_integer_value(json_object_get(counts, "files")) +
		1));
	put_manifest(root, dk, id, mpath);
	verify_fails(id,
	    "manifest: counts.files is 2001, but the file index "
	    "has 2000 such entries",
	    true);
	json_object_set_new(counts, "files", json_integer(2000));
	put_manifest(root, dk, id, mpath);
	OK(catalog_verify(st, "", "lies", id, key, NULL, &vr, &e));

	/* index.vgl damaged, or gone. */
	tu_flip_byte(ipath, (off_t)jlen / 2);
	verify_fails(id, "index.vgl: chunk ", false);
	verify_fails(id, "authentication failed", false);
	assert_int_equal(unlink(ipath), 0);
	snprintf(want, sizeof(want), "backup lies/%s: index.vgl is missing",
	    id);
	verify_fails(id, want, true);

	json_decref(root);
	json_decref(ix);
	free(truejson);
	free(raw);
}

/* --- The manifest alone ----------------------------------------------- */

/* A writer fed by hand: 2 chunks, entries with odd names. */
static struct manifest_writer *
fake_writer(size_t nentries, uint64_t *ret_tar)
{
	struct manifest_head h = { .job = "unit",
		.host = "h\"ost",
		.backup_id = "2026-11-22T030000Z-3f9a",
		.start_ms = 1763780400000,
		.compress_level = 6,
		.slice_size = 65536,
		.spill_dir = tu_tmpdir() };
	const char *srcs[] = { "/etc", "/sr\xffv", NULL };
	struct manifest_writer *w;
	struct st_archive_entry en;
	struct ag_err e;
	uint64_t tar = (uint64_t)nentries * 1024 + 1024;
	uint64_t nch = (tar + 65535) / 65536, off = 170;
	char path[600];

	h.sources = srcs;
	assert_non_null(w = manifest_writer_new(&h, &e));
	for (uint64_t i = 0; i < nch; i++) {
		struct st_compress_member mb = { .index = i,
			.tar_off = i * 65536,
			.tar_len = i + 1 < nch ? 65536 : tar - i * 65536 };
		struct st_encrypt_chunk ch = { .index = i,
			.offset = off,
			.plain_len = 1000,
			.sealed_len = 1020 };

		manifest_writer_member(w, &mb);
		manifest_writer_chunk(w, &ch);
		off += 1020;
	}
	for (size_t i = 0; i < nentries; i++) {
		memset(&en, 0, sizeof(en));
		snprintf(path, sizeof(path), "d%zu/%0200zu-%s", i % 7, i,
		    i == 1 ? "bad\xff\xfe\"\\\n" : "ok");
		en.path = path;
		en.type = i % 5 == 0 ? 0120000 : 0100000;
		en.link = i % 5 == 0 ? "target\x80" : NULL;
		en.offset = (uint64_t)i * 1024;
		en.length = 1024;
		en.size = i % 5 == 0 ? 0 : 100;
		en.mode = 0644;
		en.mtime = 1763780000;
		manifest_writer_entry(w, &en, "r\xe9ot", "wheel");
	}
	manifest_writer_warning(w, "x: \x01 odd");
	assert_int_equal(manifest_writer_failed(w, &e), 0);
	*ret_tar = tar;
	(void)off;
	return w;
}

static void
finish_writer(struct manifest_writer *w, uint64_t tar)
{
	uint8_t hdr[170];
	uint64_t nch = (tar + 65535) / 65536;
	struct manifest_totals t = { .end_ms = 1763780500000,
		.files = 3,
		.tar_size = tar,
		.data_size = 170 + nch * 1020,
		.data_header = hdr,
		.data_header_len = sizeof(hdr),
		.chunk_size = 70000 };
	struct ag_err e;

	memset(hdr, 0xab, sizeof(hdr));
	assert_int_equal(manifest_writer_finish(w, &t, &e), 0);
}

struct textbuf {
	char *p;
	size_t len;
};

static int
collect(void *cookie, const uint8_t *buf, size_t len)
{
	struct textbuf *t = cookie;

	assert_true(len <= (1u << 20));
	t->p = realloc(t->p, t->len + len + 1);
	memcpy(t->p + t->len, buf, len);
	t->len += len;
	t->p[t->len] = '\0';
	return 0;
}

static void
test_manifest_unit(void **state_)
{
	struct manifest_writer *w;
	struct manifest *m;
	const struct manifest_file *f, **sel;
	struct textbuf ix = { 0 };
	struct ag_err e;
	char *json, path[600];
	size_t len, nsel;
	uint64_t tar, stored;

	(void)state_;
	/* Inline index with names that are not UTF-8. */
	w = fake_writer(10, &tar);
	finish_writer(w, tar);
	assert_false(manifest_writer_index_separate(w));
	OK(manifest_writer_json(w, 170, &json, &len, &stored, &e));
	assert_int_equal(stored,
	    170 + 1 * 1020 + manifest_sealed_size(len, 170));
	manifest_writer_free(w);
	OK(manifest_parse(json, len, &m, &e));
	assert_int_equal(m->nfiles, 10);
	assert_string_equal(m->host, "h\"ost");
	assert_int_equal(m->counts.bytes_stored, stored);
	assert_int_equal(m->counts.warnings, 1);
	assert_string_equal(m->sources[1], "/sr\xef\xbf\xbdv");
	snprintf(path, sizeof(path), "d1/%0200d-bad\xff\xfe\"\\\n", 1);
	assert_non_null(f = manifest_find(m, path));
	assert_string_equal(f->user, "r\xe9ot");
	assert_non_null(f = manifest_find(m, m->files[0].path));
	assert_string_equal(f->target, "target\x80");
	OK(manifest_select(m, "d3", &sel, &nsel, &e));
	assert_int_equal(nsel, 1);
	free(sel);
	OK(manifest_select(m, "", &sel, &nsel, &e));
	assert_int_equal(nsel, 10);
	free(sel);
	manifest_free(m);

	/* Malformed manifests: clear errors. */
	assert_int_equal(manifest_parse(json, len / 2, &m, &e), -1);
	assert_non_null(strstr(e.msg, "not valid JSON"));
	{
		json_t *root = json_loadb(json, len, 0, NULL), *c;
		char *bad;

		assert_non_null(root);
		c = json_array_get(json_object_get(root, "chunks"), 0);
		json_object_set_new(c, "offset", json_integer(171));
		bad = json_dumps(root, 0);
		assert_int_equal(manifest_parse(bad, strlen(bad), &m, &e), -1);
		assert_non_null(strstr(e.msg, "chunks[0]: offset 171"));
		free(bad);
		json_object_set_new(c, "offset", json_integer(170));
		json_object_set_new(json_array_get(json_object_get(root,
						       "files"),
					3),
		    "path", json_string("../etc/passwd"));
		bad = json_dumps(root, 0);
		assert_int_equal(manifest_parse(bad, strlen(bad), &m, &e), -1);
		assert_non_null(strstr(e.msg, "files[3]: path"));
		free(bad);
		json_object_del(root, "tar");
		bad = json_dumps(root, 0);
		assert_int_equal(manifest_parse(bad, strlen(bad), &m, &e), -1);
		assert_non_null(strstr(e.msg, "manifest: tar: missing"));
		free(bad);
		json_object_set_new(root, "format", json_integer(2));
		bad = json_dumps(root, 0);
		assert_int_equal(manifest_parse(bad, strlen(bad), &m, &e), -1);
		assert_non_null(strstr(e.msg, "format 2 is not supported"));
		free(bad);
		json_decref(root);
	}
	assert_int_equal(manifest_parse("[1,2]", 5, &m, &e), -1);
	assert_int_equal(manifest_parse("{}", 2, &m, &e), -1);
	/* Mangled copies: an error or a manifest, never a crash. */
	{
		char *mut = malloc(len + 1);
		unsigned seed = 12345;

		assert_non_null(mut);
		for (int i = 0; i < 400; i++) {
			memcpy(mut, json, len + 1);
			for (int k = 0; k < 1 + i % 4; k++) {
				seed = seed * 1103515245u + 12345u;
				mut[(seed >> 8) % len] = (char)(seed >> 24);
			}
			if (manifest_parse(mut, len, &m, &e) == 0) {
				(void)manifest_find(m, "d1");
				manifest_free(m);
			}
			if (manifest_parse(mut, (size_t)i * len / 400, &m,
				&e) == 0)
				manifest_free(m);
		}
		free(mut);
	}
	free(json);

	/* A large index spills and goes to its own object. */
	w = fake_writer(20000, &tar);
	finish_writer(w, tar);
	assert_true(manifest_writer_index_separate(w));
	assert_int_equal(manifest_writer_json(w, 170, &json, &len, &stored,
			     &e),
	    -1);
	OK(manifest_writer_index_read(w, collect, &ix, &e));
	assert_true(ix.len > MANIFEST_INLINE_MAX);
	manifest_writer_set_index(w, 12345, MANIFEST_INDEX_GZIP);
	OK(manifest_writer_json(w, 170, &json, &len, &stored, &e));
	assert_true(len < 100000);
	assert_non_null(strstr(json, "\"encoding\":\"gzip\""));
	manifest_writer_free(w);
	OK(manifest_parse(json, len, &m, &e));
	assert_false(m->index_inline);
	assert_int_equal(m->index_size, 12345);
	assert_int_equal(m->index_entries, 20000);
	assert_int_equal(m->index_encoding, MANIFEST_INDEX_GZIP);
	assert_int_equal(m->index_json_size, ix.len);
	/* JSON of another length is refused before its hash. */
	assert_int_equal(manifest_load_index(m, ix.p, ix.len - 1, &e), -1);
	assert_non_null(strstr(e.msg, "bytes of JSON, the manifest says"));
	assert_null(manifest_find(m, "d1"));
	assert_int_equal(manifest_select(m, "d1", &sel, &nsel, &e), -1);
	/* Without encoding and json_size (older backups): plain JSON. */
	{
		json_t *root = json_loadb(json, len, 0, NULL), *ixo;
		struct manifest *m2;
		char *old;

		assert_non_null(root);
		ixo = json_object_get(root, "index");
		json_object_del(ixo, "encoding");
		json_object_del(ixo, "json_size");
		old = json_dumps(root, 0);
		OK(manifest_parse(old, strlen(old), &m2, &e));
		assert_int_equal(m2->index_encoding, MANIFEST_INDEX_JSON);
		assert_int_equal(m2->index_json_size, 0);
		OK(manifest_load_index(m2, ix.p, ix.len, &e));
		assert_int_equal(m2->nfiles, 20000);
		manifest_free(m2);
		free(old);
		json_object_set_new(ixo, "encoding", json_integer(1));
		old = json_dumps(root, 0);
		assert_int_equal(manifest_parse(old, strlen(old), &m2, &e),
		    -1);
		assert_non_null(strstr(e.msg, "index.encoding: a non-string"));
		free(old);
		json_object_set_new(ixo, "encoding", json_string("gzip"));
		json_object_set_new(ixo, "json_size", json_integer(0));
		old = json_dumps(root, 0);
		assert_int_equal(manifest_parse(old, strlen(old), &m2, &e),
		    -1);
		assert_non_null(strstr(e.msg, "index.json_size"));
		free(old);
		json_decref(root);
	}
	/* A changed index is refused. */
	ix.p[100] ^= 1;
	assert_int_equal(manifest_load_index(m, ix.p, ix.len, &e), -1);
	assert_non_null(strstr(e.msg, "sha256"));
	ix.p[100] ^= 1;
	OK(manifest_load_index(m, ix.p, ix.len, &e));
	assert_int_equal(m->nfiles, 20000);
	OK(manifest_select(m, "d1/", &sel, &nsel, &e));
	assert_true(nsel >= 2857);
	free(sel);
	manifest_free(m);
	free(json);
	free(ix.p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_manifest_unit),
		cmocka_unit_test(test_backup_roundtrip),
		cmocka_unit_test(test_verify_failures),
		cmocka_unit_test(test_hooks),
		cmocka_unit_test(test_cancel_and_cleanup),
		cmocka_unit_test(test_concurrent),
		cmocka_unit_test(test_retention),
		cmocka_unit_test(test_strict),
		cmocka_unit_test(test_large_index),
		cmocka_unit_test(test_verify_counts),
		cmocka_unit_test(test_verify_streamed_index),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
