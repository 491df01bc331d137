/*
 * src_cloudwatch.c: the "cloudwatch" source: Amazon CloudWatch metrics by
 * GetMetricData (query protocol: a form POST, or with protocol = "json"
 * CloudWatch's JSON protocol, awsJson1_0: a JSON POST naming the action in
 * X-Amz-Target; SigV4 through lib/cloud/aws/sigv4.h, credentials from the
 * chain of lib/cloud/aws/aws_creds.h), and EC2 instances found by their
 * tags (DescribeInstances, always the EC2 query protocol) instead of being
 * named one by one.
 *
 * Series.  Each entry of "metrics" (namespace, metric, stat, period,
 * dimensions) is one series, or, with "discover", one series per running
 * instance whose tags match, with the instance's InstanceId added to its
 * dimensions.  A series' reading is "<source>.<metric>{dimensions...}"
 * (agent/metric.h), a discovered one also carrying the instance's values
 * of the tags it was found by.
 *
 * Windows.  CloudWatch data arrives late and changes for minutes, so a
 * poll asks, for every period in use, for the window ending at (now -
 * delay) aligned down to the period, and starting two periods earlier (or
 * at the first bucket not yet read, after a pause such as throttling: the
 * schedule is never lost, up to CW_CATCHUP_MAX periods back).  The newest
 * bucket of a window is provisional: kept, not fed; the next poll reads it
 * again, keeps its newest value and only then feeds it.  Every bucket is
 * fed once (the newest fed bucket of each series is remembered), in time
 * order, stamped with its start as CloudWatch stamps it.  A period is
 * polled only once its window has moved on: no faster than the period,
 * whatever the source's interval.
 *
 * Calls.  The queries of one period go in as few GetMetricData calls as
 * possible, CW_QUERIES_PER_CALL a call, each followed through its
 * NextToken pages.  Throttling (lib/backoff.h) pauses every call of the
 * source for a growing time; the next poll after the pause reads what was
 * missed.  The counts (api_calls, metrics_requested, datapoints, errors,
 * series) are readings of the source itself: "<source>.api_calls" and so
 * on, so vigil status and the rules see them.
 *
 * Discovery.  The tag filters of the "discover" entries are asked of EC2
 * (tag:K=V, instance-state-name=running) every discover_ttl; instances
 * that appear get their series, those gone retire theirs (metric_retire():
 * the rules forget them silently, no no_data storm).  A failing
 * DescribeInstances keeps the fleet last known.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "lib/ag.h"
#include "lib/backoff.h"
#include "lib/buf.h"
#include "lib/clock.h"
#include "lib/cloud/aws/aws_creds.h"
#include "lib/cloud/aws/sigv4.h"
#include "lib/http/http.h"
#include "lib/log.h"
#include "conf/conf_creds.h"
#include "agent/metric.h"
#include "agent/source_backend.h"
#include "agent/sources/net/cloudwatch_internal.h"

#define CW_DEFAULT_DELAY_S 300
#define CW_DEFAULT_TTL_MS (5 * 60 * 1000)
/* Windows reach back at most this many periods after a pause. */
#define CW_CATCHUP_MAX 60
/* Largest request body and answer. */
#define CW_BODY_MAX (4 * 1024 * 1024)
#define CW_RESP_MAX (16 * 1024 * 1024)
#define CW_TOKEN_MAX 4096
#define CW_PAGES_MAX 100
#define CW_TIMEOUT_MS 30000

static const char *const cw_settings[] = { "region", "endpoint",
	"ec2_endpoint", CONF_AWS_KEYS, "delay", "discover_ttl", "protocol",
	"metrics", NULL };
static const char *const metric_keys[] = { "namespace", "metric", "stat",
	"period", "dimensions", "discover", "name", "recently_active", NULL };
static const char *const discover_keys[] = { "tags", NULL };

struct cw_dim {
	char *name;
	char *value;
};

/* One entry of "metrics". */
struct cw_metric {
	char *ns, *metric, *stat, *label;
	int64_t period_s;
	struct cw_dim *dims;
	size_t ndims;
	bool discover;
	struct cw_dim *tags; /* discover: tag filters */
	bool wildcard;	     /* a dimension "*": resolved by ListMetrics */
	bool recent;	     /* ListMetrics: only recently active metrics */
	size_t ntags;
};

/* One series: a metric of one resource. */
struct cw_series {
	size_t metric;	      /* index in ctx->m */
	char *instance;	      /* discovered: its InstanceId */
	struct cw_dim *xdims; /* ListMetrics: its dimensions, or NULL */
	size_t nxdims;
	char *name;	       /* the reading's name */
	struct cw_track track; /* fed and provisional buckets */
	int64_t last_end_s;    /* end of the window last read */
	bool seen;	       /* discovery: still in the fleet */
	/* Points of the poll in progress (bucket starts, seconds). */
	int64_t *pts;
	double *vals;
	size_t npts, cappts;
};

struct cw_ctx {
	char *name;
	char *region;
	char *endpoint, *host;
	char *ec2_endpoint, *ec2_host;
	struct aws_creds *creds;
	struct http_client *http;
	int64_t delay_s;
	int64_t ttl_ms;
	struct cw_metric *m;
	size_t nm;
	struct cw_series **s;
	size_t ns, caps;
	bool any_discover;
	bool json;	       /* protocol = "json" */
	bool inited;	       /* the static series made */
	int64_t disc_next_ms;  /* monotonic; 0: now */
	unsigned disc_attempt; /* discovery throttled in a row */
	struct backoff bo;
	unsigned throttle_attempt;
	int64_t throttle_until_ms; /* monotonic */
	uint64_t api_calls, metrics_requested, datapoints, errors;
	uint64_t polls;	     /* collections that read windows, all well */
	int64_t last_poll_s; /* wall time of the last of them; 0: none */
	const char *patterns[2];
	char *pattern;
};

/* Configuration. */

static void
dims_free(struct cw_dim *d, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(d[i].name);
		free(d[i].value);
	}
	free(d);
}

static void
series_free(struct cw_series *s)
{
	if (s == NULL)
		return;
	free(s->instance);
	dims_free(s->xdims, s->nxdims);
	free(s->name);
	free(s->pts);
	free(s->vals);
	free(s);
}

static void
cw_free(void *vctx)
{
	struct cw_ctx *c = vctx;

	if (c == NULL)
		return;
	for (size_t i = 0; i < c->nm; i++) {
		free(c->m[i].ns);
		free(c->m[i].metric);
		free(c->m[i].stat);
		free(c->m[i].label);
		dims_free(c->m[i].dims, c->m[i].ndims);
		dims_free(c->m[i].tags, c->m[i].ntags);
	}
	free(c->m);
	for (size_t i = 0; i < c->ns; i++)
		series_free(c->s[i]);
	free(c->s);
	aws_creds_free(c->creds);
	http_client_free(c->http);
	free(c->name);
	free(c->region);
	free(c->endpoint);
	free(c->host);
	free(c->ec2_endpoint);
	free(c->ec2_host);
	free(c->pattern);
	free(c);
}

/*
 * Read a group of string members ("dimensions", "tags") into ${ret}.
 * Return 0 or -1 (errors recorded).
 */
static int
read_pairs(const conf_node *g, struct conf_errs *errs, struct cw_dim **ret,
    size_t *ret_n)
{
	size_t n = conf_len(g);
	struct cw_dim *d;
	int bad = 0;

	*ret = NULL;
	*ret_n = 0;
	if (!conf_is_group(g))
		return conf_error(errs, g,
		    "must be a group: { Name = \"value\"; }");
	if (n > 30)
		return conf_error(errs, g, "more than 30 members");
	if (n == 0)
		return 0;
	if ((d = calloc(n, sizeof(*d))) == NULL)
		return conf_error(errs, g, "out of memory");
	for (size_t i = 0; i < n; i++) {
		const char *k = conf_name(conf_elem(g, i)), *v;

		if (k == NULL || conf_get_str(errs, g, k, true, &v) != 1) {
			bad = -1;
			continue;
		}
		if ((d[*ret_n].name = strdup(k)) == NULL ||
		    (d[*ret_n].value = strdup(v)) == NULL) {
			free(d[*ret_n].name);
			bad = conf_error(errs, g, "out of memory");
			break;
		}
		(*ret_n)++;
	}
	*ret = d;
	return bad;
}

/* Is ${p} (whole seconds) a period CloudWatch takes? */
static bool
period_ok(int64_t ms)
{
	int64_t s = ms / 1000;

	if (ms % 1000 != 0)
		return false;
	return s == 1 || s == 5 || s == 10 || s == 30 ||
	    (s >= 60 && s % 60 == 0);
}

static int
read_metric(const conf_node *ms, struct cw_metric *m, struct conf_errs *errs)
{
	const conf_node *d, *disc;
	const char *s;
	int64_t p = 300000;
	int bad = 0;

	if (!conf_is_group(ms))
		return conf_error(errs, ms,
		    "a metric must be a group: { namespace = \"AWS/EC2\"; "
		    "metric = \"CPUUtilization\"; ... }");
	if (conf_check_keys(errs, ms, metric_keys) > 0)
		bad = -1;
	if (conf_get_str(errs, ms, "namespace", true, &s) == 1 &&
	    (m->ns = strdup(s)) == NULL)
		return conf_error(errs, ms, "out of memory");
	if (conf_get_str(errs, ms, "metric", true, &s) == 1 &&
	    (m->metric = strdup(s)) == NULL)
		return conf_error(errs, ms, "out of memory");
	if (m->ns == NULL || m->metric == NULL)
		bad = -1;
	s = "Average";
	if (conf_get_str(errs, ms, "stat", false, &s) == -1)
		bad = -1;
	else if (!cw_stat_valid(s))
		bad = conf_error_at(errs, ms, "stat",
		    "\"%s\" is not a statistic: SampleCount, Average, Sum, "
		    "Minimum, Maximum, or an extended one such as p99",
		    s);
	if ((m->stat = strdup(s)) == NULL)
		return conf_error(errs, ms, "out of memory");
	switch (conf_get_dur(errs, ms, "period", false, 1000, &p)) {
	case -1:
		bad = -1;
		break;
	default:
		if (!period_ok(p))
			bad = conf_error_at(errs, ms, "period",
			    "must be 1s, 5s, 10s, 30s or a multiple of 1m");
	}
	m->period_s = p / 1000;
	s = NULL;
	if (conf_get_str(errs, ms, "name", false, &s) == -1) {
		bad = -1;
	} else if (s != NULL && (s[0] == '\0' || strpbrk(s, "{}") != NULL)) {
		bad = conf_error_at(errs, ms, "name",
		    "must be a non-empty name without '{' or '}'");
	}
	if ((m->label = strdup(s != NULL ? s :
		     m->metric != NULL	 ? m->metric :
					   "?")) == NULL)
		return conf_error(errs, ms, "out of memory");
	if (strchr(m->label, '{') != NULL)
		bad = conf_error_at(errs, ms, "metric",
		    "has a '{': give the reading a \"name\"");
	if ((d = conf_member(ms, "dimensions")) != NULL &&
	    read_pairs(d, errs, &m->dims, &m->ndims) != 0)
		bad = -1;
	for (size_t i = 0; i < m->ndims; i++)
		if (strcmp(m->dims[i].value, "*") == 0)
			m->wildcard = true;
	if (conf_get_bool(errs, ms, "recently_active", false, &m->recent) ==
	    -1)
		bad = -1;
	else if (m->recent && !m->wildcard)
		bad = conf_error_at(errs, ms, "recently_active",
		    "applies to a dimension given as \"*\" only");
	if ((disc = conf_member(ms, "discover")) != NULL && m->wildcard)
		bad = conf_error(errs, disc,
		    "and a dimension \"*\" do not go together");
	if (disc != NULL) {
		const conf_node *t;

		m->discover = true;
		if (!conf_is_group(disc)) {
			bad = conf_error(errs, disc,
			    "must be a group: { tags = { Role = \"web\"; }; }");
		} else {
			if (conf_check_keys(errs, disc, discover_keys) > 0)
				bad = -1;
			if ((t = conf_member(disc, "tags")) == NULL)
				bad = conf_error(errs, disc,
				    "needs tags = { Key = \"value\"; }");
			else if (read_pairs(t, errs, &m->tags, &m->ntags) != 0)
				bad = -1;
			else if (m->ntags == 0)
				bad = conf_error(errs, t,
				    "needs at least one tag");
		}
		for (size_t i = 0; i < m->ndims; i++)
			if (strcmp(m->dims[i].name, "InstanceId") == 0)
				bad = conf_error(errs, d,
				    "InstanceId comes from discover; do not "
				    "give it too");
	}
	return bad;
}

static int
read_endpoint(const conf_node *cs, struct conf_errs *errs, const char *key,
    const char *svc, const char *region, char **ret, char **ret_host)
{
	const char *e = NULL, *h;
	int n;

	if (conf_get_str(errs, cs, key, false, &e) == -1)
		return -1;
	if (e != NULL)
		n = asprintf(ret, "%s", e);
	else
		n = asprintf(ret, "https://%s.%s.amazonaws.com", svc, region);
	if (n < 0) {
		*ret = NULL;
		return conf_error(errs, cs, "out of memory");
	}
	while (n > 0 && (*ret)[n - 1] == '/')
		(*ret)[--n] = '\0';
	if ((h = http_endpoint_host(*ret)) == NULL)
		return conf_error_at(errs, cs, key,
		    "must be http://host[:port] or https://host[:port]");
	if ((*ret_host = strdup(h)) == NULL)
		return conf_error(errs, cs, "out of memory");
	return 0;
}

/* Series. */

/*
 * Add a series of metric ${mi} (for ${instance}, with ${ntags} of its
 * tags as labels); NULL on failure (a name that does not fit).
 */
static struct cw_series *
series_add(struct cw_ctx *c, size_t mi, const char *instance,
    const char *const *tk, const char *const *tv, size_t ntags,
    const char *const *xn, const char *const *xv, size_t nx,
    struct ag_err *err)
{
	const struct cw_metric *m = &c->m[mi];
	struct metric_label l[METRIC_LABELS_MAX];
	char base[METRIC_NAME_MAX], name[METRIC_NAME_MAX];
	struct cw_series *s, **v;
	size_t nl = 0;

	/* The dimensions ListMetrics found, else those of the config. */
	for (size_t i = 0; xn != NULL && i < nx && nl < METRIC_LABELS_MAX; i++)
		l[nl++] = (struct metric_label){ xn[i], xv[i] };
	for (size_t i = 0;
	     xn == NULL && i < m->ndims && nl < METRIC_LABELS_MAX; i++)
		l[nl++] = (struct metric_label){ m->dims[i].name,
			m->dims[i].value };
	if (instance != NULL && nl < METRIC_LABELS_MAX)
		l[nl++] = (struct metric_label){ "InstanceId", instance };
	/*
	 * The instance's values of the tags it was found by, unless a
	 * dimension has the name.
	 */
	for (size_t t = 0; t < ntags && nl < METRIC_LABELS_MAX; t++) {
		bool want = false;

		for (size_t f = 0; f < m->ntags && !want; f++)
			want = strcmp(m->tags[f].name, tk[t]) == 0;
		for (size_t i = 0; i < nl && want; i++)
			want = strcmp(l[i].key, tk[t]) != 0;
		if (want)
			l[nl++] = (struct metric_label){ tk[t], tv[t] };
	}
	if ((size_t)snprintf(base, sizeof(base), "%s.%s", c->name, m->label) >=
		sizeof(base) ||
	    metric_name_format(name, sizeof(name), base, l, nl) < 0) {
		(void)ag_err_set(err,
		    "%s: %s%s%s: the reading's name is too "
		    "long or has a label twice",
		    c->name, m->metric, instance ? " of " : "",
		    instance ? instance : "");
		return NULL;
	}
	for (size_t i = 0; i < c->ns; i++) {
		if (strcmp(c->s[i]->name, name) == 0) {
			(void)ag_err_set(err,
			    "%s: two metrics make the reading %s: give one a "
			    "\"name\"",
			    c->name, name);
			return NULL;
		}
	}
	if (c->ns == c->caps) {
		size_t cap = c->caps == 0 ? 16 : c->caps * 2;

		if ((v = realloc(c->s, cap * sizeof(*v))) == NULL)
			goto oom;
		c->s = v;
		c->caps = cap;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL)
		goto oom;
	s->metric = mi;
	s->track.last_fed_s = INT64_MIN;
	s->last_end_s = INT64_MIN;
	if ((s->name = strdup(name)) == NULL ||
	    (instance != NULL && (s->instance = strdup(instance)) == NULL)) {
		series_free(s);
		goto oom;
	}
	if (xn != NULL && nx > 0) {
		if ((s->xdims = calloc(nx, sizeof(*s->xdims))) == NULL) {
			series_free(s);
			goto oom;
		}
		for (size_t i = 0; i < nx; i++, s->nxdims++)
			if ((s->xdims[i].name = strdup(xn[i])) == NULL ||
			    (s->xdims[i].value = strdup(xv[i])) == NULL) {
				free(s->xdims[i].name);
				series_free(s);
				goto oom;
			}
	}
	c->s[c->ns++] = s;
	return s;
oom:
	(void)ag_err_set(err, "%s: out of memory", c->name);
	return NULL;
}

/* Make the series of the metrics that name their resources. */
static int
static_series(struct cw_ctx *c, struct ag_err *err)
{
	for (size_t i = 0; i < c->nm; i++)
		if (!c->m[i].discover && !c->m[i].wildcard &&
		    series_add(c, i, NULL, NULL, NULL, 0, NULL, NULL, 0,
			err) == NULL)
			return -1;
	return 0;
}

static int
cw_configure(void **ret_ctx, const conf_node *cs, struct conf_errs *errs)
{
	struct conf_errs quiet = { .file_private = errs->file_private };
	struct aws_creds_conf cc = { 0 };
	struct conf_aws ca;
	const conf_node *ml;
	struct cw_ctx *c;
	const char *s = NULL;
	int bad = 0;

	if (conf_aws_read(errs, cs, &ca) != 0)
		bad = -1;
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		conf_aws_free(&ca);
		return conf_error(errs, cs, "out of memory");
	}
	c->delay_s = CW_DEFAULT_DELAY_S;
	c->ttl_ms = CW_DEFAULT_TTL_MS;
	c->bo = (struct backoff){ .base_ms = 2000, .cap_ms = 5 * 60 * 1000 };
	(void)conf_get_str(&quiet, cs, "name", false, &s);
	conf_errs_free(&quiet);
	if ((c->name = strdup(s != NULL ? s : "cloudwatch")) == NULL)
		goto oom;
	/* The source's region, else its credentials', else us-east-1. */
	s = ca.region != NULL ? ca.region : "us-east-1";
	if (conf_get_str(errs, cs, "region", false, &s) == -1)
		bad = -1;
	if ((c->region = strdup(s)) == NULL)
		goto oom;
	if (read_endpoint(cs, errs, "endpoint", "monitoring", c->region,
		&c->endpoint, &c->host) != 0 ||
	    read_endpoint(cs, errs, "ec2_endpoint", "ec2", c->region,
		&c->ec2_endpoint, &c->ec2_host) != 0)
		bad = -1;
	{
		int64_t d = c->delay_s * 1000;

		if (conf_get_dur(errs, cs, "delay", false, 0, &d) == -1)
			bad = -1;
		c->delay_s = (d + 999) / 1000;
	}
	if (conf_get_dur(errs, cs, "discover_ttl", false, 1000, &c->ttl_ms) ==
	    -1)
		bad = -1;
	s = "query";
	if (conf_get_str(errs, cs, "protocol", false, &s) == -1)
		bad = -1;
	else if (strcmp(s, "json") == 0)
		c->json = true;
	else if (strcmp(s, "query") != 0)
		bad = conf_error_at(errs, cs, "protocol",
		    "\"query\" (a form, XML answers) or \"json\" (awsJson1_0), "
		    "not \"%s\"",
		    s);

	ml = conf_member(cs, "metrics");
	if (ml == NULL || !conf_is_list(ml) || conf_len(ml) == 0) {
		bad = conf_error_at(errs, cs, "metrics",
		    "a cloudwatch source needs a list of metrics: ( { "
		    "namespace = \"AWS/EC2\"; metric = \"CPUUtilization\"; "
		    "dimensions = { InstanceId = \"i-0abc\"; }; } )");
	} else {
		c->nm = conf_len(ml);
		if ((c->m = calloc(c->nm, sizeof(*c->m))) == NULL)
			goto oom;
		for (size_t i = 0; i < c->nm; i++) {
			if (read_metric(conf_elem(ml, i), &c->m[i], errs) != 0)
				bad = -1;
			if (c->m[i].discover || c->m[i].wildcard)
				c->any_discover = true;
		}
	}
	if (asprintf(&c->pattern, "%s.*", c->name) < 0) {
		c->pattern = NULL;
		goto oom;
	}
	c->patterns[0] = c->pattern;
	if (!bad) {
		struct ag_err e;

		if (static_series(c, &e) != 0)
			bad = conf_error_at(errs, cs, "metrics", "%s", e.msg);
	}
	cc.access_key_id = ca.access_key_id;
	cc.secret_access_key = ca.secret_access_key;
	cc.profile = ca.profile;
	if (!bad &&
	    ((c->creds = aws_creds_new(&cc)) == NULL ||
		(c->http = http_client_new()) == NULL))
		goto oom;
	conf_aws_free(&ca);
	if (bad) {
		cw_free(c);
		return -1;
	}
	*ret_ctx = c;
	return 0;
oom:
	conf_aws_free(&ca);
	cw_free(c);
	return conf_error(errs, cs, "out of memory");
}

/* Requests. */

struct cw_call {
	const char *what; /* "GetMetricData" */
	const char *service;
	const char *endpoint, *host;
	const char *body;
	size_t len;
	bool json; /* CloudWatch's JSON protocol: X-Amz-Target names what */
};

/* The X-Amz-Target prefix of CloudWatch's JSON protocol. */
#define CW_JSON_TARGET "GraniteServiceVersion20100801."

/*
 * Sign and send ${call}; on a 2xx answer return 0 with ${resp} to read.
 * Otherwise AG_RETRY (throttling, 5xx, transport; *${throttled} set for
 * throttling) or -1, with ${err} set and ${resp} freed.
 */
static int
cw_do(struct cw_ctx *c, const struct cw_call *call, struct http_resp *resp,
    bool *throttled, struct ag_err *err)
{
	static const char form[] =
	    "application/x-www-form-urlencoded; charset=utf-8";
	const char *ctype = call->json ? "application/x-amz-json-1.0" : form;
	char target[80];
	struct sigv4_header sh[3] = { { "Host", call->host },
		{ "Content-Type", ctype }, { "X-Amz-Target", target } };
	struct sigv4_params p = { .region = c->region,
		.service = call->service,
		.when = time(NULL),
		.normalize_path = 1 };
	const char *hdrs[SIGV4_MAX_EXTRA + 4];
	char hash[65], hhost[300], hct[100], htarget[100], code[128];
	char codes[128], msg[256];
	char raw[512];
	struct sigv4_out out = { 0 };
	struct sigv4_creds cr;
	struct sigv4_request rq;
	struct aws_cred ac;
	struct ag_err e;
	char *url = NULL;
	size_t nx = 0;
	int rc;

	memset(resp, 0, sizeof(*resp));
	snprintf(target, sizeof(target), "%s%s", CW_JSON_TARGET, call->what);
	if ((rc = aws_creds_get(c->creds, p.when, &ac, &e)) != 0) {
		(void)ag_err_set(err, "%s: %s", c->name, e.msg);
		return rc;
	}
	cr = (struct sigv4_creds){ ac.access_key_id, ac.secret_access_key,
		ac.session_token };
	rq = (struct sigv4_request){ .method = "POST",
		.path = "/",
		.query = NULL,
		.headers = sh,
		.nheaders = call->json ? 3 : 2,
		.payload_hash = hash };
	if (sigv4_payload_hash(call->body, call->len, hash) != 0 ||
	    sigv4_sign_headers(&rq, &cr, &p, &out) != 0 ||
	    asprintf(&url, "%s/", call->endpoint) < 0) {
		url = NULL;
		rc = ag_err_set(err, "%s: out of memory", c->name);
		goto out;
	}
	snprintf(hhost, sizeof(hhost), "Host: %s", call->host);
	snprintf(hct, sizeof(hct), "Content-Type: %s", ctype);
	hdrs[nx++] = hhost;
	hdrs[nx++] = hct;
	if (call->json) {
		snprintf(htarget, sizeof(htarget), "X-Amz-Target: %s", target);
		hdrs[nx++] = htarget;
	}
	for (size_t i = 0; out.extra[i] != NULL; i++)
		hdrs[nx++] = out.extra[i];
	hdrs[nx] = NULL;
	{
		struct http_req req = { .method = "POST",
			.url = url,
			.headers = hdrs,
			.body = call->body,
			.body_len = call->len,
			.timeout_ms = CW_TIMEOUT_MS,
			.max_response = CW_RESP_MAX };

		c->api_calls++;
		rc = http_client_do(c->http, &req, resp, &e);
	}
	if (rc != 0) {
		(void)ag_err_set(err, "%s: %s: %s", c->name, call->what,
		    e.msg);
		http_resp_free(resp);
		goto out;
	}
	if (resp->status >= 200 && resp->status < 300)
		goto out;
	/*
	 * A JSON call's error is JSON, but a front end may still answer in
	 * the query protocol's XML (moto does for a bad signature).
	 */
	if (!call->json ||
	    cw_json_error(resp->body, resp->body_len,
		http_resp_header(resp, "x-amzn-query-error"),
		http_resp_header(resp, "x-amzn-errortype"), code, sizeof(code),
		raw, sizeof(raw)) == 0)
		(void)cw_parse_error(resp->body, resp->body_len, code,
		    sizeof(code), raw, sizeof(raw));
	/* The server's words go into messages as snippets, redacted. */
	(void)log_snippet(raw, strlen(raw), msg, sizeof(msg));
	(void)log_snippet(code, strlen(code), codes, sizeof(codes));
	if (cw_throttled(resp->status, code)) {
		*throttled = true;
		rc = AG_RETRY;
		(void)ag_err_set(err, "%s: %s: throttled (HTTP %ld %s)",
		    c->name, call->what, resp->status, codes);
	} else if ((strcmp(code, "ExpiredToken") == 0 ||
		       strcmp(code, "ExpiredTokenException") == 0) &&
	    aws_creds_refused(c->creds)) {
		rc = AG_RETRY;
		(void)ag_err_set(err,
		    "%s: %s: the session token expired; new credentials are "
		    "fetched for the next call",
		    c->name, call->what);
	} else if (strcmp(code, "RequestTimeTooSkewed") == 0 ||
	    strcmp(code, "SignatureDoesNotMatch") == 0 ||
	    strcmp(code, "InvalidSignatureException") == 0) {
		rc = -1;
		(void)ag_err_set(err, "%s: %s: %s: %s%s", c->name, call->what,
		    codes, msg,
		    code[0] == 'R' ? " (is this host's clock right?)" : "");
	} else {
		rc = resp->status >= 500 ? AG_RETRY : -1;
		(void)ag_err_set(err, "%s: %s: HTTP %ld %s%s%s", c->name,
		    call->what, resp->status, codes, msg[0] ? ": " : "", msg);
	}
	http_resp_free(resp);
out:
	sigv4_out_free(&out);
	aws_cred_clear(&ac);
	free(url);
	return rc;
}

/* Discovery. */

struct disc_cookie {
	struct cw_ctx *c;
	size_t mi;
	struct ag_err *err;
	size_t found;
};

static int
on_instance(void *cookie, const char *id, const char *state,
    const char *const *keys, const char *const *values, size_t ntags)
{
	struct disc_cookie *dc = cookie;
	struct cw_ctx *c = dc->c;
	struct cw_series *s;

	if (strcmp(state, "running") != 0)
		return 0; /* the filter asks for running ones: be sure */
	dc->found++;
	for (size_t i = 0; i < c->ns; i++) {
		s = c->s[i];
		if (s->metric == dc->mi && s->instance != NULL &&
		    strcmp(s->instance, id) == 0) {
			s->seen = true;
			return 0;
		}
	}
	if ((s = series_add(c, dc->mi, id, keys, values, ntags, NULL, NULL, 0,
		 dc->err)) == NULL)
		return -1;
	s->seen = true;
	log_info("%s: instance %s found: %s", c->name, id, s->name);
	return 0;
}

/*
 * Ask EC2 for the running instances of metric ${mi}'s tags, marking the
 * series of those seen and adding new ones.  0, AG_RETRY or -1.
 */
static int
discover_one(struct cw_ctx *c, size_t mi, bool *throttled, size_t *found,
    struct ag_err *err)
{
	const struct cw_metric *m = &c->m[mi];
	struct disc_cookie dc = { c, mi, err, 0 };
	char next[CW_TOKEN_MAX] = "", k[64], v[64];
	struct http_resp resp;
	struct buf b;
	int rc = 0, pages = 0;

	do {
		size_t f = 1;

		buf_init(&b, CW_BODY_MAX);
		cw_form_add(&b, "Action", "DescribeInstances");
		cw_form_add(&b, "Version", "2016-11-15");
		for (size_t t = 0; t < m->ntags; t++, f++) {
			char tag[300];

			snprintf(k, sizeof(k), "Filter.%zu.Name", f);
			snprintf(tag, sizeof(tag), "tag:%s", m->tags[t].name);
			cw_form_add(&b, k, tag);
			snprintf(v, sizeof(v), "Filter.%zu.Value.1", f);
			cw_form_add(&b, v, m->tags[t].value);
		}
		snprintf(k, sizeof(k), "Filter.%zu.Name", f);
		cw_form_add(&b, k, "instance-state-name");
		snprintf(v, sizeof(v), "Filter.%zu.Value.1", f);
		cw_form_add(&b, v, "running");
		if (next[0] != '\0')
			cw_form_add(&b, "NextToken", next);
		if (b.err != 0) {
			buf_free(&b);
			return ag_err_set(err,
			    "%s: DescribeInstances: request "
			    "too large",
			    c->name);
		}
		{
			struct cw_call call = { "DescribeInstances", "ec2",
				c->ec2_endpoint, c->ec2_host, b.p, b.len,
				false };

			rc = cw_do(c, &call, &resp, throttled, err);
		}
		buf_free(&b);
		if (rc != 0)
			return rc;
		rc = cw_parse_instances(resp.body, resp.body_len, on_instance,
		    &dc, next, sizeof(next), err);
		http_resp_free(&resp);
		if (rc < 0)
			return -1;
		rc = 0;
	} while (next[0] != '\0' && ++pages < CW_PAGES_MAX);
	*found = dc.found;
	return 0;
}

struct list_cookie {
	struct cw_ctx *c;
	size_t mi;
	struct ag_err *err;
};

/* A metric ListMetrics found: a series if it has exactly our dimensions. */
static int
on_listed(void *cookie, const char *ns, const char *name,
    const char *const *names, const char *const *values, size_t n)
{
	struct list_cookie *lc = cookie;
	struct cw_ctx *c = lc->c;
	const struct cw_metric *m = &c->m[lc->mi];
	struct cw_series *s;

	if (strcmp(ns, m->ns) != 0 || strcmp(name, m->metric) != 0 ||
	    n != m->ndims)
		return 0;
	/* Each dimension asked for, with the value given unless "*". */
	for (size_t i = 0; i < m->ndims; i++) {
		bool ok = false;

		for (size_t k = 0; k < n && !ok; k++)
			ok = strcmp(names[k], m->dims[i].name) == 0 &&
			    (strcmp(m->dims[i].value, "*") == 0 ||
				strcmp(values[k], m->dims[i].value) == 0);
		if (!ok)
			return 0;
	}
	for (size_t i = 0; i < c->ns; i++) {
		bool same;

		s = c->s[i];
		if (s->metric != lc->mi || s->nxdims != n)
			continue;
		same = true;
		for (size_t k = 0; k < n && same; k++)
			same = strcmp(s->xdims[k].name, names[k]) == 0 &&
			    strcmp(s->xdims[k].value, values[k]) == 0;
		if (same) {
			s->seen = true;
			return 0;
		}
	}
	if ((s = series_add(c, lc->mi, NULL, NULL, NULL, 0, names, values, n,
		 lc->err)) == NULL)
		return -1;
	s->seen = true;
	log_info("%s: metric found: %s", c->name, s->name);
	return 0;
}

/*
 * Append ${o} (its reference taken) to ${b} as JSON; a failure marks ${b}
 * (b->err), like a form too large.
 */
static void
json_put(struct buf *b, json_t *o)
{
	char *t = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;

	if (t == NULL || buf_puts(b, t) != 0)
		b->err = b->err != 0 ? b->err : ENOMEM;
	free(t);
	json_decref(o);
}

/* A Dimensions list, "*" values left out (ListMetrics: any value). */
static json_t *
dims_json(const struct cw_dim *d, size_t n, const char *instance)
{
	json_t *a = json_array(), *o;

	for (size_t i = 0; a != NULL && i <= n; i++) {
		if (i == n && instance == NULL)
			break;
		o = i == n ? json_pack("{s:s, s:s}", "Name", "InstanceId",
				 "Value", instance) :
		    strcmp(d[i].value, "*") == 0 ?
			     json_pack("{s:s}", "Name", d[i].name) :
			     json_pack("{s:s, s:s}", "Name", d[i].name,
				 "Value", d[i].value);
		if (o == NULL || json_array_append_new(a, o) != 0) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

/* The JSON-protocol body of a ListMetrics call for ${m} into ${b}. */
static void
list_json(struct buf *b, const struct cw_metric *m, const char *next)
{
	json_t *o = json_pack("{s:s, s:s, s:o*}", "Namespace", m->ns,
	    "MetricName", m->metric, "Dimensions",
	    dims_json(m->dims, m->ndims, NULL));

	if (o != NULL && m->recent)
		(void)json_object_set_new(o, "RecentlyActive",
		    json_string("PT3H"));
	if (o != NULL && next[0] != '\0')
		(void)json_object_set_new(o, "NextToken", json_string(next));
	json_put(b, o);
}

/*
 * Ask ListMetrics for the metrics of metric ${mi}'s namespace, name and
 * dimensions (those given as "*" by name only).  0, AG_RETRY or -1.
 */
static int
list_one(struct cw_ctx *c, size_t mi, bool *throttled, struct ag_err *err)
{
	const struct cw_metric *m = &c->m[mi];
	struct list_cookie lc = { c, mi, err };
	char next[CW_TOKEN_MAX] = "", k[80];
	struct http_resp resp;
	struct buf b;
	int rc, pages = 0;

	do {
		buf_init(&b, CW_BODY_MAX);
		if (c->json) {
			list_json(&b, m, next);
			goto send;
		}
		cw_form_add(&b, "Action", "ListMetrics");
		cw_form_add(&b, "Version", "2010-08-01");
		cw_form_add(&b, "Namespace", m->ns);
		cw_form_add(&b, "MetricName", m->metric);
		for (size_t i = 0; i < m->ndims; i++) {
			snprintf(k, sizeof(k), "Dimensions.member.%zu.Name",
			    i + 1);
			cw_form_add(&b, k, m->dims[i].name);
			if (strcmp(m->dims[i].value, "*") == 0)
				continue;
			snprintf(k, sizeof(k), "Dimensions.member.%zu.Value",
			    i + 1);
			cw_form_add(&b, k, m->dims[i].value);
		}
		if (m->recent)
			cw_form_add(&b, "RecentlyActive", "PT3H");
		if (next[0] != '\0')
			cw_form_add(&b, "NextToken", next);
send:
		if (b.err != 0) {
			buf_free(&b);
			return ag_err_set(err,
			    "%s: ListMetrics: request too large", c->name);
		}
		{
			struct cw_call call = { "ListMetrics", "monitoring",
				c->endpoint, c->host, b.p, b.len, c->json };

			rc = cw_do(c, &call, &resp, throttled, err);
		}
		buf_free(&b);
		if (rc != 0)
			return rc;
		rc = (c->json ? cw_json_list_metrics :
				cw_parse_list_metrics)(resp.body,
		    resp.body_len, on_listed, &lc, next, sizeof(next), err);
		http_resp_free(&resp);
		if (rc < 0)
			return -1;
	} while (next[0] != '\0' && ++pages < CW_PAGES_MAX);
	return 0;
}

/* Remove series ${i}, retiring its reading. */
static void
series_retire(struct cw_ctx *c, size_t i, struct metric_batch *out)
{
	struct cw_series *s = c->s[i];

	if (s->instance != NULL)
		log_info("%s: instance %s is gone: %s retired", c->name,
		    s->instance, s->name);
	else
		log_info("%s: %s is gone (ListMetrics): retired", c->name,
		    s->name);
	(void)metric_retire(out, s->name);
	series_free(s);
	memmove(&c->s[i], &c->s[i + 1], (c->ns - i - 1) * sizeof(*c->s));
	c->ns--;
}

/*
 * Refresh the fleet of every "discover" metric.  A metric whose call
 * failed keeps its series.  0, or AG_RETRY / -1 with ${err} set for the
 * first failure.
 */
static int
discover(struct cw_ctx *c, struct metric_batch *out, bool *throttled,
    struct ag_err *err)
{
	int ret = 0;

	for (size_t mi = 0; mi < c->nm; mi++) {
		struct ag_err e = { "" };
		size_t found = 0;
		int rc;

		if (!c->m[mi].discover && !c->m[mi].wildcard)
			continue;
		for (size_t i = 0; i < c->ns; i++)
			if (c->s[i]->metric == mi)
				c->s[i]->seen = false;
		if (c->m[mi].discover)
			rc = discover_one(c, mi, throttled, &found, &e);
		else
			rc = list_one(c, mi, throttled, &e);
		if (rc != 0) {
			c->errors++;
			log_warn("%s: discovery of %s failed, keeping the "
				 "instances last known: %s",
			    c->name, c->m[mi].metric, e.msg);
			if (ret == 0) {
				*err = e;
				ret = rc;
			}
			continue;
		}
		for (size_t i = 0; i < c->ns; i++)
			if (c->s[i]->metric == mi && !c->s[i]->seen)
				series_retire(c, i--, out);
	}
	return ret;
}

/* Polling. */

struct poll_cookie {
	struct cw_ctx *c;
	struct cw_series **chunk; /* by query id "q<index>" */
	size_t n;
	struct ag_err *err;
};

static int
on_result(void *cookie, const char *id, const int64_t *ts, const double *vals,
    size_t n, const char *status)
{
	struct poll_cookie *pc = cookie;
	struct cw_series *s;
	char *end;
	unsigned long k;

	(void)status;
	if (id[0] != 'q' || (k = strtoul(id + 1, &end, 10), *end != '\0') ||
	    k >= pc->n)
		return ag_err_set(pc->err,
		    "%s: GetMetricData: an answer for a query not asked (%.40s)",
		    pc->c->name, id);
	s = pc->chunk[k];
	if (s->npts + n > s->cappts) {
		size_t cap = s->npts + n + 8;
		int64_t *p = realloc(s->pts, cap * sizeof(*p));
		double *v;

		if (p == NULL)
			return ag_err_set(pc->err, "out of memory");
		s->pts = p;
		if ((v = realloc(s->vals, cap * sizeof(*v))) == NULL)
			return ag_err_set(pc->err, "out of memory");
		s->vals = v;
		s->cappts = cap;
	}
	for (size_t i = 0; i < n; i++) {
		s->pts[s->npts] = ts[i] / 1000;
		s->vals[s->npts++] = vals[i];
	}
	pc->c->datapoints += n;
	return 0;
}

/* Append the query of ${s} as member ${k} (1-based) of the form. */
static void
add_query(struct buf *b, const struct cw_ctx *c, const struct cw_series *s,
    size_t k)
{
	const struct cw_metric *m = &c->m[s->metric];
	const struct cw_dim *qd = s->xdims != NULL ? s->xdims : m->dims;
	size_t nqd = s->xdims != NULL ? s->nxdims : m->ndims;
	char key[160], val[32], id[32];
	size_t d = 1;

#define Q(suffix) \
	(snprintf(key, sizeof(key), "MetricDataQueries.member.%zu.%s", k, \
	     suffix), \
	    key)
	snprintf(id, sizeof(id), "q%zu", k - 1);
	cw_form_add(b, Q("Id"), id);
	cw_form_add(b, Q("MetricStat.Metric.Namespace"), m->ns);
	cw_form_add(b, Q("MetricStat.Metric.MetricName"), m->metric);
	for (size_t i = 0; i < nqd; i++, d++) {
		char dk[96];

		snprintf(dk, sizeof(dk),
		    "MetricStat.Metric.Dimensions.member.%zu.Name", d);
		cw_form_add(b, Q(dk), qd[i].name);
		snprintf(dk, sizeof(dk),
		    "MetricStat.Metric.Dimensions.member.%zu.Value", d);
		cw_form_add(b, Q(dk), qd[i].value);
	}
	if (s->instance != NULL) {
		char dk[96];

		snprintf(dk, sizeof(dk),
		    "MetricStat.Metric.Dimensions.member.%zu.Name", d);
		cw_form_add(b, Q(dk), "InstanceId");
		snprintf(dk, sizeof(dk),
		    "MetricStat.Metric.Dimensions.member.%zu.Value", d);
		cw_form_add(b, Q(dk), s->instance);
	}
	snprintf(val, sizeof(val), "%" PRId64, m->period_s);
	cw_form_add(b, Q("MetricStat.Period"), val);
	cw_form_add(b, Q("MetricStat.Stat"), m->stat);
	cw_form_add(b, Q("ReturnData"), "true");
#undef Q
}

/*
 * The JSON-protocol body of a GetMetricData call for the ${n} series of
 * ${chunk} (query ids "q0" ...), window [${start}, ${end}) in epoch
 * seconds, page ${next}, into ${b}.
 */
static void
gmd_json(struct buf *b, const struct cw_ctx *c, struct cw_series **chunk,
    size_t n, int64_t start, int64_t end, const char *next)
{
	json_t *o = json_pack("{s:I, s:I, s:s, s:[]}", "StartTime",
	    (json_int_t)start, "EndTime", (json_int_t)end, "ScanBy",
	    "TimestampAscending", "MetricDataQueries");
	json_t *qs = json_object_get(o, "MetricDataQueries");
	char id[32];

	for (size_t i = 0; o != NULL && i < n; i++) {
		const struct cw_series *s = chunk[i];
		const struct cw_metric *m = &c->m[s->metric];
		json_t *q;

		snprintf(id, sizeof(id), "q%zu", i);
		q = json_pack("{s:s, s:{s:{s:s, s:s, s:o*}, s:I, s:s}, s:b}",
		    "Id", id, "MetricStat", "Metric", "Namespace", m->ns,
		    "MetricName", m->metric, "Dimensions",
		    s->xdims != NULL ?
			dims_json(s->xdims, s->nxdims, s->instance) :
			dims_json(m->dims, m->ndims, s->instance),
		    "Period", (json_int_t)m->period_s, "Stat", m->stat,
		    "ReturnData", 1);
		if (q == NULL || json_array_append_new(qs, q) != 0) {
			json_decref(o);
			o = NULL;
		}
	}
	if (o != NULL && next[0] != '\0')
		(void)json_object_set_new(o, "NextToken", json_string(next));
	json_put(b, o);
}

static void
time_param(struct buf *b, const char *key, int64_t s)
{
	char t[40];
	time_t tt = (time_t)s;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(t, sizeof(t), "%Y-%m-%dT%H:%M:%SZ", &tm);
	cw_form_add(b, key, t);
}

/*
 * One GetMetricData call (with its pages) for the ${n} series of ${chunk},
 * window [${start}, ${end}).  Points go to each series' pts.
 */
static int
poll_chunk(struct cw_ctx *c, struct cw_series **chunk, size_t n, int64_t start,
    int64_t end, bool *throttled, struct ag_err *err)
{
	struct poll_cookie pc = { c, chunk, n, err };
	char next[CW_TOKEN_MAX] = "";
	struct http_resp resp;
	struct buf b;
	int rc, pages = 0;

	c->metrics_requested += n;
	do {
		buf_init(&b, CW_BODY_MAX);
		if (c->json) {
			gmd_json(&b, c, chunk, n, start, end, next);
		} else {
			cw_form_add(&b, "Action", "GetMetricData");
			cw_form_add(&b, "Version", "2010-08-01");
			time_param(&b, "StartTime", start);
			time_param(&b, "EndTime", end);
			cw_form_add(&b, "ScanBy", "TimestampAscending");
			for (size_t i = 0; i < n; i++)
				add_query(&b, c, chunk[i], i + 1);
			if (next[0] != '\0')
				cw_form_add(&b, "NextToken", next);
		}
		if (b.err != 0) {
			buf_free(&b);
			return ag_err_set(err,
			    "%s: GetMetricData: request too large", c->name);
		}
		{
			struct cw_call call = { "GetMetricData", "monitoring",
				c->endpoint, c->host, b.p, b.len, c->json };

			rc = cw_do(c, &call, &resp, throttled, err);
		}
		buf_free(&b);
		if (rc != 0)
			return rc;
		rc = (c->json ? cw_json_gmd : cw_parse_gmd)(resp.body,
		    resp.body_len, on_result, &pc, next, sizeof(next), err);
		http_resp_free(&resp);
		if (rc < 0)
			return -1;
	} while (next[0] != '\0' && ++pages < CW_PAGES_MAX);
	return 0;
}

static void
emit_point(void *cookie, int64_t ts_s, double v)
{
	struct metric_batch *out = ((void **)cookie)[0];
	const struct cw_series *s = ((void **)cookie)[1];

	if (metric_add_ts(out, ts_s * 1000, v, s->name) == 0)
		out->v[out->n - 1].flags |= METRIC_POINT;
}

/* After a poll of window [.., ${end}): cw_settle() ${s}'s points. */
static void
series_settle(struct cw_series *s, int64_t end, int64_t p,
    struct metric_batch *out)
{
	void *cookie[2] = { out, s };

	/* Out of memory: nothing fed, the next poll reads them again. */
	if (cw_settle(&s->track, s->pts, s->vals, s->npts, end, p, emit_point,
		cookie) == 0)
		s->last_end_s = end;
	s->npts = 0;
}

/* Poll every period whose window moved on. */
static int
poll_all(struct cw_ctx *c, int64_t now_s, struct metric_batch *out,
    bool *throttled, struct ag_err *err)
{
	struct cw_series **chunk;
	bool polled = false;
	int ret = 0;

	if (c->ns == 0)
		return 0;
	if ((chunk = calloc(c->ns, sizeof(*chunk))) == NULL)
		return ag_err_set(err, "%s: out of memory", c->name);
	for (size_t i = 0; i < c->ns; i++)
		c->s[i]->npts = 0;
	/* One pass per distinct period: the due series of that period. */
	for (size_t i = 0; i < c->ns; i++) {
		int64_t p = c->m[c->s[i]->metric].period_s, end, start;
		size_t n = 0;
		bool first = true;

		for (size_t j = 0; j < i; j++)
			if (c->m[c->s[j]->metric].period_s == p)
				first = false;
		if (!first)
			continue;
		end = cw_window_end(now_s, p, c->delay_s);
		start = end - 2 * p;
		for (size_t j = i; j < c->ns; j++) {
			struct cw_series *s = c->s[j];

			if (c->m[s->metric].period_s != p ||
			    s->last_end_s >= end)
				continue;
			chunk[n++] = s;
			if (s->track.last_fed_s != INT64_MIN &&
			    s->track.last_fed_s + p < start)
				start = s->track.last_fed_s + p;
		}
		if (start < end - CW_CATCHUP_MAX * p)
			start = end - CW_CATCHUP_MAX * p;
		for (size_t k = 0; k < n; k += CW_QUERIES_PER_CALL) {
			size_t m = n - k < CW_QUERIES_PER_CALL ?
			    n - k :
			    CW_QUERIES_PER_CALL;
			int rc = poll_chunk(c, chunk + k, m, start, end,
			    throttled, err);

			if (rc != 0) {
				c->errors++;
				for (size_t q = k; q < n; q++)
					chunk[q]->npts = 0;
				ret = rc;
				break;
			}
			for (size_t q = k; q < k + m; q++)
				series_settle(chunk[q], end, p, out);
		}
		if (ret != 0)
			break;
		polled = polled || n > 0;
	}
	free(chunk);
	if (ret == 0 && polled) {
		c->polls++;
		c->last_poll_s = now_s;
	}
	return ret;
}

static void
add_counters(struct cw_ctx *c, struct metric_batch *out)
{
	char n[METRIC_NAME_MAX];

#define CTR(what, v) \
	(snprintf(n, sizeof(n), "%s.%s", c->name, what), \
	    (void)metric_add_ts(out, out->now_ms, (double)(v), n))
	CTR("api_calls", c->api_calls);
	CTR("metrics_requested", c->metrics_requested);
	CTR("datapoints", c->datapoints);
	CTR("errors", c->errors);
	CTR("series", c->ns);
	CTR("polls", c->polls);
	CTR("last_poll_age_s",
	    c->last_poll_s == 0 ? -1 : out->now_ms / 1000 - c->last_poll_s);
#undef CTR
}

static int
cw_collect(void *vctx, struct metric_batch *out, struct ag_err *err)
{
	struct cw_ctx *c = vctx;
	int64_t mono = clock_mono_ms();
	bool throttled = false;
	int rc = 0, drc = 0;

	if (mono < c->throttle_until_ms) {
		add_counters(c, out);
		return 0;
	}
	if (c->any_discover &&
	    (c->disc_next_ms == 0 || mono >= c->disc_next_ms)) {
		bool dthrottled = false;

		/* EC2's quota is not CloudWatch's: only discovery waits. */
		drc = discover(c, out, &dthrottled, err);
		c->disc_next_ms = mono + c->ttl_ms;
		if (dthrottled) {
			int64_t d = backoff_delay_ms(&c->bo,
			    ++c->disc_attempt);

			if (d > c->ttl_ms)
				c->disc_next_ms = mono + d;
		} else if (drc == 0) {
			c->disc_attempt = 0;
		}
	}
	if (!throttled)
		rc = poll_all(c, out->now_ms / 1000, out, &throttled, err);
	add_counters(c, out);
	/*
	 * Throttling and a failed discovery are handled here (a pause; the
	 * fleet last known), logged and counted in <source>.errors; they are
	 * not the scheduler's failures, whose doubling interval would only
	 * delay the windows.  A call that failed otherwise is.
	 */
	if (throttled) {
		int64_t d = backoff_delay_ms(&c->bo, ++c->throttle_attempt);

		c->throttle_until_ms = clock_mono_ms() + d;
		log_warn("%s: throttled; no calls for %lld ms (the windows "
			 "missed are read afterwards)",
		    c->name, (long long)d);
		return 0;
	}
	if (rc == 0)
		c->throttle_attempt = 0;
	(void)drc;
	return rc;
}

/* Seconds in the month of the estimate: 30 days. */
#define CW_MONTH_S (30LL * 24 * 3600)

/*
 * GetMetricData bills every metric requested: each poll of a period asks
 * for every series of that period once, and a period is polled once its
 * window moved on, at the first collection after that: every period, or
 * every interval rounded up to periods when the interval is longer.
 */
static int
cw_cost(void *vctx, int64_t interval_ms, char *buf, size_t len)
{
	struct cw_ctx *c = vctx;
	double fixed = 0, per_inst = 0;
	size_t nfixed = 0, ndisc = 0;

	for (size_t i = 0; i < c->nm; i++) {
		int64_t p = c->m[i].period_s;
		int64_t every = (interval_ms / 1000 + p - 1) / p * p;
		double polls = (double)CW_MONTH_S /
		    (double)(every > p ? every : p);

		if (c->m[i].discover || c->m[i].wildcard) {
			ndisc++;
			per_inst += polls;
		} else {
			nfixed++;
			fixed += polls;
		}
	}
	if (ndisc == 0)
		snprintf(buf, len,
		    "%s: %zu metrics, about %.0f metrics requested a month "
		    "from CloudWatch (about $%.2f at $0.01 per 1,000)",
		    c->name, nfixed, fixed, fixed / 100000.0);
	else
		snprintf(buf, len,
		    "%s: %zu metrics and %zu per discovered instance, about "
		    "%.0f metrics requested a month from CloudWatch plus %.0f "
		    "per instance found (about $%.2f + $%.2f per instance at "
		    "$0.01 per 1,000)",
		    c->name, nfixed, ndisc, fixed, per_inst, fixed / 100000.0,
		    per_inst / 100000.0);
	return 1;
}

/* A series reads once a period: the longest period is the cadence. */
static int64_t
cw_cadence_ms(void *vctx)
{
	struct cw_ctx *c = vctx;
	int64_t p = 0;

	for (size_t i = 0; i < c->nm; i++)
		if (c->m[i].period_s > p)
			p = c->m[i].period_s;
	return p * 1000;
}

static const char *const *
cw_patterns(void *vctx)
{
	struct cw_ctx *c = vctx;

	return c->patterns;
}

const struct source_ops src_cloudwatch_ops = {
	.type = "cloudwatch",
	.settings = cw_settings,
	.configure = cw_configure,
	.collect = cw_collect,
	.patterns = cw_patterns,
	.cost = cw_cost,
	.cadence_ms = cw_cadence_ms,
	.free = cw_free,
};
