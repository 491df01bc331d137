/*
 * web.h: what the HTTP server (agent/httpd/, in the heavy module) and the
 * scheduler thread say to each other.
 *
 * The server's threads parse a request, check its token and either answer
 * it themselves (the page's assets; backups in storage, their files and
 * restores, which need the module and may take seconds) or hand it to the
 * scheduler thread with web_call(), which owns every reading, rule state,
 * the spool, the jobs and the metric history.  The scheduler polls
 * web_fd() with its other descriptors and answers what waits with
 * web_serve() between two steps of its loop, so it never waits on the
 * server: building an answer is all it does for a request, and the server
 * sends the bytes.  A call not answered in time is withdrawn (503).
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef VIGIL_AGENT_WEB_H
#define VIGIL_AGENT_WEB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct runconf;

/* What a request's token allows (http.tokens_file). */
enum web_role {
	WEB_ROLE_NONE = 0,  /* no token: /metrics when metrics_public */
	WEB_ROLE_READ = 1,  /* everything but actions */
	WEB_ROLE_ADMIN = 2, /* also run a backup, restore */
};

struct web_param {
	const char *key, *value; /* decoded */
};

/* The most query parameters kept of one request; the rest: 400. */
#define WEB_PARAMS_MAX 16

struct web_req {
	const char *method; /* "GET", "POST", ... */
	const char *path;   /* decoded, without the query: "/api/v1/status" */
	struct web_param params[WEB_PARAMS_MAX];
	size_t nparams;
	const char *body; /* POST: the body as sent (at most http.max_body) */
	size_t body_len;
	enum web_role role;
	const char *token_name; /* who, for logs; NULL without a token */
	const char *client;	/* "127.0.0.1:53422", for logs */
};

struct web_resp {
	int status;	   /* HTTP status */
	const char *ctype; /* static string; NULL: application/json */
	char *body;	   /* malloc()ed, owned by the response */
	size_t len;
};

/* web_param(rq, key): the value of query parameter ${key}, or NULL. */
const char *web_param(const struct web_req *rq, const char *key);

/**
 * web_json(rs, status, o):
 * Answer ${status} with ${o} as compact JSON (its reference is taken).  If
 * ${o} is NULL or cannot be written: 500 {"error":"out of memory"}.
 */
void web_json(struct web_resp *rs, int status, json_t *o);

/**
 * web_error(rs, status, fmt, ...):
 * Answer ${status} with {"error": "<message>"}; every error of the API is
 * a JSON body of this shape (docs/API.md).
 */
void web_error(struct web_resp *rs, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* web_resp_free(rs): free the body of ${rs}. */
void web_resp_free(struct web_resp *rs);

/* The scheduler's answer to a call: fills ${rs} (on the scheduler thread). */
typedef void web_handler_fn(void *cookie, const struct web_req *rq,
    struct web_resp *rs);

struct web; /* the mailbox */

/* web_new(): an empty mailbox, or NULL (errno set). */
struct web *web_new(void);

/**
 * web_free(w):
 * Free ${w}; calls still waiting are answered 503 first and the current
 * runconf reference dropped.  No server thread may use ${w} after.
 */
void web_free(struct web *w);

/**
 * web_close(w):
 * From now on answer every call 503 at once, those waiting included: the
 * scheduler is stopping and will not serve them (so the server's threads
 * can be joined).
 */
void web_close(struct web *w);

/* web_fd(w): readable while calls wait for web_serve(). */
int web_fd(const struct web *w);

/**
 * web_call(w, rq, rs, timeout_ms):
 * From a server thread: queue ${rq}, wake the scheduler and wait at most
 * ${timeout_ms} for its answer in ${rs}.  Return 0, or -1 when the
 * scheduler did not answer in time (the call is withdrawn; ${rs} is a 503
 * error).
 */
int web_call(struct web *w, const struct web_req *rq, struct web_resp *rs,
    int timeout_ms);

/**
 * web_serve(w, fn, cookie):
 * On the scheduler thread: answer every waiting call with ${fn} and wake
 * its caller.
 */
void web_serve(struct web *w, web_handler_fn *fn, void *cookie);

/**
 * web_set_runconf(w, rc) / web_runconf(w):
 * The scheduler publishes its current configuration (at start and after
 * each reload; a reference is taken and the previous one dropped); a
 * server thread takes a reference to it with web_runconf() (NULL before
 * the first) and drops it with runconf_free().
 */
void web_set_runconf(struct web *w, struct runconf *rc);
struct runconf *web_runconf(struct web *w);

#endif /* !VIGIL_AGENT_WEB_H */
