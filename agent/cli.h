/*
 * cli.h: the commands of the vigil CLI.  vigil.c parses the global options
 * and calls one of these with the command's own arguments (argv[0] is the
 * command word).  Each returns the process exit status.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef VIGIL_CLI_H
#define VIGIL_CLI_H

#include <stdbool.h>

/* Exit statuses of every command. */
#define CLI_OK 0
#define CLI_FAIL 1
#define CLI_USAGE 2
#define CLI_NODAEMON 3

/* Global options, set by vigil.c. */
extern const char *cli_config; /* -c FILE, or NULL */
extern const char *cli_socket; /* -s PATH, or NULL */
extern int cli_json;	       /* --json */

int cli_config_check(int argc, char **argv); /* config check */
int cli_status(int argc, char **argv);	     /* status */
int cli_reload(int argc, char **argv);	     /* reload */
int cli_key(int argc, char **argv);	     /* key generate */
int cli_decrypt(int argc, char **argv);	     /* decrypt */
int cli_backup(int argc, char **argv);	     /* backup run|list|verify|prune */
int cli_restore(int argc, char **argv);	     /* restore */
int cli_queue(int argc, char **argv);	     /* queue list|retry|drop */
int cli_storage_check(int argc, char **argv); /* storage check */
int cli_token(int argc, char **argv);	      /* token add|list|remove */
int cli_archive(int argc, char **argv);	      /* archive list|get */

/*
 * Helpers shared by the commands.
 */
struct runconf;
/* cli_load(ret): the configuration, errors printed.  0 or -1. */
int cli_load(struct runconf **ret);
/* cli_ask(req, ret_reply): ask vigild; CLI_OK, CLI_NODAEMON or CLI_FAIL. */
int cli_ask(const char *req, char **ret_reply, bool quiet);
/* cli_tty(): is standard error a terminal (progress bars)? */
bool cli_tty(void);
/* cli_bytes(n, buf, len): "1.5 GiB". */
void cli_bytes(double n, char *buf, unsigned len);

#endif
