#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# it_history.sh: the metric history of a running vigild (agent/history.c),
# through the API and `vigil status`: a cap of 200 KiB keeps 5 of the 7
# series (the load source's 6, agent.spool_write_errors) and counts the 2
# refused; the history is saved at
# SIGTERM and the charts survive a restart (the points from before are
# answered again, beside new ones); a save is due every save_interval; a
# damaged history.bin is set aside as history.bin.bad with one warning and
# the daemon starts with an empty history.
. "$(dirname "$0")/lib.sh"

PORT=$(free_port)
URL=http://127.0.0.1:$PORT
cat >"$T/vigil.conf" <<CONF
agent = { state_dir = "$T/state"; control_socket = "$T/vigild.sock";
  log_level = "info"; };
http = { listen = "127.0.0.1:$PORT"; tokens_file = "$T/tokens";
  history = { memory_max = "200KiB"; save_interval = "10s"; }; };
sources = ( { type = "load"; name = "ld"; interval = "1s"; } );
CONF
chmod 600 "$T/vigil.conf"
"$VIGIL" token add viewer --role read --file "$T/tokens" >"$T/read.tok" 2>/dev/null
READ=$(cat "$T/read.tok")
H="Authorization: Bearer $READ"
HB=$T/state/history.bin

# api PATH: GET with the read token into $T/body; fails on anything but 200.
api() {
	curl -sf -o "$T/body" -H "$H" "$URL$1" || fail "GET $1 failed"
}
# status_history: the history part of `vigil status --json`.
status_history() {
	"$VIGIL" -c "$T/vigil.conf" --json status | jq -c .history
}
stop() {
	kill -TERM "$VIGILD_PID"
	wait "$VIGILD_PID" || fail "vigild exited with $?"
}

start_vigild "$T/vigil.conf"
wait_for 10 sh -c "curl -s -H '$H' $URL/api/v1/series | jq -e '.series | length == 5' >/dev/null" ||
	fail "no 5 series in the history: $(curl -s -H "$H" "$URL/api/v1/series")"
status_history | jq -e '.series == 5 and .dropped == 2 and .bytes <= .bytes_max and
	.bytes_max == 204800' >/dev/null || fail "status: $(status_history)"
"$VIGIL" -c "$T/vigil.conf" status | grep -q '5 series, .* of 0.2 MiB, 2 refused by the cap' ||
	fail "vigil status: $("$VIGIL" -c "$T/vigil.conf" status | tail -3)"
# Three 10 s slots or so of load.1 (1 s readings, averaged per slot).
sleep 21
api "/api/v1/history?series=load.1&from=-1h&to=now"
jq -e '.step_ms == 10000 and (.points | length) >= 2' "$T/body" >/dev/null ||
	fail "history before: $(cat "$T/body")"
first=$(jq '.points[0][0]' "$T/body")
# A save was due at 10 s.
[ -s "$HB" ] || fail "no history.bin after its save interval"
status_history | jq -e '.saved_ms > 0 and .last_error == null' >/dev/null ||
	fail "status after a save: $(status_history)"

# The one written at SIGTERM, then.
rm "$HB"
stop
[ -s "$HB" ] || fail "no history.bin after SIGTERM"
start_vigild "$T/vigil.conf"
api "/api/v1/history?series=load.1&from=-1h&to=now"
jq -e --argjson f "$first" '.points[0][0] == $f' "$T/body" >/dev/null ||
	fail "the points from before the restart are gone: $(cat "$T/body") (first was $first)"
wait_for 15 sh -c "curl -s -H '$H' '$URL/api/v1/history?series=load.1&from=-1h&to=now' |
	jq -e '.points | length >= 4' >/dev/null" || fail "no new points after the restart"
grep -q 'set aside' "$T/vigild.log" && fail "a good history.bin was set aside"

stop
printf 'not a history' | dd of="$HB" bs=1 seek=20 conv=notrunc 2>/dev/null
start_vigild "$T/vigil.conf"
[ -f "$HB.bad" ] || fail "the damaged history.bin was not set aside"
[ "$(grep -c 'history.bin is damaged' "$T/vigild.log")" = 1 ] ||
	fail "not one warning: $(grep history "$T/vigild.log")"
api "/api/v1/history?series=load.1&from=-1h&to=now"
jq -e --argjson f "$first" '(.points | length == 0) or (.points[0][0] > $f)' "$T/body" >/dev/null ||
	fail "points of the damaged file were read: $(cat "$T/body")"
stop
echo "it_history: cap, save, restart, damaged file: ok"
