/*
 * cli_util.c: what the commands of the vigil CLI share (see cli.h): the
 * global options, loading the configuration, asking the running daemon
 * over the control socket, and small output helpers.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/cli.h"
#include "agent/ctl.h"
#include "agent/runconf.h"

const char *cli_config;
const char *cli_socket;
int cli_json;

int
cli_load(struct runconf **ret)
{
	return runconf_load_stderr(runconf_pick_path(cli_config), ret, false);
}

bool
cli_tty(void)
{
	return isatty(STDERR_FILENO) != 0;
}

void
cli_bytes(double n, char *buf, unsigned len)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	unsigned u = 0;

	while (n >= 1024 && u < 4) {
		n /= 1024;
		u++;
	}
	snprintf(buf, len, u == 0 ? "%.0f %s" : "%.1f %s", n, units[u]);
}

/* The control socket: -s, else the configuration's, else the default. */
static char *
socket_path(void)
{
	const char *path;
	struct conf_errs errs = { 0 };
	struct conf *c;
	char *p;

	if (cli_socket != NULL)
		return strdup(cli_socket);
	path = runconf_pick_path(cli_config);
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

int
cli_ask(const char *req, char **ret_reply, bool quiet)
{
	struct ag_err err = { "" };
	char *sock = socket_path();
	int rc;

	if (sock == NULL)
		return CLI_FAIL;
	rc = ctl_request(sock, req, ret_reply, &err);
	free(sock);
	if (rc != 0) {
		if (!quiet || rc != 1)
			fprintf(stderr, "vigil: %s\n", err.msg);
		return rc == 1 ? CLI_NODAEMON : CLI_FAIL;
	}
	return CLI_OK;
}
