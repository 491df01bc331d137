/*
 * cli_key.c: `vigil key generate` and `vigil decrypt`, the two commands that
 * deal with keys and sealed objects directly.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backup/format.h"
#include "backup/jobconf.h"
#include "lib/crypto/crypto_keys.h"
#include "lib/crypto/crypto_sign.h"

#include "agent/cli.h"
#include "agent/runconf.h"

static int
usage_key(void)
{
	fprintf(stderr,
	    "usage: vigil key generate --out FILE [--symmetric | "
	    "--sign]\n"
	    "  writes an X25519 private key (PEM, mode 0600) to FILE and prints "
	    "the\n  public key for a job's public_key setting (write-only "
	    "backups);\n  --symmetric writes a 32-byte key file for key_file "
	    "instead;\n  --sign writes an Ed25519 signing key for signing_key "
	    "and prints\n  the trusted_signers line for the restoring "
	    "side\n");
	return CLI_USAGE;
}

int
cli_key(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "out", required_argument, NULL, 'o' },
		{ "symmetric", no_argument, NULL, 'S' },
		{ "sign", no_argument, NULL, 'G' },
		{ NULL, 0, NULL, 0 },
	};
	const char *out = NULL;
	bool symmetric = false, sign = false;
	struct ag_err err = { "" };
	char pub[CRYPTO_PUBLIC_STR_SIZE];
	int opt;

	if (argc < 2 || strcmp(argv[1], "generate") != 0)
		return usage_key();
	optind = 2;
	while ((opt = getopt_long(argc, argv, "o:", opts, NULL)) != -1) {
		if (opt == 'o')
			out = optarg;
		else if (opt == 'S')
			symmetric = true;
		else if (opt == 'G')
			sign = true;
		else
			return usage_key();
	}
	if (out == NULL || optind != argc || (symmetric && sign))
		return usage_key();
	if (sign) {
		char spub[CRYPTO_SIGN_PUBSTR_SIZE];

		if (crypto_sign_generate(out, spub, sizeof(spub), &err) != 0) {
			fprintf(stderr, "vigil: %s\n", err.msg);
			return CLI_FAIL;
		}
		fprintf(stderr,
		    "wrote signing key %s (mode 0600): give it to "
		    "this host's jobs as signing_key;\nput this in the job "
		    "config of the hosts that restore or verify:\n",
		    out);
		printf("trusted_signers = [ \"%s\" ];\n", spub);
		return CLI_OK;
	}
	if (symmetric) {
		if (crypto_keys_generate_keyfile(out, &err) != 0) {
			fprintf(stderr, "vigil: %s\n", err.msg);
			return CLI_FAIL;
		}
		fprintf(stderr,
		    "wrote key file %s (mode 0600): use it as "
		    "key_file and keep a copy away from this host\n",
		    out);
		return CLI_OK;
	}
	if (crypto_keys_generate_x25519(out, pub, sizeof(pub), &err) != 0) {
		fprintf(stderr, "vigil: %s\n", err.msg);
		return CLI_FAIL;
	}
	fprintf(stderr,
	    "wrote private key %s (mode 0600): keep it away from "
	    "the hosts that back up;\nput this in their job config:\n",
	    out);
	printf("public_key = \"%s\";\n", pub);
	return CLI_OK;
}

static int
usage_decrypt(void)
{
	fprintf(stderr,
	    "usage: vigil decrypt (--key FILE | --job NAME) "
	    "< OBJECT > PLAINTEXT\n"
	    "  data.vgl decrypts to a .tar.gz (tar -xzf - reads it), "
	    "manifest.vgl to JSON\n");
	return CLI_USAGE;
}

static int
write_chunk(void *cookie, uint64_t index, const uint8_t *pt, size_t len,
    int final)
{
	FILE *out = cookie;

	(void)index;
	(void) final;
	return len > 0 && fwrite(pt, 1, len, out) != len ? 2 : 0;
}

int
cli_decrypt(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "key", required_argument, NULL, 'k' },
		{ "job", required_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	const char *keyfile = NULL, *job = NULL;
	struct crypto_key *key = NULL;
	struct format_reader *rd = NULL;
	struct ag_err err = { "" };
	static uint8_t buf[1 << 20];
	int opt, rc = CLI_FAIL;
	ssize_t n;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "k:j:", opts, NULL)) != -1) {
		if (opt == 'k')
			keyfile = optarg;
		else if (opt == 'j')
			job = optarg;
		else
			return usage_decrypt();
	}
	if (optind != argc || (keyfile == NULL) == (job == NULL))
		return usage_decrypt();
	if (isatty(STDOUT_FILENO)) {
		fprintf(stderr,
		    "vigil: refusing to write plaintext to a "
		    "terminal; redirect the output\n");
		return CLI_USAGE;
	}
	if (keyfile != NULL) {
		key = jobconf_load_key_path(keyfile, &err);
	} else {
		struct runconf *rcf;
		struct job_conf *jc;

		if (cli_load(&rcf) != 0)
			return CLI_FAIL;
		if ((jc = runconf_job(rcf, job)) == NULL)
			ag_err_set(&err, "no backup job named \"%s\"", job);
		else
			key = jobconf_load_key(jc, true, &err);
		runconf_free(rcf);
	}
	if (key == NULL) {
		fprintf(stderr, "vigil: %s\n", err.msg);
		return CLI_FAIL;
	}
	if ((rd = format_reader_new(key, 0, write_chunk, stdout)) == NULL) {
		fprintf(stderr, "vigil: out of memory\n");
		goto out;
	}
	while ((n = read(STDIN_FILENO, buf, sizeof(buf))) != 0) {
		int r;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "vigil: reading standard input: %s\n",
			    strerror(errno));
			goto out;
		}
		if ((r = format_reader_feed(rd, buf, (size_t)n, &err)) != 0) {
			if (r == 2)
				fprintf(stderr,
				    "vigil: writing standard "
				    "output: %s\n",
				    strerror(errno));
			else
				fprintf(stderr, "vigil: %s\n", err.msg);
			goto out;
		}
	}
	if (format_reader_end(rd, &err) != 0) {
		fprintf(stderr, "vigil: %s\n", err.msg);
		goto out;
	}
	if (fflush(stdout) != 0) {
		fprintf(stderr, "vigil: writing standard output: %s\n",
		    strerror(errno));
		goto out;
	}
	rc = CLI_OK;
out:
	format_reader_free(rd);
	crypto_keys_free(key);
	return rc;
}
