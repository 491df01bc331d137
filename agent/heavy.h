/*
 * heavy.h: the code that needs the heavy libraries, reached through one
 * table so that the daemon loads it only when its configuration asks for it.
 *
 * Webhook notifiers (libcurl, OpenSSL) and backup jobs (libarchive,
 * libdeflate, OpenSSL, libcurl for the clouds) pull in some 40 shared
 * libraries whose start-up relocations alone cost an idle vigild about
 * 10 MB of RSS.  The light core (sources, rules, the log notifier, the
 * spool, the control socket) calls none of that code directly: it asks
 * heavy_get() for struct heavy_api and calls through it, and only where
 * the configuration has a webhook notifier or a backup job.
 *
 * Two implementations of heavy_get() exist, and a program links one:
 *
 *	heavy_static.c	the table is linked in (vigil, the unit tests);
 *	heavy_dl.c	vigild: the first call dlopen()s libvigil-heavy.so
 *			(heavy_table.c plus the heavy code), looking next to
 *			the running executable (the build tree) and then in
 *			VIGIL_PKGLIBDIR.  The module resolves the core's
 *			functions (log, conf, notify) from the executable.
 *
 * A new caller of heavy code from the core adds a member here and in
 * heavy_table.c; calling it directly would make vigild fail to link.
 */
#ifndef VIGIL_HEAVY_H
#define VIGIL_HEAVY_H

#include <stddef.h>

#include "lib/ag.h"

struct conf;
struct conf_errs;
struct http_multi;
struct http_req;
struct http_resp;
struct job_conf;
struct job_result;
struct job_run_opts;
struct notifier_ops;

/* The file name of the module (heavy_dl.c). */
#define HEAVY_MODULE_NAME "libvigil-heavy.so"

struct heavy_api {
	/* VIGIL_VERSION and sizeof(struct heavy_api) of the module's build. */
	const char *version;
	size_t size;

	/* The "webhook" notifier type (agent/notifiers/ntf_webhook.c). */
	const struct notifier_ops *webhook;

	/* lib/http.h: the sender performs notifiers' requests side by side. */
	struct http_multi *(*http_multi_new)(void);
	int (*http_multi_add)(struct http_multi *m, const struct http_req *req,
	    void *cookie, struct ag_err *err);
	int (*http_multi_poll)(struct http_multi *m, int timeout_ms);
	int (*http_multi_perform)(struct http_multi *m);
	int (*http_multi_done)(struct http_multi *m, void **ret_cookie,
	    struct http_resp *ret_resp, int *ret_rc, struct ag_err *err);
	void (*http_multi_remove)(struct http_multi *m, void *cookie);
	void (*http_multi_wakeup)(struct http_multi *m);
	void (*http_multi_free)(struct http_multi *m);
	void (*http_resp_free)(struct http_resp *r);

	/* backup/jobconf.h */
	int (*jobconf_parse_all)(const struct conf *c,
	    struct job_conf ***ret, size_t *ret_n, struct conf_errs *errs);
	void (*jobconf_free_all)(struct job_conf **v, size_t n);

	/* backup/job.h */
	int (*job_run)(const struct job_conf *jc,
	    const struct job_run_opts *opts, struct job_result *ret);
};

/* The table itself, defined in heavy_table.c (and exported by the module). */
extern const struct heavy_api vigil_heavy_api;

/**
 * heavy_get(err):
 * The heavy code's table, loading it on first use.  Thread-safe; once
 * loaded it stays loaded.  Return NULL with the reason in ${err} (may be
 * NULL), e.g. "/usr/lib/vigil/libvigil-heavy.so: cannot open shared object
 * file: No such file or directory"; a later call tries again.  May block
 * while the module's libraries are mapped (milliseconds).
 */
const struct heavy_api *heavy_get(struct ag_err *err);

#endif
