"""A dict-backed archive with S3's write-once semantics as our adapter sees them, and a switch to refuse."""

from __future__ import annotations

from dataclasses import dataclass, field

from numberwatch.archive_format import sha256_of
from numberwatch.ports import ArchiveConflict, ArchiveMissing, ArchiveUnavailable


@dataclass
class FakeArchive:
    objects: dict[str, bytes] = field(default_factory=dict)
    refuse_writes: bool = False
    refuse_reads: bool = False
    refuse_writes_under: str | None = None  # refuse writes below this prefix only

    def put(self, key: str, body: bytes, sha256: str) -> None:
        if self.refuse_writes or (self.refuse_writes_under is not None and key.startswith(self.refuse_writes_under)):
            raise ArchiveUnavailable(f"S3 refused PutObject of {key}: AccessDenied")
        assert sha256_of(body) == sha256
        if key in self.objects and self.objects[key] != body:
            raise ArchiveConflict(f"a different object is already archived at {key}")
        self.objects.setdefault(key, body)

    def get(self, key: str) -> bytes:
        if self.refuse_reads:
            raise ArchiveUnavailable(f"S3 refused GetObject of {key}: AccessDenied")
        if key not in self.objects:
            raise ArchiveMissing(f"no object at {key}")
        return self.objects[key]

    def keys(self, prefix: str) -> list[str]:
        if self.refuse_reads:
            raise ArchiveUnavailable(f"S3 refused ListObjectsV2 under {prefix}: AccessDenied")
        return sorted(k for k in self.objects if k.startswith(prefix))

    def under(self, prefix: str) -> dict[str, bytes]:
        return {k: v for k, v in self.objects.items() if k.startswith(prefix)}
