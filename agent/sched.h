/*
 * sched.h: the daemon's one loop.
 *
 * One thread runs the scheduler: it collects each source when due, feeds the
 * readings to the rules, spools the notifications they produce, answers the
 * control socket and acts on the flags the signal handlers set (SIGHUP:
 * reload; SIGTERM/SIGINT: flush the spool and exit).  Delivery happens in
 * the sender thread (sender.h), so a slow receiver never delays it.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef VIGIL_SCHED_H
#define VIGIL_SCHED_H

struct runconf;

/**
 * sched_run(conf_path, rc):
 * Run the daemon on ${rc} (loaded from ${conf_path}; NULL: the embedded
 * default, which a reload reads again) until SIGTERM or SIGINT.  Takes over
 * the caller's reference to ${rc}.  Return the process exit status.
 */
int sched_run(const char *conf_path, struct runconf *rc);

#endif
