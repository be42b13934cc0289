"""Discover: every instance and TDG of the configured Regions, each once (a TDG is seen from both of
its Regions), limited to the targets a manual run names. Regions are discovered in parallel (each has
its own Connect quota); their results are merged in the configured order."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from ..models import Arn, Target, Unobserved
from ..observability import logger
from ..ports import Discovery, Inventory, OutOfTime


@dataclass
class Discovered:
    targets: list[Target] = field(default_factory=list)
    unobserved: list[Unobserved] = field(default_factory=list)  # references a limited run could not find
    failed_regions: dict[str, list[str]] = field(default_factory=dict)  # Region -> what failed there
    stopped: bool = False  # out of time before every Region was discovered


def discover(inventory: Inventory, regions: Sequence[str], wanted: Sequence[str] | None) -> Discovered:
    found = Discovered()

    def discover_region(region: str) -> Discovery | None:
        try:
            return inventory.discover(region)
        except OutOfTime:
            return None

    with ThreadPoolExecutor(max_workers=max(1, len(regions)), thread_name_prefix="discover") as pool:
        results = list(pool.map(discover_region, regions))
    discoveries = [d for d in results if d is not None]
    found.stopped = len(discoveries) < len(results)
    merged: dict[str, Target] = {}
    for discovery in discoveries:
        if discovery.failures:
            logger.warning("Discovery incomplete", extra={"region": discovery.region, "reasons": discovery.failures})
            found.failed_regions[discovery.region] = discovery.failures
        for target in discovery.targets:
            seen = merged.get(target.arn)
            if seen is not None:
                regions_seen = tuple(dict.fromkeys((*seen.regions, *target.regions)))
                target = Target(seen.arn, seen.kind, seen.name, seen.instance_arn, regions_seen)
            merged[target.arn] = target
    targets = sorted(merged.values(), key=lambda t: t.arn)
    if not wanted:
        found.targets = targets
        return found
    found.targets = [t for t in targets if t.arn in wanted or Arn.parse(t.arn).resource_id in wanted]
    named = {t.arn for t in found.targets} | {Arn.parse(t.arn).resource_id for t in found.targets}
    found.unobserved = [
        Unobserved(reference, "not found by discovery in the configured Regions")
        for reference in wanted
        if reference not in named
    ]
    return found
