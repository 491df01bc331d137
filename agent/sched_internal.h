/*
 * sched_internal.h: the scheduler's state and the steps of its loop, for
 * sched.c and its unit test (tests/unit/test_sched.c) only.  sched_run()
 * is these steps in order: sched_setup(), then until SIGTERM the due
 * collections, the batches of the network sources' threads, the rules, sched_next_wake() and sched_poll_once(), with
 * sched_reload() on SIGHUP, and sched_teardown() at the end.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef VIGIL_AGENT_SCHED_INTERNAL_H
#define VIGIL_AGENT_SCHED_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agent/metric.h"
#include "agent/web.h"
#include "conf/conf.h"

struct archive;
struct collector;
struct ctl;
struct history;
struct httpd;
struct jobs;
struct runconf;
struct sender;
struct spool;
struct web;

struct sched {
	const char *conf_path;
	struct runconf *rc; /* current; owned by the sender */
	struct spool *spool;
	struct sender *sender;
	struct jobs *jobs;
	int64_t next_job_metrics_ms; /* monotonic */
	struct ctl *ctl;	     /* the control socket's clients */
	int wake[2];
	struct metric_batch batch;
	struct metric_batch *last; /* per source: its last readings */
	struct collector *coll;	   /* network sources' threads, or NULL */
	char *rules_path;
	int64_t started_ms;
	uint64_t reloads, reload_failures;
	uint64_t wakeups; /* poll() returns, for status */
	bool rules_dirty;
	struct web *web;      /* the HTTP server's mailbox, or NULL */
	struct httpd *httpd;  /* the server (in the module), or NULL */
	struct history *hist; /* the metric history: with http.listen only */
	struct archive *arch; /* the metric archive: with archive only */
};

/**
 * sched_setup(s):
 * Make what the loop needs for ${s}, whose conf_path and rc are set (the
 * rest zero, wake {-1, -1}): the state folder, the spool, the rule states
 * read back, the wake pipe and the signal handlers (SIGTERM, SIGINT,
 * SIGHUP; SIGPIPE ignored), the control socket, the per-source state and
 * the jobs, and with http.listen the metric history (read back from
 * <state_dir>/history.bin).  The caller starts the sender.  Return 0, or -1 (logged);
 * sched_teardown() frees what was made either way.
 */
int sched_setup(struct sched *s);

/**
 * sched_collect_one(s, idx, now):
 * Collect source ${idx} of the current runconf at monotonic time ${now},
 * feed what it read to the rules and keep it for status.  A failure
 * doubles the source's interval, up to 16 times its own or 10 minutes
 * (whichever is less, never below its own); a success restores it.  The
 * next collection is due at ${now} plus that interval.
 */
void sched_collect_one(struct sched *s, size_t idx, int64_t now);

/**
 * sched_take_collected(s):
 * Take every batch the network sources' threads finished (collector.h) and
 * do with each what sched_collect_one() does after collecting: count the
 * outcome (failures, last error, duration), feed the rules, keep the
 * readings for status.  Their schedule is their threads'.
 */
void sched_take_collected(struct sched *s);

/**
 * sched_next_wake(s, now, wall, jnext):
 * The monotonic time of the next thing to do at monotonic ${now} (wall
 * time ${wall}; the next backup start at wall ${jnext}): the earliest of
 * the sources' next collections, the backup readings (when there are jobs),
 * ${jnext}, the rules' next deadline (at least 1 s ahead), the control
 * clients' deadlines and the history's next save, and at most 60 s after
 * ${now}.
 */
int64_t sched_next_wake(struct sched *s, int64_t now, int64_t wall,
    int64_t jnext);

/**
 * sched_history_tick(s, wall):
 * Save the metric history if it is due at wall time ${wall}
 * (history_save_due(); a failure is logged and retried at the next due
 * time).
 */
void sched_history_tick(struct sched *s, int64_t wall);

/**
 * sched_poll_once(s, timeout_ms):
 * Sleep in poll() for at most ${timeout_ms} on the wake pipe, the jobs'
 * descriptor and the control socket; drain the wake pipe, reap finished
 * backups and serve the control clients (requests answered by
 * handle_request(): status, backup-run NAME, reload, queue ...).
 */
void sched_poll_once(struct sched *s, int timeout_ms);

/**
 * sched_reload(s):
 * Load ${s}->conf_path again; if it is valid as a whole, swap it in for
 * the sender, the spool and the jobs (rule states carried over) and count
 * a reload; otherwise log its errors, keep the current one and count a
 * failed reload.
 */
void sched_reload(struct sched *s);

/**
 * sched_status_json(s):
 * The answer to `vigil status`: host, version, pid, config, started_ms,
 * reloads, reload_failures, loop_wakeups, sources (each with its last
 * readings), rule series, jobs, queue and, when kept, history (series,
 * bytes, bytes_max, dropped, saved_ms, last_error).  The caller frees it; NULL if
 * out of memory.
 */
char *sched_status_json(struct sched *s);

/**
 * sched_web_start(s) / sched_web_reload(s, old) / sched_web_stop(s):
 * The HTTP server (agent/sched_web.c).  Start it when the runconf has
 * http.listen (loading the module; -1 if it cannot listen, logged).  After
 * a reload, publish the new runconf to it and restart it if the http
 * group ${old} (the previous runconf's) differs (a failure is logged and
 * the server stays off).  Stop it before anything it reads goes.
 */
int sched_web_start(struct sched *s);
void sched_web_reload(struct sched *s, const struct http_conf *old);
void sched_web_stop(struct sched *s);

/**
 * sched_web_answer(cookie, rq, rs):
 * The scheduler's answer to a request the server hands over (a
 * web_handler_fn, ${cookie} the struct sched): /metrics (prom_render()),
 * the /api/v1 routes of the scheduler's state.
 */
void sched_web_answer(void *cookie, const struct web_req *rq,
    struct web_resp *rs);

/**
 * sched_queue_json(s, now):
 * The alert queue as `vigil status` and /api/v1/status show it: the
 * spool's depth, drops and health, the sender's totals, the oldest entry's
 * age at wall time ${now}, and per notifier its depth (per_notifier) and
 * its last delivery and last error (notifiers).  NULL if out of memory.
 */
json_t *sched_queue_json(struct sched *s, int64_t now);

/**
 * sched_teardown(s, sock):
 * Stop the jobs and the sender (which delivers for up to SENDER_FLUSH_MS),
 * save the rule states and the history, drop the runconf, close the spool, the control
 * socket (unlinking ${sock}, the path it listens on) and the wake pipe,
 * and free the rest of ${s}.
 */
void sched_teardown(struct sched *s, const char *sock);

#endif /* !VIGIL_AGENT_SCHED_INTERNAL_H */
