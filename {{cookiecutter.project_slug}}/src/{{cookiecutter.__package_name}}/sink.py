"""Output and quarantine of one hop attempt, written so that only a committed checkpoint makes them count.

Both are spooled: items are encoded as they come and written out in parts of about PART_BYTES, so
a hop holds at most one part of each in memory, however much output or how many bad records it
meets, and `pending_bytes` (what the commit must still upload) counts both. Output parts go to
staging keys of this attempt under the state prefix; the checkpoint that wins the conditional
commit lists them with their output keys, and `publish` copies them there. A killed, duplicate or
losing attempt leaves only staging and quarantine objects that nothing lists (the lifecycle rule
expires them), so the output prefix holds committed output only, each record exactly once.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable

from .batch import BadRecord
from .checkpoint import Part
from .layout import RunLayout
from .s3util import S3Client, in_parallel

# Server-side copies run this many at a time when a hop publishes its parts (deadline.py counts on it).
PUBLISH_THREADS = 8
OnPut = Callable[[float, int], None]


class _Spool:
    """Encoded chunks of one kind, written out as a part whenever they reach `part_bytes`."""

    def __init__(self, write: Callable[[int, bytes, int], Part], part_bytes: int) -> None:
        self.write = write
        self.part_bytes = part_bytes
        self.parts: list[Part] = []
        self._chunks: list[bytes] = []
        self.pending = 0
        self._items = 0

    def add(self, encoded: bytes, items: int) -> None:
        if encoded:
            self._chunks.append(encoded)
            self.pending += len(encoded)
        self._items += items
        if self.pending >= self.part_bytes:
            self.flush()

    def flush(self) -> None:
        if not self._items and not self.pending:
            return
        self.parts.append(self.write(len(self.parts), b"".join(self._chunks), self._items))
        self._chunks, self.pending, self._items = [], 0, 0


class AttemptSink:
    def __init__(
        self,
        s3: S3Client,
        bucket: str,
        layout: RunLayout,
        hop: int,
        attempt: str,
        ext: str,
        part_bytes: int,
        raw_limit: int,
        on_put: OnPut | None = None,
    ) -> None:
        self.s3 = s3
        self.bucket = bucket
        self.layout = layout
        self.hop = hop
        self.attempt = attempt
        self.ext = ext
        self.raw_limit = raw_limit
        self.on_put = on_put
        self.put_ms = 0.0  # time spent uploading parts (excluded from batch timings)
        self._output = _Spool(self._write_output, part_bytes)
        self._bad = _Spool(self._write_quarantine, part_bytes)

    @property
    def parts(self) -> list[Part]:
        return self._output.parts

    @property
    def quarantine(self) -> list[Part]:
        return self._bad.parts

    @property
    def pending_bytes(self) -> int:
        """Bytes buffered for upload, output and quarantine together."""
        return self._output.pending + self._bad.pending

    @property
    def unpublished(self) -> tuple[int, int]:
        """Output parts the commit will copy to the output prefix (written, and the one buffered),
        and their bytes."""
        written = sum(p.bytes for p in self._output.parts)
        return len(self._output.parts) + (1 if self._output.pending else 0), written + self._output.pending

    def add(self, encoded: bytes, items: int) -> None:
        self._output.add(encoded, items)

    def add_bad(self, bad: list[BadRecord], where: dict[str, int] | None = None) -> None:
        if bad:
            docs = (json.dumps({**b.to_doc(self.raw_limit), **(where or {})}, ensure_ascii=False) for b in bad)
            self._bad.add(("\n".join(docs) + "\n").encode(), len(bad))

    def flush(self) -> None:
        """Write what is buffered; called just before the checkpoint commit."""
        self._output.flush()
        self._bad.flush()

    def _put(self, key: str, body: bytes, content_type: str) -> None:
        started = time.perf_counter()
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=body, ContentType=content_type)
        elapsed = (time.perf_counter() - started) * 1000
        self.put_ms += elapsed
        if self.on_put is not None:
            self.on_put(elapsed, len(body))

    def _write_output(self, seq: int, body: bytes, items: int) -> Part:
        staged = self.layout.staged_part(self.hop, self.attempt, seq, self.ext)
        self._put(staged, body, "application/octet-stream")
        return Part(key=self.layout.part(self.hop, seq, self.ext), items=items, bytes=len(body), staged=staged)

    def _write_quarantine(self, seq: int, body: bytes, items: int) -> Part:
        key = self.layout.quarantine(self.hop, self.attempt, seq)
        self._put(key, body, "application/x-ndjson")
        return Part(key=key, items=items, bytes=len(body))


def publish(s3: S3Client, bucket: str, parts: Iterable[Part]) -> None:
    """Copy committed parts from staging to their output keys. Idempotent: every attempt that
    finishes a committed hop's work copies the same bytes to the same keys."""
    todo = [p for p in parts if p.staged]

    def copy(part: Part) -> None:
        s3.copy_object(Bucket=bucket, Key=part.key, CopySource={"Bucket": bucket, "Key": part.staged})

    in_parallel(copy, todo, PUBLISH_THREADS)
