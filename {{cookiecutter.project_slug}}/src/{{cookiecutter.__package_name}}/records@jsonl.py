"""JSON Lines: one JSON value per line.

Blank (white-space only) lines are skipped; a line that is not valid UTF-8 or not valid JSON is a
bad record; the last line may lack its newline; CRLF is fine. Lines are parsed with orjson, which
is several times faster than json.loads; orjson turns integers beyond 64 bits into floats, so lines
holding such long digit runs are parsed with json.loads instead, exactly.
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Callable, Iterator
from typing import Any

import orjson

from .batch import BadRecord, Batch, DeadlineCheck
from .config import Config
from .ranges import BoundedChunks, find_line_start
from .textframe import UTF8_BOM, LineBuffer, LineTooLongError, OutOfTimeError, check_text
from .textframe import encode_output as encode_output  # the mode's output: JSON Lines
from .textframe import read_size as read_size

MODE = "jsonl"
OUTPUT_EXT = ".jsonl"

# orjson returns a float for integers beyond 64 bits; lines that may hold one (an integer literal of
# 19+ digits, not the fraction or exponent of a float) are parsed with json.loads instead, exactly.
# Found with translate + find (C speed) rather than a regex, which is slow on digit-heavy text.
_DIGITS_TO_ZERO = bytes.maketrans(b"123456789", b"000000000")
_RUN = b"0" * 19
_NOT_INTEGER_BEFORE = frozenset(b".eE")


def _has_long_integer(data: bytes) -> bool:
    digits = data.translate(_DIGITS_TO_ZERO)
    at = digits.find(_RUN)
    while at >= 0:
        start = at
        while start > 0 and digits[start - 1] == 0x30:
            start -= 1
        end = at + len(_RUN)
        while end < len(digits) and digits[end] == 0x30:
            end += 1
        before = data[start - 1] if start > 0 else 0x20
        after = data[end] if end < len(data) else 0x20
        if before not in _NOT_INTEGER_BEFORE and after not in _NOT_INTEGER_BEFORE:
            return True
        at = digits.find(_RUN, end)
    return False


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _finite_float(text: str) -> float:
    # orjson refuses numbers that overflow a double; json.loads would turn them into inf, which
    # cannot be written back out as JSON. Same verdict on both paths.
    value = float(text)
    if math.isinf(value):
        raise ValueError(f"number {text} is out of range for a double")
    return value


def _exact_loads(raw: bytes) -> Any:
    value = json.loads(raw.decode("utf-8"), parse_constant=_reject_constant, parse_float=_finite_float)
    if b"\\u" in raw:
        # orjson refuses lone surrogates, json accepts them: refuse them here too, so a line is
        # bad or good whichever parser its numbers send it to (they cannot be written as UTF-8).
        try:
            json.dumps(value, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError("a lone surrogate (\\ud800-\\udfff) that UTF-8 cannot hold") from None
    return value


def _why_bad(raw: bytes, exc: Exception) -> str:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as err:
        return f"invalid UTF-8 at byte {err.start} of the line"
    return f"invalid JSON: {exc}"


def range_context(context: dict[str, Any]) -> dict[str, Any] | None:
    """A range that begins mid-object needs nothing from the object's start."""
    return {}


def line_end(context: dict[str, Any]) -> bytes | None:
    """The byte that ends a line of the object (a record starts only after one)."""
    return b"\n"


def speculate_start(
    chunks_from: Callable[[int], Iterator[bytes]], bound: int, context: dict[str, Any]
) -> tuple[int, Iterator[bytes]]:
    """Where the first record at or after a range's bound begins (the first line start: a JSON
    line holds no raw line end, so this is never wrong), and the stream from there."""
    return find_line_start(chunks_from(bound - 1), bound - 1, b"\n")


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
        # A range's stream (fan-out) ends at the first line start at or after `bound`.
        if bound is not None:
            chunks = BoundedChunks(chunks, offset, bound, b"\n")
        self._buf = LineBuffer(chunks, offset, cfg.max_record_bytes)
        self._max_line = cfg.max_record_bytes
        self._too_long = f"line longer than MAX_RECORD_BYTES ({cfg.max_record_bytes})"
        self._line = line
        self._raw_limit = cfg.quarantine_raw_bytes
        self._lines: list[bytes] = []
        self._idx = 0
        self._pos = offset  # offset of self._lines[self._idx]
        self._exact = False
        self._first = offset == 0
        self.context = context

    def _load_window(self, out_of_time: DeadlineCheck) -> bool:
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
        self._exact = _has_long_integer(window)
        return True

    def read_batch(self, max_lines: int, out_of_time: DeadlineCheck) -> Batch:
        batch = Batch()
        budget = max_lines
        while budget > 0:
            if "skipping" in self.context:
                if not self._skip(batch, out_of_time):
                    break
                budget -= 1
                continue
            if self._idx >= len(self._lines):
                try:
                    if not self._load_window(out_of_time):
                        batch.eof = True
                        break
                except OutOfTimeError:
                    break
                except LineTooLongError as exc:
                    self.context["skipping"] = {"offset": exc.offset, "length": 0, "head": ""}
                    continue
            lines = self._lines
            start = self._idx
            stop = min(len(lines), start + budget)
            records = batch.records
            mark = len(records)
            try:
                if self._exact or max(map(len, lines[start:stop])) > self._max_line:
                    raise ValueError("long integers or over-long lines: parse line by line")
                # The usual case, every line valid: one pass in C.
                records.extend(map(orjson.loads, lines[start:stop]))
            except ValueError:
                del records[mark:]
                self._parse_lines(lines, start, stop, batch)
            self._line += stop - start
            self._idx = stop
            if stop == len(lines):
                self._pos = self._buf.offset
            else:
                self._pos += sum(map(len, lines[start:stop])) + (stop - start)
            budget -= stop - start
        batch.offset = self._pos
        batch.line = self._line
        return batch

    def _skip(self, batch: Batch, out_of_time: DeadlineCheck) -> bool:
        """Go on dropping an over-long line, as far as the clock allows; True once it is dropped
        and quarantined. The progress lives in `context`, so a skip resumes in the next hop."""
        skipping = self.context["skipping"]
        kept = base64.b64decode(skipping["head"])
        head, length, ended = self._buf.skip_line(self._raw_limit - len(kept), out_of_time)
        self._pos = self._buf.offset
        if not ended:
            self.context["skipping"] = {**skipping, "length": skipping["length"] + length, "head": _b64(kept + head)}
            return False
        del self.context["skipping"]
        self._line += 1
        total = skipping["length"] + length
        batch.bad.append(BadRecord(self._line, skipping["offset"], total, self._too_long, kept + head))
        return True

    def _parse_lines(self, lines: list[bytes], start: int, stop: int, batch: Batch) -> None:
        """Line by line, for windows with a bad or blank line or a long integer."""
        append = batch.records.append
        loads = orjson.loads
        exact = self._exact
        # Byte offsets are only worked out for bad lines, from a cursor that only moves forward.
        mark_i, mark_pos = start, self._pos
        max_line = self._max_line
        for i in range(start, stop):
            raw = lines[i]
            reason = None
            if len(raw) > max_line:
                # Judged by length alone, as when the line is too long to frame (LineTooLongError),
                # so where the chunks happened to fall never changes the outcome.
                reason = self._too_long
            else:
                try:
                    if exact and _has_long_integer(raw):
                        append(_exact_loads(raw))
                    else:
                        append(loads(raw))
                except (ValueError, UnicodeDecodeError, RecursionError) as exc:
                    if raw.strip():
                        reason = _why_bad(raw, exc)
            if reason is not None:
                mark_pos += sum(map(len, lines[mark_i:i])) + (i - mark_i)
                mark_i = i
                # An over-long line keeps only its head, as when it is skipped unframed.
                kept = raw[: self._raw_limit] if reason is self._too_long else raw
                batch.bad.append(BadRecord(self._line + i - start + 1, mark_pos, len(raw), reason, kept))


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()
