/*
 * parsenum.c: see parsenum.h.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/parsenum.h"

int
parse_double(const char *s, double *ret)
{
	char *end;
	double v;

	if (s == NULL || *s == '\0' || isspace((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || *end != '\0' || !isfinite(v))
		return -1;
	*ret = v;
	return 0;
}

int
parse_int64(const char *s, int64_t *ret)
{
	char *end;
	long long v;

	if (s == NULL || *s == '\0' || isspace((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return -1;
	*ret = v;
	return 0;
}

/*
 * round_ms(x):
 * llround() for 0 <= ${x} < 2^63, without libm, which vigild would map for
 * this one call (some 300 KB of RSS).
 */
static int64_t
round_ms(double x)
{
	int64_t t = (int64_t)x;

	/* Exact: below 2^53 x - t is representable; above, x is whole. */
	return x - (double)t >= 0.5 ? t + 1 : t;
}

int
parse_duration_ms(const char *s, int64_t *ret_ms)
{
	static const struct {
		const char *unit;
		int64_t ms;
	} units[] = {
		{ "ms", 1 },
		{ "s", 1000 },
		{ "m", 60000 },
		{ "h", 3600000 },
		{ "d", 86400000 },
		{ "w", 604800000 },
	};
	int64_t total = 0;
	const char *p = s;

	if (s == NULL || *s == '\0')
		return -1;
	while (*p != '\0') {
		char *end;
		double v;
		size_t i, ulen = 0;
		int64_t mult = -1;

		if (!isdigit((unsigned char)*p) && *p != '.')
			return -1;
		errno = 0;
		v = strtod(p, &end);
		if (errno != 0 || end == p || v < 0)
			return -1;
		p = end;
		while (isalpha((unsigned char)p[ulen]))
			ulen++;
		if (ulen == 0) {
			/* A bare number is seconds, and only on its own. */
			if (p != s + strlen(s) || total != 0)
				return -1;
			mult = 1000;
		}
		for (i = 0; ulen > 0 && i < sizeof(units) / sizeof(units[0]);
		     i++) {
			if (strlen(units[i].unit) == ulen &&
			    strncmp(p, units[i].unit, ulen) == 0)
				mult = units[i].ms;
		}
		if (mult < 0)
			return -1;
		p += ulen;
		if (v * (double)mult > 9.2e18 - (double)total)
			return -1;
		total += round_ms(v * (double)mult);
	}
	*ret_ms = total;
	return 0;
}

int
parse_size(const char *s, uint64_t *ret)
{
	char *end;
	double v;
	uint64_t mult = 1;

	if (s == NULL || !isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || v < 0)
		return -1;
	switch (tolower((unsigned char)*end)) {
	case '\0':
		break;
	case 'k':
		mult = 1ULL << 10;
		break;
	case 'm':
		mult = 1ULL << 20;
		break;
	case 'g':
		mult = 1ULL << 30;
		break;
	case 't':
		mult = 1ULL << 40;
		break;
	default:
		return -1;
	}
	if (*end != '\0') {
		end++;
		if (strcasecmp(end, "ib") == 0 || strcasecmp(end, "b") == 0)
			end += strlen(end);
	}
	if (*end != '\0' || v * (double)mult >= 1.8e19)
		return -1;
	*ret = (uint64_t)(v * (double)mult);
	return 0;
}

void
format_duration(int64_t ms, char *buf, unsigned len)
{
	int64_t s = ms / 1000;

	if (ms < 1000 && ms > -1000)
		snprintf(buf, len, "%lldms", (long long)ms);
	else if (s < 60)
		snprintf(buf, len, "%llds", (long long)s);
	else if (s < 3600)
		snprintf(buf, len, "%lldm%llds", (long long)(s / 60),
		    (long long)(s % 60));
	else if (s < 86400)
		snprintf(buf, len, "%lldh%lldm", (long long)(s / 3600),
		    (long long)(s % 3600 / 60));
	else
		snprintf(buf, len, "%lldd%lldh", (long long)(s / 86400),
		    (long long)(s % 86400 / 3600));
}

const char *
format_duration_ms(int64_t ms, char *buf, size_t len)
{
	if (ms < 10000)
		snprintf(buf, len, "%" PRId64 " ms", ms);
	else
		snprintf(buf, len, "%" PRId64 " s", ms / 1000);
	return buf;
}
