#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# it_notifhubs.sh: the "notification_hubs" notifier against
# tests/fakes/notifhub_server.py, a fake hub that checks each request's
# Service Bus SAS token against the connection string (audience, key name,
# HMAC, expiry) and records what it received.  A real vigild watches a
# process rule: one firing and one recovery on each of "phones" (template,
# tags from the rule), "android" (fcmv1, tags with host and severity) and
# "ios" (apple, a payload of its own), with the right format, tags, APNs
# headers and bodies; a 503 on the way is retried.  Then a wrong key: one
# clear error in the log, the notification kept in the spool, nothing
# received; the key fixed and the config reloaded, it is delivered once.
# No key in the log.
. "$(dirname "$0")/lib.sh"

MARK="vigilnh$$"
KEY=$(head -c 32 /dev/urandom | base64)
WRONG=$(head -c 32 /dev/urandom | base64)
conn() {
	printf 'Endpoint=sb://vigil-it.servicebus.windows.net/;SharedAccessKeyName=DefaultFullSharedAccessSignature;SharedAccessKey=%s\n' "$1"
}
conn "$KEY" >"$T/hub.conn"
conn "$KEY" >"$T/vigil.conn"
chmod 600 "$T/hub.conn" "$T/vigil.conn"

python3 "$VIGIL_SRC/tests/fakes/notifhub_server.py" --conn-file "$T/hub.conn" \
	--hub vigil-hub --log "$T/hub.log" --port-file "$T/nh.port" 2>"$T/nh.err" &
PIDS+=($!)
wait_for 10 test -s "$T/nh.port" || fail "the fake hub did not start: $(cat "$T/nh.err")"
EP="http://127.0.0.1:$(cat "$T/nh.port")"
ctl() { curl -sf -X POST --data "$1" "$EP/_ctl" >/dev/null; }
stat_of() { curl -sf "$EP/_stats" | python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }

cat >"$T/vigil.conf" <<CONF
agent = {
  state_dir = "$T/state";
  control_socket = "$T/vigild.sock";
  hostname = "nh-host";
  log_level = "debug";
};
sources = ( { type = "process"; names = [ "$MARK" ]; interval = "1s"; } );
rules = (
  { name = "marker-running"; metric = "proc.$MARK.count"; op = ">=";
    crit = 1.0; notify = [ "phones", "android", "ios" ]; }
);
notifiers = (
  { name = "phones"; type = "notification_hubs"; hub = "vigil-hub";
    connection_string_file = "$T/vigil.conn"; endpoint = "$EP";
    tags = "oncall && rule:\${rule}"; timeout = "5s"; },
  { name = "android"; type = "notification_hubs"; hub = "vigil-hub";
    connection_string_file = "$T/vigil.conn"; endpoint = "$EP";
    format = "fcmv1"; tags = "host:\${host} || sev:\${severity}"; },
  { name = "ios"; type = "notification_hubs"; hub = "vigil-hub";
    connection_string_file = "$T/vigil.conn"; endpoint = "$EP";
    format = "apple";
    payload = "{\"aps\": {\"alert\": \"\${summary}\"}, \"state\": \"\${state}\", \"value\": \${value}}"; }
);
CONF
"$VIGIL" -c "$T/vigil.conf" config check >"$T/check.out" 2>&1 ||
	fail "config check rejected the test config: $(cat "$T/check.out")"

# n_of FORMAT STATE: notifications of FORMAT for STATE the hub received.
n_of() {
	python3 - "$T/hub.log" "$1" "$2" <<'PY'
import json, os, sys
log, fmt, state = sys.argv[1:]
n = 0
if os.path.exists(log):
    for l in open(log):
        r = json.loads(l)
        b = r["body"]
        s = {"template": lambda: b["state"],
             "fcmv1": lambda: b["message"]["data"]["state"],
             "apple": lambda: b["state"]}[r["format"]]()
        n += r["format"] == fmt and s == state
print(n)
PY
}
has_n() { [ "$(n_of "$2" "$3")" -ge "$1" ]; }
all_have() { has_n "$1" template "$2" && has_n "$1" fcmv1 "$2" && has_n "$1" apple "$2"; }
# check STATES...: the hub's notifications are, per format, STATES in order.
check() {
	python3 - "$T/hub.log" "$MARK" "$@" <<'PY' || fail "wrong notifications: $(cat "$T/hub.log")"
import json, sys
log, mark = sys.argv[1:3]
states = sys.argv[3:]
recs = [json.loads(l) for l in open(log)]
metric = "proc.%s.count" % mark
for fmt in ("template", "fcmv1", "apple"):
    got = [r for r in recs if r["format"] == fmt]
    assert len(got) == len(states), (fmt, len(got), states)
    prev = "OK"
    for r, st in zip(got, states):
        b = r["body"]
        assert r["content_type"] == "application/json;charset=utf-8", r
        head = "RECOVERED" if st == "OK" else st
        title = "%s: marker-running on nh-host" % head
        if fmt == "template":
            assert r["tags"] == "oncall && rule:marker-running", r
            assert r["apns"] == {}, r
            assert b["title"] == title and b["body"].startswith(title), b
            assert b["state"] == st and b["previous_state"] == prev, b
            assert b["rule"] == "marker-running" and b["host"] == "nh-host"
            assert b["metric"] == metric, b
            # A recovery keeps the severity it fired with.
            assert b["severity"] == "critical", b
            assert b["value"] == ("1" if st != "OK" else "0"), b
        elif fmt == "fcmv1":
            assert r["tags"] == "host:nh-host || sev:critical", r
            m = b["message"]
            assert m["notification"]["title"] == title, m
            assert m["data"]["state"] == st and m["data"]["rule"] == \
                "marker-running", m
        else:
            assert r["tags"] is None, r
            assert r["apns"] == {"apns-push-type": "alert",
                                 "apns-priority": "10"}, r
            assert b["aps"]["alert"].startswith(title + ": " + metric), b
            assert b["state"] == st and b["value"] == (1 if st != "OK" else 0)
        prev = st
PY
}

start_vigild "$T/vigil.conf"

# 1. Firing, then (a 503 on the way) recovered, on each.
sleep 2
[ "$(stat_of sent)" = 0 ] || fail "a notification before anything fired"
start_marker "$MARK"
wait_for 30 all_have 1 CRITICAL || fail "no CRITICAL on each: $(cat "$T/hub.log" 2>/dev/null)"
ctl '{"unavailable": 1}'
kill "$MARKER_PID"
wait_for 30 all_have 1 OK || fail "no recovery on each"
[ "$(stat_of unavailable)" = 1 ] || fail "the 503 did not fire"
grep -q 'delivery failed (notification_hubs\[[a-z]*\]: send to vigil-hub: HTTP 503: The service is unavailable' "$T/vigild.log" ||
	fail "the 503 is not reported"
sleep 2
check CRITICAL OK
[ "$(stat_of sent)" = 6 ] && [ "$(stat_of unauthorized)" = 0 ] ||
	fail "want 6 sent and none refused: $(curl -s "$EP/_stats")"

# 2. A wrong key: the next alert stays queued, with one clear error.
conn "$WRONG" >"$T/vigil.conn"
kill -HUP "$VIGILD_PID"
wait_for 10 grep -q "reload" "$T/vigild.log" || fail "reload not logged"
sleep 1
start_marker "$MARK"
refused() { grep -q "phones: delivery failed (notification_hubs\[phones\]: send to vigil-hub: HTTP 401: the SAS token was refused: fix the connection string (key name, key, a policy with Send) or the clock. The hub says: InvalidSignature: The token has an invalid signature" "$T/vigild.log"; }
wait_for 30 refused || fail "no clear error for a wrong key"
[ "$(grep -c "phones: delivery failed (notification_hubs\[phones\]: send to vigil-hub: HTTP 401" "$T/vigild.log")" = 1 ] ||
	fail "the refusal is logged more than once"
queued() { "$VIGIL" -c "$T/vigil.conf" status --json | python3 -c '
import json, sys
q = json.load(sys.stdin)["queue"]["per_notifier"]
sys.exit(0 if all(q[k] >= 1 for k in ("phones", "android", "ios")) else 1)'; }
queued || fail "the refused notification is not queued"
[ "$(stat_of sent)" = 6 ] || fail "a notification was accepted with a wrong key"
[ "$(stat_of unauthorized)" -ge 3 ] || fail "the hub refused nothing"

# 3. The key fixed and reloaded: delivered once each, the spool empties.
conn "$KEY" >"$T/vigil.conn"
kill -HUP "$VIGILD_PID"
wait_for 30 all_have 2 CRITICAL || fail "the queued alert was not delivered after the fix"
kill "$MARKER_PID"
wait_for 30 all_have 2 OK || fail "no recovery after the fix"
sleep 2
check CRITICAL OK CRITICAL OK
wait_for 10 sh -c "! ls $T/state/spool/*.json" || fail "spool not emptied after delivery"

# 4. No key in the log.
! grep -q -e "$KEY" -e "$WRONG" "$T/vigild.log" || fail "a key reached the log"
! grep -q "SharedAccessSignature sr" "$T/vigild.log" || fail "a SAS token reached the log"
echo "PASS"
