/*
 * ag.c: the error record shared by network-facing calls.
 */
#include <stdarg.h>
#include <stdio.h>

#include "lib/ag.h"

int
ag_err_set(struct ag_err *err, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return -1;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return -1;
}
