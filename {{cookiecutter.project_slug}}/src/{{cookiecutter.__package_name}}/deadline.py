"""When to stop a hop: the time left must cover the slowest batch seen plus committing the hop.

A fixed margin (say 10 s) wastes most of a short timeout and is unsafe when one batch takes longer
than it; so the margin is learnt in the hop: factor x (slowest batch + estimated commit), never
below a floor, and the floor itself shrinks for tiny timeouts so a hop always has time to work.
"""

from __future__ import annotations

from typing import Protocol, TypeGuard

from .sink import PUBLISH_THREADS

# Commit requests are few and their latency is measured, so a small allowance over the estimate.
_COMMIT_SAFETY = 1.25
# Copy speed is not: on a loaded S3 one publish ran at 3 ms per MB and the next at 7 (make bench,
# 1000 ms hops, every core busy), so the copying is costed at twice its estimate.
_COPY_SAFETY = 2.0


class PublishRate:
    """How fast publishing copied bytes, measured after each hop two ways: over the whole publish
    (`ms_per_mb`), and per copy stream (`stream_ms_per_mb`; parts are copied PUBLISH_THREADS at a
    time). A publish is costed at the slower of the two: the whole-publish rate when S3 does not
    copy in parallel (a busy or local one serialises copies: costed per stream, 60 MB in 8 parts
    after a 1-part measurement came out 8x too fast), the stream rate for fewer parts than the
    measurement had (a lone part is not copied at the speed of eight side by side).

    The rates belong to S3 more than to the container: a hop hands what it knows to the next (in
    the continuation payload), so a fresh container does not publish blind. With nothing to go by
    (hop 0 of a run on a new container), copies are assumed to run one after another at half the
    upload rate (a copy reads and writes). A slower measurement is taken at once and a faster one
    a quarter at a time, since copy speed swings with the load.
    """

    def __init__(self) -> None:
        self.ms_per_mb: float | None = None
        self.stream_ms_per_mb: float | None = None

    def record(self, ms: float, nbytes: int, parts: int) -> None:
        if nbytes < 1_000_000:  # smaller publishes are all latency, which the round trips cover
            return
        whole = ms / (nbytes / 1e6)
        self.ms_per_mb = _slow_to_forget(self.ms_per_mb, whole)
        self.stream_ms_per_mb = _slow_to_forget(self.stream_ms_per_mb, whole * min(max(parts, 1), PUBLISH_THREADS))

    def known(self) -> dict[str, float] | None:
        """What a continuation payload carries to the next hop."""
        if self.ms_per_mb is None or self.stream_ms_per_mb is None:
            return None
        return {"ms_per_mb": self.ms_per_mb, "stream_ms_per_mb": self.stream_ms_per_mb}

    def adopt(self, known: object) -> None:
        """The rates the previous hop knew, unless this container has measured its own."""
        if self.ms_per_mb is not None or not isinstance(known, dict):
            return
        whole, stream = known.get("ms_per_mb"), known.get("stream_ms_per_mb")
        if _plausible(whole) and _plausible(stream):  # else not written by this code
            self.ms_per_mb, self.stream_ms_per_mb = float(whole), float(stream)

    def copy_ms(self, nbytes: int, parts: int, upload_ms_per_mb: float) -> float:
        if self.ms_per_mb is None or self.stream_ms_per_mb is None:
            return nbytes / 1e6 * upload_ms_per_mb * 2
        per_mb = max(self.ms_per_mb, self.stream_ms_per_mb / min(max(parts, 1), PUBLISH_THREADS))
        return nbytes / 1e6 * per_mb


def _slow_to_forget(old: float | None, new: float) -> float:
    return new if old is None else max(new, 0.75 * old + 0.25 * new)


def _plausible(rate: object) -> TypeGuard[float]:
    return isinstance(rate, (int, float)) and not isinstance(rate, bool) and 0 < rate < 1e6


class LambdaContext(Protocol):
    aws_request_id: str
    invoked_function_arn: str

    def get_remaining_time_in_millis(self) -> int: ...


class HopClock:
    def __init__(
        self,
        context: LambdaContext,
        min_margin_ms: int,
        factor: float,
        rtt_ms: float,
        publish_rate: PublishRate | None = None,
        ledger_pages: int = 0,
    ) -> None:
        self.context = context
        self.ledger_pages = ledger_pages  # pages of the ledger the commit writes first (ledger.pages_due)
        self.publish_rate = publish_rate or PublishRate()  # the container's, which outlives the hop
        self.factor = factor
        self.start_left_ms = context.get_remaining_time_in_millis()
        self.floor_ms = min(float(min_margin_ms), self.start_left_ms * 0.05)
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
        """Part upload + checkpoint + invoke + launch marker + the ledger's pages, plus moving the unflushed output and
        quarantine, plus publishing `parts` output parts of `part_bytes` in all (server-side
        copies, PUBLISH_THREADS at a time: a round trip or two per wave, and their bytes at the
        publish rate known, else at half the upload rate)."""
        waves = -(-parts // PUBLISH_THREADS)
        copying = _COPY_SAFETY * self.publish_rate.copy_ms(part_bytes, parts, self.put_ms_per_mb)
        copy_ms = waves * 2 * self.rtt_ms + copying
        return (4 + self.ledger_pages) * self.rtt_ms + pending_bytes / 1e6 * self.put_ms_per_mb + copy_ms

    def margin_ms(self, pending_bytes: int, parts: int = 0, part_bytes: int = 0) -> float:
        commit = _COMMIT_SAFETY * self.commit_estimate_ms(pending_bytes, parts, part_bytes)
        return max(self.floor_ms, self.factor * self.slowest_batch_ms + commit)

    def should_stop(self, pending_bytes: int, parts: int = 0, part_bytes: int = 0) -> bool:
        return self.remaining_ms() < self.margin_ms(pending_bytes, parts, part_bytes)

    def began_out_of_time(self) -> bool:
        """The hop had less time than committing needs when it began (a loaded machine, a slow
        round trip loading the checkpoint): it must not read at all."""
        return self.start_left_ms < self.floor_ms + _COMMIT_SAFETY * self.commit_estimate_ms(0)

    def out_of_time(self) -> bool:
        """For readers deep inside one batch: stop pulling more bytes when even the commit is at risk."""
        return self.remaining_ms() < self.floor_ms + _COMMIT_SAFETY * self.commit_estimate_ms(0)
