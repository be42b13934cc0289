"""Fingerprints: a quiet night compares them instead of reading numbers back."""

from __future__ import annotations

import dataclasses

from numberwatch.fingerprint import BUCKETS, bucket_of, changed_buckets, fingerprints, total_count
from tests.unit.factories import instance, numbers


def test_buckets_are_stable_and_spread() -> None:
    listed = numbers(5000, instance())
    buckets = {bucket_of(n.arn) for n in listed}
    assert len(buckets) == BUCKETS
    assert bucket_of(listed[0].arn) == bucket_of(listed[0].arn)


def test_the_order_of_pages_does_not_matter() -> None:
    listed = numbers(300, instance())
    assert fingerprints(listed) == fingerprints(list(reversed(listed)))
    assert total_count(fingerprints(listed)) == 300


def test_any_summary_field_changes_exactly_one_bucket() -> None:
    listed = numbers(300, instance())
    before = fingerprints(listed)
    for field, value in [
        ("description", "new"),
        ("type", "TOLL_FREE"),
        ("target_arn", "arn:x"),
        ("source_arn", "arn:y"),
    ]:
        edited = [dataclasses.replace(listed[7], **{field: value}), *listed[:7], *listed[8:]]
        assert changed_buckets(fingerprints(edited), before) == [bucket_of(listed[7].arn)]


def test_instance_id_is_not_a_change() -> None:
    # A TDG's numbers carry the InstanceId of the Region they are listed from.
    listed = numbers(50, instance())
    relisted = [dataclasses.replace(n, instance_id="another-region-instance") for n in listed]
    assert fingerprints(relisted) == fingerprints(listed)


def test_a_vanished_or_new_bucket_is_a_change() -> None:
    listed = numbers(3, instance())
    assert changed_buckets({}, fingerprints(listed)) == sorted(fingerprints(listed))
    assert changed_buckets(fingerprints(listed), {}) == sorted(fingerprints(listed))
