#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""fault_proxy.py: an HTTP/1.1 reverse proxy that injects faults, for the
integration tests of the cloud backends (moto for S3, Azurite for Azure).

Python standard library only.  It listens on 127.0.0.1 (--port, or a free
port written to --port-file) and passes every request to --upstream
(http://127.0.0.1:PORT, or https:// with the CA of --upstream-ca: plain
HTTP in, TLS out, for servers that take some credentials over HTTPS only)
byte for byte: the request line and the headers
as sent (Host included, so signatures that cover it still verify) and the
body; the answer goes back as the server sent it.  One upstream connection
per client connection.  An "Expect: 100-continue" is answered here (the
body is read before anything goes upstream) and not passed on.

Test controls, on the proxy itself (never forwarded):
  POST /__fault/rule   JSON rule, appended; answers its id.  Fields:
     match    regex searched in "METHOD /path?query" (default: any)
     headers  regex searched in the request's header block (optional)
     action   "status" (default): answer `status` (503) with `body`,
              or the body of `preset` ("s3-slowdown", "s3-expired-token",
              "azure-busy", "azure-throttled"), and its headers;
              "reset": read `after` bytes of the body (default half),
              then reset the connection (RST, no answer);
              "hang": read `after` bytes of the body, then hold the
              connection without answering until the proxy dies;
              "delay": wait `seconds` (1.0), then pass the request on.
     count    how many matching requests it acts on (1; 0: every one)
     skip     matching requests let through before it acts (0)
  The first rule with acts left whose patterns match a request decides
  (acts on it, or lets it through as one to skip); rules after it are not
  consulted, so rules on the same requests act one after the other.
  POST /__fault/clear  drop every rule
  POST /__fault/reset  zero the counters
  GET  /__fault/stats  {"requests": N, "fired": {id: n}, "hanging": n,
                        "inflight_max": most requests at once,
                        "served": {path: body bytes of GET answers},
                        "log": [[method, target, status], ...]}
With --log FILE, each request is also appended to FILE as one JSON line
{"method", "target", "status", "bytes"} (status 0: reset or hung).
"""

import argparse
import json
import os
import re
import socket
import socketserver
import ssl
import struct
import sys
import threading
import time

PRESETS = {
    "s3-slowdown": (503, "application/xml", {},
                    '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>'
                    'SlowDown</Code><Message>Please reduce your request '
                    'rate.</Message><RequestId>FAULT</RequestId></Error>'),
    "s3-expired-token": (400, "application/xml", {},
                         '<?xml version="1.0" encoding="UTF-8"?>\n<Error>'
                         '<Code>ExpiredToken</Code><Message>The provided '
                         'token has expired.</Message><RequestId>FAULT'
                         '</RequestId></Error>'),
    "azure-busy": (503, "application/xml",
                   {"x-ms-error-code": "ServerBusy"},
                   '\ufeff<?xml version="1.0" encoding="utf-8"?><Error><Code>'
                   'ServerBusy</Code><Message>The server is busy.\n'
                   'RequestId:fault\nTime:2026-01-01T00:00:00Z</Message>'
                   '</Error>'),
    "azure-throttled": (429, "application/xml",
                        {"x-ms-error-code": "ServerBusy"},
                        '\ufeff<?xml version="1.0" encoding="utf-8"?><Error>'
                        '<Code>ServerBusy</Code><Message>Ingress is over the '
                        'account limit.\nRequestId:fault\nTime:2026-01-01T'
                        '00:00:00Z</Message></Error>'),
}

REASONS = {400: "Bad Request", 403: "Forbidden", 429: "Too Many Requests",
           500: "Internal Server Error", 503: "Service Unavailable"}


class State:
    def __init__(self, log_path):
        self.mu = threading.Lock()
        self.rules = []
        self.next_id = 1
        self.log_path = log_path
        self.reset()

    def reset(self):
        self.requests = 0
        self.fired = {}
        self.hanging = 0
        self.served = {}
        self.log = []
        self.inflight = 0
        self.inflight_max = 0

    def enter(self, n):
        """A passed-through request begins (1) or ends (-1)."""
        with self.mu:
            self.inflight += n
            self.inflight_max = max(self.inflight_max, self.inflight)

    def pick(self, line, head):
        """The rule that acts on this request (its counters moved), or None."""
        with self.mu:
            self.requests += 1
            for r in self.rules:
                if r["left"] == 0:
                    continue
                if not r["re"].search(line):
                    continue
                if r["hre"] is not None and not r["hre"].search(head):
                    continue
                # The first live rule that matches decides, a skip too.
                if r["skip"] > 0:
                    r["skip"] -= 1
                    return None
                if r["left"] > 0:
                    r["left"] -= 1
                self.fired[r["id"]] = self.fired.get(r["id"], 0) + 1
                return r
        return None

    def note(self, method, target, status, nbytes):
        with self.mu:
            self.log.append([method, target, status])
            if method == "GET" and status in (200, 206):
                path = target.split("?", 1)[0]
                self.served[path] = self.served.get(path, 0) + nbytes
            if self.log_path:
                with open(self.log_path, "a") as f:
                    f.write(json.dumps({"method": method, "target": target,
                                        "status": status,
                                        "bytes": nbytes}) + "\n")


STATE = None
UPSTREAM = None
UPSTREAM_TLS = None  # an ssl.SSLContext for an https:// upstream


class Closed(Exception):
    pass


def read_line(f):
    line = f.readline(65537)
    if not line:
        raise Closed()
    return line


def read_head(f):
    """The start line and header lines (raw, with their CRLFs)."""
    first = read_line(f)
    while first in (b"\r\n", b"\n"):
        first = read_line(f)
    lines = []
    while True:
        line = read_line(f)
        if line in (b"\r\n", b"\n"):
            return first, lines
        lines.append(line)


def header(lines, name):
    name = name.lower().encode()
    for line in lines:
        k, _, v = line.partition(b":")
        if k.strip().lower() == name:
            return v.strip().decode("latin-1")
    return None


def read_exact(f, n):
    b = f.read(n)
    if len(b) != n:
        raise Closed()
    return b


def read_chunked(f):
    """A chunked body, raw (sizes, data and trailers as sent)."""
    out = []
    while True:
        line = read_line(f)
        out.append(line)
        size = int(line.split(b";")[0].strip(), 16)
        if size == 0:
            while True:
                t = read_line(f)
                out.append(t)
                if t in (b"\r\n", b"\n"):
                    return b"".join(out)
        out.append(read_exact(f, size + 2))


def reset(sock):
    """Close with RST: no FIN, no answer."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                        struct.pack("ii", 1, 0))
    except OSError:
        pass
    sock.close()


class Handler(socketserver.BaseRequestHandler):
    def setup(self):
        self.rf = self.request.makefile("rb")
        self.up = None
        self.upf = None

    def finish(self):
        self.drop_upstream()
        try:
            self.rf.close()
        except OSError:
            pass

    def drop_upstream(self):
        if self.up is not None:
            try:
                self.upf.close()
                self.up.close()
            except OSError:
                pass
        self.up = self.upf = None

    def send(self, data):
        self.request.sendall(data)

    def handle(self):
        try:
            while self.one():
                pass
        except (Closed, OSError, ValueError):
            pass

    def reply(self, status, body, ctype="application/json", extra=None):
        b = body.encode() if isinstance(body, str) else body
        h = ["HTTP/1.1 %d %s" % (status, REASONS.get(status, "OK")),
             "Content-Type: " + ctype, "Content-Length: %d" % len(b)]
        for k, v in (extra or {}).items():
            h.append("%s: %s" % (k, v))
        self.send(("\r\n".join(h) + "\r\n\r\n").encode() + b)

    def control(self, method, target, body):
        st = STATE
        if method == "POST" and target == "/__fault/rule":
            r = json.loads(body or b"{}")
            with st.mu:
                rid = st.next_id
                st.next_id += 1
                st.rules.append({
                    "id": rid, "re": re.compile(r.get("match", "")),
                    "hre": re.compile(r["headers"]) if r.get("headers")
                    else None,
                    "action": r.get("action", "status"),
                    "status": int(r.get("status", 503)),
                    "body": r.get("body", ""), "preset": r.get("preset"),
                    "after": r.get("after"),
                    "seconds": float(r.get("seconds", 1.0)),
                    "left": int(r.get("count", 1)) or -1,
                    "skip": int(r.get("skip", 0))})
            return self.reply(200, json.dumps({"id": rid}))
        if method == "POST" and target == "/__fault/clear":
            with st.mu:
                st.rules = []
            return self.reply(200, "{}")
        if method == "POST" and target == "/__fault/reset":
            with st.mu:
                st.reset()
            return self.reply(200, "{}")
        if method == "GET" and target == "/__fault/stats":
            with st.mu:
                s = {"requests": st.requests, "hanging": st.hanging,
                     "inflight_max": st.inflight_max,
                     "fired": {str(k): v for k, v in st.fired.items()},
                     "served": st.served, "log": st.log}
            return self.reply(200, json.dumps(s))
        return self.reply(404, "{}")

    def one(self):
        """One request; False when the connection is done."""
        first, lines = read_head(self.rf)
        parts = first.decode("latin-1").split()
        if len(parts) != 3:
            raise Closed()
        method, target, _ = parts
        expect = (header(lines, "Expect") or "").lower() == "100-continue"
        te = (header(lines, "Transfer-Encoding") or "").lower()
        clen = int(header(lines, "Content-Length") or 0)
        conn_close = (header(lines, "Connection") or "").lower() == "close"

        if target.startswith("/__fault/"):
            body = read_exact(self.rf, clen) if clen else b""
            self.control(method, target, body)
            return not conn_close

        head = b"".join(lines).decode("latin-1")
        rule = STATE.pick(method + " " + target, head)
        STATE.enter(1)
        try:
            return self.act(method, target, first, lines, rule, expect, te,
                            clen, conn_close)
        finally:
            STATE.enter(-1)

    def act(self, method, target, first, lines, rule, expect, te, clen,
            conn_close):
        """Answer, fault or relay one request; False when done."""
        if expect:
            self.send(b"HTTP/1.1 100 Continue\r\n\r\n")
        if rule is not None and rule["action"] in ("reset", "hang"):
            after = rule["after"]
            if after is None:
                after = clen // 2
            got = self.rf.read(min(int(after), clen)) if clen else b""
            STATE.note(method, target, 0, len(got))
            if rule["action"] == "reset":
                reset(self.request)
                raise Closed()
            with STATE.mu:
                STATE.hanging += 1
            while True:
                time.sleep(3600)

        if "chunked" in te:
            body = read_chunked(self.rf)
        else:
            body = read_exact(self.rf, clen) if clen else b""

        if rule is not None and rule["action"] == "status":
            status, ctype, extra, text = (rule["status"], "application/xml",
                                          {}, rule["body"])
            if rule["preset"]:
                status, ctype, extra, text = PRESETS[rule["preset"]]
            self.reply(status, text, ctype, extra)
            STATE.note(method, target, status, 0)
            return not conn_close
        if rule is not None and rule["action"] == "delay":
            time.sleep(rule["seconds"])

        # Pass through: the head as sent, minus Expect (answered here).
        out = [first] + [l for l in lines
                         if l.split(b":", 1)[0].strip().lower() != b"expect"]
        msg = b"".join(out) + b"\r\n" + body
        try:
            # A kept connection the server closed meanwhile (its idle
            # timeout): once more on a new one, if nothing was relayed.
            for again in (self.up is not None, False):
                if self.up is None:
                    self.connect()
                self.relayed = False
                try:
                    self.up.sendall(msg)
                    status, keep, n = self.relay(method)
                    break
                except (Closed, OSError):
                    if not again or self.relayed:
                        raise
                    self.drop_upstream()
        except (Closed, OSError):
            # The server went away: so does this connection.
            self.drop_upstream()
            STATE.note(method, target, 0, 0)
            reset(self.request)
            raise Closed()
        STATE.note(method, target, status, n)
        if not keep:
            self.drop_upstream()
        return not conn_close and keep

    def connect(self):
        self.up = socket.create_connection(UPSTREAM, timeout=120)
        if UPSTREAM_TLS is not None:
            self.up = UPSTREAM_TLS.wrap_socket(self.up,
                                               server_hostname=UPSTREAM[0])
        self.upf = self.up.makefile("rb")

    def relay(self, method):
        """Pass the upstream answer on; (status, keep-alive, body bytes)."""
        while True:
            first, lines = read_head(self.upf)
            status = int(first.split()[1])
            self.relayed = True
            self.send(first + b"".join(lines) + b"\r\n")
            if status >= 200 or status == 101:
                break
        te = (header(lines, "Transfer-Encoding") or "").lower()
        clen = header(lines, "Content-Length")
        keep = (header(lines, "Connection") or "").lower() != "close" and \
            first.startswith(b"HTTP/1.1")
        n = 0
        if method == "HEAD" or status in (204, 304):
            return status, keep, 0
        if "chunked" in te:
            while True:
                line = read_line(self.upf)
                self.send(line)
                size = int(line.split(b";")[0].strip(), 16)
                if size == 0:
                    while True:
                        t = read_line(self.upf)
                        self.send(t)
                        if t in (b"\r\n", b"\n"):
                            return status, keep, n
                data = read_exact(self.upf, size + 2)
                self.send(data)
                n += size
        if clen is not None:
            left = int(clen)
            while left > 0:
                data = self.upf.read(min(left, 1 << 16))
                if not data:
                    raise Closed()
                self.send(data)
                left -= len(data)
                n += len(data)
            return status, keep, n
        # Delimited by the close.
        while True:
            data = self.upf.read1(1 << 16)
            if not data:
                return status, False, n
            self.send(data)
            n += len(data)


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    global STATE, UPSTREAM, UPSTREAM_TLS
    ap = argparse.ArgumentParser()
    ap.add_argument("--upstream", required=True,
                    help="http[s]://127.0.0.1:PORT of the real server")
    ap.add_argument("--upstream-ca",
                    help="the CA file that signed an https upstream's cert")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--log")
    a = ap.parse_args()
    m = re.match(r"^(https?)://([^/:]+):(\d+)/?$", a.upstream)
    if not m:
        sys.exit("--upstream must be http[s]://HOST:PORT")
    UPSTREAM = (m.group(2), int(m.group(3)))
    if m.group(1) == "https":
        UPSTREAM_TLS = ssl.create_default_context(cafile=a.upstream_ca)
    STATE = State(a.log)
    srv = Server(("127.0.0.1", a.port), Handler)
    if a.port_file:
        with open(a.port_file + ".tmp", "w") as f:
            f.write("%d\n" % srv.server_address[1])
        os.rename(a.port_file + ".tmp", a.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    main()
