"""Property: for random JSON Lines and random cut points, a chain of hops commits exactly a single pass."""

from __future__ import annotations

import json
import math
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .harness import hops_versus_single_pass, raw_of

SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-(2**80), 2**80)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(st.characters(blacklist_categories=["Cs"]), max_size=8)
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=8,
)
BAD = st.sampled_from([b"{bad", b"[1,]", b'"\xff\xfe"', b"NaN", b"[1e999]", b"{'a': 1}", b"tru"])
BLANK = st.sampled_from([b"", b" ", b"\t", b"  \r"])


@st.composite
def jsonl_objects(draw: st.DrawFn) -> bytes:
    lines = []
    for _ in range(draw(st.integers(0, 16))):
        kind = draw(st.sampled_from(["value"] * 7 + ["bad", "blank"]))
        if kind == "value":
            lines.append(json.dumps(draw(VALUES), ensure_ascii=draw(st.booleans())).encode())
        elif kind == "bad":
            lines.append(draw(BAD))
        else:
            lines.append(draw(BLANK))
    eol = draw(st.sampled_from([b"\n", b"\r\n"]))
    data = eol.join(lines) + (eol if lines and draw(st.booleans()) else b"")
    return (b"\xef\xbb\xbf" + data) if draw(st.booleans()) else data


def reject(name: str) -> Any:
    raise ValueError(name)


def finite(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise ValueError(text)
    return value


def oracle(data: bytes) -> tuple[list[Any], list[int]]:
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    records, bad = [], []
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    for number, raw in enumerate(lines, 1):
        if not raw.strip():
            continue
        try:
            records.append(json.loads(raw.decode("utf-8"), parse_constant=reject, parse_float=finite))
        except ValueError:
            bad.append(number)
    return records, bad


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=jsonl_objects(),
    budgets=st.lists(st.integers(2, 12), min_size=1, max_size=6),
    chunk=st.integers(4, 64),
    batch=st.integers(1, 8),
    part=st.integers(1, 300),
)
def test_hops_equal_a_single_pass(data: bytes, budgets: list[int], chunk: int, batch: int, part: int) -> None:
    hops, single = hops_versus_single_pass(
        data,
        budgets,
        read_chunk_bytes=chunk,
        first_batch_records=batch,
        max_batch_records=batch,
        part_bytes=part,
    )
    assert hops.output == single.output
    assert hops.bad == single.bad
    assert (hops.records, hops.bad_records, hops.output_items, hops.result) == (
        single.records,
        single.bad_records,
        single.output_items,
        single.result,
    )
    records, bad_lines = oracle(data)
    assert [json.loads(line) for line in single.output.splitlines()] == records
    assert [b["line"] for b in single.bad] == bad_lines
    for doc in single.bad:
        assert data[doc["offset"] : doc["offset"] + doc["length"]] == raw_of(doc)
