/*
 * runconf.h: a whole configuration turned into running parts.
 *
 * runconf_load() parses the file, builds every source, notifier and rule, and
 * checks what no single module can: unique names, rules that name notifiers
 * which exist and metrics that some source produces.  vigild uses it at
 * start-up and on SIGHUP (swapping only a fully valid result in), and
 * `vigil config check` / `vigild -n` use it to print every error.  Backup
 * jobs are parsed by the heavy module (plugin_module.h): in vigild in a
 * child process (jobconf_check.h), elsewhere here, and only if the config
 * has any.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef VIGIL_RUNCONF_H
#define VIGIL_RUNCONF_H

#include <stdbool.h>
#include <stddef.h>

#include "agent/notify.h"
#include "backup/jobconf.h"
#include "agent/rules.h"
#include "agent/source.h"
#include "conf/conf.h"

struct plugin_module;

struct runconf {
	struct conf *conf;
	struct source **sources;
	size_t nsources;
	struct notifier **notifiers;
	size_t nnotifiers;
	struct rules *rules;
	struct job_conf **jobs; /* backup jobs */
	size_t njobs;
	/*
	 * The heavy module that parsed the jobs here; NULL if there are none
	 * or if a child checked them (jobs then have the daemon's fields
	 * only: jobconf_check.h).
	 */
	const struct plugin_module *heavy;
	int refs; /* atomic; see runconf_ref() */
};

/**
 * runconf_load(path, ret, errs):
 * Load ${path} (NULL: the embedded default) and build everything in it.
 * Return 0 with the result in ${ret} if there was no error at all; else -1
 * with every problem in ${errs}.
 */
int runconf_load(const char *path, struct runconf **ret,
    struct conf_errs *errs);

/**
 * runconf_load_stderr(path, ret, count):
 * runconf_load() for the command line: on failure print every error on
 * standard error, one a line (or that ${path} could not be loaded), and
 * with ${count} a last line "N errors" giving the true total.  Return 0
 * or -1, like runconf_load().
 */
int runconf_load_stderr(const char *path, struct runconf **ret, bool count);

/**
 * runconf_warnings(rc, w):
 * What is valid but likely wrong in ${rc}, one message each in ${w} (as
 * errors are written, "file:line: rules[2].no_data: ..."): a rule whose
 * no_data is shorter than the cadence (source_cadence_ms()) of a source
 * whose readings it may match, so that it would go stale between two
 * readings (a cloud metric's period).  Return how many.
 */
size_t runconf_warnings(const struct runconf *rc, struct conf_errs *w);

/* runconf_job(rc, name): the backup job called ${name}, or NULL. */
struct job_conf *runconf_job(const struct runconf *rc, const char *name);

/* runconf_notifier(rc, name): the notifier called ${name}, or NULL. */
struct notifier *runconf_notifier(const struct runconf *rc, const char *name);

/*
 * runconf_ref(rc) / runconf_free(rc):
 * The daemon's threads share one runconf: the sender delivers through its
 * notifiers and backup workers run its jobs while the scheduler may already
 * have swapped a reloaded one in.  runconf_ref() adds a reference (and
 * returns ${rc}); runconf_free() drops one and frees ${rc} with the last.
 * runconf_load() returns a runconf holding one reference.
 */
struct runconf *runconf_ref(struct runconf *rc);
void runconf_free(struct runconf *rc);

/**
 * runconf_default_path():
 * The config file the commands use without -c: $VIGIL_CONFIG, else
 * /etc/vigil/vigil.conf.  runconf_pick_path() returns NULL (the embedded
 * default) when that default file does not exist and none was asked for.
 */
const char *runconf_default_path(void);
const char *runconf_pick_path(const char *arg);

#endif
