/*
 * aws_query.h: the AWS query protocol (CloudWatch, RDS, SNS-style APIs): a
 * form body ("Action=...&Version=...&Key=value"), POSTed to "/" and signed
 * with SigV4 (sigv4.h) with credentials from the chain (aws_creds.h); the
 * answer is XML, a failure an <ErrorResponse><Error><Code> ... (EC2's
 * <Response><Errors><Error>).  One call, no retry: the caller keeps its
 * own retry policy (lib/backoff.h) and reads the answer with
 * lib/cloud/cloud_xml.h.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef VIGIL_CLOUD_AWS_QUERY_H
#define VIGIL_CLOUD_AWS_QUERY_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/ag.h"
#include "lib/buf.h"

struct aws_creds;
struct http_client;
struct http_resp;

/* What every call of one client shares. */
struct aws_query {
	const char *name;     /* for messages: "cloudwatch", "backup db" */
	const char *service;  /* SigV4 service: "monitoring", "rds" */
	const char *region;   /* "eu-west-1" */
	const char *endpoint; /* "https://rds.eu-west-1.amazonaws.com" */
	const char *host;     /* its host[:port], the Host header */
	struct aws_creds *creds;
	struct http_client *http;
	long timeout_ms;     /* 0: 30 s */
	size_t max_response; /* 0: 16 MiB */
};

/**
 * aws_query_call(q, what, body, len, resp, throttled, err):
 * Sign and POST the form ${body} (${len} bytes) for the action ${what}
 * ("CreateDBSnapshot", for messages).  On a 2xx answer return 0 with
 * ${resp} to read (http_resp_free() it).  Otherwise free ${resp} and
 * return AG_RETRY (throttling, with *${throttled} set; 5xx; transport
 * errors; an expired session token that the chain can renew) or -1
 * (every other refusal), with ${err} naming the call, the error code and
 * the server's message, cut and redacted: "backup db: CreateDBSnapshot:
 * HTTP 404 DBInstanceNotFound: DBInstance nope not found.".
 */
int aws_query_call(const struct aws_query *q, const char *what,
    const char *body, size_t len, struct http_resp *resp, bool *throttled,
    struct ag_err *err);

/**
 * aws_query_form_add(b, key, value):
 * Append "&key=value" ("key=value" to an empty buffer) with the value
 * percent-encoded for a query-protocol form body.
 */
void aws_query_form_add(struct buf *b, const char *key, const char *value);

/**
 * aws_query_error(body, len, code, codelen, msg, msglen):
 * The Code and Message of a query-protocol error (<ErrorResponse>, or
 * EC2's <Response><Errors>).  Return 1 if there was a Code, else 0.
 */
int aws_query_error(const char *body, size_t len, char *code, size_t codelen,
    char *msg, size_t msglen);

/* aws_query_throttled(status, code): is this answer a request to slow down? */
int aws_query_throttled(long status, const char *code);

#endif
