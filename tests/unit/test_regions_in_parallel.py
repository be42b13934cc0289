"""Within one run the Regions are discovered and listed at the same time (each Region has its own
Connect quota), and a listing's order is the order in which listings complete."""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Sequence

from numberwatch.fingerprint import BucketEntries
from numberwatch.models import PhoneNumber, Target
from numberwatch.ports import Described, Discovery, Mutation
from tests.unit.factories import instance, number, numbers, tdg
from tests.unit.fakes import FakeConnect, FakeStore
from tests.unit.test_scan_service import Estate, baseline

WEST = "us-west-2"
# Long enough for a loaded machine; a run that lists the Regions one after the other waits this long
# at the barrier for a partner that never comes, and fails.
BARRIER_SECONDS = 10


class RegionsMeet(FakeConnect):
    """Each Region's first discovery and first listing wait until the other Region's has begun."""

    def __init__(self) -> None:
        super().__init__()
        self.discovering = threading.Barrier(2, timeout=BARRIER_SECONDS)
        self.listing = threading.Barrier(2, timeout=BARRIER_SECONDS)
        self.met: set[str] = set()

    def discover(self, region: str) -> Discovery:
        if f"discover {region}" not in self.met:
            self.met.add(f"discover {region}")
            self.discovering.wait()
        return super().discover(region)

    def list_numbers(self, target: Target) -> list[PhoneNumber]:
        if f"list {target.home_region}" not in self.met:
            self.met.add(f"list {target.home_region}")
            self.listing.wait()
        return super().list_numbers(target)


def test_the_regions_of_a_run_are_discovered_and_listed_at_the_same_time() -> None:
    # Given an estate in two Regions whose Connect answers a Region only while the other is being read
    estate = Estate()
    east, west = instance("east"), instance("west", region=WEST)
    baseline(estate, (east, numbers(3, east)), (west, [number(10 + i, west, region=WEST) for i in range(2)]))
    estate.connect = connect = RegionsMeet()
    connect.add(east, *numbers(4, east))
    connect.add(west, *[number(10 + i, west, region=WEST) for i in range(2)])
    # When the next night runs (one after the other, the first Region would wait at the barrier alone)
    summary = estate.night()
    # Then both Regions were read, and the claim in the first is reported
    assert not connect.discovering.broken and not connect.listing.broken
    assert summary["changes"] == {"CLAIMED": 1, "RELEASED": 0, "MOVED": 0, "UPDATED": 0}
    assert summary["targets_scanned"] == 2


class DescriptionsMeet(FakeConnect):
    """Each Region's first DescribePhoneNumber waits until the other Region's has begun."""

    def __init__(self) -> None:
        super().__init__()
        self.describing = threading.Barrier(2, timeout=BARRIER_SECONDS)
        self.met: set[str] = set()

    def describe(self, number_arn: str) -> Described:
        region = number_arn.split(":")[3]
        if region not in self.met:
            self.met.add(region)
            self.describing.wait()
        return super().describe(number_arn)


def test_the_regions_tags_and_status_are_described_at_the_same_time() -> None:
    # Given a baseline of two Regions, and Connect answering a Region's descriptions only while the
    # other Region's are being asked for
    estate = Estate(DETAIL_CALLS_PER_RUN="300")
    east, west = instance("east"), instance("west", region=WEST)
    east_numbers, west_numbers = numbers(3, east), [number(10 + i, west, region=WEST) for i in range(2)]
    baseline(estate, (east, east_numbers), (west, west_numbers))
    estate.connect = connect = DescriptionsMeet()
    connect.add(east, *east_numbers)
    connect.add(west, *west_numbers)
    # When the next, quiet night describes its rotation (one Region after the other, the first would
    # wait at the barrier alone)
    summary = estate.night()
    # Then both Regions' numbers were described
    assert not connect.describing.broken
    assert {arn.split(":")[3] for arn in connect.described} == {"us-east-1", WEST}
    assert summary["changes"] == {"CLAIMED": 0, "RELEASED": 0, "MOVED": 0, "UPDATED": 0}


class EastFinishesLast(FakeConnect):
    """us-east-1's listing returns what it saw when it started, but only once us-west-2's listing has
    completed (`west_done` is set when the scan reads the snapshot for what that listing showed)."""

    def __init__(self) -> None:
        super().__init__()
        self.west_done = threading.Event()

    def list_numbers(self, target: Target) -> list[PhoneNumber]:
        listed = super().list_numbers(target)
        if target.home_region != WEST:
            assert self.west_done.wait(BARRIER_SECONDS)
        return listed


def test_of_two_listings_showing_one_number_the_one_that_completed_last_is_the_newer_truth() -> None:
    # Given a TDG homed in us-west-2 and an instance in us-east-1, and a number claimed from us-east-1
    estate = Estate()
    east = instance("east")
    group = tdg("group", home=WEST, other="us-east-1")
    mover = number(1, east)
    baseline(estate, (east, [mover, *numbers(2, east, start=10)]), (group, numbers(2, group, start=20)))
    # When, tonight, the TDG's listing (which completes first) shows the number moved to it, while the
    # instance's listing (which completes last) shows it still on the instance, with a new description
    estate.connect = connect = EastFinishesLast()
    connect.add(east, dataclasses.replace(mover, description="Sales"), *numbers(2, east, start=10))
    connect.add(group, *numbers(2, group, start=20))
    connect.numbers[group.arn][mover.arn] = dataclasses.replace(mover, target_arn=group.arn)
    read_buckets = estate.store.buckets

    def buckets(target_arn: str, wanted: Sequence[str]) -> dict[str, BucketEntries]:
        if target_arn == group.arn:
            connect.west_done.set()
        return read_buckets(target_arn, wanted)

    estate.store.buckets = buckets  # type: ignore[method-assign]
    summary = estate.night()
    # Then the listing that completed last wins: the number is still on the instance, only described
    assert summary["changes"] == {"CLAIMED": 0, "RELEASED": 0, "MOVED": 0, "UPDATED": 1}


class CountsTransactionsInFlight(FakeStore):
    """A store whose transactions take a round trip, counting how many are in flight at once. DynamoDB
    cancels one that touches an item another in flight holds (every one of ours checks the lease)."""

    def __init__(self) -> None:
        super().__init__()
        self.in_flight = 0
        self.most_in_flight = 0
        self.guard = threading.Lock()

    def write(self, account: str, owner: str, mutations: Sequence[Mutation]) -> None:
        with self.guard:
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
        time.sleep(0.02)
        try:
            super().write(account, owner, mutations)
        finally:
            with self.guard:
                self.in_flight -= 1


def test_the_regions_baseline_pages_are_written_one_transaction_at_a_time() -> None:
    # Given two Regions never scanned, each listing its numbers in its own thread and writing them as listed
    estate = Estate()
    estate.store = store = CountsTransactionsInFlight()
    east, west = instance("east"), instance("west", region=WEST)
    estate.connect.add(east, *numbers(300, east))
    estate.connect.add(west, *[number(1000 + i, west, region=WEST) for i in range(300)])
    # When the baseline runs
    summary = estate.night()
    # Then it is recorded whole, and no two of its transactions were ever in flight at once
    assert (summary["mode"], summary["status"], summary["numbers_observed"]) == ("BASELINE", "COMPLETED", 600)
    assert store.most_in_flight == 1
