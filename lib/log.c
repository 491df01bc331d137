/*
 * log.c: level filter, redaction, stderr or syslog output.  One write(2) per
 * message so lines from different threads never interleave.
 *
 * Redaction runs over the formatted message in two passes through a
 * bounded buffer: first every registered secret is replaced, then a scan
 * replaces what looks secret by its shape (URL query values, URL
 * passwords, values of sensitive fields) and escapes control characters.
 * The registry is a small array of reference-counted copies under a mutex;
 * a copy is wiped when its last reference goes.  Nothing here allocates
 * per line.
 *
 * The daemon forks backup children from a threaded process (agent/
 * job_child.c): both mutexes here, one around the registry and one around
 * the output (localtime_r() and syslog(), which hold C library locks), are
 * taken around every fork() by pthread_atfork() handlers, so that a child
 * never starts with one of them held by a thread it does not have.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <ctype.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "lib/ag.h"
#include "lib/log.h"

static enum log_level cur_level = LOG_LVL_INFO;
static int use_syslog;
static int use_timestamps;

static const char *const level_names[] = { "error", "warning", "info",
	"debug" };

/* The longest line, and the most text log_redact() looks at. */
#define LOG_LINE_MAX 2048

struct secret {
	char *s;
	size_t len;
	unsigned refs;
};

static pthread_mutex_t secrets_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t out_mu = PTHREAD_MUTEX_INITIALIZER;
static char syslog_ident[64];
static struct secret *secrets;
static size_t nsecrets, capsecrets;

/*
 * Fields whose value is a credential: headers, redacted after ':' or '='
 * ("Authorization: ..."), and parameters, redacted only as "name=..." or
 * as a JSON member ("\"token\": ..."), since words like "signature:" also
 * start ordinary messages.
 */
static const char *const sensitive_headers[] = {
	"authorization",
	"proxy-authorization",
	"cookie",
	"set-cookie",
	"x-api-key",
	"api-key",
	"x-auth-token",
	"x-vigil-signature",
};
static const char *const sensitive_params[] = {
	"access_token",
	"token",
	"secret",
	"client_secret",
	"password",
	"passwd",
	"api_key",
	"apikey",
	"signature",
	"sign",
};

void
log_set_level(enum log_level lvl)
{
	cur_level = lvl;
}

enum log_level
log_get_level(void)
{
	return cur_level;
}

int
log_parse_level(const char *s, enum log_level *ret_lvl)
{
	for (size_t i = 0; i < ARRAY_SIZE(level_names); i++) {
		if (strcmp(s, level_names[i]) == 0) {
			*ret_lvl = (enum log_level)i;
			return 0;
		}
	}
	return -1;
}

void
log_use_syslog(const char *ident)
{
	/* openlog() keeps the pointer: keep our own copy for log_reopen(). */
	snprintf(syslog_ident, sizeof(syslog_ident), "%s", ident);
	openlog(syslog_ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
	use_syslog = 1;
}

void
log_reopen(void)
{
	if (!use_syslog)
		return;
	closelog();
	openlog(syslog_ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

static void
log_fork_prepare(void)
{
	pthread_mutex_lock(&secrets_mu);
	pthread_mutex_lock(&out_mu);
}

static void
log_fork_done(void)
{
	pthread_mutex_unlock(&out_mu);
	pthread_mutex_unlock(&secrets_mu);
}

/* Before main(): the handlers must be in place before any thread forks. */
static void __attribute__((constructor)) log_fork_init(void)
{
	(void)pthread_atfork(log_fork_prepare, log_fork_done, log_fork_done);
}

void
log_set_timestamps(int on)
{
	use_timestamps = on;
}

int
log_secret_add(const char *s)
{
	struct secret *ns;
	size_t len = strlen(s);
	int rc = 0;

	if (len < LOG_SECRET_MIN)
		return 0;
	pthread_mutex_lock(&secrets_mu);
	for (size_t i = 0; i < nsecrets; i++) {
		if (secrets[i].len == len &&
		    memcmp(secrets[i].s, s, len) == 0) {
			secrets[i].refs++;
			goto out;
		}
	}
	if (nsecrets == capsecrets) {
		size_t ncap = capsecrets == 0 ? 8 : capsecrets * 2;

		if ((ns = realloc(secrets, ncap * sizeof(*ns))) == NULL) {
			rc = -1;
			goto out;
		}
		secrets = ns;
		capsecrets = ncap;
	}
	if ((secrets[nsecrets].s = strdup(s)) == NULL) {
		rc = -1;
		goto out;
	}
	secrets[nsecrets].len = len;
	secrets[nsecrets].refs = 1;
	nsecrets++;
out:
	pthread_mutex_unlock(&secrets_mu);
	return rc;
}

void
log_secret_remove(const char *s)
{
	size_t len = strlen(s);

	pthread_mutex_lock(&secrets_mu);
	for (size_t i = 0; i < nsecrets; i++) {
		if (secrets[i].len != len || memcmp(secrets[i].s, s, len) != 0)
			continue;
		if (--secrets[i].refs == 0) {
			/* explicit_bzero: the core links no OpenSSL. */
			explicit_bzero(secrets[i].s, len);
			free(secrets[i].s);
			secrets[i] = secrets[--nsecrets];
		}
		break;
	}
	pthread_mutex_unlock(&secrets_mu);
}

/* An output buffer that silently stops at its end. */
struct obuf {
	char *p;
	size_t size, n;
};

static void
put(struct obuf *o, const char *s, size_t len)
{
	if (o->n + 1 >= o->size)
		return;
	if (len > o->size - 1 - o->n)
		len = o->size - 1 - o->n;
	memcpy(o->p + o->n, s, len);
	o->n += len;
	o->p[o->n] = '\0';
}

/* Pass one: ${in} into ${o} with every registered secret replaced. */
static void
redact_secrets(const char *in, struct obuf *o)
{
	size_t i = 0, len = strlen(in), k;

	pthread_mutex_lock(&secrets_mu);
	while (i < len) {
		for (k = 0; k < nsecrets; k++)
			if (secrets[k].len <= len - i &&
			    memcmp(in + i, secrets[k].s, secrets[k].len) == 0)
				break;
		if (k < nsecrets) {
			put(o, LOG_REDACTED, strlen(LOG_REDACTED));
			i += secrets[k].len;
		} else {
			put(o, in + i, 1);
			i++;
		}
	}
	pthread_mutex_unlock(&secrets_mu);
}

/*
 * Does the character at ${p} end a value that is not quoted?  A colon
 * before a blank does: "GET /x?t=v: timed out".
 */
static bool
value_end(const char *p, bool spaces)
{
	char c = *p;

	return c == '\0' || (unsigned char)c < 0x20 || c == 0x7f ||
	    strchr("&#\"'<>,;\\", c) != NULL || (!spaces && c == ' ') ||
	    (c == ':' && (p[1] == ' ' || p[1] == '\0'));
}

static bool
key_char(char c)
{
	return isalnum((unsigned char)c) || strchr("_.-~%[]", c) != NULL;
}

/*
 * At ${p}, a sensitive field's name followed by its separator?  Return the
 * length up to the value (name, optional closing quote, ':' or '=', blanks,
 * optional opening quote) and whether the value is quoted and whether it may
 * hold spaces, or 0.
 */
static size_t
sensitive_at(const char *p, bool *ret_quoted, bool *ret_spaces)
{
	size_t nh = ARRAY_SIZE(sensitive_headers);

	for (size_t i = 0; i < nh + ARRAY_SIZE(sensitive_params); i++) {
		const char *name = i < nh ? sensitive_headers[i] :
					    sensitive_params[i - nh];
		size_t n = strlen(name), k;

		if (strncasecmp(p, name, n) != 0 || key_char(p[n]))
			continue;
		k = n;
		if (p[k] == '"')
			k++;
		/* A parameter's bare "name:" is text, not a field. */
		if ((p[k] != ':' && p[k] != '=') ||
		    (i >= nh && k == n && p[k] == ':'))
			continue;
		/* A header value runs to the end of its line. */
		*ret_spaces = p[k] == ':';
		k++;
		while (p[k] == ' ' || p[k] == '\t')
			k++;
		*ret_quoted = p[k] == '"';
		if (*ret_quoted)
			k++;
		return k;
	}
	return 0;
}

/* Pass two: redact by shape and escape control characters. */
static void
redact_shapes(const char *in, struct obuf *o)
{
	bool in_query = false, quoted, spaces;
	const char *p = in, *end, *at, *colon;
	char esc[8];
	size_t k;

	while (*p != '\0') {
		unsigned char c = (unsigned char)*p;

		/* scheme://user:password@host */
		if (c == ':' && p[1] == '/' && p[2] == '/') {
			end = p + 3 + strcspn(p + 3, "/?# \t\"'<>\\");
			for (at = end; at > p + 3 && at[-1] != '@'; at--)
				;
			colon = at > p + 3 ?
			    memchr(p + 3, ':', (size_t)(at - 1 - (p + 3))) :
			    NULL;
			if (colon != NULL) {
				put(o, p, (size_t)(colon + 1 - p));
				put(o, LOG_REDACTED, strlen(LOG_REDACTED));
				p = at - 1; /* the '@' */
				continue;
			}
		}
		/* ?key=value, and &key=value after it */
		if ((c == '?' && p > in && !isspace((unsigned char)p[-1])) ||
		    (c == '&' && in_query)) {
			for (k = 1; key_char(p[k]); k++)
				;
			if (k > 1 && p[k] == '=') {
				put(o, p, k + 1);
				put(o, LOG_REDACTED, strlen(LOG_REDACTED));
				for (p += k + 1; !value_end(p, false); p++)
					;
				in_query = true;
				continue;
			}
		}
		if (c != '&' && !key_char((char)c) && c != '=' && c != '/' &&
		    c != ':' && c != '?')
			in_query = false;
		/* Authorization: ..., token=..., "password": "..." */
		if ((p == in || !key_char(p[-1])) &&
		    (k = sensitive_at(p, &quoted, &spaces)) > 0) {
			put(o, p, k);
			put(o, LOG_REDACTED, strlen(LOG_REDACTED));
			for (p += k; *p != '\0'; p++) {
				if (quoted ? *p == '"' : value_end(p, spaces))
					break;
			}
			continue;
		}
		if (c < 0x20 && c != '\t') {
			snprintf(esc, sizeof(esc),
			    c == '\n'	  ? "\\n" :
				c == '\r' ? "\\r" :
					    "\\x%02x",
			    c);
			put(o, esc, strlen(esc));
		} else if (c == 0x7f) {
			put(o, "\\x7f", 4);
		} else {
			put(o, p, 1);
		}
		p++;
	}
}

void
log_redact(const char *in, char *out, size_t len)
{
	char tmp[LOG_LINE_MAX * 2];
	struct obuf a = { tmp, sizeof(tmp), 0 }, b = { out, len, 0 };

	if (len == 0)
		return;
	tmp[0] = out[0] = '\0';
	redact_secrets(in, &a);
	redact_shapes(tmp, &b);
}

/* Is the line at ${p} (up to ${end}) a header field, "Name: value"? */
static bool
header_line(const char *p, const char *end)
{
	const char *q = p;

	while (q < end && (isalnum((unsigned char)*q) || *q == '-'))
		q++;
	return q > p && q + 1 < end && q[0] == ':' &&
	    (q[1] == ' ' || q[1] == '\t');
}

char *
log_snippet(const char *text, size_t len, char *out, size_t size)
{
	char raw[LOG_SNIPPET_MAX + 1];
	struct obuf o = { raw, sizeof(raw), 0 };
	const char *p, *end, *eol, *next;
	bool prev_hdr = false;

	raw[0] = '\0';
	if (len > LOG_SNIPPET_MAX)
		len = LOG_SNIPPET_MAX;
	end = text != NULL ? text + len : text;
	/* Keep the names of a block of header fields, not their values. */
	for (p = text; p != NULL && p < end; p = next) {
		eol = memchr(p, '\n', (size_t)(end - p));
		next = eol != NULL ? eol + 1 : end;
		if (eol == NULL)
			eol = end;
		if (header_line(p, eol) &&
		    (prev_hdr || (next < end && header_line(next, end)))) {
			put(&o, p,
			    (size_t)((const char *)memchr(p, ':',
					 (size_t)(eol - p)) -
				p) +
				2);
			put(&o, LOG_REDACTED, strlen(LOG_REDACTED));
			if (next > eol)
				put(&o, "\n", 1);
			prev_hdr = true;
		} else {
			/* NUL bytes would cut the rest off. */
			for (const char *q = p; q < next; q++)
				put(&o, *q != '\0' ? q : " ", 1);
			prev_hdr = false;
		}
	}
	log_redact(raw, out, size);
	return out;
}

void
log_msg(enum log_level lvl, const char *fmt, ...)
{
	static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO,
		LOG_DEBUG };
	char line[LOG_LINE_MAX], msg[LOG_LINE_MAX];
	size_t n = 0;
	va_list ap;

	if (lvl > cur_level)
		return;
	if (!use_syslog && use_timestamps) {
		time_t t = time(NULL);
		struct tm tm;

		pthread_mutex_lock(&out_mu);
		localtime_r(&t, &tm);
		pthread_mutex_unlock(&out_mu);
		n = strftime(line, sizeof(line), "%Y-%m-%d %H:%M:%S ", &tm);
	}
	if (!use_syslog && lvl != LOG_LVL_INFO)
		n += (size_t)snprintf(line + n, sizeof(line) - n,
		    "%s: ", level_names[lvl]);
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_redact(msg, line + n, sizeof(line) - n);
	if (use_syslog) {
		pthread_mutex_lock(&out_mu);
		syslog(prio[lvl], "%s", line);
		pthread_mutex_unlock(&out_mu);
		return;
	}
	n = strlen(line);
	if (n < sizeof(line) - 1)
		line[n++] = '\n';
	else
		line[sizeof(line) - 2] = '\n', n = sizeof(line) - 1;
	(void)!write(STDERR_FILENO, line, n);
}
