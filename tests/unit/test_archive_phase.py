"""The archive phase inside whole runs (in-memory fakes), the hash chain's verifier and the inventory as
of a date: what each night writes, first_seen carried from night to night, runs that write no
inventory, an archive that refuses, the first object or manifest that does not match."""

from __future__ import annotations

import dataclasses
import json
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from numberwatch.archive_format import DETAILS, INVENTORY, Manifest, Table, manifest_prefix, rows_of
from numberwatch.evidence import EvidenceMismatch, Mismatch, NoInventoryAsOf, inventory_as_of, verify_chain
from numberwatch.models import ScanRequest, Target
from numberwatch.phases.archive import ArchiveSession
from numberwatch.ports import Described, Presence
from numberwatch.run import RunContext, no_checkpoint
from numberwatch.service import ScanService
from numberwatch.settings import Settings
from tests.support.kill_switch import Crash, crash_at
from tests.unit.factories import ACCOUNT, instance, number, numbers, tdg
from tests.unit.fake_archive import FakeArchive
from tests.unit.fakes import FakeConnect, FakePublisher, FakeStore

ENVIRONMENT = {
    "TABLE_NAME": "numbers",
    "TOPIC_ARN": f"arn:aws:sns:us-east-1:{ACCOUNT}:numbers",
    "AWS_REGION": "us-east-1",
    "SCAN_REGIONS": "us-east-1,us-west-2",
}
FIRST_NIGHT = datetime(2026, 9, 28, 6, 0, tzinfo=UTC)


class Nights:
    """An estate, its store and archive, and nights of the real service one day apart."""

    def __init__(self, **settings: str) -> None:
        self.connect = FakeConnect()
        self.store = FakeStore()
        self.publisher = FakePublisher()
        self.archive = FakeArchive()
        self.settings = Settings.from_environment({**ENVIRONMENT, **settings})
        self.night_number = 0

    def night(
        self, run_id: str | None = None, checkpoint: Callable[[str], None] = no_checkpoint, **request: Any
    ) -> dict[str, Any]:
        service = ScanService(
            self.connect, self.store, self.publisher, self.settings, lambda: ACCOUNT, checkpoint, archive=self.archive
        )
        # Runs start within a second, never on it: manifest keys keep whole seconds only
        moment = FIRST_NIGHT + timedelta(days=self.night_number, microseconds=250_000)
        self.night_number += 1
        context = RunContext(run_id=run_id or str(uuid.uuid4()), remaining_ms=lambda: 900_000, now=lambda: moment)
        return service.run(ScanRequest(**request), context).model_dump(mode="json")

    def inventory(self, run_id: str, table: Table = INVENTORY) -> list[dict[str, Any]]:
        return [
            row
            for key, body in sorted(self.archive.under(f"{table.prefix}/").items())
            if key.endswith(f"/{run_id}.jsonl.gz")
            for row in rows_of(body)
        ]

    def runs_object(self, run_id: str) -> bytes:
        (body,) = [b for k, b in self.archive.under("runs/").items() if k.endswith(f"/{run_id}.jsonl.gz")]
        return body

    def manifests(self) -> list[Manifest]:
        return [Manifest.decode(body) for _, body in sorted(self.archive.under(manifest_prefix(ACCOUNT)).items())]


def test_every_full_night_archives_its_inventory_changes_and_summary_in_a_chain() -> None:
    # Given an instance and a TDG (whose numbers are in its home Region)
    nights = Nights()
    a, global_tdg = instance("a"), tdg("global")
    nights.connect.add(a, *numbers(3, a))
    nights.connect.add(global_tdg, *numbers(2, global_tdg, start=10))
    # When a baseline night and a night with one claim run
    first = nights.night()
    newcomer = number(20, a)
    nights.connect.add(a, newcomer)
    second = nights.night()
    # Then each wrote its whole inventory, with target name and kind, account and Region in the key
    assert first["archive"]["status"] == "WRITTEN" and first["archive"]["full_inventory"] is True
    rows = nights.inventory(second["run_id"])
    assert len(rows) == 6
    assert {r["target_kind"] for r in rows} == {"INSTANCE", "TRAFFIC_DISTRIBUTION_GROUP"}
    assert any(k.startswith(f"inventory/account={ACCOUNT}/region=us-east-1/run_date=2026-09-29/") for k in
               nights.archive.objects)  # fmt: skip
    # And first_seen is carried from the first night, and is tonight for the newcomer
    seen = {r["phone_number_arn"]: r["first_seen"] for r in rows}
    assert seen[newcomer.arn] == "2026-09-29T06:00:00Z"
    assert {v for arn, v in seen.items() if arn != newcomer.arn} == {"2026-09-28T06:00:00Z"}
    # And the night's change is archived as its event carries it, and the manifests form a chain
    (change_key,) = [k for k in nights.archive.objects if k.startswith("changes/")]
    (change,) = rows_of(nights.archive.objects[change_key])
    assert (change["change_type"], change["phone_number_arn"]) == ("CLAIMED", newcomer.arn)
    first_manifest, second_manifest = nights.manifests()
    assert first_manifest.previous is None
    assert second_manifest.previous is not None and second_manifest.previous.key == first["archive"]["manifest_key"]
    assert verify_chain(nights.archive, ACCOUNT, second["archive"]["manifest_sha256"]).intact


def test_the_tags_and_status_the_details_phase_read_are_in_the_details_object_and_not_in_the_inventory() -> None:
    # Given tagged numbers on an instance and on a TDG in another Region, the TDG's claim FAILED
    nights = Nights(DETAIL_CALLS_PER_RUN="300")
    a, west = instance("a"), tdg("west", home="us-west-2", other="us-east-1")
    tagged = [dataclasses.replace(n, tags=(("owner", f"team-{n.id}"),)) for n in numbers(3, a)]
    far = dataclasses.replace(number(10, west, region="us-west-2"), tags=(("cost-center", "7"),), status="FAILED")
    nights.connect.add(a, *tagged)
    nights.connect.add(west, far)
    nights.night()  # the baseline: nothing is described in rotation yet
    # When the next night describes every number (the rotation's window covers them all), one newly claimed
    newcomer = dataclasses.replace(number(20, a), tags=(("owner", "new"),))
    nights.connect.add(a, newcomer)
    second = nights.night()
    # Then the details objects, one per Region, hold each number's tags and status as Connect answered them
    rows = nights.inventory(second["run_id"], DETAILS)
    assert {r["phone_number_arn"]: (r["tags"], r["claim_status"]) for r in rows} == {
        n.arn: (dict(n.tags or ()), n.status or "CLAIMED") for n in (*tagged, far, newcomer)
    }
    assert {r["claim_status"] for r in rows} == {"CLAIMED", "FAILED"}
    assert {r["described_at"] for r in rows} == {"2026-09-29T06:00:00Z"}
    keys = sorted(k for k in nights.archive.objects if k.startswith("details/"))
    assert [k.split("/")[2] for k in keys] == ["region=us-east-1", "region=us-west-2"]
    (manifest,) = [m for m in nights.manifests() if m.run_id == second["run_id"]]
    assert manifest.details_keys == keys
    # And the inventory rows hold no tags and no status
    inventory = nights.inventory(second["run_id"])
    assert len(inventory) == 5 and not [r for r in inventory if "tags" in r or "claim_status" in r]


def test_a_partial_run_writes_the_details_it_read_without_an_inventory() -> None:
    # Given a baseline of two instances, then a night on which one cannot be listed
    nights = Nights(DETAIL_CALLS_PER_RUN="300")
    a, b = instance("a"), instance("b")
    held = [dataclasses.replace(n, tags=(("owner", "ops"),)) for n in numbers(2, a)]
    nights.connect.add(a, *held)
    nights.connect.add(b, *numbers(2, b, start=10))
    nights.night()
    nights.connect.failing[b.arn] = "AccessDeniedException"
    partial = nights.night()
    # Then the run is partial, writes no inventory, and still writes what DescribePhoneNumber told of a's numbers
    assert partial["status"] == "PARTIAL" and partial["archive"]["full_inventory"] is False
    assert nights.inventory(partial["run_id"]) == []
    details = {r["phone_number_arn"]: r["tags"] for r in nights.inventory(partial["run_id"], DETAILS)}
    assert {arn: details[arn] for arn in (n.arn for n in held)} == {n.arn: {"owner": "ops"} for n in held}


def test_dry_limited_and_partial_runs_write_no_inventory_and_say_so() -> None:
    nights = Nights()
    a, b = instance("a"), instance("b")
    nights.connect.add(a, *numbers(2, a))
    nights.connect.add(b, *numbers(2, b, start=10))
    nights.night()
    written = dict(nights.archive.objects)
    # A dry run writes nothing at all
    dry = nights.night(dry_run=True)
    assert dry["archive"] == {**dry["archive"], "status": "NOT_WRITTEN", "note": "a dry run: nothing archived"}
    assert nights.archive.objects == written
    # A limited run and a partial run (a target unobserved) write their changes and summary, no inventory
    limited = nights.night(targets=[a.arn])
    nights.connect.failing[b.arn] = "AccessDeniedException"
    partial = nights.night()
    for summary, why in ((limited, "a limited run"), (partial, "a partial run")):
        assert summary["archive"]["status"] == "WRITTEN" and summary["archive"]["full_inventory"] is False
        assert summary["archive"]["note"].startswith(why)
        assert nights.inventory(summary["run_id"]) == []
        (row,) = rows_of(nights.runs_object(summary["run_id"]))
        assert (row["full_inventory"], row["note"][:13]) == (False, why[:13])


def a_baseline_then_a_claim() -> tuple[Nights, Target]:
    """Nights after a baseline of three numbers on one instance, which has since claimed a fourth."""
    nights = Nights()
    a = instance("a")
    nights.connect.add(a, *numbers(3, a))
    nights.night()
    nights.connect.add(a, number(20, a))
    return nights, a


def test_a_retry_of_a_run_that_died_after_its_evidence_scans_nothing_again() -> None:
    # Given a baseline, then a night with a claim that died once its evidence was written, still
    # holding its lease (it never released it)
    nights, a = a_baseline_then_a_claim()
    run_id = str(uuid.uuid4())
    release = nights.store.release_lease

    def dies(account: str, owner: str) -> None:
        raise Crash("release")

    nights.store.release_lease = dies  # type: ignore[method-assign]
    with pytest.raises(Crash):
        nights.night(run_id=run_id)
    nights.store.release_lease = release  # type: ignore[method-assign]
    objects = dict(nights.archive.objects)
    (claim,) = [m for m in nights.publisher.published if m.event_type.value == "NUMBER_CHANGE"]
    # And a claim made before Lambda retries it
    nights.connect.add(a, number(21, a))
    nights.publisher.published.clear()
    # When Lambda retries it
    again = nights.night(run_id=run_id)
    # Then it scans nothing: the later claim is not reported under this run's time, the evidence untouched
    assert again["replayed"] is True and nights.publisher.published == []
    assert nights.archive.objects == objects and claim.body["phone_number"] == number(20, a).number
    # And the next night reports the later claim, under its own time, with its evidence
    following = nights.night()
    assert following["changes"]["CLAIMED"] == 1 and following["archive"]["status"] == "WRITTEN"
    assert verify_chain(nights.archive, ACCOUNT, following["archive"]["manifest_sha256"]).intact


def test_a_retry_of_a_run_that_died_before_its_manifest_runs_again_to_write_its_evidence() -> None:
    # Given a baseline, then a night with a claim that died with its evidence half written
    nights, _ = a_baseline_then_a_claim()
    run_id = str(uuid.uuid4())
    with pytest.raises(Crash):
        nights.night(run_id=run_id, checkpoint=crash_at("archive_objects_written"))
    assert [m.run_id for m in nights.manifests()].count(run_id) == 0
    # When Lambda retries it
    again = nights.night(run_id=run_id)
    # Then it runs again, for the evidence, which needs the scan: its manifest is written
    assert again["replayed"] is False and again["archive"]["status"] == "WRITTEN"
    assert [m.run_id for m in nights.manifests()].count(run_id) == 1
    assert again["changes"]["CLAIMED"] == 1


def test_an_archive_that_refuses_leaves_the_run_whole_and_the_next_run_writes_what_is_missing() -> None:
    nights = Nights()
    a = instance("a")
    nights.connect.add(a, *numbers(3, a))
    nights.night()
    # Given an archive that refuses every write tonight, and a claim
    nights.archive.refuse_writes = True
    nights.connect.add(a, number(9, a))
    refused = nights.night()
    # Then the run completes: its change is published and its snapshot written, the archive failure is named
    assert refused["status"] == "COMPLETED" and refused["changes"]["CLAIMED"] == 1
    assert [b["change_type"] for b in nights.publisher.bodies("NUMBER_CHANGE")] == ["CLAIMED"]
    assert refused["archive"]["status"] == "FAILED" and "AccessDenied" in refused["archive"]["note"]
    # When the archive accepts again, the next run first writes the refused run's changes and summary
    nights.archive.refuse_writes = False
    caught_up = nights.night()
    assert caught_up["archive"]["backfilled_runs"] == [refused["run_id"]]
    manifests = {m.run_id: m for m in nights.manifests()}
    late = manifests[refused["run_id"]]
    assert late.full_inventory is False and "could not be kept" in (late.note or "")
    assert [rows_of(nights.archive.objects[k])[0]["change_type"] for k in late.change_keys] == ["CLAIMED"]
    # And the chain runs through it, in the order the runs ran
    assert manifests[caught_up["run_id"]].previous is not None
    assert manifests[caught_up["run_id"]].previous.key.endswith(f"_{refused['run_id']}.json")
    assert verify_chain(nights.archive, ACCOUNT).intact


def test_an_archive_that_cannot_be_read_writes_nothing_rather_than_a_wrong_first_seen() -> None:
    nights = Nights()
    a = instance("a")
    nights.connect.add(a, *numbers(2, a))
    nights.night()
    before = dict(nights.archive.objects)
    nights.archive.refuse_reads = True
    summary = nights.night()
    assert summary["archive"]["status"] == "FAILED" and "could not be read" in summary["archive"]["note"]
    assert nights.archive.objects == before


def test_a_damaged_archive_cannot_stop_the_run_first_seen_restarts_and_the_summary_says_why() -> None:
    nights = Nights()
    a = instance("a")
    nights.connect.add(a, *numbers(2, a))
    nights.night()
    (head_key,) = nights.archive.under(manifest_prefix(ACCOUNT))
    nights.archive.objects[head_key] = b"not a manifest"
    second = nights.night()
    assert second["status"] == "COMPLETED" and second["archive"]["status"] == "WRITTEN"
    assert "first_seen restarts" in second["archive"]["note"]
    assert {r["first_seen"] for r in nights.inventory(second["run_id"])} == {"2026-09-29T06:00:00Z"}
    # And the verifier names the damaged manifest
    report = verify_chain(nights.archive, ACCOUNT)
    assert report.mismatch is not None and report.mismatch.key == head_key


def test_nights_after_the_first_catch_up_on_nothing() -> None:
    nights = Nights()
    a = instance("a")
    nights.connect.add(a, *numbers(2, a))
    for _ in range(3):
        assert nights.night()["archive"]["backfilled_runs"] == []
    assert len(nights.manifests()) == 3


def test_a_number_released_and_claimed_again_is_first_seen_anew() -> None:
    nights = Nights()
    a = instance("a")
    kept, returning = number(1, a), number(2, a)
    nights.connect.add(a, kept, returning)
    nights.night()
    nights.connect.release(returning)
    nights.night()
    nights.connect.add(a, returning)
    third = nights.night()
    seen = {r["phone_number_arn"]: r["first_seen"] for r in nights.inventory(third["run_id"])}
    assert seen == {kept.arn: "2026-09-28T06:00:00Z", returning.arn: "2026-09-30T06:00:00Z"}


# ------------------------------------------------------------------ the verifier
def _three_nights() -> Nights:
    nights = Nights()
    a = instance("a")
    nights.connect.add(a, *numbers(3, a))
    for index in range(3):
        nights.connect.add(a, number(100 + index, a))
        nights.night()
    return nights


def test_the_verifier_names_the_first_object_that_does_not_match() -> None:
    nights = _three_nights()
    assert verify_chain(nights.archive, ACCOUNT).intact
    middle = nights.manifests()[1]
    (tampered,) = middle.inventory_keys
    body = nights.archive.objects[tampered]
    nights.archive.objects[tampered] = body[:-1] + bytes([body[-1] ^ 1])
    report = verify_chain(nights.archive, ACCOUNT)
    assert report.mismatch is not None
    assert (report.mismatch.key, report.mismatch.problem) == (
        tampered, "object does not match the SHA-256 its manifest records",
    )  # fmt: skip
    assert report.manifests == 2  # the newest was intact; the walk stopped in the second


def test_the_verifier_names_a_manifest_rewritten_after_the_fact() -> None:
    nights = _three_nights()
    first_key = sorted(nights.archive.under(manifest_prefix(ACCOUNT)))[0]
    document = json.loads(nights.archive.objects[first_key])
    document["status"] = "PARTIAL"
    nights.archive.objects[first_key] = json.dumps(document).encode()
    report = verify_chain(nights.archive, ACCOUNT)
    assert report.mismatch is not None and report.mismatch.key == first_key
    assert "the next manifest records" in report.mismatch.problem


def test_the_verifier_names_a_missing_object_and_a_manifest_beside_the_chain() -> None:
    nights = _three_nights()
    newest = nights.manifests()[-1]
    runs_key = next(e.key for e in newest.objects if e.key.startswith("runs/"))
    stray = f"{manifest_prefix(ACCOUNT)}20260101T000000Z_forged.json"
    nights.archive.objects[stray] = Manifest(ACCOUNT, "forged", "t", "COMPLETED", True, None, (), None).encode()
    assert verify_chain(nights.archive, ACCOUNT).mismatch == Mismatch(stray, "manifest outside the chain")
    del nights.archive.objects[runs_key]
    mismatch = verify_chain(nights.archive, ACCOUNT).mismatch
    assert mismatch is not None and (mismatch.key, mismatch.problem) == (runs_key, "object missing")


# ------------------------------------------------------------------ as of a date
def test_inventory_as_of_a_date_is_the_nearest_full_inventory_at_or_before_it() -> None:
    nights = Nights()
    a = instance("a")
    nights.connect.add(a, *numbers(2, a))
    first = nights.night()  # 2026-09-28
    nights.connect.add(a, number(50, a))
    nights.connect.failing[a.arn] = "InternalServiceException"
    nights.night()  # 2026-09-29: partial, no inventory
    nights.connect.failing.clear()
    third = nights.night()  # 2026-09-30
    on_29th = inventory_as_of(nights.archive, ACCOUNT, date(2026, 9, 29))
    assert (on_29th.run_id, len(on_29th.numbers)) == (first["run_id"], 2)
    assert {row["region"] for row in on_29th.numbers} == {"us-east-1"}
    later = inventory_as_of(nights.archive, ACCOUNT, date(2026, 10, 15))
    assert (later.run_id, len(later.numbers)) == (third["run_id"], 3)


def test_inventory_as_of_refuses_a_date_before_the_archive_began() -> None:
    nights = Nights()
    a = instance("a")
    nights.connect.add(a, *numbers(2, a))
    first = nights.night()
    with pytest.raises(NoInventoryAsOf) as refused:
        inventory_as_of(nights.archive, ACCOUNT, date(2026, 9, 27))
    assert str(refused.value) == (
        "no archived inventory on or before 2026-09-27: the archive's first inventory is of 2026-09-28 "
        f"(run {first['run_id']}); what was held before it was never archived"
    )


def test_inventory_as_of_refuses_an_inventory_that_does_not_match_its_manifest() -> None:
    nights = Nights()
    a = instance("a")
    nights.connect.add(a, *numbers(2, a))
    nights.night()
    (key,) = nights.manifests()[0].inventory_keys
    nights.archive.objects[key] = nights.archive.objects[key] + b"\x00"
    with pytest.raises(EvidenceMismatch, match=key):
        inventory_as_of(nights.archive, ACCOUNT, date(2026, 9, 28))


def test_the_details_objects_are_the_same_bytes_whatever_order_the_regions_threads_answered_in() -> None:
    # Given the same answers handed over in two orders (the rotation's Regions answer in threads)
    a, west = instance("a"), instance("w", region="us-west-2")
    answers = [
        Described(Presence.CLAIMED, dataclasses.replace(n, status="CLAIMED", tags=(("owner", n.id),)))
        for n in (*numbers(3, a), number(7, west, region="us-west-2"))
    ]
    written = []
    for order in (answers, list(reversed(answers))):
        session = ArchiveSession(FakeArchive(), ACCOUNT, "r1", FIRST_NIGHT, collect_inventory=True)
        session.on_described(order[:2])
        session.on_described(order[2:])
        written.append([(o.key, o.body) for o in session.details()])
    # Then the objects, one per Region, are byte for byte the same, rows in number ARN order
    assert written[0] == written[1] and len(written[0]) == 2
    east = rows_of(written[0][0][1])
    assert [r["phone_number_arn"] for r in east] == sorted(n.arn for n in numbers(3, a))
