#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# footprint.sh: the idle daemon's cost, vigild against collectd, in one run.
#
# Both run the same local plugins (cpu, memory, disk, load, network) with 10
# threshold rules at a 10 s interval for DURATION seconds (default 60).  Two
# more vigild run beside them with the same sources and rules plus what makes
# the daemon need its heavy module (agent/plugin_module.h): "v+backup" a nightly
# backup job like the embedded default's (conf/default.c), "v+webhook" a
# webhook notifier.  Neither backs up nor delivers during the run: vigild
# checks both in child processes and maps the module only at the first
# delivery, and runs backups in a child.  A fourth, "v+cw", adds one
# "cloudwatch" source of CW_METRICS (default 100) metrics polled every 10 s
# against moto_server (bench/cw_moto.sh; skipped without moto_server and
# boto3): the cost of a cloud source next to the local-only figures.  Every
# second we sample each process's RSS; at the end we read its CPU time.
# Printed: RSS median and peak, CPU ms per collection cycle, the heavy
# libraries each vigild maps (none expected but for v+cw), the CPU one
# CloudWatch poll adds (v+cw less vigild, over the polls it made), and the
# ratio of each vigild to collectd (below 1.0 is better).  Then one backup of BACKUP_MB (default 100) MB of random files
# through "v+backup": its RSS before and after the run (after: within 2 MB).  collectd comes from Debian's
# collectd-core package, installed here when missing.
#   bench/footprint.sh [DURATION]        (needs build/vigild: packaging/setup.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
DUR=${1:-60}
VIGILD=${VIGILD:-build/vigild}
VIGIL=${VIGIL:-$(dirname "$VIGILD")/vigil}
BACKUP_MB=${BACKUP_MB:-100}
CW_METRICS=${CW_METRICS:-100}
[ -x "$VIGILD" ] || { echo "build vigild first: packaging/setup.sh" >&2; exit 1; }

T=$(mktemp -d /tmp/vigil-bench.XXXXXX)
chmod 700 "$T"
trap 'kill $(jobs -p) 2>/dev/null || true; [ -n "${KEEP:-}" ] || rm -rf "$T"' EXIT

if ! command -v collectd >/dev/null && [ ! -x /usr/sbin/collectd ]; then
	SUDO=; [ "$(id -u)" -ne 0 ] && SUDO=sudo
	$SUDO apt-get install -y -qq --no-install-recommends collectd-core >/dev/null 2>&1 ||
		echo "collectd not installable: vigild alone is measured" >&2
fi
COLLECTD=$(command -v collectd || echo /usr/sbin/collectd)

cat >"$T/vigil.conf" <<CONF
agent = { state_dir = "$T/state"; control_socket = "$T/vigild.sock"; };
sources = (
  { type = "cpu"; interval = "10s"; }, { type = "memory"; interval = "10s"; },
  { type = "disk"; interval = "10s"; }, { type = "load"; interval = "10s"; },
  { type = "network"; interval = "10s"; }
);
rules = (
  { name = "r1"; metric = "cpu.used_pct"; warn = 90.0; crit = 98.0; notify = "log"; },
  { name = "r2"; metric = "cpu.iowait_pct"; warn = 50.0; notify = "log"; },
  { name = "r3"; metric = "cpu.steal_pct"; warn = 20.0; notify = "log"; },
  { name = "r4"; metric = "mem.used_pct"; warn = 90.0; crit = 97.0; notify = "log"; },
  { name = "r5"; metric = "swap.used_pct"; warn = 80.0; notify = "log"; },
  { name = "r6"; metric = "disk.*.used_pct"; warn = 85.0; crit = 95.0; notify = "log"; },
  { name = "r7"; metric = "disk.*.inodes_used_pct"; warn = 85.0; notify = "log"; },
  { name = "r8"; metric = "load.1_per_core"; warn = 4.0; notify = "log"; },
  { name = "r9"; metric = "net.*.rx_errors_per_s"; warn = 10.0; notify = "log"; },
  { name = "r10"; metric = "net.*.tx_errors_per_s"; warn = 10.0; notify = "log"; }
);
CONF

# The same agent with a backup job, and with a webhook: own state and socket.
mkdir -p "$T/backup-src" "$T/store"
sed -e "s|$T/state|$T/state-backup|; s|$T/vigild.sock|$T/vigild-backup.sock|" \
	"$T/vigil.conf" >"$T/vigil-backup.conf"
cat >>"$T/vigil-backup.conf" <<CONF
storage = { here = { type = "local"; path = "$T/store"; }; };
backups = (
  { name = "system"; paths = [ "$T/backup-src" ]; storage = "here";
    key_file = "$T/backup.key"; create_key = true;
    schedule = "daily 03:00"; splay = "30m"; exclude_caches = true; }
);
CONF
sed -e "s|$T/state|$T/state-webhook|; s|$T/vigild.sock|$T/vigild-webhook.sock|" \
	"$T/vigil.conf" >"$T/vigil-webhook.conf"
cat >>"$T/vigil-webhook.conf" <<CONF
notifiers = ( { name = "hook"; type = "webhook"; url = "http://127.0.0.1:9/"; } );
CONF

# The same agent with one CloudWatch source, if moto_server is here.
HAVE_CW=0
. bench/cw_moto.sh
if cw_moto_start "$CW_METRICS"; then
	HAVE_CW=1
	sed -e "s|$T/state|$T/state-cw|; s|$T/vigild.sock|$T/vigild-cw.sock|" \
		-e "s|^  { type = \"network\"; interval = \"10s\"; }$|&,\n  @CW@|" \
		"$T/vigil.conf" >"$T/vigil-cw.conf"
	cw_source cw "$CW_METRICS" >"$T/cw.src"
	sed -i -e "/@CW@/{r $T/cw.src" -e "d}" "$T/vigil-cw.conf"
	chmod 600 "$T/vigil-cw.conf"
else
	echo "moto_server or boto3 missing: no CloudWatch case" >&2
fi

cat >"$T/collectd.conf" <<CONF
Hostname "bench"
FQDNLookup false
Interval 10
BaseDir "$T/collectd"
PIDFile "$T/collectd.pid"
TypesDB "/usr/share/collectd/types.db"
LoadPlugin logfile
<Plugin logfile>
  LogLevel warning
  File "$T/collectd.log"
</Plugin>
LoadPlugin cpu
<Plugin cpu>
  ReportByCpu false
  ValuesPercentage true
</Plugin>
LoadPlugin memory
LoadPlugin df
LoadPlugin load
LoadPlugin interface
LoadPlugin threshold
<Plugin threshold>
  <Plugin "cpu">
    <Type "percent">
      Instance "user"
      WarningMax 90
      FailureMax 98
    </Type>
    <Type "percent">
      Instance "wait"
      WarningMax 50
    </Type>
    <Type "percent">
      Instance "steal"
      WarningMax 20
    </Type>
  </Plugin>
  <Plugin "memory">
    <Type "memory">
      Instance "used"
      Percentage true
      WarningMax 90
      FailureMax 97
    </Type>
  </Plugin>
  <Plugin "swap">
    <Type "swap">
      Instance "used"
      Percentage true
      WarningMax 80
    </Type>
  </Plugin>
  <Type "df_complex">
    Instance "used"
    Percentage true
    WarningMax 85
    FailureMax 95
  </Type>
  <Type "df_inodes">
    Instance "used"
    Percentage true
    WarningMax 85
  </Type>
  <Plugin "load">
    <Type "load">
      DataSource "shortterm"
      WarningMax 4
    </Type>
  </Plugin>
  <Plugin "interface">
    <Type "if_errors">
      DataSource "rx"
      WarningMax 10
    </Type>
    <Type "if_errors">
      DataSource "tx"
      WarningMax 10
    </Type>
  </Plugin>
</Plugin>
CONF

# measure NAME PID: sample RSS each second for DUR s, then print a line.
measure() {
	local name=$1 pid=$2 i rss ns cycles
	: >"$T/$name.rss"
	for ((i = 0; i < DUR; i++)); do
		rss=$(awk '/^VmRSS/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo "")
		[ -n "$rss" ] && echo "$rss" >>"$T/$name.rss"
		sleep 1
	done
	# CPU time in ns of every thread (schedstat), not 10 ms clock ticks.
	ns=$(cat /proc/"$pid"/task/*/schedstat 2>/dev/null | awk '{s += $1} END {print s + 0}')
	cycles=$((DUR / 10))
	sort -n "$T/$name.rss" | awk -v n="$name" -v t="$ns" -v c="$cycles" '
		{ v[NR] = $1 } END {
			med = v[int((NR + 1) / 2)]; peak = v[NR];
			cpu = t / 1e6 / c;
			printf "%-9s RSS median %6.2f MB  peak %6.2f MB  CPU %7.2f ms/cycle\n", n, med / 1024, peak / 1024, cpu;
			printf "%s %f %f %f\n", n, med, peak, cpu > "/dev/stderr" }' 2>>"$T/results"
}

"$VIGILD" -c "$T/vigil.conf" >"$T/vigild.log" 2>&1 &
VPID=$!
"$VIGILD" -c "$T/vigil-backup.conf" >"$T/vigild-backup.log" 2>&1 &
BPID=$!
"$VIGILD" -c "$T/vigil-webhook.conf" >"$T/vigild-webhook.log" 2>&1 &
WPID=$!
if [ "$HAVE_CW" = 1 ]; then
	"$VIGILD" -c "$T/vigil-cw.conf" >"$T/vigild-cw.log" 2>&1 &
	CWPID=$!
fi
HAVE_COLLECTD=0
if [ -x "$COLLECTD" ]; then
	mkdir -p "$T/collectd"
	"$COLLECTD" -f -C "$T/collectd.conf" >"$T/collectd.out" 2>&1 &
	CPID=$!
	HAVE_COLLECTD=1
fi
sleep 1
echo "measuring for ${DUR}s at a 10 s interval (5 sources, 10 rules)..."
for p in "$VPID" "$BPID" "$WPID" ${CWPID:-}; do
	kill -0 "$p" 2>/dev/null || { cat "$T"/vigild*.log >&2; exit 1; }
done
measure vigild "$VPID" &
M1=$!
measure v+backup "$BPID" &
M3=$!
measure v+webhook "$WPID" &
M4=$!
M5=
if [ "$HAVE_CW" = 1 ]; then measure v+cw "$CWPID" & M5=$!; fi
if [ "$HAVE_COLLECTD" = 1 ]; then measure collectd "$CPID" & M2=$!; wait "$M2"; fi
wait "$M1" "$M3" "$M4" $M5
if [ "$HAVE_CW" = 1 ]; then
	# CPU ms per cycle of v+cw less vigild's, times the cycles, per poll.
	polls=$(cw_polls "$T/vigil-cw.conf" cw)
	calls=$(grep -c 'vigil-action cloudwatch GetMetricData' "$T/moto.log" || true)
	awk -v p="$polls" -v k="$calls" -v n="$CW_METRICS" -v c="$((DUR / 10))" '
		{ cpu[$1] = $4 } END {
			printf "v+cw      one cloudwatch source of %d metrics: %d polls, %d GetMetricData calls, ", n, p, k;
			if (p > 0) printf "%.2f ms CPU per poll\n", (cpu["v+cw"] - cpu["vigild"]) * c / p;
			else print "no poll" }' "$T/results"
fi
if [ "$HAVE_COLLECTD" = 1 ]; then
	awk '{ m[$1] = $2; p[$1] = $3; c[$1] = $4 } END {
		split("vigild v+backup v+webhook v+cw", v, " ");
		for (i = 1; i <= 4; i++) if (v[i] in m)
			printf "ratio %s/collectd: RSS median %.2f, peak %.2f, CPU/cycle %.2f\n",
				v[i], m[v[i]] / m["collectd"], p[v[i]] / p["collectd"],
				(c["collectd"] > 0 ? c[v[i]] / c["collectd"] : 0) }' "$T/results"
fi

# Heavy libraries mapped by each idle vigild (none expected).
for p in vigild:"$VPID" v+backup:"$BPID" v+webhook:"$WPID" ${CWPID:+v+cw:$CWPID}; do
	m=$(grep -oE 'lib(vigil-heavy|crypto|ssl|curl|archive|deflate)[^ /]*\.so' \
		"/proc/${p#*:}/maps" | sort -u | tr '\n' ' ' || true)
	printf "%-9s heavy libraries mapped: %s\n" "${p%%:*}" "${m:-none}"
done

# One backup through v+backup: the daemon's RSS before and after.
for ((i = 0; i < BACKUP_MB; i++)); do
	head -c $((1 << 20)) /dev/urandom >"$T/backup-src/f$i"
done
rss() { awk '/^VmRSS/ {print $2}' "/proc/$BPID/status"; }
before=$(rss)
"$VIGIL" -c "$T/vigil-backup.conf" backup run system >/dev/null
sleep 1
after=$(rss)
awk -v b="$before" -v a="$after" -v mb="$BACKUP_MB" 'BEGIN {
	printf "v+backup  RSS before a %d MB backup %6.2f MB, after %6.2f MB (%+.2f MB)\n",
		mb, b / 1024, a / 1024, (a - b) / 1024 }'
