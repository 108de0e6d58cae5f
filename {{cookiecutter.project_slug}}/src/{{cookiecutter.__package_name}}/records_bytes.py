"""Bytes: the object as fixed-size chunks (the last may be shorter). Every offset is a boundary,
so there are no bad records; output items are bytes, concatenated."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .batch import Batch, OutOfTime
from .config import Config

MODE = "bytes"
OUTPUT_EXT = ".bin"


class RecordReader:
    def __init__(
        self, chunks: Iterator[bytes], offset: int, line: int, context: dict[str, Any], size: int, cfg: Config
    ) -> None:
        self._chunks = chunks
        self._offset = offset
        self._size = size
        self._chunk = cfg.bytes_chunk_size
        self._pending = b""
        self.context = context

    def read_batch(self, max_records: int, out_of_time: OutOfTime) -> Batch:
        batch = Batch()
        records = batch.records
        size = self._chunk
        pending = self._pending
        while len(records) < max_records:
            if len(pending) < size:
                piece = next(self._chunks, None)
                if piece is None:
                    if pending:
                        records.append(pending)
                        self._offset += len(pending)
                        pending = b""
                    batch.eof = True
                    break
                pending = pending + piece if pending else piece
                if len(pending) < size:
                    continue
            if len(pending) == size:
                records.append(pending)
                pending = b""
            else:
                records.append(pending[:size])
                pending = pending[size:]
            self._offset += size
            if records and out_of_time():
                break
        self._pending = pending
        batch.eof = batch.eof or (not pending and self._offset >= self._size)
        batch.offset = self._offset
        return batch


def encode_output(items: list[Any]) -> bytes:
    """Output items are bytes; the committed output is their concatenation."""
    for item in items:
        if not isinstance(item, (bytes, bytearray, memoryview)):
            raise TypeError(f"in bytes mode process_batch must return bytes items, got {type(item).__name__}")
    return b"".join(items)
