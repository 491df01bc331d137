/*
 * test_jfield.c: lib/jfield.c, the one set of JSON member getters (the
 * manifest, notifications and the job state file read through them).
 *
 * Each getter takes its type and refuses the others, an optional member
 * that is absent reads as zero ("", NULL), a required one is "missing";
 * negative numbers are no u64; null is "no number"; strings must fit
 * (unless JF_TRUNCATE) and hold no NUL byte; a failed getter leaves its
 * zero value.  Messages name the document, the object's path and the key
 * ("manifest: files[3].size: missing"), and no message is made without a
 * record to put it in.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/jfield.h"

static json_t *
doc(void)
{
	json_error_t jerr;
	json_t *o;

	o = json_loads("{\"u\": 42, \"neg\": -3, \"big\": 9223372036854775807,"
		       " \"f\": 1.5, \"s\": \"hello\", \"nul\": \"a\\u0000b\","
		       " \"z\": null, \"o\": {\"x\": 1}, \"a\": [1]}",
	    JSON_ALLOW_NUL, &jerr);
	assert_non_null(o);
	return o;
}

static void
test_integers(void **state)
{
	json_t *o = doc();
	struct ag_err err = { "" };
	struct jfield_at at = { .doc = "manifest",
		.path = "files[3]",
		.err = &err };
	uint64_t u = 7;
	int64_t i = 7;

	(void)state;
	assert_int_equal(jfield_u64(o, "u", JF_REQUIRED, &u, &at), 0);
	assert_int_equal(u, 42);
	assert_int_equal(jfield_u64(o, "big", 0, &u, &at), 0);
	assert_true(u == INT64_MAX);
	assert_int_equal(jfield_i64(o, "neg", JF_REQUIRED, &i, &at), 0);
	assert_int_equal(i, -3);

	assert_int_equal(jfield_u64(o, "neg", 0, &u, &at), -1);
	assert_int_equal(u, 0);
	assert_string_equal(err.msg,
	    "manifest: files[3].neg: must be a "
	    "non-negative integer");
	assert_int_equal(jfield_u64(o, "f", 0, &u, &at), -1);
	assert_int_equal(jfield_i64(o, "s", 0, &i, &at), -1);
	assert_int_equal(i, 0);
	assert_string_equal(err.msg,
	    "manifest: files[3].s: must be an "
	    "integer");

	/* Absent: zero when optional, "missing" when required. */
	u = 7;
	assert_int_equal(jfield_u64(o, "nope", 0, &u, &at), 0);
	assert_int_equal(u, 0);
	assert_int_equal(jfield_i64(o, "nope", JF_REQUIRED, &i, &at), -1);
	assert_string_equal(err.msg, "manifest: files[3].nope: missing");
	json_decref(o);
}

static void
test_numbers(void **state)
{
	json_t *o = doc();
	bool has = true;
	double d = 9;

	(void)state;
	assert_int_equal(jfield_num(o, "f", JF_REQUIRED, &has, &d, NULL), 0);
	assert_true(has);
	assert_true(d == 1.5);
	assert_int_equal(jfield_num(o, "u", JF_REQUIRED, &has, &d, NULL), 0);
	assert_true(has && d == 42);
	assert_int_equal(jfield_num(o, "z", JF_REQUIRED, &has, &d, NULL), 0);
	assert_false(has);
	assert_true(d == 0);
	assert_int_equal(jfield_num(o, "s", 0, &has, &d, NULL), -1);
	assert_false(has);
	assert_int_equal(jfield_num(o, "nope", JF_REQUIRED, &has, &d, NULL),
	    -1);
	assert_int_equal(jfield_num(o, "nope", 0, &has, &d, NULL), 0);
	assert_false(has);
	json_decref(o);
}

static void
test_strings(void **state)
{
	json_t *o = doc();
	struct ag_err err = { "" };
	struct jfield_at at = { .path = "", .err = &err };
	char buf[6], small[4];
	char *s = (char *)1;

	(void)state;
	assert_int_equal(jfield_str(o, "s", JF_REQUIRED, buf, sizeof(buf),
			     &at),
	    0);
	assert_string_equal(buf, "hello");
	/* Must fit... */
	assert_int_equal(jfield_str(o, "s", 0, small, sizeof(small), &at), -1);
	assert_string_equal(small, "");
	assert_string_equal(err.msg, "s: too long or holds a NUL byte");
	/* ... unless cut. */
	assert_int_equal(jfield_str(o, "s", JF_TRUNCATE, small, sizeof(small),
			     &at),
	    0);
	assert_string_equal(small, "hel");
	assert_int_equal(jfield_str(o, "nul", JF_TRUNCATE, buf, sizeof(buf),
			     &at),
	    -1);
	assert_string_equal(buf, "");
	assert_int_equal(jfield_str(o, "u", 0, buf, sizeof(buf), &at), -1);
	assert_string_equal(err.msg, "u: must be a string");
	assert_int_equal(jfield_str(o, "nope", 0, buf, sizeof(buf), &at), 0);
	assert_string_equal(buf, "");
	assert_int_equal(jfield_str(o, "nope", JF_REQUIRED, buf, sizeof(buf),
			     &at),
	    -1);
	assert_string_equal(err.msg, "nope: missing");

	assert_int_equal(jfield_strdup(o, "s", JF_REQUIRED, 5, &s, &at), 0);
	assert_string_equal(s, "hello");
	free(s);
	assert_int_equal(jfield_strdup(o, "s", 0, 4, &s, &at), -1);
	assert_null(s);
	assert_int_equal(jfield_strdup(o, "nul", 0, 100, &s, &at), -1);
	assert_null(s);
	assert_string_equal(err.msg, "nul: too long or holds a NUL byte");
	s = (char *)1;
	assert_int_equal(jfield_strdup(o, "nope", 0, 100, &s, &at), 0);
	assert_null(s);
	json_decref(o);
}

static void
test_objects(void **state)
{
	json_t *o = doc(), *v = NULL;
	struct ag_err err = { "" };
	struct jfield_at at = { .doc = "manifest", .err = &err };

	(void)state;
	assert_int_equal(jfield_obj(o, "o", JF_REQUIRED, &v, &at), 0);
	assert_non_null(v);
	assert_int_equal(json_integer_value(json_object_get(v, "x")), 1);
	assert_int_equal(jfield_obj(o, "a", JF_REQUIRED, &v, &at), -1);
	assert_null(v);
	assert_string_equal(err.msg, "manifest: a: must be an object");
	assert_int_equal(jfield_obj(o, "nope", JF_REQUIRED, &v, &at), -1);
	assert_string_equal(err.msg, "manifest: nope: missing");
	assert_int_equal(jfield_obj(o, "nope", 0, &v, &at), 0);
	assert_null(v);
	json_decref(o);
}

static void
test_no_record(void **state)
{
	json_t *o = doc();
	struct jfield_at at = { .doc = "x", .path = "y" };
	uint64_t u;

	(void)state;
	/* Without a record (or without ${at}), failures stay silent. */
	assert_int_equal(jfield_u64(o, "nope", JF_REQUIRED, &u, &at), -1);
	assert_int_equal(jfield_u64(o, "nope", JF_REQUIRED, &u, NULL), -1);
	assert_int_equal(jfield_err(NULL, "k", "w"), -1);
	json_decref(o);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_integers),
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_strings),
		cmocka_unit_test(test_objects),
		cmocka_unit_test(test_no_record),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
