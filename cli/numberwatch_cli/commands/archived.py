"""The archived inventory as of a date, for the commands that read it (inventory, unrouted)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from numberwatch.evidence import EvidenceMismatch, InventoryAsOf, NoInventoryAsOf, inventory_as_of

from ..context import Context
from ..errors import CliError, Exit


def newest_inventory(context: Context, account: str | None, as_of: date | None) -> InventoryAsOf:
    """The newest full inventory on or before `as_of` (default: today, UTC), checked against its manifest."""
    who = account or context.account
    day = as_of or datetime.now(UTC).date()
    try:
        return inventory_as_of(context.archive(), who, day)
    except NoInventoryAsOf as exc:
        hint = (
            "pick a later --as-of"
            if "first inventory" in str(exc)
            else "a complete full run writes one (the nightly run, or `numberwatch scan --write`)"
        )
        raise CliError(f"account {who}: {exc}; {hint}") from exc
    except EvidenceMismatch as exc:
        raise CliError(
            f"the archive does not match its manifest ({exc}): run `numberwatch verify`", Exit.FINDINGS
        ) from exc
