/*
 * sigv4.h: AWS Signature Version 4, as pure functions: a request (method,
 * path, query, headers, payload hash), credentials, a region, a service and
 * a time in; the canonical request, the string to sign, the signature and
 * either the Authorization header (with the headers it needs beside it) or
 * a presigned query string out.  No network and nothing storage-specific:
 * S3, SNS and CloudWatch sign through the same two calls.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef VIGIL_CLOUD_AWS_SIGV4_H
#define VIGIL_CLOUD_AWS_SIGV4_H

#include <stddef.h>
#include <time.h>

#include "lib/buf.h"

/* The payload hash of a request whose body is not signed (S3 only). */
#define SIGV4_UNSIGNED_PAYLOAD "UNSIGNED-PAYLOAD"

/* One header as it is sent; the signer signs every header it is given. */
struct sigv4_header {
	const char *name;
	const char *value;
};

struct sigv4_creds {
	const char *access_key_id;
	const char *secret_access_key;
	const char *session_token; /* NULL for long-term keys */
};

struct sigv4_request {
	const char *method; /* "GET", "PUT", ... */
	const char *path;   /* decoded: "/bucket/a b", not "%20" */
	const char *query;  /* as sent (percent-encoded), or NULL */
	const struct sigv4_header *headers; /* Host at least */
	size_t nheaders;
	const char *payload_hash; /* hex SHA-256 of the body, or
					   SIGV4_UNSIGNED_PAYLOAD */
};

struct sigv4_params {
	const char *region;  /* "us-east-1" */
	const char *service; /* "s3", "sns", "monitoring" */
	time_t when;	     /* the signing time */
	int normalize_path;  /* remove "." and ".." segments and
					   empty ones: every service but S3 */
	int omit_token;	     /* add the session token after
					   signing, unsigned */
	int content_sha256;  /* header mode: sign and send
					   x-amz-content-sha256 (S3) */
	unsigned expires;    /* presigned: seconds it stays valid */
};

#define SIGV4_MAX_EXTRA 5

struct sigv4_out {
	char *canonical_request;
	char *string_to_sign;
	char signature[65];  /* lower-case hex */
	char amz_date[17];   /* 20150830T123600Z */
	char *authorization; /* header mode: the header's value */
	char *query;	     /* presigned: the query to send */
	/* Header mode: "Name: value" lines to send (X-Amz-Date, the token,
	   x-amz-content-sha256, Authorization), NULL-terminated. */
	char *extra[SIGV4_MAX_EXTRA];
};

/**
 * sigv4_sign_headers(req, cr, p, out):
 * Sign ${req} for the Authorization header.  The signer adds X-Amz-Date
 * (from ${p}->when), X-Amz-Security-Token (signed unless omit_token) and,
 * with content_sha256, x-amz-content-sha256 to the signed headers; the
 * request must send them and the Authorization header, which are all in
 * ${out}->extra.  Return 0, or -1 on allocation failure or a request too
 * big to sign.  Free ${out} with sigv4_out_free() either way.
 */
int sigv4_sign_headers(const struct sigv4_request *req,
    const struct sigv4_creds *cr, const struct sigv4_params *p,
    struct sigv4_out *out);

/**
 * sigv4_presign(req, cr, p, out):
 * Sign ${req} as a presigned URL valid ${p}->expires seconds: ${out}->query
 * is the request's own parameters plus the X-Amz-* ones and the signature,
 * to send after the '?' of the encoded path.  The signed headers are those
 * of ${req} (Host at least).  Return 0 or -1, as sigv4_sign_headers().
 */
int sigv4_presign(const struct sigv4_request *req,
    const struct sigv4_creds *cr, const struct sigv4_params *p,
    struct sigv4_out *out);

/* sigv4_out_free(out): free what a signing call put in ${out}. */
void sigv4_out_free(struct sigv4_out *out);

/**
 * sigv4_uri_encode(b, s, len, keep_slash):
 * Append ${len} bytes of ${s} to ${b} percent-encoded as SigV4 wants (every
 * byte but A-Z a-z 0-9 - . _ ~, and '/' if ${keep_slash}, as %XX in upper
 * case).  The same encoding makes the URL sent and the canonical request,
 * so they agree.  Return 0 or -1 (the buffer's error).
 */
int sigv4_uri_encode(struct buf *b, const char *s, size_t len, int keep_slash);

/**
 * sigv4_payload_hash(data, len, out):
 * The lower-case hex SHA-256 of ${len} bytes at ${data} into ${out}.
 * Return 0 or -1.
 */
int sigv4_payload_hash(const void *data, size_t len, char out[65]);

#endif
