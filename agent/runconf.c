/*
 * runconf.c: see runconf.h.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "paths.h"
#include "lib/parsenum.h"

#include "agent/plugin_module.h"
#include "agent/child.h"
#include "agent/archive.h"
#include "agent/history.h"
#include "agent/jobconf_check.h"
#include "agent/jobs.h"
#include "agent/notify_backend.h"
#include "agent/runconf.h"

static int
name_taken(char *const *names, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(names[i], name) == 0)
			return 1;
	return 0;
}

static int
build_sources(struct runconf *rc, struct conf_errs *e)
{
	const conf_node *list = rc->conf->sources;
	size_t n = conf_len(list);

	if ((rc->sources = calloc(n + 1, sizeof(*rc->sources))) == NULL)
		return conf_error(e, list, "out of memory");
	for (size_t i = 0; i < n; i++) {
		const conf_node *cs = conf_elem(list, i);
		struct source *s;

		if (!conf_is_group(cs)) {
			conf_error(e, cs, "must be a group: { type = ...; }");
			continue;
		}
		if ((s = source_new(cs, e)) == NULL)
			continue;
		for (size_t k = 0; k < rc->nsources; k++) {
			if (strcmp(rc->sources[k]->name, s->name) == 0) {
				conf_error(e, cs,
				    "a source named \"%s\" "
				    "exists already (line %d): give this one "
				    "a name",
				    s->name, conf_line(conf_elem(list, k)));
				break;
			}
		}
		rc->sources[rc->nsources++] = s;
	}
	return 0;
}

static int
build_notifiers(struct runconf *rc, struct conf_errs *e)
{
	const conf_node *list = rc->conf->notifiers;
	size_t n = conf_len(list);
	char *names[1024];
	size_t nn = 0;

	/* Room for the implicit "log" notifier. */
	if ((rc->notifiers = calloc(n + 1, sizeof(*rc->notifiers))) == NULL)
		return conf_error(e, list, "out of memory");
	for (size_t i = 0; i < n; i++) {
		const conf_node *cs = conf_elem(list, i);
		struct notifier *nf;

		if (!conf_is_group(cs)) {
			conf_error(e, cs,
			    "must be a group: { name = ...; "
			    "type = ...; }");
			continue;
		}
		if ((nf = notifier_new(cs, e)) == NULL)
			continue;
		if (name_taken(names, nn, nf->name))
			conf_error(e, cs,
			    "a notifier named \"%s\" exists "
			    "already",
			    nf->name);
		else if (nn < ARRAY_SIZE(names))
			names[nn++] = nf->name;
		rc->notifiers[rc->nnotifiers++] = nf;
	}
	return 0;
}

/* The "log" notifier is always there, even when the file defines none. */
static int
add_log_notifier(struct runconf *rc, struct conf_errs *e)
{
	struct notifier *nf;

	if (runconf_notifier(rc, "log") != NULL)
		return 0;
	if ((nf = calloc(1, sizeof(*nf))) == NULL ||
	    (nf->name = strdup("log")) == NULL) {
		free(nf);
		return conf_error(e, NULL, "out of memory");
	}
	nf->ops = &ntf_log_ops;
	if (ntf_log_ops.configure(&nf->ctx, NULL, e) != 0) {
		free(nf->name);
		free(nf);
		return -1;
	}
	rc->notifiers[rc->nnotifiers++] = nf;
	return 0;
}

/* Can any source or backup job produce a metric matching ${selector}? */
static int
metric_produced(const struct runconf *rc, const char *selector)
{
	/* The spool's health, which the scheduler publishes itself. */
	if (metric_glob_overlap(selector, "agent.spool_write_errors"))
		return 1;
	for (size_t i = 0; i < rc->njobs; i++) {
		for (size_t k = 0; jobs_metric_suffixes[k] != NULL; k++) {
			char name[METRIC_NAME_MAX];

			snprintf(name, sizeof(name), "backup.%s.%s",
			    rc->jobs[i]->name, jobs_metric_suffixes[k]);
			if (metric_glob_overlap(selector, name))
				return 1;
		}
	}
	for (size_t i = 0; i < rc->nsources; i++) {
		const char *const *p = source_patterns(rc->sources[i]);

		for (; p != NULL && *p != NULL; p++)
			if (metric_glob_overlap(selector, *p))
				return 1;
	}
	return 0;
}

/* Does the rule ${cs} name a metric and notifiers that exist? */
static void
check_refs(const struct runconf *rc, const conf_node *cs, struct conf_errs *e)
{
	struct conf_errs quiet = { .file_private = e->file_private };
	const char *sel;
	char **notify = NULL;
	size_t n = 0;

	/* Type errors of these settings were reported by the parser. */
	if (conf_get_str(&quiet, cs, "metric", false, &sel) == 1 &&
	    !metric_produced(rc, sel))
		conf_error_at(e, cs, "metric",
		    "no source produces a metric "
		    "matching \"%s\"",
		    sel);
	if (conf_get_strv(&quiet, cs, "notify", false, &notify, &n) == 1)
		for (size_t k = 0; k < n; k++)
			if (runconf_notifier(rc, notify[k]) == NULL)
				conf_error_at(e, cs, "notify",
				    "no notifier "
				    "named \"%s\"",
				    notify[k]);
	ag_strv_free(notify);
	conf_errs_free(&quiet);
}

size_t
runconf_warnings(const struct runconf *rc, struct conf_errs *w)
{
	const conf_node *list = rc->conf->rules;
	size_t n0 = w->total;

	for (size_t i = 0; i < rules_count(rc->rules); i++) {
		const struct rule_conf *r = rules_rule(rc->rules, i);
		const conf_node *cs = NULL;
		char nd[32], cad[32];

		if (r->no_data_ms == 0)
			continue; /* the default counts every cadence */
		/* The rule's own group: the list holds only valid rules. */
		for (size_t k = 0; k < conf_len(list) && cs == NULL; k++) {
			struct conf_errs quiet = { 0 };
			const char *s;

			if (conf_get_str(&quiet, conf_elem(list, k), "name",
				false, &s) == 1 &&
			    strcmp(s, r->name) == 0)
				cs = conf_elem(list, k);
			conf_errs_free(&quiet);
		}
		for (size_t j = 0; cs != NULL && j < rc->nsources; j++) {
			const struct source *src = rc->sources[j];
			const char *const *p = source_patterns(src);
			int64_t c = source_cadence_ms(src);
			bool reads = false;

			for (; p != NULL && *p != NULL && !reads; p++)
				reads = metric_glob_overlap(r->selector, *p);
			if (!reads || r->no_data_ms >= c)
				continue;
			format_duration(r->no_data_ms, nd, sizeof(nd));
			format_duration(c, cad, sizeof(cad));
			(void)conf_error_at(w, cs, "no_data",
			    "%s is shorter than the %s between two readings "
			    "of source \"%s\" (%s): the rule would go stale "
			    "between them; make it longer (without no_data: "
			    "3 times the longest cadence, at least 5m)",
			    nd, cad, src->name, source_type(src));
		}
	}
	return w->total - n0;
}

/*
 * The first rule before the ${i}th of ${list} named ${name}, or NULL.
 * Quadratic only in the duplicates' positions; rules_add() is linear too.
 */
static const conf_node *
first_rule_named(const conf_node *list, size_t i, const char *name)
{
	struct conf_errs quiet = { 0 };
	const conf_node *found = NULL;

	for (size_t k = 0; k < i && found == NULL; k++) {
		const char *s;

		if (conf_get_str(&quiet, conf_elem(list, k), "name", false,
			&s) == 1 &&
		    strcmp(s, name) == 0)
			found = conf_elem(list, k);
	}
	conf_errs_free(&quiet);
	return found;
}

static int
build_rules(struct runconf *rc, struct conf_errs *e)
{
	const conf_node *list = rc->conf->rules;
	size_t n = conf_len(list);
	int64_t longest = 0;

	if ((rc->rules = rules_new(rc->conf->agent.hostname)) == NULL)
		return conf_error(e, list, "out of memory");
	/*
	 * A series is stale after 3 missed readings of the slowest source
	 * (a cloud metric reads once a period, whatever the interval), and
	 * never sooner than 5 minutes, so a slow cloud source does not flap
	 * to UNKNOWN between its readings.
	 */
	for (size_t i = 0; i < rc->nsources; i++)
		if (source_cadence_ms(rc->sources[i]) > longest)
			longest = source_cadence_ms(rc->sources[i]);
	rules_set_default_no_data(rc->rules,
	    3 * longest > 300000 ? 3 * longest : 300000);
	for (size_t i = 0; i < n; i++) {
		const conf_node *cs = conf_elem(list, i), *first;
		struct rule_conf *r;

		if (!conf_is_group(cs)) {
			conf_error(e, cs,
			    "must be a group: { name = ...; "
			    "metric = ...; }");
			continue;
		}
		if (rule_conf_parse(cs, &r, e) != 0) {
			/* Still say what else is wrong with it. */
			check_refs(rc, cs, e);
			continue;
		}
		check_refs(rc, cs, e);
		/* One error for a duplicate, and on to the next rule. */
		if ((first = first_rule_named(list, i, r->name)) != NULL) {
			conf_error_at(e, cs, "name",
			    "a rule named \"%s\" "
			    "exists already (line %d)",
			    r->name, conf_line(conf_member(first, "name")));
			rule_conf_free(r);
			continue;
		}
		if (rules_count(rc->rules) >= RULES_MAX) {
			conf_error(e, cs, "more than %d rules", RULES_MAX);
			rule_conf_free(r);
			continue;
		}
		if (rules_add(rc->rules, r) != 0) {
			rule_conf_free(r);
			return conf_error(e, cs, "out of memory");
		}
	}
	return 0;
}

/*
 * Parse the backup jobs, with the heavy code loaded for them; in vigild,
 * in a child process, so that the daemon itself does not map it.
 */
static void
build_jobs(struct runconf *rc, struct conf_errs *e)
{
	struct ag_err err = { "" };

	if (child_isolate()) {
		if (jobconf_check_all(rc->conf, &rc->jobs, &rc->njobs, e) !=
		    0) {
			rc->jobs = NULL;
			rc->njobs = 0;
		}
		return;
	}

	if ((rc->heavy = plugin_module_get(&err)) == NULL) {
		(void)conf_error(e, rc->conf->backups, "backup jobs need %s",
		    err.msg);
		return;
	}
	if (rc->heavy->jobconf_parse_all(rc->conf, &rc->jobs, &rc->njobs, e) !=
	    0) {
		rc->jobs = NULL;
		rc->njobs = 0;
	}
}

int
runconf_load(const char *path, struct runconf **ret, struct conf_errs *errs)
{
	struct runconf *rc;

	if ((rc = calloc(1, sizeof(*rc))) == NULL)
		return -1;
	rc->refs = 1;
	if (conf_load(path, &rc->conf, errs) != 0)
		goto fail;
	/* An empty list needs no backup code. */
	if (conf_len(rc->conf->backups) > 0)
		build_jobs(rc, errs);
	/* Checked here; the scheduler reads it again to make the history. */
	if (rc->conf->http.history != NULL) {
		struct history_conf hc;

		(void)history_conf_parse(rc->conf->http.history, &hc, errs);
	}
	if (rc->conf->archive != NULL) {
		struct archive_conf ac;

		(void)archive_conf_parse(rc->conf->archive, rc->conf->storage,
		    &ac, errs);
	}
	if (build_sources(rc, errs) != 0 || build_notifiers(rc, errs) != 0 ||
	    add_log_notifier(rc, errs) != 0 || build_rules(rc, errs) != 0)
		goto fail;
	if (errs->total > 0)
		goto fail;
	*ret = rc;
	return 0;
fail:
	runconf_free(rc);
	return -1;
}

int
runconf_load_stderr(const char *path, struct runconf **ret, bool count)
{
	struct conf_errs errs = { 0 };

	if (runconf_load(path, ret, &errs) == 0)
		return 0;
	for (size_t i = 0; i < errs.n; i++)
		fprintf(stderr, "%s\n", errs.msgs[i]);
	if (errs.n == 0)
		fprintf(stderr, "%s: cannot load the configuration\n",
		    path != NULL ? path : "<default>");
	else if (count)
		fprintf(stderr, "%zu error%s\n", errs.total,
		    errs.total == 1 ? "" : "s");
	conf_errs_free(&errs);
	return -1;
}

struct job_conf *
runconf_job(const struct runconf *rc, const char *name)
{
	for (size_t i = 0; i < rc->njobs; i++)
		if (strcmp(rc->jobs[i]->name, name) == 0)
			return rc->jobs[i];
	return NULL;
}

struct notifier *
runconf_notifier(const struct runconf *rc, const char *name)
{
	for (size_t i = 0; i < rc->nnotifiers; i++)
		if (strcmp(rc->notifiers[i]->name, name) == 0)
			return rc->notifiers[i];
	return NULL;
}

struct runconf *
runconf_ref(struct runconf *rc)
{
	__atomic_add_fetch(&rc->refs, 1, __ATOMIC_RELAXED);
	return rc;
}

void
runconf_free(struct runconf *rc)
{
	if (rc == NULL ||
	    __atomic_sub_fetch(&rc->refs, 1, __ATOMIC_ACQ_REL) > 0)
		return;
	for (size_t i = 0; i < rc->nsources; i++)
		source_free(rc->sources[i]);
	free(rc->sources);
	for (size_t i = 0; i < rc->nnotifiers; i++)
		notifier_free(rc->notifiers[i]);
	free(rc->notifiers);
	rules_free(rc->rules);
	if (rc->heavy != NULL)
		rc->heavy->jobconf_free_all(rc->jobs, rc->njobs);
	else
		jobconf_check_free_all(rc->jobs, rc->njobs);
	conf_free(rc->conf);
	free(rc);
}

const char *
runconf_default_path(void)
{
	const char *p = getenv("VIGIL_CONFIG");

	return p != NULL && p[0] != '\0' ? p : VIGIL_DEFAULT_CONFIG;
}

const char *
runconf_pick_path(const char *arg)
{
	const char *p;

	if (arg != NULL)
		return arg;
	p = runconf_default_path();
	if (getenv("VIGIL_CONFIG") == NULL && access(p, F_OK) != 0 &&
	    errno == ENOENT)
		return NULL;
	return p;
}
