/*
 * plugin_module.c: the heavy module's one exported symbol (see
 * plugin_module.h): its copy of the table of types and its entry points.
 * Built into libvigil-heavy.so, and into the programs that link everything
 * (vigil, the unit tests), where plugin_static.c hands it out.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "paths.h"

/* The module's copy of the table: the MODULE types' ops. */
#define PLUGIN_MODULE_COPY
#include "agent/plugins.c"

__attribute__((visibility("default")))
const struct plugin_module vigil_plugin_module = {
	.version = VIGIL_VERSION,
	.size = sizeof(struct plugin_module),
	.types = plugin_module_types,
	.ntypes = ARRAY_SIZE(plugin_module_types),
	.jobconf_parse_all = jobconf_parse_all,
	.jobconf_free_all = jobconf_free_all,
	.job_run = job_run,
	.catalog_list = catalog_list,
	.catalog_resolve = catalog_resolve,
	.catalog_prune = catalog_prune,
	.catalog_verify = catalog_verify,
	.restore_run = restore_run,
	.http_multi_new = http_multi_new,
	.http_multi_add = http_multi_add,
	.http_multi_poll = http_multi_poll,
	.http_multi_perform = http_multi_perform,
	.http_multi_done = http_multi_done,
	.http_multi_remove = http_multi_remove,
	.http_multi_wakeup = http_multi_wakeup,
	.http_multi_free = http_multi_free,
	.http_resp_free = http_resp_free,
	.httpd_start = httpd_start,
	.httpd_stop = httpd_stop,
	.archive_seal = archive_seal,
	.archive_put = archive_put,
};
