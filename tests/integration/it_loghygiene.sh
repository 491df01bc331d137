#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# it_loghygiene.sh: a receiver that refuses alerts with a 400 whose body
# echoes the request (its URL with ?token=..., and every header) cannot put
# a secret into vigild's log or into `vigil status --json`: not the URL's
# token, not the webhook secret, not a custom header's value.  The refusal
# itself is logged, as one line.
. "$(dirname "$0")/lib.sh"

MARK="vigilhyg$$"
TOKEN="urltok-SECRET-$$"
HDR="hdr-SECRET-$$"
SIG="sig-SECRET-$$"
printf '%s\n' "$SIG" >"$T/hook.secret"
chmod 600 "$T/hook.secret"
start_receiver "$T/recv.log" 0 --status 400 --echo
start_marker "$MARK"

cat >"$T/vigil.conf" <<CONF
agent = {
  state_dir = "$T/state";
  control_socket = "$T/vigild.sock";
  hostname = "it-host";
  log_level = "debug";
};
sources = ( { type = "process"; names = [ "$MARK" ]; interval = "1s"; } );
rules = (
  { name = "marker-running"; metric = "proc.$MARK.count"; op = ">=";
    crit = 1.0; notify = [ "hook" ]; }
);
notifiers = (
  { name = "hook"; type = "webhook";
    url = "http://127.0.0.1:$RECV_PORT/alert?token=$TOKEN";
    secret_file = "$T/hook.secret";
    headers = { Authorization = "Bearer $HDR"; X-Team = "team-$HDR"; }; }
);
CONF
chmod 600 "$T/vigil.conf"

start_vigild "$T/vigil.conf"
wait_for 20 grep -q "delivery refused" "$T/vigild.log" || fail "the refusal was not logged"
# The receiver did get (and echo) the secrets: the test means something.
grep -q "$TOKEN" "$T/recv.log" || fail "the receiver never saw the token"
"$VIGIL" -c "$T/vigil.conf" status --json >"$T/status.json" || fail "status failed"
kill -TERM "$VIGILD_PID"
wait_for 15 sh -c "! kill -0 $VIGILD_PID" || fail "vigild did not stop"

grep "delivery refused" "$T/vigild.log" | grep -q "HTTP 400: bad request: POST /alert?token=REDACTED" ||
	fail "the refusal does not show the redacted answer"
for s in "$TOKEN" "$HDR" "$SIG"; do
	if grep -q -- "$s" "$T/vigild.log"; then
		grep -n -- "$s" "$T/vigild.log" >&2
		fail "vigild.log holds a secret ($s)"
	fi
	if grep -q -- "$s" "$T/status.json"; then
		fail "vigil status --json holds a secret ($s)"
	fi
done
# The echoed header block shows names, not values.
grep "delivery refused" "$T/vigild.log" | grep -q "X-Vigil-Id: REDACTED" ||
	fail "header values of the echo are not redacted"
echo "PASS: it_loghygiene"
