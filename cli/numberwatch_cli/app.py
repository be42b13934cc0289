"""The `numberwatch` command: one Typer app, one module per command under `commands/`.

Adding a command is one function in a module of its own, registered below with `_command(...)`,
which gives it the shared error handling: a `CliError` prints its message and exits with its code;
missing credentials and refused calls exit 2 with what to do, never a traceback.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, NoRegionError
from rich.console import Console

from numberwatch.ports import ArchiveUnavailable

from .commands import history, inventory, report, scan, status, unrouted, verify
from .context import Context, samconfig_stack_name
from .errors import CliError, Exit
from .output import say

app = typer.Typer(
    name="numberwatch",
    help="Connect Number Watch for people: scan, inventory, history, unrouted numbers, status, evidence, reports.",
    no_args_is_help=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)
errors = Console(stderr=True, highlight=False)
Command = TypeVar("Command", bound=Callable[..., Any])


@app.callback()
def options(
    ctx: typer.Context,
    stack_name: Annotated[
        str | None, typer.Option(help="The CloudFormation stack [default: samconfig.toml's, else connect-number-watch]")
    ] = None,
    profile: Annotated[str | None, typer.Option(help="An AWS profile (else AWS_PROFILE or the default)")] = None,
    region: Annotated[str | None, typer.Option(help="The stack's Region (else AWS_REGION or the profile's)")] = None,
    table: Annotated[str | None, typer.Option(envvar="TABLE_NAME", help="The table, instead of the stack's")] = None,
    bucket: Annotated[
        str | None, typer.Option(envvar="ARCHIVE_BUCKET", help="The archive bucket, instead of the stack's")
    ] = None,
    topic: Annotated[
        str | None, typer.Option(envvar="TOPIC_ARN", help="The number topic, instead of the stack's")
    ] = None,
    chat_topic: Annotated[
        str | None, typer.Option(envvar="CHAT_TOPIC_ARN", help="The chat topic, instead of the stack's")
    ] = None,
    scan_regions: Annotated[
        str | None, typer.Option(envvar="SCAN_REGIONS", help="Regions to scan, comma-separated, instead of the stack's")
    ] = None,
) -> None:
    """Reads the deployed stack's outputs; every resource can also be named directly (the local stack has no
    CloudFormation stack: name them, and point the SDK at it with AWS_ENDPOINT_URL)."""
    given = {"table": table, "bucket": bucket, "topic": topic, "chat_topic": chat_topic, "scan_regions": scan_regions}
    ctx.obj = Context(stack_name or samconfig_stack_name(Path.cwd()), profile, region, given)


def _handled(function: Command) -> Command:
    @functools.wraps(function)
    def handled(*args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except CliError as exc:
            say(errors, f"numberwatch: {exc.message}", "red")
            raise typer.Exit(exc.code) from None
        except NoCredentialsError:
            say(
                errors,
                "numberwatch: no AWS credentials: sign in (aws sso login, aws configure) or pick --profile",
                "red",
            )
            raise typer.Exit(Exit.USAGE) from None
        except NoRegionError:
            say(errors, "numberwatch: no AWS Region: pass --region, or set AWS_REGION", "red")
            raise typer.Exit(Exit.USAGE) from None
        except (ClientError, BotoCoreError, ArchiveUnavailable) as exc:
            say(errors, f"numberwatch: AWS refused or failed: {exc}", "red")
            raise typer.Exit(Exit.USAGE) from None

    return handled  # type: ignore[return-value]


def _command(name: str, function: Callable[..., Any]) -> None:
    app.command(name)(_handled(function))


_command("scan", scan.scan)
_command("inventory", inventory.inventory)
_command("history", history.history)
_command("unrouted", unrouted.unrouted)
_command("status", status.status)
_command("verify", verify.verify)
_command("report", report.report)


def main() -> None:
    app()
