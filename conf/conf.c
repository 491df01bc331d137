/*
 * conf.c: loading vigil.conf with libconfig and reading it strictly.
 *
 * libconfig parses the text and remembers each setting's file and line; the
 * accessors here turn every misuse (unknown member, wrong type, bad value)
 * into one "FILE:LINE: PATH: message" line in a struct conf_errs, so that
 * `vigil config check` can print all problems at once instead of stopping at
 * the first.  Paths are written as people would look them up:
 * "sources[2].interval", "agent.state_dir".
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <errno.h>
#include <fcntl.h>
#include <libconfig.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/parsenum.h"
#include "paths.h"

#include "conf/conf_src.h"

#include "conf/conf.h"
#include "conf/conf_http.h"

#define SECRET_MAX (64 * 1024)

static const char *const top_keys[] = { "agent", "credentials", "http",
	"sources", "rules", "notifiers", "storage", "backups",
	"archive", NULL };
static const char *const agent_keys[] = { "state_dir", "log_level",
	"control_socket", "hostname", "syslog", "spool_max", "socket_mode",
	"socket_group", NULL };
static const char *const log_levels[] = { "error", "warning", "info", "debug",
	NULL };

/* Append the human path of ${s} ("rules[1].warn") to ${buf}. */
static void
setting_path(const config_setting_t *s, char *buf, size_t len)
{
	const config_setting_t *chain[32];
	size_t n = 0, off = 0;

	buf[0] = '\0';
	for (; s != NULL && config_setting_parent(s) != NULL && n < 32;
	     s = config_setting_parent(s))
		chain[n++] = s;
	while (n-- > 0 && off < len) {
		const config_setting_t *c = chain[n];
		const char *name = config_setting_name(c);
		int w;

		if (name != NULL)
			w = snprintf(buf + off, len - off, "%s%s",
			    off > 0 ? "." : "", name);
		else
			w = snprintf(buf + off, len - off, "[%d]",
			    config_setting_index(c));
		if (w < 0)
			break;
		off += (size_t)w;
	}
}

/*
 * Keep ${msg} (malloc'd; NULL if making it ran out of memory) in ${e}, or,
 * past CONF_MAX_ERRS, count it in the last line.  Always returns -1.
 */
static int
add_msg(struct conf_errs *e, char *msg)
{
	size_t more;
	char **v;

	e->total++;
	if (e->total > CONF_MAX_ERRS) {
		free(msg);
		more = e->total - CONF_MAX_ERRS;
		if (asprintf(&msg, "... and %zu more error%s", more,
			more == 1 ? "" : "s") < 0)
			return -1;
		if (e->n > CONF_MAX_ERRS) {
			free(e->msgs[CONF_MAX_ERRS]);
			e->msgs[CONF_MAX_ERRS] = msg;
			return -1;
		}
	}
	if (msg == NULL)
		return -1;
	if ((v = realloc(e->msgs, (e->n + 1) * sizeof(*v))) == NULL) {
		free(msg);
		return -1;
	}
	e->msgs = v;
	e->msgs[e->n++] = msg;
	return -1;
}

/*
 * Where ${s} is: its file and line, and whether that file may hold inline
 * secrets.  The root setting carries the map from the lines libconfig saw
 * to files (conf_load()).
 */
static void
node_where(const struct conf_errs *e, const config_setting_t *s,
    const char **ret_file, int *ret_line, bool *ret_private)
{
	const config_setting_t *root = s;
	const struct conf_src *src;

	*ret_file = e != NULL && e->file != NULL ? e->file : "<default>";
	*ret_line = 0;
	*ret_private = e != NULL && e->file_private;
	if (s == NULL)
		return;
	while (config_setting_parent(root) != NULL)
		root = config_setting_parent(root);
	if ((src = config_setting_get_hook(root)) != NULL) {
		conf_src_where(src, config_setting_source_line(s), ret_file,
		    ret_line, ret_private);
		return;
	}
	if (config_setting_source_file(s) != NULL)
		*ret_file = config_setting_source_file(s);
	*ret_line = config_setting_source_line(s);
}

static int
verror(struct conf_errs *e, const config_setting_t *s, const char *member,
    const char *fmt, va_list ap)
{
	char path[512], what[1024], *msg;
	const char *file;
	size_t plen;
	bool priv;
	int line;

	node_where(e, s, &file, &line, &priv);
	setting_path(s, path, sizeof(path));
	plen = strlen(path);
	if (member != NULL)
		snprintf(path + plen, sizeof(path) - plen, "%s%s",
		    plen > 0 ? "." : "", member);
	vsnprintf(what, sizeof(what), fmt, ap);
	if (asprintf(&msg, "%s:%d: %s%s%s", file, line, path,
		path[0] != '\0' ? ": " : "", what) < 0)
		msg = NULL;
	return add_msg(e, msg);
}

int
conf_error(struct conf_errs *e, const conf_node *node, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void)verror(e, node, NULL, fmt, ap);
	va_end(ap);
	return -1;
}

int
conf_error_line(struct conf_errs *e, const char *file, int line,
    const char *fmt, ...)
{
	char what[1024], *msg;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (asprintf(&msg, "%s:%d: %s", file, line, what) < 0)
		msg = NULL;
	return add_msg(e, msg);
}

int
conf_error_msg(struct conf_errs *e, const char *msg)
{
	return add_msg(e, strdup(msg));
}

int
conf_error_at(struct conf_errs *e, const conf_node *group, const char *name,
    const char *fmt, ...)
{
	const config_setting_t *m = conf_member(group, name);
	va_list ap;

	va_start(ap, fmt);
	if (m != NULL)
		(void)verror(e, m, NULL, fmt, ap);
	else
		(void)verror(e, group, name, fmt, ap);
	va_end(ap);
	return -1;
}

void
conf_errs_free(struct conf_errs *e)
{
	for (size_t i = 0; i < e->n; i++)
		free(e->msgs[i]);
	free(e->msgs);
	e->msgs = NULL;
	e->n = 0;
}

/* Navigation. */

size_t
conf_len(const conf_node *list)
{
	return list != NULL ? (size_t)config_setting_length(list) : 0;
}

const conf_node *
conf_elem(const conf_node *list, size_t i)
{
	return list != NULL ? config_setting_get_elem(list, (unsigned)i) :
			      NULL;
}

const conf_node *
conf_member(const conf_node *group, const char *name)
{
	if (group == NULL || !config_setting_is_group(group))
		return NULL;
	return config_setting_get_member(group, name);
}

bool
conf_is_group(const conf_node *node)
{
	return node != NULL && config_setting_is_group(node);
}

bool
conf_is_list(const conf_node *node)
{
	return node != NULL &&
	    (config_setting_is_list(node) || config_setting_is_array(node));
}

const char *
conf_name(const conf_node *node)
{
	return node != NULL ? config_setting_name(node) : NULL;
}

const conf_node *
conf_parent(const conf_node *node)
{
	return node != NULL ? config_setting_parent(node) : NULL;
}

int
conf_line(const conf_node *node)
{
	const char *file;
	bool priv;
	int line;

	node_where(NULL, node, &file, &line, &priv);
	return line;
}

static const char *
type_name(const config_setting_t *s)
{
	switch (config_setting_type(s)) {
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64:
		return "an integer";
	case CONFIG_TYPE_FLOAT:
		return "a number";
	case CONFIG_TYPE_STRING:
		return "a string";
	case CONFIG_TYPE_BOOL:
		return "a boolean";
	case CONFIG_TYPE_ARRAY:
		return "an array";
	case CONFIG_TYPE_LIST:
		return "a list";
	case CONFIG_TYPE_GROUP:
		return "a group";
	default:
		return "something else";
	}
}

/*
 * Find ${name} in ${group}.  Return the member, or NULL if absent (after
 * recording an error when it is required).
 */
static const config_setting_t *
lookup(struct conf_errs *e, const conf_node *group, const char *name,
    bool required)
{
	const config_setting_t *m = conf_member(group, name);

	if (m == NULL && required)
		(void)conf_error_at(e, group, name, "missing (required)");
	return m;
}

int
conf_get_str(struct conf_errs *e, const conf_node *group, const char *name,
    bool required, const char **ret)
{
	const config_setting_t *m = lookup(e, group, name, required);

	if (m == NULL)
		return 0;
	if (config_setting_type(m) != CONFIG_TYPE_STRING)
		return conf_error(e, m, "must be a string, not %s",
		    type_name(m));
	*ret = config_setting_get_string(m);
	return 1;
}

int
conf_get_bool(struct conf_errs *e, const conf_node *group, const char *name,
    bool required, bool *ret)
{
	const config_setting_t *m = lookup(e, group, name, required);

	if (m == NULL)
		return 0;
	if (config_setting_type(m) != CONFIG_TYPE_BOOL)
		return conf_error(e, m, "must be true or false, not %s",
		    type_name(m));
	*ret = config_setting_get_bool(m) != 0;
	return 1;
}

int
conf_get_int(struct conf_errs *e, const conf_node *group, const char *name,
    bool required, int64_t min, int64_t max, int64_t *ret)
{
	const config_setting_t *m = lookup(e, group, name, required);
	int64_t v;

	if (m == NULL)
		return 0;
	if (config_setting_type(m) != CONFIG_TYPE_INT &&
	    config_setting_type(m) != CONFIG_TYPE_INT64)
		return conf_error(e, m, "must be an integer, not %s",
		    type_name(m));
	v = config_setting_get_int64(m);
	if (v < min || v > max)
		return conf_error(e, m, "%lld is out of range [%lld, %lld]",
		    (long long)v, (long long)min, (long long)max);
	*ret = v;
	return 1;
}

int
conf_get_num(struct conf_errs *e, const conf_node *group, const char *name,
    bool required, double min, double max, double *ret)
{
	const config_setting_t *m = lookup(e, group, name, required);
	double v;

	if (m == NULL)
		return 0;
	switch (config_setting_type(m)) {
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64:
		v = (double)config_setting_get_int64(m);
		break;
	case CONFIG_TYPE_FLOAT:
		v = config_setting_get_float(m);
		break;
	default:
		return conf_error(e, m, "must be a number, not %s",
		    type_name(m));
	}
	if (!isfinite(v) || v < min || v > max)
		return conf_error(e, m, "%g is out of range [%g, %g]", v, min,
		    max);
	*ret = v;
	return 1;
}

int
conf_get_dur(struct conf_errs *e, const conf_node *group, const char *name,
    bool required, int64_t min_ms, int64_t *ret_ms)
{
	const config_setting_t *m = lookup(e, group, name, required);
	int64_t v;
	char buf[32];

	if (m == NULL)
		return 0;
	if (config_setting_type(m) != CONFIG_TYPE_STRING)
		return conf_error(e, m,
		    "must be a duration string such as "
		    "\"90s\", \"5m\" or \"2h\", not %s",
		    type_name(m));
	if (parse_duration_ms(config_setting_get_string(m), &v) != 0)
		return conf_error(e, m,
		    "\"%s\" is not a duration (use e.g. "
		    "\"90s\", \"5m\", \"2h\", \"1d\")",
		    config_setting_get_string(m));
	if (v < min_ms) {
		format_duration(min_ms, buf, sizeof(buf));
		return conf_error(e, m, "\"%s\" is too short (at least %s)",
		    config_setting_get_string(m), buf);
	}
	*ret_ms = v;
	return 1;
}

int
conf_get_size(struct conf_errs *e, const conf_node *group, const char *name,
    bool required, uint64_t *ret)
{
	const config_setting_t *m = lookup(e, group, name, required);
	uint64_t v;

	if (m == NULL)
		return 0;
	switch (config_setting_type(m)) {
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64:
		if (config_setting_get_int64(m) < 0)
			return conf_error(e, m, "must not be negative");
		v = (uint64_t)config_setting_get_int64(m);
		break;
	case CONFIG_TYPE_STRING:
		if (parse_size(config_setting_get_string(m), &v) != 0)
			return conf_error(e, m,
			    "\"%s\" is not a size (use "
			    "e.g. 4096, \"64KiB\", \"4MiB\")",
			    config_setting_get_string(m));
		break;
	default:
		return conf_error(e, m, "must be a size, not %s",
		    type_name(m));
	}
	*ret = v;
	return 1;
}

int
conf_get_enum(struct conf_errs *e, const conf_node *group, const char *name,
    bool required, const char *const *choices, int *ret)
{
	const char *s = NULL;
	char list[512];
	size_t off = 0;
	int rc;

	if ((rc = conf_get_str(e, group, name, required, &s)) != 1)
		return rc;
	for (int i = 0; choices[i] != NULL; i++) {
		if (strcmp(s, choices[i]) == 0) {
			*ret = i;
			return 1;
		}
	}
	list[0] = '\0';
	for (int i = 0; choices[i] != NULL && off < sizeof(list); i++)
		off += (size_t)snprintf(list + off, sizeof(list) - off,
		    "%s\"%s\"", i > 0 ? ", " : "", choices[i]);
	return conf_error_at(e, group, name, "\"%s\" is not one of %s", s,
	    list);
}

int
conf_get_strv(struct conf_errs *e, const conf_node *group, const char *name,
    bool required, char ***ret, size_t *ret_n)
{
	const config_setting_t *m = lookup(e, group, name, required);
	char **v;
	size_t n;

	if (m == NULL)
		return 0;
	if (config_setting_type(m) == CONFIG_TYPE_STRING) {
		if ((v = calloc(2, sizeof(*v))) == NULL ||
		    (v[0] = strdup(config_setting_get_string(m))) == NULL) {
			free(v);
			return conf_error(e, m, "out of memory");
		}
		*ret = v;
		*ret_n = 1;
		return 1;
	}
	if (!conf_is_list(m))
		return conf_error(e, m, "must be a list of strings, not %s",
		    type_name(m));
	n = conf_len(m);
	if ((v = calloc(n + 1, sizeof(*v))) == NULL)
		return conf_error(e, m, "out of memory");
	for (size_t i = 0; i < n; i++) {
		const config_setting_t *el = conf_elem(m, i);

		if (config_setting_type(el) != CONFIG_TYPE_STRING) {
			ag_strv_free(v);
			return conf_error(e, el, "must be a string, not %s",
			    type_name(el));
		}
		if ((v[i] = strdup(config_setting_get_string(el))) == NULL) {
			ag_strv_free(v);
			return conf_error(e, m, "out of memory");
		}
	}
	*ret = v;
	*ret_n = n;
	return 1;
}

void
conf_secret_free(char *s)
{
	if (s == NULL)
		return;
	/* explicit_bzero (glibc), not crypto_wipe: conf/ needs no OpenSSL. */
	explicit_bzero(s, strlen(s));
	free(s);
}

/* Read a secret file, refusing one that others may read. */
static int
read_secret_file(struct conf_errs *e, const config_setting_t *m,
    const char *path, char **ret)
{
	struct stat st;
	char *buf, why[160];
	size_t len;

	if (conf_read_regular(path, SECRET_MAX, &buf, &len, &st, why,
		sizeof(why)) != 0)
		return conf_error(e, m, "\"%s\" %s", path, why);
	if ((st.st_mode & 077) != 0) {
		explicit_bzero(buf, len);
		free(buf);
		return conf_error(e, m,
		    "\"%s\" is readable by group or others "
		    "(mode %04o): chmod 600 it",
		    path, (unsigned)(st.st_mode & 07777));
	}
	if (len > 0 && buf[len - 1] == '\n')
		buf[--len] = '\0';
	if (len > 0 && buf[len - 1] == '\r')
		buf[--len] = '\0';
	if (len == 0 || strlen(buf) != len) {
		explicit_bzero(buf, len);
		free(buf);
		return conf_error(e, m, "\"%s\" holds no usable secret", path);
	}
	*ret = buf;
	return 1;
}

int
conf_get_secret(struct conf_errs *e, const conf_node *group, const char *name,
    bool required, char **ret)
{
	char fname[128], ename[128];
	const config_setting_t *mi, *mf, *me;
	const char *s, *file;
	bool priv;
	int given, line;

	snprintf(fname, sizeof(fname), "%s_file", name);
	snprintf(ename, sizeof(ename), "%s_env", name);
	mi = conf_member(group, name);
	mf = conf_member(group, fname);
	me = conf_member(group, ename);
	given = (mi != NULL) + (mf != NULL) + (me != NULL);
	if (given == 0) {
		if (required)
			return conf_error_at(e, group, name,
			    "missing "
			    "(set %s, %s or %s)",
			    name, fname, ename);
		return 0;
	}
	if (given > 1)
		return conf_error(e, mi != NULL ? mi : mf,
		    "give only one of "
		    "%s, %s and %s",
		    name, fname, ename);
	if (mi != NULL) {
		if (conf_get_str(e, group, name, true, &s) != 1)
			return -1;
		/* The rule holds for the file the secret is in. */
		node_where(e, mi, &file, &line, &priv);
		if (!priv)
			return conf_error(e, mi,
			    "inline secret in a file that "
			    "group or others can read: use %s, or chmod 600 "
			    "%s",
			    fname, file);
		if (s[0] == '\0')
			return conf_error(e, mi, "is empty");
		if ((*ret = strdup(s)) == NULL)
			return conf_error(e, mi, "out of memory");
		return 1;
	}
	if (mf != NULL) {
		if (conf_get_str(e, group, fname, true, &s) != 1)
			return -1;
		return read_secret_file(e, mf, s, ret);
	}
	if (conf_get_str(e, group, ename, true, &s) != 1)
		return -1;
	{
		const char *v = getenv(s);

		if (v == NULL || v[0] == '\0')
			return conf_error(e, me,
			    "environment variable %s is "
			    "not set",
			    s);
		if ((*ret = strdup(v)) == NULL)
			return conf_error(e, me, "out of memory");
	}
	return 1;
}

static bool
listed(const char *const *v, const char *name)
{
	for (size_t k = 0; v != NULL && v[k] != NULL; k++)
		if (strcmp(name, v[k]) == 0)
			return true;
	return false;
}

int
conf_check_keys(struct conf_errs *e, const conf_node *group,
    const char *const *allowed)
{
	return conf_check_keys2(e, group, allowed, NULL);
}

int
conf_check_keys2(struct conf_errs *e, const conf_node *group,
    const char *const *common, const char *const *extra)
{
	int bad = 0;

	if (!conf_is_group(group))
		return 0;
	for (size_t i = 0; i < conf_len(group); i++) {
		const config_setting_t *m = conf_elem(group, i);
		const char *name = config_setting_name(m);

		if (!listed(common, name) && !listed(extra, name)) {
			(void)conf_error(e, m, "unknown setting");
			bad++;
		}
	}
	return bad;
}

/* Defaults that depend on who runs us: root gets the system paths. */
static char *
default_path(const char *system_path, const char *env, const char *fallback,
    const char *leaf)
{
	const char *base;
	char *p;

	if (geteuid() == 0)
		return strdup(system_path);
	if ((base = getenv(env)) != NULL && base[0] == '/') {
		if (asprintf(&p, "%s/vigil%s", base, leaf) < 0)
			return NULL;
		return p;
	}
	if (strcmp(env, "XDG_STATE_HOME") == 0 &&
	    (base = getenv("HOME")) != NULL && base[0] == '/') {
		if (asprintf(&p, "%s/.local/state/vigil%s", base, leaf) < 0)
			return NULL;
		return p;
	}
	if (asprintf(&p, "%s-%u%s", fallback, (unsigned)geteuid(), leaf) < 0)
		return NULL;
	return p;
}

/*
 * The embedded default with "@STATE_DIR@" replaced by the default state
 * directory of whoever runs us.  Return a malloc'd string or NULL.
 */
static char *
default_text(void)
{
	static const char mark[] = "@STATE_DIR@";
	char *dir = default_path(VIGIL_DEFAULT_STATE_DIR, "XDG_STATE_HOME",
	    "/tmp/vigil-state", "");
	const char *p, *q;
	size_t n = 0, dlen;
	char *out = NULL, *o;

	if (dir == NULL)
		return NULL;
	dlen = strlen(dir);
	for (p = conf_default_text; (q = strstr(p, mark)) != NULL;
	     p = q + sizeof(mark) - 1)
		n++;
	if ((out = malloc(strlen(conf_default_text) + n * dlen + 1)) == NULL)
		goto out;
	o = out;
	for (p = conf_default_text; (q = strstr(p, mark)) != NULL;
	     p = q + sizeof(mark) - 1) {
		memcpy(o, p, (size_t)(q - p));
		o += q - p;
		memcpy(o, dir, dlen);
		o += dlen;
	}
	strcpy(o, p);
out:
	free(dir);
	return out;
}

static int
read_agent(struct conf *c, struct conf_errs *e, const config_setting_t *ag)
{
	struct agent_conf *a = &c->agent;
	const char *s;
	char host[256];
	int lvl = 2;

	if (ag != NULL && !conf_is_group(ag))
		return conf_error(e, ag, "must be a group: agent = { ... };");
	conf_check_keys(e, ag, agent_keys);
	if (conf_get_str(e, ag, "state_dir", false, &s) == 1) {
		if (s[0] != '/')
			conf_error_at(e, ag, "state_dir",
			    "must be an "
			    "absolute path");
		a->state_dir = strdup(s);
	} else {
		a->state_dir = default_path(VIGIL_DEFAULT_STATE_DIR,
		    "XDG_STATE_HOME", "/tmp/vigil-state", "");
	}
	if (conf_get_str(e, ag, "control_socket", false, &s) == 1) {
		if (s[0] != '/')
			conf_error_at(e, ag, "control_socket",
			    "must be an "
			    "absolute path");
		if (strlen(s) >= 100)
			conf_error_at(e, ag, "control_socket",
			    "is too long "
			    "for a Unix socket path");
		a->control_socket = strdup(s);
	} else {
		a->control_socket = default_path(VIGIL_DEFAULT_SOCKET,
		    "XDG_RUNTIME_DIR", "/tmp/vigil", "/vigild.sock");
	}
	(void)conf_get_enum(e, ag, "log_level", false, log_levels, &lvl);
	a->log_level = strdup(log_levels[lvl]);
	if (conf_get_str(e, ag, "hostname", false, &s) == 1) {
		a->hostname = strdup(s);
	} else {
		if (gethostname(host, sizeof(host)) != 0)
			snprintf(host, sizeof(host), "localhost");
		host[sizeof(host) - 1] = '\0';
		a->hostname = strdup(host);
	}
	(void)conf_get_bool(e, ag, "syslog", false, &a->syslog);
	a->spool_max = 10000;
	(void)conf_get_int(e, ag, "spool_max", false, 10, 1000000,
	    &a->spool_max);
	a->socket_mode = 0660;
	if (conf_get_str(e, ag, "socket_mode", false, &s) == 1) {
		char *end;
		long m = strtol(s, &end, 8);

		/* libconfig has no octal numbers, so a mode is a string. */
		if (*s == '\0' || *end != '\0' || m < 0600 || m > 0777)
			conf_error_at(e, ag, "socket_mode",
			    "\"%s\" is not an "
			    "octal mode between \"0600\" and \"0777\"",
			    s);
		else
			a->socket_mode = m;
	}
	if (conf_get_str(e, ag, "socket_group", false, &s) == 1)
		a->socket_group = strdup(s);
	if (a->state_dir == NULL || a->control_socket == NULL ||
	    a->log_level == NULL || a->hostname == NULL)
		return conf_error(e, ag, "out of memory");
	return 0;
}

static const config_setting_t *
section(struct conf_errs *e, config_t *cfg, const char *name, bool want_list)
{
	const config_setting_t *s = config_lookup(cfg, name);

	if (s == NULL)
		return NULL;
	if (want_list && !config_setting_is_list(s)) {
		(void)conf_error(e, s,
		    "must be a list: %s = ( { ... }, ... );", name);
		return NULL;
	}
	if (!want_list && !config_setting_is_group(s)) {
		(void)conf_error(e, s, "must be a group: %s = { ... };", name);
		return NULL;
	}
	return s;
}

int
conf_load(const char *path, struct conf **ret, struct conf_errs *errs)
{
	struct conf *c;
	config_t *cfg;
	const char *file;
	char *text;
	bool priv;
	int line;

	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (cfg = malloc(sizeof(*cfg))) == NULL) {
		free(c);
		return -1;
	}
	c->cfg = cfg;
	config_init(cfg);
	c->path = strdup(path != NULL ? path : "<default>");
	if (c->path == NULL)
		goto err0;
	errs->file = c->path;
	/* The embedded default holds no secrets; a file must earn trust. */
	errs->file_private = true;
	if (path != NULL) {
		/* Read and check every file ourselves (conf_src.c). */
		if (conf_src_load(path, &c->src, errs) != 0)
			goto err0;
	} else {
		if ((text = default_text()) != NULL)
			c->src = conf_src_new_text(c->path, text);
		free(text);
		if (c->src == NULL)
			goto err0;
	}
	conf_src_where(c->src, 0, &file, &line, &errs->file_private);
	/*
	 * The includes are spliced in already.  Should libconfig still take
	 * a directive, it looks beneath /dev/null, where nothing can be
	 * opened, and reports an error instead of reading a file.
	 */
	config_set_include_dir(cfg, "/dev/null");
	if (!config_read_string(cfg, conf_src_text(c->src))) {
		conf_src_where(c->src, config_error_line(cfg), &file, &line,
		    &priv);
		(void)conf_error_line(errs, file, line, "syntax error: %s",
		    config_error_text(cfg));
		goto err0;
	}
	config_setting_set_hook(config_root_setting(cfg), c->src);
	conf_check_keys(errs, config_root_setting(cfg), top_keys);
	if (read_agent(c, errs, config_lookup(cfg, "agent")) != 0)
		goto err0;
	(void)conf_http_read(errs, config_lookup(cfg, "http"), &c->http);
	c->sources = section(errs, cfg, "sources", true);
	c->rules = section(errs, cfg, "rules", true);
	c->notifiers = section(errs, cfg, "notifiers", true);
	c->backups = section(errs, cfg, "backups", true);
	c->storage = section(errs, cfg, "storage", false);
	c->credentials = section(errs, cfg, "credentials", false);
	c->archive = section(errs, cfg, "archive", false);
	*ret = c;
	return 0;

err0:
	conf_free(c);
	return -1;
}

void
conf_free(struct conf *c)
{
	if (c == NULL)
		return;
	free(c->agent.state_dir);
	free(c->agent.log_level);
	free(c->agent.control_socket);
	free(c->agent.hostname);
	free(c->agent.socket_group);
	conf_http_free(&c->http);
	if (c->cfg != NULL) {
		config_destroy(c->cfg);
		free(c->cfg);
	}
	conf_src_free(c->src);
	free(c->path);
	free(c);
}
