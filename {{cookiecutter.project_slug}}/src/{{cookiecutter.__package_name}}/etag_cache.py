"""Container-local cache of object bytes, keyed by bucket/key and pinned to an ETag.

Lambda often runs hop k+1 on the container that just ran hop k, so the bytes hop k fetched but
did not consume (its read-ahead, from where it stopped) can be served locally. The cache is never
trusted blindly: every use is revalidated with `GetObject(IfNoneMatch=etag)` (a 304 means the copy
is current), and a container can be recycled at any time, so it is never assumed present. Small
entries live in memory, larger ones in /tmp; entries are evicted least-recently-used by bytes.

An entry holds one contiguous byte range [start, end) of one object version: hops only move
forward, so a range that begins where the next hop begins is all a chain can reuse.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from .s3util import S3Client, is_missing, is_not_modified

# Disk entries are named by the SHA-256 of bucket/key.
_ENTRY_NAME = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class Changed:
    """What revalidation found instead of the cached version: S3 has another ETag (None: the
    object is gone). The entry is dropped; the reader decides what a change means for it."""

    current: str | None


@dataclass
class CacheEntry:
    bucket: str
    key: str
    etag: str
    start: int
    end: int
    reserved: int
    path: str | None = None
    data: bytearray = field(default_factory=bytearray)
    # One descriptor for the entry's life: opening the file per chunk cost more than writing it.
    fd: int = -1

    def read(self, offset: int, length: int) -> bytes:
        stop = min(self.end, offset + length)
        if self.path is None:
            return bytes(self.data[offset - self.start : stop - self.start])
        return os.pread(self.fd, stop - offset, offset - self.start)

    def append(self, offset: int, chunk: bytes) -> bool:
        """Extend the entry; False (and no change) unless `chunk` starts exactly at its end."""
        if offset != self.end or self.end + len(chunk) > self.start + self.reserved:
            return False
        if self.path is None:
            self.data += chunk
        else:
            try:
                os.pwrite(self.fd, chunk, self.end - self.start)
            except OSError:  # /tmp full (the user's files share it): stop caching, not the hop
                self.reserved = self.end - self.start
                return False
        self.end += len(chunk)
        return True

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
        if self.path is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.path)


class EtagCache:
    """LRU by bytes over two budgets: memory for objects up to the memory budget, else /tmp."""

    def __init__(self, memory_budget: int, disk_budget: int, directory: str) -> None:
        self.memory_budget = memory_budget
        self.disk_budget = disk_budget
        self.directory = directory
        self._entries: OrderedDict[tuple[str, str], CacheEntry] = OrderedDict()
        # A fresh container may find files of a previous one's module state in /tmp: they are
        # unknowable, so start clean; only files this cache names (and nothing else in CACHE_DIR).
        with contextlib.suppress(OSError):
            for name in os.listdir(directory):
                if _ENTRY_NAME.fullmatch(name):
                    with contextlib.suppress(OSError):
                        os.unlink(os.path.join(directory, name))

    def _used(self, on_disk: bool) -> int:
        return sum(e.reserved for e in self._entries.values() if (e.path is not None) == on_disk)

    def validated(
        self, s3: S3Client, bucket: str, key: str, etag: str, version_id: str | None
    ) -> CacheEntry | Changed | None:
        """The entry for this object version if S3 confirms it is current; Changed when S3 holds
        another version (or none); None when nothing is cached for it."""
        entry = self._entries.get((bucket, key))
        if entry is None:
            return None
        if entry.etag != etag:
            self.drop(bucket, key)
            return None
        params: dict[str, Any] = {"Bucket": bucket, "Key": key, "IfNoneMatch": etag}
        if version_id:
            params["VersionId"] = version_id
        try:
            resp = s3.get_object(**params)
        except Exception as exc:
            if is_not_modified(exc):
                self._entries.move_to_end((bucket, key))
                return entry
            if is_missing(exc):
                self.drop(bucket, key)
                return Changed(None)
            raise
        # 200: S3 has another version. Do not read its body; the run must not mix versions.
        resp["Body"].close()
        self.drop(bucket, key)
        return Changed(resp.get("ETag"))

    def start(self, bucket: str, key: str, etag: str, offset: int, need: int) -> CacheEntry | None:
        """A new empty entry for `need` bytes from `offset`, or None when they do not fit."""
        self.drop(bucket, key)
        on_disk = need > self.memory_budget
        budget = self.disk_budget if on_disk else self.memory_budget
        if need <= 0 or need > budget:
            return None
        while self._used(on_disk) + need > budget:
            victim = next((k for k, e in self._entries.items() if (e.path is not None) == on_disk), None)
            if victim is None:
                return None
            self.drop(*victim)
        path = None
        fd = -1
        if on_disk:
            path = os.path.join(self.directory, hashlib.sha256(f"{bucket}/{key}".encode()).hexdigest())
            try:
                os.makedirs(self.directory, exist_ok=True)
                fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
            except OSError:  # /tmp unusable: no disk cache for this container, and no failed hop
                self.disk_budget = 0
                return None
        entry = CacheEntry(bucket, key, etag, offset, offset, need, path, fd=fd)
        self._entries[(bucket, key)] = entry
        return entry

    def drop(self, bucket: str, key: str) -> None:
        entry = self._entries.pop((bucket, key), None)
        if entry is not None:
            entry.close()
