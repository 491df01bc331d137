/*
 * sched.c: see sched.h.
 *
 * Time: sources are scheduled on the monotonic clock; readings and rule
 * timers use wall time, as alerts are read by people.  A source that fails is
 * retried at a doubling interval (capped at 16 x its own, or 10 minutes) and
 * its failures are logged at growing intervals, then once on recovery.
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

#include "agent/ctl.h"
#include "agent/jobs.h"
#include "agent/runconf.h"
#include "agent/sender.h"
#include "agent/spool.h"

#include "agent/sched.h"

#define MAX_CONNS 16
#define BATCH_MAX 100000
#define TICK_MS 1000
#define MAX_BACKOFF_MS (10 * 60 * 1000)
#define JOB_METRICS_MS 10000	/* how often backup readings are published */

static volatile sig_atomic_t got_quit, got_reload;
static int wake_fd = -1;

struct sched {
	const char *conf_path;
	struct runconf *rc;		/* current; owned by the sender */
	struct spool *spool;
	struct sender *sender;
	struct jobs *jobs;
	int64_t next_job_metrics_ms;	/* monotonic */
	int lfd;
	int wake[2];
	struct ctl_conn conns[MAX_CONNS];
	struct metric_batch batch;
	struct metric_batch *last;	/* per source: its last readings */
	char *rules_path;
	int64_t started_ms;
	uint64_t reloads, reload_failures;
	bool rules_dirty;
};

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

static int
mkdir_p(const char *path, mode_t mode)
{
	char buf[4096];

	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
		return -1;
	for (char *p = buf + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) != 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(buf, mode) != 0 && errno != EEXIST)
		return -1;
	return 0;
}

/* Spool one notification for each notifier the rule names. */
static void
on_notification(void *cookie, const struct notification *n,
    char *const *notify)
{
	struct sched *s = cookie;
	char summary[512];

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
}

static void
free_source_state(struct sched *s)
{
	for (size_t i = 0; s->last != NULL && s->rc != NULL &&
	    i < s->rc->nsources; i++)
		metric_batch_free(&s->last[i]);
	free(s->last);
	s->last = NULL;
}

static void
keep_last(struct metric_batch *dst, const struct metric_batch *src)
{
	metric_batch_reset(dst);
	for (size_t i = 0; i < src->n; i++)
		if (metric_add_ts(dst, src->v[i].ts_ms, src->v[i].value,
		    src->v[i].name) != 0)
			break;
}

static void
collect_one(struct sched *s, size_t idx, int64_t now)
{
	struct source *src = s->rc->sources[idx];
	struct ag_err err = { "" };
	int64_t t0 = clock_mono_ms(), took;
	int rc;

	metric_batch_reset(&s->batch);
	s->batch.now_ms = clock_wall_ms();
	s->batch.mono_ms = t0;
	rc = source_collect(src, &s->batch, &err);
	took = clock_mono_ms() - t0;
	src->last_dur_ms = took;
	if (took > src->interval_ms)
		log_warn("source %s: collection took %lld ms, longer than its "
		    "interval", src->name, (long long)took);
	if (rc == 0) {
		if (src->failures > 0)
			log_info("source %s: working again after %u failures",
			    src->name, src->failures);
		src->failures = 0;
		src->last_err[0] = '\0';
		src->last_ok_ms = s->batch.now_ms;
		src->cur_interval_ms = src->interval_ms;
	} else {
		int64_t cap = src->interval_ms * 16;

		if (cap > MAX_BACKOFF_MS)
			cap = MAX_BACKOFF_MS;
		if (cap < src->interval_ms)
			cap = src->interval_ms;
		src->failures++;
		snprintf(src->last_err, sizeof(src->last_err), "%s",
		    err.msg[0] ? err.msg : "failed");
		/* Log the 1st, 2nd, 4th, 8th ... failure in a row. */
		if ((src->failures & (src->failures - 1)) == 0)
			log_warn("source %s: %s (failure %u in a row)",
			    src->name, src->last_err, src->failures);
		src->cur_interval_ms *= 2;
		if (src->cur_interval_ms > cap)
			src->cur_interval_ms = cap;
	}
	/*
	 * A source that failed in part (one mount of several) still hands in
	 * what it read; rules on the missing part go stale and say so.
	 */
	if (s->batch.n > 0) {
		rules_feed(s->rc->rules, &s->batch, on_notification, s);
		if (s->last != NULL)
			keep_last(&s->last[idx], &s->batch);
	}
	src->next_ms = now + src->cur_interval_ms;
}

/* Feed the backup jobs' readings to the rules. */
static void
job_metrics(struct sched *s)
{
	metric_batch_reset(&s->batch);
	s->batch.now_ms = clock_wall_ms();
	s->batch.mono_ms = clock_mono_ms();
	jobs_metrics(s->jobs, &s->batch);
	if (s->batch.n > 0)
		rules_feed(s->rc->rules, &s->batch, on_notification, s);
	s->next_job_metrics_ms = s->batch.mono_ms + JOB_METRICS_MS;
}

static void
save_rules(struct sched *s)
{
	if (!s->rules_dirty)
		return;
	(void)rules_save(s->rc->rules, s->rules_path);	/* logs */
	s->rules_dirty = false;
}

static void
reload(struct sched *s)
{
	struct conf_errs errs = { 0 };
	struct runconf *nrc, *old;
	enum log_level lvl;

	sd_notify_msg("RELOADING=1");
	if (runconf_load(s->conf_path, &nrc, &errs) != 0) {
		for (size_t i = 0; i < errs.n; i++)
			log_err("%s", errs.msgs[i]);
		log_err("reload failed (%zu errors): keeping the current "
		    "configuration", errs.n);
		conf_errs_free(&errs);
		s->reload_failures++;
		sd_notify_msg("READY=1");
		return;
	}
	conf_errs_free(&errs);
	if (strcmp(nrc->conf->agent.state_dir,
	    s->rc->conf->agent.state_dir) != 0 ||
	    strcmp(nrc->conf->agent.control_socket,
	    s->rc->conf->agent.control_socket) != 0)
		log_warn("agent.state_dir and agent.control_socket changes "
		    "take effect at the next restart");
	rules_adopt(nrc->rules, s->rc->rules);
	free_source_state(s);
	old = s->rc;
	s->rc = nrc;
	sender_swap(s->sender, runconf_ref(nrc));
	jobs_configure(s->jobs, nrc, clock_wall_ms());
	runconf_free(old);	/* the last user frees it */
	reset_source_state(s);
	if (log_parse_level(nrc->conf->agent.log_level, &lvl) == 0)
		log_set_level(lvl);
	s->rules_dirty = true;
	s->reloads++;
	log_info("configuration reloaded: %zu sources, %zu rules, "
	    "%zu notifiers, %zu backup jobs", nrc->nsources,
	    rules_count(nrc->rules), nrc->nnotifiers, nrc->njobs);
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
	(void)json_object_set_new(o, "value", si->has_value ?
	    json_real(si->value) : json_null());
	(void)json_array_append_new(arr, o);
}

static char *
status_json(struct sched *s)
{
	json_t *root, *srcs, *rules, *queue, *per;
	uint64_t sent = 0, failed = 0;
	char *text;

	sender_stats(s->sender, &sent, &failed);
	root = json_pack("{s:s, s:s, s:i, s:s, s:I, s:I, s:I}",
	    "host", s->rc->conf->agent.hostname, "version", VIGIL_VERSION,
	    "pid", (int)getpid(), "config", s->rc->conf->path,
	    "started_ms", (json_int_t)s->started_ms,
	    "reloads", (json_int_t)s->reloads,
	    "reload_failures", (json_int_t)s->reload_failures);
	if (root == NULL)
		return NULL;
	srcs = json_array();
	for (size_t i = 0; i < s->rc->nsources; i++) {
		struct source *src = s->rc->sources[i];
		json_t *o, *rd = json_object();

		for (size_t k = 0; s->last != NULL && k < s->last[i].n; k++)
			(void)json_object_set_new(rd, s->last[i].v[k].name,
			    json_real(s->last[i].v[k].value));
		o = json_pack("{s:s, s:s, s:I, s:I, s:I, s:i, s:s, s:o}",
		    "name", src->name, "type", source_type(src),
		    "interval_ms", (json_int_t)src->interval_ms,
		    "last_ok_ms", (json_int_t)src->last_ok_ms,
		    "last_duration_ms", (json_int_t)src->last_dur_ms,
		    "failures", (int)src->failures,
		    "last_error", src->last_err, "readings", rd);
		(void)json_array_append_new(srcs, o);
	}
	(void)json_object_set_new(root, "sources", srcs);
	rules = json_array();
	rules_walk(s->rc->rules, add_rule_series, rules);
	(void)json_object_set_new(root, "rules", rules);
	(void)json_object_set_new(root, "jobs", jobs_status(s->jobs,
	    clock_wall_ms()));
	per = json_object();
	for (size_t i = 0; i < s->rc->nnotifiers; i++)
		(void)json_object_set_new(per, s->rc->notifiers[i]->name,
		    json_integer((json_int_t)spool_depth_for(s->spool,
		    s->rc->notifiers[i]->name)));
	queue = json_pack("{s:I, s:I, s:I, s:I, s:o}",
	    "depth", (json_int_t)spool_depth(s->spool),
	    "dropped", (json_int_t)spool_dropped(s->spool),
	    "sent", (json_int_t)sent, "failed", (json_int_t)failed,
	    "per_notifier", per);
	(void)json_object_set_new(root, "queue", queue);
	text = json_dumps(root, JSON_INDENT(1) | JSON_ENSURE_ASCII);
	json_decref(root);
	return text;
}

static void
handle_request(struct sched *s, struct ctl_conn *c, const char *req)
{
	char *text;

	if (strcmp(req, "status") == 0) {
		if ((text = status_json(s)) == NULL) {
			ctl_reply(c, "{\"error\":\"out of memory\"}");
			return;
		}
		ctl_reply(c, text);
		free(text);
	} else if (strncmp(req, "backup-run ", 11) == 0) {
		struct ag_err err = { "" };
		int rc = jobs_start(s->jobs, req + 11, &err);
		json_t *o = rc == 0 ? json_pack("{s:b}", "ok", 1) :
		    json_pack("{s:s, s:b}", "error", err.msg, "running",
		    rc == 1);

		text = o != NULL ? json_dumps(o, JSON_ENSURE_ASCII) : NULL;
		json_decref(o);
		ctl_reply(c, text != NULL ? text : "{\"error\":\"oom\"}");
		free(text);
		/* Readings now, so `status` shows it running at once. */
		job_metrics(s);
	} else if (strcmp(req, "reload") == 0) {
		got_reload = 1;
		ctl_reply(c, "{\"ok\":true}");
	} else {
		ctl_reply(c, "{\"error\":\"unknown request\"}");
	}
}

static void
poll_once(struct sched *s, int timeout_ms)
{
	struct pollfd pfd[3 + MAX_CONNS];
	int map[MAX_CONNS];
	nfds_t n = 0;
	char drain[64];

	pfd[n++] = (struct pollfd){ .fd = s->wake[0], .events = POLLIN };
	pfd[n++] = (struct pollfd){ .fd = s->lfd, .events = POLLIN };
	pfd[n++] = (struct pollfd){ .fd = jobs_fd(s->jobs), .events = POLLIN };
	for (int i = 0; i < MAX_CONNS; i++) {
		if (s->conns[i].fd < 0)
			continue;
		map[n - 3] = i;
		pfd[n++] = (struct pollfd){ .fd = s->conns[i].fd,
		    .events = POLLIN };
	}
	if (poll(pfd, n, timeout_ms) <= 0)
		return;
	if (pfd[0].revents & POLLIN)
		while (read(s->wake[0], drain, sizeof(drain)) > 0)
			;
	if (pfd[2].revents & POLLIN) {
		jobs_reap(s->jobs);
		job_metrics(s);
	}
	for (nfds_t i = 3; i < n; i++) {
		struct ctl_conn *c = &s->conns[map[i - 3]];
		char *line;
		int rc;

		if (pfd[i].revents == 0)
			continue;
		if ((rc = ctl_read(c, &line)) == 1) {
			handle_request(s, c, line);
		} else if (rc < 0) {
			close(c->fd);
			c->fd = -1;
		}
	}
	if (pfd[1].revents & POLLIN) {
		for (int i = 0; i < MAX_CONNS; i++) {
			if (s->conns[i].fd >= 0)
				continue;
			if (ctl_accept(s->lfd, &s->conns[i]) != 0)
				s->conns[i].fd = -1;
			break;
		}
	}
}

static int
setup(struct sched *s)
{
	const struct agent_conf *a = &s->rc->conf->agent;
	struct sigaction sa;
	struct ag_err err = { "" };
	char *spooldir = NULL;
	int rc;

	if (mkdir_p(a->state_dir, 0700) != 0) {
		log_err("cannot create state directory %s: %s", a->state_dir,
		    strerror(errno));
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
	(void)rules_load(s->rc->rules, s->rules_path);	/* logs */
	if (pipe2(s->wake, O_CLOEXEC | O_NONBLOCK) != 0)
		return -1;
	wake_fd = s->wake[1];
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	if ((s->lfd = ctl_listen(a->control_socket, (int)a->socket_mode,
	    a->socket_group, &err)) < 0) {
		log_err("control socket: %s", err.msg);
		return -1;
	}
	metric_batch_init(&s->batch, BATCH_MAX);
	reset_source_state(s);
	if ((s->jobs = jobs_new(a->state_dir, a->hostname)) == NULL)
		return -1;
	jobs_configure(s->jobs, s->rc, clock_wall_ms());
	return 0;
}

int
sched_run(const char *conf_path, struct runconf *rc)
{
	struct sched s = { .conf_path = conf_path, .rc = rc, .lfd = -1,
	    .wake = { -1, -1 } };
	char *sock = NULL;
	int status = 1;

	s.started_ms = clock_wall_ms();
	for (int i = 0; i < MAX_CONNS; i++)
		s.conns[i].fd = -1;
	if (setup(&s) != 0)
		goto out;
	if ((sock = strdup(rc->conf->agent.control_socket)) == NULL ||
	    (s.sender = sender_start(s.spool, runconf_ref(rc))) == NULL)
		goto out;
	log_info("vigild %s started: %zu sources, %zu rules, %zu notifiers, "
	    "%zu backup jobs, %zu queued notifications, config %s",
	    VIGIL_VERSION, rc->nsources, rules_count(rc->rules),
	    rc->nnotifiers, rc->njobs, spool_depth(s.spool), rc->conf->path);
	sd_notify_msg("READY=1");
	while (!got_quit) {
		int64_t now = clock_mono_ms(), next = now + TICK_MS;

		if (got_reload) {
			got_reload = 0;
			reload(&s);
			continue;
		}
		for (size_t i = 0; i < s.rc->nsources; i++) {
			struct source *src = s.rc->sources[i];

			if (src->next_ms <= now)
				collect_one(&s, i, now);
			if (src->next_ms < next)
				next = src->next_ms;
		}
		{
			int64_t wall = clock_wall_ms();
			int64_t jnext = jobs_tick(s.jobs, wall);

			if (jnext - wall < next - now)
				next = now + (jnext > wall ? jnext - wall : 0);
		}
		if (now >= s.next_job_metrics_ms)
			job_metrics(&s);
		rules_tick(s.rc->rules, clock_wall_ms(), on_notification, &s);
		save_rules(&s);
		now = clock_mono_ms();
		poll_once(&s, next > now ? (int)(next - now) : 0);
	}
	log_info("shutting down: delivering queued notifications");
	sd_notify_msg("STOPPING=1");
	status = 0;
out:
	jobs_free(s.jobs);
	free_source_state(&s);
	if (s.spool != NULL)
		save_rules(&s);
	sender_stop(s.sender, SENDER_FLUSH_MS);
	runconf_free(s.rc);
	s.rc = NULL;
	if (s.spool != NULL) {
		size_t left = spool_depth(s.spool);

		if (left > 0)
			log_info("%zu notifications stay queued for the next "
			    "start", left);
		spool_close(s.spool);
	}
	for (int i = 0; i < MAX_CONNS; i++)
		if (s.conns[i].fd >= 0)
			close(s.conns[i].fd);
	if (s.lfd >= 0) {
		close(s.lfd);
		(void)unlink(sock);
	}
	free(sock);
	wake_fd = -1;
	if (s.wake[0] >= 0) {
		close(s.wake[0]);
		close(s.wake[1]);
	}
	metric_batch_free(&s.batch);
	free(s.rules_path);
	return status;
}
