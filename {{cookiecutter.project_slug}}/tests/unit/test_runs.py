"""A run's manifest, outcome and status, and its committed output."""

from __future__ import annotations

import json

from devtools.run_report import committed_output, run_status

from {{ cookiecutter.__package_name }}.checkpoint import (
    Checkpoint,
    CheckpointStore,
    ObjectRef,
    Part,
)
from {{ cookiecutter.__package_name }}.layout import RunLayout
from {{ cookiecutter.__package_name }}.runs import (
    manifest_doc,
    record_outcome,
    resume_event,
    write_manifest,
)

from .harness import BUCKET, Harness

RUN = "aaaabbbbccccddddeeeeffff"


def layout(h: Harness) -> RunLayout:
    return RunLayout(h.cfg.state_prefix, h.cfg.output_prefix, RUN)


def store_of(h: Harness) -> CheckpointStore:
    return CheckpointStore(h.s3, BUCKET, layout(h))


def final(h: Harness) -> Checkpoint:
    lay = layout(h)
    parts = []
    for i, data in enumerate([b'{"a":1}\n', b'{"a":2}\n{"a":3}\n']):
        key = lay.part(i, 0, ".jsonl")
        h.s3.put_object(Bucket=BUCKET, Key=key, Body=data)
        parts.append(Part(key, data.count(b"\n"), len(data)))
    return Checkpoint(
        run_id=RUN,
        source=ObjectRef(BUCKET, "incoming/x", '"e"', 100, None),
        hop=2,
        offset=100,
        records=3,
        output_items=3,
        parts=tuple(parts),
        done=True,
        result={"rows": 3},
        started_at=1.0,
        updated_at=2.0,
    )


def test_manifest_is_written_once_and_identical(h: Harness) -> None:
    cp = final(h)
    write_manifest(store_of(h), cp)
    first = h.s3.get_object(Bucket=BUCKET, Key=layout(h).manifest())
    write_manifest(store_of(h), cp)  # a duplicate attempt: no error, no change
    second = h.s3.get_object(Bucket=BUCKET, Key=layout(h).manifest())
    assert first["ETag"] == second["ETag"]
    doc = json.loads(second["Body"].read())
    assert doc == json.loads(json.dumps(manifest_doc(cp, list(cp.parts), list(cp.quarantine))))
    assert doc["status"] == "succeeded"
    assert doc["hops"] == 2
    assert [p["key"] for p in doc["parts"]] == [p.key for p in cp.parts]
    assert doc["result"] == {"rows": 3}


def test_committed_output_is_the_parts_in_order(h: Harness) -> None:
    cp = final(h)
    assert list(committed_output(h.s3, BUCKET, RUN, h.cfg)) == []  # not finished: nothing
    write_manifest(store_of(h), cp)
    # An orphan part of a losing attempt is never part of the output.
    h.s3.put_object(Bucket=BUCKET, Key=layout(h).staged_part(1, "loser", 0, ".jsonl"), Body=b'{"dup":1}\n')
    assert b"".join(committed_output(h.s3, BUCKET, RUN, h.cfg)) == b'{"a":1}\n{"a":2}\n{"a":3}\n'


def test_status_unknown_running_failed_succeeded(h: Harness) -> None:
    assert run_status(h.s3, BUCKET, RUN, h.cfg)["state"] == "unknown"
    store = CheckpointStore(h.s3, BUCKET, layout(h))
    cp = final(h)
    running = Checkpoint(run_id=RUN, source=cp.source, hop=1, offset=40, records=2, updated_at=2.0)
    store.commit(running)
    status = run_status(h.s3, BUCKET, RUN, h.cfg)
    assert status["state"] == "running"
    assert (status["hop"], status["offset"], status["size"], status["records"]) == (1, 40, 100, 2)
    record_outcome(h.s3, BUCKET, layout(h), "failed", "run x failed: boom", "RuntimeError", running)
    status = run_status(h.s3, BUCKET, RUN, h.cfg)
    assert status["state"] == "failed"
    assert status["error"] == "run x failed: boom"
    assert status["error_type"] == "RuntimeError"
    write_manifest(store_of(h), cp)
    status = run_status(h.s3, BUCKET, RUN, h.cfg)
    assert status["state"] == "succeeded"
    assert status["offset"] == 100


def test_outcome_is_written_once(h: Harness) -> None:
    cp = final(h)
    record_outcome(h.s3, BUCKET, layout(h), "failed", "first", "E", cp)
    record_outcome(h.s3, BUCKET, layout(h), "failed", "second", "E", cp)
    doc = json.loads(h.s3.get_object(Bucket=BUCKET, Key=layout(h).outcome())["Body"].read())
    assert doc["error"] == "first"


def test_abandoned_status_names_the_new_run(h: Harness) -> None:
    cp = final(h)
    CheckpointStore(h.s3, BUCKET, layout(h)).commit(Checkpoint(run_id=RUN, source=cp.source, hop=0))
    record_outcome(h.s3, BUCKET, layout(h), "abandoned", "changed", "ObjectChangedError", cp, superseded_by="r2")
    status = run_status(h.s3, BUCKET, RUN, h.cfg)
    assert status["state"] == "abandoned"
    assert status["superseded_by"] == "r2"


def test_status_of_a_run_that_failed_before_its_first_checkpoint(h: Harness) -> None:
    record_outcome(h.s3, BUCKET, layout(h), "failed", "boom", "E", final(h))
    assert run_status(h.s3, BUCKET, RUN, h.cfg)["state"] == "failed"


def test_resume_event() -> None:
    assert resume_event("b", "r") == {"kind": "recursive-s3-resume", "bucket": "b", "run_id": "r"}
