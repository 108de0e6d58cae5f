"""The adaptive margin: it covers the slowest batch and the commit, never below a floor."""

from __future__ import annotations

import pytest

from {{ cookiecutter.__package_name }} import deadline
from {{ cookiecutter.__package_name }}.deadline import HopClock

from .harness import FakeContext


class Clock:
    """A context whose remaining time the test sets."""

    aws_request_id = "r"
    invoked_function_arn = "arn"

    def __init__(self, left: int) -> None:
        self.left = left

    def get_remaining_time_in_millis(self) -> int:
        return self.left


def test_floor_is_the_minimum_margin_on_long_timeouts() -> None:
    clock = HopClock(Clock(900_000), 500, 1.5, 0.0)
    assert clock.floor_ms == 500
    assert clock.margin_ms(0) == 500


def test_floor_shrinks_for_tiny_timeouts() -> None:
    clock = HopClock(Clock(1000), 500, 1.5, 0.0)
    assert 0 < clock.floor_ms <= 200  # a 1 s hop keeps most of its time for work
    assert clock.margin_ms(0) == clock.floor_ms


def test_margin_adapts_to_the_slowest_batch() -> None:
    clock = HopClock(Clock(900_000), 500, 1.5, 10.0)
    clock.record_batch(100.0)
    assert clock.margin_ms(0) == 500  # a fast batch: the floor
    clock.record_batch(2000.0)
    slow = clock.margin_ms(0)
    assert slow >= 1.5 * 2000  # covers the slowest batch times the factor...
    assert slow >= 1.5 * 2000 + clock.commit_estimate_ms(0)  # ...and the commit on top
    clock.record_batch(300.0)  # a faster batch does not lower it
    assert clock.slowest_batch_ms == 2000.0
    assert clock.margin_ms(0) == slow


def test_commit_estimate_grows_with_latency_and_pending_output_and_learns_the_upload_rate() -> None:
    fast = HopClock(Clock(900_000), 0, 2.0, 5.0)
    slow = HopClock(Clock(900_000), 0, 2.0, 50.0)
    assert 0 < fast.commit_estimate_ms(0) < slow.commit_estimate_ms(0)
    clock = HopClock(Clock(900_000), 0, 2.0, 20.0)
    base = clock.commit_estimate_ms(10_000_000)
    assert base > clock.commit_estimate_ms(0)
    clock.record_put(10.0, 1000)  # too small to say anything about throughput
    assert clock.commit_estimate_ms(10_000_000) == base
    clock.record_put(4000.0, 2_000_000)  # 2000 ms per MB: much slower than assumed
    assert clock.commit_estimate_ms(10_000_000) - clock.commit_estimate_ms(0) == pytest.approx(10 * 2000.0)
    assert clock.margin_ms(10_000_000) > clock.margin_ms(0)


@pytest.mark.parametrize("pages", [1, 2, 4])
def test_a_commit_that_writes_ledger_pages_costs_a_round_trip_each(pages: int) -> None:
    plain = HopClock(Clock(900_000), 0, 2.0, 20.0)
    paging = HopClock(Clock(900_000), 0, 2.0, 20.0, ledger_pages=pages)
    assert paging.commit_estimate_ms(0) - plain.commit_estimate_ms(0) == pytest.approx(pages * 20.0)


def test_should_stop_compares_time_left_with_the_margin() -> None:
    ctx = Clock(100_000)
    clock = HopClock(ctx, 500, 1.5, 0.0)
    clock.record_batch(1000.0)
    margin = clock.margin_ms(0)
    assert margin >= 1500
    assert not clock.should_stop(0)
    ctx.left = int(margin) + 1
    assert not clock.should_stop(0)
    ctx.left = int(margin) - 1
    assert clock.should_stop(0)


def test_out_of_time_keeps_room_for_the_commit_only() -> None:
    ctx = Clock(100_000)
    clock = HopClock(ctx, 500, 1.5, 100.0)
    clock.record_batch(5000.0)  # a slow batch does not matter inside the read
    need = clock.floor_ms + clock.commit_estimate_ms(0)
    ctx.left = int(need * 1.5) + 1
    assert not clock.out_of_time()
    assert clock.should_stop(0)  # but it does for starting another batch
    ctx.left = int(need) - 1
    assert clock.out_of_time()


def test_fake_context_counts_calls() -> None:
    ctx = FakeContext(2)
    assert [ctx.get_remaining_time_in_millis() > 0 for _ in range(4)] == [True, True, False, False]
    assert FakeContext(None).get_remaining_time_in_millis() > 0


def copy_estimate(clock: HopClock, parts: int, part_bytes: int) -> float:
    """The publishing part of the commit estimate (round trips at 0 ms), before its safety factor."""
    assert clock.rtt_ms == 0
    return clock.commit_estimate_ms(0, parts=parts, part_bytes=part_bytes) / deadline._COPY_SAFETY


def test_publishing_is_costed_serially_until_a_rate_is_known() -> None:
    """A cold container with nothing to go by cannot know whether copies run in parallel (a busy or
    local S3 serialises them): 8 parts cost their bytes at half the upload rate (a copy reads and
    writes); after a measured publish, at that rate."""
    rate = deadline.PublishRate()
    clock = HopClock(FakeContext(), 500, 1.5, rtt_ms=0.0, publish_rate=rate)
    clock.record_put(100.0, 1_000_000)  # 100 ms per MB
    assert copy_estimate(clock, parts=8, part_bytes=8_000_000) == pytest.approx(1600.0)
    rate.record(40.0, 500_000, 1)  # too small to say anything about throughput
    assert copy_estimate(clock, parts=8, part_bytes=8_000_000) == pytest.approx(1600.0)
    rate.record(80.0, 8_000_000, 8)  # 8 parts side by side: 10 ms per MB in all, 80 per stream
    assert copy_estimate(clock, parts=8, part_bytes=8_000_000) == pytest.approx(80.0)
    # ...so one lone part of 1 MB costs a stream's 80 ms, not an eighth of it.
    assert copy_estimate(clock, parts=1, part_bytes=1_000_000) == pytest.approx(80.0)
    rate.record(160.0, 8_000_000, 8)  # slower now: taken at once
    assert copy_estimate(clock, parts=8, part_bytes=8_000_000) == pytest.approx(160.0)
    rate.record(40.0, 8_000_000, 8)  # faster: a quarter of the way towards it
    assert copy_estimate(clock, parts=8, part_bytes=8_000_000) == pytest.approx(130.0)


def test_an_s3_that_copies_one_part_at_a_time_is_not_costed_as_parallel() -> None:
    rate = deadline.PublishRate()
    clock = HopClock(FakeContext(), 500, 1.5, rtt_ms=0.0, publish_rate=rate)
    rate.record(50.0, 1_000_000, 1)  # one part: 50 ms per MB
    assert copy_estimate(clock, parts=8, part_bytes=60_000_000) == pytest.approx(3000.0)  # not 375


@pytest.mark.parametrize(
    "given",
    [
        None,
        True,
        "80",
        [10.0, 80.0],
        {"ms_per_mb": 10.0},
        {"ms_per_mb": -1.0, "stream_ms_per_mb": 80.0},
        {"ms_per_mb": True, "stream_ms_per_mb": 80.0},
        {"ms_per_mb": 10.0, "stream_ms_per_mb": float("nan")},
        {"ms_per_mb": 10.0, "stream_ms_per_mb": 1e9},
    ],
)
def test_rates_that_this_code_did_not_write_are_ignored(given: object) -> None:
    rate = deadline.PublishRate()
    rate.adopt(given)
    assert rate.known() is None


def test_a_fresh_container_adopts_the_last_hops_rates_but_keeps_its_own() -> None:
    rate = deadline.PublishRate()
    rate.adopt({"ms_per_mb": 10, "stream_ms_per_mb": 80.0})
    assert rate.known() == {"ms_per_mb": 10.0, "stream_ms_per_mb": 80.0}
    fresh = deadline.PublishRate()
    fresh.record(400.0, 8_000_000, 1)  # this container's own measurement: 50 ms per MB
    fresh.adopt({"ms_per_mb": 1.0, "stream_ms_per_mb": 1.0})
    assert fresh.known() == {"ms_per_mb": 50.0, "stream_ms_per_mb": 50.0}
