/*
 * cloudsrc.c: what the cloud metric sources share (cloudsrc.h).
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/clock.h"
#include "lib/http/http.h"
#include "lib/log.h"
#include "agent/sources/net/cloudsrc.h"

size_t
cloudsrc_counters(const char *source, const struct cloudsrc_counts *k,
    struct metric_batch *out, size_t at)
{
	static const char *const what[] = { "api_calls", "metrics_requested",
		"datapoints", "errors", "resources" };
	const double v[] = { (double)k->api_calls,
		(double)k->metrics_requested, (double)k->datapoints,
		(double)k->errors, (double)k->resources };
	size_t n = k->resources < 0 ? 4 : 5, i0 = out->n;
	char name[METRIC_NAME_MAX];

	for (size_t i = 0; i < n; i++) {
		if (at != SIZE_MAX) {
			if (at + i < out->n)
				out->v[at + i].value = v[i];
			continue;
		}
		snprintf(name, sizeof(name), "%s.%s", source, what[i]);
		(void)metric_add_ts(out, out->now_ms, v[i], name);
	}
	return at != SIZE_MAX ? at : i0;
}

void
cloudsrc_throttle_init(struct cloudsrc_throttle *t)
{
	memset(t, 0, sizeof(*t));
	t->bo = (struct backoff){ .base_ms = 1000, .cap_ms = 5 * 60 * 1000 };
}

bool
cloudsrc_throttled(const struct cloudsrc_throttle *t)
{
	return clock_mono_ms() < t->until_ms;
}

void
cloudsrc_throttle_hit(struct cloudsrc_throttle *t, const char *source,
    int64_t retry_after_ms)
{
	int64_t d = backoff_delay_ms(&t->bo, ++t->attempt);

	if (d < retry_after_ms)
		d = retry_after_ms;
	t->until_ms = clock_mono_ms() + d;
	log_warn("%s: throttled; no calls for %lld ms", source, (long long)d);
}

void
cloudsrc_throttle_ok(struct cloudsrc_throttle *t)
{
	t->attempt = 0;
}

int64_t
cloudsrc_retry_after_ms(const struct http_resp *resp)
{
	const char *v = http_resp_header(resp, "Retry-After");
	char *end;
	long sec;

	if (v == NULL)
		return 0;
	sec = strtol(v, &end, 10);
	if (end == v || sec < 0 || sec > 3600)
		return 0;
	return (int64_t)sec * 1000;
}

void
cloudsrc_put_enc(struct buf *b, const char *s)
{
	char *e = http_urlencode(s, strlen(s));

	if (e == NULL) {
		b->err = 1;
		return;
	}
	buf_puts(b, e);
	free(e);
}

void
cloudsrc_time(int64_t s, char buf[32])
{
	time_t t = (time_t)s;
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		buf[0] = '\0';
}
