#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# it_sched.sh: the scheduler's handling of a failing source and of reloads,
# seen from the outside through a real vigild and `vigil status --json`.
#  1. A disk source watching a folder that is not mounted fails every time:
#     it is retried at a doubling interval (1 s: 2 s, 4 s, 8 s between
#     tries, measured as lower bounds only), its 1st, 2nd and 4th failures
#     are logged and the 3rd is not.
#  2. Once a tmpfs is mounted there the source works again: failures go back
#     to 0, the recovery is logged once, and it is read every second again
#     (several readings come in the time one backed-off retry would take).
#  3. A reload with an invalid configuration keeps the running sources; a
#     valid one swaps them.
# Needs root for the tmpfs (CI runs as root): if the mount is refused the
# test fails, it does not skip.
. "$(dirname "$0")/lib.sh"

MNT="$T/m"
mkdir -p "$MNT"

conf=$T/vigil.conf
# write_conf SOURCES: the daemon's configuration with the sources list SOURCES.
write_conf() {
	cat >"$conf" <<CONF
agent = { state_dir = "$T/state"; control_socket = "$T/vigild.sock"; };
sources = ( $1 );
CONF
	chmod 600 "$conf"
}
MSRC="{ name = \"m\"; type = \"disk\"; mounts = [ \"$MNT\" ]; interval = \"1s\"; }"
write_conf "$MSRC"

# field EXPR: a Python expression over the status JSON as s, printed.
field() {
	"$VIGIL" -c "$conf" status --json |
		python3 -c "import json, sys; s = json.load(sys.stdin); print($1)"
}

start_vigild "$conf"

# 1. Backoff.  Poll status and note when failures goes from k - 1 to k; the
# gap to k + 1 must be 2^k s (capped at 16 x the interval).  A try cannot
# come before its time; polling blurs each end by < 0.5 s, so only lower
# bounds are asserted.  Without backoff every gap would be 1 s.
python3 - "$VIGIL" "$conf" <<'PY' || fail "retries of source m do not back off"
import json, subprocess, sys, time
seen, prev = {}, None
end = time.monotonic() + 80
while time.monotonic() < end:
    out = subprocess.run([sys.argv[1], "-c", sys.argv[2], "status", "--json"],
                         capture_output=True, text=True).stdout
    now = time.monotonic()
    n = [x for x in json.loads(out)["sources"] if x["name"] == "m"][0]["failures"]
    if prev is not None and n == prev + 1:
        seen[n] = now
    prev = n
    gaps = [(k, seen[k + 1] - seen[k]) for k in sorted(seen) if k + 1 in seen]
    if len(gaps) >= 2:
        break
    time.sleep(0.05)
else:
    print("failure counts seen rising:", sorted(seen), file=sys.stderr)
    sys.exit(1)
bad = 0
for k, g in gaps:
    want = min(2 ** k, 16)
    print("after failure %d: next try %.2f s later, want %d" % (k, g, want))
    bad |= g < want - 0.5
sys.exit(bad)
PY
[ "$(field '[x for x in s["sources"] if x["name"] == "m"][0]["last_error"] != ""')" = True ] ||
	fail "status shows no last_error for the failing source"
for n in 1 2 4; do
	grep -q "source m: .*(failure $n in a row)" "$T/vigild.log" ||
		fail "failure $n was not logged"
done
if grep -q "(failure 3 in a row)" "$T/vigild.log"; then
	fail "failure 3 was logged: only the 1st, 2nd, 4th, 8th ... are"
fi

# 2. Recovery: the folder becomes a mount.
mount_tmpfs "$MNT" size=1m "the disk source to recover"
wait_for 40 sh -c "[ \"\$(grep -c 'source m: working again after' '$T/vigild.log')\" = 1 ]" ||
	fail "the recovery of source m was not logged"
[ "$(field '[x for x in s["sources"] if x["name"] == "m"][0]["failures"]')" = 0 ] ||
	fail "failures did not go back to 0"
[ "$(field '[x for x in s["sources"] if x["name"] == "m"][0]["last_error"]')" = "" ] ||
	fail "last_error stays after the recovery"
# Back at 1 s: readings less than 8 s apart by the daemon's own clock,
# where a backed-off retry would come 16 s later.
last_ok() { field '[x for x in s["sources"] if x["name"] == "m"][0]["last_ok_ms"]'; }
ok_moved() { [ "$(last_ok)" != "$1" ]; }
seen_ok=$(last_ok)
for i in 1 2 3 4; do
	wait_for 30 ok_moved "$seen_ok" ||
		fail "source m was not read again (reading $i after recovery)"
	now_ok=$(last_ok)
	if [ "$i" -gt 1 ] && [ $((now_ok - seen_ok)) -ge 8000 ]; then
		fail "readings $((now_ok - seen_ok)) ms apart after recovery: the interval was not restored"
	fi
	seen_ok=$now_ok
done
field '[x for x in s["sources"] if x["name"] == "m"][0]["readings"]' | grep -q "used_pct" ||
	fail "no readings from the mounted folder"

# 3. Reloads: an invalid configuration changes nothing; a valid one swaps.
write_conf "$MSRC, { name = \"bad\"; type = \"nope\"; }"
kill -HUP "$VIGILD_PID"
wait_for 20 grep -q "reload failed" "$T/vigild.log" || fail "the bad reload was not refused"
[ "$(field 's["reload_failures"]')" = 1 ] || fail "reload_failures is not 1"
[ "$(field '",".join(x["name"] for x in s["sources"])')" = m ] ||
	fail "a refused reload changed the sources"
write_conf "{ name = \"l\"; type = \"load\"; interval = \"1s\"; }"
kill -HUP "$VIGILD_PID"
wait_for 20 grep -q "configuration reloaded: 1 sources" "$T/vigild.log" ||
	fail "the good reload did not happen"
[ "$(field '",".join(x["name"] for x in s["sources"])')" = l ] ||
	fail "a good reload did not swap the sources"
[ "$(field 's["reloads"]')" = 1 ] || fail "reloads is not 1"
wait_for 20 sh -c "'$VIGIL' -c '$conf' status --json | grep -q 'load.1'" ||
	fail "the new source is not read"
kill -0 "$VIGILD_PID" 2>/dev/null || fail "vigild died"
echo "PASS: it_sched"
