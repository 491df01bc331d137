/*
 * azure_token.c: Microsoft Entra ID access tokens and the credential chain
 * (see azure_token.h).
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/cloud/azure/azure_auth.h"
#include "lib/cloud/azure/azure_token.h"
#include "lib/crypto/crypto.h"
#include "lib/http/http.h"
#include "lib/log.h"

#define BODY_MAX (64 * 1024)
#define ASSERTION_MAX (16 * 1024) /* a federated token file, at most */
#define TOKEN_TIMEOUT_MS 30000
#define IMDS_CONNECT_MS 3000

struct azure_cred {
	enum azure_cred_kind kind;
	char *name;
	char *tenant, *client_id, *secret, *token_file;
	char *authority, *imds, *scope;
	pthread_mutex_t mu;
	bool mu_ok, secret_registered;
	struct azure_token tok; /* cached; access registered */
	bool stale;		/* refused by a server: fetch again */
	bool after_refusal;	/* tok was fetched because of a refusal */
};

/* The contents of ${b}, or NULL (${b} wiped) after a failed append. */
static char *
take(struct buf *b)
{
	if (b->err) {
		if (b->p != NULL)
			crypto_wipe(b->p, b->len);
		buf_free(b);
		return NULL;
	}
	return buf_take(b);
}

char *
azure_token_url(const char *authority, const char *tenant)
{
	struct buf b;
	size_t n = strlen(authority);

	buf_init(&b, BODY_MAX);
	while (n > 0 && authority[n - 1] == '/')
		n--;
	buf_append(&b, authority, n);
	buf_puts(&b, "/");
	buf_puts(&b, tenant);
	buf_puts(&b, "/oauth2/v2.0/token");
	return take(&b);
}

char *
azure_token_body_secret(const char *client_id, const char *secret,
    const char *scope)
{
	struct buf b;

	buf_init(&b, BODY_MAX);
	azure_form_add(&b, "client_id", client_id);
	azure_form_add(&b, "scope", scope);
	azure_form_add(&b, "client_secret", secret);
	azure_form_add(&b, "grant_type", "client_credentials");
	return take(&b);
}

char *
azure_token_body_assertion(const char *client_id, const char *assertion,
    const char *scope)
{
	struct buf b;

	buf_init(&b, BODY_MAX);
	azure_form_add(&b, "client_id", client_id);
	azure_form_add(&b, "scope", scope);
	azure_form_add(&b, "client_assertion_type",
	    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer");
	azure_form_add(&b, "client_assertion", assertion);
	azure_form_add(&b, "grant_type", "client_credentials");
	return take(&b);
}

char *
azure_imds_url(const char *endpoint, const char *resource,
    const char *client_id)
{
	struct buf b, q;

	buf_init(&q, BODY_MAX);
	azure_form_add(&q, "api-version", "2018-02-01");
	azure_form_add(&q, "resource", resource);
	if (client_id != NULL)
		azure_form_add(&q, "client_id", client_id);
	buf_init(&b, BODY_MAX);
	buf_puts(&b, endpoint);
	buf_puts(&b, "?");
	buf_puts(&b, q.p != NULL ? q.p : "");
	if (q.err)
		b.err = q.err;
	buf_free(&q);
	return take(&b);
}

void
azure_token_clear(struct azure_token *t)
{
	if (t->access != NULL) {
		crypto_wipe(t->access, strlen(t->access));
		free(t->access);
	}
	t->access = NULL;
	t->expires_on = 0;
}

/* A JSON member that is a whole number or a string of one; -1 if not. */
static long long
num_member(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	const char *s;
	char *end;
	long long n;

	if (json_is_integer(v))
		return (long long)json_integer_value(v);
	if (!json_is_string(v))
		return -1;
	s = json_string_value(v);
	errno = 0;
	n = strtoll(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || n < 0)
		return -1;
	return n;
}

int
azure_token_parse(long status, const char *body, size_t len, time_t now,
    struct azure_token *out, struct ag_err *err)
{
	json_t *o = NULL, *v;
	const char *e, *d;
	long long in, on;
	int cls = http_status_class(status);
	int rc = -1;

	out->access = NULL;
	out->expires_on = 0;
	if (body != NULL && len > 0)
		o = json_loadb(body, len, 0, NULL);
	if (cls != 0) {
		e = json_string_value(json_object_get(o, "error"));
		d = json_string_value(json_object_get(o, "error_description"));
		if (json_is_object(json_object_get(o, "error")))
			/* Some Azure services nest it: {"error":{"code":..}} */
			e = json_string_value(json_object_get(json_object_get(o,
								  "error"),
			    "code"));
		(void)ag_err_set(err, "HTTP %ld%s%s%s%.*s", status,
		    e != NULL ? " " : "", e != NULL ? e : "",
		    d != NULL ? ": " : "",
		    d != NULL ? (int)strcspn(d, "\r\n") : 0,
		    d != NULL ? d : "");
		json_decref(o);
		return cls;
	}
	if (!json_is_object(o)) {
		(void)ag_err_set(err,
		    "the token endpoint's answer is not "
		    "JSON");
		goto out;
	}
	v = json_object_get(o, "access_token");
	if (!json_is_string(v) || json_string_length(v) == 0) {
		(void)ag_err_set(err,
		    "the token endpoint's answer has no "
		    "access_token");
		goto out;
	}
	in = num_member(o, "expires_in");
	on = num_member(o, "expires_on");
	if (in < 0 && on < 0) {
		(void)ag_err_set(err,
		    "the token endpoint's answer has no "
		    "expires_in or expires_on");
		goto out;
	}
	if ((out->access = strdup(json_string_value(v))) == NULL) {
		(void)ag_err_set(err, "out of memory");
		goto out;
	}
	out->expires_on = in >= 0 ? now + (time_t)in : (time_t)on;
	rc = 0;
out:
	json_decref(o);
	return rc;
}

/* strdup() of ${s}, NULL staying NULL; sets ${*oom}. */
static char *
dup_opt(const char *s, bool *oom)
{
	char *d;

	if (s == NULL || *s == '\0')
		return NULL;
	if ((d = strdup(s)) == NULL)
		*oom = true;
	return d;
}

/* The environment variable ${name}, NULL if unset or empty. */
static const char *
env(const char *name)
{
	const char *v = getenv(name);

	return v != NULL && *v != '\0' ? v : NULL;
}

/* Wipe, unregister and free what ${c} holds, and ${c}. */
static void
cred_destroy(struct azure_cred *c)
{
	if (c->tok.access != NULL)
		log_secret_remove(c->tok.access);
	azure_token_clear(&c->tok);
	if (c->secret != NULL) {
		if (c->secret_registered)
			log_secret_remove(c->secret);
		crypto_wipe(c->secret, strlen(c->secret));
		free(c->secret);
	}
	if (c->mu_ok)
		pthread_mutex_destroy(&c->mu);
	free(c->name);
	free(c->tenant);
	free(c->client_id);
	free(c->token_file);
	free(c->authority);
	free(c->imds);
	free(c->scope);
	free(c);
}

const char *
azure_cred_kind_name(enum azure_cred_kind k)
{
	switch (k) {
	case AZURE_CRED_CONFIG:
		return "configuration";
	case AZURE_CRED_ENV:
		return "environment";
	case AZURE_CRED_WORKLOAD:
		return "workload identity";
	case AZURE_CRED_MANAGED:
		break;
	}
	return "managed identity";
}

int
azure_cred_new(const struct azure_cred_conf *conf, struct azure_cred **ret,
    struct ag_err *err)
{
	const char *name = conf->name != NULL ? conf->name : "azure";
	const char *tenant = conf->tenant_id, *client = conf->client_id;
	const char *secret = NULL, *file = NULL;
	enum azure_cred_kind kind;
	struct azure_cred *c;
	bool oom = false;

	if (conf->client_secret != NULL) {
		if (tenant == NULL || client == NULL)
			return ag_err_set(err,
			    "%s: a client secret needs "
			    "tenant_id and client_id",
			    name);
		kind = AZURE_CRED_CONFIG;
		secret = conf->client_secret;
	} else if (env("AZURE_CLIENT_SECRET") != NULL) {
		kind = AZURE_CRED_ENV;
		secret = env("AZURE_CLIENT_SECRET");
		tenant = tenant != NULL ? tenant : env("AZURE_TENANT_ID");
		client = client != NULL ? client : env("AZURE_CLIENT_ID");
		if (tenant == NULL || client == NULL)
			return ag_err_set(err,
			    "%s: AZURE_CLIENT_SECRET is set "
			    "but AZURE_TENANT_ID or AZURE_CLIENT_ID is not",
			    name);
	} else if ((file = env("AZURE_FEDERATED_TOKEN_FILE")) != NULL) {
		kind = AZURE_CRED_WORKLOAD;
		tenant = tenant != NULL ? tenant : env("AZURE_TENANT_ID");
		client = client != NULL ? client : env("AZURE_CLIENT_ID");
		if (tenant == NULL || client == NULL)
			return ag_err_set(err,
			    "%s: AZURE_FEDERATED_TOKEN_FILE "
			    "is set but AZURE_TENANT_ID or AZURE_CLIENT_ID is "
			    "not",
			    name);
	} else {
		kind = AZURE_CRED_MANAGED;
		/* A user-assigned identity is named by its client id. */
		if (client == NULL)
			client = env("AZURE_CLIENT_ID");
	}
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return ag_err_set(err, "%s: out of memory", name);
	c->kind = kind;
	c->name = dup_opt(name, &oom);
	c->tenant = dup_opt(tenant, &oom);
	c->client_id = dup_opt(client, &oom);
	c->secret = dup_opt(secret, &oom);
	c->token_file = dup_opt(file, &oom);
	c->authority = dup_opt(conf->authority != NULL ?
		conf->authority :
		env("AZURE_AUTHORITY_HOST") != NULL ?
		env("AZURE_AUTHORITY_HOST") :
		AZURE_AUTHORITY_DEFAULT,
	    &oom);
	c->imds = dup_opt(conf->imds_endpoint != NULL ? conf->imds_endpoint :
							AZURE_IMDS_DEFAULT,
	    &oom);
	c->scope = dup_opt(conf->scope, &oom);
	if (oom || c->scope == NULL || pthread_mutex_init(&c->mu, NULL) != 0) {
		cred_destroy(c);
		return ag_err_set(err, "%s: out of memory", name);
	}
	c->mu_ok = true;
	if (c->secret != NULL) {
		if (log_secret_add(c->secret) != 0) {
			cred_destroy(c);
			return ag_err_set(err, "%s: out of memory", name);
		}
		c->secret_registered = true;
	}
	*ret = c;
	return 0;
}

enum azure_cred_kind
azure_cred_kind(const struct azure_cred *c)
{
	return c->kind;
}

/*
 * Read the federated token file of ${c} (it may be replaced at any time:
 * read it for every request) into a malloc'd string.  NULL with ${err}.
 */
static char *
read_assertion(struct azure_cred *c, struct ag_err *err)
{
	char *buf;
	ssize_t n;
	size_t len = 0;
	int fd;

	if ((fd = open(c->token_file, O_RDONLY | O_CLOEXEC)) < 0) {
		(void)ag_err_set(err,
		    "%s: workload identity: cannot read "
		    "AZURE_FEDERATED_TOKEN_FILE %s: %s",
		    c->name, c->token_file, strerror(errno));
		return NULL;
	}
	if ((buf = malloc(ASSERTION_MAX + 1)) == NULL) {
		close(fd);
		(void)ag_err_set(err, "%s: out of memory", c->name);
		return NULL;
	}
	while (len < ASSERTION_MAX &&
	    (n = read(fd, buf + len, ASSERTION_MAX - len)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			(void)ag_err_set(err,
			    "%s: workload identity: cannot "
			    "read %s: %s",
			    c->name, c->token_file, strerror(errno));
			close(fd);
			free(buf);
			return NULL;
		}
		len += (size_t)n;
	}
	close(fd);
	while (len > 0 &&
	    (buf[len - 1] == '\n' || buf[len - 1] == '\r' ||
		buf[len - 1] == ' '))
		len--;
	buf[len] = '\0';
	if (len == 0 || len == ASSERTION_MAX) {
		(void)ag_err_set(err, "%s: workload identity: %s %s", c->name,
		    c->token_file, len == 0 ? "is empty" : "is too large");
		free(buf);
		return NULL;
	}
	return buf;
}

/* Fetch a new token for ${c} into ${out}.  0, AG_RETRY or -1. */
static int
fetch(struct azure_cred *c, struct azure_token *out, struct ag_err *err)
{
	static const char *const form_hdr[] = {
		"Content-Type: application/x-www-form-urlencoded",
		"Accept: application/json", NULL
	};
	static const char *const imds_hdr[] = { "Metadata: true",
		"Accept: application/json", NULL };
	struct http_req req = { .timeout_ms = TOKEN_TIMEOUT_MS };
	struct http_resp resp = { 0 };
	struct ag_err perr = { "" };
	char *url = NULL, *body = NULL, *assertion = NULL, *resource;
	size_t n;
	int rc;

	if (c->kind == AZURE_CRED_MANAGED) {
		/* IMDS names the resource: the scope without "/.default". */
		if ((resource = strdup(c->scope)) == NULL)
			return ag_err_set(err, "%s: out of memory", c->name);
		n = strlen(resource);
		if (n > 9 && strcmp(resource + n - 9, "/.default") == 0)
			resource[n - 8] = '\0';
		url = azure_imds_url(c->imds, resource, c->client_id);
		free(resource);
		req.method = "GET";
		req.headers = imds_hdr;
		req.connect_timeout_ms = IMDS_CONNECT_MS;
	} else {
		if (c->kind == AZURE_CRED_WORKLOAD &&
		    (assertion = read_assertion(c, err)) == NULL)
			return -1;
		url = azure_token_url(c->authority, c->tenant);
		body = assertion != NULL ?
		    azure_token_body_assertion(c->client_id, assertion,
			c->scope) :
		    azure_token_body_secret(c->client_id, c->secret, c->scope);
		req.method = "POST";
		req.headers = form_hdr;
		req.body = body;
		req.body_len = body != NULL ? strlen(body) : 0;
		if (assertion != NULL) {
			crypto_wipe(assertion, strlen(assertion));
			free(assertion);
		}
		if (body == NULL) {
			free(url);
			return ag_err_set(err, "%s: out of memory", c->name);
		}
	}
	if (url == NULL) {
		free(body);
		return ag_err_set(err, "%s: out of memory", c->name);
	}
	req.url = url;
	rc = http_do(&req, &resp, &perr);
	if (rc != 0)
		(void)ag_err_set(err, "%s: %s token: %s%s", c->name,
		    azure_cred_kind_name(c->kind), perr.msg,
		    c->kind == AZURE_CRED_MANAGED ?
			" (no managed identity "
			"endpoint answers: is this an Azure machine with an "
			"identity? Otherwise configure a key, a SAS token or a "
			"client secret)" :
			"");
	else if ((rc = azure_token_parse(resp.status, resp.body, resp.body_len,
		      time(NULL), out, &perr)) != 0)
		(void)ag_err_set(err,
		    "%s: Entra ID refused the %s credential "
		    "for client %s: %s",
		    c->name, azure_cred_kind_name(c->kind),
		    c->client_id != NULL ? c->client_id : "(system-assigned)",
		    perr.msg);
	http_resp_free(&resp);
	if (body != NULL) {
		crypto_wipe(body, strlen(body));
		free(body);
	}
	free(url);
	return rc;
}

int
azure_cred_header(struct azure_cred *c, char **ret, struct ag_err *err)
{
	struct azure_token t;
	time_t now = time(NULL);
	int rc = 0;

	pthread_mutex_lock(&c->mu);
	if (c->tok.access == NULL || c->stale ||
	    now >= c->tok.expires_on - AZURE_TOKEN_EARLY) {
		if ((rc = fetch(c, &t, err)) == 0) {
			if (c->tok.access != NULL)
				log_secret_remove(c->tok.access);
			azure_token_clear(&c->tok);
			c->tok = t;
			c->after_refusal = c->stale;
			c->stale = false;
			if (log_secret_add(c->tok.access) != 0)
				rc = ag_err_set(err, "%s: out of memory",
				    c->name);
		} else if (c->tok.access != NULL && now < c->tok.expires_on) {
			rc = 0; /* the old one still works */
		}
	}
	if (rc == 0 &&
	    asprintf(ret, "Authorization: Bearer %s", c->tok.access) < 0)
		rc = ag_err_set(err, "%s: out of memory", c->name);
	pthread_mutex_unlock(&c->mu);
	return rc;
}

bool
azure_cred_refused(struct azure_cred *c)
{
	bool again;

	pthread_mutex_lock(&c->mu);
	/* A token fetched because of a refusal and refused too: not expiry. */
	again = c->tok.access != NULL && !c->after_refusal;
	if (again)
		c->stale = true;
	pthread_mutex_unlock(&c->mu);
	return again;
}

void
azure_cred_free(struct azure_cred *c)
{
	if (c != NULL)
		cred_destroy(c);
}
