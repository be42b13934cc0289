"""The cold start imports only what every invocation needs: each of these, imported eagerly, was a
measured share of the handler's import (benchmarks/results)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import boto3
import pytest

from localaws.template import ROOT
from numberwatch.settings import connect_regions

ENVIRONMENT = {
    "TABLE_NAME": "numbers-table",
    "TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:numbers",
    "AWS_REGION": "us-east-1",
    "SCAN_REGIONS": "us-east-1,us-west-2",
    "AWS_ACCESS_KEY_ID": "x",
    "AWS_SECRET_ACCESS_KEY": "x",
}
# Imported by one path only, or not at all: X-Ray only where tracing is on, CloudTrail's adapter only
# when a run is built with attribution, organization mode's models only for a step of its state
# machine, Powertools' parser never, Connect's service model only with a Connect client.
NOT_AT_IMPORT = [
    "aws_xray_sdk",
    "numberwatch.adapters.cloudtrail",
    "numberwatch.organization",
    "aws_lambda_powertools.utilities.parser",
]


def imported_by_the_handler(**environment: str) -> set[str]:
    """The modules a fresh interpreter holds after importing the handler, and the service models it loaded."""
    probe = (
        "import json, sys, botocore.loaders as loaders\n"
        "loaded = []\n"
        "original = loaders.Loader.load_service_model\n"
        "def load_service_model(self, service_name, *args, **kwargs):\n"
        "    loaded.append('service-model:' + service_name)\n"
        "    return original(self, service_name, *args, **kwargs)\n"
        "loaders.Loader.load_service_model = load_service_model\n"
        "import app\n"
        "print(json.dumps(sorted(sys.modules) + loaded))\n"
    )
    path = os.pathsep.join(str(ROOT / p) for p in ("layers/numberwatch", "functions/scan_numbers"))
    completed = subprocess.run(
        [sys.executable, "-c", probe],
        env={"PATH": os.environ.get("PATH", ""), "PYTHONPATH": path, **ENVIRONMENT, **environment},
        capture_output=True,
        text=True,
        check=True,
    )
    return set(json.loads(completed.stdout))


def test_importing_the_handler_with_tracing_off_imports_neither_x_ray_nor_one_path_modules() -> None:
    modules = imported_by_the_handler(POWERTOOLS_TRACE_DISABLED="true")
    assert "app" in modules and "numberwatch.service" in modules
    assert [m for m in NOT_AT_IMPORT if m in modules] == []
    assert "service-model:connect" not in modules


def test_in_lambda_with_active_tracing_the_handler_is_traced() -> None:
    modules = imported_by_the_handler(LAMBDA_TASK_ROOT=str(ROOT), AWS_XRAY_CONTEXT_MISSING="IGNORE_ERROR")
    assert "aws_xray_sdk.core" in modules


@pytest.mark.parametrize("partition", ["aws", "aws-us-gov", "aws-cn"])
def test_the_connect_regions_read_from_the_endpoints_data_are_botocore_s_own(partition: str) -> None:
    session = boto3.session.Session()
    expected = set(session.get_available_regions("connect", partition_name=partition))
    assert {r for r in connect_regions() if session.get_partition_for_region(r) == partition} == expected
