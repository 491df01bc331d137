/*
 * log.h: the one logging module.  Foreground and under systemd it writes to
 * stderr (journald adds the time); log_use_syslog() switches to syslog(3).
 * lib/ itself never logs above debug.  Thread-safe.
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

/* log_set_timestamps(on): prefix stderr lines with the local time. */
void log_set_timestamps(int on);

void log_msg(enum log_level lvl, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define log_err(...) log_msg(LOG_LVL_ERR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_LVL_DEBUG, __VA_ARGS__)

#endif
