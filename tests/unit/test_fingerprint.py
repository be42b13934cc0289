"""Fingerprints: a quiet night compares them instead of reading numbers back, and no choice of
descriptions can make a changed bucket look unchanged."""

from __future__ import annotations

import dataclasses

from numberwatch.fingerprint import (
    BUCKETS,
    bucket_fingerprint,
    bucket_of,
    changed_buckets,
    entries_by_bucket,
    fingerprints,
    number_digest,
    total_count,
    verified_buckets,
)
from numberwatch.legacy import legacy_bucket_of, legacy_fingerprints
from numberwatch.models import PhoneNumber
from tests.unit.factories import instance, number, numbers


def test_numbers_spread_over_every_bucket() -> None:
    listed = numbers(20_000, instance())
    assert {bucket_of(n.arn) for n in listed} == {f"{b:02x}" for b in range(BUCKETS)}


def test_the_order_of_pages_does_not_matter() -> None:
    listed = numbers(300, instance())
    assert fingerprints(entries_by_bucket(listed)) == fingerprints(entries_by_bucket(list(reversed(listed))))
    assert total_count(fingerprints(entries_by_bucket(listed))) == 300


def test_any_change_field_changes_exactly_one_bucket() -> None:
    listed = numbers(300, instance())
    before = fingerprints(entries_by_bucket(listed))
    for field, value in [("description", "new"), ("type", "TOLL_FREE"), ("target_arn", "arn:x"), ("source_arn", "y")]:
        edited = [dataclasses.replace(listed[7], **{field: value}), *listed[:7], *listed[8:]]
        assert changed_buckets(fingerprints(entries_by_bucket(edited)), before) == [bucket_of(listed[7].arn)]


def test_instance_id_is_not_a_change() -> None:
    # A TDG's numbers may carry the InstanceId of the Region they are listed from.
    listed = numbers(50, instance())
    relisted = [dataclasses.replace(n, instance_id="another-region-instance") for n in listed]
    assert fingerprints(entries_by_bucket(relisted)) == fingerprints(entries_by_bucket(listed))


def test_a_vanished_or_new_bucket_is_a_change() -> None:
    current = fingerprints(entries_by_bucket(numbers(3, instance())))
    assert changed_buckets({}, current) == sorted(current)
    assert changed_buckets(current, {}) == sorted(current)


def test_no_description_can_imitate_another_field() -> None:
    # Release 0.1 joined fields with \x1f: a description holding one moved the boundary with the next field.
    plain = number(1, instance(), description="a", source_arn="b\x1fc")
    forged = number(1, instance(), description="a\x1fb", source_arn="c")
    assert legacy_fingerprints([plain]) == legacy_fingerprints([forged])
    assert number_digest(plain) != number_digest(forged)


def test_an_empty_description_is_no_description() -> None:
    # The API may omit the field or send "": both mean none, for the fingerprint and for the diff alike.
    summary = number(1, instance()).as_summary()
    with_empty = PhoneNumber.from_summary({**summary, "PhoneNumberDescription": ""})
    without = PhoneNumber.from_summary(summary)
    assert with_empty == without and with_empty.description is None


def _solve_gf2(vectors: list[int], goal: int) -> list[int] | None:
    """Indexes of `vectors` whose XOR is `goal` (Gaussian elimination over GF(2)), or None."""
    basis: dict[int, tuple[int, int]] = {}  # pivot bit -> (vector, mask of the vectors combined)
    for index, vector in enumerate(vectors):
        mask = 1 << index
        for bit in sorted(basis, reverse=True):
            if vector >> bit & 1:
                vector, mask = vector ^ basis[bit][0], mask ^ basis[bit][1]
        if vector:
            basis[vector.bit_length() - 1] = (vector, mask)
    mask = 0
    for bit in sorted(basis, reverse=True):
        if goal >> bit & 1:
            goal, mask = goal ^ basis[bit][0], mask ^ basis[bit][1]
    return None if goal else [i for i in range(len(vectors)) if mask >> i & 1]


def _legacy_xor(value: str) -> int:
    return int(value.split(":")[0], 16)


def test_a_release_and_a_claim_hidden_by_chosen_descriptions_are_seen() -> None:
    # Given 230 numbers of one 0.1 bucket (XOR of 128-bit digests: linear over GF(2))
    target = instance()
    bucket = [n for n in numbers(20_000, target) if legacy_bucket_of(n.arn) == "07"][:230]
    victim, others = bucket[0], bucket[1:200]
    claimed = next(n for n in numbers(40_000, target, start=50_000) if legacy_bucket_of(n.arn) == "07")
    before = legacy_fingerprints(bucket)
    # When someone releases one number, claims another, and picks new descriptions for some others so
    # that the XOR comes out unchanged (one linear system, solved)
    deltas = [
        _legacy_xor(legacy_fingerprints([n])["07"]) ^ _legacy_xor(legacy_fingerprints([_edited(n)])["07"])
        for n in others
    ]
    goal = _legacy_xor(legacy_fingerprints([victim])["07"]) ^ _legacy_xor(legacy_fingerprints([claimed])["07"])
    chosen = _solve_gf2(deltas, goal)
    assert chosen is not None
    after = [claimed, *(_edited(n) if i in chosen else n for i, n in enumerate(others)), *bucket[200:]]
    # Then the old fingerprint is fooled (the forgery works against release 0.1)
    assert legacy_fingerprints(after) == before
    # And the current one is not: the bucket is re-read and every change found
    now, then = fingerprints(entries_by_bucket(after)), fingerprints(entries_by_bucket(bucket))
    edited_buckets = {bucket_of(n.arn) for i, n in enumerate(others) if i in chosen}
    assert set(changed_buckets(now, then)) == {bucket_of(victim.arn), bucket_of(claimed.arn), *edited_buckets}


def test_a_bucket_fingerprint_is_the_digest_of_its_entries_in_order() -> None:
    entries = entries_by_bucket(numbers(40, instance()))
    some = next(iter(entries.values()))
    reordered = dict(reversed(list(some.items())))
    assert bucket_fingerprint(reordered) == bucket_fingerprint(some)
    assert bucket_fingerprint({**some, next(iter(some)): bytes(32)}) != bucket_fingerprint(some)


def _edited(phone_number: PhoneNumber) -> PhoneNumber:
    return dataclasses.replace(phone_number, description=f"Hotline {phone_number.id[:8]}")


def test_every_bucket_is_verified_once_in_every_cycle() -> None:
    for every in (1, 7, 30, 365):
        slices = [verified_buckets(run, every) for run in range(every)]
        assert sorted(b for s in slices for b in s) == sorted(f"{b:02x}" for b in range(BUCKETS))
