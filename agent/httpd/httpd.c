/*
 * httpd.c: the HTTP server (agent/httpd/httpd.h) on libmicrohttpd.
 *
 * A request's life: libmicrohttpd hands over the raw target first
 * (uri_log(): we parse it ourselves, httpd_parse_target(), so one parser
 * is fuzzed and used), then headers, then the body in pieces (kept up to
 * max_body, 413 past it), then the last call, where the token is checked
 * and the request answered.  Connections run one thread each, so an
 * answer may block: the scheduler's in web_call(), a backup listing in
 * storage on its own thread.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "agent/httpd/api_backup.h"
#include "agent/httpd/assets.h"
#include "agent/httpd/httpd.h"
#include "agent/httpd/tokens.h"
#include "conf/conf_http.h"
#include "lib/buf.h"
#include "lib/crypto/crypto.h"
#include "lib/clock.h"
#include "lib/log.h"

/* Failed logins: this many in FAIL_WINDOW_MS from one address, then 429. */
#define FAIL_MAX 5
#define FAIL_WINDOW_MS 60000
#define FAIL_SLOTS 64
#define TARGET_MAX 4096
#define CERT_MAX (256 * 1024)

struct fail {
	char addr[INET6_ADDRSTRLEN];
	int64_t first_ms; /* the window began */
	int n;
};

struct httpd {
	struct MHD_Daemon *d;
	struct web *w;
	struct tokens *tok;
	bool metrics_public, tls;
	size_t max_body;
	int timeout_ms;
	char *cert, *key;
	pthread_mutex_t mu; /* fails */
	struct fail fails[FAIL_SLOTS];
};

/* One request, from its target to its answer. */
struct req {
	struct web_req rq;
	char target[TARGET_MAX];
	bool bad_target, too_big, started;
	struct buf body;
	char client[INET6_ADDRSTRLEN + 8];
	char addr[INET6_ADDRSTRLEN];
	char token_name[TOKEN_NAME_MAX + 1];
};

/*
 * Decode [s, s+n) into *out (NUL-terminated), "+" as a space where
 * ${plus}.  Return -1 on a bad escape or a NUL.
 */
static int
decode(const char *s, size_t n, bool plus, char **out, char *end)
{
	char *o = *out;

	for (size_t i = 0; i < n; i++) {
		int c = (unsigned char)s[i];

		if (o >= end)
			return -1;
		if (c == '%') {
			int hi, lo;

			if (i + 2 >= n ||
			    (hi = crypto_hexval((unsigned char)s[i + 1])) <
				0 ||
			    (lo = crypto_hexval((unsigned char)s[i + 2])) < 0)
				return -1;
			c = hi << 4 | lo;
			i += 2;
		} else if (c == '+' && plus) {
			c = ' ';
		}
		if (c == '\0')
			return -1;
		*o++ = (char)c;
	}
	if (o >= end)
		return -1;
	*o++ = '\0';
	*out = o;
	return 0;
}

int
httpd_parse_target(const char *target, struct web_req *rq, char *buf,
    size_t buflen)
{
	const char *q = strchr(target, '?'), *p;
	size_t plen = q != NULL ? (size_t)(q - target) : strlen(target);
	char *o = buf, *end = buf + buflen;

	rq->path = NULL;
	rq->nparams = 0;
	if (target[0] != '/' || buflen == 0)
		return -1;
	rq->path = o;
	if (decode(target, plen, false, &o, end) != 0)
		return -1;
	/* No "." or ".." segment, decoded or not, and no empty one. */
	for (p = rq->path; *p != '\0';) {
		const char *seg = p + 1, *e = strchr(seg, '/');
		size_t n = e != NULL ? (size_t)(e - seg) : strlen(seg);

		if ((n == 1 && seg[0] == '.') ||
		    (n == 2 && seg[0] == '.' && seg[1] == '.') ||
		    (n == 0 && e != NULL))
			return -1;
		p = seg + n;
	}
	if (q == NULL)
		return 0;
	for (p = q + 1; *p != '\0';) {
		const char *amp = strchr(p, '&'), *eq;
		size_t n = amp != NULL ? (size_t)(amp - p) : strlen(p);

		if (n > 0) {
			struct web_param *wp;

			if (rq->nparams == WEB_PARAMS_MAX)
				return -1;
			wp = &rq->params[rq->nparams++];
			eq = memchr(p, '=', n);
			wp->key = o;
			if (decode(p, eq != NULL ? (size_t)(eq - p) : n, true,
				&o, end) != 0)
				return -1;
			wp->value = o;
			if (eq != NULL ?
				decode(eq + 1, n - (size_t)(eq + 1 - p), true,
				    &o, end) != 0 :
				decode("", 0, true, &o, end) != 0)
				return -1;
			if (wp->key[0] == '\0')
				return -1;
		}
		p += n + (amp != NULL);
	}
	return 0;
}

/* The first thing libmicrohttpd tells of a request: its raw target. */
static void *
uri_log(void *cls, const char *uri, struct MHD_Connection *con)
{
	struct req *r = calloc(1, sizeof(*r));

	(void)cls;
	(void)con;
	if (r == NULL)
		return NULL;
	buf_init(&r->body, 0);
	if (strlen(uri) >= TARGET_MAX ||
	    httpd_parse_target(uri, &r->rq, r->target, sizeof(r->target)) != 0)
		r->bad_target = true;
	return r;
}

static void
completed(void *cls, struct MHD_Connection *con, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct req *r = *con_cls;

	(void)cls;
	(void)con;
	(void)toe;
	if (r == NULL)
		return;
	buf_free(&r->body);
	free(r);
	*con_cls = NULL;
}

/* The headers of every answer. */
static void
common_headers(struct MHD_Response *mr, const char *ctype)
{
	(void)MHD_add_response_header(mr, "Content-Type", ctype);
	(void)MHD_add_response_header(mr, "X-Content-Type-Options", "nosniff");
	(void)MHD_add_response_header(mr, "Referrer-Policy", "no-referrer");
	(void)MHD_add_response_header(mr, "X-Frame-Options", "DENY");
	(void)MHD_add_response_header(mr, "Content-Security-Policy",
	    "default-src 'self'; img-src 'self' data:; "
	    "style-src 'self' 'unsafe-inline'; frame-ancestors 'none'");
}

static enum MHD_Result
send_resp(struct MHD_Connection *con, struct web_resp *rs, bool cache)
{
	struct MHD_Response *mr;
	enum MHD_Result ret;

	mr = MHD_create_response_from_buffer(rs->len, rs->body,
	    MHD_RESPMEM_MUST_FREE);
	if (mr == NULL) {
		web_resp_free(rs);
		return MHD_NO;
	}
	rs->body = NULL;
	common_headers(mr, rs->ctype != NULL ? rs->ctype : "application/json");
	if (!cache)
		(void)MHD_add_response_header(mr, "Cache-Control", "no-store");
	if (rs->status == 401)
		(void)MHD_add_response_header(mr, "WWW-Authenticate",
		    "Bearer realm=\"vigil\"");
	if (rs->status == 429)
		(void)MHD_add_response_header(mr, "Retry-After", "60");
	ret = MHD_queue_response(con, (unsigned)rs->status, mr);
	MHD_destroy_response(mr);
	return ret;
}

/*
 * One of the page's files (agent/httpd/assets.h), built into the module:
 * no token, as they hold no data.  The browser asks again each time
 * (no-cache) with If-None-Match, and an unchanged file is a 304.
 */
static enum MHD_Result
send_asset(struct MHD_Connection *con, const struct httpd_asset *a)
{
	const char *inm = MHD_lookup_connection_value(con, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_IF_NONE_MATCH);
	bool same = inm != NULL && strstr(inm, a->etag) != NULL;
	struct MHD_Response *mr;
	enum MHD_Result ret;

	mr = MHD_create_response_from_buffer(same ? 0 : a->len,
	    same ? NULL : (void *)(uintptr_t)a->data, MHD_RESPMEM_PERSISTENT);
	if (mr == NULL)
		return MHD_NO;
	common_headers(mr, a->ctype);
	(void)MHD_add_response_header(mr, "ETag", a->etag);
	(void)MHD_add_response_header(mr, "Cache-Control", "no-cache");
	ret = MHD_queue_response(con,
	    same ? MHD_HTTP_NOT_MODIFIED : MHD_HTTP_OK, mr);
	MHD_destroy_response(mr);
	return ret;
}

/* Is ${addr} locked out?  With ${failed}, count one more failure. */
static bool
throttled(struct httpd *h, const char *addr, bool failed, int *count)
{
	int64_t now = clock_mono_ms();
	struct fail *f = NULL, *oldest = NULL;
	bool locked;

	(void)pthread_mutex_lock(&h->mu);
	for (size_t i = 0; i < FAIL_SLOTS; i++) {
		struct fail *x = &h->fails[i];

		if (x->n > 0 && now - x->first_ms >= FAIL_WINDOW_MS)
			x->n = 0;
		if (x->n > 0 && strcmp(x->addr, addr) == 0)
			f = x;
		/* A free slot, else the one whose window began first. */
		if (oldest == NULL ||
		    (oldest->n > 0 &&
			(x->n == 0 || x->first_ms < oldest->first_ms)))
			oldest = x;
	}
	if (f == NULL && failed) {
		f = oldest;
		(void)snprintf(f->addr, sizeof(f->addr), "%s", addr);
		f->first_ms = now;
		f->n = 0;
	}
	if (f != NULL && failed)
		f->n++;
	locked = f != NULL && f->n >= FAIL_MAX + (failed ? 1 : 0);
	*count = f != NULL ? f->n : 0;
	(void)pthread_mutex_unlock(&h->mu);
	return locked;
}

static bool
is_public(const struct httpd *h, const struct web_req *rq)
{
	if (strcmp(rq->path, "/metrics") == 0)
		return h->metrics_public;
	return false;
}

static void
client_of(struct MHD_Connection *con, struct req *r)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(con,
	    MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = ci != NULL ? ci->client_addr : NULL;

	(void)snprintf(r->addr, sizeof(r->addr), "?");
	if (sa != NULL && sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const void *)sa;

		(void)inet_ntop(AF_INET, &s4->sin_addr, r->addr,
		    sizeof(r->addr));
		(void)snprintf(r->client, sizeof(r->client), "%s:%u", r->addr,
		    ntohs(s4->sin_port));
	} else if (sa != NULL && sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)sa;

		(void)inet_ntop(AF_INET6, &s6->sin6_addr, r->addr,
		    sizeof(r->addr));
		(void)snprintf(r->client, sizeof(r->client), "[%s]:%u",
		    r->addr, ntohs(s6->sin6_port));
	} else {
		(void)snprintf(r->client, sizeof(r->client), "?");
	}
	r->rq.client = r->client;
}

/* Check the token; fill in the role, or answer 401/429 in ${rs}. */
static int
authorize(struct httpd *h, struct MHD_Connection *con, struct req *r,
    struct web_resp *rs)
{
	const char *auth = MHD_lookup_connection_value(con, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_AUTHORIZATION);
	int count;

	r->rq.role = WEB_ROLE_NONE;
	if (throttled(h, r->addr, false, &count)) {
		web_error(rs, 429,
		    "too many failed logins from %s; wait a minute", r->addr);
		return -1;
	}
	if (auth != NULL && strncasecmp(auth, "Bearer ", 7) == 0 &&
	    h->tok != NULL)
		r->rq.role = tokens_check(h->tok, auth + 7, r->token_name,
		    sizeof(r->token_name));
	if (r->rq.role != WEB_ROLE_NONE) {
		r->rq.token_name = r->token_name;
		return 0;
	}
	if (auth == NULL && is_public(h, &r->rq))
		return 0;
	(void)throttled(h, r->addr, true, &count);
	log_msg(LOG_LVL_WARN,
	    "http: %s %s from %s: %s (%d failed in the last minute)",
	    r->rq.method, r->rq.path, r->client,
	    auth == NULL ? "no token" : "unknown token", count);
	web_error(rs, 401,
	    auth == NULL ? "a token is needed: Authorization: Bearer TOKEN "
			   "(vigil token add NAME --role read)" :
			   "unknown token");
	return -1;
}

static void
dispatch(struct httpd *h, struct req *r, struct web_resp *rs)
{
	const struct web_req *rq = &r->rq;
	bool action = strcmp(rq->method, "GET") != 0 &&
	    strcmp(rq->method, "HEAD") != 0;

	if (action && rq->role != WEB_ROLE_ADMIN) {
		web_error(rs, 403, "%s needs an admin token (this one is %s)",
		    rq->method, tokens_role_name(rq->role));
		return;
	}
	/* Backups in storage and restores: answered here, on this thread. */
	if (api_backup_route(h->w, rq, rs))
		return;
	(void)web_call(h->w, rq, rs, h->timeout_ms);
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *con, const char *url,
    const char *method, const char *version, const char *upload_data,
    size_t *upload_data_size, void **con_cls)
{
	struct httpd *h = cls;
	struct req *r = *con_cls;
	struct web_resp rs = { 0 };
	const struct httpd_asset *a;

	(void)url;
	(void)version;
	if (r == NULL)
		return MHD_NO;
	if (!r->started) {
		const char *cl = MHD_lookup_connection_value(con,
		    MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);

		r->started = true;
		r->rq.method = method;
		client_of(con, r);
		buf_init(&r->body, h->max_body);
		if (cl != NULL && strtoull(cl, NULL, 10) > h->max_body) {
			/* Refused before the body is read. */
			web_error(&rs, 413,
			    "the body is larger than max_body (%zu)",
			    h->max_body);
			return send_resp(con, &rs, false);
		}
		return MHD_YES;
	}
	if (*upload_data_size > 0) {
		if (!r->too_big &&
		    buf_append(&r->body, upload_data, *upload_data_size) != 0)
			r->too_big = true;
		*upload_data_size = 0;
		return MHD_YES;
	}
	r->rq.body = r->body.p != NULL ? r->body.p : "";
	r->rq.body_len = r->body.len;
	if (!r->bad_target &&
	    (strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0) &&
	    (a = httpd_asset_find(r->rq.path)) != NULL) {
		log_msg(LOG_LVL_DEBUG, "http: %s %s %s", method, r->rq.path,
		    r->client);
		return send_asset(con, a);
	}
	if (r->bad_target)
		web_error(&rs, 400, "bad request target");
	else if (r->too_big)
		web_error(&rs, 413, "the body is larger than max_body (%zu)",
		    h->max_body);
	else if (authorize(h, con, r, &rs) == 0)
		dispatch(h, r, &rs);
	log_msg(LOG_LVL_DEBUG, "http: %s %s %d %s%s%s", method,
	    r->bad_target ? "(bad target)" : r->rq.path, rs.status, r->client,
	    r->rq.token_name != NULL ? " " : "",
	    r->rq.token_name != NULL ? r->rq.token_name : "");
	return send_resp(con, &rs, false);
}

static void
mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];

	(void)cls;
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	msg[strcspn(msg, "\n")] = '\0';
	log_msg(LOG_LVL_WARN, "http: %s", msg);
}

/* Read a PEM file whole (libmicrohttpd takes certificates in memory). */
static char *
read_pem(const char *path, struct ag_err *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct buf b;
	char chunk[4096];
	ssize_t n;

	if (fd == -1) {
		(void)ag_err_set(err, "%s: %s", path, strerror(errno));
		return NULL;
	}
	buf_init(&b, CERT_MAX);
	while ((n = read(fd, chunk, sizeof(chunk))) > 0)
		(void)buf_append(&b, chunk, (size_t)n);
	(void)close(fd);
	if (n < 0 || b.err != 0 || b.len == 0) {
		(void)ag_err_set(err, "%s: %s", path,
		    n < 0	   ? strerror(errno) :
			b.len == 0 ? "empty" :
				     "larger than 256 KiB");
		buf_free(&b);
		return NULL;
	}
	return buf_take(&b);
}

static void
wipe_free(char *s)
{
	if (s == NULL)
		return;
	memset(s, 0, strlen(s));
	__asm__ __volatile__("" : : "r"(s) : "memory");
	free(s);
}

struct httpd *
httpd_start(const struct http_conf *c, struct web *w, struct ag_err *err)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD |
	    MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL | MHD_USE_ERROR_LOG;
	struct httpd *h;

	if (c->listen == NULL || conf_http_addr(c->listen, &ss, &sl) != 0) {
		(void)ag_err_set(err, "http.listen: not ADDRESS:PORT");
		return NULL;
	}
	if ((h = calloc(1, sizeof(*h))) == NULL) {
		(void)ag_err_set(err, "out of memory");
		return NULL;
	}
	(void)pthread_mutex_init(&h->mu, NULL);
	h->w = w;
	h->metrics_public = c->metrics_public;
	h->max_body = (size_t)c->max_body;
	h->timeout_ms = (int)c->timeout_ms;
	if (c->tokens_file != NULL &&
	    (h->tok = tokens_open(c->tokens_file)) == NULL) {
		(void)ag_err_set(err, "out of memory");
		goto fail;
	}
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	if (c->tls_cert != NULL) {
		if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
			(void)ag_err_set(err,
			    "http.tls_cert: this libmicrohttpd has no TLS");
			goto fail;
		}
		if ((h->cert = read_pem(c->tls_cert, err)) == NULL ||
		    (h->key = read_pem(c->tls_key, err)) == NULL)
			goto fail;
		flags |= MHD_USE_TLS;
		h->tls = true;
	}
	h->d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, h,
	    MHD_OPTION_EXTERNAL_LOGGER, mhd_log, h, MHD_OPTION_SOCK_ADDR,
	    (struct sockaddr *)&ss, MHD_OPTION_CONNECTION_LIMIT,
	    (unsigned)c->max_connections, MHD_OPTION_CONNECTION_TIMEOUT,
	    (unsigned)((c->timeout_ms + 999) / 1000),
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)64 * 1024,
	    MHD_OPTION_URI_LOG_CALLBACK, uri_log, h,
	    MHD_OPTION_NOTIFY_COMPLETED, completed, h,
	    h->tls ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, h->cert,
	    MHD_OPTION_HTTPS_MEM_KEY, h->key, MHD_OPTION_END);
	if (h->d == NULL) {
		int e = errno;

		(void)ag_err_set(err, "http: cannot listen on %s: %s",
		    c->listen,
		    e != 0 ? strerror(e) :
			     "libmicrohttpd refused (see above)");
		goto fail;
	}
	log_msg(LOG_LVL_INFO, "http: listening on %s%s%s", c->listen,
	    h->tls ? " (TLS)" : "",
	    c->tokens_file == NULL ? " (no tokens: /metrics only)" : "");
	return h;
fail:
	httpd_stop(h);
	return NULL;
}

void
httpd_stop(struct httpd *h)
{
	if (h == NULL)
		return;
	if (h->d != NULL)
		MHD_stop_daemon(h->d);
	api_backup_stop(); /* a restore still running is cancelled */
	tokens_close(h->tok);
	wipe_free(h->key);
	free(h->cert);
	(void)pthread_mutex_destroy(&h->mu);
	free(h);
}
