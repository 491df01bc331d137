/*
 * cli_storage.c: `vigil storage check NAME [--prefix P] [--no-delete]`.
 *
 * Proves that this host's credentials can do what backups need on a storage
 * target, before the first nightly run finds out: it opens the target,
 * writes a probe object ".vigil-check-<host>-<random>" (under --prefix P if
 * given, which the target's own prefix setting, if any, precedes), lists it,
 * reads a range from its middle back and compares it, deletes it and checks
 * that it is gone.  Each step prints OK or FAILED with its time; a failed
 * step names the permission most likely missing for the target's type and
 * points to docs/STORAGE-PERMISSIONS.md.  Everything goes through the
 * storage wrappers (providers/storage.h), so every backend is checked the
 * same way; only the permission names are per type.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <sys/random.h>

#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "conf/conf.h"
#include "lib/ag.h"
#include "lib/backoff.h"
#include "providers/storage.h"

#include "agent/cli.h"
#include "agent/runconf.h"

/* The probe: odd-sized, so the ranged read starts and ends mid-block. */
#define PROBE_SIZE 65659 /* 64 KiB + 123 */
#define PROBE_BYTES "65659"
#define PROBE_NAME ".vigil-check-"
#define HOST_MAX 64
#define PERM_DOC "docs/STORAGE-PERMISSIONS.md"

/* The steps, in the order they run. */
enum step { S_OPEN, S_WRITE, S_LIST, S_READ, S_DELETE, S_GONE, S_N };

static const char *const step_word[S_N] = { "open", "write", "list", "read",
	"delete", "gone" };

/*
 * What each step needs, per storage type: the permission a failure most
 * likely lacks, and how to remove a probe left behind (the command, to
 * which its key is appended; PREFIX is the target's prefix setting).
 */
struct perms {
	const char *type;
	const char *need[S_N];
	const char *rm; /* the key follows */
};

static const struct perms perms_tab[] = {
	{ "local",
	    {
		"read, write and search (rwx) on the folder for the user "
		"vigil runs as, search (x) on every folder above it, and "
		"if it is missing, write and search (w+x) on its parent "
		"so that vigil can create it",
		"write and search (w+x) on the folder for the user vigil "
		"runs as, on a file system mounted read-write",
		"read and search (r+x) on the folder and its subfolders",
		"read (r) on the files in the folder",
		"write and search (w+x) on the folder holding the object",
		"read and search (r+x) on the folder",
	    },
	    "rm FOLDER/" },
	{ "s3",
	    {
		"valid credentials and the right bucket, region and "
		"endpoint",
		"s3:PutObject on arn:aws:s3:::BUCKET/PREFIX* (with "
		"lock_days also s3:PutObjectRetention; with SSE-KMS "
		"kms:GenerateDataKey on the key)",
		"s3:ListBucket on arn:aws:s3:::BUCKET (a condition on "
		"s3:prefix must allow the target's prefix)",
		"s3:GetObject on arn:aws:s3:::BUCKET/PREFIX* (with SSE-KMS "
		"kms:Decrypt on the key)",
		"s3:DeleteObject on arn:aws:s3:::BUCKET/PREFIX* (an Object "
		"Lock retention also refuses deletes)",
		"s3:ListBucket and s3:GetObject",
	    },
	    "aws s3 rm s3://BUCKET/PREFIX/" },
	{ "azure",
	    {
		"valid credentials (Entra ID, SharedKey or SAS) and the "
		"right account, container and endpoint",
		"Azure role \"Storage Blob Data Contributor\" on the "
		"container, or a SAS with 'w'",
		"Azure role \"Storage Blob Data Reader\" or \"Contributor\" "
		"on the container, or a SAS with 'l'",
		"Azure role \"Storage Blob Data Reader\" or \"Contributor\" "
		"on the container, or a SAS with 'r'",
		"Azure role \"Storage Blob Data Contributor\" on the "
		"container, or a SAS with 'd' (an immutability policy "
		"also refuses deletes)",
		"a SAS with 'l' and 'r', or a role that reads blobs",
	    },
	    "az storage blob delete --account-name ACCOUNT "
	    "--container-name CONTAINER --name PREFIX/" },
	{ "gcs",
	    {
		"valid credentials (service-account key or metadata "
		"server) and the right bucket and endpoint",
		"storage.objects.create on the bucket (roles/storage."
		"objectCreator or roles/storage.objectUser)",
		"storage.objects.list on the bucket (roles/storage."
		"objectViewer or roles/storage.objectUser)",
		"storage.objects.get on the bucket (roles/storage."
		"objectViewer or roles/storage.objectUser)",
		"storage.objects.delete on the bucket (roles/storage."
		"objectUser; a retention policy also refuses deletes)",
		"storage.objects.list and storage.objects.get",
	    },
	    "gcloud storage rm gs://BUCKET/PREFIX/" },
};

static const struct perms perms_other = { NULL,
	{
	    "valid credentials and settings for the target",
	    "permission to create objects",
	    "permission to list objects",
	    "permission to read objects",
	    "permission to delete objects",
	    "permission to list and read objects",
	},
	"the storage's own tools, deleting " };

/* One run of the check. */
struct check {
	const struct perms *perms;
	struct storage *st;
	const char *name;	       /* the target's name */
	char key[STORAGE_KEY_MAX + 1]; /* the probe */
	uint8_t *data;		       /* its contents */
	struct timespec t0;	       /* the current step's start */
	int failed;		       /* steps that failed */
};

static int
usage_storage(void)
{
	fprintf(stderr,
	    "usage: vigil storage check NAME [--prefix P] "
	    "[--no-delete]\n"
	    "  writes, lists, reads back (a range) and deletes a probe "
	    "object in the\n  storage target NAME, and says which "
	    "permission is missing if a step fails;\n"
	    "  --prefix P   put the probe under P/ (a job's prefix)\n"
	    "  --no-delete  leave the probe (write-only hosts, whose "
	    "backups are pruned\n               elsewhere: see " PERM_DOC
	    ")\n");
	return CLI_USAGE;
}

/* again(rc, attempt): after a transient failure, pause and say "retry". */
static bool
again(int rc, unsigned *attempt)
{

	return rc == AG_RETRY && backoff_retry(&storage_retry, attempt);
}

static void
step_start(struct check *c)
{

	clock_gettime(CLOCK_MONOTONIC, &c->t0);
}

/*
 * step_end(c, s, rc, err, fmt, ...):
 * Print step ${s}: OK with the detail ${fmt} if ${rc} is 0, else FAILED
 * with ${err} and the permission the step most likely lacks (not for a
 * transient failure, whose retries ran out; nor for a mismatch, which
 * ${err} == NULL marks).
 */
static void
step_end(struct check *c, enum step s, int rc, const struct ag_err *err,
    const char *fmt, ...)
{
	struct timespec t1;
	char detail[STORAGE_KEY_MAX + 128];
	double ms;
	va_list ap;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (double)(t1.tv_sec - c->t0.tv_sec) * 1e3 +
	    (double)(t1.tv_nsec - c->t0.tv_nsec) / 1e6;
	va_start(ap, fmt);
	(void)vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	printf("  %-7s %-7s %9.1f ms%s%s\n", step_word[s],
	    rc == 0 ? "OK" : "FAILED", ms, detail[0] != '\0' ? "  " : "",
	    detail);
	if (rc == 0)
		return;
	c->failed++;
	if (err != NULL)
		printf("%20s%s\n", "", err->msg);
	if (rc == AG_RETRY)
		printf("%20sa transient failure (network, throttling or the "
		       "service), retried %u times: try again later\n",
		    "", storage_retry.retries);
	else if (err != NULL)
		printf("%20smost likely missing, if access was refused: %s "
		       "(see %s)\n",
		    "", c->perms->need[s], PERM_DOC);
}

/*
 * probe_key(c, prefix): the probe's key (under ${prefix}, already checked,
 * if not NULL) and contents; 0, or -1 with a message.
 */
static int
probe_key(struct check *c, const char *prefix)
{
	char host[HOST_MAX + 1] = "host";
	uint8_t r[8];
	char *p;
	int n;

	if (gethostname(host, sizeof(host)) != 0 || host[0] == '\0')
		strcpy(host, "host");
	host[HOST_MAX] = '\0';
	for (p = host; *p != '\0'; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			(*p >= '0' && *p <= '9') || *p == '-' || *p == '.'))
			*p = '_';
	if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r)) {
		fprintf(stderr, "vigil: getrandom failed\n");
		return (-1);
	}
	n = snprintf(c->key, sizeof(c->key),
	    "%s%s" PROBE_NAME "%s-"
	    "%02x%02x%02x%02x%02x%02x%02x%02x",
	    prefix != NULL ? prefix : "", prefix != NULL ? "/" : "", host,
	    r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7]);
	if (n < 0 || (size_t)n >= sizeof(c->key) ||
	    !storage_key_valid(c->key)) {
		fprintf(stderr, "vigil: cannot make a probe key\n");
		return (-1);
	}

	/* Contents that differ at every offset: a shifted range shows. */
	if ((c->data = malloc(PROBE_SIZE)) == NULL) {
		fprintf(stderr, "vigil: out of memory\n");
		return (-1);
	}
	for (size_t i = 0; i < PROBE_SIZE; i++)
		c->data[i] = (uint8_t)(r[i % sizeof(r)] ^
		    (i * 131 + (i >> 8)));
	return (0);
}

/* Where the ranged read compares. */
struct cmp_sink {
	const uint8_t *want;
	uint64_t len;
	uint64_t got;
	int bad;
};

static int
cmp_sink(void *cookie, const uint8_t *buf, size_t len)
{
	struct cmp_sink *cs = cookie;

	if (len > cs->len - cs->got ||
	    memcmp(buf, cs->want + cs->got, len) != 0) {
		cs->bad = 1;
		return (-1);
	}
	cs->got += len;
	return (0);
}

/*
 * find(c, ret_size, err): list under the probe's key; 0 and its size in
 * ${ret_size} if listed, STORAGE_ABSENT if not, or -1 / AG_RETRY.
 */
static int
find(struct check *c, uint64_t *ret_size, struct ag_err *err)
{
	struct objlist l = { 0 };
	unsigned attempt = 0;
	int rc;

	do
		rc = storage_list(c->st, c->key, 0, &l, err);
	while (again(rc, &attempt));
	if (rc != 0)
		return (rc);
	rc = STORAGE_ABSENT;
	for (size_t i = 0; i < l.n; i++)
		if (strcmp(l.v[i].name, c->key) == 0) {
			*ret_size = l.v[i].size;
			rc = 0;
		}
	objlist_free(&l);
	return (rc);
}

/*
 * step_change(c, s): S_WRITE (the probe, in one upload) or S_DELETE (it
 * goes); 0 or not.
 */
static int
step_change(struct check *c, enum step s)
{
	struct ag_err err = { "" };
	unsigned attempt = 0;
	int rc;

	step_start(c);
	do
		rc = s == S_WRITE ?
		    storage_put(c->st, c->key, c->data, PROBE_SIZE, &err) :
		    storage_remove(c->st, c->key, &err);
	while (again(rc, &attempt));
	step_end(c, s, rc, &err,
	    s == S_WRITE ? "%s (" PROBE_BYTES " bytes)" : "%s", c->key);
	return (rc);
}

/* step_list(c): the probe is listed, with its size. */
static void
step_list(struct check *c)
{
	struct ag_err err = { "" };
	uint64_t size = 0;
	int rc;

	step_start(c);
	rc = find(c, &size, &err);
	if (rc == STORAGE_ABSENT || (rc == 0 && size != PROBE_SIZE)) {
		step_end(c, S_LIST, -1, NULL, "%s",
		    rc == 0 ? "listed with the wrong size" :
			      "the listing does not show the probe");
		if (rc == 0)
			printf("%20slisted as %" PRIu64 " bytes, written as "
			       "%u\n",
			    "", size, (unsigned)PROBE_SIZE);
		return;
	}
	step_end(c, S_LIST, rc, &err, "listed, %" PRIu64 " bytes", size);
}

/* step_read(c): a range from the middle of the probe reads back equal. */
static void
step_read(struct check *c)
{
	struct ag_err err = { "" };
	uint64_t off = PROBE_SIZE / 3, len = PROBE_SIZE / 3;
	struct cmp_sink cs = { .want = c->data + off, .len = len };
	int rc;

	step_start(c);
	rc = storage_get_retry(c->st, c->key, off, len, cmp_sink, &cs, &err);
	if (cs.bad || (rc == 0 && cs.got != len)) {
		step_end(c, S_READ, -1, NULL,
		    "bytes %" PRIu64 "-%" PRIu64
		    " differ from what was written (got %" PRIu64 " bytes)",
		    off, off + len - 1, cs.got);
		return;
	}
	if (rc == STORAGE_ABSENT)
		(void)ag_err_set(&err, "%s: not found after it was written",
		    c->key);
	step_end(c, S_READ, rc == STORAGE_ABSENT ? -1 : rc, &err,
	    "bytes %" PRIu64 "-%" PRIu64 " of %u match", off, off + len - 1,
	    (unsigned)PROBE_SIZE);
}

/* step_gone(c): neither listed nor readable any more. */
static void
step_gone(struct check *c)
{
	struct ag_err err = { "" };
	struct cmp_sink cs = { .want = c->data, .len = 1 };
	uint64_t size;
	int rc;

	step_start(c);
	if ((rc = find(c, &size, &err)) == 0) {
		step_end(c, S_GONE, -1, NULL, "still listed after the delete");
		return;
	}
	if (rc != STORAGE_ABSENT) {
		step_end(c, S_GONE, rc, &err, "");
		return;
	}
	rc = storage_get_retry(c->st, c->key, 0, 1, cmp_sink, &cs, &err);
	if (rc == 0 || cs.got > 0 || cs.bad) {
		step_end(c, S_GONE, -1, NULL,
		    "still readable after the "
		    "delete");
		return;
	}
	step_end(c, S_GONE, rc == STORAGE_ABSENT ? 0 : rc, &err,
	    "neither listed nor readable");
}

/* list_names(section): "a, b, c" of the configured targets, on stderr. */
static void
list_names(const conf_node *section)
{
	size_t n = conf_len(section);

	if (n == 0) {
		fprintf(stderr,
		    "vigil: the configuration defines no storage "
		    "target (storage = { NAME = { type = ...; }; };)\n");
		return;
	}
	fprintf(stderr, "vigil: storage targets defined:");
	for (size_t i = 0; i < n; i++)
		fprintf(stderr, "%s %s", i > 0 ? "," : "",
		    conf_name(conf_elem(section, i)));
	fprintf(stderr, "\n");
}

int
cli_storage_check(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "prefix", required_argument, NULL, 'p' },
		{ "no-delete", no_argument, NULL, 'N' },
		{ NULL, 0, NULL, 0 },
	};
	struct check c = { .perms = &perms_other };
	struct runconf *rcf = NULL;
	struct storage_conf *sc = NULL;
	struct conf_errs errs = { 0 };
	struct ag_err err = { "" };
	const char *prefix = NULL;
	bool no_delete = false;
	unsigned attempt = 0;
	int opt, rc = CLI_FAIL, r;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "p:", opts, NULL)) != -1) {
		if (opt == 'p')
			prefix = optarg;
		else if (opt == 'N')
			no_delete = true;
		else
			return usage_storage();
	}
	if (optind + 1 != argc)
		return usage_storage();
	c.name = argv[optind];
	if (prefix != NULL &&
	    (!storage_key_valid(prefix) ||
		strlen(prefix) > STORAGE_KEY_MAX / 2)) {
		fprintf(stderr,
		    "vigil: --prefix \"%s\" is not a valid key "
		    "prefix ('/'-separated, no empty, \".\" or \"..\" segment, "
		    "no leading or trailing '/', at most %d bytes)\n",
		    prefix, STORAGE_KEY_MAX / 2);
		return CLI_USAGE;
	}

	if (cli_load(&rcf) != 0)
		goto out;
	if (rcf->conf->storage == NULL ||
	    conf_member(rcf->conf->storage, c.name) == NULL) {
		fprintf(stderr,
		    "vigil: no storage target named \"%s\" in "
		    "%s\n",
		    c.name, rcf->conf->path);
		list_names(rcf->conf->storage);
		goto out;
	}
	if (storage_conf_find(rcf->conf->storage, c.name, &sc, &errs) != 0) {
		for (size_t i = 0; i < errs.n; i++)
			fprintf(stderr, "vigil: %s\n", errs.msgs[i]);
		goto out;
	}
	for (size_t i = 0; i < sizeof(perms_tab) / sizeof(perms_tab[0]); i++)
		if (strcmp(perms_tab[i].type, sc->type) == 0)
			c.perms = &perms_tab[i];
	if (probe_key(&c, prefix) != 0)
		goto out;

	printf("storage \"%s\" (%s): probe object %s\n", c.name, sc->type,
	    c.key);
	step_start(&c);
	do
		r = storage_open(sc, &c.st, &err);
	while (again(r, &attempt));
	step_end(&c, S_OPEN, r, &err, "");
	if (r != 0)
		goto summary;

	if (step_change(&c, S_WRITE) != 0)
		goto summary;
	step_list(&c);
	step_read(&c);
	if (no_delete) {
		printf("  %-7s SKIPPED (--no-delete)\n", step_word[S_DELETE]);
		printf("the probe object remains in storage \"%s\"; remove it "
		       "from a host allowed\nto delete (write-only hosts: see "
		       "%s), e.g.\n  %s%s\n",
		    c.name, PERM_DOC, c.perms->rm, c.key);
	} else if (step_change(&c, S_DELETE) == 0) {
		step_gone(&c);
	} else {
		printf("the probe object remains in storage \"%s\"; once "
		       "deletes are allowed:\n  %s%s\n",
		    c.name, c.perms->rm, c.key);
	}

summary:
	fflush(stdout);
	if (c.failed > 0) {
		fprintf(stderr, "vigil: storage \"%s\": %d check%s failed\n",
		    c.name, c.failed, c.failed > 1 ? "s" : "");
		goto out;
	}
	printf("storage \"%s\": every check passed%s\n", c.name,
	    no_delete ? " (delete not tried)" : "");
	rc = CLI_OK;
out:
	fflush(stdout);
	storage_close(c.st);
	free(c.data);
	conf_errs_free(&errs);
	storage_conf_free(sc);
	runconf_free(rcf);
	return rc;
}
