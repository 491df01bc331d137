# SPDX-License-Identifier: BSD-2-Clause
"""moto_raw_query.py: moto_server whose SigV4 check sees the query as sent.

moto 5.2.1 checks a signature against werkzeug's request.url, whose query is
already percent-decoded, so "prefix=a%2Fb%2F" is canonicalised as
"prefix=a/b/" and every correctly signed request with a '/' (or any other
encoded byte) in a query value gets 403 SignatureDoesNotMatch - boto3's own
ListObjectsV2 with Prefix="a/" included.  AWS canonicalises the encoded
form.  This wrapper gives moto the request line's own URI (RAW_URI, set by
werkzeug's server) and changes nothing else; arguments are moto_server's.
"""
import sys

from werkzeug.wrappers import Request

_url = Request.url


def _raw_url(self):
    raw = self.environ.get("RAW_URI") or self.environ.get("REQUEST_URI")
    if raw and raw.startswith("/"):
        return self.host_url.rstrip("/") + raw
    return _url.fget(self)


Request.url = property(_raw_url)

from moto.server import main  # noqa: E402

sys.exit(main())
