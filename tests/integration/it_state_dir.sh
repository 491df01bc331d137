#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# it_state_dir.sh: vigild keeps keys, queued alerts and rule states in its
# state folder, so it refuses one that another user can have made or can
# write to (the /tmp/vigil-state-<uid> fallback of a user without HOME or
# XDG_STATE_HOME is such a place): a folder of another user, one writable
# by group or others, a symbolic link.  One of its own, or root's, is fine.
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] || skip "needs root to make a folder of another user"

conf() {
	cat >"$T/vigil.conf" <<CONF
agent = { state_dir = "$1"; control_socket = "$T/run/vigild.sock"; };
sources = ( { type = "cpu"; interval = "1s"; } );
CONF
}

# refused DIR TEXT: vigild does not start on DIR and says TEXT.
refused() {
	conf "$1"
	: >"$T/vigild.log"
	if timeout 20 "$VIGILD" -f -c "$T/vigil.conf" >>"$T/vigild.log" 2>&1; then
		fail "vigild ran on state folder $1"
	fi
	grep -q "$2" "$T/vigild.log" || fail "no '$2' for $1"
	[ ! -e "$1/spool" ] || fail "vigild wrote into $1"
}

mkdir -m 700 "$T/other" && chown 4242:4242 "$T/other"
refused "$T/other" "belongs to uid 4242"
mkdir "$T/open" && chmod 777 "$T/open"
refused "$T/open" "writable by group or others"
mkdir -m 700 "$T/real" && ln -s "$T/real" "$T/link"
refused "$T/link" "symbolic link"

conf "$T/mine"
start_vigild "$T/vigil.conf"
[ "$(stat -c %a "$T/mine")" = 700 ] || fail "state folder not made 0700"
kill "$VIGILD_PID"
wait "$VIGILD_PID" || true
echo "PASS"
