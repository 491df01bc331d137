/*
 * plugin.h: what source and notifier types share, and the one constructor
 * of their instances.
 *
 * The table of types itself is agent/plugins.c (one line per type), its
 * lookup lib/plugin.h, the heavy module's entry points plugin_module.h.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef VIGIL_AGENT_PLUGIN_H
#define VIGIL_AGENT_PLUGIN_H

#include <stddef.h>

#include "conf/conf.h"
#include "lib/ag.h"
#include "lib/plugin.h"

/*
 * What plugin_instance_new() needs of a type: the first members of struct
 * source_ops and struct notifier_ops (PLUGIN_OPS_HEAD), so that each
 * kind's ops are also a struct plugin_ops (their member "base").
 */
#define PLUGIN_OPS_MEMBERS \
	/* "cpu", "webhook", ... */ \
	const char *type; \
	/* Settings this type accepts besides the common ones. */ \
	const char *const *settings; \
	/*								\
	 * Read the type's settings from ${cs}; record problems in	\
	 * ${errs}.  Return 0 with a context in ${ret_ctx}, or -1.	\
	 * The context copies what it keeps: an instance never points	\
	 * into the configuration, so it outlives a reload that frees	\
	 * it.								\
	 */ \
	int (*configure)(void **ret_ctx, const conf_node *cs, \
	    struct conf_errs *errs); \
	void (*free)(void *ctx);

struct plugin_ops {
	PLUGIN_OPS_MEMBERS
};

/*
 * The start of a kind's ops: the members above, by name (.type = "cpu")
 * and together as ${ops}->base.
 */
#define PLUGIN_OPS_HEAD \
	union { \
		struct plugin_ops base; \
		struct { \
			PLUGIN_OPS_MEMBERS \
		}; \
	}

/* What a kind of instance checks before its type is configured. */
struct plugin_class {
	enum plugin_kind kind; /* PLUGIN_SOURCE or PLUGIN_NOTIFIER */
	/* The error when the instance is not a group. */
	const char *not_group;
	/* Settings every instance of the kind accepts ("type" too). */
	const char *const *common;
	/*
	 * Read the common settings other than "type" into ${arg}, recording
	 * problems in ${errs}; called once ${cs} is known to be a group,
	 * whatever its type.
	 */
	void (*read_common)(const conf_node *cs, struct conf_errs *errs,
	    void *arg);
};

/**
 * plugin_instance_new(cls, cs, arg, ret_ops, ret_ctx, errs):
 * Make an instance of the kind ${cls} from the configuration group ${cs}:
 * check that it is a group, read the common settings into ${arg}
 * (${cls}->read_common), look up its "type" (plugin_find(), loading the
 * heavy module if the type lives there), refuse settings that are neither
 * common nor the type's, and configure it.  Every problem goes to ${errs}
 * with its place.  Return 0 with the type's ops in ${ret_ops} and the new
 * context in ${ret_ctx}, which the caller frees with the ops' free(); or
 * -1 if this call recorded any error, with nothing to free.
 */
int plugin_instance_new(const struct plugin_class *cls, const conf_node *cs,
    void *arg, const struct plugin_ops **ret_ops, void **ret_ctx,
    struct conf_errs *errs);

#endif
