/*
 * log.c: level filter, stderr or syslog output.  One write(2) per message so
 * lines from different threads never interleave.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
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
	openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
	use_syslog = 1;
}

void
log_set_timestamps(int on)
{
	use_timestamps = on;
}

void
log_msg(enum log_level lvl, const char *fmt, ...)
{
	static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };
	char line[2048];
	size_t n = 0;
	va_list ap;

	if (lvl > cur_level)
		return;
	if (!use_syslog && use_timestamps) {
		time_t t = time(NULL);
		struct tm tm;

		localtime_r(&t, &tm);
		n = strftime(line, sizeof(line), "%Y-%m-%d %H:%M:%S ", &tm);
	}
	if (!use_syslog && lvl != LOG_LVL_INFO)
		n += (size_t)snprintf(line + n, sizeof(line) - n, "%s: ",
		    level_names[lvl]);
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	va_end(ap);
	if (use_syslog) {
		syslog(prio[lvl], "%s", line);
		return;
	}
	n = strlen(line);
	if (n < sizeof(line) - 1)
		line[n++] = '\n';
	else
		line[sizeof(line) - 2] = '\n', n = sizeof(line) - 1;
	(void)!write(STDERR_FILENO, line, n);
}
