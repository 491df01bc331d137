#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""azure_rest.py: the few Azure Blob calls the integration tests make around
vigil, signed with SharedKey by the standard library alone (a second,
independent signer: Azurite checks both).

    azure_rest.py ENDPOINT ACCOUNT KEY mkcontainer CONTAINER
    azure_rest.py ENDPOINT ACCOUNT KEY blocks CONTAINER BLOB [uncommitted]
    azure_rest.py ENDPOINT ACCOUNT KEY list CONTAINER PREFIX

ENDPOINT is the account's URL, e.g. http://127.0.0.1:PORT/devstoreaccount1.
mkcontainer waits up to 30 s for the server to answer, then creates the
container (an existing one is fine).  blocks prints how many committed
(or uncommitted) blocks BLOB has; list prints "NAME SIZE" for each blob
(committed: a blob with only uncommitted blocks is not one) whose name
starts with PREFIX.  Exit 0 on success, 1 otherwise.
"""
import base64
import email.utils
import hashlib
import hmac
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

VERSION = "2021-08-06"


def call(endpoint, account, key, method, path, query):
    """Make one signed request; return (status, body)."""
    url = "%s%s?%s" % (endpoint, path, urllib.parse.urlencode(query))
    upath = urllib.parse.urlsplit(url).path
    date = email.utils.formatdate(usegmt=True)
    # The verb, eleven standard headers (all empty: no body, and a zero
    # Content-Length is an empty line from version 2015-02-21), the x-ms-
    # headers, the resource with its sorted query.
    sts = method + "\n" * 12
    sts += "x-ms-date:%s\nx-ms-version:%s\n/%s%s" % (date, VERSION, account,
                                                  upath)
    for k in sorted(query):
        sts += "\n%s:%s" % (k.lower(), query[k])
    sig = base64.b64encode(hmac.new(base64.b64decode(key), sts.encode(),
                                    hashlib.sha256).digest()).decode()
    # No body: urllib would add a Content-Type that is then not signed.
    req = urllib.request.Request(url, method=method)
    if method == "PUT":
        req.add_header("Content-Length", "0")
    req.add_header("x-ms-date", date)
    req.add_header("x-ms-version", VERSION)
    req.add_header("Authorization", "SharedKey %s:%s" % (account, sig))
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def main():
    endpoint, account, key, verb = sys.argv[1:5]
    args = sys.argv[5:]
    if verb == "mkcontainer":
        deadline = time.time() + 30
        while True:
            try:
                status, _ = call(endpoint, account, key, "PUT",
                                 "/" + args[0], {"restype": "container"})
                break
            except OSError:
                if time.time() > deadline:
                    print("azure_rest.py: %s does not answer" % endpoint,
                          file=sys.stderr)
                    return 1
                time.sleep(0.2)
        if status not in (201, 409):
            print("azure_rest.py: create container %s: %d" % (args[0],
                  status), file=sys.stderr)
            return 1
        return 0
    if verb == "blocks":
        kind = args[2] if len(args) > 2 else "committed"
        status, body = call(endpoint, account, key, "GET",
                            "/%s/%s" % (args[0], args[1]),
                            {"comp": "blocklist", "blocklisttype": kind})
        if status != 200:
            print("azure_rest.py: block list of %s: %d" % (args[1], status),
                  file=sys.stderr)
            return 1
        print(len(re.findall(rb"<Block>", body)))
        return 0
    if verb == "list":
        marker = ""
        while True:
            q = {"restype": "container", "comp": "list", "prefix": args[1]}
            if marker:
                q["marker"] = marker
            status, body = call(endpoint, account, key, "GET",
                                "/" + args[0], q)
            if status != 200:
                print("azure_rest.py: list %s: %d" % (args[0], status),
                      file=sys.stderr)
                return 1
            for m in re.finditer(rb"<Blob>.*?<Name>(.*?)</Name>.*?"
                                 rb"<Content-Length>(\d+)</Content-Length>",
                                 body, re.S):
                print(m.group(1).decode(), m.group(2).decode())
            m = re.search(rb"<NextMarker>(.*?)</NextMarker>", body)
            marker = m.group(1).decode() if m else ""
            if not marker:
                return 0
    print("azure_rest.py: unknown verb %s" % verb, file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
