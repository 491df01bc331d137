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
