/*
 * aws_creds.c: see aws_creds.h.  Each link is a function that returns 0
 * with credentials, NOPE when it has nothing to say, or -1 / AG_RETRY when
 * it should have worked and did not: a broken link stops the walk with its
 * message, as the SDKs do, rather than falling through to credentials the
 * user did not mean.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "lib/buf.h"
#include "lib/civil.h"
#include "lib/clock.h"
#include "lib/cloud/aws/aws_creds.h"
#include "lib/cloud/cloud_xml.h"
#include "lib/http/http.h"
#include "lib/log.h"

#define NOPE 2		       /* this link has no credentials */
#define FILE_MAX (1024 * 1024) /* a credentials or token file */
#define LINE_MAX_ 4096
#define IMDS_DEFAULT "http://169.254.169.254"
#define ECS_DEFAULT "http://169.254.170.2"
#define STS_DEFAULT "https://sts.amazonaws.com"
#define META_TIMEOUT_MS 2000 /* IMDS and container endpoints */

/* A string the provider owns: a copy, or NULL. */
static char *
dup0(const char *s)
{

	return (s != NULL ? strdup(s) : NULL);
}

struct aws_creds {
	pthread_mutex_t mu;
	struct aws_creds_conf c; /* copies */
	/* What was found last, and from where. */
	char *akid;
	char *secret;
	char *token;
	time_t expires;
	const char *source;
	bool have;
	bool stale; /* refused by a server: fetch again */
};

struct aws_creds *
aws_creds_new(const struct aws_creds_conf *conf)
{
	struct aws_creds *p;

	if ((p = calloc(1, sizeof(*p))) == NULL)
		return (NULL);
	pthread_mutex_init(&p->mu, NULL);
	p->c.access_key_id = dup0(conf->access_key_id);
	p->c.secret_access_key = dup0(conf->secret_access_key);
	p->c.session_token = dup0(conf->session_token);
	p->c.profile = dup0(conf->profile);
	p->c.sts_endpoint = dup0(conf->sts_endpoint);
	p->c.container_endpoint = dup0(conf->container_endpoint);
	p->c.imds_endpoint = dup0(conf->imds_endpoint);
	p->c.home = dup0(conf->home);
	return (p);
}

/* wipe_free(s): zero and free ${s}. */
static void
wipe_free(char *s)
{

	if (s == NULL)
		return;
	explicit_bzero(s, strlen(s));
	free(s);
}

/* forget(p): drop the held credentials and their log redaction. */
static void
forget(struct aws_creds *p)
{

	if (p->have) {
		log_secret_remove(p->secret);
		if (p->token != NULL)
			log_secret_remove(p->token);
	}
	free(p->akid);
	wipe_free(p->secret);
	wipe_free(p->token);
	p->akid = p->secret = p->token = NULL;
	p->have = false;
}

void
aws_creds_free(struct aws_creds *p)
{

	if (p == NULL)
		return;
	forget(p);
	free((char *)p->c.access_key_id);
	wipe_free((char *)p->c.secret_access_key);
	wipe_free((char *)p->c.session_token);
	free((char *)p->c.profile);
	free((char *)p->c.sts_endpoint);
	free((char *)p->c.container_endpoint);
	free((char *)p->c.imds_endpoint);
	free((char *)p->c.home);
	pthread_mutex_destroy(&p->mu);
	free(p);
}

/*
 * take(p, akid, secret, token, expires, source): hold these (copied).
 * Return 0 or -1 (out of memory).
 */
static int
take(struct aws_creds *p, const char *akid, const char *secret,
    const char *token, time_t expires, const char *source)
{

	forget(p);
	if ((p->akid = strdup(akid)) == NULL ||
	    (p->secret = strdup(secret)) == NULL ||
	    (token != NULL && token[0] != '\0' &&
		(p->token = strdup(token)) == NULL) ||
	    log_secret_add(p->secret) != 0 ||
	    (p->token != NULL && log_secret_add(p->token) != 0)) {
		forget(p);
		return (-1);
	}
	p->have = true;
	p->stale = false;
	p->expires = expires;
	p->source = source;
	return (0);
}

/* env(name): a variable's value if set and not empty. */
static const char *
env(const char *name)
{
	const char *v = getenv(name);

	return (v != NULL && v[0] != '\0' ? v : NULL);
}

/*
 * read_private(path, strict, ret, err): the whole file; with ${strict},
 * refused if group or others may read it.  Return 0, NOPE if it does not
 * exist, -1 with ${err} set.
 */
static int
read_private(const char *path, bool strict, char **ret, struct ag_err *err)
{
	struct stat sb;
	struct buf b;
	char tmp[8192];
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0) {
		if (errno == ENOENT)
			return (NOPE);
		return (ag_err_set(err, "aws credentials: %s: %s", path,
		    strerror(errno)));
	}
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		close(fd);
		return (ag_err_set(err,
		    "aws credentials: %s: not a regular "
		    "file",
		    path));
	}
	if (strict && (sb.st_mode & 077) != 0) {
		close(fd);
		return (ag_err_set(err,
		    "aws credentials: %s: group or others "
		    "may read it (mode %03o): chmod 600 it",
		    path, (unsigned)(sb.st_mode & 0777)));
	}
	buf_init(&b, FILE_MAX);
	while ((n = read(fd, tmp, sizeof(tmp))) > 0)
		buf_append(&b, tmp, (size_t)n);
	explicit_bzero(tmp, sizeof(tmp));
	close(fd);
	if (n < 0 || b.err != 0) {
		if (b.p != NULL)
			explicit_bzero(b.p, b.len);
		buf_free(&b);
		return (ag_err_set(err,
		    "aws credentials: %s: cannot read it "
		    "(or over 1 MiB)",
		    path));
	}
	*ret = b.p != NULL ? buf_take(&b) : strdup("");
	return (*ret != NULL ? 0 : ag_err_set(err, "out of memory"));
}

/* trim(s): ${s} without white space at both ends (in place). */
static char *
trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t' || *s == '\r')
		s++;
	e = s + strlen(s);
	while (e > s &&
	    (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n'))
		*--e = '\0';
	return (s);
}

/* A profile's settings, as read from the shared files. */
struct profile {
	char *akid;
	char *secret;
	char *token;
	char *role_arn;
	char *token_file;
	char *session_name;
};

static void
profile_free(struct profile *pr)
{

	free(pr->akid);
	wipe_free(pr->secret);
	wipe_free(pr->token);
	free(pr->role_arn);
	free(pr->token_file);
	free(pr->session_name);
	memset(pr, 0, sizeof(*pr));
}

/*
 * ini_profile(text, section, pr): the settings of [${section}] in the INI
 * ${text} into ${pr} (those not already set).  Return 1 if the section
 * was there, 0 if not, -1 if out of memory.
 */
static int
ini_profile(char *text, const char *section, struct profile *pr)
{
	static const struct {
		const char *key;
		size_t off;
	} keys[] = {
		{ "aws_access_key_id", offsetof(struct profile, akid) },
		{ "aws_secret_access_key", offsetof(struct profile, secret) },
		{ "aws_session_token", offsetof(struct profile, token) },
		{ "role_arn", offsetof(struct profile, role_arn) },
		{ "web_identity_token_file",
		    offsetof(struct profile, token_file) },
		{ "role_session_name",
		    offsetof(struct profile, session_name) },
	};
	char *save = NULL, *line, *eq;
	int in = 0, found = 0;

	for (line = strtok_r(text, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		line = trim(line);
		if (line[0] == '#' || line[0] == ';' || line[0] == '\0')
			continue;
		if (line[0] == '[') {
			char *e = strchr(line, ']');

			if (e != NULL)
				*e = '\0';
			in = strcmp(trim(line + 1), section) == 0;
			found |= in;
			continue;
		}
		if (!in || (eq = strchr(line, '=')) == NULL)
			continue;
		*eq = '\0';
		line = trim(line);
		for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
			char **f = (char **)((char *)pr + keys[i].off);

			if (strcmp(line, keys[i].key) != 0 || *f != NULL)
				continue;
			if ((*f = strdup(trim(eq + 1))) == NULL)
				return (-1);
		}
	}
	return (found);
}

/*
 * shared_path(p, var, rel, buf, size): $var, else ~/.aws/${rel}.  Return
 * 0, or NOPE without a home.
 */
static int
shared_path(const struct aws_creds *p, const char *var, const char *rel,
    char *buf, size_t size)
{
	const char *v = env(var), *home;

	if (v != NULL) {
		snprintf(buf, size, "%s", v);
		return (0);
	}
	home = p->c.home != NULL ? p->c.home : env("HOME");
	if (home == NULL)
		return (NOPE);
	snprintf(buf, size, "%s/.aws/%s", home, rel);
	return (0);
}

/*
 * load_profile(p, pr, ret_name, err): the profile from both shared files
 * (credentials first).  Return 0 if either has it, NOPE if none, -1.
 */
static int
load_profile(const struct aws_creds *p, struct profile *pr,
    const char **ret_name, struct ag_err *err)
{
	const char *name = p->c.profile != NULL ? p->c.profile :
	    env("AWS_PROFILE") != NULL		? env("AWS_PROFILE") :
						  "default";
	char path[4096], section[600], *text;
	int rc, found = 0;

	*ret_name = name;
	for (int i = 0; i < 2; i++) {
		if (shared_path(p,
			i == 0 ? "AWS_SHARED_CREDENTIALS_FILE" :
				 "AWS_CONFIG_FILE",
			i == 0 ? "credentials" : "config", path,
			sizeof(path)) != 0)
			continue;
		/* The credentials file holds secrets; config may too. */
		if ((rc = read_private(path, true, &text, err)) == NOPE)
			continue;
		if (rc != 0)
			return (-1);
		if (i == 0 || strcmp(name, "default") == 0)
			snprintf(section, sizeof(section), "%s", name);
		else
			snprintf(section, sizeof(section), "profile %s", name);
		rc = ini_profile(text, section, pr);
		explicit_bzero(text, strlen(text));
		free(text);
		if (rc < 0)
			return (ag_err_set(err, "out of memory"));
		found |= rc;
	}
	return (found ? 0 : NOPE);
}

/*
 * web_identity(p, role, token_file, session, now, err): exchange the
 * token for credentials at STS.  Return 0, AG_RETRY or -1.
 */
static int
web_identity(struct aws_creds *p, const char *role, const char *token_file,
    const char *session, time_t now, struct ag_err *err)
{
	/* As the SDKs: the service's variable, then the global one. */
	const char *ep = p->c.sts_endpoint != NULL ? p->c.sts_endpoint :
	    env("AWS_ENDPOINT_URL_STS") != NULL ? env("AWS_ENDPOINT_URL_STS") :
	    env("AWS_ENDPOINT_URL") != NULL	? env("AWS_ENDPOINT_URL") :
						  STS_DEFAULT;
	static const char *const hdrs[] = {
		"Content-Type: application/x-www-form-urlencoded",
		"Accept: application/xml", NULL
	};
	char *tok = NULL, *e_role = NULL, *e_tok = NULL, *e_sess = NULL;
	char *body = NULL, *url = NULL, *k, *s, *t, *x;
	struct http_resp resp = { 0 };
	struct ag_err e;
	int64_t exp = 0;
	int rc;

	(void)now;
	if ((rc = read_private(token_file, false, &tok, err)) == NOPE)
		return (ag_err_set(err,
		    "aws web identity: token file %s does "
		    "not exist",
		    token_file));
	if (rc != 0)
		return (-1);
	rc = -1;
	if ((e_role = http_urlencode(role, strlen(role))) == NULL ||
	    (e_tok = http_urlencode(trim(tok), strlen(trim(tok)))) == NULL ||
	    (e_sess = http_urlencode(session, strlen(session))) == NULL ||
	    asprintf(&body,
		"Action=AssumeRoleWithWebIdentity&Version="
		"2011-06-15&RoleArn=%s&RoleSessionName=%s&WebIdentityToken=%s",
		e_role, e_sess, e_tok) < 0 ||
	    asprintf(&url, "%s/", ep) < 0) {
		body = url = NULL;
		rc = ag_err_set(err, "out of memory");
		goto out;
	}
	{
		struct http_req req = { .method = "POST",
			.url = url,
			.headers = hdrs,
			.body = body,
			.body_len = strlen(body) };

		rc = http_do(&req, &resp, &e);
	}
	if (rc != 0) {
		(void)ag_err_set(err, "aws web identity: %s", e.msg);
		goto out;
	}
	if (resp.status != 200) {
		char *code = cloud_xml_text(resp.body, resp.body_len, "Code");
		char *msg = cloud_xml_text(resp.body, resp.body_len,
		    "Message");

		(void)ag_err_set(err,
		    "aws web identity: STS answered %ld%s%s"
		    "%s%s",
		    resp.status, code != NULL ? " " : "",
		    code != NULL ? code : "", msg != NULL ? ": " : "",
		    msg != NULL ? msg : "");
		free(code);
		free(msg);
		rc = http_status_class(resp.status) == AG_RETRY ? AG_RETRY :
								  -1;
		goto out;
	}
	k = cloud_xml_text(resp.body, resp.body_len, "AccessKeyId");
	s = cloud_xml_text(resp.body, resp.body_len, "SecretAccessKey");
	t = cloud_xml_text(resp.body, resp.body_len, "SessionToken");
	x = cloud_xml_text(resp.body, resp.body_len, "Expiration");
	if (k == NULL || s == NULL || t == NULL || x == NULL ||
	    clock_parse_rfc3339(x, &exp) != 0)
		rc = ag_err_set(err,
		    "aws web identity: STS's answer lacks "
		    "the credentials");
	else if (take(p, k, s, t, (time_t)(exp / 1000), "web identity") != 0)
		rc = ag_err_set(err, "out of memory");
	else
		rc = 0;
	free(k);
	wipe_free(s);
	wipe_free(t);
	free(x);
out:
	if (resp.body != NULL)
		explicit_bzero(resp.body, resp.body_len);
	http_resp_free(&resp);
	wipe_free(tok);
	wipe_free(e_tok);
	free(e_role);
	free(e_sess);
	wipe_free(body);
	free(url);
	return (rc);
}

/*
 * json_creds(p, body, len, source, err): the AccessKeyId, SecretAccessKey,
 * Token and Expiration of a container or IMDS answer.  Return 0 or -1.
 */
static int
json_creds(struct aws_creds *p, const char *body, size_t len,
    const char *source, struct ag_err *err)
{
	json_t *j = body != NULL ? json_loadb(body, len, 0, NULL) : NULL;
	const char *k, *s, *t, *x;
	int64_t exp = 0;
	int rc;

	k = json_string_value(json_object_get(j, "AccessKeyId"));
	s = json_string_value(json_object_get(j, "SecretAccessKey"));
	t = json_string_value(json_object_get(j, "Token"));
	x = json_string_value(json_object_get(j, "Expiration"));
	if (k == NULL || s == NULL ||
	    (x != NULL && clock_parse_rfc3339(x, &exp) != 0))
		rc = ag_err_set(err,
		    "aws %s: the answer lacks the "
		    "credentials",
		    source);
	else if (take(p, k, s, t, (time_t)(exp / 1000), source) != 0)
		rc = ag_err_set(err, "out of memory");
	else
		rc = 0;
	json_decref(j);
	return (rc);
}

/*
 * meta_get(method, url, hdrs, resp, what, err): one request to a metadata
 * endpoint, short timeouts.  Return 0 with a 200 answer in ${resp} (the
 * caller frees it), NOPE if nothing listens, AG_RETRY or -1.
 */
static int
meta_get(const char *method, const char *url, const char *const *hdrs,
    struct http_resp *resp, const char *what, struct ag_err *err)
{
	struct http_req req = { .method = method,
		.url = url,
		.headers = hdrs,
		.connect_timeout_ms = META_TIMEOUT_MS,
		.timeout_ms = META_TIMEOUT_MS };
	struct ag_err e;
	int rc;

	if ((rc = http_do(&req, resp, &e)) != 0) {
		http_resp_free(resp);
		(void)ag_err_set(err, "aws %s: %s", what, e.msg);
		return (rc == AG_RETRY ? NOPE : -1);
	}
	if (resp->status != 200) {
		rc = http_status_class(resp->status) == AG_RETRY ? AG_RETRY :
								   -1;
		(void)ag_err_set(err, "aws %s: answered %ld", what,
		    resp->status);
		http_resp_free(resp);
		return (rc);
	}
	return (0);
}

/* container(p, err): link 5.  Return 0, NOPE, AG_RETRY or -1. */
static int
container(struct aws_creds *p, struct ag_err *err)
{
	const char *rel = env("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
	const char *full = env("AWS_CONTAINER_CREDENTIALS_FULL_URI");
	const char *tok = env("AWS_CONTAINER_AUTHORIZATION_TOKEN");
	const char *tokf = env("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
	const char *hdrs[2] = { NULL, NULL };
	char *url = NULL, *auth = NULL, *ftok = NULL;
	struct http_resp resp = { 0 };
	int rc;

	if (rel != NULL)
		rc = asprintf(&url, "%s%s",
		    p->c.container_endpoint != NULL ? p->c.container_endpoint :
						      ECS_DEFAULT,
		    rel);
	else if (full != NULL)
		rc = asprintf(&url, "%s", full);
	else
		return (NOPE);
	if (rc < 0)
		return (ag_err_set(err, "out of memory"));
	if (tokf != NULL) {
		if ((rc = read_private(tokf, false, &ftok, err)) != 0) {
			free(url);
			return (rc == NOPE ? ag_err_set(err,
						 "aws container: "
						 "%s does not exist",
						 tokf) :
					     -1);
		}
		tok = trim(ftok);
	}
	if (tok != NULL && asprintf(&auth, "Authorization: %s", tok) < 0)
		auth = NULL;
	hdrs[0] = auth;
	rc = meta_get("GET", url, hdrs, &resp, "container credentials", err);
	if (rc == NOPE)
		rc = AG_RETRY; /* It was configured: it should answer. */
	if (rc == 0) {
		rc = json_creds(p, resp.body, resp.body_len, "container", err);
		if (resp.body != NULL)
			explicit_bzero(resp.body, resp.body_len);
		http_resp_free(&resp);
	}
	wipe_free(auth);
	wipe_free(ftok);
	free(url);
	return (rc);
}

/* imds(p, err): link 6, IMDSv2.  Return 0, NOPE, AG_RETRY or -1. */
static int
imds(struct aws_creds *p, struct ag_err *err)
{
	const char *ep = p->c.imds_endpoint != NULL ?
	    p->c.imds_endpoint :
	    env("AWS_EC2_METADATA_SERVICE_ENDPOINT") != NULL ?
	    env("AWS_EC2_METADATA_SERVICE_ENDPOINT") :
	    IMDS_DEFAULT;
	const char *dis = env("AWS_EC2_METADATA_DISABLED");
	static const char *const ttl[] = {
		"X-aws-ec2-metadata-token-ttl-seconds: 21600", NULL
	};
	const char *hdrs[2] = { NULL, NULL };
	char url[2048], *tokh = NULL, *role;
	struct http_resp resp = { 0 };
	size_t n = strlen(ep);
	int rc;

	if (dis != NULL && strcasecmp(dis, "true") == 0)
		return (NOPE);
	while (n > 0 && ep[n - 1] == '/')
		n--;
	snprintf(url, sizeof(url), "%.*s/latest/api/token", (int)n, ep);
	if ((rc = meta_get("PUT", url, ttl, &resp, "IMDS", err)) != 0)
		return (rc);
	if (resp.body == NULL ||
	    asprintf(&tokh,
		"X-aws-ec2-metadata-token: "
		"%s",
		trim(resp.body)) < 0) {
		http_resp_free(&resp);
		return (ag_err_set(err, "aws IMDS: no session token"));
	}
	http_resp_free(&resp);
	hdrs[0] = tokh;
	snprintf(url, sizeof(url),
	    "%.*s/latest/meta-data/iam/"
	    "security-credentials/",
	    (int)n, ep);
	if ((rc = meta_get("GET", url, hdrs, &resp, "IMDS", err)) != 0) {
		wipe_free(tokh);
		return (rc == NOPE ? AG_RETRY : rc);
	}
	role = resp.body != NULL ? strdup(trim(resp.body)) : NULL;
	http_resp_free(&resp);
	if (role == NULL || role[0] == '\0' || strchr(role, '\n') != NULL ||
	    strchr(role, '/') != NULL) {
		free(role);
		wipe_free(tokh);
		return (ag_err_set(err,
		    "aws IMDS: the instance has no (single)"
		    " IAM role"));
	}
	snprintf(url, sizeof(url),
	    "%.*s/latest/meta-data/iam/"
	    "security-credentials/%s",
	    (int)n, ep, role);
	free(role);
	rc = meta_get("GET", url, hdrs, &resp, "IMDS", err);
	wipe_free(tokh);
	if (rc != 0)
		return (rc == NOPE ? AG_RETRY : rc);
	rc = json_creds(p, resp.body, resp.body_len, "imds", err);
	if (resp.body != NULL)
		explicit_bzero(resp.body, resp.body_len);
	http_resp_free(&resp);
	return (rc);
}

/* walk(p, now, err): the chain.  Return 0, AG_RETRY or -1. */
static int
walk(struct aws_creds *p, time_t now, struct ag_err *err)
{
	struct profile pr = { 0 };
	const char *name, *role, *tf;
	int rc;

	if (p->c.access_key_id != NULL && p->c.secret_access_key != NULL)
		return (take(p, p->c.access_key_id, p->c.secret_access_key,
			    p->c.session_token, 0, "config") != 0 ?
			ag_err_set(err, "out of memory") :
			0);
	if (env("AWS_ACCESS_KEY_ID") != NULL &&
	    env("AWS_SECRET_ACCESS_KEY") != NULL)
		return (take(p, env("AWS_ACCESS_KEY_ID"),
			    env("AWS_SECRET_ACCESS_KEY"),
			    env("AWS_SESSION_TOKEN"), 0, "environment") != 0 ?
			ag_err_set(err, "out of memory") :
			0);
	if ((rc = load_profile(p, &pr, &name, err)) == -1)
		return (-1);
	if (rc == 0 && pr.akid != NULL && pr.secret != NULL) {
		rc = take(p, pr.akid, pr.secret, pr.token, 0, "shared files") ?
		    ag_err_set(err, "out of memory") :
		    0;
		profile_free(&pr);
		return (rc);
	}
	role = env("AWS_ROLE_ARN") != NULL ? env("AWS_ROLE_ARN") : pr.role_arn;
	tf = env("AWS_WEB_IDENTITY_TOKEN_FILE") != NULL ?
	    env("AWS_WEB_IDENTITY_TOKEN_FILE") :
	    pr.token_file;
	if (role != NULL && tf != NULL) {
		const char *sess = env("AWS_ROLE_SESSION_NAME") != NULL ?
		    env("AWS_ROLE_SESSION_NAME") :
		    pr.session_name != NULL ? pr.session_name :
					      "vigil";

		rc = web_identity(p, role, tf, sess, now, err);
		profile_free(&pr);
		return (rc);
	}
	profile_free(&pr);
	if ((rc = container(p, err)) != NOPE)
		return (rc);
	if ((rc = imds(p, err)) != NOPE)
		return (rc);
	return (ag_err_set(err,
	    "no AWS credentials: none in the "
	    "configuration, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, the "
	    "shared files (profile \"%s\"), a web identity token, a container "
	    "endpoint or the instance metadata service",
	    name));
}

int
aws_creds_get(struct aws_creds *p, time_t now, struct aws_cred *ret,
    struct ag_err *err)
{
	int rc = 0;

	memset(ret, 0, sizeof(*ret));
	pthread_mutex_lock(&p->mu);
	if (!p->have || p->stale ||
	    (p->expires != 0 && p->expires - AWS_CREDS_REFRESH_S <= now)) {
		rc = walk(p, now, err);
		/* Failing early, keep what is still valid. */
		if (rc != 0 && p->have &&
		    (p->expires == 0 || p->expires > now))
			rc = 0;
	}
	if (rc == 0 &&
	    ((ret->access_key_id = strdup(p->akid)) == NULL ||
		(ret->secret_access_key = strdup(p->secret)) == NULL ||
		(p->token != NULL &&
		    (ret->session_token = strdup(p->token)) == NULL))) {
		aws_cred_clear(ret);
		rc = ag_err_set(err, "out of memory");
	}
	if (rc == 0) {
		ret->expires = p->expires;
		ret->source = p->source;
	}
	pthread_mutex_unlock(&p->mu);
	return (rc);
}

bool
aws_creds_refused(struct aws_creds *p)
{
	bool again;

	pthread_mutex_lock(&p->mu);
	/* Links that hand out temporary credentials can give new ones. */
	again = p->have && p->source != NULL &&
	    (strcmp(p->source, "web identity") == 0 ||
		strcmp(p->source, "container") == 0 ||
		strcmp(p->source, "imds") == 0);
	if (again)
		p->stale = true;
	pthread_mutex_unlock(&p->mu);
	return (again);
}

void
aws_cred_clear(struct aws_cred *c)
{

	free(c->access_key_id);
	wipe_free(c->secret_access_key);
	wipe_free(c->session_token);
	memset(c, 0, sizeof(*c));
}
