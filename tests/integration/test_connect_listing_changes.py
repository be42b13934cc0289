"""Connect listings are not snapshots: numbers are claimed, released, moved and described between two
pages of one ListPhoneNumbersV2 listing, or between two targets' listings (the emulator's listing
changes), and a move in progress can make a number briefly invisible."""

from __future__ import annotations

import time
from typing import Any

import boto3
import pytest

from localaws.control import ControlRefused, StackControl
from localaws.demo import create_instance

ACCOUNT = "123456789012"


def connect() -> Any:
    return boto3.client("connect", region_name="us-east-1")


def listing(target_arn: str | None = None, page_size: int = 3) -> list[dict[str, Any]]:
    """Every summary of one listing, through boto3's paginator, in the order served."""
    arguments: dict[str, Any] = {"PaginationConfig": {"PageSize": page_size}}
    if target_arn:
        arguments["TargetArn"] = target_arn
    pages = connect().get_paginator("list_phone_numbers_v2").paginate(**arguments)
    return [n for page in pages for n in page["ListPhoneNumbersSummaryList"]]


def ids(summaries: list[dict[str, Any]]) -> list[str]:
    return [n["PhoneNumberId"] for n in summaries]


@pytest.fixture
def targets(stack: StackControl) -> tuple[dict[str, str], dict[str, str]]:
    """Two instances with 6 numbers each."""
    stack.lift_quotas()
    first, second = create_instance(connect(), "first"), create_instance(connect(), "second")
    for instance in (first, second):
        stack.seed(account=ACCOUNT, region="us-east-1", target_arn=instance["Arn"], count=6)
    return first, second


def test_a_number_released_between_two_pages_is_not_served(
    stack: StackControl, targets: tuple[dict[str, str], dict[str, str]]
) -> None:
    # Given a target whose 6 numbers a listing serves 3 a page, in this order
    first, _ = targets
    order = ids(listing(first["Arn"]))
    # When the 5th is released just before the second page is served
    stack.add_listing_change(on_call=2, action="release", listing_target=first["Arn"], phone_number_id=order[4])
    served = ids(listing(first["Arn"]))
    # Then the listing serves the other 5, each once
    assert served == order[:4] + order[5:]
    assert [rule["outcome"] for rule in stack.listing_changes()] == ["applied"]


def test_a_number_served_then_moved_between_pages_is_not_served_twice(
    stack: StackControl, targets: tuple[dict[str, str], dict[str, str]]
) -> None:
    # Given a listing of the Region's instances (12 numbers, 3 a page)
    first, second = targets
    before = listing()
    order = ids(before)
    elsewhere = second["Arn"] if before[0]["TargetArn"] == first["Arn"] else first["Arn"]
    # When a number the first page served moves to the other instance before the second page
    stack.add_listing_change(on_call=2, action="move", phone_number_id=order[0], target_arn=elsewhere)
    served = listing()
    # Then it is not served again: every number once, the moved one as it was
    assert ids(served) == order
    assert served[0]["TargetArn"] == before[0]["TargetArn"]
    assert order[0] in ids(listing(elsewhere))


def test_a_claim_and_a_description_between_pages_show_at_most_once(
    stack: StackControl, targets: tuple[dict[str, str], dict[str, str]]
) -> None:
    first, _ = targets
    order = ids(listing(first["Arn"]))
    offer = connect().search_available_phone_numbers(
        TargetArn=first["Arn"], PhoneNumberCountryCode="US", PhoneNumberType="DID", MaxResults=1
    )["AvailableNumbersList"][0]["PhoneNumber"]
    # When, before the second page, a number is claimed and a later one gets a description
    stack.add_listing_change(on_call=2, action="claim", phone_number=offer, target_arn=first["Arn"])
    stack.add_listing_change(on_call=2, action="describe", phone_number_id=order[5], description="Changed")
    served = listing(first["Arn"])
    # Then the claim is served at most once (only if its id sorts after the cursor), the description shows
    assert len(ids(served)) == len(set(ids(served)))
    assert set(order) <= set(ids(served))
    assert len(served) in (6, 7)
    assert {n["PhoneNumberId"]: n.get("PhoneNumberDescription") for n in served}[order[5]] == "Changed"
    assert offer in {n["PhoneNumber"] for n in listing(first["Arn"])}


def test_a_number_moved_between_two_targets_listings_is_on_neither_or_on_both(
    stack: StackControl, targets: tuple[dict[str, str], dict[str, str]]
) -> None:
    first, second = targets
    on_first, on_second = ids(listing(first["Arn"])), ids(listing(second["Arn"]))
    # When, after a scan listed the first target and before it lists the second, a number moves
    # from the second to the first, and another from the first to the second
    for number, to in ((on_second[0], first["Arn"]), (on_first[0], second["Arn"])):
        stack.add_listing_change(
            on_call=1, action="move", listing_target=second["Arn"], phone_number_id=number, target_arn=to
        )
    scan_first = ids(listing(first["Arn"], page_size=6))
    scan_second = ids(listing(second["Arn"], page_size=6))
    # Then one number is on neither listing and the other (listed before it moved) on both
    assert on_second[0] not in scan_first + scan_second
    assert on_first[0] in scan_first
    assert on_first[0] in scan_second


def test_listing_changes_are_listed_cleared_reset_and_checked(stack: StackControl) -> None:
    stack.add_listing_change(on_call=3, action="release", phone_number_id="n-1")
    assert [(r["on_call"], r["action"], r["seen"], r["outcome"]) for r in stack.listing_changes()] == [
        (3, "release", 0, None)
    ]
    stack.clear_listing_changes()
    assert stack.listing_changes() == []
    stack.add_listing_change(on_call=1, action="release", phone_number_id="n-1")
    stack.reset()
    assert stack.listing_changes() == []
    for bad in (
        {"on_call": 1, "action": "explode"},
        {"on_call": 1, "action": "move", "phone_number_id": "n-1"},
        {"on_call": 0, "action": "release", "phone_number_id": "n-1"},
    ):
        with pytest.raises(ControlRefused) as refused:
            stack.add_listing_change(**bad)
        assert refused.value.status == 400


def test_a_change_that_cannot_be_made_is_reported_and_the_listing_still_served(
    stack: StackControl, targets: tuple[dict[str, str], dict[str, str]]
) -> None:
    first, _ = targets
    stack.add_listing_change(on_call=1, action="release", phone_number_id="00000000-0000-0000-0000-000000000000")
    assert len(listing(first["Arn"])) == 6
    assert stack.listing_changes()[0]["outcome"].startswith("failed: ResourceNotFoundException")


def test_a_move_in_progress_is_on_no_listing_when_moves_are_hidden(
    stack: StackControl, targets: tuple[dict[str, str], dict[str, str]]
) -> None:
    # Given moves that take a moment, and numbers hidden while they move
    first, second = targets
    number = ids(listing(first["Arn"]))[0]
    stack.settings(async_delay_seconds=60, hide_in_progress_moves=True)
    # When a number starts moving
    connect().update_phone_number(PhoneNumberId=number, TargetArn=second["Arn"])
    # Then it is on neither listing, while DescribePhoneNumber answers it IN_PROGRESS
    assert number not in ids(listing(first["Arn"])) + ids(listing(second["Arn"])) + ids(listing())
    described = connect().describe_phone_number(PhoneNumberId=number)["ClaimedPhoneNumberSummary"]
    assert described["PhoneNumberStatus"]["Status"] == "IN_PROGRESS"


def test_a_hidden_move_is_listed_again_where_it_ends(
    stack: StackControl, targets: tuple[dict[str, str], dict[str, str]]
) -> None:
    first, second = targets
    moved, failed = ids(listing(first["Arn"]))[:2]
    stack.settings(async_delay_seconds=0.2, hide_in_progress_moves=True)
    connect().update_phone_number(PhoneNumberId=moved, TargetArn=second["Arn"])
    stack.settings(fail_next_async=1)
    connect().update_phone_number(PhoneNumberId=failed, TargetArn=second["Arn"])
    for number in (moved, failed):
        for _ in range(100):
            status = connect().describe_phone_number(PhoneNumberId=number)["ClaimedPhoneNumberSummary"]
            if status["PhoneNumberStatus"]["Status"] != "IN_PROGRESS":
                break
            time.sleep(0.05)
    assert moved in ids(listing(second["Arn"]))
    assert failed in ids(listing(first["Arn"]))


def test_without_hiding_a_move_in_progress_stays_on_its_old_target(
    stack: StackControl, targets: tuple[dict[str, str], dict[str, str]]
) -> None:
    first, second = targets
    number = ids(listing(first["Arn"]))[0]
    stack.settings(async_delay_seconds=60)
    connect().update_phone_number(PhoneNumberId=number, TargetArn=second["Arn"])
    assert number in ids(listing(first["Arn"]))
