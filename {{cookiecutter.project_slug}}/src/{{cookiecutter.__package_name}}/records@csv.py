"""CSV per RFC 4180, read with the csv module (quoted fields may hold commas, quotes and newlines;
LF, CRLF or CR-only line ends; an optional UTF-8 BOM). The first non-blank row is the header; it is carried
in the checkpoint to every later hop. Each other row becomes a dict from header names to strings;
a row whose field count differs from the header's, that holds invalid UTF-8, or that the csv
module rejects is a bad record. Blank lines are skipped, as csv.DictReader does.

Framing: windows of whole lines are parsed in one go; whether the window's last row was complete
(a quoted field can run past the window) is learnt from a sentinel line appended after it: if the
sentinel comes back as its own row, every row before it was complete; if it was swallowed, the last
row continues in the next window. No character-by-character scanning in Python.

CR-only files (classic Mac exports): detected at the start of the object and kept in the reader
context; their bytes are read with CR and LF swapped (same length, so offsets stay exact), framed
like any LF file, and every field, header name and quarantined line is swapped back.

Speed: a batch is first parsed in bulk (rows turned into dicts by map/zip, all in C), which is
right whenever every row has the header's width. When every line of the window is one row, lines
without a quote are split with str.split and only those with one go through the csv module;
otherwise the csv reader reads the window through islice. Anything unusual in the batch (a ragged,
blank or undecodable row, a csv error, a quoted field spanning lines, the window's end) sends that
batch through the row-by-row path instead, from the same line, so all paths give identical results.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import itertools
import re
from collections.abc import Callable, Iterator
from functools import partial
from itertools import accumulate, compress, islice, repeat
from typing import Any

from .batch import BadRecord, Batch, DeadlineCheck, InputFormatError, RecordTooLargeError
from .config import Config
from .ranges import BoundedChunks, find_line_start, prepend
from .textframe import UTF8_BOM, LineBuffer, LineTooLongError, OutOfTimeError, check_text
from .textframe import encode_output as encode_output  # the mode's output: JSON Lines
from .textframe import read_size as read_size

MODE = "csv"
OUTPUT_EXT = ".jsonl"

_SENTINEL = "\ufdd0\ufdd1 end-of-window \ufdd1\ufdd0"
# zip(..., strict=True) as a C callable for map(): a row of the wrong width raises inside the bulk path.
_zip_strict = partial(zip, strict=True)
_SURROGATE = re.compile("[\udc80-\udcff]")

_BYTE_SWAP = bytes.maketrans(b"\r\n", b"\n\r")
_TEXT_SWAP = str.maketrans("\r\n", "\n\r")
_BREAK_OR_QUOTE = re.compile(rb'["\r\n]')

# Rows are bounded by MAX_RECORD_BYTES instead of the csv module's 128 KiB default field limit.
csv.field_size_limit((1 << 31) - 1)


class _Window:
    """One decoded window: its bytes and text, a csv reader over the text, and offset arithmetic.

    Positions inside the window are tracked as (line, character) pairs, read from the reader's
    line_num and its StringIO's tell(); characters become byte offsets by encoding the text in
    between (C speed), so nothing is done per row in Python for offsets.
    """

    def __init__(self, data: bytes, offset: int, at_eof: bool, strip_bom: bool, width: int) -> None:
        self.data = data
        self.offset = offset
        try:
            text = data.decode("utf-8")
            self.dirty = False
        except UnicodeDecodeError:
            text = data.decode("utf-8", "surrogateescape")
            self.dirty = True
        self._bom = 0
        if strip_bom and text.startswith("\ufeff"):
            text = text[1:]
            self._bom = len(UTF8_BOM)
        if not text.endswith("\n"):
            text += "\n"
        self.real_lines = text.count("\n")
        self.real_chars = len(text)
        # The sentinel row has the header's width, so the bulk path turns it into a dict like any
        # other row and only has to drop it, rather than fail over to the row-by-row path.
        self.sentinel_row = [_SENTINEL] * width
        self.text = text + ",".join(self.sentinel_row) + "\n"
        self.total_lines = self.real_lines + 1  # with the sentinel line
        self.at_eof = at_eof
        self.ascii = data.isascii()
        self.slow = False
        self._line_base = 0
        self._char_base = 0
        self._stream = io.StringIO(self.text, newline="\n")
        self.reader = csv.reader(self._stream)
        self._cursor = (0, self._bom)  # (character, byte) pairs only move forward
        self._plain: tuple[list[str], list[int]] | bool | None = False  # False: not worked out yet

    def plain(self) -> tuple[list[str], list[int]] | None:
        """The window's lines, when each may be one row: valid UTF-8, no blank line (the csv module
        skips those) and CR only as part of CRLF. A quoted field can still span lines; _split_rows
        finds out. Returns the lines (without line breaks) and the cumulative character counts
        from which each line's start is found; else None.
        """
        if self._plain is not False:
            return self._plain  # type: ignore[return-value]
        result = None
        text = self.text[: self.real_chars]
        if not self.dirty:
            raw = text.split("\n")
            raw.pop()  # the text ends with a line break
            lines: list[str] | None = raw
            if "\r" in text:
                crlf = text.count("\r\n")
                lines = text.replace("\r\n", "\n").split("\n")[:-1] if text.count("\r") == crlf else None
            if lines is not None and "" not in lines:
                result = (lines, list(accumulate(map(len, raw), initial=0)))
        self._plain = result
        return result

    def restart_at(self, line: int, char: int) -> None:
        """A fresh reader from window line `line` / character `char` (after a bulk attempt read past it)."""
        self._stream = io.StringIO(self.text[char:], newline="\n")
        self.reader = csv.reader(self._stream)
        self._line_base, self._char_base = line, char

    def where(self) -> tuple[int, int]:
        """(line, character) in the window just after the last row read."""
        return self._line_base + self.reader.line_num, self._char_base + self._stream.tell()

    def byte_offset(self, char: int) -> int:
        """Object offset of window character `char` (a line start, so never inside a character)."""
        if char >= self.real_chars:
            return self.offset + len(self.data)
        if self.ascii:
            return self.offset + char
        cur_char, cur_byte = self._cursor
        if char < cur_char:
            cur_char, cur_byte = 0, self._bom
        cur_byte += len(self.text[cur_char:char].encode("utf-8", "surrogateescape"))
        self._cursor = (char, cur_byte)
        return self.offset + cur_byte


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
        self._last_row = False  # the stream was lifted past the limit: one more row, then the end
        self._done = False
        if offset == 0 and "newline" not in context:
            chunks, newline = _detect_newline(chunks)
            if newline == "cr":  # kept for later hops; LF or CRLF needs no note
                context["newline"] = newline
        self._swap = context.get("newline") == "cr"
        if self._swap:
            chunks = (chunk.translate(_BYTE_SWAP) for chunk in chunks)
        # A range's stream (fan-out) ends at its limit unless the last row runs past it.
        self._bounded = None if bound is None else BoundedChunks(chunks, offset, bound, b"\n")
        if self._bounded is not None:
            chunks = self._bounded
        # A row's length counts its line break; up to 1 byte of one (a CR) may precede the LF.
        self._buf = LineBuffer(chunks, offset, cfg.max_record_bytes, slack=1)
        self._max_row = cfg.max_record_bytes
        self._line = line  # lines of the object before self._buf.offset
        self._first = offset == 0
        self._win: _Window | None = None
        self._at = (0, 0)  # (line, character) of the open window consumed so far
        self._carry = 0  # bytes of an incomplete row at the buffer's start: frame beyond them
        header = context.get("header")
        self._header: list[str] | None = list(header) if header is not None else None
        self.context = context

    def read_batch(self, max_records: int, out_of_time: DeadlineCheck) -> Batch:
        batch = Batch()
        budget = max_records
        while budget > 0 and not self._done:
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
        batch.eof = batch.eof or self._done
        if self._swap:
            _swap_back(batch)
        if self._win is not None:
            batch.offset = self._win.byte_offset(self._at[1])
            batch.line = self._line + self._at[0]
        else:
            batch.offset = self._buf.offset
            batch.line = self._line
        return batch

    def _open_window(self, out_of_time: DeadlineCheck) -> _Window | None:
        try:
            # The buffer starts at the row being framed (a row carried over included), so its size
            # bounds the row; see LineBuffer for why the slack keeps this consistent with _too_long.
            data = self._buf.lines(beyond=self._carry, out_of_time=out_of_time)
        except LineTooLongError:
            raise self._too_long(self._line, self._buf.offset) from None
        if not data:
            return None
        strip_bom = False
        if self._first:
            self._first = False
            check_text(data[:8192], "CSV")
            strip_bom = data.startswith(UTF8_BOM)
        width = len(self._header) if self._header is not None else 1
        self._win = _Window(data, self._buf.offset, self._buf.eof, strip_bom, width)
        self._at = (0, 0)
        self._carry = 0
        return self._win

    def _too_long(self, line: int, offset: int) -> RecordTooLargeError:
        return RecordTooLargeError(
            f"the CSV row starting at line {line + 1} (byte offset {offset}) is longer than "
            f"MAX_RECORD_BYTES ({self._max_row} bytes). This is almost always a quote that is never "
            "closed; fix the file, or raise MAX_RECORD_BYTES if rows really are that long"
        )

    def _parse(self, win: _Window, budget: int, batch: Batch) -> int:
        """Rows of the open window until the budget is spent or the window ends; returns the budget left."""
        if self._last_row:
            win.slow = True  # only the row that began before the range's limit is this range's
        if not win.slow:
            # A window longer than MAX_RECORD_BYTES may hold a row that is too long: check row by row.
            if self._header is not None and not win.dirty and len(win.data) <= self._max_row:
                left = self._parse_bulk(win, budget, batch)
                if left is not None:
                    return left
            win.slow = True
            win.restart_at(*self._at)
        return self._parse_rows(win, budget, batch)

    def _parse_bulk(self, win: _Window, budget: int, batch: Batch) -> int | None:
        """The common case, all in C; None (having kept nothing) when the batch needs _parse_rows.

        Rows go straight from the csv reader into dicts: materialising them as lists first halves
        the speed (measured). A row of the wrong width (or blank) makes the strict zip raise.
        """
        header = self._header
        assert header is not None
        records = batch.records
        mark = len(records)
        plain = win.plain()
        if plain is not None:
            lines, chars = plain
            first = self._at[0]
            last = min(len(lines), first + budget)
            try:
                records.extend(map(dict, map(_zip_strict, repeat(header), _split_rows(lines[first:last]))))
            except (ValueError, csv.Error):  # a row of another width, or not one row per line
                del records[mark:]
                return None
            if last == len(lines):
                self._close_window(win, win.real_lines, win.real_chars)
            else:
                self._at = (last, chars[last] + last)
            return budget - (last - first)
        try:
            records.extend(map(dict, map(_zip_strict, repeat(header), islice(win.reader, budget))))
        except (ValueError, csv.Error):
            del records[mark:]
            return None
        taken = len(records) - mark
        at = win.where()
        if at[0] >= win.total_lines:  # the sentinel line has been read
            if not taken or list(records[-1].values()) != win.sentinel_row:
                del records[mark:]
                return None  # the window's last row continues past it
            records.pop()
            self._close_window(win, win.real_lines, win.real_chars)
            return budget - taken + 1
        self._at = at
        return budget - taken

    def _parse_rows(self, win: _Window, budget: int, batch: Batch) -> int:
        reader = win.reader
        records = batch.records
        header = self._header
        width = len(header) if header is not None else -1
        last_line = win.total_lines
        dirty = win.dirty
        check_length = len(win.data) > self._max_row
        while budget > 0:
            start = self._at
            try:
                row = next(reader)
            except csv.Error as exc:
                self._at = win.where()
                batch.bad.append(self._bad(win, start, self._at, f"malformed CSV: {exc}"))
                budget -= 1
                if self._last_row:
                    self._done, budget = True, 0
                continue
            end = win.where()
            if end[0] >= last_line:  # the sentinel line has been read
                if row == win.sentinel_row:
                    self._close_window(win, win.real_lines, win.real_chars)
                elif win.at_eof and not self._lift():
                    self._unclosed_quote(win, start, batch)
                else:
                    self._carry = len(win.data) - (win.byte_offset(start[1]) - win.offset)
                    self._close_window(win, *start)
                return budget
            self._at = end
            budget -= 1
            if self._last_row:
                self._done, budget = True, 0  # the rows after it start past the limit
            if check_length and win.byte_offset(end[1]) - win.byte_offset(start[1]) > self._max_row:
                raise self._too_long(self._line + start[0], win.byte_offset(start[1]))
            if len(row) == width:
                if dirty and _SURROGATE.search("".join(row)):
                    batch.bad.append(self._bad(win, start, end, "invalid UTF-8"))
                else:
                    records.append(dict(zip(header, row, strict=True)))  # type: ignore[arg-type]
            elif not row:
                continue  # a blank line
            elif header is None:
                if dirty and _SURROGATE.search("".join(row)):
                    raise InputFormatError(f"the CSV header (line {self._line + start[0] + 1}) is not valid UTF-8")
                header = self._header = row
                width = len(row)
                self.context = {**self.context, "header": row}
            elif dirty and _SURROGATE.search("".join(row)):
                batch.bad.append(self._bad(win, start, end, "invalid UTF-8"))
            else:
                batch.bad.append(self._bad(win, start, end, f"has {len(row)} fields, the header has {width}"))
        return budget

    def _lift(self) -> bool:
        """The window ends at the range's limit inside a row: read on, to finish that row only."""
        bounded = self._bounded
        if bounded is None or bounded.lifted:
            return False
        bounded.lift()
        self._buf.eof = False
        self._last_row = True
        return True

    def _close_window(self, win: _Window, line: int, char: int) -> None:
        """Consume the window up to (line, char); the rest (if any) is framed again next time."""
        self._buf.consume(win.byte_offset(char) - win.offset)
        self._line += line
        self._win = None
        self._at = (0, 0)

    def _unclosed_quote(self, win: _Window, start: tuple[int, int], batch: Batch) -> None:
        lo = win.byte_offset(start[1])
        raw = win.data[lo - win.offset :]
        if len(raw) > self._max_row + 1:  # the same bound the buffer applies (see LineBuffer)
            raise self._too_long(self._line + start[0], lo)
        reason = "unclosed quote: the quoted field never ends before the end of the object"
        batch.bad.append(BadRecord(self._line + start[0] + 1, lo, len(raw), reason, raw))
        self._close_window(win, win.real_lines, win.real_chars)

    def _bad(self, win: _Window, start: tuple[int, int], end: tuple[int, int], reason: str) -> BadRecord:
        lo = win.byte_offset(start[1])
        hi = win.byte_offset(end[1])
        return BadRecord(self._line + start[0] + 1, lo, hi - lo, reason, win.data[lo - win.offset : hi - win.offset])


def range_context(context: dict[str, Any]) -> dict[str, Any] | None:
    """What a range that begins mid-object reads with, from the context of a reader that has read
    the object's first row: the header and the line ends. None without a header row."""
    if "header" not in context:
        return None
    return {k: v for k, v in context.items() if k in ("header", "newline")}


def line_end(context: dict[str, Any]) -> bytes | None:
    """The byte that ends a line of the object as stored (a record starts only after one)."""
    return _newline(context)


def _newline(context: dict[str, Any]) -> bytes:
    return b"\r" if context.get("newline") == "cr" else b"\n"


GUESS_WINDOW = 1 << 16  # bytes after a bound a range looks at to guess whether it lies inside quotes
_QUOTES = re.compile(rb'"+')
_EDGES = (b",", b"\n", b"\r")  # what stands beside a quote that opens or closes a field


def speculate_start(
    chunks_from: Callable[[int], Iterator[bytes]], bound: int, context: dict[str, Any]
) -> tuple[int, Iterator[bytes]]:
    """Where the first record at or after a range's bound begins, and the stream from there: a
    guess that the range before confirms or corrects (ranges.settle). A line end inside a quoted
    field ends no record, so whether the bound lies inside quotes is read from the first run of
    quotes after it that can only open a field (`,"x`) or only close one (`x",`), and the quotes
    before it; without one in the first GUESS_WINDOW bytes, or if the quotes never close there, the
    guess is the first line end's."""
    newline, chunks = _newline(context), chunks_from(bound - 1)  # from the byte before the bound
    parts = []
    size = 0
    for chunk in chunks:
        parts.append(chunk)
        size += len(chunk)
        if size >= GUESS_WINDOW:
            break
    window = b"".join(parts)
    start = _guess(window, newline)
    if start == len(window) and window:  # no line end in the window: the first one after it
        return find_line_start(prepend(window[-1:], chunks), bound - 2 + len(window), newline)
    return bound - 1 + start, prepend(window[start:], chunks)


def _guess(window: bytes, newline: bytes) -> int:
    naive = window.find(newline)
    naive = len(window) if naive < 0 else naive + 1
    inside = _inside_at(window)
    if inside is None:
        return naive
    at, end = 0, -1
    while True:
        quote = window.find(b'"', at)
        if inside:  # a closing quote; a "" escape closes and at once reopens, as the next turn sees
            if quote < 0:
                return naive
            at, inside = quote + 1, False
            continue
        if end < at:  # the next line end, found again only once passed (linear in the window)
            end = window.find(newline, at)
            if end < 0:
                return naive
        if quote < 0 or end < quote:
            return end + 1
        at, inside = quote + 1, True


def _inside_at(window: bytes) -> bool | None:
    """Whether window[0] lies inside a quoted field, from the first odd run of quotes that only a
    field's start or only its end could be; None when no run says."""
    for run in _QUOTES.finditer(window):
        if run.start() == 0 or (run.end() - run.start()) % 2 == 0:
            continue
        opens = window[run.start() - 1 : run.start()] in _EDGES
        closes = window[run.end() : run.end() + 1] in _EDGES
        if opens == closes:
            continue
        before = window.count(b'"', 0, run.start()) % 2 == 1  # an odd count flips the state
        return before if opens else not before
    return None


def _split_rows(lines: list[str]) -> list[list[str]]:
    """One row per line, exactly as the csv module reads them, or an error.

    A line without a quote character is what lies between its commas (str.split, several times
    the csv module's speed). Lines with one are read by the csv module in strict mode, which
    differs from the default only by raising: a quoted field left open at the end raises, and one
    that continues on a later line joins lines into one row, so fewer rows than lines come back.
    Either way a row spans lines and the caller reads the batch with the csv reader instead.
    """
    rows = list(map(str.split, lines, repeat(",")))
    quoted = list(compress(range(len(lines)), map(str.__contains__, lines, repeat('"'))))
    if quoted:
        parsed = list(csv.reader(map(lines.__getitem__, quoted), strict=True))
        if len(parsed) != len(quoted):
            raise ValueError("a quoted field spans lines")
        for i, row in zip(quoted, parsed, strict=True):
            rows[i] = row
    return rows


def _detect_newline(chunks: Iterator[bytes]) -> tuple[Iterator[bytes], str]:
    """The object's line ends: "cr" when its first line break outside quotes is a lone CR, else
    "lf" (LF or CRLF). Reads as many chunks as the first line takes (up to 1 MiB); the chunks come back
    unchanged, those read included."""
    head: list[bytes] = []
    seen = b""
    for chunk in chunks:
        head.append(chunk)
        seen += chunk
        quoted = False
        for m in _BREAK_OR_QUOTE.finditer(seen):
            if m.group() == b'"':
                quoted = not quoted
            elif not quoted and (m.group() == b"\n" or m.end() < len(seen)):
                only_cr = m.group() == b"\r" and seen[m.end() : m.end() + 1] != b"\n"
                return itertools.chain(head, chunks), "cr" if only_cr else "lf"
        if len(seen) > 1 << 20:
            break
    return itertools.chain(head, chunks), "lf"


def _swap_back(batch: Batch) -> None:
    """A CR-only object was read with CR and LF swapped: give records and bad lines their own."""
    swap = _TEXT_SWAP
    batch.records = [{key.translate(swap): value.translate(swap) for key, value in r.items()} for r in batch.records]
    batch.bad = [dataclasses.replace(b, raw=b.raw.translate(_BYTE_SWAP)) for b in batch.bad]
