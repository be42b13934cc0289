"""Nights of archived evidence written straight into an archive, without running a scan: the monthly
report's tests and benchmark need a month of 100,000 numbers, which thirty scans would take an hour to
make.

The one decision: nothing here encodes a row or a key. Inventories stream through the archive phase's
own session (`ArchiveSession.on_listed`: its per-Region buffers), the numbers described that night
go through its `on_described` (the details objects), changes are the events
`events.number_event` builds, and each night goes through the phase's own `EvidenceWriter` (objects,
a manifest chained to the previous one, the runs row last). So what the report reads is byte for byte
what a run would have archived.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from numberwatch.archive_format import Link, RunRow
from numberwatch.events import number_event
from numberwatch.models import Change, PhoneNumber, Target
from numberwatch.phases.archive import ArchiveSession, EvidenceWriter
from numberwatch.ports import Archive, Described, Presence
from numberwatch.run import iso, no_checkpoint


@dataclass
class ArchivedNights:
    """An account's archive, one night at a time, each chained to the one before."""

    archive: Archive
    account: str
    head: Link | None = None

    def night(
        self,
        started_at: datetime,
        held: Mapping[Target, Sequence[PhoneNumber]],
        changes: Sequence[Change] = (),
        full_inventory: bool = True,
        attribution: str | None = None,
        described: Sequence[PhoneNumber] = (),
    ) -> str:
        """Archive one run that started at `started_at`, held `held` (its inventory, when full), described
        `described` (each with its tags and status, CLAIMED when it has none) and reported `changes`;
        returns its run id (a function of the time: the same night, the same bytes)."""
        run_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{self.account}/{iso(started_at)}"))
        session = ArchiveSession(self.archive, self.account, run_id, started_at, collect_inventory=full_inventory)
        for target, numbers in held.items():
            session.on_listed(target, numbers)
        session.on_described([Described(Presence(number.status or "CLAIMED"), number) for number in described])
        inventory = [buffer.close() for _, buffer in sorted(session.buffers.items())] if full_inventory else []
        names = {target.arn: target.name for target in held}
        bodies: list[dict[str, Any]] = [
            number_event(change, self.account, run_id, iso(started_at), names, attribution).body for change in changes
        ]
        row = RunRow(
            run_id=run_id,
            started_at=iso(started_at),
            status="COMPLETED" if full_inventory else "PARTIAL",
            full_inventory=full_inventory,
            note=None if full_inventory else "a partial run (a target unobserved, or out of time): no inventory",
            targets_scanned=len(held),
            targets_unobserved=0,
            numbers_observed=sum(len(numbers) for numbers in held.values()),
            changes={},
        )
        writer = EvidenceWriter(self.archive, self.account, no_checkpoint, self.head)
        observations = [*inventory, *session.details()]
        writer.write(run_id, started_at, observations, sorted(bodies, key=lambda body: str(body["event_id"])), row)
        self.head = writer.head
        return run_id
