"""S3 Object Lock as S3 enforces it, where moto 5.2 does not.

moto refuses to delete a locked object version, but lets anyone rewrite its retention: shorten it,
or turn COMPLIANCE into GOVERNANCE, with or without `x-amz-bypass-governance-retention`. S3 refuses
both: a COMPLIANCE retention can only be extended, and a GOVERNANCE one shortened or removed only
with the bypass header (and the s3:BypassGovernanceRetention permission, which moto does not model).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from moto.s3.exceptions import AccessDeniedByLock
from moto.s3.responses import S3Response

_applied = False


def _until(text: str | None) -> datetime | None:
    if not text:
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _weakens(mode: str | None, until: str | None, new_mode: str | None, new_until: str | None) -> bool:
    current, wanted = _until(until), _until(new_until)
    shortened = current is not None and (wanted is None or wanted.replace(tzinfo=None) < current.replace(tzinfo=None))
    return shortened or (mode == "COMPLIANCE" and new_mode != "COMPLIANCE")


def apply() -> None:
    global _applied
    if _applied:
        return
    original = S3Response.put_object_retention

    def put_object_retention(self: S3Response) -> Any:
        key = self.backend.get_object(self.bucket_name, self.parse_key_name(), version_id=self._get_param("versionId"))
        bypass = self.headers.get("x-amz-bypass-governance-retention", "").lower() == "true"
        if key is not None and key.is_locked(governance_bypass=bypass):
            new_mode, new_until = self._mode_until_from_body()
            if _weakens(key.lock_mode, key.lock_until, new_mode, new_until):
                raise AccessDeniedByLock
        return original(self)

    S3Response.put_object_retention = put_object_retention  # type: ignore[method-assign]
    _applied = True
