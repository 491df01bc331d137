/*
 * api_backup.h: the routes of the JSON API (docs/API.md) about backups in
 * storage, which the HTTP server answers on its own threads, in the heavy
 * module, with the backup code linked in: a job's backups, a backup's
 * files (paged from the file index, streamed, never loaded whole) and
 * restores (one at a time, on a thread of their own, only below
 * http.restore_roots).
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef VIGIL_AGENT_HTTPD_API_BACKUP_H
#define VIGIL_AGENT_HTTPD_API_BACKUP_H

#include "agent/web.h"

/* The most paths one restore may name. */
#define API_RESTORE_PATHS_MAX 1000
/* Restores remembered for GET /api/v1/restores/{rid}, the running one too. */
#define API_RESTORES_KEPT 16

/**
 * api_backup_route(w, rq, rs):
 * If ${rq} is one of the backup routes (GET /api/v1/jobs/{job}/backups,
 * GET /api/v1/jobs/{job}/backups/{id}/files, POST /api/v1/restores, GET
 * /api/v1/restores/{rid}, or any other path below
 * /api/v1/jobs/{job}/backups or /api/v1/restores), answer it in ${rs}
 * from the configuration ${w} publishes (web_runconf()) and return 1;
 * otherwise return 0 and leave ${rs} alone.  Called on the server's
 * threads, any number at once; may block on storage.
 */
int api_backup_route(struct web *w, const struct web_req *rq,
    struct web_resp *rs);

/**
 * api_backup_stop():
 * Cancel the restore that runs, if any, and wait for its thread; at
 * server shutdown, before web_free().
 */
void api_backup_stop(void);

#endif /* !VIGIL_AGENT_HTTPD_API_BACKUP_H */
