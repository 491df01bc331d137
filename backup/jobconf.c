/*
 * jobconf.c: see jobconf.h.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backup/st_compress.h"
#include "lib/crypto/crypto.h"
#include "lib/crypto/crypto_keys.h"
#include "lib/crypto/crypto_sign.h"
#include "lib/log.h"
#include "lib/schedule.h"
#include "providers/storage.h"
#include "backup/rds.h"

#include "backup/jobconf.h"

static const char *const job_keys[] = { "name", "paths", "exclude",
	"exclude_caches", "one_file_system", "strict", "commands", "storage",
	"prefix", "key_file", "create_key", "passphrase_file", "public_key",
	"private_key_file", "schedule", "splay", "keep_last", "keep_daily",
	"keep_weekly", "keep_monthly", "compression", "threads", "slice_size",
	"pre_hook", "post_hook", "hook_timeout", "timeout", "signing_key",
	"trusted_signers", "rds", NULL };
static const char *const cmd_keys[] = { "path", "run", NULL };

static int
valid_job_name(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 64 || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return 0;
	return strspn(s,
		   "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		   "0123456789._-") == n;
}

/* A relative path inside the archive: no leading '/', no "..". */
static int
valid_archive_path(const char *p)
{
	const char *s = p;

	if (*p == '\0' || *p == '/')
		return 0;
	while (*s != '\0') {
		size_t n = strcspn(s, "/");

		if (n == 0 || (n == 2 && strncmp(s, "..", 2) == 0) ||
		    (n == 1 && *s == '.'))
			return 0;
		s += n;
		if (*s == '/')
			s++;
	}
	return p[strlen(p) - 1] != '/';
}

static void
parse_commands(struct job_conf *jc, const conf_node *cs, struct conf_errs *e)
{
	const conf_node *list = conf_member(cs, "commands");
	size_t n = conf_len(list);

	if (list == NULL)
		return;
	if (!conf_is_list(list)) {
		conf_error(e, list,
		    "must be a list: ( { path = ...; run = ...; "
		    "} )");
		return;
	}
	if ((jc->commands = calloc(n, sizeof(*jc->commands))) == NULL) {
		conf_error(e, list, "out of memory");
		return;
	}
	for (size_t i = 0; i < n; i++) {
		const conf_node *c = conf_elem(list, i);
		const char *path = NULL, *run = NULL;

		if (!conf_is_group(c)) {
			conf_error(e, c,
			    "must be a group: { path = ...; "
			    "run = ...; }");
			continue;
		}
		conf_check_keys(e, c, cmd_keys);
		if (conf_get_str(e, c, "path", true, &path) == 1 &&
		    !valid_archive_path(path))
			conf_error_at(e, c, "path",
			    "\"%s\" must be a relative "
			    "path without \"..\" (where the output is stored "
			    "in the archive)",
			    path);
		if (conf_get_str(e, c, "run", true, &run) == 1 &&
		    run[0] == '\0')
			conf_error_at(e, c, "run", "is empty");
		if (path == NULL || run == NULL)
			continue;
		jc->commands[jc->ncommands].path = strdup(path);
		jc->commands[jc->ncommands].run = strdup(run);
		jc->ncommands++;
	}
}

/*
 * Does another job in the list ${cs} is in have key_file ${kf} with
 * create_key = true?
 */
static bool
key_created_by_other(const conf_node *cs, const char *kf)
{
	const conf_node *list = conf_parent(cs);
	struct conf_errs quiet = { 0 };
	bool found = false;

	for (size_t i = 0; i < conf_len(list) && !found; i++) {
		const conf_node *o = conf_elem(list, i);
		const char *okf;
		bool create = false;

		if (o != cs &&
		    conf_get_str(&quiet, o, "key_file", false, &okf) == 1 &&
		    strcmp(okf, kf) == 0 &&
		    conf_get_bool(&quiet, o, "create_key", false, &create) ==
			1 &&
		    create)
			found = true;
	}
	conf_errs_free(&quiet);
	return found;
}

/* Exactly one of key_file, passphrase_file and public_key. */
static void
parse_key(struct job_conf *jc, const conf_node *cs, struct conf_errs *e)
{
	const char *kf = NULL, *pf = NULL, *pub = NULL, *priv = NULL;
	int given;

	(void)conf_get_str(e, cs, "key_file", false, &kf);
	(void)conf_get_str(e, cs, "passphrase_file", false, &pf);
	(void)conf_get_str(e, cs, "public_key", false, &pub);
	(void)conf_get_str(e, cs, "private_key_file", false, &priv);
	(void)conf_get_bool(e, cs, "create_key", false, &jc->create_key);
	given = (kf != NULL) + (pf != NULL) + (pub != NULL);
	if (given != 1) {
		conf_error(e, cs,
		    "give exactly one of key_file, "
		    "passphrase_file and public_key (backups are always "
		    "encrypted)");
		return;
	}
	if (kf != NULL) {
		jc->key_mode = JOB_KEY_FILE;
		jc->key_path = strdup(kf);
		if (kf[0] != '/')
			conf_error_at(e, cs, "key_file",
			    "must be an absolute "
			    "path");
	} else if (pf != NULL) {
		jc->key_mode = JOB_KEY_PASSPHRASE;
		jc->key_path = strdup(pf);
		if (pf[0] != '/')
			conf_error_at(e, cs, "passphrase_file",
			    "must be an "
			    "absolute path");
	} else {
		struct ag_err err = { "" };
		struct crypto_key *k;

		jc->key_mode = JOB_KEY_PUBLIC;
		jc->public_key = strdup(pub);
		if ((k = crypto_keys_from_public(pub, &err)) == NULL)
			conf_error_at(e, cs, "public_key", "%s", err.msg);
		crypto_keys_free(k);
	}
	if (jc->create_key && jc->key_mode != JOB_KEY_FILE)
		conf_error_at(e, cs, "create_key", "only works with key_file");
	if (priv != NULL) {
		if (jc->key_mode != JOB_KEY_PUBLIC)
			conf_error_at(e, cs, "private_key_file",
			    "only goes "
			    "with public_key");
		jc->private_key_file = strdup(priv);
	}
	/*
	 * Check the key file's permissions now, so `vigil config check`
	 * catches a key others can read; a missing file is fine if it will be
	 * generated.
	 */
	if (jc->key_path != NULL) {
		struct stat st;

		if (stat(jc->key_path, &st) != 0) {
			int serr = errno;

			/* Another job may generate it: then so may this one. */
			if (serr == ENOENT && kf != NULL && !jc->create_key &&
			    key_created_by_other(cs, kf))
				jc->create_key = true;
			if (!(serr == ENOENT && jc->create_key))
				conf_error_at(e, cs,
				    kf != NULL ? "key_file" :
						 "passphrase_file",
				    "cannot use \"%s\": %s", jc->key_path,
				    strerror(serr));
		} else if (!S_ISREG(st.st_mode)) {
			conf_error_at(e, cs,
			    kf != NULL ? "key_file" : "passphrase_file",
			    "\"%s\" is not a regular file", jc->key_path);
		} else if ((st.st_mode & 077) != 0) {
			conf_error_at(e, cs,
			    kf != NULL ? "key_file" : "passphrase_file",
			    "\"%s\" has mode %04o: group or "
			    "others may read it; chmod 600 it",
			    jc->key_path, (unsigned)(st.st_mode & 07777));
		}
	}
}

/*
 * signing_key and trusted_signers (docs/BACKUP-FORMAT.md 2.3): the key
 * must be an absolute path to a file only its owner may access, or not
 * exist yet (the first backup generates it); each trusted signer is the
 * base64 of an Ed25519 public key.
 */
static void
parse_signing(struct job_conf *jc, const conf_node *cs, struct conf_errs *e)
{
	const char *sk = NULL;
	uint8_t pub[CRYPTO_SIGN_PUBLEN];
	struct stat st;

	if (conf_get_str(e, cs, "signing_key", false, &sk) == 1) {
		jc->signing_key = strdup(sk);
		if (sk[0] != '/')
			conf_error_at(e, cs, "signing_key",
			    "must be an "
			    "absolute path");
		else if (stat(sk, &st) != 0) {
			if (errno != ENOENT)
				conf_error_at(e, cs, "signing_key",
				    "cannot "
				    "use \"%s\": %s",
				    sk, strerror(errno));
		} else if (!S_ISREG(st.st_mode))
			conf_error_at(e, cs, "signing_key",
			    "\"%s\" is not a "
			    "regular file",
			    sk);
		else if ((st.st_mode & 077) != 0)
			conf_error_at(e, cs, "signing_key",
			    "\"%s\" has mode "
			    "%04o: group or others may read it; chmod 600 it",
			    sk, (unsigned)(st.st_mode & 07777));
	}
	if (conf_get_strv(e, cs, "trusted_signers", false,
		&jc->trusted_signers, &jc->ntrusted_signers) != 1)
		return;
	if (jc->ntrusted_signers > CRYPTO_TRUSTED_MAX)
		conf_error_at(e, cs, "trusted_signers", "at most %d keys",
		    CRYPTO_TRUSTED_MAX);
	for (size_t i = 0; i < jc->ntrusted_signers; i++)
		if (crypto_sign_parse_public(jc->trusted_signers[i], pub) != 0)
			conf_error_at(e, cs, "trusted_signers",
			    "\"%.60s\" is "
			    "not an Ed25519 public key (expected the base64 of "
			    "32 bytes, 44 characters)",
			    jc->trusted_signers[i]);
}

static void
parse_retention(struct job_conf *jc, const conf_node *cs, struct conf_errs *e)
{
	static const char *const names[] = { "keep_last", "keep_daily",
		"keep_weekly", "keep_monthly" };
	int *dst[] = { &jc->keep_last, &jc->keep_daily, &jc->keep_weekly,
		&jc->keep_monthly };

	for (size_t i = 0; i < 4; i++) {
		int64_t v = 0;

		if (conf_get_int(e, cs, names[i], false, 0, 100000, &v) == 1)
			*dst[i] = (int)v;
	}
}

int
jobconf_parse(const conf_node *cs, const conf_node *storage_section,
    const char *state_dir, struct job_conf **ret, struct conf_errs *errs)
{
	struct job_conf *jc;
	size_t nerr = errs->total;
	const char *s;
	int64_t v;
	uint64_t sz;
	bool files;

	(void)state_dir;
	if ((jc = calloc(1, sizeof(*jc))) == NULL)
		return conf_error(errs, cs, "out of memory");
	jc->level = 6;
	jc->slice_size = 4 << 20;
	jc->hook_timeout_ms = 3600 * 1000;
	jc->prefix = strdup("");
	conf_check_keys(errs, cs, job_keys);
	if (conf_get_str(errs, cs, "name", true, &s) == 1) {
		if (!valid_job_name(s))
			conf_error_at(errs, cs, "name",
			    "\"%s\": use letters, "
			    "digits, '.', '_' and '-' (at most 64)",
			    s);
		jc->name = strdup(s);
	}
	if (conf_get_strv(errs, cs, "paths", false, &jc->paths, &jc->npaths) ==
	    1) {
		for (size_t i = 0; i < jc->npaths; i++)
			if (jc->paths[i][0] != '/')
				conf_error_at(errs, cs, "paths",
				    "\"%s\" must be "
				    "an absolute path",
				    jc->paths[i]);
	}
	if (conf_get_strv(errs, cs, "exclude", false, &jc->exclude,
		&jc->nexclude) == 1) {
		for (size_t i = 0; i < jc->nexclude; i++)
			if (jc->exclude[i][0] == '\0')
				conf_error_at(errs, cs, "exclude",
				    "an empty "
				    "pattern would match nothing");
	}
	(void)conf_get_bool(errs, cs, "exclude_caches", false,
	    &jc->exclude_caches);
	(void)conf_get_bool(errs, cs, "one_file_system", false,
	    &jc->one_file_system);
	(void)conf_get_bool(errs, cs, "strict", false, &jc->strict);
	parse_commands(jc, cs, errs);
	if (conf_member(cs, "rds") != NULL)
		(void)rds_conf_parse(conf_member(cs, "rds"), &jc->rds, errs);
	files = jc->npaths > 0 || jc->ncommands > 0;
	if (!files && conf_member(cs, "rds") == NULL)
		conf_error(errs, cs,
		    "a job needs paths, commands or rds to back up");
	/* Snapshots alone need neither storage nor a key. */
	if (conf_get_str(errs, cs, "storage", files, &s) == 1) {
		/* An undefined name is the job's error, on its line. */
		if (storage_section == NULL)
			conf_error_at(errs, cs, "storage",
			    "no storage section "
			    "defines \"%s\"",
			    s);
		else if (conf_member(storage_section, s) == NULL)
			conf_error_at(errs, cs, "storage",
			    "\"%s\" is not "
			    "defined in the storage section (line %d)",
			    s, conf_line(storage_section));
		else
			(void)storage_conf_find(storage_section, s,
			    &jc->storage, errs);
	}
	if (conf_get_str(errs, cs, "prefix", false, &s) == 1) {
		free(jc->prefix);
		jc->prefix = strdup(s);
		if (s[0] == '/' || strstr(s, "..") != NULL)
			conf_error_at(errs, cs, "prefix",
			    "must be relative and "
			    "without \"..\"");
	}
	if (files || conf_member(cs, "key_file") != NULL ||
	    conf_member(cs, "passphrase_file") != NULL ||
	    conf_member(cs, "public_key") != NULL)
		parse_key(jc, cs, errs);
	parse_signing(jc, cs, errs);
	if (conf_get_str(errs, cs, "schedule", false, &s) == 1) {
		struct ag_err err = { "" };

		if (schedule_parse(s, &jc->schedule, &err) != 0)
			conf_error_at(errs, cs, "schedule", "\"%s\": %s", s,
			    err.msg);
	}
	if (conf_get_dur(errs, cs, "splay", false, 0, &v) == 1)
		jc->splay_s = v / 1000;
	parse_retention(jc, cs, errs);
	if (conf_get_int(errs, cs, "compression", false, 1, 12, &v) == 1)
		jc->level = (int)v;
	if (conf_get_int(errs, cs, "threads", false, 0, 256, &v) == 1)
		jc->threads = (unsigned)v;
	if (conf_get_size(errs, cs, "slice_size", false, &sz) == 1) {
		if (sz < ST_COMPRESS_SLICE_MIN || sz > ST_COMPRESS_SLICE_MAX)
			conf_error_at(errs, cs, "slice_size",
			    "must be between "
			    "64KiB and 32MiB");
		jc->slice_size = sz;
	}
	if (conf_get_str(errs, cs, "pre_hook", false, &s) == 1)
		jc->pre_hook = strdup(s);
	if (conf_get_str(errs, cs, "post_hook", false, &s) == 1)
		jc->post_hook = strdup(s);
	(void)conf_get_dur(errs, cs, "hook_timeout", false, 1000,
	    &jc->hook_timeout_ms);
	(void)conf_get_dur(errs, cs, "timeout", false, 60000, &jc->timeout_ms);
	if (errs->total > nerr) {
		jobconf_free(jc);
		return -1;
	}
	*ret = jc;
	return 0;
}

int
jobconf_parse_all(const struct conf *c, struct job_conf ***ret, size_t *ret_n,
    struct conf_errs *errs)
{
	size_t n = conf_len(c->backups), k = 0;
	struct job_conf **v;
	size_t nerr = errs->total;

	if ((v = calloc(n + 1, sizeof(*v))) == NULL)
		return conf_error(errs, c->backups, "out of memory");
	for (size_t i = 0; i < n; i++) {
		const conf_node *cs = conf_elem(c->backups, i);
		struct job_conf *jc;

		if (!conf_is_group(cs)) {
			conf_error(errs, cs,
			    "must be a group: { name = ...; }");
			continue;
		}
		if (jobconf_parse(cs, c->storage, c->agent.state_dir, &jc,
			errs) != 0)
			continue;
		for (size_t j = 0; j < k; j++)
			if (strcmp(v[j]->name, jc->name) == 0)
				conf_error_at(errs, cs, "name",
				    "a backup job "
				    "named \"%s\" exists already",
				    jc->name);
		v[k++] = jc;
	}
	if (errs->total > nerr) {
		jobconf_free_all(v, k);
		return -1;
	}
	*ret = v;
	*ret_n = k;
	return 0;
}

void
jobconf_free_all(struct job_conf **v, size_t n)
{
	if (v == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		jobconf_free(v[i]);
	free(v);
}

struct crypto_key *
jobconf_load_key_path(const char *path, struct ag_err *err)
{
	char head[80];
	ssize_t n;
	size_t hex;
	int fd, pem, keyfile;

	/*
	 * Tell the kinds apart by their contents: a PEM private key, 32 raw
	 * bytes or 64 hex digits (a key file), else a passphrase.  The loaders
	 * check permissions and everything else.
	 */
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		ag_err_set(err, "%s: %s", path, strerror(errno));
		return NULL;
	}
	n = read(fd, head, sizeof(head) - 1);
	close(fd);
	if (n < 0)
		n = 0;
	head[n] = '\0';
	hex = strspn(head, "0123456789abcdefABCDEF");
	pem = strncmp(head, "-----BEGIN", 10) == 0;
	keyfile = n == 32 ||
	    (hex == 64 && (n == 64 || (n == 65 && head[64] == '\n')));
	crypto_wipe(head, sizeof(head));
	if (pem)
		return crypto_keys_load_x25519(path, err);
	if (keyfile)
		return crypto_keys_load_keyfile(path, err);
	return crypto_keys_load_passphrase(path, err);
}

static struct crypto_key *
load_key(const struct job_conf *jc, bool for_restore, struct ag_err *err)
{
	static pthread_mutex_t gen_lock = PTHREAD_MUTEX_INITIALIZER;
	int rc = 0;

	switch (jc->key_mode) {
	case JOB_KEY_FILE:
		/*
		 * Jobs sharing a key file may start together: one generates
		 * it, the others wait and load it.  A key made meanwhile by
		 * another process (the CLI) is used as well.
		 */
		pthread_mutex_lock(&gen_lock);
		if (jc->create_key && !for_restore &&
		    access(jc->key_path, F_OK) != 0 && errno == ENOENT) {
			if ((rc = crypto_keys_generate_keyfile(jc->key_path,
				 err)) == 0)
				log_warn(
				    "backup %s: generated the key %s (mode "
				    "0600); keep a copy away from this host: "
				    "without it nothing can be restored",
				    jc->name, jc->key_path);
			else if (access(jc->key_path, F_OK) == 0)
				rc = 0;
		}
		pthread_mutex_unlock(&gen_lock);
		if (rc != 0)
			return NULL;
		return crypto_keys_load_keyfile(jc->key_path, err);
	case JOB_KEY_PASSPHRASE:
		return crypto_keys_load_passphrase(jc->key_path, err);
	case JOB_KEY_PUBLIC:
		if (!for_restore)
			return crypto_keys_from_public(jc->public_key, err);
		if (jc->private_key_file == NULL) {
			ag_err_set(err,
			    "job %s writes with a public key only: "
			    "give the private key with --key FILE",
			    jc->name);
			return NULL;
		}
		return crypto_keys_load_x25519(jc->private_key_file, err);
	}
	ag_err_set(err, "job %s has no key", jc->name);
	return NULL;
}

/*
 * Attach the signing key of ${jc} to ${key}, generating it first if it
 * does not exist.  Return 0 or -1.
 */
static int
attach_signer(const struct job_conf *jc, struct crypto_key *key,
    struct ag_err *err)
{
	struct crypto_signer *s;
	char pub[CRYPTO_SIGN_PUBSTR_SIZE];

	if (access(jc->signing_key, F_OK) != 0 && errno == ENOENT) {
		if (crypto_sign_generate(jc->signing_key, pub, sizeof(pub),
			err) == 0)
			log_warn(
			    "backup %s: generated the signing key %s "
			    "(mode 0600); restoring hosts accept this host's "
			    "backups with trusted_signers = [ \"%s\" ];",
			    jc->name, jc->signing_key, pub);
		else if (access(jc->signing_key, F_OK) != 0)
			return -1;
		/* Else another job sharing the key made it meanwhile. */
	}
	if ((s = crypto_sign_load(jc->signing_key, err)) == NULL)
		return -1;
	crypto_keys_set_signer(key, s);
	return 0;
}

/* Require the trusted signers of ${jc} for manifests opened with ${key}. */
static int
attach_trust(const struct job_conf *jc, struct crypto_key *key,
    struct ag_err *err)
{
	uint8_t pub[CRYPTO_SIGN_PUBLEN];

	for (size_t i = 0; i < jc->ntrusted_signers; i++)
		if (crypto_sign_parse_public(jc->trusted_signers[i], pub) !=
			0 ||
		    crypto_keys_add_trusted(key, pub, err) != 0)
			return ag_err_set(err,
			    "job %s: trusted_signers: bad "
			    "key \"%.60s\"",
			    jc->name, jc->trusted_signers[i]);
	return 0;
}

struct crypto_key *
jobconf_load_key(const struct job_conf *jc, bool for_restore,
    struct ag_err *err)
{
	struct crypto_key *key;
	int rc = 0;

	if ((key = load_key(jc, for_restore, err)) == NULL)
		return NULL;
	if (for_restore)
		rc = attach_trust(jc, key, err);
	else if (jc->signing_key != NULL)
		rc = attach_signer(jc, key, err);
	if (rc != 0) {
		crypto_keys_free(key);
		return NULL;
	}
	return key;
}

struct crypto_key *
jobconf_open_key(const struct job_conf *jc, const char *keyfile,
    struct ag_err *err)
{
	struct crypto_key *key;

	if (keyfile == NULL)
		return jobconf_load_key(jc, true, err);
	if ((key = jobconf_load_key_path(keyfile, err)) == NULL)
		return NULL;
	if (attach_trust(jc, key, err) != 0) {
		crypto_keys_free(key);
		return NULL;
	}
	return key;
}

void
jobconf_free(struct job_conf *jc)
{
	if (jc == NULL)
		return;
	free(jc->name);
	ag_strv_free(jc->paths);
	ag_strv_free(jc->exclude);
	for (size_t i = 0; i < jc->ncommands; i++) {
		free(jc->commands[i].path);
		free(jc->commands[i].run);
	}
	free(jc->commands);
	storage_conf_free(jc->storage);
	free(jc->prefix);
	free(jc->key_path);
	free(jc->public_key);
	free(jc->private_key_file);
	free(jc->signing_key);
	ag_strv_free(jc->trusted_signers);
	schedule_free(jc->schedule);
	free(jc->pre_hook);
	free(jc->post_hook);
	rds_conf_free(jc->rds);
	free(jc);
}
