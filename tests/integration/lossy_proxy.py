# SPDX-License-Identifier: BSD-2-Clause
"""lossy_proxy.py: an HTTP proxy on 127.0.0.1 that loses answers.

  lossy_proxy.py --target http://127.0.0.1:PORT --port-file FILE --lose N

Forwards every request as it came (method, path, headers with Host
unchanged, so a SigV4 signature stays valid, and body) to the target and
relays its answer, except that for the first N requests it closes the
connection without answering once the target has answered: the request
took effect, the client never learns it.  That is the "lost answer" a
notifier must retry without delivering twice.  Each request is logged on
stdout as "forwarded STATUS" or "lost STATUS".
"""
import argparse
import http.client
import socket
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--target", required=True)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--lose", type=int, default=1)
    args = ap.parse_args()
    target = urlparse(args.target)
    state = {"lose": args.lose}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):
            pass

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            conn = http.client.HTTPConnection(target.hostname, target.port,
                                              timeout=30)
            conn.putrequest(self.command, self.path, skip_host=True,
                            skip_accept_encoding=True)
            for k, v in self.headers.items():
                conn.putheader(k, v)
            conn.endheaders(body)
            resp = conn.getresponse()
            data = resp.read()
            conn.close()
            if state["lose"] > 0:
                state["lose"] -= 1
                print("lost", resp.status, flush=True)
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            print("forwarded", resp.status, flush=True)
            self.send_response(resp.status)
            for k, v in resp.getheaders():
                if k.lower() not in ("transfer-encoding", "connection",
                                     "content-length"):
                    self.send_header(k, v)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    with open(args.port_file, "w") as f:
        f.write("%d\n" % srv.server_address[1])
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        sys.exit(0)


if __name__ == "__main__":
    main()
