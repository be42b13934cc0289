"""The evidence archive's share of a benchmark night: its S3 requests and bytes, and what keeping
them costs a month. The night's S3 figures are counted with every other call
(`calls.CallCounter`); the report adds `monthly_cost` to the whole bill and `archive_section` to the report.

The cost is the steady state of `RETENTION_DAYS` nights kept: every night's objects stay in S3
Standard for their first 30 days, then those over 128 KB move to Standard-IA (the template's
lifecycle rule; smaller ones would be billed as 128 KB there, so they stay); requests are 30 nights'
worth a month. KMS requests are left out: the bucket key makes them a few per night.
"""

from __future__ import annotations

from typing import Any

RETENTION_DAYS = 400
TRANSITION_DAYS = 30
IA_MINIMUM_BYTES = 128 * 1024
NIGHTS_A_MONTH = 30
# S3 unit prices, us-east-1, as published on 2026-11-01.
S3_PRICES_DATE = "2026-11-01"
S3_PRICE = {
    "standard_gb_month": 0.023,
    "standard_ia_gb_month": 0.0125,
    "put_list_request": 0.005 / 1000,
    "get_request": 0.0004 / 1000,
    "ia_transition_request": 0.01 / 1000,
}
_PUT_LIST = ("PutObject", "ListObjectsV2", "ListObjects")


def monthly_cost(s3: dict[str, Any], retention_days: int = RETENTION_DAYS) -> dict[str, float]:
    """$ a month to keep `retention_days` nights like this one, and to make 30 nights' requests."""
    gigabyte = 1e9
    standard_days = min(TRANSITION_DAYS, retention_days)
    storage = 0.0
    transitions = 0
    for size in s3["put_sizes"]:
        if size > IA_MINIMUM_BYTES and retention_days > TRANSITION_DAYS:
            storage += size / gigabyte * standard_days * S3_PRICE["standard_gb_month"]
            storage += size / gigabyte * (retention_days - standard_days) * S3_PRICE["standard_ia_gb_month"]
            transitions += 1
        else:
            storage += size / gigabyte * retention_days * S3_PRICE["standard_gb_month"]
    calls = s3["calls"]
    per_night = (
        sum(calls.get(op, 0) for op in _PUT_LIST) * S3_PRICE["put_list_request"]
        + calls.get("GetObject", 0) * S3_PRICE["get_request"]
        + transitions * S3_PRICE["ia_transition_request"]
    )
    requests = per_night * NIGHTS_A_MONTH
    return {"storage": storage, "requests": requests, "total": storage + requests}


def archive_section(rows: list[dict[str, Any]]) -> list[str]:
    """Markdown lines: the archive's figures per night measured, and its cost a month."""
    lines = [
        "",
        f"The evidence archive (S3 prices of {S3_PRICES_DATE}; $ a month with {RETENTION_DAYS} nights like this one",
        "kept, their first 30 days in Standard, then Standard-IA for objects over 128 KB; 30 nights of requests):",
        "",
        "| numbers | night | S3 requests (put / get / list) | bytes written | bytes per number"
        " | $ / month storage | $ / month requests | $ / month archive |",
        "|---:|---|---|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        s3 = row["ours"].get("s3")
        if s3 is None:
            continue
        calls = s3["calls"]
        cost = monthly_cost(s3)
        cells = [
            f"{row['size']:,}",
            row["night"],
            f"{calls.get('PutObject', 0)} / {calls.get('GetObject', 0)} / {calls.get('ListObjectsV2', 0)}",
            f"{s3['bytes_written']:,}",
            f"{s3['bytes_written'] / max(1, row['size']):.1f}",
            f"{cost['storage']:.4f}",
            f"{cost['requests']:.4f}",
            f"{cost['total']:.4f}",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return lines
