#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# it_heavy_lazy.sh: vigild maps no heavy library (libvigil-heavy.so,
# libcrypto, libcurl, libarchive) while idle, although its configuration has
# a backup job and a webhook notifier: both are checked in child processes.
# A backup run through the daemon succeeds in a child and leaves the daemon
# still without them; the first webhook delivery loads the module in the
# daemon.  The child's checks print what `vigil config check` prints; a
# backup child that crashes is a failed run, not a dead daemon.
. "$(dirname "$0")/lib.sh"

MARK="vigillazy$$"
start_receiver "$T/recv.log"
mkdir -p "$T/src/sub" "$T/store"
for i in $(seq 1 20); do head -c $((i * 5000)) /dev/urandom >"$T/src/sub/f$i"; done

cat >"$T/vigil.conf" <<CONF
agent = { state_dir = "$T/state"; control_socket = "$T/vigild.sock"; hostname = "lazy-host"; };
sources = ( { type = "process"; names = [ "$MARK" ]; interval = "1s"; } );
storage = { here = { type = "local"; path = "$T/store"; }; };
backups = (
  { name = "docs"; paths = [ "$T/src" ]; storage = "here";
    key_file = "$T/backup.key"; create_key = true; schedule = "daily 03:00"; }
);
rules = (
  { name = "marker"; metric = "proc.$MARK.count"; op = ">="; crit = 1.0;
    notify = [ "hook" ]; }
);
notifiers = (
  { name = "hook"; type = "webhook"; url = "http://127.0.0.1:$RECV_PORT/"; timeout = "2s"; }
);
CONF

heavy_maps() {	# the heavy libraries vigild has mapped, one per line
	grep -oE 'lib(vigil-heavy|crypto|ssl|curl|archive|deflate)[^ ]*\.so[^ ]*' \
		"/proc/$VIGILD_PID/maps" | sort -u || true
}

# 1. The same errors from the child's check as from the CLI's own.
cat >"$T/bad.conf" <<CONF
agent = { state_dir = "$T/state"; control_socket = "$T/bad.sock"; };
storage = { here = { type = "local"; path = "$T/store"; }; };
backups = (
  { name = "docs"; paths = [ "$T/src" ]; storage = "nowhere";
    public_key = "not-a-key"; keep_daily = -1; }
);
notifiers = (
  { name = "hook"; type = "webhook"; url = "ftp://x/"; colour = "red"; }
);
CONF
set +e
cli=$("$VIGIL" -c "$T/bad.conf" config check 2>&1)
daemon=$("$VIGILD" -n -c "$T/bad.conf" 2>&1)
rc=$?
set -e
[ "$rc" != 0 ] || fail "vigild -n accepted a bad configuration"
grep -q "bad.conf:[0-9]*: .*storage" <<<"$daemon" || fail "no storage error from vigild -n: $daemon"
grep -q "bad.conf:[0-9]*: .*colour" <<<"$daemon" || fail "no webhook error from vigild -n: $daemon"
# vigil config check adds the count ("5 errors"); the rest is the same, in order.
[ "$daemon" = "$(grep -vE '^[0-9]+ errors?$' <<<"$cli")" ] ||
	fail "vigild -n and vigil config check differ: $daemon // $cli"

# 2. Idle: nothing heavy mapped.
start_vigild "$T/vigil.conf"
sleep 1
m=$(heavy_maps)
[ -z "$m" ] || fail "idle vigild maps heavy libraries: $m"

# 3. A backup through the daemon runs in a child; the daemon stays light.
out=$("$VIGIL" -c "$T/vigil.conf" backup run docs 2>&1) || fail "backup run failed: $out"
grep -q "^backup docs/.*: 20 files" <<<"$out" || fail "no summary: $out"
"$VIGIL" -c "$T/vigil.conf" backup list docs >"$T/list" 2>&1 || fail "backup list failed"
grep -q "complete" "$T/list" || fail "no complete backup: $(cat "$T/list")"
m=$(heavy_maps)
[ -z "$m" ] || fail "vigild maps heavy libraries after a backup: $m"
st=$("$VIGIL" -c "$T/vigil.conf" status --json)
python3 -c '
import json, sys
job = [j for j in json.loads(sys.argv[1])["jobs"] if j["name"] == "docs"][0]
assert job["last_run"]["ok"] and job["last_success"]["files"] == 20, job
assert job["schedule"] == "daily 03:00", job
' "$st" || fail "status does not show the backup: $st"

# 4. Progress comes from the child; a child that crashes is a failed run with
# a clear message, and the daemon lives on, still light.
head -c $((200 << 20)) /dev/urandom >"$T/src/big.bin"
"$VIGIL" -c "$T/vigil.conf" backup run docs >"$T/crash.out" 2>&1 &
RUN_PID=$!
PIDS+=("$RUN_PID")
reading() { "$VIGIL" -c "$T/vigil.conf" status --json | python3 -c '
import json, sys
j = [j for j in json.load(sys.stdin)["jobs"] if j["name"] == "docs"][0]
sys.exit(0 if j["running"] and j["progress"]["bytes_read"] > 0 else 1)'; }
wait_for 60 reading || fail "no progress from the running backup"
child=$(pgrep -P "$VIGILD_PID" | head -n 1)
[ -n "$child" ] || fail "no backup child process of vigild"
grep -q "libvigil-heavy" "/proc/$child/maps" || fail "the child did not load the module"
# SIGKILL, as the OOM killer would (ASan catches SIGSEGV and exits 1).
kill -KILL "$child"
set +e
wait "$RUN_PID"
rc=$?
set -e
[ "$rc" != 0 ] || fail "a crashed backup reported success: $(cat "$T/crash.out")"
grep -q "the backup process crashed: killed by signal 9" "$T/crash.out" ||
	fail "no crash message: $(cat "$T/crash.out")"
kill -0 "$VIGILD_PID" || fail "vigild died with its backup child"
m=$(heavy_maps)
[ -z "$m" ] || fail "vigild maps heavy libraries after a crashed backup: $m"
rm -f "$T/src/big.bin"

# 5. The first webhook delivery loads the module, in the daemon.
start_marker "$MARK"
got() { [ "$(count_received "$T/recv.log" CRITICAL)" -ge 1 ]; }
wait_for 30 got || fail "the webhook was not delivered"
m=$(heavy_maps)
grep -q "libvigil-heavy" <<<"$m" || fail "the delivery did not load the module: $m"
echo "PASS: idle and after a backup without heavy libraries; loaded at the first delivery"
