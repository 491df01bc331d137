/*
 * jobconf_check.h: the daemon's view of its backup jobs, checked without
 * the heavy module in its own process.
 *
 * jobconf_parse_all() (backup/jobconf.h) needs the heavy code: key checks,
 * public keys, the storage section.  jobconf_check_all() runs it in a child
 * process (child.h), which sends back every error it found, exactly as it
 * made them (FILE:LINE: setting: what), and, for each job, what the daemon
 * itself needs: name, schedule, splay, hooks and timeouts.  The daemon's
 * job_confs have only those; a backup child parses the job again in full
 * (job_child.h).
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef VIGIL_AGENT_JOBCONF_CHECK_H
#define VIGIL_AGENT_JOBCONF_CHECK_H

#include <stddef.h>

#include "conf/conf.h"

struct job_conf;

/**
 * jobconf_check_all(c, ret, ret_n, errs):
 * jobconf_parse_all() of ${c} in a child: every problem in ${errs}; the
 * jobs, with the daemon's fields only, in ${ret} and ${ret_n} (free with
 * jobconf_check_free_all()).  Return 0 or -1.
 */
int jobconf_check_all(const struct conf *c, struct job_conf ***ret,
    size_t *ret_n, struct conf_errs *errs);

/* jobconf_check_free_all(v, n): free what jobconf_check_all() made. */
void jobconf_check_free_all(struct job_conf **v, size_t n);

#endif
