#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""azmon_server.py: a fake of Azure Monitor metrics, Azure Resource Manager's
resources list and the Microsoft Entra ID token endpoint, for the
integration tests of the "azure_monitor" source.  Python standard library
only; 127.0.0.1.

  POST /TENANT/oauth2/v2.0/token     client credentials with a secret: a
        random token for the scope's audience (https://management.azure.com
        or https://metrics.monitor.azure.com), remembered with its expiry.
  GET  /subscriptions/SUB/resources?$filter=...&api-version=2021-04-01
        the fleet (tagName/tagValue or resourceType filter), PAGE entries a
        page with a nextLink back here.  ARM token.
  GET  RESOURCE_ID/providers/Microsoft.Insights/metrics?metricnames=...&
        aggregation=...&interval=...&timespan=A/B&api-version=2023-10-01
        ARM token.  The shape of the 2023-10-01 examples
        (../shared/conformance/azure/monitor-metrics/): one Metric per
        name, one time series (with a dimension when $filter asks for
        "D eq '*'"), a data point per grain of the timespan.
  POST /subscriptions/SUB/metrics:getBatch?...&starttime=A&endtime=B
        {"resourceids": [...]} (at most 50): {"values": [...]} per id.
        Token for https://metrics.monitor.azure.com.

Every bearer token is checked: unknown, expired or for another audience
gets 401 with ARM's error body.  Values are the test's: POST /_ctl with
{"values": {RESOURCE_ID: V}, "default": V, "throttle": N (the next N
metric calls get 429 with Retry-After: "retry_after", default 1 s; only
those of "throttle_kind", "metrics" or "batch", if given), "expire": true (every token
issued so far expires now), "nodata": bool (points carry no aggregation,
as Azure sends an empty grain), "fleet": [...] (replaces it), "fail_lists":
N (the next N resources lists get 500)}.  GET /_stats
gives what was served: grants, 401s, 429s, the metric calls (kind, the
number of ids or names, start) and resource lists.

    azmon_server.py --client-id ID --secret-file FILE --port-file FILE
                    --fleet FILE [--page N]
"""

import argparse
import calendar
import json
import os
import re
import secrets
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ARM_AUD = "https://management.azure.com"
BATCH_AUD = "https://metrics.monitor.azure.com"


def grain_s(s):
    m = re.fullmatch(r"PT(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?", s or "")
    if not m or not any(m.groups()):
        return None
    h, mi, se = (int(x or 0) for x in m.groups())
    return h * 3600 + mi * 60 + se


def parse_t(s):
    s = s.replace(".000Z", "Z")
    return calendar.timegm(time.strptime(s, "%Y-%m-%dT%H:%M:%SZ"))


def fmt_t(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--client-id", required=True)
    ap.add_argument("--secret-file", required=True)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--fleet", required=True)
    ap.add_argument("--page", type=int, default=20)
    ap.add_argument("--ttl", type=int, default=3600)
    a = ap.parse_args()
    secret = open(a.secret_file).read().strip()
    lock = threading.Lock()
    st = {"tokens": {}, "values": {}, "default": 10.0, "throttle": 0,
          "nodata": False, "fail_lists": 0,
          "throttle_kind": "", "retry_after": 1,
          "fleet": json.load(open(a.fleet)),
          "stats": {"grants": 0, "unauthorized": 0, "throttled": 0,
                    "calls": [], "lists": 0, "pages": 0,
                    "lists_failed": 0, "throttled_at": []}}
    tok_re = re.compile(r"^/([A-Za-z0-9.-]+)/oauth2/v2\.0/token$")

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

        def arm_error(self, code, ecode, msg, extra=()):
            self.reply(code, {"error": {"code": ecode, "message": msg}},
                       extra)

        def body(self):
            n = int(self.headers.get("Content-Length", "0"))
            return self.rfile.read(n)

        def authorized(self, aud):
            h = self.headers.get("Authorization", "")
            t = h[7:] if h.startswith("Bearer ") else ""
            with lock:
                info = st["tokens"].get(t)
                if info is None or info[1] <= time.time() or \
                        info[0] != aud:
                    st["stats"]["unauthorized"] += 1
                    why = ("InvalidAuthenticationToken",
                           "The access token is invalid.") \
                        if info is None else \
                        ("ExpiredAuthenticationToken",
                         "The access token expiry UTC time is earlier "
                         "than current UTC time.") \
                        if info[1] <= time.time() else \
                        ("InvalidAuthenticationTokenAudience",
                         "The access token has been obtained for wrong "
                         "audience or resource '%s'." % info[0])
                else:
                    return True
            self.arm_error(401, why[0], why[1])
            return False

        def throttled(self, kind):
            with lock:
                if st["throttle"] <= 0 or \
                        st["throttle_kind"] not in ("", kind):
                    return False
                st["throttle"] -= 1
                st["stats"]["throttled"] += 1
                st["stats"]["throttled_at"].append(time.time())
                ra = st["retry_after"]
            self.arm_error(429, "TooManyRequests",
                           "The request was throttled.",
                           [("Retry-After", str(ra))])
            return True

        def do_GET(self):
            u = urllib.parse.urlsplit(self.path)
            q = {k: v[0] for k, v in urllib.parse.parse_qs(u.query).items()}
            if u.path == "/_stats":
                with lock:
                    return self.reply(200, st["stats"])
            m = re.fullmatch(r"/subscriptions/([^/]+)/resources", u.path)
            if m:
                if not self.authorized(ARM_AUD):
                    return
                return self.resources(m.group(1), q)
            m = re.fullmatch(r"(/subscriptions/.+)/providers/"
                             r"Microsoft\.Insights/metrics", u.path,
                             re.I)
            if m:
                if not self.authorized(ARM_AUD) or self.throttled("metrics"):
                    return
                if q.get("api-version") != "2023-10-01":
                    return self.arm_error(400, "BadRequest",
                                          "api-version")
                rid = urllib.parse.unquote(m.group(1))
                a0, a1 = q.get("timespan", "/").split("/")
                res = self.metrics(rid, q, parse_t(a0), parse_t(a1))
                if res is None:
                    return
                names = q.get("metricnames", "").split(",")
                with lock:
                    st["stats"]["calls"].append(
                        {"kind": "metrics", "n": 1, "names": len(names),
                         "start": a0, "id": rid})
                return self.reply(200, {
                    "cost": 0, "timespan": q["timespan"],
                    "interval": q.get("interval"),
                    "namespace": q.get("metricnamespace", ""),
                    "resourceregion": "westeurope", "value": res})
            self.arm_error(404, "NotFound", "no such path")

        def do_POST(self):
            u = urllib.parse.urlsplit(self.path)
            q = {k: v[0] for k, v in urllib.parse.parse_qs(u.query).items()}
            body = self.body()
            m = tok_re.match(u.path)
            if m:
                return self.grant(body)
            if u.path == "/_ctl":
                c = json.loads(body)
                with lock:
                    for k, v in c.get("values", {}).items():
                        st["values"][k.lower()] = v
                    if "default" in c:
                        st["default"] = c["default"]
                    if "throttle" in c:
                        st["throttle"] = c["throttle"]
                    if "nodata" in c:
                        st["nodata"] = c["nodata"]
                    for k in ("throttle_kind", "retry_after"):
                        if k in c:
                            st[k] = c[k]
                    if "fail_lists" in c:
                        st["fail_lists"] = c["fail_lists"]
                    if "fleet" in c:
                        st["fleet"] = c["fleet"]
                    if c.get("expire"):
                        for t in st["tokens"]:
                            st["tokens"][t] = (st["tokens"][t][0],
                                               time.time() - 1)
                return self.reply(200, {})
            m = re.fullmatch(r"/subscriptions/([^/]+)/metrics:getBatch",
                             u.path)
            if m:
                if not self.authorized(BATCH_AUD) or \
                        self.throttled("batch"):
                    return
                ids = json.loads(body).get("resourceids", [])
                if not ids or len(ids) > 50:
                    return self.arm_error(400, "BadRequest",
                                          "1 to 50 resourceids")
                a0, a1 = q.get("starttime"), q.get("endtime")
                vals = []
                for rid in ids:
                    res = self.metrics(rid, q, parse_t(a0), parse_t(a1))
                    if res is None:
                        return
                    vals.append({"starttime": a0, "endtime": a1,
                                 "interval": q.get("interval"),
                                 "namespace": q.get("metricnamespace"),
                                 "resourceregion": "westeurope",
                                 "resourceid": rid, "value": res})
                with lock:
                    st["stats"]["calls"].append(
                        {"kind": "batch", "n": len(ids),
                         "names": len(q.get("metricnames", "").split(",")),
                         "start": a0})
                return self.reply(200, {"values": vals})
            self.arm_error(404, "NotFound", "no such path")

        def metrics(self, rid, q, t0, t1):
            g = grain_s(q.get("interval"))
            agg = q.get("aggregation", "")
            if g is None or agg not in ("average", "minimum", "maximum",
                                        "total", "count"):
                self.arm_error(400, "BadRequest", "interval, aggregation")
                return None
            flt = q.get("$filter", q.get("filter", ""))
            dm = re.fullmatch(r"(\w+) eq '\*'", flt)
            with lock:
                v = st["values"].get(rid.lower(), st["default"])
                nodata = st["nodata"]
            out = []
            for name in q.get("metricnames", "").split(","):
                data = []
                t = t0 - t0 % g
                while t < t1:
                    p = {"timeStamp": fmt_t(t)}
                    if not nodata:
                        p[agg] = float(v)
                    data.append(p)
                    t += g
                md = [{"name": {"value": dm.group(1).lower(),
                                "localizedValue": dm.group(1)},
                       "value": "all"}] if dm else []
                out.append({
                    "id": rid + "/providers/Microsoft.Insights/metrics/" +
                    name, "type": "Microsoft.Insights/metrics",
                    "name": {"value": name, "localizedValue": name},
                    "unit": "Percent",
                    "timeseries": [{"metadatavalues": md, "data": data}],
                    "errorCode": "Success"})
            return out

        def resources(self, sub, q):
            flt = q.get("$filter", "")
            m = re.fullmatch(r"tagName eq '(.*)' and tagValue eq '(.*)'",
                             flt)
            mt = re.fullmatch(r"resourceType eq '(.*)'", flt)
            with lock:
                if st["fail_lists"] > 0:
                    st["fail_lists"] -= 1
                    st["stats"]["lists_failed"] += 1
                    fail = True
                else:
                    fail = False
            if fail:
                return self.arm_error(500, "InternalServerError",
                                      "Encountered internal server error.")
            with lock:
                st["stats"]["pages"] += 1
                if "$skiptoken" not in q:
                    st["stats"]["lists"] += 1
                fleet = [r for r in st["fleet"]
                         if r["id"].lower().startswith(
                             "/subscriptions/%s/" % sub.lower())]
            if m:
                fleet = [r for r in fleet
                         if r.get("tags", {}).get(m.group(1)) == m.group(2)]
            elif mt:
                fleet = [r for r in fleet
                         if r["type"].lower() == mt.group(1).lower()]
            else:
                return self.arm_error(400, "InvalidFilterInQueryString",
                                      "filter")
            skip = int(q.get("$skiptoken", "0"))
            page = fleet[skip:skip + a.page]
            out = {"value": [dict(r, name=r["id"].rsplit("/", 1)[1])
                             for r in page]}
            if skip + a.page < len(fleet):
                nq = dict(q)
                nq["$skiptoken"] = str(skip + a.page)
                out["nextLink"] = "http://127.0.0.1:%d%s?%s" % (
                    self.server.server_address[1], self.path.split("?")[0],
                    urllib.parse.urlencode(nq))
            self.reply(200, out)

        def grant(self, body):
            f = {k: v[0] for k, v in urllib.parse.parse_qs(
                body.decode()).items()}
            scope = f.get("scope", "")
            if f.get("grant_type") != "client_credentials" or \
                    not scope.endswith("/.default"):
                return self.reply(400, {"error": "invalid_request",
                                        "error_description":
                                        "AADSTS900144: grant_type"})
            if f.get("client_id") != a.client_id or \
                    not secrets.compare_digest(
                        f.get("client_secret", ""), secret):
                return self.reply(401, {"error": "invalid_client",
                                        "error_description":
                                        "AADSTS7000215: Invalid client "
                                        "secret provided."})
            t = secrets.token_urlsafe(32)
            with lock:
                st["tokens"][t] = (scope[:-len("/.default")],
                                   time.time() + a.ttl)
                st["stats"]["grants"] += 1
            self.reply(200, {"token_type": "Bearer", "expires_in": a.ttl,
                             "ext_expires_in": a.ttl, "access_token": t})

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
