/*
 * test_gcs.c: the GCS backend (providers/gcp/gcs.c) through the storage
 * wrappers, against the loopback server of fakes/fake_httpd.c acting as
 * the metadata server (the first answer, a token, is cached) and then as
 * GCS: its settings checked, the Range of a read, and each kind of answer
 * judged: a missing object, a missing bucket, 403, 503, 401 (the token
 * dropped and fetched again), a listing's items.  Uploads and paged
 * listings run against tests/fakes/gcs_server.py in it_gcs.sh.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf.h"
#include "lib/ag.h"
#include "providers/storage.h"
#include "tests/unit/fakes/fake_httpd.h"
#include "tests/unit/fakes/testutil.h"

static struct fake_httpd S;

#define TOKEN_BODY "{\"access_token\":\"ya29.unit\",\"expires_in\":3600}"

/* A sink that keeps what it is given. */
struct got {
	char buf[64];
	size_t len;
};

static int
got_sink(void *cookie, const uint8_t *buf, size_t len)
{
	struct got *g = cookie;

	if (g->len + len > sizeof(g->buf))
		return -1;
	memcpy(g->buf + g->len, buf, len);
	g->len += len;
	return 0;
}

/* Bad settings are refused by "vigil config check", each named. */
static void
test_settings(void **state)
{
	struct conf_errs errs = { 0 };
	struct storage_conf *sc = NULL;
	struct conf *cf;
	size_t i;

	(void)state;
	cf = tu_conf_load(
	    "storage = {\n"
	    "  good = { type = \"gcs\"; bucket = \"acme-backups\"; "
	    "credentials_file = \"/etc/vigil/sa.json\"; timeout = \"30s\"; };\n"
	    "  b1 = { type = \"gcs\"; bucket = \"Acme Backups\"; };\n"
	    "  b2 = { type = \"gcs\"; bucket = \"ok-name\"; "
	    "endpoint = \"ftp://x\"; };\n"
	    "  b3 = { type = \"gcs\"; bucket = \"ok-name\"; "
	    "credentials_file = \"sa.json\"; };\n"
	    "  b4 = { type = \"gcs\"; };\n"
	    "  b5 = { type = \"gcs\"; bucket = \"ok-name\"; region = \"x\"; };\n"
	    "};\n",
	    &errs);
	for (i = 0; i < errs.n; i++)
		print_message("conf: %s\n", errs.msgs[i]);
	assert_int_equal(errs.n, 0);
	assert_int_equal(storage_conf_find(cf->storage, "good", &sc, &errs),
	    0);
	assert_string_equal(sc->type, "gcs");
	storage_conf_free(sc);
	assert_int_equal(storage_conf_find(cf->storage, "b1", &sc, &errs), -1);
	assert_non_null(strstr(errs.msgs[errs.n - 1], "not a bucket name"));
	assert_int_equal(storage_conf_find(cf->storage, "b2", &sc, &errs), -1);
	assert_non_null(strstr(errs.msgs[errs.n - 1],
	    "not an http:// or "
	    "https:// URL"));
	assert_int_equal(storage_conf_find(cf->storage, "b3", &sc, &errs), -1);
	assert_non_null(strstr(errs.msgs[errs.n - 1], "absolute"));
	assert_int_equal(storage_conf_find(cf->storage, "b4", &sc, &errs), -1);
	assert_non_null(strstr(errs.msgs[errs.n - 1], "bucket"));
	assert_int_equal(storage_conf_find(cf->storage, "b5", &sc, &errs), -1);
	assert_non_null(strstr(errs.msgs[errs.n - 1], "region"));
	conf_errs_free(&errs);
	conf_free(cf);
}

/* open_fake(): an instance whose endpoint and metadata server are S. */
static struct storage *
open_fake(void)
{
	struct conf_errs errs = { 0 };
	struct storage_conf *sc = NULL;
	struct storage *st = NULL;
	struct ag_err err;
	struct conf *cf;
	char text[512];

	snprintf(text, sizeof(text),
	    "storage = { g = { type = \"gcs\"; "
	    "bucket = \"vigil-unit\"; endpoint = \"http://127.0.0.1:%d/\"; "
	    "metadata_host = \"127.0.0.1:%d\"; }; };\n",
	    S.port, S.port);
	cf = tu_conf_load(text, &errs);
	assert_int_equal(errs.n, 0);
	assert_int_equal(storage_conf_find(cf->storage, "g", &sc, &errs), 0);
	if (storage_open(sc, &st, &err) != 0)
		fail_msg("%s", err.msg);
	storage_conf_free(sc);
	conf_free(cf);
	return st;
}

static void
test_answers(void **state)
{
	struct objlist l = { 0 };
	struct storage *st;
	struct ag_err err;
	struct got g = { .len = 0 };
	int n;

	(void)state;
	unsetenv("GOOGLE_APPLICATION_CREDENTIALS");
	assert_int_equal(fake_httpd_start(&S), 0);
	st = open_fake();
	assert_int_equal(S.nreq, 0);

	/* The token comes first; the same answer is an empty listing. */
	/* Two clients (token, storage): the server serves one at a time. */
	S.headers = "Metadata-Flavor: Google\r\nConnection: close\r\n";
	S.body = TOKEN_BODY;
	if (storage_list(st, "a/", 0, &l, &err) != 0)
		fail_msg("%s", err.msg);
	assert_int_equal(l.n, 0);
	assert_int_equal(S.nreq, 2);
	assert_string_equal(S.method, "GET");
	assert_memory_equal(S.path, "/storage/v1/b/vigil-unit/o?prefix=a%2F",
	    strlen("/storage/v1/b/vigil-unit/o?prefix=a%2F"));
	assert_string_equal(fake_httpd_req_header(&S, "Authorization"),
	    "Bearer ya29.unit");

	/* A ranged read. */
	S.status = 206;
	S.body = "0123456789";
	assert_int_equal(storage_get(st, "a/b c", 5, 10, got_sink, &g, &err),
	    0);
	assert_int_equal(g.len, 10);
	assert_string_equal(S.path,
	    "/storage/v1/b/vigil-unit/o/a%2Fb%20c"
	    "?alt=media");
	assert_string_equal(fake_httpd_req_header(&S, "Range"), "bytes=5-14");
	assert_int_equal(S.nreq, 3);

	/* A missing object; a missing bucket. */
	S.status = 404;
	S.body = "{\"error\":{\"code\":404,\"message\":\"No such object: "
		 "vigil-unit/a/x\",\"errors\":[{\"reason\":\"notFound\"}]}}";
	assert_int_equal(storage_get(st, "a/x", 0, UINT64_MAX, got_sink, &g,
			     &err),
	    STORAGE_ABSENT);
	assert_int_equal(storage_remove(st, "a/x", &err), 0);
	S.body = "{\"error\":{\"code\":404,\"message\":\"The specified bucket "
		 "does not exist.\",\"errors\":[{\"reason\":\"notFound\"}]}}";
	assert_int_equal(storage_get(st, "a/x", 0, UINT64_MAX, got_sink, &g,
			     &err),
	    -1);
	assert_non_null(strstr(err.msg,
	    "gcs[g]: bucket \"vigil-unit\" does "
	    "not exist (HTTP 404): create it, or correct \"bucket\""));
	assert_int_equal(storage_remove(st, "a/x", &err), -1);

	/* 403: GCS's reason and message, and who lacks what. */
	S.status = 403;
	S.body =
	    "{\"error\":{\"code\":403,\"message\":\"sa@p.iam does not "
	    "have storage.objects.delete access to the Google Cloud Storage "
	    "object.\",\"errors\":[{\"reason\":\"forbidden\"}]}}";
	assert_int_equal(storage_remove(st, "a/x", &err), -1);
	assert_non_null(strstr(err.msg,
	    "gcs[g]: remove a/x: HTTP 403 "
	    "(forbidden): sa@p.iam does not have storage.objects.delete"));
	assert_non_null(strstr(err.msg, "the metadata server at 127.0.0.1"));

	/* 503 and 429 are transient. */
	S.status = 503;
	S.body = "{\"error\":{\"code\":503,\"message\":\"Backend Error\"}}";
	assert_int_equal(storage_remove(st, "a/x", &err), AG_RETRY);
	S.status = 429;
	assert_int_equal(storage_list(st, "a/", 0, &l, &err), AG_RETRY);

	/* 401: transient, and the next call fetches a new token. */
	S.status = 401;
	S.body = "{\"error\":{\"code\":401,\"message\":\"Invalid "
		 "Credentials\"}}";
	assert_int_equal(storage_remove(st, "a/x", &err), AG_RETRY);
	assert_non_null(strstr(err.msg,
	    "HTTP 401: the token of the metadata "
	    "server"));
	n = S.nreq;
	S.status = 200;
	S.body = TOKEN_BODY;
	assert_int_equal(storage_remove(st, "a/x", &err), 0);
	assert_int_equal(S.nreq, n + 2);
	assert_int_equal(storage_remove(st, "a/y", &err), 0);
	assert_int_equal(S.nreq, n + 3);

	/* A listing's items: name, size (a string), updated. */
	n = S.nreq;
	S.body = "{\"items\":[{\"name\":\"a/1\",\"size\":\"7\",\"updated\":"
		 "\"2026-01-02T03:04:05.678Z\"}]}";
	assert_int_equal(storage_list(st, "a/", 0, &l, &err), 0);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.v[0].name, "a/1");
	assert_int_equal(l.v[0].size, 7);
	assert_int_equal(l.v[0].mtime, tu_utc(2026, 1, 2, 3, 4, 5));
	assert_int_equal(S.nreq, n + 1);
	objlist_free(&l);
	storage_close(st);
	fake_httpd_stop(&S);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_settings),
		cmocka_unit_test(test_answers),
	};

	return cmocka_run_group_tests(tests, tu_tmpdir_setup,
	    tu_tmpdir_teardown);
}
