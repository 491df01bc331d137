/*
 * api.c: see api.h.  Every answer is built here, on the scheduler thread,
 * from the state it owns (struct sched, sched_internal.h) or reads under
 * the owner's lock (the jobs' progress, the spool, the sender's recent
 * notifications); nothing here waits.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <jansson.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/clock.h"
#include "lib/parsenum.h"
#include "paths.h"

#include "agent/history.h"
#include "agent/jobs.h"
#include "agent/metric.h"
#include "agent/rules.h"
#include "agent/runconf.h"
#include "agent/sched_internal.h"
#include "agent/sender.h"
#include "agent/spool.h"

#include "agent/api.h"

#define PREFIX "/api/v1/"
/* The span of a history request without "from": an hour. */
#define HISTORY_DEFAULT_MS (60 * 60 * 1000)

/* A reading's value: a number, or null when it is none (NaN, inf). */
static json_t *
value_json(double v)
{
	return isfinite(v) ? json_real(v) : json_null();
}

static json_t *
time_json(int64_t ms)
{
	char buf[40];

	if (ms <= 0)
		return json_null();
	clock_rfc3339(ms, buf, sizeof(buf));
	return json_string(buf);
}

/*
 * Check the query parameters of ${rq} against the NULL-terminated
 * ${allowed}: each known, none twice.  Return 0, or -1 with a 400 in ${rs}.
 */
static int
params_check(const struct web_req *rq, struct web_resp *rs,
    const char *const *allowed)
{
	for (size_t i = 0; i < rq->nparams; i++) {
		const char *k = rq->params[i].key;
		size_t a = 0;

		while (allowed[a] != NULL && strcmp(allowed[a], k) != 0)
			a++;
		if (allowed[a] == NULL) {
			web_error(rs, 400, "unknown parameter \"%.64s\"", k);
			return -1;
		}
		for (size_t j = 0; j < i; j++)
			if (strcmp(rq->params[j].key, k) == 0) {
				web_error(rs, 400,
				    "parameter \"%s\" given twice", k);
				return -1;
			}
	}
	return 0;
}

/* The history's part of status, or null when it is off. */
static json_t *
history_json(struct sched *s)
{
	struct history_stats hs;

	if (s->hist == NULL)
		return json_null();
	history_stats(s->hist, &hs);
	return json_pack("{s:I, s:I, s:I, s:I, s:I, s:s?}", "series",
	    (json_int_t)hs.series, "bytes", (json_int_t)hs.bytes, "bytes_max",
	    (json_int_t)hs.bytes_max, "dropped", (json_int_t)hs.dropped,
	    "saved_ms", (json_int_t)hs.saved_ms, "last_error",
	    hs.last_error[0] != '\0' ? hs.last_error : NULL);
}

static void
get_status(struct sched *s, const struct web_req *rq, struct web_resp *rs)
{
	static const char *const allowed[] = { NULL };
	int64_t now = clock_wall_ms();
	json_t *o;

	if (params_check(rq, rs, allowed) != 0)
		return;
	o = json_pack("{s:s, s:s, s:i, s:I, s:I, s:s, s:I, s:I, s:I, s:I, "
		      "s:I}",
	    "host", s->rc->conf->agent.hostname, "version", VIGIL_VERSION,
	    "pid", (int)getpid(), "started_ms", (json_int_t)s->started_ms,
	    "uptime_s", (json_int_t)((now - s->started_ms) / 1000), "config",
	    s->rc->conf->path, "reloads", (json_int_t)s->reloads,
	    "reload_failures", (json_int_t)s->reload_failures, "sources",
	    (json_int_t)s->rc->nsources, "rules",
	    (json_int_t)rules_count(s->rc->rules), "jobs",
	    (json_int_t)s->rc->njobs);
	if (o != NULL) {
		const struct http_conf *hc = &s->rc->conf->http;
		json_t *roots = json_array();

		/* For the restore page: where a target may go. */
		for (size_t i = 0; roots != NULL && i < hc->nrestore_roots;
		     i++)
			(void)json_array_append_new(roots,
			    json_string(hc->restore_roots[i]));
		(void)json_object_set_new(o, "restore_roots", roots);
		(void)json_object_set_new(o, "history", history_json(s));
		if (json_object_set_new(o, "queue",
			sched_queue_json(s, now)) != 0) {
			json_decref(o);
			o = NULL;
		}
	}
	web_json(rs, 200, o);
}

/* The last reading of source ${i} named ${name}, or NULL. */
static const struct metric *
last_reading(struct sched *s, size_t i, const char *name)
{
	for (size_t k = 0; s->last != NULL && k < s->last[i].n; k++)
		if (strcmp(s->last[i].v[k].name, name) == 0)
			return &s->last[i].v[k];
	return NULL;
}

static void
get_sources(struct sched *s, const struct web_req *rq, struct web_resp *rs)
{
	static const char *const allowed[] = { NULL };
	json_t *arr, *o;

	if (params_check(rq, rs, allowed) != 0)
		return;
	if ((arr = json_array()) == NULL) {
		web_json(rs, 500, NULL);
		return;
	}
	for (size_t i = 0; i < s->rc->nsources; i++) {
		const struct source *src = s->rc->sources[i];
		char calls[METRIC_NAME_MAX];
		const struct metric *m;
		json_t *so;

		/* Cloud sources count their calls as a reading. */
		snprintf(calls, sizeof(calls), "%s.api_calls", src->name);
		m = last_reading(s, i, calls);
		if ((so = source_json(src)) != NULL &&
		    (json_object_set_new(so, "api_calls",
			 m != NULL ? value_json(m->value) : json_null()) !=
			    0 ||
			json_object_set_new(so, "readings",
			    json_integer((json_int_t)(s->last != NULL ?
				    s->last[i].n :
				    0))) != 0)) {
			json_decref(so);
			so = NULL;
		}
		if (so == NULL || json_array_append_new(arr, so) != 0) {
			json_decref(arr);
			web_json(rs, 500, NULL);
			return;
		}
	}
	o = json_pack("{s:o}", "sources", arr);
	web_json(rs, 200, o);
}

/*
 * One reading as {name, labels, value, time_ms, source}: ${m}'s name split
 * into its base and its labels.  NULL if the labels are malformed.
 */
static json_t *
reading_json(const struct metric *m, const char *source)
{
	char key[METRIC_NAME_MAX], val[METRIC_NAME_MAX];
	const char *cur = m->name;
	json_t *labels = json_object(), *o;
	int rc;

	while ((rc = metric_label_next(&cur, key, sizeof(key), val,
		    sizeof(val))) == 1)
		(void)json_object_set_new(labels, key, json_string(val));
	if (rc < 0 || labels == NULL) {
		json_decref(labels);
		return NULL;
	}
	o = json_pack("{s:s%, s:o, s:o, s:I, s:s}", "name", m->name,
	    metric_base_len(m->name), "labels", labels, "value",
	    value_json(m->value), "time_ms", (json_int_t)m->ts_ms, "source",
	    source);
	return o;
}

static void
get_readings(struct sched *s, const struct web_req *rq, struct web_resp *rs)
{
	static const char *const allowed[] = { "source", "match", NULL };
	const char *source = web_param(rq, "source");
	const char *match = web_param(rq, "match");
	char base[METRIC_NAME_MAX];
	bool found = source == NULL;
	json_t *arr;

	if (params_check(rq, rs, allowed) != 0)
		return;
	if (match != NULL &&
	    (*match == '\0' || strlen(match) >= sizeof(base))) {
		web_error(rs, 400, "match: give a glob of at most %zu bytes",
		    sizeof(base) - 1);
		return;
	}
	if ((arr = json_array()) == NULL) {
		web_json(rs, 500, NULL);
		return;
	}
	for (size_t i = 0; i < s->rc->nsources; i++) {
		const char *name = s->rc->sources[i]->name;

		if (source != NULL && strcmp(source, name) != 0)
			continue;
		found = true;
		for (size_t k = 0; s->last != NULL && k < s->last[i].n; k++) {
			const struct metric *m = &s->last[i].v[k];
			size_t bl = metric_base_len(m->name);
			json_t *o;

			memcpy(base, m->name, bl);
			base[bl] = '\0';
			if (match != NULL && !metric_glob_match(match, base))
				continue;
			/* A name with malformed labels is left out. */
			if ((o = reading_json(m, name)) != NULL)
				(void)json_array_append_new(arr, o);
		}
	}
	if (!found) {
		json_decref(arr);
		web_error(rs, 404, "no source \"%.128s\"", source);
		return;
	}
	web_json(rs, 200, json_pack("{s:o}", "readings", arr));
}

static void
get_series(struct sched *s, const struct web_req *rq, struct web_resp *rs)
{
	static const char *const allowed[] = { "match", NULL };
	const char *match = web_param(rq, "match");

	if (params_check(rq, rs, allowed) != 0)
		return;
	if (s->hist == NULL) {
		web_error(rs, 404, "history is off");
		return;
	}
	if (match != NULL &&
	    (*match == '\0' || strlen(match) >= METRIC_NAME_MAX)) {
		web_error(rs, 400, "match: give a glob of at most %d bytes",
		    METRIC_NAME_MAX - 1);
		return;
	}
	web_json(rs, 200,
	    json_pack("{s:o}", "series", history_names(s->hist, match)));
}

/*
 * A time of a history request: milliseconds since the epoch, an RFC 3339
 * time, "now", or "-DURATION" before ${now}.  Return 0 or -1.
 */
static int
parse_time(const char *v, int64_t now, int64_t *ret)
{
	int64_t d;

	if (strcmp(v, "now") == 0) {
		*ret = now;
		return 0;
	}
	if (v[0] == '-') {
		if (parse_duration_ms(v + 1, &d) != 0 || d > now)
			return -1;
		*ret = now - d;
		return 0;
	}
	if (strspn(v, "0123456789") == strlen(v))
		return parse_int64(v, ret);
	return clock_parse_rfc3339(v, ret);
}

static void
get_history(struct sched *s, const struct web_req *rq, struct web_resp *rs)
{
	static const char *const allowed[] = { "series", "from", "to", "step",
		NULL };
	const char *series = web_param(rq, "series");
	const char *from = web_param(rq, "from"), *to = web_param(rq, "to");
	const char *step = web_param(rq, "step");
	int64_t now = clock_wall_ms(), f = now - HISTORY_DEFAULT_MS, t = now;
	int64_t st = 0;
	json_t *o;

	if (params_check(rq, rs, allowed) != 0)
		return;
	if (s->hist == NULL) {
		web_error(rs, 404, "history is off");
		return;
	}
	if (series == NULL || *series == '\0' ||
	    strlen(series) >= METRIC_NAME_MAX) {
		web_error(rs, 400, "series: give the name of a series");
		return;
	}
	if ((from != NULL && parse_time(from, now, &f) != 0) ||
	    (to != NULL && parse_time(to, now, &t) != 0)) {
		web_error(rs, 400,
		    "from, to: give ms since the epoch, an RFC 3339 time, "
		    "\"now\" or \"-DURATION\" (\"-3h\")");
		return;
	}
	if (f >= t) {
		web_error(rs, 400, "from must be before to");
		return;
	}
	if (step != NULL && (parse_duration_ms(step, &st) != 0 || st <= 0)) {
		web_error(rs, 400, "step: give a duration (\"1m\")");
		return;
	}
	if ((o = history_query(s->hist, series, f, t, st)) == NULL) {
		web_error(rs, 404, "no history of \"%.256s\"", series);
		return;
	}
	web_json(rs, 200, o);
}

/* Firing first: CRITICAL, WARNING, then UNKNOWN, then OK. */
static int
state_rank(enum alert_state st)
{
	switch (st) {
	case ST_CRITICAL:
		return 0;
	case ST_WARNING:
		return 1;
	case ST_UNKNOWN:
		return 2;
	default:
		return 3;
	}
}

struct rule_row {
	json_t *o;
	int rank;
	size_t order; /* rules_walk()'s: rule order, then metric */
};

struct rule_rows {
	struct sched *s;
	struct rule_row *v;
	size_t n, cap;
	bool oom;
};

/* The worst level a rule can reach: "critical" if it has crit. */
static const char *
rule_severity(struct sched *s, const char *rule)
{
	for (size_t i = 0; i < rules_count(s->rc->rules); i++) {
		const struct rule_conf *rc = rules_rule(s->rc->rules, i);

		if (strcmp(rc->name, rule) == 0)
			return rc->has_crit ? "critical" : "warning";
	}
	return "warning";
}

static void
add_rule_row(void *cookie, const struct rule_series_info *si)
{
	struct rule_rows *rr = cookie;
	json_t *o;

	if (rr->oom)
		return;
	if (rr->n == rr->cap) {
		size_t cap = rr->cap ? 2 * rr->cap : 64;
		struct rule_row *v = realloc(rr->v, cap * sizeof(*v));

		if (v == NULL) {
			rr->oom = true;
			return;
		}
		rr->v = v;
		rr->cap = cap;
	}
	o = json_pack("{s:s, s:s, s:s, s:b, s:o, s:o, s:s}", "rule", si->rule,
	    "metric", si->metric, "state", alert_state_name(si->state),
	    "firing", si->state == ST_WARNING || si->state == ST_CRITICAL,
	    "since", time_json(si->since_ms), "value",
	    si->has_value ? value_json(si->value) : json_null(), "severity",
	    rule_severity(rr->s, si->rule));
	if (o == NULL) {
		rr->oom = true;
		return;
	}
	rr->v[rr->n] = (struct rule_row){ o, state_rank(si->state), rr->n };
	rr->n++;
}

static int
rule_row_cmp(const void *a, const void *b)
{
	const struct rule_row *x = a, *y = b;

	if (x->rank != y->rank)
		return x->rank < y->rank ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

static void
get_rules(struct sched *s, const struct web_req *rq, struct web_resp *rs)
{
	static const char *const allowed[] = { NULL };
	struct rule_rows rr = { .s = s };
	json_t *arr;

	if (params_check(rq, rs, allowed) != 0)
		return;
	rules_walk(s->rc->rules, add_rule_row, &rr);
	if (rr.n > 0)
		qsort(rr.v, rr.n, sizeof(*rr.v), rule_row_cmp);
	arr = rr.oom ? NULL : json_array();
	for (size_t i = 0; i < rr.n; i++)
		if (arr == NULL || json_array_append_new(arr, rr.v[i].o) != 0)
			json_decref(rr.v[i].o);
	free(rr.v);
	web_json(rs, 200,
	    arr != NULL ? json_pack("{s:o}", "rules", arr) : NULL);
}

static void
get_notifications(struct sched *s, const struct web_req *rq,
    struct web_resp *rs)
{
	static const char *const allowed[] = { NULL };

	if (params_check(rq, rs, allowed) != 0)
		return;
	web_json(rs, 200,
	    json_pack("{s:o, s:o}", "recent", sender_recent(s->sender),
		"queue", sched_queue_json(s, clock_wall_ms())));
}

static void
get_jobs(struct sched *s, const struct web_req *rq, struct web_resp *rs)
{
	static const char *const allowed[] = { NULL };

	if (params_check(rq, rs, allowed) != 0)
		return;
	web_json(rs, 200,
	    json_pack("{s:o}", "jobs", jobs_status(s->jobs, clock_wall_ms())));
}

static void
post_job_run(struct sched *s, const struct web_req *rq, struct web_resp *rs,
    const char *job)
{
	static const char *const allowed[] = { NULL };
	struct ag_err err = { "" };
	int rc;

	if (params_check(rq, rs, allowed) != 0)
		return;
	if (rq->role < WEB_ROLE_ADMIN) {
		web_error(rs, 403, "running a backup needs an admin token");
		return;
	}
	if (runconf_job(s->rc, job) == NULL) {
		web_error(rs, 404, "no backup job \"%.64s\"", job);
		return;
	}
	rc = jobs_start(s->jobs, job, &err);
	if (rc == 0)
		web_json(rs, 202, json_pack("{s:b}", "ok", 1));
	else if (rc == 1)
		web_error(rs, 409, "%s", err.msg);
	else
		web_error(rs, 500, "%s", err.msg);
}

typedef void get_fn(struct sched *, const struct web_req *, struct web_resp *);

static const struct {
	const char *path; /* after PREFIX */
	get_fn *fn;
} gets[] = {
	{ "status", get_status },
	{ "sources", get_sources },
	{ "readings", get_readings },
	{ "series", get_series },
	{ "history", get_history },
	{ "rules", get_rules },
	{ "notifications", get_notifications },
	{ "jobs", get_jobs },
};

void
api_handle(void *sched, const struct web_req *rq, struct web_resp *rs)
{
	struct sched *s = sched;
	const char *p = rq->path, *job, *slash;
	char name[128]; /* longer than any job name */
	bool get = strcmp(rq->method, "GET") == 0 ||
	    strcmp(rq->method, "HEAD") == 0;
	size_t len;

	if (strncmp(p, PREFIX, strlen(PREFIX)) != 0) {
		web_error(rs, 404, "no such path");
		return;
	}
	p += strlen(PREFIX);
	for (size_t i = 0; i < sizeof(gets) / sizeof(gets[0]); i++)
		if (strcmp(p, gets[i].path) == 0) {
			if (!get)
				web_error(rs, 405, "%s needs GET", rq->path);
			else
				gets[i].fn(s, rq, rs);
			return;
		}
	/* jobs/{job}/run */
	if (strncmp(p, "jobs/", 5) == 0) {
		job = p + 5;
		slash = strchr(job, '/');
		if (slash != NULL && strcmp(slash, "/run") == 0 &&
		    (len = (size_t)(slash - job)) > 0) {
			if (len >= sizeof(name)) {
				web_error(rs, 404,
				    "no backup job of that name");
				return;
			}
			memcpy(name, job, len);
			name[len] = '\0';
			if (strcmp(rq->method, "POST") != 0)
				web_error(rs, 405, "%s needs POST", rq->path);
			else
				post_job_run(s, rq, rs, name);
			return;
		}
	}
	web_error(rs, 404, "no such path");
}
