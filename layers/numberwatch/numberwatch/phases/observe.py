"""Observe: list each target's numbers, fingerprint them, and read back only what may have changed.

For each target, tonight's level-1 fingerprints are compared with its record; the buckets that differ
(and the slice of buckets verified this run whatever they say) are re-examined: their bucket items are
read, so that `Listing.suspects` can name exactly the numbers that changed. A target's numbers are
held only while it is listed; what is kept afterwards is proportional to its re-examined buckets.

Each number gets its contact flow from its instance's associations (a TDG's, from the instance that owns
it), read once per instance. When they cannot be read, its numbers keep their last known flow (the
flow is `UNKNOWN_FLOW` tonight, which is never a change) and the target is named as partly observed.

Regions are listed in parallel, one thread per Region (each Region has its own Connect quota, and
the call gate paces each Region and API on its own), so a run takes as long as its slowest Region.
A listing's `order` is assigned when it completes, so that of two listings showing the same number
the one that finished later is still the newer truth.

A record written by release 0.1 has no bucket items: its numbers are read once through the old index,
checked against its old fingerprints (the index is eventually consistent), and compared number by
number, so that an upgrade reports nothing that did not change.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from ..diff import Listing
from ..fingerprint import (
    BucketEntries,
    bucket_of,
    changed_buckets,
    entries_by_bucket,
    fingerprints,
    number_digest,
    slot_of,
)
from ..legacy import legacy_fingerprints
from ..models import UNKNOWN_FLOW, PhoneNumber, Target, TargetKind, TargetRecord, Unobserved
from ..observability import logger
from ..ports import Inventory, OutOfTime, Routing, RoutingUnavailable, Snapshot, TargetUnavailable
from ..run import Deadline

LEGACY_READ_ATTEMPTS = 3


@dataclass
class Observed:
    listings: list[Listing] = field(default_factory=list)
    unobserved: list[Unobserved] = field(default_factory=list)
    partly_observed: list[Unobserved] = field(default_factory=list)  # listed, but their routing unknown
    numbers_by_target: dict[str, int] = field(default_factory=dict)
    rotation: dict[str, list[PhoneNumber]] = field(default_factory=dict)  # Region -> numbers to describe
    rotation_windows: dict[str, list[str]] = field(default_factory=dict)  # Region -> the slots they are from
    held: Counter[tuple[str, str]] = field(default_factory=Counter)  # (country, type) -> numbers listed
    unrouted: Counter[tuple[str, str]] = field(default_factory=Counter)  # ... of them associated with no flow
    not_reached: list[str] = field(default_factory=list)  # targets not listed for want of time
    stopped: bool = False


def _routed(number: PhoneNumber, routing: Routing | RoutingUnavailable) -> PhoneNumber:
    if isinstance(routing, RoutingUnavailable):
        return number.routed(UNKNOWN_FLOW, None)
    return number.routed(*routing.of(number))


@dataclass
class _Holdings:
    """What one target holds, for the estate's count and cost: numbers by (country, type), and unrouted."""

    held: Counter[tuple[str, str]] = field(default_factory=Counter)
    unrouted: Counter[tuple[str, str]] = field(default_factory=Counter)
    count: int = 0

    def add(self, number: PhoneNumber) -> None:
        self.count += 1
        self.held[(number.country, number.type)] += 1
        if number.flow_id is None:
            self.unrouted[(number.country, number.type)] += 1


class Observer:
    def __init__(
        self,
        inventory: Inventory,
        snapshot: Snapshot,
        deadline: Deadline,
        sleep: Callable[[float], None] = time.sleep,
        write_baseline: Callable[[Sequence[PhoneNumber]], None] | None = None,
        on_listed: Callable[[Target, list[PhoneNumber]], None] | None = None,
    ) -> None:
        self.inventory = inventory
        self.snapshot = snapshot
        self.deadline = deadline
        self.sleep = sleep
        self.write_baseline = write_baseline  # None: a dry run, which writes nothing
        self.routings: dict[str, Routing | RoutingUnavailable] = {}
        # A TDG's numbers are routed through its instance, which another Region's thread may read too.
        self._routing_locks: dict[str, threading.Lock] = {}
        self._routing_locks_lock = threading.Lock()
        self.on_listed = on_listed  # sees each target's whole listing, while it is held (the archive)

    def observe(
        self,
        targets: Iterable[Target],
        known: Mapping[str, TargetRecord],
        baseline_regions: set[str],
        verified: Mapping[str, frozenset[str]],
        rotation: Mapping[str, list[str]],
    ) -> Observed:
        """List every target, the Regions in parallel (each Region's targets in the order given). Per home
        Region, `verified` names the buckets re-read this run and `rotation` the window of slots whose
        numbers are described in rotation (in that order)."""
        observed = Observed()
        lock = threading.Lock()
        by_region: dict[str, list[Target]] = {}
        for target in targets:
            by_region.setdefault(target.home_region, []).append(target)
            observed.rotation.setdefault(target.home_region, [])

        def not_reached(target: Target) -> None:
            with lock:
                observed.stopped = True
                observed.not_reached.append(target.arn)

        def observe_region(region_targets: Sequence[Target]) -> None:
            for target in region_targets:
                if observed.stopped or self.deadline.passed():
                    not_reached(target)
                    continue
                baseline = target.home_region in baseline_regions
                numbers: list[PhoneNumber] = []
                digests: dict[str, BucketEntries] = {}
                try:
                    routing = self._routing(target)
                    if baseline:
                        holdings, digests = self._baseline(target, routing)
                    else:
                        numbers = [_routed(number, routing) for number in self.inventory.list_numbers(target)]
                        holdings = _Holdings()
                        for number in numbers:
                            holdings.add(number)
                        if self.on_listed is not None:
                            self.on_listed(target, numbers)  # from this Region's thread: the hook is thread-safe
                except TargetUnavailable as exc:
                    logger.warning("Target not observed", extra={"target": target.arn, "reason": exc.reason})
                    with lock:
                        observed.unobserved.append(Unobserved(target.arn, exc.reason))
                    continue
                except OutOfTime:
                    not_reached(target)
                    continue
                window = set(rotation.get(target.home_region, ()))
                # Only this Region's thread appends to its rotation list.
                observed.rotation[target.home_region] += [n for n in numbers if slot_of(n.arn) in window]
                record = known.get(target.arn)
                slice_verified = verified.get(target.home_region, frozenset())
                with lock:
                    order = len(observed.numbers_by_target)
                    observed.numbers_by_target[target.arn] = holdings.count
                    if isinstance(routing, RoutingUnavailable):
                        observed.partly_observed.append(Unobserved(target.arn, f"routing unknown: {routing.reason}"))
                if baseline:
                    listing = Listing(
                        target, record, order, fingerprints(digests), listed={}, stored={}, baseline=True,
                        verified=slice_verified if record is not None and not record.legacy else frozenset(),
                        digests=digests, written=holdings.count,
                    )  # fmt: skip
                else:
                    listing = self._listing(target, record, order, numbers, slice_verified)
                with lock:
                    observed.held += holdings.held
                    observed.unrouted += holdings.unrouted
                    observed.listings.append(listing)

        def observe_region_or_stop_the_others(region_targets: Sequence[Target]) -> None:
            try:
                observe_region(region_targets)
            except BaseException:
                with lock:
                    observed.stopped = True  # the other Regions stop at their next target; the run fails
                raise

        with ThreadPoolExecutor(max_workers=max(1, len(by_region)), thread_name_prefix="observe") as pool:
            for future in [pool.submit(observe_region_or_stop_the_others, group) for group in by_region.values()]:
                future.result()
        observed.listings.sort(key=lambda listing: listing.order)
        observed.rotation_windows = {region: list(window) for region, window in rotation.items()}
        for region, numbers in observed.rotation.items():
            order = {slot: index for index, slot in enumerate(rotation.get(region, ()))}
            numbers.sort(key=lambda n: (order[slot_of(n.arn)], n.arn))
        return observed

    def _baseline(
        self, target: Target, routing: Routing | RoutingUnavailable
    ) -> tuple[_Holdings, dict[str, BucketEntries]]:
        """A target of a Region still recording its baseline, written page by page as it is listed (nothing
        is reported, so nothing waits for the diff): only its numbers' digests are kept (and, for the
        archive, the target's own numbers until it is listed). A number is counted the first time it
        shows (its country, type and flow are the same on every page); its digest is the last page's."""
        holdings, digests = _Holdings(), dict[str, BucketEntries]()
        archived: dict[str, PhoneNumber] = {}
        region = None
        for page in self.inventory.number_pages(target):
            if page.region != region:
                holdings, digests, archived = _Holdings(), {}, {}  # the listing starts over from another Region
                region = page.region
            numbers = [_routed(number, routing) for number in page.numbers]
            for number in numbers:
                entries = digests.setdefault(bucket_of(number.arn), {})
                if number.arn not in entries:
                    holdings.add(number)
                entries[number.arn] = number_digest(number)
            if self.on_listed is not None:
                archived.update((number.arn, number) for number in numbers)
            if self.write_baseline is not None:
                self.write_baseline(numbers)
        if self.on_listed is not None:
            self.on_listed(target, list(archived.values()))
        return holdings, digests

    def _listing(
        self,
        target: Target,
        record: TargetRecord | None,
        order: int,
        numbers: list[PhoneNumber],
        verified: frozenset[str],
    ) -> Listing:
        by_bucket: dict[str, dict[str, PhoneNumber]] = {}
        for number in numbers:
            by_bucket.setdefault(bucket_of(number.arn), {})[number.arn] = number
        digests = {b: {arn: number_digest(n) for arn, n in found.items()} for b, found in by_bucket.items()}
        current = fingerprints(digests)
        if record is None or record.legacy:
            examined = set(current)
        else:
            known_buckets = set(current) | set(record.buckets)
            examined = set(changed_buckets(current, record.buckets)) | (verified & known_buckets)
        stored = self._stored(target, record, sorted(examined))
        examined |= stored.keys()
        return Listing(
            target=target,
            record=record,
            order=order,
            fingerprints=current,
            listed={b: by_bucket[b] for b in examined if b in by_bucket},
            stored=stored,
            verified=verified if record is not None and not record.legacy else frozenset(),
            digests={b: digests[b] for b in examined if b in digests},
        )

    def _routing(self, target: Target) -> Routing | RoutingUnavailable:
        """The associations of the instance the target's numbers are routed in, read once per run."""
        instance = target.arn if target.kind is TargetKind.INSTANCE else target.instance_arn
        with self._routing_locks_lock:
            instance_lock = self._routing_locks.setdefault(instance, threading.Lock())
        with instance_lock:
            if instance not in self.routings:
                try:
                    self.routings[instance] = self.inventory.routing(instance)
                except RoutingUnavailable as exc:
                    logger.warning("Routing not read", extra={"instance": instance, "reason": exc.reason})
                    self.routings[instance] = exc
            return self.routings[instance]

    def departed(self, records: Iterable[TargetRecord], first_order: int) -> list[Listing]:
        """Targets discovery no longer lists: every number they held departs."""
        listings = []
        for order, record in enumerate(records, start=first_order):
            logger.info("Target no longer listed: its numbers depart", extra={"target": record.target.arn})
            stored = self._stored(record.target, record, sorted(record.buckets))
            listings.append(Listing(record.target, record, order, {}, {}, stored, vanished=True))
        return listings

    def _stored(self, target: Target, record: TargetRecord | None, buckets: list[str]) -> dict[str, BucketEntries]:
        if record is not None and record.legacy:
            return self._legacy_stored(record)
        return self.snapshot.buckets(target.arn, buckets)

    def _legacy_stored(self, record: TargetRecord) -> dict[str, BucketEntries]:
        """Release 0.1's numbers of the target, through its index, once they match its fingerprints."""
        for attempt in range(LEGACY_READ_ATTEMPTS):
            numbers = [s.number for s in self.snapshot.legacy_numbers(record.target.arn)]
            if legacy_fingerprints(numbers) == record.buckets:
                break
            if attempt < LEGACY_READ_ATTEMPTS - 1:
                self.sleep(2.0**attempt)
        else:
            # The record predates the numbers (release 0.1 died between its writes): the index is newer.
            logger.warning("Upgrade: the old index disagrees with the old record", extra={"target": record.target.arn})
        return entries_by_bucket(numbers)
