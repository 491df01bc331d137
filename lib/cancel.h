/*
 * cancel.h: a thread's "stop what you are doing" flag, for the long calls
 * made deep below it on its behalf.
 *
 * A thread that may have to give up a call in flight (a network source's
 * collector thread, agent/collector.h) binds a flag to itself; the HTTP
 * client (lib/http/http.c), on that thread only, refuses to start a
 * transfer once the flag is set and aborts one under way within about a
 * second (libcurl's progress callback).  Another thread sets the flag.
 * Core code, so that the heavy module and vigild share the one binding.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef VIGIL_CANCEL_H
#define VIGIL_CANCEL_H

#include <stdatomic.h>
#include <stdbool.h>

/**
 * cancel_bind(flag):
 * Make ${flag} the calling thread's cancel flag (NULL: none).  ${flag}
 * must outlive the binding.
 */
void cancel_bind(const atomic_bool *flag);

/* cancel_bound(): does the calling thread have a cancel flag? */
bool cancel_bound(void);

/* cancel_requested(): is the calling thread's cancel flag set? */
bool cancel_requested(void);

#endif /* !VIGIL_CANCEL_H */
