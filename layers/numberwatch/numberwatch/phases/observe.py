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
from ..fingerprint import BucketEntries, bucket_of, changed_buckets, entries_by_bucket, fingerprints, number_digest
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
    rotation_windows: dict[str, list[str]] = field(default_factory=dict)  # Region -> the buckets they are from
    held: Counter[tuple[str, str]] = field(default_factory=Counter)  # (country, type) -> numbers listed
    unrouted: Counter[tuple[str, str]] = field(default_factory=Counter)  # ... of them associated with no flow
    not_reached: int = 0
    stopped: bool = False


class Observer:
    def __init__(
        self,
        inventory: Inventory,
        snapshot: Snapshot,
        deadline: Deadline,
        sleep: Callable[[float], None] = time.sleep,
        on_listed: Callable[[Target, list[PhoneNumber]], None] | None = None,
    ) -> None:
        self.inventory = inventory
        self.snapshot = snapshot
        self.deadline = deadline
        self.sleep = sleep
        self.routings: dict[str, Routing | RoutingUnavailable] = {}
        self.on_listed = on_listed  # sees each target's whole listing, while it is held (the archive)

    def observe(
        self,
        targets: Iterable[Target],
        known: Mapping[str, TargetRecord],
        baseline_regions: set[str],
        verified: Mapping[str, frozenset[str]],
        rotation: Mapping[str, list[str]],
    ) -> Observed:
        """List every target, the Regions in parallel. Per home Region, `verified` names the buckets re-read
        this run and `rotation` the window of buckets whose numbers are described in rotation (in that order)."""
        observed = Observed()
        lock = threading.Lock()
        by_region: dict[str, list[Target]] = {}
        for target in targets:
            by_region.setdefault(target.home_region, []).append(target)
            observed.rotation.setdefault(target.home_region, [])

        def observe_region(region_targets: Sequence[Target]) -> None:
            for target in region_targets:
                if observed.stopped or self.deadline.passed():
                    with lock:
                        observed.stopped = True
                        observed.not_reached += 1
                    continue
                try:
                    numbers = self.inventory.list_numbers(target)
                    routing = self._routing(target)
                except TargetUnavailable as exc:
                    logger.warning("Target not observed", extra={"target": target.arn, "reason": exc.reason})
                    with lock:
                        observed.unobserved.append(Unobserved(target.arn, exc.reason))
                    continue
                except OutOfTime:
                    with lock:
                        observed.stopped = True
                        observed.not_reached += 1
                    continue
                with lock:
                    order = len(observed.numbers_by_target)
                    observed.numbers_by_target[target.arn] = len(numbers)
                    if isinstance(routing, RoutingUnavailable):
                        observed.partly_observed.append(Unobserved(target.arn, f"routing unknown: {routing.reason}"))
                if isinstance(routing, RoutingUnavailable):
                    numbers = [n.routed(UNKNOWN_FLOW, None) for n in numbers]
                else:
                    numbers = [n.routed(*routing.of(n)) for n in numbers]
                window = set(rotation.get(target.home_region, ()))
                baseline = target.home_region in baseline_regions
                held: Counter[tuple[str, str]] = Counter()
                unrouted: Counter[tuple[str, str]] = Counter()
                for number in numbers:
                    held[(number.country, number.type)] += 1
                    if number.flow_id is None:
                        unrouted[(number.country, number.type)] += 1
                    if not baseline and bucket_of(number.arn) in window:
                        observed.rotation[target.home_region].append(number)  # this Region's thread only
                if self.on_listed is not None:
                    self.on_listed(target, numbers)  # from this Region's thread: the hook is thread-safe
                listing = self._listing(
                    target,
                    known.get(target.arn),
                    order,
                    numbers,
                    baseline=baseline,
                    verified=verified.get(target.home_region, frozenset()),
                )
                with lock:
                    observed.held += held
                    observed.unrouted += unrouted
                    observed.listings.append(listing)

        with ThreadPoolExecutor(max_workers=max(1, len(by_region)), thread_name_prefix="observe") as pool:
            for future in [pool.submit(observe_region, group) for group in by_region.values()]:
                future.result()
        observed.listings.sort(key=lambda listing: listing.order)
        observed.rotation_windows = {region: list(window) for region, window in rotation.items()}
        for region, numbers in observed.rotation.items():
            order = {bucket: index for index, bucket in enumerate(rotation.get(region, ()))}
            numbers.sort(key=lambda n: (order[bucket_of(n.arn)], n.arn))
        return observed

    def _listing(
        self,
        target: Target,
        record: TargetRecord | None,
        order: int,
        numbers: list[PhoneNumber],
        baseline: bool,
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
        stored = {} if baseline else self._stored(target, record, sorted(examined))
        examined |= stored.keys()
        return Listing(
            target=target,
            record=record,
            order=order,
            fingerprints=current,
            listed={b: by_bucket[b] for b in examined if b in by_bucket},
            stored=stored,
            verified=verified if record is not None and not record.legacy else frozenset(),
            baseline=baseline,
            digests={b: digests[b] for b in examined if b in digests},
        )

    def _routing(self, target: Target) -> Routing | RoutingUnavailable:
        """The associations of the instance the target's numbers are routed in, read once per run."""
        instance = target.arn if target.kind is TargetKind.INSTANCE else target.instance_arn
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
