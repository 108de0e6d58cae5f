"""JSON Lines: one JSON value per line.

Blank (white-space only) lines are skipped; a line that is not valid UTF-8 or not valid JSON is a
bad record; the last line may lack its newline; CRLF is fine. Lines are parsed with orjson, which
is several times faster than json.loads; orjson turns integers beyond 64 bits into floats, so lines
holding such long digit runs are parsed with json.loads instead, exactly.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import orjson

from .batch import BadRecord, Batch, OutOfTime
from .config import Config
from .textframe import UTF8_BOM, LineBuffer, LineTooLongError, OutOfTimeError, check_text

MODE = "jsonl"
OUTPUT_EXT = ".jsonl"

_LONG_DIGITS = re.compile(rb"\d{19}")


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _exact_loads(raw: bytes) -> Any:
    return json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)


def _why_bad(raw: bytes, exc: Exception) -> str:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as err:
        return f"invalid UTF-8 at byte {err.start} of the line"
    return f"invalid JSON: {exc}"


class RecordReader:
    def __init__(
        self, chunks: Iterator[bytes], offset: int, line: int, context: dict[str, Any], size: int, cfg: Config
    ) -> None:
        self._buf = LineBuffer(chunks, offset, cfg.max_record_bytes)
        self._line = line
        self._raw_limit = cfg.quarantine_raw_bytes
        self._lines: list[bytes] = []
        self._idx = 0
        self._pos = offset  # offset of self._lines[self._idx]
        self._exact = False
        self._first = offset == 0
        self.context = context

    def _load_window(self, out_of_time: OutOfTime) -> bool:
        window = self._buf.lines(out_of_time=out_of_time)
        if not window:
            return False
        if self._first:
            self._first = False
            check_text(window[:8192], "JSON Lines")
            if window.startswith(UTF8_BOM):
                self._buf.consume(len(UTF8_BOM))
                self._pos += len(UTF8_BOM)
                window = window[len(UTF8_BOM) :]
        self._buf.consume(len(window))
        lines = window.split(b"\n")
        if lines[-1] == b"":
            lines.pop()
        self._lines = lines
        self._idx = 0
        self._exact = _LONG_DIGITS.search(window) is not None
        return True

    def read_batch(self, max_lines: int, out_of_time: OutOfTime) -> Batch:
        batch = Batch()
        records = batch.records
        append = records.append
        loads = orjson.loads
        budget = max_lines
        while budget > 0:
            if self._idx >= len(self._lines):
                try:
                    if not self._load_window(out_of_time):
                        batch.eof = True
                        break
                except OutOfTimeError:
                    break
                except LineTooLongError as exc:
                    head, length = self._buf.skip_line(self._raw_limit)
                    self._line += 1
                    batch.bad.append(
                        BadRecord(
                            self._line, exc.offset, length, f"line longer than MAX_RECORD_BYTES ({exc.limit})", head
                        )
                    )
                    self._pos = exc.offset + length
                    budget -= 1
                    continue
            lines = self._lines
            start = self._idx
            stop = min(len(lines), start + budget)
            # Byte offsets are only worked out where needed (bad lines, a batch ending mid-window),
            # from a cursor that only moves forward: linear in the window, nothing per good line.
            mark_i, mark_pos = start, self._pos
            for i in range(start, stop):
                raw = lines[i]
                try:
                    if self._exact and _LONG_DIGITS.search(raw):
                        append(_exact_loads(raw))
                    else:
                        append(loads(raw))
                except (ValueError, UnicodeDecodeError, RecursionError) as exc:
                    if raw.strip():
                        mark_pos += sum(len(x) + 1 for x in lines[mark_i:i])
                        mark_i = i
                        line_no = self._line + i - start + 1
                        batch.bad.append(BadRecord(line_no, mark_pos, len(raw), _why_bad(raw, exc), raw))
            self._line += stop - start
            self._idx = stop
            if stop == len(lines):
                self._pos = self._buf.offset
            else:
                self._pos = mark_pos + sum(len(x) + 1 for x in lines[mark_i:stop])
            budget -= stop - start
        batch.offset = self._pos
        batch.line = self._line
        return batch


def encode_output(items: list[Any]) -> bytes:
    """JSON Lines; orjson, with json as the fallback for values orjson refuses (e.g. huge ints)."""
    return b"".join([_dumps(item) + b"\n" for item in items])


def _dumps(item: Any) -> bytes:
    try:
        return orjson.dumps(item)
    except TypeError:
        return json.dumps(item, ensure_ascii=True, separators=(",", ":"), allow_nan=False).encode()
