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
 * prom_name(reading, source, type, family, flen, inst_key, off, len):
 * The family name of ${reading} (a reading's full name) from the source
 * ${source} of ${type} ("disk", ...; both NULL for the backup and agent
 * readings): "vigil_" and the name with dots and other characters
 * Prometheus refuses as '_', units spelled out ("_pct" "_percent", "_s"
 * "_seconds", "_per_s" "_per_second").  A cloud source's
 * "<source>.<metric>" becomes "vigil_<type>_<metric>" (the source is a
 * label).  For a reading with an instance part ("disk./var.used_pct",
 * "backup.nightly.failed") store that label's key in ${inst_key} (else
 * NULL) and the instance's offset and length in ${off} and ${len}.
 * Return 0.
 */
int prom_name(const char *reading, const char *source, const char *type,
    char *family, size_t flen, const char **inst_key, size_t *off,
    size_t *len);

#endif /* !VIGIL_AGENT_PROM_H */
