#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""entra_server.py: a fake Microsoft Entra ID token endpoint for the
integration tests.  Python standard library only; 127.0.0.1.

  POST /TENANT/oauth2/v2.0/token   the client-credentials grant with a
        client secret (application/x-www-form-urlencoded: client_id,
        client_secret, scope, grant_type=client_credentials).  A known
        client id with its secret and a scope ending in "/.default" gets
        {"token_type": "Bearer", "expires_in": TTL, "access_token": JWT};
        a wrong secret gets Entra's 401 invalid_client (AADSTS7000215), an
        unknown client 400 unauthorized_client (AADSTS700016), anything
        else 400 invalid_request.

The JWT has what Azurite's "--oauth basic" checks (it checks no signature):
iss https://sts.windows.net/TENANT/, aud the scope without "/.default"
(https://storage.azure.com), iat, nbf and exp; plus tid, appid and oid.
The tenant "wrong-audience" issues tokens for https://vault.azure.net
instead, which a storage service must refuse.  The signature is random
bytes: nothing here is a real key.

Each grant is logged (--log FILE) as one line
"TENANT CLIENT_ID STATUS", never with the secret or the token.

    entra_server.py --client-id ID --secret-file FILE --port-file FILE
                    [--port N] [--log FILE] [--ttl SECONDS]
"""

import argparse
import base64
import json
import os
import re
import secrets
import sys
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def make_jwt(tenant, client_id, aud, ttl):
    now = int(time.time())
    head = {"alg": "RS256", "typ": "JWT", "kid": "vigil-fake"}
    claims = {"aud": aud, "iss": "https://sts.windows.net/%s/" % tenant,
              "iat": now - 60, "nbf": now - 60, "exp": now + ttl,
              "tid": tenant, "appid": client_id, "oid": client_id,
              "sub": client_id, "ver": "1.0"}
    return "%s.%s.%s" % (b64url(json.dumps(head).encode()),
                         b64url(json.dumps(claims).encode()),
                         b64url(secrets.token_bytes(256)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--client-id", required=True)
    ap.add_argument("--secret-file", required=True)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log")
    ap.add_argument("--ttl", type=int, default=3600)
    a = ap.parse_args()
    secret = open(a.secret_file).read().strip()
    path_re = re.compile(r"^/([A-Za-z0-9.-]+)/oauth2/v2\.0/token$")

    class H(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def reply(self, code, obj):
            b = json.dumps(obj).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(b)))
            self.end_headers()
            self.wfile.write(b)

        def error(self, code, err, desc):
            m = re.match(r"AADSTS([0-9]+):", desc)
            self.reply(code, {"error": err, "error_description": desc,
                              "error_codes": [int(m.group(1))] if m else []})

        def do_POST(self):
            n = int(self.headers.get("Content-Length", "0"))
            form = urllib.parse.parse_qs(self.rfile.read(n).decode())
            f = {k: v[0] for k, v in form.items()}
            m = path_re.match(self.path)
            tenant = m.group(1) if m else "-"
            status = self.grant(m, tenant, f)
            if a.log:
                with open(a.log, "a") as lf:
                    lf.write("%s %s %d\n" % (tenant, f.get("client_id", "-"),
                                             status))

        def grant(self, m, tenant, f):
            ctype = self.headers.get("Content-Type", "")
            scope = f.get("scope", "")
            if not m or not ctype.startswith(
                    "application/x-www-form-urlencoded") or \
                    f.get("grant_type") != "client_credentials" or \
                    not scope.endswith("/.default"):
                self.error(400, "invalid_request",
                           "AADSTS900144: The request body must contain "
                           "the following parameter: 'grant_type'.")
                return 400
            if f.get("client_id") != a.client_id:
                self.error(400, "unauthorized_client",
                           "AADSTS700016: Application with identifier "
                           "'%s' was not found in the directory."
                           % f.get("client_id", ""))
                return 400
            if not secrets.compare_digest(f.get("client_secret", ""),
                                          secret):
                self.error(401, "invalid_client",
                           "AADSTS7000215: Invalid client secret provided."
                           " Ensure the secret being sent in the request "
                           "is the client secret value, not the client "
                           "secret ID.")
                return 401
            aud = scope[:-len("/.default")]
            if tenant == "wrong-audience":
                aud = "https://vault.azure.net"
            self.reply(200, {"token_type": "Bearer", "expires_in": a.ttl,
                             "ext_expires_in": a.ttl,
                             "access_token": make_jwt(tenant, a.client_id,
                                                      aud, a.ttl)})
            return 200

    srv = ThreadingHTTPServer(("127.0.0.1", a.port), H)
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
