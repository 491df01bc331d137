#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# it_spool_full.sh: alerts survive a full disk.  The state folder is a 2 MB
# tmpfs, filled up by a filler file, so spool files cannot be written
# (ENOSPC).  Rules fire and recover meanwhile:
#  1. receiver down, disk full: the notifications are held in memory, status
#     shows the write errors, a rule on agent.spool_write_errors fires; once
#     the filler is gone they are written to the spool, and once the receiver
#     is up every one of them arrives;
#  2. receiver up, disk full: they are delivered from memory at once.
# Every alert of the run arrives exactly once, firing before recovery, and
# nothing is dropped.  Needs root for the tmpfs (CI runs as root): if the
# mount is refused the test fails, it does not skip.
. "$(dirname "$0")/lib.sh"

STATE="$T/state"
mkdir -p "$STATE"
mount_tmpfs "$STATE" size=2m,mode=0700 "a 2 MB state folder"

MARK="vigilfull$$"
NRULES=12
PORT=$(free_port)

rules=""
for ((i = 1; i <= NRULES; i++)); do
	rules+="  { name = \"fire-$i\"; metric = \"proc.$MARK.count\"; op = \">=\";
    crit = 1.0; notify = [ \"hook\" ]; },
"
done
cat >"$T/vigil.conf" <<CONF
agent = {
  state_dir = "$STATE";
  control_socket = "$T/vigild.sock";
  hostname = "it-host";
  log_level = "debug";
};
sources = (
  { type = "process"; names = [ "$MARK" ]; interval = "1s"; }
);
rules = (
$rules  { name = "spool-health"; metric = "agent.spool_write_errors"; op = ">";
    crit = 0.0; notify = [ "hook" ]; }
);
notifiers = (
  { name = "hook"; type = "webhook"; url = "http://127.0.0.1:$PORT/alert";
    timeout = "2s"; }
);
CONF
V() { "$VIGIL" -c "$T/vigil.conf" "$@"; }

# count RULE STATE: received payloads of that rule in that state.
count() {
	python3 - "$T/recv.log" "$1" "$2" <<'PY'
import json, os, sys
n = 0
if os.path.exists(sys.argv[1]):
    for line in open(sys.argv[1]):
        b = json.loads(json.loads(line)["body"])
        n += b["rule"] == sys.argv[2] and b["state"] == sys.argv[3]
print(n)
PY
}
# all_arrived N: every fire-i rule and spool-health has N CRITICAL and N OK.
all_arrived() {
	local i
	for ((i = 1; i <= NRULES; i++)); do
		[ "$(count "fire-$i" CRITICAL)" = "$1" ] || return 1
		[ "$(count "fire-$i" OK)" = "$1" ] || return 1
	done
	[ "$(count spool-health CRITICAL)" = "$1" ] &&
		[ "$(count spool-health OK)" = "$1" ]
}
# queue KEY: a value of status --json's queue object.
queue() { V status --json | python3 -c '
import json, sys; print(json.load(sys.stdin)["queue"][sys.argv[1]])' "$1"; }
fill_disk() {
	dd if=/dev/zero of="$STATE/filler" bs=64k >/dev/null 2>&1 || true
	[ "$(df --output=avail "$STATE" | tail -1 | tr -d ' ')" = 0 ] ||
		fail "the tmpfs is not full"
}
spool_files() { find "$STATE/spool" -maxdepth 1 -name '*.json' | wc -l; }
held_at_least() { [ "$(queue unspooled)" -ge "$1" ]; }
health_is() { V status | grep -q "spool-health.*$1"; }

start_vigild "$T/vigil.conf"

# 1. Receiver down, disk full: rules fire and recover.
fill_disk
start_marker "$MARK"
wait_for 20 held_at_least "$NRULES" || fail "the alerts are not held in memory"
[ "$(queue write_errors)" -gt 0 ] || fail "status shows no write errors"
V status | grep -q "SPOOL CANNOT BE WRITTEN" || fail "status text hides the write errors"
wait_for 30 health_is CRITICAL || fail "no alert on agent.spool_write_errors"
kill "$MARKER_PID"
wait_for 20 held_at_least $((2 * NRULES + 1)) || fail "the recoveries are not held in memory"
[ "$(spool_files)" = 0 ] || fail "spool files written on a full disk?"
[ "$(queue dropped)" = 0 ] || fail "notifications dropped"
grep -q "cannot write .*No space left on device" "$T/vigild.log" ||
	fail "the write failure was not logged"

# Room again: everything held goes to disk, the health rule recovers.
rm -f "$STATE/filler"
on_disk() { [ "$(queue unspooled)" = 0 ] && [ "$(spool_files)" -ge $((2 * NRULES + 1)) ]; }
wait_for 20 on_disk || fail "held notifications not written once there was room"
[ "$(queue write_errors)" = 0 ] || fail "write errors still shown"
wait_for 30 health_is OK || fail "agent.spool_write_errors did not recover"

# The receiver comes up: all of them arrive (retry skips the backoff).
start_receiver "$T/recv.log" "$PORT"
V queue retry --all >/dev/null || fail "queue retry --all"
wait_for 60 all_arrived 1 || fail "not every alert arrived: $(wc -l <"$T/recv.log") requests"
wait_for 10 sh -c "[ \$(find $STATE/spool -maxdepth 1 -name '*.json' | wc -l) = 0 ]" ||
	fail "spool not emptied after delivery"

# 2. Receiver up, disk full: delivered from memory meanwhile.
fill_disk
start_marker "$MARK"
fired_again() { [ "$(count fire-$NRULES CRITICAL)" = 2 ] && [ "$(count fire-1 CRITICAL)" = 2 ]; }
wait_for 20 fired_again || fail "alerts not delivered while the disk is full"
[ "$(spool_files)" = 0 ] || fail "spool files written on a full disk?"
wait_for 30 health_is CRITICAL || fail "no second alert on agent.spool_write_errors"
kill "$MARKER_PID"
rm -f "$STATE/filler"
wait_for 60 all_arrived 2 || fail "not every alert arrived in part 2"

# Exactly once, firing before recovery, nothing dropped.
sleep 3
all_arrived 2 || fail "an alert arrived more than once"
python3 - "$T/recv.log" <<'PY' || fail "a recovery overtook its alert"
import json, sys
seen = {}
for line in open(sys.argv[1]):
    b = json.loads(json.loads(line)["body"])
    seen.setdefault(b["rule"], []).append(b["state"])
for rule, states in seen.items():
    assert states == ["CRITICAL", "OK", "CRITICAL", "OK"], (rule, states)
PY
[ "$(queue dropped)" = 0 ] || fail "notifications dropped"
[ "$(queue depth)" = 0 ] || fail "notifications left in the queue"
echo "PASS: it_spool_full"
