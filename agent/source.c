/*
 * source.c: source instances and the wrappers the scheduler calls (see
 * source.h).
 *
 * Source types are lines of the plug-in table (agent/plugins.c); the
 * config names one by "type".  source_new() reads the settings every
 * source has (name, interval) and leaves the rest to
 * plugin_instance_new(), the constructor notifiers share: the type, the
 * settings it does not know, its configure hook.  The local sources read
 * /proc through source_proc_path(), whose root tests move to recorded
 * samples under tests/data/proc/.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/ag.h"
#include "agent/plugin.h"
#include "agent/source.h"
#include "agent/source_backend.h"

/* Shortest interval a source may ask for. */
#define SOURCE_MIN_INTERVAL_MS 1000
/* The longest wait of a failing source (also at most 16 intervals). */
#define SOURCE_MAX_BACKOFF_MS (10 * 60 * 1000)

/* Prefix of every /proc path; "" is the real /proc. */
static char proc_root[PATH_MAX];

/* The settings every source has besides "type". */
struct source_common {
	const char *name; /* NULL: the type's name */
	int64_t interval;
};

static void
source_read_common(const conf_node *cs, struct conf_errs *errs, void *arg)
{
	struct source_common *sc = arg;

	(void)conf_get_str(errs, cs, "name", false, &sc->name);
	if (sc->name != NULL && sc->name[0] == '\0') {
		(void)conf_error_at(errs, cs, "name", "must not be empty");
		sc->name = NULL;
	}
	(void)conf_get_dur(errs, cs, "interval", false, SOURCE_MIN_INTERVAL_MS,
	    &sc->interval);
}

static const char *const source_common_keys[] = { "type", "name", "interval",
	NULL };

static const struct plugin_class source_class = {
	.kind = PLUGIN_SOURCE,
	.not_group = "a source must be a group: { type = \"cpu\"; ... }",
	.common = source_common_keys,
	.read_common = source_read_common,
};

/**
 * source_new(cs, errs):
 * Create the source described by the config group ${cs} ("type", optional
 * "name" and "interval", and the type's own settings).  Errors go to ${errs};
 * return NULL if any.
 */
struct source *
source_new(const conf_node *cs, struct conf_errs *errs)
{
	struct source_common sc = { NULL, SOURCE_DEFAULT_INTERVAL_MS };
	const struct plugin_ops *ops;
	struct source *s;
	void *ctx;

	if (plugin_instance_new(&source_class, cs, &sc, &ops, &ctx, errs) != 0)
		return NULL;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		goto err0;
	if ((s->name = strdup(sc.name != NULL ? sc.name : ops->type)) == NULL)
		goto err1;
	/* ${ops} is the base of the type's struct source_ops. */
	s->ops = (const struct source_ops *)ops;
	s->ctx = ctx;
	s->interval_ms = sc.interval;
	s->cur_interval_ms = sc.interval;
	return s;

err1:
	free(s);
err0:
	(void)conf_error(errs, cs, "out of memory");
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

int
source_cost(const struct source *s, char *buf, size_t len)
{
	if (s->ops->cost == NULL || len == 0)
		return 0;
	return s->ops->cost(s->ctx, s->interval_ms, buf, len);
}

int64_t
source_cadence_ms(const struct source *s)
{
	int64_t c = s->ops->cadence_ms != NULL ? s->ops->cadence_ms(s->ctx) :
						 0;

	return c > s->interval_ms ? c : s->interval_ms;
}

int64_t
source_next_interval(const struct source *s, int64_t cur_ms, bool ok)
{
	int64_t cap = s->interval_ms * 16;

	if (ok)
		return s->interval_ms;
	if (cap > SOURCE_MAX_BACKOFF_MS)
		cap = SOURCE_MAX_BACKOFF_MS;
	if (cap < s->interval_ms)
		cap = s->interval_ms;
	cur_ms *= 2;
	return cur_ms > cap ? cap : cur_ms;
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

json_t *
source_json(const struct source *s)
{
	return json_pack("{s:s, s:s, s:I, s:I, s:I, s:i, s:s}", "name",
	    s->name, "type", source_type(s), "interval_ms",
	    (json_int_t)s->interval_ms, "last_ok_ms",
	    (json_int_t)s->last_ok_ms, "last_duration_ms",
	    (json_int_t)s->last_dur_ms, "failures", (int)s->failures,
	    "last_error", s->last_err);
}
