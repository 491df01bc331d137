/*
 * test_runconf.c: a whole configuration checked across modules: rules that
 * name missing notifiers or metrics no source produces, duplicate names,
 * the embedded default and the shipped example.  And vigild's way, the
 * jobs and webhooks checked in a child (agent/child.h): the same messages,
 * in the same order and count, as in one process.
 *
 * SPDX-License-Identifier: BSD-2-Clause
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

#include "agent/child.h"
#include "agent/notify_backend.h"
#include "agent/runconf.h"
#include "backup/jobconf.h"
#include "lib/buf.h"
#include "lib/schedule.h"
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
	    ");\n",
	    0600);

	(void)state;
	assert_int_equal(runconf_load(p, &rc, &e), -1);
	assert_null(rc);
	assert_true(tu_has_error(&e,
	    "vigil.conf:4: sources[2]: a source named "
	    "\"cpu\" exists already"));
	assert_true(tu_has_error(&e, "vigil.conf:5: sources[3].type"));
	assert_true(tu_has_error(&e,
	    "vigil.conf:9: rules[0].notify: no "
	    "notifier named \"pager\""));
	assert_true(tu_has_error(&e,
	    "vigil.conf:10: rules[1].metric: no "
	    "source produces a metric matching \"gpu.temp\""));
	assert_true(tu_has_error(&e,
	    "vigil.conf:11: rules[2].name: a rule "
	    "named \"a\" exists already"));
	assert_true(tu_has_error(&e,
	    "vigil.conf:16: notifiers[1]: a notifier "
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
	    ");\n",
	    0600);

	(void)state;
	assert_int_equal(runconf_load(p, &rc, &e), -1);
	for (size_t i = 0; i < e.n; i++) {
		assert_null(strstr(e.msgs[i], "out of memory"));
		if (strstr(e.msgs[i], "exists already") != NULL)
			dup++;
	}
	assert_int_equal(dup, 1);
	assert_true(tu_has_error(&e,
	    "dup.conf:5: rules[2].name: a rule named "
	    "\"a\" exists already (line 3)"));
	assert_true(tu_has_error(&e,
	    "dup.conf:7: rules[3].notify: no "
	    "notifier named \"pager\""));
	assert_true(tu_has_error(&e,
	    "dup.conf:8: rules[4].wran: unknown "
	    "setting"));
	assert_true(tu_has_error(&e,
	    "dup.conf:8: rules[4]: a rule needs "
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
	    ");\n",
	    tu_tmpdir(), tu_tmpdir());
	p = tu_write_conf("nostore.conf", text, 0600);
	assert_int_equal(runconf_load(p, &rc, &e), -1);
	assert_true(tu_has_error(&e,
	    "nostore.conf:6: backups[0].storage: "
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
		    ");\n",
		    tu_tmpdir(), key, key,
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
			assert_int_equal(pthread_create(&th[i], NULL, load_key,
					     &kr[i]),
			    0);
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

/* runconf_load() of ${path} with isolation ${on}: its errors in ${e}. */
static int
load_as(const char *path, bool on, struct runconf **rc, struct conf_errs *e)
{
	int r;

	child_isolate_set(on);
	r = runconf_load(path, rc, e);
	child_isolate_set(false);
	return r;
}

/*
 * A configuration with errors everywhere, more than CONF_MAX_ERRS of them
 * in the jobs: checked in children, it gives what it gives in one process.
 */
static void
test_isolated_errors(void **state)
{
	struct conf_errs here = { 0 }, child = { 0 };
	struct runconf *rc = NULL;
	struct buf b;
	const char *p;
	char line[512];

	(void)state;
	buf_init(&b, (size_t)1 << 20);
	snprintf(line, sizeof(line),
	    "storage = { here = { type = \"local\"; "
	    "path = \"%s/store\"; }; };\nbackups = (\n",
	    tu_tmpdir());
	(void)buf_puts(&b, line);
	for (int i = 0; i < 1100; i++) {
		snprintf(line, sizeof(line),
		    "%s{ name = \"j%d\"; paths = "
		    "[ \"/etc\" ]; storage = \"here\"; key_file = "
		    "\"%s/k\"; create_key = true; colour = %d; }\n",
		    i > 0 ? "," : "", i, tu_tmpdir(), i);
		(void)buf_puts(&b, line);
	}
	(void)buf_puts(&b,
	    ");\n"
	    "sources = ( { type = \"nosuch\"; } );\n"
	    "notifiers = ( { name = \"a b\"; type = \"webhook\"; "
	    "url = \"ftp://x/\"; colour = 1; } );\n");
	assert_int_equal(b.err, 0);
	p = tu_write_conf("errors.conf", b.p, 0600);
	buf_free(&b);

	assert_int_equal(load_as(p, false, &rc, &here), -1);
	assert_int_equal(load_as(p, true, &rc, &child), -1);
	assert_true(here.total > CONF_MAX_ERRS);
	assert_non_null(strstr(here.msgs[here.n - 1], "... and "));
	assert_int_equal(child.total, here.total);
	assert_int_equal(child.n, here.n);
	for (size_t i = 0; i < here.n; i++)
		assert_string_equal(child.msgs[i], here.msgs[i]);
	conf_errs_free(&here);
	conf_errs_free(&child);

	/* A smaller one, where every message is kept. */
	p = tu_write_conf("few.conf",
	    "backups = ( { name = \"x\"; paths = [ \"rel\" ]; } );\n"
	    "notifiers = ( { name = \"h\"; type = \"webhook\"; "
	    "url = \"ftp://x/\"; } );\n",
	    0600);
	assert_int_equal(load_as(p, false, &rc, &here), -1);
	assert_int_equal(load_as(p, true, &rc, &child), -1);
	assert_true(here.n >= 3);
	assert_int_equal(child.total, here.total);
	assert_int_equal(child.n, here.n);
	for (size_t i = 0; i < here.n; i++)
		assert_string_equal(child.msgs[i], here.msgs[i]);
	conf_errs_free(&here);
	conf_errs_free(&child);
}

/*
 * A valid configuration checked in children: the jobs have what the daemon
 * needs, and the webhook is made at its first delivery.
 */
static void
test_isolated_valid(void **state)
{
	struct conf_errs e = { 0 };
	struct runconf *rc = NULL;
	struct notification n = { .state = ST_CRITICAL, .prev_state = ST_OK };
	struct notifier_call call;
	struct notifier *nf;
	struct ag_err err = { "" };
	const struct job_conf *jc;
	char text[1024];
	const char *p;

	(void)state;
	snprintf(text, sizeof(text),
	    "storage = { here = { type = \"local\"; path = \"%s/store\"; "
	    "}; };\n"
	    "backups = ( { name = \"nightly\"; paths = [ \"/etc\" ]; "
	    "storage = \"here\"; key_file = \"%s/iso.key\"; "
	    "create_key = true; schedule = \"daily 03:00\"; splay = \"30m\"; "
	    "pre_hook = \"true\"; hook_timeout = \"5s\"; timeout = \"2h\"; "
	    "} );\n"
	    "notifiers = ( { name = \"hook\"; type = \"webhook\"; "
	    "url = \"http://127.0.0.1:9/x\"; } );\n"
	    "rules = ( { name = \"r\"; metric = \"backup.nightly.failed\"; "
	    "crit = 1.0; notify = [ \"hook\" ]; } );\n",
	    tu_tmpdir(), tu_tmpdir());
	p = tu_write_conf("iso.conf", text, 0600);
	if (load_as(p, true, &rc, &e) != 0) {
		for (size_t i = 0; i < e.n; i++)
			fprintf(stderr, "%s\n", e.msgs[i]);
		fail_msg("a valid configuration refused in children");
	}
	assert_null(rc->heavy);
	assert_int_equal(rc->njobs, 1);
	jc = rc->jobs[0];
	assert_string_equal(jc->name, "nightly");
	assert_non_null(jc->schedule);
	assert_string_equal(schedule_text(jc->schedule), "daily 03:00");
	assert_int_equal(jc->splay_s, 1800);
	assert_string_equal(jc->pre_hook, "true");
	assert_null(jc->post_hook);
	assert_int_equal(jc->hook_timeout_ms, 5000);
	assert_int_equal(jc->timeout_ms, 7200000);
	assert_null(jc->storage);

	nf = runconf_notifier(rc, "hook");
	assert_non_null(nf);
	assert_string_equal(nf->ops->type, "webhook");
	assert_true(notifier_has_request(nf));
	snprintf(n.rule, sizeof(n.rule), "r");
	snprintf(n.host, sizeof(n.host), "h");
	snprintf(n.metric, sizeof(n.metric), "backup.nightly.failed");
	snprintf(n.id, sizeof(n.id), "1-2-3");
	if (notifier_prepare(nf, &n, &call, &err) != 0)
		fail_msg("first delivery: %s", err.msg);
	assert_string_equal(call.req.url, "http://127.0.0.1:9/x");
	notifier_release(nf, &call);
	runconf_free(rc);
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
		cmocka_unit_test(test_isolated_errors),
		cmocka_unit_test(test_isolated_valid),
	};

	return cmocka_run_group_tests(tests, tu_tmpdir_setup,
	    tu_tmpdir_teardown);
}
