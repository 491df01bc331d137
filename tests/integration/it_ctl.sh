#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# it_ctl.sh: hostile clients of the control socket cannot lock `vigil status`
# out, make vigild spin, or stall its scheduler.
#  (a) 16, then 100, connections that never send a request: status still
#      answers, vigild stays near idle, and it closes them after its request
#      timeout;
#  (b) clients that ask for a large status and never read it: the readings
#      keep updating, status answers, and vigild drops them after its write
#      timeout.
. "$(dirname "$0")/lib.sh"

SOCK="$T/vigild.sock"
CONF="$T/vigil.conf"
CLIENTS="$VIGIL_SRC/tests/integration/ctl_clients.py"
{
	cat <<CONF
agent = { state_dir = "$T/state"; control_socket = "$SOCK"; };
sources = ( { type = "cpu"; interval = "1s"; } );
rules = (
CONF
	# Enough rules for a status answer far larger than a socket buffer.
	for i in $(seq 1 4000); do
		printf '  { name = "rule-%04d"; metric = "cpu.used_pct"; op = "<"; crit = -1.0; },\n' "$i"
	done
	echo '  { name = "last"; metric = "cpu.used_pct"; op = "<"; crit = -1.0; }'
	echo ');'
} >"$CONF"

start_vigild "$CONF"

# CPU time (user + system, clock ticks) vigild has used so far.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$VIGILD_PID/stat"; }
HZ=$(getconf CLK_TCK)
# Busy-loop detector, not a speed target: 20% of one core over 3 s.
MAX_TICKS=$((HZ * 3 / 5))

status_json() { timeout 10 "$VIGIL" -c "$CONF" status --json >"$T/st.json"; }
last_ok() {
	python3 -c 'import json, sys
st = json.load(open(sys.argv[1]))
print([s for s in st["sources"] if s["name"] == "cpu"][0]["last_ok_ms"])' "$T/st.json"
}

# The answer must be larger than what the socket buffers can take in.
status_json || fail "status does not answer"
size=$(stat -c %s "$T/st.json")
[ "$size" -gt 400000 ] || fail "status answer only $size bytes: too small for the test"

# idle_for_3s WHAT: vigild stays near idle for 3 s (a busy-loop detector).
idle_for_3s() {
	local c0 c1
	c0=$(cpu_ticks)
	sleep 3
	c1=$(cpu_ticks)
	echo "cpu: $((c1 - c0)) ticks of $((HZ * 3)) in 3 s with $1"
	[ $((c1 - c0)) -lt "$MAX_TICKS" ] ||
		fail "vigild used $((c1 - c0)) of $((HZ * 3)) clock ticks in 3 s with $1: busy loop"
}

# closed_all N WHAT: the clients of hostile() saw vigild close all N.
closed_all() {
	local closed took
	wait_for 25 test -s "$T/done" || fail "$2 still connected"
	read -r closed took <"$T/done"
	echo "closed $closed of $1 $2, the last after $took s"
	[ "$closed" = "$1" ] || fail "vigild closed only $closed of $1 $2"
}

# hostile N MODE HOLD: start N clients of kind MODE in the background.
hostile() {
	rm -f "$T/ready" "$T/done"
	python3 "$CLIENTS" "$SOCK" "$1" "$2" "$T/ready" "$T/done" "$3" \
		2>"$T/clients.err" &
	PIDS+=("$!")
	wait_for 20 test -e "$T/ready" || fail "$1 $2 clients could not connect: $(cat "$T/clients.err")"
}

# (a) Half-open clients: connected, silent.
for n in 16 100; do
	hostile "$n" silent 30
	# Ask for status meanwhile: a client waiting for a free slot is what
	# made vigild spin.
	status_json &
	st_pid=$!
	idle_for_3s "$n silent clients"
	wait "$st_pid" || fail "status does not answer with $n silent clients connected"
	closed_all "$n" "silent clients"
done

# (b) Clients that ask for the large status and never read the answer.
status_json || fail "status does not answer"
t0=$(last_ok)
hostile 8 noread 30
sleep 1		# their answers are made; now they only wait
idle_for_3s "8 clients that do not read"
status_json || fail "status does not answer while 8 clients do not read theirs"
t1=$(last_ok)
[ "$t1" -ge $((t0 + 2000)) ] ||
	fail "the scheduler stalled: the cpu reading moved from $t0 to $t1 in 3 s"
closed_all 8 "clients that do not read"
status_json || fail "status does not answer after the hostile clients"

kill -TERM "$VIGILD_PID"
wait_for 15 sh -c "! kill -0 $VIGILD_PID" || fail "vigild ignored SIGTERM"
echo "PASS: it_ctl"
