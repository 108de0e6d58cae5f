"""ranges.py: the plan's bounds, the line start after a bound, a range's bounded stream, and the
settling walk that accepts ranges only in order and redoes the first whose start was wrong."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from {{ cookiecutter.__package_name }}.ranges import (
    BoundedChunks,
    RangeEnd,
    find_line_start,
    plan_bounds,
    settle,
)

from .harness import chunked


@given(
    size=st.integers(0, 10**12),
    parallelism=st.integers(1, 1000),
    min_range=st.integers(1, 10**10),
    align=st.integers(1, 1 << 20),
)
def test_plan_bounds(size: int, parallelism: int, min_range: int, align: int) -> None:
    bounds = plan_bounds(size, parallelism, min_range, align)
    assert bounds[0] == 0 and bounds[-1] == size
    assert list(bounds) == sorted(set(bounds))
    assert len(bounds) - 1 <= max(1, parallelism)
    assert all(b % align == 0 for b in bounds[1:-1])
    if size // min_range <= 1:
        assert bounds in ((0, size), (0,))


def test_plan_bounds_splits_evenly() -> None:
    assert plan_bounds(100, 4, 10) == (0, 25, 50, 75, 100)
    assert plan_bounds(100, 4, 40) == (0, 50, 100)  # fewer ranges than asked: each at least the minimum
    assert plan_bounds(100, 3, 1, align=8) == (0, 32, 64, 100)


@given(
    data=st.binary(max_size=60).map(lambda b: b.replace(b"x", b"\n")), at=st.integers(0, 59), chunk=st.integers(1, 9)
)
def test_find_line_start(data: bytes, at: int, chunk: int) -> None:
    if at >= len(data):
        return
    start, rest = find_line_start(chunked(data[at:], chunk), at, b"\n")
    nl = data.find(b"\n", at)
    assert start == (len(data) if nl < 0 else nl + 1)
    assert b"".join(rest) == data[start:]


@given(
    data=st.binary(max_size=80).map(lambda b: b.replace(b"x", b"\n")),
    offset=st.integers(0, 80),
    bound=st.integers(1, 80),
    chunk=st.integers(1, 9),
)
def test_bounded_chunks_end_at_the_first_line_start_after_the_bound(
    data: bytes, offset: int, bound: int, chunk: int
) -> None:
    offset = min(offset, len(data))
    stream = BoundedChunks(chunked(data[offset:], chunk), offset, bound, b"\n")
    head = b"".join(stream)
    if offset >= bound:
        limit = offset  # a range that starts past its bound owns nothing
    else:
        nl = data.find(b"\n", bound - 1)
        limit = len(data) if nl < 0 else nl + 1
    assert head == data[offset:limit]
    stream.lift()
    assert head + b"".join(stream) == data[offset:]


def test_bounded_chunks_in_bytes_mode_end_at_the_bound() -> None:
    stream = BoundedChunks(chunked(bytes(range(20)), 3), 0, 10, None)
    assert b"".join(stream) == bytes(range(10))


def end(index: int, start: int, stop: int, generation: int = 0) -> tuple[int, RangeEnd]:
    return generation, RangeEnd(index, generation, start, stop)


def test_settle_accepts_ranges_only_in_order() -> None:
    assert settle(3, {0: end(0, 0, 10), 2: end(2, 20, 30)}) == settle(3, {0: end(0, 0, 10)})
    waiting = settle(3, {0: end(0, 0, 10), 1: (0, None), 2: end(2, 20, 30)})
    assert (waiting.complete, waiting.redo, [a.index for a in waiting.accepted]) == (False, None, [0])
    done = settle(3, {0: end(0, 0, 10), 1: end(1, 10, 20), 2: end(2, 20, 30)})
    assert done.complete and [a.end for a in done.accepted] == [10, 20, 30]


def test_settle_redoes_the_first_range_that_began_in_the_wrong_place() -> None:
    # Range 1 guessed that 8 starts a record; range 0 ended at 12 (a quoted field ran on).
    found = settle(3, {0: end(0, 0, 12), 1: end(1, 8, 20), 2: end(2, 19, 30)})
    assert (found.complete, found.redo) == (False, (1, 1, 12))
    # Its redo is accepted; range 2 is now checked against the redo's end.
    found = settle(3, {0: end(0, 0, 12), 1: end(1, 12, 21, generation=1), 2: end(2, 19, 30)})
    assert found.redo == (2, 1, 21)
    found = settle(3, {0: end(0, 0, 12), 1: end(1, 12, 19, generation=1), 2: end(2, 19, 30)})
    assert found.complete
