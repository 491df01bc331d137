/*
 * cli_token.c: `vigil token add|list|remove`, the API tokens of the HTTP
 * server (agent/httpd/tokens.h).  The token is printed once, on standard
 * output alone; the file keeps only its hash.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/cli.h"
#include "agent/httpd/tokens.h"
#include "agent/runconf.h"
#include "lib/crypto/crypto.h"

static int
usage_token(void)
{
	fprintf(stderr,
	    "usage: vigil token add NAME --role read|admin [--file PATH]\n"
	    "       vigil token list [--file PATH]\n"
	    "       vigil token remove NAME [--file PATH]\n"
	    "  PATH: the config's http.tokens_file unless given\n");
	return CLI_USAGE;
}

/* The tokens file: --file, else http.tokens_file of the configuration. */
static int
tokens_path(const char *file, char **ret)
{
	struct runconf *rc;

	if (file != NULL) {
		*ret = strdup(file);
		return *ret != NULL ? 0 : -1;
	}
	if (cli_load(&rc) != 0)
		return -1;
	if (rc->conf->http.tokens_file == NULL) {
		fprintf(stderr,
		    "vigil: %s has no http.tokens_file (or give --file "
		    "PATH)\n",
		    rc->conf->path);
		runconf_free(rc);
		return -1;
	}
	*ret = strdup(rc->conf->http.tokens_file);
	runconf_free(rc);
	return *ret != NULL ? 0 : -1;
}

int
cli_token(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "role", required_argument, NULL, 'r' },
		{ "file", required_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 },
	};
	const char *role = NULL, *file = NULL, *verb, *name = NULL;
	struct ag_err err = { "" };
	char *path = NULL;
	int opt, rc = CLI_FAIL;

	if (argc < 2)
		return usage_token();
	verb = argv[1];
	optind = 2;
	while ((opt = getopt_long(argc, argv, "r:f:", opts, NULL)) != -1) {
		if (opt == 'r')
			role = optarg;
		else if (opt == 'f')
			file = optarg;
		else
			return usage_token();
	}
	if (optind < argc)
		name = argv[optind++];
	if (optind != argc)
		return usage_token();
	if (strcmp(verb, "add") == 0) {
		char token[TOKEN_LEN + 1];
		enum web_role r;

		if (name == NULL || role == NULL)
			return usage_token();
		if (strcmp(role, "read") == 0)
			r = WEB_ROLE_READ;
		else if (strcmp(role, "admin") == 0)
			r = WEB_ROLE_ADMIN;
		else
			return usage_token();
		if (tokens_path(file, &path) != 0)
			return CLI_FAIL;
		if (tokens_add(path, name, r, token, &err) == 0) {
			printf("%s\n", token);
			(void)fflush(stdout);
			fprintf(stderr,
			    "token %s (%s) added to %s; it is shown this once "
			    "(send it as Authorization: Bearer TOKEN)\n",
			    name, role, path);
			rc = CLI_OK;
		}
		crypto_wipe(token, sizeof(token));
	} else if (strcmp(verb, "remove") == 0) {
		if (name == NULL || role != NULL)
			return usage_token();
		if (tokens_path(file, &path) != 0)
			return CLI_FAIL;
		if (tokens_remove(path, name, &err) == 0) {
			fprintf(stderr, "token %s removed from %s\n", name,
			    path);
			rc = CLI_OK;
		}
	} else if (strcmp(verb, "list") == 0) {
		struct token_entry *v;
		size_t n;

		if (name != NULL || role != NULL)
			return usage_token();
		if (tokens_path(file, &path) != 0)
			return CLI_FAIL;
		if (tokens_read(path, &v, &n, &err) == 0) {
			for (size_t i = 0; i < n; i++)
				printf("%-20s %s\n", v[i].name,
				    tokens_role_name(v[i].role));
			free(v);
			rc = CLI_OK;
		}
	} else {
		return usage_token();
	}
	if (rc != CLI_OK)
		fprintf(stderr, "vigil: %s\n", err.msg);
	free(path);
	return rc;
}
