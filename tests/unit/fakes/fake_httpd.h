/*
 * fake_httpd.h: a tiny HTTP/1.1 server on 127.0.0.1 for the unit tests.
 *
 * fake_httpd_start() listens on an ephemeral loopback port and serves one
 * connection at a time from a thread, with keep-alive.  Each request is
 * read whole (headers and a Content-Length body) and recorded in the
 * struct; then the server sends the scripted response, whatever the
 * request was: the test sets status, body (or a large body of 'x') and
 * extra header lines between requests.  "silent" makes it read a request
 * and never answer, to test client timeouts.  fake_httpd_stop() ends the
 * thread.  The test thread reads the recorded request after its client
 * call returned: the server records before it answers.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef VIGIL_FAKE_HTTPD_H
#define VIGIL_FAKE_HTTPD_H

#include <pthread.h>
#include <stddef.h>

struct fake_httpd {
	int port; /* where it listens, after start */

	/* The response, set by the test (start: 200, empty body). */
	int status;
	const char *body;    /* NULL: empty */
	size_t big;	     /* > 0: a body of this many 'x' */
	const char *headers; /* extra lines, each ending "\r\n" */
	volatile int silent; /* read requests, never answer */

	/* The last request, and counts, recorded by the server. */
	char method[16];
	char path[2048];      /* request target, query included */
	char head[8192];      /* raw header block, final CRLFCRLF */
	char req_body[65536]; /* NUL-terminated */
	size_t req_body_len;
	int nreq;  /* requests read */
	int nconn; /* connections accepted */
	/* Set by the test: the head of the last request whose target
	   contains ${keep_match} is also kept in ${kept_head}. */
	const char *keep_match;
	char kept_head[8192];

	/* Private to fake_httpd.c. */
	int lfd;
	pthread_t th;
	pthread_mutex_t mu;
	volatile int stop;
};

/**
 * fake_httpd_start(h):
 * Reset ${h}, listen on 127.0.0.1 at a port the kernel picks (stored in
 * ${h}->port) and start serving from a thread.  Also unset the proxy
 * variables (http_proxy, ...) so that clients in this process reach the
 * server directly.  Return 0, or -1 if the socket or the thread cannot be
 * made.
 */
int fake_httpd_start(struct fake_httpd *h);

/**
 * fake_httpd_stop(h):
 * Stop the server of ${h} and wait for its thread (within ~50 ms even if a
 * silent connection is open).
 */
void fake_httpd_stop(struct fake_httpd *h);

/**
 * fake_httpd_req_header(h, name):
 * The value of header ${name} (any case) in the last request of ${h}, in a
 * static buffer that the next call overwrites; NULL if it was not sent.
 */
const char *fake_httpd_req_header(const struct fake_httpd *h,
    const char *name);

/**
 * fake_httpd_free_port():
 * A loopback port on which nothing listens (it was free a moment ago), to
 * test refused connections; -1 if none could be found.
 */
int fake_httpd_free_port(void);

#endif /* !VIGIL_FAKE_HTTPD_H */
