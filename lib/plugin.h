/*
 * plugin.h: find a source, notifier or storage type by name in the one
 * table of plug-in types.
 *
 * Every type vigil knows is one row of agent/plugins.c: its kind, its name,
 * its ops and where its code lives, the light core or the heavy module
 * (libvigil-heavy.so: whatever needs libcurl, OpenSSL, libarchive or
 * libdeflate; the folder a file sits in decides, see CMakeLists.txt).  The
 * table is compiled twice: the core's copy has the ops of the core's types
 * only, the module's copy those of the module's types.  plugin_find()
 * looks in the core's copy and, only for a type of the module, loads the
 * module and takes the ops from its copy; so every name is known, and
 * listed in error messages, without loading anything.
 *
 * This header sits in lib/ so that every layer may look a type up
 * (providers/storage.c finds storage types here); its body and the table,
 * which name types of every layer, are in agent/ (plugin.c, plugins.c).
 * What an instance of a type is, and the module's backup entry points, are
 * in agent/plugin.h.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef VIGIL_PLUGIN_H
#define VIGIL_PLUGIN_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/ag.h"

/*
 * The kinds, and their ops: struct source_ops (agent/source_backend.h),
 * struct notifier_ops (agent/notify_backend.h), struct storage_ops
 * (providers/storage_backend.h).
 */
enum plugin_kind {
	PLUGIN_SOURCE,
	PLUGIN_NOTIFIER,
	PLUGIN_STORAGE,
};

/* Where a type's code lives. */
enum plugin_where {
	PLUGIN_CORE,   /* linked into every program */
	PLUGIN_MODULE, /* the heavy module, loaded by vigild on use */
};

/* One row of the table. */
struct plugin_type {
	enum plugin_kind kind;
	const char *name; /* "cpu", "webhook", "local", ... */
	/* The ops, if they live in this copy of the table; else NULL. */
	const void *ops;
	enum plugin_where where;
};

/**
 * plugin_find(kind, name, ret_ops, err):
 * Look up the type ${name} of ${kind}, loading the heavy module if the type
 * lives there.  Return 0 with its ops (a const struct source_ops,
 * notifier_ops or storage_ops) in ${ret_ops}, or -1 with a message in
 * ${err}: "unknown source type \"gpu\" (known: cpu, memory, ...)", or
 * "webhook notifiers need <why the module did not load>".  May block while
 * the module is mapped (milliseconds).  Thread-safe.
 */
int plugin_find(enum plugin_kind kind, const char *name, const void **ret_ops,
    struct ag_err *err);

/**
 * plugin_in_module(kind, name):
 * Does the type ${name} of ${kind} live in the heavy module?  False for a
 * core type and for an unknown name.  Loads nothing.
 */
bool plugin_in_module(enum plugin_kind kind, const char *name);

/**
 * plugin_type_list(kind, buf, len):
 * The names of every type of ${kind}, in table order, as "cpu, memory,
 * ..." in ${buf}, ending after the last whole name that fits in ${len}
 * bytes.  Return ${buf}.
 */
const char *plugin_type_list(enum plugin_kind kind, char *buf, size_t len);

#endif
