/*
 * ctl.h: the control socket between vigild and the vigil CLI.
 *
 * The protocol is one request line ("status", "reload") answered by one JSON
 * document, after which the daemon closes the connection.  The socket is a
 * Unix stream socket, mode 0660 by default, so that the vigil group can ask.
 */
#ifndef VIGIL_CTL_H
#define VIGIL_CTL_H

#include <stddef.h>

#include "lib/ag.h"

#define CTL_REQUEST_MAX 1024
#define CTL_REPLY_MAX (16 * 1024 * 1024)

/**
 * ctl_listen(path, mode, group, err):
 * Create the directory of ${path} if needed, remove a stale socket (one no
 * daemon answers on) and listen on ${path} with permissions ${mode} and group
 * ${group} (NULL: unchanged).  Return the non-blocking listening fd, or -1
 * (also when another daemon answers on ${path}).
 */
int ctl_listen(const char *path, int mode, const char *group,
    struct ag_err *err);

/**
 * ctl_request(path, req, ret_reply, err):
 * Client side: send ${req} and read the whole reply into a malloc'd string
 * in ${ret_reply}.  Return 0, 1 if no daemon listens on ${path}, -1 on
 * another error.
 */
int ctl_request(const char *path, const char *req, char **ret_reply,
    struct ag_err *err);

/*
 * Server side, driven by the daemon's poll loop: a connection collects its
 * request line without blocking, then gets its reply written in one go (with
 * a short send timeout so a stuck client cannot hold the loop).
 */
struct ctl_conn {
	int fd;
	size_t len;
	char buf[CTL_REQUEST_MAX];
};

/* ctl_accept(lfd, ret): accept one client into ${ret}.  0, 1 none, -1. */
int ctl_accept(int lfd, struct ctl_conn *ret);

/**
 * ctl_read(c, ret_line):
 * Read what is available.  Return 1 with ${ret_line} pointing at the
 * NUL-terminated request once a full line arrived, 0 if more is needed,
 * -1 if the client went away or sent too much (close it).
 */
int ctl_read(struct ctl_conn *c, char **ret_line);

/* ctl_reply(c, text): write ${text} and a newline, then close ${c}. */
void ctl_reply(struct ctl_conn *c, const char *text);

#endif
