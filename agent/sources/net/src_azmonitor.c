/*
 * src_azmonitor.c: the "azure_monitor" source: Azure Monitor platform
 * metrics of Azure resources, named one by one ("resources") or found by
 * tag and type through Azure Resource Manager ("discover").
 *
 * Calls.  Without "batch", one GET {resource}/providers/Microsoft.Insights/
 * metrics (api-version 2023-10-01) per resource asks for up to
 * AZMON_NAMES_PER_CALL metric names at once, with the aggregation, the
 * grain ("interval"), the timespan and the dimension filter ($filter), on
 * the Resource Manager endpoint with a token for
 * https://management.azure.com.  With "batch", the resources of one
 * subscription and region go AZMON_IDS_PER_BATCH at a time to POST
 * {region endpoint}/subscriptions/{sub}/metrics:getBatch with their ids in
 * the body and a token for https://metrics.monitor.azure.com: 50 virtual
 * machines of one region cost one call.
 *
 * Time.  A poll asks for the newest complete grain: the one ending at
 * (now - delay) rounded down to the grain.  Each resource remembers the
 * end of the grain last read, so a grain is asked for, and fed to the
 * rules, once; polling faster than the grain makes no calls.  A grain
 * missed (a failure, throttling) is not read later: only the newest one
 * matters to a rule.  Readings are stamped with the grain's start, as
 * Azure stamps them.
 *
 * Names.  "<source>.<metric>{resource=<id>,<dimension>=...}", plus, for a
 * discovered resource, its values of the tags it was found by
 * (agent/metric.h).  A resource that discovery no longer finds retires
 * the series it produced (metric_retire(): no no_data storm).  A failing
 * discovery keeps the resources last known.
 *
 * Failures.  A token refused (401) is fetched again and the call made
 * again at once (azure_cred_refused()), so an expired token leaves no
 * gap.  429 (throttling) pauses every call of the source for the longer
 * of Retry-After and a growing backoff (lib/backoff.h).  The counts are
 * readings of the source itself: "<source>.api_calls",
 * ".metrics_requested", ".datapoints", ".errors", ".resources".
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <jansson.h>

#include "lib/ag.h"
#include "lib/buf.h"
#include "lib/clock.h"
#include "lib/cloud/azure/azure_token.h"
#include "lib/http/http.h"
#include "lib/log.h"
#include "agent/metric.h"
#include "agent/source_backend.h"
#include "agent/sources/net/azmonitor_internal.h"
#include "agent/sources/net/cloudsrc.h"

#define AZMON_API_VERSION "2023-10-01"
#define AZMON_ARM_API_VERSION "2021-04-01"
#define AZMON_ARM_DEFAULT "https://management.azure.com"
#define AZMON_BATCH_DEFAULT "https://{region}.metrics.monitor.azure.com"
#define AZMON_ARM_SCOPE "https://management.azure.com/.default"
#define AZMON_BATCH_SCOPE "https://metrics.monitor.azure.com/.default"
/* The metrics API takes at most 20 metric names a call, 50 resources. */
#define AZMON_NAMES_PER_CALL 20
#define AZMON_IDS_PER_BATCH 50
#define AZMON_DEFAULT_DELAY_S 180
#define AZMON_DEFAULT_TTL_MS (5 * 60 * 1000)
#define AZMON_RESP_MAX (16 * 1024 * 1024)
#define AZMON_TIMEOUT_MS 30000
#define AZMON_PAGES_MAX 200
#define AZMON_RESOURCES_MAX 5000
#define AZMON_URL_MAX (64 * 1024)

static const char *const azm_settings[] = { "resources", "discover", "metrics",
	"namespace", "aggregation", "grain", "delay", "filter", "endpoint",
	"batch", "batch_endpoint", "region", "tenant_id", "client_id",
	"client_secret", "client_secret_file", "client_secret_env",
	"authority_host", "imds_endpoint", "ca_file", NULL };
static const char *const discover_keys[] = { "subscription", "resource_type",
	"tags", "ttl", NULL };

/* One resource watched. */
struct azm_res {
	char *id;
	char *sub;	    /* from the id */
	char *region;	    /* discovered location, or the "region" setting */
	char **tagv;	    /* discovered: its values of the discover tags */
	int64_t last_end_s; /* end of the grain last read; 0: none */
	char **names;	    /* series it produced, for retiring */
	size_t nnames, capnames;
	bool is_static;
	bool seen; /* discovery in progress: still there */
	bool due;  /* poll in progress: asked for */
	bool done; /* poll in progress: answered */
};

struct azm {
	char *name;
	char *endpoint, *batch_endpoint, *region;
	bool batch;
	char *ns, *filter, *grain_txt;
	char **metrics;
	size_t nmetrics;
	int agg;
	int64_t grain_s, delay_s;
	/* Entra ID */
	char *tenant, *client_id, *client_secret, *authority, *imds;
	char *ca_file;
	bool registered;
	struct azure_cred *arm_cred, *batch_cred;
	struct http_client *http;
	/* discovery */
	bool discover;
	char *sub, *rtype;
	char **tagk, **tagval;
	size_t ntags;
	int64_t ttl_ms, disc_next_ms;
	/* resources */
	struct azm_res **r;
	size_t nr, capr;
	struct cloudsrc_throttle th;
	int64_t retry_after_ms; /* of the last 429 */
	struct cloudsrc_counts k;
	char *pattern;
	const char *patterns[2];
};

static void
res_free(struct azm_res *r)
{
	if (r == NULL)
		return;
	free(r->id);
	free(r->sub);
	free(r->region);
	ag_strv_free(r->tagv);
	for (size_t i = 0; i < r->nnames; i++)
		free(r->names[i]);
	free(r->names);
	free(r);
}

static void
azm_free(void *vctx)
{
	struct azm *c = vctx;

	if (c == NULL)
		return;
	for (size_t i = 0; i < c->nr; i++)
		res_free(c->r[i]);
	free(c->r);
	azure_cred_free(c->arm_cred);
	azure_cred_free(c->batch_cred);
	http_client_free(c->http);
	if (c->registered)
		log_secret_remove(c->client_secret);
	conf_secret_free(c->client_secret);
	free(c->name);
	free(c->endpoint);
	free(c->batch_endpoint);
	free(c->region);
	free(c->ns);
	free(c->filter);
	free(c->grain_txt);
	ag_strv_free(c->metrics);
	free(c->tenant);
	free(c->client_id);
	free(c->authority);
	free(c->imds);
	free(c->ca_file);
	free(c->sub);
	free(c->rtype);
	ag_strv_free(c->tagk);
	ag_strv_free(c->tagval);
	free(c->pattern);
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

/* The subscription id of a resource id, as a new string; NULL if none. */
static char *
id_subscription(const char *id)
{
	static const char pfx[] = "/subscriptions/";
	size_t n;

	if (strncasecmp(id, pfx, sizeof(pfx) - 1) != 0)
		return NULL;
	id += sizeof(pfx) - 1;
	n = strcspn(id, "/");
	return n > 0 ? strndup(id, n) : NULL;
}

/* An endpoint: http(s)://host[:port], no path, trailing '/' dropped. */
static int
read_endpoint(const conf_node *cs, struct conf_errs *errs, const char *key,
    const char *def, bool region_ok, char **ret)
{
	const char *v = def;
	char *d;
	size_t n;

	if (conf_get_str(errs, cs, key, false, &v) == -1)
		return -1;
	if ((d = strdup(v)) == NULL)
		return conf_error(errs, cs, "out of memory");
	n = strlen(d);
	while (n > 0 && d[n - 1] == '/')
		d[--n] = '\0';
	if (!(region_ok && strstr(d, "{region}") != NULL) &&
	    !http_endpoint_valid(d)) {
		free(d);
		return conf_error_at(errs, cs, key,
		    "must be http://host[:port] "
		    "or https://host[:port], nothing after");
	}
	*ret = d;
	return 0;
}

static int
read_discover(struct azm *c, const conf_node *d, struct conf_errs *errs)
{
	const conf_node *tags;
	const char *sub = NULL, *rtype = NULL;
	int bad = 0;
	size_t n;

	if (!conf_is_group(d))
		return conf_error(errs, d,
		    "discover must be a group: { subscription = \"...\"; "
		    "resource_type = \"...\"; tags = { K = \"v\"; }; }");
	if (conf_check_keys(errs, d, discover_keys) > 0)
		bad = -1;
	if (conf_get_str(errs, d, "subscription", true, &sub) != 1 ||
	    conf_get_str(errs, d, "resource_type", true, &rtype) != 1)
		bad = -1;
	if (conf_get_dur(errs, d, "ttl", false, 1000, &c->ttl_ms) == -1)
		bad = -1;
	if ((tags = conf_member(d, "tags")) != NULL) {
		if (!conf_is_group(tags))
			return conf_error(errs, tags,
			    "tags must be a group: { Role = \"web\"; }");
		n = conf_len(tags);
		if ((c->tagk = calloc(n + 1, sizeof(char *))) == NULL ||
		    (c->tagval = calloc(n + 1, sizeof(char *))) == NULL)
			return conf_error(errs, d, "out of memory");
		for (size_t i = 0; i < n; i++) {
			const conf_node *t = conf_elem(tags, i);
			const char *v = NULL;

			if (conf_get_str(errs, tags, conf_name(t), true, &v) !=
			    1) {
				bad = -1;
				continue;
			}
			if (strcmp(conf_name(t), "resource") == 0) {
				bad = conf_error(errs, t,
				    "the tag name \"resource\" is the "
				    "label of the resource id");
				continue;
			}
			c->tagk[c->ntags] = strdup(conf_name(t));
			c->tagval[c->ntags] = strdup(v);
			if (c->tagk[c->ntags] == NULL ||
			    c->tagval[c->ntags] == NULL)
				return conf_error(errs, d, "out of memory");
			c->ntags++;
		}
	}
	if (bad)
		return -1;
	c->sub = strdup(sub);
	c->rtype = strdup(rtype);
	if (c->sub == NULL || c->rtype == NULL)
		return conf_error(errs, d, "out of memory");
	c->discover = true;
	return 0;
}

/* Append a resource; NULL when out of memory or over the limit. */
static struct azm_res *
res_add(struct azm *c, const char *id, const char *region)
{
	struct azm_res *r, **nv;

	if (c->nr == AZMON_RESOURCES_MAX)
		return NULL;
	if (c->nr == c->capr) {
		size_t cap = c->capr ? c->capr * 2 : 16;

		if ((nv = realloc(c->r, cap * sizeof(*nv))) == NULL)
			return NULL;
		c->r = nv;
		c->capr = cap;
	}
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return NULL;
	r->id = strdup(id);
	r->sub = id_subscription(id);
	r->region = region != NULL ? strdup(region) : NULL;
	if (r->id == NULL || r->sub == NULL ||
	    (region != NULL && r->region == NULL)) {
		res_free(r);
		return NULL;
	}
	c->r[c->nr++] = r;
	return r;
}

static int
azm_configure(void **ret_ctx, const conf_node *cs, struct conf_errs *errs)
{
	struct azm *c;
	const char *name = NULL, *ns = NULL, *filter = NULL, *grain = "PT1M";
	const char *tenant = NULL, *client = NULL, *authority = NULL;
	const char *imds = NULL, *ca = NULL, *region = NULL;
	const conf_node *d;
	char **res = NULL;
	size_t nres = 0;
	int bad = 0, agg = AZMON_AVERAGE;
	int64_t delay_ms = AZMON_DEFAULT_DELAY_S * 1000;
	bool oom = false;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return conf_error(errs, cs, "out of memory");
	c->ttl_ms = AZMON_DEFAULT_TTL_MS;
	cloudsrc_throttle_init(&c->th);
	if (conf_get_str(errs, cs, "name", false, &name) == -1 ||
	    conf_get_strv(errs, cs, "metrics", true, &c->metrics,
		&c->nmetrics) == -1 ||
	    conf_get_strv(errs, cs, "resources", false, &res, &nres) == -1 ||
	    conf_get_str(errs, cs, "namespace", false, &ns) == -1 ||
	    conf_get_enum(errs, cs, "aggregation", false, azmon_agg_names,
		&agg) == -1 ||
	    conf_get_str(errs, cs, "grain", false, &grain) == -1 ||
	    conf_get_dur(errs, cs, "delay", false, 0, &delay_ms) == -1 ||
	    conf_get_str(errs, cs, "filter", false, &filter) == -1 ||
	    conf_get_bool(errs, cs, "batch", false, &c->batch) == -1 ||
	    conf_get_str(errs, cs, "region", false, &region) == -1 ||
	    conf_get_str(errs, cs, "tenant_id", false, &tenant) == -1 ||
	    conf_get_str(errs, cs, "client_id", false, &client) == -1 ||
	    conf_get_secret(errs, cs, "client_secret", false,
		&c->client_secret) == -1 ||
	    conf_get_str(errs, cs, "authority_host", false, &authority) ==
		-1 ||
	    conf_get_str(errs, cs, "imds_endpoint", false, &imds) == -1 ||
	    conf_get_str(errs, cs, "ca_file", false, &ca) == -1)
		bad = -1;
	if (read_endpoint(cs, errs, "endpoint", AZMON_ARM_DEFAULT, false,
		&c->endpoint) != 0 ||
	    read_endpoint(cs, errs, "batch_endpoint", AZMON_BATCH_DEFAULT,
		true, &c->batch_endpoint) != 0)
		bad = -1;
	if (c->metrics != NULL && c->nmetrics == 0)
		bad = conf_error_at(errs, cs, "metrics",
		    "name at least one metric");
	for (size_t i = 0; i < c->nmetrics; i++)
		if (c->metrics[i][0] == '\0' ||
		    strpbrk(c->metrics[i], "{,") != NULL)
			bad = conf_error_at(errs, cs, "metrics",
			    "\"%s\" is not a metric name (empty, or with "
			    "'{' or ',')",
			    c->metrics[i]);
	if (azmon_grain_parse(grain, &c->grain_s) != 0)
		bad = conf_error_at(errs, cs, "grain",
		    "\"%s\" is not an ISO 8601 duration such as PT1M, PT5M, "
		    "PT1H or P1D",
		    grain);
	if ((d = conf_member(cs, "discover")) != NULL &&
	    read_discover(c, d, errs) != 0)
		bad = -1;
	if (nres == 0 && !c->discover)
		bad = conf_error(errs, cs,
		    "name resources (resources = [ \"/subscriptions/...\" ]) "
		    "or find them (discover = { ... })");
	for (size_t i = 0; i < nres; i++) {
		char *sub = id_subscription(res[i]);

		if (sub == NULL || strchr(res[i], '?') != NULL)
			bad = conf_error_at(errs, cs, "resources",
			    "\"%s\" is not a resource id "
			    "(/subscriptions/SUB/resourceGroups/...)",
			    res[i]);
		free(sub);
	}
	if (c->batch && nres > 0 && region == NULL)
		bad = conf_error_at(errs, cs, "region",
		    "batch needs the region of the resources named in "
		    "resources (\"westeurope\")");
	if (c->batch && ns == NULL && !c->discover)
		bad = conf_error_at(errs, cs, "namespace",
		    "batch needs the metric namespace "
		    "(\"Microsoft.Compute/virtualMachines\")");
	if (c->client_secret != NULL && (tenant == NULL || client == NULL))
		bad = conf_error(errs, cs,
		    "client_secret needs tenant_id and client_id");
	if (bad)
		goto fail;
	if (ns == NULL && c->discover)
		ns = c->rtype;
	c->agg = agg;
	c->delay_s = delay_ms / 1000;
	c->name = dup_opt(name != NULL ? name : "azure_monitor", &oom);
	c->ns = dup_opt(ns, &oom);
	c->filter = dup_opt(filter, &oom);
	c->grain_txt = dup_opt(grain, &oom);
	c->region = dup_opt(region, &oom);
	c->tenant = dup_opt(tenant, &oom);
	c->client_id = dup_opt(client, &oom);
	c->authority = dup_opt(authority, &oom);
	c->imds = dup_opt(imds, &oom);
	c->ca_file = dup_opt(ca, &oom);
	if (oom || asprintf(&c->pattern, "%s.*", c->name) < 0) {
		c->pattern = NULL;
		goto oom;
	}
	c->patterns[0] = c->pattern;
	for (size_t i = 0; i < nres; i++) {
		struct azm_res *r = res_add(c, res[i], c->region);

		if (r == NULL)
			goto oom;
		r->is_static = true;
	}
	if (c->client_secret != NULL) {
		if (log_secret_add(c->client_secret) != 0)
			goto oom;
		c->registered = true;
	}
	{
		char who[160];
		struct azure_cred_conf cc = { .tenant_id = c->tenant,
			.client_id = c->client_id,
			.client_secret = c->client_secret,
			.authority = c->authority,
			.imds_endpoint = c->imds,
			.scope = AZMON_ARM_SCOPE,
			.name = who };
		struct ag_err e;

		snprintf(who, sizeof(who), "azure_monitor[%s]", c->name);
		if (azure_cred_new(&cc, &c->arm_cred, &e) != 0) {
			bad = conf_error(errs, cs, "%s", e.msg);
			goto fail;
		}
		cc.scope = AZMON_BATCH_SCOPE;
		if (c->batch && azure_cred_new(&cc, &c->batch_cred, &e) != 0) {
			bad = conf_error(errs, cs, "%s", e.msg);
			goto fail;
		}
	}
	if ((c->http = http_client_new()) == NULL)
		goto oom;
	ag_strv_free(res);
	*ret_ctx = c;
	return 0;
oom:
	(void)conf_error(errs, cs, "out of memory");
fail:
	ag_strv_free(res);
	azm_free(c);
	return -1;
}

/* Requests. */

/*
 * Make the call ${method} ${url} (${body}: JSON, or NULL) with a token of
 * ${cred}; a token refused as invalid is fetched again and the call made
 * once more.  On a 2xx answer return 0 with ${resp} to read.  Otherwise
 * AG_RETRY (throttling, 5xx, transport; *${throttled} set on 429) or -1,
 * with ${err} set and ${resp} freed.
 */
static int
azm_do(struct azm *c, struct azure_cred *cred, const char *what,
    const char *method, const char *url, const char *body,
    struct http_resp *resp, bool *throttled, struct ag_err *err)
{
	char code[128], msg[256];
	struct ag_err e;
	int rc, tries = 0;

again:
	memset(resp, 0, sizeof(*resp));
	{
		char *ah = NULL;
		const char *hdrs[4];
		size_t n = 0;

		if ((rc = azure_cred_header(cred, &ah, &e)) != 0) {
			c->k.errors++;
			(void)ag_err_set(err, "%s: %s", c->name, e.msg);
			return rc == AG_RETRY ? AG_RETRY : -1;
		}
		hdrs[n++] = ah;
		hdrs[n++] = "Accept: application/json";
		if (body != NULL)
			hdrs[n++] = "Content-Type: application/json";
		hdrs[n] = NULL;
		struct http_req req = { .method = method,
			.url = url,
			.headers = hdrs,
			.body = body,
			.body_len = body != NULL ? strlen(body) : 0,
			.timeout_ms = AZMON_TIMEOUT_MS,
			.max_response = AZMON_RESP_MAX,
			.ca_file = c->ca_file };

		c->k.api_calls++;
		rc = http_client_do(c->http, &req, resp, &e);
		memset(ah, 0, strlen(ah));
		free(ah);
	}
	if (rc != 0) {
		c->k.errors++;
		http_resp_free(resp);
		(void)ag_err_set(err, "%s: %s: %s", c->name, what, e.msg);
		return rc == AG_RETRY ? AG_RETRY : -1;
	}
	if (resp->status >= 200 && resp->status < 300 && !resp->truncated)
		return 0;
	(void)azmon_parse_error(resp->body, resp->body_len, code, sizeof(code),
	    msg, sizeof(msg));
	if (resp->status == 401 && tries++ == 0 && azure_cred_refused(cred)) {
		log_info("%s: %s: the token was refused (%s); a new one is "
			 "fetched and the call made again",
		    c->name, what, code[0] ? code : "401");
		http_resp_free(resp);
		goto again;
	}
	c->k.errors++;
	if (resp->status == 429) {
		*throttled = true;
		c->retry_after_ms = cloudsrc_retry_after_ms(resp);
		rc = AG_RETRY;
		(void)ag_err_set(err, "%s: %s: throttled (HTTP 429%s%s)",
		    c->name, what, code[0] ? " " : "", code);
	} else if (resp->truncated) {
		rc = -1;
		(void)ag_err_set(err, "%s: %s: the answer is over %d bytes",
		    c->name, what, AZMON_RESP_MAX);
	} else if (resp->status == 401 || resp->status == 403) {
		rc = -1;
		(void)ag_err_set(err,
		    "%s: %s: HTTP %ld %s%s%s: the identity (%s) needs the "
		    "role Monitoring Reader on the resources",
		    c->name, what, resp->status, code, msg[0] ? ": " : "", msg,
		    azure_cred_kind_name(azure_cred_kind(cred)));
	} else {
		rc = http_status_class(resp->status) == AG_RETRY ? AG_RETRY :
								   -1;
		(void)ag_err_set(err, "%s: %s: HTTP %ld %s%s%s", c->name, what,
		    resp->status, code[0] ? code : "(no error code)",
		    msg[0] ? ": " : "", msg);
	}
	http_resp_free(resp);
	return rc;
}

/* Discovery. */

struct disc {
	struct azm *c;
	size_t found;
};

static bool
tags_match(const struct azm *c, const struct azmon_resource *r,
    const char **vals)
{
	for (size_t i = 0; i < c->ntags; i++) {
		vals[i] = NULL;
		for (size_t j = 0; j < r->ntags; j++)
			if (strcmp(r->tags[j].key, c->tagk[i]) == 0 &&
			    metric_glob_match(c->tagval[i], r->tags[j].value))
				vals[i] = r->tags[j].value;
		if (vals[i] == NULL)
			return false;
	}
	return true;
}

static struct azm_res *
res_find(struct azm *c, const char *id)
{
	for (size_t i = 0; i < c->nr; i++)
		if (strcasecmp(c->r[i]->id, id) == 0)
			return c->r[i];
	return NULL;
}

static int
on_resource(void *cookie, const struct azmon_resource *ar)
{
	struct disc *d = cookie;
	struct azm *c = d->c;
	const char *vals[AZMON_TAGS_MAX + 1];
	struct azm_res *r;

	if (strcasecmp(ar->type, c->rtype) != 0 || !tags_match(c, ar, vals))
		return 0;
	d->found++;
	if ((r = res_find(c, ar->id)) != NULL) {
		r->seen = true;
		return 0;
	}
	if ((r = res_add(c, ar->id, ar->location[0] ? ar->location : NULL)) ==
	    NULL) {
		log_warn("%s: resource %s not watched: out of memory or over "
			 "%d resources",
		    c->name, ar->id, AZMON_RESOURCES_MAX);
		return 0;
	}
	r->seen = true;
	if ((r->tagv = calloc(c->ntags + 1, sizeof(char *))) == NULL)
		return -1;
	for (size_t i = 0; i < c->ntags; i++)
		if ((r->tagv[i] = strdup(vals[i])) == NULL)
			return -1;
	log_info("%s: found %s", c->name, ar->id);
	return 0;
}

/* Retire the series of resource ${i} and drop it. */
static void
res_retire(struct azm *c, size_t i, struct metric_batch *out)
{
	struct azm_res *r = c->r[i];

	log_info("%s: resource %s is gone: its %zu series retired", c->name,
	    r->id, r->nnames);
	for (size_t k = 0; k < r->nnames; k++)
		(void)metric_retire(out, r->names[k]);
	res_free(r);
	memmove(c->r + i, c->r + i + 1, (c->nr - i - 1) * sizeof(*c->r));
	c->nr--;
}

static int
discover(struct azm *c, struct metric_batch *out, bool *throttled,
    struct ag_err *err)
{
	struct disc d = { c, 0 };
	struct http_resp resp;
	struct buf url, flt;
	char *next = NULL;
	int rc = 0, pages = 0;

	for (size_t i = 0; i < c->nr; i++)
		c->r[i]->seen = false;
	buf_init(&flt, 4096);
	if (c->ntags > 0 && strpbrk(c->tagval[0], "*?") == NULL) {
		buf_puts(&flt, "tagName eq '");
		buf_puts(&flt, c->tagk[0]);
		buf_puts(&flt, "' and tagValue eq '");
		buf_puts(&flt, c->tagval[0]);
		buf_puts(&flt, "'");
	} else {
		buf_puts(&flt, "resourceType eq '");
		buf_puts(&flt, c->rtype);
		buf_puts(&flt, "'");
	}
	buf_init(&url, AZMON_URL_MAX);
	buf_puts(&url, c->endpoint);
	buf_puts(&url, "/subscriptions/");
	cloudsrc_put_enc(&url, c->sub);
	buf_puts(&url, "/resources?$filter=");
	cloudsrc_put_enc(&url, flt.p != NULL ? flt.p : "");
	buf_puts(&url, "&api-version=" AZMON_ARM_API_VERSION);
	buf_free(&flt);
	if (url.err) {
		buf_free(&url);
		return ag_err_set(err, "%s: out of memory", c->name);
	}
	for (const char *u = url.p;; u = next) {
		char *nn = NULL;

		rc = azm_do(c, c->arm_cred, "list resources", "GET", u, NULL,
		    &resp, throttled, err);
		if (rc == 0) {
			struct ag_err pe;

			if (azmon_parse_resources(resp.body, resp.body_len,
				on_resource, &d, &nn, &pe) != 0) {
				c->k.errors++;
				rc = ag_err_set(err, "%s: list resources: %s",
				    c->name, pe.msg);
			}
			http_resp_free(&resp);
		}
		free(next);
		next = nn;
		if (rc != 0 || next == NULL)
			break;
		/* The token goes to the endpoint configured, nowhere else. */
		if (strncmp(next, c->endpoint, strlen(c->endpoint)) != 0 ||
		    next[strlen(c->endpoint)] != '/') {
			c->k.errors++;
			rc = ag_err_set(err,
			    "%s: list resources: nextLink leads away from "
			    "endpoint %s",
			    c->name, c->endpoint);
			break;
		}
		if (++pages == AZMON_PAGES_MAX) {
			c->k.errors++;
			rc = ag_err_set(err,
			    "%s: list resources: over %d pages", c->name,
			    AZMON_PAGES_MAX);
			break;
		}
	}
	free(next);
	buf_free(&url);
	if (rc != 0) {
		log_warn("%s: discovery failed, the %zu resources last known "
			 "are kept: %s",
		    c->name, c->nr, err->msg);
		return rc;
	}
	for (size_t i = 0; i < c->nr; i++)
		if (!c->r[i]->is_static && !c->r[i]->seen)
			res_retire(c, i--, out);
	log_debug("%s: discovery found %zu resources", c->name, d.found);
	return 0;
}

/* Polls. */

struct poll {
	struct azm *c;
	struct azm_res *single; /* a call for one resource */
	int64_t want_ms;	/* the grain fed: its start */
	struct metric_batch *out;
	size_t points;
};

/* Remember that ${r} produced ${name}. */
static void
res_note(struct azm_res *r, const char *name)
{
	char **nv;

	for (size_t i = 0; i < r->nnames; i++)
		if (strcmp(r->names[i], name) == 0)
			return;
	if (r->nnames == r->capnames) {
		size_t cap = r->capnames ? r->capnames * 2 : 8;

		if ((nv = realloc(r->names, cap * sizeof(*nv))) == NULL)
			return;
		r->names = nv;
		r->capnames = cap;
	}
	if ((r->names[r->nnames] = strdup(name)) != NULL)
		r->nnames++;
}

static int
on_point(void *cookie, const struct azmon_point *p)
{
	struct poll *pl = cookie;
	struct azm *c = pl->c;
	struct metric_label lab[AZMON_DIMS_MAX + AZMON_TAGS_MAX + 1];
	char base[METRIC_NAME_MAX], name[METRIC_NAME_MAX];
	struct azm_res *r = pl->single;
	size_t n = 0;

	if (p->resource != NULL)
		r = res_find(c, p->resource);
	if (r == NULL)
		return 0;
	if (p->error_code != NULL) {
		c->k.errors++;
		log_warn("%s: %s: metric \"%s\": %s%s%s", c->name, r->id,
		    p->metric, p->error_code, p->error_message[0] ? ": " : "",
		    p->error_message);
		return 0;
	}
	if (p->ts_ms != pl->want_ms || !(p->has & (1u << c->agg)))
		return 0;
	lab[n].key = "resource";
	lab[n++].value = r->id;
	for (size_t i = 0; r->tagv != NULL && i < c->ntags; i++) {
		lab[n].key = c->tagk[i];
		lab[n++].value = r->tagv[i];
	}
	for (size_t i = 0; i < p->ndims; i++) {
		bool dup = false;

		for (size_t j = 0; j < n; j++)
			dup |= strcmp(lab[j].key, p->dims[i].key) == 0;
		if (!dup)
			lab[n++] = p->dims[i];
	}
	snprintf(base, sizeof(base), "%s.%s", c->name, p->metric);
	if (metric_name_format(name, sizeof(name), base, lab, n) < 0) {
		log_debug("%s: %s: a reading of %s has no room for its "
			  "labels",
		    c->name, r->id, p->metric);
		return 0;
	}
	if (metric_add_ts(pl->out, p->ts_ms, p->v[c->agg], name) != 0)
		return 0;
	res_note(r, name);
	pl->points++;
	c->k.datapoints++;
	return 0;
}

/* The query of a metrics call for metric names [${m0}, ${m1}). */
static void
put_query(struct buf *b, const struct azm *c, size_t m0, size_t m1,
    int64_t end, bool batch)
{
	char t0[32], t1[32];
	struct buf names;

	buf_init(&names, AZMON_URL_MAX);
	for (size_t i = m0; i < m1; i++) {
		if (i > m0)
			buf_puts(&names, ",");
		buf_puts(&names, c->metrics[i]);
	}
	buf_puts(b, "metricnames=");
	cloudsrc_put_enc(b, names.p != NULL ? names.p : "");
	buf_free(&names);
	buf_puts(b, "&aggregation=");
	buf_puts(b, azmon_agg_names[c->agg]);
	buf_puts(b, "&interval=");
	cloudsrc_put_enc(b, c->grain_txt);
	cloudsrc_time(end - c->grain_s, t0);
	cloudsrc_time(end, t1);
	if (batch) {
		buf_puts(b, "&starttime=");
		cloudsrc_put_enc(b, t0);
		buf_puts(b, "&endtime=");
		cloudsrc_put_enc(b, t1);
	} else {
		buf_puts(b, "&timespan=");
		cloudsrc_put_enc(b, t0);
		cloudsrc_put_enc(b, "/");
		cloudsrc_put_enc(b, t1);
	}
	if (c->ns != NULL) {
		buf_puts(b, "&metricnamespace=");
		cloudsrc_put_enc(b, c->ns);
	}
	if (c->filter != NULL) {
		buf_puts(b, batch ? "&filter=" : "&$filter=");
		cloudsrc_put_enc(b, c->filter);
	}
	buf_puts(b, "&api-version=" AZMON_API_VERSION);
}

/* One GET for resource ${r}, metric names [${m0}, ${m1}). */
static int
poll_one(struct azm *c, struct azm_res *r, size_t m0, size_t m1, int64_t end,
    struct metric_batch *out, bool *throttled, struct ag_err *err)
{
	struct poll pl = { c, r, (end - c->grain_s) * 1000, out, 0 };
	struct http_resp resp;
	struct ag_err pe;
	struct buf url;
	int rc;

	buf_init(&url, AZMON_URL_MAX);
	buf_puts(&url, c->endpoint);
	if (r->id[0] != '/')
		buf_puts(&url, "/");
	buf_puts(&url, r->id);
	buf_puts(&url, "/providers/Microsoft.Insights/metrics?");
	put_query(&url, c, m0, m1, end, false);
	if (url.err) {
		buf_free(&url);
		return ag_err_set(err, "%s: %s: URL too long", c->name, r->id);
	}
	c->k.metrics_requested += m1 - m0;
	rc = azm_do(c, c->arm_cred, "metrics", "GET", url.p, NULL, &resp,
	    throttled, err);
	buf_free(&url);
	if (rc != 0)
		return rc;
	if (azmon_parse_metrics(resp.body, resp.body_len, false, on_point, &pl,
		&pe) != 0) {
		c->k.errors++;
		rc = ag_err_set(err, "%s: %s: metrics: %s", c->name, r->id,
		    pe.msg);
	}
	http_resp_free(&resp);
	return rc;
}

/* One getBatch for the resources ${v}[0, ${n}), metric names [m0, m1). */
static int
poll_batch(struct azm *c, struct azm_res **v, size_t n, size_t m0, size_t m1,
    int64_t end, struct metric_batch *out, bool *throttled, struct ag_err *err)
{
	struct poll pl = { c, NULL, (end - c->grain_s) * 1000, out, 0 };
	struct http_resp resp;
	struct ag_err pe;
	struct buf url;
	const char *ep = c->batch_endpoint, *ph;
	json_t *ids = NULL, *doc = NULL;
	char *js = NULL;
	int rc;

	buf_init(&url, AZMON_URL_MAX);
	if ((ph = strstr(ep, "{region}")) != NULL) {
		buf_append(&url, ep, (size_t)(ph - ep));
		buf_puts(&url, v[0]->region);
		buf_puts(&url, ph + strlen("{region}"));
	} else
		buf_puts(&url, ep);
	buf_puts(&url, "/subscriptions/");
	cloudsrc_put_enc(&url, v[0]->sub);
	buf_puts(&url, "/metrics:getBatch?");
	put_query(&url, c, m0, m1, end, true);
	if ((ids = json_array()) == NULL)
		url.err = 1;
	for (size_t i = 0; ids != NULL && i < n; i++)
		if (json_array_append_new(ids, json_string(v[i]->id)) != 0)
			url.err = 1;
	if (ids != NULL && !url.err &&
	    ((doc = json_pack("{s:O}", "resourceids", ids)) == NULL ||
		(js = json_dumps(doc, JSON_COMPACT)) == NULL))
		url.err = 1;
	json_decref(doc);
	json_decref(ids);
	if (url.err) {
		free(js);
		buf_free(&url);
		return ag_err_set(err, "%s: getBatch: out of memory", c->name);
	}
	c->k.metrics_requested += (m1 - m0) * n;
	rc = azm_do(c, c->batch_cred, "getBatch", "POST", url.p, js, &resp,
	    throttled, err);
	free(js);
	buf_free(&url);
	if (rc != 0)
		return rc;
	if (azmon_parse_metrics(resp.body, resp.body_len, true, on_point, &pl,
		&pe) != 0) {
		c->k.errors++;
		rc = ag_err_set(err, "%s: getBatch: %s", c->name, pe.msg);
	}
	http_resp_free(&resp);
	return rc;
}

/* Can ${a} and ${b} share a batch? */
static bool
same_group(const struct azm_res *a, const struct azm_res *b)
{
	return strcasecmp(a->sub, b->sub) == 0 && a->region != NULL &&
	    b->region != NULL && strcasecmp(a->region, b->region) == 0;
}

static int
poll_all(struct azm *c, int64_t now_s, struct metric_batch *out,
    bool *throttled, struct ag_err *err)
{
	int64_t end = (now_s - c->delay_s) / c->grain_s * c->grain_s;
	struct azm_res **v;
	int ret = 0;

	for (size_t i = 0; i < c->nr; i++) {
		c->r[i]->due = c->r[i]->last_end_s < end;
		c->r[i]->done = false;
	}
	if ((v = calloc(c->nr + 1, sizeof(*v))) == NULL)
		return ag_err_set(err, "%s: out of memory", c->name);
	for (size_t i = 0; i < c->nr && !*throttled; i++) {
		struct azm_res *r = c->r[i];
		size_t n = 0;
		int rc = 0;

		if (!r->due || r->done)
			continue;
		v[n++] = r;
		r->done = true;
		if (c->batch && r->region != NULL)
			for (size_t j = i + 1;
			     j < c->nr && n < AZMON_IDS_PER_BATCH; j++)
				if (c->r[j]->due && !c->r[j]->done &&
				    same_group(r, c->r[j])) {
					v[n++] = c->r[j];
					c->r[j]->done = true;
				}
		for (size_t m0 = 0; m0 < c->nmetrics && rc == 0;
		     m0 += AZMON_NAMES_PER_CALL) {
			size_t m1 = m0 + AZMON_NAMES_PER_CALL < c->nmetrics ?
			    m0 + AZMON_NAMES_PER_CALL :
			    c->nmetrics;

			rc = c->batch && r->region != NULL ?
			    poll_batch(c, v, n, m0, m1, end, out, throttled,
				err) :
			    poll_one(c, r, m0, m1, end, out, throttled, err);
		}
		if (rc == 0)
			for (size_t k = 0; k < n; k++)
				v[k]->last_end_s = end;
		else
			ret = rc;
	}
	free(v);
	return ret;
}

static int
azm_collect(void *vctx, struct metric_batch *out, struct ag_err *err)
{
	struct azm *c = vctx;
	int64_t mono = clock_mono_ms();
	bool throttled = false;
	int rc = 0, drc = 0;
	size_t at;

	c->k.resources = (int64_t)c->nr;
	at = cloudsrc_counters(c->name, &c->k, out, SIZE_MAX);
	if (cloudsrc_throttled(&c->th))
		return 0;
	c->retry_after_ms = 0;
	if (c->discover && (c->disc_next_ms == 0 || mono >= c->disc_next_ms)) {
		drc = discover(c, out, &throttled, err);
		/* A failed discovery is tried again at the next poll. */
		c->disc_next_ms = drc == 0 ? mono + c->ttl_ms : mono;
	}
	if (!throttled)
		rc = poll_all(c, out->now_ms / 1000, out, &throttled, err);
	if (throttled) {
		cloudsrc_throttle_hit(&c->th, c->name, c->retry_after_ms);
		if (rc == 0)
			rc = AG_RETRY;
	} else if (rc == 0 && drc == 0)
		cloudsrc_throttle_ok(&c->th);
	c->k.resources = (int64_t)c->nr;
	(void)cloudsrc_counters(c->name, &c->k, out, at);
	return rc != 0 ? rc : drc;
}

static const char *const *
azm_patterns(void *vctx)
{
	struct azm *c = vctx;

	return c->patterns;
}

const struct source_ops src_azmonitor_ops = {
	.type = "azure_monitor",
	.settings = azm_settings,
	.configure = azm_configure,
	.collect = azm_collect,
	.patterns = azm_patterns,
	.free = azm_free,
};
