#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# it_azure.sh: backups to Azure Blob storage, against Azurite (pinned in
# tests/package.json, installed by packaging/setup.sh --test), which checks
# every request's SharedKey signature or SAS.  On data for several blocks
# (1 MiB parts, ~5.5 MiB): backup -> list -> verify -> full restore ->
# single-file restore -> prune, byte for byte; the data blob has several
# committed blocks (counted by a second, independent signer); a SAS token
# made by vigil's signer (container and account SAS) works, an expired one
# and a wrong key are refused with the sentence that says what to fix,
# without the secret; a missing container is named.  Azure's own SDK
# (Debian's python3-azure) lists what vigil wrote and downloads a data
# object, which `vigil decrypt` and `tar -tzf` read.  Without Azurite or
# the SDK the test exits 77 (SKIP, a CI failure), never passes.
. "$(dirname "$0")/lib.sh"

: "${VIGIL_TEST_BIN:?VIGIL_TEST_BIN must name the tests build folder}"
# Debian's python3-azure is for Debian's python3, which may not be first.
SDKPY=
for py in /usr/bin/python3 python3; do
	if "$py" -c 'import azure.storage.blob' 2>/dev/null; then SDKPY=$py; break; fi
done
[ -n "$SDKPY" ] || skip "no Azure SDK for Python (apt-get install python3-azure)"

start_azurite
ACCT=$AZ_ACCT KEY=$AZ_KEY EP=$AZ_EP
REST() { python3 "$VIGIL_SRC/tests/integration/azure_rest.py" "$EP" "$ACCT" "$KEY" "$@"; }
V() { "$VIGIL" -c "$T/vigil.conf" "$@"; }
REST mkcontainer vigil || fail "cannot make the container: $(cat "$T/azurite.log")"

# --- A source tree and a config ------------------------------------------
S="$T/src"
mkdir -p "$S/a/b"
head -c 3000000 /dev/urandom >"$S/a/r1.bin"
head -c 2500000 /dev/urandom >"$S/a/b/r2.bin"
printf 'one small file\n' >"$S/a/b/small.txt"
REL="${S#/}"
"$VIGIL" key generate --symmetric --out "$T/backup.key" 2>/dev/null ||
	fail "vigil key generate --symmetric failed"
printf '%s\n' "$KEY" >"$T/account.key"
chmod 600 "$T/account.key"

# conf CREDENTIAL-SETTINGS [CONTAINER]: write $T/vigil.conf.
conf() {
	cat >"$T/vigil.conf" <<CONF
agent = { state_dir = "$T/state"; control_socket = "$T/vigild.sock"; };
storage = { cloud = { type = "azure"; account = "$ACCT";
  container = "${2:-vigil}"; endpoint = "$EP"; $1 }; };
backups = ( { name = "az"; paths = [ "$S" ]; storage = "cloud";
              key_file = "$T/backup.key"; slice_size = "256KiB";
              keep_last = 1; } );
CONF
	chmod 600 "$T/vigil.conf"
}
conf "account_key_file = \"$T/account.key\"; access_tier = \"Cool\";"
V config check >/dev/null || fail "config check rejected the test config"

# --- backup, list, verify ----------------------------------------------------
V backup run az >"$T/out" 2>"$T/err" || fail "backup run: $(cat "$T/err")"
V backup list az >"$T/list" || fail "backup list failed"
ID=$(awk '$NF == "complete" { sub(/^az\//, "", $1); print $1 }' "$T/list" | tail -n 1)
[ -n "$ID" ] || fail "backup list shows no complete backup: $(cat "$T/list")"
NB=$(REST blocks vigil "az/$ID/data.vgl") || fail "no block list for az/$ID/data.vgl"
[ "$NB" -ge 5 ] || fail "data.vgl has $NB committed blocks, want several (>= 5)"
V backup verify "az/$ID" >"$T/out" 2>"$T/err" || fail "verify: $(cat "$T/err")"
grep -q "is intact" "$T/out" || fail "verify did not say intact: $(cat "$T/out")"

# --- Azure's SDK reads what vigil wrote ---------------------------------------
CS="DefaultEndpointsProtocol=http;AccountName=$ACCT;AccountKey=$KEY;BlobEndpoint=$EP;"
SDK() { "$SDKPY" "$VIGIL_SRC/tests/integration/azure_sdk.py" "$CS" vigil "$@"; }
SDK list "az/$ID/" >"$T/sdklist" 2>"$T/err" || fail "SDK list: $(cat "$T/err")"
grep -q "^az/$ID/manifest.vgl " "$T/sdklist" || fail "SDK does not list the manifest: $(cat "$T/sdklist")"
SIZE=$(awk -v k="az/$ID/data.vgl" '$1 == k { print $2 }' "$T/sdklist")
[ -n "$SIZE" ] && [ "$SIZE" -gt 5000000 ] || fail "SDK lists data.vgl as ${SIZE:-absent}"
SDK get "az/$ID/data.vgl" "$T/data.vgl" 2>"$T/err" || fail "SDK download: $(cat "$T/err")"
[ "$(stat -c %s "$T/data.vgl")" = "$SIZE" ] || fail "SDK download has the wrong size"
V decrypt --job az <"$T/data.vgl" | tar --warning=no-unknown-keyword -tzf - >"$T/tarlist" ||
	fail "the SDK's copy of data.vgl does not decrypt to a tar.gz"
grep -qx "$REL/a/b/r2.bin" "$T/tarlist" || fail "tar -tzf of the SDK's copy lacks r2.bin"

# --- full and single-file restore ------------------------------------------
V restore az/latest --to "$T/full" >/dev/null 2>"$T/err" || fail "restore: $(cat "$T/err")"
diff -r "$S" "$T/full/$REL" || fail "restored tree differs"
V restore az/latest --to "$T/one" --path "$REL/a/b/small.txt" >/dev/null 2>"$T/err" ||
	fail "restore --path: $(cat "$T/err")"
cmp "$S/a/b/small.txt" "$T/one/$REL/a/b/small.txt" || fail "--path: content differs"
[ "$(find "$T/one" -type f | wc -l)" = 1 ] || fail "--path restored more than the one file"

# --- a second backup, then prune keeps the newest -----------------------------
sleep 1
V backup run az >/dev/null 2>"$T/err" || fail "second backup: $(cat "$T/err")"
V backup list az >"$T/list" || fail "backup list failed"
[ "$(grep -c ' complete$' "$T/list")" -ge 1 ] || fail "no complete backup after the second run"
V backup prune az >"$T/out" 2>"$T/err" || fail "prune: $(cat "$T/err")"
V backup list az >"$T/list2" || fail "backup list after prune failed"
[ "$(grep -c ' complete$' "$T/list2")" = 1 ] || fail "prune left: $(cat "$T/list2")"
grep -q "^az/$ID " "$T/list2" && fail "prune kept the older backup $ID"
NEW=$(awk '$NF == "complete" { print $1 }' "$T/list2")
V restore "$NEW" --to "$T/full2" >/dev/null 2>"$T/err" || fail "restore after prune: $(cat "$T/err")"
diff -r "$S" "$T/full2/$REL" || fail "restore after prune differs"

# --- SAS tokens made by vigil's signer --------------------------------------
MK="$VIGIL_TEST_BIN/mk_azure_sas"
for kind in container account; do
	SAS=$("$MK" "$kind" "$ACCT" "$KEY" 2099-01-01T00:00:00Z vigil) || fail "mk_azure_sas $kind"
	conf "sas_token = \"$SAS\";"
	V backup list az >"$T/list" 2>"$T/err" || fail "$kind SAS refused: $(cat "$T/err")"
	grep -q "^$NEW " "$T/list" || fail "$kind SAS: listing lacks $NEW"
	V restore "$NEW" --to "$T/sas-$kind" --path "$REL/a/b/small.txt" >/dev/null 2>"$T/err" ||
		fail "$kind SAS restore: $(cat "$T/err")"
	cmp "$S/a/b/small.txt" "$T/sas-$kind/$REL/a/b/small.txt" || fail "$kind SAS: content differs"
done
SAS=$("$MK" container "$ACCT" "$KEY" 2020-01-01T00:00:00Z vigil)
SIG=${SAS##*sig=}
conf "sas_token = \"$SAS\";"
if V backup list az >/dev/null 2>"$T/err"; then fail "an expired SAS was accepted"; fi
grep -q 'refused the SAS token (Authentication\|refused the SAS token (Authorization' "$T/err" ||
	fail "expired SAS: no clear message: $(cat "$T/err")"
grep -qF "$SIG" "$T/err" && fail "the SAS signature is in the message"

# --- a wrong key, a missing container --------------------------------------
head -c 64 /dev/urandom | base64 -w0 >"$T/account.key"
conf "account_key_file = \"$T/account.key\";"
if V backup list az >/dev/null 2>"$T/err"; then fail "a wrong key was accepted"; fi
grep -q "refused the account key (.*): set account_key to one of the account's current keys" "$T/err" ||
	fail "wrong key: no clear message: $(cat "$T/err")"
[ "$(wc -l <"$T/err")" = 1 ] || fail "wrong key: reported more than once: $(cat "$T/err")"
grep -qF "$(cat "$T/account.key")" "$T/err" && fail "the key is in the message"
printf '%s\n' "$KEY" >"$T/account.key"
conf "account_key_file = \"$T/account.key\";" nosuch
if V backup list az >/dev/null 2>"$T/err"; then fail "a missing container was accepted"; fi
grep -q 'container "nosuch" does not exist in storage account' "$T/err" ||
	fail "missing container: no clear message: $(cat "$T/err")"
echo "it_azure: backup, list, verify, restores, prune, SAS and refusals against Azurite"
