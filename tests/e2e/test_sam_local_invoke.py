"""The real SAM CLI: `sam local invoke` of the built function, with events/scheduled.json, against
the local stack. Run by `make e2e` (tests/e2e/run.sh prepares Docker, the image and the network)."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from localaws.control import StackControl
from localaws.lambda_runtime import Deployment, deploy
from localaws.stack import LocalStack
from localaws.template import ROOT
from tests.support.environment import pointed_at

pytestmark = pytest.mark.e2e
ACCOUNT = "123456789012"


@pytest.fixture(scope="module")
def e2e_stack() -> Iterator[LocalStack]:
    """The local stack on the e2e network's gateway, where SAM's containers can reach it (and on
    loopback, where its control APIs answer)."""
    for name in ("E2E_INVOKE_IMAGE", "E2E_NETWORK", "E2E_HOST"):
        assert os.environ.get(name), f"{name} is not set: run the e2e tier with `make e2e`"
    stack = LocalStack(host=os.environ["E2E_HOST"], port=0, allow_non_loopback=True).start()
    try:
        with pointed_at(stack):
            yield stack
    finally:
        stack.stop()


def dummy_credentials_only() -> dict[str, str]:
    """SAM passes the shell's credentials into the container, and a profile named in the environment
    wins over the test's dummy keys: leave the profile out."""
    return {name: value for name, value in os.environ.items() if name not in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE")}


def sam_local_invoke(deployment: Deployment, stack: LocalStack, tmp_path: Path, event: str) -> dict[str, Any]:
    env_file = tmp_path / "env.json"
    variables = {k: deployment.env[k] for k in ("TABLE_NAME", "TOPIC_ARN", "SCAN_REGIONS", "ARCHIVE_BUCKET")}
    variables["CHAT_TOPIC_ARN"] = deployment.env.get("CHAT_TOPIC_ARN", "")
    variables.update(AWS_ENDPOINT_URL=stack.endpoint_url, CONNECT_REQUESTS_PER_SECOND="50")
    env_file.write_text(json.dumps({"ScanNumbersFunction": variables}))
    completed = subprocess.run(
        [
            str(ROOT / ".venv" / "bin" / "sam"), "local", "invoke", "ScanNumbersFunction",
            "--event", str(ROOT / "events" / event),
            "--env-vars", str(env_file),
            "--docker-network", os.environ["E2E_NETWORK"],
            "--invoke-image", os.environ["E2E_INVOKE_IMAGE"],
            "--skip-pull-image",
            "--parameter-overrides", "Architecture=x86_64",
        ],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False, env=dummy_credentials_only(),
    )  # fmt: skip
    print(f"\n--- sam local invoke -e events/{event}: exit {completed.returncode}")
    print(completed.stdout.strip().splitlines()[-1] if completed.stdout.strip() else completed.stderr[-3000:])
    assert completed.returncode == 0, completed.stderr[-3000:]
    result: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    assert "errorMessage" not in result, result  # a handler that raises still exits 0
    return result


def test_sam_local_invoke_runs_the_scheduled_scan_end_to_end(e2e_stack: LocalStack, tmp_path: Path) -> None:
    control = StackControl(e2e_stack.control_url)
    control.reset()
    control.lift_quotas()
    connect = boto3.client("connect", region_name="us-east-1")
    instance = connect.create_instance(
        IdentityManagementType="CONNECT_MANAGED",
        InstanceAlias="e2e",
        InboundCallsEnabled=True,
        OutboundCallsEnabled=True,
    )
    control.seed(account=ACCOUNT, region="us-east-1", target_arn=instance["Arn"], count=120)
    deployment = deploy()
    # The baseline
    summary = sam_local_invoke(deployment, e2e_stack, tmp_path, "scheduled.json")
    assert (summary["status"], summary["mode"], summary["baseline_numbers"]) == ("COMPLETED", "BASELINE", 120)
    assert (summary["archive"]["status"], summary["archive"]["full_inventory"]) == ("WRITTEN", True)
    assert [m["body"]["event_type"] for m in deployment.received(deployment.machines_queue)] == ["BASELINE"]
    assert [m["body"]["event_type"] for m in deployment.received(deployment.people_queue)] == ["BASELINE"]
    # One release and one claim overnight, then the next scheduled run
    listed = connect.list_phone_numbers_v2(TargetArn=instance["Arn"], MaxResults=1)["ListPhoneNumbersSummaryList"]
    connect.release_phone_number(PhoneNumberId=listed[0]["PhoneNumberId"])
    offer = connect.search_available_phone_numbers(
        TargetArn=instance["Arn"], PhoneNumberCountryCode="US", PhoneNumberType="DID", MaxResults=1
    )["AvailableNumbersList"][0]
    connect.claim_phone_number(TargetArn=instance["Arn"], PhoneNumber=offer["PhoneNumber"])
    summary = sam_local_invoke(deployment, e2e_stack, tmp_path, "scheduled.json")
    assert summary["changes"] == {"CLAIMED": 1, "RELEASED": 1, "MOVED": 0, "UPDATED": 0}
    received = deployment.received(deployment.machines_queue)
    events = sorted(
        (m["body"]["change_type"], m["body"]["phone_number"])
        for m in received
        if m["body"]["event_type"] == "NUMBER_CHANGE"
    )
    assert events == sorted([("CLAIMED", offer["PhoneNumber"]), ("RELEASED", listed[0]["PhoneNumber"])])
    people = deployment.received(deployment.people_queue)
    assert [m["subject"] for m in people] == [f"Connect numbers: 1 claimed, 1 released in {ACCOUNT}"]
    # A dry run through the same path writes nothing
    dry = sam_local_invoke(deployment, e2e_stack, tmp_path, "dry-run.json")
    assert dry["status"] == "DRY_RUN"
