"""The evidence archive in the template, as a security reviewer and an auditor read it: a locked,
private, encrypted, logged bucket the function can only add to; Glue tables whose columns are the
writer's own (archive_format), with partitions projected from the key layout; an alarm on failures."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from localaws.template import resource, template
from numberwatch.archive_format import TABLES, Table, glue_columns
from numberwatch.models import ArchiveOutcome, ArchiveStatus, RunStatus, RunSummary
from numberwatch.observability import metrics, record_run
from numberwatch.phases.report import REPORTS

ARCHIVE = {"Ref": "ArchiveBucket"}
ARCHIVE_ARN = {"Fn::GetAtt": ["ArchiveBucket", "Arn"]}
ARCHIVE_OBJECTS = {"Fn::Sub": "${ArchiveBucket.Arn}/*"}
# Actions that would let the function destroy or weaken evidence.
WEAKENING = re.compile(
    r"^s3:(\*|Delete.*|PutObjectRetention|PutObjectLegalHold|BypassGovernanceRetention|PutBucket.*|"
    r"PutLifecycleConfiguration|PutObjectLockConfiguration|PutBucketVersioning|Replicate.*|RestoreObject)$"
)


def _actions(statement: dict[str, Any]) -> list[str]:
    action = statement["Action"]
    return [action] if isinstance(action, str) else list(action)


def _unconditional(statements: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Statements, with those granted under a condition (`Fn::If`) taken in either case."""
    found = []
    for statement in statements:
        if "Fn::If" in statement:
            found += [s for s in statement["Fn::If"][1:] if "Effect" in s]
        else:
            found.append(statement)
    return found


def _function_role_statements() -> list[dict[str, Any]]:
    """Every statement granted to the function's role: its inline policies and any policy resource naming it."""
    found = [
        s for p in resource("ScanFunctionRole")["Properties"]["Policies"] for s in p["PolicyDocument"]["Statement"]
    ]
    for r in template()["Resources"].values():
        if r["Type"] == "AWS::IAM::RolePolicy" and r["Properties"]["RoleName"] == {"Ref": "ScanFunctionRole"}:
            found += r["Properties"]["PolicyDocument"]["Statement"]
    return _unconditional(found)


def test_the_archive_bucket_is_locked_versioned_encrypted_private_logged_and_retained() -> None:
    bucket = resource("ArchiveBucket")
    assert bucket["DeletionPolicy"] == bucket["UpdateReplacePolicy"] == "Retain"
    properties = bucket["Properties"]
    assert properties["ObjectLockEnabled"] is True
    assert properties["ObjectLockConfiguration"] == {
        "ObjectLockEnabled": "Enabled",
        "Rule": {
            "DefaultRetention": {"Mode": {"Ref": "ArchiveObjectLockMode"}, "Days": {"Ref": "ArchiveRetentionDays"}}
        },
    }
    parameters = template()["Parameters"]
    assert (parameters["ArchiveObjectLockMode"]["Default"], parameters["ArchiveObjectLockMode"]["AllowedValues"]) == (
        "GOVERNANCE", ["GOVERNANCE", "COMPLIANCE"],
    )  # fmt: skip
    assert parameters["ArchiveRetentionDays"]["Default"] == 400
    assert properties["VersioningConfiguration"] == {"Status": "Enabled"}
    (rule,) = properties["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"] == {
        "SSEAlgorithm": "aws:kms", "KMSMasterKeyID": {"Fn::GetAtt": ["NumberWatchKey", "Arn"]},
    }  # fmt: skip
    assert set(properties["PublicAccessBlockConfiguration"].values()) == {True}
    assert len(properties["PublicAccessBlockConfiguration"]) == 4
    assert properties["LoggingConfiguration"]["DestinationBucketName"] == {"Ref": "ArchiveAccessLogBucket"}
    transitions = [t for r in properties["LifecycleConfiguration"]["Rules"] for t in r.get("Transitions", [])]
    assert transitions == [{"StorageClass": "STANDARD_IA", "TransitionInDays": 30}]
    assert "ExpirationInDays" not in json.dumps(properties["LifecycleConfiguration"])


def test_the_bucket_policy_requires_tls_this_account_and_writes_that_never_replace() -> None:
    statements = {s["Sid"]: s for s in resource("ArchiveBucketPolicy")["Properties"]["PolicyDocument"]["Statement"]}
    assert all(s["Effect"] == "Deny" and s["Principal"] == "*" for s in statements.values())
    everything = [ARCHIVE_ARN, ARCHIVE_OBJECTS]
    assert (statements["RequireTls"]["Resource"], statements["RequireTls"]["Condition"]) == (
        everything, {"Bool": {"aws:SecureTransport": "false"}},
    )  # fmt: skip
    assert statements["OnlyThisAccount"]["Condition"] == {
        "StringNotEquals": {"aws:PrincipalAccount": {"Ref": "AWS::AccountId"}}
    }
    replace = statements["CreateNeverReplace"]
    assert (replace["Action"], replace["Resource"], replace["Condition"]) == (
        "s3:PutObject", ARCHIVE_OBJECTS, {"Null": {"s3:if-none-match": "true"}},
    )  # fmt: skip


def test_the_function_may_add_to_the_archive_and_read_it_back_but_never_delete_or_weaken_a_retention() -> None:
    archive = [s for s in _function_role_statements() if any(a.startswith("s3:") for a in _actions(s))]
    assert {s["Sid"]: (sorted(_actions(s)), s["Resource"], s.get("Condition")) for s in archive} == {
        "ArchiveCreatesAndReadsBack": (["s3:GetObject", "s3:PutObject"], ARCHIVE_OBJECTS, None),
        "ArchiveListsManifestsAndReports": (
            ["s3:ListBucket"],
            ARCHIVE_ARN,
            {"StringLike": {"s3:prefix": ["manifests/*", f"{REPORTS}/*"]}},
        ),
    }
    for statement in _function_role_statements():
        assert statement["Effect"] == "Allow"
        for action in _actions(statement):
            assert not WEAKENING.match(action), action
    # The archive's objects are encrypted with the stack's key, which the role already uses
    assert any(s["Resource"] == {"Fn::GetAtt": ["NumberWatchKey", "Arn"]} and "kms:GenerateDataKey" in _actions(s)
               for s in _function_role_statements())  # fmt: skip


def test_the_access_logs_reach_their_bucket_from_this_account_only() -> None:
    logs = resource("ArchiveAccessLogBucket")
    assert logs["DeletionPolicy"] == "Retain"
    assert set(logs["Properties"]["PublicAccessBlockConfiguration"].values()) == {True}
    skipped = {s["id"] for s in logs["Metadata"]["checkov"]["skip"]}
    assert skipped == {"CKV_AWS_18", "CKV_AWS_145"}
    (delivery,) = [
        s
        for s in resource("ArchiveAccessLogBucketPolicy")["Properties"]["PolicyDocument"]["Statement"]
        if s["Effect"] == "Allow"
    ]
    assert delivery["Principal"] == {"Service": "logging.s3.amazonaws.com"}
    assert delivery["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}


def _glue_table(table: Table) -> dict[str, Any]:
    (found,) = [
        r["Properties"]["TableInput"]
        for r in template()["Resources"].values()
        if r["Type"] == "AWS::Glue::Table" and r["Properties"]["TableInput"]["Name"] == table.name
    ]
    return found


def test_no_glue_table_reads_the_monthly_reports() -> None:
    # Athena projects each table from its own prefix: the reports' HTML, CSV and Markdown are in none
    locations = [_glue_table(table)["StorageDescriptor"]["Location"]["Fn::Sub"] for table in TABLES]
    assert locations and not [location for location in locations if f"/{REPORTS}/" in location]
    assert REPORTS not in {table.prefix for table in TABLES}


@pytest.mark.parametrize("table", TABLES, ids=lambda t: t.name)
def test_each_glue_table_has_the_writer_s_columns_and_projects_the_key_layout(table: Table) -> None:
    declared = _glue_table(table)
    expected = glue_columns(table)
    assert declared["StorageDescriptor"]["Columns"] == expected.columns
    assert declared["PartitionKeys"] == expected.partitions
    assert declared["StorageDescriptor"]["SerdeInfo"]["SerializationLibrary"] == "org.openx.data.jsonserde.JsonSerDe"
    assert declared["StorageDescriptor"]["Location"] == {"Fn::Sub": f"s3://${{ArchiveBucket}}/{table.prefix}/"}
    parameters = declared["Parameters"]
    # `${!name}` is how !Sub writes a literal `${name}` (Athena fills it in)
    location = table.location_template("s3://${ArchiveBucket}").replace("=${", "=${!")
    assert parameters["storage.location.template"] == {"Fn::Sub": location}
    assert (parameters["projection.enabled"], parameters["projection.account.type"]) == ("true", "injected")
    assert (parameters["projection.run_date.type"], parameters["projection.run_date.format"]) == ("date", "yyyy-MM-dd")
    if "region" in table.partitions:
        # The scanned Regions: the same expression the function's SCAN_REGIONS has
        scan_regions = resource("ScanNumbersFunction")["Properties"]["Environment"]["Variables"]["SCAN_REGIONS"]
        assert (parameters["projection.region.type"], parameters["projection.region.values"]) == ("enum", scan_regions)


def test_the_function_is_told_the_bucket_and_archive_failures_alarm_operators_and_show_on_the_dashboard() -> None:
    variables = resource("ScanNumbersFunction")["Properties"]["Environment"]["Variables"]
    assert variables["ARCHIVE_BUCKET"] == ARCHIVE
    (alarm,) = [
        r["Properties"]
        for r in template()["Resources"].values()
        if r["Type"] == "AWS::CloudWatch::Alarm" and r["Properties"]["MetricName"] == "ArchiveFailures"
    ]
    assert (alarm["Namespace"], alarm["ComparisonOperator"], alarm["Threshold"]) == (
        "ConnectNumberWatch", "GreaterThanOrEqualToThreshold", 1,
    )  # fmt: skip
    assert alarm["AlarmActions"] == [{"Ref": "OperationsTopic"}]
    metrics.clear_metrics()
    failed = ArchiveOutcome(status=ArchiveStatus.FAILED, note="AccessDenied")
    record_run(RunSummary(run_id="r", status=RunStatus.COMPLETED, archive=failed))
    emitted = dict(metrics.metric_set)
    metrics.clear_metrics()
    assert emitted["ArchiveFailures"]["Value"] == [1.0]
    body = resource("OperationsDashboard")["Properties"]["DashboardBody"]["Fn::Sub"]
    assert '"ArchiveFailures"' in body
