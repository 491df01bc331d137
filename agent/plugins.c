/*
 * plugins.c: the table of plug-in types, one line per type (lib/plugin.h).
 *
 * A line names the kind, the type's name as the configuration writes it,
 * its ops (declared by the line itself) and where its code lives: CORE for
 * code in a core folder, MODULE for code in a heavy one (the top of
 * CMakeLists.txt says which folders are which).
 * The file is compiled twice.  The core's copy (plugin_core_types[]) takes
 * the address of the CORE types' ops only, so vigild, which does not link
 * the heavy code, does not need the MODULE types' symbols; the module's
 * copy (plugin_module.c includes this file with PLUGIN_MODULE_COPY
 * defined: plugin_module_types[]) takes only the MODULE types' ops.  A
 * type whose line says CORE but whose file is in a heavy folder makes
 * vigild fail to link; the opposite mistake the vigild_heavy_module test
 * finds (an ops symbol the module takes from vigild).
 *
 * Within a kind, the order of the lines is the order of the "known:" lists
 * in error messages.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <stddef.h>

#include "lib/plugin.h"
#include "agent/notify_backend.h"
#include "agent/source_backend.h"
#include "providers/storage_backend.h"

#include "agent/plugin_module.h"

#ifdef PLUGIN_MODULE_COPY
#define OPS_CORE(ops) NULL
#define OPS_MODULE(ops) (&(ops))
#define PLUGIN_TYPES plugin_module_types
#define PLUGIN_NTYPES plugin_module_ntypes
#else
#define OPS_CORE(ops) (&(ops))
#define OPS_MODULE(ops) NULL
#define PLUGIN_TYPES plugin_core_types
#define PLUGIN_NTYPES plugin_core_ntypes
#endif

/*
 * The table: TYPE(kind, "name", ops, where), one line per type.  The ops
 * need no declaration elsewhere: the lines declare them too.
 */
/* A table reads best in columns. */
/* clang-format off */
#define PLUGIN_TABLE(TYPE)						\
	TYPE(SOURCE,	"cpu",		src_cpu_ops,		CORE)	\
	TYPE(SOURCE,	"memory",	src_memory_ops,		CORE)	\
	TYPE(SOURCE,	"load",		src_load_ops,		CORE)	\
	TYPE(SOURCE,	"disk",		src_disk_ops,		CORE)	\
	TYPE(SOURCE,	"diskio",	src_diskio_ops,		CORE)	\
	TYPE(SOURCE,	"network",	src_network_ops,	CORE)	\
	TYPE(SOURCE,	"process",	src_process_ops,	CORE)	\
	TYPE(SOURCE,	"cloudwatch",	src_cloudwatch_ops,	MODULE)	\
	TYPE(SOURCE,	"azure_monitor", src_azmonitor_ops,	MODULE)	\
	TYPE(SOURCE,	"gcp_monitoring", src_gcpmon_ops,	MODULE)	\
	TYPE(NOTIFIER,	"log",		ntf_log_ops,		CORE)	\
	TYPE(NOTIFIER,	"webhook",	ntf_webhook_ops,	MODULE)	\
	TYPE(NOTIFIER,	"sns",		ntf_sns_ops,		MODULE)	\
	TYPE(NOTIFIER,	"email",	ntf_email_ops,		MODULE)	\
	TYPE(NOTIFIER,	"sms",		ntf_sms_ops,		MODULE)	\
	TYPE(NOTIFIER,	"pubsub",	ntf_pubsub_ops,		MODULE)	\
	TYPE(NOTIFIER,	"notification_hubs", ntf_notifhubs_ops,	MODULE)	\
	TYPE(STORAGE,	"local",	storage_local_ops,	MODULE)	\
	TYPE(STORAGE,	"s3",		storage_s3_ops,		MODULE)	\
	TYPE(STORAGE,	"gcs",		storage_gcs_ops,	MODULE)	\
	TYPE(STORAGE,	"azure",	storage_azure_ops,	MODULE)
/* clang-format on */

/* Each kind's ops. */
#define OPS_STRUCT_SOURCE struct source_ops
#define OPS_STRUCT_NOTIFIER struct notifier_ops
#define OPS_STRUCT_STORAGE struct storage_ops

#define DECLARE(kind, name, ops, where) extern const OPS_STRUCT_##kind ops;
#define ROW(kind, name, ops, where) \
	{ PLUGIN_##kind, name, OPS_##where(ops), PLUGIN_##where },

PLUGIN_TABLE(DECLARE)

const struct plugin_type PLUGIN_TYPES[] = { PLUGIN_TABLE(ROW) };

const size_t PLUGIN_NTYPES = ARRAY_SIZE(PLUGIN_TYPES);
