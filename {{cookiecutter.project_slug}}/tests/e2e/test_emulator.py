"""The emulator's Lambda semantics, checked with tiny handlers written for each test: what the
Invoke API answers, warm reuse vs. cold sandboxes, deadlines, retries, on-failure records, faults,
and that closing it leaves no process or port behind."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config as BotoConfig
from botocore.exceptions import ClientError

from devtools import pool
from devtools.emulator import Emulator
from devtools.faults import Faults
from devtools.proc import pid_alive, port_open
from devtools.s3_server import DUMMY_CREDENTIALS, MotoServer

pytestmark = pytest.mark.e2e

HANDLER = """
import json, os, signal, time
import boto3

CALLS = 0  # module state: survives on a warm sandbox only

def lambda_handler(event, context):
    global CALLS
    CALLS += 1
    action = event.get("action")
    if action == "sleep":
        time.sleep(event["seconds"])
    if action == "spin":
        while True:
            spin_here = 1
    if action == "freeze":
        os.kill(os.getpid(), signal.SIGSTOP)
    if action == "raise":
        raise RuntimeError("boom " + str(event.get("n")))
    if action == "chain" and event["hop"] < event["last"]:
        boto3.client("lambda").invoke(
            FunctionName=context.invoked_function_arn,
            InvocationType="Event",
            Payload=json.dumps({**event, "hop": event["hop"] + 1}),
        )
    if action == "chain":
        s3 = boto3.client("s3")
        s3.put_object(Bucket=event["bucket"], Key=f"hops/{event['hop']:03d}-{context.aws_request_id}", Body=b"x")
    return {
        "calls": CALLS,
        "pid": os.getpid(),
        "tmp": os.environ["TMPDIR"],
        "remaining": context.get_remaining_time_in_millis(),
        "request_id": context.aws_request_id,
        "arn": context.invoked_function_arn,
        "name": context.function_name,
        "memory": context.memory_limit_in_mb,
        "stream": context.log_stream_name,
    }
"""


@pytest.fixture
def handler_dir(tmp_path: Path) -> Path:
    (tmp_path / "fixture_handler.py").write_text(textwrap.dedent(HANDLER))
    return tmp_path


@pytest.fixture
def make_emulator(handler_dir: Path, s3_server: MotoServer) -> Iterator[Any]:
    made: list[Emulator] = []

    def make(timeout_ms: int = 5000, faults: str = "", seed: int = 0, recursive_loop: str = "Terminate") -> Emulator:
        log = (handler_dir / "log.txt").open("ab")
        em = Emulator(
            handler="fixture_handler.lambda_handler",
            function_name="fixture-fn",
            function_env={},
            s3_endpoint=s3_server.endpoint,
            timeout_ms=timeout_ms,
            faults=Faults.parse(faults),
            seed=seed,
            cwd=str(handler_dir),
            pythonpath=[str(handler_dir)],
            log=log,
            retry_delay_ms=1,
            recursive_loop=recursive_loop,
        ).start()
        made.append(em)
        return em

    yield make
    for em in made:
        em.close()


def _client(em: Emulator) -> Any:
    return boto3.client(
        "lambda",
        endpoint_url=em.lambda_endpoint,
        region_name="us-east-1",
        aws_access_key_id=DUMMY_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=DUMMY_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        config=BotoConfig(retries={"max_attempts": 1}),
    )


def _sync(em: Emulator, event: dict[str, Any]) -> dict[str, Any]:
    resp = _client(em).invoke(FunctionName="fixture-fn", Payload=json.dumps(event))
    assert resp["StatusCode"] == 200
    return {"FunctionError": resp.get("FunctionError"), **json.loads(resp["Payload"].read())}


def test_warm_sandbox_is_reused_with_context(make_emulator: Any) -> None:
    em = make_emulator(timeout_ms=5000)
    first, second = _sync(em, {}), _sync(em, {})
    assert (first["calls"], second["calls"]) == (1, 2)
    assert first["pid"] == second["pid"]
    assert first["request_id"] != second["request_id"]
    assert 0 < second["remaining"] <= 5000
    assert first["arn"] == em.arn and first["name"] == "fixture-fn"
    assert first["memory"] == "1024" and first["stream"]
    assert em.stats.cold_starts == 1


def test_recycle_fault_gives_a_cold_sandbox_with_fresh_tmp(make_emulator: Any) -> None:
    em = make_emulator(faults="recycle:1.0")
    a, b = _sync(em, {}), _sync(em, {})
    assert a["calls"] == b["calls"] == 1
    assert a["pid"] != b["pid"] and a["tmp"] != b["tmp"]
    assert em.stats.recycles == 2 and em.stats.cold_starts == 2


def test_function_error_is_reported_like_lambda(make_emulator: Any) -> None:
    em = make_emulator()
    reply = _sync(em, {"action": "raise", "n": 7})
    assert reply["FunctionError"] == "Unhandled"
    assert reply["errorType"] == "RuntimeError" and reply["errorMessage"] == "boom 7"


def test_api_errors(make_emulator: Any) -> None:
    em = make_emulator()
    client = _client(em)
    with pytest.raises(ClientError) as missing:
        client.invoke(FunctionName="other-fn", Payload=b"{}")
    assert missing.value.response["Error"]["Code"] == "ResourceNotFoundException"
    with pytest.raises(ClientError) as big:
        client.invoke(FunctionName=em.arn, InvocationType="Event", Payload=json.dumps({"x": "y" * (1 << 20)}))
    assert big.value.response["ResponseMetadata"]["HTTPStatusCode"] == 413
    queued = client.invoke(FunctionName=em.arn, InvocationType="Event", Payload=b"{}")
    assert queued["StatusCode"] == 202
    assert em.run(30)
    assert em.stats.invocations == 1


def test_a_request_cut_off_mid_body_invokes_nothing(make_emulator: Any) -> None:
    """A sandbox killed at its deadline while sending an invoke: Lambda never receives a partial
    request, so no event (least of all an empty one) may be queued (session 23: a 100 ms chain got
    an empty event from such a request and retried it 20 times)."""
    em = make_emulator()
    host, port = em.lambda_endpoint.removeprefix("http://").split(":")
    head = (
        f"POST /2015-03-31/functions/{em.arn}/invocations HTTP/1.1\r\nHost: {host}\r\n"
        "X-Amz-Invocation-Type: Event\r\nContent-Length: 500\r\n\r\n"
    )
    for sent in (b"", b'{"kind": "recursive-s3-contin'):  # nothing of the body, or part of it
        with socket.create_connection((host, int(port))) as sock:
            sock.sendall(head.encode() + sent)
    assert em.run(5)
    assert em.stats.invocations == 0


def test_deadline_kills_and_async_retries_end_in_an_on_failure_record(make_emulator: Any) -> None:
    em = make_emulator(timeout_ms=300, faults="retries:3")
    em.submit_async({"action": "sleep", "seconds": 30})
    assert em.run(60)
    assert em.stats.timeouts == 4 and em.stats.retries == 3
    (record,) = em.stats.on_failure
    assert record["requestPayload"] == {"action": "sleep", "seconds": 30}
    assert record["responsePayload"]["errorType"] == "Sandbox.Timedout"
    assert record["requestContext"]["approximateInvokeCount"] == 4
    assert all(not pid_alive(row.pid) for row in em.timeline), "a timed-out sandbox is SIGKILLed"


def test_a_timeout_ends_the_sandbox_at_its_deadline_and_logs_where_it_was(
    make_emulator: Any, handler_dir: Path
) -> None:
    em = make_emulator(timeout_ms=400, faults="retries:0")
    em.submit_async({"action": "spin"})
    assert em.run(30)
    assert em.stats.timeouts == 1
    (row,) = em.timeline
    assert 400 <= row.end_ms - row.start_ms < 5000, "ended by its own watchdog, not the 5 s backstop"
    log = (handler_dir / "log.txt").read_text()
    assert "Timeout (0:00:00." in log and "in lambda_handler" in log, log[-2000:]


def test_a_sandbox_that_cannot_end_itself_is_killed_after_a_grace(
    make_emulator: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pool, "STUCK_GRACE_S", 0.5)
    em = make_emulator(timeout_ms=300, faults="retries:0")
    em.submit_async({"action": "freeze"})  # SIGSTOP: its watchdog thread is frozen too
    assert em.run(30)
    assert em.stats.timeouts == 1 and em.stats.crashes == 0
    assert all(not pid_alive(row.pid) for row in em.timeline)


def test_a_reply_sent_before_the_deadline_counts_even_if_read_after_it() -> None:
    """A loaded host may wake the emulator late; the worker's answer was in time, Lambda's would be too."""
    ours, theirs = socket.socketpair()
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    worker = pool.Worker(proc=proc, sock=ours, tmpdir="", number=1)
    theirs.sendall(json.dumps({"type": "result", "ok": True, "result": 1}).encode() + b"\n")
    try:
        assert worker._read_line(time.monotonic() - 1.0) == {"type": "result", "ok": True, "result": 1}
        assert worker._read_line(time.monotonic() - 1.0) is None  # nothing more: no wait either
    finally:
        ours.close()
        theirs.close()


def test_exceptions_are_retried_the_configured_number_of_times(make_emulator: Any) -> None:
    em = make_emulator(faults="retries:0")
    em.submit_async({"action": "raise"})
    assert em.run(30)
    assert em.stats.errors == 1 and em.stats.retries == 0 and len(em.stats.on_failure) == 1


def test_kill_fault_kills_before_the_deadline_and_the_retry_succeeds(make_emulator: Any) -> None:
    em = make_emulator(timeout_ms=2000, faults="kill:1.0,retries:2")
    em.submit_async({"action": "sleep", "seconds": 5})
    assert em.run(60)
    assert em.stats.kills == 3 and em.stats.timeouts == 0
    assert all(row.end_ms - row.start_ms < 5000 for row in em.timeline)


def test_self_invoking_chain_with_duplicates(make_emulator: Any, s3_server: MotoServer) -> None:
    s3 = s3_server.client()
    s3.create_bucket(Bucket="fixture-chain")
    em = make_emulator(faults="duplicate:1.0")
    em.submit_async({"action": "chain", "hop": 0, "last": 2, "bucket": "fixture-chain"})
    assert em.run(60)
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="fixture-chain")["Contents"]]
    hops = sorted({k.split("/")[1][:3] for k in keys})
    assert hops == ["000", "001", "002"]
    # 7 events (1 + 2 + 4), each delivered twice with the same request id, as Lambda redelivers.
    assert em.stats.duplicates == 7 and em.stats.invocations == 14 and len(keys) == 7
    assert not em.stats.on_failure


@pytest.mark.parametrize("recursive_loop", ["Terminate", "Allow"])
def test_recursive_loop_setting_is_lambdas(make_emulator: Any, s3_server: MotoServer, recursive_loop: str) -> None:
    """Lambda drops the 17th invocation of a chain of self-invocations (to the on-failure
    destination) unless the function sets RecursiveLoop: Allow; the lineage travels in the X-Ray
    header the SDK copies from the sandbox's _X_AMZN_TRACE_ID."""
    s3 = s3_server.client()
    bucket = f"fixture-loop-{recursive_loop.lower()}"
    s3.create_bucket(Bucket=bucket)
    em = make_emulator(recursive_loop=recursive_loop)
    em.submit_async({"action": "chain", "hop": 0, "last": 20, "bucket": bucket})
    assert em.run(120)
    hops = {o["Key"].split("/")[1][:3] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]}
    if recursive_loop == "Allow":
        assert len(hops) == 21 and not em.stats.on_failure
    else:
        assert len(hops) == 16, sorted(hops)
        (record,) = em.stats.on_failure
        assert record["requestContext"]["condition"] == "RecursiveInvocationException"
        assert record["requestPayload"]["hop"] == 16


def test_close_leaves_nothing_running_or_listening(make_emulator: Any) -> None:
    em = make_emulator()
    _sync(em, {})
    port, pids = em.lambda_port, list(em.worker_pids)
    assert pids and port_open(port)
    em.close()
    assert not port_open(port)
    assert not any(pid_alive(pid) for pid in pids)
