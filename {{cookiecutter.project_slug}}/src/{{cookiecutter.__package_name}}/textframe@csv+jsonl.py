"""Framing text objects into complete lines, shared by the CSV and JSON Lines readers.

Windows always end just after a b"\n". That byte never occurs inside a multi-byte UTF-8 sequence,
so a window never splits a character, and every offset handed out sits on a line boundary.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import orjson

from .batch import DeadlineCheck, InputFormatError
from .config import Config
from .decoded import OTHER_COMPRESSION
from .inflate import GZIP_MAGIC

UTF8_BOM = b"\xef\xbb\xbf"

# Magic numbers of formats people upload to a text processor by mistake (compressed ones reach it
# inside a gzip object, whose content is checked here after decoding).
_MAGIC = (
    (GZIP_MAGIC, "gzip-compressed data"),
    *OTHER_COMPRESSION,
    (b"PAR1", "a Parquet file"),
    (b"\x89PNG", "a PNG image"),
    (b"%PDF", "a PDF document"),
    (b"\x00\x00\xfe\xff", "UTF-32 text (convert it to UTF-8)"),
    (b"\xff\xfe\x00\x00", "UTF-32 text (convert it to UTF-8)"),
    (b"\xfe\xff", "UTF-16 text (convert it to UTF-8)"),
    (b"\xff\xfe", "UTF-16 text (convert it to UTF-8)"),
)


def read_size(cfg: Config) -> int:
    """The source's read size: text is framed into lines whatever the reads are."""
    return cfg.read_chunk_bytes


class LineTooLongError(Exception):
    def __init__(self, offset: int, limit: int) -> None:
        super().__init__(f"no line break within {limit} bytes of offset {offset}")
        self.offset = offset
        self.limit = limit


class OutOfTimeError(Exception):
    """Raised inside a read when the hop must stop; the caller keeps what it has."""


def check_text(head: bytes, mode: str) -> None:
    """Refuse, with a clear message, an object that is plainly not text: only on strong evidence
    (a known magic number or byte-order mark, or mostly NUL bytes), since refusing is for the
    whole object. A stray NUL in a line is the line's business (a bad JSON line is quarantined)."""
    for magic, what in _MAGIC:
        if head.startswith(magic):
            raise InputFormatError(
                f"the object starts like {what}, not {mode} text; decompress or convert it before "
                f"uploading, or generate a project with processing_mode=bytes"
            )
    sample = head[:8192]
    if sample.count(b"\x00") * 4 > len(sample):
        raise InputFormatError(
            f"the object is mostly NUL bytes near its start, so it is binary or UTF-16/32, not {mode} "
            "text (convert UTF-16 text to UTF-8 first)"
        )


class LineBuffer:
    """Bytes of an object from `offset`, handed out in runs of complete lines."""

    def __init__(self, chunks: Iterator[bytes], offset: int, max_record_bytes: int, slack: int = 0) -> None:
        self._chunks = chunks
        self.offset = offset
        self.max_record_bytes = max_record_bytes
        # The buffer always starts at the record being framed. Its bytes may include up to `slack`
        # bytes that do not count towards the record's length (a CR before the LF that has not
        # arrived yet); past max + slack the record is too long for certain, wherever the chunk
        # boundaries fell, so the reader's own per-record check and this one always agree.
        self._limit = max_record_bytes + slack
        self._buf = b""
        self.eof = False

    def lines(self, beyond: int = 0, out_of_time: DeadlineCheck | None = None) -> bytes:
        """Buffered bytes up to the last newline, longer than `beyond`; at the end, all that is left.

        Pulls chunks as needed. Raises LineTooLongError when more than MAX_RECORD_BYTES would be
        needed, and OutOfTimeError when `out_of_time` says so before another pull.
        """
        buf = self._buf
        cut = buf.rfind(b"\n") + 1
        if cut > beyond:
            return buf[:cut] if cut < len(buf) else buf
        pending = [buf]
        size = len(buf)
        while not self.eof:
            if size > self._limit:
                self._buf = b"".join(pending)
                raise LineTooLongError(self.offset, self.max_record_bytes)
            if out_of_time is not None and out_of_time():
                self._buf = b"".join(pending)
                raise OutOfTimeError
            chunk = next(self._chunks, None)
            if chunk is None:
                self.eof = True
                break
            pending.append(chunk)
            size += len(chunk)
            nl = chunk.rfind(b"\n")
            if nl >= 0 and size - len(chunk) + nl + 1 > beyond:
                break
        self._buf = buf = b"".join(pending)
        if self.eof:
            return buf
        cut = buf.rfind(b"\n") + 1
        return buf[:cut] if cut < len(buf) else buf

    def consume(self, n: int) -> None:
        self._buf = self._buf[n:]
        self.offset += n

    def skip_line(self, keep: int, out_of_time: DeadlineCheck) -> tuple[bytes, int, bool]:
        """Drop bytes up to and including the next newline, pulling more only while `out_of_time`
        allows (a line may be gigabytes long). Returns the first `keep` bytes dropped, how many
        were dropped (the newline not counted), and whether the line ended (newline or end of
        object); if not, the caller carries on from `offset` in a later call, or a later hop."""
        head = self._buf[:keep]
        length = 0
        while True:
            nl = self._buf.find(b"\n")
            if nl >= 0:
                length += nl
                self.consume(nl + 1)
                return head, length, True
            length += len(self._buf)
            self.offset += len(self._buf)
            self._buf = b""
            if out_of_time():
                return head, length, False
            chunk = next(self._chunks, None)
            if chunk is None:
                self.eof = True
                return head, length, True
            self._buf = chunk
            if len(head) < keep:
                head += chunk[: keep - len(head)]

    @property
    def exhausted(self) -> bool:
        return self.eof and not self._buf


def encode_output(items: list[Any]) -> bytes:
    """The output of both text modes: JSON Lines; orjson, with json as the fallback for values orjson
    refuses (e.g. integers beyond 64 bits)."""
    return b"".join([_dumps(item) + b"\n" for item in items])


def _dumps(item: Any) -> bytes:
    try:
        return orjson.dumps(item)
    except TypeError:
        return json.dumps(item, ensure_ascii=True, separators=(",", ":"), allow_nan=False).encode()
