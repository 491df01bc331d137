/*
 * child.c: forked children for the daemon's heavy work (see child.h).
 *
 * A checking child answers through one pipe: its return value, its error
 * count and messages, then its output, each length-prefixed; it ends with
 * _exit(), so nothing of the daemon's (atexit handlers, stdio buffers)
 * runs twice.  The daemon reads as the child writes, so a long answer
 * never fills the pipe.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/ag.h"
#include "lib/log.h"

#include "agent/child.h"

static bool isolate;

void
child_isolate_set(bool on)
{
	isolate = on;
}

bool
child_isolate(void)
{
	return isolate;
}

int
child_write_full(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	ssize_t n;

	while (len > 0) {
		if ((n = write(fd, p, len)) < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int
child_read_full(int fd, void *buf, size_t len)
{
	char *p = buf;
	size_t got = 0;
	ssize_t n;

	while (got < len) {
		if ((n = read(fd, p + got, len - got)) < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			return got == 0 ? 1 : -1;
		got += (size_t)n;
	}
	return 0;
}

static int
cmp_int(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

void
child_setup(pid_t parent, const int *keep, size_t nkeep)
{
	static const int dfl[] = { SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1,
		SIGUSR2, SIGCHLD, SIGALRM };
	struct sigaction sa = { .sa_handler = SIG_DFL };
	int fds[8];
	unsigned lo = 3;
	sigset_t none;

	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < ARRAY_SIZE(dfl); i++)
		(void)sigaction(dfl[i], &sa, NULL);
	(void)prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != parent)
		_exit(1);
	sigemptyset(&none);
	(void)pthread_sigmask(SIG_SETMASK, &none, NULL);

	/* Close all but stdio and ${keep}, in spans between the kept ones. */
	if (nkeep > ARRAY_SIZE(fds))
		nkeep = ARRAY_SIZE(fds);
	memcpy(fds, keep, nkeep * sizeof(*fds));
	qsort(fds, nkeep, sizeof(*fds), cmp_int);
	for (size_t i = 0; i < nkeep; i++) {
		if (fds[i] < (int)lo)
			continue;
		if ((unsigned)fds[i] > lo)
			(void)close_range(lo, (unsigned)fds[i] - 1, 0);
		lo = (unsigned)fds[i] + 1;
	}
	(void)close_range(lo, ~0U, 0);
	log_reopen();
}

/* The child's side: run the check, send the answer, end. */
static void __attribute__((noreturn)) check_child(child_check_fn *fn,
    void *cookie, const struct conf_errs *pe, pid_t parent, int fd)
{
	/* A fresh record with the caller's context (secrets allowed?). */
	struct conf_errs e = { .file_private = pe->file_private,
		.file = pe->file };
	struct buf out;
	uint64_t hdr[3], len;
	int ok;

	child_setup(parent, &fd, 1);
	buf_init(&out, CHILD_OUT_MAX);
	hdr[0] = (uint64_t)(int64_t)fn(cookie, &e, &out);
	hdr[1] = e.total;
	hdr[2] = e.n;
	ok = child_write_full(fd, hdr, sizeof(hdr)) == 0;
	for (size_t i = 0; ok && i < e.n; i++) {
		len = strlen(e.msgs[i]);
		ok = child_write_full(fd, &len, sizeof(len)) == 0 &&
		    child_write_full(fd, e.msgs[i], len) == 0;
	}
	len = out.err != 0 ? 0 : out.len;
	if (ok)
		ok = child_write_full(fd, &len, sizeof(len)) == 0 &&
		    child_write_full(fd, out.p, len) == 0;
	_exit(ok ? 0 : 1);
}

/* Read one length-prefixed piece into a new string.  NULL on failure. */
static char *
read_piece(int fd, size_t max, size_t *ret_len)
{
	uint64_t len;
	char *s;

	if (child_read_full(fd, &len, sizeof(len)) != 0 || len > max ||
	    (s = malloc((size_t)len + 1)) == NULL)
		return NULL;
	if (child_read_full(fd, s, (size_t)len) != 0 && len > 0) {
		free(s);
		return NULL;
	}
	s[len] = '\0';
	*ret_len = (size_t)len;
	return s;
}

int
child_check(child_check_fn *fn, void *cookie, const conf_node *where,
    struct conf_errs *errs, struct buf *out)
{
	uint64_t hdr[3] = { 0 };
	size_t real, len;
	char *s;
	int p[2], status = 0, rc = -1, answered = 0;
	pid_t parent = getpid(), pid, w;

	if (pipe2(p, O_CLOEXEC) != 0)
		return conf_error(errs, where, "cannot check this: pipe: %s",
		    strerror(errno));
	if ((pid = fork()) < 0) {
		close(p[0]);
		close(p[1]);
		return conf_error(errs, where, "cannot check this: fork: %s",
		    strerror(errno));
	}
	if (pid == 0) {
		close(p[0]);
		check_child(fn, cookie, errs, parent, p[1]);
	}
	close(p[1]);
	if (child_read_full(p[0], hdr, sizeof(hdr)) != 0)
		goto out;
	/*
	 * Past CONF_MAX_ERRS the child's last message counts the rest: add
	 * the real ones, then count the rest here, so the total and the
	 * "... and N more" line come out as if the check had run here.
	 */
	real = hdr[1] > CONF_MAX_ERRS ? CONF_MAX_ERRS : (size_t)hdr[2];
	for (size_t i = 0; i < hdr[2]; i++) {
		if ((s = read_piece(p[0], 1 << 20, &len)) == NULL)
			goto out;
		if (i < real)
			(void)conf_error_msg(errs, s);
		free(s);
	}
	for (uint64_t i = real; i < hdr[1]; i++)
		(void)conf_error_msg(errs, "");
	if ((s = read_piece(p[0], CHILD_OUT_MAX, &len)) == NULL)
		goto out;
	if (out != NULL)
		(void)buf_append(out, s, len);
	free(s);
	answered = 1;
	rc = (int)(int64_t)hdr[0];
out:
	close(p[0]);
	while ((w = waitpid(pid, &status, 0)) < 0 && errno == EINTR)
		;
	if (answered)
		return rc;
	if (w == pid && WIFSIGNALED(status))
		return conf_error(errs, where,
		    "the process checking this "
		    "crashed: killed by signal %d (%s)",
		    WTERMSIG(status), strsignal(WTERMSIG(status)));
	return conf_error(errs, where,
	    "the process checking this ended "
	    "without an answer");
}
