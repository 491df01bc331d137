#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""moto_setup.py: the IAM user and bucket that tests and benches use on a
fresh moto_server started with INITIAL_NO_AUTH_ACTION_COUNT=4.

    moto_setup.py ENDPOINT BUCKET [USER]

Four unauthenticated calls: create USER (default "vigil"), its access key,
an allow-all inline policy, and BUCKET (with that key).  Every request
after these is checked against the key.  Prints "ACCESS_KEY_ID SECRET".
"""
import json
import sys

import boto3


def main():
    ep, bucket = sys.argv[1], sys.argv[2]
    user = sys.argv[3] if len(sys.argv) > 3 else "vigil"
    kw = dict(endpoint_url=ep, region_name="us-east-1",
              aws_access_key_id="bootstrap",
              aws_secret_access_key="bootstrap")
    iam = boto3.client("iam", **kw)
    iam.create_user(UserName=user)
    k = iam.create_access_key(UserName=user)["AccessKey"]
    iam.put_user_policy(UserName=user, PolicyName="all",
                        PolicyDocument=json.dumps({
                            "Version": "2012-10-17",
                            "Statement": [{"Effect": "Allow", "Action": "*",
                                           "Resource": "*"}]}))
    s3 = boto3.client("s3", endpoint_url=ep, region_name="us-east-1",
                      aws_access_key_id=k["AccessKeyId"],
                      aws_secret_access_key=k["SecretAccessKey"])
    s3.create_bucket(Bucket=bucket)
    print(k["AccessKeyId"], k["SecretAccessKey"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
