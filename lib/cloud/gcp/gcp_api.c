/*
 * gcp_api.c: Google JSON API error answers (gcp_api.h).
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <string.h>

#include <jansson.h>

#include "lib/cloud/gcp/gcp_api.h"
#include "lib/jfield.h"

int
gcp_api_error_parse(long status, const char *body, size_t len,
    struct gcp_api_error *ret)
{
	json_t *root = NULL, *e = NULL, *first;
	int64_t code;
	int rc = -1;

	memset(ret, 0, sizeof(*ret));
	ret->code = status;
	if (body == NULL || len == 0 ||
	    (root = json_loadb(body, len, 0, NULL)) == NULL)
		return -1;
	if (jfield_obj(root, "error", JF_REQUIRED, &e, NULL) == -1)
		goto out;
	if (jfield_i64(e, "code", 0, &code, NULL) == 0 && code > 0)
		ret->code = (long)code;
	jfield_str(e, "message", JF_TRUNCATE, ret->message,
	    sizeof(ret->message), NULL);
	first = json_array_get(json_object_get(e, "errors"), 0);
	if (json_is_object(first))
		jfield_str(first, "reason", JF_TRUNCATE, ret->reason,
		    sizeof(ret->reason), NULL);
	if (ret->reason[0] == '\0')
		jfield_str(e, "status", JF_TRUNCATE, ret->reason,
		    sizeof(ret->reason), NULL);
	rc = 0;
out:
	json_decref(root);
	return rc;
}
