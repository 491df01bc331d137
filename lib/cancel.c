/*
 * cancel.c: see cancel.h.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <stddef.h>

#include "lib/cancel.h"

static _Thread_local const atomic_bool *flag_of_thread;

void
cancel_bind(const atomic_bool *flag)
{
	flag_of_thread = flag;
}

bool
cancel_bound(void)
{
	return flag_of_thread != NULL;
}

bool
cancel_requested(void)
{
	return flag_of_thread != NULL && atomic_load(flag_of_thread);
}
