#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# it_wakeup.sh: an idle vigild sleeps until its next deadline instead of
# waking every second, and still acts on time.  One source every 10 s and a
# rule whose "for" runs out between two readings: the rule fires when its
# "for" ends, without waiting for the next reading, and over 8 quiet
# seconds the loop wakes far less than once a second (status counts the
# loop's wake-ups in "loop_wakeups").
. "$(dirname "$0")/lib.sh"

CONF="$T/vigil.conf"
cat >"$CONF" <<CONF
agent = { state_dir = "$T/state"; control_socket = "$T/vigild.sock"; };
sources = ( { type = "memory"; interval = "10s"; } );
rules = ( { name = "held"; metric = "mem.total_bytes"; op = ">"; crit = 0.0;
            for = "3s"; notify = [ "log" ]; } );
CONF

t0=$(date +%s%N)
start_vigild "$CONF"

# status_field EXPR: evaluate EXPR on the status JSON (as "st").
status_field() {
	"$VIGIL" -c "$CONF" status --json | python3 -c '
import json, sys
st = json.load(sys.stdin)
print(eval(sys.argv[1]))' "$1"
}
critical() {
	[ "$(status_field '[r["state"] for r in st["rules"] if r["rule"] == "held"][0]')" = CRITICAL ]
}

# The first reading starts the 3 s "for"; the next reading is 10 s away.
wait_for 9 critical || fail "the rule did not fire when its for ran out"
fired_after=$((($(date +%s%N) - t0) / 1000000))
echo "rule fired ${fired_after} ms after start (for = 3s, readings every 10 s)"
[ "$fired_after" -lt 9500 ] || fail "the rule waited for the next reading"

w0=$(status_field 'st["loop_wakeups"]')
sleep 8
w1=$(status_field 'st["loop_wakeups"]')
echo "loop wake-ups in 8 s: $((w1 - w0)) (including the two status requests)"
# At most one collection, and the status requests themselves.
[ $((w1 - w0)) -le 4 ] || fail "the loop woke $((w1 - w0)) times in 8 idle seconds"

kill -TERM "$VIGILD_PID"
wait_for 15 sh -c "! kill -0 $VIGILD_PID" || fail "vigild ignored SIGTERM"
echo "PASS: it_wakeup"
