/*
 * test_azure_blob.c: the Azure Blob backend (providers/azure/).  The XML
 * readers against the recorded answers of ../shared/conformance/azure/
 * storage-blob/extracted-xml/ (listings with and without NextMarker,
 * <Error> bodies with their BOM); block ids; the settings (credentials,
 * names, a secret inline in a world-readable file); and the requests,
 * against the tiny server of fakes/fake_httpd.c: each one's URL, headers
 * and SharedKey signature (signed again here from what the server
 * received), and how answers are judged: 503 and 429 retried, Azure's
 * code and message reported once, a missing container and a refused key
 * each a sentence that says what to fix, and the key in no message.
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
#include <strings.h>

#include "conf/conf.h"
#include "lib/ag.h"
#include "lib/cloud/azure/azure_auth.h"
#include "providers/azure/blob_internal.h"
#include "providers/storage.h"
#include "tests/unit/fakes/fake_httpd.h"
#include "tests/unit/fakes/testutil.h"

/* Azurite's published development account and key. */
#define DEV_ACCT "devstoreaccount1"
#define DEV_KEY \
	"Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6" \
	"tq/K1SZFPTOtr/KBHBeksoGMGw=="

static struct fake_httpd S;

/* A recorded body from the conformance folder, NUL-terminated. */
static char *
recorded(const char *name, size_t *ret_len)
{
	const char *shared = getenv("VIGIL_SHARED");
	char path[1024];
	uint8_t *b;

	snprintf(path, sizeof(path),
	    "%s/conformance/azure/storage-blob/"
	    "extracted-xml/%s",
	    shared ? shared : "../../shared", name);
	b = tu_read_file(path, ret_len);
	if (b == NULL)
		fail_msg("%s: cannot read (is ../shared beside the "
			 "repository?)",
		    path);
	return (char *)b;
}

/* The recorded errors: code and the message's first line. */
static void
test_xml_errors(void **state)
{
	static const struct {
		const char *file, *code, *msg;
	} t[] = {
		{ "test_common_blob.test_get_blob_with_non_existing_blob.0."
		  "404.xml",
		    "BlobNotFound", "The specified blob does not exist." },
		{ "test_block_blob.test_put_block_list_invalid_block_id.3."
		  "400.xml",
		    "InvalidBlockList",
		    "The specified block list is invalid." },
		{ "test_blob_access_conditions.test_get_blob_with_if_match_"
		  "fail.2.412.xml",
		    "ConditionNotMet",
		    "The condition specified using HTTP conditional header(s) "
		    "is not met." },
		{ "test_container.test_create_container_with_already_"
		  "existing_container_fail_on_exist.1.409.xml",
		    "ContainerAlreadyExists",
		    "The specified container already exists." },
	};
	char code[64], msg[256], *b;
	size_t i, len;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		b = recorded(t[i].file, &len);
		/* Azure sends a UTF-8 byte order mark first. */
		assert_memory_equal(b, "\xef\xbb\xbf", 3);
		assert_int_equal(azblob_xml_error(b, len, code, sizeof(code),
				     msg, sizeof(msg)),
		    0);
		assert_string_equal(code, t[i].code);
		assert_string_equal(msg, t[i].msg);
		free(b);
	}
	assert_int_equal(azblob_xml_error("<html>busy</html>", 17, code,
			     sizeof(code), msg, sizeof(msg)),
	    -1);
	assert_string_equal(code, "");
	assert_int_equal(azblob_xml_error(NULL, 0, code, sizeof(code), msg,
			     sizeof(msg)),
	    -1);
}

/* A listing page with a NextMarker, and the last page of another. */
static void
test_xml_list(void **state)
{
	struct objlist l = { 0 };
	struct buf marker;
	char *b;
	size_t len, i;

	(void)state;
	buf_init(&marker, 4096);
	b = recorded("test_container.test_list_blobs_with_num_results.5.200."
		     "xml",
	    &len);
	assert_int_equal(azblob_xml_list(b, len, &l, &marker), 0);
	free(b);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.v[0].name, "bloba1");
	assert_int_equal(l.v[0].size, 11);
	assert_int_equal(l.v[0].mtime, 1557363474); /* 2019-05-09 00:57:54 */
	assert_string_equal(l.v[1].name, "bloba2");
	/* Opaque: sent back as it came. */
	assert_string_equal(marker.p,
	    "2!68!MDAwMDA2IWJsb2JhMyEwMDAwMjghOTk5"
	    "OS0xMi0zMVQyMzo1OTo1OS45OTk5OTk5WiE-");

	objlist_free(&l);
	b = recorded("test_container.test_list_blobs.3.200.xml", &len);
	assert_int_equal(azblob_xml_list(b, len, &l, &marker), 0);
	free(b);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.v[0].name, "blob1");
	assert_string_equal(l.v[1].name, "blob2");
	assert_int_equal(marker.len, 0);
	objlist_free(&l);

	/* BlobPrefix entries (a delimiter listing) are not objects. */
	b = recorded("test_container.test_list_blobs_with_delimiter.5.200.xml",
	    &len);
	assert_int_equal(azblob_xml_list(b, len, &l, &marker), 0);
	free(b);
	for (i = 0; i < l.n; i++)
		assert_null(strchr(l.v[i].name, '/'));
	objlist_free(&l);

	assert_int_equal(azblob_xml_list("<Error><Code>X</Code></Error>", 29,
			     &l, &marker),
	    -1);
	buf_free(&marker);
}

/* Block ids: one width, base64 of a counter; the Put Block List body. */
static void
test_block_ids(void **state)
{
	char id[AZBLOB_BLOCKID_LEN + 1];
	struct buf b;

	(void)state;
	azblob_block_id(0, id);
	assert_string_equal(id, "dmlnaWwtYmxvY2stMDAwMDAw");
	azblob_block_id(49999, id);
	assert_string_equal(id, "dmlnaWwtYmxvY2stMDQ5OTk5");
	assert_int_equal(strlen(id), AZBLOB_BLOCKID_LEN);
	buf_init(&b, 4096);
	assert_int_equal(azblob_xml_blocklist(2, &b), 0);
	assert_string_equal(b.p,
	    "<?xml version=\"1.0\" encoding=\"utf-8\"?>"
	    "<BlockList><Latest>dmlnaWwtYmxvY2stMDAwMDAw</Latest>"
	    "<Latest>dmlnaWwtYmxvY2stMDAwMDAx</Latest></BlockList>");
	buf_free(&b);
}

/* Parse target ${name} of ${text} (written with ${mode}); 0 or -1. */
static int
parse_target(const char *text, mode_t mode, const char *name,
    struct storage_conf **ret, struct conf_errs *errs)
{
	struct conf *cf = NULL;
	const char *p = tu_write_conf("az.conf", text, mode);
	int rc;

	memset(errs, 0, sizeof(*errs));
	if (conf_load(p, &cf, errs) != 0) {
		conf_free(cf);
		return -1;
	}
	rc = storage_conf_find(cf->storage, name, ret, errs);
	conf_free(cf);
	return rc;
}

/* The settings: credentials required, one kind only, names checked. */
static void
test_conf(void **state)
{
	struct storage_conf *sc = NULL;
	struct conf_errs errs;
	char text[2048];

	(void)state;
	snprintf(text, sizeof(text),
	    "storage = {\n"
	    " ok = { type = \"azure\"; account = \"acct1\"; container = "
	    "\"backups\"; account_key = \"%s\"; access_tier = \"Cool\"; };\n"
	    " nocred = { type = \"azure\"; account = \"acct1\"; container = "
	    "\"backups\"; };\n"
	    " both = { type = \"azure\"; account = \"acct1\"; container = "
	    "\"backups\"; account_key = \"%s\"; sas_token = \"sv=x&sig=y\"; "
	    "};\n"
	    " names = { type = \"azure\"; account = \"Bad_Acct\"; container = "
	    "\"a--b\"; sas_token = \"sv=x&sig=y\"; };\n"
	    " badkey = { type = \"azure\"; account = \"acct1\"; container = "
	    "\"backups\"; account_key = \"not a key!\"; };\n"
	    " tier = { type = \"azure\"; account = \"acct1\"; container = "
	    "\"backups\"; sas_token = \"sv=x&sig=y\"; access_tier = "
	    "\"Archive\"; };\n"
	    " half = { type = \"azure\"; account = \"acct1\"; container = "
	    "\"backups\"; client_secret = \"s3cret-value\"; };\n"
	    " mixed = { type = \"azure\"; account = \"acct1\"; container = "
	    "\"backups\"; sas_token = \"sv=x&sig=y\"; tenant_id = \"t\"; };\n"
	    "};\n",
	    DEV_KEY, DEV_KEY);
	assert_int_equal(parse_target(text, 0600, "ok", &sc, &errs), 0);
	assert_string_equal(sc->type, "azure");
	storage_conf_free(sc);
	conf_errs_free(&errs);

	/* No key and no token: Entra ID, the chain found at open. */
	assert_int_equal(parse_target(text, 0600, "nocred", &sc, &errs), 0);
	storage_conf_free(sc);
	conf_errs_free(&errs);
	assert_int_equal(parse_target(text, 0600, "both", &sc, &errs), -1);
	assert_true(tu_has_error(&errs, "not several"));
	conf_errs_free(&errs);
	assert_int_equal(parse_target(text, 0600, "half", &sc, &errs), -1);
	assert_true(tu_has_error(&errs,
	    "client_secret needs tenant_id and "
	    "client_id"));
	conf_errs_free(&errs);
	assert_int_equal(parse_target(text, 0600, "mixed", &sc, &errs), -1);
	assert_true(tu_has_error(&errs,
	    "tenant_id and client_id are for "
	    "Entra ID"));
	conf_errs_free(&errs);
	assert_int_equal(parse_target(text, 0600, "names", &sc, &errs), -1);
	assert_true(tu_has_error(&errs, "not a storage account name"));
	assert_true(tu_has_error(&errs, "not a container name"));
	conf_errs_free(&errs);
	assert_int_equal(parse_target(text, 0600, "badkey", &sc, &errs), -1);
	assert_true(tu_has_error(&errs, "is not an account key"));
	conf_errs_free(&errs);
	assert_int_equal(parse_target(text, 0600, "tier", &sc, &errs), -1);
	assert_true(tu_has_error(&errs, "access_tier"));
	conf_errs_free(&errs);

	/* An inline key in a file others may read is refused. */
	if (parse_target(text, 0644, "ok", &sc, &errs) == 0)
		fail_msg("an inline account_key in a 0644 file was accepted");
	assert_true(errs.n > 0);
	conf_errs_free(&errs);
}

/* Open a target on the fake server signed with the development key. */
static struct storage *
open_fake(const char *extra)
{
	struct storage_conf *sc = NULL;
	struct conf_errs errs;
	struct storage *st = NULL;
	struct ag_err err = { "" };
	char text[2048];

	snprintf(text, sizeof(text),
	    "storage = { az = { type = \"azure\"; "
	    "account = \"" DEV_ACCT "\"; container = \"vigil\"; "
	    "endpoint = \"http://127.0.0.1:%d/" DEV_ACCT "/\"; %s }; };\n",
	    S.port, extra);
	if (parse_target(text, 0600, "az", &sc, &errs) != 0) {
		size_t i;

		for (i = 0; i < errs.n; i++)
			print_message("conf: %s\n", errs.msgs[i]);
		fail_msg("the fake target does not parse");
	}
	conf_errs_free(&errs);
	assert_int_equal(storage_open(sc, &st, &err), 0);
	storage_conf_free(sc);
	return st;
}

/*
 * The Authorization header of the last request, signed again from what
 * the server received: method, path and query, the x-ms- headers, the
 * length and type.
 */
static void
check_signature(void)
{
	const char *names[] = { "x-ms-date", "x-ms-version", "x-ms-range",
		"x-ms-access-tier", "Content-Length", "Content-Type", NULL };
	char *hdr[8], *auth, *q, path[2048];
	const char *v;
	uint8_t key[AZURE_KEY_MAX];
	size_t keylen, n = 0, i;

	for (i = 0; names[i] != NULL; i++) {
		if ((v = fake_httpd_req_header(&S, names[i])) == NULL)
			continue;
		/* curl sends no Content-Length for a bodiless GET. */
		assert_int_not_equal(asprintf(&hdr[n++], "%s: %s", names[i],
					 v),
		    -1);
	}
	hdr[n] = NULL;
	snprintf(path, sizeof(path), "%s", S.path);
	if ((q = strchr(path, '?')) != NULL)
		*q++ = '\0';
	assert_int_equal(azure_key_decode(DEV_KEY, key, &keylen), 0);
	struct azure_sk_req sk = { S.method, path, q, (const char *const *)hdr,
		NULL };
	auth = azure_sharedkey_auth(DEV_ACCT, key, keylen, &sk, AZURE_SK);
	assert_non_null(auth);
	v = fake_httpd_req_header(&S, "Authorization");
	assert_non_null(v);
	assert_string_equal(v, auth);
	free(auth);
	for (i = 0; i < n; i++)
		free(hdr[i]);
}

/* Put Block, Put Block List (with the tier), ranged Get, Delete. */
static void
test_requests(void **state)
{
	struct storage *st = open_fake("account_key = \"" DEV_KEY "\"; "
				       "access_tier = \"Cool\";");
	struct storage_upload *up;
	struct ag_err err = { "" };
	uint8_t *got;
	size_t len;

	(void)state;
	S.status = 201;
	S.body = NULL;
	assert_int_equal(storage_put_begin(st, "job/x/data.vgl", &up, &err),
	    0);
	assert_int_equal(storage_put_part(up, (const uint8_t *)"hello ", 6,
			     &err),
	    0);
	assert_string_equal(S.method, "PUT");
	assert_string_equal(S.path,
	    "/" DEV_ACCT "/vigil/job/x/data.vgl"
	    "?comp=block&blockid=dmlnaWwtYmxvY2stMDAwMDAw");
	assert_string_equal(S.req_body, "hello ");
	check_signature();
	assert_int_equal(storage_put_part(up, (const uint8_t *)"world", 5,
			     &err),
	    0);
	assert_non_null(strstr(S.path, "blockid=dmlnaWwtYmxvY2stMDAwMDAx"));
	assert_int_equal(storage_put_commit(up, &err), 0);
	assert_string_equal(S.path,
	    "/" DEV_ACCT "/vigil/job/x/data.vgl"
	    "?comp=blocklist");
	assert_non_null(strstr(S.req_body,
	    "<Latest>dmlnaWwtYmxvY2stMDAwMDAx"
	    "</Latest></BlockList>"));
	assert_string_equal(fake_httpd_req_header(&S, "x-ms-access-tier"),
	    "Cool");
	check_signature();

	/* A ranged read: the server answers with the bytes asked for. */
	S.status = 206;
	S.body = "world";
	assert_int_equal(storage_get_buf(st, "job/x/data.vgl", 100, &got, &len,
			     &err),
	    0);
	assert_int_equal(len, 5);
	free(got);
	assert_null(fake_httpd_req_header(&S, "x-ms-range"));
	check_signature();

	S.status = 202;
	S.body = NULL;
	assert_int_equal(storage_remove(st, "job/x/data.vgl", &err), 0);
	assert_string_equal(S.method, "DELETE");
	check_signature();
	storage_close(st);
}

/* A sink that keeps nothing. */
static int
null_sink(void *cookie, const uint8_t *buf, size_t len)
{
	(void)cookie;
	(void)buf;
	(void)len;
	return 0;
}

/* A Range GET, and List Blobs with its query. */
static void
test_range_and_list(void **state)
{
	struct storage *st = open_fake("account_key = \"" DEV_KEY "\";");
	struct ag_err err = { "" };
	struct objlist l = { 0 };
	char *b;
	size_t len;

	(void)state;
	S.status = 206;
	S.body = "llo w";
	assert_int_equal(storage_get(st, "k", 2, 5, null_sink, NULL, &err), 0);
	assert_string_equal(fake_httpd_req_header(&S, "x-ms-range"),
	    "bytes=2-6");
	check_signature();

	b = recorded("test_container.test_list_blobs.3.200.xml", &len);
	S.status = 200;
	S.body = b;
	assert_int_equal(storage_list(st, "job/", 0, &l, &err), 0);
	assert_string_equal(S.path,
	    "/" DEV_ACCT "/vigil?restype=container"
	    "&comp=list&maxresults=5000&prefix=job%2F");
	check_signature();
	objlist_free(&l);
	S.body = NULL;
	free(b);
	storage_close(st);
}

/* How answers are judged. */
static void
test_errors(void **state)
{
	struct storage *st = open_fake("account_key = \"" DEV_KEY "\";");
	struct ag_err err = { "" };
	struct objlist l = { 0 };
	char *b;
	size_t len;

	(void)state;
	S.status = 503;
	S.body = "<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>"
		 "ServerBusy</Code><Message>Ingress is over the account limit."
		 "\nRequestId:1\nTime:2026-01-01T00:00:00Z</Message></Error>";
	assert_int_equal(storage_remove(st, "k", &err), AG_RETRY);
	assert_non_null(strstr(err.msg, "503 ServerBusy: Ingress is over"));
	assert_null(strstr(err.msg, "RequestId"));
	S.status = 429;
	assert_int_equal(storage_get(st, "k", 0, UINT64_MAX, null_sink, NULL,
			     &err),
	    AG_RETRY);
	S.status = 500;
	S.body = NULL;
	assert_int_equal(storage_list(st, "", 0, &l, &err), AG_RETRY);

	b = recorded("test_common_blob.test_get_blob_with_non_existing_blob.0."
		     "404.xml",
	    &len);
	S.status = 404;
	S.body = b;
	assert_int_equal(storage_get(st, "k", 0, UINT64_MAX, null_sink, NULL,
			     &err),
	    STORAGE_ABSENT);
	assert_int_equal(storage_remove(st, "k", &err), 0);
	free(b);

	b = recorded("test_block_blob.test_put_block_list_invalid_block_id.3."
		     "400.xml",
	    &len);
	S.status = 400;
	S.body = b;
	assert_int_equal(storage_list(st, "", 0, &l, &err), -1);
	assert_string_equal(err.msg,
	    "azure[az]: list (all): 400 "
	    "InvalidBlockList: The specified block list is invalid.");
	free(b);

	S.status = 404;
	S.body =
	    "\xef\xbb\xbf<?xml version=\"1.0\" encoding=\"utf-8\"?><Error>"
	    "<Code>ContainerNotFound</Code><Message>The specified container "
	    "does not exist.\nRequestId:2\nTime:x</Message></Error>";
	assert_int_equal(storage_list(st, "", 0, &l, &err), -1);
	assert_string_equal(err.msg,
	    "azure[az]: container \"vigil\" does "
	    "not exist in storage account \"" DEV_ACCT "\": create it, or set "
	    "\"container\" to one that exists");

	S.status = 403;
	S.body =
	    "\xef\xbb\xbf<?xml version=\"1.0\" encoding=\"utf-8\"?><Error>"
	    "<Code>AuthenticationFailed</Code><Message>Server failed to "
	    "authenticate the request.\nRequestId:3\nTime:x</Message>"
	    "<AuthenticationErrorDetail>The MAC signature found in the HTTP "
	    "request '" DEV_KEY "' is not the same</AuthenticationErrorDetail>"
	    "</Error>";
	assert_int_equal(storage_put(st, "k", (const uint8_t *)"x", 1, &err),
	    -1);
	assert_non_null(strstr(err.msg,
	    "refused the account key "
	    "(AuthenticationFailed): set account_key to one of the account's "
	    "current keys"));
	assert_null(strstr(err.msg, DEV_KEY));
	S.body = NULL;
	storage_close(st);

	/* With a SAS token: the token is on the URL, the sentence names it. */
	st =
	    open_fake("sas_token = \"?sv=2020-12-06&sp=racwdl&sig=abcdEFGH\";");
	S.status = 403;
	S.body = "<Error><Code>AuthorizationFailure</Code><Message>no"
		 "</Message></Error>";
	assert_int_equal(storage_remove(st, "k", &err), -1);
	assert_string_equal(S.path,
	    "/" DEV_ACCT "/vigil/k?sv=2020-12-06"
	    "&sp=racwdl&sig=abcdEFGH");
	assert_null(fake_httpd_req_header(&S, "Authorization"));
	assert_non_null(strstr(err.msg, "refused the SAS token"));
	assert_null(strstr(err.msg, "abcdEFGH"));
	S.body = NULL;
	storage_close(st);
}

/*
 * Entra ID: the token from the (fake) authority, then the request with
 * "Authorization: Bearer"; a refused token names the role to give.
 */
static void
test_entra(void **state)
{
	struct storage *st;
	struct ag_err err = { "" };
	char extra[512];
	int n;

	(void)state;
	snprintf(extra, sizeof(extra),
	    "tenant_id = \"t1\"; client_id = "
	    "\"c1\"; client_secret = \"entra-secret-1\"; authority_host = "
	    "\"http://127.0.0.1:%d\";",
	    S.port);
	st = open_fake(extra);
	/* One answer for both: the token, and a 2xx for the Delete. */
	S.status = 200;
	S.body = "{\"token_type\":\"Bearer\",\"expires_in\":3599,"
		 "\"access_token\":\"tok-123\"}";
	n = S.nreq;
	assert_int_equal(storage_remove(st, "k", &err), 0);
	assert_int_equal(S.nreq, n + 2);
	assert_string_equal(S.method, "DELETE");
	assert_string_equal(fake_httpd_req_header(&S, "Authorization"),
	    "Bearer tok-123");
	assert_string_equal(fake_httpd_req_header(&S, "x-ms-version"),
	    AZURE_STORAGE_VERSION);
	/* The token is cached. */
	assert_int_equal(storage_remove(st, "k", &err), 0);
	assert_int_equal(S.nreq, n + 3);
	S.status = 403;
	S.body = "<Error><Code>AuthorizationPermissionMismatch</Code><Message>"
		 "This request is not authorized.</Message></Error>";
	assert_int_equal(storage_remove(st, "k", &err), -1);
	assert_non_null(strstr(err.msg,
	    "refused the Entra ID token of the "
	    "configuration (AuthorizationPermissionMismatch): give that "
	    "identity the role Storage Blob Data Contributor"));
	assert_null(strstr(err.msg, "tok-123"));
	S.body = NULL;
	storage_close(st);
}

static int
setup(void **state)
{
	if (tu_tmpdir_setup(state) != 0)
		return -1;
	return fake_httpd_start(&S);
}

static int
teardown(void **state)
{
	fake_httpd_stop(&S);
	return tu_tmpdir_teardown(state);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_xml_errors),
		cmocka_unit_test(test_xml_list),
		cmocka_unit_test(test_block_ids),
		cmocka_unit_test(test_conf),
		cmocka_unit_test(test_requests),
		cmocka_unit_test(test_range_and_list),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_entra),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
