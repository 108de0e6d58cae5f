"""Fan-out in bytes mode: ranges of whole chunks read exactly the single pass's chunks."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from {{ cookiecutter.__package_name }}.config import Config
from {{ cookiecutter.__package_name }}.ranges import plan_bounds

from .harness import fan_out, read_all


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=st.binary(max_size=300),
    size=st.integers(1, 40),
    parallelism=st.integers(1, 8),
    min_range=st.integers(1, 100),
    chunk=st.integers(1, 50),
)
def test_ranges_read_what_one_pass_reads(data: bytes, size: int, parallelism: int, min_range: int, chunk: int) -> None:
    cfg = Config(input_prefix="in/", bytes_chunk_size=size)
    bounds = list(plan_bounds(len(data), parallelism, min_range, align=size))
    one = read_all(data, cfg, chunk=chunk)
    fan = fan_out(data, cfg, bounds, {}, chunk=chunk)
    assert fan.records == one.records
    assert b"".join(fan.records) == data
    assert fan.redone == 0
