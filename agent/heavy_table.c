/*
 * heavy_table.c: struct heavy_api filled with the real functions (see
 * heavy.h).  Compiled into libvigil-heavy.so, where vigil_heavy_api is the
 * one exported symbol, and into the programs that link everything (vigil,
 * the unit tests), where heavy_static.c hands it out.
 */
#include "paths.h"

#include "backup/job.h"
#include "backup/jobconf.h"
#include "lib/http.h"
#include "agent/notify_backend.h"

#include "agent/heavy.h"

__attribute__((visibility("default")))
const struct heavy_api vigil_heavy_api = {
	.version = VIGIL_VERSION,
	.size = sizeof(struct heavy_api),
	.webhook = &ntf_webhook_ops,
	.http_multi_new = http_multi_new,
	.http_multi_add = http_multi_add,
	.http_multi_poll = http_multi_poll,
	.http_multi_perform = http_multi_perform,
	.http_multi_done = http_multi_done,
	.http_multi_remove = http_multi_remove,
	.http_multi_wakeup = http_multi_wakeup,
	.http_multi_free = http_multi_free,
	.http_resp_free = http_resp_free,
	.jobconf_parse_all = jobconf_parse_all,
	.jobconf_free_all = jobconf_free_all,
	.job_run = job_run,
};
