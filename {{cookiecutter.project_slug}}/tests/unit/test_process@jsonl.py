"""The worked example (JSON Lines): counts by type and level, objects out with "_kind"."""

from __future__ import annotations

import functools
import itertools
import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from {{ cookiecutter.__package_name }} import process

from .harness import Harness


def test_objects_are_tagged_and_counted() -> None:
    state = process.initial_state()
    out = process.process_batch(
        [{"level": "info", "m": 1}, {"type": "audit"}, {"m": 2}, [1, 2], "text", 3, None, {"level": 5}], state
    )
    assert out == [
        {"level": "info", "m": 1, "_kind": "info"},
        {"type": "audit", "_kind": "audit"},
        {"m": 2, "_kind": "(none)"},
        {"level": 5, "_kind": "5"},
    ]
    json.dumps(state)
    assert process.finish(state) == {
        "values": 8,
        "types": {"dict": 4, "list": 1, "str": 1, "int": 1, "NoneType": 1},
        "levels": {"info": 1, "audit": 1, "(none)": 1, "5": 1},
    }


def test_levels_stay_bounded() -> None:
    state = process.initial_state()
    process.process_batch([{"level": str(i)} for i in range(process.MAX_KEYS + 7)], state)
    assert len(state["levels"]) == process.MAX_KEYS + 1
    assert state["levels"]["(other)"] == 7


def test_input_is_not_modified() -> None:
    record = {"level": "x"}
    process.process_batch([record], process.initial_state())
    assert record == {"level": "x"}


def test_through_the_handler(h: Harness) -> None:
    with h.using(process=process):  # the harness runs the framework's own by default
        body = b'{"level":"info","i":1}\n\n{"level":"warn","i":2}\nnot json\n[1]\n{"i":12345678901234567890123}'
        out = h.outcome(h.drive(h.put_input(body), lambda: 5))
        assert [json.loads(x) for x in out.output.splitlines()] == [
            {"level": "info", "i": 1, "_kind": "info"},
            {"level": "warn", "i": 2, "_kind": "warn"},
            {"i": 12345678901234567890123, "_kind": "(none)"},
        ]
        assert out.result["values"] == 4
        assert out.result["types"] == {"dict": 3, "list": 1}
        assert out.bad_records == 1
        assert out.bad[0]["line"] == 4


VALUES = st.lists(
    st.one_of(st.integers(), st.text(max_size=3), st.fixed_dictionaries({"level": st.sampled_from(["info", "warn"])}))
)


@given(values=VALUES, cuts=st.lists(st.integers(0, 40), max_size=5))
def test_merging_ranges_gives_one_pass(values: list[Any], cuts: list[int]) -> None:
    """With Parallelism > 1 each range has its own state; merged in order they are one pass's."""
    edges = [0, *sorted(min(c, len(values)) for c in cuts), len(values)]
    states = []
    for a, b in itertools.pairwise(edges):
        state = process.initial_state()
        process.process_batch(values[a:b], state)
        states.append(state)
    one = process.initial_state()
    process.process_batch(values, one)
    assert process.finish(functools.reduce(process.merge, states)) == process.finish(one)
