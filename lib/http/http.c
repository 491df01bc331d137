/*
 * http.c: the HTTP client over libcurl (see http.h).
 *
 * Each request resets the client's easy handle (curl_easy_reset() keeps the
 * connection cache, so keep-alive connections are reused), sets the options
 * for this request and runs curl_easy_perform().  The response body is
 * collected into a buffer that grows geometrically up to the request's
 * max_response; past it the transfer is aborted and the response marked
 * truncated.  Response headers are kept for the final response only (a
 * "100 Continue" block is discarded), bounded in count and bytes.
 * CURLOPT_NOSIGNAL is always set because the daemon is threaded, and only
 * http and https are allowed, without redirects.  On a thread with a cancel
 * flag (lib/cancel.h) a transfer is refused once it is set and aborted by
 * the progress callback, which libcurl calls at least once a second.
 *
 * A mail submission (struct http_smtp) uses the same handles with the smtp
 * and smtps schemes only: the message is uploaded from the request's body
 * (read_cb), the server's reply lines, which libcurl hands to the header
 * callback, keep the last one as the answer's body (smtp_line_cb), and a
 * transfer that ends on a 4xx/5xx reply is reported as that answer.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "paths.h"
#include "lib/buf.h"
#include "lib/cancel.h"
#include "lib/http/http.h"

struct http_client {
	CURL *h;
};

/*
 * The state of one transfer, shared with the curl callbacks, from
 * xfer_begin() to xfer_end().
 */
struct xfer {
	const struct http_req *req;
	struct http_resp *resp;
	CURL *h;
	const char *method;
	struct curl_slist *hdrs;
	struct curl_slist *rcpt; /* SMTP recipients */
	size_t up_off;		 /* SMTP: bytes of the body sent */
	struct buf body;	 /* capped; its memory is resp->body */
	size_t hdr_bytes;	 /* header bytes kept so far */
	int sink_rc;		 /* the sink's abort verdict */
	bool oom;
	char where[300]; /* the URL without query */
	char errbuf[CURL_ERROR_SIZE];
};

/* One transfer of a struct http_multi. */
struct mxfer {
	struct http_req req; /* the caller's, copied */
	struct http_resp resp;
	struct xfer x;
	void *cookie;
	struct mxfer *next;
};

struct http_multi {
	CURLM *m;
	struct mxfer *xfers; /* added and not yet reported */
};

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static CURLcode init_rc = CURLE_FAILED_INIT;

static void
global_init_once(void)
{
	init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/**
 * http_global_init():
 * Initialise libcurl once per process.  Return 0 or -1.
 */
int
http_global_init(void)
{
	if (pthread_once(&init_once, global_init_once) != 0)
		return -1;
	return init_rc == CURLE_OK ? 0 : -1;
}

int
http_status_class(long status)
{
	if (status >= 200 && status <= 299)
		return 0;
	if (status == 408 || status == 425 || status == 429 ||
	    (status >= 500 && status <= 599))
		return AG_RETRY;
	return -1;
}

bool
http_endpoint_valid(const char *e)
{
	const char *h;

	if (strncmp(e, "https://", 8) == 0)
		h = e + 8;
	else if (strncmp(e, "http://", 7) == 0)
		h = e + 7;
	else
		return false;
	return *h != '\0' && strpbrk(h, "/?#@ \t") == NULL;
}

const char *
http_endpoint_host(const char *e)
{
	return http_endpoint_valid(e) ? strstr(e, "://") + 3 : NULL;
}

void
http_url_redact(const char *url, char *buf, size_t len)
{
	const char *p, *auth, *at, *end;
	size_t slen;

	if (len == 0)
		return;
	buf[0] = '\0';
	if (url == NULL)
		return;
	/* Scheme, kept with its "://". */
	if ((p = strstr(url, "://")) != NULL &&
	    (size_t)(p - url) < strcspn(url, "/?#")) {
		auth = p + 3;
		slen = (size_t)(auth - url);
		/* Authority without "user:password@". */
		end = auth + strcspn(auth, "/?#");
		for (at = end; at > auth && at[-1] != '@'; at--)
			;
		if (at > auth)
			auth = at;
	} else {
		auth = url;
		slen = 0;
	}
	/* Host and path, up to the query or fragment. */
	end = auth + strcspn(auth, "?#");
	snprintf(buf, len, "%.*s%.*s", (int)slen, url, (int)(end - auth),
	    auth);
}

char *
http_urlencode(const char *s, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	char *out, *o;

	if (len > (SIZE_MAX - 1) / 3)
		return NULL;
	if ((out = malloc(3 * len + 1)) == NULL)
		return NULL;
	o = out;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (isalnum(c) && c < 0x80) {
			*o++ = (char)c;
		} else if (c == '-' || c == '.' || c == '_' || c == '~') {
			*o++ = (char)c;
		} else {
			*o++ = '%';
			*o++ = hex[c >> 4];
			*o++ = hex[c & 15];
		}
	}
	*o = '\0';
	return out;
}

void
http_resp_free(struct http_resp *r)
{
	if (r == NULL)
		return;
	free(r->body);
	for (size_t i = 0; i < r->nheaders; i++) {
		free(r->headers[i].name);
		free(r->headers[i].value);
	}
	free(r->headers);
	memset(r, 0, sizeof(*r));
}

const char *
http_resp_header(const struct http_resp *r, const char *name)
{
	for (size_t i = r->nheaders; i > 0; i--) {
		if (strcasecmp(r->headers[i - 1].name, name) == 0)
			return r->headers[i - 1].value;
	}
	return NULL;
}

/* Drop the headers kept so far (a new response block begins). */
static void
headers_clear(struct xfer *x)
{
	struct http_resp *r = x->resp;

	for (size_t i = 0; i < r->nheaders; i++) {
		free(r->headers[i].name);
		free(r->headers[i].value);
	}
	r->nheaders = 0;
	x->hdr_bytes = 0;
}

static size_t
header_cb(char *ptr, size_t size, size_t nmemb, void *cookie)
{
	struct xfer *x = cookie;
	struct http_resp *r = x->resp;
	size_t len = size * nmemb, nlen, vstart, vend;
	const char *colon;
	char *name, *value;

	if (len >= 5 && memcmp(ptr, "HTTP/", 5) == 0) {
		headers_clear(x);
		return len;
	}
	/* Ignore the blank line, folded lines and anything over the caps. */
	if ((colon = memchr(ptr, ':', len)) == NULL || ptr[0] == ' ' ||
	    ptr[0] == '\t' || r->nheaders >= HTTP_MAX_HEADERS ||
	    x->hdr_bytes + len > HTTP_MAX_HEADER_BYTES)
		return len;
	nlen = (size_t)(colon - ptr);
	vstart = nlen + 1;
	vend = len;
	while (vstart < vend && (ptr[vstart] == ' ' || ptr[vstart] == '\t'))
		vstart++;
	while (vend > vstart && isspace((unsigned char)ptr[vend - 1]))
		vend--;
	if (r->headers == NULL) {
		r->headers = calloc(HTTP_MAX_HEADERS, sizeof(*r->headers));
		if (r->headers == NULL)
			goto oom;
	}
	if ((name = strndup(ptr, nlen)) == NULL)
		goto oom;
	if ((value = strndup(ptr + vstart, vend - vstart)) == NULL) {
		free(name);
		goto oom;
	}
	r->headers[r->nheaders].name = name;
	r->headers[r->nheaders].value = value;
	r->nheaders++;
	x->hdr_bytes += len;
	return len;
oom:
	x->oom = true;
	return 0;
}

static size_t
write_cb(char *ptr, size_t size, size_t nmemb, void *cookie)
{
	struct xfer *x = cookie;
	struct http_resp *r = x->resp;
	size_t len = size * nmemb, take;

	if (x->req->sink != NULL) {
		long status = 0;

		(void)curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &status);
		if (status >= 200 && status <= 299) {
			int rc = x->req->sink(x->req->sink_cookie,
			    (const uint8_t *)ptr, len);

			if (rc != 0) {
				x->sink_rc = rc;
				return 0;
			}
			return len;
		}
	}
	take = x->body.max - x->body.len;
	if (take > len)
		take = len;
	if (buf_append(&x->body, ptr, take) != 0) {
		x->oom = true;
		return 0;
	}
	r->body = x->body.p;
	r->body_len = x->body.len;
	if (take < len) {
		/* Over the cap: stop reading, keep what we have. */
		r->truncated = true;
		return 0;
	}
	return len;
}

/* CURLOPT_READFUNCTION for SMTP: the message, from the request's body. */
static size_t
read_cb(char *ptr, size_t size, size_t nmemb, void *cookie)
{
	struct xfer *x = cookie;
	size_t left = x->req->body_len - x->up_off, n = size * nmemb;

	if (n > left)
		n = left;
	if (n > 0)
		memcpy(ptr, (const char *)x->req->body + x->up_off, n);
	x->up_off += n;
	return n;
}

/*
 * CURLOPT_HEADERFUNCTION for SMTP: libcurl passes the server's reply
 * lines; keep the last one, without its line end, as the answer's body.
 */
static size_t
smtp_line_cb(char *ptr, size_t size, size_t nmemb, void *cookie)
{
	struct xfer *x = cookie;
	size_t len = size * nmemb, n = len;

	while (n > 0 && (ptr[n - 1] == '\r' || ptr[n - 1] == '\n'))
		n--;
	if (n > 512)
		n = 512;
	buf_reset(&x->body);
	if (buf_append(&x->body, ptr, n) != 0) {
		x->oom = true;
		return 0;
	}
	x->resp->body = x->body.p;
	x->resp->body_len = x->body.len;
	return len;
}

/* CURLOPT_XFERINFOFUNCTION: go on unless this thread is told to stop. */
static int
xferinfo_cb(void *cookie, curl_off_t dltotal, curl_off_t dlnow,
    curl_off_t ultotal, curl_off_t ulnow)
{
	(void)cookie;
	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	(void)ulnow;
	return cancel_requested() ? 1 : 0;
}

/* Is ${code} a failure that may go away if the request is tried again? */
static int
curl_code_transient(CURLcode code)
{
	switch (code) {
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
	case CURLE_AGAIN:
	case CURLE_WEIRD_SERVER_REPLY:
		return 1;
	default:
		return 0;
	}
}

/*
 * Cut ${msg} where a secret part of the URL (its query, or the user
 * information) would begin, so that it never reaches a message.
 */
static void
scrub(char *msg, size_t size, const char *url)
{
	const char *q, *p, *auth, *at, *end;
	char needle[512];
	char *hit;

	if ((q = strchr(url, '?')) != NULL && q[1] != '\0') {
		snprintf(needle, sizeof(needle), "%.*s",
		    (int)strcspn(q + 1, "#"), q + 1);
		if (needle[0] != '\0' && (hit = strstr(msg, needle)) != NULL)
			snprintf(hit, size - (size_t)(hit - msg),
			    "[redacted]");
	}
	if ((p = strstr(url, "://")) != NULL) {
		auth = p + 3;
		end = auth + strcspn(auth, "/?#");
		for (at = end; at > auth && at[-1] != '@'; at--)
			;
		if (at > auth + 1) {
			snprintf(needle, sizeof(needle), "%.*s",
			    (int)(at - 1 - auth), auth);
			if ((hit = strstr(msg, needle)) != NULL)
				snprintf(hit, size - (size_t)(hit - msg),
				    "[redacted]");
		}
	}
}

static int
valid_method(const char *m)
{
	if (*m == '\0' || strlen(m) > 16)
		return 0;
	for (; *m != '\0'; m++) {
		if (*m < 'A' || *m > 'Z')
			return 0;
	}
	return 1;
}

/* Does the NULL-terminated list ${hdrs} set header ${name}? */
static int
has_header(const char *const *hdrs, const char *name)
{
	size_t n = strlen(name);

	for (; hdrs != NULL && *hdrs != NULL; hdrs++) {
		if (strncasecmp(*hdrs, name, n) == 0 && (*hdrs)[n] == ':')
			return 1;
	}
	return 0;
}

struct http_client *
http_client_new(void)
{
	struct http_client *c;

	if (http_global_init() != 0)
		return NULL;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	if ((c->h = curl_easy_init()) == NULL) {
		free(c);
		return NULL;
	}
	return c;
}

void
http_client_free(struct http_client *c)
{
	if (c == NULL)
		return;
	curl_easy_cleanup(c->h);
	free(c);
}

/* Set the options of ${req} on ${h}; return a CURLcode. */
/*
 * What every transfer sets alike, HTTP or SMTP: certificate checks (off
 * only when asked), the CA file, and the cancel flag of the calling
 * thread (lib/cancel.h) checked from the progress callback.
 */
static CURLcode
set_tls_cancel(CURL *h, const struct http_req *req)
{
	CURLcode rc = CURLE_OK;

#define SET(opt, val) \
	do { \
		if (rc == CURLE_OK) \
			rc = curl_easy_setopt(h, opt, val); \
	} while (0)
	if (req->insecure) {
		SET(CURLOPT_SSL_VERIFYPEER, 0L);
		SET(CURLOPT_SSL_VERIFYHOST, 0L);
	} else {
		SET(CURLOPT_SSL_VERIFYPEER, 1L);
		SET(CURLOPT_SSL_VERIFYHOST, 2L);
	}
	if (req->ca_file != NULL)
		SET(CURLOPT_CAINFO, req->ca_file);
	if (cancel_bound()) {
		SET(CURLOPT_XFERINFOFUNCTION, xferinfo_cb);
		SET(CURLOPT_NOPROGRESS, 0L);
	}
#undef SET
	return rc;
}

static CURLcode
set_options(CURL *h, const struct http_req *req, const char *method,
    struct curl_slist *hdrs, struct xfer *x, char *errbuf)
{
	CURLcode rc = CURLE_OK;
	long cto = req->connect_timeout_ms > 0 ?
	    req->connect_timeout_ms :
	    HTTP_CONNECT_TIMEOUT_DEFAULT_MS;
	long to = req->timeout_ms > 0 ? req->timeout_ms :
					HTTP_TIMEOUT_DEFAULT_MS;
	bool body = req->body != NULL || req->body_len > 0 ||
	    strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0 ||
	    strcmp(method, "PATCH") == 0;

#define SET(opt, val) \
	do { \
		if (rc == CURLE_OK) \
			rc = curl_easy_setopt(h, opt, val); \
	} while (0)
	SET(CURLOPT_ERRORBUFFER, errbuf);
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_URL, req->url);
	SET(CURLOPT_PROTOCOLS_STR, "http,https");
	SET(CURLOPT_FOLLOWLOCATION, 0L);
	SET(CURLOPT_CONNECTTIMEOUT_MS, cto);
	SET(CURLOPT_TIMEOUT_MS, to);
	SET(CURLOPT_USERAGENT, "vigil/" VIGIL_VERSION);
	SET(CURLOPT_HTTPHEADER, hdrs);
	SET(CURLOPT_HEADERFUNCTION, header_cb);
	SET(CURLOPT_HEADERDATA, x);
	SET(CURLOPT_WRITEFUNCTION, write_cb);
	SET(CURLOPT_WRITEDATA, x);
	if (rc == CURLE_OK)
		rc = set_tls_cancel(h, req);
	if (strcmp(method, "HEAD") == 0) {
		SET(CURLOPT_NOBODY, 1L);
	} else if (strcmp(method, "GET") == 0 && !body) {
		SET(CURLOPT_HTTPGET, 1L);
	} else {
		if (strcmp(method, "POST") != 0)
			SET(CURLOPT_CUSTOMREQUEST, method);
		if (body) {
			SET(CURLOPT_POSTFIELDSIZE_LARGE,
			    (curl_off_t)req->body_len);
			SET(CURLOPT_POSTFIELDS,
			    req->body != NULL ? req->body : "");
		}
	}
#undef SET
	return rc;
}

/* Set the options of SMTP submission ${req} on ${h}; return a CURLcode. */
static CURLcode
set_smtp_options(CURL *h, const struct http_req *req, struct xfer *x,
    char *errbuf)
{
	const struct http_smtp *m = req->smtp;
	CURLcode rc = CURLE_OK;
	long cto = req->connect_timeout_ms > 0 ?
	    req->connect_timeout_ms :
	    HTTP_CONNECT_TIMEOUT_DEFAULT_MS;
	long to = req->timeout_ms > 0 ? req->timeout_ms :
					HTTP_TIMEOUT_DEFAULT_MS;

#define SET(opt, val) \
	do { \
		if (rc == CURLE_OK) \
			rc = curl_easy_setopt(h, opt, val); \
	} while (0)
	SET(CURLOPT_ERRORBUFFER, errbuf);
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_URL, req->url);
	SET(CURLOPT_PROTOCOLS_STR, "smtp,smtps");
	SET(CURLOPT_CONNECTTIMEOUT_MS, cto);
	SET(CURLOPT_TIMEOUT_MS, to);
	SET(CURLOPT_USE_SSL,
	    m->require_tls ? (long)CURLUSESSL_ALL : (long)CURLUSESSL_NONE);
	SET(CURLOPT_MAIL_FROM, m->from);
	SET(CURLOPT_MAIL_RCPT, x->rcpt);
	if (m->username != NULL) {
		SET(CURLOPT_USERNAME, m->username);
		SET(CURLOPT_PASSWORD, m->password != NULL ? m->password : "");
	}
	SET(CURLOPT_UPLOAD, 1L);
	SET(CURLOPT_READFUNCTION, read_cb);
	SET(CURLOPT_READDATA, x);
	SET(CURLOPT_INFILESIZE_LARGE, (curl_off_t)req->body_len);
	SET(CURLOPT_HEADERFUNCTION, smtp_line_cb);
	SET(CURLOPT_HEADERDATA, x);
	if (rc == CURLE_OK)
		rc = set_tls_cancel(h, req);
#undef SET
	return rc;
}

/* The recipients of SMTP request ${req} as a curl list in ${x}. */
static int
build_rcpt(const struct http_req *req, struct xfer *x, struct ag_err *err)
{
	const struct http_smtp *m = req->smtp;
	struct curl_slist *t;

	if (strncasecmp(req->url, "smtp://", 7) != 0 &&
	    strncasecmp(req->url, "smtps://", 8) != 0)
		return ag_err_set(err, "%s: not an smtp:// or smtps:// URL",
		    x->where);
	if (m->from == NULL || m->rcpt == NULL || m->rcpt[0] == NULL)
		return ag_err_set(err, "%s: no sender or no recipient",
		    x->where);
	for (const char *const *r = m->rcpt; *r != NULL; r++) {
		if (strpbrk(*r, "\r\n") != NULL ||
		    (t = curl_slist_append(x->rcpt, *r)) == NULL) {
			curl_slist_free_all(x->rcpt);
			x->rcpt = NULL;
			return ag_err_set(err, "%s: invalid recipient",
			    x->where);
		}
		x->rcpt = t;
	}
	return 0;
}

/* Build the header list: the caller's, and blanks that drop curl's own. */
static int
build_headers(const struct http_req *req, struct curl_slist **ret,
    struct ag_err *err)
{
	struct curl_slist *l = NULL, *t;
	const char *const *h;

	for (h = req->headers; h != NULL && *h != NULL; h++) {
		if (strpbrk(*h, "\r\n") != NULL || strchr(*h, ':') == NULL) {
			curl_slist_free_all(l);
			return ag_err_set(err, "invalid request header");
		}
		if ((t = curl_slist_append(l, *h)) == NULL)
			goto oom;
		l = t;
	}
	/* No "Expect: 100-continue" round trip before large bodies. */
	if (!has_header(req->headers, "Expect")) {
		if ((t = curl_slist_append(l, "Expect:")) == NULL)
			goto oom;
		l = t;
	}
	/* No form-urlencoded Content-Type the caller did not ask for. */
	if (!has_header(req->headers, "Content-Type")) {
		if ((t = curl_slist_append(l, "Content-Type:")) == NULL)
			goto oom;
		l = t;
	}
	*ret = l;
	return 0;
oom:
	curl_slist_free_all(l);
	return ag_err_set(err, "out of memory");
}

/*
 * The handle must not keep pointers into ${x}: forget them and free the
 * header list.
 */
static void
xfer_release(struct xfer *x)
{
	(void)curl_easy_setopt(x->h, CURLOPT_HTTPHEADER, NULL);
	(void)curl_easy_setopt(x->h, CURLOPT_MAIL_RCPT, NULL);
	(void)curl_easy_setopt(x->h, CURLOPT_ERRORBUFFER, NULL);
	curl_slist_free_all(x->hdrs);
	x->hdrs = NULL;
	curl_slist_free_all(x->rcpt);
	x->rcpt = NULL;
}

/*
 * Prepare handle ${h} for ${req}, answered into ${resp}, with ${x} as the
 * transfer's state.  Return 0, or -1 with ${err} set (nothing to undo).
 */
static int
xfer_begin(struct xfer *x, CURL *h, const struct http_req *req,
    struct http_resp *resp, struct ag_err *err)
{
	CURLcode rc;

	memset(resp, 0, sizeof(*resp));
	memset(x, 0, sizeof(*x));
	if (req->url == NULL)
		return ag_err_set(err, "no URL");
	x->method = req->smtp != NULL ? "SMTP" :
	    req->method != NULL	      ? req->method :
	    req->body != NULL	      ? "POST" :
					"GET";
	http_url_redact(req->url, x->where, sizeof(x->where));
	if (!valid_method(x->method))
		return ag_err_set(err, "%s: invalid method", x->where);
	if (cancel_requested())
		return ag_err_set(err, "%s %s: cancelled", x->method,
		    x->where);
	if (req->smtp != NULL ? build_rcpt(req, x, err) != 0 :
				build_headers(req, &x->hdrs, err) != 0)
		return -1;
	x->req = req;
	x->resp = resp;
	x->h = h;
	buf_init(&x->body,
	    req->max_response > 0 ? req->max_response :
				    HTTP_MAX_RESPONSE_DEFAULT);

	curl_easy_reset(h);
	rc = req->smtp != NULL ?
	    set_smtp_options(h, req, x, x->errbuf) :
	    set_options(h, req, x->method, x->hdrs, x, x->errbuf);
	if (rc != CURLE_OK) {
		(void)ag_err_set(err, "%s %s: %s", x->method, x->where,
		    curl_easy_strerror(rc));
		xfer_release(x);
		return -1;
	}
	return 0;
}

struct http_pool {
	pthread_mutex_t mu;
	unsigned keep, n;
	struct http_client **idle;
};

/* http_pool_new(keep): a pool keeping at most ${keep} idle clients. */
struct http_pool *
http_pool_new(unsigned keep)
{
	struct http_pool *p;

	if ((p = calloc(1, sizeof(*p))) == NULL)
		return NULL;
	if ((p->idle = calloc(keep > 0 ? keep : 1, sizeof(*p->idle))) ==
		NULL ||
	    pthread_mutex_init(&p->mu, NULL) != 0) {
		free(p->idle);
		free(p);
		return NULL;
	}
	p->keep = keep;
	return p;
}

/**
 * http_pool_do(p, req, ret_resp, err):
 * http_client_do() with an idle client of ${p} (a new one if none is
 * idle), which goes back to the pool afterwards.  ${p} NULL: http_do().
 */
int
http_pool_do(struct http_pool *p, const struct http_req *req,
    struct http_resp *ret_resp, struct ag_err *err)
{
	struct http_client *c = NULL;
	int rc;

	if (p == NULL)
		return http_do(req, ret_resp, err);
	pthread_mutex_lock(&p->mu);
	if (p->n > 0)
		c = p->idle[--p->n];
	pthread_mutex_unlock(&p->mu);
	if (c == NULL && (c = http_client_new()) == NULL) {
		memset(ret_resp, 0, sizeof(*ret_resp));
		return ag_err_set(err, "cannot initialise the HTTP client");
	}
	rc = http_client_do(c, req, ret_resp, err);
	pthread_mutex_lock(&p->mu);
	if (p->n < p->keep) {
		p->idle[p->n++] = c;
		c = NULL;
	}
	pthread_mutex_unlock(&p->mu);
	http_client_free(c);
	return rc;
}

/* http_pool_free(p): free ${p} and its clients; NULL is a no-op. */
void
http_pool_free(struct http_pool *p)
{

	if (p == NULL)
		return;
	while (p->n > 0)
		http_client_free(p->idle[--p->n]);
	pthread_mutex_destroy(&p->mu);
	free(p->idle);
	free(p);
}

/*
 * The outcome of transfer ${x}, which curl ended with ${rc}: 0, AG_RETRY or
 * -1 with ${err} set, as http_client_do() returns it.  Releases ${x}.
 */
static int
xfer_end(struct xfer *x, CURLcode rc, struct ag_err *err)
{
	char detail[AG_ERR_SIZE];
	int ret;

	(void)curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE,
	    &x->resp->status);
	if (rc == CURLE_OK ||
	    (rc == CURLE_WRITE_ERROR && x->resp->truncated && !x->oom)) {
		ret = 0;
	} else if (x->oom) {
		ret = ag_err_set(err, "%s %s: out of memory", x->method,
		    x->where);
	} else if (rc == CURLE_WRITE_ERROR && x->sink_rc != 0) {
		ret = x->sink_rc == AG_RETRY ? AG_RETRY : -1;
		ag_err_set(err, "%s %s: receiving the body failed", x->method,
		    x->where);
	} else if (rc == CURLE_ABORTED_BY_CALLBACK) {
		ret = ag_err_set(err, "%s %s: cancelled", x->method, x->where);
	} else if (x->req->smtp != NULL && x->resp->status >= 400 &&
	    x->resp->status <= 599) {
		/* Turned down by the server: an answer, for the caller. */
		ret = 0;
	} else {
		snprintf(detail, sizeof(detail), "%s",
		    x->errbuf[0] != '\0' ? x->errbuf : curl_easy_strerror(rc));
		scrub(detail, sizeof(detail), x->req->url);
		ag_err_set(err, "%s %s: %s", x->method, x->where, detail);
		ret = curl_code_transient(rc) ? AG_RETRY : -1;
	}
	xfer_release(x);
	return ret;
}

int
http_client_do(struct http_client *c, const struct http_req *req,
    struct http_resp *ret_resp, struct ag_err *err)
{
	struct xfer x;

	if (xfer_begin(&x, c->h, req, ret_resp, err) != 0)
		return -1;
	return xfer_end(&x, curl_easy_perform(c->h), err);
}

int
http_do(const struct http_req *req, struct http_resp *ret_resp,
    struct ag_err *err)
{
	struct http_client *c;
	int rc;

	if ((c = http_client_new()) == NULL) {
		memset(ret_resp, 0, sizeof(*ret_resp));
		return ag_err_set(err, "cannot initialise the HTTP client");
	}
	rc = http_client_do(c, req, ret_resp, err);
	http_client_free(c);
	return rc;
}

/*
 * The multi interface.  Each transfer has its own easy handle (made by
 * http_multi_add(), cleaned up when it is reported or removed); the multi
 * handle keeps the connection cache, so consecutive requests to one
 * receiver still reuse their connection.
 */
struct http_multi *
http_multi_new(void)
{
	struct http_multi *m;

	if (http_global_init() != 0)
		return NULL;
	if ((m = calloc(1, sizeof(*m))) == NULL)
		return NULL;
	if ((m->m = curl_multi_init()) == NULL) {
		free(m);
		return NULL;
	}
	return m;
}

/* Unlink ${mx} from ${m}, take it off the multi handle and free it. */
static void
mxfer_free(struct http_multi *m, struct mxfer *mx)
{
	struct mxfer **pp;

	for (pp = &m->xfers; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == mx) {
			*pp = mx->next;
			break;
		}
	}
	(void)curl_multi_remove_handle(m->m, mx->x.h);
	if (mx->x.hdrs != NULL)
		xfer_release(&mx->x);
	curl_easy_cleanup(mx->x.h);
	http_resp_free(&mx->resp);
	free(mx);
}

int
http_multi_add(struct http_multi *m, const struct http_req *req, void *cookie,
    struct ag_err *err)
{
	struct mxfer *mx;
	CURL *h;

	if ((mx = calloc(1, sizeof(*mx))) == NULL)
		return ag_err_set(err, "out of memory");
	if ((h = curl_easy_init()) == NULL) {
		free(mx);
		return ag_err_set(err, "cannot make a curl handle");
	}
	mx->req = *req;
	mx->cookie = cookie;
	if (xfer_begin(&mx->x, h, &mx->req, &mx->resp, err) != 0) {
		curl_easy_cleanup(h);
		free(mx);
		return -1;
	}
	(void)curl_easy_setopt(h, CURLOPT_PRIVATE, mx);
	if (curl_multi_add_handle(m->m, h) != CURLM_OK) {
		(void)ag_err_set(err, "%s %s: cannot start the transfer",
		    mx->x.method, mx->x.where);
		xfer_release(&mx->x);
		curl_easy_cleanup(h);
		free(mx);
		return -1;
	}
	mx->next = m->xfers;
	m->xfers = mx;
	return 0;
}

int
http_multi_poll(struct http_multi *m, int timeout_ms)
{
	return curl_multi_poll(m->m, NULL, 0, timeout_ms < 0 ? 0 : timeout_ms,
		   NULL) == CURLM_OK ?
	    0 :
	    -1;
}

int
http_multi_perform(struct http_multi *m)
{
	int running = 0;

	if (curl_multi_perform(m->m, &running) != CURLM_OK)
		return -1;
	return running;
}

int
http_multi_done(struct http_multi *m, void **ret_cookie,
    struct http_resp *ret_resp, int *ret_rc, struct ag_err *err)
{
	struct mxfer *mx = NULL;
	CURLMsg *msg;
	int left;

	while ((msg = curl_multi_info_read(m->m, &left)) != NULL) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		if (curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE,
			(char **)&mx) != CURLE_OK ||
		    mx == NULL)
			continue;
		*ret_rc = xfer_end(&mx->x, msg->data.result, err);
		*ret_cookie = mx->cookie;
		/* The response moves to the caller. */
		*ret_resp = mx->resp;
		memset(&mx->resp, 0, sizeof(mx->resp));
		mxfer_free(m, mx);
		return 1;
	}
	return 0;
}

void
http_multi_remove(struct http_multi *m, void *cookie)
{
	for (struct mxfer *mx = m->xfers; mx != NULL; mx = mx->next) {
		if (mx->cookie == cookie) {
			mxfer_free(m, mx);
			return;
		}
	}
}

void
http_multi_wakeup(struct http_multi *m)
{
	(void)curl_multi_wakeup(m->m);
}

void
http_multi_free(struct http_multi *m)
{
	if (m == NULL)
		return;
	while (m->xfers != NULL)
		mxfer_free(m, m->xfers);
	curl_multi_cleanup(m->m);
	free(m);
}
