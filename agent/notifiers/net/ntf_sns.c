/*
 * ntf_sns.c: the "sns" notifier publishes each notification to an Amazon
 * SNS topic (Publish, query protocol, SigV4):
 *
 *	notifiers = ( { name = "pager"; type = "sns";
 *	    topic_arn = "arn:aws:sns:eu-west-1:123456789012:oncall"; } );
 *
 * Settings: topic_arn (required; its region is the region signed for and
 * called), endpoint (default https://sns.<region>.amazonaws.com, ".cn"
 * added in the aws-cn partition; http[s]://host[:port] only, for tests and
 * SNS-compatible services), message_structure ("text", the default, or
 * "json"), credentials = "NAME" (a group of the top-level credentials
 * section, conf/conf_creds.h) or access_key_id with secret_access_key /
 * _file / _env (as the s3 storage type and the cloudwatch source; without
 * them the AWS credential chain of lib/cloud/aws/aws_creds.h), timeout (default 10s), connect_timeout
 * (default 5s), tls_verify (default true), ca_file.
 *
 * A Publish carries a Subject (the one-line summary, at most 100
 * characters, cut on a character boundary, without control characters), a
 * plain-text Message for email subscribers (with message_structure =
 * "json": MessageStructure=json, the text for "default" and "email", the
 * notification's JSON of docs/WEBHOOK.md for "sqs", "lambda", "http" and
 * "https"), and String MessageAttributes severity (the state), rule, host
 * and resource (the labels of a cloud metric, when it has some), which
 * subscription filter policies can select on.  A FIFO topic (a name ending
 * in ".fifo") gets MessageGroupId = the rule and MessageDeduplicationId =
 * the notification id, so that a retry after a lost answer is delivered
 * once.  The request is built and signed in prepare(), performed by the
 * sender beside other notifiers' requests, and judged in finish() by
 * sns_classify(); send() does all three with a client of its own.  The
 * secret and a session token are registered with log_secret_add() by the
 * credential provider and never appear in a message.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "paths.h"
#include "lib/ag.h"
#include "lib/buf.h"
#include "lib/clock.h"
#include "lib/cloud/aws/aws_creds.h"
#include "lib/cloud/aws/sigv4.h"
#include "lib/cloud/cloud_xml.h"
#include "lib/crypto/crypto.h"
#include "lib/http/http.h"
#include "lib/log.h"
#include "lib/utf8.h"
#include "conf/conf_creds.h"
#include "agent/notify.h"
#include "agent/notify_backend.h"
#include "agent/notifiers/net/ntf_sns_internal.h"

#define SNS_TIMEOUT_DEFAULT_MS 10000
#define SNS_CONNECT_TIMEOUT_DEFAULT_MS 5000
#define SNS_TIMEOUT_MIN_MS 100
#define SNS_TIMEOUT_MAX_MS (5 * 60 * 1000)
#define SNS_RESPONSE_MAX (64 * 1024)
#define SNS_ENDPOINT_MAX 512
#define SNS_ARN_MAX 400
#define SNS_CONTENT_TYPE "application/x-www-form-urlencoded; charset=utf-8"
/* Host, Content-Type, User-Agent, the signer's extras and the NULL. */
#define SNS_HDRS (3 + SIGV4_MAX_EXTRA + 1)

struct ntf_sns {
	char *name;
	char *topic_arn;
	char *topic_name; /* for messages */
	struct sns_topic topic;
	char *url;  /* endpoint + "/" */
	char *host; /* host[:port], signed and sent */
	bool json_structure;
	int64_t timeout_ms;
	int64_t connect_timeout_ms;
	bool tls_verify;
	char *ca_file;
	struct aws_creds *creds;
	struct http_client *http; /* send() only, created on first use */
};

static const char *const ntf_sns_settings[] = { "topic_arn", "endpoint",
	"message_structure", CONF_AWS_KEYS, "timeout", "connect_timeout",
	"tls_verify", "ca_file", NULL };

static const char *const structures[] = { "text", "json", NULL };

/* ---- UTF-8 text ---- */

/*
 * Append ${s} to ${b} as valid UTF-8 without control characters (C0, DEL,
 * C1): a byte that starts no well-formed sequence becomes '?', a control
 * character (a line break too) a space.  At most ${max}
 * characters (0: any number); a longer ${s} is cut to ${max} - 1 of them
 * and "\u2026".
 */
static void
clean_text(struct buf *b, const char *s, size_t max)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t nchars = 0, total = 0, k;
	uint32_t cp;

	if (max > 0) {
		for (const unsigned char *q = p; *q != '\0'; total++)
			q += (k = utf8_seq(q, &cp)) > 0 ? k : 1;
	}
	while (*p != '\0') {
		if (max > 0 && total > max && nchars == max - 1) {
			buf_puts(b, "\xe2\x80\xa6");
			return;
		}
		if ((k = utf8_seq(p, &cp)) == 0) {
			buf_puts(b, "?");
			k = 1;
		} else if (cp < 0x20 || cp == 0x7f ||
		    (cp >= 0x80 && cp <= 0x9f)) {
			buf_puts(b, " ");
		} else {
			buf_append(b, p, k);
		}
		p += k;
		nchars++;
	}
}

void
sns_subject(const struct notification *n, char *out, size_t len)
{
	char summary[512];
	struct buf b;

	notification_summary(n, summary, sizeof(summary));
	buf_init(&b, 4 * SNS_SUBJECT_MAX);
	clean_text(&b, summary, SNS_SUBJECT_MAX);
	snprintf(out, len, "%s", b.err == 0 && b.p != NULL ? b.p : "vigil");
	buf_free(&b);
}

void
sns_resource(const struct notification *n, char *out, size_t len)
{
	const char *open = strchr(n->metric, '{');
	const char *close = open != NULL ? strrchr(open, '}') : NULL;

	if (close == NULL || close == open + 1) {
		snprintf(out, len, "%s", "");
		return;
	}
	snprintf(out, len, "%.*s", (int)(close - open - 1), open + 1);
}

/* A number as people read it: 97.2, 1e+12, 3. */
static const char *
num(double v, char *buf, size_t len)
{
	snprintf(buf, len, "%.15g", v);
	return buf;
}

/* "Name: value\n", value cleaned. */
static void
line(struct buf *b, const char *name, const char *value)
{
	buf_puts(b, name);
	buf_puts(b, ": ");
	clean_text(b, value, 0);
	buf_puts(b, "\n");
}

char *
sns_text(const struct notification *n)
{
	char summary[512], tmp[160], v[40], resource[METRIC_NAME_MAX];
	struct buf b;

	buf_init(&b, 16 * 1024);
	notification_summary(n, summary, sizeof(summary));
	clean_text(&b, summary, 0);
	buf_puts(&b, "\n\n");
	if (n->state != n->prev_state)
		snprintf(tmp, sizeof(tmp), "%s (was %s)",
		    alert_state_name(n->state),
		    alert_state_name(n->prev_state));
	else
		snprintf(tmp, sizeof(tmp), "%s", alert_state_name(n->state));
	line(&b, "State", tmp);
	if (n->kind == NK_REMINDER)
		line(&b, "Kind", "reminder (still not OK)");
	line(&b, "Rule", n->rule);
	line(&b, "Host", n->host);
	line(&b, "Metric", n->metric);
	sns_resource(n, resource, sizeof(resource));
	if (resource[0] != '\0')
		line(&b, "Resource", resource);
	line(&b, "Value",
	    n->has_value ? num(n->value, v, sizeof(v)) : "no data");
	if (n->has_threshold) {
		snprintf(tmp, sizeof(tmp), "%s %s", n->op,
		    num(n->threshold, v, sizeof(v)));
		line(&b, "Threshold", tmp);
	}
	clock_rfc3339(n->since_ms, tmp, sizeof(tmp));
	line(&b, "Since", tmp);
	clock_rfc3339(n->ts_ms, tmp, sizeof(tmp));
	line(&b, "Time", tmp);
	line(&b, "Id", n->id);
	if (b.err != 0) {
		buf_free(&b);
		return NULL;
	}
	return buf_take(&b);
}

/* ---- FIFO ids ---- */

/* SNS's set for group and deduplication ids: letters, digits, punctuation. */
static int
fifo_char(unsigned char c)
{
	return c > 0x20 && c < 0x7f;
}

void
sns_fifo_id(const char *s, char out[SNS_FIFO_ID_MAX + 1])
{
	size_t len = strlen(s), i;
	uint8_t h[CRYPTO_SHA256_LEN];

	for (i = 0; i < len && fifo_char((unsigned char)s[i]); i++)
		;
	if (len > 0 && len <= SNS_FIFO_ID_MAX && i == len) {
		memcpy(out, s, len + 1);
		return;
	}
	if (crypto_sha256(s, len, h) != 0) {
		/* Cannot happen with a working libcrypto; still a valid id. */
		memset(h, 0, sizeof(h));
	}
	for (i = 0; i < sizeof(h); i++)
		snprintf(out + 2 * i, 3, "%02x", h[i]);
}

/* ---- the request ---- */

/*
 * Append ${s} to ${b} as application/x-www-form-urlencoded encodes it, the
 * way botocore does (Python's quote_plus): A-Z a-z 0-9 - . _ ~ as they
 * are, a space as '+', every other byte as %XX in upper case.
 */
static void
form_encode(struct buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	char e[3] = { '%', 0, 0 };

	for (const unsigned char *p = (const unsigned char *)s; *p != '\0';
	     p++) {
		if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		    (*p >= '0' && *p <= '9') || *p == '-' || *p == '.' ||
		    *p == '_' || *p == '~') {
			buf_append(b, p, 1);
		} else if (*p == ' ') {
			buf_puts(b, "+");
		} else {
			e[1] = hex[*p >> 4];
			e[2] = hex[*p & 15];
			buf_append(b, e, 3);
		}
	}
}

/* "&key=value" (no '&' first), both form-encoded. */
static void
param(struct buf *b, const char *key, const char *value)
{
	if (b->len > 0)
		buf_puts(b, "&");
	form_encode(b, key);
	buf_puts(b, "=");
	form_encode(b, value);
}

/* One String message attribute, entry ${i} (from 1). */
static void
attribute(struct buf *b, int i, const char *name, const char *value)
{
	char key[64], clean[1024];
	struct buf c;

	if (value[0] == '\0')
		return;
	buf_init(&c, sizeof(clean) - 8);
	clean_text(&c, value, 0);
	snprintf(clean, sizeof(clean), "%s", c.p != NULL ? c.p : "?");
	buf_free(&c);
	snprintf(key, sizeof(key), "MessageAttributes.entry.%d.Name", i);
	param(b, key, name);
	snprintf(key, sizeof(key), "MessageAttributes.entry.%d.Value.DataType",
	    i);
	param(b, key, "String");
	snprintf(key, sizeof(key),
	    "MessageAttributes.entry.%d.Value.StringValue", i);
	param(b, key, clean);
}

/* The MessageStructure=json document: text for people, JSON for programs. */
static char *
structured(const struct notification *n, const char *text)
{
	static const char *const programs[] = { "sqs", "lambda", "http",
		"https" };
	char *js = notification_to_json(n), *s = NULL;
	json_t *o = json_object();
	int bad = 0;

	if (js == NULL || o == NULL)
		goto out;
	bad |= json_object_set_new(o, "default", json_string(text));
	bad |= json_object_set_new(o, "email", json_string(text));
	for (size_t i = 0; i < ARRAY_SIZE(programs); i++)
		bad |= json_object_set_new(o, programs[i], json_string(js));
	if (bad == 0)
		s = json_dumps(o, JSON_COMPACT);
out:
	json_decref(o);
	free(js);
	return s;
}

char *
sns_publish_body(const struct sns_publish *p, const struct notification *n)
{
	char subject[4 * SNS_SUBJECT_MAX + 1], resource[METRIC_NAME_MAX];
	char id[SNS_FIFO_ID_MAX + 1];
	char *text, *msg;
	struct buf b;
	int k = 0;

	if ((text = sns_text(n)) == NULL)
		return NULL;
	msg = p->json_structure ? structured(n, text) : text;
	if (msg == NULL) {
		free(text);
		return NULL;
	}
	sns_subject(n, subject, sizeof(subject));
	sns_resource(n, resource, sizeof(resource));
	buf_init(&b, SNS_BODY_MAX);
	param(&b, "Action", "Publish");
	param(&b, "Version", "2010-03-31");
	/* In the order of botocore's PublishInput, so bodies compare. */
	param(&b, "TopicArn", p->topic_arn);
	param(&b, "Message", msg);
	param(&b, "Subject", subject);
	if (p->json_structure)
		param(&b, "MessageStructure", "json");
	attribute(&b, ++k, "severity", alert_state_name(n->state));
	attribute(&b, ++k, "rule", n->rule);
	attribute(&b, n->host[0] != '\0' ? ++k : k, "host", n->host);
	attribute(&b, resource[0] != '\0' ? ++k : k, "resource", resource);
	if (p->fifo) {
		sns_fifo_id(n->id, id);
		param(&b, "MessageDeduplicationId", id);
		sns_fifo_id(n->rule, id);
		param(&b, "MessageGroupId", id);
	}
	if (msg != text)
		free(msg);
	free(text);
	if (b.err != 0) {
		buf_free(&b);
		return NULL;
	}
	return buf_take(&b);
}

/* ---- answers ---- */

int
sns_message_id(const char *body, size_t len, char *out, size_t size)
{
	xmlDocPtr doc;
	xmlNodePtr root, res, id;
	int rc = -1;

	if (body == NULL || (doc = cloud_xml_parse(body, len)) == NULL)
		return -1;
	root = xmlDocGetRootElement(doc);
	if (root != NULL && cloud_xml_is(root, "PublishResponse") &&
	    (res = cloud_xml_child(root, "PublishResult")) != NULL &&
	    (id = cloud_xml_child(res, "MessageId")) != NULL) {
		cloud_xml_copy(out, size, id);
		rc = out[0] != '\0' ? 0 : -1;
	}
	xmlFreeDoc(doc);
	return rc;
}

int
sns_error_parse(const char *body, size_t len, char *code, size_t csize,
    char *msg, size_t msize)
{
	xmlDocPtr doc;
	xmlNodePtr root, e;
	int found = 0;

	code[0] = msg[0] = '\0';
	if (body == NULL || (doc = cloud_xml_parse(body, len)) == NULL)
		return 0;
	root = xmlDocGetRootElement(doc);
	/* SNS: ErrorResponse/Error; moto, as EC2: ErrorResponse/Errors/Error. */
	if (root != NULL && cloud_xml_is(root, "ErrorResponse") &&
	    ((e = cloud_xml_child(root, "Error")) != NULL ||
		((e = cloud_xml_child(root, "Errors")) != NULL &&
		    (e = cloud_xml_child(e, "Error")) != NULL))) {
		cloud_xml_copy(code, csize, cloud_xml_child(e, "Code"));
		cloud_xml_copy(msg, msize, cloud_xml_child(e, "Message"));
		found = 1;
	}
	xmlFreeDoc(doc);
	return found;
}

/* Codes that pass by themselves: throttling and SNS's own failures. */
static const char *const transient[] = { "Throttling", "ThrottlingException",
	"ThrottledException", "RequestThrottled", "TooManyRequestsException",
	"RequestLimitExceeded", "KMSThrottling", "InternalError",
	"InternalFailure", "ServiceUnavailable", "RequestTimeout", NULL };

/*
 * Refusals of the request's credentials, signature, clock or permissions:
 * SNS did not look at the message, and a fixed configuration (reloaded)
 * delivers it, so it stays queued; with what to fix.
 */
static const struct {
	const char *code, *fix;
} auth_fixes[] = {
	{ "SignatureDoesNotMatch",
	    "The secret access key does not match the key id: fix "
	    "secret_access_key (or the credentials the chain found)." },
	{ "IncompleteSignature", "The request was signed incompletely." },
	{ "InvalidClientTokenId",
	    "SNS does not know the access key id: fix access_key_id (or the "
	    "credentials the chain found)." },
	{ "UnrecognizedClientException",
	    "SNS does not know the access key id: fix access_key_id." },
	{ "ExpiredToken",
	    "The session token expired: renew the credentials." },
	{ "RequestExpired", "The request expired: check this host's clock." },
	{ "RequestTimeTooSkewed",
	    "This host's clock is wrong: set the time (NTP)." },
	{ "AuthorizationError",
	    "The credentials may not publish to the topic: allow sns:Publish "
	    "on it." },
	{ "AccessDenied",
	    "The credentials may not publish to the topic: allow sns:Publish "
	    "on it." },
	{ "InvalidSecurity",
	    "The topic requires HTTPS: use an https:// "
	    "endpoint." },
	{ "KMSAccessDenied",
	    "The topic's KMS key refuses the credentials: allow "
	    "kms:GenerateDataKey and kms:Decrypt on it." },
};

/* Permanent refusals that one sentence explains. */
static const struct {
	const char *code, *fix;
} fixes[] = {
	{ "NotFound",
	    "No such topic: fix topic_arn (region and account included)." },
	{ "InvalidParameter", NULL },
};

int
sns_classify(const char *what, long status, const char *body, size_t len,
    struct ag_err *err)
{
	char code[64], msg[200];
	const char *fix = NULL;
	int retry, found;

	if (status >= 200 && status < 300)
		return 0;
	found = sns_error_parse(body, len, code, sizeof(code), msg,
	    sizeof(msg));
	retry = status == 408 || status == 429 || status >= 500 ||
	    status == 401 || status == 403;
	for (size_t i = 0; transient[i] != NULL; i++)
		if (strcmp(code, transient[i]) == 0)
			retry = 1;
	for (size_t i = 0; i < ARRAY_SIZE(auth_fixes); i++)
		if (strcmp(code, auth_fixes[i].code) == 0) {
			fix = auth_fixes[i].fix;
			retry = 1;
		}
	for (size_t i = 0; i < ARRAY_SIZE(fixes); i++)
		if (strcmp(code, fixes[i].code) == 0)
			fix = fixes[i].fix;
	if (!found && body != NULL && len > 0) {
		/* Not SNS's XML: the start of whatever came, on one line. */
		size_t k = 0;

		for (size_t i = 0; i < len && k + 1 < 80; i++)
			msg[k++] = (unsigned char)body[i] < 0x20 ? ' ' :
								   body[i];
		msg[k] = '\0';
	}
	(void)ag_err_set(err, "%s: HTTP %ld%s%s%s%s%s%s", what, status,
	    code[0] != '\0' ? " " : "", code, fix != NULL ? ": " : "",
	    fix != NULL ? fix : "",
	    msg[0] == '\0'  ? "" :
		fix != NULL ? " SNS says: " :
			      ": ",
	    msg);
	return retry ? AG_RETRY : -1;
}

/* ---- configuration ---- */

static int
name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '_';
}

int
sns_topic_parse(const char *arn, struct sns_topic *ret)
{
	const char *p = arn, *f[6];
	size_t n[6], len;
	int i;

	memset(ret, 0, sizeof(*ret));
	/* arn : partition : sns : region : account : name */
	for (i = 0; i < 6; i++) {
		f[i] = p;
		n[i] = i < 5 ? strcspn(p, ":") : strlen(p);
		if (i < 5 && p[n[i]] != ':')
			return -1;
		p += n[i] + 1;
	}
	if (n[0] != 3 || memcmp(f[0], "arn", 3) != 0 || n[2] != 3 ||
	    memcmp(f[2], "sns", 3) != 0)
		return -1;
	if (n[1] == 0 || n[1] >= sizeof(ret->partition) || n[3] == 0 ||
	    n[3] > SNS_REGION_MAX || n[4] != 12)
		return -1;
	for (size_t k = 0; k < n[1]; k++)
		if (!((f[1][k] >= 'a' && f[1][k] <= 'z') || f[1][k] == '-'))
			return -1;
	for (size_t k = 0; k < n[3]; k++)
		if (!((f[3][k] >= 'a' && f[3][k] <= 'z') ||
			(f[3][k] >= '0' && f[3][k] <= '9') || f[3][k] == '-'))
			return -1;
	for (size_t k = 0; k < 12; k++)
		if (f[4][k] < '0' || f[4][k] > '9')
			return -1;
	len = n[5];
	if (len > 5 && memcmp(f[5] + len - 5, ".fifo", 5) == 0) {
		ret->fifo = true;
		len -= 5;
	}
	if (len == 0 || len > 256)
		return -1;
	for (size_t k = 0; k < len; k++)
		if (!name_char(f[5][k]))
			return -1;
	memcpy(ret->partition, f[1], n[1]);
	memcpy(ret->region, f[3], n[3]);
	return 0;
}

static void
ntf_sns_free(void *ctx)
{
	struct ntf_sns *s = ctx;

	if (s == NULL)
		return;
	http_client_free(s->http);
	aws_creds_free(s->creds);
	free(s->name);
	free(s->topic_arn);
	free(s->topic_name);
	free(s->url);
	free(s->host);
	free(s->ca_file);
	free(s);
}

static int
ntf_sns_configure(void **ret_ctx, const conf_node *cs, struct conf_errs *errs)
{
	struct conf_errs scratch = { 0 };
	struct aws_creds_conf cc = { 0 };
	struct conf_aws aws = { 0 };
	struct ntf_sns *s;
	const char *arn = NULL, *ep = NULL, *ca = NULL;
	const char *name = NULL;
	char *endpoint = NULL;
	size_t nerr = errs->n;
	int bad = 0, ix = 0, n;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return conf_error(errs, cs, "out of memory");
	s->timeout_ms = SNS_TIMEOUT_DEFAULT_MS;
	s->connect_timeout_ms = SNS_CONNECT_TIMEOUT_DEFAULT_MS;
	s->tls_verify = true;
	/* notifier_new() has reported a bad name already. */
	(void)conf_get_str(&scratch, cs, "name", false, &name);
	conf_errs_free(&scratch);
	if ((s->name = strdup(name != NULL ? name : "sns")) == NULL)
		goto oom;

	if (conf_get_str(errs, cs, "topic_arn", true, &arn) == 1) {
		if (strlen(arn) > SNS_ARN_MAX ||
		    sns_topic_parse(arn, &s->topic) != 0)
			bad = conf_error_at(errs, cs, "topic_arn",
			    "must be an SNS topic ARN, "
			    "arn:aws:sns:REGION:ACCOUNT:NAME (a 12-digit "
			    "account; a name of letters, digits, '-' and '_', "
			    "\".fifo\" at the end for a FIFO topic)");
		else if ((s->topic_arn = strdup(arn)) == NULL ||
		    (s->topic_name = strdup(strrchr(arn, ':') + 1)) == NULL)
			goto oom;
	} else {
		bad = -1;
	}
	if (conf_get_str(errs, cs, "endpoint", false, &ep) == -1) {
		bad = -1;
	} else if (ep != NULL) {
		size_t len = strlen(ep);

		while (len > 0 && ep[len - 1] == '/')
			len--;
		if ((endpoint = strndup(ep, len)) == NULL)
			goto oom;
		if (len > SNS_ENDPOINT_MAX || !http_endpoint_valid(endpoint))
			bad = conf_error_at(errs, cs, "endpoint",
			    "must be "
			    "http://host[:port] or https://host[:port]");
	}
	switch (conf_get_enum(errs, cs, "message_structure", false, structures,
	    &ix)) {
	case 1:
		s->json_structure = ix == 1;
		break;
	case -1:
		bad = -1;
		break;
	}
	/* The topic ARN names the region: the credentials' is not used. */
	if (conf_aws_read(errs, cs, &aws) != 0)
		bad = -1;
	if (conf_get_dur(errs, cs, "timeout", false, SNS_TIMEOUT_MIN_MS,
		&s->timeout_ms) == 1 &&
	    s->timeout_ms > SNS_TIMEOUT_MAX_MS)
		bad = conf_error_at(errs, cs, "timeout", "at most 5m");
	if (conf_get_dur(errs, cs, "connect_timeout", false,
		SNS_TIMEOUT_MIN_MS, &s->connect_timeout_ms) == 1 &&
	    s->connect_timeout_ms > SNS_TIMEOUT_MAX_MS)
		bad = conf_error_at(errs, cs, "connect_timeout", "at most 5m");
	if (conf_get_bool(errs, cs, "tls_verify", false, &s->tls_verify) == -1)
		bad = -1;
	if (conf_get_str(errs, cs, "ca_file", false, &ca) == 1) {
		if (access(ca, R_OK) != 0)
			bad = conf_error_at(errs, cs, "ca_file",
			    "cannot read \"%s\"", ca);
		else if ((s->ca_file = strdup(ca)) == NULL)
			goto oom;
	}
	if (bad != 0 || errs->n > nerr) {
		conf_aws_free(&aws);
		free(endpoint);
		ntf_sns_free(s);
		return -1;
	}
	if (endpoint != NULL)
		n = asprintf(&s->url, "%s/", endpoint);
	else
		n = asprintf(&s->url, "https://sns.%s.amazonaws.com%s/",
		    s->topic.region,
		    strcmp(s->topic.partition, "aws-cn") == 0 ? ".cn" : "");
	free(endpoint);
	endpoint = NULL;
	if (n < 0) {
		s->url = NULL;
		goto oom;
	}
	/* The host is what lies between "://" and the final '/'. */
	if ((s->host = strdup(strstr(s->url, "://") + 3)) == NULL)
		goto oom;
	s->host[strlen(s->host) - 1] = '\0';
	cc.access_key_id = aws.access_key_id;
	cc.secret_access_key = aws.secret_access_key;
	cc.profile = aws.profile;
	if ((s->creds = aws_creds_new(&cc)) == NULL)
		goto oom;
	conf_aws_free(&aws);
	*ret_ctx = s;
	return 0;
oom:
	conf_aws_free(&aws);
	free(endpoint);
	ntf_sns_free(s);
	return conf_error(errs, cs, "out of memory");
}

/* ---- delivery ---- */

/* What one request points to, from prepare to release. */
struct sns_call {
	const char *hdrs[SNS_HDRS];
	char host_hdr[SNS_ENDPOINT_MAX + 16];
	char id[sizeof(((struct notification *)0)->id)];
	char *body;
	struct sigv4_out sig;
};

static void
ntf_sns_release(void *ctx, struct notifier_call *call)
{
	struct sns_call *sc = call->priv;

	(void)ctx;
	if (sc == NULL)
		return;
	sigv4_out_free(&sc->sig);
	free(sc->body);
	free(sc);
	call->priv = NULL;
}

static int
ntf_sns_prepare(void *ctx, const struct notification *n,
    struct notifier_call *call, struct ag_err *err)
{
	struct ntf_sns *s = ctx;
	struct sns_publish p = { .topic_arn = s->topic_arn,
		.fifo = s->topic.fifo,
		.json_structure = s->json_structure };
	struct sigv4_params sp = { .region = s->topic.region,
		.service = "sns",
		.when = time(NULL),
		.normalize_path = 1 };
	struct sigv4_header sh[2] = { { "Host", s->host },
		{ "Content-Type", SNS_CONTENT_TYPE } };
	struct sigv4_request rq;
	struct sigv4_creds cr;
	struct aws_cred ac;
	struct sns_call *sc;
	struct ag_err e;
	char hash[65];
	size_t k = 0;
	int rc;

	/* No credentials, or a broken link: as a refused signature, kept
	   queued until the configuration is fixed. */
	if ((rc = aws_creds_get(s->creds, sp.when, &ac, &e)) != 0) {
		(void)ag_err_set(err, "sns[%s]: %s", s->name, e.msg);
		return AG_RETRY;
	}
	if ((sc = calloc(1, sizeof(*sc))) == NULL) {
		aws_cred_clear(&ac);
		return ag_err_set(err, "sns[%s]: out of memory", s->name);
	}
	call->priv = sc;
	snprintf(sc->id, sizeof(sc->id), "%s", n->id);
	cr = (struct sigv4_creds){ ac.access_key_id, ac.secret_access_key,
		ac.session_token };
	rq = (struct sigv4_request){ .method = "POST",
		.path = "/",
		.headers = sh,
		.nheaders = ARRAY_SIZE(sh),
		.payload_hash = hash };
	if ((sc->body = sns_publish_body(&p, n)) == NULL ||
	    sigv4_payload_hash(sc->body, strlen(sc->body), hash) != 0 ||
	    sigv4_sign_headers(&rq, &cr, &sp, &sc->sig) != 0) {
		aws_cred_clear(&ac);
		ntf_sns_release(s, call);
		return ag_err_set(err, "sns[%s]: cannot build the request",
		    s->name);
	}
	aws_cred_clear(&ac);
	snprintf(sc->host_hdr, sizeof(sc->host_hdr), "Host: %s", s->host);
	sc->hdrs[k++] = sc->host_hdr;
	sc->hdrs[k++] = "Content-Type: " SNS_CONTENT_TYPE;
	sc->hdrs[k++] = "User-Agent: vigil/" VIGIL_VERSION;
	for (size_t i = 0; sc->sig.extra[i] != NULL && k + 1 < SNS_HDRS; i++)
		sc->hdrs[k++] = sc->sig.extra[i];
	sc->hdrs[k] = NULL;

	memset(&call->req, 0, sizeof(call->req));
	call->req.method = "POST";
	call->req.url = s->url;
	call->req.headers = sc->hdrs;
	call->req.body = sc->body;
	call->req.body_len = strlen(sc->body);
	call->req.connect_timeout_ms = (long)s->connect_timeout_ms;
	call->req.timeout_ms = (long)s->timeout_ms;
	call->req.insecure = !s->tls_verify;
	call->req.ca_file = s->ca_file;
	call->req.max_response = SNS_RESPONSE_MAX;
	return 0;
}

static int
ntf_sns_finish(void *ctx, struct notifier_call *call, long status,
    const char *body, size_t len, struct ag_err *err)
{
	struct ntf_sns *s = ctx;
	struct sns_call *sc = call->priv;
	char what[160], mid[128];

	if (status >= 200 && status < 300) {
		if (sns_message_id(body, len, mid, sizeof(mid)) != 0)
			snprintf(mid, sizeof(mid), "(no MessageId)");
		log_debug("sns[%s]: published %s to %s as %s", s->name,
		    sc != NULL ? sc->id : "?", s->topic_name, mid);
		return 0;
	}
	snprintf(what, sizeof(what), "sns[%s]: Publish to %s", s->name,
	    s->topic_name);
	return sns_classify(what, status, body, len, err);
}

/* The blocking delivery: the same request, performed here. */
static int
ntf_sns_send(void *ctx, const struct notification *n, struct ag_err *err)
{
	struct ntf_sns *s = ctx;
	struct notifier_call call = { .priv = NULL };
	struct http_resp resp;
	struct ag_err e;
	int rc;

	if (s->http == NULL && (s->http = http_client_new()) == NULL)
		return ag_err_set(err, "cannot initialise the HTTP client");
	if ((rc = ntf_sns_prepare(s, n, &call, err)) != 0)
		return rc;
	rc = http_client_do(s->http, &call.req, &resp, &e);
	if (rc == 0)
		rc = ntf_sns_finish(s, &call, resp.status, resp.body,
		    resp.body_len, err);
	else
		(void)ag_err_set(err, "sns[%s]: Publish to %s: %s", s->name,
		    s->topic_name, e.msg);
	http_resp_free(&resp);
	ntf_sns_release(s, &call);
	return rc;
}

const struct notifier_ops ntf_sns_ops = {
	.type = "sns",
	.settings = ntf_sns_settings,
	.configure = ntf_sns_configure,
	.send = ntf_sns_send,
	.prepare = ntf_sns_prepare,
	.finish = ntf_sns_finish,
	.release = ntf_sns_release,
	.free = ntf_sns_free,
};
