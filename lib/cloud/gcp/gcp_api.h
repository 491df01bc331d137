/*
 * gcp_api.h: the error answers of Google's JSON APIs (Cloud Storage, Cloud
 * Monitoring, Pub/Sub): {"error": {"code": 404, "message": "...",
 * "status": "NOT_FOUND", "errors": [{"reason": "notFound", ...}]}}.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef VIGIL_GCP_API_H
#define VIGIL_GCP_API_H

#include <stddef.h>

/* What an error answer says; empty strings for what it does not. */
struct gcp_api_error {
	long code;	   /* error.code, or the HTTP status */
	char message[256]; /* error.message, cut to fit */
	char reason[64];   /* error.errors[0].reason or status */
};

/**
 * gcp_api_error_parse(status, body, len, ret):
 * Fill ${ret} from the answer ${body} (${len} bytes) of HTTP ${status}.
 * A body that is not a Google error object leaves message and reason
 * empty and code ${status}.  Return 0 if it was one, -1 if not.
 */
int gcp_api_error_parse(long status, const char *body, size_t len,
    struct gcp_api_error *ret);

#endif
