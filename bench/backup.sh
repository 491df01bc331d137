#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# backup.sh: our backup and restore against the usual pipelines, in one run.
#
# On a source tree (default: about 512 MiB copied from /usr/share and
# /usr/include into /tmp/vigil-bench-src, warm cache) it runs, each ROUNDS
# times (default 3) and interleaved so that drift hits all alike:
#   tar -czf - | openssl enc -aes-256-ctr -pbkdf2          (gzip -6, 1 core)
#   tar -cf - | pigz -p $(nproc) | openssl enc ...          (all cores)
#   vigil backup run bench                                   (to a local folder)
# and the matching restores (openssl enc -d | tar -xzf -, vigil restore), and
# prints the median MB/s (of source bytes) and seconds, the median CPU
# seconds (user + system, all processes of the run: on a shared machine
# less noisy than the wall clock), output size, peak RSS and the ratio of
# ours to each peer.  Not run in CI: it takes minutes.
#   bench/backup.sh [SOURCE_DIR]      (BENCH_MB=512 ROUNDS=3 VIGIL=build/vigil)
# The backups and both restores go to BENCH_DIR (default /dev/shm, a tmpfs,
# when it exists: restores are then measured without the disk).  With
# RESTORE_ONLY=1 the backup peers run not at all and vigil backup once;
# VIGIL_BASE=other/vigil adds that binary's restore to the rounds (before
# and after a change, same run).
# CLOUD=1 adds, in each round, backups of the same tree to one S3 server:
# moto_server on 127.0.0.1 (through tests/integration/moto_raw_query.py,
# every request's SigV4 checked, as in the tests), written by
#   vigil backup run bench-s3                                (type = "s3")
#   tar -cf - | pigz | openssl enc ... | aws s3 cp - s3://bench/KEY
# (moto and awscli installed with pip if missing), with vigil's peak RSS
# during its S3 backup and the ratio of the two.  moto is slow and both
# pay for it: the figures compare clients against one server, not S3.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3}
MB=${BENCH_MB:-512}
VIGIL=$(realpath "${VIGIL:-build/vigil}")
[ -x "$VIGIL" ] || { echo "build vigil first: packaging/setup.sh" >&2; exit 1; }
SRC=${1:-/tmp/vigil-bench-src}
BENCH_DIR=${BENCH_DIR:-/dev/shm}
[ -d "$BENCH_DIR" ] && [ -w "$BENCH_DIR" ] || BENCH_DIR=/tmp
W=$(mktemp -d "$BENCH_DIR/vigil-bench.XXXXXX")
BASE=
[ -n "${VIGIL_BASE:-}" ] && BASE=$(realpath "$VIGIL_BASE")
trap 'rm -rf "$W"' EXIT

need=()
command -v pigz >/dev/null || need+=(pigz)
[ -x /usr/bin/time ] || need+=(time)
if [ ${#need[@]} -gt 0 ]; then
	SUDO=; [ "$(id -u)" -ne 0 ] && SUDO=sudo
	$SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
CLOUD=${CLOUD:-0}
if [ "$CLOUD" = 1 ]; then
	python3 -c 'import moto.server, boto3' 2>/dev/null ||
		python3 -m pip install -q 'moto[server]' boto3
	command -v aws >/dev/null || python3 -m pip install -q awscli
	command -v aws >/dev/null || { echo "no aws command after pip install awscli" >&2; exit 1; }
fi

if [ ! -d "$SRC" ]; then
	echo "building a ${MB} MiB source tree in $SRC ..."
	python3 - "$SRC" "$MB" <<'PY'
import os, shutil, sys
dst, limit = sys.argv[1], int(sys.argv[2]) << 20
total = 0
for root in ("/usr/include", "/usr/share"):
    for d, dirs, files in os.walk(root):
        dirs.sort(); files.sort()
        for f in files:
            p = os.path.join(d, f)
            if os.path.islink(p) or not os.path.isfile(p):
                continue
            q = dst + p
            os.makedirs(os.path.dirname(q), exist_ok=True)
            try:
                shutil.copy2(p, q)
            except OSError:
                continue
            total += os.path.getsize(q)
            if total >= limit:
                sys.exit(0)
PY
fi
BYTES=$(du -sb "$SRC" | cut -f1)
NFILES=$(find "$SRC" -type f | wc -l)
echo "source: $SRC, $((BYTES >> 20)) MiB in $NFILES files; $(nproc) cores; $ROUNDS rounds; into $W"
tar -cf - -C "$SRC" . >/dev/null	# warm the cache

if [ "$CLOUD" = 1 ]; then
	# moto with SigV4 checked, as in tests/integration/lib.sh start_moto.
	MOTO_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	MOTO_EP="http://127.0.0.1:$MOTO_PORT"
	INITIAL_NO_AUTH_ACTION_COUNT=4 python3 tests/integration/moto_raw_query.py \
		-H 127.0.0.1 -p "$MOTO_PORT" >"$W/moto.log" 2>&1 &
	MOTO_PID=$!
	trap 'kill "$MOTO_PID" 2>/dev/null; wait "$MOTO_PID" 2>/dev/null; rm -rf "$W"' EXIT
	for _ in $(seq 100); do curl -s "$MOTO_EP/moto-api/" >/dev/null && break; sleep 0.2; done
	python3 tests/integration/moto_setup.py "$MOTO_EP" bench bench >"$W/moto.keys"
	read -r S3_AKID S3_SECRET <"$W/moto.keys"
	S3_TARGET="bench-s3 = { type = \"s3\"; bucket = \"bench\"; region = \"us-east-1\";
	    endpoint = \"$MOTO_EP\"; prefix = \"vigil\"; access_key_id = \"$S3_AKID\";
	    secret_access_key = \"$S3_SECRET\"; };"
	S3_JOB=", { name = \"bench-s3\"; paths = [ \"$SRC\" ]; storage = \"bench-s3\";
	    key_file = \"$W/bench.key\"; }"
	AWSENV="AWS_ACCESS_KEY_ID=$S3_AKID AWS_SECRET_ACCESS_KEY=$S3_SECRET AWS_DEFAULT_REGION=us-east-1 AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null"
	# s3_bytes PREFIX: the bytes stored under PREFIX in the bucket.
	s3_bytes() {
		env $AWSENV aws s3 ls --recursive --summarize "s3://bench/$1" \
			--endpoint-url "$MOTO_EP" | awk '/Total Size:/ { print $3 }'
	}
fi
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$W/pass"
chmod 600 "$W/pass"
"$VIGIL" key generate --symmetric --out "$W/bench.key" 2>/dev/null
cat >"$W/vigil.conf" <<CONF
agent = { state_dir = "$W/state"; control_socket = "$W/none.sock"; };
storage = { bench = { type = "local"; path = "$W/store"; }; ${S3_TARGET:-} };
backups = ( { name = "bench"; paths = [ "$SRC" ]; storage = "bench";
              key_file = "$W/bench.key"; keep_last = 1; } ${S3_JOB:-} );
CONF
chmod 600 "$W/vigil.conf"
ENC="openssl enc -aes-256-ctr -pbkdf2 -pass file:$W/pass"
DEC="openssl enc -d -aes-256-ctr -pbkdf2 -pass file:$W/pass"

# measure NAME CMD: run CMD under /usr/bin/time; append
# "NAME secs rss_kb cpu_secs".
measure() {
	local name=$1 t0 t1
	shift
	sync
	t0=$(date +%s.%N)
	/usr/bin/time -f "%M %U %S" -o "$W/rss" bash -c "$*" >/dev/null 2>"$W/err" ||
		{ echo "$name failed:" >&2; cat "$W/err" >&2; exit 1; }
	t1=$(date +%s.%N)
	echo "$name $(python3 -c "print($t1 - $t0)") $(tail -n1 "$W/rss" |
		awk '{ print $1, $2 + $3 }')" >>"$W/results"
}

backup_round() {
	rm -rf "$W/store" "$W/state" "$W/out"*
	if [ "${RESTORE_ONLY:-0}" = 1 ]; then
		tar -czf - -C "$SRC" . | $ENC >"$W/out.gz.enc"
		cp "$W/out.gz.enc" "$W/out.pigz.enc"
		VIGIL_CONFIG="$W/vigil.conf" "$VIGIL" backup run bench >/dev/null
	else
		measure tar-gzip-openssl "tar -czf - -C '$SRC' . | $ENC > '$W/out.gz.enc'"
		measure tar-pigz-openssl "tar -cf - -C '$SRC' . | pigz -p $(nproc) | $ENC > '$W/out.pigz.enc'"
		measure vigil-backup "VIGIL_CONFIG='$W/vigil.conf' '$VIGIL' backup run bench"
	fi
	if [ "$CLOUD" = 1 ]; then
		env $AWSENV aws s3 rm --recursive --quiet s3://bench/ --endpoint-url "$MOTO_EP"
		measure vigil-backup-s3 "VIGIL_CONFIG='$W/vigil.conf' '$VIGIL' backup run bench-s3"
		measure tar-pigz-openssl-aws-s3 "tar -cf - -C '$SRC' . | pigz -p $(nproc) | $ENC |
			env $AWSENV aws s3 cp - s3://bench/pipeline/out.pigz.enc --endpoint-url '$MOTO_EP'"
		echo "vigil-backup-s3 $(s3_bytes vigil/)" >"$W/sizes"
		echo "tar-pigz-openssl-aws-s3 $(s3_bytes pipeline/)" >>"$W/sizes"
	fi
	OUT_GZ=$(stat -c %s "$W/out.gz.enc")
	OUT_PIGZ=$(stat -c %s "$W/out.pigz.enc")
	OUT_VIGIL=$(du -sb "$W/store" | cut -f1)
	DATA_VIGIL=$(find "$W/store" -name data.vgl -printf '%s\n' | head -n1)
}

for ((r = 1; r <= ROUNDS; r++)); do
	echo "round $r ..."
	if [ "$r" = 1 ] || [ "${RESTORE_ONLY:-0}" != 1 ]; then
		backup_round
	fi
	rm -rf "$W/r1" "$W/r2" "$W/r3"; mkdir "$W/r1" "$W/r2" "$W/r3"
	measure restore-openssl-tar "$DEC < '$W/out.gz.enc' | tar -xzf - -C '$W/r1'"
	measure vigil-restore "VIGIL_CONFIG='$W/vigil.conf' '$VIGIL' restore bench/latest --to '$W/r2'"
	diff -r "$SRC" "$W/r2$SRC" >/dev/null || { echo "vigil restore differs from the source!" >&2; exit 1; }
	if [ -n "$BASE" ]; then
		measure vigil-restore-base "VIGIL_CONFIG='$W/vigil.conf' '$BASE' restore bench/latest --to '$W/r3'"
	fi
	rm -rf "$W/r1" "$W/r2" "$W/r3"
done

[ -f "$W/sizes" ] || : >"$W/sizes"
python3 - "$W/results" "$BYTES" "$OUT_GZ" "$OUT_PIGZ" "$OUT_VIGIL" "$DATA_VIGIL" "$W/sizes" <<'PY'
import statistics, sys
res, size = {}, int(sys.argv[2])
out = {"tar-gzip-openssl": int(sys.argv[3]), "tar-pigz-openssl": int(sys.argv[4]),
       "vigil-backup": int(sys.argv[5])}
for line in open(sys.argv[7]):
    name, n = line.split()
    out[name] = int(n)
for line in open(sys.argv[1]):
    name, secs, rss, cpu = line.split()
    res.setdefault(name, []).append((float(secs), int(rss), float(cpu)))
def secs(n):
    return statistics.median(s for s, _, _ in res[n])
def mbps(n):
    return size / 1e6 / secs(n)
print("\n%-22s %9s %9s %9s %12s %12s" % ("run", "median s", "MB/s", "CPU s", "output", "peak RSS"))
for n in res:
    o = "%.1f MiB" % (out[n] / 2**20) if n in out else "-"
    print("%-22s %9.2f %9.1f %9.2f %12s %9.1f MiB" % (n, secs(n), mbps(n),
          statistics.median(c for _, _, c in res[n]), o,
          max(r for _, r, _ in res[n]) / 1024))
print()
if "vigil-backup" in res:
    print("backup  vs tar|gzip|openssl : %.2fx  (target >= 4)" % (mbps("vigil-backup") / mbps("tar-gzip-openssl")))
    print("backup  vs tar|pigz|openssl : %.2fx  (target >= 1.8)" % (mbps("vigil-backup") / mbps("tar-pigz-openssl")))
    print("output  vs gzip -6          : %.3f   (target <= 1; the whole backup: data, file index, manifest)" % (out["vigil-backup"] / out["tar-gzip-openssl"]))
    print("data.vgl vs gzip -6         : %.3f   (the tar.gz alone)" % (int(sys.argv[6]) / out["tar-gzip-openssl"]))
print("restore vs openssl|tar -xz  : %.2fx  (target >= 3)" % (mbps("vigil-restore") / mbps("restore-openssl-tar")))
if "vigil-backup-s3" in res:
    print("S3 backup vs tar|pigz|openssl|aws s3 cp : %.2fx  (both to the same moto_server)" % (mbps("vigil-backup-s3") / mbps("tar-pigz-openssl-aws-s3")))
    print("vigil peak RSS, S3 backup   : %.1f MiB  (the pipeline's largest process: %.1f MiB)" % (
        max(r for _, r, _ in res["vigil-backup-s3"]) / 1024,
        max(r for _, r, _ in res["tar-pigz-openssl-aws-s3"]) / 1024))
if "vigil-restore-base" in res:
    print("base restore vs openssl|tar : %.2fx  (VIGIL_BASE)" % (mbps("vigil-restore-base") / mbps("restore-openssl-tar")))
PY
