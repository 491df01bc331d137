# SPDX-License-Identifier: BSD-2-Clause
"""sns_sqs.py: SNS topics with SQS queues subscribed, in moto, for it_sns.sh.

  sns_sqs.py setup EP AKID SECRET
      A standard topic "vigil-alerts" with the standard queue "vigil-alerts"
      subscribed, and a FIFO topic "vigil-alerts.fifo" with the FIFO queue
      "vigil-alerts.fifo" subscribed, both with raw message delivery off (so
      each message is SNS's JSON envelope: Subject, Message,
      MessageAttributes).  Prints "TOPIC_ARN QUEUE_URL" for each, one line
      per pair, standard first.
  sns_sqs.py drain EP AKID SECRET QUEUE_URL OUT [QUEUE_URL OUT ...]
      Receive every message waiting in each queue, delete it, and append one
      JSON line per message to its OUT: {"envelope": <the SNS envelope>,
      "group": MessageGroupId, "dedup": MessageDeduplicationId}.

Every call is signed with the test's keys (moto checks the signatures).
"""
import json
import sys

import boto3


def clients(ep, akid, secret):
    kw = dict(endpoint_url=ep, region_name="us-east-1",
              aws_access_key_id=akid, aws_secret_access_key=secret)
    return boto3.client("sns", **kw), boto3.client("sqs", **kw)


def setup(sns, sqs):
    for name, fifo in (("vigil-alerts", False), ("vigil-alerts.fifo", True)):
        attrs = {"FifoTopic": "true"} if fifo else {}
        arn = sns.create_topic(Name=name, Attributes=attrs)["TopicArn"]
        qattrs = {"FifoQueue": "true"} if fifo else {}
        url = sqs.create_queue(QueueName=name, Attributes=qattrs)["QueueUrl"]
        qarn = sqs.get_queue_attributes(
            QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=qarn,
                      Attributes={"RawMessageDelivery": "false"})
        print(arn, url)


def drain(sqs, url, out):
    n = 0
    with open(out, "a") as f:
        while True:
            r = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10,
                                    WaitTimeSeconds=0,
                                    AttributeNames=["All"])
            msgs = r.get("Messages", [])
            if not msgs:
                break
            for m in msgs:
                a = m.get("Attributes", {})
                f.write(json.dumps({"envelope": json.loads(m["Body"]),
                                    "group": a.get("MessageGroupId"),
                                    "dedup": a.get("MessageDeduplicationId")})
                        + "\n")
                sqs.delete_message(QueueUrl=url,
                                   ReceiptHandle=m["ReceiptHandle"])
                n += 1
    return n


def main():
    cmd, ep, akid, secret = sys.argv[1:5]
    sns, sqs = clients(ep, akid, secret)
    if cmd == "setup":
        setup(sns, sqs)
    elif cmd == "drain":
        pairs = sys.argv[5:]
        for i in range(0, len(pairs) - 1, 2):
            drain(sqs, pairs[i], pairs[i + 1])
    else:
        sys.exit("usage: sns_sqs.py setup|drain EP AKID SECRET [URL OUT ...]")


if __name__ == "__main__":
    main()
