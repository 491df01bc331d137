/*
 * jobconf.h: backup jobs as configured (the `backups` list and the `storage`
 * section of vigil.conf; DESIGN.md section 2).
 *
 * jobconf_parse() checks a job completely (names, paths, globs, key source
 * and its file permissions, schedule, retention, storage target) and records
 * every problem in a struct conf_errs; nothing is opened or written.  Keys
 * are loaded only when a job runs (jobconf_load_key()), so a config check
 * never holds secrets longer than it must.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef VIGIL_BACKUP_JOBCONF_H
#define VIGIL_BACKUP_JOBCONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf/conf.h"
#include "lib/ag.h"

struct crypto_key;
struct rds_conf;
struct schedule;
struct storage_conf;

enum job_key_mode {
	JOB_KEY_FILE = 1,	/* key_file: 32 bytes, read/write */
	JOB_KEY_PASSPHRASE = 2, /* passphrase_file, scrypt */
	JOB_KEY_PUBLIC = 3,	/* public_key: write-only X25519 */
};

struct job_command {
	char *path; /* where its output lands in the archive */
	char *run;  /* /bin/sh -c command */
};

struct job_conf {
	char *name;
	char **paths; /* absolute, NULL-terminated */
	size_t npaths;
	char **exclude; /* globs, NULL-terminated (maybe empty) */
	size_t nexclude;
	bool exclude_caches;
	bool one_file_system;
	bool strict; /* a file that fails fails the backup */
	struct job_command *commands;
	size_t ncommands;
	struct storage_conf *storage; /* owned */
	char *prefix;		      /* inside the storage target; "" none */
	enum job_key_mode key_mode;
	char *key_path;		/* key_file or passphrase_file */
	char *public_key;	/* base64, JOB_KEY_PUBLIC */
	char *private_key_file; /* optional, to restore public mode */
	bool create_key;	/* generate key_file if missing */
	char *signing_key;	/* Ed25519 PEM; made if missing */
	char **trusted_signers; /* base64 Ed25519 public keys */
	size_t ntrusted_signers;
	struct schedule *schedule; /* NULL: only on demand */
	int64_t splay_s;
	int keep_last, keep_daily, keep_weekly, keep_monthly;
	int level;	  /* gzip level 1..12 */
	unsigned threads; /* 0: all cores */
	uint64_t slice_size;
	char *pre_hook, *post_hook; /* /bin/sh -c; NULL: none */
	int64_t hook_timeout_ms;
	int64_t timeout_ms; /* whole run; 0: none */
	/* RDS snapshots (backup/rds.h); NULL: none.  A job with rds and no
	   paths or commands needs neither storage nor a key. */
	struct rds_conf *rds;
};

/**
 * jobconf_parse(cs, storage_section, state_dir, ret, errs):
 * Read one element of the `backups` list.  Relative key and storage paths
 * are taken relative to ${state_dir}.  Return 0 with the job in ${ret}, or
 * -1 with every problem in ${errs}.
 */
int jobconf_parse(const conf_node *cs, const conf_node *storage_section,
    const char *state_dir, struct job_conf **ret, struct conf_errs *errs);

/**
 * jobconf_parse_all(c, ret, ret_n, errs):
 * Every job of the config ${c} (names unique).  Return 0 or -1.
 */
struct conf;
int jobconf_parse_all(const struct conf *c, struct job_conf ***ret,
    size_t *ret_n, struct conf_errs *errs);
void jobconf_free_all(struct job_conf **v, size_t n);

/**
 * jobconf_load_key(jc, for_restore, err):
 * Load the job's key: for writing (${for_restore} false) any mode works; for
 * reading, public-key jobs need private_key_file (or --key).  A key_file
 * with create_key that does not exist is generated (0600) first.  For
 * writing, the job's signing_key is attached (generated, 0600, if it does
 * not exist) so that manifests are signed; for reading, its
 * trusted_signers.  Return the key (free with crypto_keys_free()) or NULL
 * with a message.
 */
struct crypto_key *jobconf_load_key(const struct job_conf *jc,
    bool for_restore, struct ag_err *err);

/**
 * jobconf_open_key(jc, keyfile, err):
 * The key that reads the backups of ${jc}: loaded from ${keyfile} (the
 * --key option; jobconf_load_key_path()) if not NULL, else the job's own
 * (jobconf_load_key() for restore), in both cases with the job's
 * trusted_signers attached, so that every manifest it opens must be
 * signed by one of them.  Return the key or NULL with a message.
 */
struct crypto_key *jobconf_open_key(const struct job_conf *jc,
    const char *keyfile, struct ag_err *err);

/**
 * jobconf_load_key_path(path, err):
 * Load a key for reading from ${path}, whatever its kind: a key file, an
 * X25519 private key (PEM), else a passphrase file.  For --key options.
 */
struct crypto_key *jobconf_load_key_path(const char *path, struct ag_err *err);

void jobconf_free(struct job_conf *jc);

#endif
