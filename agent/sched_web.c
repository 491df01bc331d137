/*
 * sched_web.c: the HTTP server as the scheduler sees it (see
 * sched_internal.h): started through the module, fed the runconf,
 * answered on the scheduler thread.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <stdbool.h>
#include <string.h>

#include "agent/api.h"
#include "agent/plugin_module.h"
#include "agent/prom.h"
#include "agent/runconf.h"
#include "agent/sched_internal.h"
#include "agent/web.h"
#include "lib/log.h"

static bool
str_eq(const char *a, const char *b)
{
	return (a == NULL && b == NULL) ||
	    (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* Would ${a} and ${b} make a different server? */
static bool
http_differs(const struct http_conf *a, const struct http_conf *b)
{
	return !str_eq(a->listen, b->listen) ||
	    !str_eq(a->tls_cert, b->tls_cert) ||
	    !str_eq(a->tls_key, b->tls_key) ||
	    !str_eq(a->tokens_file, b->tokens_file) ||
	    a->metrics_public != b->metrics_public ||
	    a->max_connections != b->max_connections ||
	    a->timeout_ms != b->timeout_ms || a->max_body != b->max_body;
}

static int
start(struct sched *s)
{
	const struct http_conf *c = &s->rc->conf->http;
	const struct plugin_module *m;
	struct ag_err err = { "" };

	if (c->listen == NULL)
		return 0;
	if (s->web == NULL && (s->web = web_new()) == NULL) {
		log_err("http: out of memory");
		return -1;
	}
	web_set_runconf(s->web, s->rc);
	if ((m = plugin_module_get(&err)) == NULL ||
	    (s->httpd = m->httpd_start(c, s->web, &err)) == NULL) {
		log_err("http: %s", err.msg);
		return -1;
	}
	return 0;
}

int
sched_web_start(struct sched *s)
{
	return start(s);
}

void
sched_web_stop(struct sched *s)
{
	const struct plugin_module *m;

	if (s->web != NULL)
		web_close(s->web); /* no thread waits on us any more */
	if (s->httpd != NULL && (m = plugin_module_get(NULL)) != NULL)
		m->httpd_stop(s->httpd);
	s->httpd = NULL;
	web_free(s->web);
	s->web = NULL;
}

void
sched_web_reload(struct sched *s, const struct http_conf *old)
{
	if (s->web != NULL)
		web_set_runconf(s->web, s->rc);
	if (s->httpd != NULL && !http_differs(old, &s->rc->conf->http))
		return;
	if (s->httpd != NULL || s->web != NULL) {
		log_info("http: settings changed: restarting the server");
		sched_web_stop(s);
	}
	(void)start(s); /* logged; the server stays off */
}

void
sched_web_answer(void *cookie, const struct web_req *rq, struct web_resp *rs)
{
	struct sched *s = cookie;

	if (strcmp(rq->path, "/metrics") == 0) {
		if (strcmp(rq->method, "GET") != 0 &&
		    strcmp(rq->method, "HEAD") != 0) {
			web_error(rs, 405, "/metrics: GET only");
			return;
		}
		prom_render(s, rs);
		return;
	}
	if (strncmp(rq->path, "/api/", 5) == 0) {
		api_handle(s, rq, rs);
		return;
	}
	web_error(rs, 404, "no such resource: %s", rq->path);
}
