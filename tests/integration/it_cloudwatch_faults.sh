#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# it_cloudwatch_faults.sh: the "cloudwatch" source through
# tests/fakes/fault_proxy.py in front of moto_server (SigV4 checked).
#  - Throttling: two Throttling answers in a row pause the source's calls
#    for a growing, jittered time (2 s, then 4 s: lib/backoff.h), and the
#    windows asked for afterwards reach back to the last bucket read: the
#    schedule is not lost (moto sees contiguous windows).
#  - RequestTimeTooSkewed is reported as such, with a word on the clock.
#  - DescribeInstances failing keeps the fleet last known: no series is
#    retired, readings go on.
#  - ExpiredToken: the daemon's credentials come from web identity (moto's
#    STS, temporary ASIA... keys); a call refused as expired makes the chain
#    fetch new ones at once, and the windows go on without a gap.
. "$(dirname "$0")/lib.sh"

start_moto "vigil-cw-faults"
start_fault_proxy "$MOTO_EP"
PX="http://127.0.0.1:$FP_PORT"
fault() { fault_ctl "$@" >/dev/null || fail "fault $1"; }
fired() { fault_stat "sum(d['fired'].values())"; }

python3 - "$MOTO_EP" "$AKID" "$SECRET" >"$T/ids" <<'PY' || fail "run_instances failed"
import sys, boto3
ec2 = boto3.client("ec2", endpoint_url=sys.argv[1], region_name="us-east-1",
                   aws_access_key_id=sys.argv[2], aws_secret_access_key=sys.argv[3])
r = ec2.run_instances(ImageId="ami-12c6146b", MinCount=2, MaxCount=2,
                      TagSpecifications=[{"ResourceType": "instance",
                                          "Tags": [{"Key": "Role", "Value": "web"}]}])
print(" ".join(i["InstanceId"] for i in r["Instances"]))
PY
read -r WEB1 WEB2 <"$T/ids"
python3 - "$MOTO_EP" "$AKID" "$SECRET" <<'PY' || fail "IAM role setup failed"
import json, sys, boto3
iam = boto3.client("iam", endpoint_url=sys.argv[1], region_name="us-east-1",
                   aws_access_key_id=sys.argv[2], aws_secret_access_key=sys.argv[3])
trust = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Federated": "vigil-it"},
     "Action": "sts:AssumeRoleWithWebIdentity"}]})
iam.create_role(RoleName="cw", AssumeRolePolicyDocument=trust)
iam.put_role_policy(RoleName="cw", PolicyName="all", PolicyDocument=json.dumps(
    {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
PY
printf 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ2aWdpbCJ9.c2ln\n' >"$T/web.token"
printf '%s 10\n%s 20\n' "$WEB1" "$WEB2" >"$T/fleet"
python3 "$VIGIL_SRC/tests/integration/cw_feed.py" "$MOTO_EP" "$AKID" "$SECRET" "$T" \
	>"$T/feed.log" 2>&1 &
PIDS+=($!)

cat >"$T/vigil.conf" <<CONF
agent = { state_dir = "$T/state"; control_socket = "$T/vigild.sock";
          log_level = "debug"; };
sources = (
  { type = "cloudwatch"; name = "ec2"; interval = "1s"; region = "us-east-1";
    endpoint = "$PX"; ec2_endpoint = "$PX";
    delay = "0s"; discover_ttl = "1s";
    metrics = ( { namespace = "Vigil/Test"; metric = "Load"; stat = "Maximum";
                  period = "1s"; discover = { tags = { Role = "web"; }; }; } ); }
);
CONF
chmod 600 "$T/vigil.conf"
# No keys in the configuration: web identity, nothing else in the chain.
AWS_WEB_IDENTITY_TOKEN_FILE="$T/web.token" \
AWS_ROLE_ARN=arn:aws:iam::123456789012:role/cw AWS_ROLE_SESSION_NAME=vigil-it \
AWS_ENDPOINT_URL_STS="$MOTO_EP" AWS_SHARED_CREDENTIALS_FILE="$T/none" \
AWS_CONFIG_FILE="$T/none" AWS_EC2_METADATA_DISABLED=true \
	start_vigild "$T/vigil.conf"

status_json() { "$VIGIL" -c "$T/vigil.conf" status --json; }
series() {
	status_json | python3 -c '
import json, sys
s = json.load(sys.stdin)["sources"][0]["readings"]
print(int(s.get("ec2.series", -1)), " ".join(sorted(k for k in s if k.startswith("ec2.Load"))))'
}
both() { series | grep -q "^2 .*$WEB1.*$WEB2\|^2 .*$WEB2.*$WEB1"; }
wait_for 20 both || fail "the two instances are not read: $(series)"

sts() { grep -c '^vigil-auth POST AssumeRoleWithWebIdentity unsigned' "$T/moto.log" || true; }
[ "$(sts)" = 1 ] || fail "want one AssumeRoleWithWebIdentity, saw $(sts)"
grep -q '^vigil-auth POST / ASIA' "$T/moto.log" ||
	fail "no call signed with temporary keys"

# 0. The session token refused as expired: new credentials at once.
EXPIRED='<ErrorResponse><Error><Type>Sender</Type><Code>ExpiredToken</Code><Message>The security token included in the request is expired</Message></Error><RequestId>f</RequestId></ErrorResponse>'
fault rule "$(python3 -c 'import json,sys; print(json.dumps({"headers": "/monitoring/aws4_request", "status": 400, "body": sys.argv[1], "count": 1}))' "$EXPIRED")"
sts_two() { [ "$(sts)" -ge 2 ]; }
wait_for 10 sts_two || fail "an expired token did not fetch new credentials"
has "$T/vigild.log" "the session token expired; new credentials are fetched"
wait_for 10 both || fail "reading did not go on after the new credentials"

# 1. Throttling: two in a row.
THROTTLE='<ErrorResponse xmlns="http://monitoring.amazonaws.com/doc/2010-08-01/"><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error><RequestId>f</RequestId></ErrorResponse>'
fault rule "$(python3 -c 'import json,sys; print(json.dumps({"headers": "/monitoring/aws4_request", "status": 400, "body": sys.argv[1], "count": 2}))' "$THROTTLE")"
two() { [ "$(fired)" -ge 3 ]; }
wait_for 15 two || fail "the throttling rule did not fire twice"
wait_for 15 both || fail "reading did not resume after throttling"
sleep 2
grep -E 'ec2: throttled; no calls for [0-9]+ ms' "$T/vigild.log" |
	sed -E 's/.*no calls for ([0-9]+) ms.*/\1/' >"$T/pauses"
python3 - "$T/pauses" <<'PY' || fail "throttling pauses wrong: $(tr '\n' ' ' <"$T/pauses")"
import sys
p = [int(x) for x in open(sys.argv[1])]
assert len(p) == 2, p
assert 1600 <= p[0] <= 2400 and 3200 <= p[1] <= 4800, p
PY
# moto saw every successful call; its windows leave no gap.
grep '^vigil-action cloudwatch GetMetricData' "$T/moto.log" |
	awk '{ print $5, $6 }' >"$T/windows"
python3 - "$T/windows" <<'PY' || fail "a window was skipped after throttling"
import datetime, sys
def t(s):
    return datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ").timestamp()
w = [tuple(map(t, l.split())) for l in open(sys.argv[1])]
assert len(w) >= 5, w
gaps = [w[i][0] - w[i - 1][1] for i in range(1, len(w))]
# Each window starts before the previous one ended (the provisional
# bucket is read again); after the 6 s pause too.
assert all(g <= -1 for g in gaps), gaps
assert max(e - s for s, e in w) >= 6, "no catch-up window after the pause"
PY

# 2. A clock off by more than AWS allows.
SKEW='<ErrorResponse><Error><Type>Sender</Type><Code>RequestTimeTooSkewed</Code><Message>The difference between the request time and the current time is too large.</Message></Error><RequestId>f</RequestId></ErrorResponse>'
fault rule "$(python3 -c 'import json,sys; print(json.dumps({"headers": "/monitoring/aws4_request", "status": 403, "body": sys.argv[1], "count": 1}))' "$SKEW")"
wait_for 10 grep -q "RequestTimeTooSkewed: The difference.*(is this host's clock right?)" "$T/vigild.log" ||
	fail "RequestTimeTooSkewed was not reported"

# 3. Discovery failing: the fleet last known is kept.
fault rule '{"headers": "/ec2/aws4_request", "status": 503, "body": "<Response><Errors><Error><Code>Unavailable</Code><Message>down</Message></Error></Errors></Response>", "count": 0}'
wait_for 10 grep -q "discovery of Load failed, keeping the instances last known" "$T/vigild.log" ||
	fail "no discovery failure logged"
n0=$(grep -c '^vigil-action cloudwatch GetMetricData' "$T/moto.log")
sleep 3
# (A collection may have read no new bucket: look at a few.)
wait_for 5 both || fail "a failing discovery dropped instances: $(series)"
grep -q "is gone" "$T/vigild.log" && fail "a failing discovery retired a series"
n1=$(grep -c '^vigil-action cloudwatch GetMetricData' "$T/moto.log")
[ "$n1" -gt "$n0" ] || fail "polling stopped while discovery failed"
touch "$T/stop"
echo "PASS: it_cloudwatch_faults"
