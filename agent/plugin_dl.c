/*
 * plugin_dl.c: plugin_module_get() for vigild, which loads the heavy code
 * only when the configuration needs it (see plugin_module.h).
 *
 * The first call dlopen()s libvigil-heavy.so with RTLD_NOW | RTLD_LOCAL: every
 * symbol is resolved at once (a module that does not fit this executable fails
 * here, with dlerror()'s message, not in the middle of a backup), and nothing
 * of it enters the global namespace.  The module is looked for next to the
 * running executable first, where the build tree has it, then in
 * ../lib/vigil from there, where `make install` and the packages put it
 * whatever the prefix (/usr/sbin/vigild, /usr/lib/vigil/), then in
 * VIGIL_PKGLIBDIR, the configured prefix's; a module whose
 * version or size of struct plugin_module differs from ours is refused.  A
 * failure is not remembered, so a reload after installing the module succeeds.
 * The module is never unloaded: notifiers, jobs and worker threads keep
 * pointers into it.  A backup child forked while another thread loads the
 * module would inherit module_mu held: fork() waits for the load
 * (pthread_atfork()).
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "paths.h"
#include "lib/log.h"

#include "agent/plugin_module.h"

static pthread_mutex_t module_mu = PTHREAD_MUTEX_INITIALIZER;
static const struct plugin_module *module; /* set once; atomic reads */

static void
module_fork_prepare(void)
{
	pthread_mutex_lock(&module_mu);
}

static void
module_fork_done(void)
{
	pthread_mutex_unlock(&module_mu);
}

static void __attribute__((constructor)) module_fork_init(void)
{
	(void)pthread_atfork(module_fork_prepare, module_fork_done,
	    module_fork_done);
}

/*
 * Open ${path} and check its table.  Return the table, or NULL with a
 * message in ${err}.
 */
static const struct plugin_module *
module_open(const char *path, struct ag_err *err)
{
	const struct plugin_module *h;
	void *dl;
	const char *e;

	if ((dl = dlopen(path, RTLD_NOW | RTLD_LOCAL)) == NULL) {
		e = dlerror();
		(void)ag_err_set(err, "%s", e != NULL ? e : path);
		return NULL;
	}
	(void)dlerror();
	if ((h = dlsym(dl, "vigil_plugin_module")) == NULL) {
		e = dlerror();
		(void)ag_err_set(err, "%s: %s", path,
		    e != NULL ? e : "no vigil_plugin_module");
		goto fail;
	}
	if (h->size != sizeof(*h) || h->version == NULL ||
	    strcmp(h->version, VIGIL_VERSION) != 0) {
		(void)ag_err_set(err,
		    "%s: built for vigil %s, this is vigil "
		    "%s",
		    path, h->version != NULL ? h->version : "?",
		    VIGIL_VERSION);
		goto fail;
	}
	log_debug("loaded %s", path);
	return h;
fail:
	(void)dlclose(dl);
	return NULL;
}

/*
 * Where the module may be: ${dir}/PLUGIN_MODULE_NAME into ${buf}.  Return 0,
 * or -1 if it does not fit.
 */
static int
module_path(char *buf, size_t len, const char *dir)
{
	int n = snprintf(buf, len, "%s/%s", dir, PLUGIN_MODULE_NAME);

	return n < 0 || (size_t)n >= len ? -1 : 0;
}

static const struct plugin_module *
module_load(struct ag_err *err)
{
	char exe[PATH_MAX], path[PATH_MAX + sizeof(PLUGIN_MODULE_NAME) + 1];
	ssize_t n;
	char *slash;
	const char *also = NULL; /* ../lib/vigil from vigild, if tried */

	/* The build tree: the module sits beside vigild. */
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		if ((slash = strrchr(exe, '/')) != NULL) {
			*slash = '\0';
			if (module_path(path, sizeof(path),
				exe[0] != '\0' ? exe : "/") == 0 &&
			    access(path, F_OK) == 0)
				return module_open(path, err);
			/* Installed under any prefix: bin/ or sbin/ and
			 * lib/vigil/ side by side. */
			if (strlen(exe) + sizeof("/../lib/vigil") <=
			    sizeof(exe)) {
				strcat(exe, "/../lib/vigil");
				if (module_path(path, sizeof(path), exe) ==
					0 &&
				    access(path, F_OK) == 0)
					return module_open(path, err);
				also = exe;
			}
		}
	}
	/* Installed. */
	if (module_path(path, sizeof(path), VIGIL_PKGLIBDIR) != 0) {
		(void)ag_err_set(err, "%s: path too long", VIGIL_PKGLIBDIR);
		return NULL;
	}
	if (access(path, F_OK) != 0) {
		(void)ag_err_set(err, "%s: %s%s%s%s", path, strerror(errno),
		    also != NULL ? " (nor in " : "", also != NULL ? also : "",
		    also != NULL ? ")" : "");
		return NULL;
	}
	return module_open(path, err);
}

const struct plugin_module *
plugin_module_get(struct ag_err *err)
{
	const struct plugin_module *h;

	if ((h = __atomic_load_n(&module, __ATOMIC_ACQUIRE)) != NULL)
		return h;
	pthread_mutex_lock(&module_mu);
	if ((h = module) == NULL && (h = module_load(err)) != NULL)
		__atomic_store_n(&module, h, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&module_mu);
	return h;
}
