/*
 * source.c: source instances and the wrappers the scheduler calls (see
 * source.h).
 *
 * Source types are lines of the plug-in table (agent/plugins.c); the
 * config names one by "type".  source_new() reads the settings every source has
 * (type, name, interval), refuses settings the type does not know, and
 * hands the group to the type's configure hook.  The local sources read
 * /proc through source_proc_path(), whose root tests move to recorded
 * samples under tests/data/proc/.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/ag.h"
#include "lib/plugin.h"
#include "agent/source.h"
#include "agent/source_backend.h"

/* Shortest interval a source may ask for. */
#define SOURCE_MIN_INTERVAL_MS 1000

/* Prefix of every /proc path; "" is the real /proc. */
static char proc_root[PATH_MAX];

/**
 * source_new(cs, errs):
 * Create the source described by the config group ${cs} ("type", optional
 * "name" and "interval", and the type's own settings).  Errors go to ${errs};
 * return NULL if any.
 */
struct source *
source_new(const conf_node *cs, struct conf_errs *errs)
{
	static const char *const common_keys[] = { "type", "name", "interval",
		NULL };
	const struct source_ops *ops;
	const void *found;
	const char *type = NULL, *name = NULL;
	struct ag_err err = { "" };
	int64_t interval = SOURCE_DEFAULT_INTERVAL_MS;
	struct source *s;
	size_t nerr = errs->n;
	void *ctx = NULL;

	if (!conf_is_group(cs)) {
		(void)conf_error(errs, cs, "a source must be a group: "
		    "{ type = \"cpu\"; ... }");
		return NULL;
	}
	if (conf_get_str(errs, cs, "type", true, &type) != 1)
		return NULL;
	if (plugin_find(PLUGIN_SOURCE, type, &found, &err) != 0) {
		(void)conf_error_at(errs, cs, "type", "%s", err.msg);
		return NULL;
	}
	ops = found;
	(void)conf_get_str(errs, cs, "name", false, &name);
	if (name != NULL && name[0] == '\0')
		(void)conf_error_at(errs, cs, "name", "must not be empty");
	if (name == NULL || name[0] == '\0')
		name = type;
	(void)conf_get_dur(errs, cs, "interval", false,
	    SOURCE_MIN_INTERVAL_MS, &interval);

	(void)conf_check_keys2(errs, cs, common_keys, ops->settings);

	if (ops->configure(&ctx, cs, errs) == -1 || errs->n > nerr)
		goto err0;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		goto err1;
	if ((s->name = strdup(name)) == NULL)
		goto err2;
	s->ops = ops;
	s->ctx = ctx;
	s->interval_ms = interval;
	s->cur_interval_ms = interval;
	return s;

err2:
	free(s);
err1:
	(void)conf_error(errs, cs, "out of memory");
err0:
	if (ctx != NULL)
		ops->free(ctx);
	return NULL;
}

/**
 * source_collect(s, out, err):
 * Append ${s}'s readings to ${out}.  Return 0, AG_RETRY or -1 (with ${err}).
 */
int
source_collect(struct source *s, struct metric_batch *out, struct ag_err *err)
{
	size_t n0 = out->n;
	int rc;

	if (err != NULL)
		err->msg[0] = '\0';
	rc = s->ops->collect(s->ctx, out, err);
	s->last_count = out->n - n0;
	return rc;
}

/**
 * source_patterns(s):
 * NULL-terminated globs of the metric names ${s} can produce.
 */
const char *const *
source_patterns(const struct source *s)
{
	return s->ops->patterns(s->ctx);
}

/* source_free(s): free ${s}; NULL does nothing. */
void
source_free(struct source *s)
{
	if (s == NULL)
		return;
	if (s->ctx != NULL)
		s->ops->free(s->ctx);
	free(s->name);
	free(s);
}

/* source_set_proc_root(root): read /proc and mounts under ${root} (tests). */
void
source_set_proc_root(const char *root)
{
	size_t len;

	if (root == NULL)
		root = "";
	(void)snprintf(proc_root, sizeof(proc_root), "%s", root);
	/* "/x/" and "/x" are the same root; keep "<root>/proc" tidy. */
	len = strlen(proc_root);
	while (len > 0 && proc_root[len - 1] == '/')
		proc_root[--len] = '\0';
}

/*
 * source_proc_path(rel, buf, len):
 * The path of /proc/${rel} under the root, in ${buf}; NULL if it does not
 * fit in ${len} bytes.
 */
const char *
source_proc_path(const char *rel, char *buf, size_t len)
{
	int n;

	n = snprintf(buf, len, "%s/proc/%s", proc_root, rel);
	if (n < 0 || (size_t)n >= len)
		return NULL;
	return buf;
}

const char *
source_type(const struct source *s)
{
	return s->ops->type;
}
