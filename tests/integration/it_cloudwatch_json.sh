#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# it_cloudwatch_json.sh: the "cloudwatch" source with protocol = "json"
# (CloudWatch's awsJson1_0: a JSON POST, X-Amz-Target
# GraniteServiceVersion20100801.<Action>) against moto_server, every
# request's SigV4 checked.  cw_feed.py puts the values the test controls.
#  - a dimension "*" is resolved by ListMetrics and the series polled by
#    GetMetricData, both in the JSON protocol (counted on moto's side: no
#    query-protocol CloudWatch call at all);
#  - a rule fires once on a value over its level and recovers once;
#  - a wrong secret gives the JSON error's code in `vigil status`.
. "$(dirname "$0")/lib.sh"

start_moto "vigil-cwj"
start_receiver "$T/recv.log"

printf 'i-json1 10\ni-json2 10\n' >"$T/fleet"
python3 "$VIGIL_SRC/tests/integration/cw_feed.py" "$MOTO_EP" "$AKID" "$SECRET" "$T" \
	>"$T/feed.log" 2>&1 &
PIDS+=($!)
wait_for 15 grep -q "vigil-auth POST / $AKID" "$T/moto.log" || fail "cw_feed put nothing"

cat >"$T/vigil.conf" <<CONF
agent = {
  state_dir = "$T/state";
  control_socket = "$T/vigild.sock";
  hostname = "it-host";
  log_level = "debug";
};
sources = (
  { type = "cloudwatch"; name = "cwj"; interval = "1s"; region = "us-east-1";
    endpoint = "$MOTO_EP"; protocol = "json";
    access_key_id = "$AKID"; secret_access_key = "$SECRET";
    delay = "0s"; discover_ttl = "3s";
    metrics = ( { namespace = "Vigil/Test"; metric = "Load"; stat = "Maximum";
                  period = "1s"; dimensions = { InstanceId = "*"; }; } ); },
  { type = "cloudwatch"; name = "badkey"; interval = "1s"; region = "us-east-1";
    endpoint = "$MOTO_EP"; protocol = "json";
    access_key_id = "$AKID"; secret_access_key = "not-the-secret";
    delay = "0s";
    metrics = ( { namespace = "Vigil/Test"; metric = "Load"; stat = "Maximum";
                  period = "1s"; dimensions = { InstanceId = "i-json1"; }; } ); }
);
rules = (
  { name = "json-load"; metric = "cwj.Load"; where = { InstanceId = "i-json1"; };
    op = ">"; warn = 80.0; no_data = "30s"; notify = [ "hook" ]; }
);
notifiers = (
  { name = "hook"; type = "webhook"; url = "http://127.0.0.1:$RECV_PORT/alert";
    timeout = "2s"; }
);
CONF
chmod 600 "$T/vigil.conf"
"$VIGIL" -c "$T/vigil.conf" config check >"$T/check.out" 2>"$T/check.err" ||
	fail "config check rejected the test config: $(cat "$T/check.err")"
sed 's/protocol = "json"/protocol = "cbor"/' "$T/vigil.conf" >"$T/bad.conf"
run_rc rc "$VIGIL" -c "$T/bad.conf" config check
[ "$rc" != 0 ] && grep -q 'protocol.*"query".*"json"' "$T/err" ||
	fail "protocol = \"cbor\" was not refused clearly: $(cat "$T/err")"

start_vigild "$T/vigil.conf"

st() {
	"$VIGIL" -c "$T/vigil.conf" status --json | python3 -c "
import json, sys
d = json.load(sys.stdin)
S = {s['name']: s for s in d['sources']}
print($1)"
}
series_two() { [ "$(st "int(S['cwj']['readings'].get('cwj.series', -1))")" = 2 ]; }
wait_for 20 series_two || fail "ListMetrics (json) did not find 2 series: $(st "S['cwj']")"
has_state() { [ "$(count_received "$T/recv.log" "$1")" -ge 1 ]; }
fed() { st "S['cwj']['readings']" | grep -q "cwj.Load{InstanceId=i-json1}"; }
wait_for 15 fed || fail "no reading of i-json1: $(st "S['cwj']")"

sed -i 's/^i-json1 10$/i-json1 95/' "$T/fleet"
wait_for 15 has_state WARNING || fail "no WARNING arrived"
sleep 2
sed -i 's/^i-json1 95$/i-json1 10/' "$T/fleet"
wait_for 15 has_state OK || fail "no recovery arrived"
sleep 2
python3 - "$T/recv.log" <<'PY' || fail "the alerts are not one firing and one recovery"
import json, sys
bodies = [json.loads(json.loads(l)["body"]) for l in open(sys.argv[1])]
assert [b["state"] for b in bodies] == ["WARNING", "OK"], bodies
assert all(b["metric"] == "cwj.Load{InstanceId=i-json1}" for b in bodies), bodies
assert bodies[0]["value"] == 95 and bodies[1]["value"] == 10, bodies
PY

# moto's side: the JSON protocol only, 2 queries a GetMetricData.
grep -q 'vigil-action cloudwatch ListMetrics 0 json$' "$T/moto.log" ||
	fail "no JSON ListMetrics call: $(grep vigil-action "$T/moto.log" | sort | uniq -c | head)"
grep -Eq 'vigil-action cloudwatch GetMetricData 2 [0-9]+ [0-9]+ json$' "$T/moto.log" ||
	fail "no JSON GetMetricData call of 2 queries: $(grep vigil-action "$T/moto.log" | sort | uniq -c | head)"
grep -E 'vigil-action cloudwatch (GetMetricData|ListMetrics)' "$T/moto.log" | grep -qv ' json$' &&
	fail "a query-protocol CloudWatch call was made"

# The wrong secret: moto answers a JSON call's signature failure in the
# query protocol's XML; its code reaches the status all the same.
err=$(st "S['badkey']['last_error']")
case "$err" in
*SignatureDoesNotMatch* | *InvalidSignature*) ;;
*) fail "badkey's error does not name the signature failure: $err" ;;
esac
touch "$T/stop"
echo "it_cloudwatch_json: ListMetrics and GetMetricData in awsJson1_0 against moto; fire+recover once; error: $err"
