/*
 * plugin.c: the lookup in the table of plug-in types (lib/plugin.h) and the
 * one constructor of source and notifier instances (agent/plugin.h).
 *
 * The core's copy of the table knows every type by name; for a type that
 * lives in the heavy module it has no ops, and plugin_find() takes them
 * from the module's copy, loading the module on the first such lookup
 * (plugin_module_get()).
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <stdio.h>
#include <string.h>

#include "lib/ag.h"
#include "lib/plugin.h"
#include "agent/plugin_module.h"

#include "agent/plugin.h"

/* What a kind is called in messages, one instance and several. */
static const char *const kind_names[][2] = {
	[PLUGIN_SOURCE] = { "source", "sources" },
	[PLUGIN_NOTIFIER] = { "notifier", "notifiers" },
	[PLUGIN_STORAGE] = { "storage", "storage targets" },
};

/* The row of ${name} of ${kind} in ${v} (${n} rows), or NULL. */
static const struct plugin_type *
row_find(const struct plugin_type *v, size_t n, enum plugin_kind kind,
    const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].kind == kind && strcmp(v[i].name, name) == 0)
			return &v[i];
	return NULL;
}

const char *
plugin_type_list(enum plugin_kind kind, char *buf, size_t len)
{
	size_t off = 0;
	int n;

	if (len == 0)
		return buf;
	buf[0] = '\0';
	for (size_t i = 0; i < plugin_core_ntypes; i++) {
		if (plugin_core_types[i].kind != kind)
			continue;
		n = snprintf(buf + off, len - off, "%s%s", off > 0 ? ", " : "",
		    plugin_core_types[i].name);
		if (n < 0 || (size_t)n >= len - off) {
			buf[off] = '\0'; /* no half name */
			break;
		}
		off += (size_t)n;
	}
	return buf;
}

bool
plugin_in_module(enum plugin_kind kind, const char *name)
{
	const struct plugin_type *t;

	t = row_find(plugin_core_types, plugin_core_ntypes, kind, name);
	return t != NULL && t->where == PLUGIN_MODULE;
}

int
plugin_find(enum plugin_kind kind, const char *name, const void **ret_ops,
    struct ag_err *err)
{
	const struct plugin_module *m;
	const struct plugin_type *t;
	struct ag_err merr = { "" };
	char types[256];

	if ((t = row_find(plugin_core_types, plugin_core_ntypes, kind,
		 name)) == NULL)
		return ag_err_set(err, "unknown %s type \"%s\" (known: %s)",
		    kind_names[kind][0], name,
		    plugin_type_list(kind, types, sizeof(types)));
	if (t->where == PLUGIN_MODULE) {
		if ((m = plugin_module_get(&merr)) == NULL)
			return ag_err_set(err, "%s %s need %s", name,
			    kind_names[kind][1], merr.msg);
		t = row_find(m->types, m->ntypes, kind, name);
	}
	if (t == NULL || t->ops == NULL)
		return ag_err_set(err, "%s %s: not in %s", kind_names[kind][0],
		    name, PLUGIN_MODULE_NAME);
	*ret_ops = t->ops;
	return 0;
}

int
plugin_instance_new(const struct plugin_class *cls, const conf_node *cs,
    void *arg, const struct plugin_ops **ret_ops, void **ret_ctx,
    struct conf_errs *errs)
{
	const void *found;
	const struct plugin_ops *ops;
	const char *type = NULL;
	struct ag_err err = { "" };
	/* Counted, unlike ${errs}->n, past CONF_MAX_ERRS. */
	size_t nerr = errs->total;
	void *ctx = NULL;

	if (!conf_is_group(cs))
		return conf_error(errs, cs, "%s", cls->not_group);
	if (cls->read_common != NULL)
		cls->read_common(cs, errs, arg);
	if (conf_get_str(errs, cs, "type", true, &type) != 1)
		return -1;
	if (plugin_find(cls->kind, type, &found, &err) != 0)
		return conf_error_at(errs, cs, "type", "%s", err.msg);
	/* struct plugin_ops is the first member of every kind's ops. */
	ops = found;

	(void)conf_check_keys2(errs, cs, cls->common, ops->settings);
	if (ops->configure(&ctx, cs, errs) == -1 || errs->total > nerr) {
		if (ctx != NULL)
			ops->free(ctx);
		return -1;
	}
	*ret_ops = ops;
	*ret_ctx = ctx;
	return 0;
}
