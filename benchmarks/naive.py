"""The naive baseline: the script a user writes first, kept to measure ours against.

boto3's paginator at MaxResults=100 (as the sample code does) for every instance and TDG, one
get_item and one put_item per number, one publish per change. Run in its own process, like ours:

    python -m benchmarks.naive ENV_JSON
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from pathlib import Path
from typing import Any

import boto3

from benchmarks.handler_process import dynamodb_stats, sns_stats
from localaws.aws_calls import AwsCallLog


def scan(table: str, topic_arn: str, regions: list[str]) -> dict[str, int]:
    dynamodb = boto3.client("dynamodb")
    sns = boto3.client("sns")
    seen_targets: set[str] = set()
    counts = {"numbers": 0, "changes": 0}
    for region in regions:
        connect = boto3.client("connect", region_name=region)
        targets = []
        for page in connect.get_paginator("list_instances").paginate():
            for instance in page["InstanceSummaryList"]:
                targets.append(instance["Arn"])
                for tdgs in connect.get_paginator("list_traffic_distribution_groups").paginate(
                    InstanceId=instance["Id"]
                ):
                    targets.extend(t["Arn"] for t in tdgs["TrafficDistributionGroupSummaryList"])
        for target in targets:
            if target in seen_targets:
                continue
            seen_targets.add(target)
            paginator = connect.get_paginator("list_phone_numbers_v2")
            for listing in paginator.paginate(TargetArn=target, PaginationConfig={"PageSize": 100}):
                for number in listing["ListPhoneNumbersSummaryList"]:
                    counts["numbers"] += 1
                    key = {"pk": {"S": number["PhoneNumberArn"]}}
                    stored = dynamodb.get_item(TableName=table, Key=key).get("Item")
                    current = json.dumps(number, sort_keys=True)
                    if stored is None or stored["summary"]["S"] != current:
                        dynamodb.put_item(TableName=table, Item={**key, "summary": {"S": current}})
                        sns.publish(TopicArn=topic_arn, Message=current, Subject="Connect number changed")
                        counts["changes"] += 1
    return counts


def main(env_path: str) -> int:
    env = json.loads(Path(env_path).read_text())
    os.environ.update(env)
    log = AwsCallLog()
    log.install()
    before = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    counts = scan(env["NAIVE_TABLE"], env["NAIVE_TOPIC_ARN"], env["SCAN_REGIONS"].split(","))
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_SELF)
    result: dict[str, Any] = {
        "summary": counts,
        "wall_seconds": wall,
        "cpu_seconds": (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime),
        "peak_rss_mb": after.ru_maxrss / 1024,
        "dynamodb": dynamodb_stats(log),
        "sns": sns_stats(log),
    }
    print("BENCH " + json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
