/*
 * plugin_module.h: the heavy module's entry points.
 *
 * The heavy module, libvigil-heavy.so, is the code that needs libcurl,
 * OpenSSL, libarchive or libdeflate (the folders that hold it are named at
 * the top of CMakeLists.txt).  It exports one symbol, vigil_plugin_module:
 * its copy of the table of types (agent/plugins.c), the backup entry points
 * and the HTTP functions the sender runs notifiers' requests with.  The
 * core never calls heavy code by name (vigild does not link it, so such a
 * call fails to link): the daemon, the CLI and a future HTTP server call
 * backup through plugin_module_get(), and find heavy types through
 * plugin_find() (lib/plugin.h).
 *
 * plugin_module_get() has two bodies, and a program links one:
 *
 *	plugin_static.c	the module is linked in (vigil, the unit tests);
 *	plugin_dl.c	vigild: the first call dlopen()s libvigil-heavy.so,
 *			looking next to the running executable (the build
 *			tree) and then in VIGIL_PKGLIBDIR.  The module
 *			resolves the core's functions (log, conf,
 *			plugin_find) from the executable.
 *
 * A new entry point is a member here and a line in plugin_module.c.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef VIGIL_PLUGIN_MODULE_H
#define VIGIL_PLUGIN_MODULE_H

#include <stddef.h>

#include "backup/catalog.h"
#include "backup/job.h"
#include "backup/metric_archive.h"
#include "backup/jobconf.h"
#include "agent/httpd/httpd.h"
#include "backup/restore.h"
#include "lib/ag.h"
#include "lib/http/http.h"
#include "lib/plugin.h"

/* The file name of the module (plugin_dl.c). */
#define PLUGIN_MODULE_NAME "libvigil-heavy.so"

/*
 * The module's one exported symbol.  Each entry point has the type of the
 * function it points to (__typeof__), so it cannot drift from its header.
 */
struct plugin_module {
	/* VIGIL_VERSION and sizeof(struct plugin_module) of its build. */
	const char *version;
	size_t size;

	/* The module's copy of the table (agent/plugins.c). */
	const struct plugin_type *types;
	size_t ntypes;

	/* Backup jobs: parse a configuration's, run one. */
	__typeof__(jobconf_parse_all) *jobconf_parse_all;
	__typeof__(jobconf_free_all) *jobconf_free_all;
	__typeof__(job_run) *job_run;
	/* The backups in storage (backup/catalog.h), and restore. */
	__typeof__(catalog_list) *catalog_list;
	__typeof__(catalog_resolve) *catalog_resolve;
	__typeof__(catalog_prune) *catalog_prune;
	__typeof__(catalog_verify) *catalog_verify;
	__typeof__(restore_run) *restore_run;

	/* lib/http/http.h: the sender performs notifiers' requests. */
	__typeof__(http_multi_new) *http_multi_new;
	__typeof__(http_multi_add) *http_multi_add;
	__typeof__(http_multi_poll) *http_multi_poll;
	__typeof__(http_multi_perform) *http_multi_perform;
	__typeof__(http_multi_done) *http_multi_done;
	__typeof__(http_multi_remove) *http_multi_remove;
	__typeof__(http_multi_wakeup) *http_multi_wakeup;
	__typeof__(http_multi_free) *http_multi_free;
	__typeof__(http_resp_free) *http_resp_free;

	/* agent/httpd/httpd.h: vigild's HTTP server (http.listen). */
	__typeof__(httpd_start) *httpd_start;
	__typeof__(httpd_stop) *httpd_stop;

	/* backup/metric_archive.h: the metric archive's thread. */
	__typeof__(archive_seal) *archive_seal;
	__typeof__(archive_put) *archive_put;
};

/* The module's symbol (plugin_module.c). */
extern const struct plugin_module vigil_plugin_module;

/*
 * The two copies of the table (plugins.c): the core's, with the ops of the
 * core's types, and the module's, with those of the module's types.
 */
extern const struct plugin_type plugin_core_types[];
extern const size_t plugin_core_ntypes;
extern const struct plugin_type plugin_module_types[];
extern const size_t plugin_module_ntypes;

/**
 * plugin_module_get(err):
 * The heavy module, loading it on first use.  Thread-safe; once loaded it
 * stays loaded.  Return NULL with the reason in ${err} (may be NULL), e.g.
 * "/usr/lib/vigil/libvigil-heavy.so: cannot open shared object file: No
 * such file or directory"; a later call tries again.  May block while the
 * module's libraries are mapped (milliseconds).
 */
const struct plugin_module *plugin_module_get(struct ag_err *err);

#endif
