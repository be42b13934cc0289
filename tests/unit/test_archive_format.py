"""The archive's format, pure: keys, rows, byte-for-byte determinism, manifests, first_seen read back."""

from __future__ import annotations

import dataclasses
import json
import zlib
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from numberwatch import archive_format
from numberwatch.archive_format import (
    CHANGES,
    DETAILS,
    INVENTORY,
    RUNS,
    Entry,
    Link,
    Manifest,
    RunRow,
    Table,
    change_line,
    details_lines,
    duckdb_view,
    encode,
    first_seen_of,
    inventory_lines,
    manifest_key,
    manifest_run_id,
    manifest_started_at,
    rows_of,
)
from numberwatch.events import number_event
from numberwatch.models import Change, ChangeType, PhoneNumber, Target
from numberwatch.ports import Described, Presence
from tests.unit.factories import ACCOUNT, instance, number, tdg

STARTED = datetime(2026, 9, 30, 6, 0, 3, tzinfo=UTC)


def inventory_line(listed: PhoneNumber, target: Target, first_seen: str, run_id: str, observed_at: str) -> bytes:
    (line,) = inventory_lines([listed], target, {listed.arn: first_seen}, run_id, observed_at)
    return line


def test_keys_carry_account_region_and_the_run_s_utc_date_as_hive_partitions() -> None:
    partition = {"account": ACCOUNT, "region": "us-east-1", "run_date": "2026-09-30"}
    expected = f"inventory/account={ACCOUNT}/region=us-east-1/run_date=2026-09-30/r1.jsonl.gz"
    assert INVENTORY.key(partition, "r1") == expected
    assert DETAILS.key(partition, "r1") == expected.replace("inventory/", "details/", 1)
    assert RUNS.key(partition, "r1") == f"runs/account={ACCOUNT}/run_date=2026-09-30/r1.jsonl.gz"
    assert INVENTORY.location_template("s3://b") == (
        "s3://b/inventory/account=${account}/region=${region}/run_date=${run_date}/"
    )


def test_manifest_keys_sort_by_start_and_name_their_run() -> None:
    earlier = manifest_key(ACCOUNT, "zzz", datetime(2026, 9, 29, 23, 59, 59, tzinfo=UTC))
    later = manifest_key(ACCOUNT, "aaa", STARTED)
    assert sorted([later, earlier]) == [earlier, later]
    assert (manifest_run_id(later), manifest_started_at(later)) == ("aaa", STARTED.replace(microsecond=0))


def test_an_inventory_row_has_exactly_the_table_s_columns_and_keeps_text_as_connect_gave_it() -> None:
    # Given a description that a spreadsheet or a browser would execute
    target = tdg("global")
    formula = '=HYPERLINK("http://evil.example","click")<script>alert(1)</script>\n\u202e'
    listed = number(1, target, description=formula)
    line = inventory_line(listed, target, "2026-09-01T06:00:00Z", "r1", "2026-09-30T06:00:03Z")
    # Then the row is one line, its keys are the table's columns in order, and the text is stored as it is
    assert line.count(b"\n") == 1 and line.endswith(b"\n")
    row = json.loads(line)
    assert tuple(row) == INVENTORY.names
    assert row["description"] == formula
    assert (row["target_name"], row["target_kind"], row["first_seen"]) == (
        "global", "TRAFFIC_DISTRIBUTION_GROUP", "2026-09-01T06:00:00Z",
    )  # fmt: skip


def test_a_change_row_is_the_event_less_its_partition_values() -> None:
    target = instance("a")
    before, after = number(1, target), number(1, target, description="edited")
    change = Change(ChangeType.UPDATED, before.arn, before, after, 1, 2, ("PhoneNumberDescription",))
    event = number_event(change, ACCOUNT, "r1", "2026-09-30T06:00:03Z", {}).body
    row = json.loads(change_line(event))
    assert tuple(row) == CHANGES.names
    assert (row["before"], row["after"], row["changed_fields"]) == (
        before.as_summary(), after.as_summary(), ["PhoneNumberDescription"],
    )  # fmt: skip
    assert (row["country_code"], row["number_type"]) == ("US", "DID")
    assert "account" not in row and "region" not in row


def test_the_same_rows_encode_to_the_same_bytes_and_decode_back() -> None:
    target = instance("a")
    lines = [inventory_line(number(i, target), target, "t0", "r1", "t1") for i in range(50)]
    first, second = encode("k", lines), encode("k", list(lines))
    assert first.body == second.body and first.sha256 == second.sha256
    assert first.rows == 50
    assert [r["phone_number_arn"] for r in rows_of(first.body)] == [number(i, target).arn for i in range(50)]


def test_first_seen_is_read_back_without_parsing_and_by_parsing_rows_written_another_way() -> None:
    target = instance("a")
    written = [inventory_line(number(i, target), target, f"2026-09-0{i + 1}T06:00:00Z", "r", "t") for i in range(3)]
    expected = {number(i, target).arn: f"2026-09-0{i + 1}T06:00:00Z" for i in range(3)}
    assert first_seen_of(encode("k", written).body) == expected
    # Rows whose keys come in another order (another writer) are parsed instead
    reordered = [json.dumps(dict(reversed(json.loads(line).items()))).encode() + b"\n" for line in written]
    assert first_seen_of(encode("k", reordered).body) == expected


def test_first_seen_reads_rows_cut_between_pieces_and_refuses_an_object_cut_short(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given an inventory whose compressed object spans many pieces, rows of both kinds mixed
    monkeypatch.setattr(archive_format, "_FIRST_SEEN_INPUT", 1024)
    target = instance("a")
    rows = [inventory_line(number(i, target), target, f"2026-09-{i % 28 + 1:02d}T06:00:00Z", "r", "t") for i in
            range(3_000)]  # fmt: skip
    rows[1_234] = json.dumps(dict(reversed(json.loads(rows[1_234]).items()))).encode() + b"\n"
    body = encode("k", rows).body
    assert len(body) > 20 * 1024
    # Then every number's first_seen is read, as from the whole object at once
    assert first_seen_of(body) == {json.loads(r)["phone_number_arn"]: json.loads(r)["first_seen"] for r in rows}
    # And an object cut short is an error, not a silently shorter first_seen
    with pytest.raises(zlib.error):
        first_seen_of(body[: len(body) // 2])


def test_a_manifest_round_trips_and_names_its_inventory_details_and_changes() -> None:
    objects = (
        Entry("inventory/account=1/region=us-east-1/run_date=2026-09-30/r.jsonl.gz", "a" * 64, 10, 2),
        Entry("changes/account=1/region=us-east-1/run_date=2026-09-30/r.jsonl.gz", "b" * 64, 5, 1),
        Entry("runs/account=1/run_date=2026-09-30/r.jsonl.gz", "c" * 64, 3, 1),
        Entry("details/account=1/region=us-east-1/run_date=2026-09-30/r.jsonl.gz", "e" * 64, 4, 2),
    )
    manifest = Manifest("1", "r", "2026-09-30T06:00:03Z", "COMPLETED", True, None, objects, Link("m0", "d" * 64))
    assert Manifest.decode(manifest.encode()) == manifest
    assert manifest.inventory_keys == [objects[0].key] and manifest.change_keys == [objects[1].key]
    assert manifest.details_keys == [objects[3].key]


def test_a_runs_row_counts_changes_by_type() -> None:
    row = RunRow("r", "t", "PARTIAL", False, "why", 3, 1, 10, {"CLAIMED": 2, "UPDATED": 1})
    decoded = json.loads(row.line())
    assert tuple(decoded) == RUNS.names
    assert (decoded["claimed"], decoded["released"], decoded["updated"], decoded["full_inventory"]) == (2, 0, 1, False)


@pytest.mark.parametrize("table", [INVENTORY, DETAILS, CHANGES, RUNS], ids=lambda t: t.name)
def test_the_duckdb_view_declares_every_column_and_partition_of_the_table(table: Table) -> None:
    sql = duckdb_view(table, "/tmp/archive")
    assert sql.startswith(f"CREATE OR REPLACE VIEW {table.name} AS")
    for column in table.columns:
        assert f"'{column.name}': " in sql
    for partition in table.partitions:
        assert f"'{partition}': 'VARCHAR'" in sql
    assert "'before': 'STRUCT(\"PhoneNumberId\" VARCHAR" in duckdb_view(CHANGES, "/a")
    assert "'changed_fields': 'VARCHAR[]'" in duckdb_view(CHANGES, "/a")


def test_a_row_is_byte_for_byte_what_json_dumps_makes_of_it() -> None:
    # The writer skips building a dict per row; what it writes must not differ from the plain encoding
    target = dataclasses.replace(instance("a"), name='100% "sales" %s')
    listed = number(1, target, description='tab\there "quoted" \\ back, ünïcode \u2028 \U0001f600')
    line = inventory_line(listed, target, "t0", "r1", "t1")
    assert line == (json.dumps(json.loads(line), separators=(",", ":")) + "\n").encode()
    row = RunRow("r", "t", "COMPLETED", True, None, 1, 0, 2, {})
    assert row.line() == (json.dumps(json.loads(row.line()), separators=(",", ":")) + "\n").encode()
    with pytest.raises(ValueError, match="2 values for 12 columns"):
        RUNS.line(("a", "b"))


def test_the_flow_is_archived_in_the_inventory_and_tags_and_status_are_not() -> None:
    # Given a number whose tags and status the details phase read
    target = instance("a")
    routed = dataclasses.replace(
        number(1, target), flow_id="f-1", flow_name="Main menu", tags=(("cost-center", "42"),), status="CLAIMED"
    )
    row = json.loads(inventory_line(routed, target, "t0", "r", "t1"))
    # Then its inventory row holds its flow, and no tags or status: those are the details table's
    assert (row["flow_id"], row["flow_name"]) == ("f-1", "Main menu")
    assert "tags" not in row and "claim_status" not in row
    bare = json.loads(inventory_line(number(2, target), target, "t0", "r", "t1"))
    assert bare["flow_id"] is None


def test_a_details_row_holds_what_describe_phone_number_answered() -> None:
    # Given a number described as FAILED with a message and tags, and one described without tags
    target = instance("a")
    failed = dataclasses.replace(number(1, target), tags=(("owner", "sales"),), status="FAILED")
    untagged = dataclasses.replace(number(2, target), status="CLAIMED")
    answers = [
        Described(Presence.FAILED, failed, "status FAILED", "claim failed"),
        Described(Presence.CLAIMED, untagged),
    ]
    rows = [json.loads(line) for line in details_lines(answers, "r1", "2026-09-30T06:00:03Z")]
    # Then each row is the table's columns, the tags a map, empty (not null) when the answer had none
    assert [tuple(row) for row in rows] == [DETAILS.names, DETAILS.names]
    assert rows[0] == {
        "phone_number_arn": failed.arn, "phone_number": failed.number, "target_arn": target.arn,
        "claim_status": "FAILED", "status_message": "claim failed", "tags": {"owner": "sales"},
        "run_id": "r1", "described_at": "2026-09-30T06:00:03Z",
    }  # fmt: skip
    assert (rows[1]["claim_status"], rows[1]["status_message"], rows[1]["tags"]) == ("CLAIMED", None, {})
    with pytest.raises(ValueError, match="GONE"):
        details_lines([Described(Presence.GONE)], "r1", "t")


def test_inventory_objects_written_before_the_details_table_still_read_with_their_two_old_columns_ignored(
    tmp_path: Path,
) -> None:
    # Given an inventory object of an earlier release, whose rows ended with claim_status and tags (always null)
    target = instance("a")
    old_row = {**json.loads(inventory_line(number(1, target), target, "t0", "r0", "t1")), "claim_status": None,
               "tags": None}  # fmt: skip
    key = INVENTORY.key({"account": ACCOUNT, "region": "us-east-1", "run_date": "2026-09-01"}, "r0")
    (tmp_path / key).parent.mkdir(parents=True)
    (tmp_path / key).write_bytes(encode(key, [json.dumps(old_row).encode() + b"\n"]).body)
    # When DuckDB reads it through the table's view
    connection = duckdb.connect()
    connection.execute(duckdb_view(INVENTORY, str(tmp_path)))
    found = connection.execute("SELECT * FROM inventory").fetchall()
    # Then the row reads, with the table's columns and partitions only
    assert [column[0] for column in connection.description] == [*INVENTORY.names, *INVENTORY.partitions]
    assert [(row[0], row[-2]) for row in found] == [(number(1, target).arn, "us-east-1")]
