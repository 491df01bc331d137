#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# history.sh: what the metric history (agent/history.c) costs, in one run.
#
# Runs bench_history (bench/history.c): SERIES series (default 500) over
# 30 days in the default tiers (10s:3h, 1m:2d, 10m:30d), every slot full,
# and beside it the peer, the same slots as naive 16-byte (t, v) points.
# Printed: bytes per series of both (as the history counts them and as
# the heap grew) and their ratio, what keeping every reading would take,
# the median and p90 time to add one batch of SERIES readings to the full
# history, and the size and save/load times of history.bin.
#   bench/history.sh [SERIES]      (BUILD=build: a Release build; made with
#                                   `cmake --build BUILD --target
#                                   bench_history` when missing)
# Not run in CI: it takes some 15 s.  The figures are in docs/ARCHITECTURE.md
# and vigil.conf(5) (http.history.memory_max).
set -euo pipefail
cd "$(dirname "$0")/.."
SERIES=${1:-500}
BUILD=${BUILD:-build}
if [ ! -x "$BUILD/tests/bench_history" ]; then
	[ -f "$BUILD/CMakeCache.txt" ] ||
		cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
	cmake --build "$BUILD" -j2 --target bench_history >/dev/null
fi
if grep -q 'VIGIL_SANITIZE:BOOL=ON' "$BUILD/CMakeCache.txt"; then
	echo "history.sh: $BUILD is a sanitizer build: heap figures would be 0" >&2
	exit 1
fi
T=$(mktemp -d /tmp/vigil-bench.XXXXXX)
trap 'rm -rf "$T"' EXIT
"$BUILD/tests/bench_history" "$SERIES" "$T"
