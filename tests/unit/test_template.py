"""The template, as a security reviewer reads it: every role statement, the topic and key policies,
encryption, durability, alarms. The IAM checks run on SAM's own transform of the template
(aws-sam-translator)."""

from __future__ import annotations

import copy
import json
import re
from typing import Any

import pytest
from samtranslator.translator.transform import transform

from localaws.template import function_environment, parameter_defaults, resolve, resolve_all, resource, template
from numberwatch.models import PEOPLE_EVENT_TYPES, RunStatus, RunSummary
from numberwatch.observability import metrics, record_organization_run, record_run
from numberwatch.settings import ConfigurationError, Settings

CONNECT_WRITES = re.compile(
    r"^connect:(Claim|Release|Update|Delete|Create|Associate|Disassociate|Import|Put|Start|Stop|Tag|Untag|Replicate)"
)
NO_RESOURCE_LEVEL = {"connect:ListInstances", "cloudtrail:LookupEvents", "xray:PutTraceSegments",
                     "xray:PutTelemetryRecords", "xray:GetSamplingRules", "xray:GetSamplingTargets",
                     "organizations:ListAccounts", "logs:CreateLogDelivery", "logs:GetLogDelivery",
                     "logs:UpdateLogDelivery", "logs:DeleteLogDelivery", "logs:ListLogDeliveries",
                     "logs:PutResourcePolicy", "logs:DescribeResourcePolicies", "logs:DescribeLogGroups"}  # fmt: skip
ACCOUNT_ROOT = {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}
FUNCTION_ROLE = {"Fn::GetAtt": ["ScanFunctionRole", "Arn"]}
THIS_ACCOUNT = {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
# The README's subscribers: email for people; SQS queues, Lambda functions and HTTPS endpoints for machines.
DOCUMENTED_PROTOCOLS = {"email", "sqs", "lambda", "https"}


class _NoManagedPolicies:
    def load(self) -> dict[str, str]:
        return {}


@pytest.fixture(scope="module")
def transformed(monkeypatch_module: pytest.MonkeyPatch) -> dict[str, Any]:
    monkeypatch_module.setenv("AWS_DEFAULT_REGION", "us-east-1")
    document = copy.deepcopy(template())
    document["Resources"]["ScanNumbersFunction"]["Properties"]["CodeUri"] = "s3://bucket/function.zip"
    document["Resources"]["NumberWatchLayer"]["Properties"]["ContentUri"] = "s3://bucket/layer.zip"
    result: dict[str, Any] = transform(document, {}, _NoManagedPolicies())
    return result


@pytest.fixture(scope="module")
def monkeypatch_module() -> Any:
    with pytest.MonkeyPatch.context() as patch:
        yield patch


def statements(role: dict[str, Any], organization: bool = False) -> list[dict[str, Any]]:
    """A role's statements as deployed in single-account mode, or with `organization` in organization
    mode (statements under `!If [IsOrganization, ..., AWS::NoValue]` exist only there)."""
    found = []
    for policy in role["Properties"].get("Policies", []):
        for statement in policy["PolicyDocument"]["Statement"]:
            if "Fn::If" in statement:
                condition, when_organization, otherwise = statement["Fn::If"]
                assert (condition, otherwise) == ("IsOrganization", {"Ref": "AWS::NoValue"})
                if organization:
                    found.append(when_organization)
            else:
                found.append(statement)
    return found


def every_statement(role: dict[str, Any]) -> list[dict[str, Any]]:
    """Whatever the mode."""
    return statements(role, organization=True)


def actions(statement: dict[str, Any]) -> list[str]:
    action = statement["Action"]
    return [action] if isinstance(action, str) else list(action)


def roles(transformed: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: r for name, r in transformed["Resources"].items() if r["Type"] == "AWS::IAM::Role"}


def policy_statements(logical_id: str) -> list[dict[str, Any]]:
    """The statements of a topic policy or key policy."""
    properties = resource(logical_id)["Properties"]
    document = properties.get("PolicyDocument") or properties["KeyPolicy"]
    found: list[dict[str, Any]] = document["Statement"]
    return found


def for_service(logical_id: str, service: str | dict[str, str]) -> dict[str, Any]:
    (statement,) = [s for s in policy_statements(logical_id) if s["Principal"] == {"Service": service}]
    return statement


def arn_from_name(prefix: str, name: dict[str, str]) -> dict[str, str]:
    """The ARN CloudFormation gives a resource named by `!Sub <name>`: what a policy that may not
    reference the resource itself (a dependency cycle) has to spell out."""
    return {"Fn::Sub": prefix + name["Fn::Sub"]}


def environment() -> dict[str, Any]:
    variables: dict[str, Any] = resource("ScanNumbersFunction")["Properties"]["Environment"]["Variables"]
    return variables


def custom_metric_alarm(metric: str) -> dict[str, Any]:
    (alarm,) = [
        r["Properties"]
        for r in template()["Resources"].values()
        if r["Type"] == "AWS::CloudWatch::Alarm" and r["Properties"]["MetricName"] == metric
    ]
    return alarm


def assert_alarms_operators_at_one(alarm: dict[str, Any]) -> None:
    assert (alarm["Namespace"], alarm["Dimensions"]) == (
        "ConnectNumberWatch", [{"Name": "service", "Value": "connect-number-watch"}],
    )  # fmt: skip
    assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("GreaterThanOrEqualToThreshold", 1)
    assert alarm["AlarmActions"] == [{"Ref": "OperationsTopic"}]


def test_every_statement_of_every_role(transformed: dict[str, Any]) -> None:
    found = roles(transformed)
    assert set(found) == {"ScanFunctionRole", "NightlyScheduleRole", "OrganizationStateMachineRole"}
    assert found["OrganizationStateMachineRole"]["Condition"] == "IsOrganization"
    for role in found.values():
        assert role["Properties"].get("ManagedPolicyArns", []) == []
    function = {
        s.get("Sid"): (sorted(actions(s)), s["Resource"], s.get("Condition"))
        for s in statements(found["ScanFunctionRole"])
    }
    account_connect = [
        {"Fn::Sub": f"arn:${{AWS::Partition}}:connect:*:${{AWS::AccountId}}:{kind}/*"}
        for kind in ("instance", "traffic-distribution-group", "phone-number")
    ]
    scanned_regions = {"StringEquals": {"aws:RequestedRegion": {"Fn::Split": [",", environment()["SCAN_REGIONS"]]}}}
    assert function == {
        "DiscoverInstances": (["connect:ListInstances"], "*", scanned_regions),
        "ListTrafficDistributionGroupsAndNumbers": (
            ["connect:ListPhoneNumbersV2", "connect:ListTrafficDistributionGroups"], account_connect, scanned_regions
        ),
        "ConfirmReleases": (["connect:DescribePhoneNumber"], account_connect[2], scanned_regions),
        "ReadRouting": (
            ["connect:ListContactFlows", "connect:ListFlowAssociations"],
            [account_connect[0], {"Fn::Sub": account_connect[0]["Fn::Sub"] + "/contact-flow/*"}],
            scanned_regions,
        ),
        "NameWhoChangedNumbers": (["cloudtrail:LookupEvents"], "*", scanned_regions),
        "SnapshotTable": (
            sorted(["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem", "dynamodb:Query",
                    "dynamodb:BatchGetItem", "dynamodb:BatchWriteItem", "dynamodb:ConditionCheckItem"]),
            [{"Fn::GetAtt": ["SnapshotTable", "Arn"]}, {"Fn::Sub": "${SnapshotTable.Arn}/index/*"}],
            None,
        ),
        "PublishChanges": (["sns:Publish"], {"Ref": "NumberTopic"}, None),
        "PublishChatCopies": (["sns:Publish"], {"Ref": "ChatTopic"}, None),
        "CheckTheAlertSubscription": (["sns:ListSubscriptionsByTopic"], {"Ref": "NumberTopic"}, None),
        "UseTheStackKey": (["kms:Decrypt", "kms:GenerateDataKey"], {"Fn::GetAtt": ["NumberWatchKey", "Arn"]}, None),
        "ReportFailedInvocations": (["sqs:SendMessage"], {"Fn::GetAtt": ["FailureQueue", "Arn"]}, None),
        "WriteOwnLogs": (
            ["logs:CreateLogStream", "logs:PutLogEvents"], {"Fn::Sub": "${ScanFunctionLogs.Arn}"}, None
        ),
        "WriteTraces": (
            sorted(["xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:GetSamplingRules",
                    "xray:GetSamplingTargets"]),
            "*",
            None,
        ),
    }  # fmt: skip
    schedule = [(actions(s), s["Resource"], s.get("Condition")) for s in statements(found["NightlyScheduleRole"])]
    assert schedule == [
        (["lambda:InvokeFunction"], {"Fn::GetAtt": ["ScanNumbersFunction", "Arn"]}, None),
        (["sqs:SendMessage"], {"Fn::GetAtt": ["ScheduleDeadLetterQueue", "Arn"]}, None),
    ]


def test_in_organization_mode_the_function_reads_member_roles_and_accounts_and_nothing_more(
    transformed: dict[str, Any],
) -> None:
    found = roles(transformed)
    single = statements(found["ScanFunctionRole"])
    organization = statements(found["ScanFunctionRole"], organization=True)
    added = {s["Sid"]: (sorted(actions(s)), s["Resource"], s.get("Condition")) for s in organization[len(single) :]}
    assert organization[: len(single)] == single
    assert added == {
        # Only the member accounts' read role, and only while the account is in this organization.
        "AssumeMemberReadRoles": (
            ["sts:AssumeRole"],
            {"Fn::Sub": "arn:${AWS::Partition}:iam::*:role/${MemberRoleName}"},
            {"StringEquals": {"aws:ResourceOrgID": "${aws:PrincipalOrgID}"}},
        ),
        "ListOrganizationAccounts": (["organizations:ListAccounts"], "*", None),
        "ListAccountsOfOrganizationalUnits": (
            ["organizations:ListAccountsForParent", "organizations:ListOrganizationalUnitsForParent"],
            [{"Fn::Sub": "arn:${AWS::Partition}:organizations::*:root/o-*/r-*"},
             {"Fn::Sub": "arn:${AWS::Partition}:organizations::*:ou/o-*/ou-*"}],
            None,
        ),
    }  # fmt: skip
    schedule = statements(found["NightlyScheduleRole"], organization=True)
    (start,) = schedule[2:]
    assert (actions(start), start["Resource"]) == (["states:StartExecution"], {"Fn::Sub": STATE_MACHINE_ARN})


STATE_MACHINE_ARN = (
    "arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:stateMachine:${AWS::StackName}-organization"
)


def test_the_state_machine_role_invokes_the_scan_runs_its_own_map_and_is_trusted_for_it_only(
    transformed: dict[str, Any],
) -> None:
    role = roles(transformed)["OrganizationStateMachineRole"]
    (trust,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert (trust["Principal"], actions(trust)) == ({"Service": "states.amazonaws.com"}, ["sts:AssumeRole"])
    assert trust["Condition"] == {
        "StringEquals": THIS_ACCOUNT,
        "ArnLike": {"aws:SourceArn": {"Fn::Sub": STATE_MACHINE_ARN}},
    }
    found = {s["Sid"]: (sorted(actions(s)), s["Resource"]) for s in statements(role)}
    executions = STATE_MACHINE_ARN.replace(":stateMachine:", ":execution:") + ":*"
    assert found == {
        "InvokeTheScan": (
            ["lambda:InvokeFunction"],
            [{"Fn::GetAtt": ["ScanNumbersFunction", "Arn"]}, {"Fn::Sub": "${ScanNumbersFunction.Arn}:*"}],
        ),
        "RunTheMapsChildExecutions": (["states:StartExecution"], {"Fn::Sub": STATE_MACHINE_ARN}),
        "FollowTheMapsChildExecutions": (["states:DescribeExecution", "states:StopExecution"], {"Fn::Sub": executions}),
        "DeliverLogs": (
            sorted(["logs:CreateLogDelivery", "logs:GetLogDelivery", "logs:UpdateLogDelivery",
                    "logs:DeleteLogDelivery", "logs:ListLogDeliveries", "logs:PutResourcePolicy",
                    "logs:DescribeResourcePolicies", "logs:DescribeLogGroups"]),
            "*",
        ),
        "WriteTraces": (
            sorted(["xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:GetSamplingRules",
                    "xray:GetSamplingTargets"]),
            "*",
        ),
    }  # fmt: skip


def test_no_role_may_change_connect_and_star_is_only_where_nothing_narrower_exists(transformed: dict[str, Any]) -> None:
    for role in roles(transformed).values():
        for statement in every_statement(role):
            assert statement["Effect"] == "Allow"
            for action in actions(statement):
                assert not CONNECT_WRITES.match(action), action
                assert "*" not in action, action
            if statement["Resource"] == "*":
                assert set(actions(statement)) <= NO_RESOURCE_LEVEL


def test_the_function_uses_the_reviewed_role() -> None:
    assert resource("ScanNumbersFunction")["Properties"]["Role"] == {"Fn::GetAtt": ["ScanFunctionRole", "Arn"]}


def test_topics_are_encrypted_with_a_rotating_customer_key_sns_and_alarms_can_use() -> None:
    key = resource("NumberWatchKey")["Properties"]
    assert key["EnableKeyRotation"] is True
    principals = {json.dumps(s["Principal"], sort_keys=True): s for s in key["KeyPolicy"]["Statement"]}
    for service in ("sns.amazonaws.com", "cloudwatch.amazonaws.com"):
        statement = principals[json.dumps({"Service": service})]
        assert set(statement["Action"]) == {"kms:GenerateDataKey*", "kms:Decrypt"}
    for topic in ("NumberTopic", "OperationsTopic", "ChatTopic"):
        assert resource(topic)["Properties"]["KmsMasterKeyId"] == {"Ref": "NumberWatchKey"}


def test_the_table_survives_mistakes() -> None:
    table = resource("SnapshotTable")
    assert table["DeletionPolicy"] == table["UpdateReplacePolicy"] == "Retain"
    properties = table["Properties"]
    assert properties["DeletionProtectionEnabled"] is True
    assert properties["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert properties["SSESpecification"]["KMSMasterKeyId"] == {"Ref": "NumberWatchKey"}
    assert properties["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}


def test_queues_and_logs_are_encrypted() -> None:
    for queue in ("FailureQueue", "ScheduleDeadLetterQueue"):
        assert resource(queue)["Properties"]["SqsManagedSseEnabled"] is True
    assert resource("ScanFunctionLogs")["Properties"]["KmsKeyId"] == {"Fn::GetAtt": ["NumberWatchKey", "Arn"]}
    assert resource("ScanNumbersFunction")["Properties"]["KmsKeyArn"] == {"Fn::GetAtt": ["NumberWatchKey", "Arn"]}


def test_topic_policies_admit_only_this_account_and_require_tls() -> None:
    for name in ("NumberTopicPolicy", "OperationsTopicPolicy", "ChatTopicPolicy"):
        policy = policy_statements(name)
        for statement in (s for s in policy if s["Effect"] == "Allow"):
            principal = statement["Principal"]
            if "Service" in principal:
                assert statement["Condition"]["StringEquals"] == THIS_ACCOUNT
            else:
                assert principal["AWS"] in (ACCOUNT_ROOT, FUNCTION_ROLE)
        (tls,) = [s for s in policy if s["Effect"] == "Deny" and s["Action"] == "sns:*"]
        assert (tls["Principal"], tls["Condition"]) == ("*", {"Bool": {"aws:SecureTransport": "false"}})


def test_only_the_scan_function_publishes_changes_and_subscribers_use_documented_protocols() -> None:
    # In the same account an identity policy alone grants sns:Publish: only explicit Denies hold.
    policy = policy_statements("NumberTopicPolicy")
    publishers = [s["Principal"] for s in policy if s["Effect"] == "Allow" and "sns:Publish" in actions(s)]
    assert publishers == [{"AWS": FUNCTION_ROLE}]
    denied = {s["Action"]: s for s in policy if s["Effect"] == "Deny" and s["Action"] != "sns:*"}
    assert set(denied) == {"sns:Publish", "sns:Subscribe"}
    assert all(s["Principal"] == "*" and s["Resource"] == {"Ref": "NumberTopic"} for s in denied.values())
    assert denied["sns:Publish"]["Condition"] == {"ArnNotEquals": {"aws:PrincipalArn": FUNCTION_ROLE}}
    ((operator, ((key, protocols),)),) = [
        (op, tuple(c.items())) for op, c in denied["sns:Subscribe"]["Condition"].items()
    ]
    assert (operator, key, set(protocols)) == ("StringNotEquals", "sns:Protocol", DOCUMENTED_PROTOCOLS)


def test_only_the_scan_function_posts_to_chat_and_only_chatbot_s_https_endpoint_subscribes() -> None:
    policy = policy_statements("ChatTopicPolicy")
    publishers = [s["Principal"] for s in policy if s["Effect"] == "Allow" and "sns:Publish" in actions(s)]
    assert publishers == [{"AWS": FUNCTION_ROLE}]
    denied = {s["Action"]: s for s in policy if s["Effect"] == "Deny" and s["Action"] != "sns:*"}
    assert all(s["Principal"] == "*" and s["Resource"] == {"Ref": "ChatTopic"} for s in denied.values())
    assert denied["sns:Publish"]["Condition"] == {"ArnNotEquals": {"aws:PrincipalArn": FUNCTION_ROLE}}
    assert denied["sns:Subscribe"]["Condition"] == {"StringNotEquals": {"sns:Protocol": ["https"]}}
    assert environment()["CHAT_TOPIC_ARN"] == {"Ref": "ChatTopic"}
    assert template()["Outputs"]["ChatTopicArn"]["Value"] == {"Ref": "ChatTopic"}
    assert_alarms_operators_at_one(custom_metric_alarm("ChatMessagesFailed"))


def test_the_function_can_check_the_alert_subscription_and_operators_hear_when_it_is_gone(
    transformed: dict[str, Any],
) -> None:
    assert environment().get("ALERT_EMAIL") == {"Ref": "AlertEmail"}
    function = every_statement(roles(transformed)["ScanFunctionRole"])
    listed = [s["Resource"] for s in function if "sns:ListSubscriptionsByTopic" in actions(s)]
    assert listed == [{"Ref": "NumberTopic"}]
    alarm = custom_metric_alarm("AlertSubscriptionMissing")
    assert_alarms_operators_at_one(alarm)
    assert alarm["OKActions"] == [{"Ref": "OperationsTopic"}]


def test_the_scheduler_assumes_its_role_only_for_this_stacks_schedule_group(transformed: dict[str, Any]) -> None:
    # Scheduler's aws:SourceArn is the schedule group, never the schedule (its confused-deputy guide).
    schedule = transformed["Resources"]["ScanNumbersFunctionNightly"]["Properties"]
    role = transformed["Resources"][schedule["Target"]["RoleArn"]["Fn::GetAtt"][0]]
    (trust,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust.get("Condition") == {
        "StringEquals": THIS_ACCOUNT,
        "ArnEquals": {"aws:SourceArn": {"Fn::GetAtt": ["NightlyScheduleGroup", "Arn"]}},
    }
    assert (trust["Principal"], actions(trust)) == ({"Service": "scheduler.amazonaws.com"}, ["sts:AssumeRole"])
    assert schedule["GroupName"] == {"Ref": "NightlyScheduleGroup"}


def test_the_key_serves_only_this_stacks_log_group_topics_and_alarms() -> None:
    log_groups = [
        arn_from_name(
            "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:",
            resource(group)["Properties"]["LogGroupName"],
        )
        for group in ("ScanFunctionLogs", "OrganizationStateMachineLogs")
    ]
    logs = for_service("NumberWatchKey", {"Fn::Sub": "logs.${AWS::Region}.amazonaws.com"})
    assert logs["Condition"] == {"ArnEquals": {"kms:EncryptionContext:aws:logs:arn": log_groups}}

    # CloudFormation names a topic <stack>-<logical id>-<suffix>; an explicit name would replace the
    # topics of a stack upgraded from release 0.1, and every subscriber would have to subscribe again.
    topics = [
        {"Fn::Sub": f"arn:${{AWS::Partition}}:sns:${{AWS::Region}}:${{AWS::AccountId}}:${{AWS::StackName}}-{t}-*"}
        for t in ("NumberTopic", "OperationsTopic", "ChatTopic")
    ]
    for topic in ("NumberTopic", "OperationsTopic", "ChatTopic"):
        assert "TopicName" not in resource(topic)["Properties"]
    sns = for_service("NumberWatchKey", "sns.amazonaws.com")
    assert sns["Condition"] == {"StringEquals": THIS_ACCOUNT, "ArnLike": {"aws:SourceArn": topics}}

    alarms = {"Fn::Sub": "arn:${AWS::Partition}:cloudwatch:${AWS::Region}:${AWS::AccountId}:alarm:${AWS::StackName}-*"}
    for policy in ("NumberWatchKey", "OperationsTopicPolicy"):
        statement = for_service(policy, "cloudwatch.amazonaws.com")
        assert statement["Condition"] == {"StringEquals": THIS_ACCOUNT, "ArnLike": {"aws:SourceArn": alarms}}
    for name, r in template()["Resources"].items():
        if r["Type"] == "AWS::CloudWatch::Alarm":
            assert r["Properties"]["AlarmName"]["Fn::Sub"].startswith("${AWS::StackName}-"), name


def test_the_function_log_group_outlives_the_stack() -> None:
    logs = resource("ScanFunctionLogs")
    assert (logs.get("DeletionPolicy"), logs.get("UpdateReplacePolicy")) == ("Retain", "Retain")


def test_connect_is_called_only_in_the_scanned_regions(transformed: dict[str, Any]) -> None:
    # The same value as the function's SCAN_REGIONS, split at its commas as the function splits it.
    scanned = {"StringEquals": {"aws:RequestedRegion": {"Fn::Split": [",", environment()["SCAN_REGIONS"]]}}}
    function = every_statement(roles(transformed)["ScanFunctionRole"])
    connect = [s for s in function if actions(s)[0].startswith("connect:")]
    for statement in connect:
        assert statement.get("Condition") == scanned, statement["Sid"]
    assert {a for s in connect for a in actions(s)} >= {"connect:ListPhoneNumbersV2", "connect:DescribePhoneNumber"}


def test_the_new_settings_reach_the_function_and_messages_set_aside_alarm_operators() -> None:
    parameters = template()["Parameters"]
    bounds = {
        name: (p["Type"], p["Default"], p["MinValue"], p["MaxValue"])
        for name, p in parameters.items()
        if name in ("DescribeCallsPerRun", "DetailCallsPerRun", "FullVerificationRuns")
    }
    assert bounds == {
        "DescribeCallsPerRun": ("Number", 300, 0, 5000),
        "DetailCallsPerRun": ("Number", 0, 0, 5000),
        "FullVerificationRuns": ("Number", 30, 1, 365),
    }
    resolved = function_environment(
        "ScanNumbersFunction",
        {
            "SnapshotTable": "t",
            "NumberTopic": "arn",
            "ChatTopic": "c",
            "ArchiveBucket": "b",
            "AWS::Region": "us-east-1",
        },
    )
    assert (
        resolved["DESCRIBE_CALLS_PER_RUN"], resolved["DETAIL_CALLS_PER_RUN"], resolved["FULL_VERIFICATION_RUNS"],
        resolved["ALERT_EMAIL"],
    ) == ("300", "0", "30", "")  # fmt: skip
    assert_alarms_operators_at_one(custom_metric_alarm("MessagesSetAside"))


def rule_holds(expression: Any, parameters: dict[str, str]) -> Any:
    """A template rule's condition or assertion, evaluated on parameter values (as CloudFormation does,
    every value a string)."""
    if isinstance(expression, dict):
        ((function, argument),) = expression.items()
        if function == "Ref":
            return parameters[argument]
        values = [rule_holds(a, parameters) for a in argument]
        return {"Fn::Not": lambda: not values[0], "Fn::Equals": lambda: values[0] == values[1],
                "Fn::And": lambda: all(values), "Fn::Or": lambda: any(values)}[function]()  # fmt: skip
    return expression


@pytest.mark.parametrize(
    ("tags", "details", "describes"),
    [("", "0", "300"), ("owner", "0", "300"), ("owner", "300", "300"), ("owner", "300", "0"), ("", "300", "0")],
)
def test_required_tags_without_describes_are_refused_at_deploy_as_at_cold_start(
    tags: str, details: str, describes: str
) -> None:
    # Given the template's rules, and parameter values as a deployment gives them
    values = {"RequiredTagKeys": tags, "DetailCallsPerRun": details, "DescribeCallsPerRun": describes}
    # When CloudFormation checks them
    deployable = all(
        not rule_holds(rule.get("RuleCondition", True), values)
        or all(rule_holds(a["Assert"], values) for a in rule["Assertions"])
        for rule in template()["Rules"].values()
    )
    # Then it accepts exactly what the function's settings accept
    environment = {
        "TABLE_NAME": "t-1",
        "TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:n",
        "AWS_REGION": "us-east-1",
        "REQUIRED_TAG_KEYS": tags,
        "DETAIL_CALLS_PER_RUN": details,
        "DESCRIBE_CALLS_PER_RUN": describes,
    }
    try:
        Settings.from_environment(environment)
        accepted = True
    except ConfigurationError:
        accepted = False
    assert deployable == accepted == (not tags or "0" not in (details, describes))


@pytest.mark.parametrize(
    ("mode", "account_digests", "emailed"),
    [
        ("Disabled", "Disabled", [t.value for t in PEOPLE_EVENT_TYPES]),
        ("Enabled", "Enabled", ["ORGANIZATION_DIGEST", *(t.value for t in PEOPLE_EVENT_TYPES)]),
        # Two hundred accounts' baselines and digests would be two hundred emails on one morning.
        ("Enabled", "Disabled", ["ORGANIZATION_DIGEST", "SUSPECTED_MASS_RELEASE"]),
    ],
)
def test_the_email_subscription_lets_through_only_messages_for_people(
    mode: str, account_digests: str, emailed: list[str]
) -> None:
    subscription = resource("AlertEmailSubscription")["Properties"]
    refs = {**parameter_defaults(), "OrganizationMode": mode, "AccountDigests": account_digests}
    assert resolve_all(subscription["FilterPolicy"], refs) == {"event_type": emailed}
    assert subscription["FilterPolicyScope"] == "MessageAttributes"


def test_alarms_tell_operators_when_the_scan_is_unhealthy() -> None:
    alarms = {
        name: r["Properties"] for name, r in template()["Resources"].items() if r["Type"] == "AWS::CloudWatch::Alarm"
    }
    watched = {(a["Namespace"], a["MetricName"]) for a in alarms.values()}
    assert {
        ("AWS/Lambda", "Errors"),
        ("ConnectNumberWatch", "TargetsUnobserved"),
        ("AWS/SQS", "ApproximateNumberOfMessagesVisible"),
        ("ConnectNumberWatch", "SuccessfulRun"),
        ("ConnectNumberWatch", "MessagesPending"),
        ("ConnectNumberWatch", "MessagesSetAside"),
        ("ConnectNumberWatch", "AlertSubscriptionMissing"),
        ("ConnectNumberWatch", "AccountsNotObserved"),
    } <= watched
    for alarm in alarms.values():
        assert alarm["AlarmActions"] == [{"Ref": "OperationsTopic"}]
    switch = alarms["NoSuccessfulRunAlarm"]
    assert switch["Period"] * switch["EvaluationPeriods"] == 26 * 3600
    assert switch["DatapointsToAlarm"] == switch["EvaluationPeriods"]
    assert (switch["ComparisonOperator"], switch["Threshold"], switch["TreatMissingData"]) == (
        "LessThanThreshold", 1, "breaching",
    )  # fmt: skip


def test_failed_invocations_are_kept_and_retries_bounded() -> None:
    properties = resource("ScanNumbersFunction")["Properties"]
    invoke = properties["EventInvokeConfig"]
    assert (invoke["MaximumRetryAttempts"], invoke["MaximumEventAgeInSeconds"]) == (2, 3600)
    assert invoke["DestinationConfig"]["OnFailure"] == {
        "Type": "SQS",
        "Destination": {"Fn::GetAtt": ["FailureQueue", "Arn"]},
    }
    schedule = properties["Events"]["Nightly"]["Properties"]
    assert schedule["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": ["ScheduleDeadLetterQueue", "Arn"]}}
    assert int(properties["Environment"]["Variables"]["LEASE_SECONDS"]) > int(properties["Timeout"])


def test_parameters_are_described_and_outputs_name_what_users_need() -> None:
    for name, parameter in template()["Parameters"].items():
        assert parameter.get("Description"), name
    assert {"NumberTopicArn", "SnapshotTableName", "ScanFunctionName", "FailureQueueUrl",
            "ScheduleDeadLetterQueueUrl", "OperationsTopicArn", "ChatTopicArn", "ArchiveBucketName",
            "ScanRegions"} <= set(template()["Outputs"])  # fmt: skip
    # numberwatch finds its resources by these outputs' names
    from numberwatch_cli.context import OUTPUTS

    assert {output for output, _ in OUTPUTS.values()} <= set(template()["Outputs"])
    assert resolve(
        template()["Outputs"]["ScanRegions"]["Value"], {**parameter_defaults(), "AWS::Region": "eu-west-2"}
    ) == ("eu-west-2")


def test_env_json_overrides_only_variables_the_template_declares() -> None:
    # `sam local invoke --env-vars` silently ignores any other name.
    from localaws.template import ROOT

    declared = set(resource("ScanNumbersFunction")["Properties"]["Environment"]["Variables"])
    overrides = json.loads((ROOT / "env.json").read_text())["ScanNumbersFunction"]
    assert set(overrides) <= declared


def test_env_json_overrides_every_variable_that_names_one_of_the_stack_s_resources() -> None:
    # `sam local invoke` cannot resolve a Ref or GetAtt to a resource: the function would be given the
    # logical id ("ChatTopic") and refuse it at cold start. env.json must name each such variable.
    from localaws.template import ROOT

    resources = set(template()["Resources"])
    variables = resource("ScanNumbersFunction")["Properties"]["Environment"]["Variables"]
    naming = {
        name
        for name, value in variables.items()
        if any(f'"{logical}"' in json.dumps(value) for logical in resources) and not isinstance(value, str)
    }
    overrides = json.loads((ROOT / "env.json").read_text())["ScanNumbersFunction"]
    assert naming >= {"TABLE_NAME", "TOPIC_ARN", "CHAT_TOPIC_ARN"}
    assert naming <= set(overrides), sorted(naming - set(overrides))


def test_the_dashboard_shows_every_metric_the_scan_emits() -> None:
    body = resource("OperationsDashboard")["Properties"]["DashboardBody"]["Fn::Sub"]
    document = json.loads(body.replace("${AWS::Region}", "us-east-1").replace("${ScanNumbersFunction}", "fn"))
    shown = {metric[1] for widget in document["widgets"] for metric in widget["properties"]["metrics"]}
    metrics.clear_metrics()
    record_run(RunSummary(run_id="r", status=RunStatus.COMPLETED, alert_subscription="MISSING"))
    record_organization_run(accounts_scanned=3, accounts_not_observed=1, chat_messages_failed=0)
    emitted = set(metrics.metric_set)
    metrics.clear_metrics()
    assert {"AlertSubscriptionMissing", "MessagesSetAside", "AccountsNotObserved", "ChatMessagesFailed"} <= emitted
    assert emitted <= shown
