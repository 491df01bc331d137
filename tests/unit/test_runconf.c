/*
 * test_runconf.c: a whole configuration checked across modules: rules that
 * name missing notifiers or metrics no source produces, duplicate names,
 * the embedded default and the shipped example.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/stat.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/runconf.h"
#include "backup/jobconf.h"
#include "lib/crypto/crypto_keys.h"
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

/*
 * A duplicate rule name is one error naming both lines, and the rules
 * after it are still checked.
 */
static void
test_duplicate_rule(void **state)
{
	struct conf_errs e = { 0 };
	struct runconf *rc = NULL;
	size_t dup = 0;
	const char *p = tu_write_conf("dup.conf",
	    "sources = ( { type = \"cpu\"; } );\n"
	    "rules = (\n"
	    "  { name = \"a\"; metric = \"cpu.used_pct\"; warn = 1.0; },\n"
	    "  { name = \"b\"; metric = \"cpu.used_pct\"; warn = 1.0; },\n"
	    "  { name = \"a\"; metric = \"cpu.used_pct\"; warn = 2.0; },\n"
	    "  { name = \"c\"; metric = \"cpu.used_pct\"; warn = 1.0;\n"
	    "    notify = [ \"pager\" ]; },\n"
	    "  { name = \"d\"; metric = \"cpu.used_pct\"; wran = 1.0; }\n"
	    ");\n", 0600);

	(void)state;
	assert_int_equal(runconf_load(p, &rc, &e), -1);
	for (size_t i = 0; i < e.n; i++) {
		assert_null(strstr(e.msgs[i], "out of memory"));
		if (strstr(e.msgs[i], "exists already") != NULL)
			dup++;
	}
	assert_int_equal(dup, 1);
	assert_true(tu_has_error(&e, "dup.conf:5: rules[2].name: a rule named "
	    "\"a\" exists already (line 3)"));
	assert_true(tu_has_error(&e, "dup.conf:7: rules[3].notify: no "
	    "notifier named \"pager\""));
	assert_true(tu_has_error(&e, "dup.conf:8: rules[4].wran: unknown "
	    "setting"));
	assert_true(tu_has_error(&e, "dup.conf:8: rules[4]: a rule needs "
	    "warn, crit or both"));
	assert_int_equal(e.n, 4);
	conf_errs_free(&e);
}

/* A job naming a storage target nobody defined: the job's line. */
static void
test_undefined_storage(void **state)
{
	struct conf_errs e = { 0 };
	struct runconf *rc = NULL;
	char text[1024];
	const char *p;

	(void)state;
	snprintf(text, sizeof(text),
	    "storage = {\n"
	    "  here = { type = \"local\"; path = \"%s/store\"; };\n"
	    "};\n"
	    "backups = (\n"
	    "  { name = \"j\"; paths = [ \"/etc\" ];\n"
	    "    storage = \"there\";\n"
	    "    key_file = \"%s/k\"; create_key = true; }\n"
	    ");\n", tu_tmpdir(), tu_tmpdir());
	p = tu_write_conf("nostore.conf", text, 0600);
	assert_int_equal(runconf_load(p, &rc, &e), -1);
	assert_true(tu_has_error(&e, "nostore.conf:6: backups[0].storage: "
	    "\"there\" is not defined in the storage section (line 1)"));
	assert_int_equal(e.n, 1);
	conf_errs_free(&e);
}

struct key_run {
	const struct job_conf *jc;
	pthread_barrier_t *go;
	struct crypto_key *key;
	char err[256];
};

static void *
load_key(void *arg)
{
	struct key_run *kr = arg;
	struct ag_err err = { "" };

	(void)pthread_barrier_wait(kr->go);
	kr->key = jobconf_load_key(kr->jc, false, &err);
	snprintf(kr->err, sizeof(kr->err), "%s", err.msg);
	return NULL;
}

/*
 * Two jobs share a key file that does not exist yet and one or both say
 * create_key: the config is valid, and when both start at once the key is
 * generated once and both use it.
 */
static void
test_shared_key_file(void **state)
{
	struct conf_errs e = { 0 };
	struct runconf *rc = NULL;
	char text[2048], key[512];
	const char *p;

	(void)state;
	for (int round = 0; round < 20; round++) {
		struct key_run kr[2];
		pthread_barrier_t go;
		pthread_t th[2];
		struct stat st;

		snprintf(key, sizeof(key), "%s/shared-%d.key", tu_tmpdir(),
		    round);
		snprintf(text, sizeof(text),
		    "storage = {\n"
		    "  here = { type = \"local\"; path = \"%s/store\"; };\n"
		    "};\n"
		    "backups = (\n"
		    "  { name = \"one\"; paths = [ \"/etc\" ]; storage = "
		    "\"here\";\n"
		    "    key_file = \"%s\"; create_key = true; },\n"
		    "  { name = \"two\"; paths = [ \"/etc\" ]; storage = "
		    "\"here\";\n"
		    "    key_file = \"%s\";%s }\n"
		    ");\n", tu_tmpdir(), key, key,
		    round % 2 == 0 ? "" : " create_key = true;");
		p = tu_write_conf("shared.conf", text, 0600);
		if (runconf_load(p, &rc, &e) != 0) {
			for (size_t i = 0; i < e.n; i++)
				fprintf(stderr, "%s\n", e.msgs[i]);
			fail_msg("two jobs sharing a key to be made: refused");
		}
		assert_int_equal(rc->njobs, 2);
		assert_int_equal(pthread_barrier_init(&go, NULL, 2), 0);
		for (int i = 0; i < 2; i++) {
			kr[i] = (struct key_run){ .jc = rc->jobs[i],
			    .go = &go };
			assert_int_equal(pthread_create(&th[i], NULL,
			    load_key, &kr[i]), 0);
		}
		for (int i = 0; i < 2; i++) {
			assert_int_equal(pthread_join(th[i], NULL), 0);
			if (kr[i].key == NULL)
				fail_msg("round %d, job %s: %s", round,
				    rc->jobs[i]->name, kr[i].err);
			crypto_keys_free(kr[i].key);
		}
		pthread_barrier_destroy(&go);
		assert_int_equal(stat(key, &st), 0);
		assert_int_equal(st.st_mode & 0777, 0600);
		runconf_free(rc);
		rc = NULL;
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default),
		cmocka_unit_test(test_example_is_valid),
		cmocka_unit_test(test_cross_references),
		cmocka_unit_test(test_duplicate_rule),
		cmocka_unit_test(test_undefined_storage),
		cmocka_unit_test(test_shared_key_file),
	};

	return cmocka_run_group_tests(tests, tu_tmpdir_setup,
	    tu_tmpdir_teardown);
}
