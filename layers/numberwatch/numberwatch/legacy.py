"""Release 0.1's fingerprints, read once per target when a deployed stack upgrades.

Release 0.1 kept, per target, 64 buckets of "<XOR of 128-bit BLAKE2b digests>:<count>" and found a
bucket's numbers through the `ByTargetBucket` index. The first run after an upgrade reads the
target's numbers through that index and checks them against these fingerprints before trusting them
(the index is eventually consistent); from then on the target has fingerprints of the current kind.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from .models import PhoneNumber

LEGACY_BUCKETS = 64


def legacy_bucket_of(number_arn: str) -> str:
    digest = hashlib.blake2b(number_arn.encode(), digest_size=2).digest()
    return f"{int.from_bytes(digest, 'big') % LEGACY_BUCKETS:02d}"


def _legacy_digest(number: PhoneNumber) -> int:
    canonical = "\x1f".join(
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
    return int.from_bytes(hashlib.blake2b(canonical.encode(), digest_size=16).digest(), "big")


def legacy_fingerprints(numbers: Iterable[PhoneNumber]) -> dict[str, str]:
    """What release 0.1 recorded for these numbers."""
    xor: dict[str, int] = {}
    count: dict[str, int] = {}
    for number in numbers:
        bucket = legacy_bucket_of(number.arn)
        xor[bucket] = xor.get(bucket, 0) ^ _legacy_digest(number)
        count[bucket] = count.get(bucket, 0) + 1
    return {bucket: f"{xor[bucket]:032x}:{count[bucket]}" for bucket in sorted(xor)}
