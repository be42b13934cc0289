"""A newcomer's first hour, as the README tells it: every event in events/ run in-process, `make
invoke`, the stack's start messages, the walkthrough, and the README's own AWS CLI commands run
against the local stack."""

from __future__ import annotations

import json
import os
import queue
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from localaws import invoke, walkthrough
from localaws.control import StackControl
from localaws.lambda_runtime import Deployment, LambdaContext, deploy_as_env_json, env_json
from localaws.stack import LocalStack
from tests.support.estate import Estate

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()
AWS_CLI = Path(os.environ.get("AWS_CLI", ROOT / ".venv-awscli" / "bin" / "aws"))
EVENTS = sorted(path.name for path in (ROOT / "events").glob("*.json"))


@pytest.fixture
def restored_environment() -> Iterator[None]:
    """`make invoke` points its own process at the stack; give the other tests theirs back."""
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)


def readme_block(after: str) -> str:
    """The first shell block of the README after a heading or phrase."""
    found = re.search(r"```bash\n(.*?)```", README[README.index(after) :], flags=re.DOTALL)
    assert found is not None, after
    return found.group(1)


def run_readme(block: str, stack: LocalStack, **variables: str) -> str:
    """Run README commands with bash, `aws` being the AWS CLI of `make awscli`, and our values for
    the variables it sets."""
    assert AWS_CLI.exists(), f"the AWS CLI is missing at {AWS_CLI}: `make awscli` installs it"
    environment = {
        **os.environ,
        "AWS_ENDPOINT_URL": stack.endpoint_url,
        "PATH": f"{AWS_CLI.parent}:{os.environ['PATH']}",
    }
    for name, value in variables.items():  # ours replace the README's example values, or come first
        block, replaced = re.subn(rf"^{name}=.*$", f"{name}={value}", block, flags=re.MULTILINE)
        block = block if replaced else f"{name}={value}\n{block}"
    script = "set -euo pipefail\n" + block
    completed = subprocess.run(
        ["bash", "-c", script], env=environment, capture_output=True, text=True, timeout=120, check=False
    )
    assert completed.returncode == 0, completed.stderr
    return completed.stdout


def small_estate(stack: StackControl) -> tuple[Estate, dict[str, str], list[Any]]:
    estate = Estate(stack)
    instance = estate.instance("first-hour")
    return estate, instance, estate.claim(instance["Arn"], count=3)


# ------------------------------------------------------------------ every event, in-process
EXPECTED = {
    # file: (status, what it leaves in the table and on the topic)
    "dry-run.json": "DRY_RUN",
    "scheduled.json": "COMPLETED",
    "targets.json": "DRY_RUN",
}


def test_every_file_in_events_has_an_expectation_here() -> None:
    assert sorted(EXPECTED) == EVENTS


@pytest.mark.parametrize("name", EVENTS)
def test_every_shipped_event_runs_the_handler_in_process(name: str, stack: StackControl) -> None:
    # Given a small estate and the table and topic env.json names
    small_estate(stack)
    deployment = deploy_as_env_json()
    # When the handler runs the file as shipped
    summary = deployment.invoke(json.loads((ROOT / "events" / name).read_text()), LambdaContext())
    # Then it does what the README says of it
    assert summary["status"] == EXPECTED[name]
    published = deployment.received(deployment.machines_queue)
    if name == "scheduled.json":
        assert (summary["mode"], summary["baseline_numbers"]) == ("BASELINE", 3)
        assert [m["body"]["event_type"] for m in published] == ["BASELINE"]
        return
    assert (published, deployment.items()) == ([], [])  # a dry run writes and publishes nothing
    if name == "targets.json":
        # The placeholders match nothing: named as not found, and nothing else is looked at.
        assert summary["targets_scanned"] == 0
        assert [t["reason"] for t in summary["targets_unobserved"]] == [
            "not found by discovery in the configured Regions"
        ] * 2


def test_an_upgrade_reports_nothing_false(stack: StackControl) -> None:
    # Given a baseline recorded by the deployed function
    small_estate(stack)
    deployment = deploy_as_env_json()
    deployment.invoke({"source": "schedule"}, LambdaContext())
    deployment.received(deployment.machines_queue)
    # When the stack is upgraded (the table kept, a new deployment of the same names, a cold start)
    upgraded = deploy_as_env_json()
    summary = upgraded.invoke({"source": "schedule"}, LambdaContext())
    # Then the next run reports nothing, to nobody
    assert (summary["status"], summary["mode"], summary["changes"]) == (
        "COMPLETED", "INCREMENTAL", {"CLAIMED": 0, "RELEASED": 0, "MOVED": 0, "UPDATED": 0},
    )  # fmt: skip
    assert upgraded.received(upgraded.machines_queue) == []


# ------------------------------------------------------------------ make invoke
def test_make_invoke_deploys_env_json_names_once_and_prints_what_was_published(
    stack: StackControl, local_stack: LocalStack, capsys: pytest.CaptureFixture[str], restored_environment: None
) -> None:
    # Given a small estate on a running stack
    estate, instance, numbers = small_estate(stack)
    arguments = ["--endpoint-url", local_stack.endpoint_url]
    # When `make invoke` runs the schedule's event, an edit is made, and it runs again
    assert invoke.main([str(ROOT / "events" / "scheduled.json"), *arguments]) == 0
    first = capsys.readouterr().out
    estate.describe(numbers[0], "Reception")
    assert invoke.main([str(ROOT / "events" / "scheduled.json"), *arguments]) == 0
    second = capsys.readouterr().out
    # Then it used the running stack and env.json's names, each created once
    variables = env_json()
    assert f"the local stack at {local_stack.endpoint_url} (already running" in first
    assert boto3.client("dynamodb").list_tables()["TableNames"] == [variables["TABLE_NAME"]]
    assert [t["TopicArn"] for t in boto3.client("sns").list_topics()["Topics"]] == [variables["TOPIC_ARN"]]
    assert len(boto3.client("sns").list_subscriptions()["Subscriptions"]) == 2
    # And it printed the baseline's email text, then the change: an email for people, a line for machines
    assert "--- email: Connect numbers: baseline of 3 numbers" in first
    assert re.search(r"^\W*first-hour\W+3$", first, flags=re.MULTILINE)  # the email's line for the instance
    assert "--- email: Connect numbers: 1 updated in 123456789012" in second
    updated = rf"^UPDATED\s+{re.escape(numbers[0].e164)}\s+target={re.escape(instance['Arn'])}"
    assert re.search(updated, second, flags=re.MULTILINE)
    assert re.search(r"^DIGEST\s+\{", second, flags=re.MULTILINE)


def test_make_invoke_of_a_missing_event_file_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        invoke.main(["events/no-such.json"])
    assert exited.value.code == 2
    assert "no event file events/no-such.json" in capsys.readouterr().err


# ------------------------------------------------------------------ the stack's start messages
def lines_until_ready(process: subprocess.Popen[str], patience_seconds: float = 120) -> list[str]:
    """What the stack printed up to its "ready"; a stack that never says it fails the test, not hangs it."""
    printed: queue.Queue[str] = queue.Queue()
    assert process.stdout is not None
    stdout = process.stdout
    threading.Thread(target=lambda: [printed.put(line.rstrip("\n")) for line in stdout], daemon=True).start()
    lines: list[str] = []
    deadline = time.monotonic() + patience_seconds
    while not lines or lines[-1] != "ready":
        try:
            lines.append(printed.get(timeout=max(0.1, deadline - time.monotonic())))
        except queue.Empty:
            pytest.fail(f"the stack never printed ready; it printed: {lines}")
    return lines


@pytest.mark.slow
def test_the_stack_prints_the_export_line_then_ready_once_seeded() -> None:
    # Given `make stack SEED=1` (python -m localaws --seed-demo) on a free port
    process = subprocess.Popen(
        [sys.executable, "-m", "localaws", "--port", "0", "--seed-demo"],
        env={**os.environ, "PYTHONPATH": str(ROOT / "local")},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        lines = lines_until_ready(process)
        # Then it printed a whole export line, the quota and how to lift it, and ready after seeding
        export = next(line for line in lines if line.startswith("export "))
        variables = dict(word.split("=", 1) for word in export.split()[1:])
        assert {"AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION"} <= set(variables)
        assert any("quota is on" in line and "/connect-emulator/quotas" in line for line in lines)
        assert lines[-1] == "ready"
        assert lines[-2].startswith("demo estate seeded: ")
        # And with exactly those variables, a client finds the whole demo estate at once
        connect = boto3.Session(
            aws_access_key_id=variables["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=variables["AWS_SECRET_ACCESS_KEY"],
            region_name=variables["AWS_REGION"],
        ).client("connect", endpoint_url=variables["AWS_ENDPOINT_URL"])
        aliases = {i["InstanceAlias"] for i in connect.list_instances()["InstanceSummaryList"]}
        assert aliases == {"numberwatch-primary", "numberwatch-branch"}
    finally:
        process.terminate()
        process.wait(timeout=30)


# ------------------------------------------------------------------ the README's AWS CLI commands
def test_the_readme_history_commands_find_a_number_by_phone_number_and_by_arn(
    stack: StackControl, local_stack: LocalStack
) -> None:
    # Given a number in the baseline, then described, then released, a run after each
    estate, _, numbers = small_estate(stack)
    deployment = deploy_as_env_json()
    deployment.invoke({"source": "schedule"}, LambdaContext())
    estate.describe(numbers[1], "Sales")
    deployment.invoke({"source": "schedule"}, LambdaContext())
    estate.release(numbers[1])
    deployment.invoke({"source": "schedule"}, LambdaContext())
    stack.settle()  # the history index is eventually consistent: the commands run later, as a person would
    block = readme_block("## History of a number")
    # When the README's commands run with that phone number
    by_number = run_readme(block, local_stack, NUMBER=numbers[1].e164)
    # Then they print its history, oldest first
    history = [json.loads(line) for line in by_number.splitlines()]
    assert [(e["change_type"], e["phone_number"]) for e in history] == [
        ("UPDATED", numbers[1].e164), ("RELEASED", numbers[1].e164),
    ]  # fmt: skip
    # And by ARN (the commented alternative), the same
    by_arn = block.replace("# By ARN: KEY=", "KEY=").replace("<id>", numbers[1].arn.rsplit("/", 1)[1])
    by_arn = re.sub(r"KEY=\$\(aws dynamodb scan.*?--output text\)\n", "", by_arn, flags=re.DOTALL)
    assert "KEY=$(" not in by_arn
    assert run_readme(by_arn, local_stack) == by_number


def test_the_readme_sqs_command_reaches_the_local_stack(
    stack: StackControl, local_stack: LocalStack, restored_environment: None, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given `make invoke` ran the schedule once, leaving a subscriber's message (drained by invoke: send again)
    small_estate(stack)
    assert invoke.main([str(ROOT / "events" / "dry-run.json"), "--endpoint-url", local_stack.endpoint_url]) == 0
    capsys.readouterr()
    deployment: Deployment = deploy_as_env_json()
    boto3.client("sns").publish(TopicArn=deployment.topic_arn, Message="hello")
    section = README[README.index("**SQS with the AWS CLI v1**") :]
    command = re.search(r"`(aws sqs receive-message [^`]+)`", section)
    assert command is not None
    # The CLI would go to the legacy host without --endpoint-url: never let the test send it there
    assert '--endpoint-url "$AWS_ENDPOINT_URL"' in command.group(1)
    local = command.group(1).replace("http://127.0.0.1:4566", local_stack.endpoint_url)
    received = json.loads(run_readme(local + " --output json", local_stack))
    assert json.loads(received["Messages"][0]["Body"])["Message"] == "hello"


# ------------------------------------------------------------------ make run
@pytest.mark.slow
def test_the_walkthrough_speaks_of_numbers_and_targets_as_the_digest_does(
    stack: StackControl, local_stack: LocalStack, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    walkthrough.walk(local_stack.endpoint_url, reports=tmp_path)
    out = capsys.readouterr().out
    overnight = out[out.index("4. Overnight") : out.index("5. The next night")]
    digest = out[out.index("6. What people get") : out.index("7. What machines get")]
    machines = out[out.index("7. What machines get") :]
    assert "phone-number/" not in out  # numbers are numbers, never ARNs
    changed = re.findall(r"^(?:claimed|released|moved|unrouted|edited)\s+(\+\d+)", overnight, flags=re.MULTILINE)
    assert len(changed) == 10  # four claims (one fails), two releases, a move, an unrouted number, two edits
    named = set(re.findall(r"\b(?:on|from|to) (numberwatch-[\w-]+)", overnight))
    assert named == {"numberwatch-primary", "numberwatch-branch", "numberwatch-global"}
    for number in changed:
        assert number in digest and number in machines
    for name in named:
        assert name in digest
    # And the month's report is saved from the archive, with the night's changes and the targets' names in it
    (saved,) = re.findall(r"^Saved (\S+report-\d{4}-\d\d\.html) ", out, flags=re.MULTILINE)
    page = Path(saved).read_text()
    assert Path(saved).parent == tmp_path.resolve()
    for number in changed[:3]:
        assert number in page
    for name in named:
        assert name in page


def test_the_readme_uninstall_commands_remove_what_sam_delete_keeps(
    stack: StackControl, local_stack: LocalStack
) -> None:
    # Given what `sam delete` leaves: the table, deletion-protected, and the KMS key
    dynamodb = boto3.client("dynamodb")
    deployment = deploy_as_env_json()
    dynamodb.update_table(TableName=deployment.table, DeletionProtectionEnabled=True)
    key = boto3.client("kms").create_key(Description="Connect Number Watch")["KeyMetadata"]["KeyId"]
    # When the README's second block runs with their names
    block = readme_block("then, once you are sure:")
    run_readme(block, local_stack, TABLE=deployment.table, KEY=key)
    # Then the table is gone and the key is scheduled for deletion
    assert dynamodb.list_tables()["TableNames"] == []
    assert boto3.client("kms").describe_key(KeyId=key)["KeyMetadata"]["KeyState"] == "PendingDeletion"
