#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# it_s3.sh: backups to S3 (type = "s3") against moto_server with every
# request's SigV4 checked: moto starts with INITIAL_NO_AUTH_ACTION_COUNT, so
# once boto3 has made an IAM user, its access key, an allow-all policy and
# the bucket, each request must be signed by that key.  A wrong secret gets
# 403 SignatureDoesNotMatch and vigil says what to fix, as for a missing
# bucket; an inline secret in a config others may read is refused; backup
# run (data for three multipart parts) -> backup list -> verify -> full
# restore -> single-file restore -> prune (one DeleteObjects, as moto's log
# shows), compared byte for byte; boto3 lists and
# fetches what vigil wrote, and the fetched data.vgl decrypts with
# `vigil decrypt` into a tar.gz.  Last, with no keys in the config, the
# environment or ~/.aws, the credential chain's IMDSv2 link gets them from
# a fake metadata service (session token first).  Without moto or boto3
# the test exits 77, which CI counts as a failure.
. "$(dirname "$0")/lib.sh"

V() { "$VIGIL" -c "$T/vigil.conf" "$@"; }

# --- moto, then the user, its key, its policy and the bucket --------------
start_moto vigil-it
EP=$MOTO_EP

# --- Source, key, config ----------------------------------------------------
S="$T/src"
mkdir -p "$S/etc" "$S/data"
printf 'hello s3\n' >"$S/etc/app.conf"
head -c 12000000 /dev/urandom >"$S/data/big.bin"
head -c 4096 /dev/urandom >"$S/data/small.bin"
REL="${S#/}"
"$VIGIL" key generate --symmetric --out "$T/backup.key" 2>/dev/null ||
	fail "vigil key generate failed"

# write_conf [SECRET]: the config with that secret inline (mode 600), or
# without keys (the credential chain finds them).
write_conf() {
	local keys=""
	[ $# = 1 ] && keys="access_key_id = \"$AKID\"; secret_access_key = \"$1\";"
	cat >"$T/vigil.conf" <<CONF
agent = { state_dir = "$T/state"; control_socket = "$T/vigild.sock"; };
storage = { cloud = { type = "s3"; bucket = "${BUCKET:-vigil-it}"; region = "us-east-1";
                      endpoint = "$EP"; prefix = "hosts/it"; $keys }; };
backups = ( { name = "nightly"; paths = [ "$S" ]; storage = "cloud";
              key_file = "$T/backup.key"; keep_last = 1; } );
CONF
	chmod 600 "$T/vigil.conf"
}

# --- A wrong secret: 403, and a sentence saying what to fix -----------------
write_conf "wrong${SECRET}"
if V backup run nightly >"$T/out" 2>"$T/err"; then
	fail "backup with a wrong secret succeeded"
fi
grep -q 'SignatureDoesNotMatch' "$T/err" || fail "no SignatureDoesNotMatch: $(cat "$T/err")"
grep -q 'fix secret_access_key' "$T/err" || fail "no hint to fix the secret: $(cat "$T/err")"
grep -q "wrong${SECRET}" "$T/err" && fail "the secret is in the message"

# --- An inline secret in a file others may read is refused ------------------
write_conf "$SECRET"
chmod 644 "$T/vigil.conf"
if V config check >"$T/out" 2>"$T/err"; then
	fail "an inline secret in a world-readable config was accepted"
fi
grep -q 'secret_access_key: inline secret in a file that group or others can read' "$T/err" ||
	fail "no message about the inline secret: $(cat "$T/err")"

# --- A missing bucket: S3's code and what to fix ------------------------------
BUCKET=no-such-bucket write_conf "$SECRET"
if V backup list nightly >"$T/out" 2>"$T/err"; then
	fail "listing a missing bucket succeeded"
fi
grep -q '404 NoSuchBucket: The bucket does not exist: create it' "$T/err" ||
	fail "no NoSuchBucket sentence: $(cat "$T/err")"

# --- backup run, list, verify -----------------------------------------------
write_conf "$SECRET"
V config check >/dev/null || fail "config check rejected the s3 config"
V backup run nightly >"$T/out" 2>"$T/err" || fail "backup run: $(cat "$T/err")"
V backup list nightly >"$T/list" || fail "backup list failed"
ID=$(awk '$NF == "complete" { sub(/^nightly\//, "", $1); print $1 }' "$T/list" | tail -n 1)
[ -n "$ID" ] || fail "backup list shows no complete backup: $(cat "$T/list")"
V backup verify "nightly/$ID" >"$T/out" 2>"$T/err" || fail "verify: $(cat "$T/err")"

# --- Full and single-file restores -------------------------------------------
V restore nightly/latest --to "$T/full" >"$T/out" 2>"$T/err" || fail "restore: $(cat "$T/err")"
diff -r "$S" "$T/full/$REL" || fail "restored tree differs"
V restore nightly/latest --to "$T/one" --path "$REL/data/small.bin" >/dev/null 2>"$T/err" ||
	fail "restore --path: $(cat "$T/err")"
cmp "$S/data/small.bin" "$T/one/$REL/data/small.bin" || fail "single file differs"
[ "$(find "$T/one" -type f | wc -l)" = 1 ] || fail "--path restored more than one file"

# --- boto3 sees what vigil wrote; the data object decrypts -------------------
python3 - "$EP" "$AKID" "$SECRET" "$ID" "$T/data.vgl" <<'PY' || fail "boto3 check failed"
import sys, boto3
ep, akid, secret, bid, out = sys.argv[1:]
s3 = boto3.client("s3", endpoint_url=ep, region_name="us-east-1",
                  aws_access_key_id=akid, aws_secret_access_key=secret)
keys = [o["Key"] for o in s3.list_objects_v2(Bucket="vigil-it",
        Prefix="hosts/it/")["Contents"]]
want = "hosts/it/nightly/%s/data.vgl" % bid
assert want in keys, keys
head = s3.head_object(Bucket="vigil-it", Key=want)
# A multipart object's ETag ends in -<parts>: three parts of >= 5 MiB.
assert head["ETag"].strip('"').endswith("-3"), head["ETag"]
open(out, "wb").write(s3.get_object(Bucket="vigil-it", Key=want)["Body"].read())
assert not s3.list_multipart_uploads(Bucket="vigil-it").get("Uploads")
PY
"$VIGIL" -c "$T/vigil.conf" decrypt --job nightly <"$T/data.vgl" >"$T/data.tgz" 2>"$T/err" ||
	fail "vigil decrypt of the boto3 download: $(cat "$T/err")"
tar -tzf "$T/data.tgz" | grep -q "data/big.bin" || fail "the decrypted object is not the tar.gz"

# --- prune: keep_last = 1 drops the older backup ------------------------------
# The run applies keep_last, then `backup prune` finds nothing more to do.
# Pruning one backup is two DeleteObjects (POST ?delete): its manifest,
# then its other keys; no DELETE per object: moto's log says.
sleep 1
before=$(wc -l <"$T/moto.log")
V backup run nightly >"$T/out" 2>"$T/err" || fail "second backup run: $(cat "$T/err")"
V backup prune nightly >"$T/out" 2>"$T/err" || fail "prune: $(cat "$T/err")"
# moto logs a request after answering it: wait for the last one.
wait_for 5 bash -c "tail -n +$((before + 1)) '$T/moto.log' | grep -q '?delete HTTP'" || true
tail -n +"$((before + 1))" "$T/moto.log" >"$T/moto.prune"
[ "$(grep -c '"POST /vigil-it?delete HTTP' "$T/moto.prune")" = 2 ] ||
	fail "prune did not send two DeleteObjects: $(cat "$T/moto.prune")"
grep -q '"DELETE ' "$T/moto.prune" && fail "prune deleted object by object: $(cat "$T/moto.prune")"
V backup list nightly >"$T/list" || fail "backup list after prune failed"
[ "$(grep -c complete "$T/list")" = 1 ] || fail "prune left: $(cat "$T/list")"
grep -q "$ID" "$T/list" && fail "prune kept the older backup $ID"
python3 - "$EP" "$AKID" "$SECRET" "$ID" <<'PY' || fail "objects of the pruned backup remain"
import sys, boto3
ep, akid, secret, bid = sys.argv[1:]
s3 = boto3.client("s3", endpoint_url=ep, region_name="us-east-1",
                  aws_access_key_id=akid, aws_secret_access_key=secret)
keys = [o["Key"] for o in s3.list_objects_v2(Bucket="vigil-it").get("Contents", [])]
assert not [k for k in keys if bid in k], keys
PY
V restore nightly/latest --to "$T/after" >/dev/null 2>"$T/err" || fail "restore after prune: $(cat "$T/err")"
diff -r "$S" "$T/after/$REL" || fail "restore after prune differs"

# --- IMDSv2: no keys in the config, the environment or ~/.aws --------------
# A fake instance metadata service hands out the IAM user's keys; the
# session token must come with each metadata read.
IPORT=$(free_port)
python3 - "$IPORT" "$AKID" "$SECRET" "$T/imds.log" <<'PY' &
import http.server, json, sys
port, akid, secret, log = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
TOKEN = "imds-session-token"
ROLE = "/latest/meta-data/iam/security-credentials/"
class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass
    def reply(self, code, body):
        b = body.encode()
        self.send_response(code)
        self.send_header("Content-Length", str(len(b)))
        self.end_headers()
        self.wfile.write(b)
    def note(self):
        with open(log, "a") as f:
            f.write("%s %s %s\n" % (self.command, self.path,
                    self.headers.get("X-aws-ec2-metadata-token", "-")))
    def do_PUT(self):
        self.note()
        ok = self.path == "/latest/api/token" and \
            self.headers.get("X-aws-ec2-metadata-token-ttl-seconds")
        self.reply(200 if ok else 400, TOKEN if ok else "")
    def do_GET(self):
        self.note()
        if self.headers.get("X-aws-ec2-metadata-token") != TOKEN:
            return self.reply(401, "")
        if self.path == ROLE:
            return self.reply(200, "vigil-role")
        if self.path == ROLE + "vigil-role":
            return self.reply(200, json.dumps({"Code": "Success",
                "AccessKeyId": akid, "SecretAccessKey": secret,
                "Token": "", "Expiration": "2099-01-01T00:00:00Z"}))
        self.reply(404, "")
http.server.HTTPServer(("127.0.0.1", port), H).serve_forever()
PY
PIDS+=($!)
wait_for 10 curl -s -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 1' \
	"http://127.0.0.1:$IPORT/latest/api/token" || fail "fake IMDS did not come up"
: >"$T/imds.log"
write_conf
mkdir -p "$T/nohome"
env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY -u AWS_SESSION_TOKEN \
	-u AWS_PROFILE -u AWS_WEB_IDENTITY_TOKEN_FILE \
	-u AWS_CONTAINER_CREDENTIALS_RELATIVE_URI -u AWS_CONTAINER_CREDENTIALS_FULL_URI \
	HOME="$T/nohome" AWS_EC2_METADATA_SERVICE_ENDPOINT="http://127.0.0.1:$IPORT" \
	"$VIGIL" -c "$T/vigil.conf" backup list nightly >"$T/list" 2>"$T/err" ||
	fail "backup list with IMDS credentials: $(cat "$T/err")"
grep -q complete "$T/list" || fail "IMDS: nothing listed: $(cat "$T/list")"
grep -q '^PUT /latest/api/token -$' "$T/imds.log" || fail "IMDS: no session token asked: $(cat "$T/imds.log")"
grep -q '^GET /latest/meta-data/iam/security-credentials/vigil-role imds-session-token$' "$T/imds.log" ||
	fail "IMDS: credentials not read with the session token: $(cat "$T/imds.log")"
echo "it_s3: signed requests checked; backup, list, verify, restores, prune; IMDSv2 credentials"
