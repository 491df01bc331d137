/*
 * test_catalog.c: backup/catalog.c and catalog_verify.c on their own:
 * listing, finding, resolving, deleting, pruning and verifying the backups
 * of a job in a local storage folder.
 *
 * Listing, finding and pruning work from object names and sizes alone, so
 * most cases put objects of chosen names and sizes straight into storage
 * (storage_put()): complete backups, interrupted ones (no manifest), a
 * manifest cut short, stray objects that are not backups, other jobs with
 * similar names.  Verify needs real backups: two small ones of the same
 * job are made with job_run(), then one is tampered with in ways the
 * format alone cannot see (another backup's data.vgl or manifest.vgl put
 * in its place, data.vgl gone, a manifest sealed again with a lie in it).
 * test_job.c covers verify against flipped bytes, truncation, appended
 * bytes and a wrong key, and keep_last pruning through the job runner.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <sys/stat.h>

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "lib/ag.h"
#include "lib/log.h"
#include "lib/crypto/crypto.h"
#include "lib/crypto/crypto_keys.h"
#include "providers/storage.h"
#include "providers/storage_backend.h"
#include "backup/catalog.h"
#include "backup/format.h"
#include "backup/job.h"
#include "backup/jobconf.h"
#include "backup/manifest.h"
#include "backup/st_compress.h"
#include "tests/unit/fakes/testutil.h"

#define PFX "pfx/sub"

/* Fabricated backups of job "nightly" under PFX (see put_backups()). */
#define ID_A "2026-11-20T030000Z-aaaa" /* complete, with index */
#define ID_B "2026-11-21T030000Z-bbbb" /* interrupted: data only */
#define ID_C "2026-11-21T030000Z-0ccc" /* manifest cut short */
#define ID_D "2026-11-22T030000Z-dddd" /* complete */
#define ID_E "2026-11-22T040000Z-eeee" /* complete */

static struct storage_conf *sconf;
static struct storage *st;
static struct crypto_key *key;
static char keyfile[512], srcdir[512], statedir[512];

/* ${expr} must return 0; else fail with the message in e. */
#define OK(expr) \
	do { \
		if ((expr) != 0) \
			fail_msg("%s: %s", #expr, e.msg); \
	} while (0)

static int
setup(void **state)
{
	struct ag_err e;
	char path[1024], store[512];

	log_set_level(LOG_LVL_ERR);
	if (tu_tmpdir_setup(state) != 0)
		return -1;
	snprintf(store, sizeof(store), "%s/store", tu_tmpdir());
	snprintf(keyfile, sizeof(keyfile), "%s/backup.key", tu_tmpdir());
	snprintf(srcdir, sizeof(srcdir), "%s/src", tu_tmpdir());
	snprintf(statedir, sizeof(statedir), "%s/state", tu_tmpdir());
	if (mkdir(srcdir, 0755) != 0 || mkdir(statedir, 0700) != 0 ||
	    crypto_keys_generate_keyfile(keyfile, &e) != 0 ||
	    (key = crypto_keys_load_keyfile(keyfile, &e)) == NULL ||
	    (sconf = storage_conf_local("here", store)) == NULL ||
	    storage_open(sconf, &st, &e) != 0)
		return -1;
	for (int i = 0; i < 4; i++) {
		snprintf(path, sizeof(path), "%s/f%d.txt", srcdir, i);
		tu_write_file(path, "some file data\n", 15, 0644);
	}
	return 0;
}

static int
teardown(void **state)
{
	storage_close(st);
	storage_conf_free(sconf);
	crypto_keys_free(key);
	return tu_tmpdir_teardown(state);
}

/* Put an object of ${size} bytes at "${dir}/${name}". */
static void
put(const char *dir, const char *name, size_t size)
{
	static uint8_t zeros[4096];
	char k[512];
	struct ag_err e;

	assert_true(size <= sizeof(zeros));
	snprintf(k, sizeof(k), "%s/%s", dir, name);
	OK(storage_put(st, k, zeros, size, &e));
}

/*
 * Backups A to E of "nightly" under PFX, as the names say, and objects
 * that are not backups of it: a file beside the backups, a folder that is
 * no id, a day that does not exist, an object one level too deep, and
 * backups of the jobs "nightly2" and "other".
 */
static void
put_backups(void)
{
	put(PFX "/nightly/" ID_A, "manifest.vgl", CATALOG_MANIFEST_MIN);
	put(PFX "/nightly/" ID_A, "data.vgl", 1000);
	put(PFX "/nightly/" ID_A, "index.vgl", 300);
	put(PFX "/nightly/" ID_B, "data.vgl", 700);
	put(PFX "/nightly/" ID_C, "manifest.vgl", CATALOG_MANIFEST_MIN - 1);
	put(PFX "/nightly/" ID_C, "data.vgl", 800);
	put(PFX "/nightly/" ID_D, "data.vgl", 900);
	put(PFX "/nightly/" ID_D, "manifest.vgl", 400);
	put(PFX "/nightly/" ID_D, "notes.txt", 5);
	put(PFX "/nightly/" ID_E, "manifest.vgl", 400);
	put(PFX "/nightly/" ID_E, "data.vgl", 950);
	put(PFX "/nightly", "README", 10);
	put(PFX "/nightly/latest", "manifest.vgl", 400);
	put(PFX "/nightly/2026-02-30T030000Z-ffff", "manifest.vgl", 400);
	put(PFX "/nightly/2026-11-23T030000Z-ABCD", "manifest.vgl", 400);
	put(PFX "/nightly/" ID_A "/old", "manifest.vgl", 400);
	put(PFX "/nightly2/2026-11-23T030000Z-2222", "manifest.vgl", 400);
	put(PFX "/other/2026-11-23T030000Z-3333", "manifest.vgl", 400);
}

/* --- Listing ---------------------------------------------------------- */

static void
test_list(void **state)
{
	struct catalog c;
	struct ag_err e;
	static const char *const bad_jobs[] = { "", ".", "..", "a/b", "x y",
		"0123456789012345678901234567890123456789012345678901"
		"2345678901234" };

	(void)state;
	put_backups();
	OK(catalog_list(st, PFX, "nightly", &c, &e));
	/* By time, then id: C ("0ccc") before B in the same second. */
	assert_int_equal(c.n, 5);
	assert_int_equal(c.ncomplete, 3);
	assert_string_equal(c.v[0].id, ID_A);
	assert_string_equal(c.v[1].id, ID_C);
	assert_string_equal(c.v[2].id, ID_B);
	assert_string_equal(c.v[3].id, ID_D);
	assert_string_equal(c.v[4].id, ID_E);

	/* A: three objects, complete; the stray "old/" below it is not one. */
	assert_true(c.v[0].complete);
	assert_int_equal(c.v[0].nobjects, 3);
	assert_int_equal(c.v[0].size, CATALOG_MANIFEST_MIN + 1000 + 300);
	assert_true(c.v[0].has_data && c.v[0].has_index &&
	    c.v[0].has_manifest);
	assert_int_equal(c.v[0].data_size, 1000);
	assert_int_equal(c.v[0].index_size, 300);
	assert_int_equal(c.v[0].manifest_size, CATALOG_MANIFEST_MIN);
	assert_int_equal(c.v[0].time_s, tu_utc(2026, 11, 20, 3, 0, 0));
	/* C: a manifest too small to be one is no manifest. */
	assert_false(c.v[1].complete);
	assert_true(c.v[1].has_manifest);
	assert_int_equal(c.v[1].manifest_size, CATALOG_MANIFEST_MIN - 1);
	/* B: interrupted before its manifest. */
	assert_false(c.v[2].complete);
	assert_false(c.v[2].has_manifest);
	assert_true(c.v[2].has_data);
	assert_int_equal(c.v[2].size, 700);
	/* D: an object of another name counts in its size. */
	assert_true(c.v[3].complete);
	assert_false(c.v[3].has_index);
	assert_int_equal(c.v[3].nobjects, 3);
	assert_int_equal(c.v[3].size, 1305);
	catalog_free(&c);
	assert_null(c.v);
	assert_int_equal(c.n, 0);
	catalog_free(NULL);

	/* The prefix with a trailing slash is the same prefix. */
	OK(catalog_list(st, PFX "/", "nightly", &c, &e));
	assert_int_equal(c.n, 5);
	catalog_free(&c);
	/* Another prefix, or none: nothing of this job there. */
	OK(catalog_list(st, "", "nightly", &c, &e));
	assert_int_equal(c.n, 0);
	catalog_free(&c);
	OK(catalog_list(st, NULL, "nightly", &c, &e));
	assert_int_equal(c.n, 0);
	catalog_free(&c);
	OK(catalog_list(st, "pfx", "sub", &c, &e));
	assert_int_equal(c.n, 0);
	catalog_free(&c);
	/* "nightly2" is its own job, not part of "nightly". */
	OK(catalog_list(st, PFX, "nightly2", &c, &e));
	assert_int_equal(c.n, 1);
	assert_string_equal(c.v[0].id, "2026-11-23T030000Z-2222");
	catalog_free(&c);

	for (size_t i = 0; i < sizeof(bad_jobs) / sizeof(bad_jobs[0]); i++) {
		char want[128];

		assert_int_equal(catalog_list(st, PFX, bad_jobs[i], &c, &e),
		    -1);
		snprintf(want, sizeof(want), "\"%s\" is not a job name",
		    bad_jobs[i]);
		assert_string_equal(e.msg, want);
	}
}

/* --- Finding and resolving -------------------------------------------- */

static void
test_find_resolve(void **state)
{
	struct catalog c, none = { 0 };
	struct ag_err e;
	char job[CATALOG_JOB_MAX + 1], id[FORMAT_BACKUP_ID_SIZE];
	static const char *const malformed[] = { "nightly", "/latest",
		"nightly/", "nightly/latest/x", "" };
	size_t i;

	(void)state;
	OK(catalog_list(st, PFX, "nightly", &c, &e));
	assert_int_equal(c.n, 5);

	/* latest: the newest complete one. */
	OK(catalog_find(&c, "nightly", "latest", &i, &e));
	assert_string_equal(c.v[i].id, ID_E);
	/* A full id, the id without suffix, a unique prefix. */
	OK(catalog_find(&c, "nightly", ID_A, &i, &e));
	assert_int_equal(i, 0);
	OK(catalog_find(&c, "nightly", "2026-11-22T030000Z", &i, &e));
	assert_string_equal(c.v[i].id, ID_D);
	OK(catalog_find(&c, "nightly", "2026-11-20", &i, &e));
	assert_string_equal(c.v[i].id, ID_A);
	/* Several complete ones match: none is taken. */
	assert_int_equal(catalog_find(&c, "nightly", "2026-11-22", &i, &e),
	    -1);
	assert_string_equal(e.msg,
	    "nightly/2026-11-22 is ambiguous: 2 "
	    "backups match (" ID_D ", " ID_E ")");
	assert_int_equal(catalog_find(&c, "nightly", "2026-11-2", &i, &e), -1);
	assert_string_equal(e.msg,
	    "nightly/2026-11-2 is ambiguous: 3 "
	    "backups match (" ID_A ", " ID_D ", " ID_E ")");
	/* The incomplete ones match only as such, never as a backup. */
	assert_int_equal(catalog_find(&c, "nightly", "2026-11-21", &i, &e),
	    -1);
	assert_string_equal(e.msg,
	    "backup nightly/2026-11-21 is incomplete "
	    "(interrupted run)");
	assert_int_equal(catalog_find(&c, "nightly", ID_C, &i, &e), -1);
	assert_string_equal(e.msg,
	    "backup nightly/" ID_C " is incomplete "
	    "(interrupted run)");
	/* No match, an empty name, a name longer than any id. */
	assert_int_equal(catalog_find(&c, "nightly", "2027", &i, &e), -1);
	assert_string_equal(e.msg, "no backup nightly/2027");
	assert_int_equal(catalog_find(&c, "nightly", "", &i, &e), -1);
	assert_string_equal(e.msg, "no backup nightly/");
	assert_int_equal(catalog_find(&c, "nightly", ID_A "0", &i, &e), -1);
	assert_string_equal(e.msg, "no backup nightly/" ID_A "0");
	/* Nothing complete at all. */
	assert_int_equal(catalog_find(&none, "nightly", "latest", &i, &e), -1);
	assert_string_equal(e.msg, "no complete backup of job nightly");
	none.v = &c.v[1]; /* C and B only */
	none.n = 2;
	assert_int_equal(catalog_find(&none, "nightly", "latest", &i, &e), -1);
	assert_string_equal(e.msg,
	    "no complete backup of job nightly (only "
	    "incomplete ones)");
	catalog_free(&c);

	/* Resolving lists the job under the prefix first. */
	OK(catalog_resolve(st, PFX, "nightly/latest", job, id, &e));
	assert_string_equal(job, "nightly");
	assert_string_equal(id, ID_E);
	OK(catalog_resolve(st, PFX, "nightly/2026-11-20T", job, id, &e));
	assert_string_equal(id, ID_A);
	assert_int_equal(catalog_resolve(st, "", "nightly/latest", job, id,
			     &e),
	    -1);
	assert_string_equal(e.msg, "no complete backup of job nightly");
	for (i = 0; i < sizeof(malformed) / sizeof(malformed[0]); i++) {
		char want[128];

		assert_int_equal(catalog_resolve(st, PFX, malformed[i], job,
				     id, &e),
		    -1);
		snprintf(want, sizeof(want),
		    "\"%s\": give JOB/latest, JOB/ID "
		    "or JOB/ID-prefix",
		    malformed[i]);
		assert_string_equal(e.msg, want);
	}
	assert_int_equal(catalog_resolve(st, PFX, "../latest", job, id, &e),
	    -1);
	assert_string_equal(e.msg, "\"..\" is not a job name");
}

/* --- Deleting and pruning --------------------------------------------- */

struct seen {
	size_t n;
	char id[8][FORMAT_BACKUP_ID_SIZE];
	enum catalog_action a[8];
	char reason[8][RETENTION_REASON_SIZE];
};

static void
seen_cb(void *cookie, const struct catalog_backup *b, enum catalog_action a,
    const char *reason, int rc, const char *error)
{
	struct seen *s = cookie;

	assert_int_equal(rc, 0);
	assert_null(error);
	assert_true(s->n < 8);
	snprintf(s->id[s->n], sizeof(s->id[0]), "%s", b->id);
	snprintf(s->reason[s->n], sizeof(s->reason[0]), "%s", reason);
	s->a[s->n++] = a;
}

static size_t
count_backups(const char *job, size_t *ret_complete)
{
	struct catalog c;
	struct ag_err e;
	size_t n;

	OK(catalog_list(st, PFX, job, &c, &e));
	n = c.n;
	*ret_complete = c.ncomplete;
	catalog_free(&c);
	return n;
}

static void
test_delete(void **state)
{
	struct ag_err e;
	struct objlist ol = { 0 };
	size_t ncomplete;

	(void)state;
	assert_int_equal(catalog_delete(st, PFX, "nightly", "2026-11-22", &e),
	    -1);
	assert_string_equal(e.msg, "delete: bad job or backup id");
	assert_int_equal(catalog_delete(st, PFX, "..", ID_D, &e), -1);
	assert_string_equal(e.msg, "delete: bad job or backup id");
	/* Every object of D goes, also one of a name vigil does not write. */
	OK(catalog_delete(st, PFX, "nightly", ID_D, &e));
	OK(storage_list(st, PFX "/nightly/" ID_D, 0, &ol, &e));
	assert_int_equal(ol.n, 0);
	objlist_free(&ol);
	assert_int_equal(count_backups("nightly", &ncomplete), 4);
	assert_int_equal(ncomplete, 2);
	/* A backup that is not there: nothing to do. */
	OK(catalog_delete(st, PFX, "nightly", ID_D, &e));
	/* The other jobs were not touched. */
	assert_int_equal(count_backups("nightly2", &ncomplete), 1);
	assert_int_equal(count_backups("other", &ncomplete), 1);
	/* Put D back for the next test. */
	put(PFX "/nightly/" ID_D, "data.vgl", 900);
	put(PFX "/nightly/" ID_D, "manifest.vgl", 400);
	put(PFX "/nightly/" ID_D, "notes.txt", 5);
}

static void
test_prune(void **state)
{
	struct catalog_prune_opts po = { 0 };
	struct catalog_prune_result pr;
	struct seen seen = { 0 };
	struct ag_err e;
	size_t ncomplete;

	(void)state;
	assert_string_equal(catalog_action_name(CATALOG_KEEP), "keep");
	assert_string_equal(catalog_action_name(CATALOG_DELETE), "delete");
	assert_string_equal(catalog_action_name(CATALOG_INCOMPLETE),
	    "incomplete");
	assert_string_equal(catalog_action_name(CATALOG_DELETE_INCOMPLETE),
	    "delete incomplete");

	/* A policy that cannot be applied deletes nothing. */
	po.policy.keep_last = -1;
	po.stale_grace_s = 0;
	assert_int_equal(catalog_prune(st, PFX, "nightly", &po, &pr, &e), -1);
	assert_int_equal(count_backups("nightly", &ncomplete), 5);

	/*
	 * One per day, UTC, 2 days: E (newest of 11-22) and A (11-20;
	 * 11-21 has no complete backup).  D goes.  Incomplete ones
	 * started more than a day before 11-22 06:00 are stale: C and B
	 * (11-21 03:00), but B is the running one.  A dry run first.
	 */
	memset(&po, 0, sizeof(po));
	po.policy.keep_daily = 2;
	po.policy.utc = true;
	po.dry_run = true;
	po.stale_grace_s = 86400;
	po.now_s = tu_utc(2026, 11, 22, 6, 0, 0) + 1;
	po.running_id = ID_B;
	po.cb = seen_cb;
	po.cookie = &seen;
	OK(catalog_prune(st, PFX, "nightly", &po, &pr, &e));
	assert_int_equal(pr.kept, 2);
	assert_int_equal(pr.deleted, 1);
	assert_int_equal(pr.incomplete, 1);
	assert_int_equal(pr.deleted_incomplete, 1);
	assert_int_equal(pr.failed, 0);
	assert_int_equal(pr.bytes_freed,
	    1305 + CATALOG_MANIFEST_MIN - 1 + 800);
	assert_int_equal(count_backups("nightly", &ncomplete), 5);
	/* The callback saw every backup, oldest first, with its reason. */
	assert_int_equal(seen.n, 5);
	assert_string_equal(seen.id[0], ID_A);
	assert_int_equal(seen.a[0], CATALOG_KEEP);
	assert_string_equal(seen.reason[0], "daily 2026-11-20");
	assert_string_equal(seen.id[1], ID_C);
	assert_int_equal(seen.a[1], CATALOG_DELETE_INCOMPLETE);
	assert_string_equal(seen.reason[1], "incomplete, stale");
	assert_string_equal(seen.id[2], ID_B);
	assert_int_equal(seen.a[2], CATALOG_INCOMPLETE);
	assert_string_equal(seen.reason[2], "running");
	assert_string_equal(seen.id[3], ID_D);
	assert_int_equal(seen.a[3], CATALOG_DELETE);
	assert_string_equal(seen.id[4], ID_E);
	assert_int_equal(seen.a[4], CATALOG_KEEP);
	assert_non_null(strstr(seen.reason[4], "newest"));
	assert_non_null(strstr(seen.reason[4], "daily 2026-11-22"));

	/* For real: what the dry run said, and only that. */
	po.dry_run = false;
	po.cb = NULL;
	OK(catalog_prune(st, PFX, "nightly", &po, &pr, &e));
	assert_int_equal(pr.deleted, 1);
	assert_int_equal(pr.deleted_incomplete, 1);
	assert_int_equal(pr.bytes_freed,
	    1305 + CATALOG_MANIFEST_MIN - 1 + 800);
	assert_int_equal(count_backups("nightly", &ncomplete), 3);
	assert_int_equal(ncomplete, 2);
	/* Again: nothing left to do; without grace nothing incomplete goes. */
	po.stale_grace_s = -1;
	po.running_id = NULL;
	OK(catalog_prune(st, PFX, "nightly", &po, &pr, &e));
	assert_int_equal(pr.kept, 2);
	assert_int_equal(pr.deleted + pr.deleted_incomplete, 0);
	assert_int_equal(pr.incomplete, 1);
	/* An all-zero policy keeps everything. */
	memset(&po.policy, 0, sizeof(po.policy));
	OK(catalog_prune(st, PFX, "nightly", &po, NULL, &e));
	assert_int_equal(count_backups("nightly", &ncomplete), 3);
	/* Other jobs are untouched. */
	assert_int_equal(count_backups("nightly2", &ncomplete), 1);
}

/* --- Verifying real backups ------------------------------------------- */

/* Back up srcdir as job ${job} (prefix none); its id to ${ret_id}. */
static void
backup_now(const char *job, char ret_id[FORMAT_BACKUP_ID_SIZE])
{
	char *paths[2] = { srcdir, NULL }, *none[1] = { NULL };
	struct job_conf jc = { .name = (char *)job,
		.paths = paths,
		.npaths = 1,
		.exclude = none,
		.storage = sconf,
		.prefix = (char *)"",
		.key_mode = JOB_KEY_FILE,
		.key_path = keyfile,
		.level = 1,
		.threads = 1,
		.slice_size = ST_COMPRESS_SLICE_MIN,
		.hook_timeout_ms = 5000 };
	struct job_run_opts o = { .host = "testhost", .state_dir = statedir };
	struct job_result res;

	if (job_run(&jc, &o, &res) != 0 || !res.ok)
		fail_msg("job_run %s: %s", job, res.error);
	memcpy(ret_id, res.backup_id, FORMAT_BACKUP_ID_SIZE);
}

/*
 * The object "${job}/${id}/${name}" as a key, in one of four static
 * buffers used in turn (two may be arguments of one call).
 */
static const char *
okey(const char *job, const char *id, const char *name)
{
	static char k[4][256];
	static unsigned next;
	char *r = k[next++ % 4];

	snprintf(r, sizeof(k[0]), "%s/%s/%s", job, id, name);
	return r;
}

/* Copy object ${from} over ${to}, or keep a copy of it at ${to}. */
static void
copy_object(const char *from, const char *to)
{
	struct ag_err e;
	uint8_t *buf;
	size_t len;

	OK(storage_get_buf(st, from, (size_t)1 << 30, &buf, &len, &e));
	OK(storage_put(st, to, buf, len, &e));
	free(buf);
}

struct prog {
	int calls;
	struct catalog_verify_progress last;
};

static void
prog_cb(void *cookie, const struct catalog_verify_progress *p)
{
	struct prog *pg = cookie;

	pg->calls++;
	pg->last = *p;
}

/* Verify must fail on ${job}/${id} with exactly ${msg}. */
static void
verify_fails(const char *job, const char *id, const char *msg)
{
	struct catalog_verify_result vr;
	struct ag_err e;

	/* A manifest that cannot be loaded leaves ${vr} as it was. */
	memset(&vr, 0, sizeof(vr));
	assert_int_equal(catalog_verify(st, "", job, id, key, NULL, &vr, &e),
	    -1);
	assert_false(vr.ok);
	if (strcmp(e.msg, msg) != 0)
		fail_msg("verify %s/%s:\n got: %s\nwant: %s", job, id, e.msg,
		    msg);
}

/*
 * Seal the manifest of ${job}/${id} again after changing the member
 * ${path} ("tar.sha256", "files.1.path", "job") to the string ${value}:
 * the format is intact, only what the manifest says is not.
 */
static void
reseal_manifest(const char *job, const char *id, const char *path,
    const char *value)
{
	char k[256], *json, *dot, *out;
	uint8_t *buf, *sealed, dk[32];
	size_t len, jlen, slen;
	struct ag_err e;
	json_t *root, *o;

	snprintf(k, sizeof(k), "%s", okey(job, id, "manifest.vgl"));
	OK(storage_get_buf(st, k, (size_t)1 << 30, &buf, &len, &e));
	OK(format_manifest_open(key, buf, len, &json, &jlen, &e));
	free(buf);
	assert_non_null(root = json_loadb(json, jlen, 0, NULL));
	free(json);
	o = root;
	for (const char *p = path; (dot = strchr(p, '.')) != NULL;
	     p = dot + 1) {
		char part[32];

		snprintf(part, sizeof(part), "%.*s", (int)(dot - p), p);
		o = json_is_array(o) ?
		    json_array_get(o, strtoul(part, NULL, 10)) :
		    json_object_get(o, part);
		assert_non_null(o);
		path = dot + 1;
	}
	assert_int_equal(json_object_set_new(o, path, json_string(value)), 0);
	assert_non_null(out = json_dumps(root, JSON_COMPACT));
	json_decref(root);
	assert_int_equal(crypto_random(dk, sizeof(dk)), 0);
	OK(format_manifest_seal(key, dk, id, out, strlen(out), &sealed, &slen,
	    &e));
	free(out);
	OK(storage_put(st, k, sealed, slen, &e));
	free(sealed);
}

/*
 * A local folder whose objects a lock holds until lock_until (0: none),
 * every retention() call counted: the local backend's ops with a lock.
 */
static struct storage_ops lock_ops;
static time_t lock_until;
static int nretention;

static const char *
lk_name(void *ctx)
{
	(void)ctx;
	return "Test Lock";
}

static int
lk_retention(void *ctx, const char *k, time_t *ret, struct ag_err *err)
{
	(void)ctx;
	(void)k;
	(void)err;
	nretention++;
	*ret = lock_until;
	return 0;
}

static void
test_prune_locked(void **state)
{
	struct catalog_prune_opts po = { 0 };
	struct catalog_prune_result pr;
	struct storage_conf *lc;
	struct storage *ls;
	struct seen seen = { 0 };
	struct ag_err e;
	char dir[1024];
	static const char *const ids[] = { "2026-11-19T030000Z-0000",
		"2026-11-20T030000Z-1111", "2026-11-21T030000Z-2222",
		"2026-11-22T030000Z-3333" };
	static uint8_t zeros[4096];

	(void)state;
	assert_string_equal(catalog_action_name(CATALOG_KEEP_LOCKED),
	    "keep (locked)");
	lock_ops = storage_local_ops;
	lock_ops.lock_name = lk_name;
	lock_ops.retention = lk_retention;
	snprintf(dir, sizeof(dir), "%s/locked", tu_tmpdir());
	assert_non_null(lc = storage_conf_local("locked", dir));
	lc->ops = &lock_ops;
	OK(storage_open(lc, &ls, &e));
	/* ids[0] was interrupted (data only); the others are complete. */
	for (size_t i = 0; i < 4; i++) {
		snprintf(dir, sizeof(dir), "j/%s/data.vgl", ids[i]);
		OK(storage_put(ls, dir, zeros, 100, &e));
		if (i == 0)
			continue;
		snprintf(dir, sizeof(dir), "j/%s/manifest.vgl", ids[i]);
		OK(storage_put(ls, dir, zeros, CATALOG_MANIFEST_MIN, &e));
	}
	po.policy.keep_last = 1;
	po.stale_grace_s = 0;
	po.now_s = tu_utc(2026, 11, 23, 0, 0, 0);
	po.cb = seen_cb;
	po.cookie = &seen;

	/*
	 * Locked for 100 s more: kept with the lock's date, no failure;
	 * one question per backup (the manifest, or the data of the
	 * incomplete one); a dry run asks too.
	 */
	lock_until = (time_t)po.now_s + 100;
	for (int dry = 1; dry >= 0; dry--) {
		memset(&seen, 0, sizeof(seen));
		nretention = 0;
		po.dry_run = dry;
		OK(catalog_prune(ls, "", "j", &po, &pr, &e));
		assert_int_equal(pr.locked, 3);
		assert_int_equal(pr.kept, 1);
		assert_int_equal(pr.deleted + pr.deleted_incomplete, 0);
		assert_int_equal(pr.failed, 0);
		assert_int_equal(pr.bytes_freed, 0);
		assert_int_equal(nretention, 3);
		assert_int_equal(seen.n, 4);
		for (size_t i = 0; i < 3; i++) {
			assert_int_equal(seen.a[i], CATALOG_KEEP_LOCKED);
			assert_string_equal(seen.reason[i],
			    "Test Lock retains it until "
			    "2026-11-23T00:01:40Z");
		}
		assert_int_equal(seen.a[3], CATALOG_KEEP);
	}
	/* catalog_delete() judges the lock at the time of the call. */
	lock_until = time(NULL) + 3600;
	assert_int_equal(catalog_delete(ls, "", "j", ids[1], &e),
	    CATALOG_RETAINED);
	assert_non_null(strstr(e.msg, "Test Lock retains it until 20"));

	/* The lock over (at now_s exactly): deleted as usual. */
	lock_until = (time_t)po.now_s;
	memset(&seen, 0, sizeof(seen));
	po.dry_run = false;
	OK(catalog_prune(ls, "", "j", &po, &pr, &e));
	assert_int_equal(pr.locked, 0);
	assert_int_equal(pr.deleted, 2);
	assert_int_equal(pr.deleted_incomplete, 1);
	assert_int_equal(seen.a[0], CATALOG_DELETE_INCOMPLETE);
	assert_int_equal(seen.a[1], CATALOG_DELETE);
	{
		struct objlist ol = { 0 };

		OK(storage_list(ls, "j/", 0, &ol, &e));
		assert_int_equal(ol.n, 2);
		assert_non_null(strstr(ol.v[0].name, ids[3]));
		objlist_free(&ol);
	}
	storage_close(ls);
	storage_conf_free(lc);
}

static void
test_verify(void **state)
{
	struct catalog_verify_opts vo = { 0 };
	struct catalog_verify_result vr;
	struct manifest *m;
	struct catalog c;
	struct prog pg = { 0 };
	struct ag_err e;
	volatile sig_atomic_t cancel = 1;
	char x[FORMAT_BACKUP_ID_SIZE], y[FORMAT_BACKUP_ID_SIZE], want[256];
	char saved[256];

	(void)state;
	backup_now("v", x);
	backup_now("v", y);
	assert_string_not_equal(x, y);

	/* Intact: every figure agrees with the manifest. */
	vo.progress = prog_cb;
	vo.cookie = &pg;
	vo.workers = 2;
	OK(catalog_verify(st, "", "v", y, key, &vo, &vr, &e));
	assert_true(vr.ok);
	OK(catalog_load_manifest(st, "", "v", y, key, true, &m, &e));
	assert_int_equal(vr.chunks, m->nchunks);
	assert_int_equal(vr.tar_bytes, m->tar_size);
	assert_int_equal(vr.data_size, m->data_size);
	assert_int_equal(vr.files, m->nfiles);
	assert_int_equal(vr.headers, m->nfiles);
	assert_true(m->nfiles >= 5); /* src and its 4 files */
	assert_true(vr.bytes_read >= m->data_size);
	assert_true(vr.index_separate == !m->index_inline);
	assert_false(vr.is_signed);
	/* The last progress report is the whole object. */
	assert_true(pg.calls >= 1);
	assert_int_equal(pg.last.bytes_read, m->data_size);
	assert_int_equal(pg.last.bytes_total, m->data_size);
	assert_int_equal(pg.last.chunks_done, m->nchunks);
	assert_int_equal(pg.last.chunks_total, m->nchunks);
	assert_int_equal(pg.last.tar_bytes, m->tar_size);
	manifest_free(m);
	/* Cancelled before it starts. */
	vo.cancel = &cancel;
	assert_int_equal(catalog_verify(st, "", "v", y, key, &vo, &vr, &e),
	    -1);
	assert_false(vr.ok);
	assert_string_equal(e.msg, "cancelled");

	/* X's data in Y's place: every chunk authentic, not Y's. */
	snprintf(saved, sizeof(saved), "%s", okey("keep", y, "data.vgl"));
	copy_object(okey("v", y, "data.vgl"), saved);
	copy_object(okey("v", x, "data.vgl"), okey("v", y, "data.vgl"));
	verify_fails("v", y,
	    "data.vgl: its header differs from the "
	    "manifest's copy");
	/* Y's data gone: listed complete (the manifest is there), broken. */
	OK(storage_remove(st, okey("v", y, "data.vgl"), &e));
	OK(catalog_list(st, "", "v", &c, &e));
	assert_int_equal(c.n, 2);
	assert_int_equal(c.ncomplete, 2);
	/* Made in one second, they sort by id. */
	assert_false(c.v[strcmp(x, y) < 0 ? 1 : 0].has_data);
	assert_true(c.v[strcmp(x, y) < 0 ? 0 : 1].has_data);
	catalog_free(&c);
	snprintf(want, sizeof(want), "backup v/%s: data.vgl is missing", y);
	verify_fails("v", y, want);
	copy_object(saved, okey("v", y, "data.vgl"));
	OK(catalog_verify(st, "", "v", y, key, NULL, &vr, &e));

	/* X's manifest in Y's place: refused before anything is read. */
	snprintf(saved, sizeof(saved), "%s", okey("keep", y, "manifest.vgl"));
	copy_object(okey("v", y, "manifest.vgl"), saved);
	copy_object(okey("v", x, "manifest.vgl"),
	    okey("v", y, "manifest.vgl"));
	snprintf(want, sizeof(want),
	    "manifest.vgl: sealed for backup %s, "
	    "not %s",
	    x, y);
	verify_fails("v", y, want);
	/* The result is filled even then: nothing checked, not ok. */
	memset(&vr, 0xff, sizeof(vr));
	assert_int_equal(catalog_verify(st, "", "v", y, key, NULL, &vr, &e),
	    -1);
	assert_false(vr.ok);
	assert_int_equal(vr.chunks, 0);
	assert_int_equal(vr.bytes_read, 0);
	assert_int_equal(catalog_load_manifest(st, "", "v", y, key, false, &m,
			     &e),
	    -1);
	assert_string_equal(e.msg, want);

	/* Sealed again, for Y, with a lie: each is found. */
	copy_object(saved, okey("v", y, "manifest.vgl"));
	reseal_manifest("v", y, "tar.sha256",
	    "0000000000000000000000000000"
	    "000000000000000000000000000000000000");
	verify_fails("v", y, "tar stream sha256 differs from the manifest");
	copy_object(saved, okey("v", y, "manifest.vgl"));
	reseal_manifest("v", y, "job", "w");
	snprintf(want, sizeof(want), "manifest: describes w/%s, not v/%s", y,
	    y);
	verify_fails("v", y, want);
	copy_object(saved, okey("v", y, "manifest.vgl"));
	reseal_manifest("v", y, "files.2.path", "elsewhere");
	assert_int_equal(catalog_verify(st, "", "v", y, key, NULL, &vr, &e),
	    -1);
	assert_non_null(strstr(e.msg,
	    "file index: files[2] \"elsewhere\" at "
	    "tar offset "));
	/* ... which only the tar headers show. */
	vo.cancel = NULL;
	vo.progress = NULL;
	vo.skip_headers = true;
	OK(catalog_verify(st, "", "v", y, key, &vo, &vr, &e));
	assert_true(vr.ok);
	assert_int_equal(vr.headers, 0);

	/* Put back: intact again, and X was never touched. */
	copy_object(saved, okey("v", y, "manifest.vgl"));
	OK(catalog_verify(st, "", "v", y, key, NULL, &vr, &e));
	OK(catalog_verify(st, "", "v", x, key, NULL, &vr, &e));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_list),
		cmocka_unit_test(test_find_resolve),
		cmocka_unit_test(test_delete),
		cmocka_unit_test(test_prune),
		cmocka_unit_test(test_prune_locked),
		cmocka_unit_test(test_verify),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
