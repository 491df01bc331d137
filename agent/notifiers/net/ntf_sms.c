/*
 * ntf_sms.c: the "sms" notifier sends a text message through Twilio's
 * Messages API:
 *
 *	notifiers = ( { name = "phone-alice"; type = "sms";
 *	    account_sid = "AC0123..."; auth_token_file = "/etc/vigil/twilio";
 *	    from = "+15005550006"; to = "+15551234567"; } );
 *
 * Settings: account_sid (required, "AC" and 32 hexadecimal digits),
 * auth_token / auth_token_file / auth_token_env (required), from (a phone
 * number) or messaging_service_sid ("MG..."), exactly one; to (required,
 * one E.164 number "+<digits>": a rule names one sms notifier per phone),
 * rate (default "5/h": at most that many messages to the number per
 * period, "N/s|m|h|d"), states (default [ "CRITICAL" ]: which states page;
 * also "WARNING", "UNKNOWN"), reminders (default false), url (default
 * https://api.twilio.com; http[s]://host[:port], for tests), timeout
 * (default 10s), connect_timeout (default 5s), tls_verify, ca_file.
 *
 * What is sent: a change into a state of "states" (firing) and the change
 * out of it (the recovery, or a fall to a state that does not page);
 * reminders only with reminders = true.  Anything else is accepted without
 * a request (prepare() leaves the URL NULL, see notify_backend.h).  The
 * text is the one-line summary cut to one SMS segment (sms_segment(): 160
 * GSM-7 septets, or 70 UCS-2 units when a character is not GSM-7).
 *
 * The rate limit is per phone number for the whole process, so that two
 * notifiers to one phone share it and a reload does not reset it: a
 * message over it is dropped (-1) with one log line saying how many were
 * dropped for that number so far; only messages Twilio accepted count.
 *
 * The request: POST {url}/2010-04-01/Accounts/{sid}/Messages.json, form
 * body To, From (or MessagingServiceSid), Body, basic auth with the
 * account SID and the token (registered with log_secret_add(), as is the
 * Authorization value).  Answers (sms_classify()): 2xx accepted, 429 and
 * 5xx retried, the rest dropped with Twilio's error code and message (a
 * 401 says that the SID or token is wrong).
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <jansson.h>

#include "paths.h"
#include "lib/ag.h"
#include "lib/buf.h"
#include "lib/clock.h"
#include "lib/crypto/crypto.h"
#include "lib/http/http.h"
#include "lib/log.h"
#include "lib/utf8.h"
#include "agent/notify.h"
#include "agent/notify_backend.h"
#include "agent/notifiers/net/ntf_http.h"
#include "agent/notifiers/net/ntf_sms_internal.h"

#define SMS_TIMEOUT_DEFAULT_MS 10000
#define SMS_CONNECT_TIMEOUT_DEFAULT_MS 5000
#define SMS_RESPONSE_MAX (64 * 1024)
#define SMS_URL_DEFAULT "https://api.twilio.com"
#define SMS_URL_MAX 512
#define SMS_NUMBER_MAX 16 /* "+" and at most 15 digits */
#define SMS_SID_LEN 34
/* Room for one segment in UTF-8: 70 characters of 4 bytes, or 160 of 3. */
#define SMS_TEXT_MAX (4 * SMS_GSM7_MAX + 8)

struct ntf_sms {
	char *name;
	char *url; /* the Messages resource */
	char sid[SMS_SID_LEN + 1];
	char *auth_header; /* "Authorization: Basic ...", wiped */
	char *auth_value;  /* what was registered with the log */
	char *token;	   /* wiped */
	char *from;
	char *service_sid;
	char to[SMS_NUMBER_MAX + 1];
	unsigned rate_n;
	int64_t rate_period_ms;
	unsigned states; /* 1 << enum alert_state */
	bool reminders;
	struct ntf_http net; /* timeouts, TLS, send()'s client */
};

static const char *const ntf_sms_settings[] = { "account_sid", "auth_token",
	"auth_token_file", "auth_token_env", "from", "messaging_service_sid",
	"to", "rate", "states", "reminders", "url", "timeout",
	"connect_timeout", "tls_verify", "ca_file", NULL };

/* ---- segments ---- */

/* The basic table of GSM 03.38 beyond printable ASCII. */
static const uint16_t gsm7_basic[] = { 0xa3, 0xa5, 0xe8, 0xe9, 0xf9, 0xec,
	0xf2, 0xc7, 0xd8, 0xf8, 0xc5, 0xe5, 0x394, 0x3a6, 0x393, 0x39b, 0x3a9,
	0x3a0, 0x3a8, 0x3a3, 0x398, 0x39e, 0xc6, 0xe6, 0xdf, 0xc9, 0xa4, 0xa1,
	0xc4, 0xd6, 0xd1, 0xdc, 0xa7, 0xbf, 0xe4, 0xf6, 0xf1, 0xfc, 0xe0 };

int
sms_gsm7_cost(uint32_t cp)
{
	if (cp == '\n' || cp == '\r')
		return 1;
	if (cp >= 0x20 && cp < 0x7f) {
		if (cp == '`')
			return 0;
		return strchr("^{}\\[~]|", (int)cp) != NULL ? 2 : 1;
	}
	if (cp == 0x20ac || cp == 0x0c)
		return 2;
	for (size_t i = 0; i < ARRAY_SIZE(gsm7_basic); i++)
		if (gsm7_basic[i] == cp)
			return 1;
	return 0;
}

/* The UTF-8 of ${cp} into ${out}; its length. */
static size_t
utf8_put(uint32_t cp, char *out)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | (cp >> 12));
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | (cp >> 18));
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* The next character of ${*p}, cleaned; moves ${*p} on. */
static uint32_t
next_char(const unsigned char **p)
{
	uint32_t cp;
	size_t k = utf8_seq(*p, &cp);

	if (k == 0) {
		(*p)++;
		return '?';
	}
	*p += k;
	if (cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f))
		return ' ';
	return cp;
}

void
sms_segment(const char *text, char *out, size_t len, bool *ret_gsm7)
{
	const unsigned char *p;
	bool gsm7 = true;
	size_t total = 0, max, used = 0, o = 0, cost;
	uint32_t cp;
	char u[4];

	for (p = (const unsigned char *)text; *p != '\0';) {
		cp = next_char(&p);
		if (sms_gsm7_cost(cp) == 0)
			gsm7 = false;
	}
	for (p = (const unsigned char *)text; *p != '\0';) {
		cp = next_char(&p);
		total += gsm7 ? (size_t)sms_gsm7_cost(cp) :
				(cp >= 0x10000 ? 2 : 1);
	}
	max = gsm7 ? SMS_GSM7_MAX : SMS_UCS2_MAX;
	if (total > max)
		max -= gsm7 ? 3 : 1; /* room for the ellipsis */
	for (p = (const unsigned char *)text; *p != '\0';) {
		cp = next_char(&p);
		cost = gsm7 ? (size_t)sms_gsm7_cost(cp) :
			      (cp >= 0x10000 ? 2 : 1);
		if (used + cost > max)
			break;
		size_t k = utf8_put(cp, u);

		if (o + k + 4 > len)
			break;
		memcpy(out + o, u, k);
		o += k;
		used += cost;
	}
	if (total > (gsm7 ? SMS_GSM7_MAX : SMS_UCS2_MAX) && o + 4 <= len) {
		memcpy(out + o, gsm7 ? "..." : "\xe2\x80\xa6", 3);
		o += 3;
	}
	if (len > 0)
		out[o < len ? o : len - 1] = '\0';
	if (ret_gsm7 != NULL)
		*ret_gsm7 = gsm7;
}

/* ---- the rate, per number, for the process ---- */

struct rate_hist {
	char number[SMS_NUMBER_MAX + 1];
	int64_t sent[SMS_RATE_MAX]; /* ring of acceptance times */
	unsigned head, n;
	uint64_t dropped;
	struct rate_hist *next;
};

static pthread_mutex_t rate_mu = PTHREAD_MUTEX_INITIALIZER;
static struct rate_hist *rate_list; /* lives as long as the process */

static struct rate_hist *
rate_find(const char *number)
{
	struct rate_hist *h;

	for (h = rate_list; h != NULL; h = h->next)
		if (strcmp(h->number, number) == 0)
			return h;
	if ((h = calloc(1, sizeof(*h))) == NULL)
		return NULL;
	snprintf(h->number, sizeof(h->number), "%s", number);
	h->next = rate_list;
	rate_list = h;
	return h;
}

int
sms_rate_parse(const char *s, unsigned *ret_n, int64_t *ret_period_ms)
{
	char *end;
	unsigned long n = strtoul(s, &end, 10);

	if (end == s || *s == '-' || *s == '+' || n < 1 || n > SMS_RATE_MAX ||
	    end[0] != '/' || end[1] == '\0' || end[2] != '\0')
		return -1;
	switch (end[1]) {
	case 's':
		*ret_period_ms = 1000;
		break;
	case 'm':
		*ret_period_ms = 60 * 1000;
		break;
	case 'h':
		*ret_period_ms = 3600 * 1000;
		break;
	case 'd':
		*ret_period_ms = 86400 * 1000;
		break;
	default:
		return -1;
	}
	*ret_n = (unsigned)n;
	return 0;
}

int
sms_rate_take(const char *number, unsigned n, int64_t period_ms,
    int64_t now_ms, uint64_t *ret_dropped)
{
	struct rate_hist *h;
	unsigned recent = 0;
	int ok;

	pthread_mutex_lock(&rate_mu);
	if ((h = rate_find(number)) == NULL) {
		pthread_mutex_unlock(&rate_mu);
		*ret_dropped = 0;
		return 1; /* out of memory: do not lose the page */
	}
	for (unsigned i = 0; i < h->n; i++) {
		int64_t t =
		    h->sent[(h->head + SMS_RATE_MAX - 1 - i) % SMS_RATE_MAX];

		if (t > now_ms - period_ms)
			recent++;
	}
	if ((ok = recent < n)) {
		h->sent[h->head] = now_ms;
		h->head = (h->head + 1) % SMS_RATE_MAX;
		if (h->n < SMS_RATE_MAX)
			h->n++;
	} else {
		h->dropped++;
	}
	*ret_dropped = h->dropped;
	pthread_mutex_unlock(&rate_mu);
	return ok;
}

void
sms_rate_give_back(const char *number, int64_t now_ms)
{
	struct rate_hist *h;
	unsigned last;

	pthread_mutex_lock(&rate_mu);
	for (h = rate_list; h != NULL; h = h->next) {
		if (strcmp(h->number, number) != 0)
			continue;
		last = (h->head + SMS_RATE_MAX - 1) % SMS_RATE_MAX;
		if (h->n > 0 && h->sent[last] == now_ms) {
			h->head = last;
			h->n--;
		}
		break;
	}
	pthread_mutex_unlock(&rate_mu);
}

/* ---- what is sent ---- */

bool
sms_wanted(const struct notification *n, unsigned states, bool reminders)
{
	bool now = (states >> n->state) & 1u,
	     before = (states >> n->prev_state) & 1u;

	if (n->kind == NK_REMINDER)
		return reminders && now;
	return now || before;
}

int
sms_classify(long status, const char *body, size_t len, struct ag_err *err)
{
	json_t *j = NULL, *code, *msg;
	char detail[200] = "";
	int rc = http_status_class(status);

	if (rc == 0)
		return 0;
	if (body != NULL && len > 0 &&
	    (j = json_loadb(body, len, 0, NULL)) != NULL) {
		code = json_object_get(j, "code");
		msg = json_object_get(j, "message");
		if (json_is_string(msg))
			snprintf(detail, sizeof(detail),
			    "Twilio error %lld: %s",
			    json_is_integer(code) ?
				(long long)json_integer_value(code) :
				0LL,
			    json_string_value(msg));
		json_decref(j);
	}
	if (detail[0] == '\0')
		snprintf(detail, sizeof(detail), "%.*s",
		    (int)(len > 120 ? 120 : len), body != NULL ? body : "");
	for (char *p = detail; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20)
			*p = ' ';
	(void)ag_err_set(err, "HTTP %ld%s: %s", status,
	    status == 401 ? ", authentication failed (check account_sid and "
			    "auth_token)" :
			    "",
	    detail);
	return rc;
}

/* ---- configuration ---- */

static void
ntf_sms_free(void *ctx)
{
	struct ntf_sms *w = ctx;

	if (w == NULL)
		return;
	ntf_http_free(&w->net);
	if (w->auth_value != NULL) {
		log_secret_remove(w->auth_value);
		crypto_wipe(w->auth_value, strlen(w->auth_value));
		free(w->auth_value);
	}
	if (w->auth_header != NULL) {
		crypto_wipe(w->auth_header, strlen(w->auth_header));
		free(w->auth_header);
	}
	if (w->token != NULL) {
		log_secret_remove(w->token);
		conf_secret_free(w->token);
	}
	free(w->from);
	free(w->service_sid);
	free(w->url);
	free(w->name);
	free(w);
}

static int
valid_sid(const char *s, const char *prefix)
{
	if (strlen(s) != SMS_SID_LEN || strncmp(s, prefix, 2) != 0)
		return 0;
	for (s += 2; *s != '\0'; s++)
		if (strchr("0123456789abcdefABCDEF", *s) == NULL)
			return 0;
	return 1;
}

/* E.164: "+", a non-zero digit, 6 to 14 more. */
static int
valid_number(const char *s)
{
	size_t n = strlen(s);

	if (n < 8 || n > SMS_NUMBER_MAX || s[0] != '+' || s[1] == '0')
		return 0;
	return strspn(s + 1, "0123456789") == n - 1;
}

static int
read_states(struct ntf_sms *w, const conf_node *cs, struct conf_errs *errs)
{
	char **v = NULL;
	size_t n = 0;
	enum alert_state st;
	int bad = 0;

	w->states = 1u << ST_CRITICAL;
	switch (conf_get_strv(errs, cs, "states", false, &v, &n)) {
	case -1:
		return -1;
	case 0:
		return 0;
	}
	w->states = 0;
	for (size_t i = 0; i < n; i++) {
		if (alert_state_parse(v[i], &st) != 0 || st == ST_OK)
			bad = conf_error_at(errs, cs, "states",
			    "\"%.32s\": not WARNING, CRITICAL or UNKNOWN",
			    v[i]);
		else
			w->states |= 1u << st;
	}
	if (n == 0)
		bad = conf_error_at(errs, cs, "states", "empty");
	ag_strv_free(v);
	return bad;
}

/* "Authorization: Basic base64(sid:token)", kept out of the logs. */
static int
make_auth(struct ntf_sms *w)
{
	char *pair, *b64;
	size_t plen, blen;

	if (asprintf(&pair, "%s:%s", w->sid, w->token) < 0)
		return -1;
	plen = strlen(pair);
	blen = 4 * ((plen + 2) / 3) + 1;
	if ((b64 = malloc(blen)) == NULL ||
	    crypto_base64((const uint8_t *)pair, plen, b64, blen) < 0) {
		free(b64);
		crypto_wipe(pair, plen);
		free(pair);
		return -1;
	}
	crypto_wipe(pair, plen);
	free(pair);
	w->auth_value = b64;
	if (log_secret_add(b64) != 0)
		return -1;
	if (asprintf(&w->auth_header, "Authorization: Basic %s", b64) < 0) {
		w->auth_header = NULL;
		return -1;
	}
	return 0;
}

static int
ntf_sms_configure(void **ret_ctx, const conf_node *cs, struct conf_errs *errs)
{
	struct conf_errs scratch = { 0 };
	struct ntf_sms *w;
	const char *url = SMS_URL_DEFAULT, *sid = NULL, *from = NULL,
		   *msid = NULL, *to = NULL, *rate = "5/h", *name = NULL;
	size_t nerr = errs->n;
	int bad = 0;

	if ((w = calloc(1, sizeof(*w))) == NULL)
		return conf_error(errs, cs, "out of memory");
	(void)conf_get_str(&scratch, cs, "name", false, &name);
	conf_errs_free(&scratch);
	if ((w->name = strdup(name != NULL ? name : "sms")) == NULL)
		goto oom;

	if (conf_get_str(errs, cs, "account_sid", true, &sid) == 1) {
		if (!valid_sid(sid, "AC"))
			bad = conf_error_at(errs, cs, "account_sid",
			    "must be AC and 32 hexadecimal digits");
		else
			snprintf(w->sid, sizeof(w->sid), "%s", sid);
	} else {
		bad = -1;
	}
	if (conf_get_secret(errs, cs, "auth_token", true, &w->token) != 1)
		bad = -1;
	else if (log_secret_add(w->token) != 0)
		goto oom;
	if (conf_get_str(errs, cs, "from", false, &from) == -1 ||
	    conf_get_str(errs, cs, "messaging_service_sid", false, &msid) ==
		-1) {
		bad = -1;
	} else if ((from == NULL) == (msid == NULL)) {
		bad = conf_error_at(errs, cs, "from",
		    "exactly one of from and messaging_service_sid");
	} else if (from != NULL) {
		if (!valid_number(from))
			bad = conf_error_at(errs, cs, "from",
			    "\"%.20s\" is not an E.164 number (+<digits>)",
			    from);
		else if ((w->from = strdup(from)) == NULL)
			goto oom;
	} else if (!valid_sid(msid, "MG")) {
		bad = conf_error_at(errs, cs, "messaging_service_sid",
		    "must be MG and 32 hexadecimal digits");
	} else if ((w->service_sid = strdup(msid)) == NULL) {
		goto oom;
	}
	if (conf_get_str(errs, cs, "to", true, &to) == 1) {
		if (!valid_number(to))
			bad = conf_error_at(errs, cs, "to",
			    "\"%.20s\" is not an E.164 number (+<digits>); "
			    "one number per notifier",
			    to);
		else
			snprintf(w->to, sizeof(w->to), "%s", to);
	} else {
		bad = -1;
	}
	if (conf_get_str(errs, cs, "rate", false, &rate) == -1)
		bad = -1;
	else if (sms_rate_parse(rate, &w->rate_n, &w->rate_period_ms) != 0)
		bad = conf_error_at(errs, cs, "rate",
		    "must be N/s, N/m, N/h or N/d with N from 1 to %d",
		    SMS_RATE_MAX);
	if (read_states(w, cs, errs) != 0)
		bad = -1;
	if (conf_get_bool(errs, cs, "reminders", false, &w->reminders) == -1)
		bad = -1;
	if (conf_get_str(errs, cs, "url", false, &url) == -1) {
		bad = -1;
	} else if (!http_endpoint_valid(url) || strlen(url) > SMS_URL_MAX) {
		bad = conf_error_at(errs, cs, "url",
		    "must be http://host[:port] or https://host[:port]");
	} else if (asprintf(&w->url, "%s/2010-04-01/Accounts/%s/Messages.json",
		       url, w->sid) < 0) {
		w->url = NULL;
		goto oom;
	}
	if (ntf_http_configure(&w->net, cs, errs, SMS_TIMEOUT_DEFAULT_MS,
		SMS_CONNECT_TIMEOUT_DEFAULT_MS) != 0)
		bad = -1;
	if (bad != 0 || errs->n > nerr) {
		ntf_sms_free(w);
		return -1;
	}
	if (make_auth(w) != 0)
		goto oom;
	*ret_ctx = w;
	return 0;
oom:
	ntf_sms_free(w);
	return conf_error(errs, cs, "out of memory");
}

/* ---- delivery ---- */

struct sms_call {
	const char *hdrs[4];
	char *body;
	int64_t taken_ms; /* when the rate was taken, 0: not */
	bool accepted;
};

static void
ntf_sms_release(void *ctx, struct notifier_call *call)
{
	struct ntf_sms *w = ctx;
	struct sms_call *sc = call->priv;

	if (sc == NULL)
		return;
	/* Not accepted (refused, failed, cancelled): it does not count. */
	if (sc->taken_ms != 0 && !sc->accepted)
		sms_rate_give_back(w->to, sc->taken_ms);
	free(sc->body);
	free(sc);
	call->priv = NULL;
}

/* "&name=value", the value percent-encoded. */
static void
form(struct buf *b, const char *name, const char *value)
{
	char *v = http_urlencode(value, strlen(value));

	if (b->len > 0)
		buf_puts(b, "&");
	buf_puts(b, name);
	buf_puts(b, "=");
	if (v == NULL || buf_puts(b, v) != 0)
		b->err = b->err != 0 ? b->err : 1;
	free(v);
}

static int
ntf_sms_prepare(void *ctx, const struct notification *n,
    struct notifier_call *call, struct ag_err *err)
{
	struct ntf_sms *w = ctx;
	struct sms_call *sc;
	struct http_req *req = &call->req;
	char summary[NOTIFICATION_SUMMARY_MAX], text[SMS_TEXT_MAX];
	uint64_t dropped = 0;
	int64_t now = clock_mono_ms();
	struct buf b;

	if ((sc = calloc(1, sizeof(*sc))) == NULL)
		return ag_err_set(err, "out of memory");
	call->priv = sc;
	memset(req, 0, sizeof(*req));
	if (!sms_wanted(n, w->states, w->reminders)) {
		log_debug("sms[%s]: %s %s -> %s not sent (states)", w->name,
		    n->rule, alert_state_name(n->prev_state),
		    alert_state_name(n->state));
		return 0; /* no URL: nothing to send */
	}
	if (!sms_rate_take(w->to, w->rate_n, w->rate_period_ms, now,
		&dropped)) {
		ntf_sms_release(w, call);
		return ag_err_set(err,
		    "rate limit of %u per %llds for %s reached: message "
		    "dropped (%llu dropped for this number so far)",
		    w->rate_n, (long long)(w->rate_period_ms / 1000), w->to,
		    (unsigned long long)dropped);
	}
	sc->taken_ms = now;
	notification_summary(n, summary, sizeof(summary));
	sms_segment(summary, text, sizeof(text), NULL);
	buf_init(&b, 4096);
	form(&b, "To", w->to);
	if (w->from != NULL)
		form(&b, "From", w->from);
	else
		form(&b, "MessagingServiceSid", w->service_sid);
	form(&b, "Body", text);
	if (b.err != 0) {
		buf_free(&b);
		ntf_sms_release(w, call);
		return ag_err_set(err, "out of memory");
	}
	sc->body = buf_take(&b);
	sc->hdrs[0] = "Content-Type: application/x-www-form-urlencoded";
	sc->hdrs[1] = "User-Agent: vigil/" VIGIL_VERSION;
	sc->hdrs[2] = w->auth_header;
	sc->hdrs[3] = NULL;
	req->method = "POST";
	req->url = w->url;
	req->headers = sc->hdrs;
	req->body = sc->body;
	req->body_len = strlen(sc->body);
	ntf_http_apply(&w->net, req);
	req->max_response = SMS_RESPONSE_MAX;
	return 0;
}

static int
ntf_sms_finish(void *ctx, struct notifier_call *call, long status,
    const char *body, size_t len, struct ag_err *err)
{
	struct ntf_sms *w = ctx;
	struct sms_call *sc = call->priv;
	int rc = sms_classify(status, body, len, err);

	log_debug("sms[%s]: POST Messages to %s: HTTP %ld", w->name, w->to,
	    status);
	sc->accepted = rc == 0;
	return rc;
}

extern const struct notifier_ops ntf_sms_ops;

/* The blocking delivery: the same request, performed here. */
static int
ntf_sms_send(void *ctx, const struct notification *n, struct ag_err *err)
{
	struct ntf_sms *w = ctx;

	return ntf_http_send(&ntf_sms_ops, w, &w->net, n, err);
}

const struct notifier_ops ntf_sms_ops = {
	.type = "sms",
	.settings = ntf_sms_settings,
	.configure = ntf_sms_configure,
	.send = ntf_sms_send,
	.prepare = ntf_sms_prepare,
	.finish = ntf_sms_finish,
	.release = ntf_sms_release,
	.free = ntf_sms_free,
};
