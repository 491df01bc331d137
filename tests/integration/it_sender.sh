#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# it_sender.sh: one bad receiver cannot stall the others, and cannot hold up
# a stop.  Two receivers: "hang" reads each request and never answers
# (notifier timeout 60 s), "ok" answers 200.  While the request to "hang" is
# in flight, "ok" gets the alert and the later recovery promptly; "hang"'s
# entries stay queued.  SIGTERM stops vigild within the flush time (not the
# 60 s timeout) with both entries still spooled; after a restart with a
# healthy receiver on that port they arrive, firing before recovered, with
# the ids the hanging receiver saw first.  The deadlines are bounds (a
# blocking sender takes 60 s), not speed measurements.
. "$(dirname "$0")/lib.sh"

MARK="vigilsend$$"
start_receiver "$T/hang.log" 0 --hang
HANG_PID=$RECV_PID
HANG_PORT=$RECV_PORT
start_receiver "$T/ok.log"
OK_PORT=$RECV_PORT
start_marker "$MARK"

cat >"$T/vigil.conf" <<CONF
agent = {
  state_dir = "$T/state";
  control_socket = "$T/vigild.sock";
  hostname = "it-host";
};
sources = ( { type = "process"; names = [ "$MARK" ]; interval = "1s"; } );
rules = (
  { name = "marker-running"; metric = "proc.$MARK.count"; op = ">=";
    crit = 1.0; clear = 0.5; notify = [ "hang", "ok" ]; }
);
notifiers = (
  { name = "hang"; type = "webhook"; url = "http://127.0.0.1:$HANG_PORT/h";
    timeout = "60s"; },
  { name = "ok"; type = "webhook"; url = "http://127.0.0.1:$OK_PORT/o";
    timeout = "60s"; }
);
CONF

has() { [ "$(count_received "$1" "$2")" -ge 1 ]; }
ms() { date +%s%3N; }

start_vigild "$T/vigil.conf"

# 1. The firing alert: "hang" holds its request, "ok" gets it all the same.
wait_for 20 has "$T/hang.log" CRITICAL || fail "the hanging receiver got no request"
t0=$(ms)
wait_for 2 has "$T/ok.log" CRITICAL ||
	fail "ok got no alert within 2 s of the hanging request"
echo "ok got the alert $(($(ms) - t0)) ms after hang got its request"

# 2. The recovery, made while the request to "hang" is in flight: "ok" gets
# it within 2 s of vigild spooling it; "hang" keeps both entries queued.
kill "$MARKER_PID"
spooled_recovery() { grep -l '"state":"OK"' "$T"/state/spool/*.json >/dev/null 2>&1; }
wait_for 20 spooled_recovery || fail "the recovery was not spooled"
wait_for 2 has "$T/ok.log" OK || fail "ok got no recovery within 2 s"
[ "$(count_received "$T/ok.log" CRITICAL)" = 1 ] || fail "ok got the alert more than once"
[ "$(count_received "$T/hang.log" OK)" = 0 ] || fail "the recovery overtook the firing alert"
queue() {	# queue NOTIFIER: its depth in vigil status --json
	"$VIGIL" -c "$T/vigil.conf" status --json | python3 -c '
import json, sys; print(json.load(sys.stdin)["queue"]["per_notifier"][sys.argv[1]])' "$1"
}
[ "$(queue hang)" = 2 ] || fail "hang's queue is $(queue hang), want 2"
[ "$(queue ok)" = 0 ] || fail "ok's queue is $(queue ok), want 0"

# 3. SIGTERM while the request to "hang" hangs (timeout 60 s): vigild stops
# within the flush time and both entries stay spooled.
t0=$(ms)
kill -TERM "$VIGILD_PID"
wait_for 15 sh -c "! kill -0 $VIGILD_PID" || fail "vigild took over 15 s to stop"
echo "vigild stopped $(($(ms) - t0)) ms after SIGTERM"
grep -q "request cancelled, the notification stays queued" "$T/vigild.log" ||
	fail "no word about the cancelled request"
[ "$(ls "$T"/state/spool/*.json | wc -l)" = 2 ] || fail "the spool does not hold hang's 2 entries"

# 4. Restart with a healthy receiver on hang's port: both arrive, in order,
# with the id the hanging receiver saw.
kill -9 "$HANG_PID"
wait "$HANG_PID" 2>/dev/null || true	# its port must be free again
start_receiver "$T/hang2.log" "$HANG_PORT"
start_vigild "$T/vigil.conf"
wait_for 30 has "$T/hang2.log" OK || fail "the kept recovery never arrived"
python3 - "$T/hang.log" "$T/hang2.log" <<'PY' || fail "kept entries arrived wrong"
import json, sys
first = [json.loads(json.loads(l)["body"]) for l in open(sys.argv[1])]
got = [json.loads(json.loads(l)["body"]) for l in open(sys.argv[2])]
states = [b["state"] for b in got]
assert states == ["CRITICAL", "OK"], states
assert got[0]["id"] == first[0]["id"], (got[0]["id"], first[0]["id"])
PY
wait_for 10 sh -c "! ls $T/state/spool/*.json" || fail "spool not emptied after delivery"
echo "PASS: it_sender"
