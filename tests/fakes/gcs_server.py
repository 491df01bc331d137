#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""gcs_server.py: a fake Google Cloud Storage for the integration tests.

Python standard library only.  It serves, on 127.0.0.1:

  POST /token      the OAuth2 JWT-bearer grant: the assertion's RS256
                   signature is checked against the public half of the
                   service-account key file given with --sa (pure-Python
                   RSA), its iss, aud (this URL) and times too; it answers
                   a fresh bearer token, or 400 invalid_grant.
  GET /computeMetadata/v1/instance/service-accounts/default/token
                   a VM's metadata server: a token if the request says
                   Metadata-Flavor: Google (403 otherwise), answered with
                   that header.
  the JSON API subset vigil's gcs backend uses, each request's bearer
  token checked (401 otherwise), objects kept in memory:
    POST   /upload/storage/v1/b/B/o?uploadType=resumable&name=K
    PUT    <session>   chunks (Content-Range: bytes A-B/*, A-B/N, */N,
                       and the status query */*), 308 with Range
    DELETE <session>   cancel (499)
    GET    /storage/v1/b/B/o/K?alt=media   with Range
    GET    /storage/v1/b/B/o?prefix=&pageToken=   pages of --page-size
    DELETE /storage/v1/b/B/o/K
  A bucket other than --bucket is GCS's 404 "The specified bucket does not
  exist.".

Test controls (no token needed):
  GET  /_fake/stats    {"bytes_served", "chunks", "faults_fired",
                        "tokens_issued", "metadata_tokens",
                        "status_queries", "objects", "sessions"}
  POST /_fake/reset    zero the counters
  POST /_fake/fault    JSON {"kind": "503" | "503-kept" | "reset" | "expire",
                        "nth": N, "count": C}: the Nth chunk PUT from now
                        (and the C - 1 after it) fails: 503 without
                        keeping the data, 503 after keeping it, the
                        connection closed without an answer, or every
                        token expired (401)
  POST /_fake/expire   every token issued so far expires now
  POST /_fake/deny     JSON {"permissions": ["storage.objects.delete", ...]}:
                       from now on the identity lacks those IAM permissions
                       (storage.objects.create, .list, .get, .delete): each
                       request needing one gets GCS's 403 "... does not
                       have storage.objects.X access ..." (an empty list
                       grants everything again)
"""

import argparse
import base64
import hashlib
import json
import os
import re
import secrets
import socket
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

CHUNK = 256 * 1024
METADATA_TOKEN = "/computeMetadata/v1/instance/service-accounts/default/token"
# DigestInfo prefix of SHA-256 (RFC 8017 section 9.2, note 1).
SHA256_PREFIX = bytes.fromhex("3031300d060960864801650304020105000420")


def der_read(buf, pos):
    """One DER element at pos: (tag, content, next position)."""
    tag = buf[pos]
    ln = buf[pos + 1]
    pos += 2
    if ln & 0x80:
        n = ln & 0x7F
        ln = int.from_bytes(buf[pos:pos + n], "big")
        pos += n
    return tag, buf[pos:pos + ln], pos + ln


def rsa_public_from_pem(pem):
    """(n, e) of an RSA private key in PKCS#8 or PKCS#1 PEM."""
    body = "".join(l for l in pem.strip().splitlines() if not l.startswith("-----"))
    der = base64.b64decode(body)
    _, seq, _ = der_read(der, 0)
    tag, _, pos = der_read(seq, 0)  # version
    tag, content, pos2 = der_read(seq, pos)
    if tag == 0x30:  # PKCS#8: AlgorithmIdentifier, then OCTET STRING
        _, inner, _ = der_read(seq, pos2)
        _, seq, _ = der_read(inner, 0)
        _, _, pos = der_read(seq, 0)
    _, n, pos = der_read(seq, pos)
    _, e, pos = der_read(seq, pos)
    return int.from_bytes(n, "big"), int.from_bytes(e, "big")


def b64u_decode(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def rs256_ok(n, e, signing_input, sig):
    k = (n.bit_length() + 7) // 8
    if len(sig) != k:
        return False
    em = pow(int.from_bytes(sig, "big"), e, n).to_bytes(k, "big")
    t = SHA256_PREFIX + hashlib.sha256(signing_input).digest()
    want = b"\x00\x01" + b"\xff" * (k - len(t) - 3) + b"\x00" + t
    return em == want


class State:
    def __init__(self, args):
        sa = json.load(open(args.sa))
        self.email = sa["client_email"]
        self.n, self.e = rsa_public_from_pem(sa["private_key"])
        self.bucket = args.bucket
        self.page_size = args.page_size
        self.token_ttl = args.token_ttl
        self.lock = threading.Lock()
        self.tokens = {}        # token -> expiry (time.time())
        self.objects = {}       # name -> (bytes, updated)
        self.sessions = {}      # upload_id -> {"name", "data"}
        self.faults = []        # [kind, countdown, remaining]
        self.denied = set()     # IAM permissions the identity lacks
        self.reset()

    def reset(self):
        self.stats = {"bytes_served": 0, "chunks": 0, "faults_fired": 0,
                      "tokens_issued": 0, "status_queries": 0,
                      "metadata_tokens": 0,
                      "gets": 0}


def gcs_error(code, message, reason):
    return {"error": {"code": code, "message": message,
                      "errors": [{"message": message, "domain": "global",
                                  "reason": reason}]}}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "UploadServer"

    def log_message(self, fmt, *a):
        if self.server.verbose:
            sys.stderr.write("gcs_server: " + (fmt % a) + "\n")

    # --- plumbing -------------------------------------------------------
    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def send(self, code, obj=None, headers=None, raw=None):
        data = raw if raw is not None else (
            b"" if obj is None else json.dumps(obj).encode())
        self.send_response(code)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        if obj is not None:
            self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if data:
            self.wfile.write(data)
        return len(data)

    def authorized(self):
        st = self.server.st
        h = self.headers.get("Authorization", "")
        tok = h[7:] if h.startswith("Bearer ") else None
        with st.lock:
            ok = tok is not None and st.tokens.get(tok, 0) > time.time()
        if not ok:
            self.send(401, gcs_error(401, "Invalid Credentials", "authError"),
                      {"WWW-Authenticate": 'Bearer realm="https://accounts.google.com/"'})
        return ok

    def allowed(self, perm, what):
        """False (answered 403) if the identity lacks ${perm}."""
        st = self.server.st
        with st.lock:
            ok = perm not in st.denied
        if not ok:
            msg = ("%s does not have %s access to the Google Cloud Storage "
                   "%s. Permission '%s' denied on resource (or it may not "
                   "exist).") % (st.email, perm, what, perm)
            self.send(403, gcs_error(403, msg, "forbidden"))
        return ok

    def bucket_ok(self, b):
        if b != self.server.st.bucket:
            self.send(404, gcs_error(404, "The specified bucket does not exist.",
                                     "notFound"))
            return False
        return True

    def obj_json(self, name, data, updated):
        return {"kind": "storage#object", "bucket": self.server.st.bucket,
                "name": name, "size": str(len(data)),
                "md5Hash": base64.b64encode(hashlib.md5(data).digest()).decode(),
                "updated": time.strftime("%Y-%m-%dT%H:%M:%S.000Z",
                                         time.gmtime(updated))}

    # --- the token endpoint ---------------------------------------------
    def token(self):
        st = self.server.st
        form = urllib.parse.parse_qs(self.body().decode(), keep_blank_values=True)
        bad = None
        if form.get("grant_type") != ["urn:ietf:params:oauth:grant-type:jwt-bearer"]:
            return self.send(400, {"error": "unsupported_grant_type",
                                   "error_description": "Invalid grant_type."})
        try:
            h64, c64, s64 = form["assertion"][0].split(".")
            hdr = json.loads(b64u_decode(h64))
            claims = json.loads(b64u_decode(c64))
            if hdr.get("alg") != "RS256":
                bad = "Invalid JWT: alg is not RS256."
            elif not rs256_ok(st.n, st.e, (h64 + "." + c64).encode(), b64u_decode(s64)):
                bad = "Invalid JWT Signature."
            elif claims.get("iss") != st.email:
                bad = "Invalid JWT: unknown issuer."
            elif claims.get("aud") != "http://%s/token" % self.headers.get("Host"):
                bad = "Invalid JWT: audience is not this token URL."
            elif not (claims["iat"] - 300 <= time.time() <= claims["exp"] + 300) or \
                    claims["exp"] - claims["iat"] > 3600:
                bad = "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe."
        except (KeyError, ValueError, TypeError) as e:
            bad = "Invalid JWT: %s" % e.__class__.__name__
        if bad:
            return self.send(400, {"error": "invalid_grant", "error_description": bad})
        tok = "ya29.fake-" + secrets.token_urlsafe(24)
        with st.lock:
            st.tokens[tok] = time.time() + st.token_ttl
            st.stats["tokens_issued"] += 1
        self.send(200, {"access_token": tok, "expires_in": st.token_ttl,
                        "token_type": "Bearer"})

    # --- the metadata server of a VM ---------------------------------------
    def metadata_token(self):
        st = self.server.st
        if self.headers.get("Metadata-Flavor") != "Google":
            return self.send(403, raw=b"Missing Metadata-Flavor:Google header.")
        tok = "ya29.meta-" + secrets.token_urlsafe(24)
        with st.lock:
            st.tokens[tok] = time.time() + st.token_ttl
            st.stats["metadata_tokens"] += 1
        self.send(200, {"access_token": tok, "expires_in": st.token_ttl,
                        "token_type": "Bearer"}, {"Metadata-Flavor": "Google"})

    # --- controls ---------------------------------------------------------
    def control(self, method, path):
        st = self.server.st
        with st.lock:
            if path == "/_fake/stats":
                out = dict(st.stats)
                out["objects"] = {k: len(v[0]) for k, v in st.objects.items()}
                out["sessions"] = len(st.sessions)
                return self.send(200, out)
            body = self.body()
            if path == "/_fake/reset":
                st.reset()
            elif path == "/_fake/fault":
                f = json.loads(body)
                st.faults.append([f["kind"], int(f.get("nth", 1)),
                                  int(f.get("count", 1))])
            elif path == "/_fake/deny":
                st.denied = set(json.loads(body).get("permissions", []))
            elif path == "/_fake/expire":
                for t in st.tokens:
                    st.tokens[t] = 0
            else:
                return self.send(404, {"error": "no such control"})
        self.send(200, {})

    def fault_now(self):
        """The fault due on this chunk PUT, if any (lock held).  Every
        fault counts every chunk; one fires at a time, the others that are
        due fire on the chunks after."""
        st = self.server.st
        kind = None
        for f in st.faults:
            f[1] -= 1
        for f in st.faults:
            if f[1] <= 0 and f[2] > 0:
                f[2] -= 1
                st.stats["faults_fired"] += 1
                kind = f[0]
                break
        st.faults = [g for g in st.faults if g[2] > 0]
        return kind

    # --- uploads ------------------------------------------------------------
    def start_upload(self, b, q):
        if not self.bucket_ok(b):
            return
        self.body()
        name = q.get("name", [None])[0]
        if not name:
            return self.send(400, gcs_error(400, "Required parameter: name", "required"))
        uid = secrets.token_urlsafe(16)
        with self.server.st.lock:
            self.server.st.sessions[uid] = {"name": name, "data": bytearray()}
        loc = "http://%s/upload/storage/v1/b/%s/o?uploadType=resumable&upload_id=%s" % (
            self.headers.get("Host"), urllib.parse.quote(b, safe=""), uid)
        self.send(200, headers={"Location": loc})

    def put_chunk(self, q):
        st = self.server.st
        uid = q.get("upload_id", [None])[0]
        data = self.body()
        cr = self.headers.get("Content-Range", "")
        with st.lock:
            s = st.sessions.get(uid)
            if s is None:
                return self.send(404, gcs_error(404, "No such upload session.", "notFound"))
            m = re.fullmatch(r"bytes (\*|(\d+)-(\d+))/(\*|\d+)", cr)
            if not m:
                return self.send(400, gcs_error(400, "Bad Content-Range: " + cr, "invalid"))
            total = None if m.group(4) == "*" else int(m.group(4))
            fault = None
            if m.group(1) != "*":
                st.stats["chunks"] += 1
                fault = self.fault_now()
            else:
                st.stats["status_queries"] += 1
            if fault == "reset":
                self.close_connection = True
                try:
                    self.connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                return
            if fault == "503":
                return self.send(503, gcs_error(503, "Backend Error", "backendError"))
            if fault == "expire":
                for t in st.tokens:
                    st.tokens[t] = 0
                return self.send(401, gcs_error(401, "Invalid Credentials", "authError"))
            held = s["data"]
            if m.group(1) != "*":
                a, b = int(m.group(2)), int(m.group(3))
                if b - a + 1 != len(data) or a > len(held):
                    return self.send(400, gcs_error(400, "Invalid request: chunk %s does not follow the %d bytes held" % (cr, len(held)), "invalid"))
                if total is None and len(data) % CHUNK != 0:
                    return self.send(400, gcs_error(400, "Invalid request: a chunk other than the last must be a multiple of 262144 bytes.", "invalid"))
                # What was held past A is replaced, as GCS does.
                del held[a:]
                held.extend(data)
            if fault == "503-kept":
                return self.send(503, gcs_error(503, "Backend Error", "backendError"))
            if total is not None:
                if total != len(held):
                    return self.send(400, gcs_error(400, "Invalid request: total %d, %d bytes held" % (total, len(held)), "invalid"))
                now = time.time()
                st.objects[s["name"]] = (bytes(held), now)
                del st.sessions[uid]
                return self.send(200, self.obj_json(s["name"], held, now))
            hdrs = {"Range": "bytes=0-%d" % (len(held) - 1)} if held else {}
            self.send(308, headers=hdrs)

    # --- objects --------------------------------------------------------------
    def get_media(self, name):
        st = self.server.st
        with st.lock:
            o = st.objects.get(name)
            st.stats["gets"] += 1
        if o is None:
            return self.send(404, gcs_error(404, "No such object: %s/%s" % (st.bucket, name), "notFound"))
        data = o[0]
        rng = self.headers.get("Range")
        code, hdrs = 200, {}
        if rng:
            m = re.fullmatch(r"bytes=(\d+)-(\d*)", rng)
            a = int(m.group(1))
            b = int(m.group(2)) if m.group(2) else len(data) - 1
            if a >= len(data):
                return self.send(416, gcs_error(416, "Request range not satisfiable", "requestedRangeNotSatisfiable"))
            b = min(b, len(data) - 1)
            data = data[a:b + 1]
            code = 206
            hdrs["Content-Range"] = "bytes %d-%d/%d" % (a, b, len(o[0]))
        n = self.send(code, headers=hdrs, raw=data)
        with st.lock:
            st.stats["bytes_served"] += n

    def list_objects(self, q):
        st = self.server.st
        prefix = q.get("prefix", [""])[0]
        start = q.get("pageToken", [""])[0]
        with st.lock:
            names = sorted(n for n in st.objects if n.startswith(prefix) and n > start)
            page = names[:st.page_size]
            out = {"kind": "storage#objects",
                   "items": [self.obj_json(n, *st.objects[n]) for n in page]}
        if len(names) > len(page):
            out["nextPageToken"] = page[-1]
        if not out["items"]:
            del out["items"]
        self.send(200, out)

    # --- dispatch -------------------------------------------------------------
    def route(self, method):
        u = urllib.parse.urlsplit(self.path)
        q = urllib.parse.parse_qs(u.query, keep_blank_values=True)
        path = u.path
        if path.startswith("/_fake/"):
            return self.control(method, path)
        if path == "/token" and method == "POST":
            return self.token()
        if path == METADATA_TOKEN and method == "GET":
            return self.metadata_token()
        if not self.authorized():
            self.body()
            return
        m = re.fullmatch(r"/upload/storage/v1/b/([^/]+)/o", path)
        if m:
            b = urllib.parse.unquote(m.group(1))
            if method == "POST" and q.get("uploadType") == ["resumable"] and "upload_id" not in q:
                if not self.allowed("storage.objects.create", "object"):
                    self.body()
                    return
                return self.start_upload(b, q)
            if method == "PUT" and "upload_id" in q:
                return self.put_chunk(q)
            if method == "DELETE" and "upload_id" in q:
                with self.server.st.lock:
                    self.server.st.sessions.pop(q["upload_id"][0], None)
                return self.send(499, gcs_error(499, "Client Closed Request", "clientClosed"))
        m = re.fullmatch(r"/storage/v1/b/([^/]+)/o(?:/(.+))?", path)
        if m:
            self.body()
            if not self.bucket_ok(urllib.parse.unquote(m.group(1))):
                return
            name = urllib.parse.unquote(m.group(2)) if m.group(2) else None
            if name is None and method == "GET":
                if not self.allowed("storage.objects.list", "bucket"):
                    return
                return self.list_objects(q)
            if name is not None and method == "GET" and q.get("alt") == ["media"]:
                if not self.allowed("storage.objects.get", "object"):
                    return
                return self.get_media(name)
            if name is not None and method == "DELETE":
                if not self.allowed("storage.objects.delete", "object"):
                    return
                st = self.server.st
                with st.lock:
                    gone = st.objects.pop(name, None)
                if gone is None:
                    return self.send(404, gcs_error(404, "No such object: %s/%s" % (st.bucket, name), "notFound"))
                return self.send(204)
        self.body()
        self.send(400, gcs_error(400, "Not supported by the fake: %s %s" % (method, path), "invalid"))

    def do_GET(self):
        self.route("GET")

    def do_POST(self):
        self.route("POST")

    def do_PUT(self):
        self.route("PUT")

    def do_DELETE(self):
        self.route("DELETE")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sa", required=True, help="service-account key file (its public half checks assertions)")
    ap.add_argument("--bucket", required=True)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--page-size", type=int, default=1000)
    ap.add_argument("--token-ttl", type=int, default=3600)
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args()
    srv = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    srv.daemon_threads = True
    srv.st = State(args)
    srv.verbose = args.verbose
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % srv.server_address[1])
        os.rename(tmp, args.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    main()
