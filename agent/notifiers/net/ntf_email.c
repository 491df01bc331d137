/*
 * ntf_email.c: the "email" notifier submits each notification as a mail
 * over SMTP (libcurl, through lib/http's SMTP requests):
 *
 *	notifiers = ( { name = "oncall"; type = "email";
 *	    url = "smtp://email-smtp.eu-west-1.amazonaws.com:587";
 *	    from = "vigil@example.com"; to = [ "ops@example.com" ];
 *	    username = "AKIA..."; password_file = "/etc/vigil/ses.pw"; } );
 *
 * Settings: url (required, smtp://host[:port] (default port 25, 587 for
 * submission) or smtps://host[:port] (TLS from the start, 465)), from
 * (required, the envelope and header sender, a plain address), to
 * (required, one address or a list of at most EMAIL_RCPT_MAX), username
 * with password / password_file / password_env (AUTH; libcurl picks PLAIN
 * or LOGIN, whatever the server offers), starttls (default true: an
 * smtp:// server must offer STARTTLS, or nothing is sent, neither the
 * password nor the message; false sends in clear, for a relay on the same
 * host), timeout (default 30s), connect_timeout (default 10s), tls_verify
 * (default true), ca_file.
 *
 * The message (email_message()) is plain text: a Subject that says state,
 * rule, host and value (the sns notifier's one-line summary, RFC 2047
 * encoded when not ASCII), a Message-ID "<id@host>" made from the
 * notification id, so that a retried send is recognisable as the same
 * message, the notification's time as Date, and the body of the sns
 * notifier's plain text (what, where, value, threshold, since, the labels
 * of a cloud metric, the id).
 *
 * A delivery goes through the sender's multi handle like an HTTP
 * notifier's: prepare() builds the message and the SMTP request, finish()
 * judges the server's last reply code: 2xx/3xx accepted, 4xx (and
 * transport failures: refused connection, timeout) retried, 5xx dropped
 * with the server's reply in the log.  A 5xx to AUTH (535: bad username
 * or password) is dropped as well, like an HTTP notifier's 401: the
 * credentials will not mend themselves, and a queue stuck behind them
 * would hold every later alert; the log line says that AUTH was refused.
 * A server that does not offer STARTTLS when it is required is a
 * permanent failure, before AUTH.  The password is registered with
 * log_secret_add() for as long as the notifier lives.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "lib/ag.h"
#include "lib/buf.h"
#include "lib/crypto/crypto.h"
#include "lib/http/http.h"
#include "lib/log.h"
#include "lib/utf8.h"
#include "agent/notify.h"
#include "agent/notify_backend.h"
#include "agent/notifiers/net/ntf_email_internal.h"
#include "agent/notifiers/net/ntf_http.h"
#include "agent/notifiers/net/ntf_sns_internal.h"

#define EMAIL_TIMEOUT_DEFAULT_MS 30000
#define EMAIL_CONNECT_TIMEOUT_DEFAULT_MS 10000
#define EMAIL_RCPT_MAX 50
#define EMAIL_ADDRESS_MAX 254
#define EMAIL_URL_MAX 512
#define EMAIL_MESSAGE_MAX (64 * 1024)
/* Raw bytes per RFC 2047 encoded word: 52 base64 characters + 12. */
#define EMAIL_WORD_RAW 39

struct ntf_email {
	char *name;
	char *url;
	char *from;
	char **to; /* NULL-terminated */
	char *username;
	char *password; /* wiped on free */
	bool starttls;
	struct ntf_http net; /* timeouts, TLS, send()'s client */
};

static const char *const ntf_email_settings[] = { "url", "from", "to",
	"username", "password", "password_file", "password_env", "starttls",
	"timeout", "connect_timeout", "tls_verify", "ca_file", NULL };

/* ---- the message ---- */

void
email_date(int64_t ms, char *buf, size_t len)
{
	static const char *const days[] = { "Sun", "Mon", "Tue", "Wed", "Thu",
		"Fri", "Sat" };
	static const char *const months[] = { "Jan", "Feb", "Mar", "Apr",
		"May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL) {
		snprintf(buf, len, "Thu, 01 Jan 1970 00:00:00 +0000");
		return;
	}
	snprintf(buf, len, "%s, %02d %s %04d %02d:%02d:%02d +0000",
	    days[tm.tm_wday], tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900,
	    tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* RFC 5322 atext. */
static int
atext(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') ||
	    (c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

int
email_valid_address(const char *a)
{
	const char *at = strrchr(a, '@');

	if (at == NULL || at == a || at[1] == '\0' ||
	    strlen(a) > EMAIL_ADDRESS_MAX)
		return 0;
	for (const char *p = a; *p != '\0'; p++) {
		if (p != at && !atext(*p) && *p != '.')
			return 0;
	}
	return a[0] != '.' && at[-1] != '.' && at[1] != '.' &&
	    a[strlen(a) - 1] != '.' && strstr(a, "..") == NULL;
}

/* ${s} as dot-atom text: other characters and stray dots become '-'. */
static void
dot_atom(struct buf *b, const char *s, size_t max)
{
	size_t n = 0;

	for (; *s != '\0' && n < max; s++, n++) {
		char c = *s;

		if (c == '.' && (n == 0 || s[1] == '\0' || s[1] == '.'))
			c = '-';
		else if (c != '.' && !atext(c))
			c = '-';
		buf_append(b, &c, 1);
	}
	if (n == 0)
		buf_puts(b, "vigil");
}

/* Is ${s} printable ASCII only? */
static int
ascii(const char *s)
{
	for (; *s != '\0'; s++) {
		if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
			return 0;
	}
	return 1;
}

/*
 * The Subject header for ${s} (one line of text without controls): as is
 * when ASCII, folded at blanks to EMAIL_LINE_SOFT where it can; else RFC
 * 2047 "B" encoded words of whole UTF-8 characters, one per line.
 */
static void
subject(struct buf *b, const char *s)
{
	size_t col = 8, n, k;
	uint32_t cp;
	char word[4 * EMAIL_WORD_RAW];

	buf_puts(b, "Subject:");
	if (ascii(s)) {
		while (*s != '\0') {
			/* One blank and the word after it. */
			n = strspn(s, " ");
			n += strcspn(s + n, " ");
			if (col > 9 && col + 1 + n > EMAIL_LINE_SOFT) {
				buf_puts(b, "\r\n");
				col = 0;
			}
			if (*s != ' ') {
				buf_puts(b, " ");
				col++;
			}
			buf_append(b, s, n);
			col += n;
			s += n;
		}
		buf_puts(b, "\r\n");
		return;
	}
	while (*s != '\0') {
		for (n = 0; s[n] != '\0'; n += k) {
			if ((k = utf8_seq((const unsigned char *)s + n,
				 &cp)) == 0)
				k = 1;
			if (n + k > EMAIL_WORD_RAW)
				break;
		}
		(void)crypto_base64((const uint8_t *)s, n, word, sizeof(word));
		buf_puts(b, " =?UTF-8?B?");
		buf_puts(b, word);
		buf_puts(b, "?=\r\n");
		s += n;
	}
}

/* "To:" with the addresses, folded after commas. */
static void
to_header(struct buf *b, const char *const *to)
{
	size_t col = 3, n;

	buf_puts(b, "To:");
	for (size_t i = 0; to[i] != NULL; i++) {
		n = strlen(to[i]);
		if (i > 0 && col + 2 + n > EMAIL_LINE_SOFT) {
			buf_puts(b, "\r\n");
			col = 0;
		}
		buf_puts(b, " ");
		buf_puts(b, to[i]);
		col += 1 + n;
		if (to[i + 1] != NULL) {
			buf_puts(b, ",");
			col++;
		}
	}
	buf_puts(b, "\r\n");
}

/*
 * The text ${t} with CRLF line ends, lines longer than EMAIL_LINE_MAX
 * bytes cut on a character boundary.
 */
static void
body(struct buf *b, const char *t)
{
	size_t n, cut, k;
	uint32_t cp;

	while (*t != '\0') {
		n = strcspn(t, "\n");
		while (n > EMAIL_LINE_MAX) {
			for (cut = 0; cut < EMAIL_LINE_MAX; cut += k) {
				k = utf8_seq((const unsigned char *)t + cut,
				    &cp);
				if (k == 0)
					k = 1;
				if (cut + k > EMAIL_LINE_MAX)
					break;
			}
			buf_append(b, t, cut);
			buf_puts(b, "\r\n");
			t += cut;
			n -= cut;
		}
		buf_append(b, t, n);
		buf_puts(b, "\r\n");
		t += n;
		if (*t == '\n')
			t++;
	}
}

char *
email_message(const char *from, const char *const *to,
    const struct notification *n, size_t *ret_len)
{
	char date[64], subj[4 * SNS_SUBJECT_MAX + 8];
	char *text;
	struct buf b;

	if ((text = sns_text(n)) == NULL)
		return NULL;
	buf_init(&b, EMAIL_MESSAGE_MAX);
	email_date(n->ts_ms, date, sizeof(date));
	buf_puts(&b, "Date: ");
	buf_puts(&b, date);
	buf_puts(&b, "\r\nFrom: ");
	buf_puts(&b, from);
	buf_puts(&b, "\r\n");
	to_header(&b, to);
	sns_subject(n, subj, sizeof(subj));
	subject(&b, subj);
	buf_puts(&b, "Message-ID: <");
	dot_atom(&b, n->id, sizeof(n->id));
	buf_puts(&b, "@");
	dot_atom(&b, n->host, sizeof(n->host));
	buf_puts(&b,
	    ">\r\nMIME-Version: 1.0\r\n"
	    "Content-Type: text/plain; charset=utf-8\r\n"
	    "Content-Transfer-Encoding: 8bit\r\n"
	    "Auto-Submitted: auto-generated\r\n"
	    "X-Vigil-Id: ");
	dot_atom(&b, n->id, sizeof(n->id));
	buf_puts(&b, "\r\n\r\n");
	body(&b, text);
	free(text);
	if (b.err != 0) {
		buf_free(&b);
		return NULL;
	}
	*ret_len = b.len;
	return buf_take(&b);
}

/* ---- configuration ---- */

static void
ntf_email_free(void *ctx)
{
	struct ntf_email *w = ctx;

	if (w == NULL)
		return;
	ntf_http_free(&w->net);
	if (w->password != NULL) {
		log_secret_remove(w->password);
		conf_secret_free(w->password);
	}
	ag_strv_free(w->to);
	free(w->username);
	free(w->from);
	free(w->url);
	free(w->name);
	free(w);
}

/* smtp://host[:port] or smtps://host[:port], nothing else. */
static int
valid_url(const char *u)
{
	const char *h;

	if (strncasecmp(u, "smtps://", 8) == 0)
		h = u + 8;
	else if (strncasecmp(u, "smtp://", 7) == 0)
		h = u + 7;
	else
		return 0;
	if (*h == '\0' || *h == ':' || strlen(u) > EMAIL_URL_MAX)
		return 0;
	/* A path names the EHLO domain for libcurl: allow none. */
	return strpbrk(h, "/?#@ \t\r\n") == NULL;
}

static int
ntf_email_configure(void **ret_ctx, const conf_node *cs,
    struct conf_errs *errs)
{
	struct conf_errs scratch = { 0 };
	struct ntf_email *w;
	const char *url = NULL, *from = NULL, *user = NULL, *name = NULL;
	size_t nto = 0, nerr = errs->n;
	int bad = 0;

	if ((w = calloc(1, sizeof(*w))) == NULL)
		return conf_error(errs, cs, "out of memory");
	w->starttls = true;

	(void)conf_get_str(&scratch, cs, "name", false, &name);
	conf_errs_free(&scratch);
	if ((w->name = strdup(name != NULL ? name : "email")) == NULL)
		goto oom;
	if (conf_get_str(errs, cs, "url", true, &url) == 1) {
		if (!valid_url(url))
			bad = conf_error_at(errs, cs, "url",
			    "must be smtp://host[:port] or "
			    "smtps://host[:port]");
		else if ((w->url = strdup(url)) == NULL)
			goto oom;
	} else {
		bad = -1;
	}
	if (conf_get_str(errs, cs, "from", true, &from) == 1) {
		if (!email_valid_address(from))
			bad = conf_error_at(errs, cs, "from",
			    "\"%.64s\" is not a plain address (user@domain)",
			    from);
		else if ((w->from = strdup(from)) == NULL)
			goto oom;
	} else {
		bad = -1;
	}
	if (conf_get_strv(errs, cs, "to", true, &w->to, &nto) == 1) {
		if (nto == 0 || nto > EMAIL_RCPT_MAX)
			bad = conf_error_at(errs, cs, "to",
			    "between 1 and %d addresses", EMAIL_RCPT_MAX);
		for (size_t i = 0; i < nto; i++)
			if (!email_valid_address(w->to[i]))
				bad = conf_error_at(errs, cs, "to",
				    "\"%.64s\" is not a plain address "
				    "(user@domain)",
				    w->to[i]);
	} else {
		bad = -1;
	}
	if (conf_get_str(errs, cs, "username", false, &user) == 1 &&
	    (w->username = strdup(user)) == NULL)
		goto oom;
	if (conf_get_secret(errs, cs, "password", false, &w->password) == -1) {
		bad = -1;
	} else if (w->password != NULL) {
		if (log_secret_add(w->password) != 0)
			goto oom;
		if (w->username == NULL)
			bad = conf_error_at(errs, cs, "password",
			    "needs a username");
	} else if (w->username != NULL) {
		bad = conf_error_at(errs, cs, "username",
		    "needs password, password_file or password_env");
	}
	if (conf_get_bool(errs, cs, "starttls", false, &w->starttls) == -1)
		bad = -1;
	if (ntf_http_configure(&w->net, cs, errs, EMAIL_TIMEOUT_DEFAULT_MS,
		EMAIL_CONNECT_TIMEOUT_DEFAULT_MS) != 0)
		bad = -1;
	if (bad != 0 || errs->n > nerr) {
		ntf_email_free(w);
		return -1;
	}
	*ret_ctx = w;
	return 0;
oom:
	ntf_email_free(w);
	return conf_error(errs, cs, "out of memory");
}

/* ---- delivery ---- */

struct email_call {
	struct http_smtp smtp;
	char id[sizeof(((struct notification *)0)->id)];
	char *msg;
};

static void
ntf_email_release(void *ctx, struct notifier_call *call)
{
	struct email_call *ec = call->priv;

	(void)ctx;
	if (ec == NULL)
		return;
	free(ec->msg);
	free(ec);
	call->priv = NULL;
}

static int
ntf_email_prepare(void *ctx, const struct notification *n,
    struct notifier_call *call, struct ag_err *err)
{
	struct ntf_email *w = ctx;
	struct email_call *ec;
	struct http_req *req = &call->req;
	size_t len = 0;

	if ((ec = calloc(1, sizeof(*ec))) == NULL)
		return ag_err_set(err, "out of memory");
	call->priv = ec;
	snprintf(ec->id, sizeof(ec->id), "%s", n->id);
	if ((ec->msg = email_message(w->from, (const char *const *)w->to, n,
		 &len)) == NULL) {
		ntf_email_release(w, call);
		return ag_err_set(err, "cannot build the message");
	}
	ec->smtp.from = w->from;
	ec->smtp.rcpt = (const char *const *)w->to;
	ec->smtp.require_tls = w->starttls;
	ec->smtp.username = w->username;
	ec->smtp.password = w->password;

	memset(req, 0, sizeof(*req));
	req->url = w->url;
	req->smtp = &ec->smtp;
	req->body = ec->msg;
	req->body_len = len;
	ntf_http_apply(&w->net, req);
	req->max_response = 4096;
	return 0;
}

/*
 * The server's last reply ${status} (its text ${body}): 2xx/3xx accepted,
 * 4xx retried, 5xx dropped.
 */
static int
ntf_email_finish(void *ctx, struct notifier_call *call, long status,
    const char *body, size_t len, struct ag_err *err)
{
	struct ntf_email *w = ctx;
	struct email_call *ec = call->priv;
	const char *what;

	log_debug("email[%s]: message %s: SMTP %ld", w->name, ec->id, status);
	if (status >= 200 && status < 400)
		return 0;
	what = status == 530 || status == 534 || status == 535 ||
		status == 454 ?
	    "authentication refused, check username and password: " :
	    "";
	(void)ag_err_set(err, "SMTP %ld: %s%.*s", status, what,
	    (int)(len > 200 ? 200 : len), body != NULL ? body : "");
	return status >= 400 && status < 500 ? AG_RETRY : -1;
}

extern const struct notifier_ops ntf_email_ops;

/* The blocking delivery: the same request, performed here. */
static int
ntf_email_send(void *ctx, const struct notification *n, struct ag_err *err)
{
	struct ntf_email *w = ctx;

	return ntf_http_send(&ntf_email_ops, w, &w->net, n, err);
}

const struct notifier_ops ntf_email_ops = {
	.type = "email",
	.settings = ntf_email_settings,
	.configure = ntf_email_configure,
	.send = ntf_email_send,
	.prepare = ntf_email_prepare,
	.finish = ntf_email_finish,
	.release = ntf_email_release,
	.free = ntf_email_free,
};
