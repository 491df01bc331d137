/*
 * jobconf_check.c: backup jobs checked in a child (see jobconf_check.h).
 *
 * The child's answer, after its messages (child.c), is for each job: its
 * name, schedule (as written, or absent), pre_hook and post_hook (or
 * absent), each a presence byte, a length and the bytes, then splay_s,
 * hook_timeout_ms and timeout_ms as int64_t: both ends are this program.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/ag.h"
#include "lib/buf.h"
#include "lib/schedule.h"
#include "backup/jobconf.h"
#include "agent/child.h"
#include "agent/plugin_module.h"

#include "agent/jobconf_check.h"

static void
put_str(struct buf *b, const char *s)
{
	uint8_t there = s != NULL;
	uint64_t len = s != NULL ? strlen(s) : 0;

	(void)buf_append(b, &there, 1);
	(void)buf_append(b, &len, sizeof(len));
	if (s != NULL)
		(void)buf_append(b, s, (size_t)len);
}

static void
put_i64(struct buf *b, int64_t v)
{
	(void)buf_append(b, &v, sizeof(v));
}

/* In the child: parse, and describe each job for the daemon. */
static int
check(void *cookie, struct conf_errs *errs, struct buf *out)
{
	const struct conf *c = cookie;
	const struct plugin_module *h;
	struct job_conf **v = NULL;
	struct ag_err err = { "" };
	size_t n = 0;

	if ((h = plugin_module_get(&err)) == NULL)
		return conf_error(errs, c->backups, "backup jobs need %s",
		    err.msg);
	if (h->jobconf_parse_all(c, &v, &n, errs) != 0)
		return -1;
	put_i64(out, (int64_t)n);
	for (size_t i = 0; i < n; i++) {
		put_str(out, v[i]->name);
		put_str(out,
		    v[i]->schedule != NULL ? schedule_text(v[i]->schedule) :
					     NULL);
		put_str(out, v[i]->pre_hook);
		put_str(out, v[i]->post_hook);
		put_i64(out, v[i]->splay_s);
		put_i64(out, v[i]->hook_timeout_ms);
		put_i64(out, v[i]->timeout_ms);
	}
	/* The child ends now: no need to free. */
	return 0;
}

static void
free_job(struct job_conf *jc)
{
	if (jc == NULL)
		return;
	free(jc->name);
	schedule_free(jc->schedule);
	free(jc->pre_hook);
	free(jc->post_hook);
	free(jc);
}

struct reader {
	const char *p;
	size_t left;
	bool bad;
};

static void
get(struct reader *r, void *dst, size_t len)
{
	if (r->bad || r->left < len) {
		r->bad = true;
		memset(dst, 0, len);
		return;
	}
	memcpy(dst, r->p, len);
	r->p += len;
	r->left -= len;
}

/* A string or NULL; sets r->bad (and returns NULL) on damage or ENOMEM. */
static char *
get_str(struct reader *r)
{
	uint8_t there = 0;
	uint64_t len = 0;
	char *s;

	get(r, &there, 1);
	get(r, &len, sizeof(len));
	if (r->bad || !there)
		return NULL;
	if (len > r->left || (s = malloc((size_t)len + 1)) == NULL) {
		r->bad = true;
		return NULL;
	}
	get(r, s, (size_t)len);
	s[len] = '\0';
	return s;
}

static int64_t
get_i64(struct reader *r)
{
	int64_t v = 0;

	get(r, &v, sizeof(v));
	return v;
}

/* One job of the answer; NULL if damaged. */
static struct job_conf *
get_job(struct reader *r)
{
	struct job_conf *jc;
	struct ag_err err;
	char *sched;

	if ((jc = calloc(1, sizeof(*jc))) == NULL)
		return NULL;
	jc->name = get_str(r);
	sched = get_str(r);
	jc->pre_hook = get_str(r);
	jc->post_hook = get_str(r);
	jc->splay_s = get_i64(r);
	jc->hook_timeout_ms = get_i64(r);
	jc->timeout_ms = get_i64(r);
	/* The child parsed it: it parses again. */
	if (r->bad || jc->name == NULL ||
	    (sched != NULL &&
		schedule_parse(sched, &jc->schedule, &err) != 0)) {
		free(sched);
		free_job(jc);
		return NULL;
	}
	free(sched);
	return jc;
}

int
jobconf_check_all(const struct conf *c, struct job_conf ***ret, size_t *ret_n,
    struct conf_errs *errs)
{
	struct buf out;
	struct reader r;
	struct job_conf **v = NULL;
	int64_t n;
	size_t k = 0;
	int rc = -1;

	buf_init(&out, CHILD_OUT_MAX);
	if (child_check(check, (void *)c, c->backups, errs, &out) != 0)
		goto out;
	r = (struct reader){ .p = out.p, .left = out.len };
	n = get_i64(&r);
	if (r.bad || n < 0 || (size_t)n > r.left ||
	    (v = calloc((size_t)n + 1, sizeof(*v))) == NULL) {
		(void)conf_error(errs, c->backups,
		    "the check of the backup "
		    "jobs sent a damaged answer");
		goto out;
	}
	for (k = 0; k < (size_t)n; k++) {
		if ((v[k] = get_job(&r)) == NULL) {
			(void)conf_error(errs, c->backups,
			    "the check of the "
			    "backup jobs sent a damaged answer");
			jobconf_check_free_all(v, k);
			v = NULL;
			goto out;
		}
	}
	*ret = v;
	*ret_n = k;
	rc = 0;
out:
	buf_free(&out);
	return rc;
}

void
jobconf_check_free_all(struct job_conf **v, size_t n)
{
	if (v == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		free_job(v[i]);
	free(v);
}
