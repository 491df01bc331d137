/*
 * ag.c: the error record shared by network-facing calls.  Its text reaches
 * logs, `vigil status` and the CLI, so it is redacted like a log line.
 */
#include <stdarg.h>
#include <stdio.h>

#include "lib/log.h"
#include "lib/ag.h"

int
ag_err_set(struct ag_err *err, const char *fmt, ...)
{
	va_list ap;
	char msg[AG_ERR_SIZE];

	if (err == NULL)
		return -1;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_redact(msg, err->msg, sizeof(err->msg));
	return -1;
}
