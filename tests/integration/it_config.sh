#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# it_config.sh: `vigil config check` and `vigild -n` print every error as
# FILE:LINE: setting: what is wrong and exit 1; a good file prints
# "configuration OK" and exits 0; the embedded default is valid.  Every
# run's exit status and output are checked, so a crash that prints nothing
# fails.
. "$(dirname "$0")/lib.sh"

# run CMD...: run CMD; its exit status in $rc, stdout and stderr in $out.
run() {
	set +e
	out=$("$@" 2>&1)
	rc=$?
	set -e
}

# The embedded default: no VIGIL_CONFIG and no file at the compiled-in
# default path.  On a host where that file exists (vigil installed), an
# empty tmpfs hides its folder in a private mount namespace; the check is
# never waived.
defconf=$("$VIGIL" --help 2>&1 | sed -n 's/.*\$VIGIL_CONFIG, else \(\/[^,]*\),.*/\1/p')
[ -n "$defconf" ] || fail "vigil --help names no default configuration file"
no_default_file() {
	if [ ! -e "$defconf" ]; then
		"$@"
		return
	fi
	local ns=(unshare --mount --propagation private)
	[ "$(id -u)" = 0 ] || ns=(unshare --map-root-user --mount --propagation private)
	"${ns[@]}" sh -c 'mount -t tmpfs vigil-it "$1" && shift && exec "$@"' \
		sh "$(dirname "$defconf")" "$@"
}
nodef=(no_default_file env -u VIGIL_CONFIG HOME="$T" XDG_STATE_HOME="$T/state")
run "${nodef[@]}" "$VIGILD" -n
[ "$rc" = 0 ] || fail "vigild -n on the embedded default: exit $rc: $out"
[ "$out" = "configuration OK" ] || fail "vigild -n on the embedded default said: $out"
run "${nodef[@]}" "$VIGIL" config check
[ "$rc" = 0 ] || fail "config check of the embedded default: exit $rc: $out"
# stdout's verdict, then stderr's summary naming what was checked.
grep -qx "configuration OK" <<<"$out" || fail "config check of the embedded default said: $out"
grep -qE "^<default>: [0-9]+ sources, [0-9]+ rules, [0-9]+ notifiers$" <<<"$out" ||
	fail "config check did not check the embedded default: $out"

printf 'shh\n' >"$T/secret"
chmod 600 "$T/secret"
cat >"$T/bad.conf" <<CONF
agent = { state_dir = "$T/state"; log_level = "chatty"; };
sources = (
  { type = "cpu"; interval = "5 minutes"; },
  { type = "disk"; mounts = "/"; wibble = 1; }
);
rules = (
  { name = "cpu"; metric = "cpu.used_pct"; warn = "high"; notify = [ "pager" ]; },
  { name = "gpu"; metric = "gpu.temp"; crit = 90.0; for = "2x"; }
);
notifiers = (
  { name = "hook"; type = "webhook"; url = "ftp://x"; secret = "inline"; }
);
CONF
chmod 644 "$T/bad.conf"

set +e
out=$("$VIGIL" -c "$T/bad.conf" config check 2>&1)
rc=$?
out2=$("$VIGILD" -n -c "$T/bad.conf" 2>&1)
rc2=$?
set -e
[ "$rc" = 1 ] || fail "config check exit $rc, want 1"
[ "$rc2" = 1 ] || fail "vigild -n exit $rc2, want 1"
echo "$out"
for want in \
	"bad.conf:1: agent.log_level: \"chatty\" is not one of" \
	"bad.conf:3: sources\[0\].interval: \"5 minutes\" is not a duration" \
	"bad.conf:4: sources\[1\].wibble: unknown setting" \
	"bad.conf:7: rules\[0\].warn: must be a number" \
	"bad.conf:7: rules\[0\].notify: no notifier named \"pager\"" \
	"bad.conf:8: rules\[1\].for: \"2x\" is not a duration" \
	"bad.conf:8: rules\[1\].metric: no source produces a metric matching \"gpu.temp\"" \
	"bad.conf:11: notifiers\[0\].url" \
	"bad.conf:11: notifiers\[0\].secret: inline secret in a file that group or others can read"; do
	grep -q "$want" <<<"$out" || fail "config check did not say: $want"
	grep -q "$want" <<<"$out2" || fail "vigild -n did not say: $want"
done

# The same secret is fine once the file is private; the rest still fails.
chmod 600 "$T/bad.conf"
run "$VIGIL" -c "$T/bad.conf" config check
[ "$rc" = 1 ] || fail "config check of the private bad.conf: exit $rc, want 1: $out"
grep -q "bad.conf:1: agent.log_level: \"chatty\" is not one of" <<<"$out" ||
	fail "config check of the private bad.conf did not report the other errors: $out"
grep -qE "^[0-9]+ errors$" <<<"$out" || fail "config check of the private bad.conf: no error count: $out"
if grep -q "inline secret" <<<"$out"; then fail "inline secret refused in a 0600 file"; fi

# A good file.
cat >"$T/good.conf" <<CONF
agent = { state_dir = "$T/state"; control_socket = "$T/s.sock"; };
sources = ( { type = "cpu"; }, { type = "memory"; } );
rules = ( { name = "cpu"; metric = "cpu.used_pct"; warn = 90.0; notify = "log"; } );
CONF
run "$VIGIL" -c "$T/good.conf" config check
[ "$rc" = 0 ] || fail "good config rejected: exit $rc: $out"
grep -qx "configuration OK" <<<"$out" || fail "good config: config check said: $out"
run "$VIGILD" -n -c "$T/good.conf"
[ "$rc" = 0 ] || fail "vigild -n rejected a good config: exit $rc: $out"
[ "$out" = "configuration OK" ] || fail "vigild -n on a good config said: $out"
run env VIGIL_CONFIG="$T/good.conf" "$VIGIL" config check
[ "$rc" = 0 ] || fail "VIGIL_CONFIG: exit $rc: $out"
grep -qx "$T/good.conf: 2 sources, 1 rules, 1 notifiers" <<<"$out" ||
	fail "VIGIL_CONFIG not used: $out"
# A rule that would go stale between two readings: config check and the
# daemon itself (at start and at a reload) warn, naming file and line.
cat >"$T/stale.conf" <<CONF
agent = { state_dir = "$T/state-stale"; control_socket = "$T/stale.sock"; };
sources = ( { type = "load"; interval = "20s"; } );
rules = ( { name = "l"; metric = "load.1"; op = ">"; warn = 100.0;
  no_data = "5s"; } );
CONF
run "$VIGIL" -c "$T/stale.conf" config check
[ "$rc" = 0 ] || fail "a warning failed config check: $out"
grep -q "warning: $T/stale.conf:4: rules\[0\].no_data: 5s is shorter than the 20s" <<<"$out" ||
	fail "config check did not warn: $out"
"$VIGILD" -f -c "$T/stale.conf" >"$T/vigild.log" 2>&1 &
PIDS+=($!)
wait_for 10 grep -q "started" "$T/vigild.log" || fail "vigild did not start"
grep -q "stale.conf:4: rules\[0\].no_data: 5s is shorter" "$T/vigild.log" ||
	fail "vigild did not warn at start: $(cat "$T/vigild.log")"
kill -HUP "${PIDS[-1]}"
wait_for 10 test "$(grep -c "no_data: 5s is shorter" "$T/vigild.log")" -ge 2 ||
	fail "vigild did not warn at the reload"
echo "PASS: it_config"
