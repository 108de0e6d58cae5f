"""Fan-out over CSV: whatever the bounds, the ranges read exactly the single pass's rows.

A bound may fall inside a quoted field that holds line breaks, on a `""` escape, on either byte of
a CRLF, or right before or after any of them; the speculated starts that are wrong must be caught
and redone, and the settled ranges must add up to the rows, bad rows included, of one pass.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from {{ cookiecutter.__package_name }}.config import Config
from {{ cookiecutter.__package_name }}.records import GUESS_WINDOW, RecordReader, speculate_start

from .harness import chunked, fan_out, read_all

CFG = Config(input_prefix="in/")
FIELD = st.text(st.sampled_from(list('ab,"\n\r é')), max_size=8)


def quote(field: str) -> str:
    return '"' + field.replace('"', '""') + '"' if any(c in field for c in ',"\r\n') or not field else field


@st.composite
def csv_objects(draw: st.DrawFn) -> bytes:
    """Rows whose quoted fields often hold line breaks and escaped quotes; some rows ragged or loose."""
    width = draw(st.integers(1, 4))
    eol = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    lines = [",".join(f"h{i}" for i in range(width))]
    for _ in range(draw(st.integers(0, 30))):
        kind = draw(st.sampled_from(["row"] * 6 + ["ragged", "blank", "loose"]))
        if kind == "blank":
            lines.append("")
        elif kind == "loose":  # raw quotes mid-field, or an opening quote that runs on
            lines.append(",".join(draw(st.text(st.sampled_from(list('ab,"')), max_size=4)) for _ in range(width)))
        else:
            n = width if kind == "row" else draw(st.integers(1, width + 2).filter(lambda k: k != width))
            lines.append(",".join(quote(draw(FIELD)) for _ in range(n)))
    text = eol.join(lines) + (eol if draw(st.booleans()) else "")
    return text.encode()


@st.composite
def objects_and_bounds(draw: st.DrawFn) -> tuple[bytes, list[int]]:
    data = draw(csv_objects())
    if len(data) < 2:
        return data, [0, len(data)]
    # Bounds at, before and after quotes and line breaks, and anywhere.
    marks = [i + d for i, c in enumerate(data) if c in b'"\r\n' for d in (-1, 0, 1, 2) if 0 < i + d < len(data)]
    anywhere = st.integers(1, len(data) - 1)
    points = st.sampled_from(marks) | anywhere if marks else anywhere
    inner = draw(st.lists(points, min_size=1, max_size=7, unique=True))
    return data, [0, *sorted(inner), len(data)]


def planner_context(data: bytes) -> dict[str, Any]:
    """What the planning hop learns from the object's start: the header (and CR-only line ends)."""
    reader = RecordReader(chunked(data, 64), 0, 0, {}, CFG)
    reader.read_batch(1, lambda: False)
    return dict(reader.context)


def without_line(bad: list[Any]) -> list[Any]:
    # A range's line numbers count from its own start (it cannot know the lines before it).
    return [dataclasses.replace(b, line=0) for b in bad]


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=objects_and_bounds(), chunk=st.integers(1, 40), batch=st.integers(1, 6))
def test_ranges_read_what_one_pass_reads(case: tuple[bytes, list[int]], chunk: int, batch: int) -> None:
    data, bounds = case
    one = read_all(data, CFG, chunk=chunk, batch=batch)
    context = planner_context(data)
    if "header" not in context:
        return  # no header row: the planner runs such an object as one range
    fan = fan_out(data, CFG, bounds, context, chunk=chunk, batch=batch)
    assert fan.records == one.records
    assert without_line(fan.bad) == without_line(one.bad)
    assert fan.ends[-1] == len(data)


def test_a_bound_inside_a_quoted_line_break_is_guessed_from_the_closing_quote() -> None:
    data = b'id,text\n1,"first\nsecond"\n2,plain\n'
    bound = data.index(b"second")  # the quote after "second" can only close a field: the bound is inside one
    fan = fan_out(data, CFG, [0, bound, len(data)], planner_context(data))
    assert fan.redone == 0
    assert fan.records == [{"id": "1", "text": "first\nsecond"}, {"id": "2", "text": "plain"}]
    assert fan.ends == [data.index(b"2,plain"), len(data)]


def test_a_guess_the_quotes_mislead_is_redone() -> None:
    """`,"second` looks like a field opening outside quotes; it is inside row 1's open field."""
    data = b'id,text\n1,"first\n,"second"\n2,plain\n'
    bound = data.index(b',"second')
    fan = fan_out(data, CFG, [0, bound, len(data)], planner_context(data))
    one = read_all(data, CFG)
    assert fan.redone == 1
    assert (fan.records, without_line(fan.bad)) == (one.records, without_line(one.bad))


def test_rows_that_all_quote_a_line_break_are_rarely_redone() -> None:
    """The cost the guess saves: a bound falls inside a quoted field about half the time here."""
    rows = [f'{i},"note {i}\nline two, with ""quotes""",{i * 3}' for i in range(400)]
    data = ("id,note,n\n" + "\n".join(rows) + "\n").encode()
    bounds = [len(data) * i // 8 for i in range(9)]
    fan = fan_out(data, CFG, bounds, planner_context(data), chunk=4096)
    assert fan.records == read_all(data, CFG, chunk=4096).records
    assert fan.redone == 0


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=objects_and_bounds(), chunk=st.integers(1, 40))
def test_a_guessed_start_is_a_line_start_at_or_after_the_bound(case: tuple[bytes, list[int]], chunk: int) -> None:
    data, bounds = case
    context = planner_context(data)
    newline = b"\r" if context.get("newline") == "cr" else b"\n"
    for bound in bounds[1:-1]:
        start, rest = speculate_start(lambda at: chunked(data[at:], chunk), bound, context)
        assert bound <= start <= len(data)
        assert start == len(data) or data[start - 1 : start] == newline
        assert b"".join(rest) == data[start:]


def test_a_bound_on_a_line_start_needs_no_redo() -> None:
    data = b"id,text\n1,a\n2,b\n3,c\n"
    fan = fan_out(data, CFG, [0, data.index(b"2,b"), len(data)], planner_context(data))
    assert (fan.redone, fan.ends) == (0, [data.index(b"2,b"), len(data)])
    assert [r["id"] for r in fan.records] == ["1", "2", "3"]


def test_a_bound_in_a_line_longer_than_the_guess_window_starts_at_its_end() -> None:
    data = b"id,text\n1," + b"x" * (3 * GUESS_WINDOW) + b"\n2,after\n"
    start, rest = speculate_start(lambda at: chunked(data[at:], 4096), 20, planner_context(data))
    assert start == data.index(b"2,after")
    assert b"".join(rest) == data[start:]
