/*
 * jfield.h: the one set of typed getters for members of a JSON object
 * (jansson).  Every getter checks the member's type and range, stores a
 * zero value (0, "", NULL) when it fails or when an optional member is
 * absent, and names the member in its message:
 * "<doc>: <path>.<key>: <what>".
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef VIGIL_JFIELD_H
#define VIGIL_JFIELD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "lib/ag.h"

#define JF_REQUIRED 0x1 /* a missing member is an error */
#define JF_TRUNCATE 0x2 /* jfield_str(): cut a long string to fit */

/* Where the object is, for messages; a NULL jfield_at: no message. */
struct jfield_at {
	const char *doc;    /* messages start "<doc>: ", or NULL */
	const char *path;   /* "files[3]"; NULL or "" for the top object */
	struct ag_err *err; /* receives the message, or NULL */
};

/**
 * jfield_err(at, key, what):
 * Put "<doc>: <path>.<key>: <what>" into ${at}->err (the parts that are
 * there).  Returns -1.
 */
int jfield_err(const struct jfield_at *at, const char *key, const char *what);

/**
 * jfield_u64(o, key, flags, ret, at):
 * Member ${key} of ${o}, a non-negative integer, into ${ret}.  Return 0,
 * or -1 with a message.
 */
int jfield_u64(const json_t *o, const char *key, int flags, uint64_t *ret,
    const struct jfield_at *at);

/**
 * jfield_i64(o, key, flags, ret, at):
 * Member ${key} of ${o}, an integer, into ${ret}.  Return 0, or -1 with a
 * message.
 */
int jfield_i64(const json_t *o, const char *key, int flags, int64_t *ret,
    const struct jfield_at *at);

/**
 * jfield_num(o, key, flags, ret_has, ret, at):
 * Member ${key} of ${o}, a finite number or null, into ${ret}; ${ret_has}
 * says whether it was a number.  Return 0, or -1 with a message.
 */
int jfield_num(const json_t *o, const char *key, int flags, bool *ret_has,
    double *ret, const struct jfield_at *at);

/**
 * jfield_str(o, key, flags, buf, len, at):
 * Copy member ${key} of ${o}, a string without NUL bytes, into ${buf} of
 * ${len} bytes; it must fit unless JF_TRUNCATE.  Return 0, or -1 with a
 * message (and "" in ${buf}).
 */
int jfield_str(const json_t *o, const char *key, int flags, char *buf,
    size_t len, const struct jfield_at *at);

/**
 * jfield_strdup(o, key, flags, max, ret, at):
 * Member ${key} of ${o}, a string of at most ${max} bytes without NUL
 * bytes, as a new string in ${ret} (NULL if absent).  Return 0, or -1
 * with a message.
 */
int jfield_strdup(const json_t *o, const char *key, int flags, size_t max,
    char **ret, const struct jfield_at *at);

/**
 * jfield_obj(o, key, flags, ret, at):
 * Member ${key} of ${o}, an object, in ${ret} (borrowed; NULL if absent).
 * Return 0, or -1 with a message.
 */
int jfield_obj(const json_t *o, const char *key, int flags, json_t **ret,
    const struct jfield_at *at);

#endif
