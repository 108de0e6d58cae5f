"""The guards that make every chain end: depth, run budget, no progress."""

from __future__ import annotations

import dataclasses

import pytest

from {{ cookiecutter.__package_name }}.checkpoint import Checkpoint, ObjectRef
from {{ cookiecutter.__package_name }}.config import Config
from {{ cookiecutter.__package_name }}.guard import (
    STARVED_STALLS,
    DepthExceededError,
    NoProgressError,
    RunBudgetExceededError,
    RunStopped,
    check_before_hop,
    check_progress,
)

RUN = "feedfacefeedfacefeedface"


def cp(**changes: object) -> Checkpoint:
    base = Checkpoint(run_id=RUN, source=ObjectRef("b", "k", '"e"', 1000), hop=0, offset=100, started_at=1000.0)
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


CFG = Config(input_prefix="in/", max_hops=5, max_run_seconds=3600, max_stalls=3)


@pytest.mark.parametrize("hop", [0, 1, 4])
def test_depth_below_the_limit_passes(hop: int) -> None:
    check_before_hop(cp(hop=hop), CFG, now=1000.0)


@pytest.mark.parametrize("hop", [5, 6, 10_000])
def test_depth_guard_trips_at_max_hops(hop: int) -> None:
    with pytest.raises(DepthExceededError) as info:
        check_before_hop(cp(hop=hop), CFG, now=1000.0)
    msg = str(info.value)
    assert msg.startswith(f"run {RUN} ")
    assert "depth guard" in msg
    assert "MAX_HOPS=5" in msg
    assert isinstance(info.value, RunStopped)


def test_run_budget() -> None:
    check_before_hop(cp(), CFG, now=1000.0 + 3600)
    with pytest.raises(RunBudgetExceededError) as info:
        check_before_hop(cp(), CFG, now=1000.0 + 3601)
    msg = str(info.value)
    assert msg.startswith(f"run {RUN} ")
    assert "run budget" in msg
    assert "MAX_RUN_SECONDS=3600" in msg


def test_progress_resets_the_stall_count() -> None:
    assert check_progress(cp(stalls=2), 101, False, 3, "detail") == 0


def test_done_is_progress_even_at_the_same_offset() -> None:
    assert check_progress(cp(stalls=2, offset=1000), 1000, True, 3, "detail") == 0


def test_stalls_count_up_then_trip() -> None:
    assert check_progress(cp(stalls=0), 100, False, 3, "detail") == 1
    assert check_progress(cp(stalls=1), 100, False, 3, "detail") == 2
    with pytest.raises(NoProgressError) as info:
        check_progress(cp(stalls=2), 100, False, 3, "5 ms left after 900 ms batches")
    msg = str(info.value)
    assert msg.startswith(f"run {RUN} ")
    assert "no progress in 3 hops" in msg
    assert "5 ms left after 900 ms batches" in msg
    assert "A single record is larger than one invocation can read" in msg
    assert isinstance(info.value, RunStopped)


def test_one_allowed_stall_trips_at_once() -> None:
    with pytest.raises(NoProgressError):
        check_progress(cp(stalls=0), 100, False, 1, "d")


def test_hops_that_had_no_time_to_read_trip_later_and_blame_the_timeout_not_a_record() -> None:
    limit = 2 * STARVED_STALLS
    for stalls in range(limit - 1):
        assert check_progress(cp(stalls=stalls), 100, False, 2, "d", read=False) == stalls + 1
    with pytest.raises(NoProgressError) as info:
        check_progress(cp(stalls=limit - 1), 100, False, 2, "90 ms left after 0 ms batches", read=False)
    assert f"no progress in {limit} hops in a row" in str(info.value)
    assert "so it read nothing: raise the function timeout" in str(info.value)
    assert "record is larger" not in str(info.value)


def test_a_cold_hop_without_progress_is_not_a_stall() -> None:
    assert check_progress(cp(stalls=1), 100, False, 2, "d", cold=True) == 1
