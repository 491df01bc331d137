/*
 * test_s3.c: providers/aws/s3_xml.c on S3's recorded answers in
 * ../shared/conformance/aws-responses/ (the aws-c-s3 mock server's
 * {status, headers, body} files and botocore's XML), read from the files:
 *
 *  - CompleteMultipartUpload's 200 whose body is an <Error>: InternalError
 *    is AG_RETRY, AccessDenied is -1 with S3's code and message;
 *  - CreateMultipartUpload: the UploadId; RequestTimeTooSkewed (403) is -1
 *    with a sentence about the clock; RequestTimeout (400) is AG_RETRY;
 *  - UploadPart's 503 SlowDown is AG_RETRY;
 *  - botocore's ListObjects answer gives the keys, sizes and times of its
 *    JSON twin; its errors (AccessDenied, and BucketAlreadyOwnedByYou
 *    without an XML declaration) give their codes;
 *  - NoSuchBucket, InvalidAccessKeyId and SignatureDoesNotMatch each get
 *    their sentence; a 5xx without a body is AG_RETRY, a 4xx -1;
 *  - a ListObjectsV2 page with a continuation token, and one of
 *    ListMultipartUploads, with the configured prefix taken off.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "lib/ag.h"
#include "lib/clock.h"
#include "lib/cloud/cloud_xml.h"
#include "providers/aws/s3_xml.h"
#include "providers/storage.h"

static char shared[1024];

/* A recorded answer. */
struct rec {
	long status;
	char *body;
};

/* recorded(op, name): a mock-server file; the body's lines joined by "\n". */
static struct rec
recorded(const char *op, const char *name)
{
	char path[2048];
	struct rec r = { 0 };
	json_t *j, *lines;
	size_t i, n = 0;

	snprintf(path, sizeof(path),
	    "%s/conformance/aws-responses/s3/"
	    "aws-c-s3-mock-s3-server/%s/%s",
	    shared, op, name);
	j = json_load_file(path, 0, NULL);
	if (j == NULL)
		fail_msg("cannot read %s", path);
	r.status = (long)json_integer_value(json_object_get(j, "status"));
	lines = json_object_get(j, "body");
	for (i = 0; i < json_array_size(lines); i++)
		n += strlen(json_string_value(json_array_get(lines, i))) + 1;
	assert_non_null(r.body = calloc(1, n + 1));
	for (i = 0; i < json_array_size(lines); i++) {
		strcat(r.body, json_string_value(json_array_get(lines, i)));
		strcat(r.body, "\n");
	}
	json_decref(j);
	return (r);
}

/* file(rel): a file below aws-responses/botocore/response_parsing/xml. */
static char *
file(const char *rel)
{
	char path[2048];
	FILE *f;
	char *p;
	long n;

	snprintf(path, sizeof(path),
	    "%s/conformance/aws-responses/botocore/"
	    "response_parsing/xml/%s",
	    shared, rel);
	if ((f = fopen(path, "rb")) == NULL)
		fail_msg("cannot read %s", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	assert_non_null(p = calloc(1, (size_t)n + 1));
	assert_int_equal(fread(p, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	return (p);
}

/* classify(r, what, err): s3_error() of a recorded answer. */
static int
classify(const struct rec *r, struct ag_err *err)
{

	return (s3_error("s3[t]", "put", "a/b", r->status, r->body,
	    strlen(r->body), err));
}

static void
test_complete_error(void **state)
{
	struct rec r;
	struct ag_err err;
	char code[64], msg[256];

	(void)state;
	r = recorded("CompleteMultipartUpload", "async_internal_error.json");
	assert_int_equal(r.status, 200);
	assert_int_equal(s3_xml_error(r.body, strlen(r.body), code,
			     sizeof(code), msg, sizeof(msg)),
	    1);
	assert_string_equal(code, "InternalError");
	assert_int_equal(classify(&r, &err), AG_RETRY);
	assert_non_null(strstr(err.msg, "200 InternalError"));
	free(r.body);

	r = recorded("CompleteMultipartUpload",
	    "async_access_denied_error.json");
	assert_int_equal(r.status, 200);
	assert_int_equal(classify(&r, &err), -1);
	assert_non_null(strstr(err.msg, "s3[t]: put a/b: 200 AccessDenied: "));
	assert_non_null(strstr(err.msg, "lack s3:PutObject on the bucket"));
	free(r.body);

	/* The success answer is no error. */
	r = recorded("CompleteMultipartUpload", "default.json");
	assert_int_equal(s3_xml_error(r.body, strlen(r.body), code,
			     sizeof(code), msg, sizeof(msg)),
	    0);
	free(r.body);
}

static void
test_create(void **state)
{
	struct rec r;
	struct ag_err err;
	char *id;

	(void)state;
	r = recorded("CreateMultipartUpload", "default.json");
	assert_non_null(id = cloud_xml_text(r.body, strlen(r.body),
			    "UploadId"));
	assert_string_equal(id, "defaultID");
	free(id);
	free(r.body);

	r = recorded("CreateMultipartUpload", "request_time_too_skewed.json");
	assert_int_equal(r.status, 403);
	assert_int_equal(classify(&r, &err), -1);
	assert_non_null(strstr(err.msg,
	    "403 RequestTimeTooSkewed: "
	    "This host's clock is more than 15 minutes off the server's: "
	    "set the time (NTP) and try again."));
	free(r.body);

	r = recorded("CreateMultipartUpload", "request_timeout.json");
	assert_int_equal(r.status, 400);
	assert_int_equal(classify(&r, &err), AG_RETRY);
	free(r.body);

	r = recorded("UploadPart", "throttle.json");
	assert_int_equal(r.status, 503);
	assert_int_equal(classify(&r, &err), AG_RETRY);
	assert_non_null(strstr(err.msg, "503 SlowDown"));
	free(r.body);
}

static void
test_botocore(void **state)
{
	struct objlist l = { 0 };
	struct ag_err err;
	char *x, *next, code[64], msg[256];

	(void)state;
	/* ListObjects (v1) has the same <Contents> as ListObjectsV2. */
	x = file("responses/s3-list-objects.xml");
	assert_int_equal(s3_xml_list(x, strlen(x), 0, &l, &next), 0);
	assert_null(next);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.v[0].name, "key1");
	assert_int_equal(l.v[0].size, 10000);
	/* 2013-01-10T21:45:09.000Z */
	assert_int_equal(l.v[0].mtime, 1357854309);
	assert_string_equal(l.v[1].name, "key2");
	assert_int_equal(l.v[1].size, 1234);
	assert_int_equal(l.v[1].mtime, 1357857909);
	objlist_free(&l);
	free(x);

	x = file("responses/s3-list-multipart-uploads.xml");
	assert_int_equal(s3_xml_list_uploads(x, strlen(x), 0, &l, &next,
			     &next),
	    0);
	assert_int_equal(l.n, 0);
	free(x);

	x = file("errors/s3-list-objects.xml");
	assert_int_equal(s3_error("s3[t]", "list", "p/", 403, x, strlen(x),
			     &err),
	    -1);
	/* The sentence names the permission; S3's message is cut to fit. */
	assert_ptr_equal(
	    strstr(err.msg,
		"s3[t]: list p/: 403 AccessDenied: "
		"The credentials lack s3:ListBucket on the bucket: "
		"allow it (docs/STORAGE-PERMISSIONS.md). S3 says: "),
	    err.msg);
	assert_int_equal(s3_error("s3[t]", "put part of", "k", 403, x,
			     strlen(x), &err),
	    -1);
	assert_non_null(strstr(err.msg, "lack s3:PutObject on the bucket"));
	free(x);

	x = file("errors/s3-create-bucket.xml");
	assert_int_equal(s3_xml_error(x, strlen(x), code, sizeof(code), msg,
			     sizeof(msg)),
	    1);
	assert_string_equal(code, "BucketAlreadyOwnedByYou");
	free(x);
}

static void
test_sentences(void **state)
{
	static const struct {
		const char *code;
		const char *want;
	} c[] = {
		{ "NoSuchBucket", "The bucket does not exist: create it" },
		{ "InvalidAccessKeyId", "fix access_key_id" },
		{ "SignatureDoesNotMatch", "fix secret_access_key" },
	};
	struct ag_err err;
	char body[256];

	(void)state;
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		snprintf(body, sizeof(body),
		    "<Error><Code>%s</Code><Message>"
		    "m</Message></Error>",
		    c[i].code);
		assert_int_equal(s3_error("s3[t]", "put", "k", 403, body,
				     strlen(body), &err),
		    -1);
		assert_non_null(strstr(err.msg, c[i].code));
		assert_non_null(strstr(err.msg, c[i].want));
	}
	assert_int_equal(s3_error("s3[t]", "get", "k", 502, NULL, 0, &err),
	    AG_RETRY);
	assert_string_equal(err.msg, "s3[t]: get k: 502");
	assert_int_equal(s3_error("s3[t]", "get", "k", 429, "", 0, &err),
	    AG_RETRY);
	assert_int_equal(s3_error("s3[t]", "get", "k", 400, "junk", 4, &err),
	    -1);
}

static void
test_pages(void **state)
{
	static const char v2[] =
	    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	    "<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
	    "<Name>b</Name><Prefix>pre/x</Prefix><KeyCount>1</KeyCount>"
	    "<MaxKeys>1</MaxKeys><IsTruncated>true</IsTruncated>"
	    "<Contents><Key>pre/x/a &amp; b</Key>"
	    "<LastModified>2026-11-22T03:00:00Z</LastModified>"
	    "<ETag>\"e\"</ETag><Size>5</Size></Contents>"
	    "<NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM="
	    "</NextContinuationToken></ListBucketResult>";
	static const char up[] =
	    "<ListMultipartUploadsResult xmlns=\"http://s3.amazonaws.com/doc/"
	    "2006-03-01/\"><Bucket>b</Bucket><IsTruncated>true</IsTruncated>"
	    "<NextKeyMarker>pre/k</NextKeyMarker><NextUploadIdMarker>u2"
	    "</NextUploadIdMarker><Upload><Key>pre/k</Key><UploadId>u1"
	    "</UploadId><Initiated>2026-11-22T03:00:00.000Z</Initiated>"
	    "</Upload></ListMultipartUploadsResult>";
	static const char nosize[] = "<ListBucketResult><Contents><Key>k"
				     "</Key></Contents></ListBucketResult>";
	struct objlist l = { 0 };
	char *next, *id;

	(void)state;
	assert_int_equal(s3_xml_list(v2, strlen(v2), 4, &l, &next), 0);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.v[0].name, "x/a & b");
	assert_int_equal(l.v[0].size, 5);
	assert_int_equal(l.v[0].mtime, 1795316400);
	assert_string_equal(next,
	    "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=");
	free(next);
	objlist_free(&l);

	assert_int_equal(s3_xml_list_uploads(up, strlen(up), 4, &l, &next,
			     &id),
	    0);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.v[0].name, "k");
	assert_string_equal(l.v[0].upload_id, "u1");
	assert_string_equal(next, "pre/k");
	assert_string_equal(id, "u2");
	free(next);
	free(id);
	objlist_free(&l);

	/* Not a listing, or broken: an error, nothing added. */
	assert_int_equal(s3_xml_list("<Error/>", 8, 0, &l, &next), -1);
	assert_int_equal(s3_xml_list(nosize, strlen(nosize), 0, &l, &next),
	    -1);
	objlist_free(&l);
}

/* Times as the clouds write them (LastModified, Expiration, updated). */
static void
test_times(void **state)
{
	int64_t ms;

	(void)state;
	assert_int_equal(clock_parse_rfc3339("2026-11-22T03:00:00.000Z", &ms),
	    0);
	assert_int_equal(ms, 1795316400000LL);
	assert_int_equal(clock_parse_rfc3339("2026-11-22T03:00:00+00:00", &ms),
	    0);
	assert_int_equal(ms, 1795316400000LL);
	assert_int_equal(clock_parse_rfc3339("2026-11-22T03:00:00.123456Z",
			     &ms),
	    0);
	assert_int_equal(ms, 1795316400123LL);
	assert_int_equal(clock_parse_rfc3339("2026-02-31T03:00:00Z", &ms), -1);
	assert_int_equal(clock_parse_rfc3339("2026-11-22T03:00:00+01:00", &ms),
	    -1);
	assert_int_equal(clock_parse_rfc3339("2026-11-22T03:00:00", &ms), -1);
	assert_int_equal(clock_parse_rfc3339("yesterday", &ms), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_complete_error),
		cmocka_unit_test(test_times),
		cmocka_unit_test(test_create),
		cmocka_unit_test(test_botocore),
		cmocka_unit_test(test_sentences),
		cmocka_unit_test(test_pages),
	};
	const char *s = getenv("VIGIL_SHARED");

	snprintf(shared, sizeof(shared), "%s", s != NULL ? s : "../../shared");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
