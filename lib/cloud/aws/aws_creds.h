/*
 * aws_creds.h: AWS credentials found the way the AWS SDKs find them, the
 * first link that has some winning:
 *
 *  1. config: an access key id and secret given by the caller;
 *  2. environment: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and
 *     AWS_SESSION_TOKEN;
 *  3. shared files: the profile (config, else AWS_PROFILE, else
 *     "default") of AWS_SHARED_CREDENTIALS_FILE (~/.aws/credentials), then
 *     of AWS_CONFIG_FILE (~/.aws/config, "[profile NAME]"); a file that
 *     group or others may read is refused, like a key file;
 *  4. web identity: AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN (or the
 *     profile's web_identity_token_file and role_arn) exchanged at STS
 *     (AssumeRoleWithWebIdentity) for temporary credentials;
 *  5. the container endpoint: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI
 *     (below http://169.254.170.2) or AWS_CONTAINER_CREDENTIALS_FULL_URI,
 *     with AWS_CONTAINER_AUTHORIZATION_TOKEN(_FILE);
 *  6. IMDSv2: a session token (PUT /latest/api/token), the instance
 *     role's name, then its credentials; not with AWS_EC2_METADATA_DISABLED.
 *
 * Every endpoint can be set (tests point them at loopback).  Temporary
 * credentials are cached and fetched again five minutes before they
 * expire, or when a server refuses them as expired (aws_creds_refused()).
 * Secrets are registered with log_secret_add() while held and
 * never appear in messages.  No storage-specific code: the S3 backend,
 * the SNS notifier and the CloudWatch source share it.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef VIGIL_CLOUD_AWS_CREDS_H
#define VIGIL_CLOUD_AWS_CREDS_H

#include <stdbool.h>
#include <time.h>

#include "lib/ag.h"

/* Refresh temporary credentials this long before they expire. */
#define AWS_CREDS_REFRESH_S 300

struct aws_creds_conf {
	const char *access_key_id; /* link 1; NULL: go on */
	const char *secret_access_key;
	const char *session_token;
	const char *profile;		/* NULL: AWS_PROFILE or "default" */
	const char *sts_endpoint;	/* NULL: AWS_ENDPOINT_URL_STS, else
					   AWS_ENDPOINT_URL, else
					   https://sts.amazonaws.com */
	const char *container_endpoint; /* NULL: as the environment says */
	const char *imds_endpoint;	/* NULL: AWS_EC2_METADATA_SERVICE_
					   ENDPOINT, else 169.254.169.254 */
	const char *home;		/* NULL: $HOME, for ~/.aws */
};

/* Credentials as found: copies, wiped by aws_cred_clear(). */
struct aws_cred {
	char *access_key_id;
	char *secret_access_key;
	char *session_token; /* NULL for long-term keys */
	time_t expires;	     /* 0: does not expire */
	const char *source;  /* "config", "environment",
					   "shared files", "web identity",
					   "container", "imds" */
};

struct aws_creds;

/**
 * aws_creds_new(conf):
 * A provider that resolves the chain for ${conf} (copied) at its first
 * aws_creds_get().  Return it, or NULL if out of memory.
 */
struct aws_creds *aws_creds_new(const struct aws_creds_conf *conf);

/**
 * aws_creds_get(p, now, ret, err):
 * Credentials valid at ${now} for at least AWS_CREDS_REFRESH_S more
 * seconds: the cached ones, or the chain walked again (if that fails,
 * cached ones that have not yet expired).  ${ret} gets copies, which the
 * caller wipes with aws_cred_clear().  Return 0; AG_RETRY if an endpoint
 * failed in a way that may pass; -1 if no link has credentials (${err}
 * names what was tried) or one is broken (a loose file mode, a refused
 * token).  Thread safe.
 */
int aws_creds_get(struct aws_creds *p, time_t now, struct aws_cred *ret,
    struct ag_err *err);

/**
 * aws_creds_refused(p):
 * A server called the credentials of ${p} expired (S3's ExpiredToken)
 * before the time they said.  If they came from a link that hands out
 * temporary ones (web identity, container, IMDS), the next
 * aws_creds_get() fetches new ones and this returns true: the caller may
 * try again.  Otherwise false: new ones would be the same.  Thread safe.
 */
bool aws_creds_refused(struct aws_creds *p);

/* aws_cred_clear(c): wipe and free the copies in ${c}. */
void aws_cred_clear(struct aws_cred *c);

/* aws_creds_free(p): forget and wipe the credentials; NULL is a no-op. */
void aws_creds_free(struct aws_creds *p);

#endif
