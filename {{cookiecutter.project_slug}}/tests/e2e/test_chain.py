"""The real handler's recursive chain through the emulator: deadline cuts and Lambda's faults must
never change the committed output or the final result (DESIGN.md, "Boundaries never change results"
and "Exactly-once output")."""

from __future__ import annotations

from typing import Any

import pytest

from devtools.soak import gzip_members

from .conftest import Runner, make_input, sized

pytestmark = pytest.mark.e2e


def chain_timeout_ms(ref_summary: dict[str, Any]) -> int:
    """A timeout that cuts the input into ~15 hops whatever this machine's speed: a fifteenth of the
    time the single pass spent processing, never below 300 ms (a cold sandbox and the commit
    with its publishing copies need most of 100 ms against moto_server here; ci17: a run's first
    hop overran 200 ms three times in a row on a CI machine)."""
    busy_ms = sum(row["end_ms"] - row["start_ms"] for row in ref_summary["timeline"])
    return max(300, min(1000, int(busy_ms / 15)))


REQUIRED = {
    "status", "hops", "records", "bad_records", "bytes_fetched", "object_size",
    "kills", "duplicates", "retries", "result",
}  # fmt: skip


@pytest.fixture(scope="module")
def chain_input(mode: str) -> bytes:
    return make_input(mode, sized(mode, 3_000_000), seed=7)


_REFERENCE: dict[bytes, tuple[dict[str, Any], bytes]] = {}


def _reference(run_chain: Runner, data: bytes) -> tuple[dict[str, Any], bytes]:
    """The single pass, computed once per input."""
    if data not in _REFERENCE:
        summary, output = run_chain(data, timeout_ms=600_000)
        assert summary["status"] == "succeeded", summary.get("error")
        assert summary["hops"] == 1
        _REFERENCE[data] = summary, output
    return _REFERENCE[data]


def test_chain_equals_single_pass(run_chain: Runner, chain_input: bytes) -> None:
    ref_summary, ref_output = _reference(run_chain, chain_input)
    # retries:6, as Lambda could be configured: a hop that overruns on a loaded machine is retried
    # (a retried hop is one more cut the output must not show), rather than failing the run.
    summary, output = run_chain(chain_input, timeout_ms=chain_timeout_ms(ref_summary), faults="retries:6")
    assert summary.keys() >= REQUIRED
    assert summary["status"] == "succeeded", summary.get("error")
    assert summary["hops"] > 2, "the timeout must cut this input into several hops"
    assert output == ref_output
    assert len(output) > 0
    for key in ("records", "bad_records", "output_items", "result"):
        assert summary[key] == ref_summary[key], key
    assert summary["object_size"] == len(chain_input)
    assert summary["bytes_fetched"] >= len(chain_input)
    assert len(summary["timeline"]) == summary["hops"]
    assert sum(row["records"] for row in summary["timeline"]) == summary["records"]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_faults_do_not_change_the_result(run_chain: Runner, chain_input: bytes, seed: int) -> None:
    ref_summary, ref_output = _reference(run_chain, chain_input)
    summary, output = run_chain(
        chain_input,
        timeout_ms=chain_timeout_ms(ref_summary),
        faults="kill:0.2,duplicate:0.25,recycle:0.5,retries:6",
        seed=seed,
    )
    assert summary["status"] == "succeeded", summary.get("error")
    assert output == ref_output
    assert summary["uncommitted_output"] == [], "only the manifest and the parts it lists may be visible"
    injected = summary["kills"] + summary["duplicates"] + summary["recycles"]
    assert injected > 0, "with these probabilities over dozens of invocations some fault must fire"


def test_a_gzip_input_commits_what_the_plain_one_does(run_chain: Runner, chain_input: bytes) -> None:
    """The same bytes gzip-compressed in two members, through hops that resume inflating from their
    access points, under kills, duplicates and recycles: the plain input's output and result."""
    ref_summary, ref_output = _reference(run_chain, chain_input)
    compressed = gzip_members(chain_input, [len(chain_input) // 2], [6, 1])
    summary, output = run_chain(
        compressed,
        timeout_ms=chain_timeout_ms(ref_summary),
        faults="kill:0.2,duplicate:0.25,recycle:0.5,retries:6",
        seed=4,
    )
    assert summary["status"] == "succeeded", summary.get("error")
    assert summary["hops"] > 2, "the timeout must cut this input into several hops"
    assert output == ref_output
    for key in ("records", "bad_records", "output_items", "result"):
        assert summary[key] == ref_summary[key], key
    assert summary["object_size"] == len(compressed)
    assert summary["uncommitted_output"] == []


def test_only_committed_output_is_visible_after_faults(run_chain: Runner, chain_input: bytes) -> None:
    """Under kills, duplicates and recycles, the output prefix holds the manifest and the parts it
    lists and nothing else (losing and killed attempts staged theirs under the state prefix).
    300 ms hops: long enough that a hop is not a coin toss on a loaded 2-core machine."""
    _, ref_output = _reference(run_chain, chain_input)
    summary, output = run_chain(
        chain_input, timeout_ms=300, faults="kill:0.3,duplicate:0.3,recycle:0.3,retries:6", seed=11
    )
    assert summary["status"] == "succeeded", summary.get("error")
    assert output == ref_output
    assert summary["kills"] + summary["duplicates"] > 0
    assert summary["uncommitted_output"] == []


def test_object_overwritten_mid_run_fails_with_empty_output(run_chain: Runner, chain_input: bytes) -> None:
    ref_summary, _ = _reference(run_chain, chain_input)
    summary, output = run_chain(
        chain_input, timeout_ms=chain_timeout_ms(ref_summary), faults="overwrite:2", ON_OBJECT_CHANGE="fail"
    )
    assert summary["overwrites"] == 1, "the chain must reach hop 2 for this test to mean anything"
    assert summary["status"] == "failed"
    assert output == b""
    error = summary["error"].lower()
    assert "chang" in error or "etag" in error or "modified" in error, summary["error"]
