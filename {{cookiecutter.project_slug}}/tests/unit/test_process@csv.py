"""The worked example (CSV): trimmed rows out, counts per first-column value, bounded."""

from __future__ import annotations

import functools
import itertools
import json

from hypothesis import given
from hypothesis import strategies as st

from {{ cookiecutter.__package_name }} import process

from .harness import Harness


def test_rows_are_trimmed_and_counted() -> None:
    state = process.initial_state()
    out = process.process_batch([{"k": " a ", "v": " 1"}, {"k": "b", "v": "2 "}, {"k": " a ", "v": "3"}], state)
    assert out == [{"k": "a", "v": "1"}, {"k": "b", "v": "2"}, {"k": "a", "v": "3"}]
    out = process.process_batch([{"k": "b", "v": ""}], state)
    assert out == [{"k": "b", "v": ""}]
    json.dumps(state)  # the state must cross hops as JSON
    result = process.finish(state)
    assert result["rows"] == 4
    assert result["distinct_first_column"] == 2
    assert [tuple(x) for x in result["top"]] == [(" a ", 2), ("b", 2)]


def test_counts_stay_bounded() -> None:
    state = process.initial_state()
    process.process_batch([{"k": str(i)} for i in range(process.MAX_KEYS + 50)], state)
    assert len(state["counts"]) == process.MAX_KEYS + 1
    assert state["counts"]["(other)"] == 50
    assert len(process.finish(state)["top"]) == 10


def test_empty_batch_and_empty_run() -> None:
    state = process.initial_state()
    assert process.process_batch([], state) == []
    assert process.finish(state) == {"rows": 0, "distinct_first_column": 0, "top": []}


def test_through_the_handler(h: Harness) -> None:
    with h.using(process=process):  # the harness runs the framework's own by default
        body = b"city,temp\r\n Oslo , 3\r\nRome,20\r\nOslo,4\r\nbad\r\n"
        out = h.outcome(h.drive(h.put_input(body), lambda: 5))
        assert [json.loads(x) for x in out.output.splitlines()] == [
            {"city": "Oslo", "temp": "3"},
            {"city": "Rome", "temp": "20"},
            {"city": "Oslo", "temp": "4"},
        ]
        assert out.result["rows"] == 3
        assert out.bad_records == 1


ROWS = st.lists(st.fixed_dictionaries({"k": st.sampled_from(["a", "b", "c", "d", " e"]), "v": st.text(max_size=3)}))


@given(rows=ROWS, cuts=st.lists(st.integers(0, 40), max_size=5))
def test_merging_ranges_gives_one_pass(rows: list[dict[str, str]], cuts: list[int]) -> None:
    """With Parallelism > 1 each range has its own state; merged in order they are one pass's."""
    edges = [0, *sorted(min(c, len(rows)) for c in cuts), len(rows)]
    states = []
    for a, b in itertools.pairwise(edges):
        state = process.initial_state()
        process.process_batch(rows[a:b], state)
        states.append(state)
    one = process.initial_state()
    process.process_batch(rows, one)
    assert process.finish(functools.reduce(process.merge, states)) == process.finish(one)
