#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""cw_feed.py: puts the values a test controls into moto's CloudWatch.

    cw_feed.py ENDPOINT ACCESS_KEY_ID SECRET DIR

Every 0.3 s, for each line "INSTANCE_ID VALUE" of DIR/fleet (re-read each
time, so the test changes values and the fleet by rewriting it), one
datapoint of Vigil/Test Load{InstanceId} stamped now.  Stops when DIR/stop
exists.  Signed with the given key, as every call to the test's moto.
"""
import datetime
import os
import sys
import time

import boto3


def main():
    ep, akid, secret, d = sys.argv[1:5]
    cw = boto3.client("cloudwatch", endpoint_url=ep, region_name="us-east-1",
                      aws_access_key_id=akid, aws_secret_access_key=secret)
    while not os.path.exists(os.path.join(d, "stop")):
        try:
            with open(os.path.join(d, "fleet")) as f:
                fleet = [ln.split() for ln in f if ln.strip()]
        except FileNotFoundError:
            fleet = []
        now = datetime.datetime.now(datetime.timezone.utc)
        data = [{"MetricName": "Load",
                 "Dimensions": [{"Name": "InstanceId", "Value": i}],
                 "Value": float(v), "Timestamp": now} for i, v in fleet]
        if data:
            cw.put_metric_data(Namespace="Vigil/Test", MetricData=data)
        time.sleep(0.3)
    return 0


if __name__ == "__main__":
    sys.exit(main())
