"""Inventory adapter: Amazon Connect's ListInstances, ListTrafficDistributionGroups and
ListPhoneNumbersV2, all pages, through boto3 clients it is given.

Every request (retries included) passes a `CallGate` first: it paces our own calls to a share
of the account's quota (shared with the customer's automation), counts them, and stops the run
before the Lambda's deadline rather than sleeping through it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from ..models import PhoneNumber, Target, TargetKind
from ..ports import Discovery, OutOfTime, TargetUnavailable

if TYPE_CHECKING:
    from mypy_boto3_connect import ConnectClient

PAGE_SIZE = 1000
CATALOGUE_PAGE_SIZE = 10


class CallGate:
    """Paces Connect requests per Region and operation, counts them, and guards the deadline."""

    def __init__(
        self,
        requests_per_second: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.interval = 1.0 / requests_per_second
        self.clock = clock
        self.sleep = sleep
        self.lock = threading.Lock()
        self.next_slot: dict[str, float] = {}
        self.calls = 0
        self.seconds_left: Callable[[], float] = lambda: float("inf")

    def begin(self, seconds_left: Callable[[], float]) -> None:
        """A new run: its own deadline and call count."""
        self.seconds_left = seconds_left
        self.calls = 0

    def attach(self, client: ConnectClient) -> ConnectClient:
        client.meta.events.register("before-send.connect", self._before_send, unique_id="numberwatch-call-gate")
        return client

    def _before_send(self, event_name: str, **_: Any) -> None:
        region_operation = event_name.rsplit(".", 1)[-1]
        with self.lock:
            now = self.clock()
            slot = max(now, self.next_slot.get(region_operation, now))
            self.next_slot[region_operation] = slot + self.interval
            self.calls += 1
        delay = slot - now
        if delay >= self.seconds_left():
            raise OutOfTime(f"no time left to wait {delay:.1f}s for the next Connect request")
        if delay > 0:
            self.sleep(delay)


def _reason(operation: str, exc: Exception) -> str:
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        return f"{operation}: {error.get('Code', 'Error')}: {error.get('Message', '')}".strip()
    return f"{operation}: {type(exc).__name__}: {exc}"


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
                    for tdg in page["TrafficDistributionGroupSummaryList"]:
                        discovery.targets.append(
                            Target(
                                tdg["Arn"],
                                TargetKind.TRAFFIC_DISTRIBUTION_GROUP,
                                tdg.get("Name", tdg["Id"]),
                                tdg.get("InstanceArn", arn),
                                (region,),
                            )
                        )
            except (ClientError, BotoCoreError) as exc:
                discovery.failures.append(_reason(f"ListTrafficDistributionGroups({arn})", exc))
        return discovery

    def list_numbers(self, target: Target) -> list[PhoneNumber]:
        """A TDG is listed once: from its home Region, else from its other Region."""
        regions = [target.home_region, *(r for r in target.regions if r != target.home_region)]
        if target.kind is TargetKind.INSTANCE:
            regions = regions[:1]
        reasons = []
        for region in regions:
            try:
                return list(self._pages(self.client_for(region), target.arn))
            except (ClientError, BotoCoreError) as exc:
                reasons.append(f"{region}: {_reason('ListPhoneNumbersV2', exc)}")
        raise TargetUnavailable("; ".join(reasons))

    def _pages(self, client: ConnectClient, target_arn: str) -> Iterator[PhoneNumber]:
        token: str | None = None
        while True:
            arguments: dict[str, Any] = {"TargetArn": target_arn, "MaxResults": PAGE_SIZE}
            if token:
                arguments["NextToken"] = token
            page = client.list_phone_numbers_v2(**arguments)
            for summary in page.get("ListPhoneNumbersSummaryList", []):
                yield PhoneNumber.from_summary(summary)
            token = page.get("NextToken")
            if not token:
                return


def seconds_left_from(remaining_ms: Callable[[], int], reserve_seconds: float) -> Callable[[], float]:
    return lambda: remaining_ms() / 1000 - reserve_seconds
