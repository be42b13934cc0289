"""Upgrading a deployed stack reports nothing false: release 0.1 writes the table, this release runs next.

Release 0.1's code is taken from the repository's own history (`git archive` of its last commit) and runs
as its handler ran, in a process of its own, against the same local stack; then the current handler runs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest

from localaws.control import StackControl
from localaws.lambda_runtime import Deployment
from localaws.template import ROOT
from tests.support.estate import WEST, Estate

RELEASE_0_1 = "cb4462bebe06968dd557423bd5b7eeffdd326955"
FAST = {"CONNECT_REQUESTS_PER_SECOND": "100"}
SCHEDULED = {"source": "schedule"}
NO_CHANGE = {"CLAIMED": 0, "RELEASED": 0, "MOVED": 0, "UPDATED": 0}
RUN_OLD_HANDLER = """
import json, sys
sys.path[:0] = [sys.argv[1], sys.argv[2]]
from localaws.lambda_runtime import LambdaContext
import app
print("SUMMARY " + json.dumps(app.lambda_handler({"source": "schedule"}, LambdaContext())))
"""


@pytest.fixture(scope="module")
def release_0_1(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Release 0.1's layer and function, from git."""
    folder = tmp_path_factory.mktemp("release-0.1")
    archive = subprocess.run(
        ["git", "archive", "--format=tar", RELEASE_0_1, "layers/numberwatch", "functions/scan_numbers"],
        cwd=ROOT, capture_output=True, check=False,
    )  # fmt: skip
    assert archive.returncode == 0, f"release 0.1 ({RELEASE_0_1}) is not in this clone's history: {archive.stderr!r}"
    with tarfile.open(fileobj=BytesIO(archive.stdout)) as tar:
        tar.extractall(folder, filter="data")
    return folder


def run_release_0_1(folder: Path, stack: StackControl, deployment: Deployment, **overrides: str) -> dict[str, Any]:
    """One night of release 0.1, a night after the last run (so the table's indexes have caught up)."""
    stack.settle()
    env = {**os.environ, **deployment.env, **FAST, **overrides, "PYTHONPATH": str(ROOT / "local")}
    paths = [str(folder / "layers/numberwatch"), str(folder / "functions/scan_numbers")]
    completed = subprocess.run(
        [sys.executable, "-c", RUN_OLD_HANDLER, *paths],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    line = next((x for x in completed.stdout.splitlines() if x.startswith("SUMMARY ")), None)
    assert completed.returncode == 0 and line is not None, completed.stderr[-3000:]
    summary: dict[str, Any] = json.loads(line[8:])
    return summary


def changes_received(deployment: Deployment) -> list[dict[str, Any]]:
    return [
        m["body"] for m in deployment.received(deployment.machines_queue) if m["body"]["event_type"] == "NUMBER_CHANGE"
    ]


@pytest.mark.slow
def test_an_upgraded_stack_reports_nothing_false_and_every_change_after(
    release_0_1: Path, stack: StackControl, estate: Estate, deployment: Deployment
) -> None:
    # Given an estate that release 0.1 recorded, then saw change (so versions, tombstones and a hold exist)
    primary, branch = estate.instance("primary"), estate.instance("branch")
    default_tdg = estate.replicate(primary)
    on_primary = estate.claim(primary["Arn"], 60)
    estate.claim(branch["Arn"], 25, country="GB")
    on_tdg = estate.claim(default_tdg["Arn"], 8, region=WEST)
    assert run_release_0_1(release_0_1, stack, deployment)["mode"] == "BASELINE"
    estate.release(on_primary[0])
    estate.move(on_primary[1], branch["Arn"])
    estate.describe(on_primary[2], "Billing")
    estate.describe(on_tdg[0], "Replica line")
    estate.release(*on_tdg[1:7])  # 6 of 8: more than half, and the guard's minimum is lowered below
    summary = run_release_0_1(release_0_1, stack, deployment, MASS_RELEASE_MIN_NUMBERS="5")
    assert summary["changes"] == {"CLAIMED": 0, "RELEASED": 1, "MOVED": 1, "UPDATED": 2}
    assert summary["releases_held"] == 6
    deployment.received(deployment.machines_queue)

    # When this release runs the next night, nothing having changed but the held releases' confirmation
    stack.settle()
    summary = deployment.invoke(SCHEDULED, **FAST, MASS_RELEASE_MIN_NUMBERS="5")
    # Then it reports exactly the releases release 0.1 held (confirmed now), and nothing else
    assert summary["status"] == "COMPLETED" and summary["mode"] == "INCREMENTAL"
    assert summary["changes"] == {**NO_CHANGE, "RELEASED": 6}
    # (release 0.1 read its own outbox through the lagging index and left its events unsent: they go now)
    ours = [e for e in changes_received(deployment) if e["run_id"] == summary["run_id"]]
    assert sorted(e["phone_number"] for e in ours) == sorted(n.e164 for n in on_tdg[1:7])

    # And a quiet night after is quiet, and a change after is reported once, with versions that go on
    assert deployment.invoke(SCHEDULED, **FAST)["changes"] == NO_CHANGE
    estate.move(on_primary[1], primary["Arn"])
    estate.describe(on_primary[3], "New")
    summary = deployment.invoke(SCHEDULED, **FAST)
    assert summary["changes"] == {**NO_CHANGE, "MOVED": 1, "UPDATED": 1}
    moved = next(e for e in changes_received(deployment) if e["change_type"] == "MOVED")
    assert moved["before"]["TargetArn"] == branch["Arn"] and moved["after"]["TargetArn"] == primary["Arn"]
    assert deployment.invoke(SCHEDULED, **FAST)["changes"] == NO_CHANGE
