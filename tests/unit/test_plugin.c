/*
 * test_plugin.c: the table of plug-in types (agent/plugins.c) and its
 * lookup (lib/plugin.h): every line resolves to ops of its own kind and
 * name, each copy of the table carries exactly the ops of its own place,
 * the "known:" lists come from the table, the heavy module's entry points
 * are all there, and the one constructor of source and notifier instances.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "paths.h"
#include "lib/plugin.h"
#include "agent/notify.h"
#include "agent/notify_backend.h"
#include "agent/plugin.h"
#include "agent/plugin_module.h"
#include "agent/source.h"
#include "agent/source_backend.h"
#include "conf/conf.h"
#include "providers/storage_backend.h"
#include "tests/unit/fakes/testutil.h"

/* The name a type's ops carry. */
static const char *
ops_name(enum plugin_kind kind, const void *ops)
{
	switch (kind) {
	case PLUGIN_SOURCE:
		return ((const struct source_ops *)ops)->type;
	case PLUGIN_NOTIFIER:
		return ((const struct notifier_ops *)ops)->type;
	case PLUGIN_STORAGE:
		return ((const struct storage_ops *)ops)->name;
	}
	return NULL;
}

/* The row of ${name} of ${kind} in the module's copy, or NULL. */
static const struct plugin_type *
module_row(enum plugin_kind kind, const char *name)
{
	const struct plugin_module *m = plugin_module_get(NULL);

	for (size_t i = 0; i < m->ntypes; i++)
		if (m->types[i].kind == kind &&
		    strcmp(m->types[i].name, name) == 0)
			return &m->types[i];
	return NULL;
}

static void
test_every_row_resolves(void **state)
{
	const struct plugin_module *m = plugin_module_get(NULL);
	const struct plugin_type *t, *mt;
	struct ag_err err = { "" };
	const void *ops;

	(void)state;
	assert_non_null(m);
	assert_int_equal(m->ntypes, plugin_core_ntypes);
	for (size_t i = 0; i < plugin_core_ntypes; i++) {
		t = &plugin_core_types[i];
		mt = module_row(t->kind, t->name);
		assert_non_null(mt);
		assert_int_equal(mt->where, t->where);
		/* Each copy has the ops of its own place only. */
		if (t->where == PLUGIN_CORE) {
			assert_non_null(t->ops);
			assert_null(mt->ops);
		} else {
			assert_null(t->ops);
			assert_non_null(mt->ops);
		}
		ops = NULL;
		assert_int_equal(plugin_find(t->kind, t->name, &ops, &err), 0);
		assert_non_null(ops);
		assert_ptr_equal(ops, t->ops != NULL ? t->ops : mt->ops);
		assert_string_equal(ops_name(t->kind, ops), t->name);
		/* No name twice within a kind. */
		for (size_t j = 0; j < i; j++)
			assert_false(plugin_core_types[j].kind == t->kind &&
			    strcmp(plugin_core_types[j].name, t->name) == 0);
	}
}

static void
test_heavy_types(void **state)
{
	const void *ops = NULL;
	struct ag_err err = { "" };

	(void)state;
	/* The types that need libcurl or the backup code are the module's. */
	assert_int_equal(plugin_find(PLUGIN_NOTIFIER, "webhook", &ops, &err),
	    0);
	assert_ptr_equal(ops, &ntf_webhook_ops);
	assert_null(module_row(PLUGIN_NOTIFIER, "log")->ops);
	assert_int_equal(module_row(PLUGIN_NOTIFIER, "webhook")->where,
	    PLUGIN_MODULE);
	assert_int_equal(plugin_find(PLUGIN_STORAGE, "local", &ops, &err), 0);
	assert_ptr_equal(ops, &storage_local_ops);
	assert_int_equal(module_row(PLUGIN_STORAGE, "local")->where,
	    PLUGIN_MODULE);
	assert_int_equal(plugin_find(PLUGIN_SOURCE, "cpu", &ops, &err), 0);
	assert_ptr_equal(ops, &src_cpu_ops);
	assert_int_equal(module_row(PLUGIN_SOURCE, "cpu")->where, PLUGIN_CORE);
}

static void
test_unknown(void **state)
{
	const void *ops = &ops;
	struct ag_err err = { "" };

	(void)state;
	assert_int_equal(plugin_find(PLUGIN_SOURCE, "gpu", &ops, &err), -1);
	assert_string_equal(err.msg,
	    "unknown source type \"gpu\" (known: "
	    "cpu, memory, load, disk, diskio, network, process, cloudwatch, "
	    "azure_monitor, gcp_monitoring)");
	assert_ptr_equal(ops, &ops); /* untouched */
	/* Kinds do not mix. */
	assert_int_equal(plugin_find(PLUGIN_SOURCE, "webhook", &ops, &err),
	    -1);
	assert_int_equal(plugin_find(PLUGIN_NOTIFIER, "cpu", &ops, &err), -1);
	assert_string_equal(err.msg,
	    "unknown notifier type \"cpu\" (known: "
	    "log, webhook, sns, email, sms, pubsub, notification_hubs)");
	assert_int_equal(plugin_find(PLUGIN_STORAGE, "ftp", &ops, &err), -1);
	assert_string_equal(err.msg,
	    "unknown storage type \"ftp\" (known: "
	    "local, s3, gcs, azure)");
}

static void
test_type_list(void **state)
{
	char buf[256], tiny[12];

	(void)state;
	assert_string_equal(plugin_type_list(PLUGIN_NOTIFIER, buf,
				sizeof(buf)),
	    "log, webhook, sns, email, sms, pubsub, notification_hubs");
	assert_string_equal(plugin_type_list(PLUGIN_STORAGE, buf, sizeof(buf)),
	    "local, s3, gcs, azure");
	/* Cut at a whole name when the buffer is short. */
	assert_string_equal(plugin_type_list(PLUGIN_SOURCE, tiny,
				sizeof(tiny)),
	    "cpu, memory");
	assert_string_equal(plugin_type_list(PLUGIN_SOURCE, tiny, 11), "cpu");
}

static void
test_module_entry_points(void **state)
{
	const struct plugin_module *m = plugin_module_get(NULL);
	/* Every member after the table is an entry point. */
	const void *const *fn = (const void *const *)&m->jobconf_parse_all;
	size_t nfn = (sizeof(*m) -
			 offsetof(struct plugin_module, jobconf_parse_all)) /
	    sizeof(void *);

	(void)state;
	assert_string_equal(m->version, VIGIL_VERSION);
	assert_int_equal(m->size, sizeof(*m));
	for (size_t i = 0; i < nfn; i++)
		assert_non_null(fn[i]);
	assert_ptr_equal(m->job_run, job_run);
	assert_ptr_equal(m->restore_run, restore_run);
	assert_ptr_equal(m->http_multi_add, http_multi_add);
}

/* A kind of instance for the test: a "label" besides "type". */
static void
read_label(const conf_node *cs, struct conf_errs *errs, void *arg)
{
	(void)conf_get_str(errs, cs, "label", true, arg);
}

static const char *const test_common[] = { "type", "label", NULL };

static const struct plugin_class test_class = {
	.kind = PLUGIN_NOTIFIER,
	.not_group = "a test instance must be a group",
	.common = test_common,
	.read_common = read_label,
};

static void
test_instance_new(void **state)
{
	struct conf_errs e = { 0 };
	const struct plugin_ops *ops;
	const char *label;
	struct conf *c;
	void *ctx;

	(void)state;
	c = tu_conf_load(
	    "notifiers = (\n"
	    "  { label = \"a\"; type = \"log\"; level = \"error\"; },\n"
	    "  { label = \"b\"; type = \"pager\"; },\n"
	    "  { type = \"log\"; },\n"
	    "  { label = \"d\"; type = \"log\"; name = \"x\"; },\n"
	    "  { label = \"e\"; type = \"log\"; level = \"loud\"; },\n"
	    "  { label = \"f\"; },\n"
	    "  7\n"
	    ");\n",
	    &e);
	assert_int_equal(e.n, 0);

	label = NULL;
	assert_int_equal(plugin_instance_new(&test_class,
			     conf_elem(c->notifiers, 0), &label, &ops, &ctx,
			     &e),
	    0);
	assert_int_equal(e.total, 0);
	assert_string_equal(label, "a");
	assert_ptr_equal(ops, &ntf_log_ops.base);
	assert_non_null(ctx);
	ops->free(ctx);

	/* The type comes from the table, its place from the config. */
	assert_int_equal(plugin_instance_new(&test_class,
			     conf_elem(c->notifiers, 1), &label, &ops, &ctx,
			     &e),
	    -1);
	assert_true(tu_has_error(&e,
	    ":3: notifiers[1].type: unknown "
	    "notifier type \"pager\" (known: log, webhook, sns, email, sms, "
	    "pubsub, notification_hubs)"));
	/* The common settings are read whatever the type. */
	assert_int_equal(plugin_instance_new(&test_class,
			     conf_elem(c->notifiers, 2), &label, &ops, &ctx,
			     &e),
	    -1);
	assert_true(tu_has_error(&e, ":4: notifiers[2].label: missing"));
	/* Neither common nor the type's. */
	assert_int_equal(plugin_instance_new(&test_class,
			     conf_elem(c->notifiers, 3), &label, &ops, &ctx,
			     &e),
	    -1);
	assert_true(tu_has_error(&e,
	    ":5: notifiers[3].name: unknown "
	    "setting"));
	/* The type's configure() refuses. */
	assert_int_equal(plugin_instance_new(&test_class,
			     conf_elem(c->notifiers, 4), &label, &ops, &ctx,
			     &e),
	    -1);
	assert_true(tu_has_error(&e, ":6: notifiers[4].level"));
	assert_int_equal(plugin_instance_new(&test_class,
			     conf_elem(c->notifiers, 5), &label, &ops, &ctx,
			     &e),
	    -1);
	assert_true(tu_has_error(&e, ":7: notifiers[5].type: missing"));
	assert_int_equal(plugin_instance_new(&test_class,
			     conf_elem(c->notifiers, 6), &label, &ops, &ctx,
			     &e),
	    -1);
	assert_true(tu_has_error(&e, "a test instance must be a group"));
	conf_errs_free(&e);
	conf_free(c);
}

/*
 * Past CONF_MAX_ERRS errors, ${errs}->n stops growing but every error
 * still counts: a source or notifier with a bad setting is refused there
 * too, not taken for good.
 */
static void
test_instance_past_error_cap(void **state)
{
	struct conf_errs e = { 0 };
	struct conf *c;

	(void)state;
	c = tu_conf_load(
	    "sources = ( { type = \"cpu\"; colour = 1; } );\n"
	    "notifiers = ( { name = \"n\"; type = \"log\"; colour = 1; } "
	    ");\n",
	    &e);
	assert_int_equal(e.n, 0);
	for (int i = 0; i <= CONF_MAX_ERRS; i++)
		(void)conf_error(&e, NULL, "earlier error %d", i);
	assert_null(source_new(conf_elem(c->sources, 0), &e));
	assert_null(notifier_new(conf_elem(c->notifiers, 0), &e));
	assert_int_equal(e.total, CONF_MAX_ERRS + 1 + 2);
	conf_errs_free(&e);
	conf_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_row_resolves),
		cmocka_unit_test(test_heavy_types),
		cmocka_unit_test(test_unknown),
		cmocka_unit_test(test_type_list),
		cmocka_unit_test(test_module_entry_points),
		cmocka_unit_test(test_instance_new),
		cmocka_unit_test(test_instance_past_error_cap),
	};

	return cmocka_run_group_tests(tests, tu_tmpdir_setup,
	    tu_tmpdir_teardown);
}
