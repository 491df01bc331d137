#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# it_pubsub.sh: the "pubsub" notifier.  A real vigild watches a process
# rule and publishes to
#  - tests/fakes/pubsub_server.py, a fake Pub/Sub that checks the bearer
#    tokens it issued: from its token endpoint for a service-account key
#    (the RS256 assertion checked with the key's public half, scope
#    included) for "pipeline" (ordering on), from its metadata server for
#    "pipemeta" (topic given as project + id);
#  - "wrongtopic", a topic the fake does not have: dropped, with Google's
#    message in the log;
#  - the Pub/Sub emulator of the Google Cloud SDK (auth = "none", the
#    endpoint from PUBSUB_EMULATOR_HOST), where installed: topic and
#    subscription (message ordering on) made with curl, messages pulled.
# One firing message and one recovery on each, with the attributes
# severity, rule, host, metric and id, the ordering key "<rule>/<series>"
# where ordering is on, and data that decodes to the notification's JSON.
# Then every token expired, then one refused while valid, then Pub/Sub
# unavailable twice: each retried (a new token fetched after a 401) and
# delivered once.  No token in the log.  Without the emulator (or java)
# the fake's part runs and the test ends in SKIP (77); VIGIL_PUBSUB_EMULATOR
# names another emulator launcher.
. "$(dirname "$0")/lib.sh"

command -v openssl >/dev/null || skip "no openssl command"
EMU=${VIGIL_PUBSUB_EMULATOR:-/usr/lib/google-cloud-sdk/platform/pubsub-emulator/bin/cloud-pubsub-emulator}
HAVE_EMU=0
if [ -x "$EMU" ] && command -v java >/dev/null; then HAVE_EMU=1; fi
MARK="vigilps$$"
TOPIC=projects/vigil-it/topics/vigil-alerts

# The emulator takes seconds to start (java): first.
if [ "$HAVE_EMU" = 1 ]; then
	EPORT=$(free_port)
	"$EMU" --host=127.0.0.1 --port="$EPORT" >"$T/emulator.log" 2>&1 &
	PIDS+=($!)
	EMU_PID=$!
fi

make_gcs_sa "$T/sa.json"
python3 "$VIGIL_SRC/tests/fakes/pubsub_server.py" --sa "$T/sa.json" \
	--topic "$TOPIC" --log "$T/fake.log" --port-file "$T/ps.port" \
	2>"$T/ps.err" &
PIDS+=($!)
wait_for 10 test -s "$T/ps.port" || fail "the fake Pub/Sub did not start: $(cat "$T/ps.err")"
EP="http://127.0.0.1:$(cat "$T/ps.port")"
ctl() { curl -sf -X POST --data "$1" "$EP/_ctl" >/dev/null; }
stat_of() { curl -sf "$EP/_stats" | python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }

EMU_NOTIFIER=
if [ "$HAVE_EMU" = 1 ]; then
	EB="http://127.0.0.1:$EPORT/v1/projects/vigil-it"
	wait_for 60 curl -s -o /dev/null "http://127.0.0.1:$EPORT/" ||
		fail "the Pub/Sub emulator did not start: $(tail -5 "$T/emulator.log")"
	curl -sf -X PUT "$EB/topics/vigil-alerts" >/dev/null ||
		fail "cannot create the emulator's topic"
	curl -sf -X PUT -H 'Content-Type: application/json' \
		-d '{"topic": "projects/vigil-it/topics/vigil-alerts", "enableMessageOrdering": true}' \
		"$EB/subscriptions/vigil-sub" >/dev/null ||
		fail "cannot create the emulator's subscription"
	export PUBSUB_EMULATOR_HOST="127.0.0.1:$EPORT"
	EMU_NOTIFIER=', "emulator"'
fi

cat >"$T/vigil.conf" <<CONF
agent = {
  state_dir = "$T/state";
  control_socket = "$T/vigild.sock";
  hostname = "ps-host";
  log_level = "debug";
};
sources = ( { type = "process"; names = [ "$MARK" ]; interval = "1s"; } );
rules = (
  { name = "marker-running"; metric = "proc.$MARK.count"; op = ">=";
    crit = 1.0; notify = [ "pipeline", "pipemeta", "wrongtopic"$EMU_NOTIFIER ]; }
);
notifiers = (
  { name = "pipeline"; type = "pubsub"; topic = "$TOPIC"; ordering = true;
    endpoint = "$EP"; credentials_file = "$T/sa.json";
    token_uri = "$EP/token"; timeout = "5s"; },
  { name = "pipemeta"; type = "pubsub"; project = "vigil-it";
    topic = "vigil-alerts"; endpoint = "$EP";
    metadata_host = "127.0.0.1:${EP##*:}"; timeout = "5s"; },
  { name = "wrongtopic"; type = "pubsub";
    topic = "projects/vigil-it/topics/no-such-topic"; endpoint = "$EP";
    credentials_file = "$T/sa.json"; token_uri = "$EP/token"; }
$([ "$HAVE_EMU" = 1 ] && echo ', { name = "emulator"; type = "pubsub"; topic = "'"$TOPIC"'"; auth = "none"; ordering = true; }')
);
CONF
"$VIGIL" -c "$T/vigil.conf" config check >"$T/check.out" 2>&1 ||
	fail "config check rejected the test config: $(cat "$T/check.out")"

# n_of STATE [TOKEN-PREFIX]: messages the fake recorded with severity STATE
# (and a token starting with TOKEN-PREFIX).
n_of() {
	python3 - "$T/fake.log" "$1" "${2:-}" <<'PY'
import json, os, sys
log, state, pre = sys.argv[1:]
n = 0
if os.path.exists(log):
    for l in open(log):
        r = json.loads(l)
        n += r["attributes"]["severity"] == state and r["token"].startswith(pre)
print(n)
PY
}
# check_msgs FILE STATES...: the messages of FILE (JSON lines of data,
# attributes, orderingKey) are the notifications STATES in that order,
# each right; ORDERED=1: with the ordering key.
check_msgs() {
	python3 - "$MARK" "$ORDERED" "$@" <<'PY' || fail "wrong messages in $1"
import json, sys
mark, ordered, path = sys.argv[1:4]
states = sys.argv[4:]
recs = [json.loads(l) for l in open(path)]
assert len(recs) == len(states), (len(recs), states)
prev = "OK"
for r, state in zip(recs, states):
    n = json.loads(r["data"])
    metric = "proc.%s.count" % mark
    assert n["state"] == state and n["previous_state"] == prev, n
    assert n["rule"] == "marker-running" and n["host"] == "ps-host", n
    assert n["metric"] == metric, n
    want = {"severity": state, "rule": "marker-running", "host": "ps-host",
            "metric": metric, "id": n["id"]}
    assert r["attributes"] == want, (r["attributes"], want)
    key = "marker-running/" + metric if ordered == "1" else ""
    assert r.get("orderingKey", "") == key, r
    prev = state
PY
}
# split PREFIX OUT: the fake's messages published with tokens PREFIX*.
split() {
	python3 - "$T/fake.log" "$1" >"$2" <<'PY'
import json, sys
for l in open(sys.argv[1]):
    if json.loads(l)["token"].startswith(sys.argv[2]):
        sys.stdout.write(l)
PY
}
# pull: what the emulator's subscription holds, acknowledged, appended to
# $T/emu.log as the fake writes them.
pull() {
	curl -sf -X POST -H 'Content-Type: application/json' \
		-d '{"maxMessages": 10, "returnImmediately": true}' \
		"$EB/subscriptions/vigil-sub:pull" >"$T/pull.json" || return 1
	python3 - "$T/pull.json" "$T/emu.log" "$T/ack.json" <<'PY'
import base64, json, sys
got = json.load(open(sys.argv[1])).get("receivedMessages", [])
with open(sys.argv[2], "a") as f:
    for m in got:
        msg = m["message"]
        f.write(json.dumps({"data": base64.b64decode(msg["data"]).decode(),
                            "attributes": msg.get("attributes", {}),
                            "orderingKey": msg.get("orderingKey", "")}) + "\n")
json.dump({"ackIds": [m["ackId"] for m in got]}, open(sys.argv[3], "w"))
PY
	grep -q '"ackIds": \[\]' "$T/ack.json" ||
		curl -sf -X POST -H 'Content-Type: application/json' -d @"$T/ack.json" \
			"$EB/subscriptions/vigil-sub:acknowledge" >/dev/null
}
emu_count() { pull; if [ -f "$T/emu.log" ]; then wc -l <"$T/emu.log"; else echo 0; fi; }
# has_n N STATE PREFIX: the fake recorded at least N such messages.
has_n() { [ "$(n_of "$2" "$3")" -ge "$1" ]; }
emu_has() { [ "$(emu_count)" -ge "$1" ]; }
# tokens SA META: the fake issued that many tokens of each kind.
tokens() {
	[ "$(stat_of tokens)" = "$1" ] && [ "$(stat_of metadata_tokens)" = "$2" ] ||
		fail "${3:-tokens}: issued $(curl -s "$EP/_stats"), want $1 and $2"
}

start_vigild "$T/vigil.conf"

# 1. Firing, then recovered: on the fake, through both links of the chain.
sleep 2
[ "$(n_of CRITICAL)" = 0 ] || fail "a message before anything fired"
start_marker "$MARK"
wait_for 30 has_n 1 CRITICAL ya29.sa- || fail "no CRITICAL through the service account's token"
wait_for 30 has_n 1 CRITICAL ya29.meta- || fail "no CRITICAL through the metadata server's token"
kill "$MARKER_PID"
wait_for 30 has_n 1 OK ya29.sa- || fail "no recovery through the service account's token"
wait_for 30 has_n 1 OK ya29.meta- || fail "no recovery through the metadata server's token"
split ya29.sa- "$T/sa.log"
split ya29.meta- "$T/meta.log"
ORDERED=1 check_msgs "$T/sa.log" CRITICAL OK
ORDERED=0 check_msgs "$T/meta.log" CRITICAL OK
# The missing topic: dropped, said clearly, not retried.
wrong_n() { [ "$(grep -c 'wrongtopic: delivery refused' "$T/vigild.log")" = "$1" ]; }
wait_for 10 wrong_n 2 ||
	fail "the missing topic's messages were not dropped once each"
grep -q 'wrongtopic: delivery refused (pubsub\[wrongtopic\]: publish to no-such-topic: HTTP 404 NOT_FOUND: no such topic: fix topic (and project). Pub/Sub says: Resource not found (resource=no-such-topic).), dropped' "$T/vigild.log" ||
	fail "no clear drop for a missing topic"
# One token each for pipeline and wrongtopic, one from the metadata server.
tokens 2 1 "tokens not cached"

# 2. Every token expired: the 401 drops it, a new one is fetched, the
# message delivered once.
ctl '{"expire": true}'
start_marker "$MARK"
wait_for 30 has_n 2 CRITICAL ya29.sa- || fail "no CRITICAL after the tokens expired"
wait_for 30 has_n 2 CRITICAL ya29.meta- || fail "no CRITICAL (metadata) after the tokens expired"
tokens 4 2 "expired tokens not replaced once"
[ "$(stat_of unauthorized)" -ge 2 ] || fail "the fake refused no expired token"
grep -q 'pipeline: delivery failed (pubsub\[pipeline\]: publish to vigil-alerts: HTTP 401 UNAUTHENTICATED: the token was refused: a new one is fetched' "$T/vigild.log" ||
	fail "the refused token is not reported"
grep -q "pipeline: delivered after 1 retries" "$T/vigild.log" || fail "no retry after the 401"

# 3. A token refused while still valid, then Pub/Sub unavailable twice:
# retried until delivered, once.
ctl '{"refuse": 1, "unavailable": 2}'
kill "$MARKER_PID"
wait_for 40 has_n 2 OK ya29.sa- || fail "no recovery after the refusal"
wait_for 40 has_n 2 OK ya29.meta- || fail "no recovery (metadata) after the refusal"
[ "$(stat_of refused)" = 1 ] && [ "$(stat_of unavailable)" = 2 ] ||
	fail "the faults did not fire: $(curl -s "$EP/_stats")"
[ "$(($(stat_of tokens) + $(stat_of metadata_tokens)))" = 7 ] ||
	fail "the refused token was not replaced (once): $(curl -s "$EP/_stats")"
grep -q 'delivery failed (pubsub\[pipe[a-z]*\]: publish to vigil-alerts: HTTP 503 UNAVAILABLE: The service is currently unavailable.)' "$T/vigild.log" ||
	fail "no retry on UNAVAILABLE"
sleep 2
split ya29.sa- "$T/sa.log"
split ya29.meta- "$T/meta.log"
ORDERED=1 check_msgs "$T/sa.log" CRITICAL OK CRITICAL OK
ORDERED=0 check_msgs "$T/meta.log" CRITICAL OK CRITICAL OK
[ "$(stat_of published)" = 8 ] || fail "published $(stat_of published) messages, want 8"
wait_for 10 sh -c "! ls $T/state/spool/*.json" || fail "spool not emptied after delivery"

# 4. No token in the log.
! grep -q 'ya29\.' "$T/vigild.log" || fail "a token reached vigild's log"

# 5. The emulator: the same four notifications, in order, from a real
# Pub/Sub implementation.
if [ "$HAVE_EMU" = 1 ]; then
	wait_for 30 emu_has 4 ||
		fail "the emulator holds $(emu_count) messages, want 4"
	sleep 1
	pull
	ORDERED=1 check_msgs "$T/emu.log" CRITICAL OK CRITICAL OK
	echo "PASS (the fake and the Pub/Sub emulator)"
	exit 0
fi
echo "the fake's part passed; no Pub/Sub emulator (or java) here"
skip "the Pub/Sub emulator is not installed: its part did not run"
