#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# it_runtime.sh: the folder of the control socket must be one nobody else
# can have prepared, on the daemon's side and on the CLI's.
#  - As an ordinary user without XDG_RUNTIME_DIR the socket falls back to
#    /tmp/vigil-<uid>/.  Another user who made that folder first is refused:
#    vigild will not start in it, and `vigil status` will not believe the
#    spoofed answer of the attacker's server listening there.
#  - Made by vigild itself, that folder is the user's with mode 0700, and
#    $XDG_RUNTIME_DIR/vigil works as before.
#  - As root, a folder of another user in a world-writable place is refused
#    alike; a folder that only root can have made (like /run/vigil), shared
#    with a group, works for root and for that group.
# As root the test runs in a mount namespace with its own /tmp, so the real
# /tmp/vigil-<uid> of anyone is never touched (where namespaces are not
# allowed, in the real /tmp, if nobody's folder is not there already).
# The source and build trees may themselves live under /tmp (a CI clone):
# the real /tmp stays reachable at a bind mount and those trees are bound
# back into the new /tmp at their own paths.
if [ "$(id -u)" = 0 ] && [ -z "${VIGIL_IT_OWN_TMP:-}" ] &&
	unshare --mount --propagation private true 2>/dev/null; then
	orig=$(mktemp -d /run/vigil-it-tmp.XXXXXX)
	set +e
	unshare --mount --propagation private \
		env VIGIL_IT_OWN_TMP=1 VIGIL_IT_ORIG_TMP="$orig" bash -c '
		set -e
		mount --bind /tmp "$VIGIL_IT_ORIG_TMP"
		mount -t tmpfs -o mode=1777 tmpfs /tmp
		for p in "$VIGIL_SRC" "$(dirname "$VIGILD")" "$(dirname "$VIGIL")"; do
			case "$p" in /tmp/*) ;; *) continue ;; esac
			[ -e "$p" ] && continue
			mkdir -p "$p"
			mount --bind "$VIGIL_IT_ORIG_TMP/${p#/tmp/}" "$p"
		done
		exec bash "$0"' "$0"
	rc=$?
	rmdir "$orig"
	exit "$rc"
fi
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] || skip "needs root to act as two other users"
U=65534 # nobody: the user running vigil
G=65534 # nogroup
A=4242  # the attacker, another ordinary user

chmod 711 "$T"
UH="$T/home"
mkdir -p "$UH/state" "$UH/run"
chown -R "$U:$G" "$UH"
chmod 700 "$UH" "$UH/run"
cat >"$UH/vigil.conf" <<CONF
sources = ( { type = "cpu"; interval = "1s"; } );
CONF
chown "$U:$G" "$UH/vigil.conf"
chmod 600 "$UH/vigil.conf"

# as_user [VAR=VALUE ...] CMD...: run as the ordinary user, without
# XDG_RUNTIME_DIR.
AS_USER=(setpriv --reuid="$U" --regid="$G" --clear-groups env -i PATH="$PATH"
	HOME="$UH" XDG_STATE_HOME="$UH/state")
as_user() { "${AS_USER[@]}" "$@"; }

# expect_refused WHAT WANT CMD...: CMD fails (not by timeout), saying WANT.
expect_refused() {
	local what=$1 want=$2 rc
	shift 2
	set +e
	"$@" >"$T/out" 2>&1
	rc=$?
	set -e
	[ "$rc" != 0 ] || fail "$what was not refused: $(cat "$T/out")"
	[ "$rc" != 124 ] || fail "$what hung"
	grep -q -- "$want" "$T/out" || fail "$what: want '$want', got: $(cat "$T/out")"
	if grep -q spoofed "$T/out"; then fail "$what printed the spoofed answer"; fi
	echo "$what refused: $(grep -- "$want" "$T/out" | head -1)"
}

# spoof SOCKET UID: the attacker's server, answering with a fake status.
# (It runs as root, which python3 may need here; the socket is the
# attacker's, and what counts is whose folder it is in.)
spoof() {
	rm -f "$T/spoof.ready"
	python3 - "$1" "$T/spoof.ready" "$2" <<'PY' &
import os, socket, sys
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1])
os.chown(sys.argv[1], int(sys.argv[3]), int(sys.argv[3]))
os.chmod(sys.argv[1], 0o777)
s.listen(8)
open(sys.argv[2], "w").close()
while True:
    c, _ = s.accept()
    c.recv(1024)
    c.sendall(b'{"host": "spoofed", "version": "6.6.6", "pid": 1, "config": "x", '
              b'"started_ms": 0, "sources": [], "rules": [], "jobs": [], '
              b'"queue": {"depth": 0, "dropped": 0, "sent": 0, "failed": 0, '
              b'"per_notifier": {}}}\n')
    c.close()
PY
	PIDS+=("$!")
	wait_for 10 test -e "$T/spoof.ready" || fail "spoofing server did not start"
}

# 1. Ordinary user, /tmp/vigil-<uid> made first by another user.
RUN="/tmp/vigil-$U"
if [ -z "${VIGIL_IT_OWN_TMP:-}" ]; then
	[ ! -e "$RUN" ] || skip "$RUN exists and there is no mount namespace for a /tmp of our own"
	trap 'rm -rf "$RUN"; cleanup' EXIT
fi
install -d -o "$A" -g "$A" -m 777 "$RUN"
expect_refused "vigild in another user's $RUN" "belongs to uid $A" \
	timeout 20 "${AS_USER[@]}" "$VIGILD" -f -c "$UH/vigil.conf"
[ ! -e "$RUN/vigild.sock" ] || fail "vigild made its socket in $RUN"
chmod 755 "$RUN"
spoof "$RUN/vigild.sock" "$A"
expect_refused "vigil status against another user's $RUN" "belongs to uid $A" \
	timeout 20 "${AS_USER[@]}" "$VIGIL" -c "$UH/vigil.conf" status
# Private as it may be, it is still not the user's.
chmod 700 "$RUN"
expect_refused "vigil status against another user's private $RUN" \
	"belongs to uid $A" timeout 20 "${AS_USER[@]}" "$VIGIL" -c "$UH/vigil.conf" status
kill -9 "${PIDS[-1]}"
wait "${PIDS[-1]}" 2>/dev/null || true
rm -rf "$RUN"

# 2. The user's own folder, but open to others (as vigil 0.1.0 made it).
install -d -o "$U" -g "$G" -m 755 "$RUN"
expect_refused "vigild in a $RUN of mode 0755" "mode 0755" \
	timeout 20 "${AS_USER[@]}" "$VIGILD" -f -c "$UH/vigil.conf"
expect_refused "vigil status against a $RUN of mode 0755" "mode 0755" \
	timeout 20 "${AS_USER[@]}" "$VIGIL" -c "$UH/vigil.conf" status
rm -rf "$RUN"

# 3. Made by vigild: the user's, mode 0700; status works.
"${AS_USER[@]}" "$VIGILD" -f -c "$UH/vigil.conf" >>"$T/vigild.log" 2>&1 &
VIGILD_PID=$!
PIDS+=("$VIGILD_PID")
wait_for 20 as_user "$VIGIL" -c "$UH/vigil.conf" status ||
	fail "vigild as an ordinary user did not come up"
[ "$(stat -c '%u %a' "$RUN")" = "$U 700" ] ||
	fail "$RUN is $(stat -c '%u %a' "$RUN"), want $U 700"
as_user "$VIGIL" -c "$UH/vigil.conf" status | grep -q "^vigild" ||
	fail "status as an ordinary user"
kill -TERM "$VIGILD_PID"
wait_for 15 sh -c "! kill -0 $VIGILD_PID" || fail "vigild ignored SIGTERM"

# 4. With XDG_RUNTIME_DIR: $XDG_RUNTIME_DIR/vigil, made 0700.
"${AS_USER[@]}" XDG_RUNTIME_DIR="$UH/run" "$VIGILD" -f -c "$UH/vigil.conf" \
	>>"$T/vigild.log" 2>&1 &
VIGILD_PID=$!
PIDS+=("$VIGILD_PID")
wait_for 20 as_user XDG_RUNTIME_DIR="$UH/run" "$VIGIL" -c "$UH/vigil.conf" status ||
	fail "vigild with XDG_RUNTIME_DIR did not come up"
[ "$(stat -c '%u %a' "$UH/run/vigil")" = "$U 700" ] ||
	fail "$UH/run/vigil is $(stat -c '%u %a' "$UH/run/vigil"), want $U 700"
kill -TERM "$VIGILD_PID"
wait_for 15 sh -c "! kill -0 $VIGILD_PID" || fail "vigild ignored SIGTERM"

# 5. Root: another user's folder in a world-writable place is refused too.
install -d -m 1777 "$T/pub"
install -d -o "$A" -g "$A" -m 755 "$T/pub/vigil-0"
cat >"$T/root-pub.conf" <<CONF
agent = { state_dir = "$T/root-state"; control_socket = "$T/pub/vigil-0/vigild.sock"; };
sources = ( { type = "cpu"; interval = "1s"; } );
CONF
expect_refused "root's vigild in another user's folder" "belongs to uid $A" \
	timeout 20 "$VIGILD" -f -c "$T/root-pub.conf"
spoof "$T/pub/vigil-0/vigild.sock" "$A"
expect_refused "root's vigil status against another user's folder" \
	"belongs to uid $A" timeout 20 "$VIGIL" -c "$T/root-pub.conf" status

# 6. Root, a folder only root can have made (like /run/vigil): vigild makes
#    it 0750 with the socket's group, and members of that group may ask.
install -d -m 755 "$T/run"
cat >"$T/root-run.conf" <<CONF
agent = { state_dir = "$T/root-state"; control_socket = "$T/run/vigil/vigild.sock";
          socket_group = "$(getent group "$G" | cut -d: -f1)"; };
sources = ( { type = "cpu"; interval = "1s"; } );
CONF
start_vigild "$T/root-run.conf"
[ "$(stat -c '%u %g %a' "$T/run/vigil")" = "0 $G 750" ] ||
	fail "$T/run/vigil is $(stat -c '%u %g %a' "$T/run/vigil"), want 0 $G 750"
as_user "$VIGIL" -s "$T/run/vigil/vigild.sock" status | grep -q "^vigild" ||
	fail "a member of the socket's group cannot ask root's vigild"
kill -TERM "$VIGILD_PID"
wait_for 15 sh -c "! kill -0 $VIGILD_PID" || fail "vigild ignored SIGTERM"
echo "PASS: it_runtime"
