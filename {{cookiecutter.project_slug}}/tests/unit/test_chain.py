"""Whole chains in-process: hops, duplicates, crashes at every step, guards, changed objects.

Every test compares what a chain committed with a single pass (one hop with unlimited time) over
the same object: the committed output, the result, the counts and the quarantined records.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from botocore.exceptions import ClientError

from devtools.run_report import run_status

from {{ cookiecutter.__package_name }} import guard, handler
from {{ cookiecutter.__package_name }}.checkpoint import CheckpointError
from {{ cookiecutter.__package_name }}.guard import (
    DepthExceededError,
    RunBudgetExceededError,
)
from {{ cookiecutter.__package_name }}.records import MODE
from {{ cookiecutter.__package_name }}.runs import resume_event
from {{ cookiecutter.__package_name }}.source import ObjectChangedError

from .harness import BUCKET, FlakyS3, Harness, InjectedCrash, Outcome, aws, make_config, sample_body

BUDGET = 6  # calls to get_remaining_time_in_millis per hop: several hops for the sample input


def chain_config(cache_dir: str, **changes: Any) -> Any:
    base = {
        "read_chunk_bytes": 64,
        "first_batch_records": 4,
        "max_batch_records": 4,
        "bytes_chunk_size": 16,
        "part_bytes": 200,
        "max_stalls": 50,
    }
    return make_config(cache_dir, **{**base, **changes})


@pytest.fixture
def cfg(tmp_path: Path) -> Any:
    return chain_config(str(tmp_path / "cache"))


BODY = sample_body(MODE)


@pytest.fixture(scope="module")
def single(tmp_path_factory: pytest.TempPathFactory) -> Outcome:
    """The reference: the sample input processed in one hop."""
    with aws(chain_config(str(tmp_path_factory.mktemp("single")))) as h:
        run_id = h.drive(h.put_input(BODY))
        out = h.outcome(run_id)
    assert out.hops == 1
    return out


def same(a: Outcome, b: Outcome) -> None:
    assert a.output == b.output
    assert (a.status, a.records, a.bad_records, a.output_items, a.result) == (
        b.status,
        b.records,
        b.bad_records,
        b.output_items,
        b.result,
    )
    assert a.bad == b.bad


def test_single_pass_reference_is_sane(single: Outcome) -> None:
    assert single.status == "succeeded"
    assert single.records > 10
{%- if cookiecutter.processing_mode == "bytes" %}
    assert single.output == BODY
    assert single.bad_records == 0
{%- else %}
    assert single.bad_records == 2  # see sample_body
    assert len(single.bad) == 2
    assert single.output.count(b"\n") == single.output_items
{%- endif %}


def test_each_hop_hands_its_publish_rate_to_the_next(h: Harness) -> None:
    """The copy rate is S3's, not the container's: the payload carries what the hop knew, and a
    fresh container (an empty PublishRate) starts from it rather than publishing blind."""
    rates = {"ms_per_mb": 42.5, "stream_ms_per_mb": 85.0}
    h.fn.publish_rate.adopt(rates)  # as if measured by this container's earlier hops
    first = h.invoke(h.put_input(BODY), calls=3)["runs"][0]
    assert first["status"] == "continued"
    payload = h.lam.payloads[-1]
    assert payload["publish_rate"] == rates  # a publish under 1 MB measures nothing
    h.cache_clear()  # the next hop runs in a fresh container
    assert h.fn.publish_rate.known() is None
    h.invoke(payload, calls=3)
    assert h.fn.publish_rate.known() == rates
    assert h.lam.payloads[-1]["publish_rate"] == rates


@pytest.mark.parametrize("budget", [2, 3, 4, 7, 30])
def test_chain_equals_single_pass(h: Harness, single: Outcome, budget: int) -> None:
    run_id = h.drive(h.put_input(BODY), lambda: budget)
    out = h.outcome(run_id)
    same(out, single)
    if budget < 30:
        assert out.hops > 2
    # The chain pointed each hop at its committed checkpoint; payloads stay small.
    assert all(len(json.dumps(p)) < 1024 for p in h.lam.payloads)
    assert out.hops == len(h.lam.calls) + 1
    for call in h.lam.calls:
        assert call["InvocationType"] == "Event"
        assert call["FunctionName"] == "arn:aws:lambda:us-east-1:123456789012:function:processor"
    status = run_status(h.s3, BUCKET, run_id, h.cfg)
    assert status["state"] == "succeeded"


def test_bytes_fetched_stay_close_to_the_object_size(h: Harness) -> None:
    run_id = h.drive(h.put_input(BODY), lambda: BUDGET)
    manifest = run_status(h.s3, BUCKET, run_id, h.cfg)
    assert len(BODY) <= manifest["bytes_fetched"] <= len(BODY) + 2 * h.cfg.read_chunk_bytes


def test_without_a_cache_every_hop_reads_from_its_offset(h: Harness, single: Outcome) -> None:
    h.configure(cache_memory_bytes=0, cache_disk_bytes=0)
    run_id = h.drive(h.put_input(BODY), lambda: BUDGET)
    same(h.outcome(run_id), single)
    manifest = run_status(h.s3, BUCKET, run_id, h.cfg)
    # Read-ahead of a stopped hop is fetched again, but never more than a chunk per hop.
    assert manifest["bytes_fetched"] <= len(BODY) + manifest["hops"] * h.cfg.read_chunk_bytes


def test_recycled_containers(h: Harness, single: Outcome, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every hop on a fresh container (empty cache) gives the same result."""
    original = h.invoke

    def fresh(event: dict[str, Any], calls: int | None = None, request_id: str = "req") -> dict[str, Any]:
        h.cache_clear()
        return original(event, calls, request_id)

    monkeypatch.setattr(h, "invoke", fresh)
    run_id = h.drive(h.put_input(BODY), lambda: BUDGET)
    same(h.outcome(run_id), single)


def test_every_payload_delivered_twice(h: Harness, single: Outcome) -> None:
    event = h.put_input(BODY)
    h.invoke(event, BUDGET)
    h.invoke(event, BUDGET)  # a duplicate S3 event: the same run, nothing launched twice
    done = 0
    results = []
    writes = FlakyS3(h.s3, lambda n, key: None)
    while done < len(h.lam.payloads):
        payload = h.lam.payloads[done]
        done += 1
        results.append(h.invoke(payload, BUDGET)["status"])
        with h.using(s3=lambda: writes):
            results.append(h.invoke(payload, BUDGET)["status"])  # the duplicate, after the original
    run_id = run_ids(h)[0]
    same(h.outcome(run_id), single)
    assert results.count("duplicate") == len(results) // 2
    # A duplicate of a finished hop writes nothing: no part copied again, no marker, no manifest.
    assert writes.puts == []
    # Every hop was launched exactly once: duplicates found it committed and launched.
    hops = [p["hop"] for p in h.lam.payloads]
    assert hops == list(range(1, len(hops) + 1))


def run_ids(h: Harness) -> list[str]:
    return sorted({k.split("/")[2] for k in h.list_keys(h.cfg.state_prefix + "runs/")})


def test_interleaved_attempts_of_the_same_hop(h: Harness, single: Outcome) -> None:
    """Two attempts of one hop run concurrently; both try to commit; the loser must not launch."""
    event = h.put_input(BODY)
    h.invoke(event, BUDGET)
    payload = h.lam.payloads[0]
    real = h.s3
    interleaved = []

    def fail(n: int, key: str) -> str | None:
        if key.endswith("/checkpoints/000002.json") and not interleaved:
            interleaved.append(key)
            # Attempt A is about to commit hop 2: attempt B of the same hop runs and commits first.
            with h.using(s3=lambda: real):
                assert h.invoke(payload, BUDGET, "attempt-b")["status"] == "continued"
        return None

    flaky = FlakyS3(real, fail)
    with h.using(s3=lambda: flaky):
        result = h.invoke(payload, BUDGET, "attempt-a")
    assert interleaved
    assert result["status"] == "duplicate"
    assert [p["hop"] for p in h.lam.payloads] == [1, 2]  # B launched hop 2; A did not
    queue = h.lam.payloads[1:]
    while queue:
        before = len(h.lam.payloads)
        h.invoke(queue.pop(0), BUDGET)
        queue.extend(h.lam.payloads[before:])
    same(h.outcome(run_ids(h)[0]), single)


def test_lost_response_on_the_checkpoint_commit_is_recognised_by_attempt_id(h: Harness, single: Outcome) -> None:
    """botocore retried a commit whose first response was lost: the retry's 412 is our own write."""
    event = h.put_input(BODY)
    h.invoke(event, BUDGET)
    payload = h.lam.payloads[0]
    real = h.s3

    class LostResponse(FlakyS3):
        def put_object(self, **kwargs: Any) -> Any:
            if kwargs["Key"].endswith("/checkpoints/000002.json"):
                real.put_object(**kwargs)
                raise ClientError(
                    {"Error": {"Code": "PreconditionFailed"}, "ResponseMetadata": {"HTTPStatusCode": 412}},
                    "PutObject",
                )
            return real.put_object(**kwargs)

    with h.using(s3=lambda: LostResponse(real, lambda n, k: None)):
        result = h.invoke(payload, BUDGET)
    assert result["status"] == "continued"
    assert [p["hop"] for p in h.lam.payloads] == [1, 2]
    h.drive(h.lam.payloads[1], lambda: BUDGET)
    same(h.outcome(run_ids(h)[0]), single)


def count_puts(h: Harness) -> int:
    """How many put_object calls a clean chain of the sample input makes."""
    flaky = FlakyS3(h.s3, lambda n, k: None)
    with h.using(s3=lambda: flaky):
        h.drive(h.put_input(BODY, key="incoming/count.in"), lambda: BUDGET)
    return len(flaky.puts)


@pytest.fixture(scope="module")
def total_puts(tmp_path_factory: pytest.TempPathFactory) -> int:
    with aws(chain_config(str(tmp_path_factory.mktemp("count")))) as h:
        return count_puts(h)


@pytest.mark.parametrize("how", ["before", "after"])
def test_crash_at_every_put(tmp_path: Path, single: Outcome, total_puts: int, how: str) -> None:
    """The hop dies at the n-th write of the chain (a staged part, the quarantine, the checkpoint,
    a part's publishing copy, the launch marker or the manifest), before or after S3 has it;
    Lambda retries the event. Outcome() also checks that only committed output is visible."""
    kinds: set[str] = set()
    for n in range(1, total_puts + 1):
        with aws(chain_config(str(tmp_path / f"c{n}"))) as h:
            key_at: list[str] = []

            def fail(i: int, key: str, n: int = n, key_at: list[str] = key_at) -> str | None:
                if i == n:
                    key_at.append(key)
                    return how
                return None

            flaky = FlakyS3(h.s3, fail)
            with h.using(s3=lambda flaky=flaky: flaky):
                run_id = h.drive(h.put_input(BODY), lambda: BUDGET)
            assert key_at, f"put #{n} never happened"
            kinds.add(key_at[0].split("/")[-2])
            same(h.outcome(run_id), single)
            assert len(h.list_keys(f"{h.cfg.output_prefix}{run_id}/manifest.json")) == 1
    # The crashes hit every kind of write a hop makes.
    assert {"staging", "parts", "checkpoints", "launched"} <= kinds
    if MODE != "bytes":
        assert "quarantine" in kinds


@pytest.mark.parametrize("how", ["before", "after"])
def test_crash_at_every_invoke(tmp_path: Path, single: Outcome, how: str) -> None:
    """The self-invocation fails (not delivered) or is delivered but its response is lost."""
    n = 1
    while True:
        with aws(chain_config(str(tmp_path / f"i{n}"))) as h:
            h.lam.fail = lambda i, n=n: how if i == n else None
            run_id = h.drive(h.put_input(BODY), lambda: BUDGET)
            same(h.outcome(run_id), single)
            launched = [p["hop"] for p in h.lam.payloads]
            if len(h.lam.calls) < n:
                break
            if how == "after":
                assert sorted(set(launched)) == list(range(1, max(launched) + 1))
            n += 1
    assert n > 3


def test_crash_inside_process_batch_is_retried(h: Harness, single: Outcome) -> None:
    calls = {"n": 0}
    real = h.fn.process.process_batch

    def flaky(records: list[Any], state: dict[str, Any]) -> list[Any]:
        calls["n"] += 1
        if calls["n"] in (3, 9):
            raise InjectedCrash("the user's code died")
        out: list[Any] = real(records, state)
        return out

    with mock.patch.object(h.fn.process, "process_batch", flaky):
        run_id = h.drive(h.put_input(BODY), lambda: BUDGET)
    same(h.outcome(run_id), single)


def test_depth_guard_stops_the_chain(h: Harness) -> None:
    h.configure(max_hops=3)
    with pytest.raises(DepthExceededError) as info:
        h.drive(h.put_input(BODY), lambda: BUDGET, retries=0)
    run_id = run_ids(h)[0]
    assert str(info.value).startswith(f"run {run_id} ")
    assert "MAX_HOPS=3" in str(info.value)
    status = run_status(h.s3, BUCKET, run_id, h.cfg)
    assert status["state"] == "failed"
    assert status["error_type"] == "DepthExceededError"
    assert status["hop"] == 3
    assert [p["hop"] for p in h.lam.payloads] == [1, 2, 3]


def test_no_progress_guard(h: Harness) -> None:
    from {{ cookiecutter.__package_name }}.guard import NoProgressError

    h.configure(max_stalls=2)
    with pytest.raises(NoProgressError) as info:
        h.drive(h.put_input(BODY), lambda: 0, retries=0)  # never any time to read: the factor stays 0
    run_id = run_ids(h)[0]
    assert str(info.value).startswith(f"run {run_id} made no progress in {2 * guard.STARVED_STALLS} hops")
    assert "began with less time left than committing needs, so it read nothing" in str(info.value)
    assert "record is larger" not in str(info.value)
    assert run_status(h.s3, BUCKET, run_id, h.cfg)["state"] == "failed"


def test_run_budget_guard(h: Harness) -> None:
    h.configure(max_run_seconds=60)
    event = h.put_input(BODY)
    h.invoke(event, BUDGET)
    started = run_status(h.s3, BUCKET, run_ids(h)[0], h.cfg)["updated_at"]
    with mock.patch.object(guard.time, "time", lambda: started + 3600), pytest.raises(RunBudgetExceededError) as info:
        h.invoke(h.lam.payloads[0], BUDGET)
    assert "MAX_RUN_SECONDS=60" in str(info.value)
    assert str(info.value).startswith(f"run {run_ids(h)[0]} ")


def test_a_failed_run_does_not_go_on_and_can_be_resumed(h: Harness, single: Outcome) -> None:
    h.configure(max_hops=2)
    event = h.put_input(BODY)
    with pytest.raises(DepthExceededError):
        h.drive(event, lambda: BUDGET, retries=0)
    run_id = run_ids(h)[0]
    h.configure(max_hops=1000)
    before = len(h.lam.payloads)
    h.drive(resume_event(BUCKET, run_id), lambda: BUDGET)
    assert len(h.lam.payloads) > before
    same(h.outcome(run_id), single)


@pytest.mark.parametrize("how", ["overwrite", "delete"])
def test_object_changed_mid_run_fails_the_run(h: Harness, how: str) -> None:
    h.configure(cache_memory_bytes=0, cache_disk_bytes=0)
    event = h.put_input(BODY)
    h.invoke(event, BUDGET)
    key = "incoming/data file.in"
    if how == "overwrite":
        h.s3.put_object(Bucket=BUCKET, Key=key, Body=BODY + BODY)
    else:
        h.s3.delete_object(Bucket=BUCKET, Key=key)
    with pytest.raises(ObjectChangedError) as info:
        h.invoke(h.lam.payloads[0], BUDGET)
    run_id = run_ids(h)[0]
    assert f"run {run_id} failed at hop 1" in str(info.value)
    status = run_status(h.s3, BUCKET, run_id, h.cfg)
    assert status["state"] == "failed"
    assert status["error_type"] == "ObjectChangedError"
    assert ("was deleted" in status["error"]) == (how == "delete")
    assert h.list_keys(f"{h.cfg.output_prefix}{run_id}/manifest.json") == []


def test_object_changed_with_the_cache_warm(h: Harness) -> None:
    event = h.put_input(BODY)
    h.invoke(event, BUDGET)
    h.s3.put_object(Bucket=BUCKET, Key="incoming/data file.in", Body=BODY[::-1])
    with pytest.raises(ObjectChangedError, match="changed during the run"):
        h.invoke(h.lam.payloads[0], BUDGET)


def test_restart_policy_starts_over_on_the_new_version(h: Harness, tmp_path: Path) -> None:
    h.configure(on_object_change="restart")
    key = "incoming/data file.in"
    event = h.put_input(BODY[: len(BODY) // 2])
    h.invoke(event, BUDGET)
    first_run = run_ids(h)[0]
    h.s3.put_object(Bucket=BUCKET, Key=key, Body=BODY)
    result = h.invoke(h.lam.payloads[0], BUDGET)
    assert result["status"] == "abandoned"
    new_run = result["superseded_by"]
    assert run_status(h.s3, BUCKET, first_run, h.cfg)["state"] == "abandoned"
    h.drive(h.lam.payloads[-1], lambda: BUDGET)
    with aws(chain_config(str(tmp_path / "ref"))) as ref:
        expected = ref.outcome(ref.drive(ref.put_input(BODY, key=key)))
    same(h.outcome(new_run), expected)


def test_tampered_payload_is_rejected(h: Harness) -> None:
    event = h.put_input(BODY)
    h.invoke(event, BUDGET)
    payload = dict(h.lam.payloads[0])
    payload["etag"] = '"forged"'
    with pytest.raises(CheckpointError, match="replaced or the payload was altered"):
        h.invoke(payload, BUDGET)
    payload = dict(h.lam.payloads[0], v=2)
    with pytest.raises(CheckpointError, match="payload version"):
        h.invoke(payload, BUDGET)


def test_state_that_cannot_cross_a_hop_ends_the_run(h: Harness) -> None:
    def bad_batch(records: list[Any], state: dict[str, Any]) -> list[Any]:
        state["oops"] = {"counts": defaultdict(int)}
        return []

    with (
        mock.patch.object(h.fn.process, "process_batch", bad_batch),
        pytest.raises(handler.StateError, match=r"state\['oops'\]\['counts'\] is a collections.defaultdict"),
    ):
        h.drive(h.put_input(BODY), lambda: BUDGET, retries=0)
    assert run_status(h.s3, BUCKET, run_ids(h)[0], h.cfg)["error_type"] == "StateError"


def test_a_failed_run_stays_failed_until_resumed(h: Harness, single: Outcome) -> None:
    """A run-ending error on one attempt is terminal for every later one: Lambda's retry of the
    same event (which would succeed this time, on a fresh container) stops at once; only resume
    goes on."""
    real = h.fn.process.process_batch
    calls = {"n": 0}

    def once_bad(records: list[Any], state: dict[str, Any]) -> list[Any]:
        calls["n"] += 1
        if calls["n"] == 3:
            state["oops"] = defaultdict(int)  # a StateError at this hop's commit, this time only
        out: list[Any] = real(records, state)
        return out

    h.invoke(h.put_input(BODY), BUDGET)
    payload = h.lam.payloads[-1]
    with mock.patch.object(h.fn.process, "process_batch", once_bad), pytest.raises(handler.StateError):
        while True:  # hop after hop until the bad batch ends the run
            before = len(h.lam.payloads)
            h.invoke(payload, BUDGET)
            payload = h.lam.payloads[-1] if len(h.lam.payloads) > before else payload
    (run_id,) = run_ids(h)
    hop = run_status(h.s3, BUCKET, run_id, h.cfg)["hop"]
    h.cache_clear()  # the retry lands on a fresh container
    with pytest.raises(handler.RunEndedError, match="has ended"):  # so it still reaches the on-failure queue
        h.invoke(payload, BUDGET)
    assert run_status(h.s3, BUCKET, run_id, h.cfg)["state"] == "failed"
    assert run_status(h.s3, BUCKET, run_id, h.cfg)["hop"] == hop, "the stopped attempt committed nothing"
    h.drive(resume_event(BUCKET, run_id), lambda: BUDGET)
    same(h.outcome(run_id), single)


def test_keys_written_by_a_run(h: Harness) -> None:
    run_id = h.drive(h.put_input(BODY), lambda: BUDGET)
    written = [k for k in h.list_keys() if not k.startswith("incoming/")]
    assert written
    assert all(k.endswith((".json", ".jsonl", ".bin")) for k in written)
    assert all(h.cfg.is_own_key(k) for k in written)
    assert not [k for k in written if k.startswith(h.cfg.input_prefix) and k.endswith(h.cfg.input_suffix)]
    assert all(run_id in k for k in written)


def test_events_for_own_keys_and_folders_are_ignored(h: Harness) -> None:
    from .harness import s3_event

    assert h.invoke(s3_event(BUCKET, "processed/x/manifest.json", '"e"', 10)) == {"runs": []}
    assert h.invoke(s3_event(BUCKET, "incoming/folder/", '"e"', 0)) == {"runs": []}
    assert h.invoke({"Event": "s3:TestEvent"}) == {"runs": []}
    with pytest.raises(ValueError, match="unrecognised event"):
        h.invoke({"hello": "world"})


def test_eventbridge_event(h: Harness, single: Outcome) -> None:
    h.put_input(BODY)
    head = h.s3.head_object(Bucket=BUCKET, Key="incoming/data file.in")
    event = {
        "source": "aws.s3",
        "detail-type": "Object Created",
        "detail": {
            "bucket": {"name": BUCKET},
            "object": {"key": "incoming/data file.in", "size": head["ContentLength"], "etag": head["ETag"]},
        },
    }
    run_id = h.drive(event, lambda: BUDGET)
    same(h.outcome(run_id), single)


def test_event_without_etag_or_size_is_completed_with_a_head(h: Harness, single: Outcome) -> None:
    event = h.put_input(BODY)
    obj = event["Records"][0]["s3"]["object"]
    del obj["eTag"], obj["size"]
    run_id = h.drive(event, lambda: BUDGET)
    same(h.outcome(run_id), single)


def test_several_objects_in_one_event_are_launched(h: Harness) -> None:
    e1 = h.put_input(BODY, key="incoming/one.in")
    e2 = h.put_input(BODY, key="incoming/two.in")
    result = h.invoke({"Records": e1["Records"] + e2["Records"]}, BUDGET)
    assert [r["status"] for r in result["runs"]] == ["launched", "launched"]
    assert [p["hop"] for p in h.lam.payloads] == [0, 0]
