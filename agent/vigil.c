/*
 * vigil.c: the command-line tool for people on call.  main() takes the
 * global options (wherever they stand) and hands the command word and its
 * own arguments to a cli_*() function.  Commands that need the daemon ask it
 * over the control socket; the others work alone.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "paths.h"
#include "version.h"

#include "agent/cli.h"

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: vigil [-c FILE] [-s SOCKET] [--json] COMMAND [ARGS]\n"
	    "commands:\n"
	    "  config check                  check the configuration, print "
	    "every error\n"
	    "  status                        ask the running vigild how it is\n"
	    "  reload                        make vigild reload its "
	    "configuration\n"
	    "  backup run JOB                run a backup now (through vigild "
	    "if it runs)\n"
	    "  backup list [JOB]             list backups\n"
	    "  backup verify JOB/ID          download and check a backup, "
	    "write nothing\n"
	    "  backup prune JOB [--dry-run]  apply the retention policy\n"
	    "  restore JOB/ID --to DIR [--path P ...] [--no-privileges]\n"
	    "                                restore everything, or the named "
	    "paths\n"
	    "  decrypt (--key F|--job J)     decrypt a .vgl object from stdin "
	    "to stdout\n"
	    "  key generate --out FILE [--symmetric|--sign]\n"
	    "                                a key pair for write-only backups\n"
	    "  queue list [NOTIFIER]         queued notifications (through "
	    "vigild if it runs)\n"
	    "  queue retry ID|--all|--notifier N [--to NOTIFIER]\n"
	    "                                send now, or re-route to another "
	    "notifier\n"
	    "  queue drop ID|--all|--notifier N\n"
	    "                                discard queued notifications\n"
	    "  storage check NAME [--prefix P] [--no-delete]\n"
	    "                                write, list, read and delete a "
	    "probe object;\n"
	    "                                name the permission that is "
	    "missing\n"
	    "  archive list [--from T] [--to T]\n"
	    "                                the metric archive's hours in "
	    "storage\n"
	    "  archive get --from T --to T (--out DIR | -)\n"
	    "                                fetch them (decrypted)\n"
	    "  version                       print the version and the commit\n"
	    "options:\n"
	    "  -c, --config FILE   configuration (default: $VIGIL_CONFIG, else "
	    "%s,\n"
	    "                      else the embedded default)\n"
	    "  -s, --socket PATH   vigild's control socket (default: from the "
	    "configuration)\n"
	    "      --json          machine-readable output\n"
	    "  -V, --version       print the version and the commit\n"
	    "exit status: 0 ok, 1 failure, 2 usage, 3 vigild not running\n",
	    VIGIL_DEFAULT_CONFIG);
}

int
main(int argc, char **argv)
{
	static const struct {
		const char *word, *sub;
		int (*fn)(int, char **);
	} cmds[] = {
		{ "config", "check", cli_config_check },
		{ "status", NULL, cli_status },
		{ "reload", NULL, cli_reload },
		{ "backup", NULL, cli_backup },
		{ "restore", NULL, cli_restore },
		{ "decrypt", NULL, cli_decrypt },
		{ "key", NULL, cli_key },
		{ "queue", NULL, cli_queue },
		{ "storage", "check", cli_storage_check },
		{ "token", NULL, cli_token },
		{ "archive", NULL, cli_archive },
	};
	char **cmdv;
	int cmdc = 0;

	/* Pull the global options out, leaving the command's words. */
	if ((cmdv = calloc((size_t)argc + 1, sizeof(*cmdv))) == NULL)
		return CLI_FAIL;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if ((strcmp(a, "-c") == 0 || strcmp(a, "--config") == 0 ||
			strcmp(a, "-s") == 0 || strcmp(a, "--socket") == 0) &&
		    i + 1 < argc) {
			if (a[1] == 'c' || a[2] == 'c')
				cli_config = argv[++i];
			else
				cli_socket = argv[++i];
		} else if (strncmp(a, "--config=", 9) == 0) {
			cli_config = a + 9;
		} else if (strncmp(a, "--socket=", 9) == 0) {
			cli_socket = a + 9;
		} else if (strcmp(a, "--json") == 0) {
			cli_json = 1;
		} else if ((strcmp(a, "-h") == 0 ||
			       strcmp(a, "--help") == 0) &&
		    cmdc == 0) {
			usage(stdout);
			free(cmdv);
			return CLI_OK;
		} else if ((strcmp(a, "-V") == 0 ||
			       strcmp(a, "--version") == 0) &&
		    cmdc == 0) {
			printf("vigil %s\n", VIGIL_VERSION_LINE);
			free(cmdv);
			return CLI_OK;
		} else if (strcmp(a, "-c") == 0 || strcmp(a, "-s") == 0) {
			fprintf(stderr, "vigil: %s needs an argument\n", a);
			free(cmdv);
			return CLI_USAGE;
		} else {
			cmdv[cmdc++] = argv[i];
		}
	}
	if (cmdc == 0) {
		usage(stderr);
		free(cmdv);
		return CLI_USAGE;
	}
	if (strcmp(cmdv[0], "version") == 0) {
		printf("vigil %s\n", VIGIL_VERSION_LINE);
		free(cmdv);
		return CLI_OK;
	}
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		int rc;

		if (strcmp(cmdv[0], cmds[i].word) != 0)
			continue;
		if (cmds[i].sub != NULL) {
			if (cmdc < 2 || strcmp(cmdv[1], cmds[i].sub) != 0)
				break;
			rc = cmds[i].fn(cmdc - 1, cmdv + 1);
		} else {
			rc = cmds[i].fn(cmdc, cmdv);
		}
		free(cmdv);
		return rc;
	}
	fprintf(stderr, "vigil: unknown command \"%s%s%s\"\n", cmdv[0],
	    cmdc > 1 ? " " : "", cmdc > 1 ? cmdv[1] : "");
	usage(stderr);
	free(cmdv);
	return CLI_USAGE;
}
