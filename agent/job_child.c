/*
 * job_child.c: the backup engine in a child process (see job_child.h).
 *
 * fork() rather than exec: the child inherits the parsed configuration,
 * so it runs exactly the job the daemon was configured with (where the
 * daemon only checked its jobs, child.h, it parses that one again from the
 * inherited configuration), and starts in a millisecond.  The price of forking a threaded process is that only the
 * forking thread survives, with whatever locks the others held: the
 * fork happens on the scheduler thread (the one that reads schedules and
 * the clock), glibc resets its malloc, stdio and loader locks in the
 * child, and ours (the log's, plugin_module_get()'s) are taken around fork() with
 * pthread_atfork().  docs/DECISIONS.md ("Backups run in a child process")
 * says what is left.
 *
 * Two pipes: "go" (daemon to child: one struct go_msg, run or stop) and
 * "report" (child to daemon: struct rep_msg records, progress then one
 * result).  The child closes every other descriptor it inherited
 * (child_setup()), so that it holds neither another job's lock nor the
 * control socket, and ends with _exit(): the daemon's atexit handlers and
 * stdio buffers are not its own.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/ag.h"
#include "lib/backup_id.h"
#include "lib/clock.h"
#include "lib/log.h"
#include "backup/jobconf.h"
#include "agent/child.h"
#include "agent/plugin_module.h"

#include "agent/job_child.h"

struct job_child {
	pid_t pid;
	int go;	 /* write end; -1 once used */
	int rep; /* read end */
	bool waited;
};

struct go_msg {
	bool run; /* false: exit without running */
	char backup_id[BACKUP_ID_SIZE];
	int64_t deadline_ms;
	bool has_host;
	char host[256];
	char state_dir[PATH_MAX];
};

enum { REP_PROGRESS = 1, REP_RESULT = 2 };

struct rep_msg {
	uint32_t kind;
	union {
		struct job_progress p;
		struct job_result r;
	} u;
};

static volatile sig_atomic_t child_cancel;

/* --- The child -------------------------------------------------------- */

static void
on_term(int sig)
{
	(void)sig;
	child_cancel = 1;
}

static void
child_progress(void *cookie, const struct job_progress *p)
{
	struct rep_msg m = { .kind = REP_PROGRESS };

	m.u.p = *p;
	/* The daemon reads while it waits: this blocks only briefly. */
	(void)child_write_full(*(int *)cookie, &m, sizeof(m));
}

/*
 * The job's full configuration in the child: ${jc} itself, or, where the
 * daemon only checked the jobs (child.h), parsed again from ${conf}.
 * NULL with a message in ${ret}.
 */
static const struct job_conf *
child_job(const struct plugin_module *h, const struct conf *conf,
    const struct job_conf *jc, struct job_result *ret)
{
	struct conf_errs e = { .file_private = true };
	struct job_conf **v = NULL;
	size_t n = 0;

	if (conf == NULL)
		return jc;
	if (h->jobconf_parse_all(conf, &v, &n, &e) != 0 || e.n > 0) {
		snprintf(ret->error, sizeof(ret->error),
		    "the configuration no "
		    "longer checks: %.200s",
		    e.n > 0 ? e.msgs[0] : "?");
		return NULL;
	}
	/* Left to _exit(): the child ends with this run. */
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i]->name, jc->name) == 0)
			return v[i];
	snprintf(ret->error, sizeof(ret->error),
	    "job %.80s is gone from the "
	    "configuration",
	    jc->name);
	return NULL;
}

/*
 * The child: signals of its own (SIGTERM cancels), nothing inherited but
 * standard input, output and error and its two pipes; wait for the word,
 * then run.
 */
static void __attribute__((noreturn)) child_main(const struct conf *conf,
    const struct job_conf *jc, pid_t parent, int go, int rep)
{
	struct sigaction sa = { .sa_handler = on_term };
	const struct plugin_module *h;
	struct job_run_opts o = { 0 };
	struct rep_msg m = { .kind = REP_RESULT };
	struct go_msg g;
	struct ag_err err = { "" };
	const int keep[] = { go, rep };

	child_setup(parent, keep, 2);
	sigemptyset(&sa.sa_mask);
	(void)sigaction(SIGTERM, &sa, NULL);

	if (child_read_full(go, &g, sizeof(g)) != 0 || !g.run)
		_exit(0);
	close(go);
	o = (struct job_run_opts){ .host = g.has_host ? g.host : NULL,
		.state_dir = g.state_dir,
		.backup_id = g.backup_id,
		.deadline_ms = g.deadline_ms,
		.progress = child_progress,
		.cookie = &rep,
		.cancel = &child_cancel };
	if ((h = plugin_module_get(&err)) == NULL)
		snprintf(m.u.r.error, sizeof(m.u.r.error),
		    "backup jobs need "
		    "%.200s",
		    err.msg);
	else if ((jc = child_job(h, conf, jc, &m.u.r)) != NULL)
		(void)h->job_run(jc, &o, &m.u.r);
	if (!m.u.r.ok)
		snprintf(m.u.r.backup_id, sizeof(m.u.r.backup_id), "%.23s",
		    g.backup_id);
	_exit(child_write_full(rep, &m, sizeof(m)) == 0 ? 0 : 1);
}

/* --- The daemon's side ------------------------------------------------ */

struct job_child *
job_child_new(const struct conf *conf, const struct job_conf *jc,
    struct ag_err *err)
{
	struct job_child *c;
	int go[2], rep[2];
	pid_t parent = getpid();

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		(void)ag_err_set(err, "out of memory");
		return NULL;
	}
	if (pipe2(go, O_CLOEXEC) != 0) {
		(void)ag_err_set(err, "pipe: %s", strerror(errno));
		goto err0;
	}
	if (pipe2(rep, O_CLOEXEC) != 0) {
		(void)ag_err_set(err, "pipe: %s", strerror(errno));
		goto err1;
	}
	if ((c->pid = fork()) < 0) {
		(void)ag_err_set(err, "cannot fork: %s", strerror(errno));
		goto err2;
	}
	if (c->pid == 0) {
		close(go[1]);
		close(rep[0]);
		child_main(conf, jc, parent, go[0], rep[1]);
	}
	close(go[0]);
	close(rep[1]);
	c->go = go[1];
	c->rep = rep[0];
	return c;

err2:
	close(rep[0]);
	close(rep[1]);
err1:
	close(go[0]);
	close(go[1]);
err0:
	free(c);
	return NULL;
}

/* Wait for the child; its status in ${ret_status}.  0 or -1. */
static int
reap(struct job_child *c, int *ret_status)
{
	pid_t w;

	while ((w = waitpid(c->pid, ret_status, 0)) < 0 && errno == EINTR)
		;
	c->waited = true;
	return w == c->pid ? 0 : -1;
}

/* Why the child ended without a result. */
static void
no_result(struct job_result *ret, int waited, int status)
{
	if (waited != 0)
		snprintf(ret->error, sizeof(ret->error),
		    "the backup process "
		    "was lost: %s",
		    strerror(errno));
	else if (WIFSIGNALED(status))
		snprintf(ret->error, sizeof(ret->error),
		    "the backup process "
		    "crashed: killed by signal %d (%s)",
		    WTERMSIG(status), strsignal(WTERMSIG(status)));
	else if (WIFEXITED(status))
		snprintf(ret->error, sizeof(ret->error),
		    "the backup process "
		    "ended without a result (exit status %d)",
		    WEXITSTATUS(status));
	else
		snprintf(ret->error, sizeof(ret->error),
		    "the backup process "
		    "ended without a result");
}

int
job_child_run(void *cookie, const struct job_conf *jc,
    const struct job_run_opts *opts, struct job_result *ret)
{
	struct job_child *c = cookie;
	struct go_msg g = { .run = true };
	struct rep_msg m;
	struct pollfd pfd;
	int64_t term_at = 0, now;
	bool got = false, killed = false;
	int status = 0, waited, rc;

	memset(ret, 0, sizeof(*ret));
	ret->start_ms = clock_wall_ms();
	snprintf(g.backup_id, sizeof(g.backup_id), "%s",
	    opts->backup_id != NULL ? opts->backup_id : "");
	g.deadline_ms = opts->deadline_ms;
	if ((g.has_host = opts->host != NULL))
		snprintf(g.host, sizeof(g.host), "%s", opts->host);
	snprintf(g.state_dir, sizeof(g.state_dir), "%s",
	    opts->state_dir != NULL ? opts->state_dir : "");
	if (c->go < 0 || child_write_full(c->go, &g, sizeof(g)) != 0) {
		snprintf(ret->error, sizeof(ret->error),
		    "the backup process "
		    "did not start: %s",
		    strerror(errno));
		goto out;
	}
	close(c->go);
	c->go = -1;

	for (;;) {
		now = clock_mono_ms();
		if (term_at == 0 && opts->cancel != NULL && *opts->cancel) {
			(void)kill(c->pid, SIGTERM);
			term_at = now;
		} else if (term_at != 0 && !killed &&
		    now - term_at >= JOB_CHILD_KILL_MS) {
			log_warn("backup %s: the backup process did not stop "
				 "in %d s; killing it",
			    jc->name, JOB_CHILD_KILL_MS / 1000);
			(void)kill(c->pid, SIGKILL);
			killed = true;
		}
		pfd = (struct pollfd){ .fd = c->rep, .events = POLLIN };
		if (poll(&pfd, 1, 100) <= 0)
			continue;
		if ((rc = child_read_full(c->rep, &m, sizeof(m))) != 0)
			break;
		if (m.kind == REP_PROGRESS && opts->progress != NULL)
			opts->progress(opts->cookie, &m.u.p);
		else if (m.kind == REP_RESULT) {
			*ret = m.u.r;
			got = true;
		}
	}
	waited = reap(c, &status);
	if (!got) {
		memset(ret, 0, sizeof(*ret));
		if (term_at != 0) {
			ret->cancelled = true;
			snprintf(ret->error, sizeof(ret->error), "cancelled");
		} else {
			no_result(ret, waited, status);
		}
	}
out:
	if (!got)
		snprintf(ret->backup_id, sizeof(ret->backup_id), "%.23s",
		    g.backup_id);
	return ret->ok ? 0 : -1;
}

void
job_child_free(struct job_child *c)
{
	struct go_msg g = { .run = false };
	int status;

	if (c == NULL)
		return;
	if (c->go >= 0) {
		/* Never run: tell it so (other children may hold our end). */
		(void)child_write_full(c->go, &g, sizeof(g));
		close(c->go);
	}
	close(c->rep);
	if (!c->waited)
		(void)reap(c, &status);
	free(c);
}
