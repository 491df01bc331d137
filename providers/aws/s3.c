/*
 * s3.c: the S3 storage backend ("type = s3"), for AWS S3 and the stores
 * that speak its API (Aliyun OSS, MinIO, Ceph RGW, Cloudflare R2):
 *
 *	storage = { offsite = { type = "s3"; bucket = "backups";
 *	    region = "eu-west-1"; prefix = "hosts/web1";
 *	    endpoint = "http://127.0.0.1:9000"; path_style = true; }; };
 *
 * Settings: bucket (required), region ("us-east-1"), endpoint (default
 * https://s3.<region>.amazonaws.com; scheme and host[:port] only),
 * path_style (default: true with a custom endpoint, false without),
 * prefix (a folder in the bucket under which every key lives),
 * credentials = "NAME" (a group of the top-level credentials section,
 * conf/conf_creds.h; its region is the default region) or access_key_id
 * with secret_access_key / _file / _env (inline only in a configuration
 * file private to its owner, conf_get_secret()); without them the AWS
 * credential chain (lib/cloud/aws/aws_creds.h: environment,
 * shared files, web identity, container endpoint, IMDSv2).  sse ("AES256" or "aws:kms"), kms_key_id,
 * storage_class, tls_verify (default true) and ca_file are optional.
 *
 * S3 Object Lock: with lock_days > 0 (the bucket must have Object Lock
 * enabled), every object is written with x-amz-object-lock-mode (lock_mode,
 * "COMPLIANCE" by default, or "GOVERNANCE") and a retain-until date
 * lock_days from the request, and every request with a body carries its
 * Content-MD5, which S3 requires then.  retention() reads an object's date
 * with a HEAD (S3 shows it to a caller allowed s3:GetObjectRetention), and
 * remove_many() deletes every version (ListObjectVersions, then
 * DeleteObjects with version ids): in a versioned bucket a delete without
 * one only hides the object behind a delete marker.  Nothing is ever sent
 * to bypass a lock.
 *
 * Every request is signed with SigV4 (lib/cloud/aws/sigv4.h), its body's
 * SHA-256 in x-amz-content-sha256, so S3 checks each part it stores.  A
 * whole object is one PutObject (put op); a stream is
 * CreateMultipartUpload, UploadPart per part, several at once from the
 * caller's threads on a pool of kept connections (STORAGE_CAP_PARALLEL,
 * each part's ETag in its own slot), and CompleteMultipartUpload, whose
 * 200 answer may still carry an <Error> (s3_xml.h).  A failed commit
 * aborts the multipart upload; leftovers of a crashed run are listed
 * (ListMultipartUploads) and aborted through STORAGE_LIST_INCOMPLETE.
 * Part sizes are the caller's (backup/st_upload.c grows them as the
 * upload goes); S3 wants every part but the last at least 5 MiB, at most
 * 5 GiB and at most 10,000 parts.
 *
 * Outcomes: transport failures, 408, 429, 5xx and S3's transient codes
 * are AG_RETRY, for the caller's one backoff policy, as is an expired session
 * token of credentials the chain renews; other answers are -1
 * with S3's code and message and what to fix.  The secret and the session
 * token are registered with log_secret_add() (aws_creds.c) and never put
 * in a message.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "conf/conf.h"
#include "conf/conf_creds.h"
#include "lib/ag.h"
#include "lib/buf.h"
#include "lib/clock.h"
#include "lib/crypto/crypto.h"
#include "lib/cloud/aws/aws_creds.h"
#include "lib/cloud/cloud_xml.h"
#include "lib/cloud/aws/sigv4.h"
#include "lib/http/http.h"
#include "providers/aws/s3_xml.h"
#include "providers/storage_backend.h"

#define S3_PART_MIN ((size_t)5 << 20) /* S3's smallest part */
#define S3_PART_MAX ((size_t)5 << 30) /* and its largest */
#define S3_MAX_PARTS 10000u
#define S3_MAX_HDRS 8 /* a call's own headers */
#define S3_URL_MAX (16 * 1024)
#define S3_LIST_PAGES 100000 /* x 1,000 keys at most */
#define S3_DELETE_MAX 1000   /* keys in one DeleteObjects */
#define EMPTY_SHA256 \
	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

struct s3_conf {
	char *bucket;
	char *region;
	char *endpoint; /* NULL: AWS's */
	char *prefix;	/* "" or "folder/" */
	bool path_style;
	struct conf_aws aws; /* credentials; conf_aws_free() */
	char *sse;
	char *kms_key_id;
	char *storage_class;
	bool tls_verify;
	char *ca_file;
	unsigned lock_days; /* 0: no Object Lock */
	const char *lock_mode;
};

struct s3 {
	char inst[96];		 /* "s3[name]" for messages */
	const struct s3_conf *c; /* copied fields below */
	char *bucket;
	char *region;
	char *prefix;
	char *base; /* "https://host[:port]" to send to */
	char *host; /* its Host header */
	bool path_style;
	struct aws_creds *creds; /* the credential chain */
	char *hdr_sse[3];	 /* "Name: value" for new objects */
	bool insecure;
	char *ca_file;
	struct http_pool *pool; /* idle connections */
	unsigned lock_days;
	const char *lock_mode; /* static: lock_modes[] */
};

/* A multipart upload; parts may arrive from several threads at once. */
struct s3_up {
	struct s3 *s;
	char *key; /* with the prefix */
	char *upload_id;
	char **etags; /* [part index], each set by its part's sender */
};

/* One request: what s3_do() signs and sends. */
struct s3_call {
	const char *method;
	const char *key;   /* with the prefix; NULL: the bucket */
	const char *query; /* encoded, or NULL */
	const char *hdrs[S3_MAX_HDRS + 1]; /* "Name: value", signed */
	const void *body;
	size_t len;
	bool md5;	  /* send the body's Content-MD5 */
	char lock[2][80]; /* Object Lock headers, by new_object_call() */
	http_sink_fn *sink;
	void *cookie;
};

/* One object (version) to delete: a whole key, a version id or NULL. */
struct s3_del {
	const char *key;
	const char *vid;
};

static const char *const s3_settings[] = { "bucket", "region", "endpoint",
	"path_style", "prefix", CONF_AWS_KEYS, "sse", "kms_key_id",
	"storage_class", "tls_verify", "ca_file", "lock_days", "lock_mode",
	NULL };

static const char *const sse_modes[] = { "AES256", "aws:kms", NULL };
static const char *const lock_modes[] = { "COMPLIANCE", "GOVERNANCE", NULL };

/* S3's longest retention: 100 years. */
#define S3_LOCK_DAYS_MAX 36500

static void
s3_conf_free(void *tconf)
{
	struct s3_conf *sc = tconf;

	if (sc == NULL)
		return;
	free(sc->bucket);
	free(sc->region);
	free(sc->endpoint);
	free(sc->prefix);
	conf_aws_free(&sc->aws);
	free(sc->sse);
	free(sc->kms_key_id);
	free(sc->storage_class);
	free(sc->ca_file);
	free(sc);
}

/* dup_opt(group, errs, name, ret): an optional string setting, copied. */
static int
dup_opt(const conf_node *group, struct conf_errs *errs, const char *name,
    bool required, char **ret)
{
	const char *v = NULL;
	int rc;

	if ((rc = conf_get_str(errs, group, name, required, &v)) != 1)
		return (rc);
	if ((*ret = strdup(v)) == NULL)
		return (conf_error(errs, group, "out of memory"));
	return (1);
}

static int
s3_conf_parse(const conf_node *group, const char *name, void **ret_tconf,
    struct conf_errs *errs)
{
	struct s3_conf *sc;
	const char *pfx = NULL;
	int bad = 0, ix;

	(void)name;
	if ((sc = calloc(1, sizeof(*sc))) == NULL)
		return (conf_error(errs, group, "out of memory"));
	sc->tls_verify = true;
	if (dup_opt(group, errs, "bucket", true, &sc->bucket) != 1)
		bad = -1;
	if (dup_opt(group, errs, "region", false, &sc->region) == -1 ||
	    dup_opt(group, errs, "endpoint", false, &sc->endpoint) == -1 ||
	    dup_opt(group, errs, "kms_key_id", false, &sc->kms_key_id) == -1 ||
	    dup_opt(group, errs, "storage_class", false, &sc->storage_class) ==
		-1 ||
	    dup_opt(group, errs, "ca_file", false, &sc->ca_file) == -1)
		bad = -1;
	if (conf_aws_read(errs, group, &sc->aws) != 0)
		bad = -1;
	/* The bucket's region, else its credentials', else us-east-1. */
	if (sc->region == NULL &&
	    (sc->region = strdup(sc->aws.region != NULL ? sc->aws.region :
							  "us-east-1")) ==
		NULL)
		bad = conf_error(errs, group, "out of memory");
	if (sc->endpoint != NULL) {
		size_t n = strlen(sc->endpoint);

		while (n > 0 && sc->endpoint[n - 1] == '/')
			sc->endpoint[--n] = '\0';
		if (!http_endpoint_valid(sc->endpoint))
			bad = conf_error_at(errs, group, "endpoint",
			    "must be "
			    "http://host[:port] or https://host[:port]");
	}
	sc->path_style = sc->endpoint != NULL;
	if (conf_get_bool(errs, group, "path_style", false, &sc->path_style) ==
		-1 ||
	    conf_get_bool(errs, group, "tls_verify", false, &sc->tls_verify) ==
		-1)
		bad = -1;
	if (conf_get_str(errs, group, "prefix", false, &pfx) == -1)
		bad = -1;
	else if (pfx != NULL && pfx[0] != '\0') {
		char *p;
		size_t n = strlen(pfx);

		if (asprintf(&p, "%.*s", (int)(pfx[n - 1] == '/' ? n - 1 : n),
			pfx) < 0)
			bad = conf_error(errs, group, "out of memory");
		else if (!storage_key_valid(p)) {
			bad = conf_error_at(errs, group, "prefix",
			    "must be a "
			    "folder such as \"hosts/web1\" (no leading '/', "
			    "no \".\" or \"..\")");
			free(p);
		} else {
			free(p);
			if (asprintf(&sc->prefix, "%.*s/",
				(int)(pfx[n - 1] == '/' ? n - 1 : n),
				pfx) < 0) {
				sc->prefix = NULL;
				bad = conf_error(errs, group, "out of memory");
			}
		}
	}
	switch (conf_get_enum(errs, group, "sse", false, sse_modes, &ix)) {
	case 1:
		if ((sc->sse = strdup(sse_modes[ix])) == NULL)
			bad = conf_error(errs, group, "out of memory");
		break;
	case -1:
		bad = -1;
		break;
	}
	{
		int64_t days = 0;

		if (conf_get_int(errs, group, "lock_days", false, 0,
			S3_LOCK_DAYS_MAX, &days) == -1)
			bad = -1;
		sc->lock_days = (unsigned)days;
	}
	sc->lock_mode = lock_modes[0];
	switch (conf_get_enum(errs, group, "lock_mode", false, lock_modes,
	    &ix)) {
	case 1:
		sc->lock_mode = lock_modes[ix];
		if (sc->lock_days == 0)
			bad = conf_error_at(errs, group, "lock_mode",
			    "needs lock_days (the days each object stays "
			    "locked)");
		break;
	case -1:
		bad = -1;
		break;
	}
	if (sc->kms_key_id != NULL &&
	    (sc->sse == NULL || strcmp(sc->sse, "aws:kms") != 0))
		bad = conf_error_at(errs, group, "kms_key_id",
		    "needs sse = "
		    "\"aws:kms\"");
	if (bad != 0) {
		s3_conf_free(sc);
		return (-1);
	}
	*ret_tconf = sc;
	return (0);
}

static void
s3_close(void *ctx)
{
	struct s3 *s = ctx;

	if (s == NULL)
		return;
	aws_creds_free(s->creds);
	free(s->bucket);
	free(s->region);
	free(s->prefix);
	free(s->base);
	free(s->host);
	for (size_t i = 0; i < 3; i++)
		free(s->hdr_sse[i]);
	free(s->ca_file);
	http_pool_free(s->pool);
	free(s);
}

/* header(ret, name, value): "name: value" in ${ret} (NULL on failure). */
static int
header(char **ret, const char *name, const char *value)
{

	if (asprintf(ret, "%s: %s", name, value) < 0) {
		*ret = NULL;
		return (-1);
	}
	return (0);
}

static int
s3_open(void **ret_ctx, const struct storage_conf *conf, struct ag_err *err)
{
	const struct s3_conf *sc = conf->tconf;
	struct aws_creds_conf cc = { .access_key_id = sc->aws.access_key_id,
		.secret_access_key = sc->aws.secret_access_key,
		.profile = sc->aws.profile };
	struct aws_cred cr;
	const char *hp;
	struct s3 *s;
	size_t nh = 0;
	int n;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return (ag_err_set(err, "s3[%s]: out of memory", conf->name));
	snprintf(s->inst, sizeof(s->inst), "s3[%s]", conf->name);
	s->path_style = sc->path_style;
	s->insecure = !sc->tls_verify;
	s->lock_days = sc->lock_days;
	s->lock_mode = sc->lock_mode;
	if (sc->endpoint != NULL)
		n = asprintf(&s->base, "%s", sc->endpoint);
	else
		n = asprintf(&s->base, "https://s3.%s.amazonaws.com",
		    sc->region);
	if (n < 0) {
		s->base = NULL;
		goto oom;
	}
	hp = strstr(s->base, "://") + 3;
	if (!s->path_style) {
		/* Virtual-hosted: the bucket is the first label. */
		char *b;

		if (asprintf(&b, "%.*s%s.%s", (int)(hp - s->base), s->base,
			sc->bucket, hp) < 0)
			goto oom;
		free(s->base);
		s->base = b;
		hp = strstr(s->base, "://") + 3;
	}
	if ((s->host = strdup(hp)) == NULL ||
	    (s->creds = aws_creds_new(&cc)) == NULL ||
	    (s->bucket = strdup(sc->bucket)) == NULL ||
	    (s->region = strdup(sc->region)) == NULL ||
	    (s->prefix = strdup(sc->prefix != NULL ? sc->prefix : "")) ==
		NULL ||
	    (sc->ca_file != NULL &&
		(s->ca_file = strdup(sc->ca_file)) == NULL) ||
	    (s->pool = http_pool_new(STORAGE_PARALLEL_MAX)) == NULL)
		goto oom;
	if ((sc->sse != NULL &&
		header(&s->hdr_sse[nh++], "x-amz-server-side-encryption",
		    sc->sse) != 0) ||
	    (sc->kms_key_id != NULL &&
		header(&s->hdr_sse[nh++],
		    "x-amz-server-side-encryption-aws-kms-key-id",
		    sc->kms_key_id) != 0) ||
	    (sc->storage_class != NULL &&
		header(&s->hdr_sse[nh++], "x-amz-storage-class",
		    sc->storage_class) != 0))
		goto oom;
	/* Find credentials now, so that a target without any fails here. */
	if ((n = aws_creds_get(s->creds, time(NULL), &cr, err)) != 0) {
		struct ag_err e = *err;

		s3_close(s);
		(void)ag_err_set(err, "s3[%s]: %s", conf->name, e.msg);
		return (n);
	}
	aws_cred_clear(&cr);
	*ret_ctx = s;
	return (0);
oom:
	s3_close(s);
	return (ag_err_set(err, "s3[%s]: out of memory", conf->name));
}

/*
 * s3_do(s, call, resp, err): sign and send ${call} (on an idle connection
 * of the pool) and store the answer in ${resp}, which the caller frees.  Return 0 when an answer came (any status), AG_RETRY
 * or -1 for a transport failure, with ${err} set.
 */
static int
s3_do(struct s3 *s, const struct s3_call *call, struct http_resp *resp,
    struct ag_err *err)
{
	struct sigv4_header sh[S3_MAX_HDRS + 2];
	const char *hdrs[S3_MAX_HDRS + SIGV4_MAX_EXTRA + 3];
	struct sigv4_creds cr;
	struct aws_cred ac;
	struct sigv4_params p = { .region = s->region,
		.service = "s3",
		.when = time(NULL),
		.content_sha256 = 1 };
	struct sigv4_request rq;
	struct sigv4_out out;
	struct ag_err e;
	struct buf path, url;
	char hash[65], names[S3_MAX_HDRS][64], *host = NULL;
	char md5h[64];
	size_t nh = 0, nx = 0;
	int rc = -1;

	memset(resp, 0, sizeof(*resp));
	if ((rc = aws_creds_get(s->creds, p.when, &ac, &e)) != 0) {
		(void)ag_err_set(err, "%s: %s", s->inst, e.msg);
		return (rc);
	}
	cr = (struct sigv4_creds){ ac.access_key_id, ac.secret_access_key,
		ac.session_token };
	rc = -1;
	buf_init(&path, S3_URL_MAX);
	buf_init(&url, S3_URL_MAX);
	buf_puts(&path, "/");
	if (s->path_style) {
		buf_puts(&path, s->bucket);
		if (call->key != NULL)
			buf_puts(&path, "/");
	}
	if (call->key != NULL)
		buf_puts(&path, call->key);
	buf_puts(&url, s->base);
	if (path.err == 0)
		sigv4_uri_encode(&url, path.p, path.len, 1);
	if (call->query != NULL) {
		buf_puts(&url, "?");
		buf_puts(&url, call->query);
	}
	if (path.err != 0 || url.err != 0) {
		(void)ag_err_set(err, "%s: %s %s: key too long", s->inst,
		    call->method, call->key != NULL ? call->key : "");
		goto out;
	}
	if (call->len > 0) {
		if (sigv4_payload_hash(call->body, call->len, hash) != 0)
			goto oom;
	} else
		memcpy(hash, EMPTY_SHA256, sizeof(hash));

	sh[nh++] = (struct sigv4_header){ "Host", s->host };
	if (header(&host, "Host", s->host) != 0)
		goto oom;
	hdrs[nx++] = host;
	for (size_t i = 0; call->hdrs[i] != NULL; i++) {
		const char *c = strchr(call->hdrs[i], ':');
		size_t n = c != NULL ? (size_t)(c - call->hdrs[i]) : 0;

		if (n == 0 || n >= sizeof(names[0]) || nh > S3_MAX_HDRS) {
			(void)ag_err_set(err, "%s: bad request header",
			    s->inst);
			goto out;
		}
		memcpy(names[nh - 1], call->hdrs[i], n);
		names[nh - 1][n] = '\0';
		for (c++; *c == ' '; c++)
			;
		sh[nh] = (struct sigv4_header){ names[nh - 1], c };
		nh++;
		hdrs[nx++] = call->hdrs[i];
	}
	/* With Object Lock, S3 wants it on everything that uploads. */
	if (call->md5 || (s->lock_days > 0 && call->body != NULL)) {
		uint8_t d[CRYPTO_MD5_LEN];

		memcpy(md5h, "Content-MD5: ", 13);
		if (crypto_md5(call->body != NULL ? call->body : "", call->len,
			d) != 0 ||
		    crypto_base64(d, sizeof(d), md5h + 13, sizeof(md5h) - 13) <
			0)
			goto oom;
		sh[nh++] = (struct sigv4_header){ "Content-MD5", md5h + 13 };
		hdrs[nx++] = md5h;
	}
	rq = (struct sigv4_request){ .method = call->method,
		.path = path.p,
		.query = call->query,
		.headers = sh,
		.nheaders = nh,
		.payload_hash = hash };
	if (sigv4_sign_headers(&rq, &cr, &p, &out) != 0) {
		sigv4_out_free(&out);
		goto oom;
	}
	for (size_t i = 0; out.extra[i] != NULL; i++)
		hdrs[nx++] = out.extra[i];
	hdrs[nx] = NULL;
	{
		struct http_req req = { .method = call->method,
			.url = url.p,
			.headers = hdrs,
			.body = call->body,
			.body_len = call->len,
			.insecure = s->insecure,
			.ca_file = s->ca_file,
			.sink = call->sink,
			.sink_cookie = call->cookie };

		rc = http_pool_do(s->pool, &req, resp, &e);
	}
	sigv4_out_free(&out);
	if (rc != 0)
		(void)ag_err_set(err, "%s: %s", s->inst, e.msg);
	goto out;
oom:
	rc = ag_err_set(err, "%s: out of memory", s->inst);
out:
	aws_cred_clear(&ac);
	free(host);
	buf_free(&path);
	buf_free(&url);
	return (rc);
}

/*
 * s3_fail(s, what, key, resp, err): s3_error() of the answer ${resp}, but
 * an expired session token (ExpiredToken, TokenRefreshRequired) of
 * credentials the chain can renew is AG_RETRY: the next request signs
 * with new ones (aws_creds_refused()).
 */
static int
s3_fail(struct s3 *s, const char *what, const char *key,
    const struct http_resp *resp, struct ag_err *err)
{
	char code[64], msg[8];
	int rc;

	rc = s3_error(s->inst, what, key, resp->status, resp->body,
	    resp->body_len, err);
	if (rc == -1 &&
	    s3_xml_error(resp->body, resp->body_len, code, sizeof(code), msg,
		sizeof(msg)) &&
	    (strcmp(code, "ExpiredToken") == 0 ||
		strcmp(code, "TokenRefreshRequired") == 0) &&
	    aws_creds_refused(s->creds))
		rc = AG_RETRY;
	return (rc);
}

/*
 * s3_call(s, call, what, key, resp, err): s3_do(), then an answer
 * other than 2xx made into an error (s3_error()).  Return 0 with ${resp}
 * to read, or AG_RETRY / -1 with ${err} set and ${resp} freed.
 */
static int
s3_call(struct s3 *s, const struct s3_call *call, const char *what,
    const char *key, struct http_resp *resp, struct ag_err *err)
{
	int rc;

	if ((rc = s3_do(s, call, resp, err)) != 0) {
		http_resp_free(resp);
		return (rc);
	}
	if (resp->status >= 200 && resp->status < 300)
		return (0);
	rc = s3_fail(s, what, key, resp, err);
	http_resp_free(resp);
	return (rc);
}

/* full_key(s, key): the prefix and ${key}, malloc'd, or NULL. */
static char *
full_key(const struct s3 *s, const char *key)
{
	char *k;

	if (asprintf(&k, "%s%s", s->prefix, key) < 0)
		return (NULL);
	return (k);
}

/* qenc(b, s): append ${s} encoded for a query value. */
static void
qenc(struct buf *b, const char *s)
{

	sigv4_uri_encode(b, s, strlen(s), 0);
}

/*
 * new_object_call(s, call): the encryption and class headers; with Object
 * Lock, its mode and the retain-until date lock_days from now.
 */
static void
new_object_call(const struct s3 *s, struct s3_call *call)
{
	size_t n = 0;

	while (call->hdrs[n] != NULL)
		n++;
	for (size_t i = 0; i < 3 && s->hdr_sse[i] != NULL; i++)
		call->hdrs[n++] = s->hdr_sse[i];
	if (s->lock_days > 0) {
		time_t until = time(NULL) + (time_t)s->lock_days * 86400;
		struct tm tm;

		snprintf(call->lock[0], sizeof(call->lock[0]),
		    "x-amz-object-lock-mode: %s", s->lock_mode);
		(void)gmtime_r(&until, &tm);
		strftime(call->lock[1], sizeof(call->lock[1]),
		    "x-amz-object-lock-retain-until-date: %Y-%m-%dT%H:%M:%SZ",
		    &tm);
		call->hdrs[n++] = call->lock[0];
		call->hdrs[n++] = call->lock[1];
		call->md5 = true;
	}
	call->hdrs[n] = NULL;
}

/* s3_put(ctx, key, buf, len, err): PutObject, the whole object at once. */
static int
s3_put(void *ctx, const char *key, const uint8_t *buf, size_t len,
    struct ag_err *err)
{
	struct s3 *s = ctx;
	struct s3_call call = { .method = "PUT", .body = buf, .len = len };
	struct http_resp resp;
	char *k;
	int rc;

	if ((k = full_key(s, key)) == NULL)
		return (ag_err_set(err, "%s: out of memory", s->inst));
	call.key = k;
	new_object_call(s, &call);
	if ((rc = s3_call(s, &call, "put", k, &resp, err)) == 0)
		http_resp_free(&resp);
	free(k);
	return (rc);
}

/* up_free(up): free the handle (the upload is done or aborted). */
static void
up_free(struct s3_up *up)
{

	if (up->etags != NULL)
		for (unsigned i = 0; i < S3_MAX_PARTS; i++)
			free(up->etags[i]);
	free(up->etags);
	free(up->upload_id);
	free(up->key);
	free(up);
}

/* s3_put_begin(): CreateMultipartUpload. */
static int
s3_put_begin(void *ctx, const char *key, void **ret_up, struct ag_err *err)
{
	struct s3 *s = ctx;
	struct s3_call call = { .method = "POST", .query = "uploads" };
	struct http_resp resp;
	struct s3_up *up;
	int rc;

	if ((up = calloc(1, sizeof(*up))) == NULL ||
	    (up->key = full_key(s, key)) == NULL ||
	    (up->etags = calloc(S3_MAX_PARTS, sizeof(*up->etags))) == NULL) {
		if (up != NULL)
			free(up->key);
		free(up);
		return (ag_err_set(err, "%s: out of memory", s->inst));
	}
	up->s = s;
	call.key = up->key;
	new_object_call(s, &call);
	if ((rc = s3_call(s, &call, "start upload", up->key, &resp, err)) !=
	    0) {
		up_free(up);
		return (rc);
	}
	up->upload_id = cloud_xml_text(resp.body, resp.body_len, "UploadId");
	http_resp_free(&resp);
	if (up->upload_id == NULL || up->upload_id[0] == '\0') {
		rc = ag_err_set(err,
		    "%s: start upload %s: no UploadId in the answer", s->inst,
		    up->key);
		up_free(up);
		return (rc);
	}
	*ret_up = up;
	return (0);
}

/*
 * s3_put_part(): UploadPart of part ${idx} + 1, its SHA-256 signed (S3
 * checks it).  Parts of one upload go in parallel: each writes only its
 * own ETag slot.
 */
static int
s3_put_part(void *upp, uint64_t idx, const uint8_t *buf, size_t len,
    struct ag_err *err)
{
	struct s3_up *up = upp;
	struct s3 *s = up->s;
	struct s3_call call = { .method = "PUT",
		.key = up->key,
		.body = buf,
		.len = len };
	struct http_resp resp;
	struct buf q;
	const char *etag;
	char *dup;
	int rc;

	if (idx >= S3_MAX_PARTS)
		return (ag_err_set(err, "%s: put %s: more than %u parts",
		    s->inst, up->key, S3_MAX_PARTS));
	buf_init(&q, S3_URL_MAX);
	if (buf_reserve(&q, 32) == 0) {
		q.len += (size_t)snprintf(q.p, 32,
		    "partNumber=%u&uploadId=", (unsigned)idx + 1);
		qenc(&q, up->upload_id);
	}
	if (q.err != 0) {
		buf_free(&q);
		return (ag_err_set(err, "%s: out of memory", s->inst));
	}
	call.query = q.p;
	rc = s3_call(s, &call, "put part of", up->key, &resp, err);
	buf_free(&q);
	if (rc != 0)
		return (rc);
	etag = http_resp_header(&resp, "ETag");
	if (etag == NULL || etag[0] == '\0') {
		http_resp_free(&resp);
		/* Sent again, the part may yet get one. */
		(void)ag_err_set(err,
		    "%s: put part %u of %s: no ETag in the answer", s->inst,
		    (unsigned)idx + 1, up->key);
		return (AG_RETRY);
	}
	dup = strdup(etag);
	http_resp_free(&resp);
	if (dup == NULL)
		return (ag_err_set(err, "%s: out of memory", s->inst));
	free(up->etags[idx]); /* a part sent twice: the last one counts */
	up->etags[idx] = dup;
	return (0);
}

/* abort_upload(s, key, id, err): AbortMultipartUpload. */
static int
abort_upload(struct s3 *s, const char *key, const char *id, struct ag_err *err)
{
	struct s3_call call = { .method = "DELETE", .key = key };
	struct http_resp resp;
	struct buf q;
	int rc;

	buf_init(&q, S3_URL_MAX);
	buf_puts(&q, "uploadId=");
	qenc(&q, id);
	if (q.err != 0) {
		buf_free(&q);
		return (ag_err_set(err, "%s: out of memory", s->inst));
	}
	call.query = q.p;
	rc = s3_do(s, &call, &resp, err);
	buf_free(&q);
	if (rc != 0)
		return (rc);
	if ((resp.status < 200 || resp.status >= 300) && resp.status != 404)
		rc = s3_fail(s, "abort upload of", key, &resp, err);
	http_resp_free(&resp);
	return (rc);
}

static void
s3_put_abort(void *upp)
{
	struct s3_up *up = upp;
	struct ag_err e;

	(void)abort_upload(up->s, up->key, up->upload_id, &e);
	up_free(up);
}

/*
 * complete_body(up): the CompleteMultipartUpload document of the parts
 * 1, 2, ... up to the first missing one, or NULL.
 */
static char *
complete_body(const struct s3_up *up)
{
	struct buf b;
	char num[16];

	buf_init(&b, (size_t)S3_MAX_PARTS * 160 + 128);
	buf_puts(&b,
	    "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws."
	    "com/doc/2006-03-01/\">");
	for (unsigned i = 0; i < S3_MAX_PARTS && up->etags[i] != NULL; i++) {
		snprintf(num, sizeof(num), "%u", i + 1);
		buf_puts(&b, "<Part><PartNumber>");
		buf_puts(&b, num);
		buf_puts(&b, "</PartNumber><ETag>");
		/* An ETag is a quoted hex digest; escape the quotes anyway. */
		for (const char *c = up->etags[i]; *c != '\0'; c++)
			if (*c == '"' || *c == '&' || *c == '<')
				buf_puts(&b,
				    *c == '"'	  ? "&quot;" :
					*c == '&' ? "&amp;" :
						    "&lt;");
			else
				buf_append(&b, c, 1);
		buf_puts(&b, "</ETag></Part>");
	}
	buf_puts(&b, "</CompleteMultipartUpload>");
	if (b.err != 0) {
		buf_free(&b);
		return (NULL);
	}
	return (buf_take(&b));
}

static int
s3_put_commit(void *upp, struct ag_err *err)
{
	struct s3_up *up = upp;
	struct s3 *s = up->s;
	struct s3_call call;
	struct http_resp resp;
	char *body, code[64], msg[8];
	struct buf q;
	int rc;

	if ((body = complete_body(up)) == NULL)
		return (ag_err_set(err, "%s: out of memory", s->inst));
	buf_init(&q, S3_URL_MAX);
	buf_puts(&q, "uploadId=");
	qenc(&q, up->upload_id);
	call = (struct s3_call){ .method = "POST",
		.key = up->key,
		.query = q.p,
		.body = body,
		.len = strlen(body) };
	rc = q.err != 0 ?
	    ag_err_set(err, "%s: out of memory", s->inst) :
	    s3_call(s, &call, "finish upload of", up->key, &resp, err);
	free(body);
	buf_free(&q);
	/* A 200 whose body is an <Error>: S3 failed after answering. */
	if (rc == 0) {
		if (s3_xml_error(resp.body, resp.body_len, code, sizeof(code),
			msg, sizeof(msg)))
			rc = s3_fail(s, "finish upload of", up->key, &resp,
			    err);
		http_resp_free(&resp);
	}
	if (rc == AG_RETRY)
		return (rc);
	if (rc != 0)
		s3_put_abort(up);
	else
		up_free(up);
	return (rc);
}

static int
s3_get(void *ctx, const char *key, uint64_t off, uint64_t len,
    storage_sink_fn *sink, void *cookie, struct ag_err *err)
{
	struct s3 *s = ctx;
	struct storage_get_sink g = { .sink = sink, .cookie = cookie };
	struct s3_call call = { .method = "GET",
		.sink = storage_get_sink,
		.cookie = &g };
	struct http_resp resp;
	char range[STORAGE_RANGE_HDR_MAX], code[64], msg[8], *k;
	int rc;

	if (len == 0)
		return (0);
	if ((k = full_key(s, key)) == NULL)
		return (ag_err_set(err, "%s: out of memory", s->inst));
	call.key = k;
	call.hdrs[0] = storage_range_header(range, sizeof(range), "Range", off,
	    len);
	rc = s3_do(s, &call, &resp, err);
	if (rc != 0) {
		if (g.stopped)
			rc = ag_err_set(err, "%s: read %s: stopped by reader",
			    s->inst, key);
		goto out;
	}
	if (resp.status == 200 || resp.status == 206)
		goto out;
	if (resp.status == 404 &&
	    (!s3_xml_error(resp.body, resp.body_len, code, sizeof(code), msg,
		 sizeof(msg)) ||
		strcmp(code, "NoSuchKey") == 0)) {
		rc = STORAGE_ABSENT;
		goto out;
	}
	if (resp.status == 416) {
		rc = ag_err_set(err,
		    "%s: read %s: range %ju+%ju is outside "
		    "the object",
		    s->inst, key, (uintmax_t)off, (uintmax_t)len);
		goto out;
	}
	rc = s3_fail(s, "read", key, &resp, err);
out:
	http_resp_free(&resp);
	free(k);
	return (rc);
}

/*
 * list_page(s, flags, prefix, m1, m2, out, ret_m1, ret_m2, err): one page
 * of ListObjectsV2 (markers: the continuation token) or, with
 * STORAGE_LIST_INCOMPLETE, of ListMultipartUploads (the key and upload id
 * markers).  The next markers go to ${ret_m1}/${ret_m2}, NULL at the end.
 */
static int
list_page(struct s3 *s, unsigned flags, const char *prefix, const char *m1,
    const char *m2, struct objlist *out, char **ret_m1, char **ret_m2,
    struct ag_err *err)
{
	struct s3_call call = { .method = "GET" };
	struct http_resp resp;
	struct buf q;
	int rc, bad;

	*ret_m1 = *ret_m2 = NULL;
	buf_init(&q, S3_URL_MAX);
	if (flags & STORAGE_LIST_INCOMPLETE) {
		buf_puts(&q, "uploads&prefix=");
		qenc(&q, prefix);
		if (m1 != NULL) {
			buf_puts(&q, "&key-marker=");
			qenc(&q, m1);
			buf_puts(&q, "&upload-id-marker=");
			qenc(&q, m2);
		}
	} else {
		buf_puts(&q, "list-type=2&prefix=");
		qenc(&q, prefix);
		if (m1 != NULL) {
			buf_puts(&q, "&continuation-token=");
			qenc(&q, m1);
		}
	}
	if (q.err != 0) {
		buf_free(&q);
		return (ag_err_set(err, "%s: out of memory", s->inst));
	}
	call.query = q.p;
	rc = s3_call(s, &call, "list", prefix, &resp, err);
	buf_free(&q);
	if (rc != 0)
		return (rc);
	if (flags & STORAGE_LIST_INCOMPLETE)
		bad = s3_xml_list_uploads(resp.body, resp.body_len,
		    strlen(s->prefix), out, ret_m1, ret_m2);
	else
		bad = s3_xml_list(resp.body, resp.body_len, strlen(s->prefix),
		    out, ret_m1);
	if (bad != 0 || resp.truncated)
		rc = ag_err_set(err, "%s: list %s: the answer does not parse",
		    s->inst, prefix);
	http_resp_free(&resp);
	return (rc);
}

static int
s3_list(void *ctx, const char *prefix, unsigned flags, struct objlist *out,
    struct ag_err *err)
{
	struct s3 *s = ctx;
	char *p, *m1 = NULL, *m2 = NULL, *n1, *n2;
	int rc = 0;

	if ((p = full_key(s, prefix)) == NULL)
		return (ag_err_set(err, "%s: out of memory", s->inst));
	for (unsigned page = 0;; page++) {
		if (page == S3_LIST_PAGES) {
			rc = ag_err_set(err, "%s: list %s: too many objects",
			    s->inst, prefix);
			break;
		}
		rc = list_page(s, flags, p, m1, m2, out, &n1, &n2, err);
		free(m1);
		free(m2);
		m1 = n1;
		m2 = n2;
		if (rc != 0 || m1 == NULL)
			break;
	}
	free(m1);
	free(m2);
	free(p);
	return (rc);
}

static int
s3_remove(void *ctx, const char *key, struct ag_err *err)
{
	struct s3 *s = ctx;
	struct s3_call call = { .method = "DELETE" };
	struct http_resp resp;
	int rc;

	if ((call.key = full_key(s, key)) == NULL)
		return (ag_err_set(err, "%s: out of memory", s->inst));
	rc = s3_do(s, &call, &resp, err);
	if (rc == 0 && (resp.status < 200 || resp.status >= 300) &&
	    resp.status != 404)
		rc = s3_fail(s, "delete", key, &resp, err);
	else if (rc == 0 && resp.status == 404) {
		char code[64], msg[8];

		/* An absent key is success; an absent bucket is not. */
		if (s3_xml_error(resp.body, resp.body_len, code, sizeof(code),
			msg, sizeof(msg)) &&
		    strcmp(code, "NoSuchKey") != 0)
			rc = s3_fail(s, "delete", key, &resp, err);
	}
	http_resp_free(&resp);
	free((char *)call.key);
	return (rc);
}

/* xml_put(b, s): append ${s} escaped for XML text. */
static void
xml_put(struct buf *b, const char *s)
{

	for (; *s != '\0'; s++) {
		const char *e = *s == '&' ? "&amp;" :
		    *s == '<'		  ? "&lt;" :
		    *s == '>'		  ? "&gt;" :
					    NULL;

		if (e != NULL)
			buf_puts(b, e);
		else
			buf_append(b, s, 1);
	}
}

/* short_key(s, key): ${key} without the configured prefix. */
static const char *
short_key(const struct s3 *s, const char *key)
{
	size_t n = strlen(s->prefix);

	return (strncmp(key, s->prefix, n) == 0 ? key + n : key);
}

/*
 * delete_batch(s, v, n, err): one DeleteObjects of the ${n} <=
 * S3_DELETE_MAX objects ${v}, quiet (the answer lists failures only), with
 * its Content-MD5 as S3 requires.  Return 0 if every object is gone, else
 * AG_RETRY or -1 with the first failed key, S3's code and message.
 */
static int
delete_batch(struct s3 *s, const struct s3_del *v, size_t n,
    struct ag_err *err)
{
	struct s3_call call = { .method = "POST",
		.query = "delete",
		.md5 = true };
	struct http_resp resp;
	struct buf b;
	char key[STORAGE_KEY_MAX + 1], code[64], msg[160], what[64];
	size_t nerr;
	int rc;

	buf_init(&b, (size_t)S3_DELETE_MAX * (STORAGE_KEY_MAX * 6 + 256));
	buf_puts(&b,
	    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
	    "<Delete xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
	    "<Quiet>true</Quiet>");
	for (size_t i = 0; i < n; i++) {
		buf_puts(&b, "<Object><Key>");
		xml_put(&b, v[i].key);
		buf_puts(&b, "</Key>");
		if (v[i].vid != NULL) {
			buf_puts(&b, "<VersionId>");
			xml_put(&b, v[i].vid);
			buf_puts(&b, "</VersionId>");
		}
		buf_puts(&b, "</Object>");
	}
	buf_puts(&b, "</Delete>");
	if (b.err != 0) {
		buf_free(&b);
		return (ag_err_set(err, "%s: out of memory", s->inst));
	}
	call.body = b.p;
	call.len = b.len;
	rc = s3_call(s, &call, "delete", short_key(s, v[0].key), &resp, err);
	buf_free(&b);
	if (rc != 0)
		return (rc);
	if (s3_xml_delete_result(resp.body, resp.body_len, &nerr, key,
		sizeof(key), code, sizeof(code), msg, sizeof(msg)) != 0)
		rc = ag_err_set(err,
		    "%s: delete %s: the answer does not "
		    "parse",
		    s->inst, short_key(s, v[0].key));
	else if (nerr > 0) {
		if (nerr == 1)
			snprintf(what, sizeof(what), "delete");
		else
			snprintf(what, sizeof(what),
			    "delete (%zu objects failed; first)", nerr);
		rc = s3_error_code(s->inst, what, short_key(s, key), 0, code,
		    msg, err);
	}
	http_resp_free(&resp);
	return (rc);
}

/*
 * delete_all(s, v, n, err): delete_batch() over ${v} in batches, in order,
 * stopping at the first that fails.  Return 0, AG_RETRY or -1.
 */
static int
delete_all(struct s3 *s, const struct s3_del *v, size_t n, struct ag_err *err)
{
	int rc = 0;

	for (size_t i = 0; i < n && rc == 0; i += S3_DELETE_MAX)
		rc = delete_batch(s, v + i,
		    n - i < S3_DELETE_MAX ? n - i : S3_DELETE_MAX, err);
	return (rc);
}

/*
 * list_versions(s, prefix, out, err): every version and delete marker of
 * the keys starting with ${prefix} (whole keys) into ${out}, their version
 * ids as upload_id (ListObjectVersions, page by page).  Return 0, AG_RETRY
 * or -1.
 */
static int
list_versions(struct s3 *s, const char *prefix, struct objlist *out,
    struct ag_err *err)
{
	struct s3_call call = { .method = "GET" };
	struct http_resp resp;
	char *km = NULL, *vm = NULL, *nk, *nv;
	struct buf q;
	int rc = 0;

	for (unsigned page = 0; rc == 0; page++) {
		if (page == S3_LIST_PAGES) {
			rc = ag_err_set(err, "%s: list versions %s: too many",
			    s->inst, short_key(s, prefix));
			break;
		}
		buf_init(&q, S3_URL_MAX);
		buf_puts(&q, "versions&prefix=");
		qenc(&q, prefix);
		if (km != NULL) {
			buf_puts(&q, "&key-marker=");
			qenc(&q, km);
			buf_puts(&q, "&version-id-marker=");
			qenc(&q, vm);
		}
		if (q.err != 0) {
			buf_free(&q);
			rc = ag_err_set(err, "%s: out of memory", s->inst);
			break;
		}
		call.query = q.p;
		rc = s3_call(s, &call, "list versions of",
		    short_key(s, prefix), &resp, err);
		buf_free(&q);
		if (rc != 0)
			break;
		if (s3_xml_list_versions(resp.body, resp.body_len, out, &nk,
			&nv) != 0 ||
		    resp.truncated)
			rc = ag_err_set(err,
			    "%s: list versions of %s: the "
			    "answer does not parse",
			    s->inst, short_key(s, prefix));
		http_resp_free(&resp);
		free(km);
		free(vm);
		km = nk;
		vm = nv;
		if (km == NULL)
			break;
	}
	free(km);
	free(vm);
	if (rc != 0)
		objlist_free(out);
	return (rc);
}

/*
 * delete_versions(s, fk, n, err): delete every version (and delete marker)
 * of the whole keys ${fk}, key by key in that order: one listing of their
 * common prefix, then DeleteObjects with version ids.  Return 0, AG_RETRY
 * or -1.
 */
static int
delete_versions(struct s3 *s, struct s3_del *fk, size_t n, struct ag_err *err)
{
	struct objlist vl = { 0 };
	struct s3_del *v;
	size_t plen = strlen(fk[0].key), m = 0;
	char *prefix;
	int rc;

	for (size_t i = 1; i < n; i++)
		for (size_t j = 0; j < plen; j++)
			if (fk[i].key[j] != fk[0].key[j]) {
				plen = j;
				break;
			}
	if ((prefix = strndup(fk[0].key, plen)) == NULL)
		return (ag_err_set(err, "%s: out of memory", s->inst));
	rc = list_versions(s, prefix, &vl, err);
	free(prefix);
	if (rc != 0)
		return (rc);
	if ((v = calloc(vl.n + 1, sizeof(*v))) == NULL) {
		objlist_free(&vl);
		return (ag_err_set(err, "%s: out of memory", s->inst));
	}
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < vl.n; j++)
			if (strcmp(vl.v[j].name, fk[i].key) == 0)
				v[m++] = (struct s3_del){ vl.v[j].name,
					vl.v[j].upload_id };
	rc = m > 0 ? delete_all(s, v, m, err) : 0;
	free(v);
	objlist_free(&vl);
	return (rc);
}

static int
s3_remove_many(void *ctx, const char *const *keys, size_t n,
    struct ag_err *err)
{
	struct s3 *s = ctx;
	struct s3_del *v;
	size_t i;
	int rc;

	if ((v = calloc(n, sizeof(*v))) == NULL)
		return (ag_err_set(err, "%s: out of memory", s->inst));
	for (i = 0; i < n; i++)
		if ((v[i].key = full_key(s, keys[i])) == NULL)
			break;
	if (i < n)
		rc = ag_err_set(err, "%s: out of memory", s->inst);
	else if (s->lock_days > 0)
		rc = delete_versions(s, v, n, err);
	else
		rc = delete_all(s, v, n, err);
	for (i = 0; i < n; i++)
		free((char *)v[i].key);
	free(v);
	return (rc);
}

static const char *
s3_lock_name(void *ctx)
{
	const struct s3 *s = ctx;

	return (s->lock_days > 0 ? "S3 Object Lock" : NULL);
}

/*
 * s3_retention(ctx, key, ret_until, err): HeadObject; the date of
 * x-amz-object-lock-retain-until-date, 0 without one.
 */
static int
s3_retention(void *ctx, const char *key, time_t *ret_until, struct ag_err *err)
{
	struct s3 *s = ctx;
	struct s3_call call = { .method = "HEAD" };
	struct http_resp resp;
	const char *h = NULL;
	int64_t ms;
	int rc;

	*ret_until = 0;
	if ((call.key = full_key(s, key)) == NULL)
		return (ag_err_set(err, "%s: out of memory", s->inst));
	rc = s3_do(s, &call, &resp, err);
	if (rc == 0 && resp.status == 404)
		rc = STORAGE_ABSENT;
	else if (rc == 0 && resp.status == 403)
		/* A HEAD's answer has no body to say why. */
		rc = ag_err_set(err,
		    "%s: read the lock of %s: 403: allow "
		    "s3:GetObject and s3:GetObjectRetention on the objects",
		    s->inst, key);
	else if (rc == 0 && (resp.status < 200 || resp.status >= 300))
		rc = s3_error(s->inst, "read the lock of", key, resp.status,
		    resp.body, resp.body_len, err);
	else if (rc == 0 &&
	    (h = http_resp_header(&resp,
		 "x-amz-object-lock-retain-until-date")) != NULL &&
	    clock_parse_rfc3339(h, &ms) != 0)
		rc = ag_err_set(err,
		    "%s: read the lock of %s: bad "
		    "retain-until date \"%.40s\"",
		    s->inst, key, h);
	else if (rc == 0 && h != NULL)
		*ret_until = (time_t)(ms / 1000);
	http_resp_free(&resp);
	free((char *)call.key);
	return (rc);
}

static int
s3_abort_incomplete(void *ctx, const struct objent *ent, struct ag_err *err)
{
	struct s3 *s = ctx;
	char *k;
	int rc;

	if (ent->upload_id == NULL)
		return (ag_err_set(err, "%s: abort %s: no upload id", s->inst,
		    ent->name));
	if ((k = full_key(s, ent->name)) == NULL)
		return (ag_err_set(err, "%s: out of memory", s->inst));
	rc = abort_upload(s, k, ent->upload_id, err);
	free(k);
	return (rc);
}

const struct storage_ops storage_s3_ops = {
	.name = "s3",
	.caps = STORAGE_CAP_MULTIPART | STORAGE_CAP_RANGE |
	    STORAGE_CAP_ATOMIC | STORAGE_CAP_INCOMPLETE | STORAGE_CAP_PARALLEL,
	.part_min = S3_PART_MIN,
	.part_align = 1,
	.part_max = S3_PART_MAX,
	.max_parts = S3_MAX_PARTS,
	.settings = s3_settings,
	.conf_parse = s3_conf_parse,
	.conf_free = s3_conf_free,
	.open = s3_open,
	.put_begin = s3_put_begin,
	.put_part = s3_put_part,
	.put_commit = s3_put_commit,
	.put_abort = s3_put_abort,
	.put = s3_put,
	.get = s3_get,
	.list = s3_list,
	.remove = s3_remove,
	.remove_many = s3_remove_many,
	.lock_name = s3_lock_name,
	.retention = s3_retention,
	.abort_incomplete = s3_abort_incomplete,
	.close = s3_close,
};
