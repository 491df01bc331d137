#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# it_cloudwatch_late.sh: late CloudWatch data against moto_server (SigV4
# checked).  The newest bucket of a poll's window has a partial value (50,
# under a rule's level) when first read; its data is completed (95) before
# the next poll.  The rule must see the corrected value, once, and never
# the partial one: no alert for 50, the series' value 95.  A source
# collected every second with a 10 s period polls once per period, counted
# on moto's side.  The source names its credentials (credentials = "moto"),
# whose region (eu-west-1, where the data is) it takes.  A dimension given
# as "*" (Queue) is resolved through ListMetrics: one series per queue.
. "$(dirname "$0")/lib.sh"

start_moto "vigil-cw-late"
start_receiver "$T/recv.log"

put() {	# put VALUE EPOCH_SECONDS [METRIC DIMENSION=VALUE]: one datapoint
	python3 - "$MOTO_EP" "$AKID" "$SECRET" "$1" "$2" "${3:-Late}" "${4:-}" <<'PY'
import datetime, sys, boto3
cw = boto3.client("cloudwatch", endpoint_url=sys.argv[1], region_name="eu-west-1",
                  aws_access_key_id=sys.argv[2], aws_secret_access_key=sys.argv[3])
t = datetime.datetime.fromtimestamp(int(sys.argv[5]), datetime.timezone.utc)
d = [dict(zip(("Name", "Value"), sys.argv[7].split("=")))] if sys.argv[7] else []
cw.put_metric_data(Namespace="Vigil/Late", MetricData=[
    {"MetricName": sys.argv[6], "Value": float(sys.argv[4]), "Timestamp": t,
     "Dimensions": d}])
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
    endpoint = "$MOTO_EP"; delay = "0s"; discover_ttl = "2s";
    metrics = ( { namespace = "Vigil/Late"; metric = "Late"; stat = "Maximum";
                  period = "10s"; },
                { namespace = "Vigil/Late"; metric = "Q"; period = "10s";
                  dimensions = { Queue = "*"; }; recently_active = true; } ); }
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
# Two queues, which the dimension "*" finds through ListMetrics.
put 1 $((E + 3)) Q Queue=a && put 2 $((E + 3)) Q Queue=b ||
	fail "put_metric_data failed"
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
# at E + 20 (and the first at start), never every second.  (Series found
# in between are read at once, for the window in force.)
n=$(grep -Ec '^vigil-action cloudwatch GetMetricData [0-9]+ ' "$T/moto.log")
ends=$(grep -E '^vigil-action cloudwatch GetMetricData [0-9]+ ' "$T/moto.log" |
	awk '{ print $6 }' | sort -u | wc -l)
[ "$ends" -ge 3 ] && [ "$ends" -le 4 ] && [ "$n" -le $((ends * 2)) ] ||
	fail "$n GetMetricData calls for $ends windows in 22 s, want 3 windows"

# The queues: found, read (3 queries a call then), labelled.
has "$T/vigild.log" 'metric found: cw.Q\{Queue=a\}'
has "$T/vigild.log" 'metric found: cw.Q\{Queue=b\}'
grep -q '^vigil-action cloudwatch ListMetrics' "$T/moto.log" || fail "no ListMetrics"
grep -q '^vigil-action cloudwatch GetMetricData 3 ' "$T/moto.log" ||
	fail "the queues were not read with Late"
echo "PASS: it_cloudwatch_late ($n calls)"
