"""Fan-out through the real handler: a run split into range chains commits what one pass commits,
merged once, with every part in range order and nothing else under the output prefix."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devtools import passthrough
from devtools.run_report import run_status

from {{ cookiecutter.__package_name }}.checkpoint import CheckpointStore
from {{ cookiecutter.__package_name }}.config import Config, ConfigError
from {{ cookiecutter.__package_name }}.fanout import MergeError, end_every_chain
from {{ cookiecutter.__package_name }}.layout import RunLayout, run_id_for
from {{ cookiecutter.__package_name }}.records import MODE
from {{ cookiecutter.__package_name }}.runs import resume_event
from {{ cookiecutter.__package_name }}.state_codec import StateError

from .harness import BUCKET, Harness, InjectedCrash, Outcome, aws, make_config, sample_body


def without_lines(out: Outcome) -> Outcome:
    """A range's quarantined records count lines from the range's start: compare the rest."""
    out.bad = [{k: v for k, v in b.items() if k != "line"} for b in out.bad]
    out.hops = 0
    return out


def run(body: bytes, budget: int | None, **changes: Any) -> tuple[Outcome, dict[str, Any], Harness]:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        cfg = make_config(tmp, max_stalls=1000, max_hops=100_000, **changes)
        with aws(cfg, passthrough) as h:
            run_id = h.drive(h.put_input(body), lambda: budget)
            key = f"{cfg.output_prefix}{run_id}/manifest.json"
            manifest = json.loads(h.s3.get_object(Bucket=BUCKET, Key=key)["Body"].read())
            return h.outcome(run_id), manifest, h


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=st.integers(20, 120),
    parallelism=st.integers(2, 8),
    split=st.integers(2, 12),
    budget=st.sampled_from([None, 2, 5, 40]),
)
def test_a_fanned_out_run_commits_one_pass(rows: int, parallelism: int, split: int, budget: int | None) -> None:
    body = sample_body(MODE, rows)
    one, _, _ = run(body, None, bytes_chunk_size=23)
    fan, manifest, _ = run(
        body, budget, parallelism=parallelism, min_range_bytes=max(1, len(body) // split), bytes_chunk_size=23
    )
    assert without_lines(fan) == without_lines(one)
    ranges = manifest["ranges"]
    assert len(ranges) == min(parallelism, split) or len(ranges) >= 2
    assert [r["start"] for r in ranges[1:]] == [r["end"] for r in ranges[:-1]]


def test_parallelism_needs_merge(cfg: Any) -> None:
    class NoMerge:
        initial_state = staticmethod(passthrough.initial_state)
        process_batch = staticmethod(passthrough.process_batch)
        finish = staticmethod(passthrough.finish)

    from dataclasses import replace

    refused = pytest.raises(ConfigError, match=r"define merge\(left, right\) in process.py")
    with refused, aws(replace(cfg, parallelism=2), NoMerge):
        pass


def fan_out_config(tmp_path: Any, body: bytes, ranges: int = 4) -> Config:
    return make_config(
        str(tmp_path), max_stalls=1000, max_hops=100_000, parallelism=ranges,
        min_range_bytes=len(body) // ranges, bytes_chunk_size=23,
    )  # fmt: skip


def run_of(event: dict[str, Any]) -> str:
    obj = event["Records"][0]["s3"]["object"]
    return run_id_for(BUCKET, "incoming/data file.in", obj["eTag"], None)


def test_late_duplicates_of_every_event_change_nothing(tmp_path: Any) -> None:
    """Lambda delivers at least once: every event of a merged fan-out run delivered again, the S3
    event after the object was overwritten included, leaves the run as it was (the planner's
    duplicate relaunches nothing and never reads the changed object)."""
    body = sample_body(MODE, 200)
    cfg = fan_out_config(tmp_path, body)
    with aws(cfg, passthrough) as h:
        event = h.put_input(body)
        run_id = h.drive(event, lambda: 3)
        merged = h.outcome(run_id)
        replays = list(h.lam.payloads)
        h.s3.put_object(Bucket=BUCKET, Key="incoming/data file.in", Body=body + body)
        for late in (event, *replays):
            h.drive(late, lambda: 3)
        assert h.outcome(run_id) == merged
        assert run_status(h.s3, BUCKET, run_id, cfg)["state"] == "succeeded"
        layout = RunLayout(cfg.state_prefix, cfg.output_prefix, run_id)
        assert not h.list_keys(layout.outcome()), "no attempt recorded an end for a merged run"
        assert len({k.split("/runs/")[1].split("/")[0] for k in h.list_keys(cfg.state_prefix)}) == 1


@pytest.mark.parametrize("then_failed", [False, True])
def test_a_planner_that_stopped_while_launching_is_completed_by_resume(tmp_path: Any, then_failed: bool) -> None:
    """Hop 0 dies after launching range 0 and committing range 1, its retries spent (and, then_failed,
    the run then ended: every chain got the outcome, range 1's too): `make resume` launches the
    ranges it never launched, afresh, and resumes the one it did."""
    body = sample_body(MODE, 200)
    one, _, _ = run(body, None, bytes_chunk_size=23)
    cfg = fan_out_config(tmp_path, body)
    with aws(cfg, passthrough) as h:
        h.lam.fail = lambda n: "before" if n == 2 else None  # invoke 1 launches range 0, 2 range 1
        event = h.put_input(body)
        with pytest.raises(InjectedCrash):
            h.drive(event, retries=0)
        run_id = run_of(event)
        status = run_status(h.s3, BUCKET, run_id, cfg)
        assert status["state"] == "running"
        assert len(status["ranges"]) > 2, "ranges the planner never reached"
        assert [r["state"] for r in status["ranges"]][2:] == ["not started"] * (len(status["ranges"]) - 2)
        if then_failed:
            store = CheckpointStore(h.s3, BUCKET, RunLayout(cfg.state_prefix, cfg.output_prefix, run_id))
            first = store.find(0)
            assert first is not None
            end_every_chain(store, "failed", "a range failed", "RunStopped", first[0])
            states = [r["state"] for r in run_status(h.s3, BUCKET, run_id, cfg)["ranges"]]
            assert states[1:] == ["stopped: the run failed"] * (len(states) - 1), states  # none left running or waiting
        h.lam.fail = lambda n: None
        h.drive(resume_event(BUCKET, run_id), lambda: 3)
        assert without_lines(h.outcome(run_id)) == without_lines(one)


class BadMerge:
    """passthrough, whose merge raises."""

    initial_state = staticmethod(passthrough.initial_state)
    process_batch = staticmethod(passthrough.process_batch)
    finish = staticmethod(passthrough.finish)

    @staticmethod
    def merge(left: dict[str, Any], right: dict[str, Any]) -> dict[str, Any]:
        raise ValueError(f"cannot merge {right['n']} records")


class NanResult(BadMerge):
    """passthrough, whose merged result cannot be written as JSON."""

    merge = staticmethod(passthrough.merge)

    @staticmethod
    def finish(state: dict[str, Any]) -> dict[str, Any]:
        return {"mean": float("nan")}


@pytest.mark.parametrize(
    ("process", "error", "message"),
    [
        (
            BadMerge,
            MergeError,
            r"merge\(<ranges 0..0 merged>, <range 1>\) in process.py raised ValueError: cannot merge",
        ),
        (NanResult, StateError, r"the result of finish\(\)"),
    ],
)
def test_a_merge_that_cannot_be_done_fails_the_run_naming_it(
    tmp_path: Any, process: Any, error: type[Exception], message: str
) -> None:
    body = sample_body(MODE, 200)
    cfg = fan_out_config(tmp_path, body)
    with aws(cfg, process) as h:
        event = h.put_input(body)
        with pytest.raises(error, match=message):
            h.drive(event, lambda: 3)
        status = run_status(h.s3, BUCKET, run_of(event), cfg)
        assert status["state"] == "failed" and status["error_type"] == error.__name__, status
        assert not h.list_keys(f"{cfg.output_prefix}{run_of(event)}/manifest.json")
