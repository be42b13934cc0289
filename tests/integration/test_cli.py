"""`numberwatch`, every command against the local stack after real scans made through it.

The local stack has no CloudFormation stack of ours, so the resources are named the documented way:
the function's own variables (TABLE_NAME, ARCHIVE_BUCKET, TOPIC_ARN, SCAN_REGIONS), with the SDK
pointed at the stack through AWS_ENDPOINT_URL (tests/support/environment.py)."""

from __future__ import annotations

import csv
import io
import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from typer.testing import CliRunner, Result

from localaws.control import StackControl
from localaws.lambda_runtime import ACCOUNT, Deployment
from numberwatch.adapters.s3_archive import S3Archive
from numberwatch.archive_format import Manifest, manifest_prefix
from numberwatch_cli.app import app
from tests.integration.test_connect_flows import CONTENT
from tests.integration.test_reliability import FAST, edited_then_released_within_one_second
from tests.support.estate import HOME, Estate, Number

HOSTILE = '=HYPERLINK("http://evil.example","x") [bold red]pwned[/] \x1b[2J'


def numberwatch(deployment: Deployment, *args: str, **variables: str) -> Result:
    """The command as a person runs it against this deployment (resources named through the environment)."""
    env = {
        "TABLE_NAME": deployment.table,
        "ARCHIVE_BUCKET": deployment.archive_bucket,
        "TOPIC_ARN": deployment.topic_arn,
        "SCAN_REGIONS": deployment.env["SCAN_REGIONS"],
        **FAST,
        **variables,
    }
    return CliRunner().invoke(app, list(args), env=env)


def routed(estate: Estate, instance: dict[str, str], number: Number) -> None:
    flow = estate.clients[HOME].create_contact_flow(
        InstanceId=instance["Id"], Name="Main menu", Type="CONTACT_FLOW", Content=CONTENT
    )
    estate.clients[HOME].associate_phone_number_contact_flow(
        PhoneNumberId=number.id, InstanceId=instance["Id"], ContactFlowId=flow["ContactFlowId"]
    )


def rows(result: Result) -> list[dict[str, Any]]:
    assert result.exit_code in (0, 1), result.output
    parsed: list[dict[str, Any]] = json.loads(result.stdout)
    return parsed


def test_a_dry_run_writes_nothing_and_a_write_run_records_the_baseline(stack: StackControl, estate: Estate,
                                                                        deployment: Deployment) -> None:  # fmt: skip
    # Given an instance with three numbers
    alpha = estate.instance("alpha")
    estate.claim(alpha["Arn"], 3)
    # When a person runs a dry scan from the command line
    dry = numberwatch(deployment, "scan", "--format", "json")
    # Then it observed every number, and wrote nothing
    assert dry.exit_code == 0, dry.output
    summary = json.loads(dry.stdout)
    assert (summary["status"], summary["numbers_observed"], summary["dry_run"]) == ("DRY_RUN", 3, True)
    assert deployment.items() == []
    # When they run it for real
    written = numberwatch(deployment, "scan", "--write")
    # Then the run is recorded, the snapshot written, and the archive holds an intact chain
    assert written.exit_code == 0, written.output
    assert "COMPLETED run" in written.stdout and "3 numbers on 1 targets" in written.stdout
    stack.settle()
    status = numberwatch(deployment, "status", "--format", "json")
    assert status.exit_code == 0, status.output
    state = json.loads(status.stdout)
    assert [run["status"] for run in state["runs"]] == ["COMPLETED"]
    assert (state["pending"], state["set_aside"], state["problems"]) == ([], [], [])
    verified = numberwatch(deployment, "verify")
    assert verified.exit_code == 0, verified.output
    assert "intact: 1 manifests" in verified.stdout


def test_inventory_history_and_unrouted_answer_what_the_scans_observed(stack: StackControl, estate: Estate,
                                                                       deployment: Deployment) -> None:  # fmt: skip
    # Given three numbers, one of them routed to a contact flow, one with a description a spreadsheet runs
    alpha = estate.instance("alpha")
    numbers = estate.claim(alpha["Arn"], 3)
    routed(estate, alpha, numbers[0])
    estate.describe(numbers[1], HOSTILE)
    # And two nights scanned from the command line, with an edit in between
    assert numberwatch(deployment, "scan", "--write").exit_code == 0
    estate.describe(numbers[2], "front desk")
    time.sleep(1.1)  # manifests are keyed by the run's start to the second: two runs in one second sort by id
    assert numberwatch(deployment, "scan", "--write").exit_code == 0
    stack.settle()

    # When the inventory is asked for, as JSON
    held = rows(numberwatch(deployment, "inventory", "--format", "json"))
    # Then it lists exactly the numbers held, the description as Connect returned it
    assert sorted(row["phone_number"] for row in held) == sorted(n.e164 for n in numbers)
    by_number = {row["phone_number"]: row for row in held}
    assert by_number[numbers[1].e164]["description"] == HOSTILE
    assert by_number[numbers[2].e164]["description"] == "front desk"
    # And as CSV, the hostile description cannot run as a formula
    table = list(csv.DictReader(io.StringIO(numberwatch(deployment, "inventory", "--format", "csv").stdout)))
    assert {row["phone_number"]: row["description"] for row in table}[numbers[1].e164] == "'" + HOSTILE
    # And for people, Rich prints the markup literally and the escape sequence not at all
    people = numberwatch(deployment, "inventory", COLUMNS="1000").stdout
    assert "[bold red]pwned[/]" in people and "\x1b[2J" not in people

    # When the history of the edited number is asked for, by its E.164 number
    history = rows(numberwatch(deployment, "history", numbers[2].e164, "--format", "json"))
    # Then it names the edit and who made it
    assert [(row["event"], row["changed"]) for row in history] == [("UPDATED", "PhoneNumberDescription")]
    assert "UpdatePhoneNumberMetadata" in history[0]["by"]
    assert history[0]["after"]["PhoneNumberDescription"] == "front desk"

    # When the unrouted numbers are asked for
    unrouted = numberwatch(deployment, "unrouted", "--format", "json")
    # Then the two without a flow are listed, and the exit code says there are some
    assert unrouted.exit_code == 1
    assert sorted(row["phone_number"] for row in rows(unrouted)) == sorted([numbers[1].e164, numbers[2].e164])


def test_the_report_of_this_month_names_the_numbers_held_and_changed(
    stack: StackControl, estate: Estate, deployment: Deployment, tmp_path: Any
) -> None:
    # Given two nights scanned this month, a number edited in between with a description a spreadsheet runs
    alpha = estate.instance("alpha")
    numbers = estate.claim(alpha["Arn"], 2)
    assert numberwatch(deployment, "scan", "--write").exit_code == 0
    estate.describe(numbers[1], HOSTILE)
    time.sleep(1.1)  # manifests are keyed by the run's start to the second
    assert numberwatch(deployment, "scan", "--write").exit_code == 0
    month = datetime.now(UTC).strftime("%Y-%m")
    # When the month's report is asked for as CSV on standard output, and as HTML into a file
    result = numberwatch(deployment, "report", "--month", month, "--format", "csv", "--output", "-")
    page = tmp_path / "report.html"
    html = numberwatch(deployment, "report", "--month", month, "--output", str(page), REQUIRED_TAG_KEYS="owner")
    # Then the CSV holds both numbers and the edit, the hostile description unable to run as a formula
    assert result.exit_code == 0, result.output
    cells = [cell for row in csv.reader(io.StringIO(result.stdout)) for cell in row]
    assert numbers[0].e164 in result.stdout and numbers[1].e164 in result.stdout
    assert "'" + HOSTILE in cells and HOSTILE not in cells
    # And the HTML file is written, names the required tag key it checked, and says where it is
    assert html.exit_code == 0, html.output
    assert f"wrote {page}" in html.stderr
    text = page.read_text()
    assert numbers[1].e164 in text and "owner" in text and "<script" not in text


def test_verify_names_the_first_object_that_no_longer_matches(estate: Estate, deployment: Deployment) -> None:
    # Given a night archived
    estate.claim(estate.instance("alpha")["Arn"], 2)
    assert numberwatch(deployment, "scan", "--write").exit_code == 0
    # And an archived object replaced by a new version (what a governance bypass or a delete marker allows)
    archive = S3Archive(boto3.client("s3"), deployment.archive_bucket)
    manifest = Manifest.decode(archive.get(archive.keys(manifest_prefix(ACCOUNT))[-1]))
    forged = manifest.objects[0].key
    boto3.client("s3").put_object(Bucket=deployment.archive_bucket, Key=forged, Body=b"forged")
    # When the chain is verified
    result = numberwatch(deployment, "verify")
    # Then it fails naming that object
    assert result.exit_code == 1
    assert f"BROKEN: {forged}: object is 6 bytes" in result.stdout


def test_errors_say_what_to_do(estate: Estate, deployment: Deployment) -> None:
    # Given no stack of that name, and no resource named
    missing = CliRunner().invoke(app, ["--stack-name", "nowhere", "inventory"], env={"ARCHIVE_BUCKET": ""})
    # Then the command says so and how to name the resources instead
    assert missing.exit_code == 2
    assert "no CloudFormation stack 'nowhere'" in missing.stderr and "--bucket" in missing.stderr
    # Given an archive with nothing in it yet
    empty = numberwatch(deployment, "inventory")
    assert empty.exit_code == 2
    assert "holds no full inventory yet" in empty.stderr
    assert numberwatch(deployment, "verify").exit_code == 2
    # Given a night archived today, a date before it is refused naming the first inventory
    estate.claim(estate.instance("alpha")["Arn"], 1)
    assert numberwatch(deployment, "scan", "--write").exit_code == 0
    yesterday = (datetime.now(UTC) - timedelta(days=1)).date().isoformat()
    before = numberwatch(deployment, "inventory", "--as-of", yesterday)
    assert before.exit_code == 2
    assert "the archive's first inventory is of" in before.stderr
    # And a number the table never saw
    assert numberwatch(deployment, "history", "+19995550100").exit_code == 2


@pytest.mark.parametrize("holder", ["another-run"])
def test_a_write_scan_while_another_run_holds_the_lease_does_nothing_and_exits_1(
    estate: Estate, deployment: Deployment, holder: str
) -> None:
    # Given the nightly run holding the lease
    estate.claim(estate.instance("alpha")["Arn"], 1)
    expires = int((datetime.now(UTC) + timedelta(minutes=10)).timestamp())
    boto3.client("dynamodb").put_item(
        TableName=deployment.table,
        Item={"PK": {"S": f"LEASE#{ACCOUNT}"}, "SK": {"S": "LEASE"}, "owner": {"S": holder},
              "expires_at": {"N": str(expires)}, "started_at": {"S": datetime.now(UTC).isoformat()}},
    )  # fmt: skip
    # When a person runs a write scan
    result = numberwatch(deployment, "scan", "--write")
    # Then it is skipped, says who holds the lease, and exits 1
    assert result.exit_code == 1
    assert "SKIPPED" in result.stdout and holder in result.stdout


def test_history_keeps_a_number_s_order_between_two_runs_of_one_second(
    stack: StackControl, estate: Estate, deployment: Deployment
) -> None:
    # Given numbers edited by one run and released by another of the same second
    numbers = edited_then_released_within_one_second(stack, estate, deployment)
    # When each one's history is asked for
    histories = [
        [row["event"] for row in rows(numberwatch(deployment, "history", number.e164, "--format", "json"))]
        for number in numbers
    ]
    # Then every one is oldest first: the edit, then the release
    assert histories == [["UPDATED", "RELEASED"]] * len(numbers)
