/*
 * conf_http.c: the http group (conf/conf_http.h).
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf_http.h"

static const char *const http_keys[] = { "listen", "tls_cert", "tls_key",
	"tokens_file", "metrics_public", "restore_roots", "max_connections",
	"timeout", "max_body", "history", NULL };

int
conf_http_addr(const char *listen, struct sockaddr_storage *ret,
    socklen_t *ret_len)
{
	char host[64];
	const char *colon, *h = listen;
	size_t hl;
	char *end;
	long port;

	memset(ret, 0, sizeof(*ret));
	if (listen[0] == '[') {
		const char *close = strchr(listen, ']');

		if (close == NULL || close[1] != ':')
			return -1;
		h = listen + 1;
		hl = (size_t)(close - h);
		colon = close + 1;
	} else {
		if ((colon = strrchr(listen, ':')) == NULL)
			return -1;
		hl = (size_t)(colon - listen);
	}
	if (hl == 0 || hl >= sizeof(host))
		return -1;
	memcpy(host, h, hl);
	host[hl] = '\0';
	port = strtol(colon + 1, &end, 10);
	if (colon[1] == '\0' || *end != '\0' || port < 1 || port > 65535)
		return -1;
	if (listen[0] == '[') {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ret;

		if (inet_pton(AF_INET6, host, &s6->sin6_addr) != 1)
			return -1;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		*ret_len = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ret;

		if (inet_pton(AF_INET, host, &s4->sin_addr) != 1)
			return -1;
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		*ret_len = sizeof(*s4);
	}
	return 0;
}

static char *
abs_path(struct conf_errs *e, const conf_node *g, const char *name)
{
	const char *s;

	if (conf_get_str(e, g, name, false, &s) != 1)
		return NULL;
	if (s[0] != '/') {
		conf_error_at(e, g, name, "must be an absolute path");
		return NULL;
	}
	return strdup(s);
}

int
conf_http_read(struct conf_errs *e, const conf_node *g, struct http_conf *h)
{
	size_t before = e->total;
	struct sockaddr_storage ss;
	socklen_t len;
	const char *s;
	uint64_t body = 64 * 1024;

	memset(h, 0, sizeof(*h));
	h->max_connections = 32;
	h->timeout_ms = 30000;
	h->max_body = (int64_t)body;
	if (g == NULL)
		return 0;
	if (!conf_is_group(g))
		return conf_error(e, g,
		    "must be a group: http = { listen = \"127.0.0.1:9717\"; };");
	conf_check_keys(e, g, http_keys);
	if (conf_get_str(e, g, "listen", true, &s) == 1) {
		if (conf_http_addr(s, &ss, &len) != 0)
			conf_error_at(e, g, "listen",
			    "\"%s\" is not ADDRESS:PORT (\"127.0.0.1:9717\", "
			    "\"[::1]:9717\")",
			    s);
		h->listen = strdup(s);
	}
	h->tls_cert = abs_path(e, g, "tls_cert");
	h->tls_key = abs_path(e, g, "tls_key");
	if ((h->tls_cert == NULL) != (h->tls_key == NULL))
		conf_error_at(e, g,
		    h->tls_cert != NULL ? "tls_cert" : "tls_key",
		    "needs %s as well",
		    h->tls_cert != NULL ? "tls_key" : "tls_cert");
	h->tokens_file = abs_path(e, g, "tokens_file");
	(void)conf_get_bool(e, g, "metrics_public", false, &h->metrics_public);
	if (conf_get_strv(e, g, "restore_roots", false, &h->restore_roots,
		&h->nrestore_roots) == 1) {
		for (size_t i = 0; i < h->nrestore_roots; i++)
			if (h->restore_roots[i][0] != '/' ||
			    strcmp(h->restore_roots[i], "/") == 0)
				conf_error_at(e, g, "restore_roots",
				    "\"%s\" must be an absolute folder other "
				    "than /",
				    h->restore_roots[i]);
	}
	if (h->tokens_file == NULL && !h->metrics_public)
		conf_error_at(e, g, "tokens_file",
		    "is needed: without tokens nothing could be read (or set "
		    "metrics_public = true for an open /metrics alone)");
	(void)conf_get_int(e, g, "max_connections", false, 1, 1024,
	    &h->max_connections);
	(void)conf_get_dur(e, g, "timeout", false, 1000, &h->timeout_ms);
	if (conf_get_size(e, g, "max_body", false, &body) == 1) {
		if (body < 1024 || body > 16 * 1024 * 1024)
			conf_error_at(e, g, "max_body",
			    "must be between 1 KiB and 16 MiB");
		h->max_body = (int64_t)body;
	}
	h->history = conf_member(g, "history");
	if (h->history != NULL && !conf_is_group(h->history))
		conf_error(e, h->history,
		    "must be a group: history = { ... };");
	if ((h->listen == NULL && conf_member(g, "listen") != NULL))
		return conf_error(e, g, "out of memory");
	return e->total == before ? 0 : -1;
}

void
conf_http_free(struct http_conf *h)
{
	free(h->listen);
	free(h->tls_cert);
	free(h->tls_key);
	free(h->tokens_file);
	ag_strv_free(h->restore_roots);
	memset(h, 0, sizeof(*h));
}
