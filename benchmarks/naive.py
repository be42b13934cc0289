"""The naive baseline: the script a user writes first, kept to measure ours against.

boto3's paginator at MaxResults=100 (as the sample code does) for every instance and TDG, one
get_item and one put_item per number, one publish per change. Run in its own process, like ours:

    python -m benchmarks.naive ENV_JSON
"""

from __future__ import annotations

import json
import sys

import boto3

from benchmarks.handler_process import measured


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
    return measured(
        env_path,
        lambda env: {"summary": scan(env["NAIVE_TABLE"], env["NAIVE_TOPIC_ARN"], env["SCAN_REGIONS"].split(","))},
    )


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
