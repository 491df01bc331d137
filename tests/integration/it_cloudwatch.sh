#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# it_cloudwatch.sh: the "cloudwatch" source against moto_server, every
# request's SigV4 checked.  A fleet of EC2 instances tagged Role=web is
# found by DescribeInstances; cw_feed.py puts the values the test controls
# into CloudWatch.  A real vigild polls GetMetricData (period 1s, delay 0):
# a rule with where = { Role = "web" } fires once when one instance goes
# over its level and recovers once, nothing in between; a source of 1,200
# metrics costs 3 GetMetricData calls (500 + 500 + 200 queries) per poll
# and polls no faster than its period, counted on moto's side; terminating
# an instance retires its series without an alert; vigil config check
# prints what each source will request a month.
. "$(dirname "$0")/lib.sh"

start_moto "vigil-cw"
start_receiver "$T/recv.log"

aws_py() {	# aws_py PYTHON: run with ec2 and cw clients on moto, signed
	python3 - "$MOTO_EP" "$AKID" "$SECRET" <<PY
import sys, boto3
kw = dict(endpoint_url=sys.argv[1], region_name="us-east-1",
          aws_access_key_id=sys.argv[2], aws_secret_access_key=sys.argv[3])
ec2 = boto3.client("ec2", **kw)
$1
PY
}

# The fleet: three web servers and one database.
aws_py '
tags = lambda r: [{"ResourceType": "instance", "Tags": [{"Key": "Role", "Value": r}]}]
web = ec2.run_instances(ImageId="ami-12c6146b", MinCount=3, MaxCount=3,
                        TagSpecifications=tags("web"))["Instances"]
db = ec2.run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1,
                       TagSpecifications=tags("db"))["Instances"]
print(" ".join(i["InstanceId"] for i in web + db))
' >"$T/ids" || fail "run_instances failed"
read -r WEB1 WEB2 WEB3 DB1 <"$T/ids"
[ -n "$DB1" ] || fail "no fleet: $(cat "$T/ids")"
printf '%s 10\n%s 10\n%s 10\n%s 10\n' "$WEB1" "$WEB2" "$WEB3" "$DB1" >"$T/fleet"
python3 "$VIGIL_SRC/tests/integration/cw_feed.py" "$MOTO_EP" "$AKID" "$SECRET" "$T" \
	>"$T/feed.log" 2>&1 &
PIDS+=($!)

# 1,200 metrics named one by one, for the batching count.
BULK=$(python3 -c '
print(",\n".join("      { namespace = \"Vigil/Bulk\"; metric = \"M\"; "
                 "period = \"10s\"; dimensions = { Id = \"%d\"; }; }" % i
                 for i in range(1200)))')

cat >"$T/vigil.conf" <<CONF
agent = {
  state_dir = "$T/state";
  control_socket = "$T/vigild.sock";
  hostname = "it-host";
  log_level = "debug";
};
sources = (
  { type = "cloudwatch"; name = "ec2"; interval = "1s"; region = "us-east-1";
    endpoint = "$MOTO_EP"; ec2_endpoint = "$MOTO_EP";
    access_key_id = "$AKID"; secret_access_key = "$SECRET";
    delay = "0s"; discover_ttl = "3s";
    metrics = ( { namespace = "Vigil/Test"; metric = "Load"; stat = "Maximum";
                  period = "1s"; discover = { tags = { Role = "web"; }; }; } ); }
);
rules = (
  { name = "web-load"; metric = "ec2.Load"; where = { Role = "web"; };
    op = ">"; warn = 80.0; no_data = "8s"; notify = [ "hook" ]; }
);
notifiers = (
  { name = "hook"; type = "webhook"; url = "http://127.0.0.1:$RECV_PORT/alert";
    timeout = "2s"; }
);
CONF
chmod 600 "$T/vigil.conf"

"$VIGIL" -c "$T/vigil.conf" config check >"$T/check.out" 2>"$T/check.err" ||
	fail "config check rejected the test config: $(cat "$T/check.err")"
grep -q "^ec2: 0 metrics and 1 per discovered instance, about 0 metrics requested a month from CloudWatch plus 2592000 per instance" "$T/check.out" ||
	fail "config check did not estimate the ec2 source: $(cat "$T/check.out")"

start_vigild "$T/vigil.conf"

status_json() { "$VIGIL" -c "$T/vigil.conf" status --json; }
reading() {	# reading SOURCE NAME: the source's last reading NAME
	status_json | python3 -c '
import json, sys
for s in json.load(sys.stdin)["sources"]:
    if s["name"] == sys.argv[1]:
        print(int(s["readings"].get(sys.argv[2], -1)))' "$1" "$2"
}
series_ok() { [ "$(reading ec2 ec2.series)" = 3 ]; }
fed() {	# fed INSTANCE: a rule series exists for INSTANCE
	status_json | grep -q "ec2.Load{InstanceId=$1,Role=web}"
}

# 1. Discovery: the three web servers, not the database.
wait_for 20 series_ok || fail "ec2 did not find 3 web instances: $(status_json)"
wait_for 15 fed "$WEB1" || fail "no reading of $WEB1 reached the rules"
fed "$DB1" && fail "the db instance has a series"
has "$T/vigild.log" "instance $WEB2 found"

# 2. One instance over the level: one alert, then one recovery.
count_state() { count_received "$T/recv.log" "$1"; }
has_state() { [ "$(count_state "$1")" -ge 1 ]; }
sed -i "s/^$WEB1 10$/$WEB1 95/" "$T/fleet"
wait_for 15 has_state WARNING ||
	fail "no WARNING for $WEB1 arrived"
sleep 2
sed -i "s/^$WEB1 95$/$WEB1 10/" "$T/fleet"
wait_for 15 has_state OK || fail "no recovery arrived"
sleep 2
python3 - "$T/recv.log" "$WEB1" <<'PY' || fail "the alerts are not one firing and one recovery"
import json, sys
bodies = [json.loads(json.loads(l)["body"]) for l in open(sys.argv[1])]
states = [b["state"] for b in bodies]
assert states == ["WARNING", "OK"], states
for b in bodies:
    assert b["rule"] == "web-load", b
    assert b["metric"] == "ec2.Load{InstanceId=%s,Role=web}" % sys.argv[2], b
    assert b["labels"] == {"InstanceId": sys.argv[2], "Role": "web"}, b
assert bodies[0]["value"] == 95 and bodies[1]["value"] == 10, bodies
PY

# 3. Scale-in: terminating a web server retires its series, no alert.
aws_py "ec2.terminate_instances(InstanceIds=['$WEB2'])" >/dev/null ||
	fail "terminate_instances failed"
sed -i "/^$WEB2 /d" "$T/fleet"
T_GONE=$(date +%s)
wait_for 20 grep -q "instance $WEB2 is gone" "$T/vigild.log" ||
	fail "$WEB2 was not retired"
series_two() { [ "$(reading ec2 ec2.series)" = 2 ]; }
wait_for 5 series_two || fail "ec2.series is not 2 after the scale-in"
fed "$WEB2" && fail "$WEB2 still has a rule series"
# Past the rule's no_data (8 s) from the last data of $WEB2: nothing.
while [ $(($(date +%s) - T_GONE)) -lt 11 ]; do sleep 1; done
n=$(wc -l <"$T/recv.log")
[ "$n" = 2 ] || fail "the scale-in caused notifications: $(cat "$T/recv.log")"
"$VIGIL" -c "$T/vigil.conf" status | grep -q "web-load.*$WEB3.*OK" ||
	fail "the remaining instances are not OK: $("$VIGIL" -c "$T/vigil.conf" status)"
touch "$T/stop"
kill "$VIGILD_PID"
wait "$VIGILD_PID" 2>/dev/null || true

# A daemon with one source of 1,200 metrics named one by one.  (Its calls
# take moto seconds, during which no other source of the daemon collects:
# sources collect on the scheduler thread.)
cat >"$T/bulk.conf" <<CONF
agent = { state_dir = "$T/state2"; control_socket = "$T/vigild2.sock"; };
sources = (
  { type = "cloudwatch"; name = "bulk"; interval = "1s"; region = "us-east-1";
    endpoint = "$MOTO_EP"; access_key_id = "$AKID"; secret_access_key = "$SECRET";
    delay = "0s";
    metrics = (
$BULK
    ); }
);
CONF
chmod 600 "$T/bulk.conf"
"$VIGIL" -c "$T/bulk.conf" config check >"$T/check.out" 2>"$T/check.err" ||
	fail "config check rejected the bulk config: $(cat "$T/check.err")"
# 1,200 metrics every 10 s for 30 days: 311,040,000 requested.
grep -q "^bulk: 1200 metrics, about 311040000 metrics requested a month" "$T/check.out" ||
	fail "config check did not estimate the bulk source: $(cat "$T/check.out")"
start_vigild "$T/bulk.conf"
T_START=$(date +%s)
status_json() { "$VIGIL" -c "$T/bulk.conf" status --json; }
two_polls() { [ "$(reading bulk bulk.api_calls)" -ge 6 ]; }
wait_for 30 two_polls || fail "the bulk source did not poll twice: $(status_json)"

# 4. Batching, counted by moto: 1,200 queries in calls of 500, 500, 200,
# once per 10 s period however often the source is collected (1 s).
grep '^vigil-action cloudwatch GetMetricData' "$T/moto.log" |
	awk '$4 >= 200 { print $4 }' >"$T/bulk.calls"
python3 - "$T/bulk.calls" <<'PY' || fail "bulk calls were not 500+500+200 per poll: $(tr '\n' ' ' <"$T/bulk.calls")"
import sys
n = [int(x) for x in open(sys.argv[1])]
# A poll may be under way at the moment the log is read.
while len(n) % 3:
    n.pop()
assert len(n) >= 3, n
for i in range(0, len(n), 3):
    assert n[i:i + 3] == [500, 500, 200], n
PY
polls=$(($(wc -l <"$T/bulk.calls") / 3))
runtime=$(($(date +%s) - T_START))
[ "$polls" -le $((runtime / 10 + 2)) ] ||
	fail "$polls bulk polls in ${runtime}s: faster than the 10s period"
status_json | python3 -c '
import json, sys
r = json.load(sys.stdin)["sources"][0]["readings"]
calls, req = r["bulk.api_calls"], r["bulk.metrics_requested"]
polls, age = r["bulk.polls"], r["bulk.last_poll_age_s"]
assert calls >= 6 and calls % 3 == 0, r
assert req == calls / 3 * 1200 and polls == calls / 3, r
assert 0 <= age <= 11 and r["bulk.series"] == 1200 and r["bulk.errors"] == 0, r
' || fail "vigil status: the bulk counters are wrong: $(status_json | head -c 600)"
"$VIGIL" -c "$T/bulk.conf" status | grep -q "bulk" || fail "status lacks the bulk source"

echo "PASS: it_cloudwatch ($polls bulk polls in ${runtime}s)"
