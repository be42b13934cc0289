"""Builds the real service: boto3 clients once per container, adapters once per invocation.

Endpoints come from the SDK's own settings (AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_<SERVICE>), so the
local stack needs no code here."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING

import boto3
from botocore.config import Config

from .adapters.cloudtrail import CloudTrailLookup
from .adapters.connect import CallGate, ConnectInventory, seconds_left_from
from .adapters.dynamodb import DynamoSnapshotStore
from .adapters.identity import CallerAccount
from .adapters.s3_archive import S3Archive
from .adapters.sns import SnsPublisher
from .run import no_checkpoint
from .service import ScanService
from .settings import Settings

if TYPE_CHECKING:
    from mypy_boto3_cloudtrail import CloudTrailClient
    from mypy_boto3_connect import ConnectClient

USER_AGENT = "connect-number-watch/0.1"


class AwsClients:
    """The container's clients, made once and reused by every invocation."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.gate = CallGate(settings.connect_requests_per_second, settings.connect_burst)
        base = Config(user_agent_extra=USER_AGENT, connect_timeout=5, read_timeout=30)
        self.dynamodb = boto3.client("dynamodb", config=base.merge(Config(retries={"mode": "standard"})))
        self.sns = boto3.client("sns", config=base.merge(Config(retries={"mode": "standard"})))
        self.account = CallerAccount(boto3.client("sts", config=base))
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
        self.trail_gate = CallGate(settings.cloudtrail_requests_per_second, burst=2)
        self._cloudtrail: dict[str, CloudTrailClient] = {}

    def connect(self, region: str) -> ConnectClient:
        if region not in self._connect:
            client = boto3.client("connect", region_name=region, config=self._connect_config)
            self._connect[region] = self.gate.attach(client, region)
        return self._connect[region]

    def cloudtrail(self, region: str) -> CloudTrailClient:
        if region not in self._cloudtrail:
            client = boto3.client("cloudtrail", region_name=region, config=self._connect_config)
            self._cloudtrail[region] = self.trail_gate.attach(client, region)
        return self._cloudtrail[region]


@cache
def aws_clients(settings: Settings) -> AwsClients:
    return AwsClients(settings)


def build_scan_service(
    settings: Settings, remaining_ms: Callable[[], int], checkpoint: Callable[[str], None] = no_checkpoint
) -> ScanService:
    clients = aws_clients(settings)
    seconds_left = seconds_left_from(remaining_ms, settings.time_reserve_seconds)
    clients.gate.begin(seconds_left)
    clients.trail_gate.begin(seconds_left)
    return ScanService(
        inventory=ConnectInventory(clients.connect, clients.gate),
        store=DynamoSnapshotStore(clients.dynamodb, settings.table_name),
        publisher=SnsPublisher(clients.sns, settings.topic_arn),
        settings=settings,
        account_id=clients.account,
        checkpoint=checkpoint,
        trail=CloudTrailLookup(clients.cloudtrail, clients.trail_gate) if settings.cloudtrail_lookup else None,
        archive=S3Archive(clients.s3, settings.archive_bucket) if clients.s3 and settings.archive_bucket else None,
    )
