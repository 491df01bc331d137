#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# it_gcs.sh: backups to Google Cloud Storage, against the fake GCS of
# tests/fakes/gcs_server.py (a token endpoint that checks the RS256
# assertion with the service account's public key; the JSON API subset,
# every request's bearer token checked).  The service-account key is made
# here (openssl genpkey), never committed.  backup (a data object of
# several 1 MiB chunks, with a 503 that loses a chunk, a 503 after GCS kept
# one, connection resets and a token expired mid-upload: each resumed after
# asking the session) ->
# list -> verify (with every token expired first: refreshed, no failure) ->
# full restore byte for byte -> single-file restore reading at most two
# chunks plus manifest and index -> prune.  Wrong credentials, a missing
# bucket and a key file with loose modes each fail once with a clear
# sentence, and the last good backup stays intact.  The credential chain:
# GOOGLE_APPLICATION_CREDENTIALS, then the metadata server (the fake's), each
# shown to be the link that won; a configured file wins over both.
. "$(dirname "$0")/lib.sh"

command -v openssl >/dev/null || skip "no openssl command"
V() { "$VIGIL" -c "$T/vigil.conf" "$@"; }
# ctl PATH [JSON]: a control request to the fake; prints its answer.
ctl() {
	if [ $# -gt 1 ]; then
		curl -sf -X POST --data "$2" "http://127.0.0.1:$PORT$1"
	else
		curl -sf "http://127.0.0.1:$PORT$1"
	fi
}
stat_of() { ctl /_fake/stats | python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }

make_gcs_sa "$T/sa.json"
make_gcs_sa "$T/other-sa.json"	# same account name, a key GCS does not know

python3 "$VIGIL_SRC/tests/fakes/gcs_server.py" --sa "$T/sa.json" \
	--bucket vigil-it --page-size 3 --port-file "$T/gcs.port" \
	2>"$T/gcs.log" &
PIDS+=($!)
wait_for 10 test -s "$T/gcs.port" || fail "the fake GCS did not start: $(cat "$T/gcs.log")"
PORT=$(cat "$T/gcs.port")
EP="http://127.0.0.1:$PORT"

# --- a source tree and a config ---------------------------------------------
S="$T/src"
mkdir -p "$S/data" "$S/etc"
head -c 5000000 /dev/urandom >"$S/data/big.bin"
head -c 700000 /dev/urandom >"$S/data/mid.bin"
printf 'listen 80;\n' >"$S/etc/small.conf"
for i in $(seq 1 40); do printf 'file %s\n' "$i" >"$S/etc/f$i.txt"; done
REL="${S#/}"
"$VIGIL" key generate --symmetric --out "$T/backup.key" 2>/dev/null ||
	fail "vigil key generate --symmetric failed"

gcs_target() { # NAME BUCKET CREDENTIALS
	printf '%s = { type = "gcs"; bucket = "%s"; endpoint = "%s"; credentials_file = "%s"; token_uri = "%s/token"; timeout = "20s"; };\n' \
		"$1" "$2" "$EP" "$3" "$EP"
}
cat >"$T/vigil.conf" <<CONF
agent = { state_dir = "$T/state"; control_socket = "$T/vigild.sock"; };
storage = {
  $(gcs_target cloud vigil-it "$T/sa.json")
  $(gcs_target badkey vigil-it "$T/other-sa.json")
  $(gcs_target nobucket no-such-bucket "$T/sa.json")
  $(gcs_target loose vigil-it "$T/loose-sa.json")
  viaenv = { type = "gcs"; bucket = "vigil-it"; endpoint = "$EP"; token_uri = "$EP/token"; };
  viameta = { type = "gcs"; bucket = "vigil-it"; endpoint = "$EP"; metadata_host = "127.0.0.1:$PORT"; };
};
backups = (
  { name = "nightly"; paths = [ "$S" ]; storage = "cloud";
    key_file = "$T/backup.key"; keep_last = 1; slice_size = "64KiB"; },
  { name = "badkey"; paths = [ "$S/etc" ]; storage = "badkey";
    key_file = "$T/backup.key"; },
  { name = "nobucket"; paths = [ "$S/etc" ]; storage = "nobucket";
    key_file = "$T/backup.key"; },
  { name = "loose"; paths = [ "$S/etc" ]; storage = "loose";
    key_file = "$T/backup.key"; },
  { name = "viaenv"; paths = [ "$S/etc" ]; storage = "viaenv";
    key_file = "$T/backup.key"; },
  { name = "viameta"; paths = [ "$S/etc" ]; storage = "viameta";
    key_file = "$T/backup.key"; }
);
CONF
chmod 600 "$T/vigil.conf"
V config check >/dev/null 2>"$T/err" || fail "config check: $(cat "$T/err")"

# --- backup with chunk faults ------------------------------------------------
ctl /_fake/fault '{"kind": "503", "nth": 2}' >/dev/null
ctl /_fake/fault '{"kind": "503-kept", "nth": 4}' >/dev/null
# Two resets: libcurl itself resends once on a fresh connection.
ctl /_fake/fault '{"kind": "reset", "nth": 6, "count": 2}' >/dev/null
ctl /_fake/fault '{"kind": "expire", "nth": 3}' >/dev/null
V backup run nightly >"$T/out" 2>"$T/err" || fail "backup run: $(cat "$T/err")"
[ "$(stat_of '["faults_fired"]')" = 5 ] ||
	fail "the faults did not fire: $(ctl /_fake/stats)"
[ "$(stat_of '["status_queries"]')" -ge 3 ] ||
	fail "no status query after a failed chunk: $(ctl /_fake/stats)"
[ "$(stat_of '["sessions"]')" = 0 ] || fail "an upload session was left open"
[ "$(stat_of '["tokens_issued"]')" -ge 2 ] ||
	fail "the token expired mid-upload was not refreshed: $(ctl /_fake/stats)"
DATA=$(ctl /_fake/stats | python3 -c '
import json, sys
o = json.load(sys.stdin)["objects"]
print(max((n for n in o if n.endswith("/data.vgl")), key=lambda n: o[n]))')
DSIZE=$(stat_of "[\"objects\"][\"$DATA\"]")
[ "$DSIZE" -gt $((4 * 1048576)) ] || fail "data.vgl is only $DSIZE bytes: not several chunks"

# --- list, verify with expired tokens ------------------------------------------
V backup list nightly >"$T/list" 2>"$T/err" || fail "backup list: $(cat "$T/err")"
ID=$(awk '$NF == "complete" { sub(/^nightly\//, "", $1); print $1 }' "$T/list" | tail -n 1)
[ -n "$ID" ] || fail "no complete backup listed: $(cat "$T/list")"
ctl /_fake/expire '' >/dev/null
TOK0=$(stat_of '["tokens_issued"]')
V backup verify "nightly/$ID" >/dev/null 2>"$T/err" || fail "verify: $(cat "$T/err")"
[ "$(stat_of '["tokens_issued"]')" -gt "$TOK0" ] || fail "verify used no new token"

# --- full restore, byte for byte ------------------------------------------------
V restore nightly/latest --to "$T/full" >/dev/null 2>"$T/err" ||
	fail "full restore: $(cat "$T/err")"
diff -r "$S" "$T/full/$REL" >/dev/null || fail "the full restore differs from the source"

# --- single-file restore: ranged reads only ---------------------------------------
ctl /_fake/reset '' >/dev/null
V restore nightly/latest --to "$T/one" --path "$REL/etc/small.conf" >/dev/null 2>"$T/err" ||
	fail "single-file restore: $(cat "$T/err")"
cmp "$S/etc/small.conf" "$T/one/$REL/etc/small.conf" || fail "the restored file differs"
[ ! -e "$T/one/$REL/data/big.bin" ] || fail "single-file restore wrote other files"
SERVED=$(stat_of '["bytes_served"]')
MAN=$(stat_of "[\"objects\"][\"${DATA%data.vgl}manifest.vgl\"]")
IDX=$(stat_of "[\"objects\"].get(\"${DATA%data.vgl}index.vgl\", 0)")
LIMIT=$((2 * 1048576 + MAN + IDX))
[ "$SERVED" -le "$LIMIT" ] ||
	fail "single-file restore read $SERVED bytes (limit $LIMIT = 2 chunks + manifest + index)"
echo "single-file restore: $SERVED bytes served of data.vgl $DSIZE (limit $LIMIT)"

# --- failures: one clear sentence each, the good backup intact -------------------
run_rc rc V backup run badkey
[ "$rc" != 0 ] || fail "a backup with an unknown key succeeded"
grep -q 'invalid_grant (Invalid JWT Signature.)' "$T/err" ||
	fail "wrong credentials: $(cat "$T/err")"
grep -q 'credentials were refused' "$T/err" || fail "wrong credentials: $(cat "$T/err")"
echo "wrong credentials: $(cat "$T/err")"
run_rc rc V backup run nobucket
[ "$rc" != 0 ] || fail "a backup to a missing bucket succeeded"
grep -q 'bucket "no-such-bucket" does not exist (HTTP 404): create it' "$T/err" ||
	fail "missing bucket: $(cat "$T/err")"
echo "missing bucket: $(cat "$T/err")"
cp "$T/sa.json" "$T/loose-sa.json"
chmod 644 "$T/loose-sa.json"
run_rc rc V backup run loose
[ "$rc" != 0 ] || fail "a key file with mode 644 was used"
grep -q 'mode 0644 is too open for a service-account key file' "$T/err" ||
	fail "loose key file: $(cat "$T/err")"
if grep -R -q -F "PRIVATE KEY" "$T/err" "$T/out"; then fail "a key reached a message"; fi
V backup verify "nightly/$ID" >/dev/null 2>"$T/err" ||
	fail "the good backup was harmed: $(cat "$T/err")"

# --- the credential chain: each link proves it won ----------------------------------
unset GOOGLE_APPLICATION_CREDENTIALS GCE_METADATA_HOST
ctl /_fake/reset '' >/dev/null
GOOGLE_APPLICATION_CREDENTIALS="$T/sa.json" V backup run viaenv >/dev/null 2>"$T/err" ||
	fail "GOOGLE_APPLICATION_CREDENTIALS: $(cat "$T/err")"
[ "$(stat_of '["tokens_issued"]')" -ge 1 ] && [ "$(stat_of '["metadata_tokens"]')" = 0 ] ||
	fail "GOOGLE_APPLICATION_CREDENTIALS did not win: $(ctl /_fake/stats)"
ctl /_fake/reset '' >/dev/null
V backup run viameta >/dev/null 2>"$T/err" || fail "metadata server: $(cat "$T/err")"
[ "$(stat_of '["metadata_tokens"]')" -ge 1 ] && [ "$(stat_of '["tokens_issued"]')" = 0 ] ||
	fail "the metadata server did not win: $(ctl /_fake/stats)"
# The configured file wins over the environment.
ctl /_fake/reset '' >/dev/null
run_rc rc env GOOGLE_APPLICATION_CREDENTIALS="$T/sa.json" "$VIGIL" -c "$T/vigil.conf" backup run badkey
[ "$rc" != 0 ] && grep -q 'Invalid JWT Signature' "$T/err" ||
	fail "the configured key file did not win over the environment: $(cat "$T/err")"

# --- prune ------------------------------------------------------------------------
sleep 1
V backup run nightly >/dev/null 2>"$T/err" || fail "second backup: $(cat "$T/err")"
V backup prune nightly >/dev/null 2>"$T/err" || fail "prune: $(cat "$T/err")"
V backup list nightly >"$T/list" 2>"$T/err" || fail "list after prune: $(cat "$T/err")"
[ "$(grep -c complete "$T/list")" = 1 ] || fail "prune kept: $(cat "$T/list")"
! grep -q "$ID" "$T/list" || fail "prune kept the old backup"
ctl /_fake/stats | python3 -c "
import json, sys
o = json.load(sys.stdin)['objects']
left = [n for n in o if '$ID' in n]
sys.exit('objects of the pruned backup left: %s' % left if left else 0)" ||
	fail "prune left objects"
V restore nightly/latest --to "$T/full2" >/dev/null 2>"$T/err" ||
	fail "restore after prune: $(cat "$T/err")"
diff -r "$S" "$T/full2/$REL" >/dev/null || fail "the restore after prune differs"
echo "it_gcs: ok"
