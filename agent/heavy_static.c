/*
 * heavy_static.c: heavy_get() for programs that link the heavy code in
 * (vigil, the unit tests): the table is simply there.  See heavy.h.
 */
#include "agent/heavy.h"

const struct heavy_api *
heavy_get(struct ag_err *err)
{
	(void)err;
	return &vigil_heavy_api;
}
