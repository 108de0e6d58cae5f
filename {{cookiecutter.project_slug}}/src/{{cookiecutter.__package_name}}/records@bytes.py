"""Bytes: the object as fixed-size chunks (the last may be shorter). Every offset is a boundary,
so there are no bad records; output items are bytes, concatenated."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from .batch import Batch, DeadlineCheck
from .config import Config
from .ranges import BoundedChunks

MODE = "bytes"
OUTPUT_EXT = ".bin"


# A batch holds at most this much (and at least one chunk): the first batch of a hop has no
# timing to go by yet, and 256 one-MiB chunks would outlast a short timeout.
BATCH_BYTES = 4 << 20


def read_size(cfg: Config) -> int:
    """The source's read size: whole records, so a record is one read, handed on as it came."""
    chunk = cfg.bytes_chunk_size
    return chunk * max(1, -(-cfg.read_chunk_bytes // chunk))


def range_context(context: dict[str, Any]) -> dict[str, Any] | None:
    """A range that begins mid-object needs nothing from the object's start."""
    return {}


def line_end(context: dict[str, Any]) -> bytes | None:
    """Records are chunks, not lines: a range bound is a multiple of the chunk size."""
    return None


def speculate_start(
    chunks_from: Callable[[int], Iterator[bytes]], bound: int, context: dict[str, Any]
) -> tuple[int, Iterator[bytes]]:
    """A range's first record begins at its bound (a multiple of the chunk size): no guess."""
    return bound, chunks_from(bound)


class RecordReader:
    def __init__(
        self,
        chunks: Iterator[bytes],
        offset: int,
        line: int,
        context: dict[str, Any],
        cfg: Config,
        bound: int | None = None,
    ) -> None:
        self._chunks = chunks if bound is None else BoundedChunks(chunks, offset, bound, None)
        self._offset = offset
        self._chunk = cfg.bytes_chunk_size
        self._pending = b""
        self._pos = 0  # where the unread part of _pending starts
        self.context = context

    def _take(self, size: int) -> bytes:
        """The next `size` bytes (fewer only at the end of the object), each byte copied at most
        once more: slicing off the rest of a read chunk per record would copy the chunk once per
        record (quadratic when records are much smaller than the reads)."""
        pending, pos = self._pending, self._pos
        if len(pending) - pos >= size:
            self._pos = pos + size
            return pending if pos == 0 and len(pending) == size else pending[pos : pos + size]
        pieces = [pending[pos:]] if pos < len(pending) else []
        have = len(pending) - pos
        while have < size:
            piece = next(self._chunks, None)
            if piece is None:
                break
            pieces.append(piece)
            have += len(piece)
        data = pieces[0] if len(pieces) == 1 else b"".join(pieces)
        self._pending, self._pos = data, min(size, len(data))
        return data[:size] if len(data) > size else data

    def read_batch(self, max_records: int, out_of_time: DeadlineCheck) -> Batch:
        batch = Batch()
        records = batch.records
        taken = 0
        limit = max(self._chunk, BATCH_BYTES)
        # The end is where the bytes run out: a gzip object's decompressed size is not known ahead.
        while len(records) < max_records and taken < limit:
            record = self._take(self._chunk)
            if not record:
                batch.eof = True
                break
            records.append(record)
            self._offset += len(record)
            taken += len(record)
            if len(record) < self._chunk:
                batch.eof = True
                break
            if out_of_time():
                break
        batch.offset = self._offset
        return batch


def encode_output(items: list[Any]) -> bytes:
    """Output items are bytes; the committed output is their concatenation."""
    for item in items:
        if not isinstance(item, (bytes, bytearray, memoryview)):
            raise TypeError(f"in bytes mode process_batch must return bytes items, got {type(item).__name__}")
    return b"".join(items)
