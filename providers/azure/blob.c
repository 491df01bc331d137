/*
 * blob.c: the Azure Blob storage backend ("type = azure").
 *
 *	storage = { cloud = { type = "azure"; account = "acct";
 *	    container = "backups"; account_key_file = "/etc/vigil/az.key"; }; };
 *
 * An object is a block blob named by its key in the container.  An upload
 * sends each part as one Put Block, with fixed-width block ids (blocks
 * 0, 1, ..., several at once from the caller's threads on a pool of kept
 * connections), and commits with Put Block List: nothing is visible before
 * the commit, and a failed upload leaves only uncommitted blocks, which
 * Azure drops after a week.  Reads are Get Blob with x-ms-range; listings
 * are List Blobs pages joined by their NextMarker; remove is Delete Blob.
 *
 * Requests are signed with SharedKey (account_key), carry a SAS token
 * (sas_token), or a Microsoft Entra ID bearer token: with neither key nor
 * token, the chain of lib/cloud/azure/azure_token.h finds the credential
 * (client_secret with tenant_id and client_id, then the environment,
 * workload identity, the managed identity).  Keys, tokens and client
 * secrets are secrets (conf_get_secret(): inline only in a private file,
 * or _file, or _env), registered with log_secret_add() while the
 * configuration lives.  The signing is lib/cloud/azure/'s.
 * "endpoint" replaces https://<account>.blob.core.windows.net, e.g.
 * http://127.0.0.1:10000/devstoreaccount1 for Azurite; "ca_file" names
 * the CA certificates (PEM) that vouch for an https endpoint instead of
 * the system's (a private CA, Azurite's own certificate).
 *
 * Answers: 2xx success; 408, 429, 5xx and transport failures AG_RETRY, as
 * is an Entra ID token refused as invalid (once: a new one is fetched);
 * other statuses -1 with Azure's own <Code> and message, once; a missing
 * container and a refused key or token each get a sentence saying what to
 * fix.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "conf/conf.h"
#include "lib/ag.h"
#include "lib/buf.h"
#include "lib/cloud/azure/azure_auth.h"
#include "lib/cloud/azure/azure_token.h"
#include "lib/crypto/crypto.h"
#include "lib/http/http.h"
#include "lib/log.h"
#include "providers/azure/blob_internal.h"
#include "providers/storage_backend.h"

#define URL_MAX (8 * 1024)
#define LIST_PAGE "5000" /* maxresults per List Blobs page */
#define NHDR 12

/* The type's settings, as parsed. */
struct azblob_conf {
	char *account;
	char *container;
	char *endpoint; /* base URL, no trailing '/' */
	char *key_b64;	/* account_key, or NULL */
	char *sas;	/* sas_token without '?', or NULL */
	char *tier;	/* access_tier, or NULL */
	char *ca_file;	/* ca_file: CAs for the endpoint, or NULL */
	/* Entra ID, when neither key nor SAS: all optional (the chain). */
	char *tenant, *client_id, *client_secret, *authority, *imds;
	bool registered; /* secrets known to the log module */
};

struct azblob {
	char *name;
	const struct azblob_conf *c; /* copied at open */
	struct azblob_conf own;
	uint8_t key[AZURE_KEY_MAX];
	size_t keylen;
	const char *path0;	 /* endpoint's path: "" or "/acct" */
	struct azure_cred *cred; /* Entra ID, or NULL */
	struct http_pool *pool;	 /* idle connections */
};

/* An upload; blocks may arrive from several threads at once. */
struct azblob_up {
	struct azblob *az;
	char *key;
	pthread_mutex_t mu;
	unsigned nblocks; /* highest block index + 1 */
};

/* One request to make. */
struct call {
	const char *method;
	const char *key;       /* blob name, NULL: the container */
	const char *query;     /* without '?', or NULL */
	const char *hdr[NHDR]; /* extra headers, NULL-terminated */
	const void *body;
	size_t body_len;
	http_sink_fn *sink;
	void *cookie;
};

static const char *const azblob_settings[] = { "account", "container",
	"endpoint", "account_key", "account_key_file", "account_key_env",
	"sas_token", "sas_token_file", "sas_token_env", "access_tier",
	"tenant_id", "client_id", "client_secret", "client_secret_file",
	"client_secret_env", "authority_host", "imds_endpoint", "ca_file",
	NULL };

static const char *const tiers[] = { "Hot", "Cool", "Cold", NULL };

/* Free ${c}'s members, wiping and unregistering the secrets. */
static void
conf_clear(struct azblob_conf *c)
{
	if (c->registered && c->key_b64 != NULL)
		log_secret_remove(c->key_b64);
	if (c->registered && c->sas != NULL)
		log_secret_remove(c->sas);
	if (c->registered && c->client_secret != NULL)
		log_secret_remove(c->client_secret);
	conf_secret_free(c->key_b64);
	conf_secret_free(c->sas);
	conf_secret_free(c->client_secret);
	free(c->tenant);
	free(c->client_id);
	free(c->authority);
	free(c->imds);
	free(c->account);
	free(c->container);
	free(c->endpoint);
	free(c->tier);
	free(c->ca_file);
	memset(c, 0, sizeof(*c));
}

static void
azblob_conf_free(void *tconf)
{
	struct azblob_conf *c = tconf;

	if (c == NULL)
		return;
	conf_clear(c);
	free(c);
}

/* strdup() of ${s}, NULL staying NULL; sets ${*oom} on failure. */
static char *
dup_opt(const char *s, bool *oom)
{
	char *d;

	if (s == NULL)
		return NULL;
	if ((d = strdup(s)) == NULL)
		*oom = true;
	return d;
}

/*
 * Register the secrets of ${c} with log_secret_add(), so that conf_clear()
 * removes them.  Return 0, or -1 (out of memory; none stays registered).
 */
static int
register_secrets(struct azblob_conf *c)
{
	char *v[] = { c->key_b64, c->sas, c->client_secret };
	size_t i, j;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		if (v[i] == NULL || log_secret_add(v[i]) == 0)
			continue;
		for (j = 0; j < i; j++)
			if (v[j] != NULL)
				log_secret_remove(v[j]);
		return -1;
	}
	c->registered = true;
	return 0;
}

/* An account name: 3 to 24 lower-case letters and digits. */
static bool
account_valid(const char *s)
{
	size_t n = strlen(s);

	return n >= 3 && n <= 24 &&
	    strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789") == n;
}

/* A container name: 3 to 63 of a-z 0-9 '-', no "--", no '-' at the ends. */
static bool
container_valid(const char *s)
{
	size_t n = strlen(s);

	return n >= 3 && n <= 63 && s[0] != '-' && s[n - 1] != '-' &&
	    strstr(s, "--") == NULL &&
	    strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789-") == n;
}

static int
azblob_conf_parse(const conf_node *group, const char *name, void **ret_tconf,
    struct conf_errs *errs)
{
	struct azblob_conf *c;
	const char *account = NULL, *container = NULL, *endpoint = NULL;
	const char *tenant = NULL, *client = NULL, *authority = NULL;
	const char *imds = NULL, *ca_file = NULL;
	uint8_t key[AZURE_KEY_MAX];
	size_t keylen, n;
	int tier = -1, bad = 0;
	bool oom = false;

	(void)name;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return conf_error(errs, group, "out of memory");
	if (conf_get_str(errs, group, "account", true, &account) == 1 &&
	    !account_valid(account))
		bad = conf_error_at(errs, group, "account",
		    "\"%s\" is not a "
		    "storage account name (3 to 24 lower-case letters and "
		    "digits)",
		    account);
	if (conf_get_str(errs, group, "container", true, &container) == 1 &&
	    !container_valid(container))
		bad = conf_error_at(errs, group, "container",
		    "\"%s\" is not "
		    "a container name (3 to 63 lower-case letters, digits "
		    "and single hyphens)",
		    container);
	if (conf_get_str(errs, group, "endpoint", false, &endpoint) == 1 &&
	    strncmp(endpoint, "https://", 8) != 0 &&
	    strncmp(endpoint, "http://", 7) != 0)
		bad = conf_error_at(errs, group, "endpoint",
		    "must be an "
		    "http:// or https:// URL");
	if (endpoint != NULL && strpbrk(endpoint, "?#") != NULL)
		bad = conf_error_at(errs, group, "endpoint",
		    "must have no "
		    "query: give a SAS token as sas_token");
	if (conf_get_enum(errs, group, "access_tier", false, tiers, &tier) ==
	    -1)
		bad = -1;
	if (conf_get_secret(errs, group, "account_key", false, &c->key_b64) ==
		-1 ||
	    conf_get_secret(errs, group, "sas_token", false, &c->sas) == -1 ||
	    conf_get_secret(errs, group, "client_secret", false,
		&c->client_secret) == -1 ||
	    conf_get_str(errs, group, "tenant_id", false, &tenant) == -1 ||
	    conf_get_str(errs, group, "client_id", false, &client) == -1 ||
	    conf_get_str(errs, group, "authority_host", false, &authority) ==
		-1 ||
	    conf_get_str(errs, group, "imds_endpoint", false, &imds) == -1 ||
	    conf_get_str(errs, group, "ca_file", false, &ca_file) == -1)
		bad = -1;
	if (c->key_b64 != NULL &&
	    azure_key_decode(c->key_b64, key, &keylen) != 0)
		bad = conf_error_at(errs, group, "account_key",
		    "is not an "
		    "account key (the base64 text the portal shows)");
	crypto_wipe(key, sizeof(key));
	if ((c->key_b64 != NULL) + (c->sas != NULL) +
		(c->client_secret != NULL) >
	    1)
		bad = conf_error(errs, group,
		    "give one of account_key, "
		    "sas_token and client_secret, not several");
	if (c->client_secret != NULL && (tenant == NULL || client == NULL))
		bad = conf_error(errs, group,
		    "client_secret needs tenant_id "
		    "and client_id");
	if ((c->key_b64 != NULL || c->sas != NULL) &&
	    (tenant != NULL || client != NULL))
		bad = conf_error(errs, group,
		    "tenant_id and client_id are "
		    "for Entra ID: drop them, or account_key and sas_token");
	if (bad || account == NULL || container == NULL) {
		azblob_conf_free(c);
		return -1;
	}
	c->account = strdup(account);
	c->container = strdup(container);
	if (endpoint != NULL)
		c->endpoint = strdup(endpoint);
	else if (asprintf(&c->endpoint, "https://%s.blob.core.windows.net",
		     account) < 0)
		c->endpoint = NULL;
	if (tier >= 0)
		c->tier = strdup(tiers[tier]);
	c->tenant = dup_opt(tenant, &oom);
	c->client_id = dup_opt(client, &oom);
	c->authority = dup_opt(authority, &oom);
	c->imds = dup_opt(imds, &oom);
	c->ca_file = dup_opt(ca_file, &oom);
	if (c->sas != NULL && c->sas[0] == '?')
		memmove(c->sas, c->sas + 1, strlen(c->sas));
	if (c->account == NULL || c->container == NULL ||
	    c->endpoint == NULL || (tier >= 0 && c->tier == NULL) || oom) {
		azblob_conf_free(c);
		return conf_error(errs, group, "out of memory");
	}
	n = strlen(c->endpoint);
	while (n > 0 && c->endpoint[n - 1] == '/')
		c->endpoint[--n] = '\0';
	/* Kept out of every log line and message while configured. */
	if (register_secrets(c) != 0) {
		azblob_conf_free(c);
		return conf_error(errs, group, "out of memory");
	}
	*ret_tconf = c;
	return 0;
}

static void azblob_close(void *ctx);

static int
azblob_open(void **ret_ctx, const struct storage_conf *conf,
    struct ag_err *err)
{
	const struct azblob_conf *c = conf->tconf;
	struct azblob *az;
	const char *host;
	bool oom = false;

	if ((az = calloc(1, sizeof(*az))) == NULL)
		return ag_err_set(err, "azure[%s]: out of memory", conf->name);
	az->name = dup_opt(conf->name, &oom);
	az->own.account = dup_opt(c->account, &oom);
	az->own.container = dup_opt(c->container, &oom);
	az->own.endpoint = dup_opt(c->endpoint, &oom);
	az->own.tier = dup_opt(c->tier, &oom);
	az->own.key_b64 = dup_opt(c->key_b64, &oom);
	az->own.sas = dup_opt(c->sas, &oom);
	az->own.client_secret = dup_opt(c->client_secret, &oom);
	az->own.tenant = dup_opt(c->tenant, &oom);
	az->own.client_id = dup_opt(c->client_id, &oom);
	az->own.authority = dup_opt(c->authority, &oom);
	az->own.imds = dup_opt(c->imds, &oom);
	az->own.ca_file = dup_opt(c->ca_file, &oom);
	if (oom || register_secrets(&az->own) != 0 ||
	    (az->pool = http_pool_new(STORAGE_PARALLEL_MAX)) == NULL) {
		conf_clear(&az->own);
		free(az->name);
		free(az);
		return ag_err_set(err, "azure[%s]: out of memory", conf->name);
	}
	az->c = &az->own;
	if (c->key_b64 != NULL &&
	    azure_key_decode(c->key_b64, az->key, &az->keylen) != 0)
		az->keylen = 0; /* checked by conf_parse() */
	/* The endpoint's own path ("/devstoreaccount1" for Azurite). */
	host = strstr(az->c->endpoint, "://") + 3;
	az->path0 = host + strcspn(host, "/");
	if (az->c->key_b64 == NULL && az->c->sas == NULL) {
		char who[96];
		struct azure_cred_conf cc = { .tenant_id = az->c->tenant,
			.client_id = az->c->client_id,
			.client_secret = az->c->client_secret,
			.authority = az->c->authority,
			.imds_endpoint = az->c->imds,
			.scope = "https://storage.azure.com/.default",
			.name = who };

		snprintf(who, sizeof(who), "azure[%s]", az->name);
		if (azure_cred_new(&cc, &az->cred, err) != 0) {
			azblob_close(az);
			return -1;
		}
	}
	*ret_ctx = az;
	return 0;
}

static void
azblob_close(void *ctx)
{
	struct azblob *az = ctx;

	if (az == NULL)
		return;
	http_pool_free(az->pool);
	azure_cred_free(az->cred);
	crypto_wipe(az->key, sizeof(az->key));
	conf_clear(&az->own);
	free(az->name);
	free(az);
}

/* "Sun, 06 Nov 1994 08:49:37 GMT" for now, whatever the locale. */
static void
http_date(char out[32])
{
	static const char *const wd[] = { "Sun", "Mon", "Tue", "Wed", "Thu",
		"Fri", "Sat" };
	static const char *const mo[] = { "Jan", "Feb", "Mar", "Apr", "May",
		"Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	snprintf(out, 32, "%s, %02d %s %04d %02d:%02d:%02d GMT",
	    wd[tm.tm_wday], tm.tm_mday, mo[tm.tm_mon], tm.tm_year + 1900,
	    tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* Append ${key} percent-encoded segment by segment, '/' kept. */
static void
put_key(struct buf *b, const char *key)
{
	const char *seg = key;
	size_t n;
	char *enc;

	for (;;) {
		n = strcspn(seg, "/");
		if ((enc = http_urlencode(seg, n)) == NULL) {
			b->err = 1;
			return;
		}
		buf_puts(b, enc);
		free(enc);
		if (seg[n] == '\0')
			break;
		buf_puts(b, "/");
		seg += n + 1;
	}
}

/*
 * Perform ${call} on ${az}: URL, x-ms-date and x-ms-version, and the
 * SharedKey Authorization or the SAS token.  The answer goes to
 * ${resp} (freed by the caller).  Return as http_client_do().
 */
static int
perform(struct azblob *az, const struct call *call, struct http_resp *resp,
    struct ag_err *err)
{
	char date[32], hd[48], cl[40], *auth = NULL, *ah = NULL;
	const char *hdr[NHDR + 6], *sign[NHDR + 6];
	struct buf url, path;
	struct ag_err terr;
	size_t i, n = 0, ns;
	int rc;

	memset(resp, 0, sizeof(*resp));
	buf_init(&path, URL_MAX);
	buf_puts(&path, az->path0);
	buf_puts(&path, "/");
	buf_puts(&path, az->c->container);
	if (call->key != NULL) {
		buf_puts(&path, "/");
		put_key(&path, call->key);
	}
	buf_init(&url, URL_MAX);
	buf_append(&url, az->c->endpoint,
	    strlen(az->c->endpoint) - strlen(az->path0));
	buf_puts(&url, path.p != NULL ? path.p : "");
	if (call->query != NULL || az->c->sas != NULL)
		buf_puts(&url, "?");
	if (call->query != NULL)
		buf_puts(&url, call->query);
	if (call->query != NULL && az->c->sas != NULL)
		buf_puts(&url, "&");
	if (az->c->sas != NULL)
		buf_puts(&url, az->c->sas);
	http_date(date);
	snprintf(hd, sizeof(hd), "x-ms-date: %s", date);
	hdr[n++] = hd;
	hdr[n++] = "x-ms-version: " AZURE_STORAGE_VERSION;
	for (i = 0; call->hdr[i] != NULL && i < NHDR; i++)
		hdr[n++] = call->hdr[i];
	hdr[n] = NULL;
	if (az->c->key_b64 != NULL) {
		/* What curl sends of its own: the body's length. */
		memcpy(sign, hdr, n * sizeof(*hdr));
		ns = n;
		if (call->body_len > 0 || strcmp(call->method, "PUT") == 0) {
			snprintf(cl, sizeof(cl), "Content-Length: %zu",
			    call->body_len);
			sign[ns++] = cl;
		}
		sign[ns] = NULL;
		struct azure_sk_req sk = { call->method, path.p, call->query,
			sign, NULL };
		if (path.err == 0 &&
		    (auth = azure_sharedkey_auth(az->c->account, az->key,
			 az->keylen, &sk, AZURE_SK)) != NULL &&
		    asprintf(&ah, "Authorization: %s", auth) < 0)
			ah = NULL;
		free(auth);
		if (ah == NULL) {
			buf_free(&path);
			buf_free(&url);
			return ag_err_set(err,
			    "azure[%s]: out of memory "
			    "signing a request",
			    az->name);
		}
		hdr[n++] = ah;
		hdr[n] = NULL;
	} else if (az->cred != NULL) {
		if ((rc = azure_cred_header(az->cred, &ah, err)) != 0) {
			buf_free(&path);
			buf_free(&url);
			return rc;
		}
		hdr[n++] = ah;
		hdr[n] = NULL;
	}
	buf_free(&path);
	if (url.err) {
		free(ah);
		buf_free(&url);
		return ag_err_set(err, "azure[%s]: out of memory", az->name);
	}
	struct http_req req = { .method = call->method,
		.url = url.p,
		.headers = hdr,
		.body = call->body,
		.body_len = call->body_len,
		.ca_file = az->c->ca_file,
		.sink = call->sink,
		.sink_cookie = call->cookie };
	rc = http_pool_do(az->pool, &req, resp, &terr);
	if (rc != 0) /* the transport's words, under the target's name */
		(void)ag_err_set(err, "azure[%s]: %s", az->name, terr.msg);
	if (ah != NULL)
		crypto_wipe(ah, strlen(ah));
	free(ah);
	buf_free(&url);
	return rc;
}

/*
 * Judge the answer ${resp} to "${what} ${key}": 0 for 2xx; otherwise fill
 * ${err} once, from Azure's <Error> where there is one, and return
 * AG_RETRY (408, 429, 5xx) or -1.  ${code} (${codelen} bytes) gets
 * Azure's error code, "" if none.
 */
static int
judge(struct azblob *az, const char *what, const char *key,
    const struct http_resp *resp, char *code, size_t codelen,
    struct ag_err *err)
{
	char msg[256];
	const char *hc;
	int cls = http_status_class(resp->status);

	code[0] = '\0';
	if (cls == 0)
		return 0;
	if (azblob_xml_error(resp->body, resp->body_len, code, codelen, msg,
		sizeof(msg)) != 0) {
		/* HEAD answers and proxies: the code header, if any. */
		if ((hc = http_resp_header(resp, "x-ms-error-code")) != NULL)
			snprintf(code, codelen, "%s", hc);
		msg[0] = '\0';
	}
	if (strcmp(code, "ContainerNotFound") == 0)
		(void)ag_err_set(err,
		    "azure[%s]: container \"%s\" does not "
		    "exist in storage account \"%s\": create it, or set "
		    "\"container\" to one that exists",
		    az->name, az->c->container, az->c->account);
	else if (strcmp(code, "AuthenticationFailed") == 0 ||
	    strcmp(code, "AuthorizationFailure") == 0 ||
	    strcmp(code, "AuthorizationPermissionMismatch") == 0) {
		if (az->c->key_b64 != NULL)
			(void)ag_err_set(err,
			    "azure[%s]: storage account "
			    "\"%s\" refused the account key (%s): set "
			    "account_key to one of the account's current keys, "
			    "and check this host's clock",
			    az->name, az->c->account, code);
		else if (az->cred != NULL)
			(void)ag_err_set(err,
			    "azure[%s]: storage account "
			    "\"%s\" refused the Entra ID token of the %s "
			    "(%s): give that identity the role Storage Blob "
			    "Data Contributor on container \"%s\"",
			    az->name, az->c->account,
			    azure_cred_kind_name(azure_cred_kind(az->cred)),
			    code, az->c->container);
		else
			(void)ag_err_set(err,
			    "azure[%s]: storage account "
			    "\"%s\" refused the SAS token (%s): give a "
			    "sas_token that has not expired and grants read, "
			    "add, create, write, delete and list (racwdl) on "
			    "container \"%s\", and check this host's clock",
			    az->name, az->c->account, code, az->c->container);
	} else
		(void)ag_err_set(err, "azure[%s]: %s %s: %ld %s%s%s", az->name,
		    what, key, resp->status,
		    code[0] ? code : "(no error code)", msg[0] ? ": " : "",
		    msg);
	/*
	 * A token refused as invalid (Azure: 401 InvalidAuthenticationInfo
	 * "The token is expired"; Azurite: 403 AuthenticationFailed) may have
	 * expired early: a new one, and the request tried again.
	 */
	if (az->cred != NULL &&
	    (resp->status == 401 ||
		strcmp(code, "AuthenticationFailed") == 0 ||
		strcmp(code, "InvalidAuthenticationInfo") == 0) &&
	    azure_cred_refused(az->cred))
		return AG_RETRY;
	return cls;
}

/*
 * Perform ${call} and judge its answer as "${what} ${key}", keeping no
 * body; Azure's code goes to ${code}.  Return 0, AG_RETRY or -1.
 */
static int
roundtrip(struct azblob *az, const struct call *call, const char *what,
    char code[64], struct ag_err *err)
{
	struct http_resp resp;
	int rc;

	code[0] = '\0';
	if ((rc = perform(az, call, &resp, err)) == 0)
		rc = judge(az, what, call->key, &resp, code, 64, err);
	http_resp_free(&resp);
	return rc;
}

/* The access tier header of new blobs in ${buf}, or NULL if none. */
static const char *
tier_header(const struct azblob *az, char buf[48])
{

	if (az->c->tier == NULL)
		return NULL;
	snprintf(buf, 48, "x-ms-access-tier: %s", az->c->tier);
	return buf;
}

/* azblob_put(): Put Blob, a whole block blob in one request. */
static int
azblob_put(void *ctx, const char *key, const uint8_t *buf, size_t len,
    struct ag_err *err)
{
	struct azblob *az = ctx;
	char tier[48], code[64];
	struct call call = { .method = "PUT",
		.key = key,
		.body = buf,
		.body_len = len };

	call.hdr[0] = "x-ms-blob-type: BlockBlob";
	call.hdr[1] = tier_header(az, tier);
	return roundtrip(az, &call, "put", code, err);
}

static int
azblob_put_begin(void *ctx, const char *key, void **ret_up, struct ag_err *err)
{
	struct azblob *az = ctx;
	struct azblob_up *up;

	if ((up = calloc(1, sizeof(*up))) == NULL ||
	    (up->key = strdup(key)) == NULL ||
	    pthread_mutex_init(&up->mu, NULL) != 0) {
		if (up != NULL)
			free(up->key);
		free(up);
		return ag_err_set(err, "azure[%s]: out of memory", az->name);
	}
	up->az = az;
	*ret_up = up;
	return 0;
}

/* Put Block ${idx}; blocks of one upload go in parallel. */
static int
azblob_put_part(void *upp, uint64_t idx, const uint8_t *buf, size_t len,
    struct ag_err *err)
{
	struct azblob_up *up = upp;
	struct azblob *az = up->az;
	char id[AZBLOB_BLOCKID_LEN + 1], q[80], code[64];
	int rc;

	if (idx >= AZBLOB_MAX_BLOCKS)
		return ag_err_set(err,
		    "azure[%s]: put %s: more than %u blocks", az->name,
		    up->key, AZBLOB_MAX_BLOCKS);
	azblob_block_id((unsigned)idx, id);
	snprintf(q, sizeof(q), "comp=block&blockid=%s", id);
	struct call call = { .method = "PUT",
		.key = up->key,
		.query = q,
		.body = buf,
		.body_len = len };
	if ((rc = roundtrip(az, &call, "put block of", code, err)) == 0) {
		pthread_mutex_lock(&up->mu);
		if (idx + 1 > up->nblocks)
			up->nblocks = (unsigned)idx + 1;
		pthread_mutex_unlock(&up->mu);
	}
	return rc;
}

static void
azblob_put_abort(void *upp)
{
	struct azblob_up *up = upp;

	/* Uncommitted blocks are invisible; Azure drops them in a week. */
	if (up == NULL)
		return;
	pthread_mutex_destroy(&up->mu);
	free(up->key);
	free(up);
}

/* Put Block List of blocks 0 .. nblocks - 1 (storage.c checked them). */
static int
azblob_put_commit(void *upp, struct ag_err *err)
{
	struct azblob_up *up = upp;
	struct azblob *az = up->az;
	char tier[48], code[64];
	struct buf body;
	int rc;

	buf_init(&body, (size_t)AZBLOB_MAX_BLOCKS * 40 + 128);
	if (azblob_xml_blocklist(up->nblocks, &body) != 0) {
		buf_free(&body);
		azblob_put_abort(up);
		return ag_err_set(err, "azure[%s]: out of memory", az->name);
	}
	struct call call = { .method = "PUT",
		.key = up->key,
		.query = "comp=blocklist",
		.body = body.p,
		.body_len = body.len };
	call.hdr[0] = "Content-Type: application/xml";
	call.hdr[1] = tier_header(az, tier);
	rc = roundtrip(az, &call, "commit", code, err);
	buf_free(&body);
	if (rc != AG_RETRY)
		azblob_put_abort(up);
	return rc;
}

static int
azblob_get(void *ctx, const char *key, uint64_t off, uint64_t len,
    storage_sink_fn *sink, void *cookie, struct ag_err *err)
{
	struct azblob *az = ctx;
	struct storage_get_sink g = { sink, cookie, false };
	struct http_resp resp;
	char range[STORAGE_RANGE_HDR_MAX], code[64];
	int rc;

	struct call call = { .method = "GET",
		.key = key,
		.sink = storage_get_sink,
		.cookie = &g };
	if (len == 0)
		return 0;
	call.hdr[0] = storage_range_header(range, sizeof(range), "x-ms-range",
	    off, len);
	rc = perform(az, &call, &resp, err);
	if (g.stopped) {
		http_resp_free(&resp);
		return ag_err_set(err,
		    "azure[%s]: read %s: stopped by "
		    "reader",
		    az->name, key);
	}
	if (rc == 0) {
		rc = judge(az, "read", key, &resp, code, sizeof(code), err);
		if (rc != 0 && strcmp(code, "BlobNotFound") == 0)
			rc = STORAGE_ABSENT;
	}
	http_resp_free(&resp);
	return rc;
}

static int
azblob_list(void *ctx, const char *prefix, unsigned flags, struct objlist *out,
    struct ag_err *err)
{
	struct azblob *az = ctx;
	struct http_resp resp;
	struct buf q, marker;
	char code[64], *enc;
	int rc = 0;

	if (flags & STORAGE_LIST_INCOMPLETE)
		return 0; /* uncommitted blocks expire by themselves */
	buf_init(&q, URL_MAX);
	buf_init(&marker, URL_MAX);
	do {
		buf_reset(&q);
		buf_puts(&q,
		    "restype=container&comp=list&maxresults=" LIST_PAGE);
		if (prefix[0] != '\0' &&
		    (enc = http_urlencode(prefix, strlen(prefix))) != NULL) {
			buf_puts(&q, "&prefix=");
			buf_puts(&q, enc);
			free(enc);
		} else if (prefix[0] != '\0')
			q.err = 1;
		if (marker.len > 0 &&
		    (enc = http_urlencode(marker.p, marker.len)) != NULL) {
			buf_puts(&q, "&marker=");
			buf_puts(&q, enc);
			free(enc);
		} else if (marker.len > 0)
			q.err = 1;
		if (q.err) {
			rc = ag_err_set(err, "azure[%s]: out of memory",
			    az->name);
			break;
		}
		struct call call = { .method = "GET", .query = q.p };
		call.hdr[0] = NULL;
		if ((rc = perform(az, &call, &resp, err)) == 0)
			rc = judge(az, "list", prefix[0] ? prefix : "(all)",
			    &resp, code, sizeof(code), err);
		if (rc == 0 &&
		    (resp.truncated ||
			azblob_xml_list(resp.body, resp.body_len, out,
			    &marker) != 0))
			rc = ag_err_set(err,
			    "azure[%s]: list %s: the answer "
			    "is not a blob listing",
			    az->name, prefix);
		http_resp_free(&resp);
	} while (rc == 0 && marker.len > 0);
	buf_free(&q);
	buf_free(&marker);
	return rc;
}

static int
azblob_remove(void *ctx, const char *key, struct ag_err *err)
{
	struct azblob *az = ctx;
	char code[64];
	int rc;

	struct call call = { .method = "DELETE", .key = key };
	rc = roundtrip(az, &call, "remove", code, err);
	if (rc != 0 && strcmp(code, "BlobNotFound") == 0)
		rc = 0;
	return rc;
}

const struct storage_ops storage_azure_ops = {
	.name = "azure",
	.caps = STORAGE_CAP_MULTIPART | STORAGE_CAP_RANGE |
	    STORAGE_CAP_ATOMIC | STORAGE_CAP_PARALLEL,
	.part_min = 0,
	.part_align = 1,
	.part_max = AZBLOB_BLOCK_MAX,
	.max_parts = AZBLOB_MAX_BLOCKS,
	.settings = azblob_settings,
	.conf_parse = azblob_conf_parse,
	.conf_free = azblob_conf_free,
	.open = azblob_open,
	.put_begin = azblob_put_begin,
	.put_part = azblob_put_part,
	.put_commit = azblob_put_commit,
	.put_abort = azblob_put_abort,
	.put = azblob_put,
	.get = azblob_get,
	.list = azblob_list,
	.remove = azblob_remove,
	.abort_incomplete = NULL,
	.close = azblob_close,
};
