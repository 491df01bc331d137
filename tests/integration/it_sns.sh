#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# it_sns.sh: the "sns" notifier against moto_server with every signature
# checked.  SNS delivers into SQS queues subscribed to a standard and a FIFO
# topic (raw delivery off, so Subject and MessageAttributes are seen); a real
# vigild watches a process rule: one firing message with the right subject
# and attributes, then one recovery and nothing in between, on both topics
# (the FIFO one with the rule as group id and the notification id as
# deduplication id).  The FIFO topic is reached through lossy_proxy.py,
# which loses SNS's answer to the first Publish: vigild retries, and the
# same deduplication id makes SNS deliver it once.  Then a wrong secret: one clear error in the log,
# and in `vigil status` (the notifier's last error), the notification stays
# in the spool, nothing reaches SNS; the secret fixed and the config
# reloaded, it is delivered once.  No secret in the log or the status.  The
# standard topic's notifier takes its keys from the credentials section
# (credentials = "NAME"), the FIFO one has its own.
. "$(dirname "$0")/lib.sh"

start_moto "vigil-unused"
MARK="vigilsns$$"
python3 "$VIGIL_SRC/tests/integration/sns_sqs.py" setup "$MOTO_EP" "$AKID" \
	"$SECRET" >"$T/topics" || fail "cannot create the topics and queues"
read -r TOPIC QURL < <(sed -n 1p "$T/topics")
read -r FTOPIC FQURL < <(sed -n 2p "$T/topics")
[ -n "$FQURL" ] || fail "no FIFO topic: $(cat "$T/topics")"

# The FIFO notifier's way to moto: the answer to its first request is lost.
python3 "$VIGIL_SRC/tests/integration/lossy_proxy.py" --target "$MOTO_EP" \
	--port-file "$T/proxy.port" --lose 1 >"$T/proxy.log" 2>&1 &
PIDS+=($!)
wait_for 10 test -s "$T/proxy.port" || fail "lossy_proxy did not start"
PROXY_EP="http://127.0.0.1:$(cat "$T/proxy.port")"

printf '%s\n' "$SECRET" >"$T/aws.secret"
chmod 600 "$T/aws.secret"
cat >"$T/vigil.conf" <<CONF
agent = {
  state_dir = "$T/state";
  control_socket = "$T/vigild.sock";
  hostname = "sns-host";
  log_level = "debug";
};
sources = ( { type = "process"; names = [ "$MARK" ]; interval = "1s"; } );
rules = (
  { name = "marker-running"; metric = "proc.$MARK.count"; op = ">=";
    crit = 1.0; notify = [ "pager", "pagerfifo" ]; }
);
credentials = {
  sns_ops = { type = "aws"; access_key_id = "$AKID";
    secret_access_key_file = "$T/aws.secret"; };
};
notifiers = (
  { name = "pager"; type = "sns"; topic_arn = "$TOPIC";
    endpoint = "$MOTO_EP"; credentials = "sns_ops"; timeout = "5s"; },
  { name = "pagerfifo"; type = "sns"; topic_arn = "$FTOPIC";
    endpoint = "$PROXY_EP"; access_key_id = "$AKID";
    secret_access_key_file = "$T/aws.secret"; message_structure = "json";
    timeout = "5s"; }
);
CONF
"$VIGIL" -c "$T/vigil.conf" config check >/dev/null ||
	fail "config check rejected the test config"

# drain: move what the queues hold into std.log and fifo.log (JSON lines).
drain() {
	python3 "$VIGIL_SRC/tests/integration/sns_sqs.py" drain "$MOTO_EP" \
		"$AKID" "$SECRET" "$QURL" "$T/std.log" "$FQURL" "$T/fifo.log"
}
# count OUT STATE: messages in OUT whose severity attribute is STATE (the
# envelope as sns_sqs.py writes it; check() parses it properly).
count() {
	if [ -f "$1" ]; then
		grep -c "\"severity\": {\"Type\": \"String\", \"Value\": \"$2\"}" "$1" || true
	else
		echo 0
	fi
}
# got N STATE: both queues, drained, hold N messages of STATE in all.
got() {
	drain
	[ "$(count "$T/std.log" "$2")" -ge "$1" ] &&
		[ "$(count "$T/fifo.log" "$2")" -ge "$1" ]
}
# check OUT LINE STATE PREV FIFO: the LINE-th message of OUT is right.
check() {
	python3 - "$@" "$MARK" <<'PY' || fail "message $2 of $1 is wrong"
import json, sys
out, line, state, prev, fifo, mark = sys.argv[1:]
rec = json.loads(open(out).readlines()[int(line) - 1])
env = rec["envelope"]
attrs = {k: v["Value"] for k, v in env["MessageAttributes"].items()}
types = {v["Type"] for v in env["MessageAttributes"].values()}
assert attrs == {"severity": state, "rule": "marker-running",
                 "host": "sns-host"}, attrs
assert types == {"String"}, types
head = "RECOVERED" if state == "OK" else state
want = "%s: marker-running on sns-host: proc.%s.count = " % (head, mark)
assert env["Subject"].startswith(want), (env["Subject"], want)
assert len(env["Subject"]) <= 100, env["Subject"]
if fifo == "1":
    # MessageStructure=json: the "sqs" member, the notification's JSON.
    body = json.loads(env["Message"])
    assert body["state"] == state and body["previous_state"] == prev, body
    assert body["rule"] == "marker-running" and body["host"] == "sns-host"
    assert rec["group"] == "marker-running", rec
    assert rec["dedup"] == body["id"], rec
else:
    text = env["Message"]
    assert text.startswith(want), text
    assert "\nState: %s (was %s)\n" % (state, prev) in text, text
    assert "\nRule: marker-running\n" in text and "\nHost: sns-host\n" in text
    assert rec["group"] is None and rec["dedup"] is None, rec
PY
}
# within SECS CMD...: CMD until it succeeds, for SECS seconds of wall time
# (each try drains the queues, which takes a while: not wait_for's count).
within() {
	local end=$((SECONDS + $1))
	shift
	while [ "$SECONDS" -lt "$end" ]; do
		if "$@"; then return 0; fi
		sleep 0.5
	done
	return 1
}
lines() { if [ -f "$1" ]; then wc -l <"$1"; else echo 0; fi; }

start_vigild "$T/vigil.conf"

# 1. The marker is missing: no message.  It starts: one CRITICAL on each.
sleep 2
got 1 OK && fail "a message before anything fired"
[ "$(lines "$T/std.log")" = 0 ] || fail "messages before anything fired"
start_marker "$MARK"
# Moto drops a duplicate only while the first is still queued: drain the
# FIFO queue once vigild has retried the Publish whose answer was lost.
wait_for 30 grep -q "pagerfifo: delivered after 1 retries" "$T/vigild.log" ||
	fail "no retry after the lost answer"
grep -q "^lost 200" "$T/proxy.log" || fail "the proxy lost no answer: $(cat "$T/proxy.log")"
within 30 got 1 CRITICAL || fail "no CRITICAL message through SNS"
check "$T/std.log" 1 CRITICAL OK 0
check "$T/fifo.log" 1 CRITICAL OK 1

# 2. Nothing more while it keeps firing; then one recovery.
sleep 3
got 0 x
[ "$(lines "$T/std.log")" = 1 ] && [ "$(lines "$T/fifo.log")" = 1 ] ||
	fail "messages while the rule kept firing: $(lines "$T/std.log"), $(lines "$T/fifo.log")"
kill "$MARKER_PID"
within 30 got 1 OK || fail "no recovery message through SNS"
sleep 3
got 0 x
[ "$(lines "$T/std.log")" = 2 ] && [ "$(lines "$T/fifo.log")" = 2 ] ||
	fail "want 2 messages on each topic, have $(lines "$T/std.log"), $(lines "$T/fifo.log")"
check "$T/std.log" 2 OK CRITICAL 0
check "$T/fifo.log" 2 OK CRITICAL 1

# 3. A wrong secret: the next alert stays queued, with one clear error.
WRONG="wrongsecret$$abcdefgh"
printf '%s\n' "$WRONG" >"$T/aws.secret"
kill -HUP "$VIGILD_PID"
wait_for 10 grep -q "reload" "$T/vigild.log" || fail "reload not logged"
sleep 1
start_marker "$MARK"
refused() { grep -q "pager: delivery failed (sns\[pager\]: Publish to vigil-alerts: HTTP 403 SignatureDoesNotMatch: The secret access key does not match" "$T/vigild.log"; }
wait_for 30 refused || fail "no clear error for a wrong secret"
[ "$(grep -c "pager: delivery failed (sns\[pager\]" "$T/vigild.log")" = 1 ] ||
	fail "the refusal is logged more than once"
queued() { "$VIGIL" -c "$T/vigil.conf" status --json | python3 -c '
import json, sys
q = json.load(sys.stdin)["queue"]["per_notifier"]
sys.exit(0 if q["pager"] >= 1 and q["pagerfifo"] >= 1 else 1)'; }
queued || fail "the refused notification is not queued"
"$VIGIL" -c "$T/vigil.conf" status --json | python3 -c '
import json, sys
p = json.load(sys.stdin)["queue"]["notifiers"]["pager"]
assert "SignatureDoesNotMatch" in p["last_error"], p
assert p["last_error_ms"] > p["last_ok_ms"] > 0, p' || fail "the status does not show pager's last error"
"$VIGIL" -c "$T/vigil.conf" status >"$T/status.txt"
grep -q "pager .*last delivery failed .*SignatureDoesNotMatch" "$T/status.txt" ||
	fail "vigil status does not say why pager fails: $(cat "$T/status.txt")"
ls "$T/state/spool/"*.json >/dev/null 2>&1 || fail "no spool file on disk"
got 0 x
[ "$(lines "$T/std.log")" = 2 ] || fail "a message arrived with a wrong secret"

# 4. The secret fixed and reloaded: delivered once, the spool empties.
# The FIFO notifier's way to moto: the answer to its first request is lost.
python3 "$VIGIL_SRC/tests/integration/lossy_proxy.py" --target "$MOTO_EP" \
	--port-file "$T/proxy.port" --lose 1 >"$T/proxy.log" 2>&1 &
PIDS+=($!)
wait_for 10 test -s "$T/proxy.port" || fail "lossy_proxy did not start"
PROXY_EP="http://127.0.0.1:$(cat "$T/proxy.port")"

printf '%s\n' "$SECRET" >"$T/aws.secret"
kill -HUP "$VIGILD_PID"
within 30 got 2 CRITICAL || fail "the queued alert was not delivered after the fix"
sleep 3
got 0 x
[ "$(count "$T/std.log" CRITICAL)" = 2 ] && [ "$(count "$T/fifo.log" CRITICAL)" = 2 ] ||
	fail "the queued alert was delivered more than once"
check "$T/std.log" 3 CRITICAL OK 0
wait_for 10 sh -c "! ls $T/state/spool/*.json" || fail "spool not emptied after delivery"
"$VIGIL" -c "$T/vigil.conf" status --json >"$T/status.json"
python3 - "$T/status.json" <<'PY' || fail "pager's last delivery is not newer than its error"
import json, sys
p = json.load(open(sys.argv[1]))["queue"]["notifiers"]["pager"]
assert p["last_ok_ms"] > p["last_error_ms"] > 0, p
PY
"$VIGIL" -c "$T/vigil.conf" status | grep -q "last delivery failed" &&
	fail "vigil status still shows a failure after the fix"

# 5. Neither secret in the log; moto saw our key sign.
! grep -q -e "$SECRET" -e "$WRONG" "$T/vigild.log" "$T/status.json" "$T/status.txt" ||
	fail "a secret reached the log or the status"
grep -q "vigil-auth POST / $AKID" "$T/moto.log" || fail "moto did not check our signature"
echo "PASS"
