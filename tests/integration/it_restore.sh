#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# it_restore.sh: backups into local storage and restores with the real CLI.
# backup run/list; a full restore is identical to the source (diff -r, and
# type, mode, size, mtime of every entry); --path restores one file only
# (with --no-privileges: owned by the caller, setuid dropped); a
# missing path fails before writing; the decrypted data.vgl is a plain
# tar.gz (gzip -t, tar -tzf); a flipped byte in data.vgl makes verify and
# restore exit 1 with one message naming the chunk, and nothing is left cut
# short or written outside the target; a full disk (a 1 MiB tmpfs, when
# this machine lets us mount one) fails the restore; kill -9 of a large
# backup leaves nothing that lists as complete, and the next run removes
# the partial object and succeeds.
. "$(dirname "$0")/lib.sh"

FULL="$T/full"
trap 'umount "$FULL" 2>/dev/null || true; cleanup' EXIT

V() { "$VIGIL" -c "$T/vigil.conf" "$@"; }

# entries DIR: one line per entry below DIR: path, type, mode, size of
# regular files, mtime in seconds, symlink target.
entries() {
	(cd "$1" && find . -mindepth 1 -printf '%p %y %m %T@ %l\n' |
		awk '{ split($4, t, "."); $4 = t[1]; print }' | sort)
	(cd "$1" && find . -type f -printf '%p %s\n' | sort)
}

# --- A source tree and a config ------------------------------------------
S="$T/src"
mkdir -p "$S/etc/nginx/sites" "$S/srv/data" "$S/empty-dir"
printf 'worker_processes 4;\n' >"$S/etc/nginx/nginx.conf"
printf 'server {}\n' >"$S/etc/nginx/sites/default"
: >"$S/etc/empty"
head -c 3000000 /dev/urandom >"$S/srv/data/random.bin"
head -c 1024 /dev/urandom >"$S/srv/data/small.bin"
long="$S/srv/$(printf 'n%.0s' {1..150})"
printf 'long\n' >"$long"
printf 'x\n' >"$S/srv/$(printf 'caf\xc3\xa9')"
ln -s ../etc/nginx/nginx.conf "$S/srv/link"
ln "$S/etc/nginx/nginx.conf" "$S/srv/hard"
chmod 600 "$S/etc/nginx/sites/default"
# setuid survives only when owners are restored, i.e. as root.
SMODE=755
[ "$(id -u)" = 0 ] && SMODE=4755
chmod "$SMODE" "$S/srv/data/small.bin"
chmod 1777 "$S/empty-dir"
chmod 750 "$S/etc/nginx"
touch -d '2024-01-02 03:04:05' "$S/etc/nginx/nginx.conf" "$S/srv/data"
REL="${S#/}"

"$VIGIL" key generate --symmetric --out "$T/backup.key" 2>/dev/null ||
	fail "vigil key generate --symmetric failed"
cat >"$T/vigil.conf" <<CONF
agent = { state_dir = "$T/state"; control_socket = "$T/vigild.sock"; };
storage = { here = { type = "local"; path = "$T/store"; }; };
backups = (
  { name = "nightly"; paths = [ "$S" ]; storage = "here";
    key_file = "$T/backup.key"; slice_size = "64KiB"; },
  { name = "big"; paths = [ "$T/bigsrc" ]; storage = "here";
    key_file = "$T/backup.key"; }
);
CONF
chmod 600 "$T/vigil.conf"
V config check >/dev/null || fail "config check rejected the test config"

# --- backup run, list ------------------------------------------------------
V backup run nightly >"$T/out" 2>"$T/err" || fail "backup run: $(cat "$T/err")"
V backup list nightly >"$T/list" || fail "backup list failed"
ID=$(awk '$NF == "complete" { sub(/^nightly\//, "", $1); print $1 }' "$T/list" | tail -n 1)
[ -n "$ID" ] || fail "backup list shows no complete backup: $(cat "$T/list")"
DATA="$T/store/nightly/$ID/data.vgl"
[ -f "$DATA" ] || fail "no $DATA"

# --- Full restore ----------------------------------------------------------
V restore nightly/latest --to "$T/out1" >"$T/out" 2>"$T/err" ||
	fail "restore: $(cat "$T/err")"
grep -q "^restored nightly/$ID into $T/out1: " "$T/out" || fail "no summary line: $(cat "$T/out")"
diff -r "$S" "$T/out1/$REL" || fail "restored tree differs (diff -r)"
diff <(entries "$S") <(entries "$T/out1/$REL") || fail "restored types, modes, sizes or mtimes differ"
[ "$(stat -c %i "$T/out1/$REL/srv/hard")" = "$(stat -c %i "$T/out1/$REL/etc/nginx/nginx.conf")" ] ||
	fail "hard link not restored as a hard link"
[ "$(stat -c %a "$T/out1")" = 700 ] || fail "new target not created 0700"

# --json says the same.
V --json restore "nightly/${ID%-*}" --to "$T/out1" >"$T/json" 2>"$T/err" ||
	fail "restore by id prefix: $(cat "$T/err")"
python3 - "$T/json" "$ID" <<'PY' || fail "restore --json output wrong: $(cat "$T/json")"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["ok"] is True and r["backup_id"] == sys.argv[2], r
assert r["extracted"] == r["entries"] > 10 and r["refused"] == 0, r
assert r["tar_bytes"] == r["tar_size"], r
PY

# --- One file ----------------------------------------------------------------
V restore nightly/latest --to "$T/one" --path "$REL/srv/data/small.bin" >/dev/null 2>"$T/err" ||
	fail "restore --path: $(cat "$T/err")"
cmp "$S/srv/data/small.bin" "$T/one/$REL/srv/data/small.bin" || fail "--path: content differs"
[ "$(stat -c %a "$T/one/$REL/srv/data/small.bin")" = "$SMODE" ] || fail "--path: mode not restored"
[ "$(find "$T/one" -type f | wc -l)" = 1 ] || fail "--path restored more than the one file"
# --no-privileges: the same file, owned by the caller, without setuid.
V restore nightly/latest --to "$T/noprivs" --no-privileges --path "$REL/srv/data/small.bin" \
	>/dev/null 2>"$T/err" || fail "restore --no-privileges: $(cat "$T/err")"
[ "$(stat -c %a "$T/noprivs/$REL/srv/data/small.bin")" = 755 ] ||
	fail "--no-privileges kept mode $(stat -c %a "$T/noprivs/$REL/srv/data/small.bin")"
[ "$(stat -c %u "$T/noprivs/$REL/srv/data/small.bin")" = "$(id -u)" ] ||
	fail "--no-privileges: not owned by the caller"
# A folder brings what is below it.
V restore nightly/latest --to "$T/dir" --path "/$REL/etc/nginx" >/dev/null 2>"$T/err" ||
	fail "restore --path folder: $(cat "$T/err")"
diff -r "$S/etc/nginx" "$T/dir/$REL/etc/nginx" || fail "--path folder differs"
[ ! -e "$T/dir/$REL/etc/empty" ] || fail "--path folder restored a sibling"
# A path that is not there: one message, nothing written.
run_rc rc V restore nightly/latest --to "$T/none" --path "$REL/etc/nginx/nginx.cnf"
[ "$rc" = 1 ] || fail "missing --path: exit $rc, want 1"
grep -q "^vigil: $REL/etc/nginx/nginx.cnf is not in backup nightly/$ID; did you mean $REL/etc/nginx/nginx.conf?\$" "$T/err" ||
	fail "missing --path message: $(cat "$T/err")"
[ ! -e "$T/none" ] || fail "missing --path created the target"

# --- decrypt gives a plain tar.gz -----------------------------------------
V decrypt --job nightly <"$DATA" | gzip -t || fail "gzip -t rejects the decrypted data.vgl"
V decrypt --job nightly <"$DATA" | tar --warning=no-unknown-keyword -tzf - >"$T/tarlist" ||
	fail "tar -tzf rejects the decrypted data.vgl"
grep -qx "$REL/srv/data/random.bin" "$T/tarlist" || fail "tar -tzf does not list random.bin"
V backup verify "nightly/$ID" >/dev/null 2>"$T/err" || fail "verify of an intact backup: $(cat "$T/err")"

# --- A flipped byte -----------------------------------------------------------
cp "$DATA" "$T/data.vgl.orig"
SIZE=$(stat -c %s "$DATA")
python3 - "$DATA" $((SIZE / 2)) <<'PY'
import sys
with open(sys.argv[1], "r+b") as f:
    f.seek(int(sys.argv[2])); b = f.read(1); f.seek(int(sys.argv[2]))
    f.write(bytes([b[0] ^ 0x04]))
PY
run_rc rc V backup verify "nightly/$ID"
[ "$rc" = 1 ] || fail "verify of a tampered backup: exit $rc, want 1"
grep -q "data.vgl: chunk [0-9]*: authentication failed" "$T/err" || fail "verify message: $(cat "$T/err")"

mkdir "$T/tamper"
touch "$T/marker"
sleep 1.1
run_rc rc V restore nightly/latest --to "$T/tamper/out"
[ "$rc" = 1 ] || fail "restore of a tampered backup: exit $rc, want 1"
[ "$(wc -l <"$T/err")" = 1 ] || fail "restore of a tampered backup: not one message: $(cat "$T/err")"
grep -q "^vigil: data.vgl: chunk [0-9]*: authentication failed (corrupt, reordered or tampered data); restore incomplete" "$T/err" ||
	fail "restore message: $(cat "$T/err")"
# Nothing changed outside the target, and nothing in it is cut short.
outside=$(find "$T" -newer "$T/marker" -not -path "$T/tamper" -not -path "$T/tamper/*" \
	-not -path "$T/err" -not -path "$T/out" -not -path "$T" -print)
[ -z "$outside" ] || fail "restore wrote outside its target: $outside"
(cd "$T/tamper/out/$REL" && find . -type f) | while read -r f; do
	cmp -s "$S/$f" "$T/tamper/out/$REL/$f" || fail "restore left $f cut short or wrong"
done
[ ! -e "$T/tamper/out/$REL/srv/data/random.bin" ] || fail "random.bin left behind"
grep -q "(removed $REL/srv/data/random.bin, which was cut short)" "$T/err" ||
	fail "restore did not say which file it removed: $(cat "$T/err")"
cp "$T/data.vgl.orig" "$DATA"

# --- A full disk ------------------------------------------------------------
mkdir "$FULL"
mount_tmpfs "$FULL" size=1m "the full-disk case"
run_rc rc V restore nightly/latest --to "$FULL/out"
[ "$rc" = 1 ] || fail "restore onto a full disk: exit $rc, want 1"
grep -q "No space left on device" "$T/err" || fail "full disk message: $(cat "$T/err")"

# --- kill -9 in the middle of a large backup ---------------------------------
mkdir "$T/bigsrc"
head -c 200M /dev/urandom >"$T/bigsrc/random.bin"
"$VIGIL" -c "$T/vigil.conf" backup run big >"$T/bigrun.out" 2>&1 &
BPID=$!
PIDS+=("$BPID")
part=""
for ((i = 0; i < 100; i++)); do
	part=$(find "$T/store/big" -name 'data.vgl.part' 2>/dev/null | head -n 1 || true)
	[ -n "$part" ] && break
	sleep 0.1
done
[ -n "$part" ] || sleep 1
kill -0 "$BPID" 2>/dev/null || fail "the big backup ended before it could be killed: $(cat "$T/bigrun.out")"
sleep 0.5
kill -9 "$BPID"
wait "$BPID" 2>/dev/null || true
[ -n "$part" ] || part=$(find "$T/store/big" -name '*.part' | head -n 1 || true)
[ -n "$part" ] || fail "no partial object after kill -9"
KID=$(basename "$(dirname "$part")")
V backup list big >"$T/list" 2>&1 || true
if awk -v id="big/$KID" '$1 == id && $NF == "complete"' "$T/list" | grep -q .; then
	fail "the killed backup lists as complete: $(cat "$T/list")"
fi
run_rc rc V restore "big/$KID" --to "$T/killed"
[ "$rc" = 1 ] || fail "restore of the killed backup: exit $rc, want 1"
[ ! -e "$T/killed" ] || fail "restore of the killed backup created its target"

V backup run big >"$T/out" 2>"$T/err" || fail "backup after kill -9: $(cat "$T/err")"
[ -z "$(find "$T/store/big" -name '*.part')" ] || fail "partial object still there: $(find "$T/store/big" -name '*.part')"
[ -z "$(find "$T/store/big/$KID" -type f 2>/dev/null)" ] || fail "killed backup's objects still there"
V backup list big >"$T/list"
[ "$(awk '$NF == "complete"' "$T/list" | wc -l)" = 1 ] || fail "want one complete big backup: $(cat "$T/list")"
V restore big/latest --to "$T/bigout" --path "${T#/}/bigsrc/random.bin" >/dev/null 2>"$T/err" ||
	fail "restore of the big backup: $(cat "$T/err")"
cmp "$T/bigsrc/random.bin" "$T/bigout/${T#/}/bigsrc/random.bin" || fail "big file differs"
echo "PASS: it_restore"
