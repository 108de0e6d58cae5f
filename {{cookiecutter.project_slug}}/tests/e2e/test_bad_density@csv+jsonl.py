"""A third of the records bad, 17 MB, 1000 ms hops: the quarantine is spooled and counted in the
stop margin, so no hop overruns its deadline and the run ends like a single pass."""

from __future__ import annotations
{% if cookiecutter.processing_mode == "jsonl" %}
import json
{%- endif %}
import random

import pytest

from .conftest import Runner

pytestmark = pytest.mark.e2e
SIZE = 17_000_000


def a_third_bad(size: int, seed: int = 3) -> bytes:
    rng = random.Random(seed)
{%- if cookiecutter.processing_mode == "csv" %}
    rows = ["id,region,amount,note"]
{%- else %}
    rows = []
{%- endif %}
    total, i = 0, 0
    while total < size:
        note = "y" * rng.randint(5, 50)
{%- if cookiecutter.processing_mode == "csv" %}
        row = f"{i},eu,{rng.random():.4f}" if i % 3 == 2 else f'{i},us,{rng.random():.4f},"a, {note}"'
{%- else %}
        row = json.dumps({"id": i, "region": "us", "amount": rng.random(), "note": note})
        row = row[: len(row) // 2] if i % 3 == 2 else row
{%- endif %}
        rows.append(row)
        total += len(row) + 2
        i += 1
    return ("\r\n".join(rows) + "\r\n").encode()


def test_a_third_bad_records_never_overrun_a_1000_ms_hop(run_chain: Runner) -> None:
    data = a_third_bad(SIZE)
    single, single_output = run_chain(data, timeout_ms=600_000)
    chain, output = run_chain(data, timeout_ms=1000)
    assert chain["status"] == "succeeded", chain.get("error")
    assert chain["hops"] > 1
    assert chain["timeouts"] == 0, "a hop was killed at its deadline: the stop margin missed something"
    assert chain["bad_records"] == single["bad_records"] > 0.3 * (single["records"] + single["bad_records"])
    assert (output, chain["result"]) == (single_output, single["result"])
