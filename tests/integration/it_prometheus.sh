#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# it_prometheus.sh: Debian's Prometheus scrapes a running vigild on
# loopback, with a read token (authorization.credentials_file), and the
# test asks Prometheus's HTTP API: the target is up, and a reading the
# test controls (the number of processes named vigilmark) arrives with
# its labels and value, and follows a change.
. "$(dirname "$0")/lib.sh"

command -v prometheus >/dev/null || skip "prometheus is not installed (packaging/setup.sh --test)"

PORT=$(free_port)
PPORT=$(free_port)
"$VIGIL" token add prometheus --role read --file "$T/tokens" >"$T/read.tok" 2>/dev/null
chmod 600 "$T/read.tok"
cat >"$T/vigil.conf" <<CONF
agent = { state_dir = "$T/state"; control_socket = "$T/vigild.sock";
  hostname = "it-prom"; };
http = { listen = "127.0.0.1:$PORT"; tokens_file = "$T/tokens"; };
sources = ( { type = "process"; names = [ "vigilmark" ]; interval = "1s"; } );
rules = ( { name = "marks"; metric = "proc.vigilmark.count"; op = ">";
  warn = 2.0; } );
CONF
chmod 600 "$T/vigil.conf"
cat >"$T/prometheus.yml" <<YML
global: { scrape_interval: 1s, evaluation_interval: 1s }
scrape_configs:
  - job_name: vigil
    authorization: { credentials_file: $T/read.tok }
    static_configs: [ { targets: [ "127.0.0.1:$PORT" ] } ]
YML

for i in 1 2; do
	bash -c 'exec -a vigilmark sleep 600' &
	PIDS+=($!)
done
start_vigild "$T/vigil.conf"
prometheus --config.file="$T/prometheus.yml" --storage.tsdb.path="$T/tsdb" \
	--web.listen-address="127.0.0.1:$PPORT" >"$T/prometheus.log" 2>&1 &
PIDS+=($!)

# query EXPR: the value of the single sample of EXPR, or nothing.
query() {
	curl -s --get "http://127.0.0.1:$PPORT/api/v1/query" --data-urlencode "query=$1" |
		python3 -c '
import json, sys
d = json.load(sys.stdin)["data"]["result"]
print(d[0]["value"][1] if len(d) == 1 else "")' 2>/dev/null || true
}
value_is() { [ "$(query "$1")" = "$2" ]; }

wait_for 30 value_is 'up{job="vigil"}' 1 || {
	tail -5 "$T/prometheus.log" >&2
	fail "Prometheus does not see vigild up"
}
wait_for 20 value_is 'vigil_proc_count{job="vigil",host="it-prom",source="process",process="vigilmark"}' 2 ||
	fail "vigil_proc_count is $(query vigil_proc_count) in Prometheus, not 2"
bash -c 'exec -a vigilmark sleep 600' &
PIDS+=($!)
wait_for 20 value_is 'vigil_proc_count{process="vigilmark"}' 3 ||
	fail "Prometheus did not follow the reading to 3"
# The rule fires (WARNING = 1) and Prometheus sees its state.
wait_for 20 value_is 'vigil_rule_state{rule="marks",series="proc.vigilmark.count"}' 1 ||
	fail "vigil_rule_state is $(query vigil_rule_state) in Prometheus"
value_is 'vigil_info{version!=""}' 1 || fail "no vigil_info"
[ -n "$(query process_resident_memory_bytes)" ] || fail "no process_resident_memory_bytes"
# Prometheus's own view of the scrape: no errors in its parser.
curl -s "http://127.0.0.1:$PPORT/api/v1/targets" | python3 -c '
import json, sys
t = json.load(sys.stdin)["data"]["activeTargets"][0]
sys.exit(0 if t["health"] == "up" and not t["lastError"] else t["lastError"])' ||
	fail "Prometheus reports a scrape error"
echo "it_prometheus: OK"
