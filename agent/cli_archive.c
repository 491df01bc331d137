/*
 * cli_archive.c: `vigil archive list|get`, the metric archive's hours in
 * storage (docs/ARCHIVE.md), read with the configuration's archive section
 * and without a daemon.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/archive.h"
#include "agent/cli.h"
#include "agent/runconf.h"
#include "backup/metric_archive.h"
#include "lib/ag.h"
#include "lib/civil.h"
#include "lib/clock.h"
#include "providers/storage.h"

static int
usage_archive(void)
{
	fprintf(stderr,
	    "usage: vigil archive list [--from T] [--to T] [--host H]\n"
	    "       vigil archive get --from T --to T [--host H] "
	    "[--key FILE] (--out DIR | -)\n"
	    "  T: 2026-12-01, 2026-12-01T13, 2026-12-01T13:00:00Z; hours "
	    "that overlap [from, to)\n"
	    "  get writes DIR/YYYY/MM/DD/HH.ndjson.gz, or with - every hour's "
	    "gzip stream\n  to standard output in order (zcat reads it); "
	    "encrypted hours are decrypted\n");
	return CLI_USAGE;
}

/* A time given as a date, a date and hour, or RFC 3339. */
static int
parse_time(const char *s, int64_t *ret_ms)
{
	int y, m, d, h = 0, mi = 0, n = 0;

	if (clock_parse_rfc3339(s, ret_ms) == 0)
		return 0;
	if (sscanf(s, "%4d-%2d-%2d%n", &y, &m, &d, &n) != 3)
		return -1;
	if (s[n] == 'T') {
		int k = 0;

		if (sscanf(s + n, "T%2d%n", &h, &k) != 1)
			return -1;
		n += k;
		if (s[n] == ':' && sscanf(s + n, ":%2d%n", &mi, &k) == 1)
			n += k;
		if (s[n] == 'Z')
			n++;
	}
	if (s[n] != '\0' || m < 1 || m > 12 || d < 1 ||
	    d > civil_days_in_month(y, m) || h > 23 || mi > 59)
		return -1;
	*ret_ms = ((civil_to_days(y, m, d) * 24 + h) * 60 + mi) * 60000;
	return 0;
}

/* The hour of a key ".../YYYY/MM/DD/HH.ndjson.gz[.vgl]"; 0 or -1. */
static int
key_hour(const char *key, const char *base, int64_t *ret_hour, bool *ret_enc)
{
	char stem[11];
	const char *p = key + strlen(base);
	int n = 0;

	if (strncmp(key, base, strlen(base)) != 0 || strlen(p) < 23)
		return -1;
	if (sscanf(p, "%4c/%2c/%2c/%2c.ndjson.gz%n", stem, stem + 4, stem + 6,
		stem + 8, &n) != 4 ||
	    n == 0)
		return -1;
	stem[10] = '\0';
	if (strcmp(p + n, "") == 0)
		*ret_enc = false;
	else if (strcmp(p + n, ".vgl") == 0)
		*ret_enc = true;
	else
		return -1;
	return archive_parse_stem(stem, ret_hour);
}

static int
write_all(int fd, const uint8_t *p, size_t len)
{
	while (len > 0) {
		ssize_t w = write(fd, p, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

/* Write one hour below ${dir} as YYYY/MM/DD/HH.ndjson.gz. */
static int
save(const char *dir, const char *rel, const uint8_t *p, size_t len)
{
	char path[4096], *slash;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	if ((slash = strrchr(path, '/')) != NULL) {
		*slash = '\0';
		if (ag_mkdir_p(path, 0755, 0755) != 0) {
			fprintf(stderr, "vigil: %s: %s\n", path,
			    strerror(errno));
			return -1;
		}
		*slash = '/';
	}
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) <
		0 ||
	    write_all(fd, p, len) != 0 || close(fd) != 0) {
		fprintf(stderr, "vigil: %s: %s\n", path, strerror(errno));
		return -1;
	}
	return 0;
}

int
cli_archive(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "from", required_argument, NULL, 'f' },
		{ "to", required_argument, NULL, 't' },
		{ "host", required_argument, NULL, 'H' },
		{ "out", required_argument, NULL, 'o' },
		{ "key", required_argument, NULL, 'k' },
		{ NULL, 0, NULL, 0 },
	};
	const char *sub, *host = NULL, *out = NULL, *keyfile = NULL;
	int64_t from = INT64_MIN, to = INT64_MAX;
	struct conf_errs errs = { 0 };
	struct storage_conf *sc = NULL;
	struct storage *st = NULL;
	struct objlist l = { 0 };
	struct ag_err err = { "" };
	struct archive_conf ac;
	struct runconf *rcf = NULL;
	char base[1024];
	bool get, have_from = false, have_to = false;
	int opt, r, rc = CLI_FAIL;
	size_t got = 0;

	if (argc < 2)
		return usage_archive();
	sub = argv[1];
	if (strcmp(sub, "list") != 0 && strcmp(sub, "get") != 0)
		return usage_archive();
	get = sub[0] == 'g';
	optind = 2;
	while ((opt = getopt_long(argc, argv, "f:t:H:o:k:", opts, NULL)) !=
	    -1) {
		if (opt == 'f' && parse_time(optarg, &from) == 0)
			have_from = true;
		else if (opt == 't' && parse_time(optarg, &to) == 0)
			have_to = true;
		else if (opt == 'H')
			host = optarg;
		else if (opt == 'o' && get)
			out = optarg;
		else if (opt == 'k' && get)
			keyfile = optarg;
		else
			return usage_archive();
	}
	if (get && optind + 1 == argc && strcmp(argv[optind], "-") == 0 &&
	    out == NULL) {
		out = "-";
		optind++;
	}
	if (optind != argc || (get && (out == NULL || !have_from || !have_to)))
		return usage_archive();
	if (cli_load(&rcf) != 0)
		return CLI_FAIL;
	if (rcf->conf->archive == NULL) {
		fprintf(stderr, "vigil: %s has no archive section\n",
		    rcf->conf->path);
		goto out;
	}
	if (archive_conf_parse(rcf->conf->archive, rcf->conf->storage, &ac,
		&errs) != 0 ||
	    storage_conf_find(rcf->conf->storage, ac.storage, &sc, &errs) !=
		0) {
		for (size_t i = 0; i < errs.n; i++)
			fprintf(stderr, "vigil: %s\n", errs.msgs[i]);
		goto out;
	}
	if (keyfile == NULL)
		keyfile = ac.key_file;
	if (host == NULL)
		host = rcf->conf->agent.hostname;
	snprintf(base, sizeof(base), "%s%smetrics/%s/", ac.prefix,
	    ac.prefix[0] != '\0' ? "/" : "", host);
	if ((r = storage_open(sc, &st, &err)) != 0 ||
	    (r = storage_list(st, base, 0, &l, &err)) != 0) {
		fprintf(stderr, "vigil: %s\n", err.msg);
		goto out;
	}
	if (get && strcmp(out, "-") == 0 && isatty(STDOUT_FILENO)) {
		fprintf(stderr,
		    "vigil: refusing to write gzip data to a "
		    "terminal; redirect the output\n");
		rc = CLI_USAGE;
		goto out;
	}
	for (size_t i = 0; i < l.n; i++) {
		uint8_t *p = NULL, *gz = NULL;
		size_t len, gzlen;
		int64_t hour;
		bool enc;
		char stem[11];

		if (key_hour(l.v[i].name, base, &hour, &enc) != 0)
			continue;
		if ((hour + 1) * ARCHIVE_HOUR_MS <= from ||
		    (have_to && hour * ARCHIVE_HOUR_MS >= to))
			continue;
		archive_hour_stem(hour, stem);
		if (!get) {
			printf("%.4s-%.2s-%.2sT%.2s:00:00Z %12llu %s\n", stem,
			    stem + 4, stem + 6, stem + 8,
			    (unsigned long long)l.v[i].size, l.v[i].name);
			got++;
			continue;
		}
		if (storage_get_buf(st, l.v[i].name, ARCHIVE_HOUR_MAX + 4096,
			&p, &len, &err) != 0) {
			fprintf(stderr, "vigil: %s\n", err.msg);
			goto out;
		}
		gz = p;
		gzlen = len;
		if (enc) {
			if (keyfile == NULL) {
				fprintf(stderr,
				    "vigil: %s is encrypted: give --key or "
				    "archive.key_file\n",
				    l.v[i].name);
				free(p);
				goto out;
			}
			if (archive_decrypt(keyfile, p, len, &gz, &gzlen,
				&err) != 0) {
				fprintf(stderr, "vigil: %s: %s\n", l.v[i].name,
				    err.msg);
				free(p);
				goto out;
			}
			free(p);
		}
		if (strcmp(out, "-") == 0) {
			r = write_all(STDOUT_FILENO, gz, gzlen);
			if (r != 0)
				fprintf(stderr,
				    "vigil: writing standard output: %s\n",
				    strerror(errno));
		} else {
			char rel[64];

			snprintf(rel, sizeof(rel),
			    "%.4s/%.2s/%.2s/%.2s.ndjson.gz", stem, stem + 4,
			    stem + 6, stem + 8);
			r = save(out, rel, gz, gzlen);
		}
		free(gz);
		if (r != 0)
			goto out;
		got++;
	}
	if (got == 0)
		fprintf(stderr,
		    "vigil: no archived hours under %s in that "
		    "range\n",
		    base);
	rc = CLI_OK;
out:
	objlist_free(&l);
	storage_close(st);
	storage_conf_free(sc);
	conf_errs_free(&errs);
	runconf_free(rcf);
	return rc;
}
