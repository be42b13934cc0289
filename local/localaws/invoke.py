"""`make invoke EVENT=events/<file>.json`: the real handler, in-process, against the local stack.

It uses the stack that `make stack` serves on 127.0.0.1:4566 when one answers there (so the estate
and the snapshot carry over from one invoke to the next), else it starts one of its own on a free
loopback port, seeds the demo estate into it, and stops it at the end. Either way it deploys the
table and topic that env.json names (idempotently: the ones `make sam-invoke` uses too), sets what
the handler needs (dummy credentials, Region, endpoint, the template's environment), and prints
the run summary and what subscribers received: the email text of each message for people, one line
per event for machines.

`--deploy-only` and `--published` are the first and last of these steps on their own, for
`make sam-invoke`, whose handler runs in Docker.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import sys
import urllib.request
import warnings
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from .demo import seed_demo_estate
from .lambda_runtime import Deployment, LambdaContext, deploy_as_env_json, use_local_stack
from .stack import LocalStack

DEFAULT_ENDPOINT = "http://127.0.0.1:4566"
COMMON_FIELDS = ("schema_version", "event_type", "account", "run_id", "observed_at")


def stack_answers(endpoint_url: str) -> bool:
    """Is a local stack serving AWS calls there? (An ordinary STS call, not the control API.)"""
    sts = boto3.client(
        "sts",
        endpoint_url=endpoint_url,
        aws_access_key_id="local",
        aws_secret_access_key="local",
        region_name="us-east-1",
        config=Config(connect_timeout=1, read_timeout=5, retries={"max_attempts": 1}),
    )
    try:
        sts.get_caller_identity()
    except (BotoCoreError, ClientError):
        return False
    return True


def sent_envelopes(endpoint_url: str, topic_arn: str) -> list[dict[str, Any]]:
    """Every message published to the topic, as SNS got it (`default` JSON and `email` text), from
    moto's state: an SQS subscriber gets the `default` JSON only, never the email text. A stack may
    answer its control API to loopback clients only, from its loopback twin when bound elsewhere."""
    port = urlsplit(endpoint_url).port
    for url in dict.fromkeys([endpoint_url, f"http://127.0.0.1:{port}"]):
        try:
            with urllib.request.urlopen(f"{url}/moto-api/data.json", timeout=60) as response:
                topics = json.loads(response.read())["sns"]["Topic"]
        except OSError:  # refused (HTTPError is an OSError), or nothing listens there
            continue
        sent: list[list[Any]] = next((t["sent_notifications"] for t in topics if t["arn"] == topic_arn), [])
        return [json.loads(message) for _, message, *_ in sent]
    raise RuntimeError(f"the stack's control API answers neither on 127.0.0.1:{port} nor at {endpoint_url}")


def email_texts(endpoint_url: str, deployment: Deployment, bodies: list[dict[str, Any]]) -> list[str | None]:
    """The email text SNS would send for each message for people, matched by its JSON body."""
    by_body = {}
    for envelope in sent_envelopes(endpoint_url, deployment.topic_arn):
        by_body[json.dumps(json.loads(envelope["default"]), sort_keys=True)] = envelope.get("email")
    return [by_body.get(json.dumps(body, sort_keys=True)) for body in bodies]


def show_published(endpoint_url: str, deployment: Deployment) -> None:
    """What each subscriber received since the last call: people's emails, then machines' events."""
    people = deployment.received(deployment.people_queue)
    machines = deployment.received(deployment.machines_queue)
    print(f"\n== published: {len(people)} email(s) for people, {len(machines)} message(s) for machines")
    for message, text in zip(people, email_texts(endpoint_url, deployment, [m["body"] for m in people]), strict=True):
        print(f"\n--- email: {message['subject']}\n{text if text is not None else json.dumps(message['body'])}")
    if machines:
        print("\n--- machines (one JSON message each; here one line each)")
    for message in machines:
        body = message["body"]
        if body["event_type"] == "NUMBER_CHANGE":
            print(
                f"{body['change_type']:<8} {body['phone_number']:<14} target={body['target_arn']} "
                f"event_id={body['event_id']} changed_fields={body['changed_fields']}"
            )
        else:
            fields = {k: v for k, v in body.items() if k not in COMMON_FIELDS}
            line = json.dumps(fields, separators=(",", ":"))
            print(f"{body['event_type']:<8} {line if len(line) <= 160 else line[:157] + '...'}")


def show_summary(summary: dict[str, Any]) -> None:
    preview = summary.get("preview") or []
    print(json.dumps({k: v for k, v in summary.items() if k != "preview"}, indent=2))
    if preview:
        print(f"preview of the first {len(preview)} change(s), one a line:")
        for change in preview:
            print(json.dumps(change, separators=(",", ":")))


def invoke(endpoint_url: str, deployment: Deployment, event_path: Path) -> int:
    event = json.loads(event_path.read_text())
    print(f"\n== the handler (template's Handler, layer on the path) with {event_path}")
    logs = io.StringIO()  # its JSON logs and EMF metrics are CloudWatch's business; shown if it fails
    try:
        with contextlib.redirect_stdout(logs), warnings.catch_warnings():
            warnings.filterwarnings("ignore", module="aws_lambda_powertools")  # "no metrics" on a dry run
            summary = deployment.invoke(event, LambdaContext())
    except Exception as exc:  # noqa: BLE001 - any failure of the handler is reported, with its logs
        print(logs.getvalue(), end="")
        print(f"\nthe handler failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    show_summary(summary)
    show_published(endpoint_url, deployment)
    return 0


def prepare(endpoint_url: str) -> Deployment:
    use_local_stack(endpoint_url)
    deployment = deploy_as_env_json()
    deployment.received(deployment.people_queue)  # what earlier runs left is not this run's
    deployment.received(deployment.machines_queue)
    print(
        f"== table {deployment.table} and topic {deployment.topic_arn} (the names in env.json), "
        f"subscribed: {deployment.machines_queue.rsplit('/', 1)[-1]}, {deployment.people_queue.rsplit('/', 1)[-1]}"
    )
    return deployment


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m localaws.invoke", description="the handler, in-process")
    parser.add_argument("event", nargs="?", type=Path, help="an event file, e.g. events/dry-run.json")
    parser.add_argument("--endpoint-url", default=DEFAULT_ENDPOINT, help="the stack to use")
    step = parser.add_mutually_exclusive_group()
    step.add_argument("--deploy-only", action="store_true", help="deploy env.json's table and topic, invoke nothing")
    step.add_argument("--published", action="store_true", help="print what subscribers received since --deploy-only")
    args = parser.parse_args(argv)
    if args.deploy_only or args.published:
        use_local_stack(args.endpoint_url)
        if args.deploy_only:
            prepare(args.endpoint_url)
        else:
            show_published(args.endpoint_url, deploy_as_env_json())
        return 0
    if args.event is None or not args.event.is_file():
        parser.error(f"no event file {args.event}: give one of events/*.json")
    if stack_answers(args.endpoint_url):
        print(f"== the local stack at {args.endpoint_url} (already running: its estate and snapshot carry over)")
        return invoke(args.endpoint_url, prepare(args.endpoint_url), args.event)
    own = LocalStack(port=0).start()
    try:
        print(
            f"== no stack answers at {args.endpoint_url}: started one in-process at {own.endpoint_url} for this "
            "invoke only, seeding the demo estate (`make stack SEED=1` in another terminal keeps one running)"
        )
        estate = seed_demo_estate(own.endpoint_url)
        print(
            f"== demo estate seeded: {estate.total()} numbers on {len(estate.targets)} targets; Connect's quota is on"
        )
        return invoke(own.endpoint_url, prepare(own.endpoint_url), args.event)
    finally:
        own.stop()


if __name__ == "__main__":
    sys.exit(main())
