/*
 * ctl.c: see ctl.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "agent/ctl.h"

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

static int
mkdir_parents(const char *path, mode_t mode)
{
	char buf[256], *p;

	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
		return -1;
	for (p = buf + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, mode) != 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	return 0;
}

int
ctl_listen(const char *path, int mode, const char *group, struct ag_err *err)
{
	struct sockaddr_un sa;
	int fd, probe;

	if (make_addr(path, &sa, err) != 0)
		return -1;
	if (mkdir_parents(path, 0755) != 0)
		return ag_err_set(err, "cannot create the directory of %s: %s",
		    path, strerror(errno));
	/* Is someone answering there?  Then we must not steal the socket. */
	if ((probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) >= 0) {
		if (connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
			close(probe);
			return ag_err_set(err, "another vigild is running "
			    "(it answers on %s)", path);
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
	if (listen(fd, 16) != 0) {
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
	char *buf = NULL, *nb;
	size_t len = 0, cap = 0;
	ssize_t n;
	int fd;

	if (make_addr(path, &sa, err) != 0)
		return -1;
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return ag_err_set(err, "socket: %s", strerror(errno));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		int e = errno;

		close(fd);
		if (e == ENOENT || e == ECONNREFUSED) {
			ag_err_set(err, "vigild is not running (nothing "
			    "listens on %s)", path);
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
		if (cap - len < 4096) {
			if (cap >= CTL_REPLY_MAX) {
				ag_err_set(err, "reply from vigild too large");
				goto fail;
			}
			cap = cap ? cap * 2 : 65536;
			if ((nb = realloc(buf, cap + 1)) == NULL) {
				ag_err_set(err, "out of memory");
				goto fail;
			}
			buf = nb;
		}
		if ((n = read(fd, buf + len, cap - len)) < 0) {
			if (errno == EINTR)
				continue;
			ag_err_set(err, "reading from vigild: %s",
			    strerror(errno));
			goto fail;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	if (len == 0) {
		free(buf);
		return ag_err_set(err, "vigild closed the connection without "
		    "an answer");
	}
	buf[len] = '\0';
	*ret_reply = buf;
	return 0;
fail:
	close(fd);
	free(buf);
	return -1;
}

int
ctl_accept(int lfd, struct ctl_conn *ret)
{
	int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

	if (fd < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK ||
		    errno == EINTR ? 1 : -1;
	ret->fd = fd;
	ret->len = 0;
	return 0;
}

int
ctl_read(struct ctl_conn *c, char **ret_line)
{
	ssize_t n;
	char *nl;

	n = read(c->fd, c->buf + c->len, sizeof(c->buf) - 1 - c->len);
	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -1;
	if (n == 0)
		return -1;
	c->len += (size_t)n;
	c->buf[c->len] = '\0';
	if ((nl = memchr(c->buf, '\n', c->len)) == NULL)
		return c->len >= sizeof(c->buf) - 1 ? -1 : 0;
	*nl = '\0';
	if (nl > c->buf && nl[-1] == '\r')
		nl[-1] = '\0';
	*ret_line = c->buf;
	return 1;
}

void
ctl_reply(struct ctl_conn *c, const char *text)
{
	struct timeval tv = { .tv_sec = 2 };
	size_t len = strlen(text), off = 0;
	int fl = fcntl(c->fd, F_GETFL);

	/* A bounded blocking write: the client is a local CLI. */
	(void)fcntl(c->fd, F_SETFL, fl & ~O_NONBLOCK);
	(void)setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	while (off < len) {
		ssize_t n = send(c->fd, text + off, len - off, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	(void)send(c->fd, "\n", 1, MSG_NOSIGNAL);
	close(c->fd);
	c->fd = -1;
}
