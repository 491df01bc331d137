#!/usr/bin/env bash
# it_config.sh: `vigil config check` and `vigild -n` print every error as
# FILE:LINE: setting: what is wrong and exit 1; a good file prints
# "configuration OK" and exits 0; the embedded default is valid.
. "$(dirname "$0")/lib.sh"

# The embedded default (no file anywhere).
env -u VIGIL_CONFIG HOME="$T" XDG_STATE_HOME="$T/state" "$VIGILD" -n 2>&1 | grep -qx "configuration OK" ||
	[ -e /etc/vigil/vigil.conf ] || fail "the embedded default does not validate"

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
	echo "$out" | grep -q "$want" || fail "config check did not say: $want"
	echo "$out2" | grep -q "$want" || fail "vigild -n did not say: $want"
done

# The same secret is fine once the file is private; the rest still fails.
chmod 600 "$T/bad.conf"
"$VIGIL" -c "$T/bad.conf" config check 2>&1 | grep -q "inline secret" && fail "inline secret refused in a 0600 file"

# A good file.
cat >"$T/good.conf" <<CONF
agent = { state_dir = "$T/state"; control_socket = "$T/s.sock"; };
sources = ( { type = "cpu"; }, { type = "memory"; } );
rules = ( { name = "cpu"; metric = "cpu.used_pct"; warn = 90.0; notify = "log"; } );
CONF
"$VIGIL" -c "$T/good.conf" config check | grep -qx "configuration OK" || fail "good config rejected"
"$VIGILD" -n -c "$T/good.conf" | grep -qx "configuration OK" || fail "vigild -n rejected a good config"
VIGIL_CONFIG="$T/good.conf" "$VIGIL" config check | grep -qx "configuration OK" || fail "VIGIL_CONFIG not used"
echo "PASS: it_config"
