# SPDX-License-Identifier: BSD-2-Clause
"""moto_raw_query.py: moto_server whose SigV4 check sees the query as sent,
that lets STS's unsigned calls through, and that logs who signed what.

moto 5.2.1 checks a signature against werkzeug's request.url, whose query is
already percent-decoded, so "prefix=a%2Fb%2F" is canonicalised as
"prefix=a/b/" and every correctly signed request with a '/' (or any other
encoded byte) in a query value gets 403 SignatureDoesNotMatch - boto3's own
ListObjectsV2 with Prefix="a/" included.  AWS canonicalises the encoded
form.  This wrapper gives moto the request line's own URI (RAW_URI, set by
werkzeug's server).

STS's AssumeRoleWithWebIdentity and AssumeRoleWithSAML are unsigned in AWS
(the token or assertion is the credential; the SDKs send them without a
signature), and moto routes them to STS as unsigned actions, but once
INITIAL_NO_AUTH_ACTION_COUNT is spent its check refuses them for want of
a signature.  Here they skip the check, as at AWS; every other request is
still checked.

Each checked request is logged on stderr (moto's log) as
"vigil-auth METHOD PATH ACCESS_KEY_ID" ("-" when unsigned), so a test can
tell which credentials a client used; an access key id is no secret.  A
query-protocol call is also logged as "vigil-action SERVICE ACTION N", N
the number of GetMetricData queries it carries (0 for other actions),
followed for GetMetricData by its StartTime and EndTime, so a test counts
calls, batching and windows on the server side.  A JSON-protocol call
(X-Amz-Target, CloudWatch's awsJson1_0) is logged the same way, its
StartTime and EndTime as sent (epoch seconds), with " json" at the end.
Arguments are moto_server's.
"""
import json
import re
import sys
from urllib.parse import urlparse

from werkzeug.wrappers import Request

_url = Request.url


def _raw_url(self):
    raw = self.environ.get("RAW_URI") or self.environ.get("REQUEST_URI")
    if raw and raw.startswith("/"):
        return self.host_url.rstrip("/") + raw
    return _url.fget(self)


Request.url = property(_raw_url)

from moto.core.authorization import ActionAuthenticatorMixin  # noqa: E402

_check = ActionAuthenticatorMixin._authenticate_and_authorize_action
_UNSIGNED_STS = ("AssumeRoleWithWebIdentity", "AssumeRoleWithSAML")
_CRED = re.compile(r"Credential=([^/,\s]+)/")
_QUERY_ID = re.compile(r"MetricDataQueries\.member\.\d+\.Id$")


def _checked(self, iam_request_cls, resource="*"):
    if getattr(self, "service_name", None) == "sts" and \
            self._get_action() in _UNSIGNED_STS:
        sys.stderr.write("vigil-auth %s %s unsigned\n" %
                         (self.method, self._get_action()))
        sys.stderr.flush()
        return None
    m = _CRED.search(self.headers.get("Authorization") or "")
    sys.stderr.write("vigil-auth %s %s %s\n" % (
        self.method, urlparse(self.uri).path, m.group(1) if m else "-"))
    qs = getattr(self, "querystring", None) or {}
    if "Action" in qs:
        nq = sum(1 for k in qs if _QUERY_ID.match(k))
        win = ""
        if qs["Action"][0] == "GetMetricData":
            win = " %s %s" % (qs.get("StartTime", ["-"])[0],
                              qs.get("EndTime", ["-"])[0])
        sys.stderr.write("vigil-action %s %s %d%s\n" % (
            getattr(self, "service_name", "?"), qs["Action"][0], nq, win))
    target = self.headers.get("X-Amz-Target") or ""
    if target and "Action" not in qs:
        try:
            body = json.loads(self.body or b"{}")
        except ValueError:
            body = {}
        action = target.split(".")[-1]
        win = ""
        if action == "GetMetricData":
            win = " %s %s" % (body.get("StartTime", "-"),
                              body.get("EndTime", "-"))
        sys.stderr.write("vigil-action %s %s %d%s json\n" % (
            getattr(self, "service_name", "?"), action,
            len(body.get("MetricDataQueries", []) or []), win))
    sys.stderr.flush()
    return _check(self, iam_request_cls, resource)


ActionAuthenticatorMixin._authenticate_and_authorize_action = _checked

from moto.server import main  # noqa: E402

sys.exit(main())
