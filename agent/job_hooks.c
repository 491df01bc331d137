/*
 * job_hooks.c: running a job's hooks (see job_hooks.h).
 *
 * posix_spawn() rather than fork(): the daemon is threaded, and the child
 * must not run anything of ours before exec.  The hook's standard error
 * comes through a pipe read here in 512-byte pieces, of which the last
 * HOOK_TAIL bytes are kept; the child is polled with waitpid(WNOHANG),
 * since SIGCHLD belongs to nobody in a threaded daemon.  On a timeout or a
 * stop the group gets SIGTERM, then SIGKILL HOOK_KILL_MS later.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/ag.h"
#include "lib/clock.h"
#include "lib/parsenum.h"

#include "agent/job_hooks.h"

extern char **environ;

#define HOOK_TAIL 2048	  /* hook stderr kept */
#define HOOK_KILL_MS 2000 /* SIGTERM to SIGKILL */

/* The last lines of ${tail}, on one line: "a; b; c". */
static void
tail_lines(const char *tail, size_t len, char *out, size_t outlen)
{
	size_t start, i, o = 0;
	int lines = 0;

	while (len > 0 &&
	    (tail[len - 1] == '\n' || tail[len - 1] == ' ' ||
		tail[len - 1] == '\r' || tail[len - 1] == '\t'))
		len--;
	/* Back up over at most 3 lines and 160 bytes. */
	for (start = len; start > 0 && len - start < 160; start--)
		if (tail[start - 1] == '\n' && ++lines == 3)
			break;
	while (start < len && (tail[start] == '\n' || tail[start] == '\r'))
		start++;
	for (i = start; i < len && o + 3 < outlen; i++) {
		unsigned char c = (unsigned char)tail[i];

		if (c == '\n') {
			out[o++] = ';';
			out[o++] = ' ';
		} else if (c == '\r') {
			continue;
		} else {
			out[o++] = c < 0x20 ? ' ' : (char)c;
		}
	}
	out[o] = '\0';
}

static char **
hook_env(const char *const *extra)
{
	size_t n = 0, k = 0, i, j;
	char **env;

	while (environ != NULL && environ[n] != NULL)
		n++;
	for (j = 0; extra[j] != NULL; j++)
		;
	if ((env = calloc(n + j + 1, sizeof(*env))) == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		/* Ours replace inherited ones of the same name. */
		if (strncmp(environ[i], "VIGIL_JOB=", 10) == 0 ||
		    strncmp(environ[i], "VIGIL_BACKUP_ID=", 16) == 0 ||
		    strncmp(environ[i], "VIGIL_STATUS=", 13) == 0 ||
		    strncmp(environ[i], "VIGIL_ERROR=", 12) == 0)
			continue;
		env[k++] = environ[i];
	}
	for (j = 0; extra[j] != NULL; j++)
		env[k++] = (char *)extra[j];
	env[k] = NULL;
	return env;
}

/**
 * job_hook_run(what, cmd, extra, timeout_ms, stop, cookie, err):
 * Run the hook ${what} with command ${cmd} and the environment additions
 * ${extra}; ${stop}, if not NULL, stops it too (not only its timeout).
 * Return 0 if it exited with status 0, 1 if stopped, else -1 with a
 * message.
 */
int
job_hook_run(const char *what, const char *cmd, const char *const *extra,
    int64_t timeout_ms, bool (*stop)(void *), void *cookie, struct ag_err *err)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	char *argv[] = { "/bin/sh", "-c", (char *)cmd, NULL };
	char tail[HOOK_TAIL], buf[512], lines[200], dur[32];
	char **env = NULL;
	size_t tlen = 0;
	sigset_t none, def;
	struct pollfd pfd;
	int64_t start, deadline, kill_at = 0, now;
	pid_t pid, w;
	int p[2] = { -1, -1 }, status = 0, rc = -1, exited = 0, spawned;
	int why = 0; /* 1 timeout, 2 cancelled */
	ssize_t n;

	if ((env = hook_env(extra)) == NULL)
		return ag_err_set(err, "%s: out of memory", what);
	if (pipe2(p, O_CLOEXEC) != 0) {
		(void)ag_err_set(err, "%s: pipe: %s", what, strerror(errno));
		goto out0;
	}
	sigemptyset(&none);
	sigemptyset(&def);
	sigaddset(&def, SIGPIPE);
	sigaddset(&def, SIGINT);
	sigaddset(&def, SIGTERM);
	sigaddset(&def, SIGHUP);
	sigaddset(&def, SIGQUIT);
	sigaddset(&def, SIGCHLD);
	if (posix_spawn_file_actions_init(&fa) != 0) {
		(void)ag_err_set(err, "%s: out of memory", what);
		goto out1;
	}
	if (posix_spawnattr_init(&attr) != 0) {
		posix_spawn_file_actions_destroy(&fa);
		(void)ag_err_set(err, "%s: out of memory", what);
		goto out1;
	}
	spawned = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null",
		      O_RDONLY, 0) == 0 &&
	    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY,
		0) == 0 &&
	    posix_spawn_file_actions_adddup2(&fa, p[1], 2) == 0 &&
	    posix_spawnattr_setflags(&attr,
		POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
		    POSIX_SPAWN_SETSIGDEF) == 0 &&
	    posix_spawnattr_setpgroup(&attr, 0) == 0 &&
	    posix_spawnattr_setsigmask(&attr, &none) == 0 &&
	    posix_spawnattr_setsigdefault(&attr, &def) == 0;
	errno = spawned ? posix_spawn(&pid, "/bin/sh", &fa, &attr, argv, env) :
			  ENOMEM;
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	if (errno != 0) {
		(void)ag_err_set(err, "%s: cannot run /bin/sh: %s", what,
		    strerror(errno));
		goto out1;
	}
	close(p[1]);
	p[1] = -1;

	start = clock_mono_ms();
	deadline = start + (timeout_ms > 0 ? timeout_ms : 3600 * 1000);
	for (;;) {
		if (!exited) {
			w = waitpid(pid, &status, WNOHANG);
			if (w == pid || (w < 0 && errno != EINTR))
				exited = 1;
		}
		if (exited && p[0] < 0)
			break;
		now = clock_mono_ms();
		if (!exited && why == 0) {
			if (now >= deadline)
				why = 1;
			else if (stop != NULL && stop(cookie))
				why = 2;
			if (why != 0) {
				(void)kill(-pid, SIGTERM);
				kill_at = now + HOOK_KILL_MS;
			}
		}
		if (!exited && kill_at != 0 && now >= kill_at) {
			(void)kill(-pid, SIGKILL);
			kill_at = now + 3600 * 1000;
		}
		if (p[0] < 0) {
			clock_sleep_ms(20);
			continue;
		}
		pfd = (struct pollfd){ .fd = p[0], .events = POLLIN };
		/* After the exit, only drain what is there already. */
		if (poll(&pfd, 1, exited ? 0 : 50) <= 0) {
			if (exited) {
				close(p[0]);
				p[0] = -1;
			}
			continue;
		}
		n = read(p[0], buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			close(p[0]);
			p[0] = -1;
			continue;
		}
		/* Keep the last HOOK_TAIL bytes (buf is smaller). */
		if (tlen + (size_t)n > sizeof(tail)) {
			size_t drop = tlen + (size_t)n - sizeof(tail);

			memmove(tail, tail + drop, tlen - drop);
			tlen -= drop;
		}
		memcpy(tail + tlen, buf, (size_t)n);
		tlen += (size_t)n;
	}
	tail_lines(tail, tlen, lines, sizeof(lines));
	if (why == 1)
		(void)ag_err_set(err, "%s timed out after %s%s%s", what,
		    format_duration_ms(deadline - start, dur, sizeof(dur)),
		    lines[0] ? ": " : "", lines);
	else if (why == 2)
		rc = 1;
	else if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		rc = 0;
	else if (WIFEXITED(status))
		(void)ag_err_set(err, "%s failed: exit status %d%s%s", what,
		    WEXITSTATUS(status), lines[0] ? ": " : "", lines);
	else if (WIFSIGNALED(status))
		(void)ag_err_set(err, "%s failed: killed by signal %d%s%s",
		    what, WTERMSIG(status), lines[0] ? ": " : "", lines);
	else
		(void)ag_err_set(err, "%s failed", what);
out1:
	if (p[0] >= 0)
		close(p[0]);
	if (p[1] >= 0)
		close(p[1]);
out0:
	free(env);
	return rc;
}
