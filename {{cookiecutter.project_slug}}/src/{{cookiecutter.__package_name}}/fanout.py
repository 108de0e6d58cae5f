"""Fan-out: one object read by several range chains at once, and merged exactly once.

With PARALLELISM > 1, the first hop of a run on a large enough plain object plans ranges
(ranges.plan_bounds), commits the plan, commits each range chain's first checkpoint and launches
them. A range chain is the run's chain over its range (checkpoints, margin, cache, quarantine,
guards, published parts), in its own folder under the run's state. When it reaches its limit it
commits its last checkpoint, publishes, records where it began and ended (`finished/`), and settles
the run: the ranges are accepted in order, each only where the one before it ended (ranges.settle);
a range whose speculated start was wrong is redone from there as a new generation, whose
predecessor's parts are deleted first (an error a range with a speculated start runs into is
held until its start is confirmed: a wrong start makes garbage of what it reads); when every
range is accepted, the states are merged in range order (process.merge), finish() gives the
result, and the manifest lists the accepted parts in range order: written with IfNoneMatch, it is
the one merge commit whoever gets there.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from . import ledger
from .checkpoint import Checkpoint, CheckpointStore, Pointer, RangeInfo
from .config import Config
from .decoded import DecodedSource
from .guard import RunStopped
from .layout import RunLayout, chain_id, check_chain
from .ranges import RangeEnd, plan_bounds, settle
from .records import RecordReader, line_end, range_context
from .runs import get_json, manifest_doc, put_once, read_outcome, record_outcome
from .s3util import S3Client, exists
from .source import ObjectSource
from .state_codec import check_result
from .telemetry import MetricUnit, logger, metrics

Launch = Callable[[CheckpointStore, Pointer, str], None]


@dataclass(frozen=True)
class Plan:
    bounds: tuple[int, ...]
    context: dict[str, Any]  # the reader context a range that begins mid-object starts with
    started_at: float
    code_version: str

    @property
    def count(self) -> int:
        return len(self.bounds) - 1


def plan_ranges(source: ObjectSource, cp: Checkpoint, cfg: Config) -> Plan | None:
    """The ranges of this run's object, or None to read it as one chain: too small, gzip (a range
    cannot start inside a deflate stream without an index), or a CSV without a header row."""
    size = cp.source.size
    if cfg.parallelism < 2 or size < 2 * cfg.min_range_bytes:
        return None
    decoded = DecodedSource(source, None)
    reader = RecordReader(decoded.chunks(0), 0, 0, {}, cfg)
    reader.read_batch(1, lambda: False)
    if decoded.compressed:
        logger.info("gzip input runs as one chain: a range cannot start inside a deflate stream")
        return None
    context = range_context(reader.context)
    if context is None:
        logger.info("this object runs as one chain: its first record is not a header row")
        return None
    align = cfg.bytes_chunk_size if line_end(context) is None else 1
    bounds = plan_bounds(size, cfg.parallelism, cfg.min_range_bytes, align)
    if len(bounds) < 3:
        return None
    return Plan(bounds, context, cp.started_at, cp.code_version)


def commit_plan(store: CheckpointStore, plan: Plan) -> Plan:
    """The plan, written once: a duplicate planner reads the one that won (the same, by design)."""
    doc = {"bounds": list(plan.bounds), "context": plan.context, "started_at": plan.started_at,
           "code_version": plan.code_version}  # fmt: skip
    if not put_once(store.s3, store.bucket, store.layout.plan(), doc):
        return load_plan(store.s3, store.bucket, store.layout)
    return plan


def find_plan(s3: S3Client, bucket: str, layout: RunLayout) -> Plan | None:
    doc = get_json(s3, bucket, layout.run().plan())
    if doc is None:
        return None
    return Plan(tuple(doc["bounds"]), doc["context"], float(doc["started_at"]), str(doc["code_version"]))


def load_plan(s3: S3Client, bucket: str, layout: RunLayout) -> Plan:
    plan = find_plan(s3, bucket, layout)
    if plan is None:
        raise FileNotFoundError(f"run {layout.run_id} has no plan at s3://{bucket}/{layout.run().plan()}")
    return plan


def first_checkpoint(cp: Checkpoint, plan: Plan, index: int, generation: int, start: int | None,
                     state: dict[str, Any]) -> Checkpoint:  # fmt: skip
    """Hop 0 of range `index`: from the run's bound (its first hop finds where records start), or
    from a confirmed `start`; on the code `cp` is pinned to (a redo after a resume runs the fix)."""
    offset = plan.bounds[index] if start is None else start
    return Checkpoint(
        run_id=cp.run_id, source=cp.source, hop=0, offset=offset, state=state,
        reader_context={} if index == 0 else dict(plan.context), started_at=plan.started_at,
        updated_at=time.time(), code_version=cp.code_version,
        range=RangeInfo(index, plan.count, plan.bounds[index + 1], generation, 0 if index == 0 else start),
    )  # fmt: skip


def launch_ranges(store: CheckpointStore, cp: Checkpoint, plan: Plan, state: Callable[[], dict[str, Any]],
                  launch: Launch) -> list[str]:  # fmt: skip
    """Commit and launch each range chain's first hop (once: a retried planner, a late duplicate of
    hop 0 or a resume skips those it finds launched). Returns the chains this call launched."""
    launched = []
    for index in range(plan.count):
        chain = store.of_chain(chain_id(index, 0))
        if _commit_and_launch(chain, first_checkpoint(cp, plan, index, 0, None, state()), launch):
            launched.append(chain.layout.chain)
    if launched:
        metrics.add_metric(name="RangesLaunched", unit=MetricUnit.Count, value=len(launched))
        logger.info("run fanned out", extra={"ranges": plan.count, "bounds": list(plan.bounds), "launched": launched})
    return launched


def _commit_and_launch(chain: CheckpointStore, first: Checkpoint, launch: Launch,
                       before_launch: Callable[[], None] = lambda: None) -> bool:  # fmt: skip
    """Commit a chain's first checkpoint and launch it, once: a repeat finds it committed and
    launches it only if it was never marked launched (its committer may have died in between), and
    a second launch would only be a duplicate of that hop. True when this call launched it."""
    pointer = chain.commit(first)
    if pointer is None:
        if exists(chain.s3, chain.bucket, chain.layout.launched(0)):
            return False
        found = chain.find(0)
        assert found is not None
        pointer = found[1]
    before_launch()
    launch(chain, pointer, first.code_version)
    return True


def record_finished(store: CheckpointStore, done: Checkpoint) -> None:
    """This range chain reached its limit: where its records began and where the next one's begin."""
    info = done.range
    assert info is not None and info.start is not None
    doc = {"index": info.index, "generation": info.generation, "start": info.start, "end": done.offset,
           "hop": done.hop}  # fmt: skip
    put_once(store.s3, store.bucket, store.layout.run().finished(info.chain), doc)


def settle_run(store: CheckpointStore, process: Any, launch: Launch, code_version: str) -> dict[str, Any] | None:
    """Accept the finished ranges in order; redo the first that began in the wrong place (on
    `code_version`, the settling chain's); fail the run on a held error that turned out real;
    merge and write the manifest once every range is accepted. Returns the result when this call
    wrote the manifest. Any attempt may call it, any number of times."""
    s3, bucket, layout = store.s3, store.bucket, store.layout.run()
    if exists(s3, bucket, layout.manifest()) or read_outcome(s3, bucket, layout) is not None:
        return None  # merged, or ended (failed, abandoned): nothing to redo or merge
    plan = load_plan(s3, bucket, layout)
    found = settle(plan.count, _latest(s3, bucket, layout))
    if found.redo is not None:
        _redo(store, plan, *found.redo, process, launch, code_version)
        return None
    if found.failed is not None:
        raise HeldError(found.failed)
    if not found.complete:
        return None
    finals = [_final(store, end) for end in found.accepted]
    result = _merge(process, finals)
    doc = _merged_manifest(store, finals, result)
    if not put_once(s3, bucket, layout.manifest(), doc):
        return None  # another attempt merged first
    metrics.add_metric(name="RunsSucceeded", unit=MetricUnit.Count, value=1)
    logger.info("run merged", extra={"ranges": plan.count, "records": doc["records"], "hops": doc["hops"]})
    return result


class HeldError(RunStopped):
    """A range's held-back error, now known to be real (its start was right): it ends the run,
    recorded as the error it was (type and message, which name the range's run and hop)."""

    def __init__(self, end: RangeEnd) -> None:
        super().__init__(f"{end.error} (held until the range before it confirmed where range {end.index} began)")
        self.error_type = end.error_type or "RunStopped"


class MergeError(Exception):
    """process.merge or finish failed on the ranges' states: the run cannot complete as it is."""


def _merge(process: Any, finals: list[Checkpoint]) -> dict[str, Any]:
    """The ranges' states merged in range order, through finish(); what crosses into the manifest
    is checked as a sequential run's result is."""
    merged = finals[0].state
    try:
        for index in range(1, len(finals)):
            step = f"merge(<ranges 0..{index - 1} merged>, <range {index}>)"
            merged = process.merge(merged, finals[index].state)
        step = "finish(<every range merged>)"
        result: dict[str, Any] = process.finish(merged)
    except Exception as exc:
        raise MergeError(f"{step} in process.py raised {type(exc).__name__}: {exc}") from exc
    check_result(result, "the result of finish()")
    return result


def hold(store: CheckpointStore, cp: Checkpoint, exc: Exception) -> bool:
    """Hold back a run-ending error of a range whose start is a speculation (a CSV range that began
    inside a quoted field reads garbage that can be too large or never progress): recorded as this
    generation's end, it ends the run only if the range before it confirms the start (settle_run).
    False when the start is not a speculation: the error is real now."""
    info = cp.range
    if info is None or info.index == 0 or info.generation > 0 or info.start is None:
        return False
    error = f"run {cp.run_id} failed at hop {cp.hop} of range {info.index} ({cp.position}): {exc}"
    doc = {"index": info.index, "generation": info.generation, "start": info.start, "end": -1, "hop": cp.hop,
           "error": error, "error_type": type(exc).__name__}  # fmt: skip
    put_once(store.s3, store.bucket, store.layout.run().finished(info.chain), doc)
    logger.warning("a range that began on a guess failed: the range before it decides",
                   extra={"range": info.index, "error": str(exc)})  # fmt: skip
    return True


def unpublish_if_superseded(store: CheckpointStore, cp: Checkpoint, keys: list[str]) -> None:
    """A late attempt of a rejected generation can publish its parts after the redo deleted them:
    it looks for the redo after publishing and deletes what it published. (The redo commits before
    it deletes, so one of the two always sees the other.)"""
    info = cp.range
    if info is None or info.index == 0 or not keys:
        return
    newer = store.of_chain(chain_id(info.index, info.generation + 1))
    if exists(store.s3, store.bucket, newer.layout.checkpoint(0)):
        _delete(store, keys)


def reopen_unfinished_chains(store: CheckpointStore) -> list[str]:
    """The newest generation of each range that has not reached its limit, for a resume to run
    again. A range that held back an error is reopened: its record of the error is deleted, so
    the resumed chain's next end is the one that counts."""
    layout = store.layout.run()
    chains = []
    for index, (gen, end) in sorted(_latest(store.s3, store.bucket, layout).items()):
        if end is not None and end.error is not None:
            store.s3.delete_object(Bucket=store.bucket, Key=layout.finished(chain_id(index, gen)))
            end = None
        if end is None:
            chains.append(chain_id(index, gen))
    return chains


def _latest(s3: S3Client, bucket: str, layout: RunLayout) -> dict[int, tuple[int, RangeEnd | None]]:
    """Each range's newest generation, and how it finished if it did."""
    latest: dict[int, int] = {}
    for chain in _common_prefixes(s3, bucket, layout.ranges_dir):
        index, generation = _parse_chain(chain)
        latest[index] = max(latest.get(index, 0), generation)
    ends: dict[tuple[int, int], RangeEnd] = {}
    for key in _keys(s3, bucket, layout.finished_dir):
        doc = get_json(s3, bucket, key)
        if doc is not None:
            end = RangeEnd(int(doc["index"]), int(doc["generation"]), int(doc["start"]), int(doc["end"]),
                           doc.get("error"), doc.get("error_type"))  # fmt: skip
            ends[(end.index, end.generation)] = end
    return {index: (gen, ends.get((index, gen))) for index, gen in latest.items()}


def _final(store: CheckpointStore, end: RangeEnd) -> Checkpoint:
    doc = get_json(store.s3, store.bucket, store.layout.run().finished(chain_id(end.index, end.generation)))
    assert doc is not None
    found = store.of_chain(chain_id(end.index, end.generation)).find(int(doc["hop"]))
    if found is None:
        raise FileNotFoundError(
            f"run {store.layout.run_id}: range {end.index} (generation {end.generation}) recorded its end but its "
            f"last checkpoint is gone from s3://{store.bucket}/{store.layout.state_dir}: was the state prefix "
            "expired by a lifecycle rule while the run was going?"
        )
    return found[0]


def _redo(store: CheckpointStore, plan: Plan, index: int, generation: int, start: int, process: Any,
          launch: Launch, code_version: str) -> None:  # fmt: skip
    """Read range `index` again from `start`, where the range before it ended; the rejected
    generation's parts go first (only accepted parts may stay under the output prefix)."""
    rejected = _final(store, RangeEnd(index, generation - 1, 0, 0))
    chain = store.of_chain(chain_id(index, generation))
    first = first_checkpoint(replace(rejected, code_version=code_version), plan, index, generation, start,
                             process.initial_state())  # fmt: skip
    rejected_parts: list[str] = []

    def before_launch() -> None:  # deleting again is harmless; launching again, a duplicate
        rejected_parts.extend(_chain_parts(store, chain_id(index, generation - 1)))
        _delete(store, rejected_parts)
        # The run may have ended while this committed: a chain made after end_every_chain listed the
        # chains would never see it (that call writes the outcome, then lists; this one commits, then looks).
        outcome = read_outcome(store.s3, store.bucket, store.layout.run())
        if outcome is not None:
            record_outcome(store.s3, store.bucket, chain.layout, outcome["status"], outcome.get("error", ""),
                           outcome.get("error_type", ""), first, outcome.get("superseded_by"))  # fmt: skip

    if _commit_and_launch(chain, first, launch, before_launch):
        metrics.add_metric(name="RangesRedone", unit=MetricUnit.Count, value=1)
        logger.warning(
            "a range began inside a record: read again from where the range before it ended",
            extra={"range": index, "generation": generation, "start": start, "rejected_parts": len(rejected_parts)},
        )


def drop_superseded_parts(store: CheckpointStore) -> None:
    """Delete the parts of every generation a redo replaced (for a resume: a redo whose committer
    stopped before deleting them, its retries spent)."""
    latest = _latest(store.s3, store.bucket, store.layout.run())
    for index, (generation, _) in latest.items():
        for old in range(generation):
            _delete(store, _chain_parts(store, chain_id(index, old)))


def _chain_parts(store: CheckpointStore, chain: str) -> list[str]:
    """Every output part a range chain published: they are named for it (one listing, where its
    ledger costs a GET per page)."""
    check_chain(chain)
    if not chain:  # the run's own prefix holds every chain's parts
        raise ValueError("a range chain's parts are named for it; the run's chain has no such prefix")
    return _keys(store.s3, store.bucket, store.layout.of_chain(chain).chain_parts)


def _delete(store: CheckpointStore, keys: list[str]) -> None:
    for batch in (keys[i : i + 1000] for i in range(0, len(keys), 1000)):
        store.s3.delete_objects(Bucket=store.bucket, Delete={"Objects": [{"Key": k} for k in batch], "Quiet": True})


def _merged_manifest(store: CheckpointStore, finals: list[Checkpoint], result: dict[str, Any]) -> dict[str, Any]:
    """The run's manifest from the accepted ranges' last checkpoints, in range order."""
    last = finals[-1]
    logged = [ledger.entries(store.of_chain(f.range.chain if f.range else ""), f) for f in finals]
    whole = replace(
        last,
        hop=sum(f.hop for f in finals),
        records=sum(f.records for f in finals),
        bad_records=sum(f.bad_records for f in finals),
        output_items=sum(f.output_items for f in finals),
        bytes_fetched=sum(f.bytes_fetched for f in finals),
        result=result,
        updated_at=max(f.updated_at for f in finals),
        parts=(), quarantine=(), ledger=(),  # the ranges' entries are `logged`
    )  # fmt: skip
    doc = manifest_doc(whole, [p for parts, _ in logged for p in parts], [q for _, bad in logged for q in bad])
    doc["ranges"] = [
        {"index": f.range.index, "generation": f.range.generation, "start": f.range.start, "end": f.offset,
         "hops": f.hop, "records": f.records}
        for f in finals if f.range is not None
    ]  # fmt: skip
    return doc


def _common_prefixes(s3: S3Client, bucket: str, prefix: str) -> list[str]:
    names = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix, Delimiter="/"):
        names += [p["Prefix"][len(prefix) : -1] for p in page.get("CommonPrefixes", [])]
    return names


def _keys(s3: S3Client, bucket: str, prefix: str) -> list[str]:
    keys = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        keys += [obj["Key"] for obj in page.get("Contents", [])]
    return keys


@functools.cache
def _parse_chain(chain: str) -> tuple[int, int]:
    check_chain(chain)
    index, generation = chain[1:].split("g")
    return int(index), int(generation)


def clear_every_outcome(store: CheckpointStore) -> None:
    """For a resume: the run's outcome and every chain's go (end_every_chain wrote them)."""
    run = store.layout.run()
    chains = _common_prefixes(store.s3, store.bucket, run.ranges_dir)
    _delete(store, [run.outcome(), *(run.of_chain(c).outcome() for c in chains)])


def end_every_chain(store: CheckpointStore, status: str, error: str, error_type: str, cp: Checkpoint,
                    superseded_by: str | None = None) -> None:  # fmt: skip
    """A range chain ended the run: every chain's next hop must see it in its own listing."""
    run = store.layout.run()
    record_outcome(store.s3, store.bucket, run, status, error, error_type, cp, superseded_by)
    for chain in _common_prefixes(store.s3, store.bucket, run.ranges_dir):
        record_outcome(store.s3, store.bucket, run.of_chain(chain), status, error, error_type, cp, superseded_by)
