/*
 * test_conf.c: the config reader: every error as FILE:LINE: setting: what,
 * typed accessors, secrets and their file permissions, @include (of files
 * that are no regular files, too large, unreadable, with secrets), the
 * error cap.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
	const char *p = tu_write_conf("syntax.conf",
	    "agent = {\n"
	    "  log_level = \"info\";\n  state_dir = ;\n};\n",
	    0600);
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
	assert_non_null(strstr(e.msgs[0],
	    "/nonexistent/vigil.conf:0: "
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
	    "sources = { };\n",
	    0600);
	char want[300];

	(void)state;
	assert_int_equal(conf_load(p, &c, &e), 0);
	dump(&e);
	assert_int_equal(e.n, 6);
	snprintf(want, sizeof(want),
	    "%s:2: agent.state_dir: must be an "
	    "absolute path",
	    p);
	assert_true(tu_has_error(&e, want));
	snprintf(want, sizeof(want),
	    "%s:3: agent.log_level: \"loud\" is not "
	    "one of \"error\", \"warning\", \"info\", \"debug\"",
	    p);
	assert_true(tu_has_error(&e, want));
	snprintf(want, sizeof(want), "%s:4: agent.colour: unknown setting", p);
	assert_true(tu_has_error(&e, want));
	snprintf(want, sizeof(want),
	    "%s:5: agent.spool_max: must be an "
	    "integer, not a string",
	    p);
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
	    "} );\n",
	    0600);

	(void)state;
	assert_int_equal(conf_load(p, &c, &e), 0);
	g = conf_elem(c->sources, 0);
	assert_non_null(g);
	assert_int_equal(conf_get_str(&e, g, "type", true, &s), 1);
	assert_string_equal(s, "x");
	assert_int_equal(conf_get_dur(&e, g, "every", true, 1000, &ms), 1);
	assert_int_equal(ms, 5400000);
	assert_int_equal(conf_get_dur(&e, g, "short", true, 1000, &ms), -1);
	assert_true(tu_has_error(&e,
	    "sources[0].short: \"100ms\" is too short "
	    "(at least 1s)"));
	assert_int_equal(conf_get_dur(&e, g, "bad", true, 0, &ms), -1);
	assert_true(tu_has_error(&e,
	    ":5: sources[0].bad: \"5 minutes\" is not "
	    "a duration"));
	assert_int_equal(conf_get_dur(&e, g, "num", true, 0, &ms), -1);
	assert_int_equal(ms, 5400000); /* untouched on failure */
	assert_int_equal(conf_get_int(&e, g, "num", true, 0, 10, &i), 1);
	assert_int_equal(i, 7);
	assert_int_equal(conf_get_int(&e, g, "big", true, 0, 10, &i), -1);
	assert_true(tu_has_error(&e,
	    "sources[0].big: 1000 is out of range "
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
	ag_strv_free(v);
	assert_int_equal(conf_get_strv(&e, g, "one", true, &v, &n), 1);
	assert_int_equal(n, 1);
	assert_string_equal(v[0], "solo");
	ag_strv_free(v);
	assert_int_equal(conf_get_strv(&e, g, "mixed", true, &v, &n), -1);
	assert_true(tu_has_error(&e,
			"sources[0].mixed.[1]: must be a "
			"string") ||
	    tu_has_error(&e,
		"sources[0].mixed[1]: must be a "
		"string"));
	assert_int_equal(conf_get_bool(&e, g, "flag", true, &b), 1);
	assert_true(b);
	assert_int_equal(conf_get_enum(&e, g, "colour", true, colours, &idx),
	    1);
	assert_int_equal(idx, 1);
	assert_int_equal(conf_get_str(&e, g, "absent", false, &s), 0);
	assert_int_equal(conf_get_str(&e, g, "needed", true, &s), 0);
	assert_true(tu_has_error(&e,
	    ":1: sources[0].needed: missing "
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
	const char *p = tu_write_conf("keys.conf",
	    "sources = ( { type = "
	    "\"cpu\";\n  intervall = \"10s\"; } );\n",
	    0600);

	(void)state;
	assert_int_equal(conf_load(p, &c, &e), 0);
	assert_int_equal(conf_check_keys(&e, conf_elem(c->sources, 0),
			     allowed),
	    1);
	assert_true(tu_has_error(&e,
	    ":2: sources[0].intervall: unknown "
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
	    ");\n",
	    secret_path, tu_tmpdir());

	/* World-readable file: the inline secret is refused. */
	p = tu_write_conf("open.conf", text, 0644);
	assert_int_equal(conf_load(p, &c, &e), 0);
	g = conf_elem(c->notifiers, 0);
	assert_int_equal(conf_get_secret(&e, g, "secret", true, &sec), -1);
	assert_true(tu_has_error(&e,
	    ":2: notifiers[0].secret: inline secret "
	    "in a file that group or others can read"));
	conf_free(c);
	conf_errs_free(&e);

	/* A private file may hold it. */
	p = tu_write_conf("private.conf", text, 0600);
	setenv("VIGIL_TEST_SECRET", "from-env", 1);
	unsetenv("VIGIL_TEST_UNSET");
	assert_int_equal(conf_load(p, &c, &e), 0);
	assert_int_equal(conf_get_secret(&e, conf_elem(c->notifiers, 0),
			     "secret", true, &sec),
	    1);
	assert_string_equal(sec, "inline");
	conf_secret_free(sec);
	assert_int_equal(conf_get_secret(&e, conf_elem(c->notifiers, 1),
			     "secret", true, &sec),
	    1);
	assert_string_equal(sec, "s3cr3t"); /* newline dropped */
	conf_secret_free(sec);
	assert_int_equal(conf_get_secret(&e, conf_elem(c->notifiers, 2),
			     "secret", true, &sec),
	    -1);
	assert_true(tu_has_error(&e,
	    "loose.secret\" is readable by group or "
	    "others (mode 0644)"));
	assert_int_equal(conf_get_secret(&e, conf_elem(c->notifiers, 3),
			     "secret", true, &sec),
	    1);
	assert_string_equal(sec, "from-env");
	conf_secret_free(sec);
	assert_int_equal(conf_get_secret(&e, conf_elem(c->notifiers, 4),
			     "secret", true, &sec),
	    -1);
	assert_true(tu_has_error(&e,
	    "give only one of secret, secret_file and "
	    "secret_env"));
	assert_int_equal(conf_get_secret(&e, conf_elem(c->notifiers, 5),
			     "secret", true, &sec),
	    -1);
	assert_true(tu_has_error(&e,
	    "environment variable VIGIL_TEST_UNSET is "
	    "not set"));
	assert_int_equal(conf_get_secret(&e, conf_elem(c->notifiers, 5),
			     "other", false, &sec),
	    0);
	conf_free(c);
	conf_errs_free(&e);
}

/*
 * conf_load() ${path} in a child process, as user ${uid} unless it is -1,
 * which an alarm ends after 60 s: a reader that blocks on a FIFO or calls
 * exit() then fails the test instead of hanging or ending it.  Pass when
 * the file is refused with an error containing ${want}.
 */
static void
refused_in_child(const char *path, const char *want, uid_t uid)
{
	pid_t pid;
	int st;

	fflush(stderr);
	if ((pid = fork()) == 0) {
		struct conf_errs e = { 0 };
		struct conf *c = NULL;

		alarm(60);
		if (uid != (uid_t)-1 &&
		    (setgroups(0, NULL) != 0 ||
			setresgid(uid, uid, uid) != 0 ||
			setresuid(uid, uid, uid) != 0))
			_exit(12);
		if (conf_load(path, &c, &e) == 0) {
			fprintf(stderr, "%s was accepted\n", path);
			_exit(10);
		}
		_exit(tu_has_error(&e, want) ? 0 : 11);
	}
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	if (WIFSIGNALED(st))
		fail_msg("checking %s died of signal %d (%d: it hung)", path,
		    WTERMSIG(st), SIGALRM);
	if (WEXITSTATUS(st) != 0)
		fail_msg("checking %s exited %d (10: accepted, 11: another "
			 "error, 12: setresuid; else exit() in libconfig)",
		    path, WEXITSTATUS(st));
}

/* "DIR/name" in tu_tmpdir(), in a static buffer of its own per slot. */
static const char *
tpath(int slot, const char *name)
{
	static char buf[4][512];

	snprintf(buf[slot], sizeof(buf[slot]), "%s/%s", tu_tmpdir(), name);
	return buf[slot];
}

static void
test_include_directory(void **state)
{
	struct conf_errs e = { 0 };
	struct conf *c = NULL;
	const char *p;
	char want[600];

	(void)state;
	(void)mkdir(tpath(0, "conf.d"), 0755);
	p = tu_write_conf("incdir.conf",
	    "agent = { };\n"
	    "@include \"conf.d\"\n",
	    0600);
	snprintf(want, sizeof(want),
	    "incdir.conf:2: @include \"conf.d\" "
	    "(%s): is a directory, not a file",
	    tpath(0, "conf.d"));
	refused_in_child(p, want, (uid_t)-1);
	/* The main file itself. */
	snprintf(want, sizeof(want), "%s:0: is a directory, not a file",
	    tpath(0, "conf.d"));
	refused_in_child(tpath(0, "conf.d"), want, (uid_t)-1);
	/* A symbolic link is judged by what it points to. */
	assert_int_equal(symlink("conf.d", tpath(0, "dirlink")), 0);
	p = tu_write_conf("incdirlink.conf", "@include \"dirlink\"\n", 0600);
	refused_in_child(p, "incdirlink.conf:1: @include \"dirlink\" (", -1);
	refused_in_child(p, "dirlink): is a directory, not a file", -1);
	tu_write_conf("conf.d/ok.conf", "agent = { };\n", 0600);
	assert_int_equal(symlink("conf.d/ok.conf", tpath(0, "filelink")), 0);
	p = tu_write_conf("incfilelink.conf", "@include \"filelink\"\n", 0600);
	assert_int_equal(conf_load(p, &c, &e), 0);
	assert_int_equal(e.n, 0);
	assert_non_null(c->agent.state_dir);
	conf_free(c);
}

static void
test_include_fifo(void **state)
{
	const char *p;
	char want[600];

	(void)state;
	assert_int_equal(mkfifo(tpath(0, "pipe"), 0600), 0);
	p = tu_write_conf("incfifo.conf",
	    "agent = { };\n\n"
	    "  @include\t\"pipe\"\n",
	    0600);
	snprintf(want, sizeof(want),
	    "incfifo.conf:3: @include \"pipe\" "
	    "(%s): is a FIFO, not a regular file",
	    tpath(0, "pipe"));
	refused_in_child(p, want, (uid_t)-1);
	/* A FIFO as the configuration. */
	snprintf(want, sizeof(want), "%s:0: is a FIFO, not a regular file",
	    tpath(0, "pipe"));
	refused_in_child(tpath(0, "pipe"), want, (uid_t)-1);
	/* A character device. */
	p = tu_write_conf("incnull.conf", "@include \"/dev/null\"\n", 0600);
	refused_in_child(p,
	    "incnull.conf:1: @include \"/dev/null\": is a "
	    "character device, not a regular file",
	    (uid_t)-1);
}

static void
test_huge_comment(void **state)
{
	size_t n = 10u << 20;
	char *text, want[600];
	const char *p;

	(void)state;
	assert_non_null(text = malloc(n + 2));
	text[0] = '#';
	memset(text + 1, 'x', n - 1);
	text[n] = '\n';
	tu_write_file(tpath(0, "huge.conf"), text, n + 1, 0600);
	free(text);
	snprintf(want, sizeof(want), "%s:0: is larger than 1 MiB",
	    tpath(0, "huge.conf"));
	refused_in_child(tpath(0, "huge.conf"), want, (uid_t)-1);
	p = tu_write_conf("inchuge.conf", "\n@include \"huge.conf\"\n", 0600);
	refused_in_child(p, "inchuge.conf:2: @include \"huge.conf\" (", -1);
	refused_in_child(p, "): is larger than 1 MiB", (uid_t)-1);
}

/*
 * Errors in an included file name that file and its line; lines after an
 * include keep theirs; a directive in a comment or string is no directive;
 * a relative name is found beside the main file, from any working folder.
 */
static void
test_include_lines(void **state)
{
	struct conf_errs e = { 0 };
	struct conf *c = NULL;
	char want[600], main[512], cwd[4096];
	const char *p;

	(void)state;
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	(void)mkdir(tpath(0, "sub"), 0755);
	tu_write_conf("sub/inc.conf",
	    "agent = {\n"
	    "  bogus = 1;\n"
	    "};\n"
	    "@include \"sub/inc2.conf\"\n"
	    "rules = ( );",
	    0600);
	tu_write_conf("sub/inc2.conf", "# nothing but a comment", 0600);
	p = tu_write_conf("lines.conf",
	    "# @include \"nowhere.conf\"\n"
	    "/* @include \"nowhere.conf\"\n"
	    "@include \"nowhere.conf\" */\n"
	    "sources = ( { type = \"cpu\"; x = \"\n"
	    "@include \\\"nowhere.conf\\\"\"; } );\n"
	    "@include \"sub/inc.conf\"\n"
	    "extra = 1;\n"
	    "@include \"sub/inc2.conf\"\n"
	    "more = 2;\n",
	    0600);
	snprintf(main, sizeof(main), "%s", p);
	assert_int_equal(chdir("/"), 0);
	assert_int_equal(conf_load(main, &c, &e), 0);
	assert_int_equal(chdir(cwd), 0);
	dump(&e);
	snprintf(want, sizeof(want), "%s:2: agent.bogus: unknown setting",
	    tpath(0, "sub/inc.conf"));
	assert_true(tu_has_error(&e, want));
	snprintf(want, sizeof(want), "%s:7: extra: unknown setting", main);
	assert_true(tu_has_error(&e, want));
	snprintf(want, sizeof(want), "%s:9: more: unknown setting", main);
	assert_true(tu_has_error(&e, want));
	assert_int_equal(e.n, 3);
	/* The setting in a string holds the directive's text. */
	assert_int_equal(conf_line(conf_elem(c->sources, 0)), 4);
	assert_int_equal(conf_line(c->rules), 5);
	conf_free(c);
	conf_errs_free(&e);

	/* A syntax error in an included file. */
	tu_write_conf("sub/broken.conf", "a = 1;\nb = ;\n", 0600);
	p = tu_write_conf("syn.conf", "x = 1;\n@include \"sub/broken.conf\"\n",
	    0600);
	assert_int_equal(conf_load(p, &c, &e), -1);
	snprintf(want, sizeof(want), "%s:2: syntax error",
	    tpath(0, "sub/broken.conf"));
	assert_true(tu_has_error(&e, want));
	conf_errs_free(&e);
}

static void
test_include_loop_and_missing(void **state)
{
	struct conf_errs e = { 0 };
	struct conf *c = NULL;
	char want[600];
	const char *p;

	(void)state;
	tu_write_conf("loop2.conf", "@include \"loop1.conf\"\n", 0600);
	p = tu_write_conf("loop1.conf", "a = 1;\n@include \"loop2.conf\"\n",
	    0600);
	assert_int_equal(conf_load(p, &c, &e), -1);
	snprintf(want, sizeof(want),
	    "%s:1: @include \"loop1.conf\" (%s): "
	    "includes itself",
	    tpath(0, "loop2.conf"), p);
	assert_true(tu_has_error(&e, want));
	conf_errs_free(&e);

	/* Every bad include is reported, not only the first. */
	p = tu_write_conf("missing.conf",
	    "@include \"gone1.conf\"\n"
	    "@include \"/nonexistent/gone2.conf\"\n"
	    "@include \"unterminated\n",
	    0600);
	assert_int_equal(conf_load(p, &c, &e), -1);
	assert_true(tu_has_error(&e,
	    "missing.conf:1: @include \"gone1.conf\" "
	    "("));
	assert_true(tu_has_error(&e,
	    "gone1.conf): cannot read: No such "
	    "file"));
	assert_true(tu_has_error(&e,
	    "missing.conf:2: @include "
	    "\"/nonexistent/gone2.conf\": cannot read: No such file"));
	assert_true(tu_has_error(&e,
	    "missing.conf:3: @include without its "
	    "closing quote"));
	assert_int_equal(e.n, 3);
	conf_errs_free(&e);

	/* A NUL byte would cut the text short for libconfig. */
	tu_write_file(tpath(0, "nul.conf"), "a = 1;\nb = \"x\0y\";\n", 18,
	    0600);
	assert_int_equal(conf_load(tpath(0, "nul.conf"), &c, &e), -1);
	assert_true(tu_has_error(&e, "nul.conf:2: holds a NUL byte"));
	conf_errs_free(&e);
}

/* The inline-secret rule holds for the file the secret is in. */
static void
test_include_secret(void **state)
{
	struct conf_errs e = { 0 };
	struct conf *c = NULL;
	char want[1400], *sec = NULL;
	const char *p;

	(void)state;
	tu_write_conf("open-notifier.conf",
	    "notifiers = (\n"
	    "  { name = \"a\"; secret = \"inline\"; }\n);\n",
	    0644);
	p = tu_write_conf("closed-main.conf",
	    "@include \"open-notifier.conf\"\n", 0600);
	assert_int_equal(conf_load(p, &c, &e), 0);
	assert_int_equal(conf_get_secret(&e, conf_elem(c->notifiers, 0),
			     "secret", true, &sec),
	    -1);
	snprintf(want, sizeof(want),
	    "%s:2: notifiers[0].secret: inline "
	    "secret in a file that group or others can read: use secret_file, "
	    "or chmod 600 %s",
	    tpath(0, "open-notifier.conf"), tpath(0, "open-notifier.conf"));
	assert_true(tu_has_error(&e, want));
	conf_free(c);
	conf_errs_free(&e);

	/* A private include may hold it, whatever the main file's mode. */
	tu_write_conf("closed-notifier.conf",
	    "notifiers = (\n"
	    "  { name = \"a\"; secret = \"inline\"; }\n);\n",
	    0600);
	p = tu_write_conf("open-main.conf",
	    "@include \"closed-notifier.conf\"\n", 0644);
	assert_int_equal(conf_load(p, &c, &e), 0);
	assert_int_equal(conf_get_secret(&e, conf_elem(c->notifiers, 0),
			     "secret", true, &sec),
	    1);
	assert_string_equal(sec, "inline");
	conf_secret_free(sec);
	assert_int_equal(e.n, 0);
	conf_free(c);
	conf_errs_free(&e);
}

/* An unreadable file says why; root reads everything, so drop to nobody. */
static void
test_permission_denied(void **state)
{
	uid_t uid = geteuid() == 0 ? 65534 : (uid_t)-1;
	char want[600];
	const char *p;

	(void)state;
	/* nobody must reach the files, not read them. */
	assert_int_equal(chmod(tu_tmpdir(), 0711), 0);
	tu_write_conf("locked.conf", "agent = { };\n", 0600);
	if (uid == (uid_t)-1)
		assert_int_equal(chmod(tpath(0, "locked.conf"), 0), 0);
	snprintf(want, sizeof(want), "%s:0: cannot read: Permission denied",
	    tpath(0, "locked.conf"));
	refused_in_child(tpath(0, "locked.conf"), want, uid);
	p = tu_write_conf("opens-locked.conf",
	    "\n\n@include "
	    "\"locked.conf\"\n",
	    0644);
	snprintf(want, sizeof(want),
	    "opens-locked.conf:3: @include "
	    "\"locked.conf\" (%s): cannot read: Permission denied",
	    tpath(0, "locked.conf"));
	refused_in_child(p, want, uid);
	assert_int_equal(chmod(tu_tmpdir(), 0700), 0);
}

/* Past CONF_MAX_ERRS errors one line counts the rest. */
static void
test_error_cap(void **state)
{
	struct conf_errs e = { 0 };
	struct conf *c = NULL;
	size_t n = CONF_MAX_ERRS + 500, off = 0;
	char *text;

	(void)state;
	assert_non_null(text = malloc(n * 16 + 32));
	off += (size_t)sprintf(text, "agent = {\n");
	for (size_t i = 0; i < n; i++)
		off += (size_t)sprintf(text + off, "  k%zu = 1;\n", i);
	sprintf(text + off, "};\n");
	c = tu_conf_load(text, &e);
	free(text);
	assert_int_equal(e.total, n);
	assert_int_equal(e.n, CONF_MAX_ERRS + 1);
	assert_non_null(strstr(e.msgs[CONF_MAX_ERRS - 1],
	    "agent.k999: "
	    "unknown setting"));
	assert_string_equal(e.msgs[CONF_MAX_ERRS], "... and 500 more errors");
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
		cmocka_unit_test(test_include_directory),
		cmocka_unit_test(test_include_fifo),
		cmocka_unit_test(test_huge_comment),
		cmocka_unit_test(test_include_lines),
		cmocka_unit_test(test_include_loop_and_missing),
		cmocka_unit_test(test_include_secret),
		cmocka_unit_test(test_permission_denied),
		cmocka_unit_test(test_error_cap),
	};

	return cmocka_run_group_tests(tests, tu_tmpdir_setup,
	    tu_tmpdir_teardown);
}
