/*
 * conf_creds.h: the cloud credentials a source, notifier or storage target
 * names, read the one way for all of them.  For AWS: "credentials =
 * NAME" names a group of the top-level "credentials" section ({ type =
 * "aws"; region; profile; access_key_id; secret_access_key / _file /
 * _env }), or the instance gives access_key_id and secret_access_key
 * itself, or neither (the credential chain of lib/cloud/aws/aws_creds.h).
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef VIGIL_CONF_CREDS_H
#define VIGIL_CONF_CREDS_H

#include "conf/conf.h"

/* Settings conf_aws_read() reads from the instance itself. */
#define CONF_AWS_KEYS \
	"credentials", "access_key_id", "secret_access_key", \
	    "secret_access_key_file", "secret_access_key_env"

struct conf_aws {
	char *access_key_id;	 /* NULL: the chain */
	char *secret_access_key; /* with it; conf_secret_free()d */
	char *profile;		 /* NULL: AWS_PROFILE or "default" */
	char *region;		 /* the named credentials' region, or NULL */
	char *name;		 /* the credentials' name, or NULL */
};

/**
 * conf_aws_read(e, group, ret):
 * Read the AWS credentials of the instance ${group}: "credentials" (the
 * name of a group of type "aws" in the top-level "credentials" section,
 * whose settings are checked here) or access_key_id with
 * secret_access_key, not both.  Return 0 with ${ret} filled (all NULL for
 * the chain), or -1 with errors recorded; free with conf_aws_free() either
 * way.
 */
int conf_aws_read(struct conf_errs *e, const conf_node *group,
    struct conf_aws *ret);

/* conf_aws_free(a): free and wipe what conf_aws_read() put in ${a}. */
void conf_aws_free(struct conf_aws *a);

#endif
