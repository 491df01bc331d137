#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# it_archive.sh: the metric archive (docs/ARCHIVE.md), a day of readings in
# some 40 s through the test clock (VIGIL_TEST_CLOCK, lib/clock.h: 40 min
# of wall time a second), two daemons side by side:
#  - "h1" to the local backend: 24 objects for 2026-12-01, one per hour,
#    each a valid gzip stream of JSON lines whose times lie in its hour,
#    and no gap in the load readings longer than two intervals;
#  - "h2" to moto S3 (SigV4 checked) through the fault proxy, encrypted
#    with a key_file: the proxy is killed for a while (the hours wait on
#    disk, vigil status counts the failures), then vigild is killed with
#    SIGKILL and started again where the clock was.  Afterwards the
#    bucket holds the same 24 hours (.ndjson.gz.vgl), `vigil archive get`
#    decrypts them, `vigil decrypt --key` opens one, and every line that
#    was on disk at the SIGKILL is in them; a SIGTERM while an upload hangs
#    stops vigild at once, the hour kept on disk.
. "$(dirname "$0")/lib.sh"

command -v zcat >/dev/null || skip "no zcat"
start_moto vigil-it
start_fault_proxy "$MOTO_EP"
"$VIGIL" key generate --symmetric --out "$T/arch.key" 2>/dev/null ||
	fail "vigil key generate failed"

SPEED=2400
# 2026-11-30T23:50:00Z, so that the first hour of the day is whole.
T0=1796082600000
DAY=2026/12/01

# conf NAME HOST STORAGE [ARCHIVE-EXTRA]: $T/NAME.conf
conf() {
	cat >"$T/$1.conf" <<CONF
agent = { state_dir = "$T/$1"; control_socket = "$T/$1.sock";
          hostname = "$2"; log_level = "info"; };
sources = ( { name = "l"; type = "load"; interval = "1s"; } );
storage = { $3 };
archive = { storage = "st"; grace = "1m"; ${4:-} };
CONF
	chmod 600 "$T/$1.conf"
}
conf L h1 "st = { type = \"local\"; path = \"$T/store\"; };"
conf S h2 "st = { type = \"s3\"; bucket = \"vigil-it\"; region = \"us-east-1\";
  endpoint = \"http://127.0.0.1:$FP_PORT\"; access_key_id = \"$AKID\";
  secret_access_key = \"$SECRET\"; };" "key_file = \"$T/arch.key\";"

now_ms() { date +%s%3N; }
R0=$(now_ms)
# fake_now: the test clock's time now.
fake_now() { echo $((T0 + ($(now_ms) - R0) * SPEED)); }

# vigild CONF LOG: start it on the test clock, as it reads now.
vigild() {
	VIGIL_TEST_CLOCK="$(fake_now):$SPEED" "$VIGILD" -f -c "$T/$1.conf" \
		>>"$T/$1.log" 2>&1 &
	PIDS+=($!)
	eval "PID_$1=$!"
	wait_for 20 "$VIGIL" -c "$T/$1.conf" status || fail "vigild $1 did not come up"
}
vigild L
vigild S

st_field() { # CONF FIELD: a number of vigil status's archive object
	"$VIGIL" -c "$T/$1.conf" --json status |
		python3 -c "import json,sys; print(json.load(sys.stdin)['archive']['$2'])"
}

# --- S3 gone for a while: hours wait on disk, failures counted --------------
uploaded2() { [ "$(st_field S uploaded)" -ge 2 ]; }
waiting3() { [ "$(st_field S hours_waiting)" -ge 3 ] && [ "$(st_field S upload_failures)" -ge 1 ]; }
wait_for 15 uploaded2 || fail "no hour reached moto: $(tail -5 "$T/S.log")"
kill -9 "$FP_PID"
wait "$FP_PID" 2>/dev/null || true
wait_for 15 waiting3 ||
	fail "the outage left no hours waiting: $("$VIGIL" -c "$T/S.conf" status)"
"$VIGIL" -c "$T/S.conf" status >"$T/status.txt"
has "$T/status.txt" "ARCHIVE"
has "$T/status.txt" "[1-9][0-9]* hours waiting"
start_fault_proxy "$MOTO_EP" "$FP_PORT"

# --- SIGKILL in the middle of an hour, then on again -----------------------
sleep 3
mkdir -p "$T/atkill"
kill -9 "$PID_S"
cp "$T/S/archive/"*.ndjson "$T/atkill/" 2>/dev/null || true
ls "$T/atkill/"*.ndjson >/dev/null 2>&1 || fail "no hour file was being written at the kill"
wait "$PID_S" 2>/dev/null || true
vigild S

# --- The day is over: 24 hours in each target -------------------------------
END=$((T0 + 600000 + 24 * 3600000 + 120000))
while [ "$(fake_now)" -lt "$END" ]; do sleep 0.5; done
count_local() { find "$T/store/metrics/h1/$DAY" -name '*.ndjson.gz' | wc -l; }
local24() { [ "$(count_local)" = 24 ]; }
wait_for 10 local24 || fail "local: $(count_local) hours of 24"
"$VIGIL" -c "$T/S.conf" archive list --from 2026-12-01 --to 2026-12-02 >"$T/list" ||
	fail "archive list failed"
count_s3() {
	"$VIGIL" -c "$T/S.conf" archive list --from 2026-12-01 --to 2026-12-02 2>/dev/null | wc -l
}
s3_24() { [ "$(count_s3)" = 24 ]; }
wait_for 20 s3_24 ||
	fail "s3: $(count_s3) hours of 24: $("$VIGIL" -c "$T/S.conf" status)"
"$VIGIL" -c "$T/S.conf" archive list --from 2026-12-01 --to 2026-12-02 >"$T/list"
has "$T/list" "^2026-12-01T23:00:00Z +[0-9]+ metrics/h2/2026/12/01/23\.ndjson\.gz\.vgl$"
# --- SIGTERM while an upload hangs: vigild cuts it and stops at once -----------
fault_ctl rule '{"match": "^PUT /vigil-it/metrics/h2/", "action": "hang", "count": 0}' >/dev/null
wait_for 10 fault_holding || fail "no upload was held: $(fault_ctl stats)"
s_gone() { local s; s=$(ps -o stat= -p "$PID_S") || return 0; [[ $s == Z* ]]; }
kill -TERM "$PID_S"
wait_for 8 s_gone || fail "vigild did not stop within 8 s with an upload hanging"
wait "$PID_S" 2>/dev/null || true
ls "$T/S/archive/"*.ndjson.gz.vgl >/dev/null 2>&1 ||
	fail "the hour whose upload was cut is not kept for the next start"
kill "$PID_L"

# check_hours DIR KIND [ATKILL]: DIR/HH.ndjson.gz for every hour of the day,
# whole gzip streams of JSON objects in their hour; the load readings never
# further apart than two intervals (KIND s3: one longer gap, the kill);
# with ATKILL, every line of the files there is among them.
check_hours() {
	for h in $(seq -w 0 23); do
		zcat "$1/$h.ndjson.gz" >"$T/hour.$h" || fail "$1/$h.ndjson.gz is not valid gzip"
	done
	python3 - "$T" "$2" "${3:-}" "$SPEED" <<'PY' || fail "$1: the hours do not read right"
import glob, json, os, sys
t, kind, atkill, speed = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
base = 1796083200000
lines, load = set(), []
for h in range(24):
    for raw in open(f"{t}/hour.{h:02d}"):
        o = json.loads(raw)
        assert set(o) >= {"t", "name", "value"}, o
        assert base + h * 3600000 <= o["t"] < base + (h + 1) * 3600000, (h, o)
        lines.add(raw)
        if o["name"] == "load.1":
            load.append(o["t"])
load.sort()
gaps = sorted(b - a for a, b in zip(load, load[1:]))
limit = 2 * 1000 * speed
long_gaps = [g for g in gaps if g > limit]
assert len(long_gaps) <= (1 if kind == "s3" else 0), (kind, long_gaps)
assert all(g < 6 * 3600000 for g in long_gaps), long_gaps
assert load[0] < base + limit and load[-1] >= base + 24 * 3600000 - limit
if atkill:
    n = 0
    for f in glob.glob(atkill + "/202612*.ndjson"):
        for raw in open(f):
            if raw.endswith("\n"):
                assert raw in lines, ("lost at the kill", f, raw)
                n += 1
    assert n > 0
print(kind, len(lines), "lines", len(load), "load readings")
PY
	rm -f "$T"/hour.*
}
check_hours "$T/store/metrics/h1/$DAY" local

# --- S3: decrypted by vigil archive get, and by vigil decrypt ----------------
"$VIGIL" -c "$T/S.conf" archive get --from 2026-12-01 --to 2026-12-02 --out "$T/got" ||
	fail "archive get failed"
[ "$(find "$T/got" -type f | wc -l)" = 24 ] || fail "archive get wrote $(find "$T/got" -type f | wc -l) files"
check_hours "$T/got/$DAY" s3 "$T/atkill"
"$VIGIL" -c "$T/S.conf" archive get --from 2026-12-01T05 --to 2026-12-01T07 - >"$T/two.gz" ||
	fail "archive get - failed"
[ "$(zcat "$T/two.gz" | wc -l)" = "$(zcat "$T/got/$DAY/05.ndjson.gz" "$T/got/$DAY/06.ndjson.gz" | wc -l)" ] ||
	fail "archive get - did not give hours 05 and 06"
python3 - "$MOTO_EP" "$AKID" "$SECRET" "$T/obj" <<'PY' || fail "cannot fetch an object with boto3"
import sys, boto3
ep, akid, secret, out = sys.argv[1:]
s3 = boto3.client("s3", endpoint_url=ep, region_name="us-east-1",
                  aws_access_key_id=akid, aws_secret_access_key=secret)
keys = [o["Key"] for o in s3.list_objects_v2(Bucket="vigil-it")["Contents"]]
day = [k for k in keys if k.startswith("metrics/h2/2026/12/01/")]
assert len(day) == 24 and all(k.endswith(".ndjson.gz.vgl") for k in day), day
open(out, "wb").write(s3.get_object(Bucket="vigil-it", Key=day[12])["Body"].read())
PY
"$VIGIL" decrypt --key "$T/arch.key" <"$T/obj" | zcat >"$T/obj.ndjson" ||
	fail "vigil decrypt | zcat failed on an archived hour"
cmp -s "$T/obj.ndjson" <(zcat "$T/got/$DAY/12.ndjson.gz") || fail "vigil decrypt and archive get differ"
echo "PASS: it_archive"
