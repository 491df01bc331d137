#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""A plain webhook receiver for the integration tests.

Listens on 127.0.0.1:PORT (0 picks a free one; the port is written to
--port-file), answers every POST with --status (default 200) and appends one
JSON line per request to --log: {"path", "headers", "body"}.  With --hang it
logs each request and never answers (the connection stays open until the
client gives up), like a receiver stuck behind a dead backend.  With --echo
the answer's body repeats the request line and headers, as some receivers
do in their error pages.  It stops on SIGTERM or SIGKILL like any receiver
would.
"""
import argparse
import http.server
import json
import os
import socketserver
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--log", required=True)
    ap.add_argument("--status", type=int, default=200)
    ap.add_argument("--hang", action="store_true")
    ap.add_argument("--echo", action="store_true")
    args = ap.parse_args()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            n = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(n).decode("utf-8", "replace")
            rec = {"path": self.path,
                   "headers": {k.lower(): v for k, v in self.headers.items()},
                   "body": body}
            with open(args.log, "a") as f:
                f.write(json.dumps(rec) + "\n")
                f.flush()
                os.fsync(f.fileno())
            if args.hang:
                while True:
                    time.sleep(3600)
            answer = b'{"ok":true}'
            if args.echo:
                answer = ("bad request: POST " + self.path + "\n" +
                          str(self.headers)).encode("utf-8", "replace")
            self.send_response(args.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *a):
            pass

    class Server(socketserver.ThreadingMixIn, socketserver.TCPServer):
        allow_reuse_address = True
        daemon_threads = True

    with Server(("127.0.0.1", args.port), Handler) as srv:
        if args.port_file:
            tmp = args.port_file + ".tmp"
            with open(tmp, "w") as f:
                f.write(str(srv.server_address[1]))
            os.rename(tmp, args.port_file)
        srv.serve_forever()


if __name__ == "__main__":
    main()
