"""Inventory adapter: Amazon Connect's ListInstances, ListTrafficDistributionGroups,
ListPhoneNumbersV2, DescribePhoneNumber, ListFlowAssociations and ListContactFlows, through boto3
clients it is given (one per Region).

ListFlowAssociations calls its `ResourceId` and `FlowId` "identifiers" without saying whether they are
IDs or ARNs: both are accepted, and reduced to the ID (the last segment of an ARN).

Every request (retries included) passes a `CallGate` first: a token bucket per Region and operation
(Connect's quotas are per account, Region and API) that paces our own calls to a share of the quota
(shared with the customer's automation), counts them, and stops the run before the Lambda's deadline
rather than sleeping through it.

ListPhoneNumbersV2's pages are read by `json` alone (`parse_listings_leanly`): botocore's walk of the
output shape, member by member for 1,000 summaries a page, was a third of a quiet night's CPU, and every
member a summary is read for is a string that the walk hands back unchanged.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from ..models import Arn, MalformedSummary, PhoneNumber, Target, TargetKind
from ..ports import (
    Described,
    Discovery,
    NumberPage,
    OutOfTime,
    Presence,
    Routing,
    RoutingUnavailable,
    TargetUnavailable,
)
from . import Client

if TYPE_CHECKING:
    from mypy_boto3_connect import ConnectClient

PAGE_SIZE = 1000
CATALOGUE_PAGE_SIZE = 10
# TDG statuses in which the group can hold numbers and be listed. CREATION_IN_PROGRESS and
# CREATION_FAILED groups never held any; a PENDING_DELETION group has none left (Connect refuses to
# delete a group with numbers): such a group is not a target, and one the snapshot knew departs.
LISTABLE_TDG_STATUSES = frozenset({"ACTIVE", "UPDATE_IN_PROGRESS", "DELETION_FAILED"})


class CallGate:
    """A token bucket per (Region, operation): `rate` requests a second, at most `burst` at once (the
    bucket starts full), a count of every request, and the deadline guard."""

    def __init__(
        self,
        requests_per_second: float,
        burst: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.rate = requests_per_second
        self.burst = max(1.0, burst)
        self.clock = clock
        self.sleep = sleep
        self.lock = threading.Lock()
        # (Region, operation) -> (tokens, at): the bucket's level at a moment.
        self.buckets: dict[tuple[str, str], tuple[float, float]] = {}
        self.calls = 0
        self.seconds_left: Callable[[], float] = lambda: float("inf")

    def begin(self, seconds_left: Callable[[], float]) -> None:
        """A new run: its own deadline and call count."""
        self.seconds_left = seconds_left
        self.calls = 0

    def attach(self, client: Client, region: str) -> Client:
        """Every request of `client` (a client of one service, in `region`) passes the gate first."""
        service = client.meta.service_model.service_id.hyphenize()

        def before_send(event_name: str, **_: Any) -> None:
            self.wait(region, event_name.rsplit(".", 1)[-1])

        client.meta.events.register(f"before-send.{service}", before_send, unique_id=f"numberwatch-gate-{region}")
        return client

    def wait(self, region: str, operation: str) -> None:
        """Take a token for one request, sleeping until there is one; OutOfTime if that is too long."""
        with self.lock:
            now = self.clock()
            tokens, at = self.buckets.get((region, operation), (self.burst, now))
            tokens = min(self.burst, tokens + (now - at) * self.rate) - 1.0
            self.buckets[(region, operation)] = (tokens, now)
            self.calls += 1
        delay = -tokens / self.rate if tokens < 0 else 0.0
        if delay >= self.seconds_left():
            raise OutOfTime(f"no time left to wait {delay:.1f}s for the next Connect request")
        if delay > 0:
            self.sleep(delay)


def parse_listings_leanly(client: Client) -> Client:
    """`client` (a Connect client) parses ListPhoneNumbersV2's successful pages with `json` alone, keeping
    of each summary what botocore's model would: its string members, null ones left out (a field the model
    does not name, such as tags or a status, never reaches a number from a listing). An error answer is
    left to botocore; a successful answer that is not a listing is refused (`MalformedSummary`), never
    read as an empty last page, which would make every number after it look released."""
    service = client.meta.service_model.service_id.hyphenize()
    output: Any = client.meta.service_model.operation_model("ListPhoneNumbersV2").output_shape
    summary = output.members["ListPhoneNumbersSummaryList"].member
    fields = {
        shape.serialization.get("name", name): name
        for name, shape in summary.members.items()
        if shape.type_name == "string"
    }

    def lean_page(response_dict: dict[str, Any], customized_response_dict: dict[str, Any], **_: Any) -> None:
        if response_dict.get("status_code") != 200:
            return
        customized_response_dict.update(_listing_page(response_dict.get("body"), fields))
        response_dict["body"] = b"{}"  # what botocore still parses: only its ResponseMetadata is added

    client.meta.events.register(
        f"before-parse.{service}.ListPhoneNumbersV2", lean_page, unique_id="numberwatch-lean-listing"
    )
    return client


def _listing_page(body: Any, fields: dict[str, str]) -> dict[str, Any]:
    """A listing page's summaries (only `fields`: JSON name -> member name) and next token."""
    try:
        page = json.loads(body)
    except (TypeError, ValueError):
        raise MalformedSummary("a ListPhoneNumbersV2 page that is not JSON") from None
    if not isinstance(page, dict):
        raise MalformedSummary("a ListPhoneNumbersV2 page that is not a JSON object")
    summaries, token = page.get("ListPhoneNumbersSummaryList"), page.get("NextToken")
    if summaries is not None and (not isinstance(summaries, list) or not all(isinstance(s, dict) for s in summaries)):
        raise MalformedSummary("a ListPhoneNumbersV2 page whose summaries are not a list of objects")
    if token is not None and not isinstance(token, str):
        raise MalformedSummary("a ListPhoneNumbersV2 page whose NextToken is not text")
    listed: dict[str, Any] = {}
    if summaries is not None:
        listed["ListPhoneNumbersSummaryList"] = [
            {fields[k]: v for k, v in s.items() if k in fields and v is not None} for s in summaries
        ]
    if token is not None:
        listed["NextToken"] = token
    return listed


def _reason(operation: str, exc: Exception) -> str:
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        return f"{operation}: {error.get('Code', 'Error')}: {error.get('Message', '')}".strip()
    return f"{operation}: {type(exc).__name__}: {exc}"


def _code(exc: Exception) -> str:
    return str(exc.response.get("Error", {}).get("Code", "")) if isinstance(exc, ClientError) else ""


class ConnectInventory:
    def __init__(self, client_for: Callable[[str], ConnectClient], gate: CallGate) -> None:
        self.client_for = client_for
        self.gate = gate

    @property
    def api_calls(self) -> int:
        return self.gate.calls

    def discover(self, region: str) -> Discovery:
        client = self.client_for(region)
        discovery = Discovery(region)
        try:
            instances = [
                instance
                for page in client.get_paginator("list_instances").paginate(
                    PaginationConfig={"PageSize": CATALOGUE_PAGE_SIZE}
                )
                for instance in page["InstanceSummaryList"]
            ]
        except (ClientError, BotoCoreError) as exc:
            discovery.failures.append(_reason("ListInstances", exc))
            return discovery
        for instance in instances:
            if instance.get("InstanceStatus") != "ACTIVE":
                continue
            arn = instance["Arn"]
            discovery.targets.append(
                Target(arn, TargetKind.INSTANCE, instance.get("InstanceAlias", instance["Id"]), arn, (region,))
            )
            try:
                for page in client.get_paginator("list_traffic_distribution_groups").paginate(
                    InstanceId=arn, PaginationConfig={"PageSize": CATALOGUE_PAGE_SIZE}
                ):
                    discovery.targets.extend(
                        Target(
                            tdg["Arn"],
                            TargetKind.TRAFFIC_DISTRIBUTION_GROUP,
                            tdg.get("Name", tdg["Id"]),
                            tdg.get("InstanceArn", arn),
                            (region,),
                        )
                        for tdg in page["TrafficDistributionGroupSummaryList"]
                        if tdg.get("Status") in LISTABLE_TDG_STATUSES
                    )
            except (ClientError, BotoCoreError) as exc:
                discovery.failures.append(_reason(f"ListTrafficDistributionGroups({arn})", exc))
        return discovery

    def list_numbers(self, target: Target) -> list[PhoneNumber]:
        """A TDG is listed once: from its home Region, else from its other Region. A number that a
        listing shows twice (it can move while the pages are read) is kept once, as last shown."""
        numbers: dict[str, PhoneNumber] = {}
        region = None
        for page in self.number_pages(target):
            if page.region != region:
                numbers.clear()  # the listing starts over from another Region
                region = page.region
            numbers.update((n.arn, n) for n in page.numbers)
        return list(numbers.values())

    def number_pages(self, target: Target) -> Iterator[NumberPage]:
        regions = [target.home_region, *(r for r in target.regions if r != target.home_region)]
        if target.kind is TargetKind.INSTANCE:
            regions = regions[:1]
        reasons = []
        for region in regions:
            try:
                for numbers in self._pages(self.client_for(region), target.arn):
                    yield NumberPage(region, numbers)
                return
            except (ClientError, BotoCoreError) as exc:
                reasons.append(f"{region}: {_reason('ListPhoneNumbersV2', exc)}")
            except MalformedSummary as exc:
                reasons.append(f"{region}: ListPhoneNumbersV2 answered {exc}")
        raise TargetUnavailable("; ".join(reasons))

    def _pages(self, client: ConnectClient, target_arn: str) -> Iterator[list[PhoneNumber]]:
        token: str | None = None
        while True:
            arguments: dict[str, Any] = {"TargetArn": target_arn, "MaxResults": PAGE_SIZE}
            if token:
                arguments["NextToken"] = token
            page = client.list_phone_numbers_v2(**arguments)
            yield [
                PhoneNumber.from_summary(summary, listed_on=target_arn)
                for summary in page.get("ListPhoneNumbersSummaryList", [])
            ]
            token = page.get("NextToken")
            if not token:
                return

    def describe(self, number_arn: str) -> Described:
        """Asked in the number's own Region: only there is a number that left a TDG still found."""
        region = Arn.parse(number_arn).region
        try:
            answer = self.client_for(region).describe_phone_number(PhoneNumberId=number_arn)
        except (ClientError, BotoCoreError) as exc:
            if _code(exc) == "ResourceNotFoundException":
                return Described(Presence.GONE)
            return Described(Presence.UNKNOWN, reason=_reason("DescribePhoneNumber", exc))
        summary: dict[str, Any] = dict(answer.get("ClaimedPhoneNumberSummary", {}))
        claim = summary.get("PhoneNumberStatus", {})
        status = claim.get("Status", "CLAIMED")
        try:
            number = PhoneNumber.from_summary(summary)
        except MalformedSummary as exc:
            return Described(Presence.UNKNOWN, reason=f"DescribePhoneNumber answered {exc}")
        presence = {"CLAIMED": Presence.CLAIMED, "IN_PROGRESS": Presence.IN_PROGRESS, "FAILED": Presence.FAILED}
        message = claim.get("Message") or None
        return Described(presence.get(status, Presence.UNKNOWN), number, f"status {status}", message)

    def routing(self, instance_arn: str) -> Routing:
        instance = Arn.parse(instance_arn)
        client = self.client_for(instance.region)
        try:
            associations = self._all(
                client.list_flow_associations,
                "FlowAssociationSummaryList",
                InstanceId=instance.resource_id,
                ResourceType="VOICE_PHONE_NUMBER",
            )
            flows = self._all(client.list_contact_flows, "ContactFlowSummaryList", InstanceId=instance.resource_id)
        except (ClientError, BotoCoreError) as exc:
            raise RoutingUnavailable(_reason("ListFlowAssociations/ListContactFlows", exc)) from exc
        return Routing(
            flows={_identifier(a["ResourceId"]): _identifier(a["FlowId"]) for a in associations if a.get("FlowId")},
            names={_identifier(f["Id"]): f["Name"] for f in flows if f.get("Id") and f.get("Name")},
        )

    @staticmethod
    def _all(operation: Callable[..., Any], key: str, **arguments: Any) -> list[dict[str, Any]]:
        """Every item of a paged list operation, 1,000 a page."""
        items: list[dict[str, Any]] = []
        token: str | None = None
        while True:
            page = operation(**arguments, MaxResults=PAGE_SIZE, **({"NextToken": token} if token else {}))
            items += page.get(key, [])
            token = page.get("NextToken")
            if not token:
                return items


def _identifier(value: str) -> str:
    """An ID, whether given as an ID or as an ARN."""
    return value.rsplit("/", 1)[-1]


def seconds_left_from(remaining_ms: Callable[[], int], reserve_seconds: float) -> Callable[[], float]:
    return lambda: remaining_ms() / 1000 - reserve_seconds
