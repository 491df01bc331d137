#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# it_queue_reload.sh: a reload removes a notifier that still has queued
# notifications.  Through the real daemon and its sender: the entries are
# kept aside (not delivered, not dropped), `vigil status` counts them per
# removed notifier, `vigil queue list` shows them, and `vigil queue retry
# --to other` delivers them, exactly once, to the other notifier's receiver.
# Then `vigil queue drop` (counted and logged), and `vigil queue` on the
# spool folder when no daemon runs.
. "$(dirname "$0")/lib.sh"

MARK="vigilq$$"
PORT_OLD=$(free_port)		# nothing ever listens there
start_receiver "$T/recv.log"
PORT_OTHER=$RECV_PORT

write_conf() {	# write_conf NOTIFIERS RULE_NOTIFY
	cat >"$T/vigil.conf" <<CONF
agent = {
  state_dir = "$T/state";
  control_socket = "$T/vigild.sock";
  hostname = "it-host";
  log_level = "debug";
};
sources = ( { type = "process"; names = [ "$MARK" ]; interval = "1s"; } );
rules = (
  { name = "q-1"; metric = "proc.$MARK.count"; op = ">="; crit = 1.0; notify = [ $2 ]; },
  { name = "q-2"; metric = "proc.$MARK.running"; op = ">="; crit = 1.0; notify = [ $2 ]; },
  { name = "q-3"; metric = "proc.$MARK.count"; op = ">"; crit = 0.5; notify = [ $2 ]; }
);
notifiers = ( $1 );
CONF
}
OLD="{ name = \"old\"; type = \"webhook\"; url = \"http://127.0.0.1:$PORT_OLD/a\"; timeout = \"2s\"; }"
OTHER="{ name = \"other\"; type = \"webhook\"; url = \"http://127.0.0.1:$PORT_OTHER/b\"; timeout = \"2s\"; }"
V() { "$VIGIL" -c "$T/vigil.conf" "$@"; }
count() {	# count STATE [PATH]: requests received with that state
	python3 - "$T/recv.log" "$1" "${2:-}" <<'PY'
import json, os, sys
n = 0
if os.path.exists(sys.argv[1]):
    for line in open(sys.argv[1]):
        rec = json.loads(line)
        b = json.loads(rec["body"])
        n += b["state"] == sys.argv[2] and sys.argv[3] in ("", rec["path"])
print(n)
PY
}
status_py() { V status --json | python3 -c "import json, sys; q = json.load(sys.stdin)['queue']; $1"; }

write_conf "$OLD, $OTHER" '"old"'
start_vigild "$T/vigil.conf"
start_marker "$MARK"
queued_old() { status_py 'sys.exit(0 if q["per_notifier"].get("old", 0) == 3 else 1)'; }
wait_for 20 queued_old || fail "the three alerts were not queued for old"

# Reload without "old": its entries are kept aside, counted in status.
write_conf "$OTHER" '"other"'
V reload >/dev/null || fail "vigil reload"
wait_for 10 grep -q "configuration reloaded" "$T/vigild.log" || fail "reload not applied"
aside_old() { status_py 'sys.exit(0 if q["aside"].get("old") == 3 else 1)'; }
wait_for 10 aside_old || fail "status does not count 3 kept aside for old: $(V status --json)"
status_py 'assert q["dropped"] == 0 and q["depth"] >= 3, q' || fail "entries dropped on reload"
V status | grep -A1 "kept aside" | grep -q "old .*3" || fail "status text does not show the kept-aside entries"
grep -q "kept aside" "$T/vigild.log" || fail "keeping aside not logged"
# The rules' notify list changed, so they start afresh and fire again for
# "other": three new alerts.  The three kept aside must not follow.
fresh() { [ "$(count CRITICAL /b)" = 3 ]; }
wait_for 20 fresh || fail "the changed rules did not fire for other"
sleep 3
[ "$(count CRITICAL)" = 3 ] || fail "entries of the removed notifier were sent somewhere"
aside_old || fail "the kept-aside entries went away"

# vigil queue list, text and JSON.
V queue list | grep -q "old .*q-1 .*aside" || fail "queue list does not show the entries: $(V queue list)"
V --json queue list old | python3 -c '
import json, sys
e = json.load(sys.stdin)["entries"]
assert len(e) == 3, e
assert all(x["notifier"] == "old" and x["state"] == "aside" for x in e), e
assert sorted(x["rule"] for x in e) == ["q-1", "q-2", "q-3"], e
assert all(x["series"].startswith("proc.") for x in e), e
' || fail "queue list --json is wrong"

# Refusals: no --to for an entry kept aside, unknown notifier, unknown id.
id=$(V --json queue list old | python3 -c 'import json,sys; print(json.load(sys.stdin)["entries"][0]["id"])')
if V queue retry "$id" 2>"$T/err"; then fail "retry of a kept-aside entry without --to"; fi
grep -q "give --to" "$T/err" || fail "unclear refusal: $(cat "$T/err")"
if V queue retry "$id" --to old 2>/dev/null; then fail "retry --to a removed notifier"; fi
if V queue retry 999999 --to other 2>/dev/null; then fail "retry of an unknown id"; fi
set +e; V queue frob >/dev/null 2>&1; rc=$?; set -e
[ "$rc" = 2 ] || fail "queue frob: exit $rc, want 2"

# Re-route to "other": delivered there, exactly once, in order.
V queue retry --notifier old --to other | grep -q "3 notifications re-routed" ||
	fail "queue retry --to other"
six() { [ "$(count CRITICAL /b)" = 6 ]; }
wait_for 20 six || fail "re-routed alerts did not arrive: $(count CRITICAL /b)"
emptied() { status_py 'sys.exit(0 if q["depth"] == 0 and not q["aside"] and q["dropped"] == 0 else 1)'; }
wait_for 10 emptied || fail "queue not empty after re-routing: $(V status --json)"
python3 - "$T/recv.log" <<'PY' || fail "re-routed alerts not each delivered once"
import collections, json, sys
bodies = [json.loads(json.loads(l)["body"]) for l in open(sys.argv[1])]
ids = [b["id"] for b in bodies]
assert len(ids) == len(set(ids)) == 6, ids
per = collections.Counter(b["rule"] for b in bodies)
assert per == {"q-1": 2, "q-2": 2, "q-3": 2}, per
PY

# Drop: the receiver is down, the rules recover, then the operator discards.
kill -9 "$RECV_PID"
kill "$MARKER_PID"
queued_other() { status_py 'sys.exit(0 if q["per_notifier"].get("other", 0) == 3 else 1)'; }
wait_for 20 queued_other || fail "recoveries not queued"
first=$(V --json queue list other | python3 -c 'import json,sys; print(json.load(sys.stdin)["entries"][0]["id"])')
V queue drop "$first" | grep -q "1 notification dropped" || fail "queue drop ID"
status_py 'assert q["dropped"] == 1 and q["dropped_by_reason"]["operator"] == 1, q
assert q["drops"][0]["count"] == 1 and q["drops"][0]["rule"].startswith("q-"), q' ||
	fail "the drop is not counted by rule and series"
V status | grep -A1 "dropped by rule and series" | grep -q "q-[123] .*proc\.$MARK\..* 1" ||
	fail "status text does not show the drop by rule and series"
grep -q "discarded by the operator" "$T/vigild.log" || fail "the drop was not logged"

# No daemon: vigil queue works on the spool folder itself.
kill -TERM "$VIGILD_PID"
wait_for 30 sh -c "! kill -0 $VIGILD_PID" || fail "vigild did not stop"
[ "$(V --json queue list | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["entries"]))')" = 2 ] ||
	fail "queue list without a daemon"
second=$(V --json queue list other | python3 -c 'import json,sys; print(json.load(sys.stdin)["entries"][0]["id"])')
V queue drop "$second" 2>"$T/err" | grep -q "1 notification dropped" || fail "queue drop without a daemon"
grep -q "discarded by the operator" "$T/err" || fail "the direct drop was not logged"
[ "$(ls "$T/state/spool/"*.json | wc -l)" = 1 ] || fail "the direct drop left the file"

# The last one is delivered after a restart, once the receiver is back.
start_receiver "$T/recv.log" "$PORT_OTHER"
start_vigild "$T/vigil.conf"
one_ok() { [ "$(count OK /b)" = 1 ]; }
wait_for 30 one_ok || fail "the remaining recovery did not arrive"
sleep 2
[ "$(count OK)" = 1 ] && [ "$(count CRITICAL)" = 6 ] || fail "duplicates: $(count CRITICAL) CRITICAL, $(count OK) OK"
echo "PASS: it_queue_reload"
