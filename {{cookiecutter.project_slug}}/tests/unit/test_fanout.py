"""Fan-out through the real handler: a run split into range chains commits what one pass commits,
merged once, with every part in range order and nothing else under the output prefix."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devtools import passthrough

from {{ cookiecutter.__package_name }}.config import ConfigError
from {{ cookiecutter.__package_name }}.records import MODE

from .harness import BUCKET, Harness, Outcome, aws, make_config, sample_body


def without_lines(out: Outcome) -> Outcome:
    """A range's quarantined records count lines from the range's start: compare the rest."""
    out.bad = [{k: v for k, v in b.items() if k != "line"} for b in out.bad]
    out.hops = 0
    return out


def run(body: bytes, budget: int | None, **changes: Any) -> tuple[Outcome, dict[str, Any], Harness]:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        cfg = make_config(tmp, max_stalls=1000, max_hops=100_000, **changes)
        with aws(cfg, passthrough) as h:
            run_id = h.drive(h.put_input(body), lambda: budget)
            key = f"{cfg.output_prefix}{run_id}/manifest.json"
            manifest = json.loads(h.s3.get_object(Bucket=BUCKET, Key=key)["Body"].read())
            return h.outcome(run_id), manifest, h


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=st.integers(20, 120),
    parallelism=st.integers(2, 8),
    split=st.integers(2, 12),
    budget=st.sampled_from([None, 2, 5, 40]),
)
def test_a_fanned_out_run_commits_one_pass(rows: int, parallelism: int, split: int, budget: int | None) -> None:
    body = sample_body(MODE, rows)
    one, _, _ = run(body, None, bytes_chunk_size=23)
    fan, manifest, _ = run(
        body, budget, parallelism=parallelism, min_range_bytes=max(1, len(body) // split), bytes_chunk_size=23
    )
    assert without_lines(fan) == without_lines(one)
    ranges = manifest["ranges"]
    assert len(ranges) == min(parallelism, split) or len(ranges) >= 2
    assert [r["start"] for r in ranges[1:]] == [r["end"] for r in ranges[:-1]]


def test_parallelism_needs_merge(cfg: Any) -> None:
    class NoMerge:
        initial_state = staticmethod(passthrough.initial_state)
        process_batch = staticmethod(passthrough.process_batch)
        finish = staticmethod(passthrough.finish)

    from dataclasses import replace

    refused = pytest.raises(ConfigError, match=r"define merge\(left, right\) in process.py")
    with refused, aws(replace(cfg, parallelism=2), NoMerge):
        pass
