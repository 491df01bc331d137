#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# it_package.sh: the .deb and the .rpm of `--target package`
# (packaging/package.cmake), built from the release tree build/ that
# tests/run.sh makes (or a fresh one here), then, as root on this machine:
# lintian (no error), install with dpkg -i (files, owners, modes, the user
# vigil), vigild -n and vigil config check from the installed paths,
# systemd-analyze verify and security of the installed unit, an upgrade to a
# second build (package revision 2) that keeps an edited conffile, remove
# (config and state stay) and purge (state gone, the user stays).  The .rpm:
# rpm -qlp, -qp --requires, rpmlint without errors.
# It installs into the machine, so it runs alone (RUN_SERIAL) and always
# purges the package, and removes the user and folders it made, on exit.
# Not root: skip, which fails the suite (CI runs as root).
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" -eq 0 ] || skip "installs a package: needs root"
for t in dpkg dpkg-deb lintian rpm rpmbuild rpmlint cpack systemd-analyze \
    groff; do
	command -v "$t" >/dev/null || skip "$t is not installed (packaging/setup.sh --test)"
done
if dpkg-query -W -f='${Status}' vigil 2>/dev/null | grep -q installed; then
	fail "a package vigil is installed on this machine: the test would replace it"
fi

# What this machine had before, so that cleanup leaves it as it was.
had_user=0 had_group=0 had_lib=0 had_backups=0
getent passwd vigil >/dev/null && had_user=1
getent group vigil >/dev/null && had_group=1
[ -e /var/lib/vigil ] && had_lib=1
[ -e /var/backups/vigil ] && had_backups=1
pkg_cleanup() {
	if dpkg-query -W -f='${Status}' vigil 2>/dev/null | grep -q 'ok \(installed\|config-files\|half\|unpacked\)'; then
		dpkg -P vigil >/dev/null 2>&1 || true
	fi
	[ "$had_user" = 1 ] || userdel vigil 2>/dev/null || true
	[ "$had_group" = 1 ] || groupdel vigil 2>/dev/null || true
	[ "$had_lib" = 1 ] || rm -rf /var/lib/vigil
	[ "$had_backups" = 1 ] || rm -rf /var/backups/vigil
	cleanup
}
trap pkg_cleanup EXIT

# --- Build: package 1 from build/, package 2 from a second tree whose only
# difference is the package revision.
B=$VIGIL_SRC/build
cflags=
if [ -f "$B/CMakeCache.txt" ]; then
	cflags=$(sed -n 's/^CMAKE_C_FLAGS:STRING=//p' "$B/CMakeCache.txt")
	cmake "$B" -DVIGIL_PACKAGE_RELEASE=1 >/dev/null
else
	B=$T/build1
	cmake -S "$VIGIL_SRC" -B "$B" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	    -DVIGIL_TESTS=OFF >/dev/null
fi
cmake --build "$B" -j2 >"$T/build1.log" 2>&1 || {
	tail -20 "$T/build1.log"
	fail "building $B"
}
cmake -S "$VIGIL_SRC" -B "$T/build2" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DVIGIL_TESTS=OFF -DVIGIL_PACKAGE_RELEASE=2 -DCMAKE_C_FLAGS="$cflags" \
    >/dev/null
cmake --build "$T/build2" -j2 >"$T/build2.log" 2>&1 || {
	tail -20 "$T/build2.log"
	fail "building the second tree"
}
(cd "$B" && cpack -B "$T/p1") >"$T/cpack1.log" 2>&1 ||
	{ cat "$T/cpack1.log"; fail "cpack (1)"; }
(cd "$T/build2" && cpack -B "$T/p2") >"$T/cpack2.log" 2>&1 ||
	{ cat "$T/cpack2.log"; fail "cpack (2)"; }
ver=$(sed -n 's/^CMAKE_PROJECT_VERSION:STATIC=//p' "$B/CMakeCache.txt")
deb1=$T/p1/vigil_${ver}-1_amd64.deb deb2=$T/p2/vigil_${ver}-2_amd64.deb
rpm1=$T/p1/vigil-${ver}-1.x86_64.rpm
for f in "$deb1" "$deb2" "$rpm1"; do
	[ -f "$f" ] || { ls -l "$T"/p1 "$T"/p2; fail "no $f"; }
done
echo "built $deb1 $deb2 $rpm1"

# --- The .deb, from outside.
lintian --tag-display-limit 0 --fail-on error "$deb1" >"$T/lintian" 2>&1 ||
	{ cat "$T/lintian"; fail "lintian finds errors in the .deb"; }
echo "lintian:"
grep -v 'root privileges' "$T/lintian" || true
dpkg-deb -f "$deb1" Depends >"$T/depends"
has "$T/depends" 'libcurl4'
has "$T/depends" 'libconfig9'
has "$T/depends" 'libc6 \(>= '
dpkg-deb -e "$deb1" "$T/ctl1"
[ "$(cat "$T/ctl1/conffiles")" = /etc/vigil/vigil.conf ] ||
	fail "conffiles: $(cat "$T/ctl1/conffiles")"

# --- The .rpm, from outside.
rpm -qlvp "$rpm1" >"$T/rpmlist" 2>/dev/null
for f in /usr/sbin/vigild /usr/bin/vigil /usr/lib/vigil/libvigil-heavy.so \
    /usr/lib/systemd/system/vigild.service /usr/lib/sysusers.d/vigil.conf \
    /usr/lib/tmpfiles.d/vigil.conf /etc/vigil/conf.d \
    /usr/share/man/man1/vigil.1.gz /usr/share/man/man5/vigil.conf.5.gz \
    /usr/share/man/man8/vigild.8.gz /usr/share/doc/vigil/README.md \
    /usr/share/bash-completion/completions/vigil; do
	has "$T/rpmlist" " $f( |\$)"
done
has "$T/rpmlist" '^-rw-r----- +1 root +vigil .* /etc/vigil/vigil.conf$'
if grep -E ' /(usr|usr/bin|usr/sbin|usr/lib|etc|usr/share/man)$' "$T/rpmlist"; then
	fail "the .rpm owns a folder of the system"
fi
[ "$(rpm -qcp "$rpm1" 2>/dev/null)" = /etc/vigil/vigil.conf ] ||
	fail "rpm config files: $(rpm -qcp "$rpm1")"
rpm -qp --qf '[%{FILEFLAGS:fflags} %{FILENAMES}\n]' "$rpm1" 2>/dev/null |
	grep -q '^cn /etc/vigil/vigil.conf$' || fail "vigil.conf is not %config(noreplace)"
rpm -qp --requires "$rpm1" >"$T/requires" 2>/dev/null
has "$T/requires" '^libcurl\.so\.4\(\)\(64bit\)$'
has "$T/requires" '^libconfig\.so\.9'
rpm -qp --scripts "$rpm1" >"$T/scripts" 2>/dev/null
has "$T/scripts" 'systemctl --no-reload preset vigild.service'
has "$T/scripts" 'try-restart vigild.service'
for tag in PREIN POSTIN PREUN POSTUN; do
	rpm -qp --qf "%{$tag}" "$rpm1" >"$T/$tag.sh" 2>/dev/null
	[ -s "$T/$tag.sh" ] && sh -n "$T/$tag.sh" || fail "rpm $tag: $(cat "$T/$tag.sh")"
done
has "$T/PREIN.sh" 'systemd-sysusers'
rpmlint -r "$VIGIL_SRC/packaging/rpm/vigil.rpmlintrc" "$rpm1" >"$T/rpmlint" 2>&1 || true
has "$T/rpmlint" ' 0 errors'
echo "rpmlint:"
grep -E ': [WE]: ' "$T/rpmlint" || true

# --- Install.
dpkg -i "$deb1" >"$T/dpkg1" 2>&1 || { cat "$T/dpkg1"; fail "dpkg -i"; }
[ "$(dpkg-query -W -f='${Status} ${Version}' vigil)" = "install ok installed ${ver}-1" ] ||
	fail "dpkg says: $(dpkg-query -W -f='${Status} ${Version}' vigil)"
# mode owner group path
check_stat() {
	local got
	got=$(stat -c '%a %U %G' "$4") || fail "no $4"
	[ "$got" = "$1 $2 $3" ] || fail "$4: $got, want $1 $2 $3"
}
check_stat 755 root root /usr/sbin/vigild
check_stat 755 root root /usr/bin/vigil
check_stat 644 root root /usr/lib/vigil/libvigil-heavy.so
check_stat 640 root vigil /etc/vigil/vigil.conf
check_stat 755 root root /etc/vigil/conf.d
check_stat 644 root root /usr/lib/systemd/system/vigild.service
check_stat 644 root root /usr/lib/sysusers.d/vigil.conf
check_stat 644 root root /usr/lib/tmpfiles.d/vigil.conf
check_stat 750 vigil vigil /var/lib/vigil
for f in man1/vigil.1 man5/vigil.conf.5 man8/vigild.8; do
	check_stat 644 root root "/usr/share/man/$f.gz"
	zcat "/usr/share/man/$f.gz" | groff -ww -z -man 2>"$T/groff" ||
		fail "groff $f"
	[ ! -s "$T/groff" ] || { cat "$T/groff"; fail "groff warns on $f"; }
done
for f in README.md BACKUP-FORMAT.md WEBHOOK.md vigil.conf.example copyright \
    changelog.Debian.gz; do
	check_stat 644 root root "/usr/share/doc/vigil/$f"
done
[ -f /usr/share/bash-completion/completions/vigil ] || fail "no completion"
[ "$(readlink /usr/share/bash-completion/completions/vigild)" = vigil ] ||
	fail "no completion for vigild"
IFS=: read -r _ _ uid gid _ home shell < <(getent passwd vigil) ||
	fail "no user vigil"
[ "$uid" -lt 1000 ] || fail "vigil is not a system user (uid $uid)"
[ "$(getent group vigil | cut -d: -f3)" = "$gid" ] ||
	fail "vigil's group is not vigil"
[ "$home" = /var/lib/vigil ] || fail "vigil's home: $home"
case $shell in */nologin | /bin/false) ;; *) fail "vigil's shell: $shell" ;; esac
/usr/sbin/vigild --version | grep -Eq "^vigild ${ver//./\\.} \(commit " ||
	fail "vigild --version: $(/usr/sbin/vigild --version)"

# From the installed paths, on the installed configuration: vigild checks
# the backup job in a child that loads /usr/lib/vigil/libvigil-heavy.so.
run_rc rc runuser -u vigil -- /usr/sbin/vigild -n -c /etc/vigil/vigil.conf
[ "$rc" = 0 ] || { cat "$T/out" "$T/err"; fail "vigild -n as vigil: $rc"; }
has "$T/out" 'configuration OK'
run_rc rc /usr/bin/vigil -c /etc/vigil/vigil.conf config check
[ "$rc" = 0 ] || { cat "$T/out" "$T/err"; fail "vigil config check: $rc"; }
has "$T/out" 'configuration OK'
# The unit: systemd's own checks.
systemd-analyze verify /usr/lib/systemd/system/vigild.service >"$T/verify" 2>&1 ||
	{ cat "$T/verify"; fail "systemd-analyze verify"; }
[ ! -s "$T/verify" ] || { cat "$T/verify"; fail "systemd-analyze verify warns"; }
systemd-analyze security --offline=yes \
    /usr/lib/systemd/system/vigild.service >"$T/security" 2>&1 || true
score=$(sed -n 's/.*Overall exposure level for vigild.service: \([0-9.]*\).*/\1/p' "$T/security")
[ -n "$score" ] || { cat "$T/security"; fail "no security score"; }
awk -v s="$score" 'BEGIN { exit !(s <= 2.5) }' ||
	{ cat "$T/security"; fail "systemd-analyze security: $score > 2.5"; }
echo "systemd-analyze security: $score"

# --- Upgrade to revision 2, with an edited conffile and some state.
echo '# edited by the admin' >>/etc/vigil/vigil.conf
sed -i 's/log_level = "info"/log_level = "debug"/' /etc/vigil/vigil.conf
sum=$(sha256sum </etc/vigil/vigil.conf)
echo state >/var/lib/vigil/marker
dpkg -i "$deb2" >"$T/dpkg2" 2>&1 </dev/null || { cat "$T/dpkg2"; fail "upgrade"; }
[ "$(dpkg-query -W -f='${Version}' vigil)" = "${ver}-2" ] || fail "not upgraded"
[ "$(sha256sum </etc/vigil/vigil.conf)" = "$sum" ] ||
	fail "the upgrade replaced the edited conffile"
[ ! -e /etc/vigil/vigil.conf.dpkg-new ] || fail "a vigil.conf.dpkg-new"
check_stat 640 root vigil /etc/vigil/vigil.conf
[ -f /var/lib/vigil/marker ] || fail "the upgrade lost the state"
run_rc rc /usr/bin/vigil -c /etc/vigil/vigil.conf config check
[ "$rc" = 0 ] || { cat "$T/out" "$T/err"; fail "config check after upgrade"; }

# --- Remove: programs gone, configuration and state kept.
dpkg -r vigil >"$T/dpkg3" 2>&1 || { cat "$T/dpkg3"; fail "dpkg -r"; }
[ ! -e /usr/sbin/vigild ] && [ ! -e /usr/lib/vigil ] ||
	fail "remove left the programs"
[ "$(sha256sum </etc/vigil/vigil.conf)" = "$sum" ] || fail "remove lost the config"
[ -f /var/lib/vigil/marker ] || fail "remove lost the state"
getent passwd vigil >/dev/null || fail "remove deleted the user"

# --- Purge: configuration and state gone, the user stays.
dpkg -P vigil >"$T/dpkg4" 2>&1 || { cat "$T/dpkg4"; fail "dpkg -P"; }
dpkg-query -W -f='${Status}' vigil 2>/dev/null | grep -q 'ok \(installed\|config-files\)' &&
	fail "dpkg still knows vigil after purge"
[ ! -e /etc/vigil ] || { ls -lR /etc/vigil; fail "purge left /etc/vigil"; }
[ ! -e /var/lib/vigil ] || fail "purge left /var/lib/vigil"
getent passwd vigil >/dev/null || fail "purge deleted the user (Debian keeps it)"
echo "it_package: ok"
