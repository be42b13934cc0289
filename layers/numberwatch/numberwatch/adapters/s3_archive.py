"""Archive adapter: S3, write-once.

Every put is conditional (`If-None-Match: *`): S3 creates the object only if the key holds none, so
evidence is never replaced, not even by a retry of our own run. When the key is taken, the object
there is read back and compared: the same bytes are a retry that already succeeded; different bytes
are a conflict, never overwritten. S3 checks the body against its SHA-256 on arrival
(`ChecksumAlgorithm`), which a bucket with Object Lock requires anyway. The bucket's default
retention locks every object; this adapter never sets, shortens or bypasses a retention, and never
deletes.
"""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from ..archive_format import sha256_of
from ..ports import ArchiveConflict, ArchiveMissing, ArchiveUnavailable

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

_TAKEN = {"PreconditionFailed", "412"}
_MISSING = {"NoSuchKey", "404", "NotFound"}


_CONTENT_TYPES = {
    ".json": "application/json",
    ".html": "text/html; charset=utf-8",
    ".csv": "text/csv; charset=utf-8",
    ".md": "text/markdown; charset=utf-8",
}


def _content_type(key: str) -> str:
    return next((kind for suffix, kind in _CONTENT_TYPES.items() if key.endswith(suffix)), "application/gzip")


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


class S3Archive:
    def __init__(self, client: S3Client, bucket: str) -> None:
        self.client = client
        self.bucket = bucket

    def put(self, key: str, body: bytes, sha256: str) -> None:
        try:
            self.client.put_object(
                Bucket=self.bucket,
                Key=key,
                Body=body,
                IfNoneMatch="*",
                ChecksumAlgorithm="SHA256",
                ChecksumSHA256=base64.b64encode(bytes.fromhex(sha256)).decode(),
                ContentType=_content_type(key),
            )
            return
        except ClientError as exc:
            if _code(exc) not in _TAKEN:
                raise ArchiveUnavailable(f"S3 refused PutObject of {key}: {exc}") from exc
        except BotoCoreError as exc:
            raise ArchiveUnavailable(f"PutObject of {key} failed: {exc}") from exc
        if sha256_of(self.get(key)) != sha256:
            raise ArchiveConflict(f"a different object is already archived at {key}")

    def get(self, key: str) -> bytes:
        try:
            return self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        except ClientError as exc:
            if _code(exc) in _MISSING:
                raise ArchiveMissing(f"no object at {key}") from exc
            raise ArchiveUnavailable(f"S3 refused GetObject of {key}: {exc}") from exc
        except BotoCoreError as exc:
            raise ArchiveUnavailable(f"GetObject of {key} failed: {exc}") from exc

    def keys(self, prefix: str) -> list[str]:
        try:
            pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix)
            return sorted(item["Key"] for page in pages for item in page.get("Contents", []))
        except (ClientError, BotoCoreError) as exc:
            raise ArchiveUnavailable(f"S3 refused ListObjectsV2 under {prefix}: {exc}") from exc
