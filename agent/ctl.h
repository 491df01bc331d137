/*
 * ctl.h: the control socket between vigild and the vigil CLI.
 *
 * The protocol is one request line ("status", "reload") answered by one JSON
 * document, after which the daemon closes the connection.  The socket is a
 * Unix stream socket, mode 0660 by default, so that the vigil group can ask.
 *
 * The folder holding the socket must be one nobody else can have prepared:
 * either private (owned by us, mode 0700, as $XDG_RUNTIME_DIR/vigil and the
 * /tmp/vigil-<uid> fallback are) or a folder that only root can have made,
 * one not writable by group or others inside a root-owned folder that is
 * not either (/run/vigil).  Both sides check it, as ssh-agent and tmux do:
 * the daemon refuses to listen elsewhere and the CLI to believe an answer
 * from elsewhere.
 *
 * The daemon side never blocks on a client: each connection has a bounded
 * request buffer and a bounded output buffer, is polled only for what it
 * needs next (POLLIN until its request line is in, POLLOUT while output is
 * pending), and is closed when it sends no whole request within
 * CTL_REQUEST_TIMEOUT_MS of connecting or reads nothing of its answer for
 * CTL_WRITE_TIMEOUT_MS.  When CTL_CLIENTS_MAX are connected, a new client
 * pushes out the one nearest to its timeout, so idle clients cannot lock the
 * others out.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef VIGIL_CTL_H
#define VIGIL_CTL_H

#include <poll.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/ag.h"

#define CTL_REQUEST_MAX 1024
#define CTL_REPLY_MAX (16 * 1024 * 1024)
/* All clients' unsent output together. */
#define CTL_OUTPUT_MAX (64 * 1024 * 1024)
#define CTL_CLIENTS_MAX 32
#define CTL_REQUEST_TIMEOUT_MS 5000
#define CTL_WRITE_TIMEOUT_MS 5000
/* Entries ctl_pollfds() may fill: the listening socket and each client. */
#define CTL_POLLFDS_MAX (1 + CTL_CLIENTS_MAX)

/**
 * ctl_listen(path, mode, group, err):
 * Create the folder of ${path} if needed (mode 0700, or 0750/0755 as ${mode}
 * asks when it lies in a folder only root can write to, with group ${group}),
 * check that it is trusted (see above), remove a stale socket (one no daemon
 * answers on) and listen on ${path} with permissions ${mode} and group
 * ${group} (NULL: unchanged).  Return the non-blocking listening fd, or -1
 * (also when another daemon answers on ${path}).
 */
int ctl_listen(const char *path, int mode, const char *group,
    struct ag_err *err);

/**
 * ctl_request(path, req, ret_reply, err):
 * Client side: check that the folder of ${path} is trusted, send ${req} and
 * read the whole reply into a malloc'd string in ${ret_reply}.  Return 0, 1
 * if no daemon listens on ${path}, -1 on another error (an untrusted folder
 * among them).
 */
int ctl_request(const char *path, const char *req, char **ret_reply,
    struct ag_err *err);

/**
 * ctl_check_dir(dir, err):
 * Is ${dir}, the folder of a control socket, one nobody but us or root can
 * have prepared?  lstat() only: a symbolic link is refused.  Return 0 if
 * so, 1 if it does not exist, -1 with the reason in ${err} if not.
 */
int ctl_check_dir(const char *dir, struct ag_err *err);

/*
 * Server side, driven by the daemon's poll loop.  One round is: ctl_pollfds()
 * fills its part of the poll array, the caller polls with a timeout no later
 * than ctl_next_deadline(), then ctl_dispatch() acts on the results.
 */
struct ctl;
struct ctl_conn;

/*
 * ctl_request_fn(cookie, c, line): a whole request ${line} arrived on ${c};
 * answer it with ctl_reply() before returning.
 */
typedef void ctl_request_fn(void *cookie, struct ctl_conn *c,
    const char *line);

/**
 * ctl_new(lfd):
 * A server for the listening socket ${lfd} (from ctl_listen(); -1: none,
 * clients come only through ctl_add()), which it takes ownership of.
 * Return NULL on OOM (${lfd} is closed then too).
 */
struct ctl *ctl_new(int lfd);

/* ctl_free(ctl): close every client and the listening socket. */
void ctl_free(struct ctl *ctl);

/**
 * ctl_add(ctl, fd, now_ms):
 * Take the connected socket ${fd} as a new client at time ${now_ms},
 * pushing out the client nearest to its timeout if CTL_CLIENTS_MAX are
 * connected.  ${fd} is made non-blocking.  Return 0, or -1 (${fd} closed).
 */
int ctl_add(struct ctl *ctl, int fd, int64_t now_ms);

/**
 * ctl_pollfds(ctl, pfd, now_ms):
 * Fill up to CTL_POLLFDS_MAX entries at ${pfd}: the listening socket (unless
 * accepting is paused) and each client with the one event it waits for.
 * Return how many.  Pass the same entries, polled, to ctl_dispatch().
 */
size_t ctl_pollfds(struct ctl *ctl, struct pollfd *pfd, int64_t now_ms);

/**
 * ctl_dispatch(ctl, pfd, now_ms, fn, cookie):
 * After poll(): read what clients sent, call ${fn} for each whole request,
 * write pending output, accept new clients, and close the clients that are
 * done, gone or past their timeout at ${now_ms}.  ${pfd} is the array
 * ctl_pollfds() filled (NULL: only the timeouts).  Never blocks.
 */
void ctl_dispatch(struct ctl *ctl, const struct pollfd *pfd, int64_t now_ms,
    ctl_request_fn *fn, void *cookie);

/**
 * ctl_next_deadline(ctl):
 * The monotonic time at which ctl_dispatch() has work without any event (a
 * client timing out, accepting resuming), or INT64_MAX.
 */
int64_t ctl_next_deadline(const struct ctl *ctl);

/* ctl_clients(ctl): how many clients are connected. */
size_t ctl_clients(const struct ctl *ctl);

/**
 * ctl_reply(c, text):
 * Queue ${text} and a newline as the answer of ${c} (copied; a text longer
 * than CTL_REPLY_MAX is replaced by an error), which ctl_dispatch() writes
 * as the client reads, then closes the connection.  Never blocks.
 */
void ctl_reply(struct ctl_conn *c, const char *text);

#endif
