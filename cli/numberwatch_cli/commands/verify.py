"""`numberwatch verify`: the archive's hash chain, from the newest manifest back to the first."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from numberwatch.evidence import verify_chain

from ..errors import CliError, Exit
from ..output import say


def verify(
    ctx: typer.Context,
    account: Annotated[str | None, typer.Option(help="The account [default: your credentials']")] = None,
    head: Annotated[
        str | None,
        typer.Option(help="The newest manifest's SHA-256 as the run's summary logged it (archive.manifest_sha256)"),
    ] = None,
) -> None:
    """Check every archived object against its manifest and every manifest against the next one.
    Exit 1 naming the first object or manifest that does not match."""
    who = account or ctx.obj.account
    report = verify_chain(ctx.obj.archive(), who, head)
    console = Console(highlight=False)
    if report.manifests == 0 and report.mismatch is None:
        raise CliError(f"the archive holds no manifest of account {who} yet: its first run with the archive writes one")
    if report.mismatch is not None:
        say(console, f"BROKEN: {report.mismatch.key}: {report.mismatch.problem}", "bold red")
        say(console, f"(checked {report.manifests:,} manifests and {report.objects:,} objects before it)")
        raise typer.Exit(Exit.FINDINGS)
    vouched = " from the head you gave" if head else " (pass --head to vouch for the newest manifest too)"
    say(console, f"intact: {report.manifests:,} manifests, {report.objects:,} objects{vouched}", "green")
