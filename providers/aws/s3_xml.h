/*
 * s3_xml.h: S3's XML answers read with libxml2, and S3's errors turned
 * into one message and an outcome.  Pure functions of the bytes received,
 * so the recorded answers of ../shared/conformance/aws-responses/ test
 * them without a server (tests/unit/test_s3.c).
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef VIGIL_S3_XML_H
#define VIGIL_S3_XML_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "lib/ag.h"
#include "providers/storage.h"

/**
 * s3_xml_error(body, len, code, codesz, msg, msgsz):
 * If ${body} is an S3 <Error> document, copy its Code and Message (either
 * may be empty) and return 1; else return 0.
 */
int s3_xml_error(const char *body, size_t len, char *code, size_t codesz,
    char *msg, size_t msgsz);

/**
 * s3_xml_list(body, len, strip, out, ret_next):
 * Append the <Contents> of a ListObjectsV2 answer to ${out}, each key
 * with the first ${strip} bytes (the configured prefix) taken off; with
 * <IsTruncated>true</IsTruncated> store the NextContinuationToken in
 * ${ret_next} (malloc'd), else NULL.  Return 0, or -1 if the answer does
 * not parse or lacks a key, size or time.
 */
int s3_xml_list(const char *body, size_t len, size_t strip,
    struct objlist *out, char **ret_next);

/**
 * s3_xml_list_uploads(body, len, strip, out, ret_key, ret_id):
 * s3_xml_list() for a ListMultipartUploads answer: each <Upload> (Key,
 * UploadId, Initiated) with size 0; the NextKeyMarker and
 * NextUploadIdMarker when truncated (else NULL).  Return 0 or -1.
 */
int s3_xml_list_uploads(const char *body, size_t len, size_t strip,
    struct objlist *out, char **ret_key, char **ret_id);

/**
 * s3_xml_list_versions(body, len, out, ret_key, ret_id):
 * Append each <Version> and <DeleteMarker> of a ListObjectVersions answer
 * to ${out}: the whole key as name, its VersionId as upload_id, its size
 * (0 for a delete marker) and LastModified.  With <IsTruncated>true, the
 * NextKeyMarker and NextVersionIdMarker go to ${ret_key} and ${ret_id}
 * (malloc'd), else NULL.  Return 0, or -1 if the answer does not parse.
 */
int s3_xml_list_versions(const char *body, size_t len, struct objlist *out,
    char **ret_key, char **ret_id);

/**
 * s3_xml_delete_result(body, len, ret_nerr, key, keysz, code, codesz, msg,
 *     msgsz):
 * Read a DeleteObjects answer (<DeleteResult>): the number of <Error>
 * entries in ${ret_nerr}, and the Key, Code and Message of the first (cut
 * to fit; "" if none).  Return 0, or -1 if the answer is not a
 * DeleteResult.
 */
int s3_xml_delete_result(const char *body, size_t len, size_t *ret_nerr,
    char *key, size_t keysz, char *code, size_t codesz, char *msg,
    size_t msgsz);

/**
 * s3_error_code(inst, what, key, status, code, msg, err):
 * s3_error() for an error whose ${code} and ${msg} were read already (a
 * DeleteObjects answer has one per key): the same message and outcome.
 */
int s3_error_code(const char *inst, const char *what, const char *key,
    long status, const char *code, const char *msg, struct ag_err *err);

/**
 * s3_error(inst, what, key, status, body, len, err):
 * Classify the answer ${status} with ${body} to the operation ${what} on
 * ${key} (may be NULL) of instance ${inst} ("s3[main]") and set ${err}:
 * "s3[main]: PUT a/b: 403 SignatureDoesNotMatch: <S3's message>", then a
 * sentence saying what to fix for a missing bucket, unknown credentials, a
 * clock skew, a wrong region or a refusal.  Return AG_RETRY for 408, 429,
 * 5xx and S3's transient codes (SlowDown, InternalError, RequestTimeout,
 * ...), even under a 200 (CompleteMultipartUpload's late <Error>); else -1.
 */
int s3_error(const char *inst, const char *what, const char *key, long status,
    const char *body, size_t len, struct ag_err *err);

#endif
