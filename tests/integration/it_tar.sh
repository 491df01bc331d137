#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# it_tar.sh: a decrypted data.vgl is a .tar.gz that GNU tar reads without a
# word on stderr for ordinary names (docs/BACKUP-FORMAT.md 5): a backup of
# regular, empty, sparse and long-named files, a UTF-8 name, a folder, an
# empty folder, a symlink, a hard link, a file with a user extended
# attribute, a sub-second mtime and a command's output, decrypted with
# `vigil decrypt`, is listed (tar -tvf) and extracted (tar -xf) by GNU tar
# with empty stderr, and the extracted files are the source's.
. "$(dirname "$0")/lib.sh"

tar --version 2>/dev/null | grep -q "GNU tar" || skip "GNU tar is not installed"

S="$T/src"
mkdir -p "$S/etc/sub" "$S/empty"
printf 'hello\n' >"$S/etc/motd"
: >"$S/etc/empty-file"
printf 'x\n' >"$S/etc/$(printf 'caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac')"
printf 'long\n' >"$S/etc/sub/$(printf 'n%.0s' {1..150})"
head -c 200000 /dev/urandom >"$S/etc/random.bin"
truncate -s 8M "$S/etc/sparse"
printf 'data' | dd of="$S/etc/sparse" bs=1 seek=4000000 conv=notrunc 2>/dev/null
ln -s motd "$S/etc/link"
ln "$S/etc/motd" "$S/etc/hard"
touch -d '2024-01-02 03:04:05.123456789' "$S/etc/sub"
if command -v setfattr >/dev/null && setfattr -n user.note -v hi "$S/etc/random.bin" 2>/dev/null; then
	XATTR=1
else
	XATTR=0
fi
head -c 32 /dev/urandom >"$T/key"
chmod 600 "$T/key"
cat >"$T/vigil.conf" <<CONF
agent = { state_dir = "$T/state"; control_socket = "$T/vigild.sock"; };
storage = { here = { type = "local"; path = "$T/store"; }; };
backups = ( { name = "plain"; paths = [ "$S" ]; storage = "here"; key_file = "$T/key";
              slice_size = "64KiB";
              commands = ( { path = "db/dump.sql"; run = "echo 'select 1;'"; } ); } );
CONF
chmod 600 "$T/vigil.conf"
V() { "$VIGIL" -c "$T/vigil.conf" "$@"; }

V backup run plain >/dev/null 2>"$T/err" || fail "backup run: $(cat "$T/err")"
DATA=$(ls "$T"/store/plain/*/data.vgl)
V decrypt --job plain <"$DATA" >"$T/data.tar.gz" 2>"$T/err" || fail "decrypt: $(cat "$T/err")"

gzip -dc "$T/data.tar.gz" | tar -tvf - >"$T/list" 2>"$T/tar.err" || fail "tar -tvf failed: $(cat "$T/tar.err")"
[ ! -s "$T/tar.err" ] || fail "tar -tvf printed on stderr: $(cat "$T/tar.err")"
mkdir "$T/x"
gzip -dc "$T/data.tar.gz" | tar -xf - -C "$T/x" 2>"$T/tar.err" || fail "tar -xf failed: $(cat "$T/tar.err")"
[ ! -s "$T/tar.err" ] || fail "tar -xf printed on stderr: $(cat "$T/tar.err")"

REL="${S#/}"
diff -r --no-dereference "$S" "$T/x/$REL" || fail "GNU tar extracted something else"
[ "$(cat "$T/x/db/dump.sql")" = "select 1;" ] || fail "command output differs"
[ "$(stat -c %i "$T/x/$REL/etc/hard")" = "$(stat -c %i "$T/x/$REL/etc/motd")" ] ||
	fail "hard link not extracted as one"
if [ "$XATTR" = 1 ]; then
	gzip -dc "$T/data.tar.gz" | tar --xattrs --xattrs-include='user.*' -xf - -C "$T/x" 2>"$T/tar.err" ||
		fail "tar --xattrs -xf failed"
	[ ! -s "$T/tar.err" ] || fail "tar --xattrs -xf printed on stderr: $(cat "$T/tar.err")"
	[ "$(getfattr --only-values -n user.note "$T/x/$REL/etc/random.bin" 2>/dev/null)" = hi ] ||
		fail "GNU tar did not restore the extended attribute"
fi
echo "PASS"
