/*
 * gcp_signurl.h: V4 signed URLs (GOOG4-RSA-SHA256) of Google Cloud
 * Storage, made with a service-account key: anyone holding the URL may make
 * the one request it was signed for until it expires.  Pure functions; the
 * conformance vectors of googleapis/conformance-tests (storage/v1,
 * v4_signatures.json) are reproduced by tests/unit/test_gcp_auth.c.
 *
 * The caller decides the URL's shape (path style, virtual-hosted, a
 * bucket-bound host name, an emulator): scheme, authority and resource
 * path.  This module builds the canonical request of the V4 scheme from
 * them (the Host header is the authority without its port), the string to
 * sign, and the URL with the X-Goog-* query parameters and the signature.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef VIGIL_GCP_SIGNURL_H
#define VIGIL_GCP_SIGNURL_H

#include <stddef.h>
#include <stdint.h>

#include "lib/ag.h"

struct crypto_rsa;

/* A header or query parameter: name and value, unencoded. */
struct gcp_kv {
	const char *name;
	const char *value;
};

struct gcp_signurl_req {
	const char *method;	      /* "GET", "PUT", "POST", ... */
	const char *scheme;	      /* "https" (NULL) or "http" */
	const char *authority;	      /* host[:port] of the URL */
	const char *path;	      /* resource path, unencoded: "/b/o" */
	const struct gcp_kv *headers; /* sent with the request, signed */
	size_t nheaders;
	const struct gcp_kv *query; /* extra query parameters, signed */
	size_t nquery;
	int64_t timestamp;	      /* seconds since the epoch */
	int64_t expires;	      /* seconds, 1 to 604800 */
	const char *client_email;     /* the service account */
	const struct crypto_rsa *key; /* its private key */
};

/* What gcp_signurl() makes; free with gcp_signurl_free(). */
struct gcp_signurl {
	char *url;
	char *canonical_request;
	char *string_to_sign;
};

/**
 * gcp_signurl(req, ret, err):
 * Sign ${req} into ${ret}.  The payload is UNSIGNED-PAYLOAD unless the
 * headers carry X-Goog-Content-SHA256, whose value is then signed.
 * Return 0 or -1 with a message.
 */
int gcp_signurl(const struct gcp_signurl_req *req, struct gcp_signurl *ret,
    struct ag_err *err);

/* gcp_signurl_free(s): free the strings of ${s} and zero it. */
void gcp_signurl_free(struct gcp_signurl *s);

#endif
