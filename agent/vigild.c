/*
 * vigild.c: the daemon's main(): options, the whole config loaded and
 * checked, then the scheduler loop (sched.c).  It never daemonizes: systemd
 * (or a terminal) keeps it in the foreground.  Its heavy work (checking
 * backup jobs and webhooks, running backups) happens in child processes
 * (child.h), so that it never maps the heavy module itself.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "paths.h"
#include "version.h"

#include "agent/child.h"
#include "agent/runconf.h"
#include "agent/sched.h"

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: vigild [-f] [-n] [-v] [-c FILE] | -V | -h\n"
	    "  -c FILE   configuration (default: $VIGIL_CONFIG, else %s;\n"
	    "            without either file, the embedded default)\n"
	    "  -f        foreground on a terminal: time-stamped log lines\n"
	    "  -n        check the configuration and exit\n"
	    "  -v        debug logging\n"
	    "  -V, --version  print the version and the commit\n"
	    "  -h, --help     print this help\n"
	    "vigild always stays in the foreground (run it from systemd).\n",
	    VIGIL_DEFAULT_CONFIG);
}

int
main(int argc, char **argv)
{
	const char *arg_config = NULL, *path;
	struct runconf *rc;
	bool arg_check = false, arg_fg = false, arg_verbose = false;
	enum log_level lvl;
	static const struct option longopts[] = {
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int opt;

	while ((opt = getopt_long(argc, argv, "c:fnvVh", longopts, NULL)) !=
	    -1) {
		switch (opt) {
		case 'c':
			arg_config = optarg;
			break;
		case 'f':
			arg_fg = true;
			break;
		case 'n':
			arg_check = true;
			break;
		case 'v':
			arg_verbose = true;
			break;
		case 'V':
			printf("vigild %s\n", VIGIL_VERSION_LINE);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	path = runconf_pick_path(arg_config);
	child_isolate_set(true);
	if (runconf_load_stderr(path, &rc, false) != 0)
		return 1;
	if (arg_check) {
		printf("configuration OK\n");
		runconf_free(rc);
		return 0;
	}
	log_set_timestamps(arg_fg);
	if (rc->conf->agent.syslog && !arg_fg)
		log_use_syslog("vigild");
	if (log_parse_level(rc->conf->agent.log_level, &lvl) == 0)
		log_set_level(lvl);
	if (arg_verbose)
		log_set_level(LOG_LVL_DEBUG);
	if (path == NULL)
		log_info("no configuration file (%s): using the embedded "
			 "default",
		    runconf_default_path());
	return sched_run(path, rc);
}
