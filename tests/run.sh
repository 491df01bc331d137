#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# run.sh: the whole test suite, as CI runs it.  Installs what the tests need,
# builds the release build/ as the README's first command does, builds with
# -Werror under AddressSanitizer and UBSan in build-test/, runs
# every unit and integration test with CTest, and fails if any test failed or
# was skipped (a skipped test means a peer it needs was missing).
#   tests/run.sh                 everything
#   tests/run.sh -L unit         only the unit tests (any ctest arguments)
set -euo pipefail
cd "$(dirname "$0")/.."

packaging/setup.sh --test
# The README's first command builds an optimised build/; -O2 finds warnings
# (-Werror) that the sanitizer build does not, so build that too.
packaging/setup.sh
cmake -S . -B build-test -DCMAKE_BUILD_TYPE=Debug -DVIGIL_SANITIZE=ON >/dev/null
cmake --build build-test -j"$(nproc)"

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:strict_string_checks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
log=build-test/ctest.log
set +e
(cd build-test && ctest --output-on-failure -j"$(nproc)" --timeout 600 "$@") 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
set -e
# CTest marks skipped scripts (exit 77); a cmocka skip() inside a unit test
# program that exits 0 only shows as "[  SKIPPED ]" in its output, which
# CTest keeps for every test, passed or not, in LastTest.log.
if grep -q '\*\*\*Skipped\|Not Run' "$log" ||
    grep -q '^\[  SKIPPED \]' build-test/Testing/Temporary/LastTest.log; then
	echo "run.sh: some tests were skipped; a skipped test fails the suite" >&2
	rc=1
fi
exit "$rc"
