/*
 * jfield.c: see jfield.h.  The messages are made only when a member is
 * wrong: the file index reads millions of members through here.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lib/ag.h"
#include "lib/jfield.h"

int
jfield_err(const struct jfield_at *at, const char *key, const char *what)
{
	const char *path;

	if (at == NULL || at->err == NULL)
		return -1;
	path = at->path != NULL ? at->path : "";
	return ag_err_set(at->err, "%s%s%s%s%s: %s",
	    at->doc != NULL ? at->doc : "", at->doc != NULL ? ": " : "", path,
	    *path != '\0' ? "." : "", key, what);
}

/* The types members may be asked to have. */
static bool
is_uint(const json_t *v)
{
	return json_is_integer(v) && json_integer_value(v) >= 0;
}

static bool
is_int(const json_t *v)
{
	return json_is_integer(v);
}

static bool
is_num_or_null(const json_t *v)
{
	return json_is_null(v) ||
	    (json_is_number(v) && isfinite(json_number_value(v)));
}

static bool
is_string(const json_t *v)
{
	return json_is_string(v);
}

static bool
is_object(const json_t *v)
{
	return json_is_object(v);
}

/*
 * Member ${key} of ${o} if ${ok} says it has its type (else the message
 * "<key>: ${what}").  NULL with 0 in ${ret_rc} if it is absent and not
 * required; NULL with -1 on an error.
 */
static json_t *
member(const json_t *o, const char *key, int flags, bool (*ok)(const json_t *),
    const char *what, int *ret_rc, const struct jfield_at *at)
{
	json_t *v = json_object_get(o, key);

	*ret_rc = 0;
	if (v == NULL) {
		if (flags & JF_REQUIRED)
			*ret_rc = jfield_err(at, key, "missing");
		return NULL;
	}
	if (!ok(v)) {
		*ret_rc = jfield_err(at, key, what);
		return NULL;
	}
	return v;
}

int
jfield_u64(const json_t *o, const char *key, int flags, uint64_t *ret,
    const struct jfield_at *at)
{
	json_t *v;
	int rc;

	*ret = 0;
	if ((v = member(o, key, flags, is_uint,
		 "must be a non-negative integer", &rc, at)) != NULL)
		*ret = (uint64_t)json_integer_value(v);
	return rc;
}

int
jfield_i64(const json_t *o, const char *key, int flags, int64_t *ret,
    const struct jfield_at *at)
{
	json_t *v;
	int rc;

	*ret = 0;
	if ((v = member(o, key, flags, is_int, "must be an integer", &rc,
		 at)) != NULL)
		*ret = (int64_t)json_integer_value(v);
	return rc;
}

int
jfield_num(const json_t *o, const char *key, int flags, bool *ret_has,
    double *ret, const struct jfield_at *at)
{
	json_t *v;
	int rc;

	*ret_has = false;
	*ret = 0;
	if ((v = member(o, key, flags, is_num_or_null,
		 "must be a number or null", &rc, at)) != NULL &&
	    !json_is_null(v)) {
		*ret_has = true;
		*ret = json_number_value(v);
	}
	return rc;
}

/*
 * The string member ${key} (of at most ${max} bytes unless JF_TRUNCATE) and its
 * length, or NULL as member() says.
 */
static const char *
string_member(const json_t *o, const char *key, int flags, size_t max,
    size_t *ret_len, int *ret_rc, const struct jfield_at *at)
{
	const char *s;
	json_t *v;

	if ((v = member(o, key, flags, is_string, "must be a string", ret_rc,
		 at)) == NULL)
		return NULL;
	s = json_string_value(v);
	*ret_len = json_string_length(v);
	if (memchr(s, '\0', *ret_len) != NULL ||
	    (*ret_len > max && !(flags & JF_TRUNCATE))) {
		*ret_rc = jfield_err(at, key, "too long or holds a NUL byte");
		return NULL;
	}
	return s;
}

int
jfield_str(const json_t *o, const char *key, int flags, char *buf, size_t len,
    const struct jfield_at *at)
{
	const char *s;
	size_t n;
	int rc;

	if (len == 0)
		return jfield_err(at, key, "too long or holds a NUL byte");
	buf[0] = '\0';
	if ((s = string_member(o, key, flags, len - 1, &n, &rc, at)) == NULL)
		return rc;
	if (n > len - 1)
		n = len - 1; /* JF_TRUNCATE */
	memcpy(buf, s, n);
	buf[n] = '\0';
	return 0;
}

int
jfield_strdup(const json_t *o, const char *key, int flags, size_t max,
    char **ret, const struct jfield_at *at)
{
	const char *s;
	size_t n;
	int rc;

	*ret = NULL;
	if ((s = string_member(o, key, flags & ~JF_TRUNCATE, max, &n, &rc,
		 at)) == NULL)
		return rc;
	if ((*ret = strdup(s)) == NULL)
		return jfield_err(at, key, "out of memory");
	return 0;
}

int
jfield_obj(const json_t *o, const char *key, int flags, json_t **ret,
    const struct jfield_at *at)
{
	int rc;

	*ret = member(o, key, flags, is_object, "must be an object", &rc, at);
	return rc;
}
