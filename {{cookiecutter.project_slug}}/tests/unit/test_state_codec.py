"""process.py's state crosses every hop exactly (state_codec), so a chain equals one pass for
states JSON alone would change (int keys, tuples, sets, ...), and what cannot cross fails the same
way in one pass and in a chain, naming where it is."""

from __future__ import annotations

import datetime as dt
import enum
import json
import math
from collections import Counter, OrderedDict, defaultdict
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from {{ cookiecutter.__package_name }}.checkpoint import Checkpoint, ObjectRef
from {{ cookiecutter.__package_name }}.records import MODE
from {{ cookiecutter.__package_name }}.state_codec import StateError, check_result, encode

from .harness import hops_versus_single_pass, sample_body

REF = ObjectRef("b", "k", '"e"', 10)

keys = st.one_of(
    st.text(max_size=6),
    st.integers(),
    st.booleans(),
    st.none(),
    st.floats(allow_nan=False),
    st.tuples(st.integers(), st.text(max_size=3)),
    st.just("$py"),
    st.dates(),
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.text(),
    st.binary(max_size=8),
    st.decimals(allow_nan=False),
    st.datetimes(timezones=st.one_of(st.none(), st.timezones(), st.just(dt.UTC))),
    st.times(timezones=st.one_of(st.none(), st.just(dt.timezone(dt.timedelta(hours=-3))))),
    st.dates(),
    st.times(),
)
states = st.dictionaries(
    st.text(max_size=8),
    st.recursive(
        scalars,
        lambda inner: st.one_of(
            st.lists(inner, max_size=4),
            st.tuples(inner, inner),
            st.dictionaries(keys, inner, max_size=4),
            st.frozensets(st.integers(), max_size=4),
            st.sets(st.text(max_size=3), max_size=4),
            st.dictionaries(st.text(max_size=3), st.integers(), max_size=3).map(Counter),
            st.dictionaries(keys, inner, max_size=3).map(OrderedDict),
            st.fixed_dictionaries({"$py": st.sampled_from(["tuple", "dict"]), "items": st.lists(inner, max_size=2)}),
        ),
        max_leaves=12,
    ),
    max_size=5,
)


def typed(value: Any) -> Any:
    """`value` with every type spelled out, so `==` also compares types (1 == 1.0 == True)."""
    if isinstance(value, dict):
        return (type(value).__name__, [(typed(k), typed(v)) for k, v in value.items()])
    if isinstance(value, list | tuple):
        return (type(value).__name__, [typed(v) for v in value])
    if isinstance(value, set | frozenset):
        return (type(value).__name__, sorted(repr(typed(v)) for v in value))
    if isinstance(value, dt.datetime | dt.time):
        return (type(value).__name__, value, repr(value.tzinfo), value.fold)
    return (type(value).__name__, value)


def through_a_hop(state: dict[str, Any]) -> dict[str, Any]:
    cp = Checkpoint(run_id="r", source=REF, hop=0, state=state)
    return Checkpoint.from_json(cp.to_json(), "test").state


@settings(max_examples=300, deadline=None)
@given(states)
def test_any_supported_state_comes_back_identical(state: dict[str, Any]) -> None:
    assert typed(through_a_hop(state)) == typed(state)


def test_the_held_out_case_int_keys_and_tuples() -> None:
    state = {"by_len": {3: 5, "3": 1}, "span": (1, 2), "nested": [{(1, "a"): {7}}]}
    back = through_a_hop(state)
    assert back == state
    assert sorted(map(type, back["by_len"]), key=str) == [int, str]
    assert type(back["span"]) is tuple


def test_non_finite_floats_cross() -> None:
    back = through_a_hop({"x": [math.nan, math.inf, -math.inf]})["x"]
    assert math.isnan(back[0])
    assert back[1:] == [math.inf, -math.inf]


class Colour(enum.IntEnum):
    RED = 1


@pytest.mark.parametrize(
    ("state", "where"),
    [
        ({"counts": defaultdict(int)}, r"state\['counts'\] is a collections.defaultdict.*plain dict"),
        ({"a": [1, {"b": Colour.RED}]}, r"state\['a'\]\[1\]\['b'\] is a .*Colour"),
        ({"obj": SimpleNamespace()}, r"state\['obj'\] is a types.SimpleNamespace"),
        ({"k": {Colour.RED: 1}}, r"state\['k'\] key <Colour.RED: 1> is a"),
    ],
)
def test_what_cannot_cross_is_named(state: dict[str, Any], where: str) -> None:
    with pytest.raises(StateError, match=where):
        encode(state)


@pytest.mark.parametrize(
    ("result", "fragment"),
    [
        ({"by_len": {3: 1, "3": 2}}, r"keys 3 and '3' would both be '3' in JSON"),
        ({"x": math.nan}, r"\['x'\] is a float"),
        ({"s": {1, 2}}, r"\['s'\] is a set.*sorted"),
        ({"k": {(1, 2): 0}}, r"key \(1, 2\) is a tuple"),
    ],
)
def test_result_the_manifest_cannot_hold_is_refused(result: dict[str, Any], fragment: str) -> None:
    with pytest.raises(StateError, match=fragment):
        check_result(result, "the result of finish()")
    with pytest.raises(StateError, match=fragment):
        Checkpoint(run_id="r", source=REF, hop=1, done=True, result=result).to_json()


def test_result_in_ordinary_json_shapes_is_accepted() -> None:
    result = {"top": [("a", 3), ("b", 1)], "by_len": {3: 1, 4: 2}, "ok": True, "none": None}
    doc = json.loads(Checkpoint(run_id="r", source=REF, hop=1, done=True, result=result).to_json())
    assert doc["result"] == {"top": [["a", 3], ["b", 1]], "by_len": {"3": 1, "4": 2}, "ok": True, "none": None}


def test_a_tag_lookalike_in_user_data_stays_data() -> None:
    state = {"x": {"$py": "tuple", "items": [1, 2]}}
    assert typed(through_a_hop(state)) == typed(state)
    assert json.loads(json.dumps(encode(state)))["x"]["$py"] == "dict"


def aggregating_process() -> SimpleNamespace:
    """An ordinary aggregation: counts by an int key, a tuple, a set, a Decimal; it filters
    records and emits several items for some of them."""

    def initial_state() -> dict[str, Any]:
        return {"by_len": {}, "span": (None, None), "seen": set(), "total": Decimal(0), "n": 0}

    def process_batch(records: list[Any], state: dict[str, Any]) -> list[Any]:
        out: list[Any] = []
        for rec in records:
            data = rec if isinstance(rec, bytes) else json.dumps(rec, sort_keys=True).encode()
            k = len(data) % 7
            state["by_len"][k] = state["by_len"].get(k, 0) + 1
            first = state["span"][0]
            state["span"] = (state["n"] if first is None else first, state["n"])
            state["seen"].add(k)
            state["total"] += Decimal(k) / 4
            state["n"] += 1
            if k % 2 == 0:
                out.extend([bytes([k]) * (k + 1)] if isinstance(rec, bytes) else [k] * (k // 2))
        return out

    def finish(state: dict[str, Any]) -> dict[str, Any]:
        return {
            "by_len": {str(k): v for k, v in sorted(state["by_len"].items())},
            "key_types": sorted({type(k).__name__ for k in state["by_len"]}),
            "span": list(state["span"]),
            "seen": sorted(state["seen"]),
            "total": str(state["total"]),
            "n": state["n"],
        }

    return SimpleNamespace(initial_state=initial_state, process_batch=process_batch, finish=finish)


@pytest.mark.parametrize("budgets", [[3], [4, 7, 2], [9]])
def test_a_chain_of_an_aggregating_process_equals_one_pass(budgets: list[int]) -> None:
    hops, single = hops_versus_single_pass(
        sample_body(MODE, 60),
        budgets,
        aggregating_process(),
        read_chunk_bytes=64,
        first_batch_records=3,
        bytes_chunk_size=16,
    )
    assert hops.hops > 3
    assert single.hops == 1
    assert (hops.status, hops.output, hops.result) == (single.status, single.output, single.result)
    assert single.result is not None
    assert single.result["key_types"] == ["int"]
