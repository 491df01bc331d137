#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# it_package_boot.sh: the .deb in a booted Debian 12 (systemd-nspawn -b of
# the tree packaging/setup.sh --test makes, read-only under a tmpfs
# overlay).  dpkg -i into the running system starts and enables vigild; the
# unit reaches active (Type=notify: READY=1); systemctl reload re-reads the
# configuration in the same process; systemd-analyze security of the
# running unit scores 2.5 or better; a backup run by the service reads
# /etc/shadow (CAP_DAC_READ_SEARCH as user vigil) and root restores it; a
# member of group vigil may use vigil status; an upgrade restarts the
# service; remove stops it; purge removes the state.
# Needs root; the tree's missing runtime libraries (the .deb's Depends) are
# installed into it with apt the first time.
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" -eq 0 ] || skip "boots a container: needs root"
for t in systemd-nspawn nsenter cpack dpkg-deb; do
	command -v "$t" >/dev/null || skip "$t is not installed (packaging/setup.sh --test)"
done
ROOTFS=${VIGIL_BOOT_ROOTFS:-/var/cache/vigil-test/bookworm}
[ -x "$ROOTFS/usr/lib/systemd/systemd" ] ||
	skip "no Debian tree in $ROOTFS (packaging/setup.sh --test makes it)"

NSPAWN=
boot_cleanup() {
	if [ -n "$NSPAWN" ] && kill -0 "$NSPAWN" 2>/dev/null; then
		kill -TERM "$NSPAWN" 2>/dev/null || true
		for _ in $(seq 100); do
			kill -0 "$NSPAWN" 2>/dev/null || break
			sleep 0.1
		done
		[ -z "${LEADER:-}" ] || kill -9 "$LEADER" 2>/dev/null || true
		kill -9 "$NSPAWN" 2>/dev/null || true
	fi
	cleanup
}
trap boot_cleanup EXIT

# --- Two .debs: the release tree's, and the same repackaged as revision 2.
B=$VIGIL_SRC/build
if [ -f "$B/CMakeCache.txt" ]; then
	cmake "$B" -DVIGIL_PACKAGE_RELEASE=1 >/dev/null
else
	B=$T/build
	cmake -S "$VIGIL_SRC" -B "$B" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	    -DVIGIL_TESTS=OFF >/dev/null
fi
cmake --build "$B" -j2 >"$T/build.log" 2>&1 || { tail -20 "$T/build.log"; fail "build"; }
mkdir -p "$T/pkg"
(cd "$B" && cpack -G DEB -B "$T/p1" && cpack -G DEB -B "$T/p2" \
    -D CPACK_DEBIAN_PACKAGE_RELEASE=2) >"$T/cpack.log" 2>&1 ||
	{ cat "$T/cpack.log"; fail cpack; }
cp "$T"/p1/vigil_*-1_amd64.deb "$T/pkg/v1.deb"
cp "$T"/p2/vigil_*-2_amd64.deb "$T/pkg/v2.deb"

# --- The package's runtime libraries in the tree (once per tree).
deps=$(dpkg-deb -f "$T/pkg/v1.deb" Depends | tr ',' '\n' |
	sed 's/([^)]*)//; s/|.*//; s/ //g' | sed '/^$/d')
missing=
for d in $deps; do
	chroot "$ROOTFS" dpkg-query -W -f='${Status}' "$d" 2>/dev/null |
		grep -q 'ok installed' || missing="$missing $d"
done
if [ -n "$missing" ]; then
	echo "installing into $ROOTFS:$missing"
	systemd-nspawn -q --register=no --keep-unit -D "$ROOTFS" --pipe \
	    sh -c "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing" \
	    >"$T/apt.log" 2>&1 || { tail -20 "$T/apt.log"; skip "cannot install$missing into $ROOTFS"; }
fi

# --- Boot.
systemd-nspawn --register=no --keep-unit -D "$ROOTFS" --volatile=overlay \
    --bind-ro="$T/pkg:/mnt/pkg" -b --console=passive >"$T/boot.log" 2>&1 &
NSPAWN=$!
LEADER=
for _ in $(seq 100); do
	# The container's init, not a helper nspawn forks on the way (entering
	# that one's namespaces would ask a systemd that is not there).
	LEADER=$(pgrep -P "$NSPAWN" -x 'systemd|init' | head -n 1) &&
		[ -n "$LEADER" ] && break
	kill -0 "$NSPAWN" 2>/dev/null || { cat "$T/boot.log"; skip "systemd-nspawn cannot boot here"; }
	sleep 0.1
done
[ -n "$LEADER" ] || { cat "$T/boot.log"; fail "no container"; }
E() { nsenter -t "$LEADER" -a "$@"; }
state=
for _ in $(seq 120); do
	state=$(E systemctl is-system-running 2>/dev/null) || true
	case $state in running | degraded) break ;; esac
	sleep 0.5
done
case $state in running | degraded) ;; *) cat "$T/boot.log"; fail "the container's systemd is $state" ;; esac

# --- Install into the running system: enabled and started.
E dpkg -i /mnt/pkg/v1.deb >"$T/dpkg1" 2>&1 || { cat "$T/dpkg1"; fail "dpkg -i"; }
wait_for 20 sh -c "nsenter -t $LEADER -a systemctl is-active vigild | grep -qx active" ||
	{ E systemctl status vigild --no-pager; fail "vigild is not active after install"; }
[ "$(E systemctl is-enabled vigild)" = enabled ] || fail "vigild is not enabled"
[ "$(E systemctl show -p Type --value vigild)" = notify ] || fail "not Type=notify"
E journalctl -u vigild --no-pager -o cat >"$T/journal"
has "$T/journal" '^Started vigild.service'
has "$T/journal" 'vigild [0-9.]+ started'

# --- Reload: the same process reads the configuration again.
pid=$(E systemctl show -p MainPID --value vigild)
E systemctl reload vigild || { E journalctl -u vigild --no-pager -n 20; fail "reload"; }
wait_for 10 sh -c "nsenter -t $LEADER -a journalctl -u vigild -o cat | grep -q 'configuration reloaded'" ||
	fail "no 'configuration reloaded' in the journal"
[ "$(E systemctl show -p MainPID --value vigild)" = "$pid" ] ||
	fail "reload restarted vigild"

# --- Security of the running unit.
E systemd-analyze security vigild --no-pager >"$T/security" 2>&1 || true
score=$(sed -n 's/.*Overall exposure level for vigild.service: \([0-9.]*\).*/\1/p' "$T/security")
[ -n "$score" ] || { cat "$T/security"; fail "no security score"; }
awk -v s="$score" 'BEGIN { exit !(s <= 2.5) }' ||
	{ cat "$T/security"; fail "systemd-analyze security: $score > 2.5"; }
echo "systemd-analyze security vigild (running): $score"

# --- A backup by the service reads root's files; root restores them.
E vigil backup run etc >"$T/run" 2>&1 || { cat "$T/run"; fail "backup run"; }
has "$T/run" ' 0 warnings'
E journalctl -u vigild --no-pager -o cat >"$T/journal"
has "$T/journal" 'backup etc/[^ ]+: done'
E vigil restore etc/latest --to /root/r --path etc/shadow >"$T/restore" 2>&1 ||
	{ cat "$T/restore"; fail "restore"; }
E cmp /etc/shadow /root/r/etc/shadow || fail "restored shadow differs"
[ "$(E stat -c '%a %U %G' /root/r/etc/shadow)" = "$(E stat -c '%a %U %G' /etc/shadow)" ] ||
	fail "restored shadow has other owners or mode"
# Members of group vigil may ask the daemon; others may not.
E useradd -m -G vigil alice
E useradd -m bob
E runuser -u alice -- vigil status >"$T/status" 2>&1 || { cat "$T/status"; fail "alice: vigil status"; }
has "$T/status" "pid $pid"
if E runuser -u bob -- vigil status >/dev/null 2>&1; then fail "bob may use vigil status"; fi

# --- Upgrade: try-restart.
E dpkg -i /mnt/pkg/v2.deb >"$T/dpkg2" 2>&1 || { cat "$T/dpkg2"; fail "upgrade"; }
wait_for 20 sh -c "nsenter -t $LEADER -a systemctl is-active vigild | grep -qx active" ||
	fail "vigild is not active after the upgrade"
[ "$(E systemctl show -p MainPID --value vigild)" != "$pid" ] ||
	fail "the upgrade did not restart vigild"

# --- Remove stops it; purge removes the state.
E dpkg -r vigil >"$T/dpkg3" 2>&1 || { cat "$T/dpkg3"; fail "remove"; }
if E pgrep -x vigild >/dev/null; then fail "vigild runs after remove"; fi
E test -f /var/lib/vigil/backup.key || fail "remove lost the state"
E dpkg -P vigil >"$T/dpkg4" 2>&1 || { cat "$T/dpkg4"; fail "purge"; }
if E test -e /var/lib/vigil; then fail "purge left /var/lib/vigil"; fi
E getent passwd vigil >/dev/null || fail "purge deleted the user"
echo "it_package_boot: ok"
