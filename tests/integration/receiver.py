#!/usr/bin/env python3
"""A plain webhook receiver for the integration tests.

Listens on 127.0.0.1:PORT (0 picks a free one; the port is written to
--port-file), answers every POST with --status (default 200) and appends one
JSON line per request to --log: {"path", "headers", "body"}.  It stops on
SIGTERM or SIGKILL like any receiver would.
"""
import argparse
import http.server
import json
import os
import socketserver


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--log", required=True)
    ap.add_argument("--status", type=int, default=200)
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
            self.send_response(args.status)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"ok":true}')

        def log_message(self, *a):
            pass

    class Server(socketserver.TCPServer):
        allow_reuse_address = True

    with Server(("127.0.0.1", args.port), Handler) as srv:
        if args.port_file:
            tmp = args.port_file + ".tmp"
            with open(tmp, "w") as f:
                f.write(str(srv.server_address[1]))
            os.rename(tmp, args.port_file)
        srv.serve_forever()


if __name__ == "__main__":
    main()
