/*
 * test_conf.c: the config reader: every error as FILE:LINE: setting: what,
 * typed accessors, secrets and their file permissions.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf.h"
#include "tests/unit/fakes/testutil.h"

static void
dump(const struct conf_errs *e)
{
	for (size_t i = 0; i < e->n; i++)
		fprintf(stderr, "  %s\n", e->msgs[i]);
}

static void
test_default_loads(void **state)
{
	struct conf_errs e = { 0 };
	struct conf *c = NULL;

	(void)state;
	assert_int_equal(conf_load(NULL, &c, &e), 0);
	dump(&e);
	assert_int_equal(e.n, 0);
	assert_string_equal(c->path, "<default>");
	assert_true(conf_len(c->sources) >= 5);
	assert_true(conf_len(c->rules) >= 3);
	assert_non_null(c->agent.state_dir);
	assert_non_null(c->agent.hostname);
	conf_free(c);
	conf_errs_free(&e);
}

static void
test_syntax_error_has_line(void **state)
{
	struct conf_errs e = { 0 };
	struct conf *c = NULL;
	const char *p = tu_write_conf("syntax.conf", "agent = {\n"
	    "  log_level = \"info\";\n  state_dir = ;\n};\n", 0600);
	char want[300];

	(void)state;
	assert_int_equal(conf_load(p, &c, &e), -1);
	assert_null(c);
	assert_int_equal(e.n, 1);
	snprintf(want, sizeof(want), "%s:3: syntax error", p);
	assert_non_null(strstr(e.msgs[0], want));
	conf_errs_free(&e);
}

static void
test_missing_file(void **state)
{
	struct conf_errs e = { 0 };
	struct conf *c = NULL;

	(void)state;
	assert_int_equal(conf_load("/nonexistent/vigil.conf", &c, &e), -1);
	assert_int_equal(e.n, 1);
	assert_non_null(strstr(e.msgs[0], "/nonexistent/vigil.conf:0: "
	    "cannot read: No such file"));
	conf_errs_free(&e);
}

static void
test_agent_errors_all_reported(void **state)
{
	struct conf_errs e = { 0 };
	struct conf *c = NULL;
	const char *p = tu_write_conf("agent.conf",
	    "agent = {\n"
	    "  state_dir = \"relative/dir\";\n"
	    "  log_level = \"loud\";\n"
	    "  colour = \"blue\";\n"
	    "  spool_max = \"many\";\n"
	    "};\n"
	    "extra = 1;\n"
	    "sources = { };\n", 0600);
	char want[300];

	(void)state;
	assert_int_equal(conf_load(p, &c, &e), 0);
	dump(&e);
	assert_int_equal(e.n, 6);
	snprintf(want, sizeof(want), "%s:2: agent.state_dir: must be an "
	    "absolute path", p);
	assert_true(tu_has_error(&e, want));
	snprintf(want, sizeof(want), "%s:3: agent.log_level: \"loud\" is not "
	    "one of \"error\", \"warning\", \"info\", \"debug\"", p);
	assert_true(tu_has_error(&e, want));
	snprintf(want, sizeof(want), "%s:4: agent.colour: unknown setting", p);
	assert_true(tu_has_error(&e, want));
	snprintf(want, sizeof(want), "%s:5: agent.spool_max: must be an "
	    "integer, not a string", p);
	assert_true(tu_has_error(&e, want));
	snprintf(want, sizeof(want), "%s:7: extra: unknown setting", p);
	assert_true(tu_has_error(&e, want));
	snprintf(want, sizeof(want), "%s:8: sources: must be a list", p);
	assert_true(tu_has_error(&e, want));
	conf_free(c);
	conf_errs_free(&e);
}

static void
test_accessors(void **state)
{
	struct conf_errs e = { 0 };
	struct conf *c = NULL;
	const conf_node *g;
	const char *s = NULL;
	int64_t ms = -1, i = -1;
	double d = -1;
	uint64_t sz = 0;
	char **v = NULL;
	size_t n = 0;
	bool b = false;
	int idx = -1;
	static const char *const colours[] = { "red", "green", NULL };
	const char *p = tu_write_conf("acc.conf",
	    "sources = ( {\n"
	    "  type = \"x\";\n"
	    "  every = \"1h30m\";\n"
	    "  short = \"100ms\";\n"
	    "  bad = \"5 minutes\";\n"
	    "  num = 7;\n"
	    "  flt = 2.5;\n"
	    "  big = 1000;\n"
	    "  size = \"4MiB\";\n"
	    "  list = [ \"a\", \"b\" ];\n"
	    "  one = \"solo\";\n"
	    "  mixed = ( \"a\", 3 );\n"
	    "  flag = true;\n"
	    "  colour = \"green\";\n"
	    "} );\n", 0600);

	(void)state;
	assert_int_equal(conf_load(p, &c, &e), 0);
	g = conf_elem(c->sources, 0);
	assert_non_null(g);
	assert_int_equal(conf_get_str(&e, g, "type", true, &s), 1);
	assert_string_equal(s, "x");
	assert_int_equal(conf_get_dur(&e, g, "every", true, 1000, &ms), 1);
	assert_int_equal(ms, 5400000);
	assert_int_equal(conf_get_dur(&e, g, "short", true, 1000, &ms), -1);
	assert_true(tu_has_error(&e, "sources[0].short: \"100ms\" is too short "
	    "(at least 1s)"));
	assert_int_equal(conf_get_dur(&e, g, "bad", true, 0, &ms), -1);
	assert_true(tu_has_error(&e, ":5: sources[0].bad: \"5 minutes\" is not "
	    "a duration"));
	assert_int_equal(conf_get_dur(&e, g, "num", true, 0, &ms), -1);
	assert_int_equal(ms, 5400000);		/* untouched on failure */
	assert_int_equal(conf_get_int(&e, g, "num", true, 0, 10, &i), 1);
	assert_int_equal(i, 7);
	assert_int_equal(conf_get_int(&e, g, "big", true, 0, 10, &i), -1);
	assert_true(tu_has_error(&e, "sources[0].big: 1000 is out of range "
	    "[0, 10]"));
	assert_int_equal(conf_get_int(&e, g, "flt", true, 0, 10, &i), -1);
	assert_int_equal(conf_get_num(&e, g, "flt", true, 0, 100, &d), 1);
	assert_true(d == 2.5);
	assert_int_equal(conf_get_num(&e, g, "num", true, 0, 100, &d), 1);
	assert_true(d == 7.0);
	assert_int_equal(conf_get_size(&e, g, "size", true, &sz), 1);
	assert_int_equal(sz, 4 << 20);
	assert_int_equal(conf_get_strv(&e, g, "list", true, &v, &n), 1);
	assert_int_equal(n, 2);
	assert_string_equal(v[1], "b");
	assert_null(v[2]);
	conf_strv_free(v);
	assert_int_equal(conf_get_strv(&e, g, "one", true, &v, &n), 1);
	assert_int_equal(n, 1);
	assert_string_equal(v[0], "solo");
	conf_strv_free(v);
	assert_int_equal(conf_get_strv(&e, g, "mixed", true, &v, &n), -1);
	assert_true(tu_has_error(&e, "sources[0].mixed.[1]: must be a "
	    "string") || tu_has_error(&e, "sources[0].mixed[1]: must be a "
	    "string"));
	assert_int_equal(conf_get_bool(&e, g, "flag", true, &b), 1);
	assert_true(b);
	assert_int_equal(conf_get_enum(&e, g, "colour", true, colours, &idx),
	    1);
	assert_int_equal(idx, 1);
	assert_int_equal(conf_get_str(&e, g, "absent", false, &s), 0);
	assert_int_equal(conf_get_str(&e, g, "needed", true, &s), 0);
	assert_true(tu_has_error(&e, ":1: sources[0].needed: missing "
	    "(required)"));
	conf_free(c);
	conf_errs_free(&e);
}

static void
test_check_keys(void **state)
{
	static const char *const allowed[] = { "type", "interval", NULL };
	struct conf_errs e = { 0 };
	struct conf *c = NULL;
	const char *p = tu_write_conf("keys.conf", "sources = ( { type = "
	    "\"cpu\";\n  intervall = \"10s\"; } );\n", 0600);

	(void)state;
	assert_int_equal(conf_load(p, &c, &e), 0);
	assert_int_equal(conf_check_keys(&e, conf_elem(c->sources, 0),
	    allowed), 1);
	assert_true(tu_has_error(&e, ":2: sources[0].intervall: unknown "
	    "setting"));
	conf_free(c);
	conf_errs_free(&e);
}

static void
test_secrets(void **state)
{
	struct conf_errs e = { 0 };
	struct conf *c = NULL;
	char text[1024], *sec = NULL, secret_path[256];
	const char *p;
	const conf_node *g;

	(void)state;
	snprintf(secret_path, sizeof(secret_path), "%s/hook.secret",
	    tu_tmpdir());
	tu_write_conf("hook.secret", "s3cr3t\n", 0600);
	tu_write_conf("loose.secret", "s3cr3t\n", 0644);
	snprintf(text, sizeof(text),
	    "notifiers = (\n"
	    "  { name = \"a\"; secret = \"inline\"; },\n"
	    "  { name = \"b\"; secret_file = \"%s\"; },\n"
	    "  { name = \"c\"; secret_file = \"%s/loose.secret\"; },\n"
	    "  { name = \"d\"; secret_env = \"VIGIL_TEST_SECRET\"; },\n"
	    "  { name = \"e\"; secret = \"x\"; secret_file = \"/y\"; },\n"
	    "  { name = \"f\"; secret_env = \"VIGIL_TEST_UNSET\"; }\n"
	    ");\n", secret_path, tu_tmpdir());

	/* World-readable file: the inline secret is refused. */
	p = tu_write_conf("open.conf", text, 0644);
	assert_int_equal(conf_load(p, &c, &e), 0);
	g = conf_elem(c->notifiers, 0);
	assert_int_equal(conf_get_secret(&e, g, "secret", true, &sec), -1);
	assert_true(tu_has_error(&e, ":2: notifiers[0].secret: inline secret "
	    "in a file that group or others can read"));
	conf_free(c);
	conf_errs_free(&e);

	/* A private file may hold it. */
	p = tu_write_conf("private.conf", text, 0600);
	setenv("VIGIL_TEST_SECRET", "from-env", 1);
	unsetenv("VIGIL_TEST_UNSET");
	assert_int_equal(conf_load(p, &c, &e), 0);
	assert_int_equal(conf_get_secret(&e, conf_elem(c->notifiers, 0),
	    "secret", true, &sec), 1);
	assert_string_equal(sec, "inline");
	conf_secret_free(sec);
	assert_int_equal(conf_get_secret(&e, conf_elem(c->notifiers, 1),
	    "secret", true, &sec), 1);
	assert_string_equal(sec, "s3cr3t");	/* newline dropped */
	conf_secret_free(sec);
	assert_int_equal(conf_get_secret(&e, conf_elem(c->notifiers, 2),
	    "secret", true, &sec), -1);
	assert_true(tu_has_error(&e, "loose.secret\" is readable by group or "
	    "others (mode 0644)"));
	assert_int_equal(conf_get_secret(&e, conf_elem(c->notifiers, 3),
	    "secret", true, &sec), 1);
	assert_string_equal(sec, "from-env");
	conf_secret_free(sec);
	assert_int_equal(conf_get_secret(&e, conf_elem(c->notifiers, 4),
	    "secret", true, &sec), -1);
	assert_true(tu_has_error(&e, "give only one of secret, secret_file and "
	    "secret_env"));
	assert_int_equal(conf_get_secret(&e, conf_elem(c->notifiers, 5),
	    "secret", true, &sec), -1);
	assert_true(tu_has_error(&e, "environment variable VIGIL_TEST_UNSET is "
	    "not set"));
	assert_int_equal(conf_get_secret(&e, conf_elem(c->notifiers, 5),
	    "other", false, &sec), 0);
	conf_free(c);
	conf_errs_free(&e);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_loads),
		cmocka_unit_test(test_syntax_error_has_line),
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_agent_errors_all_reported),
		cmocka_unit_test(test_accessors),
		cmocka_unit_test(test_check_keys),
		cmocka_unit_test(test_secrets),
	};

	return cmocka_run_group_tests(tests, tu_tmpdir_setup,
	    tu_tmpdir_teardown);
}
