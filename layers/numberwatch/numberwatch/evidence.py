"""Reading the evidence archive back: the hash chain verified, and the inventory as of a date.

Both go through the `Archive` port and trust nothing they read: every object is checked against the
SHA-256 and size its manifest records, and every manifest against the SHA-256 the next manifest
records. Object Lock keeps the bytes; the chain shows whether what is there now is what was written.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from .archive_format import Manifest, manifest_prefix, manifest_started_at, partition_value, rows_of, sha256_of
from .ports import Archive, ArchiveMissing


class NoInventoryAsOf(LookupError):
    """The archive holds no full inventory at or before the date asked for."""


class EvidenceMismatch(Exception):
    """An archived object is not what its manifest records."""


@dataclass(frozen=True)
class Mismatch:
    key: str
    problem: str


@dataclass
class ChainReport:
    """What `verify_chain` checked, and the first object or manifest that does not match (None: all do)."""

    manifests: int = 0
    objects: int = 0
    mismatch: Mismatch | None = None

    @property
    def intact(self) -> bool:
        return self.mismatch is None


def verify_chain(archive: Archive, account: str, head_sha256: str | None = None) -> ChainReport:
    """Walk the account's chain from its newest manifest back to its first, checking each manifest's
    objects, then the manifest it names; stop at the first that does not match. `head_sha256` (for
    example from the newest run's log line) vouches for the newest manifest, which nothing else does.
    Manifests the walk never reached are named last: someone added them beside the chain."""
    report = ChainReport()
    keys = archive.keys(manifest_prefix(account))
    reached: set[str] = set()
    key: str | None = keys[-1] if keys else None
    expected = head_sha256
    while key is not None:
        try:
            body = archive.get(key)
        except ArchiveMissing:
            report.mismatch = Mismatch(key, "manifest missing")
            return report
        if expected is not None and sha256_of(body) != expected:
            report.mismatch = Mismatch(key, "manifest does not match the SHA-256 the next manifest records")
            return report
        try:
            manifest = Manifest.decode(body)
        except (ValueError, KeyError, TypeError):
            report.mismatch = Mismatch(key, "manifest unreadable")
            return report
        report.manifests += 1
        reached.add(key)
        for entry in manifest.objects:
            problem = _check(archive, entry.key, entry.sha256, entry.bytes)
            report.objects += 1
            if problem is not None:
                report.mismatch = Mismatch(entry.key, problem)
                return report
        if manifest.previous is None:
            break
        key, expected = manifest.previous.key, manifest.previous.sha256
    stray = [k for k in keys if k not in reached]
    if stray:
        report.mismatch = Mismatch(stray[0], "manifest outside the chain")
    return report


def _check(archive: Archive, key: str, sha256: str, size: int) -> str | None:
    try:
        body = archive.get(key)
    except ArchiveMissing:
        return "object missing"
    if len(body) != size:
        return f"object is {len(body)} bytes, its manifest records {size}"
    if sha256_of(body) != sha256:
        return "object does not match the SHA-256 its manifest records"
    return None


@dataclass
class InventoryAsOf:
    """The nearest full inventory at or before a date, and the run it came from."""

    run_id: str
    started_at: str
    manifest_key: str
    numbers: list[dict[str, Any]] = field(default_factory=list)  # rows, with their `region`


def inventory_as_of(archive: Archive, account: str, day: date) -> InventoryAsOf:
    """The numbers the account held on `day`: the newest full inventory of a run that started on or
    before that (UTC) date, each object checked against its manifest."""
    keys = archive.keys(manifest_prefix(account))
    for key in reversed([k for k in keys if manifest_started_at(k).date() <= day]):
        manifest = read_manifest(archive, key)
        if not manifest.full_inventory:
            continue
        found = InventoryAsOf(manifest.run_id, manifest.started_at, key)
        for entry in manifest.objects:
            if entry.key not in manifest.inventory_keys:
                continue
            body = archive.get(entry.key)
            if sha256_of(body) != entry.sha256:
                raise EvidenceMismatch(f"{entry.key} does not match the SHA-256 its manifest {key} records")
            region = partition_value(entry.key, "region")
            rows = rows_of(body)
            for row in rows:
                row["region"] = region  # freshly parsed: no copy of 100,000 rows
            found.numbers += rows
        return found
    raise NoInventoryAsOf(_before_the_archive(archive, keys, day))


def _before_the_archive(archive: Archive, keys: list[str], day: date) -> str:
    for key in keys:
        manifest = read_manifest(archive, key)
        if manifest.full_inventory:
            first = datetime.fromisoformat(manifest.started_at.replace("Z", "+00:00")).date()
            return (
                f"no archived inventory on or before {day.isoformat()}: the archive's first inventory is of "
                f"{first.isoformat()} (run {manifest.run_id}); what was held before it was never archived"
            )
    return f"no archived inventory on or before {day.isoformat()}: the archive holds no full inventory yet"


def read_manifest(archive: Archive, key: str) -> Manifest:
    """A manifest, or EvidenceMismatch when it cannot be decoded."""
    try:
        return Manifest.decode(archive.get(key))
    except (ValueError, KeyError, TypeError) as exc:
        raise EvidenceMismatch(f"manifest {key} is unreadable: {exc}") from exc
