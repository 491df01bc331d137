/*
 * conf.h: loading and checking vigil.conf (libconfig syntax).
 *
 * conf_load() parses a file (or the embedded default) and checks the agent
 * section; the sections that belong to other modules (sources, rules,
 * notifiers, storage, backups, credentials) are handed to those modules as
 * opaque settings, and they read them through the typed accessors below,
 * which check names, types and ranges and record every problem as
 * "FILE:LINE: setting: what is wrong" in a struct conf_errs.  Only this
 * module includes <libconfig.h>.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef VIGIL_CONF_H
#define VIGIL_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/ag.h"

struct conf_src;
struct config_setting_t;
typedef struct config_setting_t conf_node;

/* The most error messages kept; a last line counts the rest. */
#define CONF_MAX_ERRS 1000

/*
 * Every problem found while reading a config, in file order.  Past
 * CONF_MAX_ERRS messages one more, "... and N more errors", counts the
 * rest; ${total} counts every error, so compare it (not ${n}) before and
 * after a check to see whether the check found something.
 */
struct conf_errs {
	char **msgs;
	size_t n;     /* messages in msgs */
	size_t total; /* errors recorded */
	/* Set by conf_load(): may inline secrets live in the main file? */
	bool file_private;
	const char *file; /* for errors that have no setting */
};

struct agent_conf {
	char *state_dir;
	char *log_level;
	char *control_socket;
	char *hostname;	   /* reported in notifications */
	bool syslog;
	int64_t spool_max; /* notifications kept while undelivered */
	int64_t socket_mode;
	char *socket_group; /* NULL: the daemon's own group */
};

/* The http group (docs/API.md): off while listen is NULL. */
struct http_conf {
	char *listen; /* "127.0.0.1:9717", "[::1]:9717"; NULL: no server */
	char *tls_cert, *tls_key; /* both or neither */
	char *tokens_file;
	bool metrics_public;
	char **restore_roots; /* absolute, NULL-terminated; none: no web restore */
	size_t nrestore_roots;
	int64_t max_connections;
	int64_t timeout_ms; /* per connection */
	int64_t max_body;   /* bytes */
	const conf_node *history; /* http.history, or NULL: the defaults */
};

struct conf {
	char *path; /* "<default>" for the embedded one */
	struct agent_conf agent;
	struct http_conf http;
	const conf_node *sources;     /* list, or NULL */
	const conf_node *rules;	      /* list, or NULL */
	const conf_node *notifiers;   /* list, or NULL */
	const conf_node *storage;     /* group, or NULL */
	const conf_node *backups;     /* list, or NULL */
	const conf_node *credentials; /* group, or NULL */
	const conf_node *archive;     /* group, or NULL (agent/archive.h) */
	void *cfg;		      /* the libconfig object */
	struct conf_src *src;	      /* its files and their lines */
};

/* The built-in configuration used when no file exists. */
extern const char conf_default_text[];

/**
 * conf_load(path, ret, errs):
 * Parse ${path} (NULL: the embedded default) with the files it @includes
 * and check the agent section.  Each file must be a regular file of at most
 * 1 MiB (conf/conf_src.h); relative includes are found in the folder of
 * ${path}.  Errors name the file and line they are on, also in included
 * files, and an inline secret is allowed only in a file that group and
 * others cannot read.  Syntax errors and agent errors go into ${errs}.  On success (even with
 * errors recorded in ${errs}) store the config in ${ret} and return 0; if
 * the file cannot be parsed at all return -1.  The caller must still check
 * ${errs}->n.
 */
int conf_load(const char *path, struct conf **ret, struct conf_errs *errs);

/* conf_free(c): free ${c} and every setting read from it. */
void conf_free(struct conf *c);

/* conf_errs_free(e): free the messages of ${e} (not ${e} itself). */
void conf_errs_free(struct conf_errs *e);

/**
 * conf_error(e, node, fmt, ...):
 * Record "FILE:LINE: PATH: message" for ${node} (the setting that is wrong;
 * NULL for a file-level error).  Always returns -1.
 */
int conf_error(struct conf_errs *e, const conf_node *node, const char *fmt,
    ...) __attribute__((format(printf, 3, 4)));

/**
 * conf_error_line(e, file, line, fmt, ...):
 * Record "FILE:LINE: message" for a problem of the text itself (no
 * setting).  Always returns -1.
 */
int conf_error_line(struct conf_errs *e, const char *file, int line,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/**
 * conf_error_msg(e, msg):
 * Record ${msg}, a whole message made elsewhere (a checking child
 * process), as it is.  Always returns -1.
 */
int conf_error_msg(struct conf_errs *e, const char *msg);

/**
 * conf_error_at(e, group, name, fmt, ...):
 * Like conf_error() for the member ${name} of ${group}, which may be absent
 * (the group's line is used then).
 */
int conf_error_at(struct conf_errs *e, const conf_node *group,
    const char *name, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/*
 * Typed accessors.  ${group} is a group setting; ${name} one member.  Each
 * returns 1 if the member is present and valid (and stores it), 0 if it is
 * absent (the output keeps its default; with ${required} an error is
 * recorded), -1 if it is present but invalid (an error is recorded).
 */
int conf_get_str(struct conf_errs *e, const conf_node *group, const char *name,
    bool required, const char **ret);
int conf_get_bool(struct conf_errs *e, const conf_node *group,
    const char *name, bool required, bool *ret);
/* An integer in [${min}, ${max}]. */
int conf_get_int(struct conf_errs *e, const conf_node *group, const char *name,
    bool required, int64_t min, int64_t max, int64_t *ret);
/* A number (integer or float) in [${min}, ${max}]. */
int conf_get_num(struct conf_errs *e, const conf_node *group, const char *name,
    bool required, double min, double max, double *ret);
/* A duration string ("90s", "5m") of at least ${min_ms}. */
int conf_get_dur(struct conf_errs *e, const conf_node *group, const char *name,
    bool required, int64_t min_ms, int64_t *ret_ms);
/* A byte size: an integer or a string such as "4MiB". */
int conf_get_size(struct conf_errs *e, const conf_node *group,
    const char *name, bool required, uint64_t *ret);
/* One of ${choices} (NULL-terminated); stores its index. */
int conf_get_enum(struct conf_errs *e, const conf_node *group,
    const char *name, bool required, const char *const *choices, int *ret);
/*
 * An array of strings (a single string is accepted as a list of one).
 * Stores a malloc'd NULL-terminated vector of malloc'd copies in ${ret}
 * (free with ag_strv_free) and its length in ${ret_n}.
 */
int conf_get_strv(struct conf_errs *e, const conf_node *group,
    const char *name, bool required, char ***ret, size_t *ret_n);

/**
 * conf_get_secret(e, group, name, required, ret):
 * A secret given inline as ${name} (refused unless the file is private to
 * its owner), as ${name}_file (a file that must not be group/world
 * readable; a trailing newline is dropped) or as ${name}_env (the name of
 * an environment variable).  Stores a malloc'd copy in ${ret}, to be wiped
 * by the caller with conf_secret_free().  Returns 1, 0 or -1 as above.
 */
int conf_get_secret(struct conf_errs *e, const conf_node *group,
    const char *name, bool required, char **ret);
void conf_secret_free(char *s);

/**
 * conf_check_keys(e, group, allowed):
 * Record an error for every member of ${group} not in ${allowed} (a
 * NULL-terminated list).  Returns the number of unknown members.
 */
int conf_check_keys(struct conf_errs *e, const conf_node *group,
    const char *const *allowed);

/**
 * conf_check_keys2(e, group, common, extra):
 * conf_check_keys() against the members of two lists: the ${common}
 * settings of every instance and the ${extra} ones of its type (either may
 * be NULL).
 */
int conf_check_keys2(struct conf_errs *e, const conf_node *group,
    const char *const *common, const char *const *extra);

/* Navigation, for modules walking their section. */
size_t conf_len(const conf_node *list); /* 0 for NULL */
const conf_node *conf_elem(const conf_node *list, size_t i);
const conf_node *conf_member(const conf_node *group, const char *name);
bool conf_is_group(const conf_node *node);
bool conf_is_list(const conf_node *node);	     /* a list or an array */
const char *conf_name(const conf_node *node);	     /* member name or NULL */
const conf_node *conf_parent(const conf_node *node); /* NULL at the top */
/* The line of ${node} in the file it is in (0 for none). */
int conf_line(const conf_node *node);

#endif
