#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# it_azmonitor.sh: the "azure_monitor" source against tests/fakes/
# azmon_server.py (Azure Monitor metrics and getBatch, Resource Manager's
# resources list, the Entra ID token endpoint; every bearer token checked).
# A real vigild polls:
#  - 50 web VMs of one type and region found by tag (Role=web; three db VMs
#    are not) cost one getBatch call a grain, with 50 ids, counted on the
#    server; a resource named in "resources" gets one GET for its two
#    metrics, with the dimension filter giving a label;
#  - a rule with where = { Role; resource } fires once and recovers once,
#    nothing in between; a rule on the dimension label fires too;
#  - every token expired on the server mid-run: refused once, a new one
#    fetched, the same grain asked again: no grain missed;
#  - a burst of 429s: calls pause (Retry-After, backoff), then go on, and
#    the rule's state is not disturbed; Retry-After is waited for;
#  - points without values (an empty grain): no_data makes the series
#    UNKNOWN once;
#  - vigil status shows the source's counters;
#  - a failing resources list keeps the fleet last known;
#  - VMs gone from the fleet retire their series: no alert.
. "$(dirname "$0")/lib.sh"

start_receiver "$T/recv.log"
SUB=0b1f6471-1bf0-4dda-aec3-cb9272f09590
VMS=/subscriptions/$SUB/resourceGroups/web/providers/Microsoft.Compute/virtualMachines
DB=/subscriptions/$SUB/resourceGroups/data/providers/Microsoft.Sql/servers/s1/databases/orders

python3 - "$T/fleet.json" "$VMS" <<'PY'
import json, sys
vms = sys.argv[2]
fleet = [{"id": "%s/vm-web-%02d" % (vms, i), "type": "Microsoft.Compute/virtualMachines",
          "location": "westeurope", "tags": {"Role": "web", "Team": "shop"}}
         for i in range(50)]
fleet += [{"id": "%s/vm-db-%d" % (vms, i), "type": "Microsoft.Compute/virtualMachines",
           "location": "westeurope", "tags": {"Role": "db"}} for i in range(3)]
json.dump(fleet, open(sys.argv[1], "w"))
PY
printf 'the-client-secret\n' >"$T/secret"
chmod 600 "$T/secret"
python3 "$VIGIL_SRC/tests/fakes/azmon_server.py" --client-id vigil-app \
	--secret-file "$T/secret" --port-file "$T/az.port" --fleet "$T/fleet.json" \
	>"$T/az.log" 2>&1 &
PIDS+=($!)
wait_for 10 test -s "$T/az.port" || fail "azmon_server did not start: $(cat "$T/az.log")"
EP=http://127.0.0.1:$(cat "$T/az.port")

ctl() { curl -sf -X POST -d "$1" "$EP/_ctl" >/dev/null || fail "ctl $1"; }
stat() {	# stat PYTHON-EXPRESSION over d, the server's stats
	curl -sf "$EP/_stats" | python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"
}

CRED="authority_host = \"$EP\"; tenant_id = \"contoso\"; client_id = \"vigil-app\";
    client_secret_file = \"$T/secret\";"
cat >"$T/vigil.conf" <<CONF
agent = {
  state_dir = "$T/state";
  control_socket = "$T/vigild.sock";
  hostname = "it-host";
  log_level = "debug";
};
sources = (
  { type = "azure_monitor"; name = "vm"; interval = "1s"; $CRED
    endpoint = "$EP"; batch = true; batch_endpoint = "$EP";
    discover = { subscription = "$SUB";
                 resource_type = "Microsoft.Compute/virtualMachines";
                 tags = { Role = "web"; }; ttl = "2s"; };
    metrics = [ "Percentage CPU", "Network In Total" ];
    aggregation = "maximum"; grain = "PT2S"; delay = "0s"; },
  { type = "azure_monitor"; name = "db"; interval = "1s"; $CRED
    endpoint = "$EP"; resources = [ "$DB" ];
    metrics = [ "cpu_percent", "storage_percent" ]; filter = "DatabaseName eq '*'";
    grain = "PT2S"; delay = "0s"; }
);
rules = (
  { name = "web-cpu"; metric = "vm.Percentage CPU";
    where = { Role = "web"; resource = "*/vm-web-07"; };
    op = ">"; warn = 80.0; no_data = "12s"; notify = [ "hook" ]; },
  { name = "db-cpu"; metric = "db.cpu_percent"; where = { databasename = "all"; };
    op = ">"; warn = 50.0; no_data = "60s"; notify = [ "hook" ]; }
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
batches() { stat "len([c for c in d['calls'] if c['kind'] == 'batch'])"; }
# For wait_for, which runs a command again and again.
stat_ge() { [ "$(stat "$1")" -ge "$2" ]; }
stat_gt() { [ "$(stat "$1")" -gt "$2" ]; }
recv_ge() { [ "$(count_received "$T/recv.log" "$1")" -ge "$2" ]; }
wait_for 15 stat_ge "len([c for c in d['calls'] if c['kind'] == 'batch'])" 3 || fail "no getBatch calls: $(curl -s "$EP/_stats")"

# --- Batching: one getBatch of 50 ids a grain, no per-VM call ---------------
[ "$(stat "sorted(set(c['n'] for c in d['calls'] if c['kind'] == 'batch'))")" = "[50]" ] ||
	fail "getBatch calls not of 50 ids: $(stat "d['calls']")"
[ "$(stat "len([c for c in d['calls'] if c['kind'] == 'metrics' and '/virtualMachines/' in c['id']])")" = 0 ] ||
	fail "per-VM metric calls despite batch"
[ "$(stat "max([[c['start'] for c in d['calls'] if c['kind'] == 'batch'].count(s) for s in set(c['start'] for c in d['calls'] if c['kind'] == 'batch')])")" = 1 ] ||
	fail "a grain asked twice: $(stat "d['calls']")"
# The db: one GET a grain asking for both metrics.
[ "$(stat "set((c['n'], c['names']) for c in d['calls'] if c['kind'] == 'metrics')")" = "{(1, 2)}" ] ||
	fail "db metric calls: $(stat "d['calls']")"

# --- Firing and recovery -------------------------------------------------------
ctl "{\"values\": {\"$VMS/vm-web-07\": 95, \"$DB\": 60}}"
wait_for 15 recv_ge WARNING 2 ||
	fail "no warnings: $(cat "$T/recv.log" 2>/dev/null)"
grep -q 'vm.Percentage CPU{Role=web,resource=.*vm-web-07}' "$T/recv.log" ||
	fail "the web notification does not name the VM: $(cat "$T/recv.log")"
grep -q 'db.cpu_percent{databasename=all,resource=' "$T/recv.log" ||
	fail "the db notification lacks the dimension label: $(cat "$T/recv.log")"

# --- Tokens expire mid-run: refetched, the same grain asked again --------------
G0=$(stat "d['grants']")
ctl '{"expire": true}'
wait_for 10 stat_ge "d['unauthorized']" 1 || fail "no token refused"
wait_for 10 stat_gt "d['grants']" "$G0" || fail "no new token"
sleep 2

ctl "{\"values\": {\"$VMS/vm-web-07\": 10}}"
wait_for 15 recv_ge OK 1 || fail "no recovery"
# No grain missed by the vm source across the expiry: consecutive starts.
stat "sorted(set(c['start'] for c in d['calls'] if c['kind'] == 'batch'))" >"$T/starts"
python3 - "$T/starts" <<'PY' || fail "a grain was missed: $(cat "$T/starts")"
import ast, calendar, sys, time
s = [calendar.timegm(time.strptime(x, "%Y-%m-%dT%H:%M:%SZ"))
     for x in ast.literal_eval(open(sys.argv[1]).read())]
gaps = [b - a for a, b in zip(s, s[1:]) if b - a != 2]
sys.exit(1 if gaps else 0)
PY

# --- Throttling: a burst of 429s, calls pause and go on ------------------------
N0=$(batches)
# Two 429s on getBatch with Retry-After: 3: the second comes 3 s after the
# first (the backoff alone would say 1 s).
ctl '{"throttle": 2, "throttle_kind": "batch", "retry_after": 3}'
wait_for 20 stat_ge "d['throttled']" 2 || fail "the burst was not met"
GAP=$(stat "round(d['throttled_at'][1] - d['throttled_at'][0], 1)")
python3 -c "import sys; sys.exit(0 if $GAP >= 2.8 else 1)" ||
	fail "Retry-After: 3 not waited for: the second call came after ${GAP}s"
wait_for 15 stat_gt "len([c for c in d['calls'] if c['kind'] == 'batch'])" "$N0" || fail "no calls after the throttling"
grep -q 'vm: throttled; no calls for' "$T/vigild.log" || fail "no throttling logged"
[ "$(count_received "$T/recv.log" UNKNOWN)" = 0 ] || fail "throttling made a series UNKNOWN"

# --- No data: UNKNOWN once -------------------------------------------------------
ctl '{"nodata": true}'
wait_for 25 recv_ge UNKNOWN 1 || fail "no_data did not apply"
sleep 2
[ "$(count_received "$T/recv.log" UNKNOWN)" = 1 ] || fail "more than one UNKNOWN: $(cat "$T/recv.log")"
ctl '{"nodata": false}'

# --- The source's counters in vigil status -------------------------------------
"$VIGIL" -c "$T/vigil.conf" status >"$T/status" 2>&1 || fail "status: $(cat "$T/status")"
has "$T/status" '^ +vm\.api_calls +[1-9][0-9]*$'
has "$T/status" '^ +vm\.metrics_requested +[1-9][0-9]*$'
has "$T/status" '^ +vm\.resources +50$'
has "$T/status" '^ +db\.datapoints +[1-9][0-9]*$'

# --- Discovery failing: the fleet last known is kept ---------------------------------
ctl '{"fail_lists": 3}'
wait_for 15 stat_ge "d['lists_failed']" 3 || fail "the lists did not fail"
grep -q 'vm: discovery failed, the 50 resources last known are kept' "$T/vigild.log" ||
	fail "no discovery failure logged"
sleep 2
[ "$(stat "[c for c in d['calls'] if c['kind'] == 'batch'][-1]['n']")" = 50 ] ||
	fail "the fleet shrank when discovery failed"
grep -q 'is gone' "$T/vigild.log" && fail "a failing discovery retired resources"

# --- Five VMs gone: retired, batches of 45, no alert -------------------------------
python3 -c '
import json, sys
f = json.load(open(sys.argv[1]))
print(json.dumps({"fleet": [r for r in f if not r["id"].endswith(("web-01", "web-02", "web-03", "web-04", "web-05"))]}))' \
	"$T/fleet.json" >"$T/ctl.json"
curl -sf -X POST --data-binary @"$T/ctl.json" "$EP/_ctl" >/dev/null || fail "fleet"
wait_for 15 grep -q 'vm-web-05 is gone: its 2 series retired' "$T/vigild.log" ||
	fail "no retirement logged"
wait_for 10 stat_ge "int([c for c in d['calls'] if c['kind'] == 'batch'][-1]['n'] == 45)" 1 ||
	fail "batches not of 45 ids after the scale-in"
sleep 2

# Exactly: db and web warnings, one recovery (web), one UNKNOWN (web), and the
# web series back to OK after the no-data spell (UNKNOWN to OK is told).
W=$(count_received "$T/recv.log" WARNING)
O=$(count_received "$T/recv.log" OK)
U=$(count_received "$T/recv.log" UNKNOWN)
[ "$W/$O/$U" = "2/2/1" ] ||
	fail "notifications W/O/U = $W/$O/$U: $(cat "$T/recv.log")"
grep -q 'the-client-secret' "$T/vigild.log" && fail "the client secret is in the log"
echo "it_azmonitor: batch 50 ids/grain, fire+recover once, token expiry without a gap, 429 burst, no_data, retirement"
