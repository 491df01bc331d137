#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# it_sign.sh: who wrote this backup?  Write-only (X25519) jobs with signed
# manifests (docs/BACKUP-FORMAT.md 2.3) and the real CLI.  A host with a
# signing_key writes signed backups that the restoring side, which lists
# the host's public key in trusted_signers, verifies and restores.  A
# forger who has only the public key (every host's config holds it) writes
# a backup with a setuid file: with trusted_signers, verify and restore
# (with the job's private_key_file and with --key) refuse it in one
# sentence and write nothing; without trusted_signers verify calls it
# intact but "unsigned".  A backup signed by another key is refused too.
# A signing key of mode 0644 is refused by config check and by backup run;
# a missing one is generated 0600 by the first run.
. "$(dirname "$0")/lib.sh"

# refused WHAT CMD...: CMD (WHAT, for messages) must fail with exit status
# 1 and one line on stderr, kept in $T/err.
refused() {
	local what=$1 rc=0
	shift
	"$@" >"$T/out" 2>"$T/err" || rc=$?
	[ "$rc" = 1 ] || fail "$what: exit $rc, want 1: $(cat "$T/err")"
	[ "$(wc -l <"$T/err")" = 1 ] || fail "$what: not one message: $(cat "$T/err")"
}

# quoted FILE: the one "..." string in FILE.
quoted() { sed -n 's/.*"\(.*\)".*/\1/p' "$1"; }

# new_backup CONF: run the job, print the id of the backup it made.
new_backup() {
	local before
	before=$(ls "$T/store/nightly" 2>/dev/null || true)
	"$VIGIL" -c "$1" backup run nightly >/dev/null 2>"$T/err" ||
		fail "backup run with $1: $(cat "$T/err")"
	comm -13 <(echo "$before") <(ls "$T/store/nightly")
}

mkdir -p "$T/src/etc" "$T/evil/bin"
printf 'hello\n' >"$T/src/etc/motd"
printf '#!/bin/sh\nid\n' >"$T/evil/bin/rootshell"
chmod 4755 "$T/evil/bin/rootshell"

"$VIGIL" key generate --out "$T/restore.pem" >"$T/pub" 2>/dev/null ||
	fail "key generate (X25519)"
PUB=$(quoted "$T/pub")
"$VIGIL" key generate --sign --out "$T/host.sign" >"$T/spub" 2>/dev/null ||
	fail "key generate --sign"
grep -q '^trusted_signers = \[ ".*" \];$' "$T/spub" || fail "key generate --sign printed: $(cat "$T/spub")"
[ "$(stat -c %a "$T/host.sign")" = 600 ] || fail "signing key not created 0600"
SPUB=$(quoted "$T/spub")
"$VIGIL" key generate --sign --out "$T/other.sign" >/dev/null 2>&1 ||
	fail "key generate --sign (other)"

# conf NAME PATHS EXTRA: a config whose job "nightly" writes to $T/store.
conf() {
	cat >"$T/$1.conf" <<CONF
agent = { state_dir = "$T/state-$1"; control_socket = "$T/$1.sock"; };
storage = { here = { type = "local"; path = "$T/store"; }; };
backups = ( { name = "nightly"; paths = [ "$2" ]; storage = "here";
              public_key = "$PUB"; $3 } );
CONF
	chmod 600 "$T/$1.conf"
}
conf host "$T/src" "signing_key = \"$T/host.sign\";"
conf forger "$T/evil" ""
conf other "$T/src" "signing_key = \"$T/other.sign\";"
conf restore "$T/src" "private_key_file = \"$T/restore.pem\"; trusted_signers = [ \"$SPUB\" ];"
conf restorekey "$T/src" "trusted_signers = [ \"$SPUB\" ];"
conf open "$T/src" "private_key_file = \"$T/restore.pem\";"
for c in host forger other restore open; do
	"$VIGIL" -c "$T/$c.conf" config check >/dev/null 2>"$T/err" || fail "config check $c: $(cat "$T/err")"
done

# --- The host's own backup: signed, verified, restored ------------------------
GOOD=$(new_backup "$T/host.conf")
[ -n "$GOOD" ] || fail "no backup made"
"$VIGIL" -c "$T/restore.conf" backup verify "nightly/$GOOD" >"$T/out" 2>"$T/err" ||
	fail "verify of a signed backup: $(cat "$T/err")"
ID=$(cut -c1-16 <(python3 - "$SPUB" <<'PY'
import base64, sys
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
pub = base64.b64decode(sys.argv[1])
print(HKDF(hashes.SHA256(), 8, None, b"vigil-v1 key id").derive(pub).hex())
PY
))
grep -qx "signed by $ID (public key $SPUB)" "$T/out" || fail "verify does not name the signer $ID: $(cat "$T/out")"
"$VIGIL" -c "$T/restore.conf" restore "nightly/$GOOD" --to "$T/r-good" >/dev/null 2>"$T/err" ||
	fail "restore of a signed backup: $(cat "$T/err")"
cmp "$T/src/etc/motd" "$T/r-good/${T#/}/src/etc/motd" || fail "restored file differs"
# counts.bytes_stored counts the signed manifest's longer header.
stored=$("$VIGIL" -c "$T/restore.conf" decrypt --job nightly <"$T/store/nightly/$GOOD/manifest.vgl" |
	python3 -c 'import json, sys; print(json.load(sys.stdin)["counts"]["bytes_stored"])')
[ "$stored" = "$(cat "$T/store/nightly/$GOOD"/*.vgl | wc -c)" ] ||
	fail "counts.bytes_stored $stored is not the size of the backup's objects"

# --- A forger with only the public key ---------------------------------------
FORGED=$(new_backup "$T/forger.conf")
[ -n "$FORGED" ] || fail "the forger made no backup"
# Without trusted_signers it is intact, and says it is unsigned.
"$VIGIL" -c "$T/open.conf" backup verify "nightly/$FORGED" >"$T/out" 2>"$T/err" ||
	fail "verify without trusted_signers: $(cat "$T/err")"
grep -q "^unsigned: nothing proves which host wrote it$" "$T/out" || fail "verify does not say unsigned: $(cat "$T/out")"
REFUSE="manifest.vgl: not signed, but trusted_signers requires a signature (forged, or written by a host without a signing key)"
refused "verify of a forged backup" "$VIGIL" -c "$T/restore.conf" backup verify "nightly/$FORGED"
grep -qF "$REFUSE" "$T/err" || fail "verify of a forged backup: $(cat "$T/err")"
refused "restore of a forged backup" "$VIGIL" -c "$T/restore.conf" restore "nightly/$FORGED" --to "$T/r-forged"
[ "$(cat "$T/err")" = "vigil: $REFUSE" ] || fail "restore of a forged backup: $(cat "$T/err")"
[ ! -e "$T/r-forged" ] || fail "restore of a forged backup created its target"
# The same with --key instead of private_key_file.
refused "restore --key of a forged backup" \
	"$VIGIL" -c "$T/restorekey.conf" restore "nightly/$FORGED" --key "$T/restore.pem" --to "$T/r-forged"
grep -qF "$REFUSE" "$T/err" || fail "restore --key of a forged backup: $(cat "$T/err")"
[ ! -e "$T/r-forged" ] || fail "restore --key of a forged backup created its target"
refused "verify --key of a forged backup" \
	"$VIGIL" -c "$T/restorekey.conf" backup verify "nightly/$FORGED" --key "$T/restore.pem"
grep -qF "$REFUSE" "$T/err" || fail "verify --key of a forged backup: $(cat "$T/err")"

# --- Signed, but by a key the restoring side does not trust -------------------
OTHER=$(new_backup "$T/other.conf")
refused "verify of a backup by another signer" "$VIGIL" -c "$T/restore.conf" backup verify "nightly/$OTHER"
grep -q "manifest.vgl: signed by [0-9a-f]\{16\}, which is not in trusted_signers$" "$T/err" ||
	fail "verify of a backup by another signer: $(cat "$T/err")"
refused "restore of a backup by another signer" "$VIGIL" -c "$T/restore.conf" restore "nightly/$OTHER" --to "$T/r-other"
grep -q "manifest.vgl: signed by [0-9a-f]\{16\}, which is not in trusted_signers$" "$T/err" ||
	fail "restore of a backup by another signer: $(cat "$T/err")"
[ ! -e "$T/r-other" ] || fail "restore of a backup by another signer created its target"

# --- Signing key files ---------------------------------------------------------
chmod 644 "$T/host.sign"
! "$VIGIL" -c "$T/host.conf" config check >/dev/null 2>"$T/err" ||
	fail "config check accepted a signing key of mode 0644"
grep -qF "signing_key: \"$T/host.sign\" has mode 0644: group or others may read it; chmod 600 it" "$T/err" ||
	fail "config check message: $(cat "$T/err")"
! "$VIGIL" -c "$T/host.conf" backup run nightly >/dev/null 2>"$T/err" ||
	fail "backup run used a signing key of mode 0644"
grep -qF "signing_key: \"$T/host.sign\" has mode 0644" "$T/err" || fail "backup run message: $(cat "$T/err")"
chmod 600 "$T/host.sign"
# A missing signing key is generated by the first run, 0600.
conf fresh "$T/src" "signing_key = \"$T/fresh.sign\";"
"$VIGIL" -c "$T/fresh.conf" config check >/dev/null 2>"$T/err" || fail "config check fresh: $(cat "$T/err")"
FRESH=$(new_backup "$T/fresh.conf")
[ "$(stat -c %a "$T/fresh.sign")" = 600 ] || fail "generated signing key is not 0600"
grep -q "generated the signing key $T/fresh.sign" "$T/err" || fail "no log line for the generated key: $(cat "$T/err")"
"$VIGIL" -c "$T/open.conf" backup verify "nightly/$FRESH" >"$T/out" 2>"$T/err" ||
	fail "verify of the fresh backup: $(cat "$T/err")"
grep -q "^signed by [0-9a-f]\{16\} " "$T/out" || fail "fresh backup not signed: $(cat "$T/out")"
echo "PASS"
