/*
 * sched.c: see sched.h.
 *
 * Time: sources are scheduled on the monotonic clock; readings and rule
 * timers use wall time, as alerts are read by people.  A source that fails is
 * retried at a doubling interval (capped at 16 x its own, or 10 minutes) and
 * its failures are logged at growing intervals, then once on recovery.
 * Network sources collect on threads of their own (agent/collector.h); the
 * loop takes their finished batches as if it had collected them itself.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "lib/clock.h"
#include "lib/log.h"
#include "paths.h"

#include "agent/collector.h"
#include "agent/ctl.h"
#include "agent/history.h"
#include "agent/archive.h"
#include "agent/jobs.h"
#include "agent/runconf.h"
#include "agent/sender.h"
#include "agent/spool.h"

#include "agent/sched.h"
#include "agent/sched_internal.h"

#define BATCH_MAX 100000
/* The longest sleep, so a wall clock that jumped is noticed this soon. */
#define MAX_SLEEP_MS (60 * 1000)
/* Should rules say that work is due right after a tick: the old tick. */
#define RULES_FALLBACK_MS 1000
#define JOB_METRICS_MS 10000 /* how often backup readings are published */

static volatile sig_atomic_t got_quit, got_reload;
static int wake_fd = -1;

static void
on_signal(int sig)
{
	int saved = errno;

	if (sig == SIGHUP)
		got_reload = 1;
	else
		got_quit = 1;
	/* Wake poll(); write(2) is async-signal-safe. */
	if (wake_fd >= 0)
		(void)!write(wake_fd, "", 1);
	errno = saved;
}

/* Tell systemd (Type=notify) how we are, without linking libsystemd. */
static void
sd_notify_msg(const char *msg)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t len;
	int fd;

	if (path == NULL || (path[0] != '/' && path[0] != '@') ||
	    (len = strlen(path)) >= sizeof(sa.sun_path))
		return;
	memcpy(sa.sun_path, path, len);
	if (sa.sun_path[0] == '@')
		sa.sun_path[0] = '\0';
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
		return;
	(void)sendto(fd, msg, strlen(msg), MSG_NOSIGNAL,
	    (struct sockaddr *)&sa,
	    (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len));
	close(fd);
}

/* Spool one notification for each notifier the rule names. */
static void
on_notification(void *cookie, const struct notification *n,
    char *const *notify)
{
	struct sched *s = cookie;
	char summary[NOTIFICATION_SUMMARY_MAX];

	s->rules_dirty = true;
	if (notify == NULL || notify[0] == NULL) {
		notification_summary(n, summary, sizeof(summary));
		log_info("%s (no notifier)", summary);
		return;
	}
	for (; *notify != NULL; notify++)
		(void)spool_put(s->spool, *notify, n);
	sender_wake(s->sender);
}

static void
reset_source_state(struct sched *s)
{
	int64_t now = clock_mono_ms();

	free(s->last);
	s->last = calloc(s->rc->nsources, sizeof(*s->last));
	for (size_t i = 0; i < s->rc->nsources; i++) {
		struct source *src = s->rc->sources[i];

		src->next_ms = now;
		src->cur_interval_ms = src->interval_ms;
		if (s->last != NULL)
			metric_batch_init(&s->last[i], BATCH_MAX);
	}
	/* Network sources: on their own threads, due no more here. */
	s->coll = collector_start(s->rc, s->wake[1], BATCH_MAX);
}

static void
free_source_state(struct sched *s)
{
	collector_stop(s->coll);
	s->coll = NULL;
	for (size_t i = 0;
	     s->last != NULL && s->rc != NULL && i < s->rc->nsources; i++)
		metric_batch_free(&s->last[i]);
	free(s->last);
	s->last = NULL;
}

static void
keep_last(struct metric_batch *dst, const struct metric_batch *src)
{
	metric_batch_reset(dst);
	for (size_t i = 0; i < src->n; i++)
		if (!(src->v[i].flags & METRIC_RETIRED) &&
		    metric_add_ts(dst, src->v[i].ts_ms, src->v[i].value,
			src->v[i].name) != 0)
			break;
}

/*
 * Source ${idx} was collected into s->batch at monotonic ${now} in ${took}
 * ms, with outcome ${rc} (${err}): count it, feed the rules, keep it for
 * status.
 */
static void
collected(struct sched *s, size_t idx, int rc, const struct ag_err *err,
    int64_t took)
{
	struct source *src = s->rc->sources[idx];

	src->last_dur_ms = took;
	if (took > src->interval_ms)
		log_warn("source %s: collection took %lld ms, longer than its "
			 "interval",
		    src->name, (long long)took);
	if (rc == 0) {
		if (src->failures > 0)
			log_info("source %s: working again after %u failures",
			    src->name, src->failures);
		src->failures = 0;
		src->last_err[0] = '\0';
		src->last_ok_ms = s->batch.now_ms;
		src->cur_interval_ms = src->interval_ms;
	} else {
		src->failures++;
		snprintf(src->last_err, sizeof(src->last_err), "%s",
		    err->msg[0] ? err->msg : "failed");
		/* Log the 1st, 2nd, 4th, 8th ... failure in a row. */
		if ((src->failures & (src->failures - 1)) == 0)
			log_warn("source %s: %s (failure %u in a row)",
			    src->name, src->last_err, src->failures);
		src->cur_interval_ms = source_next_interval(src,
		    src->cur_interval_ms, false);
	}
	/*
	 * A source that failed in part (one mount of several) still hands in
	 * what it read; rules on the missing part go stale and say so.
	 */
	if (s->batch.n > 0) {
		rules_feed(s->rc->rules, &s->batch, on_notification, s);
		if (s->last != NULL)
			keep_last(&s->last[idx], &s->batch);
		if (s->hist != NULL)
			history_add(s->hist, &s->batch, s->batch.now_ms);
		if (s->arch != NULL)
			archive_add(s->arch, &s->batch);
	}
}

void
sched_collect_one(struct sched *s, size_t idx, int64_t now)
{
	struct source *src = s->rc->sources[idx];
	struct ag_err err = { "" };
	int64_t t0 = clock_mono_ms();
	int rc;

	metric_batch_reset(&s->batch);
	s->batch.now_ms = clock_wall_ms();
	s->batch.mono_ms = t0;
	rc = source_collect(src, &s->batch, &err);
	collected(s, idx, rc, &err, clock_mono_ms() - t0);
	src->next_ms = now + src->cur_interval_ms;
}

void
sched_take_collected(struct sched *s)
{
	struct collector_batch *b;
	struct metric_batch mine;

	while ((b = collector_take(s->coll)) != NULL) {
		/* Its readings become s->batch for the while. */
		mine = s->batch;
		s->batch = b->batch;
		collected(s, b->idx, b->rc, &b->err, b->took_ms);
		b->batch = s->batch;
		s->batch = mine;
		collector_batch_free(b);
	}
}

/*
 * Feed the backup jobs' readings, and the spool's health
 * (agent.spool_write_errors: failed writes in a row), to the rules.
 */
static void
job_metrics(struct sched *s)
{
	metric_batch_reset(&s->batch);
	s->batch.now_ms = clock_wall_ms();
	s->batch.mono_ms = clock_mono_ms();
	jobs_metrics(s->jobs, &s->batch);
	(void)metric_add(&s->batch, (double)spool_write_errors(s->spool),
	    "agent.spool_write_errors");
	if (s->arch != NULL)
		archive_metrics(s->arch, &s->batch);
	if (s->batch.n > 0)
		rules_feed(s->rc->rules, &s->batch, on_notification, s);
	if (s->batch.n > 0 && s->hist != NULL)
		history_add(s->hist, &s->batch, s->batch.now_ms);
	if (s->batch.n > 0 && s->arch != NULL)
		archive_add(s->arch, &s->batch);
	s->next_job_metrics_ms = s->batch.mono_ms + JOB_METRICS_MS;
}

static void
save_rules(struct sched *s)
{
	if (!s->rules_dirty)
		return;
	(void)rules_save(s->rc->rules, s->rules_path); /* logs */
	s->rules_dirty = false;
}

/*
 * The metric history, made when the HTTP server is configured
 * (http.listen) and not yet made; http.history changes after that take
 * effect at the next start.
 */
static void
history_open(struct sched *s)
{
	const struct conf *c = s->rc->conf;
	struct conf_errs errs = { 0 };
	struct ag_err err = { "" };
	struct history_conf hc;
	char *path = NULL;

	if (s->hist != NULL || c->http.listen == NULL)
		return;
	/* Checked when the configuration was loaded; errors are unlikely. */
	if (history_conf_parse(c->http.history, &hc, &errs) != 0) {
		for (size_t i = 0; i < errs.n; i++)
			log_err("%s", errs.msgs[i]);
		conf_errs_free(&errs);
		return;
	}
	if (asprintf(&path, "%s/history.bin", c->agent.state_dir) < 0)
		return;
	if ((s->hist = history_new(&hc, path, &err)) == NULL)
		log_err("%s", err.msg);
	free(path);
}

/*
 * The metric archive follows the configuration: started when an archive
 * section appears, given the new settings on a reload, stopped when the
 * section goes (what waits on disk stays for a later start).
 */
static void
archive_sync(struct sched *s)
{
	const struct conf *c = s->rc->conf;
	struct ag_err err = { "" };

	if (c->archive == NULL) {
		archive_stop(s->arch);
		s->arch = NULL;
	} else if (s->arch != NULL) {
		archive_reconfigure(s->arch, s->rc);
	} else if ((s->arch = archive_start(s->rc, c->agent.state_dir,
			c->agent.hostname, &err)) == NULL) {
		log_err("%s", err.msg);
	}
}

void
sched_history_tick(struct sched *s, int64_t wall)
{
	struct ag_err err = { "" };

	if (s->hist != NULL && wall >= history_save_due(s->hist) &&
	    history_save(s->hist, &err) != 0)
		log_warn("%s", err.msg);
}

/* Log what config check would warn of (runconf_warnings()). */
static void
log_warnings(const struct runconf *rc)
{
	struct conf_errs w = { 0 };

	(void)runconf_warnings(rc, &w);
	for (size_t i = 0; i < w.n; i++)
		log_warn("%s", w.msgs[i]);
	conf_errs_free(&w);
}

void
sched_reload(struct sched *s)
{
	struct conf_errs errs = { 0 };
	struct runconf *nrc, *old;
	enum log_level lvl;

	sd_notify_msg("RELOADING=1");
	if (runconf_load(s->conf_path, &nrc, &errs) != 0) {
		for (size_t i = 0; i < errs.n; i++)
			log_err("%s", errs.msgs[i]);
		log_err("reload failed (%zu errors): keeping the current "
			"configuration",
		    errs.total);
		conf_errs_free(&errs);
		s->reload_failures++;
		sd_notify_msg("READY=1");
		return;
	}
	conf_errs_free(&errs);
	if (strcmp(nrc->conf->agent.state_dir, s->rc->conf->agent.state_dir) !=
		0 ||
	    strcmp(nrc->conf->agent.control_socket,
		s->rc->conf->agent.control_socket) != 0)
		log_warn("agent.state_dir and agent.control_socket changes "
			 "take effect at the next restart");
	rules_adopt(nrc->rules, s->rc->rules);
	free_source_state(s);
	old = s->rc;
	s->rc = nrc;
	(void)spool_set_notifiers(s->spool, nrc->notifiers, nrc->nnotifiers);
	sender_swap(s->sender, runconf_ref(nrc));
	jobs_configure(s->jobs, nrc, clock_wall_ms());
	sched_web_reload(s, &old->conf->http);
	runconf_free(old); /* the last user frees it */
	reset_source_state(s);
	history_open(s);
	archive_sync(s);
	if (log_parse_level(nrc->conf->agent.log_level, &lvl) == 0)
		log_set_level(lvl);
	s->rules_dirty = true;
	s->reloads++;
	log_warnings(nrc);
	log_info("configuration reloaded: %zu sources, %zu rules, "
		 "%zu notifiers, %zu backup jobs",
	    nrc->nsources, rules_count(nrc->rules), nrc->nnotifiers,
	    nrc->njobs);
	sd_notify_msg("READY=1");
}

static void
add_rule_series(void *cookie, const struct rule_series_info *si)
{
	json_t *arr = cookie, *o;
	char since[40];

	clock_rfc3339(si->since_ms, since, sizeof(since));
	o = json_pack("{s:s, s:s, s:s, s:s}", "rule", si->rule, "metric",
	    si->metric, "state", alert_state_name(si->state), "since", since);
	if (o == NULL)
		return;
	(void)json_object_set_new(o, "value",
	    si->has_value ? json_real(si->value) : json_null());
	(void)json_array_append_new(arr, o);
}

json_t *
sched_queue_json(struct sched *s, int64_t now)
{
	json_t *q = spool_status_json(s->spool), *per = json_object(),
	       *nfs = json_object();
	uint64_t sent = 0, failed = 0;
	int64_t oldest = spool_oldest_ms(s->spool);

	if (q == NULL || per == NULL || nfs == NULL) {
		json_decref(q);
		json_decref(per);
		json_decref(nfs);
		return NULL;
	}
	sender_stats(s->sender, &sent, &failed);
	(void)json_object_set_new(q, "sent", json_integer((json_int_t)sent));
	(void)json_object_set_new(q, "failed",
	    json_integer((json_int_t)failed));
	(void)json_object_set_new(q, "oldest_age_s",
	    oldest > 0 ?
		json_integer((json_int_t)((now > oldest ? now - oldest : 0) /
		    1000)) :
		json_null());
	for (size_t i = 0; i < s->rc->nnotifiers; i++) {
		const char *name = s->rc->notifiers[i]->name;
		struct sender_nstate ns;
		size_t depth = spool_depth_for(s->spool, name);

		(void)json_object_set_new(per, name,
		    json_integer((json_int_t)depth));
		(void)sender_notifier_state(s->sender, name, &ns);
		(void)json_object_set_new(nfs, name,
		    json_pack("{s:I, s:I, s:I, s:s}", "queued",
			(json_int_t)depth, "last_ok_ms",
			(json_int_t)ns.last_ok_ms, "last_error_ms",
			(json_int_t)ns.last_err_ms, "last_error",
			ns.last_err));
	}
	(void)json_object_set_new(q, "per_notifier", per);
	(void)json_object_set_new(q, "notifiers", nfs);
	return q;
}

char *
sched_status_json(struct sched *s)
{
	json_t *root, *srcs, *rules, *queue;
	char *text;

	root = json_pack("{s:s, s:s, s:i, s:s, s:I, s:I, s:I}", "host",
	    s->rc->conf->agent.hostname, "version", VIGIL_VERSION, "pid",
	    (int)getpid(), "config", s->rc->conf->path, "started_ms",
	    (json_int_t)s->started_ms, "reloads", (json_int_t)s->reloads,
	    "reload_failures", (json_int_t)s->reload_failures);
	if (root == NULL)
		return NULL;
	(void)json_object_set_new(root, "loop_wakeups",
	    json_integer((json_int_t)s->wakeups));
	srcs = json_array();
	for (size_t i = 0; i < s->rc->nsources; i++) {
		struct source *src = s->rc->sources[i];
		json_t *o, *rd = json_object();

		for (size_t k = 0; s->last != NULL && k < s->last[i].n; k++)
			(void)json_object_set_new(rd, s->last[i].v[k].name,
			    json_real(s->last[i].v[k].value));
		if ((o = source_json(src)) != NULL)
			(void)json_object_set_new(o, "readings", rd);
		else
			json_decref(rd);
		(void)json_array_append_new(srcs, o);
	}
	(void)json_object_set_new(root, "sources", srcs);
	rules = json_array();
	rules_walk(s->rc->rules, add_rule_series, rules);
	(void)json_object_set_new(root, "rules", rules);
	(void)json_object_set_new(root, "jobs",
	    jobs_status(s->jobs, clock_wall_ms()));
	queue = sched_queue_json(s, clock_wall_ms());
	(void)json_object_set_new(root, "queue", queue);
	if (s->hist != NULL) {
		struct history_stats hs;

		history_stats(s->hist, &hs);
		(void)json_object_set_new(root, "history",
		    json_pack("{s:I, s:I, s:I, s:I, s:I, s:s?}", "series",
			(json_int_t)hs.series, "bytes", (json_int_t)hs.bytes,
			"bytes_max", (json_int_t)hs.bytes_max, "dropped",
			(json_int_t)hs.dropped, "saved_ms",
			(json_int_t)hs.saved_ms, "last_error",
			hs.last_error[0] != '\0' ? hs.last_error : NULL));
	}
	if (s->arch != NULL) {
		struct archive_stats as;

		archive_stats(s->arch, &as);
		(void)json_object_set_new(root, "archive",
		    json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, "
			      "s:I, s:s?}",
			"spool_bytes", (json_int_t)as.spool_bytes,
			"hours_waiting", (json_int_t)as.hours_waiting,
			"uploaded", (json_int_t)as.uploaded, "uploaded_bytes",
			(json_int_t)as.uploaded_bytes, "dropped_bytes",
			(json_int_t)as.dropped_bytes, "dropped_hours",
			(json_int_t)as.dropped_hours, "dropped_late",
			(json_int_t)as.dropped_late, "dropped_pending",
			(json_int_t)as.dropped_pending, "upload_failures",
			(json_int_t)as.failures, "last_upload_ms",
			(json_int_t)as.last_upload_ms, "last_error",
			as.last_error[0] != '\0' ? as.last_error : NULL));
	}
	text = json_dumps(root, JSON_INDENT(1) | JSON_ENSURE_ASCII);
	json_decref(root);
	return text;
}

static void
handle_request(struct sched *s, struct ctl_conn *c, const char *req)
{
	char *text;

	if (strcmp(req, "status") == 0) {
		if ((text = sched_status_json(s)) == NULL) {
			ctl_reply(c, "{\"error\":\"out of memory\"}");
			return;
		}
		ctl_reply(c, text);
		free(text);
	} else if (strncmp(req, "backup-run ", 11) == 0) {
		struct ag_err err = { "" };
		int rc = jobs_start(s->jobs, req + 11, &err);
		json_t *o = rc == 0 ? json_pack("{s:b}", "ok", 1) :
				      json_pack("{s:s, s:b}", "error", err.msg,
					  "running", rc == 1);

		text = o != NULL ? json_dumps(o, JSON_ENSURE_ASCII) : NULL;
		json_decref(o);
		ctl_reply(c, text != NULL ? text : "{\"error\":\"oom\"}");
		free(text);
		/* Readings now, so `status` shows it running at once. */
		job_metrics(s);
	} else if (strcmp(req, "reload") == 0) {
		got_reload = 1;
		ctl_reply(c, "{\"ok\":true}");
	} else if (strncmp(req, "queue ", 6) == 0) {
		text = spool_ctl(s->spool, req + 6, clock_mono_ms());
		ctl_reply(c, text != NULL ? text : "{\"error\":\"oom\"}");
		free(text);
		sender_wake(s->sender);
	} else {
		ctl_reply(c, "{\"error\":\"unknown request\"}");
	}
}

/* ctl_request_fn: one request on the control socket. */
static void
on_request(void *cookie, struct ctl_conn *c, const char *line)
{
	handle_request(cookie, c, line);
}

void
sched_poll_once(struct sched *s, int timeout_ms)
{
	struct pollfd pfd[3 + CTL_POLLFDS_MAX];
	nfds_t n = 0;
	char drain[64];
	int rc;

	pfd[n++] = (struct pollfd){ .fd = s->wake[0], .events = POLLIN };
	pfd[n++] = (struct pollfd){ .fd = jobs_fd(s->jobs), .events = POLLIN };
	/* The server's calls; -1 (ignored by poll()) when it is off. */
	pfd[n++] = (struct pollfd){ .fd = s->web != NULL ? web_fd(s->web) : -1,
		.events = POLLIN };
	n += ctl_pollfds(s->ctl, pfd + n, clock_mono_ms());
	rc = poll(pfd, n, timeout_ms);
	s->wakeups++;
	if (rc > 0 && (pfd[0].revents & POLLIN))
		while (read(s->wake[0], drain, sizeof(drain)) > 0)
			;
	if (rc > 0 && (pfd[1].revents & POLLIN)) {
		jobs_reap(s->jobs);
		job_metrics(s);
	}
	if (rc > 0 && (pfd[2].revents & POLLIN) && s->web != NULL)
		web_serve(s->web, sched_web_answer, s);
	/* Also on a timeout: clients past their deadline are closed. */
	ctl_dispatch(s->ctl, rc > 0 ? pfd + 3 : NULL, clock_mono_ms(),
	    on_request, s);
}

/* Wall time ${due} as a monotonic time, given that ${wall} is ${now}. */
static int64_t
mono_of(int64_t due, int64_t now, int64_t wall)
{
	if (due <= wall)
		return now;
	return due - wall > MAX_SLEEP_MS ? now + MAX_SLEEP_MS :
					   now + (due - wall);
}

/*
 * The monotonic time of the next thing to do, computed from the state at
 * ${now} (wall time ${wall}; the next backup start at wall ${jnext}): the
 * next source collection, rule deadline, backup start or backup readings,
 * and the control clients' timeouts.  Signals, a finished backup and
 * control clients wake poll() at once through their descriptors, so
 * nothing else needs a timer.
 */
int64_t
sched_next_wake(struct sched *s, int64_t now, int64_t wall, int64_t jnext)
{
	int64_t next = now + MAX_SLEEP_MS, due;

	for (size_t i = 0; i < s->rc->nsources; i++)
		if (s->rc->sources[i]->next_ms < next)
			next = s->rc->sources[i]->next_ms;
	if (s->rc->njobs > 0 && s->next_job_metrics_ms < next)
		next = s->next_job_metrics_ms;
	if ((due = mono_of(jnext, now, wall)) < next)
		next = due;
	/* Right after a tick nothing is due; were it, do not spin. */
	if ((due = rules_next_due(s->rc->rules, wall)) <= wall)
		due = wall + RULES_FALLBACK_MS;
	if ((due = mono_of(due, now, wall)) < next)
		next = due;
	if ((due = ctl_next_deadline(s->ctl)) < next)
		next = due;
	if (s->hist != NULL &&
	    (due = mono_of(history_save_due(s->hist), now, wall)) < next)
		next = due;
	return next;
}

int
sched_setup(struct sched *s)
{
	const struct agent_conf *a = &s->rc->conf->agent;
	struct sigaction sa;
	struct ag_err err = { "" };
	char *spooldir = NULL;
	int rc, lfd;

	if (ag_mkdir_p(a->state_dir, 0700, 0755) != 0) {
		log_err("cannot create state directory %s: %s", a->state_dir,
		    strerror(errno));
		return -1;
	}
	if (ag_check_owned_dir(a->state_dir, &err) != 0) {
		log_err("state directory: %s", err.msg);
		return -1;
	}
	if (asprintf(&spooldir, "%s/spool", a->state_dir) < 0 ||
	    asprintf(&s->rules_path, "%s/rules.state", a->state_dir) < 0) {
		free(spooldir);
		return -1;
	}
	rc = spool_open(spooldir, (size_t)a->spool_max, &s->spool);
	free(spooldir);
	if (rc != 0)
		return -1;
	(void)spool_set_notifiers(s->spool, s->rc->notifiers,
	    s->rc->nnotifiers);
	(void)rules_load(s->rc->rules, s->rules_path); /* logs */
	if (pipe2(s->wake, O_CLOEXEC | O_NONBLOCK) != 0)
		return -1;
	wake_fd = s->wake[1];
	/* Flags of an earlier run in this process (tests) are not ours. */
	got_quit = got_reload = 0;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	if ((lfd = ctl_listen(a->control_socket, (int)a->socket_mode,
		 a->socket_group, &err)) < 0) {
		log_err("control socket: %s", err.msg);
		return -1;
	}
	if ((s->ctl = ctl_new(lfd)) == NULL) {
		(void)unlink(a->control_socket);
		return -1;
	}
	metric_batch_init(&s->batch, BATCH_MAX);
	reset_source_state(s);
	if ((s->jobs = jobs_new(a->state_dir, a->hostname)) == NULL)
		return -1;
	jobs_configure(s->jobs, s->rc, clock_wall_ms());
	history_open(s);
	archive_sync(s);
	return sched_web_start(s);
}

void
sched_teardown(struct sched *s, const char *sock)
{
	sched_web_stop(s);
	jobs_free(s->jobs);
	free_source_state(s);
	if (s->hist != NULL) {
		struct ag_err err = { "" };

		if (history_save(s->hist, &err) != 0)
			log_warn("%s", err.msg);
		history_free(s->hist);
		s->hist = NULL;
	}
	archive_stop(s->arch); /* writes what is queued */
	s->arch = NULL;
	if (s->spool != NULL)
		save_rules(s);
	sender_stop(s->sender, SENDER_FLUSH_MS);
	runconf_free(s->rc);
	s->rc = NULL;
	if (s->spool != NULL) {
		size_t left = spool_depth(s->spool);

		if (left > 0)
			log_info("%zu notifications stay queued for the next "
				 "start",
			    left);
		spool_close(s->spool);
	}
	if (s->ctl != NULL) {
		ctl_free(s->ctl);
		if (sock != NULL)
			(void)unlink(sock);
	}
	wake_fd = -1;
	if (s->wake[0] >= 0) {
		close(s->wake[0]);
		close(s->wake[1]);
	}
	metric_batch_free(&s->batch);
	free(s->rules_path);
}

int
sched_run(const char *conf_path, struct runconf *rc)
{
	struct sched s = { .conf_path = conf_path,
		.rc = rc,
		.wake = { -1, -1 } };
	char *sock = NULL;
	int status = 1;

	s.started_ms = clock_wall_ms();
	if ((sock = strdup(rc->conf->agent.control_socket)) == NULL ||
	    sched_setup(&s) != 0 ||
	    (s.sender = sender_start(s.spool, runconf_ref(rc))) == NULL)
		goto out;
	log_warnings(rc);
	log_info("vigild %s started: %zu sources, %zu rules, %zu notifiers, "
		 "%zu backup jobs, %zu queued notifications, config %s",
	    VIGIL_VERSION, rc->nsources, rules_count(rc->rules),
	    rc->nnotifiers, rc->njobs, spool_depth(s.spool), rc->conf->path);
	sd_notify_msg("READY=1");
	while (!got_quit) {
		int64_t now = clock_mono_ms(), wall, jnext, next;

		if (got_reload) {
			got_reload = 0;
			sched_reload(&s);
			continue;
		}
		for (size_t i = 0; i < s.rc->nsources; i++)
			if (s.rc->sources[i]->next_ms <= now)
				sched_collect_one(&s, i, now);
		sched_take_collected(&s);
		wall = clock_wall_ms();
		jnext = jobs_tick(s.jobs, wall);
		if (now >= s.next_job_metrics_ms)
			job_metrics(&s);
		rules_tick(s.rc->rules, wall, on_notification, &s);
		save_rules(&s);
		sched_history_tick(&s, wall);
		next = sched_next_wake(&s, now, wall, jnext);
		{
			/* The spool's own timer: held entries, drop log. */
			int64_t snext = spool_tick(s.spool, clock_mono_ms());

			if (snext < next)
				next = snext;
		}
		now = clock_mono_ms();
		sched_poll_once(&s, next > now ? (int)(next - now) : 0);
	}
	log_info("shutting down: delivering queued notifications");
	sd_notify_msg("STOPPING=1");
	status = 0;
out:
	sched_teardown(&s, sock);
	free(sock);
	return status;
}
