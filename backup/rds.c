/*
 * rds.c: RDS snapshots of a backup job (see rds.h); the answers are read
 * in rds_xml.c.
 *
 * Each DB is a target of its own: a snapshot that cannot be made, fails
 * or is still not available at the end of `wait` fails the run, but the
 * other DBs are still snapshotted, and retention prunes the snapshots of
 * each DB whose snapshot of this run is available (as file backups prune
 * only after a complete backup).  Retention lists a DB's manual snapshots
 * (Describe..., SnapshotType=manual, by pages) and considers only those
 * with this job's and this host's tags and a backup id: a snapshot made by
 * hand, by another job or on another host is never deleted.  Snapshots
 * not yet available are never deleted either.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/ag.h"
#include "lib/backoff.h"
#include "lib/backup_id.h"
#include "lib/buf.h"
#include "lib/clock.h"
#include "lib/cloud/aws/aws_creds.h"
#include "lib/cloud/aws/aws_query.h"
#include "lib/http/http.h"
#include "lib/log.h"
#include "lib/parsenum.h"
#include "backup/job.h"
#include "backup/jobconf.h"
#include "backup/rds_internal.h"
#include "backup/retention.h"

#include "backup/rds.h"

#define RDS_VERSION "2014-10-31"
#define RDS_BODY_MAX (64 * 1024)
#define RDS_MARKER_MAX 4096
#define RDS_PAGES_MAX 1000
#define RDS_WARN(res, ...) rds_warning(res, __VA_ARGS__)

static const char *const rds_keys[] = { "instances", "clusters", "region",
	"endpoint", "wait", CONF_AWS_KEYS, NULL };

/* Calls: throttling and 5xx are retried with these pauses. */
static const struct backoff call_retry = { .base_ms = 1000,
	.cap_ms = 20000,
	.retries = 6 };
/* Polls of a snapshot being made. */
static const struct backoff poll_wait = { .base_ms = 2000, .cap_ms = 60000 };

/* --- Configuration ---------------------------------------------------- */

static void
read_ids(const conf_node *g, const char *key, char ***ret, size_t *ret_n,
    struct conf_errs *e)
{
	if (conf_get_strv(e, g, key, false, ret, ret_n) != 1)
		return;
	for (size_t i = 0; i < *ret_n; i++) {
		if (!rds_db_id_valid((*ret)[i]))
			conf_error_at(e, g, key,
			    "\"%s\" is not a DB identifier (1 to 63 letters, "
			    "digits and hyphens, a letter first)",
			    (*ret)[i]);
		for (size_t j = 0; j < i; j++)
			if (strcmp((*ret)[i], (*ret)[j]) == 0)
				conf_error_at(e, g, key,
				    "\"%s\" is named twice", (*ret)[i]);
	}
}

int
rds_conf_parse(const conf_node *g, struct rds_conf **ret, struct conf_errs *e)
{
	struct rds_conf *rc;
	size_t nerr = e->total;
	const char *s = NULL, *h;
	int n;

	if (!conf_is_group(g))
		return conf_error(e, g,
		    "must be a group: { instances = [ \"db-1\" ]; region = "
		    "\"eu-west-1\"; }");
	if ((rc = calloc(1, sizeof(*rc))) == NULL)
		return conf_error(e, g, "out of memory");
	rc->wait_ms = RDS_WAIT_DEFAULT_MS;
	conf_check_keys(e, g, rds_keys);
	(void)conf_aws_read(e, g, &rc->creds);
	read_ids(g, "instances", &rc->instances, &rc->ninstances, e);
	read_ids(g, "clusters", &rc->clusters, &rc->nclusters, e);
	if (rc->ninstances + rc->nclusters == 0)
		conf_error(e, g,
		    "name the DBs to snapshot: instances = [ ... ] and/or "
		    "clusters = [ ... ] (Aurora)");
	/* The group's region, else its credentials'. */
	s = rc->creds.region;
	if (conf_get_str(e, g, "region", s == NULL, &s) == 1 &&
	    strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789-") != strlen(s))
		conf_error_at(e, g, "region", "\"%s\" is not a region", s);
	rc->region = strdup(s != NULL ? s : "");
	s = NULL;
	(void)conf_get_str(e, g, "endpoint", false, &s);
	if (s != NULL)
		n = asprintf(&rc->endpoint, "%s", s);
	else
		n = asprintf(&rc->endpoint, "https://rds.%s.amazonaws.com",
		    rc->region);
	if (n < 0) {
		rc->endpoint = NULL;
		conf_error(e, g, "out of memory");
	} else {
		while (n > 0 && rc->endpoint[n - 1] == '/')
			rc->endpoint[--n] = '\0';
		if ((h = http_endpoint_host(rc->endpoint)) == NULL)
			conf_error_at(e, g, "endpoint",
			    "must be http://host[:port] or "
			    "https://host[:port]");
		else
			rc->host = strdup(h);
	}
	(void)conf_get_dur(e, g, "wait", false, 1000, &rc->wait_ms);
	if (e->total > nerr) {
		rds_conf_free(rc);
		return -1;
	}
	*ret = rc;
	return 0;
}

void
rds_conf_free(struct rds_conf *rc)
{
	if (rc == NULL)
		return;
	ag_strv_free(rc->instances);
	ag_strv_free(rc->clusters);
	free(rc->region);
	free(rc->endpoint);
	free(rc->host);
	conf_aws_free(&rc->creds);
	free(rc);
}

/* --- A run ------------------------------------------------------------ */

/* One DB of the run. */
struct db {
	const char *id;
	bool cluster;
	char snap[RDS_SNAP_ID_MAX + 1];
	bool made; /* CreateDB...Snapshot accepted */
	bool done; /* available, or failed for good */
	bool ok;   /* available */
	char error[AG_ERR_SIZE + 2 * RDS_SNAP_ID_MAX];
};

struct rrun {
	const struct job_conf *jc;
	const struct rds_conf *rc;
	const char *host, *backup_id;
	struct job_stop *stop;
	struct job_result *res;
	struct aws_query q;
	int64_t until; /* monotonic end of the wait; 0: not waiting */
};

static void rds_warning(struct job_result *, const char *, const char *, ...)
    __attribute__((format(printf, 3, 4)));

/* A warning: counted, kept in the result, logged. */
static void
rds_warning(struct job_result *res, const char *job, const char *fmt, ...)
{
	char msg[AG_ERR_SIZE];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	res->warnings++;
	if (res->nfirst_warnings < JOB_RESULT_WARNINGS)
		snprintf(res->first_warnings[res->nfirst_warnings++],
		    AG_ERR_SIZE, "%s", msg);
	if (res->warnings <= JOB_LOG_WARNINGS)
		log_warn("backup %s: %s", job, msg);
}

/* Is the wait over (while waiting), or must the job stop? */
static bool
must_stop(struct rrun *r)
{
	return job_stop_check(r->stop) ||
	    (r->until != 0 && clock_mono_ms() >= r->until);
}

/*
 * Sleep ${ms}, a second at a time, while the job may go on.  Return false
 * if it must stop.
 */
static bool
pause_ms(struct rrun *r, int64_t ms)
{
	while (ms > 0) {
		int64_t step = ms < 1000 ? ms : 1000;

		if (must_stop(r))
			return false;
		clock_sleep_ms((unsigned)step);
		ms -= step;
	}
	return !must_stop(r);
}

/*
 * One call of ${action} with the form ${body} (freed here), retried while
 * throttled or transient.  On success the answer is in ${resp}.  0 or -1.
 */
static int
call(struct rrun *r, const char *action, struct buf *body,
    struct http_resp *resp, struct ag_err *err)
{
	unsigned attempt = 0;
	int rc = -1;

	if (body->err != 0) {
		(void)ag_err_set(err, "%s: request too large", action);
		goto out;
	}
	for (;;) {
		bool throttled = false;

		rc = aws_query_call(&r->q, action, body->p, body->len, resp,
		    &throttled, err);
		if (rc != AG_RETRY)
			break;
		rc = -1;
		if (attempt >= call_retry.retries ||
		    !pause_ms(r, backoff_delay_ms(&call_retry, ++attempt)))
			break;
		log_info("backup %s: %s (retry %u)", r->jc->name, err->msg,
		    attempt);
	}
out:
	buf_free(body);
	return rc;
}

static void
form_start(struct buf *b, const char *action)
{
	buf_init(b, RDS_BODY_MAX);
	aws_query_form_add(b, "Action", action);
	aws_query_form_add(b, "Version", RDS_VERSION);
}

/* The first snapshot of an answer. */
static int
first_snap(void *cookie, const struct rds_snap *s)
{
	struct rds_snap *dst = cookie;

	if (dst->id[0] == '\0')
		*dst = *s;
	return 0;
}

static int
create(struct rrun *r, struct db *d, struct ag_err *err)
{
	const char *action = d->cluster ? "CreateDBClusterSnapshot" :
					  "CreateDBSnapshot";
	const char *tk[] = { RDS_TAG_JOB, RDS_TAG_HOST, RDS_TAG_ID };
	const char *tv[] = { r->jc->name, r->host, r->backup_id };
	struct rds_snap s = { .id = "" };
	struct http_resp resp;
	struct buf b;
	char k[64];
	int rc;

	form_start(&b, action);
	aws_query_form_add(&b,
	    d->cluster ? "DBClusterSnapshotIdentifier" :
			 "DBSnapshotIdentifier",
	    d->snap);
	aws_query_form_add(&b,
	    d->cluster ? "DBClusterIdentifier" : "DBInstanceIdentifier",
	    d->id);
	for (size_t i = 0; i < 3; i++) {
		snprintf(k, sizeof(k), "Tags.Tag.%zu.Key", i + 1);
		aws_query_form_add(&b, k, tk[i]);
		snprintf(k, sizeof(k), "Tags.Tag.%zu.Value", i + 1);
		aws_query_form_add(&b, k, tv[i]);
	}
	rc = call(r, action, &b, &resp, err);
	if (rc != 0)
		return -1;
	rc = rds_parse_snapshots(resp.body, resp.body_len, action, d->cluster,
	    first_snap, &s, NULL, 0, err);
	http_resp_free(&resp);
	if (rc < 0)
		return -1;
	if (rc == 0 || strcmp(s.id, d->snap) != 0)
		return ag_err_set(err, "%s: the answer does not name %s",
		    action, d->snap);
	d->made = true;
	log_info("backup %s: %s snapshot %s of %s started (%s)", r->jc->name,
	    d->cluster ? "cluster" : "DB", d->snap, d->id,
	    s.status[0] ? s.status : "?");
	return 0;
}

/*
 * The snapshots of ${d}: with ${snap}, that one; else every manual one of
 * the DB, page by page.  ${fn} for each.  0 or -1.
 */
static int
describe(struct rrun *r, const struct db *d, const char *snap, rds_snap_fn *fn,
    void *cookie, struct ag_err *err)
{
	const char *action = d->cluster ? "DescribeDBClusterSnapshots" :
					  "DescribeDBSnapshots";
	char marker[RDS_MARKER_MAX] = "";
	struct http_resp resp;
	struct buf b;
	int rc, pages = 0;

	do {
		form_start(&b, action);
		if (snap != NULL)
			aws_query_form_add(&b,
			    d->cluster ? "DBClusterSnapshotIdentifier" :
					 "DBSnapshotIdentifier",
			    snap);
		aws_query_form_add(&b,
		    d->cluster ? "DBClusterIdentifier" :
				 "DBInstanceIdentifier",
		    d->id);
		aws_query_form_add(&b, "SnapshotType", "manual");
		if (marker[0] != '\0')
			aws_query_form_add(&b, "Marker", marker);
		rc = call(r, action, &b, &resp, err);
		if (rc != 0)
			return -1;
		rc = rds_parse_snapshots(resp.body, resp.body_len, action,
		    d->cluster, fn, cookie, marker, sizeof(marker), err);
		http_resp_free(&resp);
		if (rc < 0)
			return -1;
	} while (marker[0] != '\0' && ++pages < RDS_PAGES_MAX);
	return 0;
}

/* Where a snapshot being made is now. */
static int
poll_one(struct rrun *r, struct db *d)
{
	struct rds_snap s = { .id = "" };
	struct ag_err e = { "" };

	if (describe(r, d, d->snap, first_snap, &s, &e) != 0) {
		/* Logged; the next poll asks again, until the wait ends. */
		log_info("backup %s: %s", r->jc->name, e.msg);
		return 0;
	}
	if (strcmp(s.id, d->snap) != 0) {
		snprintf(d->error, sizeof(d->error),
		    "snapshot %s of %s vanished while it was being made",
		    d->snap, d->id);
		d->done = true;
	} else if (strcmp(s.status, "available") == 0) {
		d->done = d->ok = true;
		log_info("backup %s: snapshot %s of %s is available",
		    r->jc->name, d->snap, d->id);
	} else if (rds_status_failed(s.status)) {
		snprintf(d->error, sizeof(d->error),
		    "snapshot %s of %s failed (status %s)", d->snap, d->id,
		    s.status);
		d->done = true;
	}
	return 0;
}

/* Wait for every snapshot made, at most the rds group's wait. */
static void
wait_all(struct rrun *r, struct db *v, size_t n)
{
	int64_t end = clock_mono_ms() + r->rc->wait_ms;
	unsigned attempt = 0;
	char d[32];

	/* Retries of a poll end with the wait too. */
	r->until = end;

	for (;;) {
		size_t pending = 0;

		for (size_t i = 0; i < n; i++)
			if (v[i].made && !v[i].done) {
				(void)poll_one(r, &v[i]);
				pending += !v[i].done;
			}
		if (pending == 0) {
			r->until = 0;
			return;
		}
		{
			int64_t left = end - clock_mono_ms();
			int64_t p = backoff_delay_ms(&poll_wait, ++attempt);

			if (left <= 0 || !pause_ms(r, p < left ? p : left))
				break;
		}
	}
	r->until = 0;
	for (size_t i = 0; i < n; i++)
		if (v[i].made && !v[i].done) {
			snprintf(v[i].error, sizeof(v[i].error),
			    "snapshot %s of %s is not available after %s%s",
			    v[i].snap, v[i].id,
			    format_duration_ms(r->stop->timed_out ?
				    r->jc->timeout_ms :
				    r->rc->wait_ms,
				d, sizeof(d)),
			    r->stop->cancelled ? " (cancelled)" :
				r->stop->timed_out ?
						 " (the job's timeout)" :
						 " (the rds group's wait)");
		}
}

/* The snapshots of one DB that are this job's, for retention. */
struct owned {
	struct rrun *r;
	struct rds_snap *v;
	size_t n, cap;
	bool oom;
};

static int
collect(void *cookie, const struct rds_snap *s)
{
	struct owned *o = cookie;
	int64_t t;

	if (!rds_snap_ours(s, o->r->jc->name, o->r->host, &t))
		return 0;
	if (o->n == o->cap) {
		size_t nc = o->cap ? o->cap * 2 : 16;
		struct rds_snap *nv = realloc(o->v, nc * sizeof(*nv));

		if (nv == NULL) {
			o->oom = true;
			return -1;
		}
		o->v = nv;
		o->cap = nc;
	}
	o->v[o->n++] = *s;
	return 0;
}

static int
delete_one(struct rrun *r, const struct db *d, const char *snap,
    struct ag_err *err)
{
	const char *action = d->cluster ? "DeleteDBClusterSnapshot" :
					  "DeleteDBSnapshot";
	struct http_resp resp;
	struct buf b;
	int rc;

	form_start(&b, action);
	aws_query_form_add(&b,
	    d->cluster ? "DBClusterSnapshotIdentifier" :
			 "DBSnapshotIdentifier",
	    snap);
	rc = call(r, action, &b, &resp, err);
	if (rc != 0)
		return -1;
	http_resp_free(&resp);
	return 0;
}

/* Apply the job's retention to the snapshots of ${d} that are its own. */
static void
prune(struct rrun *r, const struct db *d)
{
	struct owned o = { .r = r };
	struct retention_policy pol;
	struct retention_result *rr = NULL;
	struct backup_ref *refs = NULL;
	struct ag_err e = { "" };
	size_t deleted = 0, kept = 0;

	job_retention_policy(r->jc, &pol);
	if (pol.keep_last == 0 && pol.keep_daily == 0 &&
	    pol.keep_weekly == 0 && pol.keep_monthly == 0)
		return;
	if (describe(r, d, NULL, collect, &o, &e) != 0) {
		if (o.oom)
			(void)ag_err_set(&e, "out of memory");
		RDS_WARN(r->res, r->jc->name, "retention of %s: %s", d->id,
		    e.msg);
		goto out;
	}
	if (o.n == 0)
		goto out;
	if ((refs = calloc(o.n, sizeof(*refs))) == NULL ||
	    (rr = calloc(o.n, sizeof(*rr))) == NULL) {
		RDS_WARN(r->res, r->jc->name, "retention of %s: out of memory",
		    d->id);
		goto out;
	}
	for (size_t i = 0; i < o.n; i++) {
		refs[i].id = o.v[i].backup_id;
		(void)backup_id_parse(o.v[i].backup_id, &refs[i].time_s);
		/* Only a finished snapshot counts; the rest is left alone. */
		refs[i].complete = strcmp(o.v[i].status, "available") == 0;
	}
	if (retention_apply(&pol, refs, o.n, rr, &e) != 0) {
		RDS_WARN(r->res, r->jc->name, "retention of %s: %s", d->id,
		    e.msg);
		goto out;
	}
	for (size_t i = 0; i < o.n; i++) {
		if (rr[i].verdict != RETENTION_DELETE) {
			kept += rr[i].verdict == RETENTION_KEEP;
			continue;
		}
		/* Never the snapshot this run made. */
		if (strcmp(o.v[i].id, d->snap) == 0)
			continue;
		if (delete_one(r, d, o.v[i].id, &e) != 0) {
			RDS_WARN(r->res, r->jc->name,
			    "retention: deleting snapshot %s: %s", o.v[i].id,
			    e.msg);
			continue;
		}
		deleted++;
		log_info("backup %s: retention deleted snapshot %s of %s",
		    r->jc->name, o.v[i].id, d->id);
	}
	r->res->pruned += deleted;
	if (deleted > 0)
		log_info("backup %s: retention deleted %zu snapshot%s of %s, "
			 "kept %zu",
		    r->jc->name, deleted, deleted == 1 ? "" : "s", d->id,
		    kept);
out:
	free(o.v);
	free(refs);
	free(rr);
}

int
rds_run(const struct job_conf *jc, const char *host, const char *backup_id,
    struct job_stop *stop, struct job_result *res, struct ag_err *err)
{
	const struct rds_conf *rc = jc->rds;
	struct aws_creds_conf cc = { 0 };
	struct rrun r = { .jc = jc,
		.rc = rc,
		.host = host,
		.backup_id = backup_id,
		.stop = stop,
		.res = res };
	size_t n = rc->ninstances + rc->nclusters, failed = 0;
	struct db *v;
	int ret = -1;

	if ((v = calloc(n, sizeof(*v))) == NULL)
		return ag_err_set(err, "out of memory");
	cc.access_key_id = rc->creds.access_key_id;
	cc.secret_access_key = rc->creds.secret_access_key;
	cc.profile = rc->creds.profile;
	r.q = (struct aws_query){ .name = "rds",
		.service = "rds",
		.region = rc->region,
		.endpoint = rc->endpoint,
		.host = rc->host };
	if ((r.q.creds = aws_creds_new(&cc)) == NULL ||
	    (r.q.http = http_client_new()) == NULL) {
		(void)ag_err_set(err, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		struct db *d = &v[i];

		d->cluster = i >= rc->ninstances;
		d->id = d->cluster ? rc->clusters[i - rc->ninstances] :
				     rc->instances[i];
		if (rds_snapshot_name(jc->name, d->id, backup_id, d->snap,
			sizeof(d->snap)) != 0) {
			snprintf(d->error, sizeof(d->error),
			    "snapshot name of %s too long", d->id);
			continue;
		}
		if (job_stop_check(stop)) {
			snprintf(d->error, sizeof(d->error), "%s",
			    stop->timed_out ? "timed out (the job's timeout)" :
					      "cancelled");
			continue;
		}
		if (create(&r, d, err) != 0)
			snprintf(d->error, sizeof(d->error), "%s of %s: %s",
			    d->cluster ? "cluster" : "DB", d->id, err->msg);
	}
	wait_all(&r, v, n);
	for (size_t i = 0; i < n; i++)
		if (v[i].ok)
			prune(&r, &v[i]);
	err->msg[0] = '\0';
	for (size_t i = 0; i < n; i++)
		if (!v[i].ok) {
			if (failed++ == 0)
				(void)ag_err_set(err, "%s", v[i].error);
			else
				RDS_WARN(res, jc->name, "%s", v[i].error);
		}
	if (failed > 1) {
		char first[AG_ERR_SIZE];

		snprintf(first, sizeof(first), "%s", err->msg);
		(void)ag_err_set(err, "%s (and %zu more DBs failed)", first,
		    failed - 1);
	}
	ret = failed == 0 ? 0 : -1;
out:
	http_client_free(r.q.http);
	aws_creds_free(r.q.creds);
	free(v);
	return ret;
}
