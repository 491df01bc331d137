/*
 * job_hooks.h: a backup job's pre_hook and post_hook.
 *
 * A hook runs under /bin/sh -c in its own process group (so that a timeout
 * or a cancel can kill the whole group), with standard input and output on
 * /dev/null, the signals the daemon handles back at their defaults, and
 * standard error captured: its last lines go into the error message when
 * the hook fails.  The environment is the caller's plus the VIGIL_*
 * variables given, which replace inherited ones of the same name.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef VIGIL_AGENT_JOB_HOOKS_H
#define VIGIL_AGENT_JOB_HOOKS_H

#include <stdbool.h>
#include <stdint.h>

#include "lib/ag.h"

/**
 * job_hook_run(what, cmd, extra, timeout_ms, stop, cookie, err):
 * Run the hook ${what} ("pre_hook") with command ${cmd}, adding the
 * NULL-terminated "NAME=value" strings ${extra} to its environment, and
 * wait for it, at most ${timeout_ms} (0: an hour).  If ${stop} is not
 * NULL it is polled (every 50 ms) with ${cookie} and a true answer stops
 * the hook too.  Return 0 if it exited with status 0; 1 if ${stop} ended
 * it (no message: the caller says why); -1 with a message ("pre_hook
 * failed: exit status 3: disk not mounted", "pre_hook timed out after 300
 * ms").  Blocks; thread-safe.
 */
int job_hook_run(const char *what, const char *cmd, const char *const *extra,
    int64_t timeout_ms, bool (*stop)(void *), void *cookie,
    struct ag_err *err);

#endif
