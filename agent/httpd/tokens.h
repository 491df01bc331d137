/*
 * tokens.h: the API tokens of the HTTP server (http.tokens_file).
 *
 * A token is "vigil_" and 43 base64url characters (32 random bytes); the
 * file keeps only its SHA-256, one line per token:
 *
 *	NAME ROLE sha256:HEX
 *
 * with NAME of letters, digits, '.', '_' and '-' (at most 64) and ROLE
 * "read" or "admin"; '#' starts a comment line.  The file must belong to
 * the user reading it (or root) and be writable by no one else: whoever
 * can write it can grant themselves admin.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef VIGIL_HTTPD_TOKENS_H
#define VIGIL_HTTPD_TOKENS_H

#include <stddef.h>
#include <stdint.h>

#include "agent/web.h"
#include "lib/ag.h"

#define TOKEN_NAME_MAX 64
#define TOKEN_PREFIX "vigil_"
#define TOKEN_LEN (sizeof(TOKEN_PREFIX) - 1 + 43)
#define TOKENS_MAX 1000

struct token_entry {
	char name[TOKEN_NAME_MAX + 1];
	enum web_role role;
	uint8_t hash[32];
};

/**
 * tokens_parse(text, len, ret, ret_n, err):
 * Parse the contents of a tokens file.  Store a malloc'd array in ${ret}
 * and its length in ${ret_n}.  Return 0, or -1 with "line N: what".
 */
int tokens_parse(const char *text, size_t len, struct token_entry **ret,
    size_t *ret_n, struct ag_err *err);

/**
 * tokens_read(path, ret, ret_n, err):
 * Read and parse ${path} (not through a symlink; at most 1 MiB; owner
 * and mode checked as above).  A missing file is no tokens (0, none).
 */
int tokens_read(const char *path, struct token_entry **ret, size_t *ret_n,
    struct ag_err *err);

/**
 * tokens_add(path, name, role, token, err):
 * Make a token for ${name} with ${role}, add its hash to ${path} (made
 * with mode 0600 if missing; rewritten whole: temporary file, fsync,
 * rename) and write the token into ${token} (TOKEN_LEN + 1 bytes).  A
 * name already there is an error.  Return 0 or -1.
 */
int tokens_add(const char *path, const char *name, enum web_role role,
    char *token, struct ag_err *err);

/* tokens_remove(path, name, err): drop ${name}'s token.  0, or -1. */
int tokens_remove(const char *path, const char *name, struct ag_err *err);

/* tokens_role_name(role): "read", "admin" or "none". */
const char *tokens_role_name(enum web_role role);

struct tokens; /* a tokens file as the server checks against it */

/* tokens_open(path): watch ${path}, read on first use and when it changes. */
struct tokens *tokens_open(const char *path);
void tokens_close(struct tokens *t);

/**
 * tokens_check(t, token, name, namelen):
 * The role of ${token} (WEB_ROLE_NONE when unknown, malformed or the file
 * cannot be read, which is logged once per change), its name copied into
 * ${name}.  Compares hashes in constant time.  Thread-safe.
 */
enum web_role tokens_check(struct tokens *t, const char *token, char *name,
    size_t namelen);

#endif /* !VIGIL_HTTPD_TOKENS_H */
