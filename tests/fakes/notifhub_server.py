#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""notifhub_server.py: a fake Azure Notification Hub for the integration
tests of the "notification_hubs" notifier.  Python standard library only;
127.0.0.1.

  POST /HUB/messages/?api-version=2015-01
        the Authorization header must be a Service Bus SAS token,
        "SharedAccessSignature sr=..&sig=..&se=..&skn=..", checked against
        the connection string of --conn-file the way the service does: skn
        is its SharedAccessKeyName; sr the URL-encoded, lower-cased
        https://NAMESPACE/HUB; sig the base64 HMAC-SHA256 of "sr\\nse" under
        the bytes of its SharedAccessKey; se in the future and at most a day
        ahead.  Otherwise 401 with the hub's <Error><Code>401</Code>
        <Detail>...</Detail></Error> (InvalidSignature, ExpiredToken,
        MalformedToken).  A hub other than --hub: 404.  The body must be
        JSON, ServiceBusNotification-Format one of template, gcm, FcmV1
        (as Microsoft's pages write it) and apple; with template, an object
        of string properties.  Each notification is appended to --log as a
        JSON line {"format", "tags", "content_type", "apns" (the apns-*
        headers), "body" (parsed)}; the answer is 201 Created.

Controls (no token): POST /_ctl {"unavailable": N (the next N sends get 503),
"quota": N (the next N get 403 quota exceeded)}; GET /_stats {"sent",
"unauthorized", "unavailable", "quota", "details" (the 401 details)}.

    notifhub_server.py --conn-file FILE --hub NAME --log FILE
        --port-file FILE
"""

import argparse
import base64
import hashlib
import hmac
import json
import os
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

def parse_conn(s):
    kv = dict(p.split("=", 1) for p in s.strip().split(";") if p)
    host = urllib.parse.urlsplit(kv["Endpoint"]).hostname
    return host, kv["SharedAccessKeyName"], kv["SharedAccessKey"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--conn-file", required=True)
    ap.add_argument("--hub", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--port-file", required=True)
    a = ap.parse_args()
    host, key_name, key = parse_conn(open(a.conn_file).read())
    resource = "https://%s/%s" % (host, a.hub)
    lock = threading.Lock()
    st = {"unavailable": 0, "quota": 0,
          "stats": {"sent": 0, "unauthorized": 0, "unavailable": 0,
                    "quota": 0, "details": []}}

    class H(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def reply(self, code, body=b"", ctype="application/xml; charset=utf-8"):
            self.send_response(code)
            if body:
                self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if body:
                self.wfile.write(body)

        def error(self, code, detail):
            self.reply(code, ("<Error><Code>%d</Code><Detail>%s.TrackingId:"
                              "0f1e2d3c,TimeStamp:%s</Detail></Error>" %
                              (code, detail, time.strftime(
                                  "%m/%d/%Y %H:%M:%S"))).encode())

        def body(self):
            n = int(self.headers.get("Content-Length", "0"))
            return self.rfile.read(n) if n > 0 else b""

        def sas_problem(self):
            """None if the SAS token is good, else the hub's detail."""
            h = self.headers.get("Authorization", "")
            pre = "SharedAccessSignature "
            if not h.startswith(pre):
                return "MalformedToken: The credentials contained in the " \
                    "authorization header are not in the WRAP format"
            # Raw fields: the signature covers sr as sent (encoded).
            f = {}
            for part in h[len(pre):].split("&"):
                k, _, v = part.partition("=")
                f[k] = v
            if set(f) != {"sr", "sig", "se", "skn"}:
                return "MalformedToken: the token lacks sr, sig, se or skn"
            want_sr = urllib.parse.quote(resource.lower(), safe="").lower()
            if f["sr"] != want_sr:
                return "InvalidAudience: The token audience %s is not " \
                    "%s" % (f["sr"], want_sr)
            if f["skn"] != key_name:
                return "InvalidSignature: The token has an invalid " \
                    "signature (unknown key name %s)" % f["skn"]
            mac = hmac.new(key.encode(), (f["sr"] + "\n" + f["se"]).encode(),
                           hashlib.sha256).digest()
            good = base64.b64encode(mac).decode()
            if not hmac.compare_digest(urllib.parse.unquote(f["sig"]), good):
                return "InvalidSignature: The token has an invalid signature"
            try:
                se = int(f["se"])
            except ValueError:
                return "MalformedToken: se is not a number"
            if se <= time.time():
                return "ExpiredToken: The token is expired"
            if se > time.time() + 86400:
                return "InvalidToken: se is more than a day ahead"
            return None

        def do_GET(self):
            if self.path == "/_stats":
                with lock:
                    b = json.dumps(st["stats"]).encode()
                return self.reply(200, b, "application/json")
            self.error(404, "No such path")

        def do_POST(self):
            u = urllib.parse.urlsplit(self.path)
            if u.path == "/_ctl":
                c = json.loads(self.body() or b"{}")
                with lock:
                    for k in ("unavailable", "quota"):
                        st[k] = c.get(k, st[k])
                return self.reply(200)
            body = self.body()
            prob = self.sas_problem()
            if prob is not None:
                with lock:
                    st["stats"]["unauthorized"] += 1
                    st["stats"]["details"].append(prob)
                return self.error(401, prob)
            with lock:
                fault = None
                for k in ("unavailable", "quota"):
                    if st[k] > 0:
                        st[k] -= 1
                        st["stats"][k] += 1
                        fault = k
                        break
            if fault == "unavailable":
                return self.error(503, "The service is unavailable")
            if fault == "quota":
                return self.error(403, "QuotaExceeded: The daily push "
                                  "quota of the namespace is used up")
            if u.path != "/%s/messages/" % a.hub:
                return self.error(404, "No message branch at %s" % u.path)
            if urllib.parse.parse_qs(u.query).get("api-version") != \
                    ["2015-01"]:
                return self.error(400, "api-version is missing or unknown")
            # "FcmV1" as Microsoft's REST pages write it.
            fmt = self.headers.get("ServiceBusNotification-Format", "")
            if fmt not in ("template", "gcm", "FcmV1", "apple"):
                return self.error(400, "ServiceBusNotification-Format %r"
                                  % fmt)
            ctype = self.headers.get("Content-Type", "")
            if not ctype.startswith("application/json"):
                return self.error(400, "Content-Type %r" % ctype)
            try:
                doc = json.loads(body)
                if fmt == "template":
                    assert isinstance(doc, dict) and all(
                        isinstance(v, str) for v in doc.values())
            except (ValueError, AssertionError):
                return self.error(400, "The payload is not valid for "
                                  "format %s" % fmt)
            fmt = fmt.lower()
            rec = {"format": fmt,
                   "tags": self.headers.get("ServiceBusNotification-Tags"),
                   "content_type": ctype,
                   "apns": {k.lower(): v for k, v in self.headers.items()
                            if k.lower().startswith("apns-")},
                   "body": doc}
            with lock:
                st["stats"]["sent"] += 1
                with open(a.log, "a") as f:
                    f.write(json.dumps(rec) + "\n")
            self.reply(201)

    srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
    srv.daemon_threads = True
    tmp = a.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.rename(tmp, a.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    main()
