#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# it_webhook.sh: an alert reaches a real HTTP receiver; the recovery that was
# queued while the receiver was down survives kill -9 of vigild and arrives
# exactly once when the receiver is back.  Also: vigil status over the
# control socket, SIGHUP reload (valid and invalid), HMAC signature.
. "$(dirname "$0")/lib.sh"

MARK="vigilmark$$"
SECRET="it-secret-$$"
printf '%s\n' "$SECRET" >"$T/hook.secret"
chmod 600 "$T/hook.secret"
start_receiver "$T/recv.log"
PORT=$RECV_PORT
start_marker "$MARK"

write_conf() {	# write_conf EXTRA_RULES
	cat >"$T/vigil.conf" <<CONF
agent = {
  state_dir = "$T/state";
  control_socket = "$T/vigild.sock";
  hostname = "it-host";
  log_level = "debug";
};
sources = (
  { type = "process"; names = [ "$MARK" ]; interval = "1s"; },
  { type = "cpu"; interval = "1s"; },
  { type = "memory"; interval = "1s"; }
);
rules = (
  { name = "marker-running"; metric = "proc.$MARK.count"; op = ">=";
    crit = 1.0; notify = [ "hook" ]; }$1
);
notifiers = (
  { name = "hook"; type = "webhook"; url = "http://127.0.0.1:$PORT/alert";
    secret_file = "$T/hook.secret"; timeout = "2s"; }
);
CONF
}
write_conf ""

"$VIGIL" -c "$T/vigil.conf" config check >/dev/null || fail "config check rejected the test config"
# Without a daemon, status says so and exits 3.
set +e
out=$("$VIGIL" -c "$T/vigil.conf" status 2>&1)
rc=$?
set -e
[ "$rc" = 3 ] || fail "status without daemon: exit $rc, want 3 ($out)"
grep -q "not running" <<<"$out" || fail "status without daemon: '$out'"

start_vigild "$T/vigil.conf"

# 1. The alert arrives, signed.
count_state() { count_received "$T/recv.log" "$1"; }	# payloads with "state": "$1"
has_state() { [ "$(count_state "$1")" -ge 1 ]; }
wait_for 20 has_state CRITICAL || fail "no CRITICAL alert arrived"
python3 - "$T/recv.log" "$SECRET" <<'PY' || fail "alert payload or signature wrong"
import hashlib, hmac, json, sys
rec = json.loads(open(sys.argv[1]).readline())
body = json.loads(rec["body"])
assert rec["path"] == "/alert", rec["path"]
assert body["state"] == "CRITICAL" and body["previous_state"] == "OK", body
assert body["rule"] == "marker-running" and body["host"] == "it-host", body
assert body["metric"].startswith("proc.vigilmark") and body["value"] >= 1, body
sig = rec["headers"].get("x-vigil-signature", "")
want = "sha256=" + hmac.new(sys.argv[2].encode(), rec["body"].encode(), hashlib.sha256).hexdigest()
assert hmac.compare_digest(sig, want), (sig, want)
assert rec["headers"].get("x-vigil-id") == body["id"], rec["headers"]
PY

# 2. status shows the rule firing, as text and JSON.
"$VIGIL" -c "$T/vigil.conf" status | grep -q "marker-running.*CRITICAL" ||
	fail "status does not show the firing rule"
"$VIGIL" -c "$T/vigil.conf" status --json | python3 -c '
import json, sys
st = json.load(sys.stdin)
names = [s["name"] for s in st["sources"]]
assert "process" in names and "cpu" in names, names
assert any(r["rule"] == "marker-running" and r["state"] == "CRITICAL" for r in st["rules"]), st["rules"]
assert st["queue"]["depth"] == 0, st["queue"]
' || fail "status --json is wrong"

# 3. Receiver down; the rule recovers; the recovery waits in the spool.
kill -9 "$RECV_PID"
kill "$MARKER_PID"
queued() { "$VIGIL" -c "$T/vigil.conf" status --json | python3 -c '
import json, sys; sys.exit(0 if json.load(sys.stdin)["queue"]["depth"] >= 1 else 1)'; }
wait_for 20 queued || fail "the recovery was not queued"
ls "$T/state/spool/"*.json >/dev/null 2>&1 || fail "no spool file on disk"

# 4. Crash: kill -9, restart while the receiver is still down.
kill -9 "$VIGILD_PID"
wait "$VIGILD_PID" 2>/dev/null || true
start_vigild "$T/vigil.conf"
sleep 2
[ "$(count_state OK)" = 0 ] || fail "recovery delivered while the receiver was down?"

# 5. The receiver returns on the same port: the recovery arrives exactly once.
start_receiver "$T/recv.log" "$PORT"
wait_for 60 has_state OK || fail "queued recovery never arrived"
sleep 3
[ "$(count_state OK)" = 1 ] || fail "recovery arrived $(count_state OK) times, want 1"
[ "$(count_state CRITICAL)" = 1 ] || fail "alert re-sent after restart: $(count_state CRITICAL) times"
wait_for 10 sh -c "! ls $T/state/spool/*.json" || fail "spool not emptied after delivery"

# 6. Reload: an invalid config is refused and the old one stays in force.
cp "$T/vigil.conf" "$T/good.conf"
write_conf ',
  { name = "bad"; metric = "nope.metric"; crit = "x"; }'
kill -HUP "$VIGILD_PID"
wait_for 10 grep -q "reload failed" "$T/vigild.log" || fail "invalid reload not reported"
grep -q "vigil.conf:[0-9]*: rules\[1\].crit: must be a number" "$T/vigild.log" ||
	fail "reload errors lack file:line: setting"
grep -q "vigil.conf:[0-9]*: rules\[1\].metric: no source produces" "$T/vigild.log" ||
	fail "reload did not report every error"
kill -0 "$VIGILD_PID" || fail "vigild died on an invalid reload"
"$VIGIL" -c "$T/good.conf" status | grep -q "marker-running" || fail "old rules gone after a failed reload"

# 7. A valid reload adds a rule and keeps the state of the unchanged one.
write_conf ',
  { name = "cpu-any"; metric = "cpu.used_pct"; op = ">="; warn = 0.0; notify = [ "hook" ]; }'
kill -HUP "$VIGILD_PID"
wait_for 10 grep -q "configuration reloaded" "$T/vigild.log" || fail "valid reload not applied"
has_cpu_rule() { "$VIGIL" -c "$T/vigil.conf" status | grep -q "cpu-any.*WARNING"; }
wait_for 20 has_cpu_rule || fail "new rule not active after reload"
sleep 2
[ "$(count_state OK)" = 1 ] || fail "reload re-sent the recovery"

# 8. SIGTERM: clean exit, socket removed.
kill -TERM "$VIGILD_PID"
wait_for 15 sh -c "! kill -0 $VIGILD_PID" || fail "vigild ignored SIGTERM"
[ ! -e "$T/vigild.sock" ] || fail "control socket left behind"
echo "PASS: it_webhook"
