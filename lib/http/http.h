/*
 * http.h: a small synchronous HTTP client over libcurl.
 *
 * Only lib/http/http.c includes <curl/curl.h>.  A request is described by a
 * struct http_req and answered in a struct http_resp; the call blocks for at
 * most the request's timeouts.  Any HTTP status is a success of the
 * transport (0); the caller classifies it, with http_status_class() for the
 * usual policy.  Transport failures are AG_RETRY when trying again may help
 * (timeouts, refused or reset connections, DNS failures) and -1 otherwise
 * (bad URL, TLS verification failure).  Error messages name the URL as
 * scheme://host[:port]/path only: query strings may hold signatures and
 * tokens and never reach a message.  Redirects are not followed; only http
 * and https are spoken, and smtp and smtps for mail (struct http_smtp).
 *
 * A struct http_client keeps one curl handle, so that consecutive requests
 * to the same endpoint reuse the connection.  A client is used by one thread
 * at a time.  A struct http_multi runs many requests at once from one
 * thread (libcurl's multi interface), so that one slow peer does not hold
 * up the others: add requests, then poll and perform until each is reported
 * done, or remove it to cancel it.  A request may also submit mail over
 * SMTP (struct http_smtp), so that a mail notifier goes through the same
 * multi handle.  On a thread that bound a cancel flag
 * (lib/cancel.h), a synchronous request is refused once the flag is set
 * and one under way is aborted within about a second (-1, "cancelled").
 * This module never logs above debug.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef VIGIL_HTTP_H
#define VIGIL_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/ag.h"

#define HTTP_CONNECT_TIMEOUT_DEFAULT_MS 10000
#define HTTP_TIMEOUT_DEFAULT_MS 60000
#define HTTP_MAX_RESPONSE_DEFAULT (1024 * 1024)
/* At most this many response header bytes (all headers together) are kept. */
#define HTTP_MAX_HEADER_BYTES (32 * 1024)
#define HTTP_MAX_HEADERS 100

/*
 * http_sink_fn: receives the body of a 2xx response piece by piece when a
 * request sets one.  Return 0 to go on, AG_RETRY or -1 to abort the transfer
 * (http_do() then returns that value).
 */
typedef int http_sink_fn(void *cookie, const uint8_t *buf, size_t len);

struct http_smtp;

struct http_req {
	const char *method; /* NULL: POST if a body, else GET */
	const char *url;
	const char *const *headers; /* NULL-terminated "Name: value" */
	const void *body;	    /* sent as is, ${body_len} bytes */
	size_t body_len;
	long connect_timeout_ms; /* 0: HTTP_CONNECT_TIMEOUT_DEFAULT_MS */
	long timeout_ms;	 /* 0: HTTP_TIMEOUT_DEFAULT_MS */
	bool insecure;		 /* true: skip TLS verification */
	const char *ca_file;	 /* NULL: the system's CA bundle */
	size_t max_response;	 /* 0: HTTP_MAX_RESPONSE_DEFAULT */
	/*
	 * Optional: the body of a 2xx response goes to ${sink} instead of
	 * resp->body (which then stays empty); other responses are kept in
	 * resp->body as usual so that errors can be read.
	 */
	http_sink_fn *sink;
	void *sink_cookie;
	/* Optional: send mail instead (see struct http_smtp). */
	const struct http_smtp *smtp;
};

/*
 * A request with ${smtp} set is a mail submission: ${url} is
 * smtp://host[:port] or smtps://host[:port] (only those two schemes),
 * ${body} of ${body_len} bytes is the message (RFC 5322, CRLF lines; a
 * line starting with "." is escaped by libcurl), sent from ${from} to each
 * address of ${rcpt}; method, headers and sink are ignored.  The answer's
 * status is the server's last reply code (250 when the message was taken)
 * and its body that reply's text.  A submission the server turns down (a
 * 4xx or 5xx reply to AUTH, MAIL, RCPT or the data) is an answer too, not
 * a transport failure, so that the caller classifies the code; a server
 * that does not offer STARTTLS when ${require_tls} is set is a permanent
 * failure (-1) before any password or message is sent.
 */
struct http_smtp {
	const char *from;	 /* the envelope sender, "a@b" */
	const char *const *rcpt; /* NULL-terminated recipients */
	bool require_tls;	 /* smtp://: STARTTLS or fail */
	const char *username;	 /* NULL: no AUTH */
	const char *password;
};

struct http_header {
	char *name;
	char *value;
};

struct http_resp {
	long status; /* e.g. 200; 0 before a response */
	char *body;  /* NUL-terminated; NULL if empty */
	size_t body_len;
	bool truncated;		     /* cut at max_response */
	struct http_header *headers; /* of the final response */
	size_t nheaders;
};

/**
 * http_global_init():
 * Initialise libcurl once per process (thread-safe, idempotent).  The other
 * functions call it themselves; the daemon calls it before starting threads.
 * Return 0 or -1.
 */
int http_global_init(void);

struct http_client;

/**
 * http_client_new():
 * A client holding one curl handle for connection reuse.  Return NULL on
 * failure.
 */
struct http_client *http_client_new(void);

/**
 * http_client_do(c, req, ret_resp, err):
 * Perform ${req} with client ${c} and store the answer in ${ret_resp}, which
 * the caller frees with http_resp_free() whatever the outcome.  Blocks for
 * at most the request's timeouts.  Return 0 when a response arrived (any
 * status; a body larger than max_response is cut and marked truncated),
 * AG_RETRY for a transient transport failure, -1 for a permanent one; in
 * both failure cases ${err} says what happened without the URL's query.
 */
int http_client_do(struct http_client *c, const struct http_req *req,
    struct http_resp *ret_resp, struct ag_err *err);

/* http_client_free(c): close connections and free ${c}; NULL is a no-op. */
void http_client_free(struct http_client *c);

/**
 * http_do(req, ret_resp, err):
 * Like http_client_do() with a client used for this request only.
 */
int http_do(const struct http_req *req, struct http_resp *ret_resp,
    struct ag_err *err);

/*
 * A pool of idle clients, for a backend whose requests run on several
 * threads at once (parallel upload parts): each request takes a client,
 * keeping its connection warm, and gives it back.  Thread-safe.
 */
struct http_pool;

/* http_pool_new(keep): a pool keeping at most ${keep} idle clients. */
struct http_pool *http_pool_new(unsigned keep);

/**
 * http_pool_do(p, req, ret_resp, err):
 * http_client_do() with an idle client of ${p} (a new one if none is
 * idle), which goes back to the pool afterwards.  ${p} NULL: http_do().
 */
int http_pool_do(struct http_pool *p, const struct http_req *req,
    struct http_resp *ret_resp, struct ag_err *err);

/* http_pool_free(p): free ${p} and its clients; NULL is a no-op. */
void http_pool_free(struct http_pool *p);

struct http_multi;

/**
 * http_multi_new():
 * An empty set of concurrent requests, used by one thread (but see
 * http_multi_wakeup()).  Return NULL on failure.
 */
struct http_multi *http_multi_new(void);

/**
 * http_multi_add(m, req, cookie, err):
 * Start ${req} in ${m}; http_multi_done() reports its end with ${cookie},
 * which must be unique in ${m}.  ${req} is copied, but what it points to
 * (URL, headers, body) must stay valid until the request is reported done
 * or removed.  Does not block.  Return 0, or -1 with ${err} set.
 */
int http_multi_add(struct http_multi *m, const struct http_req *req,
    void *cookie, struct ag_err *err);

/**
 * http_multi_poll(m, timeout_ms):
 * Wait at most ${timeout_ms} for network activity on the requests of ${m}
 * or for http_multi_wakeup().  Return 0 or -1.
 */
int http_multi_poll(struct http_multi *m, int timeout_ms);

/**
 * http_multi_perform(m):
 * Move the requests of ${m} on as far as possible without blocking.
 * Return how many are still running, or -1.
 */
int http_multi_perform(struct http_multi *m);

/**
 * http_multi_done(m, ret_cookie, ret_resp, ret_rc, err):
 * If a request of ${m} has ended, store its cookie in ${ret_cookie}, its
 * answer in ${ret_resp} (freed by the caller with http_resp_free()) and its
 * outcome in ${ret_rc} (0, AG_RETRY or -1, with ${err} set, as
 * http_client_do() returns them), forget it, and return 1.  Return 0 if
 * none has ended.
 */
int http_multi_done(struct http_multi *m, void **ret_cookie,
    struct http_resp *ret_resp, int *ret_rc, struct ag_err *err);

/**
 * http_multi_remove(m, cookie):
 * Cancel the request of ${m} added with ${cookie} (closing its connection
 * if it was under way); it is not reported.  An unknown cookie is ignored.
 */
void http_multi_remove(struct http_multi *m, void *cookie);

/**
 * http_multi_wakeup(m):
 * Make a http_multi_poll() of ${m} return at once, now or when it is next
 * called.  The one call that may come from any thread.
 */
void http_multi_wakeup(struct http_multi *m);

/* http_multi_free(m): cancel every request of ${m}, then free it. */
void http_multi_free(struct http_multi *m);

/* http_resp_free(r): free what ${r} holds and zero it (not ${r} itself). */
void http_resp_free(struct http_resp *r);

/**
 * http_resp_header(r, name):
 * The value of response header ${name} (any case), the last one if it was
 * sent several times, or NULL.
 */
const char *http_resp_header(const struct http_resp *r, const char *name);

/**
 * http_status_class(status):
 * 0 for 2xx, AG_RETRY for 408, 425, 429 and 5xx, -1 for anything else.
 */
int http_status_class(long status);

/**
 * http_endpoint_valid(e):
 * Whether ${e} is "http://host[:port]" or "https://host[:port]" with nothing
 * after (no path, query, user information or blank): a service endpoint.
 */
bool http_endpoint_valid(const char *e);

/**
 * http_url_redact(url, buf, len):
 * Write ${url} as scheme://host[:port]/path into ${buf} (${len} bytes),
 * without user information, query or fragment: safe for messages.
 */
void http_url_redact(const char *url, char *buf, size_t len);

/**
 * http_endpoint_host(e):
 * The "host[:port]" part of ${e} if http_endpoint_valid() accepts it (the
 * Host a signed request names), else NULL.
 */
const char *http_endpoint_host(const char *e);

/**
 * http_urlencode(s, len):
 * Percent-encode ${len} bytes of ${s} (RFC 3986: everything but A-Z a-z 0-9
 * - . _ ~, as upper-case %XX).  Return a malloc'd string or NULL.
 */
char *http_urlencode(const char *s, size_t len);

#endif
