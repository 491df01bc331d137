/*
 * azure_token.h: Microsoft Entra ID access tokens for Azure services, and
 * the chain that finds a credential the way Azure's SDKs do
 * (DefaultAzureCredential): the configuration's client secret, then the
 * environment's (AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET),
 * then workload identity (AZURE_FEDERATED_TOKEN_FILE, with
 * AZURE_TENANT_ID and AZURE_CLIENT_ID), then the managed identity of the
 * machine (IMDS).  Tokens are cached and fetched again five minutes before
 * they expire, or once when a service refuses one (azure_cred_refused()).
 * Nothing here knows a service: the caller names the scope
 * ("https://storage.azure.com/.default").
 *
 * The request builders and the answer parser are pure functions, tested
 * against ../shared/conformance/azure/aad/.  Every endpoint can be set, so
 * tests point them at loopback.  Secrets (client secret, assertion,
 * access token) are registered with log_secret_add() while held and never
 * appear in a message.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef VIGIL_AZURE_TOKEN_H
#define VIGIL_AZURE_TOKEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "lib/ag.h"

#define AZURE_AUTHORITY_DEFAULT "https://login.microsoftonline.com"
#define AZURE_IMDS_DEFAULT \
	"http://169.254.169.254/metadata/identity/oauth2/token"
/* A token is fetched again this long before it expires. */
#define AZURE_TOKEN_EARLY 300

/* An access token and when it expires. */
struct azure_token {
	char *access;	   /* malloc'd; NULL if none */
	time_t expires_on; /* Unix time */
};

/* How to find a credential; NULL members: not configured. */
struct azure_cred_conf {
	const char *tenant_id;
	const char *client_id;
	const char *client_secret; /* a secret */
	const char *authority;	   /* NULL: the environment's
					 * AZURE_AUTHORITY_HOST, else
					 * AZURE_AUTHORITY_DEFAULT */
	const char *imds_endpoint; /* NULL: AZURE_IMDS_DEFAULT */
	const char *scope;	   /* "https://storage.azure.com/.default" */
	const char *name;	   /* for messages: "azure[cloud]" */
};

/* Which link of the chain gave the credential. */
enum azure_cred_kind {
	AZURE_CRED_CONFIG,   /* the configuration's client secret */
	AZURE_CRED_ENV,	     /* AZURE_CLIENT_SECRET */
	AZURE_CRED_WORKLOAD, /* AZURE_FEDERATED_TOKEN_FILE */
	AZURE_CRED_MANAGED   /* IMDS */
};

/**
 * azure_token_url(authority, tenant):
 * The v2 token endpoint: ${authority}/${tenant}/oauth2/v2.0/token.
 */
char *azure_token_url(const char *authority, const char *tenant);

/**
 * azure_token_body_secret(client_id, secret, scope):
 * The form body of a client-credentials request with a shared secret.
 */
char *azure_token_body_secret(const char *client_id, const char *secret,
    const char *scope);

/**
 * azure_token_body_assertion(client_id, assertion, scope):
 * The form body of a client-credentials request with a federated token
 * (workload identity) as client assertion.
 */
char *azure_token_body_assertion(const char *client_id, const char *assertion,
    const char *scope);

/**
 * azure_imds_url(endpoint, resource, client_id):
 * The managed-identity token URL: ${endpoint}?api-version=2018-02-01&
 * resource=<encoded>[&client_id=...] (sent with "Metadata: true").
 * ${resource} is the scope without "/.default".
 */
char *azure_imds_url(const char *endpoint, const char *resource,
    const char *client_id);

/**
 * azure_token_parse(status, body, len, now, out, err):
 * Judge a token endpoint's answer: a 2xx JSON object with access_token
 * and expires_in (a number or, from IMDS, a string) or expires_on gives
 * ${out} (expiry from ${now}) and 0.  An error object gives its "error"
 * and the first line of "error_description" in ${err}, and -1 (AG_RETRY
 * for 408, 429 and 5xx).  The token is never in a message.
 */
int azure_token_parse(long status, const char *body, size_t len, time_t now,
    struct azure_token *out, struct ag_err *err);

/* azure_token_clear(t): wipe and free the token of ${t}. */
void azure_token_clear(struct azure_token *t);

struct azure_cred;

/**
 * azure_cred_new(conf, ret, err):
 * Resolve the chain for ${conf} (copied) from the configuration and the
 * environment, without a network.  Return 0 with the credential in
 * ${ret}, or -1 if a link is half set (a client id without a secret or a
 * tenant, a token file that cannot be read later is an error then).
 */
int azure_cred_new(const struct azure_cred_conf *conf, struct azure_cred **ret,
    struct ag_err *err);

/* azure_cred_kind(c): which link ${c} uses. */
enum azure_cred_kind azure_cred_kind(const struct azure_cred *c);

/* azure_cred_kind_name(k): "configuration", "environment", ... */
const char *azure_cred_kind_name(enum azure_cred_kind k);

/**
 * azure_cred_header(c, ret, err):
 * "Authorization: Bearer <token>" into a malloc'd ${ret}, from the cache
 * or a new token.  Thread-safe.  Return 0, AG_RETRY or -1.
 */
int azure_cred_header(struct azure_cred *c, char **ret, struct ag_err *err);

/**
 * azure_cred_refused(c):
 * A service refused the token of ${c} as not valid (expired early,
 * revoked) before the time it came with.  Unless that token was itself
 * fetched after a refusal, the next azure_cred_header() fetches a new one
 * and this returns true: the caller may try again.  Otherwise false (a
 * fresh token refused too: expiry is not the cause).  Thread safe.
 */
bool azure_cred_refused(struct azure_cred *c);

/* azure_cred_free(c): wipe and free ${c}; NULL does nothing. */
void azure_cred_free(struct azure_cred *c);

#endif
