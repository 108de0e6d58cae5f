"""Byte-range fan-out: how a run's object is cut into ranges, where each range's records begin and
end, and when the ranges add up to the whole object.

A range [bound_i, bound_i+1) owns the records that *start* in it. Records start at line starts
(text) or at multiples of the chunk size (bytes), so range i's records are those that start at or
after `line_start(bound_i)` and before `line_start(bound_i+1)`, where line_start(b) is the first
line start at or after b. A range reads past its end only to finish a record that began before it
(a CSV quoted field may hold line breaks); the offset where it stops is where the next range's
first record starts.

For JSON Lines and bytes a line start is a record start, so every range knows its own first record.
A CSV line start may lie inside a quoted field: a range other than the first *speculates* that it
does not, and the range before it confirms the speculation when it finishes (its end must equal
this range's start). `settle` walks the finished ranges in order; the first whose start disagrees
with its predecessor's end is redone from that end, as a new generation, and every range after it
waits for that redo to be accepted in turn. Nothing is ever accepted unconfirmed: the cost of a
wrong speculation is re-reading one range, after its predecessor has finished.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass


def plan_bounds(size: int, parallelism: int, min_range_bytes: int, align: int = 1) -> tuple[int, ...]:
    """The ranges' bounds (0 first, `size` last): at most `parallelism` ranges of at least about
    `min_range_bytes`, each bound a multiple of `align` (fixed-size records: whole ones per range)."""
    count = max(1, min(parallelism, size // max(1, min_range_bytes)))
    inner = {size * i // count // align * align for i in range(1, count)}
    return tuple(sorted({0, size} | {b for b in inner if 0 < b < size}))


def find_line_start(chunks: Iterator[bytes], offset: int, newline: bytes) -> tuple[int, Iterator[bytes]]:
    """The first line start at or after `offset + 1` in a stream that begins at `offset` (the byte
    before a bound), and the stream from there on. The object's end counts as a line start."""
    at = offset
    for chunk in chunks:
        nl = chunk.find(newline)
        if nl >= 0:
            start = at + nl + 1
            rest = chunk[nl + 1 :]
            return start, prepend(rest, chunks)
        at += len(chunk)
    return at, iter(())


def prepend(head: bytes, chunks: Iterator[bytes]) -> Iterator[bytes]:
    """`chunks` with `head` before them (when it is not empty)."""
    if head:
        yield head
    yield from chunks


class BoundedChunks:
    """A range's stream: the object's chunks from `offset`, ending at the range's limit, the first
    line start at or after `bound` (`bound` itself when `newline` is None: fixed-size records). A CSV
    reader whose last record runs past the limit calls `lift()`, and the stream goes on."""

    def __init__(self, chunks: Iterator[bytes], offset: int, bound: int, newline: bytes | None) -> None:
        self._chunks = chunks
        self._pos = offset  # the object offset of the next byte handed out
        self._bound = bound
        self._newline = newline
        # None: not found yet. A stream that starts at or past `bound` starts at a line start (a
        # range's first record): nothing of it is this range's.
        self.limit: int | None = max(offset, bound) if newline is None or offset >= bound else None
        self._held = b""  # what followed the limit in its chunk, handed out after lift()
        self.lifted = False

    def __iter__(self) -> BoundedChunks:
        return self

    def __next__(self) -> bytes:
        if self.lifted:
            chunk, self._held = (self._held, b"") if self._held else (next(self._chunks), b"")
            self._pos += len(chunk)
            return chunk
        if self.limit is not None and self._pos >= self.limit:
            raise StopIteration
        chunk = next(self._chunks)
        if self.limit is None:
            self._find_limit(chunk)
        if self.limit is not None and self._pos + len(chunk) > self.limit:
            keep = self.limit - self._pos
            chunk, self._held = chunk[:keep], chunk[keep:]
        self._pos += len(chunk)
        return chunk

    def _find_limit(self, chunk: bytes) -> None:
        """The limit follows the first newline at or after bound - 1, if this chunk holds it."""
        assert self._newline is not None
        begin = max(0, self._bound - 1 - self._pos)
        if begin < len(chunk):
            nl = chunk.find(self._newline, begin)
            if nl >= 0:
                self.limit = self._pos + nl + 1

    def lift(self) -> None:
        """Let the stream run on past the limit (to finish a record that began before it)."""
        self.lifted = True


@dataclass(frozen=True)
class RangeEnd:
    """A finished generation of range `index`: where its records began and where the next range's
    first record must begin (the first record start at or after its limit)."""

    index: int
    generation: int
    start: int
    end: int
    # A run-ending error this generation held back (its start was a speculation): real if the
    # range before it ends at `start`, an artefact of a wrong start otherwise (the range is redone).
    error: str | None = None
    error_type: str | None = None


@dataclass(frozen=True)
class Settlement:
    """What the finished ranges add up to: the accepted ranges in order (all of them: the run is
    complete), a range to redo from a confirmed start, a held error that turned out real (`failed`),
    or nothing to do until more finish."""

    accepted: tuple[RangeEnd, ...]
    complete: bool
    redo: tuple[int, int, int] | None = None  # (index, generation, start)
    failed: RangeEnd | None = None


def settle(count: int, latest: Mapping[int, tuple[int, RangeEnd | None]]) -> Settlement:
    """Walk ranges 0..count-1 given, for each, its latest generation and how it finished (None: it
    has not). Range 0 begins at the object's first record by definition; range i is accepted when
    it has finished and began where range i-1 ended."""
    accepted: list[RangeEnd] = []
    for index in range(count):
        generation, finished = latest.get(index, (0, None))
        if finished is None:
            return Settlement(tuple(accepted), complete=False)
        if accepted and finished.start != accepted[-1].end:
            return Settlement(tuple(accepted), complete=False, redo=(index, generation + 1, accepted[-1].end))
        if finished.error is not None:
            return Settlement(tuple(accepted), complete=False, failed=finished)
        accepted.append(finished)
    return Settlement(tuple(accepted), complete=True)
