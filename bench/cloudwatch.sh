#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# cloudwatch.sh: what a CloudWatch source costs the daemon, in one run.
#
# Two vigild run side by side for DURATION seconds (default 60): "local"
# with the local sources of bench/footprint.sh (cpu, memory, disk, load,
# network at 10 s), and "local+cw" with the same plus one "cloudwatch"
# source of METRICS (default 100) metrics of period 10 s against
# moto_server (tests/integration/moto_raw_query.py, every request's
# signature checked) on 127.0.0.1.  Every second we sample each process's
# RSS; at the end we read its CPU time and the source's poll count.
# Printed: RSS median and peak of each, CPU ms per collection cycle of the
# local one, and the CPU ms one CloudWatch poll adds (the difference of
# CPU times over the polls made), with the GetMetricData calls moto saw.
#   bench/cloudwatch.sh [DURATION]   (needs build/vigild and its module,
#                                     moto_server and boto3)
set -euo pipefail
cd "$(dirname "$0")/.."
DUR=${1:-60}
METRICS=${METRICS:-100}
VIGILD=${VIGILD:-build/vigild}
VIGIL=${VIGIL:-$(dirname "$VIGILD")/vigil}
[ -x "$VIGILD" ] || { echo "build vigild first: packaging/setup.sh" >&2; exit 1; }

T=$(mktemp -d /tmp/vigil-bench.XXXXXX)
chmod 700 "$T"
trap 'kill $(jobs -p) 2>/dev/null || true; [ -n "${KEEP:-}" ] || rm -rf "$T"' EXIT

. bench/cw_moto.sh
cw_moto_start "$METRICS" || { echo "moto_server and boto3 are needed" >&2; exit 1; }

LOCAL='{ type = "cpu"; interval = "10s"; }, { type = "memory"; interval = "10s"; },
  { type = "disk"; interval = "10s"; }, { type = "load"; interval = "10s"; },
  { type = "network"; interval = "10s"; }'
for v in local cw; do
	mkdir -p "$T/$v"
	{
		echo "agent = { state_dir = \"$T/$v/state\"; control_socket = \"$T/$v/sock\"; };"
		echo "sources = ( $LOCAL"
		[ "$v" = cw ] && echo ", $(cw_source cw "$METRICS")"
		echo ");"
		echo 'rules = ( { name = "r1"; metric = "cpu.used_pct"; warn = 90.0; notify = "log"; } );'
	} >"$T/$v/vigil.conf"
	chmod 600 "$T/$v/vigil.conf"
	"$VIGILD" -f -c "$T/$v/vigil.conf" >"$T/$v/log" 2>&1 &
	echo $! >"$T/$v/pid"
done
sleep 1
for ((s = 0; s < DUR; s++)); do
	for v in local cw; do
		awk '/^VmRSS/ { print $2 }' "/proc/$(cat "$T/$v/pid")/status" >>"$T/$v/rss"
	done
	sleep 1
done
tck=$(getconf CLK_TCK)
cpu_ms() { awk -v t="$tck" '{ print ($14 + $15) * 1000 / t }' "/proc/$(cat "$T/$1/pid")/stat"; }
polls=$(cw_polls "$T/cw/vigil.conf" cw)
calls=$(grep -c '^vigil-action cloudwatch GetMetricData' "$T/moto.log" || true)
cl=$(cpu_ms local)
cc=$(cpu_ms cw)
stats() { sort -n "$T/$1/rss" | awk '{ a[NR] = $1 } END { printf "RSS median %d KiB, peak %d KiB", a[int((NR + 1) / 2)], a[NR] }'; }
echo "vigild local:     $(stats local), CPU $cl ms in ${DUR}s ($(awk -v c="$cl" -v d="$DUR" 'BEGIN { printf "%.2f", c / (d / 10) }') ms per 10 s cycle)"
echo "vigild local+cw:  $(stats cw), CPU $cc ms in ${DUR}s"
echo "cloudwatch source: $METRICS metrics, $polls polls, $calls GetMetricData calls at moto;" \
	"$(awk -v a="$cc" -v b="$cl" -v p="$polls" 'BEGIN { if (p > 0) printf "%.1f ms CPU per poll", (a - b) / p; else print "no poll" }')"
