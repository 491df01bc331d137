/*
 * gcp_jwt.c: service-account key files and the RS256 JWT assertion of the
 * JWT-bearer grant (gcp_auth.h).  Pure functions: no I/O but the key file.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "lib/cloud/gcp/gcp_auth.h"
#include "lib/crypto/crypto.h"
#include "lib/crypto/crypto_rsa.h"
#include "lib/http/http.h"
#include "lib/jfield.h"

/* The JWT-bearer grant type (RFC 7523), form-encoded. */
#define GRANT_TYPE "urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer"

int
gcp_sa_parse(const char *json, size_t len, const char *doc,
    struct gcp_sa **ret_sa, struct ag_err *err)
{
	struct jfield_at at = { doc, NULL, err };
	struct gcp_sa *sa = NULL;
	char *type = NULL, *pem = NULL;
	json_error_t jerr;
	json_t *root;
	int rc = -1;

	/* jansson's message may quote the text: do not pass it on. */
	if ((root = json_loadb(json, len, 0, &jerr)) == NULL ||
	    !json_is_object(root)) {
		ag_err_set(err,
		    "%s: not a JSON object (line %d); is it a "
		    "service-account key file?",
		    doc, root == NULL ? jerr.line : 1);
		goto out;
	}
	if ((sa = calloc(1, sizeof(*sa))) == NULL) {
		ag_err_set(err, "out of memory");
		goto out;
	}
	if (jfield_strdup(root, "type", JF_REQUIRED, 64, &type, &at) == -1)
		goto out;
	if (strcmp(type, "service_account") != 0) {
		ag_err_set(err,
		    "%s: type is \"%s\", not \"service_account\" "
		    "(download a service-account key: IAM > Service accounts > "
		    "Keys)",
		    doc, type);
		goto out;
	}
	if (jfield_strdup(root, "client_email", JF_REQUIRED, 512,
		&sa->client_email, &at) == -1 ||
	    jfield_strdup(root, "private_key_id", 0, 256, &sa->private_key_id,
		&at) == -1 ||
	    jfield_strdup(root, "token_uri", 0, 2048, &sa->token_uri, &at) ==
		-1 ||
	    jfield_strdup(root, "project_id", 0, 256, &sa->project_id, &at) ==
		-1 ||
	    jfield_strdup(root, "private_key", JF_REQUIRED, GCP_SA_FILE_MAX,
		&pem, &at) == -1)
		goto out;
	if ((sa->key = crypto_rsa_from_pem(pem, strlen(pem), err)) == NULL) {
		char msg[AG_ERR_SIZE];

		snprintf(msg, sizeof(msg), "%s", err != NULL ? err->msg : "");
		ag_err_set(err, "%s: private_key: %s", doc, msg);
		goto out;
	}
	*ret_sa = sa;
	sa = NULL;
	rc = 0;
out:
	if (pem != NULL)
		crypto_wipe(pem, strlen(pem));
	free(pem);
	free(type);
	gcp_sa_free(sa);
	json_decref(root);
	return rc;
}

int
gcp_sa_load(const char *path, struct gcp_sa **ret_sa, struct ag_err *err)
{
	size_t len;
	char *buf;
	int rc;

	if (crypto_secret_file_read(path, "service-account key file",
		GCP_SA_FILE_MAX, &buf, &len, err) == -1)
		return -1;
	rc = gcp_sa_parse(buf, len, path, ret_sa, err);
	crypto_secret_free(buf, len);
	return rc;
}

void
gcp_sa_free(struct gcp_sa *sa)
{
	if (sa == NULL)
		return;
	free(sa->client_email);
	free(sa->private_key_id);
	free(sa->token_uri);
	free(sa->project_id);
	crypto_rsa_free(sa->key);
	free(sa);
}

/* b64u_append(out, in, len): base64url of ${in} at the end of ${out}. */
static char *
b64u_append(char *out, const uint8_t *in, size_t len)
{
	return out + crypto_base64url(in, len, out, 4 * ((len + 2) / 3) + 1);
}

int
gcp_jwt_sign(const struct crypto_rsa *key, const char *header_json,
    const char *claims_json, char **ret_jwt, struct ag_err *err)
{
	uint8_t sig[CRYPTO_RSA_SIG_MAX];
	size_t hlen = strlen(header_json), clen = strlen(claims_json);
	size_t siglen, cap;
	char *jwt, *p;

	cap = 4 * ((hlen + 2) / 3) + 4 * ((clen + 2) / 3) +
	    4 * ((sizeof(sig) + 2) / 3) + 3;
	if ((jwt = malloc(cap)) == NULL)
		return ag_err_set(err, "out of memory");
	p = b64u_append(jwt, (const uint8_t *)header_json, hlen);
	*p++ = '.';
	p = b64u_append(p, (const uint8_t *)claims_json, clen);
	if (crypto_rsa_sign_sha256(key, jwt, (size_t)(p - jwt), sig,
		sizeof(sig), &siglen) == -1) {
		free(jwt);
		return ag_err_set(err, "cannot sign the JWT assertion");
	}
	*p++ = '.';
	b64u_append(p, sig, siglen);
	*ret_jwt = jwt;
	return 0;
}

char *
gcp_jwt_header(const char *kid)
{
	json_t *o;
	char *s;

	if ((o = json_pack("{s:s, s:s}", "alg", "RS256", "typ", "JWT")) ==
	    NULL)
		return NULL;
	if (kid != NULL &&
	    json_object_set_new(o, "kid", json_string(kid)) == -1) {
		json_decref(o);
		return NULL;
	}
	s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	return s;
}

char *
gcp_jwt_claims(const char *iss, const char *scope, const char *aud,
    int64_t iat, int64_t exp)
{
	json_t *o;
	char *s;

	if ((o = json_pack("{s:s, s:s, s:s, s:I, s:I}", "iss", iss, "scope",
		 scope, "aud", aud, "exp", (json_int_t)exp, "iat",
		 (json_int_t)iat)) == NULL)
		return NULL;
	s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	return s;
}

int
gcp_sa_assertion(const struct gcp_sa *sa, const char *scope, const char *aud,
    int64_t now, char **ret_jwt, struct ag_err *err)
{
	char *hdr, *claims;
	int rc = -1;

	hdr = gcp_jwt_header(sa->private_key_id);
	claims = gcp_jwt_claims(sa->client_email, scope, aud, now,
	    now + GCP_JWT_LIFETIME_S);
	if (hdr == NULL || claims == NULL)
		ag_err_set(err, "out of memory");
	else
		rc = gcp_jwt_sign(sa->key, hdr, claims, ret_jwt, err);
	free(hdr);
	free(claims);
	return rc;
}

char *
gcp_token_request_body(const char *jwt)
{
	char *enc, *body = NULL;

	if ((enc = http_urlencode(jwt, strlen(jwt))) == NULL)
		return NULL;
	if (asprintf(&body, "grant_type=%s&assertion=%s", GRANT_TYPE, enc) ==
	    -1)
		body = NULL;
	free(enc);
	return body;
}
