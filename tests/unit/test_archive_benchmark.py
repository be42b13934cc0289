"""The benchmark's archive cost: 400 nights kept, large objects moved to Standard-IA after 30 days."""

from __future__ import annotations

import pytest

from benchmarks.archive import monthly_cost


def test_a_month_of_the_archive_counts_steady_state_storage_and_thirty_nights_of_requests() -> None:
    night = {"calls": {"PutObject": 2, "GetObject": 1, "ListObjectsV2": 1}, "put_sizes": [1_000_000, 1_000]}
    cost = monthly_cost(night, retention_days=400)
    # 1 MB: 30 days in Standard, 370 in Standard-IA; 1 KB: 400 days in Standard (under IA's 128 KB minimum)
    assert cost["storage"] == pytest.approx(1e-3 * (30 * 0.023 + 370 * 0.0125) + 1e-6 * 400 * 0.023)
    # 3 put/list and 1 get request a night, and the one large object's transition, 30 nights a month
    assert cost["requests"] == pytest.approx(30 * (3 * 0.005 + 0.0004 + 0.01) / 1000)
    assert cost["total"] == pytest.approx(cost["storage"] + cost["requests"])
