#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# it_config_reload.sh: a reload of a configuration whose @include names a
# directory or a FIFO, or that is itself a FIFO, never kills or hangs
# vigild: the reload fails with FILE:LINE in the log, the daemon keeps its
# configuration and answers `vigil status`; a good file reloads after that.
# `vigil config check` says the same and returns at once.
. "$(dirname "$0")/lib.sh"

conf=$T/vigil.conf
mkdir -p "$T/conf.d"
cat >"$T/conf.d/rules.conf" <<'CONF'
rules = ( { name = "cpu-high"; metric = "cpu.used_pct"; warn = 99.0; } );
CONF
# good_conf EXTRA: the daemon's configuration, EXTRA appended.
good_conf() {
	rm -f "$conf"
	cat >"$conf" <<CONF
agent = { state_dir = "$T/state"; control_socket = "$T/vigild.sock"; };
sources = ( { type = "cpu"; interval = "1s"; } );
@include "conf.d/rules.conf"
$1
CONF
	chmod 600 "$conf"
}

# reloads_failed: reload_failures from vigil status --json.
reloads_failed() {
	"$VIGIL" -c "$T/good.conf" status --json |
		python3 -c 'import json, sys; print(json.load(sys.stdin)["reload_failures"])'
}

# reload_refused N WANT: after a SIGHUP the Nth failed reload is logged
# with WANT, the daemon lives on and answers with its old configuration.
reload_refused() {
	kill -HUP "$VIGILD_PID"
	if ! wait_for 20 sh -c "[ \"\$(grep -c 'reload failed' '$T/vigild.log')\" -ge $1 ]"; then
		kill -0 "$VIGILD_PID" 2>/dev/null || fail "vigild died on reload $1"
		fail "reload $1 not reported: vigild hangs"
	fi
	grep -qF "$2" "$T/vigild.log" || fail "the log lacks: $2"
	kill -0 "$VIGILD_PID" 2>/dev/null || fail "vigild died on reload $1"
	[ "$(reloads_failed)" = "$1" ] || fail "status: reload_failures is not $1"
	"$VIGIL" -c "$T/good.conf" status | grep -q "cpu-high" ||
		fail "the old rules are gone after reload $1"
}

# check_refused WANT: `vigil config check` exits 1 and prints WANT.
check_refused() {
	local out rc
	set +e
	out=$(timeout 20 "$VIGIL" -c "$conf" config check 2>&1)
	rc=$?
	set -e
	[ "$rc" = 1 ] || fail "config check exit $rc, want 1 (124: it hung): $out"
	grep -qF "$1" <<<"$out" || fail "config check did not say: $1 ($out)"
}

good_conf ""
cp "$conf" "$T/good.conf"
start_vigild "$conf"

# 1. An @include of a directory: libconfig 1.5 called exit(2) here.
good_conf '@include "conf.d"'
check_refused "vigil.conf:4: @include \"conf.d\" ($T/conf.d): is a directory, not a file"
reload_refused 1 "vigil.conf:4: @include \"conf.d\" ($T/conf.d): is a directory, not a file"

# 2. An @include of a FIFO nobody writes to: it blocked forever.
mkfifo "$T/conf.d/pipe.conf"
good_conf '@include "conf.d/pipe.conf"'
check_refused "vigil.conf:4: @include \"conf.d/pipe.conf\" ($T/conf.d/pipe.conf): is a FIFO"
reload_refused 2 "vigil.conf:4: @include \"conf.d/pipe.conf\" ($T/conf.d/pipe.conf): is a FIFO"

# 3. The configuration itself replaced by a FIFO.
rm -f "$conf"
mkfifo "$conf"
check_refused "$conf:0: is a FIFO, not a regular file"
reload_refused 3 "$conf:0: is a FIFO, not a regular file"

# 4. A good file again reloads.
good_conf ""
kill -HUP "$VIGILD_PID"
wait_for 20 grep -q "configuration reloaded" "$T/vigild.log" ||
	fail "a good configuration did not reload"
kill -0 "$VIGILD_PID" 2>/dev/null || fail "vigild died"
echo "PASS: it_config_reload"
