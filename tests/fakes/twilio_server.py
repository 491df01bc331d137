#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""twilio_server.py: a fake of Twilio's Messages API for the sms notifier.

POST /2010-04-01/Accounts/{AccountSid}/Messages.json with a form body
(To, From or MessagingServiceSid, Body) and HTTP basic auth: the user must
be the account SID of the path and of --sid, the password --token, else
401 with Twilio's error JSON (code 20003, "Authenticate").  A missing To or
Body, or both or neither of From and MessagingServiceSid, is 400 (code
21604 / 21602 / 21603).  Each accepted message is appended to --log as a
JSON line {"to", "from", "service", "body", "sid"} and answered 201 with a
message resource.  --mode-file: "429" answers 429 (code 20429), "500"
answers 500, anything else accepts.  The port goes to --port-file.
"""
import argparse
import base64
import json
import os
import re
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ARGS = None
LOCK = threading.Lock()
COUNT = [0]


def mode():
    try:
        with open(ARGS.mode_file) as f:
            return f.read().strip()
    except (OSError, TypeError):
        return ""


class Handler(BaseHTTPRequestHandler):
    def log_message(self, fmt, *a):
        pass

    def answer(self, status, obj):
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def error(self, status, code, message):
        self.answer(status, {"code": code, "message": message,
                             "more_info": "https://www.twilio.com/docs/"
                             "errors/%d" % code, "status": status})

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        raw = self.rfile.read(n).decode()
        m = re.fullmatch(r"/2010-04-01/Accounts/(AC[0-9a-f]{32})/"
                         r"Messages\.json", self.path)
        if m is None:
            return self.error(404, 20404, "The requested resource %s was "
                              "not found" % self.path)
        auth = self.headers.get("Authorization", "")
        ok = False
        if auth.startswith("Basic "):
            try:
                user, _, pw = base64.b64decode(auth[6:]).decode() \
                    .partition(":")
                ok = (user == m.group(1) == ARGS.sid and pw == ARGS.token)
            except Exception:
                ok = False
        if not ok:
            return self.error(401, 20003, "Authenticate")
        if self.headers.get("Content-Type", "").split(";")[0] != \
                "application/x-www-form-urlencoded":
            return self.error(400, 20001, "bad content type")
        form = urllib.parse.parse_qs(raw, keep_blank_values=True,
                                     strict_parsing=True)
        one = {k: v[0] for k, v in form.items() if len(v) == 1}
        if "To" not in one:
            return self.error(400, 21604, "A 'To' phone number is required.")
        if "Body" not in one:
            return self.error(400, 21602, "Message body is required.")
        if ("From" in one) == ("MessagingServiceSid" in one):
            return self.error(400, 21603,
                              "A 'From' phone number is required.")
        md = mode()
        if md == "429":
            return self.error(429, 20429, "Too Many Requests")
        if md == "500":
            return self.error(500, 20500, "Internal Server Error")
        with LOCK:
            COUNT[0] += 1
            sid = "SM%032x" % COUNT[0]
            with open(ARGS.log, "a") as f:
                f.write(json.dumps({"to": one["To"],
                                    "from": one.get("From"),
                                    "service":
                                    one.get("MessagingServiceSid"),
                                    "body": one["Body"], "sid": sid}) + "\n")
        self.answer(201, {"sid": sid, "account_sid": m.group(1),
                          "to": one["To"], "from": one.get("From"),
                          "body": one["Body"], "status": "queued",
                          "num_segments": "1", "error_code": None})


def main():
    global ARGS
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--log", required=True)
    ap.add_argument("--sid", required=True)
    ap.add_argument("--token", required=True)
    ap.add_argument("--mode-file")
    ARGS = ap.parse_args()
    srv = ThreadingHTTPServer(("127.0.0.1", ARGS.port), Handler)
    if ARGS.port_file:
        tmp = ARGS.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % srv.server_address[1])
        os.rename(tmp, ARGS.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    main()
