/*
 * gcp_auth.h: Google Cloud credentials, shared by every vigil part that
 * speaks to Google (Cloud Storage, Cloud Monitoring, Pub/Sub); nothing
 * here knows a product.
 *
 * Two ways to a bearer token, as Google's own libraries resolve them:
 *
 *  - a service-account key file (JSON, "type": "service_account"): an RS256
 *    JWT assertion (RFC 7523) signed with its private key is exchanged at
 *    its token_uri for an OAuth2 access token;
 *  - the metadata server of a Compute Engine VM, GKE node or Cloud Run
 *    service: GET .../instance/service-accounts/default/token with the
 *    header "Metadata-Flavor: Google".
 *
 * The chain (gcp_auth_new()): the configured key file, else the file named
 * by GOOGLE_APPLICATION_CREDENTIALS, else the metadata server (its host
 * from the configuration, else GCE_METADATA_HOST, else
 * metadata.google.internal).  Key files are secret files: a file that group
 * or others may read is refused, like a backup key.  Tokens are cached and
 * fetched again GCP_TOKEN_REFRESH_S before they expire; each one is
 * registered with log_secret_add() while it is in use.  Messages never hold
 * a key, an assertion or a token.
 *
 * The pure parts (JWT, request body, token answer) are separate functions
 * so that they are tested without a network against the files of
 * ../shared/conformance/gcp/.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef VIGIL_GCP_AUTH_H
#define VIGIL_GCP_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include "lib/ag.h"

struct crypto_rsa;

#define GCP_TOKEN_URI_DEFAULT "https://oauth2.googleapis.com/token"
#define GCP_METADATA_HOST_DEFAULT "metadata.google.internal"
#define GCP_METADATA_TOKEN_PATH \
	"/computeMetadata/v1/instance/service-accounts/default/token"
/* An assertion is good for this long (Google's maximum: one hour). */
#define GCP_JWT_LIFETIME_S 3600
/* A cached token is replaced when less than this is left of it. */
#define GCP_TOKEN_REFRESH_S 300
/* Service-account key files are a few KiB; refuse anything larger. */
#define GCP_SA_FILE_MAX (64 * 1024)
#define GCP_TOKEN_MAX 4096

/* A service-account key, from its JSON file. */
struct gcp_sa {
	char *client_email;
	char *private_key_id; /* NULL if absent */
	char *token_uri;      /* NULL if absent */
	char *project_id;     /* NULL if absent */
	struct crypto_rsa *key;
};

/**
 * gcp_sa_parse(json, len, doc, ret_sa, err):
 * Parse the service-account key file text ${json} (${len} bytes; ${doc}
 * names it in messages).  Return 0 with a new key in ${ret_sa}, or -1
 * with a message that quotes no part of the private key.
 */
int gcp_sa_parse(const char *json, size_t len, const char *doc,
    struct gcp_sa **ret_sa, struct ag_err *err);

/**
 * gcp_sa_load(path, ret_sa, err):
 * Read and parse the service-account key file ${path}, refusing one that
 * is not a regular file or that group or others may access.  Return 0 or
 * -1 with a message naming ${path}.
 */
int gcp_sa_load(const char *path, struct gcp_sa **ret_sa, struct ag_err *err);

/* gcp_sa_free(sa): free ${sa}; NULL is a no-op. */
void gcp_sa_free(struct gcp_sa *sa);

/**
 * gcp_jwt_sign(key, header_json, claims_json, ret_jwt, err):
 * The compact JWS base64url(${header_json}).base64url(${claims_json}).
 * base64url(RS256 signature of the first two parts) as a new string in
 * ${ret_jwt}.  The JSON texts are encoded byte for byte as given.  Return
 * 0 or -1.
 */
int gcp_jwt_sign(const struct crypto_rsa *key, const char *header_json,
    const char *claims_json, char **ret_jwt, struct ag_err *err);

/**
 * gcp_jwt_header(kid):
 * The JOSE header {"alg":"RS256","typ":"JWT"} with "kid":${kid} added when
 * ${kid} is not NULL, compact, as a new string; NULL on failure.
 */
char *gcp_jwt_header(const char *kid);

/**
 * gcp_jwt_claims(iss, scope, aud, iat, exp):
 * The claim set of a service-account token request, compact and in the
 * order of Google's documentation: iss, scope, aud, exp, iat.  A new
 * string, or NULL on failure.
 */
char *gcp_jwt_claims(const char *iss, const char *scope, const char *aud,
    int64_t iat, int64_t exp);

/**
 * gcp_sa_assertion(sa, scope, aud, now, ret_jwt, err):
 * The signed assertion of ${sa} for ${scope} at the token endpoint ${aud},
 * issued at ${now} (seconds) and good for GCP_JWT_LIFETIME_S, with the
 * key's id as "kid" when the file has one.  Return 0 or -1.
 */
int gcp_sa_assertion(const struct gcp_sa *sa, const char *scope,
    const char *aud, int64_t now, char **ret_jwt, struct ag_err *err);

/**
 * gcp_token_request_body(jwt):
 * The form body of the JWT-bearer grant (application/x-www-form-urlencoded)
 * carrying ${jwt}, as a new string; NULL on failure.
 */
char *gcp_token_request_body(const char *jwt);

/* A bearer token and when it expires. */
struct gcp_token {
	char access_token[GCP_TOKEN_MAX];
	int64_t expires_at; /* seconds since the epoch */
};

/**
 * gcp_token_parse(status, body, len, now, what, ret, err):
 * Judge the answer of a token endpoint or the metadata server (${what}
 * names it in messages): HTTP ${status}, body ${body} of ${len} bytes,
 * received at ${now} (seconds).  On 200, a JSON object with a Bearer
 * access_token and expires_in (absent: GCP_JWT_LIFETIME_S), stored
 * in ${ret}.  Return 0; AG_RETRY for
 * 408, 429 and 5xx; -1 otherwise, with the endpoint's own error and
 * error_description (OAuth2, RFC 6749 section 5.2) in the message.
 */
int gcp_token_parse(long status, const char *body, size_t len, int64_t now,
    const char *what, struct gcp_token *ret, struct ag_err *err);

/* Where tokens come from; any member may be NULL or 0. */
struct gcp_auth_conf {
	const char *credentials_file; /* service-account key file */
	const char *token_uri;	      /* overrides the file's token_uri */
	const char *metadata_host;    /* host[:port] of the metadata server */
	const char *scope;	      /* space-separated OAuth2 scopes */
	long timeout_ms;	      /* per token request */
};

struct gcp_auth;

/**
 * gcp_auth_new(conf, ret, err):
 * Resolve the credential chain of ${conf} (see the top of this file);
 * reading a key file happens here, no request is made.  Return 0 with the
 * new source in ${ret} or -1 with a message.
 */
int gcp_auth_new(const struct gcp_auth_conf *conf, struct gcp_auth **ret,
    struct ag_err *err);

/**
 * gcp_auth_describe(a):
 * Which link of the chain won, for messages: "service account
 * NAME@PROJECT.iam.gserviceaccount.com (FILE)" or "the metadata server at
 * HOST".  It belongs to ${a}.
 */
const char *gcp_auth_describe(const struct gcp_auth *a);

/**
 * gcp_auth_header(a, now, buf, len, err):
 * "Authorization: Bearer TOKEN" into ${buf} (${len} bytes) for a token
 * valid at ${now} (seconds), fetched if none is cached or the cached one
 * has less than GCP_TOKEN_REFRESH_S left.  Safe from several threads.
 * Return 0, AG_RETRY (the endpoint may answer later) or -1 with a message.
 */
int gcp_auth_header(struct gcp_auth *a, int64_t now, char *buf, size_t len,
    struct ag_err *err);

/**
 * gcp_auth_invalidate(a):
 * Forget the cached token (a service answered 401 with it), so that the
 * next gcp_auth_header() fetches a new one.
 */
void gcp_auth_invalidate(struct gcp_auth *a);

/* gcp_auth_free(a): free ${a}; NULL is a no-op. */
void gcp_auth_free(struct gcp_auth *a);

#endif
