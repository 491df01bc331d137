/*
 * prom.h: /metrics, the scheduler's state in the Prometheus text format
 * (version 0.0.4), on the scheduler thread.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef VIGIL_AGENT_PROM_H
#define VIGIL_AGENT_PROM_H

#include <stddef.h>

#include "agent/web.h"

struct sched;

/**
 * prom_render(s, rs):
 * Answer ${rs} with every current reading (vigil_<family>_<metric>, with
 * the labels host, source and the reading's own: mountpoint, interface,
 * device, process, job, a cloud resource's dimensions), the rule states,
 * the queue, the sources' polls, the backup jobs and the process's own
 * CPU and memory (process_*), each family once with its HELP and TYPE.
 */
void prom_render(struct sched *s, struct web_resp *rs);

/**
 * prom_name(reading, type, family, flen, inst_key):
 * The family name of ${reading} (a reading's base name) from a source of
 * ${type} ("disk", ...; NULL for the backup and agent readings): dots and
 * other characters Prometheus refuses become '_', units spelled out
 * ("_pct" "_percent", "_s" "_seconds", "_per_s" "_per_second").  For a
 * reading with an instance part ("disk./var.used_pct", "backup.nightly.
 * failed") store that label's key in ${inst_key} (else NULL) and return
 * the instance's offset and length through ${off} and ${len}.
 */
int prom_name(const char *reading, const char *type, char *family, size_t flen,
    const char **inst_key, size_t *off, size_t *len);

#endif /* !VIGIL_AGENT_PROM_H */
