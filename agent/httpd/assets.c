/*
 * assets.c: find one of the page's files built into the module
 * (agent/httpd/assets.h).
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <string.h>

#include "agent/httpd/assets.h"

const struct httpd_asset *
httpd_asset_find(const char *path)
{
	if (path == NULL)
		return NULL;
	for (size_t i = 0; i < httpd_nassets; i++)
		if (strcmp(httpd_assets[i].path, path) == 0)
			return &httpd_assets[i];
	return NULL;
}
