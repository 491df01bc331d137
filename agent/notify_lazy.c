/*
 * notify_lazy.c: notifiers of heavy types (webhook) in vigild, which
 * checks them in a child at load and makes them at their first delivery
 * (see notifier_lazy_new() in notify_backend.h).
 *
 * The check child runs notifier_new_here() on the group, exactly what
 * `vigil config check` runs, and sends back its messages and the name.
 * Here the notifier is a stand-in whose ops make the real one on first
 * use, under a mutex, from the same group, and then hand every call to
 * it through the notifier wrappers.  The real one registers its secrets
 * for redaction then (log_secret_add()); until then nothing of it is
 * logged here.  A failure to make it (the module removed since the check)
 * keeps the notification queued (AG_RETRY) and is tried again.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/ag.h"
#include "lib/buf.h"
#include "agent/child.h"
#include "agent/notify.h"
#include "agent/notify_backend.h"

struct lazy {
	struct notifier_ops ops; /* ours, with the type's name */
	char type[32];
	const conf_node *cs;
	bool file_private; /* of the conf_errs it was checked with */
	const char *file;
	pthread_mutex_t mu;
	struct notifier *real; /* NULL until the first delivery */
};

/* In the child: the real check, the real messages; the name back. */
static int
check(void *cookie, struct conf_errs *errs, struct buf *out)
{
	struct notifier *nf;

	if ((nf = notifier_new_here(cookie, errs)) == NULL)
		return -1;
	(void)buf_puts(out, nf->name);
	/* The child ends now: no need to free. */
	return 0;
}

/* The real notifier, made on first use.  NULL with a message. */
static struct notifier *
real(struct lazy *l, struct ag_err *err)
{
	struct conf_errs e = { .file_private = l->file_private,
		.file = l->file };
	struct notifier *nf;

	pthread_mutex_lock(&l->mu);
	if ((nf = l->real) == NULL) {
		nf = l->real = notifier_new_here(l->cs, &e);
		if (nf == NULL)
			(void)ag_err_set(err, "%s",
			    e.n > 0 ? e.msgs[0] : "cannot make the notifier");
	}
	pthread_mutex_unlock(&l->mu);
	conf_errs_free(&e);
	return nf;
}

static int
lazy_send(void *ctx, const struct notification *n, struct ag_err *err)
{
	struct notifier *nf = real(ctx, err);

	return nf != NULL ? notifier_send(nf, n, err) : AG_RETRY;
}

static int
lazy_prepare(void *ctx, const struct notification *n,
    struct notifier_call *call, struct ag_err *err)
{
	struct notifier *nf = real(ctx, err);

	return nf != NULL ? notifier_prepare(nf, n, call, err) : AG_RETRY;
}

/* Only after a successful prepare(): the real one exists. */
static int
lazy_finish(void *ctx, struct notifier_call *call, long status,
    const char *body, size_t len, struct ag_err *err)
{
	struct lazy *l = ctx;

	return notifier_finish(l->real, call, status, body, len, err);
}

static void
lazy_release(void *ctx, struct notifier_call *call)
{
	struct lazy *l = ctx;

	notifier_release(l->real, call);
}

static void
lazy_free(void *ctx)
{
	struct lazy *l = ctx;

	notifier_free(l->real);
	pthread_mutex_destroy(&l->mu);
	free(l);
}

struct notifier *
notifier_lazy_new(const conf_node *cs, struct conf_errs *errs)
{
	struct conf_errs quiet = { 0 };
	struct notifier *nf;
	struct lazy *l;
	struct buf out;
	const char *type = "";

	buf_init(&out, 256);
	if (child_check(check, (void *)cs, cs, errs, &out) != 0 ||
	    out.p == NULL) {
		buf_free(&out);
		return NULL;
	}
	(void)conf_get_str(&quiet, cs, "type", false, &type);
	if ((nf = calloc(1, sizeof(*nf))) == NULL ||
	    (l = calloc(1, sizeof(*l))) == NULL) {
		free(nf);
		buf_free(&out);
		conf_errs_free(&quiet);
		(void)conf_error(errs, cs, "out of memory");
		return NULL;
	}
	snprintf(l->type, sizeof(l->type), "%s", type);
	conf_errs_free(&quiet);
	l->ops = (struct notifier_ops){ .type = l->type,
		.send = lazy_send,
		.prepare = lazy_prepare,
		.finish = lazy_finish,
		.release = lazy_release,
		.free = lazy_free };
	l->cs = cs;
	l->file_private = errs->file_private;
	l->file = errs->file;
	pthread_mutex_init(&l->mu, NULL);
	nf->name = buf_take(&out);
	nf->ops = &l->ops;
	nf->ctx = l;
	return nf;
}
