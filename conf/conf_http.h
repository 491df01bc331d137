/*
 * conf_http.h: the http group of vigil.conf (docs/API.md): where the
 * server listens, TLS, the tokens file, restore roots and limits.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef VIGIL_CONF_HTTP_H
#define VIGIL_CONF_HTTP_H

#include <sys/socket.h>

#include "conf/conf.h"

/**
 * conf_http_read(e, group, ret):
 * Read the http group ${group} (NULL: no server) into ${ret}: listen
 * ("127.0.0.1:9717", "[::1]:9717", "0.0.0.0:9717"), tls_cert with tls_key,
 * tokens_file (required unless metrics_public and nothing else is
 * wanted: the API needs tokens), metrics_public, restore_roots (absolute
 * folders), max_connections (1-1024, default 32), timeout (default 30s),
 * max_body (default 64 KiB, at most 16 MiB) and history (a group, checked
 * by agent/history.h).  Errors go to ${e}.  Return 0 or -1; free with
 * conf_http_free() either way.
 */
int conf_http_read(struct conf_errs *e, const conf_node *group,
    struct http_conf *ret);

/* conf_http_free(h): free what ${h} holds and zero it. */
void conf_http_free(struct http_conf *h);

/**
 * conf_http_addr(listen, ret, ret_len):
 * The socket address of ${listen} ("HOST:PORT" with HOST an IPv4 address
 * or a bracketed IPv6 one).  Return 0 or -1 (not such an address).
 */
int conf_http_addr(const char *listen, struct sockaddr_storage *ret,
    socklen_t *ret_len);

#endif /* !VIGIL_CONF_HTTP_H */
