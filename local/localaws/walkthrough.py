"""`make run`: the main job on the embedded local AWS stack, no AWS account, no Docker.

Starts the stack, seeds the demo estate, deploys the template's table and topic (with an SQS
subscriber for machines, and one behind the email subscription's filter for people), runs the
scan (the baseline), changes the estate overnight (through the Connect API: claims 3 numbers, one
claim that fails, releases 2, moves 1 from an instance to a TDG, unroutes 1, edits 1 description
and removes a required tag; and 1 description edited in the admin website, which leaves no
CloudTrail record), runs the scan again, and shows what a user gets: the digest email as it would
read (who made each change, the unrouted numbers, the findings, the monthly cost), the events an
SQS subscriber received, the run summary; and saves the month's report, rendered from the local
archive alone, to `.local/report-YYYY-MM.html` and prints its path. The scan runs at its default pace under Connect's
default quota, with details asked for (the demo shows tags and findings: required tag keys, and
DescribePhoneNumber's budget, all of it for details, lowered to 30 from 300, so that the rotation of
descriptions takes seconds rather than five minutes).

It speaks the digest's language throughout: phone numbers as E.164 numbers, targets by their
Connect names (an instance's alias, a TDG's name), never by ARN or by the seeding code's keys.
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
import time
from pathlib import Path
from typing import Any

import boto3

from numberwatch.adapters.s3_archive import S3Archive
from numberwatch.archive_format import manifest_started_at
from numberwatch.monthly_report import render_month

from .control import StackControl
from .demo import HOME_REGION, DemoEstate, seed_demo_estate
from .lambda_runtime import Deployment, LambdaContext, deploy, use_local_stack
from .stack import LocalStack

QUIET = {"POWERTOOLS_LOG_LEVEL": "WARNING"}
REPORTS = Path(".local")
SETTINGS = {"REQUIRED_TAG_KEYS": "cost-center,owner", "DESCRIBE_CALLS_PER_RUN": "30", "DETAIL_CALLS_PER_RUN": "30"}


def run_scan(deployment: Deployment) -> dict[str, Any]:
    """Invoke the handler; its JSON logs and EMF metrics (CloudWatch's business) are not shown."""
    with contextlib.redirect_stdout(io.StringIO()):
        return deployment.invoke({"source": "schedule"}, LambdaContext(), **QUIET, **SETTINGS)


def heading(text: str) -> None:
    print(f"\n{'=' * 78}\n{text}\n{'=' * 78}", flush=True)


def show_summary(summary: dict[str, Any]) -> None:
    shown = {k: v for k, v in summary.items() if k not in ("numbers_by_target", "preview")}
    print(json.dumps(shown, indent=2))


def connect_names(estate: DemoEstate) -> dict[str, str]:
    """Target ARN -> its name in Connect (instance alias, TDG name): the names the digest uses."""
    names = {}
    for arn in estate.targets.values():
        region, resource = arn.split(":")[3], arn.split(":")[5]
        connect = boto3.client("connect", region_name=region)
        if resource.startswith("instance/"):
            names[arn] = connect.describe_instance(InstanceId=arn)["Instance"]["InstanceAlias"]
        else:
            described = connect.describe_traffic_distribution_group(TrafficDistributionGroupId=arn)
            names[arn] = described["TrafficDistributionGroup"]["Name"]
    return names


def phone_number(number: dict[str, str]) -> str:
    """The E.164 number of one the estate claimed (the estate keeps ids and ARNs)."""
    connect = boto3.client("connect", region_name=number["region"])
    summary = connect.describe_phone_number(PhoneNumberId=number["id"])["ClaimedPhoneNumberSummary"]
    e164: str = summary["PhoneNumber"]
    return e164


def flow_of(connect: Any, estate: DemoEstate, number: dict[str, str]) -> str | None:
    """The contact flow a number of the primary instance answers, or None."""
    pages = connect.get_paginator("list_flow_associations").paginate(
        InstanceId=estate.instance_ids["primary"], ResourceType="VOICE_PHONE_NUMBER"
    )
    for page in pages:
        for association in page["FlowAssociationSummaryList"]:
            if association["ResourceId"].rsplit("/", 1)[-1] == number["id"]:
                flow: str = association["FlowId"]
                return flow
    return None


def emails(stack: StackControl, deployment: Deployment) -> list[tuple[str, str]]:
    """(subject, text) of what the email subscription would receive, as SNS would render it."""
    topic = next(t for t in stack.moto_data()["sns"]["Topic"] if t["arn"] == deployment.topic_arn)
    rendered = []
    for _, message, subject, attributes, *_ in topic["sent_notifications"]:
        if attributes.get("event_type", {}).get("Value") in ("DIGEST", "BASELINE", "SUSPECTED_MASS_RELEASE"):
            rendered.append((subject, json.loads(message)["email"]))
    return rendered


def save_report(deployment: Deployment, summary: dict[str, Any], folder: Path) -> Path:
    """The month of the last run, rendered from the archive alone as `numberwatch report` does."""
    month = manifest_started_at(summary["archive"]["manifest_key"]).strftime("%Y-%m")
    archive = S3Archive(boto3.client("s3", region_name=HOME_REGION), deployment.archive_bucket)
    required = tuple(SETTINGS["REQUIRED_TAG_KEYS"].split(","))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"report-{month}.html"
    path.write_bytes(render_month(archive, summary["account"], month, "html", required_tag_keys=required))
    return path


def walk(endpoint_url: str, reports: Path = REPORTS) -> None:
    control = StackControl(endpoint_url)

    heading("2. The demo estate, seeded through the public Connect API")
    estate = seed_demo_estate(endpoint_url)
    names = connect_names(estate)
    name = {key: names[arn] for key, arn in estate.targets.items()}
    print(f"{estate.total()} numbers: " + ", ".join(f"{name[key]} {len(v)}" for key, v in estate.numbers.items()))
    print("Connect's default quota (2 requests/s, burst 5) applies to the scan from here on.")

    heading("3. Deploy the template's table and topic; run the scan: the baseline")
    deployment = deploy()
    summary = run_scan(deployment)
    show_summary(summary)
    baseline_emails = emails(control, deployment)
    for subject, text in baseline_emails:
        print(f"\n--- email: {subject}\n{text}")
    deployment.received(deployment.machines_queue)

    heading("4. Overnight, by hand: claims, a failed claim, releases, a move, an unrouted number, edits")
    connect = boto3.client("connect", region_name=HOME_REGION)
    primary = estate.targets["primary"]
    offers = connect.search_available_phone_numbers(
        TargetArn=primary, PhoneNumberCountryCode="US", PhoneNumberType="DID", MaxResults=4
    )["AvailableNumbersList"]
    for offer in offers[:3]:
        connect.claim_phone_number(
            TargetArn=primary, PhoneNumber=offer["PhoneNumber"], PhoneNumberDescription="New line"
        )
        print(f"claimed  {offer['PhoneNumber']} on {name['primary']}")
    control.settings(fail_next_async=1)
    connect.claim_phone_number(TargetArn=primary, PhoneNumber=offers[3]["PhoneNumber"])
    print(f"claimed  {offers[3]['PhoneNumber']} on {name['primary']}: the claim fails")
    for victim in estate.numbers["branch"][:2]:
        released = phone_number(victim)
        connect.release_phone_number(PhoneNumberId=victim["id"])
        print(f"released {released} from {name['branch']}")
    mover = estate.numbers["primary"][10]
    connect.update_phone_number(PhoneNumberId=mover["id"], TargetArn=estate.targets["global-tdg"])
    print(f"moved    {phone_number(mover)} from {name['primary']} to {name['global-tdg']}")
    routed = next(n for n in estate.numbers["primary"][20:] if flow_of(connect, estate, n) is not None)
    connect.disassociate_phone_number_contact_flow(
        PhoneNumberId=routed["id"], InstanceId=estate.instance_ids["primary"]
    )
    print(f"unrouted {phone_number(routed)} on {name['primary']}: no contact flow answers it any more")
    edited = estate.numbers["primary"][11]
    connect.update_phone_number_metadata(PhoneNumberId=edited["id"], PhoneNumberDescription="Billing hotline")
    connect.untag_resource(resourceArn=edited["arn"], tagKeys=["owner"])
    print(f'edited   {phone_number(edited)} on {name["primary"]}: description "Billing hotline", tag owner removed')
    by_hand = estate.numbers["primary"][12]
    control.console_change("describe", phone_number_id=by_hand["id"], description="Front desk")
    print(f"edited   {phone_number(by_hand)} on {name['primary']} in the admin website (no CloudTrail record)")

    heading("5. The next night's scan")
    summary = run_scan(deployment)
    show_summary(summary)

    heading("6. What people get: the digest email (the only email of the night)")
    for subject, text in emails(control, deployment)[len(baseline_emails) :]:
        print(f"Subject: {subject}\n\n{text}")

    heading("7. What machines get: one JSON event per changed number (an SQS subscriber)")
    for message in deployment.received(deployment.machines_queue):
        body = message["body"]
        if body["event_type"] == "NUMBER_CHANGE":
            target = names.get(body["target_arn"], body["target_arn"])
            print(
                f"{body['change_type']:<8} {body['phone_number']:<14} {target}  event_id={body['event_id']} "
                f"changed_fields={body['changed_fields']} "
                f"attributes={message['attributes']}"
            )
        elif body["event_type"] == "NUMBER_FINDING":
            target = names.get(body["target_arn"], body["target_arn"])
            print(
                f"{'FINDING':<8} {body['phone_number']:<14} {target}  event_id={body['event_id']} "
                f"finding_type={body['finding_type']}"
            )
        else:
            print(f"{body['event_type']:<8} counts={body.get('counts')}")

    heading("8. The month's report, from the evidence archive alone")
    path = save_report(deployment, summary, reports)
    print(f"Saved {path.resolve()} (open it in a browser: one file, no network).")


def main() -> int:
    started = time.monotonic()
    heading("1. The local AWS stack: moto + the Connect emulator on one loopback endpoint")
    stack_server = LocalStack(port=0).start()
    use_local_stack(stack_server.endpoint_url)
    print(f"AWS_ENDPOINT_URL={stack_server.endpoint_url}")
    try:
        walk(stack_server.endpoint_url)
    finally:
        stack_server.stop()
    print(f"\nDone in {time.monotonic() - started:.0f} s. Run `make test` for the whole test suite.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
