/*
 * prom.c: /metrics (agent/prom.h).
 *
 * Samples are gathered first (each with its family, labels and value),
 * sorted by family so that each family is written once under its HELP and
 * TYPE lines, as the format wants, then written into one buffer.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "agent/history.h"
#include "agent/jobs.h"
#include "agent/prom.h"
#include "agent/rules.h"
#include "agent/runconf.h"
#include "agent/sched_internal.h"
#include "agent/sender.h"
#include "agent/source.h"
#include "agent/spool.h"
#include "lib/buf.h"
#include "lib/clock.h"
#include "lib/ag.h"
#include "paths.h"

#define FAMILY_MAX 200
#define LABELS_MAX 2048
#define OUT_MAX (64 * 1024 * 1024)

struct sample {
	char family[FAMILY_MAX];
	const char *help; /* static */
	const char *type; /* "gauge", "counter" */
	char *labels;	  /* "host=\"a\",source=\"b\"" */
	double value;
	size_t order; /* for a stable sort */
};

struct out {
	struct sample *v;
	size_t n, cap;
	const char *host;
	int err;
};

/* Instances of the local sources: the middle of "<family>.<inst>.<metric>". */
static const struct {
	const char *type, *key;
} inst_keys[] = {
	{ "disk", "mountpoint" },
	{ "network", "interface" },
	{ "diskio", "device" },
	{ "process", "process" },
};

static const struct {
	const char *from, *to;
} units[] = {
	{ "_per_s", "_per_second" },
	{ "_pct", "_percent" },
	{ "_s", "_seconds" },
	{ "_ms", "_milliseconds" },
};

/* Append [s, s+n) to ${f} as a metric name (invalid characters: '_'). */
static void
name_put(char *f, size_t flen, size_t *at, const char *s, size_t n)
{
	for (size_t i = 0; i < n && *at + 1 < flen; i++) {
		char c = s[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    c == '_' || (c >= '0' && c <= '9' && *at > 0);

		if (!ok && *at > 0 && f[*at - 1] == '_')
			continue; /* "disk.." "a-b" -> one '_' */
		f[(*at)++] = ok ? c : '_';
	}
	f[*at] = '\0';
}

/* Is ${type} a source whose readings name an instance in their middle? */
static const char *
inst_key_of(const char *type)
{
	for (size_t i = 0; type != NULL && i < ARRAY_SIZE(inst_keys); i++)
		if (strcmp(type, inst_keys[i].type) == 0)
			return inst_keys[i].key;
	return NULL;
}

int
prom_name(const char *reading, const char *source, const char *type,
    char *family, size_t flen, const char **inst_key, size_t *off, size_t *len)
{
	size_t base = metric_base_len(reading), at = 0, from = 0;
	const char *first = memchr(reading, '.', base), *last = NULL;
	size_t sl = source != NULL ? strlen(source) : 0;
	char metric[FAMILY_MAX];
	size_t ml;

	*inst_key = NULL;
	*off = *len = 0;
	for (const char *p = reading; p < reading + base; p++)
		if (*p == '.')
			last = p;
	if (first != NULL && last != first) {
		if (type == NULL && strncmp(reading, "backup.", 7) == 0)
			*inst_key = "job";
		else
			*inst_key = inst_key_of(type);
	}
	name_put(family, flen, &at, "vigil_", 6);
	if (*inst_key != NULL) {
		name_put(family, flen, &at, reading,
		    (size_t)(first - reading));
		*off = (size_t)(first + 1 - reading);
		*len = (size_t)(last - first - 1);
		ml = snprintf(metric, sizeof(metric), "_%.*s",
		    (int)(base - (size_t)(last + 1 - reading)), last + 1);
	} else {
		/*
		 * A cloud source names its readings "<source>.<metric>": the
		 * family takes the type instead, so that it does not change
		 * with the name a user gave the source (which is a label).
		 */
		if (type != NULL && inst_key_of(type) == NULL && sl > 0 &&
		    sl + 1 < base && strncmp(reading, source, sl) == 0 &&
		    reading[sl] == '.' && strcmp(type, source) != 0) {
			name_put(family, flen, &at, type, strlen(type));
			name_put(family, flen, &at, "_", 1);
			from = sl + 1;
		}
		ml = snprintf(metric, sizeof(metric), "%.*s",
		    (int)(base - from), reading + from);
	}
	if (ml >= sizeof(metric))
		ml = sizeof(metric) - 1;
	for (size_t i = 0; i < ARRAY_SIZE(units); i++) {
		size_t ul = strlen(units[i].from);

		if (ml > ul && strcmp(metric + ml - ul, units[i].from) == 0) {
			(void)snprintf(metric + ml - ul,
			    sizeof(metric) - ml + ul, "%s", units[i].to);
			break;
		}
	}
	name_put(family, flen, &at, metric, strlen(metric));
	return 0;
}

/* Append key="value" (escaped) to ${b}. */
static void
label_put(struct buf *b, const char *key, const char *v, size_t vlen)
{
	char k[128];
	size_t at = 0;

	name_put(k, sizeof(k), &at, key, strlen(key));
	if (b->len > 0)
		(void)buf_append(b, ",", 1);
	(void)buf_puts(b, k);
	(void)buf_append(b, "=\"", 2);
	for (size_t i = 0; i < vlen; i++) {
		if (v[i] == '\\' || v[i] == '"')
			(void)buf_append(b, "\\", 1);
		if (v[i] == '\n')
			(void)buf_append(b, "\\n", 2);
		else
			(void)buf_append(b, &v[i], 1);
	}
	(void)buf_append(b, "\"", 1);
}

/*
 * One sample: ${family}, ${value} and the labels given as key, value
 * pairs ending with NULL (host comes first on its own).
 */
static void
add(struct out *o, const char *family, const char *type, const char *help,
    double value, ...)
{
	struct buf lb;
	struct sample *sm;
	const char *k;
	va_list ap;

	if (o->err)
		return;
	if (o->n == o->cap) {
		size_t nc = o->cap != 0 ? o->cap * 2 : 256;
		struct sample *nv = realloc(o->v, nc * sizeof(*nv));

		if (nv == NULL) {
			o->err = 1;
			return;
		}
		o->v = nv;
		o->cap = nc;
	}
	buf_init(&lb, LABELS_MAX);
	label_put(&lb, "host", o->host, strlen(o->host));
	va_start(ap, value);
	while ((k = va_arg(ap, const char *)) != NULL) {
		const char *v = va_arg(ap, const char *);

		label_put(&lb, k, v, strlen(v));
	}
	va_end(ap);
	if (lb.err != 0) {
		buf_free(&lb);
		return;
	}
	sm = &o->v[o->n];
	(void)snprintf(sm->family, sizeof(sm->family), "%s", family);
	sm->type = type;
	sm->help = help;
	sm->labels = buf_take(&lb);
	sm->value = value;
	sm->order = o->n;
	if (sm->labels == NULL) {
		o->err = 1;
		return;
	}
	o->n++;
}

/* A reading, with its instance and cloud labels. */
static void
add_reading(struct out *o, const struct metric *m, const char *source,
    const char *type)
{
	char family[FAMILY_MAX], key[128], val[METRIC_NAME_MAX];
	const char *inst_key, *cur = m->name + metric_base_len(m->name);
	size_t off, len;
	struct buf lb;
	struct sample *sm;

	if (o->err ||
	    prom_name(m->name, source, type, family, sizeof(family), &inst_key,
		&off, &len) != 0)
		return;
	add(o, family, "gauge", "a reading of vigil (vigil.conf(5) sources)",
	    m->value, NULL);
	if (o->err || o->n == 0)
		return;
	sm = &o->v[o->n - 1];
	buf_init(&lb, LABELS_MAX);
	(void)buf_puts(&lb, sm->labels);
	if (source != NULL)
		label_put(&lb, "source", source, strlen(source));
	if (inst_key != NULL)
		label_put(&lb, inst_key, m->name + off, len);
	while (metric_label_next(&cur, key, sizeof(key), val, sizeof(val)) ==
	    1)
		label_put(&lb, key, val, strlen(val));
	if (lb.err != 0) {
		buf_free(&lb);
		return;
	}
	free(sm->labels);
	sm->labels = buf_take(&lb);
	if (sm->labels == NULL) {
		o->n--;
		o->err = 1;
	}
}

static void
add_rule(void *cookie, const struct rule_series_info *si)
{
	struct out *o = cookie;

	add(o, "vigil_rule_state", "gauge",
	    "the state of a rule's series: 0 OK, 1 WARNING, 2 CRITICAL, "
	    "3 UNKNOWN",
	    (double)si->state, "rule", si->rule, "series", si->metric, NULL);
	add(o, "vigil_rule_state_since_timestamp_seconds", "gauge",
	    "when the series entered its state", (double)si->since_ms / 1e3,
	    "rule", si->rule, "series", si->metric, NULL);
}

static void
add_process(struct out *o)
{
	struct rusage ru;
	long pages = 0, rss = 0;
	FILE *f = fopen("/proc/self/statm", "r");
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	double fds = -2; /* ".", ".." */

	if (getrusage(RUSAGE_SELF, &ru) == 0)
		add(o, "process_cpu_seconds_total", "counter",
		    "user and system CPU time of vigild",
		    (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
			(double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) /
			    1e6,
		    NULL);
	if (f != NULL) {
		if (fscanf(f, "%ld %ld", &pages, &rss) == 2) {
			long ps = sysconf(_SC_PAGESIZE);

			add(o, "process_resident_memory_bytes", "gauge",
			    "resident memory of vigild", (double)rss * ps,
			    NULL);
			add(o, "process_virtual_memory_bytes", "gauge",
			    "virtual memory of vigild", (double)pages * ps,
			    NULL);
		}
		(void)fclose(f);
	}
	if (d != NULL) {
		while ((de = readdir(d)) != NULL)
			fds++;
		(void)closedir(d);
		add(o, "process_open_fds", "gauge",
		    "open file descriptors of vigild", fds - 1, NULL);
	}
}

static void
add_state(struct out *o, struct sched *s)
{
	struct runconf *rc = s->rc;
	struct metric_batch jb;
	uint64_t sent = 0, failed = 0;
	int64_t wall = clock_wall_ms(), oldest;

	add(o, "vigil_info", "gauge", "vigild's version", 1, "version",
	    VIGIL_VERSION, NULL);
	add(o, "process_start_time_seconds", "gauge", "when vigild started",
	    (double)s->started_ms / 1e3, NULL);
	add(o, "vigil_reloads_total", "counter", "configuration reloads",
	    (double)s->reloads, NULL);
	add(o, "vigil_reload_failures_total", "counter",
	    "reloads refused (a bad configuration)",
	    (double)s->reload_failures, NULL);
	for (size_t i = 0; i < rc->nsources; i++) {
		const struct source *src = rc->sources[i];
		const char *type = source_type(src);

		add(o, "vigil_source_up", "gauge",
		    "1 if the source's last poll worked",
		    src->failures == 0 && src->last_ok_ms > 0, "source",
		    src->name, "type", type, NULL);
		add(o, "vigil_source_consecutive_failures", "gauge",
		    "failed polls in a row", (double)src->failures, "source",
		    src->name, NULL);
		add(o, "vigil_source_last_success_timestamp_seconds", "gauge",
		    "when the source last polled without error",
		    (double)src->last_ok_ms / 1e3, "source", src->name, NULL);
		add(o, "vigil_source_poll_duration_seconds", "gauge",
		    "how long the last poll took",
		    (double)src->last_dur_ms / 1e3, "source", src->name, NULL);
		for (size_t k = 0; s->last != NULL && k < s->last[i].n; k++)
			add_reading(o, &s->last[i].v[k], src->name, type);
	}
	metric_batch_init(&jb, 100000);
	jb.now_ms = wall;
	jobs_metrics(s->jobs, &jb);
	for (size_t k = 0; k < jb.n; k++) {
		const char *n = jb.v[k].name;
		size_t nl = strlen(n), sl = sizeof(".last_success_age_s") - 1;

		add_reading(o, &jb.v[k], NULL, NULL);
		/* The time itself too, as Prometheus likes it. */
		if (nl > 7 + sl && strncmp(n, "backup.", 7) == 0 &&
		    strcmp(n + nl - sl, ".last_success_age_s") == 0 &&
		    jb.v[k].value >= 0) {
			char job[METRIC_NAME_MAX];

			(void)snprintf(job, sizeof(job), "%.*s",
			    (int)(nl - 7 - sl), n + 7);
			add(o, "vigil_backup_last_success_timestamp_seconds",
			    "gauge", "when the job's last good backup ended",
			    (double)wall / 1e3 - jb.v[k].value, "job", job,
			    NULL);
		}
	}
	metric_batch_free(&jb);
	rules_walk(rc->rules, add_rule, o);
	for (size_t i = 0; i < rc->nnotifiers; i++)
		add(o, "vigil_queue_depth", "gauge",
		    "notifications waiting for delivery",
		    (double)spool_depth_for(s->spool, rc->notifiers[i]->name),
		    "notifier", rc->notifiers[i]->name, NULL);
	oldest = spool_oldest_ms(s->spool);
	add(o, "vigil_queue_oldest_age_seconds", "gauge",
	    "age of the oldest notification waiting (0: none)",
	    oldest > 0 && wall > oldest ? (double)(wall - oldest) / 1e3 : 0,
	    NULL);
	sender_stats(s->sender, &sent, &failed);
	add(o, "vigil_notifications_sent_total", "counter",
	    "notifications delivered", (double)sent, NULL);
	add(o, "vigil_notifications_failed_total", "counter",
	    "failed delivery attempts", (double)failed, NULL);
	add(o, "vigil_notifications_dropped_total", "counter",
	    "notifications dropped (queue full, refused, by hand)",
	    (double)spool_dropped(s->spool), NULL);
	add(o, "vigil_spool_write_errors", "gauge",
	    "failed writes of the spool in a row",
	    (double)spool_write_errors(s->spool), NULL);
	if (s->hist != NULL) {
		struct history_stats hs;

		history_stats(s->hist, &hs);
		add(o, "vigil_history_series", "gauge",
		    "series kept in the metric history", (double)hs.series,
		    NULL);
		add(o, "vigil_history_bytes", "gauge",
		    "memory of the metric history", (double)hs.bytes, NULL);
		add(o, "vigil_history_max_bytes", "gauge",
		    "the history's cap (http.history.memory_max)",
		    (double)hs.bytes_max, NULL);
		add(o, "vigil_history_dropped_series_total", "counter",
		    "series refused by the cap", (double)hs.dropped, NULL);
	}
	add_process(o);
}

static int
cmp_sample(const void *a, const void *b)
{
	const struct sample *x = a, *y = b;
	int c = strcmp(x->family, y->family);

	if (c != 0)
		return c;
	return x->order < y->order ? -1 : x->order > y->order;
}

static void
put_value(struct buf *b, double v)
{
	char num[40];

	if (v != v)
		(void)buf_puts(b, "NaN");
	else if (v > 1.7976931348623157e308)
		(void)buf_puts(b, "+Inf");
	else if (v < -1.7976931348623157e308)
		(void)buf_puts(b, "-Inf");
	else {
		/* The shortest of %.15g and %.17g that reads back the same. */
		(void)snprintf(num, sizeof(num), "%.15g", v);
		if (strtod(num, NULL) != v)
			(void)snprintf(num, sizeof(num), "%.17g", v);
		(void)buf_puts(b, num);
	}
}

void
prom_render(struct sched *s, struct web_resp *rs)
{
	struct out o = { .host = s->rc->conf->agent.hostname };
	struct buf b;
	const char *fam = "";

	add_state(&o, s);
	qsort(o.v, o.n, sizeof(*o.v), cmp_sample);
	buf_init(&b, OUT_MAX);
	for (size_t i = 0; i < o.n; i++) {
		struct sample *sm = &o.v[i];

		if (strcmp(sm->family, fam) != 0) {
			(void)buf_puts(&b, "# HELP ");
			(void)buf_puts(&b, sm->family);
			(void)buf_puts(&b, " ");
			(void)buf_puts(&b, sm->help);
			(void)buf_puts(&b, "\n# TYPE ");
			(void)buf_puts(&b, sm->family);
			(void)buf_puts(&b, " ");
			(void)buf_puts(&b, sm->type);
			(void)buf_puts(&b, "\n");
			fam = sm->family;
		}
		(void)buf_puts(&b, sm->family);
		(void)buf_puts(&b, "{");
		(void)buf_puts(&b, sm->labels);
		(void)buf_puts(&b, "} ");
		put_value(&b, sm->value);
		(void)buf_puts(&b, "\n");
	}
	for (size_t i = 0; i < o.n; i++)
		free(o.v[i].labels);
	free(o.v);
	if (o.err || b.err != 0) {
		buf_free(&b);
		web_error(rs, 500, "out of memory");
		return;
	}
	web_resp_free(rs);
	rs->status = 200;
	rs->ctype = "text/plain; version=0.0.4; charset=utf-8";
	rs->len = b.len;
	rs->body = buf_take(&b);
	if (rs->body == NULL)
		rs->body = calloc(1, 1);
}
