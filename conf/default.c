/*
 * default.c: the configuration vigild runs on when no file exists.  It
 * watches the local host and logs alerts; it needs no file, no key and no
 * cloud account.  conf/vigil.conf.example documents every setting.
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
    "    notify = [ \"log\" ]; }\n"
    ");\n"
    "notifiers = (\n"
    "  { name = \"log\"; type = \"log\"; }\n"
    ");\n";
