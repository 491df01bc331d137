/*
 * ctl.c: see ctl.h.
 *
 * A client is a slot in a fixed array: free (fd -1), reading (no answer
 * yet: polled for POLLIN, its request gathered in ${in}) or writing (an
 * answer in ${out}: polled for POLLOUT, closed once all of it is sent).
 * Each has one deadline: CTL_REQUEST_TIMEOUT_MS after it connected while it
 * is reading, CTL_WRITE_TIMEOUT_MS after the last byte it took while it is
 * writing.  Nothing here waits: every read, write and accept is
 * non-blocking, and whatever would block is left for the next poll().
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/log.h"

#include "agent/ctl.h"

/* How long accepting pauses when we are out of file descriptors. */
#define ACCEPT_PAUSE_MS 100

struct ctl_conn {
	struct ctl *ctl;
	int fd;		     /* -1: a free slot */
	int pidx;	     /* entry in the last ctl_pollfds(), or -1 */
	int64_t deadline_ms; /* monotonic: closed then */
	size_t len;	     /* request bytes in ${in} */
	char in[CTL_REQUEST_MAX];
	char *out; /* the answer; NULL: still reading */
	size_t out_len, out_off;
};

struct ctl {
	int lfd;
	int lidx; /* entry in the last ctl_pollfds(), or -1 */
	int64_t accept_after_ms;
	size_t out_total; /* unsent output of all clients */
	struct ctl_conn conns[CTL_CLIENTS_MAX];
};

static int
make_addr(const char *path, struct sockaddr_un *sa, struct ag_err *err)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa->sun_path))
		return ag_err_set(err, "socket path too long: %s", path);
	memcpy(sa->sun_path, path, strlen(path) + 1);
	return 0;
}

/* Copy the folder part of ${path} ("/run/vigil" of "/run/vigil/x.sock"). */
static void
dir_of(const char *path, char *buf, size_t size)
{
	const char *slash = strrchr(path, '/');
	size_t n;

	if (slash == NULL) {
		snprintf(buf, size, ".");
		return;
	}
	n = slash == path ? 1 : (size_t)(slash - path);
	if (n >= size)
		n = size - 1;
	memcpy(buf, path, n);
	buf[n] = '\0';
}

/*
 * Can only root write to the folder that holds ${dir}?  Then only root can
 * have made ${dir} or given it to its owner.
 */
static bool
parent_root_only(const char *dir)
{
	char parent[PATH_MAX];
	struct stat st;

	dir_of(dir, parent, sizeof(parent));
	return stat(parent, &st) == 0 && S_ISDIR(st.st_mode) &&
	    st.st_uid == 0 && (st.st_mode & 022) == 0;
}

int
ctl_check_dir(const char *dir, struct ag_err *err)
{
	struct stat st;
	uid_t me = geteuid();
	mode_t perm;
	bool rooted;

	if (lstat(dir, &st) != 0) {
		if (errno == ENOENT) {
			(void)ag_err_set(err, "%s does not exist", dir);
			return 1;
		}
		return ag_err_set(err, "cannot check %s: %s", dir,
		    strerror(errno));
	}
	if (S_ISLNK(st.st_mode))
		return ag_err_set(err,
		    "%s is a symbolic link: refusing it as "
		    "the folder of the control socket",
		    dir);
	if (!S_ISDIR(st.st_mode))
		return ag_err_set(err, "%s is not a folder", dir);
	perm = st.st_mode & 07777;
	if (st.st_uid == me && (perm & 077) == 0)
		return 0;
	rooted = parent_root_only(dir);
	if (rooted && (perm & 022) == 0)
		return 0;
	if (!rooted && st.st_uid != me)
		return ag_err_set(err,
		    "%s belongs to uid %u, not to uid %u: "
		    "refusing it, as another user may have made it to answer "
		    "in vigild's place (remove it, or set XDG_RUNTIME_DIR or "
		    "agent.control_socket)",
		    dir, (unsigned)st.st_uid, (unsigned)me);
	if ((perm & 022) != 0)
		return ag_err_set(err,
		    "%s is writable by group or others "
		    "(mode %04o): refusing it (chmod 700 %s)",
		    dir, (unsigned)perm, dir);
	return ag_err_set(err,
	    "%s has mode %04o: refusing it, the folder of "
	    "the control socket must be private (chmod 700 %s)",
	    dir, (unsigned)perm, dir);
}

/*
 * Create the folder ${dir} of a socket with permissions ${mode}: private
 * (0700), unless only root could have made it, where members of ${group}
 * or everyone may need to reach the socket.
 */
static int
make_dir(const char *dir, int mode, const char *group, struct ag_err *err)
{
	char parent[PATH_MAX];
	mode_t dmode = 0700;
	struct group *gr = NULL;

	dir_of(dir, parent, sizeof(parent));
	if (ag_mkdir_p(parent, 0755, 0755) != 0)
		return ag_err_set(err, "cannot create %s: %s", parent,
		    strerror(errno));
	if (parent_root_only(dir)) {
		if ((mode & 007) != 0)
			dmode = 0755;
		else if ((mode & 070) != 0)
			dmode = 0750;
	}
	if (group != NULL && dmode != 0700 && (gr = getgrnam(group)) == NULL)
		return ag_err_set(err, "no group %s", group);
	if (mkdir(dir, dmode) != 0) {
		if (errno == EEXIST) /* ctl_check_dir() judges it */
			return 0;
		return ag_err_set(err, "cannot create %s: %s", dir,
		    strerror(errno));
	}
	/* Exactly ${dmode}, whatever the umask. */
	if (chmod(dir, dmode) != 0 ||
	    (gr != NULL && chown(dir, (uid_t)-1, gr->gr_gid) != 0))
		return ag_err_set(err, "cannot set up %s: %s", dir,
		    strerror(errno));
	return 0;
}

int
ctl_listen(const char *path, int mode, const char *group, struct ag_err *err)
{
	struct sockaddr_un sa;
	char dir[sizeof(sa.sun_path)];
	int fd, probe, rc;

	if (make_addr(path, &sa, err) != 0)
		return -1;
	dir_of(path, dir, sizeof(dir));
	if ((rc = ctl_check_dir(dir, err)) == 1) {
		if (make_dir(dir, mode, group, err) != 0)
			return -1;
		rc = ctl_check_dir(dir, err);
	}
	if (rc != 0)
		return -1;
	/* Is someone answering there?  Then we must not steal the socket. */
	if ((probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) >= 0) {
		if (connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
			close(probe);
			return ag_err_set(err,
			    "another vigild is running "
			    "(it answers on %s)",
			    path);
		}
		close(probe);
	}
	(void)unlink(path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
		 0)) < 0)
		return ag_err_set(err, "socket: %s", strerror(errno));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		ag_err_set(err, "bind %s: %s", path, strerror(errno));
		goto fail;
	}
	if (chmod(path, (mode_t)mode) != 0) {
		ag_err_set(err, "chmod %s: %s", path, strerror(errno));
		goto fail;
	}
	if (group != NULL) {
		struct group *gr = getgrnam(group);

		if (gr == NULL || chown(path, (uid_t)-1, gr->gr_gid) != 0) {
			ag_err_set(err, "cannot give %s to group %s", path,
			    group);
			goto fail;
		}
	}
	if (listen(fd, 64) != 0) {
		ag_err_set(err, "listen %s: %s", path, strerror(errno));
		goto fail;
	}
	return fd;
fail:
	close(fd);
	(void)unlink(path);
	return -1;
}

int
ctl_request(const char *path, const char *req, char **ret_reply,
    struct ag_err *err)
{
	struct sockaddr_un sa;
	struct timeval tv = { .tv_sec = 30 };
	char dir[sizeof(sa.sun_path)];
	struct buf b;
	ssize_t n;
	int fd, rc;

	buf_init(&b, CTL_REPLY_MAX);
	if (make_addr(path, &sa, err) != 0)
		return -1;
	/* Whoever could have made the folder could answer in vigild's place. */
	dir_of(path, dir, sizeof(dir));
	if ((rc = ctl_check_dir(dir, err)) != 0) {
		if (rc == 1)
			(void)ag_err_set(err,
			    "vigild is not running (nothing "
			    "listens on %s)",
			    path);
		return rc;
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return ag_err_set(err, "socket: %s", strerror(errno));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		int e = errno;

		close(fd);
		if (e == ENOENT || e == ECONNREFUSED) {
			ag_err_set(err,
			    "vigild is not running (nothing "
			    "listens on %s)",
			    path);
			return 1;
		}
		return ag_err_set(err, "cannot connect to %s: %s", path,
		    strerror(e));
	}
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (dprintf(fd, "%s\n", req) < 0) {
		close(fd);
		return ag_err_set(err, "cannot send to vigild: %s",
		    strerror(errno));
	}
	for (;;) {
		if (buf_reserve(&b, 4096) != 0) {
			ag_err_set(err, "%s",
			    b.err == E2BIG ? "reply from vigild too large" :
					     "out of memory");
			goto fail;
		}
		if ((n = read(fd, b.p + b.len, b.cap - b.len - 1)) < 0) {
			if (errno == EINTR)
				continue;
			ag_err_set(err, "reading from vigild: %s",
			    strerror(errno));
			goto fail;
		}
		if (n == 0)
			break;
		b.len += (size_t)n;
	}
	close(fd);
	if (b.len == 0) {
		buf_free(&b);
		return ag_err_set(err,
		    "vigild closed the connection without "
		    "an answer");
	}
	b.p[b.len] = '\0';
	*ret_reply = buf_take(&b);
	return 0;
fail:
	close(fd);
	buf_free(&b);
	return -1;
}

/* The server side. */

struct ctl *
ctl_new(int lfd)
{
	struct ctl *ctl;

	if ((ctl = calloc(1, sizeof(*ctl))) == NULL) {
		if (lfd >= 0)
			close(lfd);
		return NULL;
	}
	ctl->lfd = lfd;
	ctl->lidx = -1;
	for (size_t i = 0; i < CTL_CLIENTS_MAX; i++) {
		ctl->conns[i].ctl = ctl;
		ctl->conns[i].fd = -1;
		ctl->conns[i].pidx = -1;
	}
	return ctl;
}

static void
conn_close(struct ctl_conn *c)
{
	if (c->fd < 0)
		return;
	close(c->fd);
	c->ctl->out_total -= c->out_len - c->out_off;
	free(c->out);
	c->out = NULL;
	c->out_len = c->out_off = 0;
	c->len = 0;
	c->fd = -1;
	c->pidx = -1;
}

void
ctl_free(struct ctl *ctl)
{
	if (ctl == NULL)
		return;
	for (size_t i = 0; i < CTL_CLIENTS_MAX; i++)
		conn_close(&ctl->conns[i]);
	if (ctl->lfd >= 0)
		close(ctl->lfd);
	free(ctl);
}

/*
 * The client other than ${keep} nearest to its deadline, among the writing
 * ones only if ${writing}; NULL if there is none.
 */
static struct ctl_conn *
conn_oldest(struct ctl *ctl, const struct ctl_conn *keep, bool writing)
{
	struct ctl_conn *best = NULL;

	for (size_t i = 0; i < CTL_CLIENTS_MAX; i++) {
		struct ctl_conn *c = &ctl->conns[i];

		if (c->fd < 0 || c == keep || (writing && c->out == NULL))
			continue;
		if (best == NULL || c->deadline_ms < best->deadline_ms)
			best = c;
	}
	return best;
}

/* Take ${fd} as a new client; return its slot, or NULL (${fd} closed). */
static struct ctl_conn *
conn_add(struct ctl *ctl, int fd, int64_t now_ms)
{
	struct ctl_conn *c = NULL;
	int fl;

	if ((fl = fcntl(fd, F_GETFL)) < 0 ||
	    fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0) {
		close(fd);
		return NULL;
	}
	for (size_t i = 0; i < CTL_CLIENTS_MAX && c == NULL; i++)
		if (ctl->conns[i].fd < 0)
			c = &ctl->conns[i];
	if (c == NULL) {
		/* Full: the oldest idle client makes room. */
		c = conn_oldest(ctl, NULL, false);
		log_debug("control socket: %d clients, dropping the oldest",
		    CTL_CLIENTS_MAX);
		conn_close(c);
	}
	c->fd = fd;
	c->pidx = -1;
	c->len = 0;
	c->deadline_ms = now_ms + CTL_REQUEST_TIMEOUT_MS;
	return c;
}

int
ctl_add(struct ctl *ctl, int fd, int64_t now_ms)
{
	return conn_add(ctl, fd, now_ms) != NULL ? 0 : -1;
}

size_t
ctl_pollfds(struct ctl *ctl, struct pollfd *pfd, int64_t now_ms)
{
	size_t n = 0;

	ctl->lidx = -1;
	if (ctl->lfd >= 0 && now_ms >= ctl->accept_after_ms) {
		ctl->accept_after_ms = 0; /* no longer paused */
		ctl->lidx = (int)n;
		pfd[n++] = (struct pollfd){ .fd = ctl->lfd, .events = POLLIN };
	}
	for (size_t i = 0; i < CTL_CLIENTS_MAX; i++) {
		struct ctl_conn *c = &ctl->conns[i];

		c->pidx = -1;
		if (c->fd < 0)
			continue;
		c->pidx = (int)n;
		pfd[n++] = (struct pollfd){ .fd = c->fd,
			.events = c->out != NULL ? POLLOUT : POLLIN };
	}
	return n;
}

/* Send what the client takes now; close it once all is sent. */
static void
conn_write(struct ctl_conn *c, int64_t now_ms)
{
	bool progress = false;

	while (c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off,
		    c->out_len - c->out_off, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n <= 0) {
			conn_close(c);
			return;
		}
		c->out_off += (size_t)n;
		c->ctl->out_total -= (size_t)n;
		progress = true;
	}
	if (c->out_off == c->out_len)
		conn_close(c);
	else if (progress)
		c->deadline_ms = now_ms + CTL_WRITE_TIMEOUT_MS;
}

/* Read what the client sent; once its request is whole, answer it. */
static void
conn_read(struct ctl_conn *c, int64_t now_ms, ctl_request_fn *fn, void *cookie)
{
	char *end;
	ssize_t n;

	for (;;) {
		if (c->len >= sizeof(c->in) - 1) {
			/* No request is that long. */
			conn_close(c);
			return;
		}
		n = read(c->fd, c->in + c->len, sizeof(c->in) - 1 - c->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n < 0 || (n == 0 && c->len == 0)) {
			conn_close(c);
			return;
		}
		if (n == 0) {
			/* End of input ends the line too. */
			c->in[c->len] = '\0';
			end = c->in + c->len;
			break;
		}
		c->len += (size_t)n;
		c->in[c->len] = '\0';
		if ((end = memchr(c->in, '\n', c->len)) != NULL)
			break;
	}
	*end = '\0';
	if (end > c->in && end[-1] == '\r')
		end[-1] = '\0';
	fn(cookie, c, c->in);
	if (c->out == NULL) {
		/* Unanswered: nothing more will come for it. */
		conn_close(c);
		return;
	}
	c->deadline_ms = now_ms + CTL_WRITE_TIMEOUT_MS;
	conn_write(c, now_ms);
}

static void
accept_all(struct ctl *ctl, int64_t now_ms, ctl_request_fn *fn, void *cookie)
{
	/* At most a table's worth per round, so the loop moves on. */
	for (size_t i = 0; i < CTL_CLIENTS_MAX; i++) {
		int fd = accept4(ctl->lfd, NULL, NULL,
		    SOCK_CLOEXEC | SOCK_NONBLOCK);
		struct ctl_conn *c;

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			/*
			 * Out of descriptors (or worse): free one if we hold
			 * any, else stop polling the listener for a while,
			 * which would otherwise be ready at once, forever.
			 */
			if ((errno == EMFILE || errno == ENFILE) &&
			    (c = conn_oldest(ctl, NULL, false)) != NULL) {
				conn_close(c);
				continue;
			}
			log_debug("control socket: accept: %s",
			    strerror(errno));
			ctl->accept_after_ms = now_ms + ACCEPT_PAUSE_MS;
			return;
		}
		/* A CLI sends its request at once: it may be here already. */
		if ((c = conn_add(ctl, fd, now_ms)) != NULL)
			conn_read(c, now_ms, fn, cookie);
	}
}

void
ctl_dispatch(struct ctl *ctl, const struct pollfd *pfd, int64_t now_ms,
    ctl_request_fn *fn, void *cookie)
{
	for (size_t i = 0; pfd != NULL && i < CTL_CLIENTS_MAX; i++) {
		struct ctl_conn *c = &ctl->conns[i];

		if (c->fd < 0 || c->pidx < 0 || pfd[c->pidx].revents == 0)
			continue;
		if (pfd[c->pidx].revents & POLLNVAL)
			conn_close(c);
		else if (c->out != NULL)
			conn_write(c, now_ms);
		else
			conn_read(c, now_ms, fn, cookie);
	}
	if (pfd != NULL && ctl->lidx >= 0 && pfd[ctl->lidx].revents != 0)
		accept_all(ctl, now_ms, fn, cookie);
	ctl->lidx = -1;
	for (size_t i = 0; i < CTL_CLIENTS_MAX; i++) {
		struct ctl_conn *c = &ctl->conns[i];

		c->pidx = -1;
		if (c->fd >= 0 && now_ms >= c->deadline_ms) {
			log_debug("control socket: closing a client that %s",
			    c->out == NULL ? "sent no request in time" :
					     "does not read its answer");
			conn_close(c);
		}
	}
}

int64_t
ctl_next_deadline(const struct ctl *ctl)
{
	int64_t next = INT64_MAX;

	if (ctl->lfd >= 0 && ctl->accept_after_ms > 0)
		next = ctl->accept_after_ms;
	for (size_t i = 0; i < CTL_CLIENTS_MAX; i++)
		if (ctl->conns[i].fd >= 0 && ctl->conns[i].deadline_ms < next)
			next = ctl->conns[i].deadline_ms;
	return next;
}

size_t
ctl_clients(const struct ctl *ctl)
{
	size_t n = 0;

	for (size_t i = 0; i < CTL_CLIENTS_MAX; i++)
		n += ctl->conns[i].fd >= 0;
	return n;
}

void
ctl_reply(struct ctl_conn *c, const char *text)
{
	struct ctl *ctl = c->ctl;
	struct ctl_conn *old;
	size_t len = strlen(text);

	if (c->out != NULL)
		return; /* one answer per request */
	if (len + 1 > CTL_REPLY_MAX) {
		text = "{\"error\":\"the answer is too large\"}";
		len = strlen(text);
	}
	/* Unread answers are bounded: the oldest unread ones go first. */
	while (ctl->out_total + len + 1 > CTL_OUTPUT_MAX &&
	    (old = conn_oldest(ctl, c, true)) != NULL)
		conn_close(old);
	if (ctl->out_total + len + 1 > CTL_OUTPUT_MAX) {
		text = "{\"error\":\"busy\"}";
		len = strlen(text);
	}
	if ((c->out = malloc(len + 1)) == NULL)
		return; /* closed unanswered */
	memcpy(c->out, text, len);
	c->out[len] = '\n';
	c->out_len = len + 1;
	c->out_off = 0;
	ctl->out_total += c->out_len;
}
