"""The monthly report against the local stack's S3 (write-once enforced as S3 does): the first run of
October writes September's report beside the evidence, with the content type a browser needs; what it
wrote is what `render_month` renders from the bucket, the numbers missing a required tag by the tags
the nights described (the details table); the next run writes nothing; the README's SQL still runs
over a bucket that holds reports."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import boto3

from localaws.lambda_runtime import ACCOUNT, Deployment
from numberwatch.adapters.s3_archive import S3Archive
from numberwatch.monthly_report import render_month
from tests.integration.test_archive import archive_keys, at, duckdb_over, readme_queries, scan
from tests.support.estate import Estate

SEPTEMBER = f"reports/account={ACCOUNT}/month=2026-09/"
REQUIRED = {"REQUIRED_TAG_KEYS": "owner", "DETAIL_CALLS_PER_RUN": "300"}
HOSTILE = '</svg><script>document.title="pwned"</script> =HYPERLINK("http://evil.example","x")'


def test_the_first_run_of_october_writes_septembers_report_once_as_render_month_renders_it(
    estate: Estate, deployment: Deployment, tmp_path: Path
) -> None:
    # Given two nights of September, one number with a hostile description, and a release; an owner tag
    # required, one number tagged with it, and the second night describing every number (in rotation)
    alpha = estate.instance("alpha")
    claimed = estate.claim(alpha["Arn"], 3)
    estate.describe(claimed[0], HOSTILE)
    estate.clients[claimed[0].region].tag_resource(resourceArn=claimed[0].arn, tags={"owner": "sales"})
    september_29 = scan(deployment, now=at(29), **REQUIRED)
    assert september_29["monthly_report"]["status"] == "NOTHING_TO_REPORT"
    estate.release(claimed[1])
    scan(deployment, now=at(30), **REQUIRED)
    # When the first run of October runs
    october_1 = scan(deployment, now=at(1, month=10), **REQUIRED)
    # Then September's report is in the archive, in three formats, each with its content type
    assert october_1["monthly_report"]["status"] == "WRITTEN"
    assert archive_keys(deployment.archive_bucket, "reports/") == [
        f"{SEPTEMBER}report.csv", f"{SEPTEMBER}report.html", f"{SEPTEMBER}report.md"
    ]  # fmt: skip
    s3 = boto3.client("s3")
    html = s3.get_object(Bucket=deployment.archive_bucket, Key=f"{SEPTEMBER}report.html")
    assert html["ContentType"] == "text/html; charset=utf-8"
    page = html["Body"].read()
    # And it is exactly what `numberwatch report` renders from the bucket, hostile text escaped
    archive = S3Archive(s3, deployment.archive_bucket)
    assert render_month(archive, ACCOUNT, "2026-09", "html", required_tag_keys=("owner",)) == page
    assert b"<script" not in page and b"&lt;/svg&gt;&lt;script&gt;" in page
    assert claimed[1].e164.encode() in page  # the release, with its cooldown
    text = s3.get_object(Bucket=deployment.archive_bucket, Key=f"{SEPTEMBER}report.csv")["Body"].read().decode()
    assert "'=HYPERLINK" not in text and "</svg><script>" in text  # the description starts with "<": kept
    # And the one number held without an owner tag is named, by what September 30 described
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [(r["phone_number"], r["detail"]) for r in rows if r["section"] == "missing_tags"] == [
        (f"'{claimed[2].e164}", "owner")
    ]
    assert "not read" not in text
    # And the next run finds it and writes nothing
    before = archive_keys(deployment.archive_bucket, "reports/")
    october_2 = scan(deployment, now=at(2, month=10), **REQUIRED)
    assert october_2["monthly_report"]["status"] == "ALREADY_WRITTEN"
    assert archive_keys(deployment.archive_bucket, "reports/") == before
    # And the README's SQL runs as before over a bucket that now holds reports
    held = duckdb_over(deployment.archive_bucket, tmp_path).execute(readme_queries()["1"]).fetchall()
    assert sorted(r[0] for r in held) == sorted(n.e164 for n in claimed if n is not claimed[1])
