"""Fingerprints of a target's numbers, in two levels, that no choice of descriptions can steer.

Level 2, per number: the SHA-256 of its change fields (`PhoneNumber.change_values`), JSON-encoded so
that no value can imitate a field boundary. Level 1, per bucket (256 buckets of number ARNs): the
SHA-256 of the bucket's (ARN, level-2 digest) entries in ARN order, each ARN length-prefixed. The
target's record keeps level 1; a bucket item keeps level 2 for each of its numbers.

A quiet night compares level 1 and reads nothing else. A changed bucket's item says exactly which of
its numbers changed, so a night reads about one item per change, however large the target. A
cryptographic digest (unlike the XOR of release 0.1, which is linear and could be steered by editing
other descriptions of the bucket) changes whenever any number of the bucket does.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping

from .models import PhoneNumber

BUCKETS = 256
FINGERPRINT_VERSION = 2
# The rotation of descriptions moves through the same hash in finer steps: a night that can describe
# fewer numbers than a bucket holds still completes some slots, so the rotation never stalls.
ROTATION_SLOTS = 65536

# Made once: `json.dumps` with options makes a new encoder on every call, about a sixth of a digest's
# time (every number listed is digested, every night). A digest's values hold no cycle to check for.
CANONICAL_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), check_circular=False)

# One bucket of one target, at level 2: number ARN -> digest of its change fields.
BucketEntries = dict[str, bytes]


def bucket_of(number_arn: str) -> str:
    """The bucket of a number: stable across runs, targets and Regions (two hex digits)."""
    return hashlib.sha256(number_arn.encode()).hexdigest()[:2]


def slot_of(number_arn: str) -> str:
    """The rotation slot of a number (four hex digits; its bucket is the first two)."""
    return hashlib.sha256(number_arn.encode()).hexdigest()[:4]


def number_digest(number: PhoneNumber) -> bytes:
    """Level 2: every field that makes a change, and the flow's name, so that a renamed or deleted flow
    (no change of the number's own) still has its bucket looked at."""
    canonical = CANONICAL_JSON.encode(
        [FINGERPRINT_VERSION, *(value for _, value in number.change_values()), number.flow_name]
    )
    return hashlib.sha256(canonical.encode()).digest()


def bucket_fingerprint(entries: Mapping[str, bytes]) -> str:
    """ "<sha-256 hex>:<count>" of one bucket's entries, independent of the order they were listed in."""
    digest = hashlib.sha256()
    for arn in sorted(entries):
        encoded = arn.encode()
        digest.update(len(encoded).to_bytes(2, "big"))
        digest.update(encoded)
        digest.update(entries[arn])
    return f"{digest.hexdigest()}:{len(entries)}"


def entries_by_bucket(numbers: Iterable[PhoneNumber]) -> dict[str, BucketEntries]:
    by_bucket: dict[str, BucketEntries] = {}
    for number in numbers:
        by_bucket.setdefault(bucket_of(number.arn), {})[number.arn] = number_digest(number)
    return by_bucket


def fingerprints(by_bucket: Mapping[str, Mapping[str, bytes]]) -> dict[str, str]:
    """Level 1 of every non-empty bucket."""
    return {bucket: bucket_fingerprint(entries) for bucket, entries in sorted(by_bucket.items()) if entries}


def changed_buckets(current: Mapping[str, str], recorded: Mapping[str, str]) -> list[str]:
    return sorted(b for b in current.keys() | recorded.keys() if current.get(b) != recorded.get(b))


def total_count(buckets: Mapping[str, str]) -> int:
    return sum(int(value.rsplit(":", 1)[1]) for value in buckets.values())


def verified_buckets(run_number: int, every_runs: int) -> frozenset[str]:
    """The buckets a run re-reads whatever their fingerprints say: each bucket once every `every_runs`."""
    return frozenset(f"{b:02x}" for b in range(BUCKETS) if b % every_runs == run_number % every_runs)
