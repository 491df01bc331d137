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
#include <sys/stat.h>
#include <unistd.h>

#include "agent/runconf.h"
#include "paths.h"

static char tmpdir[64];

static char *
write_conf(const char *text)
{
	static char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/vigil.conf", tmpdir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	assert_int_equal(chmod(path, 0600), 0);
	return path;
}

static int
has_error(const struct conf_errs *e, const char *needle)
{
	for (size_t i = 0; i < e->n; i++)
		if (strstr(e->msgs[i], needle) != NULL)
			return 1;
	for (size_t i = 0; i < e->n; i++)
		fprintf(stderr, "  have: %s\n", e->msgs[i]);
	fprintf(stderr, "  want: %s\n", needle);
	return 0;
}

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
	char *p = write_conf(
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
	    ");\n");

	(void)state;
	assert_int_equal(runconf_load(p, &rc, &e), -1);
	assert_null(rc);
	assert_true(has_error(&e, "vigil.conf:4: sources[2]: a source named "
	    "\"cpu\" exists already"));
	assert_true(has_error(&e, "vigil.conf:5: sources[3].type"));
	assert_true(has_error(&e, "vigil.conf:9: rules[0].notify: no notifier "
	    "named \"pager\""));
	assert_true(has_error(&e, "vigil.conf:10: rules[1].metric: no source "
	    "produces a metric matching \"gpu.temp\""));
	assert_true(has_error(&e, "vigil.conf:11: rules[2].name: a rule named "
	    "\"a\" exists already"));
	assert_true(has_error(&e, "vigil.conf:16: notifiers[1]: a notifier "
	    "named \"x\" exists already"));
	assert_true(has_error(&e, "vigil.conf:17: notifiers[2].type"));
	/* disk./var.used_pct can come from the disk source: no error. */
	for (size_t i = 0; i < e.n; i++)
		assert_null(strstr(e.msgs[i], "rules[3]"));
	conf_errs_free(&e);
}

static int
setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/vigil-test-rc-XXXXXX");
	return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default),
		cmocka_unit_test(test_example_is_valid),
		cmocka_unit_test(test_cross_references),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
