#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""mk_bodies.py: the Publish bodies test_sns.c expects, made by botocore.

The notifications of test_sns.c's test_body_botocore are written out here by
hand, with the Subject and Message the sns notifier's documentation
promises (docs/ARCHITECTURE.md, ntf_sns.c), and serialized by botocore's own
query serializer with the Publish model of
../shared/conformance/aws-responses/botocore/model-subsets/
sns-2010-03-31-Publish.json.  The C test builds the same notifications and
compares its body with these files byte for byte: encoding, parameter
order, map entries, subject trimming and FIFO ids.

Run from the repository: python3 tests/data/sns/mk_bodies.py
"""
import json
import os
import sys

from botocore.awsrequest import AWSRequest
from botocore.model import ServiceModel
from botocore.serialize import create_serializer

HERE = os.path.dirname(os.path.abspath(__file__))
MODEL = os.path.join(HERE, "..", "..", "..", "..", "shared", "conformance",
                     "aws-responses", "botocore", "model-subsets",
                     "sns-2010-03-31-Publish.json")


def text(summary, lines):
    return summary + "\n\n" + "".join("%s: %s\n" % kv for kv in lines)


def attrs(**kv):
    return {k: {"DataType": "String", "StringValue": v}
            for k, v in kv.items()}


# 1. tu_notification_firing(T0) with a cloud metric: a resource.
s1 = ("CRITICAL: cpu-high on web1: "
      "aws.EC2.CPUUtilization{InstanceId=i-0abc123} = 97.2 (> 95)")
plain = {
    "TopicArn": "arn:aws:sns:eu-west-1:123456789012:oncall",
    "Message": text(s1, [
        ("State", "CRITICAL (was OK)"), ("Rule", "cpu-high"),
        ("Host", "web1"),
        ("Metric", "aws.EC2.CPUUtilization{InstanceId=i-0abc123}"),
        ("Resource", "InstanceId=i-0abc123"), ("Value", "97.2"),
        ("Threshold", "> 95"), ("Since", "2026-11-22T02:58:00.123Z"),
        ("Time", "2026-11-22T03:00:00.123Z"),
        ("Id", "1795316400123-cafe-0001")]),
    "Subject": s1,
    # severity, rule, host, resource: in this order.
    "MessageAttributes": attrs(severity="CRITICAL", rule="cpu-high",
                               host="web1",
                               resource="InstanceId=i-0abc123"),
}

# 2. A recovery on a host with a non-ASCII name, a rule whose summary is
#    longer than 100 characters, to a FIFO topic.
rule = "disk-space-on-the-archive-volume-of-the-primary-database-cluster"
s2 = ("RECOVERED: %s on w\u00e9b-\u00e401: disk./srv.used_pct = 41.5 "
      "(was WARNING)" % rule)
fifo = {
    "TopicArn": "arn:aws:sns:eu-west-1:123456789012:oncall.fifo",
    "Message": text(s2, [
        ("State", "OK (was WARNING)"), ("Rule", rule),
        ("Host", "w\u00e9b-\u00e401"), ("Metric", "disk./srv.used_pct"),
        ("Value", "41.5"), ("Threshold", "> 90"),
        ("Since", "2026-11-22T03:00:00.123Z"),
        ("Time", "2026-11-22T03:00:00.123Z"),
        ("Id", "1795316400123-beef-0002")]),
    "Subject": s2[:99] + "\u2026",
    "MessageAttributes": attrs(severity="OK", rule=rule,
                               host="w\u00e9b-\u00e401"),
    "MessageDeduplicationId": "1795316400123-beef-0002",
    "MessageGroupId": rule,
}
assert len(s2) > 100 and len(fifo["Subject"]) == 100


def main():
    model = ServiceModel(json.load(open(MODEL)), service_name="sns")
    op = model.operation_model("Publish")
    ser = create_serializer("query")
    for name, params in (("publish-plain.txt", plain),
                         ("publish-fifo.txt", fifo)):
        req = ser.serialize_to_request(params, op)
        # What botocore sends: its AWSRequest form-encodes the dict.
        body = AWSRequest(method="POST", url="https://sns.example/",
                          data=req["body"]).prepare().body
        if isinstance(body, bytes):
            body = body.decode("ascii")
        with open(os.path.join(HERE, name), "w") as f:
            f.write(body)
        print(name, len(body), file=sys.stderr)


if __name__ == "__main__":
    main()
