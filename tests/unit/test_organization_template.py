"""Organization mode in the templates, as a reviewer reads them: the state machine (what it runs,
what it retries, what it does with a failed account), its schedule, and member-role.yaml's role,
every statement asserted."""

from __future__ import annotations

import importlib
import re
import uuid
from typing import Any

from localaws.template import member_role_template, parameter_defaults, resolve, resource, template
from numberwatch.organization import AccountOutcome
from numberwatch.request import parse_request

CONNECT_WRITES = re.compile(
    r"^connect:(Claim|Release|Update|Delete|Create|Associate|Disassociate|Import|Put|Start|Stop|Tag|Untag|Replicate)"
)
# Where the function did not run at all: the only errors an item is retried on.
INVOCATION_ERRORS = [
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
]


def definition() -> dict[str, Any]:
    found: dict[str, Any] = resource("OrganizationStateMachine")["Properties"]["Definition"]
    return found


def item_states() -> dict[str, Any]:
    states: dict[str, Any] = definition()["States"]["ScanAccounts"]["ItemProcessor"]["States"]
    return states


def member_role() -> dict[str, Any]:
    found: dict[str, Any] = member_role_template()["Resources"]["ConnectNumberWatchReadRole"]["Properties"]
    return found


def actions(statement: dict[str, Any]) -> list[str]:
    action = statement["Action"]
    return [action] if isinstance(action, str) else list(action)


def test_organization_run_plans_scans_each_account_then_sends_one_digest() -> None:
    states = definition()["States"]
    assert definition()["StartAt"] == "PlanAccounts"
    assert [(name, state["Type"], state.get("Next")) for name, state in states.items()] == [
        ("PlanAccounts", "Task", "ScanAccounts"),
        ("ScanAccounts", "Map", "SendOrganizationDigest"),
        ("SendOrganizationDigest", "Task", None),
    ]
    for task in (states["PlanAccounts"], states["SendOrganizationDigest"], item_states()["ScanAccount"]):
        assert task["Resource"] == "arn:aws:states:::lambda:invoke"
        assert task["Parameters"]["FunctionName"] == "${ScanFunctionArn}"
    substitutions = resource("OrganizationStateMachine")["Properties"]["DefinitionSubstitutions"]
    assert substitutions == {"ScanFunctionArn": {"Fn::GetAtt": ["ScanNumbersFunction", "Arn"]}}
    scan = states["ScanAccounts"]
    assert scan["ItemProcessor"]["ProcessorConfig"] == {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}
    assert (scan["ItemsPath"], scan["MaxConcurrencyPath"], scan["ResultPath"]) == (
        "$.accounts", "$.max_concurrency", "$.outcomes",
    )  # fmt: skip


def test_organization_a_failed_account_is_caught_and_reported_never_retried_into_a_release() -> None:
    scan, caught = item_states()["ScanAccount"], item_states()["AccountNotScanned"]
    # Retried only where the function never ran; a scan that failed is not run again tonight
    (retry,) = scan["Retry"]
    assert retry["ErrorEquals"] == INVOCATION_ERRORS
    assert scan["TimeoutSeconds"] > resource("ScanNumbersFunction")["Properties"]["Timeout"]
    # Every other failure becomes one account not observed, and the Map goes on
    assert scan["Catch"] == [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "AccountNotScanned"}]
    assert caught["Type"] == "Pass" and caught["End"] is True
    failed = AccountOutcome.model_validate(
        {k.removesuffix(".$"): "111122223333" if k == "account.$" else v for k, v in caught["Parameters"].items()}
    )
    assert (failed.status.value, failed.observed) == ("FAILED", False)


def test_organization_payloads_of_the_state_machine_are_the_functions_requests() -> None:
    # The JSONPath values filled in as Step Functions would: what each step sends the function parses.
    # The models are the ones parse_request imports now: a cold start of the local Lambda runtime (an
    # integration test before this one) imports the layer afresh.
    organization = importlib.import_module("numberwatch.organization")
    run_id, account = str(uuid.uuid4()), "111122223333"
    states = definition()["States"]
    plan = {k.removesuffix(".$"): run_id if v == "$$.Execution.Name" else v
            for k, v in states["PlanAccounts"]["Parameters"]["Payload"].items()}  # fmt: skip
    assert parse_request(plan).source == "organization-plan"
    selector = states["ScanAccounts"]["ItemSelector"]
    item = {"source": selector["source"], "org_run_id": run_id, "account": account}
    assert set(selector) == {"source", "org_run_id.$", "account.$"} and selector["account.$"] == "$$.Map.Item.Value"
    assert isinstance(parse_request(item), organization.AccountScanRequest)
    digest = states["SendOrganizationDigest"]["Parameters"]["Payload"]
    assert digest["started_at.$"] == "$$.Execution.StartTime"
    sent = {
        "source": digest["source"],
        "org_run_id": run_id,
        "started_at": "2026-11-28T06:00:00.000Z",
        "outcomes": [{"account": account, "status": "COMPLETED"}, {"account": "444455556666", "status": "FAILED"}],
    }
    assert set(digest) == {"source", *(f"{k}.$" for k in sent if k != "source")}
    assert isinstance(parse_request(sent), organization.OrganizationDigestRequest)


def test_organization_mode_moves_the_schedule_to_the_state_machine_and_lifts_the_functions_concurrency() -> None:
    function = resource("ScanNumbersFunction")["Properties"]
    state_machine = resource("OrganizationStateMachine")
    organization = {**parameter_defaults(), "OrganizationMode": "Enabled", "MaxConcurrency": 40}
    single = parameter_defaults()
    assert state_machine["Condition"] == "IsOrganization"
    function_schedule = function["Events"]["Nightly"]["Properties"]
    assert [resolve(function_schedule["State"], refs) for refs in (single, organization)] == ["ENABLED", "DISABLED"]
    assert [resolve(function["ReservedConcurrentExecutions"], refs) for refs in (single, organization)] == [1, 40]
    schedule = state_machine["Properties"]["Events"]["Nightly"]["Properties"]
    for key in ("GroupName", "RoleArn", "ScheduleExpression", "ScheduleExpressionTimezone", "DeadLetterConfig"):
        assert schedule[key] == function_schedule[key], key


def test_organization_member_role_reads_connect_only_and_trusts_only_the_scanner_in_the_organization() -> None:
    role = member_role()
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert (trust["Effect"], trust["Principal"], trust["Action"]) == (
        "Allow", {"AWS": {"Ref": "ScannerRoleArn"}}, "sts:AssumeRole",
    )  # fmt: skip
    assert trust["Condition"] == {
        "StringEquals": {"sts:ExternalId": {"Ref": "ExternalId"}, "aws:PrincipalOrgID": {"Ref": "OrganizationId"}}
    }
    (policy,) = role["Policies"]
    found = {
        s["Sid"]: (sorted(actions(s)), s["Resource"], s["Condition"]) for s in policy["PolicyDocument"]["Statement"]
    }
    this_account = [
        {"Fn::Sub": f"arn:${{AWS::Partition}}:connect:*:${{AWS::AccountId}}:{kind}/*"}
        for kind in ("instance", "traffic-distribution-group", "phone-number")
    ]
    scanned = {"StringEquals": {"aws:RequestedRegion": {"Ref": "ScanRegions"}}}
    assert found == {
        "DiscoverInstances": (["connect:ListInstances"], "*", scanned),
        "ListTrafficDistributionGroupsAndNumbers": (
            ["connect:ListPhoneNumbersV2", "connect:ListTrafficDistributionGroups"], this_account, scanned,
        ),
        "ConfirmReleases": (["connect:DescribePhoneNumber"], this_account[2], scanned),
        "ReadRouting": (
            ["connect:ListContactFlows", "connect:ListFlowAssociations"],
            [this_account[0], {"Fn::Sub": f"{this_account[0]['Fn::Sub']}/contact-flow/*"}],
            scanned,
        ),
        # LookupEvents supports no resource-level permissions
        "NameWhoChangedNumbers": (["cloudtrail:LookupEvents"], "*", scanned),
    }  # fmt: skip


def test_organization_member_role_has_no_write_of_any_kind_and_reads_what_the_scan_reads() -> None:
    statements = member_role()["Policies"][0]["PolicyDocument"]["Statement"]
    granted = {action for statement in statements for action in actions(statement)}
    for statement in statements:
        assert statement["Effect"] == "Allow"
    for action in granted:
        assert not CONNECT_WRITES.match(action), action
        assert "*" not in action and action.split(":")[1].startswith(("List", "Describe", "Lookup")), action
    # The same reads of the account as the function's own role in single-account mode: they cannot drift
    own = resource("ScanFunctionRole")["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    own_reads = {a for s in own if "Action" in s for a in actions(s) if a.startswith(("connect:", "cloudtrail:"))}
    assert granted == own_reads


def test_organization_parameters_are_described_and_the_member_role_output_is_there() -> None:
    for name in ("OrganizationMode", "OrganizationAccounts", "OrganizationUnits", "ExcludedAccounts",
                 "MemberRoleName", "MemberExternalId", "MaxConcurrency", "AccountDigests"):  # fmt: skip
        assert template()["Parameters"][name]["Description"], name
    assert template()["Parameters"]["MemberExternalId"]["NoEcho"] is True
    assert template()["Outputs"]["ScanFunctionRoleArn"]["Value"] == {"Fn::GetAtt": ["ScanFunctionRole", "Arn"]}
    assert member_role_template()["Parameters"]["ExternalId"]["NoEcho"] is True
