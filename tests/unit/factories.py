"""Small builders of domain objects for the unit tests."""

from __future__ import annotations

from numberwatch.fingerprint import bucket_of, entries_by_bucket, fingerprints, total_count
from numberwatch.models import PhoneNumber, Target, TargetKind, TargetRecord

ACCOUNT = "123456789012"


def instance(name: str = "a", region: str = "us-east-1") -> Target:
    arn = f"arn:aws:connect:{region}:{ACCOUNT}:instance/{name:0>8}-0000-4000-8000-000000000000"
    return Target(arn, TargetKind.INSTANCE, name, arn, (region,))


def tdg(name: str = "t", home: str = "us-east-1", other: str = "us-west-2") -> Target:
    arn = f"arn:aws:connect:{home}:{ACCOUNT}:traffic-distribution-group/{name:0>8}-0000-4000-8000-000000000000"
    owner = f"arn:aws:connect:{home}:{ACCOUNT}:instance/owner000-0000-4000-8000-000000000000"
    return Target(arn, TargetKind.TRAFFIC_DISTRIBUTION_GROUP, name, owner, (home, other))


def number(index: int, target: Target, region: str = "us-east-1", **changes: str | None) -> PhoneNumber:
    fields: dict[str, str | None] = {
        "arn": f"arn:aws:connect:{region}:{ACCOUNT}:phone-number/{index:08d}-0000-4000-8000-000000000000",
        "id": f"{index:08d}-0000-4000-8000-000000000000",
        "number": f"+1206{index:07d}",
        "country": "US",
        "type": "DID",
        "target_arn": target.arn,
        "instance_id": target.instance_arn.rsplit("/", 1)[-1],
        "description": None,
        "source_arn": None,
    }
    fields.update(changes)
    return PhoneNumber(**fields)  # type: ignore[arg-type]


def numbers(count: int, target: Target, start: int = 0) -> list[PhoneNumber]:
    return [number(start + i, target) for i in range(count)]


def record(
    target: Target, held: list[PhoneNumber], held_since_run: str | None = None, held_count: int = 0
) -> TargetRecord:
    """The record a target has when the snapshot holds `held`."""
    buckets = fingerprints(entries_by_bucket(held))
    return TargetRecord(target, buckets, total_count(buckets), held_since_run, held_count)


def by_bucket(listed: list[PhoneNumber]) -> dict[str, dict[str, PhoneNumber]]:
    grouped: dict[str, dict[str, PhoneNumber]] = {}
    for item in listed:
        grouped.setdefault(bucket_of(item.arn), {})[item.arn] = item
    return grouped
