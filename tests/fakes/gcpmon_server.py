#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""gcpmon_server.py: a fake Google Cloud Monitoring API and metadata server
for the integration tests of the "gcp_monitoring" source.  Python standard
library only; 127.0.0.1.

  GET /computeMetadata/v1/instance/service-accounts/default/token
        a VM's metadata server (as tests/fakes/gcs_server.py): a token if
        the request says Metadata-Flavor: Google (403 otherwise).
  GET /v3/projects/P/timeSeries?filter=...&interval.startTime=...&
        interval.endTime=...&aggregation.alignmentPeriod=Ns&
        aggregation.perSeriesAligner=...[&pageToken=...]
        the bearer token checked (401 otherwise); one series per instance
        of the fleet that matches the filter's metric.type and
        metadata.user_labels."K" = "V" conditions, in the shape of the
        recorded answers (../shared/conformance/gcp/monitoring/), one
        point ending at interval.endTime, PAGE series a page.

Controls (no token): POST /_ctl {"values": {INSTANCE_NAME: V}, "default": V,
"throttle": N (the next N lists get 429 RESOURCE_EXHAUSTED), "expire":
true (every token issued so far expires now), "nodata": bool (no
series), "remove": [INSTANCE_NAME, ...] (gone from the fleet), "delay":
S (each list answers S seconds late)}; GET /_stats: tokens, unauthorized,
throttled, waiting (lists being held by the delay), calls (start, page
token or "", series sent).

    gcpmon_server.py --port-file FILE --fleet FILE [--page N]
"""

import argparse
import json
import os
import re
import secrets
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

META = "/computeMetadata/v1/instance/service-accounts/default/token"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--fleet", required=True)
    ap.add_argument("--page", type=int, default=2)
    ap.add_argument("--ttl", type=int, default=3600)
    a = ap.parse_args()
    lock = threading.Lock()
    st = {"tokens": {}, "values": {}, "default": 0.1, "throttle": 0,
          "nodata": False, "delay": 0, "fleet": json.load(open(a.fleet)),
          "stats": {"tokens": 0, "unauthorized": 0, "throttled": 0,
                    "waiting": 0, "calls": []}}

    class H(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def reply(self, code, obj, extra=()):
            b = json.dumps(obj).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(b)))
            for k, v in extra:
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(b)

        def gerror(self, code, status, msg):
            self.reply(code, {"error": {"code": code, "message": msg,
                                        "status": status}})

        def do_POST(self):
            n = int(self.headers.get("Content-Length", "0"))
            c = json.loads(self.rfile.read(n) or b"{}")
            if self.path != "/_ctl":
                return self.gerror(404, "NOT_FOUND", "no such path")
            with lock:
                st["values"].update(c.get("values", {}))
                if "remove" in c:
                    st["fleet"] = [i for i in st["fleet"]
                                   if i["name"] not in c["remove"]]
                for k in ("default", "throttle", "nodata", "delay"):
                    if k in c:
                        st[k] = c[k]
                if c.get("expire"):
                    for t in st["tokens"]:
                        st["tokens"][t] = 0
            self.reply(200, {})

        def do_GET(self):
            u = urllib.parse.urlsplit(self.path)
            q = urllib.parse.parse_qs(u.query)
            if u.path == "/_stats":
                with lock:
                    return self.reply(200, st["stats"])
            if u.path == META:
                if self.headers.get("Metadata-Flavor") != "Google":
                    return self.gerror(403, "PERMISSION_DENIED",
                                       "Metadata-Flavor: Google missing")
                t = "ya29.meta-" + secrets.token_urlsafe(24)
                with lock:
                    st["tokens"][t] = time.time() + a.ttl
                    st["stats"]["tokens"] += 1
                return self.reply(200, {"access_token": t,
                                        "expires_in": a.ttl,
                                        "token_type": "Bearer"},
                                  [("Metadata-Flavor", "Google")])
            m = re.fullmatch(r"/v3/projects/([^/]+)/timeSeries", u.path)
            if not m:
                return self.gerror(404, "NOT_FOUND", "no such path")
            h = self.headers.get("Authorization", "")
            with lock:
                ok = st["tokens"].get(h[7:], 0) > time.time() \
                    if h.startswith("Bearer ") else False
                if not ok:
                    st["stats"]["unauthorized"] += 1
                elif st["throttle"] > 0:
                    st["throttle"] -= 1
                    st["stats"]["throttled"] += 1
                    ok = None
            if ok is False:
                return self.gerror(401, "UNAUTHENTICATED",
                                   "Request had invalid authentication "
                                   "credentials.")
            if ok is None:
                return self.gerror(429, "RESOURCE_EXHAUSTED",
                                   "Quota exceeded for quota metric "
                                   "'Time series queries'.")
            with lock:
                delay = st["delay"]
                st["stats"]["waiting"] += 1 if delay > 0 else 0
            if delay > 0:
                time.sleep(delay)
                with lock:
                    st["stats"]["waiting"] -= 1
            return self.list(m.group(1), {k: v[0] for k, v in q.items()})

        def list(self, project, q):
            flt = q.get("filter", "")
            mt = re.search(r'metric\.type\s*=\s*"([^"]+)"', flt)
            conds = re.findall(r'metadata\.user_labels\."([^"]+)"\s*=\s*'
                               r'"([^"]*)"', flt)
            need = ("interval.startTime", "interval.endTime",
                    "aggregation.alignmentPeriod",
                    "aggregation.perSeriesAligner")
            if not mt or any(k not in q for k in need):
                return self.gerror(400, "INVALID_ARGUMENT",
                                   "filter or interval missing")
            end = q["interval.endTime"]
            with lock:
                fleet = [] if st["nodata"] else \
                    [i for i in st["fleet"]
                     if all(i["labels"].get(k) == v for k, v in conds)]
                vals = dict(st["values"])
                dflt = st["default"]
            skip = int(q.get("pageToken", "0") or 0)
            page = fleet[skip:skip + a.page]
            series = [{
                "metric": {"type": mt.group(1),
                           "labels": {"instance_name": i["name"]}},
                "resource": {"type": "gce_instance",
                             "labels": {"instance_id": i["id"],
                                        "zone": i["zone"],
                                        "project_id": project}},
                "metricKind": "GAUGE", "valueType": "DOUBLE",
                "metadata": {"userLabels": i["labels"]},
                "points": [{"interval": {"startTime": end, "endTime": end},
                            "value": {"doubleValue":
                                      float(vals.get(i["name"], dflt))}}]}
                for i in page]
            out = {"timeSeries": series} if series else {}
            if skip + a.page < len(fleet):
                out["nextPageToken"] = str(skip + a.page)
            with lock:
                st["stats"]["calls"].append(
                    {"start": q["interval.startTime"], "end": end,
                     "page": q.get("pageToken", ""), "series": len(series),
                     "aligner": q["aggregation.perSeriesAligner"],
                     "period": q["aggregation.alignmentPeriod"]})
            self.reply(200, out)

    srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
    tmp = a.port_file + ".tmp"
    with open(tmp, "w") as pf:
        pf.write("%d\n" % srv.server_address[1])
    os.rename(tmp, a.port_file)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
