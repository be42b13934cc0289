"""CPU of one ListPhoneNumbersV2 page of 1,000 summaries through a boto3 client, botocore's own parse
against `parse_listings_leanly` (figures only; the HTTP answer is handed to the client in memory, so
only the SDK's work and ours is timed). Each run's figures are kept in benchmarks/results/listing-parse.json.

    PYTHONPATH=layers/numberwatch:. python -m benchmarks.listing_parse [--pages 200] [--runs 3]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import urllib3
from botocore.awsrequest import AWSResponse, HTTPHeaders

from numberwatch.adapters.connect import PAGE_SIZE, parse_listings_leanly

RESULTS = Path(__file__).parent / "results"
ACCOUNT_ARN = "arn:aws:connect:us-east-1:123456789012"


def page_body() -> bytes:
    summaries = [
        {
            "PhoneNumberId": f"{i:036d}",
            "PhoneNumberArn": f"{ACCOUNT_ARN}:phone-number/{i:036d}",
            "PhoneNumber": f"+1555{i:07d}",
            "PhoneNumberCountryCode": "US",
            "PhoneNumberType": "DID",
            "TargetArn": f"{ACCOUNT_ARN}:instance/bench",
            "InstanceId": "bench",
            "PhoneNumberDescription": f"line {i}",
        }
        for i in range(PAGE_SIZE)
    ]
    return json.dumps({"ListPhoneNumbersSummaryList": summaries, "NextToken": "next"}).encode()


def answered_in_memory(client: Any, body: bytes) -> Any:
    """`client`, whose every request is answered 200 with `body` before it is sent."""
    fields = {"Content-Type": "application/json", "x-amzn-RequestId": "bench"}

    def answer(request: Any, **_: Any) -> AWSResponse:
        raw = urllib3.HTTPResponse(body=io.BytesIO(body), status=200, headers=fields, preload_content=False)
        return AWSResponse(request.url, 200, HTTPHeaders.from_dict(fields), raw)

    client.meta.events.register("before-send", answer)
    return client


def client(body: bytes, lean: bool) -> Any:
    connect: Any = boto3.client("connect", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    answered_in_memory(connect, body)
    return parse_listings_leanly(connect) if lean else connect


def cpu_ms_per_call(call: Callable[[], object], times: int) -> float:
    """The CPU milliseconds of one `call`, over `times` of them after a first one that is not timed (it
    loads the service model)."""
    call()
    started = time.process_time()
    for _ in range(times):
        call()
    return (time.process_time() - started) * 1000 / times


def cpu_ms_per_page(lean: bool, pages: int) -> float:
    connect = client(page_body(), lean)
    return cpu_ms_per_call(lambda: connect.list_phone_numbers_v2(TargetArn="t"), pages)


def save(name: str, per: str, runs: list[tuple[float, float]]) -> None:
    """This invocation's runs, kept in benchmarks/results/<name>.json for the README to cite."""
    figures = {
        "measured_on": {
            "date": time.strftime("%Y-%m-%d"),
            "machine": f"{platform.machine()}, {os.cpu_count()} cores, shared",
            "python": platform.python_version(),
        },
        "cpu_ms_per": per,
        "runs": [{"botocore": round(plain, 2), "lean": round(lean, 2)} for plain, lean in runs],
    }
    (RESULTS / f"{name}.json").write_text(json.dumps(figures, indent=2) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pages", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    runs = []
    for _ in range(args.runs):
        plain, lean = cpu_ms_per_page(False, args.pages), cpu_ms_per_page(True, args.pages)
        print(f"CPU per page of {PAGE_SIZE:,} summaries: botocore's parse {plain:.2f} ms, lean {lean:.2f} ms")
        print(f"at 100,000 numbers (100 pages): {plain / 10:.2f} s against {lean / 10:.2f} s a night")
        runs.append((plain, lean))
    save("listing-parse", f"page of {PAGE_SIZE:,} summaries", runs)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
