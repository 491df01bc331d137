#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# it_backup_daemon.sh: backups run by vigild.  `vigil backup run` goes
# through the running daemon and reports the result; the job's readings reach
# the rules, so a failing backup pages on-call through a webhook and recovers
# after the next good run; SIGTERM during a backup stops it promptly and
# leaves no complete-looking backup.
. "$(dirname "$0")/lib.sh"

start_receiver "$T/recv.log"
mkdir -p "$T/src/sub" "$T/store"
for i in $(seq 1 50); do head -c $((i * 1000)) /dev/urandom >"$T/src/sub/f$i"; done
echo hello >"$T/src/hello.txt"

cat >"$T/vigil.conf" <<CONF
agent = { state_dir = "$T/state"; control_socket = "$T/vigild.sock"; hostname = "bk-host"; };
sources = ( { type = "load"; interval = "1s"; } );
storage = { here = { type = "local"; path = "$T/store"; }; };
backups = (
  { name = "docs"; paths = [ "$T/src" ]; storage = "here";
    key_file = "$T/backup.key"; create_key = true; keep_last = 5;
    pre_hook = "test ! -e $T/break"; }
);
rules = (
  { name = "backup-failed"; metric = "backup.*.failed"; op = ">="; crit = 1.0;
    notify = [ "hook" ]; }
);
notifiers = (
  { name = "hook"; type = "webhook"; url = "http://127.0.0.1:$RECV_PORT/"; timeout = "2s"; }
);
CONF
start_vigild "$T/vigil.conf"

# 1. A run through the daemon.
out=$("$VIGIL" -c "$T/vigil.conf" backup run docs 2>&1) || fail "backup run failed: $out"
grep -q "^backup docs/.*: 51 files" <<<"$out" || fail "no summary: $out"
[ -f "$T/backup.key" ] || fail "create_key did not make the key"
[ "$(stat -c %a "$T/backup.key")" = 600 ] || fail "key file mode"
"$VIGIL" -c "$T/vigil.conf" status --json | python3 -c '
import json, sys
st = json.load(sys.stdin)
job = [j for j in st["jobs"] if j["name"] == "docs"][0]
assert job["last_run"]["ok"] and job["last_success"]["files"] == 51, job
' || fail "status does not show the backup"
"$VIGIL" -c "$T/vigil.conf" backup list docs | grep -q "complete" || fail "list shows no complete backup"

# 2. A failing backup fires the rule; the next good one recovers it.
touch "$T/break"
set +e
out=$("$VIGIL" -c "$T/vigil.conf" backup run docs 2>&1)
rc=$?
set -e
[ "$rc" = 1 ] || fail "a failing backup exited $rc"
grep -q "pre_hook" <<<"$out" || fail "failure message does not name the hook: $out"
got() { python3 - "$T/recv.log" "$1" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    b = json.loads(json.loads(line)["body"])
    if b["rule"] == "backup-failed" and b["state"] == sys.argv[2] and b["metric"] == "backup.docs.failed":
        sys.exit(0)
sys.exit(1)
PY
}
wait_for 30 got CRITICAL || fail "no alert for the failed backup"
rm -f "$T/break"
"$VIGIL" -c "$T/vigil.conf" backup run docs >/dev/null || fail "backup after repair failed"
wait_for 30 got OK || fail "no recovery after the good backup"

# 3. SIGTERM in the middle of a long backup: nothing complete-looking left.
head -c $((300 << 20)) /dev/urandom >"$T/src/big.bin"
"$VIGIL" -c "$T/vigil.conf" backup run docs >/dev/null 2>&1 &
PIDS+=("$!")
running() { "$VIGIL" -c "$T/vigil.conf" status --json | python3 -c '
import json, sys
sys.exit(0 if [j for j in json.load(sys.stdin)["jobs"] if j["running"]] else 1)'; }
wait_for 20 running || fail "backup did not start"
before=$("$VIGIL" -c "$T/vigil.conf" backup list docs | grep -c " complete" || true)
kill -TERM "$VIGILD_PID"
wait_for 30 sh -c "! kill -0 $VIGILD_PID" || fail "vigild did not stop during a backup"
grep -q "interrupted by shutdown" "$T/vigild.log" || fail "no shutdown message for the backup"
after=$("$VIGIL" -c "$T/vigil.conf" backup list docs | grep -c " complete" || true)
[ "$before" = "$after" ] || fail "an interrupted backup is listed as complete"
echo "PASS: it_backup_daemon"
