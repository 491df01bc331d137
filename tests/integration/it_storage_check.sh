#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# it_storage_check.sh: `vigil storage check NAME` on local targets.  A
# writable folder passes every step (open, write, list, read, delete, gone)
# and is left as it was; a read-only folder (a read-only tmpfs as root, mode
# 0555 otherwise) fails the write, names the permission, points to
# docs/STORAGE-PERMISSIONS.md and exits 1; a missing folder is created when
# its parent is writable and fails the open when it is not; an unknown NAME
# exits 1 listing the configured names; --no-delete leaves the probe (under
# --prefix) and says how to remove it; bad arguments exit 2.
. "$(dirname "$0")/lib.sh"

V() { "$VIGIL" -c "$T/vigil.conf" "$@"; }

# check ARGS...: `vigil storage check ARGS`, its exit status in $rc, stdout
# in $T/out, stderr in $T/err.
check() {
	rc=0
	V storage check "$@" >"$T/out" 2>"$T/err" || rc=$?
}

mkdir -p "$T/ok" "$T/ro" "$T/parent"
if [ "$(id -u)" = 0 ]; then
	mount_tmpfs "$T/ro" ro,size=1m "a read-only folder"
else
	chmod 0555 "$T/ro"
fi
cat >"$T/vigil.conf" <<CONF
storage = {
  ok = { type = "local"; path = "$T/ok"; };
  ro = { type = "local"; path = "$T/ro"; };
  gone = { type = "local"; path = "$T/ro/missing"; };
  fresh = { type = "local"; path = "$T/parent/a/b"; };
};
CONF

# --- Success: every step OK, nothing left behind --------------------------
check ok
[ "$rc" = 0 ] || fail "check of a writable folder exited $rc: $(cat "$T/err")"
for s in open write list read delete gone; do
	has "$T/out" "^  $s +OK +[0-9]+\.[0-9] ms"
done
has "$T/out" '^storage "ok" \(local\): probe object \.vigil-check-'
has "$T/out" 'read +OK .* bytes [0-9]+-[0-9]+ of 65659 match'
has "$T/out" 'every check passed'
[ -z "$(ls -A "$T/ok")" ] || fail "the check left $(ls -A "$T/ok") behind"

# --- A read-only folder: the write fails and names the permission ---------
check ro
[ "$rc" = 1 ] || fail "check of a read-only folder exited $rc, not 1"
has "$T/out" '^  open +OK'
has "$T/out" '^  write +FAILED'
has "$T/out" 'local\[ro\]: .*(Read-only file system|Permission denied)'
has "$T/out" 'most likely missing, if access was refused: write and search \(w\+x\) on the folder'
has "$T/out" 'docs/STORAGE-PERMISSIONS\.md'
has "$T/err" 'storage "ro": 1 check failed'
if grep -Eq '^  (list|read|delete) ' "$T/out"; then
	fail "steps ran after the failed write: $(cat "$T/out")"
fi

# --- A missing folder: created if it can be, else the open fails ---------
check gone
[ "$rc" = 1 ] || fail "check of an uncreatable folder exited $rc, not 1"
has "$T/out" '^  open +FAILED'
has "$T/out" 'local\[gone\]: create folder .*/ro/missing'
has "$T/out" 'most likely missing, if access was refused: read, write and search \(rwx\) on the folder.* write and search \(w\+x\) on its parent'
check fresh
[ "$rc" = 0 ] || fail "check of a creatable folder exited $rc: $(cat "$T/err")"
[ -d "$T/parent/a/b" ] || fail "the missing folder was not created"
[ "$(stat -c %a "$T/parent/a/b")" = 700 ] || fail "folder not created 0700"

# --- An unknown name: a clear error with the configured names ------------
check nosuch
[ "$rc" = 1 ] || fail "unknown storage name exited $rc, not 1"
has "$T/err" 'no storage target named "nosuch"'
has "$T/err" 'storage targets defined: ok, ro, gone, fresh$'
echo 'sources = ( { type = "load"; } );' >"$T/empty.conf"
rc=0
"$VIGIL" -c "$T/empty.conf" storage check ok >"$T/out" 2>"$T/err" || rc=$?
[ "$rc" = 1 ] || fail "no storage section exited $rc, not 1"
has "$T/err" 'defines no storage target'

# --- --no-delete: the probe stays, under --prefix, and we say how to go --
check ok --no-delete --prefix web1/nightly
[ "$rc" = 0 ] || fail "--no-delete exited $rc: $(cat "$T/err")"
has "$T/out" '^  delete +SKIPPED \(--no-delete\)'
has "$T/out" 'probe object remains in storage "ok"'
has "$T/out" '^  rm FOLDER/web1/nightly/\.vigil-check-'
has "$T/out" 'every check passed \(delete not tried\)'
if grep -Eq '^  gone ' "$T/out"; then fail "--no-delete checked gone"; fi
left=$(find "$T/ok" -type f)
case "$left" in
"$T/ok/web1/nightly/.vigil-check-"*) ;;
*) fail "--no-delete left \"$left\", not one probe under the prefix" ;;
esac
[ "$(stat -c %s "$left")" = 65659 ] || fail "probe has the wrong size"

# --- Bad arguments --------------------------------------------------------
for args in "" "ok extra" "ok --prefix ../x" "ok --prefix /abs" "ok --bogus"; do
	# shellcheck disable=SC2086
	check $args
	[ "$rc" = 2 ] || fail "storage check $args exited $rc, not 2"
done
echo "it_storage_check: ok"
