#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# it_cred_chains.sh: each link of the AWS credential chain
# (lib/cloud/aws/aws_creds.h) against moto_server with every request's
# SigV4 checked, with no keys in the configuration.  For each link, the
# links after it hold keys moto does not know (or, for web identity, a role
# without S3 rights), so only the link under test can succeed; moto's log
# (moto_raw_query.py: "vigil-auth METHOD PATH ACCESS_KEY_ID") shows the key
# that signed, and a broken variant of the link fails, proving the walk
# stopped there:
#  - environment: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY of one IAM
#    user; a wrong secret gets SignatureDoesNotMatch;
#  - shared files: AWS_SHARED_CREDENTIALS_FILE with AWS_PROFILE naming a
#    profile of another user, and AWS_CONFIG_FILE's "[profile NAME]";
#    without AWS_PROFILE the "default" profile's unknown key is refused;
#  - web identity: AWS_WEB_IDENTITY_TOKEN_FILE, AWS_ROLE_ARN and
#    AWS_ENDPOINT_URL_STS (moto's STS): AssumeRoleWithWebIdentity gives
#    temporary credentials (ASIA..., with a session token moto checks) of a
#    role allowed S3; a role without S3 rights gets AccessDenied;
#  - the container endpoint (a fake, here): AWS_CONTAINER_CREDENTIALS_
#    FULL_URI with AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE gives a third
#    user's keys; a wrong token is refused and nothing falls through to
#    IMDS (served by the same fake, with an unknown key).
# The IMDSv2 link is in it_s3.sh, the configuration's keys in it_s3.sh.
. "$(dirname "$0")/lib.sh"

start_moto vigil-it
EP=$MOTO_EP

# --- IAM: a user per link, two roles ----------------------------------------
python3 - "$EP" "$AKID" "$SECRET" >"$T/keys" <<'PY' || fail "IAM setup failed"
import json, sys, boto3
ep, akid, secret = sys.argv[1:]
iam = boto3.client("iam", endpoint_url=ep, region_name="us-east-1",
                   aws_access_key_id=akid, aws_secret_access_key=secret)
s3all = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]})
for u in ("envuser", "fileuser", "boxuser"):
    iam.create_user(UserName=u)
    k = iam.create_access_key(UserName=u)["AccessKey"]
    iam.put_user_policy(UserName=u, PolicyName="s3", PolicyDocument=s3all)
    print(u, k["AccessKeyId"], k["SecretAccessKey"])
trust = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Federated": "vigil-it"},
     "Action": "sts:AssumeRoleWithWebIdentity"}]})
iam.create_role(RoleName="web", AssumeRolePolicyDocument=trust)
iam.put_role_policy(RoleName="web", PolicyName="s3", PolicyDocument=s3all)
iam.create_role(RoleName="web-nos3", AssumeRolePolicyDocument=trust)
iam.put_role_policy(RoleName="web-nos3", PolicyName="sqs", PolicyDocument=json.dumps(
    {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "sqs:*", "Resource": "*"}]}))
PY
key_of() { awk -v u="$1" -v f="$2" '$1 == u { print $f }' "$T/keys"; }
ENV_K=$(key_of envuser 2) ENV_S=$(key_of envuser 3)
FILE_K=$(key_of fileuser 2) FILE_S=$(key_of fileuser 3)
BOX_K=$(key_of boxuser 2) BOX_S=$(key_of boxuser 3)
[ -n "$BOX_S" ] || fail "no keys from IAM: $(cat "$T/keys")"
# Keys moto does not know, for the links that must not win.
BOGUS_K=AKIAVIGILNOSUCHKEY00 BOGUS_S=bogusbogusbogusbogusbogusbogusbogusbogu

# --- A fake container endpoint (and IMDS, answering an unknown key) ---------
CPORT=$(free_port)
python3 - "$CPORT" "$BOX_K" "$BOX_S" "$BOGUS_K" "$BOGUS_S" "$T/meta.log" <<'PY' &
import http.server, json, sys
port, bk, bs, nk, ns, log = int(sys.argv[1]), *sys.argv[2:]
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
                    self.headers.get("Authorization", "-")))
    def creds(self, k, s):
        return json.dumps({"AccessKeyId": k, "SecretAccessKey": s,
                           "Token": "", "Expiration": "2099-01-01T00:00:00Z"})
    def do_PUT(self):           # IMDSv2 session token
        self.note()
        self.reply(200, "imds-token")
    def do_GET(self):
        self.note()
        if self.path == "/v2/credentials/box":
            if self.headers.get("Authorization") != "box-token":
                return self.reply(401, "")
            return self.reply(200, self.creds(bk, bs))
        if self.path == "/latest/meta-data/iam/security-credentials/":
            return self.reply(200, "bogus-role")
        if self.path == "/latest/meta-data/iam/security-credentials/bogus-role":
            return self.reply(200, self.creds(nk, ns))
        self.reply(404, "")
http.server.HTTPServer(("127.0.0.1", port), H).serve_forever()
PY
PIDS+=($!)
META="http://127.0.0.1:$CPORT"
wait_for 10 curl -s -X PUT "$META/latest/api/token" || fail "fake container endpoint did not come up"

# --- Source, key, config without keys ----------------------------------------
S="$T/src"
mkdir -p "$S"
printf 'chains\n' >"$S/a.txt"
head -c 300000 /dev/urandom >"$S/b.bin"
REL="${S#/}"
"$VIGIL" key generate --symmetric --out "$T/backup.key" 2>/dev/null ||
	fail "vigil key generate failed"
cat >"$T/vigil.conf" <<CONF
agent = { state_dir = "$T/state"; control_socket = "$T/vigild.sock"; };
storage = { cloud = { type = "s3"; bucket = "vigil-it"; region = "us-east-1";
                      endpoint = "$EP"; prefix = "chains"; }; };
backups = ( { name = "nightly"; paths = [ "$S" ]; storage = "cloud";
              key_file = "$T/backup.key"; } );
CONF
chmod 600 "$T/vigil.conf"
mkdir -p "$T/home" "$T/aws"

# Files for the links that must not win, and the web identity token.
printf 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ2aWdpbCJ9.c2ln\n' >"$T/web.token"
printf 'box-token\n' >"$T/box.token"
printf 'wrong-token\n' >"$T/wrong.token"
cat >"$T/aws/bogus-credentials" <<INI
[default]
aws_access_key_id = $BOGUS_K
aws_secret_access_key = $BOGUS_S
INI
cat >"$T/aws/credentials" <<INI
[default]
aws_access_key_id = $BOGUS_K
aws_secret_access_key = $BOGUS_S

[chains]
aws_access_key_id = $FILE_K
aws_secret_access_key = $FILE_S
INI
cat >"$T/aws/config" <<INI
[profile viaconfig]
aws_access_key_id = $FILE_K
aws_secret_access_key = $FILE_S
INI
chmod 600 "$T/aws/"*
# Only the keys of another profile: the shared files have nothing to say.
cat >"$T/aws/other-credentials" <<INI
[somebody-else]
aws_access_key_id = $BOGUS_K
aws_secret_access_key = $BOGUS_S
INI
chmod 600 "$T/aws/other-credentials"

# chain VAR=VALUE... -- ARGS...: vigil ARGS with no AWS_* variable but the
# ones given and an empty HOME (no ~/.aws); exit status in $rc, output in
# $T/out and $T/err, moto's "vigil-auth" lines of the run in $T/auth, the
# fake's requests in $T/meta.
chain() {
	local -a envs=() unset=()
	local v n0 m0
	while [ "$1" != -- ]; do envs+=("$1"); shift; done
	shift
	for v in $(compgen -e | grep '^AWS_' || true); do unset+=(-u "$v"); done
	n0=$(wc -l <"$T/moto.log")
	m0=0
	[ -f "$T/meta.log" ] && m0=$(wc -l <"$T/meta.log")
	rc=0
	env "${unset[@]}" HOME="$T/home" "${envs[@]}" \
		"$VIGIL" -c "$T/vigil.conf" "$@" >"$T/out" 2>"$T/err" || rc=$?
	tail -n +$((n0 + 1)) "$T/moto.log" | grep '^vigil-auth ' >"$T/auth" || true
	tail -n +$((m0 + 1)) "$T/meta.log" 2>/dev/null >"$T/meta" || true
}

# signed_by KEY: every request of the run was signed by KEY (and some were).
signed_by() {
	[ -s "$T/auth" ] || fail "moto saw no request: $(cat "$T/err")"
	if awk -v k="$1" '$NF != k && $NF != "unsigned" { bad = 1 } END { exit !bad }' "$T/auth"; then
		fail "requests not signed by $1: $(cat "$T/auth")"
	fi
}

# Lower links present but bogus, for every case that does not test them.
WEB_BAD=(AWS_WEB_IDENTITY_TOKEN_FILE="$T/web.token"
	AWS_ROLE_ARN=arn:aws:iam::123456789012:role/web-nos3
	AWS_ENDPOINT_URL_STS="$EP")
BOX_BAD=(AWS_CONTAINER_CREDENTIALS_FULL_URI="$META/v2/credentials/box"
	AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE="$T/wrong.token")
IMDS_BOGUS=(AWS_EC2_METADATA_SERVICE_ENDPOINT="$META")

# --- Web identity: STS's temporary credentials, nothing else in the chain --
WEB=(AWS_WEB_IDENTITY_TOKEN_FILE="$T/web.token"
	AWS_ROLE_ARN=arn:aws:iam::123456789012:role/web
	AWS_ROLE_SESSION_NAME=vigil-it
	AWS_ENDPOINT_URL_STS="$EP"
	AWS_SHARED_CREDENTIALS_FILE="$T/aws/other-credentials"
	AWS_EC2_METADATA_DISABLED=true)
chain "${WEB[@]}" -- backup run nightly
[ "$rc" = 0 ] || fail "backup with web identity credentials: $(cat "$T/err")"
grep -qx 'vigil-auth POST AssumeRoleWithWebIdentity unsigned' "$T/auth" ||
	fail "no AssumeRoleWithWebIdentity at moto's STS: $(cat "$T/auth")"
WK=$(awk '$NF ~ /^ASIA/ { print $NF; exit }' "$T/auth")
[ -n "$WK" ] || fail "no request signed with temporary (ASIA...) keys: $(cat "$T/auth")"
signed_by "$WK"
[ ! -s "$T/meta" ] || fail "web identity run asked the container/IMDS fake: $(cat "$T/meta")"
chain "${WEB[@]}" -- restore nightly/latest --to "$T/r-web"
[ "$rc" = 0 ] || fail "restore with web identity credentials: $(cat "$T/err")"
diff -r "$S" "$T/r-web/$REL" || fail "web identity: restored tree differs"
# The role decides: one without S3 rights is refused by S3.
chain "${WEB[@]}" AWS_ROLE_ARN=arn:aws:iam::123456789012:role/web-nos3 -- backup list nightly
[ "$rc" != 0 ] || fail "a role without S3 rights could list"
grep -q 'AccessDenied' "$T/err" || fail "web-nos3: no AccessDenied: $(cat "$T/err")"
# The token file is the credential: a missing one stops the walk.
chain "${WEB[@]}" AWS_WEB_IDENTITY_TOKEN_FILE="$T/none.token" "${BOX_BAD[@]}" -- backup list nightly
[ "$rc" != 0 ] || fail "a missing web identity token file was not an error"
grep -q "token file $T/none.token does not exist" "$T/err" ||
	fail "missing token file: $(cat "$T/err")"
[ ! -s "$T/meta" ] || fail "a broken web identity link fell through: $(cat "$T/meta")"

# --- Environment: wins over every later link -------------------------------
chain AWS_ACCESS_KEY_ID="$ENV_K" AWS_SECRET_ACCESS_KEY="$ENV_S" \
	AWS_SHARED_CREDENTIALS_FILE="$T/aws/credentials" AWS_PROFILE=default \
	"${WEB_BAD[@]}" "${BOX_BAD[@]}" "${IMDS_BOGUS[@]}" -- backup list nightly
[ "$rc" = 0 ] || fail "backup list with environment keys: $(cat "$T/err")"
grep -q complete "$T/out" || fail "environment: nothing listed: $(cat "$T/out")"
signed_by "$ENV_K"
[ ! -s "$T/meta" ] || fail "environment run asked the container fake: $(cat "$T/meta")"
chain AWS_ACCESS_KEY_ID="$ENV_K" AWS_SECRET_ACCESS_KEY="x$ENV_S" \
	AWS_SHARED_CREDENTIALS_FILE="$T/aws/credentials" AWS_PROFILE=chains \
	-- backup list nightly
[ "$rc" != 0 ] || fail "a wrong environment secret was not used (the walk went on)"
grep -q 'SignatureDoesNotMatch' "$T/err" || fail "wrong env secret: $(cat "$T/err")"
grep -q "x$ENV_S" "$T/err" && fail "the secret is in the message"

# --- Shared files: the profile AWS_PROFILE names -----------------------------
chain AWS_SHARED_CREDENTIALS_FILE="$T/aws/credentials" AWS_PROFILE=chains \
	"${WEB_BAD[@]}" "${BOX_BAD[@]}" "${IMDS_BOGUS[@]}" -- backup list nightly
[ "$rc" = 0 ] || fail "backup list with the shared credentials file: $(cat "$T/err")"
grep -q complete "$T/out" || fail "shared file: nothing listed: $(cat "$T/out")"
signed_by "$FILE_K"
[ ! -s "$T/meta" ] || fail "shared-file run asked the container fake: $(cat "$T/meta")"
# "[profile NAME]" of the config file, when the credentials file lacks it.
chain AWS_SHARED_CREDENTIALS_FILE="$T/aws/other-credentials" \
	AWS_CONFIG_FILE="$T/aws/config" AWS_PROFILE=viaconfig \
	"${WEB_BAD[@]}" "${BOX_BAD[@]}" -- backup list nightly
[ "$rc" = 0 ] || fail "backup list with the shared config file: $(cat "$T/err")"
signed_by "$FILE_K"
# Without AWS_PROFILE, "default": a key moto does not know.
chain AWS_SHARED_CREDENTIALS_FILE="$T/aws/credentials" "${WEB_BAD[@]}" -- backup list nightly
[ "$rc" != 0 ] || fail "the default profile's unknown key was accepted"
signed_by "$BOGUS_K"
grep -Eq 'InvalidAccessKeyId|InvalidClientTokenId|403' "$T/err" ||
	fail "default profile: no refusal: $(cat "$T/err")"

# --- Container endpoint: the authorization token from its file -------------
chain AWS_CONTAINER_CREDENTIALS_FULL_URI="$META/v2/credentials/box" \
	AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE="$T/box.token" \
	AWS_SHARED_CREDENTIALS_FILE="$T/aws/other-credentials" \
	"${IMDS_BOGUS[@]}" -- backup list nightly
[ "$rc" = 0 ] || fail "backup list with container credentials: $(cat "$T/err")"
grep -q complete "$T/out" || fail "container: nothing listed: $(cat "$T/out")"
signed_by "$BOX_K"
grep -qx 'GET /v2/credentials/box box-token' "$T/meta" ||
	fail "container: the token was not sent: $(cat "$T/meta")"
grep -q '/latest/' "$T/meta" && fail "container run asked IMDS: $(cat "$T/meta")"
# A refused token stops the walk: IMDS (an unknown key) is not asked.
chain "${BOX_BAD[@]}" AWS_SHARED_CREDENTIALS_FILE="$T/aws/other-credentials" \
	"${IMDS_BOGUS[@]}" -- backup list nightly
[ "$rc" != 0 ] || fail "a refused container token was not an error"
grep -q 'aws container credentials: answered 401' "$T/err" ||
	fail "refused container token: $(cat "$T/err")"
grep -q '/latest/' "$T/meta" && fail "a refused container link fell through to IMDS"
grep -q 'wrong-token' "$T/err" && fail "the token is in the message"

echo "it_cred_chains: web identity (moto STS), environment, shared files, container endpoint: each the link that won"
