"""Fan-out over JSON Lines: whatever the bounds, the ranges read exactly the single pass's lines
(a line start is always a record start, so no speculation is ever wrong)."""

from __future__ import annotations

import dataclasses

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from {{ cookiecutter.__package_name }}.config import Config

from .harness import fan_out, read_all

CFG = Config(input_prefix="in/")
LINES = st.sampled_from([b'{"a": 1}', b"[1, 2]", b'"\xc3\xa9"', b"{bad", b"", b"  \r", b"12345678901234567890123"])


@st.composite
def objects_and_bounds(draw: st.DrawFn) -> tuple[bytes, list[int]]:
    eol = draw(st.sampled_from([b"\n", b"\r\n"]))
    lines = draw(st.lists(LINES, max_size=30))
    data = eol.join(lines) + (eol if lines and draw(st.booleans()) else b"")
    if draw(st.booleans()):
        data = b"\xef\xbb\xbf" + data
    if len(data) < 2:
        return data, [0, len(data)]
    inner = draw(st.lists(st.integers(1, len(data) - 1), min_size=1, max_size=7, unique=True))
    return data, [0, *sorted(inner), len(data)]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=objects_and_bounds(), chunk=st.integers(1, 40), batch=st.integers(1, 6))
def test_ranges_read_what_one_pass_reads(case: tuple[bytes, list[int]], chunk: int, batch: int) -> None:
    data, bounds = case
    one = read_all(data, CFG, chunk=chunk, batch=batch)
    fan = fan_out(data, CFG, bounds, {}, chunk=chunk, batch=batch)
    assert fan.records == one.records
    # A range's line numbers count from its own start (it cannot know the lines before it).
    assert [dataclasses.replace(b, line=0) for b in fan.bad] == [dataclasses.replace(b, line=0) for b in one.bad]
    assert fan.redone == 0
