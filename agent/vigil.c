/*
 * vigil.c: the command-line tool for people on call.  Commands that need the
 * daemon (status) ask it over the control socket; the others work alone.
 */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/clock.h"
#include "lib/parsenum.h"
#include "paths.h"

#include "agent/ctl.h"
#include "agent/runconf.h"

/* Exit statuses. */
#define EX_OK_ 0
#define EX_FAIL 1
#define EX_USAGE_ 2
#define EX_NODAEMON 3

static const char *arg_config;
static const char *arg_socket;
static int arg_json;

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: vigil [-c FILE] COMMAND [ARGS]\n"
	    "commands:\n"
	    "  config check          check the configuration, print every "
	    "error\n"
	    "  status [--json]       ask the running vigild how it is\n"
	    "  reload                make vigild reload its configuration\n"
	    "  version               print the version\n"
	    "options:\n"
	    "  -c, --config FILE     configuration (default: $VIGIL_CONFIG, "
	    "else %s)\n"
	    "  -s, --socket PATH     control socket (default: from the "
	    "configuration)\n"
	    "      --json            machine-readable output\n",
	    VIGIL_DEFAULT_CONFIG);
}

static int
cmd_config_check(void)
{
	const char *path = runconf_pick_path(arg_config);
	struct conf_errs errs = { 0 };
	struct runconf *rc;

	if (runconf_load(path, &rc, &errs) != 0) {
		for (size_t i = 0; i < errs.n; i++)
			fprintf(stderr, "%s\n", errs.msgs[i]);
		if (errs.n == 0)
			fprintf(stderr, "%s: cannot load the configuration\n",
			    path != NULL ? path : "<default>");
		else
			fprintf(stderr, "%zu error%s\n", errs.n,
			    errs.n == 1 ? "" : "s");
		conf_errs_free(&errs);
		return EX_FAIL;
	}
	printf("configuration OK\n");
	fprintf(stderr, "%s: %zu sources, %zu rules, %zu notifiers\n",
	    rc->conf->path, rc->nsources, rules_count(rc->rules),
	    rc->nnotifiers);
	runconf_free(rc);
	return EX_OK_;
}

/* The control socket: -s, else the configuration's, else the default. */
static char *
socket_path(void)
{
	const char *path;
	struct conf_errs errs = { 0 };
	struct conf *c;
	char *p;

	if (arg_socket != NULL)
		return strdup(arg_socket);
	path = runconf_pick_path(arg_config);
	if (conf_load(path, &c, &errs) != 0) {
		for (size_t i = 0; i < errs.n; i++)
			fprintf(stderr, "%s\n", errs.msgs[i]);
		conf_errs_free(&errs);
		return NULL;
	}
	conf_errs_free(&errs);
	p = strdup(c->agent.control_socket);
	conf_free(c);
	return p;
}

static int
ask(const char *req, char **ret_reply)
{
	struct ag_err err = { "" };
	char *sock = socket_path();
	int rc;

	if (sock == NULL)
		return EX_FAIL;
	rc = ctl_request(sock, req, ret_reply, &err);
	free(sock);
	if (rc != 0) {
		fprintf(stderr, "vigil: %s\n", err.msg);
		return rc == 1 ? EX_NODAEMON : EX_FAIL;
	}
	return EX_OK_;
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
	    json_integer_value(json_object_get(st, "started_ms")), up,
	    sizeof(up));
	printf("vigild %s on %s, pid %lld, up %s, config %s\n",
	    json_string_value(json_object_get(st, "version")),
	    json_string_value(json_object_get(st, "host")),
	    (long long)json_integer_value(json_object_get(st, "pid")), up,
	    json_string_value(json_object_get(st, "config")));

	printf("\nSOURCES\n");
	json_array_foreach(srcs, i, v) {
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
		    "interval_ms")), every, sizeof(every));
		ago(json_integer_value(json_object_get(v, "last_ok_ms")),
		    when, sizeof(when));
		printf("  %-12s %-8s every %-6s last reading %s",
		    json_string_value(json_object_get(v, "name")),
		    json_string_value(json_object_get(v, "type")), every,
		    when);
		if (fails > 0)
			printf("  FAILING x%lld: %s", (long long)fails,
			    err != NULL ? err : "");
		printf("\n");
		json_object_foreach(rd, k, val) {
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
	json_array_foreach(rules, i, v) {
		json_t *val = json_object_get(v, "value");
		char vbuf[32] = "-";

		if (json_is_number(val))
			snprintf(vbuf, sizeof(vbuf), "%.6g",
			    json_number_value(val));
		const char *metric = json_string_value(json_object_get(v,
		    "metric"));

		printf("  %-20s %-32s %-9s since %s  value %s\n",
		    json_string_value(json_object_get(v, "rule")),
		    metric != NULL && metric[0] != '\0' ? metric :
		    "(nothing matched yet)",
		    json_string_value(json_object_get(v, "state")),
		    json_string_value(json_object_get(v, "since")), vbuf);
	}

	printf("\nALERT QUEUE\n  %lld waiting, %lld delivered, %lld refused, "
	    "%lld dropped (spool full)\n",
	    (long long)json_integer_value(json_object_get(q, "depth")),
	    (long long)json_integer_value(json_object_get(q, "sent")),
	    (long long)json_integer_value(json_object_get(q, "failed")),
	    (long long)json_integer_value(json_object_get(q, "dropped")));
	{
		const char *k;
		json_t *n;

		json_object_foreach(json_object_get(q, "per_notifier"), k, n)
			if (json_integer_value(n) > 0)
				printf("    %-20s %lld waiting\n", k,
				    (long long)json_integer_value(n));
	}
}

static int
cmd_status(void)
{
	json_error_t jerr;
	json_t *st;
	char *reply;
	int rc;

	if ((rc = ask("status", &reply)) != EX_OK_)
		return rc;
	if (arg_json) {
		fputs(reply, stdout);
		free(reply);
		return EX_OK_;
	}
	st = json_loads(reply, 0, &jerr);
	free(reply);
	if (st == NULL || !json_is_object(st)) {
		fprintf(stderr, "vigil: vigild sent a reply this vigil cannot "
		    "read\n");
		json_decref(st);
		return EX_FAIL;
	}
	print_status(st);
	json_decref(st);
	return EX_OK_;
}

static int
cmd_reload(void)
{
	char *reply;
	int rc;

	if ((rc = ask("reload", &reply)) != EX_OK_)
		return rc;
	free(reply);
	printf("reload requested\n");
	return EX_OK_;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "socket", required_argument, NULL, 's' },
		{ "json", no_argument, &arg_json, 1 },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *cmd, *sub;
	int opt;

	/* Options may come before or after the command words. */
	while ((opt = getopt_long(argc, argv, "+c:s:h", opts, NULL)) != -1) {
		switch (opt) {
		case 0:
			break;
		case 'c':
			arg_config = optarg;
			break;
		case 's':
			arg_socket = optarg;
			break;
		case 'h':
			usage(stdout);
			return EX_OK_;
		default:
			usage(stderr);
			return EX_USAGE_;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return EX_USAGE_;
	}
	cmd = argv[optind++];
	sub = optind < argc && argv[optind][0] != '-' ? argv[optind++] : NULL;
	while ((opt = getopt_long(argc, argv, "c:s:h", opts, NULL)) != -1) {
		switch (opt) {
		case 0:
			break;
		case 'c':
			arg_config = optarg;
			break;
		case 's':
			arg_socket = optarg;
			break;
		default:
			usage(stderr);
			return EX_USAGE_;
		}
	}
	if (strcmp(cmd, "config") == 0 && sub != NULL &&
	    strcmp(sub, "check") == 0)
		return cmd_config_check();
	if (strcmp(cmd, "status") == 0 && sub == NULL)
		return cmd_status();
	if (strcmp(cmd, "reload") == 0 && sub == NULL)
		return cmd_reload();
	if (strcmp(cmd, "version") == 0) {
		printf("vigil %s\n", VIGIL_VERSION);
		return EX_OK_;
	}
	fprintf(stderr, "vigil: unknown command \"%s%s%s\"\n", cmd,
	    sub != NULL ? " " : "", sub != NULL ? sub : "");
	usage(stderr);
	return EX_USAGE_;
}
