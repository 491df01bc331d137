#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# it_restore_million.sh: restoring one file from a backup of 1,000,000
# files, and verifying that backup, each cost at most 64 MiB of peak RSS,
# whatever the size of the file index (DESIGN.md section 7; issue 7).  The backup (1,000,000 empty files
# in 10,000 folders, index.vgl about 170 MB of JSON) is written in seconds
# by mk_many_files through vigil's own stages; `vigil restore --path` then
# streams the index.  A path that is not there gets its "did you mean"
# hint within the same bound.  `vigil backup verify` reads the index
# alongside the data and checks every entry's tar header, also within it.
#
# Peak RSS is the largest ru_maxrss of the restore process (getrusage of
# the children, from Python).  Under AddressSanitizer the quarantine keeps
# up to 256 MiB of freed memory on purpose; it is turned off for the
# measured runs, so the figure is vigil's own in either build.
. "$VIGIL_SRC/tests/integration/lib.sh"

: "${VIGIL_TEST_BIN:?VIGIL_TEST_BIN must name the tests build folder}"
MK="$VIGIL_TEST_BIN/mk_many_files"
[ -x "$MK" ] || fail "no $MK: build the tests first"
N=1000000
LIMIT_KIB=$((64 * 1024))

V() { "$VIGIL" -c "$T/vigil.conf" "$@"; }

# peak_rss OUT ERR CMD...: run CMD, its exit status in $rc; print its peak
# RSS in KiB.
peak_rss() {
	local out=$1 err=$2
	shift 2
	ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=0:thread_local_quarantine_size_kb=0" \
	python3 - "$out" "$err" "$@" <<'PY'
import resource, subprocess, sys
with open(sys.argv[1], "w") as o, open(sys.argv[2], "w") as e:
    rc = subprocess.call(sys.argv[3:], stdout=o, stderr=e)
print(rc, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
PY
}

"$VIGIL" key generate --symmetric --out "$T/backup.key" 2>/dev/null ||
	fail "vigil key generate --symmetric failed"
mkdir "$T/store" "$T/tmp"
ID=$(TMPDIR="$T/tmp" "$MK" "$T/store" "$T/backup.key" big "$N") ||
	fail "mk_many_files failed"
[ -f "$T/store/big/$ID/index.vgl" ] || fail "no separate index.vgl"
cat >"$T/vigil.conf" <<CONF
agent = { state_dir = "$T/state"; control_socket = "$T/vigild.sock"; };
storage = { here = { type = "local"; path = "$T/store"; }; };
backups = (
  { name = "big"; paths = [ "$T/none" ]; storage = "here";
    key_file = "$T/backup.key"; }
);
CONF
chmod 600 "$T/vigil.conf"
V backup list big >"$T/list" || fail "backup list failed"
awk -v id="big/$ID" '$1 == id && $NF == "complete"' "$T/list" | grep -q . ||
	fail "the made backup is not listed complete: $(cat "$T/list")"

# --- One file --------------------------------------------------------------
read -r rc kib < <(peak_rss "$T/out" "$T/err" "$VIGIL" -c "$T/vigil.conf" \
	restore big/latest --to "$T/one" --path d57/f005712)
[ "$rc" = 0 ] || fail "restore --path: exit $rc: $(cat "$T/err")"
grep -q "^restored big/$ID into $T/one: 1 entry" "$T/out" ||
	fail "restore --path output: $(cat "$T/out")"
[ -f "$T/one/d57/f005712" ] && [ ! -s "$T/one/d57/f005712" ] ||
	fail "d57/f005712 not restored"
[ "$(find "$T/one" -type f | wc -l)" = 1 ] || fail "restored more than one file"
echo "one-file restore from $N files: peak RSS $kib KiB"
[ "$kib" -le "$LIMIT_KIB" ] ||
	fail "one-file restore from $N files: peak RSS $kib KiB > $LIMIT_KIB KiB"

# --- A path that is not there: the hint, same bound ------------------------
read -r rc kib < <(peak_rss "$T/out" "$T/err" "$VIGIL" -c "$T/vigil.conf" \
	restore big/latest --to "$T/none" --path d57/f00571)
[ "$rc" = 1 ] || fail "missing --path: exit $rc, want 1"
grep -q "^vigil: d57/f00571 is not in backup big/$ID; did you mean d57/f005710?\$" "$T/err" ||
	fail "missing --path message: $(cat "$T/err")"
[ ! -e "$T/none" ] || fail "missing --path created the target"
echo "missing path with hint from $N files: peak RSS $kib KiB"
[ "$kib" -le "$LIMIT_KIB" ] ||
	fail "missing path from $N files: peak RSS $kib KiB > $LIMIT_KIB KiB"
# --- Verify: every entry against its tar header, same bound ----------------
read -r rc kib < <(peak_rss "$T/out" "$T/err" "$VIGIL" -c "$T/vigil.conf" \
	backup verify "big/$ID")
[ "$rc" = 0 ] || fail "backup verify: exit $rc: $(cat "$T/err")"
grep -q "^backup big/$ID is intact: .* $N index entries checked\$" "$T/out" ||
	fail "backup verify output: $(cat "$T/out")"
echo "verify of $N files: peak RSS $kib KiB"
[ "$kib" -le "$LIMIT_KIB" ] ||
	fail "verify of $N files: peak RSS $kib KiB > $LIMIT_KIB KiB"
echo "PASS: it_restore_million"
