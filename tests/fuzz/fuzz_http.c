/*
 * fuzz_http.c: fuzzing target for what the HTTP server parses from a
 * client before anything else: the request target
 * (httpd_parse_target(), agent/httpd/httpd.h) and, for a local admin's
 * mistakes, the tokens file (tokens_parse(), agent/httpd/tokens.h).
 *
 * The first byte picks the parser, the rest is the input.  Checked:
 *
 *  - an accepted target has a path that starts with '/', holds no NUL
 *    (it is a C string within the buffer), no "." or ".." segment and no
 *    empty segment but a trailing one; at most WEB_PARAMS_MAX
 *    parameters, each with a non-empty key, every string inside the
 *    buffer;
 *  - a parsed tokens file has at most TOKENS_MAX entries, each with a
 *    valid name, a role of read or admin, and names that differ.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "agent/httpd/httpd.h"
#include "agent/httpd/tokens.h"

#include "tests/fuzz/fuzz.h"

static bool
inside(const char *s, const char *buf, size_t len)
{
	return s >= buf && s < buf + len &&
	    memchr(s, '\0', (size_t)(buf + len - s)) != NULL;
}

static void
target(const uint8_t *data, size_t size)
{
	char *in = malloc(size + 1), buf[8192];
	struct web_req rq;

	if (in == NULL)
		abort();
	memcpy(in, data, size);
	in[size] = '\0';
	memset(&rq, 0, sizeof(rq));
	if (httpd_parse_target(in, &rq, buf, sizeof(buf)) == 0) {
		const char *p;

		if (!inside(rq.path, buf, sizeof(buf)) || rq.path[0] != '/')
			fuzz_fail("path outside the buffer or not absolute");
		for (p = rq.path; (p = strstr(p, "/.")) != NULL; p++)
			if (p[2] == '/' || p[2] == '\0' ||
			    (p[2] == '.' && (p[3] == '/' || p[3] == '\0')))
				fuzz_fail("a dot segment in %s", rq.path);
		if (strstr(rq.path, "//") != NULL)
			fuzz_fail("an empty segment in %s", rq.path);
		if (rq.nparams > WEB_PARAMS_MAX)
			fuzz_fail("%zu parameters", rq.nparams);
		for (size_t i = 0; i < rq.nparams; i++)
			if (!inside(rq.params[i].key, buf, sizeof(buf)) ||
			    !inside(rq.params[i].value, buf, sizeof(buf)) ||
			    rq.params[i].key[0] == '\0')
				fuzz_fail("parameter %zu", i);
	}
	free(in);
}

static void
tokens(const uint8_t *data, size_t size)
{
	struct ag_err err = { "" };
	struct token_entry *v;
	size_t n;

	if (tokens_parse((const char *)data, size, &v, &n, &err) != 0) {
		if (err.msg[0] == '\0')
			fuzz_fail("refused without a message");
		return;
	}
	if (n > TOKENS_MAX)
		fuzz_fail("%zu tokens", n);
	for (size_t i = 0; i < n; i++) {
		size_t l = strlen(v[i].name);

		if (l == 0 || l > TOKEN_NAME_MAX ||
		    strspn(v[i].name,
			"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			"0123456789._-") != l)
			fuzz_fail("token %zu: bad name", i);
		if (v[i].role != WEB_ROLE_READ && v[i].role != WEB_ROLE_ADMIN)
			fuzz_fail("token %zu: role %d", i, (int)v[i].role);
		for (size_t j = 0; j < i; j++)
			if (strcmp(v[i].name, v[j].name) == 0)
				fuzz_fail("%s twice", v[i].name);
	}
	free(v);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	if (data[0] % 2 == 0)
		target(data + 1, size - 1);
	else
		tokens(data + 1, size - 1);
	return 0;
}
