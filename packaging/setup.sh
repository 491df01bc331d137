#!/usr/bin/env bash
# setup.sh: install what vigil needs from Debian's packages, then build it.
#   packaging/setup.sh            build dependencies, then a release build in build/
#   packaging/setup.sh --test     also what the test suite needs (no build)
# Safe to run again: apt-get only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD_DEPS=(build-essential cmake pkg-config libcurl4-openssl-dev libssl-dev
	libarchive-dev libconfig-dev libjansson-dev libxml2-dev libdeflate-dev
	libmicrohttpd-dev libcmocka-dev
	nodejs  # npm ci of the web page's uPlot (agent/httpd/www), embedded at build time
	rpm)  # rpmbuild, for the .rpm of `cmake --build build --target package`
TEST_DEPS=(python3 python3-cryptography prometheus prometheus-alertmanager curl gzip tar xz-utils attr acl
	python3-azure
	chromium fonts-dejavu-core   # tests/web/page.mjs, the page in a real browser
	lintian rpmlint groff-base   # tests/integration/it_package.sh, man pages
	debootstrap systemd-container)  # it_package_boot.sh

want=("${BUILD_DEPS[@]}")
[ "${1:-}" = "--test" ] && want+=("${TEST_DEPS[@]}")

missing=()
for p in "${want[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	SUDO=
	[ "$(id -u)" -ne 0 ] && SUDO=sudo
	echo "setup: installing ${missing[*]}"
	$SUDO apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# npm: Debian's nodejs comes without it (other builds of nodejs bring their
# own, which Debian's npm would clash with).
if ! command -v npm >/dev/null; then
	SUDO=
	[ "$(id -u)" -ne 0 ] && SUDO=sudo
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends npm >/dev/null
fi
# uPlot for the web page, as pinned by agent/httpd/www/package-lock.json:
# CMake embeds its dist files into libvigil-heavy.so (cmake/WebAssets.cmake).
(cd agent/httpd/www && npm ci --no-audit --no-fund --loglevel=error)
if [ "${1:-}" = "--test" ]; then
	# Azurite, the Azure Blob server of it_azure.sh, and playwright-core,
	# which drives chromium in it_web_page.sh, as pinned by
	# tests/package-lock.json.
	(cd tests && npm ci --no-audit --no-fund --loglevel=error)
	# A Debian 12 tree that it_package_boot.sh boots with systemd-nspawn
	# (read-only, changes in a tmpfs), made once per machine.
	ROOTFS=${VIGIL_BOOT_ROOTFS:-/var/cache/vigil-test/bookworm}
	if [ ! -x "$ROOTFS/usr/lib/systemd/systemd" ]; then
		SUDO=
		[ "$(id -u)" -ne 0 ] && SUDO=sudo
		echo "setup: debootstrap $ROOTFS (once)"
		$SUDO rm -rf "$ROOTFS.new"
		$SUDO mkdir -p "$(dirname "$ROOTFS")"
		$SUDO debootstrap --variant=minbase \
			--include=systemd,systemd-sysv,dbus bookworm "$ROOTFS.new" \
			>/dev/null
		$SUDO mv "$ROOTFS.new" "$ROOTFS"
	fi
	exit 0
fi

cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVIGIL_TESTS=OFF >/dev/null
cmake --build build -j"$(nproc)"
echo "setup: built build/vigild and build/vigil"
