"""The contract between your process.py and the framework: over the sample in events/, a chain of
many short hops must give exactly the output and result of one pass, and running it again (as a
retried or duplicate hop does) the same again. When it does not, the failure says what in
process.py breaks the contract.

This is the one framework test that runs your process.py; the others run the framework's own
(devtools.passthrough), so they keep passing whatever you write here.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from {{ cookiecutter.__package_name }} import process
from {{ cookiecutter.__package_name }}.state_codec import StateError

from .harness import Outcome, hops_versus_single_pass

SAMPLE = next(Path(__file__).resolve().parents[2].glob("events/sample.*"))
CHAIN = {"read_chunk_bytes": 64, "first_batch_records": 2, "max_batch_records": 3, "bytes_chunk_size": 64}


def _runs(budgets: list[int]) -> tuple[Outcome, Outcome]:
    try:
        return hops_versus_single_pass(SAMPLE.read_bytes(), budgets, process, **CHAIN)
    except StateError as exc:
        pytest.fail(f"process.py keeps something in its state or result that cannot cross a hop: {exc}")
    except (TypeError, ValueError) as exc:
{%- if cookiecutter.processing_mode == "bytes" %}
        pytest.fail(f"process.py returned output the framework cannot write ({exc}): each item must be bytes")
{%- else %}
        pytest.fail(
            f"process.py returned output the framework cannot write ({exc}): each item must be JSON-serialisable"
        )
{%- endif %}


def _explain(hops: Outcome, single: Outcome) -> str:
    if hops.output != single.output:
        return (
            "the committed output of a chain differs from one pass over the same records: process_batch "
            "must give the same items for the same records whatever the batches (no randomness, clock, "
            "set iteration order, or state kept outside `state`, such as module globals)"
        )
    return (
        f"finish() gave {hops.result!r} after a chain but {single.result!r} after one pass: everything "
        "process_batch accumulates must live in `state` (not in module globals), and finish must depend "
        "only on it"
    )


@pytest.mark.parametrize("budgets", [[2], [3, 1, 5]])
def test_a_chain_equals_one_pass(budgets: list[int]) -> None:
    hops, single = _runs(budgets)
    assert single.hops == 1
    assert hops.hops > 2, f"{SAMPLE.name} is too small to make a chain: add records to it"
    assert (hops.output, hops.result) == (single.output, single.result), _explain(hops, single)
    assert (hops.records, hops.bad_records, hops.output_items) == (
        single.records,
        single.bad_records,
        single.output_items,
    )


def test_the_same_records_twice_give_the_same_output() -> None:
    """A retried or duplicate hop calls process_batch again on the same records with the state as
    it was: the items must be the same, or exactly-once would commit whichever attempt won."""
    first, second = _runs([2]), _runs([2])
    assert first[0].output == second[0].output, _explain(first[0], second[0])
    assert first[0].result == second[0].result, _explain(first[0], second[0])
