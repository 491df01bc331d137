#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# run.sh: build the fuzzing targets with clang and libFuzzer and fuzz them.
# Run on demand, not in CI (CI replays the seeds: ctest -R fuzz_).
#
#   tests/fuzz/run.sh [-t SECONDS] [-j JOBS] [-k] [-B DIR] [TARGET ...]
#
#   -t SECONDS  fuzz each target this long (default 60)
#   -j JOBS     targets fuzzed at the same time (default 1)
#   -k          keep going after a crash (libFuzzer's fork mode with
#               -ignore_crashes/-ignore_timeouts/-ignore_ooms), so one
#               known bug does not hide the next
#   -B DIR      build folder (default build-fuzz/ in the source tree)
#   TARGET      conf, format, manifest, ... (default: every
#               tests/fuzz/fuzz_<name>.c)
#
# Installs clang and its libFuzzer runtime with apt-get if they are missing
# (Debian: clang, libclang-rt-<version>-dev), builds the whole tree with
# -fsanitize=fuzzer-no-link,address,undefined in DIR, and fuzzes each target
# with its seeds from tests/fuzz/corpus/<name>/ (read only) and a working
# corpus in DIR/corpus/<name>/ that grows from run to run.  Crashing,
# leaking and hanging inputs land in DIR/crashes/<name>/; the summary names
# them with the command that replays one.  Exit status 1 if this run found
# any.
set -euo pipefail
cd "$(dirname "$0")/../.."
src=$PWD

secs=60
jobs=1
keep=0
build=$src/build-fuzz
while getopts "t:j:kB:h" o; do
	case $o in
	t) secs=$OPTARG ;;
	j) jobs=$OPTARG ;;
	k) keep=1 ;;
	B) build=$OPTARG ;;
	*) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
mkdir -p "$build"
build=$(cd "$build" && pwd)

if [ $# -gt 0 ]; then
	targets=("$@")
else
	targets=()
	for f in tests/fuzz/fuzz_*.c; do
		n=${f##*/fuzz_}
		targets+=("${n%.c}")
	done
fi
for t in "${targets[@]}"; do
	[ -f "tests/fuzz/fuzz_$t.c" ] ||
		{ echo "run.sh: no target $t (tests/fuzz/fuzz_$t.c)" >&2; exit 2; }
done

# --- setup: build dependencies, clang and libFuzzer --------------------
as_root() {
	if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}
libfuzzer_links() {
	local d
	d=$(mktemp -d)
	printf '%s\n' '#include <stddef.h>' '#include <stdint.h>' \
	    'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);' \
	    'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)' \
	    '{ return d == 0 && n; }' >"$d/t.c"
	clang -fsanitize=fuzzer,address,undefined "$d/t.c" -o "$d/t" \
	    >/dev/null 2>&1
	local rc=$?
	rm -rf "$d"
	return $rc
}
packaging/setup.sh --test
if ! command -v clang >/dev/null || ! libfuzzer_links; then
	as_root apt-get update -qq
	DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq \
	    --no-install-recommends clang >/dev/null
	ver=$(clang --version | sed -n 's/.*clang version \([0-9]*\).*/\1/p' |
	    head -n1)
	DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq \
	    --no-install-recommends "libclang-rt-$ver-dev" >/dev/null
	libfuzzer_links || { echo "run.sh: clang cannot link" \
	    "-fsanitize=fuzzer even after installing libclang-rt-$ver-dev" >&2
	    exit 1; }
fi

# --- build ---------------------------------------------------------------
cmake -S . -B "$build" -DCMAKE_C_COMPILER=clang \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVIGIL_SANITIZE=ON \
    -DCMAKE_C_FLAGS=-fsanitize=fuzzer-no-link >/dev/null
grep -q '^VIGIL_HAVE_LIBFUZZER:INTERNAL=1' "$build/CMakeCache.txt" || {
	echo "run.sh: CMake did not find libFuzzer (see $build/CMakeFiles)" >&2
	exit 1
}
cmake --build "$build" -j"$(nproc)" --target fuzzers

# --- fuzz ----------------------------------------------------------------
tmp=$(mktemp -d "$([ -w /dev/shm ] && echo /dev/shm || echo /tmp)/vigil-fuzz-run.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
export VIGIL_FUZZ_TMP=$tmp
export ASAN_OPTIONS=detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export LSAN_OPTIONS=suppressions=$src/tests/fuzz/lsan.supp:print_suppressions=0
mkdir -p "$build/logs"
# A fresh marker: artifacts newer than it are this run's findings.
stamp=$build/logs/.stamp
touch "$stamp"

dict_for() {
	case $1 in
	conf | schedule | proc) echo "tests/fuzz/dict/$1.dict" ;;
	manifest | index | notify | rules | job) echo tests/fuzz/dict/json.dict ;;
	esac
}

fuzz_one() {
	local t=$1 dict args
	mkdir -p "$build/corpus/$t" "$build/crashes/$t"
	args=(-max_total_time="$secs" -timeout=10 -rss_limit_mb=2048
	    -malloc_limit_mb=1024 -print_final_stats=1
	    -artifact_prefix="$build/crashes/$t/")
	dict=$(dict_for "$t")
	[ -n "$dict" ] && args+=(-dict="$dict")
	[ "$keep" = 1 ] && args+=(-fork=1 -ignore_crashes=1
	    -ignore_timeouts=1 -ignore_ooms=1)
	echo "run.sh: fuzzing $t for ${secs}s (log: $build/logs/$t.log)"
	"$build/tests/fuzz_$t" "${args[@]}" "$build/corpus/$t" \
	    "tests/fuzz/corpus/$t" >"$build/logs/$t.log" 2>&1 || true
}

for t in "${targets[@]}"; do
	while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do
		wait -n || true
	done
	fuzz_one "$t" &
done
wait

# --- summary -------------------------------------------------------------
# triage TARGET FILE...: replay each finding and group them by what failed:
# the harness's "property violated" sentence (numbers and quoted text
# dropped), or the sanitizer's SUMMARY line and the first frame in our
# code.  One example file per group.
triage() {
	local t=$1 f sig
	shift
	for f in "$@"; do
		sig=$(timeout 60 "$build/tests/fuzz_$t" "$f" 2>&1 | awk -v src="$src/" '
		    /property violated:/ {
			sub(/.*property violated: /, "")
			sub(/: [{[].*/, "")
			gsub(/"[^"]*"/, "\"\"")
			gsub(/[0-9]+/, "N")
			print "property: " substr($0, 1, 100); exit
		    }
		    /^SUMMARY:/ { sum = $0; sub(/ \(.*\)/, "", sum) }
		    sum == "" && frame == "" && /^ *#[0-9]+ / && index($0, src) {
			frame = $0; sub(/.* in /, "", frame)
			sub(src, "", frame)
		    }
		    END { if (sum != "") print sum " at " frame }') || true
		[ -n "$sig" ] || sig="no failure on replay (flaky, or a timeout/oom)"
		printf '%s\t%s\n' "$sig" "$f"
	done | sort | awk -F '\t' '
	    $1 != last { if (n) printf "    %4d x %s\n           e.g. %s\n", n, last, ex
		last = $1; ex = $2; n = 0 }
	    { n++ }
	    END { if (n) printf "    %4d x %s\n           e.g. %s\n", n, last, ex }'
}

found=0
echo
printf '%-10s %10s %8s %8s  %s\n' target execs cov corpus findings
for t in "${targets[@]}"; do
	log=$build/logs/$t.log
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" |
	    awk '{ n += $1 } END { print n + 0 }')
	# Fork mode (-k) prints no stats, only "#N: cov: ..." lines.
	[ "$execs" = 0 ] && execs=$(sed -n 's/^#\([0-9]*\):* .*/\1/p' "$log" |
	    tail -n1)
	cov=$( (grep -o 'cov: [0-9]*' "$log" || true) | tail -n1 | cut -d' ' -f2)
	n=$(find "$build/corpus/$t" -type f | wc -l)
	new=$(find "$build/crashes/$t" -type f -newer "$stamp" | sort)
	printf '%-10s %10s %8s %8s  %s\n' "$t" "${execs:-?}" "${cov:-?}" \
	    "$n" "$(echo "$new" | grep -c . || true)"
	if [ -n "$new" ]; then
		found=1
		triage "$t" $new
	fi
done
if [ "$found" = 1 ]; then
	echo
	echo "Replay one: $build/tests/fuzz_<target> FILE; keep a" \
	    "minimized copy in tests/fuzz/crashes/<target>/ (see its README)."
	echo "Logs: $build/logs/"
fi
exit "$found"
