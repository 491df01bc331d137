/*
 * log.h: the one logging module.  Foreground and under systemd it writes to
 * stderr (journald adds the time); log_use_syslog() switches to syslog(3).
 * lib/ itself never logs above debug.  Thread-safe.
 *
 * Every line is redacted before it is written (log_redact()): the secrets
 * registered with log_secret_add() (the configuration's webhook secrets,
 * URL tokens, custom header values), the values of URL queries and the
 * passwords of URL user information, and the values of fields such as
 * Authorization or Cookie become "REDACTED"; control characters are
 * escaped, so one message is one line.  ag_err_set() applies the same to
 * error records, which reach `vigil status` and the CLI.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef VIGIL_LOG_H
#define VIGIL_LOG_H

enum log_level { LOG_LVL_ERR = 0, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

/* log_set_level(lvl): messages above ${lvl} are dropped. */
void log_set_level(enum log_level lvl);
enum log_level log_get_level(void);

/**
 * log_parse_level(s, ret_lvl):
 * Parse "error", "warning", "info" or "debug".  Return 0, or -1 if unknown.
 */
int log_parse_level(const char *s, enum log_level *ret_lvl);

/* log_use_syslog(ident): send messages to syslog(3) from now on. */
void log_use_syslog(const char *ident);

/**
 * log_reopen():
 * In a forked child that closed the descriptors it inherited: connect to
 * syslog afresh, if messages go there.
 */
void log_reopen(void);

/* log_set_timestamps(on): prefix stderr lines with the local time. */
void log_set_timestamps(int on);

/* What a redacted value is replaced by. */
#define LOG_REDACTED "REDACTED"

/* Secrets shorter than this are not registered: they would match anywhere. */
#define LOG_SECRET_MIN 4

/**
 * log_secret_add(s):
 * Redact ${s} from every later log line and error record, until as many
 * log_secret_remove(${s}) as there were adds (a reload keeps a secret that
 * both configurations use).  Strings shorter than LOG_SECRET_MIN bytes are
 * ignored.  Return 0, or -1 if out of memory.
 */
int log_secret_add(const char *s);

/* log_secret_remove(s): undo one log_secret_add(${s}); wipes the copy. */
void log_secret_remove(const char *s);

/**
 * log_redact(in, out, len):
 * Copy ${in} into ${out} (${len} bytes, truncated if need be) with the
 * registered secrets, URL query values ("?k=v&k2=v2" becomes
 * "?k=REDACTED&k2=REDACTED"), URL passwords ("//user:REDACTED@host") and
 * the values of sensitive fields (Authorization, Cookie, X-Api-Key,
 * token, password, ... followed by ':' or '=') replaced, and control
 * characters escaped (\n, \r, \xHH; tabs kept).  ${in} and ${out} may
 * not overlap.
 */
void log_redact(const char *in, char *out, size_t len);

/**
 * log_snippet(text, len, out, size):
 * Outside text (the start of a receiver's answer, ${len} bytes at
 * ${text}, which need not be NUL-terminated) made fit for a log line in
 * ${out} (${size} bytes): at most LOG_SNIPPET_MAX bytes of it, the values
 * of a block of header fields ("Name: value" lines, two or more) dropped,
 * then log_redact().  Return ${out}.
 */
#define LOG_SNIPPET_MAX 200
char *log_snippet(const char *text, size_t len, char *out, size_t size);

void log_msg(enum log_level lvl, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define log_err(...) log_msg(LOG_LVL_ERR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_LVL_DEBUG, __VA_ARGS__)

#endif
