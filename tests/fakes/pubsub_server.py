#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""pubsub_server.py: a fake Google Cloud Pub/Sub publisher API, with
Google's OAuth2 token endpoint and a VM's metadata server, for the
integration tests of the "pubsub" notifier.  Python standard library only;
127.0.0.1.

  POST /token      the OAuth2 JWT-bearer grant: the assertion's RS256
                   signature checked against the public half of the
                   service-account key file given with --sa (the
                   pure-Python RSA of gcs_server.py), its iss, aud (this
                   URL), times and scope (must include the Pub/Sub scope);
                   answers a fresh bearer token, or 400 invalid_grant.
  GET /computeMetadata/v1/instance/service-accounts/default/token
                   a token if the request says Metadata-Flavor: Google.
  POST /v1/projects/P/topics/T:publish
                   the bearer token checked (401 UNAUTHENTICATED
                   otherwise); the topic must be --topic (404 NOT_FOUND);
                   the body checked as Pub/Sub does (messages, base64
                   data, string attributes, orderingKey a string; 400
                   INVALID_ARGUMENT otherwise); each message is appended to
                   --log as a JSON line {"data" (decoded), "attributes",
                   "orderingKey", "id", "token"}; answers {"messageIds"}.

Controls (no token): POST /_ctl with JSON {"expire": true (every token
issued so far expires now), "refuse": N (the next N publishes get 401
whatever the token: a token the service no longer takes), "unavailable": N
(the next N get 503 UNAVAILABLE), "deny": N (the next N get 403
PERMISSION_DENIED)}; GET /_stats {"tokens", "metadata_tokens",
"unauthorized", "refused", "unavailable", "denied", "published"}.

    pubsub_server.py --sa FILE --topic projects/P/topics/T --log FILE
        --port-file FILE
"""

import argparse
import base64
import binascii
import json
import os
import re
import secrets
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gcs_server import b64u_decode, rs256_ok, rsa_public_from_pem  # noqa: E402

META = "/computeMetadata/v1/instance/service-accounts/default/token"
SCOPE = "https://www.googleapis.com/auth/pubsub"
GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sa", required=True)
    ap.add_argument("--topic", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--ttl", type=int, default=3600)
    a = ap.parse_args()
    sa = json.load(open(a.sa))
    n, e = rsa_public_from_pem(sa["private_key"])
    lock = threading.Lock()
    st = {"tokens": {}, "refuse": 0, "unavailable": 0, "deny": 0,
          "next_id": 1,
          "stats": {"tokens": 0, "metadata_tokens": 0, "unauthorized": 0,
                    "refused": 0, "unavailable": 0, "denied": 0,
                    "published": 0}}

    class H(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def reply(self, code, obj, extra=()):
            b = json.dumps(obj).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json; charset=UTF-8")
            self.send_header("Content-Length", str(len(b)))
            for k, v in extra:
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(b)

        def gerror(self, code, status, msg):
            self.reply(code, {"error": {"code": code, "message": msg,
                                        "status": status}})

        def body(self):
            ln = int(self.headers.get("Content-Length", "0"))
            return self.rfile.read(ln) if ln > 0 else b""

        def new_token(self, kind):
            t = "ya29.%s-%s" % (kind, secrets.token_urlsafe(24))
            with lock:
                st["tokens"][t] = time.time() + a.ttl
                st["stats"]["tokens" if kind == "sa" else
                            "metadata_tokens"] += 1
            return t

        def token(self):
            form = urllib.parse.parse_qs(self.body().decode(),
                                         keep_blank_values=True)
            if form.get("grant_type") != [GRANT]:
                return self.reply(400, {"error": "unsupported_grant_type",
                                        "error_description":
                                        "Invalid grant_type."})
            bad = None
            try:
                h64, c64, s64 = form["assertion"][0].split(".")
                hdr = json.loads(b64u_decode(h64))
                cl = json.loads(b64u_decode(c64))
                aud = "http://%s/token" % self.headers.get("Host")
                if hdr.get("alg") != "RS256":
                    bad = "Invalid JWT: alg is not RS256."
                elif not rs256_ok(n, e, (h64 + "." + c64).encode(),
                                  b64u_decode(s64)):
                    bad = "Invalid JWT Signature."
                elif cl.get("iss") != sa["client_email"]:
                    bad = "Invalid JWT: unknown issuer."
                elif cl.get("aud") != aud:
                    bad = "Invalid JWT: audience is not this token URL."
                elif SCOPE not in cl.get("scope", "").split():
                    bad = "Invalid JWT: the scope lacks %s." % SCOPE
                elif not (cl["iat"] - 300 <= time.time() <= cl["exp"]) or \
                        cl["exp"] - cl["iat"] > 3600:
                    bad = "Invalid JWT: Token must be a short-lived token."
            except (KeyError, ValueError, TypeError) as x:
                bad = "Invalid JWT: %s" % x.__class__.__name__
            if bad:
                return self.reply(400, {"error": "invalid_grant",
                                        "error_description": bad})
            self.reply(200, {"access_token": self.new_token("sa"),
                             "expires_in": a.ttl, "token_type": "Bearer"})

        def do_GET(self):
            u = urllib.parse.urlsplit(self.path)
            if u.path == "/_stats":
                with lock:
                    return self.reply(200, st["stats"])
            if u.path == META:
                if self.headers.get("Metadata-Flavor") != "Google":
                    return self.gerror(403, "PERMISSION_DENIED",
                                       "Metadata-Flavor: Google missing")
                q = urllib.parse.parse_qs(u.query)
                if SCOPE not in q.get("scopes", [""])[0].split(","):
                    return self.gerror(400, "INVALID_ARGUMENT",
                                       "scopes lacks the Pub/Sub scope")
                return self.reply(200, {"access_token":
                                        self.new_token("meta"),
                                        "expires_in": a.ttl,
                                        "token_type": "Bearer"},
                                  [("Metadata-Flavor", "Google")])
            self.gerror(404, "NOT_FOUND", "no such path")

        def do_POST(self):
            u = urllib.parse.urlsplit(self.path)
            if u.path == "/_ctl":
                c = json.loads(self.body() or b"{}")
                with lock:
                    if c.get("expire"):
                        for t in st["tokens"]:
                            st["tokens"][t] = 0
                    for k in ("refuse", "unavailable", "deny"):
                        st[k] = c.get(k, st[k])
                return self.reply(200, {})
            if u.path == "/token":
                return self.token()
            m = re.fullmatch(r"/v1/(projects/[^/]+/topics/[^/:]+):publish",
                             u.path)
            if not m:
                return self.gerror(404, "NOT_FOUND", "no such path")
            return self.publish(urllib.parse.unquote(m.group(1)))

        def publish(self, topic):
            body = self.body()
            h = self.headers.get("Authorization", "")
            tok = h[7:] if h.startswith("Bearer ") else ""
            with lock:
                fault = None
                if st["tokens"].get(tok, 0) <= time.time():
                    st["stats"]["unauthorized"] += 1
                    fault = "unauth"
                else:
                    for k, s in (("refuse", "refused"),
                                 ("unavailable", "unavailable"),
                                 ("deny", "denied")):
                        if st[k] > 0:
                            st[k] -= 1
                            st["stats"][s] += 1
                            fault = k
                            break
            if fault in ("unauth", "refuse"):
                return self.gerror(401, "UNAUTHENTICATED",
                                   "Request had invalid authentication "
                                   "credentials. Expected OAuth 2 access "
                                   "token, login cookie or other valid "
                                   "authentication credential.")
            if fault == "unavailable":
                return self.gerror(503, "UNAVAILABLE",
                                   "The service is currently unavailable.")
            if fault == "deny":
                return self.gerror(403, "PERMISSION_DENIED",
                                   "User not authorized to perform this "
                                   "action.")
            if topic != a.topic:
                return self.gerror(404, "NOT_FOUND",
                                   "Resource not found (resource=%s)."
                                   % topic.rsplit("/", 1)[-1])
            if self.headers.get("Content-Type", "").split(";")[0] != \
                    "application/json":
                return self.gerror(400, "INVALID_ARGUMENT",
                                   "Content-Type is not application/json")
            try:
                req = json.loads(body)
                msgs = req["messages"]
                assert isinstance(msgs, list) and msgs
                recs = []
                for msg in msgs:
                    assert set(msg) <= {"data", "attributes", "orderingKey"}
                    data = base64.b64decode(msg["data"], validate=True)
                    attrs = msg.get("attributes", {})
                    assert all(isinstance(k, str) and isinstance(v, str) and
                               not k.startswith("goog") and
                               len(v.encode()) <= 1024
                               for k, v in attrs.items())
                    key = msg.get("orderingKey", "")
                    assert isinstance(key, str) and len(key.encode()) <= 1024
                    recs.append({"data": data.decode(), "attributes": attrs,
                                 "orderingKey": key})
            except (KeyError, ValueError, TypeError, AssertionError,
                    binascii.Error) as x:
                return self.gerror(400, "INVALID_ARGUMENT",
                                   "Invalid request: %s" %
                                   x.__class__.__name__)
            ids = []
            with lock:
                with open(a.log, "a") as f:
                    for r in recs:
                        r["id"] = str(st["next_id"])
                        r["token"] = tok[:12]
                        ids.append(r["id"])
                        st["next_id"] += 1
                        st["stats"]["published"] += 1
                        f.write(json.dumps(r) + "\n")
            self.reply(200, {"messageIds": ids})

    srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
    srv.daemon_threads = True
    tmp = a.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.rename(tmp, a.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    main()
