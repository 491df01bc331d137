#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# make_corpus.sh: (re)build the seed corpora in tests/fuzz/corpus/ from real
# files: the example and default configs, tests/data/proc, tests/vectors,
# docs/WEBHOOK.md, and two small backups made here with the key file of
# tests/vectors (bytes 00..1f), so that fuzz_format opens them completely.
#
#   tests/fuzz/make_corpus.sh BUILD_DIR
#
# BUILD_DIR holds a built `vigil`, tests/fuzz_rules and tests/fuzz_history
# (any build: the normal one or build-fuzz/).  The seeds are committed; rerun this only
# when a format changes.  Keep the corpora small (< 1 MB in all): they run
# in every CTest run.
set -euo pipefail
cd "$(dirname "$0")/../.."
src=$PWD
build=$(cd "${1:?usage: make_corpus.sh BUILD_DIR}" && pwd)
vigil=$build/vigil
[ -x "$vigil" ] || { echo "make_corpus: no $vigil" >&2; exit 1; }
for f in fuzz_rules fuzz_history; do
	[ -x "$build/tests/$f" ] ||
		{ echo "make_corpus: no $build/tests/$f" >&2; exit 1; }
done

out=$src/tests/fuzz/corpus
# The backup id fuzz_index.c's base manifest carries.
index_id=2026-11-22T030000Z-3f9a
t=$(mktemp -d /tmp/vigil-corpus.XXXXXX)
trap 'rm -rf "$t"' EXIT
for d in conf manifest index format notify rules job schedule proc history; do
	rm -rf "${out:?}/$d"
	mkdir -p "$out/$d"
done

# --- two small backups with the known-answer key ----------------------
python3 -c 'import sys; sys.stdout.buffer.write(bytes(range(32)))' >"$t/key"
chmod 600 "$t/key"
mkdir -p "$t/small" "$t/rich/d" "$t/store" "$t/state"
cp -r tests/data/proc/real-t0/proc "$t/small/"
echo hello >"$t/small/a.txt"
ln -s a.txt "$t/small/link"
head -c 200000 /dev/urandom >"$t/rich/d/rand.bin"
echo hi >"$t/rich/h1"
ln "$t/rich/h1" "$t/rich/h2"
mkfifo "$t/rich/fifo"
touch "$t/rich/$(printf 'bad\377\376name')"
ln -s "$(printf '\303\050')" "$t/rich/badlink"
cat >"$t/backup.conf" <<EOF
agent = { state_dir = "$t/state"; control_socket = "$t/sock"; };
storage = { here = { type = "local"; path = "$t/store"; }; };
backups = (
  { name = "small"; paths = [ "$t/small" ]; exclude = [ "*.tmp" ];
    storage = "here"; key_file = "$t/key"; schedule = "daily 03:00";
    keep_last = 2; },
  { name = "rich"; paths = [ "$t/rich" ]; storage = "here";
    key_file = "$t/key"; slice_size = "64KiB";
    commands = ( { path = "cmd/out.txt"; run = "echo from a command"; } ); }
);
EOF
for job in small rich; do
	"$vigil" -c "$t/backup.conf" backup run "$job" >/dev/null 2>&1
	dir=$(echo "$t/store/$job"/*)
	"$vigil" decrypt --key "$t/key" <"$dir/manifest.vgl" \
	    >"$out/manifest/$job.json"
	cp "$dir/manifest.vgl" "$out/format/$job-manifest.vgl"
	cp "$t/state/jobs/$job.json" "$out/job/$job.json"
done
cp "$t/store/small/"*/data.vgl "$out/format/small-data.vgl"
cp tests/vectors/*.vgl tests/vectors/*.bin "$out/format/"

# Manifest variants and index objects, derived from the real manifests.
python3 - "$out" "$index_id" <<'EOF'
import copy, hashlib, json, sys
out, index_id = sys.argv[1], sys.argv[2]
def dump(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f, separators=(",", ":"))
for job in ("small", "rich"):
    m = json.load(open(f"{out}/manifest/{job}.json"))
    ix = {"format": 1, "backup_id": index_id, "files": m["files"]}
    text = json.dumps(ix, separators=(",", ":")).encode()
    open(f"{out}/index/{job}-index.json", "wb").write(text)
    sep = copy.deepcopy(m)
    del sep["files"]
    sep["index"] = {"inline": False, "object": "index.vgl", "size": 4096,
                    "entries": len(m["files"]), "encoding": "gzip",
                    "json_size": len(text),
                    "sha256": hashlib.sha256(text).hexdigest()}
    dump(f"{out}/manifest/{job}-separate.json", sep)
    omit = copy.deepcopy(m)
    del omit["files"]
    omit["index"] = {"inline": False, "omitted": True,
                     "entries": len(m["files"])}
    dump(f"{out}/manifest/{job}-omitted.json", omit)
EOF

# --- configs ---------------------------------------------------------
cp conf/vigil.conf.example "$out/conf/example.conf"
# As a seed: keys that need no file (one to be created, one public).
python3 - "$t/backup.conf" "$t" "$out/conf/backups.conf" <<'EOF'
import sys
text = open(sys.argv[1]).read().replace(sys.argv[2], "/srv/vigil")
key = 'key_file = "/srv/vigil/key";'
text = text.replace(key, key + " create_key = true;", 1)
i = text.rindex(key)
text = text[:i] + 'public_key = "3p7bfXt9wbTTW2HC7OQ1Nz+DQ8hbeGdNrfx+FG+IK08=";' \
    + text[i + len(key):]
open(sys.argv[3], "w").write(text)
EOF
python3 - conf/default.c "$out/conf/default.conf" <<'EOF'
import ast, re, sys
text = open(sys.argv[1]).read()
body = text[text.index("conf_default_text[] ="):]
body = body[:body.index(";\n")]
parts = re.findall(r'"(?:[^"\\]|\\.)*"', body)
conf = "".join(ast.literal_eval(p) for p in parts)
open(sys.argv[2], "w").write(conf.replace("@STATE_DIR@", "/var/lib/vigil"))
EOF
cat >"$out/conf/everything.conf" <<'EOF'
agent = { state_dir = "/var/lib/vigil"; log_level = "debug";
  control_socket = "/run/vigil/vigild.sock";
  hostname = "web1"; syslog = true; spool_max = 500; socket_mode = "0660"; };
credentials = {
  aws_prod = { type = "aws"; region = "eu-west-1"; profile = "default"; };
  azure_ops = { type = "azure"; tenant_id = "t"; client_id = "c";
                client_secret = "inline-secret"; };
  gcp_ops = { type = "gcp"; key_file = "/etc/vigil/gcp-sa.json"; };
};
sources = (
  { type = "cpu"; interval = "10s"; per_cpu = true; },
  { type = "memory"; interval = "1m"; }, { type = "load"; },
  { type = "network"; interfaces = [ "eth0", "lo" ]; },
  { type = "diskio"; devices = [ "sda" ]; },
  { type = "disk"; name = "root"; mounts = [ "/", "/var" ]; },
  { type = "disk"; fs_types = [ "ext4", "xfs" ]; },
  { type = "process"; name = "daemons"; names = [ "sshd", "cron" ]; }
);
rules = (
  { name = "cpu-high"; metric = "cpu.used_pct"; op = ">"; warn = 80.0;
    crit = 95.0; for = "2m"; clear = 70.0; repeat = "1h";
    notify = [ "oncall", "am" ]; },
  { name = "disk"; metric = "disk.*.used_pct"; op = ">="; crit = 90;
    no_data = "10m"; no_data_state = "keep"; notify = [ "slack" ]; },
  { name = "backup"; metric = "backup.nightly.failed"; crit = 1.0;
    notify = [ "oncall" ]; }
);
notifiers = (
  { name = "oncall"; type = "webhook"; url = "https://hooks.example.com/v";
    secret = "s3cr3t"; format = "json"; },
  { name = "slack"; type = "webhook"; url = "https://hooks.slack.com/x";
    format = "slack"; },
  { name = "am"; type = "webhook"; url = "http://127.0.0.1:9093/api/v2/alerts";
    format = "alertmanager"; },
  { name = "log"; type = "log"; }
);
storage = {
  here = { type = "local"; path = "/var/backups/vigil"; };
  there = { type = "local"; path = "/mnt/offsite"; };
};
backups = (
  { name = "nightly"; paths = [ "/etc", "/srv" ]; exclude = [ "*.tmp" ];
    storage = "here"; key_file = "/etc/vigil/backup.key"; create_key = true;
    schedule = "0 3 * * 1-5"; splay = "15m"; keep_last = 3; keep_daily = 7;
    keep_weekly = 4; keep_monthly = 6; compression = 6; threads = 2;
    slice_size = "4MiB"; timeout = "6h";
    commands = ( { path = "db/dump.sql"; run = "pg_dumpall"; } ); },
  { name = "offsite"; paths = [ "/home" ]; storage = "there"; prefix = "web1";
    public_key = "3p7bfXt9wbTTW2HC7OQ1Nz+DQ8hbeGdNrfx+FG+IK08=";
    schedule = "every 6h"; }
);
EOF
# Includes: the fuzz target writes its input as vigil.conf in a temporary
# folder, so "vigil.conf" is the input itself and "." that folder.
cat >"$out/conf/include_special.conf" <<'EOF'
agent = { log_level = "debug"; };
@include "."
@include "vigil.conf"
  @include	"/dev/null"
@include "/dev/stdin"
@include "/proc/self/status"
@include "missing/none.conf"
@include ""
sources = ( { type = "cpu"; } );
EOF
cat >"$out/conf/include_quoted.conf" <<'EOF'
# @include "/dev/stdin"
/* @include "/dev/stdin"
@include "/dev/stdin" */
sources = ( { type = "cpu"; name = "a
@include \"/dev/stdin\""; } );
// @include "/dev/stdin"
x = 1; @include "/dev/null"
@include "vi\gil\".conf"
@include "no closing quote
EOF

# --- notifications (docs/WEBHOOK.md) and spool files ------------------
python3 - docs/WEBHOOK.md "$out/notify" <<'EOF'
import json, re, sys
doc, out = open(sys.argv[1]).read(), sys.argv[2]
blocks = re.findall(r"```json\n(\{\"version\".*?)```", doc, re.S)
for i, b in enumerate(blocks[:2]):
    n = json.loads(b)
    open(f"{out}/doc-{i}.json", "w").write(b)
    spool = {"notifier": "oncall", "notification": n}
    open(f"{out}/spool-{i}.json", "w").write(json.dumps(spool))
nodata = json.loads(blocks[0])
nodata.update(value=None, threshold=None, op="", state="UNKNOWN",
              kind="reminder")
open(f"{out}/nodata.json", "w").write(json.dumps(nodata))
EOF

# --- rule states, written by fuzz_rules' own rule set -----------------
VIGIL_FUZZ_RULES_SEED="$out/rules/state.json" \
    "$build/tests/fuzz_rules" /dev/null 2>/dev/null
printf '{"version":1,"rules":{}}' >"$out/rules/empty.json"

# --- metric history files, written by fuzz_history itself --------------
VIGIL_FUZZ_HISTORY_SEED="$out/history" "$build/tests/fuzz_history" \
    /dev/null 2>/dev/null
chmod 644 "$out/history/"*

# --- job states ---------------------------------------------------------
printf '{}' >"$out/job/empty.json"
cat >"$out/job/failed.json" <<'EOF'
{"job":"nightly","failed":true,"last_error":"s3[nightly]: PUT part 7: HTTP 503",
 "last_run":{"start_ms":1795316400000,"end_ms":1795316460000,"ok":false,
 "backup_id":"2026-11-22T030000Z-3f9a"},
 "last_success":{"time_ms":1795230060000,"start_ms":1795230000000,
 "duration_ms":60000,"backup_id":"2026-11-21T030000Z-0b1c","bytes":1048576,
 "stored":524288,"files":1200,"warnings":2}}
EOF

# --- schedules (lib/schedule.h, docs/SCHEDULE.md) ------------------
i=0
while IFS= read -r s; do
	printf '%s' "$s" >"$out/schedule/$(printf '%02d' $i)"
	i=$((i + 1))
done <<'EOF'
daily 03:00
weekly sun 04:00
monthly 28 02:30
every 6h
every 30m
hourly
@daily
@hourly
@weekly
@monthly
@yearly
@annually
@midnight
*/15 * * * *
0 3 * * 1-5
30 2 1,15 * *
0 0 29 2 *
5 4 * * sun
0 */2 1-7 jan-jun mon-fri
0 2 * * 7
30 2 * * *
EOF

# --- /proc files (fuzz_proc.c: selector byte, A, "--8<--", B) ---------
p=tests/data/proc
seed() {	# seed NAME SELECTOR FILE_A [FILE_B]
	{
		printf "\\$(printf '%03o' "$2")"
		cat "$3"
		if [ $# -ge 4 ]; then printf -- '--8<--\n'; cat "$4"; fi
	} >"$out/proc/$1"
}
seed cpu-real 0 $p/real-t0/proc/stat $p/real-t1/proc/stat
seed cpu-reset 0 $p/cpu-reset/proc/stat $p/cpu-after-reset/proc/stat
seed cpu-offline 0 $p/cpu-offline/proc/stat
seed mem-real 1 $p/real-t0/proc/meminfo
seed mem-swap 1 $p/mem-swap/proc/meminfo
seed mem-old 1 $p/mem-old/proc/meminfo
seed mem-bad 1 $p/mem-bad/proc/meminfo
seed load-4cpu 2 $p/load-4cpu/proc/loadavg $p/load-4cpu/proc/stat
seed load-bad 2 $p/load-bad/proc/loadavg $p/load-4cpu/proc/stat
seed net 3 $p/net-t0/proc/net/dev $p/net-t1/proc/net/dev
seed net-real 3 $p/real-t0/proc/net/dev $p/real-t1/proc/net/dev
seed net-bad 3 $p/net-bad/proc/net/dev
seed disks 4 $p/disks-t0/proc/diskstats $p/disks-t1/proc/diskstats
seed disks-real 4 $p/real-t0/proc/diskstats $p/real-t1/proc/diskstats
seed mounts 5 $p/mounts/proc/self/mounts
seed mounts-fallback 5 $p/mounts-fallback/proc/mounts
seed proc-400 6 $p/procs/proc/400/comm $p/procs/proc/400/cmdline
seed proc-600 6 $p/procs/proc/600/comm $p/procs/proc/600/cmdline

chmod -R u=rwX,go=rX "$out"
du -sh "$out"
