"""When to stop a hop: the time left must cover the slowest batch seen plus committing the hop.

A fixed margin (say 10 s) wastes most of a short timeout and is unsafe when one batch takes longer
than it; so the margin is learnt in the hop: factor x (slowest batch + estimated commit), never
below a floor, and the floor itself shrinks for tiny timeouts so a hop always has time to work.
"""

from __future__ import annotations

from typing import Protocol

from .sink import PUBLISH_THREADS

# Commit requests are few and their latency is measured, so a small allowance over the estimate.
_COMMIT_SAFETY = 1.25


class PublishRate:
    """How fast one copy stream of this container's publishing moved bytes (parts are copied
    PUBLISH_THREADS at a time), measured after each hop: module level, so a warm container's next
    hop starts from it. Per stream, so a rate measured over parallel copies is not applied to a
    lone part as if it were parallel too. Until a container has measured, copies are assumed to run
    one after another at the upload rate: a busy or local S3 serialises them."""

    def __init__(self) -> None:
        self.ms_per_mb: float | None = None

    def record(self, ms: float, nbytes: int, parts: int) -> None:
        if nbytes < 1_000_000:  # smaller publishes are all latency, which the round trips cover
            return
        measured = ms / (nbytes / 1e6) * min(max(parts, 1), PUBLISH_THREADS)
        self.ms_per_mb = measured if self.ms_per_mb is None else (self.ms_per_mb + measured) / 2

    def copy_ms(self, nbytes: int, parts: int, upload_ms_per_mb: float) -> float:
        if self.ms_per_mb is None:
            return nbytes / 1e6 * upload_ms_per_mb
        return nbytes / 1e6 * self.ms_per_mb / min(max(parts, 1), PUBLISH_THREADS)


PUBLISH_RATE = PublishRate()


class LambdaContext(Protocol):
    aws_request_id: str
    invoked_function_arn: str

    def get_remaining_time_in_millis(self) -> int: ...


class HopClock:
    def __init__(self, context: LambdaContext, min_margin_ms: int, factor: float, rtt_ms: float) -> None:
        self.context = context
        self.factor = factor
        start_left = context.get_remaining_time_in_millis()
        self.floor_ms = min(float(min_margin_ms), start_left * 0.05)
        self.slowest_batch_ms = 0.0
        self.rtt_ms = rtt_ms  # one S3 round trip, measured when the checkpoint was loaded
        self.put_ms_per_mb = 20.0  # 50 MB/s until a part upload is measured

    def remaining_ms(self) -> int:
        return self.context.get_remaining_time_in_millis()

    def record_batch(self, ms: float) -> None:
        self.slowest_batch_ms = max(self.slowest_batch_ms, ms)

    def record_put(self, ms: float, nbytes: int) -> None:
        """Learn the upload rate from part uploads (big ones only: small ones are all latency)."""
        if nbytes >= 256 * 1024:
            self.put_ms_per_mb = ms / (nbytes / 1e6)

    def commit_estimate_ms(self, pending_bytes: int, parts: int = 0, part_bytes: int = 0) -> float:
        """Part upload + checkpoint + invoke + launch marker, plus moving the unflushed output and
        quarantine, plus publishing `parts` output parts of `part_bytes` in all (server-side
        copies, PUBLISH_THREADS at a time: a round trip or two per wave, and their bytes at the
        publish rate this container measured, else at the upload rate). Publishing runs beside
        the launch, but is counted in full: on a loaded machine the two do not always overlap."""
        waves = -(-parts // PUBLISH_THREADS)
        copy_ms = waves * 2 * self.rtt_ms + PUBLISH_RATE.copy_ms(part_bytes, parts, self.put_ms_per_mb)
        return 4 * self.rtt_ms + pending_bytes / 1e6 * self.put_ms_per_mb + copy_ms

    def margin_ms(self, pending_bytes: int, parts: int = 0, part_bytes: int = 0) -> float:
        commit = _COMMIT_SAFETY * self.commit_estimate_ms(pending_bytes, parts, part_bytes)
        return max(self.floor_ms, self.factor * self.slowest_batch_ms + commit)

    def should_stop(self, pending_bytes: int, parts: int = 0, part_bytes: int = 0) -> bool:
        return self.remaining_ms() < self.margin_ms(pending_bytes, parts, part_bytes)

    def out_of_time(self) -> bool:
        """For readers deep inside one batch: stop pulling more bytes when even the commit is at risk."""
        return self.remaining_ms() < self.floor_ms + _COMMIT_SAFETY * self.commit_estimate_ms(0)
