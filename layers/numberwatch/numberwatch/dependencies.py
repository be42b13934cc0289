"""Builds the real service: boto3 clients once per container, adapters once per invocation.

Endpoints come from the SDK's own settings (AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_<SERVICE>), so the
local stack needs no code here."""

from __future__ import annotations

import threading
from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config

from .adapters.connect import CallGate, ConnectInventory, parse_listings_leanly, seconds_left_from
from .adapters.dynamodb import DynamoSnapshotStore, write_transactions_leanly
from .adapters.identity import CallerAccount
from .adapters.s3_archive import S3Archive
from .adapters.sns import SnsChat, SnsPublisher
from .run import WRITE_RESERVE_SECONDS, no_checkpoint
from .service import ScanService
from .settings import CLOUDTRAIL_BURST, Settings

if TYPE_CHECKING:
    from mypy_boto3_cloudtrail import CloudTrailClient
    from mypy_boto3_connect import ConnectClient

    from .adapters.member import MemberCredentials
    from .adapters.organizations import OrganizationsDirectory
    from .organization_service import OrganizationService

USER_AGENT = "connect-number-watch/0.1"


# What a paced client of a service gets before its first call: Connect's read its listings leanly.
PREPARED: dict[str, Callable[[Any], Any]] = {"connect": parse_listings_leanly}


class AwsClients:
    """The container's clients, made once and reused by every invocation."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.gate = CallGate(settings.connect_requests_per_second, settings.connect_burst)
        base = Config(user_agent_extra=USER_AGENT, connect_timeout=5, read_timeout=30)
        # No client-side validation of DynamoDB requests: the adapter builds each of them, DynamoDB
        # validates them again, and botocore's walk through every item was a quarter of the CPU of a
        # 100,000-number baseline.
        self.dynamodb = write_transactions_leanly(
            boto3.client(
                "dynamodb", config=base.merge(Config(retries={"mode": "standard"}, parameter_validation=False))
            )
        )
        self.sns = boto3.client("sns", config=base.merge(Config(retries={"mode": "standard"})))
        self.sts = boto3.client("sts", region_name=settings.aws_region, config=base)
        self.account = CallerAccount(self.sts)
        self._base = base
        # Only with an archive: S3's service model alone costs a tenth of a second to load.
        self.s3 = (
            boto3.client("s3", config=base.merge(Config(retries={"mode": "standard"})))
            if settings.archive_bucket
            else None
        )
        self._connect_config = base.merge(
            Config(retries={"mode": "adaptive", "total_max_attempts": settings.connect_max_attempts})
        )
        self._connect: dict[str, ConnectClient] = {}
        self.trail_gate = CallGate(settings.cloudtrail_requests_per_second, burst=CLOUDTRAIL_BURST)
        self._cloudtrail: dict[str, CloudTrailClient] = {}
        self._lock = threading.Lock()

    def connect(self, region: str) -> ConnectClient:
        client: ConnectClient = self._paced(self._connect, "connect", region, self.gate)
        return client

    def member_connect(self, credentials: MemberCredentials) -> Callable[[str], ConnectClient]:
        """Connect clients of one member account, for one run (its credentials last an hour)."""
        return self._member_clients("connect", credentials, self.gate)

    def member_cloudtrail(self, credentials: MemberCredentials) -> Callable[[str], CloudTrailClient]:
        """CloudTrail clients of one member account: its changes are in its own trail."""
        return self._member_clients("cloudtrail", credentials, self.trail_gate)

    def _member_clients(self, service: str, credentials: MemberCredentials, gate: CallGate) -> Callable[[str], Any]:
        clients: dict[str, Any] = {}
        keys = {
            "aws_access_key_id": credentials.access_key_id,
            "aws_secret_access_key": credentials.secret_access_key,
            "aws_session_token": credentials.session_token,
        }
        return lambda region: self._paced(clients, service, region, gate, **keys)

    def _paced(self, made: dict[str, Any], service: str, region: str, gate: CallGate, **credentials: str) -> Any:
        """The client of `service` in `region` (made once, kept in `made`), every request passing `gate`. The
        Regions' threads ask for theirs at once, and a boto3 session is not thread-safe."""
        with self._lock:
            if region not in made:
                client = boto3.client(
                    service,  # type: ignore[call-overload]
                    region_name=region,
                    config=self._connect_config,
                    **credentials,
                )
                prepare = PREPARED.get(service)
                made[region] = gate.attach(prepare(client) if prepare else client, region)
            return made[region]

    def organizations(self) -> OrganizationsDirectory:
        from .adapters.organizations import OrganizationsDirectory

        return OrganizationsDirectory(boto3.client("organizations", config=self._base))

    def cloudtrail(self, region: str) -> CloudTrailClient:
        client: CloudTrailClient = self._paced(self._cloudtrail, "cloudtrail", region, self.trail_gate)
        return client


@cache
def aws_clients(settings: Settings) -> AwsClients:
    return AwsClients(settings)


def build_scan_service(
    settings: Settings,
    remaining_ms: Callable[[], int],
    checkpoint: Callable[[str], None] = no_checkpoint,
    member: MemberCredentials | None = None,
) -> ScanService:
    """The scan of this account, or with `member`, of a member account through its read role."""
    clients = aws_clients(settings)
    seconds_left = seconds_left_from(remaining_ms, settings.time_reserve_seconds + WRITE_RESERVE_SECONDS)
    clients.gate.begin(seconds_left)
    clients.trail_gate.begin(seconds_left)
    connect = clients.connect if member is None else clients.member_connect(member)
    trail = None
    if settings.cloudtrail_lookup:
        from .adapters.cloudtrail import CloudTrailLookup  # only where attribution is switched on

        trail = CloudTrailLookup(
            clients.cloudtrail if member is None else clients.member_cloudtrail(member), clients.trail_gate
        )
    return ScanService(
        inventory=ConnectInventory(connect, clients.gate),
        store=DynamoSnapshotStore(clients.dynamodb, settings.table_name),
        publisher=SnsPublisher(clients.sns, settings.topic_arn),
        settings=settings,
        account_id=clients.account if member is None else lambda: member.account,
        checkpoint=checkpoint,
        trail=trail,
        # The archive is the stack's own, written with this account's credentials (also for a member).
        archive=S3Archive(clients.s3, settings.archive_bucket) if clients.s3 and settings.archive_bucket else None,
        # Chat copies of this account's own messages for people; a member account's go to no chat.
        chat=SnsChat(clients.sns, settings.chat_topic_arn) if settings.chat_topic_arn and member is None else None,
    )


def build_organization_service(settings: Settings, remaining_ms: Callable[[], int]) -> OrganizationService:
    # Imported here: a single-account deployment never loads organization mode's code at cold start.
    from .adapters.member import MemberRoles
    from .organization_service import OrganizationService

    clients = aws_clients(settings)
    return OrganizationService(
        settings=settings,
        store=DynamoSnapshotStore(clients.dynamodb, settings.table_name),
        publisher=SnsPublisher(clients.sns, settings.topic_arn),
        directory=clients.organizations,
        members=MemberRoles(clients.sts, settings.member_role_name, settings.member_external_id, settings.aws_region),
        scan_service_for=lambda member: build_scan_service(settings, remaining_ms, member=member),
        # The organization digest's chat copy; the member accounts' scans send none (the digest names them).
        chat=SnsChat(clients.sns, settings.chat_topic_arn) if settings.chat_topic_arn else None,
    )
