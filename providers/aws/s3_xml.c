/*
 * s3_xml.c: see s3_xml.h.  The XML is parsed by lib/cloud/cloud_xml.c
 * (libxml2, no network, no entities).
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/clock.h"
#include "lib/cloud/cloud_xml.h"
#include "providers/aws/s3_xml.h"

int
s3_xml_error(const char *body, size_t len, char *code, size_t codesz,
    char *msg, size_t msgsz)
{
	xmlDocPtr d = cloud_xml_parse(body, len);
	xmlNodePtr root;
	int rc = 0;

	code[0] = msg[0] = '\0';
	if (d == NULL)
		return (0);
	root = xmlDocGetRootElement(d);
	if (root != NULL && cloud_xml_is(root, "Error")) {
		cloud_xml_copy(code, codesz, cloud_xml_child(root, "Code"));
		cloud_xml_copy(msg, msgsz, cloud_xml_child(root, "Message"));
		rc = 1;
	}
	xmlFreeDoc(d);
	return (rc);
}

/*
 * add(out, name, strip, size, when, id): one entry, its name with the
 * prefix taken off.  Return 0 or -1.
 */
static int
add(struct objlist *out, const char *name, size_t strip, const char *size,
    const char *when, const char *id)
{
	unsigned long long sz = 0;
	int64_t ms;
	char *end;

	if (name == NULL || strlen(name) < strip || when == NULL ||
	    clock_parse_rfc3339(when, &ms) != 0)
		return (-1);
	if (size != NULL) {
		sz = strtoull(size, &end, 10);
		if (*size == '\0' || *end != '\0')
			return (-1);
	}
	return (objlist_add(out, name + strip, sz, (time_t)(ms / 1000), id));
}

/* truncated(root): whether <IsTruncated> says true. */
static int
truncated(xmlNodePtr root)
{
	char *t = cloud_xml_node_text(cloud_xml_child(root, "IsTruncated"));
	int r = t != NULL && strcmp(t, "true") == 0;

	free(t);
	return (r);
}

/*
 * entries(root, elem, size, when, id, strip, out): each child ${elem} of
 * ${root} with its Key, and the texts of its ${size} (or NULL: 0 bytes),
 * ${when} and ${id} (or NULL) children, to ${out}.  Return 0 or -1.
 */
static int
entries(xmlNodePtr root, const char *elem, const char *size, const char *when,
    const char *id, size_t strip, struct objlist *out)
{
	for (xmlNodePtr c = root->children; c != NULL; c = c->next) {
		char *k, *s = NULL, *t, *u = NULL;
		int r = -1;

		if (!cloud_xml_is(c, elem))
			continue;
		k = cloud_xml_node_text(cloud_xml_child(c, "Key"));
		t = cloud_xml_node_text(cloud_xml_child(c, when));
		if (size != NULL)
			s = cloud_xml_node_text(cloud_xml_child(c, size));
		if (id != NULL)
			u = cloud_xml_node_text(cloud_xml_child(c, id));
		if ((size == NULL || s != NULL) && (id == NULL || u != NULL))
			r = add(out, k, strip, s, t, u);
		free(k);
		free(s);
		free(t);
		free(u);
		if (r != 0)
			return (-1);
	}
	return (0);
}

/*
 * root_of(body, len, name, ret_doc): the root element of ${body} if it is
 * called ${name}, with its document in ${ret_doc} (freed by the caller,
 * NULL is fine), else NULL.
 */
static xmlNodePtr
root_of(const char *body, size_t len, const char *name, xmlDocPtr *ret_doc)
{
	xmlNodePtr root;

	if ((*ret_doc = cloud_xml_parse(body, len)) == NULL)
		return (NULL);
	root = xmlDocGetRootElement(*ret_doc);
	return (root != NULL && cloud_xml_is(root, name) ? root : NULL);
}

int
s3_xml_list(const char *body, size_t len, size_t strip, struct objlist *out,
    char **ret_next)
{
	xmlDocPtr d;
	xmlNodePtr root;
	int rc = -1;

	*ret_next = NULL;
	if ((root = root_of(body, len, "ListBucketResult", &d)) == NULL ||
	    entries(root, "Contents", "Size", "LastModified", NULL, strip,
		out) != 0)
		goto out;
	if (truncated(root) &&
	    (*ret_next = cloud_xml_node_text(cloud_xml_child(root,
		 "NextContinuationToken"))) == NULL)
		goto out;
	rc = 0;
out:
	xmlFreeDoc(d);
	return (rc);
}

/*
 * next_markers(root, id, ret_key, ret_id): of a truncated listing, its
 * NextKeyMarker and the marker ${id} (malloc'd), else NULL.  Return 0, or
 * -1 if truncated without both.
 */
static int
next_markers(xmlNodePtr root, const char *id, char **ret_key, char **ret_id)
{

	if (!truncated(root))
		return (0);
	*ret_key = cloud_xml_node_text(cloud_xml_child(root, "NextKeyMarker"));
	*ret_id = cloud_xml_node_text(cloud_xml_child(root, id));
	if (*ret_key != NULL && *ret_id != NULL)
		return (0);
	free(*ret_key);
	free(*ret_id);
	*ret_key = *ret_id = NULL;
	return (-1);
}

int
s3_xml_list_uploads(const char *body, size_t len, size_t strip,
    struct objlist *out, char **ret_key, char **ret_id)
{
	xmlDocPtr d;
	xmlNodePtr root;
	int rc = -1;

	*ret_key = *ret_id = NULL;
	if ((root = root_of(body, len, "ListMultipartUploadsResult", &d)) ==
		NULL ||
	    entries(root, "Upload", NULL, "Initiated", "UploadId", strip,
		out) != 0)
		goto out;
	rc = next_markers(root, "NextUploadIdMarker", ret_key, ret_id);
out:
	xmlFreeDoc(d);
	return (rc);
}

int
s3_xml_list_versions(const char *body, size_t len, struct objlist *out,
    char **ret_key, char **ret_id)
{
	xmlDocPtr d;
	xmlNodePtr root;
	int rc = -1;

	*ret_key = *ret_id = NULL;
	if ((root = root_of(body, len, "ListVersionsResult", &d)) == NULL ||
	    entries(root, "Version", "Size", "LastModified", "VersionId", 0,
		out) != 0 ||
	    entries(root, "DeleteMarker", NULL, "LastModified", "VersionId", 0,
		out) != 0)
		goto out;
	rc = next_markers(root, "NextVersionIdMarker", ret_key, ret_id);
out:
	xmlFreeDoc(d);
	return (rc);
}

int
s3_xml_delete_result(const char *body, size_t len, size_t *ret_nerr, char *key,
    size_t keysz, char *code, size_t codesz, char *msg, size_t msgsz)
{
	xmlDocPtr d;
	xmlNodePtr root;
	size_t n = 0;

	*ret_nerr = 0;
	key[0] = code[0] = msg[0] = '\0';
	if ((root = root_of(body, len, "DeleteResult", &d)) == NULL) {
		xmlFreeDoc(d);
		return (-1);
	}
	for (xmlNodePtr c = root->children; c != NULL; c = c->next) {
		if (!cloud_xml_is(c, "Error"))
			continue;
		if (n++ == 0) {
			cloud_xml_copy(key, keysz, cloud_xml_child(c, "Key"));
			cloud_xml_copy(code, codesz,
			    cloud_xml_child(c, "Code"));
			cloud_xml_copy(msg, msgsz,
			    cloud_xml_child(c, "Message"));
		}
	}
	*ret_nerr = n;
	xmlFreeDoc(d);
	return (0);
}

/* What to fix, by S3's code; NULL where S3's message says enough. */
static const struct {
	const char *code;
	const char *fix;
} fixes[] = {
	{ "NoSuchBucket",
	    "The bucket does not exist: create it, or fix "
	    "\"bucket\" (and \"endpoint\" or \"region\") in the storage "
	    "settings." },
	{ "InvalidAccessKeyId",
	    "The access key id is unknown to the "
	    "server: fix access_key_id (or AWS_ACCESS_KEY_ID)." },
	{ "SignatureDoesNotMatch",
	    "The secret access key does not belong "
	    "to the access key id: fix secret_access_key (or "
	    "AWS_SECRET_ACCESS_KEY)." },
	{ "RequestTimeTooSkewed",
	    "This host's clock is more than 15 "
	    "minutes off the server's: set the time (NTP) and try again." },
	{ "AuthorizationHeaderMalformed",
	    "The bucket is in another "
	    "region: fix \"region\" in the storage settings." },
	{ "PermanentRedirect",
	    "The bucket is in another region or needs "
	    "another endpoint: fix \"region\" or \"endpoint\"." },
	{ "InvalidBucketName", "Fix \"bucket\": S3 refuses that name." },
	{ "ExpiredToken",
	    "The session token expired: renew the "
	    "credentials (AWS_SESSION_TOKEN)." },
	{ "InvalidToken",
	    "The session token is not valid: fix "
	    "AWS_SESSION_TOKEN or drop it." },
};

/* The permission each operation needs, for AccessDenied. */
static const struct {
	const char *what, *perm;
} perms[] = {
	{ "put", "s3:PutObject" },
	{ "start upload", "s3:PutObject" },
	{ "put part of", "s3:PutObject" },
	{ "finish upload of", "s3:PutObject" },
	{ "read", "s3:GetObject" },
	{ "list", "s3:ListBucket" },
	{ "delete", "s3:DeleteObject" },
	{ "abort upload of", "s3:AbortMultipartUpload" },
};

/* Codes that mean "try again later", whatever the status. */
static const char *const transient[] = { "SlowDown", "InternalError",
	"RequestTimeout", "ServiceUnavailable", "Throttling",
	"ThrottlingException", "RequestLimitExceeded", "OperationAborted",
	NULL };

/* An AccessDenied that is S3 Object Lock's, not a missing permission. */
static const char lock_fix[] =
    "S3 Object Lock protects this object version (its retention is not "
    "over, or a legal hold is on): it can be deleted once that ends.";

/* has_lock(msg): whether ${msg} speaks of an object lock. */
static int
has_lock(const char *msg)
{

	for (const char *p = msg; *p != '\0'; p++)
		if (strncasecmp(p, "object lock", 11) == 0)
			return (1);
	return (0);
}

int
s3_error(const char *inst, const char *what, const char *key, long status,
    const char *body, size_t len, struct ag_err *err)
{
	char code[64], msg[160];

	if (!s3_xml_error(body, len, code, sizeof(code), msg, sizeof(msg))) {
		code[0] = msg[0] = '\0';
		if (status == 404)
			snprintf(code, sizeof(code), "NotFound");
	}
	return (s3_error_code(inst, what, key, status, code, msg, err));
}

int
s3_error_code(const char *inst, const char *what, const char *key, long status,
    const char *code, const char *msg, struct ag_err *err)
{
	const char *fix = NULL, *sep, *perm = NULL;
	char st[24] = "", denied[160];
	size_t n;
	int retry;

	/* A key's error in a DeleteObjects answer has no status of its own. */
	if (status > 0)
		snprintf(st, sizeof(st), "%ld%s", status,
		    code[0] != '\0' ? " " : "");
	retry = status == 408 || status == 429 || status >= 500;
	for (size_t i = 0; transient[i] != NULL; i++)
		if (strcmp(code, transient[i]) == 0)
			retry = 1;
	for (size_t i = 0; i < sizeof(fixes) / sizeof(fixes[0]); i++)
		if (strcmp(code, fixes[i].code) == 0)
			fix = fixes[i].fix;
	if (strcmp(code, "AccessDenied") == 0 && has_lock(msg))
		fix = lock_fix;
	else if (strcmp(code, "AccessDenied") == 0) {
		for (size_t i = 0; i < sizeof(perms) / sizeof(perms[0]); i++)
			if (strcmp(what, perms[i].what) == 0)
				perm = perms[i].perm;
		snprintf(denied, sizeof(denied),
		    "The credentials lack %s on the bucket: allow it "
		    "(docs/STORAGE-PERMISSIONS.md).",
		    perm != NULL ? perm : "a permission this operation needs");
		fix = denied;
	}
	/* The sentence to act on first: a long key and S3's own message may
	   not both fit in the message. */
	n = strlen(msg);
	sep = fix != NULL && n > 0 ? " S3 says: " : n > 0 ? ": " : "";
	(void)ag_err_set(err, "%s: %s%s%s: %s%s%s%s%s%s", inst, what,
	    key != NULL ? " " : "", key != NULL ? key : "", st, code,
	    fix != NULL ? ": " : "", fix != NULL ? fix : "", sep, msg);
	return (retry ? AG_RETRY : -1);
}
