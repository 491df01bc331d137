/*
 * source_backend.h: what a source type implements.  See source.h.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef VIGIL_SOURCE_BACKEND_H
#define VIGIL_SOURCE_BACKEND_H

#include "agent/plugin.h"
#include "agent/source.h"
#include "lib/ag.h"

struct source_ops {
	/*
	 * type ("cpu", "disk", ...), settings (besides type, name and
	 * interval), configure() and free(): see agent/plugin.h.
	 */
	PLUGIN_OPS_HEAD;
	/* Append readings to ${out}; return 0, AG_RETRY or -1 with ${err}. */
	int (*collect)(void *ctx, struct metric_batch *out,
	    struct ag_err *err);
	/* NULL-terminated globs of the names this instance produces. */
	const char *const *(*patterns)(void *ctx);
	/*
	 * Optional: what the instance will ask of a paid API when collected
	 * every ${interval_ms}, one line for vigil config check into ${buf};
	 * return 1 with a line, 0 if there is nothing to say.
	 */
	int (*cost)(void *ctx, int64_t interval_ms, char *buf, size_t len);
	/*
	 * Optional: the longest time between two readings of one series
	 * when it is longer than the interval (a cloud metric's period).
	 */
	int64_t (*cadence_ms)(void *ctx);
};

extern const struct source_ops src_cpu_ops;
extern const struct source_ops src_memory_ops;
extern const struct source_ops src_load_ops;
extern const struct source_ops src_disk_ops;
extern const struct source_ops src_diskio_ops;
extern const struct source_ops src_network_ops;
extern const struct source_ops src_process_ops;

#endif
