"""Reads one pinned object version forward from a byte offset.

Bytes come from the container cache when it holds them (after a 304 revalidation), otherwise from
one open-ended ranged GET pinned with `IfMatch=etag` (and `VersionId` on versioned buckets), read
incrementally so a hop that stops early has fetched little more than it used. What a hop fetched
past where it stopped is left in the cache for the next hop (keep_tail); nothing else is copied
there, since a read served from the cache saves a fetch only for the hop that follows on this
container (a retried hop seldom lands on it, and after a kill never does).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterator
from typing import Any

from botocore.exceptions import BotoCoreError

from .checkpoint import ObjectRef
from .etag_cache import CacheEntry, Changed, EtagCache
from .s3util import S3Client, is_missing, is_precondition_failed


class ObjectChangedError(Exception):
    """The object a run is pinned to is no longer the one in S3."""

    def __init__(self, bucket: str, key: str, pinned: str, current: str | None) -> None:
        self.bucket, self.key, self.pinned, self.current = bucket, key, pinned, current
        now = f"now has ETag {current}" if current else "was deleted"
        super().__init__(
            f"s3://{bucket}/{key} changed during the run: the run is pinned to ETag {pinned} "
            f"but the object {now}; versions are never mixed"
        )


# A dropped connection mid-body is not retried by botocore; reopen from where we are, a few times.
_STREAM_REOPENS = 4


class ObjectSource:
    def __init__(self, s3: S3Client, ref: ObjectRef, cache: EtagCache | None, chunk_size: int) -> None:
        self.s3 = s3
        self.ref = ref
        self.cache = cache
        self.chunk_size = chunk_size
        # Reads start small and double: a hop on a short timeout gets its first records quickly,
        # and one that stops early has fetched little it does not use.
        self._size = min(chunk_size, 64 * 1024)
        # The chunks handed out lately (references, not copies): where keep_tail finds the tail.
        self._recent: deque[tuple[int, bytes]] = deque()
        self._recent_bytes = 0
        self._recent_limit = 4 * chunk_size
        self.bytes_fetched = 0
        self.cache_hit = False
        # Time spent opening streams and revalidating: paid once per hop, not per batch.
        self.setup_ms = 0.0

    def chunks(self, offset: int) -> Iterator[bytes]:
        """Successive chunks of the object from `offset` to its end (none when offset == size)."""
        ref = self.ref
        entry: CacheEntry | None = None
        if self.cache is not None:
            started = time.perf_counter()
            found = self.cache.validated(self.s3, ref.bucket, ref.key, ref.etag, ref.version_id)
            self._timed(started)
            if isinstance(found, Changed):
                raise ObjectChangedError(ref.bucket, ref.key, ref.etag, found.current)
            entry = found
            if entry is not None and not entry.start <= offset <= entry.end:
                entry = None
            self.cache_hit = entry is not None
        if entry is not None:
            while offset < entry.end:
                chunk = entry.read(offset, self.chunk_size - offset % self.chunk_size)
                self._remember(offset, chunk)
                offset += len(chunk)
                yield chunk
        for chunk in self._fetch(offset):
            self._remember(offset, chunk)
            offset += len(chunk)
            yield chunk

    def keep_tail(self, offset: int) -> None:
        """Leave in the cache what was read past `offset`, where the hop stopped (the next hop's
        start), when the chunks remembered reach back to it; the entry this hop used goes."""
        if self.cache is None:
            return
        ref = self.ref
        self.cache.drop(ref.bucket, ref.key)
        tail = [(at, chunk) for at, chunk in self._recent if at + len(chunk) > offset]
        if not tail or tail[0][0] > offset:
            return
        end = tail[-1][0] + len(tail[-1][1])
        entry = self.cache.start(ref.bucket, ref.key, ref.etag, offset, end - offset)
        for at, chunk in tail:
            if entry is None or not entry.append(max(at, offset), chunk[max(0, offset - at) :]):
                return

    def _remember(self, offset: int, chunk: bytes) -> None:
        recent = self._recent
        recent.append((offset, chunk))
        self._recent_bytes += len(chunk)
        while self._recent_bytes - len(recent[0][1]) >= self._recent_limit:
            self._recent_bytes -= len(recent.popleft()[1])

    def _fetch(self, offset: int) -> Iterator[bytes]:
        reopens = 0
        while offset < self.ref.size:
            body = self._open(offset)
            try:
                while chunk := body.read(self._next_size(offset)):
                    self.bytes_fetched += len(chunk)
                    offset += len(chunk)
                    yield chunk
            except (BotoCoreError, OSError):
                pass  # the body broke off; reopen below from the current offset
            finally:
                body.close()
            if offset < self.ref.size:
                reopens += 1
                if reopens > _STREAM_REOPENS:
                    raise OSError(
                        f"reading s3://{self.ref.bucket}/{self.ref.key} broke off at byte {offset} of "
                        f"{self.ref.size} {reopens} times in a row"
                    )
                time.sleep(min(2.0, 0.05 * 2**reopens))

    def _next_size(self, offset: int) -> int:
        """Doubling up to chunk_size, each read ending at a multiple of chunk_size: a reader whose
        records are whole reads (see records.read_size) then hands them on without copying."""
        size = min(self._size, self.chunk_size - offset % self.chunk_size)
        self._size = min(self.chunk_size, self._size * 2)
        return size

    def _open(self, offset: int) -> Any:
        ref = self.ref
        params: dict[str, Any] = {
            "Bucket": ref.bucket,
            "Key": ref.key,
            "Range": f"bytes={offset}-",
            "IfMatch": ref.etag,
        }
        if ref.version_id:
            params["VersionId"] = ref.version_id
        started = time.perf_counter()
        try:
            return self.s3.get_object(**params)["Body"]
        except Exception as exc:
            if is_precondition_failed(exc) or is_missing(exc):
                raise ObjectChangedError(ref.bucket, ref.key, ref.etag, self._current_etag()) from None
            raise
        finally:
            self._timed(started)

    def _timed(self, started: float) -> None:
        self.setup_ms += (time.perf_counter() - started) * 1000

    def _current_etag(self) -> str | None:
        try:
            return str(self.s3.head_object(Bucket=self.ref.bucket, Key=self.ref.key)["ETag"])
        except Exception as exc:
            if is_missing(exc):
                return None
            raise
