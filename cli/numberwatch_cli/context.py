"""Where the deployment is: the CloudFormation stack's outputs, or names given on the command line.

Every command needs some of the stack's resources (the table, the archive bucket, the topics, the
scanned Regions). They come from the stack's outputs (`--stack-name`, by default the one in
samconfig.toml), read once and only if an option or its environment variable (TABLE_NAME,
ARCHIVE_BUCKET, TOPIC_ARN, CHAT_TOPIC_ARN, SCAN_REGIONS: the function's own names) does not already
name it. That is how the local stack is reached: it has no CloudFormation stack of ours, and the
SDK finds it through AWS_ENDPOINT_URL like any endpoint. Credentials, profile and Region are the
SDK's own (`--profile`, `--region`, the usual AWS_* variables).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError, ProfileNotFound

from numberwatch.adapters.s3_archive import S3Archive

from .errors import CliError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

    from numberwatch.adapters.dynamodb import DynamoSnapshotStore

DEFAULT_STACK_NAME = "connect-number-watch"
# The table's indexes the commands read (adapters/dynamodb.py names them too; a test keeps them equal).
UNSENT_INDEX = "Unsent"
HISTORY_INDEX = "NumberHistory"
# The stack output that names each resource, and the option (and variable) that names it instead.
OUTPUTS = {
    "table": ("SnapshotTableName", "--table / TABLE_NAME"),
    "bucket": ("ArchiveBucketName", "--bucket / ARCHIVE_BUCKET"),
    "topic": ("NumberTopicArn", "--topic / TOPIC_ARN"),
    "chat_topic": ("ChatTopicArn", "--chat-topic / CHAT_TOPIC_ARN"),
    "scan_regions": ("ScanRegions", "--scan-regions / SCAN_REGIONS"),
}


def samconfig_stack_name(folder: Path) -> str:
    """The stack name `sam deploy` uses from this folder's samconfig.toml, else the default."""
    try:
        config = tomllib.loads((folder / "samconfig.toml").read_text())
    except (OSError, tomllib.TOMLDecodeError):
        return DEFAULT_STACK_NAME
    name = config.get("default", {}).get("global", {}).get("parameters", {}).get("stack_name")
    return name if isinstance(name, str) and name else DEFAULT_STACK_NAME


@dataclass
class Context:
    """What every command shares: the SDK session, the stack's resources, the account."""

    stack_name: str
    profile: str | None = None
    region: str | None = None
    given: dict[str, str | None] | None = None  # resource -> the name an option or variable gave

    @cached_property
    def session(self) -> boto3.Session:
        """The SDK's default session, so the scan's own clients (made by the layer) use it too: made anew only
        for a profile or Region given here (a session already made from the environment is kept, with the
        handlers others registered on it)."""
        try:
            if self.profile or self.region or boto3.DEFAULT_SESSION is None:
                boto3.setup_default_session(profile_name=self.profile, region_name=self.region)
        except ProfileNotFound as exc:
            raise CliError(f"{exc}: name a profile of ~/.aws/config with --profile or AWS_PROFILE") from exc
        session = boto3.DEFAULT_SESSION
        assert session is not None
        if not session.region_name:
            raise CliError("no AWS Region: pass --region, or set AWS_REGION (or a region in your profile)")
        return session

    @property
    def region_name(self) -> str:
        return str(self.session.region_name)

    def client(self, service: str) -> Any:
        return self.session.client(service)  # type: ignore[call-overload]

    @cached_property
    def stack(self) -> dict[str, Any] | None:
        """The stack as CloudFormation describes it; None when there is no such stack."""
        try:
            stacks = self.client("cloudformation").describe_stacks(StackName=self.stack_name)["Stacks"]
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ValidationError":
                return None
            raise
        stack: dict[str, Any] = stacks[0]
        return stack

    @cached_property
    def outputs(self) -> dict[str, str]:
        if self.stack is None:
            raise CliError(
                f"no CloudFormation stack {self.stack_name!r} in {self.region_name}: deploy it (sam deploy), "
                "name yours with --stack-name (and --region), or name the resources themselves "
                "(--table, --bucket, --topic, or TABLE_NAME, ARCHIVE_BUCKET, TOPIC_ARN as the function has them)"
            )
        return {o["OutputKey"]: o.get("OutputValue", "") for o in self.stack.get("Outputs", [])}

    def parameter(self, name: str) -> str | None:
        """A parameter the stack was deployed with; None when the archive bucket was named instead of read
        from the stack (no stack is read then), or without a stack (the local stack has none)."""
        if (self.given or {}).get("bucket") or self.stack is None:
            return None
        values = {p["ParameterKey"]: p.get("ParameterValue", "") for p in self.stack.get("Parameters", [])}
        return values.get(name)

    def resource(self, name: str, required: bool = True) -> str | None:
        """The resource an option names, else the stack's output; a clear error when neither does."""
        given = (self.given or {}).get(name)
        if given:
            return given
        output, option = OUTPUTS[name]
        value = self.outputs.get(output) or None
        if value is None and required:
            raise CliError(f"the stack {self.stack_name!r} has no output {output}: name it with {option}")
        return value

    @cached_property
    def account(self) -> str:
        try:
            return str(self.client("sts").get_caller_identity()["Account"])
        except (ClientError, BotoCoreError) as exc:
            if isinstance(exc, ClientError):
                raise CliError(f"AWS refused your credentials ({exc}): refresh them, or pick --profile") from exc
            raise

    @cached_property
    def dynamodb(self) -> DynamoDBClient:
        client: DynamoDBClient = self.client("dynamodb")
        return client

    def store(self) -> DynamoSnapshotStore:
        # Imported here: the adapter brings in Powertools (X-Ray's SDK), half a second that the archive's
        # commands never need.
        from numberwatch.adapters.dynamodb import DynamoSnapshotStore

        return DynamoSnapshotStore(self.dynamodb, str(self.resource("table")))

    def archive(self) -> S3Archive:
        return S3Archive(self.client("s3"), str(self.resource("bucket")))
