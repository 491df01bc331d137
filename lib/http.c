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
 * http and https are allowed, without redirects.
 */
#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "paths.h"
#include "lib/http.h"

struct http_client {
	CURL *h;
};

/* The state of one transfer, shared with the curl callbacks. */
struct xfer {
	const struct http_req *req;
	struct http_resp *resp;
	CURL *h;
	size_t max;			/* body cap */
	size_t bufcap;			/* allocated size of resp->body */
	size_t hdr_bytes;		/* header bytes kept so far */
	int sink_rc;			/* the sink's abort verdict */
	bool oom;
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
	take = x->max - r->body_len;
	if (take > len)
		take = len;
	if (r->body_len + take + 1 > x->bufcap) {
		size_t ncap = x->bufcap == 0 ? 4096 : x->bufcap * 2;
		char *nb;

		if (ncap < r->body_len + take + 1)
			ncap = r->body_len + take + 1;
		if (ncap > x->max + 1)
			ncap = x->max + 1;
		if ((nb = realloc(r->body, ncap)) == NULL) {
			x->oom = true;
			return 0;
		}
		r->body = nb;
		x->bufcap = ncap;
	}
	memcpy(r->body + r->body_len, ptr, take);
	r->body_len += take;
	r->body[r->body_len] = '\0';
	if (take < len) {
		/* Over the cap: stop reading, keep what we have. */
		r->truncated = true;
		return 0;
	}
	return len;
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
			snprintf(hit, size - (size_t)(hit - msg), "[redacted]");
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
static CURLcode
set_options(CURL *h, const struct http_req *req, const char *method,
    struct curl_slist *hdrs, struct xfer *x, char *errbuf)
{
	CURLcode rc = CURLE_OK;
	long cto = req->connect_timeout_ms > 0 ? req->connect_timeout_ms :
	    HTTP_CONNECT_TIMEOUT_DEFAULT_MS;
	long to = req->timeout_ms > 0 ? req->timeout_ms :
	    HTTP_TIMEOUT_DEFAULT_MS;
	bool body = req->body != NULL || req->body_len > 0 ||
	    strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0 ||
	    strcmp(method, "PATCH") == 0;

#define SET(opt, val) do {						\
	if (rc == CURLE_OK)						\
		rc = curl_easy_setopt(h, opt, val);			\
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
	if (req->insecure) {
		SET(CURLOPT_SSL_VERIFYPEER, 0L);
		SET(CURLOPT_SSL_VERIFYHOST, 0L);
	} else {
		SET(CURLOPT_SSL_VERIFYPEER, 1L);
		SET(CURLOPT_SSL_VERIFYHOST, 2L);
	}
	if (req->ca_file != NULL)
		SET(CURLOPT_CAINFO, req->ca_file);
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

int
http_client_do(struct http_client *c, const struct http_req *req,
    struct http_resp *ret_resp, struct ag_err *err)
{
	char errbuf[CURL_ERROR_SIZE];
	char where[300], detail[AG_ERR_SIZE];
	struct curl_slist *hdrs = NULL;
	struct xfer x;
	const char *method;
	CURLcode rc;
	int ret;

	memset(ret_resp, 0, sizeof(*ret_resp));
	if (req->url == NULL)
		return ag_err_set(err, "no URL");
	method = req->method != NULL ? req->method :
	    (req->body != NULL ? "POST" : "GET");
	http_url_redact(req->url, where, sizeof(where));
	if (!valid_method(method))
		return ag_err_set(err, "%s: invalid method", where);
	if (build_headers(req, &hdrs, err) != 0)
		return -1;

	memset(&x, 0, sizeof(x));
	x.req = req;
	x.resp = ret_resp;
	x.h = c->h;
	x.max = req->max_response > 0 ? req->max_response :
	    HTTP_MAX_RESPONSE_DEFAULT;
	errbuf[0] = '\0';

	curl_easy_reset(c->h);
	rc = set_options(c->h, req, method, hdrs, &x, errbuf);
	if (rc != CURLE_OK) {
		ret = ag_err_set(err, "%s %s: %s", method, where,
		    curl_easy_strerror(rc));
		goto done;
	}
	rc = curl_easy_perform(c->h);
	(void)curl_easy_getinfo(c->h, CURLINFO_RESPONSE_CODE,
	    &ret_resp->status);
	if (rc == CURLE_OK || (rc == CURLE_WRITE_ERROR &&
	    ret_resp->truncated && !x.oom)) {
		ret = 0;
	} else if (x.oom) {
		ret = ag_err_set(err, "%s %s: out of memory", method, where);
	} else if (rc == CURLE_WRITE_ERROR && x.sink_rc != 0) {
		ret = x.sink_rc == AG_RETRY ? AG_RETRY : -1;
		ag_err_set(err, "%s %s: receiving the body failed", method,
		    where);
	} else {
		snprintf(detail, sizeof(detail), "%s",
		    errbuf[0] != '\0' ? errbuf : curl_easy_strerror(rc));
		scrub(detail, sizeof(detail), req->url);
		ag_err_set(err, "%s %s: %s", method, where, detail);
		ret = curl_code_transient(rc) ? AG_RETRY : -1;
	}
done:
	/* The handle must not keep pointers into this call's memory. */
	(void)curl_easy_setopt(c->h, CURLOPT_HTTPHEADER, NULL);
	(void)curl_easy_setopt(c->h, CURLOPT_ERRORBUFFER, NULL);
	curl_slist_free_all(hdrs);
	return ret;
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
