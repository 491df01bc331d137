/*
 * rds_internal.h: what the RDS snapshots of a backup job (rds.c) and the
 * readers of RDS's answers (rds_xml.c) share, and what test_rds drives:
 * the snapshot names, the answers of Create/Describe/Delete DB (cluster)
 * snapshot, and which snapshots are a job's own.  No other file includes
 * it.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef VIGIL_BACKUP_RDS_INTERNAL_H
#define VIGIL_BACKUP_RDS_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/ag.h"

/* The tags that mark a snapshot as made by vigil, and for what. */
#define RDS_TAG_JOB "vigil:job"
#define RDS_TAG_HOST "vigil:host"
#define RDS_TAG_ID "vigil:backup-id"

/* RDS identifiers: snapshots up to 255 characters, DBs up to 63. */
#define RDS_SNAP_ID_MAX 255
#define RDS_DB_ID_MAX 63

/* One snapshot of an answer. */
struct rds_snap {
	char id[RDS_SNAP_ID_MAX + 1];	/* DB(Cluster)SnapshotIdentifier */
	char source[RDS_DB_ID_MAX + 1]; /* DBInstance/DBClusterIdentifier */
	char status[32];		/* "creating", "available", ... */
	char type[16];			/* SnapshotType: "manual", ... */
	int64_t created_ms;		/* SnapshotCreateTime; -1: none */
	/* vigil's tags ("" if absent) */
	char job[65], host[256], backup_id[32];
};

/* rds_snap_fn: one snapshot of an answer.  Return 0, or -1 to stop. */
typedef int rds_snap_fn(void *cookie, const struct rds_snap *s);

/**
 * rds_parse_snapshots(body, len, action, cluster, fn, cookie, marker,
 *     markerlen, err):
 * Read the answer to ${action} ("CreateDBSnapshot", "DescribeDBSnapshots",
 * "DeleteDBClusterSnapshot", ...): its root must be <${action}Response>;
 * ${fn} for each DBSnapshot (DBClusterSnapshot if ${cluster}) in it, the
 * Marker of a page into ${marker} ("" if none; ${marker} may be NULL).
 * Return the number of snapshots, or -1 with ${err} set (not XML, not this
 * answer, an identifier or marker too long).
 */
int rds_parse_snapshots(const char *body, size_t len, const char *action,
    bool cluster, rds_snap_fn *fn, void *cookie, char *marker,
    size_t markerlen, struct ag_err *err);

/**
 * rds_snapshot_name(job, db, backup_id, out, size):
 * The identifier of the snapshot of DB ${db} made by the run ${backup_id}
 * of job ${job}: "vigil-<job>-<db>-<backup id>", lower case, every other
 * character than a letter or digit a hyphen, no two hyphens in a row, none
 * at the end (RDS's rules).  Return 0, or -1 if it does not fit in ${size}
 * or in RDS_SNAP_ID_MAX.
 */
int rds_snapshot_name(const char *job, const char *db, const char *backup_id,
    char *out, size_t size);

/**
 * rds_db_id_valid(s):
 * Is ${s} a DB instance or cluster identifier: 1 to 63 letters, digits
 * and hyphens, a letter first, no two hyphens in a row, none at the end?
 */
bool rds_db_id_valid(const char *s);

/**
 * rds_snap_ours(s, job, host, ret_time_s):
 * Is ${s} a snapshot that this ${job} on this ${host} made: its
 * vigil:job and vigil:host tags name them and its vigil:backup-id tag is a
 * backup id (whose time goes into ${ret_time_s})?  Snapshots without
 * vigil's tags, of another job or of another host are never a job's own,
 * so retention never touches them.
 */
bool rds_snap_ours(const struct rds_snap *s, const char *job, const char *host,
    int64_t *ret_time_s);

/*
 * rds_status_failed(status): has a snapshot in ${status} failed for good
 * ("failed", "error", "incompatible-...")?
 */
bool rds_status_failed(const char *status);

#endif
