/*
 * cli_status.c: the commands about the configuration and the running
 * daemon (config check, status, reload).
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

#include "lib/clock.h"
#include "lib/parsenum.h"

#include "agent/cli.h"
#include "agent/runconf.h"
#include "agent/source.h"

int
cli_config_check(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	struct runconf *rc;

	if (runconf_load_stderr(runconf_pick_path(cli_config), &rc, true) != 0)
		return CLI_FAIL;
	printf("configuration OK\n");
	{
		struct conf_errs w = { 0 };

		(void)runconf_warnings(rc, &w);
		for (size_t i = 0; i < w.n; i++)
			fprintf(stderr, "warning: %s\n", w.msgs[i]);
		conf_errs_free(&w);
	}
	for (size_t i = 0; i < rc->nsources; i++) {
		char line[512];

		if (source_cost(rc->sources[i], line, sizeof(line)) == 1)
			printf("%s\n", line);
	}
	fprintf(stderr, "%s: %zu sources, %zu rules, %zu notifiers\n",
	    rc->conf->path, rc->nsources, rules_count(rc->rules),
	    rc->nnotifiers);
	runconf_free(rc);
	return CLI_OK;
}

static void
ago(int64_t ms, char *buf, size_t len)
{
	char d[32];

	if (ms <= 0) {
		snprintf(buf, len, "never");
		return;
	}
	format_duration(clock_wall_ms() - ms, d, sizeof(d));
	snprintf(buf, len, "%s ago", d);
}

/* The spool's health, drops and entries kept aside, where there are any. */
static void
print_queue(json_t *q)
{
	json_int_t unspooled = json_integer_value(json_object_get(q,
	    "unspooled"));
	json_int_t werr = json_integer_value(json_object_get(q,
	    "write_errors"));
	const char *k;
	json_t *n;
	size_t i;

	json_object_foreach(json_object_get(q, "per_notifier"), k,
	    n) if (json_integer_value(n) > 0)
	    printf("    %-20s %lld waiting\n", k,
		(long long)json_integer_value(n));
	/* A notifier whose last delivery failed says why. */
	json_object_foreach(json_object_get(q, "notifiers"), k, n)
	{
		json_int_t at = json_integer_value(json_object_get(n,
		    "last_error_ms"));
		char when[48];

		if (at <= 0 ||
		    at < json_integer_value(json_object_get(n, "last_ok_ms")))
			continue;
		ago(at, when, sizeof(when));
		printf("    %-20s last delivery failed %s: %s\n", k, when,
		    json_string_value(json_object_get(n, "last_error")));
	}
	if (unspooled > 0 || werr > 0)
		printf("  SPOOL CANNOT BE WRITTEN: %lld failed writes in a "
		       "row, %lld notifications held in memory only\n",
		    (long long)werr, (long long)unspooled);
	if (json_object_size(json_object_get(q, "aside")) > 0) {
		printf("  kept aside (notifier removed; see vigil queue "
		       "list):\n");
		json_object_foreach(json_object_get(q, "aside"), k, n)
		    printf("    %-20s %lld\n", k,
			(long long)json_integer_value(n));
	}
	if (json_integer_value(json_object_get(q, "dropped")) > 0) {
		printf("  dropped by reason:");
		json_object_foreach(json_object_get(q, "dropped_by_reason"), k,
		    n) if (json_integer_value(n) > 0)
		    printf(" %s %lld", k, (long long)json_integer_value(n));
		printf("\n  dropped by rule and series:\n");
		json_array_foreach(json_object_get(q, "drops"), i, n)
		    printf("    %-20s %-32s %lld\n",
			json_string_value(json_object_get(n, "rule")),
			json_string_value(json_object_get(n, "series")),
			(long long)json_integer_value(json_object_get(n,
			    "count")));
	}
}

/* The metric archive (docs/ARCHIVE.md), with an archive section. */
static void
print_archive(json_t *a)
{
	const char *err;
	char when[48];

	if (a == NULL)
		return;
	err = json_string_value(json_object_get(a, "last_error"));
	ago(json_integer_value(json_object_get(a, "last_upload_ms")), when,
	    sizeof(when));
	printf("\nARCHIVE\n  %lld hours waiting, %.1f MiB on disk, %lld "
	       "uploaded (last %s), %lld failures in a row\n"
	       "  dropped: %lld bytes (%lld hours) past spool_max, %lld late "
	       "readings, %lld over the memory bound\n",
	    (long long)json_integer_value(json_object_get(a, "hours_waiting")),
	    json_integer_value(json_object_get(a, "spool_bytes")) / 1048576.0,
	    (long long)json_integer_value(json_object_get(a, "uploaded")),
	    when,
	    (long long)json_integer_value(json_object_get(a,
		"upload_failures")),
	    (long long)json_integer_value(json_object_get(a, "dropped_bytes")),
	    (long long)json_integer_value(json_object_get(a, "dropped_hours")),
	    (long long)json_integer_value(json_object_get(a, "dropped_late")),
	    (long long)json_integer_value(json_object_get(a,
		"dropped_pending")));
	if (err != NULL)
		printf("  last error: %s\n", err);
}

/* The metric history, kept when the HTTP server is on. */
static void
print_history(json_t *h)
{
	const char *err = json_string_value(json_object_get(h, "last_error"));
	char when[48];

	if (h == NULL)
		return;
	ago(json_integer_value(json_object_get(h, "saved_ms")), when,
	    sizeof(when));
	printf("\nHISTORY\n  %lld series, %.1f of %.1f MiB, %lld refused by "
	       "the cap, saved %s\n",
	    (long long)json_integer_value(json_object_get(h, "series")),
	    json_integer_value(json_object_get(h, "bytes")) / 1048576.0,
	    json_integer_value(json_object_get(h, "bytes_max")) / 1048576.0,
	    (long long)json_integer_value(json_object_get(h, "dropped")),
	    when);
	if (err != NULL)
		printf("  last save failed: %s\n", err);
}

static void
print_status(json_t *st)
{
	json_t *srcs = json_object_get(st, "sources");
	json_t *rules = json_object_get(st, "rules");
	json_t *q = json_object_get(st, "queue");
	json_t *v;
	size_t i;
	char up[32], when[48];

	format_duration(clock_wall_ms() -
		json_integer_value(json_object_get(st, "started_ms")),
	    up, sizeof(up));
	printf("vigild %s on %s, pid %lld, up %s, config %s\n",
	    json_string_value(json_object_get(st, "version")),
	    json_string_value(json_object_get(st, "host")),
	    (long long)json_integer_value(json_object_get(st, "pid")), up,
	    json_string_value(json_object_get(st, "config")));

	printf("\nSOURCES\n");
	json_array_foreach(srcs, i, v)
	{
		const char *err = json_string_value(json_object_get(v,
		    "last_error"));
		json_int_t fails = json_integer_value(json_object_get(v,
		    "failures"));
		json_t *rd = json_object_get(v, "readings");
		const char *k;
		json_t *val;
		char every[32];
		int shown = 0;

		format_duration(json_integer_value(json_object_get(v,
				    "interval_ms")),
		    every, sizeof(every));
		ago(json_integer_value(json_object_get(v, "last_ok_ms")), when,
		    sizeof(when));
		printf("  %-12s %-8s every %-6s last reading %s",
		    json_string_value(json_object_get(v, "name")),
		    json_string_value(json_object_get(v, "type")), every,
		    when);
		if (fails > 0)
			printf("  FAILING x%lld: %s", (long long)fails,
			    err != NULL ? err : "");
		printf("\n");
		json_object_foreach(rd, k, val)
		{
			if (shown++ == 12) {
				printf("      ... %zu readings in all\n",
				    json_object_size(rd));
				break;
			}
			printf("      %-40s %.6g\n", k, json_real_value(val));
		}
	}

	printf("\nRULES\n");
	if (json_array_size(rules) == 0)
		printf("  (no readings matched a rule yet)\n");
	json_array_foreach(rules, i, v)
	{
		json_t *val = json_object_get(v, "value");
		char vbuf[32] = "-";

		if (json_is_number(val))
			snprintf(vbuf, sizeof(vbuf), "%.6g",
			    json_number_value(val));
		const char *metric = json_string_value(json_object_get(v,
		    "metric"));

		printf("  %-20s %-32s %-9s since %s  value %s\n",
		    json_string_value(json_object_get(v, "rule")),
		    metric != NULL && metric[0] != '\0' ?
			metric :
			"(nothing matched yet)",
		    json_string_value(json_object_get(v, "state")),
		    json_string_value(json_object_get(v, "since")), vbuf);
	}

	printf("\nALERT QUEUE\n  %lld waiting, %lld delivered, %lld refused, "
	       "%lld dropped\n",
	    (long long)json_integer_value(json_object_get(q, "depth")),
	    (long long)json_integer_value(json_object_get(q, "sent")),
	    (long long)json_integer_value(json_object_get(q, "failed")),
	    (long long)json_integer_value(json_object_get(q, "dropped")));
	print_queue(q);
	print_history(json_object_get(st, "history"));
	print_archive(json_object_get(st, "archive"));
}

int
cli_status(int argc, char **argv)
{
	json_error_t jerr;
	json_t *st;
	char *reply;
	int rc;

	if ((rc = cli_ask("status", &reply, false)) != CLI_OK)
		return rc;
	if (cli_json) {
		fputs(reply, stdout);
		free(reply);
		return CLI_OK;
	}
	st = json_loads(reply, 0, &jerr);
	free(reply);
	if (st == NULL || !json_is_object(st)) {
		fprintf(stderr,
		    "vigil: vigild sent a reply this vigil cannot "
		    "read\n");
		json_decref(st);
		return CLI_FAIL;
	}
	print_status(st);
	json_decref(st);
	return CLI_OK;
}

int
cli_reload(int argc, char **argv)
{
	char *reply;
	int rc;

	if ((rc = cli_ask("reload", &reply, false)) != CLI_OK)
		return rc;
	free(reply);
	printf("reload requested\n");
	return CLI_OK;
}
