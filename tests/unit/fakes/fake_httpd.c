/*
 * fake_httpd.c: a tiny HTTP/1.1 server on 127.0.0.1 for the unit tests
 * (see fake_httpd.h).
 *
 * One thread accepts a connection and serves requests on it until the
 * client closes it, then accepts the next.  Every wait is a poll() of
 * 50 ms that checks the stop flag, so fake_httpd_stop() is quick even
 * while a client holds a connection open.  A request is read into one
 * buffer the size of the recorded header block plus body; anything larger
 * closes the connection.  Chunked request bodies are not understood: the
 * clients under test send Content-Length.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "tests/unit/fakes/fake_httpd.h"

/* Wait up to ${ms} for ${fd} to be readable: poll()'s answer. */
static int
wait_readable(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, ms);
}

/* Read one request from ${fd} into ${h}.  1 read, 0 closed, -1 stop. */
static int
read_request(struct fake_httpd *h, int fd)
{
	char buf[sizeof(h->head) + sizeof(h->req_body)];
	size_t len = 0, hlen, clen = 0;
	char *end, *cl;
	ssize_t k;

	for (;;) {
		int r;

		if (h->stop)
			return -1;
		if ((r = wait_readable(fd, 50)) == 0)
			continue;
		if (r < 0 ||
		    (k = read(fd, buf + len, sizeof(buf) - 1 - len)) <= 0)
			return 0;
		len += (size_t)k;
		buf[len] = '\0';
		if ((end = strstr(buf, "\r\n\r\n")) != NULL)
			break;
		if (len >= sizeof(buf) - 1)
			return 0;
	}
	hlen = (size_t)(end - buf) + 4;
	if ((cl = strcasestr(buf, "\r\nContent-Length:")) != NULL && cl < end)
		clen = strtoul(cl + 17, NULL, 10);
	while (len < hlen + clen && len < sizeof(buf) - 1) {
		if ((k = read(fd, buf + len, sizeof(buf) - 1 - len)) <= 0)
			return 0;
		len += (size_t)k;
	}
	pthread_mutex_lock(&h->mu);
	h->method[0] = h->path[0] = '\0';
	sscanf(buf, "%15s %2047s", h->method, h->path);
	snprintf(h->head, sizeof(h->head), "%.*s", (int)hlen, buf);
	if (h->keep_match != NULL && strstr(h->path, h->keep_match) != NULL)
		snprintf(h->kept_head, sizeof(h->kept_head), "%s", h->head);
	h->req_body_len = clen < sizeof(h->req_body) ? clen : 0;
	memcpy(h->req_body, buf + hlen, h->req_body_len);
	h->req_body[h->req_body_len] = '\0';
	h->nreq++;
	pthread_mutex_unlock(&h->mu);
	return 1;
}

/* Write all ${len} bytes of ${p} to ${fd}: 0 or -1. */
static int
write_all(int fd, const char *p, size_t len)
{
	ssize_t k;

	for (size_t off = 0; off < len; off += (size_t)k)
		if ((k = write(fd, p + off, len - off)) < 0)
			return -1;
	return 0;
}

/* Send the scripted response on ${fd}: 0, or -1 to drop the connection. */
static int
answer(struct fake_httpd *h, int fd)
{
	char head[1024];
	const char *body = h->body != NULL ? h->body : "";
	size_t blen = h->big > 0 ? h->big : strlen(body);
	char *big = NULL;
	int n, rc;

	if (h->big > 0) {
		if ((big = malloc(h->big)) == NULL)
			return -1;
		memset(big, 'x', h->big);
		body = big;
	}
	n = snprintf(head, sizeof(head),
	    "HTTP/1.1 %d Test\r\n"
	    "Content-Length: %zu\r\n%s\r\n",
	    h->status, blen, h->headers != NULL ? h->headers : "");
	rc = n > 0 && (size_t)n < sizeof(head) ? 0 : -1;
	if (rc == 0)
		rc = write_all(fd, head, (size_t)n);
	/* A response to HEAD has the length but no body. */
	if (rc == 0 && strcmp(h->method, "HEAD") != 0)
		rc = write_all(fd, body, blen);
	free(big);
	return rc;
}

/* Answer nothing on ${fd}; return when the client closes it or on stop. */
static void
hold(struct fake_httpd *h, int fd)
{
	char c;

	while (!h->stop && (wait_readable(fd, 50) == 0 || read(fd, &c, 1) > 0))
		;
}

static void *
serve(void *arg)
{
	struct fake_httpd *h = arg;

	while (!h->stop) {
		int fd;

		if (wait_readable(h->lfd, 50) <= 0)
			continue;
		if ((fd = accept(h->lfd, NULL, NULL)) < 0)
			continue;
		h->nconn++;
		while (read_request(h, fd) == 1) {
			if (h->silent) {
				hold(h, fd);
				break;
			}
			if (answer(h, fd) != 0)
				break;
		}
		close(fd);
	}
	return NULL;
}

/* A socket bound to 127.0.0.1 at a kernel-chosen port; -1 on failure. */
static int
bind_loopback(int *ret_port)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t alen = sizeof(a);
	int fd, one = 1;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &alen) != 0) {
		close(fd);
		return -1;
	}
	*ret_port = ntohs(a.sin_port);
	return fd;
}

/**
 * fake_httpd_start(h):
 * Reset ${h}, listen on 127.0.0.1 at a port the kernel picks (stored in
 * ${h}->port) and start serving from a thread.  Also unset the proxy
 * variables (http_proxy, ...) so that clients in this process reach the
 * server directly.  Return 0, or -1 if the socket or the thread cannot be
 * made.
 */
int
fake_httpd_start(struct fake_httpd *h)
{
	static const char *const proxies[] = { "http_proxy", "HTTP_PROXY",
		"https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY" };

	for (size_t i = 0; i < sizeof(proxies) / sizeof(proxies[0]); i++)
		(void)unsetenv(proxies[i]);
	memset(h, 0, sizeof(*h));
	h->status = 200;
	if ((h->lfd = bind_loopback(&h->port)) < 0)
		goto err0;
	if (listen(h->lfd, 8) != 0)
		goto err1;
	if (pthread_mutex_init(&h->mu, NULL) != 0)
		goto err1;
	if (pthread_create(&h->th, NULL, serve, h) != 0)
		goto err2;
	return 0;

err2:
	pthread_mutex_destroy(&h->mu);
err1:
	close(h->lfd);
err0:
	return -1;
}

/**
 * fake_httpd_stop(h):
 * Stop the server of ${h} and wait for its thread (within ~50 ms even if a
 * silent connection is open).
 */
void
fake_httpd_stop(struct fake_httpd *h)
{
	h->stop = 1;
	pthread_join(h->th, NULL);
	close(h->lfd);
	pthread_mutex_destroy(&h->mu);
}

/**
 * fake_httpd_req_header(h, name):
 * The value of header ${name} (any case) in the last request of ${h}, in a
 * static buffer that the next call overwrites; NULL if it was not sent.
 */
const char *
fake_httpd_req_header(const struct fake_httpd *h, const char *name)
{
	static char val[512];
	char needle[128];
	const char *p;

	snprintf(needle, sizeof(needle), "\r\n%s: ", name);
	if ((p = strcasestr(h->head, needle)) == NULL)
		return NULL;
	p += strlen(needle);
	snprintf(val, sizeof(val), "%.*s", (int)strcspn(p, "\r"), p);
	return val;
}

/**
 * fake_httpd_free_port():
 * A loopback port on which nothing listens (it was free a moment ago), to
 * test refused connections; -1 if none could be found.
 */
int
fake_httpd_free_port(void)
{
	int fd, port;

	if ((fd = bind_loopback(&port)) < 0)
		return -1;
	close(fd);
	return port;
}
