/*
 * plugin_static.c: plugin_module_get() for programs that link the heavy
 * code in (vigil, the unit tests): the module is simply there.  See
 * plugin_module.h.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "agent/plugin_module.h"

const struct plugin_module *
plugin_module_get(struct ag_err *err)
{
	(void)err;
	return &vigil_plugin_module;
}
