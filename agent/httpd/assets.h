/*
 * assets.h: the web page's files, built into libvigil-heavy.so.
 *
 * CMake (cmake/EmbedAssets.cmake) writes them into a generated C file at
 * build time: agent/httpd/www/index.html, app.js and app.css, and uPlot's
 * uPlot.iife.min.js and uPlot.min.css from agent/httpd/www/node_modules
 * (npm ci, packaging/setup.sh, pinned by www/package-lock.json).  So the
 * page needs nothing from outside the host: no CDN, no fonts.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef VIGIL_AGENT_HTTPD_ASSETS_H
#define VIGIL_AGENT_HTTPD_ASSETS_H

#include <stddef.h>

struct httpd_asset {
	const char *path;	   /* "/", "/assets/app.js", ... */
	const char *ctype;	   /* "text/html; charset=utf-8", ... */
	const unsigned char *data; /* the file's bytes */
	size_t len;
	const char *etag; /* "\"<16 hex digits of its SHA-256>\"", quoted */
};

/* The generated table (build folder: agent/httpd/assets_data.c). */
extern const struct httpd_asset httpd_assets[];
extern const size_t httpd_nassets;

/**
 * httpd_asset_find(path):
 * The asset served at ${path} (decoded, without the query: "/" is
 * index.html, "/assets/NAME" the rest), or NULL.
 */
const struct httpd_asset *httpd_asset_find(const char *path);

#endif /* !VIGIL_AGENT_HTTPD_ASSETS_H */
