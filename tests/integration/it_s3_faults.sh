#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# it_s3_faults.sh: S3 backups under faults, against moto_server (every
# request's SigV4 checked, lib.sh start_moto) behind tests/fakes/
# fault_proxy.py, which vigil's endpoint names.  On data for four 5 MiB
# multipart parts:
#  - 503 SlowDown and 429 bursts on one part and a connection reset in the
#    middle of a part are retried: the backup succeeds and restores byte
#    for byte; a single-file restore reads at most two chunks plus the
#    manifest and the index (bytes counted by the proxy);
#  - temporary credentials from a container credentials endpoint (moto's
#    STS AssumeRole) whose session token S3 calls expired in the middle of
#    the upload (400 ExpiredToken): fetched again, the part retried, no
#    failure; the next token, five minutes from expiry, is refreshed before
#    it expires while a part is held up;
#  - the server gone while a part is in flight (the proxy holds the part,
#    then is killed): the run fails with one message, nothing new is
#    listed as complete, the multipart upload it left is aborted by the
#    next run, and the last good backups stay intact.
# Wrong credentials and a missing bucket are it_s3.sh's.
. "$(dirname "$0")/lib.sh"

start_moto vigil-it
V() { "$VIGIL" -c "$T/vigil.conf" "$@"; }
# VC: vigil with credentials from the container endpoint only (job "temp").
VC() {
	env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY -u AWS_SESSION_TOKEN \
		-u AWS_PROFILE -u AWS_WEB_IDENTITY_TOKEN_FILE -u AWS_ROLE_ARN \
		-u AWS_CONTAINER_CREDENTIALS_RELATIVE_URI \
		-u AWS_CONTAINER_AUTHORIZATION_TOKEN \
		HOME="$T/nohome" AWS_EC2_METADATA_DISABLED=true \
		AWS_CONTAINER_CREDENTIALS_FULL_URI="http://127.0.0.1:$CPORT/creds" \
		AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE="$T/ctr.token" \
		"$VIGIL" -c "$T/vigil.conf" "$@"
}
mkdir -p "$T/nohome"
printf 'container-auth\n' >"$T/ctr.token"
chmod 600 "$T/ctr.token"

# mkpy NAME: a script $T/NAME.py, from stdin, after a preamble that makes
# boto3's s3 client (the IAM user's keys, straight to moto); its arguments
# are in args.  s3py: such a script run at once.
mkpy() {
	{
		cat <<'PY'
import sys, boto3
ep, akid, secret = sys.argv[1:4]
args = sys.argv[4:]
s3 = boto3.client("s3", endpoint_url=ep, region_name="us-east-1",
                  aws_access_key_id=akid, aws_secret_access_key=secret)
PY
		cat
	} >"$T/$1.py"
}
s3py() {
	mkpy s3py
	python3 "$T/s3py.py" "$MOTO_EP" "$AKID" "$SECRET" "$@"
}
start_fault_proxy "$MOTO_EP"

# --- Source, key, config ------------------------------------------------------
S="$T/src"
mkdir -p "$S/data" "$S/etc"
head -c 17000000 /dev/urandom >"$S/data/big.bin"
printf 'listen 443;\n' >"$S/etc/small.conf"
for i in $(seq 1 30); do printf 'file %s\n' "$i" >"$S/etc/f$i.txt"; done
REL="${S#/}"
SLICE=262144
"$VIGIL" key generate --symmetric --out "$T/backup.key" 2>/dev/null ||
	fail "vigil key generate failed"
cat >"$T/vigil.conf" <<CONF
agent = { state_dir = "$T/state"; control_socket = "$T/vigild.sock"; };
storage = {
  cloud = { type = "s3"; bucket = "vigil-it"; region = "us-east-1";
            endpoint = "http://127.0.0.1:$FP_PORT"; prefix = "hosts/it";
            access_key_id = "$AKID"; secret_access_key = "$SECRET"; };
  chain = { type = "s3"; bucket = "vigil-it"; region = "us-east-1";
            endpoint = "http://127.0.0.1:$FP_PORT"; prefix = "hosts/it"; };
};
backups = (
  { name = "nightly"; paths = [ "$S" ]; storage = "cloud";
    key_file = "$T/backup.key"; slice_size = "256KiB"; },
  { name = "temp"; paths = [ "$S" ]; storage = "chain";
    key_file = "$T/backup.key"; slice_size = "256KiB"; }
);
CONF
chmod 600 "$T/vigil.conf"
V config check >/dev/null 2>"$T/err" || fail "config check: $(cat "$T/err")"

# complete_ids JOB [RUNNER]: the ids `vigil backup list` shows as complete.
complete_ids() {
	"${2:-V}" backup list "$1" >"$T/list" 2>"$T/err" || fail "backup list $1: $(cat "$T/err")"
	awk -v j="$1" '$NF == "complete" { sub("^" j "/", "", $1); print $1 }' "$T/list"
}
# restore_check JOB/ID DIR [RUNNER]: a full restore, byte for byte.
restore_check() {
	"${3:-V}" restore "$1" --to "$2" >/dev/null 2>"$T/err" || fail "restore $1: $(cat "$T/err")"
	diff -r "$S" "$2/$REL" >/dev/null || fail "restore $1 differs from the source"
}
PART='data\\.vgl\\?partNumber='

# --- 503 and 429 bursts, a reset mid-part: retried ---------------------------
# Part 1 is held 1.5 s: the parts after it go meanwhile (upload_parallel's
# default 4), which the proxy's most requests at once shows.
fault_ctl rule "{\"match\": \"^PUT .*${PART}1&\", \"action\": \"delay\", \"seconds\": 1.5}" >/dev/null
fault_ctl rule "{\"match\": \"^PUT .*${PART}2&\", \"preset\": \"s3-slowdown\", \"count\": 3}" >/dev/null
fault_ctl rule "{\"match\": \"^PUT .*${PART}3&\", \"status\": 429, \"count\": 2}" >/dev/null
fault_ctl rule "{\"match\": \"^PUT .*${PART}4&\", \"action\": \"reset\", \"after\": 1000000}" >/dev/null
V backup run nightly >"$T/out" 2>"$T/err" || fail "backup run with 503/429/reset: $(cat "$T/err")"
[ "$(fault_fired 1)" = 1 ] && [ "$(fault_fired 2)" = 3 ] && [ "$(fault_fired 3)" = 2 ] &&
	[ "$(fault_fired 4)" = 1 ] || fail "the faults did not all fire: $(fault_ctl stats)"
[ "$(fault_stat 'd["inflight_max"]')" -ge 2 ] ||
	fail "never two parts in flight at once: $(fault_ctl stats)"
fault_ctl stats | python3 -c '
import json, re, sys
log = json.load(sys.stdin)["log"]
for n in (2, 3, 4):
    st = [s for m, t, s in log if m == "PUT" and re.search(r"data\.vgl\?partNumber=%d&" % n, t)]
    assert st[-1] == 200 and st.count(200) == 1, (n, st)
parts = {int(re.search(r"partNumber=(\d+)", t).group(1)) for m, t, s in log
         if m == "PUT" and "data.vgl?partNumber=" in t}
assert parts == {1, 2, 3, 4}, parts
' || fail "parts not retried as expected: $(fault_ctl stats)"
ID1=$(complete_ids nightly | tail -n 1)
[ -n "$ID1" ] || fail "no complete backup listed: $(cat "$T/list")"
restore_check "nightly/$ID1" "$T/r1"

# --- single-file restore: bytes served through the proxy ----------------------
s3py "hosts/it/nightly/$ID1/" >"$T/sizes" <<'PY' || fail "boto3 list failed"
for o in s3.list_objects_v2(Bucket="vigil-it", Prefix=args[0])["Contents"]:
    print(o["Key"].rsplit("/", 1)[1], o["Size"])
PY
size_of() { awk -v k="$1" '$1 == k { print $2 }' "$T/sizes"; }
DSIZE=$(size_of data.vgl) MAN=$(size_of manifest.vgl) IDX=$(size_of index.vgl)
[ "$DSIZE" -gt $((15 * 1048576)) ] || fail "data.vgl is only $DSIZE bytes"
fault_ctl reset '' >/dev/null
V restore "nightly/$ID1" --to "$T/one" --path "$REL/etc/small.conf" >/dev/null 2>"$T/err" ||
	fail "single-file restore: $(cat "$T/err")"
cmp "$S/etc/small.conf" "$T/one/$REL/etc/small.conf" || fail "the restored file differs"
[ "$(find "$T/one" -type f | wc -l)" = 1 ] || fail "--path restored more than one file"
SERVED=$(fault_stat 'sum(d["served"].values())')
# A chunk is one sealed slice: at most the slice, deflate's bound and the tag.
LIMIT=$((2 * (SLICE + 8192) + MAN + ${IDX:-0}))
[ "$SERVED" -le "$LIMIT" ] ||
	fail "single-file restore read $SERVED bytes (limit $LIMIT = 2 chunks + manifest + index): $(fault_stat 'd["served"]')"
echo "single-file restore: $SERVED bytes served of data.vgl $DSIZE (limit $LIMIT)"

# --- an expired session token mid-upload: refreshed ---------------------------
# The container endpoint hands out moto STS credentials for a role; it tells
# the proxy that its first token expires when part 2 is sent (S3's 400
# ExpiredToken for that token from then on).  Later tokens are said to
# expire in 302 s: 2 s later vigil must fetch the next one itself.
CPORT=$(free_port)
mkpy creds <<'PY'
import datetime, http.server, json, re, urllib.request
cport, pport, log = int(args[0]), args[1], args[2]
iam = boto3.client("iam", endpoint_url=ep, region_name="us-east-1",
                   aws_access_key_id=akid, aws_secret_access_key=secret)
sts = boto3.client("sts", endpoint_url=ep, region_name="us-east-1",
                   aws_access_key_id=akid, aws_secret_access_key=secret)
arn = iam.create_role(RoleName="backup", AssumeRolePolicyDocument=json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
     "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}]}))["Role"]["Arn"]
iam.put_role_policy(RoleName="backup", PolicyName="all", PolicyDocument=json.dumps(
    {"Version": "2012-10-17",
     "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
n = 0
class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass
    def do_GET(self):
        global n
        if self.path != "/creds" or \
                self.headers.get("Authorization") != "container-auth":
            self.send_response(403)
            self.end_headers()
            return
        n += 1
        c = sts.assume_role(RoleArn=arn, RoleSessionName="vigil-%d" % n)["Credentials"]
        life = 3600 if n == 1 else 302
        exp = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=life)
        if n == 1:
            rule = {"match": r"^PUT .*data\.vgl\?partNumber=2&",
                    "headers": "(?i)x-amz-security-token: " + re.escape(c["SessionToken"]) + "\r?\n",
                    "preset": "s3-expired-token", "count": 0}
            urllib.request.urlopen("http://127.0.0.1:%s/__fault/rule" % pport,
                                   json.dumps(rule).encode()).read()
        b = json.dumps({"AccessKeyId": c["AccessKeyId"],
                        "SecretAccessKey": c["SecretAccessKey"],
                        "Token": c["SessionToken"],
                        "Expiration": exp.strftime("%Y-%m-%dT%H:%M:%SZ")}).encode()
        with open(log, "a") as f:
            f.write("%d %d\n" % (n, life))
        self.send_response(200)
        self.send_header("Content-Length", str(len(b)))
        self.end_headers()
        self.wfile.write(b)
http.server.HTTPServer(("127.0.0.1", cport), H).serve_forever()
PY
python3 "$T/creds.py" "$MOTO_EP" "$AKID" "$SECRET" "$CPORT" "$FP_PORT" "$T/creds.log" \
	2>"$T/creds.err" &
PIDS+=($!)
wait_for 30 curl -s "http://127.0.0.1:$CPORT/" ||
	fail "the container endpoint did not start: $(cat "$T/creds.err")"
fault_ctl clear '' >/dev/null
fault_ctl reset '' >/dev/null
# Hold part 4 for 2.5 s: the token then in use is within 5 minutes of expiry.
fault_ctl rule "{\"match\": \"^PUT .*${PART}4&\", \"action\": \"delay\", \"seconds\": 2.5}" >/dev/null
VC backup run temp >"$T/out" 2>"$T/err" ||
	fail "backup with a token expired mid-upload: $(cat "$T/err")"
# Rule ids count on across clears: 1-4 above, 5 the hold, 6 the token's.
[ "$(fault_fired 6)" = 1 ] || fail "the expired token was not refused once: $(fault_ctl stats)"
NTOK=$(wc -l <"$T/creds.log")
[ "$NTOK" -ge 3 ] ||
	fail "tokens fetched: $NTOK (want the first, one after ExpiredToken, one before expiry)"
echo "expired token: $NTOK session tokens fetched during the backup"
IDT=$(complete_ids temp VC | tail -n 1)
[ -n "$IDT" ] || fail "no complete temp backup: $(cat "$T/list")"
restore_check "temp/$IDT" "$T/rt" VC

# --- the server gone while a part is in flight ----------------------------------
sleep 1 # a new backup id (ids have one-second resolution)
fault_server_gone "{\"match\": \"^PUT .*${PART}3&\", \"action\": \"hang\",
	\"after\": 2000000}" V backup run nightly
# Once: the run's log line and vigil's exit message say the same, nothing else.
one_failure nightly "data.vgl: Failed to connect to 127.0.0.1 port $FP_PORT"
echo "server gone: $(cat "$T/err")"
s3py >"$T/mpu" <<'PY'
for u in s3.list_multipart_uploads(Bucket="vigil-it").get("Uploads", []):
    print(u["Key"])
PY
grep -q 'hosts/it/nightly/.*/data.vgl' "$T/mpu" ||
	fail "no unfinished upload left while the server was away: $(cat "$T/mpu")"
start_fault_proxy "$MOTO_EP" "$FP_PORT"
[ "$(complete_ids nightly)" = "$ID1" ] || fail "the failed run is listed as complete: $(cat "$T/list")"
V backup verify "nightly/$ID1" >/dev/null 2>"$T/err" || fail "the good backup was harmed: $(cat "$T/err")"
sleep 1
V backup run nightly >"$T/out" 2>"$T/err" || fail "the run after the failure: $(cat "$T/err")"
s3py >"$T/mpu" <<'PY'
print(len(s3.list_multipart_uploads(Bucket="vigil-it").get("Uploads", [])))
PY
[ "$(cat "$T/mpu")" = 0 ] || fail "the next run left the unfinished upload: $(cat "$T/mpu")"
ID3=$(complete_ids nightly | tail -n 1)
[ "$ID3" != "$ID1" ] || fail "no new complete backup: $(cat "$T/list")"
[ "$(wc -l <"$T/list")" = 2 ] || fail "the incomplete backup was not cleaned: $(cat "$T/list")"
restore_check "nightly/$ID3" "$T/r3"
restore_check "nightly/$ID1" "$T/r1b"
restore_check "temp/$IDT" "$T/rt2" VC
echo "it_s3_faults: ok"
