/*
 * src_network.c: the "network" source: per-interface traffic, error and
 * drop rates from /proc/net/dev.
 *
 * After two header lines, each line is "name: " and sixteen counters:
 * eight received (bytes, packets, errs, drop, fifo, frame, compressed,
 * multicast) and eight transmitted (bytes, packets, errs, drop, fifo,
 * colls, carrier, compressed).  Rates come from the difference of two
 * samples over out->mono_ms, so the first collection only primes, and an
 * interface seen for the first time is primed then.  A counter that went
 * backwards (the interface was re-created, a 32-bit driver counter
 * wrapped) gives no rate for that sample (see metric_rate()).
 *
 * Settings: interfaces (default: all but "lo"); a listed interface that is
 * missing makes collect() fail naming it, while the others still report.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/ag.h"
#include "agent/source_backend.h"
#include "agent/sources/src.h"

/* Most interfaces in one sample (container hosts have many veths). */
#define NET_MAX 4096

/* Counters kept per interface, in src_series.c[]. */
enum { C_RXB, C_TXB, C_RXERR, C_TXERR, C_RXDROP };

static const char *const net_settings[] = { "interfaces", NULL };

static const char *const net_suffixes[] = { "rx_bytes_per_s", "tx_bytes_per_s",
	"rx_errors_per_s", "tx_errors_per_s", "rx_drops_per_s", NULL };

static const char *const net_patterns_all[] = { "net.*.rx_bytes_per_s",
	"net.*.tx_bytes_per_s", "net.*.rx_errors_per_s",
	"net.*.tx_errors_per_s", "net.*.rx_drops_per_s", NULL };

struct net_ctx {
	char **ifaces;	 /* chosen interfaces, or NULL: all but lo */
	char **patterns; /* exact names when ifaces is set */
	struct src_series_set prev, cur;
	bool primed;
};

static void
net_free(void *ctx)
{
	struct net_ctx *c = ctx;

	if (c == NULL)
		return;
	ag_strv_free(c->ifaces);
	ag_strv_free(c->patterns);
	src_series_free(&c->prev);
	src_series_free(&c->cur);
	free(c);
}

static int
net_configure(void **ret_ctx, const conf_node *cs, struct conf_errs *errs)
{
	struct net_ctx *c;
	size_t n;
	int rc = 0;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return conf_error(errs, cs, "out of memory");
	src_series_init(&c->prev, NET_MAX);
	src_series_init(&c->cur, NET_MAX);
	if (cs != NULL &&
	    conf_get_strv(errs, cs, "interfaces", false, &c->ifaces, &n) ==
		1) {
		if (n == 0)
			rc = conf_error_at(errs, cs, "interfaces",
			    "must not "
			    "be empty (leave it out to report all but lo)");
		for (size_t i = 0; i < n; i++)
			if (c->ifaces[i][0] == '\0' ||
			    strlen(c->ifaces[i]) >= SRC_SERIES_NAME ||
			    strpbrk(c->ifaces[i], "/: \t") != NULL)
				rc = conf_error_at(errs, cs, "interfaces",
				    "\"%s\" is not an interface name",
				    c->ifaces[i]);
		if (rc == 0 &&
		    (c->patterns = src_patterns_new("net", c->ifaces,
			 net_suffixes)) == NULL)
			rc = conf_error(errs, cs, "out of memory");
	}
	if (rc == -1) {
		net_free(c);
		return -1;
	}
	*ret_ctx = c;
	return 0;
}

static int
net_line(void *cookie, char *line, struct ag_err *err)
{
	struct net_ctx *c = cookie;
	uint64_t v[12], ctr[SRC_SERIES_CTRS];
	char *colon, *name;

	/* The header lines have no colon. */
	if ((colon = strchr(line, ':')) == NULL)
		return 0;
	*colon = '\0';
	name = line + strspn(line, " \t");
	if (*name == '\0' || strlen(name) >= SRC_SERIES_NAME)
		return 0;
	/* Old kernels print "eth0:123" without a space: scan after ':'. */
	if (sscanf(colon + 1,
		"%" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64
		" %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64
		" %" SCNu64 " %" SCNu64,
		&v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], &v[8],
		&v[9], &v[10], &v[11]) != 12)
		return ag_err_set(err, "bad /proc/net/dev line for %s", name);
	if (c->ifaces != NULL ? !src_strv_has(c->ifaces, name) :
				strcmp(name, "lo") == 0)
		return 0;
	ctr[C_RXB] = v[0];
	ctr[C_RXERR] = v[2];
	ctr[C_RXDROP] = v[3];
	ctr[C_TXB] = v[8];
	ctr[C_TXERR] = v[10];
	return src_series_add(&c->cur, name, ctr, err);
}

static int
net_report(const struct src_series *p, const struct src_series *s, int64_t dt,
    struct metric_batch *out, struct ag_err *err)
{
	static const struct {
		int ctr;
		const char *suffix;
	} m[] = {
		{ C_RXB, "rx_bytes_per_s" },
		{ C_TXB, "tx_bytes_per_s" },
		{ C_RXERR, "rx_errors_per_s" },
		{ C_TXERR, "tx_errors_per_s" },
		{ C_RXDROP, "rx_drops_per_s" },
	};
	double r;

	for (size_t i = 0; i < ARRAY_SIZE(m); i++) {
		if (metric_rate(p->c[m[i].ctr], s->c[m[i].ctr], dt, &r) == -1)
			continue;
		if (src_add(out, err, r, "net.%s.%s", s->name, m[i].suffix) ==
		    -1)
			return -1;
	}
	return 0;
}

static int
net_collect(void *ctx, struct metric_batch *out, struct ag_err *err)
{
	struct net_ctx *c = ctx;
	const struct src_series *p;
	int64_t dt;
	int rc = 0;

	c->cur.n = 0;
	if (src_lines("net/dev", net_line, c, err) == -1)
		return -1;
	c->cur.mono_ms = out->mono_ms;
	for (size_t i = 0; c->ifaces != NULL && c->ifaces[i] != NULL; i++) {
		if (src_series_find(&c->cur, i, c->ifaces[i]) == NULL) {
			rc = ag_err_set(err,
			    "no interface %s in /proc/net/dev", c->ifaces[i]);
			break;
		}
	}
	dt = c->cur.mono_ms - c->prev.mono_ms;
	if (!c->primed || dt <= 0)
		goto out;
	for (size_t i = 0; i < c->cur.n; i++) {
		if ((p = src_series_find(&c->prev, i, c->cur.v[i].name)) ==
		    NULL)
			continue; /* a new interface: primed now */
		if (net_report(p, &c->cur.v[i], dt, out, err) == -1) {
			rc = -1;
			break;
		}
	}

out:
	src_series_swap(&c->prev, &c->cur);
	c->primed = true;
	return rc;
}

static const char *const *
net_patterns_fn(void *ctx)
{
	struct net_ctx *c = ctx;

	if (c->patterns != NULL)
		return (const char *const *)c->patterns;
	return net_patterns_all;
}

const struct source_ops src_network_ops = {
	.type = "network",
	.settings = net_settings,
	.configure = net_configure,
	.collect = net_collect,
	.patterns = net_patterns_fn,
	.free = net_free,
};
