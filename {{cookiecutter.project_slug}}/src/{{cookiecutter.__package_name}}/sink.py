"""Output and quarantine of one hop attempt, written so that only a committed checkpoint makes them count.

Each attempt writes its parts under keys of its own (hop + attempt id), never overwriting anyone's.
The checkpoint that wins the conditional commit lists the parts of the attempt that wrote it; the
final manifest lists exactly the parts of the committed chain. A killed, duplicate or losing
attempt leaves orphans that nothing lists (and the lifecycle rule can delete), so every output
record is committed exactly once, in input order.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from .batch import BadRecord
from .checkpoint import Part
from .layout import RunLayout
from .s3util import S3Client


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
        on_put: Callable[[float, int], None] | None = None,
    ) -> None:
        self.s3 = s3
        self.bucket = bucket
        self.layout = layout
        self.hop = hop
        self.attempt = attempt
        self.ext = ext
        self.part_bytes = part_bytes
        self.raw_limit = raw_limit
        self.on_put = on_put
        self.parts: list[Part] = []
        self.quarantine: list[Part] = []
        self._chunks: list[bytes] = []
        self._pending = 0
        self._items = 0
        self._bad: list[dict[str, Any]] = []
        self.put_ms = 0.0  # time spent uploading parts (excluded from batch timings)

    @property
    def pending_bytes(self) -> int:
        return self._pending

    def add(self, encoded: bytes, items: int) -> None:
        if encoded:
            self._chunks.append(encoded)
            self._pending += len(encoded)
        self._items += items
        if self._pending >= self.part_bytes:
            self._flush_part()

    def add_bad(self, bad: list[BadRecord]) -> None:
        self._bad.extend(b.to_doc(self.raw_limit) for b in bad)

    def _flush_part(self) -> None:
        if not self._items and not self._pending:
            return
        body = b"".join(self._chunks)
        key = self.layout.part(self.hop, self.attempt, len(self.parts), self.ext)
        started = time.perf_counter()
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=body)
        elapsed = (time.perf_counter() - started) * 1000
        self.put_ms += elapsed
        if self.on_put is not None:
            self.on_put(elapsed, len(body))
        self.parts.append(Part(key=key, items=self._items, bytes=len(body)))
        self._chunks, self._pending, self._items = [], 0, 0

    def flush(self) -> None:
        """Write what is buffered; called just before the checkpoint commit."""
        self._flush_part()
        if self._bad:
            key = self.layout.quarantine(self.hop, self.attempt)
            body = b"".join(json.dumps(doc, ensure_ascii=False).encode() + b"\n" for doc in self._bad)
            self.s3.put_object(Bucket=self.bucket, Key=key, Body=body, ContentType="application/x-ndjson")
            self.quarantine.append(Part(key=key, items=len(self._bad), bytes=len(body)))
            self._bad = []
