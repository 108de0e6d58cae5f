"""One hop's work: batches of whole records from the checkpoint's offset, through process.py, into
the attempt's sink, until the time left reaches the margin or the object ends. Each batch is sized
from the last one's measured cost; the handler commits what this reads."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .config import Config
from .deadline import HopClock
from .decoded import DecodedSource
from .inflate import GzipError
from .records import RecordReader, encode_output
from .sink import AttemptSink

# Batches stop growing at about this much input. Between the reader making a batch's records and
# process_batch using them, they must stay in the CPU cache: measured with bench/ (make bench), a
# batch of 20 000 records costs 2-3x more per record than one of ~16 KiB of input, while the
# per-batch overhead at 16 KiB is a few microseconds. (Records bigger than that: one per batch.)
BATCH_INPUT_BYTES = 16 * 1024

ProcessBatch = Callable[[list[Any], dict[str, Any]], list[Any]]
END_OF_OBJECT = "end of object"
# The hop began with less time left than committing needs (a loaded machine, a slow S3 round trip):
# it read nothing, which says nothing about the records.
NO_TIME_TO_READ = "no time to read"
# The gzip stream is corrupt or truncated in the batch after the last one read: the hop commits
# what came before, and the next hop, which meets the error first thing, fails the run.
BAD_GZIP_AHEAD = "bad gzip ahead"


@dataclass
class HopTotals:
    records: int = 0
    bad: int = 0
    items: int = 0


@dataclass
class HopWork:
    """Where the hop's reading stopped and what it read on the way."""

    offset: int
    line: int
    done: bool = False
    stop: str = "time"  # or END_OF_OBJECT, or NO_TIME_TO_READ
    totals: HopTotals = field(default_factory=HopTotals)


def read_until_margin(
    reader: RecordReader,
    process_batch: ProcessBatch,
    state: dict[str, Any],
    sink: AttemptSink,
    source: DecodedSource,
    clock: HopClock,
    cfg: Config,
    work: HopWork,
) -> HopWork:
    batch_size = cfg.first_batch_records
    target_ms = min(float(cfg.target_batch_ms), clock.remaining_ms() / 25)
    totals, start = work.totals, work.offset
    if clock.began_out_of_time():
        work.stop = NO_TIME_TO_READ
        return work
    while True:
        t0 = time.perf_counter()
        overhead_before = source.setup_ms + sink.put_ms
        try:
            batch = reader.read_batch(batch_size, clock.out_of_time)
        except GzipError:
            if work.offset == start:
                raise
            work.stop = BAD_GZIP_AHEAD
            return work
        if batch.records:
            out = process_batch(batch.records, state)
            sink.add(encode_output(out), len(out))
            totals.items += len(out)
        if batch.bad:
            sink.add_bad(batch.bad, source.where())
        totals.records += len(batch.records)
        totals.bad += len(batch.bad)
        consumed = batch.offset - work.offset
        work.offset, work.line = batch.offset, batch.line
        source.release(work.offset)
        # Opening the stream and uploading a full part are one-off costs (the commit estimate
        # covers the last part); the margin and the batch size are about the batches to come.
        ms = (time.perf_counter() - t0) * 1000 - (source.setup_ms + sink.put_ms - overhead_before)
        clock.record_batch(ms)
        if batch.eof:
            work.done, work.stop = True, END_OF_OBJECT
            return work
        if clock.should_stop(sink.pending_bytes, *sink.unpublished):
            return work
        batch_size = _next_batch_size(batch_size, ms, target_ms, len(batch.records) + len(batch.bad), consumed, cfg)


def _next_batch_size(size: int, ms: float, target_ms: float, records: int, consumed: int, cfg: Config) -> int:
    """Aim each batch at target_ms: small enough to stop on time, big enough to amortise overhead;
    and no bigger than about BATCH_INPUT_BYTES of input, so its records stay in the CPU cache."""
    scale = target_ms / ms if ms > 0 else 4.0
    size = max(1, min(cfg.max_batch_records, int(size * min(4.0, max(0.25, scale)))))
    if records and consumed > 0:
        size = min(size, max(1, BATCH_INPUT_BYTES * records // consumed))
    return size
