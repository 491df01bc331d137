# SPDX-License-Identifier: BSD-2-Clause
# lib.sh: shared helpers for the integration tests (sourced, not run).
# Each test makes its own temp dir, starts its own peers on 127.0.0.1 and
# kills everything it started on exit.  A missing peer means exit 77 (SKIP),
# which tests/run.sh turns into a failure.
set -euo pipefail

: "${VIGILD:?VIGILD must name the vigild binary}"
: "${VIGIL:?VIGIL must name the vigil binary}"
: "${VIGIL_SRC:?VIGIL_SRC must name the source tree}"

T=$(mktemp -d /tmp/vigil-it.XXXXXX)
chmod 700 "$T"
PIDS=()
MOUNTS=()

cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	for p in "${MOUNTS[@]}"; do
		umount "$p" 2>/dev/null || umount -l "$p" 2>/dev/null || true
	done
	if [ "${KEEP_TMP:-0}" = 1 ]; then echo "kept $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT

fail() {
	echo "FAIL: $*" >&2
	if [ -f "$T/vigild.log" ]; then
		echo "--- vigild.log (last 40 lines)" >&2
		tail -n 40 "$T/vigild.log" >&2
	fi
	exit 1
}

skip() {
	echo "SKIP: $*" >&2
	exit 77
}

# run_rc VAR CMD...: run CMD, its exit status in VAR, stderr in $T/err.
run_rc() {
	local var=$1
	shift
	set +e
	"$@" >"$T/out" 2>"$T/err"
	printf -v "$var" '%s' "$?"
	set -e
}

# has FILE PATTERN: FILE has a line matching the extended regex PATTERN.
has() {
	grep -Eq -- "$2" "$1" || {
		echo "--- $1:" >&2
		cat "$1" >&2
		fail "$1 lacks /$2/"
	}
}

# wait_for SECONDS COMMAND...: poll until COMMAND succeeds.
wait_for() {
	local secs=$1 i
	shift
	for ((i = 0; i < secs * 10; i++)); do
		if "$@" >/dev/null 2>&1; then return 0; fi
		sleep 0.1
	done
	return 1
}

# mount_tmpfs DIR OPTIONS WHY: mount a tmpfs with OPTIONS (size=2m,...) on
# DIR, unmounted on exit.  Needs root (CI runs as root): a refused mount
# fails the test, saying it was for WHY; it does not skip.
mount_tmpfs() {
	mount -t tmpfs -o "$2" tmpfs "$1" ||
		fail "cannot mount a tmpfs on $1 for $3 (the test needs root)"
	MOUNTS+=("$1")
}

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# start_vigild CONF: start the daemon in the background, log to $T/vigild.log.
start_vigild() {
	"$VIGILD" -f -c "$1" >>"$T/vigild.log" 2>&1 &
	VIGILD_PID=$!
	PIDS+=("$VIGILD_PID")
	wait_for 20 "$VIGIL" -c "$1" status || fail "vigild did not come up"
}

# start_receiver LOG [PORT [OPTION...]]: the Python webhook receiver (options
# of receiver.py: --hang, --status N, --echo); sets RECV_PID, RECV_PORT.
start_receiver() {
	local log=$1 port=${2:-0}
	shift $(($# < 2 ? $# : 2))
	rm -f "$T/recv.port"
	python3 "$VIGIL_SRC/tests/integration/receiver.py" --log "$log" \
		--port "$port" --port-file "$T/recv.port" "$@" &
	RECV_PID=$!
	PIDS+=("$RECV_PID")
	wait_for 10 test -s "$T/recv.port" || fail "receiver did not start"
	RECV_PORT=$(cat "$T/recv.port")
}

# count_received LOG STATE: how many payloads the receiver logged in LOG
# have "state": STATE.
count_received() {
	python3 - "$1" "$2" <<'PY'
import json, os, sys
n = 0
if os.path.exists(sys.argv[1]):
    for line in open(sys.argv[1]):
        n += json.loads(json.loads(line)["body"]).get("state") == sys.argv[2]
print(n)
PY
}

# start_marker NAME: a process called NAME (argv[0]) that a rule can watch.
start_marker() {
	bash -c "exec -a $1 sleep 3600" &
	MARKER_PID=$!
	PIDS+=("$MARKER_PID")
}

# start_moto BUCKET [NOAUTH_EXTRA]: moto_server (through moto_raw_query.py,
# see that file) on a free port with every request's SigV4 checked once an
# IAM user "vigil", its access key, an allow-all policy and BUCKET exist.
# Sets MOTO_PORT, MOTO_EP, AKID, SECRET.  NOAUTH_EXTRA (default 0) leaves
# that many more unauthenticated actions for the caller's own set-up (e.g.
# a bucket with Object Lock).  Skips without moto or boto3.
start_moto() {
	local bucket=$1 extra=${2:-0}
	command -v moto_server >/dev/null 2>&1 || skip "moto_server is not installed"
	python3 -c 'import moto.server, boto3' 2>/dev/null ||
		skip "python3 cannot import moto.server and boto3"
	MOTO_PORT=$(free_port)
	MOTO_EP="http://127.0.0.1:$MOTO_PORT"
	# Four unauthenticated actions: create_user, create_access_key,
	# put_user_policy, create_bucket.  Everything after is checked.
	INITIAL_NO_AUTH_ACTION_COUNT=$((4 + extra)) python3 \
		"$VIGIL_SRC/tests/integration/moto_raw_query.py" \
		-H 127.0.0.1 -p "$MOTO_PORT" >"$T/moto.log" 2>&1 &
	PIDS+=($!)
	wait_for 30 curl -s "$MOTO_EP/moto-api/" || fail "moto_server did not come up"
	python3 "$VIGIL_SRC/tests/integration/moto_setup.py" "$MOTO_EP" "$bucket" \
		>"$T/moto.keys" || fail "IAM setup in moto failed"
	read -r AKID SECRET <"$T/moto.keys"
	[ -n "$SECRET" ] || fail "no access key from moto"
}

# start_azurite [HTTPS-OPTIONS...]: Azurite's blob service (pinned in
# tests/package.json) on a free port, in memory, SharedKey checked.  Extra
# arguments go to azurite-blob (--cert/--key/--oauth basic for HTTPS and
# Entra ID).  Sets AZ_PORT, AZ_ACCT, AZ_KEY; AZ_EP is the http endpoint of
# the account (callers using HTTPS make their own).  Skips without Azurite.
start_azurite() {
	local azurite="$VIGIL_SRC/tests/node_modules/.bin/azurite-blob"
	[ -x "$azurite" ] || skip "no Azurite (cd tests && npm ci, or packaging/setup.sh --test)"
	command -v node >/dev/null || skip "no node to run Azurite"
	AZ_ACCT=devstoreaccount1
	AZ_KEY="Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
	AZ_PORT=$(free_port)
	AZ_EP="http://127.0.0.1:$AZ_PORT/$AZ_ACCT"
	"$azurite" --blobHost 127.0.0.1 --blobPort "$AZ_PORT" --inMemoryPersistence \
		--silent --disableTelemetry "$@" >"$T/azurite.log" 2>&1 &
	PIDS+=($!)
	wait_for 30 bash -c "exec 3<>/dev/tcp/127.0.0.1/$AZ_PORT" ||
		fail "Azurite did not start: $(cat "$T/azurite.log")"
}

# make_gcs_sa FILE: a new RSA key (openssl) in a Google service-account key
# file of mode 600, for backup@vigil-it.iam.gserviceaccount.com (the fake
# GCS of tests/fakes/gcs_server.py checks assertions with its public half).
make_gcs_sa() {
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 \
		-out "$T/key.pem" 2>/dev/null || fail "openssl genpkey failed"
	python3 - "$T/key.pem" "$1" <<'PY'
import json, os, sys
pem = open(sys.argv[1]).read()
fd = os.open(sys.argv[2], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
os.write(fd, json.dumps({"type": "service_account", "project_id": "vigil-it",
    "private_key_id": "0123abcd", "private_key": pem,
    "client_email": "backup@vigil-it.iam.gserviceaccount.com",
    "token_uri": "https://oauth2.googleapis.com/token"}).encode())
os.close(fd)
PY
	rm -f "$T/key.pem"
}

# start_fault_proxy UPSTREAM [PORT [OPTION...]]: tests/fakes/fault_proxy.py
# in front of UPSTREAM (http[s]://127.0.0.1:PORT), listening on PORT (0 or
# none: a free one; the same one again to restart it after a kill), other
# options passed on (--upstream-ca FILE).  Sets FP_PORT and FP_PID.
start_fault_proxy() {
	local up=$1 port=${2:-0}
	shift $(($# < 2 ? $# : 2))
	rm -f "$T/proxy.port"
	python3 "$VIGIL_SRC/tests/fakes/fault_proxy.py" --upstream "$up" \
		--port "$port" --port-file "$T/proxy.port" "$@" 2>>"$T/proxy.log" &
	FP_PID=$!
	PIDS+=("$FP_PID")
	wait_for 10 test -s "$T/proxy.port" ||
		fail "the fault proxy did not start: $(cat "$T/proxy.log")"
	FP_PORT=$(cat "$T/proxy.port")
}

# fault_ctl rule JSON | clear | reset | stats: a control request to the
# fault proxy; prints its answer.
fault_ctl() {
	if [ "$1" = stats ]; then
		curl -sf "http://127.0.0.1:$FP_PORT/__fault/stats"
	else
		curl -sf -X POST --data "${2:-}" "http://127.0.0.1:$FP_PORT/__fault/$1"
	fi
}

# fault_stat EXPR: the Python EXPR over the proxy's stats (d).
fault_stat() {
	fault_ctl stats | python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"
}

# fault_fired ID: how often the proxy's rule ID acted.
fault_fired() { fault_stat "d['fired'].get('$1', 0)"; }

# one_failure JOB TEXT: $T/err reports the failed run of JOB once, with
# TEXT: the log line "error: backup JOB/ID: failed: MSG" and nothing else
# but the log's "started" line.
one_failure() {
	python3 - "$1" "$2" "$T/err" <<'PY' || fail "the failure was not reported once: $(cat "$T/err")"
import re, sys
job, text, path = sys.argv[1:]
lines = [l for l in open(path).read().splitlines() if not l.endswith(": started")]
assert len(lines) == 1, lines
m = re.match(r"error: backup %s/[^:]+: failed: (.*)$" % job, lines[0])
assert m and text in m.group(1), (text, lines)
PY
}

# fault_server_gone RULE CMD...: the fault proxy's rules replaced by RULE
# (a "hang" rule), CMD run in the background (stdout $T/out, stderr
# $T/err); once the rule holds a request, the proxy is killed.  Fails the
# test unless CMD then fails too.
fault_server_gone() {
	local rule=$1 pid rc
	shift
	fault_ctl clear >/dev/null
	fault_ctl rule "$rule" >/dev/null
	"$@" >"$T/out" 2>"$T/err" &
	pid=$!
	wait_for 30 fault_holding || fail "no request was held: $(fault_ctl stats)"
	kill -9 "$FP_PID"
	wait "$FP_PID" 2>/dev/null || true
	set +e
	wait "$pid"
	rc=$?
	set -e
	[ "$rc" != 0 ] || fail "$* succeeded with the server gone"
}
fault_holding() { [ "$(fault_stat 'd["hanging"]')" -ge 1 ]; }
