/*
 * src_gcpmon.c: the "gcp_monitoring" source: Google Cloud Monitoring time
 * series by projects.timeSeries.list (GET {endpoint}/v3/projects/P/
 * timeSeries) with the configured filter, aligned by alignment_period and
 * per_series_aligner, optionally reduced across series
 * (cross_series_reducer, group_by), following nextPageToken.  Bearer
 * tokens come from lib/cloud/gcp/gcp_auth.h (a service-account key file
 * or the metadata server).
 *
 * Time.  A poll asks for the window of one alignment period ending at (now
 * - delay) rounded down to the period, once: the source remembers the end
 * it last read, feeds only points ending after it, and makes no call
 * until the next period has passed.  A poll that fails part way feeds
 * nothing of it, so its window is read whole later.
 *
 * Names.  "<source>.<metric>{labels}": <metric> is the metric type without
 * its domain, '/' made '.' ("compute.googleapis.com/instance/cpu/
 * utilization" gives "instance.cpu.utilization"); the labels are the
 * series' metric and resource labels, plus its values of the user labels
 * named in "user_labels", which also select the resources
 * (metadata.user_labels."K" = "V" added to the filter): a fleet by label.
 *
 * Retirement.  With retire_after, a series fed before and absent from
 * every window for that long, while the windows still hold series, is
 * retired (metric_retire()): its instance was deleted or stopped, or left
 * the label selection, and the rules forget it rather than raise no_data.
 * A window with no series at all retires nothing.
 *
 * Failures.  401 drops the token and the call is made again once with a
 * new one; 429 pauses the source's calls (lib/backoff.h).  The counts are
 * readings: "<source>.api_calls", ".metrics_requested" (series
 * received), ".datapoints", ".errors".
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/ag.h"
#include "lib/buf.h"
#include "lib/clock.h"
#include "lib/cloud/gcp/gcp_api.h"
#include "lib/cloud/gcp/gcp_auth.h"
#include "lib/http/http.h"
#include "lib/log.h"
#include "agent/metric.h"
#include "agent/source_backend.h"
#include "agent/sources/net/cloudsrc.h"
#include "agent/sources/net/gcpmon_internal.h"

#define GCPMON_ENDPOINT "https://monitoring.googleapis.com"
#define GCPMON_SCOPE "https://www.googleapis.com/auth/monitoring.read"
#define GCPMON_DEFAULT_DELAY_S 180
#define GCPMON_RESP_MAX (16 * 1024 * 1024)
#define GCPMON_TIMEOUT_MS 30000
#define GCPMON_PAGES_MAX 100
#define GCPMON_URL_MAX (64 * 1024)

static const char *const gm_settings[] = { "project", "filter",
	"alignment_period", "per_series_aligner", "cross_series_reducer",
	"group_by", "user_labels", "delay", "retire_after", "endpoint",
	"credentials_file", "token_uri", "metadata_host", "ca_file", NULL };

static const char *const aligners[] = { "ALIGN_NONE", "ALIGN_DELTA",
	"ALIGN_RATE", "ALIGN_INTERPOLATE", "ALIGN_NEXT_OLDER", "ALIGN_MIN",
	"ALIGN_MAX", "ALIGN_MEAN", "ALIGN_COUNT", "ALIGN_SUM", "ALIGN_STDDEV",
	"ALIGN_COUNT_TRUE", "ALIGN_COUNT_FALSE", "ALIGN_FRACTION_TRUE",
	"ALIGN_PERCENTILE_99", "ALIGN_PERCENTILE_95", "ALIGN_PERCENTILE_50",
	"ALIGN_PERCENTILE_05", "ALIGN_PERCENT_CHANGE", NULL };
static const char *const reducers[] = { "REDUCE_NONE", "REDUCE_MEAN",
	"REDUCE_MIN", "REDUCE_MAX", "REDUCE_SUM", "REDUCE_STDDEV",
	"REDUCE_COUNT", "REDUCE_COUNT_TRUE", "REDUCE_COUNT_FALSE",
	"REDUCE_FRACTION_TRUE", "REDUCE_PERCENTILE_99", "REDUCE_PERCENTILE_95",
	"REDUCE_PERCENTILE_50", "REDUCE_PERCENTILE_05", NULL };

struct gm {
	char *name, *project, *filter, *endpoint, *ca_file;
	char *full_filter; /* filter and the user label conditions */
	char **group_by;
	size_t ngroup;
	char **ukey, **uval; /* user_labels */
	size_t nuser;
	int aligner, reducer; /* indexes; reducer -1: none */
	int64_t period_s, delay_s;
	int64_t last_end_s;
	/* retire_after: series fed and when they were last seen. */
	int64_t retire_s; /* 0: never */
	struct gm_seen {
		char *name;
		int64_t seen_s;
	} * seen;
	size_t nseen, capseen;
	struct gcp_auth *auth;
	struct http_client *http;
	struct cloudsrc_throttle th;
	int64_t retry_after_ms; /* of the last 429 */
	struct cloudsrc_counts k;
	char *pattern;
	const char *patterns[2];
};

static void
gm_free(void *vctx)
{
	struct gm *c = vctx;

	if (c == NULL)
		return;
	gcp_auth_free(c->auth);
	http_client_free(c->http);
	for (size_t i = 0; i < c->nseen; i++)
		free(c->seen[i].name);
	free(c->seen);
	free(c->name);
	free(c->project);
	free(c->filter);
	free(c->full_filter);
	free(c->endpoint);
	free(c->ca_file);
	ag_strv_free(c->group_by);
	ag_strv_free(c->ukey);
	ag_strv_free(c->uval);
	free(c->pattern);
	free(c);
}

/* A project id: 6 to 30 of a-z 0-9 '-' (and ':' '.' for domain-scoped). */
static bool
project_valid(const char *s)
{
	size_t n = strlen(s);

	return n >= 1 && n <= 100 &&
	    strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789-:.") == n;
}

/* Values in filters are double-quoted strings: no '"' or '\\' in them. */
static bool
filter_value_ok(const char *s)
{
	return strpbrk(s, "\"\\") == NULL;
}

static int
read_user_labels(struct gm *c, const conf_node *cs, struct conf_errs *errs)
{
	const conf_node *g = conf_member(cs, "user_labels");
	size_t n;

	if (g == NULL)
		return 0;
	if (!conf_is_group(g))
		return conf_error(errs, g,
		    "user_labels must be a group: { env = \"prod\"; }");
	n = conf_len(g);
	if ((c->ukey = calloc(n + 1, sizeof(char *))) == NULL ||
	    (c->uval = calloc(n + 1, sizeof(char *))) == NULL)
		return conf_error(errs, g, "out of memory");
	for (size_t i = 0; i < n; i++) {
		const conf_node *e = conf_elem(g, i);
		const char *v = NULL;

		if (conf_get_str(errs, g, conf_name(e), true, &v) != 1)
			return -1;
		if (!filter_value_ok(conf_name(e)) || !filter_value_ok(v))
			return conf_error(errs, e,
			    "a user label or its value has '\"' or '\\'");
		if ((c->ukey[c->nuser] = strdup(conf_name(e))) == NULL ||
		    (c->uval[c->nuser] = strdup(v)) == NULL)
			return conf_error(errs, g, "out of memory");
		c->nuser++;
	}
	return 0;
}

static int
gm_configure(void **ret_ctx, const conf_node *cs, struct conf_errs *errs)
{
	struct gm *c;
	const char *name = NULL, *project = NULL, *filter = NULL;
	const char *endpoint = GCPMON_ENDPOINT, *cred = NULL, *turi = NULL;
	const char *meta = NULL, *ca = NULL;
	int64_t period_ms = 60000, delay_ms = GCPMON_DEFAULT_DELAY_S * 1000;
	int64_t retire_ms = 0;
	int bad = 0, aligner = 7 /* ALIGN_MEAN */, reducer = -1;
	struct buf f;
	size_t n;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return conf_error(errs, cs, "out of memory");
	cloudsrc_throttle_init(&c->th);
	c->k.resources = -1;
	if (conf_get_str(errs, cs, "name", false, &name) == -1 ||
	    conf_get_str(errs, cs, "project", true, &project) != 1 ||
	    conf_get_str(errs, cs, "filter", true, &filter) != 1 ||
	    conf_get_dur(errs, cs, "alignment_period", false, 1000,
		&period_ms) == -1 ||
	    conf_get_enum(errs, cs, "per_series_aligner", false, aligners,
		&aligner) == -1 ||
	    conf_get_enum(errs, cs, "cross_series_reducer", false, reducers,
		&reducer) == -1 ||
	    conf_get_strv(errs, cs, "group_by", false, &c->group_by,
		&c->ngroup) == -1 ||
	    conf_get_dur(errs, cs, "delay", false, 0, &delay_ms) == -1 ||
	    conf_get_dur(errs, cs, "retire_after", false, 1000, &retire_ms) ==
		-1 ||
	    conf_get_str(errs, cs, "endpoint", false, &endpoint) == -1 ||
	    conf_get_str(errs, cs, "credentials_file", false, &cred) == -1 ||
	    conf_get_str(errs, cs, "token_uri", false, &turi) == -1 ||
	    conf_get_str(errs, cs, "metadata_host", false, &meta) == -1 ||
	    conf_get_str(errs, cs, "ca_file", false, &ca) == -1)
		bad = -1;
	if (read_user_labels(c, cs, errs) != 0)
		bad = -1;
	if (project != NULL && !project_valid(project))
		bad = conf_error_at(errs, cs, "project",
		    "\"%s\" is not a project id", project);
	if (!http_endpoint_valid(endpoint))
		bad = conf_error_at(errs, cs, "endpoint",
		    "must be http://host[:port] or https://host[:port], "
		    "nothing after");
	if (period_ms % 1000 != 0)
		bad = conf_error_at(errs, cs, "alignment_period",
		    "must be whole seconds");
	if (c->ngroup > 0 && reducer < 0)
		bad = conf_error_at(errs, cs, "group_by",
		    "needs cross_series_reducer");
	if (bad)
		goto fail;
	c->aligner = aligner;
	c->reducer = reducer;
	c->period_s = period_ms / 1000;
	c->delay_s = delay_ms / 1000;
	c->retire_s = retire_ms / 1000;
	c->name = strdup(name != NULL ? name : "gcp_monitoring");
	c->project = strdup(project);
	c->filter = strdup(filter);
	c->endpoint = strdup(endpoint);
	c->ca_file = ca != NULL ? strdup(ca) : NULL;
	if (c->name == NULL || c->project == NULL || c->filter == NULL ||
	    c->endpoint == NULL || (ca != NULL && c->ca_file == NULL))
		goto oom;
	n = strlen(c->endpoint);
	while (n > 0 && c->endpoint[n - 1] == '/')
		c->endpoint[--n] = '\0';
	buf_init(&f, GCPMON_URL_MAX);
	buf_puts(&f, c->filter);
	for (size_t i = 0; i < c->nuser; i++) {
		buf_puts(&f, " AND metadata.user_labels.\"");
		buf_puts(&f, c->ukey[i]);
		buf_puts(&f, "\" = \"");
		buf_puts(&f, c->uval[i]);
		buf_puts(&f, "\"");
	}
	if (f.err || (c->full_filter = buf_take(&f)) == NULL) {
		buf_free(&f);
		goto oom;
	}
	if (asprintf(&c->pattern, "%s.*", c->name) < 0) {
		c->pattern = NULL;
		goto oom;
	}
	c->patterns[0] = c->pattern;
	{
		struct gcp_auth_conf ac = { .credentials_file = cred,
			.token_uri = turi,
			.metadata_host = meta,
			.scope = GCPMON_SCOPE,
			.timeout_ms = GCPMON_TIMEOUT_MS };
		struct ag_err e;

		if (gcp_auth_new(&ac, &c->auth, &e) != 0) {
			(void)conf_error(errs, cs, "%s", e.msg);
			goto fail;
		}
	}
	if ((c->http = http_client_new()) == NULL)
		goto oom;
	*ret_ctx = c;
	return 0;
oom:
	(void)conf_error(errs, cs, "out of memory");
fail:
	gm_free(c);
	return -1;
}

/*
 * GET ${url} with a token; a 401 drops it and the call is made once more.
 * 0 with ${resp} on 2xx; else AG_RETRY (429 sets *${throttled}, 5xx,
 * transport) or -1, with ${err} and ${resp} freed.
 */
static int
gm_get(struct gm *c, const char *url, struct http_resp *resp, bool *throttled,
    struct ag_err *err)
{
	char auth[GCP_TOKEN_MAX + 32];
	const char *hdrs[3] = { auth, "Accept: application/json", NULL };
	struct gcp_api_error ge;
	struct ag_err e;
	int rc, tries = 0;

again:
	memset(resp, 0, sizeof(*resp));
	if ((rc = gcp_auth_header(c->auth, time(NULL), auth, sizeof(auth),
		 &e)) != 0) {
		c->k.errors++;
		(void)ag_err_set(err, "%s: %s", c->name, e.msg);
		return rc == AG_RETRY ? AG_RETRY : -1;
	}
	{
		struct http_req req = { .method = "GET",
			.url = url,
			.headers = hdrs,
			.timeout_ms = GCPMON_TIMEOUT_MS,
			.max_response = GCPMON_RESP_MAX,
			.ca_file = c->ca_file };

		c->k.api_calls++;
		rc = http_client_do(c->http, &req, resp, &e);
	}
	memset(auth, 0, sizeof(auth));
	if (rc != 0) {
		c->k.errors++;
		http_resp_free(resp);
		(void)ag_err_set(err, "%s: timeSeries.list: %s", c->name,
		    e.msg);
		return rc == AG_RETRY ? AG_RETRY : -1;
	}
	if (resp->status >= 200 && resp->status < 300 && !resp->truncated)
		return 0;
	(void)gcp_api_error_parse(resp->status, resp->body, resp->body_len,
	    &ge);
	if (resp->status == 401 && tries++ == 0) {
		log_info("%s: the token was refused; a new one is fetched and "
			 "the call made again",
		    c->name);
		gcp_auth_invalidate(c->auth);
		http_resp_free(resp);
		goto again;
	}
	c->k.errors++;
	if (resp->status == 429) {
		*throttled = true;
		c->retry_after_ms = cloudsrc_retry_after_ms(resp);
		rc = AG_RETRY;
	} else
		rc = http_status_class(resp->status) == AG_RETRY ? AG_RETRY :
								   -1;
	(void)ag_err_set(err, "%s: timeSeries.list: HTTP %ld %s%s%s%s",
	    c->name, resp->status, ge.reason, ge.message[0] ? ": " : "",
	    ge.message,
	    resp->status == 403 ? " (the identity needs the role "
				  "Monitoring Viewer on the project)" :
				  "");
	http_resp_free(resp);
	return rc;
}

/* Remember that series ${name} was seen in the window ending ${end}. */
static void
seen_note(struct gm *c, const char *name, int64_t end)
{
	struct gm_seen *nv;

	for (size_t i = 0; i < c->nseen; i++)
		if (strcmp(c->seen[i].name, name) == 0) {
			c->seen[i].seen_s = end;
			return;
		}
	if (c->nseen == c->capseen) {
		size_t cap = c->capseen ? c->capseen * 2 : 16;

		if ((nv = realloc(c->seen, cap * sizeof(*nv))) == NULL)
			return;
		c->seen = nv;
		c->capseen = cap;
	}
	if ((c->seen[c->nseen].name = strdup(name)) != NULL)
		c->seen[c->nseen++].seen_s = end;
}

struct poll {
	struct gm *c;
	struct metric_batch *out;
	int64_t after_ms, end_ms;
	size_t series;
};

static int
on_point(void *cookie, const struct gcpmon_point *p)
{
	struct poll *pl = cookie;
	struct gm *c = pl->c;
	struct metric_label lab[2 * GCPMON_LABELS_MAX];
	char base[METRIC_NAME_MAX], name[METRIC_NAME_MAX], *q;
	const char *m = p->metric_type;
	size_t n = 0;

	pl->series++;
	if (!p->has || p->end_ms <= pl->after_ms || p->end_ms > pl->end_ms)
		return 0;
	/* The metric type without its domain, '/' made '.'. */
	if (strchr(m, '/') != NULL)
		m = strchr(m, '/') + 1;
	snprintf(base, sizeof(base), "%s.%s", c->name, m);
	for (q = base; *q != '\0'; q++)
		if (*q == '/' || *q == '{')
			*q = '.';
	for (size_t i = 0; i < p->nlabels; i++)
		lab[n++] = p->labels[i];
	for (size_t i = 0; i < c->nuser; i++)
		for (size_t j = 0; j < p->nuser; j++) {
			bool dup = false;

			if (strcmp(p->user[j].key, c->ukey[i]) != 0)
				continue;
			for (size_t k = 0; k < n; k++)
				dup |= strcmp(lab[k].key, p->user[j].key) == 0;
			if (!dup)
				lab[n++] = p->user[j];
		}
	if (metric_name_format(name, sizeof(name), base, lab, n) < 0) {
		log_debug("%s: a series of %s has no room for its labels",
		    c->name, p->metric_type);
		return 0;
	}
	if (metric_add_ts(pl->out, p->end_ms, p->v, name) == 0)
		c->k.datapoints++;
	if (c->retire_s > 0)
		seen_note(c, name, pl->end_ms / 1000);
	return 0;
}

/*
 * Retire the series not seen for retire_after, after a window that had
 * series: an empty answer is the source going quiet (no_data's business),
 * not instances going away.
 */
static void
seen_retire(struct gm *c, int64_t end, struct metric_batch *out)
{
	for (size_t i = 0; i < c->nseen; i++) {
		if (c->seen[i].seen_s > end - c->retire_s)
			continue;
		log_info("%s: %s not seen for %llds: retired", c->name,
		    c->seen[i].name, (long long)c->retire_s);
		(void)metric_retire(out, c->seen[i].name);
		free(c->seen[i].name);
		c->seen[i--] = c->seen[--c->nseen];
	}
}

static int
poll_window(struct gm *c, int64_t end, struct metric_batch *out,
    bool *throttled, struct ag_err *err)
{
	struct poll pl = { c, out, c->last_end_s * 1000, end * 1000, 0 };
	char t0[32], t1[32], per[32], *token = NULL;
	size_t n0 = out->n, total = 0;
	int rc = 0, pages = 0;

	cloudsrc_time(end - c->period_s, t0);
	cloudsrc_time(end, t1);
	snprintf(per, sizeof(per), "%llds", (long long)c->period_s);
	do {
		struct http_resp resp;
		struct ag_err pe;
		struct buf url;
		char *next = NULL;

		buf_init(&url, GCPMON_URL_MAX);
		buf_puts(&url, c->endpoint);
		buf_puts(&url, "/v3/projects/");
		cloudsrc_put_enc(&url, c->project);
		buf_puts(&url, "/timeSeries?filter=");
		cloudsrc_put_enc(&url, c->full_filter);
		buf_puts(&url, "&interval.startTime=");
		cloudsrc_put_enc(&url, t0);
		buf_puts(&url, "&interval.endTime=");
		cloudsrc_put_enc(&url, t1);
		buf_puts(&url, "&aggregation.alignmentPeriod=");
		buf_puts(&url, per);
		buf_puts(&url, "&aggregation.perSeriesAligner=");
		buf_puts(&url, aligners[c->aligner]);
		if (c->reducer >= 0) {
			buf_puts(&url, "&aggregation.crossSeriesReducer=");
			buf_puts(&url, reducers[c->reducer]);
		}
		for (size_t i = 0; i < c->ngroup; i++) {
			buf_puts(&url, "&aggregation.groupByFields=");
			cloudsrc_put_enc(&url, c->group_by[i]);
		}
		if (token != NULL) {
			buf_puts(&url, "&pageToken=");
			cloudsrc_put_enc(&url, token);
		}
		if (url.err) {
			buf_free(&url);
			rc = ag_err_set(err, "%s: URL too long", c->name);
			break;
		}
		rc = gm_get(c, url.p, &resp, throttled, err);
		buf_free(&url);
		if (rc != 0)
			break;
		pl.series = 0;
		if (gcpmon_parse(resp.body, resp.body_len, on_point, &pl,
			&next, &pe) != 0) {
			c->k.errors++;
			rc = ag_err_set(err, "%s: timeSeries.list: %s",
			    c->name, pe.msg);
		}
		c->k.metrics_requested += pl.series;
		total += pl.series;
		http_resp_free(&resp);
		free(token);
		token = next;
		if (rc == 0 && token != NULL && ++pages == GCPMON_PAGES_MAX) {
			c->k.errors++;
			rc = ag_err_set(err, "%s: over %d pages", c->name,
			    GCPMON_PAGES_MAX);
		}
	} while (rc == 0 && token != NULL);
	free(token);
	if (rc != 0) {
		/* Nothing of a window read in part: it is read again whole. */
		c->k.datapoints -= out->n - n0;
		out->n = n0;
		return rc;
	}
	c->last_end_s = end;
	if (c->retire_s > 0 && total > 0)
		seen_retire(c, end, out);
	return 0;
}

static int
gm_collect(void *vctx, struct metric_batch *out, struct ag_err *err)
{
	struct gm *c = vctx;
	int64_t end = (out->now_ms / 1000 - c->delay_s) / c->period_s *
	    c->period_s;
	bool throttled = false;
	int rc = 0;
	size_t at;

	at = cloudsrc_counters(c->name, &c->k, out, SIZE_MAX);
	if (cloudsrc_throttled(&c->th) || end <= c->last_end_s)
		return 0;
	c->retry_after_ms = 0;
	rc = poll_window(c, end, out, &throttled, err);
	if (throttled)
		cloudsrc_throttle_hit(&c->th, c->name, c->retry_after_ms);
	else if (rc == 0)
		cloudsrc_throttle_ok(&c->th);
	(void)cloudsrc_counters(c->name, &c->k, out, at);
	return rc;
}

static const char *const *
gm_patterns(void *vctx)
{
	struct gm *c = vctx;

	return c->patterns;
}

const struct source_ops src_gcpmon_ops = {
	.type = "gcp_monitoring",
	.settings = gm_settings,
	.configure = gm_configure,
	.collect = gm_collect,
	.patterns = gm_patterns,
	.free = gm_free,
};
