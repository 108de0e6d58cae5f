"""A CSV range that began inside a quoted field, through the real handler: what its wrong start
makes it do (quarantine garbage, fail on a "record" too large) never reaches the run, and late
attempts of the generation that was replaced leave nothing under the output prefix."""

from __future__ import annotations

import json
from typing import Any

import pytest

from devtools import passthrough
from devtools.run_report import run_status

from {{ cookiecutter.__package_name }}.batch import RecordTooLargeError
from {{ cookiecutter.__package_name }}.fanout import HeldError
from {{ cookiecutter.__package_name }}.layout import run_id_for
from {{ cookiecutter.__package_name }}.ranges import plan_bounds

from .harness import BUCKET, aws, make_config
from .test_fanout import run, without_lines

MAX_RECORD_BYTES = 1000


def quoted_then_plain() -> tuple[bytes, int, int]:
    """A row whose quoted note spans 100 lines (~900 bytes), then 2 kB of rows without a quote:
    read from inside the note, its closing quote opens a field that runs to the end of the object.
    (That quote stands at a line start before a comma: it could open or close a field, so the guess
    cannot use it and takes the first line end.) Returns the object and where the quoted row begins
    and ends."""
    head = b"id,note,flag\n"
    quoted = b'1,"' + b"".join(b"line %03d\n" % i for i in range(100)) + b'",ok\n'
    plain = b"".join(b"%d,plain,ok\n" % i for i in range(2, 200))
    return head + quoted + plain, len(head), len(head) + len(quoted)


def test_a_range_that_began_inside_a_quoted_field_is_redone_not_failed(tmp_path: Any) -> None:
    body, begins, ends = quoted_then_plain()
    assert len(body) - ends > MAX_RECORD_BYTES, "read from a wrong start, the rest is one too-large field"
    bounds = plan_bounds(len(body), 4, len(body) // 4)
    assert begins < bounds[1] < ends, "range 1's bound falls inside the quoted note"
    one, _, _ = run(body, None, max_record_bytes=MAX_RECORD_BYTES)
    cfg = make_config(
        str(tmp_path), max_stalls=1000, max_hops=100_000, parallelism=4, min_range_bytes=len(body) // 4,
        max_record_bytes=MAX_RECORD_BYTES,
    )  # fmt: skip
    with aws(cfg, passthrough) as h:
        run_id = h.drive(h.put_input(body), lambda: 4)
        manifest = json.loads(
            h.s3.get_object(Bucket=BUCKET, Key=f"{cfg.output_prefix}{run_id}/manifest.json")["Body"].read()
        )
        assert [(r["index"], r["generation"]) for r in manifest["ranges"]][:2] == [(0, 0), (1, 1)], manifest["ranges"]
        assert manifest["ranges"][1]["start"] == ends, "the redo began where range 0's last record ended"
        merged = h.outcome(run_id)
        assert without_lines(merged) == without_lines(one)
        # Late attempts of every hop, the replaced generation's included (they publish again): h.outcome
        # checks that only the manifest and the parts it lists are under the output prefix.
        for late in list(h.lam.payloads):
            h.drive(late, lambda: 4)
        assert without_lines(h.outcome(run_id)) == merged
        # `make status` of range 1 as it stood before range 0 finished: generation 0, holding its error
        # (the redo and the merge taken away).
        redo = h.list_keys(f"{cfg.state_prefix}runs/{run_id}/ranges/r0001g1/")
        gone = [*redo, f"{cfg.output_prefix}{run_id}/manifest.json"]
        h.s3.delete_objects(Bucket=BUCKET, Delete={"Objects": [{"Key": k} for k in gone]})
        state = run_status(h.s3, BUCKET, run_id, cfg)["ranges"][1]["state"]
        assert state.startswith("held, until the range before it confirms where it began: run "), state


def test_a_held_error_that_proves_real_fails_the_run_as_itself(tmp_path: Any) -> None:
    """Range 1 begins on a line start (no quote anywhere) and runs into a row longer than
    MAX_RECORD_BYTES: it holds the error until range 0 confirms its start, then the run fails with
    that error, named as itself."""
    rows = [b"%d,plain,ok\n" % i for i in range(200)]
    rows[190] = b"190," + b"y" * 1500 + b",ok\n"
    body = b"id,note,flag\n" + b"".join(rows)
    assert body.index(b"190,") > len(body) // 2, "the long row lies in range 1"
    cfg = make_config(
        str(tmp_path), max_stalls=1000, max_hops=100_000, parallelism=2, min_range_bytes=len(body) // 2,
        max_record_bytes=MAX_RECORD_BYTES,
    )  # fmt: skip
    with aws(cfg, passthrough) as h:
        event = h.put_input(body)
        with pytest.raises(HeldError, match="held until the range before it confirmed where range 1 began"):
            h.drive(event, lambda: 4)
        obj = event["Records"][0]["s3"]["object"]
        status = run_status(h.s3, BUCKET, run_id_for(BUCKET, "incoming/data file.in", obj["eTag"], None), cfg)
        assert status["state"] == "failed" and status["error_type"] == RecordTooLargeError.__name__, status
        assert " of range 1 (" in status["error"] and "longer than MAX_RECORD_BYTES" in status["error"], status
        # `make status`: no range is left "held" or "running" once the run has failed.
        states = [r["state"] for r in status["ranges"]]
        assert states[0] == "finished", states
        assert states[1].startswith("stopped: the run failed; this range held: run "), states
