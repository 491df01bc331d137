#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# it_web_page.sh: the web page in a real browser.  vigild with an http
# group (a free loopback port, an admin token made by `vigil token add`, a
# restore root), a rule that fires at once (load.1 >= 0), a local backup
# job with two backups of a file that changed between them.  Then
# tests/web/page.mjs drives Debian's chromium with playwright-core: the
# dashboard loads with no console error and no request to another host,
# the rule shows as firing, a chart has points, the restore page refuses a
# target outside the restore root and restores the file from the older
# backup into it (and then its folder elsewhere), Run now starts a backup (a read token's is refused,
# plainly), and the page fits a phone in the dark.  Here: the bytes
# restored are the older backup's, nothing was written outside the root,
# and the page's files are served without a token, with ETags and 304s.
# Screenshots: <build>/web-shots/*.png.
. "$(dirname "$0")/lib.sh"

CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
[ -x "$CHROMIUM" ] || skip "no $CHROMIUM (packaging/setup.sh --test installs Debian's chromium)"
command -v node >/dev/null || skip "no node (packaging/setup.sh --test)"
[ -f "$VIGIL_SRC/tests/node_modules/playwright-core/package.json" ] ||
	skip "no playwright-core in tests/node_modules (packaging/setup.sh --test)"

PORT=$(free_port)
URL=http://127.0.0.1:$PORT
SHOTS=${VIGIL_TEST_BIN%/tests}/web-shots
rm -rf "$SHOTS"
mkdir -p "$T/src" "$T/store" "$T/roots/web" "$T/outside"
printf 'the first version, %s\n' "$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')" >"$T/src/notes.txt"
cp "$T/src/notes.txt" "$T/first.txt"
head -c 200000 /dev/urandom >"$T/src/blob.bin"

cat >"$T/vigil.conf" <<CONF
agent = { state_dir = "$T/state"; control_socket = "$T/vigild.sock";
  hostname = "web-host"; };
http = { listen = "127.0.0.1:$PORT"; tokens_file = "$T/tokens";
  restore_roots = [ "$T/roots" ]; };
sources = ( { type = "load"; interval = "1s"; },
            { type = "cpu"; interval = "1s"; } );
storage = { here = { type = "local"; path = "$T/store"; }; };
backups = (
  { name = "docs"; paths = [ "$T/src" ]; storage = "here";
    key_file = "$T/backup.key"; create_key = true; schedule = "daily 03:00"; }
);
notifiers = ( { name = "journal"; type = "log"; } );
rules = (
  { name = "load-any"; metric = "load.1"; op = ">="; crit = 0.0;
    notify = [ "journal" ]; },
  { name = "load-huge"; metric = "load.1"; op = ">="; crit = 100000.0; }
);
CONF
chmod 600 "$T/vigil.conf"
"$VIGIL" token add web --role admin --file "$T/tokens" >"$T/admin.tok" 2>"$T/err" ||
	fail "token add: $(cat "$T/err")"
TOKEN=$(cat "$T/admin.tok")
"$VIGIL" token add viewer --role read --file "$T/tokens" >"$T/read.tok" 2>"$T/err" ||
	fail "token add: $(cat "$T/err")"
start_vigild "$T/vigil.conf"

# Two backups; the file differs between them.
"$VIGIL" -c "$T/vigil.conf" backup run docs >"$T/out" 2>&1 || fail "backup 1: $(cat "$T/out")"
"$VIGIL" -c "$T/vigil.conf" backup list docs >"$T/list" || fail "backup list"
OLD=$(awk '$NF == "complete" { sub(/^docs\//, "", $1); print $1 }' "$T/list" | tail -n 1)
[ -n "$OLD" ] || fail "no complete backup: $(cat "$T/list")"
sleep 1.1
echo "the second version" >"$T/src/notes.txt"
"$VIGIL" -c "$T/vigil.conf" backup run docs >"$T/out" 2>&1 || fail "backup 2: $(cat "$T/out")"
"$VIGIL" -c "$T/vigil.conf" backup list docs >"$T/list" || fail "backup list"
[ "$(grep -c ' complete' "$T/list")" = 2 ] || fail "not two backups: $(cat "$T/list")"

# The page's files: no token needed, an ETag, 304 when unchanged.
code() { curl -s -o "$T/body" -D "$T/head" -w '%{http_code}' "$@" || true; }
[ "$(code "$URL/")" = 200 ] || fail "GET / without a token: $(cat "$T/body")"
has "$T/head" "^Content-Type: text/html; charset=utf-8"
grep -q 'src="assets/app.js"' "$T/body" || fail "GET / is not the page"
ETAG=$(sed -n 's/^ETag: *\("[0-9a-f]*"\).*/\1/p' "$T/head" | tr -d '\r')
[ -n "$ETAG" ] || fail "no ETag on /: $(cat "$T/head")"
[ "$(code -H "If-None-Match: $ETAG" "$URL/")" = 304 ] || fail "no 304 for an unchanged /"
[ "$(code -I "$URL/assets/uPlot.iife.min.js")" = 200 ] || fail "HEAD of uPlot"
[ "$(code "$URL/assets/nope.js")" = 401 ] || fail "an unknown asset is not behind the token"
[ "$(code "$URL/api/v1/status")" = 401 ] || fail "the API answers without a token"
for f in app.js app.css uPlot.iife.min.js uPlot.min.css; do
	[ "$(code "$URL/assets/$f")" = 200 ] || fail "GET /assets/$f"
	cmp -s "$T/body" "$(ls "$VIGIL_SRC"/agent/httpd/www/{,node_modules/uplot/dist/}"$f" 2>/dev/null | head -n 1)" ||
		fail "/assets/$f is not the file it was built from"
done

REL=${T#/}/src/notes.txt
set +e
VIGIL_URL="$URL/" VIGIL_TOKEN="$TOKEN" VIGIL_READ_TOKEN="$(cat "$T/read.tok")" \
	SHOTS="$SHOTS" FIRING_RULE=load-any RESTORE_ROOT="$T/roots" \
	SERIES=load.1 JOB=docs BACKUP_ID="$OLD" RESTORE_FILE="$REL" \
	TARGET="$T/roots/web" BAD_TARGET="$T/outside" FOLDER_TARGET="$T/roots/folder" \
	CHROMIUM="$CHROMIUM" \
	timeout 120 node "$VIGIL_SRC/tests/web/page.mjs" >"$T/page.log" 2>&1
rc=$?
set -e
cat "$T/page.log"
[ "$rc" = 0 ] || fail "the browser test failed (exit $rc)"

# The bytes: the older backup's file, under the root, nothing outside.
got=$(find "$T/roots/web" -name notes.txt -type f)
[ "$(printf '%s\n' "$got" | grep -c .)" = 1 ] || fail "restored notes.txt: '${got}'"
cmp "$got" "$T/first.txt" || fail "the restored file is not the chosen backup's"
[ -z "$(find "$T/roots/web" -name blob.bin)" ] || fail "an unchosen file was restored"
[ -z "$(ls -A "$T/outside")" ] || fail "something was written outside the restore root"
# The folder: both files, as the older backup had them.
cmp "$T/roots/folder/$REL" "$T/first.txt" || fail "the folder's notes.txt"
cmp "$T/roots/folder/${REL%notes.txt}blob.bin" "$T/src/blob.bin" || fail "the folder's blob.bin"
# Run now made a third backup.
three() { "$VIGIL" -c "$T/vigil.conf" backup list docs | grep -c ' complete' | grep -qx 3; }
wait_for 20 three || fail "Run now made no backup: $("$VIGIL" -c "$T/vigil.conf" backup list docs)"
for s in 01-overview 02-charts 03-alerts 04-backups 05-restore-refused 06-restore-done \
	07-phone-dark-overview 08-phone-dark-charts 09-phone-dark-alerts 10-phone-dark-restore \
	11-read-token-refused; do
	[ -s "$SHOTS/$s.png" ] || fail "no screenshot $s.png"
done
echo "ok: the page in chromium; screenshots in $SHOTS"
