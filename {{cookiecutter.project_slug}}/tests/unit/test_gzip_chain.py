"""A gzip object through the real handler: in hops of any length, resuming inside members, its
committed output, result, counts and quarantined records equal a single pass over the same bytes
uncompressed, whatever the member split and compression levels."""

from __future__ import annotations

import random
from dataclasses import replace

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devtools.soak import generate, gzip_members

from {{ cookiecutter.__package_name }}.records import MODE

from .harness import as_plain, hops_versus_single_pass


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**32),
    records=st.integers(0, 300),
    cuts=st.lists(st.floats(0, 1), max_size=3),
    levels=st.lists(st.integers(0, 9), min_size=1, max_size=3),
    budgets=st.lists(st.integers(2, 12), min_size=1, max_size=4),
    chunk=st.integers(4, 4096),
)
def test_a_gzip_chain_equals_a_single_pass_over_the_decompressed_bytes(
    seed: int, records: int, cuts: list[float], levels: list[int], budgets: list[int], chunk: int
) -> None:
    plain = generate(MODE, records, "v1", seed).data[: 64 * 1024]  # a cut may end in a bad record: fine
    compressed = gzip_members(plain, [int(c * len(plain)) for c in cuts], levels)
    tunables = {"read_chunk_bytes": chunk, "first_batch_records": 3, "max_batch_records": 7, "bytes_chunk_size": 997}
    hops, single = hops_versus_single_pass(compressed, budgets, **tunables)
    _, reference = hops_versus_single_pass(plain, [], **tunables)
    assert as_plain(hops) == as_plain(single) == replace(reference, hops=0)


def test_hops_resume_inside_one_big_member() -> None:
    """One member, many hops: every hop after the first starts from a block boundary inside it."""
    plain = generate(MODE, 3000, "v1", 11).data + random.Random(11).randbytes(20_000).hex().encode()
    compressed = gzip_members(plain, [], [6])
    tunables = {"read_chunk_bytes": 2048, "max_batch_records": 20, "bytes_chunk_size": 1000}
    hops, single = hops_versus_single_pass(compressed, [6], **tunables)
    assert hops.hops > 10
    assert as_plain(hops) == as_plain(single)
