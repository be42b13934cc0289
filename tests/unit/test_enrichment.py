"""Beyond the listing, against in-memory fakes: the flow each number answers, its tags and claim status,
the findings a person must act on, and what the numbers cost."""

from __future__ import annotations

import dataclasses
import json
from collections import Counter

import pytest

from numberwatch.cost import PriceTable, PriceTableError
from numberwatch.models import PhoneNumber
from numberwatch.phases.confirm import DescribeBudget
from numberwatch.settings import Settings
from tests.unit.factories import instance, number, numbers, tdg
from tests.unit.test_scan_service import ENVIRONMENT, Estate, baseline

NO_CHANGE = {"CLAIMED": 0, "RELEASED": 0, "MOVED": 0, "UPDATED": 0}


def routed(estate: Estate, instance_arn: str, flows: dict[PhoneNumber, str], names: dict[str, str]) -> None:
    estate.connect.flows[instance_arn] = {n.id: flow for n, flow in flows.items()}
    estate.connect.flow_names[instance_arn] = names


def digest(bodies: list[dict[str, object]]) -> dict[str, object]:
    (found,) = [b for b in bodies if b["event_type"] == "DIGEST"]
    return found


# ------------------------------------------------------------------ routing
def test_a_change_of_flow_is_an_update_and_unrouted_numbers_are_told_once() -> None:
    # Given a baseline where every number answers the "Main" flow
    estate = Estate()
    a = instance("a")
    held = numbers(6, a)
    routed(estate, a.arn, dict.fromkeys(held, "flow-main"), {"flow-main": "Main", "flow-sales": "Sales"})
    baseline(estate, (a, held))
    # When one number moves to "Sales", one loses its flow, and a new number arrives with none
    routed(estate, a.arn, {**dict.fromkeys(held[2:], "flow-main"), held[0]: "flow-sales"}, {"flow-main": "Main",
           "flow-sales": "Sales"})  # fmt: skip
    newcomer = number(99, a)
    estate.connect.add(a, newcomer)
    summary = estate.night()
    # Then the two edits are updates of the flow, the newcomer a claim, and two numbers became unrouted
    assert summary["changes"] == {**NO_CHANGE, "CLAIMED": 1, "UPDATED": 2}
    bodies = estate.received()
    updates = {b["phone_number"]: b for b in bodies if b.get("change_type") == "UPDATED"}
    assert updates[held[0].number]["changed_fields"] == ["FlowId"]
    assert (updates[held[0].number]["before"]["FlowName"], updates[held[0].number]["after"]["FlowName"]) == (
        "Main", "Sales",
    )  # fmt: skip
    assert "FlowId" not in updates[held[1].number]["after"]
    told = digest(bodies)
    assert told["became_unrouted"] == 2
    assert summary["holdings"]["unrouted"] == 2
    assert "UNROUTED SINCE TONIGHT (2)" in _email(estate, told)
    # And the next night, with the same two still unrouted, tells nothing again
    assert estate.night()["changes"] == NO_CHANGE
    assert estate.received() == []


def _email(estate: Estate, body: dict[str, object]) -> str:
    message = next(m for s in estate.store.messages.values() if (m := s.message).body is body or m.body == body)
    return message.email_text


def test_numbers_whose_routing_cannot_be_read_keep_their_flow_and_are_never_called_unrouted() -> None:
    # Given a baseline of an instance and a TDG it owns, every number routed
    estate = Estate()
    owner = instance("owner")
    group = dataclasses.replace(tdg(), instance_arn=owner.arn)
    on_owner, on_group = numbers(4, owner), numbers(3, group, start=10)
    routed(estate, owner.arn, dict.fromkeys([*on_owner, *on_group], "flow-main"), {"flow-main": "Main"})
    baseline(estate, (owner, on_owner), (group, on_group))
    # When ListFlowAssociations is denied tonight, and a number is claimed meanwhile
    estate.connect.routing_failing[owner.arn] = "AccessDeniedException: not allowed"
    estate.connect.add(owner, number(50, owner))
    summary = estate.night()
    # Then the claim is reported, no flow changes, nothing is unrouted, and both targets are partly observed
    assert summary["changes"] == {**NO_CHANGE, "CLAIMED": 1}
    assert sorted(t["target_arn"] for t in summary["targets_partly_observed"]) == sorted([owner.arn, group.arn])
    assert summary["holdings"]["unrouted"] == 0
    assert "PARTLY OBSERVED (2)" in _email(estate, digest(estate.received()))
    # And when the associations can be read again, nothing is reported but the truth
    del estate.connect.routing_failing[owner.arn]
    assert estate.night()["changes"] == NO_CHANGE


def test_a_flow_deleted_while_numbers_use_it_is_a_finding_once() -> None:
    estate = Estate()
    a = instance("a")
    held = numbers(3, a)
    routed(estate, a.arn, dict.fromkeys(held, "flow-x"), {"flow-x": "Overflow"})
    baseline(estate, (a, held))
    estate.connect.flow_names[a.arn] = {}  # the flow is deleted; the associations stay
    summary = estate.night()
    assert summary["findings"] == {"FLOW_NOT_FOUND": 3}
    assert summary["changes"] == NO_CHANGE
    estate.received()
    assert estate.night()["findings"] == {}


# ------------------------------------------------------------------ status and tags
def test_a_failed_claim_and_a_number_stuck_in_progress_are_findings() -> None:
    estate = Estate(DETAIL_CALLS_PER_RUN="300")
    a = instance("a")
    held = numbers(5, a)
    baseline(estate, (a, held))
    # A claim that failed is still listed; a move that stays in progress (listed, as Connect may)
    failed = dataclasses.replace(number(70, a), status="FAILED")
    estate.connect.add(a, failed)
    stuck = held[0]
    estate.connect.numbers[a.arn][stuck.arn] = dataclasses.replace(stuck, status="IN_PROGRESS")
    first = estate.night()
    assert first["findings"] == {"CLAIM_FAILED": 1}
    claimed = next(b for b in estate.received() if b.get("change_type") == "CLAIMED")
    assert claimed["after"]["PhoneNumberStatus"] == "FAILED"
    # The next night the number is still in progress: that is two descriptions in a row
    assert estate.night()["findings"] == {"STUCK_IN_PROGRESS": 1}


def test_tags_are_described_a_change_of_tags_is_an_update_and_missing_required_keys_a_finding() -> None:
    estate = Estate(REQUIRED_TAG_KEYS="cost-center,owner", DETAIL_CALLS_PER_RUN="300")
    a = instance("a")
    held = [dataclasses.replace(n, tags=(("cost-center", "42"), ("owner", "ops"))) for n in numbers(4, a)]
    baseline(estate, (a, held))
    # The first night after the baseline describes everyone (a small estate fits the budget)
    summary = estate.night()
    assert summary["findings"] == {} and summary["changes"] == NO_CHANGE
    estate.received()
    # When someone removes the owner tag of one number
    estate.connect.numbers[a.arn][held[0].arn] = dataclasses.replace(held[0], tags=(("cost-center", "42"),))
    summary = estate.night()
    # Then it is an UPDATED of its tags, and a finding: it lacks a required key
    assert summary["changes"] == {**NO_CHANGE, "UPDATED": 1}
    assert summary["findings"] == {"MISSING_REQUIRED_TAGS": 1}
    update = next(b for b in estate.received() if b.get("change_type") == "UPDATED")
    assert update["changed_fields"] == ["Tags"]
    assert (update["before"]["Tags"], update["after"]["Tags"]) == (
        {"cost-center": "42", "owner": "ops"}, {"cost-center": "42"},
    )  # fmt: skip
    # And it is not told again while it stays so
    summary = estate.night()
    assert summary["findings"] == {} and summary["changes"] == NO_CHANGE


def test_details_switched_off_after_nights_with_them_report_nothing_false_and_a_tag_change_is_told_later() -> None:
    # Given tagged numbers, one in progress, described on nights with details asked for
    estate = Estate(REQUIRED_TAG_KEYS="owner", DETAIL_CALLS_PER_RUN="300")
    a = instance("a")
    held = [dataclasses.replace(n, tags=(("owner", "ops"),)) for n in numbers(4, a)]
    held[1] = dataclasses.replace(held[1], status="IN_PROGRESS")
    baseline(estate, (a, held))
    assert estate.night()["findings"] == {}
    estate.received()
    # When details are switched off (the default), and someone drops a tag and edits a description
    estate.settings = Settings.from_environment(ENVIRONMENT)
    estate.connect.numbers[a.arn][held[0].arn] = dataclasses.replace(held[0], tags=())
    estate.connect.numbers[a.arn][held[2].arn] = dataclasses.replace(held[2], description="Front desk")
    estate.connect.described.clear()
    summary = estate.night()
    # Then the edit alone is reported, nothing is described, and no finding is made
    assert summary["changes"] == {**NO_CHANGE, "UPDATED": 1} and summary["findings"] == {}
    assert estate.connect.described == [] and summary["describe_calls"] == 0
    (update,) = [b for b in estate.received() if b.get("change_type") == "UPDATED"]
    assert update["changed_fields"] == ["PhoneNumberDescription"]
    # And its tags and status are as last described (the README says so), never dropped as a change
    assert (update["after"]["Tags"], update["after"]["PhoneNumberStatus"]) == ({"owner": "ops"}, "CLAIMED")
    assert estate.night()["changes"] == NO_CHANGE
    # When details are asked for again, the tag dropped meanwhile is told: an UPDATED of its tags, a finding
    estate.settings = Settings.from_environment(
        {**ENVIRONMENT, "REQUIRED_TAG_KEYS": "owner", "DETAIL_CALLS_PER_RUN": "300"}
    )
    estate.received()
    summary = estate.night()
    assert summary["changes"] == {**NO_CHANGE, "UPDATED": 1}
    assert summary["findings"] == {"MISSING_REQUIRED_TAGS": 1, "STUCK_IN_PROGRESS": 1}


def test_every_number_is_described_within_the_rotation_the_budget_allows() -> None:
    # 60 numbers, 12 descriptions a night: every number within ceil(60 / 12) + 1 nights
    estate = Estate(DESCRIBE_CALLS_PER_RUN="12", DETAIL_CALLS_PER_RUN="12")
    a = instance("a")
    held = numbers(60, a)
    baseline(estate, (a, held))
    described: Counter[str] = Counter()
    for _ in range(6):
        estate.connect.described.clear()
        summary = estate.night()
        assert summary["describe_calls"] <= 12
        described.update(estate.connect.described)
    assert set(described) == {n.arn for n in held}


def test_by_default_the_budget_confirms_releases_and_describes_nothing_else() -> None:
    # Given a baseline of 40 numbers, and the default settings: a night budget of 300, none for details
    estate = Estate()
    a = instance("a")
    held = numbers(40, a)
    baseline(estate, (a, held))
    # When one number is released and one claimed
    estate.connect.release(held[0])
    estate.connect.add(a, number(99, a))
    estate.connect.described.clear()
    summary = estate.night()
    # Then the release is confirmed and reported, the claim reported, and only the release was described
    assert summary["changes"] == {**NO_CHANGE, "CLAIMED": 1, "RELEASED": 1}
    assert estate.connect.described == [held[0].arn]
    assert summary["describe_calls"] == 1
    # And a quiet night describes nothing at all: no rotation
    estate.connect.described.clear()
    assert estate.night()["changes"] == NO_CHANGE
    assert estate.connect.described == []


def test_details_take_at_most_their_share_and_the_run_counts_every_call() -> None:
    # Given a budget of 5 calls, of which at most 3 for details
    budget = DescribeBudget(5)
    details = budget.share(3)
    # When confirmation takes 1, then details take all they can
    assert budget.take()
    taken = sum(details.take() for _ in range(10))
    # Then details got their 3, the run counted 4, and 1 is left for no one but the parent's other users
    assert (taken, details.calls, budget.calls, details.left(), budget.left()) == (3, 3, 4, 0, 1)
    # And a share never takes more than what is left of the budget it is drawn from
    generous = DescribeBudget(2).share(10)
    assert sum(generous.take() for _ in range(5)) == 2


def test_the_rotation_moves_on_when_a_bucket_holds_more_numbers_than_a_night_can_describe() -> None:
    # Given 300 numbers, 2 descriptions a night: some of the 256 fingerprint buckets hold 3 numbers or more
    estate = Estate(DESCRIBE_CALLS_PER_RUN="2", DETAIL_CALLS_PER_RUN="2")
    a = instance("a")
    held = numbers(300, a)
    baseline(estate, (a, held))
    described: Counter[str] = Counter()
    for _ in range(200):
        estate.connect.described.clear()
        estate.night()
        described.update(estate.connect.described)
    # Then every number is described within about ceil(300 / 2) nights: the rotation never stalls on a bucket
    assert set(described) == {n.arn for n in held}


# ------------------------------------------------------------------ cost
def test_the_digest_tells_what_the_estate_and_its_unrouted_numbers_cost_a_month() -> None:
    prices = {"currency": "EUR", "source": "our contract", "as_of": "2026-10-01",
              "daily": {"US": {"DID": 0.5}, "*": {"TOLL_FREE": 1.0}}}  # fmt: skip
    estate = Estate(NUMBER_PRICES=json.dumps(prices))
    a = instance("a")
    routed_ones = numbers(4, a)
    free_phone = dataclasses.replace(number(20, a), type="TOLL_FREE", country="GB")
    unpriced = dataclasses.replace(number(21, a), type="UIFN")
    routed(estate, a.arn, dict.fromkeys([*routed_ones, free_phone], "f"), {"f": "Main"})
    baseline(estate, (a, [*routed_ones, free_phone, unpriced]))
    estate.connect.add(a, number(30, a))  # a new unrouted DID
    summary = estate.night()
    assert summary["holdings"] == {
        "numbers": 7, "unrouted": 2, "monthly_cost": (5 * 0.5 + 1.0) * 30, "unrouted_monthly_cost": 0.5 * 30,
        "unpriced": 1, "currency": "EUR", "prices": "prices: our contract, as of 2026-10-01",
    }  # fmt: skip
    text = _email(estate, digest(estate.received()))
    assert "Holding 7 numbers, about 105.00 EUR a month; 2 unrouted (no contact flow), about 15.00 EUR a month" in text
    assert "1 numbers have no price in the table" in text


def test_the_shipped_price_table_says_it_is_an_example() -> None:
    table = PriceTable.example_table()
    assert table.example and "not AWS prices" in table.source
    assert table.describe_source().startswith("EXAMPLE prices (replace them)")


@pytest.mark.parametrize("text", ["{", '{"currency": "USD"}', '{"currency": "USD", "source": "s", "as_of": "d", '
                                  '"daily": {"US": {"DID": -1}}}'])  # fmt: skip
def test_a_bad_price_table_is_refused_with_what_was_expected(text: str) -> None:
    with pytest.raises(PriceTableError, match="daily"):
        PriceTable.parse(text)
