#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# it_cloudwatch_late.sh: late CloudWatch data against moto_server (SigV4
# checked).  The newest bucket of a poll's window has a partial value (50,
# under a rule's level) when first read; its data is completed (95) before
# the next poll.  The rule must see the corrected value, once, and never
# the partial one: no alert for 50, the series' value 95.  A source
# collected every second with a 10 s period polls once per period, counted
# on moto's side.  The source names its credentials (credentials = "moto"),
# whose region (eu-west-1, where the data is) it takes.
. "$(dirname "$0")/lib.sh"

start_moto "vigil-cw-late"
start_receiver "$T/recv.log"

put() {	# put VALUE EPOCH_SECONDS: one datapoint of Vigil/Late Late
	python3 - "$MOTO_EP" "$AKID" "$SECRET" "$1" "$2" <<'PY'
import datetime, sys, boto3
cw = boto3.client("cloudwatch", endpoint_url=sys.argv[1], region_name="eu-west-1",
                  aws_access_key_id=sys.argv[2], aws_secret_access_key=sys.argv[3])
t = datetime.datetime.fromtimestamp(int(sys.argv[5]), datetime.timezone.utc)
cw.put_metric_data(Namespace="Vigil/Late", MetricData=[
    {"MetricName": "Late", "Value": float(sys.argv[4]), "Timestamp": t}])
PY
}

cat >"$T/vigil.conf" <<CONF
agent = { state_dir = "$T/state"; control_socket = "$T/vigild.sock";
          hostname = "it-host"; log_level = "debug"; };
credentials = {
  moto = { type = "aws"; region = "eu-west-1";
           access_key_id = "$AKID"; secret_access_key = "$SECRET"; };
};
sources = (
  { type = "cloudwatch"; name = "cw"; interval = "1s"; credentials = "moto";
    endpoint = "$MOTO_EP"; delay = "0s";
    metrics = ( { namespace = "Vigil/Late"; metric = "Late"; stat = "Maximum";
                  period = "10s"; } ); }
);
rules = (
  { name = "late-low"; metric = "cw.Late"; op = "<"; crit = 60.0;
    no_data = "1m"; notify = [ "hook" ]; }
);
notifiers = (
  { name = "hook"; type = "webhook"; url = "http://127.0.0.1:$RECV_PORT/alert";
    timeout = "2s"; }
);
CONF
chmod 600 "$T/vigil.conf"

# Start 2 s into a 10 s bucket B = [E, E + 10), so the poll of the window
# ending at E is done and B is the one being filled.
until [ $(($(date +%s) % 10)) = 2 ]; do sleep 0.2; done
E=$(($(date +%s) / 10 * 10))
start_vigild "$T/vigil.conf"
put 50 $((E + 3)) || fail "put_metric_data failed"
# The poll after E + 10 reads B as the newest bucket of its window: 50.
until [ "$(date +%s)" -ge $((E + 14)) ]; do sleep 0.2; done
grep -q "cw.Late" <("$VIGIL" -c "$T/vigil.conf" status --json) &&
	fail "the newest bucket was fed at its first read"
# Late data for B before the next poll (after E + 20): the maximum is 95.
put 95 $((E + 4)) || fail "put_metric_data failed"
until [ "$(date +%s)" -ge $((E + 24)) ]; do sleep 0.2; done

value() {
	"$VIGIL" -c "$T/vigil.conf" status --json | python3 -c '
import json, sys
for r in json.load(sys.stdin)["rules"]:
    if r["rule"] == "late-low" and r["metric"] == "cw.Late":
        print(r["value"], r["state"])'
}
[ "$(value)" = "95.0 OK" ] || fail "the rule did not see the corrected 95: '$(value)'"
[ ! -s "$T/recv.log" ] || fail "the partial value was fed: $(cat "$T/recv.log")"

# One poll per period: B's window was asked for once at E + 10 and once
# at E + 20 (and the first at start), never every second.
n=$(grep -c '^vigil-action cloudwatch GetMetricData 1 ' "$T/moto.log")
[ "$n" -ge 3 ] && [ "$n" -le 4 ] || fail "$n GetMetricData calls in 22 s, want 3"
echo "PASS: it_cloudwatch_late ($n calls)"
