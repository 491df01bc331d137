/*
 * azure_auth.h: Azure Storage request signing, as pure functions: the
 * SharedKey and SharedKeyLite strings-to-sign and Authorization headers
 * ("Authorize with Shared Key"), and service and account shared access
 * signatures (SAS, signed version 2020-12-06 and later).  Nothing here
 * knows a storage operation or does I/O: Blob storage, Azure Monitor and
 * Notification Hubs sign with the same code.  The HMAC is lib/crypto/'s.
 * Service Bus, Event Hubs and Notification Hubs take a SAS of another
 * kind, made from a connection string's key (azure_sb.c, at the end).
 *
 * An account key is the base64 text Azure shows; azure_key_decode() turns
 * it into the bytes that key the HMAC.  Returned strings are malloc'd and
 * freed by the caller; NULL means out of memory or a malformed input.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef VIGIL_AZURE_AUTH_H
#define VIGIL_AZURE_AUTH_H

#include <stddef.h>
#include <stdint.h>

/* Base64 of an HMAC-SHA256, with its NUL. */
#define AZURE_SIG_LEN 45
/* Most bytes of a decoded account key (Azure's are 64). */
#define AZURE_KEY_MAX 128
/* The service version vigil speaks. */
#define AZURE_STORAGE_VERSION "2021-08-06"

enum azure_sk_scheme {
	AZURE_SK,	    /* SharedKey: Blob, Queue and File */
	AZURE_SK_LITE,	    /* SharedKeyLite: Blob, Queue and File */
	AZURE_SK_LITE_TABLE /* SharedKeyLite: Table */
};

/* A request as it goes on the wire. */
struct azure_sk_req {
	const char *method;	    /* "GET", "PUT", ... */
	const char *path;	    /* URL path as sent (percent-encoded) */
	const char *query;	    /* URL query without '?', or NULL */
	const char *const *headers; /* NULL-terminated "Name: value" */
	/* The service version that rules the signature; NULL: the
	 * request's x-ms-version header (none: the newest rules). */
	const char *version;
};

/**
 * azure_key_decode(b64, out, ret_len):
 * Decode the account key ${b64} into ${out} (AZURE_KEY_MAX bytes) and its
 * length into ${ret_len}.  Return 0, or -1 if it is not base64 of 1 to
 * AZURE_KEY_MAX bytes.
 */
int azure_key_decode(const char *b64, uint8_t out[AZURE_KEY_MAX],
    size_t *ret_len);

/**
 * azure_hmac_b64(key, keylen, msg, out):
 * Base64(HMAC-SHA256(key, msg)) into ${out}.  Return 0 or -1.
 */
int azure_hmac_b64(const uint8_t *key, size_t keylen, const char *msg,
    char out[AZURE_SIG_LEN]);

/**
 * azure_account_from_host(host, out, len):
 * The account name of a storage host name ("acct.blob.core.windows.net",
 * "acct-secondary.blob...": "acct") into ${out}.  Return 0, or -1 if it
 * does not fit or is empty.
 */
int azure_account_from_host(const char *host, char *out, size_t len);

/**
 * azure_canon_resource(account, path, query, scheme):
 * The CanonicalizedResource of a request: "/" ${account} ${path}, then for
 * SharedKey every query parameter as "\nname:v1,v2" (names lower-cased and
 * sorted, values decoded and sorted), for SharedKeyLite only "?comp=...".
 */
char *azure_canon_resource(const char *account, const char *path,
    const char *query, enum azure_sk_scheme scheme);

/**
 * azure_sharedkey_sts(account, req, scheme):
 * The string-to-sign of ${req} for ${account} under ${scheme}.
 */
char *azure_sharedkey_sts(const char *account, const struct azure_sk_req *req,
    enum azure_sk_scheme scheme);

/**
 * azure_sharedkey_auth(account, key, keylen, req, scheme):
 * The value of the Authorization header: "SharedKey ${account}:<sig>" (or
 * "SharedKeyLite ...").
 */
char *azure_sharedkey_auth(const char *account, const uint8_t *key,
    size_t keylen, const struct azure_sk_req *req,
    enum azure_sk_scheme scheme);

/*
 * The fields of a SAS; NULL or "" for an absent one.  Times are ISO 8601
 * UTC ("2026-12-02T18:00:00Z").
 */
struct azure_sas {
	const char *version;	      /* sv, e.g. "2020-12-06" (required) */
	const char *permissions;      /* sp, e.g. "racwdl" (required) */
	const char *start;	      /* st */
	const char *expiry;	      /* se (required unless identifier) */
	const char *ip;		      /* sip */
	const char *protocol;	      /* spr: "https" or "https,http" */
	const char *encryption_scope; /* ses */
	/* Service SAS only. */
	const char *resource;		 /* sr: "b", "c", "bs", "bv", "d" */
	const char *identifier;		 /* si: a stored access policy */
	const char *snapshot;		 /* snapshot time */
	const char *cache_control;	 /* rscc */
	const char *content_disposition; /* rscd */
	const char *content_encoding;	 /* rsce */
	const char *content_language;	 /* rscl */
	const char *content_type;	 /* rsct */
	/* Account SAS only. */
	const char *services;	    /* ss: "bfqt" */
	const char *resource_types; /* srt: "sco" */
};

/**
 * azure_form_add(b, name, value):
 * Append "name=value" to the query or form ${b}, after a '&' unless ${b}
 * is empty, ${value} percent-encoded (the encoded copy is wiped: values
 * may be secrets).  A NULL or empty ${value} adds nothing.  Failures are
 * left in ${b}->err.
 */
struct buf;
void azure_form_add(struct buf *b, const char *name, const char *value);

/**
 * azure_sas_service_sts(account, service, path, sas):
 * The string-to-sign of a service SAS (signed version 2020-12-06 or later)
 * for the resource ${path} ("/container" or "/container/blob", not
 * encoded) of ${service} ("blob", "file", "queue", "table").
 */
char *azure_sas_service_sts(const char *account, const char *service,
    const char *path, const struct azure_sas *sas);

/**
 * azure_sas_account_sts(account, sas):
 * The string-to-sign of an account SAS (signed version 2020-12-06 or
 * later).
 */
char *azure_sas_account_sts(const char *account, const struct azure_sas *sas);

/**
 * azure_sas_service_token(account, key, keylen, service, path, sas):
 * A service SAS token: the query string (without '?') that grants ${sas}
 * on ${path}, its fields percent-encoded, ending in "sig=...".
 */
char *azure_sas_service_token(const char *account, const uint8_t *key,
    size_t keylen, const char *service, const char *path,
    const struct azure_sas *sas);

/**
 * azure_sas_account_token(account, key, keylen, sas):
 * An account SAS token, as azure_sas_service_token().
 */
char *azure_sas_account_token(const char *account, const uint8_t *key,
    size_t keylen, const struct azure_sas *sas);

/*
 * A Service Bus, Event Hubs or Notification Hubs connection string,
 * "Endpoint=sb://NS.servicebus.windows.net/;SharedAccessKeyName=NAME;
 * SharedAccessKey=KEY[;EntityPath=PATH]" (the keys in any order and case,
 * other keys ignored).  The key is used as its text: its UTF-8 bytes key
 * the HMAC, unlike a storage account key.
 */
struct azure_sb_conn {
	char *host;	/* "ns.servicebus.windows.net" (the Endpoint's host) */
	char *key_name; /* SharedAccessKeyName */
	char *key;	/* SharedAccessKey */
	char *entity;	/* EntityPath, or NULL */
};

/**
 * azure_sb_conn_parse(s, ret, why, whylen):
 * Read the connection string ${s} into ${ret}.  Return 0, or -1 with what
 * is wrong in ${why} (never a part of the key).
 */
int azure_sb_conn_parse(const char *s, struct azure_sb_conn *ret, char *why,
    size_t whylen);

/* azure_sb_conn_free(c): free what ${c} holds, the key wiped. */
void azure_sb_conn_free(struct azure_sb_conn *c);

/**
 * azure_sb_sas_token(uri, key_name, key, expiry):
 * The Authorization value "SharedAccessSignature sr=SR&sig=SIG&se=EXPIRY&
 * skn=KEY_NAME" for the resource ${uri} ("https://ns.servicebus.windows.
 * net/hub"): SR is the URL-encoded ${uri}, both lower-cased (as Microsoft's
 * samples make it), SIG the URL-encoded base64 HMAC-SHA256 of
 * "SR\nEXPIRY" under the bytes of ${key}, ${expiry} in seconds since the
 * epoch.  A new string, or NULL.
 */
char *azure_sb_sas_token(const char *uri, const char *key_name,
    const char *key, int64_t expiry);

#endif
