"""Fingerprints of a target's numbers, per hash bucket of number ARNs.

A quiet night compares 64 short strings per target instead of reading every number back; one
change in a 100,000-number target reloads one bucket (about 1,600 numbers), not the target.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from .models import PhoneNumber

BUCKETS = 64


def bucket_of(number_arn: str) -> str:
    """The bucket of a number: stable across runs, targets and Regions."""
    digest = hashlib.blake2b(number_arn.encode(), digest_size=2).digest()
    return f"{int.from_bytes(digest, 'big') % BUCKETS:02d}"


def canonical(number: PhoneNumber) -> str:
    """Every summary field that makes a change. InstanceId is left out on purpose: it follows
    from TargetArn for an instance, and for a TDG it depends on the Region it is listed from."""
    return "\x1f".join(
        (
            number.arn,
            number.id,
            number.number,
            number.country,
            number.type,
            number.target_arn,
            number.description or "",
            number.source_arn or "",
        )
    )


def _digest(number: PhoneNumber) -> int:
    return int.from_bytes(hashlib.blake2b(canonical(number).encode(), digest_size=16).digest(), "big")


def fingerprints(numbers: Iterable[PhoneNumber]) -> dict[str, str]:
    """{bucket: "<xor of 128-bit digests>:<count>"} for the buckets that hold any number.

    XOR is order-free, so a listing's page order never matters; the count guards the rare case
    of two digests cancelling out."""
    xor: dict[str, int] = {}
    count: dict[str, int] = {}
    for number in numbers:
        bucket = bucket_of(number.arn)
        xor[bucket] = xor.get(bucket, 0) ^ _digest(number)
        count[bucket] = count.get(bucket, 0) + 1
    return {bucket: f"{xor[bucket]:032x}:{count[bucket]}" for bucket in sorted(xor)}


def changed_buckets(current: dict[str, str], recorded: dict[str, str]) -> list[str]:
    return sorted(b for b in current.keys() | recorded.keys() if current.get(b) != recorded.get(b))


def total_count(buckets: dict[str, str]) -> int:
    return sum(int(value.rsplit(":", 1)[1]) for value in buckets.values())
