"""Contact flows and their phone-number associations in the Connect emulator, per instance and Region,
through boto3 and through the product's own adapter (`ConnectInventory.routing`)."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from localaws.control import ControlRefused, StackControl
from numberwatch.adapters.connect import CallGate, ConnectInventory
from tests.support.estate import HOME, WEST, Estate

CONTENT = json.dumps({"Version": "2019-10-30", "StartAction": "end", "Actions": [{"Identifier": "end"}]})


def connect(region: str = HOME, **config: Any) -> Any:
    return boto3.client("connect", region_name=region, config=Config(**config) if config else None)


def create_flow(instance_id: str, name: str, region: str = HOME) -> dict[str, str]:
    created: dict[str, str] = connect(region).create_contact_flow(
        InstanceId=instance_id, Name=name, Type="CONTACT_FLOW", Content=CONTENT
    )
    return created


def flow_names(instance_id: str, region: str = HOME) -> set[str]:
    pages = connect(region).get_paginator("list_contact_flows").paginate(InstanceId=instance_id)
    return {f["Name"] for page in pages for f in page["ContactFlowSummaryList"]}


def associations(instance_id: str, region: str = HOME) -> list[dict[str, str]]:
    pages = (
        connect(region)
        .get_paginator("list_flow_associations")
        .paginate(InstanceId=instance_id, ResourceType="VOICE_PHONE_NUMBER")
    )
    return [a for page in pages for a in page["FlowAssociationSummaryList"]]


def error_code(excinfo: pytest.ExceptionInfo[ClientError]) -> str:
    return str(excinfo.value.response["Error"]["Code"])


def inventory() -> ConnectInventory:
    return ConnectInventory(lambda region: connect(region), CallGate(1000.0, burst=1000.0))


def test_flows_are_created_listed_and_deleted_per_instance(estate: Estate) -> None:
    # Given two instances with flows of their own
    first, second = estate.instance("first"), estate.instance("second")
    sales = create_flow(first["Id"], "Sales")
    create_flow(first["Id"], "Support")
    create_flow(second["Arn"], "After hours")
    # Then each instance lists its own flows only, with their ARNs in that instance
    assert flow_names(first["Id"]) == {"Sales", "Support"}
    assert flow_names(second["Id"]) == {"After hours"}
    assert sales["ContactFlowArn"] == f"{first['Arn']}/contact-flow/{sales['ContactFlowId']}"
    # And a deleted flow is listed no more
    connect().delete_contact_flow(InstanceId=first["Id"], ContactFlowId=sales["ContactFlowId"])
    assert flow_names(first["Id"]) == {"Support"}
    with pytest.raises(ClientError) as again:
        connect().delete_contact_flow(InstanceId=first["Id"], ContactFlowId=sales["ContactFlowId"])
    assert error_code(again) == "ResourceNotFoundException"


def test_a_flow_name_is_unique_within_its_instance_only(estate: Estate) -> None:
    first, second = estate.instance("first"), estate.instance("second")
    create_flow(first["Id"], "Main menu")
    with pytest.raises(ClientError) as duplicate:
        create_flow(first["Id"], "Main menu")
    assert error_code(duplicate) == "DuplicateResourceException"
    create_flow(second["Id"], "Main menu")
    assert flow_names(second["Id"]) == {"Main menu"}


def test_flow_content_that_is_not_flow_language_json_is_refused(estate: Estate) -> None:
    instance = estate.instance("primary")
    with pytest.raises(ClientError) as refused:
        connect().create_contact_flow(InstanceId=instance["Id"], Name="Broken", Type="CONTACT_FLOW", Content="{oops")
    assert error_code(refused) == "InvalidContactFlowException"
    assert flow_names(instance["Id"]) == set()


@pytest.mark.slow
def test_contact_flows_are_listed_up_to_1000_a_page(estate: Estate) -> None:
    # Given an instance with 1,001 flows
    instance = estate.instance("primary")
    for index in range(1001):
        create_flow(instance["Id"], f"Flow {index:04d}")
    # When they are listed 1,000 at a time, then it takes two pages and every flow comes once
    pages = list(
        connect()
        .get_paginator("list_contact_flows")
        .paginate(InstanceId=instance["Id"], PaginationConfig={"PageSize": 1000})
    )
    assert [len(p["ContactFlowSummaryList"]) for p in pages] == [1000, 1]
    assert len({f["Id"] for p in pages for f in p["ContactFlowSummaryList"]}) == 1001
    # And a page of more than 1,000 is refused
    with pytest.raises(ClientError) as refused:
        connect(parameter_validation=False).list_contact_flows(InstanceId=instance["Id"], MaxResults=1001)
    assert error_code(refused) == "InvalidParameterException"


def test_a_number_is_associated_only_with_a_flow_of_its_own_instance(estate: Estate) -> None:
    # Given a number on one instance, and a flow in another instance
    primary, other = estate.instance("primary"), estate.instance("other")
    (number,) = estate.claim(primary["Arn"])
    elsewhere = create_flow(other["Id"], "Elsewhere")
    # When it is associated with that flow, or with a flow that never existed, then it is refused
    for flow_id in (elsewhere["ContactFlowId"], "00000000-0000-0000-0000-000000000000"):
        with pytest.raises(ClientError) as missing:
            connect().associate_phone_number_contact_flow(
                PhoneNumberId=number.id, InstanceId=primary["Id"], ContactFlowId=flow_id
            )
        assert error_code(missing) == "ResourceNotFoundException"
    # And associating it in an instance it is not claimed to is refused too
    with pytest.raises(ClientError) as wrong_instance:
        connect().associate_phone_number_contact_flow(
            PhoneNumberId=number.id, InstanceId=other["Id"], ContactFlowId=elsewhere["ContactFlowId"]
        )
    assert error_code(wrong_instance) == "InvalidParameterException"
    assert associations(primary["Id"]) == associations(other["Id"]) == []


def test_a_deleted_flow_stays_associated_and_the_product_sees_it_nameless(estate: Estate) -> None:
    # Given a number associated with a flow
    primary = estate.instance("primary")
    (number,) = estate.claim(primary["Arn"])
    flow = create_flow(primary["Id"], "Sales")
    connect().associate_phone_number_contact_flow(
        PhoneNumberId=number.arn, InstanceId=primary["Id"], ContactFlowId=flow["ContactFlowArn"]
    )
    assert inventory().routing(primary["Arn"]).names == {flow["ContactFlowId"]: "Sales"}
    # When the flow is deleted (AWS allows it while numbers are associated)
    connect().delete_contact_flow(InstanceId=primary["Id"], ContactFlowId=flow["ContactFlowId"])
    # Then the association still names it, while no flow of that id is listed
    assert [a["FlowId"] for a in associations(primary["Id"])] == [flow["ContactFlowArn"]]
    routing = inventory().routing(primary["Arn"])
    assert routing.flows == {number.id: flow["ContactFlowId"]}
    assert routing.names == {}


@pytest.mark.parametrize("distinct_replica_ids", [False, True])
def test_a_tdg_number_s_association_is_mirrored_to_its_instance_in_the_other_region(
    stack: StackControl, estate: Estate, distinct_replica_ids: bool
) -> None:
    # Given an instance with a flow, replicated (the replica keeps its id unless told otherwise)
    stack.settings(distinct_replica_ids=distinct_replica_ids)
    primary = estate.instance("primary")
    before = create_flow(primary["Id"], "Main menu")
    default_tdg = estate.replicate(primary)
    replica_id = connect(WEST).list_instances()["InstanceSummaryList"][0]["Id"]
    assert (replica_id != primary["Id"]) is distinct_replica_ids
    # Then the replica has the instance's flows, and a flow created in either is in both, with one id
    after = create_flow(replica_id, "After hours", region=WEST)
    assert flow_names(primary["Id"]) == flow_names(replica_id, WEST) == {"Main menu", "After hours"}
    # When a number claimed to the TDG from the other Region is associated in the TDG's home Region
    (number,) = estate.claim(default_tdg["Arn"], region=WEST)
    connect().associate_phone_number_contact_flow(
        PhoneNumberId=number.arn, InstanceId=primary["Id"], ContactFlowId=before["ContactFlowId"]
    )
    # Then each Region's instance lists the association, under its own instance and Region
    assert [a["FlowId"] for a in associations(primary["Id"])] == [before["ContactFlowArn"]]
    west_flow_arn = f"arn:aws:connect:{WEST}:123456789012:instance/{replica_id}/contact-flow/{before['ContactFlowId']}"
    assert [a["FlowId"] for a in associations(replica_id, WEST)] == [west_flow_arn]
    assert inventory().routing(primary["Arn"]).flows == {number.id: before["ContactFlowId"]}
    # And a change made from the other Region (naming the number by ARN) is mirrored back
    connect(WEST).associate_phone_number_contact_flow(
        PhoneNumberId=number.arn, InstanceId=replica_id, ContactFlowId=after["ContactFlowId"]
    )
    assert inventory().routing(primary["Arn"]).flows == {number.id: after["ContactFlowId"]}
    connect(WEST).disassociate_phone_number_contact_flow(PhoneNumberId=number.arn, InstanceId=replica_id)
    assert associations(primary["Id"]) == associations(replica_id, WEST) == []


def test_outside_its_tdg_s_home_region_a_number_is_described_and_routed_by_arn_only(estate: Estate) -> None:
    # Given a TDG of us-east-1 with a number claimed from each of its Regions, and a flow
    primary = estate.instance("primary")
    flow = create_flow(primary["Id"], "Main menu")
    default_tdg = estate.replicate(primary)
    numbers = [*estate.claim(default_tdg["Arn"]), *estate.claim(default_tdg["Arn"], region=WEST)]
    replica_id = connect(WEST).list_instances()["InstanceSummaryList"][0]["Id"]
    for number in numbers:
        # Then in the TDG's home Region its id will do
        described = connect().describe_phone_number(PhoneNumberId=number.id)["ClaimedPhoneNumberSummary"]
        assert described["PhoneNumberArn"] == number.arn
        # While in the other Region its id is not found, and its ARN is
        with pytest.raises(ClientError) as described_by_id:
            connect(WEST).describe_phone_number(PhoneNumberId=number.id)
        assert error_code(described_by_id) == "ResourceNotFoundException"
        with pytest.raises(ClientError) as routed_by_id:
            connect(WEST).associate_phone_number_contact_flow(
                PhoneNumberId=number.id, InstanceId=replica_id, ContactFlowId=flow["ContactFlowId"]
            )
        assert error_code(routed_by_id) == "ResourceNotFoundException"
        described = connect(WEST).describe_phone_number(PhoneNumberId=number.arn)["ClaimedPhoneNumberSummary"]
        assert described["PhoneNumberId"] == number.id


def test_a_move_drops_the_number_s_association(estate: Estate) -> None:
    # Given a number associated with a flow of its instance
    primary, branch = estate.instance("primary"), estate.instance("branch")
    (number,) = estate.claim(primary["Arn"])
    flow = create_flow(primary["Id"], "Sales")
    connect().associate_phone_number_contact_flow(
        PhoneNumberId=number.id, InstanceId=primary["Id"], ContactFlowId=flow["ContactFlowId"]
    )
    # When it moves to another instance, then it is associated nowhere (a move does not carry its flow)
    estate.move(number, branch["Arn"])
    assert associations(primary["Id"]) == associations(branch["Id"]) == []


@pytest.mark.parametrize(("resource_form", "flow_form"), [("ARN", "ARN"), ("ARN", "ID"), ("ID", "ARN"), ("ID", "ID")])
def test_flow_association_identifiers_come_in_the_form_set_and_the_product_reads_each(
    stack: StackControl, estate: Estate, resource_form: str, flow_form: str
) -> None:
    # Given ListFlowAssociations set to answer numbers and flows by ARN or by ID
    stack.settings(flow_association_resource_id=resource_form, flow_association_flow_id=flow_form)
    primary = estate.instance("primary")
    first, second, unrouted = estate.claim(primary["Arn"], 3)
    sales, support = create_flow(primary["Id"], "Sales"), create_flow(primary["Id"], "Support")
    for number, flow in ((first, sales), (second, support)):
        connect().associate_phone_number_contact_flow(
            PhoneNumberId=number.id, InstanceId=primary["Id"], ContactFlowId=flow["ContactFlowId"]
        )
    # Then the answer carries that form
    listed = associations(primary["Id"])
    assert {a["ResourceId"] for a in listed} == {(n.arn if resource_form == "ARN" else n.id) for n in (first, second)}
    assert {a["FlowId"] for a in listed} == {
        f["ContactFlowArn" if flow_form == "ARN" else "ContactFlowId"] for f in (sales, support)
    }
    # And the product's adapter reads the same routing from either form
    routing = inventory().routing(primary["Arn"])
    assert routing.flows == {first.id: sales["ContactFlowId"], second.id: support["ContactFlowId"]}
    assert routing.names == {sales["ContactFlowId"]: "Sales", support["ContactFlowId"]: "Support"}
    assert unrouted.id not in routing.flows


def test_a_flow_association_form_other_than_arn_or_id_is_refused(stack: StackControl) -> None:
    with pytest.raises(ControlRefused) as refused:
        stack.settings(flow_association_resource_id="NAME")
    assert refused.value.status == 400
    assert "('ARN', 'ID')" in refused.value.reason
    assert stack.settings()["flow_association_resource_id"] == "ARN"
