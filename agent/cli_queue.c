/*
 * cli_queue.c: `vigil queue list|retry|drop`, to inspect, re-route or
 * discard queued notifications.
 *
 * The words after "queue" go to vigild as the request "queue <words>" when
 * it runs (it answers with spool_ctl() on its spool).  Without a daemon the
 * command opens the spool folder itself, taking the spool's flock as vigild
 * would, and calls the same spool_ctl(), so both ways answer alike.  The
 * reply is JSON; it is printed as is with --json, as a table or a sentence
 * otherwise.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <sys/stat.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/clock.h"
#include "lib/parsenum.h"

#include "agent/cli.h"
#include "agent/ctl.h"
#include "agent/runconf.h"
#include "agent/spool.h"

#define QUEUE_OPEN_MAX 1000000

static int
usage_queue(void)
{
	fprintf(stderr,
	    "usage: vigil queue list [NOTIFIER]\n"
	    "       vigil queue retry ID|--all|--notifier N [--to NOTIFIER]\n"
	    "       vigil queue drop ID|--all|--notifier N\n"
	    "list shows the queued notifications (\"aside\": their notifier "
	    "was removed);\nretry makes them due now, or re-routes them to "
	    "another notifier with --to;\ndrop discards them (counted as "
	    "dropped and logged).\n");
	return CLI_USAGE;
}

/* Without a daemon: answer ${req} on the spool folder.  CLI_OK or FAIL. */
static int
ask_spool(const char *req, char **ret_reply)
{
	struct runconf *rc;
	struct spool *sp;
	struct stat st;
	char *dir = NULL;
	int status = CLI_FAIL;

	if (cli_load(&rc) != 0)
		return CLI_FAIL;
	if (asprintf(&dir, "%s/spool", rc->conf->agent.state_dir) < 0) {
		dir = NULL;
		goto out;
	}
	/* Nothing was ever queued: do not create the folder for that. */
	if (stat(dir, &st) != 0) {
		*ret_reply = strdup(strncmp(req, "list", 4) == 0 ?
			"{\"entries\":[]}" :
			"{\"error\":\"no queued notification matches\"}");
		status = *ret_reply != NULL ? CLI_OK : CLI_FAIL;
		goto out;
	}
	/*
	 * The largest spool_max the configuration allows: looking must not
	 * trim a spool that a smaller spool_max would (vigild does, at start).
	 */
	if (spool_open(dir, QUEUE_OPEN_MAX, &sp) != 0)
		goto out; /* logged: in use, unreadable, ... */
	if (spool_set_notifiers(sp, rc->notifiers, rc->nnotifiers) == 0 &&
	    (*ret_reply = spool_ctl(sp, req, clock_mono_ms())) != NULL)
		status = CLI_OK;
	spool_close(sp);
out:
	free(dir);
	runconf_free(rc);
	return status;
}

static void
print_list(json_t *entries)
{
	size_t i;
	json_t *v;

	if (json_array_size(entries) == 0) {
		printf("no queued notifications\n");
		return;
	}
	printf("%-8s %-16s %-20s %-30s %-8s %-8s %6s %8s\n", "ID", "NOTIFIER",
	    "RULE", "SERIES", "ALERT", "STATE", "AGE", "ATTEMPTS");
	json_array_foreach(entries, i, v)
	{
		char age[32];
		const char *state = json_string_value(json_object_get(v,
		    "state"));

		format_duration(json_integer_value(json_object_get(v,
				    "age_ms")),
		    age, sizeof(age));
		printf("%-8lld %-16s %-20s %-30s %-8s %-8s %6s %8lld%s\n",
		    (long long)json_integer_value(json_object_get(v, "id")),
		    json_string_value(json_object_get(v, "notifier")),
		    json_string_value(json_object_get(v, "rule")),
		    json_string_value(json_object_get(v, "series")),
		    json_string_value(json_object_get(v, "alert_state")),
		    state, age,
		    (long long)json_integer_value(json_object_get(v,
			"attempts")),
		    json_is_false(json_object_get(v, "on_disk")) ?
			"  (in memory only)" :
			"");
	}
}

int
cli_queue(int argc, char **argv)
{
	char req[CTL_REQUEST_MAX], *reply = NULL;
	json_t *o, *err;
	size_t off;
	int rc;

	if (argc < 2 ||
	    (strcmp(argv[1], "list") != 0 && strcmp(argv[1], "retry") != 0 &&
		strcmp(argv[1], "drop") != 0) ||
	    (strcmp(argv[1], "list") != 0 && argc < 3))
		return usage_queue();
	off = (size_t)snprintf(req, sizeof(req), "queue");
	for (int i = 1; i < argc; i++) {
		if (strchr(argv[i], ' ') != NULL ||
		    strchr(argv[i], '\n') != NULL || argv[i][0] == '\0')
			return usage_queue();
		off += (size_t)snprintf(req + off, sizeof(req) - off, " %s",
		    argv[i]);
		if (off >= sizeof(req) - 1) {
			fprintf(stderr, "vigil: queue: arguments too long\n");
			return CLI_USAGE;
		}
	}
	rc = cli_ask(req, &reply, true);
	if (rc == CLI_NODAEMON)
		rc = ask_spool(req + 6, &reply);
	if (rc != CLI_OK)
		return rc;
	if ((o = json_loads(reply, 0, NULL)) == NULL || !json_is_object(o)) {
		fprintf(stderr, "vigil: an answer this vigil cannot read\n");
		json_decref(o);
		free(reply);
		return CLI_FAIL;
	}
	if ((err = json_object_get(o, "error")) != NULL) {
		fprintf(stderr, "vigil: queue %s: %s\n", argv[1],
		    json_string_value(err));
		rc = CLI_FAIL;
	} else if (cli_json) {
		fputs(reply, stdout);
		if (reply[0] != '\0' && reply[strlen(reply) - 1] != '\n')
			fputc('\n', stdout);
	} else if (strcmp(argv[1], "list") == 0) {
		print_list(json_object_get(o, "entries"));
	} else {
		json_int_t n = json_integer_value(json_object_get(o, "count"));

		printf("%lld notification%s %s\n", (long long)n,
		    n == 1 ? "" : "s",
		    argv[1][0] == 'd' ? "dropped" :
			argc > 3 && strcmp(argv[argc - 2], "--to") == 0 ?
					"re-routed" :
					"due now");
	}
	json_decref(o);
	free(reply);
	return rc;
}
