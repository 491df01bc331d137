#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# it_netsrc_thread.sh: a network source collects on a thread of its own
# (agent/collector.c).  A real vigild reads a local "load" source every
# second beside a "gcp_monitoring" source whose Cloud Monitoring
# (tests/fakes/gcpmon_server.py) holds each list call for 20 s:
#  - meanwhile the load source's readings keep coming every second, a rule
#    on it fires on time, and `vigil status` answers at once (on the
#    scheduler thread, as before, all three waited for the cloud);
#  - a reload while the call is held takes effect at once (the call is cut);
#  - once the cloud answers again its readings reach the status and its
#    rule, handed over by the thread;
#  - SIGTERM while a call is held stops vigild within seconds.
. "$(dirname "$0")/lib.sh"
unset GOOGLE_APPLICATION_CREDENTIALS GCE_METADATA_HOST

start_receiver "$T/recv.log"
cat >"$T/fleet.json" <<'JSON'
[{"name": "web-1", "id": "1001", "zone": "europe-west1-b", "labels": {"role": "web"}}]
JSON
python3 "$VIGIL_SRC/tests/fakes/gcpmon_server.py" --port-file "$T/g.port" \
	--fleet "$T/fleet.json" >"$T/g.log" 2>&1 &
PIDS+=($!)
wait_for 10 test -s "$T/g.port" || fail "gcpmon_server did not start: $(cat "$T/g.log")"
HP=127.0.0.1:$(cat "$T/g.port")
EP=http://$HP

ctl() { curl -sf -X POST -d "$1" "$EP/_ctl" >/dev/null || fail "ctl $1"; }
stat() { curl -sf "$EP/_stats" | python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
stat_ge() { [ "$(stat "$1")" -ge "$2" ]; }
ms() { date +%s%3N; }
# st EXPR: EXPR of `vigil status --json` (d), sources by name in S.
st() {
	"$VIGIL" -c "$T/vigil.conf" status --json | python3 -c "
import json, sys
d = json.load(sys.stdin)
S = {s['name']: s for s in d['sources']}
print($1)"
}

# The local source's rule fires on the load of this very machine.
cat >"$T/vigil.conf" <<CONF
agent = {
  state_dir = "$T/state";
  control_socket = "$T/vigild.sock";
  hostname = "it-host";
  log_level = "debug";
};
sources = (
  { type = "load"; name = "ld"; interval = "1s"; },
  { type = "gcp_monitoring"; name = "gce"; interval = "1s";
    project = "vigil-it"; endpoint = "$EP"; metadata_host = "$HP";
    filter = "metric.type = \"compute.googleapis.com/instance/cpu/utilization\"";
    alignment_period = "2s"; per_series_aligner = "ALIGN_MAX"; delay = "0s"; }
);
rules = (
  { name = "any-load"; metric = "load.1"; op = ">="; warn = 0.0;
    notify = [ "hook" ]; },
  { name = "gce-cpu"; metric = "gce.instance.cpu.utilization";
    where = { instance_name = "web-1"; }; op = ">";
    warn = 0.8; no_data = "60s"; notify = [ "hook" ]; }
);
notifiers = (
  { name = "hook"; type = "webhook"; url = "http://127.0.0.1:$RECV_PORT/alert";
    timeout = "2s"; }
);
CONF
chmod 600 "$T/vigil.conf"
"$VIGIL" -c "$T/vigil.conf" config check >"$T/check.out" 2>"$T/check.err" ||
	fail "config check rejected the test config: $(cat "$T/check.err")"

ctl '{"delay": 20, "default": 0.95}'
start_vigild "$T/vigil.conf"
wait_for 10 stat_ge "d['waiting']" 1 || fail "no list call held: $(curl -s "$EP/_stats")"

# --- While the cloud holds the call: local readings, rules and status ------
t0=$(ms)
wait_for 5 grep -q any-load "$T/recv.log" || fail "the local rule did not fire while the cloud call waits"
prev=$(st "S['ld']['last_ok_ms']")
seen=0
for i in 1 2 3 4 5; do
	sleep 1
	a=$(ms)
	cur=$(st "S['ld']['last_ok_ms']") || fail "status failed"
	took=$(($(ms) - a))
	[ "$took" -lt 8000 ] || fail "vigil status took $took ms while a cloud call waits"
	[ "$cur" -gt "$prev" ] && seen=$((seen + 1))
	prev=$cur
done
[ "$seen" -ge 3 ] || fail "the load source was read in only $seen of 5 seconds while a cloud call waits"
[ "$(stat "d['waiting']")" -ge 1 ] || fail "the cloud call was not held all along"
[ "$(st "S['gce']['last_ok_ms']")" = 0 ] || fail "the held call was answered?"
[ "$(stat "len(d['calls'])")" = 0 ] || fail "a list call was answered: $(stat "d['calls']")"
grep -q "source ld: collection took" "$T/vigild.log" && fail "the load source was held up"

# --- A reload while the call is held: at once ------------------------------
# The fake answers the calls that come now at once; the held one (20 s)
# is cut by the reload, so the new source's first call succeeds soon.
ctl '{"delay": 0}'
a=$(ms)
kill -HUP "$VIGILD_PID"
wait_for 5 sh -c "[ \"\$('$VIGIL' -c '$T/vigil.conf' status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"reloads\"])')\" = 1 ]" ||
	fail "the reload did not happen within 5 s"
took=$(($(ms) - a))
[ "$took" -lt 10000 ] || fail "the reload took $took ms"
echo "reload with a call held: $took ms"

# --- The cloud answers: its readings come through the thread ---------------
wait_for 8 sh -c "[ \"\$('$VIGIL' -c '$T/vigil.conf' status --json | python3 -c '
import json,sys
d = json.load(sys.stdin)
print(sum(1 for s in d[\"sources\"] if s[\"name\"] == \"gce\" and s[\"last_ok_ms\"] > 0))')\" = 1 ]" ||
	fail "the gcp source never succeeded: $(st "S['gce']")"
wait_for 10 sh -c "[ \"\$('$VIGIL' -c '$T/vigil.conf' status --json | python3 -c '
import json,sys
d = json.load(sys.stdin)
s = [s for s in d[\"sources\"] if s[\"name\"] == \"gce\"][0]
print(any(k.startswith(\"gce.instance.cpu.utilization\") for k in s[\"readings\"]))')\" = True ]" ||
	fail "no gcp readings in the status: $(st "S['gce']")"
wait_for 15 grep -q gce-cpu "$T/recv.log" || fail "the gcp rule did not fire"
echo "status: $(st "S['gce']['readings']")"

# --- SIGTERM while a call is held: within seconds --------------------------
ctl '{"delay": 20}'
wait_for 10 stat_ge "d['waiting']" 1 || fail "no list call held the second time"
a=$(ms)
kill -TERM "$VIGILD_PID"
wait "$VIGILD_PID" 2>/dev/null
rc=$?
took=$(($(ms) - a))
[ "$rc" = 0 ] || fail "vigild exited $rc"
[ "$took" -lt 12000 ] || fail "vigild took $took ms to stop with a call held"
echo "it_netsrc_thread: local source, rules and status on time while a cloud call waits 20 s; reload and stop cut it ($took ms)"
