/*
 * default.c: the configuration vigild runs on when no file exists.  It
 * watches the local host and logs alerts, and backs up /etc every night to
 * a folder in the state directory with a key it generates there (mode 0600;
 * copy it somewhere safe).  It needs no file and no cloud account.
 * "@STATE_DIR@" stands for the default state directory of whoever runs it.
 * conf/vigil.conf.example documents every setting.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "conf/conf.h"

const char conf_default_text[] =
    "sources = (\n"
    "  { type = \"cpu\"; interval = \"10s\"; },\n"
    "  { type = \"memory\"; interval = \"10s\"; },\n"
    "  { type = \"load\"; interval = \"10s\"; },\n"
    "  { type = \"disk\"; interval = \"60s\"; },\n"
    "  { type = \"diskio\"; interval = \"10s\"; },\n"
    "  { type = \"network\"; interval = \"10s\"; }\n"
    ");\n"
    "rules = (\n"
    "  { name = \"cpu-high\"; metric = \"cpu.used_pct\"; op = \">\";\n"
    "    warn = 85.0; crit = 95.0; clear = 75.0; for = \"2m\";\n"
    "    repeat = \"1h\"; notify = [ \"log\" ]; },\n"
    "  { name = \"memory-high\"; metric = \"mem.used_pct\"; op = \">\";\n"
    "    warn = 90.0; crit = 97.0; clear = 85.0; for = \"1m\";\n"
    "    repeat = \"1h\"; notify = [ \"log\" ]; },\n"
    "  { name = \"disk-full\"; metric = \"disk.*.used_pct\"; op = \">\";\n"
    "    warn = 85.0; crit = 95.0; clear = 80.0; repeat = \"6h\";\n"
    "    notify = [ \"log\" ]; },\n"
    "  { name = \"inodes-full\"; metric = \"disk.*.inodes_used_pct\";\n"
    "    op = \">\"; warn = 85.0; crit = 95.0; clear = 80.0;\n"
    "    notify = [ \"log\" ]; },\n"
    "  { name = \"load-high\"; metric = \"load.5_per_core\"; op = \">\";\n"
    "    warn = 2.0; crit = 4.0; clear = 1.5; for = \"5m\";\n"
    "    notify = [ \"log\" ]; },\n"
    "  { name = \"backup-failed\"; metric = \"backup.*.failed\";\n"
    "    op = \">=\"; crit = 1.0; notify = [ \"log\" ]; },\n"
    "  { name = \"backup-overdue\"; metric = \"backup.*.last_success_age_s\";\n"
    "    op = \">\"; warn = 129600.0; crit = 216000.0; repeat = \"12h\";\n"
    "    notify = [ \"log\" ]; }\n"
    ");\n"
    "storage = {\n"
    "  local = { type = \"local\"; path = \"@STATE_DIR@/backups\"; };\n"
    "};\n"
    "backups = (\n"
    "  { name = \"etc\"; paths = [ \"/etc\" ]; storage = \"local\";\n"
    "    key_file = \"@STATE_DIR@/backup.key\"; create_key = true;\n"
    "    schedule = \"daily 03:00\"; splay = \"30m\"; exclude_caches = true;\n"
    "    keep_last = 3; keep_daily = 7; keep_weekly = 4; keep_monthly = 6; }\n"
    ");\n"
    "notifiers = (\n"
    "  { name = \"log\"; type = \"log\"; }\n"
    ");\n";
