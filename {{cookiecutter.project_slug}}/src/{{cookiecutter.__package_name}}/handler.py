"""The Lambda entry point: processes one S3 object across as many invocations (hops) as it takes.

A hop loads its committed checkpoint, processes batches of whole records from the checkpoint's
byte offset until the time left drops below an adaptive margin, commits its output parts, commits
the next checkpoint with `IfNoneMatch='*'` (first attempt wins), and invokes this same function
version asynchronously with a pointer to that checkpoint. At the end of the object it commits a
final checkpoint and writes the run's manifest. See README "How the recursion works".
"""

from __future__ import annotations

import copy
import json
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import unquote_plus

from . import ledger, versions
from . import process as user_process
from .batch import InputFormatError, RecordTooLargeError
from .checkpoint import PAYLOAD_KIND, Checkpoint, CheckpointError, CheckpointStore, ObjectRef, Pointer
from .config import Config, ConfigError
from .deadline import HopClock, LambdaContext, PublishRate
from .decoded import DecodedSource
from .etag_cache import EtagCache
from .fanout import (
    HeldError,
    MergeError,
    clear_every_outcome,
    commit_plan,
    drop_superseded_parts,
    end_every_chain,
    find_plan,
    hold,
    launch_ranges,
    load_plan,
    plan_ranges,
    record_finished,
    reopen_unfinished_chains,
    settle_run,
    unpublish_if_superseded,
)
from .guard import DepthExceededError, NoProgressError, RunStopped, check_before_hop, check_progress
from .hop import NO_TIME_TO_READ, HopTotals, HopWork, read_until_margin
from .inflate import AccessPoint, GzipError
from .layout import RunLayout, check_chain, check_run_id, run_id_for
from .records import MODE, OUTPUT_EXT, RecordReader, read_size, speculate_start
from .runs import RESUME_KIND, mark_launched, read_outcome, record_outcome, resume_event, write_manifest
from .s3util import S3Client, exists, lambda_client, s3_client
from .sink import AttemptSink, publish
from .source import ObjectChangedError, ObjectSource
from .state_codec import StateError
from .telemetry import MetricUnit, logger, metrics


@dataclass
class Function:
    """The function in one execution environment: its configuration, the container's cache of
    object bytes, its clients and the process.py it runs. Lambda keeps one (FUNCTION) from init
    to the end of the container, so the cache, the publish rate and what the container has done
    outlive an invocation; tests make their own and give it to `make_handler`."""

    config: Config
    cache: EtagCache
    s3: Callable[[], S3Client] = s3_client
    lam: Callable[[], Any] = lambda_client
    process: Any = user_process
    ran_a_hop: bool = False  # a cold container's first hop that makes no progress is not a stall
    publish_rate: PublishRate = field(default_factory=PublishRate)  # how fast S3 copied this run's parts

    def __post_init__(self) -> None:
        if self.config.parallelism > 1 and not callable(getattr(self.process, "merge", None)):
            raise ConfigError(
                f"PARALLELISM={self.config.parallelism} splits an object into ranges whose states must be "
                "combined: define merge(left, right) in process.py (see its docstring), or deploy with Parallelism=1"
            )

    @classmethod
    def from_config(cls, config: Config, **deps: Any) -> Function:
        return cls(config, EtagCache(config.cache_memory_bytes, config.cache_disk_bytes, config.cache_dir), **deps)

    def recycled(self) -> Function:
        """This function in a fresh execution environment: an empty cache, no hop run yet, no rate known."""
        return Function.from_config(self.config, s3=self.s3, lam=self.lam, process=self.process)


class RunEndedError(Exception):
    """An attempt of a run that has already failed or been abandoned (a retry, a duplicate)."""


# Errors that end a run for good (retrying cannot help); anything else is left to Lambda's retries.
RUN_ENDING = (RunStopped, ObjectChangedError, InputFormatError, RecordTooLargeError, StateError, GzipError)


def make_handler(fn: Function) -> Callable[[dict[str, Any], LambdaContext], dict[str, Any]]:
    """The Lambda entry point running `fn` (its metrics flushed after every invocation)."""

    @metrics.log_metrics
    def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        return handle(fn, event, context)

    return lambda_handler


def handle(fn: Function, event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    logger.append_keys(request_id=getattr(context, "aws_request_id", None))
    # Every invocation publishes at least this one metric (duplicates and no-ops included).
    metrics.add_metric(name="Invocations", unit=MetricUnit.Count, value=1)
    kind = event.get("kind") if isinstance(event, dict) else None
    if kind == PAYLOAD_KIND:
        pointer = Pointer.from_event(event)
        fn.publish_rate.adopt(event.get("publish_rate"))  # advisory: how fast the last hop's copies ran
        return continue_run(fn, pointer, context)
    if kind == RESUME_KIND:
        bucket, run_id = event.get("bucket"), event.get("run_id")
        if not isinstance(bucket, str) or not bucket:
            raise CheckpointError(f"resume payload needs the bucket of the run, got {bucket!r}")
        try:
            return resume_run(fn, bucket, check_run_id(run_id), context, check_chain(event.get("chain", "")))
        except ValueError as exc:
            raise CheckpointError(f"resume payload: {exc}") from None
    refs = object_refs_from_event(event, fn)
    if refs is None:
        raise ValueError(
            "unrecognised event: expected an S3 ObjectCreated notification, an EventBridge "
            f"'Object Created' event, a {PAYLOAD_KIND!r} or a {RESUME_KIND!r} payload"
        )
    results = []
    for ref in refs:
        results.append(start_run(fn, ref, context, inline=len(refs) == 1))
    return {"runs": results}


def object_refs_from_event(event: Any, fn: Function) -> list[ObjectRef] | None:
    """The object versions an S3 or EventBridge event announces (keys in S3 events are URL-encoded)."""
    if not isinstance(event, dict):
        return None
    found: list[tuple[str, str, str | None, int | None, str | None]] = []
    if isinstance(event.get("Records"), list):
        for rec in event["Records"]:
            if rec.get("eventSource") != "aws:s3" or not str(rec.get("eventName", "")).startswith("ObjectCreated"):
                continue
            obj = rec["s3"]["object"]
            found.append(
                (
                    rec["s3"]["bucket"]["name"],
                    unquote_plus(obj["key"]),
                    obj.get("eTag"),
                    obj.get("size"),
                    obj.get("versionId"),
                )
            )
    elif event.get("source") == "aws.s3" and event.get("detail-type") == "Object Created":
        detail = event["detail"]
        obj = detail["object"]
        found.append((detail["bucket"]["name"], obj["key"], obj.get("etag"), obj.get("size"), obj.get("version-id")))
    elif event.get("Event") == "s3:TestEvent":
        found = []
    else:
        return None
    refs = []
    for bucket, key, etag, size, version in found:
        if fn.config.is_own_key(key):
            logger.warning("ignoring a key under the output/state prefix", extra={"key": key})
            continue
        if key.endswith("/") and not size:
            continue  # a "folder" marker
        if etag is None or size is None:
            head = fn.s3().head_object(Bucket=bucket, Key=key, **({"VersionId": version} if version else {}))
            etag, size, version = head["ETag"], head["ContentLength"], head.get("VersionId", version)
        refs.append(ObjectRef(bucket, key, '"' + str(etag).strip('"') + '"', int(size), version or None))
    return refs


def start_run(fn: Function, ref: ObjectRef, context: LambdaContext, inline: bool) -> dict[str, Any]:
    """Commit hop 0's checkpoint for this object version (once, whoever asks) and run or launch it."""
    s3 = fn.s3()
    run_id = run_id_for(ref.bucket, ref.key, ref.etag, ref.version_id)
    store = _store(fn, s3, ref.bucket, run_id)
    now = time.time()
    first = Checkpoint(
        run_id=run_id,
        source=ref,
        hop=0,
        state=fn.process.initial_state(),
        started_at=now,
        updated_at=now,
        code_version=versions.pin(),
    )
    pointer = store.commit(first)
    if pointer is None:  # a duplicate event, or the same bytes uploaded again: the run exists
        existing = store.find(0)
        if existing is None:
            raise CheckpointError(f"run {run_id}: checkpoint 0 vanished right after a conflicting write")
        first, pointer = existing
    logger.info("run started", extra={"run_id": run_id, "bucket": ref.bucket, "key": ref.key, "size": ref.size})
    if inline:
        return run_hop(fn, store, first, pointer, context)
    _launch(fn, store, pointer, first.code_version, context)
    return {"run_id": run_id, "status": "launched"}


def continue_run(fn: Function, pointer: Pointer, context: LambdaContext) -> dict[str, Any]:
    store = _store(fn, fn.s3(), pointer.bucket, pointer.run_id, pointer.chain)
    checkpoint = store.load(pointer)
    return run_hop(fn, store, checkpoint, pointer, context)


def resume_run(fn: Function, bucket: str, run_id: str, context: LambdaContext, chain: str = "") -> dict[str, Any]:
    """Continue a stopped or failed run from its newest committed checkpoint (after the cause is fixed)."""
    s3 = fn.s3()
    store = _store(fn, s3, bucket, run_id, chain)
    if not chain and exists(s3, bucket, store.layout.plan()):
        return _resume_ranges(fn, store, context)
    latest = store.latest()
    if latest is None:
        raise CheckpointError(f"run {run_id} has no checkpoint in s3://{bucket}/{store.layout.state_dir}")
    checkpoint, pointer = latest
    _publish_hop(fn, store, checkpoint)  # its committer may have stopped before publishing
    s3.delete_object(Bucket=bucket, Key=store.layout.outcome())
    # Resuming is the one deliberate change of code within a run (the fix): re-pin to this version.
    version = versions.pin()
    logger.info(
        "run resumed",
        extra={
            "run_id": run_id,
            "hop": checkpoint.hop,
            "offset": checkpoint.offset,
            "pinned_before": checkpoint.code_version,
            "pinned_now": version,
        },
    )
    return run_hop(fn, store, replace(checkpoint, code_version=version), pointer, context)


def _resume_ranges(fn: Function, store: CheckpointStore, context: LambdaContext) -> dict[str, Any]:
    """A fan-out run: launch the ranges its first hop never launched, resume each range chain that
    has not finished (each on its own, re-pinned to this code like any resume), or, when all have,
    settle the run (a merge that never ran). Parts of replaced generations go first."""
    s3, layout = store.s3, store.layout
    clear_every_outcome(store)  # the run's and every chain's: a chain launched now must not find one
    version = versions.pin()
    first = store.find(0)
    if first is None:
        raise CheckpointError(f"run {layout.run_id} has no checkpoint 0 in s3://{store.bucket}/{layout.state_dir}")
    launcher = _launcher(fn, context)
    plan = load_plan(s3, store.bucket, layout)
    launched = launch_ranges(store, replace(first[0], code_version=version), plan, fn.process.initial_state, launcher)
    drop_superseded_parts(store)
    chains = [c for c in reopen_unfinished_chains(store) if c not in launched]
    target = versions.function_arn_to_invoke(context.invoked_function_arn, version)
    for chain in chains:
        event = resume_event(store.bucket, layout.run_id, chain)
        fn.lam().invoke(FunctionName=target, InvocationType="Event", Payload=json.dumps(event).encode())
    logger.info("run resumed", extra={"run_id": layout.run_id, "ranges_resumed": chains, "ranges_launched": launched})
    if not chains and not launched:
        _settle(fn, store, first[0], context, version)
    return {"run_id": layout.run_id, "status": "resumed", "ranges": chains + launched}


def run_hop(
    fn: Function, store: CheckpointStore, cp: Checkpoint, pointer: Pointer, context: LambdaContext
) -> dict[str, Any]:
    s3, layout = store.s3, store.layout
    logger.append_keys(run_id=cp.run_id, hop=cp.hop, chain=store.layout.chain or None)
    if cp.done:
        _finish(fn, store, cp, context, unless_finished=True)
        return {"run_id": cp.run_id, "status": "succeeded"}
    t_load = time.perf_counter()
    already, ended = store.next_of(cp.hop)
    rtt_ms = (time.perf_counter() - t_load) * 1000
    if already is not None:
        return _already_done(fn, store, already, context)
    if ended:  # failed or abandoned: terminal for every attempt until `make resume`
        outcome = read_outcome(s3, store.bucket, layout) or {}
        if outcome.get("status") == "abandoned":  # restarted on a new version: nothing went wrong
            logger.info(
                "the run was abandoned for a new version; this attempt stops",
                extra={"superseded_by": outcome.get("superseded_by")},
            )
            return {"run_id": cp.run_id, "status": "abandoned", "hop": cp.hop}
        # Raised, not returned: the event still ends in the on-failure queue, where a failed run
        # is looked for, and no attempt commits or launches anything.
        raise RunEndedError(
            f"run {cp.run_id} has ended ({outcome.get('status', 'failed')}: {outcome.get('error', '')}); "
            f"this attempt of hop {cp.hop} stops. make resume RUN={cp.run_id} continues it once the cause is fixed"
        )
    versions.check_version(cp.run_id, cp.hop, cp.code_version)
    try:
        check_before_hop(cp, fn.config)
        return _process(fn, store, cp, context, rtt_ms)
    except RUN_ENDING as exc:
        if isinstance(exc, (RecordTooLargeError, NoProgressError)) and hold(store, _with_start(fn, store, cp), exc):
            settled = _settle(fn, store, cp, context, cp.code_version)
            return {"run_id": cp.run_id, "status": "range held", "hop": cp.hop, "result": settled}
        return _end_run(fn, store, cp, exc, context)


def _with_start(fn: Function, store: CheckpointStore, cp: Checkpoint) -> Checkpoint:
    """`cp` with its range's start, found as its first hop finds it (for an error in that hop)."""
    if cp.range is None or cp.range.start is not None or cp.range.index == 0:
        return cp
    source = ObjectSource(store.s3, cp.source, fn.cache, read_size(fn.config))
    return _range_start(DecodedSource(source, cp.gzip), cp)[1]


def _process(
    fn: Function, store: CheckpointStore, cp: Checkpoint, context: LambdaContext, rtt_ms: float
) -> dict[str, Any]:
    """Read until the margin, commit the next checkpoint (the first attempt wins), hand over."""
    s3, cfg = store.s3, fn.config
    clock = HopClock(context, cfg.min_margin_ms, cfg.margin_factor, rtt_ms, fn.publish_rate, ledger.pages_due(cp))
    attempt = uuid.uuid4().hex[:12]
    source = ObjectSource(s3, cp.source, fn.cache, read_size(cfg))
    if cp.hop == 0 and cp.range is None and cfg.parallelism > 1:
        # A retry or late duplicate of the planner launches what is missing from the plan it
        # committed, without reading the object again (it may have changed since the run began).
        plan = find_plan(s3, store.bucket, store.layout) or plan_ranges(source, cp, cfg)
        if plan is not None:
            launch_ranges(store, cp, commit_plan(store, plan), fn.process.initial_state, _launcher(fn, context))
            return {"run_id": cp.run_id, "status": "fanned out", "ranges": plan.count}
        source = ObjectSource(s3, cp.source, fn.cache, read_size(cfg))
    decoded = DecodedSource(source, cp.gzip)
    chunks, cp = _range_start(decoded, cp)
    bound = cp.range.bound if cp.range is not None else None
    reader = RecordReader(chunks, cp.offset, cp.line, dict(cp.reader_context), cfg, bound)
    sink = AttemptSink(
        s3, store.bucket, store.layout, cp.hop, attempt, OUTPUT_EXT, cfg.part_bytes, cfg.quarantine_raw_bytes,
        clock.record_put,
    )  # fmt: skip
    state = copy.deepcopy(cp.state)
    work = read_until_margin(
        reader, fn.process.process_batch, state, sink, decoded, clock, cfg, HopWork(cp.offset, cp.line)
    )
    resume_point = decoded.stop_at(work.offset)
    why = f"{clock.remaining_ms()} ms left after {clock.slowest_batch_ms:.0f} ms batches"
    stalls = check_progress(
        cp, work.offset, work.done, cfg.max_stalls, why, cold=not fn.ran_a_hop, read=work.stop != NO_TIME_TO_READ
    )
    fn.ran_a_hop = True
    sink.flush()
    result = fn.process.finish(state) if work.done and cp.range is None else None  # ranges: merged later
    logged = ledger.carry(store, cp, attempt, sink.parts, sink.quarantine)
    nxt = _next_checkpoint(cp, work, state, result, attempt, stalls, reader, logged, source.bytes_fetched, resume_point)
    committed = _commit(store, nxt)
    hop_log = {
        "offset": work.offset, "size": cp.source.size, "records": work.totals.records, "bad_records": work.totals.bad,
        "bytes_fetched": source.bytes_fetched, "cache_hit": source.cache_hit, "stop": work.stop,
        "remaining_ms": clock.remaining_ms(), **({"compressed_offset": nxt.gzip.compressed} if nxt.gzip else {}),
    }  # fmt: skip
    if committed is None:
        logger.info("hop lost the commit race; its output is discarded", extra=hop_log)
        return {"run_id": cp.run_id, "status": "duplicate", "hop": cp.hop}
    nxt, pointer = committed
    _count_hop(work.totals, source)
    logger.info("hop committed", extra=hop_log)
    if nxt.done and nxt.range is not None:
        merged = _finish(fn, store, nxt, context, unless_finished=False)
        return {"run_id": cp.run_id, "status": "range done", "hop": cp.hop, "result": merged}
    if nxt.done:
        _finish_run(fn, store, nxt, unless_finished=False)
        metrics.add_metric(name="RunsSucceeded", unit=MetricUnit.Count, value=1)
        logger.info("run succeeded", extra={"records": nxt.records, "bad_records": nxt.bad_records, "hops": nxt.hop})
        return {"run_id": cp.run_id, "status": "succeeded", "hop": cp.hop, "result": nxt.result}
    _hand_over(fn, store, nxt, pointer, context)
    return {"run_id": cp.run_id, "status": "continued", "hop": cp.hop, "offset": work.offset}


def _next_checkpoint(
    cp: Checkpoint,
    work: HopWork,
    state: dict[str, Any],
    result: dict[str, Any] | None,
    attempt: str,
    stalls: int,
    reader: RecordReader,
    logged: ledger.Carried,
    fetched: int,
    resume_point: AccessPoint | None,
) -> Checkpoint:
    totals = work.totals
    return cp.advance(
        offset=work.offset,
        line=work.line,
        records=cp.records + totals.records,
        bad_records=cp.bad_records + totals.bad,
        output_items=cp.output_items + totals.items,
        bytes_fetched=cp.bytes_fetched + fetched,
        invocations=cp.invocations + 1,
        reader_context=reader.context,
        state=state,
        done=work.done,
        result=result,
        last_stop=work.stop,
        attempt=attempt,
        stalls=stalls,
        gzip=resume_point,
        ledger=logged.ledger,
        parts=logged.parts,
        quarantine=logged.quarantine,
    )


def _commit(store: CheckpointStore, nxt: Checkpoint) -> tuple[Checkpoint, Pointer] | None:
    """Commit `nxt` with IfNoneMatch: None when another attempt of the hop committed first."""
    pointer = store.commit(nxt)  # a state or result that cannot cross a hop raises StateError here
    if pointer is not None:
        return nxt, pointer
    won = store.find(nxt.hop)
    if won is None or won[0].attempt != nxt.attempt:
        return None
    return won  # our own write, whose response was lost and retried


def _count_hop(totals: HopTotals, source: ObjectSource) -> None:
    metrics.add_metric(name="HopsCompleted", unit=MetricUnit.Count, value=1)
    metrics.add_metric(name="RecordsProcessed", unit=MetricUnit.Count, value=totals.records)
    metrics.add_metric(name="BadRecords", unit=MetricUnit.Count, value=totals.bad)
    metrics.add_metric(name="BytesFetched", unit=MetricUnit.Bytes, value=source.bytes_fetched)
    metrics.add_metric(name="CacheHits", unit=MetricUnit.Count, value=int(source.cache_hit))


def _hand_over(fn: Function, store: CheckpointStore, nxt: Checkpoint, pointer: Pointer, context: LambdaContext) -> None:
    """Publish the hop's parts, then invoke the next hop (with the publish rate just measured) and
    mark the hop launched. One after the other: side by side, the next hop's first reads competed
    with the copies for S3 and the CPU, and on a loaded machine the copies overran the deadline
    they were costed against (bench: 3 to 13 in ~150 hops of 1000 ms with every core busy). An
    attempt that dies first leaves no marker, and Lambda's retry finds the hop committed and does
    both again (_already_done)."""
    _publish_hop(fn, store, nxt)
    _launch(fn, store, pointer, nxt.code_version, context)


def _already_done(
    fn: Function, store: CheckpointStore, found: tuple[Checkpoint, Pointer], context: LambdaContext
) -> dict[str, Any]:
    """This hop was committed by another attempt: finish what that attempt may not have."""
    s3, (nxt, pointer) = store.s3, found
    duplicate = {"run_id": nxt.run_id, "status": "duplicate", "hop": nxt.hop - 1}
    if nxt.done:
        _finish(fn, store, nxt, context, unless_finished=True)
        return duplicate
    if exists(s3, store.bucket, store.layout.launched(nxt.hop)):
        return duplicate  # the committer published the hop's parts and launched its successor
    # The committer died after its commit: publishing again is idempotent, and a second launch
    # (if its invoke did go out) is one more duplicate of the next hop.
    logger.warning("finishing a committed hop that was never marked launched", extra={"next_hop": nxt.hop})
    _hand_over(fn, store, nxt, pointer, context)
    return duplicate


def _range_start(decoded: DecodedSource, cp: Checkpoint) -> tuple[Iterator[bytes], Checkpoint]:
    """The stream a hop reads, from the checkpoint's offset; for the first hop of a range that
    begins mid-object, from where its first record is guessed to begin (kept in the range)."""
    info = cp.range
    if info is None or info.start is not None:
        return decoded.chunks(cp.offset), cp
    start, chunks = speculate_start(decoded.chunks, cp.offset, cp.reader_context)
    return chunks, replace(cp, offset=start, range=replace(info, start=start))


def _finish(
    fn: Function, store: CheckpointStore, done: Checkpoint, context: LambdaContext, *, unless_finished: bool
) -> dict[str, Any] | None:
    """The end of a chain: the run's (publish, manifest) or a range's (publish, record where it
    ended, settle the run: the merge's result when this call committed it)."""
    if done.range is None:
        _finish_run(fn, store, done, unless_finished=unless_finished)
        return None
    _publish_hop(fn, store, done)
    record_finished(store, done)
    return _settle(fn, store, done, context, done.code_version)


def _settle(
    fn: Function, store: CheckpointStore, cp: Checkpoint, context: LambdaContext, code_version: str
) -> dict[str, Any] | None:
    """settle_run; a held error that proved real, or a merge that cannot be done, ends the run."""
    try:
        return settle_run(store, fn.process, _launcher(fn, context), code_version)
    except (HeldError, MergeError, StateError) as exc:
        _end_run(fn, store, cp, exc, context)
        raise  # _end_run raises; this is for the type checker


def _launcher(fn: Function, context: LambdaContext) -> Callable[[CheckpointStore, Pointer, str], None]:
    return lambda store, pointer, version: _launch(fn, store, pointer, version, context)


def _finish_run(fn: Function, store: CheckpointStore, done: Checkpoint, *, unless_finished: bool) -> None:
    """Publish the last hop's parts, then the manifest (so a manifest means every part is in
    place); a later attempt that finds the manifest has nothing left to do."""
    if unless_finished and exists(store.s3, store.bucket, store.layout.manifest()):
        return
    _publish_hop(fn, store, done)
    write_manifest(store, done)


def _publish_hop(fn: Function, store: CheckpointStore, committed: Checkpoint) -> None:
    """Copy the output parts that the committed checkpoint's hop wrote to the output prefix."""
    prefix = store.layout.parts_of_hop(committed.hop - 1)
    parts = [p for p in committed.parts if p.key.startswith(prefix) and p.staged]
    started = time.perf_counter()
    publish(store.s3, store.bucket, parts)
    fn.publish_rate.record((time.perf_counter() - started) * 1000, sum(p.bytes for p in parts), len(parts))
    unpublish_if_superseded(store, committed, [p.key for p in parts])


def _launch(fn: Function, store: CheckpointStore, pointer: Pointer, code_version: str, context: LambdaContext) -> None:
    _invoke_next(fn, pointer, code_version, context)
    mark_launched(store.s3, store.bucket, store.layout, pointer.hop, context.aws_request_id)


def _invoke_next(fn: Function, pointer: Pointer, code_version: str, context: LambdaContext) -> None:
    fn.lam().invoke(
        FunctionName=versions.function_arn_to_invoke(context.invoked_function_arn, code_version),
        InvocationType="Event",
        Payload=json.dumps({**pointer.to_event(), "publish_rate": fn.publish_rate.known()}).encode(),
    )


def _end_run(
    fn: Function, store: CheckpointStore, cp: Checkpoint, exc: Exception, context: LambdaContext
) -> dict[str, Any]:
    """A run-ending condition: restart on a new object version, or record the failure and raise."""
    s3 = store.s3
    if isinstance(exc, ObjectChangedError) and exc.current and fn.config.on_object_change == "restart":
        head = s3.head_object(Bucket=cp.source.bucket, Key=cp.source.key)
        ref = ObjectRef(cp.source.bucket, cp.source.key, head["ETag"], head["ContentLength"], head.get("VersionId"))
        new_run = run_id_for(ref.bucket, ref.key, ref.etag, ref.version_id)
        _record_end(store, "abandoned", str(exc), type(exc).__name__, cp, superseded_by=new_run)
        logger.warning("object changed; restarting on the new version", extra={"superseded_by": new_run})
        start_run(fn, ref, context, inline=False)
        return {"run_id": cp.run_id, "status": "abandoned", "superseded_by": new_run}
    if getattr(exc, "recorded", False):  # ended already, deeper down (a settle inside this hop)
        raise exc
    # A held error that proved real is named as itself, at the range that ran into it (HeldError).
    error_type = getattr(exc, "error_type", type(exc).__name__)
    if not str(exc).startswith(f"run {cp.run_id}") and not isinstance(exc, HeldError):
        exc.args = (f"run {cp.run_id} failed at hop {cp.hop} ({cp.position}): {exc}",)
    _record_end(store, "failed", str(exc), error_type, cp)
    metrics.add_metric(name="RunsFailed", unit=MetricUnit.Count, value=1)
    if isinstance(exc, DepthExceededError):
        metrics.add_metric(name="DepthGuardTripped", unit=MetricUnit.Count, value=1)
    logger.error("run failed", extra={"error": str(exc), "error_type": error_type})
    exc.recorded = True  # type: ignore[attr-defined]
    raise exc


def _record_end(
    store: CheckpointStore, status: str, error: str, error_type: str, cp: Checkpoint, superseded_by: str | None = None
) -> None:
    """The run's terminal record, where every attempt of every chain of it looks."""
    if cp.range is None:
        record_outcome(store.s3, store.bucket, store.layout, status, error, error_type, cp, superseded_by)
    else:
        end_every_chain(store, status, error, error_type, cp, superseded_by)


def _store(fn: Function, s3: S3Client, bucket: str, run_id: str, chain: str = "") -> CheckpointStore:
    return CheckpointStore(s3, bucket, RunLayout(fn.config.state_prefix, fn.config.output_prefix, run_id, chain))


FUNCTION = Function.from_config(Config.from_env())
# Built during init (~150 ms of loading service models), which Lambda does not count against a
# hop's timeout, rather than inside the first hop.
s3_client()
lambda_client()
lambda_handler = make_handler(FUNCTION)

__all__ = ["MODE", "Function", "lambda_handler", "make_handler"]
