"""CSV per RFC 4180, read with the csv module (quoted fields may hold commas, quotes and newlines;
LF or CRLF line ends; an optional UTF-8 BOM). The first non-blank row is the header; it is carried
in the checkpoint to every later hop. Each other row becomes a dict from header names to strings;
a row whose field count differs from the header's, that holds invalid UTF-8, or that the csv
module rejects is a bad record. Blank lines are skipped, as csv.DictReader does.

Speed: csv.reader plus dict(zip(header, row)) beats csv.DictReader by ~1.6x. Framing: windows of
whole lines are parsed in one go; whether the window's last row was complete (a quoted field can
run past the window) is learnt from a sentinel line appended after it: if the sentinel comes back
as its own row, every row before it was complete; if it was swallowed, the last row continues in
the next window. No character-by-character scanning in Python.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from typing import Any

import orjson

from .batch import BadRecord, Batch, InputFormatError, OutOfTime, RecordTooLargeError
from .config import Config
from .textframe import UTF8_BOM, LineBuffer, LineTooLongError, OutOfTimeError, check_text

MODE = "csv"
OUTPUT_EXT = ".jsonl"

_SENTINEL = "\ufdd0\ufdd1 end-of-window \ufdd1\ufdd0"
_SENTINEL_ROW = [_SENTINEL]
_SURROGATE = re.compile("[\udc80-\udcff]")

# Rows are bounded by MAX_RECORD_BYTES instead of the csv module's 128 KiB default field limit.
csv.field_size_limit((1 << 31) - 1)


class _Window:
    """One parsed window: its bytes, its rows, and a cursor mapping line numbers to byte offsets."""

    def __init__(self, data: bytes, offset: int, at_eof: bool, strip_bom: bool) -> None:
        self.data = data
        self.offset = offset
        try:
            text = data.decode("utf-8")
            self.dirty = False
        except UnicodeDecodeError:
            text = data.decode("utf-8", "surrogateescape")
            self.dirty = True
        if strip_bom and text.startswith("\ufeff"):
            text = text[1:]
        if not text.endswith("\n"):
            text += "\n"
        self.total_lines = text.count("\n") + 1  # with the sentinel line
        self.reader = csv.reader(io.StringIO(text + _SENTINEL + "\n", newline="\n"))
        self.at_eof = at_eof
        self._cur_line = 0
        self._cur_pos = 0

    def byte_offset(self, line: int) -> int:
        """Object offset where local line `line` (0-based) starts."""
        data, pos = self.data, self._cur_pos
        if line < self._cur_line:
            self._cur_line, pos = 0, 0
        for _ in range(line - self._cur_line):
            pos = data.find(b"\n", pos) + 1
            if pos == 0:
                pos = len(data)
                break
        self._cur_line, self._cur_pos = line, pos
        return self.offset + pos


class RecordReader:
    def __init__(
        self, chunks: Iterator[bytes], offset: int, line: int, context: dict[str, Any], size: int, cfg: Config
    ) -> None:
        self._buf = LineBuffer(chunks, offset, cfg.max_record_bytes)
        self._line = line  # lines of the object before self._buf.offset
        self._first = offset == 0
        self._win: _Window | None = None
        self._win_line = 0  # lines of the open window consumed so far
        self._carry = 0  # bytes of an incomplete row at the buffer's start: frame beyond them
        header = context.get("header")
        self._header: list[str] | None = list(header) if header is not None else None
        self.context = context

    def read_batch(self, max_records: int, out_of_time: OutOfTime) -> Batch:
        batch = Batch()
        budget = max_records
        while budget > 0:
            win = self._win
            if win is None:
                try:
                    win = self._open_window(out_of_time)
                except OutOfTimeError:
                    break
                if win is None:
                    batch.eof = True
                    break
            budget = self._parse(win, budget, batch)
        if self._win is not None:
            batch.offset = self._win.byte_offset(self._win_line)
            batch.line = self._line + self._win_line
        else:
            batch.offset = self._buf.offset
            batch.line = self._line
        return batch

    def _open_window(self, out_of_time: OutOfTime) -> _Window | None:
        try:
            data = self._buf.lines(beyond=self._carry, out_of_time=out_of_time)
        except LineTooLongError as exc:
            raise RecordTooLargeError(
                f"the CSV row starting at line {self._line + 1} (byte offset {self._buf.offset}) is longer "
                f"than MAX_RECORD_BYTES ({exc.limit} bytes). This is almost always a quote that is never "
                "closed; fix the file, or raise MAX_RECORD_BYTES if rows really are that long"
            ) from None
        if not data:
            return None
        strip_bom = False
        if self._first:
            self._first = False
            check_text(data[:8192], "CSV")
            strip_bom = data.startswith(UTF8_BOM)
        self._win = _Window(data, self._buf.offset, self._buf.eof, strip_bom)
        self._win_line = 0
        self._carry = 0
        return self._win

    def _parse(self, win: _Window, budget: int, batch: Batch) -> int:
        """Rows of the open window until the budget is spent or the window ends; returns the budget left."""
        reader = win.reader
        records = batch.records
        header = self._header
        width = len(header) if header is not None else -1
        last_line = win.total_lines
        dirty = win.dirty
        while budget > 0:
            start = self._win_line
            try:
                row = next(reader)
            except csv.Error as exc:
                self._win_line = reader.line_num
                batch.bad.append(self._bad(win, start, self._win_line, f"malformed CSV: {exc}"))
                budget -= 1
                continue
            end = reader.line_num
            if end >= last_line:  # the sentinel line has been read
                if row == _SENTINEL_ROW:
                    self._close_window(win, start)
                elif win.at_eof:
                    self._unclosed_quote(win, start, batch)
                else:
                    self._carry = len(win.data) - (win.byte_offset(start) - win.offset)
                    self._close_window(win, start)
                return budget
            self._win_line = end
            budget -= 1
            if len(row) == width:
                if dirty and _SURROGATE.search("".join(row)):
                    batch.bad.append(self._bad(win, start, end, "invalid UTF-8"))
                else:
                    records.append(dict(zip(header, row)))  # type: ignore[arg-type]
            elif not row:
                continue  # a blank line
            elif header is None:
                if dirty and _SURROGATE.search("".join(row)):
                    raise InputFormatError(f"the CSV header (line {self._line + start + 1}) is not valid UTF-8")
                header = self._header = row
                width = len(row)
                self.context = {"header": row}
            elif dirty and _SURROGATE.search("".join(row)):
                batch.bad.append(self._bad(win, start, end, "invalid UTF-8"))
            else:
                batch.bad.append(self._bad(win, start, end, f"has {len(row)} fields, the header has {width}"))
        return budget

    def _close_window(self, win: _Window, lines: int) -> None:
        """Consume the window's first `lines` lines; the rest (if any) is framed again next time."""
        self._buf.consume(win.byte_offset(lines) - win.offset)
        self._line += lines
        self._win = None
        self._win_line = 0

    def _unclosed_quote(self, win: _Window, start: int, batch: Batch) -> None:
        lo = win.byte_offset(start)
        raw = win.data[lo - win.offset :]
        batch.bad.append(
            BadRecord(
                self._line + start + 1,
                lo,
                len(raw),
                "unclosed quote: the quoted field never ends before the end of the object",
                raw,
            )
        )
        self._close_window(win, win.total_lines - 1)

    def _bad(self, win: _Window, start: int, end: int, reason: str) -> BadRecord:
        lo = win.byte_offset(start)
        hi = win.byte_offset(end)
        return BadRecord(self._line + start + 1, lo, hi - lo, reason, win.data[lo - win.offset : hi - win.offset])


def encode_output(items: list[Any]) -> bytes:
    """JSON Lines, one item per line."""
    return b"".join([_dumps(item) + b"\n" for item in items])


def _dumps(item: Any) -> bytes:
    try:
        return orjson.dumps(item)
    except TypeError:
        return json.dumps(item, ensure_ascii=True, separators=(",", ":"), allow_nan=False).encode()
