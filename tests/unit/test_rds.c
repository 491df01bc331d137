/*
 * test_rds.c: what a backup job's RDS snapshots read and decide without a
 * network (backup/rds_internal.h, lib/cloud/aws/aws_query.h): the answers
 * of CreateDBSnapshot, CreateDBClusterSnapshot, DescribeDBSnapshots (a
 * page with a Marker too) and DescribeDBClusterSnapshots as moto 5.2.1
 * sends them (tests/data/rds/README), errors and throttling, snapshot
 * names, which snapshots are a job's own, and the job's `rds` group.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/buf.h"
#include "lib/cloud/aws/aws_query.h"
#include "backup/jobconf.h"
#include "backup/rds.h"
#include "backup/rds_internal.h"
#include "tests/unit/fakes/testutil.h"

#define ID "2026-12-03T132953Z-3f9a"

struct seen {
	size_t n;
	struct rds_snap v[8];
};

static int
on_snap(void *cookie, const struct rds_snap *s)
{
	struct seen *x = cookie;

	assert_true(x->n < 8);
	x->v[x->n++] = *s;
	return 0;
}

static char *
data(const char *name, size_t *len)
{
	char rel[128];
	char *p;

	snprintf(rel, sizeof(rel), "rds/%s", name);
	p = (char *)tu_read_file(tu_data_path(rel), len);
	assert_non_null(p);
	return p;
}

static void
test_create(void **state)
{
	struct ag_err e = { "" };
	struct seen x = { 0 };
	size_t len;
	char *b = data("CreateDBSnapshot.xml", &len);

	(void)state;
	assert_int_equal(rds_parse_snapshots(b, len, "CreateDBSnapshot", false,
			     on_snap, &x, NULL, 0, &e),
	    1);
	assert_string_equal(x.v[0].id,
	    "vigil-nightly-db-1-20261203t132953z-3f9a");
	assert_string_equal(x.v[0].source, "db-1");
	assert_string_equal(x.v[0].status, "available");
	assert_string_equal(x.v[0].type, "manual");
	assert_string_equal(x.v[0].job, "nightly");
	assert_string_equal(x.v[0].host, "web-1");
	assert_string_equal(x.v[0].backup_id, ID);
	/* 2026-12-03T13:30:02.942819Z */
	assert_true(x.v[0].created_ms == 1796304602942);
	/* Not the answer asked for, or a cluster's name for a DB's. */
	assert_int_equal(rds_parse_snapshots(b, len, "DescribeDBSnapshots",
			     false, on_snap, &x, NULL, 0, &e),
	    -1);
	assert_non_null(strstr(e.msg, "DescribeDBSnapshotsResponse"));
	x.n = 0;
	assert_int_equal(rds_parse_snapshots(b, len, "CreateDBSnapshot", true,
			     on_snap, &x, NULL, 0, &e),
	    0);
	free(b);
}

static void
test_create_cluster(void **state)
{
	struct ag_err e = { "" };
	struct seen x = { 0 };
	size_t len;
	char *b = data("CreateDBClusterSnapshot.xml", &len);

	(void)state;
	assert_int_equal(rds_parse_snapshots(b, len, "CreateDBClusterSnapshot",
			     true, on_snap, &x, NULL, 0, &e),
	    1);
	assert_string_equal(x.v[0].id,
	    "vigil-nightly-aurora-1-20261203t132953z-3f9a");
	assert_string_equal(x.v[0].source, "aurora-1");
	assert_string_equal(x.v[0].status, "available");
	assert_string_equal(x.v[0].backup_id, ID);
	free(b);
}

static void
test_describe(void **state)
{
	struct ag_err e = { "" };
	struct seen x = { 0 };
	char marker[64] = "x";
	size_t len;
	char *b = data("DescribeDBSnapshots.xml", &len);

	(void)state;
	assert_int_equal(rds_parse_snapshots(b, len, "DescribeDBSnapshots",
			     false, on_snap, &x, marker, sizeof(marker), &e),
	    2);
	assert_string_equal(marker, "");
	assert_string_equal(x.v[1].id, "manual-1");
	assert_string_equal(x.v[1].job, "");
	assert_string_equal(x.v[0].job, "nightly");
	free(b);

	/* A page: the Marker, a snapshot still being made. */
	x.n = 0;
	b = data("DescribeDBSnapshots-page.xml", &len);
	assert_int_equal(rds_parse_snapshots(b, len, "DescribeDBSnapshots",
			     false, on_snap, &x, marker, sizeof(marker), &e),
	    2);
	assert_string_equal(marker, "bWFya2VyLTE=");
	assert_string_equal(x.v[0].status, "creating");
	/* A Marker too long for the caller's buffer is an error. */
	assert_int_equal(rds_parse_snapshots(b, len, "DescribeDBSnapshots",
			     false, NULL, NULL, marker, 8, &e),
	    -1);
	free(b);

	x.n = 0;
	b = data("DescribeDBClusterSnapshots.xml", &len);
	assert_int_equal(rds_parse_snapshots(b, len,
			     "DescribeDBClusterSnapshots", true, on_snap, &x,
			     marker, sizeof(marker), &e),
	    1);
	assert_string_equal(x.v[0].source, "aurora-1");
	assert_string_equal(x.v[0].host, "web-1");
	free(b);
}

static void
test_errors(void **state)
{
	struct ag_err e = { "" };
	char code[64], msg[256];
	size_t len;
	char *b;

	(void)state;
	b = data("error-instance-not-found.xml", &len);
	assert_int_equal(aws_query_error(b, len, code, sizeof(code), msg,
			     sizeof(msg)),
	    1);
	assert_string_equal(code, "DBInstanceNotFound");
	assert_string_equal(msg, "DBInstance nope not found.");
	assert_false(aws_query_throttled(404, code));
	/* An error is not an answer. */
	assert_int_equal(rds_parse_snapshots(b, len, "CreateDBSnapshot", false,
			     NULL, NULL, NULL, 0, &e),
	    -1);
	free(b);
	b = data("error-cluster-not-found.xml", &len);
	assert_int_equal(aws_query_error(b, len, code, sizeof(code), msg,
			     sizeof(msg)),
	    1);
	assert_string_equal(code, "DBClusterNotFoundFault");
	free(b);
	b = data("error-already-exists.xml", &len);
	(void)aws_query_error(b, len, code, sizeof(code), msg, sizeof(msg));
	assert_string_equal(code, "DBSnapshotAlreadyExists");
	free(b);
	b = data("error-throttling.xml", &len);
	(void)aws_query_error(b, len, code, sizeof(code), msg, sizeof(msg));
	assert_string_equal(code, "Throttling");
	assert_string_equal(msg, "Rate exceeded");
	assert_true(aws_query_throttled(400, code));
	assert_true(aws_query_throttled(503, ""));
	free(b);
	/* Not XML. */
	assert_int_equal(aws_query_error("oops", 4, code, sizeof(code), msg,
			     sizeof(msg)),
	    0);
	assert_int_equal(rds_parse_snapshots("oops", 4, "CreateDBSnapshot",
			     false, NULL, NULL, NULL, 0, &e),
	    -1);
}

static void
test_form(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 1024);
	aws_query_form_add(&b, "Action", "CreateDBSnapshot");
	aws_query_form_add(&b, "Tags.Tag.1.Key", "vigil:job");
	assert_string_equal(b.p,
	    "Action=CreateDBSnapshot&Tags.Tag.1.Key=vigil%3Ajob");
	buf_free(&b);
}

static void
test_names(void **state)
{
	char out[300], big[240];

	(void)state;
	assert_int_equal(rds_snapshot_name("nightly", "db-1", ID, out,
			     sizeof(out)),
	    0);
	assert_string_equal(out, "vigil-nightly-db-1-2026-12-03t132953z-3f9a");
	/* Dots, underscores, runs of them and capitals. */
	assert_int_equal(rds_snapshot_name("Pg_.Main-", "Aurora-1", ID, out,
			     sizeof(out)),
	    0);
	assert_string_equal(out,
	    "vigil-pg-main-aurora-1-2026-12-03t132953z-3f9a");
	assert_int_equal(rds_snapshot_name("a", "b", ID, out, 10), -1);
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	/* Longer than RDS allows (255), though the buffer is larger. */
	assert_int_equal(rds_snapshot_name(big, "db", ID, out, sizeof(out)),
	    -1);

	assert_true(rds_db_id_valid("db-1"));
	assert_true(rds_db_id_valid("Aurora1"));
	assert_false(rds_db_id_valid(""));
	assert_false(rds_db_id_valid("1db"));
	assert_false(rds_db_id_valid("db--1"));
	assert_false(rds_db_id_valid("db-"));
	assert_false(rds_db_id_valid("db_1"));
	assert_false(rds_db_id_valid(
	    "a123456789012345678901234567890123456789012345678901234567890123"));
}

static void
test_ours(void **state)
{
	struct rds_snap s = { .id = "x" };
	int64_t t = 0;

	(void)state;
	strcpy(s.job, "nightly");
	strcpy(s.host, "web-1");
	strcpy(s.backup_id, ID);
	assert_true(rds_snap_ours(&s, "nightly", "web-1", &t));
	assert_true(t == 1796304593);
	assert_false(rds_snap_ours(&s, "weekly", "web-1", &t));
	assert_false(rds_snap_ours(&s, "nightly", "web-2", &t));
	strcpy(s.backup_id, "2026-12-03");
	assert_false(rds_snap_ours(&s, "nightly", "web-1", &t));
	memset(&s, 0, sizeof(s));
	assert_false(rds_snap_ours(&s, "", "", &t));

	assert_true(rds_status_failed("failed"));
	assert_true(rds_status_failed("incompatible-restore"));
	assert_false(rds_status_failed("creating"));
	assert_false(rds_status_failed("available"));
}

/* Parse the backups list of ${text}; errors into ${e}. */
static int
parse(const char *text, struct conf_errs *e, struct job_conf ***v, size_t *n)
{
	struct conf *c = tu_conf_load(text, e);
	int rc;

	assert_non_null(c);
	rc = jobconf_parse_all(c, v, n, e);
	conf_free(c);
	return rc;
}

static void
test_config(void **state)
{
	struct conf_errs e = { 0 };
	struct job_conf **v = NULL;
	size_t n = 0;

	(void)state;
	/* Snapshots alone: no paths, storage or key needed. */
	assert_int_equal(parse("backups = ( { name = \"db\"; keep_last = 2; "
			       "rds = { instances = [ \"db-1\" ]; clusters = "
			       "[ \"aurora-1\" ]; region = \"eu-west-1\"; "
			       "wait = \"10m\"; }; } );\n",
			     &e, &v, &n),
	    0);
	assert_int_equal(n, 1);
	assert_non_null(v[0]->rds);
	assert_null(v[0]->storage);
	assert_int_equal(v[0]->rds->ninstances, 1);
	assert_int_equal(v[0]->rds->nclusters, 1);
	assert_string_equal(v[0]->rds->endpoint,
	    "https://rds.eu-west-1.amazonaws.com");
	assert_string_equal(v[0]->rds->host, "rds.eu-west-1.amazonaws.com");
	assert_true(v[0]->rds->wait_ms == 600000);
	jobconf_free_all(v, n);
	conf_errs_free(&e);

	/* Endpoint, and every mistake named. */
	memset(&e, 0, sizeof(e));
	assert_int_equal(parse("backups = ( { name = \"db\"; rds = { "
			       "instances = [ \"db_1\", \"a\", \"a\" ]; "
			       "endpoint = \"ftp://x\"; colour = 1; }; } );\n",
			     &e, &v, &n),
	    -1);
	assert_true(tu_has_error(&e, "\"db_1\" is not a DB identifier"));
	assert_true(tu_has_error(&e, "\"a\" is named twice"));
	assert_true(tu_has_error(&e, "endpoint"));
	assert_true(tu_has_error(&e, "region"));
	assert_true(tu_has_error(&e, "colour"));
	conf_errs_free(&e);

	memset(&e, 0, sizeof(e));
	assert_int_equal(parse("backups = ( { name = \"db\"; rds = { region = "
			       "\"us-east-1\"; }; } );\n",
			     &e, &v, &n),
	    -1);
	assert_true(tu_has_error(&e, "name the DBs to snapshot"));
	conf_errs_free(&e);

	/* A job with neither files nor rds is still refused. */
	memset(&e, 0, sizeof(e));
	assert_int_equal(parse("backups = ( { name = \"db\"; } );\n", &e, &v,
			     &n),
	    -1);
	assert_true(tu_has_error(&e, "paths, commands or rds"));
	conf_errs_free(&e);

	/* Files still need their storage. */
	memset(&e, 0, sizeof(e));
	assert_int_equal(parse("backups = ( { name = \"db\"; paths = [ \"/etc\" "
			       "]; rds = { instances = [ \"db-1\" ]; region = "
			       "\"us-east-1\"; endpoint = "
			       "\"http://127.0.0.1:5000/\"; }; } );\n",
			     &e, &v, &n),
	    -1);
	assert_true(tu_has_error(&e, "storage"));
	conf_errs_free(&e);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create),
		cmocka_unit_test(test_create_cluster),
		cmocka_unit_test(test_describe),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_form),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_ours),
		cmocka_unit_test(test_config),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
