#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# it_gcpmon.sh: the "gcp_monitoring" source against tests/fakes/
# gcpmon_server.py (Cloud Monitoring's timeSeries.list and a metadata
# server; every bearer token checked).  A real vigild polls:
#  - the fleet is chosen by user label (role=web: three of four instances),
#    two series a page: each window is one list call and its next page;
#  - a rule with where = { instance_name; role } fires once and recovers
#    once, nothing in between; the notification names the instance;
#  - every token expired on the server: refused once, a new one fetched,
#    the call made again: no window missed;
#  - a burst of 429s (RESOURCE_EXHAUSTED) pauses the calls, which go on;
#  - an instance deleted is retired (retire_after): no UNKNOWN for it;
#  - no series at all: no_data makes the series UNKNOWN once (an empty
#    answer retires nothing).
. "$(dirname "$0")/lib.sh"
unset GOOGLE_APPLICATION_CREDENTIALS GCE_METADATA_HOST

start_receiver "$T/recv.log"
cat >"$T/fleet.json" <<'JSON'
[{"name": "web-1", "id": "1001", "zone": "europe-west1-b", "labels": {"role": "web"}},
 {"name": "web-2", "id": "1002", "zone": "europe-west1-b", "labels": {"role": "web"}},
 {"name": "web-3", "id": "1003", "zone": "europe-west1-c", "labels": {"role": "web"}},
 {"name": "db-1", "id": "2001", "zone": "europe-west1-b", "labels": {"role": "db"}}]
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
stat_gt() { [ "$(stat "$1")" -gt "$2" ]; }
recv_ge() { [ "$(count_received "$T/recv.log" "$1")" -ge "$2" ]; }
FIRSTS="[c for c in d['calls'] if c['page'] == '']"

cat >"$T/vigil.conf" <<CONF
agent = {
  state_dir = "$T/state";
  control_socket = "$T/vigild.sock";
  hostname = "it-host";
  log_level = "debug";
};
sources = (
  { type = "gcp_monitoring"; name = "gce"; interval = "1s";
    project = "vigil-it"; endpoint = "$EP"; metadata_host = "$HP";
    filter = "metric.type = \"compute.googleapis.com/instance/cpu/utilization\"";
    user_labels = { role = "web"; };
    alignment_period = "2s"; per_series_aligner = "ALIGN_MAX"; delay = "0s";
    retire_after = "5s"; }
);
rules = (
  { name = "web-cpu"; metric = "gce.instance.cpu.utilization";
    where = { instance_name = "web-2"; role = "web"; };
    op = ">"; warn = 0.8; no_data = "12s"; notify = [ "hook" ]; },
  { name = "web3-cpu"; metric = "gce.instance.cpu.utilization";
    where = { instance_name = "web-3"; };
    op = ">"; warn = 0.8; no_data = "12s"; notify = [ "hook" ]; }
);
notifiers = (
  { name = "hook"; type = "webhook"; url = "http://127.0.0.1:$RECV_PORT/alert";
    timeout = "2s"; }
);
CONF
chmod 600 "$T/vigil.conf"
"$VIGIL" -c "$T/vigil.conf" config check >"$T/check.out" 2>"$T/check.err" ||
	fail "config check rejected the test config: $(cat "$T/check.err")"

start_vigild "$T/vigil.conf"
wait_for 15 stat_ge "len($FIRSTS)" 3 || fail "no list calls: $(curl -s "$EP/_stats")"

# --- The fleet by label, two pages a window, one call per window -----------------
[ "$(stat "sorted(set((c['page'], c['series']) for c in d['calls']))")" = "[('', 2), ('2', 1)]" ] ||
	fail "pages: $(stat "d['calls']")"
[ "$(stat "set((c['aligner'], c['period']) for c in d['calls'])")" = "{('ALIGN_MAX', '2s')}" ] ||
	fail "aggregation: $(stat "d['calls']")"
[ "$(stat "max([c['start'] for c in $FIRSTS].count(s) for s in set(c['start'] for c in d['calls']))")" = 1 ] ||
	fail "a window asked twice: $(stat "d['calls']")"

# --- Firing and recovery ---------------------------------------------------------
ctl '{"values": {"web-2": 0.95}}'
wait_for 15 recv_ge WARNING 1 || fail "no warning: $(cat "$T/recv.log" 2>/dev/null)"
grep -q 'gce.instance.cpu.utilization{instance_id=1002,instance_name=web-2,project_id=vigil-it,role=web,zone=europe-west1-b}' \
	"$T/recv.log" || fail "the notification does not name the instance: $(cat "$T/recv.log")"

# --- Tokens expire: refetched, the call made again --------------------------------
G0=$(stat "d['tokens']")
ctl '{"expire": true}'
wait_for 10 stat_ge "d['unauthorized']" 1 || fail "no token refused"
wait_for 10 stat_gt "d['tokens']" "$G0" || fail "no new token"
sleep 3
ctl '{"values": {"web-2": 0.2}}'
wait_for 15 recv_ge OK 1 || fail "no recovery"
stat "sorted(set(c['start'] for c in $FIRSTS))" >"$T/starts"
python3 - "$T/starts" <<'PY' || fail "a window was missed: $(cat "$T/starts")"
import ast, calendar, sys, time
s = [calendar.timegm(time.strptime(x, "%Y-%m-%dT%H:%M:%SZ"))
     for x in ast.literal_eval(open(sys.argv[1]).read())]
sys.exit(1 if [b - a for a, b in zip(s, s[1:]) if b - a != 2] else 0)
PY

# --- Throttling ----------------------------------------------------------------------
N0=$(stat "len($FIRSTS)")
ctl '{"throttle": 2}'
wait_for 20 stat_ge "d['throttled']" 2 || fail "the burst was not met"
wait_for 15 stat_gt "len($FIRSTS)" "$N0" || fail "no calls after the throttling"
grep -q 'gce: throttled; no calls for' "$T/vigild.log" || fail "no throttling logged"
[ "$(count_received "$T/recv.log" UNKNOWN)" = 0 ] || fail "throttling made a series UNKNOWN"

"$VIGIL" -c "$T/vigil.conf" status >"$T/status" 2>&1 || fail "status: $(cat "$T/status")"
has "$T/status" '^ +gce\.api_calls +[1-9][0-9]*$'
has "$T/status" '^ +gce\.datapoints +[1-9][0-9]*$'
has "$T/status" '^ +gce\.errors +[1-9][0-9]*$'

# --- web-3 deleted: retired, no UNKNOWN for it (below: only web-2's) --------
ctl '{"remove": ["web-3"]}'
wait_for 15 grep -q 'gce: gce.instance.cpu.utilization{instance_id=1003,.*} not seen for 5s: retired' \
	"$T/vigild.log" || fail "web-3 was not retired"
grep -q 'instance_name=web-[12],.* retired' "$T/vigild.log" && fail "a live instance was retired"

# --- No series: UNKNOWN once --------------------------------------------------------
ctl '{"nodata": true}'
wait_for 25 recv_ge UNKNOWN 1 || fail "no_data did not apply"
sleep 2
W=$(count_received "$T/recv.log" WARNING)
O=$(count_received "$T/recv.log" OK)
U=$(count_received "$T/recv.log" UNKNOWN)
[ "$W/$O/$U" = "1/1/1" ] || fail "notifications W/O/U = $W/$O/$U: $(cat "$T/recv.log")"
grep -q 'ya29\.meta-' "$T/vigild.log" && fail "a token is in the log"
echo "it_gcpmon: fleet by user label, pages, fire+recover once, token expiry without a gap, 429 burst, no_data"
