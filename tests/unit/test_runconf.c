/*
 * test_runconf.c: a whole configuration checked across modules: rules that
 * name missing notifiers or metrics no source produces, duplicate names,
 * the embedded default and the shipped example.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/runconf.h"
#include "paths.h"
#include "tests/unit/fakes/testutil.h"

static void
test_default(void **state)
{
	struct conf_errs e = { 0 };
	struct runconf *rc = NULL;

	(void)state;
	assert_int_equal(runconf_load(NULL, &rc, &e), 0);
	assert_int_equal(e.n, 0);
	assert_true(rc->nsources >= 5);
	assert_true(rules_count(rc->rules) >= 3);
	assert_non_null(runconf_notifier(rc, "log"));
	runconf_free(rc);
}

static void
test_example_is_valid(void **state)
{
	struct conf_errs e = { 0 };
	struct runconf *rc = NULL;
	char path[512];

	(void)state;
	snprintf(path, sizeof(path), "%s/conf/vigil.conf.example",
	    VIGIL_SOURCE_DIR);
	if (runconf_load(path, &rc, &e) != 0) {
		for (size_t i = 0; i < e.n; i++)
			fprintf(stderr, "%s\n", e.msgs[i]);
		fail_msg("the shipped example does not validate");
	}
	assert_non_null(runconf_notifier(rc, "oncall"));
	runconf_free(rc);
}

static void
test_cross_references(void **state)
{
	struct conf_errs e = { 0 };
	struct runconf *rc = NULL;
	const char *p = tu_write_conf("vigil.conf",
	    "sources = (\n"
	    "  { type = \"cpu\"; },\n"
	    "  { type = \"disk\"; },\n"
	    "  { type = \"cpu\"; interval = \"5s\"; },\n"
	    "  { type = \"gpu\"; }\n"
	    ");\n"
	    "rules = (\n"
	    "  { name = \"a\"; metric = \"cpu.used_pct\"; warn = 1.0;\n"
	    "    notify = [ \"pager\" ]; },\n"
	    "  { name = \"b\"; metric = \"gpu.temp\"; warn = 1.0; },\n"
	    "  { name = \"a\"; metric = \"disk.*.used_pct\"; warn = 1.0; },\n"
	    "  { name = \"c\"; metric = \"disk./var.used_pct\"; warn = 1.0; }\n"
	    ");\n"
	    "notifiers = (\n"
	    "  { name = \"x\"; type = \"webhook\"; url = \"http://h/\"; },\n"
	    "  { name = \"x\"; type = \"log\"; },\n"
	    "  { name = \"y\"; type = \"carrier-pigeon\"; }\n"
	    ");\n", 0600);

	(void)state;
	assert_int_equal(runconf_load(p, &rc, &e), -1);
	assert_null(rc);
	assert_true(tu_has_error(&e, "vigil.conf:4: sources[2]: a source named "
	    "\"cpu\" exists already"));
	assert_true(tu_has_error(&e, "vigil.conf:5: sources[3].type"));
	assert_true(tu_has_error(&e, "vigil.conf:9: rules[0].notify: no "
	    "notifier named \"pager\""));
	assert_true(tu_has_error(&e, "vigil.conf:10: rules[1].metric: no "
	    "source produces a metric matching \"gpu.temp\""));
	assert_true(tu_has_error(&e, "vigil.conf:11: rules[2].name: a rule "
	    "named \"a\" exists already"));
	assert_true(tu_has_error(&e, "vigil.conf:16: notifiers[1]: a notifier "
	    "named \"x\" exists already"));
	assert_true(tu_has_error(&e, "vigil.conf:17: notifiers[2].type"));
	/* disk./var.used_pct can come from the disk source: no error. */
	for (size_t i = 0; i < e.n; i++)
		assert_null(strstr(e.msgs[i], "rules[3]"));
	conf_errs_free(&e);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default),
		cmocka_unit_test(test_example_is_valid),
		cmocka_unit_test(test_cross_references),
	};

	return cmocka_run_group_tests(tests, tu_tmpdir_setup,
	    tu_tmpdir_teardown);
}
