"""Property: for random bytes, chunk sizes and cut points, a chain of hops commits exactly a single pass."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from {{ cookiecutter.__package_name }}.decoded import COMPRESSED

from .harness import hops_versus_single_pass


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    # Bytes that start like a compressed format are read decompressed or refused (test_bad_records).
    data=st.binary(max_size=400).filter(lambda data: not data.startswith(COMPRESSED)),
    budgets=st.lists(st.integers(2, 12), min_size=1, max_size=6),
    chunk=st.integers(4, 100),
    size=st.integers(1, 64),
    batch=st.integers(1, 8),
    part=st.integers(1, 300),
)
def test_hops_equal_a_single_pass(
    data: bytes, budgets: list[int], chunk: int, size: int, batch: int, part: int
) -> None:
    hops, single = hops_versus_single_pass(
        data,
        budgets,
        read_chunk_bytes=chunk,
        bytes_chunk_size=size,
        first_batch_records=batch,
        max_batch_records=batch,
        part_bytes=part,
    )
    assert hops.output == single.output == data
    assert (hops.records, hops.output_items, hops.result) == (single.records, single.output_items, single.result)
    assert single.records == -(-len(data) // size)
    assert hops.bad_records == single.bad_records == 0
