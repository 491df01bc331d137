/*
 * jfield.c: see jfield.h.  The messages are made only when a member is
 * wrong: the file index reads millions of members through here.
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
	    at->doc != NULL ? at->doc : "", at->doc != NULL ? ": " : "",
	    path, *path != '\0' ? "." : "", key, what);
}

/* Member ${key}, or NULL: absent and not required (*ret_rc 0) or an error. */
static json_t *
member(const json_t *o, const char *key, int flags, int *ret_rc,
    const struct jfield_at *at)
{
	json_t *v = json_object_get(o, key);

	*ret_rc = 0;
	if (v == NULL && (flags & JF_REQUIRED))
		*ret_rc = jfield_err(at, key, "missing");
	return v;
}

int
jfield_u64(const json_t *o, const char *key, int flags, uint64_t *ret,
    const struct jfield_at *at)
{
	json_t *v;
	int rc;

	*ret = 0;
	if ((v = member(o, key, flags, &rc, at)) == NULL)
		return rc;
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return jfield_err(at, key, "must be a non-negative integer");
	*ret = (uint64_t)json_integer_value(v);
	return 0;
}

int
jfield_i64(const json_t *o, const char *key, int flags, int64_t *ret,
    const struct jfield_at *at)
{
	json_t *v;
	int rc;

	*ret = 0;
	if ((v = member(o, key, flags, &rc, at)) == NULL)
		return rc;
	if (!json_is_integer(v))
		return jfield_err(at, key, "must be an integer");
	*ret = (int64_t)json_integer_value(v);
	return 0;
}

int
jfield_num(const json_t *o, const char *key, int flags, bool *ret_has,
    double *ret, const struct jfield_at *at)
{
	json_t *v;
	int rc;

	*ret_has = false;
	*ret = 0;
	if ((v = member(o, key, flags, &rc, at)) == NULL || json_is_null(v))
		return rc;
	if (!json_is_number(v) || !isfinite(json_number_value(v)))
		return jfield_err(at, key, "must be a number or null");
	*ret_has = true;
	*ret = json_number_value(v);
	return 0;
}

/* The string ${v} and its length, or NULL with a message. */
static const char *
string_of(const json_t *v, const char *key, size_t *ret_len,
    const struct jfield_at *at)
{
	const char *s;

	if (!json_is_string(v)) {
		(void)jfield_err(at, key, "must be a string");
		return NULL;
	}
	s = json_string_value(v);
	*ret_len = json_string_length(v);
	if (memchr(s, '\0', *ret_len) != NULL) {
		(void)jfield_err(at, key, "too long or holds a NUL byte");
		return NULL;
	}
	return s;
}

int
jfield_str(const json_t *o, const char *key, int flags, char *buf,
    size_t len, const struct jfield_at *at)
{
	const char *s;
	json_t *v;
	size_t n;
	int rc;

	if (len == 0)
		return jfield_err(at, key, "too long or holds a NUL byte");
	buf[0] = '\0';
	if ((v = member(o, key, flags, &rc, at)) == NULL)
		return rc;
	if ((s = string_of(v, key, &n, at)) == NULL)
		return -1;
	if (n >= len) {
		if (!(flags & JF_TRUNCATE))
			return jfield_err(at, key,
			    "too long or holds a NUL byte");
		n = len - 1;
	}
	memcpy(buf, s, n);
	buf[n] = '\0';
	return 0;
}

int
jfield_strdup(const json_t *o, const char *key, int flags, size_t max,
    char **ret, const struct jfield_at *at)
{
	const char *s;
	json_t *v;
	size_t n;
	int rc;

	*ret = NULL;
	if ((v = member(o, key, flags, &rc, at)) == NULL)
		return rc;
	if ((s = string_of(v, key, &n, at)) == NULL)
		return -1;
	if (n > max)
		return jfield_err(at, key, "too long or holds a NUL byte");
	if ((*ret = strdup(s)) == NULL)
		return jfield_err(at, key, "out of memory");
	return 0;
}

int
jfield_obj(const json_t *o, const char *key, int flags, json_t **ret,
    const struct jfield_at *at)
{
	json_t *v;
	int rc;

	*ret = NULL;
	if ((v = member(o, key, flags, &rc, at)) == NULL)
		return rc;
	if (!json_is_object(v))
		return jfield_err(at, key, "must be an object");
	*ret = v;
	return 0;
}
