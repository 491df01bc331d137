# SPDX-License-Identifier: BSD-2-Clause
# cw_moto.sh: the CloudWatch side of the benchmarks (sourced by
# bench/cloudwatch.sh and bench/footprint.sh): moto_server on 127.0.0.1
# with every request's signature checked (tests/integration/
# moto_raw_query.py), seeded with data for N metrics, and the "cloudwatch"
# source that reads them.  Needs T (a private folder) and the tree as the
# working directory.

# cw_moto_start N: start moto, seed metrics Bench/M{Id=0..N-1} with a point
# every 10 s for the last 10 minutes; sets CW_EP, CW_AKID, CW_SECRET, and
# CW_MOTO_PID.  Return 1 if moto_server or boto3 is missing.
cw_moto_start() {
	local n=$1 port
	command -v moto_server >/dev/null && python3 -c 'import boto3' 2>/dev/null ||
		return 1
	port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	CW_EP="http://127.0.0.1:$port"
	INITIAL_NO_AUTH_ACTION_COUNT=4 python3 tests/integration/moto_raw_query.py \
		-H 127.0.0.1 -p "$port" >"$T/moto.log" 2>&1 &
	CW_MOTO_PID=$!
	for _ in $(seq 100); do curl -s "$CW_EP/moto-api/" >/dev/null && break; sleep 0.3; done
	read -r CW_AKID CW_SECRET < <(python3 tests/integration/moto_setup.py "$CW_EP" bench-cw)
	python3 - "$CW_EP" "$CW_AKID" "$CW_SECRET" "$n" <<'PY'
import datetime, sys, boto3, botocore.config
# boto3 gzips large PutMetricData bodies, which moto 5.2.1 cannot read.
cw = boto3.client("cloudwatch", endpoint_url=sys.argv[1], region_name="us-east-1",
                  aws_access_key_id=sys.argv[2], aws_secret_access_key=sys.argv[3],
                  config=botocore.config.Config(disable_request_compression=True))
now = datetime.datetime.now(datetime.timezone.utc)
n = int(sys.argv[4])
for start in range(0, n, 20):
    data = []
    for i in range(start, min(n, start + 20)):
        for age in range(0, 600, 10):
            data.append({"MetricName": "M", "Value": float(i),
                         "Dimensions": [{"Name": "Id", "Value": str(i)}],
                         "Timestamp": now - datetime.timedelta(seconds=age)})
    for k in range(0, len(data), 1000):
        cw.put_metric_data(Namespace="Bench", MetricData=data[k:k + 1000])
PY
}

# cw_source NAME N: the config group of a "cloudwatch" source NAME of the N
# seeded metrics (period 10 s, polled every 10 s).
cw_source() {
	local mets
	mets=$(python3 -c '
import sys
print(",\n".join("    { namespace = \"Bench\"; metric = \"M\"; period = \"10s\"; "
                 "dimensions = { Id = \"%d\"; }; }" % i for i in range(int(sys.argv[1]))))' "$2")
	cat <<CONF
{ type = "cloudwatch"; name = "$1"; interval = "10s"; endpoint = "$CW_EP";
    access_key_id = "$CW_AKID"; secret_access_key = "$CW_SECRET"; delay = "0s";
    metrics = (
$mets
    ); }
CONF
}

# cw_polls CONF NAME: the polls source NAME of the vigild of CONF made.
cw_polls() {
	"$VIGIL" -c "$1" status --json | python3 -c '
import json, sys
for s in json.load(sys.stdin)["sources"]:
    if s["name"] == sys.argv[1]:
        print(int(s["readings"].get(sys.argv[1] + ".polls", 0)))' "$2"
}
