"""The worked example (bytes): the object copied through, with its CRC32, size and newline count."""

from __future__ import annotations

import functools
import itertools
import json
import zlib
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from {{ cookiecutter.__package_name }} import process

from .harness import Harness


def test_copy_through_with_crc() -> None:
    state = process.initial_state()
    chunks = [b"ab\n", b"cd", b"\n\n", b""]
    out: list[bytes] = []
    for chunk in chunks:
        out += process.process_batch([chunk], state)
    json.dumps(state)
    assert b"".join(out) == b"ab\ncd\n\n"
    crc = zlib.crc32(b"ab\ncd\n\n")
    assert process.finish(state) == {"bytes": 7, "crc32": f"{crc:08x}", "newlines": 3}


def test_empty_run() -> None:
    assert process.finish(process.initial_state()) == {"bytes": 0, "crc32": "00000000", "newlines": 0}


def test_through_the_handler(h: Harness) -> None:
    with h.using(process=process):  # the harness runs the framework's own by default
        h.configure(bytes_chunk_size=10, read_chunk_bytes=16, first_batch_records=2, max_batch_records=2)
        body = bytes(range(256)) * 3 + b"\n tail"
        out = h.outcome(h.drive(h.put_input(body), lambda: 4))
        assert out.hops > 2
        assert out.output == body
        assert out.result == {"bytes": len(body), "crc32": f"{zlib.crc32(body):08x}", "newlines": body.count(b"\n")}
        assert out.records == -(-len(body) // 10)


@given(data=st.binary(max_size=3000), cuts=st.lists(st.integers(0, 3000), max_size=5), chunk=st.integers(1, 64))
def test_merging_ranges_gives_one_pass(data: bytes, cuts: list[int], chunk: int) -> None:
    """With Parallelism > 1 each range has its own state; merged in order they are one pass's."""
    edges = [0, *sorted(min(c, len(data)) for c in cuts), len(data)]
    states = []
    for a, b in itertools.pairwise(edges):
        state = process.initial_state()
        process.process_batch([data[i : min(i + chunk, b)] for i in range(a, b, chunk)], state)
        states.append(state)
    merged = functools.reduce(process.merge, states)
    assert process.finish(merged) == process.finish(states_of_one_pass(data, chunk))
    assert merged["crc32"] == zlib.crc32(data)


def states_of_one_pass(data: bytes, chunk: int) -> dict[str, Any]:
    state = process.initial_state()
    process.process_batch([data[i : i + chunk] for i in range(0, len(data), chunk)], state)
    return state
