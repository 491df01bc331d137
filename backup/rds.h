/*
 * rds.h: RDS snapshots as (part of) a backup job: the job's `rds` group
 * (instances, Aurora clusters, region, endpoint, credentials, wait) and
 * its run.
 *
 * At a run, rds_run() asks for a manual snapshot of every instance
 * (CreateDBSnapshot) and cluster (CreateDBClusterSnapshot), named after
 * the job, the DB and the backup id (rds_internal.h) and tagged
 * vigil:job, vigil:host and vigil:backup-id; it waits (Describe... polled
 * with lib/backoff.h, at most `wait`, and never past the job's timeout)
 * until each is available; then it applies the job's retention
 * (backup/retention.h, the policy of the job's files) to the snapshots of
 * each DB that carry this job's and this host's tags, and to no other.
 * Query protocol through lib/cloud/aws/aws_query.h, API version
 * 2014-10-31, SigV4 service "rds"; throttling and 5xx answers are
 * retried.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef VIGIL_BACKUP_RDS_H
#define VIGIL_BACKUP_RDS_H

#include <stddef.h>
#include <stdint.h>

#include "conf/conf.h"
#include "conf/conf_creds.h"
#include "lib/ag.h"

struct job_conf;
struct job_result;
struct job_stop;

#define RDS_WAIT_DEFAULT_MS (60 * 60 * 1000)

struct rds_conf {
	char **instances; /* NULL-terminated */
	size_t ninstances;
	char **clusters; /* Aurora, NULL-terminated */
	size_t nclusters;
	char *region;
	char *endpoint; /* "https://rds.<region>.amazonaws.com" */
	char *host;	/* its host[:port] */
	struct conf_aws creds;
	int64_t wait_ms; /* for each run's snapshots */
};

/**
 * rds_conf_parse(g, ret, errs):
 * Read a job's `rds` group ${g}.  Return 0 with ${ret}, or -1 with every
 * problem recorded in ${errs}.
 */
int rds_conf_parse(const conf_node *g, struct rds_conf **ret,
    struct conf_errs *errs);

void rds_conf_free(struct rds_conf *rc);

/**
 * rds_run(jc, host, backup_id, stop, res, err):
 * Snapshot the DBs of ${jc}->rds for the run ${backup_id} on ${host}, wait
 * for them, apply retention (see above).  Warnings and what retention
 * deleted go into ${res} (res->pruned) and the log.  Return 0 if every
 * snapshot became available, else -1 with ${err} naming the first that
 * did not (the others are still made, waited for and pruned).
 */
int rds_run(const struct job_conf *jc, const char *host, const char *backup_id,
    struct job_stop *stop, struct job_result *res, struct ag_err *err);

#endif
