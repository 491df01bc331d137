/*
 * rds_xml.c: RDS's answers (query protocol, XML through
 * lib/cloud/cloud_xml.h) and the names and tags of a job's snapshots
 * (see rds_internal.h).
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/ag.h"
#include "lib/backup_id.h"
#include "lib/clock.h"
#include "lib/cloud/cloud_xml.h"

#include "backup/rds_internal.h"

/* Copy the text of child ${name} of ${n}; -1 if it does not fit. */
static int
copy_child(xmlNodePtr n, const char *name, char *dst, size_t size)
{
	char *t = cloud_xml_node_text(cloud_xml_child(n, name));
	int rc = 0;

	dst[0] = '\0';
	if (t == NULL)
		return 0;
	if (strlen(t) >= size)
		rc = -1;
	else
		memcpy(dst, t, strlen(t) + 1);
	free(t);
	return rc;
}

static void
read_tags(xmlNodePtr snap, struct rds_snap *s)
{
	xmlNodePtr list = cloud_xml_child(snap, "TagList");

	if (list == NULL)
		return;
	for (xmlNodePtr t = list->children; t != NULL; t = t->next) {
		char key[128], *v;

		if (!cloud_xml_is(t, "Tag"))
			continue;
		cloud_xml_copy(key, sizeof(key), cloud_xml_child(t, "Key"));
		if ((v = cloud_xml_node_text(cloud_xml_child(t, "Value"))) ==
		    NULL)
			continue;
		/* A value too long for its field is not vigil's: "". */
		if (strcmp(key, RDS_TAG_JOB) == 0 &&
		    strlen(v) < sizeof(s->job))
			memcpy(s->job, v, strlen(v) + 1);
		else if (strcmp(key, RDS_TAG_HOST) == 0 &&
		    strlen(v) < sizeof(s->host))
			memcpy(s->host, v, strlen(v) + 1);
		else if (strcmp(key, RDS_TAG_ID) == 0 &&
		    strlen(v) < sizeof(s->backup_id))
			memcpy(s->backup_id, v, strlen(v) + 1);
		free(v);
	}
}

static int
read_snap(xmlNodePtr n, bool cluster, struct rds_snap *s, struct ag_err *err)
{
	char when[64];

	memset(s, 0, sizeof(*s));
	s->created_ms = -1;
	if (copy_child(n,
		cluster ? "DBClusterSnapshotIdentifier" :
			  "DBSnapshotIdentifier",
		s->id, sizeof(s->id)) != 0 ||
	    copy_child(n,
		cluster ? "DBClusterIdentifier" : "DBInstanceIdentifier",
		s->source, sizeof(s->source)) != 0)
		return ag_err_set(err,
		    "a snapshot or DB identifier is too "
		    "long");
	if (s->id[0] == '\0')
		return ag_err_set(err, "a snapshot without an identifier");
	(void)copy_child(n, "Status", s->status, sizeof(s->status));
	(void)copy_child(n, "SnapshotType", s->type, sizeof(s->type));
	if (copy_child(n, "SnapshotCreateTime", when, sizeof(when)) == 0 &&
	    when[0] != '\0' && clock_parse_rfc3339(when, &s->created_ms) != 0)
		s->created_ms = -1;
	read_tags(n, s);
	return 0;
}

struct walk {
	const char *want;
	bool cluster;
	rds_snap_fn *fn;
	void *cookie;
	struct ag_err *err;
	int n;
	bool failed;
};

/* Every element ${w}->want below ${n}, in document order. */
static void
walk(xmlNodePtr n, struct walk *w)
{
	for (xmlNodePtr c = n->children; c != NULL && !w->failed;
	     c = c->next) {
		struct rds_snap s;

		if (c->type != XML_ELEMENT_NODE)
			continue;
		if (!cloud_xml_is(c, w->want)) {
			walk(c, w);
			continue;
		}
		if (read_snap(c, w->cluster, &s, w->err) != 0 ||
		    (w->fn != NULL && w->fn(w->cookie, &s) != 0)) {
			w->failed = true;
			return;
		}
		w->n++;
	}
}

int
rds_parse_snapshots(const char *body, size_t len, const char *action,
    bool cluster, rds_snap_fn *fn, void *cookie, char *marker,
    size_t markerlen, struct ag_err *err)
{
	struct walk w = { .want = cluster ? "DBClusterSnapshot" : "DBSnapshot",
		.cluster = cluster,
		.fn = fn,
		.cookie = cookie,
		.err = err };
	char root[128];
	xmlDocPtr doc;
	xmlNodePtr r, res;
	int rc = -1;

	if (marker != NULL && markerlen > 0)
		marker[0] = '\0';
	if (body == NULL || (doc = cloud_xml_parse(body, len)) == NULL)
		return ag_err_set(err, "%s: the answer is not XML", action);
	snprintf(root, sizeof(root), "%sResponse", action);
	r = xmlDocGetRootElement(doc);
	if (r == NULL || !cloud_xml_is(r, root)) {
		(void)ag_err_set(err, "%s: the answer is not <%s>", action,
		    root);
		goto out;
	}
	snprintf(root, sizeof(root), "%sResult", action);
	if ((res = cloud_xml_child(r, root)) == NULL) {
		(void)ag_err_set(err, "%s: the answer has no <%s>", action,
		    root);
		goto out;
	}
	walk(res, &w);
	if (w.failed) {
		if (err->msg[0] == '\0')
			(void)ag_err_set(err, "%s: stopped", action);
		goto out;
	}
	if (marker != NULL &&
	    copy_child(res, "Marker", marker, markerlen) != 0) {
		(void)ag_err_set(err, "%s: the Marker is too long", action);
		goto out;
	}
	rc = w.n;
out:
	xmlFreeDoc(doc);
	return rc;
}

int
rds_snapshot_name(const char *job, const char *db, const char *backup_id,
    char *out, size_t size)
{
	const char *parts[] = { "vigil", job, db, backup_id };
	size_t n = 0;

	if (size == 0)
		return -1;
	for (size_t p = 0; p < 4; p++) {
		if (p > 0 && n > 0 && out[n - 1] != '-') {
			if (n + 1 >= size)
				return -1;
			out[n++] = '-';
		}
		for (const char *s = parts[p]; *s != '\0'; s++) {
			char c = (char)tolower((unsigned char)*s);

			if (!((c >= 'a' && c <= 'z') ||
				(c >= '0' && c <= '9')))
				c = '-';
			if (c == '-' && (n == 0 || out[n - 1] == '-'))
				continue;
			if (n + 1 >= size)
				return -1;
			out[n++] = c;
		}
	}
	while (n > 0 && out[n - 1] == '-')
		n--;
	out[n] = '\0';
	return n > RDS_SNAP_ID_MAX ? -1 : 0;
}

bool
rds_db_id_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > RDS_DB_ID_MAX || !isalpha((unsigned char)s[0]) ||
	    s[n - 1] == '-' || strstr(s, "--") != NULL)
		return false;
	return strspn(s,
		   "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		   "0123456789-") == n;
}

bool
rds_snap_ours(const struct rds_snap *s, const char *job, const char *host,
    int64_t *ret_time_s)
{
	if (s->job[0] == '\0' || strcmp(s->job, job) != 0 ||
	    strcmp(s->host, host) != 0)
		return false;
	return backup_id_parse(s->backup_id, ret_time_s) == 0;
}

bool
rds_status_failed(const char *status)
{
	return strcmp(status, "failed") == 0 || strcmp(status, "error") == 0 ||
	    strncmp(status, "incompatible", 12) == 0;
}
