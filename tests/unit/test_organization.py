"""Organization mode's own decisions, pure and with fakes: which accounts a run scans, what an account
that cannot be read becomes, the one organization digest, and the requests the state machine sends."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, get_args

import pytest

from numberwatch.adapters.member import AccountUnavailable, MemberCredentials
from numberwatch.events import OutboxMessage
from numberwatch.models import ChangeType, EventType, RunStatus, RunSummary
from numberwatch.organization import (
    ORGANIZATION,
    ORGANIZATION_STEPS,
    AccountOutcome,
    AccountScanRequest,
    AccountStatus,
    OrganizationDigestRequest,
    build_organization_digest,
    plan_accounts,
)
from numberwatch.organization_service import OrganizationService
from numberwatch.request import ORGANIZATION_SOURCES, InvalidScanRequest, parse_request, parse_scan_request
from numberwatch.run import RunContext
from numberwatch.service import ScanService
from numberwatch.settings import Settings
from tests.unit.fakes import FakePublisher, FakeStore
from tests.unit.test_chat import FakeChat
from tests.unit.test_scan_service import ENVIRONMENT

RUN = "5d3074b8-b18a-4cd3-8126-d38647c4f7a5"
A, B, C = "111111111111", "222222222222", "333333333333"


class Directory:
    def __init__(self, accounts: list[str]) -> None:
        self.accounts = accounts
        self.asked: list[Sequence[str]] = []

    def active_accounts(self, parents: Sequence[str]) -> list[str]:
        self.asked.append(parents)
        return self.accounts


def test_organization_plan_lists_active_accounts_less_the_deny_list() -> None:
    directory = Directory([C, A, B])
    plan = plan_accounts(lambda: directory, RUN, (), ("ou-ab12-abcdefgh",), (B,), 25)
    assert (plan.accounts, plan.excluded, plan.max_concurrency) == ([A, C], [B], 25)
    assert directory.asked == [("ou-ab12-abcdefgh",)]


def test_organization_plan_of_a_given_list_never_asks_organizations() -> None:
    def no_directory() -> Directory:
        raise AssertionError("Organizations was asked")

    plan = plan_accounts(no_directory, RUN, (B, A), (), (), 10)
    assert plan.accounts == [A, B]


def change_message(account: str, change_type: ChangeType, number: str) -> OutboxMessage:
    return OutboxMessage(
        message_id=f"{account}-{number}",
        event_type=EventType.NUMBER_CHANGE,
        run_id=RUN,
        created_at="2026-11-28T06:00:00Z",
        body={"change_type": change_type.value},
        email_text=f'{change_type.value}: {number}  DID US  on "contact-center"',
    )


def test_organization_digest_names_each_change_after_its_account_and_every_account_not_observed() -> None:
    outcomes = [
        AccountOutcome(account=A, status=AccountStatus.COMPLETED, changes={"CLAIMED": 1}),
        AccountOutcome(account=B, status=AccountStatus.UNOBSERVED, reason="AssumeRole: AccessDenied"),
        AccountOutcome(account=C, status=AccountStatus.FAILED, reason="Lambda.Unknown"),
    ]
    digest = build_organization_digest(
        RUN, "2026-11-28T06:00:00Z", outcomes, {A: [change_message(A, ChangeType.CLAIMED, "+12065550100")]}
    )
    assert digest is not None
    assert digest.subject == "Connect numbers: 1 claimed in 3 accounts; 2 not observed"
    assert f'CLAIMED (1)\n  {A}  +12065550100  DID US  on "contact-center"' in digest.email_text
    assert f"{B}: not read: AssumeRole: AccessDenied" in digest.email_text
    assert f"{C}: scan failed: Lambda.Unknown" in digest.email_text
    assert (digest.message_id, digest.event_type, digest.attributes) == (
        f"organization-digest-{RUN}", EventType.ORGANIZATION_DIGEST, {"account": ORGANIZATION},
    )  # fmt: skip
    assert [a["account"] for a in digest.body["accounts_not_observed"]] == [B, C]


def test_organization_digest_is_none_on_a_quiet_night_of_every_account() -> None:
    outcomes = [AccountOutcome(account=a, status=AccountStatus.COMPLETED) for a in (A, B)]
    assert build_organization_digest(RUN, "2026-11-28T06:00:00Z", outcomes, {A: [], B: []}) is None


@pytest.mark.parametrize(
    ("status", "unobserved", "expected"),
    [
        (RunStatus.COMPLETED, [], AccountStatus.COMPLETED),
        (RunStatus.PARTIAL, [{"target_arn": "arn:t", "reason": "AccessDenied"}], AccountStatus.PARTIAL),
        (RunStatus.SKIPPED, [], AccountStatus.SKIPPED),
    ],
)
def test_organization_outcome_of_an_account_scan(
    status: RunStatus, unobserved: list[dict[str, str]], expected: AccountStatus
) -> None:
    summary = RunSummary(run_id=RUN, status=status, targets_unobserved=unobserved)
    outcome = AccountOutcome.from_summary(A, summary)
    assert (outcome.status, outcome.targets_unobserved) == (expected, len(unobserved))


def test_organization_requests_are_told_apart_by_source_and_checked() -> None:
    assert parse_request({"source": "organization-account", "org_run_id": RUN, "account": A}).source == (
        "organization-account"
    )
    with pytest.raises(InvalidScanRequest, match="account"):
        parse_request({"source": "organization-account", "org_run_id": RUN, "account": "12"})
    with pytest.raises(InvalidScanRequest, match="org_run_id"):
        parse_request({"source": "organization-plan", "org_run_id": "not a session name"})
    # The single-account scan refuses a step of the organization run
    with pytest.raises(InvalidScanRequest, match="organization run"):
        parse_scan_request({"source": "organization-plan", "org_run_id": RUN})
    # A step given as a JSON string is told apart by its source too; text that is not JSON is named
    step = json.dumps({"source": "organization-account", "org_run_id": RUN, "account": A})
    assert parse_request(step).source == "organization-account"
    with pytest.raises(InvalidScanRequest, match="not JSON"):
        parse_request("{source: schedule")


def test_organization_each_source_the_request_parser_knows_is_the_source_of_its_step_s_model() -> None:
    assert set(ORGANIZATION_SOURCES) == set(ORGANIZATION_STEPS)
    for source, model in ORGANIZATION_STEPS.items():
        assert get_args(model.model_fields["source"].annotation) == (source,)


class RefusingRoles:
    def assume(self, account: str, session_name: str) -> MemberCredentials:
        raise AccountUnavailable(f"AssumeRole arn:aws:iam::{account}:role/ConnectNumberWatchRead: AccessDenied")


def organization_service(
    store: FakeStore, publisher: FakePublisher, chat: FakeChat | None = None
) -> OrganizationService:
    def no_scan(credentials: MemberCredentials) -> ScanService:
        raise AssertionError(f"{credentials.account} was scanned")

    return OrganizationService(
        Settings.from_environment(ENVIRONMENT),
        store,
        publisher,
        lambda: Directory([]),
        RefusingRoles(),  # type: ignore[arg-type]
        no_scan,
        chat,
    )


def context() -> RunContext:
    return RunContext(run_id=RUN, remaining_ms=lambda: 900_000, now=lambda: datetime(2026, 11, 28, 6, tzinfo=UTC))


def test_organization_an_account_whose_role_cannot_be_assumed_is_unobserved_and_never_scanned() -> None:
    store, publisher = FakeStore(), FakePublisher()
    scan = organization_service(store, publisher).scan_account(
        AccountScanRequest(source="organization-account", org_run_id=RUN, account=B), context()
    )
    assert (scan.outcome.status, scan.summary) == (AccountStatus.UNOBSERVED, None)
    assert "AccessDenied" in scan.outcome.reason
    assert store.transactions == [] and publisher.published == []


def digest_request(**outcome: Any) -> OrganizationDigestRequest:
    return OrganizationDigestRequest(
        source="organization-digest",
        org_run_id=RUN,
        started_at=datetime(2026, 11, 28, 6, tzinfo=UTC),
        outcomes=[AccountOutcome(account=B, status=AccountStatus.UNOBSERVED, reason="AccessDenied", **outcome)],
    )


def test_organization_digest_step_sends_one_digest_and_one_record_however_often_it_runs() -> None:
    store, publisher, chat = FakeStore(), FakePublisher(), FakeChat()
    service = organization_service(store, publisher, chat)
    first = service.send_digest(digest_request(), context())
    again = service.send_digest(digest_request(), context())
    assert [m.event_type for m in publisher.published] == [EventType.ORGANIZATION_DIGEST]
    # And one chat copy of it, in the organization's own thread
    assert [c["metadata"]["eventType"] for c in chat.sent] == ["ORGANIZATION_DIGEST"]
    assert chat.sent[0]["metadata"]["threadId"] == f"connect-number-watch-{ORGANIZATION}"
    assert (first.chat.sent, again.chat.sent) == (1, 0)
    assert first.digest == again.digest == f"organization-digest-{RUN}"
    assert list(store.runs) == [(ORGANIZATION, RUN)]
    assert store.runs[(ORGANIZATION, RUN)].status is RunStatus.PARTIAL
    assert ORGANIZATION not in store.lease


def test_organization_a_chat_that_fails_loses_no_digest_and_is_counted() -> None:
    # Given a chat topic that refuses
    store, publisher, chat = FakeStore(), FakePublisher(), FakeChat(down=True)
    # When the digest step runs, then the digest went out and the chat copy's failure is named
    result = organization_service(store, publisher, chat).send_digest(digest_request(), context())
    assert [m.event_type for m in publisher.published] == [EventType.ORGANIZATION_DIGEST]
    assert result.chat.failed == [result.digest] and result.messages_pending == 0
    # And the step's output names it for the state machine
    assert result.as_json()["chat_messages_failed"] == [result.digest]
