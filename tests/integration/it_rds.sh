#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# it_rds.sh: a backup job of RDS snapshots against moto_server (SigV4
# checked).  A job with only an `rds` group snapshots an instance and an
# Aurora cluster at each `vigil backup run`, tags them with the job, host
# and backup id, and keeps the 2 newest (keep_last = 2): after four runs
# the two oldest of each DB are gone, while a snapshot made by hand, one
# tagged for another job and one tagged by another host, all older, are
# left alone.  A job naming an instance that does not exist fails, names
# RDS's error, and raises backup.<job>.failed in a running vigild, which a
# rule turns into a page.  Through a fault proxy: throttling is retried,
# and a snapshot that does not become available within `wait` fails the
# run on time.
. "$(dirname "$0")/lib.sh"

start_moto "vigil-rds"
start_receiver "$T/recv.log"
start_fault_proxy "$MOTO_EP"

rds_py() {	# rds_py PYTHON: run with an rds client on moto, signed
	python3 - "$MOTO_EP" "$AKID" "$SECRET" <<PY
import sys, boto3
kw = dict(endpoint_url=sys.argv[1], region_name="us-east-1",
          aws_access_key_id=sys.argv[2], aws_secret_access_key=sys.argv[3])
rds = boto3.client("rds", **kw)
def snaps():
    out = {}
    for s in rds.describe_db_snapshots(SnapshotType="manual")["DBSnapshots"]:
        out[s["DBSnapshotIdentifier"]] = {t["Key"]: t["Value"] for t in s.get("TagList", [])}
    for s in rds.describe_db_cluster_snapshots(SnapshotType="manual")["DBClusterSnapshots"]:
        out[s["DBClusterSnapshotIdentifier"]] = {t["Key"]: t["Value"] for t in s.get("TagList", [])}
    return out
$1
PY
}

# An instance, an Aurora cluster, and snapshots that are not the job's,
# older than any the job makes.
rds_py '
rds.create_db_instance(DBInstanceIdentifier="db-1", DBInstanceClass="db.t3.micro",
    Engine="postgres", MasterUsername="u", MasterUserPassword="passw0rd1",
    AllocatedStorage=20)
rds.create_db_cluster(DBClusterIdentifier="aurora-1", Engine="aurora-postgresql",
    MasterUsername="u", MasterUserPassword="passw0rd1")
old = "2020-01-01T000000Z-0000"
rds.create_db_snapshot(DBSnapshotIdentifier="by-hand", DBInstanceIdentifier="db-1")
rds.create_db_snapshot(DBSnapshotIdentifier="other-job", DBInstanceIdentifier="db-1",
    Tags=[{"Key": "vigil:job", "Value": "other"}, {"Key": "vigil:host", "Value": "rds-host"},
          {"Key": "vigil:backup-id", "Value": old}])
rds.create_db_cluster_snapshot(DBClusterSnapshotIdentifier="other-host",
    DBClusterIdentifier="aurora-1",
    Tags=[{"Key": "vigil:job", "Value": "dbs"}, {"Key": "vigil:host", "Value": "elsewhere"},
          {"Key": "vigil:backup-id", "Value": old}])
' || fail "moto setup failed"

cat >"$T/vigil.conf" <<CONF
agent = { state_dir = "$T/state"; control_socket = "$T/vigild.sock";
  hostname = "rds-host"; };
sources = ( { type = "load"; interval = "1s"; } );
backups = (
  { name = "dbs"; keep_last = 2;
    rds = { instances = [ "db-1" ]; clusters = [ "aurora-1" ];
            region = "us-east-1"; endpoint = "$MOTO_EP";
            access_key_id = "$AKID"; secret_access_key_file = "$T/secret";
            wait = "20s"; }; },
  { name = "proxied"; keep_last = 1;
    rds = { instances = [ "db-1" ]; region = "us-east-1";
            endpoint = "http://127.0.0.1:$FP_PORT"; access_key_id = "$AKID";
            secret_access_key_file = "$T/secret"; wait = "3s"; }; },
  { name = "broken";
    rds = { instances = [ "db-1", "no-such-db" ]; region = "us-east-1";
            endpoint = "$MOTO_EP"; access_key_id = "$AKID";
            secret_access_key_file = "$T/secret"; wait = "10s"; }; }
);
rules = (
  { name = "backup-failed"; metric = "backup.*.failed"; op = ">="; crit = 1.0;
    notify = [ "hook" ]; }
);
notifiers = (
  { name = "hook"; type = "webhook"; url = "http://127.0.0.1:$RECV_PORT/"; timeout = "2s"; }
);
CONF
printf '%s' "$SECRET" >"$T/secret"
chmod 600 "$T/vigil.conf" "$T/secret"
"$VIGIL" -c "$T/vigil.conf" config check >"$T/check.out" 2>&1 ||
	fail "config check refused a job of snapshots alone: $(cat "$T/check.out")"

# 1. Four runs without a daemon (a second apart: backup ids count seconds).
ids=()
for i in 1 2 3 4; do
	out=$("$VIGIL" -c "$T/vigil.conf" backup run dbs 2>&1) ||
		fail "run $i failed: $out"
	id=$(grep -o 'dbs/[0-9a-zA-Z-]*' <<<"$out" | head -1 | cut -d/ -f2)
	[ -n "$id" ] || fail "no backup id in: $out"
	ids+=("$id")
	sleep 1.1
done

python3 - "$MOTO_EP" "$AKID" "$SECRET" "${ids[@]}" <<'PY' || fail "snapshots after four runs are wrong"
import sys, boto3
kw = dict(endpoint_url=sys.argv[1], region_name="us-east-1",
          aws_access_key_id=sys.argv[2], aws_secret_access_key=sys.argv[3])
rds = boto3.client("rds", **kw)
ids = sys.argv[4:]
assert len(ids) == 4, ids
got = {}
for s in rds.describe_db_snapshots(SnapshotType="manual")["DBSnapshots"]:
    got[s["DBSnapshotIdentifier"]] = ({t["Key"]: t["Value"] for t in s.get("TagList", [])}, s["Status"])
for s in rds.describe_db_cluster_snapshots(SnapshotType="manual")["DBClusterSnapshots"]:
    got[s["DBClusterSnapshotIdentifier"]] = ({t["Key"]: t["Value"] for t in s.get("TagList", [])}, s["Status"])
def name(db, bid):
    return "vigil-dbs-%s-%s" % (db, bid.lower())
want = {"by-hand", "other-job", "other-host"}
for db in ("db-1", "aurora-1"):
    for bid in ids[2:]:
        want.add(name(db, bid))
assert set(got) == want, "have %s\nwant %s" % (sorted(got), sorted(want))
for db in ("db-1", "aurora-1"):
    for bid in ids[2:]:
        tags, status = got[name(db, bid)]
        assert status == "available", status
        assert tags == {"vigil:job": "dbs", "vigil:host": "rds-host",
                        "vigil:backup-id": bid}, tags
PY

# 2. Throttling is retried: two Throttling answers, then the run goes on.
THROTTLE='<ErrorResponse xmlns="http://rds.amazonaws.com/doc/2014-10-31/"><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error><RequestId>f</RequestId></ErrorResponse>'
rule() {	# rule STATUS BODY COUNT SKIP: a fault on every RDS call
	python3 -c 'import json,sys; print(json.dumps({"headers": "/rds/aws4_request",
	    "status": int(sys.argv[1]), "body": sys.argv[2], "count": int(sys.argv[3]),
	    "skip": int(sys.argv[4])}))' "$@"
}
id=$(fault_ctl rule "$(rule 400 "$THROTTLE" 2 0)" | python3 -c "import json,sys; print(json.load(sys.stdin)[\"id\"])")
out=$("$VIGIL" -c "$T/vigil.conf" backup run proxied 2>&1) ||
	fail "a throttled run failed: $out"
[ "$(fault_fired "$id")" = 2 ] || fail "the throttling rule fired $(fault_fired "$id") times"
grep -q "CreateDBSnapshot: throttled (HTTP 400 Throttling)" <<<"$out" ||
	fail "the throttling was not logged: $out"

# 3. A snapshot whose polls keep failing: the run fails once the rds
# group's wait (3s) is over, retries of the poll included.
fault_ctl clear >/dev/null
fault_ctl rule "$(rule 503 "" 0 1)" >/dev/null
t0=$(date +%s)
set +e
out=$("$VIGIL" -c "$T/vigil.conf" backup run proxied 2>&1)
rc=$?
set -e
t1=$(date +%s)
fault_ctl clear >/dev/null
[ "$rc" = 1 ] || fail "a run whose snapshot never became available exited $rc: $out"
grep -q "of db-1 is not available after .* (the rds group's wait)" <<<"$out" ||
	fail "the late snapshot is not named: $out"
[ $((t1 - t0)) -le 20 ] || fail "the wait of 3s took $((t1 - t0)) s"

# 4. A DB that does not exist: the run fails and says why; the one that
# exists is still snapshotted.
set +e
out=$("$VIGIL" -c "$T/vigil.conf" backup run broken 2>&1)
rc=$?
set -e
[ "$rc" = 1 ] || fail "a run with a missing DB exited $rc: $out"
grep -q "no-such-db.*DBInstanceNotFound" <<<"$out" ||
	fail "the failure does not name RDS's error: $out"
rds_py 'assert any(k.startswith("vigil-broken-db-1-") for k in snaps())' ||
	fail "the DB that exists was not snapshotted"

# 5. The same failure in a running vigild raises backup.broken.failed,
# and the rule pages; the good job's readings say it is fine.
start_vigild "$T/vigil.conf"
set +e
"$VIGIL" -c "$T/vigil.conf" backup run broken >"$T/run.out" 2>&1
rc=$?
set -e
[ "$rc" = 1 ] || fail "through vigild, a run with a missing DB exited $rc"
"$VIGIL" -c "$T/vigil.conf" backup run dbs >"$T/run2.out" 2>&1 ||
	fail "through vigild, the good job failed: $(cat "$T/run2.out")"
got() { python3 - "$T/recv.log" "$1" "$2" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    b = json.loads(json.loads(line)["body"])
    if b["rule"] == "backup-failed" and b["state"] == sys.argv[2] and b["metric"] == sys.argv[3]:
        sys.exit(0)
sys.exit(1)
PY
}
wait_for 30 got CRITICAL backup.broken.failed || fail "no page for the failed snapshot job"
# The daemon's run tags as the CLI's did (the same host): retention still
# keeps 2 of each DB.
rds_py '
n = [k for k in snaps() if k.startswith("vigil-dbs-")]
assert len(n) == 4, n
assert {"by-hand", "other-job", "other-host"} <= set(snaps())
' || fail "the daemon's run did not prune the CLI's snapshots"
got CRITICAL backup.dbs.failed && fail "the good job paged"
"$VIGIL" -c "$T/vigil.conf" status --json | python3 -c '
import json, sys
st = json.load(sys.stdin)
jobs = {j["name"]: j for j in st["jobs"]}
assert not jobs["broken"]["last_run"]["ok"], jobs["broken"]
assert "DBInstanceNotFound" in jobs["broken"]["last_run"]["error"], jobs["broken"]
assert jobs["dbs"]["last_run"]["ok"], jobs["dbs"]
' || fail "status does not show the failed and the good job: $("$VIGIL" -c "$T/vigil.conf" status --json)"
echo "it_rds: ok"
