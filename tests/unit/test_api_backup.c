/*
 * test_api_backup.c: the module's backup routes (agent/httpd/api_backup.c)
 * called through api_backup_route() with a web made by web_new() and
 * web_set_runconf(), on real backups that job_run() writes into local
 * storage: "nightly" (2,500 files and more, so its file index goes to
 * index.vgl and is streamed) twice, with a file changed in between, and
 * "small" (an inline index).  Checked: the backups newest first; a
 * backup's files by folder (implied folders, links with their targets),
 * searched, and paged with cursors that give every entry exactly once;
 * restores: the bytes of the backup asked for land in the target, existing
 * files are kept unless "overwrite", progress and result by rid, one at a
 * time (409), cancelled by api_backup_stop(); and refused: a read token,
 * bad JSON, unknown members, ".." in paths or target, a relative target,
 * a target outside every restore root, a symlink in a root pointing out
 * (nothing written outside), no roots configured; strict paths, methods
 * and parameters.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/clock.h"
#include "backup/job.h"
#include "agent/httpd/api_backup.h"
#include "agent/runconf.h"
#include "agent/web.h"
#include "tests/unit/fakes/testutil.h"

#define NFILES 2500
#define OLD_HOSTS "127.0.0.1 old\n"
#define NEW_HOSTS "127.0.0.1 new and longer\n"

static struct runconf *rc;
static struct web *web;
static char rel[512];	  /* the archive path of src */
static char root[512];	  /* the restore root */
static char outside[512]; /* where the root's symlink points */
static char ids[2][32];	  /* nightly's backups, oldest first */
static char *roots[2];	  /* http.restore_roots while testing */

static void
run_job(const char *name, char *id)
{
	struct job_run_opts o = { .host = "h" };
	struct job_result res;
	char state[PATH_MAX];

	tu_pathf(state, "%s/state", tu_tmpdir());
	o.state_dir = state;
	if (job_run(runconf_job(rc, name), &o, &res) != 0)
		fail_msg("job_run %s: %s", name, res.error);
	if (id != NULL)
		snprintf(id, 32, "%s", res.backup_id);
}

static int
group_setup(void **state)
{
	const char *t;
	char p[PATH_MAX], text[4 * PATH_MAX];
	struct conf_errs errs = { 0 };

	if (tu_tmpdir_setup(state) != 0)
		return -1;
	t = tu_tmpdir();
	tu_pathf(p, "%s/src/etc/nginx", t);
	assert_int_equal(ag_mkdir_p(p, 0755, 0755), 0);
	tu_pathf(p, "%s/src/big", t);
	assert_int_equal(mkdir(p, 0755), 0);
	for (int i = 0; i < NFILES; i++) {
		char f[PATH_MAX], d[32];

		tu_pathf(f, "%s/src/big/f%04d", t, i);
		snprintf(d, sizeof(d), "file %d\n", i);
		tu_write_file(f, d, strlen(d), 0644);
	}
	tu_pathf(p, "%s/src/etc/nginx/nginx.conf", t);
	tu_write_file(p, "worker_processes 1;\n", 20, 0644);
	tu_pathf(p, "%s/src/etc/hosts", t);
	tu_write_file(p, OLD_HOSTS, strlen(OLD_HOSTS), 0644);
	tu_pathf(p, "%s/src/link", t);
	assert_int_equal(symlink("etc/hosts", p), 0);
	snprintf(rel, sizeof(rel), "%s/src", t + 1);

	snprintf(root, sizeof(root), "%s/roots/a", t);
	assert_int_equal(ag_mkdir_p(root, 0700, 0700), 0);
	snprintf(outside, sizeof(outside), "%s/outside", t);
	assert_int_equal(mkdir(outside, 0700), 0);
	tu_pathf(p, "%s/evil", root);
	assert_int_equal(symlink(outside, p), 0);

	snprintf(text, sizeof(text),
	    "agent = { state_dir = \"%s/state\"; hostname = \"h\"; "
	    "log_level = \"error\"; };\n"
	    "storage = { here = { type = \"local\"; path = \"%s/store\"; }; "
	    "};\n"
	    "backups = ( { name = \"nightly\"; paths = [ \"%s/src\" ];\n"
	    "  storage = \"here\"; key_file = \"%s/k\"; create_key = true; },\n"
	    "  { name = \"small\"; paths = [ \"%s/src/etc\" ];\n"
	    "  storage = \"here\"; key_file = \"%s/k2\"; create_key = true; "
	    "} );\n",
	    t, t, t, t, t, t);
	if (runconf_load(tu_write_conf("vigil.conf", text, 0600), &rc,
		&errs) != 0) {
		for (size_t i = 0; i < errs.n; i++)
			fprintf(stderr, "%s\n", errs.msgs[i]);
		return -1;
	}
	run_job("nightly", ids[0]);
	/* Backup ids have seconds: the second one a second later. */
	clock_sleep_ms(1100);
	tu_pathf(p, "%s/src/etc/hosts", t);
	tu_write_file(p, NEW_HOSTS, strlen(NEW_HOSTS), 0644);
	run_job("nightly", ids[1]);
	run_job("small", NULL);
	/* The big one's index is in index.vgl, so it is streamed. */
	tu_pathf(p, "%s/store/nightly/%s/index.vgl", t, ids[1]);
	assert_int_equal(access(p, F_OK), 0);

	roots[0] = root;
	rc->conf->http.restore_roots = roots;
	rc->conf->http.nrestore_roots = 1;
	if ((web = web_new()) == NULL)
		return -1;
	web_set_runconf(web, rc);
	return 0;
}

static int
group_teardown(void **state)
{
	api_backup_stop();
	web_free(web);
	/* Not the configuration's: conf_free() must not see them. */
	rc->conf->http.restore_roots = NULL;
	rc->conf->http.nrestore_roots = 0;
	runconf_free(rc);
	return tu_tmpdir_teardown(state);
}

/*
 * ${method} ${path} with ${role}, query ${q} ("k=v&k=v", no escapes) and
 * ${body}: must be one of the module's routes; the answer parsed.
 */
static json_t *
call(const char *method, const char *path, enum web_role role, const char *q,
    const char *body, int *ret_status)
{
	struct web_req rq = { .method = method,
		.path = path,
		.role = role,
		.body = body,
		.body_len = body != NULL ? strlen(body) : 0,
		.token_name = "tester",
		.client = "127.0.0.1:1" };
	struct web_resp rs = { 0 };
	char buf[2048], *save = NULL, *kv;
	json_error_t jerr;
	json_t *o;

	if (q != NULL) {
		snprintf(buf, sizeof(buf), "%s", q);
		for (kv = strtok_r(buf, "&", &save); kv != NULL;
		     kv = strtok_r(NULL, "&", &save)) {
			char *eq = strchr(kv, '=');

			assert_non_null(eq);
			*eq = '\0';
			rq.params[rq.nparams++] = (struct web_param){ kv,
				eq + 1 };
		}
	}
	if (api_backup_route(web, &rq, &rs) != 1)
		fail_msg("%s %s: not a route of the module", method, path);
	assert_non_null(rs.body);
	if ((o = json_loadb(rs.body, rs.len, 0, &jerr)) == NULL)
		fail_msg("%s %s: not JSON: %s", method, path, rs.body);
	*ret_status = rs.status;
	web_resp_free(&rs);
	return o;
}

static json_t *
get_ok(const char *path, const char *q)
{
	int st;
	json_t *o = call("GET", path, WEB_ROLE_READ, q, NULL, &st);

	if (st != 200)
		fail_msg("GET %s?%s: %d %s", path, q ? q : "", st,
		    json_string_value(json_object_get(o, "error")));
	return o;
}

static void
expect_error(const char *method, const char *path, enum web_role role,
    const char *q, const char *body, int status, const char *msg)
{
	int st;
	json_t *o = call(method, path, role, q, body, &st);
	const char *e = json_string_value(json_object_get(o, "error"));

	if (st != status || e == NULL || strstr(e, msg) == NULL)
		fail_msg("%s %s?%s %s: want %d \"%s\", got %d %s", method,
		    path, q ? q : "", body ? body : "", status, msg, st,
		    e ? e : "(no error)");
	json_decref(o);
}

static json_t *
member(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	if (v == NULL)
		fail_msg("no \"%s\"", key);
	return v;
}

/* The entry of ${arr} whose path is ${path}, or NULL. */
static json_t *
entry(json_t *arr, const char *path)
{
	for (size_t i = 0; i < json_array_size(arr); i++)
		if (strcmp(json_string_value(member(json_array_get(arr, i),
			       "path")),
			path) == 0)
			return json_array_get(arr, i);
	return NULL;
}

static void
test_backups(void **state)
{
	json_t *o, *arr, *b;
	int st;

	(void)state;
	o = get_ok("/api/v1/jobs/nightly/backups", NULL);
	assert_string_equal(json_string_value(member(o, "job")), "nightly");
	arr = member(o, "backups");
	assert_int_equal(json_array_size(arr), 2);
	/* Newest first. */
	assert_string_equal(json_string_value(member(json_array_get(arr, 0),
				"id")),
	    ids[1]);
	assert_string_equal(json_string_value(member(json_array_get(arr, 1),
				"id")),
	    ids[0]);
	b = json_array_get(arr, 0);
	assert_true(json_is_true(member(b, "complete")));
	assert_true(json_is_true(member(b, "index_separate")));
	assert_true(json_integer_value(member(b, "bytes")) > 1000);
	/* RFC 3339, UTC. */
	assert_non_null(strchr(json_string_value(member(b, "time")), 'Z'));
	json_decref(o);
	o = get_ok("/api/v1/jobs/small/backups", NULL);
	assert_int_equal(json_array_size(member(o, "backups")), 1);
	assert_true(json_is_false(member(json_array_get(member(o, "backups"),
					     0),
	    "index_separate")));
	json_decref(o);

	expect_error("GET", "/api/v1/jobs/nope/backups", WEB_ROLE_READ, NULL,
	    NULL, 404, "no backup job \"nope\"");
	expect_error("POST", "/api/v1/jobs/nightly/backups", WEB_ROLE_ADMIN,
	    NULL, NULL, 405, "needs GET");
	expect_error("GET", "/api/v1/jobs/nightly/backups", WEB_ROLE_READ,
	    "x=1", NULL, 400, "unknown parameter");
	expect_error("GET", "/api/v1/jobs/nightly/backups", WEB_ROLE_NONE,
	    NULL, NULL, 401, "token");
	expect_error("GET", "/api/v1/jobs/nightly/backups/", WEB_ROLE_READ,
	    NULL, NULL, 404, "no such path");
	expect_error("GET", "/api/v1/jobs/nightly/backups/x", WEB_ROLE_READ,
	    NULL, NULL, 404, "no such path");
	expect_error("GET", "/api/v1/jobs//backups", WEB_ROLE_READ, NULL, NULL,
	    404, "no backup job");
	/* Not the module's: the scheduler answers these. */
	{
		struct web_req rq = { .method = "POST",
			.path = "/api/v1/jobs/nightly/run",
			.role = WEB_ROLE_ADMIN };
		struct web_resp rs = { 0 };

		assert_int_equal(api_backup_route(web, &rq, &rs), 0);
		rq.path = "/api/v1/jobs/nightly/backupsx";
		assert_int_equal(api_backup_route(web, &rq, &rs), 0);
		rq.path = "/api/v1/status";
		assert_int_equal(api_backup_route(web, &rq, &rs), 0);
		rq.path = "/api/v1/restoresx";
		assert_int_equal(api_backup_route(web, &rq, &rs), 0);
		assert_null(rs.body);
	}
	(void)st;
}

static void
test_files(void **state)
{
	char path[PATH_MAX], q[PATH_MAX + 64], want[PATH_MAX], *seen;
	char *next = NULL;
	json_t *o, *arr, *e;
	size_t total = 0;
	int pages = 0;

	(void)state;
	snprintf(path, sizeof(path), "/api/v1/jobs/nightly/backups/%s/files",
	    ids[1]);

	/* The top: the first component of the tree's path, implied. */
	o = get_ok(path, NULL);
	arr = member(o, "entries");
	assert_int_equal(json_array_size(arr), 1);
	snprintf(want, sizeof(want), "%.*s", (int)strcspn(rel, "/"), rel);
	assert_non_null(e = entry(arr, want));
	assert_string_equal(json_string_value(member(e, "type")), "dir");
	assert_true(json_is_null(member(o, "next")));
	assert_string_equal(json_string_value(member(o, "backup")), ids[1]);
	json_decref(o);

	/* The tree's folder: big, etc and link, each once. */
	snprintf(q, sizeof(q), "dir=/%s/", rel);
	o = get_ok(path, q);
	arr = member(o, "entries");
	assert_int_equal(json_array_size(arr), 3);
	snprintf(want, sizeof(want), "%s/etc", rel);
	assert_string_equal(json_string_value(member(entry(arr, want),
				"type")),
	    "dir");
	snprintf(want, sizeof(want), "%s/big", rel);
	assert_string_equal(json_string_value(member(entry(arr, want),
				"type")),
	    "dir");
	snprintf(want, sizeof(want), "%s/link", rel);
	assert_string_equal(json_string_value(member(entry(arr, want),
				"type")),
	    "link");
	assert_string_equal(json_string_value(member(entry(arr, want),
				"target")),
	    "etc/hosts");
	json_decref(o);

	snprintf(q, sizeof(q), "dir=%s/etc", rel);
	o = get_ok(path, q);
	arr = member(o, "entries");
	assert_int_equal(json_array_size(arr), 2);
	snprintf(want, sizeof(want), "%s/etc/hosts", rel);
	assert_non_null(e = entry(arr, want));
	assert_string_equal(json_string_value(member(e, "type")), "file");
	assert_int_equal(json_integer_value(member(e, "size")),
	    strlen(NEW_HOSTS));
	assert_true(json_is_string(member(e, "mtime")));
	json_decref(o);

	/* The same folder of the older backup: the older size. */
	snprintf(path, sizeof(path), "/api/v1/jobs/nightly/backups/%s/files",
	    ids[0]);
	o = get_ok(path, q);
	assert_int_equal(json_integer_value(member(entry(member(o, "entries"),
						       want),
			     "size")),
	    strlen(OLD_HOSTS));
	json_decref(o);

	/* Paged: every file of big exactly once, 7 pages of 400. */
	snprintf(path, sizeof(path), "/api/v1/jobs/nightly/backups/%s/files",
	    ids[1]);
	assert_non_null(seen = calloc(NFILES, 1));
	do {
		char c[64] = "";

		if (next != NULL)
			snprintf(c, sizeof(c), "&cursor=%s", next);
		snprintf(q, sizeof(q), "dir=%s/big&limit=400%s", rel, c);
		o = get_ok(path, q);
		arr = member(o, "entries");
		assert_true(json_array_size(arr) <= 400);
		for (size_t i = 0; i < json_array_size(arr); i++) {
			const char *p =
			    json_string_value(member(json_array_get(arr, i),
				"path"));
			int n;

			assert_int_equal(strncmp(p, rel, strlen(rel)), 0);
			assert_int_equal(sscanf(p + strlen(rel), "/big/f%d",
					     &n),
			    1);
			assert_true(n >= 0 && n < NFILES);
			assert_int_equal(seen[n]++, 0);
			total++;
		}
		pages++;
		free(next);
		next = json_is_null(member(o, "next")) ?
		    NULL :
		    strdup(json_string_value(member(o, "next")));
		json_decref(o);
	} while (next != NULL && pages < 20);
	assert_int_equal(total, NFILES);
	assert_int_equal(pages, 7);
	free(seen);

	/* Search: case-insensitive, anywhere in the path. */
	o = get_ok(path, "q=F0042");
	arr = member(o, "entries");
	assert_int_equal(json_array_size(arr), 1);
	snprintf(want, sizeof(want), "%s/big/f0042", rel);
	assert_non_null(entry(arr, want));
	json_decref(o);
	o = get_ok(path, "q=f00&limit=5");
	assert_int_equal(json_array_size(member(o, "entries")), 5);
	assert_true(json_is_string(member(o, "next")));
	json_decref(o);
	/* Searching below a folder only. */
	snprintf(q, sizeof(q), "q=hosts&dir=%s/big", rel);
	o = get_ok(path, q);
	assert_int_equal(json_array_size(member(o, "entries")), 0);
	json_decref(o);

	/* "latest", and the inline index of the small job. */
	snprintf(q, sizeof(q), "dir=%s/etc", rel);
	o = get_ok("/api/v1/jobs/nightly/backups/latest/files", q);
	assert_string_equal(json_string_value(member(o, "backup")), ids[1]);
	json_decref(o);
	o = get_ok("/api/v1/jobs/small/backups/latest/files", q);
	arr = member(o, "entries");
	assert_int_equal(json_array_size(arr), 2);
	snprintf(want, sizeof(want), "%s/etc/nginx", rel);
	assert_non_null(entry(arr, want));
	json_decref(o);

	/* Bad input. */
	expect_error("GET", path, WEB_ROLE_READ, "dir=a/../b", NULL, 400,
	    "..");
	expect_error("GET", path, WEB_ROLE_READ, "dir=..", NULL, 400, "..");
	expect_error("GET", path, WEB_ROLE_READ, "dir=nope/x", NULL, 404,
	    "no folder");
	expect_error("GET", path, WEB_ROLE_READ, "limit=0", NULL, 400,
	    "limit");
	expect_error("GET", path, WEB_ROLE_READ, "limit=1001", NULL, 400,
	    "limit");
	expect_error("GET", path, WEB_ROLE_READ, "limit=x", NULL, 400,
	    "limit");
	expect_error("GET", path, WEB_ROLE_READ, "cursor=-1", NULL, 400,
	    "cursor");
	expect_error("GET", path, WEB_ROLE_READ, "cursor=1x", NULL, 400,
	    "cursor");
	expect_error("GET", path, WEB_ROLE_READ, "q=", NULL, 400, "q:");
	expect_error("GET", path, WEB_ROLE_READ, "limit=1&limit=2", NULL, 400,
	    "twice");
	expect_error("GET", path, WEB_ROLE_READ, "sort=name", NULL, 400,
	    "unknown parameter");
	memset(want, 'a', 300);
	want[300] = '\0';
	snprintf(q, sizeof(q), "q=%s", want);
	expect_error("GET", path, WEB_ROLE_READ, q, NULL, 400, "q:");
	expect_error("GET", "/api/v1/jobs/nightly/backups/1999/files",
	    WEB_ROLE_READ, NULL, NULL, 404, "no backup");
	expect_error("POST", path, WEB_ROLE_ADMIN, NULL, NULL, 405,
	    "needs GET");
	expect_error("GET", "/api/v1/jobs/nightly/backups/latest/files/",
	    WEB_ROLE_READ, NULL, NULL, 404, "no such path");
}

/* Wait for restore ${rid} to end; its last state. */
static json_t *
wait_restore(const char *rid)
{
	char path[128];

	snprintf(path, sizeof(path), "/api/v1/restores/%s", rid);
	for (int i = 0; i < 3000; i++) {
		json_t *o = get_ok(path, NULL);

		if (strcmp(json_string_value(member(o, "state")), "running") !=
		    0)
			return o;
		json_decref(o);
		clock_sleep_ms(10);
	}
	fail_msg("restore %s did not end", rid);
	return NULL;
}

/* Restore ${o} ended in ${state}. */
static void
expect_state(json_t *o, const char *state)
{
	const char *got = json_string_value(member(o, "state"));

	if (strcmp(got, state) != 0)
		fail_msg("restore %s: %s, not %s: %s",
		    json_string_value(member(o, "restore")), got, state,
		    json_string_value(member(o, "error")));
}

/* POST a restore as admin; it must start.  Its rid (malloc'd). */
static char *
start_restore(const char *body)
{
	int st;
	json_t *o = call("POST", "/api/v1/restores", WEB_ROLE_ADMIN, NULL,
	    body, &st);
	char *rid;

	if (st != 202)
		fail_msg("restore %s: %d %s", body, st,
		    json_string_value(json_object_get(o, "error")));
	assert_non_null(rid = strdup(json_string_value(member(o, "restore"))));
	json_decref(o);
	return rid;
}

static void
check_file(const char *path, const char *text)
{
	size_t len;
	uint8_t *got = tu_read_file(path, &len);

	assert_non_null(got);
	assert_int_equal(len, strlen(text));
	assert_memory_equal(got, text, len);
	free(got);
}

static void
test_restore(void **state)
{
	char body[3 * PATH_MAX], file[2 * PATH_MAX];
	char *rid;
	json_t *o;

	(void)state;
	/* The older hosts, into a folder the restore makes. */
	snprintf(body, sizeof(body),
	    "{\"job\": \"nightly\", \"id\": \"%s\", \"paths\": "
	    "[\"%s/etc/hosts\"], \"target\": \"%s/r1\"}",
	    ids[0], rel, root);
	rid = start_restore(body);
	o = wait_restore(rid);
	expect_state(o, "done");
	assert_true(json_is_null(member(o, "error")));
	assert_string_equal(json_string_value(member(o, "restore")), rid);
	assert_string_equal(json_string_value(member(o, "id")), ids[0]);
	assert_string_equal(json_string_value(member(o, "job")), "nightly");
	assert_int_equal(json_integer_value(member(o, "files")), 1);
	assert_int_equal(json_integer_value(member(o, "written")),
	    strlen(OLD_HOSTS));
	assert_true(json_integer_value(member(o, "bytes")) > 0);
	assert_true(json_is_string(member(o, "ended")));
	json_decref(o);
	free(rid);
	snprintf(file, sizeof(file), "%s/r1/%s/etc/hosts", root, rel);
	check_file(file, OLD_HOSTS);

	/* The newer one over it: kept without "overwrite" ... */
	tu_write_file(file, "mine\n", 5, 0600);
	snprintf(body, sizeof(body),
	    "{\"job\": \"nightly\", \"id\": \"latest\", \"paths\": "
	    "[\"%s/etc\"], \"target\": \"%s/r1\", \"overwrite\": false}",
	    rel, root);
	rid = start_restore(body);
	o = wait_restore(rid);
	expect_state(o, "done");
	assert_string_equal(json_string_value(member(o, "id")), ids[1]);
	assert_int_equal(json_integer_value(member(o, "kept")), 1);
	json_decref(o);
	free(rid);
	check_file(file, "mine\n");
	/* ... but not the rest of the folder. */
	snprintf(file, sizeof(file), "%s/r1/%s/etc/nginx/nginx.conf", root,
	    rel);
	check_file(file, "worker_processes 1;\n");
	/* ... replaced with it. */
	snprintf(body, sizeof(body),
	    "{\"job\": \"nightly\", \"id\": \"latest\", \"paths\": "
	    "[\"/%s/etc/hosts\"], \"target\": \"%s/r1/\", \"overwrite\": "
	    "true}",
	    rel, root);
	rid = start_restore(body);
	o = wait_restore(rid);
	expect_state(o, "done");
	json_decref(o);
	free(rid);
	snprintf(file, sizeof(file), "%s/r1/%s/etc/hosts", root, rel);
	check_file(file, NEW_HOSTS);

	/* A path not in the backup: failed, with the reason. */
	snprintf(body, sizeof(body),
	    "{\"job\": \"nightly\", \"id\": \"latest\", \"paths\": "
	    "[\"%s/nope\"], \"target\": \"%s/r2\"}",
	    rel, root);
	rid = start_restore(body);
	o = wait_restore(rid);
	expect_state(o, "failed");
	assert_non_null(strstr(json_string_value(member(o, "error")),
	    "not in backup"));
	json_decref(o);
	free(rid);

	/* One at a time: the whole backup runs while a second is asked. */
	snprintf(body, sizeof(body),
	    "{\"job\": \"nightly\", \"id\": \"latest\", \"target\": "
	    "\"%s/whole\"}",
	    root);
	rid = start_restore(body);
	expect_error("POST", "/api/v1/restores", WEB_ROLE_ADMIN, NULL, body,
	    409, "runs already");
	o = wait_restore(rid);
	expect_state(o, "done");
	assert_true(json_integer_value(member(o, "files")) > NFILES);
	assert_int_equal(json_integer_value(member(o, "bytes")),
	    json_integer_value(member(o, "bytes_total")));
	json_decref(o);
	free(rid);
	snprintf(file, sizeof(file), "%s/whole/%s/big/f2499", root, rel);
	check_file(file, "file 2499\n");

	/* api_backup_stop(): cancelled, and joined. */
	snprintf(body, sizeof(body),
	    "{\"job\": \"nightly\", \"id\": \"latest\", \"target\": "
	    "\"%s/whole2\"}",
	    root);
	rid = start_restore(body);
	api_backup_stop();
	o = wait_restore(rid); /* no longer running */
	if (strcmp(json_string_value(member(o, "state")), "failed") == 0)
		assert_non_null(strstr(json_string_value(member(o, "error")),
		    "cancel"));
	json_decref(o);
	free(rid);
	expect_error("GET", "/api/v1/restores/nope", WEB_ROLE_READ, NULL, NULL,
	    404, "no restore");
}

/* Is the folder ${dir} empty? */
static bool
empty_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 &&
		    strcmp(e->d_name, "..") != 0)
			n++;
	closedir(d);
	return n == 0;
}

static void
bad_restore(enum web_role role, const char *body, int status, const char *msg)
{
	expect_error("POST", "/api/v1/restores", role, NULL, body, status,
	    msg);
}

static void
test_restore_refused(void **state)
{
	char body[4 * PATH_MAX], *big;
	size_t len = 0;

	(void)state;
	snprintf(body, sizeof(body),
	    "{\"job\": \"nightly\", \"id\": \"latest\", \"target\": "
	    "\"%s/ok\"}",
	    root);
	bad_restore(WEB_ROLE_READ, body, 403, "admin");
	expect_error("POST", "/api/v1/restores", WEB_ROLE_NONE, NULL, body,
	    401, "token");

	bad_restore(WEB_ROLE_ADMIN, "", 400, "not JSON");
	bad_restore(WEB_ROLE_ADMIN, "{\"job\": ", 400, "not JSON");
	bad_restore(WEB_ROLE_ADMIN, "[1]", 400, "JSON object");
	bad_restore(WEB_ROLE_ADMIN, "{\"job\": \"a\", \"job\": \"b\"}", 400,
	    "not JSON");
	bad_restore(WEB_ROLE_ADMIN,
	    "{\"job\": \"nightly\", \"id\": \"latest\", \"target\": \"/x\","
	    " \"evil\": 1}",
	    400, "unknown member \"evil\"");
	bad_restore(WEB_ROLE_ADMIN,
	    "{\"job\": \"nightly\", \"id\": \"latest\"}", 400, "give \"job\"");
	bad_restore(WEB_ROLE_ADMIN,
	    "{\"job\": \"nightly\", \"id\": 7, \"target\": \"/x\"}", 400,
	    "give \"job\"");
	bad_restore(WEB_ROLE_ADMIN,
	    "{\"job\": \"nightly\", \"id\": \"latest\", \"target\": \"/x\","
	    " \"overwrite\": \"yes\"}",
	    400, "give \"job\"");
	bad_restore(WEB_ROLE_ADMIN,
	    "{\"job\": \"nightly\", \"id\": \"latest\", \"target\": \"/x\","
	    " \"paths\": \"etc\"}",
	    400, "paths: give a list");
	bad_restore(WEB_ROLE_ADMIN,
	    "{\"job\": \"nightly\", \"id\": \"latest\", \"target\": \"/x\","
	    " \"paths\": [\"etc/../../x\"]}",
	    400, "\"..\"");
	bad_restore(WEB_ROLE_ADMIN,
	    "{\"job\": \"nightly\", \"id\": \"latest\", \"target\": \"/x\","
	    " \"paths\": [\"\"]}",
	    400, "paths[0]");
	bad_restore(WEB_ROLE_ADMIN,
	    "{\"job\": \"nightly\", \"id\": \"latest\", \"target\": \"/x\","
	    " \"paths\": [\"a\", 3]}",
	    400, "paths[1]");
	bad_restore(WEB_ROLE_ADMIN,
	    "{\"job\": \"nightly\", \"id\": \"latest\", \"target\": \"/x\","
	    " \"paths\": [\"a\\u0000b\"]}",
	    400, "not JSON");
	/* Too many paths; one too long. */
	assert_non_null(big = malloc(1 << 20));
	len = (size_t)sprintf(big,
	    "{\"job\": \"nightly\", \"id\": \"latest\", \"target\": \"%s/x\", "
	    "\"paths\": [\"a\"",
	    root);
	for (int i = 0; i < API_RESTORE_PATHS_MAX; i++)
		len += (size_t)sprintf(big + len, ", \"a\"");
	strcpy(big + len, "]}");
	bad_restore(WEB_ROLE_ADMIN, big, 400, "more than");
	len = (size_t)sprintf(big,
	    "{\"job\": \"nightly\", \"id\": \"latest\", \"target\": \"%s/x\", "
	    "\"paths\": [\"",
	    root);
	memset(big + len, 'a', PATH_MAX + 10);
	strcpy(big + len + PATH_MAX + 10, "\"]}");
	bad_restore(WEB_ROLE_ADMIN, big, 400, "paths[0]");
	len = (size_t)sprintf(big,
	    "{\"job\": \"nightly\", \"id\": \"latest\", \"target\": \"%s/",
	    root);
	memset(big + len, 'a', PATH_MAX + 10);
	strcpy(big + len + PATH_MAX + 10, "\"}");
	bad_restore(WEB_ROLE_ADMIN, big, 400, "target");
	free(big);

	bad_restore(WEB_ROLE_ADMIN,
	    "{\"job\": \"nope\", \"id\": \"latest\", \"target\": \"/x\"}", 404,
	    "no backup job \"nope\"");
	bad_restore(WEB_ROLE_ADMIN,
	    "{\"job\": \"nightly\", \"id\": \"1999\", \"target\": \"/x\"}",
	    404, "no backup");

	/* Targets. */
	bad_restore(WEB_ROLE_ADMIN,
	    "{\"job\": \"nightly\", \"id\": \"latest\", \"target\": \"x/y\"}",
	    400, "absolute");
	snprintf(body, sizeof(body),
	    "{\"job\": \"nightly\", \"id\": \"latest\", \"target\": "
	    "\"%s/../../outside\"}",
	    root);
	bad_restore(WEB_ROLE_ADMIN, body, 400, "\"..\"");
	snprintf(body, sizeof(body),
	    "{\"job\": \"nightly\", \"id\": \"latest\", \"target\": \"%s\"}",
	    outside);
	bad_restore(WEB_ROLE_ADMIN, body, 403, "not below a restore root");
	/* A sibling whose name starts like the root's. */
	snprintf(body, sizeof(body),
	    "{\"job\": \"nightly\", \"id\": \"latest\", \"target\": "
	    "\"%sb/x\"}",
	    root);
	bad_restore(WEB_ROLE_ADMIN, body, 403, "not below a restore root");
	/* The symlink in the root that points out, and a path through it. */
	snprintf(body, sizeof(body),
	    "{\"job\": \"nightly\", \"id\": \"latest\", \"target\": "
	    "\"%s/evil\"}",
	    root);
	bad_restore(WEB_ROLE_ADMIN, body, 403, "symlink");
	snprintf(body, sizeof(body),
	    "{\"job\": \"nightly\", \"id\": \"latest\", \"target\": "
	    "\"%s/evil/sub/dir\"}",
	    root);
	bad_restore(WEB_ROLE_ADMIN, body, 403, "symlink");
	assert_true(empty_dir(outside));
	/* A file on the way. */
	{
		char f[PATH_MAX + 8];

		tu_pathf(f, "%s/afile", root);
		tu_write_file(f, "x", 1, 0600);
		snprintf(body, sizeof(body),
		    "{\"job\": \"nightly\", \"id\": \"latest\", \"target\": "
		    "\"%s/afile/x\"}",
		    root);
		bad_restore(WEB_ROLE_ADMIN, body, 400, "not a folder");
	}
	/* No roots: restore from the web is off. */
	rc->conf->http.nrestore_roots = 0;
	roots[0] = NULL;
	snprintf(body, sizeof(body),
	    "{\"job\": \"nightly\", \"id\": \"latest\", \"target\": "
	    "\"%s/ok\"}",
	    root);
	bad_restore(WEB_ROLE_ADMIN, body, 403, "off");
	roots[0] = root;
	rc->conf->http.nrestore_roots = 1;
	assert_int_equal(access(body, F_OK), -1);

	/* Paths and methods. */
	expect_error("GET", "/api/v1/restores", WEB_ROLE_READ, NULL, NULL, 405,
	    "needs POST");
	expect_error("POST", "/api/v1/restores/x", WEB_ROLE_ADMIN, NULL, NULL,
	    405, "needs GET");
	expect_error("GET", "/api/v1/restores/", WEB_ROLE_READ, NULL, NULL,
	    404, "no such path");
	expect_error("GET", "/api/v1/restores/a/b", WEB_ROLE_READ, NULL, NULL,
	    404, "no such path");
	expect_error("POST", "/api/v1/restores", WEB_ROLE_ADMIN, "now=1", body,
	    400, "unknown parameter");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_backups),
		cmocka_unit_test(test_files),
		cmocka_unit_test(test_restore),
		cmocka_unit_test(test_restore_refused),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
