/*
 * child.h: forked children that do the daemon's heavy work, so that vigild
 * itself never maps the heavy module (plugin_module.h) and stays at the light
 * core's footprint: checking backup jobs and webhook notifiers when a
 * configuration is loaded (child_check()), and running backups
 * (job_child.h).
 *
 * vigild turns isolation on at start (child_isolate_set()); vigil and the
 * tests, which link the heavy code, leave it off and do the same work in
 * their own process.  Either way the same code runs and makes the same
 * messages.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef VIGIL_AGENT_CHILD_H
#define VIGIL_AGENT_CHILD_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "conf/conf.h"
#include "lib/buf.h"

/* The most a checking child may send back besides its messages. */
#define CHILD_OUT_MAX ((size_t)16 << 20)

/* child_isolate_set(on): do heavy work in children from now on (vigild). */
void child_isolate_set(bool on);

/* child_isolate(): is heavy work done in children? */
bool child_isolate(void);

/**
 * child_setup(parent, keep, nkeep):
 * In a child just forked from ${parent}: the daemon's signal handlers back
 * to their defaults and every signal unblocked, SIGTERM when the daemon
 * dies, every inherited descriptor closed but standard input, output and
 * error and the ${nkeep} in ${keep}, and syslog reconnected.
 */
void child_setup(pid_t parent, const int *keep, size_t nkeep);

/* child_write_full(fd, buf, len): write all of ${buf}.  0 or -1. */
int child_write_full(int fd, const void *buf, size_t len);

/**
 * child_read_full(fd, buf, len):
 * Read ${len} bytes.  Return 0; 1 at end of file before the first byte;
 * -1 on an error or a short read.
 */
int child_read_full(int fd, void *buf, size_t len);

/*
 * A check: record problems in ${errs} as conf_error() does, append what the
 * caller needs to know to ${out}; return 0 or -1.
 */
typedef int child_check_fn(void *cookie, struct conf_errs *errs,
    struct buf *out);

/**
 * child_check(fn, cookie, where, errs, out):
 * Run ${fn}(${cookie}, ...) in a forked child and bring its messages into
 * ${errs}, in order and counted as if ${fn} had recorded them here, and
 * what it appended into ${out} (up to CHILD_OUT_MAX).  Return what ${fn}
 * returned; -1 with an error at ${where} if the child could not be made or
 * ended without an answer.  Blocks until the child has ended.
 */
int child_check(child_check_fn *fn, void *cookie, const conf_node *where,
    struct conf_errs *errs, struct buf *out);

#endif
