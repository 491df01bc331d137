#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# it_sms.sh: the "sms" notifier against tests/fakes/twilio_server.py, which
# checks basic auth (account SID and auth token) and records messages.  A
# real vigild watches process rules: a critical rule's firing and recovery
# arrive as one-segment texts (a summary longer than 160 characters cut
# with "..."), a warning-only rule sends nothing (not in the default
# states); a storm of firing/recovery pairs is held to the rate (4 a
# minute for the number), the excess dropped with a log line that counts
# them; a notifier with a wrong token reports Twilio's 401 clearly, and
# neither token is in the log.
. "$(dirname "$0")/lib.sh"

MARK="vigilsms$$"
SID="AC0123456789abcdef0123456789abcdef"
TOKEN="tok$$0123456789abcdef"
RULE="marker-running-$(printf 'x%.0s' $(seq 1 100))"
printf '%s\n' "$TOKEN" >"$T/twilio.token"
printf '%s\n' "wrong$$-token" >"$T/bad.token"
chmod 600 "$T/twilio.token" "$T/bad.token"

python3 "$VIGIL_SRC/tests/fakes/twilio_server.py" --port-file "$T/tw.port" \
	--log "$T/sms.log" --sid "$SID" --token "$TOKEN" \
	--mode-file "$T/tw.mode" >"$T/tw.out" 2>&1 &
PIDS+=($!)
wait_for 20 test -s "$T/tw.port" || fail "twilio_server did not start"
TW="http://127.0.0.1:$(cat "$T/tw.port")"

cat >"$T/vigil.conf" <<CONF
agent = {
  state_dir = "$T/state";
  control_socket = "$T/vigild.sock";
  hostname = "sms-host";
  log_level = "debug";
};
sources = ( { type = "process"; names = [ "$MARK" ]; interval = "1s"; } );
rules = (
  { name = "$RULE"; metric = "proc.$MARK.count"; op = ">=";
    crit = 1.0; notify = [ "phone", "badphone" ]; },
  { name = "warn-only"; metric = "proc.$MARK.count"; op = ">=";
    warn = 1.0; notify = [ "phone" ]; }
);
notifiers = (
  { name = "phone"; type = "sms"; url = "$TW"; account_sid = "$SID";
    auth_token_file = "$T/twilio.token"; from = "+15005550006";
    to = "+15551230001"; rate = "4/m"; timeout = "5s"; },
  { name = "badphone"; type = "sms"; url = "$TW"; account_sid = "$SID";
    auth_token_file = "$T/bad.token"; from = "+15005550006";
    to = "+15551230002"; timeout = "5s"; }
);
CONF
"$VIGIL" -c "$T/vigil.conf" config check >/dev/null ||
	fail "config check rejected the test config"

# texts [PREFIX]: how many texts (whose body starts with PREFIX) arrived.
texts() {
	if [ -f "$T/sms.log" ]; then
		python3 - "$T/sms.log" "${1:-}" <<'PY'
import json, sys
print(sum(json.loads(l)["body"].startswith(sys.argv[2])
          for l in open(sys.argv[1])))
PY
	else
		echo 0
	fi
}
at_least() { [ "$(texts "${2:-}")" -ge "$1" ]; }
# check LINE PREFIX: the LINE-th text went to the number, from the
# sender, and is one GSM-7 segment, cut with "...".
check() {
	python3 - "$T/sms.log" "$@" <<'PY' || fail "text $1 is wrong"
import json, sys
path, line, prefix = sys.argv[1:]
rec = json.loads(open(path).readlines()[int(line) - 1])
assert rec["to"] == "+15551230001" and rec["from"] == "+15005550006", rec
body = rec["body"]
assert body.startswith(prefix), (body, prefix)
assert len(body) == 160 and body.endswith("..."), (len(body), body)
PY
}

start_vigild "$T/vigil.conf"

# 1. Firing and recovery of the critical rule: one text each; nothing for
# the warning-only rule; badphone refused with Twilio's 401, clearly.
start_marker "$MARK"
wait_for 30 at_least 1 "CRITICAL: $RULE on sms-host" || fail "no CRITICAL text"
check 1 "CRITICAL: $RULE on sms-host"
wait_for 20 grep -q "badphone: delivery refused (HTTP 401, authentication failed (check account_sid and auth_token): Twilio error 20003: Authenticate)" \
	"$T/vigild.log" || fail "no clear report of the authentication failure"
kill "$MARKER_PID"
wait_for 30 at_least 1 "RECOVERED: $RULE" || fail "no RECOVERED text"
check 2 "RECOVERED: $RULE on sms-host"
sleep 2
[ "$(texts)" = 2 ] || fail "want 2 texts, have $(texts): $(cat "$T/sms.log")"
grep -q "sms\[phone\]: warn-only OK -> WARNING not sent (states)" \
	"$T/vigild.log" || fail "the warning was not filtered out"

# 2. A storm: four more firing/recovery pairs inside the minute.  The rate
# (4 a minute) lets two more texts through; the rest are dropped, counted.
for i in 1 2 3 4; do
	start_marker "$MARK"
	sleep 2.5
	kill "$MARKER_PID"
	sleep 2.5
done
wait_for 20 grep -q "phone: delivery refused (rate limit of 4 per 60s for +15551230001 reached: message dropped (4 dropped" \
	"$T/vigild.log" || fail "the storm was not rate-limited: $(texts) texts"
sleep 2
[ "$(texts)" = 4 ] || fail "the rate let $(texts) texts through, want 4"

# 3. No token in the log.
grep -qF -- "$TOKEN" "$T/vigild.log" && fail "the auth token is in the log"
grep -qF -- "wrong$$-token" "$T/vigild.log" && fail "the wrong token is in the log"
grep -qF -- "$(printf '%s:%s' "$SID" "$TOKEN" | base64 -w0)" "$T/vigild.log" &&
	fail "the Authorization value is in the log"
echo "PASS"
