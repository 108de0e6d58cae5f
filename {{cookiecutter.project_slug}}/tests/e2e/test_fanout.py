"""Fan-out through the emulator: N range chains with every fault Lambda inflicts commit what one
pass commits, and the run is merged exactly once (DESIGN.md, "Scaling out")."""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import Runner, make_input, sized
from .test_chain import _reference

pytestmark = pytest.mark.e2e

FAULTS = "kill:0.2,duplicate:0.25,recycle:0.5,retries:6"


@pytest.mark.parametrize("ranges", [2, 4, 8])
def test_fan_out_with_faults_equals_one_pass(run_chain: Runner, tmp_path: Path, mode: str, ranges: int) -> None:
    data = make_input(mode, sized(mode, 2_000_000), seed=11)
    ref_summary, ref_output = _reference(run_chain, data)
    summary, output = run_chain(
        data,
        # Ranges run side by side on this machine's cores, with sandboxes recycled half the time:
        # 1000 ms hops (Lambda's least timeout) keep their deadlines under that load.
        timeout_ms=1000,
        faults=FAULTS,
        seed=ranges,
        PARALLELISM=str(ranges),
        MIN_RANGE_BYTES=str(len(data) // ranges),
    )
    assert summary["status"] == "succeeded", summary.get("error")
    assert summary["ranges"] == ranges
    assert output == ref_output
    for key in ("records", "bad_records", "output_items", "result"):
        assert summary[key] == ref_summary[key], key
    assert summary["uncommitted_output"] == [], "only the manifest and the parts it lists may be visible"
    log = sorted(tmp_path.glob("simulate-*.log"), key=lambda p: p.stat().st_mtime)[-1].read_text()
    assert log.count('"message":"run merged"') == 1, "the merge is committed exactly once"
    assert summary["kills"] + summary["duplicates"] + summary["recycles"] > 0
