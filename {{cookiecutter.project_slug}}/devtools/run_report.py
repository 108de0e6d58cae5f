"""What `make status`, `make resume` and the tests read about a run: where it stands and its
committed output, from the documents the function writes (the manifest, the outcome, the newest
checkpoint). The function itself never reads a run this way, so this is not deployed."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import asdict
from typing import Any

from .package import deployed_package
from .s3_docs import get_json

_layout = deployed_package("layout")
_checkpoint = deployed_package("checkpoint")
_runs = deployed_package("runs")
_ledger = deployed_package("ledger")


def run_status(s3: Any, bucket: str, run_id: str, cfg: Any) -> dict[str, Any]:
    """Where a run is: succeeded (manifest), failed/abandoned (outcome), running, or unknown.
    `cfg` is the package's Config (its prefixes say where the run's documents are)."""
    layout = _layout.RunLayout(cfg.state_prefix, cfg.output_prefix, run_id)
    manifest = get_json(s3, bucket, layout.manifest())
    if manifest is not None:
        return {**manifest, "state": "succeeded", "offset": manifest["source"]["size"]}
    latest = _checkpoint.CheckpointStore(s3, bucket, layout).latest()
    outcome = _runs.read_outcome(s3, bucket, layout)
    if latest is None:
        return {"run_id": run_id, "state": outcome["status"] if outcome else "unknown", **(outcome or {})}
    cp = latest[0]
    status: dict[str, Any] = {
        "run_id": run_id,
        "state": "running",
        "source": asdict(cp.source),
        "hop": cp.hop,
        "code_version": cp.code_version or "unpublished ($LATEST)",
        "offset": cp.offset if cp.gzip is None else cp.gzip.compressed,  # how far through the object
        "size": cp.source.size,
        **({} if cp.gzip is None else {"decompressed_offset": cp.offset}),
        "records": cp.records,
        "bad_records": cp.bad_records,
        "output_items": cp.output_items,
        "updated_at": cp.updated_at,
        "seconds_since_update": round(time.time() - cp.updated_at, 1),
    }
    plan = get_json(s3, bucket, layout.plan())
    if plan is not None:
        status.update(range_progress(s3, bucket, layout, plan, outcome))
    if outcome is not None:
        status.update(state=outcome["status"], error=outcome.get("error"), error_type=outcome.get("error_type"))
        if outcome.get("superseded_by"):
            status["superseded_by"] = outcome["superseded_by"]
    return status


def _range_state(finished: dict[str, Any] | None, outcome: dict[str, Any] | None, unfinished: str = "running") -> str:
    """A range's state; once the run has ended (failed or abandoned), no range is running, held or waiting to start."""
    ended = f"stopped: the run {outcome['status']}" if outcome is not None else ""
    if finished is None:
        return ended or unfinished
    if finished.get("error"):  # a range that began on a guess holds its error until its start is confirmed
        if ended:
            return f"{ended}; this range held: {finished['error']}"
        return f"held, until the range before it confirms where it began: {finished['error']}"
    return "finished"


def range_progress(
    s3: Any, bucket: str, layout: Any, plan: dict[str, Any], outcome: dict[str, Any] | None
) -> dict[str, Any]:
    """A fan-out run: where each range chain's newest generation stands, and the bytes read in all."""
    bounds = plan["bounds"]
    ranges = []
    for index in range(len(bounds) - 1):
        generation, latest = 0, None
        while True:  # the newest generation that has a checkpoint
            chain = layout.of_chain(_layout.chain_id(index, generation))
            found = _checkpoint.CheckpointStore(s3, bucket, chain).latest()
            if found is None:
                break
            generation, latest = generation + 1, found[0]
        if latest is None:
            ranges.append({"index": index, "bound": bounds[index], "state": _range_state(None, outcome, "not started")})
            continue
        finished = get_json(s3, bucket, layout.finished(_layout.chain_id(index, generation - 1)))
        ranges.append({
            "index": index, "generation": generation - 1, "from": bounds[index], "to": bounds[index + 1],
            "offset": latest.offset, "hop": latest.hop, "records": latest.records,
            "state": _range_state(finished, outcome),
        })  # fmt: skip
    read = sum(max(0, r.get("offset", r.get("from", 0)) - r.get("from", 0)) for r in ranges)
    return {"ranges": ranges, "offset": min(read, bounds[-1]), "hop": sum(r.get("hop", 0) for r in ranges)}


def committed_output(s3: Any, bucket: str, run_id: str, cfg: Any) -> Iterator[bytes]:
    """The run's committed output, part by part in order; nothing unless the run succeeded."""
    layout = _layout.RunLayout(cfg.state_prefix, cfg.output_prefix, run_id)
    manifest = get_json(s3, bucket, layout.manifest())
    if manifest is None:
        return
    for part in manifest["parts"]:
        yield s3.get_object(Bucket=bucket, Key=part["key"])["Body"].read()


def listed_parts(s3: Any, bucket: str, run_id: str, cfg: Any) -> list[str]:
    """The output keys of every part the newest checkpoints of a run list (the run's own chain and
    each range chain of a fan-out run, through their ledgers): what its committed hops may have
    published before a manifest listed them."""
    run = _layout.RunLayout(cfg.state_prefix, cfg.output_prefix, run_id)
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=run.ranges_dir, Delimiter="/")
    chains = [p["Prefix"][len(run.ranges_dir) : -1] for page in pages for p in page.get("CommonPrefixes", [])]
    newest: dict[str, tuple[int, str]] = {}  # a redo replaces a range's earlier generations and their parts
    for chain in chains:
        index, generation = chain[1:].split("g")
        newest[index] = max(newest.get(index, (-1, "")), (int(generation), chain))
    keys = []
    for layout in [run, *(run.of_chain(chain) for _, chain in newest.values())]:
        store = _checkpoint.CheckpointStore(s3, bucket, layout)
        latest = store.latest()
        keys += [] if latest is None else [part.key for part in _ledger.entries(store, latest[0])[0]]
    return keys
