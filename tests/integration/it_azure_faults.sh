#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# it_azure_faults.sh: Azure Blob backups under faults, against Azurite
# (SharedKey checked, lib.sh start_azurite) behind tests/fakes/
# fault_proxy.py, which vigil's endpoint names.  On data for several 1 MiB
# blocks:
#  - 503 ServerBusy and 429 bursts on blocks and a connection reset in the
#    middle of a block are retried: the backup succeeds, its blob has every
#    block committed and it restores byte for byte; a single-file restore
#    reads at most two chunks plus the manifest and the index (bytes
#    counted by the proxy);
#  - the server gone while a block is in flight (the proxy holds it, then
#    is killed): the run fails with one message, nothing new is listed as
#    complete, the blocks it sent stay uncommitted (no blob), the next run
#    succeeds and the last good backup stays intact;
#  - an Entra ID token (client secret, from a fake token endpoint) that
#    Azurite finds expired in the middle of the upload: a new one is
#    fetched, the block sent again, no failure.
# Azurite takes bearer tokens over HTTPS only (--oauth basic, checking
# their issuer, audience and lifetime, not their signature): it runs with
# a certificate made here, and the proxy speaks plain HTTP to vigil and
# TLS to Azurite.  A wrong key and a missing container are it_azure.sh's.
. "$(dirname "$0")/lib.sh"

command -v openssl >/dev/null || skip "no openssl command"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/az.key" -out "$T/az.crt" \
	-days 2 -subj /CN=127.0.0.1 -addext "subjectAltName=IP:127.0.0.1" 2>/dev/null ||
	fail "openssl req failed"
start_azurite --cert "$T/az.crt" --key "$T/az.key" --oauth basic
# Every call, vigil's and the test's, goes through the proxy.
REST() {
	python3 "$VIGIL_SRC/tests/integration/azure_rest.py" \
		"http://127.0.0.1:$FP_PORT/$AZ_ACCT" "$AZ_ACCT" "$AZ_KEY" "$@"
}
V() { "$VIGIL" -c "$T/vigil.conf" "$@"; }

start_fault_proxy "https://127.0.0.1:$AZ_PORT" 0 --upstream-ca "$T/az.crt"
REST mkcontainer vigil || fail "cannot make the container: $(cat "$T/azurite.log")"

# --- Source, key, config ------------------------------------------------------
S="$T/src"
mkdir -p "$S/a/b"
head -c 4000000 /dev/urandom >"$S/a/r1.bin"
head -c 2500000 /dev/urandom >"$S/a/b/r2.bin"
printf 'one small file\n' >"$S/a/b/small.txt"
for i in $(seq 1 30); do printf 'file %s\n' "$i" >"$S/a/f$i.txt"; done
REL="${S#/}"
SLICE=262144
"$VIGIL" key generate --symmetric --out "$T/backup.key" 2>/dev/null ||
	fail "vigil key generate failed"
printf '%s\n' "$AZ_KEY" >"$T/account.key"
chmod 600 "$T/account.key"
# write_conf [ENTRA-SETTINGS]: the config; with settings, the "entra"
# target and job too.
write_conf() {
	local entra="" ejob=""
	if [ $# = 1 ]; then
		entra="entra = { type = \"azure\"; account = \"$AZ_ACCT\"; container = \"vigil\";
  endpoint = \"http://127.0.0.1:$FP_PORT/$AZ_ACCT\"; $1 };"
		ejob=", { name = \"entra\"; paths = [ \"$S\" ]; storage = \"entra\";
  key_file = \"$T/backup.key\"; slice_size = \"256KiB\"; }"
	fi
	cat >"$T/vigil.conf" <<CONF
agent = { state_dir = "$T/state"; control_socket = "$T/vigild.sock"; };
storage = { cloud = { type = "azure"; account = "$AZ_ACCT"; container = "vigil";
  endpoint = "http://127.0.0.1:$FP_PORT/$AZ_ACCT"; account_key_file = "$T/account.key"; };
  $entra };
backups = ( { name = "az"; paths = [ "$S" ]; storage = "cloud";
              key_file = "$T/backup.key"; slice_size = "256KiB"; } $ejob );
CONF
	chmod 600 "$T/vigil.conf"
}
write_conf
V config check >/dev/null 2>"$T/err" || fail "config check: $(cat "$T/err")"

# complete_ids: the ids `vigil backup list` shows as complete.
complete_ids() {
	V backup list az >"$T/list" 2>"$T/err" || fail "backup list: $(cat "$T/err")"
	awk '$NF == "complete" { sub("^az/", "", $1); print $1 }' "$T/list"
}
# restore_check ID DIR: a full restore, byte for byte.
restore_check() {
	V restore "az/$1" --to "$2" >/dev/null 2>"$T/err" || fail "restore az/$1: $(cat "$T/err")"
	diff -r "$S" "$2/$REL" >/dev/null || fail "restore az/$1 differs from the source"
}
BLOCK='^PUT .*/data\\.vgl\\?comp=block&'
# block_of N: the match of data.vgl's block N (blocks go several at once,
# so a rule names its block rather than counting arrivals).
block_of() {
	printf '%sblockid=%s' "$BLOCK" "$(printf 'vigil-block-%06d' "$1" | base64)"
}

# --- 503 and 429 bursts, a reset mid-block: retried ----------------------------
# Block 1 gets 503 three times, block 2 429 twice, block 4 is cut off after
# 300,000 bytes.
fault_ctl rule "{\"match\": \"$(block_of 1)\", \"count\": 3, \"preset\": \"azure-busy\"}" >/dev/null
fault_ctl rule "{\"match\": \"$(block_of 2)\", \"count\": 2, \"preset\": \"azure-throttled\"}" >/dev/null
fault_ctl rule "{\"match\": \"$(block_of 4)\", \"action\": \"reset\", \"after\": 300000}" >/dev/null
V backup run az >"$T/out" 2>"$T/err" || fail "backup run with 503/429/reset: $(cat "$T/err")"
[ "$(fault_fired 1)" = 3 ] && [ "$(fault_fired 2)" = 2 ] && [ "$(fault_fired 3)" = 1 ] ||
	fail "the faults did not all fire: $(fault_ctl stats)"
fault_ctl stats | python3 -c '
import base64, json, re, sys
log = json.load(sys.stdin)["log"]
blocks = []
for m, t, s in log:
    b = re.search(r"data\.vgl\?comp=block&blockid=([^&]+)", t)
    if m == "PUT" and b:
        blocks.append((b.group(1), s))
ids = sorted(set(b for b, s in blocks),
             key=lambda b: base64.b64decode(b + "=" * (-len(b) % 4)))
want = {ids[1]: [503] * 3 + [201], ids[2]: [429] * 2 + [201], ids[4]: [0, 201]}
for i in ids:
    got = [s for b, s in blocks if b == i]
    assert got == want.get(i, [201]), (i, got)
assert len(ids) >= 6, ids
' || fail "blocks not retried as expected: $(fault_ctl stats)"
ID1=$(complete_ids | tail -n 1)
[ -n "$ID1" ] || fail "no complete backup listed: $(cat "$T/list")"
NB=$(REST blocks vigil "az/$ID1/data.vgl") || fail "no block list for data.vgl"
[ "$NB" -ge 6 ] || fail "data.vgl has $NB committed blocks, want >= 6"
restore_check "$ID1" "$T/r1"

# --- single-file restore: bytes served through the proxy ------------------------
REST list vigil "az/$ID1/" >"$T/sizes" || fail "cannot list the backup's blobs"
size_of() { awk -v k="az/$ID1/$1" '$1 == k { print $2 }' "$T/sizes"; }
DSIZE=$(size_of data.vgl) MAN=$(size_of manifest.vgl) IDX=$(size_of index.vgl)
[ "${DSIZE:-0}" -gt $((6 * 1048576)) ] || fail "data.vgl is only ${DSIZE:-0} bytes: $(cat "$T/sizes")"
fault_ctl reset '' >/dev/null
V restore "az/$ID1" --to "$T/one" --path "$REL/a/b/small.txt" >/dev/null 2>"$T/err" ||
	fail "single-file restore: $(cat "$T/err")"
cmp "$S/a/b/small.txt" "$T/one/$REL/a/b/small.txt" || fail "the restored file differs"
[ "$(find "$T/one" -type f | wc -l)" = 1 ] || fail "--path restored more than one file"
SERVED=$(fault_stat 'sum(d["served"].values())')
# A chunk is one sealed slice: at most the slice, deflate's bound and the tag.
LIMIT=$((2 * (SLICE + 8192) + MAN + ${IDX:-0}))
[ "$SERVED" -le "$LIMIT" ] ||
	fail "single-file restore read $SERVED bytes (limit $LIMIT = 2 chunks + manifest + index): $(fault_stat 'd["served"]')"
echo "single-file restore: $SERVED bytes served of data.vgl $DSIZE (limit $LIMIT)"

# --- the server gone while a block is in flight -----------------------------------
sleep 1 # a new backup id (ids have one-second resolution)
fault_server_gone "{\"match\": \"$BLOCK\", \"skip\": 2, \"action\": \"hang\", \"after\": 500000}" V backup run az
one_failure az "azure[cloud]: PUT http://127.0.0.1:$FP_PORT/$AZ_ACCT/vigil/az/"
echo "server gone: $(tail -n 1 "$T/err")"
ID2=$(sed -n 's/^error: backup az\/\([^:]*\): failed: .*/\1/p' "$T/err")
[ -n "$ID2" ] || fail "no backup id in the message: $(cat "$T/err")"
start_fault_proxy "https://127.0.0.1:$AZ_PORT" "$FP_PORT" --upstream-ca "$T/az.crt"
# The blocks Azurite got (two before the held one, and those sent beside
# it: blocks go several at once) stay uncommitted: no blob.
REST list vigil "az/$ID2/" >"$T/left" || fail "cannot list"
[ ! -s "$T/left" ] || fail "the failed run left blobs: $(cat "$T/left")"
[ "$(REST blocks vigil "az/$ID2/data.vgl" uncommitted)" -ge 2 ] ||
	fail "the failed run's blocks did not reach the server (test broken?)"
[ "$(complete_ids)" = "$ID1" ] || fail "the failed run is listed as complete: $(cat "$T/list")"
V backup verify "az/$ID1" >/dev/null 2>"$T/err" || fail "the good backup was harmed: $(cat "$T/err")"
sleep 1
V backup run az >"$T/out" 2>"$T/err" || fail "the run after the failure: $(cat "$T/err")"
ID3=$(complete_ids | tail -n 1)
[ "$ID3" != "$ID1" ] && [ "$(wc -l <"$T/list")" = 2 ] ||
	fail "after the failed run: $(cat "$T/list")"
restore_check "$ID3" "$T/r3"
restore_check "$ID1" "$T/r1b"

# --- an Entra ID token expired mid-upload: a new one ------------------------------
# The token endpoint says each token lasts an hour, but the first one's own
# "exp" is 5 s away, and block 2 is held for 6 s: Azurite then refuses it
# (403 AuthenticationFailed, "Lifetime validation failed. The token is
# expired.").  vigil must fetch another and send the block again.
TPORT=$(free_port)
printf 'client-secret-%s\n' "$RANDOM$RANDOM" >"$T/client.secret"
chmod 600 "$T/client.secret"
python3 - "$TPORT" "$(head -n 1 "$T/client.secret")" "$T/tokens.log" <<'PY' 2>"$T/token.err" &
import base64, http.server, json, sys, time, urllib.parse
port, secret, log = int(sys.argv[1]), sys.argv[2], sys.argv[3]
TENANT = "vigil-tenant"
n = 0
def b64(o):
    return base64.urlsafe_b64encode(json.dumps(o).encode()).rstrip(b"=").decode()
class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass
    def do_POST(self):
        global n
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        f = urllib.parse.parse_qs(body.decode())
        ok = (self.path == "/%s/oauth2/v2.0/token" % TENANT and
              f.get("grant_type") == ["client_credentials"] and
              f.get("client_id") == ["vigil-client"] and
              f.get("client_secret") == [secret] and
              f.get("scope") == ["https://storage.azure.com/.default"])
        if not ok:
            b = json.dumps({"error": "invalid_client"}).encode()
            self.send_response(401)
        else:
            n += 1
            now = int(time.time())
            claims = {"aud": "https://storage.azure.com",
                      "iss": "https://sts.windows.net/%s/" % TENANT,
                      "iat": now, "nbf": now - 60,
                      "exp": now + (5 if n == 1 else 3600),
                      "oid": "vigil-oid", "tid": TENANT, "n": n}
            tok = "%s.%s.c2ln" % (b64({"alg": "RS256", "typ": "JWT"}), b64(claims))
            b = json.dumps({"token_type": "Bearer", "expires_in": 3600,
                            "ext_expires_in": 3600, "access_token": tok}).encode()
            with open(log, "a") as lf:
                lf.write("%d\n" % n)
            self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(b)))
        self.end_headers()
        self.wfile.write(b)
http.server.HTTPServer(("127.0.0.1", port), H).serve_forever()
PY
PIDS+=($!)
wait_for 10 curl -s -o /dev/null "http://127.0.0.1:$TPORT/" ||
	fail "the token endpoint did not start: $(cat "$T/token.err")"
write_conf "tenant_id = \"vigil-tenant\"; client_id = \"vigil-client\";
  client_secret_file = \"$T/client.secret\"; authority_host = \"http://127.0.0.1:$TPORT\";"
V config check >/dev/null 2>"$T/err" || fail "config check (entra): $(cat "$T/err")"
fault_ctl clear '' >/dev/null
fault_ctl reset '' >/dev/null
EBLOCK='^PUT .*/entra/[^?]*/data\\.vgl\\?comp=block&'
fault_ctl rule "{\"match\": \"$EBLOCK\", \"skip\": 2, \"action\": \"delay\", \"seconds\": 6}" >/dev/null
env -u AZURE_TENANT_ID -u AZURE_CLIENT_ID -u AZURE_CLIENT_SECRET \
	-u AZURE_FEDERATED_TOKEN_FILE -u AZURE_AUTHORITY_HOST \
	"$VIGIL" -c "$T/vigil.conf" backup run entra >"$T/out" 2>"$T/err" ||
	fail "backup with a token expired mid-upload: $(cat "$T/err")"
[ "$(fault_fired 1)" = 1 ] || fail "block 2 was not held: $(fault_ctl stats)"
fault_ctl stats | python3 -c '
import json, re, sys
log = json.load(sys.stdin)["log"]
st = [(re.search(r"blockid=([^&]+)", t).group(1), s) for m, t, s in log
      if m == "PUT" and re.search(r"/entra/.*data\.vgl\?comp=block&", t)]
ids = list(dict.fromkeys(b for b, s in st))
# One refusal, after a block went through with the first token; that
# block again, accepted; every other block accepted at once.
bad = [i for i, (b, s) in enumerate(st) if s == 403]
assert len(bad) == 1 and bad[0] >= 1 and st[bad[0] + 1] == (st[bad[0]][0], 201), st
assert all(s == 201 for i, (b, s) in enumerate(st) if i != bad[0]), st
' || fail "the expired token was not refused once, then replaced: $(fault_ctl stats)"
[ "$(wc -l <"$T/tokens.log")" = 2 ] || fail "tokens issued: $(wc -l <"$T/tokens.log") (want 2)"
V backup list entra >"$T/list" 2>"$T/err" || fail "backup list entra: $(cat "$T/err")"
IDE=$(awk '$NF == "complete" { sub("^entra/", "", $1); print $1 }' "$T/list")
[ -n "$IDE" ] || fail "no complete entra backup: $(cat "$T/list")"
V restore "entra/$IDE" --to "$T/re" >/dev/null 2>"$T/err" || fail "restore entra: $(cat "$T/err")"
diff -r "$S" "$T/re/$REL" >/dev/null || fail "restore entra differs from the source"
echo "it_azure_faults: ok"
