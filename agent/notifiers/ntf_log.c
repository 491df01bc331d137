/*
 * ntf_log.c: the "log" notifier writes each notification's one-line summary
 * to the daemon's log: a warning while a rule is firing (WARNING, CRITICAL,
 * UNKNOWN) and an info line when it recovers.  The optional setting "level"
 * ("auto", "error", "warning", "info") forces one level for every line.
 * Logging cannot fail, so send always accepts.  This is what the embedded
 * default configuration uses, so alerts work with no receiver set up.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/ag.h"
#include "lib/log.h"
#include "agent/notify.h"
#include "agent/notify_backend.h"

enum ntf_log_level { NL_AUTO = 0, NL_ERROR, NL_WARNING, NL_INFO };

struct ntf_log {
	char *name;
	enum ntf_log_level level;
};

static const char *const ntf_log_settings[] = { "level", NULL };

static int
ntf_log_configure(void **ret_ctx, const conf_node *cs, struct conf_errs *errs)
{
	static const char *const levels[] = { "auto", "error", "warning",
		"info", NULL };
	struct conf_errs scratch = { 0 };
	struct ntf_log *nl;
	const char *name = NULL;
	int level = NL_AUTO;

	if (conf_get_enum(errs, cs, "level", false, levels, &level) == -1)
		return -1;
	/* notifier_new() has reported a bad name already; don't repeat it. */
	(void)conf_get_str(&scratch, cs, "name", false, &name);
	conf_errs_free(&scratch);
	if ((nl = calloc(1, sizeof(*nl))) == NULL)
		goto oom;
	if ((nl->name = strdup(name != NULL ? name : "log")) == NULL) {
		free(nl);
		goto oom;
	}
	nl->level = (enum ntf_log_level)level;
	*ret_ctx = nl;
	return 0;
oom:
	return conf_error(errs, cs, "out of memory");
}

static int
ntf_log_send(void *ctx, const struct notification *n, struct ag_err *err)
{
	struct ntf_log *nl = ctx;
	enum log_level lvl;
	char summary[512];

	notification_summary(n, summary, sizeof(summary));
	switch (nl->level) {
	case NL_ERROR:
		lvl = LOG_LVL_ERR;
		break;
	case NL_WARNING:
		lvl = LOG_LVL_WARN;
		break;
	case NL_INFO:
		lvl = LOG_LVL_INFO;
		break;
	default:
		lvl = n->state == ST_OK ? LOG_LVL_INFO : LOG_LVL_WARN;
		break;
	}
	log_msg(lvl, "alert[%s]: %s", nl->name, summary);
	return 0;
}

static void
ntf_log_free(void *ctx)
{
	struct ntf_log *nl = ctx;

	if (nl == NULL)
		return;
	free(nl->name);
	free(nl);
}

const struct notifier_ops ntf_log_ops = {
	.type = "log",
	.settings = ntf_log_settings,
	.configure = ntf_log_configure,
	.send = ntf_log_send,
	.free = ntf_log_free,
};
