#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# it_alertmanager.sh: the "alertmanager" webhook format against a real
# Prometheus Alertmanager (Debian's prometheus-alertmanager) on loopback:
# Alertmanager's own API must show the alert with the right labels, then
# stop showing it once vigil sends the resolution.
. "$(dirname "$0")/lib.sh"

AM=$(command -v prometheus-alertmanager || command -v alertmanager || true)
[ -n "$AM" ] || skip "prometheus-alertmanager is not installed"

MARK="vigilam$$"
AMPORT=$(free_port)
cat >"$T/am.yml" <<YML
route:
  receiver: "null"
receivers:
  - name: "null"
YML
"$AM" --config.file="$T/am.yml" --storage.path="$T/am-data" \
	--web.listen-address="127.0.0.1:$AMPORT" --cluster.listen-address= \
	>"$T/am.log" 2>&1 &
PIDS+=("$!")
wait_for 30 curl -fsS "http://127.0.0.1:$AMPORT/-/ready" || {
	cat "$T/am.log" >&2
	fail "Alertmanager did not become ready"
}

start_marker "$MARK"
cat >"$T/vigil.conf" <<CONF
agent = {
  state_dir = "$T/state";
  control_socket = "$T/vigild.sock";
  hostname = "am-host";
};
sources = ( { type = "process"; names = [ "$MARK" ]; interval = "1s"; } );
rules = (
  { name = "MarkerRunning"; metric = "proc.$MARK.running"; op = "==";
    warn = 1.0; repeat = "1m"; notify = [ "am" ]; }
);
notifiers = (
  { name = "am"; type = "webhook"; format = "alertmanager";
    url = "http://127.0.0.1:$AMPORT/api/v2/alerts"; }
);
CONF
start_vigild "$T/vigil.conf"

alerts() { curl -fsS "http://127.0.0.1:$AMPORT/api/v2/alerts"; }
firing() { alerts | python3 -c '
import json, sys
alerts = json.load(sys.stdin)
ok = [a for a in alerts if a["labels"].get("alertname") == "MarkerRunning"
      and a["labels"].get("instance") == "am-host"
      and a["labels"].get("severity") == "warning"
      and a["labels"].get("metric") == "proc.'"$MARK"'.running"
      and a["status"]["state"] == "active"]
sys.exit(0 if len(ok) == 1 else 1)'; }
wait_for 30 firing || { alerts >&2; fail "Alertmanager does not hold the alert"; }

kill "$MARKER_PID"
resolved() { alerts | python3 -c '
import json, sys
sys.exit(0 if not [a for a in json.load(sys.stdin) if a["labels"].get("alertname") == "MarkerRunning"] else 1)'; }
wait_for 30 resolved || { alerts >&2; fail "the alert did not resolve in Alertmanager"; }
echo "PASS: it_alertmanager"
