"""A run's durable records beyond checkpoints: launch markers, the outcome, the manifest, and the
payload that resumes a run. (What `make status` reads from them is devtools/run_report.py.)"""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from typing import Any

from . import ledger
from .checkpoint import Checkpoint, CheckpointStore, Part
from .layout import RunLayout
from .s3util import S3Client, exists, is_missing, put_if_absent

RESUME_KIND = "recursive-s3-resume"


def put_once(s3: S3Client, bucket: str, key: str, doc: dict[str, Any]) -> bool:
    """Write `doc` unless the key exists; True when this call wrote it."""
    body = json.dumps(doc, ensure_ascii=False, indent=1).encode()
    return put_if_absent(s3, bucket, key, body, "application/json") is not None


def get_json(s3: S3Client, bucket: str, key: str) -> dict[str, Any] | None:
    try:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except Exception as exc:
        if is_missing(exc):
            return None
        raise
    doc = json.loads(body)
    return doc if isinstance(doc, dict) else None


def mark_launched(s3: S3Client, bucket: str, layout: RunLayout, hop: int, request_id: str) -> None:
    s3.put_object(
        Bucket=bucket,
        Key=layout.launched(hop),
        Body=json.dumps({"hop": hop, "by": request_id, "at": time.time()}).encode(),
        ContentType="application/json",
    )


def record_outcome(
    s3: S3Client,
    bucket: str,
    layout: RunLayout,
    status: str,
    error: str,
    error_type: str,
    cp: Checkpoint,
    superseded_by: str | None = None,
) -> None:
    doc: dict[str, Any] = {
        "run_id": cp.run_id,
        "status": status,
        "error": error,
        "error_type": error_type,
        "hop": cp.hop,
        "code_version": cp.code_version or "unpublished ($LATEST)",
        "offset": cp.offset,
        "size": cp.source.size,
        "at": time.time(),
    }
    if superseded_by:
        doc["superseded_by"] = superseded_by
    put_once(s3, bucket, layout.outcome(), doc)


def read_outcome(s3: S3Client, bucket: str, layout: RunLayout) -> dict[str, Any] | None:
    """The run's terminal record (failed or abandoned), if it has one."""
    if not exists(s3, bucket, layout.outcome()):
        return None
    return get_json(s3, bucket, layout.outcome())


def manifest_doc(cp: Checkpoint, parts: list[Part], quarantine: list[Part]) -> dict[str, Any]:
    """Built only from the final checkpoint and its ledger's entries, so any attempt that writes
    it writes the same bytes."""
    return {
        "run_id": cp.run_id,
        "status": "succeeded",
        "source": asdict(cp.source),
        "hops": cp.hop,
        "code_version": cp.code_version or "unpublished ($LATEST)",
        "records": cp.records,
        "bad_records": cp.bad_records,
        "output_items": cp.output_items,
        "bytes_fetched": cp.bytes_fetched,
        "parts": [asdict(p) for p in parts],
        "quarantine": [asdict(p) for p in quarantine],
        "result": cp.result,
        "started_at": cp.started_at,
        "finished_at": cp.updated_at,
    }


def write_manifest(store: CheckpointStore, cp: Checkpoint) -> None:
    put_once(store.s3, store.bucket, store.layout.manifest(), manifest_doc(cp, *ledger.entries(store, cp)))


def resume_event(bucket: str, run_id: str, chain: str = "") -> dict[str, Any]:
    """The payload that makes the function continue `run_id` from its newest checkpoint (of one
    range chain, for a fan-out run: the function sends those itself, one per stopped range)."""
    event = {"kind": RESUME_KIND, "bucket": bucket, "run_id": run_id}
    return {**event, "chain": chain} if chain else event
