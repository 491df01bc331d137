#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# metrics.sh: the cost of a /metrics scrape of about 2,000 series, vigild
# against Prometheus's node_exporter, in one run.
#
# vigild runs 16 process sources watching 1,008 names (2 series each:
# count and running) plus its own series, behind a read token; node_exporter
# (Debian's prometheus-node-exporter, installed here when missing) runs
# with its default collectors.  Each is scraped SCRAPES times (default
# 300) over one kept-alive connection.  Printed for each: series, bytes,
# median and p95 latency, CPU ms per scrape (utime + stime of the process
# over the run, from /proc/PID/stat), and per 1,000 series; then the
# ratio vigild / node_exporter per 1,000 series (below 1.0 is better).
#   bench/metrics.sh [SCRAPES]          (needs build/vigild: packaging/setup.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
SCRAPES=${1:-300}
VIGILD=${VIGILD:-build/vigild}
VIGIL=${VIGIL:-$(dirname "$VIGILD")/vigil}
[ -x "$VIGILD" ] || { echo "build vigild first: packaging/setup.sh" >&2; exit 1; }

T=$(mktemp -d /tmp/vigil-bench.XXXXXX)
chmod 700 "$T"
trap 'kill $(jobs -p) 2>/dev/null || true; [ -n "${KEEP:-}" ] || rm -rf "$T"' EXIT

NODE_EXPORTER=$(command -v prometheus-node-exporter || true)
if [ -z "$NODE_EXPORTER" ]; then
	SUDO=; [ "$(id -u)" -ne 0 ] && SUDO=sudo
	$SUDO apt-get install -y -qq --no-install-recommends prometheus-node-exporter >/dev/null 2>&1 ||
		echo "node_exporter not installable: vigild alone is measured" >&2
	NODE_EXPORTER=$(command -v prometheus-node-exporter || true)
fi

port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
VPORT=$(port)
NPORT=$(port)
"$VIGIL" token add bench --role read --file "$T/tokens" >"$T/tok" 2>/dev/null
# 16 process sources of 63 names (a source takes at most 64): 2,016 series.
srcs=$(python3 -c '
print(",\n".join("{ type = \"process\"; name = \"p%d\"; interval = \"10s\"; names = [ %s ]; }"
    % (s, ", ".join("\"b%02d_%02d\"" % (s, i) for i in range(63))) for s in range(16)))')
cat >"$T/vigil.conf" <<CONF
agent = { state_dir = "$T/state"; control_socket = "$T/vigild.sock"; };
http = { listen = "127.0.0.1:$VPORT"; tokens_file = "$T/tokens"; };
sources = ( $srcs );
CONF
chmod 600 "$T/vigil.conf"
"$VIGILD" -f -c "$T/vigil.conf" >"$T/vigild.log" 2>&1 &
VPID=$!
PIDS="vigild=$VPID"
if [ -n "$NODE_EXPORTER" ]; then
	"$NODE_EXPORTER" --web.listen-address="127.0.0.1:$NPORT" >"$T/ne.log" 2>&1 &
	PIDS="$PIDS node_exporter=$!"
fi
sleep 3

python3 - "$SCRAPES" "$(cat "$T/tok")" "$VPORT" "$NPORT" $PIDS <<'PY'
import http.client, os, statistics, sys, time
scrapes, token, vport, nport = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
procs = dict(a.split("=") for a in sys.argv[5:])
tick = os.sysconf("SC_CLK_TCK")

def cpu(pid):
    f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / tick   # utime + stime, seconds

res = {}
for name, pid in procs.items():
    p = vport if name == "vigild" else nport
    hdr = {"Authorization": "Bearer " + token} if name == "vigild" else {}
    c = http.client.HTTPConnection("127.0.0.1", p, timeout=10)
    lat, body = [], b""
    c0 = cpu(pid)
    for _ in range(scrapes):
        t = time.perf_counter()
        c.request("GET", "/metrics", headers=hdr)
        r = c.getresponse()
        body = r.read()
        lat.append(time.perf_counter() - t)
        assert r.status == 200, (name, r.status, body[:200])
    used = cpu(pid) - c0
    series = sum(1 for l in body.split(b"\n") if l and not l.startswith(b"#"))
    lat.sort()
    res[name] = dict(series=series, bytes=len(body), med=statistics.median(lat) * 1e3,
                     p95=lat[int(len(lat) * 0.95)] * 1e3, cpu=used * 1e3 / scrapes)
    r = res[name]
    print(f"{name:14s} {r['series']:5d} series {r['bytes']/1024:7.1f} KiB  "
          f"median {r['med']:6.2f} ms  p95 {r['p95']:6.2f} ms  CPU {r['cpu']:6.2f} ms/scrape  "
          f"per 1,000 series: {r['med']*1000/r['series']:5.2f} ms, CPU {r['cpu']*1000/r['series']:5.2f} ms")
if "node_exporter" in res:
    v, n = res["vigild"], res["node_exporter"]
    per = lambda r, k: r[k] / r["series"]
    print(f"ratio vigild/node_exporter per series: latency {per(v,'med')/per(n,'med'):.2f}, "
          f"CPU {per(v,'cpu')/max(per(n,'cpu'), 1e-9):.2f}")
PY
