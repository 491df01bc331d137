/*
 * api.h: the routes of the JSON API (docs/API.md) that the scheduler
 * thread answers: status, sources, readings, series and history, rules,
 * notifications, jobs and running a job now.  The HTTP server hands them
 * over with web_call(); the scheduler answers them with
 * web_serve(w, api_handle, sched).  The routes about backups in storage
 * and restores are the module's (agent/httpd/api_backup.h).
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef VIGIL_AGENT_API_H
#define VIGIL_AGENT_API_H

#include "agent/web.h"

/**
 * api_handle(sched, rq, rs):
 * A web_handler_fn: answer ${rq} from the state of the scheduler
 * ${sched} (a struct sched *) in ${rs}.  Strict: an unknown path is 404,
 * a known one with another method 405, an unknown, repeated or malformed
 * query parameter 400, an action without the admin role 403; every error
 * is {"error": "..."}.
 */
void api_handle(void *sched, const struct web_req *rq, struct web_resp *rs);

#endif /* !VIGIL_AGENT_API_H */
