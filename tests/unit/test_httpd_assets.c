/*
 * test_httpd_assets.c: the web page built into the module
 * (agent/httpd/assets.h, cmake/EmbedAssets.cmake).
 *
 * Each asset holds exactly the bytes of its file in agent/httpd/www (and
 * uPlot's dist in its node_modules), with its content type and an ETag
 * made of its SHA-256; "/" is index.html; other paths, "/index.html",
 * "/assets/" or one with "..", find nothing.  Every asset that
 * index.html names (src=, href=) is served, and the page's own files name
 * no other host (no CDN, no fonts: the page works without internet).
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "agent/httpd/assets.h"
#include "lib/crypto/crypto.h"
#include "tests/unit/fakes/testutil.h"

/* The tests run in tests/ (tests/CMakeLists.txt). */
#define WWW "../agent/httpd/www/"
#define UPLOT WWW "node_modules/uplot/dist/"

static const struct {
	const char *path, *file, *ctype;
} want[] = {
	{ "/", WWW "index.html", "text/html; charset=utf-8" },
	{ "/assets/app.js", WWW "app.js", "text/javascript; charset=utf-8" },
	{ "/assets/app.css", WWW "app.css", "text/css; charset=utf-8" },
	{ "/assets/uPlot.iife.min.js", UPLOT "uPlot.iife.min.js",
	    "text/javascript; charset=utf-8" },
	{ "/assets/uPlot.min.css", UPLOT "uPlot.min.css",
	    "text/css; charset=utf-8" },
};

static void
test_bytes(void **state)
{
	(void)state;
	assert_int_equal(httpd_nassets, sizeof(want) / sizeof(want[0]));
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		const struct httpd_asset *a = httpd_asset_find(want[i].path);
		uint8_t sum[CRYPTO_SHA256_LEN];
		char etag[19];
		size_t len;
		uint8_t *file = tu_read_file(want[i].file, &len);

		assert_non_null(file);
		assert_non_null(a);
		assert_string_equal(a->path, want[i].path);
		assert_string_equal(a->ctype, want[i].ctype);
		assert_int_equal(a->len, len);
		assert_memory_equal(a->data, file, len);
		assert_int_equal(crypto_sha256(file, len, sum), 0);
		snprintf(etag, sizeof(etag),
		    "\"%02x%02x%02x%02x%02x%02x%02x%02x\"", sum[0], sum[1],
		    sum[2], sum[3], sum[4], sum[5], sum[6], sum[7]);
		assert_string_equal(a->etag, etag);
		free(file);
	}
}

static void
test_not_found(void **state)
{
	const char *bad[] = { "", "/index.html", "/assets/", "/assets",
		"/assets/../assets/app.js", "/assets/app.js/",
		"/assets/APP.JS", "/app.js", "//", "/assets/app.js?x=1",
		"/api/v1/status" };

	(void)state;
	assert_null(httpd_asset_find(NULL));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_null(httpd_asset_find(bad[i]));
}

/* Each src="..." and href="..." of index.html that is not data: */
static void
test_page_links(void **state)
{
	const struct httpd_asset *page = httpd_asset_find("/");
	char *html;
	int n = 0;

	(void)state;
	assert_non_null(page);
	/* The data has no NUL after it: copy, never strndup() past it. */
	html = malloc(page->len + 1);
	assert_non_null(html);
	memcpy(html, page->data, page->len);
	html[page->len] = '\0';
	for (const char *p = html; (p = strstr(p, "=\"")) != NULL; p += 2) {
		char url[256];
		const char *end;

		if (strncmp(p - 3, "src", 3) != 0 &&
		    strncmp(p - 4, "href", 4) != 0)
			continue;
		end = strchr(p + 2, '"');
		assert_non_null(end);
		assert_true((size_t)(end - p) < sizeof(url) - 1);
		/* The page's own views (#charts) and the empty icon. */
		if (p[2] == '#' || strncmp(p + 2, "data:", 5) == 0)
			continue;
		/* Relative, so that a reverse proxy may put it below a path. */
		assert_true(p[2] != '/');
		snprintf(url, sizeof(url), "/%.*s", (int)(end - p - 2), p + 2);
		if (httpd_asset_find(url) == NULL)
			fail_msg("index.html names %s, which is not served",
			    url);
		n++;
	}
	assert_int_equal(n, 4);
	free(html);
}

static void
test_no_other_host(void **state)
{
	const char *own[] = { "/", "/assets/app.js", "/assets/app.css" };

	(void)state;
	for (size_t i = 0; i < sizeof(own) / sizeof(own[0]); i++) {
		const struct httpd_asset *a = httpd_asset_find(own[i]);

		assert_non_null(a);
		if (memmem(a->data, a->len, "http://", 7) != NULL ||
		    memmem(a->data, a->len, "https://", 8) != NULL ||
		    memmem(a->data, a->len, "url(", 4) != NULL ||
		    memmem(a->data, a->len, "@import", 7) != NULL)
			fail_msg("%s names another host or loads a file",
			    own[i]);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bytes),
		cmocka_unit_test(test_not_found),
		cmocka_unit_test(test_page_links),
		cmocka_unit_test(test_no_other_host),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
